/* chat.h - the conversation a canvas rebuilds after a reload (surface.md §15): each chat row of the activity log
 * (an a2a_receive row from the canvas, or a notify) becomes up to two bubbles, the user's text from the request's
 * message parts and the agent's from the response, with their file attachments and the tool steps of the turn.
 * Pure rules over stored JSON; the rows come from activity_chat_rows. */
#ifndef COLONY_MODEL_CHAT_H
#define COLONY_MODEL_CHAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "model/activity.h"

enum {
    CHAT_LIMIT_DEFAULT = 100,
    CHAT_LIMIT_MAX = 1000,
    CHAT_TOOL_STEPS_MAX = 2000, /* agent_log rows read to rebuild tool traces, per page */
};

/* The marker an agent_log summary starts with when it records a tool step. */
#define CHAT_TOOL_MARKER "\xF0\x9F\x9B\xA0 " /* U+1F6E0 HAMMER AND WRENCH, space */

typedef enum { CHAT_USER, CHAT_AGENT, CHAT_SYSTEM } chat_role;

/* One bubble. json_t values are owned by the arena; attachments and tool_trace are NULL when there are none. */
typedef struct {
    chat_role role;
    const char *content;
    json_t *attachments; /* [{uri, name, mimeType?, size?}] */
    json_t *tool_trace;  /* the row's own trace, or [{tool}] rebuilt from the turn's tool steps */
    int64_t at;          /* the row's created_at */
} chat_msg;

/* The bubbles of `rows` (newest first, as activity_chat_rows returns them), oldest first, each row's user bubble
 * before its agent bubble. `steps` are the tool steps read for the rows' time windows (activity_tool_steps over
 * chat_steps_window), oldest first. *out is arena-owned. */
void chat_messages(arena_t *a, const activity_row *rows, size_t n, const activity_row *steps, size_t nsteps,
                   chat_msg **out, size_t *count);

/* The span [*from, *to] that covers the tool-step window [created_at - duration_ms, created_at] of every row that
 * needs one (no tool_trace of its own, a positive duration); false when none does. */
bool chat_steps_window(const activity_row *rows, size_t n, int64_t *from, int64_t *to);

/* "user", "agent" or "system". */
const char *chat_role_name(chat_role r);

#endif
