/* test_auth.c - roles and permissions, password and token hashing
 * (scheduler/core/auth.c), the Authorization header parser
 * (web/web_auth.c) and the route table's permissions (web/route.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "error.h"
#include "route.h"
#include "web_auth.h"

static void test_roles(void **state) {
  (void)state;
  enum dag_role r;
  assert_int_equal(dag_role_parse("op", &r), 0);
  assert_int_equal(r, DAG_ROLE_OP);
  assert_int_equal(dag_role_parse("Admin", &r), DAG_EINVAL);
  assert_int_equal(dag_role_parse("", &r), DAG_EINVAL);
  /* Each role grants exactly its own rights and those below. */
  static const bool want[4][5] = {
      /* public read   edit   op     admin */
      {true, true, false, false, false}, /* viewer */
      {true, true, true, false, false},  /* user */
      {true, true, true, true, false},   /* op */
      {true, true, true, true, true},    /* admin */
  };
  static const enum dag_perm perms[] = {DAG_PERM_PUBLIC, DAG_PERM_READ, DAG_PERM_EDIT,
                                        DAG_PERM_OP, DAG_PERM_ADMIN};
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < 5; k++) assert_int_equal(dag_role_allows(i, perms[k]), want[i][k]);
    assert_false(dag_role_allows(i, DAG_PERM_NONE));
  }
}

static void test_route_permissions(void **state) {
  (void)state;
  size_t n;
  const struct dag_route_info *t = dag_route_table(&n);
  assert_true(n > 20);
  for (size_t i = 0; i < n; i++) {
    /* Every row names a permission; a change needs at least edit. The
     * batch list of runs is a read sent as POST, as in Airflow. */
    assert_int_not_equal(t[i].perm, DAG_PERM_NONE);
    uint64_t reads = (UINT64_C(1) << HTTP_GET) | (UINT64_C(1) << HTTP_HEAD);
    bool own_session = t[i].route == DAG_ROUTE_LOGIN || t[i].route == DAG_ROUTE_LOGOUT;
    bool read_post = t[i].route == DAG_ROUTE_RUNS_LIST;
    if ((t[i].methods & ~reads) && !own_session && !read_post)
      assert_true(t[i].perm >= DAG_PERM_EDIT);
  }
  struct dag_route_match m;
  assert_int_equal(dag_route_match(HTTP_PATCH, "/api/v1/dags/x", &m), 200);
  assert_int_equal(m.perm, DAG_PERM_EDIT);
  dag_route_match_free(&m);
  assert_int_equal(dag_route_match(HTTP_GET, "/api/v1/dags/x", &m), 200);
  assert_int_equal(m.perm, DAG_PERM_READ);
  dag_route_match_free(&m);
  assert_int_equal(dag_route_match(HTTP_DELETE, "/api/v1/dags/x", &m), 405);
  dag_route_match_free(&m);
  assert_int_equal(dag_route_match(HTTP_GET, "/api/v1/health", &m), 200);
  assert_int_equal(m.perm, DAG_PERM_PUBLIC);
  dag_route_match_free(&m);
}

static void test_passwords(void **state) {
  (void)state;
  assert_int_equal(dag_auth_init(), 0);
  char *h = NULL;
  assert_int_equal(dag_auth_hash_password("correct horse", &h), 0);
  assert_non_null(strstr(h, "$argon2id$"));
  assert_null(strstr(h, "correct horse"));
  assert_true(dag_auth_check_password(h, "correct horse"));
  assert_false(dag_auth_check_password(h, "correct horsE"));
  assert_false(dag_auth_check_password(h, ""));
  assert_false(dag_auth_check_password(NULL, "correct horse"));
  char *h2 = NULL;
  assert_int_equal(dag_auth_hash_password("correct horse", &h2), 0);
  assert_string_not_equal(h, h2); /* salted */
  free(h);
  free(h2);
  assert_null(dag_auth_password_problem("eight ch"));
  assert_non_null(dag_auth_password_problem("seven c"));
  assert_non_null(dag_auth_password_problem("tab\there!"));
  assert_non_null(dag_auth_password_problem("dagctl_looks_like_a_token"));
}

static void test_tokens(void **state) {
  (void)state;
  assert_int_equal(dag_auth_init(), 0);
  char *a = dag_auth_new_token(), *b = dag_auth_new_token();
  assert_int_equal(strlen(a), 7 + 43);
  assert_memory_equal(a, "dagctl_", 7);
  assert_string_not_equal(a, b);
  char *ha = dag_auth_token_hash(a), *ha2 = dag_auth_token_hash(a), *hb = dag_auth_token_hash(b);
  assert_int_equal(strlen(ha), 64);
  assert_string_equal(ha, ha2);
  assert_string_not_equal(ha, hb);
  assert_true(dag_auth_equal(ha, ha2));
  assert_false(dag_auth_equal(ha, hb));
  assert_false(dag_auth_equal("abc", "abcd"));
  free(a), free(b), free(ha), free(ha2), free(hb);
  assert_null(dag_auth_user_problem("alice.b@example-1"));
  assert_non_null(dag_auth_user_problem(""));
  assert_non_null(dag_auth_user_problem(".alice"));
  assert_non_null(dag_auth_user_problem("a b"));
  assert_non_null(dag_auth_user_problem("a/b"));
}

static void test_cookie(void **state) {
  (void)state;
  char v[16];
  assert_true(web_cookie_value("a=1; dagctl_session=abc-_9; b=2", "dagctl_session", v, sizeof(v)));
  assert_string_equal(v, "abc-_9");
  assert_true(web_cookie_value("dagctl_session=x", "dagctl_session", v, sizeof(v)));
  assert_string_equal(v, "x");
  assert_false(web_cookie_value("xdagctl_session=abc", "dagctl_session", v, sizeof(v)));
  assert_false(web_cookie_value("dagctl_session=", "dagctl_session", v, sizeof(v)));
  assert_false(web_cookie_value("dagctl_session=a\"b", "dagctl_session", v, sizeof(v)));
  assert_false(web_cookie_value("dagctl_session=0123456789abcdef", "dagctl_session", v, sizeof(v)));
  assert_false(web_cookie_value(NULL, "dagctl_session", v, sizeof(v)));
  assert_false(web_cookie_value("other=1", "dagctl_session", v, sizeof(v)));
}

static void test_cred_parse(void **state) {
  (void)state;
  struct web_cred c;
  web_cred_parse(NULL, &c);
  assert_int_equal(c.kind, WEB_CRED_NONE);
  web_cred_parse("Bearer abc", &c);
  assert_int_equal(c.kind, WEB_CRED_BEARER);
  assert_string_equal(c.secret, "abc");
  web_cred_parse("bearer   abc  ", &c);
  assert_int_equal(c.kind, WEB_CRED_BEARER);
  assert_string_equal(c.secret, "abc");
  web_cred_parse("Bearer a b", &c);
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Bearer ", &c);
  assert_int_equal(c.kind, WEB_CRED_BAD);
  /* base64("alice:pa:ss") - the password may hold ':' */
  web_cred_parse("Basic YWxpY2U6cGE6c3M=", &c);
  assert_int_equal(c.kind, WEB_CRED_BASIC);
  assert_string_equal(c.user, "alice");
  assert_string_equal(c.secret, "pa:ss");
  web_cred_parse("Basic OnBhc3M=", &c); /* ":pass": no user */
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Basic YWxpY2U6", &c); /* "alice:": no password */
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Basic YWxpY2U=", &c); /* "alice": no colon */
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Basic !!!", &c);
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Basic YQpiOmM=", &c); /* "a\nb:c": a control character */
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Digest x", &c);
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_parse("Bearer", &c);
  assert_int_equal(c.kind, WEB_CRED_BAD);
  web_cred_wipe(&c);
  assert_int_equal(c.kind, WEB_CRED_NONE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roles),     cmocka_unit_test(test_route_permissions),
      cmocka_unit_test(test_passwords), cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_cred_parse), cmocka_unit_test(test_cookie),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
