/* SPDX-License-Identifier: ISC */
/*
 * policy.h: decides whether a verified, decrypted request may be issued and
 * what the certificate will say: the digest allow-list, CSR checks (self
 * signature, key type and size), the choice of template by requested key
 * usage as NDES makes it (SignatureTemplate / EncryptionTemplate /
 * GeneralPurposeTemplate), the template's rules (key types and sizes, subject
 * and SAN rules), and the grant (key usage and EKU from the request's
 * extensionRequest, within what the template allows; subject and SANs from the
 * request). The challenge check is in challenge.h, renewal signers in
 * renewal.h. Built once at start-up from the configuration, then read-only.
 */
#ifndef POLICY_H
#define POLICY_H

#include <regex.h>
#include <stddef.h>
#include <openssl/x509.h>

#include "config.h"

struct config;
struct csr;
struct pkimsg;

/* A template ready to apply (from struct config_template). */
struct policy_template {
	char *name;                  /* "default" for the certificate group */
	unsigned validity_days;
	unsigned min_rsa_bits;
	unsigned key_usage;          /* X509v3_KU_* bits allowed */
	ASN1_OBJECT *eku[CONFIG_MAX_LIST];
	size_t n_eku;
	int allow_rsa, allow_ec;
	unsigned ec_curves;          /* POLICY_CURVE_* bits */
	unsigned san_types;          /* POLICY_SAN_* bits */
	int san_required;
	int allow_subject_change;
	int approval;
	int has_subject_re, has_san_re;
	regex_t subject_re, san_re;
};

#define POLICY_CURVE_P256 0x1u
#define POLICY_CURVE_P384 0x2u
#define POLICY_CURVE_P521 0x4u

#define POLICY_SAN_DNS 0x01u
#define POLICY_SAN_IP 0x02u
#define POLICY_SAN_EMAIL 0x04u
#define POLICY_SAN_URI 0x08u
#define POLICY_SAN_UPN 0x10u
#define POLICY_SAN_DIRNAME 0x20u
#define POLICY_SAN_OTHER 0x40u

struct policy {
	const struct config *cfg;
	struct policy_template *templates;           /* [0] is "default" */
	size_t n_templates;
};

/* Which NDES template setting a request falls under (ndes.md §2.2). */
enum policy_usage {
	POLICY_USAGE_SIGNATURE = 0,   /* SignatureTemplate */
	POLICY_USAGE_ENCRYPTION = 1,  /* EncryptionTemplate */
	POLICY_USAGE_GENERAL = 2,     /* GeneralPurposeTemplate */
};

/* What the template grants a request. */
struct policy_grant {
	unsigned key_usage;
	const ASN1_OBJECT *eku[CONFIG_MAX_LIST];   /* borrowed from struct policy */
	size_t n_eku;
};

/*
 * NULL with a reason when an extended key usage name is unknown or a pattern
 * does not compile. Builds the template "default" from the certificate group
 * and one per entry of cfg->templates.
 */
struct policy *policy_new(const struct config *cfg, char *err, size_t errlen);
void policy_free(struct policy *p);

/* The template called name, or NULL. */
const struct policy_template *policy_template_find(const struct policy *p, const char *name);

/*
 * The NDES rule: digitalSignature (or nonRepudiation) without an encipherment
 * usage -> signature; keyEncipherment, dataEncipherment or keyAgreement without
 * a signature usage -> encryption; both, neither, or no keyUsage extension ->
 * general purpose.
 */
enum policy_usage policy_usage_of(const struct csr *csr);
const char *policy_usage_name(enum policy_usage u);   /* "SignatureTemplate", ... */

/*
 * The template's rules on a parsed CSR: self-signature, key type, RSA size or
 * EC curve, subject pattern, SAN presence, types and pattern.
 * SCEP_FAIL_NONE or SCEP_FAIL_BADREQUEST with a reason naming the template.
 */
int policy_check_template(const struct policy_template *t, const struct csr *csr,
    char *reason, size_t len);

/* policy_grant() with the template t. */
int policy_grant_template(const struct policy_template *t, const struct csr *csr,
    struct policy_grant *out, char *reason, size_t len);

/* Digest allow-list: SCEP_FAIL_NONE or SCEP_FAIL_BADALG with a reason. */
int policy_check_digest(const struct policy *p, int digest_nid, char *reason, size_t len);

/* CSR checks: SCEP_FAIL_NONE or SCEP_FAIL_BADREQUEST with a reason. */
int policy_check_csr(const struct policy *p, const struct csr *csr, char *reason, size_t len);

/*
 * Key usage and EKU for the certificate: what the CSR asks for, limited to what
 * the template "default" allows; everything it allows when the CSR asks for
 * nothing. SCEP_FAIL_BADREQUEST when the CSR asks only for usages the template
 * does not allow.
 */
int policy_grant(const struct policy *p, const struct csr *csr, struct policy_grant *out,
    char *reason, size_t len);

#endif
