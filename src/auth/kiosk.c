/* Kiosk device tokens as principals: "rck_" and 256 random bits, of which
 * the database keeps only the SHA-256 (the token is random, so a slow hash
 * would add nothing, and a leaked table gives no usable token). The
 * router asks for one on routes declaring RC_WHO_KIOSK; rc_auth_authenticate
 * hands kiosk-looking tokens here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"

#include "auth-int.h"

/* $1 token hash (hex). */
static const struct rc_db_stmt SQL_KIOSK = {
	"auth_kiosk",
	"SELECT id, org_id, name FROM kiosks WHERE token_hash ="
	" decode($1, 'hex')",
	1,
};

struct kiosk_pending {
	struct rc_req	*req;
	rc_http_handler	 next;
};

void
rc_auth_kiosk_token_new(char out[RC_AUTH_KIOSK_TOKEN_LEN + 1])
{
	char raw[RC_AUTH_RANDOM_TOKEN_LEN + 1];

	rc_auth_token_random(raw);
	snprintf(out, RC_AUTH_KIOSK_TOKEN_LEN + 1, RC_AUTH_KIOSK_PREFIX "%s",
	    raw);
	sodium_memzero(raw, sizeof(raw));
}

int
rc_auth_is_kiosk_token(const char *tok)
{
	return tok != NULL && strncmp(tok, RC_AUTH_KIOSK_PREFIX,
	    sizeof(RC_AUTH_KIOSK_PREFIX) - 1) == 0;
}

/* One 401 for every failure, as for access tokens. */
static void
kiosk_unauthorized(struct rc_req *req)
{
	rc_log(RC_LOG_INFO, "auth: kiosk token refused");
	rc_http_set_header(req, "WWW-Authenticate",
	    "Bearer realm=\"rollcall\", error=\"invalid_token\"");
	rc_http_fail(req, 401, "unauthorized", "a valid token is required");
}

static struct rc_principal *
kiosk_from_row(const PGresult *res)
{
	struct rc_principal *p = rc_calloc(1, sizeof(*p));

	p->kiosk_id = rc_strdup(PQgetvalue(res, 0, 0));
	p->org_id = rc_strdup(PQgetvalue(res, 0, 1));
	p->name = rc_strdup(PQgetvalue(res, 0, 2));
	p->role = rc_strdup("kiosk");
	return p;
}

static void
kiosk_cb(const struct rc_db_result *r, void *arg)
{
	struct kiosk_pending kp = *(struct kiosk_pending *)arg;
	struct rc_req *req = kp.req;

	free(arg);
	if (r->err != RC_DB_OK) {
		auth_db_failed(req, r);
		return;
	}
	if (PQntuples(r->res) != 1) {
		kiosk_unauthorized(req);
		return;
	}
	req->who = kiosk_from_row(r->res);
	req->who_free = rc_principal_free;
	kp.next(req);
}

void
rc_auth_kiosk_authenticate(struct rc_req *req, const char *tok,
    rc_http_handler next)
{
	char hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	struct kiosk_pending *kp;
	const char *p[1];

	if (!rc_auth_is_kiosk_token(tok) ||
	    strlen(tok) != RC_AUTH_KIOSK_TOKEN_LEN) {
		kiosk_unauthorized(req);
		return;
	}
	rc_auth_token_hash(tok, hash);
	kp = rc_calloc(1, sizeof(*kp));
	kp->req = req;
	kp->next = next;
	p[0] = hash;
	if (rc_db_query(req->loop->db, &SQL_KIOSK, p, kiosk_cb, kp) !=
	    RC_AGAIN) {
		free(kp);
		rc_http_fail_unavailable(req, "the database is unavailable");
	}
}
