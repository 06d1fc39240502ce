/* priority.h - pools and priority weights, as Airflow's.
 *
 * A pool is a named count of slots (the state database's pool table); a
 * try of a task holds its pool_slots slots of its pool while it is queued
 * or running, and waits while they are not free. default_pool always
 * exists. Among the ready tasks that compete for slots (a pool's, the
 * DAG's max_active_tasks, core.parallelism), the one of the highest
 * effective weight starts first; its weight_rule says how its own
 * priority_weight adds up with its relatives' (dag.h). */
#ifndef DAG_PRIORITY_H
#define DAG_PRIORITY_H

#include <stdint.h>

#include "dag.h"

#define DAG_DEFAULT_POOL "default_pool"
#define DAG_DEFAULT_POOL_SLOTS 128
#define DAG_POOL_NAME_MAX 256
#define DAG_MAX_POOL_SLOTS 1000000 /* of a pool, and a task's pool_slots */

/* "downstream", "upstream", "absolute". Static. */
const char *dag_weight_rule_name(enum dag_weight_rule r);
/* 0, or DAG_EINVAL for another name. */
int dag_weight_rule_parse(const char *name, enum dag_weight_rule *out);

/* Why `name` cannot name a pool (static text), or NULL: 1 to
 * DAG_POOL_NAME_MAX bytes, no control characters. */
const char *dag_pool_name_problem(const char *name);

/* The pool a task's tries hold slots of (borrowed): its own, or
 * default_pool. */
const char *dag_task_pool(const struct dag_task *t);

/* The effective weight of every task of `dag` into out[dag->n_tasks]
 * (caller's): Airflow's priority_weight_total. downstream: its own
 * priority_weight plus that of every task downstream of it, each counted
 * once however many paths lead there; upstream: the same upward;
 * absolute: its own. Clamped to the 32-bit range, as Airflow's
 * db_safe_priority(). Costs O((n / 64) * (n + edges)) time and O(n)
 * memory: computed once per loaded DAG version. */
void dag_priority_weights(const struct dag *dag, int32_t *out);

#endif
