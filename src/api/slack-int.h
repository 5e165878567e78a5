/* What the Slack resource (slack.c) shares with the files of the API
 * whose rules it reuses, and what it adds to orgs.c and users.c. */
#ifndef ROLLCALL_API_SLACK_INT_H
#define ROLLCALL_API_SLACK_INT_H

#include <jansson.h>

#include "rollcall/db.h"
#include "rollcall/util.h"

struct rc_req;

/* The statements of the API routes a slash command does the same as, so
 * that the rules stay in one place: a check-in/out (attendance.c, its
 * SQL_PUNCH) and a leave request (leave.c, its SQL_CREATE). */
extern const struct rc_db_stmt *const attendance_stmt_punch;
extern const struct rc_db_stmt *const leave_stmt_create;

/* PATCH /orgs/{id} {slack: {...} | null}: checks the member and sets
 * *out to the changes as a JSON text for RC_API_SLACK_PATCH (a new string
 * the caller frees with slack_settings_free), NULL when absent. Replies
 * 422 naming "slack.<member>" and returns RC_ERR on bad input. */
rc_status slack_settings_parse(struct rc_req *req, char **out);
void	  slack_settings_free(char *s);

/* The CTEs that apply settings p (a jsonb parameter: NULL unchanged,
 * null unlinks, an object sets its members) to the org in CTE o. */
#define RC_API_SLACK_PATCH(p) \
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
#define RC_API_SLACK_REPLY(org_json, p) \
	"CASE WHEN " p "::jsonb IS NULL THEN " org_json " ELSE (" org_json \
	"::jsonb || jsonb_build_object('slack', (SELECT slack_public(sl)" \
	" FROM sl)))::json END"

/* PATCH /users/{id} {slack_user_id}: adds the checked member to changes
 * (null unlinks). Replies 422 and returns RC_ERR on bad input. */
rc_status slack_user_change(struct rc_req *req, json_t *changes);

#endif
