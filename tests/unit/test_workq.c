/* SPDX-License-Identifier: ISC */
/*
 * test_workq.c: the request threads' queue (workq.c). With one thread, jobs
 * run in the order they were queued; a job that blocks holds only its own
 * thread (a second thread runs the jobs behind it); workq_grow only adds
 * threads; workq_free runs every job still queued before it returns. Nothing
 * here waits on a clock except generous time-outs on conditions.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "workq.h"

#define NJOBS 200
#define WAIT_LIMIT_S 60

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int order[NJOBS];            /* job numbers in the order they ran */
	int n;
	int hold;                    /* the blocking job waits while set */
	int holding;                 /* the blocking job has started */
};

struct job {
	struct workq_job w;          /* first member */
	struct rec *r;
	int no;
	int blocks;
};

static void run(struct workq_job *wj)
{
	struct job *j = (struct job *)wj;
	struct rec *r = j->r;

	pthread_mutex_lock(&r->mu);
	if (j->blocks) {
		r->holding = 1;
		pthread_cond_broadcast(&r->cv);
		while (r->hold)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	r->order[r->n++] = j->no;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Waits until cond(r) holds, or WAIT_LIMIT_S. 1 if it holds. Called under r->mu. */
static int wait_for(struct rec *r, int (*cond)(const struct rec *, int), int arg)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_LIMIT_S;
	while (!cond(r, arg))
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0)
			return cond(r, arg);
	return 1;
}

static int ran_at_least(const struct rec *r, int n) { return r->n >= n; }
static int is_holding(const struct rec *r, int unused) { (void)unused; return r->holding; }

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void test_order(void)
{
	static struct job jobs[NJOBS];
	struct rec r;
	struct workq *q = workq_new();
	char err[256] = "";
	int i, in_order = 1;

	rec_init(&r);
	r.hold = 1;
	jobs[0] = (struct job){ .w.run = run, .r = &r, .no = 0, .blocks = 1 };
	ok(workq_grow(q, 1, err, sizeof(err)) == 0, "one thread starts%s%s", *err ? ": " : "", err);
	workq_push(q, &jobs[0].w);
	pthread_mutex_lock(&r.mu);
	ok(wait_for(&r, is_holding, 0), "the first job runs");
	pthread_mutex_unlock(&r.mu);
	/* everything else is queued behind it, in order */
	for (i = 1; i < NJOBS; i++) {
		jobs[i] = (struct job){ .w.run = run, .r = &r, .no = i };
		workq_push(q, &jobs[i].w);
	}
	pthread_mutex_lock(&r.mu);
	r.hold = 0;
	pthread_cond_broadcast(&r.cv);
	ok(wait_for(&r, ran_at_least, NJOBS), "all %d jobs ran", NJOBS);
	for (i = 0; i < r.n; i++)
		in_order &= r.order[i] == i;
	pthread_mutex_unlock(&r.mu);
	ok(in_order, "one thread runs them in the order they were queued");
	workq_free(q);
}

static void test_blocked_thread(void)
{
	struct job slow, quick;
	struct rec r;
	struct workq *q = workq_new();
	char err[256] = "";
	int quick_ran;

	rec_init(&r);
	r.hold = 1;
	slow = (struct job){ .w.run = run, .r = &r, .no = 1, .blocks = 1 };
	quick = (struct job){ .w.run = run, .r = &r, .no = 2 };
	ok(workq_grow(q, 2, err, sizeof(err)) == 0, "two threads start%s%s", *err ? ": " : "", err);
	ok(workq_grow(q, 1, err, sizeof(err)) == 0, "growing to fewer threads is no error");
	workq_push(q, &slow.w);
	pthread_mutex_lock(&r.mu);
	ok(wait_for(&r, is_holding, 0), "a blocking job holds one thread");
	pthread_mutex_unlock(&r.mu);
	workq_push(q, &quick.w);
	pthread_mutex_lock(&r.mu);
	quick_ran = wait_for(&r, ran_at_least, 1) && r.order[0] == 2;
	ok(quick_ran, "the job behind it runs on the other thread meanwhile");
	r.hold = 0;
	pthread_cond_broadcast(&r.cv);
	ok(wait_for(&r, ran_at_least, 2), "the blocking job ends when released");
	pthread_mutex_unlock(&r.mu);
	workq_free(q);
}

static void test_free_runs_queued(void)
{
	static struct job jobs[NJOBS];
	struct rec r;
	struct workq *q = workq_new();
	int i;

	rec_init(&r);
	/* no thread at all: workq_free runs what is queued itself */
	for (i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .w.run = run, .r = &r, .no = i };
		workq_push(q, &jobs[i].w);
	}
	workq_free(q);
	is_int(r.n, NJOBS, "workq_free runs every job still queued");
}

int main(void)
{
	test_order();
	test_blocked_thread();
	test_free_runs_queued();
	return done_testing();
}
