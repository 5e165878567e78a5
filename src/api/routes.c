/* The route table of the whole server. */
#include "rollcall/api.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"

void
rc_api_routes(struct rc_router *r)
{
	rc_http_core_routes(r);
	rc_api_auth_routes(r);
	rc_api_password_routes(r);
	rc_api_users_routes(r);
	rc_api_leave_routes(r);
	rc_api_orgs_routes(r);
	rc_api_audit_routes(r);
	rc_api_reports_routes(r);
	rc_api_attendance_routes(r);
	rc_api_holidays_routes(r);
	rc_api_pictures_routes(r);
	rc_api_faces_routes(r);
	rc_api_kiosks_routes(r);
}
