/* wh_host.h - the warehouse a plugin task is configured for. */
#ifndef DAGCTL_WH_HOST_H
#define DAGCTL_WH_HOST_H

#include "dagctl/plugin.h"
#include "wh.h"

/* Open warehouse.url (default HOME/warehouse.db) with warehouse.password.
 * Returns the warehouse (caller closes it), or NULL after logging why. */
struct wh *wh_open_for_task(const struct dagctl_host *h);

#endif
