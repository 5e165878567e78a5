"""What the outside probe of issue 13 found, each as a test against the real
daemon: invalid UTF-8 in parameters, the brute-force defence, slow clients,
idempotent mail, and the smaller findings (blank names, unknown methods,
non-canonical signatures, expired tokens)."""
import time

import pytest
import requests

from test_users import PW, add_user, make_org, token

API = "/api/v1"


@pytest.fixture
def acme(daemon):
    """A daemon with org acme, its admin ada, and ada's bearer header."""
    make_org(daemon, "acme")
    add_user(daemon, "ada@acme.example", "admin", "acme")
    daemon.auth = token(daemon, "ada@acme.example")
    return daemon


# ---- finding 1: invalid UTF-8 reaches no SQL --------------------------------

@pytest.mark.parametrize("path,field", [
    ("/api/v1/users?q=%ff%fe", "q"),
    ("/api/v1/users?role=admin&q=ok%c3", "q"),
    ("/api/v1/reports/monthly?month=2026-11&org=%ff", "org"),
    ("/prod/companyrequesthandler?param1=Monthly&param2=October%202018"
     "&param3=%ff", "param3"),
    ("/api/v1/users/%ff%fe", "id"),
])
def test_invalid_utf8_in_a_parameter_is_400_naming_it(acme, path, field):
    r = acme.get(path, headers=acme.auth)
    assert r.status_code == 400, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "malformed_query"
    assert body["errors"] == [{"field": field,
                               "message": "must be valid UTF-8 text"}]
    assert '"%s"' % field in body["detail"]


def test_valid_utf8_in_a_parameter_still_works(acme):
    r = acme.get("/api/v1/users?q=%C3%98deg%C3%A5rd", headers=acme.auth)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("raw", [
    b'{"email": "\xff@acme.example", "password": "x"}',
    b'{"email": "ada@acme.example", "password": "ab\xed\xa0\x80"}',
    b'{"email": "ada@acme.example", "password": "\\udc00 lone"}',
])
def test_invalid_utf8_in_a_json_body_is_400(acme, raw):
    r = acme.post(API + "/auth/login", data=raw,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "malformed_json"


# ---- findings 2 and 3: the brute-force defence ------------------------------

class SourceAdapter(requests.adapters.HTTPAdapter):
    """Connects from a chosen local address: Linux routes all of 127/8 to
    lo, so 127.0.0.2 and 127.0.0.3 are two clients the daemon tells apart
    by their socket peer."""

    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kw)


def client(d, source):
    s = requests.Session()
    s.mount("http://", SourceAdapter(source))
    s.base = d.url
    return s


def sign_in(s, email, password=PW, **kw):
    return s.post(s.base + API + "/auth/login", timeout=10,
                  json={"email": email, "password": password, **kw.pop(
                      "extra", {})}, **kw)


def failures(d, key):
    v = d.psql("SELECT failures FROM login_failures WHERE key = '%s'" % key)
    return int(v) if v else 0


@pytest.fixture
def office(make_daemon):
    d = make_daemon()
    make_org(d, "acme")
    for who in ("ada", "bob"):
        add_user(d, "%s@acme.example" % who, "employee", "acme")
    return d


def test_an_office_behind_one_nat_is_never_locked_out(office):
    nat = client(office, "127.0.0.2")
    codes = [sign_in(nat, "nobody%d@acme.example" % i, "wrong guess").
             status_code for i in range(20)]
    assert codes == [401] * 19 + [429], codes    # the address is locked
    assert failures(office, "ip:127.0.0.2") == 20
    # a colleague whom this address has not been failing signs in
    r = sign_in(nat, "bob@acme.example")
    assert r.status_code == 200, r.text
    # and so does one more, after yet more failures from the address
    assert sign_in(nat, "nobody0@acme.example", "x").status_code == 429
    assert sign_in(nat, "ada@acme.example").status_code == 200


def test_guessing_a_chosen_account_does_not_lock_its_owner(office):
    attacker = client(office, "127.0.0.2")
    codes = [sign_in(attacker, "ada@acme.example", "guess %d" % i).
             status_code for i in range(5)]
    assert codes == [401] * 4 + [429], codes
    # the owner, from another address, with the right password
    owner = client(office, "127.0.0.3")
    r = sign_in(owner, "ada@acme.example")
    assert r.status_code == 200, r.text
    # even once the e-mail itself is locked (4 x 5 failures from elsewhere)
    for src in ("127.0.0.4", "127.0.0.5", "127.0.0.6"):
        c = client(office, src)
        for i in range(5):
            sign_in(c, "ada@acme.example", "guess %d" % i)
    assert failures(office, "email:ada@acme.example") == 20
    assert office.psql("SELECT locked_until > now() FROM login_failures "
                       "WHERE key = 'email:ada@acme.example'") == "t"
    assert sign_in(owner, "ada@acme.example").status_code == 200
    # the attacker's address stays locked for ada, right password or not
    assert sign_in(attacker, "ada@acme.example").status_code == 429


def test_a_device_with_a_live_refresh_token_is_trusted(office):
    nat = client(office, "127.0.0.2")
    r = sign_in(nat, "ada@acme.example", extra={"cookie": True})
    assert r.status_code == 200
    cookie = r.cookies["rollcall_refresh"]
    # someone behind the same NAT guesses ada's password until it locks
    stranger = client(office, "127.0.0.2")
    for i in range(5):
        sign_in(stranger, "ada@acme.example", "guess %d" % i)
    assert sign_in(stranger, "ada@acme.example").status_code == 429
    # ada's browser, holding its refresh cookie, still gets in
    r = sign_in(nat, "ada@acme.example",
                headers={"Cookie": "rollcall_refresh=" + cookie})
    assert r.status_code == 200, r.text
    # a refresh token of someone else, or a made-up one, trusts nothing
    r = sign_in(stranger, "ada@acme.example",
                headers={"Cookie": "rollcall_refresh=" + "x" * 43})
    assert r.status_code == 429
    bob = sign_in(client(office, "127.0.0.3"), "bob@acme.example",
                  extra={"cookie": True}).cookies["rollcall_refresh"]
    r = sign_in(stranger, "ada@acme.example",
                headers={"Cookie": "rollcall_refresh=" + bob})
    assert r.status_code == 429


def test_guessing_from_one_address_is_bounded_with_growing_delays(
        make_daemon):
    d = make_daemon(auth_login_delay_seconds=30, auth_login_lock_seconds=100)
    make_org(d, "acme")
    add_user(d, "ada@acme.example", "employee", "acme")
    a = client(d, "127.0.0.2")
    pair = "email:ada@acme.example|ip:127.0.0.2"
    waits = []
    for i in range(4):
        assert sign_in(a, "ada@acme.example", "guess %d" % i).status_code \
            == 401
    for i in range(4):
        r = sign_in(a, "ada@acme.example", "again %d" % i)
        assert r.status_code == 429
        waits.append(int(r.headers["Retry-After"]))
        # while locked nothing is checked or counted, right password or not
        n = failures(d, pair)
        assert sign_in(a, "ada@acme.example").status_code == 429
        assert sign_in(a, "ada@acme.example", "more").status_code == 429
        assert failures(d, pair) == n
        d.psql("UPDATE login_failures SET locked_until = now() - "
               "interval '1 second' WHERE key = '%s'" % pair)
    # 30 s, doubling per failure, capped at auth.login_lock_seconds
    assert all(e - 1 <= w <= e for w, e in zip(waits, [30, 60, 100, 100])), \
        waits
    # spraying other accounts from the address: each new one gets one
    # guess, then the address's lock stops it too
    for i in range(20):
        sign_in(a, "spray%d@acme.example" % i, "guess")
    assert d.psql("SELECT locked_until > now() FROM login_failures WHERE "
                  "key = 'ip:127.0.0.2'") == "t"
    n = failures(d, "ip:127.0.0.2")
    assert sign_in(a, "spray0@acme.example", "guess").status_code == 429
    assert failures(d, "ip:127.0.0.2") == n


def test_forgotten_failure_counters_are_purged(office):
    """A spray of e-mails and addresses leaves a row per key: the jobs
    worker deletes each once it counts as zero (24 h without a failure)
    and its lock has passed, at start and then once a minute."""
    d = office
    a = client(d, "127.0.0.2")
    for i in range(3):
        assert sign_in(a, "ada@acme.example", "guess %d" % i).status_code \
            == 401
    live = set(d.psql("SELECT key FROM login_failures").split())
    assert "email:ada@acme.example|ip:127.0.0.2" in live
    d.psql("INSERT INTO login_failures (key, failures, locked_until,"
           " updated_at) VALUES"
           " ('ip:192.0.2.1', 3, NULL, now() - interval '25 hours'),"
           " ('email:x@acme.example', 30, now() - interval '24 hours',"
           "  now() - interval '24 hours 1 minute'),"
           " ('ip:192.0.2.2', 7, NULL, now() - interval '23 hours'),"
           " ('ip:192.0.2.3', 40, now() + interval '1 hour',"
           "  now() - interval '25 hours')")
    d.restart()
    kept = live | {"ip:192.0.2.2", "ip:192.0.2.3"}
    deadline = time.monotonic() + 15
    while set(d.psql("SELECT key FROM login_failures").split()) != kept:
        assert time.monotonic() < deadline, d.psql(
            "SELECT key FROM login_failures")
        time.sleep(0.1)
    assert any("forgotten sign-in failure counter(s)" in l.get("msg", "")
               for l in d.log_lines()), d.log_lines()[-5:]
    # What is kept still counts: the address's pair fails on from 3.
    a.base = d.url
    assert failures(d, "email:ada@acme.example|ip:127.0.0.2") == 3
    assert sign_in(a, "ada@acme.example", "guess 4").status_code == 401
    assert failures(d, "email:ada@acme.example|ip:127.0.0.2") == 4


# ---- finding 6: the smaller ones --------------------------------------------

def raw_request(d, data, timeout=5):
    import socket
    with socket.create_connection(("127.0.0.1", d.port), timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                m = [l for l in head.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")]
                if m and len(body) >= int(m[0].split(b":")[1]):
                    break
        return out


@pytest.mark.parametrize("method", [b"FOO", b"TRACE", b"CONNECT", b"BREW"])
def test_an_unknown_method_gets_problem_json_501(daemon, method):
    import json
    out = raw_request(daemon, method + b" / HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 0\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501 "), head
    assert b"content-type: application/problem+json" in head.lower()
    p = json.loads(body)
    assert p["status"] == 501 and p["code"] == "not_implemented"
    # the daemon still serves
    assert daemon.get("/healthz").status_code == 200


@pytest.mark.parametrize("name", [" ", "     ", "\u00a0\u3000 ", "\u2003"])
def test_a_name_of_only_spaces_is_refused(acme, name):
    users = acme.psql("SELECT count(*) FROM users")
    r = acme.post(API + "/users", headers=acme.auth, json={
        "email": "new@acme.example", "name": name, "role": "employee",
        "send_credentials": False})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0] == {"field": "name",
                                     "message": "must not be blank"}
    assert acme.psql("SELECT count(*) FROM users") == users
    r = acme.post(API + "/orgs/%s/holidays" % acme.psql(
        "SELECT id FROM orgs WHERE slug = 'acme'"), headers=acme.auth,
        json={"date": "2026-12-25", "name": name})
    assert r.status_code == 422, r.text
    # a name with spaces around words is fine
    r = acme.post(API + "/users", headers=acme.auth, json={
        "email": "new@acme.example", "name": " Ada  Lovelace ",
        "role": "employee", "send_credentials": False})
    assert r.status_code == 201, r.text


# ECDSA malleability and exp, with tokens signed by the daemon's own key
# (test_tokens.py's ctx: the key from keys_dir, a control token accepted).
from test_tokens import (P256_N, assert_refused, b64u, ctx,  # noqa: E402,F401
                         es256, fresh_claims, me, unb64u)


def with_s(token, s):
    head, _, sig = token.rpartition(".")
    raw = unb64u(sig)
    return head + "." + b64u(raw[:32] + s.to_bytes(32, "big"))


def test_a_high_s_signature_is_refused(ctx):
    for _ in range(16):
        tok = es256(ctx.key, ctx.header, fresh_claims(ctx))
        s = int.from_bytes(unb64u(tok.rpartition(".")[2])[32:], "big")
        low, high = min(s, P256_N - s), max(s, P256_N - s)
        # the same signature in both forms: only the low-s one passes
        assert me(ctx, with_s(tok, low)).status_code == 200
        assert_refused(ctx, with_s(tok, high))
    # and the daemon's own tokens are all low-s (OpenSSL makes either)
    for _ in range(16):
        r = ctx.d.post(API + "/auth/login", json={
            "email": "ada@acme.example", "password": "correct horse battery"})
        s = int.from_bytes(unb64u(r.json()["access_token"].rpartition(".")[2])
                           [32:], "big")
        assert s <= P256_N // 2


def test_a_token_is_refused_from_the_second_its_exp_names(ctx):
    import time
    now = int(time.time())
    for exp in (now - 1, now):
        assert_refused(ctx, es256(ctx.key, ctx.header,
                                  fresh_claims(ctx, iat=now - 60, exp=exp)))
    ok = es256(ctx.key, ctx.header, fresh_claims(ctx, iat=now - 60,
                                                 exp=now + 3))
    assert me(ctx, ok).status_code == 200
    # the verified-token cache must not outlive exp either
    time.sleep(max(0, now + 3 - time.time()) + 0.1)
    assert_refused(ctx, ok)


# ---- finding 5: slow clients ------------------------------------------------

def closed_after(sock, drip, interval=1.0, limit=30):
    """Sends drip one byte per interval until the server closes; returns the
    seconds it took, or None if it was still open after limit seconds."""
    import errno
    import socket
    import time
    start = time.monotonic()
    sock.setblocking(False)
    for b in drip:
        if time.monotonic() - start > limit:
            return None
        try:
            if sock.recv(1024) == b"":
                return time.monotonic() - start
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return time.monotonic() - start
        try:
            sock.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        except OSError as e:
            if e.errno not in (errno.EAGAIN,):
                return time.monotonic() - start
        time.sleep(interval)
    return None


def test_headers_one_byte_a_second_are_cut_at_header_timeout(make_daemon):
    import socket
    d = make_daemon(server_header_timeout=3, server_idle_timeout=60)
    s = socket.create_connection(("127.0.0.1", d.port))
    took = closed_after(s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                        b"X-Slow: " + b"a" * 100, limit=15)
    s.close()
    assert took is not None, "still open after 15 s"
    assert 2.5 <= took <= 6, took
    assert d.get("/healthz").status_code == 200


def test_a_body_below_min_body_rate_is_cut(make_daemon):
    import socket
    d = make_daemon(server_header_timeout=2, server_min_body_rate=100)
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"POST /api/v1/test/echo HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 5000\r\n"
              b"\r\n")
    took = closed_after(s, b"[" * 5000, interval=0.2, limit=15)
    s.close()
    assert took is not None, "still open after 15 s"
    assert 1.5 <= took <= 6, took


def test_idle_keep_alive_and_steady_clients_are_not_cut(make_daemon):
    import socket
    import time
    d = make_daemon(server_header_timeout=2, server_min_body_rate=100)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(req)
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    time.sleep(4)       # idle between requests: idle_timeout's business
    s.sendall(req)
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    # a body that keeps above the rate, past the grace, gets its answer
    body = b'{"k": "' + b"v" * 1200 + b'"}'
    s.sendall(b"POST /api/v1/test/echo HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body))
    for i in range(0, len(body), 100):
        s.sendall(body[i:i + 100])
        time.sleep(0.25)        # 400 bytes/s for 3 s
    out = b""
    while b"\r\n\r\n" not in out or not out.endswith(b"}"):
        out += s.recv(65536)
    assert out.startswith(b"HTTP/1.1 200"), out[:100]
    s.close()


# ---- finding 4: a redelivered job is the same message ------------------------

def _crash_after_delivery(d, jid):
    """The row as a kill -9 between delivery and commit leaves it: the mail
    is out, the job still pending (attempts as before)."""
    d.psql("UPDATE jobs SET state = 'pending', run_at = now(), done_at = "
           "NULL, attempts = 0 WHERE id = '%s'" % jid)


LEAVE_MAIL = {"to": ["boss@example.com"], "subject": "Leave request",
              "text": "Ada asks for 3 days."}


def test_a_redelivered_job_replaces_its_spool_file(make_daemon):
    import email
    import email.policy
    import glob
    import os
    from test_jobs import insert_job, wait_job
    d = make_daemon(mail_smtp_url="", mail_from="rollcall@acme.example")
    spool = os.path.join(d.tmp, "spool")
    jid = insert_job(d, LEAVE_MAIL)
    hexid = jid.replace("-", "")
    wait_job(d, jid, lambda r: r["state"] == "done")
    for _ in range(2):
        _crash_after_delivery(d, jid)
        wait_job(d, jid, lambda r: r["state"] == "done")
    files = glob.glob(os.path.join(spool, "*"))
    assert [os.path.basename(f) for f in files] == [hexid + ".eml"]
    with open(files[0], "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    assert m["Message-ID"] == "<%s@acme.example>" % hexid
    # another job is another message
    jid2 = insert_job(d, LEAVE_MAIL)
    wait_job(d, jid2, lambda r: r["state"] == "done")
    assert len(glob.glob(os.path.join(spool, "*.eml"))) == 2


def test_a_redelivered_job_keeps_its_message_id_over_smtp(make_daemon, smtp):
    from test_jobs import insert_job, wait_job
    d = make_daemon(mail_smtp_url=smtp.url, mail_from="rollcall@acme.example")
    jid = insert_job(d, LEAVE_MAIL)
    wait_job(d, jid, lambda r: r["state"] == "done")
    _crash_after_delivery(d, jid)
    wait_job(d, jid, lambda r: r["state"] == "done")
    msgs = smtp.wait(2)
    ids = {m["Message-ID"] for m in msgs}
    # SMTP itself delivers twice; the receiver sees one Message-ID
    assert ids == {"<%s@acme.example>" % jid.replace("-", "")}, ids


# ---- key rotation ------------------------------------------------------------

def test_key_rotation_across_a_reload(ctx, tmp_path):
    import glob
    import json
    import os
    import signal
    import time
    from test_tokens import _node_verify
    d = ctx.d
    keys_dir = os.path.join(d.tmp, "keys")

    def sign_in():
        r = d.post(API + "/auth/login", json={
            "email": "ada@acme.example", "password": "correct horse battery"})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def kid(tok):
        return json.loads(unb64u(tok.split(".")[0]))["kid"]

    def jose_ok(tok):
        f = tmp_path / "jwks.json"
        f.write_text(json.dumps(d.get("/.well-known/jwks.json").json()))
        return _node_verify(str(f), tok, "rollcall").returncode == 0

    def reload(want_kids):
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            kids = {k["kid"] for k in
                    d.get("/.well-known/jwks.json").json()["keys"]}
            if kids == want_kids:
                return
            time.sleep(0.1)
        raise AssertionError("JWKS never became %r" % want_kids)

    old = sign_in()
    old_kid = kid(old)
    r = d.cli("keys", "rotate")
    new_kid = r.stdout.split()[3]
    assert new_kid != old_kid and len(glob.glob(keys_dir + "/*.pem")) == 2
    # nothing changes until serve reloads
    assert kid(sign_in()) == old_kid
    reload({old_kid, new_kid})
    new = sign_in()
    assert kid(new) == new_kid
    # both verify, here and in jose against the JWKS
    for tok in (old, new):
        assert me(ctx, tok).status_code == 200
        assert jose_ok(tok)
    # prune keeps the old key while its tokens may live (access_ttl)
    assert "0 key(s) pruned" in d.cli("keys", "prune").stdout
    assert len(glob.glob(keys_dir + "/*.pem")) == 2
    # ... and retires it once the new key has signed for longer
    newest = sorted(glob.glob(keys_dir + "/*.pem"))[-1]
    past = time.time() - 900 - 3600 - 5
    os.utime(newest, (past, past))
    assert "1 key(s) pruned" in d.cli("keys", "prune").stdout
    reload({new_kid})
    assert_refused(ctx, old)
    assert not jose_ok(old)
    assert me(ctx, new).status_code == 200 and jose_ok(new)
    assert kid(sign_in()) == new_kid
    # the newest key is never pruned
    os.utime(newest, (past, past))
    assert "0 key(s) pruned" in d.cli("keys", "prune", "--grace",
                                      "0").stdout
    assert d.cli("keys", "bogus", check=False).returncode == 2
