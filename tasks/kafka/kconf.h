/* kconf.h - what both kafka tasks share: the cluster's librdkafka
 * configuration from the host's `kafka` connection, and typed params. */
#ifndef KAFKA_KCONF_H
#define KAFKA_KCONF_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "dagctl/plugin.h"

/* librdkafka configuration for the cluster named by connection("kafka",
 * ...): bootstrap_servers ("embedded" or unset: the list a running
 * scheduler published in HOME/kafka.bootstraps), security_protocol,
 * sasl_*, ssl_ca_location. librdkafka's own log lines go to the task's log,
 * delivered on the thread that polls (never from librdkafka's threads).
 * *embedded tells whether the embedded mock cluster is the target: the
 * setting says "embedded", or names the address the scheduler published
 * (HOME/kafka.bootstraps or DAGCTL_KAFKA_BOOTSTRAPS), as the host may
 * resolve it before the plugin sees it.
 * Returns NULL after logging why. */
rd_kafka_conf_t *kconf_new(const struct dagctl_host *h, bool *embedded);

/* The `kafka:` section of dagctl.yaml, which this plugin alone reads. */
extern const struct dagctl_config_section kafka_config_section;

/* Set one property; logs and returns -1 if librdkafka refuses it. */
int kconf_set(const struct dagctl_host *h, rd_kafka_conf_t *conf, const char *name,
              const char *value);

/* Route the handle's log lines to the main queue, served by rd_kafka_poll()
 * or rd_kafka_consumer_poll(). Call right after rd_kafka_new(). */
void kconf_log_to_queue(rd_kafka_t *rk);

/* Typed params: the default when the param is absent; -1 after logging a
 * message naming the param and the expected form. */
int kconf_param_int(const struct dagctl_host *h, const char *name, long long def,
                    long long min, long long max, long long *out);
int kconf_param_bool(const struct dagctl_host *h, const char *name, bool def, bool *out);
int kconf_param_duration_ms(const struct dagctl_host *h, const char *name, int64_t def,
                            int64_t *out);
/* A string param, or `def` when absent or empty. Borrowed. */
const char *kconf_param_str(const struct dagctl_host *h, const char *name, const char *def);

#endif
