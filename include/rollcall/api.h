/* The REST API's resources: one file per resource in src/api/, each
 * exporting its route handlers (rc_api_<resource>_<verb>), which the one
 * route table (src/api/routes.c) lists with who may call them and what
 * body they take. A handler runs once the router has authenticated,
 * authorised and parsed: req->who is the caller (NULL on routes anyone
 * may call), req->body / req->image the parsed body; it validates,
 * queries and replies. What the resources share is in rollcall/rest.h. */
#ifndef ROLLCALL_API_H
#define ROLLCALL_API_H

struct rc_req;
struct rc_router;

/* Registers every route: the core ones, then the API's table. */
void	rc_api_routes(struct rc_router *r);

/* ---- Route handlers, resource by resource ---------------------------- */

/* Identity (src/api/auth.c) */
void	rc_api_auth_login(struct rc_req *req);
void	rc_api_auth_refresh(struct rc_req *req);
void	rc_api_auth_logout(struct rc_req *req);
void	rc_api_auth_signup(struct rc_req *req);
void	rc_api_auth_me(struct rc_req *req);
void	rc_api_auth_jwks(struct rc_req *req);
void	rc_api_auth_test_admin(struct rc_req *req);
void	rc_api_auth_test_validate(struct rc_req *req);
void	rc_api_auth_test_uuid(struct rc_req *req);

/* Passwords (src/api/password.c) */
void	rc_api_password_forgot(struct rc_req *req);
void	rc_api_password_reset(struct rc_req *req);
void	rc_api_password_change(struct rc_req *req);

/* People (src/api/users.c) */
void	rc_api_users_create(struct rc_req *req);
void	rc_api_users_list(struct rc_req *req);
void	rc_api_users_get(struct rc_req *req);
void	rc_api_users_patch(struct rc_req *req);
void	rc_api_users_disable(struct rc_req *req);
void	rc_api_users_credentials(struct rc_req *req);

/* Leave (src/api/leave.c) */
void	rc_api_leave_types_list(struct rc_req *req);
void	rc_api_leave_types_create(struct rc_req *req);
void	rc_api_leave_create(struct rc_req *req);
void	rc_api_leave_list(struct rc_req *req);
void	rc_api_leave_get(struct rc_req *req);
void	rc_api_leave_approve(struct rc_req *req);
void	rc_api_leave_reject(struct rc_req *req);
void	rc_api_leave_cancel(struct rc_req *req);
void	rc_api_leave_balances(struct rc_req *req);

/* Organisations (src/api/orgs.c) */
void	rc_api_orgs_create(struct rc_req *req);
void	rc_api_orgs_list(struct rc_req *req);
void	rc_api_orgs_get(struct rc_req *req);
void	rc_api_orgs_patch(struct rc_req *req);

/* The audit trail (src/api/audit.c) */
void	rc_api_audit_list(struct rc_req *req);

/* Reports (src/api/reports.c) */
void	rc_api_reports_monthly(struct rc_req *req);
void	rc_api_reports_sheet(struct rc_req *req);
void	rc_api_reports_daily(struct rc_req *req);
void	rc_api_reports_compat(struct rc_req *req);

/* Attendance (src/api/attendance.c) */
void	rc_api_attendance_check_in(struct rc_req *req);
void	rc_api_attendance_check_out(struct rc_req *req);
void	rc_api_attendance_events(struct rc_req *req);
void	rc_api_attendance_days(struct rc_req *req);
void	rc_api_attendance_today(struct rc_req *req);
void	rc_api_attendance_patch(struct rc_req *req);

/* Holidays (src/api/holidays.c) */
void	rc_api_holidays_list(struct rc_req *req);
void	rc_api_holidays_create(struct rc_req *req);
void	rc_api_holidays_delete(struct rc_req *req);

/* Pictures (src/api/pictures.c) */
void	rc_api_pictures_create(struct rc_req *req);
void	rc_api_pictures_get(struct rc_req *req);
void	rc_api_pictures_delete(struct rc_req *req);

/* Faces (src/api/faces.c) */
void	rc_api_faces_enrol(struct rc_req *req);
void	rc_api_faces_list(struct rc_req *req);
void	rc_api_faces_delete(struct rc_req *req);
void	rc_api_faces_verify(struct rc_req *req);
void	rc_api_faces_identify(struct rc_req *req);

/* Question sets (src/api/questions.c, questions_submit.c) */
void	rc_api_questions_create(struct rc_req *req);
void	rc_api_questions_list(struct rc_req *req);
void	rc_api_questions_get(struct rc_req *req);
void	rc_api_questions_patch(struct rc_req *req);
void	rc_api_questions_delete(struct rc_req *req);
void	rc_api_questions_question_create(struct rc_req *req);
void	rc_api_questions_question_patch(struct rc_req *req);
void	rc_api_questions_question_delete(struct rc_req *req);
void	rc_api_questions_submit(struct rc_req *req);
void	rc_api_questions_submissions(struct rc_req *req);
void	rc_api_questions_grade(struct rc_req *req);
void	rc_api_questions_results(struct rc_req *req);

/* Slack's slash command (src/api/slack.c) */
void	rc_api_slack_command(struct rc_req *req);

/* Kiosks (src/api/kiosks.c) */
void	rc_api_kiosks_create(struct rc_req *req);
void	rc_api_kiosks_list(struct rc_req *req);
void	rc_api_kiosks_delete(struct rc_req *req);
void	rc_api_kiosks_punch(struct rc_req *req);
void	rc_api_kiosks_me(struct rc_req *req);
#endif
