/* Slow clients: libevent's timeouts count inactivity, so a client sending
 * one byte a second holds its connection for ever. Each connection's bytes
 * are watched here (through its bufferevent's buffers): a request's line
 * and headers must arrive within server.header_timeout of its first byte,
 * and its body at server.min_body_rate on average after that grace. */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "rollcall/config.h"
#include "rollcall/log.h"
#include "http-int.h"

enum phase {
	PHASE_IDLE,	/* between requests: idle_timeout's business */
	PHASE_HEAD,	/* request line and headers arriving */
	PHASE_BODY,	/* Content-Length bytes (or chunks) arriving */
	PHASE_DONE,	/* read; the reply is being made */
};

#define LINE_KEEP	40	/* enough of a line for "content-length: N" */

struct slow_conn {
	struct bufferevent	*bev;	/* our reference; evhttp owns it */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct rc_slow		*owner;
	struct slow_conn	*prev, *next;
	enum phase		 phase;
	double			 t0;		/* the phase began */
	char			 line[LINE_KEEP];
	size_t			 linelen;
	long long		 body_left;	/* -1: chunked, until the reply */
	long long		 body_got;
	int			 shut;
};

struct rc_slow {
	struct rc_loop		*loop;
	struct event		*sweep;
	struct slow_conn	*head;
};

static void
conn_reset(struct slow_conn *c, enum phase p)
{
	c->phase = p;
	c->t0 = rc_now_mono();
	c->linelen = 0;
	c->body_left = 0;
	c->body_got = 0;
}

/* One complete header line (without its LF) seen in PHASE_HEAD. */
static void
head_line(struct slow_conn *c)
{
	size_t n = c->linelen;

	if (n > 0 && c->line[n - 1] == '\r')
		n--;
	if (n == 0) {			/* the blank line: headers done */
		long long left = c->body_left;

		conn_reset(c, left != 0 ? PHASE_BODY : PHASE_DONE);
		c->body_left = left;
		return;
	}
	c->line[n < LINE_KEEP ? n : LINE_KEEP - 1] = '\0';
	if (strncasecmp(c->line, "content-length:", 15) == 0)
		c->body_left = strtoll(c->line + 15, NULL, 10);
	else if (strncasecmp(c->line, "transfer-encoding:", 18) == 0)
		c->body_left = -1;
}

/* Follows the request's structure through the bytes just received. */
static void
scan(struct slow_conn *c, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (c->phase) {
		case PHASE_IDLE:
		case PHASE_DONE:	/* a pipelined request begins */
			conn_reset(c, PHASE_HEAD);
			/* FALLTHROUGH */
		case PHASE_HEAD:
			if (p[i] == '\n') {
				head_line(c);
				c->linelen = 0;
			} else if (c->linelen < LINE_KEEP - 1) {
				c->line[c->linelen++] = (char)p[i];
			}
			break;
		case PHASE_BODY:
			c->body_got++;
			if (c->body_left > 0 && --c->body_left == 0)
				c->phase = PHASE_DONE;
			break;
		}
	}
}

static void
input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct slow_conn *c = arg;
	struct evbuffer_iovec v[8];
	struct evbuffer_ptr at;
	int i, nv;

	if (info->n_added == 0 || c->shut)
		return;
	if (evbuffer_ptr_set(buf, &at, evbuffer_get_length(buf) -
	    info->n_added, EVBUFFER_PTR_SET) != 0)
		return;
	nv = evbuffer_peek(buf, (ev_ssize_t)info->n_added, &at, v, 8);
	for (i = 0; i < nv && i < 8; i++)
		scan(c, v[i].iov_base, v[i].iov_len);
}

/* A reply starting ("HTTP/1.1 200 ...", not an interim 100) means the
 * request was read whole: the connection is between requests again. */
static void
output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct slow_conn *c = arg;
	struct evbuffer_ptr at;
	char head[13];

	if (info->n_added < sizeof(head) - 1 || evbuffer_ptr_set(buf, &at,
	    evbuffer_get_length(buf) - info->n_added, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_copyout_from(buf, &at, head, sizeof(head) - 1) !=
	    (ev_ssize_t)sizeof(head) - 1)
		return;
	head[sizeof(head) - 1] = '\0';
	if (strncmp(head, "HTTP/1.", 7) == 0 && strncmp(head + 9, "1", 1) != 0)
		conn_reset(c, PHASE_IDLE);
}

static void
conn_free(struct slow_conn *c)
{
	struct rc_slow *w = c->owner;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	bufferevent_decref(c->bev);
	free(c);
}

/* Ends a slow client: shutting the socket makes evhttp read end-of-file
 * and free the connection itself (no request exists yet to answer). */
static void
conn_shut(struct slow_conn *c, const char *why)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	c->shut = 1;
	rc_log(RC_LOG_WARN, "http: closing a slow client (%s)", why);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc_slow *w = arg;
	const struct rc_config *cfg = w->loop->server->cfg;
	struct slow_conn *c, *next;
	bufferevent_event_cb ecb;
	double now = rc_now_mono(), t;

	(void)fd;
	(void)what;
	for (c = w->head; c != NULL; c = next) {
		next = c->next;
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
		if (ecb == NULL) {	/* evhttp let go of it */
			conn_free(c);
			continue;
		}
		if (c->shut)
			continue;
		t = now - c->t0;
		if (c->phase == PHASE_HEAD && t > cfg->server_header_timeout)
			conn_shut(c, "headers past server.header_timeout");
		else if (c->phase == PHASE_BODY && cfg->server_min_body_rate > 0 &&
		    t > cfg->server_header_timeout && (double)c->body_got <
		    cfg->server_min_body_rate * (t - cfg->server_header_timeout))
			conn_shut(c, "body below server.min_body_rate");
	}
}

/* evhttp's bevcb: the bufferevent of each new connection, watched. */
static struct bufferevent *
new_bev_cb(struct event_base *base, void *arg)
{
	struct rc_slow *w = arg;
	struct slow_conn *c = rc_calloc(1, sizeof(*c));

	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		rc_fatal("http: cannot make a bufferevent");
	bufferevent_incref(c->bev);	/* ours, until the sweep sees it go */
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), input_cb, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), output_cb,
	    c);
	c->owner = w;
	conn_reset(c, PHASE_IDLE);
	c->next = w->head;
	if (w->head != NULL)
		w->head->prev = c;
	w->head = c;
	return c->bev;
}

struct rc_slow *
rc_http_slow_new(struct rc_loop *loop)
{
	struct rc_slow *w = rc_calloc(1, sizeof(*w));
	struct timeval tv = { 1, 0 };

	w->loop = loop;
	w->sweep = event_new(loop->base, -1, EV_PERSIST, sweep_cb, w);
	event_add(w->sweep, &tv);
	evhttp_set_bevcb(loop->http, new_bev_cb, w);
	return w;
}

void
rc_http_slow_free(struct rc_slow *w)
{
	if (w == NULL)
		return;
	while (w->head != NULL)
		conn_free(w->head);
	event_free(w->sweep);
	free(w);
}
