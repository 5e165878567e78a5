"""Fixtures of the browser tests (issue 10): the same real PostgreSQL,
daemon and SMTP sink as the API tests (imported from tests/api/conftest.py,
not copied), plus `browser`, which runs one Playwright scenario script
(tests/e2e/*.mjs, playwright-core driving Debian's /usr/bin/chromium)
against a daemon and returns what it printed."""
import importlib.util
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

_spec = importlib.util.spec_from_file_location(
    "rollcall_api_conftest", os.path.join(ROOT, "tests", "api", "conftest.py"))
_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api)

pg = _api.pg
make_daemon = _api.make_daemon
daemon = _api.daemon
smtp = _api.smtp

PW = "a-long-Passw0rd-for-tests"
CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    if not os.access(CHROMIUM, os.X_OK):
        skip = pytest.mark.skip(reason="no %s (make deps installs it)" % CHROMIUM)
        for it in items:
            it.add_marker(skip)


def run_scenario(d, script, timeout=180, **params):
    """Runs tests/e2e/SCRIPT with the daemon's URL and PARAMS (JSON in
    E2E_PARAMS); returns the dict its last line printed. A failing
    scenario fails the test with its output."""
    env = dict(os.environ, E2E_BASE=d.url, E2E_PARAMS=json.dumps(params))
    r = subprocess.run(["node", os.path.join(HERE, script)], env=env,
                       cwd=HERE, capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout.strip().splitlines()
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s\n--- daemon log tail ---\n%s" % (
            script, r.returncode, r.stdout[-6000:], r.stderr[-6000:],
            d.read_stderr()[-2000:]))
    assert out and out[-1].startswith("{"), r.stdout
    return json.loads(out[-1])


@pytest.fixture
def browser():
    return run_scenario


# ---- set-up through the API (the browser tests drive what they test) ----

def make_org(d, slug, name=None, tz="Europe/Paris"):
    return d.psql("INSERT INTO orgs (name, slug, timezone) VALUES ('%s', '%s', '%s') RETURNING id"
                  % (name or slug.title(), slug, tz))


def add_user(d, email, role, org, name=None, password=PW, manager=None):
    args = ["user", "add", "--email", email, "--name", name or email.split("@")[0].title(),
            "--role", role, "--org", org]
    d.cli(*args, input=password + "\n")
    uid = d.psql("SELECT id FROM users WHERE email = '%s'" % email)
    if manager:
        d.psql("UPDATE users SET manager_id = (SELECT id FROM users WHERE email = '%s') WHERE id = '%s'"
               % (manager, uid))
    return uid


def token(d, email, password=PW):
    r = d.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["access_token"]}


@pytest.fixture
def office(make_daemon, smtp):
    """An org (Europe/Paris) with an admin, a manager and an employee who
    reports to them, a daemon mailing through the SMTP sink."""
    d = make_daemon(mail_smtp_url=smtp.url)
    d.smtp = smtp
    d.org_id = make_org(d, "acme", "Acme Works")
    add_user(d, "admin@acme.test", "admin", "acme", "Ada Admin")
    add_user(d, "boss@acme.test", "manager", "acme", "Max Manager")
    add_user(d, "emma@acme.test", "employee", "acme", "Emma Employee", manager="boss@acme.test")
    d.admin = token(d, "admin@acme.test")
    return d


# ---- the fake camera ------------------------------------------------------

FACES = "/work/shared/data/faces/lfw-deepfunneled"


def make_y4m(photo, out, width=640, height=480, frames=2):
    """A YUV4MPEG2 (I420) file of PHOTO centred on grey, for Chromium's
    --use-file-for-fake-video-capture (no ffmpeg needed: PIL and bytes)."""
    from PIL import Image
    im = Image.open(photo).convert("RGB")
    side = min(width, height)
    im = im.resize((side, side))
    frame = Image.new("RGB", (width, height), (128, 128, 128))
    frame.paste(im, ((width - side) // 2, (height - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(out, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n" % (width, height))
        for _ in range(frames):
            f.write(b"FRAME\n" + planes)
    return out


def face(person, n):
    return os.path.join(FACES, person, "%02d.jpg" % n)


@pytest.fixture
def camera(tmp_path):
    """camera(person, n) -> a .y4m of that face photo."""
    def make(person, n):
        return make_y4m(face(person, n), str(tmp_path / ("%s-%02d.y4m" % (person, n))))
    return make
