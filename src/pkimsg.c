/* SPDX-License-Identifier: ISC */
/*
 * pkimsg.c: parses and verifies an incoming SCEP pkiMessage (RFC 8894 §3.2), a
 * CMS SignedData in BER or DER. It enforces the profile (one SignerInfo,
 * eContentType data, messageType / transactionID / senderNonce each present
 * once with the right type and a bounded length), finds the signer
 * certificate by the SignerInfo sid among SignedData.certificates and checks
 * the signature and messageDigest over the received content.
 *
 * It never path-validates the signer and never looks at its dates or
 * extensions (scep.md 1.4.6): whether a signer is acceptable is policy's
 * decision. It holds no keys and does not open the envelope.
 *
 * A pure function of (bytes, length): no files, no globals. The SCEP OIDs
 * must have been registered with oids_register() once at start-up (tests do
 * it in main()); pkimsg_parse() only reads them.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "der.h"
#include "oids.h"
#include "pkimsg.h"
#include "scep_types.h"
#include "util.h"
#include "x509util.h"

/*
 * The one place a pkiMessage is decoded: the whole input must be exactly one
 * ContentInfo (BER accepted, as d2i_CMS_ContentInfo does), no trailing bytes.
 */
static CMS_ContentInfo *cms_decode(const unsigned char *der, size_t len)
{
	return (CMS_ContentInfo *)der_decode_keyless(ASN1_ITEM_rptr(CMS_ContentInfo), der, len);
}

/*
 * The single value of signed attribute nid, which must be present exactly once
 * with exactly one value. NULL (reason in err) otherwise.
 */
static const ASN1_TYPE *single_attr(const CMS_SignerInfo *si, int nid, const char *name,
    const char *rule, char *err, size_t errlen)
{
	X509_ATTRIBUTE *attr;
	const ASN1_TYPE *value;
	int idx;

	if ((idx = CMS_signed_get_attr_by_NID(si, nid, -1)) < 0) {
		errorf(err, errlen, "pkiMessage: %s missing (%s)", name, rule);
		return NULL;
	}
	if (CMS_signed_get_attr_by_NID(si, nid, idx) >= 0) {
		errorf(err, errlen, "pkiMessage: %s present more than once (%s)", name, rule);
		return NULL;
	}
	if ((attr = CMS_signed_get_attr(si, idx)) == NULL ||
	    X509_ATTRIBUTE_count(attr) != 1 ||
	    (value = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL) {
		errorf(err, errlen, "pkiMessage: %s must have exactly one value (%s)", name, rule);
		return NULL;
	}
	return value;
}

/*
 * Reads the optional signingTime. Returns 0 when absent or read, -1 when it is
 * present but malformed (reason in err).
 */
static int read_signing_time(const CMS_SignerInfo *si, struct pkimsg *msg, char *err,
    size_t errlen)
{
	const ASN1_TYPE *value;
	int idx;

	if ((idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)) < 0)
		return 0;
	value = single_attr(si, NID_pkcs9_signingTime, "signingTime", "RFC 5652 §11.3",
	    err, errlen);
	if (value == NULL)
		return -1;
	if ((value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME) ||
	    x509util_time_seconds(value->value.utctime, &msg->signing_time) != 0) {
		errorf(err, errlen, "pkiMessage: signingTime is not a valid UTCTime or "
		    "GeneralizedTime (RFC 5652 §11.3)");
		return -1;
	}
	msg->has_signing_time = 1;
	return 0;
}

/* A decimal PrintableString attribute value of 1..9 digits into *out. 0 or -1. */
static int read_decimal(const ASN1_TYPE *v, const char *name, const char *rule, int *out,
    char *err, size_t errlen)
{
	const unsigned char *d;
	int i, n, value = 0;

	if (v->type != V_ASN1_PRINTABLESTRING) {
		errorf(err, errlen, "pkiMessage: %s is not a PrintableString (%s)", name, rule);
		return -1;
	}
	d = ASN1_STRING_get0_data(v->value.printablestring);
	n = ASN1_STRING_length(v->value.printablestring);
	if (n < 1 || n > 9) {
		errorf(err, errlen, "pkiMessage: %s has %d digits (%s)", name, n, rule);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d[i] < '0' || d[i] > '9') {
			errorf(err, errlen, "pkiMessage: %s is not a decimal number (%s)", name, rule);
			return -1;
		}
		value = value * 10 + (d[i] - '0');
	}
	*out = value;
	return 0;
}

/* Reads messageType, transactionID and senderNonce. 0, or -1 with err. */
static int read_scep_attrs(const CMS_SignerInfo *si, const struct scep_nids *nids,
    struct pkimsg *msg, char *err, size_t errlen)
{
	const ASN1_TYPE *v;
	const unsigned char *d;
	int n;

	v = single_attr(si, nids->message_type, "messageType", "RFC 8894 §3.2.1.2", err, errlen);
	if (v == NULL || read_decimal(v, "messageType", "RFC 8894 §3.2.1.2", &msg->message_type,
	    err, errlen) != 0)
		return -1;

	v = single_attr(si, nids->transaction_id, "transactionID", "RFC 8894 §3.2.1.1",
	    err, errlen);
	if (v == NULL)
		return -1;
	if (v->type != V_ASN1_PRINTABLESTRING && v->type != V_ASN1_UTF8STRING &&
	    v->type != V_ASN1_IA5STRING) {
		errorf(err, errlen, "pkiMessage: transactionID is not a PrintableString, "
		    "UTF8String or IA5String (RFC 8894 §3.2.1.1)");
		return -1;
	}
	d = ASN1_STRING_get0_data(v->value.asn1_string);
	n = ASN1_STRING_length(v->value.asn1_string);
	if (n < 1 || n > PKIMSG_MAX_TRANSACTION_ID) {
		errorf(err, errlen, "pkiMessage: transactionID length %d is outside 1..%d "
		    "(RFC 8894 §3.2.1.1)", n, PKIMSG_MAX_TRANSACTION_ID);
		return -1;
	}
	if (memchr(d, '\0', (size_t)n) != NULL) {
		errorf(err, errlen, "pkiMessage: transactionID contains a NUL byte "
		    "(RFC 8894 §3.2.1.1)");
		return -1;
	}
	memcpy(msg->transaction_id, d, (size_t)n);
	msg->transaction_id[n] = '\0';

	v = single_attr(si, nids->sender_nonce, "senderNonce", "RFC 8894 §3.2.1.5", err, errlen);
	if (v == NULL)
		return -1;
	if (v->type != V_ASN1_OCTET_STRING) {
		errorf(err, errlen, "pkiMessage: senderNonce is not an OCTET STRING "
		    "(RFC 8894 §3.2.1.5)");
		return -1;
	}
	d = ASN1_STRING_get0_data(v->value.octet_string);
	n = ASN1_STRING_length(v->value.octet_string);
	if (n < 1 || n > PKIMSG_MAX_NONCE) {
		errorf(err, errlen, "pkiMessage: senderNonce length %d is outside 1..%d "
		    "(RFC 8894 §3.2.1.5)", n, PKIMSG_MAX_NONCE);
		return -1;
	}
	memcpy(msg->sender_nonce, d, (size_t)n);
	msg->sender_nonce_len = (size_t)n;
	return 0;
}

/*
 * NDES's HRESULT attribute of a FAILURE (ndes.md §3.4): one value, a signed
 * decimal PrintableString of a 32-bit value. Informational: absent or not
 * well-formed leaves has_hresult 0 and fails nothing.
 */
static void read_hresult(const CMS_SignerInfo *si, int nid, struct pkimsg *msg)
{
	const ASN1_TYPE *v;
	const unsigned char *d;
	char buf[16], *end;
	long long value;
	int idx, n;

	if ((idx = CMS_signed_get_attr_by_NID(si, nid, -1)) < 0 ||
	    CMS_signed_get_attr_by_NID(si, nid, idx) >= 0)
		return;
	if ((v = single_attr(si, nid, "HRESULT", "ndes.md 3.4", NULL, 0)) == NULL ||
	    v->type != V_ASN1_PRINTABLESTRING)
		return;
	d = ASN1_STRING_get0_data(v->value.printablestring);
	n = ASN1_STRING_length(v->value.printablestring);
	if (n < 1 || n >= (int)sizeof(buf) || memchr(d, '\0', (size_t)n) != NULL)
		return;
	memcpy(buf, d, (size_t)n);
	buf[n] = '\0';
	value = strtoll(buf, &end, 10);
	if (*end != '\0' || (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')) ||
	    value < INT32_MIN || value > UINT32_MAX)
		return;
	msg->hresult = (int32_t)(uint32_t)value;
	msg->has_hresult = 1;
}

/*
 * The attributes only a CertRep carries: pkiStatus (required), failInfo,
 * failInfoText, recipientNonce (each at most once). 0, or -1 with err.
 */
static int read_certrep_attrs(const CMS_SignerInfo *si, const struct scep_nids *nids,
    struct pkimsg *msg, char *err, size_t errlen)
{
	const ASN1_TYPE *v;
	const unsigned char *d;
	size_t i, n;
	int len;

	v = single_attr(si, nids->pki_status, "pkiStatus", "RFC 8894 §3.2.1.3", err, errlen);
	if (v == NULL || read_decimal(v, "pkiStatus", "RFC 8894 §3.2.1.3", &msg->pki_status,
	    err, errlen) != 0)
		return -1;
	if (CMS_signed_get_attr_by_NID(si, nids->fail_info, -1) >= 0) {
		v = single_attr(si, nids->fail_info, "failInfo", "RFC 8894 §3.2.1.4", err, errlen);
		if (v == NULL || read_decimal(v, "failInfo", "RFC 8894 §3.2.1.4",
		    &msg->rep_fail_info, err, errlen) != 0)
			return -1;
	}
	if (CMS_signed_get_attr_by_NID(si, nids->fail_info_text, -1) >= 0) {
		v = single_attr(si, nids->fail_info_text, "failInfoText", "RFC 8894 §3.2.1.4",
		    err, errlen);
		if (v == NULL)
			return -1;
		if (v->type != V_ASN1_UTF8STRING) {
			errorf(err, errlen, "pkiMessage: failInfoText is not a UTF8String "
			    "(RFC 8894 §3.2.1.4)");
			return -1;
		}
		d = ASN1_STRING_get0_data(v->value.utf8string);
		len = ASN1_STRING_length(v->value.utf8string);
		n = len < 0 ? 0 : (size_t)len;
		if (n > sizeof(msg->fail_info_text) - 1)
			n = sizeof(msg->fail_info_text) - 1;
		for (i = 0; i < n; i++)
			msg->fail_info_text[i] = (d[i] < 0x20 || d[i] == 0x7f) ? '?' : (char)d[i];
		msg->fail_info_text[n] = '\0';
	}
	if (CMS_signed_get_attr_by_NID(si, nids->recipient_nonce, -1) >= 0) {
		v = single_attr(si, nids->recipient_nonce, "recipientNonce", "RFC 8894 §3.2.1.5",
		    err, errlen);
		if (v == NULL)
			return -1;
		if (v->type != V_ASN1_OCTET_STRING) {
			errorf(err, errlen, "pkiMessage: recipientNonce is not an OCTET STRING "
			    "(RFC 8894 §3.2.1.5)");
			return -1;
		}
		d = ASN1_STRING_get0_data(v->value.octet_string);
		len = ASN1_STRING_length(v->value.octet_string);
		if (len < 1 || len > PKIMSG_MAX_NONCE) {
			errorf(err, errlen, "pkiMessage: recipientNonce length %d is outside 1..%d "
			    "(RFC 8894 §3.2.1.5)", len, PKIMSG_MAX_NONCE);
			return -1;
		}
		memcpy(msg->recipient_nonce, d, (size_t)len);
		msg->recipient_nonce_len = (size_t)len;
	}
	read_hresult(si, nids->ms_scep_error, msg);
	return 0;
}

/* The reason of the newest OpenSSL error, for messages. */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "no OpenSSL detail";
}

/*
 * The checks answered with a CertRep: algorithms known, signer present,
 * signature and messageDigest good, contentType and signingTime well formed.
 * Sets msg->signer, failinfo and reason.
 */
static void verify(CMS_ContentInfo *cms, CMS_SignerInfo *si, struct pkimsg *msg)
{
	STACK_OF(X509) *certs = NULL;
	EVP_MD *md = NULL;
	BIO *dcont = NULL;
	X509 *signer = NULL;
	X509_ALGOR *dig = NULL, *sig = NULL;
	const ASN1_OBJECT *obj = NULL;
	const ASN1_TYPE *ct;
	char text[80];
	int i;

	msg->failinfo = SCEP_FAIL_BADALG;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	if (dig == NULL || sig == NULL) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: SignerInfo without algorithms (RFC 5652 §5.3)");
		goto out;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	msg->digest_nid = OBJ_obj2nid(obj);
	if (msg->digest_nid == NID_undef ||
	    (md = EVP_MD_fetch(NULL, OBJ_nid2sn(msg->digest_nid), NULL)) == NULL) {
		if (OBJ_obj2txt(text, sizeof(text), obj, 1) < 0)
			snprintf(text, sizeof(text), "?");
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: digest algorithm %s is not supported (RFC 8894 §3.5.2)", text);
		goto out;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, sig);
	msg->signature_nid = OBJ_obj2nid(obj);
	if (msg->signature_nid == NID_undef) {
		if (OBJ_obj2txt(text, sizeof(text), obj, 1) < 0)
			snprintf(text, sizeof(text), "?");
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: signature algorithm %s is not supported (RFC 8894 §3.5.2)", text);
		goto out;
	}

	msg->failinfo = SCEP_FAIL_BADMESSAGECHECK;
	certs = CMS_get1_certs(cms);
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) {
			signer = sk_X509_value(certs, i);
			break;
		}
	}
	if (signer == NULL) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: no certificate in SignedData.certificates matches the "
		    "SignerInfo sid (RFC 8894 §2.3, §3.2)");
		goto out;
	}
	if (X509_up_ref(signer) != 1) {
		snprintf(msg->reason, sizeof(msg->reason), "pkiMessage: out of memory");
		goto out;
	}
	msg->signer = signer;
	if ((msg->signer_keyed = x509util_keyed_copy(signer)) == NULL) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: the signer certificate holds no public key OpenSSL can use "
		    "(RFC 8894 §3.2)");
		goto out;
	}
	CMS_SignerInfo_set1_signer_cert(si, msg->signer_keyed);

	/* Absent eContent: the digest is over what was received, i.e. nothing. */
	if (CMS_is_detached(cms) && (dcont = BIO_new_mem_buf("", 0)) == NULL) {
		snprintf(msg->reason, sizeof(msg->reason), "pkiMessage: out of memory");
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, dcont, NULL,
	    CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: signature or messageDigest does not verify with the signer "
		    "certificate (RFC 8894 §3.2; %s)", ossl_reason());
		goto out;
	}
	ct = single_attr(si, NID_pkcs9_contentType, "contentType", "RFC 5652 §11.1",
	    msg->reason, sizeof(msg->reason));
	if (ct == NULL)
		goto out;
	if (ct->type != V_ASN1_OBJECT ||
	    OBJ_cmp(ct->value.object, CMS_get0_eContentType(cms)) != 0) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "pkiMessage: contentType attribute differs from eContentType (RFC 5652 §11.1)");
		goto out;
	}
	if (read_signing_time(si, msg, msg->reason, sizeof(msg->reason)) != 0)
		goto out;

	msg->failinfo = SCEP_FAIL_NONE;
	msg->reason[0] = '\0';
out:
	BIO_free(dcont);
	EVP_MD_free(md);
	sk_X509_pop_free(certs, X509_free);
}

struct pkimsg *pkimsg_parse(const unsigned char *der, size_t len, char *err, size_t errlen)
{
	const struct scep_nids *nids = oids_nids();
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING **content;
	struct pkimsg *msg = NULL, *result = NULL;

	ERR_set_mark();
	if (nids->message_type == NID_undef) {
		errorf(err, errlen, "pkiMessage: SCEP OIDs not registered (oids_register)");
		goto out;
	}
	if ((cms = cms_decode(der, len)) == NULL) {
		errorf(err, errlen, "pkiMessage: not a single BER/DER CMS ContentInfo, or bytes "
		    "after it (RFC 8894 §3.2, RFC 5652 §3)");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		errorf(err, errlen, "pkiMessage: ContentInfo is not signedData (RFC 8894 §3.2)");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		errorf(err, errlen, "pkiMessage: eContentType is not id-data (RFC 8894 §3.2)");
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1) {
		errorf(err, errlen, "pkiMessage: %d SignerInfos, exactly one required (RFC 8894 §3.2)",
		    sis == NULL ? 0 : sk_CMS_SignerInfo_num(sis));
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_signed_get_attr_count(si) <= 0) {
		errorf(err, errlen, "pkiMessage: SignerInfo has no signed attributes "
		    "(RFC 8894 §3.2.1)");
		goto out;
	}
	if ((msg = calloc(1, sizeof(*msg))) == NULL) {
		errorf(err, errlen, "pkiMessage: out of memory");
		goto out;
	}
	msg->digest_nid = NID_undef;
	msg->signature_nid = NID_undef;
	msg->pki_status = -1;
	msg->rep_fail_info = -1;
	if (read_scep_attrs(si, nids, msg, err, errlen) != 0)
		goto out;
	if (msg->message_type == SCEP_MSG_CERTREP &&
	    read_certrep_attrs(si, nids, msg, err, errlen) != 0)
		goto out;

	content = CMS_get0_content(cms);
	if (content != NULL && *content != NULL && ASN1_STRING_length(*content) > 0) {
		msg->envelope_len = (size_t)ASN1_STRING_length(*content);
		if ((msg->envelope = malloc(msg->envelope_len)) == NULL) {
			errorf(err, errlen, "pkiMessage: out of memory");
			goto out;
		}
		memcpy(msg->envelope, ASN1_STRING_get0_data(*content), msg->envelope_len);
	}

	verify(cms, si, msg);
	result = msg;
	msg = NULL;
out:
	pkimsg_free(msg);
	CMS_ContentInfo_free(cms);
	ERR_pop_to_mark();
	return result;
}

void pkimsg_free(struct pkimsg *msg)
{
	if (msg == NULL)
		return;
	X509_free(msg->signer);
	X509_free(msg->signer_keyed);
	free(msg->envelope);
	free(msg);
}
