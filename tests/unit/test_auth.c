/* Unit tests of the auth module's crypto: keys and JWKS, access tokens (and
 * the forgeries they must refuse), passwords, opaque tokens. Run from the
 * repository root (the common-password list is read from conf/). */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "rollcall/auth.h"
#include "auth/auth-int.h"

#define ISS	"https://rollcall.test"
#define NOW	((int64_t)1800000000)

/* TEST ONLY key, public on purpose, and a token jose (Node) signed with it:
 * our verifier must accept another implementation's ES256, and our kid must
 * be the RFC 7638 thumbprint jose computed. */
static const char fixed_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsPWK/MFMubUiHgGQ\n"
    "plhz2TGFVnD3TWOcb/T92/8GOLKhRANCAAQceQgOmVrOowcGIE4eob/Lg0GinPPA\n"
    "fp9OZVN4xFWttWv9X0IJ3rkxyQO7BopPIykjWHC2/QiM/S9skSp38ZQ2\n"
    "-----END PRIVATE KEY-----\n";
static const char fixed_kid[] = "uCBdHIKaLwegm_DXLSrZExQmtVV_3iFf2aVzK979Tuo";
static const char jose_token[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6InVDQmRISUthTHdlZ21fRFhMU3JaRXhRbXRWVl8zaUZm"
    "MmFWeks5NzlUdW8iLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI5YTBjN2M1Mi0xYTNlLTRiZDQtO"
    "WQxZS0wZDJmNWI2YzdlOGYiLCJyb2xlIjoic3VwZXJhZG1pbiIsInR2Ijo3LCJqdGkiOiJqb"
    "3NlLW1hZGUiLCJvcmciOm51bGwsImlzcyI6Imh0dHBzOi8vcm9sbGNhbGwudGVzdCIsImlhd"
    "CI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.ppIJxLe8nEss_HrNjLiKglwEx6_6aX"
    "4y-tieA5UNZ1I0DjWH7wquah_eKQxktOlJsboM7YCvtPmV3z9cl4m0EA";

/* ---- helpers -------------------------------------------------------- */

static struct rc_auth_keys *
fixed_keys(void)
{
	struct rc_auth_keys *keys = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN];

	assert_int_equal(rc_auth_keys_add_pem(keys, fixed_pem,
	    strlen(fixed_pem), 1, err), RC_OK);
	return keys;
}

/* Keys from a fresh P-256 key made by OpenSSL here, not by keys.c. */
static struct rc_auth_keys *
fresh_keys(void)
{
	struct rc_auth_keys *keys = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN], *pem;
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	long n;

	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
	    NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &pem);
	assert_int_equal(rc_auth_keys_add_pem(keys, pem, (size_t)n, 1, err),
	    RC_OK);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return keys;
}

static void
claims_fill(struct rc_auth_claims *c, int64_t iat, int64_t exp)
{
	rc_auth_claims_init(c);
	c->sub = "2b1f4a8e-0000-4000-8000-000000000001";
	c->org = "7c0de000-0000-4000-8000-000000000002";
	c->role = "employee";
	c->tv = 4;
	c->iat = iat;
	c->exp = exp;
}

static char *
sign_ok(const struct rc_auth_keys *keys, const char *iss, int64_t iat,
    int64_t exp)
{
	struct rc_auth_claims c;
	char *tok = NULL;

	claims_fill(&c, iat, exp);
	assert_int_equal(rc_auth_token_sign(keys, iss, &c, &tok), RC_OK);
	assert_non_null(tok);
	return tok;
}

/* Verifies and returns the reason; frees the claims. */
static enum rc_auth_verify_error
verify_why(const struct rc_auth_keys *keys, const char *tok, int64_t now,
    int leeway)
{
	enum rc_auth_verify_error why = RC_AUTH_VERIFY_OK;
	struct rc_auth_claims out;
	rc_status rc;

	rc = rc_auth_token_verify(keys, ISS, tok, now, leeway, &out, &why);
	assert_int_equal(rc == RC_OK, why == RC_AUTH_VERIFY_OK);
	if (rc != RC_OK) {
		assert_null(out.sub);
		assert_null(out.role);
	}
	rc_auth_claims_cleanup(&out);
	return why;
}

static char *
b64url(const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);

	sodium_bin2base64(s, cap, data, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* header.payload.sig from JSON texts and a signature segment. */
static char *
hand_token(const char *header, const char *payload, const char *sig)
{
	char *h = b64url(header, strlen(header));
	char *p = b64url(payload, strlen(payload));
	char *t = rc_asprintf("%s.%s.%s", h, p, sig);

	free(h);
	free(p);
	return t;
}

/* Signs arbitrary claims (JSON) with the set's signing key via libjwt, so
 * that tests can make well-signed tokens with bad claims. */
static char *
sign_raw(const struct rc_auth_keys *keys, const char *claims)
{
	const struct auth_key *k = auth_keys_signer(keys);
	jwt_t *jwt = NULL;
	char *s, *tok;

	assert_non_null(k);
	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, claims), 0);
	assert_int_equal(jwt_add_header(jwt, "kid", k->kid), 0);
	assert_int_equal(jwt_set_alg(jwt, JWT_ALG_ES256,
	    (const unsigned char *)k->priv_pem, (int)k->priv_len), 0);
	s = jwt_encode_str(jwt);
	assert_non_null(s);
	tok = auth_token_low_s(s);	/* as rc_auth_token_sign does */
	assert_non_null(tok);
	free(s);
	jwt_free(jwt);
	return tok;
}

static char *
make_tmpdir(void)
{
	char *d = rc_strdup("/tmp/rc-test-auth-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
rm_tree(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	char *p;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = rc_asprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
count_pem(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".pem") != NULL && e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- keys ----------------------------------------------------------- */

static void
test_kid_is_rfc7638_thumbprint(void **state)
{
	struct rc_auth_keys *keys = fixed_keys();
	json_t *jwks, *k;

	(void)state;
	assert_string_equal(rc_auth_keys_signing_kid(keys), fixed_kid);
	jwks = rc_auth_jwks(keys);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(k, "kid")), fixed_kid);
	assert_int_equal(strlen(json_string_value(json_object_get(k, "x"))), 43);
	assert_int_equal(strlen(json_string_value(json_object_get(k, "y"))), 43);
	assert_null(json_object_get(k, "d"));	/* never the private part */
	json_decref(jwks);
	rc_auth_keys_free(keys);
}

static void
test_keys_reject_bad_pem(void **state)
{
	struct rc_auth_keys *keys = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN], *pem;
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	long n;

	(void)state;
	assert_int_equal(rc_auth_keys_add_pem(keys, "junk", 4, 0, err), RC_ERR);
	PEM_write_bio_PrivateKey(bio, rsa, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &pem);
	assert_int_equal(rc_auth_keys_add_pem(keys, pem, (size_t)n, 1, err),
	    RC_ERR);
	assert_non_null(strstr(err, "P-256"));
	assert_int_equal(rc_auth_keys_count(keys), 0);
	assert_null(rc_auth_keys_signing_kid(keys));
	BIO_free(bio);
	EVP_PKEY_free(rsa);
	rc_auth_keys_free(keys);
	rc_auth_keys_free(NULL);
}

static void
test_keys_generate_0600_and_reload(void **state)
{
	char *dir = make_tmpdir(), *sub = rc_asprintf("%s/keys", dir);
	char err[RC_AUTH_ERR_LEN], kid[RC_AUTH_KID_LEN + 1];
	struct rc_auth_keys *a = rc_auth_keys_new(), *b = rc_auth_keys_new();
	struct dirent *e;
	struct stat st;
	DIR *d;
	char *p;

	(void)state;
	assert_int_equal(rc_auth_keys_load_or_generate(a, sub, err), RC_OK);
	assert_int_equal(rc_auth_keys_count(a), 1);
	assert_non_null(rc_auth_keys_signing_kid(a));
	strcpy(kid, rc_auth_keys_signing_kid(a));
	assert_int_equal(count_pem(sub), 1);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	d = opendir(sub);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".pem") == NULL)
			continue;
		p = rc_asprintf("%s/%s", sub, e->d_name);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
	}
	closedir(d);
	/* A second start reuses the key: same kid, no new file. */
	assert_int_equal(rc_auth_keys_load_or_generate(b, sub, err), RC_OK);
	assert_int_equal(rc_auth_keys_count(b), 1);
	assert_string_equal(rc_auth_keys_signing_kid(b), kid);
	assert_int_equal(count_pem(sub), 1);
	rc_auth_keys_free(a);
	rc_auth_keys_free(b);
	rm_tree(sub);
	rm_tree(dir);
	free(sub);
	free(dir);
}

static void
test_keys_newest_file_signs(void **state)
{
	char *dir = make_tmpdir(), *p1 = NULL, *p2 = NULL;
	struct rc_auth_keys *keys = rc_auth_keys_new(), *k2 = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN];

	(void)state;
	assert_int_equal(rc_auth_keys_generate(dir, &p1, err), RC_OK);
	sleep(1);	/* file names carry the second */
	assert_int_equal(rc_auth_keys_generate(dir, &p2, err), RC_OK);
	assert_int_equal(rc_auth_keys_add_file(k2, p2, 1, err), RC_OK);
	assert_int_equal(rc_auth_keys_load_or_generate(keys, dir, err), RC_OK);
	assert_int_equal(rc_auth_keys_count(keys), 2);
	assert_string_equal(rc_auth_keys_signing_kid(keys),
	    rc_auth_keys_signing_kid(k2));
	assert_int_equal(count_pem(dir), 2);
	rc_auth_keys_free(keys);
	rc_auth_keys_free(k2);
	rm_tree(dir);
	free(p1);
	free(p2);
	free(dir);
}

static void
test_rotation(void **state)
{
	char *dir = make_tmpdir(), *oldp = NULL, *newp = NULL;
	struct rc_auth_keys *keys = rc_auth_keys_new();
	char err[RC_AUTH_ERR_LEN], oldkid[RC_AUTH_KID_LEN + 1], *t_old, *t_new;
	json_t *jwks;

	(void)state;
	assert_int_equal(rc_auth_keys_generate(dir, &oldp, err), RC_OK);
	assert_int_equal(rc_auth_keys_generate(dir, &newp, err), RC_OK);
	assert_int_equal(rc_auth_keys_add_file(keys, oldp, 1, err), RC_OK);
	strcpy(oldkid, rc_auth_keys_signing_kid(keys));
	t_old = sign_ok(keys, ISS, NOW, NOW + 900);
	/* The new key takes over signing; the old one stays to verify. */
	assert_int_equal(rc_auth_keys_add_file(keys, newp, 1, err), RC_OK);
	assert_int_equal(rc_auth_keys_count(keys), 2);
	assert_string_not_equal(rc_auth_keys_signing_kid(keys), oldkid);
	t_new = sign_ok(keys, ISS, NOW, NOW + 900);
	jwks = rc_auth_jwks(keys);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
	json_decref(jwks);
	assert_int_equal(verify_why(keys, t_old, NOW, 0), RC_AUTH_VERIFY_OK);
	assert_int_equal(verify_why(keys, t_new, NOW, 0), RC_AUTH_VERIFY_OK);
	assert_int_equal(rc_auth_keys_remove(keys, oldkid), RC_OK);
	assert_int_equal(rc_auth_keys_remove(keys, oldkid), RC_ERR);
	assert_int_equal(verify_why(keys, t_old, NOW, 0),
	    RC_AUTH_VERIFY_UNKNOWN_KID);
	assert_int_equal(verify_why(keys, t_new, NOW, 0), RC_AUTH_VERIFY_OK);
	free(t_old);
	free(t_new);
	rc_auth_keys_free(keys);
	rm_tree(dir);
	free(oldp);
	free(newp);
	free(dir);
}

/* ---- access tokens -------------------------------------------------- */

static void
test_sign_verify_round_trip(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	struct rc_auth_claims out;
	enum rc_auth_verify_error why;
	char *tok = sign_ok(keys, ISS, NOW, NOW + 900), *tok2;
	char *dot = strrchr(tok, '.');
	size_t siglen;
	unsigned char sig[80];

	(void)state;
	/* JWS ES256 signatures are raw R||S (RFC 7518 3.4), not DER. */
	assert_int_equal(sodium_base642bin(sig, sizeof(sig), dot + 1,
	    strlen(dot + 1), NULL, &siglen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	assert_int_equal(siglen, 64);
	assert_int_equal(rc_auth_token_verify(keys, ISS, tok, NOW + 10, 0,
	    &out, &why), RC_OK);
	assert_int_equal(why, RC_AUTH_VERIFY_OK);
	assert_string_equal(out.sub, "2b1f4a8e-0000-4000-8000-000000000001");
	assert_string_equal(out.org, "7c0de000-0000-4000-8000-000000000002");
	assert_string_equal(out.role, "employee");
	assert_int_equal(out.tv, 4);
	assert_int_equal(out.iat, NOW);
	assert_int_equal(out.exp, NOW + 900);
	assert_int_equal(strlen(out.jti), RC_AUTH_RANDOM_TOKEN_LEN);
	/* jti is fresh for every token. */
	tok2 = sign_ok(keys, ISS, NOW, NOW + 900);
	assert_string_not_equal(tok, tok2);
	rc_auth_claims_cleanup(&out);
	rc_auth_claims_cleanup(&out);	/* twice is safe */
	free(tok);
	free(tok2);
	rc_auth_keys_free(keys);
}

/* sid (the refresh family) goes in when set and comes back; a token
 * without one verifies with sid NULL; a sid that is not a non-empty string
 * is refused. */
static void
test_sid_claim(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	static const char *bad[] = { "7", "\"\"", "null", "[\"x\"]" };
	struct rc_auth_claims c, out;
	char *tok = NULL, *raw;
	size_t i;

	(void)state;
	claims_fill(&c, NOW, NOW + 900);
	c.sid = "5a1d0000-0000-4000-8000-00000000000f";
	assert_int_equal(rc_auth_token_sign(keys, ISS, &c, &tok), RC_OK);
	assert_int_equal(rc_auth_token_verify(keys, ISS, tok, NOW + 1, 0,
	    &out, NULL), RC_OK);
	assert_string_equal(out.sid, c.sid);
	rc_auth_claims_cleanup(&out);
	free(tok);
	tok = sign_ok(keys, ISS, NOW, NOW + 900);
	assert_int_equal(rc_auth_token_verify(keys, ISS, tok, NOW + 1, 0,
	    &out, NULL), RC_OK);
	assert_null(out.sid);
	rc_auth_claims_cleanup(&out);
	free(tok);
	for (i = 0; i < RC_NELEM(bad); i++) {
		raw = rc_asprintf("{\"iss\":\"" ISS "\",\"sub\":\"u\","
		    "\"role\":\"admin\",\"iat\":1800000000,"
		    "\"exp\":1800000900,\"jti\":\"j\",\"tv\":1,"
		    "\"sid\":%s}", bad[i]);
		tok = sign_raw(keys, raw);
		assert_int_equal(verify_why(keys, tok, NOW + 1, 0),
		    RC_AUTH_VERIFY_BAD_CLAIMS);
		free(tok);
		free(raw);
	}
	rc_auth_keys_free(keys);
}

/* (r, n - s) is as valid a signature as (r, s): only the low-s one of a
 * pair passes, and every token we sign is low-s (OpenSSL makes either). */
static void
test_high_s_signature_is_refused(void **state)
{
	static const unsigned char half_n[32] = {	/* P-256's n / 2 */
		0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
		0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
		0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
	}, n[32] = {					/* and n */
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	struct rc_auth_keys *keys = fresh_keys();
	unsigned char sig[64];
	size_t siglen;
	char *tok, *dot, *high;
	int i, k, borrow;

	(void)state;
	for (i = 0; i < 32; i++) {
		tok = sign_ok(keys, ISS, NOW, NOW + 900);
		dot = strrchr(tok, '.');
		assert_int_equal(sodium_base642bin(sig, sizeof(sig), dot + 1,
		    strlen(dot + 1), NULL, &siglen, NULL,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
		assert_true(memcmp(sig + 32, half_n, 32) <= 0);
		assert_int_equal(verify_why(keys, tok, NOW, 0),
		    RC_AUTH_VERIFY_OK);
		for (k = 31, borrow = 0; k >= 0; k--) {	/* s = n - s */
			int d = n[k] - sig[32 + k] - borrow;

			borrow = d < 0;
			sig[32 + k] = (unsigned char)(d + (borrow ? 256 : 0));
		}
		high = rc_malloc((size_t)(dot - tok) + 100);
		memcpy(high, tok, (size_t)(dot - tok) + 1);
		sodium_bin2base64(high + (dot - tok) + 1, 99, sig, 64,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_string_not_equal(high, tok);
		assert_int_equal(verify_why(keys, high, NOW, 0),
		    RC_AUTH_VERIFY_BAD_SIGNATURE);
		free(high);
		free(tok);
	}
	rc_auth_keys_free(keys);
}

static void
test_superadmin_has_no_org(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	struct rc_auth_claims c, out;
	char *tok;

	(void)state;
	claims_fill(&c, NOW, NOW + 60);
	c.org = NULL;
	c.role = "superadmin";
	c.jti = "fixed-jti";
	assert_int_equal(rc_auth_token_sign(keys, ISS, &c, &tok), RC_OK);
	assert_int_equal(rc_auth_token_verify(keys, ISS, tok, NOW, 0, &out,
	    NULL), RC_OK);
	assert_null(out.org);
	assert_string_equal(out.role, "superadmin");
	assert_string_equal(out.jti, "fixed-jti");
	rc_auth_claims_cleanup(&out);
	free(tok);
	rc_auth_keys_free(keys);
}

static void
test_verify_jose_token(void **state)
{
	struct rc_auth_keys *keys = fixed_keys();
	struct rc_auth_claims out;

	(void)state;
	assert_int_equal(rc_auth_token_verify(keys, ISS, jose_token, NOW, 0,
	    &out, NULL), RC_OK);
	assert_string_equal(out.sub, "9a0c7c52-1a3e-4bd4-9d1e-0d2f5b6c7e8f");
	assert_null(out.org);			/* "org": null */
	assert_string_equal(out.role, "superadmin");
	assert_int_equal(out.tv, 7);
	rc_auth_claims_cleanup(&out);
	rc_auth_keys_free(keys);
}

static void
test_reject_alg_none(void **state)
{
	struct rc_auth_keys *keys = fixed_keys();
	char *hdr = rc_asprintf("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    fixed_kid);
	const char *claims = "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":"
	    "\"superadmin\",\"iat\":1800000000,\"exp\":1800000900,\"jti\":\"j\","
	    "\"tv\":0}";
	char *t1 = hand_token(hdr, claims, "");
	char *t2 = hand_token(hdr, claims, "AAAA");

	(void)state;
	assert_int_not_equal(verify_why(keys, t1, NOW, 0), RC_AUTH_VERIFY_OK);
	assert_int_equal(verify_why(keys, t2, NOW, 0), RC_AUTH_VERIFY_BAD_ALG);
	free(t1);
	free(t2);
	free(hdr);
	rc_auth_keys_free(keys);
}

/* The classic libjwt 1.x confusion: HS256 keyed with our public key PEM,
 * which anyone can fetch from the JWKS endpoint. */
static void
test_reject_hs256_with_public_key(void **state)
{
	struct rc_auth_keys *keys = fixed_keys();
	const struct auth_key *k = auth_keys_signer(keys);
	jwt_t *jwt = NULL;
	char *forged;

	(void)state;
	assert_int_equal(jwt_new(&jwt), 0);
	assert_int_equal(jwt_add_grants_json(jwt, "{\"iss\":\"" ISS "\","
	    "\"sub\":\"attacker\",\"role\":\"superadmin\",\"iat\":1800000000,"
	    "\"exp\":1800000900,\"jti\":\"j\",\"tv\":0}"), 0);
	assert_int_equal(jwt_add_header(jwt, "kid", k->kid), 0);
	assert_int_equal(jwt_set_alg(jwt, JWT_ALG_HS256,
	    (const unsigned char *)k->pub_pem, (int)k->pub_len), 0);
	forged = jwt_encode_str(jwt);
	assert_non_null(forged);
	assert_int_equal(verify_why(keys, forged, NOW, 0),
	    RC_AUTH_VERIFY_BAD_ALG);
	free(forged);
	jwt_free(jwt);
	rc_auth_keys_free(keys);
}

static void
test_reject_tampered_payload(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	char *tok = sign_ok(keys, ISS, NOW, NOW + 900);
	char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	unsigned char raw[1024];
	size_t len;
	json_t *cl;
	char *s, *p, *forged;

	(void)state;
	assert_int_equal(sodium_base642bin(raw, sizeof(raw) - 1, d1 + 1,
	    (size_t)(d2 - d1 - 1), NULL, &len, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	cl = json_loadb((const char *)raw, len, 0, NULL);
	assert_non_null(cl);
	json_object_set_new(cl, "role", json_string("admin"));
	s = json_dumps(cl, JSON_COMPACT);
	p = b64url(s, strlen(s));
	*d1 = '\0';
	forged = rc_asprintf("%s.%s%s", tok, p, d2);
	assert_int_equal(verify_why(keys, forged, NOW, 0),
	    RC_AUTH_VERIFY_BAD_SIGNATURE);
	/* and a flipped signature bit */
	*d1 = '.';
	tok[strlen(tok) - 5] ^= 1;
	assert_int_not_equal(verify_why(keys, tok, NOW, 0), RC_AUTH_VERIFY_OK);
	json_decref(cl);
	free(s);
	free(p);
	free(forged);
	free(tok);
	rc_auth_keys_free(keys);
}

static void
test_expiry_and_leeway(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	char *tok = sign_ok(keys, ISS, NOW - 900, NOW - 10);

	(void)state;
	assert_int_equal(verify_why(keys, tok, NOW, 0), RC_AUTH_VERIFY_EXPIRED);
	assert_int_equal(verify_why(keys, tok, NOW, 5), RC_AUTH_VERIFY_EXPIRED);
	assert_int_equal(verify_why(keys, tok, NOW, 30), RC_AUTH_VERIFY_OK);
	/* exp == now is already expired (RFC 7519 4.1.4: "on or after") */
	assert_int_equal(verify_why(keys, tok, NOW - 10, 0),
	    RC_AUTH_VERIFY_EXPIRED);
	assert_int_equal(verify_why(keys, tok, NOW - 11, 0), RC_AUTH_VERIFY_OK);
	free(tok);
	/* issued far in the future */
	tok = sign_ok(keys, ISS, NOW + 3600, NOW + 4500);
	assert_int_equal(verify_why(keys, tok, NOW, 30),
	    RC_AUTH_VERIFY_NOT_YET_VALID);
	free(tok);
	tok = sign_ok(keys, ISS, NOW + 20, NOW + 900);	/* small skew: fine */
	assert_int_equal(verify_why(keys, tok, NOW, 0), RC_AUTH_VERIFY_OK);
	free(tok);
	rc_auth_keys_free(keys);
}

static void
test_reject_wrong_issuer(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	char *tok = sign_ok(keys, "https://other.test", NOW, NOW + 900);

	(void)state;
	assert_int_equal(verify_why(keys, tok, NOW, 0),
	    RC_AUTH_VERIFY_BAD_ISSUER);
	free(tok);
	rc_auth_keys_free(keys);
}

static void
test_reject_unknown_or_missing_kid(void **state)
{
	struct rc_auth_keys *a = fresh_keys(), *b = fresh_keys();
	char *tok = sign_ok(a, ISS, NOW, NOW + 900);
	char *d1 = strchr(tok, '.');
	char *h = b64url("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", 27);
	char *nokid = rc_asprintf("%s%s", h, d1);

	(void)state;
	assert_int_equal(verify_why(b, tok, NOW, 0), RC_AUTH_VERIFY_UNKNOWN_KID);
	assert_int_equal(verify_why(a, nokid, NOW, 0),
	    RC_AUTH_VERIFY_UNKNOWN_KID);
	assert_int_equal(verify_why(a, tok, NOW, 0), RC_AUTH_VERIFY_OK);
	/* b's signature under a's kid: the kid picks the key, which fails */
	free(h);
	h = rc_asprintf("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
	    rc_auth_keys_signing_kid(b));
	free(nokid);
	nokid = b64url(h, strlen(h));
	free(h);
	h = rc_asprintf("%s%s", nokid, d1);
	assert_int_equal(verify_why(b, h, NOW, 0), RC_AUTH_VERIFY_BAD_SIGNATURE);
	free(h);
	free(nokid);
	free(tok);
	rc_auth_keys_free(a);
	rc_auth_keys_free(b);
}

static void
test_reject_malformed(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	char *tok = sign_ok(keys, ISS, NOW, NOW + 900);
	char *huge = malloc(RC_AUTH_TOKEN_MAX + 100), *two, *four, *pad;
	char *arr = b64url("[1,2]", 5), *notjson = b64url("{alg", 4);
	char *t_arr = rc_asprintf("%s.e30.AAAA", arr);
	char *t_nj = rc_asprintf("%s.e30.AAAA", notjson);
	const char *bad[] = { "", ".", "..", "abc", "a.b", "a.b.c", "...",
	    "!!!.###.$$$", "e30.e30.", ".e30.AAAA", "e30..AAAA", t_arr, t_nj };
	size_t i;

	(void)state;
	for (i = 0; i < RC_NELEM(bad); i++)
		assert_int_not_equal(verify_why(keys, bad[i], NOW, 0),
		    RC_AUTH_VERIFY_OK);
	assert_int_equal(verify_why(keys, "", NOW, 0), RC_AUTH_VERIFY_MALFORMED);
	assert_int_equal(verify_why(keys, "a.b", NOW, 0),
	    RC_AUTH_VERIFY_MALFORMED);
	assert_int_equal(verify_why(keys, t_nj, NOW, 0),
	    RC_AUTH_VERIFY_MALFORMED);
	/* one segment too many or too few, of a real token */
	two = rc_strndup(tok, (size_t)(strrchr(tok, '.') - tok));
	four = rc_asprintf("%s.AAAA", tok);
	pad = rc_asprintf("%s==", tok);		/* padding is not base64url */
	assert_int_equal(verify_why(keys, two, NOW, 0), RC_AUTH_VERIFY_MALFORMED);
	assert_int_equal(verify_why(keys, four, NOW, 0),
	    RC_AUTH_VERIFY_MALFORMED);
	assert_int_not_equal(verify_why(keys, pad, NOW, 0), RC_AUTH_VERIFY_OK);
	/* huge: a valid token with a long tail would still be refused unread */
	memset(huge, 'A', RC_AUTH_TOKEN_MAX + 99);
	huge[RC_AUTH_TOKEN_MAX + 99] = '\0';
	memcpy(huge, tok, strlen(tok));
	assert_int_equal(verify_why(keys, huge, NOW, 0),
	    RC_AUTH_VERIFY_MALFORMED);
	assert_int_equal(rc_auth_token_verify(keys, ISS, NULL, NOW, 0,
	    &(struct rc_auth_claims){0}, NULL), RC_ERR);
	assert_int_equal(verify_why(keys, tok, NOW, 0), RC_AUTH_VERIFY_OK);
	free(two);
	free(four);
	free(pad);
	free(huge);
	free(arr);
	free(notjson);
	free(t_arr);
	free(t_nj);
	free(tok);
	rc_auth_keys_free(keys);
}

static void
test_reject_bad_claims(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	static const char *cases[] = {
		/* tv a string */
		"{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\","
		"\"iat\":1800000000,\"exp\":1800000900,\"jti\":\"j\",\"tv\":\"1\"}",
		/* no sub */
		"{\"iss\":\"" ISS "\",\"role\":\"admin\","
		"\"iat\":1800000000,\"exp\":1800000900,\"jti\":\"j\",\"tv\":1}",
		/* exp a float */
		"{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\","
		"\"iat\":1800000000,\"exp\":1800000900.5,\"jti\":\"j\",\"tv\":1}",
		/* org a number */
		"{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\",\"org\":5,"
		"\"iat\":1800000000,\"exp\":1800000900,\"jti\":\"j\",\"tv\":1}",
		/* no jti */
		"{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\","
		"\"iat\":1800000000,\"exp\":1800000900,\"tv\":1}",
	};
	const char *nbf = "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\","
	    "\"iat\":1800000000,\"nbf\":1800000600,\"exp\":1800000900,"
	    "\"jti\":\"j\",\"tv\":1}";
	const char *good = "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"role\":\"admin\","
	    "\"iat\":1800000000,\"exp\":1800000900,\"jti\":\"j\",\"tv\":1}";
	size_t i;
	char *t;

	(void)state;
	for (i = 0; i < RC_NELEM(cases); i++) {
		t = sign_raw(keys, cases[i]);
		assert_int_equal(verify_why(keys, t, NOW, 0),
		    RC_AUTH_VERIFY_BAD_CLAIMS);
		free(t);
	}
	t = sign_raw(keys, nbf);
	assert_int_equal(verify_why(keys, t, NOW, 0),
	    RC_AUTH_VERIFY_NOT_YET_VALID);
	assert_int_equal(verify_why(keys, t, NOW + 600, 0), RC_AUTH_VERIFY_OK);
	free(t);
	t = sign_raw(keys, good);
	assert_int_equal(verify_why(keys, t, NOW, 0), RC_AUTH_VERIFY_OK);
	free(t);
	rc_auth_keys_free(keys);
}

static void
test_sign_without_key_fails(void **state)
{
	struct rc_auth_keys *keys = fresh_keys();
	struct rc_auth_claims c;
	char *tok = (char *)1;

	(void)state;
	assert_int_equal(rc_auth_keys_remove(keys,
	    rc_auth_keys_signing_kid(keys)), RC_OK);
	claims_fill(&c, NOW, NOW + 60);
	assert_int_equal(rc_auth_token_sign(keys, ISS, &c, &tok), RC_ERR);
	assert_null(tok);
	assert_string_equal(rc_auth_verify_error_str(RC_AUTH_VERIFY_EXPIRED),
	    "expired");
	rc_auth_keys_free(keys);
}

/* ---- passwords ------------------------------------------------------ */

#define FAST_OPS	1
#define FAST_MEM	(1u << 20)

static struct rc_auth_passwords *
fast_passwords(unsigned long long ops)
{
	char err[RC_AUTH_ERR_LEN];
	struct rc_auth_passwords *pw;

	pw = rc_auth_passwords_new(ops, FAST_MEM, "conf/common-passwords.txt",
	    err);
	if (pw == NULL)
		fail_msg("rc_auth_passwords_new: %s (run from the repo root)",
		    err);
	return pw;
}

static void
test_password_hash_verify(void **state)
{
	struct rc_auth_passwords *pw = fast_passwords(FAST_OPS);
	char h1[RC_AUTH_PWHASH_LEN], h2[RC_AUTH_PWHASH_LEN];
	char *longpw = malloc(RC_AUTH_PASSWORD_MAX + 2);

	(void)state;
	assert_int_equal(rc_auth_password_hash(pw, "correct horse", h1), RC_OK);
	assert_int_equal(rc_auth_password_hash(pw, "correct horse", h2), RC_OK);
	assert_true(strncmp(h1, "$argon2id$", 10) == 0);
	assert_string_not_equal(h1, h2);	/* salted */
	assert_int_equal(rc_auth_password_verify(pw, h1, "correct horse"),
	    RC_OK);
	assert_int_equal(rc_auth_password_verify(pw, h2, "correct horse"),
	    RC_OK);
	assert_int_equal(rc_auth_password_verify(pw, h1, "correct horsE"),
	    RC_ERR);
	assert_int_equal(rc_auth_password_verify(pw, h1, ""), RC_ERR);
	assert_int_equal(rc_auth_password_verify(pw, "garbage", "x"), RC_ERR);
	memset(longpw, 'a', RC_AUTH_PASSWORD_MAX + 1);
	longpw[RC_AUTH_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(rc_auth_password_hash(pw, longpw, h2), RC_ERR);
	assert_int_equal(rc_auth_password_verify(pw, h1, longpw), RC_ERR);
	free(longpw);
	rc_auth_passwords_free(pw);
	rc_auth_passwords_free(NULL);
}

static void
test_password_needs_rehash(void **state)
{
	struct rc_auth_passwords *p1 = fast_passwords(FAST_OPS);
	struct rc_auth_passwords *p2 = fast_passwords(FAST_OPS + 1);
	char h[RC_AUTH_PWHASH_LEN];

	(void)state;
	assert_int_equal(rc_auth_password_hash(p1, "some long password", h),
	    RC_OK);
	assert_false(rc_auth_password_needs_rehash(p1, h));
	assert_true(rc_auth_password_needs_rehash(p2, h));
	assert_true(rc_auth_password_needs_rehash(p1, "$2y$10$notargon"));
	/* an old hash still verifies under new limits */
	assert_int_equal(rc_auth_password_verify(p2, h, "some long password"),
	    RC_OK);
	rc_auth_passwords_free(p1);
	rc_auth_passwords_free(p2);
}

static double
time_verify(struct rc_auth_passwords *pw, const char *hash)
{
	double t0 = rc_now_mono();

	if (hash != NULL)
		(void)rc_auth_password_verify(pw, hash, "wrong password!");
	else
		rc_auth_password_dummy_verify(pw, "wrong password!");
	return rc_now_mono() - t0;
}

/* The unknown-e-mail path must cost about what a real verify costs. */
static void
test_password_dummy_verify_timing(void **state)
{
	char err[RC_AUTH_ERR_LEN], h[RC_AUTH_PWHASH_LEN];
	struct rc_auth_passwords *pw = rc_auth_passwords_new(2, 16u << 20,
	    NULL, err);
	double real = 1e9, dummy = 1e9, t;
	int i;

	(void)state;
	assert_non_null(pw);
	assert_int_equal(rc_auth_password_hash(pw, "the real password", h),
	    RC_OK);
	for (i = 0; i < 3; i++) {
		if ((t = time_verify(pw, h)) < real)
			real = t;
		if ((t = time_verify(pw, NULL)) < dummy)
			dummy = t;
	}
	print_message("verify %.1f ms, dummy verify %.1f ms\n", real * 1e3,
	    dummy * 1e3);
	assert_true(dummy > real * 0.5 && dummy < real * 2.0);
	rc_auth_passwords_free(pw);
}

static void
test_password_default_limits(void **state)
{
	char err[RC_AUTH_ERR_LEN], h[RC_AUTH_PWHASH_LEN];
	struct rc_auth_passwords *pw = rc_auth_passwords_new(0, 0, NULL, err);
	double t0;

	(void)state;
	assert_non_null(pw);
	t0 = rc_now_mono();
	assert_int_equal(rc_auth_password_hash(pw, "default limits pw", h),
	    RC_OK);
	print_message("argon2id INTERACTIVE hash: %.1f ms\n",
	    (rc_now_mono() - t0) * 1e3);
	assert_non_null(strstr(h, "m=65536,t=2,p=1"));
	assert_null(rc_auth_passwords_new(0, 1, NULL, err));	/* too small */
	assert_null(rc_auth_passwords_new(1, FAST_MEM, "/nonexistent/x", err));
	rc_auth_passwords_free(pw);
}

static void
test_password_policy(void **state)
{
	struct rc_auth_passwords *pw = fast_passwords(FAST_OPS);
	const char *email = "Jane.Doe.Long@example.com", *why;
	char *big = malloc(RC_AUTH_PASSWORD_MAX + 2);

	(void)state;
#define REFUSED(p) do { why = NULL; \
	assert_int_equal(rc_auth_password_policy(pw, (p), email, &why), RC_ERR);\
	assert_non_null(why); } while (0)
#define ALLOWED(p) do { why = "x"; \
	assert_int_equal(rc_auth_password_policy(pw, (p), email, &why), RC_OK);\
	assert_null(why); } while (0)
	REFUSED("short");
	REFUSED("nine char");
	REFUSED("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9");			/* 9 code points, 18 bytes */
	ALLOWED("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9");		/* 10 code points */
	REFUSED("abcdefghi\xff");			/* not UTF-8 */
	REFUSED("abcdefghi\xc0\xaf");			/* overlong '/' */
	REFUSED("abcdefghi\xed\xa0\x80");		/* surrogate */
	REFUSED("abcdefghi\xf4\x90\x80\x80");	/* past U+10FFFF */
	REFUSED("abcdefghi\xe2\x82");		/* truncated */
	ALLOWED("abcdefghi\xf0\x9f\x98\x80");	/* 10 with an emoji */
	REFUSED("jane.doe.long@EXAMPLE.com");
	REFUSED("JANE.DOE.LONG");
	assert_non_null(strstr(why, "e-mail"));
	REFUSED("1234567890");
	assert_non_null(strstr(why, "common"));
	REFUSED("Password123");
	REFUSED("QWERTYUIOP");
	memset(big, 'x', RC_AUTH_PASSWORD_MAX + 1);
	big[RC_AUTH_PASSWORD_MAX + 1] = '\0';
	REFUSED(big);
	big[RC_AUTH_PASSWORD_MAX] = '\0';
	ALLOWED(big);
	ALLOWED("correct horse battery staple");
	ALLOWED("jane.doe.long2");
	assert_int_equal(rc_auth_password_policy(pw, "plenty long pw", NULL,
	    &why), RC_OK);
#undef REFUSED
#undef ALLOWED
	free(big);
	rc_auth_passwords_free(pw);
}

static void
test_password_temp(void **state)
{
	static const char alphabet[] =
	    "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";
	struct rc_auth_passwords *pw = fast_passwords(FAST_OPS);
	char t[RC_AUTH_TEMP_PASSWORD_LEN + 1], prev[sizeof(t)] = "";
	int seen[256] = {0}, distinct = 0, i, j;
	const char *why;

	(void)state;
	for (i = 0; i < 300; i++) {
		rc_auth_password_temp(t);
		assert_int_equal(strlen(t), RC_AUTH_TEMP_PASSWORD_LEN);
		for (j = 0; j < RC_AUTH_TEMP_PASSWORD_LEN; j++) {
			assert_non_null(strchr(alphabet, t[j]));
			seen[(unsigned char)t[j]]++;
		}
		assert_string_not_equal(t, prev);
		assert_int_equal(rc_auth_password_policy(pw, t, NULL, &why),
		    RC_OK);
		strcpy(prev, t);
	}
	for (i = 0; i < 256; i++)
		distinct += seen[i] > 0;
	assert_int_equal(distinct, (int)strlen(alphabet));	/* 4800 draws */
	assert_int_equal(seen['0'] + seen['O'] + seen['1'] + seen['l'] +
	    seen['I'] + seen['o'], 0);
	rc_auth_passwords_free(pw);
}

/* ---- opaque tokens -------------------------------------------------- */

static void
test_opaque_tokens(void **state)
{
	char a[RC_AUTH_RANDOM_TOKEN_LEN + 1], b[sizeof(a)];
	char h[RC_AUTH_TOKEN_HASH_LEN + 1], code[7];
	int lead0 = 0, i;
	size_t j;

	(void)state;
	rc_auth_token_random(a);
	rc_auth_token_random(b);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_"), 43);
	rc_auth_token_hash("abc", h);		/* FIPS 180-2 test vector */
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	rc_auth_token_hash(a, h);
	assert_int_equal(strlen(h), 64);
	for (i = 0; i < 1000; i++) {
		rc_auth_code6(code);
		assert_int_equal(strlen(code), 6);
		for (j = 0; j < 6; j++)
			assert_true(code[j] >= '0' && code[j] <= '9');
		lead0 += code[0] == '0';
	}
	assert_true(lead0 > 30 && lead0 < 200);	/* ~100 expected */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kid_is_rfc7638_thumbprint),
		cmocka_unit_test(test_keys_reject_bad_pem),
		cmocka_unit_test(test_keys_generate_0600_and_reload),
		cmocka_unit_test(test_keys_newest_file_signs),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_sid_claim),
		cmocka_unit_test(test_superadmin_has_no_org),
		cmocka_unit_test(test_verify_jose_token),
		cmocka_unit_test(test_high_s_signature_is_refused),
		cmocka_unit_test(test_reject_alg_none),
		cmocka_unit_test(test_reject_hs256_with_public_key),
		cmocka_unit_test(test_reject_tampered_payload),
		cmocka_unit_test(test_expiry_and_leeway),
		cmocka_unit_test(test_reject_wrong_issuer),
		cmocka_unit_test(test_reject_unknown_or_missing_kid),
		cmocka_unit_test(test_reject_malformed),
		cmocka_unit_test(test_reject_bad_claims),
		cmocka_unit_test(test_sign_without_key_fails),
		cmocka_unit_test(test_password_hash_verify),
		cmocka_unit_test(test_password_needs_rehash),
		cmocka_unit_test(test_password_dummy_verify_timing),
		cmocka_unit_test(test_password_default_limits),
		cmocka_unit_test(test_password_policy),
		cmocka_unit_test(test_password_temp),
		cmocka_unit_test(test_opaque_tokens),
	};

	if (rc_auth_init() != RC_OK)
		return 1;
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
