/* The server: one listening port, N loop threads each with its own
 * event_base, evhttp (on its own socket of one SO_REUSEPORT group) and
 * database pool; the main thread handles signals. A request goes:
 * in-flight cap → route → who → body → handler (dispatch.c), and the reply
 * path (reply.c) closes the books. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"
#include "rollcall/notify.h"
#include "http-int.h"

static void
mailbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc_loop *loop = arg;
	struct rc_task *t;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&loop->mailbox_lock);
	t = loop->mailbox_head;
	loop->mailbox_head = loop->mailbox_tail = NULL;
	pthread_mutex_unlock(&loop->mailbox_lock);
	while (t != NULL) {
		struct rc_task *next = t->next;

		rc_log_context_restore(&t->ctx);
		t->fn(t->arg);
		rc_log_context_clear();
		free(t);
		t = next;
	}
}

void
rc_http_post(struct rc_loop *loop, void (*fn)(void *), void *arg)
{
	struct rc_task *t = rc_calloc(1, sizeof(*t));

	t->fn = fn;
	t->arg = arg;
	rc_log_context_save(&t->ctx);
	pthread_mutex_lock(&loop->mailbox_lock);
	if (loop->mailbox_tail != NULL)
		loop->mailbox_tail->next = t;
	else
		loop->mailbox_head = t;
	loop->mailbox_tail = t;
	pthread_mutex_unlock(&loop->mailbox_lock);
	event_active(loop->mailbox_ev, EV_READ, 0);
}

static unsigned
method_of(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:	return RC_HTTP_GET;
	case EVHTTP_REQ_HEAD:	return RC_HTTP_HEAD;
	case EVHTTP_REQ_POST:	return RC_HTTP_POST;
	case EVHTTP_REQ_PUT:	return RC_HTTP_PUT;
	case EVHTTP_REQ_PATCH:	return RC_HTTP_PATCH;
	case EVHTTP_REQ_DELETE:	return RC_HTTP_DELETE;
	case EVHTTP_REQ_OPTIONS: return RC_HTTP_OPTIONS;
	default:		return 0;
	}
}

/* Echoes a client's X-Request-Id when it is short and plain; otherwise
 * makes one. */
static void
set_request_id(struct rc_req *req)
{
	const char *in = rc_http_header(req, "X-Request-Id");
	unsigned char rnd[8];
	size_t i, n;

	if (in != NULL && (n = strlen(in)) > 0 && n <= RC_HTTP_ID_LEN) {
		for (i = 0; i < n; i++)
			if (!(isalnum((unsigned char)in[i]) ||
			    strchr("-_.:", in[i]) != NULL))
				break;
		if (i == n) {
			memcpy(req->id, in, n + 1);
			return;
		}
	}
	rc_random_bytes(rnd, sizeof(rnd));
	rc_hex_encode(rnd, sizeof(rnd), req->id);
}

static void
set_client(struct rc_req *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req->ev);
	char *addr = NULL;
	ev_uint16_t port;

	if (c != NULL)
		evhttp_connection_get_peer(c, &addr, &port);
	snprintf(req->client, sizeof(req->client), "%s", addr ? addr : "-");
}

static size_t
header_bytes(struct rc_req *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req->ev);
	struct evkeyval *kv;
	size_t n = strlen(evhttp_request_get_uri(req->ev)) + 16;

	TAILQ_FOREACH(kv, h, next)
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

static void
request_cb(struct evhttp_request *ev, void *arg)
{
	struct rc_loop *loop = arg;
	struct rc_server *s = loop->server;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	struct rc_req *req = rc_calloc(1, sizeof(*req));
	const char *path, *query;
	int n;

	req->ev = ev;
	req->loop = loop;
	req->start_usec = rc_now_usec();
	req->method = method_of(evhttp_request_get_command(ev));
	TAILQ_INIT(&req->query);
	TAILQ_INIT(&req->form);
	set_request_id(req);
	set_client(req);
	rc_log_set_request_id(req->id);
	loop->in_flight++;
	n = atomic_fetch_add(&s->in_flight, 1) + 1;

	path = uri ? evhttp_uri_get_path(uri) : NULL;
	req->path = rc_strdup(path && *path ? path : "/");
	if (req->method == 0) {		/* RFC 9110 9.1 */
		rc_http_set_header(req, "Connection", "close");
		rc_http_fail(req, 501, "not_implemented",
		    "this server does not implement that method");
		return;
	}
	if (n > s->cfg->limits_max_in_flight) {
		rc_metrics_throttled();
		rc_http_fail(req, 429, "throttled",
		    "too many requests in flight; retry later");
		return;
	}
	if (header_bytes(req) > (size_t)s->cfg->limits_max_header_bytes) {
		rc_http_fail(req, 413, "headers_too_large",
		    "the request line and headers exceed limits.max_header_bytes");
		return;
	}
	query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (query != NULL && evhttp_parse_query_str(query, &req->query) != 0) {
		rc_http_fail(req, 400, "malformed_query",
		    "the query string is malformed");
		return;
	}
	rc_http_route(req);
	/* What runs next on this thread restores its own context. */
	rc_log_context_clear();
}

static rc_status
parse_cidr(const char *text, struct cidr *out)
{
	char buf[64], *slash;
	int maxbits;

	snprintf(buf, sizeof(buf), "%s", text);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	out->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	maxbits = out->family == AF_INET6 ? 128 : 32;
	if (inet_pton(out->family, buf, out->addr) != 1)
		return RC_ERR;
	out->bits = slash ? atoi(slash) : maxbits;
	if (out->bits < 0 || out->bits > maxbits)
		return RC_ERR;
	return RC_OK;
}

static rc_status
parse_allow_list(struct rc_server *s, const char *list, char *err,
    size_t errlen)
{
	char *copy = rc_strdup(list), *tok, *save = NULL;

	for (tok = strtok_r(copy, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		s->metrics_allow = rc_realloc(s->metrics_allow,
		    (s->nmetrics_allow + 1) * sizeof(struct cidr));
		if (parse_cidr(tok, &s->metrics_allow[s->nmetrics_allow]) != RC_OK) {
			snprintf(err, errlen, "metrics.allow: bad network "
			    "\"%s\"", tok);
			free(copy);
			return RC_ERR;
		}
		s->nmetrics_allow++;
	}
	free(copy);
	return RC_OK;
}

int
rc_server_metrics_allowed(const struct rc_server *s, const char *addr)
{
	unsigned char a[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	size_t i;

	if (inet_pton(family, addr, a) != 1)
		return 0;
	for (i = 0; i < s->nmetrics_allow; i++) {
		const struct cidr *c = &s->metrics_allow[i];
		int full = c->bits / 8, rest = c->bits % 8;

		if (c->family != family || memcmp(a, c->addr, (size_t)full) != 0)
			continue;
		if (rest == 0 || ((a[full] ^ c->addr[full]) &
		    (0xff << (8 - rest)) & 0xff) == 0)
			return 1;
	}
	return 0;
}

/* A listening socket on host:port. The first (join 0) is bound without
 * SO_REUSEPORT, so that a port another process holds still fails with
 * "address in use", and then opened to a reuseport group; each further
 * loop joins that group (join 1) on the first one's port. The kernel then
 * spreads new connections over the loops by their address hash: with one
 * socket dup()ed to every loop, whichever loop woke first accepted a whole
 * burst (wrk's 64 connections all on one loop, the other idle). */
static int
open_listener(const char *host, int port, int join, int *bound_port,
    char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[16];
	int fd = -1, one = 1, rv;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rv = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		snprintf(err, errlen, "server.host %s: %s", host,
		    gai_strerror(rv));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (join && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0 ||
	    (!join && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) < 0)) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*bound_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* The socket loop accepts on: its own. Loop 0 takes a dup() of the
 * server's (which rc_server keeps to close), the others join its reuseport
 * group. */
static int
loop_listener(struct rc_server *s, const struct rc_loop *loop, char *err,
    size_t errlen)
{
	int port;

	if (loop->index == 0)
		return dup(s->listen_fd);
	return open_listener(s->cfg->server_host, s->port, 1, &port, err,
	    errlen);
}

static rc_status
loop_init(struct rc_server *s, struct rc_loop *loop, struct rc_static *st,
    char *err, size_t errlen)
{
	const struct rc_config *cfg = s->cfg;
	struct rc_db_pool_config dbc = { cfg->db_url, cfg->db_pool_size,
	    cfg->db_queue_max, cfg->db_query_timeout_ms };
	int fd;

	loop->server = s;
	pthread_mutex_init(&loop->mailbox_lock, NULL);
	if ((loop->base = event_base_new()) == NULL ||
	    (loop->http = evhttp_new(loop->base)) == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		return RC_ERR;
	}
	loop->mailbox_ev = event_new(loop->base, -1, 0, mailbox_cb, loop);
	evhttp_set_timeout(loop->http, cfg->server_idle_timeout);
	loop->slow = rc_http_slow_new(loop);
	/* libevent answers a plain 400 past its own limit; twice ours leaves
	 * room to answer 413 problem+json ourselves (headers_too_large). */
	evhttp_set_max_headers_size(loop->http,
	    2 * (ev_ssize_t)cfg->limits_max_header_bytes);
	evhttp_set_max_body_size(loop->http, (ev_ssize_t)rc_http_max_body(cfg));
	/* Every method reaches request_cb, which answers the ones it does not
	 * know with problem+json 501; libevent's own answer is HTML. libevent
	 * 2.1 marks a method it cannot name with a bit outside the enum, so
	 * all 16 bits let those through too. */
	evhttp_set_allowed_methods(loop->http, 0xffff);
	evhttp_set_default_content_type(loop->http, NULL);
	evhttp_set_gencb(loop->http, request_cb, loop);
	/* Each evhttp owns its own fd: freeing one must not close the
	 * others' (STYLE: never hand one fd to several evhttps). */
	err[0] = '\0';
	if ((fd = loop_listener(s, loop, err, errlen)) < 0 ||
	    (loop->bound = evhttp_accept_socket_with_handle(loop->http, fd)) == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot accept on the listener");
		return RC_ERR;
	}
	loop->db = rc_db_pool_new(loop->base, &dbc);
	atomic_fetch_add(&st->refs, 1);
	loop->statics = st;
	return RC_OK;
}

struct rc_server *
rc_server_new(const struct rc_config *cfg, struct rc_router *router,
    char *err, size_t errlen)
{
	struct rc_server *s = rc_calloc(1, sizeof(*s));
	struct rc_static *st;
	int i;

	s->cfg = cfg;
	s->router = router;
	s->listen_fd = -1;
	evthread_use_pthreads();
	if (rc_http_check_routes(router, err, errlen) != RC_OK)
		goto fail;
	if (parse_allow_list(s, cfg->metrics_allow, err, errlen) != RC_OK)
		goto fail;
	if ((st = rc_static_load(cfg->server_static_dir,
	    cfg->server_vendor_dir, err, errlen)) == NULL)
		goto fail;
	s->listen_fd = open_listener(cfg->server_host, cfg->server_port, 0,
	    &s->port, err, errlen);
	if (s->listen_fd < 0) {
		rc_static_unref(st);
		goto fail;
	}
	s->nloops = cfg->server_threads > 0 ? cfg->server_threads :
	    (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s->nloops < 1)
		s->nloops = 1;
	s->loops = rc_calloc((size_t)s->nloops, sizeof(*s->loops));
	for (i = 0; i < s->nloops; i++) {
		s->loops[i].index = i;
		if (loop_init(s, &s->loops[i], st, err, errlen) != RC_OK) {
			rc_static_unref(st);
			goto fail;
		}
	}
	rc_static_unref(st);
	rc_metrics_init(router);
	return s;
fail:
	rc_server_free(s);
	return NULL;
}

const struct rc_config *
rc_server_config(const struct rc_server *s)
{
	return s->cfg;
}

int
rc_server_port(const struct rc_server *s)
{
	return s->port;
}

int
rc_server_in_flight(const struct rc_server *s)
{
	return s->in_flight;
}

struct rc_static *
rc_loop_static(struct rc_loop *loop)
{
	return loop->statics;
}

/* Access-log lines leave a loop at most this long after their request. */
#define LOG_FLUSH_MS	100

static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	rc_log_flush();
}

static void *
loop_main(void *arg)
{
	struct rc_loop *loop = arg;
	struct timeval tv = { 0, LOG_FLUSH_MS * 1000 };
	struct event *flush, *beat;
	char name[16];

	/* "rc-loop-0" in top -H, gdb and /proc/PID/task/TID/comm. */
	snprintf(name, sizeof(name), "rc-loop-%d", loop->index);
	pthread_setname_np(pthread_self(), name);
	flush = event_new(loop->base, -1, EV_PERSIST, log_flush_cb, NULL);
	event_add(flush, &tv);
	/* The socket already listens: a client connecting now waits in the
	 * backlog for the dispatch that follows. */
	beat = rc_http_loop_running(loop);
	event_base_dispatch(loop->base);
	if (beat != NULL)
		event_free(beat);
	event_free(flush);
	rc_log_buffer_free();
	return NULL;
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc_loop *loop = arg;

	(void)fd;
	(void)what;
	if (loop->in_flight > 0)
		rc_log(RC_LOG_WARN, "drain: %d request(s) still running after "
		    "the drain timeout; stopping anyway", loop->in_flight);
	event_base_loopexit(loop->base, NULL);
}

void
rc_http_drain_check(struct rc_loop *loop)
{
	struct timeval grace = { 2, 0 };

	if (loop->in_flight > 0)
		return;
	if (loop->unsent == 0) {
		event_base_loopexit(loop->base, NULL);
		return;
	}
	/* A reply to a client that vanished never completes: leave after a
	 * short grace instead of the whole drain timeout. */
	if (loop->drain_ev != NULL)
		evtimer_add(loop->drain_ev, &grace);
}

/* On the loop thread: stop accepting, and leave once idle. */
static void
begin_drain(void *arg)
{
	struct rc_loop *loop = arg;
	struct timeval tv = { loop->server->cfg->server_drain_timeout, 0 };

	loop->draining = 1;
	if (loop->bound != NULL) {
		evhttp_del_accept_socket(loop->http, loop->bound);
		loop->bound = NULL;
	}
	loop->drain_ev = evtimer_new(loop->base, drain_timeout_cb, loop);
	evtimer_add(loop->drain_ev, &tv);
	rc_http_drain_check(loop);
}

/* On the loop thread: take the new snapshot of static/. */
struct swap {
	struct rc_loop	*loop;
	struct rc_static *st;
};

static void
swap_static_cb(void *arg)
{
	struct swap *sw = arg;

	rc_static_unref(sw->loop->statics);
	sw->loop->statics = sw->st;
	free(sw);
}

static void
reload(struct rc_server *s)
{
	struct rc_static *st;
	char err[256];
	int i;

	if (rc_log_reopen() != RC_OK)
		rc_log(RC_LOG_ERROR, "SIGHUP: cannot reopen the log file");
	if ((st = rc_static_load(s->cfg->server_static_dir,
	    s->cfg->server_vendor_dir, err, sizeof(err))) == NULL) {
		rc_log(RC_LOG_ERROR, "SIGHUP: static files not reloaded: %s", err);
		return;
	}
	for (i = 0; i < s->nloops; i++) {
		struct swap *sw = rc_calloc(1, sizeof(*sw));

		sw->loop = &s->loops[i];
		sw->st = st;
		atomic_fetch_add(&st->refs, 1);
		rc_http_post(&s->loops[i], swap_static_cb, sw);
	}
	rc_static_unref(st);
	rc_log(RC_LOG_INFO, "SIGHUP: log reopened, static files reloaded");
	if (s->on_reload != NULL)
		s->on_reload(s->on_reload_arg);
}

void
rc_server_on_reload(struct rc_server *s, void (*fn)(void *arg), void *arg)
{
	s->on_reload = fn;
	s->on_reload_arg = arg;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rc_server *s = arg;
	int i;

	(void)what;
	if (sig == SIGHUP) {
		reload(s);
		return;
	}
	rc_log(RC_LOG_INFO, "signal %d: draining %d request(s)", (int)sig,
	    rc_server_in_flight(s));
	rc_http_notify_drain(s);
	for (i = 0; i < s->nloops; i++)
		rc_http_post(&s->loops[i], begin_drain, &s->loops[i]);
	event_base_loopexit(s->main_base, NULL);
}

rc_status
rc_server_run(struct rc_server *s)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event *sigev[RC_NELEM(sigs)];
	sigset_t block, old;
	size_t k;
	int i;

	signal(SIGPIPE, SIG_IGN);
	s->watchdog_usec = (int64_t)rc_notify_watchdog_usec();
	s->main_base = event_base_new();
	for (k = 0; k < RC_NELEM(sigs); k++) {
		sigev[k] = evsignal_new(s->main_base, sigs[k], signal_cb, s);
		event_add(sigev[k], NULL);
	}
	/* Loop threads inherit a mask without these: signals reach main. */
	sigemptyset(&block);
	for (k = 0; k < RC_NELEM(sigs); k++)
		sigaddset(&block, sigs[k]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < s->nloops; i++)
		pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	rc_log(RC_LOG_INFO, "serving on http://%s:%d with %d loop thread(s)",
	    s->cfg->server_host, s->port, s->nloops);

	event_base_dispatch(s->main_base);
	close(s->listen_fd);
	s->listen_fd = -1;
	for (i = 0; i < s->nloops; i++) {
		pthread_join(s->loops[i].thread, NULL);
		s->loops[i].thread = 0;
	}
	for (k = 0; k < RC_NELEM(sigs); k++)
		event_free(sigev[k]);
	rc_log(RC_LOG_INFO, "stopped");
	return RC_OK;
}

static void
loop_cleanup(struct rc_loop *loop)
{
	struct rc_task *t;

	rc_db_pool_free(loop->db);
	if (loop->http != NULL)
		evhttp_free(loop->http);
	rc_http_slow_free(loop->slow);
	if (loop->drain_ev != NULL)
		event_free(loop->drain_ev);
	if (loop->mailbox_ev != NULL)
		event_free(loop->mailbox_ev);
	/* Tasks posted after the loop stopped would touch freed state: drop
	 * them (only a drain timeout leaves any). */
	while ((t = loop->mailbox_head) != NULL) {
		loop->mailbox_head = t->next;
		free(t);
	}
	if (loop->statics != NULL)
		rc_static_unref(loop->statics);
	if (loop->base != NULL)
		event_base_free(loop->base);
	pthread_mutex_destroy(&loop->mailbox_lock);
}

void
rc_server_free(struct rc_server *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nloops; i++)
		loop_cleanup(&s->loops[i]);
	free(s->loops);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->main_base != NULL)
		event_base_free(s->main_base);
	free(s->metrics_allow);
	rc_metrics_free();
	free(s);
}
