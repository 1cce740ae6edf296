/* urlcheck.c - see urlcheck.h. */
#include "model/urlcheck.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/metrics.h"
#include "base/netaddr.h"

static bool printable(const char *url, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] == 0x7F)
            return false;
    return true;
}

cl_err url_check_placeholder(const char *url, cl_error *err)
{
    size_t len = strlen(url);
    if (len > URL_MAX_LEN)
        return cl_fail(err, CL_INVALID, "URL longer than %d bytes", URL_MAX_LEN);
    if (!printable(url, len))
        return cl_fail(err, CL_INVALID, "URL contains spaces or control characters");
    return CL_OK;
}

/* The port after the host: 1..65535, digits only. */
static bool port_ok(const char *p, size_t n)
{
    long v = 0;
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

static cl_err refused(cl_error *err, const char *shown, const char *why)
{
    metric_inc(METRIC_OUTBOUND_REFUSED_URL);
    return cl_fail(err, CL_INVALID, "address %s is in a blocked range (%s)", shown, why);
}

cl_err url_check_agent(const char *url, cl_error *err)
{
    size_t len = strlen(url);
    if (len == 0)
        return cl_fail(err, CL_INVALID, "empty URL");
    if (len > URL_MAX_LEN)
        return cl_fail(err, CL_INVALID, "URL longer than %d bytes", URL_MAX_LEN);
    if (!printable(url, len))
        return cl_fail(err, CL_INVALID, "URL contains spaces or control characters");
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return cl_fail(err, CL_INVALID, "unsupported scheme (http or https only)");
    size_t auth = strcspn(rest, "/?#");
    if (memchr(rest, '@', auth) != NULL)
        return cl_fail(err, CL_INVALID, "credentials in URL are not allowed");
    const char *host = rest, *port = NULL;
    size_t hlen;
    if (rest[0] == '[') { /* [IPv6]:port */
        const char *close = memchr(rest, ']', auth);
        if (close == NULL || (close[1] != ':' && close + 1 != rest + auth))
            return cl_fail(err, CL_INVALID, "malformed IPv6 host");
        host = rest + 1, hlen = (size_t)(close - host);
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = memchr(rest, ':', auth);
        hlen = colon ? (size_t)(colon - rest) : auth;
        port = colon ? colon + 1 : NULL;
    }
    if (port != NULL && !port_ok(port, (size_t)(rest + auth - port)))
        return cl_fail(err, CL_INVALID, "invalid port");
    netaddr a;
    const char *why;
    switch (netaddr_parse_host(host, hlen, &a)) {
    case NETADDR_MALFORMED: return cl_fail(err, CL_INVALID, "malformed host");
    case NETADDR_NUMERIC:
        if (!netaddr_may_dial(&a, &why)) {
            char shown[NETADDR_TEXT_MAX];
            netaddr_format(&a, shown);
            return refused(err, shown, why);
        }
        return CL_OK;
    case NETADDR_NAME:
    default:
        if (!netaddr_name_may_dial(host, hlen, &why)) {
            char shown[NETADDR_HOST_MAX + 2];
            snprintf(shown, sizeof(shown), "%.*s", (int)hlen, host);
            return refused(err, shown, why);
        }
        return CL_OK;
    }
}
