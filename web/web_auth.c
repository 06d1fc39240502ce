/* web_auth.c - credentials, the route's permission, wrong guesses (see
 * web_auth.h). */
#include "web_auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "common.h"
#include "error.h"
#include "log.h"
#include "store_auth.h"
#include "strbuf.h"
#include "timeutil.h"
#include "web_int.h"

/* Both schemes are offered: Airflow's clients speak Basic, scripts Bearer.
 * Our own page says who it is (X-Requested-With) and gets no challenge: a
 * Basic one would make the browser pop up its own login over our page. */
static const char challenge_all[] =
    "WWW-Authenticate: Bearer realm=\"dagctl\"\r\n"
    "WWW-Authenticate: Basic realm=\"dagctl\", charset=\"UTF-8\"\r\n";

static const char *challenge(const struct dag_http_request *req) {
  const char *xrw = dag_http_header(req, "X-Requested-With");
  return xrw && strcmp(xrw, "dagctl") == 0 ? NULL : challenge_all;
}

/* --- the Authorization header ------------------------------------------------------- */

void web_cred_wipe(struct web_cred *c) {
  sodium_memzero(c, sizeof(*c));
}

/* Copy s[0..n) into dst (size cap) if it fits and holds no control
 * character; false otherwise. */
static bool copy_field(char *dst, size_t cap, const char *s, size_t n) {
  if (n >= cap) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
  memcpy(dst, s, n);
  dst[n] = '\0';
  return true;
}

void web_cred_parse(const char *header, struct web_cred *out) {
  memset(out, 0, sizeof(*out));
  if (!header) return;
  out->kind = WEB_CRED_BAD;
  const char *sp = strchr(header, ' ');
  if (!sp) return;
  size_t scheme = (size_t)(sp - header);
  const char *v = sp;
  while (*v == ' ') v++;
  size_t n = strlen(v);
  while (n && v[n - 1] == ' ') n--;
  if (n == 0) return;
  if (scheme == 6 && strncasecmp(header, "Bearer", 6) == 0) {
    if (memchr(v, ' ', n) || !copy_field(out->secret, sizeof(out->secret), v, n)) return;
    out->kind = WEB_CRED_BEARER;
    return;
  }
  if (scheme != 5 || strncasecmp(header, "Basic", 5) != 0) return;
  /* base64 of "user:secret" (RFC 7617); the decoded form is never longer
   * than 3/4 of the text. */
  unsigned char raw[(sizeof(out->user) + sizeof(out->secret)) * 4 / 3];
  size_t len = 0;
  if (n > sizeof(raw) ||
      sodium_base642bin(raw, sizeof(raw), v, n, NULL, &len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return;
  unsigned char *colon = memchr(raw, ':', len);
  bool ok = colon && colon != raw &&
            copy_field(out->user, sizeof(out->user), (char *)raw, (size_t)(colon - raw)) &&
            copy_field(out->secret, sizeof(out->secret), (char *)colon + 1,
                       len - (size_t)(colon + 1 - raw)) &&
            out->secret[0];
  sodium_memzero(raw, sizeof(raw));
  if (ok)
    out->kind = WEB_CRED_BASIC;
  else
    memset(out->user, 0, sizeof(out->user)), sodium_memzero(out->secret, sizeof(out->secret));
}

/* --- wrong guesses --------------------------------------------------------------------- */

/* Wrong guesses further apart than this start the count again. */
#define AUTH_FORGET_MS (10 * 60 * 1000)

/* The slot of `peer` in the table, or the one to reuse for it. O(slots). */
static struct web_auth_failures *auth_slot(struct dag_web *w, const char *peer) {
  struct web_auth_failures *oldest = &w->auth_failures[0];
  for (size_t i = 0; i < WEB_AUTH_SLOTS; i++) {
    struct web_auth_failures *f = &w->auth_failures[i];
    if (strcmp(f->peer, peer) == 0) return f;
    if (!f->peer[0] || (oldest->peer[0] && f->last_ms < oldest->last_ms)) oldest = f;
  }
  snprintf(oldest->peer, sizeof(oldest->peer), "%s", peer);
  oldest->count = 0;
  return oldest;
}

/* The slot of `user` among the wrong passwords by user. */
static struct web_user_failures *user_slot(struct dag_web *w, const char *user) {
  struct web_user_failures *oldest = &w->user_failures[0];
  for (size_t i = 0; i < WEB_AUTH_SLOTS; i++) {
    struct web_user_failures *f = &w->user_failures[i];
    if (strcmp(f->user, user) == 0) return f;
    if (!f->user[0] || (oldest->user[0] && f->last_ms < oldest->last_ms)) oldest = f;
  }
  snprintf(oldest->user, sizeof(oldest->user), "%s", user);
  oldest->count = 0;
  return oldest;
}

/* Answer 401 after a delay that doubles with each wrong guess in a row
 * from the client's address and, for a password, at the user's name: the
 * longer of the two. Only the wrong answer waits, so the right password
 * from another address is answered at once: slowed, never locked out.
 * Logged without the secret: wrong tokens at most a line per 10 s (any
 * client can send them at will), wrong passwords each (each costs a hash
 * on the thread pool, which bounds their rate). */
static void auth_failed(struct dag_web *w, struct dag_http_conn *c,
                        const struct dag_http_request *req, const char *what,
                        const char *user, const char *detail) {
  const char *peer = web_client_address(w, c);
  uint64_t now = uv_now(w->loop);
  struct web_auth_failures *f = auth_slot(w, peer);
  if (f->count && now - f->last_ms > AUTH_FORGET_MS) f->count = 0;
  f->count++;
  f->last_ms = now;
  uint64_t delay = web_auth_delay_ms(f->count);
  unsigned user_count = 0;
  bool password = strcmp(what, "password") == 0;
  if (password && user && *user) {
    struct web_user_failures *u = user_slot(w, user);
    if (u->count && now - u->last_ms > AUTH_FORGET_MS) u->count = 0;
    u->count++;
    u->last_ms = now;
    user_count = u->count;
    uint64_t ud = web_auth_delay_ms(u->count);
    if (ud > delay) delay = ud;
  }
  uint64_t suppressed = 0;
  if (password)
    LOG_WARN("web: wrong password client=%s user=%s method=%s path=%s in_a_row=%u "
             "user_in_a_row=%u delay_ms=%llu",
             peer, user && *user ? user : "-", http_method_str(req->method), req->path,
             f->count, user_count, (unsigned long long)delay);
  else if (dag_log_limit_allow(&w->auth_log, now, &suppressed))
    LOG_WARN("web: wrong %s client=%s user=%s method=%s path=%s in_a_row=%u delay_ms=%llu "
             "not_logged_before=%llu",
             what, peer, user && *user ? user : "-", http_method_str(req->method), req->path,
             f->count, (unsigned long long)delay, (unsigned long long)suppressed);
  if (password) web_audit_event(w, c, user, "login", NULL, false, "wrong user name or password");
  web_error_after(c, delay, 401, "Unauthorized", challenge(req), detail);
}

/* The right credentials clear the address's count, without taking a slot. */
static void auth_succeeded(struct dag_web *w, struct dag_http_conn *c) {
  const char *peer = web_client_address(w, c);
  for (size_t i = 0; i < WEB_AUTH_SLOTS; i++)
    if (strcmp(w->auth_failures[i].peer, peer) == 0) w->auth_failures[i].count = 0;
}

/* --- the decision ------------------------------------------------------------------------ */

static void let_through(struct dag_web *w, struct dag_http_conn *c,
                        const struct dag_http_request *req, const struct dag_route_match *m,
                        const struct web_who *who, web_next_fn next) {
  if (!dag_role_allows(who->role, m->perm)) {
    char *detail = xasprintf("%s %s needs the %s permission, which role %s (user %s) lacks",
                             http_method_str(req->method), req->path,
                             dag_perm_name(m->perm), dag_role_name(who->role), who->user);
    web_error_with(c, 403, "Forbidden", NULL, detail);
    free(detail);
    return;
  }
  next(w, c, req, m, who);
}

/* An API token (bearer, or as a Basic password with its user's name):
 * true with *who filled, false after answering. */
static bool check_token(struct dag_web *w, struct dag_http_conn *c,
                        const struct dag_http_request *req, const struct web_cred *cred,
                        struct web_who *who) {
  const char *legacy = w->cfg->web_token;
  if (cred->kind == WEB_CRED_BEARER && legacy && *legacy &&
      web_token_equal(cred->secret, legacy)) {
    snprintf(who->user, sizeof(who->user), "web.token");
    who->role = DAG_ROLE_ADMIN;
    auth_succeeded(w, c);
    return true;
  }
  char *hash = dag_auth_token_hash(cred->secret);
  struct dag_store_token t;
  enum dag_role role = DAG_ROLE_VIEWER;
  int rc = dag_store_token_find(w->store, hash, &t, &role);
  free(hash);
  if (rc != 0 && rc != DAG_ENOTFOUND) {
    web_store_error(c, rc, "cannot check the token");
    return false;
  }
  const char *why = NULL;
  dag_time_t now = dag_time_now();
  if (rc == DAG_ENOTFOUND)
    why = "the token is not an API token (dagctl tokens create) nor web.token";
  else if (t.revoked_at)
    why = "the token was revoked";
  else if (t.expires_at && t.expires_at <= now)
    why = "the token has expired";
  else if (cred->kind == WEB_CRED_BASIC && strcmp(cred->user, t.username) != 0)
    why = "the token belongs to another user";
  if (why) {
    auth_failed(w, c, req, "API token", cred->kind == WEB_CRED_BASIC ? cred->user : NULL, why);
    dag_store_token_clear(&t);
    return false;
  }
  snprintf(who->user, sizeof(who->user), "%s", t.username);
  who->role = role;
  dag_store_token_clear(&t);
  auth_succeeded(w, c);
  return true;
}

/* A password check, on the thread pool: Argon2id takes tens of
 * milliseconds and 64 MiB by design, which the loop must not wait for. */
struct pw_job {
  uv_work_t work;
  struct dag_web *w;
  struct dag_http_conn *c;
  const struct dag_http_request *req; /* the connection's, while it is held */
  struct dag_route_match m;           /* owns the captures */
  web_next_fn next;
  struct web_cred cred;
  bool login; /* POST /api/v1/ui/login: a session, not a request to run */
  char *hash; /* NULL: no such user or no password; still costs a hash */
  enum dag_role role;
  bool ok;
};

static void pw_work(uv_work_t *r) {
  struct pw_job *j = container_of(r, struct pw_job, work);
  if (j->hash) {
    j->ok = dag_auth_check_password(j->hash, j->cred.secret);
  } else {
    /* The same cost for a name that does not exist, so that the answer's
     * time does not tell which names do. */
    char *h = NULL;
    if (dag_auth_hash_password(j->cred.secret, &h) == 0) free(h);
    j->ok = false;
  }
}

static void pw_job_free(struct pw_job *j) {
  dag_route_match_free(&j->m);
  web_cred_wipe(&j->cred);
  free(j->hash);
  free(j);
}

/* The password was right: a new session (the id drawn anew, any session
 * the browser held ended), its cookie and CSRF token. */
static void logged_in(struct dag_web *w, struct dag_http_conn *c,
                      const struct dag_http_request *req, const char *user, enum dag_role role) {
  auth_succeeded(w, c);
  struct web_session *old = web_session_of(w, req);
  if (old) web_session_end(old);
  struct web_session *s = web_session_new(w, user);
  LOG_INFO("web: login user=%s role=%s client=%s", user, dag_role_name(role),
           web_client_address(w, c));
  web_audit_event(w, c, user, "login", NULL, true, NULL);
  char *cookie = web_session_cookie(w, s);
  web_json_with(c, 200, cookie,
                json_pack("{s:s, s:s, s:s}", "username", user, "role", dag_role_name(role),
                          "csrf_token", s->csrf));
  free(cookie);
}

static void pw_done(uv_work_t *r, int status) {
  struct pw_job *j = container_of(r, struct pw_job, work);
  struct dag_web *w = j->w;
  if (dag_http_conn_release(j->c)) {
    if (status != 0) {
      web_error(j->c, 503, "Service Unavailable", "the password check was cancelled");
    } else if (!j->ok) {
      auth_failed(w, j->c, j->req, "password", j->cred.user,
                  "wrong user name or password");
    } else if (j->login) {
      logged_in(w, j->c, j->req, j->cred.user, j->role);
    } else {
      struct web_who who = {.role = j->role};
      snprintf(who.user, sizeof(who.user), "%s", j->cred.user);
      auth_succeeded(w, j->c);
      let_through(w, j->c, j->req, &j->m, &who, j->next);
    }
  }
  pw_job_free(j);
  web_handle_closed(w); /* the job's hold on the server */
}

static void check_password(struct dag_web *w, struct dag_http_conn *c,
                           const struct dag_http_request *req, struct dag_route_match *m,
                           struct web_cred *cred, web_next_fn next, bool login) {
  struct pw_job *j = xcalloc(1, sizeof(*j));
  j->login = login;
  j->w = w;
  j->c = c;
  j->req = req;
  j->m = *m;
  memset(m, 0, sizeof(*m)); /* the captures are the job's now */
  j->next = next;
  j->cred = *cred;
  struct dag_store_user u;
  int rc = dag_store_user_get(w->store, cred->user, &u);
  if (rc != 0 && rc != DAG_ENOTFOUND) {
    web_store_error(c, rc, "cannot check the password");
    pw_job_free(j);
    return;
  }
  if (rc == 0) {
    j->hash = u.password_hash;
    u.password_hash = NULL;
    j->role = u.role;
    dag_store_user_free(&u);
  }
  dag_http_conn_hold(c);
  rc = uv_queue_work(w->loop, &j->work, pw_work, pw_done);
  if (rc != 0) {
    LOG_ERROR("web: cannot queue a password check error=\"%s\"", uv_strerror(rc));
    if (dag_http_conn_release(c))
      web_error(c, 503, "Service Unavailable", "cannot check the password now");
    pw_job_free(j);
    return;
  }
  w->handles++;
}

/* POST /api/v1/ui/login {"username", "password"}: from our own page only
 * (a login planted by another site would log the victim in as the
 * attacker). */
static void login_request(struct dag_web *w, struct dag_http_conn *c,
                          const struct dag_http_request *req, struct dag_route_match *m) {
  if (!web_same_origin(req, false)) {
    web_error(c, 403, "Forbidden", "a login must come from this server's own page");
    return;
  }
  json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
  const char *user = json_string_value(json_object_get(body, "username"));
  const char *pw = json_string_value(json_object_get(body, "password"));
  struct web_cred cred = {.kind = WEB_CRED_BASIC};
  if (!user || !pw || !*pw || dag_auth_user_problem(user) ||
      strlen(pw) >= sizeof(cred.secret)) {
    json_decref(body);
    web_error(c, 400, "Bad Request", "send {\"username\": ..., \"password\": ...}");
    return;
  }
  snprintf(cred.user, sizeof(cred.user), "%s", user);
  snprintf(cred.secret, sizeof(cred.secret), "%s", pw);
  /* jansson keeps its own copy of the password: wipe it before freeing. */
  sodium_memzero((char *)pw, strlen(pw));
  json_decref(body);
  check_password(w, c, req, m, &cred, NULL, true);
  web_cred_wipe(&cred);
}

void web_auth_route(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req, struct dag_route_match *m,
                    web_next_fn next) {
  struct web_who who = {.role = DAG_ROLE_VIEWER, .anonymous = true};
  if (m->route == DAG_ROUTE_LOGIN) {
    login_request(w, c, req, m);
    return;
  }
  if (m->perm == DAG_PERM_PUBLIC) {
    next(w, c, req, m, &who);
    return;
  }
  if (m->perm == DAG_PERM_NONE) {
    /* A route nobody gave a permission: a mistake refused, not opened. */
    LOG_ERROR("web: route without a permission path=%s", req->path);
    web_error(c, 403, "Forbidden", "this route has no permission assigned");
    return;
  }
  struct web_cred cred;
  web_cred_parse(dag_http_header(req, "Authorization"), &cred);
  struct web_session *s = cred.kind == WEB_CRED_NONE ? web_session_of(w, req) : NULL;
  if (s) {
    struct dag_store_user u;
    int rc = dag_store_user_get(w->store, s->user, &u);
    if (rc == DAG_ENOTFOUND) {
      web_session_end(s); /* the user was deleted: so is the session */
      s = NULL;
    } else if (rc) {
      web_store_error(c, rc, "cannot check the session");
      return;
    } else {
      bool change = req->method != HTTP_GET && req->method != HTTP_HEAD;
      const char *why = change ? web_session_csrf_problem(s, req) : NULL;
      if (why) {
        LOG_WARN("web: change refused user=%s client=%s method=%s path=%s reason=\"%s\"",
                 s->user, web_client_address(w, c), http_method_str(req->method), req->path, why);
        web_error(c, 403, "Forbidden", "%s", why);
        dag_store_user_free(&u);
        return;
      }
      who.anonymous = false;
      snprintf(who.user, sizeof(who.user), "%s", u.username);
      who.role = u.role;
      dag_store_user_free(&u);
      let_through(w, c, req, m, &who, next);
      return;
    }
  }
  switch (cred.kind) {
  case WEB_CRED_NONE:
    if (!w->cfg->web_auth_password && m->perm == DAG_PERM_READ) {
      next(w, c, req, m, &who); /* web.auth none: reads are open */
      return;
    }
    if (req->method == HTTP_GET && strncmp(req->path, "/api/", 5) != 0 &&
        strcmp(req->path, "/metrics") != 0) {
      /* A page: to the login page, which comes back here. */
      struct strbuf loc = STRBUF_INIT;
      sb_append(&loc, "Location: /login?next=");
      for (const unsigned char *p = (const unsigned char *)req->url; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-_.~", *p))
          sb_appendc(&loc, (char)*p);
        else
          sb_appendf(&loc, "%%%02X", *p);
      }
      sb_append(&loc, "\r\n");
      dag_http_respond(c, 303, "text/plain; charset=utf-8", sb_str(&loc), "log in\n", 7);
      sb_free(&loc);
      return;
    }
    web_error_with(c, 401, "Unauthorized", challenge(req),
                   m->perm == DAG_PERM_READ
                       ? "log in: send 'Authorization: Bearer <API token>' or Basic "
                         "credentials (dagctl users add, dagctl tokens create)"
                       : "this request changes state: send 'Authorization: Bearer <API "
                         "token>' (dagctl tokens create, or web.token) or Basic credentials");
    return;
  case WEB_CRED_BAD:
    web_error_with(c, 401, "Unauthorized", challenge(req),
                   "the Authorization header is neither 'Bearer <token>' nor Basic "
                   "credentials");
    return;
  case WEB_CRED_BEARER:
    break;
  case WEB_CRED_BASIC:
    if (strncmp(cred.secret, "dagctl_", 7) != 0) {
      check_password(w, c, req, m, &cred, next, false);
      web_cred_wipe(&cred);
      return;
    }
    break;
  }
  who.anonymous = false;
  bool ok = check_token(w, c, req, &cred, &who);
  web_cred_wipe(&cred);
  if (ok) let_through(w, c, req, m, &who, next);
}
