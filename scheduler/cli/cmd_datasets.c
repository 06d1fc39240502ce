/* cmd_datasets.c - `dagctl datasets list`: every dataset, the DAGs it
 * schedules, the tasks that update it, and its last update. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "apijson.h"
#include "apijson_dataset.h"
#include "cli.h"
#include "store_datasets.h"
#include "strbuf.h"

static const char usage[] = "dagctl datasets list [--json]";

static char *join_refs(const struct dag_store_dataset_ref *r, size_t n, bool tasks) {
  struct strbuf b = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i) sb_append(&b, ", ");
    sb_append(&b, r[i].dag_id);
    if (tasks) {
      sb_append(&b, ".");
      sb_append(&b, r[i].task_id);
    }
  }
  if (n == 0) sb_append(&b, "-");
  return sb_detach(&b);
}

int cmd_datasets(struct cli *c, int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON}, CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Every dataset a DAG names (a task's outlets, a schedule of datasets): the\n"
             "DAGs it schedules (consumers), the tasks whose success updates it\n"
             "(producers), and when it was last updated.\n",
             usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  if (optind >= argc || strcmp(argv[optind], "list") != 0)
    return cli_usage_error(usage, optind < argc ? "unknown subcommand '%s'" : "a subcommand is needed",
                           optind < argc ? argv[optind] : "");
  if (optind + 1 < argc) return cli_usage_error(usage, "unexpected argument '%s'", argv[optind + 1]);
  int rc = cli_open_readonly(c);
  if (rc) return rc;
  struct dag_store_dataset *d = NULL;
  size_t n = 0;
  if (dag_store_list_datasets(c->store, NULL, &d, &n) != 0) return CLI_CONFIG;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *o = dag_api_dataset(&d[i]);
      json_object_set_new(o, "last_update",
                          d[i].last_event ? dag_api_time(d[i].last_event) : json_null());
      json_object_set_new(o, "events", json_integer(d[i].n_events));
      json_array_append_new(arr, o);
    }
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no datasets\n");
  } else {
    static const char *const head[] = {"URI", "CONSUMERS", "PRODUCERS", "LAST UPDATE", "EVENTS"};
    struct cli_table *t = cli_table_new(head, 5);
    for (size_t i = 0; i < n; i++) {
      char when[32] = "never", count[24];
      if (d[i].last_event) cli_fmt_time(d[i].last_event, when, sizeof(when));
      snprintf(count, sizeof(count), "%lld", (long long)d[i].n_events);
      char *cons = join_refs(d[i].consumers, d[i].n_consumers, false);
      char *prod = join_refs(d[i].producers, d[i].n_producers, true);
      const char *row[] = {d[i].uri, cons, prod, when, count};
      cli_table_add(t, row);
      free(cons);
      free(prod);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_datasets_free(d, n);
  return CLI_OK;
}
