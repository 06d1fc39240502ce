/* plugin.c - the kafka plugin's entry point. */
#include "dagctl/plugin.h"

#include "kafka_tasks.h"
#include "kconf.h"
#include "lake.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* What producer.c and consumer.c read, with the defaults they apply. */
static const struct dagctl_param generate_params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "count", "200", "events to produce (0 to 10000000)"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "topic", "spotify-plays", "the Kafka topic"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "users", "50", "distinct users (1 to 9999)"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "seed", NULL,
                 "any text; default: the task instance, so a retry resends the same events"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "compression", "lz4", "librdkafka's compression.codec"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "delivery_timeout", "60s",
                 "how long a message may wait for its acknowledgement"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "log_events", NULL,
                 "one debug line per delivered event; default: up to 10000 events"),
};

static const struct dagctl_param consume_params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "topic", "spotify-plays", "the Kafka topic"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "group_id", NULL,
                 "the consumer group; default: dagctl-DAG_ID"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "batch_size", "100", "messages per lake object"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "batch_interval", "60s",
                 "write a partial batch after this long"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "flush_at_end", "false",
                 "also write a partition's batch once the partition is read to its end"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "join_group", NULL,
                 "partitions from the group protocol; default: true, except on the "
                 "embedded cluster (every partition assigned directly, one consumer per "
                 "group at a time)"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "gzip", "false", "gzip the lake objects"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "prefix", "raw_events", "lake key prefix"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "dead_letter_prefix", "dead_letter",
                 "lake key prefix of malformed messages"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "session_timeout", NULL,
                 "the group session timeout; default: 3s embedded, else librdkafka's"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "writers", "4", "lake objects written in parallel"),
};

static const struct dagctl_task_type types[] = {
    {
        .size = sizeof(struct dagctl_task_type),
        .name = "generate_events",
        .description = "produce synthetic listening events (JSON) to a Kafka topic",
        .execute = kafka_generate_events,
        .params = generate_params,
        .n_params = N_ELEMS(generate_params),
    },
    {
        .size = sizeof(struct dagctl_task_type),
        .name = "kafka_consumer",
        .description = "service: write a Kafka topic to the lake in hourly NDJSON batches",
        .execute = kafka_consume,
        .params = consume_params,
        .n_params = N_ELEMS(consume_params),
        .flags = DAGCTL_TYPE_SERVICE,
    },
};

/* The consumer writes to the lake. */
static const struct dagctl_config_section *const sections[] = {&kafka_config_section,
                                                               &lake_config_section};

static const struct dagctl_plugin plugin = {
    .size = sizeof(struct dagctl_plugin),
    .abi_version = DAGCTL_PLUGIN_ABI_VERSION,
    .name = "kafka",
    .version = "1.0.0",
    .types = types,
    .n_types = sizeof(types) / sizeof(types[0]),
    .config_sections = sections,
    .n_config_sections = sizeof(sections) / sizeof(sections[0]),
};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
