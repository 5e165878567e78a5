/* Internals the auth module's files share: the key set's layout, so that
 * jwt.c can reach a key's PEM text by kid. */
#ifndef ROLLCALL_AUTH_INT_H
#define ROLLCALL_AUTH_INT_H

#include <stddef.h>
#include <stdint.h>

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
/* ---- The principal cache (principal_cache.c) ------------------------- */

#define AUTH_PCACHE_SLOTS	1024	/* entries per loop thread */
#define AUTH_PCACHE_STAMPS	4096	/* shared invalidation counters */

/* What a lookup that missed notes before its query, so that a NOTIFY
 * arriving while the query runs leaves the row it returns uncached. */
struct auth_pcache_ticket {
	uint64_t	 session;
	uint32_t	 stamp;
};

/* On a loop thread: true when this thread holds a principal for (sub, tv,
 * sid) that no NOTIFY has dropped since, in the current listening
 * session; *out is then a new packed copy, freed with
 * auth_principal_packed_free(). sid NULL: a token without one. False
 * whenever the listener is not connected. */
int		 auth_pcache_get(const char *sub, int64_t tv, const char *sid,
		    struct rc_principal **out);
/* Before the query of a miss. */
void		 auth_pcache_ticket(const char *sub,
		    struct auth_pcache_ticket *t);
/* After a good row (active, tv matched, session live): remembers a copy of
 * p on this thread, unless the listener was down when t was taken. */
void		 auth_pcache_put(const struct auth_pcache_ticket *t,
		    const char *sub, int64_t tv, const char *sid,
		    const struct rc_principal *p);

/* A copy of src in one allocation (strings after the struct): what the
 * cache keeps and hands out; free it with auth_principal_packed_free(). */
struct rc_principal *auth_principal_pack(const struct rc_principal *src);
void		 auth_principal_packed_free(struct rc_principal *p);

#endif
