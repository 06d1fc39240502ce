/* api_sort.c - order_by and paging of list answers (see api_sort.h). */
#include "api_sort.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "web_int.h"

struct sort_item {
  json_t *obj; /* borrowed from the array */
  json_t *key; /* obj's field, borrowed; NULL when absent */
  size_t index; /* the position before sorting: ties keep it (stable) */
  int dir;      /* 1 ascending, -1 descending */
};

/* null (or absent) < false < true < numbers < strings < arrays, objects. */
static int rank(const json_t *v) {
  if (!v || json_is_null(v)) return 0;
  if (json_is_false(v)) return 1;
  if (json_is_true(v)) return 2;
  if (json_is_number(v)) return 3;
  if (json_is_string(v)) return 4;
  return 5;
}

static int compare_values(const json_t *a, const json_t *b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 3) {
    double x = json_number_value(a), y = json_number_value(b);
    return x < y ? -1 : x > y;
  }
  if (ra == 4) {
    int c = strcmp(json_string_value(a), json_string_value(b));
    return c < 0 ? -1 : c > 0;
  }
  return 0;
}

static int compare_items(const void *pa, const void *pb) {
  const struct sort_item *a = pa, *b = pb;
  int c = compare_values(a->key, b->key) * a->dir;
  if (c) return c;
  return a->index < b->index ? -1 : a->index > b->index;
}

bool api_sort(struct dag_http_conn *c, const char *order_by, const char *const *fields,
              json_t *arr) {
  if (!order_by || !*order_by) return true;
  int dir = 1;
  const char *field = order_by;
  if (*field == '-') {
    dir = -1;
    field++;
  }
  bool known = false;
  for (const char *const *f = fields; *f && !known; f++) known = strcmp(*f, field) == 0;
  if (!known) {
    /* Airflow's wording, so that clients matching on it keep working. */
    web_error(c, 400, "Bad Request",
              "Ordering with '%s' is disallowed or the attribute does not exist on the model",
              field);
    return false;
  }
  size_t n = json_array_size(arr);
  if (n < 2) return true;
  struct sort_item *items = xcalloc(n, sizeof(*items));
  for (size_t i = 0; i < n; i++) {
    items[i].obj = json_incref(json_array_get(arr, i));
    items[i].key = json_object_get(items[i].obj, field);
    items[i].index = i;
    items[i].dir = dir;
  }
  qsort(items, n, sizeof(*items), compare_items);
  json_array_clear(arr);
  for (size_t i = 0; i < n; i++) json_array_append_new(arr, items[i].obj);
  free(items);
  return true;
}

bool api_sort_query(struct dag_http_conn *c, const struct dag_http_request *req,
                    const char *const *fields, json_t *arr) {
  char *order_by = dag_http_query_param(req->query, "order_by");
  bool ok = api_sort(c, order_by, fields, arr);
  free(order_by);
  return ok;
}

json_t *api_page(json_t *arr, long offset, long limit) {
  json_t *page = json_array();
  size_t n = json_array_size(arr);
  for (size_t i = offset > 0 ? (size_t)offset : 0; i < n && (long)json_array_size(page) < limit;
       i++)
    json_array_append(page, json_array_get(arr, i));
  return page;
}
