/* test_plugin_v1_0.c - a plugin built against plugin.h of ABI 1, minor 0:
 * its task type entries end at execute(), before params and n_params, and
 * its descriptor at n_types, before the config sections of minor 3. The
 * host must still load it, and treat it as declaring nothing. */
#include <stddef.h>
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

/* struct dagctl_plugin as minor 0 defined it, then what a later minor's
 * host would read as config_sections and n_config_sections if it ignored
 * `size`: a pointer that crashes and a count. */
struct plugin_minor0 {
  uint32_t size;
  uint32_t abi_version;
  const char *name;
  const char *version;
  const struct dagctl_task_type *types;
  size_t n_types;
};
static const struct {
  struct plugin_minor0 p;
  const void *beyond[2];
} plugin = {
    {sizeof(struct plugin_minor0), DAGCTL_PLUGIN_ABI_VERSION, "v10", "1.0.0",
     (const struct dagctl_task_type *)(const void *)types, sizeof(types) / sizeof(types[0])},
    {(const void *)8, (const void *)3},
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION
             ? (const struct dagctl_plugin *)(const void *)&plugin.p
             : NULL;
}
