/* SPDX-License-Identifier: ISC */
/*
 * ca.c: the CA backend interface (ca.h). Builds the backend a configured
 * backend group names (its type), dispatches submit and poll to it, and holds what every backend
 * shares: the result helpers, the check an issued certificate passes before
 * any backend may return it (the CSR's key, a chain to ca.cert), and the
 * counting limit on concurrent work. It holds no key and decides no policy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "ca.h"
#include "ca_impl.h"
#include "config.h"
#include "scep_types.h"
#include "util.h"
#include "x509util.h"

struct ca_backend {
	const struct ca_ops *ops;
	void *impl;
	char *name;
};

struct ca_backend *ca_backend_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen)
{
	struct ca_backend *ca = NULL;
	const char *type = b->type != NULL ? b->type : "local";
	char why[400] = "";

	ca = xcalloc(1, sizeof(*ca));
	if (strcmp(type, "local") == 0) {
		ca->ops = &ca_local_ops;
		ca->impl = ca_local_new(cfg, b, signer, why, sizeof(why));
	} else if (strcmp(type, "exec") == 0) {
		ca->ops = &ca_exec_ops;
		ca->impl = ca_exec_new(cfg, b, signer, why, sizeof(why));
	} else if (strcmp(type, "scep") == 0) {
		ca->ops = &ca_scep_ops;
		ca->impl = ca_scep_new(cfg, b, signer, why, sizeof(why));
	} else {
		errorf(why, sizeof(why), "unknown backend type \"%s\"", type);
	}
	if (ca->impl == NULL) {
		errorf(err, errlen, "backend \"%s\": %s", CONFIG_BACKEND_NAME(b), why);
		free(ca);
		return NULL;
	}
	ca->name = xstrdup(CONFIG_BACKEND_NAME(b));
	return ca;
}

void ca_backend_free(struct ca_backend *ca)
{
	if (ca == NULL)
		return;
	ca->ops->free(ca->impl);
	free(ca->name);
	free(ca);
}

const char *ca_backend_type(const struct ca_backend *ca)
{
	return ca->ops->type;
}

const char *ca_backend_name(const struct ca_backend *ca)
{
	return ca->name;
}

enum ca_outcome ca_submit(struct ca_backend *ca, const struct ca_request *req,
    struct ca_result *res)
{
	memset(res, 0, sizeof(*res));
	res->failinfo = SCEP_FAIL_NONE;
	if (req->csr == NULL || req->transaction_id == NULL || req->transaction_id[0] == '\0')
		return ca_set(res, CA_REFUSED, "the request has no CSR or no transactionID");
	ERR_clear_error();
	return ca->ops->submit(ca->impl, req, res);
}

enum ca_outcome ca_poll(struct ca_backend *ca, const struct ca_poll_request *req,
    struct ca_result *res)
{
	memset(res, 0, sizeof(*res));
	res->failinfo = SCEP_FAIL_NONE;
	if (req->handle == NULL || req->handle[0] == '\0')
		return ca_set(res, CA_REFUSED, "the pending request has no backend handle");
	if (req->pubkey_sha256 == NULL || req->transaction_id == NULL)
		return ca_set(res, CA_REFUSED, "the poll has no key hash or no transactionID");
	ERR_clear_error();
	return ca->ops->poll(ca->impl, req, res);
}

void ca_result_free(struct ca_result *res)
{
	if (res == NULL)
		return;
	X509_free(res->cert);
	sk_X509_pop_free(res->chain, X509_free);
	free(res->handle);
	memset(res, 0, sizeof(*res));
	res->failinfo = SCEP_FAIL_NONE;
}

const char *ca_outcome_name(enum ca_outcome o)
{
	switch (o) {
	case CA_ISSUED:
		return "ISSUED";
	case CA_PENDING:
		return "PENDING";
	case CA_REFUSED:
		return "REFUSED";
	case CA_UNAVAILABLE:
		return "UNAVAILABLE";
	}
	return "unknown";
}

enum ca_outcome ca_set(struct ca_result *res, enum ca_outcome o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	res->outcome = o;
	if (o == CA_REFUSED && res->failinfo == SCEP_FAIL_NONE)
		res->failinfo = SCEP_FAIL_BADREQUEST;
	return o;
}

int ca_spki_sha256_req(X509_REQ *req, unsigned char out[32])
{
	return x509util_spki_sha256(X509_REQ_get_X509_PUBKEY(req), out);
}

int ca_spki_sha256_cert(X509 *cert, unsigned char out[32])
{
	return x509util_spki_sha256(X509_get_X509_PUBKEY(cert), out);
}

enum ca_outcome ca_accept_issued(struct ca_result *res, const unsigned char spki[32],
    X509 *ca_cert, STACK_OF(X509) *certs)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *issued = NULL;
	unsigned char h[32];
	enum ca_outcome o = CA_UNAVAILABLE;
	int i, n = certs != NULL ? sk_X509_num(certs) : 0;

	for (i = 0; i < n; i++) {
		if (ca_spki_sha256_cert(sk_X509_value(certs, i), h) == 0 &&
		    memcmp(h, spki, sizeof(h)) == 0) {
			issued = sk_X509_delete(certs, i);
			break;
		}
	}
	ERR_clear_error();
	if (issued == NULL) {
		ca_set(res, CA_UNAVAILABLE, "none of the %d certificates the backend returned is "
		    "for the request's public key", n);
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, ca_cert) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, issued, certs) != 1) {
		ca_set(res, CA_UNAVAILABLE, "cannot check the issued certificate (out of memory)");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		ca_set(res, CA_UNAVAILABLE, "the certificate the backend returned does not chain to "
		    "ca.cert: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	res->cert = issued;
	issued = NULL;
	if (certs != NULL && sk_X509_num(certs) > 0) {
		res->chain = certs;
		certs = NULL;
	}
	res->outcome = o = CA_ISSUED;
	res->reason[0] = '\0';
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(issued);
	sk_X509_pop_free(certs, X509_free);
	return o;
}

const unsigned char *ca_csr_der(const struct ca_request *req, size_t *len,
    unsigned char **owned)
{
	unsigned char *der = NULL;
	int n;

	*owned = NULL;
	if (req->csr_der != NULL && req->csr_len > 0) {
		*len = req->csr_len;
		return req->csr_der;
	}
	if ((n = i2d_X509_REQ(req->csr, &der)) <= 0)
		return NULL;
	*owned = der;
	*len = (size_t)n;
	return der;
}

/* --- concurrency limit ------------------------------------------------------ */

int ca_slots_init(struct ca_slots *s, unsigned n)
{
	s->available = n;
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return -1;
	if (cond_init_monotonic(&s->cv) != 0) {
		pthread_mutex_destroy(&s->mu);
		return -1;
	}
	return 0;
}

int ca_slots_acquire(struct ca_slots *s, unsigned timeout)
{
	struct timespec deadline;
	int rc = 0, e = 0;

	monotonic_deadline(&deadline, (long long)timeout * 1000000);
	pthread_mutex_lock(&s->mu);
	while (s->available == 0 && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
	if (s->available == 0)
		rc = -1;
	else
		s->available--;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void ca_slots_release(struct ca_slots *s)
{
	pthread_mutex_lock(&s->mu);
	s->available++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void ca_slots_destroy(struct ca_slots *s)
{
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
}
