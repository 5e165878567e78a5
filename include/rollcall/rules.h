/* The statements that carry the rules of a check-in/out and of a leave
 * request, shared by the REST resources (src/api/attendance.c, leave.c)
 * and the Slack command (src/api/slack.c), so that each rule is written
 * once and both ways in run exactly the same SQL. */
#ifndef ROLLCALL_RULES_H
#define ROLLCALL_RULES_H

#include "rollcall/db.h"
#include "rollcall/rest.h"

/* The public leave request, from leave_requests l, its type t, its
 * requester u (joined by RC_RULES_LEAVE_FROM). */
#define RC_RULES_LEAVE_JSON \
	"json_build_object('id', l.id, 'user_id', l.user_id, 'user_name'," \
	" u.name, 'type_id', l.type_id, 'type_name', t.name, 'start_date'," \
	" l.start_date, 'end_date', l.end_date, 'half_day', l.half_day," \
	" 'reason', l.reason, 'status', l.status, 'days', l.days," \
	" 'decided_by', l.decided_by, 'decided_at', " \
	RC_REST_INSTANT("l.decided_at") ", 'comment', l.comment," \
	" 'created_at', " RC_REST_INSTANT("l.created_at") ", 'updated_at', " \
	RC_REST_INSTANT("l.updated_at") ")"

/* The joins RC_RULES_LEAVE_JSON needs for the leave_requests row l. */
#define RC_RULES_LEAVE_FROM(l) \
	" JOIN users u ON u.id = " l ".user_id" \
	" JOIN leave_types t ON t.id = " l ".type_id"

/* A check-in or check-out. $1 user, $2 kind, $3 source, $4 note, $5
 * whether the org's face_required applies (a check-in without a photo).
 * The instant is the database's clock, so that every daemon sharing it
 * orders events the same way. The state rule (in, out, in...) is the
 * database's (sql/005_attendance.sql: RC001..RC003). One row (none: no
 * such person): the event as {id, kind, at} (NULL when a face is
 * required), whether one is. */
extern const struct rc_db_stmt rc_rules_punch;

/* A leave request. $1 org, $2 requester, $3 type, $4 start, $5 end, $6
 * half day, $7 reason, $8 public URL, $9 client, $10 request id. One
 * row: the request as RC_RULES_LEAVE_JSON (NULL when refused), whether
 * the type is the org's, the working days. Two rules fail the statement
 * instead: overlaps (the exclusion constraint, 23P01) and the yearly
 * balance of paid types (the trigger, RC_SQLSTATE_LEAVE_BALANCE), both in
 * the database so that concurrent requests cannot slip past them. The
 * approvers (the requester's active manager, else the org's other active
 * admins) get a mail job; the audit row is written too. */
extern const struct rc_db_stmt rc_rules_leave_create;

#endif
