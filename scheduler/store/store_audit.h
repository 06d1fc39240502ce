/* store_audit.h - the audit log (migration 0010_audit): every change, who
 * made it, from where, on what, and how it went. Entries are only ever
 * added; no function here changes or deletes one, and the database
 * refuses it (triggers). */
#ifndef DAG_STORE_AUDIT_H
#define DAG_STORE_AUDIT_H

#include "store.h"

struct dag_audit_entry {
  int64_t id;
  dag_time_t at;
  char *username; /* NULL: nobody logged in */
  char *client;   /* an address, or "cli" */
  char *event;
  char *dag_id, *run_id, *task_id, *object; /* NULL when not about one */
  char *outcome;  /* "success" | "failure" */
  char *extra;    /* NULL, or why it failed */
};

/* Add `e` (e->id ignored; strings borrowed), as part of the caller's
 * transaction if one is open. */
int dag_store_audit_add(dag_store *st, const struct dag_audit_entry *e);
/* Entries oldest first, of `username` (NULL: all) at or after `since` (0:
 * all), from `offset`, at most `limit`; *total counts all that match.
 * Caller frees with dag_store_audit_free(). */
int dag_store_audit_list(dag_store *st, const char *username, dag_time_t since, int64_t limit,
                         int64_t offset, struct dag_audit_entry **out, size_t *n,
                         int64_t *total);
void dag_store_audit_free(struct dag_audit_entry *e, size_t n);

#endif
