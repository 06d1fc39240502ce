/* plugin_params.h - the values of a plugin task's parameters against what
 * its type declares (dagctl/plugin.h): the checks the loader and the plugin
 * host share, and the host's rendering of their templates. */
#ifndef DAG_PLUGIN_PARAMS_H
#define DAG_PLUGIN_PARAMS_H

#include <jansson.h>

#include "plugin_decl.h"

struct dag_template_ctx;

/* "a string", "an integer", ... for "expected X, got Y". */
const char *dag_param_type_name(enum dagctl_param_type type);
/* "string", "integer", ... as `dagctl plugins` shows the type; and back
 * (ANY for an unknown word). */
const char *dag_param_type_key(enum dagctl_param_type type);
enum dagctl_param_type dag_param_type_parse(const char *key);

/* Whether scalar text is a valid `type` value: 0, or DAG_EINVAL with *err
 * "expected an integer, got 'many'" (caller frees). STRING and ANY take any
 * text; LIST and MAPPING take none (they are not scalars). */
int dag_param_check_text(enum dagctl_param_type type, const char *text, char **err);

/* Whether scalar text is one of `choices` ("a,b,c", ignoring case; NULL:
 * any): 0, or DAG_EINVAL with *err "unknown value 'GTE' (did you mean
 * 'GET'?)" or "... (one of: a, b, c)" (caller frees; err may be NULL). */
int dag_param_check_choice(const char *choices, const char *text, char **err);

/* Make a plugin task's params ready for its try, in place: render the {{ }}
 * templates in every string (nested in lists and mappings too, keys never)
 * except in params declared verbatim, with the same context as a shell
 * task's templates but no shell quoting; then, if `decl` declares the
 * type's params (NULL or undeclared: skip), check that the required ones
 * are there and that every declared one has its type now that templates
 * are rendered (a rendered "[1, 2]" becomes a list for a list param).
 * Returns 0, or DAG_ETEMPLATE / DAG_EINVAL with *err "param NAME: ..."
 * (caller frees). Keys the type does not declare are left for the caller to
 * warn about: the loader has refused them already when it knew the type. */
int dag_plugin_prepare_params(json_t *params, const struct dag_plugin_type *decl,
                              const struct dag_template_ctx *ctx, char **err);

#endif
