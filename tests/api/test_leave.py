"""Leave (issue 4, item 4): types, requests checked against dates, overlaps,
working days and balances, decisions by the manager or an admin, cancelling,
balances, the mails through the outbox, the tenant rule, bad input, and the
`rollcall leave digest` CLI. Real daemon, PostgreSQL and SMTP server."""
import concurrent.futures
import datetime
import time
import uuid

import pytest

from test_users import PW, count, make_org, token

# 2027-03-01 is a Monday; the dates are in the future so that approved
# leave can still be cancelled.
MON, TUE, WED, THU, FRI, SAT, SUN = ("2027-03-0%d" % i for i in range(1, 8))
NEXT_MON, NEXT_TUE, NEXT_WED = "2027-03-08", "2027-03-09", "2027-03-10"


def add_person(d, email, role, org, manager=None):
    args = ["user", "add", "--email", email, "--name", email.split("@")[0],
            "--role", role]
    if org:
        args += ["--org", org]
    if manager:
        args += ["--manager", manager]
    d.cli(*args, input=PW + "\n")
    return d.psql("SELECT id FROM users WHERE email = '%s'" % email)


def wait_mail(d, to, subject_part, timeout=15):
    """The first message to `to` whose subject holds subject_part."""
    deadline = time.monotonic() + timeout
    while True:
        for m in d.smtp.messages():
            if to in m["To"].lower() and subject_part in m["Subject"]:
                return m
        if time.monotonic() > deadline:
            raise AssertionError("no mail to %s about %r; have %r" % (
                to, subject_part, [(m["To"], m["Subject"])
                                   for m in d.smtp.messages()]))
        time.sleep(0.05)


def body(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def world(make_daemon, smtp):
    """acme: admin, two managers, emp (reports to mgr), emp2 (reports to
    mgr2), an intern without manager; globex: admin and one employee.
    Types: acme Annual 10 days paid, Unpaid 0 days; globex Annual 20."""
    d = make_daemon(mail_smtp_url=smtp.url)
    d.smtp = smtp
    d.acme = make_org(d, "acme")
    d.globex = make_org(d, "globex")
    ids = {}
    for email, role, org, mgr in [
            ("admin@acme.test", "admin", "acme", None),
            ("mgr@acme.test", "manager", "acme", None),
            ("mgr2@acme.test", "manager", "acme", None),
            ("emp@acme.test", "employee", "acme", "mgr@acme.test"),
            ("emp2@acme.test", "employee", "acme", "mgr2@acme.test"),
            ("intern@acme.test", "intern", "acme", None),
            ("admin@globex.test", "admin", "globex", None),
            ("emp@globex.test", "employee", "globex", None)]:
        ids[email] = add_person(d, email, role, org, mgr)
    d.ids = ids
    d.h = {e: token(d, e) for e in ids}
    d.annual = d.post("/api/v1/leave/types", headers=d.h["admin@acme.test"],
                      json={"name": "Annual", "days_per_year": 10}).json()["id"]
    d.unpaid = d.post("/api/v1/leave/types", headers=d.h["admin@acme.test"],
                      json={"name": "Unpaid", "days_per_year": 0,
                            "paid": False}).json()["id"]
    d.g_annual = d.post("/api/v1/leave/types",
                        headers=d.h["admin@globex.test"],
                        json={"name": "Annual", "days_per_year": 20}).json()["id"]
    return d


def ask(d, who, type_id, start, end, **extra):
    return d.post("/api/v1/leave/requests", headers=d.h[who], json=dict(
        type_id=type_id, start_date=start, end_date=end, reason="family",
        **extra))


def balance(d, who, type_id, user=None, year=2027):
    q = "?year=%d" % year + ("&user_id=" + user if user else "")
    r = d.get("/api/v1/leave/balances" + q, headers=d.h[who])
    assert r.status_code == 200, r.text
    return next(i for i in r.json()["items"] if i["type_id"] == type_id)


def test_types_per_org_admin_creates_anyone_reads(world):
    d = world
    r = d.get("/api/v1/leave/types", headers=d.h["intern@acme.test"])
    assert r.status_code == 200, r.text
    assert [(t["name"], t["days_per_year"], t["paid"])
            for t in r.json()["items"]] == [("Annual", 10, True),
                                            ("Unpaid", 0, False)]
    r = d.get("/api/v1/leave/types", headers=d.h["emp@globex.test"])
    assert [t["name"] for t in r.json()["items"]] == ["Annual"]
    assert r.json()["items"][0]["id"] == d.g_annual
    before = count(d, "leave_types")
    r = d.post("/api/v1/leave/types", headers=d.h["emp@acme.test"],
               json={"name": "Sick", "days_per_year": 5})
    assert r.status_code == 403
    r = d.post("/api/v1/leave/types", headers=d.h["admin@acme.test"],
               json={"name": "Annual", "days_per_year": 5})
    assert r.status_code == 409
    for bad, field in [({"days_per_year": 5}, "name"),
                       ({"name": "X", "days_per_year": -1}, "days_per_year"),
                       ({"name": "X", "days_per_year": 1.25}, "days_per_year"),
                       ({"name": "X", "days_per_year": "5"}, "days_per_year"),
                       ({"name": "X", "days_per_year": 400}, "days_per_year"),
                       ({"name": "X", "days_per_year": 5, "paid": "no"},
                        "paid")]:
        r = d.post("/api/v1/leave/types", headers=d.h["admin@acme.test"],
                   json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert count(d, "leave_types") == before
    r = d.post("/api/v1/leave/types", headers=d.h["admin@acme.test"],
               json={"name": "Sick", "days_per_year": 7.5})
    assert r.status_code == 201 and r.json()["days_per_year"] == 7.5
    assert count(d, "audit_log", "action = 'leave_type_created'") == 4


def test_request_mails_approver_approve_moves_balance_cancel_moves_back(world):
    d = world
    r = ask(d, "emp@acme.test", d.annual, MON, FRI)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "pending" and req["days"] == 5
    assert req["user_id"] == d.ids["emp@acme.test"]
    assert req["type_name"] == "Annual" and req["reason"] == "family"
    # The approver is the requester's manager, mailed through the outbox.
    m = wait_mail(d, "mgr@acme.test", "Leave request from emp")
    assert MON in body(m) and FRI in body(m) and req["id"] in body(m)
    b = balance(d, "emp@acme.test", d.annual)
    assert (b["allowed"], b["taken"], b["pending"], b["left"]) == (10, 0, 5, 5)

    r = d.post("/api/v1/leave/requests/%s/approve" % req["id"],
               headers=d.h["mgr@acme.test"], json={"comment": "enjoy"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["decided_by"] == d.ids["mgr@acme.test"]
    m = wait_mail(d, "emp@acme.test", "approved")
    assert "enjoy" in body(m) and "mgr" in body(m)
    b = balance(d, "emp@acme.test", d.annual)
    assert (b["taken"], b["pending"], b["left"]) == (5, 0, 5)
    # The manager sees the same balance; decided once only.
    assert balance(d, "mgr@acme.test", d.annual,
                   user=d.ids["emp@acme.test"])["taken"] == 5
    r = d.post("/api/v1/leave/requests/%s/reject" % req["id"],
               headers=d.h["admin@acme.test"])
    assert r.status_code == 409

    r = d.post("/api/v1/leave/requests/%s/cancel" % req["id"],
               headers=d.h["emp@acme.test"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    b = balance(d, "emp@acme.test", d.annual)
    assert (b["taken"], b["pending"], b["left"]) == (0, 0, 10)
    assert d.post("/api/v1/leave/requests/%s/cancel" % req["id"],
                  headers=d.h["emp@acme.test"]).status_code == 409
    for action in ("leave_requested", "leave_approved", "leave_cancelled"):
        assert count(d, "audit_log", "action = '%s' AND target_id = '%s'"
                     % (action, req["id"])) == 1, action


def test_reject_with_comment_and_no_manager_mails_admins(world):
    d = world
    add_person(d, "admin2@acme.test", "admin", "acme")
    r = ask(d, "intern@acme.test", d.annual, MON, MON)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    # No manager: every other active admin of the org is the approver.
    wait_mail(d, "admin@acme.test", "Leave request from intern")
    wait_mail(d, "admin2@acme.test", "Leave request from intern")
    assert count(d, "jobs", "payload->>'template' = 'leave_requested'") == 2
    r = d.post("/api/v1/leave/requests/%s/reject" % rid,
               headers=d.h["admin@acme.test"], json={"comment": "busy week"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["comment"] == "busy week"
    m = wait_mail(d, "intern@acme.test", "rejected")
    assert "busy week" in body(m)
    assert count(d, "audit_log", "action = 'leave_rejected'") == 1
    # A rejected request cannot be cancelled, approved or rejected again.
    for verb, who in [("cancel", "intern@acme.test"),
                      ("approve", "admin@acme.test")]:
        r = d.post("/api/v1/leave/requests/%s/%s" % (rid, verb),
                   headers=d.h[who])
        assert r.status_code == 409, verb


def test_overlap_refused_even_when_concurrent(world):
    d = world
    r = ask(d, "emp@acme.test", d.annual, MON, WED)
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    jobs = count(d, "jobs")
    r = ask(d, "emp@acme.test", d.unpaid, WED, FRI)
    assert r.status_code == 409 and r.json()["code"] == "leave_overlap"
    assert count(d, "leave_requests") == 1 and count(d, "jobs") == jobs
    # Another person may take the same days.
    assert ask(d, "emp2@acme.test", d.annual, MON, WED).status_code == 201
    # A rejected request no longer blocks its dates.
    assert d.post("/api/v1/leave/requests/%s/reject" % first,
                  headers=d.h["mgr@acme.test"]).status_code == 200
    assert ask(d, "emp@acme.test", d.unpaid, WED, FRI).status_code == 201
    # 10 simultaneous overlapping requests: the constraint lets one in.
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda i: ask(
            d, "intern@acme.test", d.unpaid, NEXT_MON,
            "2027-03-1%d" % i).status_code, range(10)))
    assert sorted(codes) == [201] + [409] * 9, codes
    assert count(d, "leave_requests", "user_id = '%s'"
                 % d.ids["intern@acme.test"]) == 1


def test_balance_exceeded_refused_unpaid_may_exceed(world):
    d = world
    # 8 working days: Mon 1st .. Wed 10th without the weekend.
    r = ask(d, "emp@acme.test", d.annual, MON, NEXT_WED)
    assert r.status_code == 201 and r.json()["days"] == 8, r.text
    # Pending days count: 8 + 3 > 10.
    before = (count(d, "leave_requests"), count(d, "jobs"),
              count(d, "audit_log"))
    r = ask(d, "emp@acme.test", d.annual, "2027-03-15", "2027-03-17")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "leave_balance_exceeded"
    assert (count(d, "leave_requests"), count(d, "jobs"),
            count(d, "audit_log")) == before
    # Exactly the rest fits.
    assert ask(d, "emp@acme.test", d.annual, "2027-03-15",
               "2027-03-16").status_code == 201
    b = balance(d, "emp@acme.test", d.annual)
    assert (b["pending"], b["left"]) == (10, 0)
    # Unpaid leave has no balance to exceed (0 days a year here).
    r = ask(d, "emp@acme.test", d.unpaid, "2027-04-05", "2027-04-16")
    assert r.status_code == 201 and r.json()["days"] == 10, r.text
    assert balance(d, "emp@acme.test", d.unpaid)["left"] == -10
    # Another year has its own allowance.
    assert ask(d, "emp@acme.test", d.annual, "2028-03-06",
               "2028-03-10").status_code == 201
    assert balance(d, "emp@acme.test", d.annual, year=2028)["left"] == 5


def test_balance_holds_under_concurrent_requests(world):
    d = world
    # Ten simultaneous 2-day requests on different weeks against 10 days:
    # the database lets exactly five in, whatever the interleaving.
    mondays = ["2027-%02d-%02d" % (m, day) for m, day in
               [(5, 3), (5, 10), (5, 17), (5, 24), (5, 31), (6, 7), (6, 14),
                (6, 21), (6, 28), (7, 5)]]

    def two_days(monday):
        tue = datetime.date.fromisoformat(monday) + datetime.timedelta(1)
        return ask(d, "emp@acme.test", d.annual, monday, tue.isoformat())

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(two_days, mondays))
    codes = sorted(r.status_code for r in replies)
    assert codes == [201] * 5 + [422] * 5, [r.text for r in replies]
    assert all(r.json()["code"] == "leave_balance_exceeded"
               for r in replies if r.status_code == 422)
    b = balance(d, "emp@acme.test", d.annual)
    assert (b["pending"], b["left"]) == (10, 0)
    assert count(d, "leave_requests") == 5
    assert count(d, "audit_log", "action = 'leave_requested'") == 5


def test_weekends_and_holidays_not_counted_half_day_is_half(world):
    d = world
    d.psql("INSERT INTO holidays (org_id, date, name) VALUES ('%s', '%s',"
           " 'Founders day')" % (d.acme, NEXT_MON))
    # Fri, (Sat, Sun, holiday Mon), Tue: two working days.
    r = ask(d, "emp@acme.test", d.annual, FRI, NEXT_TUE)
    assert r.status_code == 201 and r.json()["days"] == 2, r.text
    r = ask(d, "emp@acme.test", d.annual, NEXT_WED, NEXT_WED, half_day=True)
    assert r.status_code == 201, r.text
    assert r.json()["days"] == 0.5 and r.json()["half_day"] is True
    assert balance(d, "emp@acme.test", d.annual)["pending"] == 2.5
    n = count(d, "leave_requests")
    for start, end, half in [(SAT, SUN, False), (SAT, SAT, True),
                             ("2027-03-13", "2027-03-14", False)]:
        r = ask(d, "emp2@acme.test", d.annual, start, end, half_day=half)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "start_date"
    # Only a holiday and a weekend: nothing to take either.
    r = ask(d, "emp2@acme.test", d.annual, "2027-03-06", NEXT_MON)
    assert r.status_code == 422
    assert count(d, "leave_requests") == n
    # The org's own weekend: globex rests on Friday and Saturday.
    d.psql("UPDATE orgs SET weekend_days = '{5,6}' WHERE id = '%s'" % d.globex)
    r = ask(d, "emp@globex.test", d.g_annual, THU, SUN)
    assert r.status_code == 201 and r.json()["days"] == 2, r.text


def test_manager_of_someone_else_and_requester_cannot_decide(world):
    d = world
    rid = ask(d, "emp@acme.test", d.annual, MON, TUE).json()["id"]
    # mgr2 manages emp2, not emp: the request does not exist for them.
    for verb in ("approve", "reject", "cancel"):
        r = d.post("/api/v1/leave/requests/%s/%s" % (rid, verb),
                   headers=d.h["mgr2@acme.test"])
        assert r.status_code == 404, (verb, r.text)
    assert d.get("/api/v1/leave/requests/" + rid,
                 headers=d.h["mgr2@acme.test"]).status_code == 404
    assert d.get("/api/v1/leave/requests/" + rid,
                 headers=d.h["emp2@acme.test"]).status_code == 404
    r = d.get("/api/v1/leave/balances?user_id=" + d.ids["emp@acme.test"],
              headers=d.h["mgr2@acme.test"])
    assert r.status_code == 404
    r = d.get("/api/v1/leave/requests?user_id=" + d.ids["emp@acme.test"],
              headers=d.h["mgr2@acme.test"])
    assert r.status_code == 404
    # The requester sees it but decides nothing about it.
    assert d.get("/api/v1/leave/requests/" + rid,
                 headers=d.h["emp@acme.test"]).status_code == 200
    r = d.post("/api/v1/leave/requests/%s/approve" % rid,
               headers=d.h["emp@acme.test"])
    assert r.status_code == 403
    # Their manager and the admin see it; only the requester cancels.
    assert d.get("/api/v1/leave/requests/" + rid,
                 headers=d.h["mgr@acme.test"]).status_code == 200
    r = d.post("/api/v1/leave/requests/%s/cancel" % rid,
               headers=d.h["admin@acme.test"])
    assert r.status_code == 403
    assert count(d, "leave_requests", "status = 'pending'") == 1
    assert count(d, "audit_log", "action LIKE 'leave_%' AND action <>"
                 " 'leave_requested' AND action <> 'leave_type_created'") == 0
    # An admin asking for leave is not their own approver.
    aid = ask(d, "admin@acme.test", d.annual, MON, MON).json()["id"]
    assert d.post("/api/v1/leave/requests/%s/approve" % aid,
                  headers=d.h["admin@acme.test"]).status_code == 403
    # Lists: a manager sees their reports' requests, not others'.
    ask(d, "emp2@acme.test", d.annual, MON, MON)
    items = d.get("/api/v1/leave/requests", headers=d.h["mgr@acme.test"]
                  ).json()["items"]
    assert [i["id"] for i in items] == [rid]
    items = d.get("/api/v1/leave/requests", headers=d.h["emp2@acme.test"]
                  ).json()["items"]
    assert [i["user_id"] for i in items] == [d.ids["emp2@acme.test"]]
    r = d.get("/api/v1/leave/requests?status=pending&user_id="
              + d.ids["emp@acme.test"], headers=d.h["admin@acme.test"])
    assert [i["id"] for i in r.json()["items"]] == [rid]
    assert len(d.get("/api/v1/leave/requests?status=approved",
                     headers=d.h["admin@acme.test"]).json()["items"]) == 0
    assert len(d.get("/api/v1/leave/requests", headers=d.h["admin@acme.test"]
                     ).json()["items"]) == 3


def test_cross_tenant_ids_are_404(world):
    d = world
    rid = ask(d, "emp@acme.test", d.annual, MON, TUE).json()["id"]
    g = d.h["admin@globex.test"]
    assert d.get("/api/v1/leave/requests/" + rid, headers=g).status_code == 404
    for verb in ("approve", "reject", "cancel"):
        r = d.post("/api/v1/leave/requests/%s/%s" % (rid, verb), headers=g)
        assert r.status_code == 404, verb
    r = d.get("/api/v1/leave/balances?user_id=" + d.ids["emp@acme.test"],
              headers=g)
    assert r.status_code == 404
    r = d.get("/api/v1/leave/requests?user_id=" + d.ids["emp@acme.test"],
              headers=g)
    assert r.status_code == 404
    assert d.get("/api/v1/leave/requests", headers=g).json()["items"] == []
    # Another org's type is no type of yours.
    n = count(d, "leave_requests")
    r = ask(d, "emp@globex.test", d.annual, MON, TUE)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "type_id"
    assert count(d, "leave_requests") == n
    assert count(d, "leave_requests", "status = 'pending'") == 1
    for path in ("/api/v1/leave/requests/%s" % uuid.uuid4(),
                 "/api/v1/leave/requests/not-an-id"):
        assert d.get(path, headers=g).status_code == 404


def test_bad_input_is_a_clear_4xx_and_writes_nothing(world):
    d = world
    def written():
        return (count(d, "leave_requests"), count(d, "jobs"),
                count(d, "audit_log", "action LIKE 'leave%'"))
    before = written()
    ok = dict(type_id=d.annual, start_date=MON, end_date=TUE)
    cases = [
        (dict(ok, start_date="2026-02-30"), "start_date"),
        (dict(ok, start_date="2026-13-01"), "start_date"),
        (dict(ok, start_date="2026-13"), "start_date"),
        (dict(ok, end_date="2027-3-2"), "end_date"),
        (dict(ok, end_date="02.03.2027"), "end_date"),
        (dict(ok, start_date=20270301), "start_date"),
        (dict(ok, start_date=TUE, end_date=MON), "end_date"),
        (dict(ok, start_date="2027-01-01", end_date="2028-01-02"), "end_date"),
        (dict(ok, half_day=True), "half_day"),
        (dict(ok, half_day="yes"), "half_day"),
        (dict(ok, type_id=str(uuid.uuid4())), "type_id"),
        (dict(ok, type_id="annual"), "type_id"),
        (dict(ok, reason="x" * 1001), "reason"),
        ({"start_date": MON, "end_date": TUE}, "type_id"),
        ({"type_id": d.annual, "end_date": TUE}, "start_date"),
    ]
    for payload, field in cases:
        r = d.post("/api/v1/leave/requests", headers=d.h["emp@acme.test"],
                   json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert r.json()["errors"][0]["field"] == field, (payload, r.text)
    # A leap day is a real date; 2027-02-29 is not.
    r = d.post("/api/v1/leave/requests", headers=d.h["emp@acme.test"],
               json=dict(ok, start_date="2027-02-29", end_date="2027-03-01"))
    assert r.status_code == 422
    for q, field in [("status=done", "status"), ("user_id=me", "user_id"),
                     ("limit=0", "limit")]:
        r = d.get("/api/v1/leave/requests?" + q, headers=d.h["emp@acme.test"])
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    for q in ("year=abc", "year=20270", "year=-1"):
        r = d.get("/api/v1/leave/balances?" + q, headers=d.h["emp@acme.test"])
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "year"
    r = d.post("/api/v1/leave/requests", data="{",
               headers=dict(d.h["emp@acme.test"],
                            **{"Content-Type": "application/json"}))
    assert r.status_code == 400
    # Wrong roles: no token, a superadmin (no org, no leave), a non-admin
    # making types.
    assert d.post("/api/v1/leave/requests", json=ok).status_code == 401
    add_person(d, "root@example.test", "superadmin", None)
    r = d.post("/api/v1/leave/requests", json=ok,
               headers=token(d, "root@example.test"))
    assert r.status_code == 403
    r = d.post("/api/v1/leave/types", headers=d.h["mgr@acme.test"],
               json={"name": "Extra", "days_per_year": 3})
    assert r.status_code == 403
    assert written() == before
    assert count(d, "leave_types") == 3


def test_digest_cli_mails_admins_their_pending_requests(world):
    d = world
    add_person(d, "admin2@acme.test", "admin", "acme")
    ask(d, "emp@acme.test", d.annual, MON, TUE)
    ask(d, "emp2@acme.test", d.unpaid, WED, WED)
    decided = ask(d, "intern@acme.test", d.annual, THU, THU).json()["id"]
    d.post("/api/v1/leave/requests/%s/approve" % decided,
           headers=d.h["admin@acme.test"])
    ask(d, "emp@globex.test", d.g_annual, MON, MON)
    digest = "payload->>'subject' LIKE '%leave request(s) waiting'"
    r = d.cli("leave", "digest", "--org", "acme")
    assert "2 mail(s) queued" in r.stdout, r.stdout
    assert count(d, "jobs", digest) == 2
    for admin in ("admin@acme.test", "admin2@acme.test"):
        m = wait_mail(d, admin, "ACME: 2 leave request(s) waiting")
        text = body(m)
        assert "emp: Annual, %s to %s" % (MON, TUE) in text, text
        assert "emp2: Unpaid" in text and "intern" not in text
    # Every org: globex's admin gets theirs too.
    r = d.cli("leave", "digest")
    assert "3 mail(s) queued for 2 organisation(s)" in r.stdout, r.stdout
    m = wait_mail(d, "admin@globex.test", "GLOBEX: 1 leave request(s)")
    assert "acme" not in body(m).lower()
    r = d.cli("leave", "digest", "--org", "nosuch", check=False)
    assert r.returncode == 1 and "nosuch" in r.stderr
    assert d.cli("leave", "digest", "--bogus", check=False).returncode == 2
    assert d.cli("leave", check=False).returncode == 2
