/* Slack's `webhook` jobs for the worker: the message is built from the
 * payload at delivery (src/slack), the URL read from slack_links then (it
 * is a secret: no payload carries it), checked against slack.webhook_allow
 * again (the config may have narrowed since it was set), and posted. Also
 * queues the daily digests that are due. Blocking: the worker's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "rollcall/config.h"
#include "rollcall/log.h"
#include "rollcall/slack.h"

#include "jobs-int.h"

static const char SQL_WEBHOOK_URL[] =
    "SELECT webhook_url FROM slack_links WHERE org_id = $1::uuid"
    " AND webhook_url IS NOT NULL";

enum rc_slack_post_result
webhook_deliver(PGconn *pg, const struct rc_config *cfg, const char *org_id,
    const json_t *payload, long *retry_after_ms, char *err, size_t errlen)
{
	const char *params[1] = { org_id };
	enum rc_slack_post_result r = RC_SLACK_REFUSED;
	PGresult *res = NULL;
	json_t *msg = NULL;
	char *body = NULL, *url = NULL;

	*retry_after_ms = 0;
	if ((msg = rc_slack_message(payload, err, errlen)) == NULL)
		goto out;
	res = PQexecParams(pg, SQL_WEBHOOK_URL, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "webhook: reading the URL failed");
		r = RC_SLACK_RETRY;
		goto out;
	}
	if (PQntuples(res) == 0) {
		snprintf(err, errlen, "webhook: the organisation has no Slack "
		    "webhook_url any more");
		goto out;
	}
	url = rc_strdup(PQgetvalue(res, 0, 0));
	sodium_memzero(PQgetvalue(res, 0, 0), strlen(url));
	if (!rc_slack_url_allowed(cfg->slack_webhook_allow, url)) {
		snprintf(err, errlen, "webhook: the organisation's webhook_url "
		    "is outside slack.webhook_allow");
		goto out;
	}
	body = json_dumps(msg, JSON_COMPACT);
	r = rc_slack_post(url, body, cfg->slack_timeout_ms, retry_after_ms,
	    err, errlen);
out:
	if (url != NULL) {
		sodium_memzero(url, strlen(url));
		free(url);
	}
	free(body);
	json_decref(msg);
	PQclear(res);
	return r;
}

rc_status
webhook_queue_digests(PGconn *pg)
{
	PGresult *res = PQexec(pg, "SELECT slack_queue_digests()");
	rc_status rv = RC_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc_log(RC_LOG_ERROR, "jobs: queueing Slack digests: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "failed");
		rv = PQstatus(pg) == CONNECTION_OK ? RC_OK : RC_ERR;
	} else if (atoi(PQgetvalue(res, 0, 0)) > 0) {
		rc_log(RC_LOG_INFO, "jobs: %s Slack digest(s) queued",
		    PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rv;
}
