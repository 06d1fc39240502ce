/* web_log_json.h - a try's log as Airflow's JSON answer (api_log_json.c). */
#ifndef DAG_WEB_LOG_JSON_H
#define DAG_WEB_LOG_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* Answer {content, continuation_token} with the log in `fd` (taken) from
 * byte `start` of its `size`: at most 1 MiB, or 16 MiB when `full`, read on
 * the thread pool, cut before a split UTF-8 sequence, bytes that are not
 * UTF-8 shown as U+FFFD. The token's end_of_log is true once the try has
 * `finished` and the whole log was sent. */
void api_log_json(struct dag_http_conn *c, int fd, int64_t start, int64_t size, bool finished,
                  bool full);

/* The continuation token for byte `pos`: base64url of
 * {"log_pos": N, "end_of_log": B}. Not signed: it only says where to read
 * next in a log the client may read whole anyway. Caller frees. */
char *api_log_token(int64_t pos, bool end_of_log);
/* Its log_pos; false for anything this server could not have made. */
bool api_log_token_parse(const char *token, int64_t *pos);

#endif
