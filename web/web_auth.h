/* web_auth.h - who a request comes from, and whether the route's one
 * permission lets it through (see route.c's table).
 *
 * Credentials: "Authorization: Bearer <token>" (an API token from `dagctl
 * tokens create`, or the legacy web.token, which acts as admin) or
 * "Authorization: Basic base64(user:secret)", the secret being the user's
 * password or one of the user's API tokens; Airflow's clients send either.
 * web.auth none lets requests without credentials read; password lets
 * them reach the public routes only. Not public. */
#ifndef DAG_WEB_AUTH_H
#define DAG_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "http.h"
#include "route.h"

struct dag_web;

/* An Authorization header taken apart. */
enum web_cred_kind {
  WEB_CRED_NONE,   /* no header */
  WEB_CRED_BEARER, /* secret holds the token */
  WEB_CRED_BASIC,  /* user and secret */
  WEB_CRED_BAD,    /* another scheme, or malformed */
};
#define WEB_CRED_MAX 1100 /* longest secret (a password of 1024) and more */
struct web_cred {
  enum web_cred_kind kind;
  char user[72];
  char secret[WEB_CRED_MAX];
};
/* Parse the value of an Authorization header (NULL: none) into *out. Any
 * bytes are safe: this is a parser of outside input with its own fuzz
 * target (tests/fuzz/fuzz_auth_header.c). Wipe *out with web_cred_wipe()
 * after use. */
void web_cred_parse(const char *header, struct web_cred *out);
void web_cred_wipe(struct web_cred *c);

/* Who made a request, once let through. */
struct web_who {
  char user[72];   /* "" when anonymous; "web.token" for the legacy token */
  enum dag_role role;
  bool anonymous;
};

/* What runs a request once it is let through; `who` borrowed for the call. */
typedef void (*web_next_fn)(struct dag_web *w, struct dag_http_conn *c,
                            const struct dag_http_request *req,
                            const struct dag_route_match *m, const struct web_who *who);

/* Decide the request: answer 401 or 403 itself, or call next() exactly
 * once, at once or (a password to check on the thread pool) later. Takes
 * the match's captures (m is left empty, safe to free). */
void web_auth_route(struct dag_web *w, struct dag_http_conn *c,
                    const struct dag_http_request *req, struct dag_route_match *m,
                    web_next_fn next);


/* --- browser sessions (web_session.c) ------------------------------------------------ */

#define WEB_SESSION_COOKIE "dagctl_session"

/* The value of cookie `name` in a Cookie header (NULL: none) copied into
 * out (cap bytes): true when present, non-empty, of base64url characters
 * and shorter than cap. Any bytes are safe (fuzz_auth_header.c). */
bool web_cookie_value(const char *header, const char *name, char *out, size_t cap);

struct web_session;
/* The live session the request's cookie names, its idle time renewed; NULL
 * when none (an idle one is ended here). Borrowed until the next call. */
struct web_session *web_session_of(struct dag_web *w, const struct dag_http_request *req);
/* A new session for `user`, evicting the least recently used when all
 * slots are taken. Borrowed. */
struct web_session *web_session_new(struct dag_web *w, const char *user);
void web_session_end(struct web_session *s);
/* "Set-Cookie: ...\r\n" for `s` (NULL: one that clears the cookie);
 * caller frees. */
char *web_session_cookie(const struct dag_web *w, const struct web_session *s);
/* Does a change made with a session cookie come from our own page? Its
 * X-CSRF-Token must be the session's, and its Origin (or, without one, its
 * Referer) must be this server's, as the Host header names it. NULL when
 * it does, else a static reason. */
const char *web_session_csrf_problem(const struct web_session *s,
                                     const struct dag_http_request *req);
/* Is the Origin (or Referer) header, if any, this server's own? */
bool web_same_origin(const struct dag_http_request *req, bool required);

/* GET /api/v1/ui/session and POST /api/v1/ui/logout. (POST .../login is
 * web_auth_route()'s: it checks the password on the thread pool.) */
void web_session_api(struct dag_web *w, struct dag_http_conn *c,
                     const struct dag_http_request *req, const struct dag_route_match *m,
                     const struct web_who *who);

#endif
