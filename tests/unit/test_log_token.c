/* test_log_token.c - the tokens that open one log on a worker's log
 * server for a short while (log_token.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log_token.h"

static const char secret[] = "s3cret-shared-by-the-machines";
static const char path[] = "wide/r1/l1_001/1.log";

/* A token opens its log for DAG_LOG_TOKEN_TTL seconds, no longer, and no
 * other log. */
static void opens_its_log_a_while(void **state) {
  (void)state;
  char t[DAG_LOG_TOKEN_SIZE];
  dag_log_token_make(secret, path, 1000, t);
  assert_non_null(strchr(t, '.'));
  assert_null(strstr(t, secret));
  assert_true(dag_log_token_check(secret, path, t, 1000));
  assert_true(dag_log_token_check(secret, path, t, 1000 + DAG_LOG_TOKEN_TTL));
  assert_false(dag_log_token_check(secret, path, t, 1000 + DAG_LOG_TOKEN_TTL + 1));
  assert_false(dag_log_token_check(secret, "wide/r1/l1_002/1.log", t, 1000));
  assert_false(dag_log_token_check("another-secret", path, t, 1000));
  assert_false(dag_log_token_check("", path, t, 1000));
  assert_false(dag_log_token_check(NULL, path, t, 1000));
}

/* Forged, altered or malformed tokens are refused. */
static void refuses_forgeries(void **state) {
  (void)state;
  char t[DAG_LOG_TOKEN_SIZE];
  dag_log_token_make(secret, path, 1000, t);
  /* A later expiry with the same MAC. */
  char later[DAG_LOG_TOKEN_SIZE];
  memcpy(later, t, sizeof(later));
  later[3] = later[3] == '9' ? '8' : (char)(later[3] + 1);
  assert_false(dag_log_token_check(secret, path, later, 1000));
  /* One hex digit of the MAC changed. */
  size_t n = strlen(t);
  t[n - 1] = t[n - 1] == '0' ? '1' : '0';
  assert_false(dag_log_token_check(secret, path, t, 1000));
  /* An expiry too far ahead: a token that would never expire. */
  dag_log_token_make(secret, path, 1000 + DAG_LOG_TOKEN_MAX_AHEAD, t);
  assert_false(dag_log_token_check(secret, path, t, 1000));
  const char *bad[] = {"", ".", "1030", "1030.", "x.00", "1030.zz", "1030.00", NULL};
  for (size_t i = 0; i < 7; i++) assert_false(dag_log_token_check(secret, path, bad[i], 1000));
  assert_false(dag_log_token_check(secret, path, NULL, 1000));
  /* A MAC followed by more text. */
  dag_log_token_make(secret, path, 1000, t);
  n = strlen(t);
  t[n] = 'a';
  t[n + 1] = '\0';
  assert_false(dag_log_token_check(secret, path, t, 1000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(opens_its_log_a_while),
      cmocka_unit_test(refuses_forgeries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
