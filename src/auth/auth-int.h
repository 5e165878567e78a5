/* Internals the auth module's files share: the key set's layout, so that
 * jwt.c can reach a key's PEM text by kid. */
#ifndef ROLLCALL_AUTH_INT_H
#define ROLLCALL_AUTH_INT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "rollcall/auth.h"

/* One P-256 key. Signing goes through libjwt 1.x, which takes PEM text;
 * verifying uses pub, parsed once, since OpenSSL 3 takes ~0.8 ms to parse a
 * PEM and a loop thread verifies a token per request. */
struct auth_key {
	char	 kid[RC_AUTH_KID_LEN + 1];
	char	 x[RC_AUTH_KID_LEN + 1];	/* base64url coordinates */
	char	 y[RC_AUTH_KID_LEN + 1];
	EVP_PKEY *pub;		/* public part only; read-only once made */
	char	*pub_pem;
	size_t	 pub_len;
	char	*priv_pem;	/* NULL: verify-only; wiped before free */
	size_t	 priv_len;
};

struct rc_auth_keys {
	struct auth_key	*v;
	size_t		 n;
	size_t		 signer;	/* index into v, or SIZE_MAX */
};

/* The key with this kid, or NULL. */
const struct auth_key	*auth_keys_find(const struct rc_auth_keys *keys,
			    const char *kid);
/* The signing key, or NULL. */
const struct auth_key	*auth_keys_signer(const struct rc_auth_keys *keys);

struct dirent;
/* scandir() filter: a "*.pem" name not starting with a dot. */
int			 auth_pem_name(const struct dirent *d);

/* OpenSSL (under libjwt) signs with either s of an ECDSA pair, and the
 * verifier accepts only s <= n/2: rewrites a JWS's ES256 signature to
 * that form. Returns a new string; caller frees; NULL when tok does not
 * end in a 64-byte signature. */
char			*auth_token_low_s(const char *tok);

/* middleware.c: the reply to a principal query that failed (503 when the
 * database is down, else 500). */
struct rc_db_result;
struct rc_req;
void	auth_db_failed(struct rc_req *req, const struct rc_db_result *r);

#endif
