/* lake_tool - the lake from a shell, for tests/integration/test_lake_s3.sh.
 *
 *   lake_tool [OPTIONS] put KEY [FILE]     FILE or standard input
 *   lake_tool [OPTIONS] get KEY            to standard output
 *   lake_tool [OPTIONS] list [PREFIX]      one key per line
 *   lake_tool [OPTIONS] fill PREFIX N      N small objects PREFIX00000...
 *
 * OPTIONS: --url U --endpoint E --region R --path-style --key-id K
 * --page-size N --retries N --timeout-ms N. The secret key comes from
 * LAKE_SECRET_ACCESS_KEY, never from the command line. On failure the
 * lake's message goes to stderr and the exit status names the code:
 * 2 -ENOENT, 3 -EACCES, 4 -ECONNREFUSED, 5 -ETIMEDOUT, 6 DAG_EINVAL,
 * 7 -EIO, 1 anything else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "lake.h"
#include "strbuf.h"

static int status_of(int rc) {
  switch (rc) {
  case -ENOENT: return 2;
  case -EACCES: return 3;
  case -ECONNREFUSED: return 4;
  case -ETIMEDOUT: return 5;
  case DAG_EINVAL: return 6;
  case -EIO: return 7;
  default: return 1;
  }
}

static long number(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end) {
    fprintf(stderr, "lake_tool: not a number: %s\n", s);
    exit(64);
  }
  return v;
}

static void usage(void) {
  fprintf(stderr, "usage: lake_tool [--url U] [--endpoint E] [--region R] [--path-style] "
                  "[--key-id K] [--page-size N] [--retries N] [--timeout-ms N] "
                  "put KEY [FILE] | get KEY | list [PREFIX] | fill PREFIX N\n");
  exit(64);
}

static int read_input(const char *path, struct strbuf *sb) {
  FILE *fp = path ? fopen(path, "rb") : stdin;
  if (fp == NULL) return -errno;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
    sb_appendn(sb, buf, n);
  int rc = ferror(fp) ? -EIO : 0;
  if (path) fclose(fp);
  return rc;
}

int main(int argc, char **argv) {
  struct lake_options o = {0};
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--path-style") == 0) {
      o.path_style = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (strcmp(opt, "--url") == 0)
      o.url = v;
    else if (strcmp(opt, "--endpoint") == 0)
      o.endpoint = v;
    else if (strcmp(opt, "--region") == 0)
      o.region = v;
    else if (strcmp(opt, "--key-id") == 0)
      o.access_key_id = v;
    else if (strcmp(opt, "--page-size") == 0)
      o.list_page_size = number(v);
    else if (strcmp(opt, "--retries") == 0)
      o.max_retries = (int)number(v);
    else if (strcmp(opt, "--timeout-ms") == 0)
      o.timeout_ms = number(v);
    else
      usage();
  }
  if (i >= argc) usage();
  o.secret_access_key = getenv("LAKE_SECRET_ACCESS_KEY");
  const char *cmd = argv[i++];
  int nargs = argc - i;

  struct lake *lk;
  char *err = NULL;
  int rc = lake_open(&o, &lk, &err);
  if (rc < 0) {
    fprintf(stderr, "%s\n", err);
    free(err);
    return status_of(rc);
  }
  if (strcmp(cmd, "put") == 0 && (nargs == 1 || nargs == 2)) {
    struct strbuf sb = STRBUF_INIT;
    rc = read_input(nargs == 2 ? argv[i + 1] : NULL, &sb);
    if (rc < 0)
      err = xasprintf("lake_tool: cannot read input: %s", strerror(-rc));
    else
      rc = lake_put(lk, argv[i], sb_str(&sb), sb.len, &err);
    sb_free(&sb);
  } else if (strcmp(cmd, "get") == 0 && nargs == 1) {
    char *data;
    size_t len;
    rc = lake_get(lk, argv[i], &data, &len, &err);
    if (rc == 0) {
      fwrite(data, 1, len, stdout);
      free(data);
    }
  } else if (strcmp(cmd, "list") == 0 && nargs <= 1) {
    char **keys;
    size_t n;
    rc = lake_list(lk, nargs ? argv[i] : "", &keys, &n, &err);
    if (rc == 0) {
      for (size_t k = 0; k < n; k++)
        printf("%s\n", keys[k]);
      lake_keys_free(keys, n);
    }
  } else if (strcmp(cmd, "fill") == 0 && nargs == 2) {
    long n = number(argv[i + 1]);
    for (long k = 0; k < n && rc == 0; k++) {
      char *key = xasprintf("%s%05ld", argv[i], k);
      char *body = xasprintf("object %ld\n", k);
      rc = lake_put(lk, key, body, strlen(body), &err);
      free(key);
      free(body);
    }
  } else {
    lake_close(lk);
    usage();
  }
  lake_close(lk);
  if (rc < 0) {
    fprintf(stderr, "%s\n", err);
    free(err);
    return status_of(rc);
  }
  return 0;
}
