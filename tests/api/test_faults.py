"""The fault cases of issue 13, with real parts: PostgreSQL stopped and
started under load (503 fast, recovery without a restart), `kill -9` of the
daemon in a burst of check-ins and leave requests (every 201 is in the
database; after the restart every mail job reaches the SMTP server, under
its own Message-ID), and a full blob store on a small tmpfs (503
store_unavailable, nothing left behind, the mail retried once space is
back). Each prints its figures (pytest -s shows them)."""
import collections
import concurrent.futures
import datetime
import errno
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from test_pictures import blob_files, png, problem, upload
from test_users import PW, add_user, make_org, token

API = "/api/v1"


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout,
                                                                what))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


# ---- PostgreSQL stopped and started under load ----------------------------

class Load:
    """Threads sending an authenticated, database-backed GET in a loop;
    every answer is kept as (start, end, status, code)."""

    def __init__(self, d, headers, threads=6):
        self.d, self.headers = d, headers
        self.results = []
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run)
                        for _ in range(threads)]

    def _run(self):
        s = requests.Session()
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                r = s.get(self.d.url + API + "/attendance/events",
                          headers=self.headers, timeout=10)
                code = (r.json().get("code") if r.status_code >= 400
                        else None)
                row = (t0, time.monotonic(), r.status_code, code,
                       r.headers.get("Retry-After"))
            except requests.RequestException as e:
                with self.lock:
                    self.errors.append(repr(e))
                continue
            with self.lock:
                self.results.append(row)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def between(self, a, b):
        with self.lock:
            return [r for r in self.results if r[0] >= a and r[1] <= b]


def test_postgres_stopped_under_load_answers_503_fast_and_recovers(
        own_pg, make_daemon):
    # own_pg first: torn down after the daemon is stopped.
    d = make_daemon(cluster=own_pg)
    make_org(d, "acme")
    add_user(d, "ada@acme.example", "admin", "acme")
    auth = token(d, "ada@acme.example")
    with Load(d, auth) as load:
        time.sleep(1.5)
        t_stop0 = time.monotonic()
        own_pg.stop()
        t_down = time.monotonic()
        time.sleep(3)
        ready_down = d.get("/readyz")
        t_up0 = time.monotonic()
        own_pg.start()
        t_up = time.monotonic()
        wait_until(lambda: any(r[2] == 200 for r in load.between(
            t_up, time.monotonic())), 20, "a 200 after the restart")
        first_ok = min(r[1] for r in load.between(t_up, time.monotonic())
                       if r[2] == 200)
        time.sleep(1.5)
        t_end = time.monotonic()
    before = load.between(0, t_stop0)
    down = load.between(t_down, t_up0)
    after = load.between(first_ok + 0.5, t_end)
    assert load.errors == [], load.errors[:5]
    assert before and all(r[2] == 200 for r in before), \
        collections.Counter(r[2] for r in before)
    # While it is down: 503 unavailable with Retry-After, every one.
    assert len(down) > 50, len(down)
    assert {(r[2], r[3]) for r in down} == {(503, "unavailable")}, \
        collections.Counter((r[2], r[3]) for r in down)
    assert all(r[4] is not None and int(r[4]) > 0 for r in down)
    assert ready_down.status_code == 503
    lat = [1000 * (r[1] - r[0]) for r in down]
    ok_lat = [1000 * (r[1] - r[0]) for r in before]
    print("\nPostgreSQL down %.1f s: %d answers, all 503; latency ms "
          "p50 %.2f p99 %.2f max %.2f (up: p50 %.2f); first 200 %.3f s "
          "after pg_ctl start returned" % (
              t_up0 - t_down, len(down), statistics.median(lat),
              pct(lat, 99), max(lat), statistics.median(ok_lat),
              first_ok - t_up))
    # Fast: nothing waits for db.query_timeout_ms or the connect timeout
    # (5 s each). Measured p99 17 ms on a quiet machine, 106 ms on one
    # loaded 6x over its cores: the bounds leave room for that and ASan.
    assert pct(lat, 99) < 500 and max(lat) < 2000, (pct(lat, 99),
                                                     max(lat))
    # Recovered without a restart: the same process answers 200 again
    # on every loop's pool (the load spreads over both loops).
    assert first_ok - t_up < 5
    assert after and all(r[2] == 200 for r in after), \
        collections.Counter(r[2] for r in after)
    assert d.get("/readyz").status_code == 200
    assert d.proc.poll() is None
    # The jobs worker reconnected too: a mail job goes out.
    r = d.post(API + "/users", headers=auth, json={
        "email": "bo@acme.example", "name": "Bo", "role": "employee"})
    assert r.status_code == 201, r.text
    wait_until(lambda: d.psql("SELECT state FROM jobs WHERE kind ="
                              " 'mail'") == "done", 20,
               "the mail job after the restart")


# ---- kill -9 in a burst of writes ------------------------------------------

def weekdays(start, n):
    day, out = start, []
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += datetime.timedelta(days=1)
    return out


def burst(d, who, headers, days, stop, acked, lock):
    """One person: check in, out, in, ... with a leave request between
    each, until the daemon is gone. Keeps what was answered 201."""
    s = requests.Session()
    kinds = ["check-in", "check-out"]
    i = 0
    while not stop.is_set() and i < len(days):
        try:
            r = s.post(d.url + API + "/attendance/" + kinds[i % 2],
                       headers=headers, json={"note": "burst"}, timeout=10)
            if r.status_code == 201:
                with lock:
                    acked["attendance_events"].append(r.json()["id"])
            else:
                assert r.status_code in (409, 503), r.text
            r = s.post(d.url + API + "/leave/requests", headers=headers,
                       json={"type_id": d.unpaid, "start_date": days[i],
                             "end_date": days[i], "reason": who},
                       timeout=10)
            if r.status_code == 201:
                with lock:
                    acked["leave_requests"].append(r.json()["id"])
            else:
                assert r.status_code == 503, r.text
        except requests.RequestException:
            return
        i += 1


def message_ids(smtp):
    out = collections.Counter()
    for m in smtp.messages():
        mid = m["Message-ID"].strip("<>").split("@")[0]
        out[mid] += 1
    return out


def test_kill_9_in_a_burst_loses_no_201_and_mails_each_job(make_daemon,
                                                          smtp):
    d = make_daemon(mail_smtp_url=smtp.url)
    make_org(d, "acme")
    add_user(d, "admin@acme.example", "admin", "acme")
    add_user(d, "mgr@acme.example", "manager", "acme")
    people = ["p%d@acme.example" % i for i in range(10)]
    for e in people:
        d.cli("user", "add", "--email", e, "--name", e.split("@")[0],
              "--role", "employee", "--org", "acme", "--manager",
              "mgr@acme.example",
              input=PW + "\n")
    admin = token(d, "admin@acme.example")
    d.unpaid = d.post(API + "/leave/types", headers=admin, json={
        "name": "Unpaid", "days_per_year": 0, "paid": False}).json()["id"]
    heads = {e: token(d, e) for e in people}
    days = weekdays(datetime.date(2027, 1, 4), 400)
    acked = collections.defaultdict(list)
    lock, stop = threading.Lock(), threading.Event()
    with concurrent.futures.ThreadPoolExecutor(len(people)) as ex:
        futs = [ex.submit(burst, d, e, heads[e], days, stop, acked, lock)
                for e in people]
        wait_until(lambda: len(acked["leave_requests"]) >= 150, 60,
                   "150 leave requests")
        d.proc.send_signal(signal.SIGKILL)
        assert d.proc.wait(10) == -signal.SIGKILL
        killed_at = len(acked["leave_requests"])
        stop.set()
        for f in futs:
            f.result()      # an unexpected status fails here
    d.proc.stdout.close()
    d.proc = None           # killed on purpose: not the fixture's business

    # Every 201 is in the database (the reply follows the commit).
    for table, ids in acked.items():
        assert ids, table
        found = int(d.psql("SELECT count(*) FROM %s WHERE id IN (%s)" % (
            table, ",".join("'%s'" % i for i in ids))))
        assert found == len(ids), (table, found, len(ids))
    rows = int(d.psql("SELECT count(*) FROM leave_requests"))
    jobs = d.psql("SELECT state, count(*) FROM jobs WHERE kind = 'mail'"
                  " GROUP BY 1 ORDER BY 1")
    assert rows >= killed_at
    # One mail job per request, in the same transaction.
    assert int(d.psql("SELECT count(*) FROM jobs WHERE kind = 'mail'")) == \
        rows
    sent_before = sum(message_ids(smtp).values())

    d.start()
    wait_until(lambda: d.psql("SELECT count(*) FROM jobs WHERE kind ="
                              " 'mail' AND state <> 'done'") == "0", 120,
               "every mail job done after the restart")
    job_ids = set(d.psql("SELECT replace(id::text, '-', '') FROM jobs"
                         " WHERE kind = 'mail'").split())
    wait_until(lambda: set(message_ids(smtp)) >= job_ids, 10,
               "the sink to hold every job's message")
    got = message_ids(smtp)
    assert set(got) == job_ids
    dups = {k: n for k, n in got.items() if n > 1}
    print("\nkill -9 after %d acked leave requests: %d check-in/out and "
          "%d leave 201s all in the database; %d leave rows; mail jobs at "
          "the kill %s; %d delivered before it; after the restart %d "
          "messages for %d jobs, duplicates %s" % (
              killed_at, len(acked["attendance_events"]),
              len(acked["leave_requests"]), rows, jobs.replace("\n", ", "),
              sent_before, sum(got.values()), len(job_ids), dups))
    # At-least-once with one worker: only the job it was delivering at the
    # kill may have gone out twice, and then under the same Message-ID.
    assert len(dups) <= 1 and all(n == 2 for n in dups.values()), dups


# ---- a full blob store -----------------------------------------------------

@pytest.fixture
def small_fs():
    """A 2 MiB tmpfs (we are root here); skipped where mounting is not
    allowed."""
    top = tempfile.mkdtemp(prefix="rcf-fs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700",
                        "tmpfs", top], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(top)
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.strip())
    yield top
    subprocess.run(["umount", "-l", top], check=False)
    os.rmdir(top)


def fill(path):
    """Writes zeros to path until the file system is full, to the last
    byte (unbuffered: a buffered close would raise too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)


def stray_files(top):
    """Files that are neither blobs, spooled mail, nor the filler."""
    out = []
    for dirpath, dirs, files in os.walk(top):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), top)
            if not (rel.startswith("fill") or
                    (rel.startswith("spool/") and f.endswith(".eml") and
                     not f.startswith(".")) or
                    (rel.startswith("blobs/") and "/tmp/" not in rel and
                     len(f) == 64)):
                out.append(rel)
    return out


def test_a_full_blob_store_answers_503_and_leaves_nothing(make_daemon,
                                                          small_fs):
    d = make_daemon(store_dir=os.path.join(small_fs, "blobs"),
                    mail_spool_dir=os.path.join(small_fs, "spool"))
    make_org(d, "acme")
    add_user(d, "admin@acme.example", "admin", "acme")
    admin = token(d, "admin@acme.example")
    r = upload(d, admin, png(64, 48))
    assert r.status_code == 201, r.text
    pictures = d.psql("SELECT id FROM pictures")
    blobs = blob_files_in(small_fs)
    assert len(blobs) >= 1

    fill(os.path.join(small_fs, "fill"))
    for w, h in [(320, 200), (640, 480)]:
        r = upload(d, admin, png(w, h))
        p = problem(r, 503, "store_unavailable")
        assert r.headers.get("Retry-After"), r.headers
        assert p["status"] == 503
    assert d.psql("SELECT id FROM pictures") == pictures
    assert blob_files_in(small_fs) == blobs
    assert stray_files(small_fs) == []

    # A mail while the disk is full (the spool shares it): retried.
    r = d.post(API + "/users", headers=admin, json={
        "email": "bo@acme.example", "name": "Bo", "role": "employee"})
    assert r.status_code == 201, r.text
    job = d.psql("SELECT id FROM jobs WHERE kind = 'mail'")
    wait_until(lambda: int(d.psql("SELECT attempts FROM jobs WHERE id = '%s'"
                                  % job)) >= 2, 20, "two failed attempts")
    state, err = d.psql("SELECT state, last_error FROM jobs WHERE id = '%s'"
                        % job).split("|", 1)
    assert state == "pending" and "space" in err.lower(), (state, err)
    assert stray_files(small_fs) == []
    assert os.listdir(os.path.join(small_fs, "spool")) == []

    os.unlink(os.path.join(small_fs, "fill"))
    wait_until(lambda: d.psql("SELECT state FROM jobs WHERE id = '%s'" %
                              job) == "done", 20, "the mail once space is back")
    assert os.listdir(os.path.join(small_fs, "spool")) == [
        job.replace("-", "") + ".eml"]
    r = upload(d, admin, png(320, 200))
    assert r.status_code == 201, r.text
    assert stray_files(small_fs) == []


def blob_files_in(top):
    class _D:
        tmp = top
    return blob_files(_D())
