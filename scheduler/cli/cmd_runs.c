/* cmd_runs.c - `dagctl runs`, `tasks`, `logs` and `clear`: looking at runs
 * and running parts of them again. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "apijson.h"
#include "cli.h"
#include "dag_find.h"
#include "duration.h"
#include "error.h"
#include "ids.h"
#include "log_archive.h"
#include "remote_log.h"
#include "runs.h"
#include "scheduler.h"
#include "secret.h"
#include "store_pools.h"
#include "store_vars.h"
#include "strbuf.h"
#include "timeutil.h"

/* What the options of these verbs set; each verb says which it takes. */
struct runs_opts {
  int limit;
  int try_number;
  bool downstream;
  bool only_failed;
  bool follow;
  int map_index; /* --map-index; -1: not given */
  struct dag_store_run_filter filter;
};

/* The options' letters in `takes`: l(imit) t(ry) d(ownstream) f(ollow)
 * s(tate, since, dag) o(nly-failed) m(ap-index). */
static int parse(struct cli *c, int argc, char **argv, const char *usage, const char *help,
                 const char *takes, struct runs_opts *o) {
  enum {
    OPT_LIMIT = 1,
    OPT_TRY,
    OPT_DOWNSTREAM,
    OPT_FOLLOW,
    OPT_STATE,
    OPT_SINCE,
    OPT_DAG,
    OPT_ONLY_FAILED,
    OPT_MAP_INDEX
  };
  static const struct option opts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"try", required_argument, NULL, OPT_TRY},
      {"downstream", no_argument, NULL, OPT_DOWNSTREAM},
      {"follow", no_argument, NULL, OPT_FOLLOW},
      {"state", required_argument, NULL, OPT_STATE},
      {"since", required_argument, NULL, OPT_SINCE},
      {"dag", required_argument, NULL, OPT_DAG},
      {"only-failed", no_argument, NULL, OPT_ONLY_FAILED},
      {"map-index", required_argument, NULL, OPT_MAP_INDEX},
      CLI_COMMON_OPTIONS,
      {0, 0, 0, 0}};
  static const char letter[] = {[OPT_LIMIT] = 'l', [OPT_TRY] = 't', [OPT_DOWNSTREAM] = 'd',
                                [OPT_FOLLOW] = 'f', [OPT_STATE] = 's', [OPT_SINCE] = 's',
                                [OPT_DAG] = 's', [OPT_ONLY_FAILED] = 'o',
                                [OPT_MAP_INDEX] = 'm'};
  int opt, idx = 0;
  optind = 1;
  o->map_index = -1;
  while ((opt = getopt_long(argc, argv, "hf", opts, &idx)) != -1) {
    if (opt == 'f') opt = OPT_FOLLOW;
    if (opt >= OPT_LIMIT && opt <= OPT_MAP_INDEX && !strchr(takes, letter[opt]))
      return cli_usage_error(usage, "%s takes no --%s", argv[0], opts[opt].name);
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n%s", usage, help);
      return CLI_OK;
    case OPT_JSON:
      c->json = true;
      break;
    case OPT_LIMIT:
      if (!cli_parse_int(optarg, &o->limit) || o->limit < 1)
        return cli_usage_error(usage, "--limit: '%s' is not a positive number", optarg);
      break;
    case OPT_TRY:
      if (!cli_parse_int(optarg, &o->try_number) || o->try_number < 1)
        return cli_usage_error(usage, "--try: '%s' is not a positive number", optarg);
      break;
    case OPT_DOWNSTREAM:
      o->downstream = true;
      break;
    case OPT_FOLLOW:
      o->follow = true;
      break;
    case OPT_ONLY_FAILED:
      o->only_failed = true;
      break;
    case OPT_MAP_INDEX:
      if (!cli_parse_int(optarg, &o->map_index) || o->map_index < 0 ||
          o->map_index >= DAG_MAX_MAP_LENGTH)
        return cli_usage_error(usage, "--map-index: '%s' is not a map index (0, 1, ...)", optarg);
      break;
    case OPT_STATE:
      if (dag_run_state_parse(optarg, &o->filter.state) != 0)
        return cli_usage_error(usage,
                               "--state: '%s' is not a run state (queued, running, success, "
                               "failed)",
                               optarg);
      o->filter.has_state = true;
      break;
    case OPT_SINCE: {
      /* A duration back from now ("1d", "2h30m"), or an ISO-8601 date or
       * time, through the project's one parser of each. */
      int64_t ago;
      char why[96];
      if (dag_duration_parse(optarg, &ago) == 0) {
        o->filter.since = dag_time_now() - ago;
      } else if (dag_time_parse_iso(optarg, &o->filter.since, why, sizeof(why)) != 0) {
        return cli_usage_error(usage,
                               "--since: '%s' is neither a duration (30m, 12h, 7d) nor an "
                               "ISO-8601 date or time (%s)",
                               optarg, why);
      }
      if (o->filter.since <= 0) o->filter.since = 1;
      break;
    }
    case OPT_DAG: {
      const char *why = dag_id_problem(DAG_ID_DAG, optarg);
      if (why) return cli_usage_error(usage, "--dag: invalid DAG id '%s' (%s)", optarg, why);
      o->filter.dag_id = optarg;
      break;
    }
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  return -1;
}

static int find_run(struct cli *c, const char *dag_id, const char *run_id,
                    struct dag_store_run *run) {
  int rc = dag_store_get_run(c->store, dag_id, run_id, run);
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: DAG '%s' has no run '%s' (see: dagctl runs %s)\n", dag_id, run_id,
            dag_id);
    return CLI_NOTFOUND;
  }
  return rc ? CLI_CONFIG : CLI_OK;
}

int cmd_runs(struct cli *c, int argc, char **argv) {
  static const char usage[] =
      "dagctl runs [DAG] [--dag DAG] [--state STATE] [--since TIME] [--limit N] [--json]";
  struct runs_opts o = {.limit = 25};
  int rc = parse(c, argc, argv, usage,
                 "Runs, newest logical date first (25 by default): of one DAG (DAG or\n"
                 "--dag), or of every DAG; --state queued|running|success|failed keeps\n"
                 "those in that state; --since keeps those started (or, not started yet,\n"
                 "queued) at or after TIME: a duration back from now (30m, 12h, 1d, 1h30m)\n"
                 "or an ISO-8601 date or time (2026-11-22, 2026-11-22T08:00:00+01:00).\n",
                 "ls", &o);
  if (rc >= 0) return rc;
  if (optind + 1 < argc) return cli_usage_error(usage, "expected at most one DAG id");
  if (optind + 1 == argc) {
    const char *dag_id = argv[optind];
    if (o.filter.dag_id && strcmp(o.filter.dag_id, dag_id) != 0)
      return cli_usage_error(usage, "two DAG ids: '%s' and --dag '%s'", dag_id, o.filter.dag_id);
    const char *why = dag_id_problem(DAG_ID_DAG, dag_id);
    if (why) return cli_usage_error(usage, "invalid DAG id '%s' (%s)", dag_id, why);
    o.filter.dag_id = dag_id;
  }
  o.filter.limit = o.limit;
  if ((rc = cli_open(c)) != 0) return rc;
  struct dag_store_run *runs = NULL;
  size_t n = 0;
  if (dag_store_find_runs(c->store, &o.filter, &runs, &n) != 0) {
    fprintf(stderr, "dagctl: cannot read the state store: %s\n", dag_store_errmsg(c->store));
    return CLI_CONFIG;
  }
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, dag_api_run(&runs[i]));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("(no runs match)\n");
  } else {
    /* The DAG column only when the runs may be of several DAGs. */
    size_t skip = o.filter.dag_id ? 1 : 0;
    static const char *const head[] = {"DAG",          "RUN ID",  "TYPE",     "STATE",
                                       "LOGICAL DATE", "STARTED", "DURATION", "VERSION"};
    struct cli_table *t = cli_table_new(head + skip, 8 - skip);
    for (size_t i = 0; i < n; i++) {
      char logical[32], start[32], dur[32] = "-";
      cli_fmt_time(runs[i].logical_date, logical, sizeof(logical));
      cli_fmt_time(runs[i].start_date, start, sizeof(start));
      if (runs[i].start_date && runs[i].end_date)
        dag_duration_format(runs[i].end_date - runs[i].start_date, dur, sizeof(dur));
      /* The DAG version the run keeps: `dagctl dags source DAG --version N`. */
      char version[16] = "-";
      if (runs[i].dag_version_number > 0)
        snprintf(version, sizeof(version), "v%d", runs[i].dag_version_number);
      const char *state = dag_run_state_name(runs[i].state);
      /* A run loaded by `dagctl import` says so: no scheduler here runs it. */
      char type[48];
      snprintf(type, sizeof(type), "%s%s", runs[i].run_type,
               runs[i].imported_at ? " (imported)" : "");
      const char *row[] = {runs[i].dag_id, runs[i].run_id, type, state,
                           logical, start, dur, version};
      cli_table_add(t, row + skip);
      cli_table_color(t, 3 - skip, cli_state_color(state));
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_runs_free(runs, n);
  return CLI_OK;
}

int cmd_tasks(struct cli *c, int argc, char **argv) {
  static const char usage[] = "dagctl tasks DAG RUN_ID [TASK [--map-index N]] [--json]";
  struct runs_opts o = {0};
  int rc = parse(c, argc, argv, usage,
                 "The task instances of one run: state, tries, duration, error. A mapped\n"
                 "task's instances are TASK[MAP_INDEX] after its own row; TASK shows one\n"
                 "task's, --map-index one of them.\n",
                 "m", &o);
  if (rc >= 0) return rc;
  if (optind + 2 != argc && optind + 3 != argc)
    return cli_usage_error(usage, "expected a DAG id, a run id and maybe a task id");
  const char *only = optind + 3 == argc ? argv[optind + 2] : NULL;
  if (o.map_index >= 0 && !only) return cli_usage_error(usage, "--map-index needs a task id");
  if ((rc = cli_open(c)) != 0) return rc;
  struct dag_store_run run;
  if ((rc = find_run(c, argv[optind], argv[optind + 1], &run)) != 0) return rc;
  struct dag_store_ti *tis = NULL;
  size_t n = 0;
  dag_store_list_tis(c->store, run.pk, &tis, &n);
  /* With TASK, its instances alone: moved to the front, the others left
   * past `shown` for dag_store_tis_free(). */
  size_t shown = n;
  if (only) {
    shown = 0;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(tis[i].task_id, only) != 0 || (o.map_index >= 0 && tis[i].map_index != o.map_index))
        continue;
      struct dag_store_ti tmp = tis[shown];
      tis[shown++] = tis[i];
      tis[i] = tmp;
    }
    if (shown == 0) {
      fprintf(stderr, "dagctl: run %s has no task instance %s", run.run_id, only);
      if (o.map_index >= 0) fprintf(stderr, "[%d]", o.map_index);
      fputc('\n', stderr);
      dag_store_tis_free(tis, n);
      dag_store_run_free(&run);
      return CLI_NOTFOUND;
    }
  }
  json_t *graph = cli_sort_tis(c, run.dag_id, tis, shown);
  struct dag_store_ti_pool *pools = NULL;
  size_t np = 0;
  if (dag_store_ti_pools(c->store, run.pk, &pools, &np) != 0) np = 0;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < shown; i++) {
      json_t *one = dag_api_task_instance(&run, &tis[i], cli_task_type(graph, tis[i].task_id));
      dag_api_ti_pool(one, dag_store_ti_pool_find(pools, np, tis[i].task_id, tis[i].map_index));
      json_array_append_new(arr, one);
    }
    cli_print_json(arr);
  } else {
    static const char *const head[] = {"TASK", "STATE", "TRIES", "DURATION",
                                       "MAX_RSS", "CPU", "ERROR"};
    struct cli_table *t = cli_table_new(head, 7);
    for (size_t i = 0; i < shown; i++) {
      char dur[32] = "-", tries[32], rss[24] = "-", cpu[24] = "-";
      if (tis[i].start_date && tis[i].end_date)
        dag_duration_format(tis[i].end_date - tis[i].start_date, dur, sizeof(dur));
      snprintf(tries, sizeof(tries), "%d/%d", tis[i].try_number, tis[i].max_tries + 1);
      /* What the latest try cost: its peak memory, its CPU time (user and
       * system together). */
      const struct dag_store_usage *u = &tis[i].usage;
      if (u->known) {
        snprintf(rss, sizeof(rss), "%.1fM", (double)u->max_rss_kb / 1024);
        snprintf(cpu, sizeof(cpu), "%.2fs", (double)(u->user_us + u->sys_us) / 1e6);
      }
      const char *state = dag_task_state_name(tis[i].state);
      /* A mapped task's instances: TASK[MAP_INDEX], after its own row. */
      char *name = tis[i].map_index >= 0 ? xasprintf("%s[%d]", tis[i].task_id, tis[i].map_index)
                                         : xstrdup(tis[i].task_id);
      /* A scheduled task that its pool cannot take says so. */
      char *wait = dag_api_pool_wait(
          dag_store_ti_pool_find(pools, np, tis[i].task_id, tis[i].map_index));
      char *waits = wait ? xasprintf("%s (waits for %s)", state, wait) : NULL;
      const char *row[] = {name, waits ? waits : state, tries, dur, rss, cpu, tis[i].error};
      cli_table_add(t, row);
      free(name);
      cli_table_color(t, 1, cli_state_color(state));
      free(wait);
      free(waits);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
    struct dag_store_xcom *x = NULL;
    size_t nx = 0;
    if (dag_store_xcom_list(c->store, run.pk, &x, &nx) == 0 && nx) {
      printf("\nXCOM\n");
      for (size_t i = 0; i < nx; i++) {
        if (only && (strcmp(x[i].task_id, only) != 0 ||
                     (o.map_index >= 0 && x[i].map_index != o.map_index)))
          continue;
        if (x[i].map_index >= 0)
          printf("%s[%d].%s = %.200s%s\n", x[i].task_id, x[i].map_index, x[i].key, x[i].value,
                 strlen(x[i].value) > 200 ? "..." : "");
        else
          printf("%s.%s = %.200s%s\n", x[i].task_id, x[i].key, x[i].value,
                 strlen(x[i].value) > 200 ? "..." : "");
      }
    }
    dag_store_xcoms_free(x, nx);
  }
  json_decref(graph);
  dag_store_ti_pools_free(pools, np);
  dag_store_tis_free(tis, n);
  dag_store_run_free(&run);
  return CLI_OK;
}

/* `s` as JSON text: bytes that are not UTF-8 (a task may print anything)
 * become U+FFFD, since a JSON string holds only Unicode. */
static json_t *json_text(const char *s, size_t n) {
  struct strbuf sb = STRBUF_INIT;
  size_t i = 0;
  while (i < n) {
    unsigned char b = (unsigned char)s[i];
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = len && i + len <= n && b != 0;
    for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
    if (ok && len > 1) {
      /* Overlong forms, surrogates and code points past U+10FFFF. */
      unsigned cp = b & (0x7F >> len);
      for (size_t k = 1; k < len; k++) cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3F);
      static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      sb_appendn(&sb, s + i, len);
      i += len;
    } else {
      sb_appendn(&sb, "\xEF\xBF\xBD", 3);
      i++;
    }
  }
  json_t *j = json_stringn(sb_str(&sb), sb.len);
  sb_free(&sb);
  return j;
}

static void logs_out(void *ud, const char *buf, size_t len) {
  (void)ud;
  fwrite(buf, 1, len, stdout);
}

/* The log of a try that ran on a worker: its copy in the lake once the
 * worker made one (worker.remote_logging), else (or when the copy cannot
 * be read) from that worker's log server; 0 with it in `out`, else why not
 * in *why (caller frees). */
static int read_remote_log(struct cli *c, const struct dag_store_claim *claim,
                           struct strbuf *out, char **why) {
  char *base = NULL, *copy_err = NULL;
  int rc = dag_store_claim_log_archive(c->store, claim->run_pk, claim->task_id,
                                       claim->try_number, &base);
  if (rc == 0 && base) {
    struct dag_log_source *src = dag_log_source_new(&c->cfg, base);
    char *data = NULL;
    size_t len = 0;
    rc = dag_log_source_read(src, claim->log_path, &data, &len, &copy_err);
    dag_log_source_free(src);
    free(base);
    if (rc == 0) {
      sb_appendn(out, data, len);
      free(data);
      return 0;
    }
  }
  char *url = NULL;
  rc = dag_store_worker_log_url(c->store, claim->worker_id, &url);
  if (rc == 0 && !url) rc = DAG_ENOTFOUND;
  if (rc == 0)
    rc = dag_remote_log_read(url, c->cfg.worker_log_server_secret, claim->log_path, 0, out, why);
  else
    *why = xstrdup(rc == DAG_ENOTFOUND ? "that worker serves no logs" : dag_strerror(rc));
  free(url);
  if (rc && copy_err) {
    char *both = xasprintf("its copy: %s; its worker: %s", copy_err, *why);
    free(*why);
    *why = both;
  }
  free(copy_err);
  return rc;
}

/* `dagctl logs DAG RUN_ID`: what the run's callbacks printed (the engine's
 * sched_callback.c writes it), secrets masked. */
static int run_callbacks_log(struct cli *c, char **ids) {
  static const char usage[] = "dagctl logs DAG RUN_ID [--json]";
  for (int i = 0; i < 2; i++) {
    const char *why = dag_id_problem(i ? DAG_ID_RUN : DAG_ID_DAG, ids[i]);
    if (why) return cli_usage_error(usage, "invalid %s id '%s' (%s)", i ? "run" : "DAG", ids[i], why);
  }
  int rc = cli_open(c);
  if (rc) return rc;
  struct dag_store_run run;
  if ((rc = find_run(c, ids[0], ids[1], &run)) != 0) return rc;
  char *rel = dag_run_callbacks_log_rel(run.dag_id, run.run_id);
  char *path = xasprintf("%s/logs/%s", c->cfg.home, rel);
  free(rel);
  struct strbuf all = STRBUF_INIT;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) {
    fprintf(stderr, "dagctl: %s: %s\n", path, strerror(errno));
    free(path);
    dag_store_run_free(&run);
    return CLI_FAILED;
  }
  free(path);
  char buf[65536];
  ssize_t r;
  while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0) sb_appendn(&all, buf, (size_t)r);
  if (fd >= 0) close(fd);
  struct dag_masker masker = DAG_MASKER_INIT;
  dag_store_secret_values(c->store, environ, dag_masker_add_cb, &masker);
  if (all.len) dag_masker_apply(&masker, all.buf, all.len);
  dag_masker_free(&masker);
  if (c->json) {
    cli_print_json(json_pack("{s:s, s:s, s:o}", "dag_id", run.dag_id, "dag_run_id", run.run_id,
                             "content", json_text(sb_str(&all), all.len)));
  } else if (fd < 0) {
    fprintf(stderr, "dagctl: no callback of run %s has run (give a task id for a task's log)\n",
            run.run_id);
  } else {
    fwrite(sb_str(&all), 1, all.len, stdout);
  }
  sb_free(&all);
  dag_store_run_free(&run);
  return fd < 0 && !c->json ? CLI_NOTFOUND : CLI_OK;
}

int cmd_logs(struct cli *c, int argc, char **argv) {
  static const char usage[] =
      "dagctl logs DAG RUN_ID [TASK [--map-index N] [--try N] [--follow]] [--json]";
  struct runs_opts o = {0};
  int rc = parse(c, argc, argv, usage,
                 "Prints the log of a task's try (the latest by default). With --follow\n"
                 "(-f), a running try's log is printed as it grows until the try ends\n"
                 "(whichever scheduler runs it, also one that adopted it after a\n"
                 "restart, or a worker on another machine, read from its log server);\n"
                 "the exit status then says how it ended: 0 success, 1 any\n"
                 "other end (failed, up_for_retry...). --json prints {dag_id, dag_run_id,\n"
                 "task_id, map_index, try_number, state, content}. A mapped task's\n"
                 "instance is chosen with --map-index (as Airflow's). Without TASK,\n"
                 "prints the output of the run's callbacks (on_success_callback,\n"
                 "on_failure_callback).\n",
                 "tfm", &o);
  if (rc >= 0) return rc;
  int try_number = o.try_number;
  if (o.follow && c->json)
    return cli_usage_error(usage, "--follow prints the log as it grows; --json is for a "
                                  "whole log");
  if (optind + 2 == argc && !o.follow && !try_number && o.map_index < 0)
    return run_callbacks_log(c, argv + optind);
  if (optind + 3 != argc) return cli_usage_error(usage, "expected a DAG id, a run id and a task id");
  static const struct {
    enum dag_id_kind kind;
    const char *what;
  } ids[] = {{DAG_ID_DAG, "DAG"}, {DAG_ID_RUN, "run"}, {DAG_ID_TASK, "task"}};
  for (int i = 0; i < 3; i++) {
    const char *why = dag_id_problem(ids[i].kind, argv[optind + i]);
    if (why)
      return cli_usage_error(usage, "invalid %s id '%s' (%s)", ids[i].what, argv[optind + i],
                             why);
  }
  if ((rc = cli_open(c)) != 0) return rc;
  struct dag_store_run run;
  if ((rc = find_run(c, argv[optind], argv[optind + 1], &run)) != 0) return rc;
  const char *task_id = argv[optind + 2];
  struct dag_store_try *tries = NULL;
  size_t n = 0;
  dag_store_list_tries(c->store, run.pk, task_id, &tries, &n);
  const struct dag_store_try *t = NULL;
  size_t of_it = 0;
  int max_index = -1;
  for (size_t i = 0; i < n; i++) {
    if (tries[i].map_index > max_index) max_index = tries[i].map_index;
    if (tries[i].map_index != o.map_index) continue;
    of_it++;
    if (try_number ? tries[i].try_number == try_number : true) t = &tries[i];
  }
  if (!t) {
    if (o.map_index < 0 && max_index >= 0)
      fprintf(stderr, "dagctl: task '%s' is mapped: give --map-index (0 to %d)\n", task_id,
              max_index);
    else if (of_it == 0 && o.map_index >= 0)
      fprintf(stderr, "dagctl: task '%s' has no map_index %d that has run\n", task_id,
              o.map_index);
    else if (of_it == 0)
      fprintf(stderr, "dagctl: task '%s' has not run in this run\n", task_id);
    else
      fprintf(stderr, "dagctl: task '%s' has no try %d (it has %zu)\n", task_id, try_number,
              of_it);
    dag_store_tries_free(tries, n);
    dag_store_run_free(&run);
    return CLI_NOTFOUND;
  }
  /* Paths in the store are written by dagctl from validated ids; refuse
   * anything that could still climb out of the logs folder. */
  if (!dag_id_rel_path_is_safe(t->log_path)) {
    fprintf(stderr, "dagctl: refusing log path outside the logs folder\n");
    dag_store_tries_free(tries, n);
    dag_store_run_free(&run);
    return CLI_FAILED;
  }
  char *path = xasprintf("%s/logs/%s", c->cfg.home, t->log_path);
  int number = t->try_number;
  enum dag_task_state state = t->state;
  dag_store_tries_free(tries, n);
  if (o.follow) {
    enum dag_task_state final = DAG_TI_NONE;
    struct dag_store_claim claim;
    int frc;
    /* Not in this home's logs folder: it runs on a worker elsewhere. */
    bool remote = access(path, F_OK) != 0 &&
                  dag_store_claim_of_try(c->store, run.pk, task_id, number, &claim) == 0;
    if (remote && !claim.worker_id) {
      dag_store_claim_clear(&claim);
      remote = false;
    }
    if (remote) {
      frc = cli_follow_remote_try(c, run.pk, task_id, number, claim.worker_id, claim.log_path,
                                  &final);
      dag_store_claim_clear(&claim);
    } else {
      frc = cli_follow_try(c, run.pk, task_id, o.map_index, number, path, &final);
    }
    free(path);
    dag_store_run_free(&run);
    if (frc == DAG_ENOTFOUND) {
      fprintf(stderr, "dagctl: try %d of task '%s' is gone (was the run cleared?)\n", number,
              task_id);
      return CLI_NOTFOUND;
    }
    if (frc) return CLI_CONFIG;
    fprintf(stderr, "dagctl: try %d of %s ended: %s\n", number, task_id,
            dag_task_state_name(final));
    return final == DAG_TI_SUCCESS ? CLI_OK : CLI_FAILED;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct dag_store_claim claim;
  if (fd < 0 && errno == ENOENT &&
      dag_store_claim_of_try(c->store, run.pk, task_id, number, &claim) == 0) {
    /* core.executor workers: the log is where the try ran, and its
     * worker serves it. */
    struct strbuf remote = STRBUF_INIT;
    char *why = NULL;
    if (claim.worker_id && read_remote_log(c, &claim, &remote, &why) == 0) {
      dag_store_claim_clear(&claim);
      free(path);
      struct dag_masker masker = DAG_MASKER_INIT;
      dag_store_secret_values(c->store, environ, dag_masker_add_cb, &masker);
      if (remote.len) dag_masker_apply(&masker, remote.buf, remote.len);
      dag_masker_free(&masker);
      if (c->json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "dag_id", run.dag_id,
                                "dag_run_id", run.run_id, "task_id", task_id, "try_number",
                                number, "state", dag_task_state_name(state), "content",
                                json_text(sb_str(&remote), remote.len));
        cli_print_json(doc);
      } else {
        fwrite(sb_str(&remote), 1, remote.len, stdout);
      }
      sb_free(&remote);
      dag_store_run_free(&run);
      return CLI_OK;
    }
    sb_free(&remote);
    if (claim.worker_id)
      fprintf(stderr, "dagctl: try %d of task '%s' ran on worker %s: its log is in that "
              "worker's DAGCTL_HOME/logs/%s (%s)\n", number, task_id, claim.worker_id,
              claim.log_path, why ? why : "?");
    else
      fprintf(stderr, "dagctl: try %d of task '%s' waits for a worker (queue %s)\n", number,
              task_id, claim.queue);
    free(why);
    dag_store_claim_clear(&claim);
    free(path);
    dag_store_run_free(&run);
    return CLI_NOTFOUND;
  }
  if (fd < 0) {
    fprintf(stderr, "dagctl: %s: %s\n", path, strerror(errno));
    free(path);
    dag_store_run_free(&run);
    return CLI_NOTFOUND;
  }
  free(path);
  char buf[65536];
  ssize_t r;
  struct strbuf all = STRBUF_INIT;
  /* What a task printed of a connection's password or a secret variable
   * is shown masked (secret.h). */
  struct dag_masker masker = DAG_MASKER_INIT;
  dag_store_secret_values(c->store, environ, dag_masker_add_cb, &masker);
  while ((r = read(fd, buf, sizeof(buf))) > 0) {
    if (c->json)
      sb_appendn(&all, buf, (size_t)r);
    else
      dag_masker_write(&masker, buf, (size_t)r, logs_out, NULL);
  }
  close(fd);
  dag_masker_flush(&masker, logs_out, NULL);
  if (all.len) dag_masker_apply(&masker, all.buf, all.len);
  dag_masker_free(&masker);
  if (c->json) {
    json_t *doc = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "dag_id", run.dag_id,
                            "dag_run_id", run.run_id, "task_id", task_id, "map_index",
                            o.map_index, "try_number", number, "state",
                            dag_task_state_name(state), "content",
                            json_text(all.len ? sb_str(&all) : "", all.len));
    cli_print_json(doc);
  }
  sb_free(&all);
  dag_store_run_free(&run);
  return CLI_OK;
}

int cmd_clear(struct cli *c, int argc, char **argv) {
  static const char usage[] =
      "dagctl clear DAG RUN_ID [TASK] [--downstream] [--only-failed] [--json]";
  struct runs_opts o = {0};
  int rc = parse(c, argc, argv, usage,
                 "Runs tasks of a run again, as Airflow's clear: the tasks go back to state\n"
                 "none, get their retries anew, and the run is queued again. Without TASK,\n"
                 "every task; with --downstream, TASK and everything after it. Running\n"
                 "tasks are left alone. --only-failed clears only the failed and\n"
                 "upstream_failed ones among them. --json prints what was cleared.\n",
                 "do", &o);
  bool downstream = o.downstream;
  if (rc >= 0) return rc;
  if (optind + 2 != argc && optind + 3 != argc)
    return cli_usage_error(usage, "expected a DAG id, a run id and optionally a task id");
  if ((rc = cli_open(c)) != 0) return rc;
  const char *dag_id = argv[optind], *task_id = optind + 3 == argc ? argv[optind + 2] : NULL;
  struct dag_store_run run;
  if ((rc = find_run(c, dag_id, argv[optind + 1], &run)) != 0) return rc;
  struct dag *dag = NULL;
  /* The run's own graph (its version), which a later edit of the file
   * does not change; the DAG's current one for runs older than versions. */
  if ((!run.dag_version_id || dag_find_load_version(c->store, run.dag_version_id, &dag) != 0) &&
      (rc = cli_load_dag(c, dag_id, &dag)) != 0) {
    dag_store_run_free(&run);
    return rc;
  }
  size_t n = dag->n_tasks;
  bool *pick = xcalloc(n, sizeof(*pick));
  if (!task_id) {
    for (size_t i = 0; i < n; i++) pick[i] = true;
  } else {
    long t = dag_find_task(dag, task_id);
    if (t < 0) {
      fprintf(stderr, "dagctl: DAG '%s' has no task '%s'\n", dag_id, task_id);
      free(pick);
      dag_free(dag);
      dag_store_run_free(&run);
      return CLI_NOTFOUND;
    }
    pick[t] = true;
    /* Topological order: a task is picked after its upstream tasks. */
    if (downstream)
      for (size_t k = 0; k < n; k++) {
        size_t i = dag->topo[k];
        if (!pick[i]) continue;
        for (size_t d = 0; d < dag->tasks[i].n_downstream; d++)
          pick[dag->tasks[i].downstream[d]] = true;
      }
  }
  if (o.only_failed) {
    /* Airflow's only_failed: of the picked tasks, those that failed. */
    struct dag_store_ti *tis = NULL;
    size_t n_tis = 0;
    if (dag_store_list_tis(c->store, run.pk, &tis, &n_tis) != 0) {
      fprintf(stderr, "dagctl: cannot read the run's tasks\n");
      free(pick);
      dag_free(dag);
      dag_store_run_free(&run);
      return CLI_CONFIG;
    }
    bool *failed = xcalloc(n ? n : 1, sizeof(*failed));
    for (size_t i = 0; i < n_tis; i++) {
      long t = dag_find_task(dag, tis[i].task_id);
      if (t >= 0)
        failed[t] = tis[i].state == DAG_TI_FAILED || tis[i].state == DAG_TI_UPSTREAM_FAILED;
    }
    for (size_t i = 0; i < n; i++) pick[i] = pick[i] && failed[i];
    free(failed);
    dag_store_tis_free(tis, n_tis);
  }
  const char **ids = xcalloc(n ? n : 1, sizeof(*ids));
  int *retries = xcalloc(n ? n : 1, sizeof(*retries));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!pick[i]) continue;
    ids[k] = dag->tasks[i].id;
    retries[k++] = dag->tasks[i].args.retries;
  }
  size_t cleared = 0, skipped = 0;
  int src = dag_store_begin(c->store);
  if (src == 0 && k) src = dag_store_clear(c->store, run.pk, ids, retries, k, &cleared, &skipped);
  src = cli_audit_finish_run(c, src, "clear", dag_id, run.run_id, task_id);
  free(ids);
  free(retries);
  free(pick);
  dag_free(dag);
  if (src == 0 && c->json) {
    dag_scheduler_notify(c->cfg.home);
    cli_print_json(json_pack("{s:s, s:s, s:o, s:b, s:b, s:I, s:I}", "dag_id", dag_id,
                             "dag_run_id", run.run_id, "task_id",
                             task_id ? json_string(task_id) : json_null(), "downstream",
                             downstream, "only_failed", o.only_failed, "cleared", (json_int_t)cleared,
                             "running_left_alone", (json_int_t)skipped));
  } else if (src == 0) {
    dag_scheduler_notify(c->cfg.home);
    printf("cleared %zu task%s of %s %s", cleared, cleared == 1 ? "" : "s", dag_id, run.run_id);
    if (skipped) printf(" (%zu running, left alone)", skipped);
    printf("\n");
  } else if (src == DAG_ESTATE) {
    fprintf(stderr,
            "dagctl: run %s of %s was imported from another home (dagctl import): "
            "nothing here runs it again\n",
            run.run_id, dag_id);
  } else {
    fprintf(stderr, "dagctl: cannot clear: %s\n", dag_strerror(src));
  }
  dag_store_run_free(&run);
  return src == DAG_ESTATE ? CLI_FAILED : src ? CLI_CONFIG : CLI_OK;
}
