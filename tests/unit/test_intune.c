/* SPDX-License-Identifier: ISC */
/*
 * test_intune.c: src/intune.c against the Intune stand-in
 * (tests/integration/helpers/intune_standin.py, started here on a free
 * loopback port): settings refused, token fetch, cache and refresh, discovery,
 * cache and re-discovery after a failed call, every validateRequest code, the
 * faults (401, 403, missing entry, 500, slow reply, unknown code, not JSON),
 * the notification bodies as the stand-in checks them, the JWT assertion,
 * and concurrent callers. Skipped (with the reason) without python3 and
 * python3-cryptography.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "base64.h"
#include "intune.h"
#include "util.h"

#define TENANT "contoso.onmicrosoft.com"
#define CLIENT_ID "11111111-2222-3333-4444-555555555555"
#define SECRET "Xy7~s3cret-value_never-logged"
#define PROVIDER "scepd-test/1.0"
#define GOOD_Q "subject=CN%3Ddev1&sans=dns:dev1.example&ku=digitalSignature,keyEncipherment" \
	"&eku=1.3.6.1.5.5.7.3.2&minkey=2048"

static char base[64], dir[128];
static const char *get_ca;      /* trust anchor of an https:// stand-in */
static pid_t standin = -1;
static EVP_PKEY *key2048, *key1024;

/* --- the stand-in ------------------------------------------------------------ */

struct body {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t size, size_t n, void *arg)
{
	struct body *b = arg;

	b->p = xrealloc(b->p, b->len + size * n + 1);
	memcpy(b->p + b->len, d, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

/* GET base + path; the answer's body (malloc'd) or NULL. */
static char *get(const char *path)
{
	CURL *h = curl_easy_init();
	struct body b = { NULL, 0 };
	char *url = xasprintf("%s%s", base, path);
	long status = 0;

	if (h == NULL || curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L) != CURLE_OK ||
	    (get_ca != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, get_ca) != CURLE_OK) ||
	    curl_easy_perform(h) != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
		free(b.p);
		b.p = NULL;
	}
	if (h != NULL)
		curl_easy_cleanup(h);
	free(url);
	return b.p;
}

/* POSTs body to base + path with the given headers; the HTTP status or -1. */
static long post(const char *path, const char *const *headers, const char *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *l = NULL;
	struct body b = { NULL, 0 };
	char *url = xasprintf("%s%s", base, path);
	long status = -1;

	for (; *headers != NULL; headers++)
		l = curl_slist_append(l, *headers);
	if (h != NULL && curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) == CURLE_OK &&
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L) == CURLE_OK && curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(l);
	free(b.p);
	free(url);
	return status;
}

static void get_ok(const char *path)
{
	char *r = get(path);

	if (r == NULL)
		printf("# stand-in switch %s failed\n", path);
	free(r);
}

/* The stand-in's call log as JSON (caller puts it). */
static json_object *calls(void)
{
	char *t = get("/_test/calls");
	json_object *o = t != NULL ? json_tokener_parse(t) : NULL;

	free(t);
	return o;
}

/* How many logged calls of this kind (and grant/kind when not NULL). */
static int count(const char *call, const char *field, const char *value)
{
	json_object *l = calls(), *e, *v;
	size_t i;
	int n = 0;

	for (i = 0; l != NULL && i < json_object_array_length(l); i++) {
		e = json_object_array_get_idx(l, i);
		if (!json_object_object_get_ex(e, "call", &v) ||
		    strcmp(json_object_get_string(v), call) != 0)
			continue;
		if (field != NULL && (!json_object_object_get_ex(e, field, &v) ||
		    strcmp(json_object_get_string(v), value) != 0))
			continue;
		n++;
	}
	json_object_put(l);
	return n;
}

/* The last logged call of this kind (caller puts it), or NULL. */
static json_object *last(const char *call)
{
	json_object *l = calls(), *e, *v, *r = NULL;
	size_t i;

	for (i = 0; l != NULL && i < json_object_array_length(l); i++) {
		e = json_object_array_get_idx(l, i);
		if (json_object_object_get_ex(e, "call", &v) &&
		    strcmp(json_object_get_string(v), call) == 0)
			r = e;
	}
	if (r != NULL)
		json_object_get(r);
	json_object_put(l);
	return r;
}

/* A string at a dotted path of o ("body.request.transactionId"), or "". */
static const char *at(json_object *o, const char *path)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); o != NULL && tok != NULL;
	    tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, tok, &o))
			o = NULL;
	return o != NULL && json_object_get_string(o) != NULL ? json_object_get_string(o) : "";
}

/*
 * Starts a helper (argv[0] is a script under tests/integration/helpers) that
 * prints its port first; the port, or -1.
 */
static int spawn(char *const argv[], pid_t *pid)
{
	int fd[2], port;
	char line[32];
	FILE *f;

	if (pipe(fd) != 0 || (*pid = fork()) < 0)
		return -1;
	if (*pid == 0) {
		const char *top = getenv("SCEPD_TOP");
		char *script = xasprintf("%s/tests/integration/helpers/%s",
		    top != NULL ? top : ".", argv[0]);
		char *args[24];
		int i;

		args[0] = "python3";
		args[1] = script;
		for (i = 1; argv[i] != NULL && i < 22; i++)
			args[i + 1] = argv[i];
		args[i + 1] = NULL;
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execvp("python3", args);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	port = f != NULL && fgets(line, sizeof(line), f) != NULL ? atoi(line) : -1;
	if (f != NULL)
		fclose(f);
	return port > 0 ? port : -1;
}

static int start_standin(const char *secret_file, const char *cert_file)
{
	char *argv[] = { "intune_standin.py", "--tenant", TENANT, "--client-id", CLIENT_ID,
	    "--client-secret-file", (char *)secret_file, "--client-cert", (char *)cert_file, NULL };
	int port = spawn(argv, &standin);

	if (port < 0)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	return 0;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* --- certificates and requests ---------------------------------------------------- */

static int add_ext(STACK_OF(X509_EXTENSION) *sk, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	return e != NULL && sk_X509_EXTENSION_push(sk, e) > 0 ? 0 : -1;
}

/* A PKCS#10 request; NULL members are left out. DER, malloc'd. */
static unsigned char *make_csr(EVP_PKEY *key, const char *cn, const char *challenge,
    const char *san, const char *ku, const char *eku, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL, *p;
	int n;

	*len = 0;
	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0);
	if (challenge != NULL)
		X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword, MBSTRING_UTF8,
		    (const unsigned char *)challenge, -1);
	if (san != NULL)
		add_ext(sk, NID_subject_alt_name, san);
	if (ku != NULL)
		add_ext(sk, NID_key_usage, ku);
	if (eku != NULL)
		add_ext(sk, NID_ext_key_usage, eku);
	if (sk_X509_EXTENSION_num(sk) > 0)
		X509_REQ_add_extensions(r, sk);
	if (X509_REQ_set_pubkey(r, key) == 1 && X509_REQ_sign(r, key, EVP_sha256()) > 0 &&
	    (n = i2d_X509_REQ(r, NULL)) > 0) {
		der = p = xmalloc((size_t)n);
		i2d_X509_REQ(r, &p);
		*len = (size_t)n;
	}
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	X509_REQ_free(r);
	return der;
}

/* A certificate for key with the given issuer CN (signed by key itself). */
static X509 *make_cert(EVP_PKEY *key, const char *subject_cn, const char *issuer_cn)
{
	X509 *x = X509_new();
	X509_NAME *in = X509_get_issuer_name(x);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1A2B3C4DL);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	X509_NAME_add_entry_by_txt(in, "O", MBSTRING_UTF8, (const unsigned char *)"scepd", -1, -1, 0);
	X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_UTF8, (const unsigned char *)issuer_cn, -1,
	    -1, 0);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
	    (const unsigned char *)subject_cn, -1, -1, 0);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	return x;
}

/* A self-signed server certificate for 127.0.0.1 (the TLS stand-in's and its anchor). */
static X509 *make_server_cert(EVP_PKEY *key)
{
	X509 *x = make_cert(key, "127.0.0.1", "127.0.0.1");
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1")) != NULL)
		X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, key, EVP_sha256());
	return x;
}

static int write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = x != NULL ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(path, 0600);
	return rc == 1 ? 0 : -1;
}

/* --- helpers over the client ------------------------------------------------------- */

static struct intune_settings settings(void)
{
	static char url[80];
	struct intune_settings s;

	memset(&s, 0, sizeof(s));
	snprintf(url, sizeof(url), "%s/", base);
	s.tenant = TENANT;
	s.client_id = CLIENT_ID;
	s.client_secret = SECRET;
	s.authority_url = url;
	s.graph_url = url;
	s.provider = PROVIDER;
	s.timeout_ms = 20000;
	return s;
}

/* Mints a challenge with query q and validates a request (built by the caller's args). */
static int validate_with(struct intune *in, const char *txid, const char *q, EVP_PKEY *key,
    const char *cn, const char *san, const char *ku, const char *eku,
    struct intune_outcome *out)
{
	char *path = xasprintf("/_test/mint?%s", q), *ch = get(path);
	unsigned char *csr;
	size_t len;
	int rc;

	csr = make_csr(key, cn, ch, san, ku, eku, &len);
	rc = intune_validate(in, txid, csr, len, out);
	free(csr);
	free(ch);
	free(path);
	return rc;
}

static int validate_good(struct intune *in, const char *txid, struct intune_outcome *out)
{
	return validate_with(in, txid, GOOD_Q, key2048, "dev1", "DNS:dev1.example",
	    "digitalSignature,keyEncipherment", "clientAuth", out);
}

/* --- the tests ------------------------------------------------------------------------- */

static void test_settings(void)
{
	struct intune_settings s = settings();
	struct intune *in;
	char err[256];

	s.authority_url = "http://login.example.com/";
	in = intune_new(&s, err, sizeof(err));
	ok(in == NULL && strstr(err, "loopback") != NULL, "http:// for a non-loopback host "
	    "refused: %s", err);
	intune_free(in);
	s.authority_url = "http://10.1.2.3:8080/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "http:// 10.1.2.3 refused");
	intune_free(in);
	s.authority_url = "http://127.0.0.1.evil.example/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "http:// 127.0.0.1.evil.example "
	    "refused");
	intune_free(in);
	s.authority_url = "http://user@127.0.0.1/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "user information refused");
	intune_free(in);
	s.authority_url = "ftp://127.0.0.1/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "ftp:// refused");
	intune_free(in);
	s = settings();
	s.graph_url = "http://graph.example/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL && strstr(err, "graph_url"),
	    "graph_url checked too: %s", err);
	intune_free(in);
	s = settings();
	s.intune_resource_url = "http://api.example/";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "intune_resource_url checked too");
	intune_free(in);
	s = settings();
	s.authority_url = "http://[::1]:9/";
	ok((in = intune_new(&s, err, sizeof(err))) != NULL, "http://[::1] accepted");
	intune_free(in);
	s.authority_url = s.graph_url = NULL;
	ok((in = intune_new(&s, err, sizeof(err))) != NULL, "Microsoft's defaults accepted");
	intune_free(in);
	s = settings();
	s.client_secret = NULL;
	ok((in = intune_new(&s, err, sizeof(err))) == NULL && strstr(err, "neither"),
	    "no secret and no certificate refused: %s", err);
	intune_free(in);
	s = settings();
	s.tenant = NULL;
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "no tenant refused");
	intune_free(in);
	s.tenant = "contoso.onmicrosoft.com/../other";
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "a tenant that is not a name or "
	    "GUID refused");
	intune_free(in);
}

static void test_validate_and_cache(void)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	json_object *e;
	unsigned char *csr;
	size_t len;
	char err[256], *b64, first_id[64];

	get_ok("/_test/calls?clear=1");
	in = intune_new(&s, err, sizeof(err));
	if (!ok(in != NULL, "client made: %s", in ? "" : err))
		return;
	is_int(validate_good(in, "0123456789ABCDEF0123456789ABCDEF01234567", &out), 0,
	    "validateRequest answered");
	ok(out.allowed == 1 && out.http_status == 200, "a good challenge is allowed (%d %s: %s)",
	    out.http_status, out.code, out.reason);
	is_str(out.code, "Success", "code Success");
	is_int(count("token", "kind", "graph"), 1, "one Graph token fetched");
	is_int(count("token", "kind", "intune"), 1, "one Intune token fetched");
	is_int(count("token", "grant", "secret"), 2, "both with the client secret");
	is_int(count("discovery", NULL, NULL), 1, "one discovery");
	e = last("validateRequest");
	is_str(at(e, "api-version"), "2018-02-20", "api-version header");
	is_str(at(e, "content-type"), "application/json", "Content-Type application/json");
	is_str(at(e, "body.request.transactionId"), "0123456789ABCDEF0123456789ABCDEF01234567",
	    "transactionId in the body");
	is_str(at(e, "body.request.callerInfo"), PROVIDER, "callerInfo is the provider");
	snprintf(first_id, sizeof(first_id), "%s", at(e, "client-request-id"));
	json_object_put(e);

	/* The same request again: cached tokens and address, a new client-request-id. */
	csr = make_csr(key2048, "dev1", "irrelevant", NULL, NULL, NULL, &len);
	b64 = base64_encode(csr, len);
	is_int(intune_validate(in, "tx-2", csr, len, &out), 0, "second call answered");
	is_str(out.code, "ChallengeDecodingError", "a challenge that is not base64: "
	    "ChallengeDecodingError");
	ok(!out.allowed, "and not allowed");
	is_int(count("token", NULL, NULL), 2, "no new token (cached)");
	is_int(count("discovery", NULL, NULL), 1, "no new discovery (cached)");
	e = last("validateRequest");
	is_str(at(e, "body.request.certificateRequest"), b64, "certificateRequest is one-line "
	    "standard base64 of the CSR DER");
	ok(strcmp(at(e, "client-request-id"), first_id) != 0 && strlen(first_id) == 36,
	    "a fresh client-request-id GUID per call");
	json_object_put(e);
	free(b64);
	free(csr);
	intune_free(in);
}

static void test_codes(void)
{
	static const struct {
		const char *name, *q, *cn, *san, *ku, *eku, *code;
		int small_key;
	} c[] = {
		{ "no challenge", NULL, "dev1", NULL, NULL, NULL, "ChallengePasswordMissing", 0 },
		{ "bad signature", GOOD_Q "&tamper=1", "dev1", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "SignatureValidationFailed", 0 },
		{ "other tenant", GOOD_Q "&tenant=fabrikam.onmicrosoft.com", "dev1",
		  "DNS:dev1.example", "digitalSignature,keyEncipherment", "clientAuth",
		  "BadTenantIdInChallenge", 0 },
		{ "created in the future", GOOD_Q "&created=3600", "dev1", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "ChallengeInvalidTimestamp", 0 },
		{ "older than 60 minutes", GOOD_Q "&created=-3601", "dev1", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "ChallengeExpired", 0 },
		{ "no subject", GOOD_Q, NULL, "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "SubjectNameMissing", 0 },
		{ "other subject", GOOD_Q, "dev2", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "SubjectNameMismatch", 0 },
		{ "no SAN", GOOD_Q, "dev1", NULL, "digitalSignature,keyEncipherment", "clientAuth",
		  "SubjectAltNameMissing", 0 },
		{ "other SAN", GOOD_Q, "dev1", "DNS:evil.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "SubjectAltNameMismatch", 0 },
		{ "other key usage", GOOD_Q, "dev1", "DNS:dev1.example", "digitalSignature",
		  "clientAuth", "KeyUsageMismatch", 0 },
		{ "1024-bit key", GOOD_Q, "dev1", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "clientAuth", "KeyLengthMismatch", 1 },
		{ "no EKU", GOOD_Q, "dev1", "DNS:dev1.example", "digitalSignature,keyEncipherment",
		  NULL, "EnhancedKeyUsageMissing", 0 },
		{ "other EKU", GOOD_Q, "dev1", "DNS:dev1.example",
		  "digitalSignature,keyEncipherment", "serverAuth", "EnhancedKeyUsageMismatch", 0 },
	};
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	unsigned char *csr;
	size_t i, len;
	char err[256], *t;
	int rc;

	if ((in = intune_new(&s, err, sizeof(err))) == NULL)
		return;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (c[i].q == NULL) {
			csr = make_csr(key2048, c[i].cn, NULL, NULL, NULL, NULL, &len);
			rc = intune_validate(in, "tx-codes", csr, len, &out);
			free(csr);
		} else {
			rc = validate_with(in, "tx-codes", c[i].q, c[i].small_key ? key1024 : key2048,
			    c[i].cn, c[i].san, c[i].ku, c[i].eku, &out);
		}
		ok(rc == 0 && !out.allowed && out.http_status == 200 &&
		    strcmp(out.code, c[i].code) == 0, "%s: %s, not allowed (got %d %s)", c[i].name,
		    c[i].code, rc, out.code);
	}
	rc = intune_validate(in, "tx-codes", (const unsigned char *)"not a CSR", 9, &out);
	ok(rc == 0 && !out.allowed && strcmp(out.code, "CertificateRequestDecodingFailed") == 0,
	    "not a CSR: CertificateRequestDecodingFailed (got %s)", out.code);
	t = base64_encode((const unsigned char *)"{}", 2);
	csr = make_csr(key2048, "dev1", t, NULL, NULL, NULL, &len);
	rc = intune_validate(in, "tx-codes", csr, len, &out);
	ok(rc == 0 && !out.allowed && strcmp(out.code, "ChallengeDeserializationError") == 0,
	    "base64 of something else: ChallengeDeserializationError (got %s)", out.code);
	free(csr);
	free(t);
	get_ok("/_test/config?targeted=0");
	rc = validate_good(in, "tx-codes", &out);
	ok(rc == 0 && !out.allowed &&
	    strcmp(out.code, "ScepProfileNoLongerTargetedToTheClient") == 0,
	    "profile no longer targeted: ScepProfileNoLongerTargetedToTheClient (got %s)", out.code);
	get_ok("/_test/config?targeted=1");
	rc = validate_good(in, "tx-codes", &out);
	ok(rc == 0 && out.allowed, "targeted again: allowed");

	/* The stand-in's single-use switch: the same challenge twice. */
	get_ok("/_test/config?single_use=1");
	t = get("/_test/mint?" GOOD_Q);
	csr = make_csr(key2048, "dev1", t, "DNS:dev1.example", "digitalSignature,keyEncipherment",
	    "clientAuth", &len);
	rc = intune_validate(in, "tx-once-1", csr, len, &out);
	ok(rc == 0 && out.allowed, "single use: first use allowed");
	rc = intune_validate(in, "tx-once-2", csr, len, &out);
	ok(rc == 0 && !out.allowed && strcmp(out.code, "ChallengeExpired") == 0,
	    "single use: second use refused (%s)", out.code);
	get_ok("/_test/config?single_use=0");
	free(csr);
	free(t);
	intune_free(in);
}

static void test_faults(void)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in, *slow;
	char err[256];
	int d, rc;
	time_t t0;
	int64_t ms;

	if ((in = intune_new(&s, err, sizeof(err))) == NULL)
		return;
	validate_good(in, "tx-f0", &out);
	get_ok("/_test/calls?clear=1");
	get_ok("/_test/fault?name=unknown_code&count=1");
	rc = validate_good(in, "tx-f1", &out);
	ok(rc == 0 && !out.allowed && strcmp(out.code, "SomeFutureErrorCode") == 0,
	    "an unknown code is not allowed (%s)", out.code);

	get_ok("/_test/fault?name=500&count=1");
	rc = validate_good(in, "tx-f2", &out);
	ok(rc == 0 && !out.allowed && out.http_status == 500 &&
	    strcmp(out.code, "InternalError") == 0, "HTTP 500: not allowed, code InternalError "
	    "(%d %s)", out.http_status, out.code);
	is_int(count("discovery", NULL, NULL), 0, "no discovery before the failed call");
	rc = validate_good(in, "tx-f3", &out);
	ok(rc == 0 && out.allowed, "the next call succeeds");
	is_int(count("discovery", NULL, NULL), 1, "after the failed call: discovery again");

	get_ok("/_test/fault?name=badjson&count=1");
	rc = validate_good(in, "tx-f4", &out);
	ok(rc == -1 && !out.allowed && strstr(out.reason, "not JSON") != NULL,
	    "HTTP 200 that is not JSON: -1, not allowed (%s)", out.reason);

	validate_good(in, "tx-f4b", &out);     /* the address is cached again */
	get_ok("/_test/config?move=1");
	rc = validate_good(in, "tx-f5", &out);
	ok(rc == 0 && !out.allowed && out.http_status == 404, "the service moved: HTTP 404, "
	    "not allowed");
	d = count("discovery", NULL, NULL);
	rc = validate_good(in, "tx-f6", &out);
	ok(rc == 0 && out.allowed, "next call: found at the new address and allowed");
	is_int(count("discovery", NULL, NULL), d + 1, "by a new discovery");
	get_ok("/_test/config?move=1");
	validate_good(in, "tx-f6b", &out);

	s.timeout_ms = 3000;
	slow = intune_new(&s, err, sizeof(err));
	validate_good(slow, "tx-f7", &out);     /* tokens and address cached */
	get_ok("/_test/fault?name=slow&delay=10&count=1");
	t0 = time(NULL);
	rc = validate_good(slow, "tx-f8", &out);
	ok(rc == -1 && !out.allowed && time(NULL) - t0 < 10, "a slow reply: -1 after the time-out, "
	    "not allowed (%s)", out.reason);
	intune_free(slow);

	/*
	 * validators.timeout bounds the whole check: with cold caches it is two
	 * tokens, a discovery and the call, here 2 x 1.8 s of tokens against 2 s:
	 * over 3.6 s when each exchange has its own time-out, 2 s with one for all
	 * (the bound leaves a second for a loaded machine).
	 */
	s.timeout_ms = 2000;
	slow = intune_new(&s, err, sizeof(err));
	get_ok("/_test/fault?name=slow&call=token&delay=1.8&count=2");
	ms = monotonic_millis();
	rc = validate_good(slow, "tx-f8b", &out);
	ms = monotonic_millis() - ms;
	ok(rc == -1 && !out.allowed && ms < 3000, "cold caches, slow tokens: the check ends at "
	    "its time-out, not after each exchange's (%lld ms: %s)", (long long)ms, out.reason);
	/* The stand-in still answers the token request given up on: let it, so that its
	 * call is not logged into a later test's counts. */
	usleep(2000000);
	get_ok("/_test/fault?clear=1");
	intune_free(slow);
	intune_free(in);

	/* Token and discovery failures: fresh clients, so nothing is cached. */
	get_ok("/_test/fault?name=token401&count=1");
	in = intune_new(&s, err, sizeof(err));
	rc = validate_good(in, "tx-f9", &out);
	ok(rc == -1 && !out.allowed && strstr(out.reason, "invalid_client") != NULL &&
	    strstr(out.reason, "401") != NULL, "token 401: -1, not allowed (%s)", out.reason);
	ok(strstr(out.reason, SECRET) == NULL, "the secret is not in the reason");
	rc = validate_good(in, "tx-f10", &out);
	ok(rc == 0 && out.allowed, "next call gets a token and is allowed");
	intune_free(in);

	get_ok("/_test/fault?name=discovery403&count=1");
	in = intune_new(&s, err, sizeof(err));
	rc = validate_good(in, "tx-f11", &out);
	ok(rc == -1 && !out.allowed && strstr(out.reason, "Authorization_RequestDenied") != NULL,
	    "discovery 403: -1, not allowed (%s)", out.reason);
	get_ok("/_test/fault?name=missing_entry&count=1");
	rc = validate_good(in, "tx-f12", &out);
	ok(rc == -1 && !out.allowed && strstr(out.reason, "no ScepRequestValidationFEService"),
	    "no ScepRequestValidationFEService in the list: -1 (%s)", out.reason);
	rc = validate_good(in, "tx-f13", &out);
	ok(rc == 0 && out.allowed, "then discovery works again");
	intune_free(in);
}

static void test_refresh(void)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	char err[256];
	int n;
	time_t t0;

	get_ok("/_test/config?expires_in=6");
	in = intune_new(&s, err, sizeof(err));
	validate_good(in, "tx-r1", &out);
	n = count("token", "kind", "intune");
	ok(out.allowed, "tokens that live 6 s: first call allowed");
	/* Wait until the stand-in would refuse the first tokens (it checks exp). */
	t0 = time(NULL);
	while (time(NULL) - t0 < 7)
		usleep(200000);
	validate_good(in, "tx-r2", &out);
	ok(out.allowed, "after they expired: allowed (%d %s)", out.http_status, out.reason);
	is_int(count("token", "kind", "intune"), n + 1, "with a new Intune token");
	intune_free(in);

	/* An absurd expires_in (near INT64_MAX) is no reason to ask for a token each time. */
	get_ok("/_test/config?expires_in=9223372036854775000");
	in = intune_new(&s, err, sizeof(err));
	validate_good(in, "tx-r3", &out);
	n = count("token", NULL, NULL);
	validate_good(in, "tx-r4", &out);
	ok(out.allowed, "expires_in near INT64_MAX: allowed (%s)", out.reason);
	is_int(count("token", NULL, NULL), n, "and the cached tokens are used again");
	intune_free(in);
	get_ok("/_test/config?expires_in=120");
}

static void test_notifications(void)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	json_object *e;
	unsigned char *csr, md[20];
	unsigned int mdlen;
	size_t len;
	char err[256], *ch, thumb[41], desc[400];
	X509 *cert;
	int rc;

	in = intune_new(&s, err, sizeof(err));
	ch = get("/_test/mint?" GOOD_Q);
	csr = make_csr(key2048, "dev1", ch, "DNS:dev1.example", "digitalSignature,keyEncipherment",
	    "clientAuth", &len);
	rc = intune_validate(in, "tx-n1", csr, len, &out);
	ok(rc == 0 && out.allowed, "validated tx-n1");
	cert = make_cert(key2048, "dev1", "Test Issuing CA");
	rc = intune_notify_success(in, "tx-n1", csr, len, cert, &out);
	ok(rc == 0 && out.allowed, "successNotification accepted (%s %s)", out.code, out.reason);
	e = last("successNotification");
	X509_digest(cert, EVP_sha1(), md, &mdlen);
	hex_encode(md, 20, thumb, 1);
	is_str(at(e, "body.notification.certificateThumbprint"), thumb, "thumbprint = upper-case "
	    "hex SHA-1 of the certificate");
	is_str(at(e, "body.notification.certificateSerialNumber"), "1A2B3C4D", "serial upper hex");
	ok(strlen(at(e, "body.notification.certificateExpirationDateUtc")) == 20,
	    "expiry ISO 8601 UTC: %s", at(e, "body.notification.certificateExpirationDateUtc"));
	is_str(at(e, "body.notification.issuingCertificateAuthority"), "CN=Test Issuing CA,O=scepd",
	    "issuer DN");
	is_str(at(e, "body.notification.transactionId"), "tx-n1", "same transactionId");
	json_object_put(e);

	rc = intune_notify_success(in, "tx-never-validated", csr, len, cert, &out);
	ok(rc == 0 && !out.allowed, "successNotification for an unvalidated transaction is "
	    "refused (%s)", out.code);

	memset(desc, 'e', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	rc = intune_notify_failure(in, "tx-n1", csr, len, (int32_t)0x80094800u, desc, &out);
	ok(rc == 0 && out.allowed, "failureNotification accepted (%s %s)", out.code, out.reason);
	e = last("failureNotification");
	is_str(at(e, "body.notification.hResult"), "-2146875392", "hResult a JSON integer "
	    "(0x80094800)");
	is_int(strlen(at(e, "body.notification.errorDescription")), 255, "errorDescription cut "
	    "to 255");
	json_object_put(e);
	/* 254 ASCII bytes, then a 2-byte character across the 255-byte limit. */
	memset(desc, 'u', 254);
	snprintf(desc + 254, sizeof(desc) - 254, "\xc3\xa9 and more");
	rc = intune_notify_failure(in, "tx-n1", csr, len, -1, desc, &out);
	ok(rc == 0 && out.allowed, "a long UTF-8 description is cut between characters (%s %s)",
	    out.code, out.reason);
	e = last("failureNotification");
	is_int(strlen(at(e, "body.notification.errorDescription")), 254, "cut before the "
	    "character that does not fit");
	json_object_put(e);
	rc = intune_notify_failure(in, "tx-n1", csr, len, -2147418113, "", &out);
	ok(rc == 0 && out.allowed, "an empty description is replaced by a non-empty one");
	X509_free(cert);
	free(csr);
	free(ch);
	intune_free(in);
}

static void test_jwt(const char *cert_file, const char *key_file, const char *other_cert,
    const char *other_key)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	char err[256];
	int rc;

	s.client_secret = NULL;
	s.client_cert_file = cert_file;
	s.client_key_file = key_file;
	get_ok("/_test/calls?clear=1");
	in = intune_new(&s, err, sizeof(err));
	if (!ok(in != NULL, "client with a certificate made (%s)", in ? "" : err))
		return;
	rc = validate_good(in, "tx-j1", &out);
	ok(rc == 0 && out.allowed, "JWT assertion: validated (%s)", out.reason);
	is_int(count("token", "grant", "assertion"), 2, "both tokens by client assertion");
	intune_free(in);

	s.client_cert_file = other_cert;
	s.client_key_file = other_key;
	in = intune_new(&s, err, sizeof(err));
	rc = validate_good(in, "tx-j2", &out);
	ok(rc == -1 && !out.allowed && strstr(out.reason, "invalid_client") != NULL,
	    "a certificate Entra does not know: -1 (%s)", out.reason);
	intune_free(in);

	s.client_cert_file = cert_file;
	s.client_key_file = other_key;
	ok((in = intune_new(&s, err, sizeof(err))) == NULL, "a key that is not the "
	    "certificate's refused: %s", err);
	intune_free(in);
}

/* https:// with ca_file, and through an HTTPS (CONNECT) proxy. */
static void test_tls_proxy(const char *secret_file, const char *cert_file, EVP_PKEY *tls_key)
{
	struct intune_settings s = settings();
	struct intune_outcome out;
	struct intune *in;
	X509 *tls = make_server_cert(tls_key);
	char *tls_cert = xasprintf("%s/tls.pem", dir), *tls_keyf = xasprintf("%s/tls.key", dir);
	char *plog = xasprintf("%s/proxy.log", dir), tbase[64], url[80], err[256], *saved, *t;
	char *argv[] = { "intune_standin.py", "--tenant", TENANT, "--client-id", CLIENT_ID,
	    "--client-secret-file", (char *)secret_file, "--client-cert", (char *)cert_file,
	    "--tls-cert", tls_cert, "--tls-key", tls_keyf, NULL };
	char *pargv[] = { "connect_proxy.py", plog, NULL };
	pid_t tpid = -1, ppid = -1;
	int port, pport;
	size_t len;

	if (write_pem(tls_cert, tls, NULL) != 0 || write_pem(tls_keyf, NULL, tls_key) != 0 ||
	    (port = spawn(argv, &tpid)) < 0 || (pport = spawn(pargv, &ppid)) < 0) {
		ok(0, "TLS stand-in and proxy started");
		goto out;
	}
	snprintf(tbase, sizeof(tbase), "https://127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "%s/", tbase);
	/* The test switches go to the TLS stand-in through the same helpers. */
	saved = xstrdup(base);
	snprintf(base, sizeof(base), "%s", tbase);
	get_ca = tls_cert;
	s.authority_url = s.graph_url = url;

	in = intune_new(&s, err, sizeof(err));
	ok(validate_good(in, "tx-tls1", &out) == -1 && !out.allowed, "https:// without the "
	    "stand-in's anchor: -1 (%s)", out.reason);
	intune_free(in);

	s.ca_file = tls_cert;
	in = intune_new(&s, err, sizeof(err));
	ok(validate_good(in, "tx-tls2", &out) == 0 && out.allowed, "https:// with ca_file: "
	    "allowed (%s)", out.reason);
	intune_free(in);

	t = xasprintf("http://127.0.0.1:%d", pport);
	s.proxy = t;
	in = intune_new(&s, err, sizeof(err));
	ok(validate_good(in, "tx-tls3", &out) == 0 && out.allowed, "through the proxy: "
	    "allowed (%s)", out.reason);
	intune_free(in);
	{
		char *want = xasprintf("CONNECT 127.0.0.1:%d", port);
		unsigned char *log = read_file(plog, 65536, &len);

		ok(log != NULL && strstr((char *)log, want) != NULL, "the proxy tunnelled to the "
		    "stand-in");
		free(log);
		free(want);
	}
	free(t);
	snprintf(base, sizeof(base), "%s", saved);
	get_ca = NULL;
	free(saved);
out:
	stop(tpid);
	stop(ppid);
	X509_free(tls);
	free(tls_cert);
	free(tls_keyf);
	free(plog);
}

struct worker {
	struct intune *in;
	int allowed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct intune_outcome out;
	char tx[32];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(tx, sizeof(tx), "tx-t%p-%d", (void *)w, i);
		if (validate_good(w->in, tx, &out) == 0 && out.allowed)
			w->allowed++;
	}
	return NULL;
}

/* The stand-in refuses what the real services refuse (it does not accept anything). */
static void test_standin_strict(void)
{
	static const char *form[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	static const char *none[] = { "Content-Type: text/plain", NULL };
	const char *tok = "/" TENANT "/oauth2/v2.0/token";
	char *body, *graph = NULL, *intune = NULL, *hdr[8], *t;
	const char *svc = "/RACerts/ScepRequestValidationFEService/Gateway/"
	    "StatelessScepRequestValidationService/ScepActions/validateRequest";
	const char *good_body = "{\"request\":{\"transactionId\":\"t\",\"certificateRequest\":"
	    "\"AAAA\",\"callerInfo\":\"x\"}}";
	json_object *o;
	int i;

	body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=wrong"
	    "&scope=%s%%2F.default", CLIENT_ID, base);
	is_int(post(tok, form, body), 401, "stand-in: a wrong secret gets 401");
	free(body);
	body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
	    "&scope=https%%3A%%2F%%2Fexample.com%%2F.default", CLIENT_ID, SECRET);
	is_int(post(tok, form, body), 400, "stand-in: an unknown scope gets 400");
	free(body);
	body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
	    "&scope=%s%%2F.default", CLIENT_ID, SECRET, base);
	is_int(post("/fabrikam.example/oauth2/v2.0/token", form, body), 400,
	    "stand-in: another tenant's token endpoint gets 400");
	is_int(post(tok, none, body), 400, "stand-in: a token request that is not a form gets 400");
	free(body);

	/* Tokens straight from the stand-in, for hand-made calls. */
	for (i = 0; i < 2; i++) {
		CURL *h = curl_easy_init();
		struct body b = { NULL, 0 };
		char *url = xasprintf("%s%s", base, tok);

		body = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s"
		    "&scope=%s", CLIENT_ID, SECRET, i == 0 ? "" :
		    "https%3A%2F%2Fapi.manage.microsoft.com%2F%2F.default");
		if (i == 0) {
			t = xasprintf("%s%s%%2F.default", body, base);
			free(body);
			body = t;
		}
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		curl_easy_perform(h);
		curl_easy_cleanup(h);
		o = b.p != NULL ? json_tokener_parse(b.p) : NULL;
		t = xstrdup(at(o, "access_token"));
		if (i == 0)
			graph = t;
		else
			intune = t;
		json_object_put(o);
		free(b.p);
		free(body);
		free(url);
	}
	hdr[0] = xasprintf("Authorization: Bearer %s", intune);
	hdr[1] = xstrdup("Content-Type: application/json");
	hdr[2] = xstrdup("client-request-id: 0a1b2c3d-0000-4000-8000-000000000001");
	hdr[3] = xstrdup("api-version: 2018-02-20");
	hdr[4] = NULL;
	is_int(post(svc, (const char *const *)hdr, good_body), 200, "stand-in: a well-formed "
	    "validateRequest gets 200");
	is_int(post(svc, (const char *const *)hdr, good_body), 400, "stand-in: a reused "
	    "client-request-id gets 400");
	free(hdr[2]);
	hdr[2] = xstrdup("client-request-id: 0a1b2c3d-0000-4000-8000-000000000002");
	free(hdr[3]);
	hdr[3] = xstrdup("api-version: 5019-05-05");
	is_int(post(svc, (const char *const *)hdr, good_body), 400, "stand-in: another "
	    "api-version gets 400");
	free(hdr[3]);
	hdr[3] = xstrdup("api-version: 2018-02-20");
	free(hdr[2]);
	hdr[2] = xstrdup("client-request-id: 0a1b2c3d-0000-4000-8000-000000000003");
	is_int(post(svc, (const char *const *)hdr, "{\"request\":{\"transactionId\":\"t\"}}"),
	    400, "stand-in: a body without certificateRequest gets 400");
	free(hdr[0]);
	hdr[0] = xasprintf("Authorization: Bearer %s", graph);
	free(hdr[2]);
	hdr[2] = xstrdup("client-request-id: 0a1b2c3d-0000-4000-8000-000000000004");
	is_int(post(svc, (const char *const *)hdr, good_body), 401, "stand-in: a Graph token "
	    "for Intune gets 401");
	for (i = 0; i < 4; i++)
		free(hdr[i]);
	free(graph);
	free(intune);
}

static void test_threads(void)
{
	struct intune_settings s = settings();
	struct worker w[6];
	pthread_t t[6];
	char err[256];
	int i, all = 0;
	struct intune *in = intune_new(&s, err, sizeof(err));

	get_ok("/_test/calls?clear=1");
	for (i = 0; i < 6; i++) {
		w[i].in = in;
		w[i].allowed = 0;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		all += w[i].allowed;
	}
	is_int(all, 18, "6 threads x 3 calls on one client: all allowed");
	is_int(count("token", NULL, NULL), 2, "one token per scope for all of them");
	is_int(count("discovery", NULL, NULL), 1, "one discovery for all of them");
	intune_free(in);
}

int main(void)
{
	char *secret_file = NULL, *cert_file, *key_file, *other_cert, *other_key, tmpl[128], *t;
	X509 *app = NULL, *other = NULL;
	EVP_PKEY *other_key_p = NULL;
	FILE *f;

	if (system("python3 -c 'import cryptography' >/dev/null 2>&1") != 0) {
		skip("python3 with python3-cryptography is needed for the Intune stand-in");
		return done_testing();
	}
	mkdir("tests/tmp", 0755);
	snprintf(tmpl, sizeof(tmpl), "tests/tmp/test_intune.XXXXXX");
	if (mkdtemp(tmpl) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", tmpl);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	key2048 = EVP_RSA_gen(2048);
	key1024 = EVP_RSA_gen(1024);
	other_key_p = EVP_RSA_gen(2048);
	app = make_cert(key1024, "scepd app", "scepd app");
	other = make_cert(other_key_p, "other app", "other app");
	secret_file = xasprintf("%s/secret", dir);
	cert_file = xasprintf("%s/app.pem", dir);
	key_file = xasprintf("%s/app.key", dir);
	other_cert = xasprintf("%s/other.pem", dir);
	other_key = xasprintf("%s/other.key", dir);
	if ((f = fopen(secret_file, "w")) != NULL) {
		fputs(SECRET "\n", f);
		fclose(f);
	}
	if (key2048 == NULL || key1024 == NULL || write_pem(cert_file, app, NULL) != 0 ||
	    write_pem(key_file, NULL, key1024) != 0 || write_pem(other_cert, other, NULL) != 0 ||
	    write_pem(other_key, NULL, other_key_p) != 0 ||
	    start_standin(secret_file, cert_file) != 0) {
		printf("Bail out! cannot set up keys or start the stand-in\n");
		stop(standin);
		return 1;
	}
	test_settings();
	test_validate_and_cache();
	test_codes();
	test_faults();
	test_notifications();
	test_jwt(cert_file, key_file, other_cert, other_key);
	test_standin_strict();
	test_tls_proxy(secret_file, cert_file, other_key_p);
	test_threads();
	test_refresh();
	stop(standin);
	X509_free(app);
	X509_free(other);
	EVP_PKEY_free(key2048);
	EVP_PKEY_free(key1024);
	EVP_PKEY_free(other_key_p);
	free(secret_file);
	free(cert_file);
	free(key_file);
	free(other_cert);
	free(other_key);
	curl_global_cleanup();
	t = xasprintf("rm -rf '%s'", dir);
	if (system(t) != 0)
		printf("# could not remove %s\n", dir);
	free(t);
	return done_testing();
}
