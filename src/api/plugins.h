/* plugins.h - the plugins registry and a workspace's plugins (surface.md §9). */
#ifndef COLONY_API_PLUGINS_H
#define COLONY_API_PLUGINS_H

#include "http/request.h"

void api_plugins_registry(http_req *rq);
void api_plugins_sources(http_req *rq);
void api_ws_plugins_available(http_req *rq);
void api_ws_plugins(http_req *rq);
void api_ws_plugins_compatibility(http_req *rq);
void api_ws_plugin_install(http_req *rq);
void api_ws_plugin_uninstall(http_req *rq);
void api_ws_plugin_download(http_req *rq);

#endif
