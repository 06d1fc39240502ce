/* common.h - small helpers shared by every module. */
#ifndef DAG_COMMON_H
#define DAG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define DAG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Recover the struct that embeds a uv_* handle (libuv's idiom). */
#define container_of(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

#define DAG_UNUSED(x) ((void)(x))

/* Wall-clock instants are microseconds since the Unix epoch, UTC. Only cron,
 * logical dates and display use them; timers use uv_now()/uv_hrtime(). */
typedef int64_t dag_time_t;

#define DAG_USEC_PER_SEC INT64_C(1000000)
#define DAG_USEC_PER_MSEC INT64_C(1000)

#endif
