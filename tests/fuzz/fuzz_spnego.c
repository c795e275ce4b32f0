/* SPDX-License-Identifier: ISC */
/*
 * fuzz_spnego.c: fuzz target for spnego_parse and spnego_is_krb5. A parsed
 * token must point its mechToken inside the input; a NegTokenResp built from
 * it must parse back with the same token; a raw Kerberos token is never a
 * SPNEGO NegTokenInit. Anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spnego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spnego_token t, back;
	unsigned char *resp;
	size_t len;
	char err[256];

	err[0] = '\0';
	if (spnego_is_krb5(data, size) && spnego_parse(data, size, &t, err, sizeof(err)) == 0 &&
	    t.kind == SPNEGO_INIT)
		abort();
	err[0] = '\0';
	if (spnego_parse(data, size, &t, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (t.kind != SPNEGO_INIT && t.kind != SPNEGO_RESP)
		abort();
	if (t.mech_token == NULL)
		return 0;
	if (t.mech_token < data || t.mech_token_len > size ||
	    t.mech_token + t.mech_token_len > data + size)
		abort();
	if ((resp = spnego_build_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, t.mech_token, t.mech_token_len,
	    &len)) == NULL)
		abort();
	if (spnego_parse(resp, len, &back, err, sizeof(err)) != 0 ||
	    back.mech_token_len != t.mech_token_len ||
	    memcmp(back.mech_token, t.mech_token, t.mech_token_len) != 0)
		abort();
	free(resp);
	return 0;
}
