/* xcom_file.c - the file a shell or exec task writes its XCom values to
 * (see xcom_file.h). Its content is the task's: anything may be in it. */
#include "xcom_file.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  *err = xvasprintf(fmt, ap);
  va_end(ap);
  return DAG_EINVAL;
}

int dag_xcom_key_ok(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > DAG_XCOM_KEY_MAX) return 0;
  for (const char *p = key; *p; p++)
    if (*p < 0x21 || *p > 0x7e || *p == '=') return 0;
  return 1;
}

/* The size of `v` as the store keeps it. */
static size_t json_size(const json_t *v) {
  return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int check_value(const char *key, const json_t *v, long line, char **err) {
  size_t n = json_size(v);
  if (n > DAG_XCOM_VALUE_MAX) {
    if (line > 0)
      return fail(err, "line %ld: the value of '%s' is %zu bytes as JSON, over the limit of %d",
                  line, key, n, DAG_XCOM_VALUE_MAX);
    return fail(err, "the value of '%s' is %zu bytes as JSON, over the limit of %d", key, n,
                DAG_XCOM_VALUE_MAX);
  }
  return 0;
}

static int parse_object(const char *buf, size_t len, json_t **out, char **err) {
  json_error_t je;
  json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) return fail(err, "line %d, column %d: %s", je.line, je.column, je.text);
  if (!json_is_object(o)) {
    json_decref(o);
    return fail(err, "a JSON XCom file must hold one object ({\"key\": value, ...})");
  }
  if (json_object_size(o) > DAG_XCOM_MAX_KEYS) {
    size_t n = json_object_size(o);
    json_decref(o);
    return fail(err, "%zu keys, over the limit of %d", n, DAG_XCOM_MAX_KEYS);
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    int rc = 0;
    if (!dag_xcom_key_ok(key))
      rc = fail(err, "key '%.64s' is not a valid XCom key (1 to %d printable characters, no "
                "spaces, no '=')", key, DAG_XCOM_KEY_MAX);
    if (rc == 0) rc = check_value(key, v, 0, err);
    if (rc) {
      json_decref(o);
      return rc;
    }
  }
  *out = o;
  return 0;
}

static int parse_lines(const char *buf, size_t len, json_t **out, char **err) {
  json_t *o = json_object();
  const char *p = buf, *end = buf + len;
  long line = 0;
  while (p < end) {
    line++;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    const char *next = nl ? nl + 1 : end;
    if (e > p && e[-1] == '\r') e--;
    size_t n = (size_t)(e - p);
    if (n == 0 || *p == '#') {
      p = next;
      continue;
    }
    const char *eq = memchr(p, '=', n);
    int rc = 0;
    if (memchr(p, '\0', n)) {
      rc = fail(err, "line %ld: holds a NUL byte", line);
    } else if (!eq) {
      rc = fail(err, "line %ld: expected key=value (or one JSON object for the whole file)",
                line);
    } else {
      char *key = xstrndup(p, (size_t)(eq - p));
      json_t *v = json_stringn(eq + 1, (size_t)(e - eq - 1));
      if (!dag_xcom_key_ok(key))
        rc = fail(err, "line %ld: key '%.64s' is not a valid XCom key (1 to %d printable "
                  "characters, no spaces, no '=')", line, key, DAG_XCOM_KEY_MAX);
      else if (!v)
        rc = fail(err, "line %ld: the value of '%s' is not valid UTF-8", line, key);
      else if ((rc = check_value(key, v, line, err)) == 0 && !json_object_get(o, key) &&
               json_object_size(o) == DAG_XCOM_MAX_KEYS)
        rc = fail(err, "line %ld: more than %d keys", line, DAG_XCOM_MAX_KEYS);
      if (rc == 0) {
        json_object_set_new(o, key, v);
        v = NULL;
      }
      json_decref(v);
      free(key);
    }
    if (rc) {
      json_decref(o);
      return rc;
    }
    p = next;
  }
  *out = o;
  return 0;
}

int dag_xcom_file_parse(const char *buf, size_t len, json_t **out, char **err) {
  *out = NULL;
  *err = NULL;
  if (len > DAG_XCOM_FILE_MAX)
    return fail(err, "the file is %zu bytes, over the limit of %d", len, DAG_XCOM_FILE_MAX);
  size_t i = 0;
  while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
    i++;
  if (i < len && buf[i] == '{') return parse_object(buf, len, out, err);
  return parse_lines(buf, len, out, err);
}

#define OURS "[dagctl] "
#define OURS_END "[dagctl] try "

int dag_xcom_last_line(const char *buf, size_t len, char **out, char **err) {
  *out = NULL;
  *err = NULL;
  const char *end = buf + len;
  bool last = true; /* the log's last line: where the try's end may be glued */
  while (end > buf) {
    const char *e = end;
    if (e[-1] == '\n') e--;
    const char *b = e;
    while (b > buf && b[-1] != '\n')
      b--;
    const char *next_end = b;
    size_t n = (size_t)(e - b);
    if (last && n > strlen(OURS_END)) {
      /* Output without a final newline has the try's end line after it. */
      for (const char *q = b + 1; q + strlen(OURS_END) <= e; q++) {
        if (memcmp(q, OURS_END, strlen(OURS_END)) == 0) {
          e = q;
          n = (size_t)(e - b);
          break;
        }
      }
    }
    last = false;
    bool ours = (size_t)(e - b) >= strlen(OURS) && memcmp(b, OURS, strlen(OURS)) == 0;
    if (!ours) {
      while (e > b && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--; /* Python's rstrip(), as Airflow's hook strips each line */
      n = (size_t)(e - b);
      if (n > DAG_XCOM_VALUE_MAX)
        return fail(err, "the last line of output is %zu bytes, over the limit of %d", n,
                    DAG_XCOM_VALUE_MAX);
      json_t *v = json_stringn(b, n);
      if (!v) return fail(err, "the last line of output is not valid UTF-8");
      json_decref(v);
      *out = xstrndup(b, n);
      return 0;
    }
    end = next_end;
  }
  *out = xstrdup("");
  return 0;
}
