/* dag_find.c - a DAG by its id: its stored version, or its file (see
 * dag_find.h). */
#include "dag_find.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "error.h"
#include "log.h"

static int load_file(const struct dag_config *cfg, const char *path, struct dag **out,
                     struct dag_diags *diags) {
  struct dag_load_options opts = {
      .default_timezone = cfg->default_timezone,
      .default_max_active_runs = cfg->max_active_runs_per_dag,
      .default_max_active_tasks = cfg->max_active_tasks_per_dag,
  };
  return dag_load_file(path, &opts, out, diags);
}

static bool is_dag_file(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
                            (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

int dag_find_load(dag_store *store, const struct dag_config *cfg, const char *dag_id,
                  struct dag **out, struct dag_diags *broken) {
  *out = NULL;
  /* A DAG whose file is gone (inactive) has no version to offer: no
   * scheduler would run it. */
  struct dag_store_dag row;
  int rc = store ? dag_store_get_dag(store, dag_id, &row) : DAG_ENOTFOUND;
  bool active = rc == 0 && row.is_active;
  if (rc == 0) dag_store_dag_free(&row);
  struct dag_store_version v;
  rc = active ? dag_store_get_version(store, 0, dag_id, true, &v) : DAG_ENOTFOUND;
  if (rc == 0) {
    char *err = NULL;
    rc = dag_deserialize(v.data, out, &err);
    if (rc) LOG_WARN("stored DAG version unreadable, reading the files dag=%s version=%d "
                     "error=\"%s\"", dag_id, v.version_number, err);
    free(err);
    dag_store_version_free(&v);
    if (rc == 0) return 0;
  }
  /* No version stored yet (no scheduler has seen the file): the files. */
  return dag_find_load_file(store, cfg, dag_id, out, broken);
}

int dag_find_load_version(dag_store *store, int64_t version_id, struct dag **out) {
  struct dag_store_version v;
  *out = NULL;
  int rc = dag_store_get_version(store, version_id, NULL, true, &v);
  if (rc) return rc;
  char *err = NULL;
  rc = dag_deserialize(v.data, out, &err);
  if (rc) LOG_WARN("stored DAG version unreadable dag=%s version=%d error=\"%s\"", v.dag_id,
                   v.version_number, err);
  free(err);
  dag_store_version_free(&v);
  return rc;
}

int dag_find_load_file(dag_store *store, const struct dag_config *cfg, const char *dag_id,
                       struct dag **out, struct dag_diags *broken) {
  *out = NULL;
  /* Fast path: the file the scheduler last loaded it from. */
  struct dag_store_dag row;
  if (store && dag_store_get_dag(store, dag_id, &row) == 0) {
    struct dag *dag = NULL;
    struct dag_diags diags = DAG_DIAGS_INIT;
    if (load_file(cfg, row.fileloc, &dag, &diags) == 0 && strcmp(dag->dag_id, dag_id) == 0) {
      dag_store_dag_free(&row);
      dag_diags_free(&diags);
      *out = dag;
      return 0;
    }
    dag_free(dag);
    dag_store_dag_free(&row);
    dag_diags_free(&diags);
  }

  DIR *d = opendir(cfg->dags_folder);
  if (!d) return -errno;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_dag_file(e->d_name)) continue;
    char *path = xasprintf("%s/%s", cfg->dags_folder, e->d_name);
    struct dag *dag = NULL;
    struct dag_diags fd = DAG_DIAGS_INIT;
    if (load_file(cfg, path, &dag, &fd) == 0) {
      if (strcmp(dag->dag_id, dag_id) == 0) *out = dag;
      else dag_free(dag);
    } else if (broken) {
      /* Keep the errors of broken files: one of them may be the DAG asked
       * for, and the user needs to know why it did not load. */
      for (size_t i = 0; i < fd.n; i++)
        dag_diag_add(broken, fd.items[i].file, fd.items[i].line, fd.items[i].col, "%s",
                     fd.items[i].msg);
    }
    dag_diags_free(&fd);
    free(path);
    if (*out) break;
  }
  closedir(d);
  return *out ? 0 : DAG_ENOTFOUND;
}
