/* log_limit.c - rate-limited log lines (see log_limit.h). */
#include "log_limit.h"

bool dag_log_limit_allow(struct dag_log_limit *l, uint64_t now_ms, uint64_t *suppressed) {
  uint64_t interval = l->interval_ms ? l->interval_ms : DAG_LOG_LIMIT_INTERVAL_MS;
  if (l->logged && now_ms - l->last_ms < interval) {
    l->suppressed++;
    return false;
  }
  *suppressed = l->suppressed;
  l->suppressed = 0;
  l->logged = true;
  l->last_ms = now_ms;
  return true;
}

uint64_t dag_log_limit_flush(struct dag_log_limit *l) {
  uint64_t n = l->suppressed;
  l->suppressed = 0;
  return n;
}
