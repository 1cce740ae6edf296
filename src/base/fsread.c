/* fsread.c - see fsread.h. */
#include "base/fsread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read the first `head` bytes of the open file `fd` (closed here) when it is a regular file of at most `max`. */
static cl_err read_fd(arena_t *a, int fd, size_t max, size_t head, char **out, size_t *len, cl_error *err)
{
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return cl_fail(err, CL_NOT_FOUND, "file not found");
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return cl_fail(err, CL_TOO_LARGE, "file larger than %zu bytes", max);
    }
    size_t want = (size_t)sb.st_size < head ? (size_t)sb.st_size : head;
    char *buf = arena_alloc(a, want + 1);
    size_t got = 0;
    while (got < want) { /* a file that shrinks meanwhile gives what it still has */
        ssize_t k = read(fd, buf + got, want - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf, *len = got;
    return CL_OK;
}

cl_err fs_read_file(arena_t *a, const char *path, size_t max, char **out, size_t *len, cl_error *err)
{
    return fs_read_head(a, path, max, max, out, len, err);
}

cl_err fs_read_head(arena_t *a, const char *path, size_t max, size_t head, char **out, size_t *len, cl_error *err)
{
    return read_fd(a, open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), max, head, out, len, err);
}

cl_err fs_read_under(arena_t *a, const char *root, const char *rel, size_t max, char **out, size_t *len,
                     cl_error *err)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
    for (const char *p = rel; fd >= 0;) {
        size_t k = strcspn(p, "/");
        char part[256];
        if (k == 0 || k >= sizeof(part)) {
            close(fd);
            fd = -1;
            break;
        }
        memcpy(part, p, k);
        part[k] = '\0';
        bool last = p[k] == '\0';
        int next = openat(fd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
        close(fd);
        fd = next;
        if (last)
            break;
        p += k + 1;
    }
    return read_fd(a, fd, max, max, out, len, err);
}

FILE *fs_fopen_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL)
        close(fd);
    return f;
}
