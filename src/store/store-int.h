/* Internals of the blob store shared by its own files (store.c, cli.c):
 * the handle every backend starts with, and the file-system-only chores
 * of `rollcall store gc`. */
#ifndef ROLLCALL_STORE_INT_H
#define ROLLCALL_STORE_INT_H

#include <stdint.h>

#include "rollcall/store.h"

/* A backend's handle: ops first, then what the backend needs. */
struct rc_store {
	const struct rc_store_ops	*ops;
	char				*dir;	/* file system: the root */
};

/* Size in bytes and age in seconds of one blob. RC_AGAIN when it is not
 * there; RC_ERR for a backend that cannot tell. Blocking. */
rc_status	rc_store_blob_stat(struct rc_store *s, const char *key,
		    int64_t *bytes, int64_t *age_sec);

/* Calls fn for every file in DIR/tmp (put's half-written files, left by a
 * crash) with its name and age; nothing for other backends. Blocking. */
rc_status	rc_store_each_tmp(struct rc_store *s,
		    int (*fn)(const char *name, int64_t age_sec, void *arg),
		    void *arg);
/* Removes DIR/tmp/name (a plain name, no '/'). Blocking. */
rc_status	rc_store_delete_tmp(struct rc_store *s, const char *name);

#endif
