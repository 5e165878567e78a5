/* The CPU pool: worker threads for work that takes milliseconds (password
 * hashing, image decoding, face matching), so loop threads never block. */
#ifndef ROLLCALL_CPU_H
#define ROLLCALL_CPU_H

#include "rollcall/util.h"

struct rc_loop;

/* Starts n workers (0: one per core). Call once before serving. */
rc_status rc_cpu_start(int n);
/* Finishes queued work, then joins the workers. */
void	rc_cpu_stop(void);

/* Runs work(arg) on a worker, then done(arg) on loop's thread. With a NULL
 * loop, done runs on the worker right after work (for CLI use). */
void	rc_cpu_submit(struct rc_loop *loop, void (*work)(void *arg),
	    void (*done)(void *arg), void *arg);
/* Jobs queued and not yet started. */
int	rc_cpu_backlog(void);

#endif
