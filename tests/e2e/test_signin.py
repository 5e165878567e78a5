"""Sign-in in the browser (issue 10): forced change of a temporary
password, the server's message on a wrong password, the session kept across
a reload by the HttpOnly refresh cookie only, sign-out."""

def test_temporary_password_forced_change_then_home(office, browser):
    d = office
    r = d.post("/api/v1/users", headers=d.admin, json={
        "email": "new@acme.test", "name": "Nina New", "role": "employee",
        "send_credentials": False})
    assert r.status_code == 201, r.text
    temp = r.json()["temporary_password"]
    wrong = d.post("/api/v1/auth/login", json={"email": "new@acme.test", "password": "nope-nope-nope"})
    assert wrong.status_code == 401
    out = browser(d, "signin.mjs", email="new@acme.test", temp=temp,
                  new_password="Nina-s own passw0rd!", wrong_message=wrong.json()["detail"])
    # The new password works, the temporary one no longer does.
    assert d.post("/api/v1/auth/login", json={"email": "new@acme.test", "password": "Nina-s own passw0rd!"}).status_code == 200
    assert d.post("/api/v1/auth/login", json={"email": "new@acme.test", "password": temp}).status_code == 401
    assert d.psql("SELECT must_change_password FROM users WHERE email = 'new@acme.test'") == "f"
    # The refresh token is an HttpOnly, SameSite=Strict cookie; nothing in web storage.
    assert out["cookie"] == {"httpOnly": True, "sameSite": "Strict", "path": "/api/v1/auth"}
    assert "rollcall" not in out["stored"] and "token" not in out["stored"]
    # Everything the app runs: at most 150 KB of JavaScript, all from here.
    assert 10000 < out["js_bytes"] <= 150 * 1000, out["scripts"]
    assert any("/vendor/htm/preact/standalone.module.js" in u for u in out["scripts"])
    assert all(u.startswith(d.url + "/") for u in out["scripts"])
