/* SPDX-License-Identifier: ISC */
/*
 * certid.c: parses the messageData of CertPoll (IssuerAndSubject, RFC 8894
 * §3.3.3) and of GetCert and GetCRL (IssuerAndSerialNumber, RFC 5652
 * §10.2.4), the plaintext inside their pkcsPKIEnvelope. It decides nothing:
 * whether the issuer is this CA and whether the serial is known is for the
 * caller. A pure function of (bytes, length): no globals, no files, plain
 * malloc, every decode over the exact length with no trailing bytes.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "certid.h"
#include "der.h"
#include "util.h"
#include "x509util.h"

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } (RFC 8894 §3.3.3) */
typedef struct {
	X509_NAME *issuer;
	X509_NAME *subject;
} ISSUER_AND_SUBJECT;

ASN1_SEQUENCE(ISSUER_AND_SUBJECT) = {
	ASN1_SIMPLE(ISSUER_AND_SUBJECT, issuer, X509_NAME),
	ASN1_SIMPLE(ISSUER_AND_SUBJECT, subject, X509_NAME),
} static_ASN1_SEQUENCE_END(ISSUER_AND_SUBJECT)

struct certid *certid_parse_issuer_and_serial(const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
	PKCS7_ISSUER_AND_SERIAL *ias = NULL;
	struct certid *c = NULL, *result = NULL;

	if (len > CERTID_MAX_DER) {
		errorf(err, errlen, "IssuerAndSerialNumber: larger than %d bytes", CERTID_MAX_DER);
		goto out;
	}
	ias = (PKCS7_ISSUER_AND_SERIAL *)der_decode_exact(ASN1_ITEM_rptr(PKCS7_ISSUER_AND_SERIAL),
	    der, len);
	if (ias == NULL || ias->issuer == NULL || ias->serial == NULL) {
		errorf(err, errlen, "not a single DER IssuerAndSerialNumber, or bytes after it "
		    "(RFC 8894 §3.3.4, RFC 5652 §10.2.4)");
		goto out;
	}
	if (ASN1_STRING_type(ias->serial) == V_ASN1_NEG_INTEGER) {
		errorf(err, errlen, "IssuerAndSerialNumber: negative serial number (RFC 5280 §4.1.2.2)");
		goto out;
	}
	if (ASN1_STRING_length(ias->serial) > CERTID_MAX_SERIAL_BYTES) {
		errorf(err, errlen, "IssuerAndSerialNumber: serial number longer than %d octets",
		    CERTID_MAX_SERIAL_BYTES);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	if (x509util_serial_hex(ias->serial, c->serial_hex, sizeof(c->serial_hex)) == -1) {
		errorf(err, errlen, "IssuerAndSerialNumber: unreadable serial number");
		goto out;
	}
	c->issuer = ias->issuer;
	c->serial = ias->serial;
	ias->issuer = NULL;
	ias->serial = NULL;
	result = c;
	c = NULL;
out:
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	certid_free(c);
	return result;
}

struct certid *certid_parse_issuer_and_subject(const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
	ISSUER_AND_SUBJECT *ias = NULL;
	struct certid *c = NULL, *result = NULL;

	if (len > CERTID_MAX_DER) {
		errorf(err, errlen, "IssuerAndSubject: larger than %d bytes", CERTID_MAX_DER);
		goto out;
	}
	ias = (ISSUER_AND_SUBJECT *)der_decode_exact(ASN1_ITEM_rptr(ISSUER_AND_SUBJECT), der, len);
	if (ias == NULL || ias->issuer == NULL || ias->subject == NULL) {
		errorf(err, errlen, "not a single DER IssuerAndSubject, or bytes after it "
		    "(RFC 8894 §3.3.3)");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	c->issuer = ias->issuer;
	c->subject = ias->subject;
	ias->issuer = NULL;
	ias->subject = NULL;
	result = c;
	c = NULL;
out:
	ASN1_item_free((ASN1_VALUE *)ias, ASN1_ITEM_rptr(ISSUER_AND_SUBJECT));
	certid_free(c);
	return result;
}

unsigned char *certid_encode_issuer_and_subject(const X509_NAME *issuer,
    const X509_NAME *subject, size_t *len)
{
	/* The template's fields are not const; der_encode only reads them. */
	ISSUER_AND_SUBJECT ias = { (X509_NAME *)issuer, (X509_NAME *)subject };

	*len = 0;
	if (issuer == NULL || subject == NULL)
		return NULL;
	return der_encode(ASN1_ITEM_rptr(ISSUER_AND_SUBJECT), &ias, len);
}

void certid_free(struct certid *c)
{
	if (c == NULL)
		return;
	X509_NAME_free(c->issuer);
	X509_NAME_free(c->subject);
	ASN1_INTEGER_free(c->serial);
	free(c);
}
