/* SPDX-License-Identifier: ISC */
/*
 * scep.c: routes SCEP paths, answers GetCACaps / GetCACert from cached bytes,
 * and runs a PKIOperation through pkimsg -> signer (decrypt) -> csr -> policy
 * and challenge -> signer (issue) -> store (durable commit) -> certrep. Every
 * failure after the message is understood is answered with a signed CertRep
 * FAILURE; HTTP errors are only for what cannot be answered with a CertRep.
 * It holds no key itself: key operations go through signer.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "admin.h"
#include "certrep.h"
#include "challenge.h"
#include "config.h"
#include "csr.h"
#include "envelope.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "pkimsg.h"
#include "query.h"
#include "policy.h"
#include "ratelimit.h"
#include "scep.h"
#include "scep_types.h"
#include "signer.h"
#include "store.h"
#include "util.h"

#define CT_CAPS "text/plain"
#define CT_CA "application/x-x509-ca-cert"
#define CT_CA_RA "application/x-x509-ca-ra-cert"
#define CT_PKI "application/x-pki-message"

struct scep_server {
	const struct config *cfg;
	struct signer *signer;
	struct signer *prev;            /* the RA generation before `scepctl ra renew`, or NULL */
	struct metrics *metrics;        /* not owned; NULL: not counted */
	struct policy *policy;
	struct store_pool *pool;
	unsigned char *cacert;          /* GetCACert body */
	size_t cacert_len;
	const char *cacert_type;
	char *caps;                     /* GetCACaps body */
	size_t caps_len;
	STACK_OF(X509) *certrep_extra;  /* certificates after the issued one in a CertRep */
	struct admin *admin;            /* the /certsrv/mscep_admin/ pages */
	struct ratelimit *challenge_limiter; /* rejected challenge passwords per address */
};

#define CHALLENGE_RATELIMIT_ENTRIES 4096

/* The state of one PKIOperation, for the reply and its log line. */
struct pkiop {
	struct scep_server *srv;
	const struct signer *signer;    /* the RA generation the client encrypted to */
	const struct http_request *req;
	struct pkimsg *msg;
	struct certrep_request rq;
	struct store *st;
	int failinfo;
	int event;
	char reason[512];
	char serial[80];
	char *subject;
	unsigned char keyhash[32];      /* SHA-256 of the CSR's public key, once parsed */
	int have_keyhash;
	int resent;
	X509 *issued;                   /* the certificate for a SUCCESS reply */
};

static int64_t asn1_time_seconds(const ASN1_TIME *t);
static int serial_hex(X509 *cert, char *out, size_t len);

static int build_caps(struct scep_server *srv)
{
	size_t i, len = 0;
	char *p;

	for (i = 0; i < srv->cfg->n_caps; i++)
		len += strlen(srv->cfg->caps[i]) + 2;
	srv->caps = p = xmalloc(len + 1);
	for (i = 0; i < srv->cfg->n_caps; i++)
		p += sprintf(p, "%s\r\n", srv->cfg->caps[i]);
	srv->caps_len = len;
	return 0;
}

static int build_cacert(struct scep_server *srv, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	X509 *ca = signer_ca_cert(srv->signer);
	X509 *sign = signer_ra_sign_cert(srv->signer), *enc = signer_ra_enc_cert(srv->signer);
	unsigned char *der = NULL;
	int n, rc = -1;

	if (!signer_has_ra(srv->signer)) {
		if ((n = i2d_X509(ca, &der)) <= 0) {
			snprintf(err, errlen, "cannot encode the CA certificate");
			goto out;
		}
		srv->cacert = xmalloc((size_t)n);
		memcpy(srv->cacert, der, (size_t)n);
		srv->cacert_len = (size_t)n;
		srv->cacert_type = CT_CA;
		rc = 0;
		goto out;
	}
	/* NDES order: RA signing, RA encryption, CA (ndes.md 3.3). */
	if ((certs = sk_X509_new_null()) == NULL || !sk_X509_push(certs, sign) ||
	    (X509_cmp(sign, enc) != 0 && !sk_X509_push(certs, enc)) || !sk_X509_push(certs, ca)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((srv->cacert = certrep_degenerate(certs, &srv->cacert_len)) == NULL) {
		snprintf(err, errlen, "cannot build the GetCACert response");
		goto out;
	}
	srv->cacert_type = CT_CA_RA;
	rc = 0;
out:
	OPENSSL_free(der);
	sk_X509_free(certs);
	return rc;
}

/*
 * The previous RA generation: ra.* file names with SCEP_RA_PREVIOUS_SUFFIX,
 * left by `scepctl ra renew`. Not there: NULL, quietly. There but unusable
 * (half of it, expired, or not issued by the CA): NULL with a warning; the
 * current generation serves alone.
 */
static struct signer *load_previous_ra(const struct config *cfg)
{
	struct config prev;
	struct signer *s = NULL;
	char *paths[4] = { NULL }, err[512];
	const char *names[4] = { cfg->ra_sign_cert, cfg->ra_sign_key, cfg->ra_enc_cert,
	    cfg->ra_enc_key };
	int i, present = 0;
	X509 *c;

	if (cfg->ra_sign_cert == NULL)
		return NULL;
	for (i = 0; i < 4; i++) {
		paths[i] = xasprintf("%s%s", names[i], SCEP_RA_PREVIOUS_SUFFIX);
		present += access(paths[i], F_OK) == 0;
	}
	if (present == 0)
		goto out;
	if (present != 4) {
		log_msg(LOG_WARNING, "previous RA generation ignored: %s, %s, %s and %s must all "
		    "exist", paths[0], paths[1], paths[2], paths[3]);
		goto out;
	}
	prev = *cfg;
	prev.ra_sign_cert = paths[0];
	prev.ra_sign_key = paths[1];
	prev.ra_enc_cert = paths[2];
	prev.ra_enc_key = paths[3];
	if ((s = signer_load(&prev, err, sizeof(err))) == NULL) {
		log_msg(LOG_WARNING, "previous RA generation ignored: %s", err);
		goto out;
	}
	c = signer_ra_enc_cert(s);
	if (X509_cmp_time(X509_get0_notAfter(c), NULL) < 0 ||
	    X509_cmp_time(X509_get0_notAfter(signer_ra_sign_cert(s)), NULL) < 0) {
		log_msg(LOG_WARNING, "previous RA generation ignored: %s or %s has expired "
		    "(remove the *%s files)", paths[0], paths[2], SCEP_RA_PREVIOUS_SUFFIX);
		signer_free(s);
		s = NULL;
	} else {
		log_msg(LOG_NOTICE, "previous RA generation %s and %s loaded: requests encrypted to "
		    "it are still answered; GetCACert hands out the current one", paths[0], paths[2]);
	}
out:
	for (i = 0; i < 4; i++)
		free(paths[i]);
	return s;
}

struct scep_server *scep_server_new(const struct config *cfg, char *err, size_t errlen)
{
	struct scep_server *srv = xcalloc(1, sizeof(*srv)), *result = NULL;

	srv->cfg = cfg;
	if ((srv->signer = signer_load(cfg, err, errlen)) == NULL)
		goto out;
	srv->prev = load_previous_ra(cfg);
	if ((srv->policy = policy_new(cfg, err, errlen)) == NULL)
		goto out;
	if ((srv->pool = store_pool_new(cfg->database, err, errlen)) == NULL)
		goto out;
	if (build_caps(srv) != 0 || build_cacert(srv, err, errlen) != 0)
		goto out;
	if ((srv->certrep_extra = sk_X509_new_null()) == NULL)
		goto out;
	if (cfg->include_ca_in_certrep &&
	    !sk_X509_push(srv->certrep_extra, signer_ca_cert(srv->signer)))
		goto out;
	if ((srv->admin = admin_new(cfg, signer_ca_cert(srv->signer), srv->pool, err, errlen))
	    == NULL)
		goto out;
	if ((srv->challenge_limiter = ratelimit_new(cfg->challenge_max_failures,
	    cfg->challenge_failure_window, CHALLENGE_RATELIMIT_ENTRIES)) == NULL) {
		snprintf(err, errlen, "cannot create the challenge rate limiter");
		goto out;
	}
	result = srv;
	srv = NULL;
out:
	scep_server_free(srv);
	return result;
}

void scep_server_free(struct scep_server *srv)
{
	if (srv == NULL)
		return;
	ratelimit_free(srv->challenge_limiter);
	admin_free(srv->admin);
	sk_X509_free(srv->certrep_extra);
	free(srv->caps);
	free(srv->cacert);
	store_pool_free(srv->pool);
	policy_free(srv->policy);
	signer_free(srv->prev);
	signer_free(srv->signer);
	free(srv);
}

void scep_server_set_metrics(struct scep_server *srv, struct metrics *m)
{
	srv->metrics = m;
}

int scep_server_has_previous_ra(const struct scep_server *srv)
{
	return srv->prev != NULL;
}

/* Fills one scep_cert_info from cert; 0 or -1. */
static int cert_info(X509 *cert, const char *role, struct scep_cert_info *out)
{
	char *name;

	memset(out, 0, sizeof(*out));
	out->role = role;
	out->not_after = asn1_time_seconds(X509_get0_notAfter(cert));
	if (serial_hex(cert, out->serial, sizeof(out->serial)) != 0)
		return -1;
	if ((name = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0)) == NULL)
		return -1;
	snprintf(out->subject, sizeof(out->subject), "%s", name);
	OPENSSL_free(name);
	return 0;
}

size_t scep_server_certs(const struct scep_server *srv, struct scep_cert_info *out, size_t max)
{
	size_t n = 0;

	if (n < max && cert_info(signer_ca_cert(srv->signer), "ca", &out[n]) == 0)
		n++;
	if (!signer_has_ra(srv->signer))
		return n;
	if (n < max && cert_info(signer_ra_sign_cert(srv->signer), "ra-sign", &out[n]) == 0)
		n++;
	if (X509_cmp(signer_ra_sign_cert(srv->signer), signer_ra_enc_cert(srv->signer)) != 0 &&
	    n < max && cert_info(signer_ra_enc_cert(srv->signer), "ra-enc", &out[n]) == 0)
		n++;
	if (srv->prev == NULL)
		return n;
	if (n < max && cert_info(signer_ra_sign_cert(srv->prev), "ra-sign-previous", &out[n]) == 0)
		n++;
	if (X509_cmp(signer_ra_sign_cert(srv->prev), signer_ra_enc_cert(srv->prev)) != 0 &&
	    n < max && cert_info(signer_ra_enc_cert(srv->prev), "ra-enc-previous", &out[n]) == 0)
		n++;
	return n;
}

int scep_server_challenges_cached(struct scep_server *srv)
{
	struct store *st;
	char err[256];
	int n;

	if (!srv->cfg->enforce_password || srv->cfg->use_single_password)
		return 0;
	if ((st = store_pool_get(srv->pool, err, sizeof(err))) == NULL)
		return -1;
	n = store_challenge_count_unused(st, now_seconds());
	store_pool_put(srv->pool, st);
	return n;
}

int scep_server_health(struct scep_server *srv, char *err, size_t errlen)
{
	static const unsigned char probe[] = "scepd health probe";
	struct store *st = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	X509 *certs[3];
	int i, rc = -1;

	if ((st = store_pool_get(srv->pool, err, errlen)) == NULL)
		goto out;
	if (store_schema_version(st) != STORE_SCHEMA_VERSION || store_ping(st) != STORE_OK) {
		snprintf(err, errlen, "the store cannot record an enrollment: %s", store_errmsg(st));
		goto out;
	}
	certs[0] = signer_ca_cert(srv->signer);
	certs[1] = signer_ra_sign_cert(srv->signer);
	certs[2] = signer_ra_enc_cert(srv->signer);
	for (i = 0; i < 3; i++) {
		if (X509_cmp_time(X509_get0_notAfter(certs[i]), NULL) < 0) {
			snprintf(err, errlen, "the %s certificate has expired",
			    i == 0 ? "CA" : i == 1 ? "RA signing" : "RA encryption");
			goto out;
		}
	}
	/* The RA signing key signs: the operation every reply needs. */
	if ((sig = signer_sign_message(srv->signer, NID_sha256, probe, sizeof(probe) - 1, NULL,
	    &siglen, err, errlen)) == NULL)
		goto out;
	rc = 0;
out:
	free(sig);
	ERR_clear_error();
	if (st != NULL)
		store_pool_put(srv->pool, st);
	return rc;
}

/* NDES and RFC paths, matched case-insensitively as IIS does, with or without /pkiclient.exe. */
static int is_scep_path(const char *path)
{
	static const char *const bases[] = {
		"/certsrv/mscep/mscep.dll", "/cgi-bin/pkiclient.exe", "/scep",
	};
	size_t i, n;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		n = strlen(bases[i]);
		if (strncasecmp(path, bases[i], n) != 0)
			continue;
		if (path[n] == '\0' || strcmp(path + n, "/") == 0 ||
		    strcasecmp(path + n, "/pkiclient.exe") == 0)
			return 1;
	}
	return 0;
}

static void set_body(struct http_response *resp, int status, const char *type,
    const void *body, size_t len)
{
	resp->status = status;
	resp->content_type = type;
	resp->body = xmalloc(len);
	memcpy(resp->body, body, len);
	resp->body_len = len;
}

static void http_error(struct scep_server *srv, const struct http_request *req,
    struct http_response *resp, const char *op, int status, int event, const char *reason)
{
	log_request(&(struct log_request){ .client = req->client_addr, .operation = op,
	    .status = status, .event = event, .reason = reason });
	metrics_request(srv->metrics, metrics_op_from_name(op), METRICS_ERROR);
	httpd_text(resp, status, "%s", reason);
}

static void log_simple(struct scep_server *srv, const struct http_request *req, const char *op,
    int status)
{
	log_request(&(struct log_request){ .client = req->client_addr, .operation = op,
	    .status = status });
	metrics_request(srv->metrics, metrics_op_from_name(op), METRICS_SUCCESS);
}

/* Seconds on CLOCK_MONOTONIC, for latencies. */
static double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- PKIOperation ------------------------------------------------------- */

static int fail(struct pkiop *op, int failinfo, int event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct pkiop *op, int failinfo, int event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->reason, sizeof(op->reason), fmt, ap);
	va_end(ap);
	op->failinfo = failinfo;
	op->event = event;
	return failinfo;
}

static int64_t asn1_time_seconds(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static int serial_hex(X509 *cert, char *out, size_t len)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = NULL;
	int rc = -1;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	snprintf(out, len, "%s", hex);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* Uses the certificate recorded for this transactionID: the same key gets it again. */
static int resend_recorded(struct pkiop *op, const struct csr *csr, struct store_cert *prev,
    const unsigned char keyhash[32])
{
	const unsigned char *p = prev->der;

	if (memcmp(keyhash, csr->spki_sha256, 32) != 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "transactionID %s already has a certificate, issued for another key",
		    op->msg->transaction_id);
	if ((op->issued = d2i_X509(NULL, &p, (long)prev->der_len)) == NULL)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "the recorded certificate for this transaction cannot be read");
	snprintf(op->serial, sizeof(op->serial), "%s", prev->serial);
	op->resent = 1;
	return SCEP_FAIL_NONE;
}

/* Issues and durably records the certificate for a checked CSR. */
static int issue_and_commit(struct pkiop *op, const struct csr *csr, int consume)
{
	const struct config *cfg = op->srv->cfg;
	struct policy_grant grant;
	struct issue_request ir;
	struct store_enrollment e;
	struct store_cert sc, *prev = NULL;
	unsigned char *der = NULL, keyhash[32];
	char err[256];
	int n, rc, result;

	if ((result = policy_grant(op->srv->policy, csr, &grant, err, sizeof(err))) != SCEP_FAIL_NONE)
		return fail(op, result, NDES_EVENT_SUBMIT, "%s", err);
	memset(&ir, 0, sizeof(ir));
	ir.subject = X509_REQ_get_subject_name(csr->req);
	ir.pubkey = X509_REQ_get0_pubkey(csr->req);
	ir.san = csr->san;
	ir.key_usage = grant.key_usage;
	ir.eku = grant.eku;
	ir.n_eku = grant.n_eku;
	ir.validity_days = cfg->validity_days;
	ir.now = now_seconds();
	if ((op->issued = signer_issue(op->srv->signer, &ir, err, sizeof(err))) == NULL)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "the CA could not issue the certificate: %s", err);

	result = SCEP_FAIL_BADREQUEST;
	memset(&sc, 0, sizeof(sc));
	if (serial_hex(op->issued, sc.serial, sizeof(sc.serial)) != 0 ||
	    (n = i2d_X509(op->issued, &der)) <= 0)
		goto out;
	sc.subject = csr->subject;
	sc.not_before = asn1_time_seconds(X509_get0_notBefore(op->issued));
	sc.not_after = asn1_time_seconds(X509_get0_notAfter(op->issued));
	sc.der = der;
	sc.der_len = (size_t)n;
	snprintf(sc.status, sizeof(sc.status), "valid");
	snprintf(sc.transaction_id, sizeof(sc.transaction_id), "%s", op->msg->transaction_id);
	sc.issued_at = ir.now;
	memset(&e, 0, sizeof(e));
	e.transaction_id = op->msg->transaction_id;
	e.message_type = op->msg->message_type;
	e.client_addr = op->req->client_addr;
	e.pubkey_sha256 = csr->spki_sha256;
	e.subject = csr->subject;
	e.challenge = consume ? csr->challenge : NULL;
	e.now = ir.now;
	e.cert = &sc;

	switch ((rc = store_enroll_commit(op->st, &e))) {
	case STORE_OK:
		snprintf(op->serial, sizeof(op->serial), "%s", sc.serial);
		result = SCEP_FAIL_NONE;
		break;
	case STORE_CHALLENGE_UNKNOWN:
	case STORE_CHALLENGE_USED:
	case STORE_CHALLENGE_EXPIRED:
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_PASSWORD, "%s",
		    challenge_result_text(rc == STORE_CHALLENGE_USED ? CHALLENGE_USED :
		    rc == STORE_CHALLENGE_EXPIRED ? CHALLENGE_EXPIRED : CHALLENGE_WRONG));
		break;
	case STORE_CONFLICT:
		/* Another request with this transactionID won a race: answer as a re-send. */
		X509_free(op->issued);
		op->issued = NULL;
		if (store_issued_for_transaction(op->st, op->msg->transaction_id, &prev, keyhash)
		    == STORE_OK)
			result = resend_recorded(op, csr, prev, keyhash);
		break;
	default:
		log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		break;
	}
out:
	if (result != SCEP_FAIL_NONE && op->failinfo == SCEP_FAIL_NONE)
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "the certificate could not be recorded in the store");
	if (result != SCEP_FAIL_NONE) {
		X509_free(op->issued);
		op->issued = NULL;
	}
	store_cert_free(prev);
	OPENSSL_free(der);
	return result;
}

static int pkcsreq(struct pkiop *op)
{
	struct scep_server *srv = op->srv;
	struct envelope_info env;
	struct csr *csr = NULL;
	struct store_cert *prev = NULL;
	unsigned char *plain = NULL, keyhash[32];
	const char *matched = NULL;
	size_t plain_len = 0;
	char err[256], prev_err[256];
	int result, consume = 0;
	unsigned blocked;
	enum challenge_result cr;

	if (op->msg->envelope == NULL) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO,
		    "the message carries no pkcsPKIEnvelope");
		goto out;
	}
	if (envelope_inspect(op->msg->envelope, op->msg->envelope_len, &env, err, sizeof(err)) != 0) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO, "%s", err);
		goto out;
	}
	op->rq.cipher_nid = env.cipher_nid;
	op->rq.oaep = env.oaep;
	result = signer_decrypt(srv->signer, op->msg->envelope, op->msg->envelope_len,
	    srv->cfg->allow_des, &plain, &plain_len, &matched, err, sizeof(err));
	if (result == SCEP_FAIL_BADREQUEST && srv->prev != NULL &&
	    signer_decrypt(srv->prev, op->msg->envelope, op->msg->envelope_len,
	    srv->cfg->allow_des, &plain, &plain_len, &matched, prev_err, sizeof(prev_err))
	    == SCEP_FAIL_NONE) {
		/* Encrypted to the RA certificates before the renewal: answer as that RA. */
		op->signer = srv->prev;
		result = SCEP_FAIL_NONE;
	}
	if (result != SCEP_FAIL_NONE) {
		if (result == SCEP_FAIL_BADALG || env.cipher_nid == NID_undef)
			op->rq.cipher_nid = NID_undef;
		result = fail(op, result, NDES_EVENT_DECRYPT, "%s", err);
		goto out;
	}
	if ((csr = csr_parse(plain, plain_len, err, sizeof(err))) == NULL) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO,
		    "the envelope does not hold a valid PKCS#10 request: %s", err);
		goto out;
	}
	op->subject = xstrdup(csr->subject);
	memcpy(op->keyhash, csr->spki_sha256, sizeof(op->keyhash));
	op->have_keyhash = 1;
	if ((result = policy_check_csr(srv->policy, csr, err, sizeof(err))) != SCEP_FAIL_NONE) {
		result = fail(op, result, NDES_EVENT_SUBMIT, "%s", err);
		goto out;
	}
	switch (store_issued_for_transaction(op->st, op->msg->transaction_id, &prev, keyhash)) {
	case STORE_OK:
		result = resend_recorded(op, csr, prev, keyhash);
		goto out;
	case STORE_NOT_FOUND:
		break;
	default:
		log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "the store is not available");
		goto out;
	}
	if (srv->cfg->enforce_password &&
	    (blocked = ratelimit_blocked(srv->challenge_limiter, op->req->client_addr,
	    now_seconds())) > 0) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_PASSWORD,
		    "too many rejected challenge passwords from this address (challenge.max_failures);"
		    " refused for %u more seconds", blocked);
		goto out;
	}
	cr = challenge_check(srv->cfg, op->st, csr->challenge, now_seconds(), &consume);
	if (cr != CHALLENGE_OK) {
		if (cr != CHALLENGE_ERROR)
			ratelimit_fail(srv->challenge_limiter, op->req->client_addr, now_seconds());
		result = fail(op, SCEP_FAIL_BADREQUEST,
		    cr == CHALLENGE_ERROR ? NDES_EVENT_NONE : NDES_EVENT_PASSWORD, "%s",
		    challenge_result_text(cr));
		goto out;
	}
	result = issue_and_commit(op, csr, consume);
	if (result != SCEP_FAIL_NONE && op->event == NDES_EVENT_PASSWORD)
		ratelimit_fail(srv->challenge_limiter, op->req->client_addr, now_seconds());
out:
	store_cert_free(prev);
	csr_free(csr);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
	return result;
}

static void pkioperation(struct scep_server *srv, const struct http_request *req,
    const unsigned char *der, size_t len, struct http_response *resp)
{
	struct pkiop op;
	struct log_request lr;
	unsigned char *reply = NULL;
	size_t reply_len = 0;
	char err[512], txid[PKIMSG_MAX_TRANSACTION_ID + 1];
	double started = mono_seconds();

	memset(&op, 0, sizeof(op));
	op.srv = srv;
	op.signer = srv->signer;
	op.req = req;
	op.failinfo = SCEP_FAIL_NONE;
	ERR_clear_error();
	if ((op.msg = pkimsg_parse(der, len, err, sizeof(err))) == NULL) {
		http_error(srv, req, resp, "PKIOperation", 400, NDES_EVENT_DECODE, err);
		return;
	}
	op.rq.transaction_id = op.msg->transaction_id;
	op.rq.sender_nonce = op.msg->sender_nonce;
	op.rq.sender_nonce_len = op.msg->sender_nonce_len;
	op.rq.digest_nid = op.msg->digest_nid;
	op.rq.recipient = op.msg->signer;
	op.rq.cipher_nid = NID_undef;

	if (op.msg->failinfo != SCEP_FAIL_NONE) {
		fail(&op, op.msg->failinfo, NDES_EVENT_RETRIEVE_INFO, "%s", op.msg->reason);
	} else if (policy_check_digest(srv->policy, op.msg->digest_nid, err, sizeof(err))
	    != SCEP_FAIL_NONE) {
		fail(&op, SCEP_FAIL_BADALG, NDES_EVENT_RETRIEVE_INFO, "%s", err);
	} else if (op.msg->message_type != SCEP_MSG_PKCSREQ) {
		fail(&op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "%s",
		    strcmp(scep_msgtype_name(op.msg->message_type), "unknown") == 0 ?
		    "the messageType is not a SCEP request type" :
		    "this message type is not supported by this server yet");
	} else if ((op.st = store_pool_get(srv->pool, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "store: %s", err);
		fail(&op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "the store is not available");
	} else {
		pkcsreq(&op);
	}
	if (op.failinfo != SCEP_FAIL_NONE) {
		/* A refused digest is not used for the reply either. */
		if (op.failinfo == SCEP_FAIL_BADALG || op.failinfo == SCEP_FAIL_BADMESSAGECHECK)
			op.rq.digest_nid = NID_undef;
		if (op.st != NULL &&
		    store_request_failed(op.st, op.msg->transaction_id, op.msg->message_type,
		    req->client_addr, op.have_keyhash ? op.keyhash : NULL, op.subject,
		    op.failinfo, op.reason, now_seconds()) != STORE_OK)
			log_msg(LOG_ERR, "store: %s", store_errmsg(op.st));
		reply = certrep_failure(op.signer, &op.rq, op.failinfo, op.reason, &reply_len,
		    err, sizeof(err));
	} else {
		reply = certrep_success(op.signer, &op.rq, op.issued, srv->certrep_extra,
		    &reply_len, err, sizeof(err));
	}

	snprintf(txid, sizeof(txid), "%s", op.msg->transaction_id);
	memset(&lr, 0, sizeof(lr));
	lr.client = req->client_addr;
	lr.operation = "PKIOperation";
	lr.message_type = scep_msgtype_name(op.msg->message_type);
	lr.transaction_id = txid;
	lr.subject = op.subject;
	if (reply == NULL) {
		/* No CertRep can be signed: the one case for HTTP 500 (RA key unusable). */
		lr.status = 500;
		lr.reason = err;
		log_request(&lr);
		metrics_request(srv->metrics, METRICS_OP_PKIOPERATION, METRICS_ERROR);
		httpd_text(resp, 500, "the server cannot sign its reply");
		goto out;
	}
	lr.status = 200;
	if (op.failinfo != SCEP_FAIL_NONE) {
		lr.outcome = "FAILURE";
		lr.fail_info = scep_failinfo_name(op.failinfo);
		lr.event = op.event;
		lr.reason = op.reason;
	} else {
		lr.outcome = "SUCCESS";
		lr.serial = op.serial;
		lr.reason = op.resent ? "re-sent the certificate already issued for this transaction" :
		    op.signer != srv->signer ? "the client encrypted to the previous RA certificate "
		    "(from before `scepctl ra renew`): answered by that RA" : NULL;
	}
	log_request(&lr);
	metrics_request(srv->metrics, METRICS_OP_PKIOPERATION,
	    op.failinfo != SCEP_FAIL_NONE ? METRICS_FAILURE : METRICS_SUCCESS);
	if (op.failinfo != SCEP_FAIL_NONE)
		metrics_failinfo(srv->metrics, op.failinfo);
	metrics_enrollment_seconds(srv->metrics, mono_seconds() - started);
	resp->status = 200;
	resp->content_type = CT_PKI;
	resp->body = reply;
	resp->body_len = reply_len;
	reply = NULL;
out:
	free(reply);
	if (op.st != NULL)
		store_pool_put(srv->pool, op.st);
	X509_free(op.issued);
	free(op.subject);
	pkimsg_free(op.msg);
}

static void pkioperation_get(struct scep_server *srv, const struct http_request *req,
    struct http_response *resp)
{
	const char *val;
	size_t vlen, der_len;
	unsigned char *der;
	char err[256];

	if (!query_find(req->query, req->query_len, "message", &val, &vlen) || vlen == 0) {
		http_error(srv, req, resp, "PKIOperation", 400, NDES_EVENT_DECODE,
		    "PKIOperation by GET needs a message parameter");
		return;
	}
	if ((der = query_decode_message(val, vlen, &der_len, err, sizeof(err))) == NULL) {
		http_error(srv, req, resp, "PKIOperation", 400, NDES_EVENT_DECODE, err);
		return;
	}
	pkioperation(srv, req, der, der_len, resp);
	free(der);
}

/* --- dispatch ------------------------------------------------------------ */

void scep_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct scep_server *srv = ctx;
	const char *val;
	size_t vlen;
	char *op = NULL;
	int is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (admin_is_path(req->path)) {
		/*
		 * The page, unless a SCEP operation is asked for (NDES answers those
		 * here too); with admin.enabled false the whole path is absent.
		 */
		if (!srv->cfg->admin_enabled ||
		    !query_find(req->query, req->query_len, "operation", &val, &vlen)) {
			admin_handle(srv->admin, req, resp);
			return;
		}
	} else if (!is_scep_path(req->path)) {
		http_error(srv, req, resp, req->method, 404, NDES_EVENT_NONE, "not found");
		return;
	}
	if (!query_find(req->query, req->query_len, "operation", &val, &vlen) ||
	    (op = query_unescape(val, vlen)) == NULL || *op == '\0') {
		http_error(srv, req, resp, "-", 400, NDES_EVENT_NONE,
		    "missing operation parameter (GetCACaps, GetCACert or PKIOperation)");
		goto out;
	}
	if (strcmp(op, "PKIOperation") == 0) {
		if (strcmp(req->method, "POST") == 0) {
			if (req->body_len == 0)
				http_error(srv, req, resp, op, 400, NDES_EVENT_DECODE,
				    "PKIOperation by POST needs the pkiMessage as the body");
			else
				pkioperation(srv, req, req->body, req->body_len, resp);
		} else if (is_get)
			pkioperation_get(srv, req, resp);
		else {
			http_error(srv, req, resp, op, 405, NDES_EVENT_NONE, "use GET or POST");
			resp->allow = "GET, POST";
		}
		goto out;
	}
	if (strcmp(op, "GetCACaps") != 0 && strcmp(op, "GetCACert") != 0 &&
	    strcmp(op, "GetNextCACert") != 0) {
		http_error(srv, req, resp, "-", 400, NDES_EVENT_NONE, "unknown operation");
		goto out;
	}
	if (!is_get) {
		http_error(srv, req, resp, op, 405, NDES_EVENT_NONE, "use GET");
		resp->allow = "GET";
		goto out;
	}
	if (strcmp(op, "GetCACaps") == 0) {
		set_body(resp, 200, CT_CAPS, srv->caps, srv->caps_len);
		log_simple(srv, req, op, 200);
	} else if (strcmp(op, "GetCACert") == 0) {
		set_body(resp, 200, srv->cacert_type, srv->cacert, srv->cacert_len);
		log_simple(srv, req, op, 200);
	} else
		http_error(srv, req, resp, op, 404, NDES_EVENT_NONE, "no next CA certificate is configured");
out:
	free(op);
}
