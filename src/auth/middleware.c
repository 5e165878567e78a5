/* The router's authenticator: Bearer access token → the caller's
 * principal (their users row) → req->who → authorisation against the
 * route's who (password state, role), then the router's next step. Kiosk
 * tokens go to kiosk.c. Runs on loop threads: verification is OpenSSL only
 * (~0.1 ms), the principal comes from the loop's principal cache
 * (principal_cache.c) or through the loop's asynchronous pool. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"

#include "auth-int.h"

/* Seconds of clock difference tolerated on exp and nbf: none. The daemons
 * that sign and verify share a clock (NTP), and a token is refused from
 * the second its exp names (RFC 7519 4.1.4); README states it. */
#define TOKEN_LEEWAY	0

static const struct rc_auth_keys *_Atomic mw_keys;	/* swapped on reload */
static const char *mw_issuer;
static _Atomic unsigned mw_generation;	/* bumped by every setup */

/* Tokens this loop thread verified lately. A client presents the same
 * access token for its whole life (15 min), and its ECDSA check is most of
 * /me's CPU (~0.13 ms), so each loop remembers the outcome; the principal
 * (the users row) comes from the principal cache, which NOTIFY keeps
 * true, or from the database. Thread-local: loops share nothing; inline
 * buffers: nothing to free when a thread ends. */
#define VCACHE_SLOTS		128
/* Room for the longest token we sign: with the org, sid and a URL issuer
 * ours come close to 512 bytes, and a token that does not fit is verified
 * again on every request (ECDSA: half the daemon's CPU on a hot read). */
#define VCACHE_TOKEN_MAX	1024

struct vcache_entry {
	unsigned	 generation;	/* 0: empty */
	size_t		 len;
	char		 tok[VCACHE_TOKEN_MAX];
	char		 sub[40];
	char		 sid[40];	/* "": none */
	int64_t		 tv;
	int64_t		 exp;
};

static _Thread_local struct vcache_entry vcache[VCACHE_SLOTS];

/* $1 sub, $2 sid (NULL for a token without one). The last column says
 * whether the token's session (refresh family) is still live: logging out
 * revokes the family, and its access tokens with it. */
static const struct rc_db_stmt SQL_PRINCIPAL = {
	"auth_principal",
	"SELECT id, org_id, role, email, name, manager_id, status,"
	" token_version, must_change_password, $2::uuid IS NULL OR EXISTS"
	" (SELECT 1 FROM refresh_tokens t WHERE t.family = $2::uuid"
	" AND t.user_id = users.id AND t.revoked_at IS NULL)"
	" FROM users WHERE id = $1",
	2,
};

/* What waits for the principal. */
struct pending {
	struct rc_req	*req;
	unsigned	 who;
	rc_http_handler	 next;
	int64_t		 tv;
	char		 sid[40];	/* "": none */
	struct auth_pcache_ticket ticket;
};

static const struct {
	const char	*name;
	unsigned	 bit;
} role_bits[] = {
	{ "superadmin", RC_ROLE_SUPERADMIN },
	{ "admin", RC_ROLE_ADMIN },
	{ "manager", RC_ROLE_MANAGER },
	{ "employee", RC_ROLE_EMPLOYEE },
	{ "intern", RC_ROLE_INTERN },
};

unsigned
rc_auth_role_bit(const char *role)
{
	size_t i;

	if (role == NULL)
		return 0;
	for (i = 0; i < RC_NELEM(role_bits); i++)
		if (strcmp(role, role_bits[i].name) == 0)
			return role_bits[i].bit;
	return 0;
}

void
rc_auth_middleware_setup(const struct rc_auth_keys *keys, const char *issuer)
{
	mw_keys = keys;
	mw_issuer = issuer;
	mw_generation++;
	if (mw_generation == 0)
		mw_generation++;
}

/* The slot of a token: FNV-1a of its tail, which is the signature (random
 * for ECDSA), so tokens spread evenly. */
static struct vcache_entry *
vcache_slot(const char *tok, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i = len > 16 ? len - 16 : 0;

	for (; i < len; i++)
		h = (h ^ (unsigned char)tok[i]) * 16777619u;
	return &vcache[h % VCACHE_SLOTS];
}

/* True when tok was verified on this thread with the current keys and has
 * not expired; fills sub and tv. Constant-time comparison: the cache must
 * not tell a forger how much of a cached token they have guessed. */
static int
vcache_get(const char *tok, size_t len, int64_t now, char sub[40],
    char sid[40], int64_t *tv)
{
	const struct vcache_entry *e = vcache_slot(tok, len);

	if (e->generation != mw_generation || e->len != len ||
	    !rc_secure_equal(e->tok, e->len, tok, len) ||
	    e->exp + TOKEN_LEEWAY <= now)
		return 0;
	memcpy(sub, e->sub, sizeof(e->sub));
	memcpy(sid, e->sid, sizeof(e->sid));
	*tv = e->tv;
	return 1;
}

static void
vcache_put(const char *tok, size_t len, const struct rc_auth_claims *c)
{
	struct vcache_entry *e = vcache_slot(tok, len);

	if (len >= VCACHE_TOKEN_MAX || strlen(c->sub) >= sizeof(e->sub) ||
	    (c->sid != NULL && strlen(c->sid) >= sizeof(e->sid)))
		return;
	e->generation = mw_generation;
	e->len = len;
	memcpy(e->tok, tok, len);
	snprintf(e->sub, sizeof(e->sub), "%s", c->sub);
	snprintf(e->sid, sizeof(e->sid), "%s", c->sid ? c->sid : "");
	e->tv = c->tv;
	e->exp = c->exp;
}

void
rc_principal_free(struct rc_principal *p)
{
	if (p == NULL)
		return;
	free(p->user_id);
	free(p->org_id);
	free(p->role);
	free(p->email);
	free(p->name);
	free(p->manager_id);
	free(p->kiosk_id);
	free(p);
}

void
auth_db_failed(struct rc_req *req, const struct rc_db_result *r)
{
	if (r->err == RC_DB_UNAVAILABLE)
		rc_http_fail_unavailable(req, "the database is unavailable");
	else
		rc_http_fail(req, 500, "internal", NULL);
}

/* One 401 for every failure: the client learns nothing about why. */
static void
unauthorized(struct rc_req *req, const char *why)
{
	rc_log(RC_LOG_INFO, "auth: token refused: %s", why);
	rc_http_set_header(req, "WWW-Authenticate",
	    "Bearer realm=\"rollcall\", error=\"invalid_token\"");
	rc_http_fail(req, 401, "unauthorized",
	    "a valid access token is required");
}

/* The canonical textual form only, so that the query cannot fail on a
 * malformed sub (the token is signed, but be strict anyway). */
static int
is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '-' ? s[i] != '-' :
		    strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return 0;	/* s has no NUL here: length checked */
	}
	return 1;
}

static char *
dup_or_null(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL :
	    rc_strdup(PQgetvalue(res, 0, col));
}

static struct rc_principal *
principal_from_row(const PGresult *res)
{
	struct rc_principal *p = rc_calloc(1, sizeof(*p));

	p->user_id = rc_strdup(PQgetvalue(res, 0, 0));
	p->org_id = dup_or_null(res, 1);
	p->role = rc_strdup(PQgetvalue(res, 0, 2));
	p->email = rc_strdup(PQgetvalue(res, 0, 3));
	p->name = rc_strdup(PQgetvalue(res, 0, 4));
	p->manager_id = dup_or_null(res, 5);
	p->role_bit = rc_auth_role_bit(p->role);
	p->must_change_password = PQgetvalue(res, 0, 8)[0] == 't';
	return p;
}

/* The principal is req->who: may it call a route declaring who? Before
 * the role: until the password is changed, the answer to every other
 * route is the same, whatever the role. */
static void
authorise(struct rc_req *req, unsigned who, rc_http_handler next)
{
	if (req->who->must_change_password &&
	    (who & RC_WHO_PENDING_PASSWORD) == 0) {
		rc_http_fail(req, 403, "password_change_required",
		    "change your password first (POST /api/v1/auth/password/change)");
		return;
	}
	if ((req->who->role_bit & who) == 0) {
		rc_http_fail(req, 403, "forbidden",
		    "your role may not do this");
		return;
	}
	next(req);
}

/* The principal cache (principal_cache.c), before the query: true when
 * this loop holds the token's principal, then req->who is set. */
static int
principal_cached(struct rc_req *req, const char *sub, int64_t tv,
    const char *sid)
{
	struct rc_principal *p;

	if (!auth_pcache_get(sub, tv, sid[0] ? sid : NULL, &p))
		return 0;
	req->who = p;
	req->who_free = auth_principal_packed_free;
	return 1;
}

/* After a good row: the loop remembers req->who for the token, unless a
 * NOTIFY for the user came while the query ran (the ticket tells). */
static void
principal_remember(const struct pending *pd, const struct rc_req *req)
{
	auth_pcache_put(&pd->ticket, req->who->user_id, pd->tv,
	    pd->sid[0] ? pd->sid : NULL, req->who);
}

static void
principal_cb(const struct rc_db_result *r, void *arg)
{
	struct pending pd = *(struct pending *)arg;
	struct rc_req *req = pd.req;

	free(arg);
	if (r->err != RC_DB_OK) {
		auth_db_failed(req, r);
		return;
	}
	if (PQntuples(r->res) != 1) {
		unauthorized(req, "no such user");
		return;
	}
	if (strcmp(PQgetvalue(r->res, 0, 6), "active") != 0) {
		unauthorized(req, "user disabled");
		return;
	}
	if (strtoll(PQgetvalue(r->res, 0, 7), NULL, 10) != pd.tv) {
		unauthorized(req, "token version revoked");
		return;
	}
	if (PQgetvalue(r->res, 0, 9)[0] != 't') {
		unauthorized(req, "session ended");
		return;
	}
	req->who = principal_from_row(r->res);
	req->who_free = rc_principal_free;
	principal_remember(&pd, req);
	authorise(req, pd.who, pd.next);
}

/* Looks up the principal of (user_id, tv, sid) — the users row, which
 * must be active and carry tv, with sid's session live — into req->who,
 * from this loop's cache or the database, then authorises it against
 * who. */
static void
principal_lookup(struct rc_req *req, const char *user_id, int64_t tv,
    const char *sid, unsigned who, rc_http_handler next)
{
	struct pending *pd;
	const char *params[2] = { user_id, sid[0] ? sid : NULL };

	if (principal_cached(req, user_id, tv, sid)) {
		authorise(req, who, next);
		return;
	}
	pd = rc_calloc(1, sizeof(*pd));
	pd->req = req;
	pd->who = who;
	pd->next = next;
	pd->tv = tv;
	snprintf(pd->sid, sizeof(pd->sid), "%s", sid);
	auth_pcache_ticket(user_id, &pd->ticket);
	/* the pool copies params */
	if (rc_db_query(req->loop->db, &SQL_PRINCIPAL, params, principal_cb,
	    pd) != RC_AGAIN) {
		free(pd);
		rc_http_fail_unavailable(req, "the database is unavailable");
	}
}

/* Verifies tok (or finds it verified): RC_OK with its sub, sid ("" when
 * it has none) and tv. */
static rc_status
verify(const char *tok, char sub[40], char sid[40], int64_t *tv,
    const char **why)
{
	enum rc_auth_verify_error e = RC_AUTH_VERIFY_OK;
	int64_t now = (int64_t)time(NULL);
	size_t len = strlen(tok);
	struct rc_auth_claims c;

	*why = "no keys";
	if (mw_keys == NULL)
		return RC_ERR;
	if (vcache_get(tok, len, now, sub, sid, tv))
		return RC_OK;
	if (rc_auth_token_verify(mw_keys, mw_issuer, tok, now, TOKEN_LEEWAY,
	    &c, &e) != RC_OK) {
		*why = rc_auth_verify_error_str(e);
		return RC_ERR;
	}
	if (!is_uuid(c.sub)) {
		rc_auth_claims_cleanup(&c);
		*why = "sub is not a user id";
		return RC_ERR;
	}
	if (c.sid != NULL && !is_uuid(c.sid)) {
		rc_auth_claims_cleanup(&c);
		*why = "sid is not a session id";
		return RC_ERR;
	}
	vcache_put(tok, len, &c);
	snprintf(sub, 40, "%s", c.sub);
	snprintf(sid, 40, "%s", c.sid ? c.sid : "");
	*tv = c.tv;
	rc_auth_claims_cleanup(&c);
	return RC_OK;
}

void
rc_auth_authenticate(struct rc_req *req, unsigned who, rc_http_handler next)
{
	const char *tok = rc_http_bearer(req), *why;
	char sub[40], sid[40];
	int64_t tv;

	/* A route either may call takes a kiosk's token by its prefix. */
	if ((who & RC_WHO_KIOSK) && ((who & RC_ROLE_ANY) == 0 ||
	    (tok != NULL && rc_auth_is_kiosk_token(tok)))) {
		rc_auth_kiosk_authenticate(req, tok, next);
		return;
	}
	if (tok == NULL) {
		unauthorized(req, "no bearer token");
		return;
	}
	if (verify(tok, sub, sid, &tv, &why) != RC_OK) {
		unauthorized(req, why);
		return;
	}
	principal_lookup(req, sub, tv, sid, who, next);
}
