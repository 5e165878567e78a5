"""Pictures (issue 5, items 1-2 and 6): uploads as a raw body or a
multipart part, judged from their bytes (type, size and pixel limits before
any decoding), stored upright as JPEG without metadata next to a thumbnail;
who may read and delete them; blobs unlinked by the jobs worker once no row
names them; check-in photos purged after face.photo_retention_days. Images
are made with PIL at run time; the daemon and PostgreSQL are real."""
import io
import os
import re
import struct
import time
import zlib

import pytest
from PIL import Image

from test_users import add_user, make_org, token

API = "/api/v1/pictures"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- images --------------------------------------------------------------

def two_tone(w, h, left=(220, 30, 30), right=(30, 30, 220)):
    """Left half one colour, right half another: shows a rotation."""
    img = Image.new("RGB", (w, h), right)
    img.paste(Image.new("RGB", (w // 2, h), left), (0, 0))
    return img


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png(w=320, h=200):
    return encode(two_tone(w, h), "PNG")


def jpeg_rotated_with_gps(w=300, h=200):
    """A JPEG stored sideways with EXIF orientation 6 (rotate 90 degrees
    clockwise to view) and a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E",
                    4: (13.0, 24.0, 36.0)}
    data = encode(two_tone(w, h), "JPEG", exif=exif, quality=92)
    back = Image.open(io.BytesIO(data)).getexif()
    assert back[0x0112] == 6 and back.get_ifd(0x8825)[1] == "N"
    return data


def jpeg_markers(data):
    """The markers of a JPEG's segments up to the scan (SOS)."""
    assert data[:2] == b"\xff\xd8"
    out, i = [], 2
    while i + 4 <= len(data):
        assert data[i] == 0xff, "no marker at %d" % i
        m = data[i + 1]
        out.append(m)
        if m == 0xda:
            break
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return out


def png_claiming(w, h):
    """A PNG signature and a valid IHDR (CRC included) for w x h, then a
    few bytes: a decompression bomb's header without the bomb."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(
        ">I", zlib.crc32(b"IHDR" + ihdr) & 0xffffffff)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", len(idat)) +
            b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat)))


def noise_png(w, h):
    """Incompressible pixels, so the file is about 3 * w * h bytes."""
    return encode(Image.frombytes("RGB", (w, h), os.urandom(3 * w * h)),
                  "PNG")


def decode(data):
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# ---- the world ----------------------------------------------------------

def count(d, table="pictures", where="true"):
    return int(d.psql("SELECT count(*) FROM %s WHERE %s" % (table, where)))


def blob_files(d):
    """Names of the blobs under the daemon's store (tmp/ left out)."""
    out = set()
    for top, dirs, files in os.walk(os.path.join(d.tmp, "blobs")):
        dirs[:] = [x for x in dirs if x != "tmp"]
        out.update(f for f in files if HEX64.match(f))
    return out


def wait_until(pred, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def upload(d, who, data, ctype="image/png"):
    return d.post(API, data=data, headers=dict(who, **{"Content-Type": ctype}))


def problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text
    return r.json()


@pytest.fixture
def world(make_daemon):
    """acme: an admin, ann and bob (employees); beta: its admin; a
    superadmin."""
    d = make_daemon()
    d.acme = make_org(d, "acme")
    d.beta = make_org(d, "beta")
    add_user(d, "admin@acme.test", "admin", "acme")
    d.ann_id = add_user(d, "ann@acme.test", "employee", "acme")
    add_user(d, "bob@acme.test", "employee", "acme")
    add_user(d, "admin@beta.test", "admin", "beta")
    add_user(d, "root@ops.test", "superadmin")
    d.admin = token(d, "admin@acme.test")
    d.ann = token(d, "ann@acme.test")
    d.bob = token(d, "bob@acme.test")
    d.beta_admin = token(d, "admin@beta.test")
    d.root = token(d, "root@ops.test")
    return d


# ---- uploads -------------------------------------------------------------

def test_png_in_jpeg_out_with_thumbnail(world):
    d = world
    r = upload(d, d.ann, png(320, 200))
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["content_type"] == "image/jpeg"
    assert (p["width"], p["height"]) == (320, 200)
    assert p["thumb"] == {"width": 256, "height": 160}
    assert HEX64.match(p["sha256"]) and p["created_at"].endswith("Z")
    assert r.headers["Location"] == API + "/" + p["id"]
    row = d.psql("SELECT org_id || ' ' || owner_id || ' ' || purpose || ' ' ||"
                 " bytes FROM pictures WHERE id = '%s'" % p["id"])
    assert row == "%s %s upload %d" % (d.acme, d.ann_id, p["bytes"])

    full = d.get(API + "/" + p["id"], headers=d.ann)
    assert full.status_code == 200
    assert full.headers["Content-Type"] == "image/jpeg"
    assert full.headers["Cache-Control"] == "private"
    assert full.headers["ETag"] == '"%s"' % p["sha256"]
    assert len(full.content) == p["bytes"]
    img = decode(full.content)
    assert img.format == "JPEG" and img.size == (320, 200)
    # Colours survive the conversion (left red, right blue).
    assert img.getpixel((40, 100))[0] > 150 and img.getpixel((280, 100))[2] > 150

    thumb = d.get(API + "/" + p["id"] + "?size=thumb", headers=d.ann)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    t = decode(thumb.content)
    assert t.format == "JPEG" and max(t.size) <= 256 and t.size == (256, 160)
    assert thumb.headers["ETag"] != full.headers["ETag"]
    # The two blobs are in the store under their SHA-256.
    assert blob_files(d) == {p["sha256"], thumb.headers["ETag"].strip('"')}

    # The ETag answers a conditional GET without the bytes.
    r = d.get(API + "/" + p["id"], headers=dict(
        d.ann, **{"If-None-Match": full.headers["ETag"]}))
    assert r.status_code == 304 and r.content == b""


def test_exif_orientation_applied_and_metadata_dropped(world):
    d = world
    r = upload(d, d.ann, jpeg_rotated_with_gps(300, 200), "image/jpeg")
    assert r.status_code == 201, r.text
    p = r.json()
    assert (p["width"], p["height"]) == (200, 300)      # upright: swapped
    data = d.get(API + "/" + p["id"], headers=d.ann).content
    # No APP1 (EXIF, XMP) or any other metadata segment survives.
    assert b"Exif" not in data and b"N\x00\x00\x00\x00\x02\x00\x05" not in data
    assert not set(jpeg_markers(data)) & set(range(0xe1, 0xf0)) - {0xee}
    img = decode(data)
    assert img.size == (200, 300)
    assert not img.getexif()                             # no metadata at all
    # Rotated clockwise: the stored left (red) half is now on top.
    top, bottom = img.getpixel((100, 40)), img.getpixel((100, 260))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom
    thumb = decode(d.get(API + "/" + p["id"] + "?size=thumb",
                         headers=d.ann).content)
    assert thumb.size[1] == 256 and thumb.size[0] < thumb.size[1]


def test_multipart_upload(world):
    d = world
    data = png(120, 90)
    r = d.post(API, headers=d.bob, files={
        "note": (None, "hello"),
        "file": ("holiday.png", data, "image/png")})
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (120, 90)
    # The same bytes as a raw body give the same stored JPEG.
    raw = upload(d, d.bob, data)
    assert raw.status_code == 201 and raw.json()["sha256"] == r.json()["sha256"]


def raw_multipart(boundary, parts, close=True):
    body = b""
    for headers, content in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    if close:
        body += b"--" + boundary + b"--\r\n"
    return body


@pytest.mark.parametrize("ctype,body,status,code", [
    # No boundary parameter.
    ("multipart/form-data", None, 400, "malformed_multipart"),
    # The body never closes.
    ("multipart/form-data; boundary=XyZ", "unclosed", 400, "malformed_multipart"),
    # A part without Content-Disposition.
    ("multipart/form-data; boundary=XyZ", "nodisp", 400, "malformed_multipart"),
    # Not multipart at all under a multipart type.
    ("multipart/form-data; boundary=XyZ", "junk", 400, "malformed_multipart"),
    # Sound, but no part named file (or two of them).
    ("multipart/form-data; boundary=XyZ", "other", 422, "validation_failed"),
    ("multipart/form-data; boundary=XyZ", "twofiles", 422, "validation_failed"),
])
def test_bad_multipart(world, ctype, body, status, code):
    d = world
    img = png(40, 40)
    disp = b'Content-Disposition: form-data; name="file"; filename="a.png"'
    bodies = {
        None: raw_multipart(b"XyZ", [(disp, img)]),
        "unclosed": raw_multipart(b"XyZ", [(disp, img)], close=False),
        "nodisp": raw_multipart(b"XyZ", [(b"Content-Type: image/png", img)]),
        "junk": b"this is not a multipart body at all",
        "other": raw_multipart(b"XyZ", [(
            b'Content-Disposition: form-data; name="photo"', img)]),
        "twofiles": raw_multipart(b"XyZ", [(disp, img), (disp, img)]),
    }
    r = upload(d, d.ann, bodies[body], ctype)
    p = problem(r, status, code)
    if status == 422:
        assert p["errors"][0]["field"] == "file"
    assert count(d) == 0 and blob_files(d) == set()


def test_bad_images_change_nothing(world):
    d = world
    good = jpeg_rotated_with_gps()
    rss0 = d.rss_kib()
    cases = [
        # A text file renamed .jpg and sent as a JPEG.
        (b"Dear diary, today I uploaded a text file.\n" * 20, "image/jpeg",
         415, "not_an_image"),
        # A JPEG cut in half.
        (good[:len(good) // 2], "image/jpeg", 422, "corrupt_image"),
        # A JPEG cut inside its header.
        (good[:30], "image/jpeg", 422, "corrupt_image"),
        # 30000 x 30000 claimed by a tiny PNG: refused from the header.
        (png_claiming(30000, 30000), "image/png", 413, "too_many_pixels"),
        # JSON is not an image.
        (b'{"picture": "me.jpg"}', "application/json", 415,
         "unsupported_media_type"),
        (b"", "image/png", 422, "validation_failed"),
    ]
    for data, ctype, status, code in cases:
        problem(upload(d, d.ann, data, ctype), status, code)
    # The bomb header many times over: nothing is ever decoded.
    bomb = png_claiming(30000, 30000)
    for _ in range(20):
        problem(upload(d, d.ann, bomb), 413, "too_many_pixels")
    assert d.rss_kib() - rss0 < 8 * 1024, (rss0, d.rss_kib())
    assert count(d) == 0 and blob_files(d) == set()
    # The same bytes as a multipart part are judged the same way.
    problem(d.post(API, headers=d.ann, files={"file": ("bomb.png", bomb)}),
            413, "too_many_pixels")


def test_pixel_limit_and_size_limit(make_daemon):
    d = make_daemon(limits_max_upload_bytes=100000,
                    limits_max_image_pixels=50000)
    make_org(d, "acme")
    add_user(d, "ann@acme.test", "employee", "acme")
    ann = token(d, "ann@acme.test")
    big = noise_png(150, 150)                # ~67 KB, 22,500 pixels: fine
    assert len(big) < 100000
    assert upload(d, ann, big).status_code == 201
    problem(upload(d, ann, noise_png(200, 200)), 413, "too_large")  # ~120 KB
    p = problem(upload(d, ann, png(300, 200)), 413, "too_many_pixels")
    assert "60000" in p["detail"] or "300 x 200" in p["detail"]
    problem(d.post(API, headers=ann, files={"file": (
        "n.png", noise_png(200, 200))}), 413, "too_large")
    assert count(d) == 1


def test_who_may_upload_and_read(world):
    d = world
    pid = upload(d, d.ann, png()).json()["id"]
    assert d.post(API, data=png(), headers={"Content-Type": "image/png"}
                  ).status_code == 401
    problem(upload(d, d.root, png()), 403, "forbidden")
    # Owner and the org's admin read it.
    assert d.get(API + "/" + pid, headers=d.ann).status_code == 200
    assert d.get(API + "/" + pid, headers=d.admin).status_code == 200
    # Another person, another org's admin, a superadmin: no such picture.
    problem(d.get(API + "/" + pid, headers=d.bob), 404, "not_found")
    problem(d.get(API + "/" + pid, headers=d.beta_admin), 404, "not_found")
    problem(d.get(API + "/" + pid, headers=d.root), 403, "forbidden")
    problem(d.get(API + "/00000000-0000-0000-0000-000000000000",
                  headers=d.ann), 404, "not_found")
    problem(d.get(API + "/not-a-uuid", headers=d.ann), 404, "not_found")
    p = problem(d.get(API + "/" + pid + "?size=huge", headers=d.ann), 422,
                "validation_failed")
    assert p["errors"][0]["field"] == "size"
    assert d.get(API + "/" + pid + "?size=full", headers=d.ann).status_code == 200
    # Others cannot delete it either, and it stays.
    problem(d.delete(API + "/" + pid, headers=d.bob), 404, "not_found")
    problem(d.delete(API + "/" + pid, headers=d.beta_admin), 404, "not_found")
    assert count(d) == 1


def test_delete_removes_row_then_blobs(world):
    d = world
    p = upload(d, d.ann, png()).json()
    q = upload(d, d.bob, png(200, 320)).json()
    assert len(blob_files(d)) == 4
    r = d.delete(API + "/" + p["id"], headers=d.ann)
    assert r.status_code == 204, r.text
    assert count(d, where="id = '%s'" % p["id"]) == 0
    assert count(d, "audit_log", "action = 'picture_deleted'") == 1
    problem(d.get(API + "/" + p["id"], headers=d.ann), 404, "not_found")
    problem(d.delete(API + "/" + p["id"], headers=d.ann), 404, "not_found")
    wait_until(lambda: p["sha256"] not in blob_files(d), what="blob unlinked")
    wait_until(lambda: count(d, "jobs", "kind = 'blob_delete' AND state ="
                             " 'done'") == 1, what="job done")
    assert len(blob_files(d)) == 2 and q["sha256"] in blob_files(d)
    # An admin deletes someone else's picture.
    assert d.delete(API + "/" + q["id"], headers=d.admin).status_code == 204
    wait_until(lambda: blob_files(d) == set(), what="all blobs unlinked")


def test_same_bytes_one_blob_kept_while_named(world):
    d = world
    data = png(400, 300)
    a = upload(d, d.ann, data).json()
    b = upload(d, d.bob, data).json()
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    assert len(blob_files(d)) == 2          # one JPEG and one thumbnail
    assert d.delete(API + "/" + a["id"], headers=d.ann).status_code == 204
    wait_until(lambda: count(d, "jobs", "kind = 'blob_delete' AND state ="
                             " 'done'") == 1, what="job done")
    assert a["sha256"] in blob_files(d) and len(blob_files(d)) == 2
    assert d.get(API + "/" + b["id"], headers=d.bob).status_code == 200
    assert d.delete(API + "/" + b["id"], headers=d.bob).status_code == 204
    wait_until(lambda: blob_files(d) == set(), what="blobs unlinked")


def test_small_image_is_its_own_thumbnail(world):
    d = world
    p = upload(d, d.ann, png(64, 48)).json()
    # Never upscaled: the thumbnail is the same JPEG, one blob for both.
    assert p["thumb"] == {"width": 64, "height": 48}
    assert blob_files(d) == {p["sha256"]}
    assert d.get(API + "/" + p["id"] + "?size=thumb", headers=d.ann
                 ).headers["ETag"] == '"%s"' % p["sha256"]
    assert d.delete(API + "/" + p["id"], headers=d.ann).status_code == 204
    wait_until(lambda: blob_files(d) == set(), what="blob unlinked")


def test_checkin_photos_deleted_by_admin_only(world):
    d = world
    p = upload(d, d.ann, png()).json()
    d.psql("UPDATE pictures SET purpose = 'check_in' WHERE id = '%s'" % p["id"])
    problem(d.delete(API + "/" + p["id"], headers=d.ann), 403, "forbidden")
    assert count(d) == 1
    assert d.get(API + "/" + p["id"], headers=d.ann).status_code == 200
    assert d.delete(API + "/" + p["id"], headers=d.admin).status_code == 204


def test_old_checkin_photos_are_purged(world):
    d = world
    old = upload(d, d.ann, png(400, 300)).json()
    recent = upload(d, d.ann, png(300, 400)).json()
    kept = upload(d, d.bob, png(500, 300)).json()
    d.psql("UPDATE pictures SET purpose = 'check_in', created_at = now() -"
           " interval '40 days' WHERE id = '%s'" % old["id"])
    d.psql("UPDATE pictures SET purpose = 'check_in', created_at = now() -"
           " interval '20 days' WHERE id = '%s'" % recent["id"])
    d.psql("UPDATE pictures SET created_at = now() - interval '400 days'"
           " WHERE id = '%s'" % kept["id"])      # an upload, not a photo
    event = d.psql("INSERT INTO attendance_events (org_id, user_id, kind, at,"
                   " source, picture_id) VALUES ('%s', '%s', 'in', now() -"
                   " interval '40 days', 'web', '%s') RETURNING id"
                   % (d.acme, d.ann_id, old["id"]))
    # The worker purges when it starts (then once a minute).
    d.restart()
    wait_until(lambda: count(d, where="id = '%s'" % old["id"]) == 0,
               what="old photo purged")
    wait_until(lambda: old["sha256"] not in blob_files(d), what="blob gone")
    assert count(d) == 2
    assert {recent["sha256"], kept["sha256"]} <= blob_files(d)
    assert len(blob_files(d)) == 4
    # The event stays, without its photo.
    assert d.psql("SELECT picture_id IS NULL FROM attendance_events WHERE"
                  " id = '%s'" % event) == "t"
    assert any("purged 1 check-in photo" in line.get("msg", "")
               for line in d.log_lines())


def test_mutated_uploads_get_clear_answers(world):
    """Random damage to a multipart envelope and to image bytes: every
    answer is a 201 or a problem+json 4xx, and a row exists exactly for
    each 201 (run under ASan by `make asan`)."""
    import random
    d = world
    rnd = random.Random(5)
    img = encode(two_tone(96, 64), "JPEG", quality=80)
    envelope = raw_multipart(b"b0undary", [
        (b'Content-Disposition: form-data; name="note"', b"hi"),
        (b'Content-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
         b"Content-Type: image/jpeg", img)])
    created = 0
    for i in range(150):
        base = envelope if i % 2 == 0 else img
        data = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            op, at = rnd.randrange(3), rnd.randrange(len(data))
            if op == 0:
                data[at] = rnd.randrange(256)
            elif op == 1:
                del data[at:at + rnd.randint(1, 40)]
            else:
                data[at:at] = bytes(rnd.randrange(256) for _ in range(8))
        ctype = ("multipart/form-data; boundary=b0undary" if i % 2 == 0
                 else "image/jpeg")
        r = upload(d, d.ann, bytes(data), ctype)
        if r.status_code == 201:
            created += 1
            continue
        assert r.status_code in (400, 413, 415, 422), (i, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["code"] in ("malformed_multipart", "validation_failed",
                                    "not_an_image", "corrupt_image",
                                    "too_many_pixels", "too_large"), r.text
    assert count(d) == created
    assert d.get("/readyz").status_code == 200


def test_blob_delete_job_refuses_bad_keys(world):
    """Keys name files: anything but 64 hex digits is refused outright (no
    path ever reaches the store), and the job is dead, not retried."""
    d = world
    p = upload(d, d.ann, png()).json()
    before = blob_files(d)
    for payload in ('{"keys": ["../../keys/signing.pem"]}',
                    '{"keys": "%s"}' % p["sha256"],
                    '{"keys": ["%s", 7]}' % p["sha256"],
                    '{"nothing": true}'):
        d.psql("INSERT INTO jobs (kind, payload) VALUES ('blob_delete', '%s')"
               % payload)
    wait_until(lambda: count(d, "jobs", "state = 'dead'") == 4,
               what="bad jobs dead")
    assert count(d, "jobs", "state = 'dead' AND attempts = 1") == 4
    assert blob_files(d) == before
    # A well-formed job for a key a row still names keeps the blob.
    d.psql("INSERT INTO jobs (kind, payload) VALUES ('blob_delete',"
           " jsonb_build_object('keys', jsonb_build_array('%s')))" % p["sha256"])
    wait_until(lambda: count(d, "jobs", "state = 'done'") == 1, what="job done")
    assert blob_files(d) == before
    assert d.get(API + "/" + p["id"], headers=d.ann).status_code == 200


def test_blob_stored_again_after_the_delete_was_queued_stays(world):
    """The same bytes uploaded again while their blob_delete job waits: the
    job must not unlink the fresh copy (its row may not be committed yet);
    a job queued after the last store does."""
    d = world
    p = upload(d, d.ann, png()).json()
    keys = "jsonb_build_object('keys', jsonb_build_array('%s'))" % p["sha256"]
    # The row goes without a job; the job is dated before the blob's store.
    d.psql("DELETE FROM pictures WHERE id = '%s'" % p["id"])
    d.psql("INSERT INTO jobs (kind, payload, created_at) VALUES"
           " ('blob_delete', %s, now() - interval '1 minute')" % keys)
    wait_until(lambda: count(d, "jobs", "state = 'done'") == 1, what="job done")
    assert p["sha256"] in blob_files(d)
    d.psql("INSERT INTO jobs (kind, payload) VALUES ('blob_delete', %s)" % keys)
    wait_until(lambda: count(d, "jobs", "state = 'done'") == 2, what="job done")
    assert p["sha256"] not in blob_files(d)
