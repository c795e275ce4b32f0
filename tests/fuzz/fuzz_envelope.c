/* SPDX-License-Identifier: ISC */
/*
 * fuzz_envelope.c: fuzz target for envelope_inspect. Besides not crashing,
 * the result must be consistent (KTRIs among the recipients, OAEP only with a
 * KTRI, a NUL-terminated OID); anything else aborts. Replayed by replay.c, or
 * run under libFuzzer (see replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "oids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	struct envelope_info ei;
	char err[256];

	if (!registered) {
		if (oids_register() != 0)
			abort();
		registered = 1;
	}
	err[0] = '\0';
	if (envelope_inspect(data, size, &ei, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (ei.n_recipients < 1 || ei.n_ktri < 0 || ei.n_ktri > ei.n_recipients ||
	    (ei.oaep && ei.n_ktri < 1) ||
	    strnlen(ei.cipher_oid, sizeof(ei.cipher_oid)) == sizeof(ei.cipher_oid) ||
	    ei.cipher_oid[0] == '\0')
		abort();
	return 0;
}
