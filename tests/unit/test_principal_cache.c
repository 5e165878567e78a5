/* Unit tests of the principal cache (src/auth/principal_cache.c), without a
 * database: the listener's state changes are called directly. Includes the
 * .c to reach them. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/auth/principal_cache.c"

#define ADA	"2b1f4a8e-0000-4000-8000-000000000001"
#define SID	"5a1d0000-0000-4000-8000-00000000000f"

static const struct rc_principal ada = {
	.user_id = ADA,
	.org_id = "7c0de000-0000-4000-8000-000000000002",
	.role = "admin",
	.email = "ada@acme.example",
	.name = "Ada",
	.manager_id = NULL,
	.role_bit = RC_ROLE_ADMIN,
	.must_change_password = 1,
};

static void
remember(const char *sub, int64_t tv, const char *sid,
    const struct rc_principal *p)
{
	struct auth_pcache_ticket t;

	auth_pcache_ticket(sub, &t);
	auth_pcache_put(&t, sub, tv, sid, p);
}

/* Whether (sub, tv, sid) is a hit; frees what it got. */
static int
hit(const char *sub, int64_t tv, const char *sid)
{
	struct rc_principal *p = NULL;
	int h = auth_pcache_get(sub, tv, sid, &p);

	auth_principal_packed_free(p);
	return h;
}

static int
setup(void **state)
{
	(void)state;
	on_state(1, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	on_state(0, NULL);
	return 0;
}

static void
test_hit_is_a_copy(void **state)
{
	struct rc_principal *p = NULL;

	(void)state;
	remember(ADA, 3, SID, &ada);
	assert_true(auth_pcache_get(ADA, 3, SID, &p));
	assert_ptr_not_equal(p->user_id, ada.user_id);
	assert_string_equal(p->user_id, ADA);
	assert_string_equal(p->org_id, ada.org_id);
	assert_string_equal(p->role, "admin");
	assert_string_equal(p->email, ada.email);
	assert_string_equal(p->name, "Ada");
	assert_null(p->manager_id);
	assert_int_equal(p->role_bit, RC_ROLE_ADMIN);
	assert_int_equal(p->must_change_password, 1);
	auth_principal_packed_free(p);
}

/* The key is (user, token version, session): another tv or sid misses;
 * a token without sid has its own entry. */
static void
test_key(void **state)
{
	(void)state;
	remember(ADA, 3, SID, &ada);
	assert_true(hit(ADA, 3, SID));
	assert_false(hit(ADA, 4, SID));
	assert_false(hit(ADA, 3, "5a1d0000-0000-4000-8000-0000000000ff"));
	assert_false(hit(ADA, 3, NULL));
	assert_false(hit("2b1f4a8e-0000-4000-8000-000000000002", 3, SID));
	remember(ADA, 3, NULL, &ada);
	assert_true(hit(ADA, 3, NULL));
	assert_false(hit(ADA, 3, SID));	/* one slot per user */
}

static void
test_forget(void **state)
{
	(void)state;
	remember(ADA, 3, SID, &ada);
	rc_auth_pcache_forget(ADA);
	assert_false(hit(ADA, 3, SID));
	remember(ADA, 3, SID, &ada);
	assert_true(hit(ADA, 3, SID));
}

/* A NOTIFY arriving while the miss's query runs: the row it returns may
 * predate the change, so it is not served. */
static void
test_forget_during_the_query(void **state)
{
	struct auth_pcache_ticket t;

	(void)state;
	auth_pcache_ticket(ADA, &t);
	rc_auth_pcache_forget(ADA);
	auth_pcache_put(&t, ADA, 3, SID, &ada);
	assert_false(hit(ADA, 3, SID));
}

/* Listener down: nothing is served, nothing stored; back up: a new
 * session, so what was cached before is gone too. */
static void
test_listener_down_and_back(void **state)
{
	struct auth_pcache_ticket t;

	(void)state;
	remember(ADA, 3, SID, &ada);
	auth_pcache_ticket(ADA, &t);
	on_state(0, NULL);
	assert_false(rc_auth_pcache_listening());
	assert_false(hit(ADA, 3, SID));
	remember(ADA, 3, SID, &ada);
	on_state(1, NULL);
	assert_false(hit(ADA, 3, SID));
	auth_pcache_put(&t, ADA, 3, SID, &ada);	/* taken in the old session */
	assert_false(hit(ADA, 3, SID));
	remember(ADA, 3, SID, &ada);
	assert_true(hit(ADA, 3, SID));
}

/* Bounded: AUTH_PCACHE_SLOTS entries at most; more users evict. */
static void
test_bounded(void **state)
{
	char id[40];
	int i, hits = 0, n = 4 * AUTH_PCACHE_SLOTS;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
		remember(id, 0, NULL, &ada);
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
		hits += hit(id, 0, NULL);
	}
	assert_true(hits > 0);
	assert_true(hits <= AUTH_PCACHE_SLOTS);
}

static void *
other_thread(void *arg)
{
	int *h = arg;

	*h = hit(ADA, 3, SID);
	remember(ADA, 3, SID, &ada);	/* freed when this thread ends */
	return NULL;
}

/* Each loop thread has its own table, but a forget reaches them all. */
static void
test_per_thread(void **state)
{
	pthread_t t;
	int h = -1;

	(void)state;
	remember(ADA, 3, SID, &ada);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &h), 0);
	pthread_join(t, NULL);
	assert_int_equal(h, 0);
	assert_true(hit(ADA, 3, SID));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_is_a_copy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_during_the_query,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_down_and_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_thread, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("principal_cache", tests, NULL,
	    NULL);
}
