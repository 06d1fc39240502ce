/* cmd_export.c - `dagctl export DAG RUN` writes one run, its logs, conf and
 * DAG version into a bundle file (bundle.h); `dagctl import FILE` loads it
 * into another home, for incident review: the status page shows it with the
 * same states and logs, and no scheduler there ever runs it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "bundle.h"
#include "cli.h"
#include "dag_serial.h"
#include "error.h"
#include "fsutil.h"
#include "ids.h"
#include "timeutil.h"

static const char export_usage[] = "dagctl export DAG RUN_ID [-o FILE] [--json]";
static const char import_usage[] = "dagctl import FILE [--json]";

/* The options of both verbs: -o/--output (export only) and --json. */
static int parse(struct cli *c, int argc, char **argv, const char *usage, const char *help,
                 const char **output) {
  enum { OPT_OUTPUT = 'o' };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"output", required_argument, NULL, OPT_OUTPUT},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n%s", usage, help);
      return CLI_OK;
    case OPT_JSON:
      c->json = true;
      break;
    case OPT_OUTPUT:
      if (!output) return cli_usage_error(usage, "-o is for export");
      *output = optarg;
      break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(usage, "bad option");
    }
  }
  return -1;
}

/* The whole file at `path`, at most `max` bytes, into *out (caller frees);
 * -errno, or -EFBIG when it is larger. */
static int read_file(const char *path, size_t max, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
  }
  if ((size_t)st.st_size > max) {
    close(fd);
    return -EFBIG;
  }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = xcalloc(cap, 1);
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > max) {
        free(buf);
        close(fd);
        return -EFBIG;
      }
      buf = xgrow(buf, &cap, cap * 2, 1);
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = -errno;
      free(buf);
      close(fd);
      return e;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* --- export ------------------------------------------------------------------ */

/* Write `text` to `path` whole or not at all, never over an existing file:
 * a temporary file beside it, then link(2), which fails if the name is
 * taken. */
static int write_new_file(const char *path, const char *text, size_t len) {
  char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = -errno;
    free(tmp);
    return e;
  }
  int rc = 0;
  for (size_t off = 0; off < len && rc == 0;) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) rc = -errno;
    else off += (size_t)w;
  }
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && link(tmp, path) != 0) rc = -errno;
  unlink(tmp);
  free(tmp);
  return rc;
}

int cmd_export(struct cli *c, int argc, char **argv) {
  const char *output = NULL;
  int rc = parse(c, argc, argv, export_usage,
                 "Writes one file, a JSON document, with everything about one run: the run,\n"
                 "its task instances, tries and XComs, each try's log, its conf and the DAG\n"
                 "version it ran (the serialized DAG and the file's text). `dagctl import`\n"
                 "loads it into another home. A run still going is taken as it is now.\n"
                 "The file is FILE (default DAG__RUN_ID.dagctl-run.json); an existing file\n"
                 "is never overwritten. --json prints {file, dag_id, dag_run_id,\n"
                 "task_instances, tries, logs, xcom, bytes}.\n",
                 &output);
  if (rc >= 0) return rc;
  if (optind + 2 != argc) return cli_usage_error(export_usage, "expected a DAG id and a run id");
  const char *dag_id = argv[optind], *run_id = argv[optind + 1];
  const char *why = dag_id_problem(DAG_ID_DAG, dag_id);
  if (why) return cli_usage_error(export_usage, "invalid DAG id '%s' (%s)", dag_id, why);
  if ((why = dag_id_problem(DAG_ID_RUN, run_id)))
    return cli_usage_error(export_usage, "invalid run id '%s' (%s)", run_id, why);
  if ((rc = cli_open(c)) != 0) return rc;

  struct dag_bundle b;
  memset(&b, 0, sizeof(b));
  int src = dag_store_get_run(c->store, dag_id, run_id, &b.run);
  if (src == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: DAG '%s' has no run '%s' (see: dagctl runs %s)\n", dag_id, run_id,
            dag_id);
    return CLI_NOTFOUND;
  }
  if (!src && b.run.dag_version_id) {
    src = dag_store_get_version(c->store, b.run.dag_version_id, NULL, true, &b.version);
    b.has_version = src == 0;
  }
  if (!src) src = dag_store_list_tis(c->store, b.run.pk, &b.tis, &b.n_tis);
  if (!src) src = dag_store_list_tries(c->store, b.run.pk, NULL, &b.tries, &b.n_tries);
  if (!src) src = dag_store_xcom_list(c->store, b.run.pk, &b.xcom, &b.n_xcom);
  if (src) {
    fprintf(stderr, "dagctl: cannot read the run: %s (%s)\n", dag_strerror(src),
            dag_store_errmsg(c->store));
    dag_bundle_free(&b);
    return CLI_CONFIG;
  }
  b.exported_at = dag_time_now();
  b.logs = xcalloc(b.n_tries + 1, sizeof(*b.logs));
  size_t n_logs = 0, total = 0;
  for (size_t i = 0; i < b.n_tries; i++) {
    /* Paths in the store are dagctl's own, from validated ids; one that
     * could climb out of the logs folder is left out, not followed. */
    if (!dag_id_rel_path_is_safe(b.tries[i].log_path)) {
      fprintf(stderr, "dagctl: note: try %d of %s: log path outside the logs folder, left out\n",
              b.tries[i].try_number, b.tries[i].task_id);
      continue;
    }
    char *path = xasprintf("%s/logs/%s", c->cfg.home, b.tries[i].log_path);
    int frc = read_file(path, DAG_BUNDLE_MAX_BYTES - total, &b.logs[i].data, &b.logs[i].len);
    if (frc == 0) {
      b.logs[i].present = true;
      total += b.logs[i].len;
      n_logs++;
    } else if (frc == -EFBIG) {
      fprintf(stderr, "dagctl: the logs of this run exceed %u bytes: %s\n",
              DAG_BUNDLE_MAX_BYTES, path);
      free(path);
      dag_bundle_free(&b);
      return CLI_FAILED;
    } else if (frc != -ENOENT) {
      fprintf(stderr, "dagctl: note: %s: %s; the try goes without its log\n", path,
              strerror(-frc));
    }
    free(path);
  }
  char *dflt = output ? NULL : xasprintf("%s__%s.dagctl-run.json", dag_id, run_id);
  const char *file = output ? output : dflt;
  json_t *doc = dag_bundle_to_json(&b);
  char *text = json_dumps(doc, JSON_INDENT(1));
  json_decref(doc);
  int wrc = text ? write_new_file(file, text, strlen(text)) : -ENOMEM;
  size_t bytes = text ? strlen(text) : 0;
  free(text);
  rc = CLI_OK;
  if (wrc) {
    fprintf(stderr, "dagctl: cannot write %s: %s\n", file,
            wrc == -EEXIST ? "the file exists (choose another with -o)" : strerror(-wrc));
    rc = CLI_FAILED;
  } else if (c->json) {
    cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "file", file, "dag_id",
                             dag_id, "dag_run_id", run_id, "task_instances",
                             (json_int_t)b.n_tis, "tries", (json_int_t)b.n_tries, "logs",
                             (json_int_t)n_logs, "xcom", (json_int_t)b.n_xcom, "bytes",
                             (json_int_t)bytes));
  } else {
    printf("%s\n", file);
    fprintf(stderr, "exported %s %s (%zu task instances, %zu tries, %zu logs, %zu XComs)\n",
            dag_id, run_id, b.n_tis, b.n_tries, n_logs, b.n_xcom);
  }
  free(dflt);
  dag_bundle_free(&b);
  return rc;
}

/* --- import ------------------------------------------------------------------ */

/* Write each try's log under DAGCTL_HOME/logs at the path this home's
 * scheduler would give it (from the validated ids, never from the bundle),
 * refusing to replace a file. Stores the relative paths in rel[i]; on
 * failure removes what it wrote and returns -errno after printing why. */
static int write_logs(struct cli *c, const struct dag_bundle *b, char **rel, char **full) {
  for (size_t i = 0; i < b->n_tries; i++) {
    const struct dag_store_try *t = &b->tries[i];
    rel[i] = xasprintf("%s/%s/%s/%d.log", b->run.dag_id, b->run.run_id, t->task_id,
                       t->try_number);
    if (!b->logs[i].present) continue;
    full[i] = xasprintf("%s/logs/%s", c->cfg.home, rel[i]);
    int rc = dag_fs_mkdir_parents(full[i]);
    int fd = rc ? -1 : open(full[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      rc = rc ? rc : -errno;
      fprintf(stderr, "dagctl: cannot write %s: %s\n", full[i], strerror(-rc));
      free(full[i]);
      full[i] = NULL; /* not ours to remove */
      return rc;
    }
    for (size_t off = 0; off < b->logs[i].len && rc == 0;) {
      ssize_t w = write(fd, b->logs[i].data + off, b->logs[i].len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) rc = -errno;
      else off += (size_t)w;
    }
    if (close(fd) != 0 && rc == 0) rc = -errno;
    if (rc) {
      fprintf(stderr, "dagctl: cannot write %s: %s\n", full[i], strerror(-rc));
      return rc;
    }
  }
  return 0;
}

/* The DAG row, when this home does not know the DAG (created paused and
 * inactive: no file here defines it, nothing here schedules it), and the
 * run's version. One transaction with the run (the caller's). */
static int put_dag(struct cli *c, const struct dag_bundle *b, int64_t *version_id) {
  *version_id = 0;
  struct dag_store_dag row;
  int rc = dag_store_get_dag(c->store, b->run.dag_id, &row);
  bool known = rc == 0;
  if (known) dag_store_dag_free(&row);
  if (rc && rc != DAG_ENOTFOUND) return rc;
  if (!b->has_version) {
    if (known) return 0;
    fprintf(stderr,
            "dagctl: the bundle has no DAG version and this home does not know DAG '%s'\n",
            b->run.dag_id);
    return DAG_ENOTFOUND;
  }
  dag_time_t now = dag_time_now();
  bool paused;
  if (!known && (rc = dag_store_sync_dag(c->store, b->dag, true, now, &paused)) != 0) return rc;
  if ((rc = dag_store_put_version(c->store, b->dag, b->version.source_code, !known, now,
                                  version_id, NULL)) != 0)
    return rc;
  if (!known) rc = dag_store_set_dag_active(c->store, b->run.dag_id, false);
  return rc;
}

int cmd_import(struct cli *c, int argc, char **argv) {
  int rc = parse(c, argc, argv, import_usage,
                 "Loads a bundle written by `dagctl export` into this home: the run with its\n"
                 "states, tries, logs, XComs, conf and DAG version, marked imported (the\n"
                 "API's imported_at). No scheduler resumes, schedules or clears an imported\n"
                 "run. A DAG this home does not know is recorded paused and inactive. The\n"
                 "whole bundle is checked first, and refused (exit 1) with the field at\n"
                 "fault, as is a run that already exists here. --json prints {dag_id,\n"
                 "dag_run_id, state, task_instances, tries, logs, xcom}.\n",
                 NULL);
  if (rc >= 0) return rc;
  if (optind + 1 != argc) return cli_usage_error(import_usage, "expected one bundle file");
  const char *file = argv[optind];
  char *text = NULL;
  size_t len = 0;
  int frc = read_file(file, DAG_BUNDLE_MAX_BYTES, &text, &len);
  if (frc) {
    fprintf(stderr, "dagctl: %s: %s\n", file,
            frc == -EFBIG ? "larger than a bundle may be" : strerror(-frc));
    return CLI_FAILED;
  }
  struct dag_bundle b;
  char *err = NULL;
  rc = dag_bundle_parse(text, len, &b, &err);
  free(text);
  if (rc) {
    fprintf(stderr, "dagctl: %s:%s%s\n", file, err[0] >= '0' && err[0] <= '9' ? "" : " ", err);
    free(err);
    return CLI_FAILED;
  }
  if ((rc = cli_open(c)) != 0) {
    dag_bundle_free(&b);
    return rc;
  }
  struct dag_store_run existing;
  if (dag_store_get_run(c->store, b.run.dag_id, b.run.run_id, &existing) == 0) {
    dag_store_run_free(&existing);
    fprintf(stderr, "dagctl: DAG '%s' already has a run '%s' in %s; nothing imported\n",
            b.run.dag_id, b.run.run_id, c->cfg.home);
    dag_bundle_free(&b);
    return CLI_FAILED;
  }
  char **rel = xcalloc(b.n_tries + 1, sizeof(*rel)), **full = xcalloc(b.n_tries + 1, sizeof(*full));
  size_t n_logs = 0;
  for (size_t i = 0; i < b.n_tries; i++) n_logs += b.logs[i].present;
  int src = write_logs(c, &b, rel, full);
  int64_t version_id = 0, pk = 0;
  if (!src && !(src = dag_store_begin(c->store))) {
    src = put_dag(c, &b, &version_id);
    if (!src)
      src = dag_store_import_run(c->store, &b, (const char *const *)rel, version_id,
                                 dag_time_now(), &pk);
    if (src)
      dag_store_rollback(c->store);
    else
      src = dag_store_commit(c->store);
    if (src == DAG_EEXIST)
      fprintf(stderr, "dagctl: DAG '%s' already has a run '%s'; nothing imported\n",
              b.run.dag_id, b.run.run_id);
    else if (src && src != DAG_ENOTFOUND)
      fprintf(stderr, "dagctl: cannot import: %s (%s)\n", dag_strerror(src),
              dag_store_errmsg(c->store));
  }
  /* Nothing half-done: the logs go when the rows do not come. */
  for (size_t i = 0; i < b.n_tries; i++) {
    if (src && full[i]) unlink(full[i]);
    free(full[i]);
    free(rel[i]);
  }
  free(full);
  free(rel);
  if (!src && c->json)
    cli_print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "dag_id", b.run.dag_id,
                             "dag_run_id", b.run.run_id, "state",
                             dag_run_state_name(b.run.state), "task_instances",
                             (json_int_t)b.n_tis, "tries", (json_int_t)b.n_tries, "logs",
                             (json_int_t)n_logs, "xcom", (json_int_t)b.n_xcom));
  else if (!src)
    printf("imported %s %s (%s; %zu task instances, %zu tries, %zu logs, %zu XComs)\n",
           b.run.dag_id, b.run.run_id, dag_run_state_name(b.run.state), b.n_tis, b.n_tries,
           n_logs, b.n_xcom);
  dag_bundle_free(&b);
  return src ? CLI_FAILED : CLI_OK;
}
