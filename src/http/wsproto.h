/* wsproto.h - the server side of the WebSocket wire format (RFC 6455), as pure functions: the handshake's accept
 * key, frame headers for what colony sends (unmasked), and a bounded parser for what clients send (masked). The
 * event streams (stream.c) drive the socket themselves, so an idle subscriber costs no protocol library state. */
#ifndef COLONY_HTTP_WSPROTO_H
#define COLONY_HTTP_WSPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
    WS_HEADER_MAX = 10,       /* bytes of a server frame header */
    WS_CONTROL_MAX = 125,     /* payload of a control frame */
    WS_ACCEPT_LEN = 28,       /* base64 of a SHA-1 */
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_TOO_BIG = 1009,
};

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; false when the key is not 16 bytes of base64. */
bool ws_accept_key(const char *client_key, char out[WS_ACCEPT_LEN + 1]);

/* Write the header of a final, unmasked frame of `len` payload bytes into h; returns its size (2, 4 or 10). */
size_t ws_frame_header(unsigned char h[WS_HEADER_MAX], int opcode, size_t len);

/* A close frame with `code` and `reason` (cut to fit a control frame) into out; returns its size. */
size_t ws_close_frame(unsigned char out[2 + WS_CONTROL_MAX], uint16_t code, const char *reason);

/* One frame from a client. */
typedef struct {
    int opcode;
    bool fin;
    size_t payload_len;
    unsigned char control[WS_CONTROL_MAX]; /* the unmasked payload of a control frame */
} ws_frame;

typedef enum { WS_PARSE_MORE, WS_PARSE_FRAME, WS_PARSE_ERROR, WS_PARSE_TOO_BIG } ws_parse_result;

/* Parse the frame at the start of buf. FRAME: *used bytes make it up (the caller consumes them). MORE: not all of
 * it has arrived. ERROR: not a valid client frame (unmasked, reserved bits or opcodes, a control frame that is long
 * or fragmented). TOO_BIG: a data frame whose payload exceeds max_payload. */
ws_parse_result ws_parse(const unsigned char *buf, size_t len, size_t max_payload, ws_frame *out, size_t *used);

#endif
