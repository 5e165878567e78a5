/* Reindexing face templates: when the matcher's method changes (a new
 * descriptor, a new version), every enrolled template is recomputed from
 * its stored source picture by the jobs worker, so nobody has to enrol
 * again. The work is a face_reindex job done a batch at a time: each batch
 * commits with the job's progress, so other jobs keep flowing, a crash
 * loses at most a batch, and each org's gallery (invalidated by the
 * face_templates trigger's NOTIFY at each commit) gains the recomputed
 * faces as they come. Until then an old template is simply not compared
 * (another method), so identification keeps working for everyone already
 * recomputed or enrolled anew. A face whose picture no longer yields a
 * face keeps its row, marked with reindex_error, and is logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"
#include "rollcall/store.h"

#include "jobs-int.h"

/* Templates per batch: about 25 ms each, so a batch is a second or two. */
#define REINDEX_BATCH		"64"

/* The scope's templates to look at: $1 method, $2 version (the current
 * ones), $3 org id or NULL. */
#define STALE_WHERE \
    " (t.method <> $1 OR t.version <> $2::int) AND t.reindex_error IS NULL" \
    " AND ($3::uuid IS NULL OR t.org_id = $3::uuid)"

static const char SQL_PICK[] =
    "SELECT t.id, t.user_id, p.sha256 FROM face_templates t"
    " LEFT JOIN pictures p ON p.id = t.picture_id WHERE" STALE_WHERE
    " ORDER BY t.created_at, t.id LIMIT " REINDEX_BATCH
    " FOR UPDATE OF t SKIP LOCKED";
static const char SQL_STALE[] =
    "SELECT count(*) FROM face_templates t WHERE" STALE_WHERE;
static const char SQL_SET[] =
    "UPDATE face_templates SET method = $2, version = $3::int,"
    " template = decode($4, 'hex'), quality = $5::real, reindex_error = NULL"
    " WHERE id = $1::uuid";
static const char SQL_MARK[] =
    "UPDATE face_templates SET reindex_error = $2 WHERE id = $1::uuid";

static const char SQL_ORG_OF_SLUG[] = "SELECT id FROM orgs WHERE slug = $1";
static const char SQL_RETRY_FAILED[] =
    "UPDATE face_templates SET reindex_error = NULL"
    " WHERE reindex_error IS NOT NULL"
    " AND ($1::uuid IS NULL OR org_id = $1::uuid)";
/* $1 org id or NULL. Nothing when a job of that scope is pending. */
static const char SQL_QUEUE[] =
    "INSERT INTO jobs (kind, payload, org_id) SELECT 'face_reindex',"
    " jsonb_strip_nulls(jsonb_build_object('org_id', $1::text)), $1::uuid"
    " WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = 'face_reindex'"
    " AND state = 'pending' AND payload->>'org_id' IS NOT DISTINCT FROM"
    " $1::text)";

static int
result_ok(PGconn *pg, PGresult *res, const char *what, char *err,
    size_t errlen)
{
	ExecStatusType st = PQresultStatus(res);
	const char *msg;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 1;
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	snprintf(err, errlen, "face reindex: database (%s): %.*s", what,
	    (int)strcspn(msg ? msg : PQerrorMessage(pg), "\n"),
	    msg ? msg : PQerrorMessage(pg));
	return 0;
}

/* Runs sql with n text params; NULL (err set) on failure. */
static PGresult *
run(PGconn *pg, const char *sql, int n, const char *const *params,
    const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);

	if (result_ok(pg, res, what, err, errlen))
		return res;
	PQclear(res);
	return NULL;
}

static long
count_stale(PGconn *pg, const char *const scope[3], char *err, size_t errlen)
{
	PGresult *res = run(pg, SQL_STALE, 3, scope, "count", err, errlen);
	long n;

	if (res == NULL)
		return -1;
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

/* Writes t (of picture quality q) into row id. */
static int
store_template(PGconn *pg, const char *id, const struct rc_face_template *t,
    double q, char *err, size_t errlen)
{
	size_t len;
	unsigned char *tpl = rc_face_template_serialize(t, &len);
	char *hex = rc_malloc(2 * len + 1), version[12], quality[16];
	const char *p[5] = { id, rc_face_template_method(t), version, hex,
	    quality };
	PGresult *res;

	rc_hex_encode(tpl, len, hex);
	snprintf(version, sizeof(version), "%d",
	    (int)(int32_t)rc_face_template_version(t));
	snprintf(quality, sizeof(quality), "%.4f", q);
	res = run(pg, SQL_SET, 5, p, "update", err, errlen);
	free(hex);
	free(tpl);
	if (res == NULL)
		return 0;
	PQclear(res);
	return 1;
}

static int
mark_failed(PGconn *pg, const char *id, const char *why, char *err,
    size_t errlen)
{
	const char *p[2] = { id, why };
	PGresult *res = run(pg, SQL_MARK, 2, p, "mark", err, errlen);

	if (res == NULL)
		return 0;
	PQclear(res);
	return 1;
}

/* Recomputes one template; *failed is set when its picture gave none.
 * Returns 0 on a database or store failure (err set). */
static int
reindex_one(PGconn *pg, struct rc_store *store, struct rc_face_engine *eng,
    PGresult *rows, int i, int *failed, char *err, size_t errlen)
{
	const char *id = PQgetvalue(rows, i, 0);
	struct rc_face_template *t = NULL;
	struct rc_face_info info;
	enum rc_face_status st;
	unsigned char *img = NULL;
	char why[256];
	size_t len = 0;
	rc_status got;
	int ok;

	*failed = 0;
	if (PQgetisnull(rows, i, 2)) {
		snprintf(why, sizeof(why), "the source picture was deleted");
		goto fail;
	}
	got = rc_store_get(store, PQgetvalue(rows, i, 2), &img, &len);
	if (got == RC_ERR) {
		snprintf(err, errlen, "face reindex: store: cannot read blob %s",
		    PQgetvalue(rows, i, 2));
		return 0;
	}
	if (got == RC_AGAIN) {
		snprintf(why, sizeof(why), "the source picture's file is gone");
		goto fail;
	}
	st = rc_face_extract(eng, img, len, 0, &t, &info);
	free(img);
	if (st == RC_FACE_OK) {
		ok = store_template(pg, id, t, info.quality, err, errlen);
		rc_face_template_free(t);
		return ok;
	}
	snprintf(why, sizeof(why), "%s: %s", rc_face_status_code(st),
	    info.reason);
fail:
	*failed = 1;
	rc_log(RC_LOG_WARN, "face reindex: template %s of user %s kept with its "
	    "old method, not recomputed: %s", id, PQgetvalue(rows, i, 1), why);
	return mark_failed(pg, id, why, err, errlen);
}

static long
payload_count(json_t *payload, const char *key)
{
	return (long)json_integer_value(json_object_get(payload, key));
}

static void
payload_add(json_t *payload, const char *key, long n)
{
	json_object_set_new(payload, key, json_integer(payload_count(payload,
	    key) + n));
}

enum reindex_result
reindex_batch(PGconn *pg, struct rc_store *store, struct rc_face_engine *eng,
    json_t *payload, char *err, size_t errlen)
{
	char version[12];
	const char *scope[3] = { rc_face_method(eng), version,
	    json_string_value(json_object_get(payload, "org_id")) };
	PGresult *rows;
	long left;
	int i, n, failed, nfailed = 0;

	snprintf(version, sizeof(version), "%d",
	    (int)(int32_t)rc_face_version(eng));
	if (json_object_get(payload, "total") == NULL) {
		if ((left = count_stale(pg, scope, err, errlen)) < 0)
			return REINDEX_RETRY;
		json_object_set_new(payload, "total", json_integer(left));
		rc_log(RC_LOG_INFO, "face reindex: %ld template(s) of an older "
		    "method to recompute as %s v%s%s%s", left, scope[0],
		    version, scope[2] ? " in org " : "", scope[2] ? scope[2] : "");
	}
	if ((rows = run(pg, SQL_PICK, 3, scope, "pick", err, errlen)) == NULL)
		return REINDEX_RETRY;
	n = PQntuples(rows);
	for (i = 0; i < n; i++) {
		if (!reindex_one(pg, store, eng, rows, i, &failed, err, errlen)) {
			PQclear(rows);
			return REINDEX_RETRY;
		}
		nfailed += failed;
	}
	PQclear(rows);
	payload_add(payload, "done", n - nfailed);
	payload_add(payload, "failed", nfailed);
	if ((left = count_stale(pg, scope, err, errlen)) < 0)
		return REINDEX_RETRY;
	rc_metrics_face_reindex(n - nfailed, nfailed, left);
	rc_log(RC_LOG_INFO, "face reindex: %ld recomputed, %ld failed of %ld; "
	    "%ld left", payload_count(payload, "done"),
	    payload_count(payload, "failed"), payload_count(payload, "total"),
	    left);
	if (left > 0 && n > 0)
		return REINDEX_MORE;
	if (left > 0) {	/* all locked by another worker: come back later */
		snprintf(err, errlen, "face reindex: %ld template(s) locked by "
		    "another worker", left);
		return REINDEX_RETRY;
	}
	rc_log(RC_LOG_INFO, "face reindex: done: %ld recomputed, %ld failed "
	    "(kept with reindex_error set)", payload_count(payload, "done"),
	    payload_count(payload, "failed"));
	return REINDEX_DONE;
}

rc_status
rc_jobs_queue_face_reindex(PGconn *pg, const char *org_slug, int retry_failed,
    long *stale, int *queued, char *err, size_t errlen)
{
	char version[12], org[40] = "";
	const char *scope[3] = { rc_face_method(NULL), version, NULL };
	PGresult *res;

	*stale = 0;
	*queued = 0;
	snprintf(version, sizeof(version), "%d",
	    (int)(int32_t)rc_face_version(NULL));
	if (org_slug != NULL) {
		res = run(pg, SQL_ORG_OF_SLUG, 1, &org_slug, "org", err, errlen);
		if (res == NULL)
			return RC_ERR;
		if (PQntuples(res) == 0) {
			snprintf(err, errlen, "no organisation with slug \"%s\"",
			    org_slug);
			PQclear(res);
			return RC_ERR;
		}
		snprintf(org, sizeof(org), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		scope[2] = org;
	}
	if (retry_failed) {
		if ((res = run(pg, SQL_RETRY_FAILED, 1, &scope[2], "retry",
		    err, errlen)) == NULL)
			return RC_ERR;
		PQclear(res);
	}
	if ((*stale = count_stale(pg, scope, err, errlen)) < 0)
		return RC_ERR;
	if (*stale == 0)
		return RC_OK;
	if ((res = run(pg, SQL_QUEUE, 1, &scope[2], "queue", err, errlen)) == NULL)
		return RC_ERR;
	*queued = atoi(PQcmdTuples(res));
	PQclear(res);
	return RC_OK;
}
