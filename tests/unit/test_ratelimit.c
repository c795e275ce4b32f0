/* SPDX-License-Identifier: ISC */
/*
 * test_ratelimit.c: per-address failure counters (src/ratelimit.c): blocking
 * after max_failures within the window, the end of the block, independent
 * addresses, a disabled limit, the bounded table forgetting its oldest, and
 * new limits (a reload) keeping what was counted.
 */
#include <stdio.h>

#include "tap.h"
#include "ratelimit.h"

int main(void)
{
	struct ratelimit *rl = ratelimit_new(3, 60, 4);
	char a[32];
	int i;

	ok(rl != NULL, "limiter created");
	is_int(ratelimit_blocked(rl, "192.0.2.1", 1000), 0, "a new address is not blocked");
	is_int(ratelimit_fail(rl, "192.0.2.1", 1000), 0, "failure 1 does not block");
	is_int(ratelimit_fail(rl, "192.0.2.1", 1010), 0, "failure 2 does not block");
	is_int(ratelimit_fail(rl, "192.0.2.1", 1020), 40, "failure 3 blocks for the rest of the window");
	is_int(ratelimit_blocked(rl, "192.0.2.1", 1030), 30, "still blocked 10 s later (30 s left)");
	is_int(ratelimit_blocked(rl, "192.0.2.2", 1030), 0, "another address is not blocked");
	is_int(ratelimit_blocked(rl, "192.0.2.1", 1060), 0, "unblocked when the window ends");
	is_int(ratelimit_fail(rl, "192.0.2.1", 1061), 0, "a new window starts with count 1");
	ratelimit_fail(rl, "192.0.2.1", 1061);
	ok(ratelimit_fail(rl, "192.0.2.1", 1061) > 0, "blocked again after 3 more");
	/* fill the 4-entry table with three more blocked addresses */
	for (i = 0; i < 3; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", i);
		ratelimit_fail(rl, a, 1100 + i);
		ratelimit_fail(rl, a, 1100 + i);
		ratelimit_fail(rl, a, 1100 + i);
	}
	ok(ratelimit_blocked(rl, "198.51.100.0", 1105) > 0, "three more addresses blocked");
	ok(ratelimit_blocked(rl, "192.0.2.1", 1105) > 0, "the first one still is");
	ratelimit_fail(rl, "203.0.113.9", 1110);
	is_int(ratelimit_blocked(rl, "192.0.2.1", 1110), 0,
	    "a full table forgets the entry whose window began first");
	ok(ratelimit_blocked(rl, "198.51.100.0", 1110) > 0, "the others stay blocked");
	ratelimit_free(rl);

	rl = ratelimit_new(0, 60, 4);
	for (i = 0; i < 10; i++)
		ratelimit_fail(rl, "192.0.2.1", 1000);
	is_int(ratelimit_blocked(rl, "192.0.2.1", 1000), 0, "max_failures 0 never blocks");
	ratelimit_free(rl);

	/* a reload applies new limits to the same table: the counts stay */
	rl = ratelimit_new(3, 60, 4);
	ratelimit_fail(rl, "192.0.2.7", 2000);
	ratelimit_fail(rl, "192.0.2.7", 2001);
	ratelimit_set_limits(rl, 3, 120);
	is_int(ratelimit_fail(rl, "192.0.2.7", 2002), 118,
	    "after new limits the third failure still blocks, for the new window");
	ratelimit_set_limits(rl, 5, 120);
	is_int(ratelimit_blocked(rl, "192.0.2.7", 2003), 0, "a higher max_failures lifts the block");
	is_int(ratelimit_fail(rl, "192.0.2.7", 2004), 0, "... failure 4 of 5 does not block");
	ok(ratelimit_fail(rl, "192.0.2.7", 2005) > 0, "... failure 5 does");
	ratelimit_free(rl);
	return done_testing();
}
