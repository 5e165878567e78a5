/* Routes of the platform itself: liveness, readiness (a real round trip to
 * PostgreSQL), Prometheus metrics, and the test-only routes. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/metrics.h"
#include "http-int.h"

static const struct rc_db_stmt SQL_READY = {
	"core_ready", "SELECT 1", 0,
};
static const struct rc_db_stmt SQL_SLEEP = {
	"core_sleep", "SELECT pg_sleep($1::int / 1000.0)", 1,
};

/* GET /healthz — the process is alive; no dependency is checked. */
static void
healthz(struct rc_req *req)
{
	rc_http_reply(req, 200, "application/json; charset=utf-8",
	    "{\"status\":\"ok\"}", 15);
}

static void
ready_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (r->err != RC_DB_OK) {
		rc_http_fail_unavailable(req, "the database is unavailable");
		return;
	}
	rc_http_reply(req, 200, "application/json; charset=utf-8",
	    "{\"status\":\"ready\"}", 18);
}

/* GET /readyz — PostgreSQL answers; 503 while draining or when it does
 * not. */
static void
readyz(struct rc_req *req)
{
	if (req->loop->draining) {
		rc_http_fail_unavailable(req, "the server is shutting down");
		return;
	}
	if (rc_db_query(req->loop->db, &SQL_READY, NULL, ready_cb, req) != RC_AGAIN)
		rc_http_fail_unavailable(req, "the database is unavailable");
}

static void
gather_gauges(struct rc_server *s, struct rc_metrics_gauges *g)
{
	struct rc_db_pool_stats ps;
	int i;

	memset(g, 0, sizeof(*g));
	g->in_flight = s->in_flight;
	for (i = 0; i < s->nloops; i++) {
		rc_db_pool_stats(s->loops[i].db, &ps);
		g->db_connections += ps.connections;
		g->db_busy += ps.busy;
		g->db_waiting += ps.waiting;
		g->db_errors += (double)ps.errors;
		g->db_queries += (double)ps.queries;
	}
}

/* GET /metrics — the router lets in allowed networks and the metrics
 * token (RC_WHO_METRICS). */
static void
metrics(struct rc_req *req)
{
	struct rc_server *s = req->loop->server;
	struct rc_metrics_gauges g;
	struct evbuffer *buf;
	size_t len;

	gather_gauges(s, &g);
	buf = evbuffer_new();
	rc_metrics_render(buf, &g);
	len = evbuffer_get_length(buf);
	rc_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
}

/* GET /api/v1/test/sleep?ms=N — holds a database connection for N ms;
 * only with server.test_routes (drain and throttle tests use it). */
static void
test_sleep(struct rc_req *req)
{
	const char *ms = rc_http_query(req, "ms");
	const char *params[1];
	char *end;
	long n;

	if (!rc_server_config(req->loop->server)->server_test_routes) {
		rc_http_fail(req, 404, "not_found", "no such resource");
		return;
	}
	n = ms ? strtol(ms, &end, 10) : -1;
	if (ms == NULL || *end != '\0' || n < 0 || n > 60000) {
		rc_http_fail_field(req, "ms", "a whole number from 0 to 60000");
		return;
	}
	params[0] = ms;
	if (rc_db_query(req->loop->db, &SQL_SLEEP, params, ready_cb, req) != RC_AGAIN)
		rc_http_fail_unavailable(req, "the database is unavailable");
}

/* POST /api/v1/test/echo — replies with the parsed JSON body; only with
 * server.test_routes (body parsing and size tests use it). */
static void
test_echo(struct rc_req *req)
{
	if (!rc_server_config(req->loop->server)->server_test_routes) {
		rc_http_fail(req, 404, "not_found", "no such resource");
		return;
	}
	rc_http_reply_json(req, 200, json_incref(req->body));
}

/* GET /api/v1/openapi.json — the contract, kept as static/openapi.json. */
static void
openapi(struct rc_req *req)
{
	const struct rc_static_file *f;

	f = rc_static_find(rc_loop_static(req->loop), "/openapi.json");
	if (f == NULL) {
		rc_http_fail(req, 404, "not_found", "static/openapi.json is missing");
		return;
	}
	rc_http_set_header(req, "ETag", f->etag);
	rc_http_reply(req, 200, f->ctype, f->data, f->len);
}

static struct rc_route core_routes[] = {
	{ RC_HTTP_GET, "/healthz", healthz, RC_BODY_NONE, RC_WHO_ANYONE },
	{ RC_HTTP_GET, "/readyz", readyz, RC_BODY_NONE, RC_WHO_ANYONE },
	{ RC_HTTP_GET, "/metrics", metrics, RC_BODY_NONE, RC_WHO_METRICS },
	{ RC_HTTP_GET, "/api/v1/openapi.json", openapi, RC_BODY_NONE,
	    RC_WHO_ANYONE },
	{ RC_HTTP_GET, "/api/v1/test/sleep", test_sleep, RC_BODY_NONE,
	    RC_WHO_ANYONE },
	{ RC_HTTP_POST, "/api/v1/test/echo", test_echo, RC_BODY_JSON,
	    RC_WHO_ANYONE },
};

void
rc_http_core_routes(struct rc_router *r)
{
	rc_router_add(r, core_routes, RC_NELEM(core_routes));
}
