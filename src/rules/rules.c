/* The statements that carry the rules of a check-in/out and of a leave
 * request (see rollcall/rules.h): one definition, used by the REST
 * resources and by the Slack command alike. */
#include "rollcall/db.h"
#include "rollcall/rest.h"
#include "rollcall/rules.h"

const struct rc_db_stmt rc_rules_punch = {
	"attendance_punch",
	"WITH u AS (SELECT u.id, u.org_id, o.face_required AND $5::bool"
	"  AS blocked FROM users u JOIN orgs o ON o.id = u.org_id"
	"  WHERE u.id = $1::uuid),"
	" e AS (INSERT INTO attendance_events (org_id, user_id, kind, at,"
	"  source, note) SELECT u.org_id, u.id, $2, now(), $3, $4 FROM u"
	"  WHERE NOT u.blocked RETURNING id, kind, at)"
	" SELECT (SELECT json_build_object('id', e.id, 'kind', e.kind, 'at', "
	RC_REST_INSTANT("e.at") ")::text FROM e), u.blocked FROM u",
	5,
};

/* Working days of [$4, $5] in org o: no weekend day, no holiday; half of
 * one when $6 (half day). */
#define WORKING_DAYS \
	"SELECT (count(*) * CASE WHEN $6::bool THEN 0.5 ELSE 1 END)" \
	"  ::numeric(5,1) AS days FROM o, generate_series($4::date, $5::date," \
	"  interval '1 day') g(d) WHERE NOT (extract(isodow FROM g.d)::int =" \
	"  ANY (o.weekend_days)) AND NOT EXISTS (SELECT 1 FROM holidays h" \
	"  WHERE h.org_id = o.id AND h.date = g.d::date)"

/* Who is mailed about a new request of me: their manager when they have
 * an active one, else the org's other active admins. */
#define APPROVERS \
	"mgr AS (SELECT x.name, x.email FROM users x, me WHERE x.id =" \
	"  me.manager_id AND x.status = 'active')," \
	" ap AS (SELECT * FROM mgr UNION ALL SELECT x.name, x.email FROM users x" \
	"  WHERE NOT EXISTS (SELECT 1 FROM mgr) AND x.org_id = $1::uuid AND" \
	"  x.role = 'admin' AND x.status = 'active' AND x.id <> $2::uuid)"

const struct rc_db_stmt rc_rules_leave_create = {
	"leave_create",
	"WITH o AS (SELECT id, weekend_days FROM orgs WHERE id = $1::uuid),"
	" me AS (SELECT id, name, manager_id FROM users WHERE id = $2::uuid"
	"  AND org_id = $1::uuid),"
	" t AS (SELECT * FROM leave_types WHERE id = $3::uuid AND"
	"  org_id = $1::uuid),"
	" n AS (" WORKING_DAYS "),"
	" r AS (INSERT INTO leave_requests (org_id, user_id, type_id,"
	"  start_date, end_date, half_day, reason, days) SELECT $1::uuid, me.id,"
	"  t.id, $4::date, $5::date, $6::bool, $7, n.days FROM me, t, n"
	"  WHERE n.days > 0 RETURNING *),"
	" " APPROVERS ","
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'mail',"
	"  jsonb_build_object('to', jsonb_build_array(ap.email), 'template',"
	"  'leave_requested', 'vars', jsonb_build_object('approver_name',"
	"  ap.name, 'requester_name', me.name, 'leave_type', t.name,"
	"  'start_date', r.start_date::text, 'end_date', r.end_date::text,"
	"  'reason', COALESCE(r.reason, ''), 'review_url', rtrim($8, '/') ||"
	"  '/leave/requests/' || r.id)), r.org_id FROM r, me, t, ap),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT r.org_id, $2::uuid,"
	"  'leave_requested', r.id, jsonb_build_object('type_id', r.type_id,"
	"  'start_date', r.start_date, 'end_date', r.end_date, 'half_day',"
	"  r.half_day, 'days', r.days), $9, $10 FROM r)"
	" SELECT (SELECT " RC_RULES_LEAVE_JSON "::text FROM r l"
	RC_RULES_LEAVE_FROM("l") "),"
	" EXISTS (SELECT 1 FROM t), (SELECT days FROM n)",
	10,
};
