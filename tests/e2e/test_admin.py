"""An admin's screens in the browser (issue 10): a person added there gets
the mail at the SMTP sink and signs in with it; org settings, holidays,
leave types and kiosks made there are what the database holds."""
import hashlib
import re
import urllib.parse

from conftest import PW, add_user


def temp_password(msg):
    body = msg.get_body(preferencelist=("plain",)).get_content()
    m = re.search(r"[Tt]emporary password:\s*(\S+)", body)
    assert m, body
    return m.group(1)


def test_admin_screens_and_the_added_person_signs_in(office, browser):
    d = office
    add_user(d, "leaver@acme.test", "employee", "acme", "Lee Leaver")
    out = browser(d, "admin.mjs", admin="admin@acme.test", password=PW,
                  new_email="newbie@acme.test", new_name="Nora Newbie",
                  holiday="2026-12-24")
    # The mail to the new person arrived; they sign in with it.
    msgs = [m for m in d.smtp.wait(2) if m["To"].lower().endswith("newbie@acme.test")]
    assert msgs, [m["To"] for m in d.smtp.messages()]
    temp = temp_password(msgs[0])
    wrong = d.post("/api/v1/auth/login", json={"email": "newbie@acme.test", "password": "x" * 12}).json()["detail"]
    browser(d, "signin.mjs", email="newbie@acme.test", temp=temp,
            new_password="Nora-s own passw0rd!", wrong_message=wrong)
    assert d.psql("SELECT role || ',' || (SELECT email FROM users m WHERE m.id = u.manager_id)"
                  " FROM users u WHERE email = 'newbie@acme.test'") == "employee,boss@acme.test"
    assert d.psql("SELECT role FROM users WHERE email = 'emma@acme.test'") == "intern"
    assert d.psql("SELECT status FROM users WHERE email = 'leaver@acme.test'") == "disabled"
    assert d.psql("SELECT late_after_minutes || ',' || timezone FROM orgs WHERE slug = 'acme'") == "15,Europe/Paris"
    assert d.psql("SELECT name FROM holidays WHERE date = '2026-12-24'") == "Founders day"
    assert d.psql("SELECT days_per_year::int FROM leave_types WHERE name = 'Sick'") == "10"
    tok = urllib.parse.unquote(out["link"].split("#token=")[1])
    assert d.psql("SELECT name FROM kiosks WHERE token_hash = decode('%s', 'hex')"
                  % hashlib.sha256(tok.encode()).hexdigest()) == "Front door"
    assert "user_created" in out["actions"], out["actions"]
