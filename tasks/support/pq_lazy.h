/* pq_lazy.h - libpq's API, with libpq.so.5 loaded on the first call.
 *
 * Include this instead of <libpq-fe.h> and link dagctl_support instead of
 * libpq: the PQ* functions dagctl uses are defined in pq_lazy.c, which
 * dlopen()s libpq the first time one is called, so a process that never
 * connects to PostgreSQL never pays for loading it. Thread-safe. */
#ifndef DAGCTL_PQ_LAZY_H
#define DAGCTL_PQ_LAZY_H

#include <libpq-fe.h>
#include <stdbool.h>

/* NULL once libpq is loaded (loading it if need be); otherwise why it
 * cannot be (static storage): the reason PQconnectdbParams() returned
 * NULL. */
const char *dag_pq_load_error(void);

#endif
