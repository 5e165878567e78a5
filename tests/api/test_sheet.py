"""The monthly attendance sheet (issue 10): GET /reports/sheet, one call
for the whole org, a status per person and date from the same day logic as
the monthly report, as JSON and CSV (read back with Python's csv), over
test_reports' October 2026 in Berlin (DST ends on the 25th)."""
import csv
import datetime
import io
import zoneinfo

from test_reports import (ALICE, ALICE_NAME, ALICE_SPECIAL, BERLIN, BOB,
                          BOB_NAME, DAVE, HOLIDAYS, MONTH, approved_leave,
                          monthly, october, rows_by_email, world)
from test_users import token

__all__ = ["world"]  # the fixture, re-used
TOTALS = ["present", "late", "absent", "on_leave", "half_day", "holiday",
          "weekend"]


def sheet(d, headers, query):
    return d.get("/api/v1/reports/sheet?" + query, headers=headers)


def october_expected(special, workday):
    """An October date by date: (status, worked minutes), special's on
    its dates, workday on the other working days."""
    holidays = {h for h, _ in HOLIDAYS}
    out = []
    for day in october():
        wd = datetime.date.fromisoformat(day).isoweekday()
        if day in holidays:
            out.append(("holiday", 0))
        elif wd >= 6:
            out.append(("weekend", 0))
        else:
            out.append(special.get(day, workday))
    return out


def alice_expected():
    """alice's October, date by date: (status, worked minutes)."""
    special = {"2026-10-05": ("late", 450), "2026-10-06": ("absent", 0),
               "2026-10-07": ("on_leave", 0), "2026-10-08": ("on_leave", 0),
               "2026-10-09": ("half_day", 240)}
    assert set(special) == set(ALICE_SPECIAL)
    return october_expected(special, ("present", 480))


def test_sheet_json_shape_and_values(world):
    d = world
    r = sheet(d, d.a, "month=" + MONTH)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    s = r.json()
    assert list(s) == ["month", "timezone", "org", "days", "rows"]
    assert s["month"] == MONTH and s["timezone"] == BERLIN
    assert s["org"] == {"id": d.ids["acme"], "name": "ACME", "slug": "acme"}
    assert s["days"] == october()
    # The monthly report's people in the monthly report's order.
    rep = monthly(d, d.a, "month=" + MONTH).json()
    assert [x["email"] for x in s["rows"]] == [x["email"] for x in rep["rows"]]
    rows = rows_by_email(s)
    for row in s["rows"]:
        assert set(row) == {"user_id", "name", "email", "role", "statuses",
                            "worked_minutes", "totals"}
        assert len(row["statuses"]) == len(row["worked_minutes"]) == 31
        assert set(row["totals"]) == set(TOTALS) | {"worked_minutes"}
    alice = rows["alice@acme.test"]
    assert alice["user_id"] == d.ids["alice"] and alice["name"] == ALICE_NAME
    assert alice["role"] == "employee"
    assert list(zip(alice["statuses"], alice["worked_minutes"])) == \
        alice_expected()
    assert alice["totals"] == {
        "present": 16, "late": 1, "absent": 1, "on_leave": 2, "half_day": 1,
        "holiday": 2, "weekend": 8, "worked_minutes": ALICE["worked_minutes"]}
    bob = rows["bob@acme.test"]
    assert bob["name"] == BOB_NAME
    # Leave on the 28th; in at 00:10 local on the 29th (the 28th in UTC).
    assert bob["statuses"][27] == "on_leave"
    assert (bob["statuses"][28], bob["worked_minutes"][28]) == ("present", 240)
    assert bob["totals"]["worked_minutes"] == BOB["worked_minutes"]
    # The same day logic as the monthly report, person by person.
    for row in rep["rows"]:
        t = rows[row["email"]]["totals"]
        for k in ("late", "absent", "holiday", "weekend", "worked_minutes"):
            assert t[k] == row[k], (row["email"], k)
        assert t["on_leave"] + t["half_day"] * 0.5 == row["leave"]
    # The other org: its own zone and people.
    s = sheet(d, d.b, "month=" + MONTH).json()
    assert s["timezone"] == "Asia/Kathmandu"
    dave = rows_by_email(s)["dave@globex.test"]
    assert dave["statuses"][0] == "present"
    assert dave["totals"]["worked_minutes"] == DAVE["worked_minutes"]
    assert dave["totals"]["weekend"] == DAVE["weekend"]


def test_sheet_csv_reads_back_with_the_right_rows(world):
    d = world
    as_json = rows_by_email(sheet(d, d.a, "month=" + MONTH).json())
    r = sheet(d, d.a, "month=%s&format=csv" % MONTH)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="sheet-acme-2026-10.csv"'
    body = r.content.decode("utf-8")
    assert body.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0] == ["name", "email"] + october() + TOTALS + \
        ["worked_hours"]
    assert len(rows) == 1 + len(as_json)
    for row in rows[1:]:
        j = as_json[row[1]]
        assert row[0] == j["name"]
        assert row[2:33] == [st or "" for st in j["statuses"]]
        assert [int(x) for x in row[33:40]] == [j["totals"][k] for k in TOTALS]
        assert float(row[40]) == round(j["totals"]["worked_minutes"] / 60, 2)
    alice = [row for row in rows if row[1] == "alice@acme.test"][0]
    assert alice[0] == ALICE_NAME and float(alice[40]) == ALICE["worked_hours"]


def test_sheet_and_monthly_csv_are_injection_safe(world):
    d = world
    evil = '=HYPERLINK("http://evil.test","x")'
    d.psql("UPDATE users SET name = $$%s$$ WHERE id = '%s'" % (evil,
                                                               d.ids["bob"]))
    d.psql("UPDATE users SET name = '@SUM(A1)' WHERE id = '%s'" % d.ids["mia"])
    for r in (sheet(d, d.a, "month=%s&format=csv" % MONTH),
              monthly(d, d.a, "month=%s&format=csv" % MONTH)):
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
        names = [row[0] if row[0] != d.ids["bob"] and row[0] !=
                 d.ids["mia"] else row[1] for row in rows[1:]]
        assert "'" + evil in names and "'@SUM(A1)" in names
        assert evil not in names
        # No cell of any row starts with a formula character.
        for row in rows[1:]:
            for cell in row:
                assert not cell[:1] in ("=", "+", "@"), cell


def test_sheet_tenants_roles_and_bad_input(world):
    d = world
    q = "month=" + MONTH
    assert sheet(d, d.a, q + "&org=globex").status_code == 404
    assert sheet(d, d.a, q + "&org=nosuch").status_code == 404
    assert sheet(d, d.a, q + "&org=acme").status_code == 200
    r = sheet(d, d.root, q + "&org=globex")
    assert r.status_code == 200, r.text
    assert r.json()["org"]["slug"] == "globex"
    assert {x["email"] for x in r.json()["rows"]} == {"admin@globex.test",
                                                     "dave@globex.test"}
    r = sheet(d, d.root, q + "&org=globex&format=csv")
    assert r.headers["Content-Disposition"] == \
        'attachment; filename="sheet-globex-2026-10.csv"'
    r = sheet(d, d.root, q)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "org"
    for who in ("mia@acme.test", "alice@acme.test"):
        r = sheet(d, token(d, who), q)
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert d.get("/api/v1/reports/sheet?" + q).status_code == 401
    for bad in ("2026-13", "2026-1", "garbage", "", "2026-10-01"):
        r = sheet(d, d.a, "month=" + bad)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == "month"
    assert sheet(d, d.a, "").json()["errors"][0]["field"] == "month"
    r = sheet(d, d.a, q + "&format=xlsx")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"


def test_days_to_come_are_null(world):
    d = world
    today = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date()
    s = sheet(d, d.a, "month=" + today.strftime("%Y-%m")).json()
    i = s["days"].index(today.isoformat())
    for row in s["rows"]:
        assert all(x is not None for x in row["statuses"][:i + 1])
        assert all(x is None for x in row["statuses"][i + 1:])
        assert all(x is None for x in row["worked_minutes"][i + 1:])
    nxt = (today.replace(day=28) + datetime.timedelta(days=4)).strftime("%Y-%m")
    s = sheet(d, d.a, "month=" + nxt).json()
    for row in s["rows"]:
        assert set(row["statuses"]) == {None}
        assert row["totals"] == {k: 0 for k in TOTALS + ["worked_minutes"]}
    r = sheet(d, d.a, "month=%s&format=csv" % nxt)
    rows = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
    assert all(cell == "" for cell in rows[1][2:2 + len(s["days"])])


def test_a_person_without_stored_rows_and_an_org_with_nobody(world):
    """mia did nothing in October: no stored row, every date plain (the
    calendar's: holiday, weekend, else absent)."""
    d = world
    assert d.psql("SELECT count(*) FROM attendance_rollup WHERE user_id ="
                  " '%s'" % d.ids["mia"]) == "0"
    mia = rows_by_email(sheet(d, d.a, "month=" + MONTH).json())[
        "mia@acme.test"]
    plain = october_expected({}, ("absent", 0))
    assert list(zip(mia["statuses"], mia["worked_minutes"])) == plain
    assert mia["totals"] == {
        "present": 0, "late": 0, "absent": 21, "on_leave": 0, "half_day": 0,
        "holiday": 2, "weekend": 8, "worked_minutes": 0}
    # globex with nobody active: no rows, the days still there.
    d.psql("UPDATE users SET status = 'disabled' WHERE org_id = '%s'"
           % d.ids["globex"])
    s = sheet(d, d.root, "month=%s&org=globex" % MONTH).json()
    assert s["rows"] == [] and s["days"] == october()
    assert s["org"]["slug"] == "globex"
    r = sheet(d, d.root, "month=%s&org=globex&format=csv" % MONTH)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
    assert len(rows) == 1 and rows[0][2:33] == october()


def test_half_day_at_home_and_leave_to_come(world):
    """A half day not come in (stored on_leave) is a half_day too; leave
    stored for the dates after today shows as nothing and counts for
    nothing, leave today counts."""
    d = world
    kind = d.psql("SELECT id FROM leave_types LIMIT 1")
    approved_leave(d, d.ids["acme"], d.ids["bob"], kind, "2026-10-13",
                   "2026-10-13", True)
    bob = rows_by_email(sheet(d, d.a, "month=" + MONTH).json())[
        "bob@acme.test"]
    assert (bob["statuses"][12], bob["worked_minutes"][12]) == ("half_day", 0)
    assert bob["totals"]["half_day"] == 1
    assert bob["totals"]["absent"] == BOB["absent"] - 1
    today = datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date()
    tomorrow = today + datetime.timedelta(days=1)
    approved_leave(d, d.ids["acme"], d.ids["bob"], kind, today.isoformat(),
                   tomorrow.isoformat())
    stored = d.psql("SELECT count(*) FROM attendance_rollup WHERE user_id ="
                    " '%s' AND date = '%s'" % (d.ids["bob"], tomorrow))
    assert stored == "1"        # the future leave is a stored row
    weekend = today.isoweekday() >= 6
    for day in (today, tomorrow):
        s = sheet(d, d.a, "month=" + day.strftime("%Y-%m")).json()
        bob = rows_by_email(s)["bob@acme.test"]
        i = s["days"].index(day.isoformat())
        if day == tomorrow:
            assert (bob["statuses"][i], bob["worked_minutes"][i]) == \
                (None, None)
            continue
        assert bob["statuses"][i] == ("weekend" if weekend else "on_leave")
        assert bob["totals"]["on_leave"] == (0 if weekend else 1)
    s = sheet(d, d.a, "month=" + tomorrow.strftime("%Y-%m")).json()
    if tomorrow.month != today.month:
        assert rows_by_email(s)["bob@acme.test"]["totals"]["on_leave"] == 0
