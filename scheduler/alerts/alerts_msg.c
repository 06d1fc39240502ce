/* alerts_msg.c - the text of alert emails (see alerts_msg.h). */
#include "alerts_msg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "duration.h"
#include "log.h"
#include "strbuf.h"
#include "timeutil.h"

/* Shorter values are too likely to occur by chance; the logger uses the
 * same floor. */
#define SECRET_MIN 4

/* --- secrets ------------------------------------------------------------------ */

bool dag_alert_secret_name(const char *name) {
  static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY",
                                      "CREDENTIAL"};
  for (size_t i = 0; i < DAG_ARRAY_SIZE(words); i++)
    if (strcasestr(name, words[i])) return true;
  return false;
}

/* Values that a secret-looking variable may hold without being a secret
 * (USE_KEYRING=true, TOKEN_TTL=3600). */
static bool harmless_value(const char *v) {
  static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "none",
                                      "null"};
  for (size_t i = 0; i < DAG_ARRAY_SIZE(words); i++)
    if (strcasecmp(v, words[i]) == 0) return true;
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p)) return false;
  return true;
}

void dag_alert_masker_add(struct dag_alert_masker *m, const char *secret) {
  if (secret == NULL) return;
  size_t len = strlen(secret);
  if (len < SECRET_MIN) return;
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->secrets[i], secret) == 0) return;
  /* Longest first: a secret that contains another must be masked whole. */
  size_t at = 0;
  while (at < m->n && strlen(m->secrets[at]) >= len)
    at++;
  m->secrets = xgrow(m->secrets, &m->cap, m->n + 1, sizeof(*m->secrets));
  memmove(m->secrets + at + 1, m->secrets + at, (m->n - at) * sizeof(*m->secrets));
  m->secrets[at] = xstrdup(secret);
  m->n++;
}

void dag_alert_masker_init(struct dag_alert_masker *m, char *const *envp) {
  memset(m, 0, sizeof(*m));
  for (char *const *e = envp; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    char *name = xstrndup(*e, (size_t)(eq - *e));
    if (dag_alert_secret_name(name) && !harmless_value(eq + 1))
      dag_alert_masker_add(m, eq + 1);
    free(name);
  }
}

void dag_alert_masker_free(struct dag_alert_masker *m) {
  for (size_t i = 0; i < m->n; i++) free(m->secrets[i]);
  free(m->secrets);
  memset(m, 0, sizeof(*m));
}

char *dag_alert_mask(const struct dag_alert_masker *m, const char *s) {
  struct strbuf out = STRBUF_INIT;
  size_t n = m ? m->n : 0;
  const char *p = s;
  while (*p) {
    size_t hit = 0;
    for (size_t i = 0; i < n && !hit; i++) {
      size_t len = strlen(m->secrets[i]);
      if (strncmp(p, m->secrets[i], len) == 0) hit = len;
    }
    if (hit) {
      sb_append(&out, "***");
      p += hit;
    } else {
      sb_appendc(&out, *p++);
    }
  }
  char *r = sb_detach(&out);
  dag_log_redact(r);
  return r;
}

/* --- the log's tail ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (n < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return len;
}

/* Bytes of an escape sequence starting at p[0] == ESC: CSI (colours,
 * cursor moves) and OSC (window titles), else ESC and the next byte. */
static size_t escape_len(const unsigned char *p, size_t n) {
  if (n < 2) return 1;
  size_t i = 2;
  if (p[1] == '[') {
    while (i < n && p[i] >= 0x20 && p[i] <= 0x3F)
      i++;
    return i < n && p[i] >= 0x40 && p[i] <= 0x7E ? i + 1 : i;
  }
  if (p[1] == ']') {
    while (i < n && p[i] != 0x07 && !(p[i] == 0x1B && i + 1 < n && p[i + 1] == '\\'))
      i++;
    if (i < n) i += p[i] == 0x07 ? 1 : 2;
    return i;
  }
  return 2;
}

/* One log line as text fit for a mail body (see dag_alert_log_tail). */
static void clean_line(struct strbuf *sb, const char *line, size_t len) {
  /* A progress bar redraws with CR: what a terminal would show is what
   * follows the last one. */
  while (len && line[len - 1] == '\r')
    len--;
  const char *cr = memrchr(line, '\r', len);
  if (cr) {
    len -= (size_t)(cr + 1 - line);
    line = cr + 1;
  }
  const unsigned char *p = (const unsigned char *)line;
  size_t i = 0;
  while (i < len) {
    if (p[i] == 0x1B) {
      i += escape_len(p + i, len - i);
    } else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7F) {
      sb_append(sb, "\xEF\xBF\xBD");
      i++;
    } else {
      size_t n = utf8_len(p + i, len - i);
      if (n == 0) {
        sb_append(sb, "\xEF\xBF\xBD");
        i++;
      } else {
        sb_appendn(sb, line + i, n);
        i += n;
      }
    }
  }
}

/* Cut `s` to at most max bytes without splitting a UTF-8 character. */
static void cut_line(struct strbuf *out, const char *s, size_t max) {
  size_t len = strlen(s);
  if (len <= max) {
    sb_append(out, s);
    return;
  }
  size_t n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--;
  sb_appendn(out, s, n);
  sb_append(out, " [...]");
}

int dag_alert_log_tail(const char *path, const struct dag_alert_masker *m, char **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  off_t off = st.st_size > DAG_ALERT_LOG_WINDOW ? st.st_size - DAG_ALERT_LOG_WINDOW : 0;
  char *buf = xmalloc(DAG_ALERT_LOG_WINDOW + 1);
  size_t len = 0;
  while (len < DAG_ALERT_LOG_WINDOW) {
    ssize_t n = pread(fd, buf + len, DAG_ALERT_LOG_WINDOW - len, off + (off_t)len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return -e;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';

  /* Starting mid-file, the first line is a fragment: drop it, or a secret
   * cut in half by the window would escape masking. */
  const char *start = buf, *end = buf + len;
  bool dropped = false;
  if (off > 0) {
    const char *nl = memchr(buf, '\n', len);
    start = nl ? nl + 1 : end;
    dropped = true;
  }
  /* The last DAG_ALERT_LOG_LINES lines: walk back from the end. */
  const char *from = end;
  if (from > start && from[-1] == '\n') from--;
  int lines = 0;
  while (from > start) {
    const char *nl = memrchr(start, '\n', (size_t)(from - start));
    if (++lines == DAG_ALERT_LOG_LINES) {
      from = nl ? nl + 1 : start;
      break;
    }
    if (!nl) {
      from = start;
      break;
    }
    from = nl;
  }
  if (lines < DAG_ALERT_LOG_LINES) from = start;

  struct strbuf res = STRBUF_INIT;
  if (dropped && from == end)
    sb_append(&res, "[the log ends with a line longer than 64 KiB; not quoted]\n");
  struct strbuf line = STRBUF_INIT;
  for (const char *p = from; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    sb_reset(&line);
    clean_line(&line, p, n);
    char *masked = dag_alert_mask(m, sb_str(&line));
    cut_line(&res, masked, DAG_ALERT_LOG_LINE_MAX);
    sb_appendc(&res, '\n');
    free(masked);
    p += n + (nl ? 1 : 0);
  }
  sb_free(&line);
  free(buf);
  *out = sb_detach(&res);
  return 0;
}

/* --- composing ---------------------------------------------------------------- */

static void fmt_when(dag_time_t t, char *buf, size_t size) {
  if (!t) {
    snprintf(buf, size, "-");
    return;
  }
  time_t secs = (time_t)(t / DAG_USEC_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void field(struct strbuf *sb, const char *label, const char *value) {
  sb_appendf(sb, "%-14s %s\n", label, value && *value ? value : "-");
}

static void field_time(struct strbuf *sb, const char *label, dag_time_t t) {
  char buf[40];
  fmt_when(t, buf, sizeof(buf));
  field(sb, label, buf);
}

static void field_duration(struct strbuf *sb, dag_time_t start, dag_time_t end) {
  char buf[32] = "-";
  if (start && end && end >= start) dag_duration_format(end - start, buf, sizeof(buf));
  field(sb, "Duration:", buf);
}

static void compose_task(const struct dag_alert_facts *f, struct strbuf *subj,
                         struct strbuf *body) {
  bool retry = f->kind == DAG_ALERT_TASK_RETRY;
  sb_appendf(subj, "[dagctl] %s %s.%s (try %d/%d)", retry ? "RETRY" : "FAILED", f->dag_id,
             f->task_id, f->try_number, f->tries);
  if (retry) {
    sb_appendf(body, "Task %s of DAG %s failed on try %d of %d and will run again.\n",
               f->task_id, f->dag_id, f->try_number, f->tries);
  } else {
    sb_appendf(body, "Task %s of DAG %s failed on try %d of %d; no tries are left.\n",
               f->task_id, f->dag_id, f->try_number, f->tries);
  }
  sb_appendc(body, '\n');
  char buf[128];
  field(body, "DAG:", f->dag_id);
  field(body, "Task:", f->task_id);
  field(body, "Run:", f->run_id);
  dag_time_iso(f->logical_date, buf, sizeof(buf));
  field(body, "Logical date:", buf);
  snprintf(buf, sizeof(buf), "%d of %d", f->try_number, f->tries);
  field(body, "Try:", buf);
  field(body, "Result:", f->result);
  field_time(body, "Started:", f->start);
  field_time(body, "Ended:", f->end);
  field_duration(body, f->start, f->end);
  if (retry && f->next_try_at) {
    char when[40], in[32] = "0s";
    fmt_when(f->next_try_at, when, sizeof(when));
    if (f->end && f->next_try_at > f->end)
      dag_duration_format(f->next_try_at - f->end, in, sizeof(in));
    snprintf(buf, sizeof(buf), "%s (in %s)", when, in);
    field(body, "Next try:", buf);
  }
  field(body, "Status page:", f->url);
  sb_appendc(body, '\n');
  if (f->log_tail && *f->log_tail) {
    int n = 0;
    for (const char *p = f->log_tail; *p; p++)
      n += *p == '\n';
    sb_appendf(body, "--- last %d line%s of the log (%s) ---\n", n, n == 1 ? "" : "s",
               f->log_name ? f->log_name : "?");
    sb_append(body, f->log_tail);
    sb_append(body, "--- end of log ---\n");
  } else {
    sb_appendf(body, "The log (%s) is empty or could not be read.\n",
               f->log_name ? f->log_name : "none");
  }
}

static void compose_run(const struct dag_alert_facts *f, struct strbuf *subj,
                        struct strbuf *body) {
  sb_appendf(subj, "[dagctl] RUN FAILED %s (%s)", f->dag_id, f->run_id);
  sb_appendf(body, "Run %s of DAG %s failed.\n\n", f->run_id, f->dag_id);
  char buf[64];
  field(body, "DAG:", f->dag_id);
  field(body, "Run:", f->run_id);
  dag_time_iso(f->logical_date, buf, sizeof(buf));
  field(body, "Logical date:", buf);
  field_time(body, "Started:", f->run_start);
  field_time(body, "Ended:", f->run_end);
  field_duration(body, f->run_start, f->run_end);
  field(body, "Status page:", f->url);
  sb_appendc(body, '\n');
  if (f->n_tasks == 0) return;
  sb_append(body, "Tasks that did not succeed:\n");
  for (size_t i = 0; i < f->n_tasks; i++) {
    const struct dag_alert_task_line *t = &f->tasks[i];
    sb_appendf(body, "  %-24s %-16s", t->task_id, dag_task_state_name(t->state));
    if (t->try_number > 0) sb_appendf(body, " try %d of %d", t->try_number, t->tries);
    if (t->error) sb_appendf(body, "  %s", t->error);
    while (body->len && body->buf[body->len - 1] == ' ')
      body->buf[--body->len] = '\0';
    sb_appendc(body, '\n');
  }
}

static void compose_deadline(const struct dag_alert_facts *f, struct strbuf *subj,
                             struct strbuf *body) {
  char within[32], buf[64];
  dag_duration_format(f->deadline_within_us, within, sizeof(within));
  bool queued = f->deadline_after && strcmp(f->deadline_after, "queued_at") == 0;
  sb_appendf(subj, "[dagctl] DEADLINE MISSED %s (%s)", f->dag_id, f->run_id);
  sb_appendf(body, "Run %s of DAG %s has not finished %s after its %s.\n\n", f->run_id,
             f->dag_id, within, queued ? "queueing" : "logical date");
  field(body, "DAG:", f->dag_id);
  field(body, "Run:", f->run_id);
  dag_time_iso(f->logical_date, buf, sizeof(buf));
  field(body, "Logical date:", buf);
  field_time(body, "Queued:", f->queued_at);
  field_time(body, "Started:", f->run_start);
  field_time(body, "Deadline:", f->deadline);
  field(body, "State:", f->run_state);
  field(body, "Status page:", f->url);
  sb_appendc(body, '\n');
  if (f->n_tasks == 0) return;
  sb_append(body, "Tasks not finished:\n");
  for (size_t i = 0; i < f->n_tasks; i++) {
    const struct dag_alert_task_line *t = &f->tasks[i];
    sb_appendf(body, "  %-24s %s", t->task_id, dag_task_state_name(t->state));
    if (t->try_number > 0) sb_appendf(body, " (try %d of %d)", t->try_number, t->tries);
    sb_appendc(body, '\n');
  }
}

void dag_alert_compose(const struct dag_alert_facts *f, const struct dag_alert_masker *m,
                       char **subject, char **body) {
  struct strbuf subj = STRBUF_INIT, text = STRBUF_INIT;
  if (f->kind == DAG_ALERT_DEADLINE_MISSED)
    compose_deadline(f, &subj, &text);
  else if (f->kind == DAG_ALERT_RUN_FAILED)
    compose_run(f, &subj, &text);
  else
    compose_task(f, &subj, &text);
  *subject = dag_alert_mask(m, sb_str(&subj));
  *body = dag_alert_mask(m, sb_str(&text));
  sb_free(&subj);
  sb_free(&text);
}

static void append_segment(struct strbuf *sb, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
      sb_appendc(sb, (char)*p);
    else
      sb_appendf(sb, "%%%02X", *p);
  }
}

char *dag_alert_url(const char *base, const char *dag_id, const char *run_id,
                    const char *task_id, int try_number) {
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, base ? base : "");
  sb_append(&sb, "/dags/");
  append_segment(&sb, dag_id);
  if (task_id) {
    sb_append(&sb, "/runs/");
    append_segment(&sb, run_id);
    sb_append(&sb, "/tasks/");
    append_segment(&sb, task_id);
    sb_appendf(&sb, "/tries/%d", try_number);
  } else {
    sb_append(&sb, "?run=");
    append_segment(&sb, run_id);
  }
  return sb_detach(&sb);
}

/* --- the RFC 5322 message ------------------------------------------------------- */

/* RFC 5322 asks for lines of at most 78 characters where possible. */
#define HEADER_WIDTH 78
/* UTF-8 bytes per encoded-word: 39 bytes are 52 base64 characters, so
 * "Subject: =?UTF-8?B?...?=" stays within 76 (RFC 2047's limit). */
#define EWORD_BYTES 39

static void base64(struct strbuf *sb, const unsigned char *p, size_t n) {
  static const char tbl[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    sb_appendc(sb, tbl[(v >> 18) & 63]);
    sb_appendc(sb, tbl[(v >> 12) & 63]);
    sb_appendc(sb, i + 1 < n ? tbl[(v >> 6) & 63] : '=');
    sb_appendc(sb, i + 2 < n ? tbl[v & 63] : '=');
  }
}

bool dag_alert_address_ok(const char *addr) {
  const char *at = strchr(addr, '@');
  if (!at || at == addr || at[1] == '\0' || strchr(at + 1, '@')) return false;
  for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
    if (*p <= 0x20 || *p == 0x7f || strchr("<>,;\"()\\", *p)) return false;
  return strlen(addr) <= 254;
}

char *dag_alert_message_id(int64_t id, dag_time_t created_at, const char *from) {
  const char *at = from ? strrchr(from, '@') : NULL;
  struct strbuf dom = STRBUF_INIT;
  for (const char *p = at ? at + 1 : ""; *p; p++)
    if (isalnum((unsigned char)*p) || *p == '.' || *p == '-') sb_appendc(&dom, *p);
  char *r = xasprintf("<dagctl.alert.%lld.%lld@%s>", (long long)id, (long long)created_at,
                      dom.len ? sb_str(&dom) : "dagctl.invalid");
  sb_free(&dom);
  return r;
}

char *dag_alert_subject_header(const char *subject) {
  /* Control characters would end the header: a space stands in. */
  char *s = xstrdup(subject);
  bool ascii = true;
  for (unsigned char *p = (unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7F) *p = ' ';
    if (*p >= 0x80) ascii = false;
  }
  struct strbuf sb = STRBUF_INIT;
  if (ascii) {
    /* Fold before a space once a line would pass the width. */
    size_t col = strlen("Subject: ");
    const char *p = s;
    while (*p) {
      size_t word = strcspn(p + 1, " ") + 1;
      if (col + word > HEADER_WIDTH && *p == ' ' && col > strlen(" ")) {
        sb_append(&sb, "\r\n");
        col = 0;
      }
      sb_appendn(&sb, p, word);
      col += word;
      p += word;
    }
  } else {
    /* Sanitise to valid UTF-8 first: a bad byte would make the whole
     * encoded-word undecodable. */
    struct strbuf clean = STRBUF_INIT;
    clean_line(&clean, s, strlen(s));
    const unsigned char *p = (const unsigned char *)sb_str(&clean);
    size_t left = clean.len;
    bool first = true;
    while (left) {
      size_t n = 0;
      while (n < left) {
        size_t c = utf8_len(p + n, left - n);
        if (c == 0) c = 1;
        if (n + c > EWORD_BYTES) break;
        n += c;
      }
      if (!first) sb_append(&sb, "\r\n ");
      sb_append(&sb, "=?UTF-8?B?");
      base64(&sb, p, n);
      sb_append(&sb, "?=");
      p += n;
      left -= n;
      first = false;
    }
    sb_free(&clean);
  }
  free(s);
  return sb_detach(&sb);
}

static void rfc5322_date(struct strbuf *sb, dag_time_t t) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t secs = (time_t)(t / DAG_USEC_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  sb_appendf(sb, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* True if the body can travel as 7bit: ASCII, no NUL, lines <= 998 bytes. */
static bool is_7bit(const char *body) {
  size_t line = 0;
  for (const unsigned char *p = (const unsigned char *)body; *p; p++) {
    if (*p >= 0x80) return false;
    if (*p == '\n' || *p == '\r') {
      line = 0;
    } else if (++line > 998) {
      return false;
    }
  }
  return true;
}

/* Append one line (no line end) as quoted-printable (RFC 2045 6.7), with
 * soft breaks keeping encoded lines within 76 characters. */
static void qp_line(struct strbuf *sb, const unsigned char *p, size_t n) {
  size_t col = 0;
  for (size_t i = 0; i < n; i++) {
    char tok[4];
    bool trailing_ws = (p[i] == ' ' || p[i] == '\t') && i + 1 == n;
    if ((p[i] >= 33 && p[i] <= 126 && p[i] != '=') ||
        ((p[i] == ' ' || p[i] == '\t') && !trailing_ws)) {
      tok[0] = (char)p[i];
      tok[1] = '\0';
    } else {
      snprintf(tok, sizeof(tok), "=%02X", p[i]);
    }
    size_t t = strlen(tok);
    if (col + t > 75) {
      sb_append(sb, "=\r\n");
      col = 0;
    }
    sb_append(sb, tok);
    col += t;
  }
}

/* "NAME: a, b, ..." folded at HEADER_WIDTH, without its line end. */
static void address_header(struct strbuf *sb, const char *name, const char *const *addrs,
                           size_t n) {
  sb_appendf(sb, "%s: ", name);
  size_t col = strlen(name) + 2;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(addrs[i]) + (i + 1 < n ? 1 : 0);
    if (i > 0) {
      if (col + 1 + len > HEADER_WIDTH) {
        sb_append(sb, "\r\n ");
        col = 1;
      } else {
        sb_appendc(sb, ' ');
        col++;
      }
    }
    sb_append(sb, addrs[i]);
    if (i + 1 < n) sb_appendc(sb, ',');
    col += len;
  }
}

char *dag_alert_format_message(const struct dag_alert_envelope *e) {
  struct strbuf sb = STRBUF_INIT;
  sb_append(&sb, "Date: ");
  rfc5322_date(&sb, e->date);
  sb_appendf(&sb, "\r\nFrom: dagctl <%s>\r\n", e->from);
  address_header(&sb, "To", e->to, e->n_to);
  if (e->n_cc) {
    sb_append(&sb, "\r\n");
    address_header(&sb, "Cc", e->cc, e->n_cc);
  }
  sb_appendf(&sb, "\r\nMessage-ID: %s\r\n", e->message_id);
  char *subject = dag_alert_subject_header(e->subject);
  sb_appendf(&sb, "Subject: %s\r\n", subject);
  free(subject);
  bool plain = is_7bit(e->body);
  sb_appendf(&sb,
             "MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=UTF-8\r\n"
             "Content-Transfer-Encoding: %s\r\n"
             "Auto-Submitted: auto-generated\r\n"
             "\r\n",
             plain ? "7bit" : "quoted-printable");

  /* Every line end (LF, CRLF or a lone CR) becomes CRLF. */
  const char *p = e->body;
  while (*p) {
    size_t n = strcspn(p, "\r\n");
    if (plain)
      sb_appendn(&sb, p, n);
    else
      qp_line(&sb, (const unsigned char *)p, n);
    sb_append(&sb, "\r\n");
    p += n;
    if (*p == '\r' && p[1] == '\n')
      p += 2;
    else if (*p)
      p++;
  }
  return sb_detach(&sb);
}
