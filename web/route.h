/* route.h - which handler a request path goes to.
 *
 * Paths are split on '/', each segment percent-decoded on its own (so an
 * id holding "%2F" cannot add a segment), and matched against a fixed table
 * of patterns whose "{}" segments capture ids. A "." or ".." segment, or a
 * decoded segment holding '/' or a NUL, is refused before any lookup: no id
 * can hold them and the API never builds a file path from the request. */
#ifndef DAG_ROUTE_H
#define DAG_ROUTE_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

enum dag_route {
  DAG_ROUTE_NONE,
  /* pages and assets */
  DAG_ROUTE_PAGE_DAGS,  /* / */
  DAG_ROUTE_PAGE_DAG,   /* /dags/{dag_id} */
  DAG_ROUTE_PAGE_TRY,   /* /dags/{dag_id}/runs/{run_id}/tasks/{task_id}/tries/{try} */
  DAG_ROUTE_STATIC,     /* /static/{name} */
  DAG_ROUTE_METRICS,    /* /metrics */
  /* the JSON API, Airflow's stable REST paths */
  DAG_ROUTE_DAGS,           /* /api/v1/dags */
  DAG_ROUTE_DAG,            /* /api/v1/dags/{dag_id} */
  DAG_ROUTE_RUNS,           /* /api/v1/dags/{dag_id}/dagRuns */
  DAG_ROUTE_RUN,            /* .../dagRuns/{run_id} */
  DAG_ROUTE_TIS,            /* .../dagRuns/{run_id}/taskInstances */
  DAG_ROUTE_TI,             /* .../taskInstances/{task_id} */
  DAG_ROUTE_LOG,            /* .../taskInstances/{task_id}/logs/{try} */
  DAG_ROUTE_CLEAR,          /* /api/v1/dags/{dag_id}/clearTaskInstances */
  DAG_ROUTE_IMPORT_ERRORS,  /* /api/v1/importErrors */
  DAG_ROUTE_HEALTH,         /* /api/v1/health */
  DAG_ROUTE_VERSION,        /* /api/v1/version */
  /* dagctl's additions for the page, outside Airflow's API */
  DAG_ROUTE_GRID,           /* /api/v1/dags/{dag_id}/grid */
  DAG_ROUTE_TRIES,          /* .../dagRuns/{run_id}/tries */
  DAG_ROUTE_RECENT_RUNS,    /* /api/v1/ui/recentRuns */
  DAG_ROUTE_VERSIONS,       /* /api/v1/dags/{dag_id}/dagVersions */
  DAG_ROUTE_SOURCE,         /* /api/v1/dagSources/{dag_id}?version_number=N */
  DAG_ROUTE_PAGE_DASHBOARD, /* /dashboard */
  DAG_ROUTE_DASHBOARD,      /* /api/v1/ui/dashboard?start=&end= */
  DAG_ROUTE_PAGE_LOGIN,     /* /login */
  DAG_ROUTE_LOGIN,          /* POST /api/v1/ui/login */
  DAG_ROUTE_LOGOUT,         /* POST /api/v1/ui/logout */
  DAG_ROUTE_SESSION,        /* GET /api/v1/ui/session: who, and the CSRF token */
  DAG_ROUTE_EVENT_LOGS,     /* GET /api/v1/eventLogs: the audit log */
  DAG_ROUTE_PAGE_AUDIT,     /* /audit: its page */
  DAG_ROUTE_WORKERS,        /* GET /api/v1/ui/workers: core.executor: workers */
  DAG_ROUTE_XCOMS,          /* .../taskInstances/{task_id}/xcomEntries */
  DAG_ROUTE_XCOM,           /* .../taskInstances/{task_id}/xcomEntries/{key} */
  DAG_ROUTE_DATASETS,       /* GET /api/v1/datasets */
  DAG_ROUTE_DATASET,        /* GET /api/v1/datasets/{uri}, the URI percent-encoded */
  DAG_ROUTE_DATASET_EVENTS, /* GET /api/v1/datasets/events */
  DAG_ROUTE_VARIABLES,      /* /api/v1/variables */
  DAG_ROUTE_VARIABLE,       /* /api/v1/variables/{key} */
  DAG_ROUTE_CONNECTIONS,    /* /api/v1/connections */
  DAG_ROUTE_CONNECTION,     /* /api/v1/connections/{connection_id} */
  /* more of Airflow's stable REST API (api_lists.c, api_dags.c) */
  DAG_ROUTE_RUNS_LIST,      /* POST /api/v1/dags/~/dagRuns/list */
  DAG_ROUTE_DAG_DETAILS,    /* /api/v1/dags/{dag_id}/details */
  DAG_ROUTE_TASKS,          /* /api/v1/dags/{dag_id}/tasks */
  DAG_ROUTE_DAG_STATS,      /* /api/v1/dagStats?dag_ids= */
  DAG_ROUTE_IMPORT_ERROR,   /* /api/v1/importErrors/{import_error_id} */
  DAG_ROUTE_CONFIG,         /* /api/v1/config */
  /* Airflow 3's backfills (/api/v2/backfills there), served under /api/v1 */
  DAG_ROUTE_BACKFILLS,         /* GET, POST /api/v1/backfills */
  DAG_ROUTE_BACKFILL,          /* GET /api/v1/backfills/{id} */
  DAG_ROUTE_BACKFILL_DRY_RUN,  /* POST /api/v1/backfills/dry_run */
  DAG_ROUTE_BACKFILL_CANCEL,   /* PUT /api/v1/backfills/{id}/cancel */
  DAG_ROUTE_BACKFILL_PAUSE,    /* PUT .../pause */
  DAG_ROUTE_BACKFILL_UNPAUSE,  /* PUT .../unpause */
  DAG_ROUTE_PLUGINS,        /* /api/v1/plugins */
  /* states set by hand (api_mark.c) */
  DAG_ROUTE_TI_MARK,    /* PATCH .../dagRuns/{run_id}/taskInstances/{task_id} */
  DAG_ROUTE_MARK_TIS,   /* POST /api/v1/dags/{dag_id}/updateTaskInstancesState */
  DAG_ROUTE_RUN_STATE,  /* PATCH, DELETE .../dagRuns/{run_id} */
  /* a mapped task's instances (api_mapped.c) */
  DAG_ROUTE_TI_MAPPED,  /* .../taskInstances/{task_id}/listMapped */
  DAG_ROUTE_TI_MAP,     /* .../taskInstances/{task_id}/{map_index} */
  DAG_ROUTE_CALLBACK_LOG, /* GET .../dagRuns/{run_id}/callbackLog (api_callback_log.c) */
  DAG_ROUTE_POOLS,      /* GET, POST /api/v1/pools (api_pools.c) */
  DAG_ROUTE_POOL,       /* GET, PATCH, DELETE /api/v1/pools/{pool_name} */
  DAG_ROUTE_ALERTS,     /* GET /api/v1/alerts: the outbox (api_alerts.c) */
  DAG_ROUTE_PAGE_ADMIN, /* /admin: variables, connections and alerts */
};

#define DAG_ROUTE_MAX_PARAMS 4

struct dag_route_match {
  enum dag_route route;
  enum dag_perm perm; /* what the route needs for this method */
  char *params[DAG_ROUTE_MAX_PARAMS]; /* decoded captures, in path order; owned */
  size_t n_params;
  uint64_t methods; /* bit (1 << method) for each method the path accepts */
};

/* Match `path` (as sent, without the query). Returns 200 with the route and
 * its captures; 404 for an unknown path; 405 when the path exists but not
 * for `method` (m->methods says which do); 400 for a malformed escape or a
 * refused segment. HEAD is accepted wherever GET is. Always safe to
 * dag_route_match_free(). */
int dag_route_match(enum http_method method, const char *path, struct dag_route_match *m);
void dag_route_match_free(struct dag_route_match *m);

/* A row of the route table. */
struct dag_route_info {
  const char *pattern; /* segments after the leading '/'; "{}" captures */
  uint64_t methods;    /* bit (1 << method); HEAD wherever GET */
  enum dag_route route;
  enum dag_perm perm;
};
/* The whole table, in match order (static). */
const struct dag_route_info *dag_route_table(size_t *n);

/* The methods of m->methods as an Allow header value, "GET, HEAD". */
void dag_route_allow(const struct dag_route_match *m, char *buf, size_t size);

#endif
