/* SPDX-License-Identifier: ISC */
/*
 * intune.c: the Intune SCEP challenge validation client (intune.h), after the
 * wire contract in intune.md §1-§4 and Microsoft's Intune-Resource-Access
 * library. It owns the Entra ID token requests (client secret, or an RS256
 * JWT client assertion made with the configured certificate and key), the
 * token cache per scope, Graph discovery of ScepRequestValidationFEService
 * and its cache, and the three JSON calls. It does not decide what a refusal
 * means for the SCEP reply (the validator framework does), logs nothing, and
 * keeps secrets (the client secret, the key, tokens) out of every reason.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "base64.h"
#include "httpclient.h"
#include "intune.h"
#include "pemfile.h"
#include "util.h"
#include "x509util.h"

#define INTUNE_MAX_ANSWER (1024 * 1024)
#define INTUNE_MAX_URL 2048
#define INTUNE_API_VERSION "2018-02-20"
#define INTUNE_APP_ID "0000000a-0000-0000-c000-000000000000"
#define INTUNE_SERVICE "sceprequestvalidationfeservice"
#define INTUNE_MAX_DESCRIPTION 255
#define INTUNE_MAX_TOKEN_LIFE 86400     /* seconds an expires_in is believed, at most */

enum intune_scope { SCOPE_GRAPH, SCOPE_INTUNE, SCOPE_COUNT };

struct token {
	char *value;          /* the access token, or NULL */
	int64_t refresh_at;   /* fetch a new one from this second on */
};

struct intune {
	char *tenant, *client_id, *client_secret, *provider, *proxy, *ca_file;
	char *token_url, *graph_url, *scope[SCOPE_COUNT];
	long timeout_ms;
	X509 *cert;                    /* JWT assertion: the application's certificate */
	EVP_PKEY *key;                 /* and its key */
	char *x5t, *x5c;               /* base64url SHA-1 and base64 DER of cert */
	pthread_mutex_t mu;            /* guards tok[] and service */
	struct token tok[SCOPE_COUNT];
	char *service;                 /* discovered ScepRequestValidationFEService URI */
};


/* --- small helpers ----------------------------------------------------------- */

static void free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* Base64url without padding (RFC 7515 §2). NULL when out of memory. */
static char *b64url(const unsigned char *in, size_t len)
{
	char *s = base64_encode(in, len), *p;

	if (s == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=') {
			*p = '\0';
			break;
		}
	}
	return s;
}

/* A random (version 4) GUID in lower-case 8-4-4-4-12 form into out[37]. */
static int new_guid(char out[37])
{
	unsigned char r[16];
	char h[33];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	hex_encode(r, sizeof(r), h, 0);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
	return 0;
}

/* 1 when host (no brackets) names this machine's loopback interface. */
static int loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/*
 * A base URL from the settings (def when NULL): https://, or http:// with a
 * loopback host; no user information. Returned with a trailing slash.
 */
static char *base_url(const char *name, const char *url, const char *def, char *err,
    size_t errlen)
{
	const char *h, *e;
	char host[256];
	size_t n;
	int https;

	if (url == NULL || url[0] == '\0')
		url = def;
	https = strncmp(url, "https://", 8) == 0;
	if (!https && strncmp(url, "http://", 7) != 0) {
		errorf(err, errlen, "%s \"%s\" is not an https:// URL", name, url);
		return NULL;
	}
	if (strlen(url) > INTUNE_MAX_URL / 2) {
		errorf(err, errlen, "%s is longer than %d characters", name, INTUNE_MAX_URL / 2);
		return NULL;
	}
	h = url + (https ? 8 : 7);
	e = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(e - h)) != NULL || strchr(url, '?') != NULL ||
	    strchr(url, '#') != NULL || e == h) {
		errorf(err, errlen, "%s \"%s\" must be scheme://host[:port][/path] without user, "
		    "query or fragment", name, url);
		return NULL;
	}
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (rb == NULL) {
			errorf(err, errlen, "%s \"%s\": unclosed [ in the host", name, url);
			return NULL;
		}
		h++;
		n = (size_t)(rb - h);
	} else {
		const char *colon = memchr(h, ':', (size_t)(e - h));

		n = (size_t)((colon != NULL ? colon : e) - h);
	}
	if (n == 0 || n >= sizeof(host)) {
		errorf(err, errlen, "%s \"%s\" has no usable host", name, url);
		return NULL;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (!https && !loopback_host(host)) {
		errorf(err, errlen, "%s \"%s\": http:// is accepted only for a loopback address "
		    "(127.0.0.0/8, ::1, localhost); use https://", name, url);
		return NULL;
	}
	return xasprintf("%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/");
}

/* Parses exactly len bytes of JSON text; NULL when they are not one JSON value. */
static json_object *json_parse_exact(const char *p, size_t len)
{
	json_tokener *tok;
	json_object *o = NULL;

	if (p == NULL || len == 0 || len > INTUNE_MAX_ANSWER || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, p, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The string member key of o, or NULL. */
static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Adds a string member (NULL value: JSON null). */
static int json_put(json_object *o, const char *key, const char *value)
{
	json_object *v = NULL;

	if (value != NULL && (v = json_object_new_string(value)) == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The compact text of o, malloc'd; '/' is not escaped. NULL when out of memory. */
static char *json_text(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	return s != NULL ? xstrdup(s) : NULL;
}

/* --- HTTP -------------------------------------------------------------------- */

/*
 * One exchange: GET (body NULL) or POST of body with the given headers, within
 * what is left until deadline (monotonic_millis). 0 with the status and
 * answer, or -1 with a reason when no answer came.
 */
static int exchange(struct intune *in, const char *what, const char *url,
    struct curl_slist *hdr, const char *body, int64_t deadline, struct httpclient_answer *out,
    long *status, char *err, size_t errlen)
{
	CURL *h = NULL;
	char ebuf[CURL_ERROR_SIZE];
	CURLcode rc;
	int64_t left = deadline - monotonic_millis();
	int result = -1;

	memset(out, 0, sizeof(*out));
	*status = 0;
	out->max = INTUNE_MAX_ANSWER;
	if (left <= 0) {
		errorf(err, errlen, "%s: not asked: the check's time (%ld ms) is up", what,
		    in->timeout_ms);
		goto out;
	}
	if ((h = httpclient_new(url, (long)left, in->provider, in->ca_file, ebuf,
	    out)) == NULL) {
		errorf(err, errlen, "%s: libcurl: out of memory or an option refused", what);
		goto out;
	}
	if (curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    (in->proxy != NULL && (curl_easy_setopt(h, CURLOPT_PROXY, in->proxy) != CURLE_OK ||
	    (in->ca_file != NULL &&
	    curl_easy_setopt(h, CURLOPT_PROXY_CAINFO, in->ca_file) != CURLE_OK))) ||
	    (body != NULL && (curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK))) {
		errorf(err, errlen, "%s: libcurl refuses an option", what);
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		if (out->over)
			errorf(err, errlen, "%s: the answer is larger than %d bytes", what,
			    INTUNE_MAX_ANSWER);
		else
			errorf(err, errlen, "%s: %s", what, ebuf[0] != '\0' ? ebuf :
			    curl_easy_strerror(rc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) != CURLE_OK || *status == 0) {
		errorf(err, errlen, "%s: no HTTP status", what);
		goto out;
	}
	result = 0;
out:
	if (result != 0)
		httpclient_answer_clear(out);
	if (h != NULL)
		curl_easy_cleanup(h);
	return result;
}

/* Appends "Name: value" to *list; -1 when out of memory. */
static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	char *line = xasprintf("%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(*list, line);

	OPENSSL_cleanse(line, strlen(line));
	free(line);
	if (n == NULL)
		return -1;
	*list = n;
	return 0;
}

/* The reason an error answer gives: OAuth error / Graph error.code+message. */
static void error_answer(const struct httpclient_answer *b, char *code, size_t codelen, char *msg,
    size_t msglen)
{
	json_object *o = json_parse_exact(b->p, b->len), *e;
	const char *c = NULL, *m = NULL;

	if (o != NULL && json_object_object_get_ex(o, "error", &e)) {
		if (json_object_is_type(e, json_type_object)) {
			c = json_str(e, "code");
			m = json_str(e, "message");
		} else if (json_object_is_type(e, json_type_string)) {
			c = json_object_get_string(e);
			m = json_str(o, "error_description");
		}
	}
	if (code != NULL && codelen > 0)
		snprintf(code, codelen, "%s", c != NULL ? c : "");
	snprintf(msg, msglen, "%s", m != NULL ? m : (c != NULL ? c : "no error detail"));
	json_object_put(o);
}

/* --- tokens ------------------------------------------------------------------- */

/* Base64url of the compact JSON text of o (consumed); NULL when out of memory. */
static char *jwt_part(json_object *o)
{
	char *t = o != NULL ? json_text(o) : NULL, *r = NULL;

	if (t != NULL)
		r = b64url((unsigned char *)t, strlen(t));
	free(t);
	json_object_put(o);
	return r;
}

/* The JOSE header: alg RS256, typ JWT, x5t and x5c of the application's certificate. */
static char *jwt_header(const struct intune *in)
{
	json_object *hd = json_object_new_object(), *x5c = json_object_new_array(), *s = NULL;

	if (hd == NULL || x5c == NULL || (s = json_object_new_string(in->x5c)) == NULL ||
	    json_object_array_add(x5c, s) != 0) {
		json_object_put(s);
		json_object_put(x5c);
		json_object_put(hd);
		return NULL;
	}
	if (json_object_object_add(hd, "x5c", x5c) != 0) {
		json_object_put(x5c);
		json_object_put(hd);
		return NULL;
	}
	if (json_put(hd, "alg", "RS256") != 0 || json_put(hd, "typ", "JWT") != 0 ||
	    json_put(hd, "x5t", in->x5t) != 0) {
		json_object_put(hd);
		return NULL;
	}
	return jwt_part(hd);
}

/* Adds an integer member; -1 when out of memory. */
static int json_put_int(json_object *o, const char *key, int64_t value)
{
	json_object *v = json_object_new_int64(value);

	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The claims: aud = token URL, iss = sub = client id, jti, nbf = iat = now, exp = now + 60. */
static char *jwt_claims(const struct intune *in, const char *jti, int64_t now)
{
	json_object *cl = json_object_new_object();

	if (cl == NULL || json_put(cl, "aud", in->token_url) != 0 ||
	    json_put(cl, "iss", in->client_id) != 0 || json_put(cl, "sub", in->client_id) != 0 ||
	    json_put(cl, "jti", jti) != 0 || json_put_int(cl, "nbf", now) != 0 ||
	    json_put_int(cl, "iat", now) != 0 || json_put_int(cl, "exp", now + 60) != 0) {
		json_object_put(cl);
		return NULL;
	}
	return jwt_part(cl);
}

/*
 * The RS256 JWT client assertion (intune.md §1, as EJBCA sends it): header,
 * claims, and their RS256 signature with the application's key.
 */
static char *jwt_assertion(struct intune *in, char *err, size_t errlen)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *h64 = NULL, *c64 = NULL, *s64 = NULL, *input = NULL, *jwt = NULL;
	char guid[37], ebuf[256];

	if (new_guid(guid) != 0) {
		errorf(err, errlen, "JWT assertion: no random bytes");
		goto out;
	}
	if ((h64 = jwt_header(in)) == NULL || (c64 = jwt_claims(in, guid, now_seconds())) == NULL) {
		errorf(err, errlen, "JWT assertion: out of memory");
		goto out;
	}
	input = xasprintf("%s.%s", h64, c64);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, in->key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input, strlen(input)) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input)) != 1) {
		errorf(err, errlen, "JWT assertion: signing fails: %s", ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((s64 = b64url(sig, siglen)) == NULL) {
		errorf(err, errlen, "JWT assertion: out of memory");
		goto out;
	}
	jwt = xasprintf("%s.%s", input, s64);
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(sig);
	free(h64);
	free(c64);
	free(s64);
	free(input);
	return jwt;
}

/* The form body of a token request; the secret or assertion is wiped by the caller. */
static char *token_form(struct intune *in, enum intune_scope sc, char *err, size_t errlen)
{
	CURL *h = NULL;
	char *id = NULL, *scope = NULL, *cred = NULL, *jwt = NULL, *form = NULL;

	if (in->key != NULL && (jwt = jwt_assertion(in, err, errlen)) == NULL)
		goto out;
	if ((h = curl_easy_init()) == NULL || (id = curl_easy_escape(h, in->client_id, 0)) == NULL ||
	    (scope = curl_easy_escape(h, in->scope[sc], 0)) == NULL ||
	    (cred = curl_easy_escape(h, jwt != NULL ? jwt : in->client_secret, 0)) == NULL) {
		errorf(err, errlen, "token request: out of memory");
		goto out;
	}
	if (jwt != NULL)
		form = xasprintf("grant_type=client_credentials&client_id=%s&scope=%s"
		    "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type"
		    "%%3Ajwt-bearer&client_assertion=%s", id, scope, cred);
	else
		form = xasprintf("grant_type=client_credentials&client_id=%s&scope=%s"
		    "&client_secret=%s", id, scope, cred);
out:
	if (cred != NULL) {
		OPENSSL_cleanse(cred, strlen(cred));
		curl_free(cred);
	}
	curl_free(id);
	curl_free(scope);
	free_secret(jwt);
	if (h != NULL)
		curl_easy_cleanup(h);
	return form;
}

/*
 * The cached token of scope sc, fetched when absent or due (expires_in, at
 * most a day, less 5 minutes, or half of it when it is shorter than 10
 * minutes). Called with
 * in->mu held; returns a pointer into the cache, or NULL with a reason.
 */
static const char *token_locked(struct intune *in, enum intune_scope sc, int64_t deadline,
    char *err, size_t errlen)
{
	struct token *t = &in->tok[sc];
	struct curl_slist *hdr = NULL;
	struct httpclient_answer b = { NULL, 0, 0, 0 };
	json_object *o = NULL, *v;
	char *form = NULL, what[64], code[64], msg[200];
	const char *type, *access, *result = NULL;
	int64_t now = now_seconds(), life = 0;
	long status;

	if (t->value != NULL && now < t->refresh_at)
		return t->value;
	free_secret(t->value);
	t->value = NULL;
	snprintf(what, sizeof(what), "token for %s", sc == SCOPE_GRAPH ? "Graph" : "Intune");
	if ((form = token_form(in, sc, err, errlen)) == NULL)
		goto out;
	if ((hdr = curl_slist_append(NULL,
	    "Content-Type: application/x-www-form-urlencoded")) == NULL ||
	    (hdr = curl_slist_append(hdr, "Accept: application/json")) == NULL) {
		errorf(err, errlen, "%s: out of memory", what);
		goto out;
	}
	if (exchange(in, what, in->token_url, hdr, form, deadline, &b, &status, err, errlen) != 0)
		goto out;
	if (status != 200) {
		error_answer(&b, code, sizeof(code), msg, sizeof(msg));
		errorf(err, errlen, "%s: %s answers HTTP %ld (%s%s%s)", what, in->token_url, status,
		    code, code[0] != '\0' ? ": " : "", msg);
		goto out;
	}
	o = json_parse_exact(b.p, b.len);
	type = json_str(o, "token_type");
	access = json_str(o, "access_token");
	if (o != NULL && json_object_object_get_ex(o, "expires_in", &v) &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_string)))
		life = json_object_get_int64(v);
	if (type == NULL || strcasecmp(type, "Bearer") != 0 || access == NULL ||
	    access[0] == '\0' || strlen(access) > 16384 || strpbrk(access, "\r\n") != NULL ||
	    life <= 0) {
		errorf(err, errlen, "%s: the answer of %s is not a Bearer token with access_token "
		    "and a positive expires_in", what, in->token_url);
		goto out;
	}
	t->value = xstrdup(access);
	if (life > INTUNE_MAX_TOKEN_LIFE)   /* no overflow below; Entra's tokens live about an hour */
		life = INTUNE_MAX_TOKEN_LIFE;
	t->refresh_at = now + (life >= 600 ? life - 300 : life / 2);
	result = t->value;
out:
	json_object_put(o);
	if (b.p != NULL) {
		OPENSSL_cleanse(b.p, b.len);
		free(b.p);
	}
	free_secret(form);
	curl_slist_free_all(hdr);
	return result;
}

/* --- discovery ---------------------------------------------------------------- */

/*
 * The ScepRequestValidationFEService URI from Graph's endpoints of the Intune
 * application (intune.md §2), cached until an Intune call fails. Called with
 * in->mu held; a pointer into the cache or NULL with a reason.
 */
static const char *service_locked(struct intune *in, int64_t deadline, char *err, size_t errlen)
{
	struct curl_slist *hdr = NULL;
	struct httpclient_answer b = { NULL, 0, 0, 0 };
	json_object *o = NULL, *list, *e;
	char *url = NULL, guid[37], code[64], msg[200];
	const char *tok, *name, *uri, *result = NULL;
	size_t i, n;
	long status;

	if (in->service != NULL)
		return in->service;
	if ((tok = token_locked(in, SCOPE_GRAPH, deadline, err, errlen)) == NULL)
		goto out;
	url = xasprintf("%sv1.0/servicePrincipals/appId=%s/endpoints", in->graph_url,
	    INTUNE_APP_ID);
	if (new_guid(guid) != 0) {
		errorf(err, errlen, "Intune discovery: no random bytes");
		goto out;
	}
	{
		char *bearer = xasprintf("Bearer %s", tok);
		int rc = add_header(&hdr, "Authorization", bearer);

		free_secret(bearer);
		if (rc != 0 || add_header(&hdr, "client-request-id", guid) != 0 ||
		    add_header(&hdr, "Accept", "application/json") != 0) {
			errorf(err, errlen, "Intune discovery: out of memory");
			goto out;
		}
	}
	if (exchange(in, "Intune discovery", url, hdr, NULL, deadline, &b, &status, err,
	    errlen) != 0)
		goto out;
	if (status != 200) {
		error_answer(&b, code, sizeof(code), msg, sizeof(msg));
		if (status == 401)   /* the Graph token is no good: fetch another next time */
			free_secret(in->tok[SCOPE_GRAPH].value), in->tok[SCOPE_GRAPH].value = NULL;
		errorf(err, errlen, "Intune discovery: Graph answers HTTP %ld (%s%s%s)%s", status,
		    code, code[0] != '\0' ? ": " : "", msg, status == 403 ?
		    "; does the application have Graph's Application.Read.All permission?" : "");
		goto out;
	}
	if ((o = json_parse_exact(b.p, b.len)) == NULL ||
	    !json_object_object_get_ex(o, "value", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		errorf(err, errlen, "Intune discovery: Graph's answer is not {\"value\": [...]}");
		goto out;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		name = json_str(e, "providerName");
		uri = json_str(e, "uri");
		if (name == NULL || uri == NULL || strcasecmp(name, INTUNE_SERVICE) != 0)
			continue;
		in->service = base_url("the discovered ScepRequestValidationFEService URI", uri,
		    NULL, err, errlen);
		if (in->service != NULL)   /* base_url adds a slash; the calls add their own */
			in->service[strlen(in->service) - 1] = '\0';
		result = in->service;
		goto out;
	}
	errorf(err, errlen, "Intune discovery: Graph lists no ScepRequestValidationFEService "
	    "endpoint; does the application have Intune's scep_challenge_provider permission?");
out:
	json_object_put(o);
	free(b.p);
	free(url);
	curl_slist_free_all(hdr);
	return result;
}

/* --- the three calls ---------------------------------------------------------- */

/* Forgets the discovered URI (and on 401 the Intune token) after a failed call. */
static void forget(struct intune *in, long status)
{
	if (pthread_mutex_lock(&in->mu) != 0)
		return;
	free(in->service);
	in->service = NULL;
	if (status == 401) {
		free_secret(in->tok[SCOPE_INTUNE].value);
		in->tok[SCOPE_INTUNE].value = NULL;
	}
	pthread_mutex_unlock(&in->mu);
}

/*
 * Copies the Intune token and the service URI out of the caches, fetching
 * what is missing before deadline; waiting for the caches (another check
 * fetching them) counts against it too.
 */
static int prepare(struct intune *in, int64_t deadline, char **tok, char **service, char *err,
    size_t errlen)
{
	struct timespec until;
	const char *t, *s;
	int64_t left = deadline - monotonic_millis();
	int result = -1, rc;

	monotonic_deadline(&until, left > 0 ? (long long)left * 1000 : 0);
	if ((rc = pthread_mutex_clocklock(&in->mu, CLOCK_MONOTONIC, &until)) != 0) {
		errorf(err, errlen, rc == ETIMEDOUT ? "Intune: not asked: the check's time (%ld ms) "
		    "ran out waiting for another check fetching tokens or the service address" :
		    "Intune: cannot take the cache lock", in->timeout_ms);
		return -1;
	}
	if ((s = service_locked(in, deadline, err, errlen)) == NULL ||
	    (t = token_locked(in, SCOPE_INTUNE, deadline, err, errlen)) == NULL)
		goto out;
	*tok = xstrdup(t);
	*service = xstrdup(s);
	result = 0;
out:
	pthread_mutex_unlock(&in->mu);
	return result;
}

/*
 * POST {service}/ScepActions/{action} with body (intune.md §3) and reads the
 * answer into out, all (tokens and discovery included) within timeout_ms.
 * 0 when Intune answered, -1 otherwise.
 */
static int call(struct intune *in, const char *action, const char *body,
    struct intune_outcome *out)
{
	struct curl_slist *hdr = NULL;
	struct httpclient_answer b = { NULL, 0, 0, 0 };
	json_object *o = NULL;
	char *tok = NULL, *service = NULL, *url = NULL, *bearer = NULL, guid[37], what[64];
	const char *code, *desc;
	int64_t deadline = monotonic_millis() + in->timeout_ms;
	long status = 0;
	int result = -1;

	snprintf(what, sizeof(what), "Intune %s", action);
	if (prepare(in, deadline, &tok, &service, out->reason, sizeof(out->reason)) != 0)
		goto out;
	url = xasprintf("%s/ScepActions/%s", service, action);
	bearer = xasprintf("Bearer %s", tok);
	if (new_guid(guid) != 0 || add_header(&hdr, "Authorization", bearer) != 0 ||
	    add_header(&hdr, "Content-Type", "application/json") != 0 ||
	    add_header(&hdr, "Accept", "application/json") != 0 ||
	    add_header(&hdr, "client-request-id", guid) != 0 ||
	    add_header(&hdr, "api-version", INTUNE_API_VERSION) != 0) {
		errorf(out->reason, sizeof(out->reason), "%s: no random bytes or memory", what);
		goto out;
	}
	if (exchange(in, what, url, hdr, body, deadline, &b, &status, out->reason,
	    sizeof(out->reason)) != 0) {
		forget(in, 0);
		goto out;
	}
	out->http_status = (int)status;
	if (status != 200) {
		forget(in, status);
		error_answer(&b, out->code, sizeof(out->code), out->reason, sizeof(out->reason));
		result = 0;
		goto out;
	}
	o = json_parse_exact(b.p, b.len);
	if ((code = json_str(o, "code")) == NULL || code[0] == '\0') {
		forget(in, status);
		errorf(out->reason, sizeof(out->reason), "%s: the HTTP 200 answer is not JSON with "
		    "a code", what);
		goto out;
	}
	desc = json_str(o, "errorDescription");
	snprintf(out->code, sizeof(out->code), "%s", code);
	snprintf(out->reason, sizeof(out->reason), "%s", desc != NULL && desc[0] != '\0' ? desc :
	    code);
	out->allowed = strcmp(code, "Success") == 0;
	result = 0;
out:
	json_object_put(o);
	free(b.p);
	free(url);
	free(service);
	free_secret(bearer);
	free_secret(tok);
	curl_slist_free_all(hdr);
	return result;
}

/* The members every body starts with: transactionId, certificateRequest. */
static json_object *body_start(const char *txid, const unsigned char *csr, size_t csr_len,
    json_object **inner, const char *outer, struct intune_outcome *out)
{
	json_object *root = NULL, *o = NULL;
	char *b64 = NULL;

	memset(out, 0, sizeof(*out));
	*inner = NULL;
	if (txid == NULL || txid[0] == '\0' || csr == NULL || csr_len == 0) {
		errorf(out->reason, sizeof(out->reason), "Intune: no transactionID or request");
		return NULL;
	}
	if ((b64 = base64_encode(csr, csr_len)) == NULL ||
	    (root = json_object_new_object()) == NULL || (o = json_object_new_object()) == NULL ||
	    json_put(o, "transactionId", txid) != 0 || json_put(o, "certificateRequest", b64) != 0 ||
	    json_object_object_add(root, outer, o) != 0) {
		errorf(out->reason, sizeof(out->reason), "Intune: out of memory");
		json_object_put(o);
		json_object_put(root);
		free(b64);
		return NULL;
	}
	free(b64);
	*inner = o;
	return root;
}

/* Sends root after adding callerInfo to inner; consumes root. */
static int send_body(struct intune *in, const char *action, json_object *root,
    json_object *inner, struct intune_outcome *out)
{
	char *text = NULL;
	int result = -1;

	if (json_put(inner, "callerInfo", in->provider) != 0 || (text = json_text(root)) == NULL) {
		errorf(out->reason, sizeof(out->reason), "Intune: out of memory");
		goto out;
	}
	result = call(in, action, text, out);
out:
	free(text);
	json_object_put(root);
	return result;
}

int intune_validate(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, struct intune_outcome *out)
{
	json_object *inner, *root = body_start(txid, csr_der, csr_len, &inner, "request", out);

	if (root == NULL)
		return -1;
	return send_body(in, "validateRequest", root, inner, out);
}

/* notAfter as ISO 8601 UTC ("2026-12-06T11:03:14Z") into out[32]. */
static int iso8601(const ASN1_TIME *t, char out[32])
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/* The issuer DN in RFC 2253 form, malloc'd, or NULL. */
static char *issuer_dn(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL, *s = NULL;
	long n;

	if (bio != NULL && X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 && (n = BIO_get_mem_data(bio, &p)) > 0) {
		s = xmalloc((size_t)n + 1);
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}

int intune_notify_success(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, X509 *cert, struct intune_outcome *out)
{
	json_object *inner, *root = body_start(txid, csr_der, csr_len, &inner, "notification", out);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char thumb[2 * EVP_MAX_MD_SIZE + 1], serial[X509UTIL_SERIAL_HEX_MAX], expiry[32], *issuer = NULL;
	int result = -1;

	if (root == NULL)
		return -1;
	if (cert == NULL || X509_digest(cert, EVP_sha1(), md, &mdlen) != 1 ||
	    x509util_cert_serial_hex(cert, serial, sizeof(serial)) != 0 ||
	    iso8601(X509_get0_notAfter(cert), expiry) != 0 || (issuer = issuer_dn(cert)) == NULL) {
		errorf(out->reason, sizeof(out->reason), "Intune successNotification: the "
		    "certificate's thumbprint, serial, expiry or issuer cannot be read");
		json_object_put(root);
		goto out;
	}
	hex_encode(md, mdlen, thumb, 1);
	if (json_put(inner, "certificateThumbprint", thumb) != 0 ||
	    json_put(inner, "certificateSerialNumber", serial) != 0 ||
	    json_put(inner, "certificateExpirationDateUtc", expiry) != 0 ||
	    json_put(inner, "issuingCertificateAuthority", issuer) != 0 ||
	    json_put(inner, "caConfiguration", NULL) != 0 ||
	    json_put(inner, "certificateAuthority", NULL) != 0) {
		errorf(out->reason, sizeof(out->reason), "Intune: out of memory");
		json_object_put(root);
		goto out;
	}
	result = send_body(in, "successNotification", root, inner, out);
out:
	free(issuer);
	return result;
}

int intune_notify_failure(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, int32_t hresult, const char *description, struct intune_outcome *out)
{
	json_object *inner, *root = body_start(txid, csr_der, csr_len, &inner, "notification", out);
	char desc[INTUNE_MAX_DESCRIPTION + 1];
	size_t n;

	if (root == NULL)
		return -1;
	/* Non-empty, at most 255 bytes, cut on a UTF-8 character boundary. */
	snprintf(desc, sizeof(desc), "%s", description != NULL && description[0] != '\0' ?
	    description : "The certificate could not be issued");
	n = strlen(desc);
	if (description != NULL && strlen(description) > n) {
		/* description[n] is the first byte left out: never end inside a character. */
		while (n > 0 && ((unsigned char)description[n] & 0xc0) == 0x80)
			n--;
		desc[n] = '\0';
	}
	if (json_object_object_add(inner, "hResult", json_object_new_int(hresult)) != 0 ||
	    json_put(inner, "errorDescription", desc) != 0) {
		errorf(out->reason, sizeof(out->reason), "Intune: out of memory");
		json_object_put(root);
		return -1;
	}
	return send_body(in, "failureNotification", root, inner, out);
}

/* --- set-up --------------------------------------------------------------------- */

/* Loads the application's certificate and RSA key and their JWT header values. */
static int load_credential(struct intune *in, const struct intune_settings *s, char *err,
    size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	int len;
	char sub[200];

	if ((in->cert = pemfile_cert(s->client_cert_file, sub, sizeof(sub))) == NULL) {
		errorf(err, errlen, "client_certificate: %s", sub);
		return -1;
	}
	if ((in->key = pemfile_key(s->client_key_file, 1, sub, sizeof(sub))) == NULL) {
		errorf(err, errlen, "client_key: %s", sub);
		return -1;
	}
	if (!EVP_PKEY_is_a(in->key, "RSA") || X509_check_private_key(in->cert, in->key) != 1) {
		ERR_clear_error();
		errorf(err, errlen, "client_key %s is not the RSA key of client_certificate %s "
		    "(Entra ID's JWT assertions are RS256)", s->client_key_file, s->client_cert_file);
		return -1;
	}
	if (X509_digest(in->cert, EVP_sha1(), md, &mdlen) != 1 ||
	    (in->x5t = b64url(md, mdlen)) == NULL ||
	    (len = i2d_X509(in->cert, &der)) <= 0 ||
	    (in->x5c = base64_encode(der, (size_t)len)) == NULL) {
		OPENSSL_free(der);
		errorf(err, errlen, "client_certificate %s cannot be encoded", s->client_cert_file);
		return -1;
	}
	OPENSSL_free(der);
	return 0;
}

/* Frees everything but the mutex (intune_new's failures have none yet). */
static void release(struct intune *in)
{
	int i;

	if (in == NULL)
		return;
	for (i = 0; i < SCOPE_COUNT; i++) {
		free_secret(in->tok[i].value);
		free(in->scope[i]);
	}
	free(in->service);
	X509_free(in->cert);
	EVP_PKEY_free(in->key);
	free(in->x5t);
	free(in->x5c);
	free(in->tenant);
	free(in->client_id);
	free_secret(in->client_secret);
	free(in->provider);
	free(in->proxy);
	free(in->ca_file);
	free(in->token_url);
	free(in->graph_url);
	free(in);
}

struct intune *intune_new(const struct intune_settings *s, char *err, size_t errlen)
{
	struct intune *in = NULL, *result = NULL;
	char *authority = NULL, *resource = NULL;
	int curl_up = 0, has_cert;

	has_cert = s->client_cert_file != NULL || s->client_key_file != NULL;
	if (s->tenant == NULL || s->tenant[0] == '\0' || strlen(s->tenant) > 255 ||
	    s->tenant[strspn(s->tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_")] != '\0') {
		errorf(err, errlen, "intune: tenant (a domain or GUID) is required");
		goto out;
	}
	if (s->client_id == NULL || s->client_id[0] == '\0') {
		errorf(err, errlen, "intune: client_id is required");
		goto out;
	}
	if ((s->client_secret != NULL && s->client_secret[0] != '\0') == has_cert) {
		errorf(err, errlen, "intune: set either a client secret or client_certificate "
		    "and client_key, not %s", has_cert ? "both" : "neither");
		goto out;
	}
	if (has_cert && (s->client_cert_file == NULL || s->client_key_file == NULL)) {
		errorf(err, errlen, "intune: client_certificate and client_key go together");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errorf(err, errlen, "intune: libcurl cannot be initialised");
		goto out;
	}
	curl_up = 1;
	in = xcalloc(1, sizeof(*in));
	if ((authority = base_url("authority_url", s->authority_url,
	    "https://login.microsoftonline.com/", err, errlen)) == NULL ||
	    (in->graph_url = base_url("graph_url", s->graph_url, "https://graph.microsoft.com/",
	    err, errlen)) == NULL ||
	    (resource = base_url("intune_resource_url", s->intune_resource_url,
	    "https://api.manage.microsoft.com/", err, errlen)) == NULL)
		goto out;
	if (s->proxy != NULL && s->proxy[0] != '\0' && strncmp(s->proxy, "http://", 7) != 0 &&
	    strncmp(s->proxy, "https://", 8) != 0) {
		errorf(err, errlen, "intune: proxy must be an http:// or https:// URL");
		goto out;
	}
	in->tenant = xstrdup(s->tenant);
	in->client_id = xstrdup(s->client_id);
	in->client_secret = has_cert ? NULL : xstrdup(s->client_secret);
	in->provider = s->provider != NULL && s->provider[0] != '\0' ? xstrdup(s->provider) :
	    xstrdup("scepd/" SCEPD_VERSION);
	in->proxy = s->proxy != NULL && s->proxy[0] != '\0' ? xstrdup(s->proxy) : NULL;
	in->ca_file = s->ca_file != NULL && s->ca_file[0] != '\0' ? xstrdup(s->ca_file) : NULL;
	in->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 30000;
	in->token_url = xasprintf("%s%s/oauth2/v2.0/token", authority, in->tenant);
	/* Scopes as the library builds them: Graph's ".default", Intune's "/.default". */
	in->scope[SCOPE_GRAPH] = xasprintf("%s.default", in->graph_url);
	in->scope[SCOPE_INTUNE] = xasprintf("%s/.default", resource);
	if (has_cert && load_credential(in, s, err, errlen) != 0)
		goto out;
	if (pthread_mutex_init(&in->mu, NULL) != 0) {
		errorf(err, errlen, "intune: out of resources");
		goto out;
	}
	result = in;
	in = NULL;
out:
	free(authority);
	free(resource);
	release(in);
	if (result == NULL && curl_up)
		curl_global_cleanup();
	return result;
}

void intune_free(struct intune *in)
{
	if (in == NULL)
		return;
	pthread_mutex_destroy(&in->mu);
	release(in);
	curl_global_cleanup();
}
