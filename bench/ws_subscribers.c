/* ws_subscribers.c - the WebSocket side of `make bench` (not part of colony): opens COUNT subscribers to
 * ws://127.0.0.1:PORT/ws with a bearer token (in waves, each waiting for its 101s, so the listen backlog never
 * overflows), then either
 *   fanout EVENTS WORKSPACE: sends EVENTS notifies (POST /workspaces/WORKSPACE/notify, one keep-alive connection)
 *       one after the other and prints, per event, the milliseconds from writing the request until the LAST
 *       subscriber has read a frame carrying it ("latency_ms K MS"); the first WARMUP events are not printed;
 *   hold: prints "ready COUNT" and keeps them open, idle, until its standard input closes.
 * Written in C with epoll so that 2,000 subscribers cost the measurement almost nothing: a Python client reading
 * 2,000 sockets per event adds tens of milliseconds of its own. Any failure (refused upgrade, a close frame, a
 * missing event after EVENT_TIMEOUT_S) is one line on stderr and exit 1.
 *
 * usage: ws_subscribers PORT TOKEN COUNT fanout EVENTS WORKSPACE | hold */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { WAVE = 256, WARMUP = 3, EVENT_TIMEOUT_S = 10, OPEN_TIMEOUT_S = 60, READ_MIN = 512 };

typedef struct {
    int fd;
    bool open; /* the 101 was read */
    int got;   /* the last event seen */
    char *buf;
    size_t len, cap;
} sub;

static int port;
static const char *token;
static const char *last_error = ""; /* why the last read failed */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ws_subscribers: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect: %s", strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write: %s", strerror(errno));
        p += w, n -= (size_t)w;
    }
}

/* Read what is there into s->buf; false on EOF. */
static bool fill(sub *s)
{
    for (;;) {
        if (s->cap - s->len < READ_MIN) {
            s->cap = s->cap ? 2 * s->cap : 2 * READ_MIN;
            s->buf = realloc(s->buf, s->cap);
        }
        ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (r > 0) {
            s->len += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        last_error = r == 0 ? "end of stream" : strerror(errno);
        return false;
    }
}

static void consume(sub *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

/* The handshake's answer, once complete: a 101, or die. */
static void handshake(sub *s)
{
    char *end = s->len ? memmem(s->buf, s->len, "\r\n\r\n", 4) : NULL;
    if (end == NULL)
        return;
    if (s->len < 12 || memcmp(s->buf, "HTTP/1.1 101", 12) != 0) {
        char *eol = memchr(s->buf, '\r', s->len);
        die("upgrade refused: %.*s", eol ? (int)(eol - s->buf) : 0, s->buf);
    }
    s->open = true;
    consume(s, (size_t)(end + 4 - s->buf));
}

/* Every complete frame in s->buf: a text frame carrying `marker` is event k. */
static void frames(sub *s, const char *marker, int k, int *done)
{
    for (;;) {
        if (s->len < 2)
            return;
        const unsigned char *b = (const unsigned char *)s->buf;
        size_t hdr = 2, n = b[1] & 0x7f;
        if (n == 126) {
            if (s->len < 4)
                return;
            n = (size_t)b[2] << 8 | b[3], hdr = 4;
        } else if (n == 127) {
            if (s->len < 10)
                return;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | b[2 + i];
            hdr = 10;
        }
        if (s->len < hdr + n)
            return;
        int op = b[0] & 0x0f;
        if (op == 8) {
            int code = n >= 2 ? b[hdr] << 8 | b[hdr + 1] : 0;
            char reason[256];
            snprintf(reason, sizeof(reason), "%.*s", n > 2 ? (int)(n - 2) : 0, s->buf + hdr + 2);
            die("a subscriber was closed: \"%s\" (code %d)", reason, code);
        }
        if ((op == 1 || op == 0) && marker != NULL && s->got < k &&
            memmem(s->buf + hdr, n, marker, strlen(marker))) {
            s->got = k;
            (*done)++;
        }
        consume(s, hdr + n);
    }
}

static sub *open_all(int ep, int count)
{
    sub *subs = calloc((size_t)count, sizeof(*subs));
    char req[1024];
    int len = snprintf(req, sizeof(req),
                       "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                       "Authorization: Bearer %s\r\n\r\n",
                       port, token);
    double deadline = now_ms() + OPEN_TIMEOUT_S * 1e3;
    struct epoll_event evs[WAVE];
    for (int first = 0; first < count; first += WAVE) {
        int last = first + WAVE < count ? first + WAVE : count, pending = last - first;
        for (int i = first; i < last; i++) {
            sub *s = &subs[i];
            s->fd = dial();
            write_all(s->fd, req, (size_t)len);
            fcntl(s->fd, F_SETFL, O_NONBLOCK);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
            epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
        }
        while (pending > 0) {
            if (now_ms() > deadline)
                die("%d subscribers still waiting for their upgrade", pending);
            int n = epoll_wait(ep, evs, WAVE, 1000);
            for (int i = 0; i < n; i++) {
                sub *s = evs[i].data.ptr;
                if (!fill(s) && !s->open)
                    die("connection closed during the upgrade (subscriber %td): %s", s - subs, last_error);
                if (!s->open) {
                    handshake(s);
                    pending -= s->open;
                }
            }
        }
    }
    return subs;
}

static void read_response(int fd)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            die("notify: connection closed (%zd)", r);
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
        if (end != NULL && cl != NULL && len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            break;
        if (len == sizeof(buf) - 1)
            die("notify: answer longer than %zu bytes", len);
    }
    if (strncmp(buf, "HTTP/1.1 2", 10) != 0)
        die("notify refused: %.*s", (int)strcspn(buf, "\r"), buf);
}

static void fanout(int ep, sub *subs, int count, int events, const char *workspace)
{
    int http = dial();
    char nonce[32], marker[64], body[128], req[1024];
    snprintf(nonce, sizeof(nonce), "%lx", (unsigned long)now_ms() ^ (unsigned long)getpid());
    struct epoll_event *evs = calloc((size_t)count, sizeof(*evs));
    for (int k = 1; k <= events + WARMUP; k++) {
        snprintf(marker, sizeof(marker), "fanout-%s-%d\"", nonce, k);
        int blen = snprintf(body, sizeof(body), "{\"message\":\"fanout-%s-%d\"}", nonce, k);
        int len = snprintf(req, sizeof(req),
                           "POST /workspaces/%s/notify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                           workspace, token, blen, body);
        int done = 0;
        double t0 = now_ms(), t_last = 0;
        write_all(http, req, (size_t)len);
        for (int i = 0; i < count; i++) /* frames already buffered with the 101 or a previous event */
            frames(&subs[i], marker, k, &done);
        while (done < count) {
            if (now_ms() - t0 > EVENT_TIMEOUT_S * 1e3)
                die("event %d reached %d of %d subscribers in %d s", k, done, count, EVENT_TIMEOUT_S);
            int n = epoll_wait(ep, evs, count, 1000);
            for (int i = 0; i < n; i++) {
                sub *s = evs[i].data.ptr;
                bool alive = fill(s);
                frames(s, marker, k, &done);
                if (!alive)
                    die("a subscriber's connection closed (subscriber %td): %s", s - subs, last_error);
            }
        }
        t_last = now_ms();
        read_response(http);
        if (k > WARMUP)
            printf("latency_ms %d %.3f\n", k - WARMUP, t_last - t0);
        fflush(stdout);
    }
    free(evs);
    close(http);
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[4], "fanout") == 0 && argc != 7) || (strcmp(argv[4], "hold") == 0 && argc != 5)) {
        fprintf(stderr, "usage: ws_subscribers PORT TOKEN COUNT fanout EVENTS WORKSPACE | hold\n");
        return 2;
    }
    port = atoi(argv[1]);
    token = argv[2];
    int count = atoi(argv[3]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (count < 1 || (rlim_t)count + 16 > rl.rlim_cur)
        die("COUNT %d is past the open-file limit", count);
    signal(SIGPIPE, SIG_IGN); /* a connection colony closed is a message, not a silent death */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    double t0 = now_ms();
    sub *subs = open_all(ep, count);
    fprintf(stderr, "ws_subscribers: %d open in %.0f ms\n", count, now_ms() - t0);
    if (strcmp(argv[4], "fanout") == 0) {
        fanout(ep, subs, count, atoi(argv[5]), argv[6]);
    } else {
        printf("ready %d\n", count);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {
        }
    }
    for (int i = 0; i < count; i++) {
        close(subs[i].fd);
        free(subs[i].buf);
    }
    free(subs);
    close(ep);
    return 0;
}
