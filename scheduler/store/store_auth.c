/* store_auth.c - users and API tokens (see store_auth.h). */
#include "store_auth.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store_int.h"

void dag_store_user_free(struct dag_store_user *u) {
  free(u->username);
  free(u->password_hash);
  memset(u, 0, sizeof(*u));
}

void dag_store_users_free(struct dag_store_user *u, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_user_free(&u[i]);
  free(u);
}

void dag_store_token_clear(struct dag_store_token *t) {
  free(t->id);
  free(t->username);
  memset(t, 0, sizeof(*t));
}

void dag_store_tokens_free(struct dag_store_token *t, size_t n) {
  for (size_t i = 0; i < n; i++) dag_store_token_clear(&t[i]);
  free(t);
}

/* A role as stored; the CHECK constraint admits only the names. */
static enum dag_role col_role(struct store_stmt *s, int col) {
  enum dag_role r = DAG_ROLE_VIEWER;
  const char *v = store_col_cstr(s, col);
  if (v) dag_role_parse(v, &r);
  return r;
}

int dag_store_user_add(dag_store *st, const char *username, enum dag_role role,
                       const char *password_hash, dag_time_t now) {
  /* ON CONFLICT: a taken name is an answer, not a failure, and PostgreSQL
   * would abort the caller's transaction on a broken key. */
  static const char sql[] =
      "INSERT INTO app_user (username, role, password_hash, created_at, changed_at)"
      " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (username) DO NOTHING";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, username);
  store_bind_text(s, 2, dag_role_name(role));
  store_bind_text(s, 3, password_hash);
  store_bind_int64(s, 4, now);
  int rc = store_step_done(st, s, "add user");
  if (rc) return rc;
  return store_changes(st) ? 0 : DAG_EEXIST;
}

static void read_user(struct store_stmt *s, struct dag_store_user *u) {
  u->username = store_col_text(s, 0);
  u->role = col_role(s, 1);
  u->password_hash = store_col_text(s, 2);
  u->created_at = store_col_int(s, 3);
  u->changed_at = store_col_int(s, 4);
}

int dag_store_user_get(dag_store *st, const char *username, struct dag_store_user *out) {
  static const char sql[] =
      "SELECT username, role, password_hash, created_at, changed_at FROM app_user"
      " WHERE username = ?";
  memset(out, 0, sizeof(*out));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, username);
  int rc = store_step(s);
  if (rc == STORE_ROW) read_user(s, out);
  store_reset(s);
  if (rc == STORE_ERROR) return store_fail(st, "get user");
  return rc == STORE_ROW ? 0 : DAG_ENOTFOUND;
}

int dag_store_user_list(dag_store *st, struct dag_store_user **out, size_t *n) {
  static const char sql[] =
      "SELECT username, role, password_hash, created_at, changed_at FROM app_user"
      " ORDER BY username";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_user(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list users");
}

/* Run `s` (bound) as an UPDATE/DELETE of one user: DAG_ENOTFOUND when it
 * touched no row. */
static int change_one(dag_store *st, struct store_stmt *s, const char *what) {
  int rc = store_step_done(st, s, what);
  if (rc) return rc;
  return store_changes(st) ? 0 : DAG_ENOTFOUND;
}

int dag_store_user_delete(dag_store *st, const char *username) {
  /* The tokens go first rather than by ON DELETE CASCADE alone: a store
   * opened without foreign keys enforced must not keep a deleted user's
   * tokens usable. */
  static const char del_tokens[] = "DELETE FROM api_token WHERE username = ?";
  static const char del_user[] = "DELETE FROM app_user WHERE username = ?";
  int rc = dag_store_begin(st);
  if (rc) return rc;
  struct store_stmt *s = store_stmt(st, del_tokens);
  if (!s) {
    rc = DAG_ESTORE;
    goto fail;
  }
  store_bind_text(s, 1, username);
  if ((rc = store_step_done(st, s, "delete user's tokens")) != 0) goto fail;
  if (!(s = store_stmt(st, del_user))) {
    rc = DAG_ESTORE;
    goto fail;
  }
  store_bind_text(s, 1, username);
  if ((rc = change_one(st, s, "delete user")) != 0) goto fail;
  return dag_store_commit(st);
fail:
  dag_store_rollback(st);
  return rc;
}

int dag_store_user_set_password(dag_store *st, const char *username,
                                const char *password_hash, dag_time_t now) {
  static const char sql[] =
      "UPDATE app_user SET password_hash = ?1, changed_at = ?2 WHERE username = ?3";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, password_hash);
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, username);
  return change_one(st, s, "set password");
}

int dag_store_user_set_role(dag_store *st, const char *username, enum dag_role role,
                            dag_time_t now) {
  static const char sql[] =
      "UPDATE app_user SET role = ?1, changed_at = ?2 WHERE username = ?3";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, dag_role_name(role));
  store_bind_int64(s, 2, now);
  store_bind_text(s, 3, username);
  return change_one(st, s, "set role");
}

int dag_store_token_add(dag_store *st, const char *id, const char *username,
                        const char *token_hash, dag_time_t now, dag_time_t expires_at) {
  /* INSERT ... SELECT: no row when the user does not exist, rather than a
   * broken foreign key that PostgreSQL would abort the transaction for.
   * The casts give PostgreSQL the parameters' types, which a SELECT list
   * does not. */
  static const char sql[] =
      "INSERT INTO api_token (id, username, token_hash, created_at, expires_at)"
      " SELECT CAST(?1 AS TEXT), username, CAST(?3 AS TEXT), CAST(?4 AS BIGINT),"
      " CAST(?5 AS BIGINT) FROM app_user WHERE username = ?2";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, id);
  store_bind_text(s, 2, username);
  store_bind_text(s, 3, token_hash);
  store_bind_int64(s, 4, now);
  store_bind_time(s, 5, expires_at);
  return change_one(st, s, "add token");
}

static void read_token(struct store_stmt *s, struct dag_store_token *t) {
  t->id = store_col_text(s, 0);
  t->username = store_col_text(s, 1);
  t->created_at = store_col_int(s, 2);
  t->expires_at = store_col_int(s, 3);
  t->revoked_at = store_col_int(s, 4);
}

int dag_store_token_list(dag_store *st, const char *username, struct dag_store_token **out,
                         size_t *n) {
  static const char sql[] =
      "SELECT id, username, created_at, expires_at, revoked_at FROM api_token"
      " WHERE ?1 IS NULL OR username = ?1 ORDER BY created_at DESC, id";
  static const char sql_pg[] =
      "SELECT id, username, created_at, expires_at, revoked_at FROM api_token"
      " WHERE ?1::text IS NULL OR username = ?1 ORDER BY created_at DESC, id";
  *out = NULL;
  *n = 0;
  struct store_stmt *s = store_stmt2(st, sql, sql_pg);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, username);
  size_t cap = 0;
  int rc;
  while ((rc = store_step(s)) == STORE_ROW) {
    *out = xgrow(*out, &cap, *n + 1, sizeof(**out));
    read_token(s, &(*out)[(*n)++]);
  }
  store_reset(s);
  return rc == STORE_DONE ? 0 : store_fail(st, "list tokens");
}

int dag_store_token_revoke(dag_store *st, const char *id, dag_time_t now) {
  static const char sql[] =
      "UPDATE api_token SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL";
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_int64(s, 1, now);
  store_bind_text(s, 2, id);
  return change_one(st, s, "revoke token");
}

int dag_store_token_find(dag_store *st, const char *token_hash, struct dag_store_token *token,
                         enum dag_role *role) {
  static const char sql[] =
      "SELECT t.id, t.username, t.created_at, t.expires_at, t.revoked_at, u.role"
      " FROM api_token t JOIN app_user u ON u.username = t.username WHERE t.token_hash = ?";
  memset(token, 0, sizeof(*token));
  struct store_stmt *s = store_stmt(st, sql);
  if (!s) return DAG_ESTORE;
  store_bind_text(s, 1, token_hash);
  int rc = store_step(s);
  if (rc == STORE_ROW) {
    read_token(s, token);
    *role = col_role(s, 5);
  }
  store_reset(s);
  if (rc == STORE_ERROR) return store_fail(st, "find token");
  return rc == STORE_ROW ? 0 : DAG_ENOTFOUND;
}
