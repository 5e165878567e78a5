/* Placeholder until the pictures routes land. */
#include "rollcall/api.h"
#include "rollcall/http.h"

void
rc_api_pictures_routes(struct rc_router *r)
{
	(void)r;
}
