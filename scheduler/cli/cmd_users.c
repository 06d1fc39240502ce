/* cmd_users.c - `dagctl users` and `dagctl tokens`: who may use the status
 * page and API, with which role, and their API tokens. Passwords are read
 * from standard input (never the command line, which other users can see
 * in ps); a token is printed once, at creation, and kept only as a hash. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "alloc.h"
#include "apijson.h"
#include "auth.h"
#include "cli.h"
#include "duration.h"
#include "error.h"
#include "store_auth.h"
#include "timeutil.h"

static const char users_usage[] =
    "dagctl users list [--json] | users add USER --role ROLE [--password-stdin | --no-password]"
    " | users delete USER | users set-password USER [--password-stdin]"
    " | users set-role USER ROLE";
static const char tokens_usage[] =
    "dagctl tokens create USER [--expires 30d] [--json] | tokens list [--user USER] [--json]"
    " | tokens revoke ID";

/* One line of standard input as the password, without echo on a terminal;
 * caller frees (and wipes). NULL after printing why. */
static char *read_password(bool from_stdin) {
  bool tty = isatty(STDIN_FILENO);
  if (!from_stdin && !tty) {
    fprintf(stderr, "dagctl: standard input is not a terminal: pass --password-stdin and "
                    "write the password to it\n");
    return NULL;
  }
  struct termios old, quiet;
  bool echo_off = tty && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) fprintf(stderr, "password: ");
  if (echo_off) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  if (n <= 0) {
    free(line);
    fprintf(stderr, "dagctl: no password on standard input\n");
    return NULL;
  }
  if (line[n - 1] == '\n') line[--n] = '\0';
  if (n && line[n - 1] == '\r') line[--n] = '\0';
  const char *why = dag_auth_password_problem(line);
  if (why) {
    explicit_bzero(line, cap);
    free(line);
    fprintf(stderr, "dagctl: %s\n", why);
    return NULL;
  }
  return line;
}

/* The Argon2id string of a password read as read_password() does. */
static int password_hash(bool from_stdin, char **hash) {
  char *pw = read_password(from_stdin);
  if (!pw) return CLI_USAGE;
  int rc = dag_auth_hash_password(pw, hash);
  explicit_bzero(pw, strlen(pw));
  free(pw);
  if (rc) {
    fprintf(stderr, "dagctl: cannot hash the password: %s\n", strerror(-rc));
    return CLI_FAILED;
  }
  return CLI_OK;
}

static int user_problem(const char *name) {
  const char *why = dag_auth_user_problem(name);
  if (!why) return CLI_OK;
  fprintf(stderr, "dagctl: user '%s': %s\n", name, why);
  return CLI_USAGE;
}

static int role_arg(const char *s, enum dag_role *r) {
  if (dag_role_parse(s, r) == 0) return CLI_OK;
  fprintf(stderr, "dagctl: unknown role '%s': one of viewer, user, op, admin\n", s);
  return CLI_USAGE;
}

/* The exit code for a store answer about user (or token) `what`. */
static int store_rc(int rc, const char *kind, const char *what) {
  if (rc == 0) return CLI_OK;
  if (rc == DAG_ENOTFOUND) {
    fprintf(stderr, "dagctl: no %s '%s'\n", kind, what);
    return CLI_NOTFOUND;
  }
  if (rc == DAG_EEXIST) {
    fprintf(stderr, "dagctl: %s '%s' already exists\n", kind, what);
    return CLI_FAILED;
  }
  fprintf(stderr, "dagctl: cannot change %s '%s': %s\n", kind, what, dag_strerror(rc));
  return CLI_CONFIG;
}

static int users_list(struct cli *c) {
  struct dag_store_user *u = NULL;
  size_t n = 0;
  if (dag_store_user_list(c->store, &u, &n) != 0) return CLI_CONFIG;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:b, s:o, s:o}", "username", u[i].username, "role",
                         dag_role_name(u[i].role), "has_password", u[i].password_hash != NULL,
                         "created_at", dag_api_time(u[i].created_at), "changed_at",
                         dag_api_time(u[i].changed_at)));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no users (add one: dagctl users add NAME --role admin)\n");
  } else {
    static const char *const head[] = {"USER", "ROLE", "PASSWORD", "CREATED"};
    struct cli_table *t = cli_table_new(head, 4);
    for (size_t i = 0; i < n; i++) {
      char created[32];
      cli_fmt_time(u[i].created_at, created, sizeof(created));
      const char *row[] = {u[i].username, dag_role_name(u[i].role),
                           u[i].password_hash ? "set" : "none", created};
      cli_table_add(t, row);
    }
    cli_table_print(t, stdout, cli_color(c));
    cli_table_free(t);
  }
  dag_store_users_free(u, n);
  return CLI_OK;
}

int cmd_users(struct cli *c, int argc, char **argv) {
  enum { OPT_ROLE = 1, OPT_PW_STDIN, OPT_NO_PW };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"role", required_argument, NULL, OPT_ROLE},
                                       {"password-stdin", no_argument, NULL, OPT_PW_STDIN},
                                       {"no-password", no_argument, NULL, OPT_NO_PW},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  const char *role_text = NULL;
  bool pw_stdin = false, no_pw = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "Users of the status page and API. Roles: viewer (reads), user (also\n"
             "triggers, clears, pauses), op (also variables, connections, pools),\n"
             "admin (also users). Passwords come from standard input (a prompt on a\n"
             "terminal) and are kept only as Argon2id hashes; --no-password makes an\n"
             "account for API tokens alone.\n",
             users_usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case OPT_ROLE: role_text = optarg; break;
    case OPT_PW_STDIN: pw_stdin = true; break;
    case OPT_NO_PW: no_pw = true; break;
    default:
      if (!cli_common_option(c, opt, optarg)) return cli_usage_error(users_usage, "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error(users_usage, "expected list, add, delete, set-password or set-role");
  const char *sub = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  int rc;
  if (strcmp(sub, "list") == 0) {
    if (nargs) return cli_usage_error(users_usage, "list takes no argument");
    if ((rc = cli_open(c)) != 0) return rc;
    return users_list(c);
  }
  bool add = strcmp(sub, "add") == 0, del = strcmp(sub, "delete") == 0;
  bool set_pw = strcmp(sub, "set-password") == 0, set_role = strcmp(sub, "set-role") == 0;
  if (!add && !del && !set_pw && !set_role)
    return cli_usage_error(users_usage, "unknown subcommand '%s'", sub);
  if (nargs != (set_role ? 2 : 1))
    return cli_usage_error(users_usage, "%s takes %s", sub,
                           set_role ? "a user and a role" : "one user");
  if (add && !role_text) return cli_usage_error(users_usage, "add needs --role");
  if (no_pw && (pw_stdin || !add))
    return cli_usage_error(users_usage, "--no-password goes with add alone");
  if ((rc = user_problem(args[0])) != CLI_OK) return rc;
  enum dag_role role = DAG_ROLE_VIEWER;
  if (role_text && (rc = role_arg(role_text, &role)) != CLI_OK) return rc;
  if (set_role && (rc = role_arg(args[1], &role)) != CLI_OK) return rc;
  if (dag_auth_init() != 0) {
    fprintf(stderr, "dagctl: libsodium cannot start\n");
    return CLI_FAILED;
  }
  char *hash = NULL;
  if ((add && !no_pw) || set_pw) {
    if ((rc = password_hash(pw_stdin, &hash)) != CLI_OK) return rc;
  }
  if ((rc = cli_open(c)) != 0) {
    free(hash);
    return rc;
  }
  dag_time_t now = dag_time_now();
  int src = dag_store_begin(c->store);
  if (src == 0)
    src = add      ? dag_store_user_add(c->store, args[0], role, hash, now)
          : del    ? dag_store_user_delete(c->store, args[0])
          : set_pw ? dag_store_user_set_password(c->store, args[0], hash, now)
                   : dag_store_user_set_role(c->store, args[0], role, now);
  free(hash);
  char *event = xasprintf("user.%s", sub);
  src = cli_audit_finish(c, src, event, args[0]);
  free(event);
  rc = store_rc(src, "user", args[0]);
  if (rc != CLI_OK) return rc;
  if (c->json) {
    json_t *j = json_pack("{s:s, s:s}", "username", args[0], "action", sub);
    if (!del && !set_pw) json_object_set_new(j, "role", json_string(dag_role_name(role)));
    cli_print_json(j);
  } else {
    printf(add ? "user %s added (%s)\n" : del ? "user %s deleted\n"
           : set_pw ? "password of %s changed\n" : "role of %s is now %s\n",
           args[0], dag_role_name(role));
  }
  return rc;
}

static json_t *token_json(const struct dag_store_token *t) {
  return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", t->id, "username", t->username,
                   "created_at", dag_api_time(t->created_at), "expires_at",
                   t->expires_at ? dag_api_time(t->expires_at) : json_null(), "revoked_at",
                   t->revoked_at ? dag_api_time(t->revoked_at) : json_null());
}

static int tokens_list(struct cli *c, const char *user) {
  struct dag_store_token *t = NULL;
  size_t n = 0;
  if (dag_store_token_list(c->store, user, &t, &n) != 0) return CLI_CONFIG;
  if (c->json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, token_json(&t[i]));
    cli_print_json(arr);
  } else if (n == 0) {
    printf("no tokens\n");
  } else {
    static const char *const head[] = {"ID", "USER", "CREATED", "EXPIRES", "STATE"};
    struct cli_table *tb = cli_table_new(head, 5);
    dag_time_t now = dag_time_now();
    for (size_t i = 0; i < n; i++) {
      char created[32], expires[32] = "never";
      cli_fmt_time(t[i].created_at, created, sizeof(created));
      if (t[i].expires_at) cli_fmt_time(t[i].expires_at, expires, sizeof(expires));
      const char *state = t[i].revoked_at                               ? "revoked"
                          : t[i].expires_at && t[i].expires_at <= now ? "expired"
                                                                      : "active";
      const char *row[] = {t[i].id, t[i].username, created, expires, state};
      cli_table_add(tb, row);
    }
    cli_table_print(tb, stdout, cli_color(c));
    cli_table_free(tb);
  }
  dag_store_tokens_free(t, n);
  return CLI_OK;
}

static int tokens_create(struct cli *c, const char *user, int64_t expires_us) {
  char *token = dag_auth_new_token();
  char *hash = dag_auth_token_hash(token);
  char *id = dag_auth_new_id();
  dag_time_t now = dag_time_now();
  dag_time_t expires = expires_us ? now + expires_us : 0;
  int rc = dag_store_begin(c->store);
  if (rc == 0) rc = dag_store_token_add(c->store, id, user, hash, now, expires);
  char *object = xasprintf("%s token %s", user, id);
  rc = store_rc(cli_audit_finish(c, rc, "token.create", object), "user", user);
  free(object);
  if (rc == CLI_OK) {
    if (c->json) {
      struct dag_store_token t = {.id = id, .username = (char *)user, .created_at = now,
                                  .expires_at = expires};
      json_t *j = token_json(&t);
      json_object_set_new(j, "token", json_string(token));
      cli_print_json(j);
    } else {
      printf("%s\n", token);
      fprintf(stderr, "token %s for %s: shown once, keep it now (revoke: dagctl tokens revoke "
                      "%s)\n",
              id, user, id);
    }
  }
  explicit_bzero(token, strlen(token));
  free(token);
  free(hash);
  free(id);
  return rc;
}

int cmd_tokens(struct cli *c, int argc, char **argv) {
  enum { OPT_EXPIRES = 1, OPT_USER };
  static const struct option opts[] = {{"json", no_argument, NULL, OPT_JSON},
                                       {"expires", required_argument, NULL, OPT_EXPIRES},
                                       {"user", required_argument, NULL, OPT_USER},
                                       CLI_COMMON_OPTIONS,
                                       {0, 0, 0, 0}};
  int64_t expires = 0;
  const char *user = NULL;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (opt) {
    case 'h':
      printf("usage: %s\n\n"
             "API tokens: `create` prints a new token for USER once (send it as\n"
             "'Authorization: Bearer <token>'); it acts with the user's role and, with\n"
             "--expires (a duration such as 30d or 12h), stops working after that.\n"
             "Only a hash of each token is kept.\n",
             tokens_usage);
      return CLI_OK;
    case OPT_JSON: c->json = true; break;
    case OPT_EXPIRES:
      if (dag_duration_parse(optarg, &expires) != 0 || expires <= 0)
        return cli_usage_error(tokens_usage, "--expires takes a duration such as 30d or 12h");
      break;
    case OPT_USER: user = optarg; break;
    default:
      if (!cli_common_option(c, opt, optarg))
        return cli_usage_error(tokens_usage, "bad option");
    }
  }
  if (optind >= argc) return cli_usage_error(tokens_usage, "expected create, list or revoke");
  const char *sub = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  int rc;
  if (strcmp(sub, "list") == 0) {
    if (nargs) return cli_usage_error(tokens_usage, "list takes no argument (--user USER)");
    if ((rc = cli_open(c)) != 0) return rc;
    return tokens_list(c, user);
  }
  if (strcmp(sub, "create") == 0) {
    if (nargs != 1) return cli_usage_error(tokens_usage, "create takes one user");
    if ((rc = user_problem(args[0])) != CLI_OK) return rc;
    if (dag_auth_init() != 0) {
      fprintf(stderr, "dagctl: libsodium cannot start\n");
      return CLI_FAILED;
    }
    if ((rc = cli_open(c)) != 0) return rc;
    return tokens_create(c, args[0], expires);
  }
  if (strcmp(sub, "revoke") == 0) {
    if (nargs != 1) return cli_usage_error(tokens_usage, "revoke takes one token id");
    if ((rc = cli_open(c)) != 0) return rc;
    rc = dag_store_begin(c->store);
    if (rc == 0) rc = dag_store_token_revoke(c->store, args[0], dag_time_now());
    rc = cli_audit_finish(c, rc, "token.revoke", args[0]);
    if (rc == DAG_ENOTFOUND) {
      fprintf(stderr, "dagctl: no token '%s' in force (see: dagctl tokens list)\n", args[0]);
      return CLI_NOTFOUND;
    }
    rc = store_rc(rc, "token", args[0]);
    if (rc == CLI_OK && c->json)
      cli_print_json(json_pack("{s:s, s:b}", "id", args[0], "revoked", 1));
    else if (rc == CLI_OK)
      printf("token %s revoked\n", args[0]);
    return rc;
  }
  return cli_usage_error(tokens_usage, "unknown subcommand '%s'", sub);
}
