/* mcp_tools.h - the tools of the MCP bridge (schedules-mcp.md §8, inbox.md §8), in the order of tools/list. Each
 * acts as the workspace of the URL and goes through the model functions, and the access rules, of the REST route
 * that does the same thing: a tool can do nothing the workspace's token could not do over REST.
 *
 * A tool answers its call once, with mcp_call_done (the text of its result) or mcp_call_fail (a tool error: the
 * client sees -32000 "tool call failed", with the message and code the REST route would answer in `data`). Most
 * answer before they return; delegate_task answers later, from the delivery's outcome. A call answered later must
 * not touch the request's arena or database from then on (other calls of a batch may be running on them). */
#ifndef COLONY_API_MCP_TOOLS_H
#define COLONY_API_MCP_TOOLS_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"
#include "http/request.h"
#include "model/workspace.h"

typedef struct mcp_call mcp_call;

/* What a tool is given: the request (for its database and arena while the tool runs), the acting workspace, and
 * the call's arguments (an object; {} when the client sent none). */
struct mcp_call {
    http_req *rq;
    const ws_row *self; /* the workspace of the URL, live */
    const char *tool;
    json_t *args;
    void *exchange; /* the bridge's (mcp.c) */
    size_t slot;
    const char *follow; /* set by a tool whose work goes on: how to see its outcome (for the budget's refusal) */
};

enum {
    MCP_REPLY_TEXT_MAX = 256 << 10,  /* an agent's reply in a tool's text: its JSON form, then the cut's note */
    MCP_RESPONSE_TEXT_MAX = 4 << 20, /* the JSON form of all the texts of one POST (a batch's budget) */
};

/* The result of the call: {"content":[{"type":"text","text":text}]} (text is copied; invalid UTF-8 becomes U+FFFD).
 * When the texts of the request would pass MCP_RESPONSE_TEXT_MAX with this one, the call fails instead (too_large,
 * naming c->follow when set): however many calls a batch holds, its answer stays bounded. Any thread. */
void mcp_call_done(mcp_call *c, const char *text);
/* A tool error (logged with its detail). Any thread. */
void mcp_call_fail(mcp_call *c, const cl_error *e);

/* For the tools (mcp_tools.c, mcp_memory.c), while they run on the request's thread. */
void mcp_fail(mcp_call *c, cl_err code, const char *msg);
/* Argument `key` as a string (NULL when absent or null); false after failing the call when it is of another type,
 * or missing or empty while required. */
bool mcp_arg_str(mcp_call *c, const char *key, bool required, const char **out);
/* An optional string argument where "" means absent. */
bool mcp_arg_opt(mcp_call *c, const char *key, const char **out);
/* The model's answer: true when it succeeded, else the call fails with its error. */
bool mcp_ok_or_fail(mcp_call *c, cl_err r, const cl_error *e);
/* Answer with `v` serialised with `flags` (takes the reference). */
void mcp_done_json(mcp_call *c, json_t *v, size_t flags);

/* s[0..len) as valid UTF-8 (each invalid byte U+FFFD) cut on a code point where its JSON form (control characters
 * escaped, `"` and `\` too) would pass `cap` bytes, NUL-terminated (free() it); *cost: that form's length, *cut:
 * whether anything was left out. Reads at most `cap` bytes of s, so a huge input costs nothing more. */
char *mcp_text_cut(const char *s, size_t len, size_t cap, size_t *cost, bool *cut);

/* The memory tools (mcp_memory.c; data.md §2.7), listed after the others. */
void mcp_commit_memory(mcp_call *c);
void mcp_recall_memory(mcp_call *c);
void mcp_commit_memory_v2(mcp_call *c);
void mcp_search_memory(mcp_call *c);
void mcp_commit_summary(mcp_call *c);
void mcp_list_writable_namespaces(mcp_call *c);
void mcp_list_readable_namespaces(mcp_call *c);
void mcp_forget_memory(mcp_call *c);

/* The tools offered now, in order: {"tools":[{name, description, inputSchema}]} (a new reference). A tool that
 * cannot work here is not offered: send_message_to_user unless enabled. */
json_t *mcp_tools_list(void);
/* Run the tool the call names, which answers it. A name of no tool fails "unknown tool" (not_found); a tool not
 * offered fails saying why (send_message_to_user off: forbidden), as the reference fails a tool it cannot run
 * (-32000, schedules-mcp.md §9). */
void mcp_tool_call(mcp_call *c);

/* Settings (main.c): whether send_message_to_user is offered. */
void mcp_tools_init(bool allow_send_message);

#endif
