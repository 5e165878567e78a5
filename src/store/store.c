/* The blob store: the rc_store_* front that checks keys, and the file
 * system backend, which keeps each blob at DIR/ab/cd/<key> and writes it
 * through a temp file in DIR/tmp, fsync and rename, so a crash never
 * leaves a partial blob under a real name. */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rollcall/config.h"
#include "rollcall/log.h"
#include "rollcall/store.h"
#include "store-int.h"

#define TMP_DIR		"tmp"
/* Room under PATH_MAX for "/ab/cd/<key>" or "/tmp/<key>.<random>". */
#define DIR_MAX_LEN	(PATH_MAX - 2 * RC_STORE_KEY_LEN - 32)

static const struct rc_store_ops fs_ops;

static int
is_lower_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int
rc_store_key_valid(const char *key)
{
	size_t i;

	if (key == NULL)
		return 0;
	for (i = 0; i < RC_STORE_KEY_LEN; i++)
		if (!is_lower_hex((unsigned char)key[i]))
			return 0;
	return key[RC_STORE_KEY_LEN] == '\0';
}

void
rc_store_key_of(const void *data, size_t len, char key[RC_STORE_KEY_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	/* OpenSSL rather than libsodium: its SHA-256 uses the CPU's SHA
	 * instructions, several times faster on a 10 MiB upload. */
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != RC_STORE_KEY_LEN / 2)
		rc_fatal("store: SHA-256 is unavailable");
	rc_hex_encode(md, mdlen, key);
}

/* ---- the front -------------------------------------------------------- */

rc_status
rc_store_put(struct rc_store *s, const void *data, size_t len,
    char key[RC_STORE_KEY_LEN + 1])
{
	rc_store_key_of(data, len, key);
	return s->ops->put(s, key, data, len);
}

rc_status
rc_store_get(struct rc_store *s, const char *key, unsigned char **data,
    size_t *len)
{
	*data = NULL;
	*len = 0;
	if (!rc_store_key_valid(key))
		return RC_ERR;
	return s->ops->get(s, key, data, len);
}

int
rc_store_exists(struct rc_store *s, const char *key)
{
	return rc_store_key_valid(key) && s->ops->exists(s, key);
}

rc_status
rc_store_delete(struct rc_store *s, const char *key)
{
	if (!rc_store_key_valid(key))
		return RC_ERR;
	return s->ops->del(s, key);
}

rc_status
rc_store_each(struct rc_store *s,
    int (*fn)(const char *key, int64_t age_sec, void *arg), void *arg)
{
	return s->ops->each(s, fn, arg);
}

void
rc_store_close(struct rc_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

struct rc_store *
rc_store_open(const struct rc_config *cfg, char *err, size_t errlen)
{
	return rc_store_open_fs(cfg->store_dir, err, errlen);
}

/* ---- the file system backend ------------------------------------------ */

static int64_t
age_of(const struct stat *st)
{
	time_t now = time(NULL);

	return now > st->st_mtime ? (int64_t)(now - st->st_mtime) : 0;
}

static void
blob_path(const struct rc_store *s, const char *key, char *path, size_t n)
{
	snprintf(path, n, "%s/%.2s/%.2s/%s", s->dir, key, key + 2, key);
}

/* The directory entry of a new or removed file is durable only once its
 * directory is fsynced. */
static rc_status
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rv;

	if (fd < 0)
		return RC_ERR;
	rv = fsync(fd);
	close(fd);
	return rv == 0 ? RC_OK : RC_ERR;
}

/* mkdir 0700 that accepts an existing directory; a new one is made
 * durable in its parent. */
static rc_status
make_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0700) == 0)
		return parent != NULL ? fsync_dir(parent) : RC_OK;
	return errno == EEXIST ? RC_OK : RC_ERR;
}

static rc_status
make_shard_dirs(const struct rc_store *s, const char *key)
{
	char ab[PATH_MAX], abcd[PATH_MAX];

	snprintf(ab, sizeof(ab), "%s/%.2s", s->dir, key);
	snprintf(abcd, sizeof(abcd), "%s/%.2s/%.2s", s->dir, key, key + 2);
	if (make_dir(ab, s->dir) != RC_OK || make_dir(abcd, ab) != RC_OK) {
		rc_log(RC_LOG_ERROR, "store: mkdir %s: %s", abcd, strerror(errno));
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return RC_ERR;
		p += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

/* Writes data to a new DIR/tmp file (its name into tmp) and fsyncs it.
 * The random suffix lets two threads store the same bytes at once. */
static rc_status
write_tmp(const struct rc_store *s, const char *key, const void *data,
    size_t len, char *tmp, size_t tmplen)
{
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int fd, saved;

	rc_random_bytes(rnd, sizeof(rnd));
	rc_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(tmp, tmplen, "%s/" TMP_DIR "/%s.%s", s->dir, key, hex);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc_log(RC_LOG_ERROR, "store: create %s: %s", tmp, strerror(errno));
		return RC_ERR;
	}
	if (write_all(fd, data, len) != RC_OK || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		rc_log(RC_LOG_ERROR, "store: write %s: %s", tmp, strerror(saved));
		return RC_ERR;
	}
	if (close(fd) != 0) {
		rc_log(RC_LOG_ERROR, "store: close %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return RC_ERR;
	}
	return RC_OK;
}

/* Bytes already there are not rewritten, but their time is refreshed:
 * `store gc` spares young blobs, and a picture row about to name these
 * bytes again must not lose them to a collection of the old copy. */
static rc_status
fs_put(struct rc_store *s, const char *key, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX], shard[PATH_MAX];
	struct stat st;

	blob_path(s, key, path, sizeof(path));
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == (uint64_t)len) {
		if (utimensat(AT_FDCWD, path, NULL, 0) != 0)
			rc_log(RC_LOG_WARN, "store: touch %s: %s", path,
			    strerror(errno));
		return RC_OK;
	}
	if (make_shard_dirs(s, key) != RC_OK ||
	    write_tmp(s, key, data, len, tmp, sizeof(tmp)) != RC_OK)
		return RC_ERR;
	if (rename(tmp, path) != 0) {
		rc_log(RC_LOG_ERROR, "store: rename to %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return RC_ERR;
	}
	snprintf(shard, sizeof(shard), "%s/%.2s/%.2s", s->dir, key, key + 2);
	if (fsync_dir(shard) != RC_OK) {
		rc_log(RC_LOG_ERROR, "store: fsync %s: %s", shard, strerror(errno));
		return RC_ERR;
	}
	return RC_OK;
}

static rc_status
read_all(int fd, unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return RC_ERR;	/* 0: the file shrank under us */
		p += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

static rc_status
fs_get(struct rc_store *s, const char *key, unsigned char **data, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned char *buf;
	int fd;

	blob_path(s, key, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return RC_AGAIN;
		rc_log(RC_LOG_ERROR, "store: open %s: %s", path, strerror(errno));
		return RC_ERR;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) {
		close(fd);
		return RC_ERR;
	}
	/* One byte more so an empty blob still gets a buffer to free. */
	buf = rc_malloc((size_t)st.st_size + 1);
	if (read_all(fd, buf, (size_t)st.st_size) != RC_OK) {
		rc_log(RC_LOG_ERROR, "store: read %s: %s", path, strerror(errno));
		free(buf);
		close(fd);
		return RC_ERR;
	}
	close(fd);
	*data = buf;
	*len = (size_t)st.st_size;
	return RC_OK;
}

static int
fs_exists(struct rc_store *s, const char *key)
{
	char path[PATH_MAX];
	struct stat st;

	blob_path(s, key, path, sizeof(path));
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static rc_status
fs_del(struct rc_store *s, const char *key)
{
	char path[PATH_MAX], shard[PATH_MAX];

	blob_path(s, key, path, sizeof(path));
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return RC_OK;
		rc_log(RC_LOG_ERROR, "store: unlink %s: %s", path, strerror(errno));
		return RC_ERR;
	}
	snprintf(shard, sizeof(shard), "%s/%.2s/%.2s", s->dir, key, key + 2);
	return fsync_dir(shard);
}

static int
is_shard_name(const char *name)
{
	return is_lower_hex((unsigned char)name[0]) &&
	    is_lower_hex((unsigned char)name[1]) && name[2] == '\0';
}

/* Reports the blobs of DIR/ab/cd. Returns 0 to go on, 1 when fn asked to
 * stop, -1 on error. A shard removed meanwhile is simply empty. */
static int
walk_leaf(const struct rc_store *s, const char *ab, const char *cd,
    int (*fn)(const char *, int64_t, void *), void *arg)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rv = 0;

	snprintf(path, sizeof(path), "%s/%s/%s", s->dir, ab, cd);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rv == 0 && (e = readdir(d)) != NULL) {
		/* Only a key filed in its own shard is a blob. */
		if (!rc_store_key_valid(e->d_name) ||
		    memcmp(e->d_name, ab, 2) != 0 ||
		    memcmp(e->d_name + 2, cd, 2) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fn(e->d_name, age_of(&st), arg) != 0)
			rv = 1;
	}
	closedir(d);
	return rv;
}

static int
walk_branch(const struct rc_store *s, const char *ab,
    int (*fn)(const char *, int64_t, void *), void *arg)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int rv = 0;

	snprintf(path, sizeof(path), "%s/%s", s->dir, ab);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (rv == 0 && (e = readdir(d)) != NULL)
		if (is_shard_name(e->d_name))
			rv = walk_leaf(s, ab, e->d_name, fn, arg);
	closedir(d);
	return rv;
}

/* The tmp folder's name is not two hex digits, so it is skipped here. */
static rc_status
fs_each(struct rc_store *s, int (*fn)(const char *, int64_t, void *),
    void *arg)
{
	struct dirent *e;
	DIR *d;
	int rv = 0;

	if ((d = opendir(s->dir)) == NULL) {
		rc_log(RC_LOG_ERROR, "store: open %s: %s", s->dir, strerror(errno));
		return RC_ERR;
	}
	while (rv == 0 && (e = readdir(d)) != NULL)
		if (is_shard_name(e->d_name))
			rv = walk_branch(s, e->d_name, fn, arg);
	closedir(d);
	return rv < 0 ? RC_ERR : RC_OK;
}

static void
fs_close(struct rc_store *s)
{
	free(s->dir);
	free(s);
}

static const struct rc_store_ops fs_ops = {
	.put = fs_put,
	.get = fs_get,
	.exists = fs_exists,
	.del = fs_del,
	.each = fs_each,
	.close = fs_close,
};

/* mkdir -p with 0700 for what it creates. */
static rc_status
make_dirs(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			*p = '/';
			return RC_ERR;
		}
		*p = '/';
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST ? RC_OK : RC_ERR;
}

struct rc_store *
rc_store_open_fs(const char *dir, char *err, size_t errlen)
{
	struct rc_store *s;
	char tmp[PATH_MAX];
	size_t n;

	if (dir == NULL || (n = strlen(dir)) == 0 || n > DIR_MAX_LEN) {
		snprintf(err, errlen, "store.dir is empty or too long");
		return NULL;
	}
	s = rc_calloc(1, sizeof(*s));
	s->ops = &fs_ops;
	s->dir = rc_strdup(dir);
	while (n > 1 && s->dir[n - 1] == '/')
		s->dir[--n] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/" TMP_DIR, s->dir);
	if (make_dirs(s->dir) != RC_OK || make_dir(tmp, NULL) != RC_OK ||
	    access(tmp, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "store.dir %s: %s", s->dir, strerror(errno));
		fs_close(s);
		return NULL;
	}
	return s;
}

/* ---- for `store gc` ----------------------------------------------------- */

/* stat(2) of a blob of the file system backend. */
static rc_status
stat_blob(struct rc_store *s, const char *key, struct stat *st)
{
	char path[PATH_MAX];

	if (s->ops != &fs_ops || !rc_store_key_valid(key))
		return RC_ERR;
	blob_path(s, key, path, sizeof(path));
	if (stat(path, st) != 0)
		return errno == ENOENT ? RC_AGAIN : RC_ERR;
	return RC_OK;
}

rc_status
rc_store_blob_stat(struct rc_store *s, const char *key, int64_t *bytes,
    int64_t *age_sec)
{
	struct stat st;
	rc_status rv = stat_blob(s, key, &st);

	if (rv != RC_OK)
		return rv;
	*bytes = (int64_t)st.st_size;
	*age_sec = age_of(&st);
	return RC_OK;
}

rc_status
rc_store_age_ms(struct rc_store *s, const char *key, int64_t *age_ms)
{
	struct timespec now;
	struct stat st;
	rc_status rv = stat_blob(s, key, &st);

	if (rv != RC_OK)
		return rv;
	clock_gettime(CLOCK_REALTIME, &now);
	*age_ms = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
	    (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
	return RC_OK;
}

rc_status
rc_store_each_tmp(struct rc_store *s,
    int (*fn)(const char *name, int64_t age_sec, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (s->ops != &fs_ops)
		return RC_OK;
	snprintf(path, sizeof(path), "%s/" TMP_DIR, s->dir);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? RC_OK : RC_ERR;
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (fn(e->d_name, age_of(&st), arg) != 0)
			break;
	}
	closedir(d);
	return RC_OK;
}

rc_status
rc_store_delete_tmp(struct rc_store *s, const char *name)
{
	char path[PATH_MAX];

	if (s->ops != &fs_ops || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return RC_ERR;
	snprintf(path, sizeof(path), "%s/" TMP_DIR "/%s", s->dir, name);
	return unlink(path) == 0 || errno == ENOENT ? RC_OK : RC_ERR;
}
