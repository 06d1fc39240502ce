/* template.c - {{ ... }} substitution (see template.h).
 *
 * One pass over the text: literal bytes are copied, each {{ ... }} tag is
 * parsed by a small recursive-descent parser (a name, literal or macro call,
 * then filters) and evaluated against the context. Checking is the same pass with no context, so the loader and the
 * runner can never disagree about what is valid. For shell commands each
 * value is quoted as it is inserted: the command's author wrote the syntax,
 * whoever supplies params and conf only ever supplies words. */
#include "template.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "didyoumean.h"
#include "error.h"
#include "strbuf.h"

enum var {
  V_DS,
  V_DS_NODASH,
  V_TS,
  V_TS_NODASH,
  V_LOGICAL_DATE,
  V_DATA_INTERVAL_START,
  V_DATA_INTERVAL_END,
  V_PREV_START_SUCCESS,
  V_RUN_ID,
  V_DAG_ID,
  V_TASK_ID,
  V_TRY_NUMBER,
  V_PARAMS, /* takes a key: params.NAME */
  V_CONF,   /* takes a key: conf.NAME */
  V_TI,     /* ti.xcom.TASK.KEY or ti.try_number */
  V_DAG,    /* dag.dag_id */
  V_TASK,   /* task.task_id */
  V_MACROS, /* macros.ds_add(...), macros.ds_format(...) */
  V_VAR,    /* var.value.NAME, var.json.NAME.KEY */
  V_CONN,   /* conn.NAME.FIELD */
};

/* Indexed by enum var; also the did-you-mean candidates. */
static const char *const var_names[] = {
    "ds",
    "ds_nodash",
    "ts",
    "ts_nodash",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "prev_data_interval_start_success",
    "run_id",
    "dag_id",
    "task_id",
    "try_number",
    "params",
    "conf",
    "ti",
    "dag",
    "task",
    "macros",
    "var",
    "conn",
};

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **err, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    *err = xvasprintf(fmt, ap);
    va_end(ap);
  }
  return DAG_ETEMPLATE;
}

/* Broken-down UTC time and the microseconds Python's isoformat() prints;
 * floor division keeps instants before 1970 on the right second. */
static void utc(dag_time_t t, struct tm *tm, int *usec) {
  int64_t s = t / DAG_USEC_PER_SEC, us = t % DAG_USEC_PER_SEC;
  if (us < 0) {
    us += DAG_USEC_PER_SEC;
    s--;
  }
  time_t tt = (time_t)s;
  gmtime_r(&tt, tm);
  *usec = (int)us;
}

/* Airflow's ts: datetime.isoformat() of an aware UTC datetime, which shows
 * microseconds only when there are some. */
static void append_iso(struct strbuf *sb, dag_time_t t) {
  struct tm tm;
  int us;
  utc(t, &tm, &us);
  sb_appendf(sb, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (us) sb_appendf(sb, ".%06d", us);
  sb_append(sb, "+00:00");
}

static void append_date(struct strbuf *sb, dag_time_t t, bool dashes) {
  struct tm tm;
  int us;
  utc(t, &tm, &us);
  sb_appendf(sb, dashes ? "%04d-%02d-%02d" : "%04d%02d%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
}

static void append_ts_nodash(struct strbuf *sb, dag_time_t t) {
  struct tm tm;
  int us;
  utc(t, &tm, &us);
  sb_appendf(sb, "%04d%02d%02dT%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void dag_shell_quote(struct strbuf *sb, const char *s, size_t len) {
  /* Inside single quotes every byte is literal but the quote itself, which
   * closes the word, is written escaped, and the word reopened. */
  sb_appendc(sb, '\'');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\'')
      sb_append(sb, "'\\''");
    else
      sb_appendc(sb, s[i]);
  }
  sb_appendc(sb, '\'');
}

/* Strings bare, null as nothing, everything else as compact JSON so a
 * script can parse it back. */
static int append_json(struct strbuf *sb, const json_t *v, const char *expr,
                       size_t expr_len, char **err) {
  if (json_is_string(v)) {
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', len))
      return fail(err, "value of '%.*s' contains a NUL byte", (int)expr_len, expr);
    sb_appendn(sb, s, len);
    return 0;
  }
  if (json_is_null(v)) return 0;
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text == NULL)
    return fail(err, "value of '%.*s' cannot be rendered", (int)expr_len, expr);
  sb_append(sb, text);
  free(text);
  return 0;
}

/* Follow dotted object keys ("b.c") down from `v`; NULL when one is missing
 * or `v` stops being an object. */
static const json_t *descend(const json_t *v, const char *keys, size_t len) {
  const char *p = keys, *end = keys + len;
  while (v && p < end) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
    if (!json_is_object(v)) return NULL;
    char *key = xstrndup(p, n);
    v = json_object_get(v, key);
    free(key);
    p += n + (dot ? 1 : 0);
  }
  return v;
}

/* --- values ---------------------------------------------------------------
 * A tag is evaluated to a JSON value. A lookup that finds nothing (a missing
 * param, conf key or XCom) is "undefined": it carries the message it will
 * fail with unless a `default` filter replaces it, as Jinja's Undefined. */
struct val {
  json_t *j;   /* owned; NULL when undefined or when only checking */
  char *undef; /* owned; the error an undefined value fails with */
};

static void val_free(struct val *v) {
  json_decref(v->j);
  free(v->undef);
  v->j = NULL;
  v->undef = NULL;
}

struct parser {
  const char *p, *end;                /* the cursor in the tag */
  const char *tag;                    /* the whole tag, for messages */
  size_t tag_len, offset;             /* offset of its '{{' in the template */
  const struct dag_template_ctx *ctx; /* NULL: check only */
  char **err;
  int depth;
  bool verbatim; /* the last filter was raw or shquote */
  struct dag_template_refs *refs; /* checking: the task ids XComs are read from */
};

/* Nesting deeper than this is no template anyone writes; refusing it keeps
 * the recursion bounded on hostile input. */
#define MAX_DEPTH 16

static int syntax(struct parser *ps, const char *what) {
  return fail(ps->err, "unsupported expression '%.*s' at offset %zu: %s", (int)ps->tag_len,
              ps->tag, ps->offset, what);
}

static void skip_ws(struct parser *ps) {
  while (ps->p < ps->end && isspace((unsigned char)*ps->p))
    ps->p++;
}

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* A value as text, as a template inserts it (see append_json). */
static int val_text(const struct val *v, struct strbuf *sb, const char *what,
                    size_t what_len, char **err) {
  if (v->undef) return fail(err, "%s", v->undef);
  return append_json(sb, v->j, what, what_len, err);
}

static int val_string(const struct val *v, const char *what, char **out, char **err) {
  struct strbuf sb = STRBUF_INIT;
  int rc = val_text(v, &sb, what, strlen(what), err);
  if (rc < 0) {
    sb_free(&sb);
    return rc;
  }
  *out = sb_detach(&sb);
  return 0;
}

static void set_string(struct val *v, struct strbuf *sb) {
  val_free(v);
  v->j = json_stringn(sb_str(sb), sb->len);
  sb_free(sb);
}

static void add_ref(struct dag_template_refs *refs, const char *id, size_t len);

/* --- names ---------------------------------------------------------------- */

/* params.KEY...: the run's conf wins over the DAG's params for the first key,
 * as with Airflow's dag_run_conf_overrides_params. */
static void lookup(enum var var, const char *keys, size_t len,
                   const struct dag_template_ctx *ctx, struct val *out) {
  const char *dot = memchr(keys, '.', len);
  size_t first_len = dot ? (size_t)(dot - keys) : len;
  char *first = xstrndup(keys, first_len);
  const json_t *root = NULL;
  if (json_is_object(ctx->conf)) root = json_object_get(ctx->conf, first);
  if (var == V_PARAMS && root == NULL && json_is_object(ctx->params))
    root = json_object_get(ctx->params, first);
  free(first);

  const json_t *v = NULL;
  if (root) v = dot ? descend(root, dot + 1, len - first_len - 1) : root;
  if (v) {
    out->j = json_incref((json_t *)v);
  } else if (var == V_PARAMS) {
    out->undef = xasprintf("unknown param '%.*s'", (int)len, keys);
  } else {
    out->undef = xasprintf("conf has no key '%.*s'", (int)len, keys);
  }
}

static json_t *iso_value(dag_time_t t) {
  struct strbuf sb = STRBUF_INIT;
  append_iso(&sb, t);
  json_t *j = json_string(sb_str(&sb));
  sb_free(&sb);
  return j;
}

static int var_value(enum var var, const char *name, const struct dag_template_ctx *ctx,
                     struct val *out, char **err) {
  struct strbuf sb = STRBUF_INIT;
  const char *s = NULL;
  switch (var) {
  case V_DS: append_date(&sb, ctx->logical_date, true); break;
  case V_DS_NODASH: append_date(&sb, ctx->logical_date, false); break;
  case V_TS:
  case V_LOGICAL_DATE: out->j = iso_value(ctx->logical_date); return 0;
  case V_TS_NODASH: append_ts_nodash(&sb, ctx->logical_date); break;
  case V_DATA_INTERVAL_START: out->j = iso_value(ctx->data_interval_start); return 0;
  case V_DATA_INTERVAL_END: out->j = iso_value(ctx->data_interval_end); return 0;
  case V_PREV_START_SUCCESS:
    /* Airflow's None before the first success: null, which renders empty
     * and which `default(x, true)` replaces. */
    out->j = ctx->has_prev_success ? iso_value(ctx->prev_data_interval_start_success)
                                   : json_null();
    return 0;
  case V_TRY_NUMBER: out->j = json_integer(ctx->try_number); return 0;
  case V_RUN_ID: s = ctx->run_id; break;
  case V_DAG_ID: s = ctx->dag_id; break;
  case V_TASK_ID: s = ctx->task_id; break;
  default: break;
  }
  if (sb.len) {
    out->j = json_string(sb_str(&sb));
    sb_free(&sb);
    return 0;
  }
  /* An empty string would run a command with a hole in it; say so instead. */
  if (s == NULL) return fail(err, "template variable '%s' is not available here", name);
  out->j = json_string(s);
  return 0;
}

/* Names with a dot that stand for one value, as Airflow's objects give them. */
static const struct {
  const char *name;
  enum var var;
} attr_names[] = {
    {"dag.dag_id", V_DAG_ID},
    {"task.task_id", V_TASK_ID},
    {"ti.try_number", V_TRY_NUMBER},
};

/* Every complete name, for did-you-mean on a whole dotted name. */
static const char *const full_names[] = {
    "ds", "ds_nodash", "ts", "ts_nodash", "logical_date", "data_interval_start",
    "data_interval_end", "prev_data_interval_start_success", "run_id", "dag_id", "task_id",
    "try_number", "dag.dag_id", "task.task_id", "ti.try_number", "ti.map_index", "ti.xcom_pull",
    "macros.ds_add",
    "macros.ds_format",
};

static int unknown_name(struct parser *ps, const char *expr, size_t len, size_t head) {
  char *word = xstrndup(expr, len);
  const char *hint = dag_did_you_mean(word, full_names, DAG_ARRAY_SIZE(full_names));
  free(word);
  if (hint)
    return fail(ps->err, "unknown template variable '%.*s' (did you mean '%s'?)", (int)len,
                expr, hint);
  word = xstrndup(expr, head);
  hint = dag_did_you_mean(word, var_names, DAG_ARRAY_SIZE(var_names));
  free(word);
  if (hint && (strlen(hint) != head || memcmp(hint, expr, head) != 0) &&
      strcmp(hint, "ti") != 0 && strcmp(hint, "dag") != 0 &&
      strcmp(hint, "task") != 0 && strcmp(hint, "macros") != 0)
    return fail(ps->err, "unknown template variable '%.*s' (did you mean '%s%.*s'?)",
                (int)len, expr, hint, (int)(len - head), expr + head);
  return fail(ps->err, "unknown template variable '%.*s'", (int)len, expr);
}

/* The fields of a connection a template may name (dag_conn_json()). */
static const char *const conn_fields[] = {"host", "login", "password", "port", "schema",
                                          "conn_type", "conn_id", "description", "extra",
                                          "extra_dejson"};

/* var.value.NAME, var.json.NAME[.KEY...] and conn.NAME.FIELD[.KEY...]:
 * the shape is checked without a context (at load time), the value looked
 * up with one. */
static int var_or_conn(struct parser *ps, enum var var, const char *expr, size_t len,
                       struct val *out) {
  const char *p = expr + strlen(var_names[var]) + 1, *end = expr + len;
  const char *d1 = p <= end ? memchr(p, '.', (size_t)(end - p)) : NULL;
  if (var == V_VAR) {
    bool json = d1 && (size_t)(d1 - p) == 4 && memcmp(p, "json", 4) == 0;
    bool value = d1 && (size_t)(d1 - p) == 5 && memcmp(p, "value", 5) == 0;
    const char *name = d1 ? d1 + 1 : NULL;
    const char *d2 = name ? memchr(name, '.', (size_t)(end - name)) : NULL;
    if (!(json || value) || name >= end || (value && d2))
      return fail(ps->err, "'%.*s': use {{ var.value.NAME }} or {{ var.json.NAME.KEY }}",
                  (int)len, expr);
    if (!ps->ctx) return 0;
    if (!ps->ctx->lookup_var)
      return fail(ps->err, "'%.*s': variables are not available here", (int)len, expr);
    char *key = xstrndup(name, d2 ? (size_t)(d2 - name) : (size_t)(end - name));
    char *text = NULL, *err = NULL;
    int rc = ps->ctx->lookup_var(ps->ctx->lookup_ud, key, &text, &err);
    if (rc == DAG_ENOTFOUND) {
      out->undef = err ? err : xasprintf("no variable '%s'", key);
      free(key);
      return 0;
    }
    free(key);
    if (rc) {
      int f = fail(ps->err, "'%.*s': %s", (int)len, expr, err ? err : "lookup failed");
      free(err);
      return f;
    }
    free(err);
    if (value) {
      out->j = json_string(text);
      free(text);
      return 0;
    }
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    free(text);
    if (!j)
      return fail(ps->err, "'%.*s': the variable does not hold JSON: %s", (int)len, expr,
                  jerr.text);
    const json_t *v = d2 ? descend(j, d2 + 1, (size_t)(end - d2 - 1)) : j;
    if (v)
      out->j = json_incref((json_t *)v);
    else
      out->undef = xasprintf("variable holds no '%.*s'", (int)(end - d2 - 1), d2 + 1);
    json_decref(j);
    return 0;
  }
  /* conn.NAME.FIELD[.KEY...] */
  const char *field = d1 ? d1 + 1 : NULL;
  const char *d2 = field && field < end ? memchr(field, '.', (size_t)(end - field)) : NULL;
  size_t flen = field ? (d2 ? (size_t)(d2 - field) : (size_t)(end - field)) : 0;
  int known = -1;
  for (size_t i = 0; field && i < DAG_ARRAY_SIZE(conn_fields); i++)
    if (strlen(conn_fields[i]) == flen && memcmp(conn_fields[i], field, flen) == 0)
      known = (int)i;
  bool sub_ok = !d2 || known == 8 || known == 9; /* extra.KEY, extra_dejson.KEY */
  if (!field || d1 == p || known < 0 || !sub_ok) {
    if (field && known < 0 && flen) {
      char *word = xstrndup(field, flen);
      const char *hint = dag_did_you_mean(word, conn_fields, DAG_ARRAY_SIZE(conn_fields));
      free(word);
      if (hint)
        return fail(ps->err, "'%.*s': a connection has no field '%.*s' (did you mean '%s'?)",
                    (int)len, expr, (int)flen, field, hint);
    }
    return fail(ps->err, "'%.*s': use {{ conn.NAME.FIELD }} with FIELD one of host, login, "
                "password, port, schema, conn_type, extra.KEY", (int)len, expr);
  }
  if (!ps->ctx) return 0;
  if (!ps->ctx->lookup_conn)
    return fail(ps->err, "'%.*s': connections are not available here", (int)len, expr);
  char *name = xstrndup(p, (size_t)(d1 - p)), *err = NULL;
  json_t *conn = NULL;
  int rc = ps->ctx->lookup_conn(ps->ctx->lookup_ud, name, &conn, &err);
  free(name);
  if (rc == DAG_ENOTFOUND) {
    out->undef = err ? err : xasprintf("no connection '%.*s'", (int)(d1 - p), p);
    return 0;
  }
  if (rc) {
    int f = fail(ps->err, "'%.*s': %s", (int)len, expr, err ? err : "lookup failed");
    free(err);
    return f;
  }
  free(err);
  /* extra is text in Airflow's Connection; extra.KEY reads its JSON. */
  const json_t *v = descend(conn, field, (size_t)(end - field));
  if (v && known == 8 && !d2) {
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    out->j = json_string(text);
    free(text);
  } else if (v) {
    out->j = json_incref((json_t *)v);
  } else {
    out->undef = xasprintf("connection '%.*s' has no extra '%.*s'", (int)(d1 - p), p,
                           (int)(end - d2 - 1), d2 ? d2 + 1 : "");
  }
  json_decref(conn);
  return 0;
}

/* A mapped instance's own names: NAME (an expand key) or NAME.KEY... into
 * its value, and ti.map_index. 1 if `expr` is one (out set when rendering),
 * 0 if not. Checking knows the names from ps->refs. */
static int mapped_name(struct parser *ps, const char *expr, size_t len, size_t head,
                       struct val *out) {
  const struct dag_template_ctx *ctx = ps->ctx;
  if (len == 12 && memcmp(expr, "ti.map_index", 12) == 0) {
    if (ctx) out->j = json_integer(ctx->mapped ? ctx->map_index : -1);
    return 1;
  }
  if (!ctx) {
    for (size_t i = 0; ps->refs && i < ps->refs->n_names; i++)
      if (strlen(ps->refs->names[i]) == head && memcmp(ps->refs->names[i], expr, head) == 0)
        return 1;
    return 0;
  }
  const json_t *v = ctx->mapped ? json_object_getn(ctx->mapped, expr, head) : NULL;
  if (!v) return 0;
  if (head < len) v = descend(v, expr + head + 1, len - head - 1);
  if (v)
    out->j = json_incref((json_t *)v);
  else
    out->undef = xasprintf("the item has no '%.*s'", (int)(len - head - 1), expr + head + 1);
  return 1;
}

/* One dotted name, already checked for shape. */
static int eval_name(struct parser *ps, const char *expr, size_t len, struct val *out) {
  const struct dag_template_ctx *ctx = ps->ctx;
  const char *first_dot = memchr(expr, '.', len);
  if (mapped_name(ps, expr, len, first_dot ? (size_t)(first_dot - expr) : len, out)) return 0;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(attr_names); i++) {
    if (strlen(attr_names[i].name) == len && memcmp(attr_names[i].name, expr, len) == 0)
      return ctx ? var_value(attr_names[i].var, attr_names[i].name, ctx, out, ps->err) : 0;
  }
  const char *dot = memchr(expr, '.', len);
  size_t head = dot ? (size_t)(dot - expr) : len;
  int var = -1;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(var_names); i++) {
    if (strlen(var_names[i]) == head && memcmp(var_names[i], expr, head) == 0) {
      var = (int)i;
      break;
    }
  }

  if (var == V_PARAMS || var == V_CONF) {
    if (dot == NULL)
      return fail(ps->err, "'%s' needs a key: {{ %s.NAME }}", var_names[var], var_names[var]);
    if (ctx) lookup((enum var)var, dot + 1, len - head - 1, ctx, out);
    return 0;
  }
  if (var == V_TI) {
    /* ti.xcom.TASK.KEY: exactly two names after "xcom". */
    const char *rest = dot ? dot + 1 : NULL;
    size_t rest_len = dot ? len - head - 1 : 0;
    const char *d1 = rest ? memchr(rest, '.', rest_len) : NULL;
    bool shape = rest && rest_len > 5 && strncmp(rest, "xcom.", 5) == 0 && d1 &&
                 memchr(d1 + 1, '.', rest_len - (size_t)(d1 + 1 - rest)) != NULL;
    if (!shape)
      return fail(ps->err, "'%.*s': use {{ ti.xcom_pull(task_ids='TASK') }}, {{ ti.xcom.TASK_ID.KEY }} or "
                  "{{ ti.try_number }}",
                  (int)len, expr);
    if (ctx == NULL) {
      const char *d2 = memchr(rest + 5, '.', rest_len - 5); /* after TASK */
      add_ref(ps->refs, rest + 5, (size_t)(d2 - rest - 5));
      return 0;
    }
    const json_t *v = ctx->xcom ? descend(ctx->xcom, rest + 5, rest_len - 5) : NULL;
    if (v)
      out->j = json_incref((json_t *)v);
    else
      out->undef = xasprintf("no XCom value '%.*s' in this run (has that task run and "
                             "pushed it?)",
                             (int)(rest_len - 5), rest + 5);
    return 0;
  }
  if (var == V_VAR || var == V_CONN) return var_or_conn(ps, (enum var)var, expr, len, out);
  if (var < 0 || dot || var == V_DAG || var == V_TASK || var == V_MACROS)
    return unknown_name(ps, expr, len, head);
  return ctx ? var_value((enum var)var, var_names[var], ctx, out, ps->err) : 0;
}

/* --- expressions ----------------------------------------------------------
 *   expr    := primary ( '|' filter [ '(' args ')' ] )*
 *   primary := 'string' | "string" | integer | true | false | none
 *            | name | macros.ds_add(args) | macros.ds_format(args)
 * A strict subset of Jinja's: no operators, no statements. */

#define MAX_ARGS 4

static int parse_expr(struct parser *ps, struct val *out);

static void args_free(struct val *args, int n) {
  for (int i = 0; i < n; i++)
    val_free(&args[i]);
}

/* '(' already seen: up to MAX_ARGS expressions and ')'. */
static int parse_args(struct parser *ps, struct val *args, int *n) {
  *n = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ')') {
    ps->p++;
    return 0;
  }
  for (;;) {
    if (*n == MAX_ARGS) return syntax(ps, "too many arguments");
    int rc = parse_expr(ps, &args[*n]);
    if (rc < 0) return rc;
    (*n)++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == ')') {
      ps->p++;
      return 0;
    }
    return syntax(ps, "expected ',' or ')'");
  }
}

static int parse_string(struct parser *ps, struct val *out) {
  char q = *ps->p++;
  struct strbuf sb = STRBUF_INIT;
  while (ps->p < ps->end && *ps->p != q) {
    char c = *ps->p++;
    if (c == '\\' && ps->p < ps->end) {
      c = *ps->p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c != '\\' && c != '\'' && c != '"') sb_appendc(&sb, '\\');
    }
    sb_appendc(&sb, c);
  }
  if (ps->p == ps->end) {
    sb_free(&sb);
    return syntax(ps, "unterminated string");
  }
  ps->p++;
  if (ps->ctx)
    set_string(out, &sb);
  else
    sb_free(&sb);
  return 0;
}

static int parse_int(struct parser *ps, struct val *out) {
  const char *b = ps->p;
  if (*ps->p == '-') ps->p++;
  while (ps->p < ps->end && isdigit((unsigned char)*ps->p))
    ps->p++;
  if (ps->p < ps->end && (is_ident(*ps->p) || *ps->p == '.'))
    return syntax(ps, "only whole numbers are supported");
  size_t n = (size_t)(ps->p - b);
  if (n > 18) return syntax(ps, "number out of range");
  char buf[24];
  memcpy(buf, b, n);
  buf[n] = '\0';
  if (ps->ctx) out->j = json_integer(strtoll(buf, NULL, 10));
  return 0;
}

static bool word_is(const char *s, size_t len, const char *w) {
  return strlen(w) == len && memcmp(s, w, len) == 0;
}

static int call_macro(struct parser *ps, bool add, struct val *args, int n, struct val *out);

/* ti.xcom_pull(task_ids='t'[, key='k']), '(' already seen: Airflow's
 * signature, task_ids first, key defaulting to return_value. The ids and
 * the key must be string literals, so the loader checks every call. */
static int parse_xcom_pull(struct parser *ps, struct val *out) {
  char *arg[2] = {NULL, NULL}; /* task_ids, key */
  int rc = 0, positional = 0;
  skip_ws(ps);
  while (rc == 0 && ps->p < ps->end && *ps->p != ')') {
    const char *b = ps->p;
    while (ps->p < ps->end && is_ident(*ps->p))
      ps->p++;
    size_t n = (size_t)(ps->p - b);
    skip_ws(ps);
    int slot = -1;
    if (n && ps->p < ps->end && *ps->p == '=') {
      ps->p++;
      skip_ws(ps);
      if (word_is(b, n, "task_ids"))
        slot = 0;
      else if (word_is(b, n, "key"))
        slot = 1;
      else
        rc = fail(ps->err, "ti.xcom_pull: argument '%.*s' is not supported (give task_ids "
                  "and key)", (int)n, b);
    } else if (n) {
      rc = fail(ps->err, "ti.xcom_pull: arguments are quoted strings: task_ids='TASK', "
                "key='KEY'");
    } else if (positional++ == 0) {
      slot = 0;
    } else {
      rc = fail(ps->err, "ti.xcom_pull: give the key by name: ti.xcom_pull('TASK', key='KEY')");
    }
    if (rc) break;
    if (arg[slot]) {
      rc = fail(ps->err, "ti.xcom_pull: %s given twice", slot ? "key" : "task_ids");
      break;
    }
    if (ps->p == ps->end || (*ps->p != '\'' && *ps->p != '"')) {
      rc = fail(ps->err, "ti.xcom_pull: %s must be a quoted string (one task id: lists are not "
                "supported)", slot ? "key" : "task_ids");
      break;
    }
    /* Parse the literal even when only checking: its text is needed. */
    struct val lit = {0};
    const struct dag_template_ctx *saved = ps->ctx;
    static const struct dag_template_ctx none;
    ps->ctx = saved ? saved : &none;
    rc = parse_string(ps, &lit);
    ps->ctx = saved;
    if (rc == 0) arg[slot] = xstrdup(json_string_value(lit.j));
    val_free(&lit);
    skip_ws(ps);
    if (rc == 0 && ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
    } else if (rc == 0 && (ps->p == ps->end || *ps->p != ')')) {
      rc = syntax(ps, "expected ',' or ')'");
    }
  }
  if (rc == 0 && ps->p == ps->end) rc = syntax(ps, "expected ')'");
  if (rc == 0) {
    ps->p++;
    if (!arg[0] || !*arg[0])
      rc = fail(ps->err, "ti.xcom_pull needs task_ids: ti.xcom_pull(task_ids='TASK')");
    else if (ps->ctx == NULL)
      add_ref(ps->refs, arg[0], strlen(arg[0]));
  }
  if (rc == 0 && ps->ctx) {
    const char *key = arg[1] ? arg[1] : "return_value";
    const json_t *task = json_is_object(ps->ctx->xcom) ? json_object_get(ps->ctx->xcom, arg[0])
                                                       : NULL;
    const json_t *v = task ? json_object_get(task, key) : NULL;
    if (v)
      out->j = json_incref((json_t *)v);
    else
      out->undef = xasprintf("no XCom value '%s' of task '%s' in this run (has that task run "
                             "and pushed it?)", key, arg[0]);
  }
  free(arg[0]);
  free(arg[1]);
  return rc;
}

static int parse_primary(struct parser *ps, struct val *out) {
  skip_ws(ps);
  if (ps->p == ps->end) return syntax(ps, "expected a name or a value");
  char c = *ps->p;
  if (c == '\'' || c == '"') return parse_string(ps, out);
  if (isdigit((unsigned char)c) ||
      (c == '-' && ps->p + 1 < ps->end && isdigit((unsigned char)ps->p[1])))
    return parse_int(ps, out);
  if (!is_ident_start(c)) return syntax(ps, "expected a name or a value");

  const char *b = ps->p;
  for (;;) {
    while (ps->p < ps->end && is_ident(*ps->p))
      ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
      ps->p++;
      if (ps->p == ps->end || !is_ident_start(*ps->p))
        return syntax(ps, "expected a name after '.'");
      continue;
    }
    break;
  }
  size_t len = (size_t)(ps->p - b);
  if (word_is(b, len, "true") || word_is(b, len, "True") || word_is(b, len, "false") ||
      word_is(b, len, "False")) {
    if (ps->ctx) out->j = json_boolean(*b == 't' || *b == 'T');
    return 0;
  }
  if (word_is(b, len, "none") || word_is(b, len, "None")) {
    if (ps->ctx) out->j = json_null();
    return 0;
  }
  skip_ws(ps);
  bool call = ps->p < ps->end && *ps->p == '(';
  bool is_add = word_is(b, len, "macros.ds_add");
  bool is_format = word_is(b, len, "macros.ds_format");
  if (!call) {
    if (is_add || is_format) return fail(ps->err, "'%.*s' needs arguments", (int)len, b);
    return eval_name(ps, b, len, out);
  }
  if (word_is(b, len, "ti.xcom_pull")) {
    ps->p++;
    return parse_xcom_pull(ps, out);
  }
  if (!is_add && !is_format) {
    int rc = eval_name(ps, b, len, out);
    val_free(out);
    if (rc < 0) return rc;
    return fail(ps->err, "'%.*s' cannot be called: the macros are macros.ds_add and "
                "macros.ds_format", (int)len, b);
  }
  ps->p++;
  struct val args[MAX_ARGS] = {{0}};
  int n = 0;
  int rc = parse_args(ps, args, &n);
  if (rc == 0) rc = call_macro(ps, is_add, args, n, out);
  args_free(args, n);
  return rc;
}

/* --- macros ---------------------------------------------------------------- */

/* Python's datetime.strptime: the whole text must match. Fields it does not
 * set stay at 1900-01-01 00:00:00, as Python's. */
static bool parse_date(const char *text, const char *fmt, struct tm *tm) {
  memset(tm, 0, sizeof(*tm));
  tm->tm_year = 0;
  tm->tm_mday = 1;
  const char *rest = strptime(text, fmt, tm);
  if (rest == NULL || *rest != '\0') return false;
  /* Normalise and fill the weekday and day of year strftime may print. */
  time_t t = timegm(tm);
  return gmtime_r(&t, tm) != NULL;
}

static int call_macro(struct parser *ps, bool add, struct val *args, int n, struct val *out) {
  const char *name = add ? "macros.ds_add" : "macros.ds_format";
  int want = add ? 2 : 3;
  if (n != want)
    return fail(ps->err, "%s takes %d arguments (%s), got %d", name, want,
                add ? "ds, days" : "ds, input_format, output_format", n);
  if (ps->ctx == NULL) return 0;
  char *ds = NULL;
  int rc = val_string(&args[0], name, &ds, ps->err);
  if (rc < 0) return rc;
  struct tm tm;
  char buf[256];
  if (add) {
    if (!json_is_integer(args[1].j)) {
      free(ds);
      return fail(ps->err, "%s: days must be a whole number", name);
    }
    json_int_t days = json_integer_value(args[1].j);
    if (!parse_date(ds, "%Y-%m-%d", &tm) || days < -3660000 || days > 3660000) {
      rc = fail(ps->err, "%s: '%s' is not a YYYY-MM-DD date", name, ds);
      free(ds);
      return rc;
    }
    /* Airflow returns ds itself when days is 0. */
    if (days == 0) {
      out->j = json_string(ds);
      free(ds);
      return 0;
    }
    time_t t = timegm(&tm) + (time_t)days * 86400;
    gmtime_r(&t, &tm);
    if (tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) {
      free(ds);
      return fail(ps->err, "%s: the date is out of range", name);
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    out->j = json_string(buf);
    free(ds);
    return 0;
  }
  char *in = NULL, *fmt = NULL;
  if ((rc = val_string(&args[1], name, &in, ps->err)) == 0 &&
      (rc = val_string(&args[2], name, &fmt, ps->err)) == 0) {
    if (!parse_date(ds, in, &tm)) {
      rc = fail(ps->err, "%s: '%s' does not match the format '%s'", name, ds, in);
    } else {
      size_t w = strftime(buf, sizeof(buf), fmt, &tm);
      if (w == 0 && *fmt)
        rc = fail(ps->err, "%s: output format '%s' gives no text or too long a text", name,
                  fmt);
      else
        out->j = json_stringn(buf, w);
    }
  }
  free(ds);
  free(in);
  free(fmt);
  return rc;
}

/* --- filters --------------------------------------------------------------- */

enum filter { F_RAW, F_UPPER, F_LOWER, F_DEFAULT, F_REPLACE, F_TOJSON, F_SHQUOTE };

/* Indexed by enum filter; also the did-you-mean candidates. */
static const char *const filter_names[] = {"raw",     "upper",  "lower",  "default",
                                           "replace", "tojson", "shquote"};
static const int filter_min[] = {0, 0, 0, 0, 2, 0, 0};
static const int filter_max[] = {0, 0, 0, 2, 3, 0, 0};

/* Python's truth: what `default(x, true)` replaces. */
static bool falsy(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_NULL:
  case JSON_FALSE: return true;
  case JSON_INTEGER: return json_integer_value(j) == 0;
  case JSON_REAL: return json_real_value(j) == 0.0;
  case JSON_STRING: return json_string_length(j) == 0;
  case JSON_ARRAY: return json_array_size(j) == 0;
  case JSON_OBJECT: return json_object_size(j) == 0;
  default: return false;
  }
}

/* Jinja's tojson: json.dumps with sorted keys, ASCII only, and <, >, & and '
 * escaped, so the text is safe inside HTML and single-quoted attributes. */
static int to_json(struct val *v, char **err) {
  if (v->undef) return fail(err, "%s", v->undef);
  char *text = json_dumps(v->j, JSON_ENCODE_ANY | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  if (text == NULL) return fail(err, "value cannot be rendered as JSON");
  struct strbuf sb = STRBUF_INIT;
  for (const char *c = text; *c; c++) {
    /* Python writes \u escapes in lower case, jansson in upper case. */
    if (*c == '\\' && c[1] == 'u') {
      sb_append(&sb, "\\u");
      for (int i = 0; i < 4 && isxdigit((unsigned char)c[2]); i++, c++)
        sb_appendc(&sb, (char)tolower((unsigned char)c[2]));
      c++;
      continue;
    }
    if (*c == '\\' && c[1]) {
      sb_appendn(&sb, c, 2);
      c++;
      continue;
    }
    switch (*c) {
    case '<': sb_append(&sb, "\\u003c"); break;
    case '>': sb_append(&sb, "\\u003e"); break;
    case '&': sb_append(&sb, "\\u0026"); break;
    case '\'': sb_append(&sb, "\\u0027"); break;
    default: sb_appendc(&sb, *c);
    }
  }
  free(text);
  set_string(v, &sb);
  return 0;
}

/* Python's str.replace(old, new, count): an empty `old` matches between
 * every character; count < 0 replaces all. */
static void replace_all(struct strbuf *sb, const char *s, size_t len, const char *old,
                        size_t old_len, const char *new, size_t new_len, json_int_t count) {
  size_t i = 0;
  json_int_t done = 0;
  if (old_len == 0) {
    for (; i <= len; i++) {
      if (count < 0 || done < count) {
        sb_appendn(sb, new, new_len);
        done++;
      }
      if (i < len) sb_appendc(sb, s[i]);
    }
    return;
  }
  while (i < len) {
    if ((count < 0 || done < count) && len - i >= old_len &&
        memcmp(s + i, old, old_len) == 0) {
      sb_appendn(sb, new, new_len);
      i += old_len;
      done++;
    } else {
      sb_appendc(sb, s[i++]);
    }
  }
}

static int apply_filter(struct parser *ps, enum filter f, struct val *v, struct val *args,
                        int n) {
  struct strbuf sb = STRBUF_INIT;
  char *s = NULL, *a = NULL, *b = NULL;
  int rc = 0;
  switch (f) {
  case F_RAW: return 0;
  case F_DEFAULT: {
    /* An undefined second argument (a conf key the run lacks) is false,
     * as Jinja's Undefined, and has no JSON value to look at. */
    bool boolean = n > 1 && !args[1].undef && !falsy(args[1].j);
    if (v->undef || (boolean && falsy(v->j))) {
      val_free(v);
      if (n > 0) {
        v->j = args[0].j ? json_incref(args[0].j) : NULL;
        v->undef = args[0].undef ? xstrdup(args[0].undef) : NULL;
      } else {
        v->j = json_string("");
      }
    }
    return 0;
  }
  case F_TOJSON: return to_json(v, ps->err);
  default: break;
  }
  if ((rc = val_string(v, "filter", &s, ps->err)) < 0) return rc;
  size_t len = strlen(s);
  switch (f) {
  case F_UPPER:
  case F_LOWER:
    /* ASCII letters only: the C library's case tables depend on a locale. */
    for (size_t i = 0; i < len; i++)
      sb_appendc(&sb, (char)(f == F_UPPER ? toupper((unsigned char)s[i])
                                          : tolower((unsigned char)s[i])));
    break;
  case F_SHQUOTE: dag_shell_quote(&sb, s, len); break;
  case F_REPLACE: {
    json_int_t count = -1;
    if (n > 2) {
      if (!json_is_integer(args[2].j)) {
        rc = fail(ps->err, "replace: count must be a whole number");
        break;
      }
      count = json_integer_value(args[2].j);
    }
    if ((rc = val_string(&args[0], "replace", &a, ps->err)) < 0 ||
        (rc = val_string(&args[1], "replace", &b, ps->err)) < 0)
      break;
    replace_all(&sb, s, len, a, strlen(a), b, strlen(b), count);
    break;
  }
  default: break;
  }
  free(s);
  free(a);
  free(b);
  if (rc < 0) {
    sb_free(&sb);
    return rc;
  }
  set_string(v, &sb);
  return 0;
}

static int parse_filter(struct parser *ps, struct val *v) {
  skip_ws(ps);
  const char *b = ps->p;
  while (ps->p < ps->end && is_ident(*ps->p))
    ps->p++;
  size_t len = (size_t)(ps->p - b);
  int f = -1;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(filter_names); i++)
    if (word_is(b, len, filter_names[i])) f = (int)i;
  if (f < 0) {
    char *word = xstrndup(b, len);
    const char *hint = dag_did_you_mean(word, filter_names, DAG_ARRAY_SIZE(filter_names));
    free(word);
    if (hint)
      return fail(ps->err, "unknown filter '%.*s' at offset %zu (did you mean '%s'?)",
                  (int)len, b, ps->offset, hint);
    return fail(ps->err,
                "unknown filter '%.*s' at offset %zu: the filters are raw, upper, lower, "
                "default, replace, tojson and shquote",
                (int)len, b, ps->offset);
  }
  struct val args[MAX_ARGS] = {{0}};
  int n = 0, rc = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '(') {
    ps->p++;
    if ((rc = parse_args(ps, args, &n)) < 0) goto out;
  }
  if (n < filter_min[f] || n > filter_max[f]) {
    if (filter_max[f] == 0)
      rc = fail(ps->err, "filter '%s' takes no arguments, got %d", filter_names[f], n);
    else
      rc = fail(ps->err, "filter '%s' takes %d to %d arguments, got %d", filter_names[f],
                filter_min[f], filter_max[f], n);
    goto out;
  }
  ps->verbatim = f == F_RAW || f == F_SHQUOTE;
  if (ps->ctx) rc = apply_filter(ps, (enum filter)f, v, args, n);
out:
  args_free(args, n);
  return rc;
}

static int parse_expr(struct parser *ps, struct val *out) {
  if (++ps->depth > MAX_DEPTH) return syntax(ps, "nested too deeply");
  int rc = parse_primary(ps, out);
  ps->verbatim = false;
  while (rc == 0) {
    skip_ws(ps);
    if (ps->p == ps->end || *ps->p != '|') break;
    ps->p++;
    rc = parse_filter(ps, out);
  }
  ps->depth--;
  if (rc < 0) val_free(out);
  return rc;
}

/* One tag's expression, already trimmed. In a shell command the value goes
 * in quoted unless its last filter is raw (the author means syntax) or
 * shquote (it is quoted already). */
static int expand(struct strbuf *sb, const char *expr, size_t len, size_t offset,
                  const struct dag_template_ctx *ctx, bool shell, struct dag_template_refs *refs,
                  char **err) {
  struct parser ps = {.p = expr, .end = expr + len, .tag = expr, .tag_len = len,
                      .offset = offset, .ctx = ctx, .err = err, .refs = refs};
  struct val v = {0};
  int rc = parse_expr(&ps, &v);
  if (rc == 0) {
    skip_ws(&ps);
    if (ps.p != ps.end) rc = syntax(&ps, "expected '|' or the end of the tag");
  }
  if (rc == 0 && ctx && sb) {
    struct strbuf value = STRBUF_INIT;
    rc = val_text(&v, &value, expr, len, err);
    if (rc == 0 && shell && !ps.verbatim)
      dag_shell_quote(sb, sb_str(&value), value.len);
    else if (rc == 0)
      sb_appendn(sb, sb_str(&value), value.len);
    sb_free(&value);
  }
  val_free(&v);
  return rc;
}

static int process(const char *tmpl, const struct dag_template_ctx *ctx, bool shell,
                   struct strbuf *sb, struct dag_template_refs *refs, char **err) {
  const char *p = tmpl;
  for (;;) {
    const char *open = strchr(p, '{');
    if (open == NULL) {
      if (sb) sb_append(sb, p);
      return 0;
    }
    size_t offset = (size_t)(open - tmpl);
    if (open[1] == '%' || open[1] == '#')
      return fail(err, "'{%c' at offset %zu: only {{ name }} templates are supported",
                  open[1], offset);
    if (open[1] != '{') {
      if (sb) sb_appendn(sb, p, (size_t)(open - p) + 1);
      p = open + 1;
      continue;
    }
    if (sb) sb_appendn(sb, p, (size_t)(open - p));
    const char *close = strstr(open + 2, "}}");
    if (close == NULL) return fail(err, "unterminated '{{' at offset %zu", offset);

    const char *b = open + 2, *e = close;
    while (b < e && isspace((unsigned char)*b))
      b++;
    while (e > b && isspace((unsigned char)e[-1]))
      e--;
    if (b == e) return fail(err, "empty '{{ }}' at offset %zu", offset);
    int rc = expand(sb, b, (size_t)(e - b), offset, ctx, shell, refs, err);
    if (rc < 0) return rc;
    p = close + 2;
  }
}

static int render(const char *tmpl, const struct dag_template_ctx *ctx, bool shell,
                  char **out, char **err) {
  struct strbuf sb = STRBUF_INIT;
  *out = NULL;
  if (err) *err = NULL;
  int rc = process(tmpl, ctx, shell, &sb, NULL, err);
  if (rc < 0) {
    sb_free(&sb);
    return rc;
  }
  *out = sb_detach(&sb);
  return 0;
}

int dag_template_render(const char *tmpl, const struct dag_template_ctx *ctx, char **out,
                        char **err) {
  return render(tmpl, ctx, false, out, err);
}

int dag_template_render_shell(const char *tmpl, const struct dag_template_ctx *ctx,
                              char **out, char **err) {
  return render(tmpl, ctx, true, out, err);
}

int dag_template_check(const char *tmpl, char **err) {
  if (err) *err = NULL;
  return process(tmpl, NULL, false, NULL, NULL, err);
}

static void add_ref(struct dag_template_refs *refs, const char *id, size_t len) {
  if (refs == NULL) return;
  for (size_t i = 0; i < refs->n; i++)
    if (strlen(refs->ids[i]) == len && memcmp(refs->ids[i], id, len) == 0) return;
  refs->ids = xgrow(refs->ids, &refs->cap, refs->n + 1, sizeof(*refs->ids));
  refs->ids[refs->n++] = xstrndup(id, len);
}

int dag_template_check_refs(const char *tmpl, struct dag_template_refs *refs, char **err) {
  if (err) *err = NULL;
  return process(tmpl, NULL, false, NULL, refs, err);
}

bool dag_template_name_reserved(const char *name) {
  for (size_t i = 0; i < DAG_ARRAY_SIZE(var_names); i++)
    if (strcmp(var_names[i], name) == 0) return true;
  return false;
}

void dag_template_refs_free(struct dag_template_refs *refs) {
  for (size_t i = 0; i < refs->n; i++)
    free(refs->ids[i]);
  free(refs->ids);
  memset(refs, 0, sizeof(*refs));
}

json_t *dag_template_params(const struct dag_template_ctx *ctx) {
  json_t *all = json_is_object(ctx->params) ? json_deep_copy(ctx->params) : json_object();
  if (json_is_object(ctx->conf)) json_object_update(all, (json_t *)ctx->conf);
  return all;
}

int dag_template_value_text(const json_t *v, char **out) {
  struct strbuf sb = STRBUF_INIT;
  *out = NULL;
  if (append_json(&sb, v, "", 0, NULL) < 0) {
    sb_free(&sb);
    return DAG_EINVAL;
  }
  *out = sb_detach(&sb);
  return 0;
}

static bool env_name_ok(const char *name) {
  return *name && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789_") == strlen(name);
}

static void set_json(const json_t *v, const char *name,
                     void (*set)(void *ud, const char *name, const char *value), void *ud) {
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (text && strlen(text) <= DAG_TEMPLATE_ENV_MAX) set(ud, name, text);
  free(text);
}

void dag_template_env(const struct dag_template_ctx *ctx,
                      void (*set)(void *ud, const char *name, const char *value), void *ud) {
  json_t *params = dag_template_params(ctx);
  set_json(params, "DAGCTL_PARAMS", set, ud);
  if (json_is_object(ctx->conf)) {
    set_json(ctx->conf, "DAGCTL_CONF", set, ud);
  } else {
    set(ud, "DAGCTL_CONF", "{}");
  }
  const char *key;
  json_t *v;
  json_object_foreach(params, key, v) {
    char *text = NULL;
    if (!env_name_ok(key) || dag_template_value_text(v, &text) != 0) continue;
    if (strlen(text) <= DAG_TEMPLATE_ENV_MAX) {
      char *name = xasprintf("DAGCTL_PARAM_%s", key);
      set(ud, name, text);
      free(name);
    }
    free(text);
  }
  json_decref(params);
}
