/* SPDX-License-Identifier: ISC */
/*
 * validator_exec.c: the "exec" challenge validator: validators.program is
 * run for each request with validators.args (no shell; subproc.c: only
 * descriptors 0-2, its own process group killed at validators.timeout), the
 * JSON document a step-ca webhook would get (webhook_body_challenge) on its
 * standard input, and only PATH in its environment. Exit status 0 allows;
 * any other status, a signal or the time limit refuses, with the first line
 * of its standard error as the reason. Its standard output is read (at most
 * 64 KiB) and ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "subproc.h"
#include "util.h"
#include "validator_impl.h"

#define VEXEC_MAX_OUTPUT 65536
#define VEXEC_PATH "PATH=/usr/local/bin:/usr/bin:/bin"

struct vexec {
	char **argv;          /* program, args..., NULL */
	size_t argc;
	unsigned timeout;
};

static void vexec_destroy(void *impl)
{
	struct vexec *x = impl;
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->argc; i++)
		free(x->argv[i]);
	free(x->argv);
	free(x);
}

static void *vexec_create(const struct config_validator *c, char *err, size_t errlen)
{
	struct vexec *x;
	size_t i;

	if (c->program == NULL) {
		errorf(err, errlen, "program must be set");
		return NULL;
	}
	if (access(c->program, X_OK) != 0) {
		errorf(err, errlen, "program %s: %s", c->program, strerror(errno));
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->argv = xcalloc(c->n_args + 2, sizeof(*x->argv));
	x->argv[x->argc++] = xstrdup(c->program);
	for (i = 0; i < c->n_args; i++)
		x->argv[x->argc++] = xstrdup(c->args[i]);
	x->timeout = c->timeout ? c->timeout : 10;
	return x;
}

static enum validator_verdict vexec_check(void *impl, const struct validator_request *rq,
    struct validator_result *res)
{
	struct vexec *x = impl;
	struct subproc_result run;
	char *envp[2] = { (char *)VEXEC_PATH, NULL };
	char why[300], line[SUBPROC_MAX_STDERR + 1], *body = NULL;
	size_t len = 0;
	enum validator_verdict v;

	memset(&run, 0, sizeof(run));
	if ((body = webhook_body_challenge(rq, &len)) == NULL) {
		v = validator_set_result(res, VALIDATOR_ERROR, "cannot encode the request as JSON");
		goto out;
	}
	if (subproc_run(x->argv, envp, (const unsigned char *)body, len, x->timeout,
	    VEXEC_MAX_OUTPUT, &run, why, sizeof(why)) != 0) {
		v = validator_set_result(res, VALIDATOR_ERROR, "%s", why);
		goto out;
	}
	subproc_first_line(run.err, line, sizeof(line));
	if (run.timed_out)
		v = validator_set_result(res, VALIDATOR_ERROR, "program %s did not answer within "
		    "%u seconds (validators.timeout); it was killed", x->argv[0], x->timeout);
	else if (run.too_much)
		v = validator_set_result(res, VALIDATOR_ERROR, "program %s wrote more than %d "
		    "bytes; it was killed", x->argv[0], VEXEC_MAX_OUTPUT);
	else if (!run.exited)
		v = validator_set_result(res, VALIDATOR_ERROR, "program %s was killed by signal "
		    "%d%s%s", x->argv[0], run.signal, line[0] ? ": " : "", line);
	else if (run.exit_status != 0)
		v = validator_set_result(res, VALIDATOR_DENY, "program %s refused (exit status "
		    "%d)%s%s", x->argv[0], run.exit_status, line[0] ? ": " : "", line);
	else
		v = validator_set_result(res, VALIDATOR_ALLOW, "program %s allowed it", x->argv[0]);
out:
	subproc_result_free(&run);
	free(body);
	return v;
}

const struct validator_ops validator_exec_ops = {
	.type = "exec",
	.create = vexec_create,
	.check = vexec_check,
	.notify_success = NULL,
	.notify_failure = NULL,
	.destroy = vexec_destroy,
};
