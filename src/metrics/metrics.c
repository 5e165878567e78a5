/* Metric storage and the Prometheus text exposition. One slot per route
 * and method; each slot keeps a few (status, count) pairs claimed with a
 * compare-and-swap, and a duration histogram. Labels carry the route
 * pattern, never the raw path, so cardinality stays bounded. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "rollcall/http.h"
#include "rollcall/metrics.h"

#define NSTATUS		16
#define NBUCKETS	12

static const double bucket_le[NBUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

struct slot {
	_Atomic int		 status[NSTATUS];	/* 0: free */
	_Atomic uint64_t	 count[NSTATUS];
	_Atomic uint64_t	 bucket[NBUCKETS];
	_Atomic uint64_t	 observations;
	_Atomic uint64_t	 sum_usec;
};

static const struct rc_router	*metrics_router;
static struct slot		*slots;		/* [nroutes + 2][methods] */
static size_t			 nroutes;
static _Atomic uint64_t		 throttled;
static _Atomic uint64_t		 reindex_recomputed, reindex_failed;
static _Atomic int64_t		 reindex_left;
static _Atomic uint64_t		 principal_hits, principal_misses;
static _Atomic int		 principal_listening;
static time_t			 start_time;

static const unsigned method_bits[RC_HTTP_NMETHODS] = {
	RC_HTTP_GET, RC_HTTP_HEAD, RC_HTTP_POST, RC_HTTP_PUT, RC_HTTP_PATCH,
	RC_HTTP_DELETE, RC_HTTP_OPTIONS,
};

void
rc_metrics_init(const struct rc_router *router)
{
	metrics_router = router;
	nroutes = rc_router_count(router);
	free(slots);
	slots = rc_calloc((nroutes + 2) * RC_HTTP_NMETHODS, sizeof(*slots));
	start_time = time(NULL);
}

void
rc_metrics_free(void)
{
	free(slots);
	slots = NULL;
}

static int
method_index(unsigned method)
{
	int i;

	for (i = 0; i < RC_HTTP_NMETHODS; i++)
		if (method_bits[i] == method)
			return i;
	return 0;
}

static size_t
route_index(int route_id)
{
	if (route_id == RC_METRICS_ROUTE_STATIC)
		return nroutes;
	if (route_id < 0 || (size_t)route_id >= nroutes)
		return nroutes + 1;
	return (size_t)route_id;
}

static void
count_status(struct slot *s, int status)
{
	int i, expect;

	for (i = 0; i < NSTATUS; i++) {
		expect = 0;
		if (s->status[i] == status ||
		    atomic_compare_exchange_strong(&s->status[i], &expect, status) ||
		    expect == status) {
			atomic_fetch_add_explicit(&s->count[i], 1,
			    memory_order_relaxed);
			return;
		}
	}
	/* More than NSTATUS distinct codes on one route: fold into the last. */
	atomic_fetch_add_explicit(&s->count[NSTATUS - 1], 1,
	    memory_order_relaxed);
}

void
rc_metrics_observe(int route_id, unsigned method, int status, double seconds)
{
	struct slot *s;
	int b;

	if (slots == NULL)
		return;
	s = &slots[route_index(route_id) * RC_HTTP_NMETHODS +
	    (size_t)method_index(method)];
	count_status(s, status);
	for (b = 0; b < NBUCKETS; b++)
		if (seconds <= bucket_le[b]) {
			atomic_fetch_add_explicit(&s->bucket[b], 1,
			    memory_order_relaxed);
			break;
		}
	atomic_fetch_add_explicit(&s->observations, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_usec, (uint64_t)(seconds * 1e6),
	    memory_order_relaxed);
}

void
rc_metrics_throttled(void)
{
	atomic_fetch_add_explicit(&throttled, 1, memory_order_relaxed);
}

void
rc_metrics_face_reindex(long recomputed, long failed, long left)
{
	atomic_fetch_add_explicit(&reindex_recomputed, (uint64_t)recomputed,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&reindex_failed, (uint64_t)failed,
	    memory_order_relaxed);
	atomic_store_explicit(&reindex_left, left, memory_order_relaxed);
}

void
rc_metrics_principal_lookup(int hit)
{
	atomic_fetch_add_explicit(hit ? &principal_hits : &principal_misses, 1,
	    memory_order_relaxed);
}

void
rc_metrics_principal_listening(int on)
{
	atomic_store_explicit(&principal_listening, on, memory_order_relaxed);
}

static const char *
route_label(size_t r)
{
	if (r == nroutes)
		return "static";
	if (r == nroutes + 1)
		return "unmatched";
	return rc_router_get(metrics_router, r)->pattern;
}

static void
render_requests(struct evbuffer *out)
{
	size_t r;
	int m, i;

	evbuffer_add_printf(out, "# HELP rollcall_http_requests_total HTTP "
	    "requests by route pattern, method and status.\n"
	    "# TYPE rollcall_http_requests_total counter\n");
	for (r = 0; r < nroutes + 2; r++)
		for (m = 0; m < RC_HTTP_NMETHODS; m++) {
			struct slot *s = &slots[r * RC_HTTP_NMETHODS + (size_t)m];

			for (i = 0; i < NSTATUS && s->status[i] != 0; i++)
				evbuffer_add_printf(out,
				    "rollcall_http_requests_total{route=\"%s\","
				    "method=\"%s\",status=\"%d\"} %llu\n",
				    route_label(r),
				    rc_http_method_name(method_bits[m]),
				    (int)s->status[i],
				    (unsigned long long)s->count[i]);
		}
}

static void
render_histogram(struct evbuffer *out)
{
	size_t r;
	int m, b;

	evbuffer_add_printf(out, "# HELP rollcall_http_request_duration_seconds "
	    "Time from routing to the reply.\n"
	    "# TYPE rollcall_http_request_duration_seconds histogram\n");
	for (r = 0; r < nroutes + 2; r++)
		for (m = 0; m < RC_HTTP_NMETHODS; m++) {
			struct slot *s = &slots[r * RC_HTTP_NMETHODS + (size_t)m];
			const char *route = route_label(r);
			const char *meth = rc_http_method_name(method_bits[m]);
			uint64_t cum = 0, n = s->observations;

			if (n == 0)
				continue;
			for (b = 0; b < NBUCKETS; b++) {
				cum += s->bucket[b];
				evbuffer_add_printf(out,
				    "rollcall_http_request_duration_seconds_bucket"
				    "{route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
				    route, meth, bucket_le[b],
				    (unsigned long long)cum);
			}
			evbuffer_add_printf(out,
			    "rollcall_http_request_duration_seconds_bucket"
			    "{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n"
			    "rollcall_http_request_duration_seconds_sum"
			    "{route=\"%s\",method=\"%s\"} %.6f\n"
			    "rollcall_http_request_duration_seconds_count"
			    "{route=\"%s\",method=\"%s\"} %llu\n",
			    route, meth, (unsigned long long)n, route, meth,
			    (double)s->sum_usec / 1e6, route, meth,
			    (unsigned long long)n);
		}
}

static void
gauge(struct evbuffer *out, const char *name, const char *type,
    const char *help, double v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n",
	    name, help, name, type, name, v);
}

static double
process_rss_bytes(void)
{
	unsigned long size, resident;
	double rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) == 2)
		rss = (double)resident * (double)sysconf(_SC_PAGESIZE);
	fclose(f);
	return rss;
}

static double
process_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	double n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* A counter with two values of its "result" label. */
static void
counter_results(struct evbuffer *out, const char *name, const char *help,
    const char *r1, uint64_t v1, const char *r2, uint64_t v2)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n"
	    "%s{result=\"%s\"} %llu\n%s{result=\"%s\"} %llu\n", name, help,
	    name, name, r1, (unsigned long long)v1, name, r2,
	    (unsigned long long)v2);
}

static void
render_reindex(struct evbuffer *out)
{
	counter_results(out, "rollcall_face_reindex_templates_total",
	    "Face templates a reindex recomputed from their pictures, or could "
	    "not (kept, marked).", "recomputed",
	    atomic_load(&reindex_recomputed), "failed",
	    atomic_load(&reindex_failed));
	gauge(out, "rollcall_face_reindex_remaining", "gauge",
	    "Face templates of an older method left to recompute, as of the "
	    "last reindex batch.", (double)atomic_load(&reindex_left));
}

static void
render_principal_cache(struct evbuffer *out)
{
	counter_results(out, "rollcall_principal_cache_lookups_total",
	    "Authenticated requests that found their principal cached (hit) "
	    "or read the users row (miss), while the cache was on.", "hit",
	    atomic_load(&principal_hits), "miss",
	    atomic_load(&principal_misses));
	gauge(out, "rollcall_principal_cache_listening", "gauge",
	    "1 while the principal cache's LISTEN connection is up (the cache "
	    "is bypassed otherwise).", (double)atomic_load(&principal_listening));
}

void
rc_metrics_render(struct evbuffer *out, const struct rc_metrics_gauges *g)
{
	if (slots == NULL)
		return;
	render_requests(out);
	render_histogram(out);
	gauge(out, "rollcall_http_throttled_total", "counter",
	    "Requests refused with 429 by the in-flight cap.",
	    (double)throttled);
	render_reindex(out);
	render_principal_cache(out);
	gauge(out, "rollcall_http_requests_in_flight", "gauge",
	    "Requests being handled now.", g->in_flight);
	gauge(out, "rollcall_db_connections", "gauge",
	    "Open PostgreSQL connections in all loop pools.", g->db_connections);
	gauge(out, "rollcall_db_connections_busy", "gauge",
	    "PostgreSQL connections running a statement.", g->db_busy);
	gauge(out, "rollcall_db_queries_waiting", "gauge",
	    "Statements queued for a free connection.", g->db_waiting);
	gauge(out, "rollcall_db_errors_total", "counter",
	    "PostgreSQL connection failures and losses.", g->db_errors);
	gauge(out, "rollcall_db_queries_total", "counter",
	    "Statements sent to PostgreSQL.", g->db_queries);
	gauge(out, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", process_rss_bytes());
	gauge(out, "process_open_fds", "gauge",
	    "Number of open file descriptors.", process_open_fds());
	gauge(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.",
	    (double)start_time);
}
