/* run_delete.c - deleting runs (see run_delete.h). */
#define _XOPEN_SOURCE 700
#include "run_delete.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "error.h"
#include "ids.h"
#include "store_mark.h"
#include "timeutil.h"

int dag_run_delete(dag_store *st, const struct dag_store_run *run, bool *deferred) {
  *deferred = false;
  if (run->delete_requested_at) return DAG_ESTATE;
  bool active = run->state == DAG_RUN_QUEUED || run->state == DAG_RUN_RUNNING;
  if (!active) {
    /* A finished run may still have a process: a task marked while it ran,
     * being stopped. */
    struct dag_store_ti *tis = NULL;
    size_t n = 0;
    int rc = dag_store_list_tis(st, run->pk, &tis, &n);
    if (rc) return rc;
    for (size_t i = 0; i < n && !active; i++)
      active = tis[i].pid != 0 || tis[i].state == DAG_TI_RUNNING || tis[i].state == DAG_TI_QUEUED;
    dag_store_tis_free(tis, n);
  }
  if (!active || run->imported_at) return dag_store_run_delete(st, run->pk);
  *deferred = true;
  return dag_store_run_request_delete(st, run->pk, dag_time_now());
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int dag_run_remove_logs(const char *home, const char *dag_id, const char *run_id) {
  if (!dag_id_is_valid(DAG_ID_DAG, dag_id) || !dag_id_is_valid(DAG_ID_RUN, run_id))
    return -EINVAL;
  char *dir = xasprintf("%s/logs/%s/%s", home, dag_id, run_id);
  /* Depth first, without following symbolic links out of the folder. */
  int rc = nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
  if (rc == -1) return errno == ENOENT ? 0 : -errno;
  return rc;
}

bool dag_run_local_scheduler_alive(const char *home) {
  char *path = xasprintf("%s/scheduler.lock", home);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return false;
  char buf[32] = {0};
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return false;
  char *end;
  long pid = strtol(buf, &end, 10);
  if (end == buf || pid <= 0) return false;
  return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}
