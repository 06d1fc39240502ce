/* log.c - the process logger (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "alloc.h"

static enum dag_log_level min_level = DAG_LOG_INFO;
static char **secrets;
static size_t n_secrets, cap_secrets;

void dag_log_set_level(enum dag_log_level level) {
  min_level = level;
}

int dag_log_parse_level(const char *name, enum dag_log_level *out) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = (enum dag_log_level)i;
      return 0;
    }
  }
  return -1;
}

void dag_log_mask(const char *secret) {
  if (secret == NULL || strlen(secret) < 4) return;
  for (size_t i = 0; i < n_secrets; i++)
    if (strcmp(secrets[i], secret) == 0) return;
  secrets = xgrow(secrets, &cap_secrets, n_secrets + 1, sizeof(*secrets));
  secrets[n_secrets++] = xstrdup(secret);
}

void dag_log_reset(void) {
  for (size_t i = 0; i < n_secrets; i++) free(secrets[i]);
  free(secrets);
  secrets = NULL;
  n_secrets = cap_secrets = 0;
  min_level = DAG_LOG_INFO;
}

void dag_log_redact(char *s) {
  for (size_t i = 0; i < n_secrets; i++) {
    size_t len = strlen(secrets[i]);
    char *hit;
    while ((hit = strstr(s, secrets[i])) != NULL) {
      /* "***" is never longer than a secret (>= 4 bytes). */
      memcpy(hit, "***", 3);
      memmove(hit + 3, hit + len, strlen(hit + len) + 1);
    }
  }
}

void dag_log(enum dag_log_level level, const char *fmt, ...) {
  static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  if (level < min_level) return;

  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  dag_log_redact(msg);

  struct timeval tv;
  struct tm tm;
  gettimeofday(&tv, NULL);
  gmtime_r(&tv.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n",
          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
          tm.tm_sec, (long)(tv.tv_usec / 1000), tags[level], msg);
}
