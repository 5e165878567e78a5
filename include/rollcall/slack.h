/* Slack: what a slash command request is (its signature, its form body,
 * its command) and what a notification looks like (incoming-webhook JSON
 * with Block Kit blocks and a text fallback), the blocking delivery of
 * one to a webhook URL, and an org's and a person's Slack settings.
 * rc_slack_post blocks (libcurl): the jobs worker only. The settings
 * functions reply on a request (loop thread); the rest is pure and
 * thread-safe. */
#ifndef ROLLCALL_SLACK_H
#define ROLLCALL_SLACK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rollcall/util.h"

struct rc_req;

/* Slack's replay window: a request timestamp further than this from now
 * is refused (api.slack.com "Verifying requests from Slack"). */
#define RC_SLACK_WINDOW_SEC	300
/* Slack's own limit on a slash command's text is far below this. */
#define RC_SLACK_BODY_MAX	8192

/* ---- Verifying a request (src/slack/verify.c) ------------------------- */

/* True when ts is a decimal Unix time within RC_SLACK_WINDOW_SEC of now. */
int	rc_slack_timestamp_ok(const char *ts, int64_t now);
/* True when sig is "v0=" + the hex HMAC-SHA256, keyed with secret, of
 * "v0:" ts ":" body, compared in constant time. Any NULL: false. */
int	rc_slack_signature_ok(const char *secret, const char *ts,
	    const char *sig, const void *body, size_t len);
/* Writes the signature Slack would send into out (68 bytes with NUL),
 * for tests and tools. */
void	rc_slack_sign(const char *secret, const char *ts, const void *body,
	    size_t len, char out[68]);

/* ---- The form body (src/slack/form.c) ---------------------------------- */

/* application/x-www-form-urlencoded (WHATWG URL, "application/x-www-form-
 * urlencoded parsing"), strictly: '+' is a space, every '%' starts two hex
 * digits, the decoded names and values are valid UTF-8 without NUL, each
 * name at most once, no empty pair. */
struct rc_slack_form {
	size_t	  n;
	char	**names;
	char	**values;
};

/* Parses len bytes at body into f (which the caller cleans up, also on
 * failure). RC_ERR with a reason in err on bad input. */
rc_status rc_slack_form_parse(const char *body, size_t len,
	    struct rc_slack_form *f, char *err, size_t errlen);
/* The value of name, or NULL. */
const char *rc_slack_form_get(const struct rc_slack_form *f,
	    const char *name);
void	rc_slack_form_cleanup(struct rc_slack_form *f);

/* ---- The command (src/slack/command.c) -------------------------------- */

enum rc_slack_verb {
	RC_SLACK_HELP,
	RC_SLACK_IN,
	RC_SLACK_OUT,
	RC_SLACK_STATUS,
	RC_SLACK_LEAVE,
	RC_SLACK_WHO,
};

#define RC_SLACK_NOTE_MAX	500	/* characters, as the API's note */
#define RC_SLACK_REASON_MAX	1000

/* A parsed "/rollcall ..." text. For RC_SLACK_IN, rest is the note (""
 * when none); for RC_SLACK_LEAVE, start and end are the dates and rest is
 * "[TYPE] REASON" (which part is the type depends on the org's types). */
struct rc_slack_command {
	enum rc_slack_verb	 verb;
	char			 start[11];
	char			 end[11];
	char			*rest;		/* owned */
};

/* Parses text (the form's "text"). On bad input returns RC_ERR with a
 * sentence for the person in err (the reply). */
rc_status rc_slack_command_parse(const char *text,
	    struct rc_slack_command *cmd, char *err, size_t errlen);
void	rc_slack_command_cleanup(struct rc_slack_command *cmd);
/* The help text (mrkdwn). */
const char *rc_slack_help(void);

/* ---- Messages (src/slack/message.c) ------------------------------------- */

/* Escapes &, < and > for Slack's mrkdwn (api.slack.com "Formatting text
 * for app surfaces"). Returns a new string; caller frees. */
char	*rc_slack_escape(const char *s);
/* The incoming-webhook body for a job payload that a trigger of
 * sql/011_slack.sql queued ({"event": "leave_requested" | "leave_decided"
 * | "punch" | "digest", ...}): {"text": fallback, "blocks": [...]}.
 * Returns a new reference, or NULL with a reason in err when the payload
 * is not one. */
json_t	*rc_slack_message(const json_t *payload, char *err, size_t errlen);

/* ---- Delivery (src/slack/post.c) --------------------------------------- */

/* True when url starts with one of the comma-separated prefixes of allow
 * (spaces around them ignored; an empty list allows nothing) and has no
 * control character or space. */
int	rc_slack_url_allowed(const char *allow, const char *url);

enum rc_slack_post_result {
	RC_SLACK_POSTED,	/* 2xx */
	RC_SLACK_RETRY,		/* 5xx, 429, time-out, connection failure */
	RC_SLACK_REFUSED,	/* any other status: retrying cannot help */
};

/* POSTs body (JSON) to url within timeout_ms. On RC_SLACK_RETRY after a
 * 429 with a Retry-After of seconds, *retry_after_ms holds it (else 0).
 * err says what went wrong, never the URL (it is a secret). Blocking. */
enum rc_slack_post_result rc_slack_post(const char *url, const char *body,
	    long timeout_ms, long *retry_after_ms, char *err, size_t errlen);

/* ---- Settings (src/slack/settings.c) ----------------------------------- */

/* PATCH /orgs/{id} {slack: {...} | null}: checks the member and sets
 * *out to the changes as a JSON text for RC_SLACK_SETTINGS_PATCH (a new
 * string the caller frees with rc_slack_settings_free: it holds the
 * signing secret), NULL when absent. Replies 422 naming
 * "slack.<member>" and returns RC_ERR on bad input. */
rc_status rc_slack_settings_parse(struct rc_req *req, char **out);
/* Wipes and frees s; NULL is a no-op. */
void	rc_slack_settings_free(char *s);

/* The CTEs that apply settings p (a jsonb parameter: NULL unchanged,
 * null unlinks, an object sets its members) to the org in CTE o. */
#define RC_SLACK_SETTINGS_PATCH(p) \
	" sl_del AS (DELETE FROM slack_links s USING o WHERE s.org_id = o.id" \
	"  AND " p "::jsonb = 'null'::jsonb RETURNING 1)," \
	" sl AS (INSERT INTO slack_links AS s (org_id, team_id," \
	"  signing_secret, webhook_url, notify, digest_time) SELECT o.id," \
	"  " p "::jsonb->>'team_id', " p "::jsonb->>'signing_secret'," \
	"  " p "::jsonb->>'webhook_url', CASE WHEN " p "::jsonb ? 'notify'" \
	"  THEN ARRAY(SELECT jsonb_array_elements_text(" p "::jsonb->'notify'))" \
	"  ELSE '{leave,digest}'::text[] END, COALESCE((" p "::jsonb->>" \
	"  'digest_time')::time, '09:00') FROM o WHERE jsonb_typeof(" p \
	"  ::jsonb) = 'object' ON CONFLICT (org_id) DO UPDATE SET" \
	"  team_id = CASE WHEN " p "::jsonb ? 'team_id' THEN EXCLUDED.team_id" \
	"   ELSE s.team_id END," \
	"  signing_secret = CASE WHEN " p "::jsonb ? 'signing_secret' THEN" \
	"   EXCLUDED.signing_secret ELSE s.signing_secret END," \
	"  webhook_url = CASE WHEN " p "::jsonb ? 'webhook_url' THEN" \
	"   EXCLUDED.webhook_url ELSE s.webhook_url END," \
	"  notify = CASE WHEN " p "::jsonb ? 'notify' THEN EXCLUDED.notify" \
	"   ELSE s.notify END," \
	"  digest_time = CASE WHEN " p "::jsonb ? 'digest_time' THEN" \
	"   EXCLUDED.digest_time ELSE s.digest_time END," \
	"  digest_sent_on = CASE WHEN " p "::jsonb ? 'digest_time' THEN NULL" \
	"   ELSE s.digest_sent_on END RETURNING s.*)"

/* The org's JSON (org_json, a json expression over o) with the "slack"
 * member as the statement left it: its CTEs' writes are not visible to
 * slack_org_json() in the same statement. */
#define RC_SLACK_SETTINGS_REPLY(org_json, p) \
	"CASE WHEN " p "::jsonb IS NULL THEN " org_json " ELSE (" org_json \
	"::jsonb || jsonb_build_object('slack', (SELECT slack_public(sl)" \
	" FROM sl)))::json END"

/* PATCH /users/{id} {slack_user_id}: adds the checked member to changes
 * (null unlinks). Replies 422 and returns RC_ERR on bad input. */
rc_status rc_slack_user_change(struct rc_req *req, json_t *changes);

#endif
