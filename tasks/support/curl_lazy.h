/* curl_lazy.h - the part of libcurl's API dagctl uses, with libcurl.so.4
 * loaded on the first call.
 *
 * Include this instead of <curl/curl.h>: curl_lazy.c defines the curl_*
 * functions dagctl and the lake library call (the webhook sender, reading
 * a task's log from a worker, the S3 lake), each forwarding to libcurl's own, found with dlopen() the first
 * time one of them is called. libcurl brings OpenSSL's TLS, GnuTLS,
 * Kerberos, LDAP, libssh2, nghttp2 and more (29 libraries): linked, the
 * dynamic loader spent time on them at every start of every dagctl process,
 * though only those paths use them. Thread-safe. Link dagctl_curl instead
 * of libcurl. */
#ifndef DAGCTL_CURL_LAZY_H
#define DAGCTL_CURL_LAZY_H

#include <curl/curl.h>

/* NULL once libcurl is loaded (loading it if need be); otherwise why it
 * cannot be (static storage): the reason curl_easy_init() returned NULL
 * and curl_global_init() CURLE_FAILED_INIT. */
const char *dag_curl_load_error(void);

#endif
