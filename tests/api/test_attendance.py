"""Attendance (issue 4, items 1-3): check-in/check-out and the state rule
(also under 20 concurrent requests and for writes that bypass the API),
events, per-date days from attendance_days() over whole months in
Europe/Berlin (across the end of daylight saving time, 25 October 2026) and
Asia/Kathmandu (UTC+05:45), admin corrections kept in the audit log,
holidays, who may see whom, and bad input. History is put in with psql
(check-in itself uses the database's clock)."""
import datetime
import subprocess
import threading
import zoneinfo

import pytest
import requests

from test_users import PW, add_user, make_org, token

BERLIN = "Europe/Berlin"
KATHMANDU = "Asia/Kathmandu"
API = "/api/v1/attendance"


def count(d, table, where="true"):
    return int(d.psql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


def add_person(d, email, role, org, manager=None):
    args = ["user", "add", "--email", email, "--name", email.split("@")[0],
            "--role", role, "--org", org]
    if manager:
        args += ["--manager", manager]
    d.cli(*args, input=PW + "\n")
    return d.psql("SELECT id FROM users WHERE email = '%s'" % email)


def utc(day, hhmm, tz):
    """A local wall-clock time in tz as the API's RFC 3339 UTC text."""
    local = datetime.datetime.fromisoformat("%sT%s" % (day, hhmm)).replace(
        tzinfo=zoneinfo.ZoneInfo(tz))
    return local.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def insert_events(d, org, user, events):
    """events: [(kind, RFC 3339 instant)], one INSERT (any order)."""
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at, source)"
           " VALUES " + ", ".join("('%s', '%s', '%s', '%s', 'web')" % (
               org, user, kind, at) for kind, at in events))


def spans_to_events(tz, spans):
    """spans: [(in day, "HH:MM", out day, "HH:MM")] local in tz."""
    out = []
    for din, tin, dout, tout in spans:
        out += [("in", utc(din, tin, tz)), ("out", utc(dout, tout, tz))]
    return out


def approved_leave(d, org, user, start, end, half=False):
    t = d.psql("INSERT INTO leave_types (org_id, name, days_per_year) VALUES"
               " ('%s', 'Annual', 25) ON CONFLICT (org_id, name) DO UPDATE"
               " SET name = EXCLUDED.name RETURNING id" % org)
    d.psql("INSERT INTO leave_requests (org_id, user_id, type_id, start_date,"
           " end_date, half_day, status, days) VALUES ('%s', '%s', '%s', '%s',"
           " '%s', %s, 'approved', %s)" % (org, user, t, start, end,
                                           "true" if half else "false",
                                           "0.5" if half else "1"))


def field_of(r):
    return r.json()["errors"][0]["field"]


@pytest.fixture
def world(make_daemon):
    """acme (Berlin): admin, a manager, emp (reports to the manager), other
    (reports to nobody), an intern; kat (Kathmandu): admin, ram; a
    superadmin."""
    d = make_daemon()
    d.acme = make_org(d, "acme")
    d.kat = make_org(d, "kat")
    d.psql("UPDATE orgs SET timezone = '%s' WHERE id = '%s'" % (BERLIN, d.acme))
    # Nepal rests on Saturday only: a weekend that is not Saturday+Sunday.
    d.psql("UPDATE orgs SET timezone = '%s', weekend_days = '{6}' WHERE id ="
           " '%s'" % (KATHMANDU, d.kat))
    ids = {}
    for email, role, org, mgr in [
            ("admin@acme.test", "admin", "acme", None),
            ("mgr@acme.test", "manager", "acme", None),
            ("emp@acme.test", "employee", "acme", "mgr@acme.test"),
            ("other@acme.test", "employee", "acme", None),
            ("intern@acme.test", "intern", "acme", None),
            ("admin@kat.test", "admin", "kat", None),
            ("ram@kat.test", "employee", "kat", None)]:
        ids[email] = add_person(d, email, role, org, mgr)
    ids["root@ops.test"] = add_user(d, "root@ops.test", "superadmin")
    d.ids = ids
    d.h = {e: token(d, e) for e in ids}
    return d


def days_of(d, who, user, frm, to):
    r = d.get("%s/days?user_id=%s&from=%s&to=%s" % (API, user, frm, to),
              headers=d.h[who])
    assert r.status_code == 200, r.text
    return {x["date"]: x for x in r.json()["items"]}


# ---- check-in / check-out ---------------------------------------------

def test_check_in_and_out_follow_the_state_rule(world):
    d = world
    h = d.h["emp@acme.test"]
    me = d.ids["emp@acme.test"]
    r = d.post(API + "/check-out", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "not_checked_in"
    r = d.post(API + "/check-in", headers=h, json={"note": "from home"})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert set(ev) == {"id", "kind", "at"} and ev["kind"] == "in"
    at = datetime.datetime.fromisoformat(ev["at"].replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - at)
               .total_seconds()) < 60
    r = d.post(API + "/check-in", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "already_checked_in"
    r = d.post(API + "/check-out", headers=h, json={"source": "api"})
    assert r.status_code == 201 and r.json()["kind"] == "out"
    r = d.post(API + "/check-out", headers=h)
    assert r.status_code == 409 and r.json()["code"] == "not_checked_in"
    assert d.psql("SELECT string_agg(kind || ':' || source || ':' ||"
                  " COALESCE(note, '-'), ',' ORDER BY at) FROM"
                  " attendance_events WHERE user_id = '%s'" % me) == \
        "in:web:from home,out:api:-"
    r = d.get(API + "/events", headers=h)
    assert r.status_code == 200, r.text
    assert [(e["kind"], e["source"], e["user_id"]) for e in r.json()["items"]] \
        == [("in", "web", me), ("out", "api", me)]
    # Today is a present (or late) day with the open flag off.
    today = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date().isoformat()
    day = days_of(d, "emp@acme.test", me, today, today)[today]
    assert day["first_in"] is not None and day["open_pair"] is False
    # A superadmin belongs to no org and has no attendance.
    assert d.post(API + "/check-in", headers=d.h["root@ops.test"]).status_code == 403


def test_punch_refuses_bad_bodies_and_writes_nothing(world):
    d = world
    h = d.h["emp@acme.test"]
    for body, field in [({"source": "kiosk"}, "source"),
                        ({"source": "slack"}, "source"),
                        ({"note": "x" * 501}, "note"),
                        ({"note": 5}, "note")]:
        r = d.post(API + "/check-in", headers=h, json=body)
        assert r.status_code == 422 and field_of(r) == field, (body, r.text)
    r = d.post(API + "/check-in", headers=dict(h, **{"Content-Type":
                                                    "application/json"}),
               data="{bad")
    assert r.status_code == 400
    assert d.post(API + "/check-in").status_code == 401
    assert count(d, "attendance_events") == 0


def test_twenty_concurrent_check_ins_give_one_open_in(world):
    d = world
    h = d.h["other@acme.test"]
    me = d.ids["other@acme.test"]

    def race(path, n=20):
        barrier = threading.Barrier(n)
        codes = []
        lock = threading.Lock()

        def one():
            s = requests.Session()
            barrier.wait()
            r = s.post(d.url + path, headers=h, timeout=30)
            with lock:
                codes.append((r.status_code, r.json().get("code")))

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(codes, key=str)

    codes = race(API + "/check-in")
    assert codes.count((201, None)) == 1, codes
    assert codes.count((409, "already_checked_in")) == 19, codes
    assert count(d, "attendance_events", "user_id = '%s'" % me) == 1
    codes = race(API + "/check-out")
    assert codes.count((201, None)) == 1, codes
    assert codes.count((409, "not_checked_in")) == 19, codes
    assert d.psql("SELECT string_agg(kind, ',' ORDER BY at) FROM"
                  " attendance_events WHERE user_id = '%s'" % me) == "in,out"


def test_database_refuses_a_broken_sequence_whoever_writes(world):
    """The rule holds for writes that bypass the API too (psql, imports)."""
    d = world
    me, org = d.ids["ram@kat.test"], d.kat

    def refused(sql, message):
        with pytest.raises(subprocess.CalledProcessError) as e:
            d.psql(sql)
        assert "attendance: " + message in e.value.stderr, e.value.stderr

    # A valid history in any row order is fine.
    insert_events(d, org, me, [("out", "2026-10-01T12:00:00Z"),
                               ("in", "2026-10-01T03:00:00Z")])
    ins = ("INSERT INTO attendance_events (org_id, user_id, kind, at) VALUES"
           " ('%s', '%s', '%%s', '%%s')" % (org, me))
    # RC002: an out after an out.
    refused(ins % ("out", "2026-10-02T12:00:00Z"), "not checked in")
    # RC003: an in just before an in; an out inside a pair.
    refused(ins % ("in", "2026-09-30T12:00:00Z"), "two in events")
    refused(ins % ("out", "2026-10-01T05:00:00Z"), "two out events")
    # RC001: the out turned into a second in.
    refused("UPDATE attendance_events SET kind = 'in' WHERE kind = 'out'"
            " AND user_id = '%s'" % me, "already checked in")
    # RC003: the pair's in taken away leaves a lone out.
    refused("DELETE FROM attendance_events WHERE kind = 'in' AND user_id ="
            " '%s'" % me, "two out events")
    d.psql(ins % ("in", "2026-10-02T03:00:00Z"))
    assert d.psql("SELECT string_agg(kind, ',' ORDER BY at) FROM"
                  " attendance_events WHERE user_id = '%s'" % me) == "in,out,in"


# ---- days over whole months -------------------------------------------

def berlin_october(d):
    """emp's October 2026 in Berlin; returns the expected days."""
    me = d.ids["emp@acme.test"]
    tz = BERLIN
    special = {
        "2026-10-05": [("09:30", "17:00")],     # late (after 09:15): 450
        "2026-10-06": [],                       # absent
        "2026-10-07": [], "2026-10-08": [],     # full leave
        "2026-10-09": [("09:00", "13:00")],     # half-day leave, came: 240
        "2026-10-13": [],                       # half-day leave, stayed away
        "2026-10-16": [("09:15", "17:00")],     # 09:15 exactly: not late
        "2026-10-19": [("09:16", "17:16")],     # one minute more: late
        "2026-10-22": [("08:00", "12:00"), ("13:00", "17:30")],  # two pairs
        "2026-10-26": [],                       # holiday (a Monday)
        "2026-10-28": [],                       # absent
        "2026-10-29": [("00:10", "04:10")],     # 23:10 UTC on the 28th
        "2026-10-30": [("09:00", None)],        # never checked out
    }
    spans = []
    for i in range(1, 32):
        day = "2026-10-%02d" % i
        if datetime.date.fromisoformat(day).isoweekday() >= 6:
            continue
        for tin, tout in special.get(day, [("09:00", "17:00")]):
            spans.append((day, tin, day, tout))
    # 14th: back at 23:50 until 00:20 on the 15th (split 10 + 20).
    spans.append(("2026-10-14", "23:50", "2026-10-15", "00:20"))
    # Across the end of DST: Saturday 23:00 CEST to Sunday 04:00 CET is six
    # real hours: 60 on the 24th, 300 on the 25-hour 25th.
    spans.append(("2026-10-24", "23:00", "2026-10-25", "04:00"))
    events = []
    for din, tin, dout, tout in sorted(spans):
        events.append(("in", utc(din, tin, tz)))
        if tout is not None:
            events.append(("out", utc(dout, tout, tz)))
    insert_events(d, d.acme, me, events)
    approved_leave(d, d.acme, me, "2026-10-07", "2026-10-08")
    approved_leave(d, d.acme, me, "2026-10-09", "2026-10-09", half=True)
    approved_leave(d, d.acme, me, "2026-10-13", "2026-10-13", half=True)
    r = d.post("/api/v1/orgs/%s/holidays" % d.acme, headers=d.h["admin@acme.test"],
               json={"date": "2026-10-26", "name": "Test holiday"})
    assert r.status_code == 201, r.text
    exp = {}
    for i in range(1, 32):
        day = "2026-10-%02d" % i
        wk = datetime.date.fromisoformat(day).isoweekday() >= 6
        exp[day] = ("weekend", 0) if wk else ("present", 480)
    exp.update({
        "2026-10-05": ("late", 450), "2026-10-06": ("absent", 0),
        "2026-10-07": ("on_leave", 0), "2026-10-08": ("on_leave", 0),
        "2026-10-09": ("present", 240), "2026-10-13": ("on_leave", 0),
        "2026-10-14": ("present", 490), "2026-10-15": ("present", 500),
        "2026-10-16": ("present", 465), "2026-10-19": ("late", 480),
        "2026-10-22": ("present", 510), "2026-10-24": ("weekend", 60),
        "2026-10-25": ("weekend", 300), "2026-10-26": ("holiday", 0),
        "2026-10-28": ("absent", 0), "2026-10-29": ("present", 240),
        "2026-10-30": ("present", 0)})
    return exp


def test_berlin_month_across_the_end_of_dst(world):
    d = world
    me = d.ids["emp@acme.test"]
    exp = berlin_october(d)
    got = days_of(d, "emp@acme.test", me, "2026-10-01", "2026-10-31")
    assert sorted(got) == sorted(exp)
    assert {k: (v["status"], v["worked_minutes"]) for k, v in got.items()} == exp
    # 09:00 is 07:00Z in summer time and 08:00Z after it.
    assert got["2026-10-23"]["first_in"] == "2026-10-23T07:00:00Z"
    assert got["2026-10-27"]["first_in"] == "2026-10-27T08:00:00Z"
    # 00:10 on the 29th in Berlin is still the 28th in UTC.
    assert got["2026-10-29"]["first_in"] == "2026-10-28T23:10:00Z"
    assert got["2026-10-28"]["first_in"] is None
    # The 23:50 in belongs to the 14th; its 00:20 out to the 15th, whose
    # last out is still 17:00.
    assert got["2026-10-14"]["last_out"] == "2026-10-14T15:00:00Z"
    assert got["2026-10-15"]["first_in"] == "2026-10-15T07:00:00Z"
    assert got["2026-10-15"]["last_out"] == "2026-10-15T15:00:00Z"
    assert got["2026-10-25"]["first_in"] is None
    assert got["2026-10-25"]["last_out"] == "2026-10-25T03:00:00Z"
    assert [k for k, v in got.items() if v["open_pair"]] == ["2026-10-30"]
    # A range starting inside a pair still counts the pair's part in it.
    part = days_of(d, "emp@acme.test", me, "2026-10-25", "2026-10-25")
    assert part["2026-10-25"]["worked_minutes"] == 300
    part = days_of(d, "emp@acme.test", me, "2026-10-24", "2026-10-24")
    assert part["2026-10-24"]["worked_minutes"] == 60
    # The function itself: one row per active person x date, same numbers.
    assert d.psql("SELECT count(*) FROM attendance_days('%s', '2026-10-01',"
                  " '2026-10-31')" % d.acme) == str(5 * 31)
    assert d.psql("SELECT sum(worked_minutes) FROM attendance_days('%s',"
                  " '2026-10-01', '2026-10-31')" % d.acme) == \
        str(sum(m for _, m in exp.values()))


def test_kathmandu_month_lands_on_local_dates(world):
    d = world
    me = d.ids["ram@kat.test"]
    tz = KATHMANDU
    insert_events(d, d.kat, me, spans_to_events(tz, [
        # 00:05 on 1 October is 18:20 UTC on 30 September.
        ("2026-10-01", "00:05", "2026-10-01", "08:00"),
        # 23:50 on the 2nd (18:05 UTC) to 00:30 on the 3rd (a Saturday).
        ("2026-10-02", "23:50", "2026-10-03", "00:30"),
        # Sunday is a working day here; 09:15 is on time, 09:16 late.
        ("2026-10-04", "09:15", "2026-10-04", "17:00"),
        ("2026-10-05", "09:16", "2026-10-05", "17:00"),
        # 00:05 on the 6th is 18:20 UTC on the 5th.
        ("2026-10-06", "00:05", "2026-10-06", "00:35"),
        # The holiday: came anyway, still a holiday.
        ("2026-10-21", "10:00", "2026-10-21", "12:00"),
        ("2026-10-23", "09:00", "2026-10-23", "18:00")]))
    approved_leave(d, d.kat, me, "2026-10-12", "2026-10-16")
    r = d.post("/api/v1/orgs/%s/holidays" % d.kat, headers=d.h["admin@kat.test"],
               json={"date": "2026-10-21", "name": "Dashain"})
    assert r.status_code == 201, r.text
    got = days_of(d, "admin@kat.test", me, "2026-10-01", "2026-10-31")
    exp = {}
    for i in range(1, 32):
        day = "2026-10-%02d" % i
        exp[day] = ("weekend", 0) if datetime.date.fromisoformat(day) \
            .isoweekday() == 6 else ("absent", 0)
    for i in range(12, 17):
        exp["2026-10-%02d" % i] = ("on_leave", 0)
    exp.update({
        "2026-10-01": ("present", 475), "2026-10-02": ("late", 10),
        "2026-10-03": ("weekend", 30), "2026-10-04": ("present", 465),
        "2026-10-05": ("late", 464), "2026-10-06": ("present", 30),
        "2026-10-21": ("holiday", 120), "2026-10-23": ("present", 540)})
    assert {k: (v["status"], v["worked_minutes"]) for k, v in got.items()} == exp
    assert got["2026-10-01"]["first_in"] == "2026-09-30T18:20:00Z"
    assert got["2026-10-02"]["first_in"] == "2026-10-02T18:05:00Z"
    assert got["2026-10-06"]["first_in"] == "2026-10-05T18:20:00Z"
    assert got["2026-10-05"]["first_in"] == "2026-10-05T03:31:00Z"
    # In UTC terms September has the first event; in Kathmandu it has none.
    sept = days_of(d, "admin@kat.test", me, "2026-09-30", "2026-09-30")
    assert sept["2026-09-30"]["first_in"] is None
    # Events by local dates: the 1st holds the 18:20 UTC event of the 30th.
    r = d.get("%s/events?user_id=%s&from=2026-10-01&to=2026-10-01" % (API, me),
              headers=d.h["admin@kat.test"])
    assert [e["at"] for e in r.json()["items"]] == [
        "2026-09-30T18:20:00Z", "2026-10-01T02:15:00Z"]


def test_future_dates_have_no_absence(world):
    d = world
    me = d.ids["other@acme.test"]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date()
    frm, to = today - datetime.timedelta(days=3), today + datetime.timedelta(days=9)
    got = days_of(d, "other@acme.test", me, frm.isoformat(), to.isoformat())
    for k, v in got.items():
        day = datetime.date.fromisoformat(k)
        if day.isoweekday() >= 6:
            assert v["status"] == "weekend", (k, v)
        elif day <= today:
            assert v["status"] == "absent", (k, v)
        else:
            assert v["status"] is None, (k, v)
    # Defaults: the first of this month to today.
    r = d.get(API + "/days", headers=d.h["other@acme.test"])
    assert r.status_code == 200, r.text
    assert (r.json()["from"], r.json()["to"]) == (
        today.replace(day=1).isoformat(), today.isoformat())
    assert len(r.json()["items"]) == today.day


# ---- events -----------------------------------------------------------

def test_events_range_and_pages(world):
    d = world
    me = d.ids["emp@acme.test"]
    insert_events(d, d.acme, me, spans_to_events(BERLIN, [
        ("2026-10-%02d" % i, "09:00", "2026-10-%02d" % i, "17:00")
        for i in (5, 6, 7, 8)]))
    h = d.h["emp@acme.test"]
    seen, cursor = [], None
    while True:
        r = d.get("%s/events?from=2026-10-01&to=2026-10-31&limit=3%s" % (
            API, "&cursor=" + cursor if cursor else ""), headers=h)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) <= 3
        seen += [e["at"] for e in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8 and seen == sorted(seen)
    # An instant to is exclusive, an instant from inclusive.
    r = d.get("%s/events?from=2026-10-06T07:00:00Z&to=2026-10-07T07:00:00Z"
              % API, headers=h)
    assert [e["at"] for e in r.json()["items"]] == [
        "2026-10-06T07:00:00Z", "2026-10-06T15:00:00Z"]
    # Offsets are understood: 09:00+02:00 is 07:00Z.
    r = d.get(API + "/events", headers=h, params={
        "from": "2026-10-08T09:00:00+02:00", "to": "2026-10-08T23:00:00+02:00"})
    assert [e["kind"] for e in r.json()["items"]] == ["in", "out"]
    # The default window (the last 30 days) holds none of October.
    r = d.get(API + "/events", headers=h)
    assert r.status_code == 200 and r.json()["items"] == []


# ---- corrections ------------------------------------------------------

def test_admin_corrects_and_the_original_is_kept(world):
    d = world
    me = d.ids["emp@acme.test"]
    insert_events(d, d.acme, me, spans_to_events(BERLIN, [
        ("2026-10-05", "09:45", "2026-10-05", "17:00"),
        ("2026-10-06", "09:00", "2026-10-06", "17:00")]))
    assert days_of(d, "admin@acme.test", me, "2026-10-05", "2026-10-05")[
        "2026-10-05"]["status"] == "late"
    ev = {(e["kind"], e["at"]): e["id"] for e in d.get(
        "%s/events?user_id=%s&from=2026-10-01&to=2026-10-31" % (API, me),
        headers=d.h["admin@acme.test"]).json()["items"]}
    first = ev[("in", "2026-10-05T07:45:00Z")]
    r = d.patch("%s/events/%s" % (API, first), headers=d.h["admin@acme.test"],
                json={"at": "2026-10-05T09:05:00+02:00", "note": "badge broken"})
    assert r.status_code == 200, r.text
    e = r.json()
    assert (e["at"], e["note"], e["corrected_by"]) == (
        "2026-10-05T07:05:00Z", "badge broken", d.ids["admin@acme.test"])
    assert e["corrected_at"] is not None
    day = days_of(d, "admin@acme.test", me, "2026-10-05", "2026-10-05")["2026-10-05"]
    assert (day["status"], day["worked_minutes"]) == ("present", 475)
    detail = d.psql("SELECT detail->'before'->>'at' || '|' || (detail->'before'"
                    "->>'note' IS NULL)::text || '|' || (detail->'after'->>"
                    "'note') FROM audit_log WHERE action = 'attendance_corrected'"
                    " AND target_id = '%s'" % first)
    assert detail.startswith("2026-10-05T07:45:00") and \
        detail.endswith("|true|badge broken")
    # Corrections that would break the rule are refused; nothing changes.
    audits = count(d, "audit_log")
    snapshot = d.psql("SELECT string_agg(kind || at::text || COALESCE(note, ''),"
                      " ',' ORDER BY at) FROM attendance_events")
    out5 = ev[("out", "2026-10-05T15:00:00Z")]
    for body in ({"kind": "in"},                        # in, in, in, out
                 {"at": "2026-10-06T16:00:00Z"},        # out past the next in
                 {"at": "2026-10-05T07:05:00Z"},        # same instant as the in
                 {"at": "2026-10-05T06:00:00Z"}):       # out before its in
        r = d.patch("%s/events/%s" % (API, out5), headers=d.h["admin@acme.test"],
                    json=body)
        assert r.status_code == 409, (body, r.text)
    assert count(d, "audit_log") == audits
    assert d.psql("SELECT string_agg(kind || at::text || COALESCE(note, ''),"
                  " ',' ORDER BY at) FROM attendance_events") == snapshot
    # A note alone can always change (null clears it).
    last_out = ev[("out", "2026-10-06T15:00:00Z")]
    r = d.patch("%s/events/%s" % (API, last_out), headers=d.h["admin@acme.test"],
                json={"note": None})
    assert r.status_code == 200 and r.json()["note"] is None
    # Only admins correct; the person themselves may not.
    r = d.patch("%s/events/%s" % (API, last_out), headers=d.h["emp@acme.test"],
                json={"note": "mine"})
    assert r.status_code == 403
    r = d.patch("%s/events/%s" % (API, last_out), headers=d.h["mgr@acme.test"],
                json={"note": "mine"})
    assert r.status_code == 403


def test_patch_refuses_bad_input(world):
    d = world
    me = d.ids["emp@acme.test"]
    insert_events(d, d.acme, me, [("in", "2026-10-05T07:00:00Z")])
    eid = d.psql("SELECT id FROM attendance_events")
    h = d.h["admin@acme.test"]
    for body, field in [({}, "at"),
                        ({"at": "2026-02-30T09:00:00Z"}, "at"),
                        ({"at": "2026-10-05 09:00"}, "at"),
                        ({"at": "2026-10-05T24:00:00Z"}, "at"),
                        ({"at": "2026-10-05T09:00:00"}, "at"),
                        ({"at": "2999-01-01T00:00:00Z"}, "at"),   # future
                        ({"kind": "sideways"}, "kind"),
                        ({"note": "x" * 501}, "note")]:
        r = d.patch("%s/events/%s" % (API, eid), headers=h, json=body)
        assert r.status_code == 422 and field_of(r) == field, (body, r.text)
    assert d.psql("SELECT at = '2026-10-05T07:00:00Z' AND corrected_at IS NULL"
                  " FROM attendance_events") == "t"
    assert count(d, "audit_log", "action = 'attendance_corrected'") == 0
    r = d.patch("%s/events/not-an-id" % API, headers=h, json={"note": "x"})
    assert r.status_code == 404


# ---- holidays ---------------------------------------------------------

def test_holidays_crud(world):
    d = world
    path = "/api/v1/orgs/%s/holidays" % d.acme
    h = d.h["admin@acme.test"]
    for day, name in [("2026-12-25", "Christmas"), ("2026-10-03", "Einheit"),
                      ("2027-01-01", "Neujahr")]:
        r = d.post(path, headers=h, json={"date": day, "name": name})
        assert r.status_code == 201 and r.json() == {"date": day, "name": name}
    r = d.post(path, headers=h, json={"date": "2026-12-25", "name": "Again"})
    assert r.status_code == 409
    # Everyone in the org reads them, in date order.
    r = d.get(path, headers=d.h["intern@acme.test"])
    assert r.status_code == 200
    assert [x["date"] for x in r.json()["items"]] == [
        "2026-10-03", "2026-12-25", "2027-01-01"]
    r = d.get(path + "?year=2027", headers=h)
    assert [x["name"] for x in r.json()["items"]] == ["Neujahr"]
    assert d.delete(path + "/2026-12-25", headers=h).status_code == 204
    assert d.delete(path + "/2026-12-25", headers=h).status_code == 404
    assert count(d, "holidays") == 2
    assert count(d, "audit_log", "action IN ('holiday_created',"
                 " 'holiday_deleted')") == 4
    # A superadmin manages any org's.
    r = d.post("/api/v1/orgs/%s/holidays" % d.kat, headers=d.h["root@ops.test"],
               json={"date": "2026-10-21", "name": "Dashain"})
    assert r.status_code == 201
    # Only admins write.
    r = d.post(path, headers=d.h["mgr@acme.test"],
               json={"date": "2026-12-24", "name": "Eve"})
    assert r.status_code == 403
    assert d.delete(path + "/2026-10-03",
                    headers=d.h["emp@acme.test"]).status_code == 403
    assert count(d, "holidays") == 3


def test_holidays_refuse_bad_input(world):
    d = world
    path = "/api/v1/orgs/%s/holidays" % d.acme
    h = d.h["admin@acme.test"]
    for body, field in [({"date": "2026-02-30", "name": "X"}, "date"),
                        ({"date": "2026-13-01", "name": "X"}, "date"),
                        ({"date": "2026-13", "name": "X"}, "date"),
                        ({"date": "26-10-03", "name": "X"}, "date"),
                        ({"name": "X"}, "date"),
                        ({"date": "2026-10-03"}, "name"),
                        ({"date": "2026-10-03", "name": ""}, "name"),
                        ({"date": "2026-10-03", "name": "a\nb"}, "name")]:
        r = d.post(path, headers=h, json=body)
        assert r.status_code == 422 and field_of(r) == field, (body, r.text)
    assert d.get(path + "?year=26", headers=h).status_code == 422
    assert d.delete(path + "/2026-02-30", headers=h).status_code == 404
    assert count(d, "holidays") == 0 and count(
        d, "audit_log", "action LIKE 'holiday%'") == 0


# ---- who may see whom -------------------------------------------------

def test_cross_tenant_is_404_everywhere(world):
    d = world
    ram = d.ids["ram@kat.test"]
    insert_events(d, d.kat, ram, [("in", "2026-10-05T03:00:00Z")])
    ram_ev = d.psql("SELECT id FROM attendance_events WHERE user_id = '%s'" % ram)
    d.psql("INSERT INTO holidays (org_id, date, name) VALUES ('%s',"
           " '2026-10-21', 'Dashain')" % d.kat)
    before = (count(d, "attendance_events"), count(d, "holidays"),
              count(d, "audit_log"))
    h = d.h["admin@acme.test"]
    kat_h = "/api/v1/orgs/%s/holidays" % d.kat
    for method, path, body in [
            ("GET", "%s/events?user_id=%s" % (API, ram), None),
            ("GET", "%s/days?user_id=%s" % (API, ram), None),
            ("PATCH", "%s/events/%s" % (API, ram_ev), {"note": "x"}),
            ("GET", kat_h, None),
            ("POST", kat_h, {"date": "2026-12-25", "name": "X"}),
            ("DELETE", kat_h + "/2026-10-21", None)]:
        r = d.req(method, path, headers=h, json=body)
        assert r.status_code == 404, (method, path, r.text)
        # acme's employee: the writes stop at the role (403), reads 404.
        r = d.req(method, path, headers=d.h["emp@acme.test"], json=body)
        assert r.status_code in ((403,) if method in ("PATCH", "POST", "DELETE")
                                 else (404,)), (method, path, r.text)
    assert (count(d, "attendance_events"), count(d, "holidays"),
            count(d, "audit_log")) == before
    # An id that exists nowhere is as unknown.
    r = d.get("%s/days?user_id=%s" % (API, "00000000-0000-4000-8000-000000000000"),
              headers=h)
    assert r.status_code == 404
    # A superadmin sees anyone.
    r = d.get("%s/events?user_id=%s&from=2026-10-01&to=2026-10-31" % (API, ram),
              headers=d.h["root@ops.test"])
    assert r.status_code == 200 and len(r.json()["items"]) == 1


def test_managers_see_their_reports_only(world):
    d = world
    emp, other = d.ids["emp@acme.test"], d.ids["other@acme.test"]
    insert_events(d, d.acme, emp, [("in", "2026-10-05T07:00:00Z")])
    insert_events(d, d.acme, other, [("in", "2026-10-05T07:00:00Z")])
    q = "from=2026-10-01&to=2026-10-31"
    for route in ("events", "days"):
        r = d.get("%s/%s?user_id=%s&%s" % (API, route, emp, q),
                  headers=d.h["mgr@acme.test"])
        assert r.status_code == 200, r.text
        # Someone in the same org who does not report to them: 404, as for
        # anyone the caller may not see (their existence is not told).
        for who in (other, d.ids["intern@acme.test"], d.ids["admin@acme.test"]):
            r = d.get("%s/%s?user_id=%s&%s" % (API, route, who, q),
                      headers=d.h["mgr@acme.test"])
            assert r.status_code == 404, (route, r.text)
        # Employees see themselves only.
        r = d.get("%s/%s?user_id=%s&%s" % (API, route, emp, q),
                  headers=d.h["other@acme.test"])
        assert r.status_code == 404
        r = d.get("%s/%s?user_id=%s&%s" % (API, route, other, q),
                  headers=d.h["admin@acme.test"])
        assert r.status_code == 200
    # Moving the report away takes effect at once.
    d.psql("UPDATE users SET manager_id = NULL WHERE id = '%s'" % emp)
    r = d.get("%s/days?user_id=%s&%s" % (API, emp, q), headers=d.h["mgr@acme.test"])
    assert r.status_code == 404


# ---- bad input --------------------------------------------------------

@pytest.mark.parametrize("route", ["events", "days"])
@pytest.mark.parametrize("query, field", [
    ("from=2026-02-30&to=2026-03-05", "from"),
    ("from=2026-01-01&to=2026-13-01", "to"),
    ("from=2026-13&to=2026-12-01", "from"),
    ("from=2026-1-01", "from"),
    ("from=yesterday", "from"),
    ("from=2026-10-10&to=2026-10-09", "to"),          # reversed
    ("from=2025-01-01&to=2026-01-02", "to"),          # 367 days
    ("from=2020-01-01", "from"),                       # to today: years
    ("user_id=bob", "user_id"),
])
def test_reads_refuse_bad_ranges(world, route, query, field):
    d = world
    r = d.get("%s/%s?%s" % (API, route, query), headers=d.h["emp@acme.test"])
    assert r.status_code == 422, r.text
    assert field_of(r) == field


def test_range_limits(world):
    d = world
    h = d.h["emp@acme.test"]
    # A whole leap year of dates is allowed; a day more is not.
    r = d.get(API + "/days?from=2024-01-01&to=2024-12-31", headers=h)
    assert r.status_code == 200 and len(r.json()["items"]) == 366
    assert d.get(API + "/days?from=2024-01-01&to=2025-01-01",
                 headers=h).status_code == 422
    # Instants: well-formed only, and days only take dates.
    for bad, field in [("from=2026-10-05T25:00:00Z", "from"),
                       ("to=2026-10-05T10:00:00", "to"),
                       ("to=2026-10-05T10:00:00.1234567Z", "to")]:
        r = d.get(API + "/events?" + bad, headers=h)
        assert r.status_code == 422 and field_of(r) == field, bad
    r = d.get(API + "/days?from=2026-10-05T00:00:00Z", headers=h)
    assert r.status_code == 422 and field_of(r) == "from"
    r = d.get(API + "/events?from=2026-10-05T10:00:00.5Z&to=2026-10-06", headers=h)
    assert r.status_code == 200, r.text
    for bad in ("limit=0", "limit=501", "cursor=zzz"):
        r = d.get(API + "/events?" + bad, headers=h)
        assert r.status_code == 422 and field_of(r) == bad.split("=")[0]


def test_disabled_people_keep_their_history(world):
    d = world
    me = d.ids["other@acme.test"]
    insert_events(d, d.acme, me, spans_to_events(BERLIN, [
        ("2026-10-05", "09:00", "2026-10-05", "17:00")]))
    d.psql("UPDATE users SET status = 'disabled' WHERE id = '%s'" % me)
    got = days_of(d, "admin@acme.test", me, "2026-10-05", "2026-10-06")
    assert [(v["status"], v["worked_minutes"]) for _, v in sorted(got.items())] \
        == [("present", 480), ("absent", 0)]
    # ...but they are no longer among the org's people.
    assert d.psql("SELECT count(*) FROM attendance_days('%s', '2026-10-05',"
                  " '2026-10-05') WHERE user_id = '%s'" % (d.acme, me)) == "0"
