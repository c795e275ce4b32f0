/* SPDX-License-Identifier: ISC */
/*
 * csr.h: PKCS#10 parsing and normalisation (RFC 2986, RFC 8894 §3.3.1).
 * challengePassword in any DirectoryString type (plus IA5String), the
 * extensionRequest (PKCS#9 and the VeriSign twin), the requested key usage and
 * SANs. Pure function of (bytes, length).
 */
#ifndef CSR_H
#define CSR_H

#include <stddef.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct csr {
	X509_REQ *req;              /* owned; decoded key-less (der_decode_keyless): its
	                             * X509_REQ_get0_pubkey() is NULL, use pubkey */
	EVP_PKEY *pubkey;           /* the subjectPKInfo's key (owned) */
	char *subject;              /* RFC 2253 text, UTF-8 */
	char *challenge;            /* challengePassword as UTF-8, or NULL when absent */
	int key_type;               /* EVP_PKEY_RSA, EVP_PKEY_EC, ... */
	int key_bits;
	unsigned char spki_sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
	int self_signature_ok;      /* 1 when the CSR signature verifies with its own key */
	int has_key_usage;          /* extensionRequest carried keyUsage */
	unsigned key_usage;         /* its KU_* bits (X509v3_KU_*) */
	STACK_OF(ASN1_OBJECT) *ext_key_usage; /* requested EKU OIDs (owned), or NULL */
	GENERAL_NAMES *san;         /* requested subjectAltName (owned), or NULL */
};

struct csr *csr_parse(const unsigned char *der, size_t len, char *err, size_t errlen);
void csr_free(struct csr *c);

#endif
