"""Ascending activity pages (since_id, an ascending cursor) never pass a row that is not committed yet.

On PostgreSQL `seq` is drawn at INSERT and becomes visible at COMMIT, in any order: a reader that returned seq s+1
while s was still uncommitted would hand out s+1 as the next since_id, and s would never be returned. A poll-mode
agent drains its inbox exactly this way, so it would lose messages. SQLite commits in order; the concurrent drain
runs on both."""
import threading
import uuid

import pytest

from test_a2a import bearer, msg, send, ws as new_ws
from test_event_horizon import Session, poll


def report(c, w, summary):
    r = c.post(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]),
               json={"activity_type": "agent_log", "summary": summary})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def page(c, w, **q):
    r = c.get(f"/workspaces/{w['id']}/activity", headers=bearer(w["auth_token"]), params=q)
    assert r.status_code == 200, r.text
    return r


class Drain:
    """A poll agent: since_id = the last row it was given; everything it got, in the order it got it."""

    def __init__(self, c, w, since_id, **q):
        self.c, self.w, self.last, self.q, self.seen = c, w, since_id, q, []

    def once(self):
        rows = page(self.c, self.w, since_id=self.last, **self.q).json()
        self.seen += [r["id"] for r in rows]
        if rows:
            self.last = rows[-1]["id"]
        return [r["summary"] for r in rows]


def last_seq(db):
    return int(db.query("SELECT COALESCE(pg_sequence_last_value(CAST(pg_get_serial_sequence('activity_logs', 'seq')"
                        " AS regclass)), 0)")[0][0])


def test_a_row_of_a_running_transaction_is_never_passed(start_colony, backend):
    """T inserts row s and keeps running; row s+1 commits through the API. While T runs, a poll from before s
    returns only what is settled (the rows before s); after T commits, s and s+1 come, in order, none skipped."""
    if backend != "postgres":
        pytest.skip("SQLite commits in seq order")
    c = start_colony()
    w = new_ws(c)
    z, a, b = (report(c, w, s) for s in ("z", "a", "b"))
    first = page(c, w, since_id=z, limit=1)
    assert [r["summary"] for r in first.json()] == ["a"]
    cursor = first.headers["X-Next-Cursor"]  # ascending, after a
    drain = Drain(c, w, a)
    held = Session(c.db, "hz_held")
    try:
        before = last_seq(c.db)
        held.send("BEGIN; INSERT INTO activity_logs (id, workspace_id, activity_type, summary, created_at)"
                  f" VALUES ('{uuid.uuid4()}', '{w['id']}', 'agent_log', 'held', 0);")
        poll(lambda: last_seq(c.db) > before)  # T drew s and holds it
        report(c, w, "after")  # s+1, committed
        assert drain.once() == ["b"]  # not "after": s is not settled
        assert drain.once() == []
        assert [r["summary"] for r in page(c, w, cursor=cursor).json()] == ["b"]
        held.send("COMMIT;")
        poll(lambda: c.db.query(f"SELECT 1 FROM activity_logs WHERE workspace_id = '{w['id']}'"
                                " AND summary = 'held'"))
        assert drain.once() == ["held", "after"]
        assert drain.once() == []
        assert [r["summary"] for r in page(c, w, cursor=cursor).json()] == ["b", "held", "after"]
    finally:
        held.close()
    table = [r[0] for r in c.db.query(f"SELECT id FROM activity_logs WHERE workspace_id = '{w['id']}'"
                                      f" AND seq > (SELECT seq FROM activity_logs WHERE id = '{a}') ORDER BY seq")]
    assert drain.seen == table and len(table) == 3


def test_a_transaction_without_activity_rows_does_not_hold_polls(start_colony, backend):
    """Only transactions that may hold an activity seq matter: a long one that writes elsewhere (an import) does
    not delay a poll."""
    if backend != "postgres":
        pytest.skip("SQLite commits in seq order")
    c = start_colony()
    w = new_ws(c)
    z = report(c, w, "z")
    other = Session(c.db, "hz_other")
    try:
        other.send("BEGIN; UPDATE workspaces SET last_activity_at = 1 WHERE id = "
                   f"'{new_ws(c)['id']}';")
        poll(lambda: c.db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'hz_other'"
                                " AND backend_xid IS NOT NULL"))
        report(c, w, "a")
        # nothing was proven settled before this read: had it waited on the import and timed out, it would
        # return nothing
        assert [r["summary"] for r in page(c, w, since_id=z).json()] == ["a"]
    finally:
        other.send("ROLLBACK;")
        other.close()


def a2a(c, frm, to, text, mid):
    r = send(c, frm, to, msg(text, mid))
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text


WRITERS, PER_WRITER = 6, 30


def test_a_concurrent_drain_sees_every_row_once_in_order(server):
    """Reports (grouped, written in parallel on PostgreSQL) and A2A messages (each in its own transaction) to a
    poll-mode workspace, while two agents drain it with since_id: each gets every row once, in seq order."""
    boss = new_ws(server, mode="poll")
    inbox = new_ws(server, parent=boss, mode="poll")
    start = report(server, inbox, "start")
    everything, messages = Drain(server, inbox, start), Drain(server, inbox, start, type="a2a_receive")
    done = threading.Event()
    errors = []

    def write(i):
        try:
            for k in range(PER_WRITER):
                if i % 2:
                    a2a(server, boss, inbox, f"m{i}-{k}", f"hz-{i}-{k}")
                else:
                    report(server, inbox, f"r{i}-{k}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def read(d):
        try:
            while not done.is_set():
                d.once()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    writers = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    readers = [threading.Thread(target=read, args=(d,)) for d in (everything, messages)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert errors == []
    while everything.once() or messages.once():  # what is left once every writer has committed
        pass
    rows = server.db.query(f"SELECT id, activity_type FROM activity_logs WHERE workspace_id = '{inbox['id']}'"
                           f" AND seq > (SELECT seq FROM activity_logs WHERE id = '{start}') ORDER BY seq")
    assert len(rows) == WRITERS * PER_WRITER
    assert everything.seen == [r[0] for r in rows]
    assert messages.seen == [r[0] for r in rows if r[1] == "a2a_receive"]
