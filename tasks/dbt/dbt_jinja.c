/* dbt_jinja.c - the Jinja subset dbt models use: {{ call(...) }}, {{ this }},
 * {# #}, and {% if [not] call() %} ... [{% else %} ...] {% endif %}.
 *
 * Expressions are one call of a named function with literal arguments,
 * which covers ref(), source(), config() and var(), or the bare name
 * `this`; an if's test is one such call (is_incremental()), possibly
 * negated. Everything else is an error that names the file and line, never
 * text passed through: SQL with a stray {{ }} must not reach the
 * warehouse. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dbt_int.h"

/* Lists and mappings within lists and mappings: a dbt config needs three
 * levels (indexes=[{'columns': [...]}]); the bound keeps a hostile model's
 * recursion off the end of the stack. */
#define MAX_NESTING 32

struct lexer {
  const char *p, *end;
  const char *what; /* the expression, for messages */
  int depth;        /* lists and mappings open at p */
};

static void skip_ws(struct lexer *lx) {
  while (lx->p < lx->end && isspace((unsigned char)*lx->p))
    lx->p++;
}

static json_t *parse_literal(struct lexer *lx, char **err);

static json_t *parse_string(struct lexer *lx, char **err) {
  char q = *lx->p++;
  struct strbuf sb = STRBUF_INIT;
  while (lx->p < lx->end && *lx->p != q) {
    if (*lx->p == '\\' && lx->p + 1 < lx->end) {
      lx->p++;
      char c = *lx->p;
      sb_appendc(&sb, c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      sb_appendc(&sb, *lx->p);
    }
    lx->p++;
  }
  if (lx->p >= lx->end) {
    *err = xasprintf("unterminated string in '%s'", lx->what);
    sb_free(&sb);
    return NULL;
  }
  lx->p++;
  json_t *s = json_stringn(sb_str(&sb), sb.len);
  sb_free(&sb);
  if (s == NULL) *err = xasprintf("string is not valid UTF-8 in '%s'", lx->what);
  return s;
}

/* Enter a list or a mapping; -1 with *err past MAX_NESTING. */
static int nest(struct lexer *lx, char **err) {
  if (lx->depth == MAX_NESTING) {
    *err = xasprintf("lists and mappings nested deeper than %d in '%.40s...'", MAX_NESTING,
                     lx->what);
    return -1;
  }
  lx->depth++;
  return 0;
}

static json_t *parse_list(struct lexer *lx, char **err) {
  if (nest(lx, err) < 0) return NULL;
  json_t *list = json_array();
  lx->p++; /* [ */
  skip_ws(lx);
  if (lx->p < lx->end && *lx->p == ']') {
    lx->p++;
    lx->depth--;
    return list;
  }
  for (;;) {
    json_t *v = parse_literal(lx, err);
    if (v == NULL) break;
    json_array_append_new(list, v);
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == ',') {
      lx->p++;
      skip_ws(lx);
      if (lx->p < lx->end && *lx->p == ']') { /* trailing comma */
        lx->p++;
        lx->depth--;
        return list;
      }
      continue;
    }
    if (lx->p < lx->end && *lx->p == ']') {
      lx->p++;
      lx->depth--;
      return list;
    }
    *err = xasprintf("expected ',' or ']' in list in '%s'", lx->what);
    break;
  }
  json_decref(list);
  return NULL;
}

/* {'key': value, ...}: keys are strings, as in dbt's config(indexes=...). */
static json_t *parse_dict(struct lexer *lx, char **err) {
  if (nest(lx, err) < 0) return NULL;
  json_t *dict = json_object();
  lx->p++; /* { */
  for (;;) {
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == '}') {
      lx->p++;
      lx->depth--;
      return dict;
    }
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) {
      *err = xasprintf("expected a quoted key in a mapping in '%s'", lx->what);
      break;
    }
    json_t *key = parse_string(lx, err);
    if (key == NULL) break;
    skip_ws(lx);
    if (lx->p >= lx->end || *lx->p != ':') {
      json_decref(key);
      *err = xasprintf("expected ':' after a key in a mapping in '%s'", lx->what);
      break;
    }
    lx->p++;
    json_t *v = parse_literal(lx, err);
    if (v == NULL) {
      json_decref(key);
      break;
    }
    json_object_set_new(dict, json_string_value(key), v);
    json_decref(key);
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == ',') {
      lx->p++;
      continue;
    }
    if (lx->p < lx->end && *lx->p == '}') continue;
    *err = xasprintf("expected ',' or '}' in a mapping in '%s'", lx->what);
    break;
  }
  json_decref(dict);
  return NULL;
}

static json_t *parse_literal(struct lexer *lx, char **err) {
  skip_ws(lx);
  if (lx->p >= lx->end) {
    *err = xasprintf("expected a value in '%s'", lx->what);
    return NULL;
  }
  char c = *lx->p;
  if (c == '\'' || c == '"') return parse_string(lx, err);
  if (c == '[') return parse_list(lx, err);
  if (c == '{') return parse_dict(lx, err);
  if (c == '-' || isdigit((unsigned char)c)) {
    char *end;
    const char *start = lx->p;
    long long i = strtoll(start, &end, 10);
    if (end == start) end = (char *)start + (c == '-'); /* a lone '-': no digits */
    if (end < lx->end && (*end == '.' || *end == 'e' || *end == 'E')) {
      double d = strtod(start, &end);
      /* jansson holds finite numbers only: 1e999 is no value. */
      bool digits = end > start + (c == '-');
      json_t *real = digits ? json_real(d) : NULL;
      if (real == NULL)
        *err = xasprintf("%s in '%s'", digits ? "number out of range" : "bad number", lx->what);
      lx->p = end;
      return real;
    }
    if (end == start + (c == '-')) {
      *err = xasprintf("bad number in '%s'", lx->what);
      return NULL;
    }
    lx->p = end;
    return json_integer(i);
  }
  static const struct {
    const char *word;
    int kind; /* 0 true, 1 false, 2 none */
  } words[] = {{"true", 0}, {"True", 0}, {"false", 1}, {"False", 1}, {"none", 2}, {"None", 2}};
  for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
    size_t n = strlen(words[k].word);
    if ((size_t)(lx->end - lx->p) >= n && strncmp(lx->p, words[k].word, n) == 0 &&
        (lx->p + n == lx->end || !(isalnum((unsigned char)lx->p[n]) || lx->p[n] == '_'))) {
      lx->p += n;
      return words[k].kind == 0 ? json_true() : words[k].kind == 1 ? json_false() : json_null();
    }
  }
  *err = xasprintf("unsupported value in '%s' (only literals: strings, numbers, "
                   "true/false, lists, mappings)",
                   lx->what);
  return NULL;
}

static bool ident_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* Parse `name(args)` (or, if bare_ok, the bare name `this`) filling *call;
 * returns 0 or -1 with *err. */
static int parse_call(struct lexer *lx, struct jinja_call *call, char **name, bool bare_ok,
                      char **err) {
  skip_ws(lx);
  const char *start = lx->p;
  while (lx->p < lx->end && ident_char(*lx->p))
    lx->p++;
  if (lx->p == start) {
    *err = xasprintf("unsupported Jinja expression '%s' (this engine knows ref(), source(), "
                     "config() and var())",
                     lx->what);
    return -1;
  }
  *name = xstrndup(start, (size_t)(lx->p - start));
  call->name = *name;
  skip_ws(lx);
  if (lx->p == lx->end && bare_ok && strcmp(*name, "this") == 0) {
    /* A bare name such as `this`: the caller decides whether it knows it. */
    call->bare = true;
    call->args = json_array();
    call->kwargs = json_object();
    return 0;
  }
  if (lx->p >= lx->end || *lx->p != '(') {
    *err = xasprintf("unsupported Jinja expression '%s' (this engine knows ref(), source(), "
                     "config() and var())",
                     lx->what);
    return -1;
  }
  lx->p++;
  call->args = json_array();
  call->kwargs = json_object();
  skip_ws(lx);
  if (lx->p < lx->end && *lx->p == ')') {
    lx->p++;
  } else {
    for (;;) {
      skip_ws(lx);
      /* kw=value? */
      const char *save = lx->p;
      const char *k = lx->p;
      while (lx->p < lx->end && ident_char(*lx->p))
        lx->p++;
      const char *kend = lx->p;
      skip_ws(lx);
      if (kend > k && lx->p < lx->end && *lx->p == '=' &&
          !(lx->p + 1 < lx->end && lx->p[1] == '=')) {
        lx->p++;
        json_t *v = parse_literal(lx, err);
        if (v == NULL) return -1;
        char *key = xstrndup(k, (size_t)(kend - k));
        json_object_set_new(call->kwargs, key, v);
        free(key);
      } else {
        lx->p = save;
        if (json_object_size(call->kwargs)) {
          *err = xasprintf("positional argument after keyword argument in '%s'", lx->what);
          return -1;
        }
        json_t *v = parse_literal(lx, err);
        if (v == NULL) return -1;
        json_array_append_new(call->args, v);
      }
      skip_ws(lx);
      if (lx->p < lx->end && *lx->p == ',') {
        lx->p++;
        continue;
      }
      if (lx->p < lx->end && *lx->p == ')') {
        lx->p++;
        break;
      }
      *err = xasprintf("expected ',' or ')' in '%s'", lx->what);
      return -1;
    }
  }
  skip_ws(lx);
  if (lx->p != lx->end) {
    *err = xasprintf("unsupported Jinja expression '%s' (filters, operators and attribute "
                     "access are not supported)",
                     lx->what);
    return -1;
  }
  return 0;
}

/* --- {% if %} ------------------------------------------------------------------ */

#define MAX_IF_DEPTH 16

/* The open {% if %} blocks, innermost last. */
struct if_level {
  bool outer;   /* text around the block is emitted */
  int cond;     /* JINJA_FALSE, JINJA_TRUE or JINJA_BOTH */
  bool in_else; /* past its {% else %} */
  int line;
};

struct ifs {
  struct if_level lv[MAX_IF_DEPTH];
  int depth;
};

/* Whether text at this point is emitted. */
static bool active(const struct ifs *s) {
  if (s->depth == 0) return true;
  const struct if_level *l = &s->lv[s->depth - 1];
  if (!l->outer) return false;
  return l->cond == JINJA_BOTH || (l->in_else ? l->cond == JINJA_FALSE : l->cond == JINJA_TRUE);
}

/* One {% %} statement: if, else, endif. Returns 0 or -1 with *err
 * ("FILE:LINE: message"). */
static int statement(const char *file, int line, char *body, jinja_test_fn test, void *ud,
                     struct ifs *s, char **err) {
  char *w = body;
  while (isspace((unsigned char)*w))
    w++;
  size_t wlen = strlen(w);
  while (wlen && isspace((unsigned char)w[wlen - 1]))
    w[--wlen] = '\0';
  size_t kw = strcspn(w, " \t\r\n");
  if (test && kw == 2 && strncmp(w, "if", 2) == 0) {
    if (s->depth == MAX_IF_DEPTH) {
      *err = xasprintf("%s:%d: {%% if %%} blocks nested deeper than %d", file, line,
                       MAX_IF_DEPTH);
      return -1;
    }
    const char *e = w + 2;
    while (isspace((unsigned char)*e))
      e++;
    bool negate = strncmp(e, "not", 3) == 0 && isspace((unsigned char)e[3]);
    if (negate) {
      e += 3;
      while (isspace((unsigned char)*e))
        e++;
    }
    bool outer = active(s);
    int cond = JINJA_FALSE;
    if (outer) {
      struct lexer lx = {e, e + strlen(e), w};
      struct jinja_call call = {.line = line};
      char *name = NULL, *msg = NULL;
      int rc = parse_call(&lx, &call, &name, false, &msg);
      if (rc < 0) {
        free(msg);
        msg = xasprintf("{%% if %%} takes is_incremental() or not is_incremental(), got '%s'",
                        e);
      }
      if (rc == 0) rc = test(ud, &call, &cond, &msg);
      json_decref(call.args);
      json_decref(call.kwargs);
      free(name);
      if (rc < 0) {
        *err = xasprintf("%s:%d: %s", file, line, msg ? msg : "error");
        free(msg);
        return -1;
      }
      if (negate && cond != JINJA_BOTH) cond = cond == JINJA_TRUE ? JINJA_FALSE : JINJA_TRUE;
    }
    s->lv[s->depth].outer = outer;
    s->lv[s->depth].cond = cond;
    s->lv[s->depth].in_else = false;
    s->lv[s->depth].line = line;
    s->depth++;
    return 0;
  }
  if (test && kw == wlen && (strcmp(w, "else") == 0 || strcmp(w, "endif") == 0)) {
    if (s->depth == 0 || (w[1] == 'l' && s->lv[s->depth - 1].in_else)) {
      *err = xasprintf("%s:%d: {%% %s %%} without {%% if %%}", file, line, w);
      return -1;
    }
    if (w[1] == 'l')
      s->lv[s->depth - 1].in_else = true;
    else
      s->depth--;
    return 0;
  }
  *err = xasprintf("%s:%d: Jinja statements such as {%% %.*s %%} are not supported "
                   "(only {%% if [not] is_incremental() %%}, {%% else %%}, {%% endif %%})",
                   file, line, (int)kw, w);
  return -1;
}

static int line_at(const char *text, const char *at) {
  int line = 1;
  for (const char *p = text; p < at; p++)
    if (*p == '\n') line++;
  return line;
}

static void rstrip(struct strbuf *sb) {
  while (sb->len && isspace((unsigned char)sb->buf[sb->len - 1]))
    sb->buf[--sb->len] = '\0';
}

int dbt__jinja_render(const char *file, const char *text, jinja_call_fn fn,
                      jinja_test_fn test, void *ud, char **out, char **err) {
  struct strbuf sb = STRBUF_INIT;
  struct ifs ifs = {0};
  const char *p = text;
  bool lstrip_next = false;
  *out = NULL;
  *err = NULL;
  while (*p) {
    const char *open = strchr(p, '{');
    while (open && open[1] != '{' && open[1] != '%' && open[1] != '#')
      open = strchr(open + 1, '{');
    const char *lit_end = open ? open : p + strlen(p);
    const char *lit = p;
    if (lstrip_next) {
      while (lit < lit_end && isspace((unsigned char)*lit))
        lit++;
      lstrip_next = false;
    }
    if (active(&ifs)) sb_appendn(&sb, lit, (size_t)(lit_end - lit));
    if (open == NULL) break;

    int line = line_at(text, open);
    char kind = open[1];
    const char *close_tag = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    const char *body = open + 2;
    const char *close = strstr(body, close_tag);
    if (close == NULL) {
      *err = xasprintf("%s:%d: unterminated '{%c' (no '%s')", file, line, kind, close_tag);
      sb_free(&sb);
      return -1;
    }
    if (*body == '-') {
      rstrip(&sb);
      body++;
    }
    const char *body_end = close;
    if (body_end > body && body_end[-1] == '-') {
      body_end--;
      lstrip_next = true;
    }
    p = close + 2;
    if (kind == '#') continue;
    char *what = xstrndup(body, (size_t)(body_end - body));
    if (kind == '%') {
      int rc = statement(file, line, what, test, ud, &ifs, err);
      free(what);
      if (rc < 0) {
        sb_free(&sb);
        return -1;
      }
      continue;
    }
    if (!active(&ifs)) {
      free(what);
      continue;
    }
    /* Trim for messages. */
    char *w = what;
    while (isspace((unsigned char)*w))
      w++;
    size_t wlen = strlen(w);
    while (wlen && isspace((unsigned char)w[wlen - 1]))
      w[--wlen] = '\0';
    struct lexer lx = {w, w + wlen, w};
    struct jinja_call call = {.line = line};
    char *name = NULL, *msg = NULL;
    int rc = parse_call(&lx, &call, &name, true, &msg);
    if (rc == 0) rc = fn(ud, &call, &sb, &msg);
    json_decref(call.args);
    json_decref(call.kwargs);
    free(name);
    free(what);
    if (rc < 0) {
      *err = xasprintf("%s:%d: %s", file, line, msg ? msg : "error");
      free(msg);
      sb_free(&sb);
      return -1;
    }
  }
  if (ifs.depth) {
    *err = xasprintf("%s:%d: {%% if %%} without {%% endif %%}", file,
                     ifs.lv[ifs.depth - 1].line);
    sb_free(&sb);
    return -1;
  }
  *out = sb_detach(&sb);
  if (*out == NULL) *out = xstrdup("");
  return 0;
}
