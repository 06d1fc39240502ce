/* embed.h - an in-process Kafka cluster for the embedded default.
 *
 * When kafka.bootstrap_servers is "embedded", the scheduler (and `dagctl
 * test`) starts dagctl-kafka-embed (embed_main.c), which hosts librdkafka's
 * mock cluster: real Kafka protocol on loopback sockets, so plugins in
 * child processes connect to it like to any broker. Produce, fetch,
 * consumer groups and committed offsets all work across processes. The
 * cluster lives on the Kafka plugin's side: dagctl itself never links
 * librdkafka.
 *
 * Limits, inherent to the mock: everything lives in the process's memory
 * and is gone when it exits; each partition keeps at most about 5 MB (or
 * 100,000 message batches) and silently drops its oldest data beyond that;
 * the listening ports are random at every start, which is why the address is
 * published in a file. Topics not created up front are auto-created with 4
 * partitions on first produce. It is a demo and test broker, not a
 * production one.
 *
 * Errors are negative errno values: -EINVAL for a bad argument, -EEXIST for
 * a topic that exists, -EIO when librdkafka refuses. Logs go to stderr as
 * `LEVEL embedded kafka: ...` lines. */
#ifndef KAFKA_EMBED_H
#define KAFKA_EMBED_H

/* Where a running embedded cluster publishes its bootstrap servers, under
 * DAGCTL_HOME (kconf.c reads it). */
#define KAFKA_EMBED_BOOTSTRAPS_FILE "kafka.bootstraps"

/* The partitions of a topic created without a count (the seed project's
 * `--partitions 3`). */
#define KAFKA_EMBED_PARTITIONS 3
#define KAFKA_EMBED_MAX_PARTITIONS 1000

struct kafka_embed;

/* Start a mock cluster of `brokers` brokers (1 to 3; 0 means 3) listening on
 * 127.0.0.1 and, if `home` is not NULL, write the bootstrap list atomically
 * to HOME/KAFKA_EMBED_BOOTSTRAPS_FILE. librdkafka's threads start with
 * every signal blocked, so SIGTERM and SIGINT keep reaching the main
 * thread. Returns 0 with *out set (stop it with kafka_embed_stop()), or a
 * negative code. */
int kafka_embed_start(const char *home, int brokers, struct kafka_embed **out);

/* "127.0.0.1:PORT,127.0.0.1:PORT,...": what plugins get as
 * connection("kafka", "bootstrap_servers"). Borrowed until stop. */
const char *kafka_embed_bootstraps(const struct kafka_embed *ke);

/* Create `topic` with `partitions` partitions (1 to
 * KAFKA_EMBED_MAX_PARTITIONS). Returns 0, -EINVAL, -EEXIST if this cluster
 * created it already, or -EIO if the cluster refuses. */
int kafka_embed_create_topic(struct kafka_embed *ke, const char *topic, int partitions);

/* Stop the cluster (its data is lost) and remove the bootstrap file if it
 * is still ours. NULL is a no-op. */
void kafka_embed_stop(struct kafka_embed *ke);

/* The bootstrap list a running embedded cluster published under `home`.
 * Returns 0 with *out set (caller frees), -ENOENT when none is running, or
 * another negative code. */
int kafka_embed_read(const char *home, char **out);

#endif
