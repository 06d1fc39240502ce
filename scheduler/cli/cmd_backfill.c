/* cmd_backfill.c - `dagctl backfill`: runs of a DAG for the past logical
 * dates of a range (backfill.h), created by the scheduler a few at a time;
 * this verb records the backfill and follows it, and Ctrl-C cancels it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apijson.h"
#include "backfill.h"
#include "cli.h"
#include "error.h"
#include "runs.h"
#include "timeutil.h"

static const char usage[] =
    "dagctl backfill DAG --from DATE --to DATE [--reprocess none|failed|all]\n"
    "                    [--max-active-runs N] [--conf JSON] [--dry-run] [--no-wait] [--json]\n"
    "       dagctl backfill list [DAG] [--json]\n"
    "       dagctl backfill cancel|pause|unpause ID [--json]";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  DAG_UNUSED(sig);
  interrupted = 1;
}

static int parse_id(const char *s, int64_t *id) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v <= 0) return -1;
  *id = v;
  return 0;
}

/* --- dry run ----------------------------------------------------------------- */

struct dry {
  struct cli *c;
  const char *dag_id;
  const char *reprocess;
  json_t *arr; /* --json */
  size_t n, would_run;
  int rc;
};

static int dry_one(void *ud, const struct dag_interval *iv) {
  struct dry *d = ud;
  enum dag_backfill_decision dec;
  int64_t pk = 0;
  enum dag_run_state state = DAG_RUN_QUEUED;
  if ((d->rc = dag_backfill_decide(d->c->store, d->dag_id, iv->start, d->reprocess, &dec, &pk,
                                   &state)) != 0)
    return d->rc;
  d->n++;
  if (dec == DAG_BACKFILL_CREATE || dec == DAG_BACKFILL_RERUN) d->would_run++;
  if (d->arr) {
    json_array_append_new(
        d->arr, json_pack("{s:o, s:o, s:o, s:s, s:o}", "logical_date", dag_api_time(iv->start),
                          "data_interval_start", dag_api_time(iv->start), "data_interval_end",
                          dag_api_time(iv->end), "decision", dag_backfill_decision_name(dec),
                          "existing_state",
                          pk ? json_string(dag_run_state_name(state)) : json_null()));
  } else {
    char iso[48];
    dag_time_iso(iv->start, iso, sizeof(iso));
    if (pk)
      printf("%s  %-11s (run %s)\n", iso, dag_backfill_decision_name(dec),
             dag_run_state_name(state));
    else
      printf("%s  %s\n", iso, dag_backfill_decision_name(dec));
  }
  return 0;
}

static int count_one(void *ud, const struct dag_interval *iv) {
  DAG_UNUSED(iv);
  (*(size_t *)ud)++;
  return 0;
}

/* --- following --------------------------------------------------------------- */

static void progress(const struct dag_store_backfill *b, size_t total, bool tty) {
  int64_t done = b->runs[DAG_RUN_SUCCESS] + b->runs[DAG_RUN_FAILED] + b->runs_skipped;
  fprintf(stderr,
          "%sbackfill %lld: %lld/%zu done (%lld success, %lld failed, %lld skipped), "
          "%lld running, %lld queued%s",
          tty ? "\r\033[K" : "", (long long)b->id, (long long)done, total,
          (long long)b->runs[DAG_RUN_SUCCESS], (long long)b->runs[DAG_RUN_FAILED],
          (long long)b->runs_skipped, (long long)b->runs[DAG_RUN_RUNNING],
          (long long)b->runs[DAG_RUN_QUEUED], tty ? "" : "\n");
}

/* Follow backfill `id` until it completes; Ctrl-C cancels it. A client
 * watching the database a few times a second, as `trigger --wait` does. */
static int follow(struct cli *c, int64_t id, size_t total, struct dag_store_backfill *out) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  bool tty = isatty(STDERR_FILENO) && !c->json;
  char last[256] = "";
  int rc;
  for (;;) {
    if (interrupted) {
      interrupted = 0;
      int crc = dag_store_begin(c->store);
      if (crc == 0) crc = dag_store_backfill_cancel(c->store, id, dag_time_now());
      char obj[32];
      snprintf(obj, sizeof(obj), "backfill:%lld", (long long)id);
      crc = cli_audit_finish(c, crc, "backfill.cancel", obj);
      if (crc == 0) {
        dag_scheduler_notify(c->cfg.home);
        fprintf(stderr, "%sbackfill %lld cancelled: queued runs failed, running runs finish\n",
                tty ? "\n" : "", (long long)id);
      } else if (crc != DAG_ESTATE) {
        fprintf(stderr, "dagctl: cannot cancel backfill %lld: %s\n", (long long)id,
                dag_strerror(crc));
      }
    }
    if ((rc = dag_store_backfill_get(c->store, id, out)) != 0) break;
    char now[256];
    snprintf(now, sizeof(now), "%lld %lld %lld %lld %lld", (long long)out->runs[0],
             (long long)out->runs[1], (long long)out->runs[2], (long long)out->runs[3],
             (long long)out->runs_skipped);
    if (!c->json && strcmp(now, last) != 0) {
      progress(out, total, tty);
      snprintf(last, sizeof(last), "%s", now);
    }
    if (out->completed_at) break;
    dag_store_backfill_free(out);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  sigaction(SIGINT, &old, NULL);
  if (tty) fputc('\n', stderr);
  return rc;
}

/* --- verbs ------------------------------------------------------------------- */

static int print_backfill(struct cli *c, const struct dag_store_backfill *b) {
  if (c->json) {
    cli_print_json(dag_api_backfill(b));
    return CLI_OK;
  }
  char from[48], to[48];
  dag_time_iso(b->from_date, from, sizeof(from));
  dag_time_iso(b->to_date, to, sizeof(to));
  printf("backfill %lld of %s: %s to %s, reprocess %s, %d at a time, %s\n", (long long)b->id,
         b->dag_id, from, to, b->reprocess_behavior, b->max_active_runs,
         b->cancelled ? "cancelled" : b->completed_at ? "completed" : b->is_paused ? "paused" : "active");
  return CLI_OK;
}

static int backfill_list(struct cli *c, const char *dag_id) {
  struct dag_store_backfill *b = NULL;
  size_t n = 0;
  int rc = dag_store_backfill_list(c->store, dag_id, false, &b, &n);
  if (rc) {
    fprintf(stderr, "dagctl: cannot list backfills: %s\n", dag_strerror(rc));
    return CLI_CONFIG;
  }
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_backfill(&b[i]));
    cli_print_json(arr);
  } else {
    static const char *const headers[] = {"ID",     "DAG",     "FROM",   "TO",
                                          "REPROCESS", "MAX_ACTIVE", "STATE", "SUCCESS",
                                          "FAILED", "RUNNING", "QUEUED", "SKIPPED"};
    struct cli_table *t = cli_table_new(headers, 12);
    for (size_t i = 0; i < n; i++) {
      char id[24], from[32], to[32], max[16], cnt[5][24];
      snprintf(id, sizeof(id), "%lld", (long long)b[i].id);
      cli_fmt_time(b[i].from_date, from, sizeof(from));
      cli_fmt_time(b[i].to_date, to, sizeof(to));
      snprintf(max, sizeof(max), "%d", b[i].max_active_runs);
      snprintf(cnt[0], sizeof(cnt[0]), "%lld", (long long)b[i].runs[DAG_RUN_SUCCESS]);
      snprintf(cnt[1], sizeof(cnt[1]), "%lld", (long long)b[i].runs[DAG_RUN_FAILED]);
      snprintf(cnt[2], sizeof(cnt[2]), "%lld", (long long)b[i].runs[DAG_RUN_RUNNING]);
      snprintf(cnt[3], sizeof(cnt[3]), "%lld", (long long)b[i].runs[DAG_RUN_QUEUED]);
      snprintf(cnt[4], sizeof(cnt[4]), "%lld", (long long)b[i].runs_skipped);
      const char *state = b[i].cancelled      ? "cancelled"
                          : b[i].completed_at ? "completed"
                          : b[i].is_paused    ? "paused"
                                              : "active";
      const char *cells[] = {id,    b[i].dag_id, from,   to,     b[i].reprocess_behavior, max,
                             state, cnt[0],      cnt[1], cnt[2], cnt[3],                  cnt[4]};
      cli_table_add(t, cells);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_backfills_free(b, n);
  return CLI_OK;
}

/* cancel, pause or unpause backfill `id`. */
static int backfill_change(struct cli *c, const char *sub, const char *arg) {
  int64_t id;
  if (parse_id(arg, &id) != 0) return cli_usage_error(usage, "'%s' is not a backfill id", arg);
  dag_time_t now = dag_time_now();
  int rc = dag_store_begin(c->store);
  if (rc == 0) {
    if (strcmp(sub, "cancel") == 0)
      rc = dag_store_backfill_cancel(c->store, id, now);
    else
      rc = dag_store_backfill_set_paused(c->store, id, strcmp(sub, "pause") == 0, now);
  }
  char event[32], obj[32];
  snprintf(event, sizeof(event), "backfill.%s", sub);
  snprintf(obj, sizeof(obj), "backfill:%lld", (long long)id);
  rc = cli_audit_finish(c, rc, event, obj);
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: no backfill %lld\n", (long long)id);
    return CLI_NOTFOUND;
  }
  if (rc == DAG_ESTATE) {
    fprintf(stderr, "dagctl: backfill %lld has completed already\n", (long long)id);
    return CLI_FAILED;
  }
  if (rc) {
    fprintf(stderr, "dagctl: cannot %s backfill %lld: %s\n", sub, (long long)id,
            dag_strerror(rc));
    return CLI_CONFIG;
  }
  dag_scheduler_notify(c->cfg.home);
  struct dag_store_backfill b;
  if (dag_store_backfill_get(c->store, id, &b) != 0) return CLI_CONFIG;
  print_backfill(c, &b);
  dag_store_backfill_free(&b);
  return CLI_OK;
}

int cmd_backfill(struct cli *c, int argc, char **argv) {
  enum { OPT_FROM = 1, OPT_TO, OPT_REPROCESS, OPT_MAX, OPT_CONF, OPT_DRY, OPT_NO_WAIT };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"from", required_argument, NULL, OPT_FROM},
      {"to", required_argument, NULL, OPT_TO},
      {"reprocess", required_argument, NULL, OPT_REPROCESS},
      {"max-active-runs", required_argument, NULL, OPT_MAX},
      {"conf", required_argument, NULL, OPT_CONF},
      {"dry-run", no_argument, NULL, OPT_DRY},
      {"no-wait", no_argument, NULL, OPT_NO_WAIT},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  const char *from = NULL, *to = NULL, *reprocess = "none", *conf = NULL, *max = NULL;
  bool dry = false, no_wait = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Creates runs of type backfill for every logical date of DAG's schedule from\n"
             "--from to --to (both included), in order, at most --max-active-runs (10)\n"
             "queued or running at a time; the scheduler creates them as runs end, so any\n"
             "range costs the memory of its active runs only. An existing run at a date\n"
             "is left alone with --reprocess none (default), run again if it failed with\n"
             "failed, run again whatever its end with all (Airflow's completed); a run\n"
             "still queued or running is never touched. The verb then shows progress\n"
             "until the backfill completes (exit 0 if every run succeeded, 1 otherwise);\n"
             "Ctrl-C cancels it: its queued runs fail, its running runs finish. --no-wait\n"
             "returns once it is recorded. --dry-run prints what each date would get.\n"
             "list shows backfills; cancel, pause and unpause change one.\n",
             usage);
      return CLI_OK;
    case OPT_FROM:
      from = optarg;
      break;
    case OPT_TO:
      to = optarg;
      break;
    case OPT_REPROCESS:
      reprocess = optarg;
      break;
    case OPT_MAX:
      max = optarg;
      break;
    case OPT_CONF:
      conf = optarg;
      break;
    case OPT_DRY:
      dry = true;
      break;
    case OPT_NO_WAIT:
      no_wait = true;
      break;
    case OPT_JSON:
      c->json = true;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  int nargs = argc - optind;
  const char *first = nargs > 0 ? argv[optind] : NULL;
  if (first && strcmp(first, "list") == 0) {
    if (nargs > 2) return cli_usage_error(usage, "list takes at most one DAG id");
    int rc = cli_open(c);
    return rc ? rc : backfill_list(c, nargs == 2 ? argv[optind + 1] : NULL);
  }
  if (first && (strcmp(first, "cancel") == 0 || strcmp(first, "pause") == 0 ||
                strcmp(first, "unpause") == 0)) {
    if (nargs != 2) return cli_usage_error(usage, "%s takes one backfill id", first);
    int rc = cli_open(c);
    return rc ? rc : backfill_change(c, first, argv[optind + 1]);
  }
  /* `create DAG` for a DAG whose id is one of the subcommands. */
  if (first && strcmp(first, "create") == 0) {
    optind++;
    nargs--;
  }
  if (nargs != 1) return cli_usage_error(usage, "expected one DAG id");
  const char *dag_id = argv[optind];
  if (!from || !to) return cli_usage_error(usage, "--from and --to are required");
  struct dag_backfill_request req;
  memset(&req, 0, sizeof(req));
  char why[96];
  if (dag_time_parse_iso(from, &req.from_date, why, sizeof(why)) != 0)
    return cli_usage_error(usage, "--from: '%s' is not an ISO-8601 date or time: %s", from, why);
  if (dag_time_parse_iso(to, &req.to_date, why, sizeof(why)) != 0)
    return cli_usage_error(usage, "--to: '%s' is not an ISO-8601 date or time: %s", to, why);
  req.reprocess = dag_backfill_reprocess_name(reprocess);
  if (!req.reprocess)
    return cli_usage_error(usage, "--reprocess: '%s' is none of none, failed, all", reprocess);
  if (max) {
    char *end;
    errno = 0;
    long v = strtol(max, &end, 10);
    if (errno || end == max || *end || v < 1 || v > 1000000)
      return cli_usage_error(usage, "--max-active-runs: '%s' is not a count from 1 to 1000000",
                             max);
    req.max_active_runs = (int)v;
  }
  req.conf_json = conf;

  int rc = cli_open(c);
  if (rc) return rc;
  struct dag *dag = NULL;
  if ((rc = cli_load_dag(c, dag_id, &dag)) != 0) return rc;
  if (dry) {
    struct dry d = {.c = c, .dag_id = dag_id, .reprocess = req.reprocess};
    if (c->json) d.arr = json_array();
    rc = dag_backfill_each(dag, req.from_date, req.to_date, dry_one, &d);
    dag_free(dag);
    if (rc == DAG_ENOTFOUND) {
      json_decref(d.arr);
      fprintf(stderr, "dagctl: DAG '%s' has no time-based schedule to backfill\n", dag_id);
      return CLI_USAGE;
    }
    if (rc) {
      json_decref(d.arr);
      fprintf(stderr, "dagctl: %s\n", dag_strerror(rc));
      return CLI_CONFIG;
    }
    if (c->json)
      cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:o}", "dag_id", dag_id,
                               "reprocess_behavior", req.reprocess, "total_entries",
                               (json_int_t)d.n, "would_run", (json_int_t)d.would_run,
                               "backfills", d.arr));
    else
      fprintf(stderr, "%zu logical dates, %zu would run\n", d.n, d.would_run);
    return CLI_OK;
  }
  size_t total = 0;
  dag_backfill_each(dag, req.from_date, req.to_date, count_one, &total);
  int64_t id = 0;
  char *err = NULL;
  int crc = dag_store_begin(c->store);
  if (crc == 0) crc = dag_backfill_create(c->store, dag, &req, &id, &err);
  char obj[32];
  snprintf(obj, sizeof(obj), "backfill:%lld", (long long)id);
  crc = cli_audit_finish_run(c, crc, "backfill", dag_id, NULL, crc == 0 ? obj : NULL);
  dag_free(dag);
  if (crc) {
    fprintf(stderr, "dagctl: %s\n", err ? err : dag_strerror(crc));
    free(err);
    return crc == DAG_EINVAL ? CLI_USAGE : CLI_CONFIG;
  }
  dag_scheduler_notify(c->cfg.home);
  struct dag_store_backfill b;
  if ((rc = dag_store_backfill_get(c->store, id, &b)) != 0) return CLI_CONFIG;
  if (!c->json || no_wait) {
    if (c->json)
      print_backfill(c, &b);
    else {
      print_backfill(c, &b);
      fflush(stdout);
    }
  }
  struct dag_store_dag row;
  if (dag_store_get_dag(c->store, dag_id, &row) == 0) {
    if (row.is_paused)
      fprintf(stderr, "dagctl: note: %s is paused; its backfill runs start when it is unpaused "
                      "(dagctl dags unpause %s)\n", dag_id, dag_id);
    dag_store_dag_free(&row);
  }
  dag_store_backfill_free(&b);
  if (no_wait) return CLI_OK;
  if ((rc = follow(c, id, total, &b)) != 0) {
    fprintf(stderr, "dagctl: cannot follow backfill %lld: %s\n", (long long)id, dag_strerror(rc));
    return CLI_CONFIG;
  }
  bool ok = !b.cancelled && b.runs[DAG_RUN_FAILED] == 0;
  if (c->json)
    cli_print_json(dag_api_backfill(&b));
  else
    fprintf(stderr, "backfill %lld %s: %lld success, %lld failed, %lld skipped\n",
            (long long)b.id, b.cancelled ? "cancelled" : "completed",
            (long long)b.runs[DAG_RUN_SUCCESS], (long long)b.runs[DAG_RUN_FAILED],
            (long long)b.runs_skipped);
  dag_store_backfill_free(&b);
  return ok ? CLI_OK : CLI_FAILED;
}
