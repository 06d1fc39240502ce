/* cmd_alerts.c - `dagctl alerts`: the email outbox, and `alerts retry`. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "cli.h"
#include "error.h"
#include "runs.h"
#include "timeutil.h"
#include "webhook_msg.h"

static const char usage[] = "dagctl alerts [--limit N] [--json] | dagctl alerts retry ID [--json]";

/* What happened to each recipient: its final outcome, or pending. */
struct rcpt_view {
  const char *address;
  const char *state; /* sent | rejected | pending */
  const char *reply; /* NULL while pending */
};

static struct rcpt_view *recipients(const struct dag_store_alert *a,
                                    const struct dag_store_alert_rcpt *done, size_t n_done,
                                    json_t **list, size_t *n) {
  *list = json_loads(a->recipients ? a->recipients : "[]", 0, NULL);
  if (!json_is_array(*list)) {
    json_decref(*list);
    *list = json_array();
  }
  size_t n_list = json_array_size(*list);
  struct rcpt_view *v = xcalloc(n_list + n_done + 1, sizeof(*v));
  *n = 0;
  for (size_t i = 0; i < n_list; i++) {
    const char *addr = json_string_value(json_array_get(*list, i));
    if (!addr) continue;
    v[*n].address = addr;
    v[*n].state = "pending";
    for (size_t k = 0; k < n_done; k++) {
      if (strcmp(done[k].address, addr) != 0) continue;
      v[*n].state = done[k].rejected ? "rejected" : "sent";
      v[*n].reply = done[k].reply;
    }
    (*n)++;
  }
  return v;
}

static json_t *alert_json(const struct dag_store_alert *a, const struct rcpt_view *v,
                          size_t n) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer(a->id));
  json_object_set_new(o, "created_at", dag_api_time(a->created_at));
  json_object_set_new(o, "kind", json_string(dag_alert_kind_name(a->kind)));
  /* The target's kind, and a DAG's own webhook's connection: never the
   * URL, a secret. */
  char *format = NULL, *conn = NULL;
  bool own = dag_webhook_target_parse(a->target, &format, &conn) == 0;
  json_object_set_new(o, "target",
                      json_string(own ? "webhook" : a->target ? a->target : "email"));
  json_object_set_new(o, "connection", own ? json_string(conn) : json_null());
  free(format);
  free(conn);
  json_object_set_new(o, "dag_id", json_string(a->dag_id));
  json_object_set_new(o, "dag_run_id", json_string(a->run_id));
  json_object_set_new(o, "task_id", a->task_id ? json_string(a->task_id) : json_null());
  json_object_set_new(o, "try_number", a->task_id ? json_integer(a->try_number) : json_null());
  json_object_set_new(o, "state", json_string(dag_alert_state_name(a->state)));
  json_object_set_new(o, "attempts", json_integer(a->attempts));
  json_object_set_new(o, "next_attempt_at",
                      a->state == DAG_ALERT_QUEUED ? dag_api_time(a->next_attempt_at)
                                                   : json_null());
  json_object_set_new(o, "sent_at", dag_api_time(a->sent_at));
  json_object_set_new(o, "last_error", a->last_error ? json_string(a->last_error) : json_null());
  json_t *rc = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *r = json_object();
    json_object_set_new(r, "address", json_string(v[i].address));
    json_object_set_new(r, "state", json_string(v[i].state));
    json_object_set_new(r, "reply", v[i].reply ? json_string(v[i].reply) : json_null());
    json_array_append_new(rc, r);
  }
  json_object_set_new(o, "recipients", rc);
  json_object_set_new(o, "subject", json_string(a->subject));
  json_object_set_new(o, "body", json_string(a->body));
  return o;
}

static void alert_text(const struct dag_store_alert *a, const struct rcpt_view *v, size_t n) {
  char created[32], when[32];
  cli_fmt_time(a->created_at, created, sizeof(created));
  printf("%-6lld %-7s %-12s %-8s %-20s %-8d %s\n", (long long)a->id,
         dag_alert_state_name(a->state), dag_alert_kind_name(a->kind),
         a->target ? "webhook" : "email", created, a->attempts, a->subject);
  if (a->state == DAG_ALERT_QUEUED) {
    cli_fmt_time(a->next_attempt_at, when, sizeof(when));
    printf("       next attempt %s UTC\n", when);
  } else if (a->state == DAG_ALERT_SENT) {
    cli_fmt_time(a->sent_at, when, sizeof(when));
    printf("       sent %s UTC\n", when);
  }
  char *format = NULL, *conn = NULL;
  if (a->target && dag_webhook_target_parse(a->target, &format, &conn) == 0)
    printf("       to: the webhook of connection %s (%s; the DAG's notify list)\n", conn,
           format);
  else if (a->target)
    printf("       to: the %s of notify.*\n", a->target);
  else if (n == 0)
    printf("       to: smtp.to (not sent yet)\n");
  free(format);
  free(conn);
  for (size_t i = 0; i < n; i++)
    printf("       to %s: %s%s%s\n", v[i].address, v[i].state, v[i].reply ? ": " : "",
           v[i].reply ? v[i].reply : "");
  if (a->last_error) printf("       reason: %s\n", a->last_error);
}

static int list(struct cli *c, int limit) {
  struct dag_store_alert *alerts = NULL;
  size_t n = 0;
  if (dag_store_list_alerts(c->store, limit, &alerts, &n) != 0) return CLI_CONFIG;
  json_t *arr = c->json ? json_array() : NULL;
  if (!c->json && n)
    printf("%-6s %-7s %-12s %-8s %-20s %-8s %s\n", "ID", "STATE", "KIND", "TARGET", "CREATED",
           "ATTEMPTS", "SUBJECT");
  if (!c->json && !n) printf("no alerts\n");
  int rc = CLI_OK;
  size_t n_mail = 0;
  for (size_t i = 0; i < n; i++) {
    if (alerts[i].target == NULL) n_mail++;
    struct dag_store_alert_rcpt *done = NULL;
    size_t n_done = 0;
    if (dag_store_alert_recipients(c->store, alerts[i].id, &done, &n_done) != 0) {
      rc = CLI_CONFIG;
      break;
    }
    json_t *addrs;
    size_t n_view;
    struct rcpt_view *v = recipients(&alerts[i], done, n_done, &addrs, &n_view);
    if (arr)
      json_array_append_new(arr, alert_json(&alerts[i], v, n_view));
    else
      alert_text(&alerts[i], v, n_view);
    free(v);
    json_decref(addrs);
    dag_store_alert_rcpts_free(done, n_done);
  }
  if (arr) {
    cli_print_json(arr);
  }
  /* Webhook rows need no SMTP: the footer is for the mail rows shown. */
  if (!c->json && !c->cfg.smtp_host && n_mail)
    printf("\nsmtp.host is not set: queued alerts stay in the outbox until it is.\n");
  dag_store_alerts_free(alerts, n);
  return rc;
}

static int retry(struct cli *c, const char *arg) {
  char *end;
  errno = 0;
  long long id = strtoll(arg, &end, 10);
  if (errno || end == arg || *end || id <= 0)
    return cli_usage_error(usage, "'%s' is not an alert id", arg);
  /* A webhook row has no recipients and needs no SMTP: the wording says
   * which of the two it is. */
  struct dag_store_alert a;
  int rc = dag_store_get_alert(c->store, id, &a);
  bool webhook = rc == 0 && a.target != NULL;
  if (rc == 0) dag_store_alert_free(&a);
  if (rc == 0 || rc == DAG_ENOTFOUND) rc = dag_store_retry_alert(c->store, id, dag_time_now());
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: no alert %lld (see: dagctl alerts)\n", id);
    return CLI_NOTFOUND;
  }
  if (rc == DAG_ESTATE) {
    fprintf(stderr, "dagctl: alert %lld %s; nothing to retry\n", id,
            webhook ? "already delivered" : "already reached every recipient");
    return CLI_FAILED;
  }
  if (rc) return CLI_CONFIG;
  dag_scheduler_notify(c->cfg.home);
  if (c->json) {
    cli_print_json(json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "state", "queued",
                             "smtp_configured", c->cfg.smtp_host != NULL));
    return CLI_OK;
  }
  printf("alert %lld queued again%s\n", id,
         webhook || c->cfg.smtp_host ? "" : " (smtp.host is not set: it stays in the outbox)");
  return CLI_OK;
}

int cmd_alerts(struct cli *c, int argc, char **argv) {
  enum { OPT_LIMIT = 1 };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"limit", required_argument, NULL, OPT_LIMIT},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  int limit = 50;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Lists email alerts, newest first (50 by default): queued, sent or failed,\n"
             "with each recipient's outcome and the server's reply. `retry ID` queues a\n"
             "failed (or waiting) alert again, for the recipients that do not have it\n"
             "(--json: {id, state, smtp_configured}).\n",
             usage);
      return CLI_OK;
    case OPT_JSON:
      c->json = true;
      break;
    case OPT_LIMIT:
      if (!cli_parse_int(optarg, &limit) || limit < 1)
        return cli_usage_error(usage, "--limit takes a positive number");
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  bool is_retry = optind < argc && strcmp(argv[optind], "retry") == 0;
  if (is_retry && optind + 2 != argc) return cli_usage_error(usage, "retry takes one alert id");
  if (!is_retry && optind < argc)
    return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
  int rc = cli_open(c);
  if (rc) return rc;
  return is_retry ? retry(c, argv[optind + 1]) : list(c, limit);
}
