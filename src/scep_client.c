/* SPDX-License-Identifier: ISC */
/*
 * scep_client.c: scepd talking SCEP to an upstream server (scep_client.h).
 * It owns the HTTP exchanges (libcurl: http and https only, no redirects, a
 * total timeout, a 1 MiB ceiling on every answer, a counting limit on
 * concurrent exchanges), the cached snapshot of the upstream's GetCACaps and
 * GetCACert, and the building and checking of pkiMessages. Private keys are
 * used only through signer.h (signer_sign_message, signer_decrypt); replies
 * are parsed by pkimsg_parse like any incoming message. It logs nothing: every
 * failure comes back as a reason in plain words that names the upstream.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "ca_impl.h"
#include "certid.h"
#include "certrep.h"
#include "envelope.h"
#include "oids.h"
#include "pkimsg.h"
#include "der.h"
#include "scep_client.h"
#include "scep_types.h"
#include "signer.h"
#include "httpclient.h"
#include "util.h"

#define CLIENT_MAX_ANSWER (1024 * 1024)  /* any upstream answer */
#define CLIENT_NONCE_BYTES SCEP_CLIENT_NONCE_BYTES
#define CLIENT_MAX_URL 4096

struct snapshot {
	struct scep_upstream u;      /* first: the public view */
	int refs;                    /* users; under the client's mutex */
	int replaced;                /* no longer current: freed by the last release */
	int64_t fetched_at;
};

struct scep_client {
	char *url;
	char *ca_identifier;
	char *ca_bundle;
	unsigned timeout;
	unsigned cache_time;
	X509 *anchor;
	int allow_des;
	int cipher_nid, digest_nid, force_get, get_encoding;
	char *user_agent;
	struct ca_slots slots;
	pthread_mutex_t mu;          /* guards cur and the refs of every snapshot */
	struct snapshot *cur;
};

struct scep_client *scep_client_new(const struct scep_client_options *o, char *err,
    size_t errlen)
{
	struct scep_client *c;

	if (o->url == NULL || (strncmp(o->url, "http://", 7) != 0 &&
	    strncmp(o->url, "https://", 8) != 0) || strlen(o->url) > CLIENT_MAX_URL / 2) {
		errorf(err, errlen, "the upstream URL must be an http:// or https:// URL");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errorf(err, errlen, "libcurl cannot be initialised");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->url = xstrdup(o->url);
	c->ca_identifier = o->ca_identifier != NULL ? xstrdup(o->ca_identifier) : NULL;
	c->ca_bundle = o->ca_bundle != NULL ? xstrdup(o->ca_bundle) : NULL;
	c->timeout = o->timeout ? o->timeout : 30;
	c->cache_time = o->cache_time ? o->cache_time : 3600;
	c->allow_des = o->allow_des;
	c->cipher_nid = o->cipher_nid;
	c->digest_nid = o->digest_nid;
	c->force_get = o->force_get;
	c->get_encoding = o->get_encoding;
	c->user_agent = xstrdup(o->user_agent != NULL ? o->user_agent : "scepd");
	if (o->anchor != NULL && X509_up_ref(o->anchor) == 1)
		c->anchor = o->anchor;
	if (ca_slots_init(&c->slots, o->max_concurrent ? o->max_concurrent : 8) != 0 ||
	    pthread_mutex_init(&c->mu, NULL) != 0) {
		errorf(err, errlen, "scep client: out of resources");
		X509_free(c->anchor);
		free(c->user_agent);
		free(c->ca_bundle);
		free(c->ca_identifier);
		free(c->url);
		free(c);
		curl_global_cleanup();
		return NULL;
	}
	return c;
}

static void snapshot_free(struct snapshot *s)
{
	if (s == NULL)
		return;
	X509_free(s->u.ca);
	X509_free(s->u.ra_sign);
	X509_free(s->u.ra_enc);
	sk_X509_pop_free(s->u.certs, X509_free);
	free(s);
}

void scep_client_free(struct scep_client *c)
{
	if (c == NULL)
		return;
	snapshot_free(c->cur);   /* every user has released it by now */
	pthread_mutex_destroy(&c->mu);
	ca_slots_destroy(&c->slots);
	X509_free(c->anchor);
	free(c->user_agent);
	free(c->ca_bundle);
	free(c->ca_identifier);
	free(c->url);
	free(c);
	curl_global_cleanup();
}

const char *scep_client_url(const struct scep_client *c)
{
	return c->url;
}

/* --- HTTP ------------------------------------------------------------------ */

/* Percent-encodes s (RFC 3986 unreserved characters kept). */
static char *url_escape(const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * len + 1), *o = out;
	size_t i;

	for (i = 0; i < len; i++) {
		if (isalnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_' || s[i] == '~') {
			*o++ = (char)s[i];
		} else {
			*o++ = '%';
			*o++ = hex[s[i] >> 4];
			*o++ = hex[s[i] & 15];
		}
	}
	*o = '\0';
	return out;
}

/* The URL of an operation, with an optional message parameter (escaped here). */
static char *op_url(const struct scep_client *c, const char *op, const char *message,
    size_t message_len)
{
	char *esc = NULL, *url;

	if (message != NULL)
		esc = url_escape((const unsigned char *)message, message_len);
	url = xasprintf("%s%soperation=%s%s%s", c->url, strchr(c->url, '?') ? "&" : "?", op,
	    esc != NULL ? "&message=" : "", esc != NULL ? esc : "");
	free(esc);
	return url;
}

/*
 * One HTTP exchange: GET, or POST of body as application/x-pki-message.
 * 0 with the answer (any status) in *out, or -1 with a reason when no answer
 * came (no free place, connection, TLS, timeout, answer too large).
 */
static int http(struct scep_client *c, const char *url, const unsigned char *body,
    size_t body_len, struct httpclient_answer *out, long *status, char *ctype, size_t ctlen,
    char *err, size_t errlen)
{
	CURL *h = NULL;
	struct curl_slist *hdr = NULL;
	char ebuf[CURL_ERROR_SIZE];
	char *ct = NULL;
	CURLcode rc;
	int result = -1, held = 0;

	memset(out, 0, sizeof(*out));
	*status = 0;
	if (ctype != NULL && ctlen > 0)
		ctype[0] = '\0';
	if (ca_slots_acquire(&c->slots, c->timeout) != 0) {
		errorf(err, errlen, "upstream %s: every place for upstream requests is taken "
		    "(backend.max_concurrent); none came free within %u seconds", c->url, c->timeout);
		goto out;
	}
	held = 1;
	out->max = CLIENT_MAX_ANSWER;
	if ((h = httpclient_new(url, (long)c->timeout * 1000, c->user_agent, c->ca_bundle,
	    ebuf, out)) == NULL) {
		errorf(err, errlen, "upstream %s: libcurl: out of memory or an option refused",
		    c->url);
		goto out;
	}
	if (body != NULL) {
		if ((hdr = curl_slist_append(NULL, "Content-Type: application/x-pki-message")) == NULL ||
		    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK) {
			errorf(err, errlen, "upstream %s: libcurl refuses the request body", c->url);
			goto out;
		}
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		if (out->over)
			errorf(err, errlen, "upstream %s: the answer is larger than %d bytes", c->url,
			    CLIENT_MAX_ANSWER);
		else
			errorf(err, errlen, "upstream %s: %s", c->url,
			    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK)
		*status = 0;
	if (ctype != NULL && curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		snprintf(ctype, ctlen, "%s", ct);
	result = 0;
out:
	if (result != 0)
		httpclient_answer_clear(out);
	curl_slist_free_all(hdr);
	if (h != NULL)
		curl_easy_cleanup(h);
	if (held)
		ca_slots_release(&c->slots);
	return result;
}

/* --- GetCACaps and GetCACert --------------------------------------------------- */

unsigned scep_client_parse_caps(const char *text, size_t len)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {
		{ "POSTPKIOperation", SCEP_CAP_POST }, { "AES", SCEP_CAP_AES },
		{ "DES3", SCEP_CAP_DES3 }, { "SHA-1", SCEP_CAP_SHA1 },
		{ "SHA-224", SCEP_CAP_SHA224 }, { "SHA-256", SCEP_CAP_SHA256 },
		{ "SHA-384", SCEP_CAP_SHA384 }, { "SHA-512", SCEP_CAP_SHA512 },
		{ "SCEPStandard", SCEP_CAP_STANDARD }, { "Renewal", SCEP_CAP_RENEWAL },
	};
	unsigned caps = 0;
	size_t i = 0, start, end, k, wl;

	while (i < len) {
		start = i;
		while (i < len && text[i] != '\n' && text[i] != '\r')
			i++;
		end = i;
		while (i < len && (text[i] == '\n' || text[i] == '\r'))
			i++;
		while (start < end && (text[start] == ' ' || text[start] == '\t'))
			start++;
		while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t'))
			end--;
		for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
			wl = strlen(words[k].word);
			if (end - start == wl && strncasecmp(text + start, words[k].word, wl) == 0)
				caps |= words[k].bit;
		}
	}
	/* RFC 8894 §3.5.2: SCEPStandard means AES, POST and SHA-256 at least. */
	if (caps & SCEP_CAP_STANDARD)
		caps |= SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256;
	return caps;
}

STACK_OF(X509) *scep_client_parse_cacert(const unsigned char *der, size_t len)
{
	STACK_OF(X509) *certs = NULL, *result = NULL, *in;
	PKCS7 *p7 = NULL;
	X509 *x = NULL;
	int i;

	if (len == 0 || len > CLIENT_MAX_ANSWER || (certs = sk_X509_new_null()) == NULL)
		goto out;
	if ((x = (X509 *)der_decode_exact(ASN1_ITEM_rptr(X509), der, len)) != NULL) {
		if (sk_X509_push(certs, x) == 0)
			goto out;
		x = NULL;
		result = certs;
		certs = NULL;
		goto out;
	}
	X509_free(x);
	x = NULL;
	if ((p7 = (PKCS7 *)der_decode_exact(ASN1_ITEM_rptr(PKCS7), der, len)) == NULL ||
	    !PKCS7_type_is_signed(p7) || p7->d.sign == NULL || (in = p7->d.sign->cert) == NULL)
		goto out;
	for (i = 0; i < sk_X509_num(in); i++) {
		if (X509_up_ref(sk_X509_value(in, i)) != 1)
			goto out;
		if (sk_X509_push(certs, sk_X509_value(in, i)) == 0) {
			X509_free(sk_X509_value(in, i));
			goto out;
		}
	}
	if (sk_X509_num(certs) == 0)
		goto out;
	result = certs;
	certs = NULL;
out:
	ERR_clear_error();
	X509_free(x);
	PKCS7_free(p7);
	sk_X509_pop_free(certs, X509_free);
	return result;
}

static int is_rsa(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	return k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;
}

/* Key usage allows bit (no keyUsage extension allows everything). */
static int ku_allows(X509 *x, uint32_t bit)
{
	uint32_t ku = X509_get_key_usage(x);

	return ku == UINT32_MAX || (ku & bit) != 0;
}

/* 1 when x chains to anchor through certs (or is it); dates not checked. */
static int chains_to(X509 *x, X509 *anchor, STACK_OF(X509) *certs)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	int ok = 0;

	if (X509_cmp(x, anchor) == 0)
		return 1;
	if ((st = X509_STORE_new()) == NULL || X509_STORE_add_cert(st, anchor) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL || X509_STORE_CTX_init(ctx, st, x, certs) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	ok = X509_verify_cert(ctx) == 1;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/*
 * Picks the CA and the RA certificates among certs, as clients do: the RA
 * encryption certificate is an end-entity RSA certificate allowing
 * keyEncipherment, the signing one one allowing digitalSignature; without
 * such certificates the CA does both. 0 or -1 with a reason.
 */
static int pick_certs(struct scep_client *c, STACK_OF(X509) *certs, struct scep_upstream *u,
    char *err, size_t errlen)
{
	X509 *x, *ca = NULL, *enc = NULL, *sign = NULL;
	int i, n = sk_X509_num(certs);

	for (i = 0; i < n; i++) {
		x = sk_X509_value(certs, i);
		if (n > 1 && X509_check_ca(x) >= 1) {
			if (ca == NULL)
				ca = x;
			continue;
		}
		if (enc == NULL && is_rsa(x) && ku_allows(x, KU_KEY_ENCIPHERMENT))
			enc = x;
		if (sign == NULL && is_rsa(x) && ku_allows(x, KU_DIGITAL_SIGNATURE))
			sign = x;
	}
	if (n == 1)
		ca = sk_X509_value(certs, 0);
	/* The CA that issued the RA certificates, when GetCACert holds several. */
	for (i = 0; sign != NULL && n > 1 && i < n; i++) {
		x = sk_X509_value(certs, i);
		if (X509_check_ca(x) >= 1 && X509_check_issued(x, sign) == X509_V_OK) {
			ca = x;
			break;
		}
	}
	ERR_clear_error();
	if (ca == NULL) {
		errorf(err, errlen, "upstream %s: GetCACert holds no CA certificate", c->url);
		return -1;
	}
	if (enc == NULL)
		enc = ca;
	if (sign == NULL)
		sign = ca;
	if (!is_rsa(enc)) {
		errorf(err, errlen, "upstream %s: its encryption certificate is not RSA, so no "
		    "request can be enveloped to it", c->url);
		return -1;
	}
	if (c->anchor != NULL) {
		if (!chains_to(enc, c->anchor, certs) || !chains_to(sign, c->anchor, certs)) {
			errorf(err, errlen, "upstream %s: its GetCACert certificates are not ca.cert "
			    "nor issued by it: is ca.cert the upstream's CA certificate?", c->url);
			return -1;
		}
		ca = c->anchor;
	}
	if (X509_up_ref(ca) != 1)
		return -1;
	u->ca = ca;
	if (X509_up_ref(enc) != 1)
		return -1;
	u->ra_enc = enc;
	if (X509_up_ref(sign) != 1)
		return -1;
	u->ra_sign = sign;
	return 0;
}

static void choose_algorithms(const struct scep_client *c, struct scep_upstream *u)
{
	unsigned caps = u->caps;

	/* RFC 8894 §3.5.2: "AES" is AES-128-CBC; without AES, 3DES (never single DES). */
	u->cipher_nid = (caps & SCEP_CAP_AES) ? NID_aes_128_cbc : NID_des_ede3_cbc;
	if (caps & SCEP_CAP_SHA512)
		u->digest_nid = NID_sha512;
	else if (caps & SCEP_CAP_SHA384)
		u->digest_nid = NID_sha384;
	else if (caps & SCEP_CAP_SHA256)
		u->digest_nid = NID_sha256;
	else if (caps & SCEP_CAP_SHA224)
		u->digest_nid = NID_sha224;
	else
		u->digest_nid = NID_sha1;   /* nothing advertised: the oldest servers' digest */
	u->post = (caps & SCEP_CAP_POST) != 0 && !c->force_get;
	/* a client family's own choice (scepctl selftest) */
	if (c->cipher_nid != 0)
		u->cipher_nid = c->cipher_nid;
	if (c->digest_nid != 0)
		u->digest_nid = c->digest_nid;
}

static struct snapshot *fetch(struct scep_client *c, char *err, size_t errlen)
{
	struct snapshot *s = NULL, *result = NULL;
	struct httpclient_answer b;
	char *url = NULL, ctype[128];
	long status = 0;
	const char *msg = c->ca_identifier;
	size_t msglen = msg != NULL ? strlen(msg) : 0;

	memset(&b, 0, sizeof(b));
	s = xcalloc(1, sizeof(*s));
	/* GetCACaps: an upstream without it (404, ...) advertises nothing. */
	url = op_url(c, "GetCACaps", msg, msglen);
	if (http(c, url, NULL, 0, &b, &status, NULL, 0, err, errlen) != 0)
		goto out;
	if (status == 200)
		s->u.caps = scep_client_parse_caps((const char *)b.p, b.len);
	free(b.p);
	b.p = NULL;
	free(url);
	url = op_url(c, "GetCACert", msg, msglen);
	if (http(c, url, NULL, 0, &b, &status, ctype, sizeof(ctype), err, errlen) != 0)
		goto out;
	if (status != 200) {
		errorf(err, errlen, "upstream %s: GetCACert answered HTTP %ld", c->url, status);
		goto out;
	}
	if ((s->u.certs = scep_client_parse_cacert((const unsigned char *)b.p, b.len)) == NULL) {
		errorf(err, errlen, "upstream %s: GetCACert (%s) is neither a certificate nor a "
		    "degenerate PKCS#7", c->url, ctype[0] ? ctype : "no content type");
		goto out;
	}
	if (pick_certs(c, s->u.certs, &s->u, err, errlen) != 0)
		goto out;
	choose_algorithms(c, &s->u);
	s->fetched_at = now_seconds();
	result = s;
	s = NULL;
out:
	free(b.p);
	free(url);
	snapshot_free(s);
	return result;
}

struct scep_upstream *scep_client_upstream(struct scep_client *c, int force, char *err,
    size_t errlen)
{
	struct snapshot *s, *fresh, *old = NULL;
	char why[512];

	pthread_mutex_lock(&c->mu);
	s = c->cur;
	if (s != NULL && !force && now_seconds() - s->fetched_at < (int64_t)c->cache_time) {
		s->refs++;
		pthread_mutex_unlock(&c->mu);
		return &s->u;
	}
	pthread_mutex_unlock(&c->mu);

	why[0] = '\0';
	fresh = fetch(c, why, sizeof(why));   /* outside the lock: it may take a while */
	pthread_mutex_lock(&c->mu);
	if (fresh != NULL) {
		old = c->cur;
		if (old != NULL && old->refs > 0)
			old->replaced = 1;
		else
			snapshot_free(old);
		c->cur = fresh;
	} else if (c->cur != NULL) {
		/* keep serving what we had; try again after a short while */
		c->cur->fetched_at = now_seconds() - (int64_t)c->cache_time + 60;
	}
	s = c->cur;
	if (s != NULL)
		s->refs++;
	pthread_mutex_unlock(&c->mu);
	if (s == NULL)
		errorf(err, errlen, "%s", why);
	return s != NULL ? &s->u : NULL;
}

void scep_upstream_release(struct scep_client *c, struct scep_upstream *u)
{
	struct snapshot *s = (struct snapshot *)u, *dead = NULL;

	if (u == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	if (--s->refs == 0 && s->replaced)
		dead = s;
	pthread_mutex_unlock(&c->mu);
	snapshot_free(dead);
}

/* --- PKIOperation --------------------------------------------------------------- */

void scep_client_reply_free(struct scep_client_reply *rep)
{
	if (rep == NULL)
		return;
	sk_X509_pop_free(rep->certs, X509_free);
	memset(rep, 0, sizeof(*rep));
}

__attribute__((format(printf, 2, 3)))
static enum scep_client_status rep_error(struct scep_client_reply *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	rep->status = SCEP_CLIENT_ERROR;
	return SCEP_CLIENT_ERROR;
}

/* Signs and envelopes one request of type msgtype with content to u's RA. */
unsigned char *scep_client_build_request(const struct signer *id, const struct scep_upstream *u,
    int msgtype, const unsigned char *content, size_t content_len, const char *tid,
    const unsigned char nonce[CLIENT_NONCE_BYTES], size_t *outlen, char *err, size_t errlen)
{
	const struct scep_nids *nids = oids_nids();
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	unsigned char *env = NULL, *der = NULL;
	size_t env_len = 0;
	char num[16];

	if ((env = certrep_envelope(u->ra_enc, u->cipher_nid, 0, content, content_len, &env_len,
	    err, errlen)) == NULL)
		goto out;
	snprintf(num, sizeof(num), "%d", msgtype);
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL ||
	    certrep_attr_add(attrs, nids->message_type, V_ASN1_PRINTABLESTRING, num,
	    strlen(num)) != 0 ||
	    certrep_attr_add(attrs, nids->transaction_id, V_ASN1_PRINTABLESTRING, tid,
	    strlen(tid)) != 0 ||
	    certrep_attr_add(attrs, nids->sender_nonce, V_ASN1_OCTET_STRING, nonce,
	    CLIENT_NONCE_BYTES) != 0) {
		errorf(err, errlen, "building the request attributes failed");
		goto out;
	}
	der = signer_sign_message(id, u->digest_nid, env, env_len, attrs, outlen, err, errlen);
out:
	sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
	free(env);
	return der;
}

/* The certificates of a decrypted degenerate PKCS#7 (owned), or NULL. */
static STACK_OF(X509) *degenerate_certs(const unsigned char *der, size_t len)
{
	STACK_OF(X509) *certs = scep_client_parse_cacert(der, len);

	/* A single bare certificate is not a valid reply content. */
	if (certs != NULL) {
		X509 *x = (X509 *)der_decode_exact(ASN1_ITEM_rptr(X509), der, len);

		ERR_clear_error();
		if (x != NULL) {
			X509_free(x);
			sk_X509_pop_free(certs, X509_free);
			certs = NULL;
		}
	}
	return certs;
}

/* 1 when the reply's signer is one of the upstream's GetCACert certificates. */
static int signer_known(const struct scep_upstream *u, X509 *signer)
{
	int i;

	if (signer == NULL)
		return 0;
	if (X509_cmp(signer, u->ra_sign) == 0 || X509_cmp(signer, u->ca) == 0)
		return 1;
	for (i = 0; i < sk_X509_num(u->certs); i++)
		if (X509_cmp(signer, sk_X509_value(u->certs, i)) == 0 &&
		    ku_allows(signer, KU_DIGITAL_SIGNATURE))
			return 1;
	return 0;
}

/*
 * The checks of a verified CertRep m from label that do not depend on who
 * signed it: our transactionID, our nonce as recipientNonce, then the
 * pkiStatus; SUCCESS opened with id's keys into its certificates.
 */
static enum scep_client_status open_reply(const char *label, const struct pkimsg *m,
    const struct signer *id, int allow_des, const char *tid,
    const unsigned char nonce[CLIENT_NONCE_BYTES], struct scep_client_reply *rep)
{
	struct envelope_info env;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	char err[512];
	const char *name;
	enum scep_client_status result;

	if (strcmp(m->transaction_id, tid) != 0) {
		result = rep_error(rep, "upstream %s: the reply is for transactionID %s, not %s",
		    label, m->transaction_id, tid);
		goto out;
	}
	if (m->recipient_nonce_len != CLIENT_NONCE_BYTES ||
	    memcmp(m->recipient_nonce, nonce, CLIENT_NONCE_BYTES) != 0) {
		result = rep_error(rep, "upstream %s: the reply's recipientNonce is not our "
		    "senderNonce", label);
		goto out;
	}
	switch (m->pki_status) {
	case SCEP_STATUS_SUCCESS:
		if (m->envelope == NULL) {
			result = rep_error(rep, "upstream %s: SUCCESS without a pkcsPKIEnvelope", label);
			goto out;
		}
		if (envelope_inspect(m->envelope, m->envelope_len, &env, err, sizeof(err)) == 0)
			rep->cipher_nid = env.cipher_nid;
		if (signer_decrypt(id, m->envelope, m->envelope_len, allow_des, &plain,
		    &plain_len, NULL, err, sizeof(err)) != SCEP_FAIL_NONE) {
			result = rep_error(rep, "upstream %s: the reply cannot be opened: %s", label, err);
			goto out;
		}
		if ((rep->certs = degenerate_certs(plain, plain_len)) == NULL) {
			result = rep_error(rep, "upstream %s: the reply holds no certificates", label);
			goto out;
		}
		rep->status = result = SCEP_CLIENT_SUCCESS;
		break;
	case SCEP_STATUS_FAILURE:
		rep->fail_info = m->rep_fail_info;
		name = scep_failinfo_name(m->rep_fail_info >= 0 && m->rep_fail_info <= 4 ?
		    m->rep_fail_info : SCEP_FAIL_NONE);
		if (m->fail_info_text[0] != '\0')
			snprintf(rep->reason, sizeof(rep->reason), "%s (%s)", m->fail_info_text, name);
		else
			snprintf(rep->reason, sizeof(rep->reason), "failInfo %s", name);
		rep->status = result = SCEP_CLIENT_FAILURE;
		break;
	case SCEP_STATUS_PENDING:
		rep->status = result = SCEP_CLIENT_PENDING;
		break;
	default:
		result = rep_error(rep, "upstream %s: the reply's pkiStatus %d is unknown", label,
		    m->pki_status);
		break;
	}
out:
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
	return result;
}

/*
 * The message= value of a GET PKIOperation, escaped for the URL the way
 * encoding (enum scep_client_get_encoding) says; the clients each variant
 * stands for are listed in scep.md §1.2.1.
 */
static char *get_message(const unsigned char *der, size_t der_len, int encoding)
{
	char *b64 = xmalloc(4 * ((der_len + 2) / 3) + 1), *out, *o;
	size_t i, n;

	n = (size_t)EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
	out = o = xmalloc(3 * n + 3 * (n / 64 + 1) + 1);
	for (i = 0; i < n; i++) {
		char ch = b64[i];

		if (encoding == SCEP_GET_LINES && i > 0 && i % 64 == 0)
			o += sprintf(o, "%%0A");
		switch (encoding) {
		case SCEP_GET_LINES:
			o += ch == '+' ? sprintf(o, "%%2B") : sprintf(o, "%c", ch);
			break;
		case SCEP_GET_RAW:
			o += ch == '=' ? sprintf(o, "%%3D") : sprintf(o, "%c", ch);
			break;
		case SCEP_GET_URLSAFE:
			if (ch != '=')
				*o++ = ch == '+' ? '-' : ch == '/' ? '_' : ch;
			break;
		default:
			o += ch == '+' ? sprintf(o, "%%2B") : ch == '/' ? sprintf(o, "%%2F") :
			    ch == '=' ? sprintf(o, "%%3D") : sprintf(o, "%c", ch);
			break;
		}
	}
	*o = '\0';
	free(b64);
	return out;
}

/* Sends der, checks the CertRep and fills rep. */
static enum scep_client_status exchange(struct scep_client *c, const struct signer *id,
    struct scep_upstream **up, const unsigned char *der, size_t der_len, const char *tid,
    const unsigned char nonce[CLIENT_NONCE_BYTES], struct scep_client_reply *rep)
{
	struct scep_upstream *u = *up;
	struct pkimsg *m = NULL;
	struct httpclient_answer b;
	char *url = NULL, *b64 = NULL, err[512];
	long status = 0;
	int n;
	enum scep_client_status result;

	memset(&b, 0, sizeof(b));
	if (u->post) {
		url = op_url(c, "PKIOperation", NULL, 0);
		n = http(c, url, der, der_len, &b, &status, NULL, 0, err, sizeof(err));
	} else {
		b64 = get_message(der, der_len, c->get_encoding);
		url = xasprintf("%s%soperation=PKIOperation&message=%s", c->url,
		    strchr(c->url, '?') ? "&" : "?", b64);
		n = http(c, url, NULL, 0, &b, &status, NULL, 0, err, sizeof(err));
	}
	rep->http_status = status;
	if (n != 0) {
		result = rep_error(rep, "%s", err);
		goto out;
	}
	if (status != 200) {
		char line[201];
		size_t i;

		for (i = 0; i < b.len && i < sizeof(line) - 1 && b.p[i] != '\n' && b.p[i] != '\r'; i++)
			line[i] = (b.p[i] < 0x20 || b.p[i] >= 0x7f) ? '?' : b.p[i];
		line[i] = '\0';
		result = rep_error(rep, "upstream %s: PKIOperation answered HTTP %ld%s%s", c->url,
		    status, line[0] ? ": " : "", line);
		goto out;
	}
	if ((m = pkimsg_parse((const unsigned char *)b.p, b.len, err, sizeof(err))) == NULL) {
		result = rep_error(rep, "upstream %s: the reply is not a SCEP message: %s", c->url, err);
		goto out;
	}
	if (m->failinfo != SCEP_FAIL_NONE) {
		result = rep_error(rep, "upstream %s: the reply does not verify: %s", c->url, m->reason);
		goto out;
	}
	if (m->message_type != SCEP_MSG_CERTREP) {
		result = rep_error(rep, "upstream %s: the reply is messageType %d, not CertRep",
		    c->url, m->message_type);
		goto out;
	}
	if (!signer_known(u, m->signer)) {
		/* The upstream may have renewed its RA certificates: look once more. */
		struct scep_upstream *fresh = scep_client_upstream(c, 1, err, sizeof(err));

		if (fresh != NULL) {
			scep_upstream_release(c, u);
			*up = u = fresh;
		}
		if (!signer_known(u, m->signer)) {
			result = rep_error(rep, "upstream %s: the reply is signed by a certificate "
			    "that is not in its GetCACert", c->url);
			goto out;
		}
	}
	result = open_reply(c->url, m, id, c->allow_des, tid, nonce, rep);
out:
	pkimsg_free(m);
	free(b64);
	free(b.p);
	free(url);
	return result;
}

int scep_client_get(struct scep_client *c, const char *op, const char *message,
    struct scep_client_answer *a, char *err, size_t errlen)
{
	struct httpclient_answer b;
	char *url;
	int rc;

	memset(a, 0, sizeof(*a));
	memset(&b, 0, sizeof(b));
	url = op_url(c, op, message, message != NULL ? strlen(message) : 0);
	rc = http(c, url, NULL, 0, &b, &a->status, a->ctype, sizeof(a->ctype), err, errlen);
	free(url);
	if (rc != 0)
		return -1;
	a->body = b.p != NULL ? (unsigned char *)b.p : xcalloc(1, 1);
	a->len = b.len;
	return 0;
}

void scep_client_answer_free(struct scep_client_answer *a)
{
	if (a == NULL)
		return;
	free(a->body);
	memset(a, 0, sizeof(*a));
}

int scep_client_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(" '()+,-./:=?", *s) == NULL)
			return 0;
	return 1;
}

static enum scep_client_status request(struct scep_client *c, const struct signer *id,
    int msgtype, const unsigned char *content, size_t content_len, const char *tid,
    struct scep_client_reply *rep)
{
	struct scep_upstream *u = NULL;
	unsigned char nonce[CLIENT_NONCE_BYTES], *der = NULL;
	size_t der_len = 0, tlen;
	char err[512];
	enum scep_client_status result;

	memset(rep, 0, sizeof(*rep));
	rep->fail_info = -1;
	tlen = tid != NULL ? strlen(tid) : 0;
	if (tlen == 0 || tlen > PKIMSG_MAX_TRANSACTION_ID)
		return rep_error(rep, "transactionID for the upstream is empty or too long");
	if (!scep_client_printable(tid))
		return rep_error(rep, "transactionID for the upstream is not a PrintableString");
	if ((u = scep_client_upstream(c, 0, err, sizeof(err))) == NULL)
		return rep_error(rep, "%s", err);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		result = rep_error(rep, "no random bytes for the senderNonce");
		goto out;
	}
	if ((der = scep_client_build_request(id, u, msgtype, content, content_len, tid, nonce, &der_len,
	    err, sizeof(err))) == NULL) {
		result = rep_error(rep, "building the request for upstream %s failed: %s", c->url, err);
		goto out;
	}
	result = exchange(c, id, &u, der, der_len, tid, nonce, rep);
out:
	ERR_clear_error();
	free(der);
	scep_upstream_release(c, u);
	return result;
}

enum scep_client_status scep_client_pkcsreq(struct scep_client *c, const struct signer *id,
    const unsigned char *csr, size_t csr_len, const char *tid, struct scep_client_reply *rep)
{
	return request(c, id, SCEP_MSG_PKCSREQ, csr, csr_len, tid, rep);
}

enum scep_client_status scep_client_certpoll(struct scep_client *c, const struct signer *id,
    const X509_NAME *subject, const char *tid, struct scep_client_reply *rep)
{
	struct scep_upstream *u;
	unsigned char *body = NULL;
	size_t body_len = 0;
	char err[512];
	enum scep_client_status result;

	memset(rep, 0, sizeof(*rep));
	rep->fail_info = -1;
	if ((u = scep_client_upstream(c, 0, err, sizeof(err))) == NULL)
		return rep_error(rep, "%s", err);
	body = certid_encode_issuer_and_subject(X509_get_subject_name(u->ca), subject,
	    &body_len);
	scep_upstream_release(c, u);
	if (body == NULL)
		return rep_error(rep, "cannot encode IssuerAndSubject");
	result = request(c, id, SCEP_MSG_CERTPOLL, body, body_len, tid, rep);
	free(body);
	return result;
}

enum scep_client_status scep_client_check_reply(const struct scep_upstream *u,
    const struct signer *id, int allow_des, const unsigned char *reply, size_t reply_len,
    const char *tid, const unsigned char nonce[SCEP_CLIENT_NONCE_BYTES],
    struct scep_client_reply *rep)
{
	struct pkimsg *m = NULL;
	char err[512];
	enum scep_client_status result;

	memset(rep, 0, sizeof(*rep));
	rep->fail_info = -1;
	if ((m = pkimsg_parse(reply, reply_len, err, sizeof(err))) == NULL) {
		result = rep_error(rep, "the reply is not a SCEP message: %s", err);
		goto out;
	}
	if (m->failinfo != SCEP_FAIL_NONE) {
		result = rep_error(rep, "the reply does not verify: %s", m->reason);
		goto out;
	}
	if (m->message_type != SCEP_MSG_CERTREP) {
		result = rep_error(rep, "the reply is messageType %d, not CertRep", m->message_type);
		goto out;
	}
	if (!signer_known(u, m->signer)) {
		result = rep_error(rep, "the reply is signed by a certificate that is not in "
		    "GetCACert");
		goto out;
	}
	result = open_reply("server", m, id, allow_des, tid, nonce, rep);
out:
	ERR_clear_error();
	pkimsg_free(m);
	return result;
}
