/* SPDX-License-Identifier: ISC */
/* x509build.c: serial numbers and signing digests for certificates; see x509build.h. */
#include <openssl/bn.h>
#include <openssl/rand.h>

#include "x509build.h"

int x509build_random_serial(X509 *x)
{
	unsigned char buf[X509BUILD_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	int result = -1;

	if (RAND_bytes(buf, sizeof(buf)) != 1)
		goto out;
	buf[0] &= 0x7f;   /* positive: no leading 0x00 needed in DER */
	buf[0] |= 0x40;   /* and never shorter than 16 octets */
	if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
		goto out;
	if ((serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if (X509_set_serialNumber(x, serial) != 1)
		goto out;
	result = 0;
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return result;
}

const EVP_MD *x509build_digest(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return EVP_sha256();
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_bits(key) > 384)
			return EVP_sha512();
		return EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
	default:
		return NULL;
	}
}
