/* SPDX-License-Identifier: ISC */
/*
 * inspect.c: a SCEP pkiMessage or CertRep in plain words (inspect.h). It
 * decodes only through the project's parsers: pkimsg_parse (SignedData,
 * attributes, signer), envelope_inspect (cipher, key transport, recipient),
 * signer_decrypt (the RA keys, when given), csr_parse, certid_parse_* and
 * query_decode_message (base64 in every form clients send). It writes text;
 * it decides nothing and never prints a challenge password.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certid.h"
#include "config.h"
#include "csr.h"
#include "envelope.h"
#include "inspect.h"
#include "pkimsg.h"
#include "policy.h"
#include "query.h"
#include "scep_types.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "x509util.h"

#define LABEL "%-18s "

/* --- input ----------------------------------------------------------------- */

/* The base64 text between a PEM header line and its END line, or NULL. */
static const char *pem_body(const char *text, size_t len, size_t *body_len)
{
	const char *begin = memmem(text, len, "-----BEGIN ", 11), *eol, *end;

	if (begin == NULL || (eol = memchr(begin, '\n', len - (size_t)(begin - text))) == NULL)
		return NULL;
	eol++;
	if ((end = memmem(eol, len - (size_t)(eol - text), "-----END ", 9)) == NULL)
		return NULL;
	*body_len = (size_t)(end - eol);
	return eol;
}

unsigned char *inspect_input(const unsigned char *in, size_t len, size_t *outlen,
    char *err, size_t errlen)
{
	const char *text = (const char *)in, *val = NULL;
	unsigned char *der = NULL;
	size_t vlen = 0, skip = 0;

	if (len == 0) {
		errorf(err, errlen, "empty input");
		return NULL;
	}
	if (in[0] == 0x30) {
		der = xmalloc(len);
		memcpy(der, in, len);
		*outlen = len;
		return der;
	}
	if (memchr(in, '\0', len) != NULL) {
		errorf(err, errlen, "neither DER (no SEQUENCE tag) nor text (a NUL byte)");
		return NULL;
	}
	if ((val = pem_body(text, len, &vlen)) == NULL &&
	    query_find(text, len, "message", &val, &vlen) == 0) {
		/* bare base64: without surrounding white space */
		while (skip < len && (text[skip] == ' ' || text[skip] == '\n' ||
		    text[skip] == '\r' || text[skip] == '\t'))
			skip++;
		val = text + skip;
		vlen = len - skip;
		while (vlen > 0 && (val[vlen - 1] == ' ' || val[vlen - 1] == '\n' ||
		    val[vlen - 1] == '\r' || val[vlen - 1] == '\t'))
			vlen--;
	}
	return query_decode_message(val, vlen, outlen, err, errlen);
}

/* --- words ----------------------------------------------------------------- */

const char *inspect_failinfo_meaning(int failinfo)
{
	switch (failinfo) {
	case SCEP_FAIL_BADALG:
		return "unrecognized or unsupported algorithm: the server does not accept the "
		    "digest, signature, content cipher or key transport the device used";
	case SCEP_FAIL_BADMESSAGECHECK:
		return "integrity check failed: the message's signature did not verify, or its "
		    "envelope could not be opened with the RA keys";
	case SCEP_FAIL_BADREQUEST:
		return "transaction not permitted or supported: the request was understood and "
		    "refused (challenge password, template rules, subject or SAN, key)";
	case SCEP_FAIL_BADTIME:
		return "the message's signingTime is too far from the server's clock";
	case SCEP_FAIL_BADCERTID:
		return "no certificate matches the one the request names (GetCert, CertPoll, "
		    "renewal)";
	}
	return "";
}

const char *inspect_failinfo_advice(int failinfo)
{
	switch (failinfo) {
	case SCEP_FAIL_BADALG:
		return "set the profile's hash algorithm to SHA-256 (Intune: Hash algorithm; "
		    "Apple: none to set, use a current OS), or allow the algorithm on the server "
		    "(scep.allow_sha1, the profile's digests and ciphers)";
	case SCEP_FAIL_BADMESSAGECHECK:
		return "the device encrypted to or trusts a stale CA/RA certificate: deploy the "
		    "current root (Intune: the trusted certificate profile the SCEP profile "
		    "names), let the device fetch GetCACert again, and check nothing between "
		    "them rewrites the body";
	case SCEP_FAIL_BADREQUEST:
		return "check the challenge (static or one-time, not used, not expired, of this "
		    "profile), the subject name format and subject alternative names, the key "
		    "size and key usage the profile asks for against the template NDES picks";
	case SCEP_FAIL_BADTIME:
		return "fix the device's clock (time zone, NTP), or widen scep.max_clock_skew";
	case SCEP_FAIL_BADCERTID:
		return "the device renews or polls for a certificate this server does not know: "
		    "remove the old certificate and enroll again, or check it was issued by this CA";
	}
	return "";
}

/* The HRESULTs NDES puts in its FAILURE replies (ndes.md §3.4, §4), in words. */
static const char *hresult_words(int32_t hr)
{
	switch ((uint32_t)hr) {
	case 0x80004005u:
		return "E_FAIL: unspecified failure (NDES: also a template the CA does not offer)";
	case 0x80070005u:
		return "E_ACCESSDENIED: access denied";
	case 0x80070057u:
		return "E_INVALIDARG: the request was refused (NDES: a wrong or used password)";
	case 0x80090005u:
		return "NTE_BAD_DATA: the envelope could not be decrypted";
	case 0x80090006u:
		return "NTE_BAD_SIGNATURE: a signature does not verify";
	case 0x80090008u:
		return "NTE_BAD_ALGID: an algorithm is not supported";
	case 0x80092004u:
		return "CRYPT_E_NOT_FOUND: the certificate asked for is not known";
	case 0x80092010u:
		return "CRYPT_E_REVOKED: the certificate is revoked";
	case 0x8009310Bu:
		return "CRYPT_E_ASN1_BADTAG: the message does not decode";
	case 0x80094800u:
		return "CERTSRV_E_UNSUPPORTED_CERT_TYPE: the template is not offered by the CA";
	case 0x800B0101u:
		return "CERT_E_EXPIRED: a certificate has expired";
	}
	return "(not one NDES is known to send)";
}

static const char *status_name(int status)
{
	switch (status) {
	case SCEP_STATUS_SUCCESS:
		return "SUCCESS";
	case SCEP_STATUS_FAILURE:
		return "FAILURE";
	case SCEP_STATUS_PENDING:
		return "PENDING";
	}
	return "unknown";
}

static const char *nid_words(int nid)
{
	return nid == NID_undef ? "(unknown to OpenSSL)" : OBJ_nid2ln(nid);
}

static void print_time(FILE *out, const char *label, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC",
	    &tm) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)t);
	fprintf(out, LABEL "%s\n", label, buf);
}

static void print_name(FILE *out, const char *label, const X509_NAME *name)
{
	char *text = name != NULL ? x509util_name_text(name) : NULL;

	fprintf(out, LABEL "%s\n", label, text != NULL ? text : "(unreadable)");
	free(text);
}

static void print_hex(FILE *out, const char *label, const unsigned char *b, size_t n)
{
	char hex[2 * PKIMSG_MAX_NONCE + 1];

	if (n > PKIMSG_MAX_NONCE)
		n = PKIMSG_MAX_NONCE;
	fprintf(out, LABEL "%s\n", label, hex_encode(b, n, hex, 0));
}

static const char *key_words(const EVP_PKEY *key, char *buf, size_t len)
{
	char group[64];
	size_t glen = 0;

	if (key == NULL)
		return "(none)";
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		snprintf(buf, len, "RSA %d bits", EVP_PKEY_get_bits(key));
	else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &glen) == 1)
		snprintf(buf, len, "EC %s (%d bits)", group, EVP_PKEY_get_bits(key));
	else
		snprintf(buf, len, "%s %d bits", OBJ_nid2sn(EVP_PKEY_get_base_id(key)),
		    EVP_PKEY_get_bits(key));
	return buf;
}

/* --- parts ----------------------------------------------------------------- */

/* reply: the message is a CertRep, signed by the RA rather than by a device. */
static void print_signer(FILE *out, X509 *cert, int reply)
{
	char serial[X509UTIL_SERIAL_HEX_MAX], kbuf[96];
	EVP_PKEY *key;
	int64_t t;

	if (cert == NULL) {
		fprintf(out, LABEL "not in the message (the SignerInfo names a certificate the "
		    "message does not carry)\n", "signer");
		return;
	}
	print_name(out, "signer", X509_get_subject_name(cert));
	print_name(out, "  issued by", X509_get_issuer_name(cert));
	if (x509util_cert_serial_hex(cert, serial, sizeof(serial)) == 0)
		fprintf(out, LABEL "%s\n", "  serial", serial);
	if (x509util_time_seconds(X509_get0_notBefore(cert), &t) == 0)
		print_time(out, "  valid from", t);
	if (x509util_time_seconds(X509_get0_notAfter(cert), &t) == 0)
		print_time(out, "  valid until", t);
	key = x509util_spki_key(X509_get_X509_PUBKEY(cert));
	fprintf(out, LABEL "%s\n", "  key", key_words(key, kbuf, sizeof(kbuf)));
	EVP_PKEY_free(key);
	if (X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0)
		fprintf(out, LABEL "%s\n", "  self-signed", reply ? "yes (the server signs as "
		    "its CA, without an RA certificate)" : "yes (a device's transient signer)");
	else
		fprintf(out, LABEL "%s\n", "  self-signed", reply ? "no (the RA signing "
		    "certificate)" : "no (an existing certificate: renewal or re-enrollment)");
}

static void print_envelope(FILE *out, const struct pkimsg *msg)
{
	struct envelope_info ei;
	char err[256];

	if (msg->envelope == NULL) {
		fprintf(out, LABEL "none\n", "envelope");
		return;
	}
	if (envelope_inspect(msg->envelope, msg->envelope_len, &ei, err, sizeof(err)) != 0) {
		fprintf(out, LABEL "unreadable: %s\n", "envelope", err);
		return;
	}
	fprintf(out, LABEL "%s%s%s\n", "content cipher", ei.cipher_nid == NID_undef ?
	    ei.cipher_oid : OBJ_nid2ln(ei.cipher_nid), ei.cipher_nid == NID_undef ?
	    " (unknown to OpenSSL)" : "", ei.cipher_nid == NID_des_cbc ?
	    " (single DES: refused unless scep.allow_des)" : "");
	fprintf(out, LABEL "%s\n", "key transport", ei.oaep ? "RSAES-OAEP" :
	    ei.n_ktri > 0 ? "rsaEncryption (PKCS#1 v1.5)" : "none (no KeyTransRecipientInfo)");
	if (ei.recipient_issuer[0] != '\0')
		fprintf(out, LABEL "certificate serial %s issued by %s\n", "recipient",
		    ei.recipient_serial, ei.recipient_issuer);
	if (ei.n_recipients != 1)
		fprintf(out, LABEL "%d\n", "recipients", ei.n_recipients);
}

static void print_key_usage(FILE *out, const struct csr *csr)
{
	char name[80], names[160];
	size_t i;

	fprintf(out, LABEL "%s\n", "key usage", csr->has_key_usage ?
	    x509util_key_usage_names(csr->key_usage, names, sizeof(names)) : "not requested");
	if (csr->ext_key_usage == NULL)
		return;
	fprintf(out, LABEL, "extended usage");
	for (i = 0; i < (size_t)sk_ASN1_OBJECT_num(csr->ext_key_usage); i++) {
		OBJ_obj2txt(name, sizeof(name), sk_ASN1_OBJECT_value(csr->ext_key_usage, (int)i), 0);
		fprintf(out, "%s%s", i ? ", " : "", name);
	}
	fprintf(out, "\n");
}

static void print_sans(FILE *out, const GENERAL_NAMES *san)
{
	BIO *bio = BIO_new_fp(out, BIO_NOCLOSE);
	int i;

	fprintf(out, LABEL, "subjectAltName");
	if (san == NULL || sk_GENERAL_NAME_num(san) == 0)
		fprintf(out, "none");
	for (i = 0; bio != NULL && san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		(void)BIO_flush(bio);
		fprintf(out, "%s", i ? ", " : "");
		fflush(out);
		GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(san, i));
		(void)BIO_flush(bio);
	}
	fprintf(out, "\n");
	BIO_free(bio);
}

static const char *template_of(const struct config *cfg, enum policy_usage u)
{
	if (cfg == NULL)
		return NULL;
	switch (u) {
	case POLICY_USAGE_SIGNATURE:
		return cfg->signature_template;
	case POLICY_USAGE_ENCRYPTION:
		return cfg->encryption_template;
	case POLICY_USAGE_GENERAL:
		return cfg->general_purpose_template;
	}
	return NULL;
}

static void print_csr(FILE *out, const unsigned char *der, size_t len, const struct config *cfg)
{
	struct csr *csr;
	enum policy_usage u;
	const char *tmpl;
	char err[256], kbuf[96], hex[65];

	if ((csr = csr_parse(der, len, err, sizeof(err))) == NULL) {
		fprintf(out, LABEL "not a readable PKCS#10 request: %s\n", "request", err);
		return;
	}
	fprintf(out, LABEL "%s\n", "subject", csr->subject != NULL ? csr->subject : "");
	print_sans(out, csr->san);
	fprintf(out, LABEL "%s, SHA-256 of the key %s\n", "key",
	    key_words(csr->pubkey, kbuf, sizeof(kbuf)),
	    hex_encode(csr->spki_sha256, 32, hex, 0));
	fprintf(out, LABEL "%s\n", "self-signature", csr->self_signature_ok ? "verifies" :
	    "does NOT verify");
	print_key_usage(out, csr);
	u = policy_usage_of(csr);
	tmpl = template_of(cfg, u);
	fprintf(out, LABEL "%s%s%s%s\n", "NDES template", policy_usage_name(u),
	    tmpl != NULL ? " (here: template \"" : "", tmpl != NULL ? tmpl : "",
	    tmpl != NULL ? "\")" : "");
	if (csr->challenge == NULL)
		fprintf(out, LABEL "absent\n", "challenge");
	else
		fprintf(out, LABEL "present, %zu characters, ********\n", "challenge",
		    strlen(csr->challenge));
	csr_free(csr);
}

static void print_certid(FILE *out, int type, const unsigned char *der, size_t len)
{
	struct certid *id;
	char err[256];

	if (type == SCEP_MSG_CERTPOLL)
		id = certid_parse_issuer_and_subject(der, len, err, sizeof(err));
	else
		id = certid_parse_issuer_and_serial(der, len, err, sizeof(err));
	if (id == NULL) {
		fprintf(out, LABEL "unreadable: %s\n", "asks for", err);
		return;
	}
	print_name(out, "issuer", id->issuer);
	if (id->subject != NULL)
		print_name(out, "subject", id->subject);
	if (id->serial != NULL)
		fprintf(out, LABEL "%s\n", "serial", id->serial_hex);
	certid_free(id);
}

/* The request's envelope opened with the RA keys, and what it holds. */
static void print_content(FILE *out, const struct pkimsg *msg, const struct signer *ra,
    const struct config *cfg)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	const char *matched = NULL;
	char err[256];
	int rc;

	if (msg->envelope == NULL)
		return;
	if (ra == NULL) {
		fprintf(out, LABEL "not opened (the RA keys are not readable here)\n", "content");
		return;
	}
	rc = signer_decrypt(ra, msg->envelope, msg->envelope_len, 1, &plain, &plain_len,
	    &matched, err, sizeof(err));
	if (rc != SCEP_FAIL_NONE) {
		fprintf(out, LABEL "cannot be opened with this server's RA keys (%s): %s\n",
		    "content", scep_failinfo_name(rc), err);
		goto out;
	}
	fprintf(out, LABEL "opened with the %s key\n", "content", matched);
	switch (msg->message_type) {
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_RENEWALREQ:
		print_csr(out, plain, plain_len, cfg);
		break;
	case SCEP_MSG_CERTPOLL:
	case SCEP_MSG_GETCERT:
	case SCEP_MSG_GETCRL:
		print_certid(out, msg->message_type, plain, plain_len);
		break;
	default:
		fprintf(out, LABEL "%zu bytes\n", "content", plain_len);
		break;
	}
out:
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
}

static void print_reply(FILE *out, const struct pkimsg *msg)
{
	fprintf(out, LABEL "%s (%d)\n", "pkiStatus", status_name(msg->pki_status), msg->pki_status);
	if (msg->rep_fail_info >= 0) {
		fprintf(out, LABEL "%s (%d)\n", "failInfo", scep_failinfo_name(msg->rep_fail_info),
		    msg->rep_fail_info);
		fprintf(out, LABEL "%s\n", "  means", inspect_failinfo_meaning(msg->rep_fail_info));
		fprintf(out, LABEL "%s\n", "  what to change",
		    inspect_failinfo_advice(msg->rep_fail_info));
	}
	if (msg->fail_info_text[0] != '\0')
		fprintf(out, LABEL "%s\n", "failInfoText", msg->fail_info_text);
	if (msg->has_hresult)
		fprintf(out, LABEL "0x%08X %s\n", "NDES HRESULT", (uint32_t)msg->hresult,
		    hresult_words(msg->hresult));
	if (msg->recipient_nonce_len > 0)
		print_hex(out, "recipientNonce", msg->recipient_nonce, msg->recipient_nonce_len);
	if (msg->pki_status == SCEP_STATUS_SUCCESS)
		fprintf(out, LABEL "%s\n", "certificates", "in the envelope, encrypted to the "
		    "device's signer key (not readable here)");
	else if (msg->pki_status == SCEP_STATUS_PENDING)
		fprintf(out, LABEL "%s\n", "what happens next", "the device polls (CertPoll) with "
		    "the same transactionID until the request is approved or refused");
}

int inspect_message(FILE *out, const unsigned char *der, size_t len,
    const struct signer *ra, const struct config *cfg)
{
	struct pkimsg *msg;
	char err[256];

	if ((msg = pkimsg_parse(der, len, err, sizeof(err))) == NULL) {
		fprintf(out, LABEL "not a SCEP pkiMessage: %s\n", "message", err);
		return -1;
	}
	fprintf(out, LABEL "%s (%d)\n", "messageType", scep_msgtype_name(msg->message_type),
	    msg->message_type);
	fprintf(out, LABEL "%s\n", "transactionID", msg->transaction_id);
	print_hex(out, "senderNonce", msg->sender_nonce, msg->sender_nonce_len);
	if (msg->has_signing_time)
		print_time(out, "signingTime", msg->signing_time);
	fprintf(out, LABEL "%s\n", "digest", nid_words(msg->digest_nid));
	fprintf(out, LABEL "%s\n", "signature", nid_words(msg->signature_nid));
	fprintf(out, LABEL "%s\n", "verification", msg->failinfo == SCEP_FAIL_NONE ?
	    "signature and messageDigest verify" : msg->reason);
	print_signer(out, msg->signer, msg->message_type == SCEP_MSG_CERTREP);
	print_envelope(out, msg);
	if (msg->message_type == SCEP_MSG_CERTREP)
		print_reply(out, msg);
	else
		print_content(out, msg, ra, cfg);
	pkimsg_free(msg);
	return 0;
}

/* --- recorded exchanges ------------------------------------------------------ */

static void print_ms(FILE *out, const char *label, int64_t ms)
{
	time_t tt = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)(ms / 1000));
	fprintf(out, LABEL "%s.%03lld UTC\n", label, buf, (long long)(ms % 1000));
}

void inspect_recording(FILE *out, const struct store_recording *r, const struct signer *ra,
    const struct config *cfg)
{
	fprintf(out, LABEL "%lld\n", "recording", (long long)r->id);
	fprintf(out, LABEL "%s\n", "profile", r->profile[0] ? r->profile : "-");
	fprintf(out, LABEL "%s\n", "client", r->client_addr[0] ? r->client_addr : "-");
	print_ms(out, "received", r->received_ms);
	print_ms(out, "answered", r->answered_ms);
	fprintf(out, LABEL "%lld ms\n", "took", (long long)(r->answered_ms - r->received_ms));
	fprintf(out, LABEL "HTTP %d, %s\n", "outcome", r->http_status, r->outcome);
	if (r->failinfo >= 0)
		fprintf(out, LABEL "%s: %s\n", "failInfo", scep_failinfo_name(r->failinfo),
		    inspect_failinfo_meaning(r->failinfo));
	if (r->reason[0] != '\0')
		fprintf(out, LABEL "%s\n", "reason", r->reason);
	fprintf(out, "\n--- request (%zu bytes) ---\n", r->request_len);
	if (r->request == NULL)
		fprintf(out, "not kept (larger than lab.record_max_bytes)\n");
	else
		inspect_message(out, r->request, r->request_len, ra, cfg);
	fprintf(out, "\n--- reply (%zu bytes) ---\n", r->reply_len);
	if (r->reply == NULL)
		fprintf(out, "not kept\n");
	else if (r->http_status != 200)
		fprintf(out, "HTTP %d: %.*s\n", r->http_status, (int)r->reply_len,
		    (const char *)r->reply);
	else
		inspect_message(out, r->reply, r->reply_len, ra, cfg);
}
