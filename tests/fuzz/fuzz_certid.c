/* SPDX-License-Identifier: ISC */
/*
 * fuzz_certid.c: fuzz target for certid_parse_issuer_and_serial and
 * certid_parse_issuer_and_subject (the messageData of GetCert, GetCRL and
 * CertPoll). Besides not crashing, a parsed result must keep the promises of
 * certid.h (an issuer; a serial in bounds with its hex form, or a subject);
 * anything else aborts. Replayed by replay.c, or run under libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct certid *c;
	char err[256];
	size_t n;

	err[0] = '\0';
	if ((c = certid_parse_issuer_and_serial(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
	} else {
		n = strlen(c->serial_hex);
		if (c->issuer == NULL || c->serial == NULL || c->subject != NULL || n == 0 ||
		    n > 2 * CERTID_MAX_SERIAL_BYTES || ASN1_STRING_length(c->serial) >
		    CERTID_MAX_SERIAL_BYTES || strspn(c->serial_hex, "0123456789ABCDEF") != n)
			abort();
		certid_free(c);
	}
	err[0] = '\0';
	if ((c = certid_parse_issuer_and_subject(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (c->issuer == NULL || c->subject == NULL || c->serial != NULL)
		abort();
	certid_free(c);
	return 0;
}
