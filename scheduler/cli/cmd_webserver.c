/* cmd_webserver.c - `dagctl webserver`: the status page and JSON API alone,
 * reading (read-only) the database a scheduler, elsewhere or not running,
 * writes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "web.h"

static const char usage[] =
    "dagctl webserver [--home DIR] [--dags DIR] [--config FILE] [--bind ADDR] [--port N]";

int cli_web_option(struct cli_web *w, int opt, const char *arg, const char *verb_usage) {
  int port;
  switch (opt) {
  case OPT_BIND:
    w->bind = arg;
    return 0;
  case OPT_PORT:
    if (!cli_parse_int(arg, &port) || port > 65535) {
      cli_usage_error(verb_usage, "--port takes a port number from 0 (any free port) to 65535");
      return CLI_USAGE;
    }
    w->port = port;
    return 0;
  default:
    return -1;
  }
}

int cli_web_args(struct cli *c, struct cli_web *w, int argc, char **argv, const char *verb_usage,
                 const char *help) {
  static const struct option opts[] = {CLI_WEB_OPTIONS, CLI_COMMON_OPTIONS, {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (opt == 'h') {
      printf("usage: %s\n\n%s", verb_usage, help);
      return CLI_OK;
    }
    int wrc = cli_web_option(w, opt, optarg, verb_usage);
    if (wrc > 0) return wrc;
    if (wrc == 0) continue;
    if (!cli_common_option(c, opt, optarg)) return cli_usage_error(verb_usage, "bad option");
  }
  if (optind < argc)
    return cli_usage_error(verb_usage, "unexpected argument '%s'", argv[optind]);
  int rc = w->readonly ? cli_open_readonly(c) : cli_open(c);
  if (rc) return rc;
  const char *bind = w->bind ? w->bind : c->cfg.web_bind;
  if (!c->cfg.web_auth_password && !dag_web_bind_is_loopback(bind)) {
    fprintf(stderr,
            "dagctl: web.auth is none, which serves only a loopback address, but the page "
            "would listen on %s: set `web: {auth: password}` in dagctl.yaml (or "
            "DAGCTL__WEB__AUTH=password) and add a user (dagctl users add NAME --role admin), "
            "or bind 127.0.0.1\n",
            bind);
    return CLI_CONFIG;
  }
  return -1;
}

int cli_web_start(struct cli *c, const struct cli_web *w, uv_loop_t *loop,
                  struct dag_scheduler *sched, struct dag_web **out) {
  char *db = w->readonly ? xstrdup(c->cfg.state) : NULL;
  struct dag_web_options opts = {.cfg = &c->cfg,
                                 .store = c->store,
                                 .sched = sched,
                                 .bind = w->bind,
                                 .port = w->port,
                                 .write_db = db};
  const char *bind = w->bind ? w->bind : c->cfg.web_bind;
  int rc = dag_web_start(loop, &opts, out);
  free(db);
  if (rc) {
    LOG_ERROR("web server cannot listen bind=%s port=%d error=\"%s\"", bind,
              w->port >= 0 ? w->port : c->cfg.web_port, dag_strerror(rc));
    return rc;
  }
  bool v6 = strchr(bind, ':') != NULL;
  LOG_INFO("web server listening url=%s://%s%s%s:%d/", c->cfg.web_tls_cert ? "https" : "http",
           v6 ? "[" : "", bind, v6 ? "]" : "", dag_web_port(*out));
  return 0;
}

struct server {
  uv_loop_t loop;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  struct dag_web *web;
};

static void on_signal(uv_signal_t *h, int signum) {
  struct server *srv = h->data;
  LOG_INFO("web server stopping on signal=%d", signum);
  uv_close((uv_handle_t *)&srv->sigterm, NULL);
  uv_close((uv_handle_t *)&srv->sigint, NULL);
  dag_web_close(srv->web, NULL, NULL);
}

int cmd_webserver(struct cli *c, int argc, char **argv) {
  struct cli_web web = CLI_WEB_INIT;
  web.readonly = true;
  int rc = cli_web_args(
      c, &web, argc, argv, usage,
      "Serves the status page and JSON API on web.bind:web.port (127.0.0.1:8080)\n"
      "until SIGTERM or SIGINT, from the database in DAGCTL_HOME, without running\n"
      "a scheduler. The database is opened read-only and never created or\n"
      "migrated: it must exist, at this dagctl's schema. Triggers, pauses and\n"
      "clears made here are written through a short-lived connection of their\n"
      "own and picked up by the scheduler of that home.\n");
  if (rc >= 0) return rc;

  signal(SIGPIPE, SIG_IGN);
  struct server srv;
  memset(&srv, 0, sizeof(srv));
  uv_loop_init(&srv.loop);
  if (cli_web_start(c, &web, &srv.loop, NULL, &srv.web) != 0) {
    uv_run(&srv.loop, UV_RUN_DEFAULT); /* lets the failed listener close */
    uv_loop_close(&srv.loop);
    return CLI_CONFIG;
  }
  uv_signal_init(&srv.loop, &srv.sigterm);
  uv_signal_init(&srv.loop, &srv.sigint);
  srv.sigterm.data = srv.sigint.data = &srv;
  uv_signal_start(&srv.sigterm, on_signal, SIGTERM);
  uv_signal_start(&srv.sigint, on_signal, SIGINT);
  uv_run(&srv.loop, UV_RUN_DEFAULT);
  uv_loop_close(&srv.loop);
  LOG_INFO("web server stopped");
  return CLI_OK;
}
