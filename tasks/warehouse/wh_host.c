/* wh_host.c - the warehouse a plugin task is configured for. */
#include "wh_host.h"

#include <stdlib.h>

#include "alloc.h"

struct wh *wh_open_for_task(const struct dagctl_host *h) {
  const char *url = h->connection(h, "warehouse", "url");
  char *fallback = NULL;
  if (url == NULL) {
    const char *home = h->context(h, "home");
    url = fallback = xasprintf("%s/warehouse.db", home ? home : ".");
  }
  struct wh_options o = {.url = url, .password = h->connection(h, "warehouse", "password")};
  struct wh *w = NULL;
  char *err = NULL;
  if (wh_open(&o, &w, &err) < 0) {
    h->log(h, DAGCTL_LOG_ERROR, "%s", err);
    free(err);
  }
  free(fallback);
  return w;
}
