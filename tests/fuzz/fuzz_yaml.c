/* fuzz_yaml.c - libFuzzer target for org templates: the YAML reader (anchors, tags and bounds are refused, never
 * crash) and the template walker over whatever it produces. */
#include <stddef.h>
#include <stdint.h>

#include "base/yaml.h"
#include "model/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena_t *a = arena_new();
    json_t *doc;
    cl_error e;
    if (yaml_parse(a, (const char *)data, size, &doc, &e) == CL_OK) {
        org_template t;
        if (tpl_from_json(a, doc, &t, &e) == CL_OK && t.nodes > t.declared)
            __builtin_trap(); /* spawning nodes are a subset of the declared ones */
    }
    arena_free(a);
    return 0;
}
