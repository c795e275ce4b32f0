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
};

/*
 * Issues a v3 certificate: random positive 128-bit serial, notBefore = now,
 * notAfter = now + validity, AKI and SKI, basicConstraints CA:FALSE (critical),
 * keyUsage (critical) and extendedKeyUsage as given, subjectAltName as given,
 * signed by the CA with SHA-256. NULL with a reason in err on failure.
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

#endif
