/* templates.h - workspace templates (surface.md §8): GET /templates and POST /templates/import, and the two
 * directories of this deployment that the portability routes read: the configs directory (workspace templates)
 * and the plugins directory. */
#ifndef COLONY_API_TEMPLATES_H
#define COLONY_API_TEMPLATES_H

#include <jansson.h>

#include "http/request.h"
#include "model/workspace.h"
#include "model/wsfiles.h"

/* The directories (borrowed; must outlive the server; NULL or "" leaves the default). */
void api_templates_init(const char *configs_dir, const char *plugins_dir);
const char *api_configs_dir(void);
const char *api_plugins_dir(void);
/* The template directory of workspace `w`, or NULL (model/wstemplate.h). */
const char *api_template_dir(http_req *rq, const ws_row *w);

/* Body field `files` ({path: content}; absent or null: none) as a list, every entry checked before anything is
 * written: at most WSFILES_BULK_MAX, strings, paths colony stores, contents within bounds (413 past them). False
 * after answering. The list is arena-owned. */
bool api_file_map_or_reply(http_req *rq, const json_t *files, ws_file **list, size_t *n);
/* Answer a page of a directory listing (base/dirpage.h): the next page starts after `last` when `more`. */
void api_reply_dir_page(http_req *rq, json_t *list, bool more, const char *last);
/* A template listing of `dir` by name, as the reference lists them all: up to 1,000 a page, limit + cursor past it. */
typedef json_t *(*api_dir_list_fn)(arena_t *a, const char *dir, const char *after, size_t limit, const char **last,
                                   bool *more);
void api_reply_dir_list(http_req *rq, const char *dir, api_dir_list_fn list_fn);

void api_templates_list(http_req *rq);
void api_templates_import(http_req *rq);
/* POST /admin/templates/refresh: 503, as the reference without a template cache refresher (data.md §5). */
void api_templates_refresh(http_req *rq);

#endif
