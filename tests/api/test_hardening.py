"""What the outside probe of issue 13 found, each as a test against the real
daemon: invalid UTF-8 in parameters, the brute-force defence, slow clients,
idempotent mail, and the smaller findings (blank names, unknown methods,
non-canonical signatures, expired tokens)."""
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
