"""Kiosks (issue 5, item 5): devices an admin registers (the token shown
once, stored as SHA-256 only) that identify faces and punch people in and
out; a kiosk token works on the face routes only and only for its own org.
Also the gallery across daemons: two daemons on one database, a change
made through one is seen by the other through LISTEN/NOTIFY, and a lost
LISTEN connection drops every cached gallery."""
import hashlib
import os
import time

from test_faces import (A, B, C, PROBE, blob_path, count, enrol, img,
                        no_face, no_template_in, photo, wait_until, world)
from test_users import add_user, make_org, token

__all__ = ["world"]  # the fixture, re-used


def new_kiosk(d, h, name="Front door"):
    r = d.post("/api/v1/kiosks", headers=h, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def set_threshold_between(d, user, good, bad):
    """The org threshold halfway between good's and bad's similarity."""
    sims = [d.post("/api/v1/faces/verify?user_id=%s" % user,
                   headers=img(d.admin), data=photo(p, PROBE)).json()[
                       "similarity"] for p in (good, bad)]
    assert sims[0] > sims[1], sims
    t = round(sum(sims) / 2, 4)
    assert d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
                   json={"face_threshold": t}).status_code == 200
    return t


def test_kiosk_tokens_are_shown_once_and_stored_hashed(world):
    d = world
    k = new_kiosk(d, d.admin)
    assert set(k) == {"id", "name", "token", "created_at", "last_used_at"}
    assert k["token"].startswith("rck_") and len(k["token"]) == 47
    stored = d.psql("SELECT encode(token_hash, 'hex') FROM kiosks WHERE id ="
                    " '%s'" % k["id"])
    assert stored == hashlib.sha256(k["token"].encode()).hexdigest()
    assert count(d, "kiosks", "encode(token_hash, 'escape') LIKE '%%%s%%'"
                 % k["token"][4:]) == 0
    r = d.get("/api/v1/kiosks", headers=d.admin)
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == \
        [k["id"]]
    assert "token" not in r.text and k["token"] not in r.text
    # Another org sees none of it; only admins manage kiosks.
    assert d.get("/api/v1/kiosks", headers=d.h["admin@globex"]).json()[
        "items"] == []
    assert d.delete("/api/v1/kiosks/%s" % k["id"],
                    headers=d.h["admin@globex"]).status_code == 404
    assert d.post("/api/v1/kiosks", headers=d.h["a@acme"],
                  json={"name": "x"}).status_code == 403
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "a\nb"},
                 {"name": "x" * 101}):
        r = d.post("/api/v1/kiosks", headers=d.admin, json=body)
        assert r.status_code == 422, body
    assert count(d, "kiosks") == 1
    # The token works on the face routes only: not /me, not the users.
    kh = bearer(k["token"])
    assert d.get("/api/v1/me", headers=kh).status_code == 401
    assert d.get("/api/v1/users", headers=kh).status_code == 401
    assert d.get("/api/v1/kiosks", headers=kh).status_code == 401
    assert d.post("/api/v1/attendance/check-in", headers=kh).status_code == 401
    r = d.post("/api/v1/faces/identify", headers=img(kh), data=photo(A, PROBE))
    assert r.status_code == 200, r.text
    # Forged or deleted tokens: 401.
    forged = "rck_" + ("A" * 43)
    for tok in (forged, k["token"][:-1], k["token"] + "x", "rck_"):
        r = d.post("/api/v1/kiosk/punch", headers=img(bearer(tok)),
                   data=photo(A, PROBE))
        assert r.status_code == 401, tok
    # A user's access token is no kiosk token.
    r = d.post("/api/v1/kiosk/punch", headers=img(d.admin),
               data=photo(A, PROBE))
    assert r.status_code == 401
    assert d.delete("/api/v1/kiosks/%s" % k["id"],
                    headers=d.admin).status_code == 204
    assert d.post("/api/v1/faces/identify", headers=img(kh),
                  data=photo(A, PROBE)).status_code == 401
    assert d.delete("/api/v1/kiosks/%s" % k["id"],
                    headers=d.admin).status_code == 404


def test_kiosk_punch_toggles_in_and_out(world):
    d = world
    a = d.ids["a@acme"]
    enrol(d, d.admin, a, A)
    enrol(d, d.admin, d.ids["b@acme"], B)
    set_threshold_between(d, a, A, B)
    k = new_kiosk(d, d.admin)
    kh = bearer(k["token"])

    r = d.post("/api/v1/kiosk/punch", headers=img(kh), data=photo(A, PROBE))
    assert r.status_code == 201, r.text
    first = r.json()
    assert set(first) == {"user_id", "kind", "at", "similarity", "event_id",
                          "name"}
    assert first["user_id"] == a and first["kind"] == "in"
    no_template_in(r)
    r = d.post("/api/v1/kiosk/punch", headers=img(kh), data=photo(A, "07"))
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "out" and r.json()["user_id"] == a
    r = d.post("/api/v1/kiosk/punch", headers=img(kh), data=photo(A, "08"))
    assert r.status_code == 201 and r.json()["kind"] == "in", r.text
    rows = d.psql("SELECT string_agg(e.kind || ':' || e.source || ':' ||"
                  " (e.kiosk_id = '%s')::text || ':' || p.purpose, ','"
                  " ORDER BY e.at) FROM attendance_events e JOIN pictures p"
                  " ON p.id = e.picture_id WHERE e.user_id = '%s'"
                  " AND e.similarity > 0" % (k["id"], a))
    assert rows == ("in:kiosk:true:check_in,out:kiosk:true:check_in,"
                    "in:kiosk:true:check_in")
    assert d.psql("SELECT last_used_at IS NOT NULL FROM kiosks") == "t"
    # Someone nobody enrolled: 404 unknown_face, nothing recorded, the
    # photo's blobs queued for deletion.
    events, pictures = count(d, "attendance_events"), count(d, "pictures")
    d.patch("/api/v1/orgs/%s" % d.acme, headers=d.admin,
            json={"face_threshold": 0.99})
    r = d.post("/api/v1/kiosk/punch", headers=img(kh), data=photo(C, PROBE))
    assert r.status_code == 404 and r.json()["code"] == "unknown_face", r.text
    r = d.post("/api/v1/kiosk/punch", headers=img(kh), data=no_face())
    assert r.status_code == 422 and r.json()["code"] == "no_face"
    assert count(d, "attendance_events") == events
    assert count(d, "pictures") == pictures
    assert count(d, "jobs", "kind = 'blob_delete'") == 2
    key = d.psql("SELECT payload->'keys'->>0 FROM jobs WHERE kind ="
                 " 'blob_delete' LIMIT 1")
    assert wait_until(lambda: not os.path.exists(blob_path(d, key)))


def test_a_kiosk_sees_only_its_own_org(world):
    d = world
    a = d.ids["a@acme"]
    enrol(d, d.admin, a, A)
    mine = bearer(new_kiosk(d, d.admin)["token"])
    theirs = bearer(new_kiosk(d, d.h["admin@globex"], "Lobby")["token"])
    r = d.post("/api/v1/faces/identify", headers=img(mine),
               data=photo(A, PROBE))
    assert r.json()["matches"][0]["user_id"] == a, r.text
    r = d.post("/api/v1/faces/identify", headers=img(theirs),
               data=photo(A, PROBE))
    assert r.status_code == 200 and r.json()["matches"] == [], r.text
    r = d.post("/api/v1/faces/verify?user_id=%s" % a, headers=img(theirs),
               data=photo(A, PROBE))
    assert r.status_code == 404, r.text
    d.psql("UPDATE orgs SET face_threshold = 0 WHERE slug = 'globex'")
    r = d.post("/api/v1/kiosk/punch", headers=img(theirs),
               data=photo(A, PROBE))
    assert r.status_code == 404 and r.json()["code"] == "unknown_face"
    assert count(d, "attendance_events") == 0


def test_galleries_follow_changes_made_by_another_daemon(world, make_daemon):
    """d2 caches acme's gallery; enrolments through d1 reach it by NOTIFY.
    With the trigger off (no NOTIFY) d2 keeps its cached gallery, which
    proves it caches; a lost LISTEN connection drops every gallery."""
    d1 = world
    d2 = make_daemon(dbname=d1.dbname)
    a, b, c = d1.ids["a@acme"], d1.ids["b@acme"], d1.ids["c@acme"]
    enrol(d1, d1.admin, a, A)
    kh = bearer(new_kiosk(d1, d1.admin)["token"])
    d1.psql("UPDATE orgs SET face_threshold = 0 WHERE slug = 'acme'")

    def found(d, person):
        r = d.post("/api/v1/faces/identify", headers=img(kh),
                   data=photo(person, PROBE))
        assert r.status_code == 200, r.text
        return [m["user_id"] for m in r.json()["matches"]]

    assert found(d2, B) == [a]		# d2 has loaded acme's gallery
    enrol(d1, d1.admin, b, B)
    assert wait_until(lambda: found(d2, B)[:1] == [b], timeout=5), \
        "d2 never saw the enrolment made through d1"

    d1.psql("ALTER TABLE face_templates DISABLE TRIGGER"
            " face_templates_changed")
    enrol(d1, d1.admin, c, C)
    assert found(d1, C)[:1] == [c]	# d1 dropped its own at once
    assert c not in found(d2, C)	# d2: cached, and nobody told it
    # Losing the LISTEN connection drops every cached gallery.
    killed = d1.psql("SELECT count(pg_terminate_backend(pid)) FROM"
                     " pg_stat_activity WHERE datname = current_database()"
                     " AND application_name = 'rollcall listen rollcall_faces'")
    assert int(killed) == 2
    assert wait_until(lambda: found(d2, C)[:1] == [c], timeout=5), \
        "d2 kept a stale gallery after losing its LISTEN connection"
    d1.psql("ALTER TABLE face_templates ENABLE TRIGGER face_templates_changed")
    # ...and it listens again after reconnecting: deletes through d1.
    faces = d1.get("/api/v1/users/%s/faces" % c, headers=d1.admin).json()[
        "items"]
    assert len(faces) == 3
    time.sleep(0.5)	# the reconnect backoff is 100 ms
    for f in faces:
        assert d1.delete("/api/v1/users/%s/faces/%s" % (c, f["id"]),
                         headers=d1.admin).status_code == 204
    assert wait_until(lambda: c not in found(d2, C), timeout=5)
