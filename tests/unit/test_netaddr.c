/* test_netaddr.c - the outbound-address policy as a table: how a host is spelled -> what it means -> the verdict,
 * with and without the development allowance for loopback and private ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "base/netaddr.h"

enum { NEVER, DEV_ONLY, ALWAYS };

static const struct {
    const char *host;  /* as it appears in a URL (IPv6 without brackets) */
    const char *means; /* canonical address; NULL for a name */
    int verdict;
    const char *why;
} ROWS[] = {
    /* loopback in every spelling inet_aton and URL parsers accept */
    {"127.0.0.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"2130706433", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0x7f000001", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0X7F000001", "127.0.0.1", DEV_ONLY, "loopback"},
    {"017700000001", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0177.0.0.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0x7f.0.0.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0x7f.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"127.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"127.0.1", "127.0.0.1", DEV_ONLY, "loopback"},
    {"127.0.0.1.", "127.0.0.1", DEV_ONLY, "loopback"},
    {"0000177.0x00.0.000001", "127.0.0.1", DEV_ONLY, "loopback"},
    {"127.255.255.254", "127.255.255.254", DEV_ONLY, "loopback"},
    {"::1", "::1", DEV_ONLY, "loopback"},
    {"0:0:0:0:0:0:0:1", "::1", DEV_ONLY, "loopback"},
    /* the unspecified address reaches the local host too */
    {"0", "0.0.0.0", NEVER, "unspecified"},
    {"0.0.0.0", "0.0.0.0", NEVER, "unspecified"},
    {"0x", "0.0.0.0", NEVER, "unspecified"},
    {"0.1.2.3", "0.1.2.3", NEVER, "unspecified"},
    {"::", "::", NEVER, "unspecified"},
    /* private ranges */
    {"10.0.0.1", "10.0.0.1", DEV_ONLY, "private"},
    {"0xa.1", "10.0.0.1", DEV_ONLY, "private"},
    {"167772161", "10.0.0.1", DEV_ONLY, "private"},
    {"172.16.0.1", "172.16.0.1", DEV_ONLY, "private"},
    {"172.31.255.255", "172.31.255.255", DEV_ONLY, "private"},
    {"172.32.0.1", "172.32.0.1", ALWAYS, "public"},
    {"192.168.0.1", "192.168.0.1", DEV_ONLY, "private"},
    {"100.64.0.1", "100.64.0.1", DEV_ONLY, "shared (CGNAT)"},
    {"100.127.255.255", "100.127.255.255", DEV_ONLY, "shared (CGNAT)"},
    {"100.128.0.1", "100.128.0.1", ALWAYS, "public"},
    {"198.18.0.1", "198.18.0.1", DEV_ONLY, "benchmarking"},
    {"fd00::1", "fd00::1", DEV_ONLY, "unique local"},
    {"fc00::1", "fc00::1", DEV_ONLY, "unique local"},
    {"fec0::1", "fec0::1", DEV_ONLY, "site-local"},
    /* link-local and cloud metadata, however spelled: never, not even in development */
    {"169.254.169.254", "169.254.169.254", NEVER, "link-local"},
    {"2852039166", "169.254.169.254", NEVER, "link-local"},
    {"0xa9.0xfe.0xa9.0xfe", "169.254.169.254", NEVER, "link-local"},
    {"0251.0376.0251.0376", "169.254.169.254", NEVER, "link-local"},
    {"169.254.43518", "169.254.169.254", NEVER, "link-local"},
    {"100.100.100.200", "100.100.100.200", NEVER, "metadata"},
    {"192.0.0.192", "192.0.0.192", NEVER, "reserved"},
    {"fe80::1", "fe80::1", NEVER, "link-local"},
    {"febf::1", "febf::1", NEVER, "link-local"},
    {"fd00:ec2::254", "fd00:ec2::254", NEVER, "metadata"},
    /* IPv4 inside IPv6 */
    {"::ffff:127.0.0.1", "::ffff:127.0.0.1", NEVER, "IPv4-mapped IPv6"},
    {"::ffff:7f00:1", "::ffff:127.0.0.1", NEVER, "IPv4-mapped IPv6"},
    {"::ffff:8.8.8.8", "::ffff:8.8.8.8", NEVER, "IPv4-mapped IPv6"},
    {"::127.0.0.1", "::127.0.0.1", NEVER, "IPv4-compatible IPv6"},
    {"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", NEVER, "link-local"},
    {"64:ff9b::7f00:1", "64:ff9b::7f00:1", DEV_ONLY, "loopback"},
    {"64:ff9b::808:808", "64:ff9b::808:808", ALWAYS, "public"},
    {"64:ff9b:1::1", "64:ff9b:1::1", NEVER, "reserved"},
    {"2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1", NEVER, "link-local"},
    {"2002:808:808::1", "2002:808:808::1", ALWAYS, "public"},
    {"2001::1", "2001::1", NEVER, "reserved"},
    /* multicast, broadcast, reserved, documentation */
    {"224.0.0.1", "224.0.0.1", NEVER, "multicast"},
    {"239.255.255.250", "239.255.255.250", NEVER, "multicast"},
    {"ff02::1", "ff02::1", NEVER, "multicast"},
    {"255.255.255.255", "255.255.255.255", NEVER, "broadcast"},
    {"4294967295", "255.255.255.255", NEVER, "broadcast"},
    {"240.0.0.1", "240.0.0.1", NEVER, "reserved"},
    {"192.0.2.1", "192.0.2.1", NEVER, "documentation"},
    {"198.51.100.7", "198.51.100.7", NEVER, "documentation"},
    {"203.0.113.9", "203.0.113.9", NEVER, "documentation"},
    {"2001:db8::1", "2001:db8::1", NEVER, "documentation"},
    {"3fff::1", "3fff::1", NEVER, "documentation"},
    {"100::1", "100::1", NEVER, "reserved"},
    {"4000::1", "4000::1", NEVER, "reserved"},
    /* public */
    {"8.8.8.8", "8.8.8.8", ALWAYS, "public"},
    {"134744072", "8.8.8.8", ALWAYS, "public"},
    {"1.1", "1.0.0.1", ALWAYS, "public"},
    {"2001:4860:4860::8888", "2001:4860:4860::8888", ALWAYS, "public"},
    /* names are judged by form here (no lookup): localhost is loopback by definition (RFC 6761) */
    {"localhost", NULL, DEV_ONLY, "loopback"},
    {"LOCALHOST.", NULL, DEV_ONLY, "loopback"},
    {"agent.localhost", NULL, DEV_ONLY, "loopback"},
    {"example.com", NULL, ALWAYS, "public"},
    {"example.com.", NULL, ALWAYS, "public"},
    {"xlocalhost", NULL, ALWAYS, "public"},
    {"localhost.example.com", NULL, ALWAYS, "public"},
    {"deadbeef", NULL, ALWAYS, "public"},
    {"0x7f.example", NULL, ALWAYS, "public"},
    {"1.2.3.com", NULL, ALWAYS, "public"},
    {"my_host-1.internal", NULL, ALWAYS, "public"},
    {"0x1g", NULL, ALWAYS, "public"}, /* not a number, so a name (as in the URL standard) */
};

/* Spellings that are neither a name nor an address: refused before any lookup. */
static const char *const MALFORMED[] = {
    "",           "1.2.3.4.5",    "256.0.0.1",  "1.2.3.256",    "1.2.3.0400",  "1.2.65536", "4294967296",
    "08",         "0x100.1",      "1..2",       "a..b",         ".",           "..",        "1.2.3.4..",
    "-x.com",     "x-.com",       "ex%61mple",  "exa mple.com", "caf\xC3\xA9", "a/b",       "a@b",
    "fe80::1%25", "fe80::1%eth0", "::ffff:1.2", "1:2:3",        "[::1]",       "a\\b",      "x\x01y",
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++) {
        const char *h = ROWS[i].host, *why = NULL;
        netaddr a;
        netaddr_host_kind k = netaddr_parse_host(h, strlen(h), &a);
        bool dev, prod;
        if (ROWS[i].means == NULL) {
            if (k != NETADDR_NAME)
                fail_msg("%s: expected a name, got kind %d", h, k);
            dev = netaddr_name_verdict(h, strlen(h), true, &why);
            prod = netaddr_name_verdict(h, strlen(h), false, NULL);
        } else {
            if (k != NETADDR_NUMERIC)
                fail_msg("%s: expected an address, got kind %d", h, k);
            char text[NETADDR_TEXT_MAX];
            netaddr_format(&a, text);
            if (strcmp(text, ROWS[i].means) != 0)
                fail_msg("%s: means %s, expected %s", h, text, ROWS[i].means);
            dev = netaddr_verdict(&a, true, &why);
            prod = netaddr_verdict(&a, false, NULL);
        }
        int got = prod ? ALWAYS : dev ? DEV_ONLY : NEVER;
        if (got != ROWS[i].verdict || strcmp(why, ROWS[i].why) != 0)
            fail_msg("%s: verdict %d (%s), expected %d (%s)", h, got, why, ROWS[i].verdict, ROWS[i].why);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(MALFORMED) / sizeof(MALFORMED[0]); i++) {
        netaddr a;
        if (netaddr_parse_host(MALFORMED[i], strlen(MALFORMED[i]), &a) != NETADDR_MALFORMED)
            fail_msg("\"%s\" should be malformed", MALFORMED[i]);
    }
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    netaddr a;
    assert_int_equal(netaddr_parse_host(long_name, strlen(long_name), &a), NETADDR_MALFORMED);
    /* the host is (ptr, len): bytes past len are not read */
    assert_int_equal(netaddr_parse_host("127.0.0.1", 3, &a), NETADDR_NUMERIC);
    char text[NETADDR_TEXT_MAX];
    netaddr_format(&a, text);
    assert_string_equal(text, "0.0.0.127");
}

static void test_socket_addresses_and_the_process_setting(void **state)
{
    (void)state;
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xFF;
    v6.sin6_addr.s6_addr[12] = 169, v6.sin6_addr.s6_addr[13] = 254, v6.sin6_addr.s6_addr[14] = 169;
    v6.sin6_addr.s6_addr[15] = 254;
    netaddr a, b;
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&v4, &a));
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&v6, &b));
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_false(netaddr_from_sockaddr(&unix_sa, &b));
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&v6, &b));
    netaddr_set_allow_private(false);
    assert_false(netaddr_may_dial(&a, NULL));
    assert_false(netaddr_name_may_dial("localhost", 9, NULL));
    assert_false(netaddr_may_dial(&b, NULL));
    netaddr_set_allow_private(true);
    assert_true(netaddr_may_dial(&a, NULL));
    assert_true(netaddr_name_may_dial("localhost", 9, NULL));
    assert_false(netaddr_may_dial(&b, NULL)); /* mapped metadata: never */
    netaddr_set_allow_private(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_socket_addresses_and_the_process_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
