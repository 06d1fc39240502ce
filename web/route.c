/* route.c - request paths to handlers (see route.h). */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "http.h"

#define M(m) (UINT64_C(1) << (m))
#define GET (M(HTTP_GET) | M(HTTP_HEAD))
#define MAX_SEGMENTS 12

/* One row per path and method set, each with the one permission it needs
 * (auth.h): a path whose methods need different permissions has a row for
 * each. A row without a permission (DAG_PERM_NONE) is refused to everyone,
 * and tests/integration/test_web_auth.sh fails on it. README's "Who may do
 * what" lists this table. */
static const struct dag_route_info routes[] = {
    {"", GET, DAG_ROUTE_PAGE_DAGS, DAG_PERM_READ},
    {"dags/{}", GET, DAG_ROUTE_PAGE_DAG, DAG_PERM_READ},
    {"dags/{}/runs/{}/tasks/{}/tries/{}", GET, DAG_ROUTE_PAGE_TRY, DAG_PERM_READ},
    {"static/{}", GET, DAG_ROUTE_STATIC, DAG_PERM_PUBLIC},
    {"metrics", GET, DAG_ROUTE_METRICS, DAG_PERM_READ},
    {"dashboard", GET, DAG_ROUTE_PAGE_DASHBOARD, DAG_PERM_READ},
    {"api/v1/dags", GET, DAG_ROUTE_DAGS, DAG_PERM_READ},
    {"api/v1/dags/{}", GET, DAG_ROUTE_DAG, DAG_PERM_READ},
    {"api/v1/dags/{}", M(HTTP_PATCH), DAG_ROUTE_DAG, DAG_PERM_EDIT},
    {"api/v1/dags/{}/dagRuns", GET, DAG_ROUTE_RUNS, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns", M(HTTP_POST), DAG_ROUTE_RUNS, DAG_PERM_EDIT},
    {"api/v1/dags/{}/dagRuns/{}", GET, DAG_ROUTE_RUN, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances", GET, DAG_ROUTE_TIS, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}", GET, DAG_ROUTE_TI, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/logs/{}", GET, DAG_ROUTE_LOG, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/xcomEntries", GET, DAG_ROUTE_XCOMS,
     DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/xcomEntries/{}", GET, DAG_ROUTE_XCOM,
     DAG_PERM_READ},
    /* After xcomEntries, which the map_index pattern would take too. */
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/listMapped", GET, DAG_ROUTE_TI_MAPPED,
     DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/{}", GET, DAG_ROUTE_TI_MAP, DAG_PERM_READ},
    {"api/v1/dags/{}/dagRuns/{}/tries", GET, DAG_ROUTE_TRIES, DAG_PERM_READ},
    {"api/v1/dags/{}/clearTaskInstances", M(HTTP_POST), DAG_ROUTE_CLEAR, DAG_PERM_EDIT},
    {"api/v1/dags/{}/grid", GET, DAG_ROUTE_GRID, DAG_PERM_READ},
    {"api/v1/dags/{}/dagVersions", GET, DAG_ROUTE_VERSIONS, DAG_PERM_READ},
    {"api/v1/dagSources/{}", GET, DAG_ROUTE_SOURCE, DAG_PERM_READ},
    {"api/v1/importErrors", GET, DAG_ROUTE_IMPORT_ERRORS, DAG_PERM_READ},
    {"api/v1/datasets", GET, DAG_ROUTE_DATASETS, DAG_PERM_READ},
    {"api/v1/datasets/events", GET, DAG_ROUTE_DATASET_EVENTS, DAG_PERM_READ},
    {"api/v1/datasets/{}", GET, DAG_ROUTE_DATASET, DAG_PERM_READ},
    /* Load balancers and monitors probe it without credentials, as in
     * Airflow; it says only whether the database and scheduler answer. */
    {"api/v1/health", GET, DAG_ROUTE_HEALTH, DAG_PERM_PUBLIC},
    {"api/v1/version", GET, DAG_ROUTE_VERSION, DAG_PERM_READ},
    {"api/v1/ui/recentRuns", GET, DAG_ROUTE_RECENT_RUNS, DAG_PERM_READ},
    {"api/v1/ui/dashboard", GET, DAG_ROUTE_DASHBOARD, DAG_PERM_READ},
    {"api/v1/ui/workers", GET, DAG_ROUTE_WORKERS, DAG_PERM_READ},
    /* Logging in and out change only the caller's own session. */
    {"login", GET, DAG_ROUTE_PAGE_LOGIN, DAG_PERM_PUBLIC},
    {"api/v1/ui/login", M(HTTP_POST), DAG_ROUTE_LOGIN, DAG_PERM_PUBLIC},
    {"api/v1/ui/logout", M(HTTP_POST), DAG_ROUTE_LOGOUT, DAG_PERM_PUBLIC},
    {"api/v1/ui/session", GET, DAG_ROUTE_SESSION, DAG_PERM_READ},
    /* Who did what, from where: as Airflow's Audit Log, for admins. */
    {"api/v1/eventLogs", GET, DAG_ROUTE_EVENT_LOGS, DAG_PERM_ADMIN},
    {"audit", GET, DAG_ROUTE_PAGE_AUDIT, DAG_PERM_ADMIN},
    /* Variables and connections hold secrets: reading them is the op
     * role's too, as in Airflow (a viewer or user sees neither). */
    {"api/v1/variables", GET, DAG_ROUTE_VARIABLES, DAG_PERM_OP},
    {"api/v1/variables", M(HTTP_POST), DAG_ROUTE_VARIABLES, DAG_PERM_OP},
    {"api/v1/variables/{}", GET, DAG_ROUTE_VARIABLE, DAG_PERM_OP},
    {"api/v1/variables/{}", M(HTTP_PATCH) | M(HTTP_DELETE), DAG_ROUTE_VARIABLE, DAG_PERM_OP},
    {"api/v1/connections", GET, DAG_ROUTE_CONNECTIONS, DAG_PERM_OP},
    {"api/v1/connections", M(HTTP_POST), DAG_ROUTE_CONNECTIONS, DAG_PERM_OP},
    {"api/v1/connections/{}", GET, DAG_ROUTE_CONNECTION, DAG_PERM_OP},
    {"api/v1/connections/{}", M(HTTP_PATCH) | M(HTTP_DELETE), DAG_ROUTE_CONNECTION,
     DAG_PERM_OP},
    /* Their page, with the alerts' outbox: for the same role. */
    {"admin", GET, DAG_ROUTE_PAGE_ADMIN, DAG_PERM_OP},
    {"api/v1/alerts", GET, DAG_ROUTE_ALERTS, DAG_PERM_OP},
    /* Pools: read by viewers, changed by ops, as in Airflow. */
    {"api/v1/pools", GET, DAG_ROUTE_POOLS, DAG_PERM_READ},
    {"api/v1/pools", M(HTTP_POST), DAG_ROUTE_POOLS, DAG_PERM_OP},
    {"api/v1/pools/{}", GET, DAG_ROUTE_POOL, DAG_PERM_READ},
    {"api/v1/pools/{}", M(HTTP_PATCH) | M(HTTP_DELETE), DAG_ROUTE_POOL, DAG_PERM_OP},
    /* A read sent as POST (a long list of DAG ids), as in Airflow. */
    {"api/v1/dags/~/dagRuns/list", M(HTTP_POST), DAG_ROUTE_RUNS_LIST, DAG_PERM_READ},
    {"api/v1/dags/{}/details", GET, DAG_ROUTE_DAG_DETAILS, DAG_PERM_READ},
    {"api/v1/dags/{}/tasks", GET, DAG_ROUTE_TASKS, DAG_PERM_READ},
    {"api/v1/dagStats", GET, DAG_ROUTE_DAG_STATS, DAG_PERM_READ},
    {"api/v1/importErrors/{}", GET, DAG_ROUTE_IMPORT_ERROR, DAG_PERM_READ},
    /* Paths and settings of the server, secrets hidden: Airflow gives it to
     * Op and Admin. */
    {"api/v1/config", GET, DAG_ROUTE_CONFIG, DAG_PERM_OP},
    /* Backfills: Airflow 3's paths and bodies, under /api/v1. */
    {"api/v1/backfills", GET, DAG_ROUTE_BACKFILLS, DAG_PERM_READ},
    {"api/v1/backfills", M(HTTP_POST), DAG_ROUTE_BACKFILLS, DAG_PERM_EDIT},
    {"api/v1/backfills/dry_run", M(HTTP_POST), DAG_ROUTE_BACKFILL_DRY_RUN, DAG_PERM_EDIT},
    {"api/v1/backfills/{}", GET, DAG_ROUTE_BACKFILL, DAG_PERM_READ},
    {"api/v1/backfills/{}/cancel", M(HTTP_PUT), DAG_ROUTE_BACKFILL_CANCEL, DAG_PERM_EDIT},
    {"api/v1/backfills/{}/pause", M(HTTP_PUT), DAG_ROUTE_BACKFILL_PAUSE, DAG_PERM_EDIT},
    {"api/v1/backfills/{}/unpause", M(HTTP_PUT), DAG_ROUTE_BACKFILL_UNPAUSE, DAG_PERM_EDIT},
    {"api/v1/plugins", GET, DAG_ROUTE_PLUGINS, DAG_PERM_READ},
    /* Marking task instances and runs, with Airflow's paths. */
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}", M(HTTP_PATCH), DAG_ROUTE_TI_MARK,
     DAG_PERM_EDIT},
    {"api/v1/dags/{}/updateTaskInstancesState", M(HTTP_POST), DAG_ROUTE_MARK_TIS,
     DAG_PERM_EDIT},
    {"api/v1/dags/{}/dagRuns/{}", M(HTTP_PATCH) | M(HTTP_DELETE), DAG_ROUTE_RUN_STATE,
     DAG_PERM_EDIT},
    /* What the run's callbacks printed (dagctl's own path). */
    {"api/v1/dags/{}/dagRuns/{}/callbackLog", GET, DAG_ROUTE_CALLBACK_LOG, DAG_PERM_READ},
};

const struct dag_route_info *dag_route_table(size_t *n) {
  *n = DAG_ARRAY_SIZE(routes);
  return routes;
}

/* Does the pattern match the segments? Literal segments compare exactly;
 * "{}" takes any non-empty segment. */
static bool pattern_matches(const char *pattern, char *const *segs, size_t n) {
  size_t i = 0;
  const char *p = pattern;
  if (*p == '\0') return n == 0;
  for (;;) {
    size_t len = strcspn(p, "/");
    if (i == n) return false;
    if (len == 2 && strncmp(p, "{}", 2) == 0) {
      if (segs[i][0] == '\0') return false;
    } else if (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0) {
      return false;
    }
    i++;
    p += len;
    if (*p == '\0') return i == n;
    p++;
  }
}

static void capture(const char *pattern, char **segs, struct dag_route_match *m) {
  size_t i = 0;
  for (const char *p = pattern; *p; i++) {
    size_t len = strcspn(p, "/");
    if (len == 2 && strncmp(p, "{}", 2) == 0 && m->n_params < DAG_ROUTE_MAX_PARAMS) {
      m->params[m->n_params++] = segs[i];
      segs[i] = NULL; /* ownership moves to the match */
    }
    p += len;
    if (*p == '/') p++;
  }
}

static bool refused_segment(const char *s) {
  return strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/') != NULL ||
         strchr(s, '\\') != NULL;
}

int dag_route_match(enum http_method method, const char *path, struct dag_route_match *m) {
  memset(m, 0, sizeof(*m));
  if (path[0] != '/') return 404;
  char *segs[MAX_SEGMENTS + 1];
  size_t n = 0;
  int status = 0;
  const char *p = path + 1;
  while (*p && !status) {
    size_t len = strcspn(p, "/");
    if (n == MAX_SEGMENTS) {
      status = 404;
      break;
    }
    char *seg = dag_http_decode(p, len, false);
    /* A dataset's URI is its id in Airflow's path, percent-encoded with its
     * slashes; it never names a file. */
    bool uri = n == 3 && strcmp(segs[0], "api") == 0 && strcmp(segs[1], "v1") == 0 &&
               strcmp(segs[2], "datasets") == 0;
    if (!seg || (uri ? strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0 : refused_segment(seg))) {
      free(seg);
      status = 400;
      break;
    }
    segs[n++] = seg;
    p += len;
    if (*p == '/') p++; /* a trailing slash ends the path like none */
  }
  if (!status) {
    status = 404;
    for (size_t r = 0; r < DAG_ARRAY_SIZE(routes); r++) {
      if (!pattern_matches(routes[r].pattern, segs, n)) continue;
      m->methods |= routes[r].methods;
      if (!(routes[r].methods & M(method))) continue;
      m->route = routes[r].route;
      m->perm = routes[r].perm;
      capture(routes[r].pattern, segs, m);
      status = 200;
      break;
    }
    if (status == 404 && m->methods) status = 405;
  }
  for (size_t i = 0; i < n; i++) free(segs[i]);
  return status;
}

void dag_route_match_free(struct dag_route_match *m) {
  for (size_t i = 0; i < m->n_params; i++) free(m->params[i]);
  memset(m, 0, sizeof(*m));
}

void dag_route_allow(const struct dag_route_match *m, char *buf, size_t size) {
  static const enum http_method order[] = {HTTP_GET,   HTTP_HEAD,  HTTP_POST,
                                           HTTP_PATCH, HTTP_PUT,   HTTP_DELETE};
  size_t len = 0;
  if (size) buf[0] = '\0';
  for (size_t i = 0; i < DAG_ARRAY_SIZE(order); i++) {
    if (!(m->methods & M(order[i])) || len >= size) continue;
    int w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                     http_method_str(order[i]));
    if (w > 0) len += (size_t)w;
  }
}
