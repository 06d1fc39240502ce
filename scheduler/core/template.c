/* template.c - {{ name }} substitution (see template.h).
 *
 * One pass over the text: literal bytes are copied, each {{ ... }} tag is
 * parsed as a dotted name (and an optional `| raw`) and resolved against the
 * context. Checking is the same pass with no context, so the loader and the
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
  V_RUN_ID,
  V_DAG_ID,
  V_TASK_ID,
  V_TRY_NUMBER,
  V_PARAMS, /* takes a key: params.NAME */
  V_CONF,   /* takes a key: conf.NAME */
  V_TI,     /* ti.xcom.TASK.KEY: a value pushed by another task of the run */
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
    "run_id",
    "dag_id",
    "task_id",
    "try_number",
    "params",
    "conf",
    "ti",
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

/* params.KEY...: the run's conf wins over the DAG's params for the first key,
 * as with Airflow's dag_run_conf_overrides_params. */
static int render_lookup(struct strbuf *sb, enum var var, const char *expr,
                         size_t expr_len, const char *keys, size_t len,
                         const struct dag_template_ctx *ctx, char **err) {
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
  if (v == NULL) {
    if (var == V_PARAMS) return fail(err, "unknown param '%.*s'", (int)len, keys);
    return fail(err, "conf has no key '%.*s'", (int)len, keys);
  }
  return append_json(sb, v, expr, expr_len, err);
}

static int render_var(struct strbuf *sb, enum var var, const char *name,
                      const struct dag_template_ctx *ctx, char **err) {
  const char *s = NULL;
  switch (var) {
  case V_DS: append_date(sb, ctx->logical_date, true); return 0;
  case V_DS_NODASH: append_date(sb, ctx->logical_date, false); return 0;
  case V_TS:
  case V_LOGICAL_DATE: append_iso(sb, ctx->logical_date); return 0;
  case V_TS_NODASH: append_ts_nodash(sb, ctx->logical_date); return 0;
  case V_DATA_INTERVAL_START: append_iso(sb, ctx->data_interval_start); return 0;
  case V_DATA_INTERVAL_END: append_iso(sb, ctx->data_interval_end); return 0;
  case V_TRY_NUMBER: sb_appendf(sb, "%d", ctx->try_number); return 0;
  case V_RUN_ID: s = ctx->run_id; break;
  case V_DAG_ID: s = ctx->dag_id; break;
  case V_TASK_ID: s = ctx->task_id; break;
  case V_PARAMS:
  case V_CONF:
  case V_TI: break;
  }
  /* An empty string would run a command with a hole in it; say so instead. */
  if (s == NULL) return fail(err, "template variable '%s' is not available here", name);
  sb_append(sb, s);
  return 0;
}

static bool is_name(const char *s, size_t len) {
  bool seg_start = true;
  if (len == 0) return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '.') {
      if (seg_start) return false;
      seg_start = true;
    } else if (isalpha(c) || c == '_' || (!seg_start && isdigit(c))) {
      seg_start = false;
    } else {
      return false;
    }
  }
  return !seg_start;
}

/* One name, already trimmed. With ctx NULL only check it. */
static int expand_name(struct strbuf *sb, const char *expr, size_t len, size_t offset,
                       const struct dag_template_ctx *ctx, char **err) {
  if (!is_name(expr, len))
    return fail(err,
                "unsupported expression '%.*s' at offset %zu: only {{ name }} "
                "templates are supported",
                (int)len, expr, offset);

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
      return fail(err, "'%s' needs a key: {{ %s.NAME }}", var_names[var], var_names[var]);
    if (ctx == NULL) return 0;
    return render_lookup(sb, (enum var)var, expr, len, dot + 1, len - head - 1, ctx, err);
  }
  if (var == V_TI) {
    /* ti.xcom.TASK.KEY: exactly two names after "xcom". */
    const char *rest = dot ? dot + 1 : NULL;
    size_t rest_len = dot ? len - head - 1 : 0;
    const char *d1 = rest ? memchr(rest, '.', rest_len) : NULL;
    bool shape = rest && rest_len > 5 && strncmp(rest, "xcom.", 5) == 0 && d1 &&
                 memchr(d1 + 1, '.', rest_len - (size_t)(d1 + 1 - rest)) != NULL;
    if (!shape)
      return fail(err, "'%.*s': use {{ ti.xcom.TASK_ID.KEY }}", (int)len, expr);
    if (ctx == NULL) return 0;
    const json_t *v = ctx->xcom ? descend(ctx->xcom, rest + 5, rest_len - 5) : NULL;
    if (v == NULL)
      return fail(err, "no XCom value '%.*s' in this run (has that task run and pushed it?)",
                  (int)(rest_len - 5), rest + 5);
    return append_json(sb, v, expr, len, err);
  }
  if (var < 0 || dot) {
    const char *hint = NULL;
    if (var < 0) {
      char *word = xstrndup(expr, head);
      hint = dag_did_you_mean(word, var_names, DAG_ARRAY_SIZE(var_names));
      free(word);
    }
    if (hint)
      return fail(err, "unknown template variable '%.*s' (did you mean '%s%.*s'?)",
                  (int)len, expr, hint, (int)(len - head), expr + head);
    return fail(err, "unknown template variable '%.*s'", (int)len, expr);
  }
  if (ctx == NULL) return 0;
  return render_var(sb, (enum var)var, var_names[var], ctx, err);
}

static const char *const filter_names[] = {"raw"};

/* One tag's expression, already trimmed: NAME or NAME | raw. In a shell
 * command the value goes in quoted unless the tag says raw. */
static int expand(struct strbuf *sb, const char *expr, size_t len, size_t offset,
                  const struct dag_template_ctx *ctx, bool shell, char **err) {
  bool raw = false;
  size_t name_len = len;
  const char *bar = memchr(expr, '|', len);
  if (bar) {
    const char *f = bar + 1, *end = expr + len;
    while (f < end && isspace((unsigned char)*f))
      f++;
    name_len = (size_t)(bar - expr);
    while (name_len && isspace((unsigned char)expr[name_len - 1]))
      name_len--;
    size_t flen = (size_t)(end - f);
    if (flen == 3 && memcmp(f, "raw", 3) == 0) {
      raw = true;
    } else {
      char *word = xstrndup(f, flen);
      const char *hint = dag_did_you_mean(word, filter_names, DAG_ARRAY_SIZE(filter_names));
      free(word);
      if (hint)
        return fail(err, "unknown filter '%.*s' at offset %zu (did you mean '%s'?)", (int)flen,
                    f, offset, hint);
      return fail(err, "unknown filter '%.*s' at offset %zu: the only filter is 'raw'",
                  (int)flen, f, offset);
    }
  }
  if (!shell || raw || sb == NULL) return expand_name(sb, expr, name_len, offset, ctx, err);
  struct strbuf value = STRBUF_INIT;
  int rc = expand_name(&value, expr, name_len, offset, ctx, err);
  if (rc == 0) dag_shell_quote(sb, sb_str(&value), value.len);
  sb_free(&value);
  return rc;
}

static int process(const char *tmpl, const struct dag_template_ctx *ctx, bool shell,
                   struct strbuf *sb, char **err) {
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
    int rc = expand(sb, b, (size_t)(e - b), offset, ctx, shell, err);
    if (rc < 0) return rc;
    p = close + 2;
  }
}

static int render(const char *tmpl, const struct dag_template_ctx *ctx, bool shell,
                  char **out, char **err) {
  struct strbuf sb = STRBUF_INIT;
  *out = NULL;
  if (err) *err = NULL;
  int rc = process(tmpl, ctx, shell, &sb, err);
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
  return process(tmpl, NULL, false, NULL, err);
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
