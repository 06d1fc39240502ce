/* yaml_doc.h - the project's one YAML access layer.
 *
 * DAG files, dagctl.yaml and the dbt project's .yml files are read through
 * it, and only it drives libyaml: a document becomes a tree of nodes that
 * carry their line and column, and typed accessors turn a node into an
 * int, a bool, a string, a duration or JSON, or into a diagnostic
 * "FILE:LINE:COL: PATH: expected ..., got ..." (diag.h). Building the tree
 * here is where the limits that keep hostile files harmless live (size,
 * nesting, nodes after alias expansion: "billion laughs"). */
#ifndef DAG_YAML_DOC_H
#define DAG_YAML_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* A YAML node. Aliases make the tree a DAG (an aliased node has several
 * parents), so nodes are owned by their document, never by a parent. */
enum dag_ynode_kind { DAG_YN_SCALAR, DAG_YN_SEQ, DAG_YN_MAP };

struct dag_ynode {
  enum dag_ynode_kind kind;
  int line; /* 1-based */
  int col;
  bool quoted; /* scalar: quoted, block or !!str: always a string */
  char *value; /* scalar text, NUL-terminated */
  size_t len;  /* scalar length (the text may hold NUL bytes) */
  struct dag_ynode **items; /* SEQ: n items; MAP: n pairs as key0, val0, ... */
  size_t n;
  size_t cap;
  size_t weight; /* nodes in this subtree, counting aliased ones each time */
};

#define DAG_YN_KEY(map, i) ((map)->items[2 * (i)])
#define DAG_YN_VAL(map, i) ((map)->items[2 * (i) + 1])

/* The plain-scalar types of YAML 1.2's core schema. */
enum dag_yscalar { DAG_YS_NULL, DAG_YS_BOOL, DAG_YS_INT, DAG_YS_FLOAT, DAG_YS_STR };

/* Where one file's diagnostics go. Past DAG_YAML_MAX_DIAGS errors the rest
 * is noise: they are counted, not kept. */
#define DAG_YAML_MAX_DIAGS 200

struct dag_yaml_ctx {
  const char *file;        /* borrowed: the name diagnostics carry */
  struct dag_diags *diags; /* borrowed */
  size_t diags_start;      /* diags->n when the file was started */
  int errors;
};

/* Start a context for `file` (borrowed) appending to `diags` (borrowed). */
void dag_yaml_ctx_init(struct dag_yaml_ctx *ctx, const char *file, struct dag_diags *diags);
/* Order the file's diagnostics by position, so they read like the file,
 * and say when some were left out. */
void dag_yaml_ctx_finish(struct dag_yaml_ctx *ctx);

/* Add "PATH: message" at `at` (NULL: the whole file); an empty path leaves
 * the prefix out. */
void dag_yaml_err(struct dag_yaml_ctx *ctx, const struct dag_ynode *at, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same at a line and column (0: the whole file). */
void dag_yaml_err_at(struct dag_yaml_ctx *ctx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* True once more errors were found than are kept: callers may stop. */
bool dag_yaml_saturated(const struct dag_yaml_ctx *ctx);

/* How a document is read. */
struct dag_yaml_options {
  /* Mappings as written: every pair kept in order, "<<" an ordinary key,
   * for a caller that names duplicates in its own terms (dagctl.yaml).
   * Otherwise merge keys are applied and a repeated key is reported
   * ("PATH.k: duplicate key 'k' (first at line N)") and dropped. */
  bool as_written;
  /* Whether a syntax error is the layer's to report. If false, the caller
   * words it from dag_ydoc.syntax (dagctl.yaml's messages predate this
   * layer and scripts match them). */
  bool caller_reports_syntax;
  /* "DAG file", "config file": completes "only one YAML document is
   * allowed per ..." and "(... must be UTF-8)". */
  const char *what;
};

/* Why a text was not one YAML document, when the caller words it. */
struct dag_yaml_syntax {
  bool second_document; /* else a syntax error */
  int line, col;        /* the problem; a second document: its "---" */
  int node_line, node_col; /* a second document: its first node, or 0 */
  char *problem;           /* owned: libyaml's words */
  char *context;           /* owned or NULL: what the parser was doing */
  int context_line, context_col;
  bool encoding; /* the text is not UTF-8 (line and col from the offset) */
};

struct dag_ydoc {
  struct dag_ynode *root;        /* NULL for an empty text */
  struct dag_yaml_syntax syntax; /* when a parse failed and the caller words it */
  struct dag_ynode **nodes;      /* every node, freed together */
  size_t n_nodes, cap_nodes;
};

/* The largest text dag_yaml_parse() reads: files are a few kilobytes, this
 * only stops ones built to hurt. */
#define DAG_YAML_MAX_SIZE (16u * 1024 * 1024)

/* Parse `len` bytes of `buf` as one YAML document into *doc (free it with
 * dag_ydoc_free() whatever the result). Returns 0; DAG_EPARSE on a syntax
 * error, a second document or an unknown anchor; DAG_EINVAL past a limit
 * (size, 64 levels, 1000000 nodes after alias expansion); -ENOMEM. Errors
 * go to ctx as diagnostics, except those the options leave to the caller
 * (in doc->syntax). Duplicate and merge-key problems are reported to ctx
 * and do not fail the parse. */
int dag_yaml_parse(struct dag_yaml_ctx *ctx, const char *buf, size_t len,
                   const struct dag_yaml_options *opts, struct dag_ydoc *doc);
/* The whole file `path` in *out (caller frees; not NUL-terminated) and its
 * length, refusing more than DAG_YAML_MAX_SIZE bytes (-EFBIG). Returns 0 or
 * -errno. */
int dag_yaml_read_file(const char *path, char **out, size_t *len);
/* Read the file `path` (at most DAG_YAML_MAX_SIZE bytes) and parse it. A
 * file that cannot be read is "cannot read: REASON" at the whole file. */
int dag_yaml_parse_file(struct dag_yaml_ctx *ctx, const char *path,
                        const struct dag_yaml_options *opts, struct dag_ydoc *doc);
void dag_ydoc_free(struct dag_ydoc *doc);

/* --- access --- */

/* "prefix.key", or "key" when prefix is empty; caller frees. */
char *dag_yaml_path_key(const char *prefix, const char *key);
/* "prefix[i]"; caller frees. */
char *dag_yaml_path_index(const char *prefix, size_t i);

/* The value of `key` in the mapping `map`, or NULL (map NULL or not a
 * mapping, or no such key). Borrowed from the document. O(n). */
const struct dag_ynode *dag_yaml_get(const struct dag_ynode *map, const char *key);
/* A scalar's text, or NULL for anything else. Borrowed. */
const char *dag_yaml_scalar(const struct dag_ynode *n);

enum dag_yscalar dag_yaml_scalar_type(const struct dag_ynode *n);
bool dag_yaml_is_null(const struct dag_ynode *n);
/* "'abc'", "a list", "null", ... for "expected X, got Y"; caller frees. */
char *dag_yaml_describe(const struct dag_ynode *n);

/* Typed getters: on a type or range error they report it at `n` under
 * `path` and return false, leaving *out unchanged. */
bool dag_yaml_get_int(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                      long long min, long long max, int *out);
bool dag_yaml_get_bool(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                       bool *out);
/* Any non-null scalar, as written. *out: caller frees. */
bool dag_yaml_get_string(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                         char **out);
bool dag_yaml_get_duration(struct dag_yaml_ctx *ctx, const struct dag_ynode *n,
                           const char *path, int64_t *out);
/* Any node as JSON, scalars typed by YAML 1.2's core schema; NULL after
 * an error (a value JSON cannot hold, text that is not UTF-8, nesting
 * deeper than 64 levels through aliases). Caller owns the reference. */
json_t *dag_yaml_to_json(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path);

#endif
