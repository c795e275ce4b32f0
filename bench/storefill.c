/* SPDX-License-Identifier: ISC */
/*
 * storefill.c: fills a scepd store with N issued enrollments (N request rows
 * and N certificate rows) through the store API (store_batch_*, B per
 * transaction), for bench/scale.sh. The certificates are random bytes of a
 * realistic size, not parseable DER: the store does not parse them, and the
 * rows are there to measure the store at size, not to be served.
 *
 *   storefill -d DATABASE [-n N] [-b B]
 *
 * Prints the rows per second of the fill. Exit status 0, or 1 on an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store.h"
#include "util.h"

#define CERT_BYTES 1100   /* an RSA-2048 end-entity certificate */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned long n = 1000000, b = 1000, i, j;
	struct store *st;
	unsigned char der[CERT_BYTES], key[32], run[4];
	char err[256], runhex[9];
	double t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "d:n:b:")) != -1) {
		switch (opt) {
		case 'd': path = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'b': b = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (path == NULL || n == 0 || b == 0)
		goto usage;
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "storefill: %s: %s\n", path, err);
		return 1;
	}
	if (RAND_bytes(der, sizeof(der)) != 1 || RAND_bytes(run, sizeof(run)) != 1) {
		fprintf(stderr, "storefill: no random bytes\n");
		return 1;
	}
	der[0] = 0x30;
	hex_encode(run, sizeof(run), runhex, 1);
	t0 = mono_s();
	for (i = 0; i < n; i += b) {
		if (store_batch_begin(st) != STORE_OK)
			goto fail;
		for (j = i; j < n && j < i + b; j++) {
			struct store_enrollment e;
			struct store_cert c;
			char tid[48], subject[64];

			memset(&c, 0, sizeof(c));
			memset(&e, 0, sizeof(e));
			snprintf(c.serial, sizeof(c.serial), "%s%024lX", runhex, j);
			snprintf(subject, sizeof(subject), "CN=fill-%s-%lu", runhex, j);
			snprintf(tid, sizeof(tid), "fill%s%016lu", runhex, j);
			memcpy(key, &j, sizeof(j));
			memcpy(key + sizeof(j), run, sizeof(run));
			memcpy(der + 8, &j, sizeof(j));
			c.subject = subject;
			c.not_before = 1700000000;
			c.not_after = 1700000000 + 365 * 86400;
			c.der = der;
			c.der_len = sizeof(der);
			e.transaction_id = tid;
			e.message_type = 19;
			e.client_addr = "192.0.2.1";
			e.pubkey_sha256 = key;
			e.subject = subject;
			e.now = 1700000000 + (int64_t)j;
			e.cert = &c;
			if (store_batch_enroll(st, &e) != STORE_OK)
				goto fail;
		}
		if (store_batch_commit(st) != STORE_OK)
			goto fail;
	}
	t1 = mono_s();
	printf("filled       %lu requests and %lu certificates in %.1f s (%.0f enrollments/s, "
	    "%lu per transaction)\n", n, n, t1 - t0, (double)n / (t1 - t0), b);
	store_close(st);
	return 0;
fail:
	fprintf(stderr, "storefill: %s\n", store_errmsg(st));
	store_batch_rollback(st);
	store_close(st);
	return 1;
usage:
	fprintf(stderr, "usage: storefill -d DATABASE [-n N] [-b B]\n");
	return 2;
}
