/* SPDX-License-Identifier: ISC */
/*
 * test_x509util.c: the certificate facts every module reads through
 * src/x509util.c: ASN1_TIME (UTCTime and GeneralizedTime, before 1970 and
 * after 2038) as seconds, serial numbers as the store's hex (zero, leading
 * zero octets, the sign octet, negative, against BN_bn2hex, a short buffer),
 * and the SHA-256 of a SubjectPublicKeyInfo against a hash made by hand;
 * the public key of a SubjectPublicKeyInfo (RSA read directly, EC through the
 * decoders, malformed and trailing bytes refused), certificates decoded
 * key-less (der.h) and the keyed and decoded copies made of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tap.h"
#include "der.h"
#include "fixture.h"
#include "x509util.h"

static void time_is(const char *text, int64_t want)
{
	ASN1_TIME *t = ASN1_TIME_new();
	int64_t got = -12345;

	if (t == NULL || ASN1_TIME_set_string(t, text) != 1) {
		ok(0, "ASN1_TIME %s could not be made", text);
		ASN1_TIME_free(t);
		return;
	}
	ok(x509util_time_seconds(t, &got) == 0 && got == want,
	    "%s (%s) is %lld seconds (got %lld)", text,
	    ASN1_STRING_type(t) == V_ASN1_UTCTIME ? "UTCTime" : "GeneralizedTime",
	    (long long)want, (long long)got);
	ASN1_TIME_free(t);
}

static void test_time(void)
{
	ASN1_TIME *bad = ASN1_UTCTIME_new();
	int64_t out = 7;

	time_is("700101000000Z", 0);
	time_is("991231235959Z", 946684799);
	time_is("500101000000Z", -631152000);            /* UTCTime 50 is 1950 */
	time_is("20380119031408Z", 2147483648LL);       /* one past 32-bit time_t */
	time_is("21060207062816Z", 4294967296LL);
	time_is("19000101000000Z", -2208988800LL);
	time_is("20240229120000Z", 1709208000);          /* a leap day */
	ok(x509util_time_seconds(NULL, &out) == -1 && out == 7, "NULL: -1, out untouched");
	if (bad != NULL)
		ASN1_STRING_set(bad, "not a time", -1);
	ok(bad != NULL && x509util_time_seconds(bad, &out) == -1 && out == 7,
	    "a malformed UTCTime: -1");
	ASN1_TIME_free(bad);
}

static void serial_is(const unsigned char *bytes, int n, int negative, const char *want)
{
	ASN1_INTEGER *a = ASN1_INTEGER_new();
	char out[X509UTIL_SERIAL_HEX_MAX];

	if (negative)
		ASN1_INTEGER_set_int64(a, -(int64_t)bytes[0] * 256 - bytes[1]);
	else
		ASN1_STRING_set(a, bytes, n);
	ok(x509util_serial_hex(a, out, sizeof(out)) == 0 && strcmp(out, want) == 0,
	    "serial -> \"%s\" (got \"%s\")", want, out);
	ASN1_INTEGER_free(a);
}

static void test_serial(void)
{
	static const unsigned char zero[] = { 0x00 }, small[] = { 0x05 },
	    lead[] = { 0x00, 0x00, 0x0a, 0xbc }, high[] = { 0x00, 0x80 }, neg[] = { 0x41, 0x41 };
	unsigned char rnd[20];
	ASN1_INTEGER *a = NULL;
	BIGNUM *bn = NULL;
	char out[X509UTIL_SERIAL_HEX_MAX], *hex = NULL, tiny[4];
	int i, same = 1;

	serial_is(zero, 1, 0, "0");
	serial_is(zero, 0, 0, "0");
	serial_is(small, 1, 0, "05");
	serial_is(lead, 4, 0, "0ABC");
	serial_is(high, 2, 0, "80");
	serial_is(neg, 2, 1, "-4141");
	/* Random 20-octet serials: the same text as BN_bn2hex, the form the store has always kept. */
	for (i = 0; i < 200 && same; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
		    (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
		    (a = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || (hex = BN_bn2hex(bn)) == NULL ||
		    x509util_serial_hex(a, out, sizeof(out)) != 0 || strcmp(out, hex) != 0)
			same = 0;
		if (!same)
			printf("# got %s, BN_bn2hex %s\n", out, hex ? hex : "(null)");
		OPENSSL_free(hex);
		hex = NULL;
		ASN1_INTEGER_free(a);
		a = NULL;
		BN_free(bn);
		bn = NULL;
	}
	ok(same, "200 random serials: as BN_bn2hex writes them");
	a = ASN1_INTEGER_new();
	ASN1_STRING_set(a, lead, 4);
	ok(x509util_serial_hex(a, tiny, sizeof(tiny)) == -1, "a buffer too small: -1");
	ok(x509util_serial_hex(NULL, out, sizeof(out)) == -1, "NULL: -1");
	ASN1_INTEGER_free(a);
}

static void test_spki(void)
{
	unsigned char *pem, *der = NULL, want[32], got[32];
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	int n;

	if ((pem = fixture_read(NULL, "lab/ca.crt", &len)) != NULL &&
	    (bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	ok(x != NULL, "lab CA read");
	if (x != NULL) {
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
		EVP_Digest(der, (size_t)n, want, NULL, EVP_sha256(), NULL);
		ok(x509util_spki_sha256(X509_get_X509_PUBKEY(x), got) == 0 &&
		    memcmp(got, want, 32) == 0, "SPKI SHA-256 of the lab CA");
	}
	ok(x509util_spki_sha256(NULL, got) == -1, "no SPKI: -1");
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	free(pem);
}

/* The DER SubjectPublicKeyInfo of key, malloc'd by OpenSSL. */
static int spki_der(EVP_PKEY *key, unsigned char **der)
{
	*der = NULL;
	return i2d_PUBKEY(key, der);
}

static void test_spki_key(void)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *got;
	unsigned char *der = NULL, *longer = NULL;
	int n;

	ok(rsa != NULL && ec != NULL, "keys made");
	if (rsa == NULL || ec == NULL)
		goto out;
	n = spki_der(rsa, &der);
	got = x509util_spki_der_key(der, (size_t)n);
	ok(got != NULL && EVP_PKEY_eq(got, rsa) == 1 && EVP_PKEY_get_bits(got) == 2048,
	    "RSA SubjectPublicKeyInfo: the same key, 2048 bits");
	EVP_PKEY_free(got);
	ok(x509util_spki_der_key(der, (size_t)n - 1) == NULL, "RSA: one byte short: NULL");
	longer = malloc((size_t)n + 1);
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	ok(x509util_spki_der_key(longer, (size_t)n + 1) == NULL, "RSA: a byte after it: NULL");
	/* the last byte of the RSAPublicKey (its exponent) changed */
	der[n - 1] ^= 0xff;
	got = x509util_spki_der_key(der, (size_t)n);
	ok(got == NULL || EVP_PKEY_eq(got, rsa) != 1, "RSA: a changed byte gives another key (or none)");
	EVP_PKEY_free(got);
	OPENSSL_free(der);
	n = spki_der(ec, &der);
	got = x509util_spki_der_key(der, (size_t)n);
	ok(got != NULL && EVP_PKEY_eq(got, ec) == 1, "EC SubjectPublicKeyInfo (decoders): the same key");
	EVP_PKEY_free(got);
	ok(x509util_spki_der_key((const unsigned char *)"\x30\x03\x02\x01\x01", 5) == NULL,
	    "not a SubjectPublicKeyInfo: NULL");
	ok(x509util_spki_key(NULL) == NULL, "no SPKI: NULL");
out:
	OPENSSL_free(der);
	free(longer);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void test_keyless(void)
{
	unsigned char *pem, *der = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL, *kl = NULL, *keyed = NULL, *full = NULL;
	EVP_PKEY *key = NULL;
	int n = 0;

	if ((pem = fixture_read(NULL, "lab/ca.crt", &len)) != NULL &&
	    (bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x != NULL)
		n = i2d_X509(x, &der);
	ok(x != NULL && n > 0, "lab CA read");
	if (n <= 0)
		goto out;
	kl = (X509 *)der_decode_keyless(ASN1_ITEM_rptr(X509), der, (size_t)n);
	ok(kl != NULL && X509_get0_pubkey(kl) == NULL, "decoded key-less: no key decoded");
	ok(kl != NULL && X509_cmp(kl, x) == 0, "key-less: the same certificate");
	ok(der_decode_keyless(ASN1_ITEM_rptr(X509), der, (size_t)n - 1) == NULL,
	    "key-less: one byte short: NULL");
	key = x509util_spki_key(X509_get_X509_PUBKEY(kl));
	ok(key != NULL && EVP_PKEY_eq(key, X509_get0_pubkey(x)) == 1, "its key read from the SPKI");
	keyed = x509util_keyed_copy(kl);
	ok(keyed != NULL && EVP_PKEY_eq(X509_get0_pubkey(keyed), X509_get0_pubkey(x)) == 1,
	    "keyed copy carries the key");
	full = x509util_decoded_copy(kl);
	ok(full != NULL && EVP_PKEY_eq(X509_get0_pubkey(full), X509_get0_pubkey(x)) == 1 &&
	    X509_verify(full, X509_get0_pubkey(x)) == 1, "decoded copy: key and self-signature");
	ok(kl != NULL && X509_verify(kl, X509_get0_pubkey(x)) == 1,
	    "key-less certificate still verifies with a given key");
out:
	EVP_PKEY_free(key);
	X509_free(full);
	X509_free(keyed);
	X509_free(kl);
	X509_free(x);
	OPENSSL_free(der);
	BIO_free(bio);
	free(pem);
}

int main(void)
{
	test_time();
	test_serial();
	test_spki();
	test_spki_key();
	test_keyless();
	return done_testing();
}
