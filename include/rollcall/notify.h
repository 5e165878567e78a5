/* Telling systemd how the service is doing (sd_notify(3)): READY=1,
 * STATUS=, STOPPING=1, WATCHDOG=1. Every call is a no-op when the process
 * was not started with $NOTIFY_SOCKET (not under systemd, or Type=simple). */
#ifndef ROLLCALL_NOTIFY_H
#define ROLLCALL_NOTIFY_H

#include <stdint.h>

#include "rollcall/util.h"

#define RC_NOTIFY_READY		"READY=1"	/* up and serving */
#define RC_NOTIFY_STOPPING	"STOPPING=1"	/* shutting down */

/* A STATUS= line (what `systemctl status` shows), after state when state
 * is not NULL (RC_NOTIFY_READY, RC_NOTIFY_STOPPING). */
void		rc_notify_status(const char *state, const char *fmt, ...)
		    RC_PRINTF(2, 3);
/* One watchdog keep-alive (WATCHDOG=1). */
void		rc_notify_watchdog(void);
/* The watchdog period systemd asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours), in microseconds; 0 when none. */
uint64_t	rc_notify_watchdog_usec(void);

#endif
