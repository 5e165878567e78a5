/* Schema migrations: sql/NNN_name.sql applied in order, each in its own
 * transaction, recorded with a SHA-256 checksum. Blocking: runs from the
 * CLI or before the loops start. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/db.h"
#include "rollcall/log.h"

/* Any number; the same in every rollcall so concurrent starts serialise. */
#define MIGRATE_LOCK_KEY	"727277"

static const char SQL_CREATE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name text PRIMARY KEY,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int
is_migration_name(const char *n)
{
	size_t len = strlen(n);

	return len > 8 && isdigit((unsigned char)n[0]) &&
	    isdigit((unsigned char)n[1]) && isdigit((unsigned char)n[2]) &&
	    n[3] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns a sorted array of migration file names; caller frees. */
static char **
list_migrations(const char *dir, size_t *n, char *err, size_t errlen)
{
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_migration_name(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			names = rc_realloc(names, cap * sizeof(char *));
		}
		names[(*n)++] = rc_strdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(char *), cmp_names);
	return names ? names : rc_calloc(1, sizeof(char *));
}

static rc_status
exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		PQclear(res);
		return RC_ERR;
	}
	PQclear(res);
	return RC_OK;
}

/* Returns the recorded checksum of name (new string), or NULL if the file
 * was never applied. */
static char *
applied_checksum(PGconn *pg, const char *name)
{
	const char *params[] = { name };
	PGresult *res;
	char *sum = NULL;

	res = PQexecParams(pg, "SELECT checksum FROM schema_migrations "
	    "WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		sum = rc_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return sum;
}

static rc_status
apply_one(PGconn *pg, const char *dir, const char *name, int *applied,
    char *err, size_t errlen)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof(digest) + 1], msg[512], *path, *sql, *old;
	const char *params[2];
	PGresult *res;
	size_t len;
	rc_status rv = RC_ERR;

	path = rc_asprintf("%s/%s", dir, name);
	if ((sql = rc_read_file(path, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return RC_ERR;
	}
	crypto_hash_sha256(digest, (const unsigned char *)sql, len);
	rc_hex_encode(digest, sizeof(digest), hex);
	if ((old = applied_checksum(pg, name)) != NULL) {
		if (strcmp(old, hex) == 0)
			rv = RC_OK;
		else
			snprintf(err, errlen, "%s was changed after it was "
			    "applied (checksum %.12s, recorded %.12s): add a new "
			    "migration instead of editing an applied one",
			    path, hex, old);
		goto out;
	}
	if (exec_ok(pg, "BEGIN", err, errlen) != RC_OK)
		goto out;
	if (exec_ok(pg, sql, msg, sizeof(msg)) != RC_OK) {
		snprintf(err, errlen, "%s: %s", path, msg);
		exec_ok(pg, "ROLLBACK", msg, sizeof(msg));
		goto out;
	}
	params[0] = name;
	params[1] = hex;
	res = PQexecParams(pg, "INSERT INTO schema_migrations (name, checksum) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
		PQclear(res);
		exec_ok(pg, "ROLLBACK", msg, sizeof(msg));
		goto out;
	}
	PQclear(res);
	if (exec_ok(pg, "COMMIT", err, errlen) != RC_OK)
		goto out;
	rc_log(RC_LOG_INFO, "migrate: applied %s", name);
	(*applied)++;
	rv = RC_OK;
out:
	free(old);
	free(sql);
	free(path);
	return rv;
}

rc_status
rc_db_migrate(PGconn *pg, const char *dir, int *applied, char *err,
    size_t errlen)
{
	char **names, msg[256];
	size_t i, n;
	rc_status rv = RC_OK;

	*applied = 0;
	if ((names = list_migrations(dir, &n, err, errlen)) == NULL)
		return RC_ERR;
	if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err,
	    errlen) != RC_OK || exec_ok(pg, SQL_CREATE, err, errlen) != RC_OK)
		rv = RC_ERR;
	for (i = 0; i < n && rv == RC_OK; i++)
		rv = apply_one(pg, dir, names[i], applied, err, errlen);
	exec_ok(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", msg,
	    sizeof(msg));
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}
