/* Replies: the one place that writes a response, records metrics, writes
 * the access-log line and frees the request. Problem+json (RFC 9457) is
 * built here and nowhere else. */
#include <sys/socket.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "rollcall/config.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"
#include "http-int.h"

static const struct {
	int		 status;
	const char	*text;
} status_texts[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 304, "Not Modified" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 409, "Conflict" }, { 410, "Gone" }, { 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
};

const char *
rc_http_status_text(int status)
{
	size_t i;

	for (i = 0; i < RC_NELEM(status_texts); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return status < 400 ? "OK" : status < 500 ? "Client Error" : "Error";
}

json_t *
rc_http_problem(int status, const char *code, const char *detail,
    json_t *errors)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_sprintf("urn:rollcall:problem:%s",
	    code));
	json_object_set_new(o, "title", json_string(rc_http_status_text(status)));
	json_object_set_new(o, "status", json_integer(status));
	if (detail != NULL)
		json_object_set_new(o, "detail", json_string(detail));
	json_object_set_new(o, "code", json_string(code));
	if (errors != NULL)
		json_object_set_new(o, "errors", errors);
	return o;
}

void
rc_http_req_free(struct rc_req *req)
{
	int i;

	rc_http_req_pool_free(req);
	if (req->who_free != NULL)
		req->who_free(req->who);
	for (i = 0; i < req->nparams; i++)
		free(req->params[i].value);
	evhttp_clear_headers(&req->query);
	evhttp_clear_headers(&req->form);
	json_decref(req->body);
	free(req->path);
	free(req);
}

/* One JSON line per request (a short text line on a terminal). Formatted
 * by hand: it runs on every request
 * and jansson's object building costs more than the request itself. */
static void
access_log(struct rc_req *req, double seconds)
{
	const struct rc_config *cfg = rc_server_config(req->loop->server);
	char when[32], path[512], id[2 * RC_HTTP_ID_LEN + 8], line[1024];
	struct tm tm;
	time_t now;
	int n;

	if (!cfg->log_access)
		return;
	now = time(NULL);
	if (rc_log_is_text()) {
		n = (int)rc_log_access_text(line, sizeof(line), now,
		    rc_http_method_name(req->method), req->path ? req->path : "",
		    req->status, seconds * 1000.0, req->id);
		rc_log_buffer_line(line, (size_t)n);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc_log_escape(req->path ? req->path : "", path, sizeof(path));
	rc_log_escape(req->id, id, sizeof(id));
	n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":\"access\","
	    "\"request_id\":\"%s\",\"method\":\"%s\",\"route\":\"%s\","
	    "\"path\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,"
	    "\"bytes\":%zu,\"client\":\"%s\"}", when, id,
	    rc_http_method_name(req->method),
	    req->route ? req->route->pattern : "-", path, req->status,
	    seconds * 1000.0, req->bytes_out, req->client);
	if (n > 0)
		rc_log_buffer_line(line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
}

/* Everything after the bytes are handed to libevent. */
static void
finish(struct rc_req *req)
{
	struct rc_loop *loop = req->loop;
	double seconds = (double)(rc_now_usec() - req->start_usec) / 1e6;
	int route_id = req->route ? req->route_id : RC_METRICS_ROUTE_UNMATCHED;

	if (req->route == NULL && req->status != 429 && req->path != NULL &&
	    strncmp(req->path, "/api/", 5) != 0 && req->status != 405)
		route_id = RC_METRICS_ROUTE_STATIC;
	rc_metrics_observe(route_id, req->method, req->status, seconds);
	access_log(req, seconds);
	atomic_fetch_sub(&loop->server->in_flight, 1);
	loop->in_flight--;
	rc_log_set_request_id(NULL);
	rc_http_req_free(req);
	if (loop->draining)
		rc_http_drain_check(loop);
}

static void
reply_sent_cb(struct evhttp_request *ev, void *arg)
{
	struct rc_loop *loop = arg;
	struct evhttp_connection *c = evhttp_request_get_connection(ev);
	struct bufferevent *bev;

	/* libevent writes the reply to a CONNECT (501) without a body length
	 * and keeps the connection for a tunnel: end our side, so the client
	 * sees where the body ends. Only a half-close: libevent still owns
	 * and frees the connection. */
	if (evhttp_request_get_command(ev) == EVHTTP_REQ_CONNECT &&
	    c != NULL && (bev = evhttp_connection_get_bufferevent(c)) != NULL)
		shutdown(bufferevent_getfd(bev), SHUT_WR);
	loop->unsent--;
	if (loop->draining)
		rc_http_drain_check(loop);
}

/* Every reply, API or not: never sniffed into something else, never
 * framed, never leaking its URL as a referrer. The app's pages set a
 * fuller policy first (rc_static_security_headers). */
static void
baseline_headers(struct evkeyvalq *h)
{
	static const char *const base[][2] = {
		{ "X-Content-Type-Options", "nosniff" },
		{ "X-Frame-Options", "DENY" },
		{ "Referrer-Policy", "no-referrer" },
		{ "Content-Security-Policy",
		    "default-src 'none'; frame-ancestors 'none'" },
	};
	size_t i;

	for (i = 0; i < RC_NELEM(base); i++)
		if (evhttp_find_header(h, base[i][0]) == NULL)
			evhttp_add_header(h, base[i][0], base[i][1]);
}

void
rc_http_reply(struct rc_req *req, int status, const char *ctype,
    const void *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
	struct evbuffer *buf = evbuffer_new();
	char num[32];

	if (req->replied)
		abort();
	req->replied = 1;
	req->status = status;
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Request-Id", req->id);
	baseline_headers(h);
	if (req->loop->draining)
		evhttp_add_header(h, "Connection", "close");
	if (req->method == RC_HTTP_HEAD || status == 204 || status == 304) {
		if (status != 204 && status != 304) {
			snprintf(num, sizeof(num), "%zu", len);
			evhttp_add_header(h, "Content-Length", num);
		}
	} else if (len > 0) {
		evbuffer_add(buf, data, len);
		req->bytes_out = len;
	}
	/* Draining waits until replies are on the wire, not just queued. */
	if (evhttp_request_get_connection(req->ev) != NULL) {
		req->loop->unsent++;
		evhttp_request_set_on_complete_cb(req->ev, reply_sent_cb,
		    req->loop);
	}
	evhttp_send_reply(req->ev, status, rc_http_status_text(status), buf);
	evbuffer_free(buf);
	finish(req);
}

void
rc_http_reply_json(struct rc_req *req, int status, json_t *body)
{
	/* Reals (similarities, thresholds) come from floats: 9 significant
	 * digits say all a float knows, without 0.90000000000000002. */
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9));

	json_decref(body);
	if (s == NULL) {
		rc_log(RC_LOG_ERROR, "http: cannot serialise a reply");
		rc_http_reply(req, 500, "application/problem+json",
		    "{\"status\":500,\"code\":\"internal\"}", 33);
		return;
	}
	rc_http_reply(req, status, "application/json; charset=utf-8", s,
	    strlen(s));
	free(s);
}

void
rc_http_fail_fields(struct rc_req *req, int status, const char *code,
    const char *detail, json_t *errors)
{
	json_t *p = rc_http_problem(status, code, detail, errors);
	char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char ra[16];

	json_decref(p);
	if (status == 429 || status == 503) {
		snprintf(ra, sizeof(ra), "%d", rc_server_config(
		    req->loop->server)->limits_retry_after);
		rc_http_set_header(req, "Retry-After", ra);
	}
	rc_http_reply(req, status, "application/problem+json", s ? s : "{}",
	    s ? strlen(s) : 2);
	free(s);
}

void
rc_http_fail(struct rc_req *req, int status, const char *code,
    const char *detail)
{
	rc_http_fail_fields(req, status, code, detail, NULL);
}

void
rc_http_fail_field(struct rc_req *req, const char *field, const char *message)
{
	json_t *errors = json_array();

	json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field,
	    "message", message));
	rc_http_fail_fields(req, 422, "validation_failed", message, errors);
}

void
rc_http_fail_unavailable(struct rc_req *req, const char *detail)
{
	rc_http_fail(req, 503, "unavailable", detail);
}

void
rc_http_set_header(struct rc_req *req, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);

	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

const char *
rc_http_header(struct rc_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    name);
}

char *
rc_http_cookie(struct rc_req *req, const char *name)
{
	const char *h = rc_http_header(req, "Cookie"), *end;
	size_t n = strlen(name);

	/* RFC 6265 5.4: "a=1; b=2", pairs separated by "; ". */
	while (h != NULL && *h != '\0') {
		while (*h == ' ' || *h == ';')
			h++;
		end = strchr(h, ';');
		if (end == NULL)
			end = h + strlen(h);
		if ((size_t)(end - h) > n + 1 && strncmp(h, name, n) == 0 &&
		    h[n] == '=')
			return rc_strndup(h + n + 1, (size_t)(end - h) - n - 1);
		h = end;
	}
	return NULL;
}

const char *
rc_http_param(struct rc_req *req, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < req->nparams; i++)
		if (req->params[i].namelen == n &&
		    memcmp(req->params[i].name, name, n) == 0)
			return req->params[i].value;
	return NULL;
}

const char *
rc_http_query(struct rc_req *req, const char *name)
{
	return evhttp_find_header(&req->query, name);
}

const char *
rc_http_client(struct rc_req *req)
{
	return req->client;
}

int
rc_http_client_gone(struct rc_req *req)
{
	return evhttp_request_get_connection(req->ev) == NULL;
}
