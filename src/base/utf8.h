/* utf8.h - UTF-8 validation, code-point-safe truncation and sanitising. Pure functions over (ptr, len), and one
 * arena-backed copy for the common "preview of at most N bytes" case. */
#ifndef COLONY_BASE_UTF8_H
#define COLONY_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"

/* The truncation marker: U+2026 HORIZONTAL ELLIPSIS, 3 bytes. */
#define UTF8_ELLIPSIS "\xE2\x80\xA6"
enum { UTF8_ELLIPSIS_LEN = 3 };

/* Strict validation: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool utf8_valid(const char *s, size_t len);

/* Length (1-4) of the valid UTF-8 sequence at the start of s[0..len), or 0 when it is invalid. len >= 1. */
size_t utf8_seq_len(const char *s, size_t len);

/* Largest k <= n that does not split a code point of `s` (which must be valid and at least n bytes long,
 * with s[n] readable when n is not its full length). */
size_t utf8_floor(const char *s, size_t n);

/* Length of `s` without a trailing incomplete sequence (what a byte-wise cut such as snprintf's leaves). */
size_t utf8_trim_incomplete(const char *s, size_t len);

/* Number of code points in valid `s`. */
size_t utf8_count(const char *s, size_t len);

/* Where to cut `s`: keep its first `keep` bytes, then append UTF8_ELLIPSIS when `marker` is set. */
typedef struct {
    size_t keep;
    bool marker;
} utf8_cut;

/* Cut to at most `cap` bytes in all (marker included when `with_marker`). cap <= 0 keeps nothing; a cap too small
 * for the marker keeps nothing. Input shorter than the cap is kept whole. */
utf8_cut utf8_cut_bytes(const char *s, size_t len, long cap, bool with_marker);
/* utf8_cut_bytes of NUL-terminated valid `s` as an arena copy (marker appended when something was cut and
 * `with_marker`); NULL stays NULL. */
char *utf8_cut_copy(arena_t *a, const char *s, long cap, bool with_marker);
/* Cut to at most `cap` code points, then the marker (not counted) when `with_marker` and something was cut. */
utf8_cut utf8_cut_runes(const char *s, size_t len, long cap, bool with_marker);

/* Write `s` to `out` with every invalid sequence replaced by U+FFFD; `out` must hold 3*len bytes (an invalid
 * byte becomes 3). Returns the bytes written. */
size_t utf8_sanitize(const char *s, size_t len, char *out);

#endif
