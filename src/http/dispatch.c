/* A request's way through the router: match the route, check the URL's
 * text, authenticate and authorise as the route declares (rc_route.who),
 * parse its body (rc_route.body), then run its handler. Authentication is
 * the auth module's, registered as a function (rc_router_set_auth), so
 * that this module does not depend on it; it may answer later, from a
 * database callback, and the rest of the way continues from there. */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rollcall/config.h"
#include "http-int.h"

const char *
rc_http_bearer(struct rc_req *req)
{
	const char *h = rc_http_header(req, "Authorization");

	/* RFC 7235 2.1: credentials = auth-scheme [ 1*SP token68 ], the
	 * scheme case-insensitive. */
	if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return NULL;
	for (h += 6; *h == ' '; h++)
		;
	return *h != '\0' ? h : NULL;
}

/* Every text a handler reads from the URL — query names and values, path
 * parameters — is checked here, once: PostgreSQL refuses invalid UTF-8
 * (22021), which would otherwise surface as a 500 from whichever query
 * received it. Replies 400 naming the parameter and returns RC_ERR. */
static rc_status
check_url_text(struct rc_req *req)
{
	struct evkeyval *kv;
	const char *bad = NULL;
	char msg[160], detail[200];
	int i;

	TAILQ_FOREACH(kv, &req->query, next) {
		if (!rc_utf8_valid(kv->key, strlen(kv->key))) {
			rc_http_fail(req, 400, "malformed_query", "a query "
			    "parameter name is not valid UTF-8");
			return RC_ERR;
		}
		if (!rc_utf8_valid(kv->value, strlen(kv->value))) {
			bad = kv->key;
			break;
		}
	}
	for (i = 0; bad == NULL && i < req->nparams; i++)
		if (!rc_utf8_valid(req->params[i].value,
		    strlen(req->params[i].value))) {
			snprintf(msg, sizeof(msg), "%.*s",
			    (int)req->params[i].namelen, req->params[i].name);
			bad = msg;
		}
	if (bad == NULL)
		return RC_OK;
	snprintf(detail, sizeof(detail), "the parameter \"%.64s\" is not "
	    "valid UTF-8 text", bad);
	rc_http_fail_fields(req, 400, "malformed_query", detail,
	    json_pack("[{s:s, s:s}]", "field", bad, "message",
	    "must be valid UTF-8 text"));
	return RC_ERR;
}

/* The caller is who the route wants: the body, then the handler. */
static void
authorised(struct rc_req *req)
{
	if (rc_http_parse_body(req) != RC_OK)
		return;
	req->route->fn(req);
}

/* RC_WHO_METRICS: metrics are on, and the caller is on an allowed network
 * or presents metrics.token (compared in constant time). */
static void
metrics_gate(struct rc_req *req)
{
	struct rc_server *s = req->loop->server;
	const char *tok = rc_http_bearer(req), *want = s->cfg->metrics_token;

	if (!s->cfg->metrics_enabled) {
		rc_http_fail(req, 404, "not_found", "metrics are disabled");
		return;
	}
	if (!rc_server_metrics_allowed(s, rc_http_client(req)) &&
	    (tok == NULL || want[0] == '\0' ||
	    !rc_secure_equal(tok, strlen(tok), want, strlen(want)))) {
		rc_http_fail(req, 403, "forbidden",
		    "metrics are served to allowed networks or with the token");
		return;
	}
	authorised(req);
}

/* The route's who, asked of the right party. */
static void
authenticate(struct rc_req *req)
{
	unsigned who = req->route->who;
	rc_http_auth_fn auth = rc_router_auth(req->loop->server->router);

	if (who == RC_WHO_ANYONE) {
		authorised(req);
		return;
	}
	if (who == RC_WHO_METRICS) {
		metrics_gate(req);
		return;
	}
	if (auth == NULL) {	/* rc_server_new refuses this set-up */
		rc_http_fail(req, 500, "internal", "no authenticator");
		return;
	}
	auth(req, who, authorised);
}

void
rc_http_route(struct rc_req *req)
{
	const struct rc_router *router = req->loop->server->router;
	char allow[128];
	unsigned methods;

	req->route = rc_router_match_id(router, req->method, req->path,
	    req->params, &req->nparams, &methods, &req->route_id);
	if (req->route != NULL) {
		if (check_url_text(req) == RC_OK)
			authenticate(req);
		return;
	}
	if (methods != 0) {
		rc_http_allow_string(methods, allow, sizeof(allow));
		rc_http_set_header(req, "Allow", allow);
		rc_http_fail(req, 405, "method_not_allowed",
		    "this path does not accept that method");
		return;
	}
	if ((req->method == RC_HTTP_GET || req->method == RC_HTTP_HEAD) &&
	    strncmp(req->path, "/api/", 5) != 0 && strcmp(req->path, "/api") != 0) {
		rc_static_serve(req);
		return;
	}
	rc_http_fail(req, 404, "not_found", "no such resource");
}

rc_status
rc_http_check_routes(const struct rc_router *r, char *err, size_t errlen)
{
	const struct rc_route *rt;
	size_t i;

	for (i = 0; i < rc_router_count(r); i++) {
		rt = rc_router_get(r, i);
		if (rt->who != RC_WHO_ANYONE && rt->who != RC_WHO_METRICS &&
		    rc_router_auth(r) == NULL) {
			snprintf(err, errlen, "route %s %s needs an "
			    "authenticator and none is set",
			    rc_http_method_name(rt->method), rt->pattern);
			return RC_ERR;
		}
		if (rt->body > RC_BODY_FORM) {
			snprintf(err, errlen, "route %s %s: unknown body kind",
			    rc_http_method_name(rt->method), rt->pattern);
			return RC_ERR;
		}
	}
	return RC_OK;
}
