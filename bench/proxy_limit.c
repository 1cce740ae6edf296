/* proxy_limit.c - the limit of an A2A relay on this machine: h2o's own reverse proxy (the same engine and number of
 * I/O threads as colony, keep-alive connections to the agent) in front of bench/echo_agent.c. `make bench` measures
 * it next to colony's relay and the agent called directly: proxy / direct is what relaying costs before any of
 * colony's work, so it bounds what colony's relay / direct can reach on this machine.
 *
 * What it does not do (colony does, and must): authenticate the caller, check who may talk to whom, parse and
 * normalise the JSON-RPC body, look the target up, refuse private addresses, log the message and its answer with
 * their events, settle delegations, queue for a busy agent.
 *
 * usage: proxy_limit PORT THREADS UPSTREAM_PORT */
#include <stdio.h>
#include <stdlib.h>

#include "bare.h"

static char upstream_text[64];

static void register_proxy(h2o_pathconf_t *path)
{
    static h2o_url_t upstream;
    if (h2o_url_parse(upstream_text, SIZE_MAX, &upstream) != 0) {
        fprintf(stderr, "proxy_limit: bad upstream %s\n", upstream_text);
        exit(2);
    }
    h2o_proxy_config_vars_t vars = {.io_timeout = 30000, .keepalive_timeout = 60000};
    h2o_proxy_register_reverse_proxy(path, &upstream, &vars);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: proxy_limit PORT THREADS UPSTREAM_PORT\n");
        return 2;
    }
    snprintf(upstream_text, sizeof(upstream_text), "http://127.0.0.1:%d/", atoi(argv[3]));
    bare_config c = {.register_path = register_proxy};
    return bare_serve("proxy_limit", atoi(argv[1]), atoi(argv[2]), &c);
}
