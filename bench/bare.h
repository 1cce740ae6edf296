/* bare.h - the h2o boilerplate the bench's reference servers share (not part of colony): THREADS event loops on
 * 127.0.0.1:PORT, each with its own SO_REUSEPORT listener, every request going to one handler. */
#ifndef COLONY_BENCH_BARE_H
#define COLONY_BENCH_BARE_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

typedef struct {
    /* runs on each loop's thread before it serves (may be NULL) */
    void (*thread_init)(int index, h2o_context_t *ctx);
    int (*on_req)(h2o_handler_t *self, h2o_req_t *req);
    /* instead of on_req: registers h2o's own handler on the one path (e.g. its reverse proxy) */
    void (*register_path)(h2o_pathconf_t *path);
} bare_config;

/* The index of the loop that owns ctx (0 .. THREADS-1). */
int bare_index(h2o_context_t *ctx);

/* Bind, start the loops, print "<name> listening on http://127.0.0.1:PORT" once every socket is bound, and serve
 * until killed. Returns 1 (after perror) when it cannot listen. */
int bare_serve(const char *name, int port, int threads, const bare_config *c);

/* Answer req with status and a static body. */
void bare_reply(h2o_req_t *req, int status, const char *content_type, h2o_iovec_t body);

#endif
