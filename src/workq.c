/* SPDX-License-Identifier: ISC */
/*
 * workq.c: a first-come, first-served job queue and its threads (workq.h).
 * The mutex guards the queue, the thread list and the stop flag; a job runs
 * outside it. Threads are only ever added: a queue stops as a whole.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "workq.h"

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;             /* a job was queued, or the queue stops */
	struct workq_job *head, **tail;
	pthread_t *threads;
	unsigned n;
	int stopping;
};

struct workq *workq_new(void)
{
	struct workq *q = xcalloc(1, sizeof(*q));

	if (pthread_mutex_init(&q->mu, NULL) != 0 || pthread_cond_init(&q->cv, NULL) != 0) {
		fputs("scepd: cannot initialise a job queue's lock\n", stderr);
		abort();
	}
	q->tail = &q->head;
	return q;
}

/* Takes the oldest job, or NULL when the queue stops and is empty. Called under mu. */
static struct workq_job *take(struct workq *q)
{
	struct workq_job *job;

	while (q->head == NULL && !q->stopping)
		pthread_cond_wait(&q->cv, &q->mu);
	if ((job = q->head) == NULL)
		return NULL;
	if ((q->head = job->next) == NULL)
		q->tail = &q->head;
	job->next = NULL;
	return job;
}

static void *thread_main(void *arg)
{
	struct workq *q = arg;
	struct workq_job *job;

	pthread_mutex_lock(&q->mu);
	while ((job = take(q)) != NULL) {
		pthread_mutex_unlock(&q->mu);
		job->run(job);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int workq_grow(struct workq *q, unsigned n, char *err, size_t errlen)
{
	int e, rc = 0;

	pthread_mutex_lock(&q->mu);
	if (n > q->n)
		q->threads = xrealloc(q->threads, n * sizeof(q->threads[0]));
	while (q->n < n) {
		if ((e = pthread_create(&q->threads[q->n], NULL, thread_main, q)) != 0) {
			errorf(err, errlen, "cannot start a request thread: %s", strerror(e));
			rc = -1;
			break;
		}
		q->n++;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void workq_push(struct workq *q, struct workq_job *job)
{
	pthread_mutex_lock(&q->mu);
	job->next = NULL;
	*q->tail = job;
	q->tail = &job->next;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void workq_free(struct workq *q)
{
	unsigned i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->n; i++)
		pthread_join(q->threads[i], NULL);
	/* with no thread, nothing runs what is left: run it here */
	while (q->head != NULL) {
		struct workq_job *job = q->head;

		q->head = job->next;
		job->run(job);
	}
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->threads);
	free(q);
}
