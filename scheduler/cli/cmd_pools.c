/* cmd_pools.c - `dagctl pools`: Airflow's pools in the state database
 * (store_pools.h). Each change is one transaction with its audit entry.
 * import and export read and write Airflow's file shape:
 * {"NAME": {"slots": N, "description": "...", "include_deferred": false}}. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "priority.h"
#include "store_pools.h"

static const char usage[] =
    "dagctl pools set NAME SLOTS [--description TEXT] | pools get NAME [--json]"
    " | pools list [--json] | pools delete NAME | pools import FILE | pools export FILE";

static int store_rc(int rc, const char *name) {
  if (rc == 0) return CLI_OK;
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: no pool '%s'\n", name);
    return CLI_NOTFOUND;
  }
  if (rc == DAG_ESTATE) {
    fprintf(stderr, "dagctl: %s cannot be deleted\n", name);
    return CLI_FAILED;
  }
  if (rc == DAG_EINVAL) {
    fprintf(stderr, "dagctl: pool '%s': invalid\n", name);
    return CLI_USAGE;
  }
  fprintf(stderr, "dagctl: pool '%s': %s\n", name, dag_strerror(rc));
  return CLI_CONFIG;
}

static json_t *pool_json(const struct dag_store_pool *p) {
  return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:o, s:b}", "name", p->name,
                   "slots", p->slots, "occupied_slots", dag_store_pool_occupied(p),
                   "running_slots", p->running_slots, "queued_slots", p->queued_slots,
                   "open_slots", dag_store_pool_open(p), "scheduled_slots", p->scheduled_slots,
                   "deferred_slots", p->deferred_slots, "description",
                   p->description ? json_string(p->description) : json_null(),
                   "include_deferred", p->include_deferred);
}

static int pools_list(struct cli *c) {
  struct dag_store_pool *p = NULL;
  size_t n = 0;
  int rc = dag_store_pool_list(c->store, &p, &n);
  if (rc) return store_rc(rc, "list");
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, pool_json(&p[i]));
    cli_print_json(arr);
  } else {
    /* WAITING: slots asked for by scheduled tasks, which wait for a slot
     * (of this pool, or of parallelism) to start. */
    static const char *const head[] = {"POOL",    "SLOTS", "RUNNING",    "QUEUED",
                                       "WAITING", "OPEN",  "DESCRIPTION"};
    struct cli_table *t = cli_table_new(head, 7);
    for (size_t i = 0; i < n; i++) {
      char v[5][16];
      snprintf(v[0], sizeof(v[0]), "%d", p[i].slots);
      snprintf(v[1], sizeof(v[1]), "%d", p[i].running_slots);
      snprintf(v[2], sizeof(v[2]), "%d", p[i].queued_slots);
      snprintf(v[3], sizeof(v[3]), "%d", p[i].scheduled_slots);
      snprintf(v[4], sizeof(v[4]), "%d", dag_store_pool_open(&p[i]));
      const char *row[] = {p[i].name, v[0], v[1], v[2], v[3], v[4], p[i].description};
      cli_table_add(t, row);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_pools_free(p, n);
  return CLI_OK;
}

static int pools_get(struct cli *c, const char *name) {
  struct dag_store_pool p;
  int rc = store_rc(dag_store_pool_get(c->store, name, &p), name);
  if (rc) return rc;
  if (c->json)
    cli_print_json(pool_json(&p));
  else
    printf("pool         %s\nslots        %d\nrunning      %d\nqueued       %d\n"
           "waiting      %d\nopen         %d\ndescription  %s\n",
           p.name, p.slots, p.running_slots, p.queued_slots, p.scheduled_slots,
           dag_store_pool_open(&p), p.description ? p.description : "");
  dag_store_pool_clear(&p);
  return CLI_OK;
}

/* SLOTS as written: a whole number 0..DAG_MAX_POOL_SLOTS. */
static bool parse_slots(const char *text, int *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < 0 || v > DAG_MAX_POOL_SLOTS) return false;
  *out = (int)v;
  return true;
}

static int pools_import(struct cli *c, const char *path) {
  json_error_t jerr;
  json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                     : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!j) {
    fprintf(stderr, "dagctl: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    return CLI_USAGE;
  }
  const char *k;
  json_t *v;
  const char *bad = json_is_object(j) ? NULL : "expected a JSON object {\"NAME\": {\"slots\": N}}";
  json_object_foreach(j, k, v) {
    if (bad) break;
    json_t *slots = json_object_get(v, "slots"), *desc = json_object_get(v, "description");
    json_t *inc = json_object_get(v, "include_deferred");
    const char *why = dag_pool_name_problem(k);
    if (why) {
      fprintf(stderr, "dagctl: %s: pool '%s': %s\n", path, k, why);
      json_decref(j);
      return CLI_USAGE;
    }
    if (!json_is_object(v) || !json_is_integer(slots) || json_integer_value(slots) < 0 ||
        json_integer_value(slots) > DAG_MAX_POOL_SLOTS || (desc && !json_is_string(desc) &&
                                                            !json_is_null(desc)) ||
        (inc && !json_is_boolean(inc))) {
      fprintf(stderr,
              "dagctl: %s: pool '%s': expected {\"slots\": 0..%d, \"description\": TEXT, "
              "\"include_deferred\": BOOL}\n",
              path, k, DAG_MAX_POOL_SLOTS);
      json_decref(j);
      return CLI_USAGE;
    }
  }
  if (bad) {
    fprintf(stderr, "dagctl: %s: %s\n", path, bad);
    json_decref(j);
    return CLI_USAGE;
  }
  int rc = cli_open(c);
  if (rc) {
    json_decref(j);
    return rc;
  }
  /* All or nothing: one transaction, one audit entry. */
  int src = dag_store_begin(c->store);
  json_object_foreach(j, k, v) {
    if (src) break;
    src = dag_store_pool_put(c->store, k, (int)json_integer_value(json_object_get(v, "slots")),
                             json_string_value(json_object_get(v, "description")),
                             json_is_true(json_object_get(v, "include_deferred")), NULL);
  }
  size_t count = json_object_size(j);
  char *what = xasprintf("%zu pools", count);
  src = cli_audit_finish(c, src, "pool.import", what);
  rc = store_rc(src, what);
  free(what);
  json_decref(j);
  if (rc == CLI_OK && c->json)
    cli_print_json(json_pack("{s:s, s:I}", "file", path, "imported", (json_int_t)count));
  else if (rc == CLI_OK)
    printf("%zu pools imported from %s\n", count, path);
  return rc;
}

static int pools_export(struct cli *c, const char *path) {
  struct dag_store_pool *p = NULL;
  size_t n = 0;
  int rc = dag_store_pool_list(c->store, &p, &n);
  if (rc) return store_rc(rc, "export");
  json_t *j = json_object();
  for (size_t i = 0; i < n; i++)
    json_object_set_new(j, p[i].name,
                        json_pack("{s:i, s:o, s:b}", "slots", p[i].slots, "description",
                                  p[i].description ? json_string(p[i].description) : json_null(),
                                  "include_deferred", p[i].include_deferred));
  dag_store_pools_free(p, n);
  int out = CLI_OK;
  if (strcmp(path, "-") == 0) {
    char *text = json_dumps(j, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
  } else if (json_dump_file(j, path, JSON_INDENT(2)) != 0) {
    fprintf(stderr, "dagctl: cannot write %s: %s\n", path, strerror(errno));
    out = CLI_FAILED;
  } else if (c->json) {
    cli_print_json(json_pack("{s:s, s:I}", "file", path, "exported", (json_int_t)n));
  } else {
    printf("%zu pools exported to %s\n", n, path);
  }
  json_decref(j);
  return out;
}

int cmd_pools(struct cli *c, int argc, char **argv) {
  enum { OPT_DESC = 1 };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"description", required_argument, NULL, OPT_DESC},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  const char *desc = NULL;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Pools (Airflow's): named counts of slots. A task's try holds its pool_slots\n"
             "slots of its pool (default_pool unless it names one) while it is queued or\n"
             "running; a task waits, scheduled, while they are not free, and one whose\n"
             "pool does not exist waits until it does. default_pool (128 slots) cannot be\n"
             "deleted. list shows the slots each pool's tasks hold (RUNNING, QUEUED) and\n"
             "ask for while they wait (WAITING). import and export read and write\n"
             "{\"NAME\": {\"slots\": N, \"description\": TEXT, \"include_deferred\": BOOL}}\n"
             "(FILE - is standard input or output).\n",
             usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case OPT_DESC: desc = optarg; break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error(usage, "expected set, get, list, delete, import or export");
  const char *sub = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  static const struct {
    const char *name;
    int nargs;
  } subs[] = {{"set", 2}, {"get", 1}, {"list", 0}, {"delete", 1}, {"import", 1}, {"export", 1}};
  int want = -1;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(subs); i++)
    if (strcmp(sub, subs[i].name) == 0) want = subs[i].nargs;
  if (want < 0) return cli_usage_error(usage, "unknown subcommand '%s'", sub);
  if (nargs != want) return cli_usage_error(usage, "%s takes %d argument(s)", sub, want);
  if (desc && strcmp(sub, "set") != 0)
    return cli_usage_error(usage, "--description goes with set");
  bool named = strcmp(sub, "set") == 0 || strcmp(sub, "get") == 0 || strcmp(sub, "delete") == 0;
  const char *why = named ? dag_pool_name_problem(args[0]) : NULL;
  if (why) return cli_usage_error(usage, "pool '%s': %s", args[0], why);
  int slots = 0;
  if (strcmp(sub, "set") == 0 && !parse_slots(args[1], &slots))
    return cli_usage_error(usage, "SLOTS '%s': expected a whole number from 0 to %d", args[1],
                           DAG_MAX_POOL_SLOTS);
  if (strcmp(sub, "import") == 0) return pools_import(c, args[0]);
  int rc;
  if ((rc = cli_open(c)) != 0) return rc;
  if (strcmp(sub, "list") == 0) return pools_list(c);
  if (strcmp(sub, "export") == 0) return pools_export(c, args[0]);
  if (strcmp(sub, "get") == 0) return pools_get(c, args[0]);
  bool set = strcmp(sub, "set") == 0;
  bool created = false;
  int src = dag_store_begin(c->store);
  if (src == 0 && set) {
    /* Without --description the pool keeps the one it has. */
    struct dag_store_pool old;
    int g = desc ? DAG_ENOTFOUND : dag_store_pool_get(c->store, args[0], &old);
    if (g != 0 && g != DAG_ENOTFOUND) {
      src = g;
    } else {
      src = dag_store_pool_put(c->store, args[0], slots, g == 0 ? old.description : desc,
                               g == 0 && old.include_deferred, &created);
      if (g == 0) dag_store_pool_clear(&old);
    }
  } else if (src == 0) {
    src = dag_store_pool_delete(c->store, args[0]);
  }
  src = cli_audit_finish(c, src, set ? "pool.set" : "pool.delete", args[0]);
  if ((rc = store_rc(src, args[0])) != CLI_OK) return rc;
  if (c->json)
    cli_print_json(json_pack("{s:s, s:s}", "name", args[0], "action", sub));
  else if (set)
    printf("pool %s %s with %d slots\n", args[0], created ? "created" : "updated", slots);
  else
    printf("pool %s deleted\n", args[0]);
  return CLI_OK;
}
