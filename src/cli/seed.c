/* The demo organisation of `make run`: on the first start of an empty
 * installation, an org "Demo Company" and its admin, whose generated
 * password is printed once on stdout (never to the log). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/log.h"

#define DEMO_EMAIL	"admin@demo.example"

/* One statement, so two daemons starting together make one org: the
 * second finds the slug taken (or an org present) and inserts nothing. */
static const char SQL_SEED[] =
	"WITH o AS (INSERT INTO orgs (name, slug) SELECT 'Demo Company', 'demo'"
	" WHERE NOT EXISTS (SELECT 1 FROM orgs)"
	" ON CONFLICT (slug) DO NOTHING RETURNING id),"
	" u AS (INSERT INTO users (org_id, email, name, role, password_hash)"
	" SELECT id, '" DEMO_EMAIL "', 'Demo Admin', 'admin', $1 FROM o"
	" RETURNING id, org_id),"
	" a AS (INSERT INTO audit_log (org_id, actor_id, action, target_id,"
	" detail) SELECT org_id, NULL, 'user_created', id,"
	" '{\"via\": \"demo_seed\"}' FROM u)"
	" SELECT count(*) FROM u";

static int
has_orgs(PGconn *pg, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, "SELECT EXISTS (SELECT 1 FROM orgs)");
	int rv;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "demo seed: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	rv = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rv;
}

rc_status
rc_cli_seed_demo(const struct rc_config *cfg,
    const struct rc_auth_passwords *pw, char *err, size_t errlen)
{
	char password[RC_AUTH_TEMP_PASSWORD_LEN + 1];
	char hash[RC_AUTH_PWHASH_LEN];
	const char *params[1] = { hash };
	rc_status rc = RC_ERR;
	PGresult *res = NULL;
	PGconn *pg;
	int have;

	if ((pg = rc_db_connect_blocking(cfg->db_url, err, errlen)) == NULL)
		return RC_ERR;
	if ((have = has_orgs(pg, err, errlen)) != 0) {
		PQfinish(pg);
		return have < 0 ? RC_ERR : RC_OK;
	}
	rc_auth_password_temp(password);
	if (rc_auth_password_hash(pw, password, hash) != RC_OK) {
		snprintf(err, errlen, "demo seed: cannot hash a password");
		goto out;
	}
	res = PQexecParams(pg, SQL_SEED, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "demo seed: %s", PQerrorMessage(pg));
		goto out;
	}
	rc = RC_OK;
	if (strcmp(PQgetvalue(res, 0, 0), "1") == 0) {
		rc_log(RC_LOG_INFO, "demo seed: created org \"demo\" and its "
		    "admin %s (password printed on stdout)", DEMO_EMAIL);
		printf("demo admin: %s / %s\n", DEMO_EMAIL, password);
		fflush(stdout);
	}
out:
	PQclear(res);
	PQfinish(pg);
	sodium_memzero(password, sizeof(password));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}
