/* test_stream.c - the pure halves of the event streams: the WebSocket wire format (http/wsproto.c) and the ring of
 * rendered events with its collect rule (http/feed.c) that the stream pump is built on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/feed.h"
#include "http/wsproto.h"

/* ---- wsproto ------------------------------------------------------------------------------------------------ */

static void test_accept_key_is_rfc_6455s(void **state)
{
    (void)state;
    char out[WS_ACCEPT_LEN + 1];
    assert_true(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out)); /* RFC 6455 §1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out));   /* not 24 characters */
    assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=!", out)); /* not 16 bytes of base64 */
    assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25j!Q==", out));
}

static void test_frame_headers_use_the_shortest_length(void **state)
{
    (void)state;
    unsigned char h[WS_HEADER_MAX];
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 125), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 125);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(ws_frame_header(h, WS_OP_PONG, 65535), 4);
    assert_int_equal(h[0], 0x8A);
    assert_int_equal(ws_frame_header(h, WS_OP_TEXT, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1); /* 0x0000000000010000 */
    assert_int_equal(h[8] | h[9], 0);
}

static void test_close_frames_never_split_a_code_point(void **state)
{
    (void)state;
    unsigned char f[2 + WS_CONTROL_MAX];
    size_t n = ws_close_frame(f, 4008, "resume with since=42");
    assert_int_equal(n, 4 + 20);
    assert_int_equal(f[0], 0x88);
    assert_int_equal(f[1], 22);
    assert_int_equal(f[2] << 8 | f[3], 4008);
    assert_memory_equal(f + 4, "resume with since=42", 20);
    char reason[200];
    memset(reason, 'a', 122);
    strcpy(reason + 122, "\xC3\xA9\xC3\xA9"); /* é é: the cut at 123 bytes falls inside the first */
    n = ws_close_frame(f, 1000, reason);
    assert_int_equal(n, 4 + 122);
}

/* A masked client frame of `len` bytes of `payload` into out; returns its size. */
static size_t client_frame(unsigned char *out, int opcode, bool fin, const char *payload, size_t len)
{
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t h = 2;
    out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[1] = (unsigned char)(0x80 | len);
    } else {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        h = 4;
    }
    memcpy(out + h, mask, 4);
    for (size_t i = 0; i < len; i++)
        out[h + 4 + i] = (unsigned char)payload[i] ^ mask[i & 3];
    return h + 4 + len;
}

static void test_the_parser_takes_masked_frames_whole(void **state)
{
    (void)state;
    unsigned char buf[70000];
    ws_frame f;
    size_t used = 0, n = client_frame(buf, WS_OP_PING, true, "hello", 5);
    for (size_t k = 0; k < n; k++) /* every prefix is "more" */
        assert_int_equal(ws_parse(buf, k, 1024, &f, &used), WS_PARSE_MORE);
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_FRAME);
    assert_int_equal(used, n);
    assert_int_equal(f.opcode, WS_OP_PING);
    assert_memory_equal(f.control, "hello", 5);
    char big[300];
    memset(big, 'x', sizeof(big));
    n = client_frame(buf, WS_OP_TEXT, true, big, sizeof(big));
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_FRAME);
    assert_int_equal(used, n);
    assert_int_equal(ws_parse(buf, n, 299, &f, &used), WS_PARSE_TOO_BIG); /* a data frame over the bound */
}

static void test_the_parser_refuses_what_a_client_may_not_send(void **state)
{
    (void)state;
    unsigned char buf[300];
    ws_frame f;
    size_t used;
    size_t n = client_frame(buf, WS_OP_TEXT, true, "hi", 2);
    buf[1] &= 0x7F; /* unmasked */
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_ERROR);
    n = client_frame(buf, WS_OP_TEXT, true, "hi", 2);
    buf[0] |= 0x40; /* a reserved bit */
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_ERROR);
    n = client_frame(buf, 0x3, true, "hi", 2); /* a reserved data opcode */
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_ERROR);
    n = client_frame(buf, WS_OP_PING, false, "hi", 2); /* a fragmented control frame */
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_ERROR);
    char big[126];
    memset(big, 'x', sizeof(big));
    n = client_frame(buf, WS_OP_CLOSE, true, big, sizeof(big)); /* a control frame over 125 bytes */
    assert_int_equal(ws_parse(buf, n, 1024, &f, &used), WS_PARSE_ERROR);
}

/* ---- the ring ----------------------------------------------------------------------------------------------- */

static feed_event *ev(int64_t id, const char *ws)
{
    char payload[64];
    snprintf(payload, sizeof(payload), "{\"n\":%lld}", (long long)id);
    stream_event e = {id, 1700000000000, "TASK_UPDATED", ws, payload};
    return feed_event_new(&e);
}

static void release(feed_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        feed_event_unref(evs[i]);
}

static void test_events_render_once_for_both_kinds(void **state)
{
    (void)state;
    feed_event *e = ev(7, "w1");
    const char *json = "{\"id\":7,\"event\":\"TASK_UPDATED\",\"workspace_id\":\"w1\","
                       "\"timestamp\":\"2023-11-14T22:13:20.000Z\",\"payload\":{\"n\":7}}";
    assert_int_equal(e->ws_len, 2 + strlen(json));
    assert_int_equal((unsigned char)e->ws[0], 0x81);
    assert_int_equal((unsigned char)e->ws[1], strlen(json));
    assert_memory_equal(e->ws + 2, json, strlen(json));
    const char *sse = "id: 7\ndata: {\"type\":\"TASK_UPDATED\",\"timestamp\":1700000000000,\"data\":{\"n\":7}}\n\n";
    assert_int_equal(e->sse_len, strlen(sse));
    assert_memory_equal(e->sse, sse, strlen(sse));
    feed_event_unref(e);
}

static void test_collect_follows_the_cursor_and_the_filter(void **state)
{
    (void)state;
    feed_t *f = feed_new(100);
    for (int64_t id = 101; id <= 110; id++)
        feed_append(f, ev(id, id % 2 ? "odd" : "even"));
    assert_int_equal(feed_head(f), 110);
    feed_event *out[16];
    size_t n;
    int64_t next, base;
    feed_filter all = {true, NULL, 0};
    assert_true(feed_collect(f, 104, &all, false, 16, 1 << 20, out, &n, &next, &base));
    assert_int_equal(n, 6);
    assert_int_equal(out[0]->id, 105);
    assert_int_equal(next, 110);
    release(out, n);
    char *odd[] = {"odd"};
    feed_filter only = {false, odd, 1};
    assert_true(feed_collect(f, 100, &only, true, 3, 1 << 20, out, &n, &next, &base));
    assert_int_equal(n, 3); /* 101, 103, 105 */
    assert_int_equal(out[2]->id, 105);
    assert_int_equal(next, 105); /* the cursor stops at the last event taken */
    release(out, n);
    assert_true(feed_collect(f, 105, &only, true, 16, 1 << 20, out, &n, &next, &base));
    assert_int_equal(n, 2);
    assert_int_equal(next, 110); /* 110 is passed by the filter: behind the subscriber too */
    release(out, n);
    /* the byte cap: at least one event, then no more than the cap */
    assert_true(feed_collect(f, 100, &all, false, 16, 1, out, &n, &next, &base));
    assert_int_equal(n, 1);
    assert_int_equal(next, 101);
    release(out, n);
    /* a cursor older than the ring must page from the database, up to the ring's base */
    assert_false(feed_collect(f, 99, &all, false, 16, 1 << 20, out, &n, &next, &base));
    assert_int_equal(base, 100);
    feed_free(f);
}

static void test_the_ring_evicts_and_its_base_moves(void **state)
{
    (void)state;
    feed_t *f = feed_new(0);
    feed_event *pinned = NULL;
    for (int64_t id = 1; id <= FEED_RING_EVENTS + 10; id++) {
        feed_event *e = ev(id, NULL);
        if (id == 1) {
            feed_event_ref(e); /* a write in flight holds it past its eviction */
            pinned = e;
        }
        feed_append(f, e);
    }
    assert_int_equal(feed_base(f), 10);
    feed_event *out[2];
    size_t n;
    int64_t next, base;
    feed_filter all = {true, NULL, 0};
    assert_false(feed_collect(f, 5, &all, false, 2, 1 << 20, out, &n, &next, &base));
    assert_true(feed_collect(f, 10, &all, false, 2, 1 << 20, out, &n, &next, &base));
    assert_int_equal(out[0]->id, 11);
    release(out, n);
    assert_int_equal(pinned->id, 1); /* still readable */
    feed_event_unref(pinned);
    feed_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_is_rfc_6455s),
        cmocka_unit_test(test_frame_headers_use_the_shortest_length),
        cmocka_unit_test(test_close_frames_never_split_a_code_point),
        cmocka_unit_test(test_the_parser_takes_masked_frames_whole),
        cmocka_unit_test(test_the_parser_refuses_what_a_client_may_not_send),
        cmocka_unit_test(test_events_render_once_for_both_kinds),
        cmocka_unit_test(test_collect_follows_the_cursor_and_the_filter),
        cmocka_unit_test(test_the_ring_evicts_and_its_base_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
