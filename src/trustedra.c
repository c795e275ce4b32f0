/* SPDX-License-Identifier: ISC */
/*
 * trustedra.c: the registration authorities this server trusts to vouch for
 * requests (trusted_ra; see trustedra.h). Everything is checked at load
 * time, once per configuration generation: the chain to this server's CA
 * certificates, that it is an end-entity certificate, its validity. A
 * request then only costs a comparison of its signer's encoding with each
 * listed certificate's, and a date check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pemfile.h"
#include "trustedra.h"
#include "util.h"
#include "x509util.h"

struct trusted_ra {
	X509 *cert;
	char *file;
	char *subject;
	int64_t not_before, not_after;
};

struct trusted_ra_set {
	struct trusted_ra *ra;
	size_t n;
};

void trusted_ra_free(struct trusted_ra_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		X509_free(s->ra[i].cert);
		free(s->ra[i].file);
		free(s->ra[i].subject);
	}
	free(s->ra);
	free(s);
}

size_t trusted_ra_count(const struct trusted_ra_set *s)
{
	return s != NULL ? s->n : 0;
}

/*
 * 0 when cert chains to one of cas (dates not checked here), else -1 and why.
 * cert may be decoded key-less (a request's signer, pkimsg.h): a copy with its
 * key is verified.
 */
static int chains_to(X509 *cert, X509 *const *cas, size_t n_cas, char *why, size_t whylen)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *full = NULL;
	size_t i;
	int rc = -1;

	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
		snprintf(why, whylen, "cannot set up certificate verification");
		goto out;
	}
	for (i = 0; i < n_cas; i++)
		if (cas[i] != NULL && X509_STORE_add_cert(store, cas[i]) != 1) {
			snprintf(why, whylen, "cannot set up certificate verification");
			goto out;
		}
	if ((full = x509util_decoded_copy(cert)) == NULL ||
	    X509_STORE_CTX_init(ctx, store, full, NULL) != 1) {
		snprintf(why, whylen, "cannot set up certificate verification");
		goto out;
	}
	/* Dates are checked by the caller; this server's CA may be an intermediate. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(why, whylen, "it is not issued by this server's CA (%s)",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(full);
	return rc;
}

/* Loads and checks one RA certificate into ra. 0, or -1 with a reason naming the file. */
static int load_one(struct trusted_ra *ra, const char *file, X509 *const *cas, size_t n_cas,
    int64_t now, char *err, size_t errlen)
{
	char why[256];

	ra->file = xstrdup(file);
	if ((ra->cert = pemfile_cert(file, err, errlen)) == NULL)
		return -1;
	if ((ra->subject = x509util_name_text(X509_get_subject_name(ra->cert))) == NULL ||
	    x509util_time_seconds(X509_get0_notBefore(ra->cert), &ra->not_before) != 0 ||
	    x509util_time_seconds(X509_get0_notAfter(ra->cert), &ra->not_after) != 0) {
		errorf(err, errlen, "trusted_ra %s: cannot read its subject or validity", file);
		return -1;
	}
	if (X509_check_issued(ra->cert, ra->cert) == X509_V_OK) {
		errorf(err, errlen, "trusted_ra %s: it is self-signed; an RA this server trusts "
		    "must hold a certificate issued by this server's CA (scepctl init --upstream "
		    "with --upstream-challenge obtains one)", file);
		return -1;
	}
	if (chains_to(ra->cert, cas, n_cas, why, sizeof(why)) != 0) {
		errorf(err, errlen, "trusted_ra %s: %s", file, why);
		return -1;
	}
	if (X509_check_ca(ra->cert) != 0) {
		errorf(err, errlen, "trusted_ra %s: it is a CA certificate, not an RA's", file);
		return -1;
	}
	if (now < ra->not_before || now > ra->not_after) {
		errorf(err, errlen, "trusted_ra %s: it is %s", file,
		    now < ra->not_before ? "not valid yet" : "expired");
		return -1;
	}
	return 0;
}

struct trusted_ra_set *trusted_ra_load(char *const *files, size_t n, X509 *const *cas,
    size_t n_cas, int64_t now, char *err, size_t errlen)
{
	struct trusted_ra_set *s = xcalloc(1, sizeof(*s)), *result = NULL;

	s->ra = xcalloc(n ? n : 1, sizeof(*s->ra));
	for (s->n = 0; s->n < n; s->n++)
		if (load_one(&s->ra[s->n], files[s->n], cas, n_cas, now, err, errlen) != 0) {
			s->n++;   /* so that its parts are freed */
			goto out;
		}
	result = s;
	s = NULL;
out:
	trusted_ra_free(s);
	return result;
}

const char *trusted_ra_vouching(const struct trusted_ra_set *s, X509 *signer, int64_t now,
    char *why, size_t whylen)
{
	const struct trusted_ra *ra;

	why[0] = '\0';
	if (s == NULL || signer == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		ra = &s->ra[i];
		/* X509_cmp compares the cached hash, then the DER encodings. */
		if (X509_cmp(ra->cert, signer) != 0)
			continue;
		if (now < ra->not_before || now > ra->not_after) {
			snprintf(why, whylen, "the RA certificate %s (%s) is %s", ra->file, ra->subject,
			    now < ra->not_before ? "not valid yet" : "expired");
			return NULL;
		}
		return ra->subject;
	}
	return NULL;
}
