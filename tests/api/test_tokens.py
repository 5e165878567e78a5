"""Forged and stale access tokens are all refused (401) on GET /api/v1/me,
and the JWKS verifies a real token in an independent implementation (jose
in Node). Tokens are forged with python3-cryptography, including some
signed with the daemon's own private key, so that each refusal is due to
the one defect the test puts in (the control token made the same way is
accepted)."""
import base64
import glob
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature

import conftest

API = "/api/v1"
PASSWORD = "correct horse battery"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
NODE_VERIFY = os.path.join(conftest.ROOT, "tests", "api", "jwks_verify.mjs")


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def part(obj):
    return b64u(json.dumps(obj, separators=(",", ":")))


def es256(key, header, claims):
    signing_input = part(header) + "." + part(claims)
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    s = min(s, P256_N - s)      # the daemon accepts the low-s form only
    return signing_input + "." + b64u(r.to_bytes(32, "big") +
                                      s.to_bytes(32, "big"))


class Ctx:
    pass


@pytest.fixture
def ctx(daemon):
    d = daemon
    d.psql("INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme')")
    d.cli("user", "add", "--email", "ada@acme.example", "--name", "Ada",
          "--role", "admin", "--org", "acme", input=PASSWORD + "\n")
    r = d.post(API + "/auth/login", json={"email": "ada@acme.example",
                                          "password": PASSWORD})
    assert r.status_code == 200, r.text
    c = Ctx()
    c.d = d
    c.token = r.json()["access_token"]
    h, p, _ = c.token.split(".")
    c.header = json.loads(unb64u(h))
    c.claims = json.loads(unb64u(p))
    c.jwks = d.get("/.well-known/jwks.json").json()
    pems = glob.glob(os.path.join(d.tmp, "keys", "*.pem"))
    assert len(pems) == 1
    with open(pems[0], "rb") as f:
        c.key = serialization.load_pem_private_key(f.read(), None)
    return c


def me(c, token):
    return c.d.get(API + "/me", headers={"Authorization": "Bearer " + token})


def assert_refused(c, token):
    r = me(c, token)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "unauthorized"


def fresh_claims(c, **changes):
    now = int(time.time())
    claims = dict(c.claims, iat=now, exp=now + 600, jti=b64u(os.urandom(16)))
    claims.update(changes)
    return claims


def test_real_and_control_tokens_are_accepted(ctx):
    assert ctx.header["alg"] == "ES256" and ctx.header["kid"]
    assert set(ctx.claims) >= {"iss", "sub", "org", "role", "iat", "exp",
                               "jti", "tv"}
    assert me(ctx, ctx.token).status_code == 200
    # a token we sign with the daemon's key and good claims passes: the
    # forgeries below fail for their defect, not for how we build them
    good = es256(ctx.key, ctx.header, fresh_claims(ctx))
    r = me(ctx, good)
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "ada@acme.example"


def test_alg_none(ctx):
    for alg in ("none", "None", "NONE"):
        h = dict(ctx.header, alg=alg)
        tok = part(h) + "." + part(fresh_claims(ctx)) + "."
        assert_refused(ctx, tok)
        assert_refused(ctx, tok + b64u(b"x"))


def _public_pem(jwk):
    nums = ec.EllipticCurvePublicNumbers(
        int.from_bytes(unb64u(jwk["x"]), "big"),
        int.from_bytes(unb64u(jwk["y"]), "big"), ec.SECP256R1())
    return nums.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def test_hs256_keyed_with_the_public_key(ctx):
    pem = _public_pem(ctx.jwks["keys"][0])
    assert b"BEGIN PUBLIC KEY" in pem
    for secret in (pem, pem.strip()):
        h = dict(ctx.header, alg="HS256")
        signing_input = part(h) + "." + part(fresh_claims(ctx))
        sig = hmac.new(secret, signing_input.encode(), hashlib.sha256)
        assert_refused(ctx, signing_input + "." + b64u(sig.digest()))


def test_tampered_payload(ctx):
    h, _, s = ctx.token.split(".")
    for change in ({"role": "superadmin"}, {"sub": str(uuid.uuid4())},
                   {"exp": ctx.claims["exp"] + 3600}, {"org": None}):
        assert_refused(ctx, h + "." + part(dict(ctx.claims, **change)) +
                       "." + s)
    # a flipped signature bit, and a truncated signature
    sig = bytearray(unb64u(s))
    sig[10] ^= 1
    assert_refused(ctx, h + "." + ctx.token.split(".")[1] + "." +
                   b64u(bytes(sig)))
    assert_refused(ctx, ctx.token[:-4])


def test_expired(ctx):
    now = int(time.time())
    assert_refused(ctx, es256(ctx.key, ctx.header, fresh_claims(
        ctx, iat=now - 4000, exp=now - 3600)))
    # issued in the future (beyond the allowed skew)
    assert_refused(ctx, es256(ctx.key, ctx.header, fresh_claims(
        ctx, iat=now + 3600, exp=now + 4000)))


def test_wrong_issuer(ctx):
    assert ctx.claims["iss"] == "rollcall"
    for iss in ("evil", "rollcall ", "", None):
        assert_refused(ctx, es256(ctx.key, ctx.header,
                                  fresh_claims(ctx, iss=iss)))


def test_unknown_kid(ctx):
    other = ec.generate_private_key(ec.SECP256R1())
    claims = fresh_claims(ctx)
    assert_refused(ctx, es256(other, dict(ctx.header, kid="unknown"), claims))
    h = dict(ctx.header)
    del h["kid"]
    assert_refused(ctx, es256(ctx.key, h, claims))
    # our kid, someone else's key: a bad signature
    assert_refused(ctx, es256(other, ctx.header, claims))


def test_unknown_or_malformed_subject(ctx):
    assert_refused(ctx, es256(ctx.key, ctx.header,
                              fresh_claims(ctx, sub=str(uuid.uuid4()))))
    assert_refused(ctx, es256(ctx.key, ctx.header,
                              fresh_claims(ctx, sub="1 OR 1=1")))


def test_disabled_user(ctx):
    assert me(ctx, ctx.token).status_code == 200
    ctx.d.psql("UPDATE users SET status = 'disabled'")
    assert_refused(ctx, ctx.token)
    ctx.d.psql("UPDATE users SET status = 'active'")
    assert me(ctx, ctx.token).status_code == 200


def test_token_version_bump(ctx):
    assert ctx.claims["tv"] == 0
    ctx.d.psql("UPDATE users SET token_version = token_version + 1")
    assert_refused(ctx, ctx.token)
    # a token claiming the new version would pass: tv is what decides
    assert me(ctx, es256(ctx.key, ctx.header,
                         fresh_claims(ctx, tv=1))).status_code == 200


def _node_verify(jwks_file, token, issuer):
    if not os.path.isdir(os.path.join(conftest.ROOT, "tests",
                                      "node_modules", "jose")):
        subprocess.run(["npm", "ci", "--prefix",
                        os.path.join(conftest.ROOT, "tests")], check=True,
                       capture_output=True)
    return subprocess.run(["node", NODE_VERIFY, jwks_file, token, issuer],
                          capture_output=True, text=True, timeout=60)


def test_jwks_verifies_in_jose(ctx, tmp_path):
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps(ctx.jwks))
    r = _node_verify(str(f), ctx.token, "rollcall")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["sub"] == ctx.claims["sub"]
    assert payload["role"] == "admin"
    # the same checker refuses a tampered token and a wrong issuer
    h, _, s = ctx.token.split(".")
    bad = h + "." + part(dict(ctx.claims, role="superadmin")) + "." + s
    assert _node_verify(str(f), bad, "rollcall").returncode == 1
    assert _node_verify(str(f), ctx.token, "other").returncode == 1
