/* forwarded.h - the client behind a reverse proxy, from X-Forwarded-For.
 *
 * Each proxy appends the address it got the request from, so only the
 * right end of the list was written by proxies we trust; anything to the
 * left of an address we do not trust was written by the client and may be
 * forged. The client is therefore the rightmost address that is not a
 * trusted proxy; trusted are the peer itself (the proxy that connected to
 * us) and loopback addresses (a proxy on this host). Used only with
 * web.behind_proxy: true; otherwise the header is never read. */
#ifndef DAG_FORWARDED_H
#define DAG_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

/* From `xff`, the comma-separated X-Forwarded-For value (several headers
 * joined by ","), and `peer`, the socket's address: write the client's
 * address, in its canonical text form, to out[0..size) and return true.
 * False, leaving `out` alone, when an entry read before the answer (from the
 * right) is not a plain IPv4 or IPv6 address: our proxies never write such
 * a thing, so the list is not believed at all; or when the answer would not
 * fit. Entries left of the answer are never read: the client wrote them. */
bool dag_forwarded_client(const char *xff, const char *peer, char *out, size_t size);

#endif
