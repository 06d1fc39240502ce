/* s3_sensor.c - wait_for_s3_files: wait until the lake holds matching keys.
 *
 * Params (host->param):
 *   prefix         required. A key prefix, or a pattern with * ? [...]
 *                  (fnmatch, '*' also crosses '/'): without a wildcard every
 *                  key starting with it matches; with one the whole key must
 *                  match. Only the literal part before the first wildcard is
 *                  listed. Templates ({{ ds }}...) arrive rendered by the
 *                  host, like every param's.
 *   min_count      keys needed; 1
 *   poke_interval  between pokes; 30s
 *   timeout        how long to wait in all; 1h
 *   mode           poke (sleep inside the task) | reschedule (one poke per
 *                  try; DAGCTL_NOT_YET hands the worker slot back and the
 *                  host calls again after poke_interval); poke
 *   soft_fail      on timeout, skip instead of fail; false
 *
 * On success it pushes XComs "keys" (a JSON array of the matching keys,
 * sorted, cut to fit the 64 KiB limit) and "count" (how many matched).
 * In reschedule mode the timeout counts from the context's
 * "sensor_started" (the first poke's start, ISO-8601), else from now.
 *
 * Errors: an unreachable store (refused, timed out, 5xx after the lake's
 * own retries) is logged and counts as "not yet"; refused credentials, a
 * missing bucket or bad params fail the try at once, even with soft_fail,
 * which only turns a timeout into a skip. */
#include <errno.h>
#include <fnmatch.h>
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
#include "lake.h"
#include "strbuf.h"
#include "timeutil.h"

#define XCOM_MAX (64 * 1024)
/* How often a sleeping poke-mode sensor checks host->cancelled(). */
#define CANCEL_CHECK_US (200 * DAG_USEC_PER_MSEC)

/* A host function is there if the host's table is long enough to hold it. */
#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)

struct sensor {
  const struct dagctl_host *h;
  char *prefix;  /* placeholders replaced */
  char *listed;  /* the literal part before the first wildcard */
  bool pattern;  /* prefix has a wildcard */
  long min_count;
  int64_t poke_interval_us;
  int64_t timeout_us;
  bool reschedule;
  bool soft_fail;
  struct lake *lk;
};

enum poke { FOUND, NOT_FOUND, BROKEN };

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * DAG_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us) {
  struct timespec ts = {(time_t)(us / DAG_USEC_PER_SEC), (long)(us % DAG_USEC_PER_SEC) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static const char *param(const struct dagctl_host *h, const char *name) {
  return HOST_HAS(h, param) ? h->param(h, name) : NULL;
}

static const char *context(const struct dagctl_host *h, const char *name) {
  return HOST_HAS(h, context) ? h->context(h, name) : NULL;
}

static const char *connection(const struct dagctl_host *h, const char *key) {
  const char *v = HOST_HAS(h, connection) ? h->connection(h, "lake", key) : NULL;
  return v && *v ? v : NULL;
}

static bool cancelled(const struct dagctl_host *h) {
  return HOST_HAS(h, cancelled) && h->cancelled(h);
}

/* Params arrive as text: strings as written, numbers and booleans as JSON.
 * A string param may still carry the quotes of JSON text ("\"30s\""). */
static char *unquote(const char *v) {
  size_t n = strlen(v);
  if (n >= 2 && v[0] == '"' && v[n - 1] == '"') return xstrndup(v + 1, n - 2);
  return xstrdup(v);
}

static int parse_bool(const char *v, bool *out) {
  if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
    *out = true;
  else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
    *out = false;
  else
    return -1;
  return 0;
}

/* --- params -------------------------------------------------------------- */

/* The declared defaults (params[] below), which the host also reads: the
 * scheduler reschedules after the same poke interval. */
#define POKE_INTERVAL_DEFAULT "30s"
#define TIMEOUT_DEFAULT "1h"

/* `name` as a duration; `def` (a declared default) when unset. */
static int duration_param(const struct dagctl_host *h, const char *name, const char *def,
                          int64_t *out) {
  const char *v = param(h, name);
  *out = 0;
  if (v == NULL) return dag_duration_parse(def, out) < 0 ? -1 : 0;
  char *text = unquote(v);
  int rc = dag_duration_parse(text, out);
  if (rc < 0)
    h->log(h, DAGCTL_LOG_ERROR, "%s: expected a duration such as 30s, 5m or 1h, got '%s'",
           name, text);
  free(text);
  return rc < 0 ? -1 : 0;
}

static int read_params(struct sensor *s) {
  const struct dagctl_host *h = s->h;
  const char *v = param(h, "prefix");
  if (v == NULL || *v == '\0') {
    h->log(h, DAGCTL_LOG_ERROR, "prefix: required (a key prefix or a pattern such as "
           "raw_events/year=2026/*.ndjson)");
    return -1;
  }
  s->prefix = unquote(v);
  size_t lit = strcspn(s->prefix, "*?[");
  s->pattern = s->prefix[lit] != '\0';
  s->listed = xstrndup(s->prefix, lit);

  s->min_count = 1;
  if ((v = param(h, "min_count")) != NULL) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < 1) {
      h->log(h, DAGCTL_LOG_ERROR, "min_count: expected an integer >= 1, got '%s'", v);
      return -1;
    }
    s->min_count = n;
  }
  if (duration_param(h, "poke_interval", POKE_INTERVAL_DEFAULT, &s->poke_interval_us) < 0 ||
      duration_param(h, "timeout", TIMEOUT_DEFAULT, &s->timeout_us) < 0)
    return -1;
  if (s->poke_interval_us <= 0) {
    h->log(h, DAGCTL_LOG_ERROR, "poke_interval: must be longer than 0");
    return -1;
  }
  if ((v = param(h, "mode")) != NULL) {
    char *mode = unquote(v);
    if (strcmp(mode, "poke") == 0) {
      s->reschedule = false;
    } else if (strcmp(mode, "reschedule") == 0) {
      s->reschedule = true;
    } else {
      h->log(h, DAGCTL_LOG_ERROR, "mode: expected poke or reschedule, got '%s'", mode);
      free(mode);
      return -1;
    }
    free(mode);
  }
  if ((v = param(h, "soft_fail")) != NULL && parse_bool(v, &s->soft_fail) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "soft_fail: expected true or false, got '%s'", v);
    return -1;
  }
  return 0;
}

/* The lake from the `lake` section of the config, as the host hands it. */
static int open_lake(struct sensor *s) {
  const struct dagctl_host *h = s->h;
  struct lake_options o = {0};
  char *home_lake = NULL;
  o.url = connection(h, "url");
  if (o.url == NULL) {
    const char *home = context(h, "home");
    if (home == NULL) {
      h->log(h, DAGCTL_LOG_ERROR, "no lake: the config has no lake.url and the host gave "
             "no home");
      return -1;
    }
    o.url = home_lake = xasprintf("%s/lake", home);
  }
  o.endpoint = connection(h, "endpoint");
  o.region = connection(h, "region");
  o.access_key_id = connection(h, "access_key_id");
  o.secret_access_key = connection(h, "secret_access_key");
  const char *v = connection(h, "path_style");
  if (v && parse_bool(v, &o.path_style) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "lake.path_style: expected true or false, got '%s'", v);
    free(home_lake);
    return -1;
  }
  if ((v = connection(h, "timeout")) != NULL) {
    int64_t us;
    if (dag_duration_parse(v, &us) == 0 && us > 0) o.timeout_ms = (long)(us / 1000);
  }
  char *err = NULL;
  int rc = lake_open(&o, &s->lk, &err);
  if (rc < 0) h->log(h, DAGCTL_LOG_ERROR, "%s", err);
  free(err);
  free(home_lake);
  return rc < 0 ? -1 : 0;
}

/* --- poking -------------------------------------------------------------- */

/* Append `s` as a JSON string; invalid UTF-8 becomes U+FFFD, so the value
 * is always valid JSON whatever bytes a local file name holds. */
static void json_string(struct strbuf *sb, const char *s) {
  sb_appendc(sb, '"');
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char c = *p;
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0;
    for (size_t i = 1; ok && i < n; i++)
      ok = (p[i] & 0xC0) == 0x80;
    if (!ok) {
      sb_append(sb, "\\ufffd");
      p++;
    } else if (c == '"' || c == '\\') {
      sb_appendc(sb, '\\');
      sb_appendc(sb, (char)c);
      p++;
    } else if (c < 0x20) {
      sb_appendf(sb, "\\u%04x", c);
      p++;
    } else {
      sb_appendn(sb, (const char *)p, n);
      p += n;
    }
  }
  sb_appendc(sb, '"');
}

static void push_result(struct sensor *s, char **keys, size_t n) {
  const struct dagctl_host *h = s->h;
  if (!HOST_HAS(h, xcom_push)) return;
  struct strbuf sb = STRBUF_INIT, item = STRBUF_INIT;
  sb_appendc(&sb, '[');
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    sb_reset(&item);
    json_string(&item, keys[i]);
    /* ',' before it and ']' after the array. */
    if (sb.len + item.len + 2 > XCOM_MAX) break;
    if (kept++) sb_appendc(&sb, ',');
    sb_append(&sb, sb_str(&item));
  }
  sb_appendc(&sb, ']');
  if (kept < n)
    h->log(h, DAGCTL_LOG_WARN, "xcom keys: %zu of %zu keys kept (64 KiB limit); count has "
           "them all", kept, n);
  if (h->xcom_push(h, "keys", sb_str(&sb)) != 0)
    h->log(h, DAGCTL_LOG_WARN, "xcom keys: the host refused the value");
  char count[32];
  snprintf(count, sizeof(count), "%zu", n);
  if (h->xcom_push(h, "count", count) != 0)
    h->log(h, DAGCTL_LOG_WARN, "xcom count: the host refused the value");
  sb_free(&item);
  sb_free(&sb);
}

static bool matches(const struct sensor *s, const char *key) {
  if (!s->pattern) return strncmp(key, s->prefix, strlen(s->prefix)) == 0;
  return fnmatch(s->prefix, key, FNM_NOESCAPE) == 0;
}

/* One look at the lake. *found is set to the number of matching keys. */
static enum poke poke(struct sensor *s, size_t *found, size_t *listed) {
  const struct dagctl_host *h = s->h;
  char **keys;
  size_t n;
  char *err = NULL;
  *found = *listed = 0;
  int rc = lake_list(s->lk, s->listed, &keys, &n, &err);
  if (rc < 0) {
    /* Unreachable now may be reachable at the next poke; a refusal will not
     * change by waiting. */
    bool transient = rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EIO ||
                     rc == -EHOSTUNREACH;
    h->log(h, transient ? DAGCTL_LOG_WARN : DAGCTL_LOG_ERROR, "%s%s", err,
           transient ? " (will poke again)" : "");
    free(err);
    return transient ? NOT_FOUND : BROKEN;
  }
  /* Compact the matches to the front, keeping the sorted order. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (matches(s, keys[i])) {
      char *k = keys[i];
      keys[i] = keys[m];
      keys[m++] = k;
    }
  }
  *found = m;
  *listed = n;
  if ((long)m >= s->min_count) {
    h->log(h, DAGCTL_LOG_INFO, "found %zu key(s) matching '%s' in %s (first: %s)", m,
           s->prefix, lake_describe(s->lk), keys[0]);
    push_result(s, keys, m);
  }
  lake_keys_free(keys, n);
  return (long)*found >= s->min_count ? FOUND : NOT_FOUND;
}

static enum dagctl_result timed_out(const struct sensor *s, size_t found, size_t listed) {
  const struct dagctl_host *h = s->h;
  char t[32];
  dag_duration_format(s->timeout_us, t, sizeof(t));
  h->log(h, s->soft_fail ? DAGCTL_LOG_WARN : DAGCTL_LOG_ERROR,
         "timed out after %s waiting for %ld key(s) matching '%s' in %s: found %zu "
         "(%zu under '%s')%s",
         t, s->min_count, s->prefix, lake_describe(s->lk), found, listed, s->listed,
         s->soft_fail ? "; soft_fail: skipping" : "");
  return s->soft_fail ? DAGCTL_SKIP : DAGCTL_FAILED;
}

static void log_not_yet(const struct sensor *s, size_t found, size_t listed) {
  char iv[32];
  dag_duration_format(s->poke_interval_us, iv, sizeof(iv));
  s->h->log(s->h, DAGCTL_LOG_INFO, "not yet: %zu of %ld key(s) matching '%s' (%zu under "
            "'%s'); next poke in %s", found, s->min_count, s->prefix, listed, s->listed, iv);
}

static enum dagctl_result run_poke_mode(struct sensor *s) {
  int64_t deadline = mono_us() + s->timeout_us;
  size_t found, listed;
  for (;;) {
    enum poke p = poke(s, &found, &listed);
    if (p == FOUND) return DAGCTL_OK;
    if (p == BROKEN) return DAGCTL_FAILED;
    int64_t now = mono_us();
    if (now >= deadline) return timed_out(s, found, listed);
    log_not_yet(s, found, listed);
    /* Sleep in slices, so a cancel (timeout kill, shutdown) is seen soon;
     * the last sleep ends at the deadline for one final poke. */
    int64_t wake = now + s->poke_interval_us < deadline ? now + s->poke_interval_us : deadline;
    while ((now = mono_us()) < wake) {
      if (cancelled(s->h)) {
        s->h->log(s->h, DAGCTL_LOG_WARN, "cancelled while waiting for '%s'", s->prefix);
        return DAGCTL_FAILED;
      }
      sleep_us(wake - now < CANCEL_CHECK_US ? wake - now : CANCEL_CHECK_US);
    }
  }
}

static enum dagctl_result run_reschedule_mode(struct sensor *s) {
  const struct dagctl_host *h = s->h;
  dag_time_t now = dag_time_now(), started = now;
  const char *v = context(h, "sensor_started");
  if (v && dag_time_parse_iso(v, &started, NULL, 0) < 0) {
    h->log(h, DAGCTL_LOG_WARN, "sensor_started: not an ISO-8601 instant '%s'; timing from "
           "now", v);
    started = now;
  }
  size_t found, listed;
  enum poke p = poke(s, &found, &listed);
  if (p == FOUND) return DAGCTL_OK;
  if (p == BROKEN) return DAGCTL_FAILED;
  if (now - started >= s->timeout_us) return timed_out(s, found, listed);
  log_not_yet(s, found, listed);
  return DAGCTL_NOT_YET;
}

static enum dagctl_result sensor_execute(const struct dagctl_host *h) {
  struct sensor s = {.h = h};
  enum dagctl_result r = DAGCTL_FAILED;
  if (read_params(&s) == 0 && open_lake(&s) == 0) {
    char iv[32], to[32];
    dag_duration_format(s.poke_interval_us, iv, sizeof(iv));
    dag_duration_format(s.timeout_us, to, sizeof(to));
    h->log(h, DAGCTL_LOG_INFO, "waiting for %ld key(s) matching '%s' in %s mode=%s "
           "poke_interval=%s timeout=%s soft_fail=%s", s.min_count, s.prefix,
           lake_describe(s.lk), s.reschedule ? "reschedule" : "poke", iv, to,
           s.soft_fail ? "true" : "false");
    r = s.reschedule ? run_reschedule_mode(&s) : run_poke_mode(&s);
  }
  lake_close(s.lk);
  free(s.prefix);
  free(s.listed);
  return r;
}

/* What read_params() reads, with its defaults. */
static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "prefix", NULL,
                 "a key prefix, or a pattern with * ? [...]"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "min_count", "1", "keys needed"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "poke_interval", POKE_INTERVAL_DEFAULT,
                 "time between pokes"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "timeout", TIMEOUT_DEFAULT, "how long to wait in all"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "mode", "poke",
                 "poke (sleep in the task) or reschedule (free the slot between pokes)"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "soft_fail", "false", "on timeout, skip instead of fail"),
};

/* Sensors: in reschedule mode the host pokes again after poke_interval. */
static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "wait_for_s3_files",
     "wait until the lake holds keys matching a prefix or pattern (poke or reschedule)",
     sensor_execute, params, DAG_ARRAY_SIZE(params), DAGCTL_TYPE_SENSOR, "poke_interval"},
    {sizeof(struct dagctl_task_type), "s3_key_sensor", "the same as wait_for_s3_files",
     sensor_execute, params, DAG_ARRAY_SIZE(params), DAGCTL_TYPE_SENSOR, "poke_interval"},
};

static const struct dagctl_config_section *const sections[] = {&lake_config_section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "s3_sensor", "1.0.0", types,
    DAG_ARRAY_SIZE(types), sections, DAG_ARRAY_SIZE(sections)};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
