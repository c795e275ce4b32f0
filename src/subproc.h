/* SPDX-License-Identifier: ISC */
/*
 * subproc.h: running a helper program safely, for the exec CA backend
 * (ca_exec.c) and the exec challenge validator (validator.c): posix_spawn(),
 * never a shell, only descriptors 0-2 (three pipes), its own process group
 * (killed as one at the time limit), default signal handling, bounded
 * standard output and standard error. What the program's answer means is the
 * caller's business.
 */
#ifndef SUBPROC_H
#define SUBPROC_H

#include <stddef.h>

#define SUBPROC_MAX_STDERR 1024          /* bytes of standard error kept (the rest is read and dropped) */

/* What one run of a program did. */
struct subproc_result {
	int exited;              /* exit_status is valid */
	int exit_status;
	int signal;              /* killed by this signal (0: none) */
	int timed_out;           /* the time limit passed; the process group was killed */
	int too_much;            /* standard output over max_output; killed */
	unsigned char *out;      /* standard output, NUL-terminated (owned: subproc_result_free) */
	size_t out_len;
	char err[SUBPROC_MAX_STDERR + 1]; /* standard error, NUL-terminated */
	size_t err_len;
};

/*
 * Runs argv[0] (a path; argv NULL-terminated) with envp and input on its
 * standard input, until it has ended and closed its output or timeout
 * seconds have passed. 0 with *run filled (the program may still have
 * failed: look at run), or -1 with a reason in why when it cannot start.
 * Either way release run with subproc_result_free().
 */
int subproc_run(char *const argv[], char *const envp[], const unsigned char *input,
    size_t input_len, unsigned timeout, size_t max_output, struct subproc_result *run,
    char *why, size_t whylen);

void subproc_result_free(struct subproc_result *run);

/* The first line of text, carriage returns dropped and controls replaced by '?', into out. */
void subproc_first_line(const char *text, char *out, size_t outlen);

#endif
