/* kafka_embed.h - an in-process Kafka cluster for the embedded default.
 *
 * When kafka.bootstrap_servers is "embedded", the scheduler (and `dagctl
 * test`) hosts librdkafka's mock cluster: real Kafka protocol on loopback
 * sockets, so plugins in child processes connect to it like to any broker.
 * Produce, fetch, consumer groups and committed offsets all work across
 * processes.
 *
 * Limits, inherent to the mock: everything lives in this process's memory
 * and is gone when it exits; each partition keeps at most about 5 MB (or
 * 100,000 message batches) and silently drops its oldest data beyond that;
 * the listening ports are random at every start, which is why the address is
 * published in a file. Topics other than the default are auto-created with 4
 * partitions on first produce. It is a demo and test broker, not a
 * production one. */
#ifndef DAG_KAFKA_EMBED_H
#define DAG_KAFKA_EMBED_H

/* Where a running embedded cluster publishes its bootstrap servers, under
 * DAGCTL_HOME. */
#define DAG_KAFKA_BOOTSTRAPS_FILE "kafka.bootstraps"

/* The topic created at start, with a fixed partition count (the seed
 * project's `--partitions 3`). */
#define DAG_KAFKA_EMBED_TOPIC "spotify-plays"
#define DAG_KAFKA_EMBED_PARTITIONS 3

struct dag_kafka_embed;

/* Start a mock cluster of `brokers` brokers (1 to 3; 0 means 3) listening on
 * 127.0.0.1, create DAG_KAFKA_EMBED_TOPIC, and, if `home` is not NULL,
 * write the bootstrap list atomically to HOME/DAG_KAFKA_BOOTSTRAPS_FILE.
 * librdkafka's threads start with every signal blocked, so SIGTERM and
 * SIGINT keep reaching the thread that runs the loop. Returns 0 with *out
 * set (stop it with dag_kafka_embed_stop()), or a negative code: -errno
 * for the file, DAG_EINVAL for a bad count, -EIO if librdkafka refuses. */
int dag_kafka_embed_start(const char *home, int brokers, struct dag_kafka_embed **out);

/* "127.0.0.1:PORT,127.0.0.1:PORT,...": what plugins get as
 * connection("kafka", "bootstrap_servers"). Borrowed until stop. */
const char *dag_kafka_embed_bootstraps(const struct dag_kafka_embed *ke);

/* Create `topic` with `partitions` partitions (1 to 1000). Returns 0,
 * DAG_EINVAL, or -EIO if the cluster refuses (e.g. it already exists). */
int dag_kafka_embed_create_topic(struct dag_kafka_embed *ke, const char *topic,
                                 int partitions);

/* Stop the cluster (its data is lost) and remove the bootstrap file if it
 * is still ours. NULL is a no-op. */
void dag_kafka_embed_stop(struct dag_kafka_embed *ke);

/* The bootstrap list a running embedded cluster published under `home`.
 * Returns 0 with *out set (caller frees), -ENOENT when none is running, or
 * another -errno. */
int dag_kafka_embed_read(const char *home, char **out);

#endif
