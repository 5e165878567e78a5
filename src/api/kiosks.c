/* Placeholder until the kiosks routes land. */
#include "rollcall/api.h"
#include "rollcall/http.h"

void
rc_api_kiosks_routes(struct rc_router *r)
{
	(void)r;
}
