/* email.c - the `email` task type: a templated mail, as Airflow's
 * EmailOperator, through the outbox and smtp settings that alerts use
 * (the host's queue_email(), dagctl/plugin.h minor 5). The task succeeds
 * once the mail is queued: from there the scheduler's sender delivers it
 * with its retries, and `dagctl alerts` shows how it went.
 *
 * Params (templates arrive rendered):
 *   to       required: an address, addresses separated by ',' or ';', or
 *            a list of addresses
 *   cc       the same, optional
 *   subject  required
 *   body     plain text; "" */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dagctl/plugin.h"

#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)

static const char *param(const struct dagctl_host *h, const char *name) {
  return HOST_HAS(h, param) ? h->param(h, name) : NULL;
}

/* `v` as a JSON array of addresses (the host checks each), or NULL when
 * `v` is NULL or empty. A list arrives as JSON text; anything else is one
 * string of addresses separated by ',' or ';'. Caller frees. */
static char *address_list(const char *v) {
  if (v == NULL) return NULL;
  json_t *arr = v[0] == '[' ? json_loads(v, 0, NULL) : NULL;
  if (!json_is_array(arr)) {
    json_decref(arr);
    arr = json_array();
    for (const char *p = v; *p;) {
      p += strspn(p, " \t,;");
      size_t n = strcspn(p, ",;");
      size_t len = n;
      while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
      if (len) json_array_append_new(arr, json_stringn(p, len));
      p += n;
    }
  }
  char *out = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
  json_decref(arr);
  return out;
}

static enum dagctl_result email_execute(const struct dagctl_host *h) {
  if (!HOST_HAS(h, queue_email)) {
    h->log(h, DAGCTL_LOG_ERROR, "this host has no outbox for plugins (it predates ABI minor 5)");
    return DAGCTL_FAILED;
  }
  const char *subject = param(h, "subject"), *body = param(h, "body");
  char *to = address_list(param(h, "to")), *cc = address_list(param(h, "cc"));
  enum dagctl_result res = DAGCTL_FAILED;
  if (to == NULL)
    h->log(h, DAGCTL_LOG_ERROR, "to: no address");
  else if (subject == NULL)
    h->log(h, DAGCTL_LOG_ERROR, "subject: required");
  else if (h->queue_email(h, to, cc, subject, body ? body : "") == 0)
    res = DAGCTL_OK;
  free(to);
  free(cc);
  return res;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_ANY, DAGCTL_PARAM_REQUIRED, "to", NULL,
                 "an address, several separated by ',' or ';', or a list"),
    DAGCTL_PARAM(DAGCTL_PARAM_ANY, 0, "cc", NULL, "the same, for the Cc header"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "subject", NULL, "the subject"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "body", "", "the text of the mail"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "email",
     "queue a mail in the alerts' outbox (sent through the smtp settings)", email_execute,
     params, DAG_ARRAY_SIZE(params), 0, NULL},
};

static const struct dagctl_plugin plugin = {sizeof(struct dagctl_plugin),
                                            DAGCTL_PLUGIN_ABI_VERSION,
                                            "email",
                                            "1.0.0",
                                            types,
                                            DAG_ARRAY_SIZE(types),
                                            NULL,
                                            0};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
