/* tz.h - named time zones from the system's tz database, read by colony itself: a TZif file (RFC 8536) and its
 * POSIX TZ footer are parsed into an immutable value that any thread may use. Nothing here touches the process's
 * TZ environment or the C library's localtime state (setenv("TZ")/tzset are not thread-safe, and a server with
 * many threads cannot switch the process's zone per call); a zone is loaded once per name and kept for the life of
 * the process, behind a mutex.
 *
 * Times are seconds since the epoch (UTC); offsets are seconds east of UTC. */
#ifndef COLONY_BASE_TZ_H
#define COLONY_BASE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum {
    TZ_NAME_MAX = 64,          /* the longest IANA name is 32 bytes */
    TZ_FILE_MAX = 256 * 1024,  /* the largest TZif file of the database is under 4 KiB */
    TZ_CACHE_MAX = 4096,       /* zones kept at once (the database has about 600 names, 900 files) */
    TZ_TRANSITIONS_MAX = 8192, /* transitions of one file (the largest has about 250) */
};

typedef struct tz_zone tz_zone;

/* The offset in force around an instant: `offset` holds for every instant in [from, until) (from is INT64_MIN
 * when the zone never changed before, until INT64_MAX when it never changes after). A span may end at a
 * transition that keeps the same offset (only the abbreviation or the DST flag changed). */
typedef struct {
    int64_t from, until;
    int32_t offset;
} tz_span;

/* Parse a TZif file (versions 1 to 4). CL_INVALID with the reason; files with leap-second records ("right/"
 * zones, whose times are not UTC) are refused. *out is the caller's (tz_free). */
cl_err tz_parse_tzif(const unsigned char *data, size_t len, tz_zone **out, cl_error *err);
/* Parse a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3" (with RFC 8536's extensions: hours of rule times
 * from -167 to 167) as a zone of its own. */
cl_err tz_parse_posix(const char *s, size_t len, tz_zone **out, cl_error *err);
void tz_free(tz_zone *z);

/* The zone that is UTC forever (static). */
const tz_zone *tz_utc(void);

/* The span of `z` that holds instant `t`. */
tz_span tz_span_at(const tz_zone *z, int64_t t);

/* Check `name` as a zone name, without loading it: 1 to TZ_NAME_MAX bytes of A-Z a-z 0-9 . _ + - in
 * '/'-separated parts, none empty or starting with '.'. *bad_at receives the offset of the first offending byte. */
bool tz_name_valid(const char *name, size_t len, size_t *bad_at);
/* The zone named `name`: "UTC" (and "" for it), or an IANA name read from the zone directory (loaded once, then
 * shared). "localtime" (the server's own zone: each node could differ) is refused. CL_NOT_FOUND when the name is
 * malformed or names no TZif file (*bad_at: the offending byte of a malformed name, else 0); CL_UNAVAILABLE when
 * TZ_CACHE_MAX zones are loaded already. */
cl_err tz_get(const char *name, size_t len, const tz_zone **out, size_t *bad_at, cl_error *err);
/* Where zone files are read from: $TZDIR when set at start, else /usr/share/zoneinfo. Call before any tz_get. */
void tz_set_dir(const char *dir);

#endif
