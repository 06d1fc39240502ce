/* kafka_side.h - the kafka plugin's embedded cluster, started for the DAGs
 * that use it.
 *
 * When kafka.bootstrap_servers is "embedded" (the default), the scheduler
 * (and `dagctl test`) runs dagctl-kafka-embed, the program the kafka plugin
 * installs beside kafka.so (tasks/kafka/embed_main.c): librdkafka's mock
 * cluster in a process of its own, so dagctl links no librdkafka. It starts
 * only once a loaded DAG has a task of a type the plugin named "kafka"
 * provides (as the catalog says), and creates the topics those tasks name
 * (their `topic` parameter, else its declared default); a topic written
 * with {{ }} is left to be auto-created on first produce. Plugin tasks get
 * the address in DAGCTL_KAFKA_BOOTSTRAPS; the cluster also publishes it in
 * HOME/kafka.bootstraps.
 *
 * The cluster's stdin is a pipe whose other end only this process holds
 * (close-on-exec): when the scheduler exits, even by SIGKILL, the cluster
 * sees end of file and stops. It runs in a process group of its own, so a
 * Ctrl-C at the terminal leaves it up until the scheduler's tasks (a
 * consumer committing its offsets) are done. */
#ifndef DAG_KAFKA_SIDE_H
#define DAG_KAFKA_SIDE_H

#include "config.h"
#include "dag.h"
#include "plugin_decl.h"

/* The cluster's program, in the folder of the plugin that provides it. */
#define DAG_KAFKA_SIDE_PROGRAM "dagctl-kafka-embed"
/* The name the kafka plugin gives itself (struct dagctl_plugin.name). */
#define DAG_KAFKA_SIDE_PLUGIN "kafka"

struct dag_kafka_side;

/* Make sure the cluster runs with the topics `dag` needs, if it needs any:
 * start it (*side set) on the first such DAG, then hand the running one
 * the topics it has not created yet. Blocks until the cluster printed its
 * address (tens of milliseconds, at most 10 s), the same wait as the
 * catalog's child. Returns 0 (also when `dag` needs no cluster, or the
 * catalog `c`, which may be NULL, does not know the kafka plugin), or a
 * negative code with the reason logged. */
int dag_kafka_side_need(struct dag_kafka_side **side, const struct dag_plugin_catalog *c,
                        const struct dag_config *cfg, const struct dag *dag);

/* Whether `dag` has a task of a type the kafka plugin provides. */
bool dag_kafka_side_used(const struct dag_plugin_catalog *c, const struct dag *dag);

/* "127.0.0.1:PORT,...": borrowed until dag_kafka_side_stop(). */
const char *dag_kafka_side_bootstraps(const struct dag_kafka_side *side);

/* Stop the cluster (its data is lost) and wait for it (at most 5 s, then
 * SIGKILL). NULL is a no-op. */
void dag_kafka_side_stop(struct dag_kafka_side *side);

#endif
