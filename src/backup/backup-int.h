/* Internals of the backup module: the ustar reader and writer (each
 * member's SHA-256 computed as it streams), the archive check shared by
 * verify and restore, and the child-process helpers. */
#ifndef ROLLCALL_BACKUP_INT_H
#define ROLLCALL_BACKUP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/util.h"

#define TAR_BLOCK	512
#define TAR_NAME_MAX	100
#define SHA_HEX_LEN	64

#define MEMBER_DUMP		"db.dump"
#define MEMBER_MANIFEST		"manifest.json"
#define MEMBER_MANIFEST_SUM	"manifest.sha256"
#define MEMBER_BLOB_PREFIX	"blobs/"
#define MEMBER_KEY_PREFIX	"keys/"

struct tar_writer {
	FILE		*fp;
	EVP_MD_CTX	*md;
	uint64_t	 left;		/* bytes the current member still owes */
	uint64_t	 size;
	int		 failed;
};

struct tar_reader {
	FILE		*fp;
	EVP_MD_CTX	*md;
	uint64_t	 offset;	/* of the next byte read */
	uint64_t	 left;		/* of the current member's data */
	uint64_t	 pad;
	char		 err[256];
};

struct tar_member {
	char		 name[TAR_NAME_MAX + 1];
	uint64_t	 size;
};

/* Writer: begin, write exactly size bytes, end (which pads and gives the
 * member's SHA-256 in hex), then finish (the two zero blocks). */
void		tar_writer_init(struct tar_writer *w, FILE *fp);
void		tar_writer_cleanup(struct tar_writer *w);
rc_status	tar_begin(struct tar_writer *w, const char *name, uint64_t size,
		    unsigned mode, int64_t mtime);
rc_status	tar_write(struct tar_writer *w, const void *buf, size_t len);
rc_status	tar_end(struct tar_writer *w, char hex[SHA_HEX_LEN + 1]);
rc_status	tar_finish(struct tar_writer *w);
/* Copies the file at path into the archive as one member. */
rc_status	tar_add_file(struct tar_writer *w, const char *name,
		    const char *path, char hex[SHA_HEX_LEN + 1],
		    uint64_t *size);
rc_status	tar_add_buf(struct tar_writer *w, const char *name,
		    const void *buf, size_t len, char hex[SHA_HEX_LEN + 1]);

/* Reader: next gives RC_OK and the member, RC_AGAIN at the end-of-archive
 * blocks, RC_ERR (reason in r->err) for a damaged or truncated archive.
 * Read the data with tar_read (up to len; 0 at the member's end), then
 * tar_done for its SHA-256. */
void		tar_reader_init(struct tar_reader *r, FILE *fp);
void		tar_reader_cleanup(struct tar_reader *r);
rc_status	tar_next(struct tar_reader *r, struct tar_member *m);
rc_status	tar_read(struct tar_reader *r, void *buf, size_t len,
		    size_t *got);
rc_status	tar_done(struct tar_reader *r, char hex[SHA_HEX_LEN + 1]);

/* The result of a full pass over an archive: the manifest, once every
 * member's size and checksum matched it. */
struct archive_check {
	json_t		*manifest;	/* owned */
	size_t		 members, blobs, keys;
	uint64_t	 bytes;
};

/* Reads the whole archive at path and checks it against its manifest;
 * on failure prints why to stderr and returns RC_ERR. */
rc_status	archive_verify(const char *path, struct archive_check *chk);
void		archive_check_cleanup(struct archive_check *chk);
/* The manifest's entry for a member: {"size":..., "sha256":...}. */
json_t	       *manifest_member(json_t *manifest, const char *name);

/* Runs argv (a pg_dump or pg_restore) with the connection of url passed
 * through PG* environment variables, so a password never shows in the
 * process list. Returns the exit status, or -1 when it could not run. */
int		run_pg_tool(const char *url, char *const argv[]);

/* The files of auth.keys_dir that hold keys (as src/auth/keys.c reads
 * them: *.pem, not hidden). */
int		is_key_file_name(const char *name);
void		sha256_hex(const unsigned char md[32], char hex[SHA_HEX_LEN + 1]);
/* fsyncs the folder that holds path, so a rename in it is durable. */
rc_status	fsync_parent(const char *path);

/* Restore's blob writers: add takes ownership of data (checked to hash
 * to key by the worker that stores it); finish waits for them all and
 * frees the pool. RC_ERR once any put failed. */
struct put_pool;
struct rc_store;
struct put_pool	*put_pool_new(struct rc_store *store);
rc_status	 put_pool_add(struct put_pool *p, unsigned char *data,
		    size_t len, const char *key);
rc_status	 put_pool_finish(struct put_pool *p, size_t *stored);

/* The file name `rollcall backup` gives an archive, in UTC; prune reads
 * the time back from it. */
#define RC_BACKUP_NAME_FMT	"rollcall-%Y%m%dT%H%M%SZ.tar"

struct rc_config;

/* The commands behind cli.c's argument parsing; each returns the exit
 * status. */
int		backup_create(const struct rc_config *cfg, const char *out,
		    int no_keys);
int		backup_restore(const struct rc_config *cfg, const char *in,
		    int force);
int		backup_prune(const char *dir, int keep_daily, int keep_monthly,
		    int dry_run);

#endif
