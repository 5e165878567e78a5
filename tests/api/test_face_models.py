"""The face matcher's configuration through the daemon: the YuNet detector
(face.detector_model) end to end on news photos with background, one photo
per person enrolled; a model file that will not load stops the start with a
clear message instead of serving without faces; so does a weights file of
face.models_dir that is missing, truncated or of the wrong shape."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, ROOT
from test_faces import FACES, img
from test_users import add_user, make_org, token

YUNET = os.path.join(ROOT, "..", "shared", "data", "models",
                     "face_detection_yunet_2022mar.onnx")
LFW = os.path.join(FACES, "lfw-deepfunneled")


def lfw(person, n):
    with open(os.path.join(LFW, person, n + ".jpg"), "rb") as f:
        return f.read()


@pytest.mark.skipif(not os.path.exists(YUNET), reason="no YuNet model")
def test_yunet_detector_enrols_from_one_news_photo(make_daemon):
    d = make_daemon(face_detector_model=YUNET)
    make_org(d, "acme")
    add_user(d, "admin@acme.test", "admin", "acme")
    h = token(d, "admin@acme.test")
    people = ["Hans_Blix", "Jennifer_Aniston", "Gerhard_Schroeder"]
    ids = {}
    for p in people:
        ids[p] = add_user(d, p.lower() + "@acme.test", "employee", "acme")
        r = d.post("/api/v1/users/%s/faces" % ids[p],
                   headers=img(h, "image/jpeg"), data=lfw(p, "01"))
        assert r.status_code == 201, (p, r.text)
    # Another photo of each: the person's own template is the most similar,
    # and identify (threshold 0: everyone is listed) puts them first.
    d.psql("UPDATE orgs SET face_threshold = 0")
    hits = 0
    for p in people:
        r = d.post("/api/v1/faces/identify", headers=img(h, "image/jpeg"),
                   data=lfw(p, "02"))
        assert r.status_code == 200, r.text
        matches = r.json()["matches"]
        assert len(matches) == len(people)
        hits += matches[0]["user_id"] == ids[p]
        own = [m for m in matches if m["user_id"] == ids[p]][0]
        r = d.post("/api/v1/faces/verify?user_id=%s" % ids[p],
                   headers=img(h, "image/jpeg"), data=lfw(p, "02"))
        assert r.json()["similarity"] == pytest.approx(own["similarity"],
                                                      abs=1e-5)
    # One enrolled news photo each is hard: allow one miss of three.
    assert hits >= 2, hits


def test_a_model_that_will_not_load_stops_the_start(make_daemon):
    d = make_daemon(start=False, face_detector_model="/nonexistent.onnx")
    # Run it directly: exit status 1 exactly (under ASan a leak on this path
    # would change it), and the reason on stderr.
    p = subprocess.run([BIN, "serve"], env=d.env, cwd=ROOT, timeout=30,
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    assert "face:" in p.stderr and "nonexistent.onnx" in p.stderr
    assert "listening" not in p.stdout


MODELS = os.path.join(ROOT, "vendor", "face", "node_modules", "@vladmandic",
                      "face-api", "model")
NETS = ("tiny_face_detector_model", "face_landmark_68_model",
        "face_recognition_model")


def models_copy():
    """The three nets' files in a temp folder, to damage."""
    tmp = tempfile.mkdtemp(prefix="rollcall-models-")
    for net in NETS:
        for suffix in ("-weights_manifest.json", ".bin"):
            shutil.copy(os.path.join(MODELS, net + suffix), tmp)
    return tmp


def serve_fails(make_daemon, models_dir):
    d = make_daemon(start=False, face_models_dir=models_dir)
    p = subprocess.run([BIN, "serve"], env=d.env, cwd=ROOT, timeout=60,
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    assert "listening" not in p.stdout
    return p.stderr


def test_damaged_weights_stop_the_start_naming_file_and_tensor(make_daemon):
    tmp = models_copy()
    try:
        weights = os.path.join(tmp, "face_recognition_model.bin")
        with open(weights, "r+b") as f:
            f.truncate(os.path.getsize(weights) // 2)
        err = serve_fails(make_daemon, tmp)
        assert "face_recognition_model.bin" in err and "truncated" in err, err
        assert "tensor" in err and "conv" in err, err

        # A tensor of the wrong shape (as many values, so the bytes still
        # add up), named in the message.
        shutil.copy(os.path.join(MODELS, "face_recognition_model.bin"), tmp)
        manifest = os.path.join(tmp, "face_landmark_68_model-weights_"
                                "manifest.json")
        with open(manifest) as f:
            m = json.load(f)
        entry = m[0]["weights"][0]
        assert entry["shape"] != entry["shape"][::-1]
        entry["shape"] = entry["shape"][::-1]
        with open(manifest, "w") as f:
            json.dump(m, f)
        err = serve_fails(make_daemon, tmp)
        assert "face_landmark_68_model" in err and entry["name"] in err, err

        os.remove(manifest)
        err = serve_fails(make_daemon, tmp)
        assert "face_landmark_68_model-weights_manifest.json" in err, err
    finally:
        shutil.rmtree(tmp)


def test_the_removed_sface_key_is_named_if_set(make_daemon):
    """Config files from before the dlib descriptor had an empty
    recognizer_model line: that still starts; a set one is refused."""
    d = make_daemon(start=False, face_recognizer_model="/old/sface.onnx")
    p = subprocess.run([BIN, "serve"], env=d.env, cwd=ROOT, timeout=60,
                       capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    assert "face.recognizer_model" in p.stderr and "remove" in p.stderr
    assert make_daemon(face_recognizer_model="").get("/readyz").ok
