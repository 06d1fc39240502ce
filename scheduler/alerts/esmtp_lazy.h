/* esmtp_lazy.h - the part of libesmtp's API the SMTP sender uses, with
 * libesmtp.so.6 loaded on the first call.
 *
 * Include this instead of <libesmtp.h> and <auth-client.h>: esmtp_lazy.c
 * defines the smtp_* and auth_* functions smtp_client.c calls, each
 * forwarding to libesmtp's own, found with dlopen() the first time one of
 * them is called, so that a dagctl process that sends no mail (`dagctl
 * version`, each task's child) does not map it. Thread-safe. */
#ifndef DAG_ESMTP_LAZY_H
#define DAG_ESMTP_LAZY_H

#include <openssl/ssl.h>
#include <auth-client.h>
#include <libesmtp.h>

/* NULL once libesmtp is loaded (loading it if need be); otherwise why it
 * cannot be (static storage): the reason smtp_create_session() returned
 * NULL. */
const char *dag_esmtp_load_error(void);

#endif
