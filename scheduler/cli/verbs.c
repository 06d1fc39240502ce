/* verbs.c - the table of dagctl's verbs: what each is called, does, takes
 * and prints. main.c dispatches on it; `dagctl help --json` and the
 * completion scripts (cmd_completion.c) are generated from it. */
#include "cli.h"

const struct cli_verb cli_verbs[] = {
    {"scheduler", cmd_scheduler, "run the scheduler (and the status page) in the foreground",
     NULL, NULL, "--bind= --port=", false},
    {"worker", cmd_worker, "run the tasks schedulers queue for workers (core.executor: workers)",
     NULL, NULL, "--queues= --concurrency=", false},
    {"webserver", cmd_webserver, "serve the status page and JSON API without a scheduler", NULL,
     NULL, "--bind= --port=", false},
    {"trigger", cmd_trigger, "start a run of a DAG now", NULL, "dag",
     "--conf= --run-id= --logical-date= --wait --json", true},
    {"dags", cmd_dags, "list DAGs, pause or unpause one, show its versions and source",
     "list pause unpause versions source", "dag", "--version= --json", true},
    {"runs", cmd_runs, "list runs: of a DAG, in a state, since a time", NULL, "dag",
     "--dag= --state= --since= --limit= --json", true},
    {"tasks", cmd_tasks, "list the task instances of a run", NULL, "dag run", "--json", true},
    {"logs", cmd_logs, "print the log of a task try, or follow a running one", NULL,
     "dag run task", "--try= --follow --json", true},
    {"clear", cmd_clear, "run tasks of a run again", NULL, "dag run task", "--downstream --json",
     true},
    {"validate", cmd_validate, "check DAG files and print every error", NULL, "file", "--json",
     true},
    {"test", cmd_test, "run a DAG or one task in the foreground, without a scheduler", NULL,
     "dag task", "--conf= --logical-date= --quiet --json", true},
    {"alerts", cmd_alerts, "list email alerts (queued, sent, failed) or retry one", "retry",
     "none", "--limit= --json", true},
    {"plugins", cmd_plugins, "list installed task plugins and their task types", NULL, NULL,
     "--json", true},
    {"users", cmd_users, "add, list and delete users of the status page and API; set roles",
     "list add delete set-password set-role", "none", "--role= --password-stdin --no-password --json",
     true},
    {"tokens", cmd_tokens, "create, list and revoke API tokens", "create list revoke", "none",
     "--expires= --user= --json", true},
    {"audit", cmd_audit, "the audit log: every change, who made it, from where, how it went",
     NULL, NULL, "--user= --since= --limit= --json", true},
    {"config", cmd_config, "check the configuration, or show every setting and its source",
     "check show", NULL, "--json", true},
    {"completion", cmd_completion, "print the bash or zsh completion script", "bash zsh", NULL,
     "", false},
    {"version", cmd_version, "print the version", NULL, NULL, "--json", true},
    {"help", cmd_help, "list the verbs", NULL, NULL, "--json", true},
};

const size_t cli_n_verbs = sizeof(cli_verbs) / sizeof(cli_verbs[0]);
