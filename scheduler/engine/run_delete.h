/* run_delete.h - deleting a run with its task instances, tries, XComs and
 * logs (`dagctl delete`, DELETE .../dagRuns/{run_id}, the page). A run
 * with nothing running is deleted at once; an active one is handed to
 * the scheduler, which stops its tasks first (sched_delete.c). */
#ifndef DAG_RUN_DELETE_H
#define DAG_RUN_DELETE_H

#include <stdbool.h>

#include "store.h"

/* Delete `run` (part of the caller's transaction, which carries its audit
 * entry), or, while it is queued or running or a task of it still has a
 * process, ask the scheduler to (*deferred). After the caller's commit, a
 * run deleted at once needs dag_run_remove_logs(). DAG_ESTATE: asked
 * already. */
int dag_run_delete(dag_store *st, const struct dag_store_run *run, bool *deferred);

/* Remove DAGCTL_HOME/logs/DAG/RUN and all in it (ids are checked to name
 * no other folder). 0, or a negative errno of the first failure. */
int dag_run_remove_logs(const char *home, const char *dag_id, const char *run_id);

/* Whether a scheduler runs on this home (its lock file names a live
 * process). Schedulers of other machines sharing a PostgreSQL state are
 * not seen. */
bool dag_run_local_scheduler_alive(const char *home);

#endif
