"""The camera for real (issue 10): Chromium's fake capture device plays a
.y4m made at test time from an LFW photo. The admin enrols a person from
the camera; in a face-required org the person checks in through the
camera; a kiosk fed with their other photo punches them in and greets them
by name; a stranger's photo is "Not recognised"."""
from conftest import PW, face

PERSON, STRANGER = "Jennifer_Aniston", "Fidel_Castro"


def test_enrol_checkin_and_kiosk_through_the_camera(office, browser, camera):
    d = office
    r = d.patch("/api/v1/orgs/" + d.org_id, headers=d.admin, json={"face_required": True})
    assert r.status_code == 200, r.text
    emma = d.psql("SELECT id FROM users WHERE email = 'emma@acme.test'")

    out = browser(d, "camera.mjs", mode="enrol", y4m=camera(PERSON, 1),
                  admin="admin@acme.test", password=PW, person="Emma Employee")
    assert d.psql("SELECT count(*) FROM face_templates WHERE user_id = '%s'" % emma) == "1", out

    # A kiosk (paired by its link) does not know a stranger's face.
    k = d.post("/api/v1/kiosks", headers=d.admin, json={"name": "Front door"}).json()
    link = d.url + "/kiosk#token=" + k["token"]
    out = browser(d, "camera.mjs", mode="kiosk", y4m=camera(STRANGER, 1), link=link,
                  org_name="Acme Works", expect="Not recognised", shot="kiosk-not-recognised",
                  offline=True)
    assert out["offline"].startswith("Offline: retrying in")
    assert d.psql("SELECT count(*) FROM attendance_events") == "0"

    out = browser(d, "camera.mjs", mode="checkin", y4m=camera(PERSON, 2),
                  email="emma@acme.test", password=PW)
    assert d.psql("SELECT kind || ',' || source || ',' || (picture_id IS NOT NULL)"
                  " FROM attendance_events WHERE user_id = '%s'" % emma) == "in,web,true"

    # Out again, so the kiosk punches her in.
    h = {"Authorization": "Bearer " + d.post("/api/v1/auth/login", json={
        "email": "emma@acme.test", "password": PW}).json()["access_token"]}
    assert d.post("/api/v1/attendance/check-out", headers=h, json={}).status_code == 201
    out = browser(d, "camera.mjs", mode="kiosk", y4m=camera(PERSON, 3), link=link,
                  org_name="Acme Works", expect="Welcome", shot="kiosk-welcome",
                  pattern=r"^Welcome, Emma Employee — in at \d\d:\d\d$")
    assert d.psql("SELECT string_agg(kind || ':' || source, ',' ORDER BY at) FROM attendance_events"
                  " WHERE user_id = '%s'" % emma) == "in:web,out:web,in:kiosk"



def test_enrol_from_a_photo_file_then_delete_it(office, browser):
    d = office
    emma = d.psql("SELECT id FROM users WHERE email = 'emma@acme.test'")
    out = browser(d, "photo.mjs", mode="enrol", admin="admin@acme.test", password=PW,
                  person="Emma Employee", photo=face(PERSON, 1))
    assert out["listed"] == 1
    assert d.psql("SELECT count(*) FROM face_templates WHERE user_id = '%s'" % emma) == "0"


def test_check_in_with_a_photo_file_where_there_is_no_camera(office, browser):
    d = office
    assert d.patch("/api/v1/orgs/" + d.org_id, headers=d.admin,
                   json={"face_required": True}).status_code == 200
    emma = d.psql("SELECT id FROM users WHERE email = 'emma@acme.test'")
    with open(face(PERSON, 1), "rb") as f:
        r = d.post("/api/v1/users/%s/faces" % emma, headers=dict(d.admin, **{"Content-Type": "image/jpeg"}),
                   data=f.read())
    assert r.status_code == 201, r.text
    browser(d, "photo.mjs", mode="checkin", email="emma@acme.test", password=PW, photo=face(PERSON, 2))
    assert d.psql("SELECT kind || ',' || (picture_id IS NOT NULL) FROM attendance_events"
                  " WHERE user_id = '%s'" % emma) == "in,true"
