/* task_dagruns.c - what a plugin task may do with runs of other DAGs
 * (dagctl/plugin.h, minor 4: trigger_dag, dag_state), for `dagctl __task`
 * (cmd_task.c). The try's process is the command line's: it reads the DAG
 * folder and the state store like `dagctl trigger` does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "runs.h"
#include "task_dagruns.h"
#include "timeutil.h"

static int parse_date(const char *iso, dag_time_t *out, char **err) {
  char why[96];
  if (dag_time_parse_iso(iso, out, why, sizeof(why)) == 0) return 0;
  *err = xasprintf("logical_date '%s' is not an ISO-8601 date or time: %s", iso, why);
  return DAG_EINVAL;
}

int cli_task_trigger_dag(struct cli *c, int64_t by_run_pk, const char *by_task_id,
                         const struct cli_task_trigger *t, char **run_id_out, bool *created,
                         char **err) {
  *run_id_out = NULL;
  *err = NULL;
  *created = false;
  if (c->store == NULL || by_run_pk <= 0) {
    *err = xstrdup("no state store: this try belongs to no run");
    return DAG_EINVAL;
  }
  struct dag_store_run prior;
  int rc = dag_store_run_triggered_by(c->store, by_run_pk, by_task_id, t->dag_id, &prior);
  if (rc == 0) {
    *run_id_out = xstrdup(prior.run_id);
    dag_store_run_free(&prior);
    return 0;
  }
  if (rc != DAG_ENOTFOUND) {
    *err = xasprintf("cannot read the state store: %s", dag_store_errmsg(c->store));
    return rc;
  }
  struct dag_run_request req;
  memset(&req, 0, sizeof(req));
  req.type = DAG_RUN_TYPE_MANUAL;
  req.run_id = t->run_id;
  req.conf_json = t->conf_json;
  if (t->logical_date && (rc = parse_date(t->logical_date, &req.logical_date, err)) != 0)
    return rc;
  struct dag *dag = NULL;
  if (cli_load_dag(c, t->dag_id, &dag) != CLI_OK) {
    *err = xasprintf("cannot trigger DAG '%s' (above)", t->dag_id);
    return DAG_ENOTFOUND;
  }
  int64_t pk = 0;
  /* The run and its link in one transaction: a crash leaves both or
   * neither, and the next poke triggers again only if there is neither. */
  if ((rc = dag_store_begin(c->store)) != 0) {
    *err = xasprintf("cannot write the state store: %s", dag_store_errmsg(c->store));
  } else {
    rc = dag_run_create(c->store, dag, &req, &pk, run_id_out, err);
    if (rc == 0 && (rc = dag_store_run_trigger_add(c->store, pk, by_run_pk, by_task_id)) != 0)
      *err = xasprintf("cannot record the triggered run: %s", dag_store_errmsg(c->store));
    if (rc == 0) rc = dag_store_commit(c->store);
    else dag_store_rollback(c->store);
  }
  dag_free(dag);
  if (rc) {
    free(*run_id_out);
    *run_id_out = NULL;
    if (*err == NULL) *err = xasprintf("cannot trigger DAG '%s': %s", t->dag_id, dag_strerror(rc));
    return rc;
  }
  *created = true;
  dag_scheduler_notify(c->cfg.home);
  return 0;
}

int cli_task_dag_state(struct cli *c, const char *dag_id, const char *run_id,
                       const char *logical_date, const char *task_id, char **state,
                       char **err) {
  *state = NULL;
  *err = NULL;
  if (c->store == NULL) {
    *err = xstrdup("no state store");
    return DAG_EINVAL;
  }
  struct dag_store_run run;
  int rc;
  if (run_id) {
    rc = dag_store_get_run(c->store, dag_id, run_id, &run);
  } else {
    dag_time_t at = 0;
    if ((rc = parse_date(logical_date ? logical_date : "", &at, err)) != 0) return rc;
    rc = dag_store_run_at(c->store, dag_id, at, &run);
  }
  if (rc == DAG_ENOTFOUND) return 0;
  if (rc) {
    *err = xasprintf("cannot read the state store: %s", dag_store_errmsg(c->store));
    return rc;
  }
  if (task_id == NULL) {
    *state = xstrdup(dag_run_state_name(run.state));
    dag_store_run_free(&run);
    return 0;
  }
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  rc = dag_store_list_tis(c->store, run.pk, &tis, &n);
  if (rc)
    *err = xasprintf("cannot read the state store: %s", dag_store_errmsg(c->store));
  for (size_t i = 0; rc == 0 && i < n && !*state; i++)
    if (strcmp(tis[i].task_id, task_id) == 0) *state = xstrdup(dag_task_state_name(tis[i].state));
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
  return rc;
}
