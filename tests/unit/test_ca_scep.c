/* SPDX-License-Identifier: ISC */
/*
 * test_ca_scep.c: the scep CA backend and the SCEP client against a fake
 * upstream SCEP server run in-process (httpd.c with a handler built from
 * pkimsg, signer and certrep, so every reply is a real CertRep): issued
 * (POST, AES-128, SHA-512 from GetCACaps; GET, 3DES, SHA-1 without), the
 * device CSR forwarded byte for byte and signed by scepd's RA key, PENDING
 * then CertPoll (IssuerAndSubject checked) then SUCCESS, upstream FAILURE
 * (badRequest refused, badMessageCheck unavailable), replies with a wrong
 * nonce, transactionID, signer or key, garbage and HTTP 500, a slow and a
 * silent upstream (timeouts), and the upstream stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "ca.h"
#include "ca_impl.h"
#include "certrep.h"
#include "config.h"
#include "csr.h"
#include "envelope.h"
#include "httpd.h"
#include "oids.h"
#include "pkimsg.h"
#include "query.h"
#include "scep_client.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"
#include "tap.h"
#include "catest.h"

enum mode {
	M_ISSUE, M_PENDING, M_FAIL, M_FAIL_MSGCHECK, M_SLOW, M_WRONG_NONCE, M_WRONG_TID,
	M_GARBAGE, M_HTTP500, M_FOREIGN_SIGNER, M_OTHER_KEY,
};

/* The fake upstream: its CA, what it answers, what it saw. */
struct upstream {
	struct config *cfg;
	struct signer *signer;       /* upstream lab CA + RA */
	struct signer *foreign;      /* signs replies in M_FOREIGN_SIGNER */
	struct httpd *httpd;
	unsigned port;
	pthread_mutex_t mu;
	enum mode mode;
	const char *caps;            /* NULL: GetCACaps answers 404 */
	int approved;
	/* seen */
	int n_pkiop, n_cacert, n_caps;
	char method[8];
	int msgtype, digest_nid, cipher_nid;
	char tid[256];
	unsigned char *csr;          /* the last PKCSReq's CSR DER */
	size_t csr_len;
	X509 *req_signer;
	int poll_ok;                 /* the last CertPoll named our CA and the pending subject */
};

static struct upstream up;
static char *dir_up, *dir_front, *dir_foreign;
static X509 *up_ca;

static void set_body(struct http_response *resp, const char *type, unsigned char *body, size_t len)
{
	resp->status = 200;
	resp->content_type = type;
	resp->body = body;
	resp->body_len = len;
}

static X509 *issue_for(const unsigned char *der, size_t len, EVP_PKEY *other_key)
{
	struct csr *c;
	struct issue_request ir;
	char err[256];
	X509 *x = NULL;

	if ((c = csr_parse(der, len, err, sizeof(err))) == NULL)
		return NULL;
	memset(&ir, 0, sizeof(ir));
	ir.subject = X509_REQ_get_subject_name(c->req);
	ir.pubkey = other_key != NULL ? other_key : c->pubkey;
	ir.key_usage = X509v3_KU_DIGITAL_SIGNATURE;
	ir.validity_days = 30;
	ir.now = now_seconds();
	x = signer_issue(up.signer, &ir, err, sizeof(err));
	csr_free(c);
	return x;
}

static void fake_pkiop(const unsigned char *der, size_t len, struct http_response *resp)
{
	struct pkimsg *m = NULL;
	struct certrep_request rq;
	struct envelope_info env;
	unsigned char *plain = NULL, *reply = NULL, wrong_nonce[16];
	size_t plain_len = 0, reply_len = 0;
	const unsigned char *p;
	char err[256];
	X509 *issued = NULL;
	X509_NAME *iss = NULL, *sub = NULL;
	EVP_PKEY *other = NULL;
	const struct signer *replier = up.signer;
	enum mode mode;

	pthread_mutex_lock(&up.mu);
	up.n_pkiop++;
	mode = up.mode;
	pthread_mutex_unlock(&up.mu);
	if (mode == M_SLOW)
		sleep(3);
	if (mode == M_HTTP500) {
		httpd_text(resp, 500, "upstream is broken today");
		return;
	}
	if (mode == M_GARBAGE) {
		set_body(resp, "application/x-pki-message", (unsigned char *)xstrdup("hello"), 5);
		return;
	}
	if ((m = pkimsg_parse(der, len, err, sizeof(err))) == NULL) {
		httpd_text(resp, 400, "%s", err);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.transaction_id = m->transaction_id;
	rq.sender_nonce = m->sender_nonce;
	rq.sender_nonce_len = m->sender_nonce_len;
	rq.digest_nid = m->digest_nid;
	rq.recipient = m->signer_keyed;
	if (m->envelope != NULL && envelope_inspect(m->envelope, m->envelope_len, &env, err,
	    sizeof(err)) == 0)
		rq.cipher_nid = env.cipher_nid;
	pthread_mutex_lock(&up.mu);
	snprintf(up.tid, sizeof(up.tid), "%s", m->transaction_id);
	up.msgtype = m->message_type;
	up.digest_nid = m->digest_nid;
	up.cipher_nid = rq.cipher_nid;
	X509_free(up.req_signer);
	up.req_signer = m->signer;
	X509_up_ref(m->signer);
	pthread_mutex_unlock(&up.mu);
	if (m->failinfo != SCEP_FAIL_NONE || m->envelope == NULL ||
	    signer_decrypt(up.signer, m->envelope, m->envelope_len, 0, &plain, &plain_len, NULL,
	    err, sizeof(err)) != SCEP_FAIL_NONE) {
		reply = certrep_failure(up.signer, &rq, SCEP_FAIL_BADMESSAGECHECK, "cannot read it",
		    &reply_len, err, sizeof(err));
		goto send;
	}
	if (m->message_type == SCEP_MSG_PKCSREQ) {
		pthread_mutex_lock(&up.mu);
		free(up.csr);
		up.csr = xmalloc(plain_len);
		memcpy(up.csr, plain, plain_len);
		up.csr_len = plain_len;
		pthread_mutex_unlock(&up.mu);
	} else if (m->message_type == SCEP_MSG_CERTPOLL) {
		/* IssuerAndSubject: our CA's name and the pending request's subject */
		struct csr *pc = NULL;

		p = plain;
		if (plain_len > 2 && plain[0] == 0x30) {
			size_t hl = plain[1] < 0x80 ? 2 : 2 + (plain[1] & 0x7f);

			p = plain + hl;
			iss = d2i_X509_NAME(NULL, &p, (long)(plain_len - hl));
			if (iss != NULL)
				sub = d2i_X509_NAME(NULL, &p, (long)(plain + plain_len - p));
		}
		pthread_mutex_lock(&up.mu);
		if (up.csr != NULL)
			pc = csr_parse(up.csr, up.csr_len, err, sizeof(err));
		up.poll_ok = iss != NULL && sub != NULL && p == plain + plain_len && pc != NULL &&
		    X509_NAME_cmp(iss, X509_get_subject_name(up_ca)) == 0 &&
		    X509_NAME_cmp(sub, X509_REQ_get_subject_name(pc->req)) == 0;
		pthread_mutex_unlock(&up.mu);
		csr_free(pc);
	}
	switch (mode) {
	case M_PENDING:
		pthread_mutex_lock(&up.mu);
		if (m->message_type == SCEP_MSG_CERTPOLL && up.approved && up.csr != NULL)
			issued = issue_for(up.csr, up.csr_len, NULL);
		pthread_mutex_unlock(&up.mu);
		if (issued == NULL) {
			reply = certrep_pending(up.signer, &rq, &reply_len, err, sizeof(err));
			goto send;
		}
		break;
	case M_FAIL:
		reply = certrep_failure(up.signer, &rq, SCEP_FAIL_BADREQUEST, "no such device here",
		    &reply_len, err, sizeof(err));
		goto send;
	case M_FAIL_MSGCHECK:
		reply = certrep_failure(up.signer, &rq, SCEP_FAIL_BADMESSAGECHECK, NULL,
		    &reply_len, err, sizeof(err));
		goto send;
	case M_OTHER_KEY:
		other = catest_rsa();
		issued = issue_for(plain, plain_len, other);
		break;
	default:
		issued = issue_for(plain, plain_len, NULL);
		break;
	}
	if (mode == M_WRONG_NONCE) {
		memset(wrong_nonce, 0x11, sizeof(wrong_nonce));
		rq.sender_nonce = wrong_nonce;
		rq.sender_nonce_len = sizeof(wrong_nonce);
	}
	if (mode == M_WRONG_TID)
		rq.transaction_id = "SOMEONE-ELSE";
	if (mode == M_FOREIGN_SIGNER)
		replier = up.foreign;
	reply = issued == NULL ? NULL : certrep_success(replier, &rq, issued, NULL, &reply_len,
	    err, sizeof(err));
send:
	if (reply == NULL)
		httpd_text(resp, 500, "fake upstream: %s", err);
	else
		set_body(resp, "application/x-pki-message", reply, reply_len);
	EVP_PKEY_free(other);
	X509_NAME_free(iss);
	X509_NAME_free(sub);
	X509_free(issued);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
	pkimsg_free(m);
}

static void fake_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	const char *val;
	size_t vlen, dlen = 0;
	unsigned char *der;
	char err[256], *op = NULL;

	(void)ctx;
	if (!query_find(req->query, req->query_len, "operation", &val, &vlen) ||
	    (op = query_unescape(val, vlen)) == NULL) {
		httpd_text(resp, 400, "no operation");
		return;
	}
	if (strcmp(op, "GetCACaps") == 0) {
		pthread_mutex_lock(&up.mu);
		up.n_caps++;
		if (up.caps == NULL)
			httpd_text(resp, 404, "no caps here");
		else
			set_body(resp, "text/plain", (unsigned char *)xstrdup(up.caps), strlen(up.caps));
		pthread_mutex_unlock(&up.mu);
	} else if (strcmp(op, "GetCACert") == 0) {
		STACK_OF(X509) *certs = sk_X509_new_null();
		size_t len = 0;
		unsigned char *body;

		pthread_mutex_lock(&up.mu);
		up.n_cacert++;
		pthread_mutex_unlock(&up.mu);
		sk_X509_push(certs, signer_ra_sign_cert(up.signer));
		sk_X509_push(certs, signer_ra_enc_cert(up.signer));
		sk_X509_push(certs, signer_ca_cert(up.signer));
		body = certrep_degenerate(certs, &len);
		sk_X509_free(certs);
		set_body(resp, "application/x-x509-ca-ra-cert", body, len);
	} else if (strcmp(op, "PKIOperation") == 0) {
		pthread_mutex_lock(&up.mu);
		snprintf(up.method, sizeof(up.method), "%s", req->method);
		pthread_mutex_unlock(&up.mu);
		if (strcmp(req->method, "POST") == 0) {
			fake_pkiop(req->body, req->body_len, resp);
		} else if (query_find(req->query, req->query_len, "message", &val, &vlen) &&
		    (der = query_decode_message(val, vlen, &dlen, err, sizeof(err))) != NULL) {
			fake_pkiop(der, dlen, resp);
			free(der);
		} else {
			httpd_text(resp, 400, "bad GET message");
		}
	} else {
		httpd_text(resp, 400, "unknown operation");
	}
	free(op);
}

static int start_upstream(void)
{
	char *text, err[256];
	int tries;

	for (tries = 0; tries < 50; tries++) {
		up.port = 20000 + (unsigned)(rand() % 40000);
		text = xasprintf("http = { listen = [ \"127.0.0.1:%u\" ]; threads = 4; };\n", up.port);
		config_free(up.cfg);
		up.cfg = catest_config(dir_up, text);
		free(text);
		if (up.cfg == NULL)
			return -1;
		if ((up.httpd = httpd_start(up.cfg, fake_handle, NULL, err, sizeof(err))) != NULL)
			return 0;
	}
	printf("# httpd_start: %s\n", err);
	return -1;
}

static struct signer *lab_signer(const char *dir)
{
	char *text = xasprintf("state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\"; "
	    "enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n", dir);
	struct config *cfg = catest_config(dir, text);
	struct signer *s = NULL;
	char err[256];

	free(text);
	if (cfg != NULL && (s = signer_load(cfg, err, sizeof(err))) == NULL)
		printf("# signer_load %s: %s\n", dir, err);
	config_free(cfg);
	return s;
}

/* The front scepd: ca.cert = the upstream CA, a self-signed RA identity. */
struct front {
	struct config *cfg;
	struct signer *signer;
	struct ca_backend *ca;
};

static int write_self_signed_ra(const char *dir)
{
	EVP_PKEY *key = catest_rsa();
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char *path;
	FILE *f;
	int rc = -1;

	if (key == NULL || x == NULL || n == NULL)
		goto out;
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"front-RA", -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	path = xasprintf("%s/front-ra.crt", dir);
	f = fopen(path, "w");
	free(path);
	if (f == NULL || PEM_write_X509(f, x) != 1 || fclose(f) != 0)
		goto out;
	path = xasprintf("%s/front-ra.key", dir);
	f = fopen(path, "w");
	if (f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0 || chmod(path, 0600) != 0) {
		free(path);
		goto out;
	}
	free(path);
	rc = 0;
out:
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static int open_front(struct front *fr, unsigned timeout)
{
	char *text, err[512];

	memset(fr, 0, sizeof(*fr));
	text = xasprintf("state_dir = \"%s\";\n"
	    "ca = { cert = \"%s/ca.crt\"; };\n"
	    "ra = { sign_cert = \"front-ra.crt\"; sign_key = \"front-ra.key\"; "
	    "enc_cert = \"front-ra.crt\"; enc_key = \"front-ra.key\"; };\n"
	    "backend = { type = \"scep\"; url = \"http://127.0.0.1:%u/certsrv/mscep/mscep.dll\"; "
	    "timeout = %u; };\n", dir_front, dir_up, up.port, timeout);
	fr->cfg = catest_config(dir_front, text);
	free(text);
	if (fr->cfg == NULL)
		return -1;
	if ((fr->signer = signer_load(fr->cfg, err, sizeof(err))) == NULL) {
		printf("# front signer_load: %s\n", err);
		return -1;
	}
	if ((fr->ca = ca_backend_new(fr->cfg, &fr->cfg->backend, fr->signer, err,
	    sizeof(err))) == NULL) {
		printf("# front ca_backend_new: %s\n", err);
		return -1;
	}
	return 0;
}

static void close_front(struct front *fr)
{
	ca_backend_free(fr->ca);
	signer_free(fr->signer);
	config_free(fr->cfg);
	memset(fr, 0, sizeof(*fr));
}

static void set_mode(enum mode m, const char *caps)
{
	pthread_mutex_lock(&up.mu);
	up.mode = m;
	up.caps = caps;
	up.approved = 0;
	pthread_mutex_unlock(&up.mu);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct device {
	EVP_PKEY *key;
	X509_REQ *csr;
	unsigned char *der;
	size_t der_len;
	unsigned char spki[32];
};

static int make_device(struct device *d, const char *cn)
{
	char subj[128];
	int n;

	memset(d, 0, sizeof(d[0]));
	snprintf(subj, sizeof(subj), "CN=%s,O=Devices", cn);
	if ((d->key = catest_rsa()) == NULL ||
	    (d->csr = catest_csr(d->key, subj, "device-secret", "dev.example")) == NULL)
		return -1;
	if ((n = i2d_X509_REQ(d->csr, &d->der)) <= 0)
		return -1;
	d->der_len = (size_t)n;
	return ca_spki_sha256_req(d->csr, d->spki);
}

static void free_device(struct device *d)
{
	OPENSSL_free(d->der);
	X509_REQ_free(d->csr);
	EVP_PKEY_free(d->key);
}

static void request_for(struct ca_request *r, const struct device *d, const char *txid)
{
	memset(r, 0, sizeof(*r));
	r->csr = d->csr;
	r->csr_der = d->der;
	r->csr_len = d->der_len;
	r->key_usage = X509v3_KU_DIGITAL_SIGNATURE;
	r->validity_days = 10;
	r->transaction_id = txid;
	r->client_addr = "192.0.2.9";
	r->now = now_seconds();
}

static void test_issue(const struct device *d)
{
	struct front fr;
	struct ca_request r;
	struct ca_result res;
	int same;

	set_mode(M_ISSUE, "POSTPKIOperation\r\nSHA-512\r\nSHA-256\r\nAES\r\nDES3\r\nSCEPStandard\r\n");
	ok(open_front(&fr, 2) == 0, "scep: front backend made");
	if (fr.ca == NULL) {
		close_front(&fr);
		return;
	}
	is_str(ca_backend_type(fr.ca), "scep", "scep: type");
	is_int(up.n_caps + up.n_cacert, 0, "scep: the upstream is not contacted at start-up");
	request_for(&r, d, "4B8C617BBDF71EFF");
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep: ISSUED (%s)", res.reason);
	ok(res.cert != NULL && catest_chains(res.cert, up_ca), "scep: chains to the upstream CA");
	ok(res.cert != NULL && EVP_PKEY_eq(X509_get0_pubkey(res.cert), d->key) == 1,
	    "scep: for the device's key");
	ca_result_free(&res);
	pthread_mutex_lock(&up.mu);
	is_str(up.method, "POST", "scep: POST (POSTPKIOperation advertised)");
	is_int(up.msgtype, SCEP_MSG_PKCSREQ, "scep: a PKCSReq");
	is_int(up.digest_nid, NID_sha512, "scep: SHA-512, the strongest advertised");
	is_int(up.cipher_nid, NID_aes_128_cbc, "scep: AES-128-CBC (RFC 8894 'AES')");
	is_str(up.tid, "4B8C617BBDF71EFF", "scep: the device's transactionID upstream");
	same = up.csr != NULL && up.csr_len == d->der_len && memcmp(up.csr, d->der, d->der_len) == 0;
	ok(same, "scep: the device's CSR forwarded byte for byte");
	ok(up.req_signer != NULL && X509_cmp(up.req_signer, signer_ra_sign_cert(fr.signer)) == 0,
	    "scep: signed with scepd's RA signing certificate");
	is_int(up.n_caps, 1, "scep: GetCACaps fetched once");
	is_int(up.n_cacert, 1, "scep: GetCACert fetched once");
	pthread_mutex_unlock(&up.mu);

	/* a second request uses the cached GetCACaps / GetCACert */
	r.transaction_id = "TX two+/=";
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep: second request ISSUED");
	ca_result_free(&res);
	pthread_mutex_lock(&up.mu);
	ok(up.n_caps == 1 && up.n_cacert == 1, "scep: the upstream's CA answers are cached");
	is_str(up.tid, "TX two+/=", "scep: a PrintableString transactionID is kept");
	pthread_mutex_unlock(&up.mu);

	r.transaction_id = "caf\xc3\xa9_\x01";
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep: odd transactionID ISSUED");
	ca_result_free(&res);
	pthread_mutex_lock(&up.mu);
	ok(strlen(up.tid) == 64 && strspn(up.tid, "0123456789ABCDEF") == 64,
	    "scep: other transactionIDs go upstream as their SHA-256 in hex");
	pthread_mutex_unlock(&up.mu);
	close_front(&fr);

	/* an upstream advertising neither POST nor AES nor SHA-2 */
	set_mode(M_ISSUE, "DES3\nSHA-1\n");
	ok(open_front(&fr, 2) == 0, "scep (old caps): backend made");
	request_for(&r, d, "TXOLD");
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep (old caps): ISSUED (%s)", res.reason);
	ca_result_free(&res);
	pthread_mutex_lock(&up.mu);
	is_str(up.method, "GET", "scep (old caps): GET");
	is_int(up.digest_nid, NID_sha1, "scep (old caps): SHA-1");
	is_int(up.cipher_nid, NID_des_ede3_cbc, "scep (old caps): 3DES");
	pthread_mutex_unlock(&up.mu);
	close_front(&fr);

	/* no GetCACaps at all */
	set_mode(M_ISSUE, NULL);
	ok(open_front(&fr, 2) == 0, "scep (no caps): backend made");
	request_for(&r, d, "TXNOCAPS");
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep (no caps): ISSUED (%s)", res.reason);
	ca_result_free(&res);
	pthread_mutex_lock(&up.mu);
	ok(strcmp(up.method, "GET") == 0 && up.cipher_nid == NID_des_ede3_cbc &&
	    up.digest_nid == NID_sha1, "scep (no caps): GET, 3DES, SHA-1");
	pthread_mutex_unlock(&up.mu);
	close_front(&fr);
}

static void test_pending(const struct device *d)
{
	struct front fr;
	struct ca_request r;
	struct ca_poll_request pr;
	struct ca_result res, r2;
	char want[64];

	set_mode(M_PENDING, "POSTPKIOperation\nSHA-256\nAES\n");
	ok(open_front(&fr, 2) == 0, "scep pending: backend made");
	if (fr.ca == NULL) {
		close_front(&fr);
		return;
	}
	request_for(&r, d, "TXPENDING");
	is_int(ca_submit(fr.ca, &r, &res), CA_PENDING, "scep pending: PENDING");
	snprintf(want, sizeof(want), "scep1;%s;", "545850454E44494E47");
	ok(res.handle != NULL && strncmp(res.handle, want, strlen(want)) == 0 &&
	    strstr(res.handle, ";http://127.0.0.1:") != NULL && strlen(res.handle) < CA_MAX_HANDLE,
	    "scep pending: handle holds transactionID, subject and URL (%s)", res.handle);
	memset(&pr, 0, sizeof(pr));
	pr.handle = res.handle;
	pr.pubkey_sha256 = d->spki;
	pr.transaction_id = "TXPENDING";
	is_int(ca_poll(fr.ca, &pr, &r2), CA_PENDING, "scep pending: poll, still PENDING");
	pthread_mutex_lock(&up.mu);
	is_int(up.msgtype, SCEP_MSG_CERTPOLL, "scep pending: a CertPoll was sent");
	is_str(up.tid, "TXPENDING", "scep pending: for the transactionID");
	ok(up.poll_ok, "scep pending: IssuerAndSubject names the upstream CA and the subject");
	up.approved = 1;
	pthread_mutex_unlock(&up.mu);
	is_str(r2.handle, res.handle, "scep pending: the same handle again");
	ca_result_free(&r2);
	is_int(ca_poll(fr.ca, &pr, &r2), CA_ISSUED, "scep pending: approved, poll ISSUED (%s)",
	    r2.reason);
	ok(r2.cert != NULL && catest_chains(r2.cert, up_ca) &&
	    EVP_PKEY_eq(X509_get0_pubkey(r2.cert), d->key) == 1,
	    "scep pending: the device's certificate from the upstream CA");
	ca_result_free(&r2);

	pr.handle = "exec1;x";
	is_int(ca_poll(fr.ca, &pr, &r2), CA_REFUSED, "scep pending: an exec handle REFUSED");
	ca_result_free(&r2);
	pr.handle = "scep1;ZZ;30;http://x";
	is_int(ca_poll(fr.ca, &pr, &r2), CA_REFUSED, "scep pending: a broken handle REFUSED");
	ca_result_free(&r2);
	{
		char *moved = xstrdup(res.handle);
		char *u = strstr(moved, ";http://");

		if (u != NULL)
			memcpy(u + 8, "10.9", 4);
		pr.handle = moved;
		is_int(ca_poll(fr.ca, &pr, &r2), CA_REFUSED, "scep pending: another upstream's handle "
		    "REFUSED");
		ok(strstr(r2.reason, "but backend.url is now") != NULL, "scep pending: says why");
		ca_result_free(&r2);
		free(moved);
	}
	ca_result_free(&res);
	close_front(&fr);
}

struct bad_case {
	const char *name;
	enum mode mode;
	enum ca_outcome want;
	int failinfo;
	const char *reason;
};

static void test_bad_replies(const struct device *d)
{
	static const struct bad_case cases[] = {
		{ "FAILURE badRequest", M_FAIL, CA_REFUSED, SCEP_FAIL_BADREQUEST,
		    "the upstream CA refused the request: no such device here (badRequest)" },
		{ "FAILURE badMessageCheck", M_FAIL_MSGCHECK, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "refused scepd's own message, not the device's request: failInfo badMessageCheck" },
		{ "wrong recipientNonce", M_WRONG_NONCE, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "the reply's recipientNonce is not our senderNonce" },
		{ "wrong transactionID", M_WRONG_TID, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "the reply is for transactionID SOMEONE-ELSE, not TXBAD" },
		{ "garbage", M_GARBAGE, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "the reply is not a SCEP message" },
		{ "HTTP 500", M_HTTP500, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "PKIOperation answered HTTP 500: upstream is broken today" },
		{ "foreign signer", M_FOREIGN_SIGNER, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "the reply is signed by a certificate that is not in its GetCACert" },
		{ "certificate for another key", M_OTHER_KEY, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "none of the 1 certificates the backend returned is for the request's public key" },
		{ "slow upstream", M_SLOW, CA_UNAVAILABLE, SCEP_FAIL_NONE,
		    "Operation timed out" },
	};
	struct front fr;
	struct ca_request r;
	struct ca_result res;
	size_t i;
	double t0, secs;
	unsigned timeout;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* 1 s where the timeout is the point; room for a loaded machine elsewhere */
		timeout = cases[i].mode == M_SLOW ? 1 : 5;
		set_mode(M_ISSUE, "POSTPKIOperation\nSHA-256\nAES\n");
		if (open_front(&fr, timeout) != 0) {
			ok(0, "scep %s: backend made", cases[i].name);
			close_front(&fr);
			continue;
		}
		/* the CA answers cached first, so a slow PKIOperation is what times out */
		request_for(&r, d, "TXWARM");
		ca_submit(fr.ca, &r, &res);
		ca_result_free(&res);
		set_mode(cases[i].mode, "POSTPKIOperation\nSHA-256\nAES\n");
		request_for(&r, d, "TXBAD");
		t0 = mono();
		is_int(ca_submit(fr.ca, &r, &res), cases[i].want, "scep %s: %s", cases[i].name,
		    ca_outcome_name(cases[i].want));
		secs = mono() - t0;
		ok(strstr(res.reason, cases[i].reason) != NULL, "scep %s: reason", cases[i].name);
		if (strstr(res.reason, cases[i].reason) == NULL)
			printf("#   got  '%s'\n#   want '...%s...'\n", res.reason, cases[i].reason);
		is_int(res.failinfo, cases[i].want == CA_REFUSED ? cases[i].failinfo : SCEP_FAIL_NONE,
		    "scep %s: failInfo", cases[i].name);
		ok(res.cert == NULL && res.handle == NULL && secs < timeout + 1.5,
		    "scep %s: nothing issued, answered in %.1f s", cases[i].name, secs);
		ca_result_free(&res);
		close_front(&fr);
	}
}

/* A socket that accepts connections (the kernel does) and never answers. */
static int black_hole(unsigned *port)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_down(const struct device *d)
{
	struct front fr;
	struct ca_request r;
	struct ca_result res;
	struct config *cfg;
	struct signer *s;
	struct ca_backend *ca;
	double t0;
	unsigned hole_port = 0, saved;
	int hole;
	char *text, err[256];

	/* a silent upstream: connected, never answered */
	hole = black_hole(&hole_port);
	ok(hole >= 0, "black hole listening");
	saved = up.port;
	up.port = hole_port;
	ok(open_front(&fr, 1) == 0, "scep silent: backend made");
	up.port = saved;
	request_for(&r, d, "TXSILENT");
	t0 = mono();
	is_int(ca_submit(fr.ca, &r, &res), CA_UNAVAILABLE, "scep silent upstream: UNAVAILABLE");
	ok(mono() - t0 < 3, "scep silent upstream: after the 1 s timeout, no hang (%.1f s)",
	    mono() - t0);
	ok(strstr(res.reason, "timed out") != NULL, "scep silent upstream: reason says timed out");
	ca_result_free(&res);
	close_front(&fr);
	if (hole >= 0)
		close(hole);

	/* the upstream stopped while scepd runs: cached CA answers, refused connections */
	set_mode(M_ISSUE, "POSTPKIOperation\nSHA-256\nAES\n");
	ok(open_front(&fr, 2) == 0, "scep stopped: backend made");
	request_for(&r, d, "TXBEFORE");
	is_int(ca_submit(fr.ca, &r, &res), CA_ISSUED, "scep stopped: ISSUED while it runs");
	ca_result_free(&res);
	httpd_stop(up.httpd);
	up.httpd = NULL;
	request_for(&r, d, "TXAFTER");
	t0 = mono();
	is_int(ca_submit(fr.ca, &r, &res), CA_UNAVAILABLE, "scep stopped: UNAVAILABLE after");
	ok(mono() - t0 < 2.5, "scep stopped: at once (%.1f s)", mono() - t0);
	ok(strstr(res.reason, "upstream http://127.0.0.1:") != NULL &&
	    strstr(res.reason, "onnect") != NULL, "scep stopped: reason names the upstream (%s)",
	    res.reason);
	ca_result_free(&res);
	close_front(&fr);

	/* stopped before scepd ever reached it: GetCACaps fails, nothing cached */
	ok(open_front(&fr, 2) == 0, "scep never reached: backend made (no contact)");
	is_int(ca_submit(fr.ca, &r, &res), CA_UNAVAILABLE, "scep never reached: UNAVAILABLE");
	ca_result_free(&res);
	close_front(&fr);

	/* ca.cert is not the upstream's CA: GetCACert is refused */
	ok(start_upstream() == 0, "fake upstream restarted");
	text = xasprintf("state_dir = \"%s\";\nca = { cert = \"%s/ca.crt\"; };\n"
	    "ra = { sign_cert = \"front-ra.crt\"; sign_key = \"front-ra.key\"; "
	    "enc_cert = \"front-ra.crt\"; enc_key = \"front-ra.key\"; };\n"
	    "backend = { type = \"scep\"; url = \"http://127.0.0.1:%u/scep\"; timeout = 2; };\n",
	    dir_front, dir_foreign, up.port);
	cfg = catest_config(dir_front, text);
	free(text);
	s = cfg != NULL ? signer_load(cfg, err, sizeof(err)) : NULL;
	ca = s != NULL ? ca_backend_new(cfg, &cfg->backend, s, err, sizeof(err)) : NULL;
	ok(ca != NULL, "scep wrong anchor: backend made");
	if (ca != NULL) {
		is_int(ca_submit(ca, &r, &res), CA_UNAVAILABLE, "scep wrong anchor: UNAVAILABLE");
		ok(strstr(res.reason, "is ca.cert the upstream's CA certificate?") != NULL,
		    "scep wrong anchor: says so");
		ca_result_free(&res);
	}
	ca_backend_free(ca);
	signer_free(s);
	config_free(cfg);
}

static void test_caps_parser(void)
{
	is_int((int)scep_client_parse_caps("", 0), 0, "caps: empty");
	is_int((int)scep_client_parse_caps("aes\r\n post pkioperation\nSHA-256", 31),
	    SCEP_CAP_AES | SCEP_CAP_SHA256, "caps: case-insensitive, whole lines only");
	is_int((int)scep_client_parse_caps("SCEPStandard\n", 13),
	    SCEP_CAP_STANDARD | SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256,
	    "caps: SCEPStandard implies AES, POST and SHA-256");
	is_int((int)scep_client_parse_caps("Renewal\nSHA-512\n\nDES3\n", 22),
	    SCEP_CAP_RENEWAL | SCEP_CAP_SHA512 | SCEP_CAP_DES3, "caps: blank lines skipped");
}

int main(void)
{
	struct device d;

	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	pthread_mutex_init(&up.mu, NULL);
	dir_up = catest_tmpdir("up");
	dir_front = catest_tmpdir("front");
	dir_foreign = catest_tmpdir("foreign");
	if (dir_up == NULL || dir_front == NULL || dir_foreign == NULL ||
	    catest_labca(dir_up) != 0 || catest_labca(dir_foreign) != 0 ||
	    write_self_signed_ra(dir_front) != 0 || (up.signer = lab_signer(dir_up)) == NULL ||
	    (up.foreign = lab_signer(dir_foreign)) == NULL || start_upstream() != 0 ||
	    make_device(&d, "device-1") != 0) {
		printf("Bail out! set-up failed\n");
		return 1;
	}
	up_ca = signer_ca_cert(up.signer);

	test_caps_parser();
	test_issue(&d);
	test_pending(&d);
	test_bad_replies(&d);
	test_down(&d);

	httpd_stop(up.httpd);
	free_device(&d);
	X509_free(up.req_signer);
	free(up.csr);
	signer_free(up.signer);
	signer_free(up.foreign);
	config_free(up.cfg);
	pthread_mutex_destroy(&up.mu);
	catest_rmrf(dir_up);
	catest_rmrf(dir_front);
	catest_rmrf(dir_foreign);
	free(dir_up);
	free(dir_front);
	free(dir_foreign);
	return done_testing();
}
