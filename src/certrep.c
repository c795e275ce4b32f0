/* SPDX-License-Identifier: ISC */
/*
 * certrep.c: builds CertRep pkiMessages (RFC 8894 §3.3.2): the SCEP signed
 * attributes, the degenerate certs-only PKCS#7 that carries issued
 * certificates (and GetCACert), and for SUCCESS the EnvelopedData to the
 * requester that mirrors its content cipher and key transport. It holds no
 * private key: the outer signature is made by signer_sign_message().
 */
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
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "certrep.h"
#include "der.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"

#define CERTREP_NONCE_BYTES 16
#define CERTREP_MAX_TEXT 1024     /* failInfoText bytes */
#define CERTREP_MAX_TID 1024      /* transactionID bytes */

int certrep_attr_add(STACK_OF(X509_ATTRIBUTE) *sk, int nid, int type,
    const void *bytes, size_t len)
{
	ASN1_STRING *str = NULL;
	X509_ATTRIBUTE *attr = NULL;
	int result = -1;

	if (len > INT32_MAX)
		goto out;
	if ((str = ASN1_STRING_type_new(type)) == NULL)
		goto out;
	if (ASN1_STRING_set(str, bytes, (int)len) != 1)
		goto out;
	if ((attr = X509_ATTRIBUTE_create(nid, type, str)) == NULL)
		goto out;
	str = NULL;   /* owned by attr */
	if (sk_X509_ATTRIBUTE_push(sk, attr) == 0)
		goto out;
	attr = NULL;
	result = 0;
out:
	X509_ATTRIBUTE_free(attr);
	ASN1_STRING_free(str);
	return result;
}

static int add_printable(STACK_OF(X509_ATTRIBUTE) *sk, int nid, const char *text)
{
	return certrep_attr_add(sk, nid, V_ASN1_PRINTABLESTRING, text, strlen(text));
}

/* Copies text into a UTF8String-safe buffer: invalid UTF-8 bytes become '?'. */
static char *clean_utf8(const char *text)
{
	size_t len = strlen(text), i = 0, o = 0;
	unsigned long c;
	char *out;
	int n;

	if (len > CERTREP_MAX_TEXT)
		len = CERTREP_MAX_TEXT;
	out = xmalloc(len + 1);
	while (i < len) {
		n = UTF8_getc((const unsigned char *)text + i, (int)(len - i), &c);
		if (n <= 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, text + i, (size_t)n);
		o += (size_t)n;
		i += (size_t)n;
	}
	out[o] = '\0';
	return out;
}

/*
 * The SCEP attributes of a CertRep: messageType "3", pkiStatus, failInfo and
 * failInfoText (FAILURE), transactionID, recipientNonce, fresh senderNonce.
 */
static STACK_OF(X509_ATTRIBUTE) *reply_attrs(const struct certrep_request *rq, int status,
    int failinfo, const char *text, char *err, size_t errlen)
{
	const struct scep_nids *nids = oids_nids();
	STACK_OF(X509_ATTRIBUTE) *sk = NULL, *result = NULL;
	unsigned char nonce[CERTREP_NONCE_BYTES];
	char num[16], *clean = NULL;
	size_t tidlen;
	int reported = 1;

	if (nids->message_type == NID_undef) {
		errorf(err, errlen, "SCEP OIDs are not registered (oids_register)");
		goto out;
	}
	if (rq->transaction_id == NULL || (tidlen = strlen(rq->transaction_id)) == 0 ||
	    tidlen > CERTREP_MAX_TID) {
		errorf(err, errlen, "CertRep without a usable transactionID");
		goto out;
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		errorf(err, errlen, "no random bytes for senderNonce");
		goto out;
	}
	reported = 0;
	if ((sk = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto out;
	snprintf(num, sizeof(num), "%d", SCEP_MSG_CERTREP);
	if (add_printable(sk, nids->message_type, num) == -1)
		goto out;
	snprintf(num, sizeof(num), "%d", status);
	if (add_printable(sk, nids->pki_status, num) == -1)
		goto out;
	if (status == SCEP_STATUS_FAILURE) {
		snprintf(num, sizeof(num), "%d", failinfo);
		if (add_printable(sk, nids->fail_info, num) == -1)
			goto out;
		if (text != NULL) {
			clean = clean_utf8(text);
			if (certrep_attr_add(sk, nids->fail_info_text, V_ASN1_UTF8STRING, clean,
			    strlen(clean)) == -1)
				goto out;
		}
		/* NDES: the HRESULT as a signed decimal, e.g. "-2147024809" (ndes.md §3.4). */
		if (rq->hresult != 0) {
			snprintf(num, sizeof(num), "%ld", (long)rq->hresult);
			if (add_printable(sk, nids->ms_scep_error, num) == -1)
				goto out;
		}
	}
	if (certrep_attr_add(sk, nids->transaction_id, V_ASN1_PRINTABLESTRING, rq->transaction_id,
	    tidlen) == -1)
		goto out;
	if (rq->sender_nonce != NULL && rq->sender_nonce_len > 0 &&
	    certrep_attr_add(sk, nids->recipient_nonce, V_ASN1_OCTET_STRING, rq->sender_nonce,
	    rq->sender_nonce_len) == -1)
		goto out;
	if (certrep_attr_add(sk, nids->sender_nonce, V_ASN1_OCTET_STRING, nonce, sizeof(nonce)) == -1)
		goto out;
	result = sk;
	sk = NULL;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "building the CertRep attributes failed");
	free(clean);
	sk_X509_ATTRIBUTE_pop_free(sk, X509_ATTRIBUTE_free);
	return result;
}

/* Signs a CertRep with the given status and optional encapsulated content. */
static unsigned char *sign_reply(const struct signer *s, const struct certrep_request *rq,
    int status, int failinfo, const char *text, const unsigned char *econtent,
    size_t econtent_len, size_t *outlen, char *err, size_t errlen)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	unsigned char *der = NULL;

	if ((attrs = reply_attrs(rq, status, failinfo, text, err, errlen)) == NULL)
		goto out;
	der = signer_sign_message(s, rq->digest_nid, econtent, econtent_len, attrs, outlen,
	    err, errlen);
out:
	sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
	return der;
}

/* A PKCS#7 degenerate SignedData (SEQUENCE OF certificates keeps insertion order). */
static PKCS7 *degenerate(X509 *first, STACK_OF(X509) *certs)
{
	PKCS7 *p7 = NULL, *result = NULL;
	int i;

	if ((p7 = PKCS7_new()) == NULL)
		goto out;
	if (PKCS7_set_type(p7, NID_pkcs7_signed) != 1)
		goto out;
	if (PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		goto out;
	/* No eContent at all (not an empty OCTET STRING), as crl2pkcs7 and NDES. */
	if (PKCS7_set_detached(p7, 1) != 1)
		goto out;
	if (first != NULL && PKCS7_add_certificate(p7, first) != 1)
		goto out;
	for (i = 0; certs != NULL && i < sk_X509_num(certs); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(certs, i)) != 1)
			goto out;
	result = p7;
	p7 = NULL;
out:
	PKCS7_free(p7);
	return result;
}

static unsigned char *p7_der(PKCS7 *p7, size_t *outlen)
{
	return der_encode(ASN1_ITEM_rptr(PKCS7), p7, outlen);
}

unsigned char *certrep_degenerate(STACK_OF(X509) *certs, size_t *outlen)
{
	PKCS7 *p7;
	unsigned char *der = NULL;

	if ((p7 = degenerate(NULL, certs)) != NULL)
		der = p7_der(p7, outlen);
	PKCS7_free(p7);
	return der;
}

/* Content ciphers a reply may use (mirrored from the request). */
static int reply_cipher_ok(int nid)
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

int certrep_can_envelope(X509 *recipient)
{
	EVP_PKEY *pub = recipient != NULL ? X509_get0_pubkey(recipient) : NULL;

	return pub != NULL && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA;
}

unsigned char *certrep_envelope(X509 *recipient, int cipher_nid, int oaep,
    const unsigned char *content, size_t content_len, size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
	int nid = cipher_nid == NID_undef ? NID_aes_128_cbc : cipher_nid;
	EVP_CIPHER *cipher = NULL;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	EVP_PKEY_CTX *pctx;
	BIO *in = NULL;
	unsigned char *result = NULL;
	int reported = 1;
	char ebuf[256];

	if (recipient == NULL) {
		errorf(err, errlen, "no recipient certificate for the envelope");
		goto out;
	}
	if (!certrep_can_envelope(recipient)) {
		errorf(err, errlen, "the request signer key is not RSA: cannot envelope the reply");
		goto out;
	}
	if (!reply_cipher_ok(nid)) {
		errorf(err, errlen, "content cipher %s is not allowed for replies", OBJ_nid2sn(nid));
		goto out;
	}
	if ((cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(nid), NULL)) == NULL) {
		errorf(err, errlen, "content cipher %s is not available%s (%s)", OBJ_nid2sn(nid),
		    nid == NID_des_cbc ? " without the legacy provider (scep.allow_des)" : "",
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	reported = 0;
	if (content_len > INT32_MAX || (in = BIO_new_mem_buf(content, (int)content_len)) == NULL)
		goto out;
	if ((cms = CMS_encrypt(NULL, NULL, cipher, flags)) == NULL)
		goto out;
	if (oaep) {
		if ((ri = CMS_add1_recipient_cert(cms, recipient, CMS_KEY_PARAM)) == NULL)
			goto out;
		if ((pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL)
			goto out;
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0)
			goto out;
	} else if (CMS_add1_recipient_cert(cms, recipient, 0) == NULL) {
		goto out;
	}
	if (CMS_final(cms, in, NULL, CMS_BINARY) != 1)
		goto out;
	if ((result = der_encode(ASN1_ITEM_rptr(CMS_ContentInfo), cms, outlen)) == NULL)
		goto out;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "enveloping the reply failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	EVP_CIPHER_free(cipher);
	return result;
}

/* A SUCCESS CertRep: inner (a degenerate PKCS#7) enveloped to the requester, then signed. */
static unsigned char *sign_success(const struct signer *s, const struct certrep_request *rq,
    const unsigned char *inner, size_t inner_len, size_t *outlen, char *err, size_t errlen)
{
	unsigned char *env = NULL, *result = NULL;
	size_t env_len = 0;

	if ((env = certrep_envelope(rq->recipient, rq->cipher_nid, rq->oaep, inner, inner_len,
	    &env_len, err, errlen)) == NULL)
		goto out;
	result = sign_reply(s, rq, SCEP_STATUS_SUCCESS, SCEP_FAIL_NONE, NULL, env, env_len,
	    outlen, err, errlen);
out:
	free(env);
	return result;
}

unsigned char *certrep_success(const struct signer *s, const struct certrep_request *rq,
    X509 *issued, STACK_OF(X509) *extra, size_t *outlen, char *err, size_t errlen)
{
	PKCS7 *p7 = NULL;
	unsigned char *inner = NULL, *result = NULL;
	size_t inner_len = 0;

	*outlen = 0;
	if (issued == NULL) {
		errorf(err, errlen, "SUCCESS without a certificate");
		goto out;
	}
	if ((p7 = degenerate(issued, extra)) == NULL ||
	    (inner = p7_der(p7, &inner_len)) == NULL) {
		errorf(err, errlen, "building the degenerate PKCS#7 failed");
		goto out;
	}
	result = sign_success(s, rq, inner, inner_len, outlen, err, errlen);
out:
	free(inner);
	PKCS7_free(p7);
	return result;
}

unsigned char *certrep_success_crl(const struct signer *s, const struct certrep_request *rq,
    const unsigned char *crl, size_t crl_len, size_t *outlen, char *err, size_t errlen)
{
	PKCS7 *p7 = NULL;
	X509_CRL *x = NULL;
	const unsigned char *p = crl;
	unsigned char *inner = NULL, *result = NULL;
	size_t inner_len = 0;

	*outlen = 0;
	if (crl == NULL || crl_len == 0 || crl_len > INT32_MAX ||
	    (x = d2i_X509_CRL(NULL, &p, (long)crl_len)) == NULL || p != crl + crl_len) {
		errorf(err, errlen, "SUCCESS without a usable CRL");
		goto out;
	}
	if ((p7 = degenerate(NULL, NULL)) == NULL || PKCS7_add_crl(p7, x) != 1 ||
	    (inner = p7_der(p7, &inner_len)) == NULL) {
		errorf(err, errlen, "building the degenerate PKCS#7 with the CRL failed");
		goto out;
	}
	result = sign_success(s, rq, inner, inner_len, outlen, err, errlen);
out:
	free(inner);
	PKCS7_free(p7);
	X509_CRL_free(x);
	return result;
}

/*
 * FAILURE and PENDING carry no pkcsPKIEnvelope, but an empty eContent rather
 * than none: certmonger's scep-submit verifies with PKCS7_verify(), which
 * fails with "no content" on a SignedData without eContent and then treats
 * the CA as unreachable (retrying forever instead of CA_REJECTED). strongSwan,
 * scepclient and `openssl cms -verify` accept both forms.
 */
static const unsigned char no_envelope[1];

unsigned char *certrep_failure(const struct signer *s, const struct certrep_request *rq,
    int failinfo, const char *text, size_t *outlen, char *err, size_t errlen)
{
	*outlen = 0;
	if (failinfo < SCEP_FAIL_BADALG || failinfo > SCEP_FAIL_BADCERTID) {
		errorf(err, errlen, "failInfo %d is not one of 0..4", failinfo);
		return NULL;
	}
	return sign_reply(s, rq, SCEP_STATUS_FAILURE, failinfo, text, no_envelope, 0, outlen,
	    err, errlen);
}

unsigned char *certrep_pending(const struct signer *s, const struct certrep_request *rq,
    size_t *outlen, char *err, size_t errlen)
{
	*outlen = 0;
	return sign_reply(s, rq, SCEP_STATUS_PENDING, SCEP_FAIL_NONE, NULL, no_envelope, 0,
	    outlen, err, errlen);
}
