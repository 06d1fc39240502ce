/* kafka_mock - host the embedded Kafka cluster for tests and benchmarks.
 *
 *   kafka_mock HOME [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Starts the cluster through dag_kafka_embed_start() (so HOME/kafka.bootstraps
 * is written exactly as the scheduler writes it), creates the extra topics,
 * prints the bootstrap servers on one line and runs until stdin reaches EOF
 * or SIGTERM/SIGINT arrives. Tying its life to a pipe means a test that dies
 * never leaves a broker behind. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "kafka_embed.h"
#include "log.h"

static int usage(void) {
  fprintf(stderr, "usage: kafka_mock HOME [--brokers N] [--topic NAME:PARTITIONS]...\n");
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

/* Wait for EOF on stdin or a termination signal. */
static void wait_for_end(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, sfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[0].revents) {
      char buf[256];
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
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
      i++; /* checked below, once the cluster runs */
    } else {
      return usage();
    }
  }

  struct dag_kafka_embed *ke;
  int rc = dag_kafka_embed_start(home, brokers, &ke);
  if (rc < 0) {
    fprintf(stderr, "kafka_mock: cannot start: %s\n", dag_strerror(rc));
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--topic") != 0) continue;
    const char *spec = argv[++i];
    const char *colon = strrchr(spec, ':');
    int parts = 0;
    if (colon == NULL || parse_int(colon + 1, 1, 1000, &parts) < 0) {
      dag_kafka_embed_stop(ke);
      return usage();
    }
    char *name = xstrndup(spec, (size_t)(colon - spec));
    rc = dag_kafka_embed_create_topic(ke, name, parts);
    free(name);
    if (rc < 0) {
      dag_kafka_embed_stop(ke);
      return 1;
    }
  }
  printf("%s\n", dag_kafka_embed_bootstraps(ke));
  fflush(stdout);
  wait_for_end();
  dag_kafka_embed_stop(ke);
  return 0;
}
