"""What a platform without containers, terminal, tracing backend, rescue store or provider registry answers
(surface.md §4, §5, §6, §13): traces, the terminal and its diagnosis (with their caller checks), the rescue bundle,
the LLM billing mode with its resolution order and validation, and GET /admin/liveness."""
import json
import re

import pytest

from conftest import ADMIN
from inbox_util import RFC3339_MS, bearer, create_ws, error, mint_org_token, remove

MISSING = "00000000-0000-4000-8000-000000000000"


def test_traces_answer_an_empty_list_without_a_tracing_backend(server):
    w, other = create_ws(server), create_ws(server)
    r = server.get(f"/workspaces/{w['id']}/traces", headers=bearer(w["auth_token"]))
    assert r.status_code == 200 and r.json() == []
    error(server.get(f"/workspaces/{w['id']}/traces"), 401, "missing workspace auth token")
    error(server.get(f"/workspaces/{w['id']}/traces", headers=bearer(other["auth_token"])), 401,
          "invalid workspace auth token")
    error(server.get(f"/workspaces/{MISSING}/traces", headers=ADMIN), 404, "workspace not found")


DIAGNOSIS = {"remote": False, "ok": False, "first_failure": "docker-available",
             "steps": [{"name": "docker-available", "ok": False, "duration_ms": 0,
                        "error": "docker client not configured on this workspace-server"}]}


def test_the_terminal_and_its_diagnosis_without_docker(server):
    boss = create_ws(server)
    w = create_ws(server, parent=boss)
    sibling = create_ws(server, parent=boss)
    stranger = create_ws(server)
    term, diag = f"/workspaces/{w['id']}/terminal", f"/workspaces/{w['id']}/terminal/diagnose"
    for who in (bearer(w["auth_token"]), ADMIN, {"X-Workspace-ID": w["id"], **bearer(w["auth_token"])}):
        r = server.get(diag, headers=who)
        assert r.status_code == 200 and r.json() == {"workspace_id": w["id"], **DIAGNOSIS}
        error(server.get(term, headers=who), 503, "Docker not available")
    # another workspace may, with its own token, when the hierarchy lets it talk to this one
    peer = {"X-Workspace-ID": sibling["id"], **bearer(sibling["auth_token"])}
    assert server.get(diag, headers=peer).json()["workspace_id"] == w["id"]
    assert server.get(diag, headers={"X-Workspace-ID": sibling["id"], **ADMIN}).status_code == 200
    far = {"X-Workspace-ID": stranger["id"], **bearer(stranger["auth_token"])}
    error(server.get(diag, headers=far), 403, "not authorized to diagnose this workspace's terminal")
    error(server.get(term, headers=far), 403, "not authorized to access this workspace's terminal")
    # a claimed caller needs its own token
    for lie in ({"X-Workspace-ID": sibling["id"], **bearer(stranger["auth_token"])},
                {"X-Workspace-ID": "not-a-uuid", **bearer(sibling["auth_token"])}):
        error(server.get(diag, headers=lie), 401, "invalid token for claimed workspace")
        error(server.get(term, headers=lie), 401, "invalid token for claimed workspace")
    error(server.get(diag), 401, "missing workspace auth token")
    error(server.get(diag, headers={"X-Workspace-ID": sibling["id"]}), 401, "missing workspace auth token")
    error(server.get(diag, headers=bearer(sibling["auth_token"])), 401, "invalid workspace auth token")
    error(server.get(f"/workspaces/{MISSING}/terminal/diagnose", headers=ADMIN), 404, "workspace not found")
    error(server.get("/workspaces/nope/terminal/diagnose", headers=ADMIN), 400, "invalid workspace ID")


def test_rescue_without_an_org_or_a_rescue_store(server, start_colony):
    w, other = create_ws(server), create_ws(server)
    error(server.get(f"/workspaces/{w['id']}/rescue", headers=bearer(w["auth_token"])), 503,
          "rescue org not configured", "platform_misconfigured")
    error(server.get(f"/workspaces/{w['id']}/rescue", headers=bearer(other["auth_token"])), 401,
          "invalid workspace auth token")
    error(server.get(f"/workspaces/{MISSING}/rescue", headers=ADMIN), 404, "workspace not found")
    c = start_colony(env={"MOLECULE_ORG_ID": "org-1"})
    w = create_ws(c)
    error(c.get(f"/workspaces/{w['id']}/rescue", headers=bearer(w["auth_token"])), 503, "rescue store unavailable",
          "platform_unavailable")


def mode_path(w):
    return f"/admin/workspaces/{w['id'] if isinstance(w, dict) else w}/llm-billing-mode"


def put_mode(c, w, body, headers=None):
    return c.put(mode_path(w), headers=headers or ADMIN, data=body if isinstance(body, str) else json.dumps(body))


def test_billing_mode_resolves_the_override_then_the_default(server):
    w = create_ws(server, model="anthropic:claude-sonnet-4")
    r = server.get(mode_path(w), headers=ADMIN)
    assert r.status_code == 200 and r.json() == {
        "workspace_id": w["id"], "resolved_mode": "byok", "workspace_override": None, "source": "derived_default",
        "provider_selection": "anthropic:claude-sonnet-4"}
    r = put_mode(server, w, {"mode": "disabled"})
    assert r.status_code == 200 and r.json() == {
        "workspace_id": w["id"], "resolved_mode": "disabled", "workspace_override": "disabled",
        "source": "workspace_override", "provider_selection": None}
    assert server.get(mode_path(w), headers=bearer(mint_org_token(server))).json()["resolved_mode"] == "disabled"
    r = put_mode(server, w, {"mode": None})
    assert r.status_code == 200 and r.json()["workspace_override"] is None and r.json()["source"] == "derived_default"
    # an unknown workspace is not a 404 here (it resolves like any other), as in the reference
    r = server.get(mode_path(MISSING), headers=ADMIN)
    assert r.status_code == 200 and r.json() == {
        "workspace_id": MISSING, "resolved_mode": "byok", "workspace_override": None, "source": "derived_default",
        "provider_selection": None}


@pytest.mark.parametrize("body,status,expected", [
    ("{nope", 400, "invalid json"),
    ("[]", 400, "invalid json"),
    ({}, 400, "missing required field 'mode' (use null to clear override)"),
    ({"mode": 3}, 400, "mode must be a string or null"),
    ({"mode": ["byok"]}, 400, "mode must be a string or null"),
    ({"mode": ""}, 400, "mode must be one of platform_managed, byok, disabled, or null to clear"),
    ({"mode": "  "}, 400, "mode must be one of platform_managed, byok, disabled, or null to clear"),
    ({"mode": "free"}, 400, 'unknown billing mode "free" (allowed: platform_managed, byok, disabled)'),
    ({"mode": "BYOK"}, 400, 'unknown billing mode "BYOK" (allowed: platform_managed, byok, disabled)'),
])
def test_bad_billing_modes_are_refused_and_change_nothing(server, body, status, expected):
    w = create_ws(server)
    put_mode(server, w, {"mode": "byok"})
    r = put_mode(server, w, body)
    assert r.status_code == status and r.json()["error"] == expected, r.text
    if expected in ("invalid json", "mode must be a string or null"):
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    assert server.get(mode_path(w), headers=ADMIN).json()["workspace_override"] == "byok"


def test_billing_mode_ids_and_access(server):
    w = create_ws(server)
    for bad in (w["id"].upper(), "nope", w["id"] + "0"):
        error(server.get(mode_path(bad), headers=ADMIN), 400, "invalid workspace id")
        error(put_mode(server, bad, {"mode": "byok"}), 400, "invalid workspace id")
    error(put_mode(server, MISSING, {"mode": "byok"}), 404, "workspace not found")
    error(server.get(mode_path(w)), 401, "admin auth required")
    error(server.get(mode_path(w), headers=bearer(w["auth_token"])), 403, "admin access required")
    error(put_mode(server, w, {"mode": "byok"}, headers=bearer(w["auth_token"])), 403, "admin access required")
    remove(server, w)
    error(put_mode(server, w, {"mode": "byok"}), 404, "workspace not found")


def test_a_platform_llm_proxy_makes_the_default_platform_managed(start_colony):
    c = start_colony(env={"MOLECULE_LLM_BASE_URL": "http://127.0.0.1:9/v1", "MOLECULE_LLM_USAGE_TOKEN": "t"})
    w = create_ws(c)
    assert c.get(mode_path(w), headers=ADMIN).json()["resolved_mode"] == "platform_managed"
    half = start_colony(env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})  # a URL without a token is not a proxy
    w = create_ws(half)
    assert half.get(mode_path(w), headers=ADMIN).json()["resolved_mode"] == "byok"


def test_admin_liveness_lists_this_nodes_background_subsystems(server):
    r = server.get("/admin/liveness", headers=ADMIN)
    assert r.status_code == 200
    subs = r.json()["subsystems"]
    assert set(subs) == {"liveness-sweeper", "a2a-queue-sweeper", "upload-sweeper", "delegation-sweeper",
                         "request-nudge-sweeper", "a2a-dispatcher", "scheduler"}
    for s in subs.values():
        assert set(s) == {"last_tick_at", "seconds_ago"} and re.match(RFC3339_MS, s["last_tick_at"])
        assert isinstance(s["seconds_ago"], int) and 0 <= s["seconds_ago"] < 600
    error(server.get("/admin/liveness"), 401, "admin auth required")
    w = create_ws(server)
    error(server.get("/admin/liveness", headers=bearer(w["auth_token"])), 403, "admin access required")
