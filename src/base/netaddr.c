/* netaddr.c - see netaddr.h. The IPv4 reading follows the WHATWG URL standard's host parser, which accepts
 * everything inet_aton does (and getaddrinfo hands a numeric host to inet_aton). */
#include "base/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

static bool allow_private_setting;

void netaddr_set_allow_private(bool on)
{
    allow_private_setting = on;
}

/* ---- reading a host ----------------------------------------------------------------------------------------- */

/* One dot-separated part as a number: 0x… hex, 0… octal, else decimal; an empty "0x" is 0. Values past 2^32 stay
 * above UINT32_MAX (so the caller refuses them) without overflowing. */
static bool v4_number(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return false;
    unsigned radix = 10;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        radix = 16, s += 2, n -= 2;
    else if (n >= 2 && s[0] == '0')
        radix = 8, s++, n--;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 99;
        if (d >= radix)
            return false;
        if (v <= UINT32_MAX)
            v = v * radix + d;
    }
    *out = v;
    return true;
}

/* Split at dots; a single trailing dot is dropped (as "example.com." means "example.com"). */
static size_t split(const char *s, size_t len, const char *parts[], size_t lens[], size_t max)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (n == max)
                return max + 1;
            parts[n] = s + start, lens[n++] = i - start;
            start = i + 1;
        }
    }
    return n;
}

/* Does the last label look like a number (all digits, or a valid 0x/octal number)? Then the host must be IPv4. */
static bool ends_in_number(const char *parts[], const size_t lens[], size_t n)
{
    const char *s = parts[n - 1];
    size_t l = lens[n - 1];
    uint64_t ignored;
    size_t digits = 0;
    while (digits < l && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    return l > 0 && (digits == l || v4_number(s, l, &ignored));
}

static netaddr_host_kind parse_v4(const char *parts[], const size_t lens[], size_t n, netaddr *out)
{
    if (n > 4)
        return NETADDR_MALFORMED;
    uint64_t num[4], v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v4_number(parts[i], lens[i], &num[i]) || (i + 1 < n && num[i] > 255))
            return NETADDR_MALFORMED;
    }
    if (num[n - 1] >= (uint64_t)1 << (8 * (5 - n)))
        return NETADDR_MALFORMED;
    v = num[n - 1];
    for (size_t i = 0; i + 1 < n; i++)
        v += num[i] << (8 * (3 - i));
    memset(out, 0, sizeof(*out));
    out->family = 4;
    out->b[0] = (uint8_t)(v >> 24), out->b[1] = (uint8_t)(v >> 16), out->b[2] = (uint8_t)(v >> 8);
    out->b[3] = (uint8_t)v;
    return NETADDR_NUMERIC;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* LDH labels (and '_'), 1..63 bytes, no hyphen at either end, 253 bytes in all. */
static bool name_ok(const char *parts[], const size_t lens[], size_t n, size_t len)
{
    if (len > NETADDR_HOST_MAX + 1)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0 || lens[i] > 63 || parts[i][0] == '-' || parts[i][lens[i] - 1] == '-')
            return false;
        for (size_t k = 0; k < lens[i]; k++)
            if (!name_char(parts[i][k]))
                return false;
    }
    return true;
}

netaddr_host_kind netaddr_parse_host(const char *host, size_t len, netaddr *out)
{
    if (len == 0 || len > NETADDR_HOST_MAX + 1)
        return NETADDR_MALFORMED;
    if (memchr(host, ':', len) != NULL) { /* IPv6; a zone (%eth0) names an interface of ours: never */
        char buf[NETADDR_TEXT_MAX];
        if (len >= sizeof(buf) || memchr(host, '%', len) != NULL)
            return NETADDR_MALFORMED;
        memcpy(buf, host, len);
        buf[len] = '\0';
        memset(out, 0, sizeof(*out));
        out->family = 6;
        return inet_pton(AF_INET6, buf, out->b) == 1 ? NETADDR_NUMERIC : NETADDR_MALFORMED;
    }
    enum { MAX_LABELS = 128 };
    const char *parts[MAX_LABELS];
    size_t lens[MAX_LABELS];
    size_t n = split(host, len, parts, lens, MAX_LABELS);
    if (n == 0 || n > MAX_LABELS)
        return NETADDR_MALFORMED;
    if (ends_in_number(parts, lens, n))
        return parse_v4(parts, lens, n, out);
    return name_ok(parts, lens, n, len) ? NETADDR_NAME : NETADDR_MALFORMED;
}

/* ---- judging an address ------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t net;
    int bits;
    netaddr_class cls;
    const char *why;
} v4_range;

/* First match wins: the exact metadata address sits inside CGNAT. */
static const v4_range V4[] = {
    {0x646464C8, 32, NETADDR_NEVER, "metadata"},         /* 100.100.100.200: Alibaba Cloud metadata */
    {0xFFFFFFFF, 32, NETADDR_NEVER, "broadcast"},        /* 255.255.255.255 */
    {0x00000000, 8, NETADDR_NEVER, "unspecified"},       /* 0.0.0.0/8: "this network" */
    {0xA9FE0000, 16, NETADDR_NEVER, "link-local"},       /* 169.254/16: cloud metadata lives here */
    {0xC0000000, 24, NETADDR_NEVER, "reserved"},         /* 192.0.0/24: protocol assignments (Oracle metadata) */
    {0xC0000200, 24, NETADDR_NEVER, "documentation"},    /* TEST-NET-1 */
    {0xC6336400, 24, NETADDR_NEVER, "documentation"},    /* TEST-NET-2 */
    {0xCB007100, 24, NETADDR_NEVER, "documentation"},    /* TEST-NET-3 */
    {0xC0586300, 24, NETADDR_NEVER, "reserved"},         /* 192.88.99/24: retired 6to4 relays */
    {0xE0000000, 4, NETADDR_NEVER, "multicast"},         /* 224/4 */
    {0xF0000000, 4, NETADDR_NEVER, "reserved"},          /* 240/4 */
    {0x7F000000, 8, NETADDR_PRIVATE, "loopback"},        /* 127/8 */
    {0x0A000000, 8, NETADDR_PRIVATE, "private"},         /* RFC 1918 */
    {0xAC100000, 12, NETADDR_PRIVATE, "private"},        /* RFC 1918 */
    {0xC0A80000, 16, NETADDR_PRIVATE, "private"},        /* RFC 1918 */
    {0x64400000, 10, NETADDR_PRIVATE, "shared (CGNAT)"}, /* 100.64/10 */
    {0xC6120000, 15, NETADDR_PRIVATE, "benchmarking"},   /* 198.18/15 */
};

static netaddr_class classify_v4(const uint8_t b[4], const char **why)
{
    uint32_t ip = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    for (size_t i = 0; i < sizeof(V4) / sizeof(V4[0]); i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - V4[i].bits);
        if ((ip & mask) == V4[i].net) {
            *why = V4[i].why;
            return V4[i].cls;
        }
    }
    *why = "public";
    return NETADDR_PUBLIC;
}

static bool prefix(const uint8_t *b, const uint8_t *p, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(b, p, (size_t)whole) != 0)
        return false;
    return rest == 0 || ((b[whole] ^ p[whole]) & (0xFF << (8 - rest))) == 0;
}

static netaddr_class classify_v6(const uint8_t b[16], const char **why)
{
    static const uint8_t zero[16],
        nat64[12] = {0, 0x64, 0xff, 0x9b}, nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1}, teredo[4] = {0x20, 0x01},
        doc[4] = {0x20, 0x01, 0x0d, 0xb8}, sixto4[2] = {0x20, 0x02}, doc2[3] = {0x3f, 0xff}, discard[8] = {0x01},
        aws_metadata[16] = {0xfd, 0, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02}, mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(b, zero, 15) == 0 && b[15] <= 1) {
        *why = b[15] ? "loopback" : "unspecified";
        return b[15] ? NETADDR_PRIVATE : NETADDR_NEVER;
    }
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0) {
        *why = memcmp(b, mapped, 12) == 0 ? "IPv4-mapped IPv6" : "IPv4-compatible IPv6";
        return NETADDR_NEVER;
    }
    if (memcmp(b, nat64, 12) == 0) /* 64:ff9b::/96: a NAT64 gateway dials the embedded IPv4 address */
        return classify_v4(b + 12, why);
    if (prefix(b, sixto4, 16)) /* 2002::/16: 6to4 reaches the embedded IPv4 address */
        return classify_v4(b + 2, why);
    static const struct {
        const uint8_t *p;
        int bits;
        netaddr_class cls;
        const char *why;
    } ranges[] = {
        {aws_metadata, 128, NETADDR_NEVER, "metadata"}, /* fd00:ec2::254: AWS metadata over IPv6 */
        {nat64_local, 48, NETADDR_NEVER, "reserved"},   /* 64:ff9b:1::/48: local-use NAT64 */
        {discard, 64, NETADDR_NEVER, "reserved"},       /* 100::/64: discard-only */
        {doc, 32, NETADDR_NEVER, "documentation"},      /* 2001:db8::/32 */
        {teredo, 32, NETADDR_NEVER, "reserved"},        /* 2001::/32: Teredo */
        {doc2, 20, NETADDR_NEVER, "documentation"},     /* 3fff::/20 */
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (prefix(b, ranges[i].p, ranges[i].bits)) {
            *why = ranges[i].why;
            return ranges[i].cls;
        }
    }
    if ((b[0] & 0xFE) == 0xFC) {
        *why = "unique local";
        return NETADDR_PRIVATE;
    }
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) {
        *why = "link-local";
        return NETADDR_NEVER;
    }
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) {
        *why = "site-local";
        return NETADDR_PRIVATE;
    }
    if (b[0] == 0xFF) {
        *why = "multicast";
        return NETADDR_NEVER;
    }
    if ((b[0] & 0xE0) != 0x20) { /* outside 2000::/3, the only global unicast space */
        *why = "reserved";
        return NETADDR_NEVER;
    }
    *why = "public";
    return NETADDR_PUBLIC;
}

netaddr_class netaddr_classify(const netaddr *a, const char **why)
{
    const char *ignored;
    if (why == NULL)
        why = &ignored;
    return a->family == 4 ? classify_v4(a->b, why) : classify_v6(a->b, why);
}

bool netaddr_verdict(const netaddr *a, bool allow_private, const char **why)
{
    netaddr_class c = netaddr_classify(a, why);
    return c == NETADDR_PUBLIC || (c == NETADDR_PRIVATE && allow_private);
}

bool netaddr_name_verdict(const char *host, size_t len, bool allow_private, const char **why)
{
    if (len > 0 && host[len - 1] == '.')
        len--;
    static const char LOCAL[] = "localhost";
    size_t ll = sizeof(LOCAL) - 1;
    bool local = (len == ll && strncasecmp(host, LOCAL, ll) == 0) ||
                 (len > ll && host[len - ll - 1] == '.' && strncasecmp(host + len - ll, LOCAL, ll) == 0);
    if (why != NULL)
        *why = local ? "loopback" : "public";
    return !local || allow_private;
}

bool netaddr_may_dial(const netaddr *a, const char **why)
{
    return netaddr_verdict(a, allow_private_setting, why);
}

bool netaddr_name_may_dial(const char *host, size_t len, const char **why)
{
    return netaddr_name_verdict(host, len, allow_private_setting, why);
}

bool netaddr_from_sockaddr(const struct sockaddr *sa, netaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        out->family = 4;
        memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        out->family = 6;
        memcpy(out->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

void netaddr_format(const netaddr *a, char out[NETADDR_TEXT_MAX])
{
    if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, out, NETADDR_TEXT_MAX) == NULL)
        out[0] = '\0';
}
