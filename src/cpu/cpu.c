/* A fixed set of worker threads around one mutex-protected FIFO. The result
 * goes back to the submitting loop through rc_http_post. */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "rollcall/cpu.h"
#include "rollcall/http.h"
#include "rollcall/log.h"

/* Niceness of the workers, relative to the loops. */
#define CPU_NICE	10

struct cpu_job {
	struct rc_loop	*loop;
	void		(*work)(void *);
	void		(*done)(void *);
	void		*arg;
	struct rc_log_context ctx;	/* the submitter's */
	struct cpu_job	*next;
};

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 ready = PTHREAD_COND_INITIALIZER;
static struct cpu_job	*head, *tail;
static int		 backlog;
static int		 stopping;
static pthread_t	*workers;
static int		 nworkers;

static void *
worker_main(void *unused)
{
	struct cpu_job *job;

	(void)unused;
	/* Below the loop threads: a burst of hashing must not delay replies
	 * that only need a few microseconds of CPU (Linux nice is per
	 * thread). */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), CPU_NICE);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (head == NULL && !stopping)
			pthread_cond_wait(&ready, &lock);
		if ((job = head) == NULL) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		if ((head = job->next) == NULL)
			tail = NULL;
		backlog--;
		pthread_mutex_unlock(&lock);

		/* The work, and the done posted back, in the context of the
		 * request that submitted them. */
		rc_log_context_restore(&job->ctx);
		job->work(job->arg);
		if (job->loop != NULL)
			rc_http_post(job->loop, job->done, job->arg);
		else if (job->done != NULL)
			job->done(job->arg);
		rc_log_context_clear();
		free(job);
	}
}

rc_status
rc_cpu_start(int n)
{
	int i;

	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	stopping = 0;
	workers = rc_calloc((size_t)n, sizeof(pthread_t));
	for (i = 0; i < n; i++) {
		if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0)
			return RC_ERR;
		nworkers++;
	}
	return RC_OK;
}

void
rc_cpu_stop(void)
{
	int i;

	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&ready);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	workers = NULL;
	nworkers = 0;
}

void
rc_cpu_submit(struct rc_loop *loop, void (*work)(void *), void (*done)(void *),
    void *arg)
{
	struct cpu_job *job = rc_calloc(1, sizeof(*job));

	job->loop = loop;
	job->work = work;
	job->done = done;
	job->arg = arg;
	rc_log_context_save(&job->ctx);
	pthread_mutex_lock(&lock);
	if (tail != NULL)
		tail->next = job;
	else
		head = job;
	tail = job;
	backlog++;
	pthread_cond_signal(&ready);
	pthread_mutex_unlock(&lock);
}

int
rc_cpu_backlog(void)
{
	int n;

	pthread_mutex_lock(&lock);
	n = backlog;
	pthread_mutex_unlock(&lock);
	return n;
}
