"""Backups (issue 12, section 3): `rollcall backup` while requests run,
`backup verify`, `restore` into a fresh database, store and keys dir of the
same test cluster and a daemon started on them; damaged archives refused
with nothing written; non-empty targets refused without --force; `backup
prune`; `store gc` kept off while a backup holds the gc lock. Real
PostgreSQL, real daemon, real face photos."""
import calendar
import contextlib
import hashlib
import json
import os
import stat
import subprocess
import tarfile
import threading
import time

import pytest

from conftest import ROOT
from test_faces import photo
from test_pictures import png
from test_users import PW, add_user, login, make_org, token

ATT = "/api/v1/attendance"
PICS = "/api/v1/pictures"
QS = "/api/v1/question-sets"


def img(h):
    return dict(h, **{"Content-Type": "image/png"})


def counts_of(d):
    """Every public table's row count, as the manifest has them."""
    out = d.psql("SELECT string_agg(relname, ' ' ORDER BY relname) FROM "
                 "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')")
    return {t: int(d.psql("SELECT count(*) FROM %s" % t))
            for t in out.split()}


def manifest_of(path):
    with tarfile.open(path) as t:
        return json.load(t.extractfile("manifest.json"))


def members_of(path):
    with tarfile.open(path) as t:
        return t.getnames()


def tables_in(d):
    return int(d.psql("SELECT count(*) FROM pg_tables WHERE schemaname = "
                      "'public'"))


def files_under(path):
    return sorted(os.path.relpath(os.path.join(r, f), path)
                  for r, _, fs in os.walk(path) for f in fs)


@pytest.fixture
def world(make_daemon):
    """acme: an admin, ann and bob with passwords, check-ins and outs, a
    leave request, pictures, bob's enrolled face, a question set ann
    answered; globex: its admin."""
    d = make_daemon()
    d.acme = make_org(d, "acme")
    make_org(d, "globex")
    d.ids = {e: add_user(d, e, role, org) for e, role, org in [
        ("admin@acme.test", "admin", "acme"),
        ("ann@acme.test", "employee", "acme"),
        ("bob@acme.test", "employee", "acme"),
        ("admin@globex.test", "admin", "globex")]}
    d.h = {e: token(d, e) for e in d.ids}
    ann, bob, admin = (d.h[e] for e in ("ann@acme.test", "bob@acme.test",
                                        "admin@acme.test"))
    for verb in ("check-in", "check-out", "check-in"):
        assert d.post(ATT + "/" + verb, headers=ann).status_code == 201
    assert d.post(ATT + "/check-in", headers=bob).status_code == 201
    annual = d.post("/api/v1/leave/types", headers=admin, json={
        "name": "Annual", "days_per_year": 10}).json()["id"]
    r = d.post("/api/v1/leave/requests", headers=ann, json={
        "type_id": annual, "start_date": "2027-03-01",
        "end_date": "2027-03-02", "reason": "family"})
    assert r.status_code == 201, r.text
    d.pictures = []
    for who, w in ((ann, 320), (bob, 400), (ann, 240)):
        r = d.post(PICS, headers=img(who), data=png(w, 200))
        assert r.status_code == 201, r.text
        d.pictures.append(r.json())
    r = d.post("/api/v1/users/%s/faces" % d.ids["bob@acme.test"],
               headers=img(admin), data=photo("s15", "01"))
    assert r.status_code == 201, r.text
    qs = d.post(QS, headers=admin, json={"title": "Safety",
                                         "published": True}).json()
    q = d.post(QS + "/%s/questions" % qs["id"], headers=admin, json={
        "kind": "single", "prompt": "Stop?", "choices": ["Red", "Green"],
        "answer": [0], "points": 2}).json()
    r = d.post(QS + "/%s/submissions" % qs["id"], headers=ann, json={
        "answers": [{"question_id": q["id"],
                     "choice_ids": [q["choices"][0]["id"]]}]})
    assert r.status_code == 201 and r.json()["score"] == 2, r.text
    d.quiz = (qs["id"], r.json()["id"])
    return d


def busy(d, stop, errors):
    """Check-ins, check-outs and uploads while the backup runs."""
    h = token(d, "bob@acme.test")
    verbs = ("check-out", "check-in")
    i = 0
    while not stop.is_set():
        r = d.post(ATT + "/" + verbs[i % 2], headers=h)
        if r.status_code != 201:
            errors.append(r.text)
        r = d.post(PICS, headers=img(h), data=png(200 + i % 50, 120))
        if r.status_code != 201:
            errors.append(r.text)
        i += 1


def backup_while_busy(d, path, *extra):
    stop, errors = threading.Event(), []
    t = threading.Thread(target=busy, args=(d, stop, errors))
    t.start()
    time.sleep(0.3)
    try:
        r = d.cli("backup", "--out", path, *extra)
    finally:
        time.sleep(0.2)
        stop.set()
        t.join()
    assert errors == []
    return r


def fresh_target(make_daemon, world):
    """A daemon's settings on a new, empty database (not the migrated copy
    make_daemon gives), store and keys dir; not started."""
    return make_daemon(dbname=world.pg.create_db(), start=False)


def restore(target, path, *extra, check=True):
    return target.cli("restore", "--in", path, *extra, check=check)


def test_backup_then_restore_gives_back_the_same_service(world, make_daemon):
    d = world
    path = os.path.join(d.tmp, "nightly.tar")
    r = backup_while_busy(d, path)
    assert "wrote " + path in r.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [f for f in os.listdir(d.tmp) if ".tmp-" in f]

    m = manifest_of(path)
    assert m["format"] == "rollcall-backup/1" and m["keys_included"] is True
    assert m["schema"]["migration"] == sorted(
        f for f in os.listdir(os.path.join(ROOT, "sql")))[-1]
    names = members_of(path)
    assert names[0] == "db.dump" and names[-2:] == ["manifest.json",
                                                    "manifest.sha256"]
    assert set(m["members"]) == set(names) - {"manifest.json",
                                              "manifest.sha256"}
    with tarfile.open(path) as t:
        for name, entry in m["members"].items():
            data = t.extractfile(name).read()
            assert len(data) == entry["size"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert any(n.startswith("keys/") and n.endswith(".pem") for n in names)
    # Requests went on during the backup: the live tables grew past the
    # snapshot the manifest describes.
    assert counts_of(d)["pictures"] > m["counts"]["pictures"] >= 4
    assert m["counts"]["users"] == 4 and m["counts"]["leave_requests"] == 1
    assert m["counts"]["face_templates"] == 1
    assert m["counts"]["question_submissions"] == 1
    assert "verify" not in d.cli("backup", "verify", path).stderr

    t = fresh_target(make_daemon, d)
    assert tables_in(t) == 0
    r = restore(t, path)
    assert "restored" in r.stdout, r.stdout + r.stderr
    # The rows are the snapshot's, and every blob a row names is there.
    assert counts_of(t) == m["counts"]
    blobs = os.path.join(t.tmp, "blobs")
    keys = set(t.psql("SELECT sha256 || ' ' || thumb_sha256 FROM pictures")
               .split())
    assert keys and all(os.path.exists(os.path.join(
        blobs, k[:2], k[2:4], k)) for k in keys)
    kdir = os.path.join(t.tmp, "keys")
    assert stat.S_IMODE(os.stat(kdir).st_mode) == 0o700
    for f in os.listdir(kdir):
        assert stat.S_IMODE(os.stat(os.path.join(kdir, f)).st_mode) == 0o600

    t.start()
    # The same people sign in with the same passwords; a token the old
    # daemon signed verifies too: the signing keys came back.
    for email in d.ids:
        assert login(t, email, PW).status_code == 200
    assert login(t, "ann@acme.test", PW + "x").status_code == 401
    ann_old = d.h["ann@acme.test"]
    r = t.get("/api/v1/me", headers=ann_old)
    assert r.status_code == 200 and r.json()["email"] == "ann@acme.test"
    ann = token(t, "ann@acme.test")
    for p in d.pictures:
        got = t.get(PICS + "/" + p["id"], headers=ann if p is not
                    d.pictures[1] else token(t, "bob@acme.test"))
        assert got.status_code == 200, got.text
        assert hashlib.sha256(got.content).hexdigest() == p["sha256"]
    # Bob's face template came back: the same probe scores the same.
    admin_new = token(t, "admin@acme.test")
    probe = photo("s15", "06")
    url = "/api/v1/faces/verify?user_id=%s" % d.ids["bob@acme.test"]
    old = d.post(url, headers=img(d.h["admin@acme.test"]), data=probe).json()
    new = t.post(url, headers=img(admin_new), data=probe).json()
    assert new["similarity"] == pytest.approx(old["similarity"], abs=1e-6)
    assert new["match"] is True
    # Ann's answered question set came back with its score.
    set_id, sub_id = d.quiz
    mine = t.get(QS + "/%s/submissions" % set_id, headers=ann).json()
    assert [(x["id"], x["score"]) for x in mine["items"]] == [(sub_id, 2)]
    # And it serves writes: a check-out on the restored state (ann was in).
    assert t.post(ATT + "/check-out", headers=ann).status_code == 201


def flip_byte(src, dst, offset):
    data = bytearray(open(src, "rb").read())
    data[offset] ^= 0x01
    with open(dst, "wb") as f:
        f.write(data)


def assert_nothing_written(t):
    assert tables_in(t) == 0
    assert files_under(os.path.join(t.tmp, "blobs")) == []
    kdir = os.path.join(t.tmp, "keys")
    assert not os.path.isdir(kdir) or os.listdir(kdir) == []


def test_damaged_archives_are_refused_and_nothing_is_written(world,
                                                             make_daemon):
    d = world
    path = os.path.join(d.tmp, "good.tar")
    d.cli("backup", "--out", path)
    size = os.path.getsize(path)
    with tarfile.open(path) as t:
        blob = next(m for m in t.getmembers() if m.name.startswith("blobs/"))
        mani = t.getmember("manifest.json")
    bad = os.path.join(d.tmp, "bad.tar")
    t = fresh_target(make_daemon, d)
    cases = [
        ("in the dump", 2048, "db.dump"),
        ("in a blob", blob.offset_data + 10, blob.name),
        ("in a member header", blob.offset + 3, "header"),
        ("in the manifest", mani.offset_data + 5, "manifest"),
    ]
    for what, offset, word in cases:
        flip_byte(path, bad, offset)
        r = d.cli("backup", "verify", bad, check=False)
        assert r.returncode == 1, what
        assert "bad archive" in r.stderr and word in r.stderr, (what, r.stderr)
        r = restore(t, bad, "--force", check=False)
        assert r.returncode == 1 and "nothing was written" in r.stderr, what
        assert_nothing_written(t)
    for cut in (size // 2, size - 1024, 100):
        with open(bad, "wb") as f:
            f.write(open(path, "rb").read()[:cut])
        r = d.cli("backup", "verify", bad, check=False)
        assert r.returncode == 1 and "truncated" in r.stderr, (cut, r.stderr)
        assert restore(t, bad, check=False).returncode == 1
        assert_nothing_written(t)
    r = d.cli("backup", "verify", os.path.join(d.tmp, "none.tar"),
              check=False)
    assert r.returncode == 1 and "No such file" in r.stderr
    assert d.cli("backup", "verify", path).returncode == 0


def test_non_empty_targets_are_refused_without_force(world, make_daemon):
    d = world
    path = os.path.join(d.tmp, "b.tar")
    d.cli("backup", "--out", path, "--no-keys")
    assert not [n for n in members_of(path) if n.startswith("keys/")]
    assert manifest_of(path)["keys_included"] is False
    before = counts_of(d)
    # The daemon's own database, store and keys dir.
    r = restore(d, path, check=False)
    assert r.returncode == 1 and "non-empty" in r.stderr, r.stderr
    assert "database" in r.stderr and "store.dir" in r.stderr
    assert counts_of(d) == before

    t = fresh_target(make_daemon, d)
    restore(t, path)
    again = restore(t, path, check=False)
    assert again.returncode == 1 and "non-empty" in again.stderr
    # --force restores over it: the dump's objects are dropped and made
    # again, so the rows are the archive's, not twice.
    t.psql("DELETE FROM leave_requests")
    restore(t, path, "--force")
    assert counts_of(t) == manifest_of(path)["counts"]
    # No keys in the archive: the daemon makes its own and starts.
    t.start()
    assert login(t, "bob@acme.test", PW).status_code == 200


def test_backup_dir_default_name_and_usage(world):
    d = world
    out = os.path.join(d.tmp, "backups")
    r = d.cli("backup", "--out", out + "/")
    names = os.listdir(out)
    assert len(names) == 1 and names[0].startswith("rollcall-") and \
        names[0].endswith("Z.tar") and len(names[0]) == len(
            "rollcall-20261202T001500Z.tar"), names
    assert os.path.join(out, names[0]) in r.stdout
    for args in (["backup", "--bogus"], ["restore"],
                 ["backup", "prune", "--keep-daily", "x"],
                 ["backup", "prune", "--dir", out, "--keep-daily", "0",
                  "--keep-monthly", "0"]):
        assert d.cli(*args, check=False).returncode == 2, args


def prune_names():
    """Backups every day for 15 months, two on the newest day, and files
    that are not rollcall's."""
    names = []
    day = 86400
    start = calendar.timegm((2025, 9, 1, 3, 0, 0, 0, 0, 0))
    for i in range(460):
        names.append(time.strftime("rollcall-%Y%m%dT%H%M%SZ.tar",
                                   time.gmtime(start + i * day)))
    names.append(time.strftime("rollcall-%Y%m%dT%H%M%SZ.tar",
                               time.gmtime(start + 459 * day + 3600)))
    return names


def test_prune_keeps_newest_per_day_and_per_month(world):
    d = world
    pdir = os.path.join(d.tmp, "pruned")
    os.makedirs(pdir)
    names = prune_names()
    others = ["notes.txt", "rollcall-manual.tar",
              ".rollcall-20261201T000000Z.tar.tmp-abc123"]
    for n in names + others:
        open(os.path.join(pdir, n), "w").close()
    newest = sorted(names, reverse=True)
    # Expected: the newest of each of the 7 newest days, and of each of
    # the 12 newest months.
    keep, days, months = set(), [], []
    for n in newest:
        if n[9:17] not in days and len(days) < 7:
            days.append(n[9:17])
            keep.add(n)
        if n[9:15] not in months and len(months) < 12:
            months.append(n[9:15])
            keep.add(n)
    # The days run to 2026-12-04: the 7 days are 11-28 to 12-04, and 12-04
    # (the later of its two) and 11-30 are also their months' newest; then
    # the ends of October 2026 back to January 2026.
    assert len(keep) == 7 + 12 - 2
    assert "rollcall-20261204T040000Z.tar" in keep
    assert "rollcall-20261128T030000Z.tar" in keep
    assert "rollcall-20261127T030000Z.tar" not in keep
    assert "rollcall-20260131T030000Z.tar" in keep
    assert "rollcall-20251231T030000Z.tar" not in keep
    r = d.cli("backup", "prune", "--dir", pdir, "--keep-daily", "7",
              "--keep-monthly", "12", "--dry-run")
    assert len(os.listdir(pdir)) == len(names) + len(others)
    assert "(dry run)" in r.stdout
    d.cli("backup", "prune", "--dir", pdir, "--keep-daily", "7",
          "--keep-monthly", "12")
    assert set(os.listdir(pdir)) == keep | set(others)
    assert newest[1] not in keep  # the older one of the newest day went
    # Run again: nothing more to delete.
    r = d.cli("backup", "prune", "--dir", pdir, "--keep-daily", "7",
              "--keep-monthly", "12")
    assert "0 deleted" in r.stdout


@contextlib.contextmanager
def backup_lock(d):
    """What a running backup holds while it copies blobs: the gc lock,
    shared, from a psql session that stays open."""
    holder = subprocess.Popen(["psql", "-X", "-q", "-tA",
                               d.pg.url_for(d.dbname)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    holder.stdin.write("SELECT pg_advisory_lock_shared(727278), 'held';\n")
    holder.stdin.flush()
    assert "held" in holder.stdout.readline()
    try:
        yield
    finally:
        holder.stdin.close()
        holder.wait(10)
        holder.stdout.close()


def blob_file(d, key):
    return os.path.join(d.tmp, "blobs", key[:2], key[2:4], key)


def wait_until(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not cond():
        time.sleep(0.05)
    return cond()


def test_no_blob_is_deleted_while_a_backup_copies_them(world):
    """gc refuses to run, and the jobs worker keeps a deleted picture's
    blobs until the backup is done."""
    d = world
    p = d.pictures[0]
    thumb = d.psql("SELECT thumb_sha256 FROM pictures WHERE id = '%s'"
                   % p["id"])
    with backup_lock(d):
        r = d.cli("store", "gc", "--grace", "0", check=False)
        assert r.returncode == 1 and "backup" in r.stderr, r.stderr
        assert "deleted" not in r.stdout
        assert d.delete(PICS + "/" + p["id"],
                        headers=d.h["ann@acme.test"]).status_code == 204
        assert wait_until(lambda: "backup" in d.psql(
            "SELECT coalesce(string_agg(last_error, ' '), '') FROM jobs "
            "WHERE kind = 'blob_delete' AND state = 'pending'"))
        assert os.path.exists(blob_file(d, p["sha256"]))
        assert os.path.exists(blob_file(d, thumb))
    assert wait_until(lambda: not os.path.exists(blob_file(d, p["sha256"])))
    assert not os.path.exists(blob_file(d, thumb))
    r = d.cli("store", "gc", "--grace", "0")
    assert "store gc:" in r.stdout
