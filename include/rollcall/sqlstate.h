/* Every SQLSTATE rollcall's C code tells apart, in one place: PostgreSQL's
 * own (its manual, Appendix A) and the custom ones the migrations raise.
 * A custom code means one thing only; the comment names what raises it.
 * Compare with rc_db_sqlstate_is (rollcall/db.h). */
#ifndef ROLLCALL_SQLSTATE_H
#define ROLLCALL_SQLSTATE_H

/* ---- PostgreSQL's ---------------------------------------------------- */
#define RC_SQLSTATE_INVALID_PARAMETER	"22023"	/* invalid_parameter_value */
#define RC_SQLSTATE_FOREIGN_KEY		"23503"	/* foreign_key_violation */
#define RC_SQLSTATE_UNIQUE		"23505"	/* unique_violation */
#define RC_SQLSTATE_EXCLUSION		"23P01"	/* exclusion_violation */

/* ---- rollcall's (class RC) ------------------------------------------- */
/* attendance_check_sequence() (sql/005_attendance.sql): a check-in right
 * after a check-in. */
#define RC_SQLSTATE_ALREADY_CHECKED_IN	"RC001"
/* attendance_check_sequence(): a check-out with no check-in before it. */
#define RC_SQLSTATE_NOT_CHECKED_IN	"RC002"
/* attendance_check_sequence(), attendance_check_gap(): any other break of
 * the in/out alternation (a correction, a concurrent event). */
#define RC_SQLSTATE_SEQUENCE_BROKEN	"RC003"
/* leave_requests_check_balance() (sql/008_sqlstates.sql; RC001 before it):
 * a paid leave request over the year's allowance. The message says how
 * many days are asked and left. */
#define RC_SQLSTATE_LEAVE_BALANCE	"RC004"
/* question_submissions_attempt() (sql/012_questions.sql): a submission
 * past the set's max_attempts for that person. */
#define RC_SQLSTATE_MAX_ATTEMPTS	"RC005"

#endif
