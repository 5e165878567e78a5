/* Internals shared by the http module's own files. */
#ifndef ROLLCALL_HTTP_INT_H
#define ROLLCALL_HTTP_INT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>

#include "rollcall/http.h"

struct rc_static_file {
	char		*path;		/* "/index.html" */
	char		*data;
	size_t		 len;
	const char	*ctype;
	char		 etag[40];	/* quoted */
	char		 last_modified[40];
	time_t		 mtime;
};

struct rc_static_tree {
	struct rc_static_file	*files;	/* sorted by path */
	size_t			 n;
};

/* An immutable snapshot of static/ and of server.vendor_dir, shared by the
 * loops with a reference count; SIGHUP builds a new one. */
struct rc_static {
	_Atomic int		 refs;
	struct rc_static_tree	 app;	/* static/: "/index.html" */
	struct rc_static_tree	 vendor;	/* "/htm/dist/htm.mjs" */
};

struct cidr {
	int		 family;
	unsigned char	 addr[16];
	int		 bits;
};

struct rc_server {
	const struct rc_config	*cfg;
	struct rc_router	*router;
	int			 listen_fd;
	int			 port;
	int			 nloops;
	struct rc_loop		*loops;
	_Atomic int		 in_flight;
	struct event_base	*main_base;
	struct cidr		*metrics_allow;
	size_t			 nmetrics_allow;
	_Atomic int		 loops_running;	/* loops that have dispatched */
	int64_t			 watchdog_usec;	/* $WATCHDOG_USEC; 0: none */
	void			(*on_reload)(void *arg);
	void			*on_reload_arg;
};

/* systemd.c: readiness and the watchdog (sd_notify). */
/* On a loop thread, once its loop dispatches: the last loop to get there
 * tells systemd READY=1. Starts the loop's watchdog timer when systemd
 * asked for one. Returns the timer (NULL: none); the caller frees it. */
struct event *rc_http_loop_running(struct rc_loop *loop);
void	rc_http_notify_drain(struct rc_server *s);

/* static.c */
/* Loads dir (required) and vendor_dir (NULL or "": none; a missing folder
 * serves nothing; only .js .mjs .css .map files). NULL with err set. */
struct rc_static *rc_static_load(const char *dir, const char *vendor_dir,
	    char *err, size_t errlen);
void	rc_static_unref(struct rc_static *st);
/* A file of static/ ("/openapi.json"). */
const struct rc_static_file *rc_static_find(const struct rc_static *st,
	    const char *path);
/* Serves GET/HEAD of a path outside /api from the loop's snapshot:
 * /vendor/<path> from vendor_dir, the rest from static/. */
void	rc_static_serve(struct rc_req *req);
/* The browser app's headers: CSP, Referrer-Policy, X-Frame-Options,
 * nosniff, Permissions-Policy. */
void	rc_static_security_headers(struct rc_req *req);
const char *rc_static_mime(const char *path);

/* reply.c */
void	rc_http_req_free(struct rc_req *req);

/* pool.c: runs the cleanups and frees the memory of rc_req_alloc. */
void	rc_http_req_pool_free(struct rc_req *req);

/* dispatch.c */
/* Routes req: 404/405/static, or the route's who, body and handler. */
void	rc_http_route(struct rc_req *req);
/* Start-up check of a router: every route that needs an authenticator
 * has one, and every body kind is known. */
rc_status rc_http_check_routes(const struct rc_router *r, char *err,
	    size_t errlen);

/* body.c */
#define RC_HTTP_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */
/* The most libevent may read of any body. */
long	rc_http_max_body(const struct rc_config *cfg);
/* Parses req's body as req->route->body says; replies itself on RC_ERR. */
rc_status rc_http_parse_body(struct rc_req *req);
/* RC_BODY_JSON: the body as a JSON object into req->body (empty: {}).
 * Replies 400/413/415 itself and returns RC_ERR. */
rc_status rc_http_parse_json_body(struct rc_req *req);
/* The boundary of a "multipart/form-data; boundary=..." Content-Type;
 * RC_ERR when it is not multipart or has no valid boundary. */
rc_status rc_http_multipart_boundary(const char *ctype,
	    char out[RC_HTTP_BOUNDARY_MAX + 1]);
/* Finds the part named "file" in body: RC_OK with *out pointing into
 * body, RC_AGAIN when the envelope is sound but has no such part (or two),
 * RC_ERR when it is malformed. */
rc_status rc_http_multipart_file(const unsigned char *body, size_t len,
	    const char *boundary, struct rc_http_bytes *out);

/* slow.c */
/* Watches every connection of loop->http (set before it accepts): closes
 * one whose request headers take over server.header_timeout, or whose body
 * falls below server.min_body_rate after that grace. */
struct rc_slow *rc_http_slow_new(struct rc_loop *loop);
/* After evhttp_free, before the event base goes. */
void	rc_http_slow_free(struct rc_slow *w);

/* server.c */
/* While draining: stops the loop once nothing is in flight or unsent. */
void	rc_http_drain_check(struct rc_loop *loop);
struct rc_static *rc_loop_static(struct rc_loop *loop);
int	rc_server_metrics_allowed(const struct rc_server *s, const char *addr);

#endif
