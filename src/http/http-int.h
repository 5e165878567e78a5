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

/* An immutable snapshot of static/, shared by the loops with a reference
 * count; SIGHUP builds a new one. */
struct rc_static {
	_Atomic int		 refs;
	struct rc_static_file	*files;	/* sorted by path */
	size_t			 n;
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
};

/* static.c */
struct rc_static *rc_static_load(const char *dir, char *err, size_t errlen);
void	rc_static_unref(struct rc_static *st);
const struct rc_static_file *rc_static_find(const struct rc_static *st,
	    const char *path);
/* Serves GET/HEAD of a path outside /api from the loop's snapshot. */
void	rc_static_serve(struct rc_req *req);
const char *rc_static_mime(const char *path);

/* reply.c */
void	rc_http_req_free(struct rc_req *req);

/* server.c */
/* While draining: stops the loop once nothing is in flight or unsent. */
void	rc_http_drain_check(struct rc_loop *loop);
struct rc_static *rc_loop_static(struct rc_loop *loop);
int	rc_server_metrics_allowed(const struct rc_server *s, const char *addr);

#endif
