/* dagctl-kafka-embed - host the embedded Kafka cluster in a process of its
 * own, beside the kafka plugin.
 *
 *   dagctl-kafka-embed HOME [--brokers N] [--topic NAME[:PARTITIONS]]...
 *
 * Starts the cluster (HOME/kafka.bootstraps is written), creates the given
 * topics (KAFKA_EMBED_PARTITIONS partitions unless said), prints the
 * bootstrap servers on one line and runs until stdin reaches EOF or
 * SIGTERM/SIGINT arrives. Each line read on stdin meanwhile,
 * NAME[:PARTITIONS], creates one more topic (one that exists is left as
 * it is). The scheduler starts it once a loaded DAG has a task of the kafka
 * plugin, with the topics those tasks name, and keeps the other end of its
 * stdin: tying its life to a pipe means a scheduler (or test) that dies,
 * even by SIGKILL, never leaves a broker behind. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "embed.h"

#define LINE_MAX_LEN 1024

static int usage(void) {
  fprintf(stderr, "usage: dagctl-kafka-embed HOME [--brokers N] [--topic NAME[:PARTITIONS]]...\n");
  return 2;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

/* Create the topic `spec` (NAME or NAME:PARTITIONS). A topic that exists
 * already is not an error: several DAGs may name the same one. Returns 0,
 * or -EINVAL / -EIO. */
static int add_topic(struct kafka_embed *ke, const char *spec) {
  int parts = KAFKA_EMBED_PARTITIONS;
  const char *colon = strrchr(spec, ':');
  size_t len = strlen(spec);
  if (colon) {
    if (parse_int(colon + 1, 1, KAFKA_EMBED_MAX_PARTITIONS, &parts) < 0) {
      fprintf(stderr, "ERROR embedded kafka: bad topic spec=\"%s\": expected "
                      "NAME[:PARTITIONS], 1 to %d partitions\n", spec, KAFKA_EMBED_MAX_PARTITIONS);
      return -EINVAL;
    }
    len = (size_t)(colon - spec);
  }
  char *name = strndup(spec, len);
  if (name == NULL) return -ENOMEM;
  int rc = kafka_embed_create_topic(ke, name, parts);
  free(name);
  return rc == -EEXIST ? 0 : rc;
}

/* Feed `n` bytes of stdin into `line`: every complete line names a topic. */
static void take_input(struct kafka_embed *ke, char *line, size_t *len, const char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (buf[i] != '\n') {
      if (*len < LINE_MAX_LEN) line[(*len)++] = buf[i];
      continue;
    }
    line[*len] = '\0';
    if (*len > 0 && *len < LINE_MAX_LEN) add_topic(ke, line);
    *len = 0;
  }
}

/* Serve topic requests until EOF on stdin or a termination signal. */
static void serve(struct kafka_embed *ke) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
  char line[LINE_MAX_LEN + 1];
  size_t len = 0;
  for (;;) {
    if (poll(fds, sfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (sfd >= 0 && fds[1].revents) break;
    if (fds[0].revents) {
      char buf[4096];
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      take_input(ke, line, &len, buf, (size_t)n);
    }
  }
  if (sfd >= 0) close(sfd);
}

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') return usage();
  const char *home = argv[1];
  int brokers = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
      if (parse_int(argv[++i], 1, 3, &brokers) < 0) return usage();
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      i++; /* created below, once the cluster runs */
    } else {
      return usage();
    }
  }

  struct kafka_embed *ke;
  int rc = kafka_embed_start(home, brokers, &ke);
  if (rc < 0) {
    fprintf(stderr, "ERROR embedded kafka: cannot start: %s\n", strerror(-rc));
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--topic") != 0) continue;
    if (add_topic(ke, argv[++i]) < 0) {
      kafka_embed_stop(ke);
      return 1;
    }
  }
  printf("%s\n", kafka_embed_bootstraps(ke));
  fflush(stdout);
  serve(ke);
  kafka_embed_stop(ke);
  return 0;
}
