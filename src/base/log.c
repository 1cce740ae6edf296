/* log.c - see log.h. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "base/utf8.h"

enum { LOG_LINE_MAX = 4096 };

static volatile log_level min_level = LOG_INFO;
static const char *const NAMES[] = {"debug", "info", "warn", "error", "fatal"};

void log_set_level(log_level lvl) { min_level = lvl; }

int log_parse_level(const char *s, log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(s, NAMES[i]) == 0) {
            *out = (log_level)i;
            return 1;
        }
    }
    return 0;
}

char *log_quote(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void log_emit(log_level lvl, const char *msg, const char *fmt, ...)
{
    if (lvl < min_level)
        return;
    char line[LOG_LINE_MAX], ts[TIME_RFC3339_MAX], qmsg[512];
    time_format_rfc3339(time_now_ms(), ts);
    int n = snprintf(line, sizeof(line), "ts=%s level=%s msg=\"%s\"", ts, NAMES[lvl],
                     log_quote(qmsg, sizeof(qmsg), msg, strlen(msg)));
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (fmt != NULL && len + 2 < sizeof(line)) {
        line[len++] = ' ';
        char fields[LOG_LINE_MAX];
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
        /* One record is one line whatever a caller formats into it: a value taken from a request (an error
         * message naming a client's string) cannot start a forged record. Control bytes become \xNN. */
        for (size_t i = 0; m > 0 && i < (size_t)m && i < sizeof(fields) - 1; i++) {
            unsigned char c = (unsigned char)fields[i];
            if (c >= 0x20 && c != 0x7F) {
                if (len + 1 >= sizeof(line))
                    break;
                line[len++] = (char)c;
            } else {
                if (len + 5 >= sizeof(line))
                    break;
                len += (size_t)snprintf(line + len, sizeof(line) - len, "\\x%02x", c);
            }
        }
    }
    len = utf8_trim_incomplete(line, len); /* never emit half a code point when the line was cut */
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
