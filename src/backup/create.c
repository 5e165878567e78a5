/* `rollcall backup`: one archive from one database snapshot. A REPEATABLE
 * READ transaction exports its snapshot, lists the blob keys and counts the
 * rows; pg_dump (a child process) dumps that same snapshot; the blobs are
 * then copied under the shared gc lock (RC_STORE_GC_LOCK_KEY), so rows and
 * blobs agree and `store gc` cannot delete one in between. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/backup.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/store.h"
#include "backup-int.h"


static const char SQL_SNAPSHOT[] = "SELECT pg_export_snapshot()";
static const char SQL_BLOB_KEYS[] =
    "SELECT sha256 FROM pictures UNION "
    "SELECT thumb_sha256 FROM pictures WHERE thumb_sha256 IS NOT NULL "
    "ORDER BY 1";
static const char SQL_MIGRATION[] =
    "SELECT coalesce(max(name), ''), count(*) FROM schema_migrations";
/* Every table's rows, counted in the snapshot (query_to_xml runs the
 * count inside this transaction), so new tables are counted too. */
static const char SQL_COUNTS[] =
    "SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format("
    "'SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true,"
    " '')))[1]::text FROM pg_class c JOIN pg_namespace n ON n.oid ="
    " c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'"
    " ORDER BY 1";

struct backup_run {
	const struct rc_config *cfg;
	int		 no_keys;
	char		*out;		/* final path */
	char		*tmp;		/* archive being written */
	char		*dump;		/* pg_dump's output */
	PGconn		*pg;
	PGresult	*keys;		/* blob keys */
	json_t		*manifest;
	json_t		*members;	/* borrowed from manifest */
	json_t		*missing;
	struct tar_writer w;
	FILE		*fp;
	struct timespec	 t0;
};

static PGresult *
query(PGconn *pg, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != want) {
		fprintf(stderr, "rollcall: backup: %s", PQerrorMessage(pg));
		PQclear(res);
		return NULL;
	}
	return res;
}

static rc_status
exec_cmd(PGconn *pg, const char *sql)
{
	PGresult *res = query(pg, sql, PGRES_COMMAND_OK);

	PQclear(res);
	return res ? RC_OK : RC_ERR;
}

static const char *
utc_stamp(const char *fmt, time_t t, char buf[64])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 64, fmt, &tm);
	return buf;
}

/* --out FILE, --out DIR/ or nothing (backup.dir). */
static char *
out_path(const struct rc_config *cfg, const char *given, time_t now)
{
	struct stat st;
	char name[64];
	const char *dir = cfg->backup_dir;

	utc_stamp(RC_BACKUP_NAME_FMT, now, name);
	if (given != NULL && !(stat(given, &st) == 0 && S_ISDIR(st.st_mode)) &&
	    given[strlen(given) - 1] != '/')
		return rc_strdup(given);
	if (given != NULL)
		dir = given;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fprintf(stderr, "rollcall: backup: %s: %s\n", dir, strerror(errno));
	return rc_asprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" :
	    "/", name);
}

static int
make_temp(char *tmpl)
{
	int fd = mkstemp(tmpl);	/* 0600 */

	if (fd < 0)
		fprintf(stderr, "rollcall: backup: cannot create %s: %s\n", tmpl,
		    strerror(errno));
	return fd;
}

static void
manifest_add(struct backup_run *b, const char *name, uint64_t size,
    const char *sha)
{
	json_object_set_new(b->members, name, json_pack("{s:I, s:s}", "size",
	    (json_int_t)size, "sha256", sha));
}

/* Snapshot, blob keys, migration level and counts; then pg_dump of that
 * snapshot into b->dump. Leaves the transaction open until pg_dump ends. */
static rc_status
dump_snapshot(struct backup_run *b)
{
	PGresult *snap = NULL, *mig = NULL, *counts = NULL;
	json_t *c;
	char *snaparg = NULL;
	int i, st;
	rc_status rc = RC_ERR;

	if (exec_cmd(b->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	    != RC_OK || (snap = query(b->pg, SQL_SNAPSHOT, PGRES_TUPLES_OK))
	    == NULL || (b->keys = query(b->pg, SQL_BLOB_KEYS, PGRES_TUPLES_OK))
	    == NULL || (mig = query(b->pg, SQL_MIGRATION, PGRES_TUPLES_OK))
	    == NULL || (counts = query(b->pg, SQL_COUNTS, PGRES_TUPLES_OK))
	    == NULL)
		goto out;
	json_object_set_new(b->manifest, "schema", json_pack("{s:s, s:i}",
	    "migration", PQgetvalue(mig, 0, 0), "migrations",
	    atoi(PQgetvalue(mig, 0, 1))));
	c = json_object();
	for (i = 0; i < PQntuples(counts); i++)
		json_object_set_new(c, PQgetvalue(counts, i, 0),
		    json_integer(strtoll(PQgetvalue(counts, i, 1), NULL, 10)));
	json_object_set_new(b->manifest, "counts", c);
	snaparg = rc_asprintf("--snapshot=%s", PQgetvalue(snap, 0, 0));
	{
		char *argv[] = { "pg_dump", "--format=custom", "--no-password",
		    snaparg, "--file", b->dump, NULL };

		if ((st = run_pg_tool(b->cfg->db_url, argv)) != 0) {
			fprintf(stderr, "rollcall: backup: pg_dump failed "
			    "(exit %d)\n", st);
			goto out;
		}
	}
	rc = exec_cmd(b->pg, "COMMIT");
out:
	free(snaparg);
	PQclear(counts);
	PQclear(mig);
	PQclear(snap);
	return rc;
}

static int
pem_file(const struct dirent *d)
{
	return is_key_file_name(d->d_name);
}

static rc_status
add_keys(struct backup_run *b)
{
	struct dirent **names = NULL;
	char sha[SHA_HEX_LEN + 1], *path, *member;
	rc_status rc = RC_OK;
	uint64_t size;
	int i, n;

	if ((n = scandir(b->cfg->auth_keys_dir, &names, pem_file, alphasort))
	    < 0 && errno == ENOENT) {
		fprintf(stderr, "rollcall: backup: warning: auth.keys_dir %s "
		    "does not exist: the archive holds no keys\n",
		    b->cfg->auth_keys_dir);
		json_object_set_new(b->manifest, "keys_included", json_false());
		return RC_OK;
	}
	if (n < 0) {
		fprintf(stderr, "rollcall: backup: auth.keys_dir %s: %s\n",
		    b->cfg->auth_keys_dir, strerror(errno));
		return RC_ERR;
	}
	for (i = 0; i < n; i++) {
		path = rc_asprintf("%s/%s", b->cfg->auth_keys_dir,
		    names[i]->d_name);
		member = rc_asprintf(MEMBER_KEY_PREFIX "%s", names[i]->d_name);
		if (rc == RC_OK && (rc = tar_add_file(&b->w, member, path, sha,
		    &size)) == RC_OK)
			manifest_add(b, member, size, sha);
		else if (rc != RC_OK)
			fprintf(stderr, "rollcall: backup: cannot add %s\n", path);
		free(member);
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

static rc_status
add_blobs(struct backup_run *b, struct rc_store *store)
{
	char sha[SHA_HEX_LEN + 1], *member;
	unsigned char *data;
	const char *key;
	size_t len;
	rc_status st;
	int i;

	for (i = 0; i < PQntuples(b->keys); i++) {
		key = PQgetvalue(b->keys, i, 0);
		if ((st = rc_store_get(store, key, &data, &len)) == RC_AGAIN) {
			fprintf(stderr, "rollcall: backup: warning: blob %s is "
			    "named by a picture but not in the store\n", key);
			json_array_append_new(b->missing, json_string(key));
			continue;
		}
		if (st != RC_OK) {
			fprintf(stderr, "rollcall: backup: cannot read blob %s\n",
			    key);
			return RC_ERR;
		}
		member = rc_asprintf(MEMBER_BLOB_PREFIX "%s", key);
		st = tar_add_buf(&b->w, member, data, len, sha);
		if (st == RC_OK)
			manifest_add(b, member, len, sha);
		free(member);
		free(data);
		if (st != RC_OK)
			return RC_ERR;
	}
	return RC_OK;
}

static rc_status
add_manifest(struct backup_run *b)
{
	struct timespec t1;
	char stamp[64];
	char sha[SHA_HEX_LEN + 1], sum[SHA_HEX_LEN + 2], *text;
	rc_status rc;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_object_set_new(b->manifest, "finished_at",
	    json_string(utc_stamp("%Y-%m-%dT%H:%M:%SZ", time(NULL), stamp)));
	json_object_set_new(b->manifest, "duration_ms", json_integer(
	    (t1.tv_sec - b->t0.tv_sec) * 1000 +
	    (t1.tv_nsec - b->t0.tv_nsec) / 1000000));
	json_object_set(b->manifest, "missing_blobs", b->missing);
	text = json_dumps(b->manifest, JSON_INDENT(1) | JSON_SORT_KEYS);
	rc = tar_add_buf(&b->w, MEMBER_MANIFEST, text, strlen(text), sha);
	free(text);
	snprintf(sum, sizeof(sum), "%s\n", sha);
	if (rc == RC_OK)
		rc = tar_add_buf(&b->w, MEMBER_MANIFEST_SUM, sum, strlen(sum), sha);
	return rc;
}

/* Writes the archive members after the dump, then makes the file
 * durable under its real name. */
static rc_status
write_archive(struct backup_run *b, struct rc_store *store)
{
	char sha[SHA_HEX_LEN + 1];
	uint64_t size;

	if (tar_add_file(&b->w, MEMBER_DUMP, b->dump, sha, &size) != RC_OK)
		return RC_ERR;
	manifest_add(b, MEMBER_DUMP, size, sha);
	if ((!b->no_keys && add_keys(b) != RC_OK) ||
	    add_blobs(b, store) != RC_OK || add_manifest(b) != RC_OK ||
	    tar_finish(&b->w) != RC_OK || fsync(fileno(b->fp)) != 0) {
		fprintf(stderr, "rollcall: backup: cannot write %s: %s\n", b->tmp,
		    strerror(errno));
		return RC_ERR;
	}
	if (fclose(b->fp) != 0) {
		b->fp = NULL;
		return RC_ERR;
	}
	b->fp = NULL;
	if (rename(b->tmp, b->out) != 0) {
		fprintf(stderr, "rollcall: backup: %s: %s\n", b->out,
		    strerror(errno));
		return RC_ERR;
	}
	free(b->tmp);
	b->tmp = NULL;
	return fsync_parent(b->out);
}

static rc_status
open_files(struct backup_run *b)
{
	const char *slash = strrchr(b->out, '/');
	int fd, fd2;

	b->tmp = slash ? rc_asprintf("%.*s/.%s.tmp-XXXXXX",
	    (int)(slash - b->out), b->out, slash + 1) :
	    rc_asprintf(".%s.tmp-XXXXXX", b->out);
	if ((fd = make_temp(b->tmp)) < 0) {
		free(b->tmp);
		b->tmp = NULL;
		return RC_ERR;
	}
	/* pg_dump rewrites this file and keeps its 0600. */
	b->dump = rc_asprintf("%s.dump", b->tmp);
	if ((fd2 = open(b->dump, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		fprintf(stderr, "rollcall: backup: cannot create %s: %s\n",
		    b->dump, strerror(errno));
		free(b->dump);
		b->dump = NULL;
		close(fd);
		return RC_ERR;
	}
	close(fd2);
	if ((b->fp = fdopen(fd, "wb")) == NULL) {
		close(fd);
		return RC_ERR;
	}
	tar_writer_init(&b->w, b->fp);
	return RC_OK;
}

static rc_status
backup_run(struct backup_run *b)
{
	struct rc_store *store = NULL;
	PGresult *lock;
	char err[512];
	rc_status rc = RC_ERR;

	if ((store = rc_store_open(b->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: backup: %s\n", err);
		return RC_ERR;
	}
	if ((b->pg = rc_db_connect_blocking(b->cfg->db_url, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: backup: %s", err);
		goto out;
	}
	/* Waits for a running `store gc` to finish; holds off the next one
	 * until every blob is copied (the lock ends with the connection). */
	if ((lock = query(b->pg, "SELECT pg_advisory_lock_shared("
	    RC_STORE_GC_LOCK_KEY ")", PGRES_TUPLES_OK)) == NULL)
		goto out;
	PQclear(lock);
	if (open_files(b) != RC_OK || dump_snapshot(b) != RC_OK)
		goto out;
	rc = write_archive(b, store);
out:
	rc_store_close(store);
	return rc;
}

static void
backup_cleanup(struct backup_run *b)
{
	if (b->fp != NULL)
		fclose(b->fp);
	if (b->tmp != NULL)
		unlink(b->tmp);
	if (b->dump != NULL)
		unlink(b->dump);
	tar_writer_cleanup(&b->w);
	PQclear(b->keys);
	PQfinish(b->pg);
	json_decref(b->manifest);
	json_decref(b->missing);
	free(b->out);
	free(b->tmp);
	free(b->dump);
}

int
backup_create(const struct rc_config *cfg, const char *out, int no_keys)
{
	struct backup_run b;
	time_t now = time(NULL);
	char stamp[64];
	size_t blobs;
	int rv;

	memset(&b, 0, sizeof(b));
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	b.cfg = cfg;
	b.no_keys = no_keys;
	b.out = out_path(cfg, out, now);
	b.members = json_object();
	b.missing = json_array();
	b.manifest = json_pack("{s:s, s:s, s:s, s:b, s:o}", "format",
	    RC_BACKUP_FORMAT, "rollcall_version", RC_VERSION, "created_at",
	    utc_stamp("%Y-%m-%dT%H:%M:%SZ", now, stamp), "keys_included", !no_keys,
	    "members", b.members);
	rv = backup_run(&b) == RC_OK ? 0 : 1;
	blobs = b.keys ? (size_t)PQntuples(b.keys) - json_array_size(b.missing)
	    : 0;
	if (rv == 0)
		printf("backup: wrote %s (%zu blobs, %zu missing, keys %s)\n",
		    b.out, blobs, json_array_size(b.missing), no_keys ?
		    "left out" : "included");
	backup_cleanup(&b);
	return rv;
}
