/* test_dag_load.c - the YAML DAG loader.
 *
 * Most cases are data: every tests/data/dags/NNNN-name.yaml is loaded and its
 * diagnostics compared with NNNN-name.expected, line for line (an empty
 * .expected means the file must load). Adding a case is adding two files.
 * Cases named *plugin-params* are loaded as `dagctl validate` loads them,
 * with the catalog of the plugins built beside DAGCTL_BIN (the shipped
 * ones), so their plugin tasks are checked against what those declare; the
 * others without one, as the fuzzer does.
 * The functions below check the model built from a few of the valid files,
 * and what is easier to generate than to write down: big DAGs and limits. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "error.h"
#include "plugins.h"
#include "strbuf.h"

#define DATA_DIR "tests/data/dags"

/* The shipped plugins' declarations, read once in main(). */
static struct dag_plugin_catalog shipped;
#define S INT64_C(1000000)

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s: %s", path, strerror(errno));
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) sb_appendn(&sb, buf, n);
  fclose(f);
  return sb_detach(&sb);
}

/* --- the data-driven cases ------------------------------------------------ */

static void test_data_case(void **state) {
  const char *name = *state; /* "NNNN-name" */
  char *yaml = xasprintf(DATA_DIR "/%s.yaml", name);
  char *exp_path = xasprintf(DATA_DIR "/%s.expected", name);
  char *expected = slurp(exp_path);
  size_t len = strlen(expected);
  while (len && expected[len - 1] == '\n') expected[--len] = '\0';

  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = (struct dag *)1;
  struct dag_load_options opts = {.plugins = &shipped};
  int rc = dag_load_file(yaml, strstr(name, "plugin-params") ? &opts : NULL, &dag, &diags);
  char *got = dag_diags_join(&diags);
  if (strcmp(got, expected) != 0)
    fail_msg("%s: diagnostics differ\n--- expected\n%s\n--- got\n%s\n", yaml, expected, got);
  if (len == 0) {
    assert_int_equal(rc, 0);
    assert_non_null(dag);
    assert_string_equal(dag->file, yaml);
    assert_non_null(dag->topo);
  } else {
    assert_true(rc < 0);
    assert_null(dag);
  }
  dag_free(dag);
  dag_diags_free(&diags);
  free(got);
  free(expected);
  free(exp_path);
  free(yaml);
}

/* --- models of valid files ------------------------------------------------- */

static struct dag *load_ok(const char *name) {
  char *path = xasprintf(DATA_DIR "/%s", name);
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  int rc = dag_load_file(path, NULL, &dag, &diags);
  if (rc != 0) {
    char *msg = dag_diags_join(&diags);
    fail_msg("%s: rc %d\n%s", path, rc, msg);
  }
  assert_int_equal(diags.n, 0);
  dag_diags_free(&diags);
  free(path);
  return dag;
}

static const struct dag_task *task(const struct dag *dag, const char *id) {
  long i = dag_find_task(dag, id);
  if (i < 0) fail_msg("no task '%s'", id);
  return &dag->tasks[i];
}

/* Every task comes after all of its upstream tasks, and exactly once. */
static void assert_topo_valid(const struct dag *dag) {
  size_t *pos = xcalloc(dag->n_tasks, sizeof(*pos));
  for (size_t i = 0; i < dag->n_tasks; i++) pos[i] = SIZE_MAX;
  for (size_t k = 0; k < dag->n_tasks; k++) {
    assert_true(dag->topo[k] < dag->n_tasks);
    assert_int_equal(pos[dag->topo[k]], SIZE_MAX);
    pos[dag->topo[k]] = k;
  }
  for (size_t i = 0; i < dag->n_tasks; i++)
    for (size_t u = 0; u < dag->tasks[i].n_upstream; u++)
      assert_true(pos[dag->tasks[i].upstream[u]] < pos[i]);
  free(pos);
}

static void test_minimal_defaults(void **state) {
  (void)state;
  struct dag *dag = load_ok("0001-minimal.yaml");
  assert_string_equal(dag->dag_id, "minimal");
  assert_string_equal(dag->description, "");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_NONE);
  assert_null(dag->schedule.expr);
  assert_int_equal(dag->start_date, 0);
  assert_int_equal(dag->end_date, 0);
  assert_string_equal(dag->timezone, "UTC");
  assert_false(dag->catchup);
  assert_int_equal(dag->max_active_runs, 16);
  assert_int_equal(dag->max_active_tasks, 16);
  assert_false(dag->is_paused_upon_creation);
  assert_int_equal(dag->n_tags, 0);
  assert_true(json_is_object(dag->params));
  assert_int_equal(json_object_size(dag->params), 0);
  const struct dag_task_args *a = &dag->default_args;
  assert_int_equal(a->retries, 0);
  assert_int_equal(a->retry_delay_us, 300 * S);
  assert_false(a->retry_exponential_backoff);
  assert_int_equal(a->max_retry_delay_us, 0);
  assert_int_equal(a->execution_timeout_us, 0);
  assert_int_equal(a->n_email, 0);
  assert_true(a->email_on_failure);
  assert_true(a->email_on_retry);
  assert_int_equal(dag->n_tasks, 1);
  const struct dag_task *t = &dag->tasks[0];
  assert_string_equal(t->id, "hello");
  assert_int_equal(t->type, DAG_TASK_SHELL);
  assert_string_equal(t->type_name, "shell");
  assert_string_equal(t->command, "echo hello");
  assert_null(t->argv);
  assert_null(t->cwd);
  assert_null(t->config);
  assert_int_equal(t->trigger_rule, DAG_TRIGGER_ALL_SUCCESS);
  assert_int_equal(t->args.retry_delay_us, 300 * S);
  assert_int_equal(t->line, 4);
  assert_int_equal(t->col, 5);
  assert_int_equal(dag->topo[0], 0);
  dag_free(dag);
}

/* Callbacks: the run's, default_args' inherited by every task, a task's
 * replacing one, a null removing one; both spellings, both forms. */
static void test_callbacks(void **state) {
  (void)state;
  struct dag *dag = load_ok("0150-callbacks-ok.yaml");
  assert_string_equal(dag->on[DAG_CB_SUCCESS]->command, "echo run {{ run_id }} ok");
  assert_null(dag->on[DAG_CB_SUCCESS]->argv);
  assert_int_equal(dag->on[DAG_CB_FAILURE]->argc, 2);
  assert_string_equal(dag->on[DAG_CB_FAILURE]->argv[0], "/usr/bin/logger");
  assert_null(dag->on[DAG_CB_FAILURE]->argv[2]);
  assert_null(dag->on[DAG_CB_RETRY]);
  assert_null(dag->on[DAG_CB_EXECUTE]);
  const struct dag_task *a = task(dag, "a"), *b = task(dag, "b");
  assert_string_equal(a->args.on[DAG_CB_EXECUTE]->command, "echo starting");
  assert_string_equal(a->args.on[DAG_CB_SUCCESS]->argv[0], "/bin/true");
  assert_string_equal(a->args.on[DAG_CB_FAILURE]->command, "echo {{ task_id }} failed");
  assert_string_equal(a->args.on[DAG_CB_RETRY]->argv[1], "retry");
  assert_null(a->args.on[DAG_CB_SKIPPED]);
  assert_null(b->args.on[DAG_CB_EXECUTE]);
  assert_string_equal(b->args.on[DAG_CB_FAILURE]->command, "echo b failed");
  assert_null(b->args.on[DAG_CB_RETRY]);
  assert_string_equal(b->args.on[DAG_CB_SKIPPED]->command, "echo skipped");
  /* default_args keeps its own, and the tasks own copies. */
  assert_ptr_not_equal(a->args.on[DAG_CB_FAILURE], dag->default_args.on[DAG_CB_FAILURE]);
  assert_non_null(dag->default_args.on[DAG_CB_RETRY]);
  dag_free(dag);
}

static void test_full_model(void **state) {
  (void)state;
  struct dag *dag = load_ok("0002-full.yaml");
  assert_string_equal(dag->dag_id, "full.example-1");
  assert_string_equal(dag->description, "Loads the nightly export");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_CRON);
  assert_string_equal(dag->schedule.expr, "30 3 * * *");
  assert_true(dag->schedule.cron.minutes == UINT64_C(1) << 30);
  assert_true(dag->schedule.cron.hours == UINT32_C(1) << 3);
  /* Midnight in Paris (UTC+1 in winter); the end date has its own offset. */
  assert_int_equal(dag->start_date, INT64_C(1704063600) * S);
  assert_int_equal(dag->end_date, INT64_C(1735689599) * S);
  assert_string_equal(dag->timezone, "Europe/Paris");
  assert_true(dag->catchup);
  assert_int_equal(dag->max_active_runs, 2);
  assert_int_equal(dag->max_active_tasks, 4);
  assert_true(dag->is_paused_upon_creation);
  assert_int_equal(dag->n_tags, 2);
  assert_string_equal(dag->tags[0], "etl");
  assert_string_equal(dag->tags[1], "nightly");

  /* params: YAML scalars become typed JSON; quoted ones stay strings. */
  json_t *p = dag->params;
  assert_int_equal(json_object_size(p), 7);
  assert_true(json_is_integer(json_object_get(p, "batch")));
  assert_int_equal(json_integer_value(json_object_get(p, "batch")), 500);
  assert_true(json_is_real(json_object_get(p, "ratio")));
  assert_true(json_real_value(json_object_get(p, "ratio")) == 0.25);
  assert_true(json_is_false(json_object_get(p, "dry_run")));
  assert_true(json_is_null(json_object_get(p, "owner")));
  assert_string_equal(json_string_value(json_object_get(p, "code")), "007");
  assert_int_equal(json_array_size(json_object_get(p, "regions")), 2);
  assert_string_equal(json_string_value(json_array_get(json_object_get(p, "regions"), 1)), "us");
  json_t *limits = json_object_get(p, "limits");
  assert_int_equal(json_integer_value(json_object_get(limits, "cpu")), 2);
  assert_string_equal(json_string_value(json_object_get(limits, "memory")), "1Gi");

  const struct dag_task_args *d = &dag->default_args;
  assert_int_equal(d->retries, 2);
  assert_int_equal(d->retry_delay_us, 90 * S);
  assert_true(d->retry_exponential_backoff);
  assert_int_equal(d->max_retry_delay_us, 3600 * S);
  assert_int_equal(d->execution_timeout_us, 7200 * S);
  assert_int_equal(d->n_email, 2);
  assert_string_equal(d->email[0], "ops@example.com");
  assert_string_equal(d->email[1], "data@example.com");
  assert_true(d->email_on_failure);
  assert_false(d->email_on_retry);

  assert_int_equal(dag->n_tasks, 4);
  const struct dag_task *extract = task(dag, "extract");
  assert_int_equal(extract->type, DAG_TASK_SHELL);
  assert_string_equal(extract->command, "./extract.sh {{ ds }} {{ params.batch }}");
  assert_int_equal(extract->n_env, 2);
  assert_string_equal(extract->env[0].name, "RUN_DATE");
  assert_string_equal(extract->env[0].value, "{{ ds }}");
  assert_string_equal(extract->env[1].name, "PORT");
  assert_string_equal(extract->env[1].value, "8080");
  assert_string_equal(extract->cwd, "/srv/etl");
  /* Inherited from default_args, as a deep copy. */
  assert_int_equal(extract->args.retries, 2);
  assert_int_equal(extract->args.n_email, 2);
  assert_ptr_not_equal(extract->args.email, d->email);
  assert_int_equal(extract->n_upstream, 0);
  assert_int_equal(extract->n_downstream, 1);

  const struct dag_task *transform = task(dag, "transform");
  assert_int_equal(transform->type, DAG_TASK_EXEC);
  assert_string_equal(transform->type_name, "exec");
  assert_int_equal(transform->argc, 3);
  assert_string_equal(transform->argv[0], "python3");
  assert_string_equal(transform->argv[2], "--date={{ ds_nodash }}");
  assert_null(transform->argv[3]);
  assert_null(transform->command);
  assert_int_equal(transform->n_upstream, 1);
  assert_int_equal(transform->upstream[0], 0);
  /* Overrides replace; what is not overridden is inherited. */
  assert_int_equal(transform->args.retries, 5);
  assert_int_equal(transform->args.retry_delay_us, 10 * S);
  assert_true(transform->args.retry_exponential_backoff);
  assert_int_equal(transform->args.execution_timeout_us, 7200 * S);
  assert_int_equal(transform->args.n_email, 1);
  assert_string_equal(transform->args.email[0], "oncall@example.com");
  assert_int_equal(transform->n_downstream, 2);
  assert_int_equal(transform->downstream[0], 2);
  assert_int_equal(transform->downstream[1], 3);

  const struct dag_task *load = task(dag, "load");
  assert_int_equal(load->type, DAG_TASK_PLUGIN);
  assert_string_equal(load->type_name, "warehouse_load");
  assert_null(load->command);
  assert_true(json_is_object(load->config));
  assert_int_equal(json_object_size(load->config), 3);
  assert_string_equal(json_string_value(json_object_get(load->config, "table")), "events");
  assert_int_equal(json_array_size(json_object_get(load->config, "columns")), 2);
  assert_string_equal(json_string_value(json_object_get(load->config, "command")),
                      "not ours, the plugin's");
  assert_null(json_object_get(load->config, "execution_timeout"));
  assert_int_equal(load->args.execution_timeout_us, 1800 * S);

  const struct dag_task *notify = task(dag, "notify");
  assert_int_equal(notify->trigger_rule, DAG_TRIGGER_ALL_DONE);
  assert_int_equal(notify->n_upstream, 2);
  assert_int_equal(notify->upstream[0], 2);
  assert_int_equal(notify->upstream[1], 1);
  assert_true(notify->args.email_on_retry);
  assert_false(transform->args.email_on_retry);

  for (size_t i = 0; i < 4; i++) assert_int_equal(dag->topo[i], i);
  dag_free(dag);
}

static void test_schedules(void **state) {
  (void)state;
  struct dag *dag = load_ok("0003-schedule-every.yaml");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_INTERVAL);
  assert_string_equal(dag->schedule.expr, "every 1h30m");
  assert_int_equal(dag->schedule.interval_us, 5400 * S);
  /* 2024-03-10T00:00:00+05:30 */
  assert_int_equal(dag->start_date, INT64_C(1710009000) * S);
  dag_free(dag);

  dag = load_ok("0004-schedule-once.yaml");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_ONCE);
  assert_string_equal(dag->schedule.expr, "@once");
  /* 06:00 in New York on the day DST starts is 10:00 UTC. */
  assert_int_equal(dag->start_date, INT64_C(1710064800) * S);
  assert_int_equal(dag->tasks[0].type, DAG_TASK_EXEC);
  assert_int_equal(dag->tasks[0].argc, 1);
  dag_free(dag);

  dag = load_ok("0005-diamond.yaml");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_CRON);
  assert_string_equal(dag->schedule.expr, "@hourly");
  dag_free(dag);
}

static void test_topo_order(void **state) {
  (void)state;
  struct dag *dag = load_ok("0005-diamond.yaml");
  /* report(0) <- left(1), right(2) <- start(3); lonely(4) */
  static const size_t want[] = {3, 4, 1, 2, 0};
  for (size_t i = 0; i < 5; i++) assert_int_equal(dag->topo[i], want[i]);
  assert_topo_valid(dag);
  const struct dag_task *start = task(dag, "start");
  assert_int_equal(start->n_downstream, 2);
  assert_int_equal(start->downstream[0], 1);
  assert_int_equal(start->downstream[1], 2);
  assert_int_equal(task(dag, "report")->n_upstream, 2);
  dag_free(dag);
}

static void test_anchors_and_merge_keys(void **state) {
  (void)state;
  struct dag *dag = load_ok("0006-anchors-merge.yaml");
  assert_int_equal(task(dag, "a")->args.retries, 3);
  assert_int_equal(task(dag, "a")->args.execution_timeout_us, 3600 * S);
  /* An explicit key beats a merged one. */
  assert_int_equal(task(dag, "b")->args.retries, 1);
  assert_int_equal(task(dag, "b")->args.execution_timeout_us, 3600 * S);
  assert_string_equal(task(dag, "d")->command, "echo c");
  assert_int_equal(task(dag, "c")->args.retries, 0);
  dag_free(dag);
}

static void test_plugin_config(void **state) {
  (void)state;
  struct dag *dag = load_ok("0007-plugin-config.yaml");
  const struct dag_task *t = task(dag, "run_models");
  assert_int_equal(t->type, DAG_TASK_PLUGIN);
  assert_string_equal(t->type_name, "dbt");
  assert_int_equal(t->args.retries, 1);
  json_t *c = t->config;
  assert_int_equal(json_object_size(c), 5);
  assert_string_equal(json_string_value(json_object_get(c, "select")), "tag:nightly");
  assert_int_equal(json_integer_value(json_object_get(c, "threads")), 4);
  assert_true(json_is_false(json_object_get(json_object_get(c, "vars"), "full_refresh")));
  assert_string_equal(json_string_value(json_object_get(c, "sql")),
                      "select * from {{ ref('events') }}");
  assert_null(json_object_get(c, "retries"));
  assert_int_equal(task(dag, "after")->upstream[0], 0);
  dag_free(dag);
}

static void test_null_means_absent(void **state) {
  (void)state;
  struct dag *dag = load_ok("0008-null-means-absent.yaml");
  assert_string_equal(dag->description, "");
  assert_int_equal(dag->schedule.kind, DAG_SCHEDULE_NONE);
  assert_string_equal(dag->timezone, "UTC");
  assert_int_equal(dag->default_args.retries, 0);
  assert_int_equal(dag->tasks[0].n_upstream, 0);
  assert_int_equal(dag->tasks[0].args.retry_delay_us, 300 * S);
  dag_free(dag);
}

/* The demo DAG must keep loading: `make demo` runs it. */
static void test_example_etl(void **state) {
  (void)state;
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = NULL;
  int rc = dag_load_file("dags/example_etl.yaml", NULL, &dag, &diags);
  if (rc != 0) {
    char *msg = dag_diags_join(&diags);
    fail_msg("%s", msg);
  }
  assert_string_equal(dag->dag_id, "example_etl");
  assert_string_equal(dag->schedule.expr, "@daily");
  assert_int_equal(dag->n_tasks, 5);
  assert_int_equal(dag->default_args.retries, 1);
  assert_int_equal(json_integer_value(json_object_get(dag->params, "min_amount")), 20);
  static const char *const order[] = {"extract", "validate", "transform", "load", "report"};
  for (size_t i = 0; i < 5; i++) {
    assert_string_equal(dag->tasks[dag->topo[i]].id, order[i]);
    assert_int_equal(dag->tasks[i].type, DAG_TASK_SHELL);
  }
  assert_int_equal(task(dag, "report")->trigger_rule, DAG_TRIGGER_ALL_DONE);
  dag_free(dag);
}

/* --- generated and API-level cases ------------------------------------------ */

static int load_buf(const char *text, const struct dag_load_options *opts, struct dag **dag,
                    struct dag_diags *diags) {
  return dag_load_buffer("mem.yaml", text, strlen(text), opts, dag, diags);
}

/* t0 <- t1 <- ... <- t9999, declared last first: every upstream is a forward
 * reference, and a quadratic lookup or a recursive walk would show. */
static char *chain_yaml(size_t n, bool ring) {
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, "dag_id: chain\ntasks:\n");
  for (size_t k = n; k-- > 0;) {
    sb_appendf(&sb, "  - id: t%zu\n    command: echo %zu\n", k, k);
    if (k > 0) sb_appendf(&sb, "    upstream: t%zu\n", k - 1);
    else if (ring) sb_appendf(&sb, "    upstream: t%zu\n", n - 1);
  }
  return sb_detach(&sb);
}

/* A long chain loads, in the right order. How fast is for the benchmarks to
 * say, not for a test to assert. */
static void test_large_chain(void **state) {
  (void)state;
  const size_t n = 10000;
  char *yaml = chain_yaml(n, false);
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  assert_int_equal(load_buf(yaml, NULL, &dag, &diags), 0);
  assert_int_equal(dag->n_tasks, n);
  /* Declared in reverse, so topological order is index n-1 down to 0. */
  for (size_t k = 0; k < n; k++) assert_int_equal(dag->topo[k], n - 1 - k);
  assert_topo_valid(dag);
  dag_free(dag);
  dag_diags_free(&diags);
  free(yaml);
}

static void test_large_cycle(void **state) {
  (void)state;
  const size_t n = 10000;
  char *yaml = chain_yaml(n, true);
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  assert_int_equal(load_buf(yaml, NULL, &dag, &diags), DAG_ECYCLE);
  assert_null(dag);
  assert_int_equal(diags.n, 1);
  /* t9999 is declared first; its upstream t9998 closes the cycle. */
  const char *m = diags.items[0].msg;
  assert_int_equal(strncmp(m, "tasks[0].upstream: dependency cycle: t9999 -> t0 -> t1 -> ", 56),
                   0);
  assert_string_equal(m + strlen(m) - 23, "t9997 -> t9998 -> t9999");
  assert_int_equal(diags.items[0].line, 5);
  dag_diags_free(&diags);
  free(yaml);
}

static void test_options(void **state) {
  (void)state;
  struct dag_load_options opts = {
      .default_timezone = "Asia/Tokyo",
      .default_max_active_runs = 3,
      .default_max_active_tasks = 5,
  };
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  const char *yaml = "dag_id: o\nstart_date: 2024-01-01\ntasks: [{id: a, command: x}]\n";
  assert_int_equal(load_buf(yaml, &opts, &dag, &diags), 0);
  assert_string_equal(dag->timezone, "Asia/Tokyo");
  assert_int_equal(dag->max_active_runs, 3);
  assert_int_equal(dag->max_active_tasks, 5);
  /* Local midnight in Tokyo is 15:00 UTC the day before. */
  assert_int_equal(dag->start_date, INT64_C(1704034800) * S);
  assert_string_equal(dag->file, "mem.yaml");
  dag_free(dag);

  yaml = "dag_id: o\ntimezone: UTC\nmax_active_runs: 1\ntasks: [{id: a, command: x}]\n";
  assert_int_equal(load_buf(yaml, &opts, &dag, &diags), 0);
  assert_string_equal(dag->timezone, "UTC");
  assert_int_equal(dag->max_active_runs, 1);
  assert_int_equal(dag->max_active_tasks, 5);
  dag_free(dag);
  assert_int_equal(diags.n, 0);
}

static void test_existing_diags_are_kept(void **state) {
  (void)state;
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  dag_diag_add(&diags, "other.yaml", 99, 1, "earlier problem");
  assert_int_equal(load_buf("dag_id: x\nbad: 1\ntasks: [{id: a, command: x}]\n", NULL, &dag,
                            &diags),
                   DAG_EINVAL);
  assert_int_equal(diags.n, 2);
  assert_string_equal(diags.items[0].msg, "earlier problem");
  assert_string_equal(diags.items[1].file, "mem.yaml");
  assert_int_equal(diags.items[1].line, 2);
  assert_int_equal(diags.items[1].col, 1);
  assert_string_equal(diags.items[1].msg, "bad: unknown key 'bad'");
  dag_diags_free(&diags);
}

static void test_too_many_errors(void **state) {
  (void)state;
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, "dag_id: x\ntasks:\n");
  for (int i = 0; i < 300; i++) sb_appendf(&sb, "  - {id: t%d, command: x, bogus: 1}\n", i);
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  assert_int_equal(load_buf(sb_str(&sb), NULL, &dag, &diags), DAG_EINVAL);
  assert_int_equal(diags.n, 201);
  assert_string_equal(diags.items[199].msg, "tasks[199].bogus: unknown key 'bogus'");
  assert_string_equal(diags.items[200].msg, "too many errors; only the first 200 are shown");
  dag_diags_free(&diags);
  sb_free(&sb);
}

static void test_file_errors(void **state) {
  (void)state;
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag = (struct dag *)1;
  assert_int_equal(dag_load_file(DATA_DIR "/no-such-file.yaml", NULL, &dag, &diags), -ENOENT);
  assert_null(dag);
  char *s = dag_diags_join(&diags);
  assert_string_equal(s, DATA_DIR "/no-such-file.yaml: cannot read: No such file or directory");
  free(s);
  dag_diags_free(&diags);

  assert_int_equal(dag_load_file(DATA_DIR, NULL, &dag, &diags), -EISDIR);
  dag_diags_free(&diags);

  size_t big = 16u * 1024 * 1024 + 1;
  char *buf = xmalloc(big);
  memset(buf, '#', big);
  assert_int_equal(dag_load_buffer("big.yaml", buf, big, NULL, &dag, &diags), DAG_EINVAL);
  s = dag_diags_join(&diags);
  assert_string_equal(s, "big.yaml: file is larger than 16 MiB");
  free(s);
  dag_diags_free(&diags);
  free(buf);
}

static void test_buffer_not_nul_terminated(void **state) {
  (void)state;
  const char text[] = "dag_id: x\ntasks: [{id: a, command: x}]\nJUNK";
  struct dag_diags diags = DAG_DIAGS_INIT;
  struct dag *dag;
  assert_int_equal(dag_load_buffer("m", text, sizeof(text) - 5, NULL, &dag, &diags), 0);
  dag_free(dag);
}

static void test_model_helpers(void **state) {
  (void)state;
  struct dag *dag = load_ok("0002-full.yaml");
  assert_int_equal(dag_find_task(dag, "extract"), 0);
  assert_int_equal(dag_find_task(dag, "notify"), 3);
  assert_int_equal(dag_find_task(dag, "nope"), -1);

  struct dag_task_args copy;
  dag_task_args_copy(&copy, &dag->default_args);
  assert_int_equal(copy.retries, 2);
  assert_int_equal(copy.n_email, 2);
  assert_ptr_not_equal(copy.email, dag->default_args.email);
  assert_ptr_not_equal(copy.email[0], dag->default_args.email[0]);
  assert_string_equal(copy.email[1], "data@example.com");
  dag_task_args_free(&copy);
  assert_null(copy.email);
  assert_int_equal(copy.n_email, 0);
  dag_free(dag);
  dag_free(NULL);
}

/* --- main -------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}


static void assert_upstream(const struct dag *dag, const char *id, size_t n, ...) {
  const struct dag_task *t = task(dag, id);
  if (t->n_upstream != n) fail_msg("%s: %zu upstream tasks, not %zu", id, t->n_upstream, n);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) assert_string_equal(dag->tasks[t->upstream[i]].id, va_arg(ap, const char *));
  va_end(ap);
}

/* Task groups: ids as Airflow's child_id() makes them, default_args merged
 * group over group over DAG under the task's own, and a dependency on a
 * group meaning its leaves, a group's upstream its roots'. */
static void test_task_groups(void **state) {
  (void)state;
  struct dag *dag = load_ok("0130-groups-ok.yaml");
  assert_int_equal(dag->n_tasks, 6);
  const char *order[] = {"start", "report", "etl.load", "etl.extract.users", "etl.extract.orders",
                         "audit_rows"};
  for (size_t i = 0; i < 6; i++) assert_string_equal(dag->tasks[i].id, order[i]);
  assert_int_equal(dag->n_groups, 3);
  assert_string_equal(dag->groups[0].id, "etl");
  assert_string_equal(dag->groups[0].tooltip, "extract then load");
  assert_int_equal(dag->groups[0].parent, 0);
  assert_string_equal(dag->groups[1].id, "etl.extract");
  assert_string_equal(dag->groups[1].label, "extract");
  assert_string_equal(dag->groups[1].tooltip, "");
  assert_int_equal(dag->groups[1].parent, 1);
  assert_true(dag->groups[1].prefix_group_id);
  assert_string_equal(dag->groups[2].id, "audit");
  assert_false(dag->groups[2].prefix_group_id);
  assert_null(dag_task_group(dag, task(dag, "start")));
  assert_ptr_equal(dag_task_group(dag, task(dag, "etl.load")), &dag->groups[0]);
  assert_ptr_equal(dag_task_group(dag, task(dag, "etl.extract.orders")), &dag->groups[1]);
  assert_ptr_equal(dag_task_group(dag, task(dag, "audit_rows")), &dag->groups[2]);

  assert_upstream(dag, "start", 0);
  assert_upstream(dag, "etl.extract.users", 1, "start");   /* etl's roots */
  assert_upstream(dag, "etl.extract.orders", 1, "start");
  assert_upstream(dag, "etl.load", 2, "etl.extract.users", "etl.extract.orders");
  assert_upstream(dag, "audit_rows", 2, "etl.extract.users", "etl.extract.orders");
  assert_upstream(dag, "report", 2, "etl.load", "audit_rows"); /* leaves */
  assert_topo_valid(dag);

  assert_int_equal(task(dag, "start")->args.retries, 1);
  assert_int_equal(task(dag, "etl.load")->args.retries, 5);
  assert_int_equal(task(dag, "etl.load")->args.execution_timeout_us, 0);
  assert_int_equal(task(dag, "etl.extract.users")->args.retries, 3);
  assert_int_equal(task(dag, "etl.extract.users")->args.execution_timeout_us, 3600 * S);
  assert_int_equal(task(dag, "etl.extract.users")->args.retry_delay_us, 10 * S);
  assert_int_equal(task(dag, "audit_rows")->args.retries, 1);
  dag_free(dag);
}

/* trigger_dag and external_task naming a DAG the folder does not have: a
 * warning at the id, with the closest ids; the file still loads. Templated
 * ids, the DAG itself and known ids pass; without the folder's ids, nothing
 * is checked. */
static void test_dag_refs_warn(void **state) {
  (void)state;
  static const char yaml[] =
      "dag_id: parent\n"
      "tasks:\n"
      "  - {id: a, type: trigger_dag, trigger_dag_id: reprots}\n"
      "  - {id: b, type: trigger_dag, trigger_dag_id: reports}\n"
      "  - {id: c, type: trigger_dag, trigger_dag_id: \"{{ params.t }}\"}\n"
      "  - {id: d, type: external_task, external_dag_id: zzz}\n"
      "  - {id: e, type: trigger_dag, trigger_dag_id: parent}\n";
  const char *ids[] = {"reports", "nightly"};
  struct dag_diags diags = DAG_DIAGS_INIT, warnings = DAG_DIAGS_INIT;
  struct dag_load_options opts = {.dag_ids_known = true, .dag_ids = ids, .n_dag_ids = 2,
                                  .warnings = &warnings};
  struct dag *dag = NULL;
  assert_int_equal(dag_load_buffer("p.yaml", yaml, strlen(yaml), &opts, &dag, &diags), 0);
  assert_int_equal(diags.n, 0);
  char *got = dag_diags_join(&warnings);
  assert_string_equal(got,
                      "p.yaml:3:48: tasks[0].trigger_dag_id: no DAG 'reprots' in the DAG folder "
                      "(did you mean 'reports'?)\n"
                      "p.yaml:6:51: tasks[3].external_dag_id: no DAG 'zzz' in the DAG folder");
  free(got);
  dag_free(dag);
  dag_diags_free(&warnings);
  opts.dag_ids_known = false;
  assert_int_equal(dag_load_buffer("p.yaml", yaml, strlen(yaml), &opts, &dag, &diags), 0);
  assert_int_equal(warnings.n, 0);
  dag_free(dag);
}

int main(void) {
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  if (src == NULL || chdir(src) != 0) {
    fprintf(stderr, "DAGCTL_SOURCE_DIR must name the source tree\n");
    return 1;
  }

  static const struct CMUnitTest fixed[] = {
      cmocka_unit_test(test_minimal_defaults),
      cmocka_unit_test(test_full_model),
      cmocka_unit_test(test_callbacks),
      cmocka_unit_test(test_schedules),
      cmocka_unit_test(test_topo_order),
      cmocka_unit_test(test_anchors_and_merge_keys),
      cmocka_unit_test(test_plugin_config),
      cmocka_unit_test(test_null_means_absent),
      cmocka_unit_test(test_example_etl),
      cmocka_unit_test(test_large_chain),
      cmocka_unit_test(test_large_cycle),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_existing_diags_are_kept),
      cmocka_unit_test(test_too_many_errors),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_buffer_not_nul_terminated),
      cmocka_unit_test(test_model_helpers),
      cmocka_unit_test(test_task_groups),
      cmocka_unit_test(test_dag_refs_warn),
  };

  /* One test per NNNN-name.yaml, in name order. */
  DIR *dir = opendir(DATA_DIR);
  if (dir == NULL) {
    fprintf(stderr, "%s: %s\n", DATA_DIR, strerror(errno));
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0) continue;
    names = xgrow(names, &cap, n + 1, sizeof(*names));
    names[n++] = xstrndup(de->d_name, len - 5);
  }
  closedir(dir);
  if (n > 1) qsort(names, n, sizeof(*names), cmp_str);
  if (n < 30) {
    fprintf(stderr, "only %zu cases in %s\n", n, DATA_DIR);
    return 1;
  }

  const char *bin = getenv("DAGCTL_BIN");
  char *slash = bin ? strrchr(bin, '/') : NULL;
  if (slash == NULL) {
    fprintf(stderr, "DAGCTL_BIN must name the dagctl binary, beside its plugins\n");
    return 1;
  }
  char *plugins = xasprintf("%.*s/plugins", (int)(slash - bin), bin);
  dag_plugin_catalog_scan(&shipped, plugins);
  free(plugins);
  if (dag_plugin_catalog_find(&shipped, "generate_events") == NULL) {
    fprintf(stderr, "the shipped plugins are not built beside %s\n", bin);
    return 1;
  }

  size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
  struct CMUnitTest *tests = xcalloc(n + n_fixed, sizeof(*tests));
  memcpy(tests, fixed, sizeof(fixed));
  for (size_t i = 0; i < n; i++) {
    tests[n_fixed + i].name = names[i];
    tests[n_fixed + i].test_func = test_data_case;
    tests[n_fixed + i].initial_state = names[i];
  }
  int failed = _cmocka_run_group_tests("dag_load", tests, n + n_fixed, NULL, NULL);
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(tests);
  dag_plugin_catalog_free(&shipped);
  return failed;
}
