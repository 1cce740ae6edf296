/* paging.h - every list route pages the same way. `limit` has a default that a canvas or SDK calling the route
 * as the reference serves it gets unchanged, and a hard maximum; `cursor` is opaque to clients: the position just
 * past the last row of the previous page, in the list's own order (a keyset over a unique, indexed ordering, never
 * an OFFSET, so rows inserted meanwhile are neither repeated nor make the pages skip one). When there may be more
 * rows the answer says where the next page starts, in `X-Next-Cursor` and as an RFC 8288 `Link: <…>; rel="next"`
 * (the request's own path and query with the cursor replaced), so bodies keep the reference's shape. A malformed
 * limit or cursor is a 400 like any other bad input.
 *
 * Rows are written one by one with a streaming writer (base/jsonw.h) into a body of at most API_LIST_BODY_MAX
 * bytes: a page also ends early, with a next cursor, at the row that would not fit. */
#ifndef COLONY_API_PAGING_H
#define COLONY_API_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "base/jsonw.h"
#include "http/request.h"

enum {
    API_LIST_BODY_MAX = 32 * 1024 * 1024, /* bytes of one page of any list */
    API_CURSOR_PARTS = 3,
};

/* A decoded cursor: its integer parts in order, and its id part (a UUID as stored) when its shape has one. */
typedef struct {
    bool set;
    int64_t n[API_CURSOR_PARTS];
    const char *id; /* the 'u' or 'x' part */
} api_cursor;

/* `limit` in [1, max], `def` when absent; otherwise 400 naming the range. */
bool api_limit_or_reply(http_req *rq, int64_t def, int64_t max, int64_t *out);

/* Query parameter `cursor` of the given shape, one letter per part: 'i' an integer, 'u' a UUID or 'x' a name
 * (any bytes but NUL, hex-encoded in the cursor), either last. Absent: c->set is false. Anything else: 400
 * "cursor is not one this list gave". */
bool api_cursor_or_reply(http_req *rq, const char *shape, api_cursor *c);
/* The text of a cursor of that shape (arena-owned). */
const char *api_cursor_text(arena_t *a, const char *shape, const api_cursor *c);
/* The next page starts at `cursor` (X-Next-Cursor, Link rel="next"). The Link keeps the request's filters and
 * drops its `cursor` and the reference's own position parameters (`since_id`, `offset`), which it replaces. */
void api_next_page(http_req *rq, const char *cursor);

/* A writer for a list page (API_LIST_BODY_MAX). */
void api_list_writer(jsonw *w);
/* After writing a row begun at mark `m`: true when it fit; otherwise the row is taken back (the writer stays
 * usable) and the page ends before it. */
bool api_row_fits(jsonw *w, const jsonw_mark *m);

/* Write one row of an array list; the cursor text of the position just past a row. */
typedef void (*api_row_writer)(jsonw *w, const void *row);
typedef const char *(*api_row_cursor)(arena_t *a, const void *row);
/* Write rows[0..n) (each `size` bytes) as a JSON array of at most `limit` rows. The model was asked for limit + 1
 * rows, so n > limit means more; when rows remain (past the limit, or past what fits in a page), the next page is
 * announced with the cursor of the last row written. Returns the number written; 0 while n > 0 means a single row
 * does not fit in a page (the writer has failed: the caller's reply becomes a 500). */
size_t api_write_page(http_req *rq, jsonw *w, const void *rows, size_t n, size_t size, int64_t limit,
                      api_row_writer write, api_row_cursor cursor);

/* Answer a list that is a bare array: api_write_page into a fresh page, then the reply. */
void api_reply_rows(http_req *rq, const void *rows, size_t n, size_t size, int64_t limit, api_row_writer write,
                    api_row_cursor cursor);

/* Close the array of a page written row by row (a model's callback) and answer it: with the next page at `cursor`
 * (the position of the last row read) when `more`; a 500 when rows remain but not one was read (a row larger than
 * a page). */
void api_reply_array_page(http_req *rq, jsonw *w, bool more, bool any_row, const char *cursor);

/* Answer with the writer's text as application/json (500 when it failed). */
void api_reply_jsonw(http_req *rq, int status, jsonw *w);
/* `key`: RFC 3339 for ms since the epoch, null for 0 (as api_json_time). */
void api_jsonw_time(jsonw *w, const char *key, int64_t ms);

#endif
