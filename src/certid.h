/* SPDX-License-Identifier: ISC */
/*
 * certid.h: the messageData of CertPoll, GetCert and GetCRL (RFC 8894
 * §3.3.3-§3.3.5): IssuerAndSubject and IssuerAndSerialNumber, read from the
 * decrypted pkcsPKIEnvelope. Pure functions of (bytes, length).
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

void certid_free(struct certid *c);

/*
 * A serial as upper-case hex, two digits per octet without leading zero
 * octets ("0" for zero): the form BN_bn2hex() gives and the store keeps.
 * -1 when it does not fit in outlen.
 */
int certid_serial_hex(const ASN1_INTEGER *serial, char *out, size_t outlen);

#endif
