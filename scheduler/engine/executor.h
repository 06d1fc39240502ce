/* executor.h - run one task try under its supervisor, on the loop.
 *
 * Each try runs under a supervisor of its own, dagctl-supervise
 * (supervise/supervise.c), which the executor starts in a new session: the
 * supervisor starts the task in a process group of its own and stays its
 * parent. It applies the execution timeout (SIGTERM to the group, SIGKILL
 * after the grace period), stops whatever the task left running when its
 * first process exits, and writes the try's outcome to a status file. So a
 * try outlives the scheduler that started it, and a later scheduler learns
 * how it ended: it adopts the supervisor (dag_proc_adopt()) or, if it is
 * gone, reads its status file.
 *
 * The task's stdin is /dev/null; stdout and stderr both go to the try's log
 * file; no other descriptor of dagctl's reaches it (but pass_fd, as fd 3).
 *
 * A try reaches a supervisor started ahead of need (struct dag_proc_pool)
 * in two steps: dag_proc_spawn() takes the supervisor (its pid is known),
 * dag_proc_start() hands it the try. The scheduler records the try with
 * that pid in between, so that no try ever runs unrecorded: a scheduler
 * killed before the hand-over leaves a supervisor that gets the end of file
 * without a try and ends without a status file, which says that its task
 * never started (see dag_proc.unstarted).
 *
 * Memory: the executor allocates the dag_proc and frees it when exit_cb
 * returns, or after dag_proc_release(); the caller's pointer is valid until
 * then. exit_cb runs exactly once per successful dag_proc_spawn() or
 * dag_proc_adopt(), after every handle is closed, unless dag_proc_release()
 * is called first. If spawning or adopting fails, exit_cb never runs and
 * nothing is left to free.
 *
 * Supervisors are watched through pidfds (Linux 5.3): an exit costs O(1).
 * Without them (valgrind, older kernels) it falls back to SIGCHLD, and to a
 * 100 ms poll for adopted supervisors. */
#ifndef DAG_EXECUTOR_H
#define DAG_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct dag_proc;

/* exit_status is the process's exit code, or -1 when it died of a signal
 * (term_signal). timed_out: killed because execution_timeout passed. When
 * p->lost is set, the supervisor ended without recording the task's end
 * (killed itself): exit_status is -1 and term_signal the supervisor's. When
 * p->unstarted is set, the task never started: exit_status is -1. */
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
  int pass_fd;            /* > 2: given to the task as its fd 3; 0: none */
  const char *supervisor; /* dagctl-supervise, absolute (dag_supervisor_path()) */
  const char *status_path; /* absolute: where the supervisor writes the outcome */
  const char *log_header;  /* written to the log before the task starts; NULL: none */
  struct dag_proc_pool *pool; /* the supervisor server; NULL: none */
};

/* The supervisor server ("dagctl-supervise --server", supervise.c), exec'd
 * once, on the first try that uses it. It fork()s each try's supervisor
 * ahead of need (no exec on the way from one task to the next), answering
 * with its pid, start time, a pidfd and the socket it waits on:
 * dag_proc_spawn() takes it and asks for the next one, dag_proc_start()
 * sends the try on its socket. The supervisor reports the try's end on the
 * same socket as soon as the task and all it left are gone: exit_cb runs on
 * that message, before the supervisor has written its status file or
 * exited. The try's supervisor is not our child: without the message (it
 * died) it is watched as an adopted one is, and it outlives the server and
 * us. Plugin tasks (pass_fd) take the
 * usual way. Zero-initialise it; the caller owns it and ends it with
 * dag_proc_pool_close() (the server and the supervisor waiting exit; the
 * tries run on). */
struct dag_proc_pool {
  int pid;          /* the server's; 0: none yet */
  int fd;           /* our end of its socket */
  bool asked;       /* a supervisor asked for, the answer not read yet */
  int next_pid;     /* the supervisor waiting for a try; 0: none */
  int64_t next_start;
  int next_fd;      /* our end of its socket */
  int next_pidfd;   /* < 0: none */
  /* Set before the first try: the tries end with their owner. When the
   * process that owns the pool dies, its server exits (the end of its
   * socket) and each supervisor it forked gets SIGTERM and stops its try,
   * rather than run on for a later adoption: for `dagctl worker`, whose
   * tries nobody else can report. */
  bool tied;
};
void dag_proc_pool_close(struct dag_proc_pool *pool);

/* What the try used, from its status file (all its processes together);
 * zero when unknown. */
struct dag_proc_usage {
  int64_t maxrss_kb; /* largest resident set of one process */
  int64_t user_us, sys_us;
  int64_t wall_us;   /* the supervisor's start to the try's end */
};

/* How a dag_proc learns that its try has ended. */
enum dag_proc_how {
  DAG_PROC_REPORT,  /* `report` polls a served supervisor's socket: its message */
  DAG_PROC_PIDFD,   /* `watch` polls its pidfd */
  DAG_PROC_SIGCHLD, /* no pidfds (valgrind, Linux < 5.3): `child_signal`, a child */
  DAG_PROC_POLL,    /* no pidfds, adopted: `later` looks every 100 ms */
  DAG_PROC_DONE,    /* adopted after its end: `later` delivers it */
};

struct dag_proc {
  /* One of these is in use, after `how`. */
  uv_poll_t report;          /* a served supervisor's socket: its message, or its end */
  uv_poll_t watch;           /* the supervisor's pidfd: readable once it has exited */
  uv_signal_t child_signal;
  uv_timer_t later;
  int pid;           /* the supervisor's: signal it, never the task */
  int64_t pid_start; /* its start time from /proc, to recognise it later */
  void *data;        /* the caller's */
  bool lost;         /* see dag_proc_exit_cb */
  /* The supervisor ended without a status file (it writes one before it
   * starts the task), and it did not get its try from this process: an
   * adopted supervisor whose scheduler died before the hand-over, or one
   * that dag_proc_start() could not reach. Its try can run again as the
   * same try. */
  bool unstarted;
  struct dag_proc_usage usage;
  /* private */
  dag_proc_exit_cb exit_cb;
  char *status_path;
  bool handed;       /* its supervisor has its try (from us, whole) */
  int handover_fd;   /* a served supervisor's socket (its try, its report); < 0: none */
  char *request;     /* the try to send on it (request_len bytes), until dag_proc_start() */
  size_t request_len;
  char msg[512];     /* its report */
  enum dag_proc_how how;
  int pidfd;         /* < 0: none */
  bool child;        /* spawned by us: reaped with waitpid() */
  bool terminating;
  bool released;
  int64_t exit_status;
  int term_signal;
  bool timed_out;
};

/* Give the try a supervisor; *out is the new dag_proc (its `data` set to
 * `data`), with the supervisor's pid and start time. A supervisor started
 * ahead of need (spec->pool) has not got the try yet: dag_proc_start()
 * hands it over. Any other has it and runs it already. Returns 0, or a
 * negative errno/UV_E* code (the log file cannot be opened, the program
 * does not exist or is not executable, the supervisor cannot start, ...). */
int dag_proc_spawn(uv_loop_t *loop, const struct dag_proc_spec *spec,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out);

/* Hand the try to its supervisor, once the caller has recorded it (a no-op
 * when it has it). Returns 0, or a negative errno code when the supervisor
 * is gone: exit_cb then comes with p->unstarted. Never blocks for long: the
 * try fits in the pipe's buffer unless its environment is huge. */
int dag_proc_start(struct dag_proc *p);

/* Ask the try to stop: SIGTERM to its supervisor, which sends SIGTERM to the
 * task's process group and SIGKILL after the grace period; a supervisor yet
 * to get its try gets the end of file instead, and its task never starts.
 * Idempotent. */
void dag_proc_terminate(struct dag_proc *p);

/* Stop watching the try and leave it running: its supervisor records its
 * end for a later dag_proc_adopt() (one yet to get its try gets the end of
 * file, and ends without a status file). exit_cb never runs; p is freed
 * from the loop. For a scheduler that stops while its tasks run on. */
void dag_proc_release(struct dag_proc *p);

/* Watch a try started by an earlier scheduler: its supervisor `pid`, with
 * start time `pid_start`, writes `status_path`. Returns 0 with *out set
 * when the supervisor still runs (exit_cb runs when it ends) or has ended
 * with a status file (exit_cb runs from the loop soon, with that outcome);
 * -ESRCH when it has ended without one (or pid is 0): its task never
 * started; -ENODATA when it has ended after starting its task without
 * recording the outcome (it was killed); -ENOTSUP when the process is alive
 * but no supervisor (an older dagctl's task). */
int dag_proc_adopt(uv_loop_t *loop, int pid, int64_t pid_start, const char *status_path,
                   dag_proc_exit_cb exit_cb, void *data, struct dag_proc **out);

/* dagctl-supervise beside the running binary (/proc/self/exe), in *out
 * (caller frees). */
int dag_supervisor_path(char **out);

/* True if `pid` runs dagctl-supervise (by its command name). */
bool dag_pid_is_supervisor(int pid);

/* The status file a supervisor writes (text, one "key value" per line),
 * first as "dagctl-status 1" and "started 1" before it starts the task (so
 * that a try whose supervisor left no status file at all never started),
 * then replaced by the outcome when the try has ended:
 *   dagctl-status 1
 *   exit N        the task's exit code, -1 if a signal ended it
 *   signal N      that signal, else 0
 *   timed_out 0|1
 *   maxrss_kb N, user_us N, sys_us N, wall_us N   (dag_proc_usage)
 * Unknown keys are ignored, so it may grow. Returns 0, -ENOENT when there is
 * none or it is empty (the scheduler may make it ahead, empty: the same as
 * none), -EINVAL when it is not one or has no outcome yet. A served
 * supervisor sends the same text to the scheduler first. */
int dag_proc_read_status(const char *path, int64_t *exit_status, int *term_signal,
                         bool *timed_out, struct dag_proc_usage *usage);

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
  int pid;         /* a process group leader */
  bool supervisor; /* ... that is a try's supervisor, not its task */
  char *try_id;    /* the DAGCTL_TRY_ID value; owned */
};

/* Scan /proc for process group leaders carrying DAGCTL_TRY_ID. O(processes);
 * run once at start-up. Free with dag_try_procs_free(). */
void dag_find_try_procs(struct dag_try_proc **out, size_t *n);
void dag_try_procs_free(struct dag_try_proc *p, size_t n);

#endif
