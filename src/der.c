/* SPDX-License-Identifier: ISC */
/* der.c: exact-length decoding of one ASN.1 value; see der.h. */
#include <limits.h>

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
