/* What the server tells systemd (Type=notify): READY=1 once every loop
 * thread is about to dispatch on the listening socket (migrations ran
 * before the socket opened), and WATCHDOG=1 from loop 0's timer while
 * every loop's own timer keeps ticking. */
#include <stdatomic.h>

#include <event2/event.h>

#include "rollcall/config.h"
#include "rollcall/notify.h"
#include "http-int.h"

/* Loop 0 pings only when every loop ticked within a watchdog period: one
 * wedged loop (a blocking call, a busy callback) stops the pings and
 * systemd restarts the service after WatchdogSec. */
static int
loops_alive(struct rc_server *s, int64_t now)
{
	int i;

	for (i = 0; i < s->nloops; i++)
		if (now - atomic_load(&s->loops[i].beat_usec) > s->watchdog_usec)
			return 0;
	return 1;
}

static void
beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rc_loop *loop = arg;
	int64_t now = (int64_t)rc_now_usec();

	(void)fd;
	(void)what;
	atomic_store(&loop->beat_usec, now);
	if (loop->index == 0 && !loop->draining && loops_alive(loop->server, now))
		rc_notify_watchdog();
}

static void
notify_ready(struct rc_server *s)
{
	const struct rc_config *cfg = s->cfg;

	rc_notify_status(RC_NOTIFY_READY, "serving on %s:%d, %d loop "
	    "thread(s), %s", cfg->server_host, s->port, s->nloops,
	    cfg->db_migrate_on_start ? "db up, schema current" :
	    "migrations not run (db.migrate_on_start = false)");
}

struct event *
rc_http_loop_running(struct rc_loop *loop)
{
	struct rc_server *s = loop->server;
	/* Half the period, as sd_watchdog_enabled(3) advises. */
	struct timeval tv = { (time_t)(s->watchdog_usec / 2 / 1000000),
	    (suseconds_t)(s->watchdog_usec / 2 % 1000000) };
	struct event *beat = NULL;

	atomic_store(&loop->beat_usec, (int64_t)rc_now_usec());
	if (s->watchdog_usec > 0) {
		beat = event_new(loop->base, -1, EV_PERSIST, beat_cb, loop);
		event_add(beat, &tv);
	}
	if (atomic_fetch_add(&s->loops_running, 1) + 1 == s->nloops) {
		notify_ready(s);
		if (s->watchdog_usec > 0)
			rc_notify_watchdog();
	}
	return beat;
}

void
rc_http_notify_drain(struct rc_server *s)
{
	rc_notify_status(RC_NOTIFY_STOPPING, "draining %d request(s)",
	    s->in_flight);
}
