/* test_plugin.c - a plugin for the plugin host's tests: one task type per
 * behaviour the host must handle. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dagctl/plugin.h"

static void nap_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Logs its parameters and context, pushes an XCom, succeeds. */
static enum dagctl_result echo(const struct dagctl_host *h) {
  const char *msg = h->param(h, "message");
  h->log(h, DAGCTL_LOG_INFO, "message=%s count=%s ds=%s run_id=%s home=%s",
         msg ? msg : "(none)", h->param(h, "count") ? h->param(h, "count") : "(none)",
         h->context(h, "ds"), h->context(h, "run_id"), h->context(h, "home"));
  /* Its own config section (ABI minor 3), as the host resolved it. The
   * key is a secret: the host masks it in this line. */
  const char *key = h->connection(h, "sample", "api_key");
  if (h->connection(h, "sample", "colour") != NULL) return DAGCTL_FAILED; /* not declared */
  h->log(h, DAGCTL_LOG_INFO, "sample color=%s retries=%s spool=%s api_key=%s",
         h->connection(h, "sample", "color"), h->connection(h, "sample", "retries"),
         h->connection(h, "sample", "spool"), key ? key : "(none)");
  char json[256];
  snprintf(json, sizeof(json), "\"%s\"", msg ? msg : "");
  if (h->xcom_push(h, "message", json) != 0) return DAGCTL_FAILED;
  if (h->xcom_push(h, "bad", "{not json") == 0) return DAGCTL_FAILED;
  return DAGCTL_OK;
}

static enum dagctl_result fail(const struct dagctl_host *h) {
  h->log(h, DAGCTL_LOG_ERROR, "failing on purpose");
  return DAGCTL_FAILED;
}

static enum dagctl_result skip(const struct dagctl_host *h) {
  h->log(h, DAGCTL_LOG_INFO, "skipping");
  return DAGCTL_SKIP;
}

/* Dies of a signal. SIGKILL rather than SIGSEGV: sanitizers catch SIGSEGV
 * and turn it into an exit status. */
static enum dagctl_result crash(const struct dagctl_host *h) {
  h->log(h, DAGCTL_LOG_INFO, "about to crash");
  raise(SIGKILL);
  return DAGCTL_OK;
}

/* Not yet until the file named by `path` exists. */
static enum dagctl_result sensor(const struct dagctl_host *h) {
  const char *path = h->param(h, "path");
  if (path && access(path, F_OK) == 0) {
    h->log(h, DAGCTL_LOG_INFO, "found %s (sensor started %s)", path,
           h->context(h, "sensor_started"));
    return DAGCTL_OK;
  }
  h->log(h, DAGCTL_LOG_INFO, "not yet: %s", path ? path : "(no path)");
  return DAGCTL_NOT_YET;
}

/* A service: says it is up, then works until asked to stop, then writes
 * `stopped` to the file named by `path` (its "flush") and exits 0. */
static enum dagctl_result service(const struct dagctl_host *h) {
  const char *path = h->param(h, "path");
  h->log(h, DAGCTL_LOG_INFO, "service starting");
  h->service_ready(h);
  while (!h->cancelled(h)) nap_ms(20);
  if (path) {
    FILE *f = fopen(path, "a");
    if (f) {
      fprintf(f, "stopped\n");
      fclose(f);
    }
  }
  h->log(h, DAGCTL_LOG_INFO, "service stopped cleanly");
  return DAGCTL_OK;
}

/* Declares its params (ABI minor 1) and logs what the host handed over. */
static enum dagctl_result declared(const struct dagctl_host *h) {
  const char *names[] = {"text", "n", "raw", "flag", "wait", "items"};
  char line[1024];
  size_t len = 0;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && len < sizeof(line); i++) {
    const char *v = h->param(h, names[i]);
    len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s=%s", i ? " " : "", names[i],
                            v ? v : "(none)");
  }
  h->log(h, DAGCTL_LOG_INFO, "%s abi_minor=%u", line, h->abi_minor);
  return DAGCTL_OK;
}

static const struct dagctl_param declared_params[] = {
    {sizeof(struct dagctl_param), DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "text", NULL,
     "any text"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_INTEGER, 0, "n", "7", "a count"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_STRING, DAGCTL_PARAM_VERBATIM, "raw", NULL,
     "kept as written, {{ }} and all"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_BOOLEAN, 0, "flag", "false", "a switch"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_DURATION, 0, "wait", "30s", "a delay"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_LIST, 0, "items", NULL, "a list"},
};

/* A sensor whose poke interval is its own `every` parameter. */
static const struct dagctl_param every_params[] = {
    {sizeof(struct dagctl_param), DAGCTL_PARAM_STRING, 0, "path", NULL, "the file to wait for"},
    {sizeof(struct dagctl_param), DAGCTL_PARAM_DURATION, 0, "every", "250ms",
     "time between pokes"},
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "test_echo", "log params, push an XCom", echo},
    {sizeof(struct dagctl_task_type), "test_fail", "always fail", fail},
    {sizeof(struct dagctl_task_type), "test_skip", "always skip", skip},
    {sizeof(struct dagctl_task_type), "test_crash", "die of SIGKILL", crash},
    {sizeof(struct dagctl_task_type), "test_sensor", "wait for a file", sensor, NULL, 0,
     DAGCTL_TYPE_SENSOR, "poke_interval"},
    {sizeof(struct dagctl_task_type), "test_service", "a service until SIGTERM", service, NULL,
     0, DAGCTL_TYPE_SERVICE, NULL},
    {sizeof(struct dagctl_task_type), "test_declared", "declares its params", declared,
     declared_params, sizeof(declared_params) / sizeof(declared_params[0])},
    {sizeof(struct dagctl_task_type), "test_sensor_every", "wait for a file, poke every `every`",
     sensor, every_params, sizeof(every_params) / sizeof(every_params[0]), DAGCTL_TYPE_SENSOR,
     "every"},
    {sizeof(struct dagctl_task_type), "test_not_sensor", "answers 'not yet' undeclared", sensor,
     NULL, 0, 0, NULL},
    {sizeof(struct dagctl_task_type), "test_not_service", "calls service_ready() undeclared",
     service, NULL, 0, 0, NULL},
};

/* A config section of its own, `sample:` in dagctl.yaml (minor 3). */
static const struct dagctl_setting sample_settings[] = {
    DAGCTL_SETTING(DAGCTL_SETTING_ENUM, 0, "color", "green", "red,green,blue", "a colour"),
    DAGCTL_SETTING_INT(0, "retries", "3", 1, 9, "a count"),
    DAGCTL_SETTING(DAGCTL_SETTING_PATH, 0, "spool", DAGCTL_HOME_PLACEHOLDER "/spool", NULL,
                   "a folder"),
    DAGCTL_SETTING(DAGCTL_SETTING_TOKEN, DAGCTL_SETTING_SECRET, "api_key", NULL, NULL,
                   "a secret"),
};
static const struct dagctl_config_section sample = {
    sizeof(struct dagctl_config_section), "sample", "the test plugin's settings",
    sample_settings, sizeof(sample_settings) / sizeof(sample_settings[0])};
static const struct dagctl_config_section *const sections[] = {&sample};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "test", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, 1,
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
