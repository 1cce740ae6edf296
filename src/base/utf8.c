/* utf8.c - see utf8.h. */
#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid sequence at s[0..len), or 0 if it is invalid. */
static size_t seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t utf8_seq_len(const char *s, size_t len)
{
    return seq_len((const unsigned char *)s, len);
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) { /* fast path for ASCII runs */
            i++;
            continue;
        }
        size_t n = seq_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t utf8_floor(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

size_t utf8_trim_incomplete(const char *s, size_t len)
{
    size_t i = len, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return need > back + 1 ? i - 1 : len;
}

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

utf8_cut utf8_cut_bytes(const char *s, size_t len, long cap, bool with_marker)
{
    utf8_cut c = {0, false};
    if (cap <= 0)
        return c;
    if (len <= (size_t)cap) {
        c.keep = len;
        return c;
    }
    if (!with_marker) {
        c.keep = utf8_floor(s, (size_t)cap);
        return c;
    }
    if ((size_t)cap < UTF8_ELLIPSIS_LEN)
        return c;
    c.keep = utf8_floor(s, (size_t)cap - UTF8_ELLIPSIS_LEN);
    c.marker = true;
    return c;
}

utf8_cut utf8_cut_runes(const char *s, size_t len, long cap, bool with_marker)
{
    utf8_cut c = {0, false};
    if (cap <= 0)
        return c;
    size_t runes = 0, i = 0;
    for (; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (runes == (size_t)cap)
                break;
            runes++;
        }
    }
    c.keep = i;
    c.marker = with_marker && i < len;
    return c;
}

size_t utf8_sanitize(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = seq_len(p + i, len - i);
        if (n == 0) {
            out[o++] = (char)0xEF, out[o++] = (char)0xBF, out[o++] = (char)0xBD;
            i++;
            continue;
        }
        for (size_t k = 0; k < n; k++)
            out[o++] = s[i + k];
        i += n;
    }
    return o;
}

char *utf8_cut_copy(arena_t *a, const char *s, long cap, bool with_marker)
{
    if (s == NULL)
        return NULL;
    utf8_cut c = utf8_cut_bytes(s, strlen(s), cap, with_marker);
    return arena_sprintf(a, "%.*s%s", (int)c.keep, s, c.marker ? UTF8_ELLIPSIS : "");
}
