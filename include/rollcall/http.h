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

#include "rollcall/util.h"

struct rc_config;
struct rc_db_pool;
struct rc_principal;
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

/* Route flags. */
#define RC_ROUTE_JSON	0x1	/* body must be a JSON object (parsed into req->body) */

struct rc_req;
typedef void (*rc_http_handler)(struct rc_req *req);

struct rc_route {
	unsigned	 method;	/* one rc_http_method */
	const char	*pattern;	/* "/api/v1/users/{id}" */
	rc_http_handler	 fn;
	unsigned	 flags;
	int		 id;		/* index for metrics, set by the router */
};

/* A task posted to a loop thread from any thread. */
struct rc_task {
	void		(*fn)(void *arg);
	void		*arg;
	struct rc_task	*next;
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
	unsigned		 method;
	char			 id[RC_HTTP_ID_LEN + 1];
	char			 client[64];	/* peer address */
	char			*path;		/* decoded, without the query */
	struct evkeyvalq	 query;
	struct rc_req_param	 params[RC_HTTP_MAX_PARAMS];
	int			 nparams;
	json_t			*body;		/* with RC_ROUTE_JSON */
	uint64_t		 start_usec;
	int			 status;
	size_t			 bytes_out;
	int			 replied;
	/* The authenticated caller, set by the auth module; NULL when none.
	 * who_free (set with it) frees it with the request. */
	struct rc_principal	*who;
	void			(*who_free)(struct rc_principal *who);

	/* Handler state, freed with the request when data_free is set. */
	void			*data;
	void			(*data_free)(void *data);
};

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
/* What RC_ROUTE_JSON does, for a route that takes JSON or something else
 * (an image): parses the body as a JSON object into req->body (an empty
 * body is {}). Replies 400/413/415 itself and returns RC_ERR. */
rc_status rc_http_parse_json_body(struct rc_req *req);
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
/* Finds the route for method + path; fills params (values are new strings
 * the caller frees). Returns NULL when none matches, with *allow set to the
 * methods the path does accept (0: the path is unknown). */
const struct rc_route *rc_router_match(const struct rc_router *r,
	    unsigned method, const char *path, struct rc_req_param *params,
	    int *nparams, unsigned *allow);
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
