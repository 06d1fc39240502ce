/* logs_follow_remote.c - `dagctl logs --follow` of a try that a worker of
 * another machine runs (core.executor: workers): its log is read from that
 * worker's log server as it grows, until the try ends.
 *
 * Each request asks for what lies past the bytes already printed and is
 * held by the worker until the log grows or FOLLOW_WAIT_MS passes
 * (log_server.h): a line written on the worker is printed here at once,
 * and nobody polls a file. Between two requests the try's row is read
 * again; once it has ended, one last request gets the rest (from the log's
 * copy in the lake when the worker is gone). The CLI has no
 * loop of its own to keep free, so the reads simply block. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "log_archive.h"
#include "remote_log.h"
#include "secret.h"
#include "store_vars.h"

/* How long the worker holds a request for more: also the longest this
 * takes to notice the end of a try whose log says nothing more. */
#define FOLLOW_WAIT_MS 1000
/* Between two attempts when the worker cannot be reached: it may be
 * restarting, or be declared gone (then the try ends). */
#define FOLLOW_RETRY_MS 1000

static void out_stdout(void *ud, const char *buf, size_t len) {
  (void)ud;
  fwrite(buf, 1, len, stdout);
}

static void out_masked(void *ud, const char *buf, size_t len) {
  dag_masker_write(ud, buf, len, out_stdout, NULL);
  fflush(stdout);
}

/* The try's state in *state: 0, DAG_ELOCKED (look again), DAG_ENOTFOUND
 * (the run was cleared) or a store error. */
static int try_state(struct cli *c, int64_t run_pk, const char *task_id, int try_number,
                     enum dag_task_state *state) {
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  int rc = dag_store_list_tries(c->store, run_pk, task_id, &tries, &n);
  if (rc == 0) rc = DAG_ENOTFOUND;
  for (size_t i = 0; rc == DAG_ENOTFOUND && i < n; i++)
    if (tries[i].try_number == try_number) {
      *state = tries[i].state;
      rc = 0;
    }
  dag_store_tries_free(tries, n);
  return rc;
}

/* The rest of an ended try's log, from byte `offset`, from its copy in the
 * lake (worker.remote_logging) when its worker cannot serve it; 0 when
 * printed. */
static int rest_from_copy(struct cli *c, int64_t run_pk, const char *task_id, int try_number,
                          const char *rel_path, int64_t offset, struct dag_masker *masker) {
  char *base = NULL;
  if (dag_store_claim_log_archive(c->store, run_pk, task_id, try_number, &base) != 0 || !base)
    return DAG_ENOTFOUND;
  struct dag_log_source *src = dag_log_source_new(&c->cfg, base);
  free(base);
  char *data = NULL, *err = NULL;
  size_t len = 0;
  int rc = dag_log_source_read(src, rel_path, &data, &len, &err);
  dag_log_source_free(src);
  if (rc == 0 && (size_t)offset < len) out_masked(masker, data + offset, len - (size_t)offset);
  free(data);
  free(err);
  return rc;
}

int cli_follow_remote_try(struct cli *c, int64_t run_pk, const char *task_id, int try_number,
                          const char *worker_id, const char *rel_path,
                          enum dag_task_state *final) {
  char *url = NULL;
  int rc = dag_store_worker_log_url(c->store, worker_id, &url);
  if (rc == 0 && !url) {
    fprintf(stderr, "dagctl: try %d of task '%s' runs on worker %s, which serves no logs "
            "(worker.log_server_secret unset there): its log is in that worker's "
            "DAGCTL_HOME/logs/%s\n", try_number, task_id, worker_id, rel_path);
    return -ENOENT;
  }
  if (rc) {
    fprintf(stderr, "dagctl: worker %s: %s\n", worker_id, dag_strerror(rc));
    return rc;
  }
  const char *secret = c->cfg.worker_log_server_secret;
  struct dag_masker masker = DAG_MASKER_INIT;
  dag_store_secret_values(c->store, environ, dag_masker_add_cb, &masker);
  int64_t offset = 0;
  bool ended = false, warned = false;
  enum dag_task_state state = DAG_TI_RUNNING;
  for (;;) {
    rc = try_state(c, run_pk, task_id, try_number, &state);
    if (rc && rc != DAG_ELOCKED) {
      if (rc != DAG_ENOTFOUND) /* gone: the caller says so */
        fprintf(stderr, "dagctl: cannot read the try's state: %s\n", dag_strerror(rc));
      break;
    }
    ended = rc == 0 && state != DAG_TI_RUNNING;
    int64_t got = 0;
    char *err = NULL;
    int rrc = dag_remote_log_next(url, secret, rel_path, offset, ended ? 0 : FOLLOW_WAIT_MS,
                                  out_masked, &masker, &got, &err);
    offset += got;
    rc = 0;
    if (rrc && ended &&
        rest_from_copy(c, run_pk, task_id, try_number, rel_path, offset, &masker) == 0)
      rrc = 0;
    if (rrc && (ended || rrc == -EACCES)) {
      fprintf(stderr, "dagctl: the rest of the log of try %d of task '%s' cannot be read: %s\n",
              try_number, task_id, err);
      rc = ended ? 0 : rrc;
    } else if (rrc && rrc != DAG_ENOTFOUND && !warned) {
      /* Not yet a failure: the worker may come back, or be declared gone
       * and its try failed, which ends the follow. */
      fprintf(stderr, "dagctl: %s; trying again until the try ends\n", err);
      warned = true;
    }
    free(err);
    if (ended || rc) break;
    /* A log not there yet (the try's process is starting) or a worker not
     * answering: ask again shortly. */
    if (rrc) uv_sleep(rrc == DAG_ENOTFOUND ? FOLLOW_RETRY_MS / 5 : FOLLOW_RETRY_MS);
  }
  dag_masker_flush(&masker, out_stdout, NULL);
  fflush(stdout);
  dag_masker_free(&masker);
  free(url);
  *final = state;
  return ended ? 0 : rc;
}
