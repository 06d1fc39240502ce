/* api_pools.c - Airflow's /api/v1/pools (store_pools.h), with Airflow
 * 2.10's Pool schema: name, slots, occupied_slots, running_slots,
 * queued_slots, open_slots, scheduled_slots, deferred_slots, description,
 * include_deferred. default_pool may change its slots and include_deferred
 * only, and is never deleted, as in Airflow. Reading is a viewer's right,
 * changing an op's (route.c); each change is audited in its transaction
 * (web_audit.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "priority.h"
#include "store_pools.h"
#include "web_api.h"

static json_t *pool_json(const struct dag_store_pool *p) {
  return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:b}", "name", p->name,
                   "slots", p->slots, "occupied_slots", dag_store_pool_occupied(p),
                   "running_slots", p->running_slots, "queued_slots", p->queued_slots,
                   "open_slots", dag_store_pool_open(p), "scheduled_slots", p->scheduled_slots,
                   "deferred_slots", p->deferred_slots, "description",
                   p->description ? json_string(p->description) : json_null(),
                   "include_deferred", p->include_deferred);
}

static void store_error(struct dag_http_conn *c, int rc, const char *name) {
  if (rc == DAG_ENOTFOUND)
    web_error(c, 404, "Pool not found", "Pool with name:'%s' not found", name);
  else if (rc == DAG_ESTATE)
    web_error(c, 400, "Bad Request", "Default Pool can't be deleted");
  else if (rc == DAG_EINVAL)
    web_error(c, 400, "Bad Request", "Pool '%s': invalid", name);
  else
    web_store_error(c, rc, "the state store failed");
}

/* ?order_by=: id (the default), name or slots, "-" first for descending. */
static int order_cmp_field;
static int cmp_pools(const void *a, const void *b) {
  const struct dag_store_pool *x = a, *y = b;
  if (order_cmp_field == 1) return strcmp(x->name, y->name);
  return (x->slots > y->slots) - (x->slots < y->slots);
}

static void list_pools(struct dag_web *w, struct dag_http_conn *c,
                       const struct dag_http_request *req) {
  long limit, offset;
  if (!api_query_int(c, req, "limit", 100, 1, 10000, &limit) ||
      !api_query_int(c, req, "offset", 0, 0, INT32_MAX, &offset))
    return;
  char *o = dag_http_query_param(req->query, "order_by");
  bool desc = o && o[0] == '-';
  const char *field = o ? o + desc : "id";
  int by = strcmp(field, "id") == 0 ? 0 : strcmp(field, "name") == 0 ? 1
                                      : strcmp(field, "slots") == 0 ? 2 : -1;
  if (by < 0) {
    web_error(c, 400, "Bad Request",
              "Ordering with '%s' is disallowed or the attribute does not exist on the model",
              o);
    free(o);
    return;
  }
  free(o);
  struct dag_store_pool *p = NULL;
  size_t n = 0;
  int rc = dag_store_pool_list(w->store, &p, &n);
  if (rc) {
    store_error(c, rc, "list");
    return;
  }
  /* The list is in id order already; a few pools, sorted here. */
  if (by) {
    order_cmp_field = by;
    qsort(p, n, sizeof(*p), cmp_pools);
  }
  json_t *arr = json_array();
  for (long i = offset; i < (long)n && i < offset + limit; i++)
    json_array_append_new(arr, pool_json(&p[desc ? (long)n - 1 - i : i]));
  web_json(c, 200, json_pack("{s:o, s:I}", "pools", arr, "total_entries", (json_int_t)n));
  dag_store_pools_free(p, n);
}

static void get_pool(struct dag_web *w, struct dag_http_conn *c, const char *name) {
  struct dag_store_pool p;
  int rc = dag_store_pool_get(w->store, name, &p);
  if (rc) {
    store_error(c, rc, name);
    return;
  }
  web_json(c, 200, pool_json(&p));
  dag_store_pool_clear(&p);
}

/* Is `field` named by the comma-separated update_mask (NULL: all are)? */
static bool in_mask(const char *mask, const char *field) {
  if (!mask) return true;
  size_t len = strlen(field);
  for (const char *p = mask; *p;) {
    while (*p == ' ') p++;
    size_t n = strcspn(p, ",");
    if (n == len && strncmp(p, field, len) == 0) return true;
    p += n;
    if (*p == ',') p++;
  }
  return false;
}

/* POST /pools (name and slots required; 409 when it exists) and PATCH
 * /pools/{name}?update_mask= (it must exist). */
static void put_pool(struct dag_web *w, struct dag_http_conn *c,
                     const struct dag_http_request *req, const char *path_name) {
  static const char *const fields[] = {"name", "slots", "description", "include_deferred"};
  char *mask = path_name ? dag_http_query_param(req->query, "update_mask") : NULL;
  for (const char *p = mask; p && *p;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, ",");
    bool ok = false;
    for (size_t i = 0; i < DAG_ARRAY_SIZE(fields) && !ok; i++)
      ok = strlen(fields[i]) == len && strncmp(fields[i], p, len) == 0;
    if (!ok) {
      web_error(c, 400, "Bad Request", "Invalid field: %.*s in update mask", (int)len, p);
      free(mask);
      return;
    }
    p += len;
    if (*p == ',') p++;
  }
  json_t *body = api_body_object(c, req);
  if (!body) {
    free(mask);
    return;
  }
  json_t *jname = json_object_get(body, "name"), *jslots = json_object_get(body, "slots");
  json_t *jdesc = json_object_get(body, "description");
  json_t *jinc = json_object_get(body, "include_deferred");
  const char *why = NULL;
  const char *name = json_string_value(jname);
  if (jname && !json_is_string(jname))
    why = "name: must be a string";
  else if (jslots && (!json_is_integer(jslots) || json_integer_value(jslots) < 0 ||
                      json_integer_value(jslots) > DAG_MAX_POOL_SLOTS))
    why = "slots: must be a whole number from 0 to 1000000";
  else if (jdesc && !json_is_string(jdesc) && !json_is_null(jdesc))
    why = "description: must be a string or null";
  else if (jinc && !json_is_boolean(jinc))
    why = "include_deferred: must be a boolean";
  else if (!mask && (!jname || !jslots))
    why = !jname && !jslots ? "Missing required property(ies): ['name', 'slots']"
          : !jname          ? "Missing required property(ies): ['name']"
                            : "Missing required property(ies): ['slots']";
  else if (name && dag_pool_name_problem(name))
    why = dag_pool_name_problem(name);
  else if (path_name && name && in_mask(mask, "name") && strcmp(name, path_name) != 0)
    why = strcmp(path_name, DAG_DEFAULT_POOL) == 0 ? "Default Pool's name can't be modified"
                                                   : "A pool's name cannot be changed";
  if (why) {
    web_error(c, 400, "Bad Request", "%s", why);
    json_decref(body);
    free(mask);
    return;
  }
  dag_store *st = api_writer(w, c);
  if (!st) {
    json_decref(body);
    free(mask);
    return;
  }
  const char *target = path_name ? path_name : name;
  struct dag_store_pool old = {0};
  int rc = dag_store_begin(st);
  int got = rc ? rc : dag_store_pool_get(st, target, &old);
  bool conflict = false;
  if (rc == 0 && path_name && got) {
    rc = got;
  } else if (rc == 0 && !path_name && got == 0) {
    rc = DAG_EEXIST;
    conflict = true;
  } else if (rc == 0 && got && got != DAG_ENOTFOUND) {
    rc = got;
  }
  if (rc == 0) {
    int slots = jslots && in_mask(mask, "slots") ? (int)json_integer_value(jslots) : old.slots;
    const char *desc = jdesc && in_mask(mask, "description") ? json_string_value(jdesc)
                                                              : old.description;
    bool inc = jinc && in_mask(mask, "include_deferred") ? json_is_true(jinc)
                                                          : old.include_deferred;
    rc = dag_store_pool_put(st, target, slots, desc, inc, NULL);
  }
  rc = web_audit_finish_object(w, c, st, rc, path_name ? "pool.update" : "pool.create", target);
  if (conflict)
    web_error(c, 409, "Conflict", "Pool: %s already exists", target);
  else if (rc)
    store_error(c, rc, target);
  else
    get_pool(w, c, target);
  dag_store_pool_clear(&old);
  api_writer_done(w, st);
  json_decref(body);
  free(mask);
}

static void delete_pool(struct dag_web *w, struct dag_http_conn *c, const char *name) {
  if (strcmp(name, DAG_DEFAULT_POOL) == 0) {
    web_error(c, 400, "Bad Request", "Default Pool can't be deleted");
    return;
  }
  dag_store *st = api_writer(w, c);
  if (!st) return;
  int rc = dag_store_begin(st);
  if (rc == 0) rc = dag_store_pool_delete(st, name);
  rc = web_audit_finish_object(w, c, st, rc, "pool.delete", name);
  if (rc)
    store_error(c, rc, name);
  else
    dag_http_respond(c, 204, "application/json", NULL, "", 0);
  api_writer_done(w, st);
}

void api_pools(struct dag_web *w, struct dag_http_conn *c, const struct dag_http_request *req,
               const struct dag_route_match *m) {
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  const char *name = m->n_params ? m->params[0] : NULL;
  if (m->route == DAG_ROUTE_POOLS) {
    if (get)
      list_pools(w, c, req);
    else
      put_pool(w, c, req, NULL);
  } else if (get) {
    get_pool(w, c, name);
  } else if (req->method == HTTP_DELETE) {
    delete_pool(w, c, name);
  } else {
    put_pool(w, c, req, name);
  }
}
