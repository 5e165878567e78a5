/* sd_notify(3) from Debian's libsystemd. Each call sends one datagram to
 * $NOTIFY_SOCKET: a local send that returns at once while systemd reads its
 * socket, cheap enough for a loop thread's watchdog timer. */
#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "rollcall/log.h"
#include "rollcall/notify.h"

void
rc_notify_status(const char *state, const char *fmt, ...)
{
	char status[256], msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s%sSTATUS=%s", state ? state : "",
	    state ? "\n" : "", status);
	/* A failed send (systemd gone) leaves nothing to do. */
	if (sd_notify(0, msg) < 0)
		rc_log(RC_LOG_DEBUG, "sd_notify %s failed", state ? state : "STATUS");
}

void
rc_notify_watchdog(void)
{
	(void)sd_notify(0, "WATCHDOG=1");
}

uint64_t
rc_notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	/* 0: leave the variables in the environment; sd_watchdog_enabled
	 * checks $WATCHDOG_PID against our pid. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}
