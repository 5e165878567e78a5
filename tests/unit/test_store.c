/* Unit tests for the blob store (file system backend) and `store gc`,
 * the latter against a real PostgreSQL that scripts/pg.sh starts in
 * $ROLLCALL_TEST_PGDIR (default var/test-pg-store). */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/store.h"
#include "rollcall/util.h"

static char root[] = "/tmp/rc-store-test-XXXXXX";
static char dir[512];		/* the store: root/blobs/x */
static struct rc_store *store;

static void
rm_rf(const char *path)
{
	char *cmd = rc_asprintf("rm -rf '%s'", path);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	if (mkdtemp(root) == NULL)
		return -1;
	/* two levels that do not exist yet: open makes them */
	snprintf(dir, sizeof(dir), "%s/blobs/x/", root);
	store = rc_store_open_fs(dir, err, sizeof(err));
	snprintf(dir, sizeof(dir), "%s/blobs/x", root);
	return store != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	rc_store_close(store);
	rm_rf(root);
	return 0;
}

static char *
path_of(const char *key)
{
	return rc_asprintf("%s/%.2s/%.2s/%s", dir, key, key + 2, key);
}

static size_t
count_files(const char *path)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(path);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static size_t
tmp_files(void)
{
	char *t = rc_asprintf("%s/tmp", dir);
	size_t n = count_files(t);

	free(t);
	return n;
}

/* Sets a file's modification time to age_sec ago. */
static void
age_file(const char *path, int64_t age_sec)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_sec;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
test_key(void **state)
{
	char key[RC_STORE_KEY_LEN + 1];

	(void)state;
	/* FIPS 180-2 test vectors */
	rc_store_key_of("abc", 3, key);
	assert_string_equal(key, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	rc_store_key_of("", 0, key);
	assert_string_equal(key, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_true(rc_store_key_valid(key));
	assert_false(rc_store_key_valid(NULL));
	assert_false(rc_store_key_valid(""));
	assert_false(rc_store_key_valid("E3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"));
	assert_false(rc_store_key_valid("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b85"));
	assert_false(rc_store_key_valid("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b8555"));
	assert_false(rc_store_key_valid("../../../../etc/passwd/../../../"
	    "../../../../../../../../../../.."));
}

static void
test_put_get(void **state)
{
	static const char data[] = "the bytes of a picture";
	char key[RC_STORE_KEY_LEN + 1], want[RC_STORE_KEY_LEN + 1];
	unsigned char *got;
	struct stat st;
	char *path, *shard;
	size_t len;

	(void)state;
	rc_store_key_of(data, sizeof(data), want);
	assert_false(rc_store_exists(store, want));
	assert_int_equal(rc_store_put(store, data, sizeof(data), key), RC_OK);
	assert_string_equal(key, want);
	assert_true(rc_store_exists(store, key));
	assert_int_equal(rc_store_get(store, key, &got, &len), RC_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(got, data, len);
	free(got);

	path = path_of(key);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	shard = rc_asprintf("%s/%.2s/%.2s", dir, key, key + 2);
	assert_int_equal(stat(shard, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* nothing half-written is left behind */
	assert_int_equal(tmp_files(), 0);
	free(shard);
	free(path);
}

static void
test_put_empty(void **state)
{
	char key[RC_STORE_KEY_LEN + 1];
	unsigned char *got;
	size_t len = 99;

	(void)state;
	assert_int_equal(rc_store_put(store, "", 0, key), RC_OK);
	assert_int_equal(rc_store_get(store, key, &got, &len), RC_OK);
	assert_int_equal(len, 0);
	free(got);
}

/* The second put writes nothing (same inode) but makes the blob young
 * again, so gc does not take bytes a new row is about to name. */
static void
test_put_duplicate(void **state)
{
	static const char data[] = "uploaded twice";
	char k1[RC_STORE_KEY_LEN + 1], k2[RC_STORE_KEY_LEN + 1];
	struct stat a, b;
	char *path;

	(void)state;
	assert_int_equal(rc_store_put(store, data, sizeof(data), k1), RC_OK);
	path = path_of(k1);
	age_file(path, 7200);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(rc_store_put(store, data, sizeof(data), k2), RC_OK);
	assert_string_equal(k1, k2);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(b.st_mtime > a.st_mtime + 7000);
	assert_int_equal(tmp_files(), 0);
	free(path);
}

static void
test_missing_and_delete(void **state)
{
	static const char data[] = "short-lived";
	char key[RC_STORE_KEY_LEN + 1];
	unsigned char *got = (unsigned char *)"x";
	size_t len = 5;

	(void)state;
	rc_store_key_of("never stored", 12, key);
	assert_int_equal(rc_store_get(store, key, &got, &len), RC_AGAIN);
	assert_null(got);
	assert_int_equal(len, 0);
	assert_int_equal(rc_store_delete(store, key), RC_OK);

	assert_int_equal(rc_store_put(store, data, sizeof(data), key), RC_OK);
	assert_int_equal(rc_store_delete(store, key), RC_OK);
	assert_false(rc_store_exists(store, key));
	assert_int_equal(rc_store_get(store, key, &got, &len), RC_AGAIN);
	assert_int_equal(rc_store_delete(store, key), RC_OK);

	/* keys that could name another file are refused */
	assert_int_equal(rc_store_get(store, "../tmp", &got, &len), RC_ERR);
	assert_int_equal(rc_store_delete(store, "../../etc/passwd"), RC_ERR);
	assert_false(rc_store_exists(store, "tmp"));
}

/* With DIR/tmp gone the write fails: RC_ERR, and no file appears under
 * the real name, since the real name only comes from the rename. */
static void
test_put_fails_cleanly(void **state)
{
	static const char data[] = "cannot be written";
	char key[RC_STORE_KEY_LEN + 1];
	char *t = rc_asprintf("%s/tmp", dir);

	(void)state;
	assert_int_equal(rmdir(t), 0);
	assert_int_equal(rc_store_put(store, data, sizeof(data), key), RC_ERR);
	assert_false(rc_store_exists(store, key));
	assert_int_equal(mkdir(t, 0700), 0);
	assert_int_equal(rc_store_put(store, data, sizeof(data), key), RC_OK);
	assert_true(rc_store_exists(store, key));
	assert_int_equal(rc_store_delete(store, key), RC_OK);
	free(t);
}

struct seen {
	char	 keys[16][RC_STORE_KEY_LEN + 1];
	int64_t	 ages[16];
	size_t	 n, stop_after;
};

static int
seen_cb(const char *key, int64_t age_sec, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->ages[s->n++] = age_sec;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

static int64_t
age_seen(const struct seen *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->ages[i];
	return -1;
}

static void
write_junk(const char *rel)
{
	char *p = rc_asprintf("%s/%s", dir, rel);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("junk", f);
	fclose(f);
	free(p);
}

static void
test_each(void **state)
{
	char keys[3][RC_STORE_KEY_LEN + 1], *p, *rel, *tmp_junk;
	struct seen s;
	size_t i;

	(void)state;
	rm_rf(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	p = rc_asprintf("%s/tmp", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	for (i = 0; i < 3; i++) {
		char data[16];

		snprintf(data, sizeof(data), "blob %zu", i);
		assert_int_equal(rc_store_put(store, data, strlen(data), keys[i]),
		    RC_OK);
	}
	p = path_of(keys[1]);
	age_file(p, 7200);
	free(p);
	/* not blobs: a temp file, a stray name, a key filed in the wrong
	 * shard, a key at the top */
	rel = rc_asprintf("tmp/%s.0011223344556677", keys[0]);
	write_junk(rel);
	tmp_junk = rc_asprintf("%s/%s", dir, rel);
	free(rel);
	rel = rc_asprintf("%.2s/%.2s/notes.txt", keys[0], keys[0] + 2);
	write_junk(rel);
	free(rel);
	rel = rc_asprintf("%.2s/%.2s/%s", keys[0], keys[0] + 2, keys[2]);
	write_junk(rel);
	free(rel);
	write_junk(keys[2]);

	memset(&s, 0, sizeof(s));
	assert_int_equal(rc_store_each(store, seen_cb, &s), RC_OK);
	assert_int_equal(s.n, 3);
	for (i = 0; i < 3; i++)
		assert_true(age_seen(&s, keys[i]) >= 0);
	assert_true(age_seen(&s, keys[0]) < 60);
	assert_true(age_seen(&s, keys[1]) >= 7199 &&
	    age_seen(&s, keys[1]) < 7300);

	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(rc_store_each(store, seen_cb, &s), RC_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(unlink(tmp_junk), 0);
	free(tmp_junk);
}

static void
test_open_errors(void **state)
{
	char err[256] = "", *under_file;

	(void)state;
	assert_null(rc_store_open_fs("", err, sizeof(err)));
	assert_true(err[0] != '\0');
	under_file = rc_asprintf("%s/file/blobs", root);
	write_junk("../../file");	/* root/file */
	err[0] = '\0';
	assert_null(rc_store_open_fs(under_file, err, sizeof(err)));
	assert_non_null(strstr(err, under_file));
	free(under_file);
}

struct racer {
	const char	*data;
	size_t		 len;
	rc_status	 rv;
	char		 key[RC_STORE_KEY_LEN + 1];
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	r->rv = rc_store_put(store, r->data, r->len, r->key);
	return NULL;
}

/* Threads storing the same bytes at once: all succeed, one blob. */
static void
test_concurrent_puts(void **state)
{
	struct racer r[4];
	pthread_t th[4];
	unsigned char *got;
	size_t i, len, n = 1 << 20;
	char *big = rc_malloc(n);

	(void)state;
	for (i = 0; i < n; i++)
		big[i] = (char)(i * 7);
	for (i = 0; i < 4; i++) {
		r[i].data = big;
		r[i].len = n;
		assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].rv, RC_OK);
		assert_string_equal(r[i].key, r[0].key);
	}
	assert_int_equal(rc_store_get(store, r[0].key, &got, &len), RC_OK);
	assert_int_equal(len, n);
	assert_memory_equal(got, big, n);
	assert_int_equal(tmp_files(), 0);
	free(got);
	free(big);
}

static void
test_put_latency(void **state)
{
	char key[RC_STORE_KEY_LEN + 1];
	size_t sizes[] = { 64 * 1024, 2 * 1024 * 1024 }, i, j, rounds = 10;
	unsigned char *data;
	uint64_t t0, sum;

	(void)state;
	for (i = 0; i < RC_NELEM(sizes); i++) {
		data = rc_malloc(sizes[i]);
		rc_random_bytes(data, sizes[i]);
		sum = 0;
		for (j = 0; j < rounds; j++) {
			data[0] = (unsigned char)j;	/* new bytes: a real write */
			t0 = rc_now_usec();
			assert_int_equal(rc_store_put(store, data, sizes[i], key),
			    RC_OK);
			sum += rc_now_usec() - t0;
		}
		print_message("put %zu KiB: %.2f ms mean of %zu (fsync incl.)\n",
		    sizes[i] / 1024, sum / 1000.0 / rounds, rounds);
		free(data);
	}
	data = rc_calloc(1, 10 << 20);
	t0 = rc_now_usec();
	rc_store_key_of(data, 10 << 20, key);
	print_message("SHA-256 of 10 MiB: %.2f ms\n",
	    (rc_now_usec() - t0) / 1000.0);
	free(data);
}

/* ---- store gc against PostgreSQL ------------------------------------------ */

struct pgenv {
	char	*url, *store_dir;
};
static struct pgenv pgenv;

static char *
fake_getenv(const char *name)
{
	if (strcmp(name, "ROLLCALL_DB_URL") == 0)
		return pgenv.url;
	if (strcmp(name, "ROLLCALL_STORE_DIR") == 0)
		return pgenv.store_dir;
	return NULL;
}

static const char *
pg_dir(void)
{
	const char *d = getenv("ROLLCALL_TEST_PGDIR");

	return d != NULL && *d != '\0' ? d : "var/test-pg-store";
}

static int pg_started_here;

static int
pg_sh(const char *verb)
{
	char *cmd = rc_asprintf("PGDIR='%s' scripts/pg.sh %s >/dev/null",
	    pg_dir(), verb);
	int rv = system(cmd);

	free(cmd);
	return rv;
}

/* Starts the cluster unless it runs (then it is stopped again at the
 * end) and returns its URL; caller frees. */
static char *
pg_start(void)
{
	char *cmd = rc_asprintf("PGDIR='%s' scripts/pg.sh start", pg_dir());
	char line[512] = "";
	FILE *p;

	if (!pg_started_here && pg_sh("status") != 0)
		pg_started_here = 1;
	p = popen(cmd, "r");

	assert_non_null(p);
	while (fgets(line, sizeof(line), p) != NULL)
		;
	assert_int_equal(pclose(p), 0);
	free(cmd);
	line[strcspn(line, "\n")] = '\0';
	assert_true(strncmp(line, "postgresql:///", 14) == 0);
	return rc_strdup(line);
}

static void
pg_exec(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQclear(res);
}

/* A fresh database with the schema; *url names it. */
static PGconn *
make_db(char **url, const char *name)
{
	char err[512], *drop, *create, *q, *u;
	PGconn *admin, *pg;
	int applied;

	u = pg_start();
	admin = rc_db_connect_blocking(u, err, sizeof(err));
	if (admin == NULL)
		fail_msg("%s", err);
	drop = rc_asprintf("DROP DATABASE IF EXISTS %s", name);
	create = rc_asprintf("CREATE DATABASE %s", name);
	pg_exec(admin, "SET client_min_messages = warning");
	pg_exec(admin, drop);
	pg_exec(admin, create);
	PQfinish(admin);
	free(drop);
	free(create);
	q = strchr(u + 14, '?');
	*url = rc_asprintf("postgresql:///%s%s", name, q != NULL ? q : "");
	free(u);
	if ((pg = rc_db_connect_blocking(*url, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	if (rc_db_migrate(pg, "sql", &applied, err, sizeof(err)) != RC_OK)
		fail_msg("migrate: %s", err);
	return pg;
}

static void
add_picture(PGconn *pg, const char *sha, const char *thumb)
{
	const char *v[2] = { sha, thumb };
	PGresult *res = PQexecParams(pg,
	    "INSERT INTO pictures (org_id, owner_id, sha256, thumb_sha256,"
	    " width, height, bytes) SELECT o.id, u.id, $1, $2, 10, 10, 100"
	    " FROM orgs o JOIN users u ON u.org_id = o.id LIMIT 1",
	    2, NULL, v, NULL, NULL, 0);

	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	assert_string_equal(PQcmdTuples(res), "1");
	PQclear(res);
}

/* Runs `store gc ARGS` and returns its stdout; caller frees. */
static char *
run_gc(int argc, char **argv, int *rv)
{
	struct rc_config cfg;
	char err[256], *out, *path = rc_asprintf("%s/gc.out", root);
	int saved, fd;
	size_t len;

	assert_int_equal(rc_config_load_env(&cfg, NULL, fake_getenv, err,
	    sizeof(err)), RC_OK);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	*rv = rc_cli_store(&cfg, argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	rc_config_cleanup(&cfg);
	out = rc_read_file(path, &len);
	assert_non_null(out);
	free(path);
	return out;
}

static void
drop_db(const char *name)
{
	char err[512], *u = pg_start(), *drop;
	PGconn *admin = rc_db_connect_blocking(u, err, sizeof(err));

	if (admin == NULL)
		fail_msg("%s", err);
	drop = rc_asprintf("DROP DATABASE IF EXISTS %s", name);
	pg_exec(admin, drop);
	PQfinish(admin);
	free(drop);
	free(u);
}

/* Two old blobs a row names, an old orphan, a young orphan; an old and a
 * young temp file. */
static void
gc_fixture(PGconn *pg, char keys[4][RC_STORE_KEY_LEN + 1], char **old_tmp,
    char **new_tmp)
{
	static const char *const data[4] = { "named", "thumb", "orphan!",
	    "young" };
	char *rel;
	size_t i;

	pg_exec(pg, "INSERT INTO orgs (name, slug) VALUES ('Acme', 'acme')");
	pg_exec(pg, "INSERT INTO users (org_id, email, name, role,"
	    " password_hash) SELECT id, 'a@acme.test', 'A', 'employee', 'x'"
	    " FROM orgs");
	rm_rf(dir);
	rc_store_close(store);
	store = rc_store_open_fs(dir, NULL, 0);
	assert_non_null(store);
	for (i = 0; i < 4; i++) {
		assert_int_equal(rc_store_put(store, data[i], strlen(data[i]),
		    keys[i]), RC_OK);
		if (i < 3) {
			char *p = path_of(keys[i]);

			age_file(p, 90000);
			free(p);
		}
	}
	add_picture(pg, keys[0], keys[1]);
	rel = rc_asprintf("tmp/%s.aaaa", keys[2]);
	write_junk(rel);
	*old_tmp = rc_asprintf("%s/%s", dir, rel);
	age_file(*old_tmp, 90000);
	free(rel);
	rel = rc_asprintf("tmp/%s.bbbb", keys[3]);
	write_junk(rel);
	*new_tmp = rc_asprintf("%s/%s", dir, rel);
	free(rel);
}

static void
test_gc(void **state)
{
	char keys[4][RC_STORE_KEY_LEN + 1], name[64];
	char *argv_bad[] = { "store", "gc", "--grace", "soon", NULL };
	char *argv_dry[] = { "store", "gc", "--dry-run", NULL };
	char *argv_gc[] = { "store", "gc", "--grace", "3600", NULL };
	char *out, *old_tmp, *new_tmp;
	PGconn *pg;
	size_t i;
	int rv;

	(void)state;
	snprintf(name, sizeof(name), "rc_store_unit_%d", (int)getpid());
	pgenv.store_dir = dir;
	pg = make_db(&pgenv.url, name);
	gc_fixture(pg, keys, &old_tmp, &new_tmp);
	PQfinish(pg);

	out = run_gc(4, argv_bad, &rv);
	assert_int_equal(rv, 2);
	free(out);

	out = run_gc(3, argv_dry, &rv);
	assert_int_equal(rv, 0);
	assert_non_null(strstr(out, keys[2]));
	assert_null(strstr(out, keys[0]));
	assert_non_null(strstr(out, "store gc (dry run): 3 blobs kept, 1 to "
	    "delete (7 bytes); 1 temp files to delete"));
	free(out);
	for (i = 0; i < 4; i++)
		assert_true(rc_store_exists(store, keys[i]));
	assert_int_equal(access(old_tmp, F_OK), 0);

	out = run_gc(4, argv_gc, &rv);
	assert_int_equal(rv, 0);
	assert_non_null(strstr(out, "store gc: 3 blobs kept, 1 deleted "
	    "(7 bytes); 1 temp files deleted"));
	free(out);
	assert_true(rc_store_exists(store, keys[0]));
	assert_true(rc_store_exists(store, keys[1]));
	assert_false(rc_store_exists(store, keys[2]));
	assert_true(rc_store_exists(store, keys[3]));
	assert_int_equal(access(old_tmp, F_OK), -1);
	assert_int_equal(access(new_tmp, F_OK), 0);

	/* grace 0: the young orphan goes too; named blobs never do */
	argv_gc[3] = "0";
	out = run_gc(4, argv_gc, &rv);
	assert_int_equal(rv, 0);
	assert_non_null(strstr(out, "store gc: 2 blobs kept, 1 deleted "
	    "(5 bytes); 1 temp files deleted"));
	free(out);
	assert_true(rc_store_exists(store, keys[0]));
	assert_false(rc_store_exists(store, keys[3]));

	drop_db(name);
	free(old_tmp);
	free(new_tmp);
	free(pgenv.url);
}

/* A cluster this test started is removed, even when the test failed:
 * clusters left behind fill a small CI disk. */
static int
gc_teardown(void **state)
{
	(void)state;
	if (pg_started_here)
		pg_sh("destroy");
	pg_started_here = 0;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_put_empty),
		cmocka_unit_test(test_put_duplicate),
		cmocka_unit_test(test_missing_and_delete),
		cmocka_unit_test(test_put_fails_cleanly),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_concurrent_puts),
		cmocka_unit_test(test_put_latency),
		cmocka_unit_test_teardown(test_gc, gc_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
