/* SPDX-License-Identifier: ISC */
/*
 * keyref.h: the one entry point that loads a private key a setting names,
 * whether the setting is a file path (PEM) or a PKCS#11 URI (RFC 7512).
 */
#ifndef KEYREF_H
#define KEYREF_H

#include <stddef.h>
#include <openssl/evp.h>

/*
 * The key ref names: a PKCS#11 URI ("pkcs11:...") through src/pkcs11.c, else a
 * PEM file as pemfile_key(ref, private_only, ...) reads it. NULL with a reason
 * (a URI in it with its pin-value hidden) in err.
 */
EVP_PKEY *keyref_load(const char *ref, int private_only, char *err, size_t errlen);

/*
 * For scepctl init: the key a PKCS#11 URI names, generated in the token first
 * (spec, e.g. "rsa:2048") when the token has no such object; *made says which.
 * NULL with a reason.
 */
EVP_PKEY *keyref_token_key(const char *uri, const char *spec, int *made, char *err,
    size_t errlen);

/* 1 when ref names a token object rather than a file. */
int keyref_is_token(const char *ref);

#endif
