/* cron.c - see cron.h. */
#include "base/cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/time.h"

enum { F_SECOND, F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct {
    const char *name;
    int min, max;
} FIELDS[F_COUNT] = {{"second", 0, 59}, {"minute", 0, 59}, {"hour", 0, 23},
                     {"day-of-month", 1, 31}, {"month", 1, 12}, {"day-of-week", 0, 6}};

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* ---- parsing ----------------------------------------------------------------------------------------------- */

typedef struct {
    const char *base; /* the whole expression, for positions */
    size_t *position;
    cl_error *err;
} parse_ctx;

static cl_err fail_at(parse_ctx *c, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An error at `at`: its 1-based position and the message. */
static cl_err fail_at(parse_ctx *c, const char *at, const char *fmt, ...)
{
    char msg[CL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *c->position = (size_t)(at - c->base) + 1;
    return cl_fail_code(c->err, CL_INVALID, "invalid_cron_expr", "%s", msg);
}

/* One value of field f: a number or (months, days) a name. */
static cl_err value(parse_ctx *c, int f, const char *s, size_t n, int *out)
{
    if (n == 0)
        return fail_at(c, s, "%s: %s", FIELDS[f].name, "a value is missing");
    char last = (char)(s[n - 1] | 0x20);
    bool lw = (last == 'l' || last == 'w') && (n == 1 || (s[n - 2] >= '0' && s[n - 2] <= '9') ||
                                               (n == 2 && strncasecmp(s, "LW", 2) == 0));
    if (memchr(s, '#', n) || lw) /* Quartz's extensions, which the reference's parser does not know either */
        return fail_at(c, s, "%s: %s", FIELDS[f].name, "L, W and # are not supported");
    char text[16];
    snprintf(text, sizeof(text), "%.*s", (int)(n < 12 ? n : 12), s);
    if (n > 0 && s[0] >= '0' && s[0] <= '9') {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return fail_at(c, s, "%s: \"%s\" is not a number", FIELDS[f].name, text);
            if (i < 4)
                v = v * 10 + (s[i] - '0');
        }
        if (n > 4 || v < FIELDS[f].min || v > FIELDS[f].max)
            return fail_at(c, s, "%s: %s is out of range %d-%d", FIELDS[f].name, text, FIELDS[f].min,
                           FIELDS[f].max);
        *out = v;
        return CL_OK;
    }
    const char *const *names = f == F_MONTH ? MONTHS : f == F_DOW ? DAYS : NULL;
    size_t count = f == F_MONTH ? 12 : 7;
    for (size_t i = 0; names && n == 3 && i < count; i++) {
        if (strncasecmp(s, names[i], 3) == 0) {
            *out = (int)i + (f == F_MONTH);
            return CL_OK;
        }
    }
    return fail_at(c, s, "%s: unknown value \"%s\"", FIELDS[f].name, text);
}

/* One list item: `*`, `?`, a, a-b, each optionally /step. Sets its bits in *bits; *star when it is unrestricted. */
static cl_err item(parse_ctx *c, int f, const char *s, size_t n, uint64_t *bits, bool *star)
{
    if (n == 0)
        return fail_at(c, s, "%s: %s", FIELDS[f].name, "empty list item");
    const char *slash = memchr(s, '/', n);
    size_t rn = slash ? (size_t)(slash - s) : n;
    int lo, hi, step = 1;
    bool any = rn == 1 && (s[0] == '*' || s[0] == '?');
    if (slash != NULL) {
        const char *st = slash + 1;
        size_t sn = n - rn - 1;
        if (sn == 0 || memchr(st, '/', sn))
            return fail_at(c, sn ? memchr(st, '/', sn) : st, "%s: %s", FIELDS[f].name,
                           "a step needs one number after '/'");
        for (size_t i = 0; i < sn; i++)
            if (st[i] < '0' || st[i] > '9')
                return fail_at(c, st, "%s: %s", FIELDS[f].name, "a step must be a number");
        if (sn > 3)
            return fail_at(c, st, "%s: %s", FIELDS[f].name, "a step must be at most 999");
        step = 0;
        for (size_t i = 0; i < sn; i++)
            step = step * 10 + (st[i] - '0');
        if (step == 0)
            return fail_at(c, st, "%s: %s", FIELDS[f].name, "a step must be at least 1");
    }
    if (any) {
        lo = FIELDS[f].min, hi = FIELDS[f].max;
        *star = *star || step == 1;
    } else {
        const char *dash = memchr(s, '-', rn);
        cl_err e = value(c, f, s, dash ? (size_t)(dash - s) : rn, &lo);
        if (e != CL_OK)
            return e;
        hi = slash && !dash ? FIELDS[f].max : lo;
        if (dash != NULL) {
            const char *b = dash + 1;
            size_t bn = rn - (size_t)(b - s);
            if (memchr(b, '-', bn))
                return fail_at(c, (const char *)memchr(b, '-', bn), "%s: %s", FIELDS[f].name,
                               "a range has one '-'");
            if ((e = value(c, f, b, bn, &hi)) != CL_OK)
                return e;
            if (lo > hi)
                return fail_at(c, s, "%s: range start %d is after its end %d", FIELDS[f].name, lo, hi);
        }
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return CL_OK;
}

static cl_err field(parse_ctx *c, int f, const char *s, size_t n, uint64_t *bits, bool *star)
{
    *bits = 0;
    *star = false;
    const char *p = s, *end = s + n;
    while (true) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        cl_err e = item(c, f, p, (size_t)(stop - p), bits, star);
        if (e != CL_OK || comma == NULL)
            return e;
        p = comma + 1;
    }
}

/* A `TZ=` or `CRON_TZ=` prefix: its zone, and where the fields start. */
static cl_err prefix(parse_ctx *c, const char **p, const char *end, cron_expr *out)
{
    size_t skip = (size_t)(end - *p) >= 3 && memcmp(*p, "TZ=", 3) == 0           ? 3
                  : (size_t)(end - *p) >= 8 && memcmp(*p, "CRON_TZ=", 8) == 0 ? 8
                                                                                 : 0;
    if (skip == 0)
        return CL_OK;
    const char *name = *p + skip, *stop = name;
    while (stop < end && !is_space(*stop))
        stop++;
    size_t bad_at;
    cl_error ignore;
    if (tz_get(name, (size_t)(stop - name), &out->zone, &bad_at, &ignore) != CL_OK || stop == name) {
        *c->position = (size_t)(name - c->base) + 1 + bad_at;
        return cl_fail_code(c->err, CL_INVALID, "invalid_timezone", "invalid timezone: %.*s",
                            (int)(stop - name > TZ_NAME_MAX ? TZ_NAME_MAX : stop - name), name);
    }
    *p = stop;
    return CL_OK;
}

cl_err cron_parse(const char *s, size_t len, bool seconds, cron_expr *out, size_t *position, cl_error *err)
{
    memset(out, 0, sizeof(*out));
    parse_ctx c = {s, position, err};
    *position = 0;
    if (len > CRON_EXPR_MAX)
        return fail_at(&c, s + CRON_EXPR_MAX, "cron_expr is longer than %d bytes", CRON_EXPR_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x7f || ((unsigned char)s[i] < 0x20 && !is_space(s[i])))
            return fail_at(&c, s + i, "unexpected character");
    const char *p = s, *end = s + len;
    while (p < end && is_space(*p))
        p++;
    cl_err e = prefix(&c, &p, end, out);
    if (e != CL_OK)
        return e;
    while (p < end && is_space(*p))
        p++;
    if (p < end && *p == '@')
        return fail_at(&c, p, "descriptors such as @daily are not supported");
    const char *tok[F_COUNT];
    size_t tlen[F_COUNT], n = 0, max_fields = seconds ? F_COUNT : F_COUNT - 1;
    while (p < end && n < max_fields) {
        tok[n] = p;
        while (p < end && !is_space(*p))
            p++;
        tlen[n] = (size_t)(p - tok[n]);
        n++;
        while (p < end && is_space(*p))
            p++;
    }
    const char *want = seconds ? "5 or 6 fields (second minute hour day-of-month month day-of-week)"
                               : "5 fields (minute hour day-of-month month day-of-week)";
    if (p < end || n < F_COUNT - 1)
        return fail_at(&c, p, "expected %s, found %s", want, p < end ? "more" : n == 0 ? "none" : "fewer");
    size_t first = n == F_COUNT ? 0 : 1; /* five fields: no seconds */
    uint64_t bits[F_COUNT] = {1, 0, 0, 0, 0, 0};
    bool star[F_COUNT] = {false};
    for (size_t i = 0; i < n; i++)
        if ((e = field(&c, (int)(first + i), tok[i], tlen[i], &bits[first + i], &star[first + i])) != CL_OK)
            return e;
    out->second = bits[F_SECOND];
    out->minute = bits[F_MINUTE];
    out->hour = (uint32_t)bits[F_HOUR];
    out->dom = (uint32_t)bits[F_DOM];
    out->month = (uint16_t)bits[F_MONTH];
    out->dow = (uint8_t)bits[F_DOW];
    out->dom_star = star[F_DOM];
    out->dow_star = star[F_DOW];
    const char *hour = tok[F_HOUR - first];
    out->hour_star = hour[0] == '*' || hour[0] == '?';
    return CL_OK;
}

/* ---- next run ---------------------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The lowest set bit of `bits` at or above `from` (up to `max`), or -1. */
static int next_bit(uint64_t bits, int from, int max)
{
    for (int v = from; v <= max; v++)
        if (bits >> v & 1)
            return v;
    return -1;
}

static bool day_matches(const cron_expr *e, int64_t days, int dom)
{
    int64_t wd = ((days % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday */
    bool d = e->dom >> dom & 1, w = e->dow >> wd & 1;
    return e->dom_star || e->dow_star ? d && w : d || w;
}

/* The first wall-clock second in [t, hi) that matches, on the civil calendar alone. Each step moves to the next
 * boundary of the first field that does not match, so a year costs at most a few hundred steps. */
static bool civil_next(const cron_expr *e, int64_t t, int64_t hi, int64_t *out)
{
    while (t < hi) {
        int64_t days = floor_div(t, 86400), sod = t - days * 86400, y;
        int mo, d;
        time_civil_from_days(days, &y, &mo, &d);
        if (!(e->month >> mo & 1)) {
            int nm = next_bit(e->month, mo + 1, 12);
            t = nm > 0 ? time_days_from_civil(y, nm, 1) * 86400
                       : time_days_from_civil(y + 1, next_bit(e->month, 1, 12), 1) * 86400;
            continue;
        }
        if (!day_matches(e, days, d)) {
            t = (days + 1) * 86400;
            continue;
        }
        int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
        int64_t day0 = days * 86400;
        if (!(e->hour >> h & 1)) {
            int nh = next_bit(e->hour, h + 1, 23);
            t = nh >= 0 ? day0 + nh * 3600 : day0 + 86400;
            continue;
        }
        if (!(e->minute >> mi & 1)) {
            int nmi = next_bit(e->minute, mi + 1, 59);
            t = nmi >= 0 ? day0 + h * 3600 + nmi * 60 : day0 + (h + 1) * 3600;
            continue;
        }
        if (!(e->second >> s & 1)) {
            int ns = next_bit(e->second, s + 1, 59);
            t = ns >= 0 ? day0 + h * 3600 + mi * 60 + ns : day0 + h * 3600 + (mi + 1) * 60;
            continue;
        }
        *out = t;
        return true;
    }
    return false;
}

/* The search walks the zone's spans of constant offset: inside one, local time is the instant plus the offset,
 * so the first match is a civil search mapped back. Where a span begins, the offset changed: it grew (a gap: the
 * wall times in between do not exist) or shrank (an overlap: they occur twice). An expression with a fixed hour
 * runs a matching time of a gap at the span's first instant, and skips the second pass of an overlap. */
bool cron_next(const cron_expr *e, const tz_zone *zone, int64_t after, int64_t *next)
{
    const tz_zone *z = e->zone ? e->zone : zone ? zone : tz_utc();
    if (after < CRON_TIME_MIN || after >= CRON_TIME_MAX)
        return false;
    int64_t limit = after > CRON_TIME_MAX - CRON_HORIZON_S ? CRON_TIME_MAX : after + CRON_HORIZON_S;
    int64_t t = after + 1, w;
    while (t <= limit) {
        tz_span s = tz_span_at(z, t);
        int64_t lo = t + s.offset;
        if (!e->hour_star && s.from != INT64_MIN) {
            tz_span prev = tz_span_at(z, s.from - 1);
            if (t == s.from && prev.offset < s.offset &&
                civil_next(e, s.from + prev.offset, s.from + s.offset, &w)) {
                *next = s.from;
                return true;
            }
            if (prev.offset > s.offset && s.from + prev.offset > lo)
                lo = s.from + prev.offset;
        }
        bool last = s.until == INT64_MAX || s.until > limit;
        if (civil_next(e, lo, (last ? limit + 1 : s.until) + s.offset, &w)) {
            *next = w - s.offset;
            return true;
        }
        if (last)
            return false;
        t = s.until;
    }
    return false;
}

int64_t cron_latest(const cron_expr *e, const tz_zone *zone, int64_t first, int64_t now, int64_t *missed)
{
    *missed = 0;
    int64_t n;
    if (first > now || first <= CRON_TIME_MIN || !cron_next(e, zone, first - 1, &n) || n != first)
        return first;
    /* next(x) <= now holds for x = first - 1 and fails for x = now, and only ever turns from true to false as x
     * grows: the latest run is next(x) for the largest x where it holds */
    int64_t lo = first - 1, hi = now;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cron_next(e, zone, mid, &n) && n <= now)
            lo = mid;
        else
            hi = mid;
    }
    int64_t latest = first;
    cron_next(e, zone, lo, &latest);
    for (int64_t s = first; s < latest && *missed < CRON_MISSED_MAX; (*missed)++)
        if (!cron_next(e, zone, s, &s))
            break;
    return latest;
}
