/* fuzz_tzif.c - libFuzzer target for the time-zone reader (base/tz): TZif files and POSIX TZ strings from any
 * bytes. A file that parses yields spans that hold the instant asked about, with an offset in RFC 8536's range. */
#include <stddef.h>
#include <stdint.h>

#include "base/tz.h"

static void check(const tz_zone *z)
{
    static const int64_t probes[] = {-4102444800, 0, 1743206400, 2145916800, 4102444800, 253402300799};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        tz_span s = tz_span_at(z, probes[i]);
        if (s.from > probes[i] || s.until <= probes[i] || s.offset < -89999 || s.offset > 93599)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tz_zone *z;
    cl_error e;
    if (tz_parse_tzif(data, size, &z, &e) == CL_OK) {
        check(z);
        tz_free(z);
    }
    if (tz_parse_posix((const char *)data, size, &z, &e) == CL_OK) {
        check(z);
        tz_free(z);
    }
    return 0;
}
