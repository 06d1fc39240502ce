/* api_callback_log.c - GET /api/v1/dags/{dag_id}/dagRuns/{run_id}/callbackLog:
 * what the run's callbacks (its DAG's on_success_callback and
 * on_failure_callback) printed, from the run's callbacks.log that the
 * engine writes (sched_callback.c). Airflow keeps these in the DAG
 * processor's log and has no path for them; the DAG page shows this one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "ids.h"
#include "scheduler.h"
#include "secret.h"
#include "store_vars.h"
#include "web_api.h"
#include "web_int.h"

/* The end of a long file is what matters (the latest callbacks); the read
 * happens on the loop, so it is bounded. */
#define CALLBACK_LOG_MAX (256 << 10)

extern char **environ;

void api_callback_log(struct dag_web *w, struct dag_http_conn *c, const char *dag_id,
                      const char *run_id) {
  const char *why = dag_id_problem(DAG_ID_DAG, dag_id);
  if (!why) why = dag_id_problem(DAG_ID_RUN, run_id);
  if (why) {
    web_error(c, 400, "Bad Request", "invalid id (%s)", why);
    return;
  }
  struct dag_store_run run;
  if (!api_get_run(w, c, dag_id, run_id, &run)) return;
  char *rel = dag_run_callbacks_log_rel(run.dag_id, run.run_id);
  char *path = NULL;
  int rc = web_log_path(w->cfg->home, rel, &path);
  free(rel);
  char *text = NULL;
  size_t len = 0;
  int64_t size = 0;
  int fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  free(path);
  struct stat sb;
  if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
    size = sb.st_size;
    int64_t from = size > CALLBACK_LOG_MAX ? size - CALLBACK_LOG_MAX : 0;
    text = xmalloc((size_t)(size - from) + 1);
    ssize_t got = pread(fd, text, (size_t)(size - from), from);
    len = got > 0 ? (size_t)got : 0;
    text[len] = '\0';
  }
  if (fd >= 0) close(fd);
  /* What a callback printed of a secret goes out masked (secret.h). */
  struct dag_masker masker = DAG_MASKER_INIT;
  dag_store_secret_values(w->store, environ, dag_masker_add_cb, &masker);
  if (len) dag_masker_apply(&masker, text, len);
  dag_masker_free(&masker);
  char *clean = web_utf8_clean(text ? text : "");
  web_json(c, 200,
           json_pack("{s:s, s:s, s:s, s:I, s:b}", "dag_id", run.dag_id, "dag_run_id", run.run_id,
                     "content", clean, "size", (json_int_t)size, "truncated",
                     size > (int64_t)len));
  free(clean);
  free(text);
  dag_store_run_free(&run);
}
