"""Faces (issue 5, items 4-6): enrol, list and delete a person's faces,
verify (1:1) and identify (1:N, through the per-org gallery, kept fresh by
LISTEN/NOTIFY across daemons), the per-org threshold, face-gated check-in
and the privacy rules (deleting a face or a user erases templates, picture
rows and blob files). Real photos from ../shared/data/faces: orl/ people
for the matching tests (tight crops; upscaled x2 so the default 40 px
minimum face is comfortably met)."""
import io
import os
import time

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT
from test_users import add_user, make_org, token

FACES = os.path.join(ROOT, "..", "shared", "data", "faces")
# Chosen from a run of every orl/ person: these three rank themselves
# first by a clear margin with three enrolled photos.
A, B, C = "s14", "s15", "s07"
ENROL = ("01", "02", "03")
PROBE = "06"


def photo(person, n, scale=2):
    """An orl/ photo as PNG bytes (the upload takes no PGM)."""
    im = Image.open(os.path.join(FACES, "orl", person, n + ".pgm"))
    im = im.resize((im.width * scale, im.height * scale))
    return encode(im)


def encode(im, fmt="PNG"):
    b = io.BytesIO()
    im.save(b, fmt)
    return b.getvalue()


def two_faces():
    """Two different people side by side, the same size."""
    a = Image.open(os.path.join(FACES, "orl", A, "01.pgm"))
    b = Image.open(os.path.join(FACES, "orl", B, "01.pgm"))
    im = Image.new("L", (a.width * 2 + 20, a.height), 0)
    im.paste(a, (0, 0))
    im.paste(b, (a.width + 20, 0))
    return encode(im.resize((im.width * 2, im.height * 2)))


def no_face():
    im = Image.new("RGB", (320, 240))
    draw = ImageDraw.Draw(im)
    for x in range(320):
        draw.line([(x, 0), (x, 239)], fill=(x * 255 // 319, 80, 160))
    return encode(im)


def img(h, ctype="image/png"):
    return dict(h, **{"Content-Type": ctype})


def count(d, table, where="true"):
    return int(d.psql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


def blob_path(d, key):
    return os.path.join(d.tmp, "blobs", key[:2], key[2:4], key)


def wait_until(cond, timeout=10.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def enrol(d, h, user, person, photos=ENROL):
    ids = []
    for n in photos:
        r = d.post("/api/v1/users/%s/faces" % user, headers=img(h),
                   data=photo(person, n))
        assert r.status_code == 201, (person, n, r.text)
        ids.append(r.json()["id"])
    return ids


def no_template_in(r):
    """No reply ever carries a template (nor its bytes)."""
    assert "template" not in r.text and "\\\\x" not in r.text, r.text


# face.threshold of the test daemons: not the default, to see it used.
CONFIG_THRESHOLD = 0.77


@pytest.fixture
def world(make_daemon):
    """acme: an admin, people a (A), b (B), c (C), a manager; globex: an
    admin and g."""
    d = make_daemon(face_threshold=CONFIG_THRESHOLD)
    d.acme = make_org(d, "acme")
    d.globex = make_org(d, "globex")
    d.ids = {}
    for email, role, org in [("admin@acme.test", "admin", "acme"),
                             ("a@acme.test", "employee", "acme"),
                             ("b@acme.test", "employee", "acme"),
                             ("c@acme.test", "employee", "acme"),
                             ("mgr@acme.test", "manager", "acme"),
                             ("admin@globex.test", "admin", "globex"),
                             ("g@globex.test", "employee", "globex")]:
        d.ids[email.split("@")[0] + "@" + org] = add_user(d, email, role, org)
    d.h = {k: token(d, k.split("@")[0] + "@" + k.split("@")[1] + ".test")
           for k in d.ids}
    d.admin = d.h["admin@acme"]
    return d


# ---- enrol, list, delete -------------------------------------------------

def test_enrol_list_and_delete_a_face(world):
    d = world
    a = d.ids["a@acme"]
    r = d.post("/api/v1/users/%s/faces" % a, headers=img(d.admin),
               data=photo(A, "01"))
    assert r.status_code == 201, r.text
    face = r.json()
    assert set(face) == {"id", "quality", "picture_id", "created_at"}
    assert 0 <= face["quality"] <= 1
    no_template_in(r)
    # Self may enrol too (a multipart upload this time).
    r = d.post("/api/v1/users/%s/faces" % a, headers=d.h["a@acme"],
               files={"file": ("me.png", photo(A, "02"), "image/png")})
    assert r.status_code == 201, r.text
    pic = d.psql("SELECT purpose || ' ' || owner_id || ' ' || sha256 || ' ' ||"
                 " thumb_sha256 FROM pictures WHERE id = '%s'"
                 % face["picture_id"]).split()
    assert pic[:2] == ["face", a]
    assert all(os.path.exists(blob_path(d, k)) for k in pic[2:])
    assert d.psql("SELECT method <> '' AND length(template) > 64 AND"
                  " picture_id = '%s' FROM face_templates WHERE id = '%s'"
                  % (face["picture_id"], face["id"])) == "t"

    for h in (d.admin, d.h["a@acme"]):
        r = d.get("/api/v1/users/%s/faces" % a, headers=h)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == 2 and r.json()["next_cursor"] is None
        assert set(items[0]) == {"id", "quality", "method", "picture_id",
                                 "reindex_error", "created_at"}
        assert items[0]["method"] == "dlib-resnet"
        assert items[0]["reindex_error"] is None
        assert items[0]["id"] == face["id"]
        no_template_in(r)
    r = d.get("/api/v1/users/%s/faces?limit=1" % a, headers=d.admin)
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"]

    # Not yours, not your org, not a user: 404, and nothing changes.
    b = d.ids["b@acme"]
    for path, h in [("/api/v1/users/%s/faces" % b, d.h["a@acme"]),
                    ("/api/v1/users/%s/faces" % a, d.h["mgr@acme"]),
                    ("/api/v1/users/%s/faces" % a, d.h["admin@globex"]),
                    ("/api/v1/users/not-a-uuid/faces", d.admin)]:
        assert d.get(path, headers=h).status_code == 404, path
        r = d.post(path, headers=img(h), data=photo(A, "03"))
        assert r.status_code == 404, (path, r.text)
        assert d.delete(path + "/" + face["id"],
                        headers=h).status_code == 404, path
    assert count(d, "face_templates") == 2
    assert count(d, "pictures") == 2

    r = d.delete("/api/v1/users/%s/faces/%s" % (a, face["id"]),
                 headers=d.admin)
    assert r.status_code == 204, r.text
    assert count(d, "face_templates", "id = '%s'" % face["id"]) == 0
    assert count(d, "pictures", "id = '%s'" % face["picture_id"]) == 0
    assert count(d, "jobs", "kind = 'blob_delete' AND payload->'keys' ? '%s'"
                 % pic[2]) == 1
    assert wait_until(lambda: not any(os.path.exists(blob_path(d, k))
                                      for k in pic[2:])), "blobs not deleted"
    assert d.delete("/api/v1/users/%s/faces/%s" % (a, face["id"]),
                    headers=d.admin).status_code == 404
    assert count(d, "face_templates", "user_id = '%s'" % a) == 1


def test_enrol_refuses_no_face_two_faces_and_non_images(world):
    d = world
    a = d.ids["a@acme"]
    url = "/api/v1/users/%s/faces" % a
    r = d.post(url, headers=img(d.admin), data=no_face())
    assert r.status_code == 422 and r.json()["code"] == "no_face", r.text
    r = d.post(url, headers=img(d.admin), data=two_faces())
    assert r.status_code == 422 and r.json()["code"] == "multiple_faces", \
        r.text
    r = d.post(url, headers=img(d.admin, "image/jpeg"),
               data=b"this is not a picture at all\n" * 10)
    assert r.status_code == 415, r.text
    r = d.post(url, headers=img(d.admin), data=photo(A, "01")[:300])
    assert r.status_code == 422, r.text
    assert d.post(url, data=photo(A, "01")).status_code == 401
    assert count(d, "face_templates") == 0
    assert count(d, "pictures") == 0
    # The blobs the refused uploads wrote are queued for deletion, and go.
    assert count(d, "jobs", "kind = 'blob_delete'") == 2
    assert wait_until(lambda: not any(
        files for _, _, files in os.walk(os.path.join(d.tmp, "blobs")))), \
        "blobs of refused uploads were not deleted"


def test_a_person_enrols_at_most_twenty_faces(world):
    d = world
    a = d.ids["a@acme"]
    face = enrol(d, d.admin, a, A, ("01",))[0]
    d.psql("INSERT INTO face_templates (org_id, user_id, method, version,"
           " template, quality) SELECT org_id, user_id, method, version,"
           " template, quality FROM face_templates, generate_series(1, 19)"
           " WHERE id = '%s'" % face)
    r = d.post("/api/v1/users/%s/faces" % a, headers=img(d.admin),
               data=photo(A, "02"))
    assert r.status_code == 409 and r.json()["code"] == "too_many_faces"
    assert count(d, "face_templates") == 20 and count(d, "pictures") == 1


# ---- verify and identify ----------------------------------------------

def test_verify_identify_and_the_org_threshold(world):
    d = world
    a, b = d.ids["a@acme"], d.ids["b@acme"]
    enrol(d, d.admin, a, A)
    enrol(d, d.admin, b, B)

    def verify(person, user, h=None):
        r = d.post("/api/v1/faces/verify?user_id=%s" % user,
                   headers=img(h or d.admin), data=photo(person, PROBE))
        assert r.status_code == 200, r.text
        no_template_in(r)
        return r.json()

    same, other = verify(A, a), verify(B, a)
    assert set(same) == {"match", "similarity", "threshold"}
    assert same["threshold"] == pytest.approx(CONFIG_THRESHOLD)
    assert 0 <= other["similarity"] < same["similarity"] <= 1
    # The org's own threshold, between the two.
    t = round((same["similarity"] + other["similarity"]) / 2, 4)
    r = d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
                json={"face_threshold": t})
    assert r.status_code == 200 and r.json()["face_threshold"] == \
        pytest.approx(t, abs=1e-6), r.text
    same, other = verify(A, a), verify(B, a)
    assert same["match"] is True and other["match"] is False
    assert same["threshold"] == pytest.approx(t, abs=1e-6)

    r = d.post("/api/v1/faces/identify", headers=img(d.admin),
               data=photo(A, PROBE))
    assert r.status_code == 200, r.text
    no_template_in(r)
    matches = r.json()["matches"]
    assert matches and matches[0]["user_id"] == a, matches
    assert len(matches) <= 5 and len({m["user_id"] for m in matches}) == \
        len(matches)
    assert all(m["similarity"] >= t - 1e-6 for m in matches)
    assert [m["similarity"] for m in matches] == sorted(
        (m["similarity"] for m in matches), reverse=True)
    r = d.post("/api/v1/faces/identify", headers=img(d.admin),
               data=photo(B, PROBE))
    assert r.json()["matches"][0]["user_id"] == b, r.text
    # Someone enrolled nowhere: nobody passes a threshold of 0.99.
    d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
            json={"face_threshold": 0.99})
    r = d.post("/api/v1/faces/identify", headers=img(d.admin),
               data=photo(C, PROBE))
    assert r.status_code == 200 and r.json()["matches"] == [], r.text
    # null: back to the installation's face.threshold.
    r = d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
                json={"face_threshold": None})
    assert r.status_code == 200 and r.json()["face_threshold"] is None
    assert verify(A, a)["threshold"] == pytest.approx(CONFIG_THRESHOLD)
    for bad in (1.5, -0.1, "0.5", True):
        r = d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
                    json={"face_threshold": bad})
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == "face_threshold"


def test_verify_and_identify_refuse_bad_callers_and_input(world):
    d = world
    a, c, g = d.ids["a@acme"], d.ids["c@acme"], d.ids["g@globex"]
    enrol(d, d.admin, a, A, ("01",))
    url = "/api/v1/faces/verify?user_id="
    # No templates: 422 no_templates.
    r = d.post(url + c, headers=img(d.admin), data=photo(A, PROBE))
    assert r.status_code == 422 and r.json()["code"] == "no_templates"
    # Another org's person, an unknown id: 404.
    for who in (g, "00000000-0000-4000-8000-000000000000"):
        r = d.post(url + who, headers=img(d.admin), data=photo(A, PROBE))
        assert r.status_code == 404, r.text
    r = d.post(url + a, headers=img(d.h["admin@globex"]), data=photo(A, PROBE))
    assert r.status_code == 404, r.text
    # globex's admin finds nobody of acme.
    r = d.post("/api/v1/faces/identify", headers=img(d.h["admin@globex"]),
               data=photo(A, PROBE))
    assert r.status_code == 200 and r.json()["matches"] == []
    for bad in ("", "?user_id=x", "?user_id="):
        r = d.post("/api/v1/faces/verify" + bad, headers=img(d.admin),
                   data=photo(A, PROBE))
        assert r.status_code == 422, (bad, r.text)
    # Not an admin (nor a kiosk): 403; no token: 401.
    for path in ("/api/v1/faces/identify", url + a):
        assert d.post(path, headers=img(d.h["a@acme"]),
                      data=photo(A, PROBE)).status_code == 403
        assert d.post(path, headers={"Content-Type": "image/png"},
                      data=photo(A, PROBE)).status_code == 401
    r = d.post("/api/v1/faces/identify", headers=img(d.admin), data=no_face())
    assert r.status_code == 422 and r.json()["code"] == "no_face"
    r = d.post("/api/v1/faces/identify", headers=img(d.admin, "text/plain"),
               data=b"hello")
    assert r.status_code == 415
    # Verify and identify store nothing.
    assert count(d, "pictures") == 1


# ---- face-gated check-in ----------------------------------------------

def test_face_gated_check_in(world):
    d = world
    a = d.ids["a@acme"]
    h = d.h["a@acme"]
    api = "/api/v1/attendance"
    enrol(d, d.admin, a, A)
    enrol(d, d.admin, d.ids["b@acme"], B)
    # Set the threshold between A's and B's similarity to A.
    sims = [d.post("/api/v1/faces/verify?user_id=%s" % a, headers=img(d.admin),
                   data=photo(p, PROBE)).json()["similarity"] for p in (A, B)]
    d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
            json={"face_required": True,
                  "face_threshold": round(sum(sims) / 2, 4)})
    pictures = count(d, "pictures")

    for kw in ({}, {"json": {"note": "hi"}}):
        r = d.post(api + "/check-in", headers=h, **kw)
        assert r.status_code == 403 and r.json()["code"] == "face_required"
    # Someone else's face: 403, nothing recorded, the photo's blobs go.
    r = d.post(api + "/check-in", headers=img(h), data=photo(B, PROBE))
    assert r.status_code == 403 and r.json()["code"] == "face_mismatch", r.text
    r = d.post(api + "/check-in", headers=img(h), data=no_face())
    assert r.status_code == 422 and r.json()["code"] == "no_face"
    assert count(d, "attendance_events") == 0
    assert count(d, "pictures") == pictures
    assert count(d, "jobs", "kind = 'blob_delete'") == 2

    r = d.post(api + "/check-in", headers=d.h["a@acme"],
               files={"file": ("me.png", photo(A, PROBE), "image/png")})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["kind"] == "in" and 0 < ev["face"]["similarity"] <= 1
    row = d.psql("SELECT e.source || ' ' || p.purpose || ' ' || p.owner_id ||"
                 " ' ' || (e.similarity > 0)::text FROM attendance_events e"
                 " JOIN pictures p ON p.id = e.picture_id WHERE e.id = '%s'"
                 % ev["id"])
    assert row == "web check_in %s true" % a
    r = d.post(api + "/check-in", headers=img(h), data=photo(A, PROBE))
    assert r.status_code == 409 and r.json()["code"] == "already_checked_in"
    assert count(d, "pictures", "purpose = 'check_in'") == 1
    # Check-out needs no photo; the JSON rules of check-in still hold.
    assert d.post(api + "/check-out", headers=h).status_code == 201
    r = d.post(api + "/check-in", headers=dict(h, **{"Content-Type":
                                                    "application/json"}),
               data="{bad")
    assert r.status_code == 400
    # Without templates: 422 no_templates.
    r = d.post(api + "/check-in", headers=img(d.h["c@acme"]),
               data=photo(C, PROBE))
    assert r.status_code == 422 and r.json()["code"] == "no_templates"


def test_check_in_with_a_photo_when_faces_are_optional(world):
    d = world
    enrol(d, d.admin, d.ids["c@acme"], C)
    r = d.post("/api/v1/attendance/check-in", headers=img(d.h["c@acme"]),
               data=photo(C, PROBE))
    assert r.status_code == 201 and "face" in r.json(), r.text
    r = d.post("/api/v1/attendance/check-out", headers=d.h["c@acme"])
    assert r.status_code == 201
    r = d.post("/api/v1/attendance/check-in", headers=d.h["c@acme"],
               json={"note": "no photo needed here"})
    assert r.status_code == 201 and "face" not in r.json()


# ---- privacy ------------------------------------------------------------

def test_deleting_a_user_erases_templates_pictures_and_files(world):
    d = world
    a, b = d.ids["a@acme"], d.ids["b@acme"]
    enrol(d, d.admin, a, A)
    enrol(d, d.admin, b, B, ("01",))
    r = d.post("/api/v1/attendance/check-in", headers=img(d.h["a@acme"]),
               data=photo(A, PROBE))
    assert r.status_code == 201, r.text
    keys = d.psql("SELECT string_agg(sha256 || ' ' || thumb_sha256, ' ')"
                  " FROM pictures WHERE owner_id = '%s'" % a).split()
    assert len(keys) == 8 and all(os.path.exists(blob_path(d, k))
                                  for k in keys)
    assert d.delete("/api/v1/users/%s" % a, headers=d.admin).status_code == 204
    assert count(d, "face_templates", "user_id = '%s'" % a) == 0
    assert count(d, "pictures", "owner_id = '%s'" % a) == 0
    assert count(d, "attendance_events", "user_id = '%s' AND picture_id IS"
                 " NULL" % a) == 1
    assert count(d, "jobs", "kind = 'blob_delete'") == 1
    assert wait_until(lambda: not any(os.path.exists(blob_path(d, k))
                                      for k in keys)), "blobs not deleted"
    # B is untouched.
    assert count(d, "face_templates", "user_id = '%s'" % b) == 1
    key = d.psql("SELECT sha256 FROM pictures WHERE owner_id = '%s'" % b)
    assert os.path.exists(blob_path(d, key))
    # A no longer verifies: the templates are gone.
    r = d.post("/api/v1/faces/verify?user_id=%s" % a, headers=img(d.admin),
               data=photo(A, PROBE))
    assert r.status_code == 422 and r.json()["code"] == "no_templates"
    r = d.post("/api/v1/faces/identify", headers=img(d.admin),
               data=photo(A, PROBE))
    assert a not in [m["user_id"] for m in r.json()["matches"]]
