/* SPDX-License-Identifier: ISC */
/*
 * der.h: the one way untrusted DER/BER is decoded (STYLE.md 5): exactly one
 * value of the given type, with the exact length, and no bytes after it; and
 * its twin, encoding one value to a malloc'd DER buffer.
 */
#ifndef DER_H
#define DER_H

#include <stddef.h>
#include <openssl/asn1.h>

/* The decoded value (free with ASN1_item_free), or NULL on error or trailing bytes. */
ASN1_VALUE *der_decode_exact(const ASN1_ITEM *it, const unsigned char *der, size_t len);

/*
 * The same, but public keys inside (a CSR's subjectPKInfo, a certificate's
 * subjectPublicKeyInfo) stay undecoded bytes: the value is decoded in a
 * library context without algorithms (OpenSSL's null provider, made once).
 * OpenSSL 3.0 otherwise runs its decoder chain on every key it parses, about
 * 100 us each, the largest cost of an enrollment after its RSA operations.
 * X509_REQ_get0_pubkey() and X509_get0_pubkey() give NULL on such a value:
 * read the key with x509util_spki_key(), and verify with an explicit default
 * library context (X509_REQ_verify_ex(req, key, NULL, NULL)).
 */
ASN1_VALUE *der_decode_keyless(const ASN1_ITEM *it, const unsigned char *der, size_t len);

/* DER of v as type it, malloc'd (free with free()), or NULL. */
unsigned char *der_encode(const ASN1_ITEM *it, const void *v, size_t *outlen);

#endif
