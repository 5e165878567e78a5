"""Checking in and out from the employee's home (issue 10)."""
import datetime
import zoneinfo

from conftest import PW


def test_check_in_and_out_update_home_calendar_and_second_tab(office, browser):
    d = office
    tz = zoneinfo.ZoneInfo("Europe/Paris")
    now = datetime.datetime.now(tz)
    out = browser(d, "attendance.mjs", email="emma@acme.test", password=PW,
                  timezone="Europe/Paris", today=now.date().isoformat(),
                  hours=[now.strftime("%H"), (now + datetime.timedelta(minutes=2)).strftime("%H")])
    assert "st-present" in out["after"] or "st-late" in out["after"]
    assert out["before"] != out["after"]
    kinds = d.psql("SELECT string_agg(kind || ':' || source, ',' ORDER BY at) FROM attendance_events"
                   " WHERE user_id = (SELECT id FROM users WHERE email = 'emma@acme.test')")
    assert kinds == "in:web,out:web"
