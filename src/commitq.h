/* SPDX-License-Identifier: ISC */
/*
 * commitq.h: group commit of enrollments. Request threads hand their
 * enrollment (store.h's struct store_enrollment) to a queue; one of them, the
 * leader, takes everything queued, records it in one transaction (each
 * enrollment in its own savepoint, so a conflict undoes only that one) and
 * commits it durably with one fsync; then every thread of the batch returns
 * its own result. No thread returns STORE_OK before the commit that holds its
 * enrollment succeeded; when that commit fails, every enrollment of the batch
 * gets STORE_ERROR. Batches form by themselves while the previous commit is
 * running; besides, an enrollment about to be issued is announced
 * (commitq_expect), and a leader that finds two or more announced waits up
 * to the queue's delay for them to join its batch, so that they share its
 * fsync. A lone request, or one of two, waits for nothing.
 */
#ifndef COMMITQ_H
#define COMMITQ_H

#include <stddef.h>

#include "store.h"

/* The store steps a batch runs (store_batch_* by default; tests put their own). */
struct commitq_ops {
	enum store_rc (*begin)(void *handle);
	enum store_rc (*enroll)(void *handle, const struct store_enrollment *e);
	enum store_rc (*commit)(void *handle);
	void (*rollback)(void *handle);
	const char *(*errmsg)(void *handle);
};

struct commitq;

/*
 * A queue over the store_batch_* functions (ops NULL) or over ops; batches of
 * at most max; a leader waits at most delay_us (0: not at all) for announced
 * enrollments.
 */
struct commitq *commitq_new(const struct commitq_ops *ops, size_t max, long delay_us);
void commitq_free(struct commitq *q);

/*
 * An enrollment that will be recorded here soon (its certificate is being
 * issued) is announced; commitq_enroll counts it off when it is queued, or
 * commitq_withdraw when it will not come (nothing issued, a waiting
 * request). Either way exactly once: an announcement never counted off makes
 * every leader wait its whole delay.
 */
void commitq_expect(struct commitq *q);
void commitq_withdraw(struct commitq *q);

/*
 * Records e durably, in a batch with whatever other enrollments are queued,
 * using handle (a store the calling thread holds) when this thread leads the
 * batch. Returns what store_enroll_commit would, with its reason in err.
 * *led (when not NULL) is the number of enrollments in the batch this thread
 * led and committed, its own included; 0 when another thread's batch held it,
 * or the commit failed.
 */
enum store_rc commitq_enroll(struct commitq *q, void *handle, const struct store_enrollment *e,
    size_t *led, char *err, size_t errlen);

/* Enrollments queued and not yet taken into a batch (for tests). */
size_t commitq_queued(struct commitq *q);

#endif
