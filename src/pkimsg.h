/* SPDX-License-Identifier: ISC */
/*
 * pkimsg.h: parses and verifies an incoming SCEP pkiMessage (RFC 8894 §3.2):
 * a CMS SignedData, BER or DER, holding the pkcsPKIEnvelope. A pure function of
 * (bytes, length): no keys, no configuration, no files.
 */
#ifndef PKIMSG_H
#define PKIMSG_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#define PKIMSG_MAX_TRANSACTION_ID 255
#define PKIMSG_MAX_NONCE 64

struct pkimsg {
	int message_type;          /* decimal value of messageType, not checked against the known set */
	char transaction_id[PKIMSG_MAX_TRANSACTION_ID + 1]; /* PrintableString/UTF8String/IA5String, NUL-free */
	unsigned char sender_nonce[PKIMSG_MAX_NONCE];
	size_t sender_nonce_len;   /* 1..PKIMSG_MAX_NONCE */
	int digest_nid;            /* SignerInfo digestAlgorithm (NID_undef if unknown) */
	int signature_nid;         /* SignerInfo signatureAlgorithm: rsaEncryption, sha256WithRSAEncryption, rsassaPss... */
	X509 *signer;              /* the certificate matching the SignerInfo sid (owned), or
	                            * NULL; decoded key-less (der.h): X509_get0_pubkey() is
	                            * NULL, read its key with x509util_spki_key() */
	X509 *signer_keyed;        /* a copy of signer carrying its key, for OpenSSL's CMS
	                            * functions (re-encoded: never compare or store it), or NULL */
	int has_signing_time;
	int64_t signing_time;      /* seconds since the epoch */
	unsigned char *envelope;   /* the encapsulated content: DER/BER ContentInfo(envelopedData) (owned); NULL if none */
	size_t envelope_len;
	/*
	 * CertRep (messageType 3) only, RFC 8894 §3.3.2; left absent for every
	 * other message type. pkiStatus is required in a CertRep (decimal
	 * PrintableString, value not checked); failInfo (decimal PrintableString),
	 * failInfoText (UTF8String, truncated, controls replaced by '?') and
	 * recipientNonce (OCTET STRING, 1..PKIMSG_MAX_NONCE) are optional here:
	 * what a reply must carry is the receiving client's decision.
	 */
	int pki_status;            /* -1 when absent */
	int rep_fail_info;         /* CertRep failInfo; -1 when absent */
	char fail_info_text[256];  /* "" when absent */
	unsigned char recipient_nonce[PKIMSG_MAX_NONCE];
	size_t recipient_nonce_len; /* 0 when absent */
	int has_hresult;           /* NDES's 1.3.6.1.4.1.311.21.33 (signed decimal
	                            * PrintableString) read; informational, so one
	                            * that is not well-formed is ignored */
	int32_t hresult;
	/*
	 * Checks answered with a CertRep rather than HTTP 400: SCEP_FAIL_NONE when the
	 * signer was found and the signature and messageDigest verified;
	 * SCEP_FAIL_BADMESSAGECHECK when the signer is missing or the signature fails;
	 * SCEP_FAIL_BADALG when the digest or signature algorithm is unknown.
	 * reason says which, in plain words.
	 */
	int failinfo;
	char reason[256];
};

/*
 * Returns NULL (reason in err) when no CertRep can be addressed: not a
 * ContentInfo/SignedData, trailing bytes, not exactly one SignerInfo, eContentType
 * not id-data, no signed attributes, a missing/duplicated/mistyped messageType,
 * transactionID or senderNonce; for a CertRep also a missing pkiStatus and a
 * duplicated or mistyped pkiStatus, failInfo, failInfoText or recipientNonce. The signer certificate is never path-validated
 * and its dates and extensions are not checked (scep.md 1.4.6).
 */
struct pkimsg *pkimsg_parse(const unsigned char *der, size_t len, char *err, size_t errlen);
void pkimsg_free(struct pkimsg *msg);

#endif
