/* test_plugin_big.c - a plugin built against a later plugin.h, whose task
 * type entries have grown at the end (as plugin.h allows): the host must
 * step through the array by the size the plugin declares, not its own. */
#include <stdint.h>

#include "dagctl/plugin.h"

/* The entry as a future plugin.h might define it: today's fields, then
 * more that this host does not know about. */
struct future_task_type {
  struct dagctl_task_type base;
  const char *future_name; /* would be read as the next entry's name */
  uint64_t future_flags;
  void (*future_hook)(void);
  const char *future_doc;
};

static enum dagctl_result ok(const struct dagctl_host *h) {
  (void)h;
  return DAGCTL_OK;
}

static enum dagctl_result fail(const struct dagctl_host *h) {
  (void)h;
  return DAGCTL_FAILED;
}

#define ENTRY(type_name, desc, fn)                                                  \
  {{.size = sizeof(struct future_task_type), .name = type_name, .description = desc, \
    .execute = fn},                                                                 \
   "not a type name", UINT64_C(0xfeedfacecafebeef), 0, "trailing field"}

static const struct future_task_type types[] = {
    ENTRY("big_one", "first of three", ok),
    ENTRY("big_two", "second of three", fail),
    ENTRY("big_three", "third of three", ok),
};

static const struct dagctl_plugin plugin = {
    .size = sizeof(struct dagctl_plugin),
    .abi_version = DAGCTL_PLUGIN_ABI_VERSION,
    .name = "big",
    .version = "2.0.0",
    .types = &types[0].base,
    .n_types = sizeof(types) / sizeof(types[0]),
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
