/* bare.c - see bare.h. */
#include "bare.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

enum { BARE_MAX_THREADS = 64 };

typedef struct {
    h2o_context_t ctx; /* first: bare_index casts back */
    h2o_accept_ctx_t accept;
    const bare_config *cfg;
    int index, fd;
} bare_thread;

static h2o_globalconf_t config;

int bare_index(h2o_context_t *ctx)
{
    return ((bare_thread *)ctx)->index;
}

void bare_reply(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body)
{
    static h2o_generator_t gen = {NULL, NULL};
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "Service Unavailable";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    req->res.content_length = body.len;
    h2o_start_response(req, &gen);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    h2o_socket_t *sock;
    while ((sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(listener->data, sock);
}

static void *run(void *arg)
{
    bare_thread *t = arg;
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &config);
    if (t->cfg->thread_init != NULL)
        t->cfg->thread_init(t->index, &t->ctx);
    t->accept.ctx = &t->ctx;
    t->accept.hosts = config.hosts;
    h2o_socket_t *sock = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = &t->accept;
    h2o_socket_read_start(sock, on_accept);
    while (h2o_evloop_run(loop, INT32_MAX) == 0) {
    }
    return NULL;
}

int bare_serve(const char *name, int port, int threads, const bare_config *c)
{
    threads = threads < 1 ? 1 : threads > BARE_MAX_THREADS ? BARE_MAX_THREADS : threads;
    h2o_config_init(&config);
    config.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    if (c->register_path != NULL)
        c->register_path(path);
    else
        h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = c->on_req;
    bare_thread *ts = calloc((size_t)threads, sizeof(*ts));
    for (int i = 0; i < threads; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
        struct sockaddr_in addr = {
            .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7f000001)};
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
            perror(name);
            return 1;
        }
        ts[i] = (bare_thread){.cfg = c, .index = i, .fd = fd};
    }
    pthread_t tid;
    for (int i = 0; i < threads; i++)
        pthread_create(&tid, NULL, run, &ts[i]);
    printf("%s listening on http://127.0.0.1:%d\n", name, port);
    fflush(stdout);
    pthread_join(tid, NULL);
    return 0;
}
