/* Unit tests of the HTTP core: route matching, 404 vs 405, problem+json,
 * path sanitising. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollcall/http.h"

static void h_users(struct rc_req *r) { (void)r; }
static void h_user(struct rc_req *r) { (void)r; }
static void h_user_put(struct rc_req *r) { (void)r; }
static void h_face(struct rc_req *r) { (void)r; }

static struct rc_route routes[] = {
	{ RC_HTTP_GET, "/api/v1/users", h_users, 0, 0 },
	{ RC_HTTP_POST, "/api/v1/users", h_users, 0, 0 },
	{ RC_HTTP_GET, "/api/v1/users/{id}", h_user, 0, 0 },
	{ RC_HTTP_PATCH, "/api/v1/users/{id}", h_user_put, 0, 0 },
	{ RC_HTTP_DELETE, "/api/v1/users/{id}/faces/{face_id}", h_face, 0, 0 },
};

static struct rc_router *
router(void)
{
	struct rc_router *r = rc_router_new();

	rc_router_add(r, routes, RC_NELEM(routes));
	return r;
}

static void
free_params(struct rc_req_param *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(p[i].value);
}

static void
test_static_and_param_routes(void **state)
{
	struct rc_router *r = router();
	struct rc_req_param p[RC_HTTP_MAX_PARAMS];
	const struct rc_route *rt;
	unsigned allow;
	int n;

	(void)state;
	rt = rc_router_match(r, RC_HTTP_GET, "/api/v1/users", p, &n, &allow);
	assert_ptr_equal(rt, &routes[0]);
	assert_int_equal(n, 0);
	rt = rc_router_match(r, RC_HTTP_POST, "/api/v1/users", p, &n, &allow);
	assert_ptr_equal(rt, &routes[1]);
	rt = rc_router_match(r, RC_HTTP_GET, "/api/v1/users/abc%20d", p, &n, &allow);
	assert_ptr_equal(rt, &routes[2]);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].namelen, 2);
	assert_memory_equal(p[0].name, "id", 2);
	assert_string_equal(p[0].value, "abc d");
	free_params(p, n);
	rt = rc_router_match(r, RC_HTTP_DELETE, "/api/v1/users/u1/faces/f2", p,
	    &n, &allow);
	assert_ptr_equal(rt, &routes[4]);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].value, "u1");
	assert_string_equal(p[1].value, "f2");
	free_params(p, n);
	/* HEAD is served by the GET route. */
	rt = rc_router_match(r, RC_HTTP_HEAD, "/api/v1/users/x", p, &n, &allow);
	assert_ptr_equal(rt, &routes[2]);
	free_params(p, n);
	rc_router_free(r);
}

static void
test_not_found_vs_not_allowed(void **state)
{
	struct rc_router *r = router();
	struct rc_req_param p[RC_HTTP_MAX_PARAMS];
	char allow_s[64];
	unsigned allow;
	int n;

	(void)state;
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/nope", p, &n, &allow));
	assert_int_equal(allow, 0);
	/* Trailing slash, empty and extra segments do not match. */
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/users/", p, &n, &allow));
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/users/a/b", p, &n, &allow));
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/user", p, &n, &allow));
	/* A bad escape in a parameter is no match. */
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/users/%zz", p, &n, &allow));
	assert_null(rc_router_match(r, RC_HTTP_GET, "/api/v1/users/%00", p, &n, &allow));
	assert_null(rc_router_match(r, RC_HTTP_PUT, "/api/v1/users/7", p, &n, &allow));
	assert_int_equal(allow, RC_HTTP_GET | RC_HTTP_HEAD | RC_HTTP_PATCH);
	rc_http_allow_string(allow, allow_s, sizeof(allow_s));
	assert_string_equal(allow_s, "GET, HEAD, PATCH");
	assert_null(rc_router_match(r, RC_HTTP_DELETE, "/api/v1/users", p, &n, &allow));
	assert_int_equal(allow, RC_HTTP_GET | RC_HTTP_HEAD | RC_HTTP_POST);
	assert_int_equal(n, 0);
	rc_router_free(r);
}

static void
test_route_ids(void **state)
{
	struct rc_router *r = router();
	size_t i;

	(void)state;
	assert_int_equal(rc_router_count(r), RC_NELEM(routes));
	for (i = 0; i < RC_NELEM(routes); i++) {
		struct rc_req_param p[RC_HTTP_MAX_PARAMS];
		unsigned allow;
		int n, id = -1;

		assert_ptr_equal(rc_router_get(r, i), &routes[i]);
		/* The path of each route leads to the first with it: only the
		 * ids of routes whose path is met first are theirs. */
		if (rc_router_match_id(r, routes[i].method, "/api/v1/users", p,
		    &n, &allow, &id) == &routes[i])
			assert_int_equal(id, (int)i);
		free_params(p, n);
	}
	assert_null(rc_router_get(r, RC_NELEM(routes)));
	rc_router_free(r);
}

static void
test_problem_json(void **state)
{
	json_t *errors = json_array(), *p;

	(void)state;
	json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "email",
	    "message", "not an email address"));
	p = rc_http_problem(422, "validation_failed", "check the fields", errors);
	assert_int_equal(json_integer_value(json_object_get(p, "status")), 422);
	assert_string_equal(json_string_value(json_object_get(p, "code")),
	    "validation_failed");
	assert_string_equal(json_string_value(json_object_get(p, "title")),
	    "Unprocessable Content");
	assert_string_equal(json_string_value(json_object_get(p, "detail")),
	    "check the fields");
	assert_string_equal(json_string_value(json_object_get(p, "type")),
	    "urn:rollcall:problem:validation_failed");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(p, "errors"), 0), "field")), "email");
	json_decref(p);
	p = rc_http_problem(503, "unavailable", NULL, NULL);
	assert_null(json_object_get(p, "detail"));
	assert_null(json_object_get(p, "errors"));
	assert_string_equal(json_string_value(json_object_get(p, "title")),
	    "Service Unavailable");
	json_decref(p);
}

static void
check_path(const char *in, const char *want)
{
	char *out = rc_http_sanitize_path(in);

	if (want == NULL) {
		if (out != NULL)
			fail_msg("%s should be refused, got %s", in ? in : "(null)", out);
		return;
	}
	if (out == NULL)
		fail_msg("%s refused, want %s", in, want);
	assert_string_equal(out, want);
	free(out);
}

static void
test_sanitize_path(void **state)
{
	(void)state;
	check_path("/", "/");
	check_path("/index.html", "/index.html");
	check_path("//a///b.js", "/a/b.js");
	check_path("/a%20b/c.css", "/a b/c.css");
	check_path("/../etc/passwd", NULL);
	check_path("/a/../../etc/passwd", NULL);
	check_path("/%2e%2e/etc/passwd", NULL);
	check_path("/%2E%2e/x", NULL);
	check_path("/./x", NULL);
	check_path("/a%2f..%2f..%2fetc", NULL);
	check_path("/a%5c..%5cb", NULL);
	check_path("/a%00b", NULL);
	check_path("/a%zz", NULL);
	check_path("/a%2", NULL);
	check_path("relative", NULL);
	check_path(NULL, NULL);
	check_path("/..foo/bar..", "/..foo/bar..");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_and_param_routes),
		cmocka_unit_test(test_not_found_vs_not_allowed),
		cmocka_unit_test(test_route_ids),
		cmocka_unit_test(test_problem_json),
		cmocka_unit_test(test_sanitize_path),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
