/* SPDX-License-Identifier: ISC */
/*
 * keyproc_worker.c: one worker of the signer process (keyproc.h,
 * keyproc_serve). It answers the typed requests of keyproc_proto.h on its
 * socket: it loads the identities it is asked for through signer.c (only key
 * files its own readings of the configuration name, keyproc_config.h: it
 * starts with the supervisor's reading of scepd's last load, and reads the
 * file when scepd says it reloaded, and when the file changed before a
 * request that depends on it), re-checks each request
 * (validity against the templates, content that must be an EnvelopedData or a
 * certs-only SignedData, SCEP attributes only) and refuses malformed, unknown
 * and out-of-place messages with an event. It owns no process life and no
 * socket set-up (keyproc.c) and decodes nothing itself (keyproc_proto.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certrep.h"
#include "config.h"
#include "der.h"
#include "keyproc.h"
#include "keyproc_config.h"
#include "keyproc_proto.h"
#include "log.h"
#include "pkcs11.h"
#include "scep.h"
#include "scep_types.h"
#include "signer.h"
#include "signer_remote.h"
#include "util.h"
#include "x509util.h"

#define KEYPROC_CACHE        32      /* identities one worker keeps loaded */

struct identity {
	char *key;                /* the identity fields, as one string */
	struct signer *s;
	unsigned char digest[32]; /* signer_certs_digest(s), taken when s was loaded */
};

struct worker {
	struct keyproc_config conf; /* own readings: the templates issue is checked against */
	struct identity cache[KEYPROC_CACHE];
	size_t n_cache;
	int token_was_down;       /* forked after a worker found the PKCS#11 token gone */
	int token_down;           /* a request failed and the token does not answer: exit */
};

/* The longest validity any template of cfg allows (days); 0 without cfg. */
static unsigned cfg_max_validity(const struct config *cfg)
{
	unsigned v;

	if (cfg == NULL)
		return 0;
	v = cfg->validity_days;
	for (size_t i = 0; i < cfg->n_templates; i++)
		if (cfg->templates[i].validity_days > v)
			v = cfg->templates[i].validity_days;
	return v;
}

/*
 * The longest validity the worker's readings of the configuration (the
 * reload served, the one before, an edit not reloaded yet) allow; without a
 * configuration file (unit tests), the settings' limit.
 */
static unsigned max_validity(const struct worker *w)
{
	const struct config *r[3];
	size_t n = keyproc_config_readings(&w->conf, r);
	unsigned max = 0, v;

	if (w->conf.file == NULL)
		return 3650;
	for (size_t i = 0; i < n; i++)
		if ((v = cfg_max_validity(r[i])) > max)
			max = v;
	return max;   /* 0, refusing everything, when the file never loaded */
}

/* 1 when path is p, or p with the suffix of a renewed RA's previous files. */
static int same_file(const char *path, const char *p)
{
	size_t n;

	if (p == NULL)
		return 0;
	n = strlen(p);
	return strncmp(path, p, n) == 0 && (path[n] == '\0' ||
	    strcmp(path + n, SCEP_RA_PREVIOUS_SUFFIX) == 0);
}

/* 1 when cfg names path as a CA or RA certificate or key (the key files it may load). */
static int cfg_names(const struct config *cfg, const char *path)
{
	const char *const top[] = { cfg->ca_cert, cfg->ca_key, cfg->next_ca_cert,
	    cfg->next_ca_key, cfg->next_ra_sign_cert, cfg->next_ra_sign_key,
	    cfg->next_ra_enc_cert, cfg->next_ra_enc_key, cfg->ra_sign_cert, cfg->ra_sign_key,
	    cfg->ra_enc_cert, cfg->ra_enc_key };
	const struct config_profile *p;

	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (same_file(path, top[i]))
			return 1;
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		p = &cfg->profiles[i];
		if (same_file(path, p->ra_sign_cert) || same_file(path, p->ra_sign_key) ||
		    same_file(path, p->ra_enc_cert) || same_file(path, p->ra_enc_key))
			return 1;
	}
	return 0;
}

/*
 * 1 when the worker's own configuration names path: scepd cannot have it load
 * any other key on the machine. Without a configuration file (unit tests), any;
 * with one that never loaded, none.
 */
static int path_allowed(const struct worker *w, const char *path)
{
	const struct config *r[3];
	size_t n = keyproc_config_readings(&w->conf, r);

	if (w->conf.file == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (cfg_names(r[i], path))
			return 1;
	return 0;
}

/* The identity of a request as a signer, loaded (or found) with the client's certificates. */
static struct signer *worker_identity(struct worker *w, const struct keyproc_msg *m, char *err,
    size_t errlen)
{
	struct signer_files f;
	struct signer *s = NULL;
	char *p[6] = { NULL }, *key = NULL;
	unsigned char digest[32];
	uint32_t flags;
	size_t i, found = SIZE_MAX;

	(void)keyproc_msg_u32(m, KP_T_FLAGS, &flags);
	for (i = 0; i < 6; i++)
		p[i] = keyproc_msg_str(m, (uint16_t)(KP_T_CA_CERT + i));
	key = xasprintf("%s|%s|%s|%s|%s|%s|%u", p[0], p[1] ? p[1] : "", p[2] ? p[2] : "",
	    p[3] ? p[3] : "", p[4] ? p[4] : "", p[5] ? p[5] : "", flags);
	for (i = 0; i < w->n_cache; i++)
		if (strcmp(w->cache[i].key, key) == 0)
			found = i;
	if (found != SIZE_MAX &&
	    memcmp(w->cache[found].digest, m->f[KP_T_CERTS_DIGEST].p, 32) == 0) {
		s = w->cache[found].s;
		goto out;
	}
	/* not loaded, or the files changed (reload, rollover): load them again */
	keyproc_config_peek(&w->conf);
	for (i = 0; i < 6; i++) {
		if (p[i] != NULL && !path_allowed(w, p[i])) {
			errorf(err, errlen, "%s is not a CA or RA file of %s", p[i],
			    w->conf.file);
			log_event(LOG_WARNING, SCEPD_EVENT_SIGNER_REFUSED, "signer process: refused to "
			    "load %s: not a CA or RA file of its configuration", p[i]);
			goto out;
		}
	}
	memset(&f, 0, sizeof(f));
	f.ca_cert = p[0];
	f.ca_key = p[1];
	f.ra_sign_cert = p[2];
	f.ra_sign_key = p[3];
	f.ra_enc_cert = p[4];
	f.ra_enc_key = p[5];
	f.forward = (flags & KEYPROC_F_FORWARD) != 0;
	if ((s = signer_load_files(&f, (flags & KEYPROC_F_ALLOW_DES) != 0, err, errlen)) == NULL)
		goto out;
	if (signer_certs_digest(s, digest) != 0 ||
	    memcmp(digest, m->f[KP_T_CERTS_DIGEST].p, 32) != 0) {
		errorf(err, errlen, "%s: the certificates on disk are not the ones scepd loaded",
		    p[0]);
		signer_free(s);
		s = NULL;
		goto out;
	}
	if (found != SIZE_MAX) {
		signer_free(w->cache[found].s);
		w->cache[found].s = s;
		memcpy(w->cache[found].digest, digest, sizeof(digest));
		goto out;
	}
	if (w->n_cache == KEYPROC_CACHE) {
		/* a long life of reloads: start over */
		for (i = 0; i < w->n_cache; i++) {
			signer_free(w->cache[i].s);
			free(w->cache[i].key);
		}
		w->n_cache = 0;
	}
	w->cache[w->n_cache].key = key;
	w->cache[w->n_cache].s = s;
	memcpy(w->cache[w->n_cache].digest, digest, sizeof(digest));
	w->n_cache++;
	key = NULL;
out:
	for (i = 0; i < 6; i++)
		free(p[i]);
	free(key);
	return s;
}

/* DER of the field tag decoded as it (exact length), or NULL. */
static void *field_der(const struct keyproc_msg *m, uint16_t tag, const ASN1_ITEM *it)
{
	if (m->f[tag].p == NULL)
		return NULL;
	return der_decode_exact(it, m->f[tag].p, m->f[tag].len);
}

static int do_decrypt(struct worker *w, struct signer *s, const struct keyproc_msg *m,
    struct keyproc_buf *r, char *err, size_t errlen)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	const char *matched = NULL;
	int rc;

	rc = signer_decrypt(s, m->f[KP_T_ENVELOPE].p, m->f[KP_T_ENVELOPE].len,
	    1 /* the identity's allow_des decides: its provider is loaded only then */,
	    &plain, &plain_len, &matched, err, errlen);
	if (rc != SCEP_FAIL_NONE)
		return rc;
	keyproc_buf_u32(r, KP_T_RESULT, 0);
	keyproc_buf_u32(r, KP_T_MATCHED, signer_remote_matched_index(matched));
	keyproc_buf_add(r, KP_T_BLOB, plain, plain_len);
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return SCEP_FAIL_NONE;
}

static int do_issue(struct worker *w, struct signer *s, const struct keyproc_msg *m,
    struct keyproc_buf *r, char *err, size_t errlen)
{
	struct issue_request ir;
	X509_NAME *subject = NULL;
	EVP_PKEY *pub = NULL;
	GENERAL_NAMES *san = NULL;
	ASN1_OBJECT *eku[64];
	size_t n_eku = 0, pos = 0;
	const uint8_t *v;
	uint32_t len, ku, days;
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *x = NULL;
	char *url = NULL;
	int rc = SCEP_FAIL_BADREQUEST;

	memset(&ir, 0, sizeof(ir));
	(void)keyproc_msg_u32(m, KP_T_KEY_USAGE, &ku);
	(void)keyproc_msg_u32(m, KP_T_VALIDITY_DAYS, &days);
	(void)keyproc_msg_i64(m, KP_T_NOW, &ir.now);
	if ((subject = field_der(m, KP_T_SUBJECT, ASN1_ITEM_rptr(X509_NAME))) == NULL) {
		errorf(err, errlen, "issue: the subject is not a DER Name");
		goto out;
	}
	if ((pub = x509util_spki_der_key(m->f[KP_T_SPKI].p, m->f[KP_T_SPKI].len)) == NULL) {
		errorf(err, errlen, "issue: the public key is not a DER SubjectPublicKeyInfo");
		goto out;
	}
	if (m->f[KP_T_SAN].p != NULL &&
	    (san = field_der(m, KP_T_SAN, ASN1_ITEM_rptr(GENERAL_NAMES))) == NULL) {
		errorf(err, errlen, "issue: the subjectAltName is not DER GeneralNames");
		goto out;
	}
	while (keyproc_msg_next(m, KP_T_EKU, &pos, &v, &len) == 1 && n_eku < 64) {
		if ((eku[n_eku] = (ASN1_OBJECT *)der_decode_exact(ASN1_ITEM_rptr(ASN1_OBJECT), v,
		    len)) == NULL) {
			errorf(err, errlen, "issue: an extended key usage is not a DER OID");
			goto out;
		}
		n_eku++;
	}
	/* its own copy of the templates: never longer than any of them allows */
	keyproc_config_peek(&w->conf);
	if (days == 0 || days > max_validity(w)) {
		errorf(err, errlen, "issue: %u days is longer than any template allows (%u)", days,
		    max_validity(w));
		goto out;
	}
	/* a validity override only in lab mode, and never longer than a template allows */
	if (m->f[KP_T_NOT_BEFORE].p != NULL || m->f[KP_T_NOT_AFTER].p != NULL) {
		if (keyproc_msg_i64(m, KP_T_NOT_BEFORE, &ir.not_before) != 0 ||
		    keyproc_msg_i64(m, KP_T_NOT_AFTER, &ir.not_after) != 0 ||
		    w->conf.cur.cfg == NULL || !w->conf.cur.cfg->lab_enabled ||
		    ir.not_after <= ir.not_before ||
		    ir.not_after - ir.not_before > (int64_t)max_validity(w) * 86400) {
			errorf(err, errlen, "issue: a validity override outside lab mode, or "
			    "longer than any template allows");
			goto out;
		}
	}
	url = keyproc_msg_str(m, KP_T_CRL_URL);
	ir.subject = subject;
	ir.pubkey = pub;
	ir.san = san;
	ir.key_usage = ku;
	ir.eku = (const ASN1_OBJECT *const *)eku;
	ir.n_eku = n_eku;
	ir.validity_days = days;
	ir.crl_url = url;
	/* signer_issue builds every field: CA:FALSE, its own serial, no keyCertSign */
	if ((x = signer_issue(s, &ir, err, errlen)) == NULL)
		goto out;
	if ((der = der_encode(ASN1_ITEM_rptr(X509), x, &der_len)) == NULL) {
		errorf(err, errlen, "issue: cannot encode the certificate");
		goto out;
	}
	keyproc_buf_u32(r, KP_T_RESULT, 0);
	keyproc_buf_add(r, KP_T_BLOB, der, der_len);
	rc = SCEP_FAIL_NONE;
out:
	for (size_t i = 0; i < n_eku; i++)
		ASN1_OBJECT_free(eku[i]);
	X509_NAME_free(subject);
	EVP_PKEY_free(pub);
	GENERAL_NAMES_free(san);
	X509_free(x);
	free(der);
	free(url);
	return rc;
}

/* Message types a signed SCEP message may have: CertRep, and requests sent upstream. */
static int message_type_allowed(const uint8_t *v, uint32_t len)
{
	static const char *const ok[] = { "3", "17", "19", "20", "21", "22" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (len == strlen(ok[i]) && memcmp(v, ok[i], len) == 0)
			return 1;
	return 0;
}

static int do_sign_message(struct worker *w, struct signer *s, const struct keyproc_msg *m,
    struct keyproc_buf *r, char *err, size_t errlen)
{
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	CMS_ContentInfo *env = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0, pos = 0;
	const uint8_t *v;
	uint32_t len, md;
	int type, nid, rc = SCEP_FAIL_BADREQUEST, seen = 0, has_type = 0;

	(void)keyproc_msg_u32(m, KP_T_DIGEST_NID, &md);
	if (m->f[KP_T_ECONTENT].len > 0 &&
	    ((env = field_der(m, KP_T_ECONTENT, ASN1_ITEM_rptr(CMS_ContentInfo))) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped)) {
		errorf(err, errlen, "sign-message: the content is not a CMS EnvelopedData");
		goto out;
	}
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto out;
	while (keyproc_msg_next(m, KP_T_ATTR, &pos, &v, &len) == 1) {
		type = v[1];
		if ((nid = signer_remote_attr_nid(v[0])) == NID_undef || (seen & (1 << v[0]))) {
			errorf(err, errlen, "sign-message: attribute %u is unknown or repeated", v[0]);
			goto out;
		}
		seen |= 1 << v[0];
		/* the types SCEP gives each attribute (RFC 8894 §3.2.1, RFC 7894 for the text) */
		if ((v[0] == KEYPROC_A_SENDER_NONCE || v[0] == KEYPROC_A_RECIPIENT_NONCE) ?
		    type != V_ASN1_OCTET_STRING : v[0] == KEYPROC_A_FAIL_INFO_TEXT ?
		    type != V_ASN1_UTF8STRING : type != V_ASN1_PRINTABLESTRING) {
			errorf(err, errlen, "sign-message: attribute %u has ASN.1 type %d", v[0], type);
			goto out;
		}
		if (v[0] == KEYPROC_A_MESSAGE_TYPE) {
			if (!message_type_allowed(v + 2, len - 2)) {
				errorf(err, errlen, "sign-message: not a SCEP message type it signs");
				goto out;
			}
			has_type = 1;
		}
		if (certrep_attr_add(attrs, nid, type, v + 2, len - 2) == -1)
			goto out;
	}
	/* a message without a type is the start-up probe: an empty signature check */
	if (!has_type && (sk_X509_ATTRIBUTE_num(attrs) != 0 || m->f[KP_T_ECONTENT].count != 0)) {
		errorf(err, errlen, "sign-message: a SCEP message needs its messageType");
		goto out;
	}
	if ((der = signer_sign_message(s, (int)md, m->f[KP_T_ECONTENT].p,
	    m->f[KP_T_ECONTENT].len, attrs, &der_len, err, errlen)) == NULL)
		goto out;
	keyproc_buf_u32(r, KP_T_RESULT, 0);
	keyproc_buf_add(r, KP_T_BLOB, der, der_len);
	rc = SCEP_FAIL_NONE;
out:
	sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
	CMS_ContentInfo_free(env);
	free(der);
	return rc;
}

static int do_sign_nextca(struct worker *w, struct signer *s, const struct keyproc_msg *m,
    struct keyproc_buf *r, char *err, size_t errlen)
{
	PKCS7 *p7 = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = SCEP_FAIL_BADREQUEST;

	/* only a degenerate certs-only SignedData: certificates, no signer, no content */
	if ((p7 = field_der(m, KP_T_CONTENT, ASN1_ITEM_rptr(PKCS7))) == NULL ||
	    !PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) != 0 ||
	    sk_X509_num(p7->d.sign->cert) < 1 || p7->d.sign->contents == NULL ||
	    p7->d.sign->contents->d.ptr != NULL) {
		errorf(err, errlen, "sign-nextca: the content is not a certs-only SignedData");
		goto out;
	}
	if ((der = signer_sign_as_ca(s, m->f[KP_T_CONTENT].p, m->f[KP_T_CONTENT].len, &der_len,
	    err, errlen)) == NULL)
		goto out;
	keyproc_buf_u32(r, KP_T_RESULT, 0);
	keyproc_buf_add(r, KP_T_BLOB, der, der_len);
	rc = SCEP_FAIL_NONE;
out:
	PKCS7_free(p7);
	free(der);
	return rc;
}

static int do_sign_crl(struct worker *w, struct signer *s, const struct keyproc_msg *m,
    struct keyproc_buf *r, char *err, size_t errlen)
{
	struct signer_crl_entry *e = NULL;
	char (*serials)[65] = NULL;
	unsigned char *der = NULL;
	size_t n, i = 0, der_len = 0, pos = 0;
	const uint8_t *v;
	uint32_t len;
	int64_t number, this_update, next_update;
	int rc = SCEP_FAIL_BADREQUEST;

	(void)keyproc_msg_i64(m, KP_T_CRL_NUMBER, &number);
	(void)keyproc_msg_i64(m, KP_T_THIS_UPDATE, &this_update);
	(void)keyproc_msg_i64(m, KP_T_NEXT_UPDATE, &next_update);
	if (number < 0 || next_update <= this_update) {
		errorf(err, errlen, "sign-crl: CRL number or update times out of order");
		goto out;
	}
	n = m->f[KP_T_CRL_ENTRY].count;
	e = xcalloc(n + 1, sizeof(*e));
	serials = xcalloc(n + 1, sizeof(*serials));
	while (keyproc_msg_next(m, KP_T_CRL_ENTRY, &pos, &v, &len) == 1 && i < n) {
		memcpy(serials[i], v + 12, len - 12);
		serials[i][len - 12] = '\0';
		if (strspn(serials[i], "0123456789ABCDEF") != len - 12) {
			errorf(err, errlen, "sign-crl: a serial is not upper-case hex");
			goto out;
		}
		e[i].serial = serials[i];
		e[i].revoked_at = (int64_t)((uint64_t)keyproc_get32(v) << 32 | keyproc_get32(v + 4));
		e[i].reason = (int)keyproc_get32(v + 8);
		if (e[i].reason < 0 || e[i].reason > 10) {
			errorf(err, errlen, "sign-crl: reason code %d is not a CRLReason", e[i].reason);
			goto out;
		}
		i++;
	}
	if ((der = signer_sign_crl(s, e, n, number, this_update, next_update, &der_len, err,
	    errlen)) == NULL)
		goto out;
	keyproc_buf_u32(r, KP_T_RESULT, 0);
	keyproc_buf_add(r, KP_T_BLOB, der, der_len);
	rc = SCEP_FAIL_NONE;
out:
	free(e);
	free(serials);
	free(der);
	return rc;
}

/*
 * Keys in a PKCS#11 token: after a failed request, one test signature with
 * each; when the token does not answer, event 1016 (unless the worker before
 * this one said so already) and the worker ends after its answer, so that a
 * new one opens the module afresh. After a request that worked, a worker
 * forked because the token was gone says that the keys work again (1017).
 */
static void token_watch(struct worker *w, int worked)
{
	char err[256];

	if (!pkcs11_in_use())
		return;
	if (worked) {
		if (w->token_was_down) {
			log_event(LOG_NOTICE, SCEPD_EVENT_TOKEN_AVAILABLE, "PKCS#11 token available "
			    "again: the signer process's keys work");
			w->token_was_down = 0;
		}
		return;
	}
	if (pkcs11_probe(err, sizeof(err)) == 0)
		return;
	if (!w->token_was_down)
		log_event(LOG_ERR, SCEPD_EVENT_TOKEN_UNAVAILABLE, "PKCS#11 token unavailable: %s; "
		    "requests are refused until it is back", err);
	w->token_down = 1;
}

/* Answers one parsed request into r (a REPLY). */
static void worker_answer(struct worker *w, const struct keyproc_msg *m, struct keyproc_buf *r)
{
	struct signer *s;
	char err[512];
	int rc = SCEP_FAIL_BADREQUEST;

	err[0] = '\0';
	keyproc_buf_start(r, KEYPROC_REPLY, m->seq);
	if (m->type == KEYPROC_RELOAD) {
		/* scepd reloaded: the worker reads the file it reloaded, whatever it held before */
		keyproc_config_reload(&w->conf);
		keyproc_buf_u32(r, KP_T_RESULT, 0);
		return;
	}
	ERR_clear_error();
	if ((s = worker_identity(w, m, err, sizeof(err))) == NULL)
		goto out;
	switch (m->type) {
	case KEYPROC_OPEN:
		keyproc_buf_u32(r, KP_T_RESULT, 0);
		rc = SCEP_FAIL_NONE;
		break;
	case KEYPROC_DECRYPT: rc = do_decrypt(w, s, m, r, err, sizeof(err)); break;
	case KEYPROC_ISSUE: rc = do_issue(w, s, m, r, err, sizeof(err)); break;
	case KEYPROC_SIGN_MESSAGE: rc = do_sign_message(w, s, m, r, err, sizeof(err)); break;
	case KEYPROC_SIGN_NEXTCA: rc = do_sign_nextca(w, s, m, r, err, sizeof(err)); break;
	case KEYPROC_SIGN_CRL: rc = do_sign_crl(w, s, m, r, err, sizeof(err)); break;
	default:
		errorf(err, sizeof(err), "a %s is not a request", keyproc_type_name(m->type));
		break;
	}
out:
	ERR_clear_error();
	token_watch(w, rc == SCEP_FAIL_NONE && m->type != KEYPROC_OPEN);
	if (rc == SCEP_FAIL_NONE)
		return;
	keyproc_buf_free(r);
	keyproc_buf_start(r, KEYPROC_REPLY, m->seq);
	keyproc_buf_u32(r, KP_T_RESULT, (uint32_t)(1 + rc));
	keyproc_buf_str(r, KP_T_ERROR, err[0] != '\0' ? err : "refused");
}

/* A refusal for a packet that is not a request; sequence 0 when it did not parse. */
static void worker_refuse(struct keyproc_buf *r, uint32_t seq, const char *why)
{
	keyproc_buf_start(r, KEYPROC_REPLY, seq);
	keyproc_buf_u32(r, KP_T_RESULT, 1 + SCEP_FAIL_BADREQUEST);
	keyproc_buf_add(r, KP_T_ERROR, why, strlen(why) > 1024 ? 1024 : strlen(why));
}

int keyproc_serve(int fd, const char *config_file, const struct keyproc_config *served,
    int token_was_down)
{
	struct worker w;
	struct keyproc_msg m;
	struct keyproc_buf r;
	uint8_t *buf = xmalloc(KEYPROC_MAX_MSG + 1);
	char err[300];
	ssize_t n;

	memset(&w, 0, sizeof(w));
	if (served != NULL)
		w.conf = *served;
	w.conf.file = config_file;
	w.token_was_down = token_was_down;
	/* an edit scepd has not reloaded yet is read as such; the served readings stay */
	keyproc_config_peek(&w.conf);
	for (;;) {
		n = recv(fd, buf, KEYPROC_MAX_MSG + 1, MSG_TRUNC);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n > KEYPROC_MAX_MSG) {
			log_event(LOG_WARNING, SCEPD_EVENT_SIGNER_REFUSED, "signer process: refused a "
			    "message of %zd bytes (over %d)", n, KEYPROC_MAX_MSG);
			worker_refuse(&r, 0, "message too large");
		} else if (keyproc_msg_parse(buf, (size_t)n, &m, err, sizeof(err)) == -1) {
			log_event(LOG_WARNING, SCEPD_EVENT_SIGNER_REFUSED, "signer process: refused a "
			    "malformed message: %s", err);
			worker_refuse(&r, 0, err);
		} else if (m.type == KEYPROC_REPLY) {
			log_event(LOG_WARNING, SCEPD_EVENT_SIGNER_REFUSED, "signer process: refused "
			    "a reply sent as a request (out of order)");
			worker_refuse(&r, m.seq, "a reply is not a request");
		} else {
			worker_answer(&w, &m, &r);
		}
		OPENSSL_cleanse(buf, (size_t)(n > KEYPROC_MAX_MSG ? KEYPROC_MAX_MSG : n));
		if (keyproc_buf_finish(&r) == -1) {
			keyproc_buf_free(&r);
			worker_refuse(&r, m.seq, "the answer is too large");
			(void)keyproc_buf_finish(&r);
		}
		n = send(fd, r.p, r.len, MSG_NOSIGNAL);
		keyproc_buf_free(&r);
		if (n < 0 || w.token_down)
			break;
	}
	for (size_t i = 0; i < w.n_cache; i++) {
		signer_free(w.cache[i].s);
		free(w.cache[i].key);
	}
	keyproc_config_clear(&w.conf);
	free(buf);
	return w.token_down ? KEYPROC_EXIT_TOKEN : 0;
}
