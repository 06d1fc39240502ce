/* conn.h - a connection to an outside system (Airflow's Connection): its
 * fields, and its URI form.
 *
 * URI form, as Airflow's:
 *   TYPE://[LOGIN[:PASSWORD]@]HOST[:PORT][/SCHEMA][?KEY=VALUE&...]
 * e.g. postgresql://etl:s3cret@db.example:5432/warehouse?sslmode=require.
 * TYPE becomes conn_type with '-' as '_' ("postgresql" is Airflow's
 * "postgres"); LOGIN, PASSWORD, HOST and SCHEMA are percent-decoded; the
 * query becomes the extra, a JSON object of strings (a `__extra__`
 * parameter instead holds the whole extra as JSON text). */
#ifndef DAG_CONN_H
#define DAG_CONN_H

#include <stdbool.h>

/* Every string is owned (NULL: not set); free with dag_conn_clear(). */
struct dag_conn {
  char *conn_id;
  char *conn_type;
  char *description;
  char *host;
  char *schema;
  char *login;
  char *password;
  int port;    /* 0: none */
  char *extra; /* JSON text of an object, or NULL */
};

void dag_conn_clear(struct dag_conn *c);

/* Parse `uri` into `out` (conn_id left NULL). 0, or DAG_EINVAL with *err
 * naming the part that is wrong (caller frees; never quotes a password). */
int dag_conn_parse_uri(const char *uri, struct dag_conn *out, char **err);

/* A name for a connection or a variable: 1 to 250 of [A-Za-z0-9_.-],
 * beginning with a letter, a digit or '_'. NULL when valid, else a static
 * reason. (Templates reach names of [A-Za-z0-9_] only: '.' separates.) */
const char *dag_conn_name_problem(const char *name);

/* Is `extra` NULL, or the JSON text of an object? NULL when fine, else a
 * static reason. */
const char *dag_conn_extra_problem(const char *extra);

/* The connection as a template sees it ({{ conn.NAME.FIELD }}): a new JSON
 * object of conn_id, conn_type, host, login, password, schema, port (null
 * when unset) and extra (the object; {} when unset), and, as Airflow's
 * Connection has, extra_dejson. Returns a new reference (a json_t *). */
struct json_t;
struct json_t *dag_conn_json(const struct dag_conn *c);

#endif
