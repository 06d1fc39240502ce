/* store_versions.c - DAG versions in the SQLite store (see store.h): one row
 * per distinct serialized content of a DAG, with the file's text. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag.h"
#include "dag_serial.h"
#include "error.h"
#include "store_int.h"

#define VERSION_COLUMNS_(data, source)                                              \
  "id, dag_id, version_number, dag_hash, " data ", fileloc, " source ", created_at"
#define VERSION_COLUMNS VERSION_COLUMNS_("data", "source_code")
#define VERSION_COLUMNS_LIGHT VERSION_COLUMNS_("NULL", "NULL")

static void read_version(struct store_stmt *s, struct dag_store_version *v) {
  v->id = store_col_int(s, 0);
  v->dag_id = store_col_text(s, 1);
  v->version_number = (int)store_col_int(s, 2);
  v->dag_hash = store_col_text(s, 3);
  v->data = store_col_text(s, 4);
  v->fileloc = store_col_text(s, 5);
  v->source_code = store_col_text(s, 6);
  v->created_at = store_col_int(s, 7);
}

/* Step a statement that yields at most one version. */
static int get_one(dag_store *st, struct store_stmt *s, struct dag_store_version *out,
                   const char *what) {
  int rc = store_step(s);
  if (rc == STORE_ROW) read_version(s, out);
  store_reset(s);
  if (rc == STORE_ROW) return 0;
  return rc == STORE_DONE ? DAG_ENOTFOUND : store_fail(st, what);
}

/* Inside the caller's transaction. */
static int put_version(dag_store *st, const struct dag *dag, const char *text,
                       const char *hash, const char *source, dag_time_t now, int64_t *id,
                       int *number) {
  static const char find[] =
      "SELECT id, version_number, source_code IS NOT DISTINCT FROM ?3 FROM dag_version"
      " WHERE dag_id = ?1 AND dag_hash = ?2";
  static const char set_source[] = "UPDATE dag_version SET source_code = ? WHERE id = ?";
  static const char ins[] =
      "INSERT INTO dag_version (dag_id, version_number, dag_hash, data, fileloc,"
      " source_code, created_at)"
      " SELECT CAST(?1 AS TEXT), coalesce(max(version_number), 0) + 1, CAST(?2 AS TEXT),"
      " CAST(?3 AS TEXT), CAST(?4 AS TEXT), CAST(?5 AS TEXT), CAST(?6 AS BIGINT)"
      " FROM dag_version WHERE dag_id = ?1 RETURNING id, version_number";
  struct store_stmt *s = store_stmt(st, find);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag->dag_id);
  store_bind_text(s, 2, hash);
  store_bind_text(s, 3, source);
  int rc = store_step(s);
  if (rc == STORE_ROW) {
    *id = store_col_int(s, 0);
    *number = (int)store_col_int(s, 1);
    bool same_source = store_col_int(s, 2) != 0;
    store_reset(s);
    if (!source || same_source) return 0;
    if (!(s = store_stmt(st, set_source))) return DAG_ESTORE;
    store_bind_text(s, 1, source);
    store_bind_int64(s, 2, *id);
    return store_step_done(st, s, "update version source");
  }
  store_reset(s);
  if (rc != STORE_DONE) return store_fail(st, "find version");
  if (!(s = store_stmt(st, ins))) return DAG_ESTORE;
  store_bind_text(s, 1, dag->dag_id);
  store_bind_text(s, 2, hash);
  store_bind_text(s, 3, text);
  store_bind_text(s, 4, dag->file ? dag->file : "");
  store_bind_text(s, 5, source);
  store_bind_int64(s, 6, now);
  rc = store_step(s);
  if (rc == STORE_ROW) {
    *id = store_col_int(s, 0);
    *number = (int)store_col_int(s, 1);
  }
  store_reset(s);
  return rc == STORE_ROW ? 0 : store_fail(st, "add version");
}

int dag_store_put_version(dag_store *st, const struct dag *dag, const char *source,
                          bool current, dag_time_t now, int64_t *id, int *number) {
  static const char set_current[] = "UPDATE dag SET dag_version_id = ? WHERE dag_id = ?";
  char *text = dag_serialize(dag);
  char hash[DAG_SHA256_HEX_LEN + 1];
  dag_serial_hash(text, hash);
  int64_t vid = 0;
  int vnum = 0;
  int rc = dag_store_begin(st);
  if (rc == 0) rc = put_version(st, dag, text, hash, source, now, &vid, &vnum);
  if (rc == 0 && current) {
    struct store_stmt *s = store_stmt(st, set_current);
    if (!s) {
      rc = DAG_ESTORE;
    } else {
      store_bind_int64(s, 1, vid);
      store_bind_text(s, 2, dag->dag_id);
      rc = store_step_done(st, s, "set current version");
    }
  }
  free(text);
  if (rc) {
    dag_store_rollback(st);
    return rc;
  }
  if ((rc = dag_store_commit(st)) != 0) return rc;
  if (id) *id = vid;
  if (number) *number = vnum;
  return 0;
}

int dag_store_get_version(dag_store *st, int64_t id, const char *dag_id, bool with_data,
                          struct dag_store_version *out) {
  static const char by_id[] = "SELECT " VERSION_COLUMNS " FROM dag_version WHERE id = ?";
  static const char by_id_light[] =
      "SELECT " VERSION_COLUMNS_LIGHT " FROM dag_version WHERE id = ?";
  static const char cur[] =
      "SELECT " VERSION_COLUMNS " FROM dag_version"
      " WHERE id = (SELECT dag_version_id FROM dag WHERE dag_id = ?)";
  static const char cur_light[] =
      "SELECT " VERSION_COLUMNS_LIGHT " FROM dag_version"
      " WHERE id = (SELECT dag_version_id FROM dag WHERE dag_id = ?)";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s =
      store_stmt(st, id ? (with_data ? by_id : by_id_light) : (with_data ? cur : cur_light));
  if (!s) return DAG_ESTORE;
  if (id) store_bind_int64(s, 1, id);
  else store_bind_text(s, 1, dag_id);
  return get_one(st, s, out, "get version");
}

int dag_store_get_version_number(dag_store *st, const char *dag_id, int number,
                                 bool with_data, struct dag_store_version *out) {
  static const char sql[] = "SELECT " VERSION_COLUMNS
                            " FROM dag_version WHERE dag_id = ? AND version_number = ?";
  static const char light[] = "SELECT " VERSION_COLUMNS_LIGHT
                              " FROM dag_version WHERE dag_id = ? AND version_number = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, with_data ? sql : light);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  store_bind_int64(s, 2, number);
  return get_one(st, s, out, "get version by number");
}

int dag_store_list_versions(dag_store *st, const char *dag_id, struct dag_store_version **out,
                            size_t *n) {
  static const char sql[] = "SELECT " VERSION_COLUMNS_LIGHT
                            " FROM dag_version WHERE dag_id = ? ORDER BY version_number DESC";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_id);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_version(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  if (rc == STORE_DONE) return 0;
  dag_store_versions_free(*out, *n);
  *out = NULL;
  *n = 0;
  return store_fail(st, "list versions");
}

void dag_store_version_free(struct dag_store_version *v) {
  if (!v) return;
  free(v->dag_id);
  free(v->dag_hash);
  free(v->data);
  free(v->fileloc);
  free(v->source_code);
  memset(v, 0, sizeof(*v));
}

void dag_store_versions_free(struct dag_store_version *v, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_version_free(&v[i]);
  free(v);
}
