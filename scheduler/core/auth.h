/* auth.h - who may do what: roles, the permissions they grant, and the
 * secrets that prove who someone is (passwords, API tokens).
 *
 * Roles follow Airflow's: viewer reads; user also triggers, clears, marks
 * and pauses; op also manages variables, connections and pools; admin also
 * manages users. Each web route names exactly one permission (web/route.c).
 *
 * Passwords are kept as Argon2id strings (libsodium crypto_pwhash_str),
 * which carry their own salt and cost. API tokens are 32 random bytes shown
 * once; only a hash of each is kept (see dag_auth_token_hash()). */
#ifndef DAG_AUTH_H
#define DAG_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define DAG_ROLE_MAP(XX)     \
  XX(VIEWER, "viewer")       \
  XX(USER, "user")           \
  XX(OP, "op")               \
  XX(ADMIN, "admin")

enum dag_role {
#define XX(name, _) DAG_ROLE_##name,
  DAG_ROLE_MAP(XX)
#undef XX
};

/* What a request needs. PUBLIC: nothing (assets, health); NONE: a route
 * not yet given a permission, which every caller is refused. */
enum dag_perm {
  DAG_PERM_NONE,
  DAG_PERM_PUBLIC,
  DAG_PERM_READ,  /* viewer */
  DAG_PERM_EDIT,  /* user: trigger, clear, mark, pause */
  DAG_PERM_OP,    /* op: variables, connections, pools */
  DAG_PERM_ADMIN, /* admin: users */
};

/* "viewer" for DAG_ROLE_VIEWER; static. */
const char *dag_role_name(enum dag_role r);
/* 0, or DAG_EINVAL for a name that is no role. */
int dag_role_parse(const char *s, enum dag_role *out);
/* "read", "edit", ... ; static. */
const char *dag_perm_name(enum dag_perm p);
/* Does role `r` grant `p`? PUBLIC: always; NONE: never. */
bool dag_role_allows(enum dag_role r, enum dag_perm p);

/* Must run once before any of the functions below (sodium_init; safe to
 * call again). 0, or DAG_ECONFIG if libsodium cannot start. */
int dag_auth_init(void);

/* Argon2id hash of `password` as a self-describing string (caller frees).
 * 0, or -ENOMEM when the hash's memory cannot be had. Slow on purpose
 * (tens of ms, 64 MiB): never on the event loop. */
int dag_auth_hash_password(const char *password, char **out);
/* Does `password` match `hash`? Same cost as hashing; off the loop. */
bool dag_auth_check_password(const char *hash, const char *password);
/* Is `password` acceptable (at least 8 bytes, at most 1024, no control
 * characters, not beginning with "dagctl_" as tokens do)? NULL when it is, else a static reason. */
const char *dag_auth_password_problem(const char *password);

/* A new API token: "dagctl_" and 43 base64url characters holding 32 random
 * bytes (caller frees). */
char *dag_auth_new_token(void);
/* A token's public id: 12 random hex characters (caller frees). */
char *dag_auth_new_id(void);
/* The stored form of a token: 64 hex characters (caller frees). */
char *dag_auth_token_hash(const char *token);
/* Constant-time equality of two NUL-terminated strings of the same length;
 * different lengths are unequal (lengths are not secret here). */
bool dag_auth_equal(const char *a, const char *b);

/* A user name: 1 to 64 of [A-Za-z0-9._@-], starting with a letter or
 * digit. NULL when valid, else a static reason. */
const char *dag_auth_user_problem(const char *name);

#endif
