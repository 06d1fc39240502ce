/* api_backfill.c - Airflow 3's backfill API (its /api/v2/backfills),
 * served under /api/v1 beside Airflow 2's paths:
 *   GET  /api/v1/backfills?dag_id=        {backfills, total_entries}
 *   POST /api/v1/backfills                BackfillPostBody -> the backfill
 *   POST /api/v1/backfills/dry_run        {backfills: [{logical_date}], total_entries}
 *   GET  /api/v1/backfills/{id}
 *   PUT  /api/v1/backfills/{id}/cancel|pause|unpause
 * The body has Airflow's fields: dag_id, from_date, to_date,
 * run_backwards (false only), dag_run_conf, reprocess_behavior (none,
 * failed, completed), max_active_runs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "backfill.h"
#include "error.h"
#include "log.h"
#include "runs.h"
#include "timeutil.h"
#include "web_api.h"
#include "web_int.h"

/* The body's request, or false after answering 400. *conf_out: caller frees. */
static bool parse_body(struct dag_http_conn *c, json_t *body, const char **dag_id,
                       struct dag_backfill_request *r, char **conf_out) {
  memset(r, 0, sizeof(*r));
  *conf_out = NULL;
  *dag_id = json_string_value(json_object_get(body, "dag_id"));
  json_t *from = json_object_get(body, "from_date"), *to = json_object_get(body, "to_date");
  json_t *reprocess = json_object_get(body, "reprocess_behavior");
  json_t *max = json_object_get(body, "max_active_runs");
  json_t *conf = json_object_get(body, "dag_run_conf");
  json_t *back = json_object_get(body, "run_backwards");
  char why[96];
  if (!*dag_id) {
    web_error(c, 400, "Bad Request", "dag_id (a string) names the DAG to backfill");
  } else if (!json_is_string(from) ||
             dag_time_parse_iso(json_string_value(from), &r->from_date, why, sizeof(why)) != 0) {
    web_error(c, 400, "Bad Request", "from_date must be an ISO-8601 date or time");
  } else if (!json_is_string(to) ||
             dag_time_parse_iso(json_string_value(to), &r->to_date, why, sizeof(why)) != 0) {
    web_error(c, 400, "Bad Request", "to_date must be an ISO-8601 date or time");
  } else if (reprocess && !json_is_null(reprocess) &&
             (!json_is_string(reprocess) ||
              !dag_backfill_reprocess_name(json_string_value(reprocess)))) {
    web_error(c, 400, "Bad Request", "reprocess_behavior must be none, failed or completed");
  } else if (max && !json_is_null(max) &&
             (!json_is_integer(max) || json_integer_value(max) < 1 ||
              json_integer_value(max) > 1000000)) {
    web_error(c, 400, "Bad Request", "max_active_runs must be an integer from 1 to 1000000");
  } else if (conf && !json_is_null(conf) && !json_is_object(conf)) {
    web_error(c, 400, "Bad Request", "dag_run_conf must be a JSON object");
  } else if (back && json_is_true(back)) {
    web_error(c, 400, "Bad Request", "run_backwards is not supported: runs go oldest first");
  } else {
    r->reprocess = json_is_string(reprocess) ? json_string_value(reprocess) : "none";
    r->max_active_runs = json_is_integer(max) ? (int)json_integer_value(max) : 0;
    if (json_is_object(conf)) *conf_out = json_dumps(conf, JSON_COMPACT);
    r->conf_json = *conf_out;
    return true;
  }
  return false;
}

struct dry {
  dag_store *st;
  const char *dag_id, *reprocess;
  json_t *arr;
  int rc;
};

static int dry_one(void *ud, const struct dag_interval *iv) {
  struct dry *d = ud;
  enum dag_backfill_decision dec;
  int64_t pk;
  enum dag_run_state state = DAG_RUN_QUEUED;
  if ((d->rc = dag_backfill_decide(d->st, d->dag_id, iv->start,
                                   dag_backfill_reprocess_name(d->reprocess), &dec, &pk,
                                   &state)) != 0)
    return d->rc;
  json_array_append_new(
      d->arr, json_pack("{s:o, s:s, s:o}", "logical_date", dag_api_time(iv->start), "decision",
                        dag_backfill_decision_name(dec), "existing_state",
                        pk ? json_string(dag_run_state_name(state)) : json_null()));
  return 0;
}

static void create(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                   bool dry_run) {
  json_t *body = api_body_object(c, req);
  if (!body) return;
  const char *dag_id;
  struct dag_backfill_request r;
  char *conf = NULL;
  if (!parse_body(c, body, &dag_id, &r, &conf)) {
    json_decref(body);
    return;
  }
  struct dag *dag = api_load_dag(w, c, dag_id);
  if (!dag) {
    free(conf);
    json_decref(body);
    return;
  }
  if (dry_run) {
    struct dry d = {.st = w->store, .dag_id = dag_id, .reprocess = r.reprocess,
                    .arr = json_array()};
    int rc = r.from_date > r.to_date ? DAG_EINVAL
                                     : dag_backfill_each(dag, r.from_date, r.to_date, dry_one, &d);
    if (rc == 0)
      web_json(c, 200, json_pack("{s:O, s:I}", "backfills", d.arr, "total_entries",
                                 (json_int_t)json_array_size(d.arr)));
    else if (rc == DAG_ENOTFOUND)
      web_error(c, 400, "Bad Request", "DAG '%s' has no time-based schedule to backfill", dag_id);
    else if (rc == DAG_EINVAL)
      web_error(c, 400, "Bad Request", "from_date must not be after to_date");
    else
      web_store_error(c, rc, "cannot plan the backfill");
    json_decref(d.arr);
  } else {
    dag_store *writer = api_writer(w, c);
    if (writer) {
      int64_t id = 0;
      char *err = NULL;
      int rc = dag_store_begin(writer);
      if (rc == 0) rc = dag_backfill_create(writer, dag, &r, &id, &err);
      char obj[32];
      snprintf(obj, sizeof(obj), "backfill:%lld", (long long)id);
      rc = web_audit_finish_dag_object(w, c, writer, rc, "backfill", dag_id, rc == 0 ? obj : NULL);
      api_writer_done(w, writer);
      struct dag_store_backfill b;
      if (rc == DAG_EINVAL) {
        web_error(c, 400, "Bad Request", "%s", err);
      } else if (rc) {
        web_store_error(c, rc, "cannot create the backfill");
      } else if (dag_store_backfill_get(w->store, id, &b) != 0) {
        web_error(c, 500, "Internal Server Error", "the backfill was created but cannot be read back");
      } else {
        LOG_INFO("web: backfill created dag=%s backfill=%lld", dag_id, (long long)id);
        dag_scheduler_notify(w->cfg->home);
        web_json(c, 200, dag_api_backfill(&b));
        dag_store_backfill_free(&b);
      }
      free(err);
    }
  }
  dag_free(dag);
  free(conf);
  json_decref(body);
}

static bool parse_id(struct dag_http_conn *c, const char *s, int64_t *id) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v <= 0) {
    web_error(c, 404, "Not Found", "no backfill '%s'", s);
    return false;
  }
  *id = v;
  return true;
}

static void get_one(struct dag_web *w, struct dag_http_conn *c, int64_t id) {
  struct dag_store_backfill b;
  int rc = dag_store_backfill_get(w->store, id, &b);
  if (rc == DAG_ENOTFOUND) {
    web_error(c, 404, "Not Found", "no backfill %lld", (long long)id);
  } else if (rc) {
    web_store_error(c, rc, "cannot read the backfill");
  } else {
    web_json(c, 200, dag_api_backfill(&b));
    dag_store_backfill_free(&b);
  }
}

static void change(struct dag_web *w, struct dag_http_conn *c, int64_t id, enum dag_route route) {
  dag_store *writer = api_writer(w, c);
  if (!writer) return;
  const char *what = route == DAG_ROUTE_BACKFILL_CANCEL  ? "cancel"
                     : route == DAG_ROUTE_BACKFILL_PAUSE ? "pause"
                                                         : "unpause";
  struct dag_store_backfill b;
  int rc = dag_store_backfill_get(writer, id, &b);
  char *dag_id = rc == 0 ? xstrdup(b.dag_id) : NULL;
  if (rc == 0) dag_store_backfill_free(&b);
  if (rc == 0) rc = dag_store_begin(writer);
  if (rc == 0) {
    dag_time_t now = dag_time_now();
    rc = route == DAG_ROUTE_BACKFILL_CANCEL
             ? dag_store_backfill_cancel(writer, id, now)
             : dag_store_backfill_set_paused(writer, id, route == DAG_ROUTE_BACKFILL_PAUSE, now);
    char event[32], obj[32];
    snprintf(event, sizeof(event), "backfill.%s", what);
    snprintf(obj, sizeof(obj), "backfill:%lld", (long long)id);
    rc = web_audit_finish_dag_object(w, c, writer, rc, event, dag_id, obj);
  }
  api_writer_done(w, writer);
  free(dag_id);
  if (rc == DAG_ENOTFOUND) {
    web_error(c, 404, "Not Found", "no backfill %lld", (long long)id);
  } else if (rc == DAG_ESTATE) {
    web_error(c, 409, "Conflict", "backfill %lld has completed already", (long long)id);
  } else if (rc) {
    web_store_error(c, rc, "cannot change the backfill");
  } else {
    LOG_INFO("web: backfill %s backfill=%lld", what, (long long)id);
    dag_scheduler_notify(w->cfg->home);
    get_one(w, c, id);
  }
}

static void list(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req) {
  char *dag_id = dag_http_query_param(req->query, "dag_id");
  struct dag_store_backfill *b = NULL;
  size_t n = 0;
  int rc = dag_store_backfill_list(w->store, dag_id, false, &b, &n);
  free(dag_id);
  if (rc) {
    web_store_error(c, rc, "cannot list backfills");
    return;
  }
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_backfill(&b[i]));
  dag_store_backfills_free(b, n);
  web_json(c, 200, json_pack("{s:o, s:I}", "backfills", arr, "total_entries", (json_int_t)n));
}

void web_backfills(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
                   const struct dag_route_match *m) {
  int64_t id;
  switch (m->route) {
  case DAG_ROUTE_BACKFILLS:
    if (req->method == HTTP_POST)
      create(w, c, req, false);
    else
      list(w, c, req);
    break;
  case DAG_ROUTE_BACKFILL_DRY_RUN:
    create(w, c, req, true);
    break;
  case DAG_ROUTE_BACKFILL:
    if (parse_id(c, m->params[0], &id)) get_one(w, c, id);
    break;
  default:
    if (parse_id(c, m->params[0], &id)) change(w, c, id, m->route);
  }
}
