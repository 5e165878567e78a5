/* The durable outbox (replaces SES's queueing): writers insert rows into
 * the `jobs` table in the same transaction as the change that causes them
 * (sql/002_jobs.sql); one worker thread inside `rollcall serve` delivers
 * them with exponential backoff and a dead-letter state, and the `rollcall
 * jobs` subcommand lists and retries them.
 *
 * Delivery is at least once: a job is marked done in the transaction that
 * holds its row lock, after the SMTP server accepted it, so a crash between
 * the two sends it again; it is never lost and never delivered by two
 * workers at the same time. */
#ifndef ROLLCALL_JOBS_H
#define ROLLCALL_JOBS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/util.h"

struct rc_config;
struct rc_face_engine;

/* The blob_delete job of the outbox (sql/006_faces.sql): keys is a SQL
 * jsonb array expression of sha256 / thumb_sha256 texts, org an org id
 * expression; append a FROM / WHERE as needed. */
#define RC_JOBS_BLOB_DELETE(keys, org) \
	"INSERT INTO jobs (kind, payload, org_id) SELECT 'blob_delete'," \
	" jsonb_build_object('keys', " keys "), " org

/* Starts the worker thread; call from the main thread (it calls
 * rc_mail_init) before the loops serve. The thread connects on its own
 * and retries with backoff while the database is away, so this fails only
 * when the thread cannot be created. cfg must stay valid until
 * rc_jobs_stop returns. The worker blocks on libpq and SMTP: that is why it
 * has a thread of its own. */
rc_status	rc_jobs_start(const struct rc_config *cfg);
/* Wakes the worker, lets a delivery in progress finish (bounded by
 * mail.timeout_ms: abandoning it could send the mail twice), joins the
 * thread and calls rc_mail_cleanup. A no-op without a start; safe twice. */
void		rc_jobs_stop(void);

/* The face matcher the worker's face_reindex jobs use (the daemon's own,
 * whose weights are loaded once at start); NULL: such jobs wait. Call
 * before rc_jobs_start. */
void		rc_jobs_use_face_engine(struct rc_face_engine *eng);

/* Queues a face_reindex job, which recomputes, from their pictures, the
 * templates of another method than the one this build makes, for one org
 * (org_slug) or all (NULL), unless one for that scope is pending. With
 * retry_failed, templates a reindex marked as failed (reindex_error) are
 * tried again. *stale: the templates to recompute; nothing is queued when
 * there are none (*queued: 1 when a job was queued). Blocking (libpq):
 * start-up and CLI only. */
rc_status	rc_jobs_queue_face_reindex(PGconn *pg, const char *org_slug,
		    int retry_failed, long *stale, int *queued, char *err,
		    size_t errlen);

/* `rollcall face reindex [--org SLUG]`. Blocking. Returns 0, 1 on error,
 * 2 on a usage error. */
int		rc_cli_face(const struct rc_config *cfg, int argc, char **argv);

/* Builds a mail job payload {"to": [to], "template": template_name,
 * "vars": vars} for writers that enqueue with a parameter ($1::jsonb).
 * Steals the reference to vars (NULL: an empty object). Returns a new
 * reference; caller decrefs. The vars may hold a temporary password: the
 * worker removes them from the row once the mail is delivered. */
json_t	       *rc_jobs_mail_payload(const char *template_name, json_t *vars,
		    const char *to);

/* `rollcall jobs list [--state S] [--limit N] | retry ID | retry-dead`.
 * Blocking (libpq). Returns 0, 1 on error, 2 on a usage error. */
int		rc_cli_jobs(const struct rc_config *cfg, int argc, char **argv);

#endif
