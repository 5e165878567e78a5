/* Static files of the browser app (static/) and of its npm libraries
 * (server.vendor_dir, served under /vendor/), loaded into memory at start
 * and on SIGHUP: requests never touch the disk, and a path can only name a
 * file that was inside its folder when it was loaded (symlinks out and
 * dotfiles are skipped). Every reply carries the app's security headers;
 * versioned URLs (?v=) are cached for a year, the rest revalidated. */
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

#include "rollcall/log.h"
#include "http-int.h"

#define STATIC_MAX_FILE	(16 * 1024 * 1024)
/* node_modules can be large: past this the rest of it is not loaded. */
#define VENDOR_MAX_TOTAL	(128 * 1024 * 1024)
#define VENDOR_PREFIX		"/vendor/"	/* "/vendor" itself is no file */

/* What the app's pages may load: only this origin, no inline script, the
 * camera's frames as blob: URLs; nobody may frame it. */
#define APP_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' blob: data:; media-src 'self' blob:; " \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; " \
	"form-action 'self'; object-src 'none'"
#define CACHE_REVALIDATE	"no-cache"
#define CACHE_IMMUTABLE		"public, max-age=31536000, immutable"

/* The only files of vendor_dir that are served: code, styles, maps. */
static const char *const vendor_exts[] = { ".js", ".mjs", ".css", ".map",
    NULL };

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
	const char *const	*only_exts;	/* NULL: every file */
	size_t			 total, max_total;
	int			 over;	/* warned that max_total is reached */
};

static int
ext_allowed(const struct loader *ld, const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (ld->only_exts == NULL)
		return 1;
	for (i = 0; dot != NULL && ld->only_exts[i] != NULL; i++)
		if (strcmp(dot, ld->only_exts[i]) == 0)
			return 1;
	return 0;
}

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

	if (!ext_allowed(ld, rel) || st->st_size > STATIC_MAX_FILE)
		return;
	if (ld->max_total > 0 && ld->total + (size_t)st->st_size >
	    ld->max_total) {
		if (!ld->over++)
			rc_log(RC_LOG_WARN, "static: %s is over %zu bytes: %s and "
			    "what follows it not loaded", ld->root,
			    ld->max_total, rel);
		return;
	}
	if ((data = rc_read_file(full, &len)) == NULL)
		return;
	ld->total += len;
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

/* Loads the files of dir into tree. A missing folder is an error unless
 * optional (vendor_dir before `make deps` ran). */
static rc_status
load_tree(struct rc_static_tree *tree, const char *key, const char *dir,
    const char *const *only_exts, size_t max_total, int optional,
    char *err, size_t errlen)
{
	struct loader ld;

	memset(&ld, 0, sizeof(ld));
	memset(tree, 0, sizeof(*tree));
	ld.only_exts = only_exts;
	ld.max_total = max_total;
	if (realpath(dir, ld.root) == NULL) {
		if (optional && errno == ENOENT)
			return RC_OK;
		snprintf(err, errlen, "%s %s: %s", key, dir, strerror(errno));
		return RC_ERR;
	}
	walk(&ld, ld.root, "", 0);
	if (ld.n > 0)
		qsort(ld.files, ld.n, sizeof(*ld.files), cmp_files);
	tree->files = ld.files;
	tree->n = ld.n;
	return RC_OK;
}

static void
tree_cleanup(struct rc_static_tree *tree)
{
	size_t i;

	for (i = 0; i < tree->n; i++) {
		free(tree->files[i].path);
		free(tree->files[i].data);
	}
	free(tree->files);
	memset(tree, 0, sizeof(*tree));
}

struct rc_static *
rc_static_load(const char *dir, const char *vendor_dir, char *err,
    size_t errlen)
{
	struct rc_static *st = rc_calloc(1, sizeof(*st));

	st->refs = 1;
	if (load_tree(&st->app, "server.static_dir", dir, NULL, 0, 0, err,
	    errlen) != RC_OK || (vendor_dir != NULL && *vendor_dir != '\0' &&
	    load_tree(&st->vendor, "server.vendor_dir", vendor_dir,
	    vendor_exts, VENDOR_MAX_TOTAL, 1, err, errlen) != RC_OK)) {
		rc_static_unref(st);
		return NULL;
	}
	return st;
}

void
rc_static_unref(struct rc_static *st)
{
	if (st == NULL || atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	tree_cleanup(&st->app);
	tree_cleanup(&st->vendor);
	free(st);
}

static const struct rc_static_file *
tree_find(const struct rc_static_tree *tree, const char *path)
{
	struct rc_static_file key;

	if (tree->n == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, tree->files, tree->n, sizeof(*tree->files),
	    cmp_files);
}

const struct rc_static_file *
rc_static_find(const struct rc_static *st, const char *path)
{
	return tree_find(&st->app, path);
}

void
rc_static_security_headers(struct rc_req *req)
{
	rc_http_set_header(req, "Content-Security-Policy", APP_CSP);
	rc_http_set_header(req, "Referrer-Policy", "no-referrer");
	rc_http_set_header(req, "X-Frame-Options", "DENY");
	rc_http_set_header(req, "X-Content-Type-Options", "nosniff");
	/* The camera for check-in and kiosks; nothing for other origins. */
	rc_http_set_header(req, "Permissions-Policy", "camera=(self)");
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

/* The file a path names: /vendor/<p> in vendor_dir, else in static/,
 * where a client-side route of the app (no file extension) is
 * index.html. */
static const struct rc_static_file *
find_for_path(const struct rc_static *st, const char *path, int *vendor)
{
	const struct rc_static_file *f;
	const char *last;

	*vendor = strncmp(path, VENDOR_PREFIX, strlen(VENDOR_PREFIX)) == 0 ||
	    strcmp(path, "/vendor") == 0;
	if (*vendor)
		return path[strlen("/vendor")] == '\0' ? NULL :
		    tree_find(&st->vendor, path + strlen("/vendor"));
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if ((f = tree_find(&st->app, path)) != NULL)
		return f;
	last = strrchr(path, '/');
	if (strchr(last, '.') == NULL)
		return tree_find(&st->app, "/index.html");
	return NULL;
}

void
rc_static_serve(struct rc_req *req)
{
	const struct rc_static *st = rc_loop_static(req->loop);
	const struct rc_static_file *f;
	const char *v;
	char *path;
	int vendor;

	rc_static_security_headers(req);
	if ((path = rc_http_sanitize_path(req->path)) == NULL) {
		rc_http_fail(req, 400, "bad_path", "the path is not allowed");
		return;
	}
	f = find_for_path(st, path, &vendor);
	free(path);
	if (f == NULL) {
		rc_http_fail(req, 404, "not_found", vendor ? "no such library "
		    "file (server.vendor_dir; make deps installs them)" :
		    "no such file");
		return;
	}
	/* A URL carrying its version (?v=) never changes: the app names a new
	 * one when the file does. index.html and the rest are revalidated. */
	v = rc_http_query(req, "v");
	rc_http_set_header(req, "Cache-Control", v != NULL && *v != '\0' &&
	    strcmp(f->path, "/index.html") != 0 ? CACHE_IMMUTABLE :
	    CACHE_REVALIDATE);
	rc_http_set_header(req, "ETag", f->etag);
	rc_http_set_header(req, "Last-Modified", f->last_modified);
	if (not_modified(req, f)) {
		rc_http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	rc_http_reply(req, 200, f->ctype, f->data, f->len);
}
