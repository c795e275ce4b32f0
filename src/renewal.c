/* SPDX-License-Identifier: ISC */
/*
 * renewal.c: the checks on the certificate that signs a renewal (RenewalReq,
 * or PKCSReq signed by a certificate this CA issued). It path-validates the
 * signer against an X509_STORE holding only this server's CA certificates,
 * with the time checks done here (so a grace period after expiry and a
 * renewal window before it can be applied), refuses CA certificates, and
 * compares the new request's subject, subject alternative names and key with
 * the signer's. Public data only: no keys, no store, no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "renewal.h"
#include "x509util.h"

struct renewal {
	X509_STORE *store;
	STACK_OF(X509) *cas;
};

struct renewal *renewal_new(X509 *const *cas, size_t n)
{
	struct renewal *r = NULL, *result = NULL;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	if ((r->store = X509_STORE_new()) == NULL || (r->cas = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (cas[i] == NULL)
			continue;
		if (X509_STORE_add_cert(r->store, cas[i]) != 1)
			goto out;
		if (X509_up_ref(cas[i]) != 1)
			goto out;
		if (sk_X509_push(r->cas, cas[i]) == 0) {
			X509_free(cas[i]);
			goto out;
		}
	}
	result = r;
	r = NULL;
out:
	ERR_clear_error();
	renewal_free(r);
	return result;
}

void renewal_free(struct renewal *r)
{
	if (r == NULL)
		return;
	X509_STORE_free(r->store);
	sk_X509_pop_free(r->cas, X509_free);
	free(r);
}

int renewal_signed_by_us(const struct renewal *r, X509 *signer)
{
	int i, found = 0;

	if (signer == NULL || X509_check_issued(signer, signer) == X509_V_OK) {
		ERR_clear_error();
		return 0;
	}
	for (i = 0; i < sk_X509_num(r->cas) && !found; i++)
		found = X509_check_issued(sk_X509_value(r->cas, i), signer) == X509_V_OK;
	ERR_clear_error();
	return found;
}

/* 1 when the two GENERAL_NAMES hold the same names, in any order. */
static int same_names(const GENERAL_NAMES *a, const GENERAL_NAMES *b)
{
	int na = a != NULL ? sk_GENERAL_NAME_num(a) : 0;
	int nb = b != NULL ? sk_GENERAL_NAME_num(b) : 0;
	int i, j, found;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		found = 0;
		for (j = 0; j < nb && !found; j++)
			found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i),
			    sk_GENERAL_NAME_value(b, j)) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* 1 when the signer's public key is the CSR's. */
static int same_key(X509 *signer, const struct csr *csr)
{
	EVP_PKEY *a = x509util_spki_key(X509_get_X509_PUBKEY(signer)), *b = csr->pubkey;
	int same = a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;

	EVP_PKEY_free(a);
	return same;
}

enum renewal_verdict renewal_check(const struct renewal *r, X509 *signer,
    const struct csr *csr, const struct renewal_rules *rules, int64_t now, char *reason,
    size_t len)
{
	X509_STORE_CTX *ctx = NULL;
	X509 *full = NULL;
	X509_VERIFY_PARAM *param;
	GENERAL_NAMES *san = NULL;
	int64_t not_before, not_after;
	enum renewal_verdict result = RENEWAL_ERROR;
	int err;

	if (signer == NULL) {
		snprintf(reason, len, "renewal: the message has no signer certificate");
		result = RENEWAL_NO_SIGNER;
		goto out;
	}
	if (X509_check_issued(signer, signer) == X509_V_OK) {
		snprintf(reason, len, "renewal: the message is signed by a self-signed "
		    "certificate, not by a certificate this CA issued");
		result = RENEWAL_SELF_SIGNED;
		goto out;
	}
	/* the signer comes decoded key-less (pkimsg.h): verify a copy with its key */
	if ((full = x509util_decoded_copy(signer)) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, r->store, full, NULL) != 1) {
		snprintf(reason, len, "renewal: cannot set up certificate verification");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	/* Dates are checked below, with the grace period; the CA may be an intermediate. */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) != 1) {
		err = X509_STORE_CTX_get_error(ctx);
		snprintf(reason, len, "renewal: the signer certificate is not issued by this CA "
		    "(%s)", X509_verify_cert_error_string(err));
		result = RENEWAL_NOT_OURS;
		goto out;
	}
	if (X509_check_ca(signer) != 0) {
		snprintf(reason, len, "renewal: the signer certificate is a CA certificate");
		result = RENEWAL_IS_CA;
		goto out;
	}
	if (x509util_time_seconds(X509_get0_notBefore(signer), &not_before) != 0 ||
	    x509util_time_seconds(X509_get0_notAfter(signer), &not_after) != 0) {
		snprintf(reason, len, "renewal: the signer certificate's validity cannot be read");
		goto out;
	}
	if (now < not_before) {
		snprintf(reason, len, "renewal: the signer certificate is not valid yet");
		result = RENEWAL_NOT_YET_VALID;
		goto out;
	}
	if (now > not_after + (int64_t)rules->grace_days * 86400) {
		snprintf(reason, len, "renewal: the signer certificate expired%s",
		    rules->grace_days ? " (and its grace period, renewal.grace_days, is over)" : "");
		result = RENEWAL_EXPIRED;
		goto out;
	}
	if (rules->window_days != 0 && now < not_after - (int64_t)rules->window_days * 86400) {
		snprintf(reason, len, "renewal: the signer certificate expires in more than %u "
		    "days; renewal opens %u days before expiry (renewal.window_days)",
		    rules->window_days, rules->window_days);
		result = RENEWAL_TOO_EARLY;
		goto out;
	}
	if (!rules->allow_subject_change) {
		if (X509_NAME_cmp(X509_get_subject_name(signer),
		    X509_REQ_get_subject_name(csr->req)) != 0) {
			snprintf(reason, len, "renewal: the request's subject differs from the "
			    "certificate it renews (the template does not allow a change)");
			result = RENEWAL_SUBJECT_CHANGED;
			goto out;
		}
		san = X509_get_ext_d2i(signer, NID_subject_alt_name, NULL, NULL);
		if (!same_names(san, csr->san)) {
			snprintf(reason, len, "renewal: the request's subject alternative names "
			    "differ from the certificate it renews (the template does not allow a "
			    "change)");
			result = RENEWAL_SAN_CHANGED;
			goto out;
		}
	}
	if (!rules->allow_key_reuse && same_key(signer, csr)) {
		snprintf(reason, len, "renewal: the request keeps the key of the certificate it "
		    "renews (renewal.allow_key_reuse is false)");
		result = RENEWAL_KEY_REUSED;
		goto out;
	}
	result = RENEWAL_OK;
out:
	ERR_clear_error();
	GENERAL_NAMES_free(san);
	X509_STORE_CTX_free(ctx);
	X509_free(full);
	return result;
}
