/* bundle.c - a run bundle as a JSON document, and back (see bundle.h). */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bundle.h"
#include "dag.h"
#include "dag_serial.h"
#include "error.h"
#include "ids.h"
#include "priority.h"

/* Limits of what a bundle may hold: far above any real run, low enough that
 * a hostile document cannot make the importer allocate without bound
 * beyond the document's own size. */
#define MAX_TASKS 100000
#define MAX_TRIES 1000000
#define MAX_TRY_NUMBER 100000
#define MAX_XCOM_VALUE 65536 /* as dag_store_xcom_push's callers allow */
#define MAX_KEY 256
#define MAX_TEXT (1u << 20) /* an error message, a conf */
/* The last instant of year 9999, the largest an ISO-8601 text can name. */
#define MAX_TIME INT64_C(253402300799999999)

/* Where the parse is, for the message of the first problem. */
struct parse {
  char *err; /* owned; the first problem */
  char path[160];
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parse *p, const char *fmt, ...) {
  if (p->err) return DAG_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  char *msg = xvasprintf(fmt, ap);
  va_end(ap);
  p->err = xasprintf("%s: %s", p->path, msg);
  free(msg);
  return DAG_EINVAL;
}

/* Set p->path to "BASE.key" or "BASE[i].key" (base "" for the top). */
static void at(struct parse *p, const char *base, long index, const char *key) {
  if (index >= 0)
    snprintf(p->path, sizeof(p->path), "%s[%ld]%s%s", base, index, key ? "." : "",
             key ? key : "");
  else
    snprintf(p->path, sizeof(p->path), "%s%s%s", base, *base && key ? "." : "", key ? key : "");
}

/* Every key of `o` is one of `keys` (NULL-terminated), and each of them is
 * there: the format has no optional field, so a typo or a document of
 * another layout is refused, never half-read. */
static int exact_keys(struct parse *p, json_t *o, const char *base, long index,
                      const char *const *keys) {
  at(p, base, index, NULL);
  if (!json_is_object(o)) return bad(p, "expected an object");
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    size_t i = 0;
    while (keys[i] && strcmp(keys[i], k) != 0) i++;
    if (!keys[i]) {
      at(p, base, index, k);
      return bad(p, "unknown field");
    }
  }
  for (size_t i = 0; keys[i]; i++)
    if (!json_object_get(o, keys[i])) {
      at(p, base, index, keys[i]);
      return bad(p, "missing");
    }
  return 0;
}

/* A string field (nullable: JSON null gives NULL); copies into *out. */
static int get_str(struct parse *p, json_t *o, const char *base, long index, const char *key,
                   bool nullable, size_t max, char **out) {
  json_t *v = json_object_get(o, key);
  at(p, base, index, key);
  if (nullable && json_is_null(v)) {
    *out = NULL;
    return 0;
  }
  if (!json_is_string(v)) return bad(p, nullable ? "expected a string or null" : "expected a string");
  size_t len = json_string_length(v);
  if (len > max) return bad(p, "longer than %zu bytes", max);
  if (memchr(json_string_value(v), '\0', len)) return bad(p, "holds a NUL character");
  *out = xstrdup(json_string_value(v));
  return 0;
}

static int get_id(struct parse *p, json_t *o, const char *base, long index, const char *key,
                  enum dag_id_kind kind, char **out) {
  if (get_str(p, o, base, index, key, false, 1024, out)) return DAG_EINVAL;
  const char *why = dag_id_problem(kind, *out);
  if (why) return bad(p, "invalid id '%s' (%s)", *out, why);
  return 0;
}

static int get_int(struct parse *p, json_t *o, const char *base, long index, const char *key,
                   int64_t min, int64_t max, int64_t *out) {
  json_t *v = json_object_get(o, key);
  at(p, base, index, key);
  if (!json_is_integer(v)) return bad(p, "expected an integer");
  json_int_t x = json_integer_value(v);
  if (x < min || x > max)
    return bad(p, "%lld is out of range (%lld to %lld)", (long long)x, (long long)min,
               (long long)max);
  *out = x;
  return 0;
}

/* A time: integer microseconds since the epoch, or null (0). */
static int get_time(struct parse *p, json_t *o, const char *base, long index, const char *key,
                    bool nullable, dag_time_t *out) {
  json_t *v = json_object_get(o, key);
  at(p, base, index, key);
  if (nullable && json_is_null(v)) {
    *out = 0;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_TIME)
    return bad(p, "expected microseconds since 1970 (an integer, 1 to %lld)%s",
               (long long)MAX_TIME, nullable ? " or null" : "");
  *out = json_integer_value(v);
  return 0;
}

static int get_exit_code(struct parse *p, json_t *o, const char *base, long index, int *code,
                         bool *has) {
  json_t *v = json_object_get(o, "exit_code");
  *has = !json_is_null(v);
  *code = 0;
  if (!*has) return 0;
  int64_t x;
  if (get_int(p, o, base, index, "exit_code", -1024, 1024, &x)) return DAG_EINVAL;
  *code = (int)x;
  return 0;
}

static int get_array(struct parse *p, json_t *doc, const char *key, size_t max, json_t **out) {
  *out = json_object_get(doc, key);
  at(p, "", -1, key);
  if (!json_is_array(*out)) return bad(p, "expected an array");
  if (json_array_size(*out) > max) return bad(p, "more than %zu entries", max);
  return 0;
}

/* --- the parts ---------------------------------------------------------------- */

static const char *const run_keys[] = {"dag_id",      "run_id",     "run_type",
                                       "state",       "logical_date", "data_interval_start",
                                       "data_interval_end", "conf", "queued_at",
                                       "start_date",  "end_date",   NULL};

static int parse_run(struct parse *p, json_t *o, struct dag_store_run *r) {
  if (exact_keys(p, o, "run", -1, run_keys)) return DAG_EINVAL;
  char *state = NULL;
  int rc = get_id(p, o, "run", -1, "dag_id", DAG_ID_DAG, &r->dag_id);
  if (!rc) rc = get_id(p, o, "run", -1, "run_id", DAG_ID_RUN, &r->run_id);
  if (!rc) rc = get_str(p, o, "run", -1, "run_type", false, 32, &r->run_type);
  if (!rc && strcmp(r->run_type, "scheduled") != 0 && strcmp(r->run_type, "manual") != 0 &&
      strcmp(r->run_type, "test") != 0 && strcmp(r->run_type, "dataset_triggered") != 0)
    rc = bad(p, "'%s' is not a run type (scheduled, manual, test, dataset_triggered)",
             r->run_type);
  if (!rc) rc = get_str(p, o, "run", -1, "state", false, 32, &state);
  if (!rc && dag_run_state_parse(state, &r->state) != 0)
    rc = bad(p, "'%s' is not a run state (queued, running, success, failed)", state);
  free(state);
  if (!rc) rc = get_time(p, o, "run", -1, "logical_date", false, &r->logical_date);
  if (!rc) rc = get_time(p, o, "run", -1, "data_interval_start", false, &r->data_interval_start);
  if (!rc) rc = get_time(p, o, "run", -1, "data_interval_end", false, &r->data_interval_end);
  if (!rc) rc = get_time(p, o, "run", -1, "queued_at", false, &r->queued_at);
  if (!rc) rc = get_time(p, o, "run", -1, "start_date", true, &r->start_date);
  if (!rc) rc = get_time(p, o, "run", -1, "end_date", true, &r->end_date);
  if (rc) return rc;
  json_t *conf = json_object_get(o, "conf");
  at(p, "run", -1, "conf");
  if (!json_is_object(conf)) return bad(p, "expected an object");
  r->conf = json_dumps(conf, JSON_COMPACT);
  if (!r->conf) return bad(p, "cannot be written back");
  if (strlen(r->conf) > MAX_TEXT) return bad(p, "longer than %u bytes", MAX_TEXT);
  return 0;
}

static const char *const version_keys[] = {"version_number", "dag_hash", "data", "fileloc",
                                           "source_code", "created_at", NULL};

static int parse_version(struct parse *p, json_t *o, const char *dag_id, struct dag_bundle *b) {
  if (json_is_null(o)) return 0;
  if (exact_keys(p, o, "dag_version", -1, version_keys)) return DAG_EINVAL;
  struct dag_store_version *v = &b->version;
  int64_t number = 0; /* set by get_int() on success; -O3 cannot tell */
  int rc = get_int(p, o, "dag_version", -1, "version_number", 1, 1000000000, &number);
  if (!rc) rc = get_str(p, o, "dag_version", -1, "dag_hash", false, 64, &v->dag_hash);
  if (!rc) rc = get_str(p, o, "dag_version", -1, "data", false, 64u << 20, &v->data);
  if (!rc) rc = get_str(p, o, "dag_version", -1, "fileloc", false, 4096, &v->fileloc);
  if (!rc) rc = get_str(p, o, "dag_version", -1, "source_code", true, 16u << 20, &v->source_code);
  if (!rc) rc = get_time(p, o, "dag_version", -1, "created_at", false, &v->created_at);
  if (rc) return rc;
  v->version_number = (int)number;
  v->dag_id = xstrdup(dag_id);
  b->has_version = true;
  /* The data must be what dagctl itself stores: a serialized DAG of the
   * run's DAG, in its canonical form, with the hash that names it. */
  at(p, "dag_version", -1, "data");
  char *why = NULL;
  if (dag_deserialize(v->data, &b->dag, &why) != 0) {
    rc = bad(p, "not a serialized DAG: %s", why ? why : "unreadable");
    free(why);
    return rc;
  }
  if (strcmp(b->dag->dag_id, dag_id) != 0)
    return bad(p, "is DAG '%s', not the run's DAG '%s'", b->dag->dag_id, dag_id);
  char *again = dag_serialize(b->dag);
  bool canonical = strcmp(again, v->data) == 0;
  free(again);
  if (!canonical) return bad(p, "is not in dagctl's canonical form");
  char hash[DAG_SHA256_HEX_LEN + 1];
  dag_serial_hash(v->data, hash);
  at(p, "dag_version", -1, "dag_hash");
  if (strcmp(hash, v->dag_hash) != 0)
    return bad(p, "'%s' is not the hash of the data (%s)", v->dag_hash, hash);
  return 0;
}

static long ti_index(const struct dag_bundle *b, const char *task_id) {
  for (size_t i = 0; i < b->n_tis; i++)
    if (strcmp(b->tis[i].task_id, task_id) == 0) return (long)i;
  return -1;
}

static int get_task_state(struct parse *p, json_t *o, const char *base, long i,
                          enum dag_task_state *out) {
  char *state = NULL;
  int rc = get_str(p, o, base, i, "state", false, 32, &state);
  if (!rc && dag_task_state_parse(state, out) != 0) rc = bad(p, "'%s' is not a task state", state);
  free(state);
  return rc;
}

static const char *const ti_keys[] = {"task_id", "state", "try_number", "max_tries",
                                      "start_date", "end_date", "exit_code", "error", NULL};

/* What a task instance waited or ran with: keys a bundle has when its
 * home recorded them (pools, migration 0023), absent from older ones. */
static int get_ti_pool(struct parse *p, json_t *o, long li, struct dag_store_ti *t) {
  int64_t x = 0;
  int rc = 0;
  if (json_object_get(o, "pool")) {
    rc = get_str(p, o, "task_instances", li, "pool", false, DAG_POOL_NAME_MAX, &t->pool);
    if (!rc) rc = get_int(p, o, "task_instances", li, "pool_slots", 1, DAG_MAX_POOL_SLOTS, &x);
    t->pool_slots = (int)x;
  }
  if (!rc && json_object_get(o, "priority_weight")) {
    rc = get_int(p, o, "task_instances", li, "priority_weight", INT32_MIN, INT32_MAX, &x);
    t->priority_weight = (int)x;
    t->has_priority_weight = true;
  }
  return rc;
}

static int parse_tis(struct parse *p, json_t *arr, struct dag_bundle *b) {
  size_t n = json_array_size(arr);
  b->tis = xcalloc(n + 1, sizeof(*b->tis));
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    struct dag_store_ti *t = &b->tis[i];
    long li = (long)i;
    /* The optional keys aside, the others are exactly these. */
    json_t *core = json_is_object(o) ? json_copy(o) : json_incref(o);
    if (json_is_object(core)) {
      json_object_del(core, "pool");
      json_object_del(core, "pool_slots");
      json_object_del(core, "priority_weight");
    }
    int bad_keys = exact_keys(p, core, "task_instances", li, ti_keys);
    json_decref(core);
    if (bad_keys) return DAG_EINVAL;
    int64_t x = 0;
    b->n_tis = i + 1; /* freed with the others from here on */
    int rc = get_id(p, o, "task_instances", li, "task_id", DAG_ID_TASK, &t->task_id);
    if (!rc && ti_index(b, t->task_id) != li) rc = bad(p, "task '%s' twice", t->task_id);
    if (!rc && b->dag && dag_find_task(b->dag, t->task_id) < 0)
      rc = bad(p, "the DAG version has no task '%s'", t->task_id);
    if (!rc) rc = get_task_state(p, o, "task_instances", li, &t->state);
    if (!rc) rc = get_int(p, o, "task_instances", li, "try_number", 0, MAX_TRY_NUMBER, &x);
    t->try_number = (int)x;
    if (!rc) rc = get_int(p, o, "task_instances", li, "max_tries", 0, MAX_TRY_NUMBER, &x);
    t->max_tries = (int)x;
    if (!rc) rc = get_time(p, o, "task_instances", li, "start_date", true, &t->start_date);
    if (!rc) rc = get_time(p, o, "task_instances", li, "end_date", true, &t->end_date);
    if (!rc) rc = get_exit_code(p, o, "task_instances", li, &t->exit_code, &t->has_exit_code);
    if (!rc) rc = get_str(p, o, "task_instances", li, "error", true, MAX_TEXT, &t->error);
    if (!rc) rc = get_ti_pool(p, o, li, t);
    if (rc) return rc;
  }
  return 0;
}

/* A log's bytes from {encoding, content}. */
static int parse_log(struct parse *p, json_t *o, long i, struct dag_bundle_log *log) {
  if (json_is_null(o)) return 0;
  static const char *const keys[] = {"encoding", "content", NULL};
  char base[32];
  snprintf(base, sizeof(base), "tries[%ld].log", i);
  if (exact_keys(p, o, base, -1, keys)) return DAG_EINVAL;
  char *enc = NULL;
  int rc = get_str(p, o, base, -1, "encoding", false, 16, &enc);
  bool b64 = !rc && strcmp(enc, "base64") == 0;
  if (!rc && !b64 && strcmp(enc, "utf-8") != 0)
    rc = bad(p, "'%s' is not an encoding (utf-8, base64)", enc);
  free(enc);
  if (rc) return rc;
  json_t *c = json_object_get(o, "content");
  at(p, base, -1, "content");
  if (!json_is_string(c)) return bad(p, "expected a string");
  const char *text = json_string_value(c);
  size_t len = json_string_length(c);
  log->present = true;
  if (!b64) {
    /* A log may hold NUL bytes (\u0000): copied by length. */
    log->data = xcalloc(len + 1, 1);
    memcpy(log->data, text, len);
    log->len = len;
    return 0;
  }
  if (len % 4 != 0 || len > INT32_MAX) return bad(p, "not base64 (length %zu)", len);
  log->data = xcalloc(len / 4 * 3 + 1, 1);
  int n = len ? EVP_DecodeBlock((unsigned char *)log->data, (const unsigned char *)text,
                                (int)len)
              : 0;
  if (n < 0) return bad(p, "not base64");
  /* EVP_DecodeBlock counts the padding as bytes. */
  if (len && text[len - 1] == '=') n--;
  if (len > 1 && text[len - 2] == '=') n--;
  log->len = (size_t)n;
  log->data[n] = '\0';
  return 0;
}

static const char *const try_keys[] = {"task_id", "try_number", "state", "start_date",
                                       "end_date", "exit_code", "error", "usage", "log", NULL};

/* What the try cost: null when not recorded. */
static int parse_usage(struct parse *p, json_t *o, long i, struct dag_store_usage *u) {
  if (json_is_null(o)) return 0;
  static const char *const keys[] = {"max_rss_kb", "cpu_user_us", "cpu_system_us", "wall_us",
                                     NULL};
  /* 100 years of microseconds, a petabyte of kilobytes: past anything real. */
  static const int64_t max = INT64_C(3155760000000000);
  char base[32];
  snprintf(base, sizeof(base), "tries[%ld].usage", i);
  if (exact_keys(p, o, base, -1, keys)) return DAG_EINVAL;
  int rc = get_int(p, o, base, -1, "max_rss_kb", 0, max, &u->max_rss_kb);
  if (!rc) rc = get_int(p, o, base, -1, "cpu_user_us", 0, max, &u->user_us);
  if (!rc) rc = get_int(p, o, base, -1, "cpu_system_us", 0, max, &u->sys_us);
  if (!rc) rc = get_int(p, o, base, -1, "wall_us", 0, max, &u->wall_us);
  u->known = rc == 0;
  return rc;
}

static int parse_tries(struct parse *p, json_t *arr, struct dag_bundle *b) {
  size_t n = json_array_size(arr);
  b->tries = xcalloc(n + 1, sizeof(*b->tries));
  b->logs = xcalloc(n + 1, sizeof(*b->logs));
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    struct dag_store_try *t = &b->tries[i];
    long li = (long)i;
    if (exact_keys(p, o, "tries", li, try_keys)) return DAG_EINVAL;
    int64_t x = 0;
    b->n_tries = i + 1;
    int rc = get_id(p, o, "tries", li, "task_id", DAG_ID_TASK, &t->task_id);
    if (!rc && ti_index(b, t->task_id) < 0)
      rc = bad(p, "no task instance '%s' in task_instances", t->task_id);
    if (!rc) rc = get_int(p, o, "tries", li, "try_number", 1, MAX_TRY_NUMBER, &x);
    t->try_number = (int)x;
    for (size_t k = 0; !rc && k < i; k++)
      if (b->tries[k].try_number == t->try_number && strcmp(b->tries[k].task_id, t->task_id) == 0)
        rc = bad(p, "try %d of task '%s' twice", t->try_number, t->task_id);
    if (!rc) rc = get_task_state(p, o, "tries", li, &t->state);
    if (!rc) rc = get_time(p, o, "tries", li, "start_date", false, &t->start_date);
    if (!rc) rc = get_time(p, o, "tries", li, "end_date", true, &t->end_date);
    if (!rc) rc = get_exit_code(p, o, "tries", li, &t->exit_code, &t->has_exit_code);
    if (!rc) rc = get_str(p, o, "tries", li, "error", true, MAX_TEXT, &t->error);
    if (!rc) rc = parse_usage(p, json_object_get(o, "usage"), li, &t->usage);
    if (!rc) rc = parse_log(p, json_object_get(o, "log"), li, &b->logs[i]);
    if (rc) return rc;
  }
  return 0;
}

static int parse_xcom(struct parse *p, json_t *arr, struct dag_bundle *b) {
  static const char *const keys[] = {"task_id", "key", "value", NULL};
  size_t n = json_array_size(arr);
  b->xcom = xcalloc(n + 1, sizeof(*b->xcom));
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    struct dag_store_xcom *x = &b->xcom[i];
    long li = (long)i;
    if (exact_keys(p, o, "xcom", li, keys)) return DAG_EINVAL;
    b->n_xcom = i + 1;
    int rc = get_id(p, o, "xcom", li, "task_id", DAG_ID_TASK, &x->task_id);
    if (!rc && ti_index(b, x->task_id) < 0)
      rc = bad(p, "no task instance '%s' in task_instances", x->task_id);
    if (!rc) rc = get_str(p, o, "xcom", li, "key", false, MAX_KEY, &x->key);
    if (!rc && !*x->key) rc = bad(p, "empty");
    for (size_t k = 0; !rc && k < i; k++)
      if (strcmp(b->xcom[k].task_id, x->task_id) == 0 && strcmp(b->xcom[k].key, x->key) == 0)
        rc = bad(p, "key '%s' of task '%s' twice", x->key, x->task_id);
    if (rc) return rc;
    at(p, "xcom", li, "value");
    x->value = json_dumps(json_object_get(o, "value"), JSON_COMPACT | JSON_ENCODE_ANY);
    if (!x->value) return bad(p, "cannot be written back");
    if (strlen(x->value) > MAX_XCOM_VALUE) return bad(p, "longer than %d bytes", MAX_XCOM_VALUE);
  }
  return 0;
}

static const char *const doc_keys[] = {"format",         "format_version", "dagctl_version",
                                       "exported_at",    "run",            "dag_version",
                                       "task_instances", "tries",          "xcom",
                                       NULL};

int dag_bundle_parse(const char *text, size_t len, struct dag_bundle *out, char **err) {
  memset(out, 0, sizeof(*out));
  *err = NULL;
  if (len > DAG_BUNDLE_MAX_BYTES) {
    *err = xasprintf("larger than %u bytes", DAG_BUNDLE_MAX_BYTES);
    return DAG_EINVAL;
  }
  json_error_t je;
  json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!doc) {
    *err = xasprintf("%d:%d: %s", je.line, je.column, je.text);
    return DAG_EINVAL;
  }
  struct parse p = {0};
  int rc = exact_keys(&p, doc, "", -1, doc_keys);
  char *s = NULL;
  if (!rc) rc = get_str(&p, doc, "", -1, "format", false, 64, &s);
  if (!rc && strcmp(s, DAG_BUNDLE_FORMAT) != 0)
    rc = bad(&p, "'%s' is not a dagctl run bundle", s);
  free(s);
  int64_t version = 0;
  if (!rc) rc = get_int(&p, doc, "", -1, "format_version", 1, 1000000, &version);
  if (!rc && version != DAG_BUNDLE_FORMAT_VERSION)
    rc = bad(&p, "version %lld; this dagctl reads version %d", (long long)version,
             DAG_BUNDLE_FORMAT_VERSION);
  s = NULL;
  if (!rc) rc = get_str(&p, doc, "", -1, "dagctl_version", false, 64, &s);
  free(s);
  if (!rc) rc = get_time(&p, doc, "", -1, "exported_at", false, &out->exported_at);
  if (!rc) rc = parse_run(&p, json_object_get(doc, "run"), &out->run);
  if (!rc) rc = parse_version(&p, json_object_get(doc, "dag_version"), out->run.dag_id, out);
  json_t *arr;
  if (!rc && !(rc = get_array(&p, doc, "task_instances", MAX_TASKS, &arr)))
    rc = parse_tis(&p, arr, out);
  if (!rc && !(rc = get_array(&p, doc, "tries", MAX_TRIES, &arr))) rc = parse_tries(&p, arr, out);
  if (!rc && !(rc = get_array(&p, doc, "xcom", MAX_TRIES, &arr))) rc = parse_xcom(&p, arr, out);
  json_decref(doc);
  if (rc) {
    *err = p.err ? p.err : xstrdup("unreadable");
    dag_bundle_free(out);
    return DAG_EINVAL;
  }
  return 0;
}

/* --- writing -------------------------------------------------------------------- */

static json_t *time_json(dag_time_t t) { return t ? json_integer(t) : json_null(); }
static json_t *str_json(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *log_json(const struct dag_bundle_log *log) {
  if (!log->present) return json_null();
  /* Text as text when it is UTF-8 (jansson refuses it otherwise). */
  json_t *text = json_stringn(log->data ? log->data : "", log->len);
  if (text) return json_pack("{s:s, s:o}", "encoding", "utf-8", "content", text);
  size_t cap = (log->len + 2) / 3 * 4 + 1;
  unsigned char *b64 = xcalloc(cap, 1);
  EVP_EncodeBlock(b64, (const unsigned char *)log->data, (int)log->len);
  json_t *o = json_pack("{s:s, s:s}", "encoding", "base64", "content", (char *)b64);
  free(b64);
  return o;
}

json_t *dag_bundle_to_json(const struct dag_bundle *b) {
  const struct dag_store_run *r = &b->run;
  json_t *conf = json_loads(r->conf ? r->conf : "{}", 0, NULL);
  if (!json_is_object(conf)) {
    json_decref(conf);
    conf = json_object();
  }
  json_t *run = json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:o, s:o}", "dag_id", r->dag_id, "run_id",
      r->run_id, "run_type", r->run_type, "state", dag_run_state_name(r->state), "logical_date",
      (json_int_t)r->logical_date, "data_interval_start", (json_int_t)r->data_interval_start,
      "data_interval_end", (json_int_t)r->data_interval_end, "conf", conf, "queued_at",
      (json_int_t)r->queued_at, "start_date", time_json(r->start_date), "end_date",
      time_json(r->end_date));
  json_t *version = json_null();
  if (b->has_version) {
    const struct dag_store_version *v = &b->version;
    version = json_pack("{s:i, s:s, s:s, s:s, s:o, s:I}", "version_number", v->version_number,
                        "dag_hash", v->dag_hash, "data", v->data, "fileloc", v->fileloc,
                        "source_code", str_json(v->source_code), "created_at",
                        (json_int_t)v->created_at);
  }
  json_t *tis = json_array();
  for (size_t i = 0; i < b->n_tis; i++) {
    const struct dag_store_ti *t = &b->tis[i];
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "task_id", t->task_id,
                          "state", dag_task_state_name(t->state), "try_number", t->try_number,
                          "max_tries", t->max_tries, "start_date", time_json(t->start_date),
                          "end_date", time_json(t->end_date), "exit_code",
                          t->has_exit_code ? json_integer(t->exit_code) : json_null(), "error",
                          str_json(t->error));
    /* Written only when recorded (a task instance that was scheduled). */
    if (t->pool) {
      json_object_set_new(o, "pool", json_string(t->pool));
      json_object_set_new(o, "pool_slots", json_integer(t->pool_slots));
    }
    if (t->has_priority_weight)
      json_object_set_new(o, "priority_weight", json_integer(t->priority_weight));
    json_array_append_new(tis, o);
  }
  json_t *tries = json_array();
  for (size_t i = 0; i < b->n_tries; i++) {
    const struct dag_store_try *t = &b->tries[i];
    const struct dag_store_usage *u = &t->usage;
    json_t *usage = u->known ? json_pack("{s:I, s:I, s:I, s:I}", "max_rss_kb",
                                         (json_int_t)u->max_rss_kb, "cpu_user_us",
                                         (json_int_t)u->user_us, "cpu_system_us",
                                         (json_int_t)u->sys_us, "wall_us",
                                         (json_int_t)u->wall_us)
                             : json_null();
    json_array_append_new(
        tries, json_pack("{s:s, s:i, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "task_id",
                         t->task_id, "try_number", t->try_number, "state",
                         dag_task_state_name(t->state), "start_date", (json_int_t)t->start_date,
                         "end_date", time_json(t->end_date), "exit_code",
                         t->has_exit_code ? json_integer(t->exit_code) : json_null(), "error",
                         str_json(t->error), "usage", usage, "log", log_json(&b->logs[i])));
  }
  json_t *xcom = json_array();
  for (size_t i = 0; i < b->n_xcom; i++) {
    json_t *value = json_loads(b->xcom[i].value, JSON_DECODE_ANY, NULL);
    json_array_append_new(xcom, json_pack("{s:s, s:s, s:o}", "task_id", b->xcom[i].task_id,
                                          "key", b->xcom[i].key,
                                          "value", value ? value : json_null()));
  }
  return json_pack("{s:s, s:i, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "format", DAG_BUNDLE_FORMAT,
                   "format_version", DAG_BUNDLE_FORMAT_VERSION, "dagctl_version",
                   DAGCTL_VERSION, "exported_at", (json_int_t)b->exported_at, "run", run,
                   "dag_version", version, "task_instances", tis, "tries", tries, "xcom", xcom);
}

void dag_bundle_free(struct dag_bundle *b) {
  dag_store_run_free(&b->run);
  dag_store_version_free(&b->version);
  dag_free(b->dag);
  dag_store_tis_free(b->tis, b->n_tis);
  dag_store_tries_free(b->tries, b->n_tries);
  for (size_t i = 0; b->logs && i < b->n_tries; i++) free(b->logs[i].data);
  free(b->logs);
  dag_store_xcoms_free(b->xcom, b->n_xcom);
  memset(b, 0, sizeof(*b));
}
