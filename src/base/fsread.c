/* fsread.c - see fsread.h. */
#include "base/fsread.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

cl_err fs_read_file(arena_t *a, const char *path, size_t max, char **out, size_t *len, cl_error *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
    char *buf = arena_alloc(a, (size_t)sb.st_size + 1);
    size_t got = 0;
    while (got < (size_t)sb.st_size) { /* a file that shrinks meanwhile gives what it still has */
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf, *len = got;
    return CL_OK;
}
