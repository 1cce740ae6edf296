/* echo_agent.c - the A2A agent of `make bench`'s relay row (not part of colony): a bare h2o server on 127.0.0.1
 * that answers every request with one fixed JSON-RPC `message/send` result, without reading the body. The bench
 * calls it directly and through colony's POST /workspaces/:id/a2a with the same load generator; the ratio is what
 * colony's relay costs on top of the agent.
 *
 * usage: echo_agent PORT THREADS */
#include <stdlib.h>

#include "bare.h"

static const char REPLY[] = "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{\"kind\":\"message\",\"role\":\"agent\","
                            "\"messageId\":\"echo-reply\",\"parts\":[{\"kind\":\"text\",\"text\":\"echo\"}]}}";

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    bare_reply(req, 200, "application/json", h2o_iovec_init(REPLY, sizeof(REPLY) - 1));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: echo_agent PORT THREADS\n");
        return 2;
    }
    bare_config c = {.on_req = on_req};
    return bare_serve("echo_agent", atoi(argv[1]), atoi(argv[2]), &c);
}
