/* SPDX-License-Identifier: ISC */
/*
 * fuzz_inspect.c: fuzz target for inspect_input (DER, PEM, base64 and query
 * forms of a message file) and inspect_message on what it decodes, without
 * RA keys: whatever a file or a recording holds, describing it must not crash.
 * inspect_input returns NULL only with a reason, and never more bytes than
 * the input. Replayed by replay.c, or run under libFuzzer (see replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "inspect.h"
#include "oids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	unsigned char *der;
	size_t len = 0;
	char err[256];

	if (sink == NULL) {
		if (oids_register() != 0 || (sink = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	err[0] = '\0';
	if ((der = inspect_input(data, size, &len, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();	/* NULL always comes with a reason */
		return 0;
	}
	if (len == 0 || len > size)
		abort();
	(void)inspect_message(sink, der, len, NULL, NULL);
	free(der);
	return 0;
}
