"""The browser's refresh token in an HttpOnly cookie (issue 10): login and
refresh with "cookie": true set it instead of returning it, refresh and
logout read it when the body has no refresh_token, logout clears it, a
form-encoded or typeless cross-site POST with the cookie is refused, and
clients that do not ask for the cookie see nothing change."""
import re

import pytest

from test_auth import API, PASSWORD, NEW_PASSWORD, add_user, bearer, login, \
    make_org

COOKIE = "rollcall_refresh"


@pytest.fixture
def ada(daemon):
    make_org(daemon)
    add_user(daemon, "ada@acme.example", role="employee")
    return daemon


def set_cookie(r):
    h = r.headers.get("Set-Cookie")
    assert h is not None, r.headers
    m = re.match(COOKIE + r"=([^;]*); (.*)$", h)
    assert m, h
    attrs = [a.strip() for a in m.group(2).split(";")]
    return m.group(1), attrs


def cookie_login(d, email="ada@acme.example", password=PASSWORD):
    r = d.post(API + "/auth/login", json={"email": email,
                                           "password": password,
                                           "cookie": True})
    assert r.status_code == 200, r.text
    return r


def test_login_with_cookie_sets_it_and_hides_the_token(ada):
    r = cookie_login(ada)
    body = r.json()
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer" and body["access_token"]
    tok, attrs = set_cookie(r)
    assert len(tok) == 43
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs
    assert "Path=/api/v1/auth" in attrs
    assert "Max-Age=%d" % (30 * 86400) in attrs
    assert "Secure" not in attrs            # public_url is http here
    assert r.headers["Cache-Control"] == "no-store"
    assert ada.get(API + "/me", headers=bearer(body["access_token"])).ok


def test_refresh_and_logout_with_the_cookie(ada):
    tok, _ = set_cookie(cookie_login(ada))
    # The cookie alone (a JSON body without refresh_token) refreshes and
    # rotates: the reply sets the successor and shows no token.
    r = ada.post(API + "/auth/refresh", json={},
                 headers={"Cookie": "theme=dark; %s=%s" % (COOKIE, tok)})
    assert r.status_code == 200, r.text
    assert "refresh_token" not in r.json()
    tok2, attrs = set_cookie(r)
    assert tok2 != tok and "HttpOnly" in attrs
    # The old one is used now: coming back, it revokes the family.
    r = ada.post(API + "/auth/refresh", json={},
                 headers={"Cookie": "%s=%s" % (COOKIE, tok)})
    assert r.status_code == 401
    r = ada.post(API + "/auth/refresh", json={},
                 headers={"Cookie": "%s=%s" % (COOKIE, tok2)})
    assert r.status_code == 401
    # Logout with the cookie revokes it and clears it.
    tok3, _ = set_cookie(cookie_login(ada))
    r = ada.post(API + "/auth/logout", json={},
                 headers={"Cookie": "%s=%s" % (COOKIE, tok3)})
    assert r.status_code == 204
    value, attrs = set_cookie(r)
    assert value == "" and "Max-Age=0" in attrs
    r = ada.post(API + "/auth/refresh", json={},
                 headers={"Cookie": "%s=%s" % (COOKIE, tok3)})
    assert r.status_code == 401


def test_a_session_of_requests_keeps_the_cookie_by_itself(ada):
    """What a browser does: the cookie jar sends it back on /api/v1/auth."""
    import requests
    s = requests.Session()
    r = s.post(ada.url + API + "/auth/login", json={
        "email": "ada@acme.example", "password": PASSWORD, "cookie": True})
    assert r.status_code == 200 and COOKIE in s.cookies
    for _ in range(2):
        r = s.post(ada.url + API + "/auth/refresh", json={})
        assert r.status_code == 200, r.text
        assert ada.get(API + "/me", headers=bearer(
            r.json()["access_token"])).ok
    assert s.post(ada.url + API + "/auth/logout", json={}).status_code == 204
    assert COOKIE not in s.cookies
    assert s.post(ada.url + API + "/auth/refresh", json={}).status_code == 422


def test_cross_site_forms_with_the_cookie_are_refused(ada):
    tok, _ = set_cookie(cookie_login(ada))
    jar = {"Cookie": "%s=%s" % (COOKIE, tok)}
    # What an HTML form can send: urlencoded, multipart, text/plain, or an
    # empty body. None of them reaches the token.
    for headers, data in [
            ({"Content-Type": "application/x-www-form-urlencoded"}, "a=1"),
            ({"Content-Type": "application/x-www-form-urlencoded"}, ""),
            ({"Content-Type": "text/plain"}, "{}"),
            ({"Content-Type": "multipart/form-data; boundary=x"},
             "--x--\r\n"),
            ({}, "")]:
        for route in ("/auth/refresh", "/auth/logout"):
            r = ada.post(API + route, data=data, headers=dict(jar, **headers))
            assert r.status_code == 415, (route, headers, r.text)
            assert "Set-Cookie" not in r.headers
    # The token still works: nothing was rotated or revoked.
    r = ada.post(API + "/auth/refresh", json={}, headers=jar)
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


def test_clients_without_the_cookie_see_no_change(ada):
    r = login(ada, "ada@acme.example")
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    rt = r.json()["refresh_token"]
    r = ada.post(API + "/auth/refresh", json={"refresh_token": rt})
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    rt2 = r.json()["refresh_token"]
    # No token anywhere: the same 422 as always.
    r = ada.post(API + "/auth/refresh", json={})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "refresh_token"
    assert ada.post(API + "/auth/logout", json={}).status_code == 422
    r = ada.post(API + "/auth/logout", json={"refresh_token": rt2})
    assert r.status_code == 204 and "Set-Cookie" not in r.headers
    # A body token wins over a cookie; asking for the cookie on refresh
    # moves a body-token session to the cookie.
    rt3 = login(ada, "ada@acme.example").json()["refresh_token"]
    r = ada.post(API + "/auth/refresh", json={"refresh_token": rt3,
                                              "cookie": True},
                 headers={"Cookie": COOKIE + "=junk"})
    assert r.status_code == 200 and "refresh_token" not in r.json()
    set_cookie(r)
    r = ada.post(API + "/auth/login", json={
        "email": "ada@acme.example", "password": PASSWORD, "cookie": "yes"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cookie"


def test_secure_cookie_behind_https(make_daemon):
    d = make_daemon(server_public_url="https://rollcall.example")
    make_org(d)
    add_user(d, "ada@acme.example", role="employee")
    _, attrs = set_cookie(cookie_login(d))
    assert "Secure" in attrs


def test_first_login_with_the_cookie(ada):
    """The app's first-login flow: sign in, change the temporary password
    (which ends every session), sign in again."""
    ada.psql("UPDATE users SET must_change_password = true")
    r = cookie_login(ada)
    body = r.json()
    assert body["user"]["must_change_password"] is True
    acc = body["access_token"]
    r = ada.get(API + "/attendance/days", headers=bearer(acc))
    assert r.status_code == 403
    assert r.json()["code"] == "password_change_required"
    r = ada.post(API + "/auth/password/change", headers=bearer(acc), json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204
    tok, _ = set_cookie(r) if "Set-Cookie" in r.headers else (None, None)
    assert tok is None
    r = cookie_login(ada, password=NEW_PASSWORD)
    assert r.json()["user"]["must_change_password"] is False
    assert ada.get(API + "/attendance/days", headers=bearer(
        r.json()["access_token"])).status_code == 200
