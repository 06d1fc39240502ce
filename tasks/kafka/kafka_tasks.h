/* kafka_tasks.h - the kafka plugin's task types (plugin.c lists them). */
#ifndef KAFKA_TASKS_H
#define KAFKA_TASKS_H

#include "dagctl/plugin.h"

/* generate_events: synthetic listening events into a topic (producer.c). */
enum dagctl_result kafka_generate_events(const struct dagctl_host *h);

/* kafka_consumer: a service writing a topic to the lake (consumer.c). */
enum dagctl_result kafka_consume(const struct dagctl_host *h);

#endif
