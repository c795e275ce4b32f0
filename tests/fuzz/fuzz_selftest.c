/* SPDX-License-Identifier: ISC */
/*
 * fuzz_selftest.c: fuzz target for what `scepctl selftest` reads from the
 * server it probes (selftest.c): each input is judged as a GetCACaps answer
 * and as a GetCACert answer by every client family, under one of the
 * Content-Types the rules compare (picked by the input's length, so that the
 * replay of every truncation visits them all). Besides not crashing: a verdict level is one of the
 * known ones, its text is NUL-terminated within the buffer, and the chosen
 * cipher and digest are real algorithms; anything else aborts. Replayed by
 * replay.c over tests/fuzz/corpus/selftest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "scep_client.h"
#include "selftest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct selftest_verdict *v)
{
	if (v->level < SELFTEST_ACCEPT || v->level > SELFTEST_SKIPPED ||
	    memchr(v->why, '\0', sizeof(v->why)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = { "text/plain", "application/x-x509-ca-cert",
		"application/x-x509-ca-ra-cert", "APPLICATION/X-X509-CA-RA-CERT; charset=x", "" };
	struct scep_client_answer a;
	struct selftest_caps_view cv;
	struct selftest_verdict v;
	int f;

	memset(&a, 0, sizeof(a));
	a.status = 200;
	a.body = (unsigned char *)(uintptr_t)data;
	a.len = size;
	strcpy(a.ctype, ctypes[size % (sizeof(ctypes) / sizeof(ctypes[0]))]);
	for (f = 0; f < selftest_families(); f++) {
		selftest_judge_caps(f, &a, &cv);
		check(&cv.v);
		if (cv.cipher_nid == NID_undef || cv.digest_nid == NID_undef ||
		    OBJ_nid2sn(cv.cipher_nid) == NULL || OBJ_nid2sn(cv.digest_nid) == NULL)
			abort();
		selftest_judge_cacert(f, &a, &v);
		check(&v);
	}
	return 0;
}
