"""Fixtures for the black-box API tests: a real PostgreSQL cluster (started
by scripts/pg.sh), a fresh database per daemon, the real rollcall daemon on
a free port, and a real SMTP server (smtp_sink.py).

Run with /usr/bin/python3 -m pytest tests/api (scripts/test.sh does).
ROLLCALL_BIN picks the binary (the asan build uses bin/rollcall-asan)."""
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
import smtp_sink  # noqa: E402

BIN = os.path.abspath(os.environ.get("ROLLCALL_BIN",
                                     os.path.join(ROOT, "bin", "rollcall")))
PGDIR = os.environ.get("ROLLCALL_TEST_PGDIR",
                       os.path.join(ROOT, "var", "test-pg"))
_db_seq = itertools.count()


class Postgres:
    """The throwaway cluster; databases are created per daemon."""

    def __init__(self, pgdir):
        self.pgdir = pgdir
        self.created = []       # databases made here, dropped after tests

    def _pg(self, *args):
        env = dict(os.environ, PGDIR=self.pgdir)
        return subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"),
                               *args], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self.url = self._pg("start").splitlines()[-1]
        return self.url

    def stop(self):
        self._pg("stop")

    def url_for(self, dbname):
        return re.sub(r"///[^?]+", "///" + dbname, self.url)

    def psql(self, dbname, sql):
        out = subprocess.run(["psql", "-X", "-q", "-tA", "-v",
                              "ON_ERROR_STOP=1", self.url_for(dbname),
                              "-c", sql], check=True, capture_output=True,
                             text=True)
        return out.stdout.strip()

    def create_db(self, migrated=False):
        """A new database: empty, or (migrated=True, what a daemon gets)
        a copy of one that `rollcall migrate` brought up to sql/ once per
        session. The copy is a file copy in PostgreSQL; running the
        migrations again for each daemon was a tenth of a test's time.
        The daemon still migrates on start: a no-op that checks them."""
        name = "rc_test_%d_%d" % (os.getpid(), next(_db_seq))
        self.psql("postgres", "DROP DATABASE IF EXISTS %s" % name)
        if migrated:
            self.psql("postgres", "CREATE DATABASE %s TEMPLATE %s" % (
                name, self.template()))
        else:
            self.psql("postgres", "CREATE DATABASE %s" % name)
        self.created.append(name)
        return name

    def drop_created(self, since=0):
        """Drops the databases made since the mark: a test's databases
        are ~10 MB each, and hundreds of them filled CI's disk."""
        for name in self.created[since:]:
            self.psql("postgres",
                      "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        del self.created[since:]

    def template(self):
        if getattr(self, "_template", None) is None:
            name = "rc_template_%d" % os.getpid()
            self.psql("postgres", "DROP DATABASE IF EXISTS %s" % name)
            self.psql("postgres", "CREATE DATABASE %s" % name)
            env = dict(os.environ, ROLLCALL_DB_URL=self.url_for(name),
                       ROLLCALL_DB_MIGRATIONS_DIR=os.path.join(ROOT, "sql"),
                       ROLLCALL_CONFIG=os.path.join(ROOT, "conf",
                                                    "rollcall.conf"))
            subprocess.run([BIN, "migrate"], env=env, cwd=ROOT, check=True,
                           capture_output=True, timeout=120)
            self._template = name
        return self._template

    def drop_template(self):
        if getattr(self, "_template", None) is not None:
            self.psql("postgres", "DROP DATABASE IF EXISTS %s" %
                      self._template)
            self._template = None


@pytest.fixture(scope="session")
def pg():
    p = Postgres(PGDIR)
    p.start()
    yield p
    p.drop_template()


@pytest.fixture
def own_pg():
    """A cluster of the test's own, for a test that stops PostgreSQL:
    stopping the shared one would fail the tests running beside it."""
    top = tempfile.mkdtemp(prefix="rcf-pg-")
    os.chmod(top, 0o755)    # the postgres user runs the server in it
    p = Postgres(top)
    p.start()
    yield p
    p.stop()
    shutil.rmtree(top, ignore_errors=True)


_PRINCIPAL_WRITE = re.compile(
    r"\b(UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+(users|refresh_tokens)\b", re.I)


class Daemon:
    """One rollcall serve process with its own database and folders."""

    def __init__(self, pg, dbname, tmp, overrides):
        self.pg = pg
        self.dbname = dbname
        self.tmp = tmp
        self.log_path = os.path.join(tmp, "rollcall.log")
        self.env = dict(os.environ)
        self.env.update({
            "ROLLCALL_CONFIG": os.path.join(ROOT, "conf", "rollcall.conf"),
            "ROLLCALL_SERVER_HOST": "127.0.0.1",
            "ROLLCALL_SERVER_PORT": "0",
            "ROLLCALL_SERVER_THREADS": "2",
            "ROLLCALL_SERVER_TEST_ROUTES": "true",
            "ROLLCALL_SERVER_STATIC_DIR": os.path.join(ROOT, "static"),
            "ROLLCALL_DB_URL": pg.url_for(dbname),
            "ROLLCALL_DB_MIGRATE_ON_START": "true",
            "ROLLCALL_DB_MIGRATIONS_DIR": os.path.join(ROOT, "sql"),
            "ROLLCALL_LOG_FILE": self.log_path,
            "ROLLCALL_AUTH_KEYS_DIR": os.path.join(tmp, "keys"),
            "ROLLCALL_AUTH_COMMON_PASSWORDS":
                os.path.join(ROOT, "conf", "common-passwords.txt"),
            # Cheap hashing keeps the suite fast; production uses libsodium's
            # INTERACTIVE limits.
            "ROLLCALL_AUTH_ARGON_OPSLIMIT": "1",
            "ROLLCALL_AUTH_ARGON_MEMLIMIT_KIB": "8192",
            "ROLLCALL_MAIL_SPOOL_DIR": os.path.join(tmp, "spool"),
            "ROLLCALL_STORE_DIR": os.path.join(tmp, "blobs"),
            "ROLLCALL_JOBS_BACKOFF_BASE_MS": "200",
            "ROLLCALL_JOBS_BACKOFF_MAX_MS": "1000",
            "ROLLCALL_JOBS_POLL_MS": "100",
        })
        for k, v in overrides.items():
            self.env["ROLLCALL_" + k.upper()] = str(v)
        self.proc = None
        self.port = None

    def start(self, timeout=15):
        out = open(os.path.join(self.tmp, "stdout.log"), "ab")
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=out)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening on [^:]+:(\d+)", line)
        if not m:
            self.proc.wait(timeout)
            raise RuntimeError("daemon did not start: %r\n%s" %
                               (line, self.read_stderr()))
        self.port = int(m.group(1))
        self.url = "http://127.0.0.1:%d" % self.port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/readyz", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("daemon never became ready")

    def read_stderr(self):
        with open(os.path.join(self.tmp, "stdout.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the daemon; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        return rc

    def restart(self):
        assert self.stop() == 0, self.read_stderr()
        return self.start()

    def log_lines(self):
        import json
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cli(self, *args, input=None, check=True):
        """Runs `rollcall ARGS` with this daemon's configuration."""
        r = subprocess.run([BIN, *args], env=self.env, cwd=ROOT, input=input,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("rollcall %s failed (%d): %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def psql(self, sql):
        out = self.pg.psql(self.dbname, sql)
        if _PRINCIPAL_WRITE.search(sql):
            # A change made behind the daemon's back reaches its principal
            # cache by NOTIFY (sql/009), within milliseconds rather than
            # at once: give the listener that moment before the next call.
            time.sleep(0.1)
        return out

    # HTTP helpers
    def req(self, method, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.request(method, self.url + path, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def patch(self, path, **kw):
        return self.req("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remembers whether a test failed, so its folders can be kept."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        item.rc_failed = True


@pytest.fixture
def make_daemon(pg, request):
    """Factory: make_daemon(**overrides) starts a daemon on a fresh database
    (of the shared cluster, or of cluster=own_pg); overrides are config
    keys as section_key=value (server_threads=1). After the test the
    daemons are stopped, the test's databases dropped and the daemons'
    folders removed (kept when the test failed, to read their logs)."""
    started = []
    mark = len(pg.created)

    def factory(dbname=None, start=True, cluster=None, **overrides):
        tmp = tempfile.mkdtemp(prefix="rollcall-test-")
        on = cluster or pg      # own_pg for a test that stops it
        d = Daemon(on, dbname or on.create_db(migrated=True), tmp,
                   overrides)
        started.append(d)
        return d.start() if start else d

    yield factory
    codes = [(d, d.stop()) for d in started]
    pg.drop_created(mark)
    if not getattr(request.node, "rc_failed", False):
        for d, rc in codes:
            if rc in (0, None):
                shutil.rmtree(d.tmp, ignore_errors=True)
    for d, rc in codes:
        # A clean exit matters: under ASan a leak or error exits non-zero.
        assert rc in (0, None), "daemon exited %s:\n%s" % (rc, d.read_stderr())


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


class Smtp:
    """smtp_sink.py on a fixed port, so it can be stopped and restarted."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rollcall-smtp-")
        self.proc = None
        self.port = 0

    def start(self):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "api",
                                              "smtp_sink.py"),
             "--port", str(self.port), "--dir", self.dir],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready"), line
        self.port = int(line.split()[1])
        self.url = "smtp://127.0.0.1:%d" % self.port
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc.stdout.close()

    def messages(self):
        return smtp_sink.read_messages(self.dir)

    def wait(self, count=1, timeout=15):
        return smtp_sink.wait_for_messages(self.dir, count, timeout)


@pytest.fixture
def smtp():
    s = Smtp().start()
    yield s
    s.stop()
    shutil.rmtree(s.dir, ignore_errors=True)
