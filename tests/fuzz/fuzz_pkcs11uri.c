/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pkcs11uri.c: fuzz target for pkcs11uri_parse (the PKCS#11 URI of a key
 * setting). Besides not crashing, a refusal must carry a reason and a parsed
 * result must keep the promises of pkcs11uri.h (text values without NUL, an id
 * length only with an id); redacting the input must not crash either.
 * Replayed by replay.c, or run under libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkcs11uri *u;
	char err[256], *text, *red;

	err[0] = '\0';
	if ((u = pkcs11uri_parse(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
	} else {
		if ((!u->has_id && (u->id != NULL || u->id_len != 0)) ||
		    (u->token != NULL && strlen(u->token) > size) ||
		    (u->pin_value != NULL && strlen(u->pin_value) > size))
			abort();
		pkcs11uri_free(u);
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	red = pkcs11uri_redact(text);
	if (red == NULL || (strstr(text, "pin-value=") == NULL && strcmp(red, text) != 0))
		abort();
	free(red);
	free(text);
	return 0;
}
