/* SPDX-License-Identifier: ISC */
/*
 * ca_local.c: the "local" CA backend: the CA key issues the certificate
 * through signer_issue(), from the template policy granted (subject, SANs,
 * key usage, extended key usage, validity) under the CA generation the
 * request names (its key and its CRL distribution point). The pipeline issues
 * through here like through any backend: there is no other path to
 * signer_issue(). It never answers PENDING, so it has no handles to poll.
 * The key stays inside signer.c.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca.h"
#include "ca_impl.h"
#include "config.h"
#include "signer.h"
#include "util.h"

struct ca_local {
	struct ca_issuer dflt;     /* the signer built with, crl.url: generation 0 */
};

void *ca_local_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen)
{
	struct ca_local *l = xcalloc(1, sizeof(*l));

	(void)err;
	(void)errlen;
	l->dflt.signer = signer;
	l->dflt.crl_url = cfg->crl_url;
	return l;
}

static void local_free(void *impl)
{
	free(impl);
}

static enum ca_outcome local_submit(void *impl, const struct ca_request *req,
    struct ca_result *res)
{
	struct ca_local *l = impl;
	const struct ca_issuer *is = req->issuer != NULL ? req->issuer : &l->dflt;
	struct issue_request ir;
	char err[256];

	memset(&ir, 0, sizeof(ir));
	ir.subject = req->subject != NULL ? req->subject : X509_REQ_get_subject_name(req->csr);
	ir.pubkey = req->pubkey;
	ir.san = req->san;
	ir.key_usage = req->key_usage;
	ir.eku = req->eku;
	ir.n_eku = req->n_eku;
	ir.validity_days = req->validity_days;
	ir.not_before = req->not_before;
	ir.not_after = req->not_after;
	ir.now = req->now;
	ir.crl_url = is->crl_url != NULL && is->crl_url[0] != '\0' ? is->crl_url : NULL;
	err[0] = '\0';
	if ((res->cert = signer_issue(is->signer, &ir, err, sizeof(err))) == NULL)
		return ca_set(res, CA_REFUSED, "the CA could not issue the certificate: %s", err);
	res->outcome = CA_ISSUED;
	return CA_ISSUED;
}

static enum ca_outcome local_poll(void *impl, const struct ca_poll_request *req,
    struct ca_result *res)
{
	(void)impl;
	(void)req;
	return ca_set(res, CA_REFUSED, "the local CA never leaves a request pending: "
	    "there is nothing to poll");
}

const struct ca_ops ca_local_ops = {
	.type = "local",
	.submit = local_submit,
	.poll = local_poll,
	.free = local_free,
};
