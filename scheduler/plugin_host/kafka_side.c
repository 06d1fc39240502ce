/* kafka_side.c - start the kafka plugin's embedded cluster for the DAGs
 * that use it (see kafka_side.h). */
#include "kafka_side.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "error.h"
#include "log.h"
#include "strbuf.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
/* Kafka's own limit on a topic name. */
#define TOPIC_MAX 249

struct dag_kafka_side {
  pid_t pid;
  int in;           /* the write end of its stdin (close-on-exec, non-blocking) */
  char *bootstraps; /* owned */
  char **topics;    /* asked for so far (owned), so each is asked once */
  size_t n_topics, cap_topics;
};

extern char **environ;

/* The kafka plugin's entry of the catalog, or NULL. */
static const struct dag_plugin_info *kafka_plugin(const struct dag_plugin_catalog *c) {
  for (size_t i = 0; c && i < c->n; i++)
    if (c->plugins[i].name && strcmp(c->plugins[i].name, DAG_KAFKA_SIDE_PLUGIN) == 0)
      return &c->plugins[i];
  return NULL;
}

static const struct dag_plugin_type *type_of(const struct dag_plugin_info *p, const char *name) {
  for (size_t k = 0; k < p->n_types; k++)
    if (strcmp(p->types[k].name, name) == 0) return &p->types[k];
  return NULL;
}

bool dag_kafka_side_used(const struct dag_plugin_catalog *c, const struct dag *dag) {
  const struct dag_plugin_info *p = kafka_plugin(c);
  for (size_t i = 0; p && i < dag->n_tasks; i++)
    if (dag->tasks[i].type == DAG_TASK_PLUGIN && type_of(p, dag->tasks[i].type_name)) return true;
  return false;
}

/* Kafka's topic names: [A-Za-z0-9._-], 1 to 249 characters. Anything else
 * (a {{ }} template among them) is left to the producer's auto-creation,
 * or to the broker's refusal. */
static bool topic_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > TOPIC_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
        !(s[i] >= '0' && s[i] <= '9') && s[i] != '.' && s[i] != '_' && s[i] != '-')
      return false;
  return true;
}

/* The topic a kafka task names: its `topic` key, else the declared default. */
static const char *task_topic(const struct dag_plugin_type *t, const struct dag_task *task) {
  json_t *v = task->config ? json_object_get(task->config, "topic") : NULL;
  if (v) return json_string_value(v);
  const struct dag_plugin_param *d = dag_plugin_type_param(t, "topic");
  return d ? d->default_value : NULL;
}

static bool asked(const struct dag_kafka_side *side, const char *topic) {
  for (size_t i = 0; side && i < side->n_topics; i++)
    if (strcmp(side->topics[i], topic) == 0) return true;
  return false;
}

/* The topics of `dag`'s kafka tasks not asked of `side` yet (NULL: none
 * asked), each once. *n set; caller frees the array, the names are
 * borrowed from the DAG and the catalog. */
static const char **new_topics(const struct dag_kafka_side *side,
                               const struct dag_plugin_info *p, const struct dag *dag,
                               size_t *n) {
  const char **out = xcalloc(dag->n_tasks + 1, sizeof(*out));
  *n = 0;
  for (size_t i = 0; i < dag->n_tasks; i++) {
    const struct dag_task *task = &dag->tasks[i];
    const struct dag_plugin_type *t =
        task->type == DAG_TASK_PLUGIN ? type_of(p, task->type_name) : NULL;
    const char *topic = t ? task_topic(t, task) : NULL;
    if (!topic || !topic_name_ok(topic) || asked(side, topic)) continue;
    bool dup = false;
    for (size_t k = 0; k < *n && !dup; k++) dup = strcmp(out[k], topic) == 0;
    if (!dup) out[(*n)++] = topic;
  }
  return out;
}

static void remember(struct dag_kafka_side *side, const char *topic) {
  side->topics = xgrow(side->topics, &side->cap_topics, side->n_topics + 1,
                       sizeof(*side->topics));
  side->topics[side->n_topics++] = xstrdup(topic);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the cluster's first line (its address) from `fd` into *out. */
static int read_address(int fd, char **out) {
  struct strbuf sb = STRBUF_INIT;
  int64_t deadline = mono_ms() + START_TIMEOUT_MS;
  int rc = -ETIMEDOUT;
  while (mono_ms() < deadline) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)(deadline - mono_ms()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[512];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      rc = -EPIPE; /* it exited before saying where it listens */
      break;
    }
    sb_appendn(&sb, buf, (size_t)got);
    const char *nl = memchr(sb_str(&sb), '\n', sb.len);
    if (nl) {
      *out = xstrndup(sb_str(&sb), (size_t)(nl - sb_str(&sb)));
      rc = **out ? 0 : -EPROTO;
      break;
    }
    if (sb.len > 4096) {
      rc = -EPROTO;
      break;
    }
  }
  sb_free(&sb);
  return rc;
}

static void reap(pid_t pid, int timeout_ms) {
  int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, NULL, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return;
    if (mono_ms() >= deadline) break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  LOG_WARN("embedded Kafka cluster did not stop in time; killing it pid=%d", (int)pid);
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

/* Spawn PROGRAM HOME --brokers 1 --topic T... with its stdin and stdout on
 * pipes. One broker: a demo and test cluster needs no more, and each costs
 * threads and ports. */
static int start(const char *program, const char *home, const char **topics, size_t n_topics,
                 struct dag_kafka_side **out) {
  int in[2], outp[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -errno;
  if (pipe2(outp, O_CLOEXEC) != 0) {
    int rc = -errno;
    close(in[0]);
    close(in[1]);
    return rc;
  }
  char **argv = xcalloc(2 * n_topics + 5, sizeof(*argv));
  size_t a = 0;
  argv[a++] = (char *)program;
  argv[a++] = (char *)home;
  argv[a++] = (char *)"--brokers";
  argv[a++] = (char *)"1";
  for (size_t i = 0; i < n_topics; i++) {
    argv[a++] = (char *)"--topic";
    argv[a++] = (char *)topics[i];
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
  /* Signals as a fresh process has them (the scheduler blocks and ignores
   * some), and a group of its own (see kafka_side.h). */
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, program, &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  free(argv);
  close(in[0]);
  close(outp[1]);
  if (rc != 0) {
    close(in[1]);
    close(outp[0]);
    return -rc;
  }
  char *address = NULL;
  rc = read_address(outp[0], &address);
  close(outp[0]);
  if (rc != 0) {
    close(in[1]);
    kill(pid, SIGKILL);
    reap(pid, STOP_TIMEOUT_MS);
    return rc;
  }
  /* Topics asked later must never block the loop: a full pipe (64 KiB of
   * names) drops the request, and the topic is auto-created instead. */
  fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  struct dag_kafka_side *side = xcalloc(1, sizeof(*side));
  side->pid = pid;
  side->in = in[1];
  side->bootstraps = address;
  for (size_t i = 0; i < n_topics; i++) remember(side, topics[i]);
  *out = side;
  return 0;
}

/* Ask the running cluster for more topics, one line each. */
static void add_topics(struct dag_kafka_side *side, const char **topics, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char *line = xasprintf("%s\n", topics[i]);
    ssize_t w = write(side->in, line, strlen(line));
    if (w == (ssize_t)strlen(line))
      LOG_INFO("embedded Kafka cluster: topic asked topic=%s", topics[i]);
    else
      LOG_WARN("embedded Kafka cluster: cannot ask for a topic; it is created on first "
               "produce topic=%s error=\"%s\"", topics[i], w < 0 ? strerror(errno) : "short");
    remember(side, topics[i]);
    free(line);
  }
}

int dag_kafka_side_need(struct dag_kafka_side **side, const struct dag_plugin_catalog *c,
                        const struct dag_config *cfg, const struct dag *dag) {
  const struct dag_plugin_info *p = kafka_plugin(c);
  if (!p || !dag_kafka_side_used(c, dag)) return 0;
  char *servers = dag_config_value(cfg, "kafka", "bootstrap_servers");
  bool embedded = servers == NULL || *servers == '\0' || strcmp(servers, "embedded") == 0;
  free(servers);
  if (!embedded) return 0;
  size_t n;
  const char **topics = new_topics(*side, p, dag, &n);
  if (*side) {
    add_topics(*side, topics, n);
    free(topics);
    return 0;
  }
  /* The program the plugin installed beside its shared object. */
  const char *slash = strrchr(p->path, '/');
  char *program = slash ? xasprintf("%.*s/%s", (int)(slash - p->path), p->path,
                                    DAG_KAFKA_SIDE_PROGRAM)
                        : xstrdup(DAG_KAFKA_SIDE_PROGRAM);
  int rc = start(program, cfg->home, topics, n, side);
  if (rc)
    LOG_ERROR("cannot start the embedded Kafka cluster program=%s error=\"%s\"", program,
              dag_strerror(rc));
  else
    LOG_INFO("embedded Kafka cluster started bootstrap_servers=%s pid=%d topics=%zu (in "
             "memory: its data is lost when dagctl stops)", (*side)->bootstraps,
             (int)(*side)->pid, n);
  free(program);
  free(topics);
  return rc;
}

const char *dag_kafka_side_bootstraps(const struct dag_kafka_side *side) {
  return side->bootstraps;
}

void dag_kafka_side_stop(struct dag_kafka_side *side) {
  if (side == NULL) return;
  close(side->in); /* end of file: it stops and removes its address file */
  reap(side->pid, STOP_TIMEOUT_MS);
  for (size_t i = 0; i < side->n_topics; i++) free(side->topics[i]);
  free(side->topics);
  free(side->bootstraps);
  free(side);
}
