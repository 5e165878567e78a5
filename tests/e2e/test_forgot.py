"""Forgot / reset with the mailed code, and sign-in plus check-in done
with the keyboard alone (issue 10)."""
from conftest import PW


def test_reset_with_the_mailed_code_then_keyboard_only_sign_in(office, browser):
    d = office
    out = browser(d, "forgot.mjs", email="emma@acme.test", new_password="Emma-s new passw0rd!",
                  mail_dir=d.smtp.dir)
    assert out["wrong"]
    assert d.post("/api/v1/auth/login", json={"email": "emma@acme.test", "password": PW}).status_code == 401
    assert d.psql("SELECT count(*) FROM attendance_events WHERE source = 'web'") == "1"
