/* SPDX-License-Identifier: ISC */
/*
 * signer.c: the only code in the daemon that holds private keys. It loads the
 * CA and RA keys once (refusing loose permissions and mismatched pairs), opens
 * request envelopes, issues certificates from a normalised issue_request (it
 * builds every field itself and never signs bytes it is handed), and signs SCEP
 * messages as the RA. It must not parse pkiMessages, read the configuration
 * file, or decide policy: callers hand it small structs and plain bytes so it
 * can later move into a process of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "envelope.h"
#include "scep_types.h"
#include "der.h"
#include "keyref.h"
#include "pemfile.h"
#include "pkcs11uri.h"
#include "signer.h"
#include "signer_remote.h"
#include "util.h"
#include "x509build.h"

#define SIGNER_MAX_ENVELOPE (4 * 1024 * 1024) /* a pkcsPKIEnvelope, and its content */

struct signer {
	X509 *ca_cert;
	EVP_PKEY *ca_key;
	X509 *ra_sign_cert;      /* the CA's when no RA */
	EVP_PKEY *ra_sign_key;
	X509 *ra_enc_cert;       /* the CA's when no RA */
	EVP_PKEY *ra_enc_key;
	int has_ra;
	OSSL_PROVIDER *legacy;   /* loaded only with allow_des */
	OSSL_PROVIDER *dflt;
	struct signer_remote *remote; /* keys in the signer process: certificates only here */
};

/*
 * The signer process scepd forked at start (keyproc.c), or NULL for keys in
 * this process (scepctl, tests). Set once before any request thread runs and
 * never changed after: it is part of the start-up configuration.
 */
static struct keyproc *use_keyproc;

void signer_use_keyproc(struct keyproc *kp)
{
	use_keyproc = kp;
}

static int load_pair(const char *what, const char *cert_path, const char *key_path,
    X509 **cert, EVP_PKEY **key, char *err, size_t errlen)
{
	char ebuf[256], *shown;

	if ((*cert = pemfile_cert(cert_path, err, errlen)) == NULL)
		return -1;
	if (use_keyproc != NULL)
		return 0;   /* the signer process loads the key and checks the pair */
	if ((*key = keyref_load(key_path, 1, err, errlen)) == NULL)
		return -1;
	if (X509_check_private_key(*cert, *key) != 1) {
		shown = pkcs11uri_redact(key_path);
		errorf(err, errlen, "%s: key %s does not match certificate %s (%s)", what,
		    shown, cert_path, ossl_errors(ebuf, sizeof(ebuf)));
		free(shown);
		return -1;
	}
	return 0;
}

static int is_rsa(X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	return pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
}

/* 1 when x is issued by issuer: names match and the signature verifies. */
static int issued_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	int ok = X509_check_issued(issuer, x) == X509_V_OK && pub != NULL &&
	    X509_verify(x, pub) == 1;

	ERR_clear_error();
	return ok;
}

/* 1 when x names itself as issuer and its own key verifies it (key usage not asked). */
static int self_signed(X509 *x)
{
	EVP_PKEY *pub = X509_get0_pubkey(x);
	int ok = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0 &&
	    pub != NULL && X509_verify(x, pub) == 1;

	ERR_clear_error();
	return ok;
}

/*
 * An RA certificate must be issued by the CA; with a forwarding backend
 * (forward set) it may also be self-signed, for upstreams that cannot issue
 * RA certificates (scepctl init --upstream then makes them itself).
 */
static int check_ra(const char *what, const char *path, X509 *ra, X509 *ca, uint32_t need,
    int forward, char *err, size_t errlen)
{
	uint32_t ku;

	if (!is_rsa(ra)) {
		errorf(err, errlen, "%s %s: the RA key must be RSA (SCEP clients only do RSA "
		    "key transport and PKCS#1 v1.5 verification)", what, path);
		return -1;
	}
	if (!issued_by(ra, ca) && !(forward && self_signed(ra))) {
		errorf(err, errlen, "%s %s: not issued by the CA certificate%s", what, path,
		    forward ? " and not self-signed" : "");
		return -1;
	}
	ku = X509_get_key_usage(ra);
	if (ku != UINT32_MAX && (ku & need) == 0) {
		errorf(err, errlen, "%s %s: keyUsage lacks %s", what, path,
		    need == KU_DIGITAL_SIGNATURE ? "digitalSignature" : "keyEncipherment");
		return -1;
	}
	return 0;
}

int signer_certs_digest(const struct signer *s, unsigned char out[32])
{
	X509 *certs[3] = { s->ca_cert, s->ra_sign_cert, s->ra_enc_cert };
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	unsigned int outlen = 0;
	int n, rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (int i = 0; i < 3; i++) {
		if (certs[i] == NULL || (n = i2d_X509(certs[i], &der)) <= 0 ||
		    EVP_DigestUpdate(ctx, der, (size_t)n) != 1)
			goto out;
		OPENSSL_free(der);
		der = NULL;
	}
	if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != 32)
		goto out;
	rc = 0;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Has the signer process load the keys of f and check them against s's certificates. */
static int open_remote(struct signer *s, const struct signer_files *f, int allow_des,
    char *err, size_t errlen)
{
	unsigned char digest[32];

	if (signer_certs_digest(s, digest) == -1) {
		errorf(err, errlen, "cannot hash the certificates of %s", f->ca_cert);
		return -1;
	}
	if ((s->remote = signer_remote_open(use_keyproc, f, allow_des, digest, err,
	    errlen)) == NULL)
		return -1;
	return 0;
}

struct signer *signer_load_files(const struct signer_files *f, int allow_des,
    char *err, size_t errlen)
{
	struct signer *s = NULL, *result = NULL;
	int n_ra;
	char ebuf[256];

	s = xcalloc(1, sizeof(*s));
	if (f->ca_cert == NULL || (f->ca_key == NULL && !f->forward)) {
		errorf(err, errlen, "ca.cert and ca.key must be set");
		goto out;
	}
	n_ra = (f->ra_sign_cert != NULL) + (f->ra_sign_key != NULL) +
	    (f->ra_enc_cert != NULL) + (f->ra_enc_key != NULL);
	if (n_ra != 0 && n_ra != 4) {
		errorf(err, errlen, "ra: sign_cert, sign_key, enc_cert and enc_key must all be set");
		goto out;
	}
	if (f->forward && n_ra != 4) {
		errorf(err, errlen, "a forwarding backend needs the ra group: without the CA key, "
		    "scepd signs and decrypts SCEP messages with its RA keys");
		goto out;
	}
	/*
	 * Providers first, so that keys are loaded through the same set. Loading
	 * any provider explicitly switches off the implicit default one, hence both.
	 */
	if (allow_des) {
		if ((s->legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL) {
			errorf(err, errlen, "scep.allow_des: cannot load OpenSSL's legacy provider (%s)",
			    ossl_errors(ebuf, sizeof(ebuf)));
			goto out;
		}
		if ((s->dflt = OSSL_PROVIDER_load(NULL, "default")) == NULL) {
			errorf(err, errlen, "cannot load OpenSSL's default provider (%s)",
			    ossl_errors(ebuf, sizeof(ebuf)));
			goto out;
		}
	}
	if (f->forward) {
		if ((s->ca_cert = pemfile_cert(f->ca_cert, err, errlen)) == NULL)
			goto out;
	} else if (load_pair("CA", f->ca_cert, f->ca_key, &s->ca_cert, &s->ca_key, err,
	    errlen) == -1)
		goto out;
	if (n_ra == 4) {
		if (load_pair("RA signing", f->ra_sign_cert, f->ra_sign_key, &s->ra_sign_cert,
		    &s->ra_sign_key, err, errlen) == -1)
			goto out;
		if (load_pair("RA encryption", f->ra_enc_cert, f->ra_enc_key, &s->ra_enc_cert,
		    &s->ra_enc_key, err, errlen) == -1)
			goto out;
		if (check_ra("RA signing certificate", f->ra_sign_cert, s->ra_sign_cert,
		    s->ca_cert, KU_DIGITAL_SIGNATURE, f->forward, err, errlen) == -1)
			goto out;
		if (check_ra("RA encryption certificate", f->ra_enc_cert, s->ra_enc_cert,
		    s->ca_cert, KU_KEY_ENCIPHERMENT, f->forward, err, errlen) == -1)
			goto out;
		s->has_ra = 1;
	} else {
		if (!is_rsa(s->ca_cert)) {
			errorf(err, errlen, "%s: without an RA the CA signs and decrypts SCEP messages "
			    "and must be RSA; configure ra { } (scepctl init makes RSA RA certificates)",
			    f->ca_cert);
			goto out;
		}
		if (X509_up_ref(s->ca_cert) != 1 ||
		    (s->ca_key != NULL && EVP_PKEY_up_ref(s->ca_key) != 1))
			goto out;
		s->ra_sign_cert = s->ca_cert;
		s->ra_sign_key = s->ca_key;
		if (X509_up_ref(s->ca_cert) != 1 ||
		    (s->ca_key != NULL && EVP_PKEY_up_ref(s->ca_key) != 1))
			goto out;
		s->ra_enc_cert = s->ca_cert;
		s->ra_enc_key = s->ca_key;
	}
	if (use_keyproc != NULL && open_remote(s, f, allow_des, err, errlen) == -1)
		goto out;
	result = s;
	s = NULL;
out:
	signer_free(s);
	return result;
}

struct signer *signer_load(const struct config *cfg, char *err, size_t errlen)
{
	struct signer_files f = {
		.ca_cert = cfg->ca_cert, .ca_key = cfg->ca_key,
		.ra_sign_cert = cfg->ra_sign_cert, .ra_sign_key = cfg->ra_sign_key,
		.ra_enc_cert = cfg->ra_enc_cert, .ra_enc_key = cfg->ra_enc_key,
		/* Forwarding backends (scep, exec) only: no CA key is loaded. */
		.forward = !config_needs_ca_key(cfg),
	};

	return signer_load_files(&f, cfg->allow_des, err, errlen);
}

struct signer *signer_from_pair(X509 *cert, EVP_PKEY *key, int allow_des, char *err,
    size_t errlen)
{
	struct signer *s = NULL;
	char ebuf[256];

	if (!is_rsa(cert) || X509_check_private_key(cert, key) != 1) {
		errorf(err, errlen, "the identity must be an RSA key and its certificate (%s)",
		    ossl_errors(ebuf, sizeof(ebuf)));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (allow_des && ((s->legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL ||
	    (s->dflt = OSSL_PROVIDER_load(NULL, "default")) == NULL)) {
		errorf(err, errlen, "cannot load OpenSSL's legacy provider (%s)",
		    ossl_errors(ebuf, sizeof(ebuf)));
		signer_free(s);
		return NULL;
	}
	if (X509_up_ref(cert) != 1 || EVP_PKEY_up_ref(key) != 1) {
		signer_free(s);
		return NULL;
	}
	s->ra_sign_cert = cert;
	s->ra_sign_key = key;
	if (X509_up_ref(cert) != 1 || EVP_PKEY_up_ref(key) != 1) {
		signer_free(s);
		return NULL;
	}
	s->ra_enc_cert = cert;
	s->ra_enc_key = key;
	if (X509_up_ref(cert) != 1) {
		signer_free(s);
		return NULL;
	}
	s->ca_cert = cert;   /* no CA key: signer_issue refuses */
	return s;
}

void signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	signer_remote_free(s->remote);
	X509_free(s->ca_cert);
	EVP_PKEY_free(s->ca_key);
	X509_free(s->ra_sign_cert);
	EVP_PKEY_free(s->ra_sign_key);
	X509_free(s->ra_enc_cert);
	EVP_PKEY_free(s->ra_enc_key);
	if (s->legacy != NULL)
		OSSL_PROVIDER_unload(s->legacy);
	if (s->dflt != NULL)
		OSSL_PROVIDER_unload(s->dflt);
	free(s);
}

X509 *signer_ca_cert(const struct signer *s)
{
	return s->ca_cert;
}

X509 *signer_ra_sign_cert(const struct signer *s)
{
	return s->ra_sign_cert;
}

X509 *signer_ra_enc_cert(const struct signer *s)
{
	return s->ra_enc_cert;
}

int signer_has_ra(const struct signer *s)
{
	return s->has_ra;
}

/* Content ciphers accepted in a request envelope (DES-CBC only with allow_des). */
static int cipher_known(int nid)
{
	switch (nid) {
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
	case NID_des_ede3_cbc:
	case NID_des_cbc:
		return 1;
	default:
		return 0;
	}
}

/* Parses the whole buffer as a CMS ContentInfo; NULL on error or trailing bytes. */
static CMS_ContentInfo *cms_parse(const unsigned char *der, size_t len)
{
	if (len > SIGNER_MAX_ENVELOPE)
		return NULL;
	return (CMS_ContentInfo *)der_decode_exact(ASN1_ITEM_rptr(CMS_ContentInfo), der, len);
}

/*
 * Which of our certificates the envelope's key-transport recipients name:
 * bit 0 RA encryption, bit 1 RA signing, bit 2 CA. *supported is set when at
 * least one KTRI uses rsaEncryption or RSAES-OAEP.
 */
static unsigned addressed_to(const struct signer *s, CMS_ContentInfo *cms, int *supported)
{
	STACK_OF(CMS_RecipientInfo) *ris;
	CMS_RecipientInfo *ri;
	X509_ALGOR *alg;
	unsigned mask = 0;
	int i, nid;

	*supported = 0;
	if ((ris = CMS_get0_RecipientInfos(cms)) == NULL)
		return 0;
	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
			continue;
		alg = NULL;
		if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1 || alg == NULL)
			continue;
		nid = OBJ_obj2nid(alg->algorithm);
		if (nid != NID_rsaEncryption && nid != NID_rsaesOaep)
			continue;
		*supported = 1;
		if (CMS_RecipientInfo_ktri_cert_cmp(ri, s->ra_enc_cert) == 0)
			mask |= 1;
		if (CMS_RecipientInfo_ktri_cert_cmp(ri, s->ra_sign_cert) == 0)
			mask |= 2;
		if (CMS_RecipientInfo_ktri_cert_cmp(ri, s->ca_cert) == 0)
			mask |= 4;
	}
	ERR_clear_error();
	return mask;
}

/*
 * One decryption attempt on a fresh parse: *untried (a parse no attempt has
 * used yet), taken over, or else the envelope parsed again. 0 with the
 * content, or -1.
 */
static int try_decrypt(const unsigned char *env, size_t envlen, CMS_ContentInfo **untried,
    EVP_PKEY *key, X509 *cert, unsigned char **out, size_t *outlen)
{
	CMS_ContentInfo *cms = *untried;
	BIO *bio = NULL;
	char *data;
	long n;
	int result = -1;

	*untried = NULL;
	if (cms == NULL && (cms = cms_parse(env, envlen)) == NULL)
		goto out;
	/* secmem: the content (a CSR with its challenge password) is wiped when freed */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto out;
	if (CMS_decrypt_set1_pkey(cms, key, cert) != 1)
		goto out;
	if (CMS_decrypt(cms, NULL, NULL, NULL, bio, CMS_BINARY) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || (size_t)n > SIGNER_MAX_ENVELOPE)
		goto out;
	*out = xmalloc((size_t)n);
	memcpy(*out, data, (size_t)n);
	*outlen = (size_t)n;
	result = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	CMS_ContentInfo_free(cms);
	return result;
}

int signer_decrypt(const struct signer *s, const unsigned char *env, size_t envlen,
    int allow_des, unsigned char **out, size_t *outlen, const char **matched,
    char *err, size_t errlen)
{
	struct envelope_info info;
	CMS_ContentInfo *cms = NULL;
	unsigned mask;
	int supported, result = SCEP_FAIL_BADREQUEST;
	char why[200];

	*out = NULL;
	*outlen = 0;
	if (matched != NULL)
		*matched = NULL;
	if (s->remote != NULL)
		return signer_remote_decrypt(s->remote, env, envlen, allow_des, out, outlen,
		    matched, err, errlen);
	if (envlen == 0 || envlen > SIGNER_MAX_ENVELOPE) {
		errorf(err, errlen, "the envelope is empty or larger than %d bytes",
		    SIGNER_MAX_ENVELOPE);
		goto out;
	}
	memset(&info, 0, sizeof(info));
	why[0] = '\0';
	if (envelope_inspect(env, envlen, &info, why, sizeof(why)) == -1) {
		errorf(err, errlen, "pkcsPKIEnvelope: %s", why);
		goto out;
	}
	if (info.cipher_nid == NID_des_cbc && (!allow_des || s->legacy == NULL)) {
		errorf(err, errlen, "content encryption DES-CBC (1.3.14.3.2.7) is not enabled "
		    "(scep.allow_des)");
		result = SCEP_FAIL_BADALG;
		goto out;
	}
	if (!cipher_known(info.cipher_nid)) {
		errorf(err, errlen, "content encryption %s is not supported",
		    info.cipher_oid[0] != '\0' ? info.cipher_oid : "(unknown)");
		result = SCEP_FAIL_BADALG;
		goto out;
	}
	if ((cms = cms_parse(env, envlen)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
		errorf(err, errlen, "pkcsPKIEnvelope is not a CMS EnvelopedData");
		goto out;
	}
	mask = addressed_to(s, cms, &supported);
	if (!supported) {
		errorf(err, errlen, "the envelope has no recipient with RSA key transport "
		    "(rsaEncryption or RSAES-OAEP)");
		result = SCEP_FAIL_BADALG;
		goto out;
	}
	if (mask == 0) {
		errorf(err, errlen, "the envelope is not addressed to any certificate of this server");
		goto out;
	}
	/* Recipients in the order RA encryption, RA signing, CA; each key tried once. */
	if ((mask & 1) && try_decrypt(env, envlen, &cms, s->ra_enc_key, s->ra_enc_cert,
	    out, outlen) == 0) {
		if (matched != NULL)
			*matched = s->has_ra ? "ra-enc" : "ca";
	} else if (s->has_ra && (mask & 2) && try_decrypt(env, envlen, &cms, s->ra_sign_key,
	    s->ra_sign_cert, out, outlen) == 0) {
		if (matched != NULL)
			*matched = "ra-sign";
	} else if (s->has_ra && (mask & 4) && s->ca_key != NULL && try_decrypt(env, envlen,
	    &cms, s->ca_key, s->ca_cert, out, outlen) == 0) {
		if (matched != NULL)
			*matched = "ca";
	} else {
		errorf(err, errlen, "could not decrypt the envelope");
		goto out;
	}
	result = SCEP_FAIL_NONE;
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	return result;
}

/* SKI = SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 §4.2.1.2, method 1). */
static ASN1_OCTET_STRING *key_id(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *id = NULL;

	if (X509_pubkey_digest(x, EVP_sha1(), md, &len) != 1)
		return NULL;
	if ((id = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (ASN1_OCTET_STRING_set(id, md, (int)len) != 1) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

/* Adds SKI of x and AKI keyIdentifier from the issuer's SKI (or its key hash). */
static int add_key_ids(X509 *x, X509 *issuer)
{
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *aki = NULL;
	const ASN1_OCTET_STRING *issuer_ski;
	int result = -1;

	if ((ski = key_id(x)) == NULL)
		goto out;
	if (X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		goto out;
	if ((issuer_ski = X509_get0_subject_key_id(issuer)) != NULL)
		aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski);
	else
		aki->keyid = key_id(issuer);
	if (aki->keyid == NULL)
		goto out;
	if (X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	result = 0;
out:
	AUTHORITY_KEYID_free(aki);
	ASN1_OCTET_STRING_free(ski);
	return result;
}

int signer_key_id(X509 *cert, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (cert == NULL || X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1 || len != 20) {
		ERR_clear_error();
		return -1;
	}
	hex_encode(md, len, out, 1);
	return 0;
}

/* Adds a CRL distribution point extension with one URI (RFC 5280 §4.2.1.13). */
static int add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdps = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *uri = NULL;
	int result = -1;

	if ((cdps = sk_DIST_POINT_new_null()) == NULL || (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto out;
	dp->distpoint->type = 0;   /* fullName */
	if ((gn = GENERAL_NAME_new()) == NULL || (uri = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(uri, url, -1) != 1)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	if (sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) == 0)
		goto out;
	gn = NULL;
	if (sk_DIST_POINT_push(cdps, dp) == 0)
		goto out;
	dp = NULL;
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, cdps, 0, X509V3_ADD_REPLACE) != 1)
		goto out;
	result = 0;
out:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdps);
	return result;
}

X509 *signer_issue(const struct signer *s, const struct issue_request *req,
    char *err, size_t errlen)
{
	X509 *x = NULL, *result = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *obj = NULL;
	const EVP_MD *md;
	const ASN1_TIME *ca_end;
	time_t now;
	size_t i;
	int bit, cmp;
	int reported = 1;
	char ebuf[256];

	if (s->remote != NULL)
		return signer_remote_issue(s->remote, req, err, errlen);
	if (s->ca_key == NULL) {
		errorf(err, errlen, "this server holds no CA key: backend.type forwards requests");
		goto out;
	}
	if (req->subject == NULL || req->pubkey == NULL) {
		errorf(err, errlen, "issue request without subject or public key");
		goto out;
	}
	if (req->validity_days == 0 || req->validity_days > 36500) {
		errorf(err, errlen, "validity of %u days is out of range", req->validity_days);
		goto out;
	}
	if (req->key_usage & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
		errorf(err, errlen, "keyCertSign and cRLSign are not issued to end entities");
		goto out;
	}
	if (req->n_eku > 0 && req->eku == NULL) {
		errorf(err, errlen, "issue request with EKU count but no list");
		goto out;
	}
	if ((md = x509build_digest(s->ca_key)) == NULL) {
		errorf(err, errlen, "the CA key type cannot sign certificates here (RSA or EC only)");
		goto out;
	}
	now = (time_t)req->now;
	reported = 0;
	if ((x = X509_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	if (x509build_random_serial(x) == -1)
		goto out;
	if (X509_set_issuer_name(x, X509_get_subject_name(s->ca_cert)) != 1)
		goto out;
	if (X509_set_subject_name(x, req->subject) != 1)
		goto out;
	if (X509_set_pubkey(x, req->pubkey) != 1)
		goto out;
	if (req->not_before != 0 && req->not_after > req->not_before) {
		/* Lab mode: an expired, short-lived or not yet valid certificate, on purpose. */
		if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)req->not_before) == NULL ||
		    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)req->not_after) == NULL)
			goto out;
	} else if (ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL ||
	    ASN1_TIME_adj(X509_getm_notAfter(x), now, (int)req->validity_days, 0) == NULL) {
		goto out;
	}
	/* Never past the CA's own end of validity (as AD CS does). */
	ca_end = X509_get0_notAfter(s->ca_cert);
	if (ASN1_TIME_compare(X509_get0_notAfter(x), ca_end) > 0 &&
	    X509_set1_notAfter(x, ca_end) != 1)
		goto out;
	cmp = ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notAfter(x));
	if (cmp >= 0) {
		errorf(err, errlen, "the CA certificate expires before the new certificate would start");
		reported = 1;
		goto out;
	}

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		goto out;
	bc->ca = 0;
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) != 1)
		goto out;
	if (req->key_usage != 0) {
		if ((ku = ASN1_BIT_STRING_new()) == NULL)
			goto out;
		/* X509v3_KU_* are the DER bits: 0x80 is bit 0 ... 0x01 bit 7, 0x8000 bit 8. */
		for (bit = 0; bit < 9; bit++) {
			unsigned flag = bit < 8 ? (0x80u >> bit) : 0x8000u;

			if ((req->key_usage & flag) && ASN1_BIT_STRING_set_bit(ku, bit, 1) != 1)
				goto out;
		}
		if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_REPLACE) != 1)
			goto out;
	}
	if (req->n_eku > 0) {
		if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
			goto out;
		for (i = 0; i < req->n_eku; i++) {
			if (req->eku[i] == NULL || (obj = OBJ_dup(req->eku[i])) == NULL)
				goto out;
			if (sk_ASN1_OBJECT_push(eku, obj) == 0)
				goto out;
			obj = NULL;
		}
		if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_REPLACE) != 1)
			goto out;
	}
	if (req->san != NULL && sk_GENERAL_NAME_num(req->san) > 0) {
		/* RFC 5280 §4.2.1.6: critical when the subject is empty. */
		int crit = X509_NAME_entry_count(req->subject) == 0;

		if (X509_add1_ext_i2d(x, NID_subject_alt_name, (void *)req->san, crit,
		    X509V3_ADD_REPLACE) != 1)
			goto out;
	}
	if (add_key_ids(x, s->ca_cert) == -1)
		goto out;
	if (req->crl_url != NULL && req->crl_url[0] != '\0' && add_cdp(x, req->crl_url) == -1)
		goto out;
	if (X509_sign(x, s->ca_key, md) <= 0)
		goto out;
	result = x;
	x = NULL;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "issuing the certificate failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	ASN1_OBJECT_free(obj);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	ASN1_BIT_STRING_free(ku);
	BASIC_CONSTRAINTS_free(bc);
	X509_free(x);
	return result;
}

/* Message digests the RA signs with; anything else falls back to SHA-256. */
static const EVP_MD *message_digest(int nid)
{
	switch (nid) {
	case NID_md5:
	case NID_sha1:
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		break;
	default:
		nid = NID_sha256;
	}
	return EVP_get_digestbynid(nid);
}

unsigned char *signer_sign_message(const struct signer *s, int md_nid,
    const unsigned char *econtent, size_t econtent_len,
    const STACK_OF(X509_ATTRIBUTE) *attrs, size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *in = NULL;
	const EVP_MD *md;
	X509_ATTRIBUTE *attr;
	unsigned char *result = NULL;
	int i, nid;
	int reported = 1;
	char ebuf[256];

	*outlen = 0;
	if (s->remote != NULL)
		return signer_remote_sign_message(s->remote, md_nid, econtent, econtent_len, attrs,
		    outlen, err, errlen);
	if (econtent_len > SIGNER_MAX_ENVELOPE || econtent_len > INT_MAX) {
		errorf(err, errlen, "content to sign is too large");
		goto out;
	}
	reported = 0;
	if ((md = message_digest(md_nid)) == NULL && (md = EVP_sha256()) == NULL)
		goto out;
	if (econtent != NULL)
		in = BIO_new_mem_buf(econtent, (int)econtent_len);
	else
		in = BIO_new_mem_buf("", 0);
	if (in == NULL)
		goto out;
	/*
	 * econtent NULL: eContent absent (the signature covers the empty string);
	 * non-NULL with length 0: an empty OCTET STRING eContent.
	 */
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL,
	    flags | (econtent == NULL ? CMS_DETACHED : 0))) == NULL)
		goto out;
	if ((si = CMS_add1_signer(cms, s->ra_sign_cert, s->ra_sign_key, md, flags)) == NULL)
		goto out;
	for (i = 0; attrs != NULL && i < sk_X509_ATTRIBUTE_num(attrs); i++) {
		attr = sk_X509_ATTRIBUTE_value(attrs, i);
		nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
		if (nid == NID_pkcs9_contentType || nid == NID_pkcs9_messageDigest ||
		    nid == NID_pkcs9_signingTime) {
			errorf(err, errlen, "attribute %s is set by the signer", OBJ_nid2sn(nid));
			reported = 1;
			goto out;
		}
		if (CMS_signed_add1_attr(si, attr) != 1)
			goto out;
	}
	if (CMS_final(cms, in, NULL, flags) != 1)
		goto out;
	if ((result = der_encode(ASN1_ITEM_rptr(CMS_ContentInfo), cms, outlen)) == NULL)
		goto out;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "signing the message failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return result;
}

unsigned char *signer_sign_as_ca(const struct signer *s, const unsigned char *content,
    size_t content_len, size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	const EVP_MD *md;
	unsigned char *result = NULL;
	char ebuf[256];

	*outlen = 0;
	if (s->remote != NULL)
		return signer_remote_sign_as_ca(s->remote, content, content_len, outlen, err,
		    errlen);
	if (s->ca_key == NULL) {
		errorf(err, errlen, "no CA key is loaded (a forwarding backend issues elsewhere)");
		return NULL;
	}
	if (content == NULL || content_len == 0 || content_len > SIGNER_MAX_ENVELOPE) {
		errorf(err, errlen, "no content, or content too large, to sign");
		return NULL;
	}
	if ((md = x509build_digest(s->ca_key)) == NULL) {
		errorf(err, errlen, "the CA key type cannot sign here (RSA or EC only)");
		return NULL;
	}
	if ((in = BIO_new_mem_buf(content, (int)content_len)) == NULL)
		goto out;
	if ((cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL)
		goto out;
	if (CMS_add1_signer(cms, s->ca_cert, s->ca_key, md, flags) == NULL)
		goto out;
	if (CMS_final(cms, in, NULL, flags) != 1)
		goto out;
	if ((result = der_encode(ASN1_ITEM_rptr(CMS_ContentInfo), cms, outlen)) == NULL)
		goto out;
out:
	if (result == NULL)
		errorf(err, errlen, "signing with the CA key failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return result;
}

/* One CRL entry: serial from hex, revocation date, reasonCode unless unspecified. */
static X509_REVOKED *crl_entry(const struct signer_crl_entry *e)
{
	X509_REVOKED *r = NULL, *result = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int got;

	if (e->serial == NULL || (got = BN_hex2bn(&bn, e->serial)) <= 0 ||
	    (size_t)got != strlen(e->serial))
		goto out;
	if ((serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if ((when = ASN1_TIME_set(NULL, (time_t)e->revoked_at)) == NULL)
		goto out;
	if ((r = X509_REVOKED_new()) == NULL)
		goto out;
	if (X509_REVOKED_set_serialNumber(r, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(r, when) != 1)
		goto out;
	if (e->reason > 0 && e->reason <= 10 && e->reason != 7) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    ASN1_ENUMERATED_set(reason, e->reason) != 1)
			goto out;
		if (X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) != 1)
			goto out;
	}
	result = r;
	r = NULL;
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_REVOKED_free(r);
	return result;
}

unsigned char *signer_sign_crl(const struct signer *s, const struct signer_crl_entry *entries,
    size_t n, int64_t number, int64_t this_update, int64_t next_update, size_t *outlen,
    char *err, size_t errlen)
{
	X509_CRL *crl = NULL;
	X509_REVOKED *r = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *aki = NULL;
	const ASN1_OCTET_STRING *ski;
	const EVP_MD *md;
	unsigned char *result = NULL;
	size_t i;
	int reported = 0;
	char ebuf[256];

	*outlen = 0;
	if (s->remote != NULL)
		return signer_remote_sign_crl(s->remote, entries, n, number, this_update,
		    next_update, outlen, err, errlen);
	if (s->ca_key == NULL) {
		errorf(err, errlen, "no CA key is loaded (a forwarding backend issues elsewhere)");
		return NULL;
	}
	if ((md = x509build_digest(s->ca_key)) == NULL) {
		errorf(err, errlen, "the CA key type cannot sign CRLs here (RSA or EC only)");
		return NULL;
	}
	if ((crl = X509_CRL_new()) == NULL || X509_CRL_set_version(crl, 1) != 1)
		goto out;
	if (X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->ca_cert)) != 1)
		goto out;
	if ((t = ASN1_TIME_set(NULL, (time_t)this_update)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, t) != 1)
		goto out;
	ASN1_TIME_free(t);
	if ((t = ASN1_TIME_set(NULL, (time_t)next_update)) == NULL ||
	    X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = crl_entry(&entries[i])) == NULL) {
			errorf(err, errlen, "revoked serial \"%.80s\" cannot be put in a CRL",
			    entries[i].serial ? entries[i].serial : "");
			reported = 1;
			goto out;
		}
		if (X509_CRL_add0_revoked(crl, r) != 1)
			goto out;
		r = NULL;
	}
	if (X509_CRL_sort(crl) != 1)
		goto out;
	if ((num = ASN1_INTEGER_new()) == NULL || ASN1_INTEGER_set_int64(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto out;
	if ((aki = AUTHORITY_KEYID_new()) == NULL)
		goto out;
	if ((ski = X509_get0_subject_key_id(s->ca_cert)) != NULL)
		aki->keyid = ASN1_OCTET_STRING_dup(ski);
	else
		aki->keyid = key_id(s->ca_cert);
	if (aki->keyid == NULL ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0) != 1)
		goto out;
	if (X509_CRL_sign(crl, s->ca_key, md) <= 0)
		goto out;
	if ((result = der_encode(ASN1_ITEM_rptr(X509_CRL), crl, outlen)) == NULL)
		goto out;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "signing the CRL failed: %s", ossl_errors(ebuf, sizeof(ebuf)));
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_REVOKED_free(r);
	X509_CRL_free(crl);
	return result;
}
