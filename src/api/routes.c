/* The route table of the whole server, and the API's start-up. */
#include "rollcall/api.h"
#include "rollcall/http.h"

rc_status
rc_api_start(const struct rc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	return RC_OK;
}

void
rc_api_stop(void)
{
}

void
rc_api_routes(struct rc_router *r)
{
	rc_http_core_routes(r);
}
