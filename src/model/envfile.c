/* envfile.c - see envfile.h. */
#include "model/envfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fsread.h"
#include "base/utf8.h"

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *q, const char *e)
{
    while (q < e && blank(*q))
        q++;
    return q;
}

/* A quoted value from just past its opening quote: *q is left past the closing one. NULL when the line ends first
 * or a double-quoted escape is unknown. */
static char *quoted(arena_t *a, const char **q, const char *e, char quote, size_t *len)
{
    char *out = arena_alloc(a, (size_t)(e - *q) + 1);
    size_t n = 0;
    const char *p = *q;
    while (p < e) {
        char c = *p++;
        if (c == quote) {
            out[n] = '\0';
            *q = p, *len = n;
            return out;
        }
        if (c == '\\' && quote == '"') {
            if (p == e)
                return NULL;
            switch (*p++) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '$': c = '$'; break;
            default: return NULL;
            }
        }
        out[n++] = c;
    }
    return NULL;
}

/* An unquoted value: up to a comment (`#` at its start or after a blank), trailing blanks dropped. */
static char *unquoted(arena_t *a, const char *q, const char *e, size_t *len)
{
    const char *stop = e;
    for (const char *r = q; r < e; r++)
        if (*r == '#' && (r == q || blank(r[-1]))) {
            stop = r;
            break;
        }
    while (stop > q && blank(stop[-1]))
        stop--;
    *len = (size_t)(stop - q);
    return arena_strndup(a, q, *len);
}

static size_t find(const secret_pair *p, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && strcmp(p[i].name, name) != 0)
        i++;
    return i;
}

/* Set or (an empty value) unset `name`. False when a new name would pass SECRET_MAX_PER_SCOPE. */
static bool set(arena_t *a, secret_pair **out, size_t *n, size_t *cap, secret_pair p)
{
    size_t i = find(*out, *n, p.name);
    if (p.len == 0) {
        if (i < *n) {
            memmove(&(*out)[i], &(*out)[i + 1], (*n - i - 1) * sizeof(**out));
            (*n)--;
        }
        return true;
    }
    if (i < *n) {
        (*out)[i] = p;
        return true;
    }
    if (*n == SECRET_MAX_PER_SCOPE)
        return false;
    *out = arena_grow(a, *out, *n, cap, sizeof(**out));
    (*out)[(*n)++] = p;
    return true;
}

cl_err envfile_parse(arena_t *a, const char *text, size_t len, secret_pair **pairs, size_t *count, cl_error *err)
{
    secret_pair *out = NULL;
    size_t n = 0, cap = 0, line = 0;
    *pairs = NULL, *count = 0;
    if (len > ENVFILE_MAX)
        return cl_fail(err, CL_TOO_LARGE, "larger than %d bytes", ENVFILE_MAX);
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *q = p, *e = eol ? eol : end;
        p = eol ? eol + 1 : end;
        if (e > q && e[-1] == '\r')
            e--;
        if (memchr(q, '\0', (size_t)(e - q)) != NULL || !utf8_valid(q, (size_t)(e - q)))
            return cl_fail(err, CL_INVALID, "line %zu: a NUL or invalid UTF-8", line);
        q = skip_blanks(q, e);
        if (q == e || *q == '#')
            continue;
        if (e - q > 7 && memcmp(q, "export", 6) == 0 && blank(q[6]))
            q = skip_blanks(q + 7, e);
        const char *name = q;
        while (q < e && *q != '=' && !blank(*q))
            q++;
        size_t nlen = (size_t)(q - name);
        q = skip_blanks(q, e);
        if (q == e || *q != '=' || !secret_name_valid(name, nlen))
            return cl_fail(
                err, CL_INVALID,
                "line %zu: expected NAME=value, NAME of A-Z, 0-9 and _ starting with a letter (at most %d)", line,
                SECRET_NAME_MAX);
        q = skip_blanks(q + 1, e);
        secret_pair pair = {arena_strndup(a, name, nlen), NULL, 0};
        char *v;
        if (q < e && (*q == '"' || *q == '\'')) {
            char quote = *q++;
            if ((v = quoted(a, &q, e, quote, &pair.len)) == NULL)
                return cl_fail(err, CL_INVALID,
                               "line %zu: an unterminated quote or an unknown escape (a quoted "
                               "value ends on its own line; escapes are \\n \\r \\t \\\" \\\\ \\$)",
                               line);
            q = skip_blanks(q, e);
            if (q < e && *q != '#')
                return cl_fail(err, CL_INVALID, "line %zu: only a comment may follow a quoted value", line);
        } else {
            v = unquoted(a, q, e, &pair.len);
        }
        pair.value = v;
        if (pair.len > SECRET_VALUE_MAX)
            return cl_fail(err, CL_INVALID, "line %zu: a value longer than %d bytes", line, SECRET_VALUE_MAX);
        if (!set(a, &out, &n, &cap, pair))
            return cl_fail(err, CL_TOO_LARGE, "more than %d names", SECRET_MAX_PER_SCOPE);
    }
    *pairs = out, *count = n;
    return CL_OK;
}

cl_err envfile_load(arena_t *a, const char *path, secret_pair **pairs, size_t *count, cl_error *err)
{
    *pairs = NULL, *count = 0;
    FILE *f = fs_fopen_regular(path);
    if (f == NULL && errno == EINVAL)
        return cl_fail(err, CL_INVALID, "%s is not a regular file of at most %d bytes", path, ENVFILE_MAX);
    if (f == NULL)
        return errno == ENOENT ? CL_OK : cl_fail(err, CL_INVALID, "cannot read %s: %s", path, strerror(errno));
    struct stat sb; /* as large as the file, not as the bound: an import may read one per node */
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > ENVFILE_MAX) {
        fclose(f);
        return cl_fail(err, CL_INVALID, "%s is not a regular file of at most %d bytes", path, ENVFILE_MAX);
    }
    char *buf = arena_alloc(a, (size_t)sb.st_size + 1);
    size_t n = fread(buf, 1, (size_t)sb.st_size + 1, f);
    bool failed = ferror(f) != 0 || n > (size_t)sb.st_size;
    fclose(f);
    if (failed)
        return cl_fail(err, CL_INVALID, "cannot read %s (or it changed while read)", path);
    cl_err e = envfile_parse(a, buf, n, pairs, count, err);
    if (e != CL_OK) {
        char why[CL_ERROR_MSG_MAX];
        memcpy(why, err->msg, sizeof(why));
        cl_fail(err, e, "%s: %s", path, why);
    }
    return e;
}

secret_pair *envfile_merge(arena_t *a, const secret_pair *base, size_t nbase, const secret_pair *over, size_t nover,
                           size_t *count)
{
    secret_pair *out = arena_alloc(a, (nbase + nover + 1) * sizeof(*out));
    size_t n = nbase;
    if (nbase > 0)
        memcpy(out, base, nbase * sizeof(*out));
    for (size_t i = 0; i < nover; i++) {
        size_t k = find(out, n, over[i].name);
        out[k] = over[i];
        if (k == n)
            n++;
    }
    *count = n;
    return out;
}

static const secret_pair *pair_named(const secret_pair *pairs, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(pairs[i].name) == len && memcmp(pairs[i].name, name, len) == 0)
            return &pairs[i];
    return NULL;
}

envfile_expansion envfile_expand(arena_t *a, const char *text, const secret_pair *pairs, size_t n, size_t max,
                                 const char **out, const char **name)
{
    buf_t b;
    buf_init(&b, max);
    envfile_expansion r = ENVFILE_EXPANDED;
    *out = *name = NULL;
    for (const char *p = text; r == ENVFILE_EXPANDED;) {
        const char *ref = strstr(p, "${");
        if (!buf_append(&b, p, ref ? (size_t)(ref - p) : strlen(p))) {
            r = ENVFILE_TOO_LONG;
        } else if (ref != NULL) {
            const char *from = ref + 2, *close = strchr(from, '}');
            size_t len = close ? (size_t)(close - from) : strlen(from);
            const secret_pair *v = close && secret_name_valid(from, len) ? pair_named(pairs, n, from, len) : NULL;
            if (v == NULL) {
                *name = utf8_cut_copy(a, arena_strndup(a, from, len), SECRET_NAME_MAX, true);
                r = ENVFILE_UNRESOLVED;
            } else if (!buf_append(&b, v->value, v->len)) {
                r = ENVFILE_TOO_LONG;
            }
            p = close ? close + 1 : from;
        } else {
            break;
        }
    }
    if (r == ENVFILE_EXPANDED)
        *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_free(&b);
    return r;
}
