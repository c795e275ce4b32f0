/* SPDX-License-Identifier: ISC */
/* der.c: exact-length decoding and encoding of one ASN.1 value; see der.h. */
#include <limits.h>
#include <stdlib.h>

#include <openssl/asn1.h>

#include "der.h"

ASN1_VALUE *der_decode_exact(const ASN1_ITEM *it, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ASN1_VALUE *v;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	if ((v = ASN1_item_d2i(NULL, &p, (long)len, it)) == NULL)
		return NULL;
	if (p != der + len) {
		ASN1_item_free(v, it);
		return NULL;
	}
	return v;
}

unsigned char *der_encode(const ASN1_ITEM *it, const void *v, size_t *outlen)
{
	unsigned char *der, *p;
	int len;

	if ((len = ASN1_item_i2d((const ASN1_VALUE *)v, NULL, it)) <= 0)
		return NULL;
	if ((der = malloc((size_t)len)) == NULL)
		return NULL;
	p = der;
	if (ASN1_item_i2d((const ASN1_VALUE *)v, &p, it) != len) {
		free(der);
		return NULL;
	}
	*outlen = (size_t)len;
	return der;
}
