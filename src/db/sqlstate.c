/* Telling a failed query's SQLSTATE (rollcall/sqlstate.h) apart. */
#include <string.h>

#include "rollcall/db.h"

int
rc_db_sqlstate_is(const struct rc_db_result *r, const char *sqlstate)
{
	return r->err == RC_DB_FAILED && r->sqlstate != NULL &&
	    strcmp(r->sqlstate, sqlstate) == 0;
}
