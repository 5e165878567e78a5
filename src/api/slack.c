/* Slack: the slash command (POST /api/v1/integrations/slack/command); the
 * Slack members of orgs and users are src/slack/settings.c's. A command
 * needs no token: Slack's signature with the org's signing secret is its
 * authentication, so the handler verifies → acts → replies in one
 * function. It acts through the statements the API's routes run
 * (rollcall/rules.h: the punch, the leave request; the daily report), so
 * that the rules are the same; a refusal is a readable ephemeral text,
 * not a 4xx, as Slack shows the text to the person. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/reports.h"
#include "rollcall/rules.h"
#include "rollcall/slack.h"
#include "rollcall/sqlstate.h"

#define REPLY_MAX	3000

/* $1 team id, $2 the Slack user id (NULL-able). One row when the team is
 * linked: org, signing secret, the linked person (NULLs when none): id,
 * role, status; the org zone's offset from UTC now, in minutes. */
static const struct rc_db_stmt SQL_LOOKUP = {
	"slack_lookup",
	"SELECT s.org_id, s.signing_secret, u.id, u.role, u.status,"
	" floor(extract(epoch FROM (now() AT TIME ZONE o.timezone) -"
	"  (now() AT TIME ZONE 'UTC')) / 60)::int"
	" FROM slack_links s JOIN orgs o ON o.id = s.org_id"
	" LEFT JOIN users u ON u.org_id = s.org_id AND u.slack_user_id = $2"
	" WHERE s.team_id = $1",
	2,
};

/* $1 person. Today's status and state from attendance_days() and the
 * last event (as GET /attendance/today), this month's worked minutes and
 * days present; the open pair counts up to now. attendance_days() runs
 * once, over the month: it is planned at each call. One row: status,
 * last kind, its local time "YYYY-MM-DD HH24:MI", today's minutes, the
 * month's, days present, the month "YYYY-MM". */
static const struct rc_db_stmt SQL_STATUS = {
	"slack_status",
	"WITH t AS (SELECT u.id, u.org_id, o.timezone AS tz,"
	"  (now() AT TIME ZONE o.timezone)::date AS today FROM users u"
	"  JOIN orgs o ON o.id = u.org_id WHERE u.id = $1::uuid),"
	" l AS (SELECT e.kind, e.at FROM attendance_events e, t"
	"  WHERE e.user_id = t.id ORDER BY e.at DESC LIMIT 1),"
	" open AS (SELECT CASE WHEN l.kind = 'in' THEN floor(extract(epoch"
	"  FROM now() - greatest(l.at, t.today::timestamp AT TIME ZONE t.tz))"
	"  / 60)::int ELSE 0 END AS mins FROM t LEFT JOIN l ON true),"
	" a AS (SELECT a.* FROM t, attendance_person_days(t.org_id,"
	"  date_trunc('month', t.today)::date, t.today, t.id) a),"
	" m AS (SELECT COALESCE(sum(a.worked_minutes), 0)::int AS mins,"
	"  count(*) FILTER (WHERE a.status IN ('present', 'late')) AS days"
	"  FROM a)"
	" SELECT d.status, l.kind, to_char(l.at AT TIME ZONE t.tz,"
	" 'YYYY-MM-DD HH24:MI'), COALESCE(d.worked_minutes, 0) + open.mins,"
	" m.mins + open.mins, m.days, to_char(t.today, 'YYYY-MM')"
	" FROM t CROSS JOIN open CROSS JOIN m LEFT JOIN l ON true"
	" LEFT JOIN a d ON d.date = t.today",
	1,
};

/* $1 org, $2 "[TYPE] REASON", $3 start, $4 end. The type the text starts
 * with (a whole word or words, any case, the longest name first) and the
 * reason after it; the org's number of types, the only one's id, their
 * names; whether the range is longer than a year (leave.c's limit). */
static const struct rc_db_stmt SQL_LEAVE_TYPE = {
	"slack_leave_type",
	"WITH m AS (SELECT t.id, t.name, btrim(substr($2, length(t.name) + 1))"
	"  AS reason FROM leave_types t WHERE t.org_id = $1::uuid"
	"  AND lower(left($2, length(t.name))) = lower(t.name)"
	"  AND (length($2) = length(t.name) OR"
	"  substr($2, length(t.name) + 1, 1) = ' ')"
	"  ORDER BY length(t.name) DESC LIMIT 1),"
	" a AS (SELECT count(*) AS n, min(id::text) AS only_id,"
	"  string_agg(name, ', ' ORDER BY name) AS names FROM leave_types"
	"  WHERE org_id = $1::uuid)"
	" SELECT m.id, m.name, m.reason, a.n, a.only_id, a.names,"
	" ($4::date - $3::date) + 1 > 366"
	" FROM a LEFT JOIN m ON true",
	4,
};

/* One slash command, across its queries; freed with the request. */
struct command {
	char			*body;
	struct rc_slack_form	 form;
	struct rc_slack_command	 cmd;
	char			 org_id[40];
	char			 user_id[40];
	char			 role[16];
	int			 utc_offset_min;
	const char		*leave_type;	/* into the type lookup */
	char			*reason;
};

static void
command_free(void *arg)
{
	struct command *c = arg;

	rc_slack_form_cleanup(&c->form);
	rc_slack_command_cleanup(&c->cmd);
	free(c->body);
	free(c->reason);
}

static struct command *
command_of(struct rc_req *req)
{
	return req->data;
}

/* ---- Replies ---------------------------------------------------------- */

/* Slack shows the text to the person only (ephemeral). Ends the request. */
static void
reply(struct rc_req *req, const char *fmt, ...) RC_PRINTF(2, 3);

static void
reply(struct rc_req *req, const char *fmt, ...)
{
	char text[REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rc_http_reply_json(req, 200, json_pack("{s:s, s:s}", "response_type",
	    "ephemeral", "text", text));
}

/* A database failure: Slack shows whatever we answer, so say it plainly
 * (the details are in the log, by request id). */
static int
db_ok(struct rc_req *req, const struct rc_db_result *r)
{
	if (r->err == RC_DB_OK)
		return 1;
	/* Callbacks run outside the request's own log context. */
	rc_log_set_request_id(req->id);
	rc_log(RC_LOG_ERROR, "slack: query failed: %s",
	    r->message != NULL ? r->message : "database unavailable");
	reply(req, "Sorry, rollcall could not do that just now (request %s). "
	    "Try again in a moment.", req->id);
	return 0;
}

/* "HH:MM" in the org's zone of an instant "YYYY-MM-DDTHH:MM:SSZ". */
static void
local_time(const char *at, int offset_min, char out[6])
{
	int m;

	if (at == NULL || strlen(at) < 16) {
		snprintf(out, 6, "now");
		return;
	}
	m = ((at[11] - '0') * 10 + (at[12] - '0')) * 60 +
	    (at[14] - '0') * 10 + (at[15] - '0') + offset_min;
	m = ((m % 1440) + 1440) % 1440;
	snprintf(out, 6, "%02d:%02d", m / 60, m % 60);
}

/* ---- in / out --------------------------------------------------------- */

static void
punch_done(struct rc_req *req, const struct rc_db_result *r, int in)
{
	struct command *c = command_of(req);
	json_t *ev;
	char hhmm[6];

	if (rc_db_sqlstate_is(r, RC_SQLSTATE_ALREADY_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_NOT_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_SEQUENCE_BROKEN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE)) {
		reply(req, in ? "You are checked in already: check out first "
		    "(`out`)." : "You are not checked in (`in` checks you in).");
		return;
	}
	if (!db_ok(req, r))
		return;
	if (PQntuples(r->res) != 1 || PQgetvalue(r->res, 0, 1)[0] == 't') {
		reply(req, "Your organisation checks faces at check-in: check "
		    "in with a photo in the rollcall app or at a kiosk.");
		return;
	}
	ev = json_loads(PQgetvalue(r->res, 0, 0), 0, NULL);
	local_time(json_string_value(json_object_get(ev, "at")),
	    c->utc_offset_min, hhmm);
	json_decref(ev);
	reply(req, in ? "Checked in at %s%s%s." : "Checked out at %s.", hhmm,
	    in && c->cmd.rest[0] != '\0' ? ", note: " : "",
	    in ? c->cmd.rest : "");
}

static void
in_cb(const struct rc_db_result *r, void *arg)
{
	punch_done(arg, r, 1);
}

static void
out_cb(const struct rc_db_result *r, void *arg)
{
	punch_done(arg, r, 0);
}

static void
do_punch(struct rc_req *req, int in)
{
	struct command *c = command_of(req);
	const char *p[5];

	p[0] = c->user_id;
	p[1] = in ? "in" : "out";
	p[2] = "slack";
	p[3] = in && c->cmd.rest[0] != '\0' ? c->cmd.rest : NULL;
	p[4] = in ? "true" : "false";
	rc_rest_query(req, &rc_rules_punch, p, in ? in_cb : out_cb);
}

/* ---- status ----------------------------------------------------------- */

static const char *
status_words(const char *s)
{
	if (strcmp(s, "on_leave") == 0)
		return "on leave";
	if (strcmp(s, "absent") == 0)
		return "not in yet";
	return s;
}

static void
status_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const PGresult *res = r->res;
	char state[96];
	int today, month;

	if (!db_ok(req, r))
		return;
	if (PQntuples(res) != 1) {
		reply(req, "rollcall does not know you any more: ask an admin.");
		return;
	}
	if (PQgetisnull(res, 0, 1))
		snprintf(state, sizeof(state), "no check-in yet");
	else
		snprintf(state, sizeof(state), "checked %s since %s",
		    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	today = atoi(PQgetvalue(res, 0, 3));
	month = atoi(PQgetvalue(res, 0, 4));
	reply(req, "*Today*: %s, %s; worked %dh%02d.\n*%s*: worked %dh%02d "
	    "over %s day(s).", PQgetisnull(res, 0, 0) ? "no working day" :
	    status_words(PQgetvalue(res, 0, 0)), state, today / 60,
	    today % 60, PQgetvalue(res, 0, 6), month / 60, month % 60,
	    PQgetvalue(res, 0, 5));
}

/* ---- leave ------------------------------------------------------------ */

static void
leave_created_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct command *c = command_of(req);
	json_t *l;

	if (rc_db_sqlstate_is(r, RC_SQLSTATE_EXCLUSION)) {
		reply(req, "You already have a pending or approved request "
		    "covering some of these dates.");
		return;
	}
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_LEAVE_BALANCE)) {
		reply(req, "Not enough leave left: %s", r->message);
		return;
	}
	if (!db_ok(req, r))
		return;
	if (PQgetisnull(r->res, 0, 0)) {
		reply(req, "%s to %s holds no working day (only weekends and "
		    "holidays).", c->cmd.start, c->cmd.end);
		return;
	}
	l = json_loads(PQgetvalue(r->res, 0, 0), 0, NULL);
	reply(req, "Leave requested: %s, %s to %s (%s working day(s)), "
	    "pending. Your approver is told.", json_string_value(
	    json_object_get(l, "type_name")), c->cmd.start, c->cmd.end,
	    PQgetvalue(r->res, 0, 2));
	json_decref(l);
}

static void
leave_type_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct command *c = command_of(req);
	const PGresult *res = r->res;
	const char *p[10], *type;

	if (!db_ok(req, r))
		return;
	if (PQgetvalue(res, 0, 6)[0] == 't') {
		reply(req, "A request covers at most a year (366 days).");
		return;
	}
	if (!PQgetisnull(res, 0, 0)) {
		type = PQgetvalue(res, 0, 0);
		c->reason = rc_strdup(PQgetvalue(res, 0, 2));
	} else if (strcmp(PQgetvalue(res, 0, 3), "1") == 0) {
		type = PQgetvalue(res, 0, 4);
		c->reason = rc_strdup(c->cmd.rest);
	} else if (strcmp(PQgetvalue(res, 0, 3), "0") == 0) {
		reply(req, "Your organisation has no leave types yet: ask an "
		    "admin.");
		return;
	} else {
		reply(req, "Which type of leave? Start the reason with one of: "
		    "%s.", PQgetvalue(res, 0, 5));
		return;
	}
	if (c->reason[0] == '\0') {
		reply(req, "Say why: a reason is needed after the type.");
		return;
	}
	p[0] = c->org_id;
	p[1] = c->user_id;
	p[2] = type;
	p[3] = c->cmd.start;
	p[4] = c->cmd.end;
	p[5] = "false";
	p[6] = c->reason;
	p[7] = rc_server_config(req->loop->server)->server_public_url;
	p[8] = rc_http_client(req);
	p[9] = req->id;
	rc_rest_query(req, &rc_rules_leave_create, p, leave_created_cb);
}

/* ---- who -------------------------------------------------------------- */

static void
put_names(char *out, size_t len, const json_t *people, const char *label,
    int (*pick)(const json_t *))
{
	size_t i, n = 0, used = strlen(out);
	json_t *p;
	char *name;

	json_array_foreach(people, i, p) {
		if (!pick(p))
			continue;
		name = rc_slack_escape(json_string_value(json_object_get(p,
		    "name")) ?: "");
		used += (size_t)snprintf(out + used, used < len ? len - used :
		    0, "%s%s", n++ == 0 ? label : ", ", name);
		free(name);
		if (used >= len)
			return;
	}
	if (n == 0 && used < len)
		snprintf(out + used, len - used, "%snobody", label);
}

static int
is_in_now(const json_t *p)
{
	return json_is_true(json_object_get(p, "in_now"));
}

static int
status_is(const json_t *p, const char *s)
{
	const char *v = json_string_value(json_object_get(p, "status"));

	return v != NULL && strcmp(v, s) == 0;
}

static int
is_late(const json_t *p)
{
	return status_is(p, "late");
}

static int
is_absent(const json_t *p)
{
	return status_is(p, "absent");
}

static int
is_on_leave(const json_t *p)
{
	return status_is(p, "on_leave");
}

static void
who_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	char text[REPLY_MAX] = "";
	json_t *d, *people;

	if (!db_ok(req, r))
		return;
	if (PQntuples(r->res) != 1) {
		reply(req, "Your organisation is gone.");
		return;
	}
	d = json_loads(PQgetvalue(r->res, 0, 0), 0, NULL);
	people = json_object_get(d, "people");
	snprintf(text, sizeof(text), "*Today, %s*",
	    json_string_value(json_object_get(d, "date")) ?: "");
	put_names(text, sizeof(text), people, "\n*In now*: ", is_in_now);
	put_names(text, sizeof(text), people, "\n*Late*: ", is_late);
	put_names(text, sizeof(text), people, "\n*Absent*: ", is_absent);
	put_names(text, sizeof(text), people, "\n*On leave*: ", is_on_leave);
	json_decref(d);
	reply(req, "%s", text);
}

static void
do_who(struct rc_req *req)
{
	struct command *c = command_of(req);
	const char *p[4];

	if (strcmp(c->role, "admin") != 0 && strcmp(c->role, "manager") != 0) {
		reply(req, "`who` is for managers and admins.");
		return;
	}
	p[0] = c->org_id;
	p[1] = NULL;
	p[2] = NULL;
	/* A manager sees their reports, as GET /reports/daily shows them. */
	p[3] = strcmp(c->role, "manager") == 0 ? c->user_id : NULL;
	rc_rest_query(req, &rc_reports_sql_daily, p, who_cb);
}

/* ---- The command ------------------------------------------------------ */

static void
act(struct rc_req *req)
{
	struct command *c = command_of(req);
	const char *p[4];

	switch (c->cmd.verb) {
	case RC_SLACK_HELP:
		reply(req, "%s", rc_slack_help());
		return;
	case RC_SLACK_IN:
		do_punch(req, 1);
		return;
	case RC_SLACK_OUT:
		do_punch(req, 0);
		return;
	case RC_SLACK_STATUS:
		p[0] = c->user_id;
		rc_rest_query(req, &SQL_STATUS, p, status_cb);
		return;
	case RC_SLACK_LEAVE:
		p[0] = c->org_id;
		p[1] = c->cmd.rest;
		p[2] = c->cmd.start;
		p[3] = c->cmd.end;
		rc_rest_query(req, &SQL_LEAVE_TYPE, p, leave_type_cb);
		return;
	case RC_SLACK_WHO:
		do_who(req);
		return;
	}
	reply(req, "%s", rc_slack_help());
}

/* 401 for every way a request is not Slack's for a linked team: the same
 * reply, so a caller learns nothing about which; the log says which. */
static void
refuse(struct rc_req *req, const char *why)
{
	rc_log_set_request_id(req->id);
	rc_log(RC_LOG_WARN, "slack: command refused: %s", why);
	rc_http_fail(req, 401, "bad_signature", "the request is not signed "
	    "by Slack for a linked workspace (X-Slack-Signature, "
	    "X-Slack-Request-Timestamp within 300 s)");
}

static void
lookup_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct command *c = command_of(req);
	const PGresult *res = r->res;
	char err[1024];
	int ok;

	if (r->err != RC_DB_OK) {
		rc_rest_db_failed(req, r, NULL);
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
		refuse(req, "unknown team_id or no signing secret");
		return;
	}
	ok = rc_slack_signature_ok(PQgetvalue(res, 0, 1),
	    rc_http_header(req, "X-Slack-Request-Timestamp"),
	    rc_http_header(req, "X-Slack-Signature"), c->body, strlen(c->body));
	sodium_memzero(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	if (!ok) {
		refuse(req, "bad signature");
		return;
	}
	snprintf(c->org_id, sizeof(c->org_id), "%s", PQgetvalue(res, 0, 0));
	c->utc_offset_min = atoi(PQgetvalue(res, 0, 5));
	if (rc_slack_command_parse(rc_slack_form_get(&c->form, "text"),
	    &c->cmd, err, sizeof(err)) != RC_OK) {
		reply(req, "%s", err);
		return;
	}
	if (c->cmd.verb == RC_SLACK_HELP) {
		act(req);
		return;
	}
	if (PQgetisnull(res, 0, 2)) {
		reply(req, "Your Slack account is not linked to rollcall yet: "
		    "ask an admin to set your Slack member ID (%s) on your "
		    "rollcall account.", rc_slack_form_get(&c->form, "user_id") ?:
		    "?");
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 4), "active") != 0) {
		reply(req, "Your rollcall account is disabled.");
		return;
	}
	snprintf(c->user_id, sizeof(c->user_id), "%s", PQgetvalue(res, 0, 2));
	snprintf(c->role, sizeof(c->role), "%s", PQgetvalue(res, 0, 3));
	act(req);
}

/* The raw body (the signature covers its exact bytes; the router checked
 * its type) read again by Slack's strict form parser (refuses bad escapes
 * and repeated names, which the signature would not); replies 413/400
 * itself. */
static rc_status
read_form(struct rc_req *req, struct command *c)
{
	struct rc_http_bytes b = rc_http_body_bytes(req);
	size_t len = b.len;
	char err[256];

	if (len > RC_SLACK_BODY_MAX) {
		rc_http_fail(req, 413, "body_too_large", "a slash command's "
		    "body is at most 8 KiB");
		return RC_ERR;
	}
	c->body = rc_malloc(len + 1);
	memcpy(c->body, b.data, len);
	c->body[len] = '\0';
	if (strlen(c->body) != len || rc_slack_form_parse(c->body, len,
	    &c->form, err, sizeof(err)) != RC_OK) {
		rc_http_fail(req, 400, "bad_form", strlen(c->body) != len ?
		    "the body holds a NUL byte" : err);
		return RC_ERR;
	}
	return RC_OK;
}

/* POST /api/v1/integrations/slack/command — verify → act → reply. */
void
rc_api_slack_command(struct rc_req *req)
{
	struct command *c;
	const char *p[2];

	/* Before anything else: a stale or missing timestamp costs nothing. */
	if (!rc_slack_timestamp_ok(rc_http_header(req,
	    "X-Slack-Request-Timestamp"), (int64_t)time(NULL))) {
		refuse(req, "timestamp missing or outside 300 s");
		return;
	}
	if (rc_http_header(req, "X-Slack-Signature") == NULL) {
		refuse(req, "no signature");
		return;
	}
	c = rc_req_alloc(req, sizeof(*c), command_free);
	req->data = c;
	if (read_form(req, c) != RC_OK)
		return;
	if ((p[0] = rc_slack_form_get(&c->form, "team_id")) == NULL ||
	    p[0][0] == '\0') {
		refuse(req, "no team_id");
		return;
	}
	p[1] = rc_slack_form_get(&c->form, "user_id");
	rc_rest_query(req, &SQL_LOOKUP, p, lookup_cb);
}
