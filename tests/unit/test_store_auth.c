/* test_store_auth.c - users and API tokens in the store
 * (scheduler/store/store_auth.c), on SQLite and on PostgreSQL: a taken name,
 * a token for a user that does not exist, the role read at each lookup,
 * revocation, a deleted user's tokens gone with it; the audit log's
 * entries and their filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "store_audit.h"
#include "store_auth.h"
#include "store_fixture.h"

static void users_and_tokens(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  assert_int_equal(dag_store_user_add(st, "al", DAG_ROLE_USER, "h1", 10), 0);
  assert_int_equal(dag_store_user_add(st, "al", DAG_ROLE_ADMIN, NULL, 11), DAG_EEXIST);
  assert_int_equal(dag_store_token_add(st, "t1", "al", "hash1", 12, 0), 0);
  assert_int_equal(dag_store_token_add(st, "t2", "nobody", "hash2", 12, 0), DAG_ENOTFOUND);
  struct dag_store_token t;
  enum dag_role r;
  assert_int_equal(dag_store_token_find(st, "hash1", &t, &r), 0);
  assert_string_equal(t.username, "al");
  assert_int_equal(r, DAG_ROLE_USER);
  dag_store_token_clear(&t);
  assert_int_equal(dag_store_user_set_role(st, "al", DAG_ROLE_OP, 13), 0);
  assert_int_equal(dag_store_token_find(st, "hash1", &t, &r), 0);
  assert_int_equal(r, DAG_ROLE_OP); /* the user's role now, not at creation */
  dag_store_token_clear(&t);
  assert_int_equal(dag_store_token_revoke(st, "t1", 14), 0);
  assert_int_equal(dag_store_token_revoke(st, "t1", 15), DAG_ENOTFOUND);
  assert_int_equal(dag_store_token_find(st, "hash1", &t, &r), 0);
  assert_int_equal(t.revoked_at, 14);
  dag_store_token_clear(&t);
  assert_int_equal(dag_store_user_delete(st, "al"), 0);
  assert_int_equal(dag_store_user_delete(st, "al"), DAG_ENOTFOUND);
  assert_int_equal(dag_store_token_find(st, "hash1", &t, &r), DAG_ENOTFOUND);
  assert_int_equal(dag_store_user_set_password(st, "al", "h", 16), DAG_ENOTFOUND);
}


static void lists(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  assert_int_equal(dag_store_user_add(st, "b", DAG_ROLE_ADMIN, NULL, 10), 0);
  assert_int_equal(dag_store_user_add(st, "a", DAG_ROLE_VIEWER, "h", 10), 0);
  assert_int_equal(dag_store_token_add(st, "t1", "a", "x1", 20, 0), 0);
  assert_int_equal(dag_store_token_add(st, "t2", "b", "x2", 30, 99), 0);
  struct dag_store_user *u;
  size_t n;
  assert_int_equal(dag_store_user_list(st, &u, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(u[0].username, "a");
  assert_string_equal(u[0].password_hash, "h");
  assert_null(u[1].password_hash);
  assert_int_equal(u[1].role, DAG_ROLE_ADMIN);
  dag_store_users_free(u, n);
  struct dag_store_token *t;
  assert_int_equal(dag_store_token_list(st, NULL, &t, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(t[0].id, "t2"); /* newest first */
  assert_int_equal(t[0].expires_at, 99);
  assert_int_equal(t[1].expires_at, 0);
  dag_store_tokens_free(t, n);
  assert_int_equal(dag_store_token_list(st, "a", &t, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(t[0].id, "t1");
  dag_store_tokens_free(t, n);
}

static void audit(void **state) {
  dag_store *st = ((struct store_fixture *)*state)->st;
  struct dag_audit_entry a = {.at = 100, .username = "al", .client = "127.0.0.1",
                              .event = "trigger", .dag_id = "d", .run_id = "r",
                              .outcome = "success"};
  struct dag_audit_entry b = {.at = 200, .client = "cli", .event = "login",
                              .outcome = "failure", .extra = "wrong"};
  assert_int_equal(dag_store_audit_add(st, &a), 0);
  assert_int_equal(dag_store_audit_add(st, &b), 0);
  struct dag_audit_entry *e;
  size_t n;
  int64_t total;
  assert_int_equal(dag_store_audit_list(st, NULL, 0, 10, 0, &e, &n, &total), 0);
  assert_int_equal(n, 2);
  assert_int_equal(total, 2);
  assert_string_equal(e[0].event, "trigger");
  assert_string_equal(e[0].run_id, "r");
  assert_null(e[1].username);
  assert_string_equal(e[1].extra, "wrong");
  dag_store_audit_free(e, n);
  assert_int_equal(dag_store_audit_list(st, "al", 0, 10, 0, &e, &n, &total), 0);
  assert_int_equal(n, 1);
  dag_store_audit_free(e, n);
  assert_int_equal(dag_store_audit_list(st, NULL, 150, 10, 0, &e, &n, &total), 0);
  assert_int_equal(n, 1);
  assert_string_equal(e[0].event, "login");
  dag_store_audit_free(e, n);
  assert_int_equal(dag_store_audit_list(st, NULL, 0, 1, 1, &e, &n, &total), 0);
  assert_int_equal(n, 1);
  assert_int_equal(total, 2);
  dag_store_audit_free(e, n);
  assert_int_equal(dag_store_audit_list(st, NULL, 0, 10, 5, &e, &n, &total), 0);
  assert_int_equal(n, 0);
  assert_int_equal(total, 2);
  dag_store_audit_free(e, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      STORE_TEST(users_and_tokens),
      STORE_TEST(lists),
      STORE_TEST(audit),
  };
  return store_backends_run("store_auth", tests, DAG_ARRAY_SIZE(tests));
}
