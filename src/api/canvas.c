/* canvas.c - see canvas.h. Shapes and error strings follow the reference (workspaces.md §3.10). */
#include "api/canvas.h"

#include <math.h>

#include "api/errors.h"
#include "api/input.h"
#include "base/json.h"
#include "model/canvas.h"

void api_viewport_get(http_req *rq)
{
    canvas_viewport v;
    cl_error e;
    if (canvas_viewport_get(rq->db, rq->arena, &v, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:f, s:f, s:f}", "x", v.x, "y", v.y, "zoom", v.zoom));
}

void api_viewport_put(http_req *rq)
{
    json_t *body;
    if (!api_json_object_or_reply(rq, &body))
        return;
    canvas_viewport v = {0, 0, 0}; /* an omitted zoom is stored as 0, as the reference does */
    cl_error e;
    if (json_opt_number(body, "x", &v.x, NULL, &e) != CL_OK || json_opt_number(body, "y", &v.y, NULL, &e) != CL_OK ||
        json_opt_number(body, "zoom", &v.zoom, NULL, &e) != CL_OK || !isfinite(v.x) || !isfinite(v.y) ||
        !isfinite(v.zoom)) {
        api_fail(rq, CL_INVALID, "invalid viewport data");
        return;
    }
    if (canvas_viewport_save(rq->db, rq->arena, &v, &e) != CL_OK) {
        api_reply_error(rq, &e);
        return;
    }
    api_reply_json(rq, 200, json_pack("{s:s}", "status", "saved"));
}
