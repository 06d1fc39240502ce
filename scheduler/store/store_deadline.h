/* store_deadline.h - a DAG's deadline (Airflow 3's DeadlineAlert): the
 * claim that a run missed it, so that its alert is queued once. */
#ifndef DAG_STORE_DEADLINE_H
#define DAG_STORE_DEADLINE_H

#include <stdbool.h>

#include "store.h"

/* Claim run `run_pk`'s missed deadline (`deadline`, noticed `now`): true
 * in *claimed when this call made the claim, false when the run already
 * has one or is no longer queued or running. Part of the caller's
 * transaction, in which the caller queues the alert: a primary key makes
 * the claim, so of two schedulers (PostgreSQL) the second waits for the
 * first's transaction and claims only if it rolled back. One statement; a
 * failure leaves an enclosing transaction usable (store_guard). */
int dag_store_deadline_claim(dag_store *st, int64_t run_pk, dag_time_t deadline, dag_time_t now,
                             bool *claimed);

/* Whether run `run_pk`'s deadline was already claimed missed. */
int dag_store_deadline_missed(dag_store *st, int64_t run_pk, bool *missed);

#endif
