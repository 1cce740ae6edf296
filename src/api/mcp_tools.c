/* mcp_tools.c - see mcp_tools.h. The tools of delegation, the workspace and user tasks, and the table of all. */
#include "api/mcp_tools.h"

#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/delegations.h"
#include "api/errors.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "model/a2a.h"
#include "model/activity.h"
#include "model/delegation.h"
#include "model/usertask.h"

enum {
    MCP_PEERS_MAX = 1000,     /* peers listed (one page of GET /registry/:id/peers) */
    MCP_USER_TASKS_MAX = 50,  /* list_user_tasks: the newest, as the reference */
};

static bool allow_send_message;

void mcp_tools_init(bool allow) { allow_send_message = allow; }

/* ---- arguments ---------------------------------------------------------------------------------------------- */

void mcp_fail(mcp_call *c, cl_err code, const char *msg)
{
    cl_error e;
    cl_fail(&e, code, "%s", msg);
    mcp_call_fail(c, &e);
}

bool mcp_arg_str(mcp_call *c, const char *key, bool required, const char **out)
{
    json_t *v = json_object_get(c->args, key);
    *out = json_string_value(v);
    if (v != NULL && !json_is_null(v) && *out == NULL) {
        mcp_fail(c, CL_INVALID, arena_sprintf(c->rq->arena, "%s must be a string", key));
        return false;
    }
    if (required && (*out == NULL || **out == '\0')) {
        mcp_fail(c, CL_INVALID, arena_sprintf(c->rq->arena, "%s is required", key));
        return false;
    }
    return true;
}

/* A required workspace id argument, lower-cased. */
static bool arg_workspace(mcp_call *c, const char *key, const char **out)
{
    if (!mcp_arg_str(c, key, true, out))
        return false;
    if (!id_is_uuid(*out, strlen(*out))) {
        mcp_fail(c, CL_INVALID, arena_sprintf(c->rq->arena, "%s must be a valid UUID", key));
        return false;
    }
    *out = id_lower(arena_strdup(c->rq->arena, *out));
    return true;
}

bool mcp_arg_opt(mcp_call *c, const char *key, const char **out)
{
    if (!mcp_arg_str(c, key, false, out))
        return false;
    if (*out != NULL && **out == '\0')
        *out = NULL;
    return true;
}

bool mcp_ok_or_fail(mcp_call *c, cl_err r, const cl_error *e)
{
    if (r != CL_OK)
        mcp_call_fail(c, e);
    return r == CL_OK;
}

void mcp_done_json(mcp_call *c, json_t *v, size_t flags)
{
    char *text = json_dumps(v, flags | JSON_PRESERVE_ORDER);
    mcp_call_done(c, text ? text : "null");
    free(text);
    json_decref(v);
}

/* ---- delegations -------------------------------------------------------------------------------------------- */

/* `text` (len bytes, any bytes) cut to MCP_REPLY_TEXT_MAX as mcp_text_cut cuts, and when cut a note saying so and
 * where the whole reply is: the target's a2a_receive activity row of message `did` (the exchange keeps it whole). */
static const char *reply_bounded(arena_t *a, const char *text, size_t len, const char *target, const char *did)
{
    size_t cost;
    bool cut;
    char *kept = mcp_text_cut(text, len, MCP_REPLY_TEXT_MAX, &cost, &cut);
    const char *out = cut ? arena_sprintf(a,
                                          "%s\n\n[colony cut this reply at %d bytes; the agent's whole reply is in "
                                          "the a2a_receive activity of workspace %s (message %s)]",
                                          kept, MCP_REPLY_TEXT_MAX, target, did)
                          : arena_strdup(a, kept);
    free(kept);
    return out;
}

/* The text of an agent's reply to delegation `did` as the tools show it, bounded (reply_bounded): "[error]
 * <message>" for a JSON-RPC error, else its first text part (the one every delegation preview takes), else the JSON
 * of its result, else the body as it came. */
static const char *reply_text(arena_t *a, const char *body, size_t len, const char *target, const char *did)
{
    json_t *v;
    cl_error ignore;
    if (json_parse(a, body, len, &v, &ignore) != CL_OK)
        return reply_bounded(a, body, len, target, did);
    if (json_is_string(v)) /* what the activity row keeps of a reply that was no JSON (model/a2a.c) */
        return reply_bounded(a, json_string_value(v), json_string_length(v), target, did);
    if (!json_is_object(v))
        return reply_bounded(a, body, len, target, did);
    const char *err = json_string_value(json_object_get(json_object_get(v, "error"), "message"));
    const char *text = err ? arena_sprintf(a, "[error] %s", err) : a2a_reply_text(a, body, len);
    json_t *result = json_object_get(v, "result");
    if (text == NULL && result != NULL)
        text = json_dump_arena(a, result, NULL);
    return text ? reply_bounded(a, text, strlen(text), target, did) : reply_bounded(a, body, len, target, did);
}

/* A delegation that has not answered yet: where it stands, and how to follow it. */
static void done_pending(mcp_call *c, const char *did, const char *target, const char *status, const char *note)
{
    mcp_done_json(c, json_pack("{s:s, s:s, s:s, s:s}", "task_id", did, "status", status, "target_id", target, "note", note),
              JSON_COMPACT);
}

/* The checks and the ledger of both delegate tools: the same deleg_create as POST /workspaces/:id/delegate (the
 * hierarchy rule, self-delegation, a live target), the caller being the workspace of the URL. */
static bool delegate_begin(mcp_call *c, const char **target, const char **task, json_t **files, deleg_row *d)
{
    cl_error e;
    bool hit;
    if (!arg_workspace(c, "workspace_id", target) || !mcp_arg_str(c, "task", true, task))
        return false;
    return mcp_ok_or_fail(c, activity_attachments(c->rq->arena, json_object_get(c->args, "attachments"), files, &e), &e) &&
           mcp_ok_or_fail(c, deleg_create(c->rq->db, c->rq->arena, c->self->id, *target, *task, NULL, NULL, d, &hit, &e),
                      &e);
}

/* A synchronous delegation waiting for its push delivery. The call is answered once: by the outcome, or, when the
 * agent takes longer than the bridge waits, by slow() on the I/O loop (which runs before done(), never with it). */
typedef struct {
    mcp_call *c;
    const char *did, *target; /* the request's: read only until the call is answered */
    bool answered;
} delegate_wait;

static void delegate_slow(void *arg, bool stopping)
{
    delegate_wait *w = arg;
    w->answered = true;
    done_pending(w->c, w->did, w->target, "dispatched",
                 stopping ? "colony is shutting down; the delegation was sent and stays open, and check_task_status "
                            "shows what becomes of it"
                          : "the agent has not answered yet; the delegation goes on, and check_task_status shows its "
                            "result");
}

static void delegate_done(void *arg, db_t *db, const a2a_done *d)
{
    delegate_wait *w = arg;
    if (!w->answered && d->kind == A2A_DONE_REPLIED && d->body_len > 0) {
        arena_t *a = arena_new();
        mcp_call_done(w->c, reply_text(a, d->body, d->body_len, w->target, w->did));
        arena_free(a);
    } else if (!w->answered && d->kind == A2A_DONE_QUEUED) {
        done_pending(w->c, w->did, w->target, "queued",
                     "the agent is busy; the task is delivered when it has capacity: check_task_status");
    } else if (!w->answered) { /* the agent's own failure (its status), or the way to it */
        cl_error e;
        cl_fail_code(&e, d->stopping ? CL_UNAVAILABLE : CL_BAD_GATEWAY,
                     d->status >= 300 ? "agent_error" : d->busy || d->stopping ? "unavailable" : "bad_gateway", "%s",
                     d->error ? d->error : "the agent gave no answer");
        mcp_call_fail(w->c, &e);
    }
    free(w);
}

static void delegate_task(mcp_call *c)
{
    const char *target, *task;
    json_t *files;
    deleg_row d;
    if (!delegate_begin(c, &target, &task, &files, &d))
        return;
    c->follow = arena_sprintf(c->rq->arena, "check_task_status {\"workspace_id\": \"%s\", \"task_id\": \"%s\"}", target, d.delegation_id);
    delegate_wait *w = xcalloc(1, sizeof(*w));
    *w = (delegate_wait){c, d.delegation_id, target, false};
    cl_error e;
    deleg_sent how = api_delegation_send(c->rq, c->self->id, target, task, d.delegation_id, files,
                                         &(deleg_waiter){delegate_done, delegate_slow, w}, &e);
    if (how == DELEG_SENT_PUSH)
        return; /* the job owns w now, and answers */
    free(w);
    if (how == DELEG_SENT_POLL)
        done_pending(c, d.delegation_id, target, "in_progress",
                     "delivered to the agent's inbox (poll mode); its answer completes the delegation: "
                     "check_task_status");
    else if (how == DELEG_SENT_QUEUED)
        done_pending(c, d.delegation_id, target, "queued",
                     "the agent cannot take it now (no URL yet, paused, or hibernated): it is delivered when it can; "
                     "check_task_status");
    else
        mcp_call_fail(c, &e);
}

static void delegate_task_async(mcp_call *c)
{
    const char *target, *task;
    json_t *files;
    deleg_row d;
    cl_error e;
    if (!delegate_begin(c, &target, &task, &files, &d))
        return;
    if (api_delegation_send(c->rq, c->self->id, target, task, d.delegation_id, files, NULL, &e) == DELEG_SENT_FAILED) {
        mcp_call_fail(c, &e);
        return;
    }
    mcp_done_json(c, json_pack("{s:s, s:s, s:s}", "task_id", d.delegation_id, "status", "queued", "target_id", target),
              JSON_COMPACT);
}

static void check_task_status(mcp_call *c)
{
    const char *target, *did;
    if (!arg_workspace(c, "workspace_id", &target) || !mcp_arg_str(c, "task_id", true, &did))
        return;
    http_req *rq = c->rq;
    deleg_row d;
    cl_error e;
    cl_err r = id_is_uuid(did, strlen(did))
                   ? deleg_get(rq->db, rq->arena, id_lower(arena_strdup(rq->arena, did)), c->self->id, &d, &e)
                   : CL_NOT_FOUND; /* only this workspace's delegations, to that target */
    if (r == CL_OK && strcmp(d.callee_id, target) != 0)
        r = CL_NOT_FOUND;
    if (r == CL_NOT_FOUND) {
        mcp_done_json(c, json_pack("{s:s, s:s, s:s}", "task_id", did, "status", "not_found", "note",
                               "task not tracked or not yet dispatched"),
                  JSON_COMPACT);
        return;
    }
    if (!mcp_ok_or_fail(c, r, &e))
        return;
    json_t *v = json_pack("{s:s, s:s, s:s}", "task_id", d.delegation_id, "target_id", d.callee_id, "status", d.status);
    if (d.error_detail != NULL && d.error_detail[0] != '\0')
        json_object_set_new(v, "error", json_string(d.error_detail));
    /* the whole reply where the exchange kept it (the target's a2a_receive row), else the ledger's preview */
    const char *reply = NULL, *result = d.result_preview;
    if (strcmp(d.status, "completed") == 0 &&
        a2a_prior_reply(rq->db, rq->arena, d.callee_id, c->self->id, d.delegation_id, &reply, &e) == CL_OK)
        result = reply_text(rq->arena, reply, strlen(reply), d.callee_id, d.delegation_id);
    if (result != NULL && result[0] != '\0')
        json_object_set_new(v, "result", json_string(result));
    mcp_done_json(c, v, JSON_INDENT(2) | JSON_SORT_KEYS);
}

/* ---- the workspace ------------------------------------------------------------------------------------------ */

static bool peer_row(void *arg, const ws_row *w)
{
    json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", w->id, "name", w->name, "role",
                                         w->role ? w->role : "", "status", w->status, "tier", (json_int_t)w->tier));
    return true;
}

static void list_peers(mcp_call *c)
{
    json_t *peers = json_array();
    bool more;
    cl_error e;
    if (!mcp_ok_or_fail(c, ws_peers_page(c->rq->db, c->rq->arena, c->self->id, c->self->parent_id, NULL, MCP_PEERS_MAX,
                                     peer_row, peers, &more, &e),
                    &e)) {
        json_decref(peers);
        return;
    }
    if (json_array_size(peers) == 0) {
        json_decref(peers);
        mcp_call_done(c, "No peers found.");
        return;
    }
    mcp_done_json(c, peers, JSON_INDENT(2));
}

static void get_workspace_info(mcp_call *c)
{
    const ws_row *w = c->self;
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", w->id, "name", w->name, "role", w->role ? w->role : "",
                          "status", w->status, "tier", (json_int_t)w->tier);
    if (w->parent_id != NULL)
        json_object_set_new(v, "parent_id", json_string(w->parent_id));
    mcp_done_json(c, v, JSON_INDENT(2) | JSON_SORT_KEYS);
}

static bool send_message_listed(void) { return allow_send_message; }

/* The agent→user message of POST /workspaces/:id/notify: the same writer, its talk_to_user rule included. */
static void send_message_to_user(mcp_call *c)
{
    const char *message;
    json_t *files;
    cl_error e;
    if (!allow_send_message) { /* refused even when called without being listed */
        mcp_fail(c, CL_FORBIDDEN, "send_message_to_user is not enabled on this server (--mcp-allow-send-message)");
        return;
    }
    if (!mcp_arg_str(c, "message", true, &message) ||
        !mcp_ok_or_fail(c, activity_attachments(c->rq->arena, json_object_get(c->args, "attachments"), &files, &e), &e))
        return;
    if (strlen(message) > ACTIVITY_TEXT_MAX) {
        mcp_fail(c, CL_TOO_LARGE, arena_sprintf(c->rq->arena, "message larger than %d bytes", ACTIVITY_TEXT_MAX));
        return;
    }
    const char *att = files ? json_dump_arena(c->rq->arena, files, NULL) : NULL;
    if (mcp_ok_or_fail(c, activity_notify(c->rq->db, c->rq->arena, c->self->id, message, att, NULL, &e), &e))
        mcp_call_done(c, "Message sent.");
}

/* ---- user tasks (inbox.md §8): the functions of /workspaces/:id/user-tasks ------------------------------------ */

static void request_user_action(mcp_call *c)
{
    const char *title, *detail, *id;
    cl_error e;
    if (mcp_arg_str(c, "title", true, &title) && mcp_arg_str(c, "detail", false, &detail) &&
        mcp_ok_or_fail(c, user_task_create(c->rq->db, c->rq->arena, c->self->id, title, detail, &id, &e), &e))
        mcp_call_done(c, arena_sprintf(c->rq->arena, "Asked the user: %s", title));
}

static void list_user_tasks(mcp_call *c)
{
    user_task_row *rows;
    size_t n;
    cl_error e;
    if (!mcp_ok_or_fail(c, user_task_list(c->rq->db, c->rq->arena, c->self->id, NULL, MCP_USER_TASKS_MAX, &rows, &n, &e),
                    &e))
        return;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_pack("{s:s, s:s, s:s?, s:s}", "id", rows[i].id, "title", rows[i].title, "detail",
                              rows[i].detail, "status", rows[i].status);
        if (json_object_get(t, "detail") == NULL)
            json_object_set_new(t, "detail", json_null());
        json_object_set_new(t, "created_at", api_json_time(rows[i].created_at));
        json_array_append_new(out, t);
    }
    mcp_done_json(c, out, JSON_COMPACT);
}

/* The task id argument: a malformed one names no task (404, as the REST route answers it). */
static bool arg_task_id(mcp_call *c, const char **id)
{
    if (!mcp_arg_str(c, "user_task_id", true, id))
        return false;
    *id = id_is_uuid(*id, strlen(*id)) ? id_lower(arena_strdup(c->rq->arena, *id)) : "";
    return true;
}

static void update_user_task(mcp_call *c)
{
    const char *id;
    user_task_patch p = {0};
    cl_error e;
    if (!arg_task_id(c, &id) || !mcp_arg_opt(c, "title", &p.title) || !mcp_arg_opt(c, "detail", &p.detail) ||
        !mcp_arg_opt(c, "status", &p.status))
        return;
    const char *by = api_caller(c->rq)->kind == CALLER_WORKSPACE ? "agent" : "human"; /* as the PATCH route */
    if (mcp_ok_or_fail(c, user_task_update(c->rq->db, c->rq->arena, c->self->id, id, &p, by, &e), &e))
        mcp_call_done(c, "User task updated.");
}

static void delete_user_task(mcp_call *c)
{
    const char *id;
    cl_error e;
    if (arg_task_id(c, &id) && mcp_ok_or_fail(c, user_task_delete(c->rq->db, c->rq->arena, c->self->id, id, &e), &e))
        mcp_call_done(c, "User task deleted.");
}

/* ---- the table ---------------------------------------------------------------------------------------------- */

typedef struct {
    const char *name, *description;
    const char *input_schema; /* JSON text */
    void (*run)(mcp_call *c);
    bool (*listed)(void); /* NULL: always offered */
} mcp_tool;

#define ATTACHMENTS                                                                                                \
    "\"attachments\": {\"type\": \"array\", \"description\": \"files to pass along\", \"items\": {\"type\": "     \
    "\"object\", \"properties\": {\"uri\": {\"type\": \"string\"}, \"name\": {\"type\": \"string\"}, "            \
    "\"mimeType\": {\"type\": \"string\"}, \"size\": {\"type\": \"number\"}}, \"required\": [\"uri\", \"name\"]}}"
#define DELEGATE_SCHEMA                                                                                            \
    "{\"type\": \"object\", \"properties\": {\"workspace_id\": {\"type\": \"string\", \"description\": \"the peer "  \
    "workspace to hand the task to (see list_peers)\"}, \"task\": {\"type\": \"string\", \"description\": \"what "  \
    "the peer should do\"}, " ATTACHMENTS "}, \"required\": [\"workspace_id\", \"task\"]}"
#define NO_ARGS "{\"type\": \"object\", \"properties\": {}, \"required\": []}"

static const mcp_tool TOOLS[] = {
    {"delegate_task",
     "Delegate a task to a peer workspace and wait for its answer (up to the bridge's wait; past it the delegation "
     "goes on and check_task_status follows it).",
     DELEGATE_SCHEMA, delegate_task, NULL},
    {"delegate_task_async",
     "Delegate a task to a peer workspace without waiting; returns a task_id to follow with check_task_status.",
     DELEGATE_SCHEMA, delegate_task_async, NULL},
    {"check_task_status", "Status (and result, once completed) of a task delegated earlier.",
     "{\"type\": \"object\", \"properties\": {\"workspace_id\": {\"type\": \"string\", \"description\": \"the "
     "workspace the task was delegated to\"}, \"task_id\": {\"type\": \"string\", \"description\": \"the task_id "
     "the delegation returned\"}}, \"required\": [\"workspace_id\", \"task_id\"]}",
     check_task_status, NULL},
    {"list_peers", "The workspaces this one may delegate to: its siblings, its children and its parent.", NO_ARGS,
     list_peers, NULL},
    {"get_workspace_info", "This workspace: id, name, role, tier, status and parent.", NO_ARGS, get_workspace_info,
     NULL},
    {"send_message_to_user", "Send a message (with files) to the user's chat with this workspace.",
     "{\"type\": \"object\", \"properties\": {\"message\": {\"type\": \"string\", \"description\": \"the message\"}, "
     ATTACHMENTS "}, \"required\": [\"message\"]}",
     send_message_to_user, send_message_listed},
    {"request_user_action", "Ask the user to do something (a user task they resolve when done).",
     "{\"type\": \"object\", \"properties\": {\"title\": {\"type\": \"string\", \"description\": \"what the user "
     "should do\"}, \"detail\": {\"type\": \"string\", \"description\": \"more about it\"}}, \"required\": "
     "[\"title\"]}",
     request_user_action, NULL},
    {"list_user_tasks", "The user tasks this workspace asked for, newest first (at most 50).", NO_ARGS,
     list_user_tasks, NULL},
    {"update_user_task", "Change a user task of this workspace: its title, detail or status (empty means unchanged).",
     "{\"type\": \"object\", \"properties\": {\"user_task_id\": {\"type\": \"string\"}, \"title\": {\"type\": "
     "\"string\"}, \"detail\": {\"type\": \"string\"}, \"status\": {\"type\": \"string\", \"enum\": [\"pending\", "
     "\"done\", \"dismissed\"]}}, \"required\": [\"user_task_id\"]}",
     update_user_task, NULL},
    {"delete_user_task", "Delete a user task of this workspace.",
     "{\"type\": \"object\", \"properties\": {\"user_task_id\": {\"type\": \"string\"}}, \"required\": "
     "[\"user_task_id\"]}",
     delete_user_task, NULL},
    {"commit_memory", "Remember something: LOCAL (this workspace, the default) or TEAM (shared with its team).",
     "{\"type\": \"object\", \"properties\": {\"content\": {\"type\": \"string\", \"description\": \"what to "
     "remember\"}, \"scope\": {\"type\": \"string\", \"enum\": [\"LOCAL\", \"TEAM\"]}}, \"required\": [\"content\"]}",
     mcp_commit_memory, NULL},
    {"recall_memory", "Recall memories: all this workspace may read (scope \"\"), its own (LOCAL), or its own and its "
     "team's (TEAM), best matches of the query first.",
     "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\", \"description\": \"words to "
     "look for (none: the newest)\"}, \"scope\": {\"type\": \"string\", \"enum\": [\"LOCAL\", \"TEAM\", \"\"]}}, "
     "\"required\": []}",
     mcp_recall_memory, NULL},
    {"commit_memory_v2", "Store a memory in a namespace this workspace may write (default: its own).",
     "{\"type\": \"object\", \"properties\": {\"content\": {\"type\": \"string\"}, \"namespace\": {\"type\": "
     "\"string\", \"description\": \"see list_writable_namespaces\"}, \"kind\": {\"type\": \"string\", \"enum\": "
     "[\"fact\", \"summary\", \"checkpoint\"]}, \"expires_at\": {\"type\": \"string\", \"description\": \"RFC "
     "3339\"}, \"pin\": {\"type\": \"boolean\"}}, \"required\": [\"content\"]}",
     mcp_commit_memory_v2, NULL},
    {"search_memory", "Search the memories of the namespaces this workspace may read.",
     "{\"type\": \"object\", \"properties\": {\"query\": {\"type\": \"string\"}, \"namespaces\": {\"type\": "
     "\"array\", \"items\": {\"type\": \"string\"}}, \"kinds\": {\"type\": \"array\", \"items\": {\"type\": "
     "\"string\", \"enum\": [\"fact\", \"summary\", \"checkpoint\"]}}, \"limit\": {\"type\": \"integer\"}}, "
     "\"required\": []}",
     mcp_search_memory, NULL},
    {"commit_summary", "Store a summary (kept 30 days unless expires_at says otherwise).",
     "{\"type\": \"object\", \"properties\": {\"content\": {\"type\": \"string\"}, \"namespace\": {\"type\": "
     "\"string\"}, \"expires_at\": {\"type\": \"string\", \"description\": \"RFC 3339\"}}, \"required\": "
     "[\"content\"]}",
     mcp_commit_summary, NULL},
    {"list_writable_namespaces", "The memory namespaces this workspace may write.", NO_ARGS,
     mcp_list_writable_namespaces, NULL},
    {"list_readable_namespaces", "The memory namespaces this workspace may read.", NO_ARGS,
     mcp_list_readable_namespaces, NULL},
    {"forget_memory", "Delete a memory of a namespace this workspace may write (default: its own).",
     "{\"type\": \"object\", \"properties\": {\"memory_id\": {\"type\": \"string\"}, \"namespace\": {\"type\": "
     "\"string\"}}, \"required\": [\"memory_id\"]}",
     mcp_forget_memory, NULL},
};

enum { NTOOLS = sizeof(TOOLS) / sizeof(TOOLS[0]) };

static bool offered(const mcp_tool *t) { return t->listed == NULL || t->listed(); }

json_t *mcp_tools_list(void)
{
    json_t *tools = json_array();
    for (size_t i = 0; i < NTOOLS; i++) {
        if (!offered(&TOOLS[i]))
            continue;
        json_t *schema = json_loads(TOOLS[i].input_schema, 0, NULL);
        json_array_append_new(tools, json_pack("{s:s, s:s, s:o}", "name", TOOLS[i].name, "description",
                                               TOOLS[i].description, "inputSchema", schema ? schema : json_object()));
    }
    return json_pack("{s:o}", "tools", tools);
}

void mcp_tool_call(mcp_call *c)
{
    const mcp_tool *t = NULL;
    for (size_t i = 0; i < NTOOLS && t == NULL; i++)
        if (strcmp(TOOLS[i].name, c->tool) == 0)
            t = &TOOLS[i];
    if (t == NULL)
        mcp_fail(c, CL_NOT_FOUND, "unknown tool");
    else
        t->run(c); /* a tool offered only sometimes refuses itself (send_message_to_user) */
}
