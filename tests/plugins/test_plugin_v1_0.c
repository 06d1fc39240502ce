/* test_plugin_v1_0.c - a plugin built against plugin.h of ABI 1, minor 0:
 * its task type entries end at execute(), before params and n_params. The
 * host must still load it, and treat its types as declaring nothing. */
#include <stdint.h>

#include "dagctl/plugin.h"

/* struct dagctl_task_type as minor 0 defined it. */
struct task_type_minor0 {
  uint32_t size;
  const char *name;
  const char *description;
  enum dagctl_result (*execute)(const struct dagctl_host *h);
};

static enum dagctl_result run(const struct dagctl_host *h) {
  h->log(h, DAGCTL_LOG_INFO, "minor 0 plugin ran, any=%s", h->param(h, "any_key"));
  return DAGCTL_OK;
}

static const struct task_type_minor0 types[] = {
    {sizeof(struct task_type_minor0), "v10_one", "a type from minor 0", run},
    {sizeof(struct task_type_minor0), "v10_two", "another type from minor 0", run},
};

static const struct dagctl_plugin plugin = {
    .size = sizeof(struct dagctl_plugin),
    .abi_version = DAGCTL_PLUGIN_ABI_VERSION,
    .name = "v10",
    .version = "1.0.0",
    .types = (const struct dagctl_task_type *)(const void *)types,
    .n_types = sizeof(types) / sizeof(types[0]),
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
