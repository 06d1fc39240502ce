/* wh_config.c - the `warehouse:` section of dagctl.yaml, as every plugin
 * that opens the warehouse declares it (load_bronze, sql_check, dbt): one
 * definition, so their declarations are identical and the host merges
 * them. */
#include "dagctl/plugin.h"
#include "wh.h"

static const struct dagctl_setting settings[] = {
    /* Not a secret, so a SQLite path stays readable in logs: a PostgreSQL
     * password goes in password or password_file (or libpq's PGPASSWORD,
     * .pgpass). */
    DAGCTL_SETTING(DAGCTL_SETTING_STRING, 0, "url", DAGCTL_HOME_PLACEHOLDER "/warehouse.db", NULL,
                   "a SQLite file or a postgresql:// URL"),
    DAGCTL_SETTING(DAGCTL_SETTING_PASSWORD, DAGCTL_SETTING_SECRET, "password", NULL, NULL,
                   "the PostgreSQL password; unset: libpq's own (PGPASSWORD, .pgpass)"),
};

const struct dagctl_config_section wh_config_section = {
    sizeof(struct dagctl_config_section), "warehouse",
    "the warehouse of the bronze, silver and gold tables", settings,
    sizeof(settings) / sizeof(settings[0])};
