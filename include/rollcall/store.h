/* The blob store (replaces S3): immutable blobs named by the SHA-256 of
 * their bytes. The default backend keeps them on the local file system,
 * sharded as DIR/ab/cd/abcd...; a new one (an S3-compatible object store)
 * implements struct rc_store_ops and nothing that calls rc_store_* changes.
 *
 * Blocking: every call does file (or network) I/O. Call them on the CPU
 * pool or a worker thread, never on an event-loop thread. A store may be
 * used by several threads at once. */
#ifndef ROLLCALL_STORE_H
#define ROLLCALL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "rollcall/util.h"

struct rc_config;
struct rc_store;

#define RC_STORE_KEY_LEN	64	/* lower-case hex SHA-256 */
/* PostgreSQL advisory lock: `store gc` holds it exclusively while it
 * deletes, `rollcall backup` shared while it copies blobs, so gc never
 * deletes a blob a running backup's snapshot still names. */
#define RC_STORE_GC_LOCK_KEY	"727278"

/* One backend. put must be atomic: a reader (or a crash) never sees a
 * partial blob under its real name. put of bytes already stored writes
 * nothing but makes the blob young again (its age restarts), so that
 * `store gc` does not collect bytes a new row is about to name. */
struct rc_store_ops {
	rc_status (*put)(struct rc_store *s, const char *key, const void *data,
	    size_t len);
	/* RC_AGAIN when there is no such blob. */
	rc_status (*get)(struct rc_store *s, const char *key,
	    unsigned char **data, size_t *len);
	int	  (*exists)(struct rc_store *s, const char *key);
	/* RC_OK also when it was not there. */
	rc_status (*del)(struct rc_store *s, const char *key);
	/* Calls fn for every blob, with its age in seconds; stops early when
	 * fn returns non-zero. */
	rc_status (*each)(struct rc_store *s,
	    int (*fn)(const char *key, int64_t age_sec, void *arg), void *arg);
	void	  (*close)(struct rc_store *s);
};

/* The local file system backend rooted at dir (created 0700 if missing). */
struct rc_store	*rc_store_open_fs(const char *dir, char *err, size_t errlen);
/* The backend the configuration names (today: store.dir on the file
 * system). */
struct rc_store	*rc_store_open(const struct rc_config *cfg, char *err,
		    size_t errlen);
void		 rc_store_close(struct rc_store *s);

/* True when key is 64 lower-case hex digits. */
int		 rc_store_key_valid(const char *key);
/* Writes the SHA-256 of data as the key (65 bytes with the NUL). */
void		 rc_store_key_of(const void *data, size_t len,
		    char key[RC_STORE_KEY_LEN + 1]);

/* Stores data under its SHA-256, written into key. Storing bytes that are
 * there already writes nothing (but restarts their age). */
rc_status	 rc_store_put(struct rc_store *s, const void *data, size_t len,
		    char key[RC_STORE_KEY_LEN + 1]);
/* A new buffer the caller frees; RC_AGAIN when there is no such blob,
 * RC_ERR for an invalid key or an I/O error (*data is then NULL). */
rc_status	 rc_store_get(struct rc_store *s, const char *key,
		    unsigned char **data, size_t *len);
int		 rc_store_exists(struct rc_store *s, const char *key);
/* Milliseconds since the blob was last stored (a put of bytes already
 * there counts); RC_AGAIN when there is none, RC_ERR for a backend that
 * cannot tell. */
rc_status	 rc_store_age_ms(struct rc_store *s, const char *key,
		    int64_t *age_ms);
rc_status	 rc_store_delete(struct rc_store *s, const char *key);
rc_status	 rc_store_each(struct rc_store *s,
		    int (*fn)(const char *key, int64_t age_sec, void *arg),
		    void *arg);

/* `rollcall store gc [--dry-run] [--grace SECONDS]`: deletes the blobs no
 * pictures row names (sha256 or thumb_sha256) and that are older than the
 * grace period (default 3600 s, so an upload between its blob write and
 * its row insert is not collected). Blocking (libpq). Exit 0 done, 1
 * failed, 2 bad usage. */
int		 rc_cli_store(const struct rc_config *cfg, int argc, char **argv);

#endif
