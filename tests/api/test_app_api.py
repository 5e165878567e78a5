"""Calls the browser app's screens make (issue 10): "my today" on the
employee home, what a kiosk screen shows of itself, and a manager's view of
today's team."""
import datetime
import zoneinfo

from test_attendance import API, BERLIN, days_of, world
from test_users import PW, add_user, make_org, token

__all__ = ["world"]  # the fixture, re-used


def today_of(d, who):
    r = d.get(API + "/today", headers=d.h[who])
    assert r.status_code == 200, r.text
    return r.json()


def berlin_today():
    return datetime.datetime.now(zoneinfo.ZoneInfo(BERLIN)).date().isoformat()


def test_today_follows_check_in_and_out(world):
    d = world
    t = today_of(d, "emp@acme.test")
    day = t["date"]
    assert day == berlin_today()
    assert t["timezone"] == BERLIN
    assert (t["state"], t["since"], t["first_in"], t["last_out"]) == \
        ("none", None, None, None)
    assert t["worked_minutes"] == 0 and t["events"] == []
    assert t["face_required"] is False
    # The status is the day logic's (absent, weekend or holiday today).
    assert t["status"] == days_of(d, "emp@acme.test", d.ids["emp@acme.test"],
                                  day, day)[day]["status"]

    r = d.post(API + "/check-in", headers=d.h["emp@acme.test"], json={})
    assert r.status_code == 201, r.text
    ev_in = r.json()
    t = today_of(d, "emp@acme.test")
    assert t["state"] == "in" and t["since"] == ev_in["at"]
    assert t["first_in"] == ev_in["at"] and t["last_out"] is None
    assert t["events"] == [{"id": ev_in["id"], "kind": "in",
                            "at": ev_in["at"], "source": "web"}]
    assert t["status"] in ("present", "late", "weekend", "holiday")

    r = d.post(API + "/check-out", headers=d.h["emp@acme.test"], json={})
    assert r.status_code == 201, r.text
    ev_out = r.json()
    t = today_of(d, "emp@acme.test")
    assert t["state"] == "out" and t["since"] == ev_out["at"]
    assert t["last_out"] == ev_out["at"]
    assert [e["kind"] for e in t["events"]] == ["in", "out"]
    assert t["worked_minutes"] == days_of(
        d, "emp@acme.test", d.ids["emp@acme.test"], day, day)[day][
            "worked_minutes"]
    # Only the caller's own day: others' events do not show.
    assert today_of(d, "other@acme.test")["events"] == []


def test_today_counts_an_open_pair_from_yesterday(world):
    d = world
    me = d.ids["other@acme.test"]
    # In since 90 minutes before today's local midnight, never out.
    at = d.psql("SELECT ((now() AT TIME ZONE '%s')::date::timestamp"
                " AT TIME ZONE '%s') - interval '90 minutes'" % (BERLIN, BERLIN))
    d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at) VALUES"
           " ('%s', '%s', 'in', '%s')" % (d.acme, me, at))
    since_midnight = int(d.psql(
        "SELECT floor(extract(epoch FROM now() - ((now() AT TIME ZONE '%s')"
        "::date::timestamp AT TIME ZONE '%s')) / 60)" % (BERLIN, BERLIN)))
    t = today_of(d, "other@acme.test")
    assert t["state"] == "in" and t["since"] is not None
    assert t["since"] < t["date"] + "T23:59:59Z"
    assert t["events"] == []      # nothing happened today yet
    assert since_midnight <= t["worked_minutes"] <= since_midnight + 1
    # The server agrees: a check-in now would be the second in.
    r = d.post(API + "/check-in", headers=d.h["other@acme.test"], json={})
    assert r.status_code == 409


def test_today_says_when_a_face_is_required_and_who_may_ask(world):
    d = world
    d.psql("UPDATE orgs SET face_required = true WHERE id = '%s'" % d.acme)
    assert today_of(d, "intern@acme.test")["face_required"] is True
    assert today_of(d, "ram@kat.test")["face_required"] is False
    assert today_of(d, "ram@kat.test")["timezone"] == "Asia/Kathmandu"
    r = d.get(API + "/today", headers=d.h["root@ops.test"])
    assert r.status_code == 403
    assert d.get(API + "/today").status_code == 401


def test_daily_shows_a_manager_their_team_only(world):
    d = world
    r = d.get("/api/v1/reports/daily", headers=d.h["mgr@acme.test"])
    assert r.status_code == 200, r.text
    assert [p["email"] for p in r.json()["people"]] == ["emp@acme.test"]
    r = d.get("/api/v1/reports/daily", headers=d.h["admin@acme.test"])
    emails = {p["email"] for p in r.json()["people"]}
    assert {"emp@acme.test", "other@acme.test", "mgr@acme.test"} <= emails
    assert "ram@kat.test" not in emails
    assert d.get("/api/v1/reports/daily", headers=d.h[
        "emp@acme.test"]).status_code == 403


def test_kiosk_describes_itself(daemon):
    d = daemon
    acme = make_org(d, "acme")
    d.psql("UPDATE orgs SET name = 'Acme Ltd', timezone = 'Europe/Paris'"
           " WHERE id = '%s'" % acme)
    make_org(d, "other")
    add_user(d, "admin@acme.test", "admin", "acme")
    add_user(d, "emp@acme.test", "employee", "acme")
    admin = token(d, "admin@acme.test")
    r = d.post("/api/v1/kiosks", headers=admin, json={"name": "Front door"})
    assert r.status_code == 201, r.text
    k = r.json()
    kh = {"Authorization": "Bearer " + k["token"]}
    r = d.get("/api/v1/kiosk/me", headers=kh)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": k["id"], "name": "Front door",
                        "org": {"name": "Acme Ltd",
                                "timezone": "Europe/Paris"}}
    # A user's token, a wrong kiosk token, none: 401.
    for h in (admin, token(d, "emp@acme.test"),
              {"Authorization": "Bearer rck_" + "x" * 43}, {}):
        r = d.get("/api/v1/kiosk/me", headers=h)
        assert r.status_code == 401, h
        assert r.json()["code"] == "unauthorized"
    # A deleted kiosk is gone at once.
    assert d.delete("/api/v1/kiosks/" + k["id"], headers=admin).status_code \
        == 204
    assert d.get("/api/v1/kiosk/me", headers=kh).status_code == 401
