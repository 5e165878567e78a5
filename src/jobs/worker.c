/* The outbox worker: one thread in `rollcall serve` that claims a due job
 * with FOR UPDATE SKIP LOCKED, delivers it while holding the row lock and
 * records the outcome in the same transaction. A crash mid-delivery rolls
 * back to 'pending'; several daemons on one database never deliver the
 * same job at the same time. Blocking libpq, SMTP and file I/O are fine
 * here: this thread runs no event loop. It also unlinks the blobs of
 * deleted pictures, purges old check-in photos and forgotten sign-in
 * failures, and recomputes face templates of an older method
 * (reindex.c). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/mail.h"
#include "rollcall/store.h"

#include "jobs-int.h"

#define JOBS_ERRLEN		512
#define RECONNECT_MIN_MS	250
#define RECONNECT_MAX_MS	30000
/* Check-in photos and sign-in failures are purged at start and then at
 * most this often. */
#define PURGE_INTERVAL_USEC	(60 * 1000000ULL)
/* Rows per purge statement, so one statement never holds a huge list. */
#define PURGE_BATCH		"1000"

/* Claims the oldest due job no other worker holds. */
static const char SQL_CLAIM[] =
    "SELECT id, kind, payload, attempts, org_id FROM jobs"
    " WHERE state = 'pending' AND run_at <= now()"
    " ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED";
/* The vars may hold a temporary password or a reset code: once the mail
 * is out nothing needs them. clock_timestamp(), not now(): the delivery
 * may have taken a while since BEGIN. */
static const char SQL_DONE[] =
    "UPDATE jobs SET state = 'done', attempts = attempts + 1,"
    " last_error = NULL, payload = payload - 'vars',"
    " done_at = clock_timestamp(), updated_at = clock_timestamp()"
    " WHERE id = $1";
static const char SQL_RETRY[] =
    "UPDATE jobs SET attempts = attempts + 1, last_error = $2,"
    " run_at = clock_timestamp() + $3::bigint * interval '1 millisecond',"
    " updated_at = clock_timestamp() WHERE id = $1";
/* A long job's next step: at once, its progress in the payload ($2), the
 * attempt not counted (this one succeeded). */
static const char SQL_AGAIN[] =
    "UPDATE jobs SET payload = $2::jsonb, last_error = NULL,"
    " run_at = clock_timestamp(), updated_at = clock_timestamp()"
    " WHERE id = $1";
/* Dead jobs keep their vars so that `rollcall jobs retry` can send them. */
static const char SQL_DEAD[] =
    "UPDATE jobs SET state = 'dead', attempts = attempts + 1,"
    " last_error = $2, updated_at = clock_timestamp() WHERE id = $1";
/* Milliseconds until the next job falls due. Due rows are left out: when
 * the claim found none, they are locked by another worker, and waiting
 * for them would spin. */
static const char SQL_NEXT_DUE[] =
    "SELECT ceil(extract(epoch FROM min(run_at) - clock_timestamp())"
    " * 1000)::bigint FROM jobs WHERE state = 'pending' AND run_at > now()";
/* The keys of a blob_delete job ($1, a JSON array) no picture names any
 * more: a key another row still names (the same bytes uploaded twice)
 * stays. With each, the job's age in milliseconds ($2 its id). */
static const char SQL_UNNAMED_KEYS[] =
    "SELECT k, floor(1000 * extract(epoch FROM clock_timestamp() - (SELECT"
    " created_at FROM jobs WHERE id = $2::uuid)))::bigint"
    " FROM jsonb_array_elements_text($1::jsonb) k"
    " WHERE NOT EXISTS (SELECT 1 FROM pictures"
    " WHERE sha256 = k OR thumb_sha256 = k)";
/* Held until the claim's transaction ends; a running `rollcall backup`
 * holds it shared while it copies the blobs of its snapshot. */
static const char SQL_BLOB_LOCK[] =
    "SELECT pg_try_advisory_xact_lock(" RC_STORE_GC_LOCK_KEY ")";
/* Deletes up to PURGE_BATCH check-in photos older than $1 days and queues
 * one blob_delete job per org for their blobs, in one statement. Row:
 * photos deleted, jobs queued. */
static const char SQL_PURGE[] =
    "WITH d AS (DELETE FROM pictures WHERE id IN (SELECT id FROM pictures"
    "  WHERE purpose = 'check_in' AND created_at < now() -"
    "  make_interval(days => $1::int) ORDER BY created_at LIMIT "
    PURGE_BATCH ") RETURNING org_id, sha256, thumb_sha256),"
    " k AS (SELECT org_id, sha256 AS key FROM d UNION"
    "  SELECT org_id, thumb_sha256 FROM d),"
    " j AS (" RC_JOBS_BLOB_DELETE("jsonb_agg(key ORDER BY key)", "org_id")
    "  FROM k GROUP BY org_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM j)";
/* Sign-in failure counters that src/api/auth.c treats as zero (no failure
 * for $1 seconds) and whose lock has passed: nothing reads them again,
 * and an attacker's spray of e-mails and addresses must not grow the
 * table for ever. */
static const char SQL_PURGE_LOGIN_FAILURES[] =
    "DELETE FROM login_failures WHERE updated_at < now() -"
    " make_interval(secs => $1::int) AND (locked_until IS NULL OR"
    " locked_until <= now())";

enum outcome {
	OUT_SENT,
	OUT_AGAIN,	/* a step of a long job done; more to do */
	OUT_RETRY,
	OUT_DEAD,
};

struct job {
	char		 id[40];
	char		 kind[16];
	int		 attempts;	/* made before this one */
	char		 org_id[40];	/* "" when none */
	long		 retry_after_ms; /* OUT_RETRY: the receiver's delay */
	json_t		*payload;	/* NULL when the stored text is no JSON */
	char		*progress;	/* OUT_AGAIN: the payload to store */
};

/* What a mail payload turns into; to[], filename and content_type point
 * into the payload, the rest is owned. */
struct mail_parts {
	const char		**to;
	size_t			  nto;
	char			 *subject;
	char			 *text;
	struct rc_mail_attachment *att;
	unsigned char		**data;		/* att[i].data, owned */
	size_t			  natt;
};

struct worker {
	const struct rc_config	*cfg;
	struct rc_mail_transport_config transport;
	pthread_t		 thread;
	bool			 running;
	int			 wake_fd;	/* eventfd: rc_jobs_stop */
	atomic_bool		 stopping;
	PGconn			*pg;
	struct rc_store		*store;		/* opened on the first blob job */
	uint64_t		 purged_usec;	/* last purge; 0: never */
	uint64_t		 digests_usec;	/* last Slack digest check */
};

static struct worker worker = { .wake_fd = -1 };
static struct rc_face_engine *_Atomic face_engine;

void
rc_jobs_use_face_engine(struct rc_face_engine *eng)
{
	atomic_store(&face_engine, eng);
}

/* Database helpers ----------------------------------------------------- */

/* Logs the primary message only: DETAIL can quote a failing row, and a
 * row here holds a payload. */
static rc_status
check_result(PGconn *pg, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	const char *msg, *state;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return RC_OK;
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (msg == NULL)
		msg = PQerrorMessage(pg);
	rc_log(RC_LOG_WARN, "jobs: database (%s): %s%s%s%.*s", what,
	    state ? "[" : "", state ? state : "", state ? "] " : "",
	    (int)strcspn(msg, "\n"), msg);
	return RC_ERR;
}

static rc_status
exec_params(PGconn *pg, const char *sql, int n, const char *const *vals,
    const char *what)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);
	rc_status rv = check_result(pg, res, what);

	PQclear(res);
	return rv;
}

static rc_status
exec_ok(PGconn *pg, const char *sql)
{
	return exec_params(pg, sql, 0, NULL, sql);
}

/* Frees every queued notification; returns how many there were. */
static int
drain_notifies(PGconn *pg)
{
	PGnotify *n;
	int got = 0;

	while ((n = PQnotifies(pg)) != NULL) {
		PQfreemem(n);
		got++;
	}
	return got;
}

static void
drop_connection(struct worker *w)
{
	PQfinish(w->pg);
	w->pg = NULL;
}

static rc_status
connect_listen(struct worker *w)
{
	char err[JOBS_ERRLEN];

	w->pg = rc_db_connect_blocking(w->cfg->db_url, err, sizeof(err));
	if (w->pg == NULL) {
		rc_log(RC_LOG_WARN, "jobs: %.*s", (int)strcspn(err, "\n"), err);
		return RC_ERR;
	}
	if (exec_ok(w->pg, "LISTEN jobs") != RC_OK) {
		drop_connection(w);
		return RC_ERR;
	}
	rc_log(RC_LOG_INFO, "jobs: connected, listening for new jobs");
	return RC_OK;
}

/* Sleeps until a NOTIFY arrives, rc_jobs_stop is called or timeout_ms
 * pass. Returns RC_ERR when the connection broke. */
static rc_status
wait_for_work(struct worker *w, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = w->wake_fd, .events = POLLIN },
		{ .fd = w->pg ? PQsocket(w->pg) : -1, .events = POLLIN },
	};

	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR) {
		rc_log(RC_LOG_ERROR, "jobs: poll: %s", strerror(errno));
		return RC_OK;
	}
	if (w->pg != NULL && pfd[1].revents != 0) {
		/* A terminated backend says so before closing: the read
		 * succeeds and the status turns bad. */
		if (!PQconsumeInput(w->pg) || PQstatus(w->pg) != CONNECTION_OK) {
			rc_log(RC_LOG_WARN, "jobs: database connection lost: %.*s",
			    (int)strcspn(PQerrorMessage(w->pg), "\n"),
			    PQerrorMessage(w->pg));
			return RC_ERR;
		}
		drain_notifies(w->pg);
	}
	return RC_OK;
}

/* How long to sleep when nothing is due: until the next run_at, at most
 * jobs.poll_ms (the poll catches what a lost NOTIFY would miss). */
static rc_status
idle_timeout(struct worker *w, int *timeout_ms)
{
	PGresult *res = PQexec(w->pg, SQL_NEXT_DUE);
	long long ms;

	*timeout_ms = w->cfg->jobs_poll_ms;
	if (check_result(w->pg, res, "next due") != RC_OK) {
		PQclear(res);
		return RC_ERR;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (ms < *timeout_ms)
			*timeout_ms = ms < 0 ? 0 : (int)ms;
	}
	PQclear(res);
	return RC_OK;
}

/* Mail ----------------------------------------------------------------- */

/* jansson frees strings without wiping them, and the vars may hold a
 * temporary password: zero every string in place before the payload is
 * released. The cast goes through uintptr_t because jansson only hands
 * out const pointers to memory that is about to be freed anyway. */
static void
wipe_json(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		sodium_memzero((void *)(uintptr_t)json_string_value(j),
		    json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			wipe_json(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			wipe_json(v);
	}
}

static rc_status
parse_to(json_t *to, struct mail_parts *p, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	if (json_is_string(to)) {	/* one recipient, written plainly */
		p->to = rc_calloc(1, sizeof(char *));
		p->to[p->nto++] = json_string_value(to);
		return RC_OK;
	}
	if (!json_is_array(to) || json_array_size(to) == 0 ||
	    json_array_size(to) > RC_MAIL_MAX_RCPT) {
		snprintf(err, errlen, "payload: \"to\" must be an array of 1 to "
		    "%d addresses", RC_MAIL_MAX_RCPT);
		return RC_ERR;
	}
	p->to = rc_calloc(json_array_size(to), sizeof(char *));
	json_array_foreach(to, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "payload: \"to\"[%zu] is not a "
			    "string", i);
			return RC_ERR;
		}
		p->to[p->nto++] = json_string_value(v);
	}
	return RC_OK;
}

/* Decodes one {"filename", "content_type", "data_base64"} into att. */
static rc_status
parse_attachment(json_t *a, size_t i, struct mail_parts *p, char *err,
    size_t errlen)
{
	const char *fn = json_string_value(json_object_get(a, "filename"));
	const char *ct = json_string_value(json_object_get(a, "content_type"));
	json_t *b64 = json_object_get(a, "data_base64");
	size_t b64len = json_string_length(b64), len = 0;

	if (fn == NULL || ct == NULL || !json_is_string(b64)) {
		snprintf(err, errlen, "payload: attachment %zu needs filename, "
		    "content_type and data_base64 strings", i + 1);
		return RC_ERR;
	}
	p->data[i] = rc_malloc(b64len / 4 * 3 + 3);
	if (sodium_base642bin(p->data[i], b64len / 4 * 3 + 3,
	    json_string_value(b64), b64len, "\r\n ", &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		snprintf(err, errlen, "payload: attachment %zu: data_base64 is "
		    "not base64", i + 1);
		return RC_ERR;
	}
	p->att[i] = (struct rc_mail_attachment){ fn, ct, p->data[i], len };
	p->natt = i + 1;
	return RC_OK;
}

static rc_status
parse_attachments(json_t *atts, struct mail_parts *p, char *err,
    size_t errlen)
{
	json_t *a;
	size_t i;

	if (atts == NULL || json_is_null(atts))
		return RC_OK;
	if (!json_is_array(atts)) {
		snprintf(err, errlen, "payload: \"attachments\" is not an array");
		return RC_ERR;
	}
	p->att = rc_calloc(json_array_size(atts) + 1, sizeof(*p->att));
	p->data = rc_calloc(json_array_size(atts) + 1, sizeof(*p->data));
	json_array_foreach(atts, i, a)
		if (parse_attachment(a, i, p, err, errlen) != RC_OK)
			return RC_ERR;
	return RC_OK;
}

/* Fills p from a mail payload: a template with vars, or subject + text. */
static rc_status
parse_mail(json_t *payload, struct mail_parts *p, char *err, size_t errlen)
{
	json_t *tmpl = json_object_get(payload, "template");
	const char *subject, *text;

	if (parse_to(json_object_get(payload, "to"), p, err, errlen) != RC_OK)
		return RC_ERR;
	if (tmpl != NULL) {
		if (!json_is_string(tmpl)) {
			snprintf(err, errlen, "payload: \"template\" is not a "
			    "string");
			return RC_ERR;
		}
		/* rc_mail_render logs which variable is wrong. */
		if (rc_mail_render(json_string_value(tmpl),
		    json_object_get(payload, "vars"), &p->subject,
		    &p->text) != RC_OK) {
			snprintf(err, errlen, "template %.64s cannot be rendered "
			    "from these vars (see the log)",
			    json_string_value(tmpl));
			return RC_ERR;
		}
	} else {
		subject = json_string_value(json_object_get(payload, "subject"));
		text = json_string_value(json_object_get(payload, "text"));
		if (subject == NULL || text == NULL) {
			snprintf(err, errlen, "payload: needs \"template\" or "
			    "\"subject\" and \"text\"");
			return RC_ERR;
		}
		p->subject = rc_strdup(subject);
		p->text = rc_strdup(text);
	}
	return parse_attachments(json_object_get(payload, "attachments"), p,
	    err, errlen);
}

static void
mail_parts_cleanup(struct mail_parts *p)
{
	size_t i;

	if (p->text != NULL)
		sodium_memzero(p->text, strlen(p->text));
	for (i = 0; i < p->natt; i++)
		sodium_memzero(p->data[i], p->att[i].len);
	for (i = 0; p->data != NULL && p->data[i] != NULL; i++)
		free(p->data[i]);
	free(p->data);
	free(p->att);
	free(p->text);
	free(p->subject);
	free(p->to);
	memset(p, 0, sizeof(*p));
}

/* A payload that cannot become a message is dead at once: retrying it
 * cannot help. */
static enum outcome
deliver_mail(struct worker *w, const struct job *job, char *err,
    size_t errlen)
{
	const struct rc_config *cfg = w->cfg;
	json_t *payload = job->payload;
	struct mail_parts p = { 0 };
	struct rc_mail_message m;
	char id[sizeof(job->id)];
	size_t i, n = 0;
	enum rc_mail_result r;
	enum outcome out = OUT_DEAD;
	char *msg = NULL;
	size_t len = 0;

	if (parse_mail(payload, &p, err, errlen) != RC_OK)
		goto out;
	/* The job's UUID without dashes is the Message-ID: every delivery of
	 * this job is the same message (README: what mail delivery
	 * guarantees). */
	for (i = 0; job->id[i] != '\0'; i++)
		if (job->id[i] != '-')
			id[n++] = job->id[i];
	id[n] = '\0';
	m = (struct rc_mail_message){
		.from = cfg->mail_from,
		.from_name = cfg->mail_from_name[0] ? cfg->mail_from_name : NULL,
		.to = p.to, .nto = p.nto,
		.subject = p.subject, .text = p.text,
		.att = p.att, .natt = p.natt, .id = id,
	};
	if (rc_mail_build(&m, &msg, &len, err, errlen) != RC_OK)
		goto out;
	r = rc_mail_deliver(&w->transport, cfg->mail_from, p.to, p.nto, msg,
	    len, err, errlen);
	out = r == RC_MAIL_SENT ? OUT_SENT :
	    r == RC_MAIL_TRANSIENT ? OUT_RETRY : OUT_DEAD;
out:
	if (msg != NULL) {
		sodium_memzero(msg, len);
		free(msg);
	}
	mail_parts_cleanup(&p);
	return out;
}

/* Blobs --------------------------------------------------------------- */

/* The keys of a blob_delete payload, checked, as a JSON text for
 * SQL_UNNAMED_KEYS. NULL when the payload is malformed. */
static char *
blob_keys_json(json_t *payload, char *err, size_t errlen)
{
	json_t *keys = json_object_get(payload, "keys"), *k;
	size_t i;

	if (!json_is_array(keys)) {
		snprintf(err, errlen, "payload: \"keys\" is not an array");
		return NULL;
	}
	json_array_foreach(keys, i, k) {
		if (!json_is_string(k) || !rc_store_key_valid(json_string_value(k))) {
			snprintf(err, errlen, "payload: keys[%zu] is not a blob "
			    "key", i);
			return NULL;
		}
	}
	return json_dumps(keys, JSON_COMPACT);
}

static rc_status
open_store(struct worker *w, char *err, size_t errlen)
{
	char serr[256];

	if (w->store != NULL)
		return RC_OK;
	if ((w->store = rc_store_open(w->cfg, serr, sizeof(serr))) == NULL) {
		snprintf(err, errlen, "store: %s", serr);
		return RC_ERR;
	}
	return RC_OK;
}

/* True when the blob was stored again after the job was queued: the same
 * bytes re-uploaded, whose row may not be committed yet. It stays; if no
 * row ever names it, `rollcall store gc` collects it. */
static int
stored_since(struct rc_store *store, const char *key, long long job_age_ms)
{
	int64_t age_ms;

	return rc_store_age_ms(store, key, &age_ms) == RC_OK &&
	    age_ms < job_age_ms;
}

/* False while a backup copies blobs: a blob whose row was deleted after
 * the backup's snapshot is still in that backup's list. The job is
 * retried with the usual backoff; should it die meanwhile, the blob is
 * unnamed and `rollcall store gc` collects it. */
static int
blobs_unlocked(struct worker *w, char *err, size_t errlen)
{
	PGresult *res = PQexec(w->pg, SQL_BLOB_LOCK);
	int got;

	if (check_result(w->pg, res, "blob lock") != RC_OK) {
		snprintf(err, errlen, "cannot take the blob lock");
		PQclear(res);
		return 0;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got)
		snprintf(err, errlen, "a backup (or store gc) is running; "
		    "the blobs are deleted after it");
	return got;
}

/* Unlinks each key of the payload that no picture row names. The rows
 * were deleted in the transaction that queued the job, so by now they are
 * committed; a store that fails is retried later. */
static enum outcome
deliver_blob_delete(struct worker *w, const struct job *job, char *err,
    size_t errlen)
{
	json_t *payload = job->payload;
	char *keys = blob_keys_json(payload, err, errlen);
	const char *params[2] = { keys, job->id };
	enum outcome out = OUT_RETRY;
	PGresult *res = NULL;
	int i, n, deleted = 0;

	if (keys == NULL)
		return OUT_DEAD;
	if (open_store(w, err, errlen) != RC_OK || !blobs_unlocked(w, err,
	    errlen))
		goto out;
	res = PQexecParams(w->pg, SQL_UNNAMED_KEYS, 2, NULL, params, NULL, NULL,
	    0);
	if (check_result(w->pg, res, "unnamed keys") != RC_OK) {
		snprintf(err, errlen, "cannot look up the keys' pictures");
		goto out;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		if (stored_since(w->store, PQgetvalue(res, i, 0),
		    strtoll(PQgetvalue(res, i, 1), NULL, 10)))
			continue;
		if (rc_store_delete(w->store, PQgetvalue(res, i, 0)) != RC_OK) {
			snprintf(err, errlen, "store: cannot delete blob %s",
			    PQgetvalue(res, i, 0));
			goto out;
		}
		deleted++;
	}
	rc_log(RC_LOG_INFO, "jobs: blob_delete: %d blob(s) deleted, %zu still "
	    "named by a picture", deleted, json_array_size(json_object_get(
	    payload, "keys")) - (size_t)deleted);
	out = OUT_SENT;
out:
	PQclear(res);
	free(keys);
	return out;
}

/* Faces --------------------------------------------------------------- */

/* One batch of a reindex; the job comes back at once while templates of
 * an older method are left. */
static enum outcome
deliver_face_reindex(struct worker *w, struct job *job, char *err,
    size_t errlen)
{
	struct rc_face_engine *eng = atomic_load(&face_engine);

	if (eng == NULL) {
		snprintf(err, errlen, "no face matcher in this process");
		return OUT_RETRY;
	}
	if (open_store(w, err, errlen) != RC_OK)
		return OUT_RETRY;
	switch (reindex_batch(w->pg, w->store, eng, job->payload, err,
	    errlen)) {
	case REINDEX_DONE:
		return OUT_SENT;
	case REINDEX_MORE:
		job->progress = json_dumps(job->payload, JSON_COMPACT);
		return job->progress != NULL ? OUT_AGAIN : OUT_RETRY;
	case REINDEX_RETRY:
		break;
	}
	return OUT_RETRY;
}

/* Deletes check-in photos older than face.photo_retention_days, a batch
 * per statement until none is left. The blobs go through blob_delete jobs
 * like any other picture's. RC_ERR only when the connection is gone: a
 * refused statement must not stop the mail. */
static rc_status
purge_photos(struct worker *w)
{
	char days[16];
	const char *params[1] = { days };
	long photos = 0, jobs = 0, n;
	PGresult *res;

	if (w->cfg->face_photo_retention_days <= 0)
		return RC_OK;
	snprintf(days, sizeof(days), "%d", w->cfg->face_photo_retention_days);
	do {
		res = PQexecParams(w->pg, SQL_PURGE, 1, NULL, params, NULL,
		    NULL, 0);
		if (check_result(w->pg, res, "purge check-in photos") != RC_OK) {
			PQclear(res);
			return PQstatus(w->pg) == CONNECTION_OK ? RC_OK : RC_ERR;
		}
		n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		photos += n;
		jobs += strtol(PQgetvalue(res, 0, 1), NULL, 10);
		PQclear(res);
	} while (n == atol(PURGE_BATCH) && !atomic_load(&w->stopping));
	if (photos > 0)
		rc_log(RC_LOG_INFO, "jobs: purged %ld check-in photo(s) older "
		    "than %d days; %ld blob_delete job(s) queued", photos,
		    w->cfg->face_photo_retention_days, jobs);
	return RC_OK;
}

/* Slack ---------------------------------------------------------------- */

static enum outcome
deliver_webhook(struct worker *w, struct job *job, char *err, size_t errlen)
{
	if (job->org_id[0] == '\0') {
		snprintf(err, errlen, "webhook job without an organisation");
		return OUT_DEAD;
	}
	switch (webhook_deliver(w->pg, w->cfg, job->org_id, job->payload,
	    &job->retry_after_ms, err, errlen)) {
	case RC_SLACK_POSTED:
		return OUT_SENT;
	case RC_SLACK_RETRY:
		return OUT_RETRY;
	case RC_SLACK_REFUSED:
		break;
	}
	return OUT_DEAD;
}

/* Digests fall due at an org's digest_time: look every
 * slack.digest_interval_seconds. */
static rc_status
queue_digests(struct worker *w)
{
	uint64_t every = (uint64_t)w->cfg->slack_digest_interval_seconds *
	    1000000ULL;

	if (w->digests_usec != 0 && rc_now_usec() - w->digests_usec < every)
		return RC_OK;
	w->digests_usec = rc_now_usec();
	return webhook_queue_digests(w->pg);
}

/* Deletes the sign-in failure counters that no longer count. */
static rc_status
purge_login_failures(struct worker *w)
{
	char secs[16];
	const char *params[1] = { secs };
	PGresult *res;

	snprintf(secs, sizeof(secs), "%d", RC_AUTH_FAILURE_MEMORY_SECONDS);
	res = PQexecParams(w->pg, SQL_PURGE_LOGIN_FAILURES, 1, NULL, params,
	    NULL, NULL, 0);
	if (check_result(w->pg, res, "purge sign-in failures") != RC_OK) {
		PQclear(res);
		return PQstatus(w->pg) == CONNECTION_OK ? RC_OK : RC_ERR;
	}
	if (atol(PQcmdTuples(res)) > 0)
		rc_log(RC_LOG_INFO, "jobs: purged %s forgotten sign-in failure "
		    "counter(s)", PQcmdTuples(res));
	PQclear(res);
	return RC_OK;
}

/* The periodic work: at start, then at most once a PURGE_INTERVAL_USEC. */
static rc_status
housekeep(struct worker *w)
{
	if (w->purged_usec != 0 &&
	    rc_now_usec() - w->purged_usec < PURGE_INTERVAL_USEC)
		return RC_OK;
	if (purge_photos(w) != RC_OK || purge_login_failures(w) != RC_OK)
		return RC_ERR;
	w->purged_usec = rc_now_usec();
	return RC_OK;
}

/* Jobs ----------------------------------------------------------------- */

static enum outcome
deliver(struct worker *w, struct job *job, char *err, size_t errlen)
{
	if (!json_is_object(job->payload)) {
		snprintf(err, errlen, "payload is not a JSON object");
		return OUT_DEAD;
	}
	if (strcmp(job->kind, "mail") == 0)
		return deliver_mail(w, job, err, errlen);
	if (strcmp(job->kind, "blob_delete") == 0)
		return deliver_blob_delete(w, job, err, errlen);
	if (strcmp(job->kind, "face_reindex") == 0)
		return deliver_face_reindex(w, job, err, errlen);
	if (strcmp(job->kind, "webhook") == 0)
		return deliver_webhook(w, job, err, errlen);
	snprintf(err, errlen, "%s jobs not implemented yet", job->kind);
	return OUT_DEAD;
}

/* base * 2^attempts, capped, less up to a quarter at random so that jobs
 * that failed together (an SMTP outage) do not all come back together. */
static long
retry_delay_ms(const struct rc_config *cfg, int attempts)
{
	long d = cfg->jobs_backoff_base_ms, max = cfg->jobs_backoff_max_ms;
	uint32_t r;
	int i;

	for (i = 0; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	rc_random_bytes(&r, sizeof(r));
	return d - (long)(r % (uint32_t)(d / 4 + 1));
}

/* last_error must be valid UTF-8 for PostgreSQL, or recording the outcome
 * would fail and the job be sent again: keep printable ASCII only. */
static void
sanitize(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (unsigned char)in[i] < 0x20 ||
		    (unsigned char)in[i] >= 0x7f ? '?' : in[i];
	out[i] = '\0';
}

/* Writes the outcome of this attempt into the job's row (in the claim's
 * transaction) and logs it: id, kind, attempt, outcome, error; never the
 * payload. */
static rc_status
record(struct worker *w, const struct job *job, enum outcome out,
    const char *err)
{
	char clean[JOBS_ERRLEN], delay[24];
	const char *params[3] = { job->id, clean, delay };
	const char *again[2] = { job->id, job->progress };
	int attempt = job->attempts + 1;
	long ms;

	sanitize(err, clean, sizeof(clean));
	if (out == OUT_RETRY && attempt >= w->cfg->jobs_max_attempts) {
		out = OUT_DEAD;
		snprintf(clean + strlen(clean), sizeof(clean) - strlen(clean),
		    " (gave up after %d attempts)", attempt);
	}
	switch (out) {
	case OUT_SENT:
		rc_log(RC_LOG_INFO, "jobs: %s %s delivered (attempt %d)",
		    job->kind, job->id, attempt);
		return exec_params(w->pg, SQL_DONE, 1, params, "done");
	case OUT_AGAIN:
		return exec_params(w->pg, SQL_AGAIN, 2, again, "again");
	case OUT_RETRY:
		ms = job->retry_after_ms > 0 ? job->retry_after_ms :
		    retry_delay_ms(w->cfg, job->attempts);
		snprintf(delay, sizeof(delay), "%ld", ms);
		rc_log(RC_LOG_WARN, "jobs: %s %s attempt %d failed, retry in "
		    "%ld ms: %s", job->kind, job->id, attempt, ms, clean);
		return exec_params(w->pg, SQL_RETRY, 3, params, "retry");
	case OUT_DEAD:
		break;
	}
	rc_log(RC_LOG_ERROR, "jobs: %s %s dead after attempt %d: %s",
	    job->kind, job->id, attempt, clean);
	return exec_params(w->pg, SQL_DEAD, 2, params, "dead");
}

/* Copies the claimed row into job and wipes the payload text in res,
 * which may hold a temporary password. */
static void
job_from_row(PGresult *res, struct job *job)
{
	char *payload = PQgetvalue(res, 0, 2);
	size_t len = (size_t)PQgetlength(res, 0, 2);

	snprintf(job->id, sizeof(job->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(job->kind, sizeof(job->kind), "%s", PQgetvalue(res, 0, 1));
	job->attempts = atoi(PQgetvalue(res, 0, 3));
	snprintf(job->org_id, sizeof(job->org_id), "%s", PQgetvalue(res, 0, 4));
	job->payload = json_loadb(payload, len, 0, NULL);
	sodium_memzero(payload, len);
}

/* Claims one due job, delivers it and records the outcome, all in one
 * transaction. RC_OK: a job was handled; RC_AGAIN: none is due; RC_ERR:
 * the connection must be dropped. */
static rc_status
run_one(struct worker *w)
{
	char err[JOBS_ERRLEN] = "";
	struct job job = { 0 };
	enum outcome out;
	PGresult *res;

	if (exec_ok(w->pg, "BEGIN") != RC_OK)
		return RC_ERR;
	res = PQexec(w->pg, SQL_CLAIM);
	if (check_result(w->pg, res, "claim") != RC_OK)
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return exec_ok(w->pg, "COMMIT") == RC_OK ? RC_AGAIN : RC_ERR;
	}
	job_from_row(res, &job);
	PQclear(res);
	res = NULL;
	out = deliver(w, &job, err, sizeof(err));
	if (job.payload != NULL) {
		wipe_json(job.payload);
		json_decref(job.payload);
	}
	if (record(w, &job, out, err) != RC_OK ||
	    exec_ok(w->pg, "COMMIT") != RC_OK)
		goto fail;
	free(job.progress);
	return RC_OK;
fail:
	free(job.progress);
	PQclear(res);
	if (PQstatus(w->pg) == CONNECTION_OK)
		PQclear(PQexec(w->pg, "ROLLBACK"));
	return RC_ERR;
}

/* The thread ------------------------------------------------------------ */

/* Drops the connection (if any) and sleeps before the next try, longer
 * each time, so a database that is away or broken is never hammered. */
static void
back_off(struct worker *w, int *delay_ms)
{
	if (w->pg != NULL)
		drop_connection(w);
	*delay_ms = *delay_ms == 0 ? RECONNECT_MIN_MS : *delay_ms * 2;
	if (*delay_ms > RECONNECT_MAX_MS)
		*delay_ms = RECONNECT_MAX_MS;
	wait_for_work(w, *delay_ms);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	int delay_ms = 0, timeout_ms;
	rc_status rv;

	rc_log(RC_LOG_INFO, "jobs: worker started");
	while (!atomic_load(&w->stopping)) {
		if (w->pg == NULL && connect_listen(w) != RC_OK) {
			back_off(w, &delay_ms);
			continue;
		}
		if (housekeep(w) != RC_OK || queue_digests(w) != RC_OK) {
			back_off(w, &delay_ms);
			continue;
		}
		if ((rv = run_one(w)) == RC_ERR) {
			back_off(w, &delay_ms);
			continue;
		}
		delay_ms = 0;
		if (rv == RC_OK)
			continue;
		if (idle_timeout(w, &timeout_ms) != RC_OK) {
			back_off(w, &delay_ms);
			continue;
		}
		if (timeout_ms > (int)(PURGE_INTERVAL_USEC / 1000))
			timeout_ms = (int)(PURGE_INTERVAL_USEC / 1000);
		if (timeout_ms > w->cfg->slack_digest_interval_seconds * 1000)
			timeout_ms = w->cfg->slack_digest_interval_seconds *
			    1000;
		/* libpq may have read a NOTIFY along with our results: the
		 * socket would not show it. */
		if (drain_notifies(w->pg) > 0)
			continue;
		if (wait_for_work(w, timeout_ms) != RC_OK)
			back_off(w, &delay_ms);
	}
	if (w->pg != NULL)
		drop_connection(w);
	rc_store_close(w->store);
	w->store = NULL;
	rc_log(RC_LOG_INFO, "jobs: worker stopped");
	return NULL;
}

rc_status
rc_jobs_start(const struct rc_config *cfg)
{
	sigset_t block, old;
	int rc;

	if (worker.running)
		return RC_OK;
	if (rc_mail_init() != RC_OK)
		return RC_ERR;
	worker.cfg = cfg;
	worker.transport = (struct rc_mail_transport_config){
		.url = cfg->mail_smtp_url,
		.username = cfg->mail_username,
		.password = cfg->mail_password,
		.starttls = cfg->mail_starttls,
		.timeout_ms = cfg->mail_timeout_ms,
		.spool_dir = cfg->mail_spool_dir,
	};
	atomic_store(&worker.stopping, false);
	worker.purged_usec = 0;
	if ((worker.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc_log(RC_LOG_ERROR, "jobs: eventfd: %s", strerror(errno));
		return RC_ERR;
	}
	/* Signals belong to the main thread's event loop. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&worker.thread, NULL, worker_main, &worker);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		rc_log(RC_LOG_ERROR, "jobs: cannot start the worker: %s",
		    strerror(rc));
		close(worker.wake_fd);
		worker.wake_fd = -1;
		return RC_ERR;
	}
	worker.running = true;
	return RC_OK;
}

void
rc_jobs_stop(void)
{
	uint64_t one = 1;

	if (!worker.running)
		return;
	atomic_store(&worker.stopping, true);
	if (write(worker.wake_fd, &one, sizeof(one)) < 0)
		rc_log(RC_LOG_WARN, "jobs: cannot wake the worker: %s",
		    strerror(errno));
	pthread_join(worker.thread, NULL);
	close(worker.wake_fd);
	worker.wake_fd = -1;
	worker.running = false;
	rc_mail_cleanup();
}

json_t *
rc_jobs_mail_payload(const char *template_name, json_t *vars, const char *to)
{
	json_t *p = json_object();

	if (p == NULL)
		rc_fatal("jobs: out of memory");
	json_object_set_new(p, "to", json_pack("[s]", to));
	json_object_set_new(p, "template", json_string(template_name));
	json_object_set_new(p, "vars", vars != NULL ? vars : json_object());
	return p;
}
