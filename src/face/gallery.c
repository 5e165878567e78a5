/* The per-org galleries of 1:N identification: each org's templates as one
 * rc_face_gallery (searched with rc_face_gallery_search), shared by the loop
 * threads as refcounted immutable snapshots. A gallery is loaded on first
 * use and dropped when any daemon changes the org's templates: the
 * face_templates trigger NOTIFYs 'rollcall_faces' with the org id, which
 * a listener (rc_db_listener, src/db/listen.c) delivers here. While its
 * connection is down nothing is cached, so a missed NOTIFY cannot leave a
 * stale gallery behind. */
#include <assert.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/http.h"
#include "rollcall/log.h"

/* $1 org. Every template of the org: the method filter is applied while
 * copying, so that templates of other methods can be counted and logged. */
static const struct rc_db_stmt SQL_LOAD = {
	"gallery_load",
	"SELECT user_id, method, version, template FROM face_templates"
	" WHERE org_id = $1::uuid ORDER BY created_at, id",
	1,
};

/* A request waiting for a gallery. */
struct waiter {
	struct rc_req		*req;
	rc_face_gallery_cb		 cb;
	struct rc_face_gallery_snap	*snap;		/* NULL: the load failed */
	int			 unavailable;
	struct waiter		*next;
};

/* One load of one org's gallery, from the query to the last waiter. */
struct load {
	char			 org[40];
	char			 method[32];
	uint32_t		 version;
	uint64_t		 gen;		/* the org's at start */
	int			 cacheable;	/* listening at start */
	struct rc_loop		*loop;
	struct waiter		*waiters;
	/* The result (taken from the pool, not copied: ~17 KB of hex a
	 * template) and its rows of the load's method, decoded on the CPU
	 * pool. */
	PGresult		*res;
	size_t			 n;
	char			(*users)[40];
	int			*row;
	struct rc_face_gallery_snap	*snap;
	size_t			 bad;
};

struct org_entry {
	char			 org[40];
	char			 method[32];
	uint32_t		 version;
	uint64_t		 gen;		/* +1 per invalidation */
	struct rc_face_gallery_snap	*snap;		/* NULL: none cached */
	struct load		*loading;	/* one to join, or NULL */
	struct org_entry	*next;
};

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static struct org_entry	*orgs;		/* guarded by mu */
static int		 listening;	/* guarded by mu */

static struct rc_db_listener	*gallery_listener;
static atomic_int	 other_method_logged;

/* ---- snapshots ------------------------------------------------------- */

static void
snap_free(struct rc_face_gallery_snap *s)
{
	rc_face_gallery_free(s->gallery);
	free(s->users);
	free(s);
}

void
rc_face_gallery_snap_unref(struct rc_face_gallery_snap *snap)
{
	if (snap != NULL && atomic_fetch_sub(&snap->refs, 1) == 1)
		snap_free(snap);
}

static struct rc_face_gallery_snap *
snap_ref(struct rc_face_gallery_snap *snap)
{
	atomic_fetch_add(&snap->refs, 1);
	return snap;
}

/* ---- the org table (mu held) ---------------------------------------- */

static struct org_entry *
entry_find(const char *org, int create)
{
	struct org_entry *e;

	for (e = orgs; e != NULL; e = e->next)
		if (strcmp(e->org, org) == 0)
			return e;
	if (!create)
		return NULL;
	e = rc_calloc(1, sizeof(*e));
	snprintf(e->org, sizeof(e->org), "%s", org);
	e->next = orgs;
	orgs = e;
	return e;
}

/* Stale from now on: the cached gallery goes, and a load under way may
 * finish for its waiters but neither is cached nor takes new ones. */
static void
entry_invalidate(struct org_entry *e)
{
	e->gen++;
	rc_face_gallery_snap_unref(e->snap);
	e->snap = NULL;
	e->loading = NULL;
}

void
rc_face_gallery_invalidate(const char *org_id)
{
	struct org_entry *e;

	pthread_mutex_lock(&mu);
	if ((e = entry_find(org_id, 0)) != NULL)
		entry_invalidate(e);
	pthread_mutex_unlock(&mu);
}

static void
invalidate_all(void)
{
	struct org_entry *e;

	for (e = orgs; e != NULL; e = e->next)
		entry_invalidate(e);
}

/* ---- loading --------------------------------------------------------- */

static void
load_free(struct load *l)
{
	PQclear(l->res);
	free(l->row);
	free(l->users);
	rc_face_gallery_snap_unref(l->snap);
	free(l);
}

/* On the waiter's loop. */
static void
deliver(void *arg)
{
	struct waiter *w = arg;

	if (w->snap != NULL)
		w->cb(w->req, w->snap);
	else if (w->unavailable)
		rc_http_fail_unavailable(w->req, "the database is unavailable");
	else
		rc_http_fail(w->req, 500, "internal",
		    "cannot load the face gallery");
	free(w);
}

/* Hands the result (l->snap, or NULL) to every waiter on its own loop,
 * caching it when nothing changed while it loaded. Frees l. */
static void
load_finish(struct load *l, int unavailable)
{
	struct org_entry *e;
	struct waiter *w, *next;

	pthread_mutex_lock(&mu);
	e = entry_find(l->org, 0);
	if (e != NULL && e->loading == l)
		e->loading = NULL;
	if (e != NULL && l->snap != NULL && l->cacheable && listening &&
	    e->gen == l->gen) {
		rc_face_gallery_snap_unref(e->snap);
		e->snap = snap_ref(l->snap);
		snprintf(e->method, sizeof(e->method), "%s", l->method);
		e->version = l->version;
	}
	w = l->waiters;
	l->waiters = NULL;
	pthread_mutex_unlock(&mu);
	for (; w != NULL; w = next) {
		next = w->next;
		w->snap = l->snap != NULL ? snap_ref(l->snap) : NULL;
		w->unavailable = unavailable;
		rc_http_post(w->req->loop, deliver, w);
	}
	load_free(l);
}

/* "\x0a1b..." (bytea as text) → a template; NULL when it is not one. */
static struct rc_face_template *
template_from_hex(const char *hex)
{
	struct rc_face_template *t;
	unsigned char *buf;
	size_t n;

	if ((buf = PQunescapeBytea((const unsigned char *)hex, &n)) == NULL)
		return NULL;
	t = rc_face_template_deserialize(buf, n);
	PQfreemem(buf);
	return t;
}

/* Copies template i's vector into *rows as row s->n, or counts it as
 * bad. */
static void
snap_add(struct load *l, struct rc_face_gallery_snap *s, float **rows, size_t i)
{
	struct rc_face_template *t = template_from_hex(PQgetvalue(l->res,
	    l->row[i], 3));
	size_t dim;

	if (t == NULL) {
		l->bad++;
		return;
	}
	dim = rc_face_template_dim(t);
	if (s->n == 0 && *rows == NULL) {
		s->dim = dim;
		*rows = rc_malloc((l->n ? l->n : 1) * dim * sizeof(float));
	}
	if (dim != s->dim) {
		l->bad++;
	} else {
		memcpy(*rows + s->n * dim, rc_face_template_vector(t),
		    dim * sizeof(float));
		memcpy(s->users[s->n++], l->users[i], sizeof(s->users[0]));
	}
	rc_face_template_free(t);
}

/* CPU pool: hex → templates → one block of vectors → the gallery that
 * every search of this snapshot reads (quantised once here, not per
 * search). */
static void
load_work(void *arg)
{
	struct load *l = arg;
	struct rc_face_gallery_snap *s = rc_calloc(1, sizeof(*s));
	float *rows = NULL;
	size_t i;

	atomic_init(&s->refs, 1);
	s->users = rc_calloc(l->n ? l->n : 1, sizeof(s->users[0]));
	for (i = 0; i < l->n; i++)
		snap_add(l, s, &rows, i);
	PQclear(l->res);
	l->res = NULL;
	/* Never NULL: deserialising refused templates with non-finite
	 * values or no dimensions. */
	s->gallery = rc_face_gallery_new(rows, s->n, s->dim);
	assert(s->gallery != NULL);
	free(rows);
	l->snap = s;
	/* The load passed through more memory than the gallery keeps (the
	 * result's hex, float rows: ~25 KB a template); hand it back rather
	 * than leave it resident in this thread's arena. */
	malloc_trim(0);
}

static void
load_done(void *arg)
{
	struct load *l = arg;

	if (l->bad > 0)
		rc_log(RC_LOG_WARN, "gallery: org %s: %zu unreadable "
		    "template(s) skipped", l->org, l->bad);
	rc_log(RC_LOG_DEBUG, "gallery: org %s loaded, %zu template(s)",
	    l->org, l->snap->n);
	load_finish(l, 0);
}

/* On the loop: takes the result and notes the rows of the load's method
 * and version. */
static void
load_copy(struct load *l, const struct rc_db_result *r)
{
	const PGresult *res = l->res = rc_db_result_take(r);
	int i, rows = PQntuples(res);
	size_t other = 0;
	char version[12];

	rc_face_version_text(l->version, version);
	l->users = rc_calloc(rows > 0 ? (size_t)rows : 1, sizeof(l->users[0]));
	l->row = rc_calloc(rows > 0 ? (size_t)rows : 1, sizeof(l->row[0]));
	for (i = 0; i < rows; i++) {
		if (strcmp(PQgetvalue(res, i, 1), l->method) != 0 ||
		    strcmp(PQgetvalue(res, i, 2), version) != 0) {
			other++;
			continue;
		}
		snprintf(l->users[l->n], sizeof(l->users[0]), "%s",
		    PQgetvalue(res, i, 0));
		l->row[l->n++] = i;
	}
	if (other > 0 && atomic_exchange(&other_method_logged, 1) == 0)
		rc_log(RC_LOG_WARN, "gallery: org %s has %zu template(s) of "
		    "another method or version than %s; they are never "
		    "compared until a reindex recomputes them (rollcall face "
		    "reindex; serve queues one at start)", l->org, other,
		    l->method);
}

static void
load_query_cb(const struct rc_db_result *r, void *arg)
{
	struct load *l = arg;

	if (r->err != RC_DB_OK) {
		rc_log(RC_LOG_ERROR, "gallery: org %s: cannot load: %s", l->org,
		    r->message ? r->message : "database unavailable");
		load_finish(l, r->err == RC_DB_UNAVAILABLE);
		return;
	}
	load_copy(l, r);
	rc_cpu_submit(l->loop, load_work, load_done, l);
}

/* Starts a load of e on req's loop (mu held by the caller). */
static struct load *
load_new(struct rc_req *req, struct org_entry *e, const char *method,
    uint32_t version)
{
	struct load *l = rc_calloc(1, sizeof(*l));

	snprintf(l->org, sizeof(l->org), "%s", e->org);
	snprintf(l->method, sizeof(l->method), "%s", method);
	l->version = version;
	l->gen = e->gen;
	l->cacheable = listening;
	l->loop = req->loop;
	e->loading = l;
	return l;
}

static int
snap_fits(const struct org_entry *e, const char *method, uint32_t version)
{
	return e->snap != NULL && strcmp(e->method, method) == 0 &&
	    e->version == version;
}

void
rc_face_gallery_get(struct rc_req *req, const char *org_id, const char *method,
    uint32_t version, rc_face_gallery_cb cb)
{
	struct waiter *w = rc_calloc(1, sizeof(*w));
	struct load *start = NULL;
	struct rc_face_gallery_snap *snap = NULL;
	struct org_entry *e;
	const char *p[1];

	w->req = req;
	w->cb = cb;
	pthread_mutex_lock(&mu);
	e = entry_find(org_id, 1);
	if (listening && snap_fits(e, method, version)) {
		snap = snap_ref(e->snap);
	} else {
		if (e->loading == NULL ||
		    strcmp(e->loading->method, method) != 0 ||
		    e->loading->version != version)
			start = load_new(req, e, method, version);
		w->next = e->loading->waiters;
		e->loading->waiters = w;
	}
	pthread_mutex_unlock(&mu);
	if (snap != NULL) {
		free(w);
		cb(req, snap);
		return;
	}
	if (start == NULL)
		return;
	p[0] = start->org;
	if (rc_db_query(req->loop->db, &SQL_LOAD, p, load_query_cb,
	    start) != RC_AGAIN)
		load_finish(start, 1);
}

/* ---- the listener ------------------------------------------------------ */

static void
set_listening(int on)
{
	pthread_mutex_lock(&mu);
	listening = on;
	/* Whatever was cached may have missed a NOTIFY while the connection
	 * was down (or is about to go). */
	invalidate_all();
	pthread_mutex_unlock(&mu);
}

static void
on_notify(const char *org_id, void *arg)
{
	(void)arg;
	rc_face_gallery_invalidate(org_id);
}

static void
on_state(int up, void *arg)
{
	(void)arg;
	set_listening(up);
}

rc_status
rc_face_gallery_start(const struct rc_config *cfg)
{
	if (gallery_listener != NULL)
		return RC_OK;
	gallery_listener = rc_db_listener_start(cfg->db_url, "rollcall_faces",
	    on_notify, on_state, NULL);
	return gallery_listener != NULL ? RC_OK : RC_ERR;
}

void
rc_face_gallery_stop(void)
{
	struct org_entry *e, *next;

	rc_db_listener_stop(gallery_listener);
	gallery_listener = NULL;
	pthread_mutex_lock(&mu);
	for (e = orgs; e != NULL; e = next) {
		next = e->next;
		rc_face_gallery_snap_unref(e->snap);
		free(e);
	}
	orgs = NULL;
	listening = 0;
	pthread_mutex_unlock(&mu);
}

void
rc_face_version_text(uint32_t version, char out[12])
{
	snprintf(out, 12, "%d", (int)(int32_t)version);
}

double
rc_face_best_similarity(const struct rc_face_template *probe,
    const PGresult *res, int method_col)
{
	const char *method = rc_face_template_method(probe);
	struct rc_face_template *t;
	unsigned char *buf;
	double best = -1, s;
	char version[12];
	size_t len;
	int i;

	rc_face_version_text(rc_face_template_version(probe), version);
	for (i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, method_col + 2) ||
		    strcmp(PQgetvalue(res, i, method_col), method) != 0 ||
		    strcmp(PQgetvalue(res, i, method_col + 1), version) != 0)
			continue;
		buf = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i,
		    method_col + 2), &len);
		if (buf == NULL)
			continue;
		t = rc_face_template_deserialize(buf, len);
		PQfreemem(buf);
		if (t == NULL)
			continue;
		s = rc_face_similarity(probe, t);
		rc_face_template_free(t);
		if (s > best)
			best = s;
	}
	return best;
}
