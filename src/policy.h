/* SPDX-License-Identifier: ISC */
/*
 * policy.h: decides whether a verified, decrypted request may be issued and
 * what the certificate will say: the digest allow-list, CSR checks (self
 * signature, key type and size), and the issuing template (key usage and EKU
 * from the request's extensionRequest, within what the template allows; subject
 * and SANs from the request). The challenge check is in challenge.h. Built once
 * at start-up from the configuration, then read-only.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>
#include <openssl/x509.h>

#include "config.h"

struct config;
struct csr;
struct pkimsg;

struct policy {
	const struct config *cfg;
	ASN1_OBJECT *allowed_eku[CONFIG_MAX_LIST];
	size_t n_allowed_eku;
};

/* What the template grants a request. */
struct policy_grant {
	unsigned key_usage;
	const ASN1_OBJECT *eku[CONFIG_MAX_LIST];   /* borrowed from struct policy */
	size_t n_eku;
};

/* NULL with a reason when an extended key usage name is unknown. */
struct policy *policy_new(const struct config *cfg, char *err, size_t errlen);
void policy_free(struct policy *p);

/* Digest allow-list: SCEP_FAIL_NONE or SCEP_FAIL_BADALG with a reason. */
int policy_check_digest(const struct policy *p, int digest_nid, char *reason, size_t len);

/* CSR checks: SCEP_FAIL_NONE or SCEP_FAIL_BADREQUEST with a reason. */
int policy_check_csr(const struct policy *p, const struct csr *csr, char *reason, size_t len);

/*
 * Key usage and EKU for the certificate: what the CSR asks for, limited to what
 * the template allows; everything the template allows when the CSR asks for
 * nothing. SCEP_FAIL_BADREQUEST when the CSR asks only for usages the template
 * does not allow.
 */
int policy_grant(const struct policy *p, const struct csr *csr, struct policy_grant *out,
    char *reason, size_t len);

#endif
