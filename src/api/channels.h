/* channels.h - chat channels (data.md §4.2, surface.md §14): the adapters the canvas offers, a workspace's channels
 * (WorkspaceAuth), sends through them, and the providers' incoming webhooks (public, each verified the way its
 * provider signs). */
#ifndef COLONY_API_CHANNELS_H
#define COLONY_API_CHANNELS_H

#include "http/request.h"

void api_channel_adapters(http_req *rq);
void api_channels_list(http_req *rq);
void api_channels_create(http_req *rq);
void api_channels_patch(http_req *rq);
void api_channels_delete(http_req *rq);
void api_channels_send(http_req *rq);
void api_channels_test(http_req *rq);
void api_channels_discover(http_req *rq);
void api_channel_webhook(http_req *rq);

#endif
