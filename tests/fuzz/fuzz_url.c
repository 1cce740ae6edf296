/* fuzz_url.c - libFuzzer target for the outbound-address edge: the host reader (every numeric spelling), the
 * policy, and the agent-URL check that register, update-card and every send run on outside input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/netaddr.h"
#include "model/urlcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    netaddr a, b;
    if (netaddr_parse_host(s, size, &a) == NETADDR_NUMERIC) {
        /* the canonical text means the same address, and the verdict never depends on the spelling */
        char text[NETADDR_TEXT_MAX];
        netaddr_format(&a, text);
        if (netaddr_parse_host(text, strlen(text), &b) != NETADDR_NUMERIC || memcmp(&a, &b, sizeof(a)) != 0 ||
            netaddr_verdict(&a, false, NULL) != netaddr_verdict(&b, false, NULL))
            __builtin_trap();
        if (netaddr_verdict(&a, false, NULL) && !netaddr_verdict(&a, true, NULL)) /* the allowance only widens */
            __builtin_trap();
    }
    char *url = xmalloc(size + 1);
    memcpy(url, s, size);
    url[size] = '\0';
    cl_error e;
    netaddr_set_allow_private(size % 2 == 0);
    url_check_agent(url, &e);
    url_check_placeholder(url, &e);
    free(url);
    return 0;
}
