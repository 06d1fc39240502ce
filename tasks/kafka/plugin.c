/* plugin.c - the kafka plugin's entry point. */
#include "dagctl/plugin.h"

#include "kafka_tasks.h"

static const struct dagctl_task_type types[] = {
    {
        .size = sizeof(struct dagctl_task_type),
        .name = "generate_events",
        .description = "produce synthetic listening events (JSON) to a Kafka topic",
        .execute = kafka_generate_events,
    },
    {
        .size = sizeof(struct dagctl_task_type),
        .name = "kafka_consumer",
        .description = "service: write a Kafka topic to the lake in hourly NDJSON batches",
        .execute = kafka_consume,
    },
};

static const struct dagctl_plugin plugin = {
    .size = sizeof(struct dagctl_plugin),
    .abi_version = DAGCTL_PLUGIN_ABI_VERSION,
    .name = "kafka",
    .version = "1.0.0",
    .types = types,
    .n_types = sizeof(types) / sizeof(types[0]),
};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
