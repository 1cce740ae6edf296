"""Review: the PostgreSQL safe horizon must pass a hole (an id that will never commit) once every transaction that
was running when the hole was first seen has ended — not only once the cluster has a moment with no overlapping
transactions at all. A hole is routine (any rolled-back transaction that drew an event id: a refused heartbeat
group, a savepoint rollback in an import); overlapping short transactions are routine too (a busy cluster)."""
import json
import subprocess
import time
import uuid

import pytest
import websocket

from conftest import ADMIN, PG_BIN

TX_MS = 150      # each churn transaction holds an xid this long
WRITERS = 5      # staggered so that some transaction always spans two feed reads (50 ms apart)


def churn(db, seconds):
    """Background psql sessions that keep overlapping transactions (each with an xid) running on the cluster."""
    name = db.url.rsplit("/", 1)[1]
    rounds = int(seconds * 1000 / TX_MS) + 1
    script = ("BEGIN; SELECT pg_current_xact_id(); SELECT pg_sleep(%f); COMMIT;\n" % (TX_MS / 1000)) * rounds
    procs = []
    for _ in range(WRITERS):
        p = subprocess.Popen([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(db.cluster.port), "-U", "postgres",
                              "-d", name, "-q", "-At", "-f", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        p.stdin.write(script)
        p.stdin.close()
        procs.append(p)
        time.sleep(TX_MS / 1000 / WRITERS)
    return procs


def test_a_hole_is_passed_while_transactions_keep_overlapping(start_colony, backend):
    if backend != "postgres":
        pytest.skip("the horizon is PostgreSQL's")
    c = start_colony()
    ws = websocket.create_connection(c.url.replace("http://", "ws://") + "/ws", timeout=20,
                                     header=[f"Authorization: {ADMIN['Authorization']}"])
    try:
        first = c.post("/workspaces", headers=ADMIN, json={"name": "h-" + uuid.uuid4().hex[:8], "model": "m"}).json()
        while json.loads(ws.recv())["workspace_id"] != first["id"]:
            pass
        # a hole: an id drawn by a transaction that rolls back (here: drawn and thrown away)
        c.db.query("BEGIN; SELECT colony_next_event_id(); ROLLBACK;")
        procs = churn(c.db, seconds=8)
        try:
            time.sleep(0.5)  # the churn is running
            second = c.post("/workspaces", headers=ADMIN, json={"name": "h-" + uuid.uuid4().hex[:8], "model": "m"}).json()
            ws.settimeout(3)  # every churn transaction lasts 150 ms: the hole is final well within this
            t0 = time.time()
            got = None
            try:
                while True:
                    f = json.loads(ws.recv())
                    if f["workspace_id"] == second["id"]:
                        got = time.time() - t0
                        break
            except websocket.WebSocketTimeoutException:
                pass
            assert got is not None, "the event after the hole was not delivered within 3 s while transactions overlap"
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                p.wait()
    finally:
        ws.close()


class Session:
    """One psql session driven statement by statement (its stdin is a pipe)."""

    def __init__(self, db, name):
        self.db, self.name = db, name
        env = dict(__import__("os").environ, PGAPPNAME=name)
        self.p = subprocess.Popen([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(db.cluster.port), "-U",
                                   "postgres", "-d", db.url.rsplit("/", 1)[1], "-q", "-At", "-f", "-"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  text=True, env=env)

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=10)


def poll(fn, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_an_id_of_a_running_transaction_is_never_passed(start_colony, backend):
    """T draws id g and keeps running; C, whose xid is OLDER than T's, draws g+1 and commits. While T runs, g is
    not final, so g+1 must wait; when T commits, the subscriber gets g then g+1."""
    if backend != "postgres":
        pytest.skip("the horizon is PostgreSQL's")
    c = start_colony()
    ws = websocket.create_connection(c.url.replace("http://", "ws://") + "/ws", timeout=20,
                                     header=[f"Authorization: {ADMIN['Authorization']}"])
    sc, st = Session(c.db, "review_c"), Session(c.db, "review_t")
    try:
        first = c.post("/workspaces", headers=ADMIN, json={"name": "h-" + uuid.uuid4().hex[:8], "model": "m"}).json()
        while json.loads(ws.recv())["workspace_id"] != first["id"]:
            pass
        xid_of = lambda app: c.db.query(f"SELECT backend_xid FROM pg_stat_activity WHERE application_name = '{app}'"
                                        " AND backend_xid IS NOT NULL")
        seq = lambda: int(c.db.query("SELECT last_value FROM colony_event_ids")[0][0])
        sc.send("BEGIN; SELECT pg_current_xact_id();")  # C holds the older xid
        poll(lambda: xid_of("review_c"))
        before = seq()
        st.send("BEGIN; INSERT INTO events (type, workspace_id, payload, created_at)"
                " VALUES ('REVIEW_T', NULL, '{}', 0);")  # T: newer xid, draws g
        poll(lambda: seq() > before)
        sc.send("INSERT INTO events (type, workspace_id, payload, created_at) VALUES ('REVIEW_C', NULL, '{}', 0);"
                " COMMIT;")  # C draws g+1 and commits (the feed reads at least once a second; a NOTIFY here would
        # take a new xid and, by completing after T's, hide the bug)
        poll(lambda: c.db.query("SELECT id FROM events WHERE type = 'REVIEW_C'"))
        ws.settimeout(3)
        early = []
        try:
            while True:
                early.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        st.send("COMMIT; SELECT pg_notify('colony_events', '0');")
        poll(lambda: c.db.query("SELECT id FROM events WHERE type = 'REVIEW_T'"))
        ws.settimeout(5)
        late = []
        try:
            while len(early) + len(late) < 2:
                late.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        got = [f["event"] for f in early + late]
        assert early == [], f"delivered while T (holding an earlier id) was still running: {got}"
        assert got == ["REVIEW_T", "REVIEW_C"], got
    finally:
        sc.close()
        st.close()
        ws.close()
