/* web_session.c - browser sessions: the login page's session cookie, its
 * idle expiry, and the CSRF checks on changes made with it (web_auth.h).
 *
 * The cookie is HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page makes the browser send it), Secure when the page is served
 * over TLS, and its id is drawn anew at each login, so an id planted
 * before the login is worth nothing after it. Changes made with the cookie
 * also need the session's CSRF token in X-CSRF-Token, which only our page
 * learns (GET /api/v1/ui/session), and an Origin (or Referer) of this
 * server. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "log.h"
#include "web_auth.h"
#include "web_int.h"

bool web_cookie_value(const char *header, const char *name, char *out, size_t cap) {
  if (!header || cap == 0) return false;
  size_t nl = strlen(name);
  const char *p = header;
  while (*p) {
    while (*p == ' ' || *p == ';') p++;
    const char *end = p + strcspn(p, ";");
    if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      const char *v = p + nl + 1;
      size_t n = (size_t)(end - v);
      while (n && v[n - 1] == ' ') n--;
      if (n == 0 || n >= cap) return false;
      for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok) return false;
      }
      memcpy(out, v, n);
      out[n] = '\0';
      return true;
    }
    p = end;
  }
  return false;
}

static void random_id(char *out, size_t cap) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof(raw));
  sodium_bin2base64(out, cap, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof(raw));
}

static uint64_t idle_ms(const struct dag_web *w) {
  return (uint64_t)(w->cfg->web_session_timeout_us / 1000);
}

struct web_session *web_session_of(struct dag_web *w, const struct dag_http_request *req) {
  char id[48];
  if (!w->sessions ||
      !web_cookie_value(dag_http_header(req, "Cookie"), WEB_SESSION_COOKIE, id, sizeof(id)))
    return NULL;
  uint64_t now = uv_now(w->loop);
  struct web_session *found = NULL;
  size_t n = strlen(id);
  /* Every slot is compared, in constant time, so the time taken does not
   * tell how much of an id matched. */
  for (size_t i = 0; i < WEB_SESSION_SLOTS; i++) {
    struct web_session *s = &w->sessions[i];
    if (!s->id[0]) continue;
    if (now - s->last_ms > idle_ms(w)) {
      web_session_end(s); /* idle too long */
      continue;
    }
    if (strlen(s->id) == n && sodium_memcmp(s->id, id, n) == 0) found = s;
  }
  sodium_memzero(id, sizeof(id));
  if (found) found->last_ms = now;
  return found;
}

struct web_session *web_session_new(struct dag_web *w, const char *user) {
  if (!w->sessions) w->sessions = xcalloc(WEB_SESSION_SLOTS, sizeof(*w->sessions));
  struct web_session *slot = &w->sessions[0];
  for (size_t i = 0; i < WEB_SESSION_SLOTS; i++) {
    struct web_session *s = &w->sessions[i];
    if (!s->id[0]) {
      slot = s;
      break;
    }
    if (s->last_ms < slot->last_ms) slot = s;
  }
  web_session_end(slot);
  random_id(slot->id, sizeof(slot->id));
  random_id(slot->csrf, sizeof(slot->csrf));
  snprintf(slot->user, sizeof(slot->user), "%s", user);
  slot->last_ms = uv_now(w->loop);
  return slot;
}

void web_session_end(struct web_session *s) {
  sodium_memzero(s, sizeof(*s));
}

char *web_session_cookie(const struct dag_web *w, const struct web_session *s) {
  const char *secure = w->tls ? "; Secure" : "";
  if (!s)
    return xasprintf("Set-Cookie: " WEB_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Strict;"
                     " Max-Age=0%s\r\n", secure);
  /* No Max-Age: the browser forgets it when it closes; the server ends it
   * after web.session_timeout of idleness. */
  return xasprintf("Set-Cookie: " WEB_SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s\r\n",
                   s->id, secure);
}

/* Does `url` (an Origin, or a Referer) name this server, as `host` (the
 * Host header) does? Either scheme: behind a proxy the page may be https
 * while we speak http. */
static bool names_host(const char *url, const char *host) {
  const char *rest = NULL;
  if (strncasecmp(url, "http://", 7) == 0)
    rest = url + 7;
  else if (strncasecmp(url, "https://", 8) == 0)
    rest = url + 8;
  if (!rest) return false;
  size_t n = strcspn(rest, "/?#");
  return n == strlen(host) && strncasecmp(rest, host, n) == 0;
}

bool web_same_origin(const struct dag_http_request *req, bool required) {
  const char *host = dag_http_header(req, "Host");
  const char *origin = dag_http_header(req, "Origin");
  const char *referer = dag_http_header(req, "Referer");
  if (origin && strcmp(origin, "null") != 0) return host && names_host(origin, host);
  if (origin) return false; /* "null": a sandboxed or opaque origin */
  if (referer) return host && names_host(referer, host);
  return !required;
}

const char *web_session_csrf_problem(const struct web_session *s,
                                     const struct dag_http_request *req) {
  const char *given = dag_http_header(req, "X-CSRF-Token");
  if (!given || strlen(given) != strlen(s->csrf) ||
      sodium_memcmp(given, s->csrf, strlen(s->csrf)) != 0)
    return "a change from the page needs the session's X-CSRF-Token";
  /* Our page's fetch() always sends Origin on a change; its Referer is
   * withheld (Referrer-Policy: no-referrer), so one of them must be ours. */
  if (!web_same_origin(req, true))
    return "the request's Origin is not this server";
  return NULL;
}

void web_session_api(struct dag_web *w, struct dag_http_conn *c,
                     const struct dag_http_request *req, const struct dag_route_match *m,
                     const struct web_who *who) {
  struct web_session *s = web_session_of(w, req);
  if (m->route == DAG_ROUTE_SESSION) {
    json_t *j = json_object();
    json_object_set_new(j, "username", who->anonymous ? json_null() : json_string(who->user));
    json_object_set_new(j, "role", who->anonymous ? json_null()
                                                  : json_string(dag_role_name(who->role)));
    json_object_set_new(j, "auth", json_string(w->cfg->web_auth_password ? "password" : "none"));
    json_object_set_new(j, "csrf_token", s ? json_string(s->csrf) : json_null());
    web_json(c, 200, j);
    return;
  }
  /* Logout: a cross-site request cannot end a session either. */
  if (s && web_session_csrf_problem(s, req)) {
    web_error(c, 403, "Forbidden", "%s", web_session_csrf_problem(s, req));
    return;
  }
  if (s) {
    LOG_INFO("web: logout user=%s client=%s", s->user, web_client_address(w, c));
    web_session_end(s);
  }
  char *cookie = web_session_cookie(w, NULL);
  web_json_with(c, 200, cookie, json_pack("{s:b}", "logged_out", 1));
  free(cookie);
}
