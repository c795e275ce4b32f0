/* SPDX-License-Identifier: ISC */
/*
 * fuzz_keyproc.c: fuzz target for keyproc_msg_parse (the signer process's
 * messages). Besides not crashing, a parsed message must keep the codec's
 * promises: a known type, every present field inside the buffer, repeated
 * fields walkable with keyproc_msg_next to exactly their count; anything else
 * aborts. Replayed by replay.c, or run under libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyproc_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyproc_msg m;
	const uint8_t *v;
	uint32_t len, n;
	size_t pos;
	char err[300];

	err[0] = '\0';
	if (keyproc_msg_parse(data, size, &m, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (strcmp(keyproc_type_name(m.type), "unknown") == 0 || m.body != data + KEYPROC_HEADER)
		abort();
	for (uint16_t tag = 1; tag < KP_T_MAX; tag++) {
		if (m.f[tag].count == 0) {
			if (m.f[tag].p != NULL)
				abort();
			continue;
		}
		if (m.f[tag].p < m.body || m.f[tag].p + m.f[tag].len > data + size)
			abort();
		pos = 0;
		n = 0;
		while (keyproc_msg_next(&m, tag, &pos, &v, &len) == 1) {
			if (v < m.body || v + len > data + size)
				abort();
			n++;
		}
		if (n != m.f[tag].count)
			abort();
	}
	return 0;
}
