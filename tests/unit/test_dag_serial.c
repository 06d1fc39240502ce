/* test_dag_serial.c - the stored form of a DAG: every field of the model
 * survives a round trip, and the version id depends on the content alone. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "dag.h"
#include "dag_load.h"
#include "dag_serial.h"
#include "error.h"
#include "sha256.h"

/* A field added to the model and not to dag_serial.c would be lost in the
 * database without a word: these sizes (LP64) change with any added field
 * and fail here, sending whoever added it to dag_serial.c and to
 * same_dag() below. */
static void test_model_unchanged(void **state) {
  (void)state;
  assert_int_equal(sizeof(void *), 8);
  assert_int_equal(sizeof(struct dag), 432);
  assert_int_equal(sizeof(struct dag_task), 344);
  assert_int_equal(sizeof(struct dag_group), 48);
  assert_int_equal(sizeof(struct dag_expand), 24);
  assert_int_equal(sizeof(struct dag_task_args), 128);
  assert_int_equal(sizeof(struct dag_callback), 24);
  assert_int_equal(sizeof(struct dag_schedule), 64);
  assert_int_equal(sizeof(struct dag_cron), 24);
  assert_int_equal(sizeof(struct dag_env), 16);
}

static void same_str(const char *a, const char *b) {
  if (a == NULL || b == NULL) assert_ptr_equal(a, b);
  else assert_string_equal(a, b);
}

static void same_strs(char *const *a, size_t na, char *const *b, size_t nb) {
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++) assert_string_equal(a[i], b[i]);
}

static void same_indexes(const size_t *a, size_t na, const size_t *b, size_t nb) {
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++) assert_int_equal(a[i], b[i]);
}

static void same_callbacks(struct dag_callback *const *a, struct dag_callback *const *b) {
  for (int i = 0; i < DAG_CB__COUNT; i++) {
    if (a[i] == NULL || b[i] == NULL) {
      assert_ptr_equal(a[i], b[i]);
      continue;
    }
    same_str(a[i]->command, b[i]->command);
    if (a[i]->argv == NULL || b[i]->argv == NULL) assert_ptr_equal(a[i]->argv, b[i]->argv);
    else same_strs(a[i]->argv, a[i]->argc, b[i]->argv, b[i]->argc);
  }
}

static void same_args(const struct dag_task_args *a, const struct dag_task_args *b) {
  assert_int_equal(a->retries, b->retries);
  assert_int_equal(a->retry_delay_us, b->retry_delay_us);
  assert_int_equal(a->retry_exponential_backoff, b->retry_exponential_backoff);
  assert_int_equal(a->max_retry_delay_us, b->max_retry_delay_us);
  assert_int_equal(a->execution_timeout_us, b->execution_timeout_us);
  same_strs(a->email, a->n_email, b->email, b->n_email);
  assert_int_equal(a->email_on_failure, b->email_on_failure);
  assert_int_equal(a->email_on_retry, b->email_on_retry);
  same_callbacks(a->on, b->on);
  same_str(a->pool, b->pool);
  assert_int_equal(a->pool_slots, b->pool_slots);
  assert_int_equal(a->priority_weight, b->priority_weight);
  assert_int_equal(a->weight_rule, b->weight_rule);
}

static void same_json(json_t *a, json_t *b) {
  if (a == NULL || b == NULL) assert_ptr_equal(a, b);
  else assert_true(json_equal(a, b));
}

/* Every field of every struct of the model, one line each. */
static void same_dag(const struct dag *a, const struct dag *b) {
  same_str(a->dag_id, b->dag_id);
  same_str(a->file, b->file);
  same_str(a->description, b->description);
  assert_int_equal(a->schedule.kind, b->schedule.kind);
  same_str(a->schedule.expr, b->schedule.expr);
  assert_int_equal(a->schedule.cron.minutes, b->schedule.cron.minutes);
  assert_int_equal(a->schedule.cron.hours, b->schedule.cron.hours);
  assert_int_equal(a->schedule.cron.days, b->schedule.cron.days);
  assert_int_equal(a->schedule.cron.months, b->schedule.cron.months);
  assert_int_equal(a->schedule.cron.weekdays, b->schedule.cron.weekdays);
  assert_int_equal(a->schedule.cron.days_star, b->schedule.cron.days_star);
  assert_int_equal(a->schedule.cron.weekdays_star, b->schedule.cron.weekdays_star);
  assert_int_equal(a->schedule.cron.wall_clock, b->schedule.cron.wall_clock);
  assert_int_equal(a->schedule.interval_us, b->schedule.interval_us);
  same_strs(a->schedule.datasets, a->schedule.n_datasets, b->schedule.datasets, b->schedule.n_datasets);
  assert_int_equal(a->start_date, b->start_date);
  assert_int_equal(a->end_date, b->end_date);
  same_str(a->timezone, b->timezone);
  assert_int_equal(a->catchup, b->catchup);
  assert_int_equal(a->max_active_runs, b->max_active_runs);
  assert_int_equal(a->max_active_tasks, b->max_active_tasks);
  assert_int_equal(a->dagrun_timeout_us, b->dagrun_timeout_us);
  assert_int_equal(a->deadline_after, b->deadline_after);
  assert_int_equal(a->deadline_within_us, b->deadline_within_us);
  same_strs(a->notify_email, a->n_notify_email, b->notify_email, b->n_notify_email);
  assert_int_equal(a->n_notify_hooks, b->n_notify_hooks);
  for (size_t i = 0; i < a->n_notify_hooks; i++) {
    same_str(a->notify_hooks[i].format, b->notify_hooks[i].format);
    same_str(a->notify_hooks[i].url_connection, b->notify_hooks[i].url_connection);
  }
  assert_int_equal(a->is_paused_upon_creation, b->is_paused_upon_creation);
  same_strs(a->tags, a->n_tags, b->tags, b->n_tags);
  same_json(a->params, b->params);
  same_json(a->params_schema, b->params_schema);
  same_args(&a->default_args, &b->default_args);
  same_callbacks(a->on, b->on);
  assert_int_equal(a->n_tasks, b->n_tasks);
  for (size_t i = 0; i < a->n_tasks; i++) {
    const struct dag_task *x = &a->tasks[i], *y = &b->tasks[i];
    same_str(x->id, y->id);
    assert_int_equal(x->type, y->type);
    same_str(x->type_name, y->type_name);
    same_str(x->command, y->command);
    if (x->argv == NULL || y->argv == NULL) assert_ptr_equal(x->argv, y->argv);
    else {
      same_strs(x->argv, x->argc, y->argv, y->argc);
      assert_null(y->argv[y->argc]); /* execvp needs the terminator */
    }
    assert_int_equal(x->n_env, y->n_env);
    for (size_t k = 0; k < x->n_env; k++) {
      assert_string_equal(x->env[k].name, y->env[k].name);
      assert_string_equal(x->env[k].value, y->env[k].value);
    }
    same_str(x->cwd, y->cwd);
    same_str(x->queue, y->queue);
    same_strs(x->outlets, x->n_outlets, y->outlets, y->n_outlets);
    assert_memory_equal(x->skip_exit, y->skip_exit, sizeof(x->skip_exit));
    assert_int_equal(x->xcom_last_line, y->xcom_last_line);
    assert_int_equal(x->branch, y->branch);
    assert_int_equal(x->short_circuit, y->short_circuit);
    assert_int_equal(x->ignore_downstream_trigger_rules, y->ignore_downstream_trigger_rules);
    assert_int_equal(x->n_expand, y->n_expand);
    for (size_t k = 0; k < x->n_expand; k++) {
      assert_string_equal(x->expand[k].name, y->expand[k].name);
      same_json(x->expand[k].list, y->expand[k].list);
      same_str(x->expand[k].tmpl, y->expand[k].tmpl);
    }
    same_json(x->config, y->config);
    same_indexes(x->upstream, x->n_upstream, y->upstream, y->n_upstream);
    same_indexes(x->downstream, x->n_downstream, y->downstream, y->n_downstream);
    assert_int_equal(x->trigger_rule, y->trigger_rule);
    same_args(&x->args, &y->args);
    assert_int_equal(x->line, y->line);
    assert_int_equal(x->col, y->col);
    assert_int_equal(x->group, y->group);
  }
  same_indexes(a->topo, a->n_tasks, b->topo, b->n_tasks);
  assert_int_equal(a->n_groups, b->n_groups);
  for (size_t i = 0; i < a->n_groups; i++) {
    const struct dag_group *x = &a->groups[i], *y = &b->groups[i];
    same_str(x->id, y->id);
    same_str(x->label, y->label);
    same_str(x->tooltip, y->tooltip);
    assert_int_equal(x->prefix_group_id, y->prefix_group_id);
    assert_int_equal(x->parent, y->parent);
    assert_int_equal(x->line, y->line);
    assert_int_equal(x->col, y->col);
  }
}

static char **strs(size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  char **v = xcalloc(n + 1, sizeof(*v));
  for (size_t i = 0; i < n; i++) v[i] = xstrdup(va_arg(ap, const char *));
  va_end(ap);
  return v;
}

static size_t *idx(size_t n, ...) {
  va_list ap;
  va_start(ap, n);
  size_t *v = xcalloc(n ? n : 1, sizeof(*v));
  for (size_t i = 0; i < n; i++) v[i] = va_arg(ap, size_t);
  va_end(ap);
  return v;
}

static void fill_args(struct dag_task_args *a, int seed) {
  a->retries = 3 + seed;
  a->retry_delay_us = 5000000 + seed;
  a->retry_exponential_backoff = true;
  a->max_retry_delay_us = 60000000 + seed;
  a->execution_timeout_us = 7000000 + seed;
  a->email = strs(2, "ops@example.com", seed ? "task@example.com" : "dag@example.com");
  a->n_email = 2;
  a->email_on_failure = true;
  a->email_on_retry = true;
  /* Callbacks: a command on even seeds, an argv on odd ones. */
  a->on[seed % DAG_CB__COUNT] = xcalloc(1, sizeof(struct dag_callback));
  if (seed % 2) {
    a->on[seed % DAG_CB__COUNT]->argv = strs(2, "/bin/notify", "{{ ti.try_number }}");
    a->on[seed % DAG_CB__COUNT]->argc = 2;
  } else {
    a->on[seed % DAG_CB__COUNT]->command = xstrdup("echo failed {{ ds }}");
  }
  a->pool = xstrdup(seed ? "etl pool" : "default_pool");
  a->pool_slots = 2 + seed;
  a->priority_weight = -7 - seed;
  a->weight_rule = seed % 2 ? DAG_WEIGHT_UPSTREAM : DAG_WEIGHT_ABSOLUTE;
}

/* A DAG with every field set to something other than its zero value. */
static struct dag *full_dag(void) {
  struct dag *d = xcalloc(1, sizeof(*d));
  d->dag_id = xstrdup("full");
  d->file = xstrdup("/dags/full.yaml");
  d->description = xstrdup("every field \"quoted\" \xc3\xa9");
  d->schedule.kind = DAG_SCHEDULE_CRON;
  d->schedule.expr = xstrdup("5 4 * * 1-5");
  d->schedule.cron = (struct dag_cron){.minutes = UINT64_C(1) << 59, .hours = 1u << 23,
                                       .days = 0xfffffffe, .months = 0x1ffe, .weekdays = 0x3e,
                                       .days_star = true, .weekdays_star = true,
                                       .wall_clock = true};
  d->schedule.interval_us = 1800000000;
  d->schedule.n_datasets = 2;
  d->schedule.datasets = xcalloc(2, sizeof(char *));
  d->schedule.datasets[0] = xstrdup("warehouse://gold/top_tracks");
  d->schedule.datasets[1] = xstrdup("s3://lake/raw");
  d->start_date = INT64_C(1700000000000000);
  d->end_date = INT64_C(1800000000000000);
  d->timezone = xstrdup("Europe/Paris");
  d->catchup = true;
  d->max_active_runs = 7;
  d->max_active_tasks = 9;
  d->dagrun_timeout_us = 5400LL * 1000000;
  d->deadline_after = DAG_DEADLINE_QUEUED_AT;
  d->deadline_within_us = 2700LL * 1000000;
  d->notify_email = strs(2, "a@x.org", "b@y.org");
  d->n_notify_email = 2;
  d->n_notify_hooks = 1;
  d->notify_hooks = xcalloc(1, sizeof(*d->notify_hooks));
  d->notify_hooks[0] = (struct dag_notify_hook){xstrdup("slack"), xstrdup("slack_data")};
  d->is_paused_upon_creation = true;
  d->tags = strs(2, "b", "a");
  d->n_tags = 2;
  d->params = json_pack("{s:i, s:f, s:[s, b, n]}", "n", 3, "r", 0.1, "l", "x", 1);
  d->params_schema = json_pack("{s:{s:s, s:i}}", "n", "type", "integer", "maximum", 9);
  fill_args(&d->default_args, 0);
  d->on[DAG_CB_SUCCESS] = xcalloc(1, sizeof(struct dag_callback));
  d->on[DAG_CB_SUCCESS]->command = xstrdup("echo run ok");
  d->on[DAG_CB_FAILURE] = xcalloc(1, sizeof(struct dag_callback));
  d->on[DAG_CB_FAILURE]->argv = strs(1, "/bin/page");
  d->on[DAG_CB_FAILURE]->argc = 1;
  d->n_tasks = 3;
  d->tasks = xcalloc(3, sizeof(*d->tasks));
  struct dag_task *t = &d->tasks[0];
  t->id = xstrdup("sh");
  t->type = DAG_TASK_SHELL;
  t->type_name = xstrdup("shell");
  t->command = xstrdup("echo {{ ds }}");
  t->env = xcalloc(2, sizeof(*t->env));
  t->env[0] = (struct dag_env){xstrdup("A"), xstrdup("1")};
  t->env[1] = (struct dag_env){xstrdup("B"), xstrdup("{{ run_id }}")};
  t->n_env = 2;
  t->cwd = xstrdup("/tmp/{{ ds }}");
  t->queue = xstrdup("etl");
  t->n_outlets = 1;
  t->outlets = xcalloc(1, sizeof(char *));
  t->outlets[0] = xstrdup("warehouse://gold/top_tracks");
  dag_task_set_skip_exit(t, DAG_SKIP_EXIT_DEFAULT);
  t->xcom_last_line = true;
  t->branch = true;
  t->ignore_downstream_trigger_rules = true;
  t->downstream = idx(2, (size_t)1, (size_t)2);
  t->n_downstream = 2;
  t->trigger_rule = DAG_TRIGGER_ALL_SUCCESS;
  fill_args(&t->args, 1);
  t->line = 12;
  t->col = 5;
  t = &d->tasks[1];
  t->id = xstrdup("ex");
  t->type = DAG_TASK_EXEC;
  t->type_name = xstrdup("exec");
  t->argv = strs(3, "/bin/echo", "a b", "");
  dag_task_set_skip_exit(t, 0);
  dag_task_set_skip_exit(t, 3);
  dag_task_set_skip_exit(t, 255);
  t->short_circuit = true;
  t->ignore_downstream_trigger_rules = false;
  t->argc = 3;
  t->n_expand = 2;
  t->expand = xcalloc(2, sizeof(*t->expand));
  t->expand[0] = (struct dag_expand){xstrdup("item"), json_pack("[i, s, {s:b}]", 1, "x", "k", 1),
                                     NULL};
  t->expand[1] = (struct dag_expand){xstrdup("file"), NULL,
                                     xstrdup("{{ ti.xcom_pull('sh') }}")};
  t->upstream = idx(1, (size_t)0);
  t->n_upstream = 1;
  t->trigger_rule = DAG_TRIGGER_ALL_DONE;
  fill_args(&t->args, 2);
  t->line = 20;
  t->col = 7;
  t = &d->tasks[2];
  t->id = xstrdup("pl");
  t->type = DAG_TASK_PLUGIN;
  t->type_name = xstrdup("s3_sensor");
  t->ignore_downstream_trigger_rules = true; /* as the loader sets it */
  t->config = json_pack("{s:s, s:{s:i}}", "bucket", "b", "nested", "k", 1);
  t->upstream = idx(1, (size_t)0);
  t->n_upstream = 1;
  t->trigger_rule = DAG_TRIGGER_ONE_FAILED;
  fill_args(&t->args, 3);
  t->line = 30;
  t->col = 9;
  t->group = 2;
  d->topo = idx(3, (size_t)0, (size_t)2, (size_t)1);
  d->n_groups = 2;
  d->groups = xcalloc(2, sizeof(*d->groups));
  d->groups[0] = (struct dag_group){xstrdup("etl"), xstrdup("etl"), xstrdup("the ETL"), false,
                                    0, 40, 3};
  d->groups[1] = (struct dag_group){xstrdup("load"), xstrdup("load"), xstrdup(""), true, 1, 44,
                                    5};
  return d;
}

static void round_trip(const struct dag *dag) {
  char *text = dag_serialize(dag);
  struct dag *back = NULL;
  char *err = NULL;
  int rc = dag_deserialize(text, &back, &err);
  if (rc) fail_msg("%s", err);
  same_dag(dag, back);
  char *again = dag_serialize(back);
  assert_string_equal(text, again); /* canonical: the same bytes, so the same version */
  free(again);
  free(text);
  dag_free(back);
}

static void test_round_trip_every_field(void **state) {
  (void)state;
  struct dag *d = full_dag();
  round_trip(d);
  dag_free(d);
}

/* Every valid DAG of the loader's data cases, as the loader builds it. */
static void test_round_trip_data_cases(void **state) {
  (void)state;
  const char *src = getenv("DAGCTL_SOURCE_DIR");
  assert_non_null(src);
  char *dir = xasprintf("%s/tests/data/dags", src);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int loaded = 0;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0) continue;
    char *path = xasprintf("%s/%s", dir, e->d_name);
    struct dag *dag = NULL;
    struct dag_diags diags = DAG_DIAGS_INIT;
    if (dag_load_file(path, NULL, &dag, &diags) == 0) {
      round_trip(dag);
      loaded++;
    }
    dag_free(dag);
    dag_diags_free(&diags);
    free(path);
  }
  closedir(d);
  free(dir);
  assert_true(loaded > 10);
}

static void test_refuses_bad_documents(void **state) {
  (void)state;
  struct dag *d = full_dag();
  char *text = dag_serialize(d);
  dag_free(d);
  static const char *cases[][2] = {
      {"\"format\":1", "\"format\":2"},     /* another format */
      {"\"dag_id\":\"full\"", "\"dag_id\":1"}, /* wrong type */
      {"\"upstream\":[0]", "\"upstream\":[5]"}, /* index out of range */
      {"\"trigger_rule\":\"all_done\"", "\"trigger_rule\":\"x\""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *at = strstr(text, cases[i][0]);
    if (!at) fail_msg("no %s in %s", cases[i][0], text);
    char *bad = xasprintf("%.*s%s%s", (int)(at - text), text, cases[i][1],
                          at + strlen(cases[i][0]));
    struct dag *out = NULL;
    char *err = NULL;
    assert_int_equal(dag_deserialize(bad, &out, &err), DAG_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err, "serialized DAG"));
    free(err);
    free(bad);
  }
  struct dag *out = NULL;
  char *err = NULL;
  assert_int_equal(dag_deserialize("[1]", &out, &err), DAG_EINVAL);
  free(err);
  free(text);
}

static const char YAML_A[] = "dag_id: v\ntasks:\n  - id: a\n    command: echo a\n";
/* The same DAG in other words: a comment, other spacing, flow style. */
static const char YAML_A2[] = "# a comment\ndag_id:   v\ntasks: [{id: a, command: echo a}]\n";
static const char YAML_B[] =
    "dag_id: v\ntasks:\n  - id: a\n    command: echo a\n  - id: b\n    command: echo b\n"
    "    upstream: [a]\n";

static void version_of(const char *yaml, char hash[DAG_SHA256_HEX_LEN + 1]) {
  struct dag *dag = NULL;
  struct dag_diags diags = DAG_DIAGS_INIT;
  if (dag_load_buffer("/dags/v.yaml", yaml, strlen(yaml), NULL, &dag, &diags) != 0)
    fail_msg("%s", diags.n ? diags.items[0].msg : "?");
  char *text = dag_serialize(dag);
  dag_serial_hash(text, hash);
  free(text);
  dag_free(dag);
  dag_diags_free(&diags);
}

static void test_version_id_stable(void **state) {
  (void)state;
  char a1[DAG_SHA256_HEX_LEN + 1], a2[DAG_SHA256_HEX_LEN + 1], b[DAG_SHA256_HEX_LEN + 1];
  version_of(YAML_A, a1);
  version_of(YAML_A, a2);
  assert_string_equal(a1, a2);
  /* Task lines differ, and a task's line is part of the model. */
  version_of(YAML_A2, a2);
  assert_string_not_equal(a1, a2);
  version_of(YAML_B, b);
  assert_string_not_equal(a1, b);
  /* Built twice from scratch, with params inserted in another order. */
  struct dag *x = full_dag(), *y = full_dag();
  json_decref(y->params);
  y->params = json_pack("{s:[s, b, n], s:f, s:i}", "l", "x", 1, "r", 0.1, "n", 3);
  char *tx = dag_serialize(x), *ty = dag_serialize(y);
  dag_serial_hash(tx, a1);
  dag_serial_hash(ty, a2);
  assert_string_equal(a1, a2);
  free(tx);
  free(ty);
  dag_free(x);
  dag_free(y);
}

/* FIPS 180-2's examples, and a length whose padding needs a second block. */
static void test_sha256_vectors(void **state) {
  (void)state;
  char h[DAG_SHA256_HEX_LEN + 1];
  dag_sha256_hex("abc", 3, h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  dag_sha256_hex("", 0, h);
  assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  dag_sha256_hex(m, strlen(m), h);
  assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_unchanged),       cmocka_unit_test(test_round_trip_every_field),
      cmocka_unit_test(test_round_trip_data_cases), cmocka_unit_test(test_refuses_bad_documents),
      cmocka_unit_test(test_version_id_stable),     cmocka_unit_test(test_sha256_vectors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
