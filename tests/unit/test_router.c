/* Unit tests of the router's dispatch (src/http/dispatch.c, body.c,
 * pool.c): a route's who is asked of the authenticator before its body is
 * parsed, its body is parsed before its handler runs, and every refusal
 * is the router's. No database: the authenticator is this file's, and it
 * answers later, as the real one does from a query's callback. Replies go
 * nowhere (a request without a connection); their status is read back
 * from the access log. */
#include <sys/queue.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/log.h"
#include "http/http-int.h"

/* What the handler saw. */
static struct {
	int		 runs;
	unsigned	 who_seen;	/* the principal's role_bit */
	char		 member[64];	/* body {"name"} */
	char		 image[64];	/* req->image as text */
	char		 form_a[64], form_b[64];
} seen;

/* What the authenticator was asked, and what it holds until the test
 * lets it answer. */
static struct {
	int		 calls;
	unsigned	 who;
	struct rc_req	*req;
	rc_http_handler	 next;
} asked;

static struct rc_principal principal;

static void
handler(struct rc_req *req)
{
	json_t *name = req->body ? json_object_get(req->body, "name") : NULL;

	seen.runs++;
	seen.who_seen = req->who ? req->who->role_bit : 0;
	snprintf(seen.member, sizeof(seen.member), "%s",
	    name ? json_string_value(name) : "");
	snprintf(seen.image, sizeof(seen.image), "%.*s", (int)req->image.len,
	    (const char *)req->image.data);
	snprintf(seen.form_a, sizeof(seen.form_a), "%s",
	    rc_http_form(req, "a") ? rc_http_form(req, "a") : "");
	snprintf(seen.form_b, sizeof(seen.form_b), "%s",
	    rc_http_form(req, "b") ? rc_http_form(req, "b") : "");
	rc_http_reply(req, 200, "text/plain", "ok", 2);
}

static void
fake_auth(struct rc_req *req, unsigned who, rc_http_handler next)
{
	asked.calls++;
	asked.who = who;
	asked.req = req;
	asked.next = next;
}

/* The authenticator's answer, as from a database callback. */
static void
auth_accepts(unsigned role_bit)
{
	assert_non_null(asked.req);
	principal.role_bit = role_bit;
	asked.req->who = &principal;
	asked.next(asked.req);
	asked.req = NULL;
}

static void
auth_refuses(void)
{
	assert_non_null(asked.req);
	rc_http_fail(asked.req, 401, "unauthorized", "no");
	asked.req = NULL;
}

static struct rc_route routes[] = {
	{ RC_HTTP_GET, "/open", handler, RC_BODY_NONE, RC_WHO_ANYONE },
	{ RC_HTTP_POST, "/admin", handler, RC_BODY_JSON, RC_ROLE_ADMIN },
	{ RC_HTTP_POST, "/kiosk", handler, RC_BODY_IMAGE, RC_WHO_KIOSK },
	{ RC_HTTP_POST, "/either", handler, RC_BODY_JSON_OR_IMAGE,
	    RC_ROLE_ANY | RC_WHO_PENDING_PASSWORD },
	{ RC_HTTP_POST, "/form", handler, RC_BODY_FORM, RC_WHO_ANYONE },
	{ RC_HTTP_GET, "/metrics", handler, RC_BODY_NONE, RC_WHO_METRICS },
};

static struct rc_config cfg;
static struct rc_server server;
static struct rc_loop loop;
static struct cidr localnet = { AF_INET, { 127, 0, 0, 0 }, 8 };
static char log_path[] = "/tmp/rollcall-test-router-XXXXXX";

static int
setup(void **state)
{
	int fd = mkstemp(log_path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rc_log_open(log_path, RC_LOG_INFO,
	    RC_LOG_FORMAT_JSON), RC_OK);
	cfg.log_access = 1;
	cfg.limits_max_body_bytes = 64;
	cfg.limits_max_upload_bytes = 32;
	cfg.metrics_enabled = 1;
	cfg.metrics_token = "s3cret";
	server.cfg = &cfg;
	server.router = rc_router_new();
	rc_router_add(server.router, routes, RC_NELEM(routes));
	rc_router_set_auth(server.router, fake_auth);
	server.metrics_allow = &localnet;
	server.nmetrics_allow = 1;
	loop.server = &server;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rc_router_free(server.router);
	rc_log_open(NULL, RC_LOG_INFO, RC_LOG_FORMAT_JSON);
	unlink(log_path);
	return 0;
}

/* A request as request_cb makes one, not yet routed. */
static struct rc_req *
request(unsigned method, const char *path, const char *ctype,
    const char *body, const char *authz)
{
	struct rc_req *req = rc_calloc(1, sizeof(*req));
	struct evkeyvalq *h;

	req->ev = evhttp_request_new(NULL, NULL);
	h = evhttp_request_get_input_headers(req->ev);
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (authz != NULL)
		evhttp_add_header(h, "Authorization", authz);
	if (body != NULL)
		evbuffer_add(evhttp_request_get_input_buffer(req->ev), body,
		    strlen(body));
	req->loop = &loop;
	req->method = method;
	req->path = rc_strdup(path);
	snprintf(req->id, sizeof(req->id), "t1");
	snprintf(req->client, sizeof(req->client), "10.1.2.3");
	TAILQ_INIT(&req->query);
	TAILQ_INIT(&req->form);
	memset(&seen, 0, sizeof(seen));
	return req;
}

/* The status of the last reply, from its access-log line. */
static int
last_status(void)
{
	char line[2048], last[2048] = "";
	FILE *f;
	json_t *o;
	int status;

	rc_log_flush();
	assert_non_null(f = fopen(log_path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "\"type\":\"access\"") != NULL)
			memcpy(last, line, sizeof(line));
	fclose(f);
	assert_non_null(o = json_loads(last, 0, NULL));
	status = (int)json_integer_value(json_object_get(o, "status"));
	json_decref(o);
	return status;
}

static void
test_open_route_needs_no_authenticator(void **state)
{
	(void)state;
	asked.calls = 0;
	rc_http_route(request(RC_HTTP_GET, "/open", NULL, NULL, NULL));
	assert_int_equal(asked.calls, 0);
	assert_int_equal(seen.runs, 1);
	assert_int_equal(last_status(), 200);
}

static void
test_who_goes_to_the_authenticator_before_the_body(void **state)
{
	(void)state;
	asked.calls = 0;
	/* Malformed JSON from a caller the authenticator refuses: 401, not
	 * 400 — the body of a stranger is never parsed. */
	rc_http_route(request(RC_HTTP_POST, "/admin", "application/json",
	    "{nope", "Bearer x"));
	assert_int_equal(asked.calls, 1);
	assert_int_equal(asked.who, RC_ROLE_ADMIN);
	assert_int_equal(seen.runs, 0);		/* it waits for the answer */
	auth_refuses();
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 401);
}

static void
test_body_is_parsed_after_the_principal(void **state)
{
	(void)state;
	rc_http_route(request(RC_HTTP_POST, "/admin", "application/json",
	    "{\"name\":\"Ada\"}", "Bearer x"));
	assert_int_equal(seen.runs, 0);
	auth_accepts(RC_ROLE_ADMIN);
	assert_int_equal(seen.runs, 1);
	assert_int_equal(seen.who_seen, RC_ROLE_ADMIN);
	assert_string_equal(seen.member, "Ada");
	assert_int_equal(last_status(), 200);

	rc_http_route(request(RC_HTTP_POST, "/admin", "application/json",
	    "{nope", "Bearer x"));
	auth_accepts(RC_ROLE_ADMIN);
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 400);

	rc_http_route(request(RC_HTTP_POST, "/admin", "text/plain", "hi",
	    "Bearer x"));
	auth_accepts(RC_ROLE_ADMIN);
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 415);

	rc_http_route(request(RC_HTTP_POST, "/admin", "application/json",
	    "{\"name\":\"0123456789012345678901234567890123456789012345678"
	    "901234567890\"}", "Bearer x"));
	auth_accepts(RC_ROLE_ADMIN);
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 413);
}

static void
test_image_bodies(void **state)
{
	(void)state;
	rc_http_route(request(RC_HTTP_POST, "/kiosk", "image/jpeg", "JPEGBYTES",
	    "Bearer rck_x"));
	assert_int_equal(asked.who, RC_WHO_KIOSK);
	auth_accepts(0);
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.image, "JPEGBYTES");

	rc_http_route(request(RC_HTTP_POST, "/kiosk",
	    "multipart/form-data; boundary=XyZ",
	    "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
	    "hi\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nPART"
	    "\r\n--XyZ--\r\n", "Bearer rck_x"));
	auth_accepts(0);
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.image, "PART");

	rc_http_route(request(RC_HTTP_POST, "/kiosk", "text/plain", "x",
	    "Bearer rck_x"));
	auth_accepts(0);
	assert_int_equal(last_status(), 415);
	rc_http_route(request(RC_HTTP_POST, "/kiosk", "image/png", NULL,
	    "Bearer rck_x"));
	auth_accepts(0);
	assert_int_equal(last_status(), 422);
	rc_http_route(request(RC_HTTP_POST, "/kiosk", "image/png",
	    "0123456789012345678901234567890123456789", "Bearer rck_x"));
	auth_accepts(0);
	assert_int_equal(last_status(), 413);
	rc_http_route(request(RC_HTTP_POST, "/kiosk",
	    "multipart/form-data; boundary=XyZ", "--XyZ\r\ncut short",
	    "Bearer rck_x"));
	auth_accepts(0);
	assert_int_equal(last_status(), 400);
	assert_int_equal(seen.runs, 0);
}

static void
test_json_or_image(void **state)
{
	(void)state;
	rc_http_route(request(RC_HTTP_POST, "/either", "image/webp", "RIFF",
	    "Bearer x"));
	assert_int_equal(asked.who, RC_ROLE_ANY | RC_WHO_PENDING_PASSWORD);
	auth_accepts(RC_ROLE_INTERN);
	assert_string_equal(seen.image, "RIFF");
	assert_string_equal(seen.member, "");

	rc_http_route(request(RC_HTTP_POST, "/either", "application/json",
	    "{\"name\":\"Bo\"}", "Bearer x"));
	auth_accepts(RC_ROLE_INTERN);
	assert_string_equal(seen.member, "Bo");
	assert_string_equal(seen.image, "");

	/* No body and no type: JSON's empty object, as check-in takes it. */
	rc_http_route(request(RC_HTTP_POST, "/either", NULL, NULL, "Bearer x"));
	auth_accepts(RC_ROLE_INTERN);
	assert_int_equal(seen.runs, 1);
}

static void
test_form_bodies(void **state)
{
	(void)state;
	rc_http_route(request(RC_HTTP_POST, "/form",
	    "application/x-www-form-urlencoded", "a=1&b=hello+w%C3%B6rld",
	    NULL));
	assert_int_equal(seen.runs, 1);
	assert_string_equal(seen.form_a, "1");
	assert_string_equal(seen.form_b, "hello w\xc3\xb6rld");

	rc_http_route(request(RC_HTTP_POST, "/form", "application/json",
	    "{}", NULL));
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 415);
	rc_http_route(request(RC_HTTP_POST, "/form",
	    "application/x-www-form-urlencoded", "a=%ff", NULL));
	assert_int_equal(seen.runs, 0);
	assert_int_equal(last_status(), 400);
}

static void
test_metrics_gate(void **state)
{
	struct rc_req *req;

	(void)state;
	asked.calls = 0;
	/* 10.1.2.3 is not an allowed network: the token decides, the scheme
	 * in any case (RFC 7235 2.1). */
	rc_http_route(request(RC_HTTP_GET, "/metrics", NULL, NULL, NULL));
	assert_int_equal(last_status(), 403);
	rc_http_route(request(RC_HTTP_GET, "/metrics", NULL, NULL,
	    "Bearer wrong"));
	assert_int_equal(last_status(), 403);
	rc_http_route(request(RC_HTTP_GET, "/metrics", NULL, NULL,
	    "bEaReR s3cret"));
	assert_int_equal(last_status(), 200);
	req = request(RC_HTTP_GET, "/metrics", NULL, NULL, NULL);
	snprintf(req->client, sizeof(req->client), "127.0.0.1");
	rc_http_route(req);
	assert_int_equal(last_status(), 200);
	assert_int_equal(asked.calls, 0);	/* the http module's own */
	cfg.metrics_enabled = 0;
	rc_http_route(request(RC_HTTP_GET, "/metrics", NULL, NULL,
	    "Bearer s3cret"));
	assert_int_equal(last_status(), 404);
	cfg.metrics_enabled = 1;
}

static const char *
bearer_of(const char *authz)
{
	static char out[64];
	struct rc_req *req = request(RC_HTTP_GET, "/open", NULL, NULL, authz);
	const char *tok = rc_http_bearer(req);

	snprintf(out, sizeof(out), "%s", tok ? tok : "(null)");
	rc_http_reply(req, 204, NULL, NULL, 0);
	return out;
}

static void
test_one_bearer_parser(void **state)
{
	(void)state;
	assert_string_equal(bearer_of("Bearer abc.def"), "abc.def");
	assert_string_equal(bearer_of("bearer abc"), "abc");
	assert_string_equal(bearer_of("BEARER   abc"), "abc");
	assert_string_equal(bearer_of("Bearerabc"), "(null)");
	assert_string_equal(bearer_of("Bearer "), "(null)");
	assert_string_equal(bearer_of("Basic YWxhZGRpbjpvcGVu"), "(null)");
	assert_string_equal(bearer_of(NULL), "(null)");
}

static char order[8];
static size_t norder;

static void
note_cleanup(void *p)
{
	order[norder++] = *(char *)p;
}

static void
test_request_memory(void **state)
{
	struct rc_req *req = request(RC_HTTP_GET, "/open", NULL, NULL, NULL);
	unsigned char *big;
	char *a, *b, *s;
	size_t i;

	(void)state;
	norder = 0;
	a = rc_req_alloc(req, 1, note_cleanup);
	b = rc_req_alloc(req, 24, note_cleanup);
	assert_int_equal(*a, 0);
	assert_int_equal((uintptr_t)b % alignof(max_align_t), 0);
	*a = 'a';
	*b = 'b';
	big = rc_req_alloc(req, 100000, NULL);
	for (i = 0; i < 100000; i++)
		assert_int_equal(big[i], 0);
	memset(big, 0xff, 100000);
	s = rc_req_strdup(req, "kept");
	assert_string_equal(s, "kept");
	assert_null(rc_req_strdup(req, NULL));
	for (i = 0; i < 500; i++)	/* past one chunk */
		memset(rc_req_alloc(req, 40, NULL), 0x55, 40);
	assert_int_equal(norder, 0);
	rc_http_reply(req, 204, NULL, NULL, 0);	/* frees req */
	assert_int_equal(norder, 2);
	assert_memory_equal(order, "ba", 2);	/* last made, first cleaned */
}

static void
test_routes_need_an_authenticator(void **state)
{
	struct rc_router *r = rc_router_new();
	char err[256];

	(void)state;
	rc_router_add(r, routes, RC_NELEM(routes));
	assert_int_equal(rc_http_check_routes(r, err, sizeof(err)), RC_ERR);
	assert_non_null(strstr(err, "/admin"));
	rc_router_set_auth(r, fake_auth);
	assert_int_equal(rc_http_check_routes(r, err, sizeof(err)), RC_OK);
	rc_router_free(r);
}

/* The request id follows work to the CPU pool and back: the worker runs
 * it in the submitter's context, and clears it afterwards. */
static char work_rid[80], done_rid[80];

static void
record_work(void *arg)
{
	(void)arg;
	snprintf(work_rid, sizeof(work_rid), "%s",
	    rc_log_request_id() ? rc_log_request_id() : "(none)");
}

static void
record_done(void *arg)
{
	(void)arg;
	snprintf(done_rid, sizeof(done_rid), "%s",
	    rc_log_request_id() ? rc_log_request_id() : "(none)");
}

static void
test_context_follows_work(void **state)
{
	char id[] = "rid-cpu-1";

	(void)state;
	assert_int_equal(rc_cpu_start(1), RC_OK);
	rc_log_set_request_id(id);
	rc_cpu_submit(NULL, record_work, record_done, NULL);
	rc_log_set_request_id(NULL);
	memset(id, 'x', sizeof(id) - 1);	/* the pool kept a copy */
	rc_cpu_stop();
	assert_string_equal(work_rid, "rid-cpu-1");
	assert_string_equal(done_rid, "rid-cpu-1");
	rc_cpu_submit(NULL, record_work, record_done, NULL);	/* none */
	assert_int_equal(rc_cpu_start(1), RC_OK);
	rc_cpu_stop();
	assert_string_equal(work_rid, "(none)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_route_needs_no_authenticator),
		cmocka_unit_test(test_who_goes_to_the_authenticator_before_the_body),
		cmocka_unit_test(test_body_is_parsed_after_the_principal),
		cmocka_unit_test(test_image_bodies),
		cmocka_unit_test(test_json_or_image),
		cmocka_unit_test(test_form_bodies),
		cmocka_unit_test(test_metrics_gate),
		cmocka_unit_test(test_one_bearer_parser),
		cmocka_unit_test(test_request_memory),
		cmocka_unit_test(test_routes_need_an_authenticator),
		cmocka_unit_test(test_context_follows_work),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
