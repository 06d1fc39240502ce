/* test_transform_e2e.c - lake -> bronze -> silver -> gold, checked against an
 * independent computation, then the quality checks of
 * dags/data_quality_monitoring.yaml on good, stale and duplicated data.
 *
 * The lake holds known events: duplicates within a run and across runs (a
 * later copy with different content, which must lose), a bad line per run,
 * plays too short and too long, names with quotes and non-ASCII letters, a
 * gzip object. tests/data/warehouse/expected_gold.py computes the gold tables
 * from the same files with Python's json module alone. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "alloc.h"
#include "bronze.h"
#include "dbt.h"
#include "error.h"
#include "pg_server.h"
#include "sqlcheck.h"
#include "strbuf.h"
#include "wh.h"
#include "yaml_doc.h"

#define H "raw_events/year=2026/month=11/day=22/hour=%02d/"

struct fx {
  char dir[64];
  char *lake;
  char *url;             /* the warehouse's, for more connections */
  struct wh_options wo; /* .url = url */
  struct wh *w;
  struct strbuf log;
  struct strbuf objects; /* lake files in load order, shell-quoted */
  char today[16], yesterday[16];
};

static void log_to_buf(void *ud, int level, const char *msg) {
  sb_appendf(ud, "%d %s\n", level, msg);
}

static void mkdirs(const char *path) {
  char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
  free(p);
}

static void put(struct fx *f, const char *key, const char *data) {
  char *path = xasprintf("%s/%s", f->lake, key);
  char *dir = xstrdup(path);
  *strrchr(dir, '/') = '\0';
  mkdirs(dir);
  size_t n = strlen(data);
  if (strcmp(key + strlen(key) - 3, ".gz") == 0) {
    gzFile gz = gzopen(path, "wb");
    assert_int_equal(gzwrite(gz, data, (unsigned)n), (int)n);
    gzclose(gz);
  } else {
    FILE *fp = fopen(path, "wb");
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
  }
  sb_appendf(&f->objects, " '%s'", path);
  free(dir);
  free(path);
}

static const char *const tracks[][3] = {
    {"Blinding Lights", "The Weeknd", "After Hours"},
    {"Halo", "Beyonc\xc3\xa9", "I Am... Sasha Fierce"},
    {"Sweet Child O' Mine", "Guns N' Roses", "Appetite for Destruction"},
    {"Levitating", "Dua Lipa", "Future Nostalgia"},
    {"Save Your Tears", "The Weeknd", "After Hours"},
    {"Bad Guy", "Billie Eilish", "When We All Fall Asleep"},
    {"Say \"Hi\"", "Kaz", NULL},
    {"Crazy in Love", "Beyonc\xc3\xa9", "Dangerously in Love"},
    {"Anti-Hero", "Taylor Swift", "Midnights"},
    {"Unknown B-Side", NULL, NULL},
};
static const char *const devices[] = {"desktop", "mobile", "tablet", "web", "smart_speaker"};
static const char *const types[] = {"play", "pause", "skip", "add_to_playlist"};

/* Event i as one NDJSON line; `device` overrides its device type. */
static void event_line(struct fx *f, struct strbuf *sb, int i, const char *device) {
  int t = (i * i + 3 * i) % 10;
  int duration = 1000 + (i * 7919) % 300000;
  if (i % 50 == 7) duration = 0;      /* a glitch: filtered out by silver */
  if (i % 61 == 5) duration = 650000; /* too long: filtered out */
  if (i % 83 == 4) duration = 599999; /* the longest kept */
  json_t *ev = json_object();
  char id[32], user[32], at[40];
  snprintf(id, sizeof(id), "ev-%04d", i);
  snprintf(user, sizeof(user), "user_%02d", (i * 7) % 23);
  snprintf(at, sizeof(at), "%sT%02d:%02d:%02dZ", i % 3 ? f->today : f->yesterday, (i * 5) % 24,
           i % 60, (i * 13) % 60);
  json_object_set_new(ev, "event_id", json_string(id));
  json_object_set_new(ev, "user_id", json_string(user));
  json_object_set_new(ev, "event_type", json_string(types[i % 4]));
  json_object_set_new(ev, "track_id", json_sprintf("trk-%02d", t));
  json_object_set_new(ev, "track_name", json_string(tracks[t][0]));
  json_object_set_new(ev, "artist_name", tracks[t][1] ? json_string(tracks[t][1]) : json_null());
  if (tracks[t][2]) json_object_set_new(ev, "album_name", json_string(tracks[t][2]));
  json_object_set_new(ev, "duration_ms", json_integer(duration));
  json_object_set_new(ev, "played_at", json_string(at));
  json_object_set_new(ev, "device_type", json_string(device ? device : devices[(i * 3) % 5]));
  json_object_set_new(ev, "country", json_string(i % 2 ? "SE" : "US"));
  char *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
  sb_append(sb, text);
  sb_appendc(sb, '\n');
  free(text);
  json_decref(ev);
}

static void put_events(struct fx *f, const char *key, int from, int to, const char *extra) {
  struct strbuf sb = STRBUF_INIT;
  for (int i = from; i < to; i++)
    event_line(f, &sb, i, NULL);
  if (extra) sb_append(&sb, extra);
  put(f, key, sb_str(&sb));
  sb_free(&sb);
}

/* A fixture on the warehouse at `url` (NULL: a SQLite one in its folder). */
static int setup_at(void **state, const char *url_or_null) {
  struct fx *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_e2e.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  f->lake = xasprintf("%s/lake", f->dir);
  char *url = url_or_null ? xstrdup(url_or_null) : xasprintf("%s/warehouse.db", f->dir);
  f->url = xstrdup(url);
  f->wo.url = f->url;
  struct wh_options o = {.url = url};
  char *err = NULL;
  int rc = wh_open(&o, &f->w, &err);
  if (rc == 0 && url_or_null) {
    /* A server that outlives one test: start from empty schemas. */
    rc = wh_exec(f->w, "DROP SCHEMA IF EXISTS bronze, silver, gold CASCADE", &err);
    wh_close(f->w);
    f->w = NULL;
    if (rc == 0) rc = wh_open(&o, &f->w, &err);
  }
  free(url);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  /* Plays of the two days before today: the newest is less than 48 hours
   * old, so freshness holds now, and none lies in the future (which fails
   * freshness). The fields keep their names: "today" is yesterday here. */
  time_t now = time(NULL) - 86400, before = now - 86400;
  struct tm tm;
  strftime(f->today, sizeof(f->today), "%Y-%m-%d", gmtime_r(&now, &tm));
  strftime(f->yesterday, sizeof(f->yesterday), "%Y-%m-%d", gmtime_r(&before, &tm));
  *state = f;
  return 0;
}

static int setup(void **state) {
  return setup_at(state, NULL);
}

static struct pg_server pg;
static char *pg_url;

static int setup_pg(void **state) {
  pg_url = pg_server_start(&pg);
  struct wh_options o = {.url = pg_url};
  struct wh *probe = NULL;
  char *err = NULL;
  if (pg_url && wh_open(&o, &probe, &err) == DAG_EINVAL) {
    fprintf(stderr, "built without libpq: %s\n", err ? err : "");
    free(err);
    free(pg_url);
    pg_url = NULL;
  }
  wh_close(probe);
  if (pg_url == NULL) {
    *state = NULL;
    return 0;
  }
  return setup_at(state, pg_url);
}

static int teardown_pg(void **state);

static int teardown(void **state) {
  struct fx *f = *state;
  if (f == NULL) return 0;
  wh_close(f->w);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
  free(cmd);
  free(f->lake);
  free(f->url);
  sb_free(&f->log);
  sb_free(&f->objects);
  free(f);
  return 0;
}

static int teardown_pg(void **state) {
  teardown(state);
  pg_server_stop(&pg);
  free(pg_url);
  pg_url = NULL;
  return 0;
}

static char *src_path(const char *rel) {
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  return xasprintf("%s/%s", src ? src : ".", rel);
}

static struct bronze_stats load(struct fx *f) {
  struct bronze_source src;
  bronze_dir_source(f->lake, &src);
  struct bronze_options o = {.log = log_to_buf, .log_ud = &f->log};
  struct bronze_stats st;
  char *err = NULL;
  if (bronze_load(f->w, &src, &o, &st, &err) != 0) fail_msg("load: %s", err);
  return st;
}

/* The project; full_refresh as dbt run --full-refresh. Two threads: gold's
 * models are built side by side, each on its own connection. */
static struct dbt_project *project_with(struct fx *f, bool full_refresh) {
  char *dir = src_path("dags/spotify_dbt");
  char *target = xasprintf("%s/target", f->dir);
  struct dbt_options o = {.project_dir = dir, .target_dir = target, .log = log_to_buf,
                          .log_ud = &f->log, .threads = 2, .wh_opts = &f->wo,
                          .full_refresh = full_refresh};
  struct dbt_project *p = NULL;
  char *err = NULL;
  if (dbt_project_load(&o, &p, &err) != 0) fail_msg("project: %s", err);
  free(dir);
  free(target);
  return p;
}

static struct dbt_project *project(struct fx *f) {
  return project_with(f, false);
}

static void dbt_build(struct fx *f) {
  struct dbt_project *p = project(f);
  struct dbt_run_result r;
  char *err = NULL;
  if (dbt_run(p, f->w, "silver", &r, &err) != 0) fail_msg("run silver: %s\n%s", err, sb_str(&f->log));
  assert_int_equal(r.ok, 1);
  if (dbt_run(p, f->w, "gold", &r, &err) != 0) {
    fputs(sb_str(&f->log), stderr);
    fail_msg("run gold: %s", err);
  }
  assert_int_equal(r.ok, 4);
  dbt_project_free(p);
}

/* --- comparing with Python's answer ------------------------------------------ */

static json_t *expected(struct fx *f) {
  char *script = src_path("tests/data/warehouse/expected_gold.py");
  char *cmd = xasprintf("python3 '%s'%s", script, sb_str(&f->objects));
  FILE *pp = popen(cmd, "r");
  assert_non_null(pp);
  json_error_t jerr;
  json_t *j = json_loadf(pp, 0, &jerr);
  int status = pclose(pp);
  if (j == NULL || status != 0) fail_msg("%s: status %d, %s", cmd, status, jerr.text);
  free(cmd);
  free(script);
  return j;
}

struct table {
  json_t *rows; /* array of arrays of strings or nulls */
};

static int collect(void *ud, int ncols, const char *const *names, const char *const *vals) {
  (void)names;
  struct table *t = ud;
  json_t *row = json_array();
  for (int i = 0; i < ncols; i++)
    json_array_append_new(row, vals[i] ? json_string(vals[i]) : json_null());
  json_array_append_new(t->rows, row);
  return 0;
}

/* Compare `sql`'s rows with want[key]; reals within 0.01 (both sides round
 * to two decimals, with different half-way rules). */
static void compare(struct fx *f, json_t *want, const char *key, const char *sql) {
  struct table t = {json_array()};
  char *err = NULL;
  if (wh_query(f->w, sql, NULL, 0, collect, &t, &err) != 0) fail_msg("%s: %s", sql, err);
  json_t *exp = json_object_get(want, key);
  if (json_array_size(exp) != json_array_size(t.rows))
    fail_msg("%s: %zu rows, expected %zu", key, json_array_size(t.rows), json_array_size(exp));
  assert_true(json_array_size(exp) > 0);
  for (size_t r = 0; r < json_array_size(exp); r++) {
    json_t *er = json_array_get(exp, r), *gr = json_array_get(t.rows, r);
    for (size_t c = 0; c < json_array_size(er); c++) {
      json_t *e = json_array_get(er, c), *g = json_array_get(gr, c);
      const char *gs = json_string_value(g);
      bool ok;
      if (json_is_null(e))
        ok = json_is_null(g);
      else if (gs == NULL)
        ok = false;
      else if (json_is_string(e))
        ok = strcmp(json_string_value(e), gs) == 0;
      else if (json_is_integer(e))
        ok = strtoll(gs, NULL, 10) == json_integer_value(e) && strchr(gs, '.') == NULL;
      else
        ok = fabs(strtod(gs, NULL) - json_number_value(e)) < 0.0101;
      if (!ok) {
        char *es = json_dumps(er, JSON_COMPACT), *gsr = json_dumps(gr, JSON_COMPACT);
        fail_msg("%s row %zu column %zu: got %s, expected %s", key, r, c, gsr, es);
      }
    }
  }
  json_decref(t.rows);
}

static void compare_gold(struct fx *f) {
  json_t *want = expected(f);
  char *n = xasprintf("%lld", (long long)json_integer_value(json_object_get(want, "silver_count")));
  char *v = NULL, *err = NULL;
  assert_int_equal(wh_query_value(f->w, "SELECT COUNT(*) FROM silver.silver_plays", NULL, 0, &v,
                                  &err),
                   0);
  assert_string_equal(v, n);
  free(v);
  free(n);
  compare(f, want, "daily_user_stats",
          "SELECT played_date, user_id, play_count, unique_tracks, total_ms, total_minutes "
          "FROM gold.daily_user_stats ORDER BY played_date, user_id");
  compare(f, want, "top_tracks",
          "SELECT track_id, track_name, artist_name, play_count, rank FROM gold.top_tracks "
          "ORDER BY track_id");
  compare(f, want, "top_artists",
          "SELECT artist_name, play_count, unique_tracks, rank FROM gold.top_artists ORDER BY "
          "artist_name");
  compare(f, want, "device_usage",
          "SELECT device_type, play_count, unique_users, pct FROM gold.device_usage ORDER BY "
          "device_type");
  json_decref(want);
}

static char *value(struct fx *f, const char *sql) {
  char *v = NULL, *err = NULL;
  if (wh_query_value(f->w, sql, NULL, 0, &v, &err) != 0) fail_msg("%s: %s", sql, err);
  return v;
}

static void assert_value(struct fx *f, const char *sql, const char *want) {
  char *v = value(f, sql);
  if (v == NULL || strcmp(v, want) != 0) fail_msg("%s: '%s', want '%s'", sql, v, want);
  free(v);
}

static int append_row(void *ud, int ncols, const char *const *names,
                      const char *const *vals) {
  (void)names;
  for (int i = 0; i < ncols; i++)
    sb_appendf(ud, "%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
  sb_appendc(ud, '\n');
  return 0;
}

/* Silver (but for processed_at, when it ran) and every gold table, sorted,
 * as text (caller frees). */
static char *snapshot(struct fx *f) {
  static const char *const sql[] = {
      "SELECT event_id, user_id, event_type, track_id, track_name, artist_name, album_name, "
      "duration_ms, played_at, played_date, device_type, country, source_object, loaded_at "
      "FROM silver.silver_plays ORDER BY event_id",
      "SELECT * FROM gold.daily_user_stats ORDER BY played_date, user_id",
      "SELECT * FROM gold.top_tracks ORDER BY track_id",
      "SELECT * FROM gold.top_artists ORDER BY artist_name",
      "SELECT * FROM gold.device_usage ORDER BY device_type",
  };
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
    char *err = NULL;
    sb_appendf(&sb, "-- %s\n", sql[i]);
    if (wh_query(f->w, sql[i], NULL, 0, append_row, &sb, &err) != 0)
      fail_msg("%s: %s", sql[i], err);
  }
  return sb_detach(&sb);
}

/* --- the quality DAG's checks --------------------------------------------------- */

struct check_def {
  char *keys[16];
  char *vals[16];
  int n;
};

static const char *def_get(const struct check_def *d, const char *k) {
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->keys[i], k) == 0) return d->vals[i];
  return NULL;
}

/* The sql_check tasks of dags/data_quality_monitoring.yaml. */
static int read_checks(struct check_def *defs, int max) {
  char *path = src_path("dags/data_quality_monitoring.yaml");
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
  dag_yaml_ctx_init(&ctx, path, &diags);
  assert_int_equal(dag_yaml_parse_file(&ctx, path, NULL, &doc), 0);
  const struct dag_ynode *tasks = dag_yaml_get(doc.root, "tasks");
  assert_non_null(tasks);
  int n = 0;
  for (size_t i = 0; i < tasks->n && n < max; i++) {
    const struct dag_ynode *task = tasks->items[i];
    struct check_def *d = &defs[n++];
    d->n = 0;
    for (size_t p = 0; p < task->n / 2 && d->n < 16; p++) {
      const char *v = dag_yaml_scalar(DAG_YN_VAL(task, p));
      d->keys[d->n] = xstrdup(DAG_YN_KEY(task, p)->value);
      d->vals[d->n] = xstrdup(v ? v : "");
      d->n++;
    }
    assert_string_equal(def_get(d, "type"), "sql_check");
  }
  dag_ydoc_free(&doc);
  dag_diags_free(&diags);
  free(path);
  return n;
}

/* Run every check at `now`; return the names of those that failed, one
 * "name: message" per line (caller frees). */
static char *failing_checks(struct fx *f, int64_t now) {
  struct check_def defs[32];
  int n = read_checks(defs, 32);
  assert_int_equal(n, 12);
  struct strbuf out = STRBUF_INIT;
  for (int i = 0; i < n; i++) {
    struct check_def *d = &defs[i];
    struct sqlcheck c = {.name = def_get(d, "check"), .kind = def_get(d, "kind"),
                         .sql = def_get(d, "sql"), .table = def_get(d, "table"),
                         .column = def_get(d, "column"), .min = def_get(d, "min"),
                         .max = def_get(d, "max"), .equals = def_get(d, "equals"),
                         .max_age = def_get(d, "max_age")};
    struct sqlcheck_result res;
    char *err = NULL;
    if (sqlcheck_run(f->w, &c, now, &res, &err) != 0) fail_msg("%s: %s", c.name, err);
    if (!res.passed) sb_appendf(&out, "%s\n", res.message);
    sqlcheck_result_free(&res);
    for (int k = 0; k < d->n; k++) {
      free(d->keys[k]);
      free(d->vals[k]);
    }
  }
  char *s = sb_detach(&out);
  return s ? s : xstrdup("");
}

static int64_t now_us(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* --- the scenario ------------------------------------------------------------------ */

static void test_lake_to_gold_twice(void **state) {
  struct fx *f = *state;
  /* setup_pg said why on stderr: no server, or built without libpq. */
  if (f == NULL) fail_msg("PostgreSQL is required for this scenario (see above)");
  char key[128];

  /* Run 1: three objects, one gzip; events 10-19 twice; one bad line. */
  snprintf(key, sizeof(key), H "spotify-plays-0-0-119.ndjson", 1);
  put_events(f, key, 0, 120, "{\"event_id\": \"ev-bad\", \"duration_ms\": \"long\"}\n");
  snprintf(key, sizeof(key), H "spotify-plays-1-0-109.ndjson.gz", 2);
  put_events(f, key, 10, 20, NULL); /* a replayed batch's tail */
  snprintf(key, sizeof(key), H "spotify-plays-1-10-209.ndjson", 2);
  put_events(f, key, 120, 300, NULL);
  struct bronze_stats st = load(f);
  assert_int_equal(st.objects_loaded, 3);
  assert_int_equal(st.rows_loaded, 310);
  assert_int_equal(st.quarantined, 1);
  assert_value(f, "SELECT reason FROM bronze.quarantine",
               "missing user_id");

  /* A second load, nothing new: nothing loaded. */
  st = load(f);
  assert_int_equal(st.objects_loaded, 0);
  assert_int_equal(st.objects_skipped, 3);
  assert_int_equal(st.rows_loaded, 0);

  dbt_build(f);
  compare_gold(f);

  /* dbt test passes on it. */
  struct dbt_project *p = project(f);
  struct dbt_test_result tr;
  char *err = NULL;
  if (dbt_test(p, f->w, NULL, &tr, &err) != 0) fail_msg("dbt test: %s\n%s", err, sb_str(&f->log));
  assert_int_equal(tr.failed, 0);
  assert_true(tr.passed >= 30);
  dbt_project_free(p);

  /* Run 2: new events, and a late copy of events 5-9 with another device,
   * which must lose to the copy loaded first. */
  struct strbuf sb = STRBUF_INIT;
  for (int i = 5; i < 10; i++)
    event_line(f, &sb, i, "smart_speaker");
  for (int i = 300; i < 450; i++)
    event_line(f, &sb, i, NULL);
  sb_append(&sb, "this line is not JSON\n");
  snprintf(key, sizeof(key), H "spotify-plays-2-0-154.ndjson", 3);
  put(f, key, sb_str(&sb));
  sb_free(&sb);
  snprintf(key, sizeof(key), "raw_events/year=2026/month=11/day=22/hour=03/_SUCCESS");
  char *marker = xasprintf("%s/%s", f->lake, key);
  FILE *fp = fopen(marker, "w");
  fclose(fp);
  free(marker);
  st = load(f);
  assert_int_equal(st.objects_loaded, 1);
  assert_int_equal(st.objects_skipped, 3);
  assert_int_equal(st.objects_ignored, 1);
  assert_int_equal(st.rows_loaded, 155);
  assert_int_equal(st.quarantined, 1);
  st = load(f);
  assert_int_equal(st.rows_loaded, 0);
  assert_value(f, "SELECT COUNT(*) FROM bronze.plays", "465");
  assert_value(f, "SELECT COUNT(DISTINCT event_id) FROM bronze.plays", "450");
  assert_value(f, "SELECT COUNT(*) FROM bronze.loaded_objects", "4");

  dbt_build(f);
  if (strstr(sb_str(&f->log), "OK added to incremental model silver.silver_plays [") == NULL)
    fail_msg("silver was not built incrementally:\n%s", sb_str(&f->log));
  compare_gold(f);
  /* Incremental equals a full rebuild: silver (but for when it ran) and
   * every gold table, row for row. */
  char *inc = snapshot(f);
  struct dbt_project *fp_ = project_with(f, true);
  struct dbt_run_result rr;
  if (dbt_run(fp_, f->w, NULL, &rr, &err) != 0) {
    fputs(sb_str(&f->log), stderr);
    fail_msg("full refresh: %s", err);
  }
  assert_int_equal(rr.ok, 5);
  dbt_project_free(fp_);
  if (strstr(sb_str(&f->log), "OK created incremental model silver.silver_plays [") == NULL)
    fail_msg("silver was not rebuilt in full:\n%s", sb_str(&f->log));
  char *full = snapshot(f);
  assert_string_equal(inc, full);
  free(inc);
  free(full);
  /* The copy loaded first won. */
  assert_value(f, "SELECT device_type FROM silver.silver_plays WHERE event_id = 'ev-0006'", "web");
  assert_value(f, "SELECT COUNT(*) FROM bronze.plays WHERE event_id = 'ev-0006'", "2");
  assert_value(f, "SELECT COUNT(*) FROM silver.silver_plays WHERE duration_ms = 599999", "6");

  /* Quality: all pass now; stale data fails exactly the freshness checks,
   * by name; a duplicated event fails the duplicate check. */
  char *failed = failing_checks(f, now_us());
  assert_string_equal(failed, "");
  free(failed);
  failed = failing_checks(f, now_us() + INT64_C(3) * 86400 * 1000000);
  assert_non_null(strstr(failed, "check bronze_loaded_at_freshness failed: newest "
                                 "bronze.plays.loaded_at is "));
  assert_non_null(strstr(failed, "check silver_played_at_freshness failed: newest "
                                 "silver.silver_plays.played_at is "));
  assert_non_null(strstr(failed, "query: SELECT MAX(played_at) FROM silver.silver_plays"));
  int lines = 0;
  for (const char *c = failed; *c; c++)
    lines += *c == '\n';
  assert_int_equal(lines, 2);
  free(failed);

  /* silver's unique index (its indexes config) refuses a duplicate: drop
   * it, as a broken build might, to see the checks catch one. */
  assert_int_equal(wh_exec(f->w, "DROP INDEX silver.silver_plays__idx1", &err), 0);
  assert_int_equal(wh_exec(f->w,
                           "INSERT INTO silver.silver_plays SELECT * FROM silver.silver_plays "
                           "WHERE event_id IN ('ev-0001', 'ev-0002')",
                           &err),
                   0);
  failed = failing_checks(f, now_us());
  assert_string_equal(failed, "check silver_no_duplicate_event_ids failed: observed 2, expected "
                              "= 0; query: SELECT COUNT(*) FROM (SELECT event_id FROM "
                              "silver.silver_plays WHERE event_id IS NOT NULL GROUP BY event_id "
                              "HAVING COUNT(*) > 1) dup\n");
  free(failed);
  /* And dbt test catches it too. */
  p = project(f);
  sb_reset(&f->log);
  assert_int_equal(dbt_test(p, f->w, "silver", &tr, &err), DAG_EINVAL);
  free(err);
  assert_int_equal(tr.failed, 1);
  assert_non_null(strstr(sb_str(&f->log), "FAIL 2 unique_silver_plays_event_id"));
  dbt_project_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lake_to_gold_twice, setup, teardown),
      /* The same on PostgreSQL: the same models, tests and checks. */
      cmocka_unit_test_setup_teardown(test_lake_to_gold_twice, setup_pg, teardown_pg),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
