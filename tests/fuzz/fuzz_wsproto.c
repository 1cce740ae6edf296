/* fuzz_wsproto.c - libFuzzer target for what WebSocket clients send: the frame parser must never read past the
 * bytes it is given, must consume a frame only when all of it has arrived, and must make progress (a frame is
 * at least its 6-byte masked header). */
#include <stddef.h>
#include <stdint.h>

#include "http/wsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        ws_frame f;
        size_t used = 0;
        ws_parse_result r = ws_parse(data + off, size - off, 4096, &f, &used);
        if (r != WS_PARSE_FRAME)
            break;
        if (used < 6 || used > size - off || f.payload_len > 4096)
            __builtin_trap();
        if (f.opcode >= WS_OP_CLOSE && f.payload_len > WS_CONTROL_MAX)
            __builtin_trap();
        off += used;
    }
    return 0;
}
