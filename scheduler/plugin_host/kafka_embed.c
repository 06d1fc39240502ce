/* kafka_embed.c - host librdkafka's mock cluster (see kafka_embed.h). */
#include "kafka_embed.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "alloc.h"
#include "common.h"
#include "error.h"
#include "log.h"

#define MAX_BROKERS 3
#define MAX_PARTITIONS 1000
/* A bootstrap list is a few addresses; anything larger is not our file. */
#define BOOTSTRAPS_MAX 4096

struct dag_kafka_embed {
  rd_kafka_t *rk; /* the handle the mock cluster hangs off; produces nothing */
  rd_kafka_mock_cluster_t *mc;
  char *bootstraps; /* owned copy */
  char *path;       /* HOME/kafka.bootstraps, or NULL when not published */
  int brokers;
};

/* librdkafka logs from its own threads; dag_log() is safe there (one
 * fprintf per line, the mask list fixed since start-up). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  DAG_UNUSED(rk);
  if (level <= 3)
    LOG_ERROR("embedded kafka: %s facility=%s", buf, fac);
  else if (level == 4)
    LOG_WARN("embedded kafka: %s facility=%s", buf, fac);
  else
    LOG_DEBUG("embedded kafka: %s facility=%s", buf, fac);
}

/* Write `text` to `path` through a temporary file and rename(), so a child
 * process never reads a half-written address. */
static int write_atomically(const char *path, const char *text) {
  char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
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

int dag_kafka_embed_read(const char *home, char **out) {
  *out = NULL;
  char *path = xasprintf("%s/" DAG_KAFKA_BOOTSTRAPS_FILE, home);
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
  if (len == 0 || len > BOOTSTRAPS_MAX) return DAG_EINVAL;
  *out = xstrndup(buf, len);
  return 0;
}

/* Replicated on every broker, as a real cluster of that size would be;
 * the mock keeps one copy whatever the factor says. */
static int create_topic(rd_kafka_mock_cluster_t *mc, const char *topic, int partitions,
                        int replicas) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, partitions, replicas);
  if (err) {
    LOG_ERROR("embedded kafka: cannot create topic topic=%s partitions=%d error=%s", topic,
              partitions, rd_kafka_err2str(err));
    return -EIO;
  }
  LOG_INFO("embedded kafka: topic created topic=%s partitions=%d", topic, partitions);
  return 0;
}

int dag_kafka_embed_start(const char *home, int brokers, struct dag_kafka_embed **out) {
  *out = NULL;
  if (brokers == 0) brokers = MAX_BROKERS;
  if (brokers < 1 || brokers > MAX_BROKERS) return DAG_EINVAL;

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_cb);
  /* The handle only carries the cluster: it has no brokers of its own to
   * reach, and would otherwise warn about that forever. */
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
    LOG_WARN("embedded kafka: %s", errstr);

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
    LOG_ERROR("embedded kafka: cannot create a client handle error=%s", errstr);
    return -EIO;
  }
  if (mc == NULL) {
    LOG_ERROR("embedded kafka: cannot start the mock cluster brokers=%d", brokers);
    rd_kafka_destroy(rk);
    return -EIO;
  }

  struct dag_kafka_embed *ke = xcalloc(1, sizeof(*ke));
  ke->rk = rk;
  ke->mc = mc;
  ke->brokers = brokers;
  ke->bootstraps = xstrdup(rd_kafka_mock_cluster_bootstraps(mc));

  int rc = create_topic(mc, DAG_KAFKA_EMBED_TOPIC, DAG_KAFKA_EMBED_PARTITIONS, brokers);
  if (rc == 0 && home) {
    char *path = xasprintf("%s/" DAG_KAFKA_BOOTSTRAPS_FILE, home);
    char *text = xasprintf("%s\n", ke->bootstraps);
    rc = write_atomically(path, text);
    free(text);
    if (rc == 0)
      ke->path = path;
    else {
      LOG_ERROR("embedded kafka: cannot publish the bootstrap servers file=%s error=%s", path,
                strerror(-rc));
      free(path);
    }
  }
  if (rc != 0) {
    dag_kafka_embed_stop(ke);
    return rc;
  }
  LOG_INFO("embedded kafka started bootstrap_servers=%s brokers=%d", ke->bootstraps, brokers);
  *out = ke;
  return 0;
}

const char *dag_kafka_embed_bootstraps(const struct dag_kafka_embed *ke) {
  return ke->bootstraps;
}

int dag_kafka_embed_create_topic(struct dag_kafka_embed *ke, const char *topic,
                                 int partitions) {
  if (topic == NULL || *topic == '\0' || partitions < 1 || partitions > MAX_PARTITIONS)
    return DAG_EINVAL;
  return create_topic(ke->mc, topic, partitions, ke->brokers);
}

void dag_kafka_embed_stop(struct dag_kafka_embed *ke) {
  if (ke == NULL) return;
  if (ke->path) {
    /* Another process may have started its own cluster on this home since:
     * remove the file only if it still names ours. */
    char *current = NULL;
    char *home = xstrndup(ke->path, strlen(ke->path) - strlen("/" DAG_KAFKA_BOOTSTRAPS_FILE));
    if (dag_kafka_embed_read(home, &current) == 0 && strcmp(current, ke->bootstraps) == 0)
      unlink(ke->path);
    free(current);
    free(home);
    free(ke->path);
  }
  rd_kafka_mock_cluster_destroy(ke->mc);
  rd_kafka_destroy(ke->rk);
  free(ke->bootstraps);
  free(ke);
}
