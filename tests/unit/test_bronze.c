/* test_bronze.c - the bronze loader: each object once, quarantine, rollback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "alloc.h"
#include "bronze.h"
#include "error.h"
#include "strbuf.h"
#include "wh.h"

struct fx {
  char dir[64];
  char *lake;
  char *url;
  struct wh *w;
  struct bronze_source src;
  struct strbuf log;
};

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
  if (strlen(key) > 3 && strcmp(key + strlen(key) - 3, ".gz") == 0) {
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)strlen(data)), (int)strlen(data));
    gzclose(gz);
  } else {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(data, 1, strlen(data), fp);
    fclose(fp);
  }
  free(dir);
  free(path);
}

static void log_to_buf(void *ud, int level, const char *msg) {
  struct strbuf *sb = ud;
  sb_appendf(sb, "%d %s\n", level, msg);
}

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_bronze.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  f->lake = xasprintf("%s/lake", f->dir);
  f->url = xasprintf("%s/warehouse.db", f->dir);
  mkdirs(f->lake);
  char *err = NULL;
  struct wh_options o = {.url = f->url};
  if (wh_open(&o, &f->w, &err) != 0) return -1;
  bronze_dir_source(f->lake, &f->src);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  wh_close(f->w);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
  free(cmd);
  free(f->lake);
  free(f->url);
  sb_free(&f->log);
  free(f);
  return 0;
}

static char *value(struct wh *w, const char *sql) {
  char *v = NULL, *err = NULL;
  if (wh_query_value(w, sql, NULL, 0, &v, &err) != 0) fail_msg("%s: %s", sql, err);
  return v;
}

static void assert_value(struct wh *w, const char *sql, const char *want) {
  char *v = value(w, sql);
  if (v == NULL) fail_msg("%s: NULL, want %s", sql, want);
  if (strcmp(v, want) != 0) fail_msg("%s: got '%s', want '%s'", sql, v, want);
  free(v);
}

static int load(struct fx *f, struct bronze_stats *st, char **err) {
  struct bronze_options o = {.prefix = "raw_events/", .log = log_to_buf, .log_ud = &f->log};
  *err = NULL;
  return bronze_load(f->w, &f->src, &o, st, err);
}

#define EV(id, dur)                                                                      \
  "{\"event_id\":\"" id "\",\"user_id\":\"u1\",\"event_type\":\"play\",\"track_id\":\"t1\"," \
  "\"track_name\":\"Song\",\"artist_name\":\"Art\",\"album_name\":\"Alb\",\"duration_ms\":" \
  #dur ",\"played_at\":\"2026-11-22T01:02:03Z\",\"device_type\":\"web\",\"country\":\"SE\"}"

#define H1 "raw_events/year=2026/month=11/day=22/hour=01/"

static void test_lines_from_data_file(void **state) {
  (void)state;
  char *path = xasprintf("%s/tests/data/warehouse/bronze_lines.txt", getenv("DAGCTL_SOURCE_DIR"));
  FILE *fp = fopen(path, "r");
  if (fp == NULL) fail_msg("cannot open %s", path);
  char line[4096];
  int n = 0, lineno = 0;
  while (fgets(line, sizeof(line), fp)) {
    lineno++;
    if (line[0] == '#' || line[0] == '\n') continue;
    line[strcspn(line, "\n")] = '\0';
    char *tab = strchr(line, '\t');
    assert_non_null(tab);
    *tab = '\0';
    const char *want = line, *text = tab + 1;
    char *why = bronze_check_line(text, strlen(text));
    if (strcmp(want, "OK") == 0) {
      if (why) fail_msg("line %d: rejected: %s", lineno, why);
    } else {
      if (why == NULL) fail_msg("line %d: accepted, want '%s'", lineno, want);
      if (strncmp(why, want, strlen(want)) != 0)
        fail_msg("line %d: reason '%s', want '%s...'", lineno, why, want);
    }
    free(why);
    n++;
  }
  fclose(fp);
  free(path);
  assert_true(n >= 20);
}

static void test_loads_each_object_once(void **state) {
  struct fx *f = *state;
  put(f, H1 "a-0-2.ndjson", EV("e1", 1000) "\n" EV("e2", 2000) "\n");
  /* CRLF, blank lines, a bad line in the middle, no final newline. */
  put(f, H1 "b-3-6.ndjson",
      EV("e3", 3000) "\r\n\r\n  \n{\"event_id\": broken\n" EV("e4", 4000) "\n[1]\n" EV("e5", 5));
  put(f, H1 "c-7-8.ndjson.gz", EV("e6", 6000) "\n" EV("e7", 7000) "\n");
  put(f, H1 "empty.ndjson", "");
  put(f, H1 "notes.txt", "not an object\n");
  put(f, H1 ".tmp-writer-123", EV("zz", 1) "\n");
  put(f, "dead_letter/x.ndjson", EV("dl", 1) "\n");

  struct bronze_stats st;
  char *err;
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_listed, 4);
  assert_int_equal(st.objects_loaded, 4);
  assert_int_equal(st.objects_skipped, 0);
  assert_int_equal(st.objects_ignored, 1);
  assert_int_equal(st.rows_loaded, 7);
  assert_int_equal(st.quarantined, 2);

  assert_value(f->w, "SELECT COUNT(*) FROM bronze.plays", "7");
  assert_value(f->w, "SELECT COUNT(DISTINCT event_id) FROM bronze.plays", "7");
  assert_value(f->w,
               "SELECT source_object || ':' || line_number FROM bronze.plays "
               "WHERE event_id = 'e4'",
               H1 "b-3-6.ndjson:5");
  assert_value(f->w, "SELECT line_number FROM bronze.plays WHERE event_id = 'e5'", "7");
  assert_value(f->w,
               "SELECT user_id || event_type || track_id || track_name || artist_name || "
               "album_name || duration_ms || played_at || device_type || country "
               "FROM bronze.plays WHERE event_id = 'e6'",
               "u1playt1SongArtAlb60002026-11-22T01:02:03ZwebSE");
  assert_value(f->w, "SELECT typeof(duration_ms) FROM bronze.plays WHERE event_id = 'e1'",
               "integer");
  /* One loaded_at per object, ISO-8601 with microseconds. */
  assert_value(f->w, "SELECT COUNT(DISTINCT loaded_at) FROM bronze.plays", "3");
  assert_value(f->w, "SELECT length(loaded_at) || substr(loaded_at, 11, 1) || "
                     "substr(loaded_at, 27) FROM bronze.plays LIMIT 1",
               "27TZ");

  /* The quarantine: object, line, reason and the raw text. */
  assert_value(f->w,
               "SELECT group_concat(line_number || '|' || substr(reason, 1, 20) || '|' || "
               "raw_line, ';') FROM (SELECT * FROM bronze.quarantine ORDER BY line_number)",
               "4|invalid JSON at colu|{\"event_id\": broken;"
               "6|expected a JSON obje|[1]");
  assert_value(f->w, "SELECT DISTINCT source_object FROM bronze.quarantine", H1 "b-3-6.ndjson");

  /* Load metadata: the empty object's ETag is MD5 of nothing. */
  assert_value(f->w,
               "SELECT etag || ' ' || size_bytes || ' ' || rows_loaded FROM "
               "bronze.loaded_objects WHERE object_key LIKE '%empty.ndjson'",
               "d41d8cd98f00b204e9800998ecf8427e 0 0");
  assert_value(f->w,
               "SELECT rows_loaded || ' ' || rows_quarantined FROM bronze.loaded_objects "
               "WHERE object_key LIKE '%b-3-6.ndjson'",
               "3 2");
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.loaded_objects", "4");
  assert_non_null(strstr(sb_str(&f->log), "2 quarantined"));
  assert_non_null(strstr(sb_str(&f->log), "quarantined " H1 "b-3-6.ndjson line 4: invalid JSON"));

  /* A second run loads nothing. */
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 0);
  assert_int_equal(st.objects_skipped, 4);
  assert_int_equal(st.rows_loaded, 0);
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.plays", "7");
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.quarantine", "2");

  /* A new object is the only one loaded; a duplicate event in it is loaded
   * (bronze keeps what arrived; silver deduplicates). */
  put(f, "raw_events/year=2026/month=11/day=22/hour=02/d-9-10.ndjson",
      EV("e8", 8000) "\n" EV("e1", 1000) "\n");
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 1);
  assert_int_equal(st.objects_skipped, 4);
  assert_int_equal(st.rows_loaded, 2);
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.plays", "9");
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.plays WHERE event_id = 'e1'", "2");
}

static void test_corrupt_gzip_is_quarantined(void **state) {
  struct fx *f = *state;
  put(f, H1 "bad.ndjson.gz.tmp", "x");
  char *path = xasprintf("%s/" H1 "bad.ndjson.gz", f->lake);
  FILE *fp = fopen(path, "wb");
  fwrite("\x1f\x8b\x08\x00garbage-not-deflate", 1, 22, fp);
  fclose(fp);
  free(path);
  struct bronze_stats st;
  char *err;
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 1);
  assert_int_equal(st.rows_loaded, 0);
  assert_int_equal(st.quarantined, 1);
  assert_value(f->w, "SELECT line_number || ' ' || substr(reason, 1, 4) FROM bronze.quarantine",
               "0 gzip");
}

/* A source whose get() fails for one key, or lets another loader claim it. */
struct tricky {
  struct bronze_source inner;
  const char *fail_key;
  const char *steal_key;
  const char *url;
};

static int tricky_list(void *ud, const char *prefix, char ***keys, size_t *n, char **err) {
  struct tricky *t = ud;
  return t->inner.list(t->inner.ud, prefix, keys, n, err);
}

static int tricky_get(void *ud, const char *key, char **data, size_t *len, char **err) {
  struct tricky *t = ud;
  if (t->fail_key && strcmp(key, t->fail_key) == 0) {
    *err = xasprintf("cannot read %s: connection reset", key);
    return -104;
  }
  if (t->steal_key && strcmp(key, t->steal_key) == 0) {
    /* Another loader, on its own connection, claims the object first: the
     * same key and content, so the same MD5. */
    int rc = t->inner.get(t->inner.ud, key, data, len, err);
    if (rc < 0) return rc;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(*data, *len, md, &n, EVP_md5(), NULL), 1);
    char etag[33];
    for (unsigned int i = 0; i < 16; i++)
      snprintf(etag + 2 * i, 3, "%02x", md[i]);
    struct wh *other;
    char *e = NULL;
    struct wh_options o = {.url = t->url};
    assert_int_equal(wh_open(&o, &other, &e), 0);
    const char *p[] = {key, etag};
    assert_int_equal(wh_query(other,
                              "INSERT INTO bronze.loaded_objects (object_key, etag, "
                              "size_bytes, rows_loaded, rows_quarantined, loaded_at) VALUES "
                              "($1, $2, 1, 1, 0, '2026-01-01T00:00:00Z')",
                              p, 2, NULL, NULL, &e),
                     0);
    wh_close(other);
    return 0;
  }
  return t->inner.get(t->inner.ud, key, data, len, err);
}

static void test_failure_keeps_earlier_objects_only(void **state) {
  struct fx *f = *state;
  put(f, H1 "1.ndjson", EV("a1", 1) "\n");
  put(f, H1 "2.ndjson", EV("a2", 1) "\n");
  put(f, H1 "3.ndjson", EV("a3", 1) "\n");
  struct tricky t = {.inner = f->src, .fail_key = H1 "2.ndjson", .url = f->url};
  struct bronze_source src = {&t, tricky_list, tricky_get, f->src.keys_free};
  struct bronze_stats st;
  char *err = NULL;
  assert_int_equal(bronze_load(f->w, &src, NULL, &st, &err), -104);
  assert_non_null(strstr(err, "connection reset"));
  free(err);
  assert_int_equal(st.objects_loaded, 1);
  assert_value(f->w, "SELECT group_concat(event_id) FROM bronze.plays", "a1");

  /* The retry picks up where it failed. */
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 2);
  assert_int_equal(st.objects_skipped, 1);
  assert_value(f->w, "SELECT group_concat(event_id) FROM (SELECT event_id FROM bronze.plays "
                     "ORDER BY event_id)",
               "a1,a2,a3");
}

static void test_object_claimed_by_another_loader(void **state) {
  struct fx *f = *state;
  put(f, H1 "1.ndjson", EV("a1", 1) "\n");
  put(f, H1 "2.ndjson", EV("a2", 1) "\n");
  /* Tables exist before the other loader's insert. */
  char *err = NULL;
  assert_int_equal(bronze_create_tables(f->w, &err), 0);
  struct tricky t = {.inner = f->src, .steal_key = H1 "1.ndjson", .url = f->url};
  struct bronze_source src = {&t, tricky_list, tricky_get, f->src.keys_free};
  struct bronze_stats st;
  struct bronze_options o = {.log = log_to_buf, .log_ud = &f->log};
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 1);
  assert_int_equal(st.objects_skipped, 1);
  assert_value(f->w, "SELECT group_concat(event_id) FROM bronze.plays", "a2");
  assert_non_null(strstr(sb_str(&f->log), "loaded meanwhile by another run"));
}

/* A folder source that counts its get() calls. */
struct counting {
  struct bronze_source inner;
  int gets;
};

static int counting_list(void *ud, const char *prefix, char ***keys, size_t *n, char **err) {
  struct counting *c = ud;
  return c->inner.list(c->inner.ud, prefix, keys, n, err);
}

static int counting_get(void *ud, const char *key, char **data, size_t *len, char **err) {
  struct counting *c = ud;
  c->gets++;
  return c->inner.get(c->inner.ud, key, data, len, err);
}

static int counting_stamp(void *ud, const char *key, char **stamp, char **err) {
  struct counting *c = ud;
  return c->inner.stamp(c->inner.ud, key, stamp, err);
}

static void test_changed_object_is_loaded_again(void **state) {
  struct fx *f = *state;
  struct counting c = {.inner = f->src};
  struct bronze_source src = {&c, counting_list, counting_get, f->src.keys_free,
                              counting_stamp};
  struct bronze_options o = {.log = log_to_buf, .log_ud = &f->log};
  struct bronze_stats st;
  char *err = NULL;
  put(f, H1 "a.ndjson", EV("a1", 1) "\n" EV("a2", 2) "\n");
  put(f, H1 "b.ndjson", EV("b1", 1) "\n");
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 2);
  assert_int_equal(c.gets, 2);

  /* Untouched: not even read. */
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(st.objects_skipped, 2);
  assert_int_equal(c.gets, 2);

  /* Rewritten with the same bytes (a replay): read once, nothing loaded,
   * and not read again after. */
  char *path = xasprintf("%s/" H1 "b.ndjson", f->lake);
  struct timespec times[2] = {{0, UTIME_NOW}, {1234567, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
  free(path);
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(c.gets, 3);
  assert_int_equal(st.objects_loaded, 0);
  assert_int_equal(st.objects_skipped, 2);
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(c.gets, 3);

  /* Rewritten with other events under the same key (an upstream that
   * reused a name): its new content is loaded as a second version, the
   * old rows stay. */
  put(f, H1 "a.ndjson", EV("a3", 3) "\n");
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 1);
  assert_int_equal(st.objects_reloaded, 1);
  assert_int_equal(st.rows_loaded, 1);
  assert_int_equal(c.gets, 4);
  assert_value(f->w, "SELECT group_concat(event_id) FROM (SELECT event_id FROM bronze.plays "
                     "ORDER BY event_id)",
               "a1,a2,a3,b1");
  assert_value(f->w, "SELECT COUNT(*) || ' ' || COUNT(DISTINCT etag) FROM bronze.loaded_objects "
                     "WHERE object_key LIKE '%a.ndjson'",
               "2 2");
  assert_non_null(strstr(sb_str(&f->log), H1 "a.ndjson changed since it was loaded"));
  assert_int_equal(bronze_load(f->w, &src, &o, &st, &err), 0);
  assert_int_equal(st.objects_loaded, 0);
  assert_int_equal(c.gets, 4);
}

static int cancel_now(void *ud) {
  (void)ud;
  return 1;
}

static void test_cancel_and_missing_prefix(void **state) {
  struct fx *f = *state;
  struct bronze_stats st;
  char *err = NULL;
  /* No raw_events folder yet: nothing to do, not an error. */
  assert_int_equal(load(f, &st, &err), 0);
  assert_int_equal(st.objects_listed, 0);

  put(f, H1 "1.ndjson", EV("a1", 1) "\n");
  struct bronze_options o = {.cancelled = cancel_now};
  assert_int_equal(bronze_load(f->w, &f->src, &o, &st, &err), DAG_ESTATE);
  assert_non_null(strstr(err, "cancelled after 0 of 1 objects"));
  free(err);
  assert_value(f->w, "SELECT COUNT(*) FROM bronze.plays", "0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines_from_data_file),
      cmocka_unit_test_setup_teardown(test_loads_each_object_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_gzip_is_quarantined, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failure_keeps_earlier_objects_only, setup, teardown),
      cmocka_unit_test_setup_teardown(test_object_claimed_by_another_loader, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_and_missing_prefix, setup, teardown),
      cmocka_unit_test_setup_teardown(test_changed_object_is_loaded_again, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
