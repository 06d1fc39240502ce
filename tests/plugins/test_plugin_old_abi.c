/* test_plugin_old_abi.c - a plugin built for another ABI version: the host
 * must refuse it with a message naming both versions. */
#include "dagctl/plugin.h"

static enum dagctl_result run(const struct dagctl_host *h) {
  (void)h;
  return DAGCTL_OK;
}

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "old_type", "never runs", run},
};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION + 41, "old", "0.1", types, 1,
};

/* Ignores the host's version, as a careless plugin would. */
DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &plugin;
}
