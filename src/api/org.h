/* org.h - org templates and import, the platform root, the org plugin allowlist (workspaces.md §4, §6). */
#ifndef COLONY_API_ORG_H
#define COLONY_API_ORG_H

#include "http/request.h"

/* Where GET /org/templates and POST /org/import {"dir"} look (borrowed; must outlive the server). */
void api_org_init(const char *templates_dir);

void api_org_templates(http_req *rq);
void api_org_import(http_req *rq);
void api_platform_install(http_req *rq);
void api_allowlist_get(http_req *rq);
void api_allowlist_put(http_req *rq);
/* GET /org/identity (surface.md §11): who this deployment says it is, from MOLECULE_ORG_NAME, MOLECULE_ORG_SLUG and
 * MOLECULE_ORG_ID, and whether a platform LLM proxy is configured. */
void api_org_identity(http_req *rq);

#endif
