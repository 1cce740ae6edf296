/* netaddr.h - the one outbound-address policy: which addresses colony may dial for an agent, and how the host of a
 * URL spells an address. Every numeric spelling a resolver or URL parser accepts (decimal 2130706433, octal 0177.1,
 * hex 0x7f000001, short forms 127.1, a trailing dot) is read as the address it means and judged as that address; a
 * name is judged by form only (no lookup here), and the addresses it resolves to are judged where they are dialled.
 *
 * Verdicts: public addresses may be dialled; loopback and private ranges (RFC 1918, CGNAT, unique-local, …) only
 * when the development setting allows them; link-local/metadata, unspecified, multicast, broadcast, reserved and
 * documentation ranges, and IPv4-mapped/compatible IPv6 never. */
#ifndef COLONY_BASE_NETADDR_H
#define COLONY_BASE_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
    NETADDR_TEXT_MAX = 46, /* INET6_ADDRSTRLEN */
    NETADDR_HOST_MAX = 253,
};

typedef struct {
    int family;    /* 4 or 6 */
    uint8_t b[16]; /* IPv4: the first 4 bytes */
} netaddr;

typedef enum {
    NETADDR_NAME,      /* a well-formed host name: only its resolved addresses can be judged */
    NETADDR_NUMERIC,   /* an address, in any spelling: *out holds it */
    NETADDR_MALFORMED, /* neither (bad characters, empty labels, a number out of range, an IPv6 zone…) */
} netaddr_host_kind;

typedef enum { NETADDR_PUBLIC, NETADDR_PRIVATE, NETADDR_NEVER } netaddr_class;

/* Read the host of a URL (IPv6 without its brackets) the way URL parsers and inet_aton do. */
netaddr_host_kind netaddr_parse_host(const char *host, size_t len, netaddr *out);

/* The class of an address; *why (may be NULL) names the range ("loopback", "link-local", …; static). */
netaddr_class netaddr_classify(const netaddr *a, const char **why);

/* The policy: may `a` be dialled, with or without the development allowance for loopback and private ranges? */
bool netaddr_verdict(const netaddr *a, bool allow_private, const char **why);

/* The same for a host name, by form alone: "localhost" and "*.localhost" are loopback (RFC 6761), anything else
 * is decided by what it resolves to. */
bool netaddr_name_verdict(const char *host, size_t len, bool allow_private, const char **why);

/* The process-wide development allowance (--allow-private-agent-urls), set once at start, read by
 * netaddr_may_dial and netaddr_name_may_dial. */
void netaddr_set_allow_private(bool on);
bool netaddr_may_dial(const netaddr *a, const char **why);
bool netaddr_name_may_dial(const char *host, size_t len, const char **why);

/* The address of a socket address (AF_INET or AF_INET6); false for anything else. */
bool netaddr_from_sockaddr(const struct sockaddr *sa, netaddr *out);
/* Canonical text: dotted quad, or RFC 5952 IPv6 (no brackets). */
void netaddr_format(const netaddr *a, char out[NETADDR_TEXT_MAX]);

#endif
