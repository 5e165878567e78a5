"""The principal cache with two daemons on one database: B caches a
principal, a change made through A (or straight in the database) reaches B
by NOTIFY within 1 s; with the LISTEN connection gone B reads every
request's users row, and caches again once it is back."""
import json
import os
import re
import time
import uuid

import pytest
import requests

from test_tokens import b64u, es256, unb64u

API = "/api/v1"
PW = "correct horse battery staple"
LIMIT = 1.0		# seconds a change may take to reach the other daemon
LISTENER = "rollcall listen rollcall_principals"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def login(d, email):
    r = d.post(API + "/auth/login", json={"email": email, "password": PW})
    assert r.status_code == 200, r.text
    return r.json()


def metric(d, name, labels=""):
    text = d.get("/metrics").text
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)),
                  text, re.M)
    assert m, name
    return float(m.group(1))


def hits(d):
    return metric(d, "rollcall_principal_cache_lookups_total",
                  '{result="hit"}')


def listening(d):
    return metric(d, "rollcall_principal_cache_listening") == 1


def wait_until(pred, timeout=10, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def get(d, path, tok):
    """GET over d's one kept-alive connection: one loop thread, one cache
    (d.get opens a new connection, which may land on the other loop)."""
    if not hasattr(d, "session"):
        d.session = requests.Session()
    return d.session.get(d.url + path, headers=bearer(tok), timeout=10)


def cached_ok(d, path, tok):
    """path answers 200 on d, and soon from d's cache (the first request
    fills it; a NOTIFY of an earlier change may still drop it once)."""
    for _ in range(20):
        before = hits(d)
        r = get(d, path, tok)
        assert r.status_code == 200, r.text
        if hits(d) > before:
            return r
        time.sleep(0.05)
    raise AssertionError("the principal was never served from the cache")


def refused_within(d, path, tok, status, limit=LIMIT):
    """Polls d until path answers status; returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        r = get(d, path, tok)
        took = time.monotonic() - t0
        if r.status_code == status:
            return took
        assert r.status_code == 200, r.text
        assert took < limit, "still %d after %.2f s" % (r.status_code, took)
        time.sleep(0.01)


@pytest.fixture
def pair(make_daemon):
    a = make_daemon()
    b = make_daemon(dbname=a.dbname,
                    auth_keys_dir=os.path.join(a.tmp, "keys"))
    a.psql("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme')")
    a.ids = {}
    for name, role in (("ada", "admin"), ("bob", "admin"),
                       ("eve", "employee"), ("ian", "intern")):
        a.cli("user", "add", "--email", name + "@acme.example", "--name",
              name.title(), "--role", role, "--org", "acme", input=PW + "\n")
        a.ids[name] = a.psql("SELECT id FROM users WHERE email = '%s'"
                             "" % (name + "@acme.example"))
    a.admin = bearer(login(a, "ada@acme.example")["access_token"])
    assert wait_until(lambda: listening(a) and listening(b))
    return a, b


def test_disable_through_a_reaches_b(pair):
    a, b = pair
    tok = login(b, "eve@acme.example")["access_token"]
    cached_ok(b, API + "/me", tok)
    r = a.patch(API + "/users/%s" % a.ids["eve"], headers=a.admin,
                json={"status": "disabled"})
    assert r.status_code == 200, r.text
    took = refused_within(b, API + "/me", tok, 401)
    print("disable reached B in %.3f s" % took)
    assert get(b, API + "/me", tok).json()["code"] == \
        "unauthorized"


def test_role_change_through_a_reaches_b(pair):
    a, b = pair
    tok = login(b, "bob@acme.example")["access_token"]
    cached_ok(b, API + "/test/admin", tok)
    r = a.patch(API + "/users/%s" % a.ids["bob"], headers=a.admin,
                json={"role": "employee"})
    assert r.status_code == 200, r.text
    took = refused_within(b, API + "/test/admin", tok, 403)
    print("demotion reached B in %.3f s" % took)
    # the same token, now an employee's: /me says so, from B's cache again
    assert cached_ok(b, API + "/me", tok).json()["role"] == "employee"


def test_promotion_and_rename_reach_b(pair):
    a, b = pair
    tok = login(b, "ian@acme.example")["access_token"]
    assert get(b, API + "/test/admin", tok).status_code == 403
    cached_ok(b, API + "/me", tok)
    r = a.patch(API + "/users/%s" % a.ids["ian"], headers=a.admin,
                json={"role": "admin", "name": "Ian Renamed",
                      "manager_id": a.ids["ada"]})
    assert r.status_code == 200, r.text
    want = {"role": "admin", "name": "Ian Renamed",
            "manager_id": a.ids["ada"]}

    def current():
        me = get(b, API + "/me", tok).json()
        return {k: me[k] for k in want}
    assert wait_until(lambda: current() == want, timeout=LIMIT)
    assert get(b, API + "/test/admin", tok).status_code == 200


def test_credentials_reset_through_a_reaches_b(pair):
    a, b = pair
    tok = login(b, "eve@acme.example")["access_token"]
    cached_ok(b, API + "/me", tok)
    r = a.post(API + "/users/%s/credentials" % a.ids["eve"], headers=a.admin)
    assert r.status_code == 202, r.text
    took = refused_within(b, API + "/me", tok, 401)
    print("new credentials reached B in %.3f s" % took)


def test_token_version_bump_in_the_database_reaches_both(pair):
    a, b = pair
    tok = login(a, "eve@acme.example")["access_token"]
    cached_ok(a, API + "/me", tok)
    cached_ok(b, API + "/me", tok)
    a.psql("UPDATE users SET token_version = token_version + 1"
           " WHERE id = '%s'" % a.ids["eve"])
    refused_within(a, API + "/me", tok, 401)
    refused_within(b, API + "/me", tok, 401)


def test_logout_through_a_ends_that_session_on_b(pair):
    a, b = pair
    one = login(a, "eve@acme.example")
    two = login(a, "eve@acme.example")
    for s in (one, two):
        claims = json.loads(unb64u(s["access_token"].split(".")[1]))
        uuid.UUID(claims["sid"])
    cached_ok(b, API + "/me", one["access_token"])
    cached_ok(b, API + "/me", two["access_token"])
    r = a.post(API + "/auth/logout", json={"refresh_token":
                                           one["refresh_token"]})
    assert r.status_code == 204
    took = refused_within(b, API + "/me", one["access_token"], 401)
    print("logout reached B in %.3f s" % took)
    # the other session lives on, on both daemons; A refused at once
    assert get(a, API + "/me", one["access_token"]) \
        .status_code == 401
    for d in (a, b):
        assert get(d, API + "/me", two["access_token"]) \
            .status_code == 200
    # a refreshed token keeps its family's sid, and dies with its logout
    r = a.post(API + "/auth/refresh", json={"refresh_token":
                                            two["refresh_token"]})
    assert r.status_code == 200, r.text
    three = r.json()
    sid = lambda t: json.loads(unb64u(t.split(".")[1]))["sid"]  # noqa: E731
    assert sid(three["access_token"]) == sid(two["access_token"])
    cached_ok(b, API + "/me", three["access_token"])
    assert a.post(API + "/auth/logout", json={
        "refresh_token": three["refresh_token"]}).status_code == 204
    refused_within(b, API + "/me", three["access_token"], 401)
    refused_within(b, API + "/me", two["access_token"], 401, limit=0.1)


def _key(d):
    from cryptography.hazmat.primitives import serialization
    import glob
    pems = glob.glob(os.path.join(d.tmp, "keys", "*.pem"))
    with open(pems[0], "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def test_tokens_without_sid_work_and_bad_sids_are_refused(pair):
    a, b = pair
    s = login(a, "eve@acme.example")
    h, p, _ = s["access_token"].split(".")
    header, claims = json.loads(unb64u(h)), json.loads(unb64u(p))
    key = _key(a)

    def forged(**changes):
        c = dict(claims, jti=b64u(os.urandom(16)))
        c.update(changes)
        return es256(key, header, {k: v for k, v in c.items()
                                   if v is not None})

    old = forged(sid=None)		# minted before sessions existed
    assert a.post(API + "/auth/logout", json={
        "refresh_token": s["refresh_token"]}).status_code == 204
    for d in (a, b):
        assert cached_ok(d, API + "/me", old).json()["id"] == a.ids["eve"]
        for bad in (str(uuid.uuid4()), "not-a-uuid", "", 7,
                    claims["sid"]):
            r = get(d, API + "/me", forged(sid=bad))
            assert r.status_code == 401, (bad, r.text)
    # a sid of another user's live family does not do either
    other = login(a, "ian@acme.example")
    osid = json.loads(unb64u(other["access_token"].split(".")[1]))["sid"]
    assert get(b, API + "/me", forged(sid=osid)) \
        .status_code == 401


def _kill_listeners(a):
    return int(a.pg.psql("postgres", "SELECT count(pg_terminate_backend(pid))"
                         " FROM pg_stat_activity WHERE datname = '%s' AND"
                         " application_name = '%s'" % (a.dbname, LISTENER)))


def test_listener_lost_bypasses_then_caches_again(pair):
    a, b = pair
    tok = login(b, "eve@acme.example")["access_token"]
    name = lambda: get(b, API + "/me", tok).json()["name"]  # noqa
    # Without the trigger nobody tells B: its cached principal stays,
    # which shows B caches and that the NOTIFY is what keeps it true.
    a.psql("ALTER TABLE users DISABLE TRIGGER users_principal_changed")
    cached_ok(b, API + "/me", tok)
    a.psql("UPDATE users SET name = 'Stale' WHERE id = '%s'" % a.ids["eve"])
    time.sleep(0.3)
    assert name() == "Eve"
    # Listener gone and kept away: B reads the row for every request.
    a.pg.psql("postgres", "ALTER DATABASE %s ALLOW_CONNECTIONS false"
              "" % a.dbname)
    try:
        assert _kill_listeners(a) == 2
        assert wait_until(lambda: not listening(b), timeout=2)
        assert name() == "Stale"
        before = hits(b)
        r = a.patch(API + "/users/%s" % a.ids["eve"], headers=a.admin,
                    json={"name": "While Down"})
        assert r.status_code == 200, r.text
        assert name() == "While Down"
        r = a.patch(API + "/users/%s" % a.ids["eve"], headers=a.admin,
                    json={"status": "disabled"})
        assert r.status_code == 200, r.text
        assert get(b, API + "/me", tok).status_code == 401
        assert a.patch(API + "/users/%s" % a.ids["eve"], headers=a.admin,
                       json={"status": "active"}).status_code == 200
        assert hits(b) == before, "B served from its cache while deaf"
    finally:
        a.pg.psql("postgres", "ALTER DATABASE %s ALLOW_CONNECTIONS true"
                  "" % a.dbname)
    # Back (the backoff is at most 2 s): caching again, fresh.
    assert wait_until(lambda: listening(a) and listening(b), timeout=5)
    tok = login(b, "eve@acme.example")["access_token"]	# re-enabled: tv+1
    assert cached_ok(b, API + "/me", tok).json()["name"] == "While Down"
    a.psql("UPDATE users SET name = 'Stale Again' WHERE id = '%s'"
           % a.ids["eve"])
    time.sleep(0.3)
    assert name() == "While Down"
    a.psql("ALTER TABLE users ENABLE TRIGGER users_principal_changed")
    a.psql("UPDATE users SET name = 'Told' WHERE id = '%s'" % a.ids["eve"])
    assert wait_until(lambda: name() == "Told", timeout=LIMIT)
