/* console.h - the console served at `/`: static files embedded at build time (cmake/embed_console.cmake writes
 * console_assets[] from console/), answered on the I/O thread without the database. */
#ifndef COLONY_API_CONSOLE_H
#define COLONY_API_CONSOLE_H

#include <stddef.h>

#include "http/request.h"

typedef struct {
    const char *name;         /* file name in console/, e.g. "app.js" */
    const char *content_type; /* from the extension */
    const char *data;         /* the bytes (NUL after them) */
    size_t len;
    const char *etag;         /* quoted: the start of the file's SHA-256 */
} console_asset;

extern const console_asset console_assets[];
extern const size_t console_assets_count;

/* The asset called `name`, or NULL. */
const console_asset *console_find(const char *name);

/* GET / (index.html) and GET /console/:file. */
void api_console(http_req *rq);

#endif
