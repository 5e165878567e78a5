"""What a developer meets around `make run` (issue 10's papercuts): the
commands find the database `make run` started through db.url_file, and
the log is JSON in a file but one short text line per request when asked
for text (what a terminal gets by default)."""
import json
import os
import re

from test_platform import run_cli

PW = "correct horse battery"


def test_cli_finds_the_database_through_url_file(pg, tmp_path):
    db = pg.create_db()
    url_file = tmp_path / "db.url"
    url_file.write_text(pg.url_for(db) + "\n")
    env = {"ROLLCALL_DB_URL": "", "ROLLCALL_DB_URL_FILE": str(url_file)}
    r = run_cli("migrate", env=env)
    assert r.returncode == 0, r.stderr
    pg.psql(db, "INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme')")
    r = subprocess_cli(env, PW + "\n", "user", "add", "--email",
                       "ada@acme.test", "--name", "Ada", "--role", "admin",
                       "--org", "acme")
    assert r.returncode == 0, r.stderr
    assert pg.psql(db, "SELECT role FROM users WHERE email = "
                   "'ada@acme.test'") == "admin"
    r = run_cli("config", "check", env=env)
    assert r.returncode == 0 and "\nurl = postgresql:///" + db in r.stdout
    # A db.url that is set wins over the file.
    r = run_cli("config", "check", env=dict(env, ROLLCALL_DB_URL=
                                            "postgresql:///elsewhere"))
    assert "\nurl = postgresql:///elsewhere\n" in r.stdout
    # No file: the same message as ever; an unreadable one is named.
    r = run_cli("user", "add", "--email", "x@acme.test", "--name", "X",
                "--role", "admin", "--org", "acme",
                env=dict(env, ROLLCALL_DB_URL_FILE=str(
                    tmp_path / "missing")))
    assert r.returncode != 0 and "db.url is not set" in r.stderr
    os.mkdir(tmp_path / "adir")
    r = run_cli("config", "check", env=dict(env, ROLLCALL_DB_URL_FILE=str(
        tmp_path / "adir")))
    assert r.returncode != 0 and "db.url_file" in r.stderr


def subprocess_cli(env, stdin, *args):
    import subprocess
    from conftest import BIN, ROOT
    e = dict(os.environ)
    e.pop("ROLLCALL_CONFIG", None)
    e.update(env)
    return subprocess.run([BIN, *args], env=e, cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=30)


def test_log_file_gets_json_lines(daemon):
    r = daemon.get("/api/v1/me", headers={"X-Request-Id": "rid-json-1"})
    assert r.status_code == 401
    assert daemon.stop() == 0
    with open(daemon.log_path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    access = [x for x in lines if x.get("type") == "access" and
              x["request_id"] == "rid-json-1"]
    assert len(access) == 1
    assert access[0]["path"] == "/api/v1/me" and access[0]["status"] == 401
    assert access[0]["method"] == "GET"


def test_text_format_is_one_short_line_per_request(make_daemon):
    d = make_daemon(log_format="text")
    r = d.get("/api/v1/me", headers={"X-Request-Id": "rid-text-1"})
    assert r.status_code == 401
    d.get("/healthz", headers={"X-Request-Id": "rid-text-2"})
    assert d.stop() == 0
    with open(d.log_path) as f:
        text = f.read()
    lines = [x for x in text.splitlines() if x]
    assert lines and not [x for x in lines if x.startswith("{")]  # no JSON
    assert all(re.match(r"\d\d:\d\d:\d\d ", x) for x in lines), lines
    assert re.search(r"^\d\d:\d\d:\d\d GET /api/v1/me 401 \d+\.\dms "
                     r"rid=rid-text-1$", text, re.M), text
    assert re.search(r"^\d\d:\d\d:\d\d GET /healthz 200 \d+\.\dms "
                     r"rid=rid-text-2$", text, re.M), text
    # rc_log lines too: "HH:MM:SS level message".
    assert re.search(r"^\d\d:\d\d:\d\d info listening", text, re.M) or \
        re.search(r"^\d\d:\d\d:\d\d (info|warn) ", text, re.M), text


def test_bad_log_format_is_refused():
    r = run_cli("config", "check", env={"ROLLCALL_LOG_FORMAT": "xml"})
    assert r.returncode != 0 and "log.format" in r.stderr
