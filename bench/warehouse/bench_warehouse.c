/* bench_warehouse.c - the bronze load and the dbt build, timed.
 *
 *   bench_warehouse N DIR [PROJECT_DIR]
 *   STEPS=prepare bench_warehouse N DIR [PROJECT_DIR]   # stop before the
 *       incremental build: DIR then holds the state it starts from
 *   STEPS=incremental bench_warehouse N DIR [PROJECT_DIR]  # only that build,
 *       on a DIR left by STEPS=prepare (copy it first to repeat)
 *   STEPS=load bench_warehouse N DIR   # only a load of what DIR/lake holds
 *       that the warehouse does not (remove DIR/warehouse*.db to repeat)
 *
 * Writes N generated events as NDJSON objects of 100k lines under
 * DIR/lake/raw_events/..., in two deliveries: the first 90%, then the
 * last 10%. Each delivery is loaded into the SQLite warehouse
 * DIR/warehouse.db with the bronze loader (rows/s), then the dbt project
 * (default dags/spotify_dbt) builds silver and gold with THREADS threads
 * (default 2): after the first delivery, a first build; after the second,
 * the incremental build (silver adds the new rows, gold is rebuilt: the
 * figure for N events); then a full rebuild of the same N events
 * (--full-refresh), to compare. With WAREHOUSE_URL=postgresql://... the
 * warehouse is that database instead (its bronze, silver and gold schemas
 * are dropped first). 1% of the events are delivered twice (some across
 * the two deliveries) and 0.5% have an out-of-range duration, so silver's
 * deduplication and filter do real work. Prints one line per figure,
 * "name value unit". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "alloc.h"
#include "bronze.h"
#include "dbt.h"
#include "wh.h"

#define PER_OBJECT 100000

/* CPU seconds (user + system) of this process so far: on a shared
 * machine, the part of a wall-clock figure that is ours. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: fast, and the same events on every machine. */
static uint64_t next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static void mkdirs(const char *path) {
  char *p = xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
  free(p);
}

static const char *const devices[] = {"desktop", "mobile", "tablet", "web", "smart_speaker"};
static const char *const types[] = {"play", "pause", "skip", "add_to_playlist"};

static void write_event(FILE *fp, uint64_t id, uint64_t *rng) {
  uint64_t r = next(rng);
  unsigned track = (unsigned)(r % 5000), user = (unsigned)((r >> 16) % 100000);
  /* Skewed popularity: half the plays go to the first 50 tracks. */
  if ((r >> 40) & 1) track %= 50;
  int duration = 1000 + (int)((r >> 20) % 400000);
  if ((r >> 50) % 200 == 0) duration = (r >> 58) & 1 ? 0 : 700000;
  unsigned day = 1 + (unsigned)((r >> 8) % 28), hour = (unsigned)((r >> 3) % 24);
  fprintf(fp,
          "{\"event_id\":\"%016llx-%08llx\",\"user_id\":\"user_%u\",\"event_type\":\"%s\","
          "\"track_id\":\"trk_%u\",\"track_name\":\"Track %u\",\"artist_name\":\"Artist %u\","
          "\"album_name\":\"Album %u\",\"duration_ms\":%d,\"played_at\":\"2026-11-%02uT%02u:%02u:"
          "%02uZ\",\"device_type\":\"%s\",\"country\":\"%s\"}\n",
          (unsigned long long)(id * UINT64_C(0x9e3779b97f4a7c15)), (unsigned long long)id, user,
          types[(r >> 30) % 4], track, track, track % 1000, track % 2000, duration, day, hour,
          (unsigned)((r >> 13) % 60), (unsigned)((r >> 19) % 60), devices[(r >> 33) % 5],
          (r >> 36) % 3 ? "US" : "SE");
}

/* Events [from, to) of the stream (the same events whatever the split). */
static void generate(const char *lake, long from, long to) {
  static uint64_t rng = 42;
  static long written = 0, object = 0;
  FILE *fp = NULL;
  for (long i = from; i < to; i++) {
    if (fp == NULL || written % PER_OBJECT == 0) {
      if (fp) fclose(fp);
      char *dir = xasprintf("%s/raw_events/year=2026/month=11/day=22/hour=%02ld", lake,
                            object % 24);
      mkdirs(dir);
      char *path = xasprintf("%s/spotify-plays-0-%09ld.ndjson", dir, written);
      fp = fopen(path, "w");
      if (fp == NULL) {
        perror(path);
        exit(1);
      }
      static char buf[1 << 20];
      setvbuf(fp, buf, _IOFBF, sizeof(buf));
      free(path);
      free(dir);
      object++;
    }
    write_event(fp, (uint64_t)i, &rng);
    written++;
    /* At-least-once delivery: 1 in 100 events arrives twice. */
    if (i % 100 == 99) {
      uint64_t again = rng;
      write_event(fp, (uint64_t)i - 50, &again);
      written++;
    }
  }
  if (fp) fclose(fp);
}

/* Warnings and errors; with VERBOSE=1 in the environment, every line
 * (dbt's per-model timings). */
static void log_quiet(void *ud, int level, const char *msg) {
  (void)ud;
  static int verbose = -1;
  if (verbose < 0) verbose = getenv("VERBOSE") && strcmp(getenv("VERBOSE"), "1") == 0;
  if (level >= 2 || verbose) fprintf(stderr, "%s\n", msg);
}

static void die(const char *what, char *err) {
  fprintf(stderr, "%s: %s\n", what, err ? err : "?");
  exit(1);
}

/* Load what the lake holds that bronze does not; prints load_* figures
 * with `prefix`. The load is done when it is durable: closing the
 * connection checkpoints the WAL. */
static void load(const struct wh_options *wo, const char *lake, const char *prefix) {
  struct wh *w;
  char *err = NULL;
  if (wh_open(wo, &w, &err) != 0) die("open", err);
  struct bronze_source src;
  bronze_dir_source(lake, &src);
  struct bronze_stats st;
  struct bronze_options bo = {.log = log_quiet};
  double t0 = now_s(), c0 = cpu_s();
  if (bronze_load(w, &src, &bo, &st, &err) != 0) die("load", err);
  wh_close(w);
  double load_s = now_s() - t0;
  printf("%sload_rows %lld rows\n%sload_seconds %.2f s\n%sload_rows_per_second %.0f rows/s\n"
         "%sload_cpu_seconds %.2f s\n",
         prefix, (long long)st.rows_loaded, prefix, load_s, prefix,
         (double)st.rows_loaded / load_s, prefix, cpu_s() - c0);
  fflush(stdout);
}

/* dbt run silver, then gold; prints NAME_silver_seconds, NAME_gold_seconds,
 * NAME_seconds, NAME_silver_cpu_seconds and NAME_cpu_seconds (all threads of
 * this process). */
static void build(const struct wh_options *wo, const char *project, const char *target,
                  int threads, bool full_refresh, const char *name) {
  struct wh *w;
  char *err = NULL;
  if (wh_open(wo, &w, &err) != 0) die("open", err);
  struct dbt_options dopts = {.project_dir = project, .target_dir = target, .log = log_quiet,
                              .threads = threads, .wh_opts = wo, .full_refresh = full_refresh,
                              .default_schema = wh_backend(w) == WH_POSTGRES ? "public" : "main"};
  struct dbt_project *p;
  if (dbt_project_load(&dopts, &p, &err) != 0) die("project", err);
  struct dbt_run_result r;
  double t_all = now_s(), c0 = cpu_s(), t0 = now_s();
  if (dbt_run(p, w, "silver", &r, &err) != 0) die("silver", err);
  printf("%s_silver_seconds %.2f s\n%s_silver_cpu_seconds %.2f s\n", name, now_s() - t0, name,
         cpu_s() - c0);
  fflush(stdout);
  t0 = now_s();
  if (dbt_run(p, w, "gold", &r, &err) != 0) die("gold", err);
  printf("%s_gold_seconds %.2f s\n", name, now_s() - t0);
  printf("%s_seconds %.2f s\n%s_cpu_seconds %.2f s\n", name, now_s() - t_all, name,
         cpu_s() - c0);
  char *rows = NULL;
  wh_query_value(w, "SELECT COUNT(*) FROM silver.silver_plays", NULL, 0, &rows, &err);
  printf("%s_silver_rows %s rows\n", name, rows ? rows : "?");
  fflush(stdout);
  free(rows);
  dbt_project_free(p);
  wh_close(w);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_warehouse N DIR [PROJECT_DIR]\n");
    return 2;
  }
  char *end;
  long n = strtol(argv[1], &end, 10);
  if (*end || n <= 0) {
    fprintf(stderr, "N must be a positive integer\n");
    return 2;
  }
  const char *dir = argv[2];
  const char *project = argc > 3 ? argv[3] : "dags/spotify_dbt";
  const char *threads_env = getenv("THREADS");
  int threads = threads_env && *threads_env ? (int)strtol(threads_env, NULL, 10) : 2;
  char *lake = xasprintf("%s/lake", dir);
  const char *url_env = getenv("WAREHOUSE_URL");
  char *url = url_env && *url_env ? xstrdup(url_env) : xasprintf("%s/warehouse.db", dir);
  char *target = xasprintf("%s/target", dir);
  mkdirs(dir);
  struct wh_options wo = {.url = url};
  char *err = NULL;
  if (strncmp(url, "postgres", 8) == 0) {
    struct wh *w;
    if (wh_open(&wo, &w, &err) != 0) die("open", err);
    if (wh_exec(w, "DROP SCHEMA IF EXISTS bronze, silver, gold CASCADE", &err) != 0)
      die("drop", err);
    wh_close(w);
  }
  long first = n - n / 10;
  const char *steps = getenv("STEPS");
  bool all = steps == NULL || *steps == '\0';

  if (all || strcmp(steps, "prepare") == 0) {
    double t0 = now_s();
    generate(lake, 0, first);
    printf("generate_seconds %.2f s\n", now_s() - t0);
    fflush(stdout);
    load(&wo, lake, "");
    build(&wo, project, target, threads, false, "first_build");
    generate(lake, first, n);
    load(&wo, lake, "delta_");
  }
  if (!all && strcmp(steps, "load") == 0) load(&wo, lake, "");
  if (all || strcmp(steps, "incremental") == 0)
    build(&wo, project, target, threads, false, "incremental");
  if (all) build(&wo, project, target, threads, true, "full_rebuild");
  free(lake);
  free(url);
  free(target);
  return 0;
}
