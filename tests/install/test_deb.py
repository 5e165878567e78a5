"""The Debian package (issue 14): `make deb`, lintian without errors, and on
this machine dpkg -i, the installed binary serving /readyz as the rollcall
user with the installed config against a throwaway PostgreSQL, the upgrade
running the migrations, dpkg --purge taking the package and its state.
systemd is not PID 1 here: the pieces are tested, not `systemctl start`.
Installs system-wide (as root) and always purges at the end."""
import fcntl
import grp
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("ROLLCALL_BIN",
                                     os.path.join(ROOT, "bin", "rollcall")))
CONF = "/etc/rollcall/rollcall.conf"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="dpkg -i needs root"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None or
                       shutil.which("lintian") is None,
                       reason="no dpkg-dev/lintian (make deps)"),
    pytest.mark.skipif(BIN.endswith("-asan"),
                       reason="the package is built from the release binary"),
]


def run(*args, **kw):
    kw.setdefault("timeout", 300)
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    assert r.returncode == 0, "%s: %s%s" % (" ".join(args), r.stdout,
                                            r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def deb():
    out = run("make", "-s", "--no-print-directory", "deb", "BIN=" + BIN,
              cwd=ROOT)
    path = os.path.join(ROOT, out.strip().splitlines()[-1])
    assert re.search(r"/rollcall_[0-9][^_]*_[a-z0-9]+\.deb$", path), path
    return path


def test_lintian_reports_no_error(deb):
    r = subprocess.run(["lintian", "--fail-on", "error", deb],
                       capture_output=True, text=True, timeout=300)
    errors = [ln for ln in r.stdout.splitlines() if ln.startswith("E:")]
    assert r.returncode == 0 and errors == [], r.stdout + r.stderr


def test_control_depends_on_runtime_libraries(deb):
    control = run("dpkg-deb", "--field", deb, "Depends")
    for pkg in ["libevent-2.1-7", "libpq5", "libopencv-dnn406",
                "libsystemd0", "postgresql-client"]:
        assert pkg in control, control
    assert "-dev" not in control, control
    assert run("dpkg-deb", "--ctrl-tarfile", deb) != ""
    assert CONF in subprocess.run(
        "dpkg-deb --ctrl-tarfile %s | tar -xOf - ./conffiles" % deb,
        shell=True, capture_output=True, text=True).stdout


class Cluster:
    """A throwaway PostgreSQL whose socket the rollcall user may reach."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rollcall-deb-pg-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.env = dict(os.environ, PGDIR=self.dir)
        self.url = self.pg("start")
        self.psql("postgres", "ALTER SYSTEM SET unix_socket_permissions "
                  "= '0777'")
        self.pg("stop")
        self.url = self.pg("start")

    def pg(self, cmd):
        """scripts/pg.sh CMD; start prints the URL last."""
        out = run(os.path.join(ROOT, "scripts", "pg.sh"), cmd, env=self.env)
        return (out.strip().splitlines() or [""])[-1]

    def url_for(self, db):
        return re.sub(r"///[^?]+", "///" + db, self.url)

    def psql(self, db, sql):
        return run("psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                   self.url_for(db), "-c", sql).strip()

    def close(self):
        subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop"],
                       env=self.env, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def purge():
    subprocess.run(["dpkg", "--purge", "rollcall"], capture_output=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def dpkg_install(deb):
    return run("dpkg", "--force-confold", "-i", deb,
               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def owner(path):
    st = os.stat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            stat.S_IMODE(st.st_mode))


def serve_as_rollcall(url):
    """The installed binary, as the rollcall user, with the installed
    config (the database and a free port from the environment, as a
    drop-in's Environment= would), from the unit's WorkingDirectory."""
    env = {"PATH": "/usr/bin:/bin", "ROLLCALL_DB_URL": url,
           "ROLLCALL_SERVER_PORT": "0", "ROLLCALL_SERVER_THREADS": "1"}
    p = subprocess.Popen(["setpriv", "--reuid=rollcall", "--regid=rollcall",
                          "--init-groups", "/usr/bin/rollcall", "--config",
                          CONF, "serve"], env=env, cwd="/usr/share/rollcall",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline().decode()
    m = re.match(r"listening on [^:]+:(\d+)", line)
    if not m:
        p.kill()
        raise AssertionError("serve did not start: %r %s" % (
            line, p.stderr.read().decode()))
    return p, "http://127.0.0.1:%s" % m.group(1)


def wait_ready(url, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            r = requests.get(url + "/readyz", timeout=2)
            if r.status_code == 200:
                return r
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("never ready: %s" % proc.stderr.read().decode())


@pytest.fixture
def system_wide():
    """One package test at a time on this machine (other worktrees' runs
    install the same package name; dpkg would refuse a second at once)."""
    with open("/tmp/rollcall-deb-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def test_dpkg_install_serve_upgrade_and_purge(deb, system_wide):
    purge()
    pg = None
    try:
        dpkg_install(deb)
        pw = pwd.getpwnam("rollcall")
        assert pw.pw_dir == "/var/lib/rollcall"
        assert owner("/var/lib/rollcall") == ("rollcall", "rollcall", 0o700)
        assert owner("/var/lib/rollcall/keys") == ("rollcall", "rollcall",
                                                   0o700)
        assert owner(CONF) == ("root", "rollcall", 0o640)
        assert CONF in run("dpkg-query", "-W", "-f=${Conffiles}", "rollcall")
        assert os.path.exists("/lib/systemd/system/rollcall.service")

        pg = Cluster()
        proc, url = serve_as_rollcall(pg.url_for("rollcall"))
        try:
            wait_ready(url, proc)
            assert requests.get(url + "/", timeout=5).status_code == 200
            assert requests.get(url + "/vendor/htm/preact/"
                                "standalone.module.js",
                                timeout=5).status_code == 200
            keys = os.listdir("/var/lib/rollcall/keys")
            assert keys, "no signing key made"
            assert owner("/var/lib/rollcall/keys/" + keys[0]) == (
                "rollcall", "rollcall", 0o600)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, proc.stderr.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        # The admin points the config at a database; an upgrade (here a
        # reinstall of the same version) migrates it and keeps the config.
        pg.psql("postgres", "CREATE DATABASE rc_upgrade")
        with open(CONF) as f:
            text = f.read()
        text = re.sub(r"(?m)^url =.*$", "url = " + pg.url_for("rc_upgrade"),
                      text, count=1)
        with open(CONF, "w") as f:
            f.write(text)
        # Run from anywhere, the installed binary finds that config.
        r = subprocess.run(["/usr/bin/rollcall", "config", "check"], cwd="/",
                           env={"PATH": "/usr/bin:/bin"}, capture_output=True,
                           text=True)
        assert r.returncode == 0 and "rc_upgrade" in r.stdout, r.stdout
        dpkg_install(deb)
        assert int(pg.psql("rc_upgrade", "SELECT count(*) FROM "
                           "schema_migrations")) >= 1
        with open(CONF) as f:
            assert f.read() == text

        run("dpkg", "--purge", "rollcall")
        for p in ["/usr/bin/rollcall", "/usr/share/rollcall",
                  "/lib/systemd/system/rollcall.service", "/var/lib/rollcall",
                  "/var/log/rollcall", "/etc/rollcall"]:
            assert not os.path.exists(p), p
        st = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "rollcall"],
                            capture_output=True, text=True).stdout
        assert "installed" not in st.replace("not-installed", ""), st
    finally:
        purge()
        if pg is not None:
            pg.close()
