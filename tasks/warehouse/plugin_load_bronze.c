/* plugin_load_bronze.c - the load_bronze task type: lake -> bronze.plays.
 *
 * Params: prefix (default "raw_events/"). The lake is the `lake` section of
 * the configuration, the warehouse its `warehouse` section. XCom:
 * rows_loaded, objects_loaded, quarantined. */
#include <dagctl/plugin.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "bronze.h"
#include "wh.h"
#include "wh_host.h"
#ifdef DAGCTL_HAVE_LAKE
#include "duration.h"
#include "lake.h"
#endif

static void host_log(void *ud, int level, const char *msg) {
  const struct dagctl_host *h = ud;
  h->log(h, (enum dagctl_log_level)level, "%s", msg);
}

static int host_cancelled(void *ud) {
  const struct dagctl_host *h = ud;
  return h->cancelled(h);
}

#ifdef DAGCTL_HAVE_LAKE
static int lake_src_list(void *ud, const char *prefix, char ***keys, size_t *n, char **err) {
  return lake_list(ud, prefix, keys, n, err);
}

static int lake_src_get(void *ud, const char *key, char **data, size_t *len, char **err) {
  return lake_get(ud, key, data, len, err);
}

static bool truthy(const char *v) {
  return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}
#endif

static enum dagctl_result load_bronze(const struct dagctl_host *h) {
  const char *prefix = h->param(h, "prefix");
  if (prefix == NULL) prefix = "raw_events/";
  struct wh *w = wh_open_for_task(h);
  if (w == NULL) return DAGCTL_FAILED;

  struct bronze_source src;
  char *err = NULL;
  char *dir = NULL;
  /* A local lake (the embedded default) is read as a folder, whose file
   * stamps let the loader notice an object rewritten under a loaded key;
   * the lake library's listing carries keys only. */
  const char *url = h->connection(h, "lake", "url");
  if (url && strncmp(url, "file://", 7) == 0) url += 7;
  bool local = url == NULL || strstr(url, "://") == NULL;
#ifdef DAGCTL_HAVE_LAKE
  struct lake *lk = NULL;
#endif
  if (local) {
    if (url == NULL) {
      const char *home = h->context(h, "home");
      url = dir = xasprintf("%s/lake", home ? home : ".");
    }
    bronze_dir_source(url, &src);
    h->log(h, DAGCTL_LOG_INFO, "loading lake %s prefix %s into %s", url, prefix,
           wh_describe(w));
  } else {
#ifdef DAGCTL_HAVE_LAKE
    /* The host hands lake.timeout checked and in normal form ("30s"). */
    int64_t timeout_us = 0;
    if (dag_duration_parse(h->connection(h, "lake", "timeout"), &timeout_us) != 0) timeout_us = 0;
    struct lake_options lo = {
        .url = url,
        .endpoint = h->connection(h, "lake", "endpoint"),
        .region = h->connection(h, "lake", "region"),
        .path_style = truthy(h->connection(h, "lake", "path_style")),
        .access_key_id = h->connection(h, "lake", "access_key_id"),
        .secret_access_key = h->connection(h, "lake", "secret_access_key"),
        .timeout_ms = (long)(timeout_us / 1000),
    };
    if (lake_open(&lo, &lk, &err) < 0) {
      h->log(h, DAGCTL_LOG_ERROR, "%s", err);
      free(err);
      wh_close(w);
      return DAGCTL_FAILED;
    }
    src = (struct bronze_source){lk, lake_src_list, lake_src_get, lake_keys_free, NULL};
    h->log(h, DAGCTL_LOG_INFO, "loading lake %s prefix %s into %s", lake_describe(lk), prefix,
           wh_describe(w));
#else
    h->log(h, DAGCTL_LOG_ERROR, "lake %s: this build reads local lakes only", url);
    wh_close(w);
    return DAGCTL_FAILED;
#endif
  }

  struct bronze_options bo = {.prefix = prefix,
                              .log = host_log,
                              .log_ud = (void *)h,
                              .cancelled = host_cancelled,
                              .cancel_ud = (void *)h};
  struct bronze_stats st;
  int rc = bronze_load(w, &src, &bo, &st, &err);
  char buf[32];
  snprintf(buf, sizeof(buf), "%lld", (long long)st.rows_loaded);
  h->xcom_push(h, "rows_loaded", buf);
  snprintf(buf, sizeof(buf), "%lld", (long long)st.objects_loaded);
  h->xcom_push(h, "objects_loaded", buf);
  snprintf(buf, sizeof(buf), "%lld", (long long)st.quarantined);
  h->xcom_push(h, "quarantined", buf);
  if (rc < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "load failed after %lld objects: %s",
           (long long)st.objects_loaded, err);
  } else {
    h->log(h, DAGCTL_LOG_INFO,
           "done: %lld objects loaded (%lld rows, %lld quarantined; %lld of them changed "
           "since an earlier load), %lld already loaded",
           (long long)st.objects_loaded, (long long)st.rows_loaded, (long long)st.quarantined,
           (long long)st.objects_reloaded, (long long)st.objects_skipped);
  }
  free(err);
#ifdef DAGCTL_HAVE_LAKE
  if (lk) lake_close(lk);
#endif
  free(dir);
  wh_close(w);
  return rc < 0 ? DAGCTL_FAILED : DAGCTL_OK;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "prefix", "raw_events/", "the lake keys to load"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "load_bronze",
     "load new lake objects into bronze.plays, each exactly once", load_bronze, params,
     sizeof(params) / sizeof(params[0])},
};

static const struct dagctl_config_section *const sections[] = {
    &wh_config_section,
#ifdef DAGCTL_HAVE_LAKE
    &lake_config_section,
#endif
};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "warehouse_load", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, sizeof(sections) / sizeof(sections[0]),
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
