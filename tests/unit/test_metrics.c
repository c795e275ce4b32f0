/* SPDX-License-Identifier: ISC */
/*
 * test_metrics.c: unit tests of metrics.c: exact Prometheus text for the
 * counters, the failInfo counters, the histogram (bucket boundaries,
 * cumulative counts, sum, count), the gauges handed in at render time
 * (passwords cached, certificate expiry with escaped label values), the
 * reload counters, the challenge validators' counters by name and outcome,
 * and the operation name mapping; and that counting from
 * several threads at once loses nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "scep_types.h"
#include "tap.h"

static int has_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	return strstr(text, want) != NULL;
}

static void *hammer(void *arg)
{
	struct metrics *m = arg;
	int i;

	for (i = 0; i < 10000; i++) {
		metrics_request(m, METRICS_OP_GETCACERT, METRICS_SUCCESS);
		metrics_enrollment_seconds(m, 0.001);
	}
	return NULL;
}

int main(void)
{
	struct metrics *m = metrics_new(1700000000);
	struct metrics_cert certs[2] = {
		{ "ca", "/CN=Lab \"CA\"\\x", "0A1B", 1700000000 + 86400 * 10 },
		{ "ra-sign", "/CN=ra", "FF", 1700000000 - 43200 },
	};
	struct metrics_gauges g = { 1700000000, 3, certs, 2, 1, 4 };
	pthread_t t[4];
	char *text;
	size_t len;
	int i;

	is_int(metrics_op_from_name("GetCACaps"), METRICS_OP_GETCACAPS, "GetCACaps maps");
	is_int(metrics_op_from_name("PKIOperation"), METRICS_OP_PKIOPERATION, "PKIOperation maps");
	is_int(metrics_op_from_name("getcacaps"), METRICS_OP_OTHER, "names are case-sensitive");
	is_int(metrics_op_from_name(NULL), METRICS_OP_OTHER, "NULL is other");

	metrics_request(m, METRICS_OP_PKIOPERATION, METRICS_SUCCESS);
	metrics_request(m, METRICS_OP_PKIOPERATION, METRICS_FAILURE);
	metrics_request(m, METRICS_OP_PKIOPERATION, METRICS_FAILURE);
	metrics_request(m, METRICS_OP_OTHER, METRICS_ERROR);
	metrics_request(m, METRICS_N_OPS, METRICS_SUCCESS);     /* ignored */
	metrics_request(NULL, METRICS_OP_OTHER, METRICS_ERROR); /* ignored */
	metrics_failinfo(m, SCEP_FAIL_BADREQUEST);
	metrics_failinfo(m, SCEP_FAIL_BADALG);
	metrics_failinfo(m, SCEP_FAIL_NONE);                    /* ignored */
	metrics_enrollment_seconds(m, 0.004);                   /* le 0.005 */
	metrics_enrollment_seconds(m, 0.005);                   /* le 0.005 (bound inclusive) */
	metrics_enrollment_seconds(m, 0.3);                     /* le 0.5 */
	metrics_enrollment_seconds(m, 42);                      /* +Inf only */
	metrics_reload(m, 1, 1700000100);
	metrics_reload(m, 0, 1700000200);
	metrics_commit(m, 3);
	metrics_commit(m, 1);
	metrics_commit(m, 0);   /* a thread that led no batch: nothing counted */

	text = metrics_render(m, &g, &len);
	is_int(len, strlen(text), "length returned");
	ok(strncmp(text, "# HELP scepd_requests_total ", 28) == 0, "starts with HELP");
	ok(has_line(text, "# TYPE scepd_requests_total counter"), "TYPE counter");
	ok(has_line(text, "scepd_requests_total{operation=\"PKIOperation\",outcome=\"success\"} 1"), "PKIOperation success 1");
	ok(has_line(text, "scepd_requests_total{operation=\"PKIOperation\",outcome=\"failure\"} 2"), "PKIOperation failure 2");
	ok(has_line(text, "scepd_requests_total{operation=\"other\",outcome=\"error\"} 1"), "other error 1");
	ok(has_line(text, "scepd_requests_total{operation=\"GetCACaps\",outcome=\"success\"} 0"), "zero series present");
	ok(has_line(text, "scepd_certrep_failures_total{failinfo=\"badRequest\"} 1"), "badRequest 1");
	ok(has_line(text, "scepd_certrep_failures_total{failinfo=\"badAlg\"} 1"), "badAlg 1");
	ok(has_line(text, "scepd_certrep_failures_total{failinfo=\"badCertId\"} 0"), "badCertId 0");
	ok(has_line(text, "# TYPE scepd_enrollment_duration_seconds histogram"), "TYPE histogram");
	ok(has_line(text, "scepd_enrollment_duration_seconds_bucket{le=\"0.005\"} 2"), "bucket 0.005: 2");
	ok(has_line(text, "scepd_enrollment_duration_seconds_bucket{le=\"0.25\"} 2"), "bucket 0.25: 2");
	ok(has_line(text, "scepd_enrollment_duration_seconds_bucket{le=\"0.5\"} 3"), "bucket 0.5: 3 (cumulative)");
	ok(has_line(text, "scepd_enrollment_duration_seconds_bucket{le=\"10\"} 3"), "bucket 10: 3");
	ok(has_line(text, "scepd_enrollment_duration_seconds_bucket{le=\"+Inf\"} 4"), "bucket +Inf: 4");
	ok(has_line(text, "scepd_enrollment_duration_seconds_sum 42.309000"), "sum");
	ok(has_line(text, "scepd_enrollment_duration_seconds_count 4"), "count");
	ok(has_line(text, "scepd_challenge_passwords_cached 3"), "passwords cached");
	ok(has_line(text, "scepd_certificate_expiry_days{role=\"ca\",subject=\"/CN=Lab \\\"CA\\\"\\\\x\",serial=\"0A1B\"} 10.000"),
	    "CA expiry days with escaped subject");
	ok(has_line(text, "scepd_certificate_expiry_days{role=\"ra-sign\",subject=\"/CN=ra\",serial=\"FF\"} -0.500"),
	    "expired certificate: negative days");
	ok(has_line(text, "scepd_certificate_not_after_timestamp_seconds{role=\"ra-sign\",subject=\"/CN=ra\",serial=\"FF\"} 1699956800"),
	    "notAfter timestamp");
	ok(has_line(text, "scepd_http_requests_in_flight 1"), "in flight");
	ok(has_line(text, "scepd_store_commits_total 2"), "group commits");
	ok(has_line(text, "scepd_store_committed_enrollments_total 4"), "enrollments in them");
	ok(has_line(text, "scepd_config_reloads_total{result=\"success\"} 1"), "reloads ok");
	ok(has_line(text, "scepd_config_reloads_total{result=\"failure\"} 1"), "reloads failed");
	ok(has_line(text, "scepd_config_generation 4"), "generation");
	ok(has_line(text, "scepd_config_last_reload_success_timestamp_seconds 1700000100"), "last reload");
	ok(has_line(text, "scepd_start_time_seconds 1700000000"), "start time");
	ok(text[len - 1] == '\n', "ends with a newline");
	free(text);

	g.challenges_cached = -1;
	text = metrics_render(m, &g, &len);
	ok(strstr(text, "scepd_challenge_passwords_cached") == NULL, "unknown cache size: series left out");
	free(text);

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, m);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	text = metrics_render(m, &g, &len);
	ok(has_line(text, "scepd_requests_total{operation=\"GetCACert\",outcome=\"success\"} 40000"),
	    "4 threads x 10000: no count lost");
	ok(has_line(text, "scepd_enrollment_duration_seconds_count 40004"), "histogram: no count lost");
	ok(strstr(text, "scepd_validator_") == NULL, "no validator series before a validator is asked");
	free(text);

	/* challenge validators: by name and outcome, latency sum and count */
	metrics_validator(m, "hook", 0, 0.25);
	metrics_validator(m, "hook", 0, 0.5);
	metrics_validator(m, "hook", 1, 0.25);
	metrics_validator(m, "od\"d", 2, 2.0);
	metrics_validator(m, "hook", 4, 1.0);          /* no such outcome: not counted */
	text = metrics_render(m, &g, &len);
	ok(has_line(text, "# TYPE scepd_validator_requests_total counter"), "validator counter type");
	ok(has_line(text, "scepd_validator_requests_total{validator=\"hook\",outcome=\"allow\"} 2"),
	    "validator allow");
	ok(has_line(text, "scepd_validator_requests_total{validator=\"hook\",outcome=\"deny\"} 1"),
	    "validator deny");
	ok(has_line(text, "scepd_validator_requests_total{validator=\"hook\",outcome=\"busy\"} 0"),
	    "validator busy");
	ok(has_line(text, "scepd_validator_requests_total{validator=\"od\\\"d\",outcome=\"error\"} 1"),
	    "validator name escaped");
	ok(has_line(text, "scepd_validator_duration_seconds_sum{validator=\"hook\"} 1.000000"),
	    "validator latency sum");
	ok(has_line(text, "scepd_validator_duration_seconds_count{validator=\"hook\"} 3"),
	    "validator latency count");
	free(text);
	metrics_free(m);
	return done_testing();
}
