"""serve under systemd's Type=notify, without systemd: the test owns the
$NOTIFY_SOCKET datagram socket and reads what sd_notify(3) sends. READY=1
comes once /readyz answers and the schema is migrated, STATUS= says what
runs, SIGTERM sends STOPPING=1, and with $WATCHDOG_USEC the loop pings
WATCHDOG=1 at half that period."""
import os
import re
import signal
import socket
import subprocess
import time

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


def start_notified(d, **env):
    """Starts d's serve with NOTIFY_SOCKET (and env); returns (sock, port)."""
    ns = NotifySocket(d.tmp)
    d.env.pop("WATCHDOG_PID", None)
    d.env.update(NOTIFY_SOCKET=ns.path, **env)
    out = open(os.path.join(d.tmp, "stdout.log"), "ab")
    d.proc = subprocess.Popen([BIN, "serve"], env=d.env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=out)
    line = d.proc.stdout.readline().decode()
    m = re.match(r"listening on [^:]+:(\d+)", line)
    assert m, (line, d.read_stderr())
    d.port = int(m.group(1))
    d.url = "http://127.0.0.1:%d" % d.port
    return ns, d.port


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
