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

#endif
