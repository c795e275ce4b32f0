/* SPDX-License-Identifier: ISC */
/*
 * signer.h: the only code that touches private keys: it decrypts request
 * envelopes, issues certificates from a normalised request, and signs SCEP
 * messages as the RA. Its interface takes plain bytes and small structs so it
 * can move into a separate process. Loaded once at start-up, then read-only and
 * shared by every request thread.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct config;
struct signer;

/*
 * Loads the CA certificate and key and, when configured, the RA signing and
 * encryption certificates and keys. Refuses key files readable by group or
 * others, keys that do not match their certificate, and RA certificates that are
 * not RSA or not issued by the CA. Loads OpenSSL's legacy provider only when
 * cfg->allow_des is set. With a forwarding backend (backend.type scep or
 * exec) the CA key is not loaded (signer_issue then refuses), the ra group is
 * required, and self-signed RA certificates are accepted too.
 */
struct signer *signer_load(const struct config *cfg, char *err, size_t errlen);
void signer_free(struct signer *s);

/* The key and certificate files of one signer; RA ones all NULL when the CA acts as RA. */
struct signer_files {
	const char *ca_cert, *ca_key;
	const char *ra_sign_cert, *ra_sign_key;
	const char *ra_enc_cert, *ra_enc_key;
	int forward;   /* a forwarding backend: the CA certificate only (no key), RA required,
	                * RA certificates may be self-signed */
};

/* signer_load() with explicit files: a profile's own RA, or the rollover CA. */
struct signer *signer_load_files(const struct signer_files *f, int allow_des,
    char *err, size_t errlen);

/*
 * The RFC 5280 key identifier (method 1: SHA-1 of the subjectPublicKey) of
 * cert as upper-case hex into out (41 bytes). 0, or -1.
 */
int signer_key_id(X509 *cert, char out[41]);

/*
 * A signer holding one identity, for scepd acting as a SCEP client for itself
 * (scepctl init --upstream): cert and key (RSA; up-referenced) sign messages
 * and open the replies enveloped to cert (single DES too with allow_des, which
 * loads the legacy provider). It has no CA key, so signer_issue refuses;
 * signer_ca_cert returns cert.
 */
struct signer *signer_from_pair(X509 *cert, EVP_PKEY *key, int allow_des, char *err,
    size_t errlen);

X509 *signer_ca_cert(const struct signer *s);        /* borrowed */
X509 *signer_ra_sign_cert(const struct signer *s);   /* borrowed; the CA when no RA */
X509 *signer_ra_enc_cert(const struct signer *s);    /* borrowed; the CA when no RA */
int signer_has_ra(const struct signer *s);

/*
 * Decrypts a pkcsPKIEnvelope, trying the RA encryption key, then the RA signing
 * key, then the CA key (clients pick the wrong recipient, sscep#60). Returns
 * SCEP_FAIL_NONE with the content in *out (malloc'd) and which certificate
 * matched in *matched ("ra-enc", "ra-sign", "ca"); SCEP_FAIL_BADALG for a
 * content cipher or key transport that is not enabled; SCEP_FAIL_BADREQUEST when
 * no key opens it (reason in err, without padding-oracle detail).
 */
int signer_decrypt(const struct signer *s, const unsigned char *env, size_t envlen,
    int allow_des, unsigned char **out, size_t *outlen, const char **matched,
    char *err, size_t errlen);

/* What the CA signs: built by policy from a parsed, checked CSR. */
struct issue_request {
	const X509_NAME *subject;
	EVP_PKEY *pubkey;
	const GENERAL_NAMES *san;          /* NULL for none */
	unsigned key_usage;                /* X509v3_KU_* bits; 0 = no keyUsage extension */
	const ASN1_OBJECT *const *eku;     /* extendedKeyUsage OIDs */
	size_t n_eku;
	unsigned validity_days;
	int64_t now;
	const char *crl_url;               /* CRL distribution point URI, or NULL for none */
	int64_t not_before, not_after;     /* lab mode's validity override (both set), else 0:
	                                    * now and now + validity_days */
};

/*
 * Issues a v3 certificate: random positive 128-bit serial, notBefore = now,
 * notAfter = now + validity, AKI and SKI, basicConstraints CA:FALSE (critical),
 * keyUsage (critical) and extendedKeyUsage as given, subjectAltName as given,
 * a CRL distribution point when crl_url is set, signed by the CA with SHA-256.
 * NULL with a reason in err on failure.
 */
X509 *signer_issue(const struct signer *s, const struct issue_request *req,
    char *err, size_t errlen);

/*
 * Signs a SCEP pkiMessage as the RA (CMS SignedData, eContentType id-data):
 * econtent (NULL for none) encapsulated, digest md_nid, signatureAlgorithm
 * rsaEncryption (PKCS#1 v1.5), the RA signing certificate in `certificates`, and
 * signed attributes contentType, messageDigest, signingTime plus the caller's
 * attrs (owned by the caller). Returns DER (malloc'd) or NULL.
 */
unsigned char *signer_sign_message(const struct signer *s, int md_nid,
    const unsigned char *econtent, size_t econtent_len,
    const STACK_OF(X509_ATTRIBUTE) *attrs, size_t *outlen, char *err, size_t errlen);

/*
 * Signs content with the CA key itself (CMS SignedData, eContentType id-data,
 * SHA-256, the CA certificate in `certificates`): the GetNextCACert response
 * (RFC 8894 §4.7.1), whose content is the degenerate structure of the next CA.
 */
unsigned char *signer_sign_as_ca(const struct signer *s, const unsigned char *content,
    size_t content_len, size_t *outlen, char *err, size_t errlen);

/* One revoked certificate for a CRL. */
struct signer_crl_entry {
	const char *serial;       /* upper-case hex */
	int64_t revoked_at;
	int reason;               /* RFC 5280 CRLReason; 0 (unspecified) adds no reasonCode */
};

/*
 * Signs a v2 CRL of the CA: issuer = CA subject, thisUpdate, nextUpdate, the
 * entries (reasonCode when not unspecified), cRLNumber and
 * authorityKeyIdentifier. Returns DER (malloc'd) or NULL with a reason.
 */
unsigned char *signer_sign_crl(const struct signer *s, const struct signer_crl_entry *entries,
    size_t n, int64_t number, int64_t this_update, int64_t next_update, size_t *outlen,
    char *err, size_t errlen);

#endif
