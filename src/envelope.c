/* SPDX-License-Identifier: ISC */
/*
 * envelope.c: reads the algorithms of a pkcsPKIEnvelope (CMS EnvelopedData,
 * RFC 8894 §3.2.2, RFC 5652 §6) without decrypting it: the content-encryption
 * algorithm, the number of RecipientInfos, how many are key transport and
 * whether one uses RSAES-OAEP. It lets policy answer badAlg before a key is
 * touched and the CertRep mirror the client's choice.
 *
 * OpenSSL 3 keeps EnvelopedData opaque and has no getter for the
 * content-encryption algorithm, so the bytes are decoded twice: by
 * d2i_CMS_ContentInfo (recipients, through the CMS API) and by the small
 * local template below, which keeps everything but encryptedContentInfo
 * opaque. Both decoders accept BER (jscep sends indefinite lengths).
 *
 * A pure function of (bytes, length): no keys, no globals, no files.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "der.h"
#include "envelope.h"
#include "util.h"
#include "x509util.h"

/* EncryptedContentInfo (RFC 5652 §6.1). */
typedef struct {
	ASN1_OBJECT *content_type;
	X509_ALGOR *algorithm;
	ASN1_OCTET_STRING *content;
} ENV_ECI;

/* EnvelopedData, with the parts not read here kept opaque. */
typedef struct {
	ASN1_INTEGER *version;
	ASN1_STRING *originator;        /* [0] IMPLICIT OriginatorInfo OPTIONAL */
	STACK_OF(ASN1_TYPE) *recipients;
	ENV_ECI *eci;
	STACK_OF(ASN1_TYPE) *attrs;     /* [1] IMPLICIT UnprotectedAttributes OPTIONAL */
} ENV_ED;

/* ContentInfo whose content is an EnvelopedData. */
typedef struct {
	ASN1_OBJECT *type;
	ENV_ED *ed;
} ENV_CI;

ASN1_SEQUENCE(ENV_ECI) = {
	ASN1_SIMPLE(ENV_ECI, content_type, ASN1_OBJECT),
	ASN1_SIMPLE(ENV_ECI, algorithm, X509_ALGOR),
	ASN1_IMP_OPT(ENV_ECI, content, ASN1_OCTET_STRING, 0)
} static_ASN1_SEQUENCE_END(ENV_ECI)

ASN1_SEQUENCE(ENV_ED) = {
	ASN1_SIMPLE(ENV_ED, version, ASN1_INTEGER),
	ASN1_IMP_OPT(ENV_ED, originator, ASN1_SEQUENCE, 0),
	ASN1_SET_OF(ENV_ED, recipients, ASN1_ANY),
	ASN1_SIMPLE(ENV_ED, eci, ENV_ECI),
	ASN1_IMP_SET_OF_OPT(ENV_ED, attrs, ASN1_ANY, 1)
} static_ASN1_SEQUENCE_END(ENV_ED)

ASN1_SEQUENCE(ENV_CI) = {
	ASN1_SIMPLE(ENV_CI, type, ASN1_OBJECT),
	ASN1_EXP(ENV_CI, ed, ENV_ED, 0)
} static_ASN1_SEQUENCE_END(ENV_CI)

/* The issuer and serial a KeyTransRecipientInfo names, as text into info (else ""). */
static void recipient_of(CMS_RecipientInfo *ri, struct envelope_info *info)
{
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	char *text;

	if (CMS_RecipientInfo_ktri_get0_signer_id(ri, NULL, &issuer, &serial) != 1 ||
	    issuer == NULL || serial == NULL)
		return;
	if ((text = x509util_name_text(issuer)) != NULL)
		snprintf(info->recipient_issuer, sizeof(info->recipient_issuer), "%s", text);
	free(text);
	if (x509util_serial_hex(serial, info->recipient_serial,
	    sizeof(info->recipient_serial)) != 0)
		info->recipient_serial[0] = '\0';
}

int envelope_inspect(const unsigned char *der, size_t len, struct envelope_info *out,
    char *err, size_t errlen)
{
	CMS_ContentInfo *cms = NULL;
	ENV_CI *ci = NULL;
	STACK_OF(CMS_RecipientInfo) *ris;
	struct envelope_info info;
	int i, result = -1;

	ERR_set_mark();
	memset(&info, 0, sizeof(info));
	cms = (CMS_ContentInfo *)der_decode_exact(ASN1_ITEM_rptr(CMS_ContentInfo), der, len);
	if (cms == NULL) {
		errorf(err, errlen, "pkcsPKIEnvelope: not a single BER/DER CMS ContentInfo, or "
		    "bytes after it (RFC 8894 §3.2.2, RFC 5652 §3)");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
		errorf(err, errlen, "pkcsPKIEnvelope: ContentInfo is not envelopedData "
		    "(RFC 8894 §3.2.2)");
		goto out;
	}
	ci = (ENV_CI *)der_decode_exact(ASN1_ITEM_rptr(ENV_CI), der, len);
	if (ci == NULL || ci->ed == NULL || ci->ed->eci == NULL ||
	    ci->ed->eci->algorithm == NULL) {
		errorf(err, errlen, "pkcsPKIEnvelope: EnvelopedData does not decode "
		    "(RFC 5652 §6.1)");
		goto out;
	}
	info.cipher_nid = OBJ_obj2nid(ci->ed->eci->algorithm->algorithm);
	if (OBJ_obj2txt(info.cipher_oid, sizeof(info.cipher_oid),
	    ci->ed->eci->algorithm->algorithm, 1) <= 0) {
		errorf(err, errlen, "pkcsPKIEnvelope: contentEncryptionAlgorithm OID unreadable "
		    "(RFC 5652 §6.1)");
		goto out;
	}

	if ((ris = CMS_get0_RecipientInfos(cms)) == NULL ||
	    sk_CMS_RecipientInfo_num(ris) < 1) {
		errorf(err, errlen, "pkcsPKIEnvelope: no RecipientInfo (RFC 5652 §6.1)");
		goto out;
	}
	info.n_recipients = sk_CMS_RecipientInfo_num(ris);
	for (i = 0; i < info.n_recipients; i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		X509_ALGOR *alg = NULL;
		const ASN1_OBJECT *obj = NULL;

		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
			continue;
		info.n_ktri++;
		if (CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg) != 1 || alg == NULL) {
			errorf(err, errlen, "pkcsPKIEnvelope: KeyTransRecipientInfo without "
			    "keyEncryptionAlgorithm (RFC 5652 §6.2.1)");
			goto out;
		}
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		if (OBJ_obj2nid(obj) == NID_rsaesOaep)
			info.oaep = 1;
		if (info.n_ktri == 1)
			recipient_of(ri, &info);
	}
	*out = info;
	result = 0;
out:
	ASN1_item_free((ASN1_VALUE *)ci, ASN1_ITEM_rptr(ENV_CI));
	CMS_ContentInfo_free(cms);
	ERR_pop_to_mark();
	return result;
}
