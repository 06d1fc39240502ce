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

static const struct route_entry {
  const char *pattern; /* segments after the leading '/'; "{}" captures */
  uint64_t methods;
  enum dag_route route;
} routes[] = {
    {"", GET, DAG_ROUTE_PAGE_DAGS},
    {"dags/{}", GET, DAG_ROUTE_PAGE_DAG},
    {"dags/{}/runs/{}/tasks/{}/tries/{}", GET, DAG_ROUTE_PAGE_TRY},
    {"static/{}", GET, DAG_ROUTE_STATIC},
    {"metrics", GET, DAG_ROUTE_METRICS},
    {"dashboard", GET, DAG_ROUTE_PAGE_DASHBOARD},
    {"api/v1/dags", GET, DAG_ROUTE_DAGS},
    {"api/v1/dags/{}", GET | M(HTTP_PATCH), DAG_ROUTE_DAG},
    {"api/v1/dags/{}/dagRuns", GET | M(HTTP_POST), DAG_ROUTE_RUNS},
    {"api/v1/dags/{}/dagRuns/{}", GET, DAG_ROUTE_RUN},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances", GET, DAG_ROUTE_TIS},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}", GET, DAG_ROUTE_TI},
    {"api/v1/dags/{}/dagRuns/{}/taskInstances/{}/logs/{}", GET, DAG_ROUTE_LOG},
    {"api/v1/dags/{}/dagRuns/{}/tries", GET, DAG_ROUTE_TRIES},
    {"api/v1/dags/{}/clearTaskInstances", M(HTTP_POST), DAG_ROUTE_CLEAR},
    {"api/v1/dags/{}/grid", GET, DAG_ROUTE_GRID},
    {"api/v1/dags/{}/dagVersions", GET, DAG_ROUTE_VERSIONS},
    {"api/v1/dagSources/{}", GET, DAG_ROUTE_SOURCE},
    {"api/v1/importErrors", GET, DAG_ROUTE_IMPORT_ERRORS},
    {"api/v1/health", GET, DAG_ROUTE_HEALTH},
    {"api/v1/version", GET, DAG_ROUTE_VERSION},
    {"api/v1/ui/recentRuns", GET, DAG_ROUTE_RECENT_RUNS},
    {"api/v1/ui/dashboard", GET, DAG_ROUTE_DASHBOARD},
};

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
    if (!seg || refused_segment(seg)) {
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
  static const enum http_method order[] = {HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PATCH};
  size_t len = 0;
  if (size) buf[0] = '\0';
  for (size_t i = 0; i < DAG_ARRAY_SIZE(order); i++) {
    if (!(m->methods & M(order[i])) || len >= size) continue;
    int w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                     http_method_str(order[i]));
    if (w > 0) len += (size_t)w;
  }
}
