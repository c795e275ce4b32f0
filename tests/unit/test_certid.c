/* SPDX-License-Identifier: ISC */
/*
 * test_certid.c: the GetCert/GetCRL IssuerAndSerialNumber and CertPoll
 * IssuerAndSubject parsers (src/certid.c) over structures made from the lab
 * certificates of the fixtures: exact values, the serial's hex form (leading
 * sign octet dropped), and refusals: trailing bytes, truncation, negative,
 * padded and over-long serials, the wrong structure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "certid.h"
#include "tap.h"
#include "fixture.h"

static X509 *lab_cert(const char *path)
{
	unsigned char *pem;
	size_t len = 0;
	BIO *bio;
	X509 *x = NULL;

	if ((pem = fixture_read(NULL, path, &len)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	return x;
}

/* DER IssuerAndSerialNumber of issuer name and serial bytes (big-endian), or a negative serial. */
static unsigned char *ias_der(const X509_NAME *issuer, const unsigned char *serial, int n,
    int negative, int *len)
{
	PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();
	unsigned char *der = NULL;

	X509_NAME_set(&ias->issuer, (X509_NAME *)issuer);
	if (negative)
		ASN1_INTEGER_set_int64(ias->serial, -0x41414141);
	else
		ASN1_STRING_set(ias->serial, serial, n);
	*len = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &der);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return der;
}

static void test_issuer_and_serial(X509 *ca, X509 *ee)
{
	struct certid *c;
	unsigned char *der = NULL, *buf;
	char err[256];
	int len;
	static const unsigned char small[] = { 0x05 }, zeroes[] = { 0x00, 0x00, 0x0a, 0xbc };
	unsigned char big[CERTID_MAX_SERIAL_BYTES + 1];

	len = i2d_PKCS7_ISSUER_AND_SERIAL(&(PKCS7_ISSUER_AND_SERIAL){
	    .issuer = X509_get_issuer_name(ee), .serial = (ASN1_INTEGER *)X509_get0_serialNumber(ee) },
	    &der);
	ok(len > 0, "built an IssuerAndSerialNumber for old.crt");
	c = certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err));
	ok(c != NULL, "parsed (%s)", c ? "" : err);
	if (c != NULL) {
		ok(X509_NAME_cmp(c->issuer, X509_get_subject_name(ca)) == 0, "issuer is the lab CA");
		is_str(c->serial_hex, "D1CD6CEDBE603394", "serial in hex, without the sign octet");
		ok(ASN1_INTEGER_cmp(c->serial, X509_get0_serialNumber(ee)) == 0, "serial value");
		ok(c->subject == NULL, "no subject");
	}
	certid_free(c);
	ok(certid_parse_issuer_and_subject(der, (size_t)len, err, sizeof(err)) == NULL,
	    "an IssuerAndSerialNumber is not an IssuerAndSubject (%s)", err);
	/* trailing byte, truncation */
	buf = malloc((size_t)len + 1);
	memcpy(buf, der, (size_t)len);
	buf[len] = 0;
	err[0] = '\0';
	ok(certid_parse_issuer_and_serial(buf, (size_t)len + 1, err, sizeof(err)) == NULL &&
	    strstr(err, "bytes after it") != NULL, "a trailing byte is refused: %s", err);
	ok(certid_parse_issuer_and_serial(buf, (size_t)len - 1, err, sizeof(err)) == NULL,
	    "a truncated structure is refused");
	ok(certid_parse_issuer_and_serial(buf, 0, err, sizeof(err)) == NULL, "empty is refused");
	free(buf);
	OPENSSL_free(der);

	der = ias_der(X509_get_subject_name(ca), small, 1, 0, &len);
	c = certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err));
	is_str(c ? c->serial_hex : "", "05", "serial 5 is \"05\" (whole octets, as BN_bn2hex)");
	certid_free(c);
	OPENSSL_free(der);
	der = ias_der(X509_get_subject_name(ca), zeroes, 4, 0, &len);
	c = certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err));
	ok(c == NULL, "a serial padded with zero octets (not DER) is refused");
	certid_free(c);
	OPENSSL_free(der);
	memset(big, 0x41, sizeof(big));
	der = ias_der(X509_get_subject_name(ca), big, (int)sizeof(big), 0, &len);
	err[0] = '\0';
	ok(certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err)) == NULL &&
	    strstr(err, "longer than 32") != NULL, "a 33-octet serial is refused: %s", err);
	OPENSSL_free(der);
	der = ias_der(X509_get_subject_name(ca), big, CERTID_MAX_SERIAL_BYTES, 0, &len);
	c = certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err));
	is_str(c ? c->serial_hex : "", "4141414141414141414141414141414141414141414141414141414141414141",
	    "a 32-octet serial fills serial_hex");
	certid_free(c);
	OPENSSL_free(der);
	der = ias_der(X509_get_subject_name(ca), big, 4, 1, &len);
	err[0] = '\0';
	ok(certid_parse_issuer_and_serial(der, (size_t)len, err, sizeof(err)) == NULL &&
	    strstr(err, "negative") != NULL, "a negative serial is refused: %s", err);
	OPENSSL_free(der);
}

static void test_issuer_and_subject(X509 *ca, X509 *ee)
{
	struct certid *c;
	unsigned char *a = NULL, *b = NULL, buf[4096];
	int na, nb, n;
	char err[256];

	na = i2d_X509_NAME(X509_get_subject_name(ca), &a);
	nb = i2d_X509_NAME(X509_get_subject_name(ee), &b);
	n = 0;
	buf[n++] = 0x30;
	buf[n++] = 0x81;
	buf[n++] = (unsigned char)(na + nb);
	memcpy(buf + n, a, (size_t)na);
	memcpy(buf + n + na, b, (size_t)nb);
	n += na + nb;
	c = certid_parse_issuer_and_subject(buf, (size_t)n, err, sizeof(err));
	ok(c != NULL, "IssuerAndSubject parsed (%s)", c ? "" : err);
	if (c != NULL) {
		ok(X509_NAME_cmp(c->issuer, X509_get_subject_name(ca)) == 0, "issuer");
		ok(X509_NAME_cmp(c->subject, X509_get_subject_name(ee)) == 0, "subject");
		ok(c->serial == NULL && c->serial_hex[0] == '\0', "no serial");
	}
	certid_free(c);
	err[0] = '\0';
	ok(certid_parse_issuer_and_subject(buf, (size_t)n - 1, err, sizeof(err)) == NULL,
	    "truncated IssuerAndSubject refused (%s)", err);
	buf[2] = (unsigned char)na;   /* only the issuer inside the SEQUENCE */
	ok(certid_parse_issuer_and_subject(buf, (size_t)(3 + na), err, sizeof(err)) == NULL,
	    "IssuerAndSubject without a subject refused");
	ok(certid_parse_issuer_and_serial(buf, (size_t)(3 + na), err, sizeof(err)) == NULL,
	    "and it is no IssuerAndSerialNumber either");
	OPENSSL_free(a);
	OPENSSL_free(b);
}

/* The encoder a CertPoll uses: the hand-built SEQUENCE above, byte for byte, and parsed back. */
static void test_encode_issuer_and_subject(X509 *ca, X509 *ee)
{
	unsigned char *a = NULL, *b = NULL, *enc, want[4096];
	struct certid *c = NULL;
	size_t len = 0;
	int na, nb, n = 0;
	char err[256];

	na = i2d_X509_NAME(X509_get_subject_name(ca), &a);
	nb = i2d_X509_NAME(X509_get_subject_name(ee), &b);
	want[n++] = 0x30;
	if (na + nb >= 128)   /* DER: the short length form below 128 */
		want[n++] = 0x81;
	want[n++] = (unsigned char)(na + nb);
	memcpy(want + n, a, (size_t)na);
	memcpy(want + n + na, b, (size_t)nb);
	n += na + nb;
	enc = certid_encode_issuer_and_subject(X509_get_subject_name(ca),
	    X509_get_subject_name(ee), &len);
	ok(enc != NULL && len == (size_t)n && memcmp(enc, want, len) == 0,
	    "IssuerAndSubject encoded as DER SEQUENCE { issuer, subject } (%zu bytes)", len);
	if (enc != NULL)
		c = certid_parse_issuer_and_subject(enc, len, err, sizeof(err));
	ok(c != NULL && X509_NAME_cmp(c->issuer, X509_get_subject_name(ca)) == 0 &&
	    X509_NAME_cmp(c->subject, X509_get_subject_name(ee)) == 0,
	    "and certid_parse_issuer_and_subject reads it back");
	ok(certid_encode_issuer_and_subject(NULL, X509_get_subject_name(ee), &len) == NULL &&
	    len == 0, "no issuer: NULL");
	certid_free(c);
	free(enc);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

int main(void)
{
	X509 *ca = lab_cert("lab/ca.crt"), *ee = lab_cert("strongswan-renewalreq/old.crt");

	ok(ca != NULL && ee != NULL, "lab CA and old.crt read");
	if (ca != NULL && ee != NULL) {
		test_issuer_and_serial(ca, ee);
		test_issuer_and_subject(ca, ee);
		test_encode_issuer_and_subject(ca, ee);
	}
	X509_free(ca);
	X509_free(ee);
	return done_testing();
}
