"""The C++ face nets (src/face/nets_*.cpp, run by obj/<build>/tests/test_nets)
against an independent oracle: face-api itself in Node.js
(tests/oracle/face_oracle.mjs) on the same weights and the same pixels.

On real photos: the tiny detector's boxes and scores, the 68 landmarks of the
same box, and the descriptor of aligned 150x150 chips made at test time (in
a temporary folder) must agree. Also: a truncated or missing weights file
makes models_load fail with a message naming the file and the tensor.

ROLLCALL_FACE_MODELS_DIR picks face-api's model/ folder (default: the one
`make deps` installs under vendor/face/); ROLLCALL_NETS_TOOL the test_nets
binary (default: beside the build of ROLLCALL_BIN)."""
import json
import math
import os
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT
from test_faces import FACES

VENDOR = os.path.join(ROOT, "vendor", "face")
MODELS = os.environ.get("ROLLCALL_FACE_MODELS_DIR", os.path.join(
    VENDOR, "node_modules", "@vladmandic", "face-api", "model"))
ORACLE = os.path.join(ROOT, "tests", "oracle", "face_oracle.mjs")


def nets_tool():
    if os.environ.get("ROLLCALL_NETS_TOOL"):
        return os.environ["ROLLCALL_NETS_TOOL"]
    build = "asan" if BIN.endswith("-asan") else "release"
    return os.path.join(ROOT, "obj", build, "tests", "test_nets")


@pytest.fixture(scope="module")
def models():
    if not os.path.isdir(MODELS):
        if "ROLLCALL_FACE_MODELS_DIR" not in os.environ and \
                not os.path.exists(os.path.join(VENDOR, "package.json")):
            pytest.skip("face-api is not installed here yet (vendor/face)")
        pytest.fail("no face-api models at %s: run `make deps`" % MODELS)
    tool = nets_tool()
    assert os.access(tool, os.X_OK), "build %s first (make)" % tool
    return MODELS


# Fixed photos: news photos (LFW, 250x250, face in a larger frame) and tight
# grey ORL crops (92x112) where the tiny detector is least sure.
PHOTOS = [
    "lfw-deepfunneled/Abdullah_Gul/01.jpg",
    "lfw-deepfunneled/Amelie_Mauresmo/03.jpg",
    "lfw-deepfunneled/Alejandro_Toledo/05.jpg",
    "lfw-deepfunneled/Hans_Blix/02.jpg",
    "lfw-deepfunneled/Jennifer_Aniston/07.jpg",
    "orl/s01/01.pgm",
    "orl/s05/04.pgm",
]


def run_tool(*args):
    r = subprocess.run([nets_tool(), *args], capture_output=True, text=True,
                       timeout=120)
    return r


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def oracle(job, tmp_path):
    node = shutil.which("node")
    assert node, "node is needed for the face-api oracle"
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    r = subprocess.run([node, ORACLE, str(path)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_nets_agree_with_face_api(models, tmp_path):
    cpp, items = [], []
    for i, rel in enumerate(PHOTOS):
        src = os.path.join(FACES, rel)
        assert os.path.exists(src), src
        image, chip = tmp_path / ("%d.ppm" % i), tmp_path / ("%d-chip.ppm" % i)
        r = run_tool("pipeline", models, src, "--chip", str(chip),
                     "--image", str(image))
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        cpp.append(out)
        found = bool(out["detections"])
        items.append({"image": str(image),
                      "box": out["detections"][0]["box"] if found else None,
                      "chip": str(chip) if found else None})
    # At least the news photos must give a face, or nothing is compared.
    assert sum(1 for c in cpp if c["detections"]) >= 5
    ref = oracle({"models": models, "items": items}, tmp_path)

    print("\nphoto  dets  max|box|px  max|score|  max|lm|px  cosine")
    for rel, c, f in zip(PHOTOS, cpp, ref):
        # The detector: the same faces, boxes within 2 px, same scores.
        assert len(c["detections"]) == len(f["detections"]), rel
        box_d = score_d = 0.0
        for a, b in zip(c["detections"], f["detections"]):
            box_d = max(box_d, max(abs(x - y) for x, y in
                                   zip(a["box"], b["box"])))
            score_d = max(score_d, abs(a["score"] - b["score"]))
        assert box_d < 2.0, (rel, c["detections"], f["detections"])
        assert score_d < 0.01, rel
        if not c["detections"]:
            print("%s: no face (both)" % rel)
            continue
        # The landmarks of the same box: each of 68 within 1 px.
        lm_d = max(math.hypot(p[0] - q[0], p[1] - q[1])
                   for p, q in zip(c["landmarks68"], f["landmarks68"]))
        assert lm_d < 1.0, rel
        # The descriptor of the same aligned chip.
        cos = cosine(c["descriptor"], f["descriptor"])
        print("%s  %d  %.2e  %.2e  %.2e  %.12f" % (
            rel, len(c["detections"]), box_d, score_d, lm_d, cos))
        assert cos >= 0.999, rel
        # Ours is unit length (face-api's is not: cosine compares).
        assert abs(sum(x * x for x in c["descriptor"]) - 1) < 1e-4


def test_describe_of_a_chip_file_matches_the_pipeline(models, tmp_path):
    src = os.path.join(FACES, PHOTOS[0])
    chip = tmp_path / "chip.ppm"
    r = run_tool("pipeline", models, src, "--chip", str(chip))
    assert r.returncode == 0, r.stderr
    whole = json.loads(r.stdout)["descriptor"]
    r = run_tool("describe", models, str(chip))
    assert r.returncode == 0, r.stderr
    assert cosine(json.loads(r.stdout)["descriptor"], whole) > 0.99999


def test_threads_share_the_models(models):
    r = run_tool("threads", models, os.path.join(FACES, PHOTOS[1]))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_describe_pads_and_resizes_other_sizes_as_face_api(models, tmp_path):
    # A 92x112 grey ORL photo as the "chip": padded to a centred square and
    # resized to 150 with TF's bilinear before the net, on both sides.
    src = os.path.join(FACES, "orl/s02/03.pgm")
    image = tmp_path / "orl.ppm"
    r = run_tool("pipeline", models, src, "--image", str(image))
    assert r.returncode == 0, r.stderr
    r = run_tool("describe", models, str(image))
    assert r.returncode == 0, r.stderr
    ours = json.loads(r.stdout)["descriptor"]
    ref = oracle({"models": models, "items": [{"chip": str(image)}]},
                 tmp_path)[0]["descriptor"]
    cos = cosine(ours, ref)
    print("\n92x112 chip: cosine %.12f" % cos)
    assert cos >= 0.999


def copy_models(models, dst):
    for name in ("tiny_face_detector_model", "face_landmark_68_model",
                 "face_recognition_model"):
        for ext in ("-weights_manifest.json", ".bin"):
            shutil.copy(os.path.join(models, name + ext), dst)


def test_truncated_weights_name_the_file_and_the_tensor(models, tmp_path):
    copy_models(models, tmp_path)
    shard = tmp_path / "face_recognition_model.bin"
    data = shard.read_bytes()
    shard.write_bytes(data[:len(data) - 1000])
    r = run_tool("load", str(tmp_path))
    assert r.returncode == 1
    assert "face_recognition_model.bin" in r.stderr, r.stderr
    assert "truncated" in r.stderr and "tensor fc " in r.stderr, r.stderr


def test_missing_or_misshapen_weights_stop_the_load(models, tmp_path):
    copy_models(models, tmp_path)
    r = run_tool("load", str(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    # A manifest whose tensor has another shape (same byte count).
    man = tmp_path / "face_landmark_68_model-weights_manifest.json"
    m = json.loads(man.read_text())
    for w in m[0]["weights"]:
        if w["name"] == "fc/weights":
            w["shape"] = [136, 256]
    man.write_text(json.dumps(m))
    r = run_tool("load", str(tmp_path))
    assert r.returncode == 1
    assert "face_landmark_68_model-weights_manifest.json" in r.stderr
    assert "fc/weights" in r.stderr and "[136, 256]" in r.stderr, r.stderr
    os.unlink(tmp_path / "tiny_face_detector_model.bin")
    r = run_tool("load", str(tmp_path))
    assert r.returncode == 1
    assert "tiny_face_detector_model.bin" in r.stderr, r.stderr
