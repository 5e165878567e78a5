/* `rollcall restore --in FILE [--force]`: the whole archive is verified
 * first; then the targets are checked empty; then a second pass restores
 * the dump (pg_restore in one transaction), the blobs and the keys, each
 * member's checksum checked again before it is used, in case the file
 * changed between the passes. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/backup.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/store.h"
#include "backup-int.h"


#define BLOB_MAX	(1ULL << 31)

static const char SQL_USER_RELATIONS[] =
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid ="
    " c.relnamespace WHERE n.nspname NOT IN ('pg_catalog',"
    " 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
    " AND n.nspname NOT LIKE 'pg\\_temp%'";

struct restore_run {
	const struct rc_config *cfg;
	const char	*in;
	int		 force;
	json_t		*manifest;	/* borrowed from the check */
	PGconn		*pg;
	struct rc_store	*store;
	struct put_pool	*puts;
	size_t		 blobs, keys;
};

static int
first_blob_cb(const char *key, int64_t age_sec, void *arg)
{
	(void)key;
	(void)age_sec;
	*(int *)arg = 1;
	return 1;
}

static int
keys_dir_has_pem(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	int found = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while (!found && (d = readdir(dp)) != NULL)
		found = is_key_file_name(d->d_name);
	closedir(dp);
	return found;
}

/* The database, the store and the keys dir: empty, or --force. */
static rc_status
check_targets(struct restore_run *r)
{
	PGresult *res;
	int db_used, blobs = 0, keys;

	res = PQexecParams(r->pg, SQL_USER_RELATIONS, 0, NULL, NULL, NULL, NULL,
	    0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: restore: %s", PQerrorMessage(r->pg));
		PQclear(res);
		return RC_ERR;
	}
	db_used = atoi(PQgetvalue(res, 0, 0)) > 0;
	PQclear(res);
	if (rc_store_each(r->store, first_blob_cb, &blobs) != RC_OK) {
		fprintf(stderr, "rollcall: restore: cannot list store.dir %s\n",
		    r->cfg->store_dir);
		return RC_ERR;
	}
	/* Keys only clash when the archive brings some. */
	keys = keys_dir_has_pem(r->cfg->auth_keys_dir) && json_is_true(
	    json_object_get(r->manifest, "keys_included"));
	if (!r->force && (db_used || blobs || keys)) {
		fprintf(stderr, "rollcall: restore: refusing to restore into a "
		    "non-empty target (--force restores over it); nothing was "
		    "written:%s%s%s\n",
		    db_used ? " the database has tables." : "",
		    blobs ? " store.dir holds blobs." : "",
		    keys ? " auth.keys_dir holds keys." : "");
		return RC_ERR;
	}
	return RC_OK;
}

/* Copies the member into a new 0600 file; fails unless its checksum is
 * still the manifest's. */
static rc_status
extract_checked(struct tar_reader *tr, const struct tar_member *m,
    json_t *entry, int fd)
{
	unsigned char buf[65536];
	char sha[SHA_HEX_LEN + 1];
	size_t got;

	do {
		if (tar_read(tr, buf, sizeof(buf), &got) != RC_OK)
			return RC_ERR;
		if (got > 0 && write(fd, buf, got) != (ssize_t)got)
			return RC_ERR;
	} while (got > 0);
	if (tar_done(tr, sha) != RC_OK || fsync(fd) != 0)
		return RC_ERR;
	if (strcmp(sha, json_string_value(json_object_get(entry, "sha256")))) {
		fprintf(stderr, "rollcall: restore: %s changed since it was "
		    "verified\n", m->name);
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
restore_dump(struct restore_run *r, struct tar_reader *tr,
    const struct tar_member *m, json_t *entry)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path, *dbarg;
	rc_status rc = RC_ERR;
	int fd, st;

	path = rc_asprintf("%s/rollcall-restore-XXXXXX", tmpdir && *tmpdir ?
	    tmpdir : "/tmp");
	if ((fd = mkstemp(path)) < 0) {
		fprintf(stderr, "rollcall: restore: %s: %s\n", path,
		    strerror(errno));
		free(path);
		return RC_ERR;
	}
	dbarg = rc_asprintf("--dbname=%s", PQdb(r->pg));
	if (extract_checked(tr, m, entry, fd) == RC_OK) {
		/* --no-owner: the roles of the old machine need not exist;
		 * --force drops what the dump creates before creating it. */
		char *argv[] = { "pg_restore", "--no-password", "--exit-on-error",
		    "--single-transaction", "--no-owner", "--no-privileges",
		    dbarg, path, NULL, NULL, NULL };

		if (r->force) {
			argv[8] = "--clean";
			argv[9] = "--if-exists";
		}

		if ((st = run_pg_tool(r->cfg->db_url, argv)) == 0)
			rc = RC_OK;
		else
			fprintf(stderr, "rollcall: restore: pg_restore failed "
			    "(exit %d); the database is unchanged\n", st);
	}
	close(fd);
	unlink(path);
	free(path);
	free(dbarg);
	return rc;
}

static rc_status
restore_blob(struct restore_run *r, struct tar_reader *tr,
    const struct tar_member *m)
{
	const char *key = m->name + strlen(MEMBER_BLOB_PREFIX);
	char sha[SHA_HEX_LEN + 1];
	unsigned char *data;
	size_t got;

	if (m->size > BLOB_MAX)
		return RC_ERR;
	data = rc_malloc((size_t)m->size + 1);
	if (tar_read(tr, data, (size_t)m->size, &got) != RC_OK ||
	    tar_done(tr, sha) != RC_OK || strcmp(sha, key) != 0) {
		fprintf(stderr, "rollcall: restore: %s changed since it was "
		    "verified\n", m->name);
		free(data);
		return RC_ERR;
	}
	return put_pool_add(r->puts, data, got, key);
}

/* keys/NAME → auth.keys_dir/NAME, 0600 in a 0700 dir, via temp + rename. */
static rc_status
restore_key(struct restore_run *r, struct tar_reader *tr,
    const struct tar_member *m, json_t *entry)
{
	const char *dir = r->cfg->auth_keys_dir;
	const char *name = m->name + strlen(MEMBER_KEY_PREFIX);
	char *tmp, *path;
	rc_status rc = RC_ERR;
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rollcall: restore: %s: %s\n", dir,
		    strerror(errno));
		return RC_ERR;
	}
	tmp = rc_asprintf("%s/.restore-XXXXXX", dir);
	path = rc_asprintf("%s/%s", dir, name);
	if ((fd = mkstemp(tmp)) >= 0) {
		if (extract_checked(tr, m, entry, fd) == RC_OK &&
		    rename(tmp, path) == 0 && fsync_parent(path) == RC_OK) {
			r->keys++;
			rc = RC_OK;
		}
		close(fd);
		if (rc != RC_OK)
			unlink(tmp);
	}
	if (rc != RC_OK)
		fprintf(stderr, "rollcall: restore: cannot write %s\n", path);
	free(tmp);
	free(path);
	return rc;
}

static rc_status
restore_member(struct restore_run *r, struct tar_reader *tr,
    const struct tar_member *m)
{
	json_t *entry = manifest_member(r->manifest, m->name);
	char sha[SHA_HEX_LEN + 1];

	if (strcmp(m->name, MEMBER_DUMP) == 0)
		return restore_dump(r, tr, m, entry);
	if (strncmp(m->name, MEMBER_BLOB_PREFIX, strlen(MEMBER_BLOB_PREFIX)) == 0)
		return restore_blob(r, tr, m);
	if (strncmp(m->name, MEMBER_KEY_PREFIX, strlen(MEMBER_KEY_PREFIX)) == 0)
		return restore_key(r, tr, m, entry);
	return tar_done(tr, sha);	/* the manifest */
}

static rc_status
restore_pass(struct restore_run *r)
{
	struct tar_reader tr;
	struct tar_member m;
	rc_status rc;
	FILE *fp;

	if ((fp = fopen(r->in, "rb")) == NULL) {
		fprintf(stderr, "rollcall: restore: %s: %s\n", r->in,
		    strerror(errno));
		return RC_ERR;
	}
	tar_reader_init(&tr, fp);
	r->puts = put_pool_new(r->store);
	while ((rc = tar_next(&tr, &m)) == RC_OK)
		if ((rc = restore_member(r, &tr, &m)) != RC_OK)
			break;
	if (put_pool_finish(r->puts, &r->blobs) != RC_OK && rc != RC_ERR)
		rc = RC_ERR;
	if (rc == RC_ERR && tr.err[0] != '\0')
		fprintf(stderr, "rollcall: restore: %s: %s\n", r->in, tr.err);
	tar_reader_cleanup(&tr);
	fclose(fp);
	return rc == RC_AGAIN ? RC_OK : RC_ERR;
}

int
backup_restore(const struct rc_config *cfg, const char *in, int force)
{
	struct archive_check chk;
	struct restore_run r;
	char err[512];
	int rv = 1;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.in = in;
	r.force = force;
	if (archive_verify(in, &chk) != RC_OK) {
		fprintf(stderr, "rollcall: restore: nothing was written\n");
		return 1;
	}
	r.manifest = chk.manifest;
	if ((r.pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err)))
	    == NULL) {
		fprintf(stderr, "rollcall: restore: %s", err);
		goto out;
	}
	if ((r.store = rc_store_open(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: restore: %s\n", err);
		goto out;
	}
	if (check_targets(&r) != RC_OK)
		goto out;
	if (restore_pass(&r) != RC_OK) {
		fprintf(stderr, "rollcall: restore: failed part way (see above); "
		    "once the cause is fixed, run it again with --force\n");
		goto out;
	}
	printf("restore: %s restored into database %s (%zu blobs, %zu keys; "
	    "schema %s)\n", in, PQdb(r.pg), r.blobs, r.keys,
	    json_string_value(json_object_get(json_object_get(chk.manifest,
	    "schema"), "migration")));
	rv = 0;
out:
	rc_store_close(r.store);
	PQfinish(r.pg);
	archive_check_cleanup(&chk);
	return rv;
}
