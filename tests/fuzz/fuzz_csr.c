/* SPDX-License-Identifier: ISC */
/*
 * fuzz_csr.c: fuzz target for csr_parse. Besides not crashing, a parsed CSR
 * must keep the promises of csr.h (a subject, key bits, empty SAN/EKU lists
 * never returned); anything else aborts. Replayed by replay.c, or run under
 * libFuzzer (see replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csr.h"
#include "oids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	struct csr *c;
	char err[256];

	if (!registered) {
		if (oids_register() != 0)
			abort();
		registered = 1;
	}
	err[0] = '\0';
	if ((c = csr_parse(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (c->req == NULL || c->subject == NULL || c->key_bits <= 0 ||
	    (c->challenge != NULL && strlen(c->challenge) > size * 2) ||
	    (c->san != NULL && sk_GENERAL_NAME_num(c->san) < 1) ||
	    (c->ext_key_usage != NULL && sk_ASN1_OBJECT_num(c->ext_key_usage) < 1) ||
	    (!c->has_key_usage && c->key_usage != 0) || c->key_usage > 0xffff)
		abort();
	csr_free(c);
	return 0;
}
