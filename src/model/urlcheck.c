/* urlcheck.c - see urlcheck.h. */
#include "model/urlcheck.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static bool v4_blocked(const uint8_t a[4])
{
    uint32_t ip = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    static const struct {
        uint32_t net;
        int bits;
    } ranges[] = {
        {0x00000000, 8},  /* 0.0.0.0/8 "this network" */
        {0x7F000000, 8},  /* loopback */
        {0x0A000000, 8},  /* RFC 1918 */
        {0xAC100000, 12}, /* RFC 1918 */
        {0xC0A80000, 16}, /* RFC 1918 */
        {0xA9FE0000, 16}, /* link-local, cloud metadata */
        {0xC0000200, 24}, /* TEST-NET-1 */
        {0xC6336400, 24}, /* TEST-NET-2 */
        {0xCB007100, 24}, /* TEST-NET-3 */
        {0xE0000000, 4},  /* multicast */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint32_t mask = ranges[i].bits == 0 ? 0 : 0xFFFFFFFFu << (32 - ranges[i].bits);
        if ((ip & mask) == ranges[i].net)
            return true;
    }
    return false;
}

bool url_ip_blocked(const char *host)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, host, b) == 1)
        return v4_blocked(b);
    if (inet_pton(AF_INET6, host, b) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (memcmp(b, mapped, 12) == 0)
        return v4_blocked(b + 12);
    static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t any[16] = {0};
    if (memcmp(b, loopback, 16) == 0 || memcmp(b, any, 16) == 0)
        return true;
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) /* fe80::/10 link-local */
        return true;
    if ((b[0] & 0xFE) == 0xFC) /* fc00::/7 unique local */
        return true;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) /* 2001:db8::/32 documentation */
        return true;
    return b[0] == 0xFF; /* multicast */
}

cl_err url_check_agent_form(const char *url, char *host, size_t hostcap, bool *literal, cl_error *err)
{
    size_t len = strlen(url);
    if (len == 0)
        return cl_fail(err, CL_INVALID, "empty URL");
    if (len > URL_MAX_LEN)
        return cl_fail(err, CL_INVALID, "URL longer than %d bytes", URL_MAX_LEN);
    const char *rest;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return cl_fail(err, CL_INVALID, "unsupported scheme (http or https only)");
    size_t auth_len = strcspn(rest, "/?#");
    if (memchr(rest, '@', auth_len) != NULL)
        return cl_fail(err, CL_INVALID, "credentials in URL are not allowed");
    const char *port = NULL;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', auth_len);
        if (close == NULL || (size_t)(close - rest - 1) >= hostcap)
            return cl_fail(err, CL_INVALID, "malformed IPv6 host");
        memcpy(host, rest + 1, (size_t)(close - rest - 1));
        host[close - rest - 1] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if ((size_t)(close + 1 - rest) != auth_len)
            return cl_fail(err, CL_INVALID, "malformed host");
    } else {
        const char *colon = memchr(rest, ':', auth_len);
        size_t hlen = colon ? (size_t)(colon - rest) : auth_len;
        if (hlen >= hostcap)
            return cl_fail(err, CL_INVALID, "host name too long");
        memcpy(host, rest, hlen);
        host[hlen] = '\0';
        if (colon != NULL)
            port = colon + 1;
    }
    if (host[0] == '\0')
        return cl_fail(err, CL_INVALID, "missing host");
    if (port != NULL) {
        size_t plen = (size_t)(rest + auth_len - port);
        long p = 0;
        if (plen == 0 || plen > 5)
            return cl_fail(err, CL_INVALID, "invalid port");
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return cl_fail(err, CL_INVALID, "invalid port");
            p = p * 10 + (port[i] - '0');
        }
        if (p < 1 || p > 65535)
            return cl_fail(err, CL_INVALID, "invalid port");
    }
    uint8_t buf[16];
    *literal = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
    if (*literal && url_ip_blocked(host))
        return cl_fail(err, CL_INVALID, "address %s is in a blocked range", host);
    return CL_OK;
}

cl_err url_check_outbound(const char *url, cl_error *err)
{
    char host[256];
    bool literal;
    return url_check_agent_form(url, host, sizeof(host), &literal, err);
}

cl_err url_check_agent(const char *url, cl_error *err)
{
    char host[256];
    bool literal;
    cl_err e = url_check_agent_form(url, host, sizeof(host), &literal, err);
    if (e != CL_OK || literal)
        return e;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return cl_fail(err, CL_INVALID, "host %s does not resolve", host);
    freeaddrinfo(res);
    return CL_OK;
}
