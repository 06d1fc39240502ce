/* conn.c - connections and their URI form (see conn.h). */
#include "conn.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "strbuf.h"

void dag_conn_clear(struct dag_conn *c) {
  free(c->conn_id);
  free(c->conn_type);
  free(c->description);
  free(c->host);
  free(c->schema);
  free(c->login);
  if (c->password) {
    /* Do not leave the clear password in freed memory. */
    memset(c->password, 0, strlen(c->password));
    free(c->password);
  }
  free(c->extra);
  memset(c, 0, sizeof(*c));
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decode s[0..len) ('+' as a space when `plus`); NULL for a bad
 * escape or a NUL byte. */
static char *decode(const char *s, size_t len, bool plus) {
  char *out = xmalloc(len + 1);
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (ch == '%') {
      int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
      int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        free(out);
        return NULL;
      }
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
      continue;
    }
    out[o++] = plus && ch == '+' ? ' ' : ch;
  }
  out[o] = '\0';
  return out;
}

static int bad(char **err, const char *what) {
  *err = xasprintf("connection URI: %s (the form is "
                   "TYPE://LOGIN:PASSWORD@HOST:PORT/SCHEMA?KEY=VALUE)",
                   what);
  return DAG_EINVAL;
}

static int set_part(char **field, const char *s, size_t len, const char *what, char **err) {
  if (len == 0) return 0;
  *field = decode(s, len, false);
  if (!*field) {
    *err = xasprintf("connection URI: a malformed %%-escape in the %s", what);
    return DAG_EINVAL;
  }
  return 0;
}

static int parse_query(const char *q, struct dag_conn *out, char **err) {
  json_t *extra = json_object();
  const char *p = q;
  int rc = 0;
  while (*p && rc == 0) {
    size_t n = strcspn(p, "&");
    const char *eq = memchr(p, '=', n);
    size_t klen = eq ? (size_t)(eq - p) : n;
    char *k = decode(p, klen, true);
    char *v = eq ? decode(eq + 1, n - klen - 1, true) : xstrdup("");
    if (!k || !v || !*k) {
      rc = bad(err, "a malformed query parameter");
    } else if (strcmp(k, "__extra__") == 0) {
      json_error_t jerr;
      json_t *j = json_loads(v, 0, &jerr);
      if (!json_is_object(j)) {
        rc = bad(err, "__extra__ must hold a JSON object");
      } else {
        json_decref(extra);
        extra = json_incref(j);
      }
      json_decref(j);
    } else {
      json_object_set_new(extra, k, json_string(v));
    }
    free(k);
    free(v);
    p += n;
    if (*p == '&') p++;
  }
  if (rc == 0 && json_object_size(extra) > 0)
    out->extra = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(extra);
  return rc;
}

int dag_conn_parse_uri(const char *uri, struct dag_conn *out, char **err) {
  memset(out, 0, sizeof(*out));
  *err = NULL;
  const char *sep = strstr(uri, "://");
  if (!sep || sep == uri) return bad(err, "no TYPE:// at the start");
  for (const char *p = uri; p < sep; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '+' && *p != '.')
      return bad(err, "the type holds a character other than letters, digits, '-', '_'");
  char *type = xstrndup(uri, (size_t)(sep - uri));
  for (char *p = type; *p; p++) {
    if (*p == '-') *p = '_';
    *p = (char)tolower((unsigned char)*p);
  }
  if (strcmp(type, "postgresql") == 0) {
    free(type);
    type = xstrdup("postgres");
  }
  out->conn_type = type;

  const char *rest = sep + 3;
  size_t auth_end = strcspn(rest, "/?");
  const char *query = strchr(rest, '?');
  const char *at = NULL;
  for (const char *p = rest; p < rest + auth_end; p++)
    if (*p == '@') at = p; /* the last '@': a password may hold an unescaped one */
  int rc = 0;
  const char *host = rest;
  if (at) {
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    size_t login_len = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
    rc = set_part(&out->login, rest, login_len, "login", err);
    if (rc == 0 && colon)
      rc = set_part(&out->password, colon + 1, (size_t)(at - colon - 1), "password", err);
    host = at + 1;
  }
  size_t host_len = (size_t)(rest + auth_end - host);
  const char *port = NULL;
  if (rc == 0 && host_len && host[0] == '[') {
    const char *close = memchr(host, ']', host_len);
    if (!close) rc = bad(err, "an IPv6 host without its closing ']'");
    else if (close + 1 < host + host_len && close[1] == ':') port = close + 2;
    else if (close + 1 != host + host_len) rc = bad(err, "text after an IPv6 host");
    if (rc == 0) rc = set_part(&out->host, host, (size_t)(close - host) + 1, "host", err);
  } else if (rc == 0) {
    const char *colon = memchr(host, ':', host_len);
    if (colon) port = colon + 1;
    rc = set_part(&out->host, host, colon ? (size_t)(colon - host) : host_len, "host", err);
  }
  if (rc == 0 && port) {
    size_t plen = (size_t)(rest + auth_end - port);
    long n = 0;
    bool ok = plen > 0 && plen <= 5;
    for (size_t i = 0; ok && i < plen; i++) {
      ok = isdigit((unsigned char)port[i]);
      n = n * 10 + (port[i] - '0');
    }
    if (!ok || n < 1 || n > 65535)
      rc = bad(err, "the port must be a number from 1 to 65535");
    else
      out->port = (int)n;
  }
  if (rc == 0 && rest[auth_end] == '/') {
    const char *s = rest + auth_end + 1;
    size_t slen = query ? (size_t)(query - s) : strlen(s);
    rc = set_part(&out->schema, s, slen, "schema", err);
  }
  if (rc == 0 && query) rc = parse_query(query + 1, out, err);
  if (rc) dag_conn_clear(out);
  return rc;
}

const char *dag_conn_name_problem(const char *name) {
  size_t len = strlen(name);
  if (len == 0) return "it is empty";
  if (len > 250) return "it is longer than 250 characters";
  if (!isalnum((unsigned char)name[0]) && name[0] != '_')
    return "it must begin with a letter, a digit or '_'";
  for (const char *p = name; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
      return "only letters, digits, '_', '-' and '.' are allowed";
  return NULL;
}

const char *dag_conn_extra_problem(const char *extra) {
  if (extra == NULL) return NULL;
  json_error_t jerr;
  json_t *j = json_loads(extra, 0, &jerr);
  bool ok = json_is_object(j);
  json_decref(j);
  return ok ? NULL : "extra must be the JSON text of an object";
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

json_t *dag_conn_json(const struct dag_conn *c) {
  json_t *o = json_object();
  json_object_set_new(o, "conn_id", str_or_null(c->conn_id));
  json_object_set_new(o, "conn_type", str_or_null(c->conn_type));
  json_object_set_new(o, "description", str_or_null(c->description));
  json_object_set_new(o, "host", str_or_null(c->host));
  json_object_set_new(o, "login", str_or_null(c->login));
  json_object_set_new(o, "password", str_or_null(c->password));
  json_object_set_new(o, "schema", str_or_null(c->schema));
  json_object_set_new(o, "port", c->port ? json_integer(c->port) : json_null());
  json_t *extra = c->extra ? json_loads(c->extra, 0, NULL) : NULL;
  if (!json_is_object(extra)) {
    json_decref(extra);
    extra = json_object();
  }
  json_object_set(o, "extra_dejson", extra);
  json_object_set_new(o, "extra", extra);
  return o;
}
