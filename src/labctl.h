/* SPDX-License-Identifier: ISC */
/*
 * labctl.h: `scepctl lab rule add|list|del`: lab mode's run-time rules (lab.h),
 * kept in the store, which a running scepd reads at each request (no restart).
 */
#ifndef LABCTL_H
#define LABCTL_H

#include <stdio.h>

struct config;

/*
 * Runs `lab ARGS` (argv[0] is "rule"). Returns the exit status: 0 done, 1
 * failed (the reason on stderr), 2 usage error (the reason on stderr; the
 * caller prints the synopsis).
 */
int labctl_run(const struct config *cfg, int argc, char **argv);

#endif
