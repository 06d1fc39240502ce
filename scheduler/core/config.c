/* config.c - settings from defaults, dagctl.yaml, DAGCTL__* and flags.
 *
 * Every setting is one row of `settings`: where it lives in the file, how its
 * text is parsed, where the value goes and its default. The file, the
 * environment and the defaults all go through the same rows and parsers, so
 * a new section (kafka, smtp, ...) is a few rows, not new code. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "dag.h"
#include "didyoumean.h"
#include "duration.h"
#include "error.h"
#include "strbuf.h"
#include "tz.h"
#include "yaml_doc.h"

#define ENV_PREFIX "DAGCTL__"
#define CONFIG_NAME "dagctl.yaml"
/* A token file is one line; anything much larger is the wrong file. */
#define TOKEN_FILE_MAX 4096

struct setting;

/* Parse `text` into `field`. Returns 0, or -1 with *why NULL for the usual
 * "expected <type>, got '<text>'", or -1 with a specific message in *why
 * (caller frees). */
typedef int (*parse_fn)(const struct setting *s, const char *text, void *field,
                        char **why);

struct type {
  const char *expect; /* completes "expected ..." */
  parse_fn parse;
  int owns_string; /* the field is a char * the config frees */
};

enum {
  SECRET = 1,      /* masked in logs, never echoed in diagnostics */
  NOT_IN_FILE = 2, /* a secret that must not sit in clear in dagctl.yaml */
};

struct setting {
  const char *section;
  const char *key;
  const struct type *type;
  size_t offset;      /* of the field in struct dag_config */
  const char *def;    /* default, as it would be written in the file; NULL: none */
  long long min, max; /* integers only */
  unsigned flags;
};

/* --- paths --------------------------------------------------------------- */

/* `path` made absolute against the working directory and normalised
 * lexically ("a/./b/../c" -> "a/c"), without touching the file system: the
 * home and dags folder may not exist yet. NULL (errno set) if getcwd fails. */
static char *absolute_path(const char *path) {
  struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL) return NULL;
    sb_append(&in, cwd);
    sb_appendc(&in, '/');
  }
  sb_append(&in, path);

  const char *p = sb_str(&in);
  while (*p) {
    while (*p == '/')
      p++;
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.')) {
      /* nothing */
    } else if (n == 2 && p[0] == '.' && p[1] == '.') {
      char *slash = out.len ? strrchr(out.buf, '/') : NULL;
      if (slash) {
        out.len = (size_t)(slash - out.buf);
        out.buf[out.len] = '\0';
      }
    } else {
      sb_appendc(&out, '/');
      sb_appendn(&out, p, n);
    }
    p += n;
  }
  sb_free(&in);
  if (out.len == 0) sb_appendc(&out, '/');
  return sb_detach(&out);
}

/* --- value types --------------------------------------------------------- */

#define FIELD(type, f) (*(type *)(f))

static void set_string(void *field, char *value) {
  free(FIELD(char *, field));
  FIELD(char *, field) = value;
}

static int parse_string(const struct setting *s, const char *text, void *field,
                        char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (*text == '\0') return -1;
  set_string(field, xstrdup(text));
  return 0;
}

static int parse_path(const struct setting *s, const char *text, void *field,
                      char **why) {
  DAG_UNUSED(s);
  if (*text == '\0') return -1;
  char *abs = absolute_path(text);
  if (abs == NULL) {
    *why = xasprintf("cannot resolve '%s': %s", text, strerror(errno));
    return -1;
  }
  set_string(field, abs);
  return 0;
}

static int parse_int(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(why);
  /* strtoll alone would accept " 4", "+4" and "4 "; a config value is exact. */
  const char *digits = text[0] == '-' ? text + 1 : text;
  if (!isdigit((unsigned char)digits[0])) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || *end != '\0' || v < s->min || v > s->max) return -1;
  FIELD(int, field) = (int)v;
  return 0;
}

static int parse_bool(const struct setting *s, const char *text, void *field,
                      char **why) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  for (size_t i = 0; i < DAG_ARRAY_SIZE(yes); i++) {
    if (strcasecmp(text, yes[i]) == 0) {
      FIELD(bool, field) = true;
      return 0;
    }
    if (strcasecmp(text, no[i]) == 0) {
      FIELD(bool, field) = false;
      return 0;
    }
  }
  return -1;
}

static int parse_duration(const struct setting *s, const char *text, void *field,
                          char **why) {
  DAG_UNUSED(s);
  int64_t us;
  int rc = dag_duration_parse(text, &us);
  if (rc == -ERANGE) *why = xasprintf("duration '%s' is " DAG_DURATION_TOO_LONG, text);
  if (rc < 0) return -1;
  FIELD(int64_t, field) = us;
  return 0;
}

static int parse_tz(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (dag_tz_validate(text) < 0) return -1;
  set_string(field, xstrdup(text));
  return 0;
}

static int parse_durability(const struct setting *s, const char *text, void *field,
                            char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (strcmp(text, "normal") == 0)
    FIELD(bool, field) = false;
  else if (strcmp(text, "full") == 0)
    FIELD(bool, field) = true;
  else
    return -1;
  return 0;
}

static int parse_executor(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (strcmp(text, "local") == 0)
    FIELD(bool, field) = false;
  else if (strcmp(text, "workers") == 0)
    FIELD(bool, field) = true;
  else
    return -1;
  return 0;
}

static int parse_log_level(const struct setting *s, const char *text, void *field,
                           char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  enum dag_log_level level;
  if (dag_log_parse_level(text, &level) < 0) return -1;
  FIELD(enum dag_log_level, field) = level;
  return 0;
}

/* Tokens travel in an HTTP header: one word of printable characters. */
static int valid_token(const char *t) {
  if (*t == '\0') return 0;
  for (; *t; t++)
    if (!isgraph((unsigned char)*t)) return 0;
  return 1;
}

static int parse_token(const struct setting *s, const char *text, void *field,
                       char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (!valid_token(text)) return -1;
  set_string(field, xstrdup(text));
  return 0;
}

/* Read a file holding one secret: its content minus trailing newlines, so
 * that `echo TOKEN > file` and editors that add a final newline both work.
 * NULL with *why set (caller frees) if it cannot be read or is empty. */
static char *read_secret_file(const char *text, char **why) {
  char *path = absolute_path(text);
  if (path == NULL) {
    *why = xasprintf("cannot resolve '%s': %s", text, strerror(errno));
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = xasprintf("cannot read %s: %s", path, strerror(errno));
    free(path);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & 077))
    LOG_WARN("secret file is readable by other users file=%s mode=%03o", path,
             (unsigned)(st.st_mode & 0777));

  char buf[TOKEN_FILE_MAX + 1];
  size_t len = 0;
  ssize_t n = 0;
  while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    len += (size_t)n;
  }
  int read_errno = n < 0 ? errno : 0;
  close(fd);

  char *secret = NULL;
  if (read_errno) {
    *why = xasprintf("cannot read %s: %s", path, strerror(read_errno));
  } else if (len > TOKEN_FILE_MAX) {
    *why = xasprintf("%s is larger than %d bytes; expected a single secret", path,
                     TOKEN_FILE_MAX);
  } else {
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
      len--;
    buf[len] = '\0';
    if (len == 0)
      *why = xasprintf("%s is empty", path);
    else if (strlen(buf) != len)
      *why = xasprintf("%s holds a NUL byte", path);
    else
      secret = xstrdup(buf);
  }
  /* Do not leave the secret lying in freed stack memory longer than needed. */
  memset(buf, 0, sizeof(buf));
  free(path);
  return secret;
}

static int parse_token_file(const struct setting *s, const char *text, void *field,
                            char **why) {
  DAG_UNUSED(s);
  if (*text == '\0') return -1;
  char *secret = read_secret_file(text, why);
  if (secret == NULL) return -1;
  if (!valid_token(secret)) {
    char *path = absolute_path(text);
    *why = xasprintf("%s must hold one token without spaces or control characters",
                     path ? path : text);
    free(path);
    free(secret);
    return -1;
  }
  set_string(field, secret);
  return 0;
}

/* web.token guards every change made through the API, and the bearer
 * token is all an attacker has to guess: 32 bytes, e.g. 32 hex digits
 * (128 bits) or more. A shorter one is refused rather than warned about. */
#define WEB_TOKEN_MIN 32
#define WEB_TOKEN_HOWTO "make one with `openssl rand -hex 32`"

static int parse_web_token(const struct setting *s, const char *text, void *field,
                           char **why) {
  if (!valid_token(text)) return -1;
  size_t len = strlen(text);
  if (len < WEB_TOKEN_MIN) {
    *why = xasprintf("must be at least %d bytes long, this one has %zu; " WEB_TOKEN_HOWTO,
                     WEB_TOKEN_MIN, len);
    return -1;
  }
  return parse_token(s, text, field, why);
}

static int parse_web_token_file(const struct setting *s, const char *text, void *field,
                                char **why) {
  if (parse_token_file(s, text, field, why) != 0) return -1;
  size_t len = strlen(FIELD(char *, field));
  if (len >= WEB_TOKEN_MIN) return 0;
  char *path = absolute_path(text);
  *why = xasprintf("%s must hold at least %d bytes, it has %zu; " WEB_TOKEN_HOWTO,
                   path ? path : text, WEB_TOKEN_MIN, len);
  free(path);
  set_string(field, NULL);
  return -1;
}

/* A password is one line; spaces are allowed, control characters are not
 * (they would end the SMTP AUTH exchange). */
static int valid_password(const char *p) {
  if (*p == '\0') return 0;
  for (; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
  return 1;
}

static int parse_password(const struct setting *s, const char *text, void *field,
                          char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (!valid_password(text)) return -1;
  set_string(field, xstrdup(text));
  return 0;
}

static int parse_password_file(const struct setting *s, const char *text, void *field,
                               char **why) {
  DAG_UNUSED(s);
  if (*text == '\0') return -1;
  char *secret = read_secret_file(text, why);
  if (secret == NULL) return -1;
  if (!valid_password(secret)) {
    char *path = absolute_path(text);
    *why = xasprintf("%s must hold one line without control characters", path ? path : text);
    free(path);
    free(secret);
    return -1;
  }
  set_string(field, secret);
  return 0;
}

/* A bare mailbox (local@domain), as SMTP's MAIL FROM and RCPT TO take it:
 * no display name, no spaces, nothing that could end a header line. */
static int valid_address(const char *a, size_t len) {
  const char *at = memchr(a, '@', len);
  if (at == NULL || at == a || at == a + len - 1) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)a[i];
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' ||
        c == '"' || c == '(' || c == ')' || c == '\\')
      return 0;
  }
  return 1;
}

static int parse_address(const struct setting *s, const char *text, void *field,
                         char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (!valid_address(text, strlen(text))) return -1;
  set_string(field, xstrdup(text));
  return 0;
}

/* A list setting: items separated by any of `seps`, blanks around them
 * dropped, each checked by `valid`; stored normalised as "a,b". A string,
 * not a YAML list, because every setting is one scalar that an environment
 * variable can also hold. `what` completes "'x' is not ...". */
static int parse_list(const char *text, const char *seps, int (*valid)(const char *, size_t),
                      const char *what, void *field, char **why) {
  struct strbuf sb = STRBUF_INIT;
  for (const char *p = text;;) {
    size_t len = strcspn(p, seps);
    const char *a = p;
    size_t n = len;
    while (n && (*a == ' ' || *a == '\t')) a++, n--;
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t')) n--;
    if (n && !valid(a, n)) {
      *why = xasprintf("'%.*s' is not %s", (int)n, a, what);
      sb_free(&sb);
      return -1;
    }
    if (n) {
      if (sb.len) sb_appendc(&sb, ',');
      sb_appendn(&sb, a, n);
    }
    if (p[len] == '\0') break;
    p += len + 1;
  }
  if (sb.len == 0) {
    sb_free(&sb);
    return -1;
  }
  set_string(field, sb_detach(&sb));
  return 0;
}

/* "a@x, b@y" or "a@x; b@y". */
static int parse_addresses(const struct setting *s, const char *text, void *field,
                           char **why) {
  DAG_UNUSED(s);
  return parse_list(text, ",;", valid_address, "an email address (expected local@domain)",
                    field, why);
}

/* A host name or address literal: what getaddrinfo() takes. */
static int parse_host(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (!valid_token(text) || strchr(text, '/') || strchr(text, '@')) return -1;
  set_string(field, xstrdup(text));
  return 0;
}

static int parse_smtp_tls(const struct setting *s, const char *text, void *field,
                          char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (strcmp(text, "starttls") == 0)
    FIELD(enum dag_smtp_tls, field) = DAG_SMTP_STARTTLS;
  else if (strcmp(text, "implicit") == 0)
    FIELD(enum dag_smtp_tls, field) = DAG_SMTP_IMPLICIT;
  else if (strcmp(text, "none") == 0)
    FIELD(enum dag_smtp_tls, field) = DAG_SMTP_NO_TLS;
  else
    return -1;
  return 0;
}

/* kafka.bootstrap_servers: "embedded" (a mock cluster hosted by the
 * scheduler) or librdkafka's list "host:port[,host:port...]". Checked here so
 * that a typo fails at start-up, not at the first produce. */
static int valid_broker(const char *b, size_t n) {
  const char *colon = NULL;
  for (size_t i = 0; i < n; i++)
    if (b[i] == ':') colon = b + i;
  if (colon == NULL || colon == b || colon == b + n - 1) return 0;
  for (const char *p = b; p < colon; p++)
    if (!isgraph((unsigned char)*p) || *p == '/' || *p == '@' || *p == ',') return 0;
  long port = 0;
  for (const char *p = colon + 1; p < b + n; p++) {
    if (!isdigit((unsigned char)*p) || port > 65535) return 0;
    port = port * 10 + (*p - '0');
  }
  return port >= 1 && port <= 65535;
}

static int parse_brokers(const struct setting *s, const char *text, void *field,
                         char **why) {
  DAG_UNUSED(s);
  if (strcmp(text, "embedded") == 0) {
    set_string(field, xstrdup(text));
    return 0;
  }
  return parse_list(text, ",", valid_broker, "a broker (expected host:port, or 'embedded')",
                    field, why);
}

/* Pick `text` from `names` ignoring case; the stored spelling is the
 * table's, which is what librdkafka expects. */
static int parse_choice(const char *const *names, size_t n, const char *text, void *field) {
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(text, names[i]) == 0) {
      set_string(field, xstrdup(names[i]));
      return 0;
    }
  }
  return -1;
}

static int parse_kafka_protocol(const struct setting *s, const char *text, void *field,
                                char **why) {
  static const char *const names[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl"};
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  return parse_choice(names, DAG_ARRAY_SIZE(names), text, field);
}

static int parse_sasl_mechanism(const struct setting *s, const char *text, void *field,
                                char **why) {
  static const char *const names[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI",
                                      "OAUTHBEARER"};
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  return parse_choice(names, DAG_ARRAY_SIZE(names), text, field);
}

static int parse_url(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  size_t skip;
  if (strncmp(text, "http://", 7) == 0)
    skip = 7;
  else if (strncmp(text, "https://", 8) == 0)
    skip = 8;
  else
    return -1;
  size_t len = strlen(text);
  /* Links are built as base_url + "/dags/...": drop a trailing slash. */
  while (len > skip && text[len - 1] == '/')
    len--;
  if (len == skip || !valid_token(text)) return -1;
  set_string(field, xstrndup(text, len));
  return 0;
}

/* lake.url: "s3://bucket/prefix" is kept as written (minus trailing
 * slashes); "file:///path" and a plain path become an absolute folder. Any
 * other scheme is a mistake, not a folder named "gs:". */
static int parse_lake_url(const struct setting *s, const char *text, void *field,
                          char **why) {
  if (strncmp(text, "s3://", 5) == 0) {
    const char *bucket = text + 5;
    size_t n = strcspn(bucket, "/");
    /* S3's bucket names: 3-63 of lowercase letters, digits, '.' and '-'. */
    if (n < 3 || n > 63 || strspn(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n) {
      *why = xasprintf("'%.*s' is not an S3 bucket name (3 to 63 lowercase letters, "
                       "digits, '.' or '-')", (int)n, bucket);
      return -1;
    }
    size_t len = strlen(text);
    while (len > 5 + n && text[len - 1] == '/')
      len--;
    if (!valid_token(text)) return -1;
    set_string(field, xstrndup(text, len));
    return 0;
  }
  if (strncmp(text, "file://", 7) == 0) {
    if (text[7] != '/') {
      *why = xasprintf("a file:// URL needs an absolute path (file:///path), got '%s'", text);
      return -1;
    }
    return parse_path(s, text + 7, field, why);
  }
  const char *colon = strstr(text, "://");
  if (colon && colon < text + strcspn(text, "/")) return -1;
  return parse_path(s, text, field, why);
}

static const struct type t_string = {"a non-empty string", parse_string, 1};
static const struct type t_path = {"a path", parse_path, 1};
static const struct type t_int = {"an integer", parse_int, 0};
static const struct type t_bool = {"true or false", parse_bool, 0};
static const struct type t_duration = {"a duration such as 30s, 5m or 1h30m",
                                       parse_duration, 0};
static const struct type t_tz = {"a time zone such as UTC or Europe/Paris", parse_tz, 1};
static const struct type t_durability = {"'normal' or 'full'", parse_durability, 0};
static const struct type t_executor = {"'local' or 'workers'", parse_executor, 0};
static const struct type t_log_level = {"one of debug, info, warn, error",
                                        parse_log_level, 0};
static const struct type t_token = {"a token without spaces or control characters",
                                    parse_token, 1};
static const struct type t_token_file = {"the path of a file holding the token",
                                         parse_token_file, 1};
static const struct type t_web_token = {"a token without spaces or control characters",
                                        parse_web_token, 1};
static const struct type t_web_token_file = {"the path of a file holding the token",
                                             parse_web_token_file, 1};
static const struct type t_url = {"an http:// or https:// URL", parse_url, 1};
static const struct type t_host = {"a host name or address", parse_host, 1};
static const struct type t_smtp_tls = {"one of starttls, implicit, none", parse_smtp_tls, 0};
static const struct type t_brokers = {"'embedded' or brokers as host:port,host:port",
                                     parse_brokers, 1};
static const struct type t_kafka_protocol = {
    "one of plaintext, ssl, sasl_plaintext, sasl_ssl", parse_kafka_protocol, 1};
static const struct type t_sasl_mechanism = {
    "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER", parse_sasl_mechanism,
    1};
static const struct type t_password = {"a password on one line", parse_password, 1};
static const struct type t_password_file = {"the path of a file holding the password",
                                            parse_password_file, 1};
static const struct type t_address = {"an email address (local@domain)", parse_address, 1};
static const struct type t_addresses = {"email addresses separated by commas",
                                        parse_addresses, 1};
static const struct type t_lake_url = {"s3://bucket/prefix, file:///path or a folder",
                                       parse_lake_url, 1};

/* --- the registry -------------------------------------------------------- */

#define OFF(f) offsetof(struct dag_config, f)

/* Rows that share an offset are alternative spellings of one value
 * (web.token, web.token_file): setting both in one place is an error, and a
 * later layer replaces either. Append rows; never reorder the file format. */
static const struct setting settings[] = {
    {"core", "dags_folder", &t_path, OFF(dags_folder), NULL, 0, 0, 0},
    {"core", "parallelism", &t_int, OFF(parallelism), "32", 1, DAG_MAX_ACTIVE, 0},
    {"core", "max_active_tasks_per_dag", &t_int, OFF(max_active_tasks_per_dag), "16", 1,
     DAG_MAX_ACTIVE, 0},
    {"core", "max_active_runs_per_dag", &t_int, OFF(max_active_runs_per_dag), "16", 1,
     DAG_MAX_ACTIVE, 0},
    {"core", "default_timezone", &t_tz, OFF(default_timezone), "UTC", 0, 0, 0},
    {"core", "task_kill_grace", &t_duration, OFF(task_kill_grace_us), "5s", 0, 0, 0},
    {"core", "dags_are_paused_at_creation", &t_bool, OFF(dags_are_paused_at_creation),
     "false", 0, 0, 0},
    {"core", "durability", &t_durability, OFF(durable_fsync), "normal", 0, 0, 0},
    {"core", "log_level", &t_log_level, OFF(log_level), "info", 0, 0, 0},
    {"core", "plugins_folder", &t_path, OFF(plugins_folder), NULL, 0, 0, 0},
    {"core", "executor", &t_executor, OFF(executor_workers), "local", 0, 0, 0},
    {"core", "worker_timeout", &t_duration, OFF(worker_timeout_us), "10s", 0, 0, 0},
    {"web", "bind", &t_string, OFF(web_bind), "127.0.0.1", 0, 0, 0},
    {"web", "port", &t_int, OFF(web_port), "8080", 1, 65535, 0},
    /* The token may sit in clear in dagctl.yaml (the simplest setup; a
     * warning is logged if others can read the file); token_file keeps it
     * out of a file that is often shared or committed. */
    {"web", "token", &t_web_token, OFF(web_token), NULL, 0, 0, SECRET},
    {"web", "token_file", &t_web_token_file, OFF(web_token), NULL, 0, 0, SECRET},
    /* NULL default: derived from web.bind and web.port once both are known. */
    {"web", "base_url", &t_url, OFF(web_base_url), NULL, 0, 0, 0},
    /* A share of the server's 256 connections per client address, so one
     * client cannot lock out the others; raise it behind a reverse proxy,
     * where every connection comes from the proxy's address. */
    {"web", "max_connections_per_client", &t_int, OFF(web_max_connections_per_client), "32",
     1, 65535, 0},
    /* No host: alerts are kept in the outbox (`dagctl alerts`) until one
     * is configured. */
    {"smtp", "host", &t_host, OFF(smtp_host), NULL, 0, 0, 0},
    /* NULL default: 465 for implicit TLS, else 587 (submission). */
    {"smtp", "port", &t_int, OFF(smtp_port), NULL, 1, 65535, 0},
    {"smtp", "tls", &t_smtp_tls, OFF(smtp_tls), "starttls", 0, 0, 0},
    {"smtp", "user", &t_string, OFF(smtp_user), NULL, 0, 0, 0},
    /* Unlike web.token, never in clear in dagctl.yaml: that file is often
     * shared, and the mail account usually guards more than dagctl. */
    {"smtp", "password", &t_password, OFF(smtp_password), NULL, 0, 0, SECRET | NOT_IN_FILE},
    {"smtp", "password_file", &t_password_file, OFF(smtp_password), NULL, 0, 0, SECRET},
    {"smtp", "from", &t_address, OFF(smtp_from), NULL, 0, 0, 0},
    {"smtp", "to", &t_addresses, OFF(smtp_to), NULL, 0, 0, 0},
    {"smtp", "ca_file", &t_path, OFF(smtp_ca_file), NULL, 0, 0, 0},
    {"smtp", "timeout", &t_duration, OFF(smtp_timeout_us), "30s", 0, 0, 0},
    {"smtp", "retry_base", &t_duration, OFF(smtp_retry_base_us), "30s", 0, 0, 0},
    /* NULL default: HOME/lake, a local folder, once the home is known. */
    {"lake", "url", &t_lake_url, OFF(lake_url), NULL, 0, 0, 0},
    /* NULL: AWS (virtual-host URLs built from the bucket and region). */
    {"lake", "endpoint", &t_url, OFF(lake_endpoint), NULL, 0, 0, 0},
    {"lake", "region", &t_string, OFF(lake_region), "us-east-1", 0, 0, 0},
    /* Plainly false by default rather than guessed from `endpoint`: MinIO
     * and s3rver want true, but so might a proxy in front of AWS. An endpoint
     * that is an IP address or localhost gets path style anyway (a bucket
     * cannot be a subdomain of an address). */
    {"lake", "path_style", &t_bool, OFF(lake_path_style), "false", 0, 0, 0},
    {"lake", "access_key_id", &t_token, OFF(lake_access_key_id), NULL, 0, 0, 0},
    /* Like smtp.password, never in clear in dagctl.yaml: the key usually
     * opens far more than the lake. */
    {"lake", "secret_access_key", &t_token, OFF(lake_secret_access_key), NULL, 0, 0,
     SECRET | NOT_IN_FILE},
    {"lake", "secret_access_key_file", &t_token_file, OFF(lake_secret_access_key), NULL, 0,
     0, SECRET},
    {"lake", "timeout", &t_duration, OFF(lake_timeout_us), "30s", 0, 0, 0},
    /* NULL default: DAGCTL_HOME/warehouse.db once the home is known. Not a
     * secret, so a SQLite path stays readable in logs: a PostgreSQL password
     * goes in password or password_file (or libpq's PGPASSWORD, .pgpass). */
    {"warehouse", "url", &t_string, OFF(warehouse_url), NULL, 0, 0, 0},
    {"warehouse", "password", &t_password, OFF(warehouse_password), NULL, 0, 0,
     SECRET | NOT_IN_FILE},
    {"warehouse", "password_file", &t_password_file, OFF(warehouse_password), NULL, 0, 0,
     SECRET},
    /* "embedded": the scheduler hosts librdkafka's in-memory mock cluster
     * (and `dagctl test` likewise) and hands its address to plugins. */
    {"kafka", "bootstrap_servers", &t_brokers, OFF(kafka_bootstrap_servers), "embedded", 0, 0,
     0},
    /* NULL: librdkafka's default, plaintext. */
    {"kafka", "security_protocol", &t_kafka_protocol, OFF(kafka_security_protocol), NULL, 0,
     0, 0},
    {"kafka", "sasl_mechanism", &t_sasl_mechanism, OFF(kafka_sasl_mechanism), NULL, 0, 0, 0},
    {"kafka", "sasl_username", &t_string, OFF(kafka_sasl_username), NULL, 0, 0, 0},
    /* Like smtp.password: the environment or a file, never dagctl.yaml. */
    {"kafka", "sasl_password", &t_password, OFF(kafka_sasl_password), NULL, 0, 0,
     SECRET | NOT_IN_FILE},
    {"kafka", "sasl_password_file", &t_password_file, OFF(kafka_sasl_password), NULL, 0, 0,
     SECRET},
    {"kafka", "ssl_ca_location", &t_path, OFF(kafka_ssl_ca_location), NULL, 0, 0, 0},
};

#define N_SETTINGS DAG_ARRAY_SIZE(settings)

static char *expectation(const struct setting *s) {
  if (s->type != &t_int) return xstrdup(s->type->expect);
  if (s->max == INT_MAX) return xasprintf("an integer >= %lld", s->min);
  return xasprintf("an integer from %lld to %lld", s->min, s->max);
}

static long find_setting(const char *section, const char *key) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0 && strcmp(settings[i].key, key) == 0)
      return (long)i;
  return -1;
}

static int known_section(const char *section) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0) return 1;
  return 0;
}

/* Distinct section names in table order; returns how many. */
static size_t section_names(const char **out) {
  size_t n = 0;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    size_t j = 0;
    while (j < n && strcmp(out[j], settings[i].section) != 0)
      j++;
    if (j == n) out[n++] = settings[i].section;
  }
  return n;
}

static const char *suggest_section(const char *word) {
  const char *names[N_SETTINGS];
  size_t n = section_names(names);
  return dag_did_you_mean(word, names, n);
}

static const char *suggest_key(const char *section, const char *word) {
  const char *keys[N_SETTINGS];
  size_t n = 0;
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].section, section) == 0) keys[n++] = settings[i].key;
  return dag_did_you_mean(word, keys, n);
}

/* --- applying values ----------------------------------------------------- */

enum layer { L_UNSET, L_DEFAULT, L_FILE, L_ENV };

/* Where a setting got its value, for duplicate and conflict messages. */
struct origin {
  enum layer layer;
  char *where; /* owned: the file, or the environment variable */
  int line, col;
};

struct loader {
  struct dag_config *cfg;
  struct dag_diags *diags;
  struct origin origins[N_SETTINGS];
};

static void describe_origin(struct strbuf *sb, const struct origin *o) {
  if (o->layer == L_FILE)
    sb_appendf(sb, "line %d", o->line);
  else
    sb_append(sb, o->where);
}

static char *env_name(const char *section, const char *key);

static void apply(struct loader *L, size_t i, const char *text, enum layer layer,
                  const char *where, int line, int col) {
  const struct setting *s = &settings[i];
  void *field = (char *)L->cfg + s->offset;

  if (layer == L_FILE && (s->flags & NOT_IN_FILE)) {
    char *env = env_name(s->section, s->key);
    dag_diag_add(L->diags, where, line, col,
                 "%s.%s must not be written in clear in the config file; set %s in the "
                 "environment or %s.%s_file to a file only you can read",
                 s->section, s->key, env, s->section, s->key);
    free(env);
    return;
  }
  if (layer != L_DEFAULT) {
    for (size_t j = 0; j < N_SETTINGS; j++) {
      const struct origin *o = &L->origins[j];
      if (settings[j].offset != s->offset || o->layer != layer) continue;
      struct strbuf sb = STRBUF_INIT;
      describe_origin(&sb, o);
      if (j == i && layer == L_FILE)
        dag_diag_add(L->diags, where, line, col, "duplicate key '%s.%s' (first at %s)",
                     s->section, s->key, sb_str(&sb));
      else if (j == i)
        dag_diag_add(L->diags, where, line, col, "%s.%s: also set by %s", s->section,
                     s->key, sb_str(&sb));
      else
        dag_diag_add(L->diags, where, line, col,
                     "%s.%s: conflicts with %s.%s (at %s); set only one", s->section,
                     s->key, settings[j].section, settings[j].key, sb_str(&sb));
      sb_free(&sb);
      return;
    }
  }
  struct origin *o = &L->origins[i];
  free(o->where);
  o->layer = layer;
  o->where = xstrdup(where);
  o->line = line;
  o->col = col;

  char *why = NULL;
  if (s->type->parse(s, text, field, &why) == 0) return;
  if (why == NULL) {
    char *expect = expectation(s);
    if (s->flags & SECRET)
      why = xasprintf("expected %s", expect);
    else
      why = xasprintf("expected %s, got '%s'", expect, text);
    free(expect);
  }
  dag_diag_add(L->diags, where, line, col, "%s.%s: %s", s->section, s->key, why);
  free(why);
}

/* --- the file ------------------------------------------------------------ */

static const char *node_kind(const struct dag_ynode *n) {
  switch (n->kind) {
  case DAG_YN_MAP: return "a mapping";
  case DAG_YN_SEQ: return "a list";
  default: return "a scalar";
  }
}

/* Only a plain null counts: a quoted "" is a value the setting judges. */
static int is_null(const struct dag_ynode *n) {
  return n->kind == DAG_YN_SCALAR && dag_yaml_is_null(n);
}

static void load_section(struct loader *L, const char *path, const char *section,
                         const struct dag_ynode *map) {
  for (size_t p = 0; p < map->n / 2; p++) {
    const struct dag_ynode *k = DAG_YN_KEY(map, p), *v = DAG_YN_VAL(map, p);
    if (k->kind != DAG_YN_SCALAR) {
      dag_diag_add(L->diags, path, k->line, k->col, "%s: expected a key name, got %s", section,
                   node_kind(k));
      continue;
    }
    const char *key = k->value;
    long i = find_setting(section, key);
    if (i < 0) {
      const char *hint = suggest_key(section, key);
      if (hint)
        dag_diag_add(L->diags, path, k->line, k->col,
                     "unknown key '%s.%s' (did you mean '%s.%s'?)", section, key, section,
                     hint);
      else
        dag_diag_add(L->diags, path, k->line, k->col, "unknown key '%s.%s'", section, key);
      continue;
    }
    if (v->kind != DAG_YN_SCALAR || is_null(v)) {
      char *expect = expectation(&settings[i]);
      dag_diag_add(L->diags, path, v->line, v->col, "%s.%s: expected %s, got %s", section,
                   key, expect, is_null(v) ? "null" : node_kind(v));
      free(expect);
      continue;
    }
    apply(L, (size_t)i, v->value, L_FILE, path, v->line, v->col);
  }
}

static void load_root(struct loader *L, const struct dag_ynode *root, const char *path) {
  if (root == NULL || is_null(root)) return; /* an empty file sets nothing */
  if (root->kind != DAG_YN_MAP) {
    dag_diag_add(L->diags, path, root->line, root->col,
                 "expected a mapping of sections (core:, web:, ...), got %s",
                 node_kind(root));
    return;
  }
  for (size_t p = 0; p < root->n / 2; p++) {
    const struct dag_ynode *k = DAG_YN_KEY(root, p), *v = DAG_YN_VAL(root, p);
    if (k->kind != DAG_YN_SCALAR) {
      dag_diag_add(L->diags, path, k->line, k->col, "expected a section name, got %s",
                   node_kind(k));
      continue;
    }
    const char *section = k->value;
    if (!known_section(section)) {
      const char *hint = suggest_section(section);
      if (hint)
        dag_diag_add(L->diags, path, k->line, k->col,
                     "unknown section '%s' (did you mean '%s'?)", section, hint);
      else
        dag_diag_add(L->diags, path, k->line, k->col, "unknown section '%s'", section);
      continue;
    }
    /* A repeated section would silently merge in most YAML readers. */
    for (size_t q = 0; q < p; q++) {
      const struct dag_ynode *prev = DAG_YN_KEY(root, q);
      if (prev->kind == DAG_YN_SCALAR && strcmp(prev->value, section) == 0) {
        dag_diag_add(L->diags, path, k->line, k->col,
                     "duplicate section '%s' (first at line %d)", section, prev->line);
        break;
      }
    }
    if (is_null(v)) continue; /* `web:` with nothing under it */
    if (v->kind != DAG_YN_MAP) {
      dag_diag_add(L->diags, path, v->line, v->col,
                   "%s: expected a mapping of settings, got %s", section, node_kind(v));
      continue;
    }
    load_section(L, path, section, v);
  }
}

/* Mappings as written: duplicates are named here by section and key. */
static const struct dag_yaml_options yaml_options = {
    .as_written = true, .caller_reports_syntax = true, .what = "config file"};

/* In this file's own words, which predate the YAML layer. */
static void syntax_error(struct loader *L, const char *path, const struct dag_yaml_syntax *sx) {
  if (sx->second_document)
    dag_diag_add(L->diags, path, sx->node_line, sx->node_col,
                 "only one YAML document is allowed");
  else if (sx->context)
    dag_diag_add(L->diags, path, sx->line, sx->col, "syntax error: %s (%s at line %d)",
                 sx->problem, sx->context, sx->context_line);
  else
    dag_diag_add(L->diags, path, sx->line, sx->col, "syntax error: %s", sx->problem);
}

static void load_file(struct loader *L, const char *path) {
  struct dag_yaml_ctx ctx;
  struct dag_ydoc doc;
  dag_yaml_ctx_init(&ctx, path, L->diags);
  int rc = dag_yaml_parse_file(&ctx, path, &yaml_options, &doc);
  if (rc == 0)
    load_root(L, doc.root, path);
  else if (doc.syntax.problem || doc.syntax.second_document)
    syntax_error(L, path, &doc.syntax);
  dag_ydoc_free(&doc);
}

/* --- the environment ----------------------------------------------------- */

/* getenv() for an explicit environment: the first entry wins, as in libc. */
static const char *env_get(char *const *envp, const char *name) {
  size_t len = strlen(name);
  for (char *const *e = envp; e && *e; e++)
    if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') return *e + len + 1;
  return NULL;
}

static char *lower(const char *s, size_t n) {
  char *out = xstrndup(s, n);
  for (char *p = out; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return out;
}

static char *env_name(const char *section, const char *key) {
  char *s = xasprintf(ENV_PREFIX "%s__%s", section, key);
  for (char *p = s; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return s;
}

static void load_env_var(struct loader *L, const char *name, const char *value) {
  const char *rest = name + strlen(ENV_PREFIX);
  const char *sep = strstr(rest, "__");
  if (sep == NULL || sep == rest || sep[2] == '\0') {
    dag_diag_add(L->diags, name, 0, 0, "expected " ENV_PREFIX "SECTION__KEY");
    return;
  }
  char *section = lower(rest, (size_t)(sep - rest));
  char *key = lower(sep + 2, strlen(sep + 2));
  if (!known_section(section)) {
    const char *hint = suggest_section(section);
    char *alt = hint ? env_name(hint, key) : NULL;
    if (alt)
      dag_diag_add(L->diags, name, 0, 0, "unknown section '%s' (did you mean %s?)",
                   section, alt);
    else
      dag_diag_add(L->diags, name, 0, 0, "unknown section '%s'", section);
    free(alt);
  } else {
    long i = find_setting(section, key);
    if (i < 0) {
      const char *hint = suggest_key(section, key);
      char *alt = hint ? env_name(section, hint) : NULL;
      if (alt)
        dag_diag_add(L->diags, name, 0, 0, "unknown key '%s.%s' (did you mean %s?)",
                     section, key, alt);
      else
        dag_diag_add(L->diags, name, 0, 0, "unknown key '%s.%s'", section, key);
      free(alt);
    } else {
      apply(L, (size_t)i, value, L_ENV, name, 0, 0);
    }
  }
  free(section);
  free(key);
}

static void load_env(struct loader *L, char *const *envp) {
  for (char *const *e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq == NULL || strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0) continue;
    char *name = xstrndup(*e, (size_t)(eq - *e));
    load_env_var(L, name, eq + 1);
    free(name);
  }
}

/* --- putting it together ------------------------------------------------- */

/* A flag's or variable's path, made absolute; NULL after a diagnostic. */
static char *resolve(struct loader *L, const char *what, const char *path) {
  if (*path == '\0') {
    dag_diag_add(L->diags, what, 0, 0, "empty path");
    return NULL;
  }
  char *abs = absolute_path(path);
  if (abs == NULL)
    dag_diag_add(L->diags, what, 0, 0, "cannot resolve '%s': %s", path, strerror(errno));
  return abs;
}

/* A secret in the config file is allowed (it is the simplest setup), but
 * only if nobody else can read the file. */
static void warn_if_exposed(const struct loader *L) {
  struct stat st;
  if (L->cfg->config_file == NULL || stat(L->cfg->config_file, &st) != 0 ||
      (st.st_mode & 077) == 0)
    return;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    if ((settings[i].flags & SECRET) && settings[i].type != &t_token_file &&
        settings[i].type != &t_password_file && L->origins[i].layer == L_FILE)
      LOG_WARN("config file holding a secret is readable by other users file=%s "
               "key=%s.%s mode=%03o",
               L->cfg->config_file, settings[i].section, settings[i].key,
               (unsigned)(st.st_mode & 0777));
  }
}

/* Sets cfg->config_file; returns whether it should be read. */
static int choose_config_file(struct loader *L, const struct dag_config_flags *flags) {
  if (flags->config_file) {
    L->cfg->config_file = resolve(L, "--config", flags->config_file);
    if (L->cfg->config_file == NULL) return 0;
    /* Asked for by name: a missing file is a mistake, not "no settings". */
    if (access(L->cfg->config_file, F_OK) != 0) {
      dag_diag_add(L->diags, L->cfg->config_file, 0, 0, "config file not found: %s",
                   strerror(errno));
      return 0;
    }
    return 1;
  }
  if (L->cfg->home == NULL) return 0;
  char *path = xasprintf("%s/" CONFIG_NAME, L->cfg->home);
  struct stat st;
  if (stat(path, &st) != 0 && errno == ENOENT) {
    free(path);
    return 0;
  }
  L->cfg->config_file = path; /* present, or there but unreadable: say so */
  return 1;
}

int dag_config_load(struct dag_config *cfg, const struct dag_config_flags *flags,
                    char *const *envp, struct dag_diags *diags) {
  static const struct dag_config_flags no_flags;
  struct loader L = {.cfg = cfg, .diags = diags};
  size_t errors_before = diags->n;
  if (flags == NULL) flags = &no_flags;
  memset(cfg, 0, sizeof(*cfg));

  for (size_t i = 0; i < N_SETTINGS; i++)
    if (settings[i].def) apply(&L, i, settings[i].def, L_DEFAULT, "default", 0, 0);

  const char *home = flags->home;
  const char *home_what = "--home";
  if (home == NULL) {
    home = env_get(envp, "DAGCTL_HOME");
    home_what = "DAGCTL_HOME";
    if (home == NULL || *home == '\0') home = ".dagctl"; /* unset or empty */
  }
  cfg->home = resolve(&L, home_what, home);

  if (choose_config_file(&L, flags)) load_file(&L, cfg->config_file);
  load_env(&L, envp);

  const char *dags = flags->dags_folder;
  const char *dags_what = "--dags";
  if (dags == NULL) {
    dags = env_get(envp, "DAGCTL_DAGS");
    dags_what = "DAGCTL_DAGS";
    if (dags && *dags == '\0') dags = NULL;
  }
  if (dags) {
    char *abs = resolve(&L, dags_what, dags);
    if (abs) set_string(&cfg->dags_folder, abs);
  } else if (cfg->dags_folder == NULL) {
    cfg->dags_folder = resolve(&L, "default", "dags");
  }

  if (cfg->web_base_url == NULL && cfg->web_bind) {
    /* An IPv6 literal needs brackets in a URL. */
    int v6 = strchr(cfg->web_bind, ':') != NULL;
    cfg->web_base_url = xasprintf("http://%s%s%s:%d", v6 ? "[" : "", cfg->web_bind,
                                  v6 ? "]" : "", cfg->web_port);
  }

  if (cfg->smtp_port == 0) cfg->smtp_port = cfg->smtp_tls == DAG_SMTP_IMPLICIT ? 465 : 587;
  if (cfg->lake_url == NULL && cfg->home) cfg->lake_url = xasprintf("%s/lake", cfg->home);
  if (cfg->warehouse_url == NULL && cfg->home)
    cfg->warehouse_url = xasprintf("%s/warehouse.db", cfg->home);

  for (size_t i = 0; i < N_SETTINGS; i++) {
    if ((settings[i].flags & SECRET) && settings[i].type->owns_string)
      dag_log_mask(*(char **)((char *)cfg + settings[i].offset));
  }
  warn_if_exposed(&L);

  for (size_t i = 0; i < N_SETTINGS; i++)
    free(L.origins[i].where);
  return diags->n > errors_before ? DAG_ECONFIG : 0;
}

void dag_config_free(struct dag_config *cfg) {
  free(cfg->home);
  free(cfg->config_file);
  for (size_t i = 0; i < N_SETTINGS; i++) {
    if (!settings[i].type->owns_string) continue;
    size_t j = 0;
    while (j < i && settings[j].offset != settings[i].offset)
      j++;
    if (j == i) free(*(char **)((char *)cfg + settings[i].offset));
  }
  memset(cfg, 0, sizeof(*cfg));
}

char *dag_config_value(const struct dag_config *cfg, const char *section, const char *key) {
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const struct setting *st = &settings[i];
    if (strcmp(st->section, section) != 0 || strcmp(st->key, key) != 0) continue;
    const void *field = (const char *)cfg + st->offset;
    if (st->type->owns_string) {
      const char *v = *(char *const *)field;
      return v ? xstrdup(v) : NULL;
    }
    if (st->type == &t_int) return xasprintf("%d", *(const int *)field);
    if (st->type == &t_bool) return xstrdup(*(const bool *)field ? "true" : "false");
    if (st->type == &t_duration) {
      char buf[32];
      dag_duration_format(*(const int64_t *)field, buf, sizeof(buf));
      return xstrdup(buf);
    }
    return NULL;
  }
  return NULL;
}

/* --- listing ------------------------------------------------------------- */

/* A setting's value as it would be written in the file; NULL when unset. */
static char *item_text(const struct dag_config *cfg, const struct setting *st) {
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  static const char *const tls[] = {"starttls", "implicit", "none"};
  const void *field = (const char *)cfg + st->offset;
  if (st->type == &t_durability)
    return xstrdup(*(const bool *)field ? "full" : "normal");
  if (st->type == &t_log_level) {
    enum dag_log_level l = *(const enum dag_log_level *)field;
    return xstrdup((size_t)l < DAG_ARRAY_SIZE(levels) ? levels[l] : "?");
  }
  if (st->type == &t_smtp_tls) {
    enum dag_smtp_tls t = *(const enum dag_smtp_tls *)field;
    return xstrdup((size_t)t < DAG_ARRAY_SIZE(tls) ? tls[t] : "?");
  }
  return dag_config_value(cfg, st->section, st->key);
}

void dag_config_items(const struct dag_config *cfg, struct dag_config_item **out,
                      size_t *n) {
  struct dag_config_item *items = xcalloc(N_SETTINGS, sizeof(*items));
  size_t k = 0;
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const struct setting *st = &settings[i];
    size_t j = 0;
    while (j < i && settings[j].offset != st->offset)
      j++;
    if (j < i) {
      /* An alternative spelling (web.token_file) of a listed value. */
      for (size_t m = 0; m < k; m++)
        if (items[m].section == settings[j].section && items[m].key == settings[j].key)
          items[m].alias = st->key;
      continue;
    }
    struct dag_config_item *it = &items[k++];
    it->section = st->section;
    it->key = st->key;
    it->secret = (st->flags & SECRET) != 0;
    /* Secrets are all strings; they are never copied, only said to be set. */
    if (it->secret)
      it->value = *(char *const *)((const char *)cfg + st->offset) ? xstrdup("***") : NULL;
    else
      it->value = item_text(cfg, st);
  }
  *out = items;
  *n = k;
}

void dag_config_items_free(struct dag_config_item *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(items[i].value);
  free(items);
}
