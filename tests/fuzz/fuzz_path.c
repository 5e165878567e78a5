/* libFuzzer driver: the request target — path sanitising, routing with
 * {param} segments (src/http/router.c) and the query string (libevent's
 * parser, then the UTF-8 check every parameter meets). Input: a target
 * such as "/api/v1/users/abc?q=x". */
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "rollcall/http.h"
#include "rollcall/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
nop(struct rc_req *req)
{
	(void)req;
}

static struct rc_route routes[] = {
	{ RC_HTTP_GET, "/api/v1/users", nop, 0, 0 },
	{ RC_HTTP_GET, "/api/v1/users/{id}", nop, 0, 0 },
	{ RC_HTTP_DELETE, "/api/v1/users/{id}/faces/{face_id}", nop, 0, 0 },
	{ RC_HTTP_GET, "/api/v1/orgs/{id}/holidays/{date}", nop, 0, 0 },
	{ RC_HTTP_POST, "/api/v1/auth/login", nop, RC_BODY_JSON, 0 },
};

static struct rc_router *router;

static void
route(const char *path)
{
	struct rc_req_param params[RC_HTTP_MAX_PARAMS];
	unsigned allow = 0;
	int i, n = 0;

	if (rc_router_match(router, RC_HTTP_GET, path, params, &n, &allow) ==
	    NULL)
		n = 0;
	if (n < 0 || n > RC_HTTP_MAX_PARAMS)
		abort();
	for (i = 0; i < n; i++) {
		(void)rc_utf8_valid(params[i].value, strlen(params[i].value));
		free(params[i].value);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	char *target, *query, *path;

	if (router == NULL) {
		router = rc_router_new();
		rc_router_add(router, routes, RC_NELEM(routes));
	}
	target = rc_strndup((const char *)data, size);
	if ((query = strchr(target, '?')) != NULL)
		*query++ = '\0';
	if ((path = rc_http_sanitize_path(target)) != NULL) {
		if (path[0] != '/' || strstr(path, "/../") != NULL)
			abort();
		route(path);
		free(path);
	}
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == 0)
		TAILQ_FOREACH(kv, &q, next)
			(void)rc_utf8_valid(kv->value, strlen(kv->value));
	evhttp_clear_headers(&q);
	free(target);
	return 0;
}
