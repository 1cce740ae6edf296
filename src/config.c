/* config.c - see config.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"

typedef enum { OPT_STR, OPT_LONG, OPT_BOOL } opt_type;

typedef struct {
    const char *flag, *env, *def, *help;
    opt_type type;
    size_t offset;
    long min, max;
} opt;

#define OFF(f) offsetof(config_t, f)

static const opt OPTS[] = {
    {"--listen", "COLONY_LISTEN", "127.0.0.1:8080", "address to listen on, host:port (PORT=n means 0.0.0.0:n)",
     OPT_STR, OFF(listen), 0, 0},
    {"--db", "DATABASE_URL", "./colony.db", "SQLite file path, or postgres://user@host/db", OPT_STR, OFF(db), 0, 0},
    {"--threads", "COLONY_THREADS", "0", "I/O threads (0: one per core)", OPT_LONG, OFF(threads), 0,
     CONFIG_MAX_THREADS},
    {"--db-workers", "COLONY_DB_WORKERS", "4",
     "worker threads (each with its own database connection) that run requests needing the database", OPT_LONG,
     OFF(db_workers), 1, 256},
    {"--db-slow-workers", "COLONY_DB_SLOW_WORKERS", "2",
     "worker threads for slow requests (imports, big lists, uploads), so they never delay the others", OPT_LONG,
     OFF(db_slow_workers), 1, 64},
    {"--db-timeout-ms", "COLONY_DB_TIMEOUT_MS", "10000",
     "longest a PostgreSQL connect or statement may take before the request fails with 503", OPT_LONG,
     OFF(db_timeout_ms), 100, 600000},
    {"--max-body", "COLONY_MAX_BODY", "16777216", "largest request body in bytes (413 past it)", OPT_LONG,
     OFF(max_body), 1024, 1L << 30},
    {"--shutdown-timeout-ms", "COLONY_SHUTDOWN_TIMEOUT_MS", "10000",
     "how long in-flight requests may run after SIGTERM", OPT_LONG, OFF(shutdown_timeout_ms), 0, 600000},
    {"--cors-origins", "CORS_ORIGINS", "http://localhost:3000,http://localhost:3001",
     "comma-separated origins allowed cross-site (\"*\": any)", OPT_STR, OFF(cors_origins), 0, 0},
    {"--log-level", "COLONY_LOG_LEVEL", "info", "debug, info, warn or error", OPT_STR, OFF(log_level), 0, 0},
    {"--templates-dir", "ORG_TEMPLATES_DIR", "org-templates", "directory of org templates (<dir>/<name>/org.yaml)",
     OPT_STR, OFF(templates_dir), 0, 0},
    {"--liveness-stale-after", "REMOTE_LIVENESS_STALE_AFTER", "180",
     "seconds without a heartbeat before a workspace is offline", OPT_LONG, OFF(stale_after_s), 1, 86400},
    {"--sweep-interval-ms", "COLONY_SWEEP_INTERVAL_MS", "5000", "how often the liveness sweeper runs", OPT_LONG,
     OFF(sweep_interval_ms), 50, 3600000},
    {"--dev-open-events", "COLONY_DEV_OPEN_EVENTS", "false",
     "let anonymous canvases on loopback subscribe to /ws (local development only)", OPT_BOOL, OFF(dev_open_events),
     0, 0},
    {"--allow-private-agent-urls", "ALLOW_PRIVATE_AGENT_URLS", "false",
     "let agent URLs use loopback and private addresses (development; never link-local/metadata, unspecified or "
     "multicast)",
     OPT_BOOL, OFF(allow_private_agent_urls), 0, 0},
    {"--bootstrap-rate-limit", "COLONY_BOOTSTRAP_RATE_LIMIT", "10",
     "anonymous registrations of new workspaces per minute per client address (burst as large)", OPT_LONG,
     OFF(bootstrap_rate_limit), 1, 1000000},
    {"--events-max-lag", "COLONY_EVENTS_MAX_LAG", "20000",
     "events a live subscriber may fall behind before it is disconnected (it resumes with since=)", OPT_LONG,
     OFF(events_max_lag), 1, 100000000},
    {"--events-stall-ms", "COLONY_EVENTS_STALL_MS", "60000",
     "how long a subscriber may stop reading while events wait for it before it is disconnected", OPT_LONG,
     OFF(events_stall_ms), 100, 86400000},
    {"--events-max-queued", "COLONY_EVENTS_MAX_QUEUED", "65536",
     "bytes written to one subscriber at a time (at least one event)", OPT_LONG, OFF(events_max_queued), 1024,
     16 << 20},
    {"--events-memory-max", "COLONY_EVENTS_MEMORY_MAX", "67108864",
     "bytes all subscribers' backlog pages may hold on this node (besides the 16 MiB ring of recent events)",
     OPT_LONG, OFF(events_memory_max), 1 << 20, 1L << 34},
    {"--events-max-streams", "COLONY_EVENTS_MAX_STREAMS", "20000", "open event streams on this node (429 past it)",
     OPT_LONG, OFF(events_max_streams), 1, 1000000},
    {"--events-max-streams-per-token", "COLONY_EVENTS_MAX_STREAMS_PER_TOKEN", "200",
     "open event streams of one token on this node (429 past it)", OPT_LONG, OFF(events_max_per_token), 1, 1000000},
    {"--upload-sweep-interval-ms", "COLONY_UPLOAD_SWEEP_INTERVAL_MS", "300000",
     "how often staged chat uploads are swept", OPT_LONG, OFF(upload_sweep_interval_ms), 50, 86400000},
    {"--broadcast-rate-limit", "COLONY_BROADCAST_RATE_LIMIT", "10",
     "broadcasts per minute per sending workspace (burst as large; each writes to its whole org)", OPT_LONG,
     OFF(broadcast_rate_limit), 1, 1000000},
    {"--chat-download-max-concurrent", "COLONY_CHAT_DOWNLOAD_MAX_CONCURRENT", "8",
     "chat downloads relayed at once (each holds up to the file cap until its caller has read it); 503 past it",
     OPT_LONG, OFF(chat_download_max_concurrent), 1, 4096},
    {"--upload-ack-retention", "COLONY_UPLOAD_ACK_RETENTION", "3600",
     "seconds an acknowledged staged upload is kept", OPT_LONG, OFF(upload_ack_retention_s), 0, 30 * 86400},
    {"--upload-max-file", "COLONY_UPLOAD_MAX_FILE", "104857600",
     "largest chat upload file in bytes (never above --max-body)", OPT_LONG, OFF(upload_max_file), 1, 104857600},
    {"--a2a-connect-timeout-ms", "A2A_CONNECT_TIMEOUT_MS", "10000", "how long a push to an agent may take to connect",
     OPT_LONG, OFF(a2a_connect_timeout_ms), 100, 600000},
    {"--a2a-idle-timeout", "A2A_IDLE_TIMEOUT_SECONDS", "1800",
     "seconds an agent may stay silent while answering an A2A push (then the message is queued)", OPT_LONG,
     OFF(a2a_idle_timeout_s), 1, 86400},
    {"--a2a-max-response", "A2A_MAX_RESPONSE", "67108864", "largest A2A reply accepted from an agent, in bytes",
     OPT_LONG, OFF(a2a_max_response), 1024, 1L << 30},
    {"--a2a-queue-ttl", "A2A_QUEUE_TTL_SECONDS", "3600",
     "seconds a busy-queued message is retried when it names no expires_in_seconds", OPT_LONG, OFF(a2a_queue_ttl_s),
     1, 30 * 86400},
    {"--a2a-dispatch-interval-ms", "A2A_DISPATCH_INTERVAL_MS", "1000", "how often the busy queue is dispatched",
     OPT_LONG, OFF(a2a_dispatch_interval_ms), 20, 600000},
    {"--delegation-sweep-interval-ms", "DELEGATION_SWEEPER_INTERVAL_MS", "300000",
     "how often delegations are checked for deadlines and silence", OPT_LONG, OFF(delegation_sweep_interval_ms), 50,
     86400000},
    {"--delegation-stuck-after", "DELEGATION_STUCK_THRESHOLD_S", "600",
     "seconds without a heartbeat from the callee before an in-progress delegation is stuck", OPT_LONG,
     OFF(delegation_stuck_after_s), 1, 30 * 86400},
    {"--access-log", "COLONY_ACCESS_LOG", "true", "one log line per request (true/false)", OPT_BOOL, OFF(access_log),
     0, 0},
    {"--request-nudge-interval-ms", "REQUEST_NUDGE_SWEEPER_INTERVAL_MS", "300000",
     "how often idle agents are nudged about inbox requests waiting for them", OPT_LONG,
     OFF(request_nudge_interval_ms), 50, 86400000},
    {"--request-nudge-disabled", "REQUEST_NUDGE_SWEEPER_DISABLED", "false", "never nudge agents about their inbox",
     OPT_BOOL, OFF(request_nudge_disabled), 0, 0},
    {"--request-nudge-after", "REQUEST_NUDGE_AFTER_S", "600",
     "seconds an inbox request waits before its recipient agent is nudged", OPT_LONG, OFF(request_nudge_after_s), 0,
     30 * 86400},
    {"--request-nudge-repeat", "REQUEST_NUDGE_REPEAT_S", "3600",
     "seconds before the same inbox request is counted in a nudge again", OPT_LONG, OFF(request_nudge_repeat_s), 1,
     30 * 86400},
    {"--approval-gate", "MOLECULE_PLATFORM_APPROVAL_GATE", "false",
     "hold admin operations (org token mint) for an approval by another credential", OPT_BOOL, OFF(approval_gate), 0,
     0},
    {"--platform-workspace-id", "MOLECULE_PLATFORM_WORKSPACE_ID", "",
     "workspace that anchors the approvals of admin-token callers (default: the platform root)", OPT_STR,
     OFF(platform_workspace_id), 0, 0},
    {"--secrets-key-file", "COLONY_SECRETS_KEY_FILE", "",
     "file holding the secrets key (32 random bytes, hex or base64; or the key itself in COLONY_SECRETS_KEY)",
     OPT_STR, OFF(secrets_key_file), 0, 0},
    {"--secrets-old-key-file", "COLONY_SECRETS_OLD_KEY_FILE", "",
     "file holding the previous secrets key: values sealed under it still open, and `colony secrets rotate-key` "
     "re-seals them under the current one (or the key itself in COLONY_SECRETS_OLD_KEY)",
     OPT_STR, OFF(secrets_old_key_file), 0, 0},
    {"--schedule-interval-ms", "COLONY_SCHEDULE_INTERVAL_MS", "1000",
     "longest the scheduler sleeps between looks for due schedules (it wakes for the next known run sooner)",
     OPT_LONG, OFF(schedule_interval_ms), 20, 60000},
    {"--schedule-max-per-workspace", "COLONY_SCHEDULE_MAX_PER_WORKSPACE", "100", "schedules one workspace may have",
     OPT_LONG, OFF(schedule_max_per_workspace), 1, 10000},
    {"--schedule-seconds", "COLONY_SCHEDULE_SECONDS", "false",
     "accept cron expressions with a leading seconds field (six fields; the reference takes five)", OPT_BOOL,
     OFF(schedule_seconds), 0, 0},
    {"--audit-key-file", "AUDIT_LEDGER_SALT_FILE", "",
     "file holding the audit ledger passphrase (else the AUDIT_LEDGER_SALT variable; neither: no audit ledger)",
     OPT_STR, OFF(audit_key_file), 0, 0},
    {"--configs-dir", "CONFIGS_DIR", "workspace-configs-templates",
     "directory of workspace templates (<dir>/<name>/config.yaml …): GET /templates, template imports, a workspace's "
     "files until it stores its own",
     OPT_STR, OFF(configs_dir), 0, 0},
    {"--plugins-dir", "PLUGINS_DIR", "plugins",
     "directory of the plugins registry (<dir>/<name>/plugin.yaml …): GET /plugins and plugin downloads", OPT_STR,
     OFF(plugins_dir), 0, 0},
    {"--memory-max-content", "COLONY_MEMORY_MAX_CONTENT", "65536",
     "largest memory, in bytes of content (413 past it)", OPT_LONG, OFF(memory_max_content), 1, 1 << 20},
    {"--memory-namespace-max-records", "COLONY_MEMORY_NAMESPACE_MAX_RECORDS", "100000",
     "memories one namespace may hold (409 namespace_full past it)", OPT_LONG, OFF(memory_namespace_max_records), 1,
     100000000},
    {"--memory-namespace-max-bytes", "COLONY_MEMORY_NAMESPACE_MAX_BYTES", "268435456",
     "bytes of content one namespace may hold (409 namespace_full past it)", OPT_LONG,
     OFF(memory_namespace_max_bytes), 1, 1L << 40},
    {"--memory-sweep-interval-ms", "COLONY_MEMORY_SWEEP_INTERVAL_MS", "60000",
     "how often expired memories and key/value entries are deleted", OPT_LONG, OFF(memory_sweep_interval_ms), 50,
     86400000},
    {"--channel-interval-ms", "COLONY_CHANNEL_INTERVAL_MS", "1000",
     "longest the channel courier waits between looks for chat messages to relay and replies to send (a webhook "
     "received by this node wakes it at once)",
     OPT_LONG, OFF(channel_interval_ms), 20, 60000},
    {"--channel-send-timeout-ms", "COLONY_CHANNEL_SEND_TIMEOUT_MS", "30000",
     "how long a chat provider's API may stay silent while answering a send before the send is retried", OPT_LONG,
     OFF(channel_send_timeout_ms), 1000, 600000},
    {"--public-url", "EXTERNAL_PLATFORM_URL", "",
     "colony's URL as agents reach it, for the external-connection snippets (default: from each request's Host)",
     OPT_STR, OFF(public_url), 0, 0},
    {"--mcp-rate-limit", "MCP_RATE_LIMIT", "120", "MCP requests per workspace (or operator credential) per minute (a batch counts each request)",
     OPT_LONG, OFF(mcp_rate_limit), 1, 100000},
    {"--mcp-allow-send-message", "MOLECULE_MCP_ALLOW_SEND_MESSAGE", "false",
     "offer agents the MCP tool send_message_to_user (a message into their user's chat)", OPT_BOOL,
     OFF(mcp_allow_send_message), 0, 0},
    {"--mcp-delegate-wait-ms", "MCP_DELEGATE_WAIT_MS", "30000",
     "how long the MCP delegate_task waits for the agent's answer before it answers that the task goes on",
     OPT_LONG, OFF(mcp_delegate_wait_ms), 100, 3600000},
    {"--mcp-stream-ping-ms", "MCP_STREAM_PING_MS", "30000", "between two pings of an MCP SSE stream", OPT_LONG,
     OFF(mcp_stream_ping_ms), 100, 3600000},
};

#define NOPTS (sizeof(OPTS) / sizeof(OPTS[0]))

static bool set(config_t *c, const opt *o, const char *v, const char *source)
{
    char *field = (char *)c + o->offset;
    switch (o->type) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return true;
    case OPT_LONG: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || n < o->min || n > o->max) {
            fprintf(stderr, "colony: invalid value for %s (%s): \"%s\" (expected an integer from %ld to %ld)\n",
                    o->flag, source, v, o->min, o->max);
            return false;
        }
        *(long *)field = n;
        return true;
    }
    case OPT_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0) {
            *(bool *)field = true;
        } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0) {
            *(bool *)field = false;
        } else {
            fprintf(stderr, "colony: invalid value for %s (%s): \"%s\" (expected true or false)\n", o->flag, source, v);
            return false;
        }
        return true;
    }
    return false;
}

bool config_load(config_t *c, int argc, char **argv, int from)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NOPTS; i++)
        set(c, &OPTS[i], OPTS[i].def, "default");
    const char *port = getenv("PORT");
    if (port != NULL && *port != '\0') {
        char spec[64];
        snprintf(spec, sizeof(spec), "0.0.0.0:%s", port);
        set(c, &OPTS[0], spec, "PORT");
    }
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(OPTS[i].env);
        if (v != NULL && *v != '\0' && !set(c, &OPTS[i], v, OPTS[i].env))
            return false;
    }
    for (int k = from; k < argc; k++) {
        const char *arg = argv[k], *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        const opt *o = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(OPTS[i].flag) == nlen && strncmp(OPTS[i].flag, arg, nlen) == 0)
                o = &OPTS[i];
        if (o == NULL) {
            fprintf(stderr, "colony: unknown option \"%s\" (see colony --help)\n", arg);
            return false;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (v == NULL && k + 1 < argc && (o->type != OPT_BOOL || argv[k + 1][0] != '-'))
            v = argv[++k];
        if (v == NULL && o->type == OPT_BOOL) /* a bare boolean flag means true */
            v = "true";
        if (v == NULL) {
            fprintf(stderr, "colony: option %s needs a value\n", o->flag);
            return false;
        }
        if (!set(c, o, v, "flag"))
            return false;
    }
    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n < 1 ? 1 : n > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS : n;
    }
    return true;
}

void config_free(config_t *c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (OPTS[i].type == OPT_STR) {
            char **f = (char **)((char *)c + OPTS[i].offset);
            free(*f);
            *f = NULL;
        }
}

void config_usage(FILE *out)
{
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "  %-24s %s\n  %-24s env %s, default \"%s\"\n", OPTS[i].flag, OPTS[i].help, "", OPTS[i].env,
                OPTS[i].def);
}
