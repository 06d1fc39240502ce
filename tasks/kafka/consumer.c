/* consumer.c - the kafka_consumer service task: a topic into the lake.
 *
 * Params: topic (spotify-plays), group_id ("dagctl-" + dag_id), batch_size
 * (100 messages), batch_interval (60s), flush_at_end (false: also write a
 * partition's batch once the partition is read to its end), gzip (false),
 * prefix (raw_events), dead_letter_prefix (dead_letter), session_timeout
 * (3s on the embedded cluster, else librdkafka's 45s), writers (4: lake
 * objects of a batch written in parallel), join_group (true, except on the
 * embedded cluster).
 *
 * A service: it calls service_ready() once it has its partitions, then
 * runs until cancelled() (SIGTERM from a stop_service task or the run's
 * end). Then it reads on to the end of its partitions (for at most 1.5 s),
 * flushes what it holds, commits, leaves the group and returns DAGCTL_OK:
 * stopping right after the producer finished still lands every event in
 * the lake.
 *
 * Partitions come from the group protocol (subscribe), or, with join_group
 * false, by assigning every partition of the topic directly, resuming from
 * the group's committed offsets and committing to them as a group member
 * would. The embedded cluster defaults to the latter: librdkafka 2.0's
 * mock broker holds a first join for a fixed 3 s (its
 * group.initial.rebalance.delay.ms, not configurable there), the longest
 * step of a pipeline run. Without the group protocol nothing splits the
 * partitions among members, so a direct consumer takes a lock per group in
 * the home folder (HOME/kafka-group-HASH.lock): a second consumer of the
 * same group waits for the first to stop instead of reading the same
 * events again.
 *
 * Delivery is at-least-once: a batch's objects are written (lake_put is
 * atomic) before its offsets are committed, and nothing else commits
 * (enable.auto.commit=false). A crash between the two replays the batch
 * from the last commit; its objects are named by offsets (batch.h), so the
 * replay overwrites them. A commit refused because the group is
 * rebalancing is kept and retried after the rebalance; if the partition
 * moved meanwhile, its new owner replays and overwrites the same way. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "batch.h"
#include "duration.h"
#include "kafka_tasks.h"
#include "kconf.h"
#include "lake.h"
#include "strbuf.h"

#define DEFAULT_TOPIC "spotify-plays"
/* A stopping consumer first reads to the end of its partitions, then
 * retries its last commits; both bounded so that the whole stop fits in the
 * scheduler's kill grace (core.task_kill_grace, 5 s by default). */
#define STOP_CATCHUP_MS 1500
#define STOP_COMMIT_MS 2000
#define COMMIT_RETRY_MS 200
#define MAX_WRITERS 16
/* How often a direct consumer looks again for its topic or its group's lock. */
#define DIRECT_RETRY_MS 100

struct part {
  struct bt_batch batch;
  bool assigned;
  bool at_end;     /* read up to the partition's end, nothing newer since */
  int64_t next;    /* offset of the next message to read, or -1 before the first */
  int64_t stop_at; /* a stop reads up to here: the end offset when it began, or -1 */
  int64_t pending; /* offset whose commit is still owed, or -1 */
};

struct consumer {
  const struct dagctl_host *h; /* first: kconf's log callback finds it here */
  char cluster_tag[9];         /* see set_cluster_tag() */
  rd_kafka_t *rk;
  struct lake *lakes[MAX_WRITERS]; /* one per writer thread */
  int n_lakes;
  const char *topic;
  struct bt_options opts;
  long long batch_size;
  int64_t interval_ms;
  bool flush_at_end; /* write a batch as soon as its partition is read to the end */
  bool direct;       /* partitions assigned directly, not by the group protocol */
  int lock_fd;       /* the group's lock while direct, else -1 */
  struct part *parts; /* indexed by partition number */
  int32_t n_parts;
  bool assigned_once;
  bool failed; /* the lake refused a write: stop, commit nothing more */
  uint64_t last_retry_ms;
  uint64_t last_due_ms;
  size_t events, dead, objects;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct part *part_of(struct consumer *c, int32_t partition) {
  if (partition < 0) return NULL;
  if (partition >= c->n_parts) {
    int32_t n = partition + 1;
    c->parts = xrealloc(c->parts, (size_t)n * sizeof(*c->parts));
    for (int32_t i = c->n_parts; i < n; i++) {
      bt_batch_init(&c->parts[i].batch, c->topic, i);
      c->parts[i].assigned = false;
      c->parts[i].at_end = false;
      c->parts[i].next = -1;
      c->parts[i].stop_at = -1;
      c->parts[i].pending = -1;
    }
    c->n_parts = n;
  }
  return &c->parts[partition];
}

/* --- committing ---------------------------------------------------------- */

static bool retriable(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
  case RD_KAFKA_RESP_ERR__WAIT_COORD:
  case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
  case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
  case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
  case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TIMED_OUT:
  case RD_KAFKA_RESP_ERR__TRANSPORT: return true;
  default: return false;
  }
}

/* Commit `offset` (the next message to read) for `partition`, or leave it
 * pending when the group is busy. Returns 0 once committed. */
static int commit(struct consumer *c, int32_t partition, int64_t offset) {
  const struct dagctl_host *h = c->h;
  struct part *pt = part_of(c, partition);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = offset;
  rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, 0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err) err = l->elems[0].err;
  rd_kafka_topic_partition_list_destroy(l);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    pt->pending = -1;
    h->log(h, DAGCTL_LOG_DEBUG, "committed topic=%s partition=%d offset=%lld", c->topic,
           (int)partition, (long long)offset);
    return 0;
  }
  if (retriable(err)) {
    if (pt->pending < 0)
      h->log(h, DAGCTL_LOG_INFO, "commit deferred topic=%s partition=%d offset=%lld error=%s",
             c->topic, (int)partition, (long long)offset, rd_kafka_err2name(err));
    if (offset > pt->pending) pt->pending = offset;
    return -1;
  }
  if (c->direct && err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
    /* The broker knows the group from members that joined it: it takes
     * commits only from them now. Nothing more is committed; what was
     * written is read again by the next consumer, as after a crash. */
    h->log(h, DAGCTL_LOG_ERROR,
           "commit refused: the group has members that joined it on this cluster "
           "(join_group: true); use another group_id or join_group: true here "
           "topic=%s partition=%d offset=%lld error=%s",
           c->topic, (int)partition, (long long)offset, rd_kafka_err2name(err));
    c->failed = true;
    pt->pending = -1;
    return -1;
  }
  /* The member lost its generation (session timeout, fenced): the group
   * has moved on and the partition's next owner replays from the last
   * commit, overwriting the same objects. */
  h->log(h, DAGCTL_LOG_WARN,
         "commit refused; the batch will be replayed topic=%s partition=%d offset=%lld "
         "error=%s",
         c->topic, (int)partition, (long long)offset, rd_kafka_err2name(err));
  pt->pending = -1;
  return -1;
}

static void retry_pending(struct consumer *c, uint64_t now) {
  if (now - c->last_retry_ms < COMMIT_RETRY_MS) return;
  c->last_retry_ms = now;
  for (int32_t i = 0; i < c->n_parts; i++)
    if (c->parts[i].pending >= 0 && c->parts[i].assigned) commit(c, i, c->parts[i].pending);
}

/* --- flushing ------------------------------------------------------------ */

struct put_job {
  struct lake *lake;
  const struct bt_object *objs;
  size_t n, first, step; /* objects first, first + step, ... */
  int rc;
  size_t failed_at;
  char *err;
};

static void *put_worker(void *arg) {
  struct put_job *j = arg;
  for (size_t i = j->first; i < j->n; i += j->step) {
    j->rc = lake_put(j->lake, j->objs[i].key, j->objs[i].data, j->objs[i].len, &j->err);
    if (j->rc != 0) {
      j->failed_at = i;
      break;
    }
  }
  return NULL;
}

/* Write every object, side by side on the writer threads' own lake handles:
 * a local put waits on two fsyncs and an S3 put on a round trip, so most of
 * a flush is waiting, and waits overlap. Returns only when all are done;
 * on failure, the first error (*err, caller frees) and its object. */
static int put_all(struct consumer *c, const struct bt_object *objs, size_t n,
                   size_t *failed_at, char **err) {
  *err = NULL;
  if (n == 0) return 0;
  size_t k = (size_t)c->n_lakes < n ? (size_t)c->n_lakes : n;
  struct put_job jobs[MAX_WRITERS] = {0};
  pthread_t tids[MAX_WRITERS];
  bool started[MAX_WRITERS] = {false};
  for (size_t t = 0; t < k; t++)
    jobs[t] = (struct put_job){.lake = c->lakes[t], .objs = objs, .n = n, .first = t, .step = k};
  for (size_t t = 1; t < k; t++)
    started[t] = pthread_create(&tids[t], NULL, put_worker, &jobs[t]) == 0;
  put_worker(&jobs[0]);
  for (size_t t = 1; t < k; t++) {
    if (started[t])
      pthread_join(tids[t], NULL);
    else
      put_worker(&jobs[t]); /* no thread to be had: write them here */
  }
  int rc = 0;
  for (size_t t = 0; t < k; t++) {
    if (jobs[t].rc != 0 && rc == 0) {
      rc = jobs[t].rc;
      *failed_at = jobs[t].failed_at;
      *err = jobs[t].err;
    } else {
      free(jobs[t].err);
    }
  }
  return rc;
}

/* Write the partition's batch to the lake, then commit past it. Returns 0,
 * or -1 if the lake refused (the batch stays uncommitted, so it is read
 * again by whoever consumes the partition next). */
static int flush(struct consumer *c, int32_t partition) {
  const struct dagctl_host *h = c->h;
  struct part *pt = part_of(c, partition);
  struct bt_batch *b = &pt->batch;
  if (b->n_messages == 0) return 0;
  struct bt_object *objs;
  size_t n;
  if (bt_batch_objects(b, &c->opts, &objs, &n) != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "cannot compress a batch topic=%s partition=%d", c->topic,
           (int)partition);
    c->failed = true;
    return -1;
  }
  size_t bad = 0;
  char *err = NULL;
  if (put_all(c, objs, n, &bad, &err) != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "lake write failed key=%s error=%s", objs[bad].key,
           err ? err : "unknown");
    free(err);
    bt_objects_free(objs, n);
    c->failed = true;
    return -1;
  }
  struct strbuf keys = STRBUF_INIT;
  for (size_t i = 0; i < n; i++)
    sb_appendf(&keys, "%s%s", i ? "," : "", objs[i].key);
  size_t events = b->n_items;
  c->events += events;
  c->dead += b->n_dead;
  c->objects += n;
  if (b->n_dead)
    h->log(h, DAGCTL_LOG_WARN, "dead letters written topic=%s partition=%d count=%zu",
           c->topic, (int)partition, b->n_dead);
  h->log(h, DAGCTL_LOG_INFO,
         "batch written topic=%s partition=%d first=%lld last=%lld events=%zu dead=%zu "
         "objects=%zu keys=%s",
         c->topic, (int)partition, (long long)b->first, (long long)b->last, events, b->n_dead,
         n, sb_str(&keys));
  sb_free(&keys);
  bt_objects_free(objs, n);
  int64_t next = b->last + 1;
  bt_batch_reset(b);
  commit(c, partition, next);
  return 0;
}

static void flush_due(struct consumer *c, uint64_t now) {
  /* Scanning every partition per message would cost O(partitions); the
   * interval is seconds, so a look every 10 ms is as good. */
  if (now - c->last_due_ms < 10) return;
  c->last_due_ms = now;
  for (int32_t i = 0; i < c->n_parts && !c->failed; i++) {
    const struct bt_batch *b = &c->parts[i].batch;
    if (b->n_messages && now - b->opened_ms >= (uint64_t)c->interval_ms) flush(c, i);
  }
}

/* --- the group ----------------------------------------------------------- */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  struct consumer *c = opaque;
  const struct dagctl_host *h = c->h;
  struct strbuf sb = STRBUF_INIT;
  for (int i = 0; i < parts->cnt; i++)
    sb_appendf(&sb, "%s%d", i ? "," : "", (int)parts->elems[i].partition);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; i++) {
      if (strcmp(parts->elems[i].topic, c->topic) != 0) continue;
      struct part *pt = part_of(c, parts->elems[i].partition);
      /* Whatever an earlier assignment left is not ours to write now. */
      bt_batch_reset(&pt->batch);
      pt->assigned = true;
      pt->at_end = false;
      pt->next = -1;
      pt->pending = -1;
    }
    h->log(h, DAGCTL_LOG_INFO, "partitions assigned topic=%s partitions=%s", c->topic,
           parts->cnt ? sb_str(&sb) : "(none)");
    rd_kafka_assign(rk, parts);
    c->assigned_once = true;
  } else {
    /* Revoked (or an error): hand over cleanly. What is buffered is written
     * and committed now, or left uncommitted for the next owner. */
    for (int i = 0; i < parts->cnt; i++) {
      if (strcmp(parts->elems[i].topic, c->topic) != 0) continue;
      int32_t p = parts->elems[i].partition;
      struct part *pt = part_of(c, p);
      if (!c->failed) flush(c, p);
      if (pt->pending >= 0) commit(c, p, pt->pending);
      bt_batch_reset(&pt->batch);
      pt->assigned = false;
      pt->pending = -1;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      h->log(h, DAGCTL_LOG_INFO, "partitions revoked topic=%s partitions=%s", c->topic,
             parts->cnt ? sb_str(&sb) : "(none)");
    else
      h->log(h, DAGCTL_LOG_WARN, "rebalance error=%s", rd_kafka_err2str(err));
    rd_kafka_assign(rk, NULL);
  }
  sb_free(&sb);
}

static void on_message(struct consumer *c, rd_kafka_message_t *m, uint64_t now) {
  const struct dagctl_host *h = c->h;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    struct part *pt = part_of(c, m->partition);
    if (pt) {
      pt->at_end = true;
      pt->next = m->offset;
    }
    h->log(h, DAGCTL_LOG_DEBUG, "caught up topic=%s partition=%d offset=%lld", c->topic,
           (int)m->partition, (long long)m->offset);
    /* Everything the producers had written to this partition is in the
     * batch: waiting for batch_interval would only delay it. */
    if (c->flush_at_end && pt && pt->assigned && pt->batch.n_messages && !c->failed)
      flush(c, m->partition);
    return;
  }
  if (m->err) {
    h->log(h, DAGCTL_LOG_WARN, "consumer error topic=%s partition=%d error=%s",
           m->rkt ? rd_kafka_topic_name(m->rkt) : "-", (int)m->partition,
           rd_kafka_message_errstr(m));
    return;
  }
  struct part *pt = part_of(c, m->partition);
  if (pt == NULL || !pt->assigned) return; /* left over from a revoked assignment */
  pt->at_end = false;
  pt->next = m->offset + 1;
  if (bt_batch_add(&pt->batch, m->offset, m->key, m->key_len, m->payload, m->len, now))
    h->log(h, DAGCTL_LOG_DEBUG, "dead letter topic=%s partition=%d offset=%lld", c->topic,
           (int)m->partition, (long long)m->offset);
  if ((long long)pt->batch.n_messages >= c->batch_size) flush(c, m->partition);
}

/* --- set-up -------------------------------------------------------------- */

static int open_lake(const struct dagctl_host *h, struct lake **out) {
  const char *url = h->connection(h, "lake", "url");
  const char *home = h->context(h, "home");
  char *local = NULL;
  if (url == NULL || *url == '\0') {
    local = xasprintf("%s/lake", home ? home : ".");
    url = local;
  }
  struct lake_options o = {
      .url = url,
      .endpoint = h->connection(h, "lake", "endpoint"),
      .region = h->connection(h, "lake", "region"),
      .access_key_id = h->connection(h, "lake", "access_key_id"),
      .secret_access_key = h->connection(h, "lake", "secret_access_key"),
  };
  bool b;
  if (bt_parse_bool(h->connection(h, "lake", "path_style"), &b) == 0) o.path_style = b;
  int64_t us;
  if (dag_duration_parse(h->connection(h, "lake", "timeout"), &us) == 0) o.timeout_ms = us / 1000;
  char *err = NULL;
  int rc = lake_open(&o, out, &err);
  if (rc != 0)
    h->log(h, DAGCTL_LOG_ERROR, "cannot open the lake: %s", err ? err : "unknown error");
  free(err);
  free(local);
  return rc;
}

/* An 8-hex-digit tag of the cluster's id for object names (see batch.h).
 * Asked once the group is joined, so the metadata is already there. */
static void set_cluster_tag(struct consumer *c, const struct dagctl_host *h) {
  char *id = rd_kafka_clusterid(c->rk, 5000);
  if (!id) {
    h->log(h, DAGCTL_LOG_WARN, "the cluster did not tell its id: object names carry no tag");
    return;
  }
  uint32_t hash = 2166136261u; /* FNV-1a */
  for (const char *p = id; *p; p++) hash = (hash ^ (unsigned char)*p) * 16777619u;
  snprintf(c->cluster_tag, sizeof(c->cluster_tag), "%08x", hash);
  c->opts.cluster_tag = c->cluster_tag;
  h->log(h, DAGCTL_LOG_INFO, "cluster id=%s object tag=%s", id, c->cluster_tag);
  rd_kafka_mem_free(c->rk, id);
}

/* A consumer handle for `group`; *embedded tells whether it talks to the
 * embedded cluster. */
static rd_kafka_t *new_consumer(struct consumer *c, const char *group, int64_t session_ms,
                                bool *embedded_out) {
  const struct dagctl_host *h = c->h;
  bool embedded;
  rd_kafka_conf_t *conf = kconf_new(h, &embedded);
  if (conf == NULL) return NULL;
  *embedded_out = embedded;
  /* The mock rejoins a restarted member only after session.timeout.ms; its
   * 45 s default would stall every restart. Real brokers refuse less than
   * their group.min.session.timeout.ms (6 s), hence only when embedded. */
  if (session_ms == 0) session_ms = embedded ? 3000 : 0;
  char sess[32], beat[32];
  snprintf(sess, sizeof(sess), "%lld", (long long)session_ms);
  snprintf(beat, sizeof(beat), "%lld", (long long)(session_ms / 6 > 0 ? session_ms / 6 : 1));
  int rc = kconf_set(h, conf, "group.id", group);
  if (rc == 0) rc = kconf_set(h, conf, "enable.auto.commit", "false");
  if (rc == 0) rc = kconf_set(h, conf, "enable.auto.offset.store", "false");
  /* Events produced before the group first joined are part of the run. */
  if (rc == 0) rc = kconf_set(h, conf, "auto.offset.reset", "earliest");
  if (rc == 0) rc = kconf_set(h, conf, "enable.partition.eof", "true");
  /* The mock broker answers a fetch that finds nothing only after the
   * whole fetch.wait.max.ms (500 ms by default), new messages or not, and
   * answers the connection's other requests after it: a stop's look at
   * the end offsets, and the first messages after a caught-up partition,
   * would each wait that long. An idle fetch on the embedded cluster is
   * cheap. */
  if (rc == 0 && embedded) rc = kconf_set(h, conf, "fetch.wait.max.ms", "20");
  if (rc == 0 && session_ms > 0) rc = kconf_set(h, conf, "session.timeout.ms", sess);
  if (rc == 0 && session_ms > 0) rc = kconf_set(h, conf, "heartbeat.interval.ms", beat);
  if (rc != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_opaque(conf, c);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "kafka: cannot create a consumer: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  kconf_log_to_queue(rk);
  /* Logs, errors and rebalances all arrive through rd_kafka_consumer_poll(),
   * on this thread. */
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

/* --- direct assignment -------------------------------------------------- */

/* Take the group's lock in `home` (see the header). Returns 0 when held
 * (c->lock_fd set), 1 if cancelled while another consumer held it, or -1
 * if the lock file cannot be used (logged). */
static int lock_group(struct consumer *c, const char *home, const char *group) {
  const struct dagctl_host *h = c->h;
  uint64_t hash = 14695981039346656037ull; /* FNV-1a: any group id makes a file name */
  for (const char *p = group; *p; p++) hash = (hash ^ (unsigned char)*p) * 1099511628211ull;
  char *path = xasprintf("%s/kafka-group-%016llx.lock", home, (unsigned long long)hash);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "cannot open the group's lock file=%s error=%s", path,
           strerror(errno));
    free(path);
    return -1;
  }
  bool said = false;
  int rc = 1;
  while (!h->cancelled(h)) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      rc = 0;
      break;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      h->log(h, DAGCTL_LOG_ERROR, "cannot lock file=%s error=%s", path, strerror(errno));
      rc = -1;
      break;
    }
    if (!said)
      h->log(h, DAGCTL_LOG_INFO,
             "another consumer of group_id=%s holds its partitions on the embedded cluster; "
             "waiting for it to stop lock=%s",
             group, path);
    said = true;
    struct timespec ts = {.tv_nsec = DIRECT_RETRY_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
  free(path);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  c->lock_fd = fd;
  return 0;
}

/* Assign every partition of the topic, each from the group's committed
 * offset (auto.offset.reset where there is none). A topic not there yet
 * (its producer may start after us) is looked for again until it is, or
 * until cancelled. Returns 0 once assigned, 1 if cancelled, -1 on error. */
static int assign_all(struct consumer *c) {
  const struct dagctl_host *h = c->h;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->topic, NULL);
  if (rkt == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "cannot use topic=%s error=%s", c->topic,
           rd_kafka_err2str(rd_kafka_last_error()));
    return -1;
  }
  bool said = false;
  int rc = 1;
  while (!h->cancelled(h)) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c->rk, 0, rkt, &md, 5000);
    int n = 0;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err)
      n = md->topics[0].partition_cnt;
    else if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
      err = md->topics[0].err;
    if (n > 0) {
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
      for (int i = 0; i < n; i++) {
        int32_t p = md->topics[0].partitions[i].id;
        rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = RD_KAFKA_OFFSET_INVALID;
        struct part *pt = part_of(c, p);
        bt_batch_reset(&pt->batch);
        pt->assigned = true;
        pt->at_end = false;
        pt->next = -1;
        pt->pending = -1;
      }
      rd_kafka_metadata_destroy(md);
      err = rd_kafka_assign(c->rk, l);
      rd_kafka_topic_partition_list_destroy(l);
      if (err) {
        h->log(h, DAGCTL_LOG_ERROR, "cannot assign topic=%s error=%s", c->topic,
               rd_kafka_err2str(err));
        rc = -1;
        break;
      }
      h->log(h, DAGCTL_LOG_INFO,
             "partitions assigned directly topic=%s partitions=%d (no group join)", c->topic, n);
      c->assigned_once = true;
      rc = 0;
      break;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (!said)
      h->log(h, DAGCTL_LOG_INFO, "waiting for topic=%s to exist error=%s", c->topic,
             rd_kafka_err2name(err));
    said = true;
    struct timespec ts = {.tv_nsec = DIRECT_RETRY_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
  rd_kafka_topic_destroy(rkt);
  return rc;
}

/* Whether every assigned partition is read to its end: to its stop_at
 * when a stop has fixed one, else to its last partition-EOF. */
static bool all_at_end(const struct consumer *c) {
  for (int32_t i = 0; i < c->n_parts; i++) {
    const struct part *pt = &c->parts[i];
    if (!pt->assigned) continue;
    if (pt->stop_at >= 0 ? pt->next < pt->stop_at : !pt->at_end) return false;
  }
  return true;
}

/* Stopping: read what the topic already holds (a stop usually follows the
 * producer's last event by moments), flush everything, then settle the
 * commits still owed, giving the group time to finish a rebalance. */
static void drain(struct consumer *c) {
  const struct dagctl_host *h = c->h;
  uint64_t deadline = now_ms() + STOP_CATCHUP_MS;
  /* The end is where each partition ends now, as the broker says: a
   * partition-EOF seen earlier may predate the producer's last messages,
   * which are then still on their way to us. */
  for (int32_t i = 0; i < c->n_parts; i++) {
    struct part *pt = &c->parts[i];
    int64_t low, high;
    int64_t left = (int64_t)(deadline - now_ms());
    pt->stop_at = -1;
    if (pt->assigned && left > 0 &&
        rd_kafka_query_watermark_offsets(c->rk, c->topic, i, &low, &high, (int)left) ==
            RD_KAFKA_RESP_ERR_NO_ERROR)
      pt->stop_at = high;
  }
  while (!c->failed && !all_at_end(c) && now_ms() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
    if (m) {
      on_message(c, m, now_ms());
      rd_kafka_message_destroy(m);
    }
  }
  for (int32_t i = 0; i < c->n_parts; i++) {
    const struct part *pt = &c->parts[i];
    if (pt->assigned && pt->stop_at >= 0 && pt->next >= pt->stop_at && !pt->at_end)
      h->log(h, DAGCTL_LOG_DEBUG, "caught up topic=%s partition=%d offset=%lld", c->topic,
             (int)i, (long long)pt->next);
  }
  if (!all_at_end(c))
    h->log(h, DAGCTL_LOG_WARN, "stopping before reaching the end of every partition "
                               "topic=%s; the rest stays in Kafka for the next consumer",
           c->topic);
  for (int32_t i = 0; i < c->n_parts && !c->failed; i++)
    if (c->parts[i].assigned) flush(c, i);
  deadline = now_ms() + STOP_COMMIT_MS;
  for (;;) {
    bool owed = false;
    for (int32_t i = 0; i < c->n_parts; i++)
      if (c->parts[i].pending >= 0 && c->parts[i].assigned) owed = true;
    if (!owed || now_ms() >= deadline) break;
    /* Serves the rebalance that blocks the commit. Messages read now stay
     * uncommitted, for the next consumer. */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
    if (m) rd_kafka_message_destroy(m);
    c->last_retry_ms = 0;
    retry_pending(c, now_ms());
  }
}

enum dagctl_result kafka_consume(const struct dagctl_host *h) {
  struct consumer c = {.h = h, .lock_fd = -1};
  c.topic = kconf_param_str(h, "topic", DEFAULT_TOPIC);
  c.opts.prefix = kconf_param_str(h, "prefix", "raw_events");
  c.opts.dead_letter_prefix = kconf_param_str(h, "dead_letter_prefix", "dead_letter");
  int64_t session_ms;
  long long writers;
  if (kconf_param_int(h, "batch_size", 100, 1, 10000000, &c.batch_size) < 0 ||
      kconf_param_int(h, "writers", 4, 1, MAX_WRITERS, &writers) < 0 ||
      kconf_param_duration_ms(h, "batch_interval", 60000, &c.interval_ms) < 0 ||
      kconf_param_bool(h, "gzip", false, &c.opts.gzip) < 0 ||
      kconf_param_bool(h, "flush_at_end", false, &c.flush_at_end) < 0 ||
      kconf_param_duration_ms(h, "session_timeout", 0, &session_ms) < 0)
    return DAGCTL_FAILED;
  const char *dag = h->context(h, "dag_id");
  char *default_group = xasprintf("dagctl-%s", dag ? dag : "default");
  const char *group = kconf_param_str(h, "group_id", default_group);

  enum dagctl_result result = DAGCTL_FAILED;
  for (int i = 0; i < (int)writers; i++) {
    if (open_lake(h, &c.lakes[i]) != 0) goto out;
    c.n_lakes++;
  }
  bool embedded;
  c.rk = new_consumer(&c, group, session_ms, &embedded);
  if (c.rk == NULL) goto out;
  bool join;
  if (kconf_param_bool(h, "join_group", !embedded, &join) < 0) {
    rd_kafka_destroy(c.rk);
    goto out;
  }
  const char *home = h->context(h, "home");
  if (!join && (home == NULL || *home == '\0')) {
    h->log(h, DAGCTL_LOG_WARN, "join_group is false but the host gave no home folder for "
                               "the group's lock: joining the group");
    join = true;
  }
  c.direct = !join;

  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (join) {
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, c.topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(c.rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
  }
  if (err) {
    h->log(h, DAGCTL_LOG_ERROR, "cannot subscribe topic=%s error=%s", c.topic,
           rd_kafka_err2str(err));
    rd_kafka_destroy(c.rk);
    goto out;
  }
  h->log(h, DAGCTL_LOG_INFO,
         "consumer starting topic=%s group_id=%s join_group=%s batch_size=%lld "
         "batch_interval_ms=%lld flush_at_end=%s gzip=%s writers=%d lake=%s",
         c.topic, group, join ? "true" : "false", c.batch_size, (long long)c.interval_ms,
         c.flush_at_end ? "true" : "false", c.opts.gzip ? "true" : "false", c.n_lakes,
         lake_describe(c.lakes[0]));
  if (c.direct) {
    int rc = lock_group(&c, home, group);
    if (rc == 0) rc = assign_all(&c);
    if (rc != 0) {
      /* Cancelled before having partitions: nothing read, nothing owed. */
      rd_kafka_destroy(c.rk);
      if (rc < 0) goto out;
      h->log(h, DAGCTL_LOG_INFO, "consumer stopped before it had partitions");
      result = DAGCTL_OK;
      goto out;
    }
  }

  bool ready = false;
  while (!h->cancelled(h) && !c.failed) {
    /* Checked before the poll too: a direct consumer has its partitions
     * already, and should not wait out a poll's timeout to say so. */
    if (c.assigned_once && !ready) {
      ready = true;
      set_cluster_tag(&c, h);
      h->service_ready(h);
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, 100);
    if (c.assigned_once && !ready) {
      ready = true;
      set_cluster_tag(&c, h);
      h->service_ready(h);
    }
    /* One clock reading per message serves all three. */
    uint64_t now = now_ms();
    if (m) {
      on_message(&c, m, now);
      rd_kafka_message_destroy(m);
    }
    flush_due(&c, now);
    retry_pending(&c, now);
  }
  if (!c.failed) drain(&c);
  /* Leaving the group runs the revoke callback once more: it finds the
   * batches empty and only settles commits. */
  rd_kafka_consumer_close(c.rk);
  rd_kafka_destroy(c.rk);
  h->log(h, c.failed ? DAGCTL_LOG_ERROR : DAGCTL_LOG_INFO,
         "consumer stopped events=%zu dead_letters=%zu objects=%zu%s", c.events, c.dead,
         c.objects, c.failed ? " (after a failure; the rest stays uncommitted)" : "");
  result = c.failed ? DAGCTL_FAILED : DAGCTL_OK;

out:
  if (c.lock_fd >= 0) close(c.lock_fd); /* after the last commit: the next consumer may go */
  for (int32_t i = 0; i < c.n_parts; i++)
    bt_batch_free(&c.parts[i].batch);
  free(c.parts);
  for (int i = 0; i < c.n_lakes; i++)
    lake_close(c.lakes[i]);
  free(default_group);
  return result;
}
