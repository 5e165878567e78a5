"""Slack (issue 12, section 1): the org's link (write-only secrets, the
webhook allow-list), people's Slack ids, the signed slash command and each
of its commands with its effect through the API, and the notifications as
webhook jobs delivered to a real HTTP receiver on 127.0.0.1 (retry on 500,
Retry-After on 429, dead on 400). Real daemon and PostgreSQL; Slack itself
is the only thing stood in for (by the receiver and the test's signing)."""
import datetime
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse

import pytest

from test_users import PW, add_user, make_org, token

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0TEST001"
COMMAND = "/api/v1/integrations/slack/command"


class Receiver:
    """An incoming-webhook stand-in: records each POST's JSON body and
    answers with the next scripted reply (default 200)."""

    def __init__(self):
        self.posts = []
        self.script = []        # [(status, headers)]
        self.lock = threading.Lock()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                data = self.rfile.read(n)
                with rec.lock:
                    status, hdrs = rec.script.pop(0) if rec.script else (
                        200, {})
                    rec.posts.append({"path": self.path, "status": status,
                                      "at": time.monotonic(),
                                      "ctype": self.headers["Content-Type"],
                                      "body": json.loads(data)})
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                body = b"ok" if status == 200 else b"invalid_payload"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/services/T0/B0/x" % \
            self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.posts) >= n:
                    return list(self.posts)
            time.sleep(0.05)
        raise AssertionError("%d post(s) expected, got %r" % (n, self.posts))

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def sign(body, ts=None, secret=SECRET):
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body,
                   hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac,
            "Content-Type": "application/x-www-form-urlencoded"}


def form(text, user="U0EMP", team=TEAM):
    return urllib.parse.urlencode({
        "token": "legacy", "team_id": team, "team_domain": "acme",
        "channel_id": "C1", "user_id": user, "user_name": "someone",
        "command": "/rollcall", "text": text,
        "response_url": "https://hooks.slack.com/commands/1/2/3",
        "trigger_id": "1.2.3"}).encode()


def command(d, text, user="U0EMP", **kw):
    body = form(text, user)
    return d.post(COMMAND, data=body, headers=sign(body, **kw))


def say(d, text, user="U0EMP"):
    r = command(d, text, user)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["response_type"] == "ephemeral"
    return j["text"]


@pytest.fixture
def world(make_daemon, receiver):
    d = make_daemon(slack_webhook_allow="https://hooks.slack.com/,"
                    "http://127.0.0.1:", slack_digest_interval_seconds=1)
    d.rx = receiver
    d.org = make_org(d, "acme")
    d.other = make_org(d, "globex")
    d.admin = add_user(d, "admin@acme.test", "admin", "acme")
    d.mgr = add_user(d, "mgr@acme.test", "manager", "acme")
    d.emp = add_user(d, "emp@acme.test", "employee", "acme")
    d.psql("UPDATE users SET manager_id = '%s' WHERE id = '%s'"
           % (d.mgr, d.emp))
    d.psql("INSERT INTO leave_types (org_id, name, days_per_year) VALUES"
           " ('%s', 'Annual', 10), ('%s', 'Sick', 5)" % (d.org, d.org))
    d.h = token(d, "admin@acme.test")
    d.h_emp = token(d, "emp@acme.test")
    for uid, sid in [(d.emp, "U0EMP"), (d.mgr, "U0MGR"), (d.admin, "U0ADM")]:
        r = d.patch("/api/v1/users/" + uid, json={"slack_user_id": sid},
                    headers=d.h)
        assert r.status_code == 200, r.text
        assert r.json()["slack_user_id"] == sid
    return d


def link(d, **extra):
    s = {"team_id": TEAM, "signing_secret": SECRET,
         "webhook_url": d.rx.url, "notify": ["leave"]}
    s.update(extra)
    r = d.patch("/api/v1/orgs/" + d.org, json={"slack": s}, headers=d.h)
    assert r.status_code == 200, r.text
    return r.json()


# ---- settings --------------------------------------------------------------

def test_secrets_are_write_only_and_never_shown(world):
    d = world
    j = link(d)
    assert j["slack"] == {"team_id": TEAM, "notify": ["leave"],
                          "digest_time": "09:00",
                          "signing_secret_set": True, "webhook_set": True}
    g = d.get("/api/v1/orgs/" + d.org, headers=d.h)
    assert g.json()["slack"]["signing_secret_set"] is True
    assert SECRET not in g.text and d.rx.url not in g.text
    audit = d.psql("SELECT string_agg(detail::text, ' ') FROM audit_log")
    assert "slack" in audit
    assert SECRET not in audit and "127.0.0.1" not in audit
    m = d.get("/metrics")
    assert SECRET not in m.text and "127.0.0.1:%d" % d.rx.server.server_port \
        not in m.text
    with open(d.log_path) as f:
        log = f.read()
    assert SECRET not in log and d.rx.url not in log
    # A partial change keeps the rest; null unsets the webhook.
    r = d.patch("/api/v1/orgs/" + d.org, json={"slack": {
        "webhook_url": None, "digest_time": "08:30"}}, headers=d.h)
    assert r.json()["slack"]["webhook_set"] is False
    assert r.json()["slack"]["signing_secret_set"] is True
    assert r.json()["slack"]["digest_time"] == "08:30"
    # null unlinks the workspace.
    r = d.patch("/api/v1/orgs/" + d.org, json={"slack": None}, headers=d.h)
    assert r.status_code == 200 and r.json()["slack"] is None
    assert d.get("/api/v1/orgs/" + d.org, headers=d.h).json()["slack"] is None


@pytest.mark.parametrize("slack,field", [
    ({"webhook_url": "http://10.0.0.1/hook"}, "slack.webhook_url"),
    ({"webhook_url": "https://hooks.slack.com.evil.test/x"},
     "slack.webhook_url"),
    ({"team_id": "T 1"}, "slack.team_id"),
    ({"signing_secret": "short"}, "slack.signing_secret"),
    ({"notify": ["leave", "leave"]}, "slack.notify"),
    ({"notify": ["mail"]}, "slack.notify"),
    ({"digest_time": "24:00"}, "slack.digest_time"),
    ({"colour": "red"}, "slack.colour"),
    ("yes", "slack"),
])
def test_bad_settings_are_refused_and_change_nothing(world, slack, field):
    d = world
    r = d.patch("/api/v1/orgs/" + d.org, json={"name": "Renamed",
                                               "slack": slack}, headers=d.h)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert d.psql("SELECT name FROM orgs WHERE id = '%s'" % d.org) == "ACME"
    assert d.psql("SELECT count(*) FROM slack_links") == "0"


def test_team_and_slack_user_ids_are_unique(world):
    d = world
    link(d)
    add_user(d, "admin@globex.test", "admin", "globex")
    hg = token(d, "admin@globex.test")
    r = d.patch("/api/v1/orgs/" + d.other, json={"slack": {"team_id": TEAM}},
                headers=hg)
    assert r.status_code == 409
    # Unique per org: the same Slack id in another org is fine.
    other = add_user(d, "emp@globex.test", "employee", "globex")
    r = d.patch("/api/v1/users/" + other, json={"slack_user_id": "U0EMP"},
                headers=hg)
    assert r.status_code == 200, r.text
    r = d.patch("/api/v1/users/" + d.admin, json={"slack_user_id": "U0EMP"},
                headers=d.h)
    assert r.status_code == 409
    r = d.patch("/api/v1/users/" + d.admin, json={"slack_user_id": "U 1"},
                headers=d.h)
    assert r.status_code == 422
    # Another org's admin cannot link our people.
    r = d.patch("/api/v1/users/" + d.emp, json={"slack_user_id": "U9"},
                headers=hg)
    assert r.status_code == 404


# ---- the signature ---------------------------------------------------------

def events(d):
    return int(d.psql("SELECT count(*) FROM attendance_events"))


def test_forged_or_stale_requests_are_refused_and_do_nothing(world):
    d = world
    link(d)
    body = form("in")
    cases = [
        sign(body, ts=int(time.time()) - 301),              # stale
        sign(body, ts=int(time.time()) + 400),              # future
        sign(body, secret="not-the-secret-at-all"),         # wrong secret
        dict(sign(body), **{"X-Slack-Signature": "v0=" + "0" * 64}),
        {k: v for k, v in sign(body).items()
         if k != "X-Slack-Signature"},                      # missing
        {k: v for k, v in sign(body).items()
         if k != "X-Slack-Request-Timestamp"},
    ]
    for h in cases:
        r = d.post(COMMAND, data=body, headers=h)
        assert r.status_code == 401, (h, r.text)
    # A tampered body under the original's signature.
    h = sign(body)
    r = d.post(COMMAND, data=body.replace(b"text=in", b"text=out"), headers=h)
    assert r.status_code == 401
    # An unknown team, correctly signed with our secret.
    body2 = form("in", team="T0UNKNOWN")
    assert d.post(COMMAND, data=body2, headers=sign(body2)).status_code == 401
    assert events(d) == 0
    # And the genuine one works.
    assert say(d, "in").startswith("Checked in at")
    assert events(d) == 1


def test_bad_form_bodies_are_refused(world):
    d = world
    link(d)
    for raw in [b"team_id=" + TEAM.encode() + b"&text=%zz",
                b"team_id=" + TEAM.encode() + b"&text=%e9t%e9",   # latin-1
                b"team_id=" + TEAM.encode() + b"&text=a%00b",
                b"team_id=" + TEAM.encode() + b"&team_id=T2",
                b"team_id=" + TEAM.encode() + b"&&text=in",
                b"team_id=" + TEAM.encode() + b"&text=%4"]:
        r = d.post(COMMAND, data=raw, headers=sign(raw))
        assert r.status_code == 400, (raw, r.text)
    body = form("in")
    h = dict(sign(body), **{"Content-Type": "application/json"})
    assert d.post(COMMAND, data=body, headers=h).status_code == 415
    big = form("in " + "x" * 9000)
    assert d.post(COMMAND, data=big, headers=sign(big)).status_code == 413
    assert events(d) == 0


# ---- the commands ----------------------------------------------------------

def test_in_out_status_through_the_api(world):
    d = world
    link(d)
    t = say(d, "in working from home")
    assert t.startswith("Checked in at") and "working from home" in t
    ev = d.get("/api/v1/attendance/events", headers=d.h_emp).json()["items"]
    assert [(e["kind"], e["source"], e["note"]) for e in ev] == [
        ("in", "slack", "working from home")]
    assert "already" in say(d, "in")
    assert len(d.get("/api/v1/attendance/events",
                     headers=d.h_emp).json()["items"]) == 1
    t = say(d, "status")
    assert "checked in since" in t and "*Today*" in t
    assert datetime.date.today().strftime("%Y-%m") in t
    assert say(d, "out").startswith("Checked out at")
    assert "not checked in" in say(d, "out")
    ev = d.get("/api/v1/attendance/events", headers=d.h_emp).json()["items"]
    assert [(e["kind"], e["source"]) for e in ev] == [
        ("in", "slack"), ("out", "slack")]
    assert "checked out since" in say(d, "status")


def test_face_required_org_refuses_a_slack_check_in(world):
    d = world
    link(d)
    d.psql("UPDATE orgs SET face_required = true WHERE id = '%s'" % d.org)
    assert "photo" in say(d, "in")
    assert events(d) == 0


def test_leave_command_uses_the_api_rules(world):
    d = world
    link(d)
    t = say(d, "leave 2027-03-01 2027-03-03 annual family visit")
    assert "Leave requested: Annual, 2027-03-01 to 2027-03-03 (3" in t, t
    reqs = d.get("/api/v1/leave/requests", headers=d.h_emp).json()["items"]
    assert [(r["type_name"], r["reason"], r["status"], r["days"])
            for r in reqs] == [("Annual", "family visit", "pending", 3)]
    # Overlap: the database's rule, as the API's 409.
    assert "already have" in say(d, "leave 2027-03-03 2027-03-04 Sick flu")
    # Balance: Sick has 5 days.
    t = say(d, "leave 2027-04-05 2027-04-16 Sick long flu")
    assert t.startswith("Not enough leave left"), t
    # Two types and none named: the person is asked which.
    t = say(d, "leave 2027-05-03 2027-05-03 dentist")
    assert "Which type" in t and "Annual, Sick" in t
    assert "no working day" in say(d, "leave 2027-03-06 2027-03-07 Annual x")
    assert "real dates" in say(d, "leave 2027-02-30 2027-03-01 Annual x")
    assert "before" in say(d, "leave 2027-03-05 2027-03-01 Annual x")
    assert "reason" in say(d, "leave 2027-06-01 2027-06-02")
    assert "at most a year" in say(d, "leave 2027-06-01 2028-06-05 Annual x")
    assert len(d.get("/api/v1/leave/requests",
                     headers=d.h_emp).json()["items"]) == 1
    assert d.psql("SELECT count(*) FROM audit_log WHERE action ="
                  " 'leave_requested'") == "1"


def test_who_is_for_managers_and_admins(world):
    d = world
    link(d)
    assert "managers and admins" in say(d, "who")
    say(d, "in")
    t = say(d, "who", user="U0ADM")
    assert t.startswith("*Today, ") and "*In now*: emp" in t
    assert "*Absent*: " in t and "mgr" in t.split("*Absent*: ")[1]
    # A manager sees their reports only.
    t = say(d, "who", user="U0MGR")
    assert "*In now*: emp" in t and "admin" not in t


def test_help_unknown_and_unlinked(world):
    d = world
    link(d)
    assert "`leave YYYY-MM-DD YYYY-MM-DD [TYPE] REASON`" in say(d, "help")
    assert "`in [note]`" in say(d, "")
    assert "do not know" in say(d, "dance")
    assert "takes nothing" in say(d, "out now")
    t = say(d, "in", user="U0STRANGER")
    assert "not linked" in t and "U0STRANGER" in t and "ask an admin" in t
    d.psql("UPDATE users SET status = 'disabled' WHERE id = '%s'" % d.emp)
    assert "disabled" in say(d, "in")
    assert events(d) == 0


# ---- notifications ---------------------------------------------------------

def jobs(d, state):
    return int(d.psql("SELECT count(*) FROM jobs WHERE kind = 'webhook' AND"
                      " state = '%s'" % state))


def test_leave_requested_and_decided_reach_slack(world):
    d = world
    link(d)
    r = d.post("/api/v1/leave/requests", headers=d.h_emp, json={
        "type_id": d.psql("SELECT id FROM leave_types WHERE name = 'Annual'"),
        "start_date": "2027-03-01", "end_date": "2027-03-02",
        "reason": "a <b> & c"})
    assert r.status_code == 201, r.text
    p = d.rx.wait(1)[0]
    assert p["ctype"].startswith("application/json")
    msg = p["body"]
    assert "Leave request from emp: Annual, 2027-03-01 to 2027-03-02" in \
        msg["text"]
    sec = msg["blocks"][0]
    assert sec["type"] == "section" and sec["text"]["type"] == "mrkdwn"
    assert "<@U0EMP>" in sec["text"]["text"]
    assert "For: <@U0MGR>" in sec["text"]["text"]       # the approver
    assert "a &lt;b&gt; &amp; c" in sec["text"]["text"]
    h_mgr = token(d, "mgr@acme.test")
    r = d.post("/api/v1/leave/requests/%s/approve" % r.json()["id"],
               headers=h_mgr, json={"comment": "enjoy"})
    assert r.status_code == 200, r.text
    msg = d.rx.wait(2)[1]["body"]
    assert "<@U0EMP>: your leave request" in msg["blocks"][0]["text"]["text"]
    assert "*approved* by mgr" in msg["blocks"][0]["text"]["text"]
    assert "approved by mgr" in msg["text"]
    assert jobs(d, "done") == 2


def test_punch_echo_only_when_asked(world):
    d = world
    link(d)
    say(d, "in")
    time.sleep(1)
    assert d.rx.posts == [] and jobs(d, "pending") == 0
    link(d, notify=["leave", "punches"])
    say(d, "out")
    msg = d.rx.wait(1)[0]["body"]
    assert msg["text"].startswith("emp checked out at ")
    assert "(UTC)" in msg["text"]


def test_retry_on_500_then_delivered(world):
    d = world
    link(d, notify=["punches"])
    d.rx.script = [(500, {}), (503, {})]
    say(d, "in")
    posts = d.rx.wait(3)
    assert [p["status"] for p in posts] == [500, 503, 200]
    assert posts[0]["body"] == posts[2]["body"]
    deadline = time.monotonic() + 5
    while jobs(d, "done") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert d.psql("SELECT attempts FROM jobs WHERE kind = 'webhook'") == "3"


def test_429_honours_retry_after(world):
    d = world
    link(d, notify=["punches"])
    d.rx.script = [(429, {"Retry-After": "2"})]
    say(d, "in")
    posts = d.rx.wait(2, timeout=20)
    # The backoff is 200 ms here; Retry-After asked for 2 s.
    assert posts[1]["at"] - posts[0]["at"] >= 1.9
    assert posts[1]["status"] == 200


def test_4xx_is_dead_with_the_reason(world):
    d = world
    link(d, notify=["punches"])
    d.rx.script = [(400, {})]
    say(d, "in")
    d.rx.wait(1)
    deadline = time.monotonic() + 5
    while jobs(d, "dead") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    err = d.psql("SELECT last_error FROM jobs WHERE kind = 'webhook'")
    assert "HTTP 400" in err and "invalid_payload" in err
    assert "127.0.0.1" not in err
    time.sleep(1)
    assert len(d.rx.posts) == 1


def test_webhook_outside_the_allow_list_at_delivery_is_dead(world):
    d = world
    link(d, notify=["punches"])
    # The config narrowed after the URL was set: nothing is posted.
    d.stop()
    d.env["ROLLCALL_SLACK_WEBHOOK_ALLOW"] = "https://hooks.slack.com/"
    d.start()
    say(d, "in")
    deadline = time.monotonic() + 5
    while jobs(d, "dead") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "slack.webhook_allow" in d.psql(
        "SELECT last_error FROM jobs WHERE kind = 'webhook'")
    assert d.rx.posts == []


def test_pending_webhook_survives_a_restart(world):
    d = world
    link(d, notify=["punches"])
    d.stop()
    # Queued while no daemon runs (as a crash between commit and post).
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at, source)"
           " VALUES ('%s', '%s', 'in', now(), 'api')" % (d.org, d.emp))
    assert jobs(d, "pending") == 1
    d.start()
    assert d.rx.wait(1)[0]["body"]["text"].startswith("emp checked in at")


def test_daily_digest_at_digest_time(world):
    d = world
    # Today must be a working day for the org: no weekend days.
    d.psql("UPDATE orgs SET weekend_days = '{}' WHERE id = '%s'" % d.org)
    say_time = (datetime.datetime.utcnow() -
                datetime.timedelta(minutes=1)).strftime("%H:%M")
    if say_time > datetime.datetime.utcnow().strftime("%H:%M"):
        pytest.skip("just after midnight UTC")
    link(d)   # digest not asked for: nothing
    body = form("in", user="U0MGR")
    d.post(COMMAND, data=body, headers=sign(body))
    time.sleep(1.5)
    assert d.rx.posts == []
    link(d, notify=["digest"], digest_time=say_time)
    msg = d.rx.wait(1)[0]["body"]
    assert msg["text"].startswith("Attendance of ACME, ")
    t = msg["blocks"][0]["text"]["text"]
    assert "*Absent:* admin, emp" in t and "Present: 1" in t
    # Once a day.
    time.sleep(2.5)
    assert len(d.rx.posts) == 1
