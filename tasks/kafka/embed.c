/* embed.c - host librdkafka's mock cluster (see embed.h). libc and
 * librdkafka only: the helper process links nothing of dagctl's. */
#include "embed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_BROKERS 3
#define MAX_TOPICS 10000
/* A bootstrap list is a few addresses; anything larger is not our file. */
#define BOOTSTRAPS_MAX 4096

struct kafka_embed {
  rd_kafka_t *rk; /* the handle the mock cluster hangs off; produces nothing */
  rd_kafka_mock_cluster_t *mc;
  char *bootstraps; /* owned copy */
  char *path;       /* HOME/kafka.bootstraps, or NULL when not published */
  int brokers;
  char **topics; /* created so far (owned), to answer a second request */
  size_t n_topics;
};

/* One line on stderr, shaped like dagctl's (`TIME LEVEL message`): the
 * scheduler's own log is the same stream. */
__attribute__((format(printf, 2, 3))) static void say(const char *level, const char *fmt, ...) {
  char line[1024], stamp[64] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (gmtime_r(&ts.tv_sec, &tm))
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
  fprintf(stderr, "%s %-5s embedded kafka: %s\n", stamp, level, line);
}

/* Out of memory ends the helper: the scheduler sees it exit, as it would
 * see dagctl's xmalloc abort. */
static void *must(void *p) {
  if (p == NULL) {
    say("ERROR", "out of memory");
    abort();
  }
  return p;
}

__attribute__((format(printf, 1, 2))) static char *mprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  return must(n < 0 ? NULL : s);
}

/* librdkafka logs from its own threads; say() is safe there (one fprintf
 * per line). Its debug chatter is dropped. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  if (level <= 4) say(level <= 3 ? "ERROR" : "WARN", "%s facility=%s", buf, fac);
}

/* Write `text` to `path` through a temporary file and rename(), so a child
 * process never reads a half-written address. */
static int write_atomically(const char *path, const char *text) {
  char *tmp = mprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int rc = -errno;
    free(tmp);
    return rc;
  }
  size_t len = strlen(text), done = 0;
  int rc = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = -errno;
      break;
    }
    done += (size_t)n;
  }
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
  if (rc != 0) unlink(tmp);
  free(tmp);
  return rc;
}

int kafka_embed_read(const char *home, char **out) {
  *out = NULL;
  char *path = mprintf("%s/" KAFKA_EMBED_BOOTSTRAPS_FILE, home);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return -errno;
  char buf[BOOTSTRAPS_MAX + 1];
  size_t len = 0;
  int rc = 0;
  while (len < sizeof(buf)) {
    ssize_t n = read(fd, buf + len, sizeof(buf) - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (rc != 0) return rc;
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  if (len == 0 || len > BOOTSTRAPS_MAX) return -EINVAL;
  *out = must(strndup(buf, len));
  return 0;
}

/* Replicated on every broker, as a real cluster of that size would be;
 * the mock keeps one copy whatever the factor says. */
static int create_topic(rd_kafka_mock_cluster_t *mc, const char *topic, int partitions,
                        int replicas) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, partitions, replicas);
  if (err) {
    say("ERROR", "cannot create topic topic=%s partitions=%d error=%s", topic, partitions,
        rd_kafka_err2str(err));
    return -EIO;
  }
  say("INFO", "topic created topic=%s partitions=%d", topic, partitions);
  return 0;
}

int kafka_embed_start(const char *home, int brokers, struct kafka_embed **out) {
  *out = NULL;
  if (brokers == 0) brokers = MAX_BROKERS;
  if (brokers < 1 || brokers > MAX_BROKERS) return -EINVAL;

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_cb);
  /* The handle only carries the cluster: it has no brokers of its own to
   * reach, and would otherwise warn about that forever. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
    say("WARN", "%s", errstr);

  /* Threads inherit the creating thread's signal mask. librdkafka blocks
   * signals in the threads rd_kafka_new() starts, but not in the mock
   * cluster's; a SIGTERM delivered there would run no handler of ours in
   * time, or stop a sigwait() loop from seeing it. Block everything while
   * the threads are born, then restore. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  rd_kafka_mock_cluster_t *mc = rk ? rd_kafka_mock_cluster_new(rk, brokers) : NULL;
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  if (rk == NULL) {
    rd_kafka_conf_destroy(conf); /* rd_kafka_new() takes it only on success */
    say("ERROR", "cannot create a client handle error=%s", errstr);
    return -EIO;
  }
  if (mc == NULL) {
    say("ERROR", "cannot start the mock cluster brokers=%d", brokers);
    rd_kafka_destroy(rk);
    return -EIO;
  }

  struct kafka_embed *ke = must(calloc(1, sizeof(*ke)));
  ke->rk = rk;
  ke->mc = mc;
  ke->brokers = brokers;
  ke->bootstraps = must(strdup(rd_kafka_mock_cluster_bootstraps(mc)));

  int rc = 0;
  if (home) {
    char *path = mprintf("%s/" KAFKA_EMBED_BOOTSTRAPS_FILE, home);
    char *text = mprintf("%s\n", ke->bootstraps);
    rc = write_atomically(path, text);
    free(text);
    if (rc == 0)
      ke->path = path;
    else {
      say("ERROR", "cannot publish the bootstrap servers file=%s error=%s", path,
          strerror(-rc));
      free(path);
    }
  }
  if (rc != 0) {
    kafka_embed_stop(ke);
    return rc;
  }
  say("INFO", "started bootstrap_servers=%s brokers=%d", ke->bootstraps, brokers);
  *out = ke;
  return 0;
}

const char *kafka_embed_bootstraps(const struct kafka_embed *ke) {
  return ke->bootstraps;
}

int kafka_embed_create_topic(struct kafka_embed *ke, const char *topic, int partitions) {
  if (topic == NULL || *topic == '\0' || partitions < 1 ||
      partitions > KAFKA_EMBED_MAX_PARTITIONS)
    return -EINVAL;
  for (size_t i = 0; i < ke->n_topics; i++)
    if (strcmp(ke->topics[i], topic) == 0) return -EEXIST;
  if (ke->n_topics >= MAX_TOPICS) return -EINVAL;
  int rc = create_topic(ke->mc, topic, partitions, ke->brokers);
  if (rc) return rc;
  ke->topics = must(reallocarray(ke->topics, ke->n_topics + 1, sizeof(*ke->topics)));
  ke->topics[ke->n_topics++] = must(strdup(topic));
  return 0;
}

void kafka_embed_stop(struct kafka_embed *ke) {
  if (ke == NULL) return;
  if (ke->path) {
    /* Another process may have started its own cluster on this home since:
     * remove the file only if it still names ours. */
    char *current = NULL;
    char *home =
        must(strndup(ke->path, strlen(ke->path) - strlen("/" KAFKA_EMBED_BOOTSTRAPS_FILE)));
    if (kafka_embed_read(home, &current) == 0 && strcmp(current, ke->bootstraps) == 0)
      unlink(ke->path);
    free(current);
    free(home);
    free(ke->path);
  }
  rd_kafka_mock_cluster_destroy(ke->mc);
  rd_kafka_destroy(ke->rk);
  for (size_t i = 0; i < ke->n_topics; i++) free(ke->topics[i]);
  free(ke->topics);
  free(ke->bootstraps);
  free(ke);
}
