/* SPDX-License-Identifier: ISC */
/*
 * commitq.c: group commit of enrollments (commitq.h). It owns the queue of
 * waiting enrollments, the choice of a leader and the hand-back of results;
 * what a batch writes, and how, is store.c's (store_batch_*). Items live on
 * the stacks of the threads that wait for them; the mutex guards the queue,
 * the leader flag and every item's done flag and result.
 *
 * Invariant: a thread becomes leader only when no batch is in flight, and a
 * leader takes every queued item; so when a thread finds no leader, its own
 * item is either done or still queued, and the batch it leads holds it.
 *
 * Gathering: before it takes the queue, a leader that finds at least two
 * enrollments announced by commitq_expect (neither queued nor withdrawn yet)
 * waits, at most delay, until none is left; the last one to be queued or
 * withdrawn ends the wait.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commitq.h"
#include "util.h"

/* Announced enrollments, besides the leader's own, that make a leader wait. */
#define COMMITQ_SIBLINGS 2

struct item {
	const struct store_enrollment *e;
	enum store_rc rc;
	int done;
	char err[256];
	struct item *next;
};

struct commitq {
	struct commitq_ops ops;
	size_t max;
	long delay_us;              /* how long a leader waits for announced enrollments */
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a batch finished */
	pthread_cond_t arrived;     /* an announced enrollment was queued or withdrawn */
	struct item *head, **tail;  /* queued, oldest first */
	size_t queued;
	size_t expected;            /* announced, neither queued nor withdrawn yet */
	int leading;                /* a batch is being written */
};

static enum store_rc op_begin(void *h) { return store_batch_begin(h); }
static enum store_rc op_enroll(void *h, const struct store_enrollment *e)
{
	return store_batch_enroll(h, e);
}
static enum store_rc op_commit(void *h) { return store_batch_commit(h); }
static void op_rollback(void *h) { store_batch_rollback(h); }
static const char *op_errmsg(void *h) { return store_errmsg(h); }

static const struct commitq_ops store_ops = {
	op_begin, op_enroll, op_commit, op_rollback, op_errmsg,
};

struct commitq *commitq_new(const struct commitq_ops *ops, size_t max, long delay_us)
{
	struct commitq *q = xcalloc(1, sizeof(*q));
	int made = 0;   /* how many of mu, cv, arrived were initialised */

	q->ops = ops != NULL ? *ops : store_ops;
	q->max = max > 0 ? max : 1;
	q->delay_us = delay_us > 0 ? delay_us : 0;
	q->tail = &q->head;
	if (pthread_mutex_init(&q->mu, NULL) == 0) {
		made = 1;
		if (pthread_cond_init(&q->cv, NULL) == 0) {
			made = 2;
			if (cond_init_monotonic(&q->arrived) == 0)
				made = 3;
		}
	}
	if (made == 3)
		return q;
	if (made >= 2)
		pthread_cond_destroy(&q->cv);
	if (made >= 1)
		pthread_mutex_destroy(&q->mu);
	free(q);
	return NULL;
}

void commitq_free(struct commitq *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->arrived);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void commitq_expect(struct commitq *q)
{
	pthread_mutex_lock(&q->mu);
	q->expected++;
	pthread_mutex_unlock(&q->mu);
}

/* Counts one announced enrollment off (under the mutex); wakes a gathering leader. */
static void arrived(struct commitq *q)
{
	if (q->expected > 0)
		q->expected--;
	pthread_cond_signal(&q->arrived);
}

void commitq_withdraw(struct commitq *q)
{
	pthread_mutex_lock(&q->mu);
	arrived(q);
	pthread_mutex_unlock(&q->mu);
}

/*
 * The leader's wait (under the mutex) for announced enrollments: until none
 * is outstanding, the batch is full, or delay has passed. Only when at least
 * COMMITQ_SIBLINGS are outstanding: with fewer, the server is not busy enough
 * for the saved fsync to be worth the wait.
 */
static void gather(struct commitq *q)
{
	struct timespec until;

	if (q->delay_us == 0 || q->expected < COMMITQ_SIBLINGS)
		return;
	monotonic_deadline(&until, q->delay_us);
	while (q->expected > 0 && q->queued < q->max)
		if (pthread_cond_timedwait(&q->arrived, &q->mu, &until) == ETIMEDOUT)
			break;
}

/* Takes up to max queued items into batch (under the mutex); returns how many. */
static size_t take_batch(struct commitq *q, struct item **batch)
{
	size_t n = 0;

	while (q->head != NULL && n < q->max) {
		batch[n++] = q->head;
		q->head = q->head->next;
		q->queued--;
	}
	if (q->head == NULL)
		q->tail = &q->head;
	return n;
}

static void set_item(struct commitq *q, void *handle, struct item *it, enum store_rc rc)
{
	it->rc = rc;
	if (rc != STORE_OK)
		snprintf(it->err, sizeof(it->err), "%s", q->ops.errmsg(handle));
}

/*
 * Writes one batch with handle (outside the mutex): begin, each item in its
 * savepoint, commit. A failed begin or commit, or an enrollment that breaks
 * the transaction, fails every item that had not failed on its own.
 * Returns STORE_OK when the batch was committed.
 */
static enum store_rc write_batch(struct commitq *q, void *handle, struct item **batch, size_t n)
{
	enum store_rc rc = q->ops.begin(handle);
	size_t i, applied = 0;

	if (rc != STORE_OK)
		goto out;
	for (applied = 0; applied < n && rc == STORE_OK; applied++) {
		set_item(q, handle, batch[applied], q->ops.enroll(handle, batch[applied]->e));
		if (batch[applied]->rc == STORE_ERROR)
			rc = STORE_ERROR;   /* the transaction may be half-undone: give it up */
	}
	if (rc == STORE_OK)
		rc = q->ops.commit(handle);   /* rolls back itself when it fails */
	else
		q->ops.rollback(handle);
out:
	/* Nothing of a failed batch was written: what had succeeded in it fails too. */
	for (i = 0; rc != STORE_OK && i < n; i++)
		if (i >= applied || batch[i]->rc == STORE_OK)
			set_item(q, handle, batch[i], STORE_ERROR);
	return rc;
}

enum store_rc commitq_enroll(struct commitq *q, void *handle, const struct store_enrollment *e,
    size_t *led, char *err, size_t errlen)
{
	struct item self, **batch = NULL;
	size_t n, i;

	if (led != NULL)
		*led = 0;
	memset(&self, 0, sizeof(self));
	self.e = e;
	self.rc = STORE_ERROR;
	pthread_mutex_lock(&q->mu);
	*q->tail = &self;
	q->tail = &self.next;
	q->queued++;
	arrived(q);
	while (!self.done) {
		if (q->leading) {
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		/* Lead one batch: it holds our own item (see the invariant above). */
		q->leading = 1;
		if (batch == NULL)
			batch = xcalloc(q->max, sizeof(*batch));
		gather(q);
		n = take_batch(q, batch);
		pthread_mutex_unlock(&q->mu);
		if (write_batch(q, handle, batch, n) == STORE_OK && led != NULL)
			*led = n;
		pthread_mutex_lock(&q->mu);
		for (i = 0; i < n; i++)
			batch[i]->done = 1;
		q->leading = 0;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	free(batch);
	if (self.rc != STORE_OK && err != NULL)
		snprintf(err, errlen, "%s", self.err);
	return self.rc;
}

size_t commitq_queued(struct commitq *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->queued;
	pthread_mutex_unlock(&q->mu);
	return n;
}
