/* The HTTP core: loop threads, requests, routing and replies.
 * A handler runs on its request's loop thread, must never block, and must
 * lead to exactly one reply (rc_http_reply_* or rc_http_fail) on every
 * path — even when the client has gone. */
#ifndef ROLLCALL_HTTP_H
#define ROLLCALL_HTTP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "rollcall/log.h"
#include "rollcall/util.h"

struct rc_config;
struct rc_db_pool;
struct rc_principal;
struct rc_req_chunk;
struct rc_req_cleanup;
struct rc_router;
struct rc_server;
struct rc_slow;
struct rc_static;

#define RC_HTTP_MAX_PARAMS	4
#define RC_HTTP_ID_LEN		64

/* Methods as a bit set, for routes and Allow headers. */
enum rc_http_method {
	RC_HTTP_GET	= 1 << 0,
	RC_HTTP_HEAD	= 1 << 1,
	RC_HTTP_POST	= 1 << 2,
	RC_HTTP_PUT	= 1 << 3,
	RC_HTTP_PATCH	= 1 << 4,
	RC_HTTP_DELETE	= 1 << 5,
	RC_HTTP_OPTIONS	= 1 << 6,
};
#define RC_HTTP_NMETHODS	7

/* What a route takes as its body (rc_route.body). The router parses it
 * before the handler runs and replies 400/413/415/422 itself, so a handler
 * only validates what it finds. */
enum rc_http_body {
	RC_BODY_NONE = 0,	/* whatever comes is ignored */
	RC_BODY_JSON = 1,	/* a JSON object -> req->body (empty: {}) */
	RC_BODY_IMAGE,		/* image/... or octet-stream bytes, or the
				   multipart/form-data part "file" ->
				   req->image */
	RC_BODY_JSON_OR_IMAGE,	/* by Content-Type: image/... or multipart ->
				   req->image, anything else -> req->body */
	RC_BODY_FORM,		/* application/x-www-form-urlencoded ->
				   req->form (rc_http_form); the raw bytes
				   stay readable (rc_http_body_bytes) */
};

/* Who may call a route (rc_route.who): 0 is anyone, unauthenticated.
 * Otherwise the router hands the bits to the authenticator the auth
 * module registered (rc_router_set_auth), which sets req->who or replies
 * 401/403/503 itself; RC_WHO_METRICS alone is checked here (allowed
 * networks or metrics.token). A role's bit is what rc_auth_role_bit()
 * gives for its name. */
#define RC_WHO_ANYONE		0
#define RC_ROLE_SUPERADMIN	0x01
#define RC_ROLE_ADMIN		0x02
#define RC_ROLE_MANAGER		0x04
#define RC_ROLE_EMPLOYEE	0x08
#define RC_ROLE_INTERN		0x10
#define RC_ROLE_ANY		0x1f
/* With roles: the route also serves a user who must change their password
 * first (/me, /auth/password/change). */
#define RC_WHO_PENDING_PASSWORD	0x100
/* A kiosk device token (alone, or besides roles: either may call). */
#define RC_WHO_KIOSK		0x200
/* GET /metrics: an allowed network (metrics.allow) or metrics.token. */
#define RC_WHO_METRICS		0x400

struct rc_req;
typedef void (*rc_http_handler)(struct rc_req *req);

/* One row of the route table: the table alone says who may call what. */
struct rc_route {
	unsigned	 method;	/* one rc_http_method */
	const char	*pattern;	/* "/api/v1/users/{id}" */
	rc_http_handler	 fn;
	unsigned	 body;		/* one rc_http_body */
	unsigned	 who;		/* RC_WHO_* and RC_ROLE_* bits */
};

/* Authenticates req for a route whose who is not 0 and authorises it
 * against who: sets req->who and calls next(req) — possibly later, from a
 * database callback — or replies itself. */
typedef void (*rc_http_auth_fn)(struct rc_req *req, unsigned who,
	    rc_http_handler next);

/* Bytes of a request body; they point into the request's input buffer,
 * which nothing changes until the request is freed. */
struct rc_http_bytes {
	const unsigned char	*data;
	size_t			 len;
};

/* A task posted to a loop thread from any thread; it runs in the log
 * context of the thread that posted it. */
struct rc_task {
	void			(*fn)(void *arg);
	void			*arg;
	struct rc_log_context	 ctx;
	struct rc_task		*next;
};

/* One loop thread: its event base, HTTP server and database pool. Nothing
 * in here is touched by another thread except through rc_http_post. */
struct rc_loop {
	int			 index;
	struct rc_server	*server;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct rc_db_pool	*db;
	struct rc_static	*statics;	/* this loop's snapshot of static/ */
	struct rc_slow		*slow;		/* header deadline, body rate */
	pthread_t		 thread;
	int			 in_flight;	/* requests owned by this loop */
	int			 unsent;	/* replies not yet fully written */
	int			 draining;

	pthread_mutex_t		 mailbox_lock;
	struct rc_task		*mailbox_head, *mailbox_tail;
	struct event		*mailbox_ev;
	struct event		*drain_ev;
	/* Last tick of this loop's watchdog timer (rc_now_usec), when
	 * systemd's watchdog is on: a wedged loop stops the pings. */
	_Atomic int64_t		 beat_usec;
};

struct rc_req_param {
	const char	*name;		/* points into the route pattern */
	size_t		 namelen;
	char		*value;		/* decoded */
};

struct rc_req {
	struct evhttp_request	*ev;
	struct rc_loop		*loop;
	const struct rc_route	*route;
	int			 route_id;	/* its index, for metrics */
	unsigned		 method;
	char			 id[RC_HTTP_ID_LEN + 1];
	char			 client[64];	/* peer address */
	char			*path;		/* decoded, without the query */
	struct evkeyvalq	 query;
	struct rc_req_param	 params[RC_HTTP_MAX_PARAMS];
	int			 nparams;
	json_t			*body;		/* RC_BODY_JSON */
	struct rc_http_bytes	 image;		/* RC_BODY_IMAGE; len 0: none */
	struct evkeyvalq	 form;		/* RC_BODY_FORM */
	uint64_t		 start_usec;
	int			 status;
	size_t			 bytes_out;
	int			 replied;
	/* The authenticated caller, set by the auth module; NULL when none.
	 * who_free (set with it) frees it with the request. */
	struct rc_principal	*who;
	void			(*who_free)(struct rc_principal *who);

	/* The handler's state across its callbacks (the callbacks get req):
	 * allocate it with rc_req_alloc, which frees it with the request. */
	void			*data;

	/* Memory of rc_req_alloc: freed, cleanups run, with the request. */
	struct rc_req_chunk	*chunks;
	struct rc_req_cleanup	*cleanups;
};

/* Request-scoped memory (h2o's request pools): size bytes, zeroed and
 * aligned for any type, that live until req is freed; cleanup(ptr), when
 * not NULL, runs then, the last allocated first. Never NULL. Use it for
 * whatever a handler keeps across callbacks instead of freeing by hand. */
void	*rc_req_alloc(struct rc_req *req, size_t size,
	    void (*cleanup)(void *ptr));
/* A copy of s (NULL: NULL) that lives as long as req. */
char	*rc_req_strdup(struct rc_req *req, const char *s);

/* Replies. Each ends the request: the rc_req is freed on return and must
 * not be touched afterwards. */
/* Takes ownership of body. */
void	rc_http_reply_json(struct rc_req *req, int status, json_t *body);
void	rc_http_reply(struct rc_req *req, int status, const char *ctype,
	    const void *data, size_t len);
/* Problem+json (RFC 9457). code is the stable machine name; detail may be
 * NULL. */
void	rc_http_fail(struct rc_req *req, int status, const char *code,
	    const char *detail);
/* Same, with an "errors" array of {field, message}; takes ownership of
 * errors. */
void	rc_http_fail_fields(struct rc_req *req, int status, const char *code,
	    const char *detail, json_t *errors);
/* 422 naming one field. */
void	rc_http_fail_field(struct rc_req *req, const char *field,
	    const char *message);
/* 503 with Retry-After: a dependency is down. */
void	rc_http_fail_unavailable(struct rc_req *req, const char *detail);

/* Builds the problem+json object (used by rc_http_fail; exposed for tests).
 * Takes ownership of errors (may be NULL). */
json_t	*rc_http_problem(int status, const char *code, const char *detail,
	    json_t *errors);
const char *rc_http_status_text(int status);

void	rc_http_set_header(struct rc_req *req, const char *name,
	    const char *value);
const char *rc_http_header(struct rc_req *req, const char *name);
/* The value of cookie name in the Cookie header, as a new string (caller
 * frees), or NULL when absent or empty. */
char	*rc_http_cookie(struct rc_req *req, const char *name);
/* The credentials of "Authorization: Bearer <token>" — the scheme matched
 * without regard to case (RFC 7235 2.1, RFC 6750 2.1) — or NULL when the
 * header is absent, of another scheme, or has no token. Points into the
 * request's headers. The one Bearer parser: every caller uses it. */
const char *rc_http_bearer(struct rc_req *req);
/* A field of an RC_BODY_FORM body; NULL when absent. */
const char *rc_http_form(struct rc_req *req, const char *name);
/* The raw body (an RC_BODY_FORM route checking a signature over it). */
struct rc_http_bytes rc_http_body_bytes(struct rc_req *req);
/* Path parameter {name}; NULL when absent. */
const char *rc_http_param(struct rc_req *req, const char *name);
/* Query string parameter; NULL when absent. */
const char *rc_http_query(struct rc_req *req, const char *name);
/* The client's address as text. */
const char *rc_http_client(struct rc_req *req);
/* True when the client has closed the connection. */
int	rc_http_client_gone(struct rc_req *req);

/* Posts fn(arg) to run on loop's thread; safe from any thread. */
void	rc_http_post(struct rc_loop *loop, void (*fn)(void *), void *arg);

/* Router: built once before the loops start, read-only afterwards. */
struct rc_router *rc_router_new(void);
void	rc_router_free(struct rc_router *r);
/* Registers a table of routes; the router keeps pointers into it. */
void	rc_router_add(struct rc_router *r, struct rc_route *routes, size_t n);
/* The authenticator of every route whose who is not 0 (nor only
 * RC_WHO_METRICS): the auth module's rc_auth_authenticate. */
void	rc_router_set_auth(struct rc_router *r, rc_http_auth_fn fn);
rc_http_auth_fn rc_router_auth(const struct rc_router *r);
/* Finds the route for method + path; fills params (values are new strings
 * the caller frees). Returns NULL when none matches, with *allow set to the
 * methods the path does accept (0: the path is unknown). */
const struct rc_route *rc_router_match(const struct rc_router *r,
	    unsigned method, const char *path, struct rc_req_param *params,
	    int *nparams, unsigned *allow);
/* The same, and *id is the route's index (rc_router_get) when it
 * matches. */
const struct rc_route *rc_router_match_id(const struct rc_router *r,
	    unsigned method, const char *path, struct rc_req_param *params,
	    int *nparams, unsigned *allow, int *id);
size_t	rc_router_count(const struct rc_router *r);
const struct rc_route *rc_router_get(const struct rc_router *r, size_t i);
/* Writes "GET, HEAD, POST" for a method set. */
void	rc_http_allow_string(unsigned methods, char *out, size_t n);
const char *rc_http_method_name(unsigned method);

/* Path safety for static files: decodes %XX, refuses NUL, backslash,
 * "." and ".." segments. Returns a new normalised path ("/a/b") or NULL. */
char	*rc_http_sanitize_path(const char *raw);

/* The server. */
struct rc_server *rc_server_new(const struct rc_config *cfg,
	    struct rc_router *router, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT has drained the loops; returns RC_OK. */
rc_status rc_server_run(struct rc_server *s);
/* fn(arg) runs on the main thread at each SIGHUP, after the log and the
 * static files (the API reloads its keys there). */
void	rc_server_on_reload(struct rc_server *s, void (*fn)(void *arg),
	    void *arg);
void	rc_server_free(struct rc_server *s);
const struct rc_config *rc_server_config(const struct rc_server *s);
/* The bound port (useful with port 0). */
int	rc_server_port(const struct rc_server *s);
/* Requests in flight across all loops. */
int	rc_server_in_flight(const struct rc_server *s);

/* Routes of the core: health, readiness, metrics, test helpers. */
void	rc_http_core_routes(struct rc_router *r);

#endif
