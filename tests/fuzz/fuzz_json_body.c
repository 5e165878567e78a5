/* libFuzzer driver: a JSON request body through the daemon's body parser
 * (rc_http_parse_json_body) and the validators (src/rest/validate.c) with
 * the members, limits and order of the routes that take outside JSON:
 * POST/PATCH /users, POST /leave/requests, the check-in/out punch and
 * PATCH /attendance/events/{id}. Checks what the handlers rely on: a value
 * handed back obeys its rule, and every refusal is exactly one reply.
 * Input: one byte choosing the route, then the body. */
#include <sys/queue.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/config.h"
#include "rollcall/http.h"
#include "rollcall/util.h"
#include "http/http-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The handlers' own limits and lists (src/api/users.c, leave.c,
 * attendance.c). */
#define NAME_MAX_CHARS	200
#define REASON_MAX	1000
#define NOTE_MAX_CHARS	500
static const char *const roles[] = { "superadmin", "admin", "manager",
    "employee", "intern", NULL };
static const char *const user_statuses[] = { "active", "disabled", NULL };
static const char *const sources[] = { "web", "api", NULL };
static const char *const kinds[] = { "in", "out", NULL };

static struct rc_config cfg;
static struct rc_server server;
static struct rc_loop loop;

static char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

static void
setup(void)
{
	char err[256];

	if (rc_config_load_env(&cfg, NULL, no_env, err, sizeof(err)) != RC_OK)
		abort();
	cfg.log_access = 0;
	server.cfg = &cfg;
	loop.server = &server;
}

/* Code points of valid UTF-8. */
static size_t
chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
check_text(const char *s, int one_line, size_t min, size_t max)
{
	size_t n;

	if (s == NULL)
		return;
	if (!rc_utf8_valid(s, strlen(s)))
		abort();
	n = chars(s);
	if (n < min || n > max)
		abort();
	for (; one_line && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

static void
check_enum(const char *s, const char *const *allowed)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; allowed[i] != NULL; i++)
		if (strcmp(s, allowed[i]) == 0)
			return;
	abort();
}

static void
check_uuid(const char *s)
{
	if (s != NULL && !rc_util_uuid_valid(s))
		abort();
}

static rc_status
users_create(struct rc_req *req)
{
	const char *email, *name, *role, *org, *manager;
	int mail;

	if (rc_rest_email(req, "email", 1, &email) != RC_OK ||
	    rc_rest_line(req, "name", 1, 1, NAME_MAX_CHARS, &name) != RC_OK ||
	    rc_rest_enum(req, "role", 1, roles, &role) != RC_OK ||
	    rc_rest_uuid(req, "org_id", 0, &org) != RC_OK ||
	    rc_rest_uuid(req, "manager_id", 0, &manager) != RC_OK ||
	    rc_rest_bool(req, "send_credentials", 0, 1, &mail) != RC_OK)
		return RC_ERR;
	if (email == NULL || strlen(email) > 254 || strchr(email, '@') ==
	    NULL || name == NULL || role == NULL || (mail != 0 && mail != 1))
		abort();
	check_text(email, 1, 3, 254);
	check_text(name, 1, 1, NAME_MAX_CHARS);
	check_enum(role, roles);
	check_uuid(org);
	check_uuid(manager);
	return RC_OK;
}

static rc_status
users_patch(struct rc_req *req)
{
	const char *name, *role, *status, *manager;

	if (rc_rest_line(req, "name", 0, 1, NAME_MAX_CHARS, &name) != RC_OK ||
	    rc_rest_enum(req, "role", 0, roles, &role) != RC_OK ||
	    rc_rest_enum(req, "status", 0, user_statuses, &status) != RC_OK ||
	    rc_rest_uuid(req, "manager_id", 0, &manager) != RC_OK)
		return RC_ERR;
	check_text(name, 1, 1, NAME_MAX_CHARS);
	check_enum(role, roles);
	check_enum(status, user_statuses);
	check_uuid(manager);
	return RC_OK;
}

/* leave.c's date_member: a one-line text, then the calendar check. */
static rc_status
date_member(struct rc_req *req, const char *field, const char **out)
{
	if (rc_rest_line(req, field, 1, 1, 32, out) != RC_OK)
		return RC_ERR;
	if (!rc_util_date_valid(*out)) {
		rc_http_fail_field(req, field,
		    "must be a real date written YYYY-MM-DD");
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
leave_create(struct rc_req *req)
{
	const char *type, *from, *to, *reason;
	int half;

	if (rc_rest_uuid(req, "type_id", 1, &type) != RC_OK ||
	    date_member(req, "start_date", &from) != RC_OK ||
	    date_member(req, "end_date", &to) != RC_OK ||
	    rc_rest_bool(req, "half_day", 0, 0, &half) != RC_OK ||
	    rc_rest_string(req, "reason", 0, 0, REASON_MAX, &reason) != RC_OK)
		return RC_ERR;
	if (type == NULL || strlen(from) != 10 || strlen(to) != 10)
		abort();
	check_uuid(type);
	check_text(reason, 0, 0, REASON_MAX);
	return RC_OK;
}

static rc_status
punch(struct rc_req *req)
{
	const char *note, *source;

	if (rc_rest_string(req, "note", 0, 0, NOTE_MAX_CHARS, &note) != RC_OK ||
	    rc_rest_enum(req, "source", 0, sources, &source) != RC_OK)
		return RC_ERR;
	check_text(note, 0, 0, NOTE_MAX_CHARS);
	check_enum(source, sources);
	return RC_OK;
}

static rc_status
attendance_patch(struct rc_req *req)
{
	const char *at, *kind, *note;

	if (rc_rest_string(req, "at", 0, 1, 40, &at) != RC_OK ||
	    rc_rest_enum(req, "kind", 0, kinds, &kind) != RC_OK ||
	    rc_rest_string(req, "note", 0, 0, NOTE_MAX_CHARS, &note) != RC_OK)
		return RC_ERR;
	if (at != NULL && !rc_util_instant_valid(at)) {
		rc_http_fail_field(req, "at", "must be an RFC 3339 instant");
		return RC_ERR;
	}
	check_text(at, 0, 1, 40);
	check_enum(kind, kinds);
	check_text(note, 0, 0, NOTE_MAX_CHARS);
	(void)rc_rest_has(req, "note");
	return RC_OK;
}

static rc_status (*const routes[])(struct rc_req *) = {
	users_create, users_patch, leave_create, punch, attendance_patch,
};

/* A request as libevent hands it over, without a connection: the reply
 * is built in full and then dropped (evhttp_send_reply frees it). */
static struct rc_req *
request_new(const uint8_t *body, size_t len)
{
	struct rc_req *req = rc_calloc(1, sizeof(*req));

	req->ev = evhttp_request_new(NULL, NULL);
	evhttp_add_header(evhttp_request_get_input_headers(req->ev),
	    "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_input_buffer(req->ev), body, len);
	req->loop = &loop;
	req->method = RC_HTTP_POST;
	TAILQ_INIT(&req->query);
	strcpy(req->id, "fuzz");
	loop.in_flight++;
	atomic_fetch_add(&server.in_flight, 1);
	return req;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_req *req;
	rc_status rc;

	if (size < 1)
		return 0;
	if (server.cfg == NULL)
		setup();
	req = request_new(data + 1, size - 1);
	if (rc_http_parse_json_body(req) == RC_OK) {
		if (req->body == NULL || !json_is_object(req->body))
			abort();
		rc = routes[data[0] % RC_NELEM(routes)](req);
		/* RC_ERR: the validator replied (and the request is gone). */
		if ((rc == RC_OK) != (loop.in_flight == 1))
			abort();
		if (rc == RC_OK)
			rc_http_reply(req, 204, NULL, NULL, 0);
	}
	if (loop.in_flight != 0)	/* no reply, or one too many */
		abort();
	return 0;
}
