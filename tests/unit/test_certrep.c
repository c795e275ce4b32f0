/* SPDX-License-Identifier: ISC */
/*
 * test_certrep.c: CertRep SUCCESS for real fixture requests (reply decrypted
 * with the client's key, attributes checked value by value), FAILURE and
 * PENDING (no eContent), the NDES HRESULT attribute, GetCRL's SUCCESS (the
 * CRL in the crls field of the enveloped degenerate SignedData), OAEP
 * mirroring, and the degenerate PKCS#7 against lab/getcacert.der byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certrep.h"
#include "pkimsg.h"
#include "config.h"
#include "envelope.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"
#include "tap.h"
#include "fixture.h"

static char *tmp;
static struct signer *sig;      /* lab CA + RA, allow_des */
static X509 *lab_ca, *lab_rs, *lab_re;

static unsigned char *slurp2(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	unsigned char *b = read_file(p, 1 << 22, len);

	free(p);
	return b;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	size_t len = 0;
	unsigned char *b = read_file(from, 1 << 20, &len);
	FILE *f;
	int rc = -1;

	if (b == NULL)
		return -1;
	if ((f = fopen(to, "w")) != NULL) {
		if (fwrite(b, 1, len, f) == len)
			rc = 0;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(b);
	if (rc == 0 && chmod(to, mode) != 0)
		rc = -1;
	return rc;
}

static EVP_PKEY *pem_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (f != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	return k;
}

static CMS_ContentInfo *parse_cms(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);

	if (cms != NULL && p != der + len) {
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

/* "key": "value" from facts.json (first occurrence); malloc'd or NULL. */
static char *json_string(const char *json, const char *key)
{
	char *pat = xasprintf("\"%s\": \"", key), *p, *end, *v = NULL;

	if ((p = strstr(json, pat)) != NULL) {
		p += strlen(pat);
		if ((end = strchr(p, '"')) != NULL) {
			v = xmalloc((size_t)(end - p) + 1);
			memcpy(v, p, (size_t)(end - p));
			v[end - p] = '\0';
		}
	}
	free(pat);
	return v;
}

/* The value of single-valued signed attribute nid, or NULL. */
static ASN1_TYPE *attr_value(CMS_SignerInfo *si, int nid)
{
	int i = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a;

	if (i < 0)
		return NULL;
	if (CMS_signed_get_attr_by_NID(si, nid, i) >= 0)
		return NULL;   /* present twice */
	a = CMS_signed_get_attr(si, i);
	if (X509_ATTRIBUTE_count(a) != 1)
		return NULL;
	return X509_ATTRIBUTE_get0_type(a, 0);
}

/* The attribute is type with exactly these bytes, and its DER uses a short-form length. */
static int attr_is(CMS_SignerInfo *si, int nid, int type, const void *bytes, size_t len)
{
	ASN1_TYPE *t = attr_value(si, nid);
	unsigned char *der = NULL;
	int n, good;

	if (t == NULL || t->type != type)
		return 0;
	if ((size_t)ASN1_STRING_length(t->value.asn1_string) != len ||
	    memcmp(ASN1_STRING_get0_data(t->value.asn1_string), bytes, len) != 0)
		return 0;
	n = i2d_ASN1_TYPE(t, &der);
	good = n == (int)len + 2 && der[0] == type && der[1] == len;
	OPENSSL_free(der);
	return good;
}

/* The request: signer certificate, transactionID, senderNonce, digest, cipher, oaep. */
struct req {
	X509 *signer;
	char tid[256];
	unsigned char nonce[64];
	size_t nonce_len;
	int digest_nid;
	struct envelope_info env;
	X509_REQ *csr;
};

static int read_request(const char *fixture, struct req *r)
{
	char *dir = xasprintf("%s/%s", fixture_dir(), fixture), err[256];
	size_t len = 0, clen = 0;
	unsigned char *der = slurp2(dir, "request.der", &len);
	unsigned char *csr = slurp2(dir, "request.csr.der", &clen);
	const unsigned char *cp = csr, *dp;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	STACK_OF(X509) *certs = NULL;
	ASN1_STRING *s;
	ASN1_OCTET_STRING **pos;
	X509_ALGOR *dig = NULL;
	int result = -1;

	memset(r, 0, sizeof(*r));
	if (der == NULL || csr == NULL)
		goto out;
	dp = der;
	if ((cms = d2i_CMS_ContentInfo(NULL, &dp, (long)len)) == NULL)
		goto out;
	certs = CMS_get1_certs(cms);
	if (certs == NULL || sk_X509_num(certs) != 1)
		goto out;
	r->signer = sk_X509_value(certs, 0);
	X509_up_ref(r->signer);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	s = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(oids_nids()->transaction_id), -3,
	    V_ASN1_PRINTABLESTRING);
	if (s == NULL || ASN1_STRING_length(s) >= (int)sizeof(r->tid))
		goto out;
	memcpy(r->tid, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
	s = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(oids_nids()->sender_nonce), -3,
	    V_ASN1_OCTET_STRING);
	if (s == NULL || ASN1_STRING_length(s) > (int)sizeof(r->nonce))
		goto out;
	r->nonce_len = (size_t)ASN1_STRING_length(s);
	memcpy(r->nonce, ASN1_STRING_get0_data(s), r->nonce_len);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	r->digest_nid = OBJ_obj2nid(dig->algorithm);
	pos = CMS_get0_content(cms);
	if (pos == NULL || *pos == NULL)
		goto out;
	if (envelope_inspect(ASN1_STRING_get0_data(*pos), (size_t)ASN1_STRING_length(*pos),
	    &r->env, err, sizeof(err)) != 0)
		goto out;
	if ((r->csr = d2i_X509_REQ(NULL, &cp, (long)clen)) == NULL)
		goto out;
	result = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	free(der);
	free(csr);
	free(dir);
	return result;
}

static void req_free(struct req *r)
{
	X509_free(r->signer);
	X509_REQ_free(r->csr);
}

static X509 *issue_for(struct req *r)
{
	struct issue_request ir;
	char err[256];

	memset(&ir, 0, sizeof(ir));
	ir.subject = X509_REQ_get_subject_name(r->csr);
	ir.pubkey = X509_REQ_get0_pubkey(r->csr);
	ir.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	ir.validity_days = 30;
	ir.now = now_seconds();
	return signer_issue(sig, &ir, err, sizeof(err));
}

/*
 * Checks a CertRep against the RA signing certificate: signature, algorithms,
 * common attributes. Returns the verified eContent (or NULL when absent) in
 * *content and the SignerInfo's senderNonce in nonce_out (16 bytes).
 */
static CMS_ContentInfo *check_reply(const char *label, const unsigned char *der, size_t len,
    int digest_nid, const struct req *r, const char *status, unsigned char *nonce_out,
    unsigned char **content, size_t *content_len)
{
	CMS_ContentInfo *cms = parse_cms(der, len);
	STACK_OF(X509) *trusted = sk_X509_new_null();
	CMS_SignerInfo *si;
	X509_ALGOR *dig = NULL, *alg = NULL;
	ASN1_OCTET_STRING **pos;
	ASN1_TYPE *t;
	BIO *out = BIO_new(BIO_s_mem()), *empty = NULL;
	char *data;
	long n;
	const struct scep_nids *nids = oids_nids();

	*content = NULL;
	*content_len = 0;
	ok(cms != NULL, "%s: reply is one DER ContentInfo", label);
	if (cms == NULL)
		goto out;
	is_int(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed, "%s: SignedData", label);
	is_int(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data, "%s: eContentType data",
	    label);
	is_int(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)), 1, "%s: one SignerInfo", label);
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	is_int(CMS_SignerInfo_cert_cmp(si, lab_rs), 0, "%s: signed by the RA signing cert", label);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &alg);
	is_int(OBJ_obj2nid(dig->algorithm), digest_nid, "%s: digest %s", label,
	    OBJ_nid2sn(digest_nid));
	is_int(OBJ_obj2nid(alg->algorithm), NID_rsaEncryption, "%s: signatureAlgorithm "
	    "rsaEncryption", label);
	sk_X509_push(trusted, lab_rs);
	pos = CMS_get0_content(cms);
	if (pos != NULL && *pos == NULL)
		empty = BIO_new_mem_buf("", 0);
	is_int(CMS_verify(cms, trusted, NULL, empty, out,
	    CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1,
	    "%s: signature verifies with the RA signing cert", label);
	if (empty == NULL) {
		n = BIO_get_mem_data(out, &data);
		if (n > 0) {
			*content = xmalloc((size_t)n);
			memcpy(*content, data, (size_t)n);
			*content_len = (size_t)n;
		}
	}
	ok(attr_is(si, nids->message_type, V_ASN1_PRINTABLESTRING, "3", 1),
	    "%s: messageType PrintableString \"3\"", label);
	ok(attr_is(si, nids->pki_status, V_ASN1_PRINTABLESTRING, status, strlen(status)),
	    "%s: pkiStatus PrintableString \"%s\"", label, status);
	t = attr_value(si, nids->transaction_id);
	ok(t != NULL && t->type == V_ASN1_PRINTABLESTRING &&
	    (size_t)ASN1_STRING_length(t->value.asn1_string) == strlen(r->tid) &&
	    memcmp(ASN1_STRING_get0_data(t->value.asn1_string), r->tid, strlen(r->tid)) == 0,
	    "%s: transactionID echoed", label);
	ok(attr_is(si, nids->recipient_nonce, V_ASN1_OCTET_STRING, r->nonce, r->nonce_len),
	    "%s: recipientNonce = request senderNonce", label);
	t = attr_value(si, nids->sender_nonce);
	ok(t != NULL && t->type == V_ASN1_OCTET_STRING &&
	    ASN1_STRING_length(t->value.asn1_string) == 16, "%s: senderNonce 16 bytes", label);
	if (t != NULL && ASN1_STRING_length(t->value.asn1_string) == 16)
		memcpy(nonce_out, ASN1_STRING_get0_data(t->value.asn1_string), 16);
	ok(attr_value(si, NID_pkcs9_contentType) != NULL, "%s: contentType attribute", label);
	ok(attr_value(si, NID_pkcs9_messageDigest) != NULL, "%s: messageDigest attribute", label);
out:
	BIO_free(out);
	BIO_free(empty);
	sk_X509_free(trusted);
	return cms;
}

/* Runs openssl cms -verify on der (optional: skipped without the tool). */
static void openssl_verify(const char *label, const unsigned char *der, size_t len)
{
	char *path = xasprintf("%s/reply.der", tmp), *cmd;
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL || fwrite(der, 1, len, f) != len) {
		if (f != NULL)
			fclose(f);
		ok(0, "%s: write reply", label);
		free(path);
		return;
	}
	fclose(f);
	if (system("openssl version >/dev/null 2>&1") != 0) {
		skip("%s: no openssl command", label);
		free(path);
		return;
	}
	cmd = xasprintf("openssl cms -verify -noverify -inform DER -in %s -out /dev/null "
	    "2>/dev/null", path);
	rc = system(cmd);
	is_int(rc, 0, "%s: openssl cms -verify -noverify accepts it", label);
	free(cmd);
	unlink(path);
	free(path);
}

static void test_success(const char *fixture, const char *key_name, int oaep)
{
	char label[128], err[512], *dir = xasprintf("%s/%s", fixture_dir(), fixture), *facts_tid;
	char *keypath = xasprintf("%s/%s", dir, key_name);
	struct req r;
	struct certrep_request rq;
	struct envelope_info info;
	X509 *issued = NULL;
	EVP_PKEY *key = pem_key(keypath);
	unsigned char *der = NULL, *der2 = NULL, *content = NULL, *c2 = NULL;
	unsigned char nonce1[16] = { 0 }, nonce2[16] = { 0 };
	size_t len = 0, len2 = 0, clen = 0, c2len = 0, flen = 0;
	unsigned char *facts = slurp2(dir, "facts.json", &flen);
	CMS_ContentInfo *reply = NULL, *reply2 = NULL, *env = NULL;
	BIO *out = NULL;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) *certs;
	char *data;
	const unsigned char *p;
	long n;

	snprintf(label, sizeof(label), "%s%s", fixture, oaep ? " (oaep)" : "");
	ok(read_request(fixture, &r) == 0 && key != NULL && facts != NULL, "%s: request read",
	    label);
	if (r.signer == NULL || key == NULL || facts == NULL)
		goto out;
	facts_tid = json_string((char *)facts, "transaction_id");
	is_str(r.tid, facts_tid, "%s: transactionID as in facts.json", label);
	free(facts_tid);
	issued = issue_for(&r);
	ok(issued != NULL, "%s: certificate issued", label);
	if (issued == NULL)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = r.tid;
	rq.sender_nonce = r.nonce;
	rq.sender_nonce_len = r.nonce_len;
	rq.digest_nid = r.digest_nid;
	rq.recipient = r.signer;
	rq.cipher_nid = r.env.cipher_nid;
	rq.oaep = oaep;
	err[0] = '\0';
	der = certrep_success(sig, &rq, issued, NULL, &len, err, sizeof(err));
	ok(der != NULL, "%s: certrep_success (%s)", label, err);
	der2 = certrep_success(sig, &rq, issued, NULL, &len2, err, sizeof(err));
	if (der == NULL || der2 == NULL)
		goto out;
	reply = check_reply(label, der, len, r.digest_nid, &r, "0", nonce1, &content, &clen);
	reply2 = check_reply(label, der2, len2, r.digest_nid, &r, "0", nonce2, &c2, &c2len);
	ok(memcmp(nonce1, nonce2, 16) != 0, "%s: senderNonce fresh per reply", label);
	if (reply != NULL) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);

		is_int(CMS_signed_get_attr_by_NID(si, oids_nids()->fail_info, -1), -1,
		    "%s: no failInfo", label);
		is_int(CMS_signed_get_attr_count(si), 8, "%s: eight signed attributes", label);
	}
	ok(content != NULL, "%s: eContent present", label);
	if (content == NULL)
		goto out;

	/* The envelope: mirrored cipher and key transport, to the request signer. */
	memset(&info, 0, sizeof(info));
	is_int(envelope_inspect(content, clen, &info, err, sizeof(err)), 0,
	    "%s: eContent is an EnvelopedData", label);
	is_int(info.cipher_nid, r.env.cipher_nid, "%s: content cipher %s mirrored", label,
	    OBJ_nid2sn(r.env.cipher_nid));
	is_int(info.n_recipients, 1, "%s: one recipient", label);
	is_int(info.oaep, oaep, "%s: key transport %s", label, oaep ? "OAEP" : "PKCS#1 v1.5");
	env = parse_cms(content, clen);
	ok(env != NULL, "%s: envelope parses", label);
	if (env == NULL)
		goto out;
	{
		STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(env);
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, 0);
		ASN1_OCTET_STRING *keyid = NULL;
		X509_NAME *issuer = NULL;
		ASN1_INTEGER *sno = NULL;

		CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &sno);
		ok(keyid == NULL && issuer != NULL &&
		    X509_NAME_cmp(issuer, X509_get_issuer_name(r.signer)) == 0 &&
		    ASN1_INTEGER_cmp(sno, X509_get0_serialNumber(r.signer)) == 0,
		    "%s: rid is issuerAndSerialNumber of the request signer", label);
	}
	out = BIO_new(BIO_s_mem());
	is_int(CMS_decrypt(env, key, r.signer, NULL, out, CMS_BINARY), 1,
	    "%s: client key opens the envelope", label);
	n = BIO_get_mem_data(out, &data);
	p = (const unsigned char *)data;
	p7 = n > 0 ? d2i_PKCS7(NULL, &p, n) : NULL;
	ok(p7 != NULL && p == (const unsigned char *)data + n && PKCS7_type_is_signed(p7),
	    "%s: inner is a PKCS#7 SignedData", label);
	if (p7 == NULL || !PKCS7_type_is_signed(p7))
		goto out;
	certs = p7->d.sign->cert;
	ok(certs != NULL && sk_X509_num(certs) == 1 && X509_cmp(sk_X509_value(certs, 0), issued) == 0,
	    "%s: degenerate holds the issued certificate first (and only)", label);
	is_int(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0, "%s: no signerInfos", label);
	is_int(OBJ_obj2nid(p7->d.sign->contents->type), NID_pkcs7_data, "%s: inner content type data",
	    label);
	ok(p7->d.sign->contents->d.data == NULL, "%s: inner without content", label);
	if (strcmp(fixture, "strongswan-aes-sha256") == 0 && !oaep)
		openssl_verify(label, der, len);
out:
	PKCS7_free(p7);
	BIO_free(out);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(reply);
	CMS_ContentInfo_free(reply2);
	free(content);
	free(c2);
	free(der);
	free(der2);
	free(facts);
	X509_free(issued);
	EVP_PKEY_free(key);
	req_free(&r);
	free(keypath);
	free(dir);
}

static void test_failure_pending(void)
{
	struct req r;
	struct certrep_request rq;
	unsigned char *der = NULL, *content = NULL, nonce[16];
	size_t len = 0, clen = 0;
	CMS_ContentInfo *reply = NULL;
	CMS_SignerInfo *si;
	ASN1_OCTET_STRING **pos;
	char err[512];
	static const char text[] = "challenge password wrong for Z\xc3\xbcrich";
	const struct scep_nids *nids = oids_nids();

	ok(read_request("sscep-aes256-sha512-post", &r) == 0, "failure: request read");
	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = r.tid;
	rq.sender_nonce = r.nonce;
	rq.sender_nonce_len = r.nonce_len;
	rq.digest_nid = r.digest_nid;
	rq.recipient = r.signer;
	rq.cipher_nid = r.env.cipher_nid;

	der = certrep_failure(sig, &rq, SCEP_FAIL_BADREQUEST, text, &len, err, sizeof(err));
	ok(der != NULL, "failure: built (%s)", der ? "" : err);
	if (der == NULL)
		goto out;
	reply = check_reply("failure", der, len, NID_sha512, &r, "2", nonce, &content, &clen);
	if (reply == NULL)
		goto out;
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
	ok(attr_is(si, nids->fail_info, V_ASN1_PRINTABLESTRING, "2", 1),
	    "failure: failInfo PrintableString \"2\"");
	ok(attr_is(si, nids->fail_info_text, V_ASN1_UTF8STRING, text, strlen(text)),
	    "failure: failInfoText UTF8String");
	pos = CMS_get0_content(reply);
	ok(pos != NULL && *pos != NULL && ASN1_STRING_length(*pos) == 0,
	    "failure: no envelope (empty eContent, for certmonger)");
	ok(content == NULL, "failure: nothing encapsulated");
	is_int(CMS_signed_get_attr_count(si), 10, "failure: ten signed attributes");
	openssl_verify("failure", der, len);
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);

	/* badAlg without text; an invalid UTF-8 text is cleaned. */
	der = certrep_failure(sig, &rq, SCEP_FAIL_BADALG, NULL, &len, err, sizeof(err));
	reply = der ? parse_cms(der, len) : NULL;
	ok(reply != NULL, "failure: badAlg built");
	if (reply != NULL) {
		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
		ok(attr_is(si, nids->fail_info, V_ASN1_PRINTABLESTRING, "0", 1),
		    "failure: failInfo \"0\"");
		is_int(CMS_signed_get_attr_by_NID(si, nids->fail_info_text, -1), -1,
		    "failure: no failInfoText without text");
	}
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);
	der = certrep_failure(sig, &rq, SCEP_FAIL_BADCERTID, "bad \xff byte", &len, err,
	    sizeof(err));
	reply = der ? parse_cms(der, len) : NULL;
	ok(reply != NULL, "failure: badCertId built");
	if (reply != NULL) {
		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
		ok(attr_is(si, nids->fail_info, V_ASN1_PRINTABLESTRING, "4", 1),
		    "failure: failInfo \"4\"");
		ok(attr_is(si, nids->fail_info_text, V_ASN1_UTF8STRING, "bad ? byte", 10),
		    "failure: invalid UTF-8 replaced");
	}
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);
	/* The NDES HRESULT attribute (ndes.md §3.4): signed decimal PrintableString. */
	rq.hresult = (int32_t)0x80070057u;
	der = certrep_failure(sig, &rq, SCEP_FAIL_BADREQUEST, NULL, &len, err, sizeof(err));
	reply = der ? parse_cms(der, len) : NULL;
	ok(reply != NULL, "failure: with HRESULT built");
	if (reply != NULL) {
		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
		ok(attr_is(si, nids->ms_scep_error, V_ASN1_PRINTABLESTRING, "-2147024809", 11),
		    "failure: 1.3.6.1.4.1.311.21.33 = \"-2147024809\" (E_INVALIDARG)");
	}
	if (der != NULL) {
		struct pkimsg *pm = pkimsg_parse(der, len, err, sizeof(err));

		ok(pm != NULL && pm->has_hresult && (uint32_t)pm->hresult == 0x80070057u,
		    "failure: pkimsg reads the HRESULT back (0x80070057)");
		pkimsg_free(pm);
	}
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);
	der = certrep_pending(sig, &rq, &len, err, sizeof(err));
	reply = der ? parse_cms(der, len) : NULL;
	if (reply != NULL) {
		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
		is_int(CMS_signed_get_attr_by_NID(si, nids->ms_scep_error, -1), -1,
		    "pending: never an HRESULT");
	}
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);
	rq.hresult = 0;
	der = certrep_failure(sig, &rq, 5, NULL, &len, err, sizeof(err));
	ok(der == NULL, "failure: failInfo 5 refused");
	der = certrep_failure(sig, &rq, SCEP_FAIL_NONE, NULL, &len, err, sizeof(err));
	ok(der == NULL, "failure: failInfo none refused");

	/* PENDING. */
	der = certrep_pending(sig, &rq, &len, err, sizeof(err));
	ok(der != NULL, "pending: built");
	if (der == NULL)
		goto out;
	reply = check_reply("pending", der, len, NID_sha512, &r, "3", nonce, &content, &clen);
	if (reply == NULL)
		goto out;
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
	is_int(CMS_signed_get_attr_by_NID(si, nids->fail_info, -1), -1, "pending: no failInfo");
	pos = CMS_get0_content(reply);
	ok(pos != NULL && *pos != NULL && ASN1_STRING_length(*pos) == 0,
	    "pending: no envelope (empty eContent)");
	is_int(CMS_signed_get_attr_count(si), 8, "pending: eight signed attributes");
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);

	/* Without a request nonce: no recipientNonce; without transactionID: refused. */
	rq.sender_nonce = NULL;
	rq.sender_nonce_len = 0;
	rq.digest_nid = NID_undef;
	der = certrep_pending(sig, &rq, &len, err, sizeof(err));
	reply = der ? parse_cms(der, len) : NULL;
	ok(reply != NULL, "pending: built without a request nonce");
	if (reply != NULL) {
		X509_ALGOR *dig = NULL;

		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(reply), 0);
		is_int(CMS_signed_get_attr_by_NID(si, nids->recipient_nonce, -1), -1,
		    "pending: no recipientNonce");
		CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
		is_int(OBJ_obj2nid(dig->algorithm), NID_sha256, "pending: NID_undef digest is sha256");
	}
	CMS_ContentInfo_free(reply);
	reply = NULL;
	free(der);
	rq.transaction_id = NULL;
	der = certrep_pending(sig, &rq, &len, err, sizeof(err));
	ok(der == NULL, "pending: no transactionID refused");
out:
	free(der);
	free(content);
	CMS_ContentInfo_free(reply);
	req_free(&r);
}

static void test_success_options(void)
{
	struct req r;
	struct certrep_request rq;
	X509 *issued = NULL;
	STACK_OF(X509) *extra = sk_X509_new_null();
	unsigned char *der = NULL, *content = NULL, nonce[16];
	size_t len = 0, clen = 0;
	CMS_ContentInfo *reply = NULL, *env = NULL;
	EVP_PKEY *key = NULL, *ec = NULL;
	X509 *ec_cert = NULL;
	struct envelope_info info;
	BIO *out = NULL;
	PKCS7 *p7 = NULL;
	char err[512], *keypath = xasprintf("%s/strongswan-aes-sha256/client.key", fixture_dir());
	char *data;
	const unsigned char *p;
	long n;

	ok(read_request("strongswan-aes-sha256", &r) == 0 && (key = pem_key(keypath)) != NULL,
	    "options: request read");
	if (r.signer == NULL || key == NULL)
		goto out;
	issued = issue_for(&r);
	sk_X509_push(extra, lab_ca);
	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = r.tid;
	rq.sender_nonce = r.nonce;
	rq.sender_nonce_len = r.nonce_len;
	rq.digest_nid = NID_undef;
	rq.recipient = r.signer;
	rq.cipher_nid = NID_undef;
	der = certrep_success(sig, &rq, issued, extra, &len, err, sizeof(err));
	ok(der != NULL, "options: SUCCESS with the CA after the issued cert");
	if (der == NULL)
		goto out;
	reply = check_reply("options", der, len, NID_sha256, &r, "0", nonce, &content, &clen);
	memset(&info, 0, sizeof(info));
	ok(content != NULL && envelope_inspect(content, clen, &info, err, sizeof(err)) == 0 &&
	    info.cipher_nid == NID_aes_128_cbc, "options: NID_undef cipher is AES-128-CBC");
	env = content ? parse_cms(content, clen) : NULL;
	out = BIO_new(BIO_s_mem());
	ok(env != NULL && CMS_decrypt(env, key, r.signer, NULL, out, CMS_BINARY) == 1,
	    "options: decrypts");
	n = BIO_get_mem_data(out, &data);
	p = (const unsigned char *)data;
	p7 = n > 0 ? d2i_PKCS7(NULL, &p, n) : NULL;
	ok(p7 != NULL && PKCS7_type_is_signed(p7) && sk_X509_num(p7->d.sign->cert) == 2 &&
	    X509_cmp(sk_X509_value(p7->d.sign->cert, 0), issued) == 0 &&
	    X509_cmp(sk_X509_value(p7->d.sign->cert, 1), lab_ca) == 0,
	    "options: issued first, then the CA");

	/* Refusals: no certificate, a cipher outside the list, a non-RSA recipient. */
	ok(certrep_success(sig, &rq, NULL, NULL, &len, err, sizeof(err)) == NULL,
	    "options: SUCCESS without a certificate refused");
	rq.cipher_nid = NID_rc2_cbc;
	err[0] = '\0';
	ok(certrep_success(sig, &rq, issued, NULL, &len, err, sizeof(err)) == NULL,
	    "options: RC2 refused (%s)", err);
	rq.cipher_nid = NID_aes_256_cbc;
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_cert = X509_new();
	X509_set_pubkey(ec_cert, ec);
	X509_set_issuer_name(ec_cert, X509_get_subject_name(lab_ca));
	rq.recipient = ec_cert;
	err[0] = '\0';
	ok(certrep_success(sig, &rq, issued, NULL, &len, err, sizeof(err)) == NULL &&
	    strstr(err, "not RSA") != NULL, "options: EC recipient refused (%s)", err);
out:
	PKCS7_free(p7);
	BIO_free(out);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(reply);
	free(content);
	free(der);
	sk_X509_free(extra);
	X509_free(issued);
	X509_free(ec_cert);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(key);
	req_free(&r);
	free(keypath);
}


/* GetCRL's SUCCESS: the CRL in the crls field of the enveloped degenerate SignedData. */
static void test_success_crl(void)
{
	struct req r;
	struct certrep_request rq;
	struct signer_crl_entry e = { .serial = "0A1B", .revoked_at = 1800000000, .reason = 1 };
	unsigned char *crl = NULL, *der = NULL, *content = NULL, nonce[16];
	size_t crl_len = 0, len = 0, clen = 0;
	CMS_ContentInfo *reply = NULL, *env = NULL;
	EVP_PKEY *key = NULL;
	BIO *out = NULL;
	PKCS7 *p7 = NULL;
	X509_CRL *x;
	const unsigned char *p;
	char *keypath = NULL, *data, err[512];
	long n;

	ok(read_request("strongswan-aes-sha256", &r) == 0, "crl: request read");
	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = r.tid;
	rq.sender_nonce = r.nonce;
	rq.sender_nonce_len = r.nonce_len;
	rq.digest_nid = r.digest_nid;
	rq.recipient = r.signer;
	rq.cipher_nid = r.env.cipher_nid;
	crl = signer_sign_crl(sig, &e, 1, 9, 1800000000, 1800003600, &crl_len, err, sizeof(err));
	ok(crl != NULL, "crl: a CRL to send (%s)", crl ? "" : err);
	der = crl ? certrep_success_crl(sig, &rq, crl, crl_len, &len, err, sizeof(err)) : NULL;
	ok(der != NULL, "crl: SUCCESS built (%s)", der ? "" : err);
	if (der == NULL)
		goto out;
	reply = check_reply("crl", der, len, NID_sha256, &r, "0", nonce, &content, &clen);
	keypath = xasprintf("%s/strongswan-aes-sha256/client.key", fixture_dir());
	key = pem_key(keypath);
	env = content ? parse_cms(content, clen) : NULL;
	out = BIO_new(BIO_s_mem());
	ok(env != NULL && key != NULL && CMS_decrypt(env, key, r.signer, NULL, out, CMS_BINARY) == 1,
	    "crl: the envelope opens with the client's key");
	n = BIO_get_mem_data(out, &data);
	p = (const unsigned char *)data;
	p7 = n > 0 ? d2i_PKCS7(NULL, &p, n) : NULL;
	ok(p7 != NULL && PKCS7_type_is_signed(p7), "crl: a degenerate SignedData");
	if (p7 != NULL && PKCS7_type_is_signed(p7)) {
		ok(sk_X509_num(p7->d.sign->cert) <= 0, "crl: no certificates");
		is_int(sk_X509_CRL_num(p7->d.sign->crl), 1, "crl: one CRL");
		x = sk_X509_CRL_value(p7->d.sign->crl, 0);
		ok(x != NULL && X509_CRL_verify(x, X509_get0_pubkey(lab_ca)) == 1,
		    "crl: it is the CA's, and verifies");
	}
	ok(certrep_success_crl(sig, &rq, (const unsigned char *)"x", 1, &len, err, sizeof(err)) ==
	    NULL, "crl: bytes that are no CRL are refused");
out:
	PKCS7_free(p7);
	BIO_free(out);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(reply);
	EVP_PKEY_free(key);
	free(keypath);
	free(content);
	free(der);
	free(crl);
	req_free(&r);
}

static void test_degenerate(void)
{
	char *dir = xasprintf("%s/lab", fixture_dir());
	STACK_OF(X509) *certs = sk_X509_new_null();
	unsigned char *want = NULL, *der = NULL;
	size_t wlen = 0, len = 0;

	want = slurp2(dir, "getcacert.der", &wlen);
	sk_X509_push(certs, lab_rs);
	sk_X509_push(certs, lab_re);
	sk_X509_push(certs, lab_ca);
	der = certrep_degenerate(certs, &len);
	ok(want != NULL && der != NULL, "degenerate: built");
	ok(der != NULL && want != NULL && len == wlen && memcmp(der, want, len) == 0,
	    "degenerate: [ra-sign, ra-enc, ca] equals lab/getcacert.der byte for byte");
	free(der);

	/* Order is insertion order, not DER SET OF order. */
	sk_X509_zero(certs);
	sk_X509_push(certs, lab_re);
	sk_X509_push(certs, lab_ca);
	sk_X509_push(certs, lab_rs);
	der = certrep_degenerate(certs, &len);
	{
		const unsigned char *p = der;
		PKCS7 *p7 = der ? d2i_PKCS7(NULL, &p, (long)len) : NULL;

		ok(p7 != NULL && sk_X509_num(p7->d.sign->cert) == 3 &&
		    X509_cmp(sk_X509_value(p7->d.sign->cert, 0), lab_re) == 0 &&
		    X509_cmp(sk_X509_value(p7->d.sign->cert, 1), lab_ca) == 0 &&
		    X509_cmp(sk_X509_value(p7->d.sign->cert, 2), lab_rs) == 0,
		    "degenerate: [ra-enc, ca, ra-sign] kept in that order");
		PKCS7_free(p7);
	}
	free(der);
	free(want);
	sk_X509_free(certs);
	free(dir);
}

int main(void)
{
	static const char *const names[] = { "ca.crt", "ca.key", "ra-sign.crt", "ra-sign.key",
		"ra-enc.crt", "ra-enc.key" };
	char *labdir = xasprintf("%s/lab", fixture_dir()), *from, err[512];
	struct config cfg;
	char *paths[6];
	size_t i;

	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	tmp = xstrdup("/tmp/scepd-certrep-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	for (i = 0; i < 6; i++) {
		from = xasprintf("%s/%s", labdir, names[i]);
		paths[i] = xasprintf("%s/%s", tmp, names[i]);
		if (copy_file(from, paths[i], (i % 2) ? 0600 : 0644) != 0) {
			printf("Bail out! cannot copy %s\n", from);
			return 1;
		}
		free(from);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca_cert = paths[0];
	cfg.ca_key = paths[1];
	cfg.ra_sign_cert = paths[2];
	cfg.ra_sign_key = paths[3];
	cfg.ra_enc_cert = paths[4];
	cfg.ra_enc_key = paths[5];
	cfg.allow_des = 1;
	if ((sig = signer_load(&cfg, err, sizeof(err))) == NULL) {
		printf("Bail out! signer_load: %s\n", err);
		return 1;
	}
	lab_ca = signer_ca_cert(sig);
	lab_rs = signer_ra_sign_cert(sig);
	lab_re = signer_ra_enc_cert(sig);

	test_success_crl();
	test_degenerate();
	test_success("strongswan-aes-sha256", "client.key", 0);
	test_success("sscep-aes256-sha512-post", "client.key", 0);
	test_success("certmonger-pkcsreq", "client.key", 0);
	test_success("strongswan-des3-sha1", "client.key", 0);
	test_success("scepclient-pkcsreq", "client.key", 0);
	test_success("strongswan-renewalreq", "old.key", 0);
	test_success("strongswan-aes-sha256", "client.key", 1);
	test_failure_pending();
	test_success_options();

	signer_free(sig);
	for (i = 0; i < 6; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	rmdir(tmp);
	free(tmp);
	free(labdir);
	return done_testing();
}
