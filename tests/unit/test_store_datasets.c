/* test_store_datasets.c - the trigger logic of DAGs triggered by data, on
 * SQLite and PostgreSQL: an update queues the dataset for its consumers,
 * a consumer's claim succeeds only once every dataset of its schedule is
 * queued, takes the rows (so the next claim needs new updates), and of
 * two schedulers claiming at once exactly one gets the set. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "error.h"
#include "store.h"
#include "store_datasets.h"
#include "store_fixture.h"

static struct dag *load(const char *yaml) {
  struct dag *dag = NULL;
  struct dag_diags diags = DAG_DIAGS_INIT;
  if (dag_load_buffer("/dags/d.yaml", yaml, strlen(yaml), NULL, &dag, &diags) != 0)
    fail_msg("%s", diags.n ? diags.items[0].msg : "?");
  dag_diags_free(&diags);
  return dag;
}

static const char PRODUCER[] =
    "dag_id: producer\ntasks:\n"
    "  - id: silver\n    command: x\n    outlets: [warehouse://silver]\n"
    "  - id: gold\n    command: x\n    upstream: silver\n    outlets: [warehouse://gold]\n";
static const char CONSUMER[] =
    "dag_id: consumer\nschedule: [warehouse://silver, warehouse://gold]\n"
    "tasks:\n  - id: check\n    command: x\n";
static const char GOLD_ONLY[] =
    "dag_id: gold_only\nschedule:\n  timetable: '@daily'\n  datasets: [warehouse://gold]\n"
    "tasks:\n  - id: check\n    command: x\n";

static char *const consumer_uris[] = {"warehouse://silver", "warehouse://gold"};

static void sync_all(dag_store *st, dag_time_t now) {
  const char *yamls[] = {PRODUCER, CONSUMER, GOLD_ONLY};
  for (size_t i = 0; i < 3; i++) {
    struct dag *d = load(yamls[i]);
    bool paused;
    assert_int_equal(dag_store_sync_dag(st, d, false, now, &paused), 0);
    dag_free(d);
  }
}

static void event(dag_store *st, const char *uri, const char *task, dag_time_t now, int want) {
  int queued = -1;
  assert_int_equal(dag_store_begin(st), 0);
  assert_int_equal(dag_store_dataset_event(st, uri, "producer", task, "r1", now, &queued), 0);
  assert_int_equal(dag_store_commit(st), 0);
  assert_int_equal(queued, want);
}

static bool claim(dag_store *st, struct dag_store_dataset_claim *c) {
  assert_int_equal(dag_store_begin(st), 0);
  assert_int_equal(dag_store_dataset_claim(st, "consumer", consumer_uris, 2, c), 0);
  assert_int_equal(dag_store_commit(st), 0);
  return c->ready;
}

static void test_claim_needs_every_dataset(void **state) {
  struct store_fixture *f = *state;
  sync_all(f->st, 100);
  struct dag_store_dataset_claim c;
  assert_false(claim(f->st, &c));
  /* silver: queued for consumer only; gold: for consumer and gold_only. */
  event(f->st, "warehouse://silver", "silver", 200, 1);
  assert_false(claim(f->st, &c));
  /* A second update of silver finds it queued already. */
  event(f->st, "warehouse://silver", "silver", 250, 0);
  assert_false(claim(f->st, &c));
  event(f->st, "warehouse://gold", "gold", 300, 2);
  assert_true(claim(f->st, &c));
  assert_int_equal(c.n, 2);
  assert_int_equal(c.first, 200); /* silver's first queued update */
  assert_int_equal(c.last, 300);
  dag_store_dataset_claim_free(&c);
  /* Taken: the next run needs new updates of both. */
  assert_false(claim(f->st, &c));
  event(f->st, "warehouse://gold", "gold", 400, 1); /* gold_only's row is still there */
  assert_false(claim(f->st, &c));
  event(f->st, "warehouse://silver", "silver", 500, 1);
  assert_true(claim(f->st, &c));
  dag_store_dataset_claim_free(&c);
}

/* A claim in a transaction that rolls back (its run could not be created)
 * leaves the queue as it was. */
static void test_rolled_back_claim_keeps_the_queue(void **state) {
  struct store_fixture *f = *state;
  sync_all(f->st, 100);
  event(f->st, "warehouse://silver", "silver", 200, 1);
  event(f->st, "warehouse://gold", "gold", 300, 2);
  struct dag_store_dataset_claim c;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_dataset_claim(f->st, "consumer", consumer_uris, 2, &c), 0);
  assert_true(c.ready);
  dag_store_dataset_claim_free(&c);
  dag_store_rollback(f->st);
  assert_true(claim(f->st, &c));
  dag_store_dataset_claim_free(&c);
}

/* The run a claim creates is linked to the events it consumed; the events
 * list names it, and the datasets list names producers and consumers. */
static void test_run_links_and_lists(void **state) {
  struct store_fixture *f = *state;
  sync_all(f->st, 100);
  event(f->st, "warehouse://silver", "silver", 200, 1);
  event(f->st, "warehouse://silver", "silver", 210, 0);
  event(f->st, "warehouse://gold", "gold", 300, 2);
  struct dag_store_dataset_claim c;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_dataset_claim(f->st, "consumer", consumer_uris, 2, &c), 0);
  assert_true(c.ready);
  struct dag_store_run row = {.dag_id = "consumer", .run_id = "dataset_triggered__x",
                              .run_type = "dataset_triggered", .conf = "{}", .queued_at = 300,
                              .logical_date = 300, .data_interval_start = c.first,
                              .data_interval_end = c.last};
  const char *ids[] = {"check"};
  int tries[] = {0};
  int64_t pk = 0;
  assert_int_equal(dag_store_create_run(f->st, &row, ids, tries, 1, false, &pk, NULL), 0);
  assert_int_equal(dag_store_dataset_link_run(f->st, pk, &c), 0);
  assert_int_equal(dag_store_commit(f->st), 0);
  dag_store_dataset_claim_free(&c);

  struct dag_store_dataset_event_filter flt = {.source_dag_id = "producer"};
  struct dag_store_dataset_event *e = NULL;
  size_t n = 0;
  int64_t total = 0;
  assert_int_equal(dag_store_list_dataset_events(f->st, &flt, &e, &n, &total), 0);
  assert_int_equal(n, 3);
  assert_int_equal(total, 3);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(e[i].n_runs, 1);
    assert_string_equal(e[i].runs[0].dag_id, "consumer");
    assert_string_equal(e[i].runs[0].state, "queued");
  }
  assert_string_equal(e[2].uri, "warehouse://gold");
  assert_string_equal(e[2].source_task_id, "gold");
  assert_int_equal(e[2].source_map_index, -1);
  dag_store_dataset_events_free(e, n);
  flt.newest_first = true;
  flt.limit = 1;
  assert_int_equal(dag_store_list_dataset_events(f->st, &flt, &e, &n, &total), 0);
  assert_int_equal(n, 1);
  assert_int_equal(total, 3);
  assert_int_equal(e[0].timestamp, 300);
  dag_store_dataset_events_free(e, n);

  struct dag_store_dataset *d = NULL;
  assert_int_equal(dag_store_list_datasets(f->st, NULL, &d, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(d[0].uri, "warehouse://gold");
  assert_int_equal(d[0].n_consumers, 2);
  assert_string_equal(d[0].consumers[0].dag_id, "consumer");
  assert_string_equal(d[0].consumers[1].dag_id, "gold_only");
  assert_int_equal(d[0].n_producers, 1);
  assert_string_equal(d[0].producers[0].task_id, "gold");
  assert_int_equal(d[0].last_event, 300);
  assert_int_equal(d[1].n_events, 2);
  dag_store_datasets_free(d, n);

  /* The consumer's file drops gold: its reference goes at the next load. */
  struct dag *changed = load("dag_id: consumer\nschedule: [warehouse://silver]\n"
                             "tasks:\n  - id: check\n    command: x\n");
  bool paused;
  assert_int_equal(dag_store_sync_dag(f->st, changed, false, 900, &paused), 0);
  dag_free(changed);
  assert_int_equal(dag_store_list_datasets(f->st, "warehouse://gold", &d, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(d[0].n_consumers, 1);
  assert_string_equal(d[0].consumers[0].dag_id, "gold_only");
  dag_store_datasets_free(d, n);
}

/* --- two schedulers claiming at once ------------------------------------------- */

struct second {
  dag_store *st;
  int rc;
  bool ready;
};

static void *second_claim(void *arg) {
  struct second *x = arg;
  struct dag_store_dataset_claim c;
  x->rc = dag_store_begin(x->st);
  if (x->rc == 0) {
    x->rc = dag_store_dataset_claim(x->st, "consumer", consumer_uris, 2, &c);
    x->ready = x->rc == 0 && c.ready;
    if (x->rc == 0) dag_store_dataset_claim_free(&c);
    if (x->rc == 0)
      x->rc = dag_store_commit(x->st);
    else
      dag_store_rollback(x->st);
  }
  return NULL;
}

/* The second connection's backend waits for a lock (pg_locks). */
static bool pg_someone_waits(const char *url) {
  PGconn *c = PQconnectdb(url);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks WHERE NOT granted");
  bool waits = PQresultStatus(r) == PGRES_TUPLES_OK && strtol(PQgetvalue(r, 0, 0), NULL, 10) > 0;
  PQclear(r);
  PQfinish(c);
  return waits;
}

static void test_two_schedulers_one_run(void **state) {
  struct store_fixture *f = *state;
  sync_all(f->st, 100);
  event(f->st, "warehouse://silver", "silver", 200, 1);
  event(f->st, "warehouse://gold", "gold", 300, 2);
  char *err = NULL;
  struct second x = {0};
  assert_int_equal(dag_store_open(f->db.state, NULL, &x.st, &err), 0);
  /* The first claims and holds its transaction open. */
  struct dag_store_dataset_claim c;
  assert_int_equal(dag_store_begin(f->st), 0);
  assert_int_equal(dag_store_dataset_claim(f->st, "consumer", consumer_uris, 2, &c), 0);
  assert_true(c.ready);
  dag_store_dataset_claim_free(&c);
  if (store_test_kind == DAG_STORE_POSTGRESQL) {
    /* The second's claim waits on the rows' lock, then finds them gone. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, second_claim, &x), 0);
    for (int i = 0; i < 5000 && !pg_someone_waits(f->db.state); i++) usleep(1000);
    assert_true(pg_someone_waits(f->db.state));
    assert_int_equal(dag_store_commit(f->st), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(x.rc, 0);
    assert_false(x.ready);
  } else {
    /* SQLite: one writer at a time; the second's BEGIN is refused until
     * the first commits, then it finds the rows gone. */
    assert_int_equal(dag_store_begin(x.st), DAG_ELOCKED);
    assert_int_equal(dag_store_commit(f->st), 0);
    second_claim(&x);
    assert_int_equal(x.rc, 0);
    assert_false(x.ready);
  }
  dag_store_close(x.st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(test_claim_needs_every_dataset),
      STORE_TEST(test_rolled_back_claim_keeps_the_queue),
      STORE_TEST(test_run_links_and_lists),
      STORE_TEST(test_two_schedulers_one_run),
  };
  return store_backends_run("store_datasets", tests, DAG_ARRAY_SIZE(tests));
}
