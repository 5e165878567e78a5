"""The attendance rollup (issue 11, item 6; sql/010_attendance_rollup.sql):
a per-person-per-day table that the monthly report and the sheet read,
kept by triggers in the same transaction as every change. attendance_days()
is the reference: after each change below, made through the API where the
API can make it, attendance_days_rollup() (the rollup read back) must equal
attendance_days() for every person and date of a range that spans October
2026 in Berlin (daylight saving ends on the 25th), today and the weeks to
come. Then the reports read from the rollup must equal the same reports
read from attendance_days() itself."""
import json
import os

import pytest

from test_users import add_user, make_org, token

BERLIN = "Europe/Berlin"
# From before October (a night shift of 30 September ends on the 1st) to
# weeks after today (future leave, days to come).
RANGE = ("'2026-09-21'::date", "(now() AT TIME ZONE 'UTC')::date + 60")


def rollup_diff(d, org):
    """The person-days where the rollup and attendance_days() disagree
    (either way), as a list; and how many person-days were compared."""
    frm, to = RANGE
    q = ("WITH r AS (SELECT * FROM attendance_days_rollup('{o}', {f}, {t})),"
         " a AS (SELECT * FROM attendance_days('{o}', {f}, {t})),"
         " x AS ((SELECT 'only in attendance_days' AS side, * FROM"
         "  (SELECT * FROM a EXCEPT ALL SELECT * FROM r) y) UNION ALL"
         " (SELECT 'only in the rollup', * FROM (SELECT * FROM r EXCEPT ALL"
         "  SELECT * FROM a) z))"
         " SELECT json_build_object('diff', COALESCE((SELECT json_agg(x"
         "  ORDER BY x.date, x.user_id, x.side) FROM x), '[]'),"
         " 'n', (SELECT count(*) FROM a), 'nr', (SELECT count(*) FROM r))"
         ).format(o=org, f=frm, t=to)
    out = json.loads(d.psql(q))
    return out["diff"], out["n"], out["nr"]


def assert_same(d, step):
    for org in d.orgs:
        diff, n, nr = rollup_diff(d, org)
        assert n > 0 and n == nr, (step, n, nr)
        assert diff == [], (step, diff[:6])


def day(d, email, date, org=None):
    """attendance_days_rollup()'s row of one person and date."""
    r = d.psql("SELECT json_build_object('status', a.status, 'minutes',"
               " a.worked_minutes, 'open', a.open_pair) FROM"
               " attendance_days_rollup('%s', '%s', '%s') a JOIN users u"
               " ON u.id = a.user_id WHERE u.email = '%s'" % (
                   org or d.acme, date, date, email))
    return json.loads(r) if r else None


def events(d, email, tz, spans):
    """psql: history the API cannot make (it checks in at now()). spans:
    (in date, "HH:MM", out date or None, "HH:MM" or None) local in tz."""
    uid = d.ids[email]
    rows = []
    for din, tin, dout, tout in spans:
        rows.append("('%s', '%s', 'in', ('%s %s'::timestamp AT TIME ZONE"
                    " '%s'))" % (d.acme, uid, din, tin, tz))
        if dout:
            rows.append("('%s', '%s', 'out', ('%s %s'::timestamp AT TIME"
                        " ZONE '%s'))" % (d.acme, uid, dout, tout, tz))
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at)"
           " VALUES " + ", ".join(rows))


def event_id(d, email, local):
    return d.psql("SELECT id FROM attendance_events WHERE user_id = '%s' AND"
                  " at = '%s'::timestamp AT TIME ZONE '%s'" % (
                      d.ids[email], local, BERLIN))


def weekdays_of_october(skip=()):
    import datetime
    for i in range(1, 32):
        x = datetime.date(2026, 10, i)
        if x.isoweekday() < 6 and x.isoformat() not in skip:
            yield x.isoformat()


@pytest.fixture
def world(make_daemon):
    d = make_daemon()
    d.acme = make_org(d, "acme")
    d.other = make_org(d, "other")
    d.orgs = [d.acme, d.other]
    d.psql("UPDATE orgs SET timezone = '%s' WHERE id = '%s'" % (BERLIN,
                                                                d.acme))
    d.psql("UPDATE orgs SET timezone = 'Asia/Kathmandu' WHERE id = '%s'"
           % d.other)
    d.ids = {}
    for email, role, org in [("admin@acme.test", "admin", "acme"),
                             ("alice@acme.test", "employee", "acme"),
                             ("bob@acme.test", "employee", "acme"),
                             ("carol@acme.test", "intern", "acme"),
                             ("dave@acme.test", "employee", "acme"),
                             ("erin@acme.test", "employee", "acme"),
                             ("ram@other.test", "employee", "other")]:
        d.ids[email] = add_user(d, email, role, org)
    d.h = {e: token(d, e) for e in d.ids}
    d.admin = d.h["admin@acme.test"]
    return d


def api(d, method, path, who=None, **kw):
    r = d.req(method, "/api/v1" + path, headers=d.h[who] if who else d.admin,
              **kw)
    assert r.status_code in (200, 201, 204), (method, path, r.text)
    return r.json() if r.content else None


def build_month(d):
    """October 2026 in Berlin, step by step, checking the rollup after each
    kind of change."""
    assert_same(d, "empty")
    # -- events (psql: the past) --
    events(d, "alice@acme.test", BERLIN,
           [(x, "09:00", x, "17:00") for x in weekdays_of_october(
               skip={"2026-10-06", "2026-10-07", "2026-10-08", "2026-10-09",
                     "2026-10-26"})] +
           [("2026-10-09", "09:00", "2026-10-09", "13:00")])
    # bob works nights: 22:00 to 06:00 the next morning, one of them the
    # night daylight saving ends (25 hours in the 25th), one on a holiday.
    events(d, "bob@acme.test", BERLIN, [
        ("2026-09-30", "22:00", "2026-10-01", "06:00"),
        ("2026-10-01", "22:00", "2026-10-02", "06:00"),
        ("2026-10-24", "22:00", "2026-10-25", "06:00"),
        ("2026-10-26", "22:00", "2026-10-27", "06:00"),
        ("2026-10-29", "00:10", "2026-10-29", "04:10")])
    # carol forgets to check out on the 12th (out on the 15th), and once
    # more on the 30th: an open pair ever since.
    events(d, "carol@acme.test", BERLIN, [
        ("2026-10-12", "09:00", "2026-10-15", "10:00"),
        ("2026-10-20", "09:20", "2026-10-20", "17:00"),
        ("2026-10-30", "09:00", None, None)])
    events(d, "dave@acme.test", BERLIN,
           [(x, "08:55", x, "16:30") for x in weekdays_of_october()][:10])
    assert_same(d, "events")
    # The 25th has 25 hours: 22:00 -> 06:00 is 2 h on the 24th, 7 on the
    # 25th; carol's forgotten check-out fills whole days.
    assert day(d, "bob@acme.test", "2026-10-24")["minutes"] == 120
    assert day(d, "bob@acme.test", "2026-10-25")["minutes"] == 420
    assert day(d, "carol@acme.test", "2026-10-13")["minutes"] == 1440
    assert day(d, "carol@acme.test", "2026-10-30")["open"] is True

    # -- holidays (API) --
    for date, name in [("2026-10-03", "Einheit"), ("2026-10-26", "Test")]:
        api(d, "POST", "/orgs/%s/holidays" % d.acme,
            json={"date": date, "name": name})
    assert_same(d, "holidays")
    assert day(d, "bob@acme.test", "2026-10-26")["status"] == "holiday"

    # -- leave (API): full days, a half day, a rejected request --
    annual = api(d, "POST", "/leave/types",
                 json={"name": "Annual", "days_per_year": 25})["id"]
    for who, start, end, half in [("alice@acme.test", "2026-10-07",
                                   "2026-10-08", False),
                                  ("alice@acme.test", "2026-10-09",
                                   "2026-10-09", True),
                                  ("bob@acme.test", "2026-10-28",
                                   "2026-10-28", False)]:
        req = api(d, "POST", "/leave/requests", who, json={
            "type_id": annual, "start_date": start, "end_date": end,
            "half_day": half, "reason": "rest"})
        assert_same(d, "leave pending")
        api(d, "POST", "/leave/requests/%s/approve" % req["id"], json={})
    assert_same(d, "leave approved")
    assert day(d, "alice@acme.test", "2026-10-07")["status"] == "on_leave"
    assert day(d, "alice@acme.test", "2026-10-09")["status"] == "present"
    req = api(d, "POST", "/leave/requests", "dave@acme.test", json={
        "type_id": annual, "start_date": "2026-10-20",
        "end_date": "2026-10-21", "reason": "no"})
    api(d, "POST", "/leave/requests/%s/reject" % req["id"], json={})
    assert_same(d, "leave rejected")
    assert day(d, "dave@acme.test", "2026-10-20")["status"] == "absent"
    return annual


def correct_and_change(d, annual):
    # -- corrections (PATCH of an event's instant) --
    late = event_id(d, "alice@acme.test", "2026-10-05 09:00")
    api(d, "PATCH", "/attendance/events/" + late,
        json={"at": "2026-10-05T07:40:00Z"})   # 09:40 in Berlin: late
    assert day(d, "alice@acme.test", "2026-10-05")["status"] == "late"
    # bob's night shift of the 1st now ends at 07:30 instead of 06:00.
    out = event_id(d, "bob@acme.test", "2026-10-02 06:00")
    api(d, "PATCH", "/attendance/events/" + out,
        json={"at": "2026-10-02T05:30:00Z"})
    # carol's forgotten check-out moved back to the evening of the 12th:
    # the days in between lose their minutes.
    out = event_id(d, "carol@acme.test", "2026-10-15 10:00")
    api(d, "PATCH", "/attendance/events/" + out,
        json={"at": "2026-10-12T16:00:00Z"})
    assert_same(d, "corrections")
    assert day(d, "carol@acme.test", "2026-10-13")["minutes"] == 0
    assert day(d, "carol@acme.test", "2026-10-12")["minutes"] == 540

    # -- check-in and check-out now (API) --
    api(d, "POST", "/attendance/check-in", "alice@acme.test", json={})
    api(d, "POST", "/attendance/check-in", "bob@acme.test", json={})
    assert_same(d, "check-in")
    api(d, "POST", "/attendance/check-out", "alice@acme.test", json={})
    assert_same(d, "check-out")

    # -- leave to come: approved, one cancelled (API) --
    future = d.psql("SELECT to_char(date_trunc('week', now() AT TIME ZONE"
                    " '%s') + interval '14 days', 'YYYY-MM-DD')" % BERLIN)
    keep = api(d, "POST", "/leave/requests", "erin@acme.test", json={
        "type_id": annual, "start_date": future, "end_date": future,
        "reason": "trip"})
    drop = api(d, "POST", "/leave/requests", "dave@acme.test", json={
        "type_id": annual, "start_date": future, "end_date": future,
        "reason": "trip"})
    for req in (keep, drop):
        api(d, "POST", "/leave/requests/%s/approve" % req["id"], json={})
    assert_same(d, "future leave")
    assert day(d, "dave@acme.test", future)["status"] == "on_leave"
    api(d, "POST", "/leave/requests/%s/cancel" % drop["id"],
        "dave@acme.test", json={})
    assert_same(d, "leave cancelled")
    assert day(d, "dave@acme.test", future)["status"] is None
    assert day(d, "erin@acme.test", future)["status"] == "on_leave"

    # -- a holiday added after the fact, one taken back (API) --
    api(d, "POST", "/orgs/%s/holidays" % d.acme,
        json={"date": "2026-10-14", "name": "Late news"})
    assert_same(d, "holiday after the fact")
    assert day(d, "alice@acme.test", "2026-10-14")["status"] == "holiday"
    api(d, "DELETE", "/orgs/%s/holidays/2026-10-26" % d.acme)
    assert_same(d, "holiday removed")
    assert day(d, "alice@acme.test", "2026-10-26")["status"] == "absent"

    # -- org settings (API): lateness, weekend, time zone --
    for patch in ({"late_after_minutes": 45}, {"workday_start": "08:00"},
                  {"weekend_days": [5, 6]}, {"timezone": "America/New_York"},
                  {"timezone": BERLIN, "weekend_days": [6, 7],
                   "workday_start": "09:00", "late_after_minutes": 15}):
        api(d, "PATCH", "/orgs/" + d.acme, json=patch)
        assert_same(d, "org " + json.dumps(patch))

    # -- a person disabled and enabled again (API) --
    api(d, "DELETE", "/users/" + d.ids["dave@acme.test"])
    assert_same(d, "disabled")
    assert int(d.psql("SELECT count(*) FROM attendance_rollup WHERE user_id"
                      " = '%s'" % d.ids["dave@acme.test"])) == 0
    api(d, "PATCH", "/users/" + d.ids["dave@acme.test"],
        json={"status": "active"})
    assert_same(d, "enabled")
    assert day(d, "dave@acme.test", "2026-10-01")["status"] == "present"


def test_rollup_equals_attendance_days_through_every_change(world):
    d = world
    annual = build_month(d)
    correct_and_change(d, annual)
    # psql: a pair deleted whole (its out on another day), and a bulk load
    # for many people in one statement (the org-wide refresh).
    d.psql("DELETE FROM attendance_events WHERE user_id = '%s' AND at <"
           " '2026-10-13'" % d.ids["carol@acme.test"])
    assert_same(d, "pair deleted")
    d.psql("INSERT INTO users (org_id, email, name, role, password_hash)"
           " SELECT '%s', 'bulk' || i || '@acme.test', 'Bulk ' || i,"
           " 'employee', '!' FROM generate_series(1, 30) i" % d.acme)
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at)"
           " SELECT u.org_id, u.id, k, ('2026-10-19'::date + n"
           " + CASE k WHEN 'in' THEN time '09:05' ELSE time '23:30' END)"
           " AT TIME ZONE 'Europe/Berlin' FROM users u, generate_series(0, 4)"
           " n, unnest(ARRAY['in', 'out']) k WHERE u.email LIKE 'bulk%%'")
    assert_same(d, "bulk load")
    assert day(d, "bulk7@acme.test", "2026-10-21")["minutes"] == 865
    # The other org was never touched and stays right too; ram checks in.
    api(d, "POST", "/attendance/check-in", "ram@other.test", json={})
    assert_same(d, "other org")


def test_the_comparison_sees_a_wrong_row(world):
    """The check above can fail: one stored row changed by hand shows."""
    d = world
    build_month(d)
    d.psql("UPDATE attendance_rollup SET worked_minutes = worked_minutes + 1"
           " WHERE user_id = '%s' AND date = '2026-10-02'"
           % d.ids["alice@acme.test"])
    diff, _, _ = rollup_diff(d, d.acme)
    assert len(diff) == 2 and {x["date"] for x in diff} == {"2026-10-02"}
    # A plain day stored wrongly (an absence made 'present') shows too.
    d.psql("INSERT INTO attendance_rollup VALUES ('%s', '2026-10-06', '%s',"
           " NULL, NULL, 0, false, 'present')" % (d.ids["alice@acme.test"],
                                                  d.acme))
    diff, _, _ = rollup_diff(d, d.acme)
    assert {x["date"] for x in diff} == {"2026-10-02", "2026-10-06"}


def reports(d):
    """Every report that reads the rollup, as the API answers them."""
    this = d.psql("SELECT to_char(now() AT TIME ZONE '%s', 'YYYY-MM')"
                  % BERLIN)
    out = {}
    for month in ("2026-10", this):
        for kind in ("monthly", "sheet"):
            for fmt in ("json", "csv"):
                r = d.get("/api/v1/reports/%s?month=%s&format=%s"
                          % (kind, month, fmt), headers=d.admin)
                assert r.status_code == 200, r.text
                if fmt == "json":
                    body = r.json()
                    body.pop("generated_at", None)
                else:
                    body = r.text
                out[(kind, month, fmt)] = body
    return out


def sheet_in_sql(d, month):
    """The sheet of acme's month by tests/api/sheet_reference.sql."""
    path = os.path.join(os.path.dirname(__file__), "sheet_reference.sql")
    with open(path) as f:
        sql = "".join(x for x in f if not x.startswith("--"))
    sql = sql.replace("$1::uuid", "'%s'::uuid" % d.acme).replace(
        "$2::text", "NULL::text").replace("$2::citext", "NULL::citext")
    return json.loads(d.psql(sql.replace("$3::text", "'%s'::text" % month)))


def test_reports_from_the_rollup_equal_reports_from_attendance_days(world):
    d = world
    annual = build_month(d)
    correct_and_change(d, annual)
    from_rollup = reports(d)
    alice = [r for r in from_rollup[("monthly", "2026-10", "json")]["rows"]
             if r["email"] == "alice@acme.test"][0]
    assert (alice["late"], alice["leave"], alice["holiday"]) == (1, 2.5, 2)
    # The same statements with attendance_days() itself as their source;
    # a restart drops the daemon's prepared statements.
    reader = d.psql("SELECT pg_get_functiondef('attendance_days_rollup'"
                    "::regproc)")
    d.psql("CREATE OR REPLACE FUNCTION attendance_days_rollup(p_org uuid,"
           " p_from date, p_to date) RETURNS TABLE (user_id uuid, date date,"
           " first_in timestamptz, last_out timestamptz, worked_minutes int,"
           " open_pair boolean, status text) LANGUAGE sql STABLE AS $$"
           " SELECT * FROM attendance_days(p_org, p_from, p_to) $$")
    d.restart()
    reference = reports(d)
    for key in from_rollup:
        assert from_rollup[key] == reference[key], key
    # The sheet is made in C from the rollup's stored rows (it reads no
    # attendance_days_rollup()): the statement it was made with in SQL,
    # over attendance_days() now, is its reference.
    for (kind, month, fmt), body in from_rollup.items():
        if kind == "sheet" and fmt == "json":
            assert body == sheet_in_sql(d, month), month
    # And the reports do read the rollup: a row changed by hand shows in
    # them once the reader is the rollup's again.
    d.psql("UPDATE attendance_rollup SET status = 'late' WHERE user_id ="
           " '%s' AND date = '2026-10-02'" % d.ids["alice@acme.test"])
    d.psql(reader)
    d.restart()
    changed = reports(d)
    assert changed[("monthly", "2026-10", "json")] != \
        reference[("monthly", "2026-10", "json")]
    assert changed[("sheet", "2026-10", "csv")] != \
        reference[("sheet", "2026-10", "csv")]


def test_backfill_builds_the_rollup_of_existing_data(world):
    """The migration's backfill (attendance_rollup_rebuild_org) makes the
    same rows from data that was there before the rollup."""
    d = world
    build_month(d)
    before = d.psql("SELECT md5(string_agg(t::text, ',' ORDER BY user_id,"
                    " date)) FROM attendance_rollup t")
    d.psql("TRUNCATE attendance_rollup")
    diff, _, _ = rollup_diff(d, d.acme)
    assert diff != []
    d.psql("SELECT attendance_rollup_rebuild_org(id) FROM orgs")
    assert d.psql("SELECT md5(string_agg(t::text, ',' ORDER BY user_id,"
                  " date)) FROM attendance_rollup t") == before
    assert_same(d, "rebuilt")


def test_concurrent_changes_leave_the_rollup_right(world):
    """Changes that touch the same person-days at once, in separate
    sessions: check-ins of many people, events and approved leave of one
    person, a holiday and a lateness change of the whole org. The rollup's
    locks serialise the refreshes, so whichever commits last saw the
    others' rows."""
    import subprocess
    d = world
    build_month(d)
    d.psql("INSERT INTO users (org_id, email, name, role, password_hash)"
           " SELECT '%s', 'many' || i || '@acme.test', 'Many ' || i,"
           " 'employee', '!' FROM generate_series(1, 12) i" % d.acme)
    many = d.psql("SELECT string_agg(id::text, ' ') FROM users WHERE email"
                  " LIKE 'many%%'").split()
    annual = d.psql("SELECT id FROM leave_types WHERE org_id = '%s'" % d.acme)
    alice = d.ids["alice@acme.test"]
    stmts = ["INSERT INTO attendance_events (org_id, user_id, kind, at)"
             " VALUES ('%s', '%s', 'in', '2026-10-22 07:%02d+00'),"
             " ('%s', '%s', 'out', '2026-10-22 16:00+00')"
             % (d.acme, u, i, d.acme, u) for i, u in enumerate(many)]
    stmts += [
        "INSERT INTO holidays (org_id, date, name) VALUES ('%s',"
        " '2026-10-22', 'Sudden')" % d.acme,
        "UPDATE orgs SET late_after_minutes = 5 WHERE id = '%s'" % d.acme,
        "INSERT INTO leave_requests (org_id, user_id, type_id, start_date,"
        " end_date, status, days) VALUES ('%s', '%s', '%s', '2026-10-21',"
        " '2026-10-23', 'approved', 3)" % (d.acme, alice, annual),
        "UPDATE attendance_events SET at = at + interval '20 minutes'"
        " WHERE user_id = '%s' AND at::date = '2026-10-22'" % alice,
    ]
    url = d.pg.url_for(d.dbname)
    procs = [subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                               url, "-c", "BEGIN", "-c", s, "-c",
                               "SELECT pg_sleep(0.2)", "-c", "COMMIT"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
             for s in stmts]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert_same(d, "concurrent")
    assert day(d, "many3@acme.test", "2026-10-22")["status"] == "holiday"
    assert day(d, "alice@acme.test", "2026-10-21")["status"] == "on_leave"
