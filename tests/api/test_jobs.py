"""The outbox: jobs rows inserted straight into the database (the routes
that enqueue mail arrive with the identity module) and delivered by the
worker inside `rollcall serve` to a real SMTP server or the spool folder;
the `rollcall jobs` subcommand that lists and retries them."""
import base64
import email
import email.policy
import glob
import json
import os
import socket
import stat
import subprocess
import time
import uuid

import pytest

from conftest import ROOT, Smtp

SECRET = "Tmp-Pa55-7f3e9c"
CREDENTIALS = {
    "to": ["ada@example.com"],
    "template": "credentials",
    "vars": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "temporary_password": SECRET,
        "sign_in_url": "https://rollcall.example.com/",
    },
}
# Long enough that only a NOTIFY or the next-run_at timer can explain a
# prompt delivery, not the safety-net poll.
NO_POLL = 60000


def insert_job(d, payload, kind="mail", state="pending", last_error=None):
    """Inserts one job as a writer would; returns its id."""
    lit = json.dumps(payload).replace("'", "''")
    err = "NULL" if last_error is None else \
        "'%s'" % last_error.replace("'", "''")
    return d.psql("INSERT INTO jobs (kind, payload, state, last_error) "
                  "VALUES ('%s', '%s'::jsonb, '%s', %s) RETURNING id"
                  % (kind, lit, state, err))


def job(d, jid):
    return json.loads(d.psql("SELECT row_to_json(j) FROM jobs j "
                             "WHERE id = '%s'" % jid))


def wait_job(d, jid, pred, timeout=15):
    """Polls the row until pred(row) holds; returns the row."""
    deadline = time.monotonic() + timeout
    while True:
        row = job(d, jid)
        if pred(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError("job never got there: %r" % row)
        time.sleep(0.05)


def log_text(d):
    with open(d.log_path) as f:
        return f.read()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RejectingSmtp(Smtp):
    """smtp_sink.py answering every RCPT TO with 550."""

    def start(self):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "api",
                                              "smtp_sink.py"),
             "--port", str(self.port), "--dir", self.dir,
             "--reject-code", "550"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready"), line
        self.port = int(line.split()[1])
        self.url = "smtp://127.0.0.1:%d" % self.port
        return self


@pytest.fixture
def rejecting_smtp():
    s = RejectingSmtp().start()
    yield s
    s.stop()


def test_template_mail_delivered_and_vars_removed(make_daemon, smtp):
    d = make_daemon(mail_smtp_url=smtp.url, jobs_poll_ms=NO_POLL)
    time.sleep(0.3)		# the worker is listening by now
    jid = insert_job(d, CREDENTIALS)

    msgs = smtp.wait(1, timeout=10)
    assert len(msgs) == 1
    m = msgs[0]
    assert m["Subject"] == "Your rollcall account"
    assert m["X-Sink-Rcpt-To"] == "ada@example.com"
    assert "ada@example.com" in m["To"]
    assert m["X-Sink-Mail-From"] == "rollcall@localhost"
    body = m.get_body().get_content()
    assert SECRET in body and "Ada Lovelace" in body

    row = wait_job(d, jid, lambda r: r["state"] == "done")
    assert row["attempts"] == 1
    assert row["done_at"] is not None and row["last_error"] is None
    assert "vars" not in row["payload"]
    assert row["payload"]["template"] == "credentials"
    assert row["payload"]["to"] == ["ada@example.com"]
    assert SECRET not in d.psql("SELECT payload::text FROM jobs")

    log = log_text(d)
    assert SECRET not in log and "Ada Lovelace" not in log
    assert jid in log and "delivered" in log


def test_smtp_down_retries_survive_restart_and_deliver_once(make_daemon,
                                                            smtp):
    smtp.stop()
    d = make_daemon(mail_smtp_url=smtp.url, jobs_max_attempts=100,
                    jobs_poll_ms=NO_POLL)
    jid = insert_job(d, CREDENTIALS)

    row = wait_job(d, jid, lambda r: r["attempts"] >= 2)
    assert row["state"] == "pending"
    assert row["last_error"] and "transient" in row["last_error"]
    before = row["attempts"]

    d.restart()
    # The new process finds the job in the table and keeps trying.
    row = wait_job(d, jid, lambda r: r["attempts"] > before)
    assert row["state"] == "pending"
    assert smtp.messages() == []

    smtp.start()
    smtp.wait(1, timeout=15)
    row = wait_job(d, jid, lambda r: r["state"] == "done")
    assert "vars" not in row["payload"]
    time.sleep(2.5)		# > backoff_max_ms: a duplicate would show
    msgs = smtp.messages()
    assert len(msgs) == 1, [m["Subject"] for m in msgs]
    assert msgs[0]["Subject"] == "Your rollcall account"


def test_permanent_rejection_is_dead_at_once_and_retry_dead(
        make_daemon, rejecting_smtp, smtp):
    d = make_daemon(mail_smtp_url=rejecting_smtp.url)
    jid = insert_job(d, CREDENTIALS)

    row = wait_job(d, jid, lambda r: r["state"] == "dead")
    assert row["attempts"] == 1
    assert "550" in row["last_error"]
    assert "vars" in row["payload"]	# kept so that a retry can send it
    assert d.stop() == 0

    r = d.cli("jobs", "retry-dead")
    assert r.stdout.split()[0] == "1", r.stdout
    row = job(d, jid)
    assert row["state"] == "pending" and row["attempts"] == 0
    assert d.cli("jobs", "retry-dead").stdout.split()[0] == "0"

    # Fixed relay: the retried job goes out.
    d.env["ROLLCALL_MAIL_SMTP_URL"] = smtp.url
    d.start()
    smtp.wait(1)
    wait_job(d, jid, lambda r: r["state"] == "done")
    assert rejecting_smtp.messages() == []


def test_max_attempts_then_dead(make_daemon):
    d = make_daemon(mail_smtp_url="smtp://127.0.0.1:%d" % closed_port(),
                    jobs_max_attempts=2)
    jid = insert_job(d, CREDENTIALS)

    row = wait_job(d, jid, lambda r: r["state"] == "dead")
    assert row["attempts"] == 2
    assert "gave up after 2 attempts" in row["last_error"]
    time.sleep(0.5)
    assert job(d, jid)["attempts"] == 2	# dead stays dead


def test_no_smtp_url_spools_eml_0600(make_daemon):
    d = make_daemon(mail_smtp_url="")
    spool = os.path.join(d.tmp, "spool")
    csv = b"name,days\nAda,3\n"
    jid = insert_job(d, {
        "to": ["boss@example.com"],
        "subject": "Monthly report",
        "text": "The report is attached.",
        "attachments": [{"filename": "report.csv",
                         "content_type": "text/csv; charset=UTF-8",
                         "data_base64": base64.b64encode(csv).decode()}],
    })

    wait_job(d, jid, lambda r: r["state"] == "done")
    files = glob.glob(os.path.join(spool, "*.eml"))
    assert len(files) == 1, files
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    with open(files[0], "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    assert m["Subject"] == "Monthly report"
    assert "boss@example.com" in m["To"]
    att = list(m.iter_attachments())
    assert [a.get_filename() for a in att] == ["report.csv"]
    assert att[0].get_content().encode() == csv


def test_two_daemons_share_the_queue_without_duplicates(make_daemon, smtp):
    d1 = make_daemon(mail_smtp_url=smtp.url, jobs_poll_ms=NO_POLL)
    d2 = make_daemon(dbname=d1.dbname, mail_smtp_url=smtp.url,
                     jobs_poll_ms=NO_POLL)
    time.sleep(0.3)
    d1.psql("INSERT INTO jobs (kind, payload) SELECT 'mail', "
            "jsonb_build_object('to', jsonb_build_array("
            "'n' || i || '@example.com'), 'subject', 'job ' || i, "
            "'text', 'hello') FROM generate_series(1, 20) i")

    smtp.wait(20, timeout=20)
    deadline = time.monotonic() + 10
    while d1.psql("SELECT count(*) FROM jobs WHERE state = 'done'") != "20":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.5)
    subjects = sorted(m["Subject"] for m in smtp.messages())
    assert subjects == sorted("job %d" % i for i in range(1, 21))

    # Each job was delivered by exactly one of the two workers.
    delivered = []
    for d in (d1, d2):
        delivered.append([line["msg"].split()[2] for line in d.log_lines()
                          if line.get("msg", "").startswith("jobs: mail ")
                          and "delivered" in line["msg"]])
    ids = delivered[0] + delivered[1]
    assert len(ids) == 20 and len(set(ids)) == 20
    print("deliveries per daemon: %d + %d" % tuple(map(len, delivered)))


def test_worker_reconnects_after_losing_the_database(make_daemon, smtp):
    d = make_daemon(mail_smtp_url=smtp.url, jobs_poll_ms=NO_POLL)
    time.sleep(0.3)
    # The worker's connection is the one that ran LISTEN and then sits
    # idle after its last statement; the loop pools never LISTEN.
    killed = d.psql("SELECT count(pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND query LIKE '%run_at%'")
    assert killed == "1"
    jid = insert_job(d, CREDENTIALS)
    smtp.wait(1, timeout=10)
    wait_job(d, jid, lambda r: r["state"] == "done")
    assert log_text(d).count("jobs: connected") == 2


def test_bad_payloads_are_dead_without_retry(make_daemon):
    d = make_daemon(jobs_max_attempts=5)
    missing = dict(CREDENTIALS, vars={"name": "Ada"})
    j1 = insert_job(d, missing)
    j2 = insert_job(d, {"url": "https://hooks.slack.example/x"},
                    kind="webhook")
    j3 = insert_job(d, {"to": [], "subject": "x", "text": "y"})

    r1 = wait_job(d, j1, lambda r: r["state"] == "dead")
    assert r1["attempts"] == 1 and "credentials" in r1["last_error"]
    r2 = wait_job(d, j2, lambda r: r["state"] == "dead")
    assert r2["last_error"] == "webhook job without an organisation"
    r3 = wait_job(d, j3, lambda r: r["state"] == "dead")
    assert "to" in r3["last_error"]
    assert glob.glob(os.path.join(d.tmp, "spool", "*.eml")) == []


def test_cli_list_and_retry(make_daemon):
    d = make_daemon(jobs_enabled="false")
    dead = insert_job(d, CREDENTIALS, state="dead",
                      last_error="smtp permanent: 550 no such user")
    done = insert_job(d, {"to": ["a@example.com"], "subject": "s",
                          "text": "t"}, state="done")

    out = d.cli("jobs", "list").stdout
    assert dead in out and done in out
    assert SECRET not in out and "vars" not in out and "Ada" not in out
    line = next(l for l in out.splitlines() if l.startswith(dead))
    assert "dead" in line and "550 no such user" in line
    out = d.cli("jobs", "list", "--state", "done", "--limit", "5").stdout
    assert done in out and dead not in out
    assert d.cli("jobs", "list", "--state", "bogus", check=False) \
        .returncode == 2
    assert d.cli("jobs", "list", "--limit", "x", check=False).returncode == 2

    d.psql("UPDATE jobs SET attempts = 8, run_at = now() + interval '1 day' "
           "WHERE id = '%s'" % dead)
    r = d.cli("jobs", "retry", dead)
    assert dead in r.stdout
    row = job(d, dead)
    assert row["state"] == "pending" and row["attempts"] == 0
    assert d.psql("SELECT run_at <= now() FROM jobs WHERE id = '%s'"
                  % dead) == "t"

    r = d.cli("jobs", "retry", str(uuid.uuid4()), check=False)
    assert r.returncode == 1 and "no job" in r.stderr
    r = d.cli("jobs", "retry", done, check=False)
    assert r.returncode == 1 and "done" in r.stderr
    r = d.cli("jobs", "retry", "not-a-uuid", check=False)
    assert r.returncode != 0 and "not a job id" in r.stderr
    assert d.cli("jobs", check=False).returncode == 2
    assert d.cli("jobs", "frobnicate", check=False).returncode == 2
