/* The principal cache: each loop thread remembers the principal of the
 * access tokens it served lately, so an authenticated request needs no
 * round trip for the users row. Kept true by LISTEN/NOTIFY: the triggers
 * of sql/009 name the user whose row or refresh family changed, on any
 * daemon sharing the database, and a listener thread here bumps that
 * user's stamp. While the listening connection is down nothing is served
 * from the cache (a missed NOTIFY cannot leave a stale principal behind),
 * and a new connection starts a new session, which drops every entry. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/log.h"
#include "rollcall/metrics.h"
#include "auth-int.h"

#define CHANNEL		"rollcall_principals"

/* Shared by every thread, written by the listener only. A loop thread's
 * lookup reads two of them, without a lock. */
static _Atomic uint64_t	 pc_session;	/* 0: not listening */
static _Atomic uint32_t	 pc_stamps[AUTH_PCACHE_STAMPS];

struct pc_entry {
	uint64_t		 session;	/* 0: empty */
	uint32_t		 stamp;
	int64_t			 tv;
	char			 sub[40];
	char			 sid[40];	/* "" : a token without sid */
	struct rc_principal	*p;		/* packed (principal_pack) */
};

struct pc_table {
	struct pc_entry		 e[AUTH_PCACHE_SLOTS];
};

/* Each loop's own table, made on first use and freed when the thread
 * ends (the key's destructor). */
static pthread_once_t		 pc_once = PTHREAD_ONCE_INIT;
static pthread_key_t		 pc_key;
static _Thread_local struct pc_table *pc_table;

static struct rc_db_listener	*pc_listener;
static uint64_t			 sessions_made;	/* listener thread only */

/* ---- the per-thread tables ------------------------------------------ */

static void
table_free(void *arg)
{
	struct pc_table *t = arg;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < AUTH_PCACHE_SLOTS; i++)
		free(t->e[i].p);
	free(t);
}

static void
key_make(void)
{
	if (pthread_key_create(&pc_key, table_free) != 0)
		rc_fatal("auth: pthread_key_create failed");
}

static struct pc_table *
table_get(void)
{
	if (pc_table == NULL) {
		pthread_once(&pc_once, key_make);
		pc_table = rc_calloc(1, sizeof(*pc_table));
		(void)pthread_setspecific(pc_key, pc_table);
	}
	return pc_table;
}

/* FNV-1a of the user id: the slot of its entry and of its stamp. */
static uint32_t
user_hash(const char *sub)
{
	uint32_t h = 2166136261u;

	for (; *sub != '\0'; sub++)
		h = (h ^ (unsigned char)*sub) * 16777619u;
	return h;
}

static size_t
packed_len(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copies s to *at (when not NULL) and advances it; the copy, or NULL. */
static char *
pack_str(char **at, const char *s)
{
	char *out = *at;
	size_t n = packed_len(s);

	if (s == NULL)
		return NULL;
	memcpy(out, s, n);
	*at += n;
	return out;
}

struct rc_principal *
auth_principal_pack(const struct rc_principal *src)
{
	size_t n = sizeof(*src) + packed_len(src->user_id) +
	    packed_len(src->org_id) + packed_len(src->role) +
	    packed_len(src->email) + packed_len(src->name) +
	    packed_len(src->manager_id);
	struct rc_principal *p = rc_malloc(n);
	char *at = (char *)(p + 1);

	*p = *src;
	p->user_id = pack_str(&at, src->user_id);
	p->org_id = pack_str(&at, src->org_id);
	p->role = pack_str(&at, src->role);
	p->email = pack_str(&at, src->email);
	p->name = pack_str(&at, src->name);
	p->manager_id = pack_str(&at, src->manager_id);
	return p;
}

void
auth_principal_packed_free(struct rc_principal *p)
{
	free(p);
}

/* ---- lookups (loop threads) ------------------------------------------ */

int
auth_pcache_get(const char *sub, int64_t tv, const char *sid,
    struct rc_principal **out)
{
	uint64_t session = atomic_load_explicit(&pc_session,
	    memory_order_acquire);
	uint32_t h = user_hash(sub);
	struct pc_entry *e;

	if (session == 0)
		return 0;
	if (pc_table == NULL) {
		rc_metrics_principal_lookup(0);
		return 0;
	}
	e = &pc_table->e[h % AUTH_PCACHE_SLOTS];
	if (e->session != session || e->tv != tv ||
	    strcmp(e->sub, sub) != 0 || strcmp(e->sid, sid ? sid : "") != 0) {
		rc_metrics_principal_lookup(0);
		return 0;
	}
	if (atomic_load_explicit(&pc_stamps[h % AUTH_PCACHE_STAMPS],
	    memory_order_acquire) != e->stamp) {
		e->session = 0;		/* stale from now on */
		rc_metrics_principal_lookup(0);
		return 0;
	}
	*out = auth_principal_pack(e->p);
	rc_metrics_principal_lookup(1);
	return 1;
}

void
auth_pcache_ticket(const char *sub, struct auth_pcache_ticket *t)
{
	t->session = atomic_load(&pc_session);
	t->stamp = atomic_load(&pc_stamps[user_hash(sub) %
	    AUTH_PCACHE_STAMPS]);
}

void
auth_pcache_put(const struct auth_pcache_ticket *t, const char *sub,
    int64_t tv, const char *sid, const struct rc_principal *p)
{
	struct pc_entry *e;

	if (t->session == 0 || strlen(sub) >= sizeof(e->sub) ||
	    (sid != NULL && strlen(sid) >= sizeof(e->sid)))
		return;
	e = &table_get()->e[user_hash(sub) % AUTH_PCACHE_SLOTS];
	free(e->p);
	e->p = auth_principal_pack(p);
	e->session = t->session;
	e->stamp = t->stamp;
	e->tv = tv;
	snprintf(e->sub, sizeof(e->sub), "%s", sub);
	snprintf(e->sid, sizeof(e->sid), "%s", sid ? sid : "");
}

void
rc_auth_pcache_forget(const char *user_id)
{
	atomic_fetch_add(&pc_stamps[user_hash(user_id) % AUTH_PCACHE_STAMPS],
	    1);
}

int
rc_auth_pcache_listening(void)
{
	return atomic_load(&pc_session) != 0;
}

/* A new session: every entry of the old one is dropped (NOTIFYs may have
 * been missed in between); 0 turns the cache off. */
static void
session_set(int on)
{
	uint64_t s = on ? ++sessions_made : 0;

	atomic_store(&pc_session, s);
	rc_metrics_principal_listening(on);
}

static void
on_notify(const char *user_id, void *arg)
{
	(void)arg;
	rc_auth_pcache_forget(user_id);
}

static void
on_state(int up, void *arg)
{
	(void)arg;
	session_set(up);
	if (up)
		rc_log(RC_LOG_INFO, "auth: principal cache on (LISTEN "
		    CHANNEL ")");
	else
		rc_log(RC_LOG_INFO, "auth: principal cache off (no LISTEN "
		    "connection)");
}

rc_status
rc_auth_pcache_start(const char *db_url)
{
	if (pc_listener != NULL)
		return RC_OK;
	pc_listener = rc_db_listener_start(db_url, CHANNEL, on_notify,
	    on_state, NULL);
	return pc_listener != NULL ? RC_OK : RC_ERR;
}

void
rc_auth_pcache_stop(void)
{
	rc_db_listener_stop(pc_listener);
	pc_listener = NULL;
	session_set(0);
}
