/* test_plugin_conflict.c - a plugin declaring the test plugin's `sample`
 * config section otherwise (its `retries` goes to 99): the host must name
 * both plugins, keep the first declaration, and still load both. Built in
 * a folder of its own, beside a copy of test_plugin.so only where a test
 * puts it. */
#include "dagctl/plugin.h"

static enum dagctl_result run(const struct dagctl_host *h) {
  h->log(h, DAGCTL_LOG_INFO, "conflict plugin ran");
  return DAGCTL_OK;
}

static const struct dagctl_task_type types[] = {
    {sizeof(struct dagctl_task_type), "test_conflict", "declares sample otherwise", run},
};

static const struct dagctl_setting sample_settings[] = {
    DAGCTL_SETTING(DAGCTL_SETTING_ENUM, 0, "color", "green", "red,green,blue", "a colour"),
    DAGCTL_SETTING_INT(0, "retries", "3", 1, 99, "a count"),
    DAGCTL_SETTING(DAGCTL_SETTING_PATH, 0, "spool", DAGCTL_HOME_PLACEHOLDER "/spool", NULL,
                   "a folder"),
    DAGCTL_SETTING(DAGCTL_SETTING_TOKEN, DAGCTL_SETTING_SECRET, "api_key", NULL, NULL,
                   "a secret"),
};
static const struct dagctl_config_section sample = {
    sizeof(struct dagctl_config_section), "sample", "declared otherwise", sample_settings,
    sizeof(sample_settings) / sizeof(sample_settings[0])};
static const struct dagctl_config_section *const sections[] = {&sample};

static const struct dagctl_plugin plugin = {
    sizeof(struct dagctl_plugin), DAGCTL_PLUGIN_ABI_VERSION, "zconflict", "1.0.0", types,
    sizeof(types) / sizeof(types[0]), sections, 1,
};

DAGCTL_PLUGIN_EXPORT const struct dagctl_plugin *dagctl_plugin_init(uint32_t host_abi_version) {
  return host_abi_version == DAGCTL_PLUGIN_ABI_VERSION ? &plugin : NULL;
}
