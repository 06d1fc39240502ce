/* dag_validate_notify.c - a DAG's own notification targets:
 *
 *   notify:
 *     - data-team@example.com        # its alerts are mailed here too
 *     - kind: webhook                # and POSTed here too
 *       format: slack                # json (default) | slack | teams
 *       url_connection: slack_data   # the connection whose password is the URL
 *
 * As Airflow's notifiers (SlackWebhookNotifier's slack_webhook_conn_id), a
 * webhook is named by a connection: its URL holds the receiver's token, a
 * secret that never belongs in a DAG file, so `url` is refused with that
 * reason, and so is `url_file`, which would let a DAG file read any file
 * of the scheduler's machine. The keys and formats are the global notify
 * section's (config.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dag_load_int.h"
#include "conn.h"

static const char *const formats[] = {"json", "slack", "teams"};

/* An address that can go to an SMTP server as is; the rest of the check
 * (alerts_msg.h) happens again when a mail is composed. */
static bool address_ok(const char *s) {
  const char *at = strchr(s, '@');
  if (!at || at == s || at[1] == '\0' || strchr(at + 1, '@')) return false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= 0x20 || *p == 0x7f || strchr("<>,;\"()\\", *p)) return false;
  return strlen(s) <= 254;
}

static void add_email(struct loadctx *ctx, const struct dag_ynode *n, const char *path,
                      struct dag *dag) {
  char *addr = NULL;
  if (!dag_yaml_get_string(&ctx->y, n, path, &addr)) return;
  if (!address_ok(addr)) {
    dag_yaml_err(&ctx->y, n, path,
                 "'%.200s' is not an email address (a webhook is a mapping with kind: webhook)",
                 addr);
    free(addr);
    return;
  }
  for (size_t i = 0; i < dag->n_notify_email; i++)
    if (strcmp(dag->notify_email[i], addr) == 0) {
      dag_yaml_err(&ctx->y, n, path, "'%s' is listed twice", addr);
      free(addr);
      return;
    }
  dag->notify_email = xrealloc(dag->notify_email, (dag->n_notify_email + 1) * sizeof(char *));
  dag->notify_email[dag->n_notify_email++] = addr;
}

static void add_hook(struct loadctx *ctx, const struct dag_ynode *m, const char *path,
                     struct dag *dag) {
  static const char *const keys[] = {"kind", "format", "url_connection", "url", "url_file"};
  const struct dag_ynode *kind = NULL, *format = NULL, *conn = NULL;
  bool bad = false;
  for (size_t i = 0; i < m->n / 2; i++) {
    const struct dag_ynode *k = DAG_YN_KEY(m, i), *v = DAG_YN_VAL(m, i);
    char *p = dag_yaml_path_key(path, k->value);
    if (strcmp(k->value, "kind") == 0) {
      kind = v;
    } else if (strcmp(k->value, "format") == 0) {
      format = v;
    } else if (strcmp(k->value, "url_connection") == 0) {
      conn = v;
    } else if (strcmp(k->value, "url") == 0 || strcmp(k->value, "url_file") == 0) {
      /* The value is not echoed: it may be the token itself. */
      dag_yaml_err(&ctx->y, k, p,
                   "a webhook's URL holds its token, a secret: keep it in a connection "
                   "(dagctl connections add, or DAGCTL_CONN_<NAME>) and name it with "
                   "url_connection");
      bad = true;
    } else {
      dag__unknown_key(ctx, k, path, keys, 3);
      bad = true;
    }
    free(p);
  }
  char *kp = dag_yaml_path_key(path, "kind");
  char *fp = dag_yaml_path_key(path, "format");
  char *cp = dag_yaml_path_key(path, "url_connection");
  char *k = NULL, *f = NULL, *c = NULL;
  if (!kind || dag_yaml_is_null(kind)) {
    dag_yaml_err(&ctx->y, kind ? kind : m, kp, "required key is missing (webhook)");
    bad = true;
  } else if (dag_yaml_get_string(&ctx->y, kind, kp, &k) && strcmp(k, "webhook") != 0) {
    dag_yaml_err(&ctx->y, kind, kp, "unknown kind '%.100s' (the one kind is webhook)", k);
    bad = true;
  } else if (!k) {
    bad = true;
  }
  if (format && !dag_yaml_is_null(format)) {
    if (!dag_yaml_get_string(&ctx->y, format, fp, &f)) {
      bad = true;
    } else {
      bool known = false;
      for (size_t i = 0; i < 3 && !known; i++) known = strcmp(f, formats[i]) == 0;
      if (!known) {
        dag_yaml_err(&ctx->y, format, fp, "unknown format '%.100s' (json, slack or teams)", f);
        bad = true;
      }
    }
  }
  if (!conn || dag_yaml_is_null(conn)) {
    dag_yaml_err(&ctx->y, conn ? conn : m, cp,
                 "required key is missing (the connection whose password is the URL)");
    bad = true;
  } else if (dag_yaml_get_string(&ctx->y, conn, cp, &c)) {
    const char *why = dag_conn_name_problem(c);
    if (why) {
      dag_yaml_err(&ctx->y, conn, cp, "invalid connection id '%.100s' (%s)", c, why);
      bad = true;
    }
  } else {
    bad = true;
  }
  if (!bad) {
    dag->notify_hooks =
        xrealloc(dag->notify_hooks, (dag->n_notify_hooks + 1) * sizeof(*dag->notify_hooks));
    dag->notify_hooks[dag->n_notify_hooks++] =
        (struct dag_notify_hook){.format = f ? f : xstrdup("json"), .url_connection = c};
    f = c = NULL;
  }
  free(k);
  free(f);
  free(c);
  free(kp);
  free(fp);
  free(cp);
}

void dag__get_notify(struct loadctx *ctx, const struct dag_ynode *v, struct dag *dag) {
  if (v->kind != DAG_YN_SEQ) {
    char *got = dag_yaml_describe(v);
    dag_yaml_err(&ctx->y, v, "notify",
                 "expected a list of email addresses and webhooks, got %s", got);
    free(got);
    return;
  }
  for (size_t i = 0; i < v->n; i++) {
    char *p = dag_yaml_path_index("notify", i);
    if (v->items[i]->kind == DAG_YN_MAP)
      add_hook(ctx, v->items[i], p, dag);
    else
      add_email(ctx, v->items[i], p, dag);
    free(p);
  }
}
