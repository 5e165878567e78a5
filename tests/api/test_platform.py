"""The platform (issue 2): health, readiness, routing, problem+json,
limits, request ids, metrics, static files, SIGTERM drain, SIGHUP, and a
PostgreSQL restart under a running daemon."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import requests

from conftest import ROOT, BIN


def raw_request(port, data, timeout=5):
    """Sends bytes as-is (no client-side path normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def assert_problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["type"]
    return body


def test_health_and_readiness(daemon):
    r = daemon.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = daemon.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}
    r = daemon.req("HEAD", "/healthz")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == "15"


def test_not_found_and_method_not_allowed(daemon):
    assert_problem(daemon.get("/api/v1/no/such/thing"), 404, "not_found")
    r = daemon.post("/healthz")
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, HEAD"
    r = daemon.req("DELETE", "/api/v1/test/echo")
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "POST"


def test_json_body_errors(daemon):
    url = "/api/v1/test/echo"
    r = daemon.post(url, data='{"a": 1', headers={"Content-Type": "application/json"})
    assert "malformed JSON" in assert_problem(r, 400, "malformed_json")["detail"]
    r = daemon.post(url, data="[1, 2]", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "malformed_json")
    r = daemon.post(url, data='{"a": 1, "a": 2}',
                    headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "malformed_json")
    r = daemon.post(url, data='{"a": 1}', headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "unsupported_media_type")
    r = daemon.post(url, json={"a": [1, "é"]})
    assert r.status_code == 200 and r.json() == {"a": [1, "é"]}


def test_oversized_body_and_headers(make_daemon):
    d = make_daemon(limits_max_body_bytes=4096, limits_max_header_bytes=2048,
                    limits_max_upload_bytes=8192)
    # Over the JSON limit but within what uploads may send: our own reply.
    r = d.post("/api/v1/test/echo", data="x" * 6000,
               headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "body_too_large")
    # Over every limit: libevent refuses it before reading the body.
    r = d.post("/api/v1/test/echo", data="x" * 200000,
               headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = d.get("/healthz", headers={"X-Big": "b" * 3000})
    assert_problem(r, 413, "headers_too_large")
    # A body just under the limit is still fine.
    r = d.post("/api/v1/test/echo", json={"s": "y" * 3000})
    assert r.status_code == 200
    assert d.get("/healthz").status_code == 200


def test_throttle_when_in_flight_cap_is_reached(make_daemon):
    d = make_daemon(limits_max_in_flight=2, limits_retry_after=3)
    results = []

    def slow():
        results.append(d.get("/api/v1/test/sleep?ms=1500").status_code)

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    r = d.get("/healthz")
    body = assert_problem(r, 429, "throttled")
    assert r.headers["Retry-After"] == "3"
    assert "X-Request-Id" in r.headers and body
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert d.get("/healthz").status_code == 200
    m = d.get("/metrics").text
    assert "rollcall_http_throttled_total 1" in m
    assert 'rollcall_http_requests_total{route="unmatched",method="GET",status="429"} 1' in m


def test_request_ids(daemon):
    r = daemon.get("/healthz", headers={"X-Request-Id": "abc-123.x"})
    assert r.headers["X-Request-Id"] == "abc-123.x"
    ids = {daemon.get("/healthz").headers["X-Request-Id"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 16 for i in ids)
    # Unsafe or overlong ids are replaced, not echoed.
    r = daemon.get("/healthz", headers={"X-Request-Id": "a\"b{}"})
    assert r.headers["X-Request-Id"] != "a\"b{}"
    r = daemon.get("/healthz", headers={"X-Request-Id": "x" * 200})
    assert len(r.headers["X-Request-Id"]) == 16
    r = daemon.get("/api/v1/nope", headers={"X-Request-Id": "trace-42"})
    assert r.headers["X-Request-Id"] == "trace-42"


def test_access_log_lines(daemon):
    daemon.get("/healthz", headers={"X-Request-Id": "log-me-1"})
    daemon.get("/api/v1/missing", headers={"X-Request-Id": "log-me-2"})
    deadline = time.time() + 5
    while time.time() < deadline:
        lines = [l for l in daemon.log_lines() if l.get("type") == "access"]
        ids = {l["request_id"]: l for l in lines}
        if "log-me-2" in ids:
            break
        time.sleep(0.05)
    a, b = ids["log-me-1"], ids["log-me-2"]
    for key in ("time", "request_id", "method", "route", "status",
                "duration_ms", "bytes", "client"):
        assert key in a
    assert a["route"] == "/healthz" and a["status"] == 200 and a["bytes"] == 15
    assert a["client"] == "127.0.0.1" and a["method"] == "GET"
    assert b["status"] == 404 and b["route"] == "-"


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def test_metrics_content_and_promtool(daemon):
    daemon.get("/healthz")
    daemon.get("/readyz")
    daemon.get("/api/v1/test/sleep?ms=1")
    daemon.get("/api/v1/nope/123")
    r = daemon.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = r.text
    assert 'rollcall_http_requests_total{route="/healthz",method="GET",status="200"} 1' in m
    assert 'rollcall_http_requests_total{route="/api/v1/test/sleep",method="GET",status="200"} 1' in m
    assert 'route="unmatched",method="GET",status="404"' in m
    # Labels are route patterns: no raw path leaks in.
    assert "/api/v1/nope/123" not in m
    for name in ("rollcall_http_request_duration_seconds_bucket",
                 "rollcall_http_request_duration_seconds_sum",
                 "rollcall_http_throttled_total",
                 "rollcall_http_requests_in_flight",
                 "rollcall_db_connections", "rollcall_db_queries_waiting",
                 "rollcall_db_errors_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_start_time_seconds"):
        assert "\n" + name in m, name
    conns = [l for l in m.splitlines() if l.startswith("rollcall_db_connections ")]
    assert float(conns[0].split()[1]) >= 1
    rc, out = promtool_check(m)
    assert rc == 0, out


def test_metrics_access_control(make_daemon):
    d = make_daemon(metrics_allow="10.0.0.0/8", metrics_token="s3cret-token")
    assert_problem(d.get("/metrics"), 403, "forbidden")
    r = d.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403
    r = d.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200 and "rollcall_http_requests_total" in r.text


def test_static_files(daemon):
    r = daemon.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    etag, lm = r.headers["ETag"], r.headers["Last-Modified"]
    with open(os.path.join(ROOT, "static", "index.html"), "rb") as f:
        assert r.content == f.read()
    r2 = daemon.get("/", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    r3 = daemon.get("/index.html", headers={"If-Modified-Since": lm})
    assert r3.status_code == 304
    r4 = daemon.get("/index.html", headers={"If-None-Match": '"other"'})
    assert r4.status_code == 200
    # Client-side routes of the app fall back to index.html ...
    r5 = daemon.get("/people/42/edit")
    assert r5.status_code == 200 and r5.content == r.content
    # ... but a missing file and unknown API paths do not.
    assert daemon.get("/missing.js").status_code == 404
    assert daemon.get("/api/v1/people").status_code == 404


def test_static_mime_types_and_symlinks(make_daemon):
    tmp = tempfile.mkdtemp()
    static = os.path.join(tmp, "static")
    os.makedirs(os.path.join(static, "css"))
    with open(os.path.join(static, "index.html"), "w") as f:
        f.write("<p>app</p>")
    with open(os.path.join(static, "app.js"), "w") as f:
        f.write("console.log(1)")
    with open(os.path.join(static, "css", "site.css"), "w") as f:
        f.write("p{}")
    with open(os.path.join(tmp, "secret.txt"), "w") as f:
        f.write("TOP SECRET")
    os.symlink(os.path.join(tmp, "secret.txt"), os.path.join(static, "leak.txt"))
    os.symlink("/etc", os.path.join(static, "etc"))
    os.symlink(os.path.join(static, "app.js"), os.path.join(static, "inside.js"))
    d = make_daemon(server_static_dir=static)
    assert d.get("/app.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert d.get("/css/site.css").headers["Content-Type"] == "text/css; charset=utf-8"
    assert d.get("/inside.js").text == "console.log(1)"
    r = d.get("/leak.txt")
    assert r.status_code == 404 and "TOP SECRET" not in r.text
    r = d.get("/etc/passwd")
    assert "root:" not in r.text
    shutil.rmtree(tmp)


def test_path_traversal(daemon):
    attempts = [
        b"/../etc/passwd", b"/../../../../etc/passwd",
        b"/%2e%2e/%2e%2e/etc/passwd", b"/%2E%2E/etc/passwd",
        b"/..%2f..%2fetc%2fpasswd", b"/static/..%5c..%5cetc/passwd",
        b"/./index.html/../../etc/passwd", b"/%00/etc/passwd",
    ]
    for path in attempts:
        resp = raw_request(daemon.port, b"GET " + path +
                           b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = int(resp.split(b" ", 2)[1])
        assert status in (400, 404), (path, resp[:200])
        assert b"root:" not in resp, path


def test_sigterm_drains_in_flight_requests(make_daemon):
    d = make_daemon()
    result = {}

    def slow():
        t0 = time.monotonic()
        r = d.get("/api/v1/test/sleep?ms=1500", timeout=10)
        result["status"] = r.status_code
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    # The listener is closed: new connections are refused during the drain.
    try:
        requests.get(d.url + "/healthz", timeout=2)
        refused = False
    except requests.ConnectionError:
        refused = True
    t.join()
    rc = d.proc.wait(10)
    assert result["status"] == 200 and result["seconds"] >= 1.4
    assert refused
    assert rc == 0, d.read_stderr()


def test_sighup_reopens_the_log(daemon):
    daemon.get("/healthz")
    rotated = daemon.log_path + ".1"
    os.rename(daemon.log_path, rotated)
    daemon.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while not os.path.exists(daemon.log_path) and time.time() < deadline:
        time.sleep(0.05)
    daemon.get("/healthz", headers={"X-Request-Id": "after-hup"})
    deadline = time.time() + 3     # access lines are flushed every 100 ms
    while time.time() < deadline:
        with open(daemon.log_path) as f:
            if "after-hup" in f.read():
                break
        time.sleep(0.05)
    with open(daemon.log_path) as f:
        assert "after-hup" in f.read()
    assert oct(os.stat(daemon.log_path).st_mode & 0o777) == "0o600"
    with open(rotated) as f:
        assert "after-hup" not in f.read()


def test_idle_connections_are_closed(make_daemon):
    d = make_daemon(server_idle_timeout=1)
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # never finished
        t0 = time.monotonic()
        data = s.recv(1024)
        assert data == b"" and time.monotonic() - t0 < 4
    assert d.get("/healthz").status_code == 200


def test_postgres_restart(own_pg, make_daemon):
    pg = own_pg
    d = make_daemon(cluster=pg)
    pid = d.proc.pid
    assert d.get("/readyz").status_code == 200
    pg.stop()
    try:
        t0 = time.monotonic()
        r = d.get("/readyz", timeout=5)
        elapsed = time.monotonic() - t0
        assert r.status_code == 503 and elapsed < 1.0, (r.status_code, elapsed)
        assert r.headers["Retry-After"]
        assert r.json()["code"] == "unavailable"
        # Still answering fast while the database stays down.
        for _ in range(5):
            t0 = time.monotonic()
            assert d.get("/readyz", timeout=5).status_code == 503
            assert time.monotonic() - t0 < 1.0
        assert d.get("/healthz").status_code == 200
    finally:
        pg.start()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        if d.get("/readyz").status_code == 200:
            break
        time.sleep(0.1)
    assert d.get("/readyz").status_code == 200, "not back within 10 s"
    assert d.proc.pid == pid and d.proc.poll() is None
    m = d.get("/metrics").text
    errors = [l for l in m.splitlines() if l.startswith("rollcall_db_errors_total ")]
    assert float(errors[0].split()[1]) >= 1


def run_cli(*args, env=None, cwd=ROOT):
    e = dict(os.environ)
    e.pop("ROLLCALL_CONFIG", None)
    e.update(env or {})
    return subprocess.run([BIN, *args], env=e, cwd=cwd, capture_output=True,
                          text=True, timeout=30)


def test_config_check(tmp_path):
    conf = tmp_path / "r.conf"
    conf.write_text("[server]\nport = 9999\n[metrics]\ntoken = hunter2\n"
                    "[db]\nurl = postgresql://app:pa55word@db/rollcall\n")
    r = run_cli("--config", str(conf), "config", "check")
    assert r.returncode == 0, r.stderr
    assert "port = 9999" in r.stdout
    assert "hunter2" not in r.stdout and "pa55word" not in r.stdout
    assert "token = ********" in r.stdout
    # The environment overrides the file.
    r = run_cli("--config", str(conf), "config", "check",
                env={"ROLLCALL_SERVER_PORT": "7777"})
    assert "port = 7777" in r.stdout
    # Unknown key, bad value, unreadable file: non-zero with a clear message.
    conf.write_text("[server]\nprot = 1\n")
    r = run_cli("--config", str(conf), "config", "check")
    assert r.returncode != 0 and "unknown key [server] prot" in r.stderr
    conf.write_text("[server]\nport = eighty\n")
    r = run_cli("--config", str(conf), "config", "check")
    assert r.returncode != 0 and "server.port" in r.stderr
    r = run_cli("--config", str(tmp_path / "missing.conf"), "config", "check")
    assert r.returncode != 0 and "cannot read" in r.stderr
    r = run_cli("--config", str(conf), "config", "check",
                env={"ROLLCALL_SERVER_PORT": "99999"})
    assert r.returncode != 0
    conf.write_text("[log]\nlevel = loud\n")
    r = run_cli("--config", str(conf), "config", "check")
    assert r.returncode != 0 and "log.level" in r.stderr


def test_migrations(pg, tmp_path):
    db = pg.create_db()
    sql = tmp_path / "sql"
    shutil.copytree(os.path.join(ROOT, "sql"), sql)
    env = {"ROLLCALL_DB_URL": pg.url_for(db),
           "ROLLCALL_DB_MIGRATIONS_DIR": str(sql)}
    r = run_cli("migrate", env=env)
    assert r.returncode == 0, r.stderr
    n = len([f for f in os.listdir(sql) if f.endswith(".sql")])
    assert pg.psql(db, "SELECT count(*) FROM schema_migrations") == str(n)
    # Re-running is a no-op.
    r = run_cli("migrate", env=env)
    assert r.returncode == 0 and "0 migration(s) applied" in r.stderr
    # A new file is applied on its own; a failing one changes nothing.
    (sql / "900_extra.sql").write_text("CREATE TABLE extra_t (x int);")
    (sql / "901_broken.sql").write_text(
        "CREATE TABLE broken_t (x int); SELECT no_such_function();")
    r = run_cli("migrate", env=env)
    assert r.returncode != 0 and "901_broken.sql" in r.stderr
    assert pg.psql(db, "SELECT to_regclass('extra_t') IS NOT NULL") == "t"
    assert pg.psql(db, "SELECT to_regclass('broken_t') IS NULL") == "t"
    os.remove(sql / "901_broken.sql")
    # Editing an applied migration is refused.
    (sql / "900_extra.sql").write_text("CREATE TABLE extra_t (y int);")
    r = run_cli("migrate", env=env)
    assert r.returncode != 0 and "changed after it was applied" in r.stderr


def test_serve_refuses_without_database_url():
    r = run_cli("serve", env={"ROLLCALL_DB_URL": "",
                              "ROLLCALL_DB_URL_FILE": "/nonexistent/db.url"})
    assert r.returncode != 0 and "db.url is not set" in r.stderr


def test_db_queue_is_bounded(make_daemon):
    d = make_daemon(server_threads=1, db_pool_size=1, db_queue_max=1)
    results = []

    def slow():
        results.append(d.get("/api/v1/test/sleep?ms=1200").status_code)

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    # One statement runs, one waits: the next is refused at once.
    t0 = time.monotonic()
    r = d.get("/readyz")
    assert r.status_code == 503 and time.monotonic() - t0 < 0.5
    assert r.headers["Retry-After"]
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert d.get("/readyz").status_code == 200


def test_query_timeout_answers_503_and_recovers(make_daemon):
    d = make_daemon(server_threads=1, db_pool_size=1, db_query_timeout_ms=400)
    t0 = time.monotonic()
    r = d.get("/api/v1/test/sleep?ms=3000")
    assert r.status_code == 503 and time.monotonic() - t0 < 1.5
    deadline = time.monotonic() + 5
    while d.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "pool did not reconnect"
        time.sleep(0.1)
