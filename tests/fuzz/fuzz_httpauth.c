/* SPDX-License-Identifier: ISC */
/*
 * fuzz_httpauth.c: fuzz target for the Authorization header parser
 * (httpauth_parse). A parsed header must have a known scheme, and a token
 * that re-encodes to the base64 it came from; anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "httpauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpauth a;
	char err[256], *b64;

	err[0] = '\0';
	if (httpauth_parse((const char *)data, size, &a, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	switch (a.scheme) {
	case HTTPAUTH_BASIC:
		if (a.user == NULL || a.password == NULL || a.token != NULL)
			abort();
		break;
	case HTTPAUTH_NTLM:
	case HTTPAUTH_NEGOTIATE:
		if (a.token == NULL || a.token_len == 0)
			abort();
		if ((b64 = base64_encode(a.token, a.token_len)) == NULL)
			abort();
		if (memmem(data, size, b64, strlen(b64)) == NULL)
			abort();
		free(b64);
		break;
	default:
		abort();
	}
	httpauth_clear(&a);
	return 0;
}
