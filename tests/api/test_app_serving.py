"""Serving the browser app (issue 10): security headers on the app and the
API, ETag revalidation, a year of caching for versioned URLs, MIME types
ES modules need, and the npm libraries under /vendor/ from
server.vendor_dir."""
import os
import shutil
import tempfile

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
           "img-src 'self' blob: data:; media-src 'self' blob:; "
           "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
           "form-action 'self'; object-src 'none'")
IMMUTABLE = "public, max-age=31536000, immutable"


def assert_app_headers(r):
    assert r.headers["Content-Security-Policy"] == APP_CSP
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Permissions-Policy"] == "camera=(self)"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_site():
    tmp = tempfile.mkdtemp()
    static = os.path.join(tmp, "static")
    write(os.path.join(static, "index.html"), "<p>app</p>")
    for name, body in [("app.js", "export const a = 1;"),
                       ("mod.mjs", "export {};"), ("site.css", "p{}"),
                       ("icon.svg", "<svg/>"), ("data.json", "{}"),
                       ("app.webmanifest", "{}"), ("logo.png", "png"),
                       ("favicon.ico", "ico")]:
        write(os.path.join(static, name), body)
    vendor = os.path.join(tmp, "node_modules")
    write(os.path.join(vendor, "htm", "dist", "htm.mjs"), "export default 1;")
    write(os.path.join(vendor, "htm", "dist", "htm.js"), "var htm;")
    write(os.path.join(vendor, "htm", "dist", "htm.js.map"), "{}")
    write(os.path.join(vendor, "preact", "style.css"), "b{}")
    write(os.path.join(vendor, "preact", "package.json"), "{}")
    write(os.path.join(vendor, "preact", "README.md"), "# readme")
    write(os.path.join(vendor, ".bin", "tool.js"), "evil()")
    write(os.path.join(vendor, "preact", ".secret.js"), "evil()")
    write(os.path.join(tmp, "outside.js"), "TOP SECRET")
    os.symlink(os.path.join(tmp, "outside.js"),
               os.path.join(vendor, "preact", "leak.js"))
    return tmp, static, vendor


def test_app_pages_carry_security_headers_and_revalidate(daemon):
    r = daemon.get("/")
    assert r.status_code == 200
    assert_app_headers(r)
    assert r.headers["Cache-Control"] == "no-cache"
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith('W/')
    r = daemon.get("/", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert_app_headers(r)
    # A client route is index.html, revalidated too, even with ?v=.
    r = daemon.get("/people/42?v=3")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    assert_app_headers(r)
    # A missing file is a problem, still under the app's headers.
    r = daemon.get("/missing.js")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_api_replies_are_not_sniffed_nor_framed(daemon):
    for path in ("/healthz", "/api/v1/me", "/api/v1/nothing"):
        r = daemon.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"] == "no-referrer"


def test_versioned_assets_are_immutable_and_types_are_right(make_daemon):
    tmp, static, vendor = make_site()
    d = make_daemon(server_static_dir=static, server_vendor_dir=vendor)
    types = {"/app.js": "text/javascript; charset=utf-8",
             "/mod.mjs": "text/javascript; charset=utf-8",
             "/site.css": "text/css; charset=utf-8",
             "/icon.svg": "image/svg+xml",
             "/data.json": "application/json; charset=utf-8",
             "/app.webmanifest": "application/manifest+json",
             "/logo.png": "image/png", "/favicon.ico": "image/x-icon",
             "/index.html": "text/html; charset=utf-8"}
    for path, ctype in types.items():
        r = d.get(path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"] == ctype, path
    r = d.get("/app.js")
    assert r.headers["Cache-Control"] == "no-cache"
    r = d.get("/app.js?v=0.1.0")
    assert r.headers["Cache-Control"] == IMMUTABLE
    assert_app_headers(r)
    r2 = d.get("/app.js?v=0.1.0", headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    assert r2.headers["Cache-Control"] == IMMUTABLE
    shutil.rmtree(tmp)


def test_vendor_serves_only_library_code(make_daemon):
    tmp, static, vendor = make_site()
    d = make_daemon(server_static_dir=static, server_vendor_dir=vendor)
    r = d.get("/vendor/htm/dist/htm.mjs")
    assert r.status_code == 200 and r.text == "export default 1;"
    assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert_app_headers(r)
    r2 = d.get("/vendor/htm/dist/htm.mjs",
               headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    r = d.get("/vendor/htm/dist/htm.js?v=3.1.1")
    assert r.text == "var htm;" and r.headers["Cache-Control"] == IMMUTABLE
    assert d.get("/vendor/htm/dist/htm.js.map").status_code == 200
    assert d.get("/vendor/preact/style.css").text == "b{}"
    for path in ("/vendor/preact/package.json", "/vendor/preact/README.md",
                 "/vendor/.bin/tool.js", "/vendor/preact/.secret.js",
                 "/vendor/preact/leak.js", "/vendor/htm/../../outside.js",
                 "/vendor/%2e%2e/outside.js", "/vendor/htm/dist",
                 "/vendor/", "/vendor/nothing.js"):
        r = d.get(path)
        assert r.status_code in (400, 404), path
        assert r.headers["Content-Type"] == "application/problem+json", path
        assert "evil" not in r.text and "SECRET" not in r.text, path
    shutil.rmtree(tmp)


def test_missing_vendor_dir_serves_nothing(make_daemon):
    tmp, static, vendor = make_site()
    d = make_daemon(server_static_dir=static,
                    server_vendor_dir=os.path.join(tmp, "none"))
    assert d.get("/").status_code == 200
    r = d.get("/vendor/htm/dist/htm.mjs")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    shutil.rmtree(tmp)
