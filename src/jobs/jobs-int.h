/* Internals of the jobs module shared by the worker (worker.c) and the
 * face reindex (reindex.c). */
#ifndef ROLLCALL_JOBS_INT_H
#define ROLLCALL_JOBS_INT_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/slack.h"

struct rc_face_engine;
struct rc_store;

enum reindex_result {
	REINDEX_DONE,		/* nothing left in the job's scope */
	REINDEX_MORE,		/* a batch committed with the job; more left */
	REINDEX_RETRY,		/* a database or store failure: err says */
};

/* One batch of a face_reindex job, inside the claim's transaction on pg:
 * up to a batch of the scope's templates of another method than eng's
 * (rows locked, SKIP LOCKED) recomputed from their pictures, or marked
 * with reindex_error when the picture is gone or yields no face. Updates
 * the progress counters in payload ("total", "done", "failed"), logs and
 * counts them in the metrics. CPU-bound (the face engine) and blocking:
 * the worker thread only. */
enum reindex_result reindex_batch(PGconn *pg, struct rc_store *store,
	    struct rc_face_engine *eng, json_t *payload, char *err,
	    size_t errlen);

struct rc_config;

/* Delivers one `webhook` job of org_id (webhook.c): RC_SLACK_RETRY with
 * *retry_after_ms > 0 when the receiver said when (429 Retry-After). */
enum rc_slack_post_result webhook_deliver(PGconn *pg,
	    const struct rc_config *cfg, const char *org_id,
	    const json_t *payload, long *retry_after_ms, char *err,
	    size_t errlen);
/* Queues the Slack digests that are due (sql/011_slack.sql); RC_ERR only
 * when the connection is gone. */
rc_status webhook_queue_digests(PGconn *pg);

#endif
