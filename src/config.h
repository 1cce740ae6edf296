/* config.h - every setting of `colony`, from one table: a flag, the environment variable that also sets it, a
 * default, bounds. Flags win over the environment, which wins over the default. */
#ifndef COLONY_CONFIG_H
#define COLONY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum {
    CONFIG_DEFAULT_MAX_BODY = 16 << 20, /* 16 MiB */
    CONFIG_MAX_THREADS = 256,
};

typedef struct {
    char *listen;
    char *db;
    long threads;
    long db_workers;
    long db_slow_workers;
    long db_timeout_ms;
    long max_body;
    long shutdown_timeout_ms;
    char *cors_origins;
    char *log_level;
    bool access_log;
    char *templates_dir;
    long stale_after_s;
    long sweep_interval_ms;
    bool dev_open_events;
    bool allow_private_agent_urls;
    long bootstrap_rate_limit;
    long events_max_lag;
    long events_stall_ms;
    long events_max_queued;
    long events_memory_max;
    long events_max_streams;
    long events_max_per_token;
    long upload_sweep_interval_ms;
    long upload_ack_retention_s;
    long upload_max_file;
    long chat_download_max_concurrent;
    long broadcast_rate_limit;
    long a2a_connect_timeout_ms;
    long a2a_idle_timeout_s;
    long a2a_max_response;
    long a2a_queue_ttl_s;
    long a2a_dispatch_interval_ms;
    long delegation_sweep_interval_ms;
    long delegation_stuck_after_s;
    long request_nudge_interval_ms;
    bool request_nudge_disabled;
    long request_nudge_after_s;
    long request_nudge_repeat_s;
    bool approval_gate;
    char *platform_workspace_id;
    char *secrets_key_file;
    char *secrets_old_key_file;
    long schedule_interval_ms;
    long schedule_max_per_workspace;
    bool schedule_seconds;
    char *audit_key_file;
    char *configs_dir;
    char *plugins_dir;
    long memory_max_content;
    long memory_namespace_max_records;
    long memory_namespace_max_bytes;
    long memory_sweep_interval_ms;
    long channel_interval_ms;
    long channel_send_timeout_ms;
    char *public_url;
    long mcp_rate_limit;
    bool mcp_allow_send_message;
    long mcp_delegate_wait_ms;
    long mcp_stream_ping_ms;
} config_t;

/* Fill `c` from defaults, the environment and argv[from..argc). On a bad or unknown flag, print one line to
 * stderr and return false (the caller exits 2). Strings in `c` are heap copies freed by config_free. */
bool config_load(config_t *c, int argc, char **argv, int from);
void config_free(config_t *c);
/* The options section of --help. */
void config_usage(FILE *out);

#endif
