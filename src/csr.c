/* SPDX-License-Identifier: ISC */
/*
 * csr.c: PKCS#10 parsing and normalisation (RFC 2986, RFC 8894 §3.3.1). It
 * reads the subject as RFC 2253 UTF-8 text, the public key (type, size,
 * SHA-256 of the SubjectPublicKeyInfo), checks the self-signature, and reads
 * the attributes a SCEP server acts on: challengePassword in any
 * DirectoryString type (plus IA5String), and the extensionRequest in its
 * PKCS#9, Microsoft and VeriSign (2.16.840.1.113733.1.9.8) forms, from which
 * it takes keyUsage, extKeyUsage and subjectAltName.
 *
 * It decides nothing: whether a subject, SAN or key usage is acceptable is
 * policy's call. A pure function of (bytes, length): no globals, no files.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "csr.h"
#include "util.h"
#include "x509util.h"

/* DER of OID 2.16.840.1.113733.1.9.8, the VeriSign twin of extensionRequest. */
static const unsigned char verisign_ext_req[] = {
	0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x45, 0x01, 0x09, 0x08
};

/* The single value of attribute a, or NULL (reason in err). */
static const ASN1_TYPE *single_value(X509_ATTRIBUTE *a, const char *name, const char *rule,
    char *err, size_t errlen)
{
	const ASN1_TYPE *v;

	if (X509_ATTRIBUTE_count(a) != 1 || (v = X509_ATTRIBUTE_get0_type(a, 0)) == NULL) {
		errorf(err, errlen, "CSR: %s must have exactly one value (%s)", name, rule);
		return NULL;
	}
	return v;
}

static int read_challenge(X509_ATTRIBUTE *a, struct csr *c, char *err, size_t errlen)
{
	const ASN1_TYPE *v;
	unsigned char *utf8 = NULL;
	int n = -1, result = -1;

	if ((v = single_value(a, "challengePassword", "RFC 2985 §5.4.1", err, errlen)) == NULL)
		goto out;
	switch (v->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_UNIVERSALSTRING:
	case V_ASN1_T61STRING:
	case V_ASN1_IA5STRING:
		break;
	default:
		errorf(err, errlen, "CSR: challengePassword is not a DirectoryString or IA5String "
		    "(RFC 2985 §5.4.1)");
		goto out;
	}
	if ((n = ASN1_STRING_to_UTF8(&utf8, v->value.asn1_string)) < 0) {
		errorf(err, errlen, "CSR: challengePassword is not valid in its string type "
		    "(RFC 2985 §5.4.1)");
		goto out;
	}
	if (memchr(utf8, '\0', (size_t)n) != NULL) {
		errorf(err, errlen, "CSR: challengePassword contains a NUL character "
		    "(RFC 2985 §5.4.1)");
		goto out;
	}
	if ((c->challenge = malloc((size_t)n + 1)) == NULL) {
		errorf(err, errlen, "CSR: out of memory");
		goto out;
	}
	memcpy(c->challenge, utf8, (size_t)n);
	c->challenge[n] = '\0';
	result = 0;
out:
	if (utf8 != NULL) {
		OPENSSL_cleanse(utf8, (size_t)n);
		OPENSSL_free(utf8);
	}
	return result;
}

/* Takes keyUsage, extKeyUsage or subjectAltName from one requested extension. */
static int read_extension(X509_EXTENSION *ext, struct csr *c, char *err, size_t errlen)
{
	const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
	const unsigned char *d = ASN1_STRING_get0_data(os);
	size_t n = (size_t)ASN1_STRING_length(os);
	ASN1_BIT_STRING *ku = NULL;
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext)), result = -1;

	switch (nid) {
	case NID_key_usage:
		ku = (ASN1_BIT_STRING *)der_decode_exact(ASN1_ITEM_rptr(ASN1_BIT_STRING), d, n);
		if (ku == NULL) {
			errorf(err, errlen, "CSR: requested keyUsage is not a BIT STRING "
			    "(RFC 5280 §4.2.1.3)");
			goto out;
		}
		/* The same bits as X509_get_key_usage() returns (X509v3_KU_*). */
		c->key_usage = 0;
		if (ASN1_STRING_length(ku) > 0)
			c->key_usage = ASN1_STRING_get0_data(ku)[0];
		if (ASN1_STRING_length(ku) > 1)
			c->key_usage |= (unsigned)ASN1_STRING_get0_data(ku)[1] << 8;
		c->has_key_usage = 1;
		break;
	case NID_ext_key_usage:
		c->ext_key_usage = (STACK_OF(ASN1_OBJECT) *)der_decode_exact(
		    ASN1_ITEM_rptr(EXTENDED_KEY_USAGE), d, n);
		if (c->ext_key_usage == NULL || sk_ASN1_OBJECT_num(c->ext_key_usage) < 1) {
			errorf(err, errlen, "CSR: requested extKeyUsage is not a non-empty SEQUENCE "
			    "OF KeyPurposeId (RFC 5280 §4.2.1.12)");
			goto out;
		}
		break;
	case NID_subject_alt_name:
		c->san = (GENERAL_NAMES *)der_decode_exact(ASN1_ITEM_rptr(GENERAL_NAMES), d, n);
		if (c->san == NULL || sk_GENERAL_NAME_num(c->san) < 1) {
			errorf(err, errlen, "CSR: requested subjectAltName is not a non-empty "
			    "GeneralNames (RFC 5280 §4.2.1.6)");
			goto out;
		}
		break;
	default:
		break;
	}
	result = 0;
out:
	ASN1_BIT_STRING_free(ku);
	return result;
}

/*
 * Reads one extensionRequest attribute. seen holds copies of the extensions of
 * the attributes read before: an extension requested twice with the same
 * value (say in both the PKCS#9 and the VeriSign attribute) counts once; with
 * two different values the request is malformed.
 */
static int read_ext_req(X509_ATTRIBUTE *a, const char *name, STACK_OF(X509_EXTENSION) *seen,
    struct csr *c, char *err, size_t errlen)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *copy = NULL;
	const ASN1_TYPE *v;
	int i, j, result = -1;

	if ((v = single_value(a, name, "RFC 2985 §5.4.2", err, errlen)) == NULL)
		goto out;
	if (v->type != V_ASN1_SEQUENCE ||
	    (exts = (STACK_OF(X509_EXTENSION) *)der_decode_exact(ASN1_ITEM_rptr(X509_EXTENSIONS),
	    ASN1_STRING_get0_data(v->value.sequence),
	    (size_t)ASN1_STRING_length(v->value.sequence))) == NULL) {
		errorf(err, errlen, "CSR: %s is not a SEQUENCE OF Extension (RFC 2985 §5.4.2)",
		    name);
		goto out;
	}
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int twin = 0;

		for (j = 0; j < sk_X509_EXTENSION_num(seen) && !twin; j++) {
			X509_EXTENSION *old = sk_X509_EXTENSION_value(seen, j);
			char oid[80];

			if (OBJ_cmp(X509_EXTENSION_get_object(old),
			    X509_EXTENSION_get_object(ext)) != 0)
				continue;
			twin = 1;
			if (X509_EXTENSION_get_critical(old) == X509_EXTENSION_get_critical(ext) &&
			    ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(old),
			    X509_EXTENSION_get_data(ext)) == 0)
				continue;
			if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) < 0)
				snprintf(oid, sizeof(oid), "?");
			errorf(err, errlen, "CSR: extension %s requested twice with different "
			    "values (RFC 5280 §4.2)", oid);
			goto out;
		}
		if (twin)
			continue;
		if (read_extension(ext, c, err, errlen) != 0)
			goto out;
		if ((copy = X509_EXTENSION_dup(ext)) == NULL ||
		    sk_X509_EXTENSION_push(seen, copy) <= 0) {
			errorf(err, errlen, "CSR: out of memory");
			goto out;
		}
		copy = NULL;
	}
	result = 0;
out:
	X509_EXTENSION_free(copy);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return result;
}

static int is_verisign_ext_req(const ASN1_OBJECT *obj)
{
	return OBJ_length(obj) == sizeof(verisign_ext_req) &&
	    memcmp(OBJ_get0_data(obj), verisign_ext_req, sizeof(verisign_ext_req)) == 0;
}

struct csr *csr_parse(const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct csr *c = NULL, *result = NULL;
	STACK_OF(X509_EXTENSION) *seen = NULL;
	EVP_PKEY *pkey;
	int i, n, have_pkcs9 = 0, have_ms = 0, have_vsgn = 0;

	ERR_set_mark();
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errorf(err, errlen, "CSR: out of memory");
		goto out;
	}
	c->req = (X509_REQ *)der_decode_keyless(ASN1_ITEM_rptr(X509_REQ), der, len);
	if (c->req == NULL) {
		errorf(err, errlen, "CSR: not a single DER CertificationRequest, or bytes after "
		    "it (RFC 2986 §4)");
		goto out;
	}
	if ((c->subject = x509util_name_text(X509_REQ_get_subject_name(c->req))) == NULL) {
		errorf(err, errlen, "CSR: subject cannot be printed (RFC 2986 §4.1)");
		goto out;
	}
	if ((pkey = c->pubkey = x509util_spki_key(X509_REQ_get_X509_PUBKEY(c->req))) == NULL) {
		errorf(err, errlen, "CSR: subjectPKInfo holds no public key OpenSSL can use "
		    "(RFC 2986 §4.1)");
		goto out;
	}
	c->key_type = EVP_PKEY_get_base_id(pkey);
	if ((c->key_bits = EVP_PKEY_get_bits(pkey)) <= 0) {
		errorf(err, errlen, "CSR: public key has no size (RFC 2986 §4.1)");
		goto out;
	}
	if (x509util_spki_sha256(X509_REQ_get_X509_PUBKEY(c->req), c->spki_sha256) != 0) {
		errorf(err, errlen, "CSR: cannot hash the SubjectPublicKeyInfo");
		goto out;
	}
	c->self_signature_ok = X509_REQ_verify_ex(c->req, pkey, NULL, NULL) == 1;

	if ((seen = sk_X509_EXTENSION_new_null()) == NULL) {
		errorf(err, errlen, "CSR: out of memory");
		goto out;
	}
	n = X509_REQ_get_attr_count(c->req);
	for (i = 0; i < n; i++) {
		X509_ATTRIBUTE *a = X509_REQ_get_attr(c->req, i);
		const ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(a);
		int nid = OBJ_obj2nid(obj), *have = NULL;
		const char *name = NULL;

		if (nid == NID_pkcs9_challengePassword) {
			if (c->challenge != NULL) {
				errorf(err, errlen, "CSR: challengePassword present more than once "
				    "(RFC 2985 §5.4.1)");
				goto out;
			}
			if (read_challenge(a, c, err, errlen) != 0)
				goto out;
			continue;
		}
		if (nid == NID_ext_req) {
			have = &have_pkcs9;
			name = "extensionRequest";
		} else if (nid == NID_ms_ext_req) {
			have = &have_ms;
			name = "Microsoft extensionRequest";
		} else if (is_verisign_ext_req(obj)) {
			have = &have_vsgn;
			name = "VeriSign extensionRequest";
		} else {
			continue;
		}
		if (*have) {
			errorf(err, errlen, "CSR: %s present more than once (RFC 2985 §5.4.2)", name);
			goto out;
		}
		*have = 1;
		if (read_ext_req(a, name, seen, c, err, errlen) != 0)
			goto out;
	}
	result = c;
	c = NULL;
out:
	sk_X509_EXTENSION_pop_free(seen, X509_EXTENSION_free);
	csr_free(c);
	ERR_pop_to_mark();
	return result;
}

void csr_free(struct csr *c)
{
	if (c == NULL)
		return;
	X509_REQ_free(c->req);
	EVP_PKEY_free(c->pubkey);
	free(c->subject);
	if (c->challenge != NULL) {
		OPENSSL_cleanse(c->challenge, strlen(c->challenge));
		free(c->challenge);
	}
	sk_ASN1_OBJECT_pop_free(c->ext_key_usage, ASN1_OBJECT_free);
	GENERAL_NAMES_free(c->san);
	free(c);
}
