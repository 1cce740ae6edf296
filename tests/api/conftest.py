"""Black-box API test harness.

Every test that asks for `server` (or `backend`) runs twice: against a fresh SQLite file and against a fresh
database in a throwaway PostgreSQL 15 cluster that this harness creates with initdb/pg_ctl in a temp dir on a
free port, and removes at the end. colony itself is the binary under test (COLONY_BIN, default build/test/colony),
started as a real process on a free port.
"""
import os
import pathlib
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLONY = os.environ.get("COLONY_BIN", str(ROOT / "build" / "test" / "colony"))
PG_BIN = pathlib.Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
LSAN_SUPP = ROOT / "tests" / "lsan.supp"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
ADMIN_TOKEN = "test-admin-" + uuid.uuid4().hex
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# every colony of the suite seals secrets under this key unless a test gives another (or none: "")
SECRETS_KEY = "c2VjcmV0cyBrZXkgb2YgdGhlIGNvbG9ueSB0ZXN0cyE="


# the fan-out tests hold thousands of sockets in this process and in colony (which inherits the limit)
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(_hard, 65536), _hard))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_env(extra=None):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
    env["LSAN_OPTIONS"] = f"suppressions={LSAN_SUPP}:print_suppressions=0"
    for k in ("DATABASE_URL", "COLONY_LISTEN", "PORT", "ADMIN_TOKEN", "ALLOW_PRIVATE_AGENT_URLS",
              "COLONY_BOOTSTRAP_RATE_LIMIT", "COLONY_SECRETS_KEY", "COLONY_SECRETS_KEY_FILE", "COLONY_SECRETS_OLD_KEY",
              "COLONY_SECRETS_OLD_KEY_FILE"):
        env.pop(k, None)
    env.update(extra or {})
    return env


def run_colony(args, env=None, timeout=60):
    """Run a one-shot colony command; returns CompletedProcess (text)."""
    return subprocess.run([COLONY, *args], env=sanitizer_env(env), capture_output=True, text=True,
                          timeout=timeout)


def wait_for(fn, timeout=15, interval=0.05):
    """Poll fn until it returns something true; return that, or fail after `timeout` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# ---- PostgreSQL ----------------------------------------------------------------------------------------------

class PgCluster:
    """A throwaway cluster: initdb in a temp dir, trust auth on 127.0.0.1, a free port."""

    def __init__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="colony-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:  # initdb refuses to run as root: the cluster belongs to the postgres user
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                   "--no-sync", "-E", "UTF8"])
        conf = (f"listen_addresses='127.0.0.1'\nport={self.port}\nunix_socket_directories='{self.dir}'\n"
                "fsync=off\nsynchronous_commit=off\nfull_page_writes=off\nmax_connections=300\n")
        self._run(["sh", "-c", f"cat >> '{self.data}/postgresql.conf' <<'EOF'\n{conf}EOF"])
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "start"])

    def _run(self, cmd):
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True)

    def psql(self, db, sql):
        out = subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout

    def new_database(self):
        name = "colony_" + uuid.uuid4().hex[:12]
        self.psql("postgres", f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _pids(self):
        """The postmaster and every process it has forked."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        kids = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, kids)]

    def pause(self):
        """Freeze the whole cluster (SIGSTOP): connections stay open, nothing answers — a hung database."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self):
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def stop(self):
        try:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    yield cluster
    cluster.stop()


# ---- databases -----------------------------------------------------------------------------------------------

class Database:
    """A fresh database of one backend, with a way to query it directly (behind colony's back)."""

    def __init__(self, backend, url, cluster=None, path=None):
        self.backend, self.url, self.cluster, self.path = backend, url, cluster, path

    def query(self, sql):
        """Rows as lists of strings (PostgreSQL via psql; SQLite via the sqlite3 module)."""
        if self.backend == "postgres":
            name = self.url.rsplit("/", 1)[1]
            out = self.cluster.psql(name, sql)
            return [line.split("|") for line in out.splitlines() if line]
        con = sqlite3.connect(self.path, timeout=10)
        try:
            rows = con.execute(sql).fetchall()
            con.commit()
            return [["" if v is None else str(v) for v in row] for row in rows]
        finally:
            con.close()

    def execute(self, sql):
        if self.backend == "postgres":
            self.cluster.psql(self.url.rsplit("/", 1)[1], sql)
        else:
            con = sqlite3.connect(self.path, timeout=10)
            con.executescript(sql)
            con.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def new_db(backend, request, tmp_path_factory):
    """A factory of fresh, empty databases of the current backend."""
    def make():
        if backend == "postgres":
            cluster = request.getfixturevalue("pg_cluster")
            return Database(backend, cluster.new_database(), cluster=cluster)
        path = tmp_path_factory.mktemp("db") / "colony.db"
        return Database(backend, str(path), path=str(path))
    return make


# ---- colony processes ----------------------------------------------------------------------------------------

class Colony:
    """A running `colony serve`. stop() returns its exit code and fails on any sanitizer report."""

    def __init__(self, db, args=(), env=None, log_dir=None):
        self.db = db
        self.admin = ADMIN
        # the harness's agents (agent_stub.py) listen on 127.0.0.1, and many tests bootstrap ids from one address:
        # both development allowances are on unless a test turns them off (test_security.py does)
        env = {"ADMIN_TOKEN": ADMIN_TOKEN, "ALLOW_PRIVATE_AGENT_URLS": "true", "COLONY_BOOTSTRAP_RATE_LIMIT": "1000000",
               "COLONY_SECRETS_KEY": SECRETS_KEY, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = pathlib.Path(log_dir or tempfile.mkdtemp(prefix="colony-log-")) / f"colony-{self.port}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [COLONY, "serve", "--db", db.url, "--listen", f"127.0.0.1:{self.port}", "--threads", "2", *args],
            env=sanitizer_env(env), stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"colony did not start (exit {self.proc.returncode}): {self.read_log()[-3000:]}")
        self.http = requests.Session()

    def read_log(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def get(self, path, **kw):
        return self.http.get(self.url + path, timeout=30, **kw)

    def post(self, path, **kw):
        return self.http.post(self.url + path, timeout=30, **kw)

    def put(self, path, **kw):
        return self.http.put(self.url + path, timeout=30, **kw)

    def patch(self, path, **kw):
        return self.http.patch(self.url + path, timeout=30, **kw)

    def delete(self, path, **kw):
        return self.http.delete(self.url + path, timeout=30, **kw)

    def request(self, method, path, **kw):
        return self.http.request(method, self.url + path, timeout=30, **kw)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
            raise AssertionError(f"colony did not stop within {timeout}s")
        finally:
            self.proc.stdout.close()
            self.log.close()
        log = self.log_path.read_text(errors="replace")
        for marker in SANITIZER_MARKERS:
            assert marker not in log, f"sanitizer report in colony's log:\n{log[-6000:]}"
        return code


@pytest.fixture
def start_colony(new_db, tmp_path):
    """Factory: start colony on a fresh database (or the given one); every instance is stopped and checked."""
    started = []

    def start(db=None, args=(), env=None):
        c = Colony(db or new_db(), args=args, env=env, log_dir=tmp_path)
        started.append(c)
        return c

    yield start
    for c in started:
        if c.proc.returncode is None:
            assert c.stop() == 0, c.read_log()[-3000:]


def module_colony(backend, request, tmp_path_factory, args=(), env=None):
    """A colony on a fresh database of `backend`, for a module-scoped fixture (the caller stops it)."""
    if backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        db = Database(backend, cluster.new_database(), cluster=cluster)
    else:
        path = tmp_path_factory.mktemp("db") / "colony.db"
        db = Database(backend, str(path), path=str(path))
    return Colony(db, args=args, env=env, log_dir=tmp_path_factory.mktemp("log"))


@pytest.fixture(scope="module")
def server(backend, request, tmp_path_factory):
    """One colony per test module and backend, on a fresh database."""
    c = module_colony(backend, request, tmp_path_factory, args=getattr(request.module, "SERVER_ARGS", ()))
    yield c
    assert c.stop() == 0, c.read_log()[-3000:]


def metric(c, name, labels=""):
    """The value of one sample of /metrics (0 when absent)."""
    want = name + ("{" + labels + "}" if labels else "")
    for line in c.get("/metrics").text.splitlines():
        if line.startswith(want + " "):
            return int(float(line.split()[-1]))
    return 0


def wait_for(fn, timeout=15):
    """Poll fn until it returns something truthy (returned), or fail after `timeout` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def agent():
    """A fresh A2A agent stub (tests/api/agent_stub.py)."""
    from agent_stub import AgentStub
    stub = AgentStub()
    yield stub
    stub.close()
