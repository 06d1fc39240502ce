/* fake_host.h - a plugin host for tests: the task's params, connections and
 * context come from tables the test fills; logs and XComs are recorded.
 *
 * The real host runs each task in a child process of the scheduler; this
 * one calls execute() in the test's own process, so a test can assert on
 * exactly what a plugin asked for and handed back. */
#ifndef DAGCTL_FAKE_HOST_H
#define DAGCTL_FAKE_HOST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "dagctl/plugin.h"
#include "strbuf.h"

struct fake_kv {
  char *name; /* "key", or "section.key" for connections */
  char *value;
};

struct fake_host {
  struct dagctl_host host; /* first: the plugin's pointer is ours */
  struct fake_kv *params, *conns, *ctx, *xcom;
  size_t n_params, n_conns, n_ctx, n_xcom;
  struct fake_kv *rendered; /* params with templates rendered, for one try */
  size_t n_rendered;
  struct strbuf log;     /* "LEVEL message\n" per line */
  bool echo;             /* also write log lines to stderr */
  int cancel_after;      /* cancelled() is true from this call on; 0: never */
  int cancelled_calls;   /* how often the plugin asked */
  volatile sig_atomic_t *cancel_flag; /* if set: cancelled() once it is non-zero */
  void *dl;              /* the loaded plugin */
  /* If set: called after each line is recorded, so a test can act at a
   * point the plugin reached instead of after a guessed delay. */
  void (*on_log)(struct fake_host *f, const char *level, const char *msg);
  void *data;            /* the test's, for on_log */
};

void fake_host_init(struct fake_host *f);
void fake_host_free(struct fake_host *f);

/* Set (or with value NULL remove) an entry; strings are copied. */
void fake_host_param(struct fake_host *f, const char *name, const char *value);
void fake_host_conn(struct fake_host *f, const char *section, const char *key,
                    const char *value);
void fake_host_ctx(struct fake_host *f, const char *name, const char *value);

/* The value a plugin pushed under `key`, or NULL. Borrowed. */
const char *fake_host_xcom(const struct fake_host *f, const char *key);

/* dlopen `path` and return its task type `name`, or NULL with a message on
 * stderr. The library stays loaded until fake_host_free(). */
const struct dagctl_task_type *fake_host_load(struct fake_host *f, const char *path,
                                              const char *name);

/* Run one try: clears the log and XComs of the previous one first. As the
 * real host does, renders the params' {{ }} templates first (from the
 * context's dag_id, task_id, run_id, try_number and logical_date, or ds at
 * midnight UTC); a template error fails the try, logged as
 * "ERROR param NAME: message", without calling the plugin. */
enum dagctl_result fake_host_run(struct fake_host *f, const struct dagctl_task_type *t);

#endif
