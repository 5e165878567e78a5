/* Placeholder until the faces routes land. */
#include "rollcall/api.h"
#include "rollcall/http.h"

void
rc_api_faces_routes(struct rc_router *r)
{
	(void)r;
}
