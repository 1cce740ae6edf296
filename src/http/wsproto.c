/* wsproto.c - see wsproto.h. */
#include "http/wsproto.h"

#include <openssl/sha.h>
#include <string.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = B64[v >> 18 & 63];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    out[o] = '\0';
}

bool ws_accept_key(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    /* 16 random bytes in base64: 22 characters of the alphabet and "==" */
    if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return false;
    for (int i = 0; i < 22; i++)
        if (strchr(B64, key[i]) == NULL || key[i] == '\0')
            return false;
    unsigned char buf[24 + sizeof(WS_GUID) - 1], digest[SHA_DIGEST_LENGTH];
    memcpy(buf, key, 24);
    memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1(buf, sizeof(buf), digest);
    base64(digest, sizeof(digest), out);
    return true;
}

size_t ws_frame_header(unsigned char h[WS_HEADER_MAX], int opcode, size_t len)
{
    h[0] = (unsigned char)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

size_t ws_close_frame(unsigned char out[2 + WS_CONTROL_MAX], uint16_t code, const char *reason)
{
    size_t rlen = strlen(reason);
    if (rlen > WS_CONTROL_MAX - 2)
        rlen = WS_CONTROL_MAX - 2;
    while (rlen > 0 && ((unsigned char)reason[rlen] & 0xC0) == 0x80) /* never cut inside a UTF-8 sequence */
        rlen--;
    out[0] = 0x88;
    out[1] = (unsigned char)(2 + rlen);
    out[2] = (unsigned char)(code >> 8);
    out[3] = (unsigned char)code;
    memcpy(out + 4, reason, rlen);
    return 4 + rlen;
}

ws_parse_result ws_parse(const unsigned char *buf, size_t len, size_t max_payload, ws_frame *out, size_t *used)
{
    if (len < 2)
        return WS_PARSE_MORE;
    bool fin = buf[0] & 0x80, masked = buf[1] & 0x80;
    int opcode = buf[0] & 0x0F;
    if ((buf[0] & 0x70) != 0 || !masked) /* no extension was agreed; clients must mask */
        return WS_PARSE_ERROR;
    bool control = opcode >= 0x8;
    if (control ? opcode > WS_OP_PONG : opcode > WS_OP_BINARY)
        return WS_PARSE_ERROR;
    uint64_t plen = buf[1] & 0x7F;
    size_t head = 2;
    if (plen == 126) {
        if (len < 4)
            return WS_PARSE_MORE;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        head = 4;
    } else if (plen == 127) {
        if (len < 10)
            return WS_PARSE_MORE;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        head = 10;
    }
    if (control && (plen > WS_CONTROL_MAX || !fin))
        return WS_PARSE_ERROR;
    if (plen > max_payload)
        return WS_PARSE_TOO_BIG;
    if (len < head + 4 + plen)
        return WS_PARSE_MORE;
    const unsigned char *mask = buf + head;
    out->opcode = opcode;
    out->fin = fin;
    out->payload_len = (size_t)plen;
    if (control)
        for (size_t i = 0; i < plen; i++)
            out->control[i] = buf[head + 4 + i] ^ mask[i & 3];
    *used = head + 4 + (size_t)plen;
    return WS_PARSE_FRAME;
}
