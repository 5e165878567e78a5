"""Reindexing face templates (issue 9, item 4): templates made by an older
method (here the LBP method of before, as it serialised them) are never
compared; `serve` finds them at start and queues a face_reindex job, the
jobs worker recomputes each from its stored picture, and verify and
identify work again without anyone enrolling again. A face whose picture
no longer yields a face is kept, marked and reported; `rollcall face
reindex [--org SLUG]` queues one by hand and retries those."""
import os
import re
import struct

import pytest

from test_face_lfw import LFW, jpeg, lfw
from test_faces import count, img, no_face, wait_until
from test_users import add_user, make_org, token

pytestmark = pytest.mark.skipif(not os.path.isdir(LFW),
                                reason="no shared photos at " + LFW)

PEOPLE = ["Hans_Blix", "Jennifer_Aniston", "Gerhard_Schroeder"]


def lbp_template(seed):
    """A template as the old method serialised it: RCFT, the method
    "lbp-grid", version 2, 2086 float32s."""
    dim = 2086
    vals = [((seed * 7919 + i * 104729) % 1000) / 1000.0 for i in range(dim)]
    norm = sum(v * v for v in vals) ** 0.5
    body = b"".join(struct.pack("<f", v / norm) for v in vals)
    return (b"RCFT" + bytes([8]) + b"lbp-grid" + struct.pack("<II", 2, dim)
            + body).hex()


def make_old(d, where="true"):
    """Turns the templates matching where into old-method ones."""
    for i, tid in enumerate(d.psql("SELECT id FROM face_templates WHERE %s"
                                   % where).split()):
        d.psql("UPDATE face_templates SET method = 'lbp-grid', version = 2,"
               " template = decode('%s', 'hex') WHERE id = '%s'"
               % (lbp_template(i), tid))


def verify(d, h, user, data):
    return d.post("/api/v1/faces/verify?user_id=%s" % user, headers=jpeg(h),
                  data=data)


def metric(d, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), d.get("/metrics").text,
                  re.M)
    return float(m.group(1)) if m else None


def test_old_templates_are_recomputed_at_start_and_verify_again(make_daemon):
    d = make_daemon()
    make_org(d, "acme")
    add_user(d, "admin@acme.test", "admin", "acme")
    h = token(d, "admin@acme.test")
    ids = {}
    for p in PEOPLE + ["Nobody"]:
        ids[p] = add_user(d, p.lower() + "@acme.test", "employee", "acme")
    for p in PEOPLE:
        r = d.post("/api/v1/users/%s/faces" % ids[p], headers=jpeg(h),
                   data=lfw(p, "01"))
        assert r.status_code == 201, r.text
    # Nobody's face picture will yield no face any more: enrolled from a
    # real photo, then its picture row pointed at a stored blob of none.
    r = d.post("/api/v1/users/%s/faces" % ids["Nobody"], headers=jpeg(h),
               data=lfw("Condoleezza_Rice", "01"))
    assert r.status_code == 201, r.text
    nobody_face = r.json()["id"]
    r = d.post("/api/v1/pictures", headers=img(h), data=no_face())
    assert r.status_code == 201, r.text
    d.psql("UPDATE pictures SET sha256 = (SELECT sha256 FROM pictures WHERE"
           " id = '%s') WHERE id = (SELECT picture_id FROM face_templates"
           " WHERE id = '%s')" % (r.json()["id"], nobody_face))
    # Gerhard enrols again later with the current method: the gallery
    # keeps serving him while the others wait for the reindex.
    make_old(d)
    r = d.post("/api/v1/users/%s/faces" % ids["Gerhard_Schroeder"],
               headers=jpeg(h), data=lfw("Gerhard_Schroeder", "05"))
    assert r.status_code == 201, r.text

    # Old templates are never compared.
    r = verify(d, h, ids["Hans_Blix"], lfw("Hans_Blix", "02"))
    assert r.status_code == 422 and r.json()["code"] == "no_templates", \
        r.text
    r = d.post("/api/v1/faces/identify", headers=jpeg(h),
               data=lfw("Gerhard_Schroeder", "02"))
    assert [m["user_id"] for m in r.json()["matches"]][:1] == \
        [ids["Gerhard_Schroeder"]], r.text

    d.restart()
    assert wait_until(lambda: count(d, "face_templates",
                                    "method = 'lbp-grid' AND reindex_error"
                                    " IS NULL") == 0, timeout=60), \
        d.psql("SELECT method, reindex_error FROM face_templates")
    assert count(d, "jobs", "kind = 'face_reindex'") == 1
    assert wait_until(lambda: d.psql("SELECT state FROM jobs WHERE kind ="
                                     " 'face_reindex'") == "done")
    assert count(d, "face_templates", "method = 'dlib-resnet' AND version"
                 " = 1 AND reindex_error IS NULL") == 4
    # Each person verifies and is identified again, without enrolling.
    for p in PEOPLE:
        r = verify(d, h, ids[p], lfw(p, "02"))
        assert r.status_code == 200 and r.json()["match"] is True, (p, r.text)
        r = d.post("/api/v1/faces/identify", headers=jpeg(h),
                   data=lfw(p, "02"))
        assert r.json()["matches"][0]["user_id"] == ids[p], (p, r.text)
    # Nobody's template is kept, marked with the reason, and listed so.
    faces = d.get("/api/v1/users/%s/faces" % ids["Nobody"],
                  headers=h).json()["items"]
    assert len(faces) == 1 and faces[0]["method"] == "lbp-grid"
    assert faces[0]["reindex_error"].startswith("no_face"), faces
    logs = [l.get("msg", "") for l in d.log_lines()]
    assert any("reindex queued" in m for m in logs), logs
    assert any("face reindex: done: 3 recomputed, 1 failed" in m
               for m in logs), logs
    assert any(nobody_face in m and "not recomputed" in m for m in logs)
    assert metric(d, 'rollcall_face_reindex_templates_total'
                  '{result="recomputed"}') == 3
    assert metric(d, 'rollcall_face_reindex_templates_total'
                  '{result="failed"}') == 1
    assert metric(d, "rollcall_face_reindex_remaining") == 0

    # A restart finds nothing new to do: the failed one is not retried.
    d.restart()
    assert count(d, "jobs", "kind = 'face_reindex'") == 1


def test_the_cli_queues_a_reindex_per_org_and_retries_failures(make_daemon):
    d = make_daemon()
    make_org(d, "acme")
    make_org(d, "globex")
    add_user(d, "admin@acme.test", "admin", "acme")
    add_user(d, "admin@globex.test", "admin", "globex")
    ha, hg = token(d, "admin@acme.test"), token(d, "admin@globex.test")
    a = add_user(d, "a@acme.test", "employee", "acme")
    g = add_user(d, "g@globex.test", "employee", "globex")
    for user, h, p in ((a, ha, "Hans_Blix"), (g, hg, "Jennifer_Aniston")):
        r = d.post("/api/v1/users/%s/faces" % user, headers=jpeg(h),
                   data=lfw(p, "01"))
        assert r.status_code == 201, r.text
    r = d.cli("face", "reindex", "--org", "acme")
    assert "nothing to reindex" in r.stdout, r.stdout
    assert count(d, "jobs", "kind = 'face_reindex'") == 0

    make_old(d)

    def identified():
        r = d.post("/api/v1/faces/identify", headers=jpeg(ha),
                   data=lfw("Hans_Blix", "02"))
        assert r.status_code == 200, r.text
        return [m["user_id"] for m in r.json()["matches"]]

    # The cached gallery (loaded here) learns of the recomputed template
    # through the trigger's NOTIFY: no restart.
    assert identified() == []
    r = d.cli("face", "reindex", "--org", "acme")
    assert "1 face template(s) to recompute" in r.stdout, r.stdout
    assert wait_until(lambda: count(d, "face_templates", "method ="
                                    " 'dlib-resnet'") == 1, timeout=30)
    # Only acme's: globex's waits for its own.
    assert count(d, "face_templates", "method = 'lbp-grid' AND user_id ="
                 " '%s'" % g) == 1
    assert verify(d, ha, a, lfw("Hans_Blix", "02")).json()["match"] is True
    assert wait_until(lambda: identified()[:1] == [a])
    r = d.cli("face", "reindex")
    assert "1 face template(s) to recompute" in r.stdout, r.stdout
    assert wait_until(lambda: count(d, "face_templates", "method ="
                                    " 'dlib-resnet'") == 2, timeout=30)
    assert verify(d, hg, g, lfw("Jennifer_Aniston", "02")).json()[
        "match"] is True

    # A failed one is tried again by hand (here its picture is back).
    d.psql("UPDATE face_templates SET method = 'lbp-grid',"
           " reindex_error = 'no_face: earlier' WHERE user_id = '%s'" % a)
    r = d.cli("face", "reindex", "--org", "acme")
    assert "1 face template(s) to recompute" in r.stdout, r.stdout
    assert wait_until(lambda: count(d, "face_templates", "reindex_error IS"
                                    " NULL AND method = 'dlib-resnet'") == 2,
                      timeout=30)

    r = d.cli("face", "reindex", "--org", "nope", check=False)
    assert r.returncode == 1 and "nope" in r.stderr, r.stderr
    for bad in (("face",), ("face", "reindex", "--org"),
                ("face", "reindex", "extra")):
        r = d.cli(*bad, check=False)
        assert r.returncode == 2 and "usage" in r.stderr, (bad, r.stderr)
