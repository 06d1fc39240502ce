/* store_listen.c - the listening side of the wake-ups between processes on
 * PostgreSQL (store.h, "wake-ups"): a connection of its own, apart from the
 * store's, that LISTENs on the channels and is read without blocking when
 * its socket says so. The sending side is store_notify() (store.c), which
 * NOTIFYs in the sender's transaction.
 *
 * Keepalives: a cut link leaves a TCP socket silent, never readable; the
 * kernel's keepalive probes turn that into an error within seconds (the
 * URL's own keepalive settings win). */
#include "pq_lazy.h"
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "strbuf.h"
#include "store_int.h"

struct dag_store_listener {
  char *url;      /* owned: the store's URL, which holds no password */
  char *password; /* owned, wiped when freed; NULL: libpq's own sources */
  unsigned channels;
  PGconn *conn;   /* NULL: not connected */
  char *error;    /* owned; the last failure, password masked */
};

static const struct {
  unsigned bit;
  const char *name;
} channels[] = {
    {DAG_STORE_WAKE_WORKERS, "dagctl_workers"},
    {DAG_STORE_WAKE_SCHEDULERS, "dagctl_schedulers"},
};

int dag_store_listener_new(dag_store *st, unsigned ch, struct dag_store_listener **out) {
  *out = NULL;
  if (st->be->kind != DAG_STORE_POSTGRESQL) return DAG_EINVAL;
  struct dag_store_listener *l = xcalloc(1, sizeof(*l));
  l->url = xstrdup(st->where);
  const char *pw = store_pg_password(st);
  l->password = pw ? xstrdup(pw) : NULL;
  l->channels = ch;
  *out = l;
  return 0;
}

/* The failure of the connection, with every occurrence of the password
 * replaced (libpq's messages can quote the connection string). */
static void keep_error(struct dag_store_listener *l, const char *what) {
  const char *msg = l->conn ? PQerrorMessage(l->conn) : "out of memory";
  struct strbuf b = STRBUF_INIT;
  sb_appendf(&b, "%s: ", what);
  size_t n = l->password ? strlen(l->password) : 0;
  for (const char *p = msg; *p;) {
    if (n && strncmp(p, l->password, n) == 0) {
      sb_append(&b, "***");
      p += n;
    } else if (*p == '\n') {
      sb_appendc(&b, ' ');
      p++;
    } else {
      sb_appendc(&b, *p++);
    }
  }
  free(l->error);
  l->error = sb_detach(&b);
}

void dag_store_listener_disconnect(struct dag_store_listener *l) {
  if (l->conn) PQfinish(l->conn);
  l->conn = NULL;
}

int dag_store_listener_connect(struct dag_store_listener *l) {
  dag_store_listener_disconnect(l);
  /* Keepalives first: a later key wins, so the URL's own settings do. */
  const char *keys[] = {"keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname", "password", "application_name",
                        "connect_timeout", NULL};
  const char *vals[] = {"1", "5", "2", "3", l->url, l->password, "dagctl listener", "10",
                        NULL};
  l->conn = PQconnectdbParams(keys, vals, 1);
  if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
    keep_error(l, "cannot connect");
    dag_store_listener_disconnect(l);
    return DAG_ESTORE;
  }
  struct strbuf sql = STRBUF_INIT;
  for (size_t i = 0; i < DAG_ARRAY_SIZE(channels); i++)
    if (l->channels & channels[i].bit) sb_appendf(&sql, "LISTEN %s;", channels[i].name);
  PGresult *r = PQexec(l->conn, sb_str(&sql));
  sb_free(&sql);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    keep_error(l, "cannot LISTEN");
    dag_store_listener_disconnect(l);
    return DAG_ESTORE;
  }
  return 0;
}

int dag_store_listener_fd(const struct dag_store_listener *l) {
  return l->conn ? PQsocket(l->conn) : -1;
}

int dag_store_listener_read(struct dag_store_listener *l, dag_store *self, unsigned *out) {
  *out = 0;
  if (!l->conn) return DAG_ESTORE;
  if (!PQconsumeInput(l->conn) || PQstatus(l->conn) == CONNECTION_BAD) {
    keep_error(l, "connection lost");
    return DAG_ESTORE;
  }
  int own = self && self->be->kind == DAG_STORE_POSTGRESQL ? store_pg_backend_pid(self) : 0;
  PGnotify *n;
  while ((n = PQnotifies(l->conn)) != NULL) {
    if (n->be_pid != own || own == 0)
      for (size_t i = 0; i < DAG_ARRAY_SIZE(channels); i++)
        if (strcmp(n->relname, channels[i].name) == 0) *out |= channels[i].bit;
    PQfreemem(n);
  }
  return 0;
}

const char *dag_store_listener_error(const struct dag_store_listener *l) {
  return l->error ? l->error : "not connected";
}

void dag_store_listener_free(struct dag_store_listener *l) {
  if (!l) return;
  dag_store_listener_disconnect(l);
  if (l->password) {
    memset(l->password, 0, strlen(l->password));
    free(l->password);
  }
  free(l->url);
  free(l->error);
  free(l);
}
