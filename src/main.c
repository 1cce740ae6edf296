/* main.c - the `colony` command: serve | migrate | version | help. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/auth.h"
#include "api/a2a.h"
#include "api/activity.h"
#include "api/diagnostics.h"
#include "api/errors.h"
#include "api/events.h"
#include "api/external.h"
#include "api/mcp.h"
#include "api/memories.h"
#include "bus/pgnotify.h"
#include "model/event.h"
#include "api/org.h"
#include "api/registry.h"
#include "api/secrets.h"
#include "api/broadcast.h"
#include "api/uploads.h"
#include "api/routes.h"
#include "api/templates.h"
#include "api/tokens.h"
#include "api/schedule_fire.h"
#include "api/channel_relay.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/mac.h"
#include "base/netaddr.h"
#include "base/seal.h"
#include "base/tz.h"
#include "config.h"
#include "http/server.h"
#include "http/client.h"
#include "jobs/courier.h"
#include "jobs/dispatch.h"
#include "jobs/health.h"
#include "jobs/scheduler.h"
#include "jobs/sweepers.h"
#include "model/audit.h"
#include "model/billing.h"
#include "model/budget.h"
#include "model/channel.h"
#include "model/lifecycle.h"
#include "model/memory.h"
#include "model/node.h"
#include "model/orgimport.h"
#include "model/secret_keys.h"
#include "model/vault.h"
#include "model/schedule.h"
#include "store/migrate.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out, "colony %s - a control plane for organisations of AI agents\n\n"
                 "usage: colony <command> [options]\n\n"
                 "commands:\n"
                 "  serve      run the HTTP server (migrates the database first)\n"
                 "  migrate    apply pending database migrations and exit\n"
                 "  import F   import the org template file F (YAML) into the database, then exit\n"
                 "  secrets rotate-key\n"
                 "             re-seal every stored secret under the current secrets key, opening each with the\n"
                 "             old one (--secrets-old-key-file or COLONY_SECRETS_OLD_KEY), in one transaction\n"
                 "  version    print the version and exit\n"
                 "  help       print this text\n\n"
                 "options (every one can also be set from its environment variable):\n",
            COLONY_VERSION);
    config_usage(out);
}

/* One secrets key: its text from the environment variable `env` (never a flag, so it stays out of `ps`) or from
 * `file`. *have is false when neither is set; false (after printing why) when the key is unusable. */
static bool load_key(const char *env, const char *file, const char *flag, seal_key *k, bool *have)
{
    const char *text = getenv(env);
    bool from_env = text != NULL && text[0] != '\0', from_file = file != NULL && file[0] != '\0';
    cl_error err;
    *have = from_env || from_file;
    if (from_env && from_file) {
        fprintf(stderr, "colony: set %s or %s, not both\n", env, flag);
        return false;
    }
    bool shared = false;
    cl_err e = from_env ? seal_key_parse(text, strlen(text), k, &err)
                        : from_file ? seal_key_read_file(file, k, &shared, &err) : CL_OK;
    if (e != CL_OK) {
        fprintf(stderr, "colony: %s%s%s\n", from_env ? env : "", from_env ? ": " : "", err.msg);
        return false;
    }
    if (shared)
        log_warn("the secrets key file can be read by other users; chmod 600 it", "file=\"%s\"", file);
    return true;
}

static bool have_old_key;

/* Install the secrets keys in the vault (model/vault.h); false (after printing why) on a bad configuration. */
static bool load_keys(const config_t *c)
{
    seal_key cur, old;
    bool have_cur, have_old;
    if (!load_key("COLONY_SECRETS_KEY", c->secrets_key_file, "--secrets-key-file", &cur, &have_cur) ||
        !load_key("COLONY_SECRETS_OLD_KEY", c->secrets_old_key_file, "--secrets-old-key-file", &old, &have_old))
        return false;
    if (have_old && (!have_cur || strcmp(old.id, cur.id) == 0)) {
        fprintf(stderr, "colony: an old secrets key needs a different current one (COLONY_SECRETS_KEY or "
                        "--secrets-key-file)\n");
        return false;
    }
    vault_set_keys(have_cur ? &cur : NULL, have_old ? &old : NULL);
    have_old_key = have_old;
    seal_key_wipe(&cur);
    seal_key_wipe(&old);
    if (have_cur)
        log_info("secrets key loaded", "key_id=%s old_key_id=%s", vault_key_id(), have_old ? old.id : "-");
    return true;
}

/* With a key: seal what an older colony stored in plaintext, and say what this node cannot read. Without one: say
 * that no secret can be stored. A failure is logged; the node still serves. */
static void secrets_at_start(db_t *db)
{
    arena_t *a = arena_new();
    cl_error err;
    int64_t sealed = 0, unreadable = 0, plaintext = 0;
    if (vault_ready() && secret_seal_plaintext(db, a, &sealed, &err) != CL_OK)
        log_error("cannot seal the inbound secrets stored in plaintext", "error=\"%s\"", err.msg);
    else if (sealed > 0)
        log_info("sealed the inbound secrets an older colony stored in plaintext", "count=%lld", (long long)sealed);
    if (secret_key_census(db, a, &unreadable, &plaintext, &err) != CL_OK)
        log_warn("cannot count the stored secrets", "error=\"%s\"", err.msg);
    if (!vault_ready())
        log_warn("no secrets key (COLONY_SECRETS_KEY or --secrets-key-file): secrets cannot be stored, and inbound "
                 "secrets are not minted",
                 "plaintext_inbound_secrets=%lld", (long long)plaintext);
    arena_free(a);
}

/* Open the database and bring its schema up to date; NULL (after printing why) on failure. */
/* --cors-origins holds "*" among its comma-separated entries (spaces around an entry do not count). */
static bool cors_any(const char *list)
{
    for (const char *p = list; p != NULL && *p;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, ","), k = n;
        while (k > 0 && p[k - 1] == ' ')
            k--;
        if (k == 1 && *p == '*')
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static db_t *open_migrated(const config_t *c)
{
    cl_error err;
    db_t *db;
    if (db_open(c->db, &db, &err) != CL_OK) {
        log_error("cannot open the database", "error=\"%s\"", err.msg);
        fprintf(stderr, "colony: %s\n", err.msg);
        return NULL;
    }
    size_t applied = 0;
    if (db_migrate(db, db_migrations, db_migrations_count, &applied, &err) != CL_OK) {
        log_error("migration failed", "error=\"%s\"", err.msg);
        fprintf(stderr, "colony: %s\n", err.msg);
        db_close(db);
        return NULL;
    }
    log_info("schema up to date", "driver=%s applied=%zu embedded=%zu", db_kind(db) == DB_POSTGRES ? "postgres" : "sqlite",
             applied, db_migrations_count);
    secrets_at_start(db);
    return db;
}

static void print_url(const char *host, int port)
{
    const char *shown = host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host;
    printf("colony %s listening on http://%s:%d\n", COLONY_VERSION, shown, port);
    fflush(stdout);
}

static bool env_set(const char *name) { return getenv(name) != NULL && getenv(name)[0] != '\0'; }

/* The audit ledger key, derived from the passphrase in --audit-key-file (its trailing line break dropped), else in
 * AUDIT_LEDGER_SALT; neither: no ledger (appends are refused, chain_valid is null). Only the derived key is kept,
 * in memory: never in the database. False (after saying why) for a key file that cannot be used. */
static bool audit_key_load(const char *file)
{
    char pass[AUDIT_PASSPHRASE_MAX + 2];
    size_t n = 0;
    if (file[0] != '\0') {
        FILE *f = fopen(file, "rb");
        if (f == NULL) {
            fprintf(stderr, "colony: cannot read --audit-key-file %s\n", file);
            return false;
        }
        struct stat sb;
        if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
            log_warn("the audit key file can be read by other users (chmod 600 it)", "file=%s", file);
        n = fread(pass, 1, sizeof(pass) - 1, f);
        fclose(f);
        while (n > 0 && (pass[n - 1] == '\n' || pass[n - 1] == '\r'))
            n--;
        if (n == 0 || n > AUDIT_PASSPHRASE_MAX || memchr(pass, '\0', n) != NULL) {
            fprintf(stderr, "colony: --audit-key-file must hold 1 to %d bytes of passphrase\n", AUDIT_PASSPHRASE_MAX);
            mac_wipe(pass, sizeof(pass));
            return false;
        }
    } else if (env_set("AUDIT_LEDGER_SALT")) {
        n = strlen(getenv("AUDIT_LEDGER_SALT"));
        if (n > AUDIT_PASSPHRASE_MAX) {
            fprintf(stderr, "colony: AUDIT_LEDGER_SALT must be at most %d bytes\n", AUDIT_PASSPHRASE_MAX);
            return false;
        }
        memcpy(pass, getenv("AUDIT_LEDGER_SALT"), n);
    }
    bool ok = n == 0 || audit_key_init(pass, n);
    mac_wipe(pass, sizeof(pass));
    if (!ok)
        fprintf(stderr, "colony: cannot derive the audit ledger key\n");
    else if (n == 0)
        log_warn("no audit ledger key (AUDIT_LEDGER_SALT or --audit-key-file): the audit ledger is off", NULL);
    return ok;
}

/* The context of a pool or feed thread: its own database connection. */
static void *open_ctx(void *url, cl_error *err)
{
    db_t *db;
    return db_open(url, &db, err) == CL_OK ? db : NULL;
}

static void close_ctx(void *db) { db_close(db); }
static void reset_ctx(void *db) { db_reset(db); }

static int cmd_serve(const config_t *c)
{
    if (c->platform_workspace_id[0] && !id_is_uuid(c->platform_workspace_id, strlen(c->platform_workspace_id))) {
        fprintf(stderr, "colony: --platform-workspace-id must be a workspace id (a UUID)\n");
        return 2;
    }
    if (!audit_key_load(c->audit_key_file))
        return 2;
    cl_error bad;
    if (api_external_init(c->public_url, &bad) != CL_OK) {
        fprintf(stderr, "colony: %s\n", bad.msg);
        return 2;
    }
    db_set_background_checkpoints(true); /* the prober thread checkpoints SQLite's log (jobs/health.h) */
    db_t *db = open_migrated(c);
    if (db == NULL)
        return 1;
    cl_error err;
    char node_id[NODE_ID_LEN + 1] = "";
    if (node_register(db, COLONY_VERSION, node_id, &err) != CL_OK)
        log_warn("cannot record this node", "error=\"%s\"", db_last_error(db));
    api_auth_init(getenv("ADMIN_TOKEN"));
    api_org_init(c->templates_dir);
    api_templates_init(c->configs_dir, c->plugins_dir);
    stream_config stc = {.max_lag = c->events_max_lag,
                         .stall_ms = c->events_stall_ms,
                         .max_queued = (size_t)c->events_max_queued,
                         .memory_max = (size_t)c->events_memory_max,
                         .max_streams = (int)c->events_max_streams,
                         .max_per_key = (int)c->events_max_per_token,
                         .keepalive_ms = c->mcp_stream_ping_ms};
    api_events_init(c->dev_open_events, &stc);
    stream_configure(&stc);
    api_uploads_init((size_t)c->upload_max_file, (size_t)c->max_body, (int)c->chat_download_max_concurrent);
    api_a2a_init((size_t)c->a2a_max_response, c->a2a_queue_ttl_s * 1000);
    api_registry_init(c->bootstrap_rate_limit);
    api_broadcast_init(c->broadcast_rate_limit);
    /* workspace operations without containers: a metered delivery's lease lasts as long as a delivery can; the
     * liveness window decides whether a resumed workspace is online; the deployment's platform LLM proxy and org */
    budget_set_lease_ms(c->a2a_connect_timeout_ms + c->a2a_idle_timeout_s * 1000 + 60000);
    lifecycle_set_stale_ms(c->stale_after_s * 1000);
    billing_set_platform_proxy((env_set("MOLECULE_LLM_BASE_URL") || env_set("OPENAI_BASE_URL")) &&
                               (env_set("MOLECULE_LLM_USAGE_TOKEN") || env_set("OPENAI_API_KEY")));
    api_diagnostics_init(env_set("MOLECULE_ORG_ID"));
    api_tokens_init(c->approval_gate, id_lower(c->platform_workspace_id));
    api_secrets_init(c->approval_gate);
    api_mcp_init(c->mcp_rate_limit, c->mcp_allow_send_message);
    /* SQLite has one writer: one group at a time; PostgreSQL writes in parallel and a group costs round trips, so
     * as many groups as there are fast workers */
    api_activity_init(db_url_is_postgres(c->db) ? (int)c->db_workers : 1);
    api_memories_init(db_url_is_postgres(c->db) ? (int)c->db_workers : 1);
    if (c->allow_private_agent_urls)
        log_warn("--allow-private-agent-urls is on: agents on loopback and private addresses are reachable", NULL);
    http_client_set_defaults(
        &(http_client_limits){c->a2a_connect_timeout_ms, c->a2a_idle_timeout_s * 1000, c->channel_send_timeout_ms,
                              c->mcp_delegate_wait_ms});
    if (getenv("ADMIN_TOKEN") == NULL || getenv("ADMIN_TOKEN")[0] == '\0')
        log_warn("ADMIN_TOKEN is not set: admin routes accept only org tokens", NULL);
    if (c->dev_open_events && cors_any(c->cors_origins))
        log_warn("--cors-origins '*' with --dev-open-events: any site's page may call the API with a token it holds; "
                 "the anonymous event stream still admits only origins named in the list and this server's own page",
                 NULL);
    server_config sc = {
        .listen = c->listen,
        .threads = (int)c->threads,
        .max_body = (size_t)c->max_body,
        .shutdown_timeout_ms = (int)c->shutdown_timeout_ms,
        .pool_fast = (int)c->db_workers,
        .pool_slow = (int)c->db_slow_workers,
        .ctx_open = open_ctx,
        .ctx_close = close_ctx,
        .ctx_reset = reset_ctx,
        .ctx_arg = c->db,
        .cors_origins = c->cors_origins,
        .access_log = c->access_log,
        .routes = api_routes,
        .nroutes = api_routes_count,
        .guard = api_guard,
        .reply_error = api_reply_error,
        .error_body = api_error_body,
        .on_listening = print_url,
    };
    log_info("starting", "version=%s node=%s", COLONY_VERSION, node_id);
    sweepers_config jc = {c->db,
                          c->sweep_interval_ms,
                          c->stale_after_s * 1000,
                          c->upload_sweep_interval_ms,
                          c->upload_ack_retention_s * 1000,
                          c->delegation_sweep_interval_ms,
                          c->delegation_stuck_after_s * 1000,
                          c->a2a_idle_timeout_s * 1000 + c->a2a_connect_timeout_ms,
                          c->request_nudge_disabled ? 0 : c->request_nudge_interval_ms,
                          c->request_nudge_after_s * 1000,
                          c->request_nudge_repeat_s * 1000,
                          c->memory_sweep_interval_ms};
    sweepers_t *jobs = sweepers_start(&jc, &err);
    if (jobs == NULL)
        log_error("background sweepers did not start", "error=\"%s\"", err.msg);
    dispatch_config dc = {c->db, c->a2a_dispatch_interval_ms, 16, (size_t)c->a2a_max_response};
    dispatcher_t *dispatcher = dispatch_start(&dc, &err);
    if (dispatcher == NULL)
        log_error("the busy-queue dispatcher did not start", "error=\"%s\"", err.msg);
    scheduler_config schc = {c->db, c->schedule_interval_ms, 256, api_schedule_fire};
    scheduler_t *scheduler = scheduler_start(&schc, &err);
    if (scheduler == NULL)
        log_error("the scheduler did not start", "error=\"%s\"", err.msg);
    /* the reference's test seams point provider API calls at a local stub */
    chan_set_bases(getenv("MOLECULE_CHANNELS_TEST_TELEGRAM_API_BASE"), getenv("MOLECULE_CHANNELS_TEST_WEBHOOK_BASE"));
    /* a relay lasts at most the agent's idle timeout; a busy agent's reply is looked for as long as it is queued */
    chan_configure(getenv("DISCORD_APP_PUBLIC_KEY"), c->a2a_idle_timeout_s * 1000 + c->a2a_connect_timeout_ms + 60000,
                   c->a2a_queue_ttl_s * 1000 + 60000);
    courier_config cc = {c->db, c->channel_interval_ms, c->channel_send_timeout_ms, 256, api_channel_relay};
    courier_t *courier = courier_start(&cc, &err);
    if (courier == NULL)
        log_error("the channel courier did not start", "error=\"%s\"", err.msg);
    health_t *health = health_start(c->db, &err);
    if (health == NULL)
        log_error("the database prober did not start", "error=\"%s\"", err.msg);
    pgnotify_t *listener = NULL; /* many nodes share one PostgreSQL: hear each other's events */
    if (db_kind(db) == DB_POSTGRES && (listener = pgnotify_start(c->db, EVENT_CHANNEL, event_latest_id, &err)) == NULL)
        log_error("event listener did not start", "error=\"%s\"", err.msg);
    int rc = server_run(&sc, &err);
    pgnotify_stop(listener);
    health_stop(health);
    api_registry_fini();
    api_broadcast_fini();
    api_activity_fini();
    api_memories_fini();
    courier_stop(courier);
    scheduler_stop(scheduler);
    api_mcp_free();
    dispatch_stop(dispatcher);
    sweepers_stop(jobs);
    if (rc != 0) {
        log_error("cannot serve", "error=\"%s\"", err.msg);
        fprintf(stderr, "colony: %s\n", err.msg);
    } else if (node_id[0] != '\0' && node_stopped(db, node_id, &err) != CL_OK) {
        log_warn("cannot record the node's stop", "error=\"%s\"", db_last_error(db));
    }
    db_close(db);
    return rc;
}

/* `colony import FILE`: the same import as POST /org/import (merge mode), against the configured database. */
static int cmd_import(const config_t *c, const char *file)
{
    db_t *db = open_migrated(c);
    if (db == NULL)
        return 1;
    arena_t *a = arena_new();
    org_template t;
    import_result r = {0};
    cl_error e;
    int64_t t0 = org_import_started(db, a, file, file, "merge");
    cl_err rc = tpl_load_file(a, file, &t, &e);
    t.configs_dir = c->configs_dir;
    if (rc == CL_OK)
        rc = org_import(db, a, &t, false, &r, &e);
    org_import_completed(db, a, rc == CL_OK ? t.name : file, file, "merge", &r, t0, rc == CL_OK ? NULL : e.msg);
    if (rc == CL_PRECONDITION_FAILED) {
        const json_t *missing = r.env.missing_env ? r.env.missing_env : r.env.missing_workspace_env;
        fprintf(stderr, "colony: import of %s failed: %s: %s\n", file, e.msg, json_dump_arena(a, missing, NULL));
    } else if (rc != CL_OK) {
        fprintf(stderr, "colony: import of %s failed: %s\n", file, e.msg);
    } else {
        printf("%s: %zu created, %zu skipped\n", t.name, r.created, r.skipped);
        for (size_t i = 0; i < r.count; i++) {
            const import_item *it = &r.items[i];
            int in = 2 * (it->depth + 1);
            printf("%*s%s %s (%s)\n", in, "", it->skipped ? "skipped" : "created", it->name, it->id);
            for (size_t k = 0; k < it->nchannels; k++)
                printf("%*s  %s channel created\n", in, "", it->channels[k]);
            for (size_t k = 0; k < it->nchannels_skipped; k++)
                printf("%*s  %s channel skipped: %s\n", in, "", it->channels_skipped[k].type,
                       it->channels_skipped[k].reason);
        }
    }
    arena_free(a);
    db_close(db);
    return rc == CL_OK ? 0 : 1;
}

/* `colony secrets rotate-key`: every stored value re-sealed under the current key, in one transaction. */
static int cmd_rotate_key(const config_t *c)
{
    if (!vault_ready() || !have_old_key) {
        fprintf(stderr, "colony: rotate-key needs the new key (COLONY_SECRETS_KEY or --secrets-key-file) and the old "
                        "one (COLONY_SECRETS_OLD_KEY or --secrets-old-key-file)\n");
        return 2;
    }
    db_t *db = open_migrated(c);
    if (db == NULL)
        return 1;
    arena_t *a = arena_new();
    secret_rotation r;
    cl_error e;
    cl_err rc = secret_rotate(db, a, &r, &e);
    if (rc != CL_OK)
        fprintf(stderr, "colony: rotate-key failed: %s\n", e.msg);
    else
        printf("re-sealed under key %s: %lld workspace secrets, %lld global secrets, %lld inbound secrets, %lld "
               "channels' credentials (%lld were under it already)\n",
               vault_key_id(), (long long)r.workspace, (long long)r.global, (long long)r.inbound,
               (long long)r.channel, (long long)r.current);
    arena_free(a);
    db_close(db);
    return rc == CL_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "help";
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("colony %s (%s)\n", COLONY_VERSION, COLONY_GIT_SHA);
        return 0;
    }
    bool import = strcmp(cmd, "import") == 0, secrets = strcmp(cmd, "secrets") == 0;
    if (import && (argc < 3 || argv[2][0] == '-')) {
        fprintf(stderr, "colony: usage: colony import FILE [options]\n");
        return 2;
    }
    if (secrets && (argc < 3 || strcmp(argv[2], "rotate-key") != 0)) {
        fprintf(stderr, "colony: usage: colony secrets rotate-key [options]\n");
        return 2;
    }
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && !import && !secrets) {
        fprintf(stderr, "colony: unknown command \"%s\" (see colony --help)\n", cmd);
        return 2;
    }
    config_t c;
    if (!config_load(&c, argc, argv, import || secrets ? 3 : 2)) {
        config_free(&c);
        return 2;
    }
    log_level lvl;
    if (!log_parse_level(c.log_level, &lvl)) {
        fprintf(stderr, "colony: invalid value for --log-level: \"%s\" (expected debug, info, warn or error)\n",
                c.log_level);
        config_free(&c);
        return 2;
    }
    log_set_level(lvl);
    db_set_timeout(c.db_timeout_ms);
    if (!id_init()) {
        fprintf(stderr, "colony: cannot initialise libsodium\n");
        config_free(&c);
        return 1;
    }
    netaddr_set_allow_private(c.allow_private_agent_urls); /* import checks template URLs too */
    if (!load_keys(&c)) {
        config_free(&c);
        return 2;
    }
    tz_set_dir(getenv("TZDIR"));                           /* zone files, read by colony itself (base/tz.h) */
    sched_configure(c.schedule_max_per_workspace, c.schedule_seconds); /* imports create schedules too */
    mem_configure(&(mem_limits){c.memory_max_content, c.memory_namespace_max_records, /* imports seed memories */
                                c.memory_namespace_max_bytes});
    int rc;
    if (secrets) {
        rc = cmd_rotate_key(&c);
    } else if (import) {
        rc = cmd_import(&c, argv[2]);
    } else if (strcmp(cmd, "migrate") == 0) {
        db_t *db = open_migrated(&c);
        rc = db == NULL;
        db_close(db);
    } else {
        rc = cmd_serve(&c);
    }
    vault_set_keys(NULL, NULL); /* wipes them */
    config_free(&c);
    return rc;
}
