/* limit_server.c - the physical limit of a heartbeat on this machine: a bare h2o server (same engine, same thread
 * count as colony) whose every POST does the single-row upsert a heartbeat needs, keyed by the workspace_id found
 * in the body, with no auth, no JSON parsing, no events. `make bench` runs colony against it in the same run.
 *
 * usage: limit_server PORT THREADS DB    (DB: a SQLite path or a postgres:// URL) */
#define _GNU_SOURCE /* memmem */
#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char UPSERT_SQLITE[] = "INSERT INTO hb (id, at, active) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE"
                                    " SET at = excluded.at, active = excluded.active";
static const char UPSERT_PG[] = "INSERT INTO hb (id, at, active) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE"
                                " SET at = excluded.at, active = excluded.active";

static h2o_globalconf_t config;
static const char *db_url;
static int port;

typedef struct {
    h2o_handler_t super;
} handler_t;

typedef struct {
    h2o_context_t ctx;
    h2o_accept_ctx_t accept;
    sqlite3 *lite;
    sqlite3_stmt *upsert;
    PGconn *pg;
    int fd; /* bound before the thread starts, so "listening" is true when printed */
} thread_ctx;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    thread_ctx *t = (thread_ctx *)req->conn->ctx;
    char id[37] = "00000000-0000-0000-0000-000000000000";
    const char *p = req->entity.base ? memmem(req->entity.base, req->entity.len, "\"workspace_id\"", 14) : NULL;
    if (p != NULL) {
        const char *q = memchr(p + 14, '"', req->entity.len - (size_t)(p + 14 - req->entity.base));
        if (q != NULL && q + 37 <= req->entity.base + req->entity.len)
            memcpy(id, q + 1, 36);
    }
    int ok;
    if (t->pg != NULL) {
        char at[24];
        snprintf(at, sizeof(at), "%lld", now_ms());
        const char *vals[3] = {id, at, "1"};
        PGresult *r = PQexecPrepared(t->pg, "upsert", 3, vals, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    } else {
        sqlite3_bind_text(t->upsert, 1, id, 36, SQLITE_STATIC);
        sqlite3_bind_int64(t->upsert, 2, now_ms());
        sqlite3_bind_int(t->upsert, 3, 1);
        ok = sqlite3_step(t->upsert) == SQLITE_DONE;
        sqlite3_reset(t->upsert);
    }
    static h2o_generator_t gen = {NULL, NULL};
    req->res.status = ok ? 200 : 503;
    req->res.reason = ok ? "OK" : "Service Unavailable";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_start_response(req, &gen);
    h2o_iovec_t body = h2o_iovec_init(H2O_STRLIT("{\"status\":\"ok\"}"));
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
    return 0;
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
    thread_ctx *t = arg;
    if (strncmp(db_url, "postgres", 8) == 0) {
        t->pg = PQconnectdb(db_url);
        PQclear(PQprepare(t->pg, "upsert", UPSERT_PG, 3, NULL));
    } else {
        sqlite3_open(db_url, &t->lite);
        sqlite3_busy_timeout(t->lite, 5000);
        sqlite3_exec(t->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
        sqlite3_prepare_v2(t->lite, UPSERT_SQLITE, -1, &t->upsert, NULL);
    }
    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, loop, &config);
    t->accept.ctx = &t->ctx;
    t->accept.hosts = config.hosts;
    h2o_socket_t *sock = h2o_evloop_socket_create(loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = &t->accept;
    h2o_socket_read_start(sock, on_accept);
    while (h2o_evloop_run(loop, INT32_MAX) == 0) {
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: limit_server PORT THREADS DB\n");
        return 2;
    }
    port = (int)strtol(argv[1], NULL, 10);
    int threads = (int)strtol(argv[2], NULL, 10);
    db_url = argv[3];
    if (strncmp(db_url, "postgres", 8) == 0) {
        PGconn *c = PQconnectdb(db_url);
        PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS hb (id TEXT PRIMARY KEY, at BIGINT, active INT)"));
        PQfinish(c);
    } else {
        sqlite3 *db;
        sqlite3_open(db_url, &db);
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS hb (id TEXT PRIMARY KEY, at BIGINT,"
                         " active INT)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    h2o_config_init(&config);
    config.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_create_handler(path, sizeof(handler_t))->on_req = on_req;
    pthread_t tids[64];
    thread_ctx *ctxs = calloc((size_t)threads, sizeof(thread_ctx));
    for (int i = 0; i < threads && i < 64; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                   .sin_addr.s_addr = htonl(0x7f000001)};
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
            perror("limit_server: listen");
            return 1;
        }
        ctxs[i].fd = fd;
    }
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&tids[i], NULL, run, &ctxs[i]);
    printf("limit_server listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    pthread_join(tids[0], NULL);
    return 0;
}
