/* The route table of the whole server: method, path, handler, the body
 * the router parses for it, and who may call it. The router authenticates,
 * authorises and parses before a handler runs (src/http/dispatch.c), so
 * this table alone says who may call what: a route whose roles are wrong
 * is a one-line change here. */
#include "rollcall/api.h"
#include "rollcall/http.h"

/* Short names, so that each route stays on a line or two (the methods
 * keep theirs: tests/api/test_openapi.py finds the routes by them). */
#define NONE		RC_BODY_NONE
#define JSON		RC_BODY_JSON
#define IMAGE		RC_BODY_IMAGE
#define JSON_OR_IMAGE	RC_BODY_JSON_OR_IMAGE
#define FORM		RC_BODY_FORM

#define ANYONE		RC_WHO_ANYONE		/* no authentication */
#define ANY_ROLE	RC_ROLE_ANY
#define SUPERADMIN	RC_ROLE_SUPERADMIN
#define ADMIN		RC_ROLE_ADMIN		/* of the caller's org */
#define ADMINS		(RC_ROLE_SUPERADMIN | RC_ROLE_ADMIN)
/* Everyone who belongs to an org; a superadmin belongs to none. */
#define IN_AN_ORG	(RC_ROLE_ANY & ~RC_ROLE_SUPERADMIN)
/* Also served while the caller must change their password first. */
#define PENDING_OK	RC_WHO_PENDING_PASSWORD
/* A kiosk device's token ("rck_..."), besides or instead of roles. */
#define KIOSK		RC_WHO_KIOSK

static struct rc_route api_routes[] = {
	/* Identity (src/api/auth.c) */
	{ RC_HTTP_POST, "/api/v1/auth/login", rc_api_auth_login, JSON, ANYONE },
	{ RC_HTTP_POST, "/api/v1/auth/refresh", rc_api_auth_refresh,
	    JSON, ANYONE },
	{ RC_HTTP_POST, "/api/v1/auth/logout", rc_api_auth_logout,
	    JSON, ANYONE },
	{ RC_HTTP_POST, "/api/v1/auth/signup", rc_api_auth_signup,
	    JSON, ANYONE },
	{ RC_HTTP_GET, "/api/v1/me", rc_api_auth_me,
	    NONE, ANY_ROLE | PENDING_OK },
	{ RC_HTTP_GET, "/.well-known/jwks.json", rc_api_auth_jwks,
	    NONE, ANYONE },
	{ RC_HTTP_GET, "/api/v1/test/admin", rc_api_auth_test_admin,
	    NONE, ADMINS },
	{ RC_HTTP_POST, "/api/v1/test/validate", rc_api_auth_test_validate,
	    JSON, ANYONE },
	{ RC_HTTP_GET, "/api/v1/test/uuid/{id}", rc_api_auth_test_uuid,
	    NONE, ANYONE },
	/* Passwords (src/api/password.c) */
	{ RC_HTTP_POST, "/api/v1/auth/password/forgot", rc_api_password_forgot,
	    JSON, ANYONE },
	{ RC_HTTP_POST, "/api/v1/auth/password/reset", rc_api_password_reset,
	    JSON, ANYONE },
	{ RC_HTTP_POST, "/api/v1/auth/password/change", rc_api_password_change,
	    JSON, ANY_ROLE | PENDING_OK },
	/* People (src/api/users.c) */
	{ RC_HTTP_POST, "/api/v1/users", rc_api_users_create, JSON, ADMINS },
	{ RC_HTTP_GET, "/api/v1/users", rc_api_users_list, NONE, ADMINS },
	{ RC_HTTP_GET, "/api/v1/users/{id}", rc_api_users_get, NONE, ANY_ROLE },
	{ RC_HTTP_PATCH, "/api/v1/users/{id}", rc_api_users_patch,
	    JSON, ADMINS },
	{ RC_HTTP_DELETE, "/api/v1/users/{id}", rc_api_users_disable,
	    NONE, ADMINS },
	{ RC_HTTP_POST, "/api/v1/users/{id}/credentials",
	    rc_api_users_credentials, NONE, ADMINS },
	/* Leave (src/api/leave.c) */
	{ RC_HTTP_GET, "/api/v1/leave/types", rc_api_leave_types_list,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_POST, "/api/v1/leave/types", rc_api_leave_types_create,
	    JSON, ADMIN },
	{ RC_HTTP_POST, "/api/v1/leave/requests", rc_api_leave_create,
	    JSON, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/leave/requests", rc_api_leave_list,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/leave/requests/{id}", rc_api_leave_get,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_POST, "/api/v1/leave/requests/{id}/approve",
	    rc_api_leave_approve, JSON, IN_AN_ORG },
	{ RC_HTTP_POST, "/api/v1/leave/requests/{id}/reject",
	    rc_api_leave_reject, JSON, IN_AN_ORG },
	{ RC_HTTP_POST, "/api/v1/leave/requests/{id}/cancel",
	    rc_api_leave_cancel, NONE, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/leave/balances", rc_api_leave_balances,
	    NONE, IN_AN_ORG },
	/* Organisations (src/api/orgs.c) */
	{ RC_HTTP_POST, "/api/v1/orgs", rc_api_orgs_create, JSON, SUPERADMIN },
	{ RC_HTTP_GET, "/api/v1/orgs", rc_api_orgs_list, NONE, SUPERADMIN },
	{ RC_HTTP_GET, "/api/v1/orgs/{id}", rc_api_orgs_get, NONE, ADMINS },
	{ RC_HTTP_PATCH, "/api/v1/orgs/{id}", rc_api_orgs_patch, JSON, ADMINS },
	/* The audit trail (src/api/audit.c) */
	{ RC_HTTP_GET, "/api/v1/audit", rc_api_audit_list, NONE, ADMINS },
	/* Reports (src/api/reports.c) */
	{ RC_HTTP_GET, "/api/v1/reports/monthly", rc_api_reports_monthly,
	    NONE, ADMINS },
	{ RC_HTTP_GET, "/api/v1/reports/sheet", rc_api_reports_sheet,
	    NONE, ADMINS },
	{ RC_HTTP_GET, "/api/v1/reports/daily", rc_api_reports_daily,
	    NONE, ADMINS | RC_ROLE_MANAGER },
	{ RC_HTTP_GET, "/prod/companyrequesthandler", rc_api_reports_compat,
	    NONE, ADMINS },
	/* Attendance (src/api/attendance.c) */
	{ RC_HTTP_POST, "/api/v1/attendance/check-in",
	    rc_api_attendance_check_in, JSON_OR_IMAGE, IN_AN_ORG },
	{ RC_HTTP_POST, "/api/v1/attendance/check-out",
	    rc_api_attendance_check_out, JSON, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/attendance/events", rc_api_attendance_events,
	    NONE, ANY_ROLE },
	{ RC_HTTP_GET, "/api/v1/attendance/days", rc_api_attendance_days,
	    NONE, ANY_ROLE },
	{ RC_HTTP_GET, "/api/v1/attendance/today", rc_api_attendance_today,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_PATCH, "/api/v1/attendance/events/{id}",
	    rc_api_attendance_patch, JSON, ADMINS },
	/* Holidays (src/api/holidays.c) */
	{ RC_HTTP_GET, "/api/v1/orgs/{id}/holidays", rc_api_holidays_list,
	    NONE, ANY_ROLE },
	{ RC_HTTP_POST, "/api/v1/orgs/{id}/holidays", rc_api_holidays_create,
	    JSON, ADMINS },
	{ RC_HTTP_DELETE, "/api/v1/orgs/{id}/holidays/{date}",
	    rc_api_holidays_delete, NONE, ADMINS },
	/* Pictures (src/api/pictures.c) */
	{ RC_HTTP_POST, "/api/v1/pictures", rc_api_pictures_create,
	    IMAGE, ANY_ROLE },
	{ RC_HTTP_GET, "/api/v1/pictures/{id}", rc_api_pictures_get,
	    NONE, ANY_ROLE },
	{ RC_HTTP_DELETE, "/api/v1/pictures/{id}", rc_api_pictures_delete,
	    NONE, ANY_ROLE },
	/* Faces (src/api/faces.c) */
	{ RC_HTTP_POST, "/api/v1/users/{id}/faces", rc_api_faces_enrol,
	    IMAGE, ANY_ROLE },
	{ RC_HTTP_GET, "/api/v1/users/{id}/faces", rc_api_faces_list,
	    NONE, ANY_ROLE },
	{ RC_HTTP_DELETE, "/api/v1/users/{id}/faces/{face_id}",
	    rc_api_faces_delete, NONE, ANY_ROLE },
	{ RC_HTTP_POST, "/api/v1/faces/verify", rc_api_faces_verify,
	    IMAGE, ADMINS | KIOSK },
	{ RC_HTTP_POST, "/api/v1/faces/identify", rc_api_faces_identify,
	    IMAGE, ADMIN | KIOSK },
	/* Kiosks (src/api/kiosks.c) */
	{ RC_HTTP_POST, "/api/v1/kiosks", rc_api_kiosks_create, JSON, ADMIN },
	{ RC_HTTP_GET, "/api/v1/kiosks", rc_api_kiosks_list, NONE, ADMIN },
	{ RC_HTTP_DELETE, "/api/v1/kiosks/{id}", rc_api_kiosks_delete,
	    NONE, ADMIN },
	{ RC_HTTP_POST, "/api/v1/kiosk/punch", rc_api_kiosks_punch,
	    IMAGE, KIOSK },
	{ RC_HTTP_GET, "/api/v1/kiosk/me", rc_api_kiosks_me, NONE, KIOSK },
	/* Question sets (src/api/questions.c, questions_submit.c) */
	{ RC_HTTP_POST, "/api/v1/question-sets", rc_api_questions_create,
	    JSON, ADMIN },
	{ RC_HTTP_GET, "/api/v1/question-sets", rc_api_questions_list,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/question-sets/{id}", rc_api_questions_get,
	    NONE, IN_AN_ORG },
	{ RC_HTTP_PATCH, "/api/v1/question-sets/{id}", rc_api_questions_patch,
	    JSON, ADMIN },
	{ RC_HTTP_DELETE, "/api/v1/question-sets/{id}",
	    rc_api_questions_delete, NONE, ADMIN },
	{ RC_HTTP_POST, "/api/v1/question-sets/{id}/questions",
	    rc_api_questions_question_create, JSON, ADMIN },
	{ RC_HTTP_PATCH, "/api/v1/question-sets/{id}/questions/{qid}",
	    rc_api_questions_question_patch, JSON, ADMIN },
	{ RC_HTTP_DELETE, "/api/v1/question-sets/{id}/questions/{qid}",
	    rc_api_questions_question_delete, NONE, ADMIN },
	{ RC_HTTP_POST, "/api/v1/question-sets/{id}/submissions",
	    rc_api_questions_submit, JSON, IN_AN_ORG },
	{ RC_HTTP_GET, "/api/v1/question-sets/{id}/submissions",
	    rc_api_questions_submissions, NONE, IN_AN_ORG },
	{ RC_HTTP_PATCH, "/api/v1/question-sets/{id}/submissions/{sid}",
	    rc_api_questions_grade, JSON, ADMIN },
	{ RC_HTTP_GET, "/api/v1/question-sets/{id}/results",
	    rc_api_questions_results, NONE, ADMIN },
	/* Slack (src/api/slack.c): Slack's signature over the body, checked
	 * by the handler with the org's secret, is the authentication */
	{ RC_HTTP_POST, "/api/v1/integrations/slack/command",
	    rc_api_slack_command, FORM, ANYONE },
};

void
rc_api_routes(struct rc_router *r)
{
	rc_http_core_routes(r);
	rc_router_add(r, api_routes, RC_NELEM(api_routes));
}
