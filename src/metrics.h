/* SPDX-License-Identifier: ISC */
/*
 * metrics.h: the counters behind /metrics, kept for the life of the process
 * (a reload does not reset them), updated lock-free by request threads, and
 * their rendering in the Prometheus text exposition format (version 0.0.4)
 * together with gauges the caller supplies at scrape time.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* The operations and outcomes requests are counted by. */
enum metrics_op {
	METRICS_OP_GETCACAPS,
	METRICS_OP_GETCACERT,
	METRICS_OP_GETNEXTCACERT,
	METRICS_OP_PKIOPERATION,
	METRICS_OP_OTHER,           /* unknown or missing operation, unknown path */
	METRICS_N_OPS
};

enum metrics_outcome {
	METRICS_SUCCESS,            /* 2xx answer; PKIOperation: CertRep SUCCESS */
	METRICS_FAILURE,            /* PKIOperation: CertRep FAILURE */
	METRICS_PENDING,            /* PKIOperation: CertRep PENDING */
	METRICS_ERROR,              /* an HTTP error status instead of an answer */
	METRICS_N_OUTCOMES
};

/* A certificate whose expiry is exported. */
struct metrics_cert {
	const char *role;           /* "ca", "ra-sign", "ra-enc", "ra-sign-previous", "tls", ... */
	const char *subject;
	const char *serial;
	int64_t not_after;          /* seconds since the epoch */
};

/* What is only known when /metrics is read. */
struct metrics_gauges {
	int64_t now;
	int challenges_cached;      /* unused one-time passwords; < 0 when unknown */
	const struct metrics_cert *certs;
	size_t n_certs;
	unsigned in_flight;
	unsigned long generation;   /* configuration generation (1 = as started) */
};

struct metrics *metrics_new(int64_t started);
void metrics_free(struct metrics *m);

/* Maps an operation name ("GetCACert", ...) to its counter. */
enum metrics_op metrics_op_from_name(const char *operation);

void metrics_request(struct metrics *m, enum metrics_op op, enum metrics_outcome outcome);
/* A CertRep FAILURE with this failInfo (SCEP_FAIL_*). */
void metrics_failinfo(struct metrics *m, int failinfo);
/* One PKIOperation answered with a CertRep, taking this long. */
void metrics_enrollment_seconds(struct metrics *m, double seconds);
void metrics_reload(struct metrics *m, int ok, int64_t when);
/* One group commit (commitq.h) that succeeded, holding this many enrollments. */
void metrics_commit(struct metrics *m, size_t enrollments);

/* The outcomes of a challenge validator's check (validator.h's verdicts, in order). */
#define METRICS_VALIDATOR_OUTCOMES 4    /* allow, deny, error, busy */
#define METRICS_MAX_VALIDATORS 64       /* names counted; later ones are not */
/* One check by the validator called name, with outcome (0..3) and latency. */
void metrics_validator(struct metrics *m, const char *name, unsigned outcome, double seconds);

/* The /metrics body (malloc'd, NUL-terminated; *len without the NUL). */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len);

#endif
