/* kconf.c - cluster configuration and typed params (see kconf.h). */
#include "kconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "batch.h"
#include "duration.h"
#include "embed.h"

/* dagctl-kafka-embed (embed.c) writes it. */
#define BOOTSTRAPS_FILE KAFKA_EMBED_BOOTSTRAPS_FILE
#define BOOTSTRAPS_MAX 4096

/* The handle's opaque points at a struct whose first member is the host. */
static const struct dagctl_host *host_of(const rd_kafka_t *rk) {
  return *(const struct dagctl_host *const *)rd_kafka_opaque(rk);
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  const struct dagctl_host *h = host_of(rk);
  enum dagctl_log_level l = level <= 3   ? DAGCTL_LOG_ERROR
                            : level == 4 ? DAGCTL_LOG_WARN
                            : level <= 6 ? DAGCTL_LOG_INFO
                                         : DAGCTL_LOG_DEBUG;
  h->log(h, l, "librdkafka: %s facility=%s", buf, fac);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)opaque;
  const struct dagctl_host *h = host_of(rk);
  /* Transient by nature (a broker going away); the fatal ones are seen
   * again through the calls that fail. */
  h->log(h, DAGCTL_LOG_WARN, "kafka: %s error=%s", reason,
         rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

int kconf_set(const struct dagctl_host *h, rd_kafka_conf_t *conf, const char *name,
              const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
    return 0;
  /* Never echo the value: it may be the SASL password. */
  h->log(h, DAGCTL_LOG_ERROR, "kafka: cannot set %s: %s", name, errstr);
  return -1;
}

/* HOME/kafka.bootstraps, or NULL (after logging why, unless quiet). */
static char *read_embedded(const struct dagctl_host *h, bool quiet) {
  const char *home = h->context(h, "home");
  if (home == NULL || *home == '\0') {
    if (!quiet)
      h->log(h, DAGCTL_LOG_ERROR, "kafka: bootstrap_servers is 'embedded' but the host gave "
                                  "no home folder to find the embedded cluster in");
    return NULL;
  }
  char *path = xasprintf("%s/" BOOTSTRAPS_FILE, home);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (!quiet)
      h->log(h, DAGCTL_LOG_ERROR,
             "kafka: bootstrap_servers is 'embedded' but no embedded cluster runs for this "
             "home (%s: %s); start the scheduler, or set kafka.bootstrap_servers",
             path, strerror(errno));
    free(path);
    return NULL;
  }
  char buf[BOOTSTRAPS_MAX + 1];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    len += (size_t)n;
  }
  close(fd);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
    len--;
  buf[len] = '\0';
  if (len == 0) {
    if (!quiet) h->log(h, DAGCTL_LOG_ERROR, "kafka: %s is empty", path);
    free(path);
    return NULL;
  }
  free(path);
  return xstrdup(buf);
}

/* Whether `servers` is the embedded cluster's address: the host may hand
 * plugins the address itself rather than "embedded". */
static bool is_embedded_address(const struct dagctl_host *h, const char *servers) {
  const char *env = getenv("DAGCTL_KAFKA_BOOTSTRAPS");
  if (env && strcmp(env, servers) == 0) return true;
  char *published = read_embedded(h, true);
  bool same = published && strcmp(published, servers) == 0;
  free(published);
  return same;
}

static const struct dagctl_setting settings[] = {
    /* "embedded": the scheduler (or `dagctl test`) hosts librdkafka's mock
     * cluster and publishes its address (read_embedded()). */
    DAGCTL_SETTING(DAGCTL_SETTING_BROKERS, 0, "bootstrap_servers", "embedded", "embedded",
                   "the brokers, host:port,host:port, or 'embedded'"),
    /* Unset: librdkafka's default, plaintext. The spellings are
     * librdkafka's, which the host keeps whatever the case written. */
    DAGCTL_SETTING(DAGCTL_SETTING_ENUM, 0, "security_protocol", NULL,
                   "plaintext,ssl,sasl_plaintext,sasl_ssl", "librdkafka's security.protocol"),
    DAGCTL_SETTING(DAGCTL_SETTING_ENUM, 0, "sasl_mechanism", NULL,
                   "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,GSSAPI,OAUTHBEARER",
                   "librdkafka's sasl.mechanisms"),
    DAGCTL_SETTING(DAGCTL_SETTING_STRING, 0, "sasl_username", NULL, NULL, "the SASL user"),
    /* Like smtp.password: the environment or a file, never dagctl.yaml. */
    DAGCTL_SETTING(DAGCTL_SETTING_PASSWORD, DAGCTL_SETTING_SECRET, "sasl_password", NULL, NULL,
                   "the SASL password"),
    DAGCTL_SETTING(DAGCTL_SETTING_PATH, 0, "ssl_ca_location", NULL, NULL,
                   "trusted CAs (PEM); unset: the system's"),
};

const struct dagctl_config_section kafka_config_section = {
    sizeof(struct dagctl_config_section), "kafka", "the Kafka cluster of the event stream",
    settings, sizeof(settings) / sizeof(settings[0])};

rd_kafka_conf_t *kconf_new(const struct dagctl_host *h, bool *embedded) {
  const char *servers = h->connection(h, "kafka", "bootstrap_servers");
  *embedded = servers == NULL || *servers == '\0' || strcmp(servers, "embedded") == 0;
  char *owned = NULL;
  if (*embedded) {
    owned = read_embedded(h, false);
    if (owned == NULL) return NULL;
    servers = owned;
  } else {
    *embedded = is_embedded_address(h, servers);
  }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  int rc = kconf_set(h, conf, "bootstrap.servers", servers);
  if (rc == 0) rc = kconf_set(h, conf, "log.queue", "true");
  /* librdkafka's "info" is chatty; its notices and worse are worth a line. */
  if (rc == 0) rc = kconf_set(h, conf, "log_level", "5");
  static const struct {
    const char *key, *prop;
  } map[] = {
      {"security_protocol", "security.protocol"}, {"sasl_mechanism", "sasl.mechanisms"},
      {"sasl_username", "sasl.username"},         {"sasl_password", "sasl.password"},
      {"ssl_ca_location", "ssl.ca.location"},
  };
  for (size_t i = 0; rc == 0 && i < sizeof(map) / sizeof(map[0]); i++) {
    const char *v = h->connection(h, "kafka", map[i].key);
    if (v && *v) rc = kconf_set(h, conf, map[i].prop, v);
  }
  if (rc == 0)
    h->log(h, DAGCTL_LOG_DEBUG, "kafka: cluster bootstrap_servers=%s%s", servers,
           *embedded ? " (embedded)" : "");
  free(owned);
  if (rc != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

void kconf_log_to_queue(rd_kafka_t *rk) {
  rd_kafka_set_log_queue(rk, NULL);
}

/* --- params -------------------------------------------------------------- */

int kconf_param_int(const struct dagctl_host *h, const char *name, long long def,
                    long long min, long long max, long long *out) {
  const char *v = h->param(h, name);
  if (v == NULL) {
    *out = def;
    return 0;
  }
  if (bt_parse_int(v, min, max, out) == 0) return 0;
  h->log(h, DAGCTL_LOG_ERROR, "param %s: expected an integer from %lld to %lld, got '%s'", name,
         min, max, v);
  return -1;
}

int kconf_param_bool(const struct dagctl_host *h, const char *name, bool def, bool *out) {
  const char *v = h->param(h, name);
  if (v == NULL) {
    *out = def;
    return 0;
  }
  if (bt_parse_bool(v, out) == 0) return 0;
  h->log(h, DAGCTL_LOG_ERROR, "param %s: expected true or false, got '%s'", name, v);
  return -1;
}

int kconf_param_duration_ms(const struct dagctl_host *h, const char *name, int64_t def,
                            int64_t *out) {
  const char *v = h->param(h, name);
  if (v == NULL) {
    *out = def;
    return 0;
  }
  int64_t us;
  if (dag_duration_parse(v, &us) == 0) {
    *out = us / 1000;
    return 0;
  }
  h->log(h, DAGCTL_LOG_ERROR,
         "param %s: expected a duration such as 500ms, 60s or 5m (or seconds), got '%s'",
         name, v);
  return -1;
}

const char *kconf_param_str(const struct dagctl_host *h, const char *name, const char *def) {
  const char *v = h->param(h, name);
  return v && *v ? v : def;
}
