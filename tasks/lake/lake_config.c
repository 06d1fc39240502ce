/* lake_config.c - the `lake:` section of dagctl.yaml, as every plugin that
 * opens the lake declares it (kafka, s3_sensor, load_bronze): one
 * definition, so their declarations are identical and the host merges
 * them. */
#include "dagctl/plugin.h"
#include "lake.h"

static const struct dagctl_setting settings[] = {
    DAGCTL_SETTING(DAGCTL_SETTING_STORAGE, 0, "url", DAGCTL_HOME_PLACEHOLDER "/lake", NULL,
                   "s3://bucket/prefix, file:///path or a folder"),
    DAGCTL_SETTING(DAGCTL_SETTING_URL, 0, "endpoint", NULL, NULL,
                   "the S3 endpoint (MinIO, s3rver); unset: AWS"),
    DAGCTL_SETTING(DAGCTL_SETTING_STRING, 0, "region", "us-east-1", NULL, "the S3 region"),
    /* Plainly false by default rather than guessed from `endpoint`: MinIO
     * and s3rver want true, but so might a proxy in front of AWS. An
     * endpoint that is an IP address or localhost gets path style anyway
     * (a bucket cannot be a subdomain of an address). */
    DAGCTL_SETTING(DAGCTL_SETTING_BOOLEAN, 0, "path_style", "false", NULL,
                   "http://endpoint/bucket/key instead of http://bucket.endpoint/key"),
    DAGCTL_SETTING(DAGCTL_SETTING_TOKEN, 0, "access_key_id", NULL, NULL,
                   "the S3 access key; unset: unsigned requests"),
    /* Never in clear in dagctl.yaml: the key usually opens far more than
     * the lake. */
    DAGCTL_SETTING(DAGCTL_SETTING_TOKEN, DAGCTL_SETTING_SECRET, "secret_access_key", NULL, NULL,
                   "the S3 secret key"),
    DAGCTL_SETTING(DAGCTL_SETTING_DURATION, 0, "timeout", "30s", NULL, "per request"),
};

const struct dagctl_config_section lake_config_section = {
    sizeof(struct dagctl_config_section), "lake",
    "the data lake: an S3 bucket or a local folder", settings,
    sizeof(settings) / sizeof(settings[0])};
