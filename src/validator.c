/* SPDX-License-Identifier: ISC */
/*
 * validator.c: the challenge validator framework (validator.h): builds the
 * configured validators through their type's operations table, bounds the
 * checks running at once per validator (a check beyond max_concurrent is
 * refused at once, never allowed), measures each check and turns every
 * failure of a type into a refusal. It owns no network or process code: the
 * types do (webhook.c, validator_exec.c).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "validator.h"
#include "validator_impl.h"

struct validator {
	char *name;
	const struct validator_ops *ops;
	void *impl;
	unsigned max_concurrent;
	int renewals;                  /* validators.renewals = "validate" */
	atomic_uint in_flight;
};

struct validator_set {
	struct validator *v;
	size_t n;
};

static const char *const verdict_names[VALIDATOR_N_VERDICTS] = {
	"allow", "deny", "error", "busy"
};

const char *validator_verdict_name(enum validator_verdict v)
{
	return v < VALIDATOR_N_VERDICTS ? verdict_names[v] : "error";
}

enum validator_verdict validator_set_result(struct validator_result *res,
    enum validator_verdict v, const char *fmt, ...)
{
	va_list ap;

	res->verdict = v;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return v;
}

/* The operations of a configured type; NULL for an unknown one. */
static const struct validator_ops *ops_of(const char *type)
{
	if (type == NULL)
		return NULL;
	if (strcmp(type, validator_webhook_ops.type) == 0)
		return &validator_webhook_ops;
	if (strcmp(type, validator_exec_ops.type) == 0)
		return &validator_exec_ops;
	if (strcmp(type, validator_intune_ops.type) == 0)
		return &validator_intune_ops;
	return NULL;
}

struct validator_set *validator_set_new(const struct config *cfg, char *err, size_t errlen)
{
	struct validator_set *set = xcalloc(1, sizeof(*set)), *result = NULL;
	const struct config_validator *c;
	struct validator *v;
	char why[512];
	size_t i;

	set->v = xcalloc(cfg->n_validators ? cfg->n_validators : 1, sizeof(*set->v));
	for (i = 0; i < cfg->n_validators; i++) {
		c = &cfg->validators[i];
		v = &set->v[set->n];
		if ((v->ops = ops_of(c->type)) == NULL) {
			errorf(err, errlen, "validator %s: unknown type %s", c->name,
			    c->type != NULL ? c->type : "(none)");
			goto out;
		}
		why[0] = '\0';
		if ((v->impl = v->ops->create(c, why, sizeof(why))) == NULL) {
			errorf(err, errlen, "validator %s: %s", c->name, why);
			goto out;
		}
		v->name = xstrdup(c->name);
		v->max_concurrent = c->max_concurrent ? c->max_concurrent : 16;
		v->renewals = c->renewals == NULL || strcmp(c->renewals, "skip") != 0;
		atomic_init(&v->in_flight, 0);
		set->n++;
	}
	result = set;
	set = NULL;
out:
	validator_set_free(set);
	return result;
}

void validator_set_free(struct validator_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		set->v[i].ops->destroy(set->v[i].impl);
		free(set->v[i].name);
	}
	free(set->v);
	free(set);
}

struct validator *validator_find(const struct validator_set *set, const char *name)
{
	size_t i;

	if (set == NULL || name == NULL || name[0] == '\0')
		return NULL;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

const char *validator_name(const struct validator *v)
{
	return v->name;
}

const char *validator_type(const struct validator *v)
{
	return v->ops->type;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum validator_verdict validator_check(struct validator *v, const struct validator_request *rq,
    struct validator_result *res)
{
	double started = mono_now();
	unsigned running;

	memset(res, 0, sizeof(*res));
	running = atomic_fetch_add(&v->in_flight, 1) + 1;
	if (running > v->max_concurrent) {
		validator_set_result(res, VALIDATOR_BUSY, "%u checks are running already "
		    "(validators.max_concurrent)", running - 1);
	} else if (v->ops->check(v->impl, rq, res) != VALIDATOR_ALLOW &&
	    res->verdict == VALIDATOR_ALLOW) {
		/* A type that failed without saying so: never let it allow. */
		validator_set_result(res, VALIDATOR_ERROR, "the %s validator failed", v->ops->type);
	}
	atomic_fetch_sub(&v->in_flight, 1);
	if (res->verdict >= VALIDATOR_N_VERDICTS)
		res->verdict = VALIDATOR_ERROR;
	if (res->verdict != VALIDATOR_ALLOW && res->reason[0] == '\0')
		snprintf(res->reason, sizeof(res->reason), "refused without a reason");
	res->seconds = mono_now() - started;
	return res->verdict;
}

int validator_notify_success(struct validator *v, const struct validator_request *rq, X509 *cert)
{
	char why[512];

	if (v->ops->notify_success == NULL)
		return 0;
	why[0] = '\0';
	if (v->ops->notify_success(v->impl, rq, cert, why, sizeof(why)) != 0) {
		log_msg(LOG_WARNING, "%s: validator %s: the notification of the issued certificate "
		    "failed: %s", rq->transaction_id, v->name, why);
		return -1;
	}
	return 0;
}

int validator_validates_renewals(const struct validator *v)
{
	return v->renewals;
}

int validator_success_required(const struct validator *v)
{
	return v->ops->success_required;
}

int validator_notify_failure(struct validator *v, const struct validator_request *rq,
    int failinfo, int32_t hresult, const char *description)
{
	char why[512];

	if (v->ops->notify_failure == NULL)
		return 0;
	why[0] = '\0';
	if (v->ops->notify_failure(v->impl, rq, failinfo, hresult, description, why,
	    sizeof(why)) != 0) {
		log_msg(LOG_WARNING, "%s: validator %s: the notification of the failure failed: %s",
		    rq->transaction_id, v->name, why);
		return -1;
	}
	return 0;
}
