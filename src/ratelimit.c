/* SPDX-License-Identifier: ISC */
/*
 * ratelimit.c: a fixed-size table of failure counters keyed by client
 * address, behind one mutex. Each entry counts failures in a fixed window
 * that starts with its first failure. A full table forgets its oldest entry,
 * so memory stays bounded whatever the number of addresses. No global state:
 * the server owns its tables.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

#define RL_ADDR_LEN 64

struct rl_entry {
	char addr[RL_ADDR_LEN];
	int64_t start;             /* first failure of the current window */
	unsigned count;            /* 0: free slot */
};

struct ratelimit {
	pthread_mutex_t lock;
	unsigned max_failures;
	unsigned window;
	size_t capacity;
	struct rl_entry *entries;
};

struct ratelimit *ratelimit_new(unsigned max_failures, unsigned window, size_t capacity)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return NULL;
	}
	rl->max_failures = max_failures;
	rl->window = window;
	rl->capacity = capacity > 0 ? capacity : 1;
	rl->entries = xcalloc(rl->capacity, sizeof(*rl->entries));
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->entries);
	free(rl);
}

void ratelimit_set_limits(struct ratelimit *rl, unsigned max_failures, unsigned window)
{
	if (rl == NULL || pthread_mutex_lock(&rl->lock) != 0)
		return;
	rl->max_failures = max_failures;
	rl->window = window;
	pthread_mutex_unlock(&rl->lock);
}

static int expired(const struct ratelimit *rl, const struct rl_entry *e, int64_t now)
{
	return e->count == 0 || now - e->start >= (int64_t)rl->window;
}

/* The seconds e blocks at now (lock held). */
static unsigned remaining(const struct ratelimit *rl, const struct rl_entry *e, int64_t now)
{
	if (expired(rl, e, now) || e->count < rl->max_failures)
		return 0;
	return (unsigned)(e->start + (int64_t)rl->window - now);
}

static struct rl_entry *find(struct ratelimit *rl, const char *addr)
{
	size_t i;

	for (i = 0; i < rl->capacity; i++)
		if (rl->entries[i].count != 0 && strcmp(rl->entries[i].addr, addr) == 0)
			return &rl->entries[i];
	return NULL;
}

unsigned ratelimit_blocked(struct ratelimit *rl, const char *addr, int64_t now)
{
	struct rl_entry *e;
	unsigned result = 0;

	if (rl == NULL || rl->max_failures == 0 || addr == NULL)
		return 0;
	if (pthread_mutex_lock(&rl->lock) != 0)
		return 0;
	if ((e = find(rl, addr)) != NULL)
		result = remaining(rl, e, now);
	pthread_mutex_unlock(&rl->lock);
	return result;
}

unsigned ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now)
{
	struct rl_entry *e, *victim = NULL;
	unsigned result = 0;
	size_t i;

	if (rl == NULL || rl->max_failures == 0 || addr == NULL)
		return 0;
	if (pthread_mutex_lock(&rl->lock) != 0)
		return 0;
	if ((e = find(rl, addr)) == NULL) {
		/* A free or expired slot, else the entry whose window began first. */
		for (i = 0; i < rl->capacity; i++) {
			struct rl_entry *c = &rl->entries[i];

			if (expired(rl, c, now)) {
				victim = c;
				break;
			}
			if (victim == NULL || c->start < victim->start)
				victim = c;
		}
		e = victim;
		memset(e, 0, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
	}
	if (expired(rl, e, now)) {
		e->start = now;
		e->count = 0;
	}
	if (e->count < rl->max_failures)
		e->count++;
	result = remaining(rl, e, now);
	pthread_mutex_unlock(&rl->lock);
	return result;
}
