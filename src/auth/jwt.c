/* Access tokens: ES256 JWTs signed with libjwt 1.x and verified with OpenSSL
 * behind our own header checks; and the opaque random tokens (refresh,
 * kiosk, one-time codes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/log.h"
#include "auth-int.h"

#define B64URL		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define ES256_SIG_LEN	64	/* RFC 7518 3.4: R || S, 32 bytes each */

/* n/2 and n for P-256 (SEC 2 2.4.2), big-endian. An ECDSA signature (r, s)
 * is as valid as (r, n - s); only the one with s <= n/2 is accepted, so a
 * token has exactly one valid signature (no malleability; Bitcoin's BIP 62
 * rule). */
static const unsigned char P256_HALF_N[32] = {
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00,
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42,
	0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};
static const unsigned char P256_N[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static int
high_s(const unsigned char sig[ES256_SIG_LEN])
{
	return memcmp(sig + 32, P256_HALF_N, 32) > 0;
}

/* Replaces s by n - s in place (32-byte big-endian subtraction). */
static void
negate_s(unsigned char sig[ES256_SIG_LEN])
{
	int i, borrow = 0;

	for (i = 31; i >= 0; i--) {
		int d = P256_N[i] - sig[32 + i] - borrow;

		borrow = d < 0;
		sig[32 + i] = (unsigned char)(d + (borrow ? 256 : 0));
	}
}

char *
auth_token_low_s(const char *tok)
{
	const char *dot = strrchr(tok, '.');
	unsigned char sig[ES256_SIG_LEN];
	size_t siglen, head;
	const char *end;
	char *out;

	if (dot == NULL || sodium_base642bin(sig, sizeof(sig), dot + 1,
	    strlen(dot + 1), NULL, &siglen, &end, B64URL) != 0 ||
	    *end != '\0' || siglen != ES256_SIG_LEN)
		return NULL;
	if (high_s(sig))
		negate_s(sig);
	head = (size_t)(dot + 1 - tok);
	out = rc_malloc(head + sodium_base64_ENCODED_LEN(ES256_SIG_LEN, B64URL));
	memcpy(out, tok, head);
	sodium_bin2base64(out + head, sodium_base64_ENCODED_LEN(ES256_SIG_LEN,
	    B64URL), sig, sizeof(sig), B64URL);
	return out;
}

void
rc_auth_claims_init(struct rc_auth_claims *c)
{
	memset(c, 0, sizeof(*c));
}

void
rc_auth_claims_cleanup(struct rc_auth_claims *c)
{
	free(c->sub);
	free(c->org);
	free(c->role);
	free(c->jti);
	free(c->sid);
	memset(c, 0, sizeof(*c));
}

const char *
rc_auth_verify_error_str(enum rc_auth_verify_error e)
{
	switch (e) {
	case RC_AUTH_VERIFY_OK:			return "ok";
	case RC_AUTH_VERIFY_MALFORMED:		return "malformed";
	case RC_AUTH_VERIFY_BAD_ALG:		return "bad_alg";
	case RC_AUTH_VERIFY_BAD_HEADER:		return "bad_header";
	case RC_AUTH_VERIFY_UNKNOWN_KID:	return "unknown_kid";
	case RC_AUTH_VERIFY_BAD_SIGNATURE:	return "bad_signature";
	case RC_AUTH_VERIFY_BAD_ISSUER:		return "bad_issuer";
	case RC_AUTH_VERIFY_EXPIRED:		return "expired";
	case RC_AUTH_VERIFY_NOT_YET_VALID:	return "not_yet_valid";
	case RC_AUTH_VERIFY_BAD_CLAIMS:		return "bad_claims";
	}
	return "unknown";
}

/* The claims as a compact JSON object; returns a new string, caller frees. */
static char *
claims_json(const char *issuer, const struct rc_auth_claims *c,
    const char *jti)
{
	json_t *obj;
	char *s;

	obj = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:I}", "iss", issuer,
	    "sub", c->sub, "role", c->role, "iat", (json_int_t)c->iat,
	    "exp", (json_int_t)c->exp, "jti", jti, "tv", (json_int_t)c->tv);
	if (obj == NULL)
		return NULL;
	if (c->org != NULL)
		json_object_set_new(obj, "org", json_string(c->org));
	if (c->sid != NULL)
		json_object_set_new(obj, "sid", json_string(c->sid));
	s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	return s;
}

rc_status
rc_auth_token_sign(const struct rc_auth_keys *keys, const char *issuer,
    const struct rc_auth_claims *c, char **out)
{
	const struct auth_key *k = auth_keys_signer(keys);
	char jti[RC_AUTH_RANDOM_TOKEN_LEN + 1];
	char *claims = NULL, *tok = NULL;
	rc_status rc = RC_ERR;
	jwt_t *jwt = NULL;

	*out = NULL;
	if (k == NULL || k->priv_pem == NULL) {
		rc_log(RC_LOG_ERROR, "auth: no signing key");
		return RC_ERR;
	}
	if (c->sub == NULL || c->role == NULL)
		return RC_ERR;
	if (c->jti == NULL)
		rc_auth_token_random(jti);
	claims = claims_json(issuer, c, c->jti != NULL ? c->jti : jti);
	if (claims == NULL || jwt_new(&jwt) != 0)
		goto out;
	if (jwt_add_grants_json(jwt, claims) != 0 ||
	    jwt_add_header(jwt, "kid", k->kid) != 0 ||
	    jwt_add_header(jwt, "typ", "JWT") != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_ES256, (const unsigned char *)k->priv_pem,
	    (int)k->priv_len) != 0)
		goto out;
	if ((tok = jwt_encode_str(jwt)) == NULL) {
		rc_log(RC_LOG_ERROR, "auth: jwt_encode_str: %s", strerror(errno));
		goto out;
	}
	if ((*out = auth_token_low_s(tok)) == NULL) {
		rc_log(RC_LOG_ERROR, "auth: libjwt made no ES256 signature");
		goto out;
	}
	rc = RC_OK;
out:
	free(tok);
	jwt_free(jwt);		/* wipes its copy of the key */
	free(claims);
	return rc;
}

/* Decodes one base64url segment (no padding, canonical) into a new
 * NUL-terminated buffer; NULL when it is not base64url. */
static unsigned char *
b64url_decode(const char *s, size_t n, size_t *len)
{
	size_t cap = n / 4 * 3 + 3;
	unsigned char *buf = rc_malloc(cap + 1);
	const char *end;

	if (n == 0 || sodium_base642bin(buf, cap, s, n, NULL, len, &end,
	    B64URL) != 0 || end != s + n) {
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/* Decodes a segment holding a JSON object; NULL otherwise. */
static json_t *
segment_object(const char *s, size_t n)
{
	unsigned char *raw;
	json_t *obj;
	size_t len;

	if ((raw = b64url_decode(s, n, &len)) == NULL)
		return NULL;
	obj = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (obj != NULL && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

/* Checks the JOSE header before libjwt sees the token, since libjwt 1.x
 * takes the algorithm from it: only "ES256" with a kid we hold passes
 * (RFC 8725 3.1). Returns the key, or NULL with *why set. */
static const struct auth_key *
check_header(const struct rc_auth_keys *keys, const char *tok, size_t n,
    enum rc_auth_verify_error *why)
{
	const struct auth_key *k = NULL;
	const char *alg, *typ, *kid;
	json_t *hdr;

	if ((hdr = segment_object(tok, n)) == NULL) {
		*why = RC_AUTH_VERIFY_MALFORMED;
		return NULL;
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	typ = json_string_value(json_object_get(hdr, "typ"));
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (alg == NULL || strcmp(alg, "ES256") != 0)
		*why = RC_AUTH_VERIFY_BAD_ALG;
	else if ((json_object_get(hdr, "typ") != NULL &&
	    (typ == NULL || strcasecmp(typ, "JWT") != 0)) ||
	    json_object_get(hdr, "crit") != NULL)	/* RFC 7515 4.1.11 */
		*why = RC_AUTH_VERIFY_BAD_HEADER;
	else if (kid == NULL || (k = auth_keys_find(keys, kid)) == NULL)
		*why = RC_AUTH_VERIFY_UNKNOWN_KID;
	json_decref(hdr);
	return k;
}

/* Splits tok into its three segments; RC_ERR unless there are exactly
 * three, none empty, within RC_AUTH_TOKEN_MAX. */
static rc_status
split_token(const char *tok, size_t *hlen, size_t *plen, size_t *slen)
{
	size_t len = strnlen(tok, RC_AUTH_TOKEN_MAX + 1);
	const char *d1, *d2;

	if (len == 0 || len > RC_AUTH_TOKEN_MAX)
		return RC_ERR;
	if ((d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return RC_ERR;
	*hlen = (size_t)(d1 - tok);
	*plen = (size_t)(d2 - d1 - 1);
	*slen = len - (size_t)(d2 + 1 - tok);
	return *hlen && *plen && *slen ? RC_OK : RC_ERR;
}

/* Reads an integer claim; RC_ERR when absent or not an integer. */
static rc_status
int_claim(json_t *claims, const char *name, int64_t *out)
{
	json_t *v = json_object_get(claims, name);

	if (!json_is_integer(v))
		return RC_ERR;
	*out = (int64_t)json_integer_value(v);
	return RC_OK;
}

/* A non-empty string claim, or NULL. */
static const char *
str_claim(json_t *claims, const char *name)
{
	const char *s = json_string_value(json_object_get(claims, name));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* Types and presence of the claims, then iss, exp, iat, nbf. */
static enum rc_auth_verify_error
check_claims(json_t *cl, const char *issuer, int64_t now, int leeway,
    struct rc_auth_claims *out)
{
	const char *iss = json_string_value(json_object_get(cl, "iss"));
	json_t *org = json_object_get(cl, "org");
	json_t *nbf = json_object_get(cl, "nbf");
	json_t *sid = json_object_get(cl, "sid");
	int64_t nbf_v = 0;

	if (iss == NULL || strcmp(iss, issuer) != 0)
		return RC_AUTH_VERIFY_BAD_ISSUER;
	if (int_claim(cl, "exp", &out->exp) != RC_OK ||
	    int_claim(cl, "iat", &out->iat) != RC_OK ||
	    int_claim(cl, "tv", &out->tv) != RC_OK || out->tv < 0 ||
	    str_claim(cl, "sub") == NULL || str_claim(cl, "role") == NULL ||
	    str_claim(cl, "jti") == NULL ||
	    (org != NULL && !json_is_null(org) && str_claim(cl, "org") == NULL) ||
	    (sid != NULL && str_claim(cl, "sid") == NULL) ||
	    (nbf != NULL && int_claim(cl, "nbf", &nbf_v) != RC_OK) ||
	    out->exp <= out->iat)
		return RC_AUTH_VERIFY_BAD_CLAIMS;
	if (now >= out->exp + leeway)			/* RFC 7519 4.1.4 */
		return RC_AUTH_VERIFY_EXPIRED;
	if (out->iat > now + leeway + RC_AUTH_IAT_SKEW ||
	    (nbf != NULL && nbf_v > now + leeway))	/* RFC 7519 4.1.5 */
		return RC_AUTH_VERIFY_NOT_YET_VALID;
	out->sub = rc_strdup(str_claim(cl, "sub"));
	out->role = rc_strdup(str_claim(cl, "role"));
	out->jti = rc_strdup(str_claim(cl, "jti"));
	if (str_claim(cl, "org") != NULL)
		out->org = rc_strdup(str_claim(cl, "org"));
	if (sid != NULL)
		out->sid = rc_strdup(str_claim(cl, "sid"));
	return RC_AUTH_VERIFY_OK;
}

/* Checks an ES256 signature (RFC 7518 3.4: raw R || S, 32 bytes each) over
 * the signing input with k's public key, through OpenSSL directly: no
 * library on this path reads an algorithm from the token. */
static int
es256_valid(const struct auth_key *k, const char *input, size_t len,
    const unsigned char sig[ES256_SIG_LEN])
{
	unsigned char *der = NULL;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int derlen, ok = 0;

	if (es == NULL || r == NULL || s == NULL || ctx == NULL || high_s(sig))
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;				/* es owns them now */
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pub) == 1 &&
	    EVP_DigestVerify(ctx, der, (size_t)derlen,
	    (const unsigned char *)input, len) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return ok;
}

/* Verifies the signature with k's public key only, then reads the claims. */
static enum rc_auth_verify_error
verify_with(const struct auth_key *k, const char *token, size_t hlen,
    size_t plen, const unsigned char *sig, const char *issuer, int64_t now,
    int leeway, struct rc_auth_claims *out)
{
	enum rc_auth_verify_error e;
	json_t *cl;

	if (!es256_valid(k, token, hlen + 1 + plen, sig))
		return RC_AUTH_VERIFY_BAD_SIGNATURE;
	if ((cl = segment_object(token + hlen + 1, plen)) == NULL)
		return RC_AUTH_VERIFY_BAD_CLAIMS;
	e = check_claims(cl, issuer, now, leeway < 0 ? 0 : leeway, out);
	json_decref(cl);
	return e;
}

rc_status
rc_auth_token_verify(const struct rc_auth_keys *keys, const char *issuer,
    const char *token, int64_t now, int leeway, struct rc_auth_claims *out,
    enum rc_auth_verify_error *why)
{
	enum rc_auth_verify_error e = RC_AUTH_VERIFY_MALFORMED;
	const struct auth_key *k;
	size_t hlen, plen, slen, siglen;
	unsigned char *sig;

	rc_auth_claims_init(out);
	if (token == NULL || split_token(token, &hlen, &plen, &slen) != RC_OK)
		goto fail;
	if ((k = check_header(keys, token, hlen, &e)) == NULL)
		goto fail;
	sig = b64url_decode(token + hlen + plen + 2, slen, &siglen);
	if (sig == NULL || siglen != ES256_SIG_LEN) {
		e = sig == NULL ? RC_AUTH_VERIFY_MALFORMED :
		    RC_AUTH_VERIFY_BAD_SIGNATURE;
		free(sig);
		goto fail;
	}
	e = verify_with(k, token, hlen, plen, sig, issuer, now, leeway, out);
	free(sig);
	if (e != RC_AUTH_VERIFY_OK)
		goto fail;
	if (why != NULL)
		*why = RC_AUTH_VERIFY_OK;
	return RC_OK;
fail:
	rc_auth_claims_cleanup(out);
	if (why != NULL)
		*why = e;
	return RC_ERR;
}

void
rc_auth_token_random(char out[RC_AUTH_RANDOM_TOKEN_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, RC_AUTH_RANDOM_TOKEN_LEN + 1, raw, sizeof(raw),
	    B64URL);
	sodium_memzero(raw, sizeof(raw));
}

void
rc_auth_token_hash(const char *tok, char out[RC_AUTH_TOKEN_HASH_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)tok, strlen(tok));
	rc_hex_encode(h, sizeof(h), out);
}

void
rc_auth_code6(char out[7])
{
	snprintf(out, 7, "%06u", (unsigned)randombytes_uniform(1000000));
}
