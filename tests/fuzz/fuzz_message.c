/* SPDX-License-Identifier: ISC */
/*
 * fuzz_message.c: fuzz target for the query string code. The input is taken
 * as a raw query: query_find looks for message and operation, query_unescape
 * and query_decode_message run on the values found and on the whole input.
 * Besides not crashing, lengths must stay within what the input allows;
 * anything else aborts. Replayed by replay.c, or run under libFuzzer (see
 * replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oids.h"
#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const char *val, size_t len)
{
	char err[256];
	size_t outlen = 0;
	unsigned char *out;
	char *s;

	err[0] = '\0';
	out = query_decode_message(val, len, &outlen, err, sizeof(err));
	if ((out == NULL && err[0] == '\0') || (out != NULL && (outlen == 0 ||
	    outlen > len / 4 * 3 + 2)))
		abort();
	free(out);
	if ((s = query_unescape(val, len)) != NULL && strlen(s) > len)
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	const char *q = (const char *)data, *val = NULL;
	size_t vlen = 0;

	if (!registered) {
		if (oids_register() != 0)
			abort();
		registered = 1;
	}
	if (query_find(q, size, "message", &val, &vlen)) {
		if (val < q || val + vlen > q + size)
			abort();
		decode(val, vlen);
	}
	if (query_find(q, size, "operation", &val, &vlen) && (val < q || val + vlen > q + size))
		abort();
	decode(q, size);
	return 0;
}
