/* time.h - wall-clock milliseconds (UTC) for storage, monotonic milliseconds for durations, RFC 3339 both ways, and
 * the HTTP forms a peer may send (IMF-fixdate, Retry-After). */
#ifndef COLONY_BASE_TIME_H
#define COLONY_BASE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TIME_RFC3339_MAX = 64 }; /* "2026-11-25T02:24:52.123Z" is 25 bytes with its NUL; room for any int64 year */

int64_t time_now_ms(void);
/* Monotonic clock in milliseconds and in nanoseconds: for durations, never for storage. */
int64_t time_mono_ms(void);
int64_t time_mono_ns(void);

/* Days since 1970-01-01 of a proleptic Gregorian date (exact for any year an int64 of days can hold), and back. */
int64_t time_days_from_civil(int64_t y, int m, int d);
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Format `ms` since the epoch as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (TIME_RFC3339_MAX bytes). */
void time_format_rfc3339(int64_t ms, char out[TIME_RFC3339_MAX]);
/* Parse an RFC 3339 date-time ("T" or " " separator, optional fraction, "Z" or ±hh:mm) into ms since the epoch.
 * False for anything else, including out-of-range fields. */
bool time_parse_rfc3339(const char *s, size_t len, int64_t *ms);

/* Parse an HTTP IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 §5.6.7) into ms since the epoch. The
 * obsolete forms are refused. */
bool time_parse_http_date(const char *s, size_t len, int64_t *ms);
/* How long a Retry-After header value asks to wait from `now_ms`: delta-seconds or an HTTP date (a date in the past
 * is 0). False when it is neither. Capped at TIME_RETRY_AFTER_MAX_S. */
enum { TIME_RETRY_AFTER_MAX_S = 7 * 86400 };
bool time_retry_after_ms(const char *s, size_t len, int64_t now_ms, int64_t *wait_ms);

#endif
