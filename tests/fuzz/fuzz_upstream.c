/* SPDX-License-Identifier: ISC */
/*
 * fuzz_upstream.c: fuzz target for what scepd parses from an upstream SCEP
 * server (scep_client.c): the GetCACaps text and the GetCACert answer. Each
 * input goes through both. Besides not crashing: capabilities are only known
 * bits, SCEPStandard implies AES, POST and SHA-256, and a GetCACert result
 * holds at least one certificate; anything else aborts. Replayed by replay.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "scep_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned known = SCEP_CAP_POST | SCEP_CAP_AES | SCEP_CAP_DES3 | SCEP_CAP_SHA1 |
	    SCEP_CAP_SHA224 | SCEP_CAP_SHA256 | SCEP_CAP_SHA384 | SCEP_CAP_SHA512 |
	    SCEP_CAP_STANDARD | SCEP_CAP_RENEWAL;
	const unsigned std = SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256;
	unsigned caps = scep_client_parse_caps((const char *)data, size);
	STACK_OF(X509) *certs;

	if ((caps & ~known) != 0 || ((caps & SCEP_CAP_STANDARD) && (caps & std) != std))
		abort();
	certs = scep_client_parse_cacert(data, size);
	if (certs != NULL && sk_X509_num(certs) < 1)
		abort();
	sk_X509_pop_free(certs, X509_free);
	return 0;
}
