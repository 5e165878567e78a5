"""Asking for leave and approving it in the browser (issue 10)."""
import datetime
import zoneinfo

import pytest

from conftest import PW


def next_weekdays(today, count):
    """The first Monday at least a week ahead and the days after it."""
    d = today + datetime.timedelta(days=7)
    while d.weekday() != 0:
        d += datetime.timedelta(days=1)
    return d, d + datetime.timedelta(days=count - 1)


def test_request_errors_next_to_fields_manager_approves_balance_moves(office, browser):
    d = office
    r = d.post("/api/v1/leave/types", headers=d.admin,
               json={"name": "Annual", "days_per_year": 25, "paid": True})
    assert r.status_code == 201, r.text
    today = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris")).date()
    start, end = next_weekdays(today, 2)
    if (start + datetime.timedelta(days=7)).year != today.year:
        pytest.skip("the balance shown is this year's; no full week left in it")
    out = browser(d, "leave.mjs", employee="emma@acme.test", employee_name="Emma Employee",
                  manager="boss@acme.test", password=PW, type="Annual",
                  start=start.isoformat(), end=end.isoformat(), days=2,
                  start2=(start + datetime.timedelta(days=7)).isoformat())
    assert out["after"] == out["before"] - 2
    assert "overlap" in out["overlap"] or "already" in out["overlap"], out["overlap"]
    rows = d.psql("SELECT string_agg(status || ',' || comment, ';' ORDER BY start_date) FROM leave_requests")
    assert rows == "cancelled,enjoy;rejected,busy week"
