/* tz.c - see tz.h. */
#include "base/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/time.h"

/* RFC 8536: offsets should lie in -24:59:59..+25:59:59; rule times in -167..167 hours; TZif times in ±2^59. */
enum { OFFSET_MIN = -89999, OFFSET_MAX = 93599, RULE_HOURS_MAX = 167, OFFSET_HOURS_MAX = 24 };
#define TIME_LIMIT ((int64_t)1 << 60)

/* ---- the civil calendar ------------------------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static bool leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* ---- POSIX TZ rules ---------------------------------------------------------------------------------------- */

typedef struct {
    char kind; /* 'J' (1..365, February 29 never counted), 'D' (0..365), 'M' (month.week.weekday) */
    int day, week, month;
    int32_t time; /* seconds after local midnight, may be negative or past a day */
} rule_date;

typedef struct {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    rule_date start, end;
} tz_rule;

struct tz_zone {
    size_t n;     /* transitions */
    int64_t *at;  /* ascending */
    int32_t *off; /* the offset from at[i] on */
    int32_t off0; /* before the first transition */
    bool has_rule; /* after the last transition (or always, without any), the footer's rule holds */
    tz_rule rule;
};

static tz_zone UTC_ZONE = {0};

const tz_zone *tz_utc(void) { return &UTC_ZONE; }

void tz_free(tz_zone *z)
{
    if (z == NULL || z == &UTC_ZONE)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

typedef struct {
    const char *p, *end;
} cursor;

static bool at_end(const cursor *c) { return c->p >= c->end; }
static char peek(const cursor *c) { return at_end(c) ? '\0' : *c->p; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* A decimal number of at most 3 digits, at most `max`. */
static bool rule_num(cursor *c, int max, int *out)
{
    int v = 0, digits = 0;
    while (is_digit(peek(c)) && digits < 4) {
        v = v * 10 + (*c->p++ - '0');
        digits++;
    }
    if (digits == 0 || digits > 3 || v > max)
        return false;
    *out = v;
    return true;
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits, '+' and '-'. Only its form matters. */
static bool rule_name(cursor *c)
{
    size_t n = 0;
    if (peek(c) == '<') {
        c->p++;
        while (!at_end(c) && *c->p != '>') {
            char ch = *c->p++;
            if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-')
                return false;
            n++;
        }
        if (peek(c) != '>')
            return false;
        c->p++;
        return n >= 3;
    }
    while (is_alpha(peek(c))) {
        c->p++;
        n++;
    }
    return n >= 3;
}

/* [+-]hh[:mm[:ss]] in seconds, hours at most max_h. */
static bool rule_hms(cursor *c, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (peek(c) == '+' || peek(c) == '-')
        sign = *c->p++ == '-' ? -1 : 1;
    if (!rule_num(c, max_h, &h))
        return false;
    if (peek(c) == ':') {
        c->p++;
        if (!rule_num(c, 59, &m))
            return false;
        if (peek(c) == ':') {
            c->p++;
            if (!rule_num(c, 59, &s))
                return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return true;
}

static bool rule_date_parse(cursor *c, rule_date *d)
{
    memset(d, 0, sizeof(*d));
    if (peek(c) == 'J') {
        c->p++;
        d->kind = 'J';
        if (!rule_num(c, 365, &d->day) || d->day < 1)
            return false;
    } else if (peek(c) == 'M') {
        c->p++;
        d->kind = 'M';
        if (!rule_num(c, 12, &d->month) || d->month < 1 || peek(c) != '.')
            return false;
        c->p++;
        if (!rule_num(c, 5, &d->week) || d->week < 1 || peek(c) != '.')
            return false;
        c->p++;
        if (!rule_num(c, 6, &d->day))
            return false;
    } else {
        d->kind = 'D';
        if (!rule_num(c, 365, &d->day))
            return false;
    }
    d->time = 2 * 3600;
    if (peek(c) == '/') {
        c->p++;
        return rule_hms(c, RULE_HOURS_MAX, &d->time);
    }
    return true;
}

static bool rule_parse(const char *s, size_t len, tz_rule *r)
{
    cursor c = {s, s + len};
    int32_t off;
    memset(r, 0, sizeof(*r));
    if (!rule_name(&c) || !rule_hms(&c, OFFSET_HOURS_MAX, &off))
        return false;
    r->std_off = -off; /* POSIX counts west */
    if (at_end(&c))
        return true;
    if (!rule_name(&c))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (peek(&c) != ',' && !at_end(&c)) {
        if (!rule_hms(&c, OFFSET_HOURS_MAX, &off))
            return false;
        r->dst_off = -off;
    }
    if (at_end(&c)) { /* DST without a rule: POSIX's default (the United States' rule) */
        r->start = (rule_date){'M', 0, 2, 3, 7200};
        r->end = (rule_date){'M', 0, 1, 11, 7200};
        return true;
    }
    if (peek(&c) != ',')
        return false;
    c.p++;
    if (!rule_date_parse(&c, &r->start) || peek(&c) != ',')
        return false;
    c.p++;
    return rule_date_parse(&c, &r->end) && at_end(&c);
}

/* Day of the year (0-based) on which `d` falls in year y. */
static int64_t rule_yday(const rule_date *d, int64_t y)
{
    if (d->kind == 'J')
        return d->day - 1 + (leap_year(y) && d->day >= 60);
    if (d->kind == 'D')
        return d->day;
    int64_t jan1 = time_days_from_civil(y, 1, 1), first = time_days_from_civil(y, d->month, 1);
    int64_t wd_first = ((first % 7) + 7 + 4) % 7; /* 1970-01-01 was a Thursday */
    int64_t day = (d->day - wd_first + 7) % 7 + (int64_t)(d->week - 1) * 7;
    while (day >= days_in_month(y, d->month)) /* week 5 is the last such weekday */
        day -= 7;
    return first - jan1 + day;
}

typedef struct {
    int64_t at;
    bool dst;
} rule_change;

/* The rule's span around t: its changes of the years around t's, in order (an end before a start at the same
 * instant, so a year-round DST rule stays in DST). */
static tz_span rule_span(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return (tz_span){INT64_MIN, INT64_MAX, r->std_off};
    int64_t y;
    int m, d;
    time_civil_from_days(floor_div(t, 86400), &y, &m, &d);
    rule_change ch[10];
    size_t n = 0;
    for (int64_t yy = y - 2; yy <= y + 2; yy++) {
        int64_t jan1 = time_days_from_civil(yy, 1, 1) * 86400;
        ch[n++] = (rule_change){jan1 + rule_yday(&r->start, yy) * 86400 + r->start.time - r->std_off, true};
        ch[n++] = (rule_change){jan1 + rule_yday(&r->end, yy) * 86400 + r->end.time - r->dst_off, false};
    }
    for (size_t i = 1; i < n; i++) { /* insertion sort: ten items */
        rule_change v = ch[i];
        size_t k = i;
        while (k > 0 && (ch[k - 1].at > v.at || (ch[k - 1].at == v.at && ch[k - 1].dst && !v.dst))) {
            ch[k] = ch[k - 1];
            k--;
        }
        ch[k] = v;
    }
    size_t last = 0;
    while (last + 1 < n && ch[last + 1].at <= t)
        last++;
    tz_span s = {ch[last].at, INT64_MAX, ch[last].dst ? r->dst_off : r->std_off};
    for (size_t i = last + 1; i < n; i++) {
        if (ch[i].at > t) {
            s.until = ch[i].at;
            break;
        }
    }
    return s;
}

cl_err tz_parse_posix(const char *s, size_t len, tz_zone **out, cl_error *err)
{
    tz_rule r;
    if (len > TZ_NAME_MAX * 2 || !rule_parse(s, len, &r))
        return cl_fail(err, CL_INVALID, "invalid POSIX TZ string");
    tz_zone *z = xcalloc(1, sizeof(*z));
    z->has_rule = true;
    z->rule = r;
    z->off0 = r.std_off;
    *out = z;
    return CL_OK;
}

/* ---- spans ------------------------------------------------------------------------------------------------- */

tz_span tz_span_at(const tz_zone *z, int64_t t)
{
    if (z->n == 0)
        return z->has_rule ? rule_span(&z->rule, t) : (tz_span){INT64_MIN, INT64_MAX, z->off0};
    if (t < z->at[0])
        return (tz_span){INT64_MIN, z->at[0], z->off0};
    size_t lo = 0, hi = z->n; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo + 1 < z->n)
        return (tz_span){z->at[lo], z->at[lo + 1], z->off[lo]};
    if (!z->has_rule)
        return (tz_span){z->at[lo], INT64_MAX, z->off[lo]};
    tz_span s = rule_span(&z->rule, t);
    if (s.from < z->at[lo])
        s.from = z->at[lo];
    return s;
}

/* ---- TZif -------------------------------------------------------------------------------------------------- */

typedef struct {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

enum { TZIF_HEADER_LEN = 44 };

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

static cl_err read_header(const unsigned char *p, size_t len, tzif_header *h, cl_error *err)
{
    if (len < TZIF_HEADER_LEN || memcmp(p, "TZif", 4) != 0)
        return cl_fail(err, CL_INVALID, "not a TZif file");
    h->version = (char)p[4];
    if (h->version != '\0' && (h->version < '2' || h->version > '4'))
        return cl_fail(err, CL_INVALID, "unknown TZif version");
    uint32_t *counts[] = {&h->isutcnt, &h->isstdcnt, &h->leapcnt, &h->timecnt, &h->typecnt, &h->charcnt};
    for (size_t i = 0; i < 6; i++)
        *counts[i] = be32(p + 20 + 4 * i);
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 || h->charcnt > 65536 ||
        h->timecnt > TZ_TRANSITIONS_MAX || (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt))
        return cl_fail(err, CL_INVALID, "TZif counts out of range");
    if (h->leapcnt != 0)
        return cl_fail(err, CL_INVALID, "zones with leap seconds are not supported");
    return CL_OK;
}

/* Bytes of a data block with `timesize`-byte times (counts are bounded by read_header: no overflow). */
static size_t block_len(const tzif_header *h, size_t timesize)
{
    return h->timecnt * timesize + h->timecnt + h->typecnt * 6 + h->charcnt + h->leapcnt * (timesize + 4) +
           h->isstdcnt + h->isutcnt;
}

/* Fill z from a data block. */
static cl_err read_block(const unsigned char *p, const tzif_header *h, size_t timesize, tz_zone *z, cl_error *err)
{
    const unsigned char *idx = p + h->timecnt * timesize, *types = idx + h->timecnt;
    int32_t offs[256];
    for (uint32_t i = 0; i < h->typecnt; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (off < OFFSET_MIN || off > OFFSET_MAX || types[6 * i + 4] > 1 || types[6 * i + 5] >= h->charcnt)
            return cl_fail(err, CL_INVALID, "TZif local time type out of range");
        offs[i] = off;
    }
    z->n = h->timecnt;
    z->at = xcalloc(z->n ? z->n : 1, sizeof(*z->at));
    z->off = xcalloc(z->n ? z->n : 1, sizeof(*z->off));
    z->off0 = offs[0];
    for (uint32_t i = 0; i < h->timecnt; i++) {
        int64_t t = timesize == 8 ? be64(p + 8 * i) : (int64_t)(int32_t)be32(p + 4 * i);
        if (t < -TIME_LIMIT || t > TIME_LIMIT || (i > 0 && t <= z->at[i - 1]) || idx[i] >= h->typecnt)
            return cl_fail(err, CL_INVALID, "TZif transitions out of order or out of range");
        z->at[i] = t;
        z->off[i] = offs[idx[i]];
    }
    return CL_OK;
}

cl_err tz_parse_tzif(const unsigned char *data, size_t len, tz_zone **out, cl_error *err)
{
    tzif_header h;
    cl_err e = read_header(data, len, &h, err);
    if (e != CL_OK)
        return e;
    size_t at = TZIF_HEADER_LEN, timesize = 4;
    if (h.version != '\0') { /* skip the 32-bit block: the 64-bit one follows with its own header */
        at += block_len(&h, 4);
        if (at > len || (e = read_header(data + at, len - at, &h, err)) != CL_OK)
            return e != CL_OK ? e : cl_fail(err, CL_INVALID, "truncated TZif file");
        at += TZIF_HEADER_LEN;
        timesize = 8;
    }
    if (block_len(&h, timesize) > len - at)
        return cl_fail(err, CL_INVALID, "truncated TZif file");
    tz_zone *z = xcalloc(1, sizeof(*z));
    e = read_block(data + at, &h, timesize, z, err);
    at += block_len(&h, timesize);
    if (e == CL_OK && timesize == 8) { /* the footer: "\n<POSIX TZ string>\n", empty when no rule applies */
        const unsigned char *nl = at < len && data[at] == '\n' ? memchr(data + at + 1, '\n', len - at - 1) : NULL;
        if (nl == NULL || (size_t)(nl - data) + 1 != len)
            e = cl_fail(err, CL_INVALID, "TZif footer missing");
        else if (nl > data + at + 1 && !rule_parse((const char *)data + at + 1, (size_t)(nl - data - at - 1), &z->rule))
            e = cl_fail(err, CL_INVALID, "TZif footer is not a valid POSIX TZ string");
        else
            z->has_rule = nl > data + at + 1;
    }
    if (e != CL_OK) {
        tz_free(z);
        return e;
    }
    *out = z;
    return CL_OK;
}

/* ---- names and the cache ----------------------------------------------------------------------------------- */

static char zone_dir[1024] = "/usr/share/zoneinfo";
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[TZ_NAME_MAX + 1];
    tz_zone *zone;
} cache[TZ_CACHE_MAX];
static size_t cached;

void tz_set_dir(const char *dir)
{
    if (dir != NULL && dir[0] != '\0')
        snprintf(zone_dir, sizeof(zone_dir), "%s", dir);
}

bool tz_name_valid(const char *name, size_t len, size_t *bad_at)
{
    *bad_at = 0;
    if (len == 0 || len > TZ_NAME_MAX) {
        *bad_at = len > TZ_NAME_MAX ? TZ_NAME_MAX : 0;
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool part_start = i == 0 || name[i - 1] == '/';
        bool ok = is_alpha(ch) || is_digit(ch) || ch == '_' || ch == '+' || ch == '-' || (ch == '.' && !part_start) ||
                  (ch == '/' && !part_start && i + 1 < len);
        if (!ok) {
            *bad_at = i;
            return false;
        }
    }
    return true;
}

static cl_err load_file(const char *name, tz_zone **out, cl_error *err)
{
    char path[sizeof(zone_dir) + TZ_NAME_MAX + 2];
    snprintf(path, sizeof(path), "%s/%s", zone_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
        if (fd >= 0)
            close(fd);
        return cl_fail(err, CL_NOT_FOUND, "unknown time zone");
    }
    unsigned char *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t r = 1;
    while (got <= (size_t)st.st_size && (r = read(fd, buf + got, (size_t)st.st_size + 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    cl_err e = r < 0 || got > (size_t)st.st_size ? cl_fail(err, CL_NOT_FOUND, "unknown time zone")
                                                 : tz_parse_tzif(buf, got, out, err);
    free(buf);
    return e == CL_OK ? CL_OK : cl_fail(err, CL_NOT_FOUND, "unknown time zone");
}

static tz_zone *cache_find(const char *name)
{
    for (size_t i = 0; i < cached; i++)
        if (strcmp(cache[i].name, name) == 0)
            return cache[i].zone;
    return NULL;
}

cl_err tz_get(const char *name, size_t len, const tz_zone **out, size_t *bad_at, cl_error *err)
{
    *bad_at = 0;
    if (len == 0 || (len == 3 && memcmp(name, "UTC", 3) == 0)) {
        *out = &UTC_ZONE;
        return CL_OK;
    }
    if (!tz_name_valid(name, len, bad_at))
        return cl_fail(err, CL_NOT_FOUND, "malformed time zone name");
    char key[TZ_NAME_MAX + 1];
    memcpy(key, name, len);
    key[len] = '\0';
    if (strcmp(key, "localtime") == 0) /* the server's own zone: nodes could disagree */
        return cl_fail(err, CL_NOT_FOUND, "unknown time zone");
    pthread_mutex_lock(&cache_mu);
    tz_zone *z = cache_find(key);
    pthread_mutex_unlock(&cache_mu);
    if (z != NULL) {
        *out = z;
        return CL_OK;
    }
    tz_zone *loaded; /* read outside the lock; a racing loader of the same name keeps the first copy */
    cl_err e = load_file(key, &loaded, err);
    if (e != CL_OK)
        return e;
    pthread_mutex_lock(&cache_mu);
    if ((z = cache_find(key)) == NULL && cached < TZ_CACHE_MAX) {
        snprintf(cache[cached].name, sizeof(cache[cached].name), "%s", key);
        cache[cached++].zone = z = loaded;
        loaded = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
    tz_free(loaded);
    if (z == NULL)
        return cl_fail(err, CL_UNAVAILABLE, "too many time zones in use");
    *out = z;
    return CL_OK;
}
