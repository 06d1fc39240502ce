/* cmd_scheduler.c - `dagctl scheduler`: the long-running service. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "alerts.h"
#include "alloc.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "scheduler.h"
#include "web.h"

static const char usage[] =
    "dagctl scheduler [--home DIR] [--dags DIR] [--config FILE] [--bind ADDR] [--port N]";

struct service {
  uv_loop_t loop;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_check_t watch; /* notices a scheduler that stopped by itself */
  struct dag_scheduler *sched;
  struct dag_web *web;
  bool stopping;
  bool signalled; /* stopped by SIGTERM/SIGINT, not by a failed store */
};

static void on_closed(void *ctx) {
  DAG_UNUSED(ctx);
}

/* Close everything that keeps the loop running: the signal handlers, the
 * status page and the scheduler, which stops its plugin tasks first. */
static void stop(struct service *svc) {
  if (svc->stopping) return;
  svc->stopping = true;
  uv_close((uv_handle_t *)&svc->sigterm, NULL);
  uv_close((uv_handle_t *)&svc->sigint, NULL);
  uv_close((uv_handle_t *)&svc->watch, NULL);
  if (svc->web) dag_web_close(svc->web, NULL, NULL);
  svc->web = NULL;
  dag_scheduler_shutdown(svc->sched, on_closed, svc);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct service *svc = h->data;
  LOG_INFO("stopping on signal=%d; running tasks run on under their supervisors and are "
           "adopted at the next start (plugin tasks are stopped and run again)", signum);
  svc->signalled = true;
  stop(svc);
}

/* The scheduler stops by itself when the state store fails; the status
 * page and the signal handlers must then go too, or the loop never ends. */
static void on_check(uv_check_t *h) {
  struct service *svc = h->data;
  if (dag_scheduler_failed(svc->sched)) stop(svc);
}

/* One scheduler per home: two would run every task twice. The lock dies
 * with the process, so a crash never leaves a stale lock behind. It is a
 * POSIX record lock, not flock(): that belongs to this process alone,
 * whereas a child caught between its fork and its exec when the scheduler
 * is killed holds a copy of the descriptor, and with it a flock(), for a
 * moment after the scheduler's death. */
/* Several schedulers (PostgreSQL, core.executor: workers): one the
 * database failed under (a restarted server, a cut link) starts again as
 * this same program once the database answers, rebuilding its state from
 * it as any start does, while the others drive its runs. One scheduler of
 * a SQLite home stops instead, for its operator or supervisor. Returns
 * only if the program cannot be started again. */
static void restart_when_store_answers(struct cli *c) {
  char cmdline[8192];
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t len = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
  if (fd >= 0) close(fd);
  if (len <= 0 || (size_t)len >= sizeof(cmdline) - 1) return;
  cmdline[len] = '\0';
  char *args[256];
  size_t n = 0;
  for (char *p = cmdline; p < cmdline + len && n < 255; p += strlen(p) + 1) args[n++] = p;
  args[n] = NULL;
  unsigned delay_ms = 100;
  while (dag_store_ping(c->store) != 0) {
    LOG_WARN("state store unreachable; this scheduler starts again once it answers "
             "retry_ms=%u", delay_ms);
    usleep(delay_ms * 1000u);
    if (delay_ms < 3200) delay_ms *= 2;
  }
  LOG_WARN("state store answers again: starting this scheduler again");
  execv("/proc/self/exe", args);
  LOG_ERROR("cannot start this scheduler again error=\"%s\"", strerror(errno));
}

static int lock_home(const char *home) {
  char *path = xasprintf("%s/scheduler.lock", home);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(path);
  if (fd < 0) return -errno;
  struct flock whole;
  memset(&whole, 0, sizeof(whole));
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &whole) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    DAG_UNUSED(n);
    char *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
    fprintf(stderr, "dagctl: another scheduler (pid %s) is running on %s\n",
            buf[0] ? buf : "?", home);
    close(fd);
    return -EBUSY;
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len) {
    /* The pid is only informative. */
  }
  return fd; /* kept open for the life of the process */
}

int cmd_scheduler(struct cli *c, int argc, char **argv) {
  struct cli_web web = CLI_WEB_INIT;
  int rc = cli_web_args(
      c, &web, argc, argv, usage,
      "Runs the scheduler in the foreground until SIGTERM or SIGINT,\n"
      "with the status page and JSON API on web.bind:web.port (127.0.0.1:8080;\n"
      "--port 0 picks a free port and logs it). If the address is taken, the\n"
      "scheduler runs without the page.\n");
  if (rc >= 0) return rc;
  int lock = lock_home(c->cfg.home);
  if (lock < 0) return lock == -EBUSY ? CLI_BUSY : CLI_CONFIG;

  signal(SIGPIPE, SIG_IGN);
  struct service svc;
  memset(&svc, 0, sizeof(svc));
  uv_loop_init(&svc.loop);
  dag_scheduler_new(&svc.loop, &c->cfg, c->store, &svc.sched);
  dag_scheduler_check_plugins(svc.sched);
  /* Failures become alerts inside the scheduler's transactions; mail goes
   * out off the loop. The outbox never keeps the loop alive by itself. */
  struct dag_alerts *alerts = NULL;
  dag_alerts_new(&svc.loop, &c->cfg, c->store, svc.sched, environ, &alerts);
  struct dag_scheduler_listener listener;
  dag_alerts_listener(alerts, &listener);
  dag_scheduler_set_listener(svc.sched, &listener);
  uv_signal_init(&svc.loop, &svc.sigterm);
  uv_signal_init(&svc.loop, &svc.sigint);
  svc.sigterm.data = svc.sigint.data = &svc;
  uv_signal_start(&svc.sigterm, on_signal, SIGTERM);
  uv_signal_start(&svc.sigint, on_signal, SIGINT);
  uv_check_init(&svc.loop, &svc.watch);
  svc.watch.data = &svc;
  uv_check_start(&svc.watch, on_check);
  uv_unref((uv_handle_t *)&svc.watch);

  LOG_INFO("scheduler starting home=%s dags=%s parallelism=%d", c->cfg.home,
           c->cfg.dags_folder, c->cfg.parallelism);
  rc = dag_scheduler_start(svc.sched);
  if (rc) {
    LOG_ERROR("scheduler could not start error=\"%s\"", dag_strerror(rc));
    stop(&svc);
  } else if (cli_web_start(c, &web, &svc.loop, svc.sched, &svc.web) != 0) {
    /* Scheduling matters more than the page: carry on without it. */
    LOG_ERROR("the scheduler runs without its status page");
  }
  uv_run(&svc.loop, UV_RUN_DEFAULT);
  /* The scheduler has stopped; an SMTP attempt in progress has ended. */
  dag_alerts_close(alerts);
  uv_run(&svc.loop, UV_RUN_DEFAULT);
  if (dag_scheduler_failed(svc.sched)) rc = DAG_ESTORE;
  dag_scheduler_free(svc.sched);
  dag_alerts_free(alerts);
  uv_loop_close(&svc.loop);
  close(lock);
  if (rc == DAG_ESTORE && !svc.signalled && c->cfg.executor_workers &&
      dag_store_kind(c->store) == DAG_STORE_POSTGRESQL)
    restart_when_store_answers(c);
  LOG_INFO("scheduler stopped");
  return rc ? CLI_CONFIG : CLI_OK;
}
