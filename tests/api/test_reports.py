"""Reports (issue 4, items 5-6): the monthly report as JSON and CSV, the
daily list, the old system's URL, and `rollcall export` with its mail —
over a whole month of data put in with psql: an org in Europe/Berlin across
the end of daylight saving time (25 October 2026) and one in
Asia/Kathmandu (UTC+05:45), with weekends, holidays, full and half-day
leave, late arrivals, absences and check-ins near midnight."""
import csv
import datetime
import io
import json
import os
import stat
import tempfile
import zoneinfo

import pytest

from test_users import PW, add_user, make_org, token

MONTH = "2026-10"
BERLIN = "Europe/Berlin"
KATHMANDU = "Asia/Kathmandu"

# alice's October in Berlin (local times); the other working days she is
# there 09:00-17:00. Working days: 23 weekdays - 1 weekday holiday = 21.
ALICE_SPECIAL = {
    "2026-10-05": [("09:30", "17:00")],     # late (after 09:15): 450 min
    "2026-10-06": [],                       # absent
    "2026-10-07": [],                       # full leave
    "2026-10-08": [],                       # full leave
    "2026-10-09": [("09:00", "13:00")],     # half-day leave, came in: 240
}
HOLIDAYS = [("2026-10-03", "Tag der Deutschen Einheit"),   # a Saturday
            ("2026-10-26", "Test holiday")]                # a Monday
ALICE = {"present": 17, "late": 1, "absent": 1, "leave": 2.5, "holiday": 2,
         "weekend": 8, "worked_minutes": 16 * 480 + 450 + 240,
         "worked_hours": 139.5}
# bob: leave on the 28th; in at 00:10 on the 29th (23:10 UTC on the 28th),
# out at 04:10: on the 29th in Berlin, not on the 28th as in UTC.
BOB = {"present": 1, "late": 0, "absent": 19, "leave": 1, "holiday": 2,
       "weekend": 8, "worked_minutes": 240, "worked_hours": 4}
# dave in Kathmandu: in at 00:05 on 1 October (18:20 UTC on 30 September).
DAVE = {"present": 1, "late": 0, "absent": 21, "leave": 0, "holiday": 0,
        "weekend": 9, "worked_minutes": 475, "worked_hours": 7.92}

ALICE_NAME = 'Alice "Al" Smith, Jr.'    # a comma and quotes for the CSV
BOB_NAME = "Bjørn Ødegård"              # UTF-8


def weekdays(month_days):
    for day in month_days:
        d = datetime.date.fromisoformat(day)
        if d.isoweekday() < 6:
            yield day


def october():
    return ["2026-10-%02d" % i for i in range(1, 32)]


def insert_events(d, org_id, user_id, tz, spans):
    """spans: [(date, "HH:MM" in, "HH:MM" out, out_date or None)] in tz."""
    rows = []
    for day, tin, tout, out_day in spans:
        rows.append("('%s', '%s', 'in', ('%s %s'::timestamp AT TIME ZONE '%s'),"
                    " 'web')" % (org_id, user_id, day, tin, tz))
        rows.append("('%s', '%s', 'out', ('%s %s'::timestamp AT TIME ZONE '%s'),"
                    " 'web')" % (org_id, user_id, out_day or day, tout, tz))
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at, source)"
           " VALUES " + ", ".join(rows))


def approved_leave(d, org_id, user_id, type_id, start, end, half=False):
    d.psql("INSERT INTO leave_requests (org_id, user_id, type_id, start_date,"
           " end_date, half_day, status, days) VALUES ('%s', '%s', '%s', '%s',"
           " '%s', %s, 'approved', %s)" % (org_id, user_id, type_id, start, end,
                                           "true" if half else "false",
                                           "0.5" if half else "1"))


@pytest.fixture
def world(make_daemon, smtp):
    d = make_daemon(mail_smtp_url=smtp.url)
    d.smtp = smtp
    acme = make_org(d, "acme")
    globex = make_org(d, "globex")
    d.psql("UPDATE orgs SET timezone = '%s' WHERE id = '%s'" % (BERLIN, acme))
    d.psql("UPDATE orgs SET timezone = '%s' WHERE id = '%s'" % (KATHMANDU, globex))
    add_user(d, "admin@acme.test", "admin", "acme")
    add_user(d, "admin@globex.test", "admin", "globex")
    add_user(d, "root@example.test", "superadmin")
    mia = add_user(d, "mia@acme.test", "manager", "acme")
    d.cli("user", "add", "--email", "alice@acme.test", "--name", "alice",
          "--role", "employee", "--org", "acme", "--manager", "mia@acme.test",
          input=PW + "\n")
    alice = d.psql("SELECT id FROM users WHERE email = 'alice@acme.test'")
    bob = add_user(d, "bob@acme.test", "employee", "acme")
    gone = add_user(d, "gone@acme.test", "intern", "acme")
    dave = add_user(d, "dave@globex.test", "employee", "globex")
    d.psql("UPDATE users SET name = $$%s$$ WHERE id = '%s'" % (ALICE_NAME, alice))
    d.psql("UPDATE users SET name = '%s' WHERE id = '%s'" % (BOB_NAME, bob))
    for day, name in HOLIDAYS:
        d.psql("INSERT INTO holidays (org_id, date, name) VALUES ('%s', '%s',"
               " '%s')" % (acme, day, name))
    leave_type = d.psql("INSERT INTO leave_types (org_id, name, days_per_year)"
                        " VALUES ('%s', 'Annual', 25) RETURNING id" % acme)
    approved_leave(d, acme, alice, leave_type, "2026-10-07", "2026-10-08")
    approved_leave(d, acme, alice, leave_type, "2026-10-09", "2026-10-09", True)
    approved_leave(d, acme, bob, leave_type, "2026-10-28", "2026-10-28")
    # A rejected request counts for nothing.
    d.psql("INSERT INTO leave_requests (org_id, user_id, type_id, start_date,"
           " end_date, status, days) VALUES ('%s', '%s', '%s', '2026-10-12',"
           " '2026-10-12', 'rejected', 1)" % (acme, alice, leave_type))
    spans = []
    holiday_days = {h for h, _ in HOLIDAYS}
    for day in weekdays(october()):
        if day in holiday_days:
            continue
        for tin, tout in ALICE_SPECIAL.get(day, [("09:00", "17:00")]):
            spans.append((day, tin, tout, None))
    insert_events(d, acme, alice, BERLIN, spans)
    insert_events(d, acme, bob, BERLIN, [("2026-10-29", "00:10", "04:10", None)])
    # Disabled people are not in the report, whatever they did.
    insert_events(d, acme, gone, BERLIN, [("2026-10-01", "09:00", "17:00", None)])
    d.psql("UPDATE users SET status = 'disabled' WHERE id = '%s'" % gone)
    insert_events(d, globex, dave, KATHMANDU,
                  [("2026-10-01", "00:05", "08:00", None)])
    d.ids = {"acme": acme, "globex": globex, "alice": alice, "bob": bob,
             "mia": mia, "dave": dave}
    d.a = token(d, "admin@acme.test")
    d.b = token(d, "admin@globex.test")
    d.root = token(d, "root@example.test")
    return d


def rows_by_email(report):
    return {r["email"]: r for r in report["rows"]}


def check_numbers(row, expected):
    for k, v in expected.items():
        assert float(row[k]) == pytest.approx(v), (k, row)


def monthly(d, headers, query):
    return d.get("/api/v1/reports/monthly?" + query, headers=headers)


def test_monthly_json_counts_every_kind_of_day(world):
    d = world
    r = monthly(d, d.a, "month=" + MONTH)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    rep = r.json()
    assert rep["month"] == MONTH and rep["from"] == "2026-10-01"
    assert rep["to"] == "2026-10-31" and rep["working_days"] == 21
    assert rep["org"]["slug"] == "acme" and rep["org"]["timezone"] == BERLIN
    rows = rows_by_email(rep)
    assert set(rows) == {"admin@acme.test", "mia@acme.test", "alice@acme.test",
                         "bob@acme.test"}
    check_numbers(rows["alice@acme.test"], ALICE)
    check_numbers(rows["bob@acme.test"], BOB)
    assert rows["alice@acme.test"]["name"] == ALICE_NAME
    assert rows["alice@acme.test"]["user_id"] == d.ids["alice"]
    # Nobody came: every working day absent, nothing worked.
    check_numbers(rows["mia@acme.test"], {"present": 0, "absent": 21,
                                          "holiday": 2, "weekend": 8,
                                          "worked_minutes": 0})
    # The same statement for the other org: Kathmandu's +05:45.
    r = monthly(d, d.b, "month=" + MONTH)
    assert r.status_code == 200, r.text
    check_numbers(rows_by_email(r.json())["dave@globex.test"], DAVE)


def test_monthly_csv_agrees_with_json(world):
    d = world
    as_json = rows_by_email(monthly(d, d.a, "month=" + MONTH).json())
    r = monthly(d, d.a, "month=%s&format=csv" % MONTH)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="rollcall-acme-2026-10.csv"'
    body = r.content.decode("utf-8")
    # RFC 4180: CRLF after every record, the quotes of a field doubled.
    assert body.endswith("\r\n") and "\n" not in body.replace("\r\n", "")
    assert '"Alice ""Al"" Smith, Jr."' in body
    reader = csv.DictReader(io.StringIO(body, newline=""))
    assert reader.fieldnames == [
        "user_id", "name", "email", "role", "present", "late", "absent",
        "leave", "holiday", "weekend", "worked_minutes", "worked_hours"]
    rows = list(reader)
    assert len(rows) == len(as_json)
    for row in rows:
        j = as_json[row["email"]]
        for k in reader.fieldnames:
            if isinstance(j[k], (int, float)):
                assert float(row[k]) == pytest.approx(j[k]), (k, row)
            else:
                assert row[k] == j[k], (k, row)
    by_email = {row["email"]: row for row in rows}
    assert by_email["bob@acme.test"]["name"] == BOB_NAME
    check_numbers(by_email["alice@acme.test"], ALICE)


def test_compat_route_answers_the_same_numbers(world):
    d = world
    rep = monthly(d, d.a, "month=" + MONTH).json()
    r = d.get("/prod/companyrequesthandler?param1=Monthly&param2=October%202026"
              "&param3=acme", headers=d.a)
    assert r.status_code == 200, r.text
    old = r.json()
    assert old["month"] == MONTH and old["rows"] == rep["rows"]
    # A superadmin names any org; an admin only their own.
    r = d.get("/prod/companyrequesthandler?param1=monthly&param2=oct+2026"
              "&param3=globex", headers=d.root)
    assert r.status_code == 200, r.text
    check_numbers(rows_by_email(r.json())["dave@globex.test"], DAVE)
    r = d.get("/prod/companyrequesthandler?param1=Monthly&param2=October%202026"
              "&param3=globex", headers=d.a)
    assert r.status_code == 404
    for q, field in (("param1=Daily&param2=October%202026&param3=acme", "param1"),
                     ("param1=Monthly&param2=Octember%202026&param3=acme", "param2"),
                     ("param1=Monthly&param2=2026-10&param3=acme", "param2"),
                     ("param1=Monthly&param3=acme", "param2")):
        r = d.get("/prod/companyrequesthandler?" + q, headers=d.a)
        assert r.status_code == 422, q
        assert r.json()["errors"][0]["field"] == field
    r = d.get("/prod/companyrequesthandler?param1=Monthly&param2=October%202026"
              "&param3=acme")
    assert r.status_code == 401


def test_tenants_roles_and_bad_months(world):
    d = world
    assert monthly(d, d.a, "month=%s&org=globex" % MONTH).status_code == 404
    assert monthly(d, d.a, "month=%s&org=nosuch" % MONTH).status_code == 404
    r = monthly(d, d.a, "month=%s&org=acme" % MONTH)
    assert r.status_code == 200
    r = monthly(d, d.root, "month=%s&org=globex" % MONTH)
    assert r.status_code == 200 and r.json()["org"]["slug"] == "globex"
    r = monthly(d, d.root, "month=" + MONTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "org"
    for who in ("mia@acme.test", "alice@acme.test"):
        assert monthly(d, token(d, who), "month=" + MONTH).status_code == 403
    assert d.get("/api/v1/reports/monthly?month=" + MONTH).status_code == 401
    for bad in ("2026-13", "2026-1", "2026-00", "garbage", "", "2026-10-01",
                "12026-10", "2026/10", "１２３４-10"):
        r = monthly(d, d.a, "month=" + bad)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == "month"
    r = monthly(d, d.a, "")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"
    r = monthly(d, d.a, "month=%s&format=xlsx" % MONTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"


def test_daily_who_is_in_and_managers_see_their_reports(world):
    d = world
    r = d.get("/api/v1/reports/daily?date=2026-10-05", headers=d.a)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["date"] == "2026-10-05"
    people = {p["email"]: p for p in rep["people"]}
    assert people["alice@acme.test"]["status"] == "late"
    assert people["alice@acme.test"]["first_in"] == "2026-10-05T07:30:00Z"
    assert people["alice@acme.test"]["worked_minutes"] == 450
    assert people["bob@acme.test"]["status"] == "absent"
    assert rep["summary"]["late"] == 1 and rep["summary"]["absent"] == 3
    assert rep["summary"]["in_now"] == 0
    r = d.get("/api/v1/reports/daily?date=2026-10-07", headers=d.a)
    assert {p["email"]: p["status"] for p in r.json()["people"]}[
        "alice@acme.test"] == "on_leave"
    # After the change of time: 09:00 in Berlin is 08:00 UTC.
    r = d.get("/api/v1/reports/daily?date=2026-10-27", headers=d.a)
    people = {p["email"]: p for p in r.json()["people"]}
    assert people["alice@acme.test"]["first_in"] == "2026-10-27T08:00:00Z"
    assert people["alice@acme.test"]["status"] == "present"
    # The manager sees alice, who reports to her, and nobody else.
    r = d.get("/api/v1/reports/daily?date=2026-10-05",
              headers=token(d, "mia@acme.test"))
    assert r.status_code == 200, r.text
    assert [p["email"] for p in r.json()["people"]] == ["alice@acme.test"]
    # Today, by default; someone checked in now is in.
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at, source)"
           " VALUES ('%s', '%s', 'in', now() - interval '1 minute', 'web')"
           % (d.ids["acme"], d.ids["bob"]))
    r = d.get("/api/v1/reports/daily", headers=d.a)
    assert r.status_code == 200, r.text
    today = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date().isoformat()
    assert r.json()["date"] == today
    people = {p["email"]: p for p in r.json()["people"]}
    assert people["bob@acme.test"]["in_now"] is True
    assert r.json()["summary"]["in_now"] == 1
    for bad in ("2026-02-30", "2026-13-01", "2026-10-5", "yesterday"):
        r = d.get("/api/v1/reports/daily?date=" + bad, headers=d.a)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date"
    assert d.get("/api/v1/reports/daily?org=globex",
                 headers=d.a).status_code == 404
    assert d.get("/api/v1/reports/daily",
                 headers=token(d, "alice@acme.test")).status_code == 403


def test_export_gives_the_same_numbers_as_the_api(world):
    d = world
    api = monthly(d, d.a, "month=" + MONTH).json()
    out = tempfile.mkdtemp(prefix="rollcall-export-")
    path = os.path.join(out, "october.csv")
    r = d.cli("export", "--org", "acme", "--month", MONTH, "--out", path)
    assert os.path.exists(path) and "october.csv" in r.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert [f for f in os.listdir(out) if ".tmp" in f] == []
    with open(path, newline="", encoding="utf-8") as f:
        rows = {row["email"]: row for row in csv.DictReader(f)}
    assert set(rows) == {row["email"] for row in api["rows"]}
    for j in api["rows"]:
        for k, v in j.items():
            got = rows[j["email"]][k]
            if isinstance(v, (int, float)):
                assert float(got) == pytest.approx(v), (k, j["email"])
            else:
                assert got == v
    # JSON to stdout: the same report.
    r = d.cli("export", "--org", "acme", "--month", MONTH, "--format", "json")
    assert json.loads(r.stdout)["rows"] == api["rows"]
    # The default month is the previous one in the org's zone; a folder as
    # --out gets the file name.
    now = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date()
    prev = (now.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    d.cli("export", "--org", "acme", "--out", out + "/")
    assert os.path.exists(os.path.join(out, "rollcall-acme-%s.csv" % prev))
    # Usage errors and unknown orgs.
    assert d.cli("export", "--month", MONTH, check=False).returncode == 2
    assert d.cli("export", "--org", "acme", "--month", "2026-13",
                 check=False).returncode == 2
    assert d.cli("export", "--org", "acme", "--format", "xls",
                 check=False).returncode == 2
    r = d.cli("export", "--org", "nosuch", "--month", MONTH, check=False)
    assert r.returncode == 1 and "nosuch" in r.stderr


def test_export_mails_the_file_to_the_admins(world):
    d = world
    out = tempfile.mkdtemp(prefix="rollcall-export-")
    d.cli("export", "--org", "acme", "--month", MONTH, "--out", out, "--mail")
    path = os.path.join(out, "rollcall-acme-2026-10.csv")
    with open(path, "rb") as f:
        data = f.read()
    msg = d.smtp.wait(1)[0]
    assert msg["To"].endswith("admin@acme.test")
    assert msg["Subject"] == "rollcall report for 2026-10"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "ACME" in body and "2026-10" in body
    atts = list(msg.iter_attachments())
    assert len(atts) == 1
    assert atts[0].get_filename() == "rollcall-acme-2026-10.csv"
    assert atts[0].get_content_type() == "text/csv"
    assert atts[0].get_payload(decode=True) == data
    # One job per active admin of the org (acme has one), nobody else.
    job = json.loads(d.psql("SELECT payload FROM jobs WHERE payload->>"
                            "'template' = 'report'"))
    assert job["to"] == ["admin@acme.test"]
    assert int(d.psql("SELECT count(*) FROM audit_log WHERE action ="
                      " 'report_exported'")) == 1
