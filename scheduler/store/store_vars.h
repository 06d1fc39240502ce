/* store_vars.h - Airflow's variables and connections in the state database
 * (migration 0012_variables_connections), and how a task's code finds
 * them by name.
 *
 * Secrets at rest. A connection's password, a variable whose name looks
 * secret (dag_secret_name(): *password*, *token*, *api_key*...) and an
 * extra with such a key are stored sealed with the handle's key
 * (dag_store_options.secret_key, core.secret_key): without a key such a
 * value is refused (DAG_ECONFIG), never stored in clear, and
 * dag_store_secret_problem() says how to set one. Reads open them; a
 * value that does not open (another key) is DAG_ECONFIG too. Callers that
 * show values to people mask the secrets themselves ("***").
 *
 * Resolving by name, for tasks and templates (the calls other modules
 * use): the environment first, as Airflow's secrets backends order them,
 * then the database:
 *   DAGCTL_CONN_<NAME>  a connection in URI form (conn.h)
 *   DAGCTL_VAR_<NAME>   a variable's value
 * <NAME> is the name in upper case with every character but letters and
 * digits as '_' (my-db -> DAGCTL_CONN_MY_DB).
 *
 *   struct dag_conn c;
 *   char *err = NULL;
 *   int rc = dag_store_connection_resolve(st, environ, "warehouse_db", &c, &err);
 *   if (rc == 0) { ... c.host, c.port, c.login, c.password ...; dag_conn_clear(&c); }
 *   else { report err (names the variable or the connection); free(err); }
 *
 * Every call is one statement, so part of the caller's transaction if one
 * is open (the CLI and the API add the audit entry in it). */
#ifndef DAG_STORE_VARS_H
#define DAG_STORE_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "store.h"

/* Use `text` (core.secret_key) as the key of `st`'s secrets (copied and
 * derived; NULL forgets it). 0, or DAG_EINVAL for a text too short. */
int dag_store_set_secret_key(dag_store *st, const char *text);
/* Why a DAG_ECONFIG of the calls below happened: no key (and how to set
 * one), or a value sealed with another key. Static. */
const char *dag_store_secret_problem(dag_store *st);

/* --- variables ---------------------------------------------------------------- */

struct dag_store_variable {
  char *key;
  char *value;       /* a secret's: NULL when listed without values */
  char *description; /* NULL: none */
  bool encrypted;    /* sealed at rest: its name looks secret */
};

/* Create or replace variable `key` (value and description; description
 * NULL: none). Sealed when dag_secret_name(key). DAG_EINVAL for a bad
 * name (dag_conn_name_problem), DAG_ECONFIG for a secret without a key. */
int dag_store_variable_set(dag_store *st, const char *key, const char *value,
                           const char *description);
/* DAG_ENOTFOUND if none. Caller frees with dag_store_variable_clear(). */
int dag_store_variable_get(dag_store *st, const char *key, struct dag_store_variable *out);
/* Every variable by key, with the values of plain ones; secret values
 * opened too when `with_values` (then a value that does not open fails the
 * whole list with DAG_ECONFIG). Caller frees with
 * dag_store_variables_free(). */
int dag_store_variable_list(dag_store *st, bool with_values, struct dag_store_variable **out,
                            size_t *n);
/* DAG_ENOTFOUND if none. */
int dag_store_variable_delete(dag_store *st, const char *key);
void dag_store_variable_clear(struct dag_store_variable *v);
void dag_store_variables_free(struct dag_store_variable *v, size_t n);

/* --- connections -------------------------------------------------------------- */

/* Add connection c->conn_id (c borrowed), or with `replace` replace it.
 * DAG_EEXIST when it exists and !replace; DAG_EINVAL for a bad name, a
 * missing conn_type, an extra that is not a JSON object or a port out of
 * 0..65535; DAG_ECONFIG for a password or secret extra without a key. */
int dag_store_connection_put(dag_store *st, const struct dag_conn *c, bool replace);
/* With its password and extra opened. DAG_ENOTFOUND if none. Caller frees
 * with dag_conn_clear(). */
int dag_store_connection_get(dag_store *st, const char *conn_id, struct dag_conn *out);
/* Every connection by conn_id, passwords and extras opened when
 * `with_secrets`, else left NULL. Caller frees with
 * dag_store_connections_free(). */
int dag_store_connection_list(dag_store *st, bool with_secrets, struct dag_conn **out,
                              size_t *n);
/* DAG_ENOTFOUND if none. */
int dag_store_connection_delete(dag_store *st, const char *conn_id);
void dag_store_connections_free(struct dag_conn *c, size_t n);

/* --- resolving by name -------------------------------------------------------- */

/* The environment variable that overrides `name`: prefix ("DAGCTL_CONN_",
 * "DAGCTL_VAR_") and the name as above (caller frees). */
char *dag_store_env_name(const char *prefix, const char *name);

/* Connection `conn_id` from DAGCTL_CONN_<NAME> in `envp` (NULL-terminated,
 * may be NULL), else from the database. 0 and *out (dag_conn_clear()); or
 * DAG_ENOTFOUND, DAG_EINVAL (a malformed URI in the environment),
 * DAG_ECONFIG, a store error, each with *err saying so (caller frees). */
int dag_store_connection_resolve(dag_store *st, char *const *envp, const char *conn_id,
                                 struct dag_conn *out, char **err);
/* Variable `key` from DAGCTL_VAR_<NAME>, else the database: 0 and *value
 * (caller frees), or an error as above with *err. */
int dag_store_variable_resolve(dag_store *st, char *const *envp, const char *key, char **value,
                               char **err);

/* The lookups of templates ({{ var.value.NAME }}, {{ conn.NAME.host }},
 * template.h) over resolution by name as above: `l` (the caller's, alive
 * while `ctx` is used) names the store (may be NULL: the environment
 * alone) and the environment. Every secret a lookup returns (a password,
 * a secret-looking variable or extra key) is registered with
 * dag_log_mask(), so that dagctl's own log lines never show it. */
struct dag_template_ctx;
struct dag_store_lookup {
  dag_store *st;
  char *const *envp;
};
void dag_store_template_lookups(struct dag_store_lookup *l, struct dag_template_ctx *ctx);

/* Call add(ud, value) for every secret a task may be given: the passwords
 * and secret extra values of every connection, the values of secret-looking
 * variables, in the database and in DAGCTL_CONN_* / DAGCTL_VAR_* of `envp`.
 * For the maskers of logs and mails. Secrets that do not open are skipped
 * (they cannot have been given to a task either). */
int dag_store_secret_values(dag_store *st, char *const *envp,
                            void (*add)(void *ud, const char *secret), void *ud);

#endif
