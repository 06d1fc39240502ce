/* forwarded.c - the client behind a reverse proxy (see forwarded.h). */
#include "forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* `s` (len bytes, no NUL needed) as a canonical address into out (at least
 * INET6_ADDRSTRLEN), and whether it is a loopback one. False for anything
 * but a bare address: no port, no brackets, no spaces inside. */
static bool parse_addr(const char *s, size_t len, char *out, bool *loopback) {
  char buf[INET6_ADDRSTRLEN];
  if (len == 0 || len >= sizeof(buf)) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    *loopback = (ntohl(a4.s_addr) >> 24) == 127;
    return inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN) != NULL;
  }
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    *loopback = IN6_IS_ADDR_LOOPBACK(&a6);
    if (IN6_IS_ADDR_V4MAPPED(&a6)) *loopback = a6.s6_addr[12] == 127;
    return inet_ntop(AF_INET6, &a6, out, INET6_ADDRSTRLEN) != NULL;
  }
  return false;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool dag_forwarded_client(const char *xff, const char *peer, char *out, size_t size) {
  if (!xff) return false;
  char found[INET6_ADDRSTRLEN] = "";
  size_t end = strlen(xff);
  /* O(length): each entry is looked at once, from the right. */
  for (;;) {
    size_t start = end;
    while (start > 0 && xff[start - 1] != ',') start--;
    size_t a = start, b = end;
    while (a < b && is_space(xff[a])) a++;
    while (b > a && is_space(xff[b - 1])) b--;
    char addr[INET6_ADDRSTRLEN];
    bool loopback;
    if (!parse_addr(xff + a, b - a, addr, &loopback)) return false;
    snprintf(found, sizeof(found), "%s", addr);
    if (!loopback && strcmp(addr, peer) != 0) break; /* the first untrusted one */
    if (start == 0) break; /* all trusted: the leftmost is the client */
    end = start - 1;
  }
  if (strlen(found) >= size) return false;
  snprintf(out, size, "%s", found);
  return true;
}
