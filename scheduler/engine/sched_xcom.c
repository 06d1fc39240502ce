/* sched_xcom.c - XCom values of shell and exec tasks: the file named by
 * $DAGCTL_XCOM (one per try, beside its log) and, with xcom_push:
 * last_line, the last line of output, stored as the task instance's values
 * in the transaction that records its success. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "error.h"
#include "sched_int.h"
#include "xcom_file.h"

char *sched_xcom_path(const struct sched_ti *ti, int try_number) {
  const struct sched_run *r = ti->run;
  char *rel = sched_log_rel_path(ti, try_number); /* ".../N.log" */
  char *path = xasprintf("%s/logs/%.*s.xcom", r->sd->s->cfg->home, (int)(strlen(rel) - 4), rel);
  free(rel);
  return path;
}

/* Up to `max` bytes from the end of `path` (from `offset` 0: the start when
 * it is smaller); *truncated when bytes before them were left out. */
static int read_tail(const char *path, size_t max, char **out, size_t *len, bool *truncated) {
  *out = NULL;
  *len = 0;
  *truncated = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  size_t size = st.st_size > 0 ? (size_t)st.st_size : 0;
  off_t from = size > max ? (off_t)(size - max) : 0;
  *truncated = from > 0;
  size_t want = size - (size_t)from;
  char *buf = xmalloc(want + 1);
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, from + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

int sched_xcom_collect(const struct sched_ti *ti, int try_number, json_t **out, char **why) {
  const struct dag_task *t = &ti->run->ref->dag->tasks[ti->idx];
  struct dag_scheduler *s = ti->run->sd->s;
  *out = NULL;
  *why = NULL;
  if (t->type == DAG_TASK_PLUGIN) return 0;
  json_t *vals = NULL;
  char *path = sched_xcom_path(ti, try_number), *buf = NULL, *err = NULL;
  size_t len = 0;
  bool truncated = false;
  /* One byte past the limit is enough to tell a file that is too large. */
  int rc = read_tail(path, DAG_XCOM_FILE_MAX + 1, &buf, &len, &truncated);
  if (rc == -ENOENT) {
    vals = json_object(); /* the task wrote none */
    rc = 0;
  } else if (rc) {
    *why = xasprintf("cannot read the XCom file %s: %s", path, strerror(-rc));
  } else if (truncated) {
    *why = xasprintf("XCom file ($DAGCTL_XCOM): over the limit of %d bytes", DAG_XCOM_FILE_MAX);
    rc = DAG_EINVAL;
  } else if ((rc = dag_xcom_file_parse(buf, len, &vals, &err)) != 0) {
    *why = xasprintf("XCom file ($DAGCTL_XCOM): %s", err);
  }
  free(buf);
  free(err);
  free(path);
  if (rc == 0 && t->xcom_last_line) {
    char *rel = sched_log_rel_path(ti, try_number);
    char *log = xasprintf("%s/logs/%s", s->cfg->home, rel);
    free(rel);
    char *line = NULL;
    /* The line, and the few lines dagctl writes after it. */
    rc = read_tail(log, DAG_XCOM_VALUE_MAX + 4096, &buf, &len, &truncated);
    if (rc) {
      *why = xasprintf("xcom_push: last_line: cannot read the log %s: %s", log, strerror(-rc));
    } else if ((rc = dag_xcom_last_line(buf, len, &line, &err)) != 0) {
      *why = xasprintf("xcom_push: last_line: %s", err);
    } else {
      /* A key the file gave wins over the line, as a later push would. */
      if (!json_object_get(vals, DAG_XCOM_RETURN_KEY))
        json_object_set_new(vals, DAG_XCOM_RETURN_KEY, json_string(line));
    }
    free(line);
    free(err);
    free(buf);
    free(log);
  }
  if (rc) {
    json_decref(vals);
    return DAG_EINVAL;
  }
  *out = vals;
  return 0;
}

int sched_xcom_store(dag_store *st, int64_t run_pk, const char *task_id, int map_index,
                     const json_t *vals, dag_time_t now) {
  int rc = dag_store_xcom_clear_task(st, run_pk, task_id, map_index);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)vals, key, v) {
    if (rc) break;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    rc = dag_store_xcom_push(st, run_pk, task_id, map_index, key, text, now);
    free(text);
  }
  return rc;
}

void sched_xcom_forget(const struct sched_ti *ti, int try_number) {
  if (ti->run->ref->dag->tasks[ti->idx].type == DAG_TASK_PLUGIN) return;
  char *path = sched_xcom_path(ti, try_number);
  unlink(path); /* a file left by a try of the same number that never ran */
  free(path);
}
