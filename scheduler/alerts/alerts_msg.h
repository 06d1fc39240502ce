/* alerts_msg.h - the words of an alert email.
 *
 * Two stages. When an alert is queued (inside the scheduler's transaction)
 * dag_alert_compose() turns the facts of a failure into a subject and a
 * plain-text body, with the log's tail and every known secret masked; both
 * are stored in the outbox. When it is sent, dag_alert_format_message()
 * wraps them in an RFC 5322 message: headers, MIME, CRLF line ends, the
 * subject RFC 2047-encoded when it is not ASCII. Nothing here does network
 * I/O; dag_alert_log_tail() reads one file. */
#ifndef DAG_ALERTS_MSG_H
#define DAG_ALERTS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "state.h"
#include "store.h"

/* How many log lines an alert quotes, and how far back from the end of the
 * file it looks for them. */
#define DAG_ALERT_LOG_LINES 50
#define DAG_ALERT_LOG_WINDOW (64 * 1024)
/* A quoted log line is cut here (after masking, so a cut never leaves
 * half a secret behind). */
#define DAG_ALERT_LOG_LINE_MAX 500

/* --- secrets ------------------------------------------------------------------ */

/* Values never to be mailed: those of the scheduler's environment variables
 * whose names look secret, and any added by name (the SMTP password). */
struct dag_alert_masker {
  char **secrets; /* owned, longest first */
  size_t n, cap;
};

/* True for names containing PASSWORD, PASSWD, SECRET, TOKEN, KEY or
 * CREDENTIAL, in any case. */
bool dag_alert_secret_name(const char *name);

/* Collect the secret-looking variables of `envp` (NULL-terminated, may be
 * NULL). Values shorter than 4 bytes, numbers and true/false/yes/no/on/off
 * are skipped: masking them would garble every message. */
void dag_alert_masker_init(struct dag_alert_masker *m, char *const *envp);
/* Copies `secret`; NULL and values shorter than 4 bytes are ignored. */
void dag_alert_masker_add(struct dag_alert_masker *m, const char *secret);
void dag_alert_masker_free(struct dag_alert_masker *m);

/* `s` with every secret of `m` and of the logger (dag_log_mask) replaced
 * by "***". Caller frees. */
char *dag_alert_mask(const struct dag_alert_masker *m, const char *s);

/* --- composing ---------------------------------------------------------------- */

/* The tail of a task's log, fit for a mail: at most DAG_ALERT_LOG_LINES
 * whole lines from the last DAG_ALERT_LOG_WINDOW bytes, as valid UTF-8
 * (bad bytes become U+FFFD), terminal escape sequences removed, other
 * control characters but tab replaced, secrets masked, each line cut at
 * DAG_ALERT_LOG_LINE_MAX bytes. Lines end with LF. *out is "" for an empty
 * file; caller frees. Returns 0 or -errno (the file cannot be read). */
int dag_alert_log_tail(const char *path, const struct dag_alert_masker *m, char **out);

/* A task that did not succeed, for the run-failed summary. */
struct dag_alert_task_line {
  const char *task_id;
  enum dag_task_state state;
  int try_number;
  int tries; /* tries allowed in all (retries + 1) */
  const char *error; /* NULL or why */
};

/* Everything an alert says. Strings are borrowed; NULL means unknown. */
struct dag_alert_facts {
  enum dag_alert_kind kind;
  const char *dag_id;
  const char *run_id;
  dag_time_t logical_date;
  const char *url; /* the status page of the task (or run) */
  /* task_failed, task_retry */
  const char *task_id;
  int try_number;
  int tries;           /* tries allowed in all (retries + 1) */
  const char *result;  /* "exited with status 1", "timed out after 5m", ... */
  dag_time_t start, end;
  dag_time_t next_try_at; /* task_retry: when the next try starts */
  const char *log_name;   /* the log's path under DAGCTL_HOME/logs */
  const char *log_tail;   /* from dag_alert_log_tail(); NULL: no log */
  /* run_failed; deadline_missed (the tasks not finished yet) */
  dag_time_t run_start, run_end;
  const struct dag_alert_task_line *tasks;
  size_t n_tasks;
  /* deadline_missed */
  dag_time_t deadline;         /* when the run should have finished */
  const char *deadline_after;  /* "logical_date" or "queued_at" */
  int64_t deadline_within_us;
  dag_time_t queued_at;
  const char *run_state;       /* "queued" or "running" */
};

/* Subject ("[dagctl] FAILED dag.task (try 2/3)", "[dagctl] RETRY ...",
 * "[dagctl] RUN FAILED dag (run id)", "[dagctl] DEADLINE MISSED dag (run
 * id)") and body (LF line ends), both masked
 * with `m`. Caller frees both. */
void dag_alert_compose(const struct dag_alert_facts *f, const struct dag_alert_masker *m,
                       char **subject, char **body);

/* The status page: base + "/dags/DAG/runs/RUN/tasks/TASK/tries/N" for a
 * task's try, base + "/dags/DAG?run=RUN" for a run (task_id NULL), each id
 * percent-encoded. Caller frees. */
char *dag_alert_url(const char *base, const char *dag_id, const char *run_id,
                    const char *task_id, int try_number);

/* --- the RFC 5322 message ------------------------------------------------------- */

/* True for a bare address (local@domain) that can go into RCPT TO and a
 * header as is: no spaces, control characters, quotes, brackets or
 * separators. The DAG loader only checks for an '@'; a quoted YAML string
 * could still carry a CR LF, which must never reach a header. */
bool dag_alert_address_ok(const char *addr);

struct dag_alert_envelope {
  const char *from;          /* a bare address */
  const char *const *to;     /* bare addresses */
  size_t n_to;
  const char *const *cc;     /* bare addresses, or NULL (n_cc 0): no Cc header */
  size_t n_cc;
  dag_time_t date;           /* when the alert was queued */
  const char *message_id;    /* "<...>", from dag_alert_message_id() */
  const char *subject;       /* UTF-8 */
  const char *body;          /* UTF-8, any line ends */
};

/* "<dagctl.alert.ID.CREATED@DOMAIN>", DOMAIN taken from `from`: stable
 * across retries, so a receiver can drop a duplicate. Caller frees. */
char *dag_alert_message_id(int64_t id, dag_time_t created_at, const char *from);

/* The Subject header's value, folded and RFC 2047-encoded (UTF-8, base64
 * encoded-words of at most 75 characters, never splitting a character)
 * when it holds anything but printable ASCII. Starts after "Subject: ".
 * Caller frees. */
char *dag_alert_subject_header(const char *subject);

/* The whole message: Date, From, To, Cc (if any), Message-ID, Subject, MIME-Version,
 * Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding (7bit,
 * or quoted-printable when the body is not ASCII or has a line over 998
 * bytes), Auto-Submitted, a blank line, the body. Every line ends with CRLF.
 * Dot-stuffing is left to the SMTP library. Caller frees. */
char *dag_alert_format_message(const struct dag_alert_envelope *e);

#endif
