/* cmd_vars.c - `dagctl variables` and `dagctl connections`: Airflow's
 * variables and connections in the state database (store_vars.h). Each
 * change is one transaction with its audit entry. Secrets are printed as
 * "***" everywhere but in `variables get` and `variables export`, which
 * exist to hand the value over. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "secret.h"
#include "store_vars.h"

static const char vars_usage[] =
    "dagctl variables set KEY VALUE [--description TEXT] | variables get KEY [--json]"
    " | variables list [--json] | variables delete KEY | variables import FILE"
    " | variables export FILE";
static const char conns_usage[] =
    "dagctl connections add NAME (--conn-uri URI | --conn-type TYPE [--conn-host H]"
    " [--conn-port P] [--conn-login L] [--conn-schema S] [--conn-extra JSON]"
    " [--conn-password-stdin]) [--conn-description TEXT] [--replace]"
    " | connections get NAME [--json] | connections list [--json] | connections delete NAME";

#define MASK "***"

/* The exit code for a store answer about `kind` `name`. */
static int store_rc(struct cli *c, int rc, const char *kind, const char *name) {
  if (rc == 0) return CLI_OK;
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: no %s '%s'\n", kind, name);
    return CLI_NOTFOUND;
  }
  if (rc == DAG_EEXIST) {
    fprintf(stderr, "dagctl: %s '%s' already exists (--replace replaces it)\n", kind, name);
    return CLI_FAILED;
  }
  if (rc == DAG_ECONFIG) {
    fprintf(stderr, "dagctl: %s '%s': %s\n", kind, name, dag_store_secret_problem(c->store));
    return CLI_CONFIG;
  }
  if (rc == DAG_EINVAL) {
    fprintf(stderr, "dagctl: %s '%s': invalid\n", kind, name);
    return CLI_USAGE;
  }
  fprintf(stderr, "dagctl: %s '%s': %s\n", kind, name, dag_strerror(rc));
  return CLI_CONFIG;
}

static int name_arg(const char *usage, const char *kind, const char *name) {
  const char *why = dag_conn_name_problem(name);
  return why ? cli_usage_error(usage, "%s name '%s': %s", kind, name, why) : CLI_OK;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* --- variables ---------------------------------------------------------------- */

static int vars_list(struct cli *c) {
  struct dag_store_variable *v = NULL;
  size_t n = 0;
  int rc = dag_store_variable_list(c->store, false, &v, &n);
  if (rc) return store_rc(c, rc, "variables", "list");
  /* Plain values as they are; secrets are not even opened. */
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:b}", "key", v[i].key, "value",
                                           v[i].encrypted ? MASK : v[i].value, "description",
                                           str_or_null(v[i].description), "is_encrypted",
                                           v[i].encrypted));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no variables (add one: dagctl variables set KEY VALUE)\n");
  } else {
    static const char *const head[] = {"KEY", "VALUE", "DESCRIPTION"};
    struct cli_table *t = cli_table_new(head, 3);
    for (size_t i = 0; i < n; i++) {
      const char *row[] = {v[i].key, v[i].encrypted ? MASK : v[i].value, v[i].description};
      cli_table_add(t, row);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_variables_free(v, n);
  return CLI_OK;
}

/* The text a JSON value of an import file is stored as: a string as it
 * is, anything else as compact JSON (Airflow's import does the same). */
static char *import_text(json_t *v) {
  if (json_is_string(v)) return xstrdup(json_string_value(v));
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int vars_import(struct cli *c, const char *path) {
  json_error_t jerr;
  json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                     : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!j) {
    fprintf(stderr, "dagctl: %s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
    return CLI_USAGE;
  }
  if (!json_is_object(j)) {
    fprintf(stderr, "dagctl: %s: expected a JSON object of variables {\"KEY\": VALUE}\n", path);
    json_decref(j);
    return CLI_USAGE;
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    const char *why = dag_conn_name_problem(k);
    if (why) {
      fprintf(stderr, "dagctl: %s: variable '%s': %s\n", path, k, why);
      json_decref(j);
      return CLI_USAGE;
    }
  }
  int rc = cli_open(c);
  if (rc) {
    json_decref(j);
    return rc;
  }
  /* All or nothing: one transaction, one audit entry. */
  int src = dag_store_begin(c->store);
  const char *failed = NULL;
  json_object_foreach(j, k, v) {
    if (src) break;
    char *text = import_text(v);
    src = dag_store_variable_set(c->store, k, text, NULL);
    free(text);
    if (src) failed = k;
  }
  size_t count = json_object_size(j);
  char *what = failed ? xstrdup(failed) : xasprintf("%zu variables", count);
  src = cli_audit_finish(c, src, "variable.import", what);
  rc = store_rc(c, src, "variable", what);
  free(what);
  json_decref(j);
  if (rc == CLI_OK && c->json)
    cli_print_json(json_pack("{s:s, s:I}", "file", path, "imported", (json_int_t)count));
  else if (rc == CLI_OK)
    printf("%zu variables imported from %s\n", count, path);
  return rc;
}

static int vars_export(struct cli *c, const char *path) {
  struct dag_store_variable *v = NULL;
  size_t n = 0;
  int rc = dag_store_variable_list(c->store, true, &v, &n);
  if (rc) return store_rc(c, rc, "variables", "export");
  json_t *j = json_object();
  for (size_t i = 0; i < n; i++) json_object_set_new(j, v[i].key, json_string(v[i].value));
  dag_store_variables_free(v, n);
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
  json_decref(j);
  int out = CLI_OK;
  if (strcmp(path, "-") == 0) {
    printf("%s\n", text);
  } else {
    /* The file holds the secrets in clear: for the owner's eyes only. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
      fprintf(stderr, "dagctl: cannot write %s: %s\n", path, strerror(errno));
      if (!f && fd >= 0) close(fd);
      out = CLI_FAILED;
    } else {
      if (c->json)
        cli_print_json(json_pack("{s:s, s:I}", "file", path, "exported", (json_int_t)n));
      else
        printf("%zu variables exported to %s\n", n, path);
    }
  }
  explicit_bzero(text, strlen(text));
  free(text);
  return out;
}

int cmd_variables(struct cli *c, int argc, char **argv) {
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
             "Variables (Airflow's), read by tasks as {{ var.value.KEY }} or\n"
             "{{ var.json.KEY.FIELD }}; DAGCTL_VAR_<KEY> in the environment overrides one.\n"
             "A variable whose key looks secret (*password*, *token*, *api_key*,\n"
             "*secret*...) is sealed in the database with core.secret_key and shown\n"
             "as *** by list. import and export read and write a JSON object\n"
             "{\"KEY\": VALUE} (FILE - is standard input or output); export writes\n"
             "secrets in clear, to a file only its owner may read.\n",
             vars_usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case OPT_DESC: desc = optarg; break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(vars_usage, "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error(vars_usage, "expected set, get, list, delete, import or export");
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
  if (want < 0) return cli_usage_error(vars_usage, "unknown subcommand '%s'", sub);
  if (nargs != want) return cli_usage_error(vars_usage, "%s takes %d argument(s)", sub, want);
  if (desc && strcmp(sub, "set") != 0)
    return cli_usage_error(vars_usage, "--description goes with set");
  int rc;
  if ((strcmp(sub, "set") == 0 || strcmp(sub, "get") == 0 || strcmp(sub, "delete") == 0) &&
      (rc = name_arg(vars_usage, "variable", args[0])) != CLI_OK)
    return rc;
  if (strcmp(sub, "import") == 0) return vars_import(c, args[0]);
  if ((rc = cli_open(c)) != 0) return rc;
  if (strcmp(sub, "list") == 0) return vars_list(c);
  if (strcmp(sub, "export") == 0) return vars_export(c, args[0]);
  if (strcmp(sub, "get") == 0) {
    struct dag_store_variable v;
    int src = dag_store_variable_get(c->store, args[0], &v);
    if ((rc = store_rc(c, src, "variable", args[0])) != CLI_OK) return rc;
    if (c->json)
      cli_print_json(json_pack("{s:s, s:s, s:o, s:b}", "key", v.key, "value", v.value,
                               "description", str_or_null(v.description), "is_encrypted",
                               v.encrypted));
    else
      printf("%s\n", v.value);
    dag_store_variable_clear(&v);
    return CLI_OK;
  }
  bool set = strcmp(sub, "set") == 0;
  int src = dag_store_begin(c->store);
  if (src == 0)
    src = set ? dag_store_variable_set(c->store, args[0], args[1], desc)
              : dag_store_variable_delete(c->store, args[0]);
  src = cli_audit_finish(c, src, set ? "variable.set" : "variable.delete", args[0]);
  if ((rc = store_rc(c, src, "variable", args[0])) != CLI_OK) return rc;
  if (c->json)
    cli_print_json(json_pack("{s:s, s:s}", "key", args[0], "action", sub));
  else
    printf(set ? "variable %s set\n" : "variable %s deleted\n", args[0]);
  return CLI_OK;
}

/* --- connections -------------------------------------------------------------- */

static json_t *conn_json(const struct dag_conn *k) {
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "connection_id", k->conn_id,
                        "conn_type", k->conn_type, "description", str_or_null(k->description),
                        "host", str_or_null(k->host), "login", str_or_null(k->login), "schema",
                        str_or_null(k->schema), "port",
                        k->port ? json_integer(k->port) : json_null());
  return o;
}

static int conns_list(struct cli *c) {
  struct dag_conn *k = NULL;
  size_t n = 0;
  int rc = dag_store_connection_list(c->store, false, &k, &n);
  if (rc) return store_rc(c, rc, "connections", "list");
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, conn_json(&k[i]));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no connections (add one: dagctl connections add NAME --conn-uri URI)\n");
  } else {
    static const char *const head[] = {"NAME", "TYPE", "HOST", "PORT", "LOGIN", "SCHEMA"};
    struct cli_table *t = cli_table_new(head, 6);
    for (size_t i = 0; i < n; i++) {
      char port[16] = "";
      if (k[i].port) snprintf(port, sizeof(port), "%d", k[i].port);
      const char *row[] = {k[i].conn_id, k[i].conn_type, k[i].host, port, k[i].login,
                           k[i].schema};
      cli_table_add(t, row);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_connections_free(k, n);
  return CLI_OK;
}

static int conns_get(struct cli *c, const char *name) {
  struct dag_conn k;
  int rc = store_rc(c, dag_store_connection_get(c->store, name, &k), "connection", name);
  if (rc) return rc;
  /* The extra's secret-looking keys, like the password, never print. */
  json_t *extra = k.extra ? json_loads(k.extra, 0, NULL) : NULL;
  const char *key;
  json_t *v;
  json_object_foreach(extra, key, v) if (dag_secret_name(key))
      json_object_set_new(extra, key, json_string(MASK));
  char *extra_text = extra ? json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(extra);
  if (c->json) {
    json_t *o = conn_json(&k);
    json_object_set_new(o, "password", k.password ? json_string(MASK) : json_null());
    json_object_set_new(o, "extra", str_or_null(extra_text));
    cli_print_json(o);
  } else {
    char port[16] = "";
    if (k.port) snprintf(port, sizeof(port), "%d", k.port);
    printf("name         %s\ntype         %s\nhost         %s\nport         %s\n"
           "login        %s\npassword     %s\nschema       %s\nextra        %s\n"
           "description  %s\n",
           k.conn_id, k.conn_type, k.host ? k.host : "", port, k.login ? k.login : "",
           k.password ? MASK : "", k.schema ? k.schema : "", extra_text ? extra_text : "",
           k.description ? k.description : "");
  }
  free(extra_text);
  dag_conn_clear(&k);
  return CLI_OK;
}

/* One line of standard input (a password, a URI); NULL after saying why. */
static char *stdin_line(const char *what) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n <= 0) {
    free(line);
    fprintf(stderr, "dagctl: no %s on standard input\n", what);
    return NULL;
  }
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  return line;
}

int cmd_connections(struct cli *c, int argc, char **argv) {
  enum { O_URI = 1, O_TYPE, O_HOST, O_PORT, O_LOGIN, O_SCHEMA, O_EXTRA, O_PW_STDIN, O_DESC,
         O_REPLACE };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"conn-uri", required_argument, NULL, O_URI},
                                       {"conn-type", required_argument, NULL, O_TYPE},
                                       {"conn-host", required_argument, NULL, O_HOST},
                                       {"conn-port", required_argument, NULL, O_PORT},
                                       {"conn-login", required_argument, NULL, O_LOGIN},
                                       {"conn-schema", required_argument, NULL, O_SCHEMA},
                                       {"conn-extra", required_argument, NULL, O_EXTRA},
                                       {"conn-password-stdin", no_argument, NULL, O_PW_STDIN},
                                       {"conn-description", required_argument, NULL, O_DESC},
                                       {"replace", no_argument, NULL, O_REPLACE},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  const char *uri = NULL, *type = NULL, *host = NULL, *port = NULL, *login = NULL,
             *schema = NULL, *extra = NULL, *desc = NULL;
  bool pw_stdin = false, replace = false, fields = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Connections (Airflow's): how tasks reach outside systems, read as\n"
             "{{ conn.NAME.host }} (login, password, port, schema, extra.KEY) and by\n"
             "plugins by name; DAGCTL_CONN_<NAME>=URI in the environment overrides one.\n"
             "A URI is TYPE://LOGIN:PASSWORD@HOST:PORT/SCHEMA?KEY=VALUE (percent-escape\n"
             "reserved characters); --conn-uri - reads it from standard input, so that\n"
             "the password never shows in the process list. The password (and an\n"
             "extra with a secret-looking key) is sealed with core.secret_key and\n"
             "printed as ***.\n",
             conns_usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case O_URI: uri = optarg; break;
    case O_TYPE: type = optarg; fields = true; break;
    case O_HOST: host = optarg; fields = true; break;
    case O_PORT: port = optarg; fields = true; break;
    case O_LOGIN: login = optarg; fields = true; break;
    case O_SCHEMA: schema = optarg; fields = true; break;
    case O_EXTRA: extra = optarg; fields = true; break;
    case O_PW_STDIN: pw_stdin = true; fields = true; break;
    case O_DESC: desc = optarg; break;
    case O_REPLACE: replace = true; break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(conns_usage, "bad option");
    }
  }
  if (optind >= argc) return cli_usage_error(conns_usage, "expected add, get, list or delete");
  const char *sub = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  bool add = strcmp(sub, "add") == 0;
  if (strcmp(sub, "list") != 0 && !add && strcmp(sub, "get") != 0 && strcmp(sub, "delete") != 0)
    return cli_usage_error(conns_usage, "unknown subcommand '%s'", sub);
  if (nargs != (strcmp(sub, "list") == 0 ? 0 : 1))
    return cli_usage_error(conns_usage, "%s takes %s", sub,
                           strcmp(sub, "list") == 0 ? "no argument" : "one name");
  if (!add && (uri || fields || desc || replace))
    return cli_usage_error(conns_usage, "the --conn-* options go with add");
  int rc;
  if (nargs && (rc = name_arg(conns_usage, "connection", args[0])) != CLI_OK) return rc;
  if (!add) {
    if ((rc = cli_open(c)) != 0) return rc;
    if (strcmp(sub, "list") == 0) return conns_list(c);
    if (strcmp(sub, "get") == 0) return conns_get(c, args[0]);
    int src = dag_store_begin(c->store);
    if (src == 0) src = dag_store_connection_delete(c->store, args[0]);
    src = cli_audit_finish(c, src, "connection.delete", args[0]);
    if ((rc = store_rc(c, src, "connection", args[0])) != CLI_OK) return rc;
    if (c->json)
      cli_print_json(json_pack("{s:s, s:s}", "connection_id", args[0], "action", "delete"));
    else
      printf("connection %s deleted\n", args[0]);
    return CLI_OK;
  }

  if (!uri == !type || (uri && fields))
    return cli_usage_error(conns_usage, "add takes --conn-uri, or --conn-type and its fields");
  struct dag_conn k = {0};
  if (uri) {
    char *line = strcmp(uri, "-") == 0 ? stdin_line("connection URI") : xstrdup(uri);
    if (!line) return CLI_USAGE;
    char *err = NULL;
    int prc = dag_conn_parse_uri(line, &k, &err);
    explicit_bzero(line, strlen(line));
    free(line);
    if (prc) {
      fprintf(stderr, "dagctl: %s\n", err);
      free(err);
      return CLI_USAGE;
    }
  } else {
    k.conn_type = xstrdup(type);
    k.host = host ? xstrdup(host) : NULL;
    k.login = login ? xstrdup(login) : NULL;
    k.schema = schema ? xstrdup(schema) : NULL;
    k.extra = extra ? xstrdup(extra) : NULL;
    if (port && (!cli_parse_int(port, &k.port) || k.port > 65535)) {
      dag_conn_clear(&k);
      return cli_usage_error(conns_usage, "--conn-port must be a number from 1 to 65535");
    }
    const char *why = dag_conn_extra_problem(k.extra);
    if (why) {
      dag_conn_clear(&k);
      return cli_usage_error(conns_usage, "--conn-extra: %s", why);
    }
    if (pw_stdin && !(k.password = stdin_line("password"))) {
      dag_conn_clear(&k);
      return CLI_USAGE;
    }
  }
  k.conn_id = xstrdup(args[0]);
  k.description = desc ? xstrdup(desc) : NULL;
  if ((rc = cli_open(c)) != 0) {
    dag_conn_clear(&k);
    return rc;
  }
  int src = dag_store_begin(c->store);
  if (src == 0) src = dag_store_connection_put(c->store, &k, replace);
  src = cli_audit_finish(c, src, "connection.add", args[0]);
  rc = store_rc(c, src, "connection", args[0]);
  if (rc == CLI_OK) {
    if (c->json)
      cli_print_json(json_pack("{s:s, s:s}", "connection_id", args[0], "action", "add"));
    else
      printf("connection %s added (%s)\n", args[0], k.conn_type);
  }
  dag_conn_clear(&k);
  return rc;
}
