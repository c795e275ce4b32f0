/* SPDX-License-Identifier: ISC */
/*
 * validator_impl.h: what validator.c shares with the validator types
 * (webhook.c, validator_exec.c) and nobody else: the operations table each
 * type fills in, the result helper, and the JSON document every type sends
 * (step-ca's webhook request body). The pipeline includes validator.h only.
 */
#ifndef VALIDATOR_IMPL_H
#define VALIDATOR_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "validator.h"

struct config_validator;

struct validator_ops {
	const char *type;
	void *(*create)(const struct config_validator *c, char *err, size_t errlen);
	enum validator_verdict (*check)(void *impl, const struct validator_request *rq,
	    struct validator_result *res);
	/* NULL: the type tells nobody. 0 or -1 with why. */
	int (*notify_success)(void *impl, const struct validator_request *rq, X509 *cert,
	    char *why, size_t whylen);
	int (*notify_failure)(void *impl, const struct validator_request *rq, int failinfo,
	    int32_t hresult, const char *description, char *why, size_t whylen);
	void (*destroy)(void *impl);
	/* 1: a failed success notification withholds the certificate (Intune, intune.md §4). */
	int success_required;
};

extern const struct validator_ops validator_webhook_ops, validator_exec_ops,
    validator_intune_ops;

/* Sets res->verdict and res->reason (printf format); returns the verdict. */
enum validator_verdict validator_set_result(struct validator_result *res,
    enum validator_verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The JSON documents, as step-ca's webhook.RequestBody (malloc'd,
 * NUL-terminated, *len without the NUL; NULL when the request cannot be
 * encoded). provisioner: the profile name, "ndes" for the NDES paths.
 *   challenge: timestamp, provisionerName, scepChallenge, scepTransactionID,
 *              x509CertificateRequest (parsed fields and raw, base64 DER)
 *   success:   the same without scepChallenge, plus x509Certificate
 *   failure:   the same without scepChallenge, plus scepErrorCode and
 *              scepErrorDescription
 */
char *webhook_body_challenge(const struct validator_request *rq, size_t *len);
char *webhook_body_success(const struct validator_request *rq, X509 *cert, size_t *len);
char *webhook_body_failure(const struct validator_request *rq, int code,
    const char *description, size_t *len);

/*
 * X-Smallstep-Signature: lower-case hex HMAC-SHA256 of body keyed by secret
 * into out (65 bytes). 0 or -1.
 */
int webhook_signature(const unsigned char *secret, size_t secret_len, const char *body,
    size_t len, char out[65]);

#endif
