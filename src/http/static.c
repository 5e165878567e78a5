/* Static files of the browser app, loaded into memory at start and on
 * SIGHUP: requests never touch the disk, and a path can only name a file
 * that was inside static/ when it was loaded (symlinks out are skipped). */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "http-int.h"

#define STATIC_MAX_FILE	(16 * 1024 * 1024)

static const struct {
	const char	*ext;
	const char	*type;
} mime_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".gif", "image/gif" },
	{ ".webp", "image/webp" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".map", "application/json" },
};

const char *
rc_static_mime(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (i = 0; i < RC_NELEM(mime_types); i++)
			if (strcasecmp(dot, mime_types[i].ext) == 0)
				return mime_types[i].type;
	return "application/octet-stream";
}

struct loader {
	char			 root[PATH_MAX];
	struct rc_static_file	*files;
	size_t			 n, cap;
};

static void
add_file(struct loader *ld, const char *rel, const char *full,
    const struct stat *st)
{
	unsigned char digest[crypto_generichash_BYTES];
	char hex[33];
	struct rc_static_file *f;
	struct tm tm;
	size_t len;
	char *data;

	if (st->st_size > STATIC_MAX_FILE || (data = rc_read_file(full, &len)) == NULL)
		return;
	if (ld->n == ld->cap) {
		ld->cap = ld->cap ? ld->cap * 2 : 32;
		ld->files = rc_realloc(ld->files, ld->cap * sizeof(*ld->files));
	}
	f = &ld->files[ld->n++];
	memset(f, 0, sizeof(*f));
	f->path = rc_strdup(rel);
	f->data = data;
	f->len = len;
	f->ctype = rc_static_mime(rel);
	f->mtime = st->st_mtime;
	crypto_generichash(digest, sizeof(digest), (unsigned char *)data, len,
	    NULL, 0);
	rc_hex_encode(digest, 16, hex);
	snprintf(f->etag, sizeof(f->etag), "\"%s\"", hex);
	gmtime_r(&f->mtime, &tm);
	strftime(f->last_modified, sizeof(f->last_modified),
	    "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Walks dir; rel is the URL path of dir ("" for the root). */
static void
walk(struct loader *ld, const char *dir, const char *rel, int depth)
{
	char full[PATH_MAX], real[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t rootlen = strlen(ld->root);
	DIR *d;

	if (depth > 16 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		/* Resolve links and refuse whatever lands outside the root. */
		if (realpath(full, real) == NULL || strncmp(real, ld->root,
		    rootlen) != 0 || (real[rootlen] != '/' && real[rootlen] != '\0'))
			continue;
		if (stat(real, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(ld, full, sub, depth + 1);
		else if (S_ISREG(st.st_mode))
			add_file(ld, sub, real, &st);
	}
	closedir(d);
}

static int
cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct rc_static_file *)a)->path,
	    ((const struct rc_static_file *)b)->path);
}

struct rc_static *
rc_static_load(const char *dir, char *err, size_t errlen)
{
	struct loader ld;
	struct rc_static *st;

	memset(&ld, 0, sizeof(ld));
	if (realpath(dir, ld.root) == NULL) {
		snprintf(err, errlen, "server.static_dir %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	walk(&ld, ld.root, "", 0);
	if (ld.n > 0)
		qsort(ld.files, ld.n, sizeof(*ld.files), cmp_files);
	st = rc_calloc(1, sizeof(*st));
	st->refs = 1;
	st->files = ld.files;
	st->n = ld.n;
	return st;
}

void
rc_static_unref(struct rc_static *st)
{
	size_t i;

	if (st == NULL || atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	for (i = 0; i < st->n; i++) {
		free(st->files[i].path);
		free(st->files[i].data);
	}
	free(st->files);
	free(st);
}

const struct rc_static_file *
rc_static_find(const struct rc_static *st, const char *path)
{
	struct rc_static_file key;

	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, st->files, st->n, sizeof(*st->files), cmp_files);
}

/* RFC 9110 13.1.2: If-None-Match wins over If-Modified-Since. */
static int
not_modified(struct rc_req *req, const struct rc_static_file *f)
{
	const char *inm = rc_http_header(req, "If-None-Match");
	const char *ims = rc_http_header(req, "If-Modified-Since");
	struct tm tm;

	if (inm != NULL)
		return strstr(inm, f->etag) != NULL || strcmp(inm, "*") == 0;
	if (ims != NULL) {
		memset(&tm, 0, sizeof(tm));
		if (strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL)
			return timegm(&tm) >= f->mtime;
	}
	return 0;
}

void
rc_static_serve(struct rc_req *req)
{
	const struct rc_static *st = rc_loop_static(req->loop);
	const struct rc_static_file *f;
	const char *last;
	char *path;

	if ((path = rc_http_sanitize_path(req->path)) == NULL) {
		rc_http_fail(req, 400, "bad_path", "the path is not allowed");
		return;
	}
	if (strcmp(path, "/") == 0) {
		free(path);
		path = rc_strdup("/index.html");
	}
	f = rc_static_find(st, path);
	last = strrchr(path, '/');
	/* Client-side routes of the app (no file extension) get index.html. */
	if (f == NULL && strchr(last, '.') == NULL)
		f = rc_static_find(st, "/index.html");
	free(path);
	if (f == NULL) {
		rc_http_fail(req, 404, "not_found", "no such file");
		return;
	}
	rc_http_set_header(req, "ETag", f->etag);
	rc_http_set_header(req, "Last-Modified", f->last_modified);
	rc_http_set_header(req, "Cache-Control", "no-cache");
	rc_http_set_header(req, "X-Content-Type-Options", "nosniff");
	if (not_modified(req, f)) {
		rc_http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	rc_http_reply(req, 200, f->ctype, f->data, f->len);
}
