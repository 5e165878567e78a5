/* `rollcall store gc`: deletes the blobs no pictures row names any more,
 * and the temp files a crash left behind. Blocking libpq (CLI only). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/store.h"
#include "store-int.h"

#define GC_DEFAULT_GRACE	3600
#define GC_MAX_GRACE		(100LL * 365 * 86400)

static const char SQL_LIVE_KEYS[] =
    "SELECT sha256 FROM pictures UNION SELECT thumb_sha256 FROM pictures";
static const char SQL_GC_LOCK[] =
    "SELECT pg_try_advisory_lock(" RC_STORE_GC_LOCK_KEY ")";

typedef char blob_key[RC_STORE_KEY_LEN + 1];

struct gc_run {
	struct rc_store	*store;
	int64_t		 grace;
	int		 dry_run;
	blob_key	*live;		/* sorted */
	size_t		 nlive;
	blob_key	*doomed;	/* unnamed and old enough */
	size_t		 ndoomed, cap;
	size_t		 kept, deleted, tmp_deleted;
	int64_t		 bytes;
	int		 failed;
};

static int
usage(void)
{
	fprintf(stderr, "usage: rollcall store gc [--dry-run] "
	    "[--grace SECONDS]\n");
	return 2;
}

static int
parse_gc_args(int argc, char **argv, struct gc_run *run)
{
	char *end;
	long long n;
	int i;

	run->grace = GC_DEFAULT_GRACE;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0) {
			run->dry_run = 1;
		} else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc) {
			errno = 0;
			n = strtoll(argv[++i], &end, 10);
			if (*argv[i] == '\0' || *end != '\0' || errno != 0 ||
			    n < 0 || n > GC_MAX_GRACE) {
				fprintf(stderr, "rollcall: store gc: --grace is a "
				    "number of seconds, 0 or more\n");
				return -1;
			}
			run->grace = n;
		} else {
			return -1;
		}
	}
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A running `rollcall backup` holds the lock shared from before its
 * snapshot until its last blob is copied; a blob its snapshot names may
 * have lost its row since (and be old), so the grace alone cannot protect
 * it. gc refuses to run rather than wait: a backup can take a while, and
 * the next gc will do the work. The lock ends with the connection. */
static int
lock_out_backups(PGconn *pg)
{
	PGresult *res = PQexecParams(pg, SQL_GC_LOCK, 0, NULL, NULL, NULL,
	    NULL, 0);
	int got;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: store gc: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got)
		fprintf(stderr, "rollcall: store gc: a backup (or another gc, "
		    "or the jobs worker deleting blobs) is running; nothing "
		    "deleted, try again when it is done\n");
	return got ? 0 : -1;
}

/* Loads every key a pictures row names, sorted for bsearch. */
static int
load_live_keys(PGconn *pg, struct gc_run *run)
{
	PGresult *res;
	int i, n;

	res = PQexecParams(pg, SQL_LIVE_KEYS, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: store gc: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	run->live = rc_calloc((size_t)n + 1, sizeof(*run->live));
	for (i = 0; i < n; i++)
		snprintf(run->live[run->nlive++], sizeof(blob_key), "%s",
		    PQgetvalue(res, i, 0));
	PQclear(res);
	qsort(run->live, run->nlive, sizeof(*run->live), key_cmp);
	return 0;
}

/* Only collects: deleting while the shard folders are being read could
 * make readdir skip entries. */
static int
collect_cb(const char *key, int64_t age_sec, void *arg)
{
	struct gc_run *run = arg;

	if (bsearch(key, run->live, run->nlive, sizeof(*run->live),
	    key_cmp) != NULL || age_sec < run->grace) {
		run->kept++;
		return 0;
	}
	if (run->ndoomed == run->cap) {
		run->cap = run->cap ? 2 * run->cap : 256;
		run->doomed = rc_realloc(run->doomed,
		    run->cap * sizeof(*run->doomed));
	}
	memcpy(run->doomed[run->ndoomed++], key, sizeof(blob_key));
	return 0;
}

/* The age is read again just before the unlink: an upload of the same
 * bytes since the walk refreshed it, and its row may be on the way. */
static void
delete_doomed(struct gc_run *run)
{
	int64_t bytes, age;
	rc_status st;
	size_t i;

	for (i = 0; i < run->ndoomed; i++) {
		st = rc_store_blob_stat(run->store, run->doomed[i], &bytes, &age);
		if (st == RC_AGAIN)
			continue;	/* someone else deleted it */
		if (st != RC_OK || age < run->grace) {
			run->kept++;
			continue;
		}
		if (run->dry_run) {
			printf("would delete %s (%" PRId64 " bytes, %" PRId64
			    " s old)\n", run->doomed[i], bytes, age);
		} else if (rc_store_delete(run->store, run->doomed[i]) != RC_OK) {
			fprintf(stderr, "rollcall: store gc: cannot delete %s\n",
			    run->doomed[i]);
			run->failed = 1;
			continue;
		}
		run->deleted++;
		run->bytes += bytes;
	}
}

static int
tmp_cb(const char *name, int64_t age_sec, void *arg)
{
	struct gc_run *run = arg;

	if (age_sec < run->grace)
		return 0;
	if (run->dry_run) {
		printf("would delete tmp/%s (%" PRId64 " s old)\n", name, age_sec);
	} else if (rc_store_delete_tmp(run->store, name) != RC_OK) {
		fprintf(stderr, "rollcall: store gc: cannot delete tmp/%s\n", name);
		run->failed = 1;
		return 0;
	}
	run->tmp_deleted++;
	return 0;
}

static int
gc_run(const struct rc_config *cfg, struct gc_run *run)
{
	char err[512];
	PGconn *pg;

	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s", err);
		return 1;
	}
	if (lock_out_backups(pg) != 0 || load_live_keys(pg, run) != 0) {
		PQfinish(pg);
		return 1;
	}
	if (rc_store_each(run->store, collect_cb, run) != RC_OK) {
		fprintf(stderr, "rollcall: store gc: cannot list %s\n",
		    cfg->store_dir);
		PQfinish(pg);
		return 1;
	}
	delete_doomed(run);
	PQfinish(pg);	/* lets backups start again */
	if (rc_store_each_tmp(run->store, tmp_cb, run) != RC_OK) {
		fprintf(stderr, "rollcall: store gc: cannot list %s/tmp\n",
		    cfg->store_dir);
		run->failed = 1;
	}
	printf("store gc%s: %zu blobs kept, %zu %s (%" PRId64 " bytes); "
	    "%zu temp files %s\n", run->dry_run ? " (dry run)" : "",
	    run->kept, run->deleted, run->dry_run ? "to delete" : "deleted",
	    run->bytes, run->tmp_deleted, run->dry_run ? "to delete" : "deleted");
	return run->failed ? 1 : 0;
}

int
rc_cli_store(const struct rc_config *cfg, int argc, char **argv)
{
	struct gc_run run;
	char err[512];
	int rv;

	memset(&run, 0, sizeof(run));
	if (argc < 2 || strcmp(argv[1], "gc") != 0 ||
	    parse_gc_args(argc, argv, &run) != 0)
		return usage();
	if (rc_cli_require_db_url(cfg))
		return 1;
	if ((run.store = rc_store_open(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	rv = gc_run(cfg, &run);
	rc_store_close(run.store);
	free(run.live);
	free(run.doomed);
	return rv;
}
