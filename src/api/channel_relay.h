/* channel_relay.h - an incoming chat message sent to its workspace as an A2A message (data.md §4.2: "A2A to the
 * workspace, reply posted back"): `message/send` from no workspace (as the canvas sends) with messageId
 * "channel-<id>" - so a relay taken again after its node died is answered from the stored reply, never delivered
 * twice - through the A2A path (a2a_send_background: inbox, push, busy queue); the outcome settles the message and a
 * reply with text becomes its outgoing reply. The courier (jobs/courier.h) calls it. */
#ifndef COLONY_API_CHANNEL_RELAY_H
#define COLONY_API_CHANNEL_RELAY_H

#include "http/client.h"
#include "model/channel.h"
#include "store/db.h"

/* A courier_relay_fn (jobs/courier.h). */
void api_channel_relay(db_t *db, http_client *cl, const chan_inbound_row *r, void (*finished)(void *), void *arg);

#endif
