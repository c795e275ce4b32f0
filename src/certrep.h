/* SPDX-License-Identifier: ISC */
/*
 * certrep.h: builds CertRep pkiMessages (RFC 8894 §3.3.2) that mirror the
 * request's algorithms, and the degenerate certs-only PKCS#7 structures used by
 * GetCACert and inside CertRep. Uses the PKCS7 type for degenerate structures so
 * certificates stay in insertion order (CMS encodes a DER-sorted SET OF).
 * Signing goes through signer_sign_message(); no private key is used here.
 */
#ifndef CERTREP_H
#define CERTREP_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

struct signer;

/* What a reply mirrors from its request. */
struct certrep_request {
	const char *transaction_id;
	const unsigned char *sender_nonce;   /* becomes recipientNonce */
	size_t sender_nonce_len;
	int digest_nid;                      /* request digest; SHA-256 is used when NID_undef */
	X509 *recipient;                     /* request signer certificate: the envelope's recipient */
	int cipher_nid;                      /* request content cipher; AES-128-CBC when NID_undef */
	int oaep;                            /* the request used RSAES-OAEP key transport */
	int32_t hresult;                     /* FAILURE: NDES HRESULT for 1.3.6.1.4.1.311.21.33, 0 = none */
};

/*
 * SUCCESS: a degenerate SignedData with issued first (then extra, if any),
 * enveloped to rq->recipient with rq->cipher_nid (issuer-and-serial rid; PKCS#1
 * v1.5 or OAEP key transport as the request), signed as the RA with messageType
 * "3", pkiStatus "0", transactionID, recipientNonce and a fresh 16-byte
 * senderNonce. Returns DER or NULL with a reason.
 */
unsigned char *certrep_success(const struct signer *s, const struct certrep_request *rq,
    X509 *issued, STACK_OF(X509) *extra, size_t *outlen, char *err, size_t errlen);

/*
 * SUCCESS for GetCRL (RFC 8894 §3.3.2.1): as certrep_success, but the
 * enveloped degenerate SignedData holds the CRL (DER) in its crls field.
 */
unsigned char *certrep_success_crl(const struct signer *s, const struct certrep_request *rq,
    const unsigned char *crl, size_t crl_len, size_t *outlen, char *err, size_t errlen);

/*
 * FAILURE: pkiStatus "2", failInfo, failInfoText (UTF8String) when text is
 * non-NULL, the NDES HRESULT attribute (signed decimal PrintableString) when
 * rq->hresult is not 0, no envelope.
 */
unsigned char *certrep_failure(const struct signer *s, const struct certrep_request *rq,
    int failinfo, const char *text, size_t *outlen, char *err, size_t errlen);

/* PENDING: pkiStatus "3", no failInfo, no envelope. */
unsigned char *certrep_pending(const struct signer *s, const struct certrep_request *rq,
    size_t *outlen, char *err, size_t errlen);

/*
 * 1 when recipient's key can receive a pkcsPKIEnvelope (RSA: key transport is
 * RSA PKCS#1 v1.5 or RSAES-OAEP, RFC 8894 §3.2.2), else 0. A request whose
 * signer fails this can never be sent a SUCCESS.
 */
int certrep_can_envelope(X509 *recipient);

/*
 * A CMS EnvelopedData (ContentInfo, DER) of content to recipient (RSA), with
 * content cipher cipher_nid (AES-128-CBC when NID_undef; AES-CBC, 3DES and,
 * with the legacy provider, DES) and PKCS#1 v1.5 or (oaep) RSAES-OAEP key
 * transport: the pkcsPKIEnvelope of a CertRep, and of the requests scepd
 * sends upstream (scep_client.c). NULL with a reason.
 */
unsigned char *certrep_envelope(X509 *recipient, int cipher_nid, int oaep,
    const unsigned char *content, size_t content_len, size_t *outlen, char *err, size_t errlen);

/* Appends the attribute nid = type(bytes) (an ASN1_STRING type) to sk. 0 or -1. */
int certrep_attr_add(STACK_OF(X509_ATTRIBUTE) *sk, int nid, int type,
    const void *bytes, size_t len);

/* A degenerate certs-only PKCS#7 SignedData holding certs in the given order. */
unsigned char *certrep_degenerate(STACK_OF(X509) *certs, size_t *outlen);

#endif
