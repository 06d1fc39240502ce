/* store_auth.h - users and API tokens in the state store (migration
 * 0009_auth). Hashing is the caller's (core/auth.h): the store keeps only
 * what it is given, never a password or a token. */
#ifndef DAG_STORE_AUTH_H
#define DAG_STORE_AUTH_H

#include <stdbool.h>

#include "auth.h"
#include "store.h"

struct dag_store_user {
  char *username;
  enum dag_role role;
  char *password_hash; /* NULL: no password set */
  dag_time_t created_at;
  dag_time_t changed_at;
};
void dag_store_user_free(struct dag_store_user *u);
void dag_store_users_free(struct dag_store_user *u, size_t n);

/* DAG_EEXIST when the name is taken. `password_hash` may be NULL. */
int dag_store_user_add(dag_store *st, const char *username, enum dag_role role,
                       const char *password_hash, dag_time_t now);
/* 0 and *out (caller frees with dag_store_user_free()), or DAG_ENOTFOUND. */
int dag_store_user_get(dag_store *st, const char *username, struct dag_store_user *out);
/* Every user by name; caller frees with dag_store_users_free(). */
int dag_store_user_list(dag_store *st, struct dag_store_user **out, size_t *n);
/* Deletes the user and its tokens. DAG_ENOTFOUND when absent. */
int dag_store_user_delete(dag_store *st, const char *username);
int dag_store_user_set_password(dag_store *st, const char *username,
                                const char *password_hash, dag_time_t now);
int dag_store_user_set_role(dag_store *st, const char *username, enum dag_role role,
                            dag_time_t now);

struct dag_store_token {
  char *id;
  char *username;
  dag_time_t created_at;
  dag_time_t expires_at; /* 0: never */
  dag_time_t revoked_at; /* 0: in force */
};
/* Frees the strings of one token; the array of n with it. */
void dag_store_token_clear(struct dag_store_token *t);
void dag_store_tokens_free(struct dag_store_token *t, size_t n);

/* DAG_ENOTFOUND when the user does not exist. `expires_at` 0: never. */
int dag_store_token_add(dag_store *st, const char *id, const char *username,
                        const char *token_hash, dag_time_t now, dag_time_t expires_at);
/* The tokens of `username` (NULL: everyone's), newest first. */
int dag_store_token_list(dag_store *st, const char *username, struct dag_store_token **out,
                         size_t *n);
/* Revoke token `id` (kept, listed as revoked). DAG_ENOTFOUND when there is
 * no such token in force. */
int dag_store_token_revoke(dag_store *st, const char *id, dag_time_t now);
/* The token whose hash is `token_hash`, with its user's current role:
 * 0 with *token (caller frees with dag_store_token_clear())
 * and *role; DAG_ENOTFOUND for an unknown hash. Expiry and revocation are
 * the caller's to judge from the fields. */
int dag_store_token_find(dag_store *st, const char *token_hash, struct dag_store_token *token,
                         enum dag_role *role);

#endif
