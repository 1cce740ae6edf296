/* yaml.h - YAML documents read into jansson values, so that YAML and JSON input share one walker. Only what plain
 * configuration needs: mappings, sequences, scalars (YAML 1.2 core types for plain scalars). Anchors, aliases and
 * custom tags are refused (a "billion laughs" file expands a naive reader), and size, depth and node count are
 * bounded. */
#ifndef COLONY_BASE_YAML_H
#define COLONY_BASE_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

enum {
    YAML_MAX_BYTES = 4 << 20,
    YAML_MAX_DEPTH = 64,
    YAML_MAX_NODES = 200000,
};

/* Parse one document. The value is owned by `a`. Errors: CL_INVALID with "line L column C: problem" (1-based);
 * CL_TOO_LARGE past a bound. */
cl_err yaml_parse(arena_t *a, const char *text, size_t len, json_t **out, cl_error *err);

#endif
