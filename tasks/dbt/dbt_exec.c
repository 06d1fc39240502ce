/* dbt_exec.c - selection, compile, run and test (see dbt.h). */
#include <errno.h>
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

static int build_table(struct wh *w, const struct dbt_model *m, char **rows, char **err) {
  char *tmp = xasprintf("%s__dbt_tmp", m->alias);
  char *body = body_sql(m->compiled);
  int rc = wh_ensure_schema(w, m->schema, err);
  if (rc == 0) rc = wh_drop_relation(w, m->schema, tmp, err);
  if (rc == 0) {
    char *sql = xasprintf("CREATE TABLE %s.%s AS\n%s", m->schema, tmp, body);
    rc = wh_exec(w, sql, err);
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
  free(body);
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

int dbt_run(struct dbt_project *p, struct wh *w, const char *select,
            struct dbt_run_result *res, char **err) {
  memset(res, 0, sizeof(*res));
  bool with_sources;
  bool *sel = dbt__select(p, select, &with_sources, err);
  if (sel == NULL) return DAG_EINVAL;
  /* 0 not run, 1 ok, 2 failed or skipped */
  int *state = xcalloc(p->n_models + 1, sizeof(*state));
  int total = 0, k_run = 0;
  for (size_t i = 0; i < p->n_models; i++)
    total += sel[i] && p->models[i].enabled;
  double started = now_s();
  dbt__log(p, L_INFO, "running %d models of project %s", total, p->name);
  bool stop = false;
  for (size_t k = 0; k < p->n_models; k++) {
    size_t i = p->order[k];
    struct dbt_model *m = &p->models[i];
    if (!sel[i] || !m->enabled) continue;
    k_run++;
    if (stop || cancelled(p)) {
      stop = true;
      state[i] = 2;
      res->skipped++;
      continue;
    }
    const char *blocked = NULL;
    for (size_t d = 0; d < m->n_deps && !blocked; d++)
      if (state[m->deps[d]] == 2) blocked = p->models[m->deps[d]].name;
    if (blocked) {
      state[i] = 2;
      res->skipped++;
      dbt__log(p, L_WARN, "%d of %d SKIP %s model %s (upstream %s failed)", k_run, total,
               m->materialized, m->relation, blocked);
      continue;
    }
    dbt__log(p, L_INFO, "%d of %d START %s model %s", k_run, total, m->materialized,
             m->relation);
    double t0 = now_s();
    char *rows = NULL, *merr = NULL;
    int rc = strcmp(m->materialized, "view") == 0 ? build_view(w, m, &merr)
                                                  : build_table(w, m, &rows, &merr);
    if (rc == 0) {
      state[i] = 1;
      res->ok++;
      if (rows)
        dbt__log(p, L_INFO, "%d of %d OK created table model %s [%s rows in %.2fs]", k_run,
                 total, m->relation, rows, now_s() - t0);
      else
        dbt__log(p, L_INFO, "%d of %d OK created view model %s [in %.2fs]", k_run, total,
                 m->relation, now_s() - t0);
    } else {
      state[i] = 2;
      res->failed++;
      dbt__log(p, L_ERROR, "%d of %d ERROR creating %s model %s (%s): %s", k_run, total,
               m->materialized, m->relation, m->path, merr);
    }
    free(rows);
    free(merr);
  }
  dbt__log(p, res->failed || stop ? L_ERROR : L_INFO,
           "Done in %.2fs. PASS=%d ERROR=%d SKIP=%d TOTAL=%d", now_s() - started, res->ok,
           res->failed, res->skipped, total);
  free(state);
  free(sel);
  if (stop) {
    *err = xstrdup("cancelled");
    return DAG_ESTATE;
  }
  if (res->failed) {
    *err = xasprintf("%d of %d models failed, %d skipped", res->failed, total, res->skipped);
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
