/* log.h - one line per record, `key=value`, to stderr, written with a single write(2) so that lines from
 * different threads never interleave. Never pass a secret or a token. */
#ifndef COLONY_BASE_LOG_H
#define COLONY_BASE_LOG_H

#include <stddef.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL } log_level;

void log_set_level(log_level lvl);
/* Parse "debug|info|warn|error"; false if unknown. */
int log_parse_level(const char *s, log_level *out);

/* Emit `ts=… level=… msg="<msg>" <fmt…>`; fmt supplies further key=value pairs (may be NULL). */
void log_emit(log_level lvl, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Quote `s` for a log value into out (cap bytes): printable ASCII and UTF-8 kept, `"` and `\` escaped, control
 * bytes as \xNN; truncated to fit. Returns out. */
char *log_quote(char *out, size_t cap, const char *s, size_t len);

#define log_debug(msg, ...) log_emit(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_emit(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_emit(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_emit(LOG_ERROR, msg, __VA_ARGS__)

#endif
