"""The monthly attendance sheet (issue 10): GET /reports/sheet, one call
for the whole org, a status per person and date from the same day logic as
the monthly report, as JSON and CSV (read back with Python's csv), over
test_reports' October 2026 in Berlin (DST ends on the 25th)."""
import csv
import datetime
import io
import zoneinfo

from test_reports import (ALICE, ALICE_NAME, ALICE_SPECIAL, BERLIN, BOB,
                          BOB_NAME, DAVE, HOLIDAYS, MONTH, monthly, october,
                          rows_by_email, world)
from test_users import token

__all__ = ["world"]  # the fixture, re-used
TOTALS = ["present", "late", "absent", "on_leave", "half_day", "holiday",
          "weekend"]


def sheet(d, headers, query):
    return d.get("/api/v1/reports/sheet?" + query, headers=headers)


def alice_expected():
    """alice's October, date by date: (status, worked minutes)."""
    holidays = {h for h, _ in HOLIDAYS}
    special = {"2026-10-05": ("late", 450), "2026-10-06": ("absent", 0),
               "2026-10-07": ("on_leave", 0), "2026-10-08": ("on_leave", 0),
               "2026-10-09": ("half_day", 240)}
    assert set(special) == set(ALICE_SPECIAL)
    out = []
    for day in october():
        wd = datetime.date.fromisoformat(day).isoweekday()
        if day in holidays:
            out.append(("holiday", 0))
        elif wd >= 6:
            out.append(("weekend", 0))
        else:
            out.append(special.get(day, ("present", 480)))
    return out


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
