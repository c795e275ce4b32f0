/* SPDX-License-Identifier: ISC */
/*
 * ratelimit.h: per-client-address failure counters (failed sign-ins on the
 * mscep_admin pages, rejected challenge passwords). After max_failures
 * failures within window seconds of the first one, the address is blocked
 * until that window ends. In memory only, bounded (the oldest entry is
 * forgotten when the table is full), safe to use from every request thread.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* max_failures 0 disables the limit. NULL only if the mutex cannot be made. */
struct ratelimit *ratelimit_new(unsigned max_failures, unsigned window, size_t capacity);
void ratelimit_free(struct ratelimit *rl);

/*
 * New limits for the counters kept so far (a reload): the table and what it
 * counted stay, so a reload does not let an address start again.
 */
void ratelimit_set_limits(struct ratelimit *rl, unsigned max_failures, unsigned window);

/* Seconds addr stays blocked, 0 when it is not blocked. */
unsigned ratelimit_blocked(struct ratelimit *rl, const char *addr, int64_t now);

/* Counts one failure for addr; returns the seconds it is now blocked (0 = not). */
unsigned ratelimit_fail(struct ratelimit *rl, const char *addr, int64_t now);

#endif
