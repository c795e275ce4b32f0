/* SPDX-License-Identifier: ISC */
/*
 * certid.h: the messageData of CertPoll, GetCert and GetCRL (RFC 8894
 * §3.3.3-§3.3.5): IssuerAndSubject and IssuerAndSerialNumber, read from the
 * decrypted pkcsPKIEnvelope. Pure functions of (bytes, length); and the
 * IssuerAndSubject a CertPoll sends, encoded from the same ASN.1 template.
 */
#ifndef CERTID_H
#define CERTID_H

#include <stddef.h>
#include <openssl/x509.h>

#define CERTID_MAX_DER 65536
#define CERTID_MAX_SERIAL_BYTES 32

struct certid {
	X509_NAME *issuer;        /* owned */
	X509_NAME *subject;       /* IssuerAndSubject only (owned), else NULL */
	ASN1_INTEGER *serial;     /* IssuerAndSerialNumber only (owned), else NULL */
	char serial_hex[2 * CERTID_MAX_SERIAL_BYTES + 2]; /* upper-case hex as the store keeps it */
};

/*
 * IssuerAndSerialNumber (RFC 5652 §10.2.4; GetCert, GetCRL): NULL with a reason
 * when the bytes are not exactly one such SEQUENCE, or the serial is negative
 * or longer than CERTID_MAX_SERIAL_BYTES.
 */
struct certid *certid_parse_issuer_and_serial(const unsigned char *der, size_t len,
    char *err, size_t errlen);

/* IssuerAndSubject (RFC 8894 §3.3.3; CertPoll): SEQUENCE { issuer Name, subject Name }. */
struct certid *certid_parse_issuer_and_subject(const unsigned char *der, size_t len,
    char *err, size_t errlen);

/*
 * The DER of IssuerAndSubject { issuer, subject } (what a CertPoll carries),
 * malloc'd (free with free()), or NULL.
 */
unsigned char *certid_encode_issuer_and_subject(const X509_NAME *issuer,
    const X509_NAME *subject, size_t *len);

void certid_free(struct certid *c);

#endif
