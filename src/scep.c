/* SPDX-License-Identifier: ISC */
/*
 * scep.c: answers what route.c routes to it: GetCACaps, GetCACert and
 * GetNextCACert from bytes built at start-up (profile.c), the CRL over HTTP,
 * the NDES page and probes, and a PKIOperation: pkimsg -> algorithm and clock checks ->
 * signer (decrypt) -> by messageType:
 *   PKCSReq / RenewalReq: csr -> template by key usage -> policy -> renewal
 *     or challenge -> PENDING (approval) or signer (issue) -> store -> SUCCESS
 *   CertPoll: the waiting or issued request of the transactionID
 *   GetCert: a certificate this CA issued, by issuer and serial
 *   GetCRL: the CA's CRL (crl.c)
 * -> certrep. Every failure after the message is understood is answered with
 * a signed CertRep FAILURE; HTTP errors are only for what cannot be answered
 * with a CertRep. It holds no key itself: key operations go through signer.h.
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
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "admin.h"
#include "ca.h"
#include "commitq.h"
#include "certid.h"
#include "certrep.h"
#include "challenge.h"
#include "config.h"
#include "crl.h"
#include "csr.h"
#include "envelope.h"
#include "httpd.h"
#include "lab.h"
#include "labca.h"
#include "labpage.h"
#include "log.h"
#include "pkimsg.h"
#include "policy.h"
#include "profile.h"
#include "query.h"
#include "ratelimit.h"
#include "renewal.h"
#include "route.h"
#include "scep.h"
#include "scep_types.h"
#include "metrics.h"
#include "signer.h"
#include "signer_remote.h"
#include "store.h"
#include "trustedra.h"
#include "util.h"
#include "validator.h"
#include "x509util.h"

#define CT_CAPS "text/plain"
#define CT_NEXT_CA "application/x-x509-next-ca-cert"
#define CT_PKI "application/x-pki-message"
#define CT_CRL "application/pkix-crl"
#define CT_HTML "text/html"

/* HRESULTs NDES puts in 1.3.6.1.4.1.311.21.33 (ndes.md §3.4), as signed 32-bit values. */
#define HR_E_FAIL ((int32_t)0x80004005u)
#define HR_E_ACCESSDENIED ((int32_t)0x80070005u)
#define HR_E_INVALIDARG ((int32_t)0x80070057u)
#define HR_NTE_BAD_DATA ((int32_t)0x80090005u)
#define HR_NTE_BAD_SIGNATURE ((int32_t)0x80090006u)
#define HR_NTE_BAD_ALGID ((int32_t)0x80090008u)
#define HR_CRYPT_E_NOT_FOUND ((int32_t)0x80092004u)
#define HR_CRYPT_E_REVOKED ((int32_t)0x80092010u)
#define HR_CRYPT_E_ASN1_BADTAG ((int32_t)0x8009310Bu)
#define HR_CERT_E_EXPIRED ((int32_t)0x800B0101u)

/* A configured CA backend (ca.h), by the name profiles use. */
struct srv_backend {
	const struct config_backend *conf;
	struct ca_backend *ca;          /* local, scep or exec */
};

struct scep_server {
	const struct config *cfg;
	struct signer *prev;            /* the RA generation before `scepctl ra renew`, or NULL */
	struct metrics *metrics;        /* not owned; NULL: not counted */
	struct policy *policy;
	struct profiles *ps;
	struct renewal *renewal;
	struct store_pool *pool;
	struct commitq *commits;        /* group commit of issued certificates */
	struct admin *admin;            /* the /certsrv/mscep_admin/ pages */
	struct ratelimit *challenge_limiter; /* rejected challenge passwords per address */
	int limiter_shared;             /* challenge_limiter is the service's (share_limiters) */
	struct srv_backend *backends;   /* [0]: the backend group ("default"), then backends */
	size_t n_backends;
	const struct srv_backend **profile_backend; /* [i]: the backend of ps->p[i] */
	struct validator_set *validators;
	struct validator **profile_validator; /* [i]: the validator of ps->p[i], or NULL */
	struct trusted_ra_set **profile_trusted_ra; /* [i]: the RAs vouching for ps->p[i] */
	struct signer *lab_signer;      /* lab mode: a throwaway key and certificate made at
	                                 * start, for rules with outcome=wrongkey */
};

#define CHALLENGE_RATELIMIT_ENTRIES 4096
#define COMMIT_BATCH_MAX 64             /* enrollments sharing one commit at most */

enum reply_kind {
	REPLY_FAILURE,
	REPLY_CERT,
	REPLY_CRL,
	REPLY_PENDING,
};

/* The state of one PKIOperation, for the reply and its log line. */
struct pkiop {
	struct scep_server *srv;
	const struct http_request *req;
	const struct profile *prof;
	const struct srv_backend *be;   /* who issues: the profile's backend, or the one a
	                                 * waiting request was handed to */
	size_t gen;                     /* CA generation current for this request */
	int64_t now;
	struct pkimsg *msg;
	struct certrep_request rq;
	struct store *st;
	int by_prev;                    /* the client encrypted to the previous RA generation */
	unsigned char signer_sha256[32];/* SHA-256 of the message signer's SubjectPublicKeyInfo */
	int have_signer;
	enum reply_kind kind;
	int failinfo;
	int event;
	char reason[512];
	const char *note;               /* log reason of a SUCCESS or PENDING, or NULL */
	char serial[80];
	char *subject;
	unsigned char keyhash[32];      /* SHA-256 of the CSR's public key, once parsed */
	int have_keyhash;
	X509 *issued;                   /* the certificate of a SUCCESS reply */
	char *ca_handle;                /* ASK_PENDING: the backend's handle, NULL: ask again */
	int ca_refused;                 /* the failure is the CA backend's refusal */
	int ca_unanswered;              /* the failure is a CA backend that gave no answer */
	int commit_expected;            /* announced to the commit queue (commitq_expect) */
	unsigned char *crl;             /* the CRL of a GetCRL SUCCESS reply */
	size_t crl_len;
	struct validator *validator;    /* the profile's challenge validator, or NULL */
	int validated;                  /* it allowed this request: tell it how it ended */
	/* lab mode (lab.h): what a lab rule scripted */
	int64_t lab_rule;               /* the rule's id, 0: none */
	struct lab_rule *lab;           /* a rule that matched this enrollment (owned) */
	int64_t lab_not_before, lab_not_after; /* its validity override, 0: none */
	char lab_note[200];             /* what the log says of it */
};

static void set_body(struct http_response *resp, int status, const char *type,
    const void *body, size_t len)
{
	resp->status = status;
	resp->content_type = type;
	resp->body = xmalloc(len ? len : 1);
	memcpy(resp->body, body, len);
	resp->body_len = len;
}

static void http_error(struct scep_server *srv, const struct http_request *req,
    struct http_response *resp, const char *op, int status, int event, const char *reason)
{
	metrics_request(srv->metrics, metrics_op_from_name(op), METRICS_ERROR);
	log_request(&(struct log_request){ .client = req->client_addr, .operation = op,
	    .status = status, .event = event, .reason = reason });
	httpd_text(resp, status, "%s", reason);
}

static void log_simple(struct scep_server *srv, const struct http_request *req, const char *op,
    int status, const char *reason)
{
	metrics_request(srv->metrics, metrics_op_from_name(op), METRICS_SUCCESS);
	log_request(&(struct log_request){ .client = req->client_addr, .operation = op,
	    .status = status, .reason = reason });
}

/* Seconds on CLOCK_MONOTONIC, for latencies. */
static double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* The backend called name ("default": the backend group), or NULL. */
static const struct srv_backend *backend_named(const struct scep_server *srv, const char *name)
{
	for (size_t i = 0; i < srv->n_backends; i++)
		if (strcmp(CONFIG_BACKEND_NAME(srv->backends[i].conf), name) == 0)
			return &srv->backends[i];
	return NULL;
}

/* The backend that issues for profile p (one of srv->ps->p), settled at start-up. */
static const struct srv_backend *backend_of(const struct scep_server *srv,
    const struct profile *p)
{
	return srv->profile_backend[p - srv->ps->p];
}

/*
 * Builds every configured backend, the backend group first. Each request
 * names the CA generation current for it (issue()), so the local backend
 * issues under the rollover CA from its switch-over. The scep backends sign
 * with the default RA.
 */
static int backends_new(struct scep_server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	const struct config_backend *b;
	const struct srv_backend *be;
	size_t i;

	srv->backends = xcalloc(1 + cfg->n_backends, sizeof(*srv->backends));
	for (i = 0; i < 1 + cfg->n_backends; i++) {
		b = i == 0 ? &cfg->backend : &cfg->backends[i - 1];
		srv->backends[srv->n_backends++].conf = b;
		if ((srv->backends[i].ca = ca_backend_new(cfg, b, srv->ps->gen[0].signer, err,
		    errlen)) == NULL)
			return -1;
	}
	/* config.c checked that every profiles.backend names one of them. */
	srv->profile_backend = xcalloc(srv->ps->n, sizeof(*srv->profile_backend));
	for (i = 0; i < srv->ps->n; i++) {
		if ((be = backend_named(srv, srv->ps->p[i].backend)) == NULL)
			be = &srv->backends[0];
		srv->profile_backend[i] = be;
		log_msg(LOG_INFO, "profile %s: certificates are issued by backend %s (%s)",
		    srv->ps->p[i].name, CONFIG_BACKEND_NAME(be->conf), ca_backend_type(be->ca));
	}
	return 0;
}

/*
 * 1 when backend be hands the device's request on as it came (scep, exec): a
 * waiting request for it keeps its envelope until it is sent. 0 for the
 * local CA, which issues from the request without its challenge.
 */
static int forwards_request(const struct srv_backend *be)
{
	return be != NULL && be->ca != NULL && strcmp(ca_backend_type(be->ca), "local") != 0;
}

/*
 * 1 when waiting request p must still be sent to a scep or exec backend as the
 * device made it (the upstream checks its signature and challenge): no
 * handle yet, not refused, and its backend is not the local CA.
 */
static int needs_original(const struct store_pending *p, void *arg)
{
	const struct scep_server *srv = arg;
	const struct srv_backend *be = NULL;
	const struct profile *prof;

	if (p->backend_handle != NULL || strcmp(p->decision, "rejected") == 0)
		return 0;
	if (p->backend != NULL)
		be = backend_named(srv, p->backend);
	else if ((prof = profiles_find(srv->ps, p->profile)) != NULL)
		be = backend_of(srv, prof);
	return be == NULL || forwards_request(be);
}

/* Requests left waiting before schema 6 lose their challenge where they can. */
static void redact_waiting(struct scep_server *srv)
{
	struct store *st;
	char err[256];
	int n;

	if ((st = store_pool_get(srv->pool, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "store: %s", err);
		return;
	}
	if ((n = challenge_redact_waiting(st, needs_original, srv)) < 0)
		log_msg(LOG_ERR, "store: removing challenges from waiting requests: %s",
		    store_errmsg(st));
	else if (n > 0)
		log_msg(LOG_INFO, "removed the challenge password from %d waiting request%s "
		    "stored by an older scepd", n, n == 1 ? "" : "s");
	store_pool_put(srv->pool, st);
}

/* Builds the challenge validators and settles which one each profile asks. */
static int validators_new(struct scep_server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	const char *name;
	size_t i, j;

	if ((srv->validators = validator_set_new(cfg, err, errlen)) == NULL)
		return -1;
	srv->profile_validator = xcalloc(srv->ps->n, sizeof(*srv->profile_validator));
	for (i = 0; i < srv->ps->n; i++) {
		name = i == 0 ? cfg->validator : NULL;
		for (j = 0; i > 0 && j < cfg->n_profiles; j++)
			if (strcmp(cfg->profiles[j].name, srv->ps->p[i].name) == 0)
				name = cfg->profiles[j].validator;
		if (name == NULL || name[0] == '\0')
			continue;
		/* config.c checked that the name is in validators. */
		if ((srv->profile_validator[i] = validator_find(srv->validators, name)) == NULL) {
			errorf(err, errlen, "profile %s: no validator named %s", srv->ps->p[i].name,
			    name);
			return -1;
		}
		log_msg(LOG_INFO, "profile %s: requests are decided by validator %s (%s)",
		    srv->ps->p[i].name, name, validator_type(srv->profile_validator[i]));
	}
	return 0;
}

/*
 * Loads the RA certificates each profile trusts to vouch for requests
 * (trusted_ra; the profile's list, else the top-level one), checked against
 * this server's CA certificates cas[0..n_cas).
 */
static int trusted_ras_new(struct scep_server *srv, X509 *const *cas, size_t n_cas, char *err,
    size_t errlen)
{
	const struct config *cfg = srv->cfg;
	char *const *names;
	char *files[CONFIG_MAX_LIST];
	size_t i, j, n;
	int rc = 0;

	srv->profile_trusted_ra = xcalloc(srv->ps->n, sizeof(*srv->profile_trusted_ra));
	for (i = 0; i < srv->ps->n && rc == 0; i++) {
		names = cfg->trusted_ra;
		n = cfg->n_trusted_ra;
		for (j = 0; i > 0 && j < cfg->n_profiles; j++)
			if (strcmp(cfg->profiles[j].name, srv->ps->p[i].name) == 0) {
				names = cfg->profiles[j].trusted_ra;
				n = cfg->profiles[j].n_trusted_ra;
			}
		for (j = 0; j < n; j++)
			files[j] = config_path(cfg, names[j]);
		srv->profile_trusted_ra[i] = trusted_ra_load(files, n, cas, n_cas, now_seconds(),
		    err, errlen);
		if (srv->profile_trusted_ra[i] == NULL)
			rc = -1;
		else if (n > 0)
			log_msg(LOG_INFO, "profile %s: PKCSReq signed by %zu trusted RA certificate%s "
			    "need%s no challenge (trusted_ra)", srv->ps->p[i].name, n,
			    n == 1 ? "" : "s", n == 1 ? "s" : "");
		for (j = 0; j < n; j++)
			free(files[j]);
	}
	return rc;
}

/*
 * Lab mode at start (and reload): the rules of lab.rules replace the
 * configured ones in the store (their use counts restart), and a throwaway
 * RSA key signs the CertReps of outcome=wrongkey rules.
 */
static int lab_start(struct scep_server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	struct store_lab_rule rules[CONFIG_MAX_LIST];
	struct lab_rule *r;
	struct store *st = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int64_t now = now_seconds();
	size_t i, n = 0;
	int result = -1;

	memset(rules, 0, sizeof(rules));
	for (i = 0; i < cfg->n_lab_rules && i < CONFIG_MAX_LIST; i++) {
		if ((r = lab_rule_parse(cfg->lab_rules[i], strlen(cfg->lab_rules[i]), now, err,
		    errlen)) == NULL)
			goto out;
		rules[n].rule = cfg->lab_rules[i];
		rules[n].uses = r->uses;
		rules[n].expires_at = r->expires;
		rules[n].created_at = now;
		n++;
		lab_rule_free(r);
	}
	if ((st = store_pool_get(srv->pool, err, errlen)) == NULL)
		goto out;
	if (store_lab_rules_set_config(st, rules, n) != STORE_OK) {
		errorf(err, errlen, "lab.rules: %s", store_errmsg(st));
		goto out;
	}
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    (cert = labca_self_signed(key, "scepd lab wrong-key RA", "digitalSignature,"
	    "keyEncipherment", NULL, 30, err, errlen)) == NULL ||
	    (srv->lab_signer = signer_from_pair(cert, key, cfg->allow_des, err, errlen)) == NULL) {
		if (key == NULL)
			errorf(err, errlen, "lab mode: cannot make the throwaway RSA key");
		goto out;
	}
	log_msg(LOG_WARNING, "lab mode (lab.enabled): %zu configured lab rule(s); scripted "
	    "answers are not what this server would really answer", n);
	result = 0;
out:
	if (st != NULL)
		store_pool_put(srv->pool, st);
	X509_free(cert);
	EVP_PKEY_free(key);
	return result;
}

struct scep_server *scep_server_new(const struct config *cfg, char *err, size_t errlen)
{
	struct scep_server *srv = xcalloc(1, sizeof(*srv)), *result = NULL;
	X509 *cas[2] = { NULL, NULL };
	size_t g;

	srv->cfg = cfg;
	srv->prev = load_previous_ra(cfg);
	if ((srv->policy = policy_new(cfg, err, errlen)) == NULL)
		goto out;
	if ((srv->ps = profiles_new(cfg, srv->policy, err, errlen)) == NULL)
		goto out;
	for (g = 0; g < srv->ps->n_gen; g++)
		cas[g] = signer_ca_cert(srv->ps->gen[g].signer);
	if ((srv->renewal = renewal_new(cas, srv->ps->n_gen)) == NULL) {
		snprintf(err, errlen, "cannot set up renewal checks");
		goto out;
	}
	if ((srv->pool = store_pool_new(cfg->database, err, errlen)) == NULL)
		goto out;
	if ((srv->commits = commitq_new(NULL, COMMIT_BATCH_MAX, (long)cfg->commit_delay)) == NULL) {
		snprintf(err, errlen, "cannot set up the commit queue");
		goto out;
	}
	if ((srv->admin = admin_new(cfg, cas, srv->ps->n_gen, srv->pool, err, errlen)) == NULL)
		goto out;
	if ((srv->challenge_limiter = ratelimit_new(cfg->challenge_max_failures,
	    cfg->challenge_failure_window, CHALLENGE_RATELIMIT_ENTRIES)) == NULL) {
		snprintf(err, errlen, "cannot create the challenge rate limiter");
		goto out;
	}
	if (backends_new(srv, err, errlen) != 0 || validators_new(srv, err, errlen) != 0 ||
	    trusted_ras_new(srv, cas, srv->ps->n_gen, err, errlen) != 0)
		goto out;
	redact_waiting(srv);
	if (srv->cfg->lab_enabled && lab_start(srv, err, errlen) != 0)
		goto out;
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
	for (size_t i = 0; i < srv->n_backends; i++)
		ca_backend_free(srv->backends[i].ca);
	free(srv->backends);
	free(srv->profile_backend);
	validator_set_free(srv->validators);
	free(srv->profile_validator);
	for (size_t i = 0; srv->profile_trusted_ra != NULL && i < srv->ps->n; i++)
		trusted_ra_free(srv->profile_trusted_ra[i]);
	free(srv->profile_trusted_ra);
	if (!srv->limiter_shared)
		ratelimit_free(srv->challenge_limiter);
	admin_free(srv->admin);
	commitq_free(srv->commits);
	store_pool_free(srv->pool);
	renewal_free(srv->renewal);
	profiles_free(srv->ps);
	policy_free(srv->policy);
	signer_free(srv->prev);
	signer_free(srv->lab_signer);
	free(srv);
}

/* --- PKIOperation: helpers ------------------------------------------------ */

/* The HRESULT NDES would send for a failure of this kind. */
static int32_t default_hresult(int failinfo, int event)
{
	switch (failinfo) {
	case SCEP_FAIL_BADALG:
		return HR_NTE_BAD_ALGID;
	case SCEP_FAIL_BADMESSAGECHECK:
		return HR_NTE_BAD_SIGNATURE;
	case SCEP_FAIL_BADCERTID:
		return HR_CRYPT_E_NOT_FOUND;
	default:
		break;
	}
	switch (event) {
	case NDES_EVENT_DECODE:
	case NDES_EVENT_RETRIEVE_INFO:
		return HR_CRYPT_E_ASN1_BADTAG;
	case NDES_EVENT_DECRYPT:
		return HR_NTE_BAD_DATA;
	case NDES_EVENT_SUBMIT:
		return HR_E_FAIL;
	default:
		return HR_E_INVALIDARG;
	}
}

static int vfail(struct pkiop *op, int32_t hr, int failinfo, int event, const char *fmt,
    va_list ap)
{
	vsnprintf(op->reason, sizeof(op->reason), fmt, ap);
	op->kind = REPLY_FAILURE;
	op->failinfo = failinfo;
	op->event = event;
	op->rq.hresult = hr != 0 ? hr : default_hresult(failinfo, event);
	return failinfo;
}

static int fail(struct pkiop *op, int failinfo, int event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_hr(struct pkiop *op, int32_t hr, int failinfo, int event, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct pkiop *op, int failinfo, int event, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(op, 0, failinfo, event, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_hr(struct pkiop *op, int32_t hr, int failinfo, int event, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(op, hr, failinfo, event, fmt, ap);
	va_end(ap);
	return rc;
}

static int store_failed(struct pkiop *op)
{
	log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
	return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "the store is not available");
}

static unsigned digest_bit(int nid)
{
	switch (nid) {
	case NID_md5:
		return PROFILE_MD_MD5;
	case NID_sha1:
		return PROFILE_MD_SHA1;
	case NID_sha224:
		return PROFILE_MD_SHA224;
	case NID_sha256:
		return PROFILE_MD_SHA256;
	case NID_sha384:
		return PROFILE_MD_SHA384;
	case NID_sha512:
		return PROFILE_MD_SHA512;
	default:
		return 0;
	}
}

static unsigned cipher_bit(int nid)
{
	switch (nid) {
	case NID_des_cbc:
		return PROFILE_CIPHER_DES;
	case NID_des_ede3_cbc:
		return PROFILE_CIPHER_DES3;
	case NID_aes_128_cbc:
		return PROFILE_CIPHER_AES128;
	case NID_aes_192_cbc:
		return PROFILE_CIPHER_AES192;
	case NID_aes_256_cbc:
		return PROFILE_CIPHER_AES256;
	default:
		return 0;
	}
}

/* Where an allow-list comes from, for messages: dflt, or the profile's list (in buf). */
static const char *list_name(const struct pkiop *op, const char *list, const char *dflt,
    char *buf, size_t len)
{
	if (op->prof->path == NULL)
		return dflt;
	snprintf(buf, len, "the %s of profile %s", list, op->prof->name);
	return buf;
}

/*
 * Opens the pkcsPKIEnvelope after checking its algorithms against the
 * profile: the current generation's keys first, then the other's (a client
 * may still hold the RA certificate of the other CA).
 */
static int open_envelope(struct pkiop *op, unsigned char **plain, size_t *plain_len)
{
	const struct profile *p = op->prof;
	const struct config *cfg = op->srv->cfg;
	struct envelope_info env;
	const char *matched = NULL;
	size_t g, tries;
	unsigned bit;
	char err[256], where[128];
	int result;

	*plain = NULL;
	*plain_len = 0;
	if (op->msg->envelope == NULL)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO,
		    "the message carries no pkcsPKIEnvelope");
	if (envelope_inspect(op->msg->envelope, op->msg->envelope_len, &env, err, sizeof(err)) != 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO, "%s", err);
	op->rq.cipher_nid = env.cipher_nid;
	op->rq.oaep = env.oaep;
	if ((bit = cipher_bit(env.cipher_nid)) != 0 && (p->ciphers & bit) == 0) {
		op->rq.cipher_nid = NID_undef;
		return fail(op, SCEP_FAIL_BADALG, NDES_EVENT_DECRYPT, "content encryption %s is "
		    "not allowed (%s)", env.cipher_oid, list_name(op, "ciphers",
		    env.cipher_nid == NID_des_cbc ? "scep.allow_des" : "ciphers", where,
		    sizeof(where)));
	}
	if (env.n_ktri > 0 && (p->transports & (env.oaep ? PROFILE_KT_OAEP : PROFILE_KT_RSA)) == 0) {
		op->rq.cipher_nid = NID_undef;
		return fail(op, SCEP_FAIL_BADALG, NDES_EVENT_DECRYPT, "key transport %s is not "
		    "allowed (%s)", env.oaep ? "RSAES-OAEP" : "rsaEncryption",
		    list_name(op, "key_transport", "key_transport", where, sizeof(where)));
	}
	result = SCEP_FAIL_BADREQUEST;
	for (tries = 0; tries < 2; tries++) {
		g = tries == 0 ? op->gen : 1 - op->gen;
		if (g >= 2 || p->signer[g] == NULL)
			continue;
		result = signer_decrypt(p->signer[g], op->msg->envelope, op->msg->envelope_len,
		    cfg->allow_des, plain, plain_len, &matched, err, sizeof(err));
		if (result != SCEP_FAIL_BADREQUEST)
			break;
	}
	if (result == SCEP_FAIL_BADREQUEST && op->srv->prev != NULL && op->prof == &op->srv->ps->p[0] &&
	    signer_decrypt(op->srv->prev, op->msg->envelope, op->msg->envelope_len, cfg->allow_des,
	    plain, plain_len, &matched, where, sizeof(where)) == SCEP_FAIL_NONE) {
		/* Encrypted to the RA certificates before `scepctl ra renew`: answer as that RA. */
		op->by_prev = 1;
		result = SCEP_FAIL_NONE;
	}
	if (result != SCEP_FAIL_NONE) {
		if (result == SCEP_FAIL_BADALG || env.cipher_nid == NID_undef)
			op->rq.cipher_nid = NID_undef;
		return fail(op, result, NDES_EVENT_DECRYPT, "%s", err);
	}
	return SCEP_FAIL_NONE;
}

/*
 * The certificate recorded for this transactionID: the same key gets it again,
 * unless it was revoked since.
 */
static int resend_recorded(struct pkiop *op, const struct csr *csr, struct store_cert *prev,
    const unsigned char keyhash[32])
{
	const unsigned char *p = prev->der;

	if (csr != NULL && memcmp(keyhash, csr->spki_sha256, 32) != 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "transactionID %s already has a certificate, issued for another key",
		    op->msg->transaction_id);
	if (csr != NULL && strcmp(prev->subject, csr->subject) != 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "transactionID %s already has a certificate, issued for another subject",
		    op->msg->transaction_id);
	if (csr == NULL && (prev->has_signer_sha256 ?
	    memcmp(prev->signer_sha256, op->signer_sha256, 32) != 0 :
	    memcmp(keyhash, op->signer_sha256, 32) != 0))
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "transactionID %s belongs to a request signed with another key",
		    op->msg->transaction_id);
	/* a client whose transactionID comes from its key would get it back on every retry */
	if (strcmp(prev->status, "revoked") == 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "transactionID %s already has a certificate, serial %s, and it was revoked: "
		    "enroll again with a new key", op->msg->transaction_id, prev->serial);
	if ((op->issued = d2i_X509(NULL, &p, (long)prev->der_len)) == NULL)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "the recorded certificate for this transaction cannot be read");
	snprintf(op->serial, sizeof(op->serial), "%s", prev->serial);
	op->kind = REPLY_CERT;
	op->note = "re-sent the certificate already issued for this transaction";
	return SCEP_FAIL_NONE;
}

/*
 * The certificate a message renews when its signer is one this CA issued (its
 * serial into buf), else NULL: with key-derived transactionIDs a renewal that
 * keeps the key reuses the enrollment's transactionID, so requests are told
 * apart by transactionID and renewed certificate.
 */
static const char *renew_key(struct pkiop *op, char *buf, size_t len)
{
	if (op->msg->signer == NULL || !renewal_signed_by_us(op->srv->renewal, op->msg->signer) ||
	    x509util_cert_serial_hex(op->msg->signer, buf, len) != 0)
		return NULL;
	return buf;
}

/* Answers from the certificate issued for this transaction, if any (1), else 0. */
static int answer_issued(struct pkiop *op, const struct csr *csr, const char *renew,
    int *result)
{
	struct store_cert *prev = NULL;
	unsigned char keyhash[32];
	int found = 1;

	switch (store_issued_for_renewal(op->st, op->msg->transaction_id, renew, &prev,
	    keyhash)) {
	case STORE_OK:
		*result = resend_recorded(op, csr, prev, keyhash);
		break;
	case STORE_NOT_FOUND:
		found = 0;
		break;
	default:
		*result = store_failed(op);
		break;
	}
	store_cert_free(prev);
	return found;
}

/* What asking the CA gave. */
enum ask {
	ASK_FAILED,     /* op holds the FAILURE (op->ca_refused: the backend said no) */
	ASK_ISSUED,     /* op->issued */
	ASK_PENDING,    /* op->ca_handle (NULL: the backend was unavailable, ask again) */
};

/* The outcome of a CA backend, for the pipeline. */
static enum ask ca_answer(struct pkiop *op, struct ca_result *res, int unavailable_pending)
{
	char why[sizeof(res->reason)];

	switch (res->outcome) {
	case CA_ISSUED:
		op->issued = res->cert;
		res->cert = NULL;
		return ASK_ISSUED;
	case CA_PENDING:
		free(op->ca_handle);
		op->ca_handle = res->handle;
		res->handle = NULL;
		return ASK_PENDING;
	case CA_REFUSED:
		/* fail() formats into op->reason: copy the backend's reason first. */
		snprintf(why, sizeof(why), "%s", res->reason);
		op->ca_refused = 1;
		fail(op, res->failinfo != SCEP_FAIL_NONE ? res->failinfo : SCEP_FAIL_BADREQUEST,
		    NDES_EVENT_SUBMIT, "the CA (backend %s) refused the request: %s",
		    ca_backend_name(op->be->ca), why);
		return ASK_FAILED;
	case CA_UNAVAILABLE:
	default:
		snprintf(why, sizeof(why), "%s", res->reason);
		if (unavailable_pending) {
			log_msg(LOG_WARNING, "%s: the CA (backend %s) is not available, the request "
			    "waits: %s", op->msg->transaction_id, ca_backend_name(op->be->ca), why);
			free(op->ca_handle);
			op->ca_handle = NULL;
			return ASK_PENDING;
		}
		op->ca_unanswered = 1;
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "the CA (backend %s) is not "
		    "available: %s", ca_backend_name(op->be->ca), why);
		return ASK_FAILED;
	}
}

/*
 * Asks the CA backend op->be for a certificate for a checked CSR (der: its
 * DER as received) under template t, in the CA generation current for the
 * request: grant, then ca_submit. unavailable_pending: an unavailable backend
 * leaves the request waiting (its when_unavailable, or a request that waits
 * already).
 */
static enum ask issue(struct pkiop *op, const struct csr *csr, const unsigned char *der,
    size_t der_len, const struct policy_template *t, int unavailable_pending)
{
	const struct profile_gen *gen = &op->srv->ps->gen[op->gen];
	struct ca_issuer issuer = { gen->signer, gen->crl_url };
	struct policy_grant grant;
	struct ca_request cr;
	struct ca_result res;
	char err[256];
	enum ask a;
	int result;

	if ((result = policy_grant_template(t, csr, &grant, err, sizeof(err))) != SCEP_FAIL_NONE) {
		fail(op, result, NDES_EVENT_SUBMIT, "%s", err);
		return ASK_FAILED;
	}
	memset(&cr, 0, sizeof(cr));
	cr.csr = csr->req;
	cr.pubkey = csr->pubkey;
	cr.csr_der = der;
	cr.csr_len = der_len;
	cr.san = csr->san;
	cr.key_usage = grant.key_usage;
	cr.eku = grant.eku;
	cr.n_eku = grant.n_eku;
	cr.validity_days = t->validity_days;
	cr.not_before = op->lab_not_before;
	cr.not_after = op->lab_not_after;
	cr.template_name = t->name;
	cr.issuer = &issuer;
	cr.transaction_id = op->msg->transaction_id;
	cr.client_addr = op->req->client_addr;
	cr.now = op->now;
	ca_submit(op->be->ca, &cr, &res);
	a = ca_answer(op, &res, unavailable_pending);
	ca_result_free(&res);
	return a;
}

/* The backend's when_unavailable is "pending". */
static int unavailable_waits(const struct pkiop *op)
{
	const char *w = op->be->conf->when_unavailable;

	return w != NULL && strcmp(w, "pending") == 0;
}

/* The store record of op->issued. der is the caller's to free. */
static int cert_record(struct pkiop *op, const char *subject, struct store_cert *sc,
    unsigned char **der)
{
	int n;

	memset(sc, 0, sizeof(*sc));
	*der = NULL;
	if (x509util_cert_serial_hex(op->issued, sc->serial, sizeof(sc->serial)) != 0 ||
	    (n = i2d_X509(op->issued, der)) <= 0)
		return -1;
	sc->subject = (char *)subject;
	if (x509util_time_seconds(X509_get0_notBefore(op->issued), &sc->not_before) != 0 ||
	    x509util_time_seconds(X509_get0_notAfter(op->issued), &sc->not_after) != 0)
		return -1;
	sc->der = *der;
	sc->der_len = (size_t)n;
	snprintf(sc->status, sizeof(sc->status), "valid");
	snprintf(sc->transaction_id, sizeof(sc->transaction_id), "%s", op->msg->transaction_id);
	sc->issued_at = op->now;
	snprintf(sc->issuer_key_id, sizeof(sc->issuer_key_id), "%s",
	    op->srv->ps->gen[op->gen].key_id);
	return 0;
}

/* A store answer about a one-time password, as a FAILURE (and one more for the limiter). */
static int challenge_refused(struct pkiop *op, int rc)
{
	ratelimit_fail(op->srv->challenge_limiter, op->req->client_addr, op->now);
	return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_PASSWORD, "%s",
	    challenge_result_text(rc == STORE_CHALLENGE_USED ? CHALLENGE_USED :
	    rc == STORE_CHALLENGE_EXPIRED ? CHALLENGE_EXPIRED : CHALLENGE_WRONG));
}

/* What the challenge validator is asked about, or told about, for this request. */
static void validator_request_of(const struct pkiop *op, const struct csr *csr,
    const unsigned char *der, size_t der_len, struct validator_request *vrq)
{
	memset(vrq, 0, sizeof(*vrq));
	vrq->transaction_id = op->msg->transaction_id;
	vrq->challenge = csr->challenge;
	vrq->profile = op->prof->path != NULL ? op->prof->name : "ndes";
	vrq->csr = csr->req;
	vrq->pubkey = csr->pubkey;
	vrq->csr_der = der;
	vrq->csr_len = der_len;
	vrq->client_addr = op->req->client_addr;
	vrq->now = op->now;
}

/*
 * The challenge step under a validator (challenge.validator or the
 * profile's): it decides instead of the password rules. 0 when there is no
 * validator (the password rules apply) or it allowed the request
 * (op->validated), 1 with the FAILURE when it refused, failed, timed out or
 * was busy: never a certificate then.
 */
static int validator_refused(struct pkiop *op, const struct csr *csr, const unsigned char *der,
    size_t der_len)
{
	struct validator_request vrq;
	struct validator_result res;
	enum validator_verdict v;
	unsigned blocked;

	op->validator = op->srv->profile_validator[op->prof - op->srv->ps->p];
	if (op->validator == NULL)
		return 0;
	/* Refused challenges count per address as rejected passwords do. */
	if ((blocked = ratelimit_blocked(op->srv->challenge_limiter, op->req->client_addr,
	    op->now)) > 0) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_PASSWORD, "too many refused challenges "
		    "from this address (challenge.max_failures); refused for %u more seconds "
		    "without asking validator %s", blocked, validator_name(op->validator));
		return 1;
	}
	validator_request_of(op, csr, der, der_len, &vrq);
	v = validator_check(op->validator, &vrq, &res);
	metrics_validator(op->srv->metrics, validator_name(op->validator), (unsigned)v,
	    res.seconds);
	log_msg(v == VALIDATOR_ALLOW ? LOG_INFO : LOG_NOTICE, "%s: validator=%s type=%s "
	    "outcome=%s latency_ms=%.0f reason=\"%s\"", op->msg->transaction_id,
	    validator_name(op->validator), validator_type(op->validator),
	    validator_verdict_name(v), res.seconds * 1000, res.reason);
	if (v == VALIDATOR_ALLOW) {
		op->validated = 1;
		return 0;
	}
	if (v == VALIDATOR_DENY)
		ratelimit_fail(op->srv->challenge_limiter, op->req->client_addr, op->now);
	fail_hr(op, v == VALIDATOR_DENY ? HR_E_ACCESSDENIED : HR_E_FAIL, SCEP_FAIL_BADREQUEST,
	    NDES_EVENT_PASSWORD, "validator %s (%s) %s the request (%s, %.0f ms): %s",
	    validator_name(op->validator), validator_type(op->validator),
	    v == VALIDATOR_DENY ? "refused" : "could not decide on", validator_verdict_name(v),
	    res.seconds * 1000, res.reason);
	return 1;
}

/*
 * 1 when the PKCSReq is signed by an RA the profile trusts (trusted_ra): a
 * front scepd checked the device's challenge, so this server asks none. Says
 * so in the log, naming the RA.
 */
static int ra_vouches(struct pkiop *op)
{
	const struct trusted_ra_set *s = op->srv->profile_trusted_ra[op->prof - op->srv->ps->p];
	const char *ra;
	char why[512];

	if (op->msg->message_type != SCEP_MSG_PKCSREQ || trusted_ra_count(s) == 0)
		return 0;
	if ((ra = trusted_ra_vouching(s, op->msg->signer, op->now, why, sizeof(why))) == NULL) {
		if (why[0] != '\0')
			log_msg(LOG_NOTICE, "%s: not vouched for: %s; the challenge is checked",
			    op->msg->transaction_id, why);
		return 0;
	}
	log_msg(LOG_INFO, "%s: no challenge asked: vouched for by RA \"%s\" (trusted_ra)",
	    op->msg->transaction_id, ra);
	return 1;
}

/* 1 when the profile's validator is asked about renewals too (validators.renewals). */
static int renewal_validated(const struct pkiop *op)
{
	const struct validator *v = op->srv->profile_validator[op->prof - op->srv->ps->p];

	return v != NULL && validator_validates_renewals(v);
}

/*
 * After a request the validator allowed: the certificate is stored, tell the
 * validator before the CertRep goes out (for Intune, a failed notification
 * withholds the certificate: the reply becomes a FAILURE); or issuing failed,
 * tell it why.
 */
static void validator_after(struct pkiop *op, const struct csr *csr,
    const unsigned char *der, size_t der_len)
{
	struct validator_request vrq;

	if (!op->validated || csr == NULL)
		return;
	validator_request_of(op, csr, der, der_len, &vrq);
	if (op->kind == REPLY_CERT && op->issued != NULL) {
		if (validator_notify_success(op->validator, &vrq, op->issued) != 0 &&
		    validator_success_required(op->validator))
			fail_hr(op, HR_E_FAIL, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
			    "validator %s (%s) was not told of certificate %s: it is recorded "
			    "but not delivered", validator_name(op->validator),
			    validator_type(op->validator), op->serial);
	} else if (op->kind == REPLY_FAILURE) {
		validator_notify_failure(op->validator, &vrq, op->failinfo, op->rq.hresult,
		    op->reason);
	}
}

/* What a request records besides its certificate. */
static void enrollment(struct pkiop *op, const struct csr *csr, const struct profile *prof,
    const struct policy_template *t, const char *challenge, const char *renew_serial,
    struct store_enrollment *e)
{
	memset(e, 0, sizeof(*e));
	e->transaction_id = op->msg->transaction_id;
	e->message_type = op->msg->message_type;
	e->client_addr = op->req->client_addr;
	e->pubkey_sha256 = csr->spki_sha256;
	e->subject = csr->subject;
	e->challenge = challenge;
	e->now = op->now;
	e->signer_sha256 = op->have_signer ? op->signer_sha256 : NULL;
	e->profile = prof->name;
	e->template_name = t->name;
	e->renew_serial = renew_serial != NULL && renew_serial[0] != '\0' ? renew_serial : NULL;
	e->revoke_renewed = e->renew_serial != NULL &&
	    strcmp(op->srv->cfg->renewal_old_certificate, "revoke") == 0;
}

/*
 * A new enrollment whose certificate is about to be issued by the local CA:
 * a batch being committed meanwhile may wait for it (commitq.h). Counted off
 * when it is queued (commit), or by expect_no_commit.
 */
static void expect_commit(struct pkiop *op)
{
	commitq_expect(op->srv->commits);
	op->commit_expected = 1;
}

/* The announced enrollment will not be committed (or is being queued now). */
static void expect_no_commit(struct pkiop *op)
{
	if (!op->commit_expected)
		return;
	commitq_withdraw(op->srv->commits);
	op->commit_expected = 0;
}

/*
 * Records op->issued durably: a new request (pending_id < 0), or the approved
 * waiting request pending_id. On a lost race the recorded certificate is sent.
 */
static int commit(struct pkiop *op, const struct csr *csr, struct store_enrollment *e,
    int64_t pending_id)
{
	struct store_cert sc;
	unsigned char *der = NULL;
	char why[256];
	size_t led = 0;
	int rc, result = SCEP_FAIL_BADREQUEST;

	if (cert_record(op, csr->subject, &sc, &der) != 0)
		goto out;
	e->cert = &sc;
	/* A new request shares its commit with others (commitq.h); it returns after it. */
	if (pending_id < 0) {
		op->commit_expected = 0;   /* queueing it counts the announcement off */
		rc = commitq_enroll(op->srv->commits, op->st, e, &led, why, sizeof(why));
		metrics_commit(op->srv->metrics, led);
	} else {
		rc = store_pending_issue(op->st, pending_id, e);
		snprintf(why, sizeof(why), "%s", rc == STORE_OK ? "" : store_errmsg(op->st));
	}
	switch (rc) {
	case STORE_OK:
		snprintf(op->serial, sizeof(op->serial), "%s", sc.serial);
		op->kind = REPLY_CERT;
		result = SCEP_FAIL_NONE;
		break;
	case STORE_CHALLENGE_UNKNOWN:
	case STORE_CHALLENGE_USED:
	case STORE_CHALLENGE_EXPIRED:
		result = challenge_refused(op, rc);
		break;
	case STORE_NOT_FOUND:
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "renewal: the "
		    "certificate being renewed is not in the store any more");
		break;
	case STORE_CONFLICT:
		/* Another request with this transactionID won a race, or it was revoked meanwhile. */
		X509_free(op->issued);
		op->issued = NULL;
		if (!answer_issued(op, csr, e->renew_serial, &result))
			result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "%s", why);
		break;
	default:
		log_msg(LOG_ERR, "store: %s", why);
		break;
	}
out:
	/* op->kind starts as REPLY_FAILURE: a failure nobody described has no failinfo yet. */
	if (result != SCEP_FAIL_NONE && op->failinfo == SCEP_FAIL_NONE)
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "the certificate could not be recorded in the store");
	if (op->kind != REPLY_CERT) {
		X509_free(op->issued);
		op->issued = NULL;
	}
	OPENSSL_free(der);
	return op->kind == REPLY_CERT ? SCEP_FAIL_NONE : op->failinfo;
}

/* A note for the log of a request a backend keeps waiting. */
static const char *backend_note(const struct pkiop *op)
{
	return op->ca_handle != NULL ? "waiting for the CA (the backend answered PENDING)" :
	    "waiting for the CA (the backend is not available; asked again at the next poll)";
}

/* Asks the backend again about a waiting request it has (ca_poll with its handle). */
static enum ask poll_backend(struct pkiop *op, const struct store_pending *pend)
{
	struct ca_poll_request pr;
	struct ca_result res;
	enum ask a;

	memset(&pr, 0, sizeof(pr));
	pr.handle = pend->backend_handle;
	pr.pubkey_sha256 = pend->pubkey_sha256;
	pr.transaction_id = pend->transaction_id;
	pr.client_addr = op->req->client_addr;
	pr.now = op->now;
	ca_poll(op->be->ca, &pr, &res);
	a = ca_answer(op, &res, 1);
	ca_result_free(&res);
	if (a == ASK_PENDING && op->ca_handle == NULL)
		op->ca_handle = xstrdup(pend->backend_handle);   /* unavailable: keep the handle */
	return a;
}

/*
 * The request a waiting row holds, to issue or to send to op->be: the stored
 * copy (kept without its challenge; its signature was checked on arrival),
 * or, for a CA backend that has not had it yet, the device's request exactly
 * as sent, opened again from the stored envelope with prof's RA keys. *orig
 * is the opened DER (NULL when the stored copy is used; free it).
 */
static struct csr *stored_request(struct pkiop *op, const struct profile *prof,
    const struct store_pending *pend, unsigned char **orig, size_t *orig_len)
{
	struct csr *csr = NULL, *result = NULL;
	const char *matched = NULL;
	char err[256];
	size_t g;
	int rc = SCEP_FAIL_BADREQUEST;

	*orig = NULL;
	*orig_len = 0;
	if (forwards_request(op->be) && pend->backend_handle == NULL && pend->envelope != NULL) {
		for (g = 0; g < 2 && rc != SCEP_FAIL_NONE; g++)
			if (prof->signer[g] != NULL)
				rc = signer_decrypt(prof->signer[g], pend->envelope,
				    pend->envelope_len, op->srv->cfg->allow_des, orig, orig_len,
				    &matched, err, sizeof(err));
		if (rc != SCEP_FAIL_NONE && op->srv->prev != NULL && prof == &op->srv->ps->p[0])
			rc = signer_decrypt(op->srv->prev, pend->envelope, pend->envelope_len,
			    op->srv->cfg->allow_des, orig, orig_len, &matched, err, sizeof(err));
		if (rc != SCEP_FAIL_NONE) {
			fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "the stored envelope of "
			    "request %lld cannot be opened any more: %s", (long long)pend->id, err);
			goto out;
		}
		if ((csr = csr_parse(*orig, *orig_len, err, sizeof(err))) == NULL ||
		    memcmp(csr->spki_sha256, pend->pubkey_sha256, 32) != 0) {
			fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "the stored envelope of "
			    "request %lld does not hold its request", (long long)pend->id);
			goto out;
		}
	} else {
		if ((csr = csr_parse(pend->csr, pend->csr_len, err, sizeof(err))) == NULL) {
			fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
			    "the stored request cannot be read: %s", err);
			goto out;
		}
		csr->self_signature_ok = 1;   /* checked on arrival, before its challenge went */
	}
	result = csr;
	csr = NULL;
out:
	csr_free(csr);
	if (result == NULL && *orig != NULL) {
		OPENSSL_clear_free(*orig, *orig_len);
		*orig = NULL;
	}
	return result;
}

/*
 * Issues a waiting request that may be issued now (approved by an
 * administrator, or handed to a CA backend), under the profile and template
 * it was made for: the local CA issues it; a backend is asked (again), and
 * its handle or refusal is recorded.
 */
static int issue_waiting(struct pkiop *op, const struct store_pending *pend)
{
	struct scep_server *srv = op->srv;
	const struct profile *prof;
	const struct policy_template *t;
	struct store_enrollment e;
	struct csr *csr = NULL;
	unsigned char *orig = NULL;
	size_t orig_len = 0;
	char err[256];
	enum ask a;
	int result;

	if ((prof = profiles_find(srv->ps, pend->profile)) == NULL ||
	    (t = policy_template_find(srv->policy, pend->template_name)) == NULL) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "profile %s or "
		    "template %s of request %lld is not configured any more",
		    pend->profile ? pend->profile : "?",
		    pend->template_name ? pend->template_name : "?", (long long)pend->id);
		goto out;
	}
	/* A request handed to a backend stays with it; others go to the profile's. */
	op->be = pend->backend != NULL ? backend_named(srv, pend->backend) : backend_of(srv, prof);
	if (pend->backend != NULL && (op->be == NULL ||
	    strcmp(ca_backend_type(op->be->ca), "local") == 0)) {
		op->be = backend_of(srv, prof);
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "request %lld waits "
		    "for backend %s, which is not configured any more", (long long)pend->id,
		    pend->backend);
		goto out;
	}
	if ((csr = stored_request(op, prof, pend, &orig, &orig_len)) == NULL) {
		result = op->failinfo;
		goto out;
	}
	if ((result = policy_check_template(t, csr, err, sizeof(err))) != SCEP_FAIL_NONE) {
		result = fail(op, result, NDES_EVENT_SUBMIT, "%s", err);
		goto out;
	}
	free(op->subject);
	op->subject = xstrdup(csr->subject);
	if (pend->backend != NULL && pend->backend_handle != NULL)
		a = poll_backend(op, pend);
	else
		a = issue(op, csr, orig != NULL ? orig : pend->csr,
		    orig != NULL ? orig_len : pend->csr_len, t,
		    pend->backend != NULL || unavailable_waits(op));
	switch (a) {
	case ASK_FAILED:
		result = op->failinfo;
		if (op->ca_refused && store_pending_refuse(op->st, pend->id, op->failinfo,
		    op->reason, op->now) != STORE_OK)
			log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		goto out;
	case ASK_PENDING:
		if ((pend->backend == NULL || pend->backend_handle == NULL ||
		    op->ca_handle == NULL || strcmp(pend->backend_handle, op->ca_handle) != 0) &&
		    store_pending_set_backend(op->st, pend->id, ca_backend_name(op->be->ca),
		    op->ca_handle) != STORE_OK) {
			result = store_failed(op);
			goto out;
		}
		op->kind = REPLY_PENDING;
		op->note = backend_note(op);
		result = SCEP_FAIL_NONE;
		goto out;
	case ASK_ISSUED:
		break;
	}
	enrollment(op, csr, prof, t, NULL, pend->renew_serial, &e);
	e.message_type = pend->message_type;
	e.pubkey_sha256 = pend->pubkey_sha256;
	if ((result = commit(op, csr, &e, pend->id)) == SCEP_FAIL_NONE)
		op->note = pend->backend != NULL ? "issued by the CA after waiting" :
		    "issued the request an administrator approved";
out:
	if (orig != NULL)
		OPENSSL_clear_free(orig, orig_len);
	csr_free(csr);
	return result;
}

/*
 * The answer for a transaction that waits for approval or for a CA backend:
 * PENDING, FAILURE once rejected (by an administrator or the backend), or
 * the certificate once approved or issued. The message must come from the
 * key that made the request (RFC 8894 §3.3.3: CertPoll is matched by
 * transactionID and signer, not by the IssuerAndSubject it carries).
 */
static int answer_pending(struct pkiop *op, const struct store_pending *pend)
{
	if (!op->have_signer || memcmp(pend->signer_sha256, op->signer_sha256, 32) != 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "transactionID %s waits "
		    "for approval of a request signed with another key", pend->transaction_id);
	if (strcmp(pend->decision, "rejected") == 0 && pend->reason != NULL)
		return fail(op, pend->failinfo >= 0 ? pend->failinfo : SCEP_FAIL_BADREQUEST,
		    NDES_EVENT_SUBMIT, "request %lld: %s", (long long)pend->id, pend->reason);
	if (strcmp(pend->decision, "rejected") == 0)
		return fail_hr(op, HR_E_ACCESSDENIED, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT,
		    "request %lld was rejected by an administrator", (long long)pend->id);
	if (strcmp(pend->decision, "approved") == 0 || pend->backend != NULL)
		return issue_waiting(op, pend);
	op->kind = REPLY_PENDING;
	op->note = "waiting for approval (scepctl request approve)";
	return SCEP_FAIL_NONE;
}

/* Answers from the waiting request of this transaction, if any (1), else 0. */
static int answer_waiting(struct pkiop *op, const char *renew, int *result)
{
	struct store_pending *pend = NULL;
	int found = 1;

	switch (store_pending_for_transaction(op->st, op->msg->transaction_id, renew, &pend)) {
	case STORE_OK:
		*result = answer_pending(op, pend);
		break;
	case STORE_NOT_FOUND:
		found = 0;
		break;
	default:
		*result = store_failed(op);
		break;
	}
	store_pending_free(pend);
	return found;
}

/*
 * A renewal signer (scep.md §1.4.6): chains to this CA, valid (with grace), in
 * the window, same subject and SANs unless the template allows a change, and a
 * certificate of this server that is not revoked. Its serial goes to serial.
 */
static int check_renewal(struct pkiop *op, const struct csr *csr,
    const struct policy_template *t, char *serial, size_t serial_len)
{
	const struct config *cfg = op->srv->cfg;
	struct renewal_rules rules;
	struct store_cert *known = NULL;
	unsigned char *der = NULL;
	enum renewal_verdict verdict;
	char why[400];
	int n, result;

	memset(&rules, 0, sizeof(rules));
	rules.grace_days = cfg->renewal_grace_days;
	rules.window_days = cfg->renewal_window_days;
	rules.allow_key_reuse = cfg->renewal_allow_key_reuse;
	rules.allow_subject_change = t->allow_subject_change;
	if ((verdict = renewal_check(op->srv->renewal, op->msg->signer, csr, &rules, op->now, why,
	    sizeof(why))) != RENEWAL_OK) {
		result = fail_hr(op, verdict == RENEWAL_EXPIRED ? HR_CERT_E_EXPIRED : 0,
		    SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "%s", why);
		goto out;
	}
	if (x509util_cert_serial_hex(op->msg->signer, serial, serial_len) != 0) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL,
		    "renewal: the signer certificate's serial cannot be read");
		goto out;
	}
	switch (store_cert_by_serial(op->st, serial, &known)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "renewal: the signer "
		    "certificate (serial %s) was not issued by this server", serial);
		goto out;
	default:
		result = store_failed(op);
		goto out;
	}
	if ((n = i2d_X509(op->msg->signer, &der)) <= 0 || (size_t)n != known->der_len ||
	    memcmp(der, known->der, known->der_len) != 0) {
		result = fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "renewal: the signer "
		    "certificate differs from the one this server issued with serial %s", serial);
		goto out;
	}
	if (strcmp(known->status, "valid") != 0) {
		result = fail_hr(op, HR_CRYPT_E_REVOKED, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL,
		    "renewal: the signer certificate (serial %s) is revoked", serial);
		goto out;
	}
	result = SCEP_FAIL_NONE;
out:
	OPENSSL_free(der);
	store_cert_free(known);
	return result;
}

/* --- PKIOperation: lab mode (lab.h) -------------------------------------- */

/* The search for the first lab rule that matches an enrollment. */
struct lab_find {
	const struct csr *csr;
	const char *profile;
	int64_t id;
	struct lab_rule *rule;
};

static int lab_rule_try(const struct store_lab_rule *r, void *arg)
{
	struct lab_find *f = arg;
	struct lab_rule *rule;
	char why[256];

	if ((rule = lab_rule_parse(r->rule, strlen(r->rule), r->created_at, why,
	    sizeof(why))) == NULL) {
		log_msg(LOG_WARNING, "lab rule %lld is ignored: %s", (long long)r->id, why);
		return 0;
	}
	if (!lab_rule_matches(rule, f->profile, f->csr->challenge, f->csr->subject)) {
		lab_rule_free(rule);
		return 0;
	}
	f->id = r->id;
	f->rule = rule;
	return 1;
}

/*
 * Lab mode, for an enrollment: the first rule (in id order) that matches and
 * has a use left scripts the answer, instead of the validator and challenge
 * checks. 1 when the answer is set in op (a FAILURE, or one that
 * lab_deliver() turns into an HTTP error), else 0: the request goes on, as a
 * rule's SUCCESS, PENDING or wrong key, or as usual when no rule applies.
 */
static int lab_scripted(struct pkiop *op, const struct csr *csr)
{
	struct lab_find f = { csr, op->prof->name, 0, NULL };
	const struct lab_rule *r;

	if (!op->srv->cfg->lab_enabled)
		return 0;
	if (store_lab_rule_foreach(op->st, op->now, 0, lab_rule_try, &f) < 0 ||
	    (f.rule != NULL && store_lab_rule_use(op->st, f.id, op->now) != STORE_OK)) {
		log_msg(LOG_WARNING, "%s: lab rules: %s", op->msg->transaction_id,
		    store_errmsg(op->st));
		lab_rule_free(f.rule);
		return 0;
	}
	if ((r = op->lab = f.rule) == NULL)
		return 0;
	op->lab_rule = f.id;
	(void)lab_validity_window(r->validity, op->now, &op->lab_not_before, &op->lab_not_after);
	snprintf(op->lab_note, sizeof(op->lab_note), "lab rule %lld: scripted outcome=%s%s%s",
	    (long long)f.id, lab_outcome_name(r->outcome), r->validity != LAB_VALIDITY_NORMAL ?
	    " with a validity override" : "", r->delay > 0 ? " after a delay" : "");
	log_msg(LOG_NOTICE, "%s: %s (delay %u s)", op->msg->transaction_id, op->lab_note,
	    r->delay);
	if (r->outcome == LAB_FAILURE) {
		fail_hr(op, r->hresult, r->failinfo, NDES_EVENT_SUBMIT, "%s failInfo=%s",
		    op->lab_note, scep_failinfo_name(r->failinfo));
		return 1;
	}
	if (r->outcome == LAB_HTTP) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "%s: HTTP %u instead of a CertRep",
		    op->lab_note, r->http_status);
		return 1;
	}
	return 0;
}

/* 1 when a lab rule keeps this enrollment PENDING. */
static int lab_pends(const struct pkiop *op)
{
	return op->lab != NULL && op->lab->outcome == LAB_PENDING;
}

/* A request a lab rule keeps PENDING now waits: its polls are counted from here. */
static void lab_pending_recorded(struct pkiop *op)
{
	struct store_lab_poll p;

	if (!lab_pends(op) || op->kind != REPLY_PENDING)
		return;
	memset(&p, 0, sizeof(p));
	p.rule_id = op->lab_rule;
	p.polls_left = op->lab->polls;
	p.then_failure = op->lab->then_failure;
	p.failinfo = op->lab->failinfo;
	p.hresult = op->lab->hresult;
	p.not_before = op->lab_not_before;
	p.not_after = op->lab_not_after;
	if (store_lab_poll_add(op->st, op->msg->transaction_id, &p, op->now) != STORE_OK)
		log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
	snprintf(op->lab_note, sizeof(op->lab_note), "lab rule %lld: scripted PENDING for %u "
	    "poll(s), then %s", (long long)op->lab_rule, p.polls_left,
	    p.then_failure ? "FAILURE" : "SUCCESS");
}

/*
 * A CertPoll for a request a lab rule keeps PENDING: while polls are left it
 * stays waiting (the usual answer is PENDING); at the end it is approved
 * (the usual answer issues it) or refused here with the rule's failInfo.
 * 1 when op holds the answer.
 */
static int lab_polled(struct pkiop *op)
{
	struct store_lab_poll p;
	struct store_pending *pend = NULL;
	const char *txid = op->msg->transaction_id;
	int answered = 0;

	if (!op->srv->cfg->lab_enabled || store_lab_poll_get(op->st, txid, &p) != STORE_OK)
		return 0;
	op->lab_rule = p.rule_id;
	op->lab_not_before = p.not_before;
	op->lab_not_after = p.not_after;
	if (p.polls_left > 0) {
		if (store_lab_poll_count(op->st, txid) == STORE_ERROR)
			log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		snprintf(op->lab_note, sizeof(op->lab_note), "lab rule %lld: scripted PENDING "
		    "(%u more poll(s) then %s)", (long long)p.rule_id, p.polls_left - 1,
		    p.then_failure ? "FAILURE" : "SUCCESS");
		return 0;
	}
	snprintf(op->lab_note, sizeof(op->lab_note), "lab rule %lld: scripted %s after the "
	    "PENDING polls", (long long)p.rule_id, p.then_failure ? "FAILURE" : "SUCCESS");
	if (store_pending_for_transaction(op->st, txid, NULL, &pend) == STORE_OK &&
	    pend->decision[0] == '\0') {
		if (p.then_failure) {
			fail_hr(op, p.hresult, p.failinfo, NDES_EVENT_SUBMIT, "%s failInfo=%s",
			    op->lab_note, scep_failinfo_name(p.failinfo));
			answered = 1;
			if (store_pending_refuse(op->st, pend->id, p.failinfo, op->reason,
			    op->now) != STORE_OK)
				log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		} else if (store_pending_decide(op->st, pend->id, 1, op->now) != STORE_OK) {
			log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		}
	}
	store_pending_free(pend);
	if (store_lab_poll_done(op->st, txid) != STORE_OK)
		log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
	log_msg(LOG_NOTICE, "%s: %s", txid, op->lab_note);
	return answered;
}

/* Sleeps for seconds, whole, across signals. */
static void lab_sleep(unsigned seconds)
{
	struct timespec ts = { (time_t)seconds, 0 };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* IIS's 403 page: a lab rule's outcome, and a plain GET of mscep.dll in Intune mode. */
static const char iis_forbidden[] =
    "<h1>Server Error</h1><h2>403 - Forbidden: Access is denied.</h2>";

/*
 * Step 8 (lab mode): what a rule scripted for the delivery: a delay before
 * answering, and an HTTP error like a broken IIS instead of the CertRep. 1
 * when resp holds the HTTP error.
 */
static int lab_deliver(const struct pkiop *op, struct http_response *resp)
{
	static const char *const iis[] = {
		iis_forbidden,
		"<h1>Server Error</h1><h2>500 - Internal server error.</h2>",
		"<h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p>",
	};
	const char *body;

	if (op->lab == NULL)
		return 0;
	if (op->lab->delay > 0)
		lab_sleep(op->lab->delay);
	if (op->lab->outcome != LAB_HTTP)
		return 0;
	body = op->lab->http_status == 403 ? iis[0] : op->lab->http_status == 500 ? iis[1] :
	    iis[2];
	set_body(resp, (int)op->lab->http_status, CT_HTML, body, strlen(body));
	return 1;
}

/* --- PKIOperation: the message types -------------------------------------- */

/* PKCSReq (19) and RenewalReq (17). */
/*
 * A PKCSReq (not a renewal) signed with a key other than the one it asks a
 * certificate for: RFC 8894 3.3.1 allows it (an RA, an MDM or an older
 * certificate signs); NDES-style deployments may not want it. Always logged;
 * refused with badRequest under scep.allow_other_signer_key = false. 1 when
 * refused (the FAILURE is set in op), else 0.
 */
static int other_signer_key(struct pkiop *op, const struct csr *csr)
{
	int allowed = op->srv->cfg->allow_other_signer_key;
	char serial[80];

	if (!op->have_signer || memcmp(op->signer_sha256, csr->spki_sha256, 32) == 0)
		return 0;
	if (x509util_cert_serial_hex(op->msg->signer, serial, sizeof(serial)) != 0)
		snprintf(serial, sizeof(serial), "?");
	log_msg(LOG_NOTICE, "client=%s txid=%s: the PKCSReq is signed with a key other "
	    "than the one it requests a certificate for (signer certificate serial %s): %s",
	    op->req->client_addr, op->msg->transaction_id, serial,
	    allowed ? "allowed (scep.allow_other_signer_key)" : "refused");
	if (allowed)
		return 0;
	fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "the PKCSReq is signed with a key "
	    "other than the one it requests a certificate for (scep.allow_other_signer_key "
	    "is false)");
	return 1;
}

static void enroll(struct pkiop *op)
{
	struct scep_server *srv = op->srv;
	const struct profile *prof = op->prof;
	const struct policy_template *t;
	struct store_enrollment e;
	struct csr *csr = NULL;
	unsigned char *plain = NULL, *kept = NULL;
	size_t plain_len = 0, kept_len = 0;
	char err[256], renew_serial[80], keybuf[80];
	const char *renew = NULL;
	int result, renewal, reserved = 0, vouched;
	unsigned blocked;
	enum policy_usage usage;
	enum challenge_result cr;
	enum store_rc rc;
	enum ask a;

	renew_serial[0] = '\0';
	if (open_envelope(op, &plain, &plain_len) != SCEP_FAIL_NONE)
		goto out;
	if ((csr = csr_parse(plain, plain_len, err, sizeof(err))) == NULL) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO,
		    "the envelope does not hold a valid PKCS#10 request: %s", err);
		goto out;
	}
	op->subject = xstrdup(csr->subject);
	memcpy(op->keyhash, csr->spki_sha256, sizeof(op->keyhash));
	op->have_keyhash = 1;

	renewal = op->msg->message_type == SCEP_MSG_RENEWALREQ;
	if (renewal && !prof->renewal) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RENEWAL, "RenewalReq: renewal is not "
		    "enabled here (renewal.enabled%s)", prof->path != NULL ? ", or the profile's "
		    "renewal" : "");
		goto out;
	}
	/*
	 * A PKCSReq signed by a certificate this CA issued for the same subject is
	 * a renewal (Apple, Cisco, sscep, certmonger). Signed by one for another
	 * subject it is an enrollment: an RA (a scepd forwarding to this one, as
	 * NDES to AD CS) or an MDM identity signs for many devices.
	 */
	if (!renewal && prof->renewal && renewal_signed_by_us(srv->renewal, op->msg->signer) &&
	    X509_NAME_cmp(X509_get_subject_name(op->msg->signer),
	    X509_REQ_get_subject_name(csr->req)) == 0)
		renewal = 1;
	if (!renewal && other_signer_key(op, csr))
		goto out;

	usage = policy_usage_of(csr);
	t = prof->tmpl[usage];
	if ((result = policy_check_template(t, csr, err, sizeof(err))) != SCEP_FAIL_NONE) {
		fail(op, result, NDES_EVENT_SUBMIT, "%s (%s)", err, policy_usage_name(usage));
		goto out;
	}
	/* A transaction seen before gets its recorded answer. */
	if (renewal)
		renew = renew_key(op, keybuf, sizeof(keybuf));
	if (answer_issued(op, csr, renew, &result) || answer_waiting(op, renew, &result))
		goto out;
	if (renewal && check_renewal(op, csr, t, renew_serial, sizeof(renew_serial)) !=
	    SCEP_FAIL_NONE)
		goto out;
	/* Lab mode: a matching lab rule answers instead of the validator and challenge. */
	if (lab_scripted(op, csr))
		goto out;
	/*
	 * A request an RA we trust vouches for needs no challenge. Under a
	 * validator, it decides instead of the password rules; renewals too
	 * unless its renewals setting is "skip".
	 */
	vouched = !renewal && ra_vouches(op);
	if (op->lab == NULL && !vouched &&
	    (!renewal || prof->renewal_challenge || renewal_validated(op)) &&
	    validator_refused(op, csr, plain, plain_len))
		goto out;
	/* A renewal needs no challenge unless the profile says so; one sent is ignored. */
	if ((!renewal || prof->renewal_challenge) && !op->validated && !vouched &&
	    op->lab == NULL) {
		if (prof->challenge.enforce_password &&
		    (blocked = ratelimit_blocked(srv->challenge_limiter, op->req->client_addr,
		    op->now)) > 0) {
			fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_PASSWORD, "too many rejected "
			    "challenge passwords from this address (challenge.max_failures); "
			    "refused for %u more seconds", blocked);
			goto out;
		}
		/* A one-time password is reserved here, before any CA is asked. */
		cr = challenge_check_mode(&prof->challenge, op->st, csr->challenge, prof->name,
		    op->now, &reserved);
		if (cr != CHALLENGE_OK) {
			if (cr != CHALLENGE_ERROR)
				ratelimit_fail(srv->challenge_limiter, op->req->client_addr, op->now);
			fail(op, SCEP_FAIL_BADREQUEST, cr == CHALLENGE_ERROR ? NDES_EVENT_NONE :
			    NDES_EVENT_PASSWORD, "%s", challenge_result_text(cr));
			goto out;
		}
	}
	enrollment(op, csr, prof, t, reserved ? csr->challenge : NULL, renew_serial, &e);
	/* Manual approval comes before the CA backend is asked. */
	if (!(prof->approval || t->approval || lab_pends(op))) {
		/* announced only when signed here: an upstream (scep, exec) may take seconds */
		if (!forwards_request(op->be))
			expect_commit(op);
		a = issue(op, csr, plain, plain_len, t, unavailable_waits(op));
		if (a != ASK_ISSUED)
			expect_no_commit(op);
		switch (a) {
		case ASK_FAILED:
			/* Nothing issued, unless a CA that did not answer did: then it stays spent. */
			if (reserved && !op->ca_unanswered && challenge_release(op->st,
			    csr->challenge) != 0)
				log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
			goto out;
		case ASK_ISSUED:
			commit(op, csr, &e, -1);
			if (op->kind == REPLY_CERT && renewal)
				op->note = e.revoke_renewed ? "renewal; the renewed certificate is "
				    "revoked (superseded)" : "renewal";
			goto out;
		case ASK_PENDING:
			e.backend = ca_backend_name(op->be->ca);
			e.backend_handle = op->ca_handle;
			break;
		}
	}
	/* Kept without the challenge; a backend still to be sent it gets the envelope again. */
	if (challenge_redact_csr(plain, plain_len, &kept, &kept_len) != 0) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_SUBMIT, "the request cannot be kept "
		    "without its challenge password");
		goto out;
	}
	if (forwards_request(op->be) && e.backend_handle == NULL) {
		e.envelope = op->msg->envelope;
		e.envelope_len = op->msg->envelope_len;
	}
	switch ((rc = store_request_pending(op->st, &e, kept, kept_len))) {
	case STORE_OK:
		op->kind = REPLY_PENDING;
		op->note = e.backend != NULL ? backend_note(op) :
		    "waiting for approval (scepctl request approve)";
		lab_pending_recorded(op);
		break;
	case STORE_CONFLICT:
		if (!answer_issued(op, csr, renew, &result) &&
		    !answer_waiting(op, renew, &result))
			store_failed(op);
		break;
	case STORE_CHALLENGE_UNKNOWN:
	case STORE_CHALLENGE_USED:
	case STORE_CHALLENGE_EXPIRED:
		challenge_refused(op, rc);
		break;
	default:
		store_failed(op);
		break;
	}
out:
	expect_no_commit(op);   /* issued, but not recorded (commit refused it early) */
	validator_after(op, csr, plain, plain_len);
	OPENSSL_free(kept);
	csr_free(csr);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
}

/* CertPoll (20): keyed by transactionID and signer; IssuerAndSubject is only checked. */
static void certpoll(struct pkiop *op)
{
	struct certid *id = NULL;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	const char *renew;
	char err[256], keybuf[80];
	int result;

	if (open_envelope(op, &plain, &plain_len) != SCEP_FAIL_NONE)
		goto out;
	if ((id = certid_parse_issuer_and_subject(plain, plain_len, err, sizeof(err))) == NULL) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO, "CertPoll: %s", err);
		goto out;
	}
	/* Lab mode: a request a lab rule keeps PENDING counts its polls. */
	if (lab_polled(op))
		goto out;
	/* A renewal polls signed by the certificate it renews. */
	renew = op->prof->renewal ? renew_key(op, keybuf, sizeof(keybuf)) : NULL;
	if (answer_issued(op, NULL, renew, &result) || answer_waiting(op, renew, &result))
		goto out;
	/*
	 * Signed by a certificate of ours but not a renewal: an RA (a scepd
	 * forwarding to this one) polls for a device's enrollment.
	 */
	if (renew != NULL && (answer_issued(op, NULL, NULL, &result) ||
	    answer_waiting(op, NULL, &result)))
		goto out;
	fail(op, SCEP_FAIL_BADCERTID, NDES_EVENT_NONE, "CertPoll: no request with "
	    "transactionID %s is known", op->msg->transaction_id);
out:
	certid_free(id);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
}

/* The generations whose CA has this subject: bit g set for generation g. */
static unsigned gens_named(const struct pkiop *op, const X509_NAME *issuer)
{
	const struct profiles *ps = op->srv->ps;
	unsigned mask = 0;
	size_t g;

	for (g = 0; g < ps->n_gen; g++)
		if (X509_NAME_cmp(X509_get_subject_name(signer_ca_cert(ps->gen[g].signer)),
		    issuer) == 0)
			mask |= 1u << g;
	return mask;
}

/* GetCert (21): a certificate this CA issued, by issuer and serial. */
static void getcert(struct pkiop *op)
{
	struct certid *id = NULL;
	struct store_cert *sc = NULL;
	unsigned char *plain = NULL;
	const unsigned char *p;
	size_t plain_len = 0;
	char err[256];

	if (open_envelope(op, &plain, &plain_len) != SCEP_FAIL_NONE)
		goto out;
	if ((id = certid_parse_issuer_and_serial(plain, plain_len, err, sizeof(err))) == NULL) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO, "GetCert: %s", err);
		goto out;
	}
	if (gens_named(op, id->issuer) == 0) {
		fail(op, SCEP_FAIL_BADCERTID, NDES_EVENT_NONE, "GetCert: the issuer is not this CA");
		goto out;
	}
	switch (store_cert_by_serial(op->st, id->serial_hex, &sc)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		fail(op, SCEP_FAIL_BADCERTID, NDES_EVENT_NONE, "GetCert: no certificate with "
		    "serial %s was issued here", id->serial_hex);
		goto out;
	default:
		store_failed(op);
		goto out;
	}
	p = sc->der;
	if ((op->issued = d2i_X509(NULL, &p, (long)sc->der_len)) == NULL ||
	    X509_NAME_cmp(X509_get_issuer_name(op->issued), id->issuer) != 0) {
		X509_free(op->issued);
		op->issued = NULL;
		fail(op, SCEP_FAIL_BADCERTID, NDES_EVENT_NONE, "GetCert: certificate %s has "
		    "another issuer", id->serial_hex);
		goto out;
	}
	free(op->subject);
	op->subject = xstrdup(sc->subject);
	snprintf(op->serial, sizeof(op->serial), "%s", sc->serial);
	op->kind = REPLY_CERT;
	op->note = strcmp(sc->status, "valid") == 0 ? NULL : "the certificate is revoked";
out:
	store_cert_free(sc);
	certid_free(id);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
}

/* GetCRL (22): the CRL of the CA named by the IssuerAndSerialNumber. */
static void getcrl(struct pkiop *op)
{
	const struct config *cfg = op->srv->cfg;
	const struct profiles *ps = op->srv->ps;
	struct certid *id = NULL;
	struct store_cert *sc = NULL;
	unsigned char *plain = NULL;
	size_t plain_len = 0, g;
	unsigned mask;
	char err[256];

	if (open_envelope(op, &plain, &plain_len) != SCEP_FAIL_NONE)
		goto out;
	if ((id = certid_parse_issuer_and_serial(plain, plain_len, err, sizeof(err))) == NULL) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_RETRIEVE_INFO, "GetCRL: %s", err);
		goto out;
	}
	if (!cfg->crl_scep) {
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "GetCRL is switched off (crl.scep)");
		goto out;
	}
	if ((mask = gens_named(op, id->issuer)) == 0) {
		fail(op, SCEP_FAIL_BADCERTID, NDES_EVENT_NONE, "GetCRL: the issuer is not this CA");
		goto out;
	}
	/* A rollover CA keeps the subject: the certificate's record says which CA issued it. */
	g = mask & (1u << op->gen) ? op->gen : (mask & 1u ? 0 : 1);
	if (mask == 3u && store_cert_by_serial(op->st, id->serial_hex, &sc) == STORE_OK) {
		for (size_t i = 0; i < ps->n_gen; i++)
			if (strcmp(sc->issuer_key_id, ps->gen[i].key_id) == 0 ||
			    (sc->issuer_key_id[0] == '\0' && ps->gen[i].legacy))
				g = i;
	}
	if (crl_current(op->st, ps->gen[g].signer, ps->gen[g].legacy, cfg->crl_validity_hours,
	    op->now, 0, &op->crl, &op->crl_len, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "CRL: %s", err);
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE, "the CRL is not available");
		goto out;
	}
	op->kind = REPLY_CRL;
out:
	store_cert_free(sc);
	certid_free(id);
	if (plain != NULL)
		OPENSSL_clear_free(plain, plain_len);
}

/* --- PKIOperation: the pipeline ------------------------------------------ */

/* Step 1: the state of a PKIOperation for prof, before its message is read. */
static void pkiop_init(struct pkiop *op, struct scep_server *srv, const struct profile *prof,
    const struct http_request *req)
{
	memset(op, 0, sizeof(*op));
	op->srv = srv;
	op->req = req;
	op->prof = prof;
	op->be = backend_of(srv, prof);
	op->now = now_seconds();
	op->gen = profiles_current(srv->ps, op->now);
	op->failinfo = SCEP_FAIL_NONE;
	op->kind = REPLY_FAILURE;
}

/* Step 2: what the CertRep echoes from the parsed message, and who signed it. */
static void reply_fields(struct pkiop *op)
{
	const struct pkimsg *msg = op->msg;

	op->rq.transaction_id = msg->transaction_id;
	op->rq.sender_nonce = msg->sender_nonce;
	op->rq.sender_nonce_len = msg->sender_nonce_len;
	op->rq.digest_nid = msg->digest_nid;
	op->rq.recipient = msg->signer_keyed;
	op->rq.cipher_nid = NID_undef;
	if (msg->signer != NULL &&
	    x509util_spki_sha256(X509_get_X509_PUBKEY(msg->signer), op->signer_sha256) == 0)
		op->have_signer = 1;
}

/*
 * Step 3: what every message must pass before its type is looked at: what
 * pkimsg found wrong, the profile's digests, the clock skew, a known
 * messageType. SCEP_FAIL_NONE, or the failInfo of the FAILURE set in op.
 */
static int check_message(struct pkiop *op)
{
	const struct config *cfg = op->srv->cfg;
	const struct pkimsg *msg = op->msg;
	int64_t skew = msg->signing_time - op->now;
	EVP_PKEY *key;
	unsigned bit;
	char where[128];

	if (msg->failinfo != SCEP_FAIL_NONE)
		return fail(op, msg->failinfo, NDES_EVENT_RETRIEVE_INFO, "%s", msg->reason);
	if ((bit = digest_bit(msg->digest_nid)) == 0 || (op->prof->digests & bit) == 0)
		return fail(op, SCEP_FAIL_BADALG, NDES_EVENT_RETRIEVE_INFO, "the message digest "
		    "%s is not allowed (%s)", msg->digest_nid == NID_undef ? "(unknown)" :
		    OBJ_nid2sn(msg->digest_nid), list_name(op, "digests",
		    msg->digest_nid == NID_sha1 ? "scep.allow_sha1" :
		    msg->digest_nid == NID_md5 ? "scep.allow_md5" : "supported digests",
		    where, sizeof(where)));
	/* Every SUCCESS is encrypted to the signer: refused before anything is spent. */
	if (!certrep_can_envelope(msg->signer_keyed))
		return fail(op, SCEP_FAIL_BADALG, NDES_EVENT_RETRIEVE_INFO, "the signer "
		    "certificate's key is %s, not RSA: no CertRep can be encrypted to it "
		    "(RFC 8894 §3.2.2)", (key = X509_get0_pubkey(msg->signer_keyed)) != NULL ?
		    OBJ_nid2sn(EVP_PKEY_get_base_id(key)) : "unusable");
	if (cfg->max_clock_skew != 0 && msg->has_signing_time &&
	    (skew > (int64_t)cfg->max_clock_skew || -skew > (int64_t)cfg->max_clock_skew))
		return fail(op, SCEP_FAIL_BADTIME, NDES_EVENT_NONE, "the message's signingTime is "
		    "%lld seconds %s the server's clock; at most %u are allowed "
		    "(scep.max_clock_skew)", (long long)(skew < 0 ? -skew : skew),
		    skew < 0 ? "behind" : "ahead of", cfg->max_clock_skew);
	if (strcmp(scep_msgtype_name(msg->message_type), "unknown") == 0)
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "the messageType is not a SCEP request type");
	return SCEP_FAIL_NONE;
}

/* Step 4: a store connection for the message's records. */
static int open_store(struct pkiop *op)
{
	char err[512];

	if ((op->st = store_pool_get(op->srv->pool, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "store: %s", err);
		return fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "the store is not available");
	}
	return SCEP_FAIL_NONE;
}

/*
 * Step 4, after a refusal in step 3: a store connection only to record that
 * refusal (sign_reply), so that `scepctl request history` shows a clock skew or
 * a refused algorithm as it shows every later refusal. A message without a
 * transactionID is not recorded; a store failure is logged and leaves op's
 * reason as it is.
 */
static void open_store_for_refusal(struct pkiop *op)
{
	char err[512];

	if (op->msg->transaction_id[0] == '\0')
		return;   /* nothing to file it under */
	if ((op->st = store_pool_get(op->srv->pool, err, sizeof(err))) == NULL)
		log_msg(LOG_ERR, "store: %s", err);
}

/* Step 5: the answer to the message, by its messageType, into op. */
static void answer_message(struct pkiop *op)
{
	switch (op->msg->message_type) {
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_RENEWALREQ:
		enroll(op);
		break;
	case SCEP_MSG_CERTPOLL:
		certpoll(op);
		break;
	case SCEP_MSG_GETCERT:
		getcert(op);
		break;
	case SCEP_MSG_GETCRL:
		getcrl(op);
		break;
	default:
		fail(op, SCEP_FAIL_BADREQUEST, NDES_EVENT_NONE,
		    "this message type is not answered by a server");
		break;
	}
}

/*
 * Step 6: the signed CertRep of op's answer (a FAILURE is recorded in the
 * store first), by the RA the client encrypted to. NULL with the reason in err.
 */
static unsigned char *sign_reply(struct pkiop *op, size_t *len, char *err, size_t errlen)
{
	const struct profile *prof = op->prof;
	const struct signer *signer = op->by_prev ? op->srv->prev : prof->signer[op->gen];

	/* Lab mode: a CertRep signed by the wrong key, on purpose. */
	if (op->lab != NULL && op->lab->outcome == LAB_WRONGKEY && op->srv->lab_signer != NULL)
		signer = op->srv->lab_signer;

	switch (op->kind) {
	case REPLY_FAILURE:
		/* A refused digest is not used for the reply either. */
		if (op->failinfo == SCEP_FAIL_BADALG || op->failinfo == SCEP_FAIL_BADMESSAGECHECK)
			op->rq.digest_nid = NID_undef;
		if (!op->srv->cfg->ndes_hresult)
			op->rq.hresult = 0;
		if (op->st != NULL &&
		    store_request_failed(op->st, op->msg->transaction_id, op->msg->message_type,
		    op->req->client_addr, op->have_keyhash ? op->keyhash : NULL, op->subject,
		    op->failinfo, op->reason, op->now) != STORE_OK)
			log_msg(LOG_ERR, "store: %s", store_errmsg(op->st));
		return certrep_failure(signer, &op->rq, op->failinfo, op->reason, len, err, errlen);
	case REPLY_CERT:
		return certrep_success(signer, &op->rq, op->issued, prof->certrep_extra[op->gen],
		    len, err, errlen);
	case REPLY_CRL:
		return certrep_success_crl(signer, &op->rq, op->crl, op->crl_len, len, err, errlen);
	case REPLY_PENDING:
		return certrep_pending(signer, &op->rq, len, err, errlen);
	}
	errorf(err, errlen, "no reply");
	return NULL;
}

/*
 * Step 7: the access log line and the counters of a PKIOperation; signed: a
 * CertRep was signed (else the HTTP 500 for an unusable RA key, why in err).
 */
static void log_reply(const struct pkiop *op, int signed_ok, const char *err)
{
	struct scep_server *srv = op->srv;
	struct log_request lr;
	char txid[PKIMSG_MAX_TRANSACTION_ID + 1];

	snprintf(txid, sizeof(txid), "%s", op->msg->transaction_id);
	memset(&lr, 0, sizeof(lr));
	lr.client = op->req->client_addr;
	lr.operation = "PKIOperation";
	lr.message_type = scep_msgtype_name(op->msg->message_type);
	lr.transaction_id = txid;
	lr.subject = op->subject;
	if (!signed_ok) {
		lr.status = signer_remote_unavailable(err) ? 503 : 500;
		lr.reason = err;
		log_request(&lr);
		metrics_request(srv->metrics, METRICS_OP_PKIOPERATION, METRICS_ERROR);
		return;
	}
	lr.status = 200;
	switch (op->kind) {
	case REPLY_FAILURE:
		lr.outcome = "FAILURE";
		lr.fail_info = scep_failinfo_name(op->failinfo);
		lr.event = op->event;
		lr.reason = op->reason;
		break;
	case REPLY_PENDING:
		lr.outcome = "PENDING";
		lr.reason = op->note;
		break;
	default:
		lr.outcome = "SUCCESS";
		lr.serial = op->serial[0] != '\0' ? op->serial : NULL;
		lr.reason = op->note;
		break;
	}
	/* Every scripted answer says so. */
	if (op->lab_rule != 0 && op->kind != REPLY_FAILURE)
		lr.reason = op->lab_note;
	if (op->lab != NULL && op->lab->outcome == LAB_HTTP)
		lr.status = (int)op->lab->http_status;
	if (op->by_prev && lr.reason == NULL)
		lr.reason = "the client encrypted to the previous RA certificate (from before "
		    "`scepctl ra renew`): answered by that RA";
	log_request(&lr);
	metrics_request(srv->metrics, METRICS_OP_PKIOPERATION,
	    op->kind == REPLY_FAILURE ? METRICS_FAILURE : METRICS_SUCCESS);
	if (op->kind == REPLY_FAILURE)
		metrics_failinfo(srv->metrics, op->failinfo);
}

/*
 * Step 8 (lab mode, lab.record): the exchange as it crossed the wire, with
 * its timing and outcome, into the store's recordings (oldest dropped past
 * lab.record_max and lab.record_max_bytes). op is NULL for a message that
 * could not be parsed (answered with an HTTP error). A store failure is
 * logged and changes nothing in the reply.
 */
static void record_exchange(struct scep_server *srv, const struct profile *prof,
    const struct http_request *req, const struct pkiop *op, const unsigned char *der,
    size_t len, const struct http_response *resp, int64_t received_ms, const char *why)
{
	const struct config *cfg = srv->cfg;
	struct store_recording r;
	struct store *st = NULL;
	char err[256];

	if (!cfg->lab_enabled || !cfg->lab_record)
		return;
	memset(&r, 0, sizeof(r));
	r.message_type = -1;
	r.failinfo = -1;
	if (op != NULL) {
		snprintf(r.transaction_id, sizeof(r.transaction_id), "%s", op->msg->transaction_id);
		r.message_type = op->msg->message_type;
	}
	snprintf(r.profile, sizeof(r.profile), "%s", prof->name);
	snprintf(r.client_addr, sizeof(r.client_addr), "%s",
	    req->client_addr != NULL ? req->client_addr : "");
	r.received_ms = received_ms;
	r.answered_ms = now_millis();
	r.http_status = resp->status;
	if (op == NULL || resp->status != 200)
		snprintf(r.outcome, sizeof(r.outcome), "HTTP");
	else
		snprintf(r.outcome, sizeof(r.outcome), "%s", op->kind == REPLY_FAILURE ? "FAILURE" :
		    op->kind == REPLY_PENDING ? "PENDING" : "SUCCESS");
	if (op != NULL && resp->status == 200 && op->kind == REPLY_FAILURE)
		r.failinfo = op->failinfo;
	snprintf(r.reason, sizeof(r.reason), "%s", why != NULL ? why :
	    op != NULL && op->kind == REPLY_FAILURE ? op->reason :
	    op != NULL && op->note != NULL ? op->note : "");
	r.request = (unsigned char *)der;
	r.request_len = len;
	r.reply = resp->body;
	r.reply_len = resp->body_len;
	if ((st = store_pool_get(srv->pool, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "lab.record: %s", err);
		return;
	}
	if (store_recording_put(st, &r, cfg->lab_record_max, cfg->lab_record_max_bytes) !=
	    STORE_OK)
		log_msg(LOG_ERR, "lab.record: %s", store_errmsg(st));
	store_pool_put(srv->pool, st);
}

/* What a PKIOperation holds until its reply is sent. */
static void pkiop_free(struct pkiop *op)
{
	if (op->st != NULL)
		store_pool_put(op->srv->pool, op->st);
	X509_free(op->issued);
	lab_rule_free(op->lab);
	free(op->ca_handle);
	free(op->crl);
	free(op->subject);
	pkimsg_free(op->msg);
}

/*
 * A PKIOperation (der: the pkiMessage): parse it, check it, answer it by its
 * type, sign the CertRep, log it. Only a message that cannot be parsed, or a
 * reply that cannot be signed, gets an HTTP error.
 */
static void pkioperation(struct scep_server *srv, const struct profile *prof,
    const struct http_request *req, const unsigned char *der, size_t len,
    struct http_response *resp)
{
	double started = mono_seconds();
	int64_t received_ms = now_millis();
	struct pkiop op;
	unsigned char *reply;
	size_t reply_len = 0;
	char err[512];

	pkiop_init(&op, srv, prof, req);
	ERR_clear_error();
	if ((op.msg = pkimsg_parse(der, len, err, sizeof(err))) == NULL) {
		http_error(srv, req, resp, "PKIOperation", 400, NDES_EVENT_DECODE, err);
		record_exchange(srv, prof, req, NULL, der, len, resp, received_ms, err);
		return;
	}
	reply_fields(&op);
	if (check_message(&op) != SCEP_FAIL_NONE)
		open_store_for_refusal(&op);
	else if (open_store(&op) == SCEP_FAIL_NONE)
		answer_message(&op);
	reply = sign_reply(&op, &reply_len, err, sizeof(err));
	log_reply(&op, reply != NULL, err);
	if (lab_deliver(&op, resp)) {
		free(reply);
	} else if (reply == NULL) {
		/*
		 * No CertRep can be signed: 503 while the signer process restarts,
		 * else the one case for HTTP 500 (RA key unusable).
		 */
		if (signer_remote_unavailable(err))
			httpd_text(resp, 503, "the signer process is restarting; try again");
		else
			httpd_text(resp, 500, "the server cannot sign its reply");
	} else {
		metrics_enrollment_seconds(srv->metrics, mono_seconds() - started);
		resp->status = 200;
		resp->content_type = CT_PKI;
		resp->body = reply;
		resp->body_len = reply_len;
	}
	record_exchange(srv, prof, req, &op, der, len, resp, received_ms,
	    reply == NULL ? err : NULL);
	pkiop_free(&op);
}

/* The default profile's signer in the current CA generation. */
static const struct signer *default_signer(const struct scep_server *srv)
{
	return srv->ps->p[0].signer[profiles_current(srv->ps, now_seconds())];
}

void scep_server_lab(struct scep_server *srv, const struct http_request *req,
    struct http_response *resp)
{
	labpage_handle(srv->cfg, srv->pool, default_signer(srv), req, resp);
}

void scep_server_share_limiters(struct scep_server *srv, struct ratelimit *challenge,
    struct ratelimit *signin)
{
	if (!srv->limiter_shared)
		ratelimit_free(srv->challenge_limiter);
	srv->challenge_limiter = challenge;
	srv->limiter_shared = 1;
	admin_share_limiter(srv->admin, signin);
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
	int64_t not_after;

	memset(out, 0, sizeof(*out));
	out->role = role;
	if (x509util_time_seconds(X509_get0_notAfter(cert), &not_after) != 0)
		return -1;
	out->not_after = (long long)not_after;
	if (x509util_cert_serial_hex(cert, out->serial, sizeof(out->serial)) != 0)
		return -1;
	if ((name = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0)) == NULL)
		return -1;
	snprintf(out->subject, sizeof(out->subject), "%s", name);
	OPENSSL_free(name);
	return 0;
}

/* The RA certificates of s from out[n] on: signing, then encryption unless the same. */
static size_t ra_cert_infos(const struct signer *s, const char *sign_role, const char *enc_role,
    struct scep_cert_info *out, size_t n, size_t max)
{
	X509 *sign = signer_ra_sign_cert(s), *enc = signer_ra_enc_cert(s);

	if (n < max && cert_info(sign, sign_role, &out[n]) == 0)
		n++;
	if (X509_cmp(sign, enc) != 0 && n < max && cert_info(enc, enc_role, &out[n]) == 0)
		n++;
	return n;
}

size_t scep_server_certs(const struct scep_server *srv, struct scep_cert_info *out, size_t max)
{
	const struct signer *s = default_signer(srv);
	size_t n = 0;

	if (n < max && cert_info(signer_ca_cert(s), "ca", &out[n]) == 0)
		n++;
	if (!signer_has_ra(s))
		return n;
	n = ra_cert_infos(s, "ra-sign", "ra-enc", out, n, max);
	if (srv->prev != NULL)
		n = ra_cert_infos(srv->prev, "ra-sign-previous", "ra-enc-previous", out, n, max);
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
	const struct signer *s = default_signer(srv);
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
	certs[0] = signer_ca_cert(s);
	certs[1] = signer_ra_sign_cert(s);
	certs[2] = signer_ra_enc_cert(s);
	for (i = 0; i < 3; i++) {
		if (X509_cmp_time(X509_get0_notAfter(certs[i]), NULL) < 0) {
			snprintf(err, errlen, "the %s certificate has expired",
			    i == 0 ? "CA" : i == 1 ? "RA signing" : "RA encryption");
			goto out;
		}
	}
	/* The RA signing key signs: the operation every reply needs. */
	if ((sig = signer_sign_message(s, NID_sha256, NULL, 0, NULL, &siglen, err,
	    errlen)) == NULL)
		goto out;
	rc = 0;
out:
	free(sig);
	ERR_clear_error();
	if (st != NULL)
		store_pool_put(srv->pool, st);
	return rc;
}


/*
 * NDES answers its URL validation probes with 200 (ndes.md §3.1): a fake
 * PKIOperation and the unknown operation "GetCACerts". The probe is logged as
 * NDES logs it, as an undecodable request.
 */
static void probe_answer(const struct http_request *req, struct http_response *resp,
    const struct route *rt)
{
	log_request(&(struct log_request){ .client = req->client_addr, .operation = rt->operation,
	    .status = 200, .event = rt->event,
	    .reason = "NDES URL validation probe (Validate-NDESUrl.ps1): answered 200" });
	httpd_text(resp, 200, "NDES URL validation request received");
}

/* PKIOperation by GET: the message parameter decoded (route.c saw that there is one). */
static void pkioperation_get(struct scep_server *srv, const struct profile *prof,
    const struct http_request *req, struct http_response *resp)
{
	const char *val = NULL;
	size_t vlen = 0, der_len;
	unsigned char *der;
	char err[256];

	(void)query_find(req->query, req->query_len, "message", &val, &vlen);
	if ((der = query_decode_message(val, vlen, &der_len, err, sizeof(err))) == NULL) {
		http_error(srv, req, resp, "PKIOperation", 400, NDES_EVENT_DECODE, err);
		/* recorded as received: the message parameter, still escaped */
		record_exchange(srv, prof, req, NULL, (const unsigned char *)val, vlen, resp,
		    now_millis(), err);
		return;
	}
	pkioperation(srv, prof, req, der, der_len, resp);
	free(der);
}

/* --- HTTP: CRL and the NDES page ------------------------------------------ */

/* Serves the CRL of CA generation g. */
static void crl_http(struct scep_server *srv, size_t g, const struct http_request *req,
    struct http_response *resp)
{
	const struct profiles *ps = srv->ps;
	struct store *st = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	char err[512];

	if ((st = store_pool_get(srv->pool, err, sizeof(err))) == NULL ||
	    crl_current(st, ps->gen[g].signer, ps->gen[g].legacy, srv->cfg->crl_validity_hours,
	    now_seconds(), 0, &der, &len, err, sizeof(err)) != 0) {
		log_msg(LOG_ERR, "CRL: %s", err);
		http_error(srv, req, resp, "CRL", 503, NDES_EVENT_NONE, "the CRL is not available");
		goto out;
	}
	resp->status = 200;
	resp->content_type = CT_CRL;
	resp->body = der;
	resp->body_len = len;
	der = NULL;
	log_simple(srv, req, "CRL", 200, NULL);
out:
	free(der);
	if (st != NULL)
		store_pool_put(srv->pool, st);
}

/* The general page a plain GET of mscep.dll shows without the Intune connector (ndes.md §3.6). */
static const char ndes_page[] =
    "<HTML><HEAD><TITLE>Network Device Enrollment Service</TITLE></HEAD>\r\n"
    "<BODY>\r\n"
    "<H1>Network Device Enrollment Service</H1>\r\n"
    "<P>Network Device Enrollment Service allows you to obtain certificates for routers "
    "or other network devices using the Simple Certificate Enrollment Protocol (SCEP).</P>\r\n"
    "<P>This URL is used by network devices to submit certificate requests.</P>\r\n"
    "<P>To obtain an enrollment challenge password, go to the admin URL. By default, the "
    "admin URL is http://&lt;server&gt;/CertSrv/mscep_admin</P>\r\n"
    "</BODY></HTML>\r\n";

/* --- dispatch ------------------------------------------------------------ */

/*
 * 1 when Microsoft Intune decides the challenges of profile i (a validator of
 * type intune). NDES with the Intune connector hands out no passwords (its
 * mscep_admin page is gone) and answers a plain GET of mscep.dll with 403,
 * the answer Microsoft's Validate-NDESConfiguration.ps1 calls healthy
 * (ndes.md 2.4, 3.6).
 */
static int intune_decides(const struct scep_server *srv, size_t i)
{
	const struct validator *v = srv->profile_validator[i];

	return v != NULL && strcmp(validator_type(v), "intune") == 0;
}

/* GetNextCACert: the rollover CA's certificates while it waits for its switch-over. */
static void get_next_ca_cert(struct scep_server *srv, size_t g, const struct http_request *req,
    struct http_response *resp, const char *op)
{
	if (srv->ps->next_ca != NULL && g == 0) {
		set_body(resp, 200, CT_NEXT_CA, srv->ps->next_ca, srv->ps->next_ca_len);
		log_simple(srv, req, op, 200, NULL);
	} else
		http_error(srv, req, resp, op, 404, NDES_EVENT_NONE, "no rollover CA certificate is "
		    "waiting (scepctl ca rollover)");
}

void scep_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct scep_server *srv = ctx;
	const struct profile *prof;
	struct route rt;
	size_t g;

	route_match(srv->ps, srv->cfg->admin_enabled, req, &rt);
	prof = rt.prof;
	g = profiles_current(srv->ps, now_seconds());
	switch (rt.handler) {
	case ROUTE_ERROR:
		http_error(srv, req, resp, rt.operation, rt.status, rt.event, rt.reason);
		resp->allow = rt.allow;
		break;
	case ROUTE_CRL:
		crl_http(srv, rt.gen, req, resp);
		break;
	case ROUTE_ADMIN:
		if (intune_decides(srv, rt.prof != NULL ? (size_t)(rt.prof - srv->ps->p) : 0))
			http_error(srv, req, resp, "mscep_admin", 404, NDES_EVENT_NONE, "no challenge "
			    "page: Intune decides the challenges (a validator of type intune)");
		else if (rt.prof != NULL)   /* a profile's own page: passwords for that profile only */
			admin_handle_profile(srv->admin, g, rt.prof->name, &rt.prof->challenge,
			    req, resp);
		else
			admin_handle(srv->admin, g, req, resp);
		break;
	case ROUTE_NDES_PAGE:
		if (intune_decides(srv, 0)) {
			set_body(resp, 403, CT_HTML, iis_forbidden, sizeof(iis_forbidden) - 1);
			log_simple(srv, req, "-", 403, "plain GET of the NDES URL in Intune mode: "
			    "403, as NDES with the Intune connector");
			break;
		}
		set_body(resp, 200, CT_HTML, ndes_page, sizeof(ndes_page) - 1);
		log_simple(srv, req, "-", 200, "plain GET of the NDES URL: the general page");
		break;
	case ROUTE_NDES_PROBE:
		probe_answer(req, resp, &rt);
		break;
	case ROUTE_GET_CA_CAPS:
		set_body(resp, 200, CT_CAPS, prof->caps[g], prof->caps_len[g]);
		log_simple(srv, req, rt.operation, 200, NULL);
		break;
	case ROUTE_GET_CA_CERT:
		set_body(resp, 200, prof->cacert_type[g], prof->cacert[g], prof->cacert_len[g]);
		log_simple(srv, req, rt.operation, 200, NULL);
		break;
	case ROUTE_GET_NEXT_CA_CERT:
		get_next_ca_cert(srv, g, req, resp, rt.operation);
		break;
	case ROUTE_PKIOPERATION_GET:
		pkioperation_get(srv, prof, req, resp);
		break;
	case ROUTE_PKIOPERATION_POST:
		pkioperation(srv, prof, req, req->body, req->body_len, resp);
		break;
	}
}
