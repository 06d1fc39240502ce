/* api_sort.h - Airflow's `order_by` and paging over a list answer built in
 * memory: the lists of the API are arrays of JSON objects, sorted by one of
 * their fields ("-field": descending) before `offset` and `limit` cut a
 * page from them, as Airflow does in SQL. */
#ifndef DAG_API_SORT_H
#define DAG_API_SORT_H

#include <jansson.h>
#include <stdbool.h>

#include "http.h"

/* Sort `arr` (an array of objects; borrowed, sorted in place) by
 * `order_by` ("name" or "-name"; NULL or "" leaves the order as it is).
 * `fields` (NULL-terminated) are the names a client may order by. The sort
 * is stable; null sorts first, then false and true, numbers, strings
 * (byte order). Returns true; false after answering 400 naming the field.
 * O(n log n). */
bool api_sort(struct dag_http_conn *c, const char *order_by, const char *const *fields,
              json_t *arr);

/* api_sort() with the request's `order_by` query parameter. */
bool api_sort_query(struct dag_http_conn *c, const struct dag_http_request *req,
                    const char *const *fields, json_t *arr);

/* Items [offset, offset + limit) of `arr`, as a new array (the items are
 * shared); `arr` is borrowed. */
json_t *api_page(json_t *arr, long offset, long limit);

#endif
