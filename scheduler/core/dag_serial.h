/* dag_serial.h - a DAG as stored in the database: one JSON document holding
 * every field of struct dag, and the version id that names that content.
 *
 * The serialized form is what the scheduler records when it loads a file and
 * what everything else (the CLI, the web server, a restarted scheduler
 * resuming a run, later a worker on another machine) turns back into a
 * struct dag instead of parsing YAML again, so that a run keeps the graph it
 * started with whatever happens to the file. Airflow's serialized DAG.
 *
 * The form is canonical (compact, keys sorted): equal DAGs give equal
 * bytes, hence equal hashes, which is how identical content keeps one
 * version. */
#ifndef DAG_DAG_SERIAL_H
#define DAG_DAG_SERIAL_H

#include "dag.h"
#include "sha256.h"

/* Bumped when the document's layout changes; a document of another format
 * is refused (DAG_EINVAL), never half-read. */
#define DAG_SERIAL_FORMAT 1

/* The canonical JSON text of `dag` (caller frees). */
char *dag_serialize(const struct dag *dag);

/* The DAG from a text made by dag_serialize(). Returns 0 and *out (caller
 * frees with dag_free()), or DAG_EINVAL with a sentence in *err naming the
 * field (caller frees) when the text is not such a document. */
int dag_deserialize(const char *text, struct dag **out, char **err);

/* The version id of a serialized text: the SHA-256 of its bytes in hex. */
void dag_serial_hash(const char *text, char hash[DAG_SHA256_HEX_LEN + 1]);

#endif
