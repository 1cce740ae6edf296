/* test_cron.c - the cron engine (base/cron) and the time-zone reader (base/tz): parsing with the position of each
 * error, next runs in UTC, daylight-saving tables for Europe/Berlin, America/New_York and Australia/Sydney from
 * the system's tz database, the POSIX footer past the table, coalesced missed runs, and a brute-force check of the
 * search against a second-by-second walk of the same rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cron.h"
#include "base/time.h"
#include "base/tz.h"

static int64_t at(const char *iso)
{
    int64_t ms;
    assert_true(time_parse_rfc3339(iso, strlen(iso), &ms));
    return ms / 1000;
}

static const char *iso(int64_t s, char buf[TIME_RFC3339_MAX])
{
    time_format_rfc3339(s * 1000, buf);
    char *dot = strchr(buf, '.');
    if (dot)
        strcpy(dot, "Z");
    return buf;
}

static const tz_zone *zone(const char *name)
{
    const tz_zone *z;
    size_t bad;
    cl_error e;
    if (tz_get(name, strlen(name), &z, &bad, &e) != CL_OK)
        fail_msg("zone %s: %s", name, e.msg);
    return z;
}

static cron_expr parse(const char *s, bool seconds)
{
    cron_expr e;
    size_t pos;
    cl_error err;
    if (cron_parse(s, strlen(s), seconds, &e, &pos, &err) != CL_OK)
        fail_msg("\"%s\" refused at %zu: %s", s, pos, err.msg);
    return e;
}

/* ---- parsing ----------------------------------------------------------------------------------------------- */

typedef struct {
    const char *expr;
    bool seconds;
    size_t position; /* 0: accepted */
    const char *message;
} parse_case;

static const parse_case PARSE[] = {
    {"0 9 * * 1-5", false, 0, NULL},
    {"*/15 0-6,22,23 ? JAN-mar,Dec sun,SAT", false, 0, NULL},
    {"  0\t9  *  *  *  ", false, 0, NULL},
    {"5/20 * 1,15 * *", false, 0, NULL},
    {"TZ=Europe/Berlin 0 9 * * *", false, 0, NULL},
    {"CRON_TZ=America/New_York 30 2 * * *", false, 0, NULL},
    {"*/10 * * * * *", true, 0, NULL},
    {"0 9 * * *", true, 0, NULL},
    {"0 9 * *", false, 8, "expected 5 fields (minute hour day-of-month month day-of-week), found fewer"},
    {"", false, 1, "expected 5 fields (minute hour day-of-month month day-of-week), found none"},
    {"0 0 9 * * *", false, 11, "expected 5 fields (minute hour day-of-month month day-of-week), found more"},
    {"0 0 9 * * * *", true, 13,
     "expected 5 or 6 fields (second minute hour day-of-month month day-of-week), found more"},
    {"60 * * * *", false, 1, "minute: 60 is out of range 0-59"},
    {"0 24 * * *", false, 3, "hour: 24 is out of range 0-23"},
    {"0 0 0 * *", false, 5, "day-of-month: 0 is out of range 1-31"},
    {"0 0 32 * *", false, 5, "day-of-month: 32 is out of range 1-31"},
    {"0 0 * 13 *", false, 7, "month: 13 is out of range 1-12"},
    {"0 0 * * 7", false, 9, "day-of-week: 7 is out of range 0-6"},
    {"0 0 * * 1-7", false, 11, "day-of-week: 7 is out of range 0-6"},
    {"0 0 * * 5-2", false, 9, "day-of-week: range start 5 is after its end 2"},
    {"*/0 * * * *", false, 3, "minute: a step must be at least 1"},
    {"*/x * * * *", false, 3, "minute: a step must be a number"},
    {"*/ * * * *", false, 3, "minute: a step needs one number after '/'"},
    {"1-2-3 * * * *", false, 4, "minute: a range has one '-'"},
    {"1,,2 * * * *", false, 3, "minute: empty list item"},
    {"0 0 * foo *", false, 7, "month: unknown value \"foo\""},
    {"0 0 * * mon-xyz", false, 13, "day-of-week: unknown value \"xyz\""},
    {"0 0 * jan *x", false, 11, "day-of-week: unknown value \"*x\""},
    {"0 0 L * *", false, 5, "day-of-month: L, W and # are not supported"},
    {"0 0 15W * *", false, 5, "day-of-month: L, W and # are not supported"},
    {"0 0 * * 1#2", false, 9, "day-of-week: L, W and # are not supported"},
    {"0 0 * * 5L", false, 9, "day-of-week: L, W and # are not supported"},
    {"0 0 * * wed", false, 0, NULL},
    {"0 0 * * jul", false, 9, "day-of-week: unknown value \"jul\""},
    {"@daily", false, 1, "descriptors such as @daily are not supported"},
    {"@every 5m", false, 1, "descriptors such as @daily are not supported"},
    {"0 9 * * 1\x01", false, 10, "unexpected character"},
    {"0 9 * * \xc3\xa9", false, 9, "unexpected character"},
    {"1a * * * *", false, 1, "minute: \"1a\" is not a number"},
    {"99999 * * * *", false, 1, "minute: 99999 is out of range 0-59"},
    {"*/1000 * * * *", false, 3, "minute: a step must be at most 999"},
    {"TZ=Mars/Olympus 0 9 * * *", false, 4, "invalid timezone: Mars/Olympus"},
    {"TZ=../etc/passwd 0 9 * * *", false, 4, "invalid timezone: ../etc/passwd"},
    {"CRON_TZ=Europe//Berlin 0 9 * * *", false, 16, "invalid timezone: Europe//Berlin"},
    {"TZ= 0 9 * * *", false, 4, "invalid timezone: "},
    {"TZ=UTC", false, 7, "expected 5 fields (minute hour day-of-month month day-of-week), found none"},
    {"TZ=localtime 0 9 * * *", false, 4, "invalid timezone: localtime"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PARSE) / sizeof(PARSE[0]); i++) {
        const parse_case *c = &PARSE[i];
        cron_expr e;
        size_t pos = 0;
        cl_error err;
        cl_err r = cron_parse(c->expr, strlen(c->expr), c->seconds, &e, &pos, &err);
        if (c->position == 0) {
            if (r != CL_OK)
                fail_msg("\"%s\" refused at %zu: %s", c->expr, pos, err.msg);
            continue;
        }
        if (r != CL_INVALID)
            fail_msg("\"%s\" accepted", c->expr);
        if (strcmp(err.msg, c->message) != 0 || pos != c->position)
            fail_msg("\"%s\": got %zu \"%s\", want %zu \"%s\"", c->expr, pos, err.msg, c->position, c->message);
        assert_string_equal(err.code, strncmp(c->message, "invalid timezone", 16) == 0 ? "invalid_timezone"
                                                                                        : "invalid_cron_expr");
    }
    /* the bound on length, named at the first byte past it */
    char longer[CRON_EXPR_MAX + 10];
    memset(longer, ' ', sizeof(longer));
    memcpy(longer, "0 9 * * *", 9);
    cron_expr e;
    size_t pos;
    cl_error err;
    assert_int_equal(cron_parse(longer, CRON_EXPR_MAX, false, &e, &pos, &err), CL_OK);
    assert_int_equal(cron_parse(longer, CRON_EXPR_MAX + 1, false, &e, &pos, &err), CL_INVALID);
    assert_int_equal(pos, CRON_EXPR_MAX + 1);
}

static void test_parse_fields(void **state)
{
    (void)state;
    cron_expr e = parse("*/15 0-6,22 ? JAN-mar,Dec sun,SAT", false);
    assert_int_equal(e.second, 1);
    assert_true(e.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    assert_int_equal(e.hour, 0x7f | (1u << 22));
    assert_int_equal(e.dom, 0xfffffffeu);
    assert_int_equal(e.month, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 12));
    assert_int_equal(e.dow, (1u << 0) | (1u << 6));
    assert_true(e.dom_star && !e.dow_star && !e.hour_star);
    e = parse("0 * */2 * *", false); /* a step above 1 restricts; */
    assert_true(!e.dom_star && e.dow_star && e.hour_star);
    e = parse("0 */1 */1 * *", false); /* a step of 1 does not */
    assert_true(e.dom_star && e.hour_star);
    e = parse("5/20 * * * *", false);
    assert_true(e.minute == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
}

/* ---- next runs --------------------------------------------------------------------------------------------- */

typedef struct {
    const char *expr, *zone, *after;
    const char *runs[5]; /* the successive runs; "none" when there is no next run */
} next_case;

static const next_case UTC_RUNS[] = {
    {"0 9 * * *", "UTC", "2025-01-01T08:59:59Z", {"2025-01-01T09:00:00Z", "2025-01-02T09:00:00Z"}},
    {"0 9 * * *", "UTC", "2025-01-01T09:00:00Z", {"2025-01-02T09:00:00Z"}}, /* strictly after */
    {"*/15 * * * *", "UTC", "2025-01-01T00:07:00Z",
     {"2025-01-01T00:15:00Z", "2025-01-01T00:30:00Z", "2025-01-01T00:45:00Z", "2025-01-01T01:00:00Z"}},
    {"5/20 * * * *", "UTC", "2025-01-01T00:00:00Z", {"2025-01-01T00:05:00Z", "2025-01-01T00:25:00Z",
                                                     "2025-01-01T00:45:00Z", "2025-01-01T01:05:00Z"}},
    /* the 1st of the month or a Monday (2025-01-01 is a Wednesday) */
    {"0 0 1 * 1", "UTC", "2025-01-01T00:00:00Z",
     {"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-20T00:00:00Z", "2025-01-27T00:00:00Z",
      "2025-02-01T00:00:00Z"}},
    {"0 0 */2 * 1", "UTC", "2025-01-01T00:00:00Z",
     {"2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-07T00:00:00Z"}},
    {"0 0 1 * *", "UTC", "2025-01-01T00:00:00Z", {"2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"}},
    {"0 0 * * sun", "UTC", "2025-01-01T00:00:00Z", {"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"}},
    {"0 12 1 JAN,Jul *", "UTC", "2025-01-02T00:00:00Z", {"2025-07-01T12:00:00Z", "2026-01-01T12:00:00Z"}},
    {"0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"0 0 30 2 *", "UTC", "2025-01-01T00:00:00Z", {"none"}},
    {"59 23 31 12 *", "UTC", "2025-12-31T23:59:00Z", {"2026-12-31T23:59:00Z"}},
    {"? ? ? ? ?", "UTC", "2025-01-01T00:00:30Z", {"2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"}},
    {"TZ=Europe/Berlin 0 9 * * *", "UTC", "2025-01-01T00:00:00Z", {"2025-01-01T08:00:00Z"}},
    {"CRON_TZ=America/New_York 0 9 * * *", "Europe/Berlin", "2025-01-01T00:00:00Z", {"2025-01-01T14:00:00Z"}},
    {"0 9 * * 1-5", "Asia/Kolkata", "2025-01-03T03:30:00Z", {"2025-01-06T03:30:00Z", "2025-01-07T03:30:00Z"}},
    {"*/10 * * * * *", "UTC", "2025-01-01T00:00:05Z", {"2025-01-01T00:00:10Z", "2025-01-01T00:00:20Z"}},
    {"0 0 9 * * *", "UTC", "2025-01-01T00:00:00Z", {"2025-01-01T09:00:00Z"}},
    {"* * * * * *", "UTC", "2025-12-31T23:59:59Z", {"2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"}},
};

/* Europe/Berlin: 2025-03-30 02:00 CET -> 03:00 CEST (01:00Z); 2025-10-26 03:00 CEST -> 02:00 CET (01:00Z). */
static const next_case BERLIN[] = {
    /* a time of day skipped by spring-forward runs once, at the end of the gap */
    {"30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", {"2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"}},
    {"0 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", {"2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z"}},
    {"0,30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z",
     {"2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z", "2025-03-31T00:30:00Z"}},
    {"0 3 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", {"2025-03-30T01:00:00Z", "2025-03-31T01:00:00Z"}},
    /* ... and a time of day repeated by fall-back runs once, at its first occurrence */
    {"30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", {"2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"}},
    {"0 1-3 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z",
     {"2025-10-25T23:00:00Z", "2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z", "2025-10-27T00:00:00Z"}},
    /* an hourly expression follows the clock: no run in the skipped hour, one in each pass of the repeated one */
    {"30 * * * *", "Europe/Berlin", "2025-03-30T00:00:00Z", {"2025-03-30T00:30:00Z", "2025-03-30T01:30:00Z"}},
    {"30 * * * *", "Europe/Berlin", "2025-10-26T00:00:00Z",
     {"2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z", "2025-10-26T02:30:00Z"}},
    {"*/15 * * * *", "Europe/Berlin", "2025-10-26T00:40:00Z",
     {"2025-10-26T00:45:00Z", "2025-10-26T01:00:00Z", "2025-10-26T01:15:00Z"}},
    {"0 9 * * 1-5", "Europe/Berlin", "2025-03-28T09:00:00Z", {"2025-03-31T07:00:00Z", "2025-04-01T07:00:00Z"}},
    /* past the file's table (2037): the POSIX footer CET-1CEST,M3.5.0,M10.5.0/3 */
    {"30 2 * * *", "Europe/Berlin", "2100-03-27T12:00:00Z", {"2100-03-28T01:00:00Z", "2100-03-29T00:30:00Z"}},
    {"30 2 * * *", "Europe/Berlin", "2100-10-30T12:00:00Z", {"2100-10-31T00:30:00Z", "2100-11-01T01:30:00Z"}},
};

/* America/New_York: 2025-03-09 02:00 EST -> 03:00 EDT (07:00Z); 2025-11-02 02:00 EDT -> 01:00 EST (06:00Z). */
static const next_case NEW_YORK[] = {
    {"30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", {"2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"}},
    {"30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", {"2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"}},
    {"30 * * * *", "America/New_York", "2025-11-02T05:00:00Z",
     {"2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z", "2025-11-02T07:30:00Z"}},
    {"*/30 * * * *", "America/New_York", "2025-03-09T06:30:00Z", {"2025-03-09T07:00:00Z", "2025-03-09T07:30:00Z"}},
    {"0 9 * * *", "America/New_York", "2025-03-08T00:00:00Z",
     {"2025-03-08T14:00:00Z", "2025-03-09T13:00:00Z", "2025-03-10T13:00:00Z"}},
    {"0 0 * * *", "America/New_York", "2025-11-01T12:00:00Z", {"2025-11-02T04:00:00Z", "2025-11-03T05:00:00Z"}},
    {"30 2 * * *", "America/New_York", "2099-03-07T12:00:00Z", {"2099-03-08T07:00:00Z", "2099-03-09T06:30:00Z"}},
};

/* Australia/Sydney (southern): 2025-04-06 03:00 AEDT -> 02:00 AEST (16:00Z on the 5th); 2025-10-05 02:00 AEST ->
 * 03:00 AEDT (16:00Z on the 4th). */
static const next_case SYDNEY[] = {
    {"30 2 * * *", "Australia/Sydney", "2025-10-04T00:00:00Z", {"2025-10-04T16:00:00Z", "2025-10-05T15:30:00Z"}},
    {"30 2 * * *", "Australia/Sydney", "2025-04-05T00:00:00Z", {"2025-04-05T15:30:00Z", "2025-04-06T16:30:00Z"}},
};

static void run_table(const next_case *cases, size_t n)
{
    char got[TIME_RFC3339_MAX];
    for (size_t i = 0; i < n; i++) {
        const next_case *c = &cases[i];
        cron_expr e = parse(c->expr, true);
        const tz_zone *z = zone(c->zone);
        int64_t t = at(c->after);
        for (size_t k = 0; k < 5 && c->runs[k] != NULL; k++) {
            int64_t next;
            bool found = cron_next(&e, z, t, &next);
            if (strcmp(c->runs[k], "none") == 0) {
                if (found)
                    fail_msg("%s in %s after %s: got %s, want none", c->expr, c->zone, c->after, iso(next, got));
                break;
            }
            if (!found || next != at(c->runs[k]))
                fail_msg("%s in %s after %s, run %zu: got %s, want %s", c->expr, c->zone, c->after, k + 1,
                         found ? iso(next, got) : "none", c->runs[k]);
            t = next;
        }
    }
}

static void test_next_utc(void **state)
{
    (void)state;
    run_table(UTC_RUNS, sizeof(UTC_RUNS) / sizeof(UTC_RUNS[0]));
}

static void test_next_dst_berlin(void **state)
{
    (void)state;
    run_table(BERLIN, sizeof(BERLIN) / sizeof(BERLIN[0]));
}

static void test_next_dst_new_york(void **state)
{
    (void)state;
    run_table(NEW_YORK, sizeof(NEW_YORK) / sizeof(NEW_YORK[0]));
}

static void test_next_dst_sydney(void **state)
{
    (void)state;
    run_table(SYDNEY, sizeof(SYDNEY) / sizeof(SYDNEY[0]));
}

/* A daily time of day runs exactly once on every day of a year with both changes, in both zones. */
static void test_once_a_day_through_a_year(void **state)
{
    (void)state;
    const char *zones[] = {"Europe/Berlin", "America/New_York"};
    const char *exprs[] = {"30 2 * * *", "0 2 * * *", "59 1 * * *", "0 3 * * *", "30 1 * * *"};
    for (size_t zi = 0; zi < 2; zi++) {
        for (size_t ei = 0; ei < sizeof(exprs) / sizeof(exprs[0]); ei++) {
            cron_expr e = parse(exprs[ei], false);
            int64_t t = at("2024-12-31T12:00:00Z"), next;
            int runs = 0;
            while (cron_next(&e, zone(zones[zi]), t, &next) && next < at("2026-01-01T00:00:00Z")) {
                assert_true(next > t);
                t = next;
                runs++;
            }
            if (runs != 365)
                fail_msg("%s in %s ran %d times in 2025", exprs[ei], zones[zi], runs);
        }
    }
}

/* ---- missed runs ------------------------------------------------------------------------------------------- */

static void test_latest_coalesces(void **state)
{
    (void)state;
    int64_t missed;
    cron_expr every_second = parse("* * * * * *", true);
    int64_t first = at("2025-01-01T00:00:10Z");
    assert_int_equal(cron_latest(&every_second, tz_utc(), first, at("2025-01-01T00:00:13Z"), &missed),
                     at("2025-01-01T00:00:13Z"));
    assert_int_equal(missed, 3);
    assert_int_equal(cron_latest(&every_second, tz_utc(), first, first, &missed), first);
    assert_int_equal(missed, 0);
    cron_expr daily = parse("0 9 * * *", false);
    first = at("2025-01-01T09:00:00Z");
    assert_int_equal(cron_latest(&daily, tz_utc(), first, at("2025-01-11T08:59:59Z"), &missed),
                     at("2025-01-10T09:00:00Z"));
    assert_int_equal(missed, 9);
    /* across a DST change, in the zone's terms */
    cron_expr berlin = parse("30 2 * * *", false);
    first = at("2025-03-29T01:30:00Z");
    assert_int_equal(cron_latest(&berlin, zone("Europe/Berlin"), first, at("2025-03-30T12:00:00Z"), &missed),
                     at("2025-03-30T01:00:00Z"));
    assert_int_equal(missed, 1);
    /* a stored time that is not a run of the expression is fired as it is */
    assert_int_equal(cron_latest(&daily, tz_utc(), at("2025-01-01T09:00:07Z"), at("2025-02-01T00:00:00Z"), &missed),
                     at("2025-01-01T09:00:07Z"));
    assert_int_equal(missed, 0);
    /* a year of every-second runs: bounded work, the count capped */
    first = at("2024-01-01T00:00:00Z");
    assert_int_equal(cron_latest(&every_second, tz_utc(), first, at("2025-01-01T00:00:00Z"), &missed),
                     at("2025-01-01T00:00:00Z"));
    assert_int_equal(missed, CRON_MISSED_MAX);
}

/* ---- the search against a walk ----------------------------------------------------------------------------- */

/* Whether instant u is a run, by the rules of cron.h applied one instant at a time. */
static bool matches_local(const cron_expr *e, int64_t local)
{
    int64_t days = local / 86400 - (local % 86400 < 0), sod = local - days * 86400, y;
    int m, d;
    time_civil_from_days(days, &y, &m, &d);
    int64_t wd = ((days % 7) + 7 + 4) % 7;
    bool dm = e->dom >> d & 1, wm = e->dow >> wd & 1;
    bool day = e->dom_star || e->dow_star ? dm && wm : dm || wm;
    return (e->month >> m & 1) && day && (e->hour >> (sod / 3600) & 1) && (e->minute >> (sod / 60 % 60) & 1) &&
           (e->second >> (sod % 60) & 1);
}

static bool is_run(const cron_expr *e, const tz_zone *z, int64_t u)
{
    tz_span s = tz_span_at(z, u);
    if (matches_local(e, u + s.offset)) {
        if (e->hour_star || s.from == INT64_MIN)
            return true;
        tz_span prev = tz_span_at(z, s.from - 1); /* a fixed hour's second pass of a repeated time is no run */
        return !(prev.offset > s.offset && u + s.offset < s.from + prev.offset);
    }
    if (e->hour_star || u != s.from || s.from == INT64_MIN)
        return false;
    tz_span prev = tz_span_at(z, s.from - 1); /* the first instant after a gap runs what the gap skipped */
    for (int64_t w = s.from + prev.offset; w < s.from + s.offset; w++)
        if (matches_local(e, w))
            return true;
    return false;
}

static void test_search_agrees_with_walk(void **state)
{
    (void)state;
    const char *exprs[] = {"30 2 * * *", "0 */2 * * *", "*/7 1-3 * * *", "0,30 2,3 * * 0", "* 2 * * *",
                           "15 * * * *", "0 0 * * *", "*/20 * * * * *", "45 59 1 * * *", "0 30 2 26,30 * *"};
    /* each zone from noon (UTC) the day before its two changes, for 36 hours */
    const struct {
        const char *zone, *days[2];
    } zones[] = {{"Europe/Berlin", {"2025-03-29T12:00:00Z", "2025-10-25T12:00:00Z"}},
                 {"America/New_York", {"2025-03-08T12:00:00Z", "2025-11-01T12:00:00Z"}},
                 {"Australia/Sydney", {"2025-04-04T12:00:00Z", "2025-10-03T12:00:00Z"}},
                 {"Australia/Lord_Howe", {"2025-04-04T12:00:00Z", "2025-10-03T12:00:00Z"}}};
    int64_t checked = 0;
    for (size_t ei = 0; ei < sizeof(exprs) / sizeof(exprs[0]); ei++) {
        cron_expr e = parse(exprs[ei], true);
        for (size_t zi = 0; zi < sizeof(zones) / sizeof(zones[0]); zi++) {
            const tz_zone *z = zone(zones[zi].zone);
            for (size_t di = 0; di < 2; di++) {
                int64_t start = at(zones[zi].days[di]), t = start, next = 0;
                char a[TIME_RFC3339_MAX], b[TIME_RFC3339_MAX], c[TIME_RFC3339_MAX];
                for (int64_t u = start + 1; u <= start + 36 * 3600; u++) {
                    if (!is_run(&e, z, u))
                        continue;
                    if (!cron_next(&e, z, t, &next) || next != u)
                        fail_msg("%s in %s after %s: walk says %s, search %s", exprs[ei], zones[zi].zone,
                                 iso(t, a), iso(u, b), iso(next, c));
                    if (!cron_next(&e, z, u - 1, &next) || next != u) /* and from just before it */
                        fail_msg("%s in %s after %s: search finds %s", exprs[ei], zones[zi].zone, iso(u - 1, a),
                                 iso(next, c));
                    t = u;
                    checked++;
                }
                if (cron_next(&e, z, t, &next) && next <= start + 36 * 3600) /* nothing the walk did not see */
                    fail_msg("%s in %s: search finds %s, the walk nothing", exprs[ei], zones[zi].zone, iso(next, a));
            }
        }
    }
    assert_true(checked > 50000);
}

/* ---- zones ------------------------------------------------------------------------------------------------- */

static void test_zone_names(void **state)
{
    (void)state;
    const tz_zone *z;
    size_t bad;
    cl_error e;
    assert_int_equal(tz_get("", 0, &z, &bad, &e), CL_OK);
    assert_ptr_equal(z, tz_utc());
    assert_int_equal(tz_get("UTC", 3, &z, &bad, &e), CL_OK);
    assert_ptr_equal(z, tz_utc());
    const tz_zone *b1 = zone("Europe/Berlin"), *b2 = zone("Europe/Berlin");
    assert_ptr_equal(b1, b2); /* loaded once */
    struct {
        const char *name;
        size_t bad_at;
    } refused[] = {{"Mars/Olympus", 0}, {"../etc/passwd", 0}, {"Europe/../../etc/passwd", 7}, {"/etc/passwd", 0},
                   {"Europe//Berlin", 7}, {"Europe/", 6},  {"Europe", 0}, {"localtime", 0}, {"zone.tab", 0},
                   {"Local", 0}, {"utc", 0}, {"right/UTC", 0}, {"Europe/Berlin\n", 13}, {"Europe/Ber lin", 10}};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *n = refused[i].name;
        if (tz_get(n, strlen(n), &z, &bad, &e) != CL_NOT_FOUND || bad != refused[i].bad_at)
            fail_msg("%s: accepted or wrong position %zu", n, bad);
    }
    char longer[TZ_NAME_MAX + 2];
    memset(longer, 'A', sizeof(longer));
    assert_int_equal(tz_get(longer, sizeof(longer), &z, &bad, &e), CL_NOT_FOUND);
    assert_int_equal(bad, TZ_NAME_MAX);
}

/* The file's table and its footer agree wherever both speak (2025-2037): the footer is read right. */
static void test_footer_agrees_with_table(void **state)
{
    (void)state;
    struct {
        const char *name, *rule;
    } zones[] = {{"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
                 {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
                 {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
                 {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"}};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        tz_zone *posix;
        cl_error e;
        assert_int_equal(tz_parse_posix(zones[i].rule, strlen(zones[i].rule), &posix, &e), CL_OK);
        const tz_zone *file = zone(zones[i].name);
        for (int64_t t = at("2025-01-01T00:00:00Z"); t < at("2037-01-01T00:00:00Z"); t += 1800) {
            tz_span a = tz_span_at(file, t), b = tz_span_at(posix, t);
            if (a.offset != b.offset)
                fail_msg("%s at %lld: file %d, rule %d", zones[i].name, (long long)t, a.offset, b.offset);
        }
        tz_free(posix);
    }
}

static void test_posix_rules(void **state)
{
    (void)state;
    const char *ok[] = {"UTC0", "EST5", "<+0330>-3:30", "EST5EDT", "CET-1CEST,M3.5.0,M10.5.0/3",
                        "EST5EDT,0/0,J365/25", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "IST-2IDT,M3.4.4/26,M10.5.0",
                        "AAA-24BBB,J1/167,J365/-167"};
    const char *bad[] = {"", "E5", "EST", "EST25", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                         "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,M3.2.0", "EST5EDT,M3.2.0/168,M11.1.0",
                         "<AB>5", "EST5EDT,M3.2.0,M11.1.0x", "EST5:60", "EST+"};
    tz_zone *z;
    cl_error e;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (tz_parse_posix(ok[i], strlen(ok[i]), &z, &e) != CL_OK)
            fail_msg("refused %s", ok[i]);
        tz_free(z);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tz_parse_posix(bad[i], strlen(bad[i]), &z, &e) == CL_OK)
            fail_msg("accepted %s", bad[i]);
    /* year-round DST (as zic writes it) stays in DST across the new year */
    assert_int_equal(tz_parse_posix("EST5EDT,0/0,J365/25", 19, &z, &e), CL_OK);
    assert_int_equal(tz_span_at(z, at("2030-01-01T04:30:00Z")).offset, -4 * 3600);
    assert_int_equal(tz_span_at(z, at("2030-07-01T00:00:00Z")).offset, -4 * 3600);
    tz_free(z);
}

static void test_tzif_refusals(void **state)
{
    (void)state;
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    assert_non_null(f);
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    tz_zone *z;
    cl_error e;
    assert_int_equal(tz_parse_tzif(buf, n, &z, &e), CL_OK);
    tz_free(z);
    for (size_t cut = 0; cut < n; cut += 7) /* every truncation is refused, never read past */
        assert_int_equal(tz_parse_tzif(buf, cut, &z, &e), CL_INVALID);
    unsigned char bad[8192];
    memcpy(bad, buf, n);
    bad[4] = '9';
    assert_int_equal(tz_parse_tzif(bad, n, &z, &e), CL_INVALID);
    memcpy(bad, buf, n);
    bad[n - 2] = '!'; /* the footer is no POSIX TZ string */
    assert_int_equal(tz_parse_tzif(bad, n, &z, &e), CL_INVALID);
    f = fopen("/usr/share/zoneinfo/right/UTC", "rb");
    if (f != NULL) { /* leap seconds: refused */
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_int_equal(tz_parse_tzif(buf, n, &z, &e), CL_INVALID);
        assert_string_equal(e.msg, "zones with leap seconds are not supported");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),          cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_next_utc),             cmocka_unit_test(test_next_dst_berlin),
        cmocka_unit_test(test_next_dst_new_york),    cmocka_unit_test(test_next_dst_sydney),
        cmocka_unit_test(test_once_a_day_through_a_year), cmocka_unit_test(test_latest_coalesces),
        cmocka_unit_test(test_search_agrees_with_walk), cmocka_unit_test(test_zone_names),
        cmocka_unit_test(test_footer_agrees_with_table), cmocka_unit_test(test_posix_rules),
        cmocka_unit_test(test_tzif_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
