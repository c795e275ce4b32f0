/* SPDX-License-Identifier: ISC */
/*
 * der.c: exact-length decoding and encoding of one ASN.1 value; see der.h.
 * Owns the key-less library context of der_decode_keyless: made once, never
 * changed, never freed (like OpenSSL's own default context).
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include <openssl/asn1.h>
#include <openssl/provider.h>

#include "der.h"

static pthread_once_t keyless_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *keyless_ctx;

/*
 * A library context whose only provider is the null one. Loading it keeps
 * OpenSSL from falling back to the default provider there, so a key decoder
 * finds no algorithm and gives up at once.
 */
static void make_keyless_ctx(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

	if (ctx == NULL)
		return;
	if (OSSL_PROVIDER_load(ctx, "null") == NULL) {
		OSSL_LIB_CTX_free(ctx);
		return;
	}
	keyless_ctx = ctx;
}

static ASN1_VALUE *decode_in(const ASN1_ITEM *it, const unsigned char *der, size_t len,
    OSSL_LIB_CTX *libctx)
{
	const unsigned char *p = der;
	ASN1_VALUE *v;

	if (der == NULL || len == 0 || len > LONG_MAX)
		return NULL;
	if ((v = ASN1_item_d2i_ex(NULL, &p, (long)len, it, libctx, NULL)) == NULL)
		return NULL;
	if (p != der + len) {
		ASN1_item_free(v, it);
		return NULL;
	}
	return v;
}

ASN1_VALUE *der_decode_exact(const ASN1_ITEM *it, const unsigned char *der, size_t len)
{
	return decode_in(it, der, len, NULL);
}

ASN1_VALUE *der_decode_keyless(const ASN1_ITEM *it, const unsigned char *der, size_t len)
{
	/* Without the context (out of memory at its making) the keys are decoded: slower, same result. */
	if (pthread_once(&keyless_once, make_keyless_ctx) != 0)
		return decode_in(it, der, len, NULL);
	return decode_in(it, der, len, keyless_ctx);
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
