/* logs_follow.c - `dagctl logs --follow`: print a running try's log as it
 * grows, until the try ends.
 *
 * Two inotify watches through uv_fs_event, no polling: one on the log's
 * folder (the file grows, or appears), one on DAGCTL_HOME, where every
 * commit of the state store touches dagctl.db or its -wal file; on each of
 * those the try's row is read again, and once it has ended the rest of the
 * log is printed and the loop stops. The try may belong to any scheduler of
 * the home, one that started it or one that adopted it after a restart:
 * only the store and the file are watched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "secret.h"
#include "store_vars.h"

struct follow {
  uv_fs_event_t log_dir;
  uv_fs_event_t home;
  /* A backstop for a home on a file system that sends no events (NFS):
   * a slow re-check, never the way a local follow notices anything. */
  uv_timer_t backstop;
  struct cli *cli;
  int64_t run_pk;
  const char *task_id;    /* borrowed */
  int map_index;
  int try_number;
  const char *path;       /* borrowed */
  int fd;                 /* -1 until the file exists */
  bool done;
  int error;              /* a negative code that stopped the follow */
  enum dag_task_state final;
  struct dag_masker masker; /* connection passwords, secret variables */
};

static void out_stdout(void *ud, const char *buf, size_t len) {
  (void)ud;
  fwrite(buf, 1, len, stdout);
}

/* Print what the file has gained since the last call. A regular file's
 * read does not wait on anyone, so doing it on this loop blocks nothing. */
static void drain(struct follow *f) {
  if (f->fd < 0) {
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) return;
  }
  char buf[65536];
  ssize_t r;
  while ((r = read(f->fd, buf, sizeof(buf))) > 0)
    dag_masker_write(&f->masker, buf, (size_t)r, out_stdout, NULL);
  if (f->done) dag_masker_flush(&f->masker, out_stdout, NULL);
  fflush(stdout);
}

static void stop(struct follow *f) {
  uv_close((uv_handle_t *)&f->log_dir, NULL);
  uv_close((uv_handle_t *)&f->home, NULL);
  uv_close((uv_handle_t *)&f->backstop, NULL);
}

/* Has the try ended? Reads its row; on the end, the last of the log. */
static void check(struct follow *f) {
  if (f->done) return;
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  int rc = dag_store_list_tries(f->cli->store, f->run_pk, f->task_id, &tries, &n);
  if (rc == DAG_ELOCKED) return; /* the scheduler's commit: the next event re-checks */
  const struct dag_store_try *t = NULL;
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (tries[i].try_number == f->try_number && tries[i].map_index == f->map_index) t = &tries[i];
  if (rc || !t) {
    /* The run was cleared away or the store failed: nothing more comes. */
    f->error = rc ? rc : DAG_ENOTFOUND;
    f->done = true;
  } else if (t->state != DAG_TI_RUNNING) {
    f->final = t->state;
    f->done = true;
  }
  dag_store_tries_free(tries, n);
  drain(f);
  if (f->done) stop(f);
}

static void on_log_dir(uv_fs_event_t *h, const char *name, int events, int status) {
  (void)name;
  (void)events;
  struct follow *f = h->data;
  if (status == 0) drain(f);
}

static void on_home(uv_fs_event_t *h, const char *name, int events, int status) {
  (void)events;
  struct follow *f = h->data;
  if (status == 0 && name && strncmp(name, "dagctl.db", 9) == 0) check(f);
}

static void on_backstop(uv_timer_t *t) { check(t->data); }

int cli_follow_try(struct cli *c, int64_t run_pk, const char *task_id, int map_index,
                   int try_number, const char *path, enum dag_task_state *final) {
  struct follow f;
  memset(&f, 0, sizeof(f));
  f.cli = c;
  f.run_pk = run_pk;
  f.task_id = task_id;
  f.map_index = map_index;
  f.try_number = try_number;
  f.path = path;
  f.fd = -1;
  dag_store_secret_values(c->store, environ, dag_masker_add_cb, &f.masker);
  char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  uv_loop_t loop;
  int rc = uv_loop_init(&loop);
  if (rc) {
    free(dir);
    return rc;
  }
  uv_fs_event_init(&loop, &f.log_dir);
  uv_fs_event_init(&loop, &f.home);
  uv_timer_init(&loop, &f.backstop);
  f.log_dir.data = f.home.data = f.backstop.data = &f;
  /* Watch first, then read: what is written in between is not lost. */
  const char *watched = dir;
  if ((rc = uv_fs_event_start(&f.log_dir, on_log_dir, dir, 0)) != 0 ||
      (rc = uv_fs_event_start(&f.home, on_home, (watched = c->cfg.home), 0)) != 0) {
    fprintf(stderr, "dagctl: cannot watch %s: %s\n", watched, uv_strerror(rc));
    stop(&f);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(dir);
    return rc;
  }
  uv_timer_start(&f.backstop, on_backstop, 5000, 5000);
  check(&f);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(dir);
  if (f.fd >= 0) close(f.fd);
  dag_masker_flush(&f.masker, out_stdout, NULL);
  fflush(stdout);
  dag_masker_free(&f.masker);
  *final = f.final;
  return f.error;
}
