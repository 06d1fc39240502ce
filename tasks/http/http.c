/* http.c - the `http` task type: one HTTP request with libcurl, its status
 * and response checked, the status and the body (or chosen JSON fields)
 * handed to XCom. Airflow's HttpOperator, declaratively.
 *
 * Params (host->param; templates arrive rendered):
 *   url              required; http:// or https:// only
 *   method           GET | POST | PUT | PATCH | DELETE | HEAD; GET
 *   headers          a mapping of header names to values
 *   body             the request body, sent as written
 *   expected_status  a list of status codes; unset: any 2xx
 *   response_check   {path: a.b.0.c, equals: V, not_equals: V, in: [V...],
 *                    exists: true|false, matches: ERE}: every condition
 *                    given must hold on the JSON field at `path` (only
 *                    `path`: the field must exist). Never code.
 *   xcom_fields      {KEY: a.b.0.c, ...}: push these fields of the JSON
 *                    response as XComs KEY instead of the whole body
 *   timeout          the whole request; 30s
 *   ca_file          a PEM file of CA certificates to trust instead of the
 *                    system's; TLS peer and host name verification are
 *                    always on (there is no switch to turn them off)
 *   auth             none | basic | bearer: credentials from the `http`
 *                    section's secret settings; none
 *   conn_id          a connection (`dagctl connections`) whose login and
 *                    password are the credentials instead: basic uses
 *                    both, bearer its password as the token
 *
 * XComs: "status" (the status code) and "body" (the response as JSON when
 * it parses as JSON, else as a JSON string; left out above 64 KiB).
 *
 * Secrets: the credentials reach libcurl and nothing else. The log names
 * the method and the URL without its user info and query string, the
 * status, the size and the time taken; never headers or bodies. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "common.h"
#include "dagctl/plugin.h"
#include "duration.h"
#include "strbuf.h"

#define XCOM_MAX (64 * 1024)
/* A bigger response fails the try: the body is kept in memory. */
#define BODY_MAX (16 * 1024 * 1024)
#define TIMEOUT_DEFAULT "30s"

#define HOST_HAS(h, f) \
  ((h)->size >= offsetof(struct dagctl_host, f) + sizeof((h)->f) && (h)->f != NULL)

struct request {
  const struct dagctl_host *h;
  const char *url, *method, *body, *ca_file, *auth;
  json_t *conn; /* the conn_id's connection, or NULL */
  json_t *headers;         /* object or NULL */
  json_t *expected_status; /* array or NULL */
  json_t *check;           /* object or NULL */
  json_t *xcom_fields;     /* object or NULL */
  int64_t timeout_us;
  struct strbuf response;
  bool too_big;
};

static const char *param(const struct dagctl_host *h, const char *name) {
  const char *v = HOST_HAS(h, param) ? h->param(h, name) : NULL;
  return v && *v ? v : NULL;
}

static const char *setting(const struct dagctl_host *h, const char *key) {
  const char *v = HOST_HAS(h, connection) ? h->connection(h, "http", key) : NULL;
  return v && *v ? v : NULL;
}

/* A list or mapping param arrives as compact JSON text. */
static int json_param(const struct dagctl_host *h, const char *name, json_type want, json_t **out) {
  const char *v = param(h, name);
  *out = NULL;
  if (v == NULL) return 0;
  json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
  if (j == NULL || json_typeof(j) != want) {
    h->log(h, DAGCTL_LOG_ERROR, "%s: expected %s", name,
           want == JSON_OBJECT ? "a mapping" : "a list");
    json_decref(j);
    return -1;
  }
  *out = j;
  return 0;
}

/* The URL as the log shows it: no user info, no query string (either may
 * hold a credential). Caller frees. */
static char *url_for_log(const char *url) {
  const char *scheme_end = strstr(url, "://");
  const char *host = scheme_end ? scheme_end + 3 : url;
  size_t authority = strcspn(host, "/?#");
  const char *at = memchr(host, '@', authority);
  struct strbuf sb = STRBUF_INIT;
  sb_appendn(&sb, url, (size_t)(host - url));
  const char *rest = at ? at + 1 : host;
  size_t keep = strcspn(rest, "?#");
  sb_appendn(&sb, rest, keep);
  if (rest[keep] == '?') sb_append(&sb, "?...");
  return sb_detach(&sb);
}

static bool has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
  return false;
}

static int read_params(struct request *r) {
  const struct dagctl_host *h = r->h;
  r->url = param(h, "url");
  if (r->url == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "url: required");
    return -1;
  }
  if (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "url: expected an http:// or https:// URL");
    return -1;
  }
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  const char *m = param(h, "method");
  r->method = "GET";
  if (m) {
    r->method = NULL;
    for (size_t i = 0; i < DAG_ARRAY_SIZE(methods); i++)
      if (strcasecmp(m, methods[i]) == 0) r->method = methods[i];
    if (r->method == NULL) {
      h->log(h, DAGCTL_LOG_ERROR, "method: expected GET, POST, PUT, PATCH, DELETE or HEAD, got "
             "'%s'", m);
      return -1;
    }
  }
  r->body = param(h, "body");
  r->ca_file = param(h, "ca_file");
  r->auth = param(h, "auth");
  if (r->auth == NULL) r->auth = "none";
  if (strcmp(r->auth, "none") != 0 && strcmp(r->auth, "basic") != 0 &&
      strcmp(r->auth, "bearer") != 0) {
    h->log(h, DAGCTL_LOG_ERROR, "auth: expected none, basic or bearer, got '%s'", r->auth);
    return -1;
  }
  const char *conn_id = param(h, "conn_id");
  if (conn_id) {
    const char *c = HOST_HAS(h, get_conn) ? h->get_conn(h, conn_id) : NULL;
    if (c == NULL) {
      if (!HOST_HAS(h, get_conn))
        h->log(h, DAGCTL_LOG_ERROR, "conn_id: this host has no connections (ABI minor 6)");
      return -1;
    }
    r->conn = json_loads(c, 0, NULL);
  }
  const char *t = param(h, "timeout");
  if (dag_duration_parse(t ? t : TIMEOUT_DEFAULT, &r->timeout_us) < 0 || r->timeout_us <= 0) {
    h->log(h, DAGCTL_LOG_ERROR, "timeout: expected a duration such as 30s, got '%s'", t);
    return -1;
  }
  if (json_param(h, "headers", JSON_OBJECT, &r->headers) < 0 ||
      json_param(h, "expected_status", JSON_ARRAY, &r->expected_status) < 0 ||
      json_param(h, "response_check", JSON_OBJECT, &r->check) < 0 ||
      json_param(h, "xcom_fields", JSON_OBJECT, &r->xcom_fields) < 0)
    return -1;
  const char *key;
  json_t *v;
  json_object_foreach(r->headers, key, v) {
    /* A header is one line: a CR or LF would start another. */
    if (!json_is_string(v) || has_ctl(key) || has_ctl(json_string_value(v)) || !*key ||
        strchr(key, ':')) {
      h->log(h, DAGCTL_LOG_ERROR, "headers.%s: expected a one-line string value and a name "
             "without ':'", key);
      return -1;
    }
  }
  size_t i;
  json_array_foreach(r->expected_status, i, v) {
    if (!json_is_integer(v) || json_integer_value(v) < 100 || json_integer_value(v) > 599) {
      h->log(h, DAGCTL_LOG_ERROR, "expected_status[%zu]: expected a status code from 100 to "
             "599", i);
      return -1;
    }
  }
  json_object_foreach(r->xcom_fields, key, v) {
    if (!json_is_string(v)) {
      h->log(h, DAGCTL_LOG_ERROR, "xcom_fields.%s: expected a field path such as data.id", key);
      return -1;
    }
  }
  return 0;
}

/* --- the request ---------------------------------------------------------- */

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
  struct request *r = userdata;
  size_t n = size * nmemb;
  if (r->response.len + n > BODY_MAX) {
    r->too_big = true;
    return 0; /* libcurl stops with CURLE_WRITE_ERROR */
  }
  sb_appendn(&r->response, ptr, n);
  return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  struct request *r = userdata;
  DAG_UNUSED(dltotal);
  DAG_UNUSED(dlnow);
  DAG_UNUSED(ultotal);
  DAG_UNUSED(ulnow);
  return HOST_HAS(r->h, cancelled) && r->h->cancelled(r->h) ? 1 : 0;
}

/* Perform the request; *status is the response's code. -1 after logging
 * why no response came. */
static int perform(struct request *r, long *status) {
  const struct dagctl_host *h = r->h;
  CURL *c = curl_easy_init();
  if (c == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "cannot start libcurl");
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  char *auth_header = NULL;
  int rc = -1;
  const char *key;
  json_t *v;
  json_object_foreach(r->headers, key, v) {
    char *line = xasprintf("%s: %s", key, json_string_value(v));
    hdrs = curl_slist_append(hdrs, line);
    free(line);
  }
  const char *conn_user = json_string_value(json_object_get(r->conn, "login"));
  const char *conn_pass = json_string_value(json_object_get(r->conn, "password"));
  if (r->conn && strcmp(r->auth, "none") != 0 &&
      (conn_pass == NULL || (strcmp(r->auth, "basic") == 0 && conn_user == NULL))) {
    h->log(h, DAGCTL_LOG_ERROR, "auth: %s needs the connection's %s", r->auth,
           conn_pass ? "login" : "password");
    goto out;
  }
  if (strcmp(r->auth, "bearer") == 0) {
    const char *token = r->conn ? conn_pass : setting(h, "bearer_token");
    if (token == NULL) {
      h->log(h, DAGCTL_LOG_ERROR, "auth: bearer needs the setting http.bearer_token "
             "(DAGCTL__HTTP__BEARER_TOKEN or http.bearer_token_file)");
      goto out;
    }
    auth_header = xasprintf("Authorization: Bearer %s", token);
    hdrs = curl_slist_append(hdrs, auth_header);
  } else if (strcmp(r->auth, "basic") == 0) {
    const char *user = r->conn ? conn_user : setting(h, "username");
    const char *pass = r->conn ? conn_pass : setting(h, "password");
    if (user == NULL || pass == NULL) {
      h->log(h, DAGCTL_LOG_ERROR, "auth: basic needs the settings http.username and "
             "http.password (DAGCTL__HTTP__PASSWORD or http.password_file)");
      goto out;
    }
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, user);
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
  }
  curl_easy_setopt(c, CURLOPT_URL, r->url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(r->timeout_us / 1000));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (r->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "dagctl-http/1.0");
  if (strcmp(r->method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (strcmp(r->method, "GET") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
  if (r->body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
    if (strcmp(r->method, "GET") == 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) {
    if (r->too_big)
      h->log(h, DAGCTL_LOG_ERROR, "the response is over %d MiB", BODY_MAX / (1024 * 1024));
    else
      h->log(h, DAGCTL_LOG_ERROR, "request failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    goto out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  rc = 0;
out:
  curl_slist_free_all(hdrs);
  if (auth_header) {
    /* The token is gone from memory as soon as it is sent. */
    memset(auth_header, 0, strlen(auth_header));
    free(auth_header);
  }
  curl_easy_cleanup(c);
  return rc;
}

/* --- the response ------------------------------------------------------------ */

/* The value at `path` (dot-separated keys, array indexes as numbers) in
 * `root`, borrowed; NULL when there is none. */
static json_t *json_at(json_t *root, const char *path) {
  json_t *cur = root;
  const char *p = path;
  while (cur && *p) {
    size_t n = strcspn(p, ".");
    char *part = xstrndup(p, n);
    if (json_is_object(cur)) {
      cur = json_object_get(cur, part);
    } else if (json_is_array(cur)) {
      char *end;
      errno = 0;
      long idx = strtol(part, &end, 10);
      cur = (*part && *end == '\0' && errno == 0 && idx >= 0) ? json_array_get(cur, (size_t)idx)
                                                              : NULL;
    } else {
      cur = NULL;
    }
    free(part);
    p += n;
    if (*p == '.') p++;
  }
  return cur;
}

/* A field compared with a YAML value: a string field also equals the
 * scalar written for it ("42" for 42), since YAML hands numbers and
 * strings alike to plugins that want text. */
static bool same(const json_t *field, const json_t *want) {
  if (json_equal(field, want)) return true;
  if (json_is_string(want) && (json_is_number(field) || json_is_boolean(field))) {
    char *text = json_dumps(field, JSON_ENCODE_ANY);
    bool eq = text && strcmp(text, json_string_value(want)) == 0;
    free(text);
    return eq;
  }
  return false;
}

static char *show(const json_t *v) {
  char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  if (text && strlen(text) > 200) memcpy(text + 197, "...", 4);
  return text ? text : xstrdup("(none)");
}

/* response_check against the parsed body (NULL: not JSON). 0 when it holds;
 * -1 after logging which condition did not. */
static int check_response(struct request *r, json_t *doc) {
  const struct dagctl_host *h = r->h;
  const char *path = json_string_value(json_object_get(r->check, "path"));
  if (path == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "response_check.path: required");
    return -1;
  }
  if (doc == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "response_check: the response is not JSON");
    return -1;
  }
  json_t *field = json_at(doc, path);
  const json_t *exists = json_object_get(r->check, "exists");
  bool want_exists = exists == NULL || json_is_true(exists) ||
                     (json_is_string(exists) && strcmp(json_string_value(exists), "true") == 0);
  const json_t *eq = json_object_get(r->check, "equals");
  const json_t *ne = json_object_get(r->check, "not_equals");
  const json_t *in = json_object_get(r->check, "in");
  const json_t *re = json_object_get(r->check, "matches");
  char *got = show(field);
  int rc = -1;
  if (!want_exists) {
    if (field != NULL)
      h->log(h, DAGCTL_LOG_ERROR, "response_check: %s exists (%s), expected none", path, got);
    else
      rc = 0;
    goto out;
  }
  if (field == NULL) {
    h->log(h, DAGCTL_LOG_ERROR, "response_check: no field %s in the response", path);
    goto out;
  }
  if (eq && !same(field, eq)) {
    char *want = show(eq);
    h->log(h, DAGCTL_LOG_ERROR, "response_check: %s is %s, expected %s", path, got, want);
    free(want);
    goto out;
  }
  if (ne && same(field, ne)) {
    h->log(h, DAGCTL_LOG_ERROR, "response_check: %s is %s, expected anything else", path, got);
    goto out;
  }
  if (in) {
    bool found = false;
    size_t i;
    const json_t *item;
    json_array_foreach(in, i, item) found = found || same(field, item);
    if (!found) {
      char *want = show(in);
      h->log(h, DAGCTL_LOG_ERROR, "response_check: %s is %s, expected one of %s", path, got,
             want);
      free(want);
      goto out;
    }
  }
  if (re) {
    regex_t rx;
    if (!json_is_string(re) || regcomp(&rx, json_string_value(re), REG_EXTENDED | REG_NOSUB)) {
      h->log(h, DAGCTL_LOG_ERROR, "response_check.matches: not a POSIX extended regex");
      goto out;
    }
    const char *text = json_is_string(field) ? json_string_value(field) : got;
    int m = regexec(&rx, text, 0, NULL, 0);
    regfree(&rx);
    if (m != 0) {
      h->log(h, DAGCTL_LOG_ERROR, "response_check: %s is %s, which does not match %s", path, got,
             json_string_value(re));
      goto out;
    }
  }
  h->log(h, DAGCTL_LOG_INFO, "response_check: %s is %s: ok", path, got);
  rc = 0;
out:
  free(got);
  return rc;
}

static void push(struct request *r, const char *key, const json_t *v) {
  const struct dagctl_host *h = r->h;
  if (!HOST_HAS(h, xcom_push)) return;
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (text == NULL || strlen(text) > XCOM_MAX)
    h->log(h, DAGCTL_LOG_WARN, "xcom %s: over 64 KiB, not pushed", key);
  else if (h->xcom_push(h, key, text) != 0)
    h->log(h, DAGCTL_LOG_WARN, "xcom %s: the host refused the value", key);
  free(text);
}

static bool status_expected(const struct request *r, long status) {
  if (r->expected_status == NULL) return status >= 200 && status <= 299;
  size_t i;
  const json_t *v;
  json_array_foreach(r->expected_status, i, v) if (json_integer_value(v) == status) return true;
  return false;
}

static enum dagctl_result http_execute(const struct dagctl_host *h) {
  struct request r = {.h = h, .response = STRBUF_INIT};
  enum dagctl_result res = DAGCTL_FAILED;
  json_t *doc = NULL;
  char *shown = NULL;
  if (read_params(&r) < 0) goto out;
  shown = url_for_log(r.url);
  h->log(h, DAGCTL_LOG_INFO, "%s %s", r.method, shown);
  long status = 0;
  if (perform(&r, &status) < 0) goto out;
  doc = json_loadb(sb_str(&r.response), r.response.len, JSON_DECODE_ANY, NULL);
  h->log(h, DAGCTL_LOG_INFO, "%s %s: status %ld, %zu bytes%s", r.method, shown, status,
         r.response.len, doc ? " of JSON" : "");
  json_t *code = json_integer(status);
  push(&r, "status", code);
  json_decref(code);
  if (!status_expected(&r, status)) {
    char *want = r.expected_status ? show(r.expected_status) : xstrdup("any 2xx");
    h->log(h, DAGCTL_LOG_ERROR, "status %ld, expected %s", status, want);
    free(want);
    goto out;
  }
  if (r.check && check_response(&r, doc) < 0) goto out;
  if (r.xcom_fields) {
    const char *key;
    json_t *path;
    json_object_foreach(r.xcom_fields, key, path) {
      json_t *field = doc ? json_at(doc, json_string_value(path)) : NULL;
      if (field == NULL) {
        h->log(h, DAGCTL_LOG_ERROR, "xcom_fields.%s: no field %s in the %s response", key,
               json_string_value(path), doc ? "JSON" : "non-JSON");
        goto out;
      }
      push(&r, key, field);
    }
  } else {
    json_t *text = doc ? NULL : json_stringn(sb_str(&r.response), r.response.len);
    if (doc || text) push(&r, "body", doc ? doc : text);
    else h->log(h, DAGCTL_LOG_WARN, "xcom body: not UTF-8, not pushed");
    json_decref(text);
  }
  res = DAGCTL_OK;
out:
  json_decref(doc);
  json_decref(r.headers);
  json_decref(r.expected_status);
  json_decref(r.check);
  json_decref(r.xcom_fields);
  json_decref(r.conn);
  sb_free(&r.response);
  free(shown);
  return res;
}

/* response_check: the conditions, each optional but `path`. */
static const struct dagctl_param check_fields[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "path", NULL,
                 "the JSON field, keys and indexes joined by '.': data.items.0.id"),
    DAGCTL_PARAM(DAGCTL_PARAM_ANY, 0, "equals", NULL, "the field equals this value"),
    DAGCTL_PARAM(DAGCTL_PARAM_ANY, 0, "not_equals", NULL, "the field differs from this value"),
    DAGCTL_PARAM(DAGCTL_PARAM_LIST, 0, "in", NULL, "the field equals one of these values"),
    DAGCTL_PARAM(DAGCTL_PARAM_BOOLEAN, 0, "exists", "true", "the field exists (or not)"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "matches", NULL,
                 "the field matches this POSIX extended regular expression"),
};

static const struct dagctl_param params[] = {
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, DAGCTL_PARAM_REQUIRED, "url", NULL,
                 "an http:// or https:// URL"),
    DAGCTL_PARAM_CHOICES(DAGCTL_PARAM_STRING, 0, "method", "GET",
                         "GET, POST, PUT, PATCH, DELETE or HEAD", "GET,POST,PUT,PATCH,DELETE,HEAD"),
    DAGCTL_PARAM(DAGCTL_PARAM_MAPPING, 0, "headers", NULL, "request headers, name: value"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "body", NULL, "the request body"),
    DAGCTL_PARAM(DAGCTL_PARAM_LIST, 0, "expected_status", NULL,
                 "the status codes that succeed (default: any 2xx)"),
    DAGCTL_PARAM_FIELDS(DAGCTL_PARAM_MAPPING, 0, "response_check", NULL,
                        "conditions on one field of the JSON response", check_fields),
    DAGCTL_PARAM(DAGCTL_PARAM_MAPPING, 0, "xcom_fields", NULL,
                 "XCom key: JSON field path, pushed instead of the body"),
    DAGCTL_PARAM(DAGCTL_PARAM_DURATION, 0, "timeout", TIMEOUT_DEFAULT, "for the whole request"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "ca_file", NULL,
                 "PEM CA certificates to trust instead of the system's"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "auth", "none",
                 "none, basic (http.username, http.password) or bearer (http.bearer_token)"),
    DAGCTL_PARAM(DAGCTL_PARAM_STRING, 0, "conn_id", NULL,
                 "a connection whose login and password are the credentials instead"),
};

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "http",
     "an HTTP request; status and response checked, status and body to XCom", http_execute,
     params, DAG_ARRAY_SIZE(params), 0, NULL},
};

static const struct dagctl_setting settings[] = {
    DAGCTL_SETTING(DAGCTL_SETTING_STRING, 0, "username", NULL, NULL, "the user for auth: basic"),
    DAGCTL_SETTING(DAGCTL_SETTING_PASSWORD, DAGCTL_SETTING_SECRET, "password", NULL, NULL,
                   "the password for auth: basic"),
    DAGCTL_SETTING(DAGCTL_SETTING_PASSWORD, DAGCTL_SETTING_SECRET, "bearer_token", NULL, NULL,
                   "the token for auth: bearer"),
};
static const struct dagctl_config_section section = {
    sizeof(struct dagctl_config_section), "http", "credentials of http tasks", settings,
    DAG_ARRAY_SIZE(settings)};
static const struct dagctl_config_section *const sections[] = {&section};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "http", "1.0.0", types,
    DAG_ARRAY_SIZE(types), sections, DAG_ARRAY_SIZE(sections)};

const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
