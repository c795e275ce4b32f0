/* SPDX-License-Identifier: ISC */
/*
 * validator.h: challenge validators, the services that decide whether a
 * request is issued instead of the password rules (challenge.validator,
 * profiles.validator, validators = ( { ... } ) in scepd.conf):
 *   webhook  step-ca's SCEPCHALLENGE webhook protocol over HTTPS (webhook.c)
 *   exec     a program given the same JSON document (validator_exec.c)
 *   intune   Microsoft Intune's SCEP challenge validation (validator_intune.c)
 * A set is built once per configuration generation and is then safe to use
 * from every request thread at once. A check never allows on error: a
 * time-out, an unreachable service, a broken answer or too many checks at
 * once (validators.max_concurrent) are VALIDATOR_ERROR, which the pipeline
 * answers like a refusal.
 */
#ifndef VALIDATOR_H
#define VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

struct config;
struct validator;
struct validator_set;

enum validator_verdict {
	VALIDATOR_ALLOW = 0,   /* issue */
	VALIDATOR_DENY = 1,    /* the validator said no */
	VALIDATOR_ERROR = 2,   /* no usable answer (down, time-out, broken reply): refused too */
	VALIDATOR_BUSY = 3,    /* every place (max_concurrent) taken: refused */
	VALIDATOR_N_VERDICTS
};

/* What a validator is asked about: a request that passed pkimsg, csr and policy. */
struct validator_request {
	const char *transaction_id;      /* required */
	const char *challenge;           /* the CSR's challengePassword, or NULL */
	const char *profile;             /* the profile's name: step-ca's provisionerName */
	X509_REQ *csr;                   /* required (borrowed) */
	EVP_PKEY *pubkey;                /* required: its public key (borrowed; struct csr's) */
	const unsigned char *csr_der;    /* its DER as received (required) */
	size_t csr_len;
	const char *client_addr;         /* or NULL */
	int64_t now;                     /* seconds since the epoch */
};

struct validator_result {
	enum validator_verdict verdict;
	char reason[512];                /* plain words, for the log and failInfoText */
	double seconds;                  /* how long the check took */
};

/* Builds every validator of cfg->validators (reading secret files). NULL with a reason. */
struct validator_set *validator_set_new(const struct config *cfg, char *err, size_t errlen);
void validator_set_free(struct validator_set *set);

/* The validator called name, or NULL (also for NULL and ""). */
struct validator *validator_find(const struct validator_set *set, const char *name);

const char *validator_name(const struct validator *v);
const char *validator_type(const struct validator *v);

/* "allow", "deny", "error", "busy": the outcome label of metrics and logs. */
const char *validator_verdict_name(enum validator_verdict v);

/*
 * Asks validator v about rq. Fills *res (reason, latency) and returns its
 * verdict; only VALIDATOR_ALLOW lets the request be issued. Blocks about
 * validators.timeout at most (a webhook's retry, an intune check's tokens and
 * discovery come within it).
 */
enum validator_verdict validator_check(struct validator *v, const struct validator_request *rq,
    struct validator_result *res);

/*
 * Tells v that the request it allowed was issued (cert, stored already), or
 * that issuing it failed (failinfo, NDES HRESULT and the reason). Only the
 * webhook type with notify_url says anything; an error is logged, never
 * changes the answer. 0, or -1 when the notification failed.
 */
int validator_notify_success(struct validator *v, const struct validator_request *rq, X509 *cert);
/*
 * 1 when v is asked about renewals signed by a certificate scepd issued too
 * (validators.renewals = "validate", the default); 0 when they are issued on
 * the strength of that signature ("skip").
 */
int validator_validates_renewals(const struct validator *v);

/*
 * 1 when a failed success notification must withhold the certificate (the
 * CertRep becomes a FAILURE): Intune's successNotification comes before the
 * CertRep, and the device gets nothing when it fails (intune.md §4).
 */
int validator_success_required(const struct validator *v);

int validator_notify_failure(struct validator *v, const struct validator_request *rq,
    int failinfo, int32_t hresult, const char *description);

#endif
