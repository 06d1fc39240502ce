/* test_state.c - state names and trigger rules against Airflow's semantics.
 *
 * Two layers: a table of named cases, each one sentence of Airflow's
 * documentation; then every combination of upstream outcomes for up to five
 * upstreams, compared with a transliteration of Airflow's
 * TriggerRuleDep._evaluate_direct_relatives (airflow/ti_deps/deps/
 * trigger_rule_dep.py, flag_upstream_failed=True, no mapped tasks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "state.h"

#define W DAG_VERDICT_WAIT
#define R DAG_VERDICT_RUN
#define SK DAG_VERDICT_SKIP
#define UF DAG_VERDICT_UPSTREAM_FAILED

static const char *verdict_name(enum dag_trigger_verdict v) {
  switch (v) {
  case DAG_VERDICT_WAIT: return "wait";
  case DAG_VERDICT_RUN: return "run";
  case DAG_VERDICT_SKIP: return "skip";
  case DAG_VERDICT_UPSTREAM_FAILED: return "upstream_failed";
  }
  return "?";
}

static struct dag_upstream_counts counts(int total, int success, int skipped, int failed,
                                         int upstream_failed) {
  struct dag_upstream_counts c = {.total = total,
                                  .success = success,
                                  .skipped = skipped,
                                  .failed = failed,
                                  .upstream_failed = upstream_failed,
                                  .done = success + skipped + failed + upstream_failed};
  return c;
}

/* Airflow's decision, restated: first the state the task is marked with
 * (upstream_failed or skipped), then whether its dependency is met. */
static enum dag_trigger_verdict airflow(enum dag_trigger_rule rule,
                                        const struct dag_upstream_counts *c) {
  const int upstream = c->total, success = c->success, skipped = c->skipped;
  const int failed = c->failed, upstream_failed = c->upstream_failed, done = c->done;
  const int upstream_done = done >= upstream;

  if (rule == DAG_TRIGGER_ALWAYS || upstream == 0) return R;

  enum dag_trigger_verdict marked = W;
  switch (rule) {
  case DAG_TRIGGER_ALL_SUCCESS:
    if (upstream_failed || failed)
      marked = UF;
    else if (skipped)
      marked = SK;
    break;
  case DAG_TRIGGER_ALL_FAILED:
    if (success || skipped) marked = SK;
    break;
  case DAG_TRIGGER_ONE_SUCCESS:
    if (upstream_done && done == skipped)
      marked = SK;
    else if (upstream_done && success <= 0)
      marked = UF;
    break;
  case DAG_TRIGGER_ONE_FAILED:
    if (upstream_done && !(failed || upstream_failed)) marked = SK;
    break;
  case DAG_TRIGGER_NONE_FAILED:
    if (upstream_failed || failed) marked = UF;
    break;
  case DAG_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
    if (upstream_failed || failed)
      marked = UF;
    else if (skipped == upstream)
      marked = SK;
    break;
  case DAG_TRIGGER_NONE_SKIPPED:
    if (skipped) marked = SK;
    break;
  case DAG_TRIGGER_ALL_SKIPPED:
    if (success || failed || upstream_failed) marked = SK;
    break;
  default: break;
  }
  if (marked != W) return marked;

  int met = 0;
  switch (rule) {
  case DAG_TRIGGER_ONE_SUCCESS: met = success > 0; break;
  case DAG_TRIGGER_ONE_FAILED: met = failed || upstream_failed; break;
  case DAG_TRIGGER_ALL_SUCCESS: met = upstream - success <= 0; break;
  case DAG_TRIGGER_ALL_FAILED: met = upstream - failed - upstream_failed <= 0; break;
  case DAG_TRIGGER_ALL_DONE: met = upstream_done; break;
  case DAG_TRIGGER_NONE_FAILED:
  case DAG_TRIGGER_NONE_FAILED_MIN_ONE_SUCCESS:
    met = upstream - success - skipped <= 0;
    break;
  case DAG_TRIGGER_NONE_SKIPPED: met = upstream_done && skipped == 0; break;
  case DAG_TRIGGER_ALL_SKIPPED: met = upstream - skipped <= 0; break;
  default: met = 1; break;
  }
  return met ? R : W;
}

struct rule_case {
  enum dag_trigger_rule rule;
  int total, success, skipped, failed, upstream_failed;
  enum dag_trigger_verdict want;
  const char *why;
};

#define C(rule, t, s, sk, f, uf, want, why)                                              \
  { DAG_TRIGGER_##rule, t, s, sk, f, uf, want, why }

static const struct rule_case cases[] = {
    C(ALL_SUCCESS, 0, 0, 0, 0, 0, R, "no upstream: runs"),
    C(ALL_SUCCESS, 3, 3, 0, 0, 0, R, "all succeeded"),
    C(ALL_SUCCESS, 3, 2, 0, 0, 0, W, "one still running"),
    C(ALL_SUCCESS, 3, 1, 0, 1, 0, UF, "a failure decides before the rest finish"),
    C(ALL_SUCCESS, 3, 1, 0, 0, 1, UF, "upstream_failed propagates"),
    C(ALL_SUCCESS, 3, 1, 1, 0, 0, SK, "a skip propagates before the rest finish"),
    C(ALL_SUCCESS, 3, 0, 1, 1, 0, UF, "failure wins over skip"),
    C(ALL_FAILED, 2, 0, 0, 2, 0, R, "all failed"),
    C(ALL_FAILED, 2, 0, 0, 1, 1, R, "upstream_failed counts as failed"),
    C(ALL_FAILED, 2, 0, 0, 1, 0, W, "one still running"),
    C(ALL_FAILED, 2, 1, 0, 0, 0, SK, "a success skips at once"),
    C(ALL_FAILED, 2, 0, 1, 0, 0, SK, "a skip skips at once"),
    C(ALL_DONE, 3, 1, 1, 1, 0, R, "any mix of outcomes"),
    C(ALL_DONE, 3, 0, 0, 0, 3, R, "even all upstream_failed"),
    C(ALL_DONE, 3, 1, 1, 0, 0, W, "one still running"),
    C(ONE_SUCCESS, 3, 1, 0, 0, 0, R, "fires on the first success"),
    C(ONE_SUCCESS, 3, 0, 1, 1, 0, W, "waits while one may still succeed"),
    C(ONE_SUCCESS, 3, 0, 3, 0, 0, SK, "all skipped: skipped"),
    C(ONE_SUCCESS, 3, 0, 2, 1, 0, UF, "done without a success: upstream_failed"),
    C(ONE_SUCCESS, 2, 0, 0, 0, 2, UF, "all upstream_failed"),
    C(ONE_FAILED, 3, 0, 0, 1, 0, R, "fires on the first failure"),
    C(ONE_FAILED, 3, 0, 0, 0, 1, R, "upstream_failed counts"),
    C(ONE_FAILED, 3, 2, 0, 0, 0, W, "waits while one may still fail"),
    C(ONE_FAILED, 3, 2, 1, 0, 0, SK, "done without a failure: skipped"),
    C(NONE_FAILED, 3, 1, 2, 0, 0, R, "successes and skips"),
    C(NONE_FAILED, 3, 0, 3, 0, 0, R, "even all skipped"),
    C(NONE_FAILED, 3, 1, 0, 1, 0, UF, "a failure decides at once"),
    C(NONE_FAILED, 3, 1, 1, 0, 0, W, "one still running"),
    C(NONE_FAILED_MIN_ONE_SUCCESS, 3, 1, 2, 0, 0, R, "one success, rest skipped"),
    C(NONE_FAILED_MIN_ONE_SUCCESS, 3, 0, 3, 0, 0, SK, "all skipped: skipped"),
    C(NONE_FAILED_MIN_ONE_SUCCESS, 3, 0, 2, 0, 0, W, "not all done"),
    C(NONE_FAILED_MIN_ONE_SUCCESS, 3, 0, 0, 0, 1, UF, "upstream_failed decides at once"),
    C(NONE_SKIPPED, 3, 1, 0, 2, 0, R, "failures are fine, only skips count"),
    C(NONE_SKIPPED, 3, 1, 1, 0, 0, SK, "a skip decides at once"),
    C(NONE_SKIPPED, 3, 2, 0, 0, 0, W, "one still running"),
    C(ALL_SKIPPED, 2, 0, 2, 0, 0, R, "all skipped"),
    C(ALL_SKIPPED, 2, 0, 1, 0, 0, W, "one still running"),
    C(ALL_SKIPPED, 2, 1, 0, 0, 0, SK, "a success skips at once"),
    C(ALL_SKIPPED, 2, 0, 0, 0, 1, SK, "an upstream_failed skips at once"),
    C(ALWAYS, 3, 0, 0, 0, 0, R, "runs before anything finishes"),
    C(ALWAYS, 3, 0, 0, 3, 0, R, "and after anything"),
};

static void test_named_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct rule_case *k = &cases[i];
    struct dag_upstream_counts c =
        counts(k->total, k->success, k->skipped, k->failed, k->upstream_failed);
    enum dag_trigger_verdict got = dag_trigger_rule_eval(k->rule, &c);
    if (got != k->want)
      fail_msg("%s (%s): got %s, want %s", dag_trigger_rule_name(k->rule), k->why,
               verdict_name(got), verdict_name(k->want));
    /* The table and the reference model must agree too. */
    assert_int_equal(airflow(k->rule, &c), k->want);
  }
}

static void test_every_combination_matches_airflow(void **state) {
  (void)state;
  int checked = 0;
  for (int rule = 0; rule < DAG_TRIGGER__COUNT; rule++) {
    for (int total = 0; total <= 5; total++) {
      for (int s = 0; s <= total; s++)
        for (int sk = 0; s + sk <= total; sk++)
          for (int f = 0; s + sk + f <= total; f++)
            for (int uf = 0; s + sk + f + uf <= total; uf++) {
              struct dag_upstream_counts c = counts(total, s, sk, f, uf);
              enum dag_trigger_verdict want = airflow((enum dag_trigger_rule)rule, &c);
              enum dag_trigger_verdict got =
                  dag_trigger_rule_eval((enum dag_trigger_rule)rule, &c);
              if (got != want)
                fail_msg("%s total=%d success=%d skipped=%d failed=%d "
                         "upstream_failed=%d: got %s, want %s",
                         dag_trigger_rule_name((enum dag_trigger_rule)rule), total, s, sk,
                         f, uf, verdict_name(got), verdict_name(want));
              checked++;
            }
    }
  }
  /* 10 rules x sum over total<=5 of C(total+4, 4) outcome mixes. */
  assert_int_equal(checked, 10 * (1 + 5 + 15 + 35 + 70 + 126));
}

/* The scheduler acts on the first verdict other than WAIT, so a decision
 * must never fall back to WAIT as more upstreams finish, and RUN must stay
 * RUN. (SKIP may become UPSTREAM_FAILED: in Airflow, too, which one a task
 * gets depends on which upstream finished first.) */
static void test_decisions_are_stable(void **state) {
  (void)state;
  const int total = 4;
  for (int rule = 0; rule < DAG_TRIGGER__COUNT; rule++)
    for (int s = 0; s <= total; s++)
      for (int sk = 0; s + sk <= total; sk++)
        for (int f = 0; s + sk + f <= total; f++)
          for (int uf = 0; s + sk + f + uf <= total; uf++) {
            struct dag_upstream_counts c = counts(total, s, sk, f, uf);
            enum dag_trigger_verdict v =
                dag_trigger_rule_eval((enum dag_trigger_rule)rule, &c);
            if (v == W || c.done == total) continue;
            const struct dag_upstream_counts next[] = {
                counts(total, s + 1, sk, f, uf), counts(total, s, sk + 1, f, uf),
                counts(total, s, sk, f + 1, uf), counts(total, s, sk, f, uf + 1)};
            for (size_t i = 0; i < 4; i++) {
              enum dag_trigger_verdict later =
                  dag_trigger_rule_eval((enum dag_trigger_rule)rule, &next[i]);
              if (later == W || (v == R && later != R))
                fail_msg("%s: verdict %s became %s after another upstream finished",
                         dag_trigger_rule_name((enum dag_trigger_rule)rule),
                         verdict_name(v), verdict_name(later));
            }
          }
}

static void test_names_round_trip(void **state) {
  (void)state;
  static const char *const tasks[] = {"none",         "scheduled",       "queued",
                                      "running",      "success",         "failed",
                                      "up_for_retry", "upstream_failed", "skipped",
                                      "up_for_reschedule"};
  assert_int_equal(DAG_TI__COUNT, 10);
  for (int i = 0; i < DAG_TI__COUNT; i++) {
    enum dag_task_state s;
    assert_string_equal(dag_task_state_name((enum dag_task_state)i), tasks[i]);
    assert_int_equal(dag_task_state_parse(tasks[i], &s), 0);
    assert_int_equal(s, i);
  }
  static const char *const runs[] = {"queued", "running", "success", "failed"};
  for (int i = 0; i < DAG_RUN__COUNT; i++) {
    enum dag_run_state s;
    assert_string_equal(dag_run_state_name((enum dag_run_state)i), runs[i]);
    assert_int_equal(dag_run_state_parse(runs[i], &s), 0);
    assert_int_equal(s, i);
  }
  static const char *const rules[] = {"all_success",
                                      "all_failed",
                                      "all_done",
                                      "one_success",
                                      "one_failed",
                                      "none_failed",
                                      "none_failed_min_one_success",
                                      "none_skipped",
                                      "all_skipped",
                                      "always"};
  for (int i = 0; i < DAG_TRIGGER__COUNT; i++) {
    enum dag_trigger_rule r;
    assert_string_equal(dag_trigger_rule_name((enum dag_trigger_rule)i), rules[i]);
    assert_int_equal(dag_trigger_rule_parse(rules[i], &r), 0);
    assert_int_equal(r, i);
  }
}

static void test_bad_names(void **state) {
  (void)state;
  enum dag_task_state ts = DAG_TI_RUNNING;
  enum dag_run_state rs = DAG_RUN_RUNNING;
  enum dag_trigger_rule tr = DAG_TRIGGER_ALWAYS;
  assert_int_equal(dag_task_state_parse("Success", &ts), DAG_EINVAL);
  assert_int_equal(dag_task_state_parse("", &ts), DAG_EINVAL);
  assert_int_equal(ts, DAG_TI_RUNNING); /* untouched on error */
  assert_int_equal(dag_run_state_parse("scheduled", &rs), DAG_EINVAL);
  assert_int_equal(rs, DAG_RUN_RUNNING);
  /* Airflow rules dagctl does not implement are refused, not guessed. */
  assert_int_equal(dag_trigger_rule_parse("one_done", &tr), DAG_EINVAL);
  assert_int_equal(dag_trigger_rule_parse("dummy", &tr), DAG_EINVAL);
  assert_int_equal(tr, DAG_TRIGGER_ALWAYS);
  assert_string_equal(dag_task_state_name(DAG_TI__COUNT), "?");
  assert_string_equal(dag_run_state_name((enum dag_run_state) - 1), "?");
  assert_string_equal(dag_trigger_rule_name(DAG_TRIGGER__COUNT), "?");
}

static void test_finished_states(void **state) {
  (void)state;
  for (int i = 0; i < DAG_TI__COUNT; i++) {
    bool want = i == DAG_TI_SUCCESS || i == DAG_TI_FAILED ||
                i == DAG_TI_UPSTREAM_FAILED || i == DAG_TI_SKIPPED;
    assert_int_equal(dag_task_state_is_finished((enum dag_task_state)i), want);
  }
}

/* A task group's state in the grid, as Airflow's: failed wins over
 * everything, running over success, a task not started yet keeps the
 * group from showing success, skipped only when all are. */
static void test_group_summary(void **state) {
  (void)state;
  enum dag_task_state s[4];
#define SUM(...)                                                              \
  (memcpy(s, (enum dag_task_state[]){__VA_ARGS__}, sizeof((enum dag_task_state[]){__VA_ARGS__})), \
   dag_task_state_summary(s, sizeof((enum dag_task_state[]){__VA_ARGS__}) / sizeof(s[0])))
  assert_int_equal(SUM(DAG_TI_SUCCESS, DAG_TI_FAILED, DAG_TI_RUNNING), DAG_TI_FAILED);
  assert_int_equal(SUM(DAG_TI_SUCCESS, DAG_TI_UPSTREAM_FAILED, DAG_TI_RUNNING),
                   DAG_TI_UPSTREAM_FAILED);
  assert_int_equal(SUM(DAG_TI_SUCCESS, DAG_TI_RUNNING, DAG_TI_NONE), DAG_TI_RUNNING);
  assert_int_equal(SUM(DAG_TI_RUNNING, DAG_TI_QUEUED), DAG_TI_QUEUED);
  assert_int_equal(SUM(DAG_TI_UP_FOR_RETRY, DAG_TI_UP_FOR_RESCHEDULE), DAG_TI_UP_FOR_RETRY);
  assert_int_equal(SUM(DAG_TI_SUCCESS, DAG_TI_NONE), DAG_TI_NONE);
  assert_int_equal(SUM(DAG_TI_SUCCESS, DAG_TI_SKIPPED), DAG_TI_SUCCESS);
  assert_int_equal(SUM(DAG_TI_SKIPPED, DAG_TI_SKIPPED), DAG_TI_SKIPPED);
  assert_int_equal(SUM(DAG_TI_SCHEDULED, DAG_TI_RUNNING, DAG_TI_SUCCESS), DAG_TI_SCHEDULED);
#undef SUM
  assert_int_equal(dag_task_state_summary(s, 0), DAG_TI_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_named_cases),
      cmocka_unit_test(test_every_combination_matches_airflow),
      cmocka_unit_test(test_decisions_are_stable),
      cmocka_unit_test(test_names_round_trip),
      cmocka_unit_test(test_bad_names),
      cmocka_unit_test(test_finished_states),
      cmocka_unit_test(test_group_summary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
