/* bundles.h - GET /bundles/export/:id and POST /bundles/import (workspaces.md §8, surface.md §12). */
#ifndef COLONY_API_BUNDLES_H
#define COLONY_API_BUNDLES_H

#include "http/request.h"

void api_bundle_export(http_req *rq);
void api_bundle_import(http_req *rq);

#endif
