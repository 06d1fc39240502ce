/* task_email.h - an email task's mail into the alerts' outbox
 * (dagctl/plugin.h, minor 5), used by `dagctl __task`. */
#ifndef DAG_CLI_TASK_EMAIL_H
#define DAG_CLI_TASK_EMAIL_H

#include <stdint.h>

#include "cli.h"

/* One mail; every string borrowed. */
struct cli_task_email {
  const char *dag_id, *run_id, *task_id;
  int try_number;
  const char *to_json; /* a non-empty JSON array of bare addresses */
  const char *cc_json; /* NULL or a JSON array of bare addresses */
  const char *subject, *body;
};

/* Queue `m` (secrets masked) and wake the sender: 0 and the outbox row's
 * *id, or a negative code with *err (caller frees). */
int cli_task_queue_email(struct cli *c, const struct cli_task_email *m, int64_t *id,
                         char **err);

#endif
