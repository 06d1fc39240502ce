/* ssh.c - the `ssh` task type: one command on a remote host with libssh,
 * as Airflow's SSHOperator.
 *
 * Params:
 *   command   required, as written (no templates): it reaches the remote
 *             shell, so values come in as `args` instead
 *   args      a list (templated), each handed to the command as one
 *             single-quoted word: "$1", "$2", ... in the command
 *   conn_id   a connection of type ssh (host, port, login, password; its
 *             extra's key_file); else the params below
 *   host, port (22), username
 *   timeout   connecting and authenticating; 30s
 *
 * Credentials: the connection's password, else the `ssh` section's
 * private_key_file (or the connection's extra key_file) or its secret
 * password. The server's host key must be in the `ssh` section's
 * known_hosts file (default DAGCTL_HOME/known_hosts): an unknown or a
 * changed key refuses the connection, before any credential is sent.
 *
 * The command's standard output and error go to the try's log; its exit
 * status decides the try. XComs: exit_status, and return_value (standard
 * output without its last line end, when at most 64 KiB and UTF-8). */
#include <jansson.h>
#include <libssh/libssh.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "common.h"
#include "dagctl/plugin.h"
#include "duration.h"
#include "strbuf.h"

#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)
#define XCOM_MAX (64 * 1024)

static const char *param(const struct dagctl_host *h, const char *name) {
  const char *v = HOST_HAS(h, param) ? h->param(h, name) : NULL;
  return v && *v ? v : NULL;
}

static const char *setting(const struct dagctl_host *h, const char *key) {
  const char *v = HOST_HAS(h, connection) ? h->connection(h, "ssh", key) : NULL;
  return v && *v ? v : NULL;
}

/* `s` as one POSIX shell word in single quotes. */
static void shquote(struct strbuf *sb, const char *s) {
  sb_appendc(sb, '\'');
  for (; *s; s++) {
    if (*s == '\'')
      sb_append(sb, "'\\''");
    else
      sb_appendc(sb, *s);
  }
  sb_appendc(sb, '\'');
}

struct target {
  const char *host, *user, *password, *key_file;
  int port;
  json_t *conn; /* owns the strings above when from a connection */
};

static int read_target(const struct dagctl_host *h, struct target *t) {
  const char *conn_id = param(h, "conn_id");
  t->port = 22;
  if (conn_id) {
    const char *c = HOST_HAS(h, get_conn) ? h->get_conn(h, conn_id) : NULL;
    if (c == NULL) return -1; /* the host said why */
    t->conn = json_loads(c, 0, NULL);
    t->host = json_string_value(json_object_get(t->conn, "host"));
    t->user = json_string_value(json_object_get(t->conn, "login"));
    t->password = json_string_value(json_object_get(t->conn, "password"));
    t->key_file = json_string_value(
        json_object_get(json_object_get(t->conn, "extra"), "key_file"));
    json_int_t port = json_integer_value(json_object_get(t->conn, "port"));
    if (port) t->port = (int)port;
  }
  if (param(h, "host")) t->host = param(h, "host");
  if (param(h, "username")) t->user = param(h, "username");
  if (param(h, "port")) t->port = (int)strtol(param(h, "port"), NULL, 10);
  if (t->key_file == NULL) t->key_file = setting(h, "private_key_file");
  if (t->password == NULL) t->password = setting(h, "password");
  if (t->host == NULL || t->user == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "no %s: set it, or conn_id", t->host ? "username" : "host");
    return -1;
  }
  if (t->port < 1 || t->port > 65535) {
    h->log(h, DAGCTL_LOG_ERROR, "port: expected 1 to 65535");
    return -1;
  }
  return 0;
}

/* The server's key against known_hosts: only a known, unchanged key
 * passes. */
static int check_host_key(const struct dagctl_host *h, ssh_session s, const char *where) {
  enum ssh_known_hosts_e k = ssh_session_is_known_server(s);
  switch (k) {
  case SSH_KNOWN_HOSTS_OK: return 0;
  case SSH_KNOWN_HOSTS_CHANGED:
    h->log(h, DAGCTL_LOG_ERROR, "%s: the host key CHANGED from the one in known_hosts: refused "
           "(someone may be intercepting the connection)", where);
    return -1;
  case SSH_KNOWN_HOSTS_OTHER:
    h->log(h, DAGCTL_LOG_ERROR, "%s: known_hosts holds a key of another type for this host: "
           "refused", where);
    return -1;
  case SSH_KNOWN_HOSTS_NOT_FOUND:
  case SSH_KNOWN_HOSTS_UNKNOWN:
    h->log(h, DAGCTL_LOG_ERROR, "%s: unknown host key: refused (add it to known_hosts, e.g. "
           "with ssh-keyscan, after checking its fingerprint)", where);
    return -1;
  case SSH_KNOWN_HOSTS_ERROR: break;
  }
  h->log(h, DAGCTL_LOG_ERROR, "%s: cannot check the host key: %s", where, ssh_get_error(s));
  return -1;
}

static int authenticate(const struct dagctl_host *h, ssh_session s, const struct target *t,
                        const char *where) {
  if (t->key_file) {
    ssh_key key = NULL;
    if (ssh_pki_import_privkey_file(t->key_file, NULL, NULL, NULL, &key) != SSH_OK) {
      h->log(h, DAGCTL_LOG_ERROR, "private key %s: cannot read it", t->key_file);
      return -1;
    }
    int rc = ssh_userauth_publickey(s, NULL, key);
    ssh_key_free(key);
    if (rc == SSH_AUTH_SUCCESS) return 0;
    if (t->password == NULL) {
      h->log(h, DAGCTL_LOG_ERROR, "%s: the key was refused for %s", where, t->user);
      return -1;
    }
  }
  if (t->password) {
    if (ssh_userauth_password(s, NULL, t->password) == SSH_AUTH_SUCCESS) return 0;
    h->log(h, DAGCTL_LOG_ERROR, "%s: the password was refused for %s", where, t->user);
    return -1;
  }
  h->log(h, DAGCTL_LOG_ERROR, "%s: no credentials: set ssh.private_key_file or ssh.password "
         "(or a connection's password)", where);
  return -1;
}

/* Read the channel until EOF: stdout kept (up to XCOM_MAX + 1 bytes) and
 * both streams logged line by line. */
static void pump(const struct dagctl_host *h, ssh_channel ch, struct strbuf *out) {
  struct strbuf line[2] = {STRBUF_INIT, STRBUF_INIT};
  char buf[4096];
  while (!ssh_channel_is_eof(ch)) {
    if (HOST_HAS(h, cancelled) && h->cancelled(h)) break;
    for (int err = 0; err < 2; err++) {
      int n = ssh_channel_read_timeout(ch, buf, sizeof(buf), err, 200);
      for (int i = 0; i < n; i++) {
        if (!err && out->len <= XCOM_MAX) sb_appendc(out, buf[i]);
        if (buf[i] == '\n') {
          h->log(h, err ? DAGCTL_LOG_WARN : DAGCTL_LOG_INFO, "%s%s", err ? "stderr: " : "",
                 sb_str(&line[err]));
          sb_reset(&line[err]);
        } else {
          sb_appendc(&line[err], buf[i]);
        }
      }
    }
  }
  for (int err = 0; err < 2; err++) {
    if (line[err].len)
      h->log(h, err ? DAGCTL_LOG_WARN : DAGCTL_LOG_INFO, "%s%s", err ? "stderr: " : "",
             sb_str(&line[err]));
    sb_free(&line[err]);
  }
}

static enum dagctl_result ssh_execute(const struct dagctl_host *h) {
  const char *command = param(h, "command");
  if (command == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "command: required");
    return DAGCTL_FAILED;
  }
  struct target t = {0};
  enum dagctl_result res = DAGCTL_FAILED;
  ssh_session s = NULL;
  ssh_channel ch = NULL;
  struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
  char *where = NULL, *known = NULL;
  json_t *args = NULL;
  if (read_target(h, &t) < 0) goto out;
  const char *a = param(h, "args");
  args = a ? json_loads(a, 0, NULL) : json_array();
  if (!json_is_array(args)) {
    h->log(h, DAGCTL_LOG_ERROR, "args: expected a list");
    goto out;
  }
  /* sh -c 'COMMAND' sh 'ARG1' ...: the args are words, never syntax. */
  sb_append(&cmd, "sh -c ");
  shquote(&cmd, command);
  sb_append(&cmd, " sh");
  size_t i;
  json_t *v;
  json_array_foreach(args, i, v) {
    char *text = json_is_string(v) ? xstrdup(json_string_value(v))
                                   : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    sb_appendc(&cmd, ' ');
    shquote(&cmd, text ? text : "");
    free(text);
  }
  int64_t timeout_us = 0;
  const char *to = param(h, "timeout");
  if (dag_duration_parse(to ? to : "30s", &timeout_us) < 0 || timeout_us <= 0) {
    h->log(h, DAGCTL_LOG_ERROR, "timeout: expected a duration such as 30s");
    goto out;
  }
  const char *kh = setting(h, "known_hosts");
  const char *home = HOST_HAS(h, context) ? h->context(h, "home") : NULL;
  known = kh ? xstrdup(kh) : xasprintf("%s/known_hosts", home ? home : ".");
  where = xasprintf("%s@%s:%d", t.user, t.host, t.port);
  s = ssh_new();
  long secs = (long)(timeout_us / 1000000) ? (long)(timeout_us / 1000000) : 1;
  unsigned int port = (unsigned int)t.port;
  int no = 0;
  ssh_options_set(s, SSH_OPTIONS_HOST, t.host);
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, t.user);
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &secs);
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known);
  /* Only our known_hosts counts, not the system's, nor ~/.ssh/config. */
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  h->log(h, DAGCTL_LOG_INFO, "connecting to %s (known hosts: %s)", where, known);
  if (ssh_connect(s) != SSH_OK) {
    h->log(h, DAGCTL_LOG_ERROR, "%s: cannot connect: %s", where, ssh_get_error(s));
    goto out;
  }
  if (check_host_key(h, s, where) < 0 || authenticate(h, s, &t, where) < 0) goto out;
  ch = ssh_channel_new(s);
  if (ch == NULL || ssh_channel_open_session(ch) != SSH_OK ||
      ssh_channel_request_exec(ch, sb_str(&cmd)) != SSH_OK) {
    h->log(h, DAGCTL_LOG_ERROR, "%s: cannot run the command: %s", where, ssh_get_error(s));
    goto out;
  }
  pump(h, ch, &out);
  ssh_channel_send_eof(ch);
  int status = ssh_channel_get_exit_status(ch);
  h->log(h, status == 0 ? DAGCTL_LOG_INFO : DAGCTL_LOG_ERROR, "%s: exit status %d", where,
         status);
  if (HOST_HAS(h, xcom_push)) {
    char num[16];
    snprintf(num, sizeof(num), "%d", status);
    h->xcom_push(h, "exit_status", num);
    if (out.len && sb_str(&out)[out.len - 1] == '\n') out.len--, out.buf[out.len] = '\0';
    json_t *text = out.len <= XCOM_MAX ? json_stringn(sb_str(&out), out.len) : NULL;
    char *j = text ? json_dumps(text, JSON_ENCODE_ANY) : NULL;
    if (j == NULL || h->xcom_push(h, "return_value", j) != 0)
      h->log(h, DAGCTL_LOG_WARN, "xcom return_value: over 64 KiB or not UTF-8, not pushed");
    free(j);
    json_decref(text);
  }
  res = status == 0 ? DAGCTL_OK : DAGCTL_FAILED;
out:
  if (ch) {
    ssh_channel_close(ch);
    ssh_channel_free(ch);
  }
  if (s) {
    ssh_disconnect(s);
    ssh_free(s);
  }
  json_decref(args);
  json_decref(t.conn);
  sb_free(&cmd);
  sb_free(&out);
  free(where);
  free(known);
  return res;
}

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED | DAGCTL_PARAM_VERBATIM, "command",
                 NULL, "run by sh -c on the host, as written; values come as args"),
    DAGCTL_PARAM(DAGCTL_PARAM_LIST, 0, "args", NULL,
                 "templated values, each one quoted word: \"$1\", \"$2\"... in the command"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "conn_id", NULL,
                 "an ssh connection: host, port, login, password, extra.key_file"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "host", NULL, "the remote host"),
    DAGCTL_PARAM(DAGCTL_PARAM_INTEGER, 0, "port", "22", "its SSH port"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "username", NULL, "the remote user"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "timeout", "30s", "for connecting"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "ssh",
     "a command on a remote host over SSH, its host key checked", ssh_execute, params,
     DAG_ARRAY_SIZE(params), 0, NULL},
};

static const struct dagctl_setting settings[] = {
    DAGCTL_SETTING(DAGCTL_SETTING_PATH, 0, "known_hosts", "${DAGCTL_HOME}/known_hosts", NULL,
                   "the host keys accepted; any other refuses the connection"),
    DAGCTL_SETTING(DAGCTL_SETTING_PATH, 0, "private_key_file", NULL, NULL,
                   "a private key (OpenSSH or PEM, without a passphrase)"),
    DAGCTL_SETTING(DAGCTL_SETTING_PASSWORD, DAGCTL_SETTING_SECRET, "password", NULL, NULL,
                   "a password, when there is no key"),
};
static const struct dagctl_config_section section = {
    sizeof(struct dagctl_config_section), "ssh", "credentials and host keys of ssh tasks",
    settings, DAG_ARRAY_SIZE(settings)};
static const struct dagctl_config_section *const sections[] = {&section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "ssh", "1.0.0", types,
    DAG_ARRAY_SIZE(types), sections, DAG_ARRAY_SIZE(sections)};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
