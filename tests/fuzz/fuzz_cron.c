/* fuzz_cron.c - libFuzzer target for the cron parser (base/cron) and the search behind it: whatever an expression
 * says, a parse either fails with a position inside it (or just past it), or yields runs that come strictly after
 * the time asked, in order, each of which the search finds again from just before it. The first byte picks the
 * seconds mode and the zone. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/cron.h"
#include "base/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char *const zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    const char *zname = zones[(data[0] >> 1) % 4];
    bool seconds = data[0] & 1;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    cron_expr e;
    size_t pos;
    cl_error err;
    if (cron_parse(s, len, seconds, &e, &pos, &err) != CL_OK) {
        if (pos < 1 || pos > (len < CRON_EXPR_MAX ? len : CRON_EXPR_MAX) + 1 || err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    const tz_zone *z;
    size_t bad;
    if (tz_get(zname, strlen(zname), &z, &bad, &err) != CL_OK)
        return 0;
    /* 2025-03-29 (a spring-forward weekend in Europe), and a fall-back weekend in the north */
    static const int64_t starts[] = {1743206400, 1761350400};
    for (size_t i = 0; i < 2; i++) {
        int64_t t = starts[i], next, again;
        for (int k = 0; k < 4; k++) {
            if (!cron_next(&e, z, t, &next))
                break;
            if (next <= t || next - t > CRON_HORIZON_S || !cron_next(&e, z, next - 1, &again) || again != next)
                __builtin_trap();
            t = next;
        }
        int64_t missed, latest = cron_latest(&e, z, t, t + 7200, &missed);
        if (latest < t || latest > t + 7200 || missed < 0 || missed > CRON_MISSED_MAX)
            __builtin_trap();
    }
    return 0;
}
