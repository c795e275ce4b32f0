/* SPDX-License-Identifier: ISC */
/*
 * ca_impl.h: what ca.c shares with the backend modules (ca_local.c,
 * ca_exec.c, ca_scep.c) and nobody else: the operations table each backend
 * fills in, the result helpers, the check every issued certificate passes, and
 * a counting limit on concurrent work. The pipeline includes ca.h only.
 */
#ifndef CA_IMPL_H
#define CA_IMPL_H

#include <pthread.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "ca.h"

struct ca_ops {
	const char *type;
	enum ca_outcome (*submit)(void *impl, const struct ca_request *req, struct ca_result *res);
	enum ca_outcome (*poll)(void *impl, const struct ca_poll_request *req, struct ca_result *res);
	void (*free)(void *impl);
};

extern const struct ca_ops ca_local_ops, ca_exec_ops, ca_scep_ops;

void *ca_local_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen);
void *ca_exec_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen);
void *ca_scep_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen);

/* Sets res->outcome and res->reason (printf format); returns the outcome. */
enum ca_outcome ca_set(struct ca_result *res, enum ca_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* SHA-256 of the SubjectPublicKeyInfo DER of a CSR or a certificate. 0 or -1. */
int ca_spki_sha256_req(X509_REQ *req, unsigned char out[32]);
int ca_spki_sha256_cert(X509 *cert, unsigned char out[32]);

/*
 * Takes the certificates a backend returned (certs is consumed): the one
 * whose SubjectPublicKeyInfo hashes to spki_sha256 becomes res->cert, the others res->chain, once
 * it is verified to chain to ca_cert (through the others if needed; dates
 * are not checked, so a clock a little off does not refuse a fresh
 * certificate). CA_ISSUED, or CA_UNAVAILABLE with the reason.
 */
enum ca_outcome ca_accept_issued(struct ca_result *res, const unsigned char spki_sha256[32],
    X509 *ca_cert, STACK_OF(X509) *certs);

/* The CSR's DER: req->csr_der, or a fresh encoding (*owned set to it, free it). */
const unsigned char *ca_csr_der(const struct ca_request *req, size_t *len,
    unsigned char **owned);

/* A counting limit: at most n holders; acquire waits up to timeout seconds. */
struct ca_slots {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned available;
};

int ca_slots_init(struct ca_slots *s, unsigned n);
int ca_slots_acquire(struct ca_slots *s, unsigned timeout);   /* 0, or -1 on timeout */
void ca_slots_release(struct ca_slots *s);
void ca_slots_destroy(struct ca_slots *s);

#endif
