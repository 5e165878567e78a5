/* Identity crypto core: the ES256 signing keys and their JWKS, access tokens
 * (JWT), argon2id passwords and their policy, opaque random tokens. Pure
 * library code: every parameter (issuer, lifetimes, limits, paths) comes
 * from the caller, nothing from the config. */
#ifndef ROLLCALL_AUTH_H
#define ROLLCALL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rollcall/http.h"
#include "rollcall/util.h"

#define RC_AUTH_ERR_LEN		256	/* size of the err buffers below */

/* Calls sodium_init(); call once at start-up, before any other rc_auth_*
 * function and before threads start. */
rc_status	rc_auth_init(void);

/* ---- Keys ------------------------------------------------------------ */

/* A set of P-256 keys: at most one signs, any number only verify. Built at
 * start-up (or on reload, into a new set that replaces the old one); once
 * built it is read-only, so loop threads may share it without locks. */
struct rc_auth_keys;

#define RC_AUTH_KID_LEN		43	/* RFC 7638 thumbprint, base64url */

struct rc_auth_keys	*rc_auth_keys_new(void);
void			 rc_auth_keys_free(struct rc_auth_keys *keys);

/* Loads every "*.pem" file of dir, sorted by name: private keys (PKCS#8 or
 * SEC1 "EC PRIVATE KEY") and public keys ("PUBLIC KEY", verify-only). The
 * private key whose file name sorts last signs; generated files are named
 * es256-<UTC time>-<kid prefix>.pem, so that is the newest. When dir holds
 * no private key, makes dir (0700) if needed, generates a key and writes it
 * there (0600, created exclusively and renamed into place), under an flock
 * on dir/.lock so that two daemons starting together share one key.
 * Blocking (file I/O): call at start-up. On failure err says why. */
rc_status	rc_auth_keys_load_or_generate(struct rc_auth_keys *keys,
		    const char *dir, char err[RC_AUTH_ERR_LEN]);

/* Generates a new P-256 key into dir as above, without loading it (key
 * rotation: publish it on the next reload, it signs from then on). Writes
 * the new file's path into *path (caller frees) when path is not NULL. */
rc_status	rc_auth_keys_generate(const char *dir, char **path,
		    char err[RC_AUTH_ERR_LEN]);

/* Adds one key from PEM text (private or public). A private key added with
 * sign != 0 becomes the signing key (the previous signer stays, verify-only);
 * a public key cannot sign. A key already in the set (same kid) is not added
 * twice, but sign != 0 still promotes it. Copies the text. */
rc_status	rc_auth_keys_add_pem(struct rc_auth_keys *keys, const char *pem,
		    size_t len, int sign, char err[RC_AUTH_ERR_LEN]);
/* The same, from a file; logs a warning when others than its owner may
 * read a private key. */
rc_status	rc_auth_keys_add_file(struct rc_auth_keys *keys,
		    const char *path, int sign, char err[RC_AUTH_ERR_LEN]);

/* Drops the key with this kid; RC_ERR when there is none. Dropping the
 * signing key leaves the set unable to sign. */
rc_status	rc_auth_keys_remove(struct rc_auth_keys *keys, const char *kid);

size_t		rc_auth_keys_count(const struct rc_auth_keys *keys);
/* The signing key's kid, or NULL. Points into keys. */
const char	*rc_auth_keys_signing_kid(const struct rc_auth_keys *keys);

/* The JWKS document (RFC 7517 5) of every key in the set, public parts
 * only: {"keys":[{"kty":"EC","crv":"P-256","x","y","kid","use":"sig",
 * "alg":"ES256"}]}. Returns a new reference; caller json_decref()s. */
json_t		*rc_auth_jwks(const struct rc_auth_keys *keys);
/* The same, serialised compactly; returns a new string, caller frees. */
char		*rc_auth_jwks_string(const struct rc_auth_keys *keys);

/* ---- Access tokens (JWT, ES256) -------------------------------------- */

#define RC_AUTH_TOKEN_MAX	4096	/* longer strings are rejected unread */
#define RC_AUTH_IAT_SKEW	60	/* seconds iat may lie ahead of now */

/* The claims of an access token. Strings are owned by the struct when it
 * comes from rc_auth_token_verify(); free them with rc_auth_claims_cleanup(). */
struct rc_auth_claims {
	char	*sub;	/* user id */
	char	*org;	/* organisation id; NULL for a superadmin */
	char	*role;
	char	*jti;	/* token id; rc_auth_token_sign() makes one if NULL */
	char	*sid;	/* session: the refresh family it was minted with;
			   NULL (absent) in tokens from before sessions */
	int64_t	 tv;	/* token version: bumped to revoke a user's tokens */
	int64_t	 iat;	/* issued at, seconds since the epoch */
	int64_t	 exp;	/* expires at */
};

void		rc_auth_claims_init(struct rc_auth_claims *c);
/* Frees the strings and zeroes c; safe to call twice. */
void		rc_auth_claims_cleanup(struct rc_auth_claims *c);

/* Signs an access token: header {"alg":"ES256","typ":"JWT","kid"}, claims
 * iss, sub, org and sid (each omitted when NULL), role, iat, exp, jti, tv
 * from c (the
 * caller sets iat = now, exp = now + ttl). *out is a new string; caller
 * frees. ~1 ms of CPU (libjwt re-parses the PEM key each time): acceptable
 * on the login/refresh paths, or run it on the CPU pool with the hash. */
rc_status	rc_auth_token_sign(const struct rc_auth_keys *keys,
		    const char *issuer, const struct rc_auth_claims *c,
		    char **out);

/* Why a token was refused. Every one of them is a 401 for the client;
 * the distinction is for logs only. */
enum rc_auth_verify_error {
	RC_AUTH_VERIFY_OK = 0,
	RC_AUTH_VERIFY_MALFORMED,	/* not header.payload.signature, bad
					   base64url or JSON, too long */
	RC_AUTH_VERIFY_BAD_ALG,		/* alg is not exactly "ES256" */
	RC_AUTH_VERIFY_BAD_HEADER,	/* typ not JWT, crit present */
	RC_AUTH_VERIFY_UNKNOWN_KID,	/* kid missing or not in the set */
	RC_AUTH_VERIFY_BAD_SIGNATURE,
	RC_AUTH_VERIFY_BAD_ISSUER,
	RC_AUTH_VERIFY_EXPIRED,
	RC_AUTH_VERIFY_NOT_YET_VALID,	/* iat or nbf in the future */
	RC_AUTH_VERIFY_BAD_CLAIMS,	/* missing or mistyped claim */
};

/* A short fixed name of the reason, for logs ("expired", ...). */
const char	*rc_auth_verify_error_str(enum rc_auth_verify_error e);

/* Verifies an access token: the header must say alg "ES256" (nothing else,
 * RFC 8725 3.1) and name a kid in the set; the signature is checked with
 * that key's public part only, by OpenSSL (libjwt 1.x would let the token
 * pick e.g. HS256 keyed with our public key, and re-parses the PEM key on
 * every call). Then iss == issuer, exp + leeway > now, iat <= now + leeway
 * + RC_AUTH_IAT_SKEW, nbf (if present) <= now + leeway, and sub, role, jti,
 * tv present and typed (org: string, null or absent; sid: a non-empty
 * string or absent). On RC_OK fills *out
 * (caller runs rc_auth_claims_cleanup()); on RC_ERR *out is zeroed and *why
 * (if not NULL) says why. ~0.1 ms of CPU: fine on a loop thread. */
rc_status	rc_auth_token_verify(const struct rc_auth_keys *keys,
		    const char *issuer, const char *token, int64_t now,
		    int leeway, struct rc_auth_claims *out,
		    enum rc_auth_verify_error *why);

/* ---- Passwords (argon2id) -------------------------------------------- */

#define RC_AUTH_PWHASH_LEN	128	/* crypto_pwhash_STRBYTES, with NUL */
#define RC_AUTH_PASSWORD_MIN	10	/* code points */
#define RC_AUTH_PASSWORD_MAX	1024	/* bytes */
#define RC_AUTH_TEMP_PASSWORD_LEN 16

/* Hashing limits, the dummy hash for unknown e-mails and the list of
 * common passwords. Read-only once made: threads may share it. */
struct rc_auth_passwords;

/* opslimit/memlimit of 0 take libsodium's INTERACTIVE defaults (2 passes,
 * 64 MiB). common_path names a file of common passwords, one a line, "#"
 * starts a comment; NULL: no list. Hashes the dummy once: BLOCKING. */
struct rc_auth_passwords *rc_auth_passwords_new(unsigned long long opslimit,
		    size_t memlimit, const char *common_path,
		    char err[RC_AUTH_ERR_LEN]);
void		rc_auth_passwords_free(struct rc_auth_passwords *pw);

/* Everything below that hashes is BLOCKING (tens of milliseconds, memlimit
 * bytes of RAM): call it on the CPU pool, never on a loop thread. */

/* Hashes pw into out (an "$argon2id$..." string). RC_ERR when pw is longer
 * than RC_AUTH_PASSWORD_MAX bytes or memory runs out. */
rc_status	rc_auth_password_hash(const struct rc_auth_passwords *pw,
		    const char *password, char out[RC_AUTH_PWHASH_LEN]);
/* RC_OK when password matches hash; RC_ERR when it does not or hash is not
 * an argon2 string. Runs the dummy verify instead when the password is too
 * long, so that it takes as long either way. */
rc_status	rc_auth_password_verify(const struct rc_auth_passwords *pw,
		    const char *hash, const char *password);
/* For the login path when the e-mail is unknown: verifies against the
 * dummy hash (same limits), so that the reply takes as long. */
void		rc_auth_password_dummy_verify(const struct rc_auth_passwords *pw,
		    const char *password);
/* True when hash was made with other limits (or another algorithm) than
 * pw's: rehash after a successful login. Fast: not blocking. */
int		rc_auth_password_needs_rehash(const struct rc_auth_passwords *pw,
		    const char *hash);

/* Checks a new password: RC_AUTH_PASSWORD_MIN..MAX, valid UTF-8, not the
 * e-mail nor its local part (ignoring case), not a common password. On
 * RC_ERR *why is a fixed sentence for the 422 message (do not free). email
 * may be NULL. Fast: not blocking. */
rc_status	rc_auth_password_policy(const struct rc_auth_passwords *pw,
		    const char *password, const char *email, const char **why);

/* Writes a random temporary password of RC_AUTH_TEMP_PASSWORD_LEN
 * characters from an alphabet without look-alikes (no 0/O, 1/l/I), and a
 * NUL. About 93 bits. */
void		rc_auth_password_temp(char out[RC_AUTH_TEMP_PASSWORD_LEN + 1]);

/* Sign-in failures (the login_failures table): a counter with no failure
 * for this long starts again from zero, so the jobs worker may delete it
 * once its lock has passed too. */
#define RC_AUTH_FAILURE_MEMORY_SECONDS	86400

/* ---- Opaque tokens (refresh, kiosk, one-time codes) ------------------ */

#define RC_AUTH_RANDOM_TOKEN_LEN 43	/* 256 bits, base64url, no padding */
#define RC_AUTH_TOKEN_HASH_LEN	64	/* hex SHA-256 */

/* Writes a new 256-bit random token and a NUL. */
void		rc_auth_token_random(char out[RC_AUTH_RANDOM_TOKEN_LEN + 1]);
/* Writes the hex SHA-256 of tok and a NUL: what the database stores, so a
 * leaked table does not give usable tokens. */
void		rc_auth_token_hash(const char *tok,
		    char out[RC_AUTH_TOKEN_HASH_LEN + 1]);
/* Writes a uniformly random 6-digit code ("000000".."999999") and a NUL. */
void		rc_auth_code6(char out[7]);

/* ---- Principal and authentication (src/auth/middleware.c, kiosk.c) -- *
 * The router authenticates a route whose who is not 0 with
 * rc_auth_authenticate before its handler runs (rc_router_set_auth). */

/* The authenticated caller of a request: a user as their users row says
 * now (not as the token said: a role change takes effect at once), or a
 * kiosk device. Owned by the request (req->who), freed with it. */
struct rc_principal {
	char	*user_id;	/* NULL for a kiosk */
	char	*org_id;	/* NULL: superadmin */
	char	*role;		/* "kiosk" for a kiosk */
	char	*email;
	char	*name;		/* the kiosk's name for a kiosk */
	char	*manager_id;	/* NULL: none */
	char	*kiosk_id;	/* NULL for a user */
	unsigned role_bit;	/* one RC_ROLE_* (0 for a kiosk) */
	int	 must_change_password;
};

/* The RC_ROLE_* bit of a role name; 0 when unknown. */
unsigned	rc_auth_role_bit(const char *role);

/* Sets the keys and issuer the middleware verifies with. Call once before
 * the loops start (`rollcall serve` does, src/cli/serve.c); keys must
 * outlive the loops. */
void		rc_auth_middleware_setup(const struct rc_auth_keys *keys,
		    const char *issuer);

/* The authenticator (an rc_http_auth_fn): a kiosk device token
 * ("rck_...") when who has RC_WHO_KIOSK, else the "Authorization: Bearer"
 * access token (401 "unauthorized" on any failure; the reason goes to the
 * log only). The user is loaded by the token's sub through the loop's pool
 * (active and carrying the token's tv, else 401) into req->who; then 403
 * "password_change_required" when they must change their password and who
 * lacks RC_WHO_PENDING_PASSWORD, and 403 "forbidden" when their role's bit
 * is not in who. 503 when the database is down. Calls next(req) once all
 * passed, possibly from a database callback: the caller must not touch req
 * after calling this. */
void		rc_auth_authenticate(struct rc_req *req, unsigned who,
		    rc_http_handler next);

/* Frees a principal (NULL is a no-op). */
void		rc_principal_free(struct rc_principal *p);

/* Kiosk device tokens: "rck_" and RC_AUTH_RANDOM_TOKEN_LEN characters;
 * the database keeps only their SHA-256 (rc_auth_token_hash). */
#define RC_AUTH_KIOSK_PREFIX	"rck_"
#define RC_AUTH_KIOSK_TOKEN_LEN	(sizeof(RC_AUTH_KIOSK_PREFIX) - 1 + \
				 RC_AUTH_RANDOM_TOKEN_LEN)
/* Writes a new kiosk token and a NUL; wipe it once shown. */
void		rc_auth_kiosk_token_new(char out[RC_AUTH_KIOSK_TOKEN_LEN + 1]);
/* True when tok has a kiosk token's prefix (not that it is valid). */
int		rc_auth_is_kiosk_token(const char *tok);
/* Looks tok up among the kiosks through the loop's pool: sets req->who to
 * the kiosk (kiosk_id, org_id, name; role "kiosk") and calls next(req), or
 * replies 401 (503 when the database is down). */
void		rc_auth_kiosk_authenticate(struct rc_req *req, const char *tok,
		    rc_http_handler next);

/* ---- Principal cache (src/auth/principal_cache.c) -------------------- */

/* Starts the thread that LISTENs on "rollcall_principals" over its own
 * connection to db_url (sql/009's triggers NOTIFY a user id there when the
 * user's row or a refresh family of theirs changes), reconnecting with
 * backoff. rc_auth_authenticate serves principals from a per-loop cache only
 * while that connection is up. Call once before the loops start. */
rc_status	rc_auth_pcache_start(const char *db_url);
/* Stops and joins the thread; the cache is bypassed from then on. */
void		rc_auth_pcache_stop(void);
/* Drops every cached principal of user_id on every loop of this process
 * (what a NOTIFY does); any thread. */
void		rc_auth_pcache_forget(const char *user_id);
/* True while the listening connection is up (the cache is in use). */
int		rc_auth_pcache_listening(void);

/* ---- Command line (src/auth/cli.c) ----------------------------------- */

struct rc_config;

/* `rollcall user add --email E --name N --role R [--org SLUG]
 * [--manager EMAIL]`: the password is the first line of stdin when stdin
 * is not a terminal and has one; otherwise one is generated, printed once,
 * and must be changed at the first sign-in. Exit 0 done, 1 failed, 2 bad
 * usage. Blocking (libpq): command line only. */
int		rc_cli_user(const struct rc_config *cfg, int argc, char **argv);
/* `rollcall keys rotate | prune [--grace SECONDS]`: adds a signing key to
 * auth.keys_dir (serve signs with it after SIGHUP); deletes keys whose
 * tokens have all expired (README: key rotation). */
int		rc_cli_keys(const struct rc_config *cfg, int argc, char **argv);

#endif
