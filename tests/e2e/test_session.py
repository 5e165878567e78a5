"""401 -> one refresh -> retry; a failed refresh returns to sign-in
(issue 10)."""
from conftest import PW, add_user, make_org


TTL = 30  # the shortest access token the configuration allows


def test_expired_access_token_refreshes_once_dead_session_signs_out(make_daemon, browser):
    d = make_daemon(auth_access_ttl=TTL)
    make_org(d, "acme", "Acme Works")
    emma = add_user(d, "emma@acme.test", "employee", "acme", "Emma Employee")
    out = browser(d, "session.mjs", email="emma@acme.test", password=PW, ttl=TTL,
                  new_password="Emma-s other passw0rd!")
    assert out["after"].count("401 /api/v1/attendance/check-out") == 1, out
    assert d.psql("SELECT string_agg(kind, ',') FROM attendance_events WHERE user_id = '%s'" % emma) == "in"
