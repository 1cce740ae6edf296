/* metrics.h - process-wide counters and gauges (atomics), declared in one table and rendered in the Prometheus
 * text format. Families with labels list one row per label set; HELP/TYPE are printed once per family, from its
 * first row, and a family's rows are rendered together wherever they stand in the table (so a new label set can be
 * appended at the end). */
#ifndef COLONY_BASE_METRICS_H
#define COLONY_BASE_METRICS_H

#include <stdint.h>

#include "base/buf.h"

/* XX(ID, type, family name, label set, help) */
#define METRICS_MAP(XX)                                                                                            \
    XX(DB_ERRORS, "counter", "colony_db_errors_total", "", "Database errors (not counting no-row results).")      \
    XX(DB_UP, "gauge", "colony_db_up", "", "1 while the last database check (every second) succeeded, else 0.")    \
    XX(POOL_QUEUED_FAST, "gauge", "colony_pool_queued", "lane=\"fast\"",                                          \
       "Requests and jobs waiting for a worker thread, by lane.")                                                 \
    XX(POOL_QUEUED_SLOW, "gauge", "colony_pool_queued", "lane=\"slow\"", "")                                      \
    XX(HTTP_INFLIGHT, "gauge", "colony_http_requests_in_flight", "", "Requests being served now.")                \
    XX(HTTP_CONNECTIONS, "gauge", "colony_http_connections_open", "", "Open client connections.")                \
    XX(HEARTBEATS, "counter", "colony_heartbeats_total", "", "Heartbeats received.")                               \
    XX(LIVENESS_OFFLINE, "counter", "colony_liveness_flips_total", "to=\"offline\"",                                \
       "Workspace status changes made by liveness: stale heartbeat, recovery, degradation.")                      \
    XX(LIVENESS_ONLINE, "counter", "colony_liveness_flips_total", "to=\"online\"", "")                              \
    XX(LIVENESS_DEGRADED, "counter", "colony_liveness_flips_total", "to=\"degraded\"", "")                          \
    XX(PHANTOM_BUSY_RESETS, "counter", "colony_phantom_busy_resets_total", "",                                     \
       "Workspaces whose active_tasks was reset after 10 minutes without activity.")                              \
    XX(HUB_PUBLISHES, "counter", "colony_events_published_total", "",                                            \
       "Commits that published events to live subscribers (a transaction's events count once).")                 \
    XX(EVENTS_DELIVERED, "counter", "colony_events_delivered_total", "", "Event frames written to subscribers.")  \
    XX(SUBSCRIBERS_DROPPED, "counter", "colony_event_subscribers_dropped_total", "",                              \
       "Subscribers disconnected for falling too far behind (they can resume).")                                  \
    XX(STREAMS_REFUSED_TOTAL, "counter", "colony_event_streams_refused_total", "reason=\"node_limit\"",            \
       "Event streams refused (429) by the caps: per node, per credential.")                                       \
    XX(STREAMS_REFUSED_KEY, "counter", "colony_event_streams_refused_total", "reason=\"credential_limit\"", "")    \
    XX(EVENT_MEMORY, "gauge", "colony_event_memory_bytes", "",                                                   \
       "Bytes of rendered events held for live subscribers (ring, writes in flight, backlog pages).")             \
    XX(STREAMS_REVOKED, "counter", "colony_event_streams_revoked_total", "",                                       \
       "Event streams closed because their token was revoked or their workspace removed.")                        \
    XX(WS_CONNECTIONS, "gauge", "colony_websocket_connections_active", "", "Open WebSocket event subscribers.")   \
    XX(SSE_CONNECTIONS, "gauge", "colony_sse_connections_active", "", "Open server-sent-event subscribers.")       \
    XX(UPLOADS_SWEPT_ACKED, "counter", "colony_pending_uploads_swept_total", "outcome=\"acked\"",                   \
       "Staged chat uploads deleted by the sweeper: acknowledged past retention, expired unacknowledged, errors.") \
    XX(UPLOADS_SWEPT_EXPIRED, "counter", "colony_pending_uploads_swept_total", "outcome=\"expired\"", "")          \
    XX(UPLOADS_SWEPT_ERROR, "counter", "colony_pending_uploads_swept_total", "outcome=\"error\"", "")              \
    XX(SWEEPS_LIVENESS, "counter", "colony_sweeper_runs_total", "job=\"liveness\"", "Background sweeper runs.")    \
    XX(SWEEPS_A2A, "counter", "colony_sweeper_runs_total", "job=\"a2a_queue\"", "")                                  \
    XX(SWEEPS_DELEGATIONS, "counter", "colony_sweeper_runs_total", "job=\"delegations\"", "")                        \
    XX(SWEEP_ERRORS_LIVENESS, "counter", "colony_sweeper_errors_total", "job=\"liveness\"",                        \
       "Background sweeper runs that failed (they are retried on the next tick).")                                \
    XX(SWEEP_ERRORS_A2A, "counter", "colony_sweeper_errors_total", "job=\"a2a_queue\"", "")                          \
    XX(SWEEP_ERRORS_DELEGATIONS, "counter", "colony_sweeper_errors_total", "job=\"delegations\"", "")                \
    XX(A2A_DELIVERED, "counter", "colony_a2a_messages_total", "outcome=\"delivered\"",                              \
       "A2A messages by outcome: delivered to a push agent, stored for a poll agent, answered from an earlier "   \
       "reply, queued because the agent was busy, failed.")                                                       \
    XX(A2A_POLL, "counter", "colony_a2a_messages_total", "outcome=\"stored_for_poll\"", "")                          \
    XX(A2A_DEDUPED, "counter", "colony_a2a_messages_total", "outcome=\"deduplicated\"", "")                          \
    XX(A2A_BUSY, "counter", "colony_a2a_messages_total", "outcome=\"busy\"", "")                                     \
    XX(A2A_FAILED, "counter", "colony_a2a_messages_total", "outcome=\"failed\"", "")                                 \
    XX(A2A_QUEUED, "counter", "colony_a2a_queue_total", "event=\"enqueued\"",                                       \
       "Busy-queue rows: enqueued, delivered by the dispatcher, retried after back-off, failed (expired or "       \
       "target gone), dropped by an operator, requeued after an interrupted delivery.")                           \
    XX(QUEUE_DELIVERED, "counter", "colony_a2a_queue_total", "event=\"delivered\"", "")                              \
    XX(QUEUE_RETRIES, "counter", "colony_a2a_queue_total", "event=\"retried\"", "")                                  \
    XX(QUEUE_FAILED, "counter", "colony_a2a_queue_total", "event=\"failed\"", "")                                    \
    XX(A2A_DROPPED, "counter", "colony_a2a_queue_total", "event=\"dropped\"", "")                                    \
    XX(QUEUE_REAPED, "counter", "colony_a2a_queue_total", "event=\"requeued\"", "")                                  \
    XX(QUEUE_DEPTH, "gauge", "colony_a2a_queue_depth", "", "Busy-queue rows waiting for delivery (all nodes).")      \
    XX(DELEG_COMPLETED, "counter", "colony_delegations_total", "outcome=\"completed\"",                              \
       "Delegations that reached an end state.")                                                                  \
    XX(DELEG_FAILED, "counter", "colony_delegations_total", "outcome=\"failed\"", "")                                \
    XX(DELEG_STUCK, "counter", "colony_delegations_total", "outcome=\"stuck\"", "")                                \
    XX(OUTBOUND_REFUSED_URL, "counter", "colony_outbound_refused_total", "stage=\"url\"",                          \
       "Agent addresses refused by the outbound-address policy: in a URL (register, update-card, create, send), "  \
       "or where a connection was about to be dialled (the addresses a name resolved to).")                       \
    XX(OUTBOUND_REFUSED_DIAL, "counter", "colony_outbound_refused_total", "stage=\"dial\"", "")                      \
    XX(REGISTRY_BOOTSTRAPS, "counter", "colony_registry_bootstraps_total", "",                                     \
       "New workspaces registered without a token (bootstrap of an id that did not exist).")                      \
    XX(REGISTRY_REFUSED_AUTH, "counter", "colony_registry_refused_total", "reason=\"unauthorized\"",              \
       "Registry calls refused: no token of that workspace (401), or too many anonymous bootstraps from one "    \
       "client address (429).")                                                                                   \
    XX(REGISTRY_REFUSED_RATE, "counter", "colony_registry_refused_total", "reason=\"rate_limited\"", "")            \
    XX(HTTP_FRAMING_REFUSED, "counter", "colony_http_framing_refused_total", "",                                   \
       "Requests refused for ambiguous framing (conflicting Content-Length, or Content-Length with "             \
       "Transfer-Encoding); their connection is closed.")                                                         \
    XX(SWEEPS_REQUEST_NUDGES, "counter", "colony_sweeper_runs_total", "job=\"request_nudges\"", "")                  \
    XX(SWEEP_ERRORS_REQUEST_NUDGES, "counter", "colony_sweeper_errors_total", "job=\"request_nudges\"", "")          \
    XX(REQUEST_NUDGES, "counter", "colony_request_nudges_total", "",                                               \
       "Idle agents nudged about the inbox requests waiting for them (one notification turn each).")              \
    XX(REQUEST_NUDGED_ITEMS, "counter", "colony_request_nudged_items_total", "",                                   \
       "Inbox requests counted in those nudges.")                                                                 \
    XX(APPROVAL_GATE_PENDING, "counter", "colony_approval_gate_total", "outcome=\"pending_approval\"",             \
       "Admin operations that met the approval gate: held for an approval, or let through by consuming one.")    \
    XX(APPROVAL_GATE_CONSUMED, "counter", "colony_approval_gate_total", "outcome=\"approved\"", "")               \
    XX(SECRETS_UNREADABLE, "counter", "colony_secrets_decrypt_failures_total", "",                                 \
       "Stored secrets that did not open (altered, moved to another row, or sealed under a key this node lacks); " \
       "each is refused, never served, and logged by name.")                                                       \
    XX(SCHED_FIRED, "counter", "colony_schedule_occurrences_total", "outcome=\"fired\"",                            \
       "Schedule occurrences on this node: fired (claimed and handed to the A2A path), failed (the run ended in "  \
       "an error), skipped (missed while no node ran it and coalesced into a later one, busy and not queued, or "  \
       "an expression that no longer reads).")                                                                    \
    XX(SCHED_FAILED, "counter", "colony_schedule_occurrences_total", "outcome=\"failed\"", "")                      \
    XX(SCHED_SKIPPED, "counter", "colony_schedule_occurrences_total", "outcome=\"skipped\"", "")                    \
    XX(SCHED_CLAIMS_LOST, "counter", "colony_schedule_claims_lost_total", "",                                      \
       "Due occurrences this node found already claimed by another node (each occurrence fires once).")          \
    XX(SCHED_TICKS, "counter", "colony_scheduler_ticks_total", "", "Looks of the scheduler for due schedules.")   \
    XX(SCHED_ERRORS, "counter", "colony_scheduler_errors_total", "",                                              \
       "Scheduler database errors (retried on the next look).")                                                    \
    XX(A2A_BUDGET_REFUSED, "counter", "colony_a2a_messages_total", "outcome=\"budget_exceeded\"", "")               \
    XX(A2A_HELD_PAUSED, "counter", "colony_a2a_messages_total", "outcome=\"held_paused\"", "")                      \
    XX(A2A_HELD_METERED, "counter", "colony_a2a_messages_total", "outcome=\"held_metered\"", "")                    \
    XX(AUDIT_APPENDED, "counter", "colony_audit_entries_appended_total", "", "Audit ledger entries appended.")      \
    XX(AUDIT_VERIFIED, "counter", "colony_audit_entries_verified_total", "",                                       \
       "Audit ledger entries hashed by verifications (once each, unless a full verification is asked for).")     \
    XX(TICK_LIVENESS, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"liveness-sweeper\"",                 \
       "When each background subsystem of this node last ran, in ms since the epoch (GET /admin/liveness).")     \
    XX(TICK_QUEUE, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"a2a-queue-sweeper\"", "")                \
    XX(TICK_UPLOADS, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"upload-sweeper\"", "")                 \
    XX(TICK_DELEGATIONS, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"delegation-sweeper\"", "")         \
    XX(TICK_NUDGES, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"request-nudge-sweeper\"", "")           \
    XX(TICK_DISPATCHER, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"a2a-dispatcher\"", "")              \
    XX(TICK_SCHEDULER, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"scheduler\"", "")                    \
    XX(MEMORY_WRITTEN, "counter", "colony_memory_records_written_total", "",                                      \
       "Memories stored (REST, MCP tools, admin import, org templates).")                                        \
    XX(MEMORY_REDACTED, "counter", "colony_memory_redactions_total", "",                                         \
       "Memory writes whose content had secrets replaced by [REDACTED:<label>] before it was stored.")           \
    XX(MEMORY_REFUSED_TOO_LARGE, "counter", "colony_memory_writes_refused_total", "reason=\"record_too_large\"",  \
       "Memory writes refused by a size bound: a record over --memory-max-content, a namespace over "            \
       "--memory-namespace-max-records or --memory-namespace-max-bytes.")                                        \
    XX(MEMORY_REFUSED_FULL, "counter", "colony_memory_writes_refused_total", "reason=\"namespace_full\"", "")     \
    XX(SWEEPS_MEMORY, "counter", "colony_sweeper_runs_total", "job=\"memory_expiry\"", "")                       \
    XX(SWEEP_ERRORS_MEMORY, "counter", "colony_sweeper_errors_total", "job=\"memory_expiry\"", "")               \
    XX(MEMORY_EXPIRED, "counter", "colony_memory_expired_total", "kind=\"record\"",                              \
       "Expired memories and key/value entries deleted by the sweeper.")                                         \
    XX(MEMORY_KV_EXPIRED, "counter", "colony_memory_expired_total", "kind=\"value\"", "")                     \
    XX(TICK_COURIER, "gauge", "colony_subsystem_last_tick_ms", "subsystem=\"channel-courier\"", "")               \
    XX(CHAN_WEBHOOKS, "counter", "colony_channel_webhooks_total", "outcome=\"accepted\"",                         \
       "Incoming chat webhooks, by outcome.")                                                                      \
    XX(CHAN_WEBHOOK_DUPLICATES, "counter", "colony_channel_webhooks_total", "outcome=\"duplicate\"", "")          \
    XX(CHAN_WEBHOOK_REFUSED, "counter", "colony_channel_webhooks_total", "outcome=\"refused\"", "")              \
    XX(CHAN_RELAYED, "counter", "colony_channel_relays_total", "", "Incoming chat messages relayed to agents.")    \
    XX(CHAN_SENT, "counter", "colony_channel_sends_total", "outcome=\"sent\"",                                    \
       "Outgoing chat messages, by outcome (retried: one per retryable failure).")                                \
    XX(CHAN_SEND_RETRIED, "counter", "colony_channel_sends_total", "outcome=\"retried\"", "")                     \
    XX(CHAN_SEND_FAILED, "counter", "colony_channel_sends_total", "outcome=\"failed\"", "")                       \
    XX(CHAN_ERRORS, "counter", "colony_channel_courier_errors_total", "",                                         \
       "Database errors of the channel courier (retried on its next turn).")                                      \
    XX(MCP_TOOL_OK, "counter", "colony_mcp_tool_calls_total", "outcome=\"ok\"",                                 \
       "MCP tools/call by outcome: answered, or failed (a tool error, -32000).")                                 \
    XX(MCP_TOOL_FAILED, "counter", "colony_mcp_tool_calls_total", "outcome=\"failed\"", "")                      \
    XX(MCP_RATE_LIMITED, "counter", "colony_mcp_rate_limited_total", "",                                          \
       "MCP requests refused (429) by the per-token limit.")                                \
    XX(CHAT_DOWNLOADS_INFLIGHT, "gauge", "colony_chat_download_relays_in_flight", "",                            \
       "Chat downloads being relayed (each holds the agent's answer until its caller has read it).")            \
    XX(CHAT_DOWNLOADS_REFUSED, "counter", "colony_chat_download_refused_total", "",                                \
       "Chat downloads refused with 503 because --chat-download-max-concurrent relays were in flight.")           \
    XX(BROADCAST_RATE_LIMITED, "counter", "colony_broadcasts_refused_total", "reason=\"rate\"",                  \
       "Broadcasts refused with 429: their sender passed --broadcast-rate-limit.")                                \
    XX(CHAN_RELAY_FAILED, "counter", "colony_channel_relays_failed_total", "",                                    \
       "Incoming chat messages not relayed, or whose reply could not be read (an activity row says why).")

typedef enum {
#define XX(id, type, name, labels, help) METRIC_##id,
    METRICS_MAP(XX)
#undef XX
        METRIC__COUNT
} metric_id;

void metric_add(metric_id id, int64_t delta);
/* Set a gauge. */
void metric_set(metric_id id, int64_t value);
static inline void metric_inc(metric_id id) { metric_add(id, 1); }
int64_t metric_get(metric_id id);

/* Append every metric of the table to `out` (HELP and TYPE lines included). */
void metrics_render(buf_t *out);

#endif
