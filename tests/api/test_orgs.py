"""Organisations and the audit trail (issue 3): a superadmin creates, lists,
reads and updates orgs; an admin reads and updates only their own; bad input
is refused with the field named and nothing written; GET /audit shows an
admin their own org's rows only."""
import base64
import datetime
import uuid

import pytest

PW = "a-long-Passw0rd-x"


def login(d, email, password=PW):
    return d.post("/api/v1/auth/login",
                  json={"email": email, "password": password})


def bearer(d, email):
    r = login(d, email)
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def add_user(d, email, role, org=None):
    args = ["user", "add", "--email", email, "--name", email.split("@")[0],
            "--role", role]
    if org:
        args += ["--org", org]
    d.cli(*args, input=PW + "\n")
    return d.psql("SELECT id FROM users WHERE email = '%s'" % email)


def count(d, table, where="true"):
    return int(d.psql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


def field_of(r):
    assert r.headers["Content-Type"].startswith("application/problem+json")
    return r.json()["errors"][0]["field"]


def create(d, h, **body):
    return d.post("/api/v1/orgs", json=body, headers=h)


@pytest.fixture
def sa(daemon):
    """The daemon with a superadmin signed in: daemon.sa, daemon.sa_id."""
    daemon.sa_id = add_user(daemon, "root@ops.test", "superadmin")
    daemon.sa = bearer(daemon, "root@ops.test")
    return daemon


@pytest.fixture
def world(sa):
    """Two orgs made through the API, an admin in each, an employee in A."""
    d = sa
    for slug in ("acme", "globex"):
        r = create(d, d.sa, name=slug.title(), slug=slug)
        assert r.status_code == 201, r.text
        setattr(d, slug, r.json())
    d.admin_a_id = add_user(d, "admin@acme.test", "admin", "acme")
    d.admin_b_id = add_user(d, "admin@globex.test", "admin", "globex")
    add_user(d, "emp@acme.test", "employee", "acme")
    d.a = bearer(d, "admin@acme.test")
    d.b = bearer(d, "admin@globex.test")
    d.emp = bearer(d, "emp@acme.test")
    return d


# ---- superadmin ---------------------------------------------------------

def test_create_applies_defaults_and_audits(sa):
    r = create(sa, sa.sa, name="Acme Ltd", slug="acme")
    assert r.status_code == 201, r.text
    o = r.json()
    uuid.UUID(o["id"])
    assert {k: o[k] for k in ("name", "slug", "timezone", "workday_start",
                              "workday_end", "late_after_minutes",
                              "weekend_days", "signup_domains",
                              "face_required")} == {
        "name": "Acme Ltd", "slug": "acme", "timezone": "UTC",
        "workday_start": "09:00", "workday_end": "17:00",
        "late_after_minutes": 15, "weekend_days": [6, 7],
        "signup_domains": [], "face_required": False}
    assert count(sa, "orgs", "id = '%s'" % o["id"]) == 1
    row = sa.psql("SELECT org_id, actor_id, target_id, detail->>'slug' FROM "
                  "audit_log WHERE action = 'org_created'")
    assert row == "|".join([o["id"], sa.sa_id, o["id"], "acme"])


def test_create_with_every_member(sa):
    r = create(sa, sa.sa, name="Société Générale", slug="sg-2",
               timezone="europe/paris", workday_start="08:30",
               workday_end="18:00", late_after_minutes=0,
               weekend_days=[7, 5], signup_domains=["Example.COM",
                                                    "mail.sg.fr"],
               face_required=True)
    assert r.status_code == 201, r.text
    o = r.json()
    # The zone as PostgreSQL spells it; domains stored lower-case.
    assert o["timezone"] == "Europe/Paris"
    assert (o["workday_start"], o["workday_end"]) == ("08:30", "18:00")
    assert o["late_after_minutes"] == 0
    assert o["weekend_days"] == [5, 7]
    assert o["signup_domains"] == ["example.com", "mail.sg.fr"]
    assert o["face_required"] is True
    assert sa.psql("SELECT signup_domains FROM orgs WHERE id = '%s'"
                   % o["id"]) == "{example.com,mail.sg.fr}"
    r = sa.get("/api/v1/orgs/" + o["id"], headers=sa.sa)
    assert r.status_code == 200 and r.json() == o
    # An empty weekend is allowed (seven-day operations).
    r = create(sa, sa.sa, name="Open", slug="open", weekend_days=[],
               timezone="Etc/GMT-3")
    assert r.status_code == 201, r.text
    assert r.json()["weekend_days"] == [] and \
        r.json()["timezone"] == "Etc/GMT-3"


def test_list_walks_every_org_once(sa):
    ids = set()
    for i in range(7):
        r = create(sa, sa.sa, name="Org %d" % i, slug="org-%d" % i)
        assert r.status_code == 201
        ids.add(r.json()["id"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = sa.get("/api/v1/orgs", params=params, headers=sa.sa)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert len(seen) == len(ids) == 7 and set(seen) == ids
    assert pages == 4
    r = sa.get("/api/v1/orgs", headers=sa.sa)
    assert [o["id"] for o in r.json()["items"]] == seen
    assert r.json()["next_cursor"] is None


@pytest.mark.parametrize("params,field", [
    ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
    ({"limit": "ten"}, "limit"), ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(b"2026-01-01|x").decode()
      .rstrip("=")}, "cursor"),
])
def test_list_bad_page(sa, params, field):
    r = sa.get("/api/v1/orgs", params=params, headers=sa.sa)
    assert r.status_code == 422 and field_of(r) == field


def test_superadmin_patches_and_audits_changed_fields(world):
    d, oid = world, world.acme["id"]
    r = d.patch("/api/v1/orgs/" + oid, headers=d.sa,
                json={"name": "Acme Two", "slug": "acme-two",
                      "late_after_minutes": 15, "timezone": "Asia/Kolkata",
                      "weekend_days": [5, 6]})
    assert r.status_code == 200, r.text
    o = r.json()
    assert (o["name"], o["slug"], o["timezone"], o["weekend_days"]) == (
        "Acme Two", "acme-two", "Asia/Kolkata", [5, 6])
    # Left out: unchanged.
    assert (o["workday_start"], o["workday_end"], o["face_required"]) == (
        "09:00", "17:00", False)
    # late_after_minutes was sent with its old value: not a change.
    detail = d.psql("SELECT detail FROM audit_log WHERE action = "
                    "'org_updated' AND target_id = '%s'" % oid)
    assert detail == '{"changed": ["name", "slug", "timezone", ' \
                     '"weekend_days"]}'
    # A PATCH that changes nothing records nothing.
    r = d.patch("/api/v1/orgs/" + oid, headers=d.sa, json={"name": "Acme Two"})
    assert r.status_code == 200
    assert count(d, "audit_log", "action = 'org_updated'") == 1
    r = d.patch("/api/v1/orgs/" + str(uuid.uuid4()), headers=d.sa,
                json={"name": "x"})
    assert r.status_code == 404


# ---- admins and the tenant rule -------------------------------------------

def test_admin_reads_and_patches_own_org_only(world):
    d, a, b = world, world.acme["id"], world.globex["id"]
    r = d.get("/api/v1/orgs/" + a, headers=d.a)
    assert r.status_code == 200 and r.json()["slug"] == "acme"
    r = d.patch("/api/v1/orgs/" + a, headers=d.a,
                json={"late_after_minutes": 5, "face_required": True,
                      "signup_domains": ["acme.test"], "slug": "acme"})
    assert r.status_code == 200, r.text
    assert r.json()["late_after_minutes"] == 5
    assert d.psql("SELECT late_after_minutes, face_required FROM orgs WHERE "
                  "id = '%s'" % a) == "5|t"
    before_b = d.get("/api/v1/orgs/" + b, headers=d.sa).json()
    for method in ("get", "patch"):
        for oid in (b, str(uuid.uuid4()), "not-a-uuid"):
            r = getattr(d, method)("/api/v1/orgs/" + oid, headers=d.a,
                                   json={"name": "Taken"})
            assert r.status_code == 404, (method, oid, r.text)
            assert r.json()["code"] == "not_found"
    assert d.get("/api/v1/orgs/" + b, headers=d.sa).json() == before_b
    # Only a superadmin renames the slug.
    r = d.patch("/api/v1/orgs/" + a, headers=d.a, json={"slug": "acme-new"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert d.psql("SELECT slug FROM orgs WHERE id = '%s'" % a) == "acme"
    r = create(d, d.a, name="Mine", slug="mine")
    assert r.status_code == 403
    assert d.get("/api/v1/orgs", headers=d.a).status_code == 403
    assert count(d, "orgs") == 2


def test_other_roles_refused(world):
    d, a = world, world.acme["id"]
    assert d.get("/api/v1/orgs/" + a, headers=d.emp).status_code == 403
    assert d.patch("/api/v1/orgs/" + a, headers=d.emp,
                   json={"name": "x"}).status_code == 403
    assert create(d, d.emp, name="x", slug="xx").status_code == 403
    assert d.get("/api/v1/orgs", headers=d.emp).status_code == 403
    assert d.get("/api/v1/audit", headers=d.emp).status_code == 403
    assert d.get("/api/v1/orgs/" + a).status_code == 401
    assert d.get("/api/v1/audit").status_code == 401
    assert d.psql("SELECT name FROM orgs WHERE id = '%s'" % a) == "Acme"


# ---- bad input ---------------------------------------------------------

BAD = [
    ({"slug": "A-Upper"}, "slug"), ({"slug": "-dash"}, "slug"),
    ({"slug": "x"}, "slug"), ({"slug": "a" * 64}, "slug"),
    ({"slug": "sp ace"}, "slug"), ({"slug": 12}, "slug"),
    ({"name": ""}, "name"), ({"name": "n" * 201}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "XYZ+3"}, "timezone"), ({"timezone": "PST"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"), ({"timezone": "5"}, "timezone"),
    ({"workday_start": "25:00"}, "workday_start"),
    ({"workday_end": "12:60"}, "workday_end"),
    ({"workday_start": "9:00"}, "workday_start"),
    ({"workday_start": "18:00", "workday_end": "08:00"}, "workday_end"),
    ({"workday_start": "09:00", "workday_end": "09:00"}, "workday_end"),
    ({"workday_start": "18:00"}, "workday_end"),  # after the default end
    ({"late_after_minutes": -1}, "late_after_minutes"),
    ({"late_after_minutes": 1441}, "late_after_minutes"),
    ({"late_after_minutes": "15"}, "late_after_minutes"),
    ({"late_after_minutes": 1.5}, "late_after_minutes"),
    ({"weekend_days": [0]}, "weekend_days"),
    ({"weekend_days": [8]}, "weekend_days"),
    ({"weekend_days": ["x"]}, "weekend_days"),
    ({"weekend_days": [6, 6]}, "weekend_days"),
    ({"weekend_days": 6}, "weekend_days"),
    ({"signup_domains": ["not a domain"]}, "signup_domains"),
    ({"signup_domains": ["example"]}, "signup_domains"),
    ({"signup_domains": ["a.com", "A.com"]}, "signup_domains"),
    ({"signup_domains": ["d%d.test" % i for i in range(51)]},
     "signup_domains"),
    ({"signup_domains": "a.com"}, "signup_domains"),
    ({"face_required": "yes"}, "face_required"),
]


@pytest.mark.parametrize("bad,field", BAD)
def test_create_refuses_bad_input(sa, bad, field):
    orgs, audit = count(sa, "orgs"), count(sa, "audit_log")
    body = dict({"name": "Good", "slug": "good"}, **bad)
    r = create(sa, sa.sa, **body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_failed" and field_of(r) == field
    assert (count(sa, "orgs"), count(sa, "audit_log")) == (orgs, audit)


def test_create_requires_name_and_slug(sa):
    assert field_of(create(sa, sa.sa, slug="good")) == "name"
    assert field_of(create(sa, sa.sa, name="Good")) == "slug"
    assert count(sa, "orgs") == 0


def test_duplicate_slug_conflicts(world):
    d = world
    audit = count(d, "audit_log")
    r = create(d, d.sa, name="Again", slug="acme")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = d.patch("/api/v1/orgs/" + d.globex["id"], headers=d.sa,
                json={"slug": "acme"})
    assert r.status_code == 409
    assert count(d, "orgs") == 2 and count(d, "audit_log") == audit
    assert d.psql("SELECT slug FROM orgs WHERE id = '%s'"
                  % d.globex["id"]) == "globex"


@pytest.mark.parametrize("bad,field", BAD + [
    ({"name": None}, "name"), ({"weekend_days": None}, "weekend_days"),
    ({"timezone": None}, "timezone")])
def test_patch_refuses_bad_input(world, bad, field):
    d, oid = world, world.acme["id"]
    before = d.get("/api/v1/orgs/" + oid, headers=d.sa).json()
    audit = count(d, "audit_log")
    r = d.patch("/api/v1/orgs/" + oid, headers=d.sa, json=bad)
    assert r.status_code == 422, r.text
    assert field_of(r) == field
    assert d.get("/api/v1/orgs/" + oid, headers=d.sa).json() == before
    assert count(d, "audit_log") == audit


def test_patch_checks_times_against_stored_ones(world):
    d, oid = world, world.acme["id"]
    # 18:00 alone would start after the stored 17:00 end.
    r = d.patch("/api/v1/orgs/" + oid, headers=d.a,
                json={"workday_start": "18:00", "name": "Changed"})
    assert r.status_code == 422 and field_of(r) == "workday_end"
    assert d.psql("SELECT name, workday_start FROM orgs WHERE id = '%s'"
                  % oid) == "Acme|09:00:00"
    r = d.patch("/api/v1/orgs/" + oid, headers=d.a,
                json={"workday_end": "20:00"})
    assert r.status_code == 200
    r = d.patch("/api/v1/orgs/" + oid, headers=d.a,
                json={"workday_start": "18:00"})
    assert r.status_code == 200 and r.json()["workday_start"] == "18:00"


# ---- audit -------------------------------------------------------------

def audit(d, h, **params):
    return d.get("/api/v1/audit", params=params, headers=h)


def test_superadmin_sees_org_changes(world):
    d, oid = world, world.acme["id"]
    assert d.patch("/api/v1/orgs/" + oid, headers=d.sa,
                   json={"face_required": True}).status_code == 200
    r = audit(d, d.sa)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    mine = [i for i in items if i["target_id"] == oid and
            i["action"].startswith("org_")]
    # Newest first.
    assert [i["action"] for i in mine] == ["org_updated", "org_created"]
    up = mine[0]
    assert up["actor_id"] == d.sa_id and up["org_id"] == oid
    assert up["detail"] == {"changed": ["face_required"]}
    assert up["client"] == "127.0.0.1" and up["request_id"]
    assert isinstance(up["id"], int)
    datetime.datetime.strptime(up["at"], "%Y-%m-%dT%H:%M:%SZ")
    # Every row, including the superadmin's own sign-in (no org).
    assert len(items) == count(d, "audit_log")
    assert any(i["action"] == "login_ok" and i["org_id"] is None
               for i in items)
    r = audit(d, d.sa, org_id=d.globex["id"])
    assert r.status_code == 200
    got = r.json()["items"]
    assert got and {i["org_id"] for i in got} == {d.globex["id"]}
    assert len(got) == count(d, "audit_log", "org_id = '%s'"
                             % d.globex["id"])
    assert field_of(audit(d, d.sa, org_id="nope")) == "org_id"


def test_admin_sees_only_own_org(world):
    d, a, b = world, world.acme["id"], world.globex["id"]
    assert login(d, "admin@globex.test", "wrong-password-1").status_code == 401
    assert d.patch("/api/v1/orgs/" + b, headers=d.b,
                   json={"late_after_minutes": 30}).status_code == 200
    assert count(d, "audit_log", "org_id = '%s' AND action = 'login_failed'"
                 % b) == 1
    for params in ({}, {"org_id": b}):
        r = audit(d, d.a, **params)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items and {i["org_id"] for i in items} == {a}
        assert len(items) == count(d, "audit_log", "org_id = '%s'" % a)
        assert not any(i["action"] == "login_failed" for i in items)
    r = audit(d, d.b)
    actions = [i["action"] for i in r.json()["items"]]
    assert "login_failed" in actions and "org_updated" in actions


def test_audit_range_and_pages(world):
    d, a = world, world.acme["id"]
    total = count(d, "audit_log", "org_id = '%s'" % a)
    assert total >= 3
    # The days (UTC, the org's zone) of the first and the last row.
    first, last = d.psql(
        "SELECT to_char(min(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '|' ||"
        " to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM audit_log"
        " WHERE org_id = '%s'" % a).split("|")
    r = audit(d, d.a, **{"from": first, "to": last})
    assert r.status_code == 200 and len(r.json()["items"]) == total
    # Dates are whole days: the day before holds none of them.
    yday = (datetime.date.fromisoformat(first) -
            datetime.timedelta(days=1)).isoformat()
    r = audit(d, d.a, **{"from": yday, "to": yday})
    assert r.status_code == 200 and r.json()["items"] == []
    future = (datetime.datetime.now(datetime.timezone.utc) +
              datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = audit(d, d.a, **{"from": future})
    assert r.status_code == 200 and r.json()["items"] == []
    r = audit(d, d.a, **{"from": "2020-01-01T00:00:00+02:00",
                         "to": "2020-06-01T00:00:00.5-03:30"})
    assert r.status_code == 200 and r.json()["items"] == []
    seen, cursor = [], None
    for _ in range(total + 2):
        params = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = audit(d, d.a, **params).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)  # newest first


@pytest.mark.parametrize("params,field", [
    ({"from": "yesterday"}, "from"), ({"from": "2026-02-30"}, "from"),
    ({"to": "2026-13-01"}, "to"), ({"to": "2026-01-01T25:00:00Z"}, "to"),
    ({"from": "2026-01-01T10:00:00"}, "from"),  # no offset
    ({"from": "2026-01-02", "to": "2026-01-01"}, "to"),
    ({"from": "2026-01-01T10:00:00Z", "to": "2026-01-01T09:59:59Z"}, "to"),
    ({"from": "2024-01-01", "to": "2025-06-01"}, "to"),
    ({"from": "2001-01-01"}, "from"),  # to is now: far too long
    ({"limit": "0"}, "limit"), ({"cursor": "AAAA"}, "cursor"),
    ({"cursor": base64.urlsafe_b64encode(
        b"2026-01-01T00:00:00.000000Z|1x").decode().rstrip("=")}, "cursor"),
])
def test_audit_bad_query(world, params, field):
    r = audit(world, world.a, **params)
    assert r.status_code == 422, r.text
    assert field_of(r) == field


def test_audit_range_limit_is_inclusive(world):
    # 2024 is a leap year: 366 whole days is the most allowed.
    r = audit(world, world.a, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert r.status_code == 200, r.text
    r = audit(world, world.a, **{"from": "2024-01-01", "to": "2025-01-01"})
    assert r.status_code == 422 and field_of(r) == "to"


def test_audit_dates_are_in_the_orgs_zone(world):
    d, a = world, world.acme["id"]
    # UTC+14: its calendar day is never that of UTC-12 (26 hours apart).
    r = d.patch("/api/v1/orgs/" + a, headers=d.a,
                json={"timezone": "Etc/GMT-14"})
    assert r.status_code == 200 and r.json()["timezone"] == "Etc/GMT-14"
    newest = int(d.psql("SELECT max(id) FROM audit_log WHERE org_id = '%s'"
                        % a))
    now = datetime.datetime.now(datetime.timezone.utc)
    east = (now + datetime.timedelta(hours=14)).date().isoformat()
    west = (now - datetime.timedelta(hours=12)).date().isoformat()
    ids = [i["id"] for i in audit(d, d.a, **{"from": east, "to": east})
           .json()["items"]]
    assert newest in ids
    ids = [i["id"] for i in audit(d, d.a, **{"from": west, "to": west})
           .json()["items"]]
    assert newest not in ids
