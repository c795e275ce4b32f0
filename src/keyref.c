/* SPDX-License-Identifier: ISC */
/*
 * keyref.c: loads "a key from a file path or a URI": the single call the signer
 * makes for every CA and RA key. It only dispatches: PEM files to pemfile.c,
 * PKCS#11 URIs to pkcs11uri.c (parse) and pkcs11.c (token). It must not log:
 * a URI may carry a PIN, so every message names the URI with it hidden.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "keyref.h"
#include "pemfile.h"
#include "pkcs11.h"
#include "pkcs11uri.h"
#include "util.h"

int keyref_is_token(const char *ref)
{
	return pkcs11uri_is_uri(ref);
}

EVP_PKEY *keyref_load(const char *ref, int private_only, char *err, size_t errlen)
{
	struct pkcs11uri *u = NULL;
	EVP_PKEY *key = NULL;
	char *shown = NULL, why[512];

	if (!keyref_is_token(ref))
		return pemfile_key(ref, private_only, err, errlen);
	shown = pkcs11uri_redact(ref);
	if ((u = pkcs11uri_parse((const unsigned char *)ref, strlen(ref), why,
	    sizeof(why))) == NULL) {
		errorf(err, errlen, "%s: %s", shown, why);
		goto out;
	}
	if ((key = pkcs11_key_load(u, why, sizeof(why))) == NULL)
		errorf(err, errlen, "%s: %s", shown, why);
out:
	pkcs11uri_free(u);
	free(shown);
	return key;
}

EVP_PKEY *keyref_token_key(const char *uri, const char *spec, int *made, char *err,
    size_t errlen)
{
	struct pkcs11uri *u = NULL;
	EVP_PKEY *key = NULL;
	char *shown = pkcs11uri_redact(uri), why[512];

	*made = 0;
	if ((u = pkcs11uri_parse((const unsigned char *)uri, strlen(uri), why,
	    sizeof(why))) == NULL || pkcs11_key_generate(u, spec, made, why, sizeof(why)) != 0) {
		errorf(err, errlen, "%s: %s", shown, why);
		goto out;
	}
	if ((key = pkcs11_key_load(u, why, sizeof(why))) == NULL)
		errorf(err, errlen, "%s: %s", shown, why);
out:
	pkcs11uri_free(u);
	free(shown);
	return key;
}
