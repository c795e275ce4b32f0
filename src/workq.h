/* SPDX-License-Identifier: ISC */
/*
 * workq.h: a first-come, first-served queue of jobs and the threads that run
 * them. httpd.c puts here every request that may block (on the signer
 * process, the store, an upstream CA), so a request waits only for the next
 * free thread, never behind the other requests of whichever libmicrohttpd
 * connection thread its connection happened to land on.
 */
#ifndef WORKQ_H
#define WORKQ_H

#include <stddef.h>

/* A job: embedded in the caller's own structure, which must outlive run(). */
struct workq_job {
	void (*run)(struct workq_job *job);
	struct workq_job *next;      /* the queue's */
};

struct workq;

struct workq *workq_new(void);

/* Starts threads until the queue has at least n. 0, or -1 with a reason. */
int workq_grow(struct workq *q, unsigned n, char *err, size_t errlen);

/* Queues job behind every job queued before it; a free thread runs it. */
void workq_push(struct workq *q, struct workq_job *job);

/* Runs every job still queued, then stops the threads and frees q. */
void workq_free(struct workq *q);

#endif
