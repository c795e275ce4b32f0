/* SPDX-License-Identifier: ISC */
/*
 * metrics.c: process-wide request counters (atomics, no lock on the request
 * path) and the Prometheus text format of /metrics. It knows the SCEP
 * operation and failInfo names but nothing of keys, the store or HTTP: the
 * gauges that need them (passwords cached, certificate expiry) are handed in
 * by the caller when the page is rendered.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "scep_types.h"
#include "util.h"

/* Enrollment latency buckets, in microseconds (upper bounds; +Inf is implied). */
static const unsigned long long metrics_buckets_us[] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000
};
#define N_BUCKETS (sizeof(metrics_buckets_us) / sizeof(metrics_buckets_us[0]))
#define N_FAILINFO 5    /* badAlg .. badCertId */

static const char *const metrics_op_names[METRICS_N_OPS] = {
	"GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation", "other"
};
static const char *const metrics_outcome_names[METRICS_N_OUTCOMES] = {
	"success", "failure", "pending", "error"
};
static const char *const metrics_validator_outcomes[METRICS_VALIDATOR_OUTCOMES] = {
	"allow", "deny", "error", "busy"
};

/* The counters of one challenge validator, by name (kept across reloads). */
struct metrics_validator {
	char name[65];
	atomic_ullong checks[METRICS_VALIDATOR_OUTCOMES];
	atomic_ullong seconds_us;
};

struct metrics {
	int64_t started;
	atomic_ullong requests[METRICS_N_OPS][METRICS_N_OUTCOMES];
	atomic_ullong failinfo[N_FAILINFO];
	atomic_ullong bucket[N_BUCKETS + 1];    /* last: above every bound */
	atomic_ullong latency_sum_us;
	atomic_ullong reloads_ok, reloads_failed;
	atomic_ullong commits, committed;       /* group commits, and the enrollments in them */
	atomic_llong last_reload_ok;
	pthread_mutex_t validators_mu;  /* guards adding a name; counting is lock-free */
	atomic_size_t n_validators;
	struct metrics_validator validators[METRICS_MAX_VALIDATORS];
};

struct metrics *metrics_new(int64_t started)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	size_t i, j;

	m->started = started;
	for (i = 0; i < METRICS_N_OPS; i++)
		for (j = 0; j < METRICS_N_OUTCOMES; j++)
			atomic_init(&m->requests[i][j], 0);
	for (i = 0; i < N_FAILINFO; i++)
		atomic_init(&m->failinfo[i], 0);
	for (i = 0; i <= N_BUCKETS; i++)
		atomic_init(&m->bucket[i], 0);
	atomic_init(&m->latency_sum_us, 0);
	atomic_init(&m->reloads_ok, 0);
	atomic_init(&m->reloads_failed, 0);
	atomic_init(&m->last_reload_ok, started);
	atomic_init(&m->n_validators, 0);
	if (pthread_mutex_init(&m->validators_mu, NULL) != 0)
		abort();
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->validators_mu);
	free(m);
}

enum metrics_op metrics_op_from_name(const char *operation)
{
	size_t i;

	if (operation == NULL)
		return METRICS_OP_OTHER;
	for (i = 0; i < METRICS_OP_OTHER; i++)
		if (strcmp(operation, metrics_op_names[i]) == 0)
			return (enum metrics_op)i;
	return METRICS_OP_OTHER;
}

void metrics_request(struct metrics *m, enum metrics_op op, enum metrics_outcome outcome)
{
	if (m == NULL || op >= METRICS_N_OPS || outcome >= METRICS_N_OUTCOMES)
		return;
	atomic_fetch_add_explicit(&m->requests[op][outcome], 1, memory_order_relaxed);
}

void metrics_failinfo(struct metrics *m, int failinfo)
{
	if (m == NULL || failinfo < 0 || failinfo >= N_FAILINFO)
		return;
	atomic_fetch_add_explicit(&m->failinfo[failinfo], 1, memory_order_relaxed);
}

void metrics_enrollment_seconds(struct metrics *m, double seconds)
{
	unsigned long long us;
	size_t i;

	if (m == NULL)
		return;
	us = seconds <= 0 ? 0 : (unsigned long long)(seconds * 1e6 + 0.5);
	for (i = 0; i < N_BUCKETS && us > metrics_buckets_us[i]; i++)
		;
	atomic_fetch_add_explicit(&m->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_sum_us, us, memory_order_relaxed);
}

void metrics_commit(struct metrics *m, size_t enrollments)
{
	if (m == NULL || enrollments == 0)
		return;
	atomic_fetch_add_explicit(&m->commits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->committed, enrollments, memory_order_relaxed);
}

void metrics_reload(struct metrics *m, int ok, int64_t when)
{
	if (m == NULL)
		return;
	if (ok) {
		atomic_fetch_add(&m->reloads_ok, 1);
		atomic_store(&m->last_reload_ok, when);
	} else {
		atomic_fetch_add(&m->reloads_failed, 1);
	}
}

/* The counters of validator name, added when first seen; NULL when the table is full. */
static struct metrics_validator *validator_slot(struct metrics *m, const char *name)
{
	struct metrics_validator *v = NULL;
	size_t i, n = atomic_load(&m->n_validators);

	for (i = 0; i < n; i++)
		if (strcmp(m->validators[i].name, name) == 0)
			return &m->validators[i];
	pthread_mutex_lock(&m->validators_mu);
	n = atomic_load(&m->n_validators);
	for (i = 0; i < n && v == NULL; i++)
		if (strcmp(m->validators[i].name, name) == 0)
			v = &m->validators[i];
	if (v == NULL && n < METRICS_MAX_VALIDATORS) {
		v = &m->validators[n];
		snprintf(v->name, sizeof(v->name), "%s", name);
		for (i = 0; i < METRICS_VALIDATOR_OUTCOMES; i++)
			atomic_init(&v->checks[i], 0);
		atomic_init(&v->seconds_us, 0);
		atomic_store(&m->n_validators, n + 1);   /* published once filled in */
	}
	pthread_mutex_unlock(&m->validators_mu);
	return v;
}

void metrics_validator(struct metrics *m, const char *name, unsigned outcome, double seconds)
{
	struct metrics_validator *v;

	if (m == NULL || name == NULL || outcome >= METRICS_VALIDATOR_OUTCOMES ||
	    (v = validator_slot(m, name)) == NULL)
		return;
	atomic_fetch_add_explicit(&v->checks[outcome], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&v->seconds_us, seconds <= 0 ? 0 :
	    (unsigned long long)(seconds * 1e6 + 0.5), memory_order_relaxed);
}

/* A growing text buffer (xrealloc: the daemon's out-of-memory policy). */
struct text {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = 2 * t->cap + (size_t)n;
		t->p = xrealloc(t->p, t->cap);
	}
}

/* A label value with \, " and newline escaped (exposition format rules). */
static void add_label(struct text *t, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			add(t, "\\%c", *v);
		else if (*v == '\n')
			add(t, "\\n");
		else
			add(t, "%c", *v);
	}
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len)
{
	struct text t = { NULL, 0, 4096 };
	unsigned long long cum = 0, count = 0;
	size_t i, j, n;

	t.p = xmalloc(t.cap);
	t.p[0] = '\0';

	add(&t, "# HELP scepd_requests_total SCEP requests answered, by operation and outcome.\n"
	    "# TYPE scepd_requests_total counter\n");
	for (i = 0; i < METRICS_N_OPS; i++)
		for (j = 0; j < METRICS_N_OUTCOMES; j++)
			add(&t, "scepd_requests_total{operation=\"%s\",outcome=\"%s\"} %llu\n",
			    metrics_op_names[i], metrics_outcome_names[j],
			    (unsigned long long)atomic_load(&m->requests[i][j]));

	add(&t, "# HELP scepd_certrep_failures_total CertRep FAILURE replies, by failInfo.\n"
	    "# TYPE scepd_certrep_failures_total counter\n");
	for (i = 0; i < N_FAILINFO; i++)
		add(&t, "scepd_certrep_failures_total{failinfo=\"%s\"} %llu\n",
		    scep_failinfo_name((int)i), (unsigned long long)atomic_load(&m->failinfo[i]));

	add(&t, "# HELP scepd_enrollment_duration_seconds Time from a PKIOperation's "
	    "arrival to its CertRep.\n# TYPE scepd_enrollment_duration_seconds histogram\n");
	for (i = 0; i <= N_BUCKETS; i++) {
		cum += atomic_load(&m->bucket[i]);
		if (i < N_BUCKETS)
			add(&t, "scepd_enrollment_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    (double)metrics_buckets_us[i] / 1e6, cum);
	}
	count = cum;
	add(&t, "scepd_enrollment_duration_seconds_bucket{le=\"+Inf\"} %llu\n", count);
	add(&t, "scepd_enrollment_duration_seconds_sum %.6f\n",
	    (double)atomic_load(&m->latency_sum_us) / 1e6);
	add(&t, "scepd_enrollment_duration_seconds_count %llu\n", count);

	n = atomic_load(&m->n_validators);
	if (n > 0) {
		add(&t, "# HELP scepd_validator_requests_total Checks by challenge validators, "
		    "by validator and outcome.\n# TYPE scepd_validator_requests_total counter\n");
		for (i = 0; i < n; i++)
			for (j = 0; j < METRICS_VALIDATOR_OUTCOMES; j++) {
				add(&t, "scepd_validator_requests_total{validator=\"");
				add_label(&t, m->validators[i].name);
				add(&t, "\",outcome=\"%s\"} %llu\n", metrics_validator_outcomes[j],
				    (unsigned long long)atomic_load(&m->validators[i].checks[j]));
			}
		add(&t, "# HELP scepd_validator_duration_seconds Time challenge validators took "
		    "to answer.\n# TYPE scepd_validator_duration_seconds summary\n");
		for (i = 0; i < n; i++) {
			count = 0;
			for (j = 0; j < METRICS_VALIDATOR_OUTCOMES; j++)
				count += atomic_load(&m->validators[i].checks[j]);
			add(&t, "scepd_validator_duration_seconds_sum{validator=\"");
			add_label(&t, m->validators[i].name);
			add(&t, "\"} %.6f\n", (double)atomic_load(&m->validators[i].seconds_us) / 1e6);
			add(&t, "scepd_validator_duration_seconds_count{validator=\"");
			add_label(&t, m->validators[i].name);
			add(&t, "\"} %llu\n", count);
		}
	}

	if (g->challenges_cached >= 0)
		add(&t, "# HELP scepd_challenge_passwords_cached Unused one-time challenge "
		    "passwords waiting (NDES PasswordMax counts these).\n"
		    "# TYPE scepd_challenge_passwords_cached gauge\n"
		    "scepd_challenge_passwords_cached %d\n", g->challenges_cached);

	add(&t, "# HELP scepd_certificate_expiry_days Days until the certificate expires "
	    "(negative: expired).\n# TYPE scepd_certificate_expiry_days gauge\n");
	for (i = 0; i < g->n_certs; i++) {
		add(&t, "scepd_certificate_expiry_days{role=\"%s\",subject=\"", g->certs[i].role);
		add_label(&t, g->certs[i].subject);
		add(&t, "\",serial=\"");
		add_label(&t, g->certs[i].serial);
		add(&t, "\"} %.3f\n", (double)(g->certs[i].not_after - g->now) / 86400.0);
	}
	add(&t, "# HELP scepd_certificate_not_after_timestamp_seconds When the certificate "
	    "expires.\n# TYPE scepd_certificate_not_after_timestamp_seconds gauge\n");
	for (i = 0; i < g->n_certs; i++) {
		add(&t, "scepd_certificate_not_after_timestamp_seconds{role=\"%s\",subject=\"",
		    g->certs[i].role);
		add_label(&t, g->certs[i].subject);
		add(&t, "\",serial=\"");
		add_label(&t, g->certs[i].serial);
		add(&t, "\"} %lld\n", (long long)g->certs[i].not_after);
	}

	add(&t, "# HELP scepd_store_commits_total Group commits of new enrollments that "
	    "succeeded (commit_delay).\n# TYPE scepd_store_commits_total counter\n"
	    "scepd_store_commits_total %llu\n"
	    "# HELP scepd_store_committed_enrollments_total Enrollments those commits held.\n"
	    "# TYPE scepd_store_committed_enrollments_total counter\n"
	    "scepd_store_committed_enrollments_total %llu\n",
	    (unsigned long long)atomic_load(&m->commits),
	    (unsigned long long)atomic_load(&m->committed));
	add(&t, "# HELP scepd_http_requests_in_flight HTTP requests being handled now.\n"
	    "# TYPE scepd_http_requests_in_flight gauge\nscepd_http_requests_in_flight %u\n",
	    g->in_flight);
	add(&t, "# HELP scepd_config_reloads_total Reloads (SIGHUP), by result.\n"
	    "# TYPE scepd_config_reloads_total counter\n"
	    "scepd_config_reloads_total{result=\"success\"} %llu\n"
	    "scepd_config_reloads_total{result=\"failure\"} %llu\n",
	    (unsigned long long)atomic_load(&m->reloads_ok),
	    (unsigned long long)atomic_load(&m->reloads_failed));
	add(&t, "# HELP scepd_config_generation Configurations loaded since start (1: the "
	    "first).\n# TYPE scepd_config_generation gauge\nscepd_config_generation %lu\n",
	    g->generation);
	add(&t, "# HELP scepd_config_last_reload_success_timestamp_seconds When the "
	    "configuration serving now was loaded.\n"
	    "# TYPE scepd_config_last_reload_success_timestamp_seconds gauge\n"
	    "scepd_config_last_reload_success_timestamp_seconds %lld\n",
	    (long long)atomic_load(&m->last_reload_ok));
	add(&t, "# HELP scepd_start_time_seconds When scepd started.\n"
	    "# TYPE scepd_start_time_seconds gauge\nscepd_start_time_seconds %lld\n",
	    (long long)m->started);
	*len = t.len;
	return t.p;
}
