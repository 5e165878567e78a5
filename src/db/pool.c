/* Per-loop pool of non-blocking libpq connections (libpq "Asynchronous
 * Command Processing"): connect with PQconnectStart/PQconnectPoll, one
 * statement in flight per connection, results read as the socket becomes
 * readable. Lost connections come back with backoff; while none is up,
 * queries fail at once so requests answer 503 instead of hanging. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "rollcall/db.h"
#include "rollcall/log.h"

#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	1000
#define TICK_MS		100

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

struct db_query {
	const struct rc_db_stmt	*stmt;
	char			**values;
	int			*lengths;
	int			*formats;
	int			 result_format;	/* 1: binary */
	rc_db_cb		 cb;
	void			*arg;
	struct rc_log_context	 ctx;		/* the sender's */
	uint64_t		 deadline;	/* usec, monotonic */
	int			 preparing;
	PGresult		*res;		/* the last result seen */
	struct db_query		*next;
};

struct db_conn {
	struct rc_db_pool	*pool;
	PGconn			*pg;
	struct event		*ev;
	int			 ev_fd;
	short			 ev_what;
	struct event		*retry;
	enum conn_state		 state;
	struct db_query		*q;
	const struct rc_db_stmt	**prepared;
	int			 nprepared, capprepared;
	int			 backoff_ms;
};

struct rc_db_pool {
	struct event_base	*base;
	char			*url;
	struct db_conn		*conns;
	int			 size;
	int			 queue_max;
	int			 timeout_ms;
	struct db_query		*head, *tail;
	/* Atomic: /metrics reads them from another loop thread. */
	_Atomic int		 waiting;
	_Atomic int		 connected;
	_Atomic uint64_t	 errors, queries;
	_Atomic int		 busy;
	int			 healthy;	/* no failure since last success */
	struct event		*tick;
	struct event		*kick;		/* deferred dispatch */
};

static void conn_connect(struct db_conn *c);
static void conn_event_cb(evutil_socket_t fd, short what, void *arg);
static void pool_dispatch(struct rc_db_pool *pool);

static void
query_free(struct db_query *q)
{
	int i;

	if (q == NULL)
		return;
	for (i = 0; i < q->stmt->nparams; i++)
		free(q->values[i]);
	free(q->values);
	free(q->lengths);
	free(q->formats);
	PQclear(q->res);
	free(q);
}

/* Runs the query's callback in the context of the request that sent it
 * (its log lines carry that request's id; no handler sets it). */
static void
query_call(struct db_query *q, const struct rc_db_result *r)
{
	rc_log_context_restore(&q->ctx);
	q->cb(r, q->arg);
	rc_log_context_clear();
}

/* Calls the query's callback once and frees it. */
static void
query_finish(struct db_query *q, enum rc_db_error err, PGresult *res,
    const char *message)
{
	struct rc_db_result r = { err, res, NULL, message, NULL };

	if (err == RC_DB_FAILED && res != NULL) {
		r.sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		r.message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	}
	query_call(q, &r);
	query_free(q);
}

/* The same for a result the callback may take (*res is NULL then). */
static void
query_finish_ok(struct db_query *q, PGresult **res)
{
	struct rc_db_result r = { RC_DB_OK, *res, NULL, NULL, res };

	query_call(q, &r);
	query_free(q);
}

PGresult *
rc_db_result_take(const struct rc_db_result *r)
{
	PGresult *res = r->res;

	if (r->keep_ == NULL || *r->keep_ == NULL)
		return NULL;
	*r->keep_ = NULL;
	return res;
}

/* Watches the connection's socket for what; re-registers only when the
 * socket or the interest changes (an epoll_ctl per query adds up). */
static void
conn_set_event(struct db_conn *c, short what)
{
	int fd = c->pg != NULL ? PQsocket(c->pg) : -1;

	if (c->ev != NULL && c->ev_fd == fd && c->ev_what == what)
		return;
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (fd < 0)
		return;
	c->ev = event_new(c->pool->base, fd, what | EV_PERSIST, conn_event_cb, c);
	c->ev_fd = fd;
	c->ev_what = what;
	event_add(c->ev, NULL);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_connect(arg);
}

/* Drops the connection, fails its query, and schedules a reconnect. */
static void
conn_lost(struct db_conn *c, const char *why)
{
	struct rc_db_pool *pool = c->pool;
	struct timeval tv;
	struct db_query *q = c->q;

	if (c->state == CONN_IDLE || c->state == CONN_BUSY)
		pool->connected--;
	if (c->state == CONN_BUSY)
		pool->busy--;
	if (c->state != CONN_DOWN) {
		pool->errors++;
		rc_log(RC_LOG_WARN, "db: connection lost: %s", why);
	}
	pool->healthy = 0;
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->q = NULL;
	c->nprepared = 0;
	c->state = CONN_DOWN;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	evtimer_add(c->retry, &tv);
	if (q != NULL)
		query_finish(q, RC_DB_UNAVAILABLE, NULL, "connection lost");
	/* Nobody left to serve what waits: fail it now rather than at the
	 * deadline. */
	if (pool->connected == 0)
		while (pool->head != NULL) {
			struct db_query *w = pool->head;

			pool->head = w->next;
			pool->waiting--;
			query_finish(w, RC_DB_UNAVAILABLE, NULL,
			    "database unavailable");
		}
	if (pool->head == NULL)
		pool->tail = NULL;
}

static void
conn_connect(struct db_conn *c)
{
	const char *keys[] = { "dbname", "connect_timeout", NULL };
	const char *vals[] = { c->pool->url, "5", NULL };

	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD ||
	    PQsetnonblocking(c->pg, 1) != 0) {
		c->state = CONN_CONNECTING;
		conn_lost(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
		return;
	}
	c->state = CONN_CONNECTING;
	conn_set_event(c, EV_WRITE);
}

static void
conn_poll_connect(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_set_event(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		conn_set_event(c, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		c->state = CONN_IDLE;
		c->backoff_ms = 0;
		c->pool->connected++;
		c->pool->healthy = 1;
		conn_set_event(c, EV_READ);
		pool_dispatch(c->pool);
		return;
	default:
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
}

static int
conn_is_prepared(struct db_conn *c, const struct rc_db_stmt *stmt)
{
	int i;

	for (i = 0; i < c->nprepared; i++)
		if (c->prepared[i] == stmt)
			return 1;
	return 0;
}

static void
conn_mark_prepared(struct db_conn *c, const struct rc_db_stmt *stmt)
{
	if (c->nprepared == c->capprepared) {
		c->capprepared = c->capprepared ? c->capprepared * 2 : 16;
		c->prepared = rc_realloc(c->prepared,
		    (size_t)c->capprepared * sizeof(*c->prepared));
	}
	c->prepared[c->nprepared++] = stmt;
}

/* Sends the next step of c->q: PREPARE when this connection has not seen
 * the statement, EXECUTE otherwise. */
static void
conn_send(struct db_conn *c)
{
	struct db_query *q = c->q;
	const struct rc_db_stmt *s = q->stmt;
	int ok, rv;

	q->preparing = !conn_is_prepared(c, s);
	if (q->preparing)
		ok = PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL);
	else
		ok = PQsendQueryPrepared(c->pg, s->name, s->nparams,
		    (const char *const *)q->values, q->lengths, q->formats,
		    q->result_format);
	if (!ok) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	rv = PQflush(c->pg);
	if (rv < 0)
		conn_lost(c, PQerrorMessage(c->pg));
	else
		conn_set_event(c, rv == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void
conn_start(struct db_conn *c, struct db_query *q)
{
	c->q = q;
	c->state = CONN_BUSY;
	c->pool->busy++;
	c->pool->queries++;
	conn_send(c);
}

/* The statement's results are all in: finish it or go on to EXECUTE. */
static void
conn_step_done(struct db_conn *c)
{
	struct db_query *q = c->q;
	ExecStatusType st = q->res ? PQresultStatus(q->res) : PGRES_FATAL_ERROR;
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (q->preparing && ok) {
		conn_mark_prepared(c, q->stmt);
		PQclear(q->res);
		q->res = NULL;
		conn_send(c);
		return;
	}
	c->q = NULL;
	c->state = CONN_IDLE;
	c->pool->busy--;
	if (ok) {
		PGresult *res = q->res;

		q->res = NULL;
		query_finish_ok(q, &res);
		PQclear(res);
	} else {
		if (q->res == NULL)
			rc_log(RC_LOG_ERROR, "db: %s: no result", q->stmt->name);
		else
			rc_log(RC_LOG_WARN, "db: %s: %s", q->stmt->name,
			    PQresultErrorMessage(q->res));
		query_finish(q, RC_DB_FAILED, q->res, "statement failed");
	}
	if (c->state == CONN_IDLE)
		pool_dispatch(c->pool);
}

static void
conn_read(struct db_conn *c)
{
	PGresult *res;

	if (!PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (c->state != CONN_BUSY) {
		/* Idle: a notice, a notification, or the server going away. */
		if (PQstatus(c->pg) == CONNECTION_BAD)
			conn_lost(c, "server closed the connection");
		return;
	}
	while (!PQisBusy(c->pg)) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			conn_step_done(c);
			return;
		}
		PQclear(c->q->res);
		c->q->res = res;
	}
}

static void
conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;
	int rv;

	(void)fd;
	if (c->state == CONN_CONNECTING) {
		conn_poll_connect(c);
		return;
	}
	if (what & EV_WRITE) {
		if ((rv = PQflush(c->pg)) < 0) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
		if (rv == 0)
			conn_set_event(c, EV_READ);
	}
	if (what & EV_READ)
		conn_read(c);
}

static void
pool_dispatch(struct rc_db_pool *pool)
{
	int i;

	for (i = 0; i < pool->size && pool->head != NULL; i++) {
		struct db_conn *c = &pool->conns[i];
		struct db_query *q;

		if (c->state != CONN_IDLE)
			continue;
		q = pool->head;
		pool->head = q->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->waiting--;
		q->next = NULL;
		conn_start(c, q);
	}
}

/* Fails queued queries and running statements past their deadline. A
 * running one means the server stalls: its connection is dropped (a
 * PQcancel would block the loop). */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc_db_pool *pool = arg;
	uint64_t now = rc_now_usec();
	struct db_query **pp = &pool->head, *q, *expired = NULL;
	int i;

	(void)fd;
	(void)what;
	/* Unlink first, call back after: a callback may queue new queries. */
	pool->tail = NULL;
	while ((q = *pp) != NULL) {
		if (q->deadline <= now) {
			*pp = q->next;
			pool->waiting--;
			q->next = expired;
			expired = q;
			continue;
		}
		pool->tail = q;
		pp = &q->next;
	}
	while ((q = expired) != NULL) {
		expired = q->next;
		query_finish(q, RC_DB_UNAVAILABLE, NULL, "query timed out");
	}
	for (i = 0; i < pool->size; i++) {
		struct db_conn *c = &pool->conns[i];

		if (c->state == CONN_BUSY && c->q->deadline <= now)
			conn_lost(c, "query timed out");
	}
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_dispatch(arg);
}

struct rc_db_pool *
rc_db_pool_new(struct event_base *base, const struct rc_db_pool_config *cfg)
{
	struct rc_db_pool *pool = rc_calloc(1, sizeof(*pool));
	struct timeval tv = { 0, TICK_MS * 1000 };
	int i;

	pool->base = base;
	pool->url = rc_strdup(cfg->url);
	pool->size = cfg->size;
	pool->queue_max = cfg->queue_max;
	pool->timeout_ms = cfg->timeout_ms;
	pool->healthy = 1;
	pool->conns = rc_calloc((size_t)cfg->size, sizeof(*pool->conns));
	for (i = 0; i < pool->size; i++) {
		struct db_conn *c = &pool->conns[i];

		c->pool = pool;
		c->retry = evtimer_new(base, retry_cb, c);
		conn_connect(c);
	}
	pool->tick = event_new(base, -1, EV_PERSIST, tick_cb, pool);
	pool->kick = event_new(base, -1, 0, kick_cb, pool);
	event_add(pool->tick, &tv);
	return pool;
}

void
rc_db_pool_free(struct rc_db_pool *pool)
{
	struct db_query *q;
	int i;

	if (pool == NULL)
		return;
	event_free(pool->tick);
	event_free(pool->kick);
	for (i = 0; i < pool->size; i++) {
		struct db_conn *c = &pool->conns[i];

		if ((q = c->q) != NULL) {
			c->q = NULL;
			query_finish(q, RC_DB_UNAVAILABLE, NULL, "pool closing");
		}
		if (c->ev != NULL)
			event_free(c->ev);
		event_free(c->retry);
		PQfinish(c->pg);
		free(c->prepared);
	}
	while ((q = pool->head) != NULL) {
		pool->head = q->next;
		query_finish(q, RC_DB_UNAVAILABLE, NULL, "pool closing");
	}
	free(pool->conns);
	free(pool->url);
	free(pool);
}

void
rc_db_pool_stats(const struct rc_db_pool *pool, struct rc_db_pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->connections = pool->connected;
	out->waiting = pool->waiting;
	out->errors = pool->errors;
	out->queries = pool->queries;
	out->busy = pool->busy;
}

static struct db_query *
query_new(const struct rc_db_stmt *stmt, const char *const *values,
    const int *lengths, const int *formats)
{
	struct db_query *q = rc_calloc(1, sizeof(*q));
	int i, n = stmt->nparams;

	q->stmt = stmt;
	q->values = rc_calloc((size_t)n, sizeof(char *));
	if (lengths != NULL) {
		q->lengths = rc_malloc((size_t)(n ? n : 1) * sizeof(int));
		q->formats = rc_malloc((size_t)(n ? n : 1) * sizeof(int));
	}
	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		if (lengths != NULL) {
			q->lengths[i] = lengths[i];
			q->formats[i] = formats[i];
			q->values[i] = rc_malloc((size_t)lengths[i] + 1);
			memcpy(q->values[i], values[i], (size_t)lengths[i]);
		} else {
			q->values[i] = rc_strdup(values[i]);
		}
	}
	return q;
}

static rc_status
pool_enqueue(struct rc_db_pool *pool, const struct rc_db_stmt *stmt,
    const char *const *values, const int *lengths, const int *formats,
    int result_format, rc_db_cb cb, void *arg)
{
	struct db_query *q;

	if (pool->connected == 0 && !pool->healthy)
		return RC_ERR;
	if (pool->waiting >= pool->queue_max)
		return RC_ERR;
	q = query_new(stmt, values, lengths, formats);
	q->result_format = result_format;
	q->cb = cb;
	q->arg = arg;
	rc_log_context_save(&q->ctx);
	q->deadline = rc_now_usec() + (uint64_t)pool->timeout_ms * 1000u;
	if (pool->tail != NULL)
		pool->tail->next = q;
	else
		pool->head = q;
	pool->tail = q;
	pool->waiting++;
	/* Dispatch from the loop, so the callback never runs inside this
	 * call. */
	event_active(pool->kick, 0, 0);
	return RC_AGAIN;
}

rc_status
rc_db_query_bin(struct rc_db_pool *pool, const struct rc_db_stmt *stmt,
    const char *const *values, const int *lengths, const int *formats,
    rc_db_cb cb, void *arg)
{
	return pool_enqueue(pool, stmt, values, lengths, formats, 0, cb, arg);
}

rc_status
rc_db_query(struct rc_db_pool *pool, const struct rc_db_stmt *stmt,
    const char *const *values, rc_db_cb cb, void *arg)
{
	return pool_enqueue(pool, stmt, values, NULL, NULL, 0, cb, arg);
}

rc_status
rc_db_query_typed(struct rc_db_pool *pool, const struct rc_db_stmt *stmt,
    const char *const *values, rc_db_cb cb, void *arg)
{
	return pool_enqueue(pool, stmt, values, NULL, NULL, 1, cb, arg);
}

PGconn *
rc_db_connect_blocking(const char *url, char *err, size_t errlen)
{
	const char *keys[] = { "dbname", "connect_timeout", NULL };
	const char *vals[] = { url, "10", NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect to the database: %s",
		    pg ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		return NULL;
	}
	return pg;
}
