/* SPDX-License-Identifier: ISC */
/*
 * signer_remote.c: the network process's proxy of the signer process. It turns
 * each signer.h key operation into one typed keyproc message (the identity by
 * its files and certificate digest, then the operation's fields) and the reply
 * back into signer.h's results. It holds no key and signs nothing itself.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "keyproc.h"
#include "keyproc_proto.h"
#include "oids.h"
#include "scep_types.h"
#include "signer_remote.h"
#include "util.h"

struct signer_remote {
	struct keyproc *kp;
	char *path[6];            /* CA cert, CA key, RA sign cert/key, RA enc cert/key */
	uint32_t flags;
	unsigned char digest[32];
};

static const char *const matched_names[] = { NULL, "ra-enc", "ra-sign", "ca" };

int signer_remote_unavailable(const char *err)
{
	return err != NULL && strncmp(err, SIGNER_REMOTE_UNAVAILABLE,
	    sizeof(SIGNER_REMOTE_UNAVAILABLE) - 1) == 0;
}

const char *signer_remote_matched_name(uint32_t i)
{
	return i >= 1 && i <= 3 ? matched_names[i] : NULL;
}

uint32_t signer_remote_matched_index(const char *name)
{
	for (uint32_t i = 1; i <= 3; i++)
		if (name != NULL && strcmp(name, matched_names[i]) == 0)
			return i;
	return 0;
}

/* A request of type with r's identity in front. */
static void start(struct keyproc_buf *b, uint16_t type, const struct signer_remote *r)
{
	keyproc_buf_start(b, type, 0);
	for (int i = 0; i < 6; i++)
		keyproc_buf_str(b, (uint16_t)(KP_T_CA_CERT + i), r->path[i]);
	keyproc_buf_u32(b, KP_T_FLAGS, r->flags);
	keyproc_buf_add(b, KP_T_CERTS_DIGEST, r->digest, sizeof(r->digest));
}

/*
 * Sends b, waits for the reply. Returns the reply's RESULT (0 success, else
 * 1 + failInfo) with the blob copied to *out when asked, or 1 + badRequest
 * when the signer process did not answer. err gets the reason.
 */
static uint32_t call(const struct signer_remote *r, struct keyproc_buf *b, unsigned char **out,
    size_t *outlen, uint32_t *matched, char *err, size_t errlen)
{
	struct keyproc_msg m = { 0 };
	uint8_t *rbuf = NULL;
	uint32_t result = 1 + SCEP_FAIL_BADREQUEST;
	char *why = NULL;

	if (out != NULL) {
		*out = NULL;
		*outlen = 0;
	}
	if (keyproc_buf_finish(b) == -1) {
		errorf(err, errlen, "the request to the signer process is over %d bytes",
		    KEYPROC_MAX_MSG);
		goto out;
	}
	if (keyproc_call(r->kp, b, &rbuf, &m, err, errlen) == -1)
		goto out;
	if (keyproc_msg_u32(&m, KP_T_RESULT, &result) == -1 || result > 1 + SCEP_FAIL_BADCERTID) {
		result = 1 + SCEP_FAIL_BADREQUEST;
		errorf(err, errlen, "the signer process sent a reply without a valid result");
		goto out;
	}
	if (result != 0) {
		why = keyproc_msg_str(&m, KP_T_ERROR);
		errorf(err, errlen, "%s", why != NULL ? why : "the signer process refused");
		goto out;
	}
	if (matched != NULL && keyproc_msg_u32(&m, KP_T_MATCHED, matched) == -1)
		*matched = 0;
	if (out != NULL) {
		if (m.f[KP_T_BLOB].p == NULL) {
			result = 1 + SCEP_FAIL_BADREQUEST;
			errorf(err, errlen, "the signer process sent an empty reply");
			goto out;
		}
		*out = xmalloc(m.f[KP_T_BLOB].len);
		memcpy(*out, m.f[KP_T_BLOB].p, m.f[KP_T_BLOB].len);
		*outlen = m.f[KP_T_BLOB].len;
	}
out:
	free(why);
	if (rbuf != NULL)
		keyproc_reply_free(rbuf, KEYPROC_HEADER + m.body_len);
	keyproc_buf_free(b);
	return result;
}

struct signer_remote *signer_remote_open(struct keyproc *kp, const struct signer_files *f,
    int allow_des, const unsigned char digest[32], char *err, size_t errlen)
{
	struct signer_remote *r = xcalloc(1, sizeof(*r));
	struct keyproc_buf b;
	const char *p[6] = { f->ca_cert, f->forward ? NULL : f->ca_key, f->ra_sign_cert,
	    f->ra_sign_key, f->ra_enc_cert, f->ra_enc_key };

	r->kp = kp;
	for (int i = 0; i < 6; i++)
		r->path[i] = p[i] != NULL ? xstrdup(p[i]) : NULL;
	r->flags = (f->forward ? KEYPROC_F_FORWARD : 0) | (allow_des ? KEYPROC_F_ALLOW_DES : 0);
	memcpy(r->digest, digest, sizeof(r->digest));
	start(&b, KEYPROC_OPEN, r);
	if (call(r, &b, NULL, NULL, NULL, err, errlen) != 0) {
		signer_remote_free(r);
		return NULL;
	}
	return r;
}

void signer_remote_free(struct signer_remote *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < 6; i++)
		free(r->path[i]);
	free(r);
}

int signer_remote_decrypt(const struct signer_remote *r, const unsigned char *env,
    size_t envlen, int allow_des, unsigned char **out, size_t *outlen, const char **matched,
    char *err, size_t errlen)
{
	struct keyproc_buf b;
	uint32_t rc, idx = 0;

	if (matched != NULL)
		*matched = NULL;
	if (envlen == 0) {
		*out = NULL;
		*outlen = 0;
		errorf(err, errlen, "the envelope is empty");
		return SCEP_FAIL_BADREQUEST;
	}
	/* allow_des is part of the identity: the worker loads the legacy provider with it */
	(void)allow_des;
	start(&b, KEYPROC_DECRYPT, r);
	keyproc_buf_add(&b, KP_T_ENVELOPE, env, envlen);
	rc = call(r, &b, out, outlen, &idx, err, errlen);
	if (rc != 0)
		return (int)rc - 1;
	if (matched != NULL)
		*matched = signer_remote_matched_name(idx);
	return SCEP_FAIL_NONE;
}

/* Appends the DER of v (type it) as field tag; -1 when it cannot be encoded. */
static int add_der(struct keyproc_buf *b, uint16_t tag, const ASN1_ITEM *it, const void *v)
{
	unsigned char *der;
	size_t len = 0;

	if ((der = der_encode(it, v, &len)) == NULL)
		return -1;
	keyproc_buf_add(b, tag, der, len);
	free(der);
	return 0;
}

X509 *signer_remote_issue(const struct signer_remote *r, const struct issue_request *req,
    char *err, size_t errlen)
{
	struct keyproc_buf b;
	unsigned char *der = NULL, *spki = NULL, *p;
	size_t len = 0;
	X509 *x = NULL;
	int n;

	if (req->subject == NULL || req->pubkey == NULL || (req->n_eku > 0 && req->eku == NULL)) {
		errorf(err, errlen, "issue request without subject or public key");
		return NULL;
	}
	start(&b, KEYPROC_ISSUE, r);
	if (add_der(&b, KP_T_SUBJECT, ASN1_ITEM_rptr(X509_NAME), req->subject) == -1 ||
	    (n = i2d_PUBKEY(req->pubkey, &spki)) <= 0 ||
	    (req->san != NULL && add_der(&b, KP_T_SAN, ASN1_ITEM_rptr(GENERAL_NAMES),
	    req->san) == -1)) {
		errorf(err, errlen, "the issue request cannot be encoded");
		keyproc_buf_free(&b);
		OPENSSL_free(spki);
		return NULL;
	}
	keyproc_buf_add(&b, KP_T_SPKI, spki, (size_t)n);
	OPENSSL_free(spki);
	keyproc_buf_u32(&b, KP_T_KEY_USAGE, req->key_usage);
	for (size_t i = 0; i < req->n_eku; i++) {
		if (add_der(&b, KP_T_EKU, ASN1_ITEM_rptr(ASN1_OBJECT), req->eku[i]) == -1)
			b.overflow = 1;
	}
	keyproc_buf_u32(&b, KP_T_VALIDITY_DAYS, req->validity_days);
	keyproc_buf_i64(&b, KP_T_NOW, req->now);
	keyproc_buf_str(&b, KP_T_CRL_URL, req->crl_url);
	if (req->not_before != 0 || req->not_after != 0) {
		keyproc_buf_i64(&b, KP_T_NOT_BEFORE, req->not_before);
		keyproc_buf_i64(&b, KP_T_NOT_AFTER, req->not_after);
	}
	if (call(r, &b, &der, &len, NULL, err, errlen) != 0)
		return NULL;
	p = der;
	/* Key-less: nothing here reads the new certificate's key (x509util_spki_key does). */
	if ((x = (X509 *)der_decode_keyless(ASN1_ITEM_rptr(X509), p, len)) == NULL)
		errorf(err, errlen, "the signer process returned an unreadable certificate");
	free(der);
	return x;
}

/* The SCEP attributes a message may carry, by their wire code. */
static int attr_nid(int code)
{
	const struct scep_nids *n = oids_nids();

	switch (code) {
	case KEYPROC_A_MESSAGE_TYPE: return n->message_type;
	case KEYPROC_A_PKI_STATUS: return n->pki_status;
	case KEYPROC_A_FAIL_INFO: return n->fail_info;
	case KEYPROC_A_FAIL_INFO_TEXT: return n->fail_info_text;
	case KEYPROC_A_MS_SCEP_ERROR: return n->ms_scep_error;
	case KEYPROC_A_TRANSACTION_ID: return n->transaction_id;
	case KEYPROC_A_SENDER_NONCE: return n->sender_nonce;
	case KEYPROC_A_RECIPIENT_NONCE: return n->recipient_nonce;
	default: return NID_undef;
	}
}

int signer_remote_attr_code(int nid)
{
	for (int c = KEYPROC_A_MESSAGE_TYPE; c <= KEYPROC_A_RECIPIENT_NONCE; c++)
		if (nid != NID_undef && attr_nid(c) == nid)
			return c;
	return 0;
}

int signer_remote_attr_nid(int code)
{
	return attr_nid(code);
}

unsigned char *signer_remote_sign_message(const struct signer_remote *r, int md_nid,
    const unsigned char *econtent, size_t econtent_len,
    const STACK_OF(X509_ATTRIBUTE) *attrs, size_t *outlen, char *err, size_t errlen)
{
	struct keyproc_buf b;
	X509_ATTRIBUTE *a;
	ASN1_TYPE *t;
	unsigned char *out = NULL, *v;
	int code, len;

	start(&b, KEYPROC_SIGN_MESSAGE, r);
	keyproc_buf_u32(&b, KP_T_DIGEST_NID, (uint32_t)md_nid);
	/* absent (NULL) and empty differ: a CertRep FAILURE or PENDING carries "" */
	if (econtent != NULL)
		keyproc_buf_add(&b, KP_T_ECONTENT, econtent, econtent_len);
	for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
		a = sk_X509_ATTRIBUTE_value(attrs, i);
		code = signer_remote_attr_code(OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a)));
		if (code == 0 || X509_ATTRIBUTE_count(a) != 1 ||
		    (t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL || t->type == V_ASN1_BOOLEAN ||
		    t->type == V_ASN1_NULL || t->type == V_ASN1_OBJECT ||
		    (len = ASN1_STRING_length(t->value.asn1_string)) < 0 || len > 4000) {
			errorf(err, errlen, "the signer process signs SCEP attributes only");
			keyproc_buf_free(&b);
			return NULL;
		}
		v = xmalloc((size_t)len + 2);
		v[0] = (unsigned char)code;
		v[1] = (unsigned char)t->type;
		memcpy(v + 2, ASN1_STRING_get0_data(t->value.asn1_string), (size_t)len);
		keyproc_buf_add(&b, KP_T_ATTR, v, (size_t)len + 2);
		free(v);
	}
	if (call(r, &b, &out, outlen, NULL, err, errlen) != 0)
		return NULL;
	return out;
}

unsigned char *signer_remote_sign_as_ca(const struct signer_remote *r,
    const unsigned char *content, size_t content_len, size_t *outlen, char *err,
    size_t errlen)
{
	struct keyproc_buf b;
	unsigned char *out = NULL;

	start(&b, KEYPROC_SIGN_NEXTCA, r);
	keyproc_buf_add(&b, KP_T_CONTENT, content, content_len);
	if (call(r, &b, &out, outlen, NULL, err, errlen) != 0)
		return NULL;
	return out;
}

unsigned char *signer_remote_sign_crl(const struct signer_remote *r,
    const struct signer_crl_entry *entries, size_t n, int64_t number, int64_t this_update,
    int64_t next_update, size_t *outlen, char *err, size_t errlen)
{
	struct keyproc_buf b;
	unsigned char *out = NULL, e[12 + 64];
	size_t slen;

	start(&b, KEYPROC_SIGN_CRL, r);
	keyproc_buf_i64(&b, KP_T_CRL_NUMBER, number);
	keyproc_buf_i64(&b, KP_T_THIS_UPDATE, this_update);
	keyproc_buf_i64(&b, KP_T_NEXT_UPDATE, next_update);
	for (size_t i = 0; i < n; i++) {
		slen = strlen(entries[i].serial);
		if (slen == 0 || slen > 64) {
			errorf(err, errlen, "CRL entry with a serial of %zu characters", slen);
			keyproc_buf_free(&b);
			return NULL;
		}
		keyproc_put32(e, (uint32_t)((uint64_t)entries[i].revoked_at >> 32));
		keyproc_put32(e + 4, (uint32_t)entries[i].revoked_at);
		keyproc_put32(e + 8, (uint32_t)entries[i].reason);
		memcpy(e + 12, entries[i].serial, slen);
		keyproc_buf_add(&b, KP_T_CRL_ENTRY, e, 12 + slen);
	}
	if (call(r, &b, &out, outlen, NULL, err, errlen) != 0)
		return NULL;
	return out;
}
