/* test_lake.c - the lake: the local folder backend (atomic puts, listing,
 * key rules), opening S3 lakes without a server, and the S3 backend's pure
 * parts (SigV4 encoding vectors from tests/data/lake, S3's XML). The S3
 * requests themselves are tested against s3rver by
 * tests/integration/test_lake_s3.sh. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "lake.h"
#include "lake_int.h"
#include "strbuf.h"

struct fixture {
  char dir[PATH_MAX];
  struct lake *lk;
  char *err;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  char tmpl[] = "/tmp/dagctl-lake-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
  /* A folder that does not exist yet: lake_open creates it, parents too. */
  char *root = xasprintf("%s/home/lake", f->dir);
  struct lake_options o = {.url = root};
  assert_int_equal(lake_open(&o, &f->lk, &f->err), 0);
  assert_string_equal(lake_describe(f->lk), root);
  free(root);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  lake_close(f->lk);
  free(f->err);
  char *cmd = xasprintf("rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(f);
  return 0;
}

static char *root_path(struct fixture *f, const char *rel) {
  return xasprintf("%s/home/lake/%s", f->dir, rel);
}

static void put(struct fixture *f, const char *key, const char *text) {
  int rc = lake_put(f->lk, key, text, strlen(text), &f->err);
  if (rc != 0) fail_msg("put %s: %d %s", key, rc, f->err);
}

static void assert_object(struct fixture *f, const char *key, const char *want) {
  char *data;
  size_t len;
  int rc = lake_get(f->lk, key, &data, &len, &f->err);
  if (rc != 0) fail_msg("get %s: %d %s", key, rc, f->err);
  assert_int_equal(len, strlen(want));
  assert_string_equal(data, want);
  free(data);
}

/* The folder's entries, sorted, joined with ' '. */
static char *entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    assert_true(n < 64);
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i) sb_appendc(&sb, ' ');
    sb_append(&sb, names[i]);
    free(names[i]);
  }
  return sb_detach(&sb);
}

static char *list_joined(struct fixture *f, const char *prefix) {
  char **keys;
  size_t n;
  int rc = lake_list(f->lk, prefix, &keys, &n, &f->err);
  if (rc != 0) fail_msg("list %s: %d %s", prefix, rc, f->err);
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i) sb_appendc(&sb, ' ');
    sb_append(&sb, keys[i]);
  }
  lake_keys_free(keys, n);
  return sb_detach(&sb);
}

static void assert_list(struct fixture *f, const char *prefix, const char *want) {
  char *got = list_joined(f, prefix);
  assert_string_equal(got, want);
  free(got);
}

/* --- local backend ------------------------------------------------------- */

static void test_put_get(void **state) {
  struct fixture *f = *state;
  put(f, "raw_events/year=2026/month=11/day=22/hour=01/p-0-0-99.ndjson", "{\"a\":1}\n");
  assert_object(f, "raw_events/year=2026/month=11/day=22/hour=01/p-0-0-99.ndjson",
                "{\"a\":1}\n");
  /* A replay overwrites. */
  put(f, "raw_events/year=2026/month=11/day=22/hour=01/p-0-0-99.ndjson", "{\"a\":2}\n");
  assert_object(f, "raw_events/year=2026/month=11/day=22/hour=01/p-0-0-99.ndjson",
                "{\"a\":2}\n");
  /* Only the object is left in its folder: no temporary file. */
  char *dir = root_path(f, "raw_events/year=2026/month=11/day=22/hour=01");
  char *names = entries(dir);
  assert_string_equal(names, "p-0-0-99.ndjson");
  free(names);
  free(dir);
  char *path = root_path(f, "raw_events/year=2026/month=11/day=22/hour=01/p-0-0-99.ndjson");
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  free(path);

  /* Empty and binary objects. */
  put(f, "empty", "");
  assert_object(f, "empty", "");
  static const char bin[] = {'a', 0, 'b', (char)0xff, 0};
  assert_int_equal(lake_put(f->lk, "bin/x", bin, sizeof(bin), &f->err), 0);
  char *data;
  size_t len;
  assert_int_equal(lake_get(f->lk, "bin/x", &data, &len, &f->err), 0);
  assert_int_equal(len, sizeof(bin));
  assert_memory_equal(data, bin, sizeof(bin));
  assert_int_equal(data[len], '\0');
  free(data);
}

static void test_get_missing(void **state) {
  struct fixture *f = *state;
  char *data = (char *)"x";
  size_t len = 7;
  put(f, "a/b", "1");
  assert_int_equal(lake_get(f->lk, "a/c", &data, &len, &f->err), -ENOENT);
  assert_null(data);
  assert_int_equal(len, 0);
  char *want = xasprintf("lake: get a/c: no such key in %s/home/lake", f->dir);
  assert_string_equal(f->err, want);
  free(want);
  /* A folder is a prefix, not an object; a file is not a folder. */
  assert_int_equal(lake_get(f->lk, "a", &data, &len, &f->err), -ENOENT);
  assert_int_equal(lake_get(f->lk, "a/b/c", &data, &len, &f->err), -ENOENT);
}

static void test_put_failure_leaves_nothing(void **state) {
  struct fixture *f = *state;
  put(f, "d/x/inner", "1");
  /* "d/x" is a folder: the rename fails, the temporary file goes. */
  assert_int_equal(lake_put(f->lk, "d/x", "2", 1, &f->err), -EISDIR);
  assert_non_null(strstr(f->err, "lake: put d/x: rename "));
  char *dir = root_path(f, "d");
  char *names = entries(dir);
  assert_string_equal(names, "x");
  free(names);
  free(dir);
  /* "d/x/inner" is a file: it cannot also be a folder. */
  assert_int_equal(lake_put(f->lk, "d/x/inner/deeper", "3", 1, &f->err), -ENOTDIR);
  assert_object(f, "d/x/inner", "1");
}

/* A reader racing a writer sees whole objects only: each read is all 'a'
 * or all 'b', at full length. */
static void test_atomic_replace(void **state) {
  struct fixture *f = *state;
  enum { SIZE = 256 * 1024, ROUNDS = 40 };
  char *a = xmalloc(SIZE), *b = xmalloc(SIZE);
  memset(a, 'a', SIZE);
  memset(b, 'b', SIZE);
  assert_int_equal(lake_put(f->lk, "race/obj", a, SIZE, &f->err), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int rc = 0;
    for (int i = 0; i < ROUNDS && rc == 0; i++)
      rc = lake_put(f->lk, "race/obj", i % 2 ? a : b, SIZE, NULL);
    /* Freed so that a leak checker following the fork sees a clean child. */
    free(a);
    free(b);
    _exit(rc != 0);
  }
  int reads = 0, status;
  while (waitpid(pid, &status, WNOHANG) == 0 || reads < 10) {
    char *data;
    size_t len;
    assert_int_equal(lake_get(f->lk, "race/obj", &data, &len, &f->err), 0);
    assert_int_equal(len, SIZE);
    const char *other = memchr(data, data[0] == 'a' ? 'b' : 'a', len);
    assert_null(other);
    free(data);
    reads++;
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  free(a);
  free(b);
}

static void test_list_nested(void **state) {
  struct fixture *f = *state;
  put(f, "raw/year=2026/month=11/day=21/h1.ndjson", "1");
  put(f, "raw/year=2026/month=11/day=22/h1.ndjson", "2");
  put(f, "raw/year=2026/month=11/day=22/h0.ndjson", "3");
  put(f, "raw/year=2026/month=12/day=01/h0.ndjson", "4");
  put(f, "raw/year=2026/month=1/day=01/h0.ndjson", "5");
  put(f, "dead_letter/x.json", "6");
  /* strcmp order ('-' < '.' < '/'), not the walk's order. */
  put(f, "a/b", "7");
  put(f, "a.b", "8");
  put(f, "a-b", "9");

  assert_list(f, "", "a-b a.b a/b dead_letter/x.json "
                     "raw/year=2026/month=1/day=01/h0.ndjson "
                     "raw/year=2026/month=11/day=21/h1.ndjson "
                     "raw/year=2026/month=11/day=22/h0.ndjson "
                     "raw/year=2026/month=11/day=22/h1.ndjson "
                     "raw/year=2026/month=12/day=01/h0.ndjson");
  assert_list(f, "raw/year=2026/month=11/", "raw/year=2026/month=11/day=21/h1.ndjson "
                                            "raw/year=2026/month=11/day=22/h0.ndjson "
                                            "raw/year=2026/month=11/day=22/h1.ndjson");
  /* A prefix ends anywhere, not only at a '/'. */
  assert_list(f, "raw/year=2026/month=1", "raw/year=2026/month=1/day=01/h0.ndjson "
                                          "raw/year=2026/month=11/day=21/h1.ndjson "
                                          "raw/year=2026/month=11/day=22/h0.ndjson "
                                          "raw/year=2026/month=11/day=22/h1.ndjson "
                                          "raw/year=2026/month=12/day=01/h0.ndjson");
  assert_list(f, "raw/year=2026/month=11/day=22/h0", "raw/year=2026/month=11/day=22/h0.ndjson");
  assert_list(f, "a", "a-b a.b a/b");
  assert_list(f, "a/", "a/b");
  assert_list(f, "nothing/here/", "");
  assert_list(f, "a/b/c", ""); /* a/b is a file */

  /* A crashed put's temporary file is not an object. */
  char *tmp = root_path(f, "a/.lake-tmp-abc123");
  FILE *fp = fopen(tmp, "w");
  assert_non_null(fp);
  fclose(fp);
  free(tmp);
  assert_list(f, "a/", "a/b");
}

static void test_key_rules(void **state) {
  struct fixture *f = *state;
  static const struct {
    const char *key;
    bool key_ok, prefix_ok;
  } cases[] = {
      {"a", true, true},
      {"a/b.c", true, true},
      {".hidden/x", true, true},
      {"a..b/...", true, true},
      {"year=2026/x y", true, true},
      {"", false, true},
      {"a/", false, true},
      {"/a", false, false},
      {"a//b", false, false},
      {"a//", false, false},
      {"./a", false, false},
      {"a/./b", false, false},
      {"a/../b", false, false},
      {"..", false, false},
      {"a/..", false, false},
      {"../", false, false},
      {"a\nb", false, false},
      {"a\x7f", false, false},
      {"x/.lake-tmp-1", false, false},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (lake__valid_key(cases[i].key, false) != cases[i].key_ok)
      fail_msg("key '%s': want %d", cases[i].key, cases[i].key_ok);
    if (lake__valid_key(cases[i].key, true) != cases[i].prefix_ok)
      fail_msg("prefix '%s': want %d", cases[i].key, cases[i].prefix_ok);
  }
  char long_key[1026];
  memset(long_key, 'k', sizeof(long_key) - 1);
  long_key[sizeof(long_key) - 1] = '\0';
  assert_false(lake__valid_key(long_key, false));
  long_key[1024] = '\0';
  assert_true(lake__valid_key(long_key, false));

  assert_int_equal(lake_put(f->lk, "../escape", "x", 1, &f->err), DAG_EINVAL);
  assert_string_equal(f->err, "lake: invalid key '../escape' (expected a/b/c: no leading "
                              "'/', no empty, '.' or '..' part)");
  char *data;
  size_t len;
  assert_int_equal(lake_get(f->lk, "/etc/passwd", &data, &len, &f->err), DAG_EINVAL);
  char **keys;
  size_t n;
  assert_int_equal(lake_list(f->lk, "../", &keys, &n, &f->err), DAG_EINVAL);
  assert_null(keys);
  assert_int_equal(n, 0);
  /* Nothing escaped the lake's folder. */
  char *home = xasprintf("%s/home", f->dir);
  char *names = entries(home);
  assert_string_equal(names, "lake");
  free(names);
  free(home);
}

/* --- opening ------------------------------------------------------------- */

static void assert_describe(const struct lake_options *o, const char *want) {
  struct lake *lk;
  char *err = NULL;
  int rc = lake_open(o, &lk, &err);
  if (rc != 0) fail_msg("open %s: %d %s", o->url, rc, err);
  assert_string_equal(lake_describe(lk), want);
  lake_close(lk);
  free(err);
}

static void assert_open_error(const struct lake_options *o, int code, const char *want) {
  struct lake *lk = (struct lake *)1;
  char *err = NULL;
  assert_int_equal(lake_open(o, &lk, &err), code);
  assert_null(lk);
  assert_string_equal(err, want);
  free(err);
}

static void test_open(void **state) {
  struct fixture *f = *state;
  char *url = xasprintf("file://%s/other/", f->dir);
  char *want = xasprintf("%s/other", f->dir);
  assert_describe(&(struct lake_options){.url = url}, want);
  struct stat st;
  assert_int_equal(stat(want, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  free(url);
  free(want);

  assert_describe(&(struct lake_options){.url = "s3://spotify-lake/raw/",
                                         .endpoint = "http://127.0.0.1:4569/",
                                         .access_key_id = "AKID",
                                         .secret_access_key = "SECRETKEY"},
                  "s3://spotify-lake/raw at http://127.0.0.1:4569/spotify-lake");
  /* A host name allows virtual-host style unless path style is asked for. */
  assert_describe(&(struct lake_options){.url = "s3://b12", .endpoint = "https://minio.lan:9000"},
                  "s3://b12 at https://b12.minio.lan:9000");
  assert_describe(&(struct lake_options){.url = "s3://b12", .endpoint = "https://minio.lan:9000",
                                         .path_style = true},
                  "s3://b12 at https://minio.lan:9000/b12");
  assert_describe(&(struct lake_options){.url = "s3://b12", .endpoint = "http://localhost:80"},
                  "s3://b12 at http://localhost:80/b12");
  assert_describe(&(struct lake_options){.url = "s3://b12", .endpoint = "http://[::1]:4569"},
                  "s3://b12 at http://[::1]:4569/b12");
  assert_describe(&(struct lake_options){.url = "s3://b12/p/q", .region = "eu-west-3"},
                  "s3://b12/p/q at https://b12.s3.eu-west-3.amazonaws.com");
  assert_describe(&(struct lake_options){.url = "s3://b12", .path_style = true},
                  "s3://b12 at https://s3.us-east-1.amazonaws.com/b12");

  assert_open_error(&(struct lake_options){.url = NULL}, DAG_EINVAL,
                    "lake: no url (expected s3://bucket/prefix or a folder)");
  assert_open_error(&(struct lake_options){.url = "gs://bucket/x"}, DAG_EINVAL,
                    "lake: unsupported url 'gs://bucket/x' (expected s3://bucket/prefix or "
                    "a folder)");
  assert_open_error(&(struct lake_options){.url = "s3:///x"}, DAG_EINVAL,
                    "lake: no bucket in 's3:///x' (expected s3://bucket/prefix)");
  assert_open_error(&(struct lake_options){.url = "s3://b12/a/../b"}, DAG_EINVAL,
                    "lake: invalid prefix 'a/../b' in 's3://b12/a/../b'");
  /* Half a credential would silently send unsigned requests. */
  assert_open_error(&(struct lake_options){.url = "s3://b12", .access_key_id = "AKID"},
                    DAG_EINVAL,
                    "lake: s3://b12 needs both access_key_id and secret_access_key, or "
                    "neither");
  assert_open_error(&(struct lake_options){.url = "s3://b12", .endpoint = "ftp://x"},
                    DAG_EINVAL, "lake: endpoint 'ftp://x' is not an http:// or https:// URL");
  /* A path under a regular file cannot become the lake. */
  put(f, "file", "x");
  char *bad = root_path(f, "file/sub");
  char *msg = xasprintf("lake: cannot create folder %s: Not a directory", bad);
  assert_open_error(&(struct lake_options){.url = bad}, -ENOTDIR, msg);
  free(msg);
  free(bad);
}

/* --- S3 helpers ---------------------------------------------------------- */

/* Decode "\xNN" escapes in place. */
static void unescape(char *s) {
  char *w = s;
  for (const char *r = s; *r;) {
    if (r[0] == '\\' && r[1] == 'x' && r[2] && r[3]) {
      char hex[3] = {r[2], r[3], 0};
      *w++ = (char)strtol(hex, NULL, 16);
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

static void test_sigv4_vectors(void **state) {
  (void)state;
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  assert_non_null(src);
  char *path = xasprintf("%s/tests/data/lake/sigv4_encoding.txt", src);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char line[4096];
  int lineno = 0, queries = 0, paths = 0;
  while (fgets(line, sizeof(line), fp)) {
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    char *arrow = strstr(line, " => ");
    if (arrow == NULL) fail_msg("%s:%d: no ' => '", path, lineno);
    *arrow = '\0';
    const char *want = arrow + 4;
    char *got = NULL;
    if (strncmp(line, "query: ", 7) == 0) {
      struct lake_query q = {0};
      for (char *p = line + 7;;) {
        char *bar = strstr(p, " | ");
        if (bar) *bar = '\0';
        char *eq = strchr(p, '=');
        if (eq == NULL) fail_msg("%s:%d: parameter without '='", path, lineno);
        *eq = '\0';
        unescape(p);
        unescape(eq + 1);
        lake__query_add(&q, p, eq + 1);
        if (bar == NULL) break;
        p = bar + 3;
      }
      got = lake__query_build(&q);
      lake__query_free(&q);
      queries++;
    } else if (strncmp(line, "path: ", 6) == 0) {
      unescape(line + 6);
      struct strbuf sb = STRBUF_INIT;
      lake__uri_encode(&sb, line + 6, strlen(line + 6), true);
      got = sb_detach(&sb);
      paths++;
    } else {
      fail_msg("%s:%d: expected 'query:' or 'path:'", path, lineno);
    }
    if (strcmp(got, want) != 0)
      fail_msg("%s:%d:\n  want %s\n  got  %s", path, lineno, want, got);
    free(got);
  }
  fclose(fp);
  free(path);
  assert_int_equal(queries, 9);
  assert_int_equal(paths, 5);

  struct lake_query none = {0};
  char *empty = lake__query_build(&none);
  assert_string_equal(empty, "");
  free(empty);
}

static void test_s3_xml(void **state) {
  (void)state;
  static const char page[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b12</Name><Prefix>raw/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
      "<IsTruncated>true</IsTruncated>"
      "<Contents><Key>raw/a&amp;b.json</Key><Size>3</Size></Contents>"
      "<Contents><Key>raw/&lt;x&gt; &quot;q&quot; &apos;s&apos;</Key></Contents>"
      "<Contents><Key>raw/caf&#233;&#x2F;&#x1F600;&bogus;</Key></Contents>"
      "<NextContinuationToken>1ue/Gc+x=</NextContinuationToken>"
      "</ListBucketResult>";
  char **keys = NULL;
  size_t n = 0, cap = 0;
  char *token;
  lake__s3_parse_list(page, &keys, &n, &cap, &token);
  assert_int_equal(n, 3);
  assert_string_equal(keys[0], "raw/a&b.json");
  assert_string_equal(keys[1], "raw/<x> \"q\" 's'");
  assert_string_equal(keys[2], "raw/caf\xc3\xa9/\xf0\x9f\x98\x80&bogus;");
  assert_string_equal(token, "1ue/Gc+x=");
  free(token);

  static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                             "<Contents><Key>z</Key></Contents></ListBucketResult>";
  lake__s3_parse_list(last, &keys, &n, &cap, &token);
  assert_int_equal(n, 4);
  assert_string_equal(keys[3], "z");
  assert_null(token);
  lake_keys_free(keys, n);

  char *e = lake__s3_error_text("<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>"
                                "<Message>The specified bucket does not exist</Message>"
                                "<BucketName>nope</BucketName></Error>");
  assert_string_equal(e, "NoSuchBucket: The specified bucket does not exist");
  free(e);
  e = lake__s3_error_text("<Error><Code>SlowDown</Code></Error>");
  assert_string_equal(e, "SlowDown");
  free(e);
  assert_null(lake__s3_error_text("<html>Bad Gateway</html>"));
  assert_null(lake__xml_text("<a>unterminated", NULL, "a"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_put_get),
      T(test_get_missing),
      T(test_put_failure_leaves_nothing),
      T(test_atomic_replace),
      T(test_list_nested),
      T(test_key_rules),
      T(test_open),
      T(test_sigv4_vectors),
      T(test_s3_xml),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
