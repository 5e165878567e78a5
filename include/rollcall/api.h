/* The REST API's resources: each src/api/<resource>.c registers its routes
 * here. What they share is in rollcall/rest.h (the handler toolkit and the
 * services `rollcall serve` builds). */
#ifndef ROLLCALL_API_H
#define ROLLCALL_API_H

struct rc_router;

/* Registers every API route (and the core ones). */
void	rc_api_routes(struct rc_router *r);

/* ---- Identity routes (src/api/auth.c, password.c) -------------------- */
void	rc_api_auth_routes(struct rc_router *r);
void	rc_api_password_routes(struct rc_router *r);

/* ---- People (src/api/users.c) ---------------------------------------- */
void	rc_api_users_routes(struct rc_router *r);

/* ---- Organisations and the audit trail (src/api/orgs.c, audit.c) ---- */
void	rc_api_orgs_routes(struct rc_router *r);
void	rc_api_audit_routes(struct rc_router *r);

/* ---- Reports (src/api/reports.c) ----------------------------------- */
void	rc_api_reports_routes(struct rc_router *r);

/* ---- Leave (src/api/leave.c) ---------------------------------------- */
void	rc_api_leave_routes(struct rc_router *r);

/* ---- Attendance and holidays (src/api/attendance.c, holidays.c) ----- */
void	rc_api_attendance_routes(struct rc_router *r);
void	rc_api_holidays_routes(struct rc_router *r);
/* ---- Pictures, faces, kiosks (src/api/pictures.c, faces.c, kiosks.c) */

void	rc_api_pictures_routes(struct rc_router *r);
void	rc_api_faces_routes(struct rc_router *r);
void	rc_api_kiosks_routes(struct rc_router *r);

#endif
