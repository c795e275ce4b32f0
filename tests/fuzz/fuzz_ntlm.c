/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ntlm.c: fuzz target for the NTLMSSP parsers (ntlm_parse_negotiate,
 * ntlm_parse_authenticate with Unicode and OEM challenge flags) and NTLMv2
 * verification of whatever parses. A parsed message must keep the promises
 * of ntlm.h (NUL-terminated names, an NTLMv2-sized response); else abort.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char hash[16], challenge[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint32_t modes[2] = { NTLM_FLAG_UNICODE, NTLM_FLAG_OEM };
	struct ntlm_auth *a;
	uint32_t flags;
	char err[256];
	int i;

	if (ntlm_parse_negotiate(data, size, &flags, err, sizeof(err)) == 0 &&
	    !(flags & (NTLM_FLAG_UNICODE | NTLM_FLAG_OEM)))
		abort();
	for (i = 0; i < 2; i++) {
		err[0] = '\0';
		if ((a = ntlm_parse_authenticate(data, size, modes[i], err, sizeof(err))) == NULL) {
			if (err[0] == '\0')
				abort();
			continue;
		}
		if (a->user[0] == '\0' || strlen(a->user) >= NTLM_MAX_NAME ||
		    a->nt_response_len < 48 || a->nt_response_len > size)
			abort();
		if (ntlm_verify_v2(a, hash, challenge) == 1)
			abort();    /* an all-zero hash never matches a fuzzed response */
		ntlm_auth_free(a);
	}
	return 0;
}
