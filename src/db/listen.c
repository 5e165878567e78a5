/* A LISTEN thread: its own blocking connection (never a loop's), one
 * channel, a callback per notification and one when the connection comes
 * up or goes down, so that a cache kept true by NOTIFY can stop trusting
 * itself while it might be missing some. Reconnects with backoff, and
 * pings an idle connection so that one that died silently is noticed. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rollcall/db.h"
#include "rollcall/log.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	2000
/* An idle connection is pinged this often, and given this long to
 * answer: a half-open TCP link is found within ~0.8 s. */
#define PING_IDLE_MS	300
#define PING_WAIT_MS	500

struct rc_db_listener {
	char			*url;
	char			*channel;
	rc_db_notify_cb		 on_notify;
	rc_db_listen_state_cb	 on_state;
	void			*arg;
	pthread_t		 thread;
	int			 stop_pipe[2];
};

/* Sleeps ms unless asked to stop; true when asked. */
static int
wait_or_stop(struct rc_db_listener *l, int ms)
{
	struct pollfd pfd = { l->stop_pipe[0], POLLIN, 0 };

	return poll(&pfd, 1, ms) > 0;
}

static PGconn *
listen_connect(struct rc_db_listener *l)
{
	char err[256], *sql, *ident;
	PGconn *pg = rc_db_connect_blocking(l->url, err, sizeof(err));
	PGresult *res;

	if (pg == NULL) {
		rc_log(RC_LOG_WARN, "db: LISTEN %s: %s", l->channel, err);
		return NULL;
	}
	if ((ident = PQescapeIdentifier(pg, l->channel,
	    strlen(l->channel))) == NULL) {
		PQfinish(pg);
		return NULL;
	}
	/* Named, so that an operator (or a test) can tell it apart in
	 * pg_stat_activity: after a ping its query column says SELECT 1. */
	sql = rc_asprintf("SET application_name = 'rollcall listen %s';"
	    " LISTEN %s", l->channel, ident);
	PQfreemem(ident);
	res = PQexec(pg, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc_log(RC_LOG_WARN, "db: LISTEN %s failed: %s", l->channel,
		    PQerrorMessage(pg));
		PQclear(res);
		PQfinish(pg);
		return NULL;
	}
	PQclear(res);
	return pg;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what arrived: notifications, and the answer to a ping (clears
 * *ping_at). RC_ERR when the connection broke. */
static rc_status
listen_read(struct rc_db_listener *l, PGconn *pg, int64_t *ping_at)
{
	PGnotify *n;
	PGresult *res;

	if (PQconsumeInput(pg) == 0)
		return RC_ERR;
	while ((n = PQnotifies(pg)) != NULL) {
		l->on_notify(n->extra, l->arg);
		PQfreemem(n);
	}
	while (*ping_at != 0 && !PQisBusy(pg)) {
		if ((res = PQgetResult(pg)) == NULL) {
			*ping_at = 0;
			break;
		}
		PQclear(res);
	}
	return RC_OK;
}

/* Serves one connection until it breaks or stops answering (0), or stop
 * is asked (1). */
static int
listen_serve(struct rc_db_listener *l, PGconn *pg)
{
	struct pollfd pfd[2] = {
		{ PQsocket(pg), POLLIN, 0 },
		{ l->stop_pipe[0], POLLIN, 0 },
	};
	int64_t ping_at = 0;
	int n;

	for (;;) {
		n = poll(pfd, 2, ping_at != 0 ? PING_WAIT_MS : PING_IDLE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if (pfd[1].revents != 0)
			return 1;
		if (n > 0 && listen_read(l, pg, &ping_at) != RC_OK) {
			rc_log(RC_LOG_WARN, "db: LISTEN %s: connection lost: %s",
			    l->channel, PQerrorMessage(pg));
			return 0;
		}
		if (ping_at != 0 && now_ms() - ping_at >= PING_WAIT_MS) {
			rc_log(RC_LOG_WARN, "db: LISTEN %s: the connection does "
			    "not answer", l->channel);
			return 0;
		}
		if (n == 0 && ping_at == 0) {
			if (PQsendQuery(pg, "SELECT 1") != 1)
				return 0;
			ping_at = now_ms();
		}
	}
}

static void *
listener_main(void *arg)
{
	struct rc_db_listener *l = arg;
	int backoff = BACKOFF_MIN_MS, stop = 0;
	PGconn *pg;

	while (!stop) {
		if ((pg = listen_connect(l)) == NULL) {
			stop = wait_or_stop(l, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ?
			    BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = BACKOFF_MIN_MS;
		l->on_state(1, l->arg);
		stop = listen_serve(l, pg);
		l->on_state(0, l->arg);
		PQfinish(pg);
		if (!stop)
			stop = wait_or_stop(l, BACKOFF_MIN_MS);
	}
	return NULL;
}

struct rc_db_listener *
rc_db_listener_start(const char *url, const char *channel,
    rc_db_notify_cb on_notify, rc_db_listen_state_cb on_state, void *arg)
{
	struct rc_db_listener *l;

	/* A plain name: it goes into the application_name literal too. */
	if (channel[0] == '\0' || strspn(channel,
	    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(channel))
		return NULL;
	l = rc_calloc(1, sizeof(*l));
	if (pipe(l->stop_pipe) != 0) {
		free(l);
		return NULL;
	}
	l->url = rc_strdup(url);
	l->channel = rc_strdup(channel);
	l->on_notify = on_notify;
	l->on_state = on_state;
	l->arg = arg;
	if (pthread_create(&l->thread, NULL, listener_main, l) != 0) {
		close(l->stop_pipe[0]);
		close(l->stop_pipe[1]);
		free(l->channel);
		free(l->url);
		free(l);
		return NULL;
	}
	return l;
}

void
rc_db_listener_stop(struct rc_db_listener *l)
{
	if (l == NULL)
		return;
	if (write(l->stop_pipe[1], "x", 1) != 1)
		rc_log(RC_LOG_ERROR, "db: cannot stop the LISTEN %s thread",
		    l->channel);
	pthread_join(l->thread, NULL);
	close(l->stop_pipe[0]);
	close(l->stop_pipe[1]);
	free(l->channel);
	free(l->url);
	free(l);
}
