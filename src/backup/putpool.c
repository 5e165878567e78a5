/* Blob writes for restore on a few threads: each rc_store_put of the file
 * backend waits for two fsyncs, so one thread spends a restore waiting on
 * the disk; several keep it busy. A bounded queue caps the memory held. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/store.h"
#include "rollcall/util.h"
#include "backup-int.h"

#define PUT_THREADS	8
#define PUT_QUEUE	16

struct put_item {
	unsigned char	*data;
	size_t		 len;
	char		 key[RC_STORE_KEY_LEN + 1];	/* expected */
};

struct put_pool {
	struct rc_store	*store;
	pthread_mutex_t	 mu;
	pthread_cond_t	 not_empty, not_full;
	struct put_item	 q[PUT_QUEUE];
	size_t		 head, count, done;
	int		 closed, failed;
	pthread_t	 threads[PUT_THREADS];
	int		 nthreads;
};

static void *
put_worker(void *arg)
{
	struct put_pool *p = arg;
	struct put_item it;
	char key[RC_STORE_KEY_LEN + 1];
	int ok;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->count == 0 && !p->closed)
			pthread_cond_wait(&p->not_empty, &p->mu);
		if (p->count == 0) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		it = p->q[p->head];
		p->head = (p->head + 1) % PUT_QUEUE;
		p->count--;
		pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->mu);
		ok = rc_store_put(p->store, it.data, it.len, key) == RC_OK &&
		    strcmp(key, it.key) == 0;
		if (!ok)
			fprintf(stderr, "rollcall: restore: cannot store blob %s\n",
			    it.key);
		free(it.data);
		pthread_mutex_lock(&p->mu);
		if (ok)
			p->done++;
		else
			p->failed = 1;
		pthread_mutex_unlock(&p->mu);
	}
}

struct put_pool *
put_pool_new(struct rc_store *store)
{
	struct put_pool *p = rc_calloc(1, sizeof(*p));
	int i;

	p->store = store;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	pthread_cond_init(&p->not_full, NULL);
	for (i = 0; i < PUT_THREADS; i++)
		if (pthread_create(&p->threads[p->nthreads], NULL, put_worker,
		    p) == 0)
			p->nthreads++;
	if (p->nthreads == 0)
		rc_fatal("restore: cannot start a blob writer thread");
	return p;
}

rc_status
put_pool_add(struct put_pool *p, unsigned char *data, size_t len,
    const char *key)
{
	struct put_item *it;
	int failed;

	pthread_mutex_lock(&p->mu);
	while (p->count == PUT_QUEUE && !p->failed)
		pthread_cond_wait(&p->not_full, &p->mu);
	if ((failed = p->failed) == 0) {
		it = &p->q[(p->head + p->count) % PUT_QUEUE];
		it->data = data;
		it->len = len;
		snprintf(it->key, sizeof(it->key), "%s", key);
		p->count++;
		pthread_cond_signal(&p->not_empty);
	}
	pthread_mutex_unlock(&p->mu);
	if (failed)
		free(data);
	return failed ? RC_ERR : RC_OK;
}

rc_status
put_pool_finish(struct put_pool *p, size_t *stored)
{
	rc_status rc;
	int i;

	pthread_mutex_lock(&p->mu);
	p->closed = 1;
	pthread_cond_broadcast(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	rc = p->failed ? RC_ERR : RC_OK;
	*stored = p->done;
	pthread_cond_destroy(&p->not_full);
	pthread_cond_destroy(&p->not_empty);
	pthread_mutex_destroy(&p->mu);
	free(p);
	return rc;
}
