/* plugin_run - run one task of a plugin with the fake host, from a shell.
 *
 *   plugin_run PLUGIN.so TYPE [-p NAME=VALUE]... [-c SECTION.KEY=VALUE]...
 *              [-x NAME=VALUE]...
 *
 * -p sets a param, -c a connection setting, -x a context value. A value
 * "$VAR" is read from the environment, so secrets stay off command lines.
 * The task's log goes to stderr, each XCom to stdout as "KEY VALUE", and
 * the exit status is the dagctl_result (0 ok, 1 failed, 2 not yet, 3 skip;
 * 10 when the plugin cannot be loaded). SIGTERM or SIGINT makes the host's
 * cancelled() true. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "fake_host.h"

/* Written by the signal handler: the one thing a handler may touch. */
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void usage(void) {
  fprintf(stderr, "usage: plugin_run PLUGIN.so TYPE [-p NAME=VALUE]... "
                  "[-c SECTION.KEY=VALUE]... [-x NAME=VALUE]...\n");
  exit(10);
}

int main(int argc, char **argv) {
  if (argc < 3) usage();
  struct fake_host fh;
  fake_host_init(&fh);
  fh.echo = true;
  fh.cancel_flag = &stop;
  for (int i = 3; i < argc; i++) {
    const char *opt = argv[i];
    if (i + 1 >= argc || opt[0] != '-' || strchr("pcx", opt[1]) == NULL || opt[2]) usage();
    char *arg = argv[++i];
    char *eq = strchr(arg, '=');
    if (eq == NULL) usage();
    *eq = '\0';
    const char *value = eq + 1;
    if (value[0] == '$') {
      value = getenv(value + 1);
      if (value == NULL) {
        fprintf(stderr, "plugin_run: %s is not set\n", eq + 2);
        return 10;
      }
    }
    if (opt[1] == 'p') {
      fake_host_param(&fh, arg, value);
    } else if (opt[1] == 'x') {
      fake_host_ctx(&fh, arg, value);
    } else {
      char *dot = strchr(arg, '.');
      if (dot == NULL) usage();
      *dot = '\0';
      fake_host_conn(&fh, arg, dot + 1, value);
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  const struct dagctl_task_type *t = fake_host_load(&fh, argv[1], argv[2]);
  if (t == NULL) {
    fake_host_free(&fh);
    return 10;
  }
  enum dagctl_result r = fake_host_run(&fh, t);
  for (size_t i = 0; i < fh.n_xcom; i++)
    printf("%s %s\n", fh.xcom[i].name, fh.xcom[i].value);
  fake_host_free(&fh);
  return (int)r;
}
