/* SPDX-License-Identifier: ISC */
/*
 * webhook.c: the "webhook" challenge validator, speaking step-ca's
 * SCEPCHALLENGE webhook protocol so that webhook servers written for step-ca
 * work unchanged (smallstep/certificates webhook/types.go,
 * authority/provisioner/webhook.go): a POST of the JSON request body with
 * Content-Type application/json, X-Smallstep-Webhook-ID (validators.id, or
 * the name) and X-Smallstep-Signature (hex HMAC-SHA256 of the body keyed by
 * the base64-decoded validators.secret_file). Only a 2xx answer holding
 * {"allow": true} allows; one retry after a second on a transport error or a
 * status >= 500 within validators.timeout for both, none after a time-out, as
 * step-ca does; anything else refuses. With notify_url, a
 * NOTIFYING webhook is told about the issued certificate or the failure.
 * Also the JSON documents themselves (validator_impl.h), which the exec type
 * sends too. libcurl: https (ca_file, client_certificate), http only to
 * loopback (checked by config.c), no redirects, answers bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <curl/curl.h>
#include <json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base64.h"
#include "config.h"
#include "pemfile.h"
#include "httpclient.h"
#include "util.h"
#include "validator_impl.h"
#include "x509util.h"

#define WEBHOOK_MAX_ANSWER 65536        /* bytes of a webhook's answer read */
#define WEBHOOK_MAX_SECRET 4096         /* bytes of the secret file */

struct webhook {
	char *url, *notify_url, *id;
	char *ca_file, *client_cert, *client_key;
	unsigned char *secret;
	size_t secret_len;
	unsigned timeout;
};

/* --- the JSON documents ---------------------------------------------------------- */

/* Adds key = string to obj (nothing when s is NULL). */
static void add_str(json_object *obj, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(obj, key, json_object_new_string(s));
}

/* Adds key = base64 of bytes (how Go marshals []byte). */
static void add_b64(json_object *obj, const char *key, const unsigned char *p, size_t n)
{
	char *b = base64_encode(p, n);

	if (b != NULL)
		json_object_object_add(obj, key, json_object_new_string(b));
	free(b);
}

/* Appends s to the array obj[key], creating it. */
static void add_to_array(json_object *obj, const char *key, json_object *s)
{
	json_object *a;

	if (!json_object_object_get_ex(obj, key, &a)) {
		a = json_object_new_array();
		json_object_object_add(obj, key, a);
	}
	json_object_array_add(a, s);
}

/* A name as x509util.Subject: commonName and serialNumber strings, the rest arrays. */
static json_object *name_json(const X509_NAME *name)
{
	static const struct {
		int nid;
		const char *key;
		int single;
	} keys[] = {
		{ NID_countryName, "country", 0 },
		{ NID_organizationName, "organization", 0 },
		{ NID_organizationalUnitName, "organizationalUnit", 0 },
		{ NID_localityName, "locality", 0 },
		{ NID_stateOrProvinceName, "province", 0 },
		{ NID_streetAddress, "streetAddress", 0 },
		{ NID_postalCode, "postalCode", 0 },
		{ NID_serialNumber, "serialNumber", 1 },
		{ NID_commonName, "commonName", 1 },
	};
	json_object *obj = json_object_new_object();
	const X509_NAME_ENTRY *e;
	unsigned char *utf8;
	size_t k;
	int i, n, nid;

	for (i = 0; name != NULL && i < X509_NAME_entry_count(name); i++) {
		e = X509_NAME_get_entry(name, i);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (keys[k].nid != nid)
				continue;
			if ((n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e))) < 0)
				break;
			if (keys[k].single)
				json_object_object_add(obj, keys[k].key,
				    json_object_new_string_len((const char *)utf8, n));
			else
				add_to_array(obj, keys[k].key,
				    json_object_new_string_len((const char *)utf8, n));
			OPENSSL_free(utf8);
			break;
		}
	}
	return obj;
}

/* The SANs as x509util does: dnsNames, emailAddresses, ipAddresses, uris and sans. */
static void sans_json(json_object *obj, const GENERAL_NAMES *san)
{
	const GENERAL_NAME *gn;
	const ASN1_STRING *s;
	char addr[INET6_ADDRSTRLEN];
	json_object *one;
	const char *type, *list;
	int i;

	for (i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		gn = sk_GENERAL_NAME_value(san, i);
		s = NULL;
		type = list = NULL;
		switch (gn->type) {
		case GEN_DNS:
			s = gn->d.dNSName, type = "dns", list = "dnsNames";
			break;
		case GEN_EMAIL:
			s = gn->d.rfc822Name, type = "email", list = "emailAddresses";
			break;
		case GEN_URI:
			s = gn->d.uniformResourceIdentifier, type = "uri", list = "uris";
			break;
		case GEN_IPADD:
			if ((ASN1_STRING_length(gn->d.iPAddress) == 4 ||
			    ASN1_STRING_length(gn->d.iPAddress) == 16) &&
			    inet_ntop(ASN1_STRING_length(gn->d.iPAddress) == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(gn->d.iPAddress), addr, sizeof(addr)) != NULL) {
				add_to_array(obj, "ipAddresses", json_object_new_string(addr));
				one = json_object_new_object();
				add_str(one, "type", "ip");
				add_str(one, "value", addr);
				add_to_array(obj, "sans", one);
			}
			break;
		default:
			break;
		}
		if (s == NULL)
			continue;
		add_to_array(obj, list, json_object_new_string_len(
		    (const char *)ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
		one = json_object_new_object();
		add_str(one, "type", type);
		json_object_object_add(one, "value", json_object_new_string_len(
		    (const char *)ASN1_STRING_get0_data(s), ASN1_STRING_length(s)));
		add_to_array(obj, "sans", one);
	}
}

/* publicKey (SubjectPublicKeyInfo DER) and publicKeyAlgorithm as Go names it. */
static void key_json(json_object *obj, EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int n;

	if (pk == NULL)
		return;
	if ((n = i2d_PUBKEY(pk, &der)) > 0)
		add_b64(obj, "publicKey", der, (size_t)n);
	OPENSSL_free(der);
	add_str(obj, "publicKeyAlgorithm", EVP_PKEY_is_a(pk, "RSA") ? "RSA" :
	    EVP_PKEY_is_a(pk, "EC") ? "ECDSA" : EVP_PKEY_is_a(pk, "ED25519") ? "Ed25519" :
	    "Unknown");
}

/*
 * The name of RSA-PSS with these parameters as Go's crypto/x509 tells them
 * apart: SHA-256, -384 or -512, MGF1 with the same hash, a salt as long as
 * the hash, the default trailer; anything else is Go's unknown algorithm ("").
 */
static const char *pss_name(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf_md = NULL;
	const char *name = "";
	int ptype, md, salt;
	int64_t salt_len = 20, trailer = 1;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || (pss = ASN1_item_unpack(pval,
	    ASN1_ITEM_rptr(RSA_PSS_PARAMS))) == NULL || pss->hashAlgorithm == NULL ||
	    pss->maskGenAlgorithm == NULL ||
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
	    (mgf_md = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
	    pss->maskGenAlgorithm->parameter)) == NULL ||
	    OBJ_cmp(mgf_md->algorithm, pss->hashAlgorithm->algorithm) != 0 ||
	    (pss->saltLength != NULL && ASN1_INTEGER_get_int64(&salt_len, pss->saltLength) != 1) ||
	    (pss->trailerField != NULL &&
	    ASN1_INTEGER_get_int64(&trailer, pss->trailerField) != 1) || trailer != 1)
		goto out;
	md = OBJ_obj2nid(pss->hashAlgorithm->algorithm);
	salt = md == NID_sha256 ? 32 : md == NID_sha384 ? 48 : md == NID_sha512 ? 64 : 0;
	if (salt != 0 && salt_len == salt)
		name = md == NID_sha256 ? "SHA256-RSAPSS" : md == NID_sha384 ? "SHA384-RSAPSS" :
		    "SHA512-RSAPSS";
out:
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pss);
	return name;
}

/*
 * The signature algorithm as step-ca's x509util marshals Go's
 * x509.SignatureAlgorithm: Go's name, or "" for one Go does not know (a Go
 * webhook server decoding the body refuses any other name).
 */
static const char *sigalg_name(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	switch (OBJ_obj2nid(obj)) {
	case NID_md5WithRSAEncryption: return "MD5-RSA";
	case NID_sha1WithRSAEncryption: return "SHA1-RSA";
	case NID_sha1WithRSA: return "SHA1-RSA";
	case NID_sha256WithRSAEncryption: return "SHA256-RSA";
	case NID_sha384WithRSAEncryption: return "SHA384-RSA";
	case NID_sha512WithRSAEncryption: return "SHA512-RSA";
	case NID_rsassaPss: return pss_name(alg);
	case NID_dsaWithSHA1: return "DSA-SHA1";
	case NID_dsa_with_SHA256: return "DSA-SHA256";
	case NID_ecdsa_with_SHA1: return "ECDSA-SHA1";
	case NID_ecdsa_with_SHA256: return "ECDSA-SHA256";
	case NID_ecdsa_with_SHA384: return "ECDSA-SHA384";
	case NID_ecdsa_with_SHA512: return "ECDSA-SHA512";
	case NID_ED25519: return "Ed25519";
	default: return "";
	}
}

/* x509CertificateRequest: the parsed CSR and raw, its DER. */
static json_object *csr_json(const struct validator_request *rq)
{
	json_object *obj = json_object_new_object();
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(rq->csr);
	GENERAL_NAMES *san;
	const X509_ALGOR *alg;

	json_object_object_add(obj, "version",
	    json_object_new_int((int)X509_REQ_get_version(rq->csr)));
	json_object_object_add(obj, "subject", name_json(X509_REQ_get_subject_name(rq->csr)));
	san = exts != NULL ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
	sans_json(obj, san);
	GENERAL_NAMES_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_get0_signature(rq->csr, NULL, &alg);
	add_str(obj, "signatureAlgorithm", sigalg_name(alg));
	key_json(obj, rq->pubkey);
	add_b64(obj, "raw", rq->csr_der, rq->csr_len);
	return obj;
}

static void add_time(json_object *obj, const char *key, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	if (gmtime_r(&tt, &tm) != NULL && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		add_str(obj, key, buf);
}

/* x509Certificate: the parsed certificate and raw, its DER. */
static json_object *cert_json(X509 *cert)
{
	json_object *obj = json_object_new_object();
	GENERAL_NAMES *san;
	EVP_PKEY *key;
	const X509_ALGOR *alg;
	unsigned char *der = NULL;
	BIGNUM *bn;
	char *dec;
	int64_t t;
	int n;

	json_object_object_add(obj, "version", json_object_new_int((int)X509_get_version(cert)));
	json_object_object_add(obj, "subject", name_json(X509_get_subject_name(cert)));
	json_object_object_add(obj, "issuer", name_json(X509_get_issuer_name(cert)));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) != NULL &&
	    (dec = BN_bn2dec(bn)) != NULL) {
		add_str(obj, "serialNumber", dec);
		OPENSSL_free(dec);
	}
	BN_free(bn);
	san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	sans_json(obj, san);
	GENERAL_NAMES_free(san);
	if (x509util_time_seconds(X509_get0_notBefore(cert), &t) == 0)
		add_time(obj, "notBefore", t);
	if (x509util_time_seconds(X509_get0_notAfter(cert), &t) == 0)
		add_time(obj, "notAfter", t);
	X509_get0_signature(NULL, &alg, cert);
	add_str(obj, "signatureAlgorithm", sigalg_name(alg));
	/* The certificate may come from the signer process decoded key-less (der.h). */
	key = x509util_spki_key(X509_get_X509_PUBKEY(cert));
	key_json(obj, key);
	EVP_PKEY_free(key);
	if ((n = i2d_X509(cert, &der)) > 0)
		add_b64(obj, "raw", der, (size_t)n);
	OPENSSL_free(der);
	return obj;
}

/* The fields every document has. */
static json_object *body_common(const struct validator_request *rq)
{
	json_object *obj = json_object_new_object();

	add_time(obj, "timestamp", rq->now);
	add_str(obj, "provisionerName", rq->profile != NULL ? rq->profile : "ndes");
	add_str(obj, "scepTransactionID", rq->transaction_id);
	json_object_object_add(obj, "x509CertificateRequest", csr_json(rq));
	return obj;
}

/* The text of obj (malloc'd), then obj is released. */
static char *body_text(json_object *obj, size_t *len)
{
	const char *s;
	size_t n = 0;
	char *out = NULL;

	if (obj != NULL && (s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n)) != NULL) {
		out = xmalloc(n + 1);
		memcpy(out, s, n + 1);
		*len = n;
	}
	json_object_put(obj);
	return out;
}

char *webhook_body_challenge(const struct validator_request *rq, size_t *len)
{
	json_object *obj = body_common(rq);

	add_str(obj, "scepChallenge", rq->challenge != NULL ? rq->challenge : "");
	return body_text(obj, len);
}

char *webhook_body_success(const struct validator_request *rq, X509 *cert, size_t *len)
{
	json_object *obj = body_common(rq);

	json_object_object_add(obj, "x509Certificate", cert_json(cert));
	return body_text(obj, len);
}

char *webhook_body_failure(const struct validator_request *rq, int code,
    const char *description, size_t *len)
{
	json_object *obj = body_common(rq);

	json_object_object_add(obj, "scepErrorCode", json_object_new_int(code));
	add_str(obj, "scepErrorDescription", description != NULL ? description : "");
	return body_text(obj, len);
}

int webhook_signature(const unsigned char *secret, size_t secret_len, const char *body,
    size_t len, char out[65])
{
	unsigned char mac[32];
	size_t mac_len = 0;
	OSSL_PARAM params[2];
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *ctx = NULL;
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(ctx, secret, secret_len, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1 ||
	    EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 || mac_len != sizeof(mac))
		goto out;
	hex_encode(mac, sizeof(mac), out, 0);
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return rc;
}

/* --- the type ------------------------------------------------------------------- */

/* The secret file: base64 text (surrounding white space ignored), decoded. */
static int read_secret(struct webhook *w, const char *path, char *err, size_t errlen)
{
	unsigned char *text = NULL;
	size_t len = 0, start = 0, end;
	int rc = -1;

	if ((text = pemfile_read_secret(path, &len, err, errlen)) == NULL)
		return -1;
	end = len;
	while (start < end && strchr(" \t\r\n", text[start]) != NULL)
		start++;
	while (end > start && strchr(" \t\r\n", text[end - 1]) != NULL)
		end--;
	if (end - start > WEBHOOK_MAX_SECRET ||
	    (w->secret = base64_decode((const char *)text + start, end - start,
	    &w->secret_len)) == NULL || w->secret_len == 0) {
		errorf(err, errlen, "secret_file %s: not a base64 secret (as step-ca keeps it)",
		    path);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_clear_free(text, len + 1);
	return rc;
}

static void webhook_destroy(void *impl)
{
	struct webhook *w = impl;

	if (w == NULL)
		return;
	if (w->secret != NULL)
		OPENSSL_clear_free(w->secret, w->secret_len);
	free(w->url);
	free(w->notify_url);
	free(w->id);
	free(w->ca_file);
	free(w->client_cert);
	free(w->client_key);
	free(w);
	curl_global_cleanup();
}

static void *webhook_create(const struct config_validator *c, char *err, size_t errlen)
{
	struct webhook *w;

	if (c->url == NULL || c->secret_file == NULL) {
		errorf(err, errlen, "url and secret_file must be set");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errorf(err, errlen, "libcurl cannot be initialised");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->url = xstrdup(c->url);
	w->notify_url = c->notify_url != NULL ? xstrdup(c->notify_url) : NULL;
	w->id = xstrdup(c->id != NULL ? c->id : c->name);
	w->ca_file = c->ca_file != NULL ? xstrdup(c->ca_file) : NULL;
	w->client_cert = c->client_certificate != NULL ? xstrdup(c->client_certificate) : NULL;
	w->client_key = c->client_key != NULL ? xstrdup(c->client_key) : NULL;
	w->timeout = c->timeout ? c->timeout : 10;
	if (read_secret(w, c->secret_file, err, errlen) != 0) {
		webhook_destroy(w);
		return NULL;
	}
	return w;
}

/*
 * One POST of body to url, signed. 0 with the status and the answer in *a,
 * or -1 with why when no answer came (connection, TLS, time-out, too large).
 */
static int post_once(const struct webhook *w, const char *url, const char *body, size_t len,
    long timeout_ms, long *status, struct httpclient_answer *a, int *timed_out, char *why,
    size_t whylen)
{
	CURL *h = NULL;
	struct curl_slist *hdr = NULL, *more;
	char ebuf[CURL_ERROR_SIZE], sig[65], *line = NULL;
	CURLcode rc;
	int result = -1;

	memset(a, 0, sizeof(*a));
	a->max = WEBHOOK_MAX_ANSWER;
	*status = 0;
	*timed_out = 0;
	if (webhook_signature(w->secret, w->secret_len, body, len, sig) != 0) {
		errorf(why, whylen, "cannot compute the HMAC-SHA256 signature");
		goto out;
	}
	if ((hdr = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
		errorf(why, whylen, "libcurl: out of memory");
		goto out;
	}
	line = xasprintf("X-Smallstep-Webhook-ID: %s", w->id);
	if ((more = curl_slist_append(hdr, line)) == NULL)
		goto oom;
	hdr = more;
	free(line);
	line = xasprintf("X-Smallstep-Signature: %s", sig);
	if ((more = curl_slist_append(hdr, line)) == NULL)
		goto oom;
	hdr = more;
	if ((h = httpclient_new(url, timeout_ms, "scepd", w->ca_file, ebuf, a)) == NULL)
		goto oom;
	if ((w->client_cert != NULL &&
	    (curl_easy_setopt(h, CURLOPT_SSLCERT, w->client_cert) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLKEY, w->client_key) != CURLE_OK)) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK) {
		errorf(why, whylen, "libcurl refuses an option");
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		*timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		errorf(why, whylen, "%s: %s", url, a->over ? "the answer is too large" :
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK)
		*status = 0;
	result = 0;
	goto out;
oom:
	errorf(why, whylen, "libcurl: out of memory");
out:
	if (result != 0)
		httpclient_answer_clear(a);
	free(line);
	curl_slist_free_all(hdr);
	if (h != NULL)
		curl_easy_cleanup(h);
	return result;
}

/*
 * A POST with step-ca's retry (authority/provisioner/webhook.go): once more
 * after a second on no answer or a status >= 500, within one deadline of
 * validators.timeout for both attempts; not after the deadline passed (a
 * webhook that did not answer in time is not asked again).
 */
static int post(const struct webhook *w, const char *url, const char *body, size_t len,
    long *status, struct httpclient_answer *a, char *why, size_t whylen)
{
	int64_t deadline = monotonic_millis() + (int64_t)w->timeout * 1000, left;
	int timed_out = 0, rc;

	rc = post_once(w, url, body, len, (long)w->timeout * 1000, status, a, &timed_out, why,
	    whylen);
	if ((rc == 0 && *status < 500) || timed_out)
		return rc;
	if ((left = deadline - monotonic_millis() - 1000) <= 0)
		return rc;
	if (rc == 0)
		httpclient_answer_clear(a);
	sleep(1);
	return post_once(w, url, body, len, (long)left, status, a, &timed_out, why, whylen);
}

/* The message of a refusal's error {code, message}, or "". */
static const char *answer_error(json_object *root, char *buf, size_t len)
{
	json_object *e, *m, *c;

	buf[0] = '\0';
	if (!json_object_object_get_ex(root, "error", &e))
		return buf;
	if (json_object_is_type(e, json_type_string)) {
		snprintf(buf, len, ": %s", json_object_get_string(e));
	} else if (json_object_is_type(e, json_type_object)) {
		c = m = NULL;
		json_object_object_get_ex(e, "code", &c);
		json_object_object_get_ex(e, "message", &m);
		snprintf(buf, len, ": %s%s%s", c != NULL ? json_object_get_string(c) : "",
		    c != NULL && m != NULL ? ": " : "", m != NULL ? json_object_get_string(m) : "");
	}
	return buf;
}

static enum validator_verdict webhook_check(void *impl, const struct validator_request *rq,
    struct validator_result *res)
{
	struct webhook *w = impl;
	struct httpclient_answer a = { NULL, 0, 0, 0 };
	json_tokener *tok = NULL;
	json_object *root = NULL, *allow;
	char why[400], msg[300], *body = NULL;
	size_t len = 0;
	long status = 0;
	enum validator_verdict v;

	if ((body = webhook_body_challenge(rq, &len)) == NULL) {
		v = validator_set_result(res, VALIDATOR_ERROR, "cannot encode the request as JSON");
		goto out;
	}
	if (post(w, w->url, body, len, &status, &a, why, sizeof(why)) != 0) {
		v = validator_set_result(res, VALIDATOR_ERROR, "webhook %s", why);
		goto out;
	}
	if (status < 200 || status > 299) {
		v = validator_set_result(res, VALIDATOR_ERROR, "webhook %s answered HTTP %ld",
		    w->url, status);
		goto out;
	}
	if ((tok = json_tokener_new()) == NULL) {
		v = validator_set_result(res, VALIDATOR_ERROR, "json-c: out of memory");
		goto out;
	}
	root = a.p != NULL ? json_tokener_parse_ex(tok, a.p, (int)a.len) : NULL;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != a.len || !json_object_is_type(root, json_type_object)) {
		v = validator_set_result(res, VALIDATOR_ERROR, "webhook %s answered something "
		    "that is not a JSON object", w->url);
		goto out;
	}
	if (!json_object_object_get_ex(root, "allow", &allow) ||
	    !json_object_is_type(allow, json_type_boolean)) {
		v = validator_set_result(res, VALIDATOR_ERROR, "webhook %s answered without a "
		    "boolean \"allow\"", w->url);
		goto out;
	}
	if (!json_object_get_boolean(allow)) {
		v = validator_set_result(res, VALIDATOR_DENY, "webhook %s answered allow: false%s",
		    w->url, answer_error(root, msg, sizeof(msg)));
		goto out;
	}
	v = validator_set_result(res, VALIDATOR_ALLOW, "webhook %s allowed it", w->url);
out:
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	free(a.p);
	free(body);
	return v;
}

/* Sends a notification document to notify_url; 0 when a 2xx came back. */
static int notify(const struct webhook *w, char *body, size_t len, char *why, size_t whylen)
{
	struct httpclient_answer a;
	long status = 0;
	int rc = -1;

	if (body == NULL) {
		errorf(why, whylen, "cannot encode the notification as JSON");
		return -1;
	}
	if (post(w, w->notify_url, body, len, &status, &a, why, whylen) == 0) {
		if (status >= 200 && status <= 299)
			rc = 0;
		else
			errorf(why, whylen, "%s answered HTTP %ld", w->notify_url, status);
		free(a.p);
	}
	free(body);
	return rc;
}

static int webhook_notify_success(void *impl, const struct validator_request *rq, X509 *cert,
    char *why, size_t whylen)
{
	struct webhook *w = impl;
	size_t len = 0;
	char *body;

	if (w->notify_url == NULL)
		return 0;
	body = webhook_body_success(rq, cert, &len);
	return notify(w, body, len, why, whylen);
}

static int webhook_notify_failure(void *impl, const struct validator_request *rq, int failinfo,
    int32_t hresult, const char *description, char *why, size_t whylen)
{
	struct webhook *w = impl;
	size_t len = 0;
	char *body;

	(void)hresult;
	if (w->notify_url == NULL)
		return 0;
	body = webhook_body_failure(rq, failinfo, description, &len);
	return notify(w, body, len, why, whylen);
}

const struct validator_ops validator_webhook_ops = {
	.type = "webhook",
	.create = webhook_create,
	.check = webhook_check,
	.notify_success = webhook_notify_success,
	.notify_failure = webhook_notify_failure,
	.destroy = webhook_destroy,
};
