"""make install / make uninstall into a DESTDIR (issue 14): every file with
its mode, the installed config that `rollcall config check` takes and whose
paths all point at installed places, the admin's config never overwritten,
uninstall removing exactly what install put there; the installed units
valid for systemd-analyze verify and rated <= 2.0 by systemd-analyze
security. Run by scripts/test.sh (ROLLCALL_BIN names the binary)."""
import configparser
import os
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("ROLLCALL_BIN",
                                     os.path.join(ROOT, "bin", "rollcall")))
SERVICES = ["rollcall.service", "rollcall-export.service",
            "rollcall-leave-digest.service", "rollcall-backup.service",
            "rollcall-keys-rotate.service"]
TIMERS = ["rollcall-export.timer", "rollcall-leave-digest.timer",
          "rollcall-backup.timer", "rollcall-keys-rotate.timer"]
MODEL = ["tiny_face_detector_model", "face_landmark_68_model",
         "face_recognition_model"]


def make(target, destdir, *args):
    r = subprocess.run(["make", "-s", "--no-print-directory", target,
                        "DESTDIR=" + str(destdir), "BIN=" + BIN, *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def tree(top):
    """{path relative to top: mode} of every file and folder under top."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, top)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


@pytest.fixture
def installed(tmp_path):
    dest = tmp_path / "root"
    make("install", dest)
    return dest


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_install_lays_out_every_file_with_its_mode(installed):
    d = installed
    share = d / "usr/local/share/rollcall"
    units = d / "usr/local/lib/systemd/system"
    assert mode(d / "usr/local/bin/rollcall") == 0o755
    for f in sorted(os.listdir(os.path.join(ROOT, "sql"))):
        assert mode(share / "sql" / f) == 0o644
    assert mode(share / "static/index.html") == 0o644
    assert (share / "static/app/main.js").read_bytes() == \
        open(os.path.join(ROOT, "static/app/main.js"), "rb").read()
    # The face models the matcher loads, each manifest with its shard.
    for m in MODEL:
        assert mode(share / "face/model" / (m + "-weights_manifest.json")) \
            == 0o644
        assert (share / "face/model" / (m + ".bin")).stat().st_size > 0
    assert not list((share / "face/model").glob("age_gender*"))
    assert (share / "face/LICENSE").exists()
    # What static/app/lib.js imports from /vendor/, and nothing the daemon
    # would not serve (README.md) nor the npm bookkeeping.
    assert (share / "vendor/app/htm/preact/standalone.module.js").exists()
    assert not (share / "vendor/app/htm/README.md").exists()
    assert not (share / "vendor/app/.package-lock.json").exists()
    for u in SERVICES + TIMERS:
        assert mode(units / u) == 0o644, u
    assert "Type=notify" in (units / "rollcall.service").read_text()
    sysusers = (d / "usr/local/lib/sysusers.d/rollcall.conf").read_text()
    assert "u rollcall - " in sysusers
    tmpfiles = (d / "usr/local/lib/tmpfiles.d/rollcall.conf").read_text()
    for line in ["d /var/lib/rollcall 0700 rollcall rollcall -",
                 "d /var/lib/rollcall/keys 0700 rollcall rollcall -",
                 "d /var/lib/rollcall/blobs 0700 rollcall rollcall -",
                 "d /var/lib/rollcall/backups 0700 rollcall rollcall -",
                 "d /var/lib/rollcall/mail 0700 rollcall rollcall -",
                 "z /etc/rollcall/rollcall.conf 0640 root rollcall -"]:
        assert line in tmpfiles.splitlines(), line
    assert mode(d / "etc/rollcall/rollcall.conf") == 0o640
    assert mode(d / "etc/rollcall") == 0o750
    # Nothing is made writable for others anywhere.
    for p, m in tree(d).items():
        assert not m & 0o002, p


def config_values(text):
    c = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",),
                                  inline_comment_prefixes=None)
    c.read_string(text)
    return c


def test_installed_config_points_at_installed_places(installed):
    d = installed
    conf = d / "etc/rollcall/rollcall.conf"
    r = subprocess.run([BIN, "--config", str(conf), "config", "check"],
                       capture_output=True, text=True, cwd="/",
                       env={"PATH": os.environ["PATH"],
                            "ASAN_OPTIONS": "detect_leaks=1"})
    assert r.returncode == 0, r.stderr
    c = config_values(r.stdout)
    paths = {(s, k): v for s in c.sections() for k, v in c[s].items()
             if k.endswith(("_dir", "_file", "common_passwords"))
             or (s, k) in {("log", "file"), ("store", "dir"), ("backup", "dir")}}
    assert ("face", "models_dir") in paths and ("store", "dir") in paths
    # Each section's own folder, not one rewrite for every "dir" key.
    assert c["store"]["dir"] == "/var/lib/rollcall/blobs"
    assert c["backup"]["dir"] == "/var/lib/rollcall/backups"
    for (s, k), v in paths.items():
        if v == "":
            continue    # unset: a default that is no path (or the journal)
        assert os.path.isabs(v), "%s.%s = %s is relative" % (s, k, v)
        if v.startswith("/usr/local/share/rollcall"):
            assert os.path.exists(str(d) + v), "%s.%s = %s" % (s, k, v)
        else:
            assert v.startswith("/var/lib/rollcall/"), "%s.%s = %s" % (s, k, v)
    assert c["db"]["url_file"] == ""
    # The shipped copy is the same config.
    assert conf.read_text() == \
        (d / "usr/local/share/rollcall/conf/rollcall.conf").read_text()


def test_install_keeps_the_admins_config(installed):
    conf = installed / "etc/rollcall/rollcall.conf"
    conf.write_text("[db]\nurl = postgresql:///mine\n")
    out = make("install", installed)
    assert "kept" in out
    assert conf.read_text() == "[db]\nurl = postgresql:///mine\n"


def test_uninstall_removes_what_install_put_there_and_nothing_else(tmp_path):
    dest = tmp_path / "root"
    # Someone else's files in the folders rollcall shares, and an empty
    # one (which stays).
    others = ["usr/local/bin/other", "usr/local/share/other/x",
              "usr/local/lib/systemd/system/other.service", "etc/other.conf",
              "usr/local/lib/sysusers.d/other.conf",
              "var/lib/rollcall/keys/k.pem"]
    for p in others:
        (dest / p).parent.mkdir(parents=True, exist_ok=True)
        (dest / p).write_text(p)
    (dest / "usr/local/lib/tmpfiles.d").mkdir()
    before = tree(dest)
    make("install", dest)
    assert len(tree(dest)) > len(before) + 40
    make("uninstall", dest)
    assert tree(dest) == before
    # A config the admin changed stays; the rest goes.
    make("install", dest)
    conf = dest / "etc/rollcall/rollcall.conf"
    conf.write_text(conf.read_text() + "\n[db]\n")
    out = make("uninstall", dest)
    assert "kept" in out
    assert set(tree(dest)) - set(before) == {"etc/rollcall",
                                               "etc/rollcall/rollcall.conf"}


def test_install_under_usr_rewrites_the_units(tmp_path):
    dest = tmp_path / "root"
    make("install", dest, "PREFIX=/usr", "UNITDIR=/lib/systemd/system")
    unit = (dest / "lib/systemd/system/rollcall.service").read_text()
    assert "ExecStart=/usr/bin/rollcall --config /etc/rollcall/rollcall.conf" \
        " serve" in unit
    assert "WorkingDirectory=/usr/share/rollcall" in unit
    assert "/usr/local" not in unit
    conf = (dest / "etc/rollcall/rollcall.conf").read_text()
    assert "migrations_dir = /usr/share/rollcall/sql" in conf


def systemd_root(installed):
    """What systemd-analyze --root needs besides rollcall's files: the
    host's targets (sysinit.target...) and the commands the units run."""
    units = installed / "lib/systemd/system"
    units.mkdir(parents=True, exist_ok=True)
    for f in os.listdir("/lib/systemd/system"):
        if f.endswith(".target"):
            shutil.copy(os.path.join("/lib/systemd/system", f), units)
    (installed / "bin").mkdir(exist_ok=True)
    for c in ["/bin/sh", "/bin/kill", "/bin/systemctl"]:
        shutil.copy(c, installed / "bin")
    return installed


needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="no systemd-analyze")


@needs_analyze
def test_installed_units_verify(installed):
    root = systemd_root(installed)
    units = [str(root / "usr/local/lib/systemd/system" / u)
             for u in SERVICES + TIMERS]
    r = subprocess.run(["systemd-analyze", "verify", "--root=%s" % root,
                        *units], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout + r.stderr == "", \
        r.stdout + r.stderr


@needs_analyze
@pytest.mark.parametrize("unit", SERVICES)
def test_services_are_rated_at_most_2(installed, unit):
    root = systemd_root(installed)
    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--root=%s" % root, "--threshold=20", unit],
                       capture_output=True, text=True, timeout=60)
    last = (r.stdout.strip().splitlines() or [""])[-1]
    assert r.returncode == 0, r.stdout + r.stderr
    score = float(last.split(":")[1].split()[0])
    assert score <= 2.0, last
