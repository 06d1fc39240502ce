/* dagrun.c - tasks about runs of other DAGs, as Airflow's
 * TriggerDagRunOperator and ExternalTaskSensor, over the host's
 * trigger_dag() and dag_state() (dagctl/plugin.h, minor 4).
 *
 * trigger_dag: queue a run of trigger_dag_id with a templated conf; the
 * two runs link to each other. With wait_for_completion it is a sensor in
 * reschedule mode: each poke reads the triggered run's state and hands the
 * slot back while it is neither in allowed_states (success) nor in
 * failed_states (failed). The host returns the run this task instance
 * triggered before, so a later poke or try never triggers another.
 * XCom: trigger_run_id.
 *
 * external_task: wait until task external_task_id of external_dag_id (or,
 * without it, that DAG's run) at this run's logical date, less
 * execution_delta, is in allowed_states; fail in failed_states, skip in
 * skipped_states. Poke or reschedule mode, timeout and soft_fail as the
 * other sensors. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "common.h"
#include "dagctl/plugin.h"
#include "duration.h"
#include "timeutil.h"

#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)
#define CANCEL_CHECK_US (200 * DAG_USEC_PER_MSEC)

static const char *param(const struct dagctl_host *h, const char *name) {
  const char *v = HOST_HAS(h, param) ? h->param(h, name) : NULL;
  return v && *v ? v : NULL;
}

static const char *context(const struct dagctl_host *h, const char *name) {
  return HOST_HAS(h, context) ? h->context(h, name) : NULL;
}

static bool is_true(const char *v) {
  return v && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0);
}

static int duration(const struct dagctl_host *h, const char *name, const char *def,
                    int64_t *out) {
  const char *v = param(h, name);
  if (dag_duration_parse(v ? v : def, out) == 0 && *out >= 0) return 0;
  h->log(h, DAGCTL_LOG_ERROR, "%s: expected a duration such as 30s, got '%s'", name, v);
  return -1;
}

/* A list of state names, as JSON text; `def` when unset. Each name must be
 * one of `known` (NULL-terminated). */
static json_t *states(const struct dagctl_host *h, const char *name, const char *def,
                      const char *const *known) {
  const char *v = param(h, name);
  json_t *j = json_loads(v ? v : def, 0, NULL);
  if (!json_is_array(j)) {
    h->log(h, DAGCTL_LOG_ERROR, "%s: expected a list of states", name);
    json_decref(j);
    return NULL;
  }
  size_t i;
  json_t *s;
  json_array_foreach(j, i, s) {
    bool ok = false;
    /* Case is ignored, as `dagctl validate` ignores it: kept as known[]
     * spells it, to compare with the states the host returns. */
    for (size_t k = 0; json_is_string(s) && known[k] && !ok; k++)
      if (strcasecmp(json_string_value(s), known[k]) == 0)
        ok = json_string_set(s, known[k]) == 0;
    if (!ok) {
      char *text = json_dumps(s, JSON_ENCODE_ANY);
      h->log(h, DAGCTL_LOG_ERROR, "%s[%zu]: %s is not a state of %s", name, i,
             text ? text : "?", known[0][0] == 'q' ? "a run (queued, running, success, failed)"
                                                   : "a task");
      free(text);
      json_decref(j);
      return NULL;
    }
  }
  return j;
}

static bool in(const json_t *list, const char *state) {
  size_t i;
  const json_t *s;
  json_array_foreach(list, i, s) if (strcmp(json_string_value(s), state) == 0) return true;
  return false;
}

static const char *const run_states[] = {"queued", "running", "success", "failed", NULL};
static const char *const task_states[] = {
    "none",   "scheduled",    "queued",          "running", "success",
    "failed", "up_for_retry", "upstream_failed", "skipped", "up_for_reschedule",
    NULL};

static bool minor4(const struct dagctl_host *h) {
  if (HOST_HAS(h, trigger_dag) && HOST_HAS(h, dag_state)) return true;
  h->log(h, DAGCTL_LOG_ERROR, "this host cannot reach other DAGs' runs (it predates ABI minor "
         "4)");
  return false;
}

/* --- trigger_dag -------------------------------------------------------------- */

static enum dagctl_result trigger_execute(const struct dagctl_host *h) {
  if (!minor4(h)) return DAGCTL_FAILED;
  const char *dag_id = param(h, "trigger_dag_id");
  if (dag_id == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "trigger_dag_id: required");
    return DAGCTL_FAILED;
  }
  const char *conf = param(h, "conf");
  if (conf) {
    json_t *j = json_loads(conf, 0, NULL);
    bool ok = json_is_object(j);
    json_decref(j);
    if (!ok) {
      h->log(h, DAGCTL_LOG_ERROR, "conf: expected a mapping");
      return DAGCTL_FAILED;
    }
  }
  bool wait = is_true(param(h, "wait_for_completion"));
  json_t *allowed = states(h, "allowed_states", "[\"success\"]", run_states);
  json_t *failed = allowed ? states(h, "failed_states", "[\"failed\"]", run_states) : NULL;
  enum dagctl_result res = DAGCTL_FAILED;
  if (!failed) goto out;
  const char *run_id = NULL;
  int created = 0;
  if (h->trigger_dag(h, dag_id, param(h, "trigger_run_id"), param(h, "logical_date"), conf,
                     &run_id, &created) != 0)
    goto out;
  if (created) {
    h->log(h, DAGCTL_LOG_INFO, "triggered %s run %s", dag_id, run_id);
    json_t *v = json_string(run_id);
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (HOST_HAS(h, xcom_push) && h->xcom_push(h, "trigger_run_id", text) != 0)
      h->log(h, DAGCTL_LOG_WARN, "xcom trigger_run_id: the host refused the value");
    free(text);
    json_decref(v);
  }
  if (!wait) {
    res = DAGCTL_OK;
    goto out;
  }
  const char *state = h->dag_state(h, dag_id, run_id, NULL, NULL);
  if (state == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "%s run %s is gone", dag_id, run_id);
  } else if (in(failed, state)) {
    h->log(h, DAGCTL_LOG_ERROR, "%s run %s ended %s (failed_states)", dag_id, run_id, state);
  } else if (in(allowed, state)) {
    h->log(h, DAGCTL_LOG_INFO, "%s run %s is %s", dag_id, run_id, state);
    res = DAGCTL_OK;
  } else {
    h->log(h, DAGCTL_LOG_INFO, "not yet: %s run %s is %s", dag_id, run_id, state);
    res = DAGCTL_NOT_YET;
  }
out:
  json_decref(allowed);
  json_decref(failed);
  return res;
}

/* --- external_task ------------------------------------------------------------- */

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * DAG_USEC_PER_SEC + ts.tv_nsec / 1000;
}

struct ext {
  const struct dagctl_host *h;
  const char *dag_id, *task_id;
  char at[48]; /* the logical date looked for, ISO-8601 */
  json_t *allowed, *failed, *skipped;
};

enum poke { MET, NOT_MET, FAILED_STATE, SKIPPED_STATE };

static enum poke ext_poke(struct ext *e) {
  const struct dagctl_host *h = e->h;
  const char *state = h->dag_state(h, e->dag_id, NULL, e->at, e->task_id);
  const char *what = e->task_id ? e->task_id : "the run";
  if (state == NULL) {
    h->log(h, DAGCTL_LOG_INFO, "not yet: %s has no %s at %s", e->dag_id,
           e->task_id ? "such task in a run" : "run", e->at);
    return NOT_MET;
  }
  if (in(e->failed, state)) {
    h->log(h, DAGCTL_LOG_ERROR, "%s.%s at %s is %s (failed_states)", e->dag_id, what, e->at,
           state);
    return FAILED_STATE;
  }
  if (in(e->skipped, state)) {
    h->log(h, DAGCTL_LOG_WARN, "%s.%s at %s is %s (skipped_states): skipping", e->dag_id, what,
           e->at, state);
    return SKIPPED_STATE;
  }
  if (in(e->allowed, state)) {
    h->log(h, DAGCTL_LOG_INFO, "%s.%s at %s is %s", e->dag_id, what, e->at, state);
    return MET;
  }
  h->log(h, DAGCTL_LOG_INFO, "not yet: %s.%s at %s is %s", e->dag_id, what, e->at, state);
  return NOT_MET;
}

static enum dagctl_result ext_result(enum poke p) {
  return p == MET ? DAGCTL_OK : p == SKIPPED_STATE ? DAGCTL_SKIP : DAGCTL_FAILED;
}

static enum dagctl_result external_execute(const struct dagctl_host *h) {
  if (!minor4(h)) return DAGCTL_FAILED;
  struct ext e = {.h = h};
  enum dagctl_result res = DAGCTL_FAILED;
  e.dag_id = param(h, "external_dag_id");
  e.task_id = param(h, "external_task_id");
  if (e.dag_id == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "external_dag_id: required");
    return DAGCTL_FAILED;
  }
  const char *const *known = e.task_id ? task_states : run_states;
  int64_t delta, poke_us, timeout_us;
  if (duration(h, "execution_delta", "0s", &delta) < 0 ||
      duration(h, "poke_interval", "60s", &poke_us) < 0 ||
      duration(h, "timeout", "7d", &timeout_us) < 0)
    return DAGCTL_FAILED;
  e.allowed = states(h, "allowed_states", "[\"success\"]", known);
  e.failed = e.allowed ? states(h, "failed_states", "[]", known) : NULL;
  e.skipped = e.failed ? states(h, "skipped_states", "[]", known) : NULL;
  if (!e.skipped) goto out;
  const char *mode = param(h, "mode");
  bool reschedule = mode && strcmp(mode, "reschedule") == 0;
  if (mode && !reschedule && strcmp(mode, "poke") != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "mode: expected poke or reschedule, got '%s'", mode);
    goto out;
  }
  bool soft_fail = is_true(param(h, "soft_fail"));
  const char *ld = context(h, "logical_date");
  dag_time_t at;
  if (ld == NULL || dag_time_parse_iso(ld, &at, NULL, 0) != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "the host gave no logical date");
    goto out;
  }
  dag_time_iso(at - delta, e.at, sizeof(e.at));
  enum poke p;
  if (reschedule) {
    dag_time_t now = dag_time_now(), started = now;
    const char *v = context(h, "sensor_started");
    if (v && dag_time_parse_iso(v, &started, NULL, 0) != 0) started = now;
    p = ext_poke(&e);
    if (p != NOT_MET) {
      res = ext_result(p);
      goto out;
    }
    res = now - started >= timeout_us ? DAGCTL_FAILED : DAGCTL_NOT_YET;
  } else {
    int64_t deadline = mono_us() + timeout_us;
    while ((p = ext_poke(&e)) == NOT_MET && mono_us() < deadline) {
      int64_t wake = mono_us() + poke_us;
      if (wake > deadline) wake = deadline;
      while (mono_us() < wake) {
        if (HOST_HAS(h, cancelled) && h->cancelled(h)) goto out;
        int64_t left = wake - mono_us();
        struct timespec ts = {0, (long)((left < CANCEL_CHECK_US ? left : CANCEL_CHECK_US) * 1000)};
        if (left > 0) nanosleep(&ts, NULL);
      }
    }
    if (p != NOT_MET) {
      res = ext_result(p);
      goto out;
    }
  }
  if (res == DAGCTL_FAILED) {
    char t[32];
    dag_duration_format(timeout_us, t, sizeof(t));
    h->log(h, soft_fail ? DAGCTL_LOG_WARN : DAGCTL_LOG_ERROR, "timed out after %s waiting for "
           "%s.%s at %s%s", t, e.dag_id, e.task_id ? e.task_id : "(run)", e.at,
           soft_fail ? "; soft_fail: skipping" : "");
    if (soft_fail) res = DAGCTL_SKIP;
  }
out:
  json_decref(e.allowed);
  json_decref(e.failed);
  json_decref(e.skipped);
  return res;
}

/* --- declarations ---------------------------------------------------------------- */

/* run_states and task_states, as declared choices (dagctl/plugin.h). */
#define RUN_STATES "queued,running,success,failed"
#define TASK_STATES                                                                  \
  "none,scheduled,queued,running,success,failed,up_for_retry,upstream_failed,skipped," \
  "up_for_reschedule"

static const struct dagctl_param trigger_params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "trigger_dag_id", NULL,
                 "the DAG to trigger"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "trigger_run_id", NULL,
                 "the new run's id; default manual__<logical date>"),
    DAGCTL_PARAM(DAGCTL_PARAM_MAPPING, 0, "conf", NULL, "the new run's conf"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "logical_date", NULL,
                 "the new run's logical date (ISO-8601); default now"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "wait_for_completion", "false",
                 "wait (in reschedule mode) until the run ends"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "poke_interval", "60s",
                 "time between looks at the run while waiting"),
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_LIST, 0, "allowed_states", "[\"success\"]",
                         "run states that end the wait with success", RUN_STATES),
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_LIST, 0, "failed_states", "[\"failed\"]",
                         "run states that fail the task", RUN_STATES),
};

static const struct dagctl_param external_params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "external_dag_id", NULL,
                 "the DAG to wait for"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "external_task_id", NULL,
                 "its task to wait for; unset: its whole run"),
    /* A task's states: a run's are among them; which apply is known once
     * external_task_id is read, at run time. */
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_LIST, 0, "allowed_states", "[\"success\"]",
                         "states that end the wait with success", TASK_STATES),
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_LIST, 0, "failed_states", "[]",
                         "states that fail the task", TASK_STATES),
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_LIST, 0, "skipped_states", "[]",
                         "states that skip the task", TASK_STATES),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "execution_delta", "0s",
                 "look at the logical date this much earlier"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "poke_interval", "60s", "time between pokes"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "timeout", "7d", "how long to wait in all"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "mode", "poke",
                 "poke (sleep in the task) or reschedule (free the slot between pokes)"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "soft_fail", "false", "on timeout, skip instead of fail"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "trigger_dag",
     "trigger a run of another DAG, optionally wait for it (reschedule mode)", trigger_execute,
     trigger_params, DAG_ARRAY_SIZE(trigger_params), DAGCTL_TYPE_SENSOR, "poke_interval"},
    {sizeof(struct dagctl_task_type), "external_task",
     "wait for a task or run of another DAG at the same logical date", external_execute,
     external_params, DAG_ARRAY_SIZE(external_params), DAGCTL_TYPE_SENSOR, "poke_interval"},
};

static const struct dagctl_plugin plugin = {sizeof(struct dagctl_plugin),
                                            DAGCTL_PLUGIN_ABI_VERSION,
                                            "dagrun",
                                            "1.0.0",
                                            types,
                                            DAG_ARRAY_SIZE(types),
                                            NULL,
                                            0};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
