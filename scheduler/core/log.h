/* log.h - one logging macro family with key=value fields.
 *
 * Lines go to stderr as `TIME LEVEL message key=value...`. Log where the
 * decision is made: LOG_WARN("task failed dag=%s task=%s try=%d", ...).
 * Secrets registered with dag_log_mask() are replaced by "***" in every line,
 * so a password that leaks into a message never reaches the log. */
#ifndef DAG_LOG_H
#define DAG_LOG_H

enum dag_log_level { DAG_LOG_DEBUG, DAG_LOG_INFO, DAG_LOG_WARN, DAG_LOG_ERROR };

/* The logger is process-wide state, configured once at start-up before the
 * loop runs: the one deliberate exception to "no mutable globals". */
void dag_log_set_level(enum dag_log_level level);
int dag_log_parse_level(const char *name, enum dag_log_level *out);
/* Copies `secret`; values shorter than 4 bytes are ignored (masking "a" would
 * garble every line). */
void dag_log_mask(const char *secret);
/* Replace every registered secret in `s` (in place, never grows). */
void dag_log_redact(char *s);
void dag_log_reset(void);

void dag_log(enum dag_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_DEBUG(...) dag_log(DAG_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) dag_log(DAG_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) dag_log(DAG_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) dag_log(DAG_LOG_ERROR, __VA_ARGS__)

#endif
