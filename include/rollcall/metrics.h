/* Prometheus metrics (what CloudWatch did): request counts per route,
 * method and status, a duration histogram, throttles, and process gauges.
 * Counters are relaxed atomics, so any thread may record. */
#ifndef ROLLCALL_METRICS_H
#define ROLLCALL_METRICS_H

#include "rollcall/util.h"

struct evbuffer;
struct rc_router;

/* Pseudo routes for requests that matched no API route. */
#define RC_METRICS_ROUTE_STATIC		(-1)
#define RC_METRICS_ROUTE_UNMATCHED	(-2)

/* Sizes the tables for the router's routes; call once before serving. */
void	rc_metrics_init(const struct rc_router *router);
void	rc_metrics_free(void);
/* method is one rc_http_method bit. */
void	rc_metrics_observe(int route_id, unsigned method, int status,
	    double seconds);
void	rc_metrics_throttled(void);
/* A face reindex batch: templates recomputed, failed (kept, marked), and
 * how many of an older method are left. */
void	rc_metrics_face_reindex(long recomputed, long failed, long left);

/* A principal cache lookup (hit or miss), made while the cache is on. */
void	rc_metrics_principal_lookup(int hit);
/* The principal cache's listener connected (1) or lost (0). */
void	rc_metrics_principal_listening(int on);

/* Gauges sampled at render time. */
struct rc_metrics_gauges {
	int	 in_flight;
	int	 db_connections;
	int	 db_busy;
	int	 db_waiting;
	double	 db_errors;
	double	 db_queries;
};

/* Appends the whole exposition (text format 0.0.4) to out. */
void	rc_metrics_render(struct evbuffer *out,
	    const struct rc_metrics_gauges *g);

#endif
