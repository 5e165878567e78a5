/* PostgreSQL access. Loop threads use a per-thread pool of non-blocking
 * libpq connections driven by the loop's events; the CLI and migrations use
 * plain blocking connections (never on a loop thread). */
#ifndef ROLLCALL_DB_H
#define ROLLCALL_DB_H

#include <stdint.h>

#include <libpq-fe.h>

#include "rollcall/util.h"

struct event_base;
struct rc_db_pool;

/* A named statement, prepared once per connection on first use. Define
 * them as static constants beside the code that uses them. */
struct rc_db_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
};

enum rc_db_error {
	RC_DB_OK,		/* res holds the result */
	RC_DB_UNAVAILABLE,	/* no connection, queue full, timeout, lost */
	RC_DB_FAILED,		/* the server refused the statement */
};

struct rc_db_result {
	enum rc_db_error err;
	PGresult	*res;		/* owned by the pool; cleared after the callback */
	const char	*sqlstate;	/* with RC_DB_FAILED, e.g. RC_SQLSTATE_UNIQUE */
	const char	*message;	/* never contains parameter values */
	PGresult	**keep_;	/* for rc_db_result_take only */
};

/* In a callback of RC_DB_OK: takes res over, so that a large result can
 * go to the CPU pool without a copy; the taker PQclears it (on any
 * thread). */
PGresult	*rc_db_result_take(const struct rc_db_result *r);
/* True when r failed with that SQLSTATE (RC_SQLSTATE_*, rollcall/sqlstate.h). */
int		 rc_db_sqlstate_is(const struct rc_db_result *r,
		    const char *sqlstate);

typedef void (*rc_db_cb)(const struct rc_db_result *r, void *arg);

struct rc_db_pool_config {
	const char	*url;		/* libpq connection string or URI */
	int		 size;		/* connections */
	int		 queue_max;	/* queued queries beyond busy connections */
	int		 timeout_ms;	/* per query, including time queued */
};

struct rc_db_pool_stats {
	int		 connections;	/* connected now */
	int		 busy;
	int		 waiting;	/* queued queries */
	uint64_t	 errors;	/* connection failures and losses */
	uint64_t	 queries;
};

/* Creates a pool on base and starts connecting. The pool must be used and
 * freed on base's thread only. */
struct rc_db_pool *rc_db_pool_new(struct event_base *base,
	    const struct rc_db_pool_config *cfg);
/* Fails every queued and running query with RC_DB_UNAVAILABLE. */
void	rc_db_pool_free(struct rc_db_pool *pool);
void	rc_db_pool_stats(const struct rc_db_pool *pool,
	    struct rc_db_pool_stats *out);

/* Sends stmt with text parameters (NULL values are SQL NULL); the pool
 * copies them. Returns RC_AGAIN when cb will be called later, exactly once;
 * RC_ERR when the database is unavailable right now (no callback). */
rc_status rc_db_query(struct rc_db_pool *pool, const struct rc_db_stmt *stmt,
	    const char *const *values, rc_db_cb cb, void *arg);
/* Same with lengths and formats (1 = binary) per parameter. */
rc_status rc_db_query_bin(struct rc_db_pool *pool,
	    const struct rc_db_stmt *stmt, const char *const *values,
	    const int *lengths, const int *formats, rc_db_cb cb, void *arg);

/* Same as rc_db_query, with every result column in PostgreSQL's binary
 * format: typed values a handler writes out itself (rc_db_bin_*). */
rc_status rc_db_query_typed(struct rc_db_pool *pool,
	    const struct rc_db_stmt *stmt, const char *const *values,
	    rc_db_cb cb, void *arg);

/* Values of a binary-format result (src/db/binary.c), by the column's
 * type. The caller checks PQgetisnull first; a value of the wrong size
 * reads as 0 (false, the epoch), never past the cell. */
int	rc_db_bin_bool(const PGresult *res, int row, int col);
/* int2, int4 or int8. */
int64_t	rc_db_bin_int(const PGresult *res, int row, int col);
/* float4 or float8. */
double	rc_db_bin_float(const PGresult *res, int row, int col);
/* timestamptz as microseconds since 1970-01-01 UTC; 'infinity' and
 * '-infinity' as INT64_MAX and INT64_MIN. */
int64_t	rc_db_bin_time(const PGresult *res, int row, int col);
/* date as days since 1970-01-01. */
int32_t	rc_db_bin_date(const PGresult *res, int row, int col);
/* uuid: its 16 bytes, or NULL when the value is not 16 bytes long. */
const unsigned char *rc_db_bin_uuid(const PGresult *res, int row, int col);

/* Blocking helpers for the CLI, migrations and worker threads. */
/* Returns a connection or NULL with a message in err. */
PGconn	*rc_db_connect_blocking(const char *url, char *err, size_t errlen);

/* ---- LISTEN threads (src/db/listen.c) -------------------------------- */

/* Both run on the listener's thread: keep them short and lock-free or
 * briefly locked. payload is the NOTIFY's (valid during the call). */
typedef void (*rc_db_notify_cb)(const char *payload, void *arg);
/* up 1: LISTEN is in effect from now on; 0: the connection is gone and
 * notifications may be missed until the next up. */
typedef void (*rc_db_listen_state_cb)(int up, void *arg);

struct rc_db_listener;

/* Starts a thread that LISTENs on channel (lower-case letters, digits,
 * '_') over its own connection to url, named "rollcall listen CHANNEL" in
 * pg_stat_activity, and calls on_notify for each notification. Reconnects
 * with backoff (100 ms doubling to 2 s); pings an idle connection every
 * 300 ms and counts it lost when an answer takes 500 ms. NULL when the
 * thread cannot start. */
struct rc_db_listener *rc_db_listener_start(const char *url,
	    const char *channel, rc_db_notify_cb on_notify,
	    rc_db_listen_state_cb on_state, void *arg);
/* Stops and joins the thread (on_state(0) comes first when it was up);
 * NULL is a no-op. */
void	rc_db_listener_stop(struct rc_db_listener *l);

/* Applies sql/NNN_name.sql files in order, each in its own transaction,
 * recording name and checksum in schema_migrations. Refuses an applied file
 * whose checksum changed. Prints what it did to the log. */
rc_status rc_db_migrate(PGconn *conn, const char *dir, int *applied,
	    char *err, size_t errlen);

#endif
