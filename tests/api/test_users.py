"""People of an organisation (issue 3): the admin pre-sign-up flow with the
credentials mail, listing, updates, disabling, re-sent credentials, the
tenant rule and bad input."""
import re
import uuid

import pytest

PW = "a-long-Passw0rd-for-tests"


def login(d, email, password):
    return d.post("/api/v1/auth/login", json={"email": email, "password": password})


def token(d, email, password=PW):
    r = login(d, email, password)
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def make_org(d, slug):
    return d.psql("INSERT INTO orgs (name, slug) VALUES ('%s', '%s') RETURNING id"
                  % (slug.upper(), slug))


def add_user(d, email, role, org=None, password=PW):
    args = ["user", "add", "--email", email, "--name", email.split("@")[0],
            "--role", role]
    if org:
        args += ["--org", org]
    d.cli(*args, input=password + "\n")
    return d.psql("SELECT id FROM users WHERE email = '%s'" % email)


def count(d, table, where="true"):
    return int(d.psql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


@pytest.fixture
def world(make_daemon, smtp):
    """Two orgs with an admin each, a daemon that mails through smtp."""
    d = make_daemon(mail_smtp_url=smtp.url)
    make_org(d, "acme")
    make_org(d, "globex")
    add_user(d, "admin@acme.test", "admin", "acme")
    add_user(d, "admin@globex.test", "admin", "globex")
    d.smtp = smtp
    d.a = token(d, "admin@acme.test")
    d.b = token(d, "admin@globex.test")
    return d


def temp_password_from(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = re.search(r"[Tt]emporary password:\s*(\S+)", body)
    assert m, body
    return m.group(1)


def test_admin_creates_intern_who_is_mailed_and_must_change(world):
    d = world
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "Intern@Acme.test", "name": "Ina Intern", "role": "intern"})
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["role"] == "intern" and user["must_change_password"] is True
    assert "temporary_password" not in user and "password_hash" not in user
    msg = d.smtp.wait(1)[0]
    assert msg["To"].lower().endswith("intern@acme.test")
    temp = temp_password_from(msg)
    # Email is case-insensitive.
    r = login(d, "intern@acme.test", temp)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["must_change_password"] is True
    h = {"Authorization": "Bearer " + r.json()["access_token"]}
    r = d.get("/api/v1/users/" + user["id"], headers=h)
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    r = d.post("/api/v1/auth/password/change", headers=h, json={
        "current_password": temp, "new_password": "a-brand-new-Passw0rd"})
    assert r.status_code == 204, r.text
    assert login(d, "intern@acme.test", temp).status_code == 401
    h = token(d, "intern@acme.test", "a-brand-new-Passw0rd")
    r = d.get("/api/v1/users/" + user["id"], headers=h)
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    # The delivered job no longer holds the password.
    assert count(d, "jobs", "payload::text LIKE '%%%s%%'" % temp) == 0
    assert count(d, "audit_log", "action = 'user_created' AND target_id = '%s'"
                 " AND actor_id IS NOT NULL" % user["id"]) == 1


def test_create_without_mail_returns_the_password_once(world):
    d = world
    jobs = count(d, "jobs")
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "emp@acme.test", "name": "Em Ployee", "role": "employee",
        "send_credentials": False})
    assert r.status_code == 201, r.text
    temp = r.json()["temporary_password"]
    assert len(temp) >= 12 and count(d, "jobs") == jobs
    assert login(d, "emp@acme.test", temp).status_code == 200
    r = d.get("/api/v1/users/" + r.json()["id"], headers=d.a)
    assert "temporary_password" not in r.json()


def test_list_search_filter_and_pages(world):
    d = world
    for i in range(5):
        r = d.post("/api/v1/users", headers=d.a, json={
            "email": "p%d@acme.test" % i, "name": "Person %d" % i,
            "role": "intern" if i % 2 else "employee", "send_credentials": False})
        assert r.status_code == 201
    r = d.get("/api/v1/users", headers=d.a)
    emails = [u["email"] for u in r.json()["items"]]
    assert len(emails) == 6 and "admin@globex.test" not in emails
    assert r.json()["next_cursor"] is None
    r = d.get("/api/v1/users?role=intern", headers=d.a)
    assert {u["email"] for u in r.json()["items"]} == {"p1@acme.test", "p3@acme.test"}
    r = d.get("/api/v1/users?q=person%203", headers=d.a)
    assert [u["email"] for u in r.json()["items"]] == ["p3@acme.test"]
    r = d.get("/api/v1/users?q=%25", headers=d.a)   # a literal %, not a wildcard
    assert r.json()["items"] == []
    seen, cursor = [], None
    while True:
        r = d.get("/api/v1/users?limit=2" + ("&cursor=" + cursor if cursor else ""),
                  headers=d.a)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    for bad in ("limit=0", "limit=501", "limit=x", "cursor=abc", "cursor=" + "A" * 40,
                "role=wizard"):
        r = d.get("/api/v1/users?" + bad, headers=d.a)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == bad.split("=")[0]


def test_tenant_isolation(world):
    d = world
    r = d.post("/api/v1/users", headers=d.b, json={
        "email": "bob@globex.test", "name": "Bob", "role": "employee",
        "send_credentials": False})
    bob = r.json()["id"]
    before = count(d, "users")
    for method, path, body in (
            ("GET", "/api/v1/users/" + bob, None),
            ("PATCH", "/api/v1/users/" + bob, {"name": "Hacked"}),
            ("DELETE", "/api/v1/users/" + bob, None),
            ("POST", "/api/v1/users/%s/credentials" % bob, None)):
        r = d.req(method, path, headers=d.a, json=body)
        assert r.status_code == 404, (method, path, r.text)
    globex = d.psql("SELECT id FROM orgs WHERE slug = 'globex'")
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "spy@globex.test", "name": "Spy", "role": "employee",
        "org_id": globex})
    assert r.status_code == 404
    assert count(d, "users") == before
    assert d.psql("SELECT name || status FROM users WHERE id = '%s'" % bob) == "Bobactive"
    # A manager from another org does not qualify either.
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "x@acme.test", "name": "X", "role": "employee", "manager_id": bob})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "manager_id"
    assert count(d, "users") == before


def test_patch_role_manager_and_disable(world):
    d = world
    boss = d.post("/api/v1/users", headers=d.a, json={
        "email": "boss@acme.test", "name": "Boss", "role": "manager",
        "send_credentials": False}).json()
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "w@acme.test", "name": "Worker", "role": "intern",
        "send_credentials": False})
    w = r.json()
    d.psql("UPDATE users SET must_change_password = false WHERE id = '%s'" % w["id"])
    d.cli("user", "add", "--email", "ignored@acme.test", "--name", "I",
          "--role", "employee", "--org", "acme", input=PW + "\n")
    wt = {"Authorization": "Bearer " + login(d, "w@acme.test", w["temporary_password"])
          .json()["access_token"]}
    assert d.get("/api/v1/users/" + w["id"], headers=wt).status_code == 200
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={
        "role": "employee", "manager_id": boss["id"], "name": "Worker Two"})
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["manager_id"], r.json()["name"]) == \
        ("employee", boss["id"], "Worker Two")
    assert d.psql("SELECT detail->>'from' || '>' || (detail->>'to') FROM audit_log"
                  " WHERE action = 'role_changed'") == "intern>employee"
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={"manager_id": None})
    assert r.status_code == 200 and r.json()["manager_id"] is None
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={"manager_id": w["id"]})
    assert r.status_code == 422
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={"role": "superadmin"})
    assert r.status_code == 403
    me = d.psql("SELECT id FROM users WHERE email = 'admin@acme.test'")
    assert d.patch("/api/v1/users/" + me, headers=d.a,
                   json={"status": "disabled"}).status_code == 409
    # Disabling takes effect at once, for tokens already handed out too.
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={"status": "disabled"})
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    assert d.get("/api/v1/me", headers=wt).status_code == 401
    assert login(d, "w@acme.test", w["temporary_password"]).status_code == 401
    assert count(d, "audit_log", "action = 'user_disabled'") == 1
    r = d.patch("/api/v1/users/" + w["id"], headers=d.a, json={"status": "active"})
    assert r.status_code == 200 and count(d, "audit_log", "action = 'user_enabled'") == 1


def test_delete_disables_and_credentials_resend(world):
    d = world
    u = d.post("/api/v1/users", headers=d.a, json={
        "email": "gone@acme.test", "name": "Gone", "role": "employee"}).json()
    first = temp_password_from(d.smtp.wait(1)[0])
    r = d.post("/api/v1/users/%s/credentials" % u["id"], headers=d.a)
    assert r.status_code == 202, r.text
    msgs = d.smtp.wait(2)
    second = temp_password_from(msgs[1])
    assert second != first
    assert login(d, "gone@acme.test", first).status_code == 401
    assert login(d, "gone@acme.test", second).status_code == 200
    assert count(d, "audit_log", "action = 'credentials_sent'") == 1
    r = d.delete("/api/v1/users/" + u["id"], headers=d.a)
    assert r.status_code == 204
    assert login(d, "gone@acme.test", second).status_code == 401
    assert d.get("/api/v1/users/" + u["id"], headers=d.a).json()["status"] == "disabled"
    r = d.post("/api/v1/users/%s/credentials" % u["id"], headers=d.a)
    assert r.status_code == 404
    assert d.delete("/api/v1/users/" + str(uuid.uuid4()), headers=d.a).status_code == 404
    assert d.delete("/api/v1/users/not-a-uuid", headers=d.a).status_code == 404


def test_roles(world):
    d = world
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "e@acme.test", "name": "E", "role": "employee",
        "send_credentials": False})
    e = r.json()
    d.psql("UPDATE users SET must_change_password = false WHERE id = '%s'" % e["id"])
    et = {"Authorization": "Bearer " + login(d, "e@acme.test", e["temporary_password"])
          .json()["access_token"]}
    assert d.get("/api/v1/users/" + e["id"], headers=et).status_code == 200
    admin = d.psql("SELECT id FROM users WHERE email = 'admin@acme.test'")
    assert d.get("/api/v1/users/" + admin, headers=et).status_code == 404
    assert d.get("/api/v1/users", headers=et).status_code == 403
    assert d.post("/api/v1/users", headers=et, json={
        "email": "z@acme.test", "name": "Z", "role": "intern"}).status_code == 403
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "root2@acme.test", "name": "R", "role": "superadmin"})
    assert r.status_code == 403
    assert d.get("/api/v1/users").status_code == 401


@pytest.mark.parametrize("body,field", [
    ({"name": "N", "role": "intern"}, "email"),
    ({"email": "not-an-email", "name": "N", "role": "intern"}, "email"),
    ({"email": "a@b", "name": "N", "role": "intern"}, "email"),
    ({"email": 5, "name": "N", "role": "intern"}, "email"),
    ({"email": "x" * 250 + "@acme.test", "name": "N", "role": "intern"}, "email"),
    ({"email": "n@acme.test", "role": "intern"}, "name"),
    ({"email": "n@acme.test", "name": "N" * 201, "role": "intern"}, "name"),
    ({"email": "n@acme.test", "name": "line\nbreak", "role": "intern"}, "name"),
    ({"email": "n@acme.test", "name": "N", "role": "wizard"}, "role"),
    ({"email": "n@acme.test", "name": "N"}, "role"),
    ({"email": "n@acme.test", "name": "N", "role": "intern", "manager_id": "x"}, "manager_id"),
    ({"email": "n@acme.test", "name": "N", "role": "intern",
      "send_credentials": "yes"}, "send_credentials"),
])
def test_bad_input_writes_nothing(world, body, field):
    d = world
    users, jobs, audit = count(d, "users"), count(d, "jobs"), count(d, "audit_log")
    r = d.post("/api/v1/users", headers=d.a, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_failed"
    assert r.json()["errors"][0]["field"] == field
    assert (count(d, "users"), count(d, "jobs"), count(d, "audit_log")) == (users, jobs, audit)


def test_duplicate_email_conflicts(world):
    d = world
    r = d.post("/api/v1/users", headers=d.a, json={
        "email": "ADMIN@globex.test", "name": "Dup", "role": "intern"})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = d.post("/api/v1/users", data="{nope",
               headers=dict(d.a, **{"Content-Type": "application/json"}))
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
