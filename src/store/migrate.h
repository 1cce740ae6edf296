/* migrate.h - numbered, up-only schema migrations, embedded in the binary at build time, applied in order, each
 * inside its own transaction and recorded in schema_migrations. */
#ifndef COLONY_STORE_MIGRATE_H
#define COLONY_STORE_MIGRATE_H

#include <stddef.h>

#include "store/db.h"

/* One migration. Its SQL is portable except for AUTOINCREMENT_PK, which becomes each driver's auto-increment
 * integer primary key. `name` is what schema_migrations records ("0001_init.sql"); `dialect` is "" for a file both
 * drivers run, or "sqlite"/"pg" for a driver-specific variant (file "0001_init.pg.sql"). */
typedef struct {
    const char *name, *dialect, *sql;
} migration_t;

/* The migrations compiled into this binary, sorted by name (generated from src/store/migrations/). */
extern const migration_t db_migrations[];
extern const size_t db_migrations_count;

/* Apply every migration of `list` (sorted by name) that this database has not recorded. *applied (may be NULL)
 * receives how many ran. On failure the failing migration leaves no trace and err names the file and carries
 * the database's own message. Safe to run from several processes at once. */
cl_err db_migrate(db_t *db, const migration_t *list, size_t count, size_t *applied, cl_error *err);

#endif
