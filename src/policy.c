/* SPDX-License-Identifier: ISC */
/*
 * policy.c: the rules between a parsed request and the signer. Pure decisions
 * over the configuration and the parsed request; no keys, no store, no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csr.h"
#include "policy.h"
#include "scep_types.h"
#include "util.h"

struct policy *policy_new(const struct config *cfg, char *err, size_t errlen)
{
	struct policy *p = xcalloc(1, sizeof(*p)), *result = NULL;
	size_t i;

	p->cfg = cfg;
	for (i = 0; i < cfg->n_ext_key_usage; i++) {
		p->allowed_eku[i] = OBJ_txt2obj(cfg->ext_key_usage[i], 0);
		if (p->allowed_eku[i] == NULL) {
			snprintf(err, errlen, "certificate.extended_key_usage: unknown usage '%s'",
			    cfg->ext_key_usage[i]);
			goto out;
		}
		p->n_allowed_eku++;
	}
	result = p;
	p = NULL;
out:
	policy_free(p);
	return result;
}

void policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_allowed_eku; i++)
		ASN1_OBJECT_free(p->allowed_eku[i]);
	free(p);
}

int policy_check_digest(const struct policy *p, int digest_nid, char *reason, size_t len)
{
	switch (digest_nid) {
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return SCEP_FAIL_NONE;
	case NID_sha1:
		if (p->cfg->allow_sha1)
			return SCEP_FAIL_NONE;
		snprintf(reason, len, "the message is signed with SHA-1, which scep.allow_sha1 disables");
		return SCEP_FAIL_BADALG;
	case NID_md5:
		if (p->cfg->allow_md5)
			return SCEP_FAIL_NONE;
		snprintf(reason, len, "the message is signed with MD5, which scep.allow_md5 disables");
		return SCEP_FAIL_BADALG;
	default:
		snprintf(reason, len, "the message digest algorithm %s is not supported",
		    digest_nid == NID_undef ? "(unknown)" : OBJ_nid2sn(digest_nid));
		return SCEP_FAIL_BADALG;
	}
}

int policy_check_csr(const struct policy *p, const struct csr *csr, char *reason, size_t len)
{
	if (!csr->self_signature_ok) {
		snprintf(reason, len, "the certificate request's own signature does not verify");
		return SCEP_FAIL_BADREQUEST;
	}
	switch (csr->key_type) {
	case EVP_PKEY_RSA:
		if ((unsigned)csr->key_bits < p->cfg->min_rsa_bits) {
			snprintf(reason, len, "the request's RSA key has %d bits; at least %u are required "
			    "(certificate.min_rsa_bits)", csr->key_bits, p->cfg->min_rsa_bits);
			return SCEP_FAIL_BADREQUEST;
		}
		return SCEP_FAIL_NONE;
	case EVP_PKEY_EC:
		if (csr->key_bits < 256) {
			snprintf(reason, len, "the request's EC key has %d bits; at least 256 are required",
			    csr->key_bits);
			return SCEP_FAIL_BADREQUEST;
		}
		return SCEP_FAIL_NONE;
	default:
		snprintf(reason, len, "the request's key type is not supported (RSA or EC only)");
		return SCEP_FAIL_BADREQUEST;
	}
}

static int eku_allowed(const struct policy *p, const ASN1_OBJECT *obj)
{
	size_t i;

	for (i = 0; i < p->n_allowed_eku; i++)
		if (OBJ_cmp(p->allowed_eku[i], obj) == 0)
			return (int)i;
	return -1;
}

int policy_grant(const struct policy *p, const struct csr *csr, struct policy_grant *out,
    char *reason, size_t len)
{
	unsigned allowed = p->cfg->key_usage;
	int i, n, k;
	size_t j;

	memset(out, 0, sizeof(*out));
	if (csr->has_key_usage) {
		out->key_usage = csr->key_usage & allowed;
		if (csr->key_usage != 0 && out->key_usage == 0) {
			snprintf(reason, len, "the request asks for key usage 0x%x, none of which the "
			    "template allows (certificate.key_usage)", csr->key_usage);
			return SCEP_FAIL_BADREQUEST;
		}
	} else
		out->key_usage = allowed;

	n = csr->ext_key_usage ? sk_ASN1_OBJECT_num(csr->ext_key_usage) : 0;
	if (n > 0) {
		for (i = 0; i < n && out->n_eku < CONFIG_MAX_LIST; i++) {
			k = eku_allowed(p, sk_ASN1_OBJECT_value(csr->ext_key_usage, i));
			if (k >= 0)
				out->eku[out->n_eku++] = p->allowed_eku[k];
		}
		if (out->n_eku == 0) {
			snprintf(reason, len, "the request asks only for extended key usages the "
			    "template does not allow (certificate.extended_key_usage)");
			return SCEP_FAIL_BADREQUEST;
		}
	} else {
		for (j = 0; j < p->n_allowed_eku; j++)
			out->eku[out->n_eku++] = p->allowed_eku[j];
	}
	return SCEP_FAIL_NONE;
}
