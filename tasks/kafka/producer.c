/* producer.c - the generate_events task: N listening events into a topic.
 *
 * Events fill the run's day (ds, UTC) up to its logical date or data
 * interval's end, whichever is later, and never lie past now.
 *
 * Params: count (200), topic (spotify-plays), users (50), seed (any text;
 * default: the task instance's identity, so every run differs and a retry
 * of the same run re-sends the very same events), compression (lz4),
 * delivery_timeout (60s), log_events (true up to 10,000 events).
 *
 * The task succeeds only if the cluster acknowledged every message (acks=all,
 * idempotent producer). What was sent is on record twice: with log_events,
 * one DEBUG line per event, "delivered event_id=... partition=P offset=O",
 * written when its acknowledgement arrives; and always the xcom values
 * count, topic, partitions ({"0":n,...}), first_event_id, last_event_id
 * and event_ids_sha256, the SHA-256 of the sorted event ids each followed
 * by "\n" (what `sort | sha256sum` prints for the id list). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "alloc.h"
#include "events.h"
#include "kafka_tasks.h"
#include "kconf.h"
#include "strbuf.h"

#define DEFAULT_TOPIC "spotify-plays"
#define MAX_EVENTS 10000000LL
#define LOG_EVENTS_UP_TO 10000

struct producer {
  const struct dagctl_host *h; /* first: kconf's log callback finds it here */
  const struct ev_event *events;
  bool log_events;
  size_t acked, failed;
  rd_kafka_resp_err_t first_error;
  size_t *per_partition; /* acknowledged messages by partition */
  int32_t n_partitions;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct producer *p = opaque;
  const struct ev_event *e = &p->events[(uintptr_t)m->_private];
  if (m->err) {
    if (p->failed++ == 0) {
      p->first_error = m->err;
      p->h->log(p->h, DAGCTL_LOG_ERROR, "delivery failed event_id=%s error=%s",
                e->event_id, rd_kafka_err2str(m->err));
    }
    return;
  }
  p->acked++;
  if (m->partition >= p->n_partitions) {
    size_t old = (size_t)p->n_partitions;
    p->n_partitions = m->partition + 1;
    p->per_partition = xrealloc(p->per_partition, (size_t)p->n_partitions * sizeof(size_t));
    memset(p->per_partition + old, 0, ((size_t)p->n_partitions - old) * sizeof(size_t));
  }
  p->per_partition[m->partition]++;
  if (p->log_events)
    p->h->log(p->h, DAGCTL_LOG_DEBUG, "delivered event_id=%s partition=%d offset=%lld",
              e->event_id, (int)m->partition, (long long)m->offset);
}

/* The identity of this task instance: runs differ, tries of one run agree. */
static char *default_seed(const struct dagctl_host *h) {
  const char *dag = h->context(h, "dag_id"), *run = h->context(h, "run_id"),
             *task = h->context(h, "task_id");
  return xasprintf("%s\n%s\n%s", dag ? dag : "", run ? run : "", task ? task : "");
}

/* An id with the first 16 hex digits as a number: comparing those numbers
 * orders ids as strcmp() would ('0'-'9' sort before 'a'-'f' in ASCII), at
 * a fraction of the cost for a million ids. */
struct id_key {
  uint64_t key;
  const char *id;
};

static uint64_t id_prefix(const char *id) {
  uint64_t k = 0;
  int digits = 0;
  for (const char *p = id; *p && digits < 16; p++) {
    char c = *p;
    if (c == '-') continue;
    k = k << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    digits++;
  }
  return k << (4 * (16 - digits));
}

static int cmp_ids(const void *a, const void *b) {
  const struct id_key *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return strcmp(x->id, y->id);
}

static void ids_digest(const struct ev_event *ev, size_t n, char hex[65]) {
  struct id_key *ids = xmalloc((n ? n : 1) * sizeof(*ids));
  for (size_t i = 0; i < n; i++) {
    ids[i].id = ev[i].event_id;
    ids[i].key = id_prefix(ev[i].event_id);
  }
  qsort(ids, n, sizeof(*ids), cmp_ids);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) abort(); /* out of memory: the project's policy */
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  for (size_t i = 0; i < n; i++) {
    EVP_DigestUpdate(ctx, ids[i].id, EV_UUID_LEN);
    EVP_DigestUpdate(ctx, "\n", 1);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx, md, &md_len);
  EVP_MD_CTX_free(ctx);
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  free(ids);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hand every event to librdkafka, waiting for room when its queue is full.
 * Returns -1 if cancelled or refused. */
static int produce_all(struct producer *p, rd_kafka_t *rk, const char *topic,
                       const struct ev_gen *g, size_t n) {
  const struct dagctl_host *h = p->h;
  char json[EV_JSON_MAX], user[16];
  for (size_t i = 0; i < n; i++) {
    const struct ev_event *e = &p->events[i];
    size_t len = ev_format(g, e, json);
    ev_user_id(e->user, user);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(user, strlen(user)),
          RD_KAFKA_V_VALUE(json, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        h->log(h, DAGCTL_LOG_ERROR, "cannot produce event_id=%s topic=%s error=%s",
               e->event_id, topic, rd_kafka_err2str(err));
        return -1;
      }
      rd_kafka_poll(rk, 10); /* serves delivery reports, making room */
      if (h->cancelled(h)) return -1;
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  return 0;
}

static void push_results(const struct dagctl_host *h, const struct producer *p,
                         const char *topic, size_t n, double secs) {
  char hex[65] = "";
  ids_digest(p->events, n, hex);
  struct strbuf parts = STRBUF_INIT, logparts = STRBUF_INIT;
  sb_appendc(&parts, '{');
  for (int32_t i = 0; i < p->n_partitions; i++) {
    sb_appendf(&parts, "%s\"%d\":%zu", i ? "," : "", (int)i, p->per_partition[i]);
    sb_appendf(&logparts, "%s%d:%zu", i ? "," : "", (int)i, p->per_partition[i]);
  }
  sb_appendc(&parts, '}');
  const char *first = n ? p->events[0].event_id : "";
  const char *last = n ? p->events[n - 1].event_id : "";
  h->log(h, DAGCTL_LOG_INFO,
         "produced count=%zu topic=%s partitions=%s first_event_id=%s last_event_id=%s "
         "event_ids_sha256=%s seconds=%.3f events_per_s=%.0f",
         n, topic, sb_str(&logparts), first, last, hex, secs, secs > 0 ? (double)n / secs : 0);

  char *v = xasprintf("%zu", n);
  h->xcom_push(h, "count", v);
  free(v);
  v = xasprintf("\"%s\"", topic); /* topic names are [A-Za-z0-9._-]: no escaping */
  h->xcom_push(h, "topic", v);
  free(v);
  h->xcom_push(h, "partitions", sb_str(&parts));
  v = xasprintf("\"%s\"", first);
  h->xcom_push(h, "first_event_id", v);
  free(v);
  v = xasprintf("\"%s\"", last);
  h->xcom_push(h, "last_event_id", v);
  free(v);
  v = xasprintf("\"%s\"", hex);
  h->xcom_push(h, "event_ids_sha256", v);
  free(v);
  sb_free(&parts);
  sb_free(&logparts);
}

static int valid_topic(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > 249) return 0;
  return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

enum dagctl_result kafka_generate_events(const struct dagctl_host *h) {
  long long count, users;
  int64_t timeout_ms;
  bool log_events;
  const char *topic = kconf_param_str(h, "topic", DEFAULT_TOPIC);
  const char *compression = kconf_param_str(h, "compression", "lz4");
  if (kconf_param_int(h, "count", 200, 0, MAX_EVENTS, &count) < 0 ||
      kconf_param_int(h, "users", 50, 1, 9999, &users) < 0 ||
      kconf_param_duration_ms(h, "delivery_timeout", 60000, &timeout_ms) < 0 ||
      kconf_param_bool(h, "log_events", count <= LOG_EVENTS_UP_TO, &log_events) < 0)
    return DAGCTL_FAILED;
  if (!valid_topic(topic)) {
    h->log(h, DAGCTL_LOG_ERROR, "param topic: '%s' is not a Kafka topic name "
                                "(letters, digits, '.', '_', '-')", topic);
    return DAGCTL_FAILED;
  }
  const char *ds = h->context(h, "ds");
  int64_t day;
  if (ds == NULL || ev_parse_day(ds, &day) != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "the run's ds is not a date: '%s'", ds ? ds : "(none)");
    return DAGCTL_FAILED;
  }
  /* Events never lie in the future: they fill the run's day up to its
   * logical date or data interval's end, whichever is later (a daily run
   * covers its whole day, a manual one the day up to its trigger), and
   * never past now. Fixed per run, so a retry resends the same events. */
  int64_t not_after = (int64_t)time(NULL), run_end = INT64_MIN, t;
  const char *when[] = {h->context(h, "logical_date"), h->context(h, "data_interval_end")};
  for (size_t i = 0; i < 2; i++)
    if (when[i] && ev_parse_instant(when[i], &t) == 0 && t > run_end) run_end = t;
  if (run_end != INT64_MIN && run_end < not_after) not_after = run_end;
  if (not_after < day) {
    h->log(h, DAGCTL_LOG_ERROR, "the run's day %s has not begun yet: its events would lie in "
                                "the future", ds);
    return DAGCTL_FAILED;
  }
  const char *seed_text = h->param(h, "seed");
  char *identity = seed_text ? NULL : default_seed(h);
  uint64_t seed = ev_seed_from_text(seed_text ? seed_text : identity);
  free(identity);

  bool embedded;
  rd_kafka_conf_t *conf = kconf_new(h, &embedded);
  if (conf == NULL) return DAGCTL_FAILED;
  char tmo[32];
  snprintf(tmo, sizeof(tmo), "%lld", (long long)timeout_ms);
  /* Idempotence implies acks=all; spelled out because it is the contract. */
  if (kconf_set(h, conf, "enable.idempotence", "true") < 0 ||
      kconf_set(h, conf, "acks", "all") < 0 ||
      kconf_set(h, conf, "compression.codec", compression) < 0 ||
      kconf_set(h, conf, "message.timeout.ms", tmo) < 0 ||
      kconf_set(h, conf, "linger.ms", "5") < 0) {
    rd_kafka_conf_destroy(conf);
    return DAGCTL_FAILED;
  }

  struct ev_gen g;
  ev_gen_init(&g, seed, (int)users, day);
  ev_gen_set_end(&g, not_after);
  struct ev_event *events = ev_generate(&g, (size_t)count);
  struct producer p = {.h = h, .events = events, .log_events = log_events};
  rd_kafka_conf_set_opaque(conf, &p);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);

  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "kafka: cannot create a producer: %s", errstr);
    rd_kafka_conf_destroy(conf);
    free(events);
    ev_gen_free(&g);
    return DAGCTL_FAILED;
  }
  kconf_log_to_queue(rk);
  h->log(h, DAGCTL_LOG_INFO, "producing count=%lld topic=%s users=%lld ds=%s seed=%s", count,
         topic, users, ds, seed_text ? seed_text : "(run identity)");

  double t0 = now_s();
  int rc = produce_all(&p, rk, topic, &g, (size_t)count);
  /* Wait for every acknowledgement; the delivery timeout bounds it. */
  while (rd_kafka_outq_len(rk) > 0) {
    rd_kafka_poll(rk, 100);
    if (h->cancelled(h)) {
      h->log(h, DAGCTL_LOG_WARN, "cancelled with messages in flight count=%d",
             rd_kafka_outq_len(rk));
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk, 0);
      rc = -1;
      break;
    }
  }
  double secs = now_s() - t0;

  enum dagctl_result result = DAGCTL_OK;
  if (rc != 0 || p.failed || p.acked != (size_t)count) {
    h->log(h, DAGCTL_LOG_ERROR,
           "not every event was acknowledged count=%lld acked=%zu failed=%zu first_error=%s",
           count, p.acked, p.failed,
           p.failed ? rd_kafka_err2str(p.first_error) : (rc ? "cancelled" : "none"));
    result = DAGCTL_FAILED;
  } else {
    push_results(h, &p, topic, (size_t)count, secs);
  }
  rd_kafka_destroy(rk);
  free(p.per_partition);
  free(events);
  ev_gen_free(&g);
  return result;
}
