/* node.c - see node.h. */
#include "model/node.h"

#include <stdatomic.h>
#include <unistd.h>

#include "base/id.h"
#include "base/metrics.h"
#include "base/time.h"

static const char SQL_REGISTER[] = "INSERT INTO nodes (id, hostname, pid, version, started_at, last_seen_at)"
                                   " VALUES ($1, $2, $3, $4, $5, $5)";
static const char SQL_STOPPED[] = "UPDATE nodes SET stopped_at = $2, last_seen_at = $2 WHERE id = $1";

static _Atomic int64_t last_ok_ms, last_fail_ms;

cl_err node_check_db(db_t *db, cl_error *err)
{
    /* read a real table: on SQLite "SELECT 1" succeeds even while another process holds the file locked */
    if (db_exec_script(db, "SELECT count(*) FROM schema_migrations", err) != CL_OK) {
        node_note_db_down();
        return cl_fail(err, CL_UNAVAILABLE, "database unavailable");
    }
    atomic_store(&last_ok_ms, time_mono_ms());
    metric_add(METRIC_DB_UP, 1 - metric_get(METRIC_DB_UP));
    return CL_OK;
}

void node_note_db_down(void)
{
    atomic_store(&last_fail_ms, time_mono_ms());
    metric_add(METRIC_DB_UP, -metric_get(METRIC_DB_UP));
}

bool node_db_healthy(int64_t max_age_ms)
{
    int64_t ok = atomic_load(&last_ok_ms);
    return ok > 0 && ok > atomic_load(&last_fail_ms) && time_mono_ms() - ok <= max_age_ms;
}

cl_err node_register(db_t *db, const char *version, char id_out[NODE_ID_LEN + 1], cl_error *err)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    id_uuid4(id_out);
    arena_t *a = arena_new();
    cl_err e = db_run(db, a, NULL, err, SQL_REGISTER, "ssisi", id_out, host, (int64_t)getpid(), version, time_now_ms());
    arena_free(a);
    return e;
}

cl_err node_stopped(db_t *db, const char *id, cl_error *err)
{
    arena_t *a = arena_new();
    cl_err e = db_run(db, a, NULL, err, SQL_STOPPED, "si", id, time_now_ms());
    arena_free(a);
    return e;
}
