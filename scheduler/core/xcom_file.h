/* xcom_file.h - what a shell or exec task hands its downstream tasks.
 *
 * The scheduler names a file per try in $DAGCTL_XCOM; the task writes into
 * it either one JSON object ({"rows": 42, "files": ["a", "b"]}) or lines
 * `key=value` (`rows=42`: the value is kept as the string "42"; blank lines
 * and lines starting with '#' are ignored; a later key wins). Each entry
 * becomes an XCom value of the try, stored once the try succeeds.
 *
 * Limits, each refused with a message naming the line: the file at most
 * DAG_XCOM_FILE_MAX bytes, at most DAG_XCOM_MAX_KEYS keys, a key of 1 to
 * DAG_XCOM_KEY_MAX bytes of printable ASCII without '=', a value at most
 * DAG_XCOM_VALUE_MAX bytes once written as JSON (what the store keeps). */
#ifndef DAG_XCOM_FILE_H
#define DAG_XCOM_FILE_H

#include <jansson.h>
#include <stddef.h>

#define DAG_XCOM_FILE_MAX (1024 * 1024)
#define DAG_XCOM_MAX_KEYS 256
#define DAG_XCOM_KEY_MAX 256
#define DAG_XCOM_VALUE_MAX (64 * 1024)

/* Airflow's key for a task's result (BashOperator's last line). */
#define DAG_XCOM_RETURN_KEY "return_value"

/* Parse the file's `len` bytes (need not be NUL-terminated). Returns 0 and
 * a new object {key: value} in *out (caller decrefs; empty for an empty
 * file), or DAG_EINVAL with a message in *err (caller frees), such as
 * "line 3: expected key=value". */
int dag_xcom_file_parse(const char *buf, size_t len, json_t **out, char **err);

/* Whether `key` may name an XCom value (the rule above). */
int dag_xcom_key_ok(const char *key);

/* The last line of a task's output, as BashOperator pushes it: `buf` holds
 * the end of the try's log; lines dagctl itself wrote there ("[dagctl] ..."
 * at the start of a line, or the try's end glued after output that did not
 * end with a newline) are not the task's. Returns 0 and a new string (caller
 * frees; "" when the task printed nothing), or DAG_EINVAL with *err set when
 * the line is longer than DAG_XCOM_VALUE_MAX or not valid UTF-8. */
int dag_xcom_last_line(const char *buf, size_t len, char **out, char **err);

#endif
