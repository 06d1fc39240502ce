/* yaml_doc.c - YAML text -> node tree, and typed access (see yaml_doc.h).
 *
 * libyaml's event API feeds a small node tree built here, rather than
 * yaml_parser_load()'s document: building it ourselves is where the limits
 * live (size, nesting, nodes after alias expansion), and where duplicate
 * keys and merge keys are handled once per mapping, with the path of the
 * mapping at hand. */
#include "yaml_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "alloc.h"
#include "common.h"
#include "duration.h"
#include "error.h"
#include "strbuf.h"
#include "strmap.h"

#define MAX_DEPTH 64
/* Counted after alias expansion: "billion laughs" documents are small on
 * disk and blow up when walked, so the walkers' total work is bounded too. */
#define MAX_NODES 1000000

/* --- diagnostics -------------------------------------------------------- */

void dag_yaml_err(struct dag_yaml_ctx *ctx, const struct dag_ynode *at, const char *path,
              const char *fmt, ...) {
  ctx->errors++;
  if (ctx->errors > DAG_YAML_MAX_DIAGS) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  int line = at ? at->line : 0, col = at ? at->col : 0;
  if (path && *path)
    dag_diag_add(ctx->diags, ctx->file, line, col, "%s: %s", path, msg);
  else
    dag_diag_add(ctx->diags, ctx->file, line, col, "%s", msg);
  free(msg);
}

bool dag_yaml_saturated(const struct dag_yaml_ctx *ctx) {
  return ctx->errors > DAG_YAML_MAX_DIAGS;
}

/* Always kept, past the cap too: these are the errors that stop a parse. */
void dag_yaml_err_at(struct dag_yaml_ctx *ctx, int line, int col, const char *fmt, ...) {
  ctx->errors++;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  dag_diag_add(ctx->diags, ctx->file, line, col, "%s", msg);
  free(msg);
}

void dag_yaml_ctx_init(struct dag_yaml_ctx *ctx, const char *file, struct dag_diags *diags) {
  *ctx = (struct dag_yaml_ctx){.file = file, .diags = diags, .diags_start = diags->n};
}

/* Insertion sort: stable, and there are at most DAG_YAML_MAX_DIAGS of them
 * (plus the few fatal ones). */
void dag_yaml_ctx_finish(struct dag_yaml_ctx *ctx) {
  struct dag_diags *d = ctx->diags;
  for (size_t i = ctx->diags_start + 1; i < d->n; i++) {
    struct dag_diag x = d->items[i];
    size_t j = i;
    while (j > ctx->diags_start &&
           (d->items[j - 1].line > x.line ||
            (d->items[j - 1].line == x.line && d->items[j - 1].col > x.col))) {
      d->items[j] = d->items[j - 1];
      j--;
    }
    d->items[j] = x;
  }
  if (ctx->errors > DAG_YAML_MAX_DIAGS)
    dag_diag_add(d, ctx->file, 0, 0, "too many errors; only the first %d are shown",
                 DAG_YAML_MAX_DIAGS);
}

char *dag_yaml_path_key(const char *prefix, const char *key) {
  return prefix && *prefix ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
}

char *dag_yaml_path_index(const char *prefix, size_t i) {
  return xasprintf("%s[%zu]", prefix, i);
}

/* --- YAML events -> node tree -------------------------------------------- */

struct frame {
  struct dag_ynode *node;
  char *anchor; /* owned; registered when the node is complete */
};

struct builder {
  struct dag_yaml_ctx *ctx;
  const struct dag_yaml_options *opts;
  struct dag_ydoc *doc; /* holds the arena: every node, freed together */
  struct frame *stack;
  size_t depth, cap_stack;
  struct dag_strmap anchors;  /* name -> index into anchor_nodes */
  char **anchor_names;    /* owned; the strmap's keys point here */
  struct dag_ynode **anchor_nodes;
  size_t n_anchors, cap_anchors, cap_anchor_nodes;
  struct dag_ynode *root;
  int docs;
  bool second_doc; /* a second document began: stop at its first node */
  int rc;          /* 0, or why building stopped */
};

static void fatal(struct builder *b, int rc, int line, int col, const char *msg) {
  dag_yaml_err_at(b->ctx, line, col, "%s", msg);
  b->rc = rc;
}

static struct dag_ynode *new_node(struct builder *b, enum dag_ynode_kind kind, yaml_mark_t mark) {
  struct dag_ydoc *d = b->doc;
  if (d->n_nodes >= MAX_NODES) {
    fatal(b, DAG_EINVAL, (int)mark.line + 1, (int)mark.column + 1,
          "document too large (more than 1000000 YAML nodes)");
    return NULL;
  }
  struct dag_ynode *n = xcalloc(1, sizeof(*n));
  n->kind = kind;
  n->line = (int)mark.line + 1;
  n->col = (int)mark.column + 1;
  n->weight = 1;
  d->nodes = xgrow(d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof(*d->nodes));
  d->nodes[d->n_nodes++] = n;
  return n;
}

static void push_item(struct dag_ynode *parent, struct dag_ynode *child) {
  parent->items = xgrow(parent->items, &parent->cap, parent->n + 1, sizeof(*parent->items));
  parent->items[parent->n++] = child;
}

/* The path of the container at stack depth `upto` (exclusive), for
 * diagnostics raised while building, e.g. "tasks[2]". */
static char *stack_path(const struct builder *b, size_t upto) {
  struct strbuf sb = STRBUF_INIT;
  for (size_t k = 0; k + 1 < upto; k++) {
    const struct dag_ynode *c = b->stack[k].node;
    if (c->kind == DAG_YN_SEQ) {
      sb_appendf(&sb, "[%zu]", c->n);
    } else if (c->n % 2 == 1) {
      if (sb.len) sb_appendc(&sb, '.');
      sb_append(&sb, c->items[c->n - 1]->value ? c->items[c->n - 1]->value : "?");
    } else {
      if (sb.len) sb_appendc(&sb, '.');
      sb_append(&sb, "?"); /* a complex key, already an error */
    }
  }
  return sb_detach(&sb);
}

static void attach(struct builder *b, struct dag_ynode *child) {
  if (b->depth == 0) {
    b->root = child;
    return;
  }
  struct dag_ynode *parent = b->stack[b->depth - 1].node;
  push_item(parent, child);
  parent->weight += child->weight;
  if (parent->weight > MAX_NODES) {
    parent->weight = MAX_NODES + 1;
    fatal(b, DAG_EINVAL, child->line, child->col,
          "document too large (more than 1000000 nodes after expanding aliases)");
  }
}

static void register_anchor(struct builder *b, char *name, struct dag_ynode *node) {
  if (name == NULL) return;
  b->anchor_names = xgrow(b->anchor_names, &b->cap_anchors, b->n_anchors + 1,
                          sizeof(*b->anchor_names));
  b->anchor_nodes = xgrow(b->anchor_nodes, &b->cap_anchor_nodes, b->n_anchors + 1,
                          sizeof(*b->anchor_nodes));
  b->anchor_names[b->n_anchors] = name;
  b->anchor_nodes[b->n_anchors] = node;
  /* A redefined anchor refers to the latest node from here on (YAML 1.2). */
  dag_strmap_set(&b->anchors, name, b->n_anchors);
  b->n_anchors++;
}

struct entry {
  struct dag_ynode *key;
  struct dag_ynode *val;
  size_t rank; /* explicit pairs first, in order; then merged ones */
  bool explicit;
};

static int cmp_key(const struct dag_ynode *a, const struct dag_ynode *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->value, b->value, n);
  if (c) return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

static int cmp_entry_key(const void *pa, const void *pb) {
  const struct entry *a = pa, *b = pb;
  int c = cmp_key(a->key, b->key);
  if (c) return c;
  return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static int cmp_entry_rank(const void *pa, const void *pb) {
  const struct entry *a = pa, *b = pb;
  return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static bool is_merge_key(const struct dag_ynode *k) {
  return k->kind == DAG_YN_SCALAR && !k->quoted && k->len == 2 && strcmp(k->value, "<<") == 0;
}

static void add_entry(struct entry **v, size_t *n, size_t *cap, struct dag_ynode *key,
                      struct dag_ynode *val, bool explicit) {
  *v = xgrow(*v, cap, *n + 1, sizeof(**v));
  (*v)[*n] = (struct entry){key, val, *n, explicit};
  (*n)++;
}

/* Apply merge keys and drop duplicate keys (reporting explicit ones). Sorting
 * keeps this O(k log k) for hostile mappings with many keys. */
static void finish_map(struct builder *b, struct dag_ynode *map) {
  size_t pairs = map->n / 2;
  struct entry *v = NULL;
  size_t n = 0, cap = 0;
  char *path = NULL;
  bool merged = false;

  for (size_t i = 0; i < pairs; i++) {
    struct dag_ynode *k = DAG_YN_KEY(map, i), *val = DAG_YN_VAL(map, i);
    if (k->kind != DAG_YN_SCALAR) {
      if (!path) path = stack_path(b, b->depth);
      dag_yaml_err(b->ctx, k, path, "keys must be strings, not %s",
               k->kind == DAG_YN_SEQ ? "lists" : "mappings");
    } else if (strlen(k->value) != k->len) {
      /* Only a "\0" escape makes one; dropping it here lets every later
       * strcmp() on keys be exact. */
      if (!path) path = stack_path(b, b->depth);
      dag_yaml_err(b->ctx, k, path, "keys cannot contain NUL bytes");
    } else if (!is_merge_key(k)) {
      add_entry(&v, &n, &cap, k, val, true);
    }
  }
  /* Merged keys rank after every explicit one, and earlier sources win. */
  for (size_t i = 0; i < pairs; i++) {
    struct dag_ynode *k = DAG_YN_KEY(map, i), *val = DAG_YN_VAL(map, i);
    if (!is_merge_key(k)) continue;
    merged = true;
    size_t n_src = val->kind == DAG_YN_SEQ ? val->n : 1;
    for (size_t s = 0; s < n_src; s++) {
      struct dag_ynode *src = val->kind == DAG_YN_SEQ ? val->items[s] : val;
      if (src->kind != DAG_YN_MAP) {
        if (!path) path = stack_path(b, b->depth);
        char *p = dag_yaml_path_key(path, "<<");
        dag_yaml_err(b->ctx, src, p, "expected a mapping or a list of mappings to merge");
        free(p);
        continue;
      }
      for (size_t j = 0; j < src->n / 2; j++)
        add_entry(&v, &n, &cap, DAG_YN_KEY(src, j), DAG_YN_VAL(src, j), false);
    }
  }

  if (n > 1) qsort(v, n, sizeof(*v), cmp_entry_key);
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (kept > 0 && cmp_key(v[i].key, v[kept - 1].key) == 0) {
      if (v[i].explicit && v[kept - 1].explicit) {
        if (!path) path = stack_path(b, b->depth);
        char *p = dag_yaml_path_key(path, v[i].key->value);
        dag_yaml_err(b->ctx, v[i].key, p, "duplicate key '%s' (first at line %d)",
                 v[i].key->value, v[kept - 1].key->line);
        free(p);
      }
      continue;
    }
    v[kept++] = v[i];
  }
  if (kept > 1) qsort(v, kept, sizeof(*v), cmp_entry_rank);

  if (kept != pairs || merged) {
    free(map->items);
    map->items = xcalloc(kept ? 2 * kept : 1, sizeof(*map->items));
    map->cap = 2 * kept;
    for (size_t i = 0; i < kept; i++) {
      map->items[2 * i] = v[i].key;
      map->items[2 * i + 1] = v[i].val;
    }
    map->n = 2 * kept;
  }
  free(v);
  free(path);
}

static char *dup_anchor(const unsigned char *a) {
  return a ? xstrdup((const char *)a) : NULL;
}

static void on_event(struct builder *b, const yaml_event_t *ev) {
  yaml_mark_t m = ev->start_mark;
  if (b->second_doc) {
    struct dag_yaml_syntax *sx = &b->doc->syntax;
    if (ev->type != YAML_DOCUMENT_END_EVENT && ev->type != YAML_STREAM_END_EVENT) {
      sx->node_line = (int)m.line + 1;
      sx->node_col = (int)m.column + 1;
    }
    b->rc = DAG_EPARSE;
    return;
  }
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++b->docs == 1) break;
    if (b->opts->caller_reports_syntax) {
      b->doc->syntax = (struct dag_yaml_syntax){
          .second_document = true, .line = (int)m.line + 1, .col = (int)m.column + 1};
      b->second_doc = true;
    } else {
      char *msg = xasprintf("only one YAML document is allowed%s%s",
                            b->opts->what ? " per " : "", b->opts->what ? b->opts->what : "");
      fatal(b, DAG_EPARSE, (int)m.line + 1, (int)m.column + 1, msg);
      free(msg);
    }
    break;
  case YAML_SCALAR_EVENT: {
    struct dag_ynode *n = new_node(b, DAG_YN_SCALAR, m);
    if (!n) return;
    const char *tag = (const char *)ev->data.scalar.tag;
    n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    n->len = ev->data.scalar.length;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (tag && (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0));
    attach(b, n);
    register_anchor(b, dup_anchor(ev->data.scalar.anchor), n);
    break;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    if (b->depth >= MAX_DEPTH) {
      fatal(b, DAG_EINVAL, (int)m.line + 1, (int)m.column + 1,
            "nested deeper than 64 levels");
      return;
    }
    bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
    struct dag_ynode *n = new_node(b, seq ? DAG_YN_SEQ : DAG_YN_MAP, m);
    if (!n) return;
    b->stack = xgrow(b->stack, &b->cap_stack, b->depth + 1, sizeof(*b->stack));
    b->stack[b->depth].node = n;
    b->stack[b->depth].anchor =
        dup_anchor(seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor);
    b->depth++;
    break;
  }
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: {
    struct frame f = b->stack[b->depth - 1];
    if (f.node->kind == DAG_YN_MAP && !b->opts->as_written) finish_map(b, f.node);
    b->depth--;
    attach(b, f.node);
    register_anchor(b, f.anchor, f.node);
    break;
  }
  case YAML_ALIAS_EVENT: {
    size_t idx;
    const char *name = (const char *)ev->data.alias.anchor;
    if (!dag_strmap_get(&b->anchors, name, &idx)) {
      /* Also catches "&a [*a]": anchors are registered when complete, so
       * the tree can never contain a cycle. */
      char *msg = xasprintf("unknown anchor '%s'", name);
      fatal(b, DAG_EPARSE, (int)m.line + 1, (int)m.column + 1, msg);
      free(msg);
      return;
    }
    attach(b, b->anchor_nodes[idx]);
    break;
  }
  default:
    break;
  }
}

/* Line and column (1-based) of a byte offset, for reader errors, which
 * libyaml reports by offset only. */
static void offset_to_mark(const char *buf, size_t len, size_t off, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (buf[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

/* The byte at a 1-based line/column, assuming ASCII before it on its line. */
static int byte_at(const char *buf, size_t len, int line, int col) {
  size_t i = 0;
  for (int l = 1; l < line && i < len; i++)
    if (buf[i] == '\n') l++;
  i += (size_t)(col - 1);
  return i < len ? (unsigned char)buf[i] : -1;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p, const char *buf,
                         size_t len) {
  const char *problem = p->problem ? p->problem : "invalid YAML";
  bool encoding = p->error == YAML_READER_ERROR;
  int line, col;
  if (encoding) {
    offset_to_mark(buf, len, p->problem_offset, &line, &col);
  } else {
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
  }
  if (b->opts->caller_reports_syntax) {
    if (!b->second_doc)
      b->doc->syntax = (struct dag_yaml_syntax){
          .line = line, .col = col, .problem = xstrdup(problem),
          .context = p->context && !encoding ? xstrdup(p->context) : NULL,
          .context_line = (int)p->context_mark.line + 1,
          .context_col = (int)p->context_mark.column + 1, .encoding = encoding};
    b->rc = DAG_EPARSE;
    return;
  }
  struct strbuf sb = STRBUF_INIT;
  sb_appendf(&sb, "syntax error: %s", problem);
  if (encoding) {
    if (p->problem_value != -1) sb_appendf(&sb, " 0x%02x", p->problem_value & 0xff);
    sb_appendf(&sb, " (%ss must be UTF-8)", b->opts->what ? b->opts->what : "YAML file");
  } else {
    if (p->context)
      sb_appendf(&sb, " (%s at line %d, column %d)", p->context,
                 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    /* The two mistakes people make most in YAML files, spelled out. */
    int c = byte_at(buf, len, line, col);
    if (c == '@' || c == '`')
      sb_appendf(&sb, "; quote values that start with '%c', e.g. \"@daily\"", c);
    else if (c == '\t')
      sb_append(&sb, "; indent with spaces, YAML does not allow tabs");
  }
  fatal(b, DAG_EPARSE, line, col, sb_str(&sb));
  sb_free(&sb);
}

static void builder_free(struct builder *b) {
  for (size_t i = 0; i < b->depth; i++) free(b->stack[i].anchor);
  free(b->stack);
  for (size_t i = 0; i < b->n_anchors; i++) free(b->anchor_names[i]);
  free(b->anchor_names);
  free(b->anchor_nodes);
  dag_strmap_free(&b->anchors);
}

void dag_ydoc_free(struct dag_ydoc *doc) {
  for (size_t i = 0; i < doc->n_nodes; i++) {
    free(doc->nodes[i]->value);
    free(doc->nodes[i]->items);
    free(doc->nodes[i]);
  }
  free(doc->nodes);
  free(doc->syntax.problem);
  free(doc->syntax.context);
  memset(doc, 0, sizeof(*doc));
}

int dag_yaml_parse(struct dag_yaml_ctx *ctx, const char *buf, size_t len,
                   const struct dag_yaml_options *opts, struct dag_ydoc *doc) {
  static const struct dag_yaml_options defaults;
  memset(doc, 0, sizeof(*doc));
  if (len > DAG_YAML_MAX_SIZE) {
    dag_yaml_err_at(ctx, 0, 0, "file is larger than 16 MiB");
    return DAG_EINVAL;
  }
  struct builder b = {.ctx = ctx, .opts = opts ? opts : &defaults, .doc = doc};
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    fatal(&b, -ENOMEM, 0, 0, "out of memory initialising the YAML parser");
    return b.rc;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      syntax_error(&b, &parser, buf, len);
      break;
    }
    bool end = ev.type == YAML_STREAM_END_EVENT;
    on_event(&b, &ev);
    yaml_event_delete(&ev);
    if (end || b.rc) break;
  }
  yaml_parser_delete(&parser);
  if (b.rc == 0) doc->root = b.root;
  builder_free(&b);
  return b.rc;
}

/* --- typed access ---------------------------------------------------------- */

static bool is_one_of(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0) return true;
  return false;
}

static bool all_in(const char *s, const char *set) {
  if (*s == '\0') return false;
  for (; *s; s++)
    if (!strchr(set, *s)) return false;
  return true;
}

#define DIGITS "0123456789"

static bool looks_int(const char *s) {
  if (strncmp(s, "0o", 2) == 0) return all_in(s + 2, "01234567");
  if (strncmp(s, "0x", 2) == 0) return all_in(s + 2, DIGITS "abcdefABCDEF");
  if (*s == '-' || *s == '+') s++;
  return all_in(s, DIGITS);
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool looks_float(const char *s) {
  static const char *const special[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF",
                                        "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
  if (is_one_of(s, special, DAG_ARRAY_SIZE(special))) return true;
  if (*s == '-' || *s == '+') s++;
  size_t int_digits = strspn(s, DIGITS);
  s += int_digits;
  size_t frac_digits = 0;
  if (*s == '.') {
    s++;
    frac_digits = strspn(s, DIGITS);
    s += frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    size_t exp_digits = strspn(s, DIGITS);
    if (exp_digits == 0) return false;
    s += exp_digits;
  }
  return *s == '\0';
}

const struct dag_ynode *dag_yaml_get(const struct dag_ynode *map, const char *key) {
  if (map == NULL || map->kind != DAG_YN_MAP) return NULL;
  for (size_t i = 0; i < map->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(map, i);
    if (k->kind == DAG_YN_SCALAR && strcmp(k->value, key) == 0) return DAG_YN_VAL(map, i);
  }
  return NULL;
}

const char *dag_yaml_scalar(const struct dag_ynode *n) {
  return n && n->kind == DAG_YN_SCALAR ? n->value : NULL;
}

enum dag_yscalar dag_yaml_scalar_type(const struct dag_ynode *n) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
  static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
  if (n->kind != DAG_YN_SCALAR || n->quoted) return DAG_YS_STR;
  if (is_one_of(n->value, nulls, DAG_ARRAY_SIZE(nulls))) return DAG_YS_NULL;
  if (is_one_of(n->value, bools, DAG_ARRAY_SIZE(bools))) return DAG_YS_BOOL;
  if (looks_int(n->value)) return DAG_YS_INT;
  if (looks_float(n->value)) return DAG_YS_FLOAT;
  return DAG_YS_STR;
}

bool dag_yaml_is_null(const struct dag_ynode *n) {
  return n->kind == DAG_YN_SCALAR && dag_yaml_scalar_type(n) == DAG_YS_NULL;
}

/* 0, or -ERANGE. Only for text that looks_int(). */
static int parse_int(const char *s, long long *out) {
  int base = 10;
  if (strncmp(s, "0o", 2) == 0) {
    base = 8;
    s += 2;
  } else if (strncmp(s, "0x", 2) == 0) {
    base = 16;
    s += 2;
  }
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, base);
  if (errno == ERANGE) return -ERANGE;
  *out = v;
  return 0;
}

char *dag_yaml_describe(const struct dag_ynode *n) {
  if (n->kind == DAG_YN_MAP) return xstrdup("a mapping");
  if (n->kind == DAG_YN_SEQ) return xstrdup("a list");
  if (dag_yaml_scalar_type(n) == DAG_YS_NULL) return xstrdup("null");
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, n->quoted ? "a quoted string '" : "'");
  size_t show = n->len > 40 ? 37 : n->len;
  for (size_t i = 0; i < show; i++) {
    unsigned char c = (unsigned char)n->value[i];
    sb_appendc(&sb, c < 0x20 || c == 0x7f ? '?' : (char)c);
  }
  if (show < n->len) sb_append(&sb, "...");
  sb_appendc(&sb, '\'');
  return sb_detach(&sb);
}

static void type_error(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                       const char *expected) {
  char *got = dag_yaml_describe(n);
  dag_yaml_err(ctx, n, path, "expected %s, got %s", expected, got);
  free(got);
}

bool dag_yaml_get_int(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                  long long min, long long max, int *out) {
  long long v;
  if (dag_yaml_scalar_type(n) != DAG_YS_INT) {
    type_error(ctx, n, path, "an integer");
    return false;
  }
  if (parse_int(n->value, &v) != 0) {
    dag_yaml_err(ctx, n, path, "%s is out of range", n->value);
    return false;
  }
  if (v < min) {
    dag_yaml_err(ctx, n, path, "must be >= %lld, got %lld", min, v);
    return false;
  }
  if (v > max) {
    dag_yaml_err(ctx, n, path, "must be <= %lld, got %lld", max, v);
    return false;
  }
  *out = (int)v;
  return true;
}

bool dag_yaml_get_bool(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                   bool *out) {
  if (n->kind != DAG_YN_SCALAR || dag_yaml_scalar_type(n) != DAG_YS_BOOL) {
    type_error(ctx, n, path, "true or false");
    return false;
  }
  *out = n->value[0] == 't' || n->value[0] == 'T';
  return true;
}

bool dag_yaml_get_string(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                     char **out) {
  if (n->kind != DAG_YN_SCALAR || dag_yaml_scalar_type(n) == DAG_YS_NULL) {
    type_error(ctx, n, path, "a string");
    return false;
  }
  if (strlen(n->value) != n->len) {
    dag_yaml_err(ctx, n, path, "strings cannot contain NUL bytes");
    return false;
  }
  *out = xstrndup(n->value, n->len);
  return true;
}

bool dag_yaml_get_duration(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                       int64_t *out) {
  if (n->kind != DAG_YN_SCALAR || dag_yaml_scalar_type(n) == DAG_YS_NULL) {
    type_error(ctx, n, path, "a duration such as 30s, 5m or 1h30m");
    return false;
  }
  int rc = strlen(n->value) != n->len ? DAG_EINVAL : dag_duration_parse(n->value, out);
  if (rc != 0) {
    char *got = dag_yaml_describe(n);
    if (rc == -ERANGE)
      dag_yaml_err(ctx, n, path, "duration %s is " DAG_DURATION_TOO_LONG, got);
    else
      dag_yaml_err(ctx, n, path, "invalid duration %s (use e.g. 30s, 5m, 1h30m)", got);
    free(got);
    return false;
  }
  return true;
}

static json_t *scalar_to_json(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path) {
  switch (dag_yaml_scalar_type(n)) {
  case DAG_YS_NULL:
    return json_null();
  case DAG_YS_BOOL:
    return json_boolean(n->value[0] == 't' || n->value[0] == 'T');
  case DAG_YS_INT: {
    long long v;
    if (parse_int(n->value, &v) != 0) {
      dag_yaml_err(ctx, n, path, "integer %s is out of range", n->value);
      return NULL;
    }
    return json_integer(v);
  }
  case DAG_YS_FLOAT: {
    /* JSON has no infinities or NaN; a value that only YAML can hold is an
     * error rather than a silent change. */
    const char *digits = n->value + strspn(n->value, "+-");
    errno = 0;
    double d = strtod(n->value, NULL);
    json_t *j = *digits == '.' && strchr("iInN", digits[1]) ? NULL : json_real(d);
    if (j == NULL || errno == ERANGE) {
      json_decref(j);
      dag_yaml_err(ctx, n, path, "%s cannot be represented in JSON (quote it for a string)",
               n->value);
      return NULL;
    }
    return j;
  }
  case DAG_YS_STR:
    break;
  }
  json_t *s = json_stringn(n->value, n->len);
  if (s == NULL) dag_yaml_err(ctx, n, path, "string is not valid UTF-8");
  return s;
}

/* `top` is the path the conversion started from: past the depth limit, the
 * full path would be a line of 64 "[0]"s. */
static json_t *to_json(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path,
                       const char *top, int depth) {
  /* Aliases can nest a node deeper than it was written; the weight limit
   * bounds the work, this bounds the stack. */
  if (depth > MAX_DEPTH) {
    dag_yaml_err(ctx, n, top, "nested deeper than %d levels (through aliases)", MAX_DEPTH);
    return NULL;
  }
  if (n->kind == DAG_YN_SCALAR) return scalar_to_json(ctx, n, path);
  bool ok = true;
  json_t *out = n->kind == DAG_YN_SEQ ? json_array() : json_object();
  size_t count = n->kind == DAG_YN_SEQ ? n->n : n->n / 2;
  for (size_t i = 0; i < count && !dag_yaml_saturated(ctx); i++) {
    const struct dag_ynode *k = n->kind == DAG_YN_MAP ? DAG_YN_KEY(n, i) : NULL;
    const struct dag_ynode *v = n->kind == DAG_YN_MAP ? DAG_YN_VAL(n, i) : n->items[i];
    if (k && k->kind != DAG_YN_SCALAR) {
      /* Only in a mapping read as written; otherwise dropped when built. */
      dag_yaml_err(ctx, k, path, "keys must be strings, not %s",
                   k->kind == DAG_YN_SEQ ? "lists" : "mappings");
      ok = false;
      continue;
    }
    char *p = k ? dag_yaml_path_key(path, k->value) : dag_yaml_path_index(path, i);
    json_t *j = to_json(ctx, v, p, top, depth + 1);
    if (j == NULL) {
      ok = false;
    } else if (k == NULL) {
      json_array_append_new(out, j);
    } else if (json_object_set_new(out, k->value, j) != 0) {
      dag_yaml_err(ctx, k, p, "key is not valid UTF-8");
      ok = false;
    }
    free(p);
  }
  if (!ok) {
    json_decref(out);
    return NULL;
  }
  return out;
}

json_t *dag_yaml_to_json(struct dag_yaml_ctx *ctx, const struct dag_ynode *n, const char *path) {
  return to_json(ctx, n, path, path, 0);
}

/* --- files ---------------------------------------------------------------- */

int dag_yaml_read_file(const char *path, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return -EISDIR;
  }
  size_t cap = st.st_size > 0 && (size_t)st.st_size <= DAG_YAML_MAX_SIZE ? (size_t)st.st_size + 1
                                                                     : 4096;
  char *buf = xmalloc(cap);
  size_t n = 0;
  for (;;) {
    if (n == cap) buf = xgrow(buf, &cap, n + 1, 1);
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = -errno;
      free(buf);
      close(fd);
      return e;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n > DAG_YAML_MAX_SIZE) {
      free(buf);
      close(fd);
      return -EFBIG;
    }
  }
  close(fd);
  *out = buf;
  *len = n;
  return 0;
}


int dag_yaml_parse_file(struct dag_yaml_ctx *ctx, const char *path,
                        const struct dag_yaml_options *opts, struct dag_ydoc *doc) {
  char *buf = NULL;
  size_t len = 0;
  memset(doc, 0, sizeof(*doc));
  int rc = dag_yaml_read_file(path, &buf, &len);
  if (rc == -EFBIG) {
    dag_yaml_err_at(ctx, 0, 0, "file is larger than 16 MiB");
    return DAG_EINVAL;
  }
  if (rc != 0) {
    dag_yaml_err_at(ctx, 0, 0, "cannot read: %s", strerror(-rc));
    return rc;
  }
  rc = dag_yaml_parse(ctx, buf, len, opts, doc);
  free(buf);
  return rc;
}
