"""Several colony nodes on one PostgreSQL form one deployment (issue: many nodes on PostgreSQL)."""
import concurrent.futures
import json
import signal
import threading
import time
import uuid

import pytest
import requests
import websocket

from conftest import ADMIN


@pytest.fixture
def two_nodes(backend, new_db, start_colony):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database; SQLite is a single-node store")
    db = new_db()
    return start_colony(db=db), start_colony(db=db)


def ws_connect(node, since):
    url = node.url.replace("http://", "ws://") + f"/ws?since={since}"
    return websocket.create_connection(url, timeout=20, header=[f"Authorization: {ADMIN['Authorization']}"])


def latest(node):
    return int(node.db.query("SELECT COALESCE(max(id), 0) FROM events")[0][0])


def test_a_subscriber_on_a_sees_what_b_causes_in_order_once(two_nodes):
    a, b = two_nodes
    start = latest(a)
    ws = ws_connect(a, start)
    try:
        for i in range(40):
            w = b.post("/workspaces", headers=ADMIN, json={"name": f"mn{i}", "model": "m"}).json()
            b.post(f"/workspaces/{w['id']}/notify", headers=ADMIN, json={"message": f"m{i}"})
        got = [json.loads(ws.recv())["id"] for _ in range(80)]
    finally:
        ws.close()
    expected = [int(r[0]) for r in a.db.query(f"SELECT id FROM events WHERE id > {start} ORDER BY id")]
    assert got == expected and len(expected) == 80


def test_a_listener_that_lost_its_connection_catches_up(two_nodes):
    a, b = two_nodes
    start = latest(a)
    ws = ws_connect(a, start)
    try:
        name = a.db.url.rsplit("/", 1)[1]
        a.db.cluster.psql("postgres", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      f"WHERE datname = '{name}' AND query LIKE 'LISTEN%'")
        w = b.post("/workspaces", headers=ADMIN, json={"name": "after-cut", "model": "m"}).json()
        f = json.loads(ws.recv())
        assert f["workspace_id"] == w["id"]
    finally:
        ws.close()


def test_concurrent_imports_and_creates_across_nodes_keep_every_invariant(two_nodes):
    a, b = two_nodes
    root = "split-" + uuid.uuid4().hex[:6]
    template = {"name": root, "defaults": {"model": "m"},
                "workspaces": [{"name": root, "children": [{"name": f"t{i}", "children": [{"name": "x"}, {"name": "y"}]}
                                                           for i in range(33)]}]}

    def imp(i):
        node = a if i % 2 else b
        return node.post("/org/import", headers=ADMIN, json={"template": template})

    def create(i):
        node = a if i % 2 else b
        return node.post("/workspaces", headers=ADMIN, json={"name": "same-name", "model": "m"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        imports = list(pool.map(imp, range(8)))
        creates = list(pool.map(create, range(40)))
    assert all(r.status_code == 201 for r in imports), [r.text for r in imports if r.status_code != 201]
    assert sum(r.json()["created"] for r in imports) == 100
    assert sorted(r.status_code for r in creates) == [201] + [409] * 39
    rows = a.db.query(f"SELECT count(*) FROM workspaces WHERE status <> 'removed' AND (name = '{root}' "
                      f"OR parent_id IN (SELECT id FROM workspaces WHERE name = '{root}'))")
    assert rows == [["34"]]
    dupes = a.db.query("SELECT COALESCE(parent_id, '-'), name, count(*) FROM workspaces WHERE status <> 'removed' "
                       "GROUP BY 1, 2 HAVING count(*) > 1")
    assert dupes == []


def test_killing_a_node_loses_no_acknowledged_write(two_nodes):
    a, b = two_nodes
    acked, stop = [], threading.Event()

    def load():
        s = requests.Session()
        i = 0
        while not stop.is_set():
            try:
                r = s.post(a.url + "/workspaces", headers=ADMIN, timeout=5,
                           json={"name": f"k{i}-{uuid.uuid4().hex[:4]}", "model": "m"})
            except requests.RequestException:
                return
            if r.status_code == 201:
                acked.append(r.json()["id"])
            i += 1

    t = threading.Thread(target=load)
    t.start()
    while len(acked) < 30:
        time.sleep(0.05)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    stop.set()
    t.join()
    assert b.get("/health").json() == {"status": "ok"}
    for wid in acked:
        assert b.get(f"/workspaces/{wid}").status_code == 200, wid
    assert b.post("/workspaces", headers=ADMIN, json={"name": "survivor", "model": "m"}).status_code == 201
    a.proc.stdout.close()
    a.log.close()


class Collector(threading.Thread):
    """Reads a node's /ws from `since` on its own thread, so the server never waits for this test to read."""

    def __init__(self, node, since):
        super().__init__(daemon=True)
        self.ws = ws_connect(node, since)
        self.ids = []

    def run(self):
        try:
            while True:
                self.ids.append(json.loads(self.ws.recv())["id"])
        except Exception:  # closed by the test
            pass

    def wait_for(self, n, timeout=60):
        end = time.time() + timeout
        while len(self.ids) < n and time.time() < end:
            time.sleep(0.05)
        return list(self.ids)


def test_events_committed_out_of_id_order_all_reach_every_subscriber_once_in_order(two_nodes):
    """Issue 13 item 1: an import's events take their ids when its transaction inserts them, but become visible
    when it commits — after many later ids committed on both nodes. A live subscriber on each node still gets
    every event once, in id order: the feed never passes an id that may still commit."""
    a, b = two_nodes
    start = latest(a)
    subs = [Collector(a, start), Collector(b, start)]
    for s in subs:
        s.start()
    template = {"name": "slow", "defaults": {"model": "m"},
                "workspaces": [{"name": "big-" + uuid.uuid4().hex[:6],
                                "children": [{"name": f"n{i}"} for i in range(3000)]}]}
    importing = threading.Thread(target=lambda: a.post("/org/import", headers=ADMIN, json={"template": template}))
    importing.start()
    notes = []
    for node in (a, b):
        w = node.post("/workspaces", headers=ADMIN, json={"name": "talker-" + uuid.uuid4().hex[:6],
                                                           "model": "m"}).json()
        notes.append((node, w["id"]))
    while importing.is_alive():  # small transactions commit while the import's ids are still invisible
        for node, wid in notes:
            assert node.post(f"/workspaces/{wid}/notify", headers=ADMIN, json={"message": "tick"}).status_code == 200
    importing.join()
    expected = [int(r[0]) for r in a.db.query(f"SELECT id FROM events WHERE id > {start} ORDER BY id")]
    assert len(expected) > 3000
    try:
        for s in subs:
            assert s.wait_for(len(expected)) == expected
    finally:
        for s in subs:
            s.ws.close()
