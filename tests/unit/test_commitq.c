/* SPDX-License-Identifier: ISC */
/*
 * test_commitq.c: group commit (commitq.c) and the store steps it runs
 * (store_batch_*). With stand-in store steps that the test holds and fails
 * at will: a reply (commitq_enroll returning) comes only after the commit
 * holding its enrollment; enrollments queued during a commit form the next
 * batch; a failed commit fails exactly its batch's enrollments, never with
 * STORE_OK, and leaves later batches alone; a conflict stays one
 * enrollment's own. With the real SQLite store: a conflict inside a batch
 * is undone alone, a rolled-back batch leaves nothing, and many threads at
 * once all get their certificate recorded. A leader waits for enrollments
 * announced as being issued (commit_delay), until they come, are withdrawn,
 * or the delay ends; with fewer than two others announced it waits for
 * nothing. Nothing here
 * waits on a clock except for generous time-outs on conditions, and one
 * 0.2 s pause to see that a leader is still waiting.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "catest.h"
#include "commitq.h"
#include "store.h"
#include "util.h"

#define WAIT_LIMIT_S 60
#define MAX_TIDS 16
#define NTHREADS 8
#define NROUNDS 25

/* --- stand-in store steps ------------------------------------------------- */

struct fake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int hold_begin;              /* begin blocks while set */
	int begin_waiting;           /* threads blocked in begin */
	int batch;                   /* number of the batch being written (1, 2, ...) */
	int committed[MAX_TIDS];     /* [batch]: its commit succeeded */
	int fail_batch;              /* this batch's commit fails */
	char conflict_tid[16];       /* this transactionID conflicts */
	struct { char tid[16]; int batch; } applied[MAX_TIDS];
	int n_applied;
};

static enum store_rc fake_begin(void *h)
{
	struct fake *f = h;

	pthread_mutex_lock(&f->mu);
	f->begin_waiting++;
	pthread_cond_broadcast(&f->cv);
	while (f->hold_begin)
		pthread_cond_wait(&f->cv, &f->mu);
	f->begin_waiting--;
	f->batch++;
	pthread_mutex_unlock(&f->mu);
	return STORE_OK;
}

static enum store_rc fake_enroll(void *h, const struct store_enrollment *e)
{
	struct fake *f = h;
	enum store_rc rc = STORE_OK;

	pthread_mutex_lock(&f->mu);
	snprintf(f->applied[f->n_applied].tid, sizeof(f->applied[0].tid), "%s", e->transaction_id);
	f->applied[f->n_applied++].batch = f->batch;
	if (strcmp(e->transaction_id, f->conflict_tid) == 0)
		rc = STORE_CONFLICT;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static enum store_rc fake_commit(void *h)
{
	struct fake *f = h;
	enum store_rc rc = STORE_OK;

	pthread_mutex_lock(&f->mu);
	if (f->batch == f->fail_batch)
		rc = STORE_ERROR;
	else
		f->committed[f->batch] = 1;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static void fake_rollback(void *h) { (void)h; }

static const char *fake_errmsg(void *h)
{
	struct fake *f = h;

	return f->batch == f->fail_batch ? "disk full (test)" : "conflict (test)";
}

static const struct commitq_ops fake_ops = {
	fake_begin, fake_enroll, fake_commit, fake_rollback, fake_errmsg,
};

static int batch_of(struct fake *f, const char *tid)
{
	int i, b = -1;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->n_applied; i++)
		if (strcmp(f->applied[i].tid, tid) == 0)
			b = f->applied[i].batch;
	pthread_mutex_unlock(&f->mu);
	return b;
}

struct submitter {
	struct commitq *q;
	struct fake *f;
	char tid[16];
	struct store_enrollment e;
	enum store_rc rc;
	int committed_at_return;     /* its batch had committed when commitq_enroll returned */
	int finished;                /* commitq_enroll returned (under f->mu) */
	size_t led;                  /* the size of the batch it led, 0: none */
	char err[256];
	pthread_t t;
};

static void *submit(void *arg)
{
	struct submitter *s = arg;
	int b;

	memset(&s->e, 0, sizeof(s->e));
	s->e.transaction_id = s->tid;
	s->rc = commitq_enroll(s->q, s->f, &s->e, &s->led, s->err, sizeof(s->err));
	b = batch_of(s->f, s->tid);
	pthread_mutex_lock(&s->f->mu);
	s->committed_at_return = b > 0 && s->f->committed[b];
	s->finished = 1;
	pthread_cond_broadcast(&s->f->cv);
	pthread_mutex_unlock(&s->f->mu);
	return NULL;
}

/* Waits (up to WAIT_LIMIT_S) until s's commitq_enroll returned; then joins it. */
static int wait_finished(struct submitter *s)
{
	struct timespec until;
	int done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_LIMIT_S;
	pthread_mutex_lock(&s->f->mu);
	while (!s->finished && pthread_cond_timedwait(&s->f->cv, &s->f->mu, &until) == 0)
		;
	done = s->finished;
	pthread_mutex_unlock(&s->f->mu);
	if (done)
		pthread_join(s->t, NULL);
	return done;
}

static void start(struct submitter *s, struct commitq *q, struct fake *f, const char *tid)
{
	s->q = q;
	s->f = f;
	snprintf(s->tid, sizeof(s->tid), "%s", tid);
	if (pthread_create(&s->t, NULL, submit, s) != 0)
		abort();
}

/* Waits (up to WAIT_LIMIT_S) until f->begin_waiting reaches n. */
static int wait_begin(struct fake *f, int n)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_LIMIT_S;
	pthread_mutex_lock(&f->mu);
	while (f->begin_waiting < n && r == 0)
		r = pthread_cond_timedwait(&f->cv, &f->mu, &until);
	r = f->begin_waiting >= n;
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* Waits (up to WAIT_LIMIT_S) until n enrollments are queued behind the running batch. */
static int wait_queued(struct commitq *q, size_t n)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	time_t until = time(NULL) + WAIT_LIMIT_S;

	while (commitq_queued(q) < n && time(NULL) < until)
		nanosleep(&pause, NULL);
	return commitq_queued(q) == n;
}

static void test_semantics(void)
{
	struct fake f;
	struct commitq *q;
	struct submitter s[6];
	int i;

	memset(&f, 0, sizeof(f));
	memset(s, 0, sizeof(s));
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	f.hold_begin = 1;
	f.fail_batch = 2;
	snprintf(f.conflict_tid, sizeof(f.conflict_tid), "t3");
	q = commitq_new(&fake_ops, 64, 0);
	ok(q != NULL, "commitq_new");

	/* t0 leads batch 1 and is held in begin; t1..t4 queue behind it. */
	start(&s[0], q, &f, "t0");
	ok(wait_begin(&f, 1), "t0 leads the first batch");
	for (i = 1; i <= 4; i++) {
		char tid[16];

		snprintf(tid, sizeof(tid), "t%d", i);
		start(&s[i], q, &f, tid);
	}
	ok(wait_queued(q, 4), "t1..t4 wait in the queue while batch 1 is being written");
	pthread_mutex_lock(&f.mu);
	f.hold_begin = 0;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	for (i = 0; i <= 4; i++)
		pthread_join(s[i].t, NULL);

	is_int(s[0].rc, STORE_OK, "t0: its batch committed, STORE_OK");
	ok(s[0].committed_at_return, "t0 returned only after its batch's commit");
	is_int(batch_of(&f, "t0"), 1, "t0 was written in batch 1");
	for (i = 1; i <= 4; i++)
		is_int(batch_of(&f, s[i].tid), 2, "%s was written in batch 2 (queued together)",
		    s[i].tid);
	for (i = 1; i <= 4; i++) {
		if (i == 3)
			continue;
		is_int(s[i].rc, STORE_ERROR, "%s: its batch's commit failed: STORE_ERROR, not OK",
		    s[i].tid);
		ok(strstr(s[i].err, "disk full") != NULL, "%s: the reason is the commit's (%s)",
		    s[i].tid, s[i].err);
	}
	is_int(s[3].rc, STORE_CONFLICT, "t3: its own conflict is kept");
	is_int((int)s[0].led, 1, "t0 says it led a committed batch of 1");
	is_int((int)(s[1].led + s[2].led + s[3].led + s[4].led), 0,
	    "batch 2's commit failed: none of t1..t4 says it led a committed batch");

	/* A failed batch does not stop the next one. */
	start(&s[5], q, &f, "t5");
	pthread_join(s[5].t, NULL);
	is_int(s[5].rc, STORE_OK, "t5 after the failed batch: STORE_OK");
	ok(s[5].committed_at_return, "t5 returned only after its batch's commit");
	is_int(batch_of(&f, "t5"), 3, "t5 was written in batch 3");
	is_int((int)s[5].led, 1, "  and says it led that batch of 1");
	is_int(commitq_queued(q), 0, "nothing left queued");
	commitq_free(q);
	pthread_cond_destroy(&f.cv);
	pthread_mutex_destroy(&f.mu);
}

/*
 * Gathering (commit_delay). The delays are far longer than the test's time-outs,
 * so a leader that returns did so because the wait ended, not because it
 * timed out; the one time-out checked is short.
 */
static void test_gather(void)
{
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	struct fake f;
	struct commitq *q;
	struct submitter s[8];

	memset(&f, 0, sizeof(f));
	memset(s, 0, sizeof(s));
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	q = commitq_new(&fake_ops, 64, 2L * WAIT_LIMIT_S * 1000000);

	start(&s[0], q, &f, "g0");
	ok(wait_finished(&s[0]), "nothing announced: a lone enrollment waits for nothing");
	is_int(s[0].rc, STORE_OK, "  and is recorded");

	/* one other announced (two clients): not busy enough to wait */
	commitq_expect(q);
	commitq_expect(q);
	start(&s[1], q, &f, "g1");
	ok(wait_finished(&s[1]), "one other enrollment announced: g1 does not wait for it");
	commitq_withdraw(q);

	/* g2, g3, g4 announced; g2 leads and waits for the two others: one batch */
	commitq_expect(q);
	commitq_expect(q);
	commitq_expect(q);
	start(&s[2], q, &f, "g2");
	ok(wait_queued(q, 1), "g2 queued");
	nanosleep(&pause, NULL);
	is_int((int)commitq_queued(q), 1, "  and still queued 0.2 s later: its leader waits for "
	    "g3 and g4, announced");
	start(&s[3], q, &f, "g3");
	ok(wait_queued(q, 2), "g3 queued beside it");
	start(&s[4], q, &f, "g4");
	ok(wait_finished(&s[2]) && wait_finished(&s[3]) && wait_finished(&s[4]),
	    "g4 queued: all three return");
	ok(batch_of(&f, "g2") > 0 && batch_of(&f, "g2") == batch_of(&f, "g3") &&
	    batch_of(&f, "g3") == batch_of(&f, "g4"), "  g2, g3, g4 were written in one batch "
	    "(%d, %d, %d)", batch_of(&f, "g2"), batch_of(&f, "g3"), batch_of(&f, "g4"));
	ok(s[2].rc == STORE_OK && s[3].rc == STORE_OK && s[4].rc == STORE_OK &&
	    s[2].committed_at_return && s[3].committed_at_return && s[4].committed_at_return,
	    "  all recorded, each after its commit");
	is_int((int)(s[2].led + s[3].led + s[4].led), 3, "  one of them says it led the batch "
	    "of 3 (%zu %zu %zu)", s[2].led, s[3].led, s[4].led);

	/* g5 leads, waiting for two more announced; both are withdrawn: g5 goes on */
	commitq_expect(q);
	commitq_expect(q);
	commitq_expect(q);
	start(&s[5], q, &f, "g5");
	ok(wait_queued(q, 1), "g5 queued, waiting for two other announced enrollments");
	commitq_withdraw(q);
	commitq_withdraw(q);
	ok(wait_finished(&s[5]), "  both are withdrawn (nothing issued): g5 returns");
	is_int(s[5].rc, STORE_OK, "  recorded");
	commitq_free(q);

	/* a short delay: announced enrollments that never come hold no one long */
	q = commitq_new(&fake_ops, 64, 100 * 1000);
	commitq_expect(q);
	commitq_expect(q);
	commitq_expect(q);
	start(&s[6], q, &f, "g6");
	ok(wait_finished(&s[6]), "commit_delay 0.1 s, two announced never come: g6 returns");
	is_int(s[6].rc, STORE_OK, "  recorded, alone in batch %d", batch_of(&f, "g6"));
	commitq_withdraw(q);
	commitq_withdraw(q);
	commitq_free(q);
	pthread_cond_destroy(&f.cv);
	pthread_mutex_destroy(&f.mu);
}

/* --- the real store ------------------------------------------------------- */

static char tmpdir[64];
static const unsigned char fake_der[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
static const unsigned char key[32] = { 1, 2, 3 };

static void make(struct store_enrollment *e, struct store_cert *c, const char *tid,
    const char *serial)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	c->subject = (char *)"CN=commitq";
	c->not_before = 1000;
	c->not_after = 2000;
	c->der = (unsigned char *)fake_der;
	c->der_len = sizeof(fake_der);
	memset(e, 0, sizeof(*e));
	e->transaction_id = tid;
	e->message_type = 19;
	e->pubkey_sha256 = key;
	e->subject = c->subject;
	e->now = 1000;
	e->cert = c;
}

static int issued(struct store *st, const char *tid, const char *serial)
{
	struct store_cert *c = NULL;
	unsigned char k[32];
	int r;

	if (store_issued_for_transaction(st, tid, &c, k) != STORE_OK)
		return 0;
	r = serial == NULL || strcmp(c->serial, serial) == 0;
	store_cert_free(c);
	return r;
}

struct worker {
	struct store_pool *pool;
	struct commitq *q;
	int id, ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct store *st;
	char err[256];
	int i;

	if ((st = store_pool_get(w->pool, err, sizeof(err))) == NULL)
		return NULL;
	for (i = 0; i < NROUNDS; i++) {
		struct store_enrollment e;
		struct store_cert c;
		char tid[32], serial[32];

		snprintf(tid, sizeof(tid), "w%d-%d", w->id, i);
		snprintf(serial, sizeof(serial), "%02X%04X", w->id, i);
		make(&e, &c, tid, serial);
		if (commitq_enroll(w->q, st, &e, NULL, err, sizeof(err)) == STORE_OK)
			w->ok++;
	}
	store_pool_put(w->pool, st);
	return NULL;
}

static void test_store_batches(void)
{
	char err[256] = "", *path = xasprintf("%s/cq.db", tmpdir);
	struct store *st = store_open(path, err, sizeof(err));
	struct store_enrollment e;
	struct store_cert c;
	struct store_pool *pool;
	struct commitq *q;
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	int i, all = 1, sum = 0;

	ok(st != NULL, "store_open (%s)", err);
	if (st == NULL)
		goto out;
	make(&e, &c, "dup", "AA01");
	is_int(store_enroll_commit(st, &e), STORE_OK, "dup recorded on its own");

	is_int(store_batch_begin(st), STORE_OK, "a batch begins");
	make(&e, &c, "a", "AA02");
	is_int(store_batch_enroll(st, &e), STORE_OK, "a in the batch");
	make(&e, &c, "dup", "AA03");
	is_int(store_batch_enroll(st, &e), STORE_CONFLICT, "dup again in the batch: STORE_CONFLICT");
	make(&e, &c, "b", "AA04");
	is_int(store_batch_enroll(st, &e), STORE_OK, "b in the batch after the conflict");
	is_int(store_batch_commit(st), STORE_OK, "the batch commits");
	ok(issued(st, "a", "AA02") && issued(st, "b", "AA04"), "a and b are recorded");
	ok(issued(st, "dup", "AA01"), "dup keeps its first certificate");
	is_int(store_cert_by_serial(st, "AA03", &(struct store_cert *){ NULL }), STORE_NOT_FOUND,
	    "the conflicting enrollment's certificate was undone alone");

	is_int(store_batch_begin(st), STORE_OK, "another batch begins");
	make(&e, &c, "c", "AA05");
	is_int(store_batch_enroll(st, &e), STORE_OK, "c in the batch");
	store_batch_rollback(st);
	ok(!issued(st, "c", NULL), "a rolled-back batch leaves nothing");
	store_close(st);

	if ((pool = store_pool_new(path, err, sizeof(err))) == NULL ||
	    (q = commitq_new(NULL, 64, 0)) == NULL) {
		ok(0, "store_pool_new / commitq_new (%s)", err);
		store_pool_free(pool);
		goto out;
	}
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ pool, q, i, 0 };
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			abort();
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		sum += w[i].ok;
	}
	is_int(sum, NTHREADS * NROUNDS, "%d threads x %d enrollments through the queue: all OK",
	    NTHREADS, NROUNDS);
	if ((st = store_pool_get(pool, err, sizeof(err))) != NULL) {
		for (i = 0; i < NTHREADS * NROUNDS; i++) {
			char tid[32];

			snprintf(tid, sizeof(tid), "w%d-%d", i / NROUNDS, i % NROUNDS);
			all &= issued(st, tid, NULL);
		}
		store_pool_put(pool, st);
	}
	ok(all, "every one of them is in the store");
	commitq_free(q);
	store_pool_free(pool);
out:
	unlink(path);
	free(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/scepd-test-commitq-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_semantics();
	test_gather();
	test_store_batches();
	catest_rmrf(tmpdir);
	return done_testing();
}
