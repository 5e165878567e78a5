"""serve as rollcall.service runs it, without systemd (not PID 1 here).
Type=notify: the test owns the $NOTIFY_SOCKET datagram socket and reads
what sd_notify(3) sends. READY=1 comes once /readyz answers and the schema
is migrated, STATUS= says what runs, SIGTERM sends STOPPING=1, and with
$WATCHDOG_USEC the loop pings WATCHDOG=1 at half that period.
MemoryDenyWriteExecute=: the kernel's own form of it (prctl PR_SET_MDWE,
Linux 6.3+) on serve while it extracts and matches faces with OpenCV."""
import ctypes
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import BIN, ROOT


class NotifySocket:
    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def recv(self, timeout):
        """One datagram as {key: value} with its arrival time, or None."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        fields = dict(line.split("=", 1) for line in data.splitlines() if line)
        return time.monotonic(), fields

    def wait_for(self, key, timeout=20):
        """Messages up to and including the first that carries key."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.recv(deadline - time.monotonic())
            if m is None:
                break
            seen.append(m)
            if key in m[1]:
                return seen
        raise AssertionError("no %s; got %r" % (key, seen))

    def close(self):
        self.sock.close()


def spawn(d, preexec_fn=None):
    """Starts d's serve (not waiting for /readyz); returns the port."""
    out = open(os.path.join(d.tmp, "stdout.log"), "ab")
    d.proc = subprocess.Popen([BIN, "serve"], env=d.env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=out,
                              preexec_fn=preexec_fn)
    line = d.proc.stdout.readline().decode()
    m = re.match(r"listening on [^:]+:(\d+)", line)
    assert m, (line, d.read_stderr())
    d.port = int(m.group(1))
    d.url = "http://127.0.0.1:%d" % d.port
    return d.port


def start_notified(d, **env):
    """Starts d's serve with NOTIFY_SOCKET (and env); returns (sock, port)."""
    ns = NotifySocket(d.tmp)
    d.env.pop("WATCHDOG_PID", None)
    d.env.update(NOTIFY_SOCKET=ns.path, **env)
    return ns, spawn(d)


def test_ready_after_readyz_then_stopping_on_sigterm(make_daemon):
    d = make_daemon(start=False, server_threads=2)
    ns, _ = start_notified(d)
    try:
        msgs = ns.wait_for("READY")
        # Nothing said READY before this one, and it came with a status.
        assert [m for _, m in msgs[:-1] if "READY" in m] == []
        ready = msgs[-1][1]
        assert ready["READY"] == "1"
        assert re.match(r"serving on 127\.0\.0\.1:\d+, 2 loop thread\(s\), "
                        r"db up", ready["STATUS"]), ready
        # At READY=1 the server answers and the schema is in place.
        assert requests.get(d.url + "/readyz", timeout=5).status_code == 200
        assert int(d.psql("SELECT count(*) FROM schema_migrations")) > 0
        # No watchdog was asked for: no pings.
        assert ns.recv(0.7) is None
        d.proc.send_signal(signal.SIGTERM)
        stop = ns.wait_for("STOPPING")[-1][1]
        assert stop["STOPPING"] == "1"
        assert stop["STATUS"].startswith("draining ")
        assert d.proc.wait(30) == 0
    finally:
        ns.close()


def test_watchdog_pings_at_half_the_period(make_daemon):
    d = make_daemon(start=False, server_threads=2)
    # 400 ms: systemd expects a ping at least every 400 ms; rollcall sends
    # one every 200 ms.
    ns, _ = start_notified(d, WATCHDOG_USEC="400000")
    try:
        ns.wait_for("READY")
        t0 = time.monotonic()
        pings = []
        while time.monotonic() - t0 < 3.0:
            m = ns.recv(1.0)
            assert m is not None, "the watchdog pings stopped"
            if m[1].get("WATCHDOG") == "1":
                pings.append(m[0])
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        # 3 s at 200 ms is 15 pings; a loaded machine delays timers, so
        # allow slack but never a gap reaching the 400 ms period.
        assert 11 <= len(pings) <= 17, gaps
        assert max(gaps) < 0.4, gaps
        assert 0.15 < sorted(gaps)[len(gaps) // 2] < 0.25, gaps
        d.proc.send_signal(signal.SIGTERM)
        ns.wait_for("STOPPING")
        assert d.proc.wait(30) == 0
    finally:
        ns.close()


PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000


def loop_thread(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    raise AssertionError("no thread %s" % name)


def served(url):
    """True when url answers 200 on a new connection within a second."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.exceptions.RequestException:
        return False


def test_a_wedged_loop_stops_the_watchdog(make_daemon):
    """Loop 1 stopped (ptrace holds that one thread while the others run):
    loop 0 keeps turning but sends no WATCHDOG=1, so systemd would restart
    the service; loop 1 let go, the pings come back."""
    libc = ctypes.CDLL(None, use_errno=True)
    d = make_daemon(start=False, server_threads=2)
    ns, _ = start_notified(d, WATCHDOG_USEC="400000")
    try:
        ns.wait_for("READY")
        ns.wait_for("WATCHDOG")
        tid = loop_thread(d.proc.pid, "rc-loop-1")
        if libc.ptrace(PTRACE_SEIZE, tid, 0, 0) != 0:
            pytest.skip("ptrace is not allowed here")
        try:
            assert libc.ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0
            os.waitpid(tid, WALL)
            # Pings sent before loop 1's last tick went stale may still
            # come; then none for well over the 400 ms period.
            t_stop = time.monotonic()
            last = t_stop
            while time.monotonic() - t_stop < 2.0:
                m = ns.recv(0.1)
                if m and m[1].get("WATCHDOG") == "1":
                    last = m[0]
            assert last - t_stop < 0.5, "pings went on while loop 1 was stuck"
            # Loop 0 still serves: the stuck loop alone silenced the pings.
            # Each loop accepts on its own SO_REUSEPORT socket, so the
            # kernel gives a new connection to either; some reach loop 0.
            assert any(served(d.url + "/readyz") for _ in range(8))
        finally:
            libc.ptrace(PTRACE_DETACH, tid, 0, 0)
        t_go = time.monotonic()
        m = ns.wait_for("WATCHDOG", timeout=3)[-1]
        assert m[0] - t_go < 1.0
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(30) == 0
    finally:
        ns.close()


def test_watchdog_for_another_pid_is_not_ours(make_daemon):
    """$WATCHDOG_PID names the process systemd watches; a process that
    inherited the variables from it must not ping."""
    d = make_daemon(start=False)
    ns, _ = start_notified(d, WATCHDOG_USEC="200000", WATCHDOG_PID="1")
    try:
        ns.wait_for("READY")
        m = ns.recv(0.8)
        assert m is None or "WATCHDOG" not in m[1], m
    finally:
        ns.close()


PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1


def deny_write_execute():
    """In the child before exec: no mapping may become writable and
    executable, as MemoryDenyWriteExecute=yes enforces (kept across exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        os._exit(97)


def test_faces_under_memory_deny_write_execute(make_daemon, tmp_path):
    """Measures what rollcall.service's MemoryDenyWriteExecute=yes costs:
    serve starts (face-api's nets built on OpenCV DNN) and enrols and
    verifies faces with W^X enforced by the kernel."""
    libc = ctypes.CDLL(None, use_errno=True)
    probe = subprocess.run(["/usr/bin/python3", "-c",
                            "import ctypes; l = ctypes.CDLL(None); "
                            "print(l.prctl(%d, 0, 0, 0, 0))" % PR_GET_MDWE],
                           preexec_fn=deny_write_execute, capture_output=True,
                           text=True)
    if probe.returncode == 97 or libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    # The flag is inherited across exec: the probe sees it set.
    assert probe.stdout.strip() == str(PR_MDWE_REFUSE_EXEC_GAIN), probe
    from test_faces import A, B, enrol, img, photo
    from test_users import add_user, make_org, token
    d = make_daemon(start=False)
    spawn(d, preexec_fn=deny_write_execute)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and d.proc.poll() is None:
        try:
            if requests.get(d.url + "/readyz", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    assert d.proc.poll() is None, d.read_stderr()
    make_org(d, "acme")
    a = add_user(d, "a@acme.test", "employee", "acme")
    add_user(d, "admin@acme.test", "admin", "acme")
    h = token(d, "admin@acme.test")
    enrol(d, h, a, A)
    same, other = (d.post("/api/v1/faces/verify?user_id=%s" % a,
                          headers=img(h), data=photo(p, "06"))
                   for p in (A, B))
    assert same.status_code == 200 and other.status_code == 200, (
        same.text, other.text)
    assert same.json()["similarity"] > other.json()["similarity"]
    assert d.stop() == 0, d.read_stderr()
