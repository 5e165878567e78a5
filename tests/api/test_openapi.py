"""openapi.json stays true to the code: every route the C sources register
is documented with its method, and nothing documented is missing."""
import json
import os
import re

from conftest import ROOT

ROUTE = re.compile(r'\{\s*RC_HTTP_(GET|POST|PUT|PATCH|DELETE)\s*,\s*"(/[^"]*)"')
TEST_ONLY = ("/api/v1/test/",)


def routes_in_sources():
    found = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(dirpath, name)) as f:
                    for method, path in ROUTE.findall(f.read()):
                        if not path.startswith(TEST_ONLY):
                            found.add((method.lower(), path))
    return found


def test_openapi_matches_routes(daemon):
    r = daemon.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    in_code = routes_in_sources()
    assert in_code, "no routes found in src/"
    assert in_code - documented == set(), "undocumented routes"
    assert documented - in_code == set(), "documented routes the code lacks"
    with open(os.path.join(ROOT, "static", "openapi.json")) as f:
        assert json.load(f) == spec
