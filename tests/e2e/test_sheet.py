"""The monthly attendance sheet and report in the browser (issue 10): the
month shows, today's cell is coloured, and "Download CSV" gives files that
Python's csv reads back with the right rows."""
import csv
import datetime
import zoneinfo

from conftest import PW, token


def test_sheet_and_report_show_the_month_and_download_csv(office, browser, tmp_path):
    d = office
    emma = token(d, "emma@acme.test")
    assert d.post("/api/v1/attendance/check-in", headers=emma, json={}).status_code == 201
    assert d.post("/api/v1/attendance/check-out", headers=emma, json={}).status_code == 201
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()
    month = today.strftime("%Y-%m")
    prev = (today.replace(day=1) - datetime.timedelta(days=1))
    out = browser(d, "sheet.mjs", admin="admin@acme.test", password=PW, email="emma@acme.test",
                  day=today.day, dir=str(tmp_path),
                  month_name=today.strftime("%B %Y"), prev_month_name=prev.strftime("%B %Y"))
    sheet = d.get("/api/v1/reports/sheet?month=" + month, headers=d.admin).json()
    assert out["rows"] == len(sheet["rows"]) == 3

    with open(out["sheet"]["file"], newline="") as f:
        got = list(csv.reader(f))
    want = d.get("/api/v1/reports/sheet?month=%s&format=csv" % month, headers=d.admin).text
    assert got == list(csv.reader(want.splitlines()))
    cells = {c for row in got[1:] for c in row}
    assert {r["name"] for r in sheet["rows"]} <= cells, got[:3]
    assert len(got) == 1 + len(sheet["rows"])
    assert out["sheet"]["suggested"].endswith(month + ".csv")

    with open(out["report"]["file"], newline="") as f:
        got = list(csv.reader(f))
    want = d.get("/api/v1/reports/monthly?month=%s&format=csv" % month, headers=d.admin).text
    assert got == list(csv.reader(want.splitlines()))
    assert len(got) == 1 + 3
