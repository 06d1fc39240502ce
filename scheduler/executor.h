/* executor.h - run one task try as a child process on the loop.
 *
 * The child gets its own session and process group (setsid), so a timeout
 * can signal everything the task started, not only its first process. Its
 * stdin is /dev/null; stdout and stderr both go to the try's log file; no
 * other descriptor of dagctl's reaches it (but pass_fd, as fd 3).
 *
 * Memory: the executor allocates the dag_proc and frees it when exit_cb
 * returns; the caller's pointer is valid until then. exit_cb runs exactly
 * once per successful dag_proc_spawn(), after every handle is closed. If
 * spawning fails, exit_cb never runs and nothing is left to free. */
#ifndef DAG_EXECUTOR_H
#define DAG_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct dag_proc;

/* exit_status is the process's exit code, or -1 when it died of a signal
 * (term_signal). timed_out: killed because execution_timeout passed. */
typedef void (*dag_proc_exit_cb)(struct dag_proc *p, int64_t exit_status,
                                 int term_signal, bool timed_out);

struct dag_proc_spec {
  const char *file;       /* program; without a '/', looked up in env's PATH */
  char **argv;            /* NULL-terminated, argv[0] included */
  char **env;             /* NULL-terminated, the whole environment */
  const char *cwd;        /* NULL: inherit */
  const char *log_path;   /* absolute; created or appended to */
  uint64_t timeout_ms;    /* 0: none */
  uint64_t kill_grace_ms; /* SIGTERM -> SIGKILL delay */
  int pass_fd;            /* > 2: given to the child as its fd 3; 0: none */
};

struct dag_proc {
  uv_signal_t child; /* SIGCHLD: waitpid() tells whether it is this child */
  uv_timer_t timer; /* execution timeout, then the SIGTERM grace period */
  int pid;
  int64_t pid_start; /* start time from /proc, to recognise this pid later */
  void *data;        /* the caller's */
  /* private */
  dag_proc_exit_cb exit_cb;
  uint64_t kill_grace_ms;
  int64_t exit_status;
  int term_signal;
  bool timed_out;
  bool terminating; /* SIGTERM sent, SIGKILL pending */
  uint64_t kill_at; /* loop time when the grace period ends */
  int open_handles;
};

/* Start the process; *out is the new dag_proc (its `data` set to `data`).
 * Returns 0, or a negative errno/UV_E* code (the log file cannot be opened,
 * the program does not exist, ...). */
int dag_proc_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out);

/* Ask the whole process group to stop: SIGTERM now, SIGKILL after the grace
 * period if it is still alive. Idempotent. */
void dag_proc_terminate(struct dag_proc *p);

/* The start time of process `pid` in clock ticks since boot (field 22 of
 * /proc/PID/stat), or -1 if there is no such process or it has exited (a
 * zombie, not yet reaped). */
int64_t dag_pid_start_time(int pid);

/* True if a process of group `pgid` is alive; zombies (exited, not yet
 * reaped) do not count. O(processes) when the group has members: it reads
 * /proc. */
bool dag_pgrp_alive(int pgid);

/* Every task try spawned by dagctl carries
 * DAGCTL_TRY_ID=<home id>:<run pk>:<try>:<task> in its environment, so a
 * restarted scheduler can find a process that a crash left unrecorded
 * (spawned, but killed before its pid was stored). The home id (the
 * database's own, see dag_store_home_id()) keeps one DAGCTL_HOME's recovery
 * off another's tasks: run pks repeat across homes. */
#define DAG_TRY_ID_ENV "DAGCTL_TRY_ID"

struct dag_try_proc {
  int pid;      /* a process group leader */
  char *try_id; /* the DAGCTL_TRY_ID value; owned */
};

/* Scan /proc for process group leaders carrying DAGCTL_TRY_ID. O(processes);
 * run once at start-up. Free with dag_try_procs_free(). */
void dag_find_try_procs(struct dag_try_proc **out, size_t *n);
void dag_try_procs_free(struct dag_try_proc *p, size_t n);

#endif
