/* dbt_exec.c - selection, compile, run and test (see dbt.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "dbt_int.h"
#include "error.h"
#include "fsutil.h"

enum { L_DEBUG, L_INFO, L_WARN, L_ERROR };

/* --- selection ------------------------------------------------------------------ */

static bool under_dir(const char *dir, const char *want) {
  size_t n = strlen(want);
  return strncmp(dir, want, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static bool matches(const struct dbt_model *m, const char *method, const char *value) {
  if (strcmp(method, "tag") == 0) {
    size_t n = strlen(value);
    for (const char *t = m->tags; *t;) {
      size_t len = strcspn(t, ",");
      if (len == n && strncmp(t, value, n) == 0) return true;
      t += len + (t[len] == ',');
    }
    return false;
  }
  if (strcmp(method, "path") == 0) {
    size_t n = strlen(value);
    while (n && value[n - 1] == '/')
      n--;
    return strncmp(m->path, value, n) == 0 && (m->path[n] == '\0' || m->path[n] == '/');
  }
  /* fqn (the default): the model's name, or a folder of it, written with
   * '/' or dbt's '.'. */
  if (strcmp(value, "*") == 0 || strcmp(m->name, value) == 0) return true;
  char *dotted = xstrdup(value);
  for (char *c = dotted; *c; c++)
    if (*c == '.') *c = '/';
  bool ok = *m->dir && under_dir(m->dir, dotted);
  free(dotted);
  return ok;
}

static void mark_up(const struct dbt_project *p, size_t i, bool *sel) {
  for (size_t d = 0; d < p->models[i].n_deps; d++) {
    size_t j = p->models[i].deps[d];
    if (!sel[j]) {
      sel[j] = true;
      mark_up(p, j, sel);
    }
  }
}

static void mark_down(const struct dbt_project *p, size_t i, bool *sel) {
  for (size_t j = 0; j < p->n_models; j++)
    for (size_t d = 0; d < p->models[j].n_deps; d++)
      if (p->models[j].deps[d] == i && !sel[j]) {
        sel[j] = true;
        mark_down(p, j, sel);
      }
}

bool *dbt__select(const struct dbt_project *p, const char *select, bool *with_sources,
                  char **err) {
  bool *sel = xcalloc(p->n_models + 1, sizeof(*sel));
  *with_sources = false;
  if (select == NULL || select[strspn(select, " \t")] == '\0') {
    for (size_t i = 0; i < p->n_models; i++)
      sel[i] = true;
    *with_sources = true;
    return sel;
  }
  char *copy = xstrdup(select);
  bool ok = true;
  for (char *tok = copy; ok && *tok;) {
    tok += strspn(tok, " \t\n");
    if (*tok == '\0') break;
    size_t len = strcspn(tok, " \t\n");
    char save = tok[len];
    tok[len] = '\0';
    char *t = tok;
    bool up = *t == '+';
    if (up) t++;
    size_t tl = strlen(t);
    bool down = tl && t[tl - 1] == '+';
    if (down) t[--tl] = '\0';
    const char *method = "fqn", *value = t;
    char *colon = strchr(t, ':');
    if (strchr(t, ',')) {
      *err = xasprintf("selector '%s': intersections (a,b) are not supported", tok);
      ok = false;
    } else if (colon) {
      *colon = '\0';
      method = t;
      value = colon + 1;
      if (strcmp(method, "tag") != 0 && strcmp(method, "path") != 0 &&
          strcmp(method, "fqn") != 0 && strcmp(method, "source") != 0) {
        *err = xasprintf("selector method '%s:' is not supported (tag:, path:, fqn:, "
                         "source:)",
                         method);
        ok = false;
      }
    }
    if (ok && strcmp(method, "source") == 0) {
      /* Only the source's own tests: models built on it are selected by
       * name or folder. */
      bool known = false;
      for (size_t i = 0; i < p->n_sources; i++)
        known = known || strcmp(p->sources[i].source, value) == 0;
      if (!known) {
        *err = xasprintf("selector 'source:%s' matched no source", value);
        ok = false;
      }
      *with_sources = true;
    } else if (ok) {
      bool any = false;
      for (size_t i = 0; i < p->n_models; i++) {
        if (!matches(&p->models[i], method, value)) continue;
        any = true;
        sel[i] = true;
        if (up) mark_up(p, i, sel);
        if (down) mark_down(p, i, sel);
      }
      if (!any) {
        *err = xasprintf("selector '%s%s%s%s%s' matched no model", up ? "+" : "",
                         strcmp(method, "fqn") ? method : "", strcmp(method, "fqn") ? ":" : "",
                         value, down ? "+" : "");
        ok = false;
      }
    }
    tok[len] = save;
    tok += len;
  }
  free(copy);
  if (!ok) {
    free(sel);
    return NULL;
  }
  return sel;
}

char *dbt_plan(const struct dbt_project *p, const char *select, char **err) {
  bool with_sources;
  bool *sel = select ? dbt__select(p, select, &with_sources, err) : NULL;
  if (select && sel == NULL) return NULL;
  struct strbuf sb = STRBUF_INIT;
  for (size_t k = 0; k < p->n_models; k++) {
    size_t i = p->order[k];
    if (sel && !sel[i]) continue;
    if (sb.len) sb_appendc(&sb, ' ');
    sb_append(&sb, p->models[i].name);
  }
  free(sel);
  char *s = sb_detach(&sb);
  return s ? s : xstrdup("");
}

/* --- compile ------------------------------------------------------------------------- */

static int write_file(const char *path, const char *text, char **err) {
  int rc = dag_fs_mkdir_parents(path);
  char *tmp = xasprintf("%s.tmp", path);
  FILE *fp = rc == 0 ? fopen(tmp, "wb") : NULL;
  if (fp == NULL) {
    rc = rc ? rc : -errno;
    *err = xasprintf("cannot write %s: %s", path, strerror(-rc));
    free(tmp);
    return rc;
  }
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, fp) == n;
  if (n && text[n - 1] != '\n') ok = ok && fputc('\n', fp) != EOF;
  ok = fclose(fp) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    rc = -(errno ? errno : EIO);
    *err = xasprintf("cannot write %s: %s", path, strerror(-rc));
    unlink(tmp);
  }
  free(tmp);
  return rc;
}

int dbt_compile(struct dbt_project *p, const char *select, char **err) {
  bool with_sources;
  bool *sel = dbt__select(p, select, &with_sources, err);
  if (sel == NULL) return DAG_EINVAL;
  int rc = 0, n = 0, nt = 0;
  for (size_t k = 0; rc == 0 && k < p->n_models; k++) {
    size_t i = p->order[k];
    if (!sel[i]) continue;
    char *path = xasprintf("%s/compiled/%s/%s", p->target_dir, p->name, p->models[i].path);
    rc = write_file(path, p->models[i].compiled, err);
    free(path);
    n++;
  }
  for (size_t i = 0; rc == 0 && i < p->n_tests; i++) {
    const struct dbt_test *t = &p->tests[i];
    if (t->model >= 0 ? !sel[t->model] : !with_sources) continue;
    char *path = xasprintf("%s/compiled/%s/%s/%s.sql", p->target_dir, p->name, t->file, t->name);
    rc = write_file(path, t->sql, err);
    free(path);
    nt++;
  }
  free(sel);
  if (rc == 0)
    dbt__log(p, L_INFO, "compiled %d models and %d tests into %s/compiled/%s", n, nt,
             p->target_dir, p->name);
  return rc;
}

/* --- run ------------------------------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The model's SQL without a final ';' (it goes inside CREATE ... AS). */
static char *body_sql(const char *sql) {
  size_t n = strlen(sql);
  while (n && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\n' ||
               sql[n - 1] == '\t' || sql[n - 1] == '\r'))
    n--;
  return xstrndup(sql, n);
}

/* The model's `indexes` config on its table, named ALIAS__idxN (the old
 * table's went with it when the new one was swapped in). */
static int create_indexes(struct wh *w, const struct dbt_model *m, char **err) {
  size_t i, k;
  json_t *ix, *col;
  int rc = 0;
  json_array_foreach(m->indexes, i, ix) {
    if (rc < 0) break;
    struct strbuf cols = STRBUF_INIT;
    json_array_foreach(json_object_get(ix, "columns"), k, col)
        sb_appendf(&cols, "%s%s", k ? ", " : "", json_string_value(col));
    const char *uniq = json_is_true(json_object_get(ix, "unique")) ? "UNIQUE " : "";
    /* SQLite names the index's schema, PostgreSQL the table's. */
    char *sql = wh_backend(w) == WH_SQLITE
                    ? xasprintf("CREATE %sINDEX IF NOT EXISTS %s.%s__idx%zu ON %s (%s)", uniq,
                                m->schema, m->alias, i + 1, m->alias, sb_str(&cols))
                    : xasprintf("CREATE %sINDEX IF NOT EXISTS %s__idx%zu ON %s.%s (%s)", uniq,
                                m->alias, i + 1, m->schema, m->alias, sb_str(&cols));
    rc = wh_exec(w, sql, err);
    free(sql);
    sb_free(&cols);
  }
  return rc;
}

/* Build schema.alias from `sql` as a new table swapped in. `stage`: compute
 * the rows into a temporary table first, so that on SQLite, where a schema
 * file has one writer at a time, models built side by side hold their
 * schema's write lock only to copy the result, not while computing it. */
static int build_table(struct wh *w, const struct dbt_model *m, const char *sql_text,
                       bool stage, char **rows, char **err) {
  char *tmp = xasprintf("%s__dbt_tmp", m->alias);
  char *body = body_sql(sql_text);
  int rc = wh_ensure_schema(w, m->schema, err);
  if (rc == 0) rc = wh_drop_relation(w, m->schema, tmp, err);
  if (rc == 0 && stage) {
    char *sql = xasprintf("DROP TABLE IF EXISTS temp.%s__dbt_stage;"
                          "CREATE TEMP TABLE %s__dbt_stage AS\n%s",
                          m->alias, m->alias, body);
    rc = wh_exec(w, sql, err);
    free(sql);
    free(body);
    body = xasprintf("SELECT * FROM temp.%s__dbt_stage", m->alias);
  }
  if (rc == 0) {
    char *sql = xasprintf("CREATE TABLE %s.%s AS\n%s", m->schema, tmp, body);
    rc = wh_exec(w, sql, err);
    free(sql);
  }
  if (stage) {
    char *sql = xasprintf("DROP TABLE IF EXISTS temp.%s__dbt_stage", m->alias);
    char *e2 = NULL;
    wh_exec(w, sql, &e2); /* best effort: the connection's temporary tables go with it */
    free(e2);
    free(sql);
  }
  if (rc == 0) {
    char *sql = xasprintf("SELECT COUNT(*) FROM %s.%s", m->schema, tmp);
    rc = wh_query_value(w, sql, NULL, 0, rows, err);
    free(sql);
  }
  if (rc == 0) rc = wh_swap_table(w, m->schema, m->alias, tmp, err);
  if (rc < 0) {
    char *e2 = NULL;
    wh_drop_relation(w, m->schema, tmp, &e2); /* best effort: the old table stays */
    free(e2);
  }
  if (rc == 0) rc = create_indexes(w, m, err);
  free(body);
  free(tmp);
  return rc;
}

/* dbt's incremental materialization: the first time (or when the relation
 * is not a table) a full build; then the model's rows with is_incremental()
 * true go into a temporary table, and in one transaction the table's rows
 * with the same unique_key are deleted and the new ones inserted (dbt's
 * delete+insert strategy; without unique_key, an append). *rows: the rows
 * added. */
static int build_incremental(struct wh *w, const struct dbt_model *m, bool stage,
                             bool full_refresh, bool *full, char **rows, char **err) {
  enum wh_relkind kind;
  int rc = wh_ensure_schema(w, m->schema, err);
  if (rc == 0) rc = wh_relation_kind(w, m->schema, m->alias, &kind, err);
  if (rc < 0) return rc;
  *full = kind != WH_REL_TABLE || full_refresh;
  if (*full) return build_table(w, m, m->compiled, stage, rows, err);
  char *tmp = xasprintf("%s__dbt_incr", m->alias);
  char *body = body_sql(m->compiled_incremental);
  char *sql = xasprintf("DROP TABLE IF EXISTS %s%s;\nCREATE TEMPORARY TABLE %s AS\n%s",
                        wh_backend(w) == WH_SQLITE ? "temp." : "pg_temp.", tmp, tmp, body);
  rc = wh_exec(w, sql, err);
  free(sql);
  free(body);
  if (rc == 0) {
    sql = xasprintf("SELECT COUNT(*) FROM %s", tmp);
    rc = wh_query_value(w, sql, NULL, 0, rows, err);
    free(sql);
  }
  if (rc == 0) rc = wh_begin(w, err);
  if (rc == 0) {
    if (m->unique_key) {
      bool several = strchr(m->unique_key, ',') != NULL;
      sql = xasprintf("DELETE FROM %s.%s WHERE %s%s%s IN (SELECT %s FROM %s)", m->schema,
                      m->alias, several ? "(" : "", m->unique_key, several ? ")" : "",
                      m->unique_key, tmp);
      rc = wh_exec(w, sql, err);
      free(sql);
    }
    if (rc == 0) {
      /* In unique_key order: the new keys then reach the table's index on
       * it (the one a unique_key wants) from left to right, each page of
       * it once, instead of a random page per row (bench/README.md,
       * "Warehouse"). */
      sql = xasprintf("INSERT INTO %s.%s SELECT * FROM %s%s%s", m->schema, m->alias, tmp,
                      m->unique_key ? " ORDER BY " : "", m->unique_key ? m->unique_key : "");
      rc = wh_exec(w, sql, err);
      free(sql);
    }
    if (rc == 0) rc = wh_commit(w, err);
    if (rc < 0) wh_rollback(w);
  }
  /* An index added to the config since the table was built. */
  if (rc == 0) rc = create_indexes(w, m, err);
  sql = xasprintf("DROP TABLE IF EXISTS %s%s", wh_backend(w) == WH_SQLITE ? "temp." : "pg_temp.",
                  tmp);
  char *e2 = NULL;
  wh_exec(w, sql, &e2); /* best effort: temporary tables end with the connection */
  free(e2);
  free(sql);
  free(tmp);
  return rc;
}

static int build_view(struct wh *w, const struct dbt_model *m, char **err) {
  char *body = body_sql(m->compiled);
  int rc = wh_ensure_schema(w, m->schema, err);
  if (rc == 0) rc = wh_begin(w, err);
  if (rc == 0) {
    rc = wh_drop_relation(w, m->schema, m->alias, err);
    if (rc == 0) {
      char *sql = xasprintf("CREATE VIEW %s.%s AS\n%s", m->schema, m->alias, body);
      rc = wh_exec(w, sql, err);
      free(sql);
    }
    if (rc == 0) rc = wh_commit(w, err);
    if (rc < 0) wh_rollback(w);
  }
  free(body);
  return rc;
}

static bool cancelled(const struct dbt_project *p) {
  return p->opts.cancelled && p->opts.cancelled(p->opts.cancel_ud);
}

/* One model built on `w`, with its START and OK/ERROR lines (logged under
 * `lock` when one is given: workers share the log). Returns 0 or <0. */
static int build_one(struct dbt_project *p, struct wh *w, struct dbt_model *m, int k_run,
                     int total, bool stage, pthread_mutex_t *lock) {
  if (lock) pthread_mutex_lock(lock);
  dbt__log(p, L_INFO, "%d of %d START %s model %s", k_run, total, m->materialized,
           m->relation);
  if (lock) pthread_mutex_unlock(lock);
  double t0 = now_s();
  char *rows = NULL, *merr = NULL;
  bool full = true;
  int rc = strcmp(m->materialized, "view") == 0 ? build_view(w, m, &merr)
           : strcmp(m->materialized, "incremental") == 0
               ? build_incremental(w, m, stage, p->opts.full_refresh, &full, &rows, &merr)
               : build_table(w, m, m->compiled, stage, &rows, &merr);
  if (lock) pthread_mutex_lock(lock);
  if (rc == 0 && rows && !full)
    dbt__log(p, L_INFO, "%d of %d OK added to incremental model %s [%s rows in %.2fs]", k_run,
             total, m->relation, rows, now_s() - t0);
  else if (rc == 0 && rows)
    dbt__log(p, L_INFO, "%d of %d OK created %s model %s [%s rows in %.2fs]", k_run, total,
             strcmp(m->materialized, "incremental") == 0 ? "incremental" : "table", m->relation,
             rows, now_s() - t0);
  else if (rc == 0)
    dbt__log(p, L_INFO, "%d of %d OK created view model %s [in %.2fs]", k_run, total,
             m->relation, now_s() - t0);
  else
    dbt__log(p, L_ERROR, "%d of %d ERROR creating %s model %s (%s): %s", k_run, total,
             m->materialized, m->relation, m->path, merr);
  if (lock) pthread_mutex_unlock(lock);
  free(rows);
  free(merr);
  return rc;
}

enum { M_PENDING, M_OK, M_FAILED, M_RUNNING }; /* M_FAILED: failed or skipped */

/* What the models' builders share (threads > 1). */
struct run {
  struct dbt_project *p;
  const bool *sel;
  int *state;
  int total, k_run;
  bool stop, stage;
  struct dbt_run_result *res;
  pthread_mutex_t lock;
  pthread_cond_t changed;
};

/* Under r->lock: the next selected model whose selected upstream models
 * are built, marking the ones an upstream failure blocks; -1 when none is
 * ready now, -2 when none is left. */
static long next_model(struct run *r) {
  struct dbt_project *p = r->p;
  bool left = false;
  for (size_t k = 0; k < p->n_models; k++) {
    size_t i = p->order[k];
    struct dbt_model *m = &p->models[i];
    if (!r->sel[i] || !m->enabled || r->state[i] != M_PENDING) continue;
    if (r->stop || cancelled(p)) {
      r->stop = true;
      r->state[i] = M_FAILED;
      r->res->skipped++;
      r->k_run++;
      continue;
    }
    const char *blocked = NULL;
    bool waiting = false;
    for (size_t d = 0; d < m->n_deps; d++) {
      size_t j = m->deps[d];
      if (!r->sel[j] || !p->models[j].enabled) continue; /* not in this run: as it is */
      if (r->state[j] == M_FAILED) blocked = p->models[j].name;
      if (r->state[j] == M_PENDING || r->state[j] == M_RUNNING) waiting = true;
    }
    if (blocked) {
      r->state[i] = M_FAILED;
      r->res->skipped++;
      r->k_run++;
      dbt__log(p, L_WARN, "%d of %d SKIP %s model %s (upstream %s failed)", r->k_run,
               r->total, m->materialized, m->relation, blocked);
      continue;
    }
    left = true;
    if (!waiting) return (long)i;
  }
  for (size_t i = 0; i < p->n_models && !left; i++)
    left = r->state[i] == M_RUNNING;
  return left ? -1 : -2;
}

struct worker {
  struct run *r;
  struct wh *w;
  pthread_t tid;
  bool started;
};

static void *work(void *arg) {
  struct worker *wk = arg;
  struct run *r = wk->r;
  pthread_mutex_lock(&r->lock);
  for (;;) {
    long i = next_model(r);
    if (i == -2) break;
    if (i == -1) {
      pthread_cond_wait(&r->changed, &r->lock);
      continue;
    }
    r->state[i] = M_RUNNING;
    int k_run = ++r->k_run;
    pthread_mutex_unlock(&r->lock);
    int rc = build_one(r->p, wk->w, &r->p->models[i], k_run, r->total, r->stage, &r->lock);
    pthread_mutex_lock(&r->lock);
    r->state[i] = rc == 0 ? M_OK : M_FAILED;
    if (rc == 0)
      r->res->ok++;
    else
      r->res->failed++;
    pthread_cond_broadcast(&r->changed);
  }
  pthread_cond_broadcast(&r->changed);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

int dbt_run(struct dbt_project *p, struct wh *w, const char *select,
            struct dbt_run_result *res, char **err) {
  memset(res, 0, sizeof(*res));
  bool with_sources;
  bool *sel = dbt__select(p, select, &with_sources, err);
  if (sel == NULL) return DAG_EINVAL;
  struct run r = {.p = p, .sel = sel, .res = res};
  r.state = xcalloc(p->n_models + 1, sizeof(*r.state));
  for (size_t i = 0; i < p->n_models; i++)
    r.total += sel[i] && p->models[i].enabled;
  int threads = p->opts.threads > 1 ? p->opts.threads : 1;
  if (threads > r.total) threads = r.total > 1 ? r.total : 1;
  double started = now_s();
  dbt__log(p, L_INFO, "running %d models of project %s with %d thread%s", r.total, p->name,
           threads, threads == 1 ? "" : "s");
  /* Each thread its own connection: the caller's, then new ones. */
  struct worker *wk = xcalloc((size_t)threads, sizeof(*wk));
  wk[0].w = w;
  int n = 1;
  for (; n < threads && p->opts.wh_opts; n++) {
    char *werr = NULL;
    if (wh_open(p->opts.wh_opts, &wk[n].w, &werr) < 0) {
      dbt__log(p, L_WARN, "cannot open another warehouse connection, %d thread%s: %s", n,
               n == 1 ? "" : "s", werr);
      free(werr);
      break;
    }
  }
  r.stage = n > 1 && wh_backend(w) == WH_SQLITE;
  pthread_mutex_init(&r.lock, NULL);
  pthread_cond_init(&r.changed, NULL);
  for (int t = 0; t < n; t++)
    wk[t].r = &r;
  for (int t = 1; t < n; t++)
    wk[t].started = pthread_create(&wk[t].tid, NULL, work, &wk[t]) == 0;
  work(&wk[0]);
  for (int t = 1; t < n; t++) {
    if (wk[t].started) pthread_join(wk[t].tid, NULL);
    wh_close(wk[t].w);
  }
  pthread_cond_destroy(&r.changed);
  pthread_mutex_destroy(&r.lock);
  free(wk);
  dbt__log(p, res->failed || r.stop ? L_ERROR : L_INFO,
           "Done in %.2fs. PASS=%d ERROR=%d SKIP=%d TOTAL=%d", now_s() - started, res->ok,
           res->failed, res->skipped, r.total);
  free(r.state);
  free(sel);
  if (r.stop) {
    *err = xstrdup("cancelled");
    return DAG_ESTATE;
  }
  if (res->failed) {
    *err = xasprintf("%d of %d models failed, %d skipped", res->failed, r.total, res->skipped);
    return DAG_EINVAL;
  }
  return 0;
}

/* --- test ------------------------------------------------------------------------------ */

struct samples {
  struct strbuf sb;
};

static int sample_row(void *ud, int ncols, const char *const *names, const char *const *vals) {
  struct samples *s = ud;
  sb_append(&s->sb, "\n    ");
  for (int c = 0; c < ncols; c++)
    sb_appendf(&s->sb, "%s%s=%s", c ? ", " : "", names[c], vals[c] ? vals[c] : "NULL");
  return 0;
}

int dbt_test(struct dbt_project *p, struct wh *w, const char *select,
             struct dbt_test_result *res, char **err) {
  memset(res, 0, sizeof(*res));
  bool with_sources;
  bool *sel = dbt__select(p, select, &with_sources, err);
  if (sel == NULL) return DAG_EINVAL;
  int total = 0, k_run = 0, errors = 0;
  for (size_t i = 0; i < p->n_tests; i++) {
    const struct dbt_test *t = &p->tests[i];
    total += t->model >= 0 ? sel[t->model] && p->models[t->model].enabled : with_sources;
  }
  double started = now_s();
  dbt__log(p, L_INFO, "running %d tests of project %s", total, p->name);
  bool stop = false;
  for (size_t i = 0; i < p->n_tests; i++) {
    const struct dbt_test *t = &p->tests[i];
    if (t->model >= 0 ? !(sel[t->model] && p->models[t->model].enabled) : !with_sources)
      continue;
    k_run++;
    if (cancelled(p)) {
      stop = true;
      break;
    }
    double t0 = now_s();
    char *count_sql = xasprintf("SELECT COUNT(*) FROM (\n%s\n) dbt_internal_test", t->sql);
    char *count = NULL, *qerr = NULL;
    int rc = wh_query_value(w, count_sql, NULL, 0, &count, &qerr);
    free(count_sql);
    if (rc < 0) {
      errors++;
      dbt__log(p, L_ERROR, "%d of %d ERROR %s (%s:%d): %s", k_run, total, t->name, t->file,
               t->line, qerr);
      free(qerr);
      continue;
    }
    long long n = count ? strtoll(count, NULL, 10) : 0;
    free(count);
    if (n == 0) {
      res->passed++;
      dbt__log(p, L_INFO, "%d of %d PASS %s [in %.2fs]", k_run, total, t->name, now_s() - t0);
      continue;
    }
    struct samples s = {STRBUF_INIT};
    char *sample_sql = xasprintf("SELECT * FROM (\n%s\n) dbt_internal_test LIMIT 5", t->sql);
    if (wh_query(w, sample_sql, NULL, 0, sample_row, &s, &qerr) < 0) {
      sb_appendf(&s.sb, "\n    (no sample: %s)", qerr);
      free(qerr);
    }
    free(sample_sql);
    if (t->warn)
      res->warned++;
    else
      res->failed++;
    dbt__log(p, t->warn ? L_WARN : L_ERROR,
             "%d of %d %s %lld %s (%s:%d): got %lld result%s, configured to %s if != 0\n"
             "  query: %s\n  sample of failing rows (up to 5):%s",
             k_run, total, t->warn ? "WARN" : "FAIL", n, t->name, t->file, t->line, n,
             n == 1 ? "" : "s", t->warn ? "warn" : "fail", t->sql, sb_str(&s.sb));
    sb_free(&s.sb);
  }
  free(sel);
  dbt__log(p, res->failed || errors || stop ? L_ERROR : L_INFO,
           "Done in %.2fs. PASS=%d WARN=%d FAIL=%d ERROR=%d TOTAL=%d", now_s() - started,
           res->passed, res->warned, res->failed, errors, total);
  if (stop) {
    *err = xstrdup("cancelled");
    return DAG_ESTATE;
  }
  if (res->failed || errors) {
    *err = xasprintf("%d of %d tests failed%s", res->failed + errors, total,
                     errors ? " or could not run" : "");
    res->failed += errors;
    return DAG_EINVAL;
  }
  return 0;
}
