/* fuzz_channel_wire.c - libFuzzer target for what colony reads from chat providers (model/channel_wire): a webhook
 * body of the provider the first byte picks either fails with "webhook parse failed" or yields an update whose
 * strings are bounded (an update id of at most CHAN_KEY_MAX bytes, a chat of at most CHAN_TARGET_MAX, valid UTF-8
 * text of at most CHAN_TEXT_MAX); its text's [slug] and chunks stay inside it; and the same bytes read as the
 * provider's answer to a send give a verdict with a bounded wait. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"
#include "model/channel_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    chan_type t = (chan_type)(data[0] % CHAN__COUNT);
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    arena_t *a = arena_new();
    chan_inbound in;
    cl_error err;
    if (chan_parse(a, t, body, len, &in, &err) != CL_OK) {
        if (strcmp(err.msg, "webhook parse failed") != 0)
            __builtin_trap();
    } else if (in.kind == CHAN_IN_MESSAGE) {
        if (in.key == NULL || strlen(in.key) == 0 || strlen(in.key) > CHAN_KEY_MAX || in.chat == NULL ||
            strlen(in.chat) > CHAN_TARGET_MAX || in.text == NULL || strlen(in.text) > CHAN_TEXT_MAX ||
            !utf8_valid(in.text, strlen(in.text)))
            __builtin_trap();
        const char *slug, *rest;
        size_t n = strlen(in.text);
        if (chan_slug(a, in.text, &slug, &rest) && (rest < in.text || rest > in.text + n || strlen(slug) > 38))
            __builtin_trap();
        for (size_t from = 0; from < n;) {
            size_t end = chan_chunk_end(t, in.text, n, from);
            if (end <= from || end > n || !utf8_valid(in.text + from, end - from))
                __builtin_trap();
            from = end;
        }
    }
    int64_t wait;
    const char *why;
    static const int statuses[] = {200, 204, 400, 429, 500, 503};
    chan_verdict v = chan_response(a, t, statuses[data[0] % 6], body, len, -1, &wait, &why);
    if (wait < -1 || wait > 7 * 86400 * 1000LL || (v != CHAN_SENT && why == NULL))
        __builtin_trap();
    arena_free(a);
    return 0;
}
