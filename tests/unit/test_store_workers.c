/* test_store_workers.c - the claims of tries queued for workers: a try is
 * claimed once, only by a worker of its queue that can run its type; every
 * later write carries the claim's token and is refused (DAG_ECLAIM) once
 * the claim was taken back from a silent worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "store.h"
#include "store_fixture.h"

struct fixture {
  struct store_fixture s;
  int64_t run_pk;
};

static int setup(void **state) {
  struct fixture *f = xcalloc(1, sizeof(*f));
  store_fixture_open(&f->s);
  struct dag_store_run run = {.dag_id = "d", .run_id = "r1", .run_type = "manual",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 1000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a", "b", "c"};
  int tries[] = {0, 0, 0};
  assert_int_equal(dag_store_create_run(f->s.st, &run, tasks, tries, 3, false, &f->run_pk, NULL),
                   0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  store_fixture_close(&f->s);
  free(f);
  return 0;
}

static const char *const default_q[] = {"default"};
static const char *const shell_only[] = {"shell", "exec"};

static void queue(struct fixture *f, const char *task, int try_number, const char *q,
                  const char *type) {
  assert_int_equal(dag_store_queue_try(f->s.st, f->run_pk, task, try_number, q, type,
                                       "d/r1/x/1.log", 2000),
                   0);
}

static size_t claim(struct fixture *f, dag_store *st, const char *worker,
                    const char *const *queues, size_t nq, const char *const *types, size_t nt,
                    size_t limit, struct dag_store_claim **out) {
  size_t n = 0;
  assert_int_equal(dag_store_claim_tries(st, worker, queues, nq, types, nt, limit, 3000, out, &n),
                   0);
  (void)f;
  return n;
}

static enum dag_task_state ti_state(struct fixture *f, const char *task) {
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_list_tis(f->s.st, f->run_pk, &tis, &n), 0);
  enum dag_task_state s = DAG_TI__COUNT;
  for (size_t i = 0; i < n; i++)
    if (strcmp(tis[i].task_id, task) == 0) s = tis[i].state;
  dag_store_tis_free(tis, n);
  return s;
}

/* A queued try is claimed once, with a token of 32 hex digits, and its task
 * instance goes from queued to running. */
static void claimed_once(void **state) {
  struct fixture *f = *state;
  queue(f, "a", 1, "default", "shell");
  assert_int_equal(ti_state(f, "a"), DAG_TI_QUEUED);
  struct dag_store_claim *c = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 8, &c), 1);
  assert_string_equal(c[0].task_id, "a");
  assert_int_equal(c[0].try_number, 1);
  assert_string_equal(c[0].worker_id, "w1");
  assert_int_equal(strlen(c[0].token), 32);
  assert_int_equal(strspn(c[0].token, "0123456789abcdef"), 32);
  assert_int_equal(ti_state(f, "a"), DAG_TI_RUNNING);
  struct dag_store_try *tries = NULL;
  size_t n_tries = 0;
  assert_int_equal(dag_store_list_tries(f->s.st, f->run_pk, "a", &tries, &n_tries), 0);
  assert_int_equal(n_tries, 1);
  assert_int_equal(tries[0].state, DAG_TI_RUNNING);
  assert_int_equal(tries[0].start_date, 3000);
  assert_string_equal(tries[0].log_path, "d/r1/x/1.log");
  dag_store_tries_free(tries, n_tries);
  /* PostgreSQL reads the run with the claim, in its one statement. */
  if (store_test_kind == DAG_STORE_POSTGRESQL) assert_non_null(c[0].run);
  if (c[0].run) {
    assert_int_equal(c[0].run->pk, f->run_pk);
    assert_string_equal(c[0].run->dag_id, "d");
    assert_string_equal(c[0].run->run_id, "r1");
    assert_int_equal(c[0].run->logical_date, 1000);
    assert_string_equal(c[0].run->conf, "{}");
  }
  dag_store_claims_free(c, 1);

  /* Another connection, as another worker process: nothing left. */
  dag_store *other = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->s.db.state, NULL, &other, &err), 0);
  assert_int_equal(claim(f, other, "w2", default_q, 1, shell_only, 2, 8, &c), 0);
  dag_store_close(other);
}

/* Two workers, two connections, one try each: never the same one. */
static void two_claimers_split(void **state) {
  struct fixture *f = *state;
  queue(f, "a", 1, "default", "shell");
  queue(f, "b", 1, "default", "shell");
  dag_store *other = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->s.db.state, NULL, &other, &err), 0);
  struct dag_store_claim *c1 = NULL, *c2 = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 1, &c1), 1);
  assert_int_equal(claim(f, other, "w2", default_q, 1, shell_only, 2, 1, &c2), 1);
  assert_int_not_equal(c1[0].id, c2[0].id);
  assert_string_not_equal(c1[0].token, c2[0].token);
  dag_store_claims_free(c1, 1);
  dag_store_claims_free(c2, 1);
  dag_store_close(other);
}

/* A worker takes only its queues and the types it can run. */
static void queues_and_types_route(void **state) {
  struct fixture *f = *state;
  queue(f, "a", 1, "etl", "shell");
  queue(f, "b", 1, "default", "sql_check");
  struct dag_store_claim *c = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 8, &c), 0);
  const char *const etl[] = {"etl"};
  assert_int_equal(claim(f, f->s.st, "w1", etl, 1, shell_only, 2, 8, &c), 1);
  assert_string_equal(c[0].task_id, "a");
  dag_store_claims_free(c, 1);
  const char *const with_sql[] = {"shell", "sql_check"};
  assert_int_equal(claim(f, f->s.st, "w2", default_q, 1, with_sql, 2, 8, &c), 1);
  assert_string_equal(c[0].task_id, "b");
  dag_store_claims_free(c, 1);
}

/* The scheduler takes a queued or running claim back (a mark, a run's
 * timeout or deletion): it is recorded at once, lost for the reason given,
 * and its worker's heartbeat and end are refused; an ended claim is not
 * taken. */
static void taken_back_by_the_scheduler(void **state) {
  struct fixture *f = *state;
  queue(f, "a", 1, "default", "shell");
  queue(f, "b", 1, "default", "shell");
  queue(f, "c", 1, "default", "shell");
  struct dag_store_claim *c = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 2, &c), 2);
  assert_int_equal(dag_store_claim_take_back(f->s.st, f->run_pk, "a", 1, "marked while it ran",
                                             5000), 0);
  assert_int_equal(dag_store_claim_heartbeat(f->s.st, c[0].id, c[0].token, 5001), DAG_ECLAIM);
  assert_int_equal(dag_store_claim_end(f->s.st, &c[0], 5001), DAG_ECLAIM);
  /* Recorded already: the scheduler does not take it as an end. */
  struct dag_store_claim *done = NULL;
  size_t n = 9;
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 0);
  struct dag_store_claim one;
  assert_int_equal(dag_store_claim_of_try(f->s.st, f->run_pk, "a", 1, &one), 0);
  assert_null(one.token);
  assert_string_equal(one.lost, "marked while it ran");
  dag_store_claim_clear(&one);
  /* Still queued: taken too, so no worker claims it. */
  assert_int_equal(dag_store_claim_take_back(f->s.st, f->run_pk, "c", 1, "its run was deleted",
                                             5000), 0);
  struct dag_store_claim *none = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 8, &none), 0);
  /* Ended: not taken; nor a try never queued. */
  assert_int_equal(dag_store_claim_end(f->s.st, &c[1], 5002), 0);
  assert_int_equal(dag_store_claim_take_back(f->s.st, f->run_pk, "b", 1, "x", 5003),
                   DAG_ENOTFOUND);
  assert_int_equal(dag_store_claim_take_back(f->s.st, f->run_pk, "b", 2, "x", 5003),
                   DAG_ENOTFOUND);
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(done[0].id, c[1].id);
  dag_store_claims_free(done, n);
  dag_store_claims_free(c, 2);
}

/* The end is accepted with the claim's token only; then the scheduler sees
 * it once, until it marks it recorded. */
static void end_needs_the_token(void **state) {
  struct fixture *f = *state;
  queue(f, "a", 1, "default", "shell");
  struct dag_store_claim *c = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 8, &c), 1);
  char *token = c[0].token;
  c[0].token = xstrdup("00000000000000000000000000000000");
  c[0].exit_status = 3;
  assert_int_equal(dag_store_claim_end(f->s.st, &c[0], 4000), DAG_ECLAIM);
  assert_int_equal(dag_store_claim_heartbeat(f->s.st, c[0].id, c[0].token, 4000), DAG_ECLAIM);
  struct dag_store_claim *done = NULL;
  size_t n = 9;
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 0);
  free(c[0].token);
  c[0].token = token;
  assert_int_equal(dag_store_claim_heartbeat(f->s.st, c[0].id, token, 4000), 0);
  assert_int_equal(dag_store_claim_end(f->s.st, &c[0], 4000), 0);
  /* A second report of the same end changes nothing. */
  assert_int_equal(dag_store_claim_end(f->s.st, &c[0], 4001), DAG_ECLAIM);
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(done[0].exit_status, 3);
  assert_null(done[0].lost);
  assert_int_equal(dag_store_claim_recorded(f->s.st, done[0].id), 0);
  dag_store_claims_free(done, n);
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 0);
  dag_store_claims_free(c, 1);
}

/* Ends reported together, one of them for a try taken back from its
 * worker (silent past the timeout): only that one is refused, and keeps
 * the reaper's outcome; the others are ended with theirs. */
static void batch_of_ends_refuses_only_the_taken_back(void **state) {
  struct fixture *f = *state;
  struct dag_store_worker w = {.id = "w1", .host = "h", .queues = "[\"default\"]",
                               .task_types = "[\"shell\"]", .concurrency = 3};
  struct dag_store_worker w2 = w;
  w2.id = "w2";
  assert_int_equal(dag_store_worker_register(f->s.st, &w, 1000), 0);
  assert_int_equal(dag_store_worker_register(f->s.st, &w2, 1000), 0);
  queue(f, "a", 1, "default", "shell");
  queue(f, "b", 1, "default", "shell");
  queue(f, "c", 1, "default", "shell");
  struct dag_store_claim *ca = NULL, *cb = NULL, *cc = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 1, &ca), 1);
  assert_int_equal(claim(f, f->s.st, "w2", default_q, 1, shell_only, 2, 1, &cb), 1);
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 1, &cc), 1);
  assert_int_equal(dag_store_worker_heartbeat(f->s.st, "w1", 2, 9000), 0);
  size_t workers = 0, tries = 0;
  assert_int_equal(dag_store_reap_workers(f->s.st, 12000, 5000, &workers, &tries), 0);
  assert_int_equal(tries, 1); /* b's */

  ca[0].exit_status = 0;
  cb[0].exit_status = 7;
  cc[0].exit_status = 3;
  cc[0].lost = xstrdup("could not start");
  const struct dag_store_claim *batch[] = {&ca[0], &cb[0], &cc[0]};
  bool refused[3];
  assert_int_equal(dag_store_begin(f->s.st), 0);
  assert_int_equal(dag_store_claims_end(f->s.st, batch, 3, 13000, refused), 0);
  assert_int_equal(dag_store_commit(f->s.st), 0);
  assert_false(refused[0]);
  assert_true(refused[1]);
  assert_false(refused[2]);
  /* Reported again, all three are refused: ended already. */
  assert_int_equal(dag_store_claims_end(f->s.st, batch, 3, 13001, refused), 0);
  assert_true(refused[0] && refused[1] && refused[2]);

  struct dag_store_claim *done = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < n; i++) {
    if (done[i].id == ca[0].id) {
      assert_int_equal(done[i].exit_status, 0);
      assert_null(done[i].lost);
    } else if (done[i].id == cb[0].id) {
      assert_int_equal(done[i].exit_status, -1);
      assert_non_null(strstr(done[i].lost, "its worker w2 stopped heartbeating"));
    } else {
      assert_int_equal(done[i].id, cc[0].id);
      assert_int_equal(done[i].exit_status, 3);
      assert_string_equal(done[i].lost, "could not start");
    }
  }
  dag_store_claims_free(done, n);
  dag_store_claims_free(ca, 1);
  dag_store_claims_free(cb, 1);
  dag_store_claims_free(cc, 1);
}

/* A silent worker is declared gone once, its tries end as lost with the
 * token taken back, and nothing it writes later is accepted. */
static void silent_worker_loses_its_tries(void **state) {
  struct fixture *f = *state;
  struct dag_store_worker w = {.id = "w1", .host = "h", .queues = "[\"default\"]",
                               .task_types = "[\"shell\"]", .concurrency = 2};
  struct dag_store_worker w2 = w;
  w2.id = "w2";
  assert_int_equal(dag_store_worker_register(f->s.st, &w, 1000), 0);
  assert_int_equal(dag_store_worker_register(f->s.st, &w2, 1000), 0);
  queue(f, "a", 1, "default", "shell");
  queue(f, "b", 1, "default", "shell");
  struct dag_store_claim *c = NULL, *c2 = NULL;
  assert_int_equal(claim(f, f->s.st, "w1", default_q, 1, shell_only, 2, 1, &c), 1);
  assert_int_equal(claim(f, f->s.st, "w2", default_q, 1, shell_only, 2, 1, &c2), 1);
  /* w2 keeps beating; w1 fell silent at 1000. */
  assert_int_equal(dag_store_worker_heartbeat(f->s.st, "w2", 1, 9000), 0);
  size_t workers = 0, tries = 0;
  assert_int_equal(dag_store_reap_workers(f->s.st, 12000, 5000, &workers, &tries), 0);
  assert_int_equal(workers, 1);
  assert_int_equal(tries, 1);
  /* A second reaper (another scheduler) finds nothing left to do. */
  assert_int_equal(dag_store_reap_workers(f->s.st, 12000, 5000, &workers, &tries), 0);
  assert_int_equal(workers, 0);

  struct dag_store_claim *done = NULL;
  size_t n = 0;
  assert_int_equal(dag_store_claims_done(f->s.st, &done, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(done[0].id, c[0].id);
  assert_null(done[0].token);
  assert_non_null(strstr(done[0].lost, "its worker w1 stopped heartbeating"));
  dag_store_claims_free(done, n);

  /* The late worker: every write refused. */
  assert_int_equal(dag_store_claim_heartbeat(f->s.st, c[0].id, c[0].token, 13000), DAG_ECLAIM);
  assert_int_equal(dag_store_claim_end(f->s.st, &c[0], 13000), DAG_ECLAIM);
  assert_int_equal(dag_store_worker_heartbeat(f->s.st, "w1", 1, 13000), DAG_ECLAIM);
  assert_int_equal(dag_store_worker_heartbeat(f->s.st, "nobody", 0, 13000), DAG_ENOTFOUND);
  /* The other worker's claim is untouched. */
  assert_int_equal(dag_store_claim_end(f->s.st, &c2[0], 13000), 0);
  /* Back, it registers again and serves. */
  assert_int_equal(dag_store_worker_register(f->s.st, &w, 14000), 0);
  assert_int_equal(dag_store_worker_heartbeat(f->s.st, "w1", 0, 14000), 0);
  struct dag_store_worker *list = NULL;
  assert_int_equal(dag_store_list_workers(f->s.st, &list, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].state, "active");
  assert_string_equal(list[1].state, "active");
  dag_store_workers_free(list, n);
  dag_store_claims_free(c, 1);
  dag_store_claims_free(c2, 1);
}


/* Read the listener until one of `want` was notified (10 s at most, then
 * fail); every channel seen on the way is returned. */
static unsigned wait_for(struct dag_store_listener *l, dag_store *self, unsigned want) {
  unsigned seen = 0;
  for (int i = 0; i < 100 && !(seen & want); i++) {
    struct pollfd p = {.fd = dag_store_listener_fd(l), .events = POLLIN};
    assert_true(p.fd >= 0);
    if (poll(&p, 1, 100) <= 0) continue;
    unsigned got = 0;
    assert_int_equal(dag_store_listener_read(l, self, &got), 0);
    seen |= got;
  }
  if (!(seen & want)) fail_msg("no notification on channels %u (seen %u)", want, seen);
  return seen;
}

static void make_run(dag_store *st, char *run_id, int64_t *pk) {
  struct dag_store_run run = {.dag_id = "d", .run_id = run_id, .run_type = "manual",
                              .logical_date = 1000, .data_interval_start = 1000,
                              .data_interval_end = 1000, .conf = "{}", .queued_at = 1000};
  const char *tasks[] = {"a"};
  int tries[] = {0};
  assert_int_equal(dag_store_create_run(st, &run, tasks, tries, 1, false, pk, NULL), 0);
}

/* PostgreSQL wakes workers when a try is queued and schedulers when a run
 * is created, at the commit only (a rollback sends nothing); a listener
 * can leave out its own store's notifications, and one whose connection
 * was cut connects again. Notifications arrive in commit order, so one on
 * the other channel, committed later, shows what was not sent. SQLite has
 * no listener. */
static void wake_ups_follow_commits(void **state) {
  struct fixture *f = *state;
  struct dag_store_listener *l = NULL;
  if (store_test_kind == DAG_STORE_SQLITE) {
    assert_int_equal(dag_store_listener_new(f->s.st, DAG_STORE_WAKE_WORKERS, &l), DAG_EINVAL);
    return;
  }
  dag_store *other = NULL;
  char *err = NULL;
  assert_int_equal(dag_store_open(f->s.db.state, NULL, &other, &err), 0);
  assert_int_equal(
      dag_store_listener_new(f->s.st, DAG_STORE_WAKE_WORKERS | DAG_STORE_WAKE_SCHEDULERS, &l),
      0);
  assert_int_equal(dag_store_listener_fd(l), -1);
  assert_int_equal(dag_store_listener_connect(l), 0);
  int64_t pk = 0;

  /* Rolled back: nothing. Open: nothing yet. */
  assert_int_equal(dag_store_begin(f->s.st), 0);
  queue(f, "a", 1, "default", "shell");
  dag_store_rollback(f->s.st);
  assert_int_equal(dag_store_begin(f->s.st), 0);
  queue(f, "b", 1, "default", "shell");
  make_run(other, (char[]){"r2"}, &pk);
  assert_int_equal(wait_for(l, NULL, DAG_STORE_WAKE_SCHEDULERS) & DAG_STORE_WAKE_WORKERS, 0);
  /* Committed: the workers hear of it. */
  assert_int_equal(dag_store_commit(f->s.st), 0);
  wait_for(l, NULL, DAG_STORE_WAKE_WORKERS);

  /* Its own store's notification left out. */
  queue(f, "c", 1, "default", "shell");
  make_run(other, (char[]){"r3"}, &pk);
  assert_int_equal(wait_for(l, f->s.st, DAG_STORE_WAKE_SCHEDULERS) & DAG_STORE_WAKE_WORKERS, 0);

  /* The listener's connection cut by the server: reported lost, then
   * connected again and listening. */
  char *url = store__url_with_db(store_test_pg_url, f->s.db.db);
  PGconn *admin = PQconnectdb(url);
  free(url);
  assert_int_equal(PQstatus(admin), CONNECTION_OK);
  PGresult *r = PQexec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                              " WHERE application_name = 'dagctl listener'");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(r), 1);
  PQclear(r);
  PQfinish(admin);
  unsigned got = 0;
  int rc = 0;
  for (int i = 0; i < 100 && rc == 0; i++) {
    struct pollfd p = {.fd = dag_store_listener_fd(l), .events = POLLIN};
    if (poll(&p, 1, 100) > 0) rc = dag_store_listener_read(l, NULL, &got);
  }
  assert_int_equal(rc, DAG_ESTORE);
  assert_non_null(strstr(dag_store_listener_error(l), "connection lost"));
  dag_store_listener_disconnect(l);
  assert_int_equal(dag_store_listener_connect(l), 0);
  make_run(other, (char[]){"r4"}, &pk);
  wait_for(l, NULL, DAG_STORE_WAKE_SCHEDULERS);

  dag_store_listener_free(l);
  dag_store_close(other);
}

/* A statement sent ahead of its answer (PostgreSQL's pipeline) that fails
 * fails its transaction: the same try queued twice in one transaction
 * breaks the claim's unique key, wherever the failure surfaces (at once on
 * SQLite, with the next statement that needs an answer or the COMMIT on
 * PostgreSQL). Nothing of the transaction stays, and the connection serves
 * the next one. */
static void failure_sent_ahead_fails_its_transaction(void **state) {
  struct fixture *f = *state;
  dag_store *st = f->s.st;
  assert_int_equal(dag_store_begin(st), 0);
  assert_int_equal(dag_store_queue_try(st, f->run_pk, "a", 1, "default", "shell", "a.log", 2000),
                   0);
  int rc = dag_store_queue_try(st, f->run_pk, "a", 1, "default", "shell", "a.log", 2000);
  /* A statement that needs an answer, sent after the failed one. */
  struct dag_store_claim *c = NULL;
  size_t n = 0;
  if (rc == 0) rc = dag_store_claims_done(st, &c, &n);
  assert_int_not_equal(rc, 0);
  dag_store_claims_free(c, n);
  assert_int_not_equal(dag_store_commit(st), 0);
  assert_int_equal(ti_state(f, "a"), DAG_TI_NONE);
  assert_int_equal(claim(f, st, "w1", default_q, 1, shell_only, 2, 8, &c), 0);

  /* The same, failing at the COMMIT: nothing stays either. */
  assert_int_equal(dag_store_begin(st), 0);
  queue(f, "b", 1, "default", "shell");
  rc = dag_store_queue_try(st, f->run_pk, "b", 1, "default", "shell", "b.log", 2000);
  if (rc == 0) rc = dag_store_commit(st);
  else dag_store_rollback(st);
  assert_int_not_equal(rc, 0);
  assert_int_equal(ti_state(f, "b"), DAG_TI_NONE);

  /* The connection goes on: a try queued now is claimed. */
  queue(f, "c", 1, "default", "shell");
  assert_int_equal(claim(f, st, "w1", default_q, 1, shell_only, 2, 8, &c), 1);
  assert_string_equal(c[0].task_id, "c");
  dag_store_claims_free(c, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(failure_sent_ahead_fails_its_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(claimed_once, setup, teardown),
      cmocka_unit_test_setup_teardown(two_claimers_split, setup, teardown),
      cmocka_unit_test_setup_teardown(queues_and_types_route, setup, teardown),
      cmocka_unit_test_setup_teardown(end_needs_the_token, setup, teardown),
      cmocka_unit_test_setup_teardown(taken_back_by_the_scheduler, setup, teardown),
      cmocka_unit_test_setup_teardown(batch_of_ends_refuses_only_the_taken_back, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(silent_worker_loses_its_tries, setup, teardown),
      cmocka_unit_test_setup_teardown(wake_ups_follow_commits, setup, teardown),
  };
  return store_backends_run("store_workers", tests, DAG_ARRAY_SIZE(tests));
}
