/* wsconfig.h - a workspace's config document, model and abilities (surface.md §7). */
#ifndef COLONY_API_WSCONFIG_H
#define COLONY_API_WSCONFIG_H

#include "http/request.h"

void api_config_get(http_req *rq);
void api_config_patch(http_req *rq);
void api_model_get(http_req *rq);
void api_model_put(http_req *rq);
void api_abilities_patch(http_req *rq);
/* GET and PUT …/provider: retired (410 PROVIDER_ENDPOINT_RETIRED, data.md §3.3); the model names its provider. */
void api_provider_retired(http_req *rq);

#endif
