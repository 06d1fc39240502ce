/* config_value.c - the value types of dagctl.yaml: how each setting's text
 * is checked and normalised, for dagctl's own sections (config.c) and for
 * the types plugins declare (config_plugin.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "common.h"
#include "config_int.h"
#include "duration.h"
#include "strbuf.h"
#include "tz.h"

/* A token file is one line; anything much larger is the wrong file. */
#define TOKEN_FILE_MAX 4096

/* --- paths --------------------------------------------------------------- */

/* `path` made absolute against the working directory and normalised
 * lexically ("a/./b/../c" -> "a/c"), without touching the file system: the
 * home and dags folder may not exist yet. NULL (errno set) if getcwd fails. */
char *dag_cfg_absolute_path(const char *path) {
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

void dag_cfg_set_string(void *field, char *value) {
  free(FIELD(char *, field));
  FIELD(char *, field) = value;
}

static int parse_string(const struct setting *s, const char *text, void *field,
                        char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (*text == '\0') return -1;
  dag_cfg_set_string(field, xstrdup(text));
  return 0;
}

static int parse_path(const struct setting *s, const char *text, void *field,
                      char **why) {
  DAG_UNUSED(s);
  if (*text == '\0') return -1;
  char *abs = dag_cfg_absolute_path(text);
  if (abs == NULL) {
    *why = xasprintf("cannot resolve '%s': %s", text, strerror(errno));
    return -1;
  }
  dag_cfg_set_string(field, abs);
  return 0;
}

/* core.state: a SQLite path (made absolute) or a PostgreSQL URL, which
 * must not hold the password: the URL shows in logs and `config show`. */
static int parse_state(const struct setting *s, const char *text, void *field, char **why) {
  bool url = strncmp(text, "postgresql://", 13) == 0 || strncmp(text, "postgres://", 11) == 0;
  if (!url) {
    if (strstr(text, "://") != NULL) {
      *why = xstrdup("the only URL scheme is postgresql://");
      return -1;
    }
    return parse_path(s, text, field, why);
  }
  const char *auth = strstr(text, "://") + 3;
  size_t auth_len = strcspn(auth, "/?");
  const char *at = memchr(auth, '@', auth_len);
  bool has_password = at && memchr(auth, ':', (size_t)(at - auth)) != NULL;
  const char *query = strchr(text, '?');
  if (query && (strstr(query, "?password=") || strstr(query, "&password=")))
    has_password = true;
  if (has_password) {
    /* Not repeated: the message shows in logs and terminals. */
    *why = xstrdup("the URL holds a password: give it in DAGCTL__CORE__STATE_PASSWORD, "
                   "core.state_password_file, PGPASSWORD or ~/.pgpass instead");
    return -1;
  }
  dag_cfg_set_string(field, xstrdup(text));
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
  dag_cfg_set_string(field, xstrdup(text));
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

static int parse_web_auth(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(s);
  DAG_UNUSED(why);
  if (strcmp(text, "none") == 0)
    FIELD(bool, field) = false;
  else if (strcmp(text, "password") == 0)
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
  dag_cfg_set_string(field, xstrdup(text));
  return 0;
}

/* Read a file holding one secret: its content minus trailing newlines, so
 * that `echo TOKEN > file` and editors that add a final newline both work.
 * NULL with *why set (caller frees) if it cannot be read or is empty. */
static char *read_secret_file(const char *text, char **why) {
  char *path = dag_cfg_absolute_path(text);
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
    char *path = dag_cfg_absolute_path(text);
    *why = xasprintf("%s must hold one token without spaces or control characters",
                     path ? path : text);
    free(path);
    free(secret);
    return -1;
  }
  dag_cfg_set_string(field, secret);
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
  char *path = dag_cfg_absolute_path(text);
  *why = xasprintf("%s must hold at least %d bytes, it has %zu; " WEB_TOKEN_HOWTO,
                   path ? path : text, WEB_TOKEN_MIN, len);
  free(path);
  dag_cfg_set_string(field, NULL);
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
  dag_cfg_set_string(field, xstrdup(text));
  return 0;
}

static int parse_password_file(const struct setting *s, const char *text, void *field,
                               char **why) {
  DAG_UNUSED(s);
  if (*text == '\0') return -1;
  char *secret = read_secret_file(text, why);
  if (secret == NULL) return -1;
  if (!valid_password(secret)) {
    char *path = dag_cfg_absolute_path(text);
    *why = xasprintf("%s must hold one line without control characters", path ? path : text);
    free(path);
    free(secret);
    return -1;
  }
  dag_cfg_set_string(field, secret);
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
  dag_cfg_set_string(field, xstrdup(text));
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
  dag_cfg_set_string(field, sb_detach(&sb));
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
  dag_cfg_set_string(field, xstrdup(text));
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

/* "a, b, c" (or "'a', 'b', 'c'" with `quote`) from "a,b,c". */
static void append_choices(struct strbuf *sb, const char *choices, bool quote) {
  const char *q = quote ? "'" : "";
  for (const char *p = choices; *p;) {
    size_t n = strcspn(p, ",");
    if (p != choices) sb_append(sb, ", ");
    sb_appendf(sb, "%s%.*s%s", q, (int)n, p, q);
    p += n;
    if (*p) p++;
  }
}

/* Whether `text` is one of the comma-separated `choices`, ignoring case;
 * the stored spelling is the declaration's (what librdkafka, say, expects).
 * Returns the word's length and sets *at, or 0. */
static size_t find_choice(const char *choices, const char *text, const char **at) {
  size_t len = strlen(text);
  for (const char *p = choices; p && *p;) {
    size_t n = strcspn(p, ",");
    if (n == len && n && strncasecmp(p, text, n) == 0) {
      *at = p;
      return n;
    }
    p += n;
    if (*p) p++;
  }
  return 0;
}

/* A broker list, as librdkafka takes it: "host:port[,host:port...]", or
 * one of the setting's words ("embedded": a cluster the host provides).
 * Checked here so that a typo fails at start-up, not at the first
 * produce. */
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
  const char *at;
  size_t n = find_choice(s->choices, text, &at);
  if (n) {
    dag_cfg_set_string(field, xstrndup(at, n));
    return 0;
  }
  struct strbuf what = STRBUF_INIT;
  sb_append(&what, "a broker (expected host:port");
  if (s->choices && *s->choices) {
    sb_append(&what, ", or ");
    append_choices(&what, s->choices, true);
  }
  sb_appendc(&what, ')');
  int rc = parse_list(text, ",", valid_broker, sb_str(&what), field, why);
  sb_free(&what);
  return rc;
}

static int parse_enum(const struct setting *s, const char *text, void *field, char **why) {
  DAG_UNUSED(why);
  const char *at;
  size_t n = find_choice(s->choices, text, &at);
  if (n == 0) return -1;
  dag_cfg_set_string(field, xstrndup(at, n));
  return 0;
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
  dag_cfg_set_string(field, xstrndup(text, len));
  return 0;
}

/* Object storage (a plugin's lake): "s3://bucket/prefix" is kept as
 * written (minus trailing slashes); "file:///path" and a plain path become
 * an absolute folder. Any other scheme is a mistake, not a folder named
 * "gs:". */
static int parse_storage(const struct setting *s, const char *text, void *field,
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
    dag_cfg_set_string(field, xstrndup(text, len));
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

#define STR DAG_CFG_FIELD_STRING
const struct type dag_cfg_t_string = {"a non-empty string", parse_string, STR};
const struct type dag_cfg_t_path = {"a path", parse_path, STR};
const struct type dag_cfg_t_state = {"a SQLite path or postgresql://USER@HOST:PORT/DB",
                                     parse_state, STR};
const struct type dag_cfg_t_int = {"an integer", parse_int, DAG_CFG_FIELD_INT};
const struct type dag_cfg_t_bool = {"true or false", parse_bool, DAG_CFG_FIELD_BOOL};
const struct type dag_cfg_t_duration = {"a duration such as 30s, 5m or 1h30m",
                                        parse_duration, DAG_CFG_FIELD_US};
const struct type dag_cfg_t_tz = {"a time zone such as UTC or Europe/Paris", parse_tz, STR};
const struct type dag_cfg_t_durability = {"'normal' or 'full'", parse_durability,
                                          DAG_CFG_FIELD_OTHER};
const struct type dag_cfg_t_executor = {"'local' or 'workers'", parse_executor,
                                        DAG_CFG_FIELD_OTHER};
const struct type dag_cfg_t_web_auth = {"'none' or 'password'", parse_web_auth,
                                        DAG_CFG_FIELD_OTHER};
const struct type dag_cfg_t_log_level = {"one of debug, info, warn, error", parse_log_level,
                                         DAG_CFG_FIELD_OTHER};
const struct type dag_cfg_t_token = {"a token without spaces or control characters",
                                     parse_token, STR};
const struct type dag_cfg_t_token_file = {"the path of a file holding the token",
                                          parse_token_file, STR};
const struct type dag_cfg_t_web_token = {"a token without spaces or control characters",
                                         parse_web_token, STR};
const struct type dag_cfg_t_web_token_file = {"the path of a file holding the token",
                                              parse_web_token_file, STR};
const struct type dag_cfg_t_url = {"an http:// or https:// URL", parse_url, STR};
const struct type dag_cfg_t_host = {"a host name or address", parse_host, STR};
const struct type dag_cfg_t_smtp_tls = {"one of starttls, implicit, none", parse_smtp_tls,
                                        DAG_CFG_FIELD_OTHER};
/* The next two complete their expectation from the setting's choices. */
const struct type dag_cfg_t_brokers = {"brokers as host:port,host:port", parse_brokers, STR};
const struct type dag_cfg_t_enum = {"one of ", parse_enum, STR};
const struct type dag_cfg_t_password = {"a password on one line", parse_password, STR};
const struct type dag_cfg_t_password_file = {"the path of a file holding the password",
                                             parse_password_file, STR};
const struct type dag_cfg_t_address = {"an email address (local@domain)", parse_address, STR};
const struct type dag_cfg_t_addresses = {"email addresses separated by commas",
                                         parse_addresses, STR};
const struct type dag_cfg_t_storage = {"s3://bucket/prefix, file:///path or a folder",
                                       parse_storage, STR};

char *dag_cfg_expectation(const struct setting *s) {
  if (s->type == &dag_cfg_t_int) {
    if (s->min == INT_MIN && s->max == INT_MAX) return xstrdup("an integer");
    if (s->max == INT_MAX) return xasprintf("an integer >= %lld", s->min);
    return xasprintf("an integer from %lld to %lld", s->min, s->max);
  }
  struct strbuf sb = STRBUF_INIT;
  if (s->type == &dag_cfg_t_enum) {
    sb_append(&sb, s->type->expect);
    append_choices(&sb, s->choices ? s->choices : "", false);
  } else if (s->type == &dag_cfg_t_brokers && s->choices && *s->choices) {
    append_choices(&sb, s->choices, true);
    sb_appendf(&sb, " or %s", s->type->expect);
  } else {
    sb_append(&sb, s->type->expect);
  }
  return sb_detach(&sb);
}

char *dag_cfg_value_text(const struct type *t, const void *field) {
  switch (t->field) {
  case DAG_CFG_FIELD_STRING: {
    const char *v = *(char *const *)field;
    return v ? xstrdup(v) : NULL;
  }
  case DAG_CFG_FIELD_INT: return xasprintf("%d", *(const int *)field);
  case DAG_CFG_FIELD_BOOL: return xstrdup(*(const bool *)field ? "true" : "false");
  case DAG_CFG_FIELD_US: {
    char buf[32];
    dag_duration_format(*(const int64_t *)field, buf, sizeof(buf));
    return xstrdup(buf);
  }
  default: return NULL;
  }
}

char *dag_cfg_env_name(const char *section, const char *key) {
  char *s = xasprintf(DAG_CFG_ENV_PREFIX "%s__%s", section, key);
  for (char *p = s; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  return s;
}
