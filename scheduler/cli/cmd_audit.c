/* cmd_audit.c - `dagctl audit`: the audit log, oldest first, and the
 * entries of the command line's own changes (users, tokens, triggers,
 * pauses, clears). */
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "apijson.h"
#include "cli.h"
#include "duration.h"
#include "error.h"
#include "log.h"
#include "store_audit.h"
#include "timeutil.h"

static const char usage[] = "dagctl audit [--user USER] [--since T] [--limit N] [--json]";

/* The command line acts as the account that runs it: "cli:NAME". */
static char *cli_who(void) {
  struct passwd *pw = getpwuid(getuid());
  return xasprintf("cli:%s", pw && pw->pw_name ? pw->pw_name : "?");
}

int cli_audit_finish(struct cli *c, int rc, const char *event, const char *object) {
  return cli_audit_finish_run(c, rc, event, NULL, NULL, object);
}

int cli_audit_finish_run(struct cli *c, int rc, const char *event, const char *dag_id,
                         const char *run_id, const char *object) {
  char *who = cli_who();
  struct dag_audit_entry e = {.at = dag_time_now(), .username = who, .client = "cli",
                              .event = (char *)event, .dag_id = (char *)dag_id,
                              .run_id = (char *)run_id, .object = (char *)object,
                              .outcome = "success"};
  if (rc == 0) {
    rc = dag_store_audit_add(c->store, &e);
    if (rc == 0) rc = dag_store_commit(c->store);
    free(who);
    return rc;
  }
  dag_store_rollback(c->store);
  e.outcome = "failure";
  e.extra = (char *)dag_strerror(rc);
  if (dag_store_audit_add(c->store, &e) != 0)
    LOG_ERROR("cannot record a failed change in the audit log event=%s", event);
  free(who);
  return rc;
}

int cmd_audit(struct cli *c, int argc, char **argv) {
  enum { OPT_USER = 1, OPT_SINCE, OPT_LIMIT };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"user", required_argument, NULL, OPT_USER},
                                       {"since", required_argument, NULL, OPT_SINCE},
                                       {"limit", required_argument, NULL, OPT_LIMIT},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  const char *user = NULL;
  dag_time_t since = 0;
  int limit = 1000;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Every change (trigger, pause, clear, users, tokens, logins), oldest first:\n"
             "when, who, from where, what, on which object and how it went. --since takes\n"
             "a duration back from now (12h, 1d) or an ISO-8601 date or time.\n",
             usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case OPT_USER: user = optarg; break;
    case OPT_SINCE: {
      int64_t us;
      char why[128];
      if (dag_duration_parse(optarg, &us) == 0)
        since = dag_time_now() - us;
      else if (dag_time_parse_iso(optarg, &since, why, sizeof(why)) != 0)
        return cli_usage_error(usage, "--since: '%s' is neither a duration nor a time", optarg);
      break;
    }
    case OPT_LIMIT:
      if (!cli_parse_int(optarg, &limit) || limit < 1)
        return cli_usage_error(usage, "--limit takes a positive number");
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (optind < argc) return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
  int rc = cli_open_readonly(c);
  if (rc) return rc;
  struct dag_audit_entry *e = NULL;
  size_t n = 0;
  int64_t total = 0;
  if (dag_store_audit_list(c->store, user, since, limit, 0, &e, &n, &total) != 0)
    return CLI_CONFIG;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_event_log(&e[i]));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no audit entries\n");
  } else {
    static const char *const head[] = {"WHEN", "USER", "CLIENT", "EVENT", "OBJECT", "OUTCOME"};
    struct cli_table *t = cli_table_new(head, 6);
    for (size_t i = 0; i < n; i++) {
      char when[32];
      cli_fmt_time(e[i].at, when, sizeof(when));
      char *obj = e[i].dag_id ? xasprintf("%s%s%s%s%s", e[i].dag_id, e[i].run_id ? " " : "",
                                          e[i].run_id ? e[i].run_id : "",
                                          e[i].task_id ? " " : "",
                                          e[i].task_id ? e[i].task_id : "")
                              : xasprintf("%s", e[i].object ? e[i].object : "");
      const char *row[] = {when, e[i].username ? e[i].username : "-", e[i].client, e[i].event,
                           obj, e[i].outcome};
      cli_table_add(t, row);
      free(obj);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_audit_free(e, n);
  return CLI_OK;
}
