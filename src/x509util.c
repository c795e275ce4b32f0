/* SPDX-License-Identifier: ISC */
/*
 * x509util.c: time, serial and public-key facts of certificates, computed
 * once for every module (see x509util.h). It decides nothing and holds no
 * state; parsers may call it (it never aborts; what it returns allocated,
 * the caller frees).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "util.h"
#include "x509util.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int x509util_time_seconds(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

int x509util_serial_hex(const ASN1_INTEGER *serial, char *out, size_t outlen)
{
	const unsigned char *d;
	size_t sign;
	int n, i = 0;

	if (serial == NULL || outlen < 2)
		return -1;
	d = ASN1_STRING_get0_data(serial);
	n = ASN1_STRING_length(serial);
	if (n < 0 || (d == NULL && n > 0))
		return -1;
	while (i < n && d[i] == 0)
		i++;
	if (i == n) {
		strcpy(out, "0");
		return 0;
	}
	sign = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
	if (sign + (size_t)(n - i) * 2 + 1 > outlen)
		return -1;
	if (sign)
		out[0] = '-';
	hex_encode(d + i, (size_t)(n - i), out + sign, 1);
	return 0;
}

int x509util_cert_serial_hex(const X509 *cert, char *out, size_t outlen)
{
	return x509util_serial_hex(X509_get0_serialNumber(cert), out, outlen);
}

EVP_PKEY *x509util_spki_key(const X509_PUBKEY *spki)
{
	ASN1_OBJECT *alg = NULL;
	const unsigned char *bits = NULL, *p;
	unsigned char *der = NULL;
	X509_PUBKEY *decoded = NULL;
	EVP_PKEY *key = NULL;
	int bits_len = 0, der_len;

	if (spki == NULL || X509_PUBKEY_get0_param(&alg, &bits, &bits_len, NULL, spki) != 1)
		goto out;
	if (OBJ_obj2nid(alg) == NID_rsaEncryption) {
		/* the whole RSAPublicKey (d2i_PublicKey has no ASN1_ITEM for der.c) */
		p = bits;
		if (bits != NULL && bits_len > 0 &&
		    (key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, bits_len)) != NULL &&
		    p != bits + bits_len) {
			EVP_PKEY_free(key);
			key = NULL;
		}
		goto out;
	}
	/* other types: the same SPKI decoded again in the default context, by its decoders */
	if ((der_len = i2d_X509_PUBKEY(spki, &der)) > 0 &&
	    (decoded = (X509_PUBKEY *)der_decode_exact(ASN1_ITEM_rptr(X509_PUBKEY), der,
	    (size_t)der_len)) != NULL)
		key = X509_PUBKEY_get(decoded);
out:
	X509_PUBKEY_free(decoded);
	OPENSSL_free(der);
	return key;
}

EVP_PKEY *x509util_spki_der_key(const unsigned char *der, size_t len)
{
	X509_PUBKEY *spki;
	EVP_PKEY *key;

	spki = (X509_PUBKEY *)der_decode_keyless(ASN1_ITEM_rptr(X509_PUBKEY), der, len);
	key = x509util_spki_key(spki);
	X509_PUBKEY_free(spki);
	return key;
}

X509 *x509util_keyed_copy(X509 *cert)
{
	unsigned char *der = NULL;
	X509 *copy = NULL, *result = NULL;
	EVP_PKEY *key = NULL;
	int n;

	if (cert == NULL || (n = i2d_X509(cert, &der)) <= 0)
		goto out;
	if ((copy = (X509 *)der_decode_keyless(ASN1_ITEM_rptr(X509), der, (size_t)n)) == NULL)
		goto out;
	if ((key = x509util_spki_key(X509_get_X509_PUBKEY(cert))) == NULL ||
	    X509_set_pubkey(copy, key) != 1)
		goto out;
	result = copy;
	copy = NULL;
out:
	X509_free(copy);
	EVP_PKEY_free(key);
	OPENSSL_free(der);
	return result;
}

X509 *x509util_decoded_copy(X509 *cert)
{
	unsigned char *der = NULL;
	X509 *copy = NULL;
	int n;

	if (cert != NULL && (n = i2d_X509(cert, &der)) > 0)
		copy = (X509 *)der_decode_exact(ASN1_ITEM_rptr(X509), der, (size_t)n);
	OPENSSL_free(der);
	return copy;
}

const char *x509util_key_usage_names(unsigned ku, char *out, size_t outlen)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ X509v3_KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ X509v3_KU_NON_REPUDIATION, "nonRepudiation" },
		{ X509v3_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ X509v3_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ X509v3_KU_KEY_AGREEMENT, "keyAgreement" },
		{ X509v3_KU_KEY_CERT_SIGN, "keyCertSign" },
		{ X509v3_KU_CRL_SIGN, "cRLSign" },
		{ X509v3_KU_ENCIPHER_ONLY, "encipherOnly" },
		{ X509v3_KU_DECIPHER_ONLY, "decipherOnly" },
	};
	size_t i, used = 0;
	unsigned rest = ku;
	int n;

	if (outlen == 0)
		return out;
	out[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(ku & names[i].bit))
			continue;
		rest &= ~names[i].bit;
		n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", names[i].name);
		if (n < 0 || (size_t)n >= outlen - used)
			return out;
		used += (size_t)n;
	}
	if (rest != 0)
		snprintf(out + used, outlen - used, "%s0x%x", used ? ", " : "", rest);
	else if (ku == 0)
		snprintf(out, outlen, "none");
	return out;
}

int x509util_spki_sha256(const X509_PUBKEY *spki, unsigned char out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n, rc = -1;

	if (spki == NULL || (n = i2d_X509_PUBKEY(spki, &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

char *x509util_name_text(const X509_NAME *name)
{
	BIO *bio = NULL;
	char *data = NULL, *text = NULL;
	long n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		goto out;
	if ((n = BIO_get_mem_data(bio, &data)) < 0 || (n > 0 && data == NULL))
		goto out;
	if ((text = malloc((size_t)n + 1)) == NULL)
		goto out;
	if (n > 0)
		memcpy(text, data, (size_t)n);
	text[n] = '\0';
out:
	BIO_free(bio);
	return text;
}

int x509util_issuers_check(STACK_OF(X509) *certs, const char *what, char *err, size_t errlen)
{
	int i;

	for (i = 1; i < sk_X509_num(certs); i++) {
		if (X509_check_issued(sk_X509_value(certs, i), sk_X509_value(certs, i - 1)) !=
		    X509_V_OK) {
			errorf(err, errlen, "%s: certificate %d did not issue certificate %d before "
			    "it (the CA first, then its issuers up to the root)", what, i + 1, i);
			return -1;
		}
	}
	return 0;
}
