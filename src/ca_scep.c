/* SPDX-License-Identifier: ISC */
/*
 * ca_scep.c: the "scep" CA backend: scepd enrolls on the device's behalf
 * with an upstream SCEP CA, as an RA (scep_client.c does the protocol). The
 * device's CSR is forwarded byte for byte in a PKCSReq signed with scepd's RA
 * signing key; it cannot be changed (the device's signature covers it), so
 * the upstream applies its own template and sees the device's challenge
 * password. The upstream's answers become backend outcomes:
 *   SUCCESS            -> ISSUED, once the certificate is checked (the CSR's
 *                         key, a chain to ca.cert, the upstream CA)
 *   PENDING            -> PENDING, handle "scep1;HEX(txid);HEX(subject DER);URL"
 *   FAILURE badRequest, badCertId -> REFUSED with that failInfo
 *   FAILURE badAlg, badMessageCheck, badTime: the upstream refused scepd's
 *                         own message, not the device -> UNAVAILABLE
 *   no usable answer   -> UNAVAILABLE
 * The upstream transactionID is the device's when it is a PrintableString,
 * else the hex SHA-256 of it, so a device's re-sent request reaches the same
 * upstream transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca.h"
#include "der.h"
#include "ca_impl.h"
#include "config.h"
#include "pkimsg.h"
#include "scep_client.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"

#define SCEP_HANDLE_PREFIX "scep1;"

struct ca_scep {
	struct scep_client *client;
	const struct signer *signer;
	X509 *ca_cert;
};

void *ca_scep_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen)
{
	struct scep_client_options o;
	struct ca_scep *s;

	if (b->url == NULL) {
		snprintf(err, errlen, "backend.url must be set for the scep backend");
		return NULL;
	}
	if (!signer_has_ra(signer)) {
		snprintf(err, errlen, "the scep backend needs the ra group: scepd signs the requests "
		    "it forwards with its RA signing certificate");
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.url = b->url;
	o.ca_identifier = b->ca_identifier;
	o.ca_bundle = b->ca_bundle;
	o.timeout = b->timeout;
	o.max_concurrent = b->max_concurrent;
	o.cache_time = b->cache_time;
	o.anchor = signer_ca_cert(signer);
	o.allow_des = cfg->allow_des;
	s = xcalloc(1, sizeof(*s));
	if ((s->client = scep_client_new(&o, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	s->signer = signer;
	s->ca_cert = signer_ca_cert(signer);
	return s;
}

static void scep_free(void *impl)
{
	struct ca_scep *s = impl;

	if (s == NULL)
		return;
	scep_client_free(s->client);
	free(s);
}

/* The transactionID used upstream, into out (at least 65 bytes). */
static void upstream_tid(const char *tid, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (scep_client_printable(tid) && strlen(tid) < outlen) {
		snprintf(out, outlen, "%s", tid);
		return;
	}
	if (EVP_Digest(tid, strlen(tid), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		snprintf(out, outlen, "%s", "0");
	else
		hex_encode(md, sizeof(md), out, 1);
}

static char *make_handle(const struct ca_scep *s, const char *tid, const X509_NAME *subject)
{
	unsigned char *der = NULL;
	char *htid = NULL, *hsub = NULL, *handle = NULL;
	int n;

	if ((n = i2d_X509_NAME(subject, &der)) <= 0)
		goto out;
	htid = xmalloc(2 * strlen(tid) + 1);
	hex_encode((const unsigned char *)tid, strlen(tid), htid, 1);
	hsub = xmalloc(2 * (size_t)n + 1);
	hex_encode(der, (size_t)n, hsub, 1);
	handle = xasprintf("%s%s;%s;%s", SCEP_HANDLE_PREFIX, htid, hsub,
	    scep_client_url(s->client));
	if (strlen(handle) > CA_MAX_HANDLE) {
		free(handle);
		handle = NULL;
	}
out:
	free(hsub);
	free(htid);
	OPENSSL_free(der);
	return handle;
}

/* Splits a handle: tid (malloc'd), subject (owned), url (points into handle). 0 or -1. */
static int parse_handle(const char *handle, char **tid, X509_NAME **subject, const char **url)
{
	const char *p = handle + strlen(SCEP_HANDLE_PREFIX), *semi1, *semi2;
	unsigned char *der = NULL;
	size_t tl, sl;
	int rc = -1;

	*tid = NULL;
	*subject = NULL;
	if (strncmp(handle, SCEP_HANDLE_PREFIX, strlen(SCEP_HANDLE_PREFIX)) != 0 ||
	    (semi1 = strchr(p, ';')) == NULL || (semi2 = strchr(semi1 + 1, ';')) == NULL)
		return -1;
	tl = (size_t)(semi1 - p);
	sl = (size_t)(semi2 - semi1 - 1);
	if (tl == 0 || tl / 2 > 255 || sl == 0)
		return -1;
	*tid = xcalloc(1, tl / 2 + 1);
	if (hex_decode(p, tl, (unsigned char *)*tid) != 0 || strlen(*tid) != tl / 2)
		goto out;
	der = xmalloc(sl / 2 + 1);
	if (hex_decode(semi1 + 1, sl, der) != 0)
		goto out;
	if ((*subject = (X509_NAME *)der_decode_exact(ASN1_ITEM_rptr(X509_NAME), der, sl / 2)) == NULL)
		goto out;
	*url = semi2 + 1;
	rc = 0;
out:
	free(der);
	if (rc != 0) {
		free(*tid);
		*tid = NULL;
		X509_NAME_free(*subject);
		*subject = NULL;
	}
	return rc;
}

/* The backend outcome of an upstream reply (rep->certs are taken). */
static enum ca_outcome outcome(struct ca_scep *s, struct scep_client_reply *rep,
    const unsigned char spki[32], const char *tid, const X509_NAME *subject,
    struct ca_result *res)
{
	STACK_OF(X509) *certs;

	switch (rep->status) {
	case SCEP_CLIENT_SUCCESS:
		certs = rep->certs;
		rep->certs = NULL;
		if (ca_accept_issued(res, spki, s->ca_cert, certs) != CA_ISSUED) {
			char why[sizeof(res->reason)];

			snprintf(why, sizeof(why), "%s", res->reason);
			return ca_set(res, CA_UNAVAILABLE, "upstream %s: %s",
			    scep_client_url(s->client), why);
		}
		return CA_ISSUED;
	case SCEP_CLIENT_PENDING:
		if ((res->handle = make_handle(s, tid, subject)) == NULL)
			return ca_set(res, CA_UNAVAILABLE, "upstream %s answered PENDING, but the "
			    "request cannot be recorded to poll it (subject too long)",
			    scep_client_url(s->client));
		return ca_set(res, CA_PENDING, "upstream %s: pending", scep_client_url(s->client));
	case SCEP_CLIENT_FAILURE:
		if (rep->fail_info == SCEP_FAIL_BADALG || rep->fail_info == SCEP_FAIL_BADMESSAGECHECK ||
		    rep->fail_info == SCEP_FAIL_BADTIME)
			return ca_set(res, CA_UNAVAILABLE, "upstream %s refused scepd's own message, "
			    "not the device's request: %s", scep_client_url(s->client), rep->reason);
		res->failinfo = rep->fail_info == SCEP_FAIL_BADCERTID ? SCEP_FAIL_BADCERTID :
		    SCEP_FAIL_BADREQUEST;
		return ca_set(res, CA_REFUSED, "the upstream CA refused the request: %s",
		    rep->reason);
	default:
		return ca_set(res, CA_UNAVAILABLE, "%s", rep->reason);
	}
}

static enum ca_outcome scep_submit(void *impl, const struct ca_request *req,
    struct ca_result *res)
{
	struct ca_scep *s = impl;
	struct scep_client_reply rep;
	unsigned char spki[32], *owned = NULL;
	const unsigned char *der;
	size_t der_len = 0;
	char tid[PKIMSG_MAX_TRANSACTION_ID + 1];
	enum ca_outcome o;

	memset(&rep, 0, sizeof(rep));
	if (ca_spki_sha256_req(req->csr, spki) != 0 ||
	    (der = ca_csr_der(req, &der_len, &owned)) == NULL)
		return ca_set(res, CA_UNAVAILABLE, "cannot encode the request");
	upstream_tid(req->transaction_id, tid, sizeof(tid));
	scep_client_pkcsreq(s->client, s->signer, der, der_len, tid, &rep);
	o = outcome(s, &rep, spki, tid, X509_REQ_get_subject_name(req->csr), res);
	scep_client_reply_free(&rep);
	OPENSSL_free(owned);
	return o;
}

static enum ca_outcome scep_poll(void *impl, const struct ca_poll_request *req,
    struct ca_result *res)
{
	struct ca_scep *s = impl;
	struct scep_client_reply rep;
	X509_NAME *subject = NULL;
	char *tid = NULL;
	const char *url = NULL;
	enum ca_outcome o;

	memset(&rep, 0, sizeof(rep));
	if (parse_handle(req->handle, &tid, &subject, &url) != 0)
		return ca_set(res, CA_REFUSED, "the pending request was not left by the scep backend");
	if (strcmp(url, scep_client_url(s->client)) != 0) {
		o = ca_set(res, CA_REFUSED, "the request was left pending by upstream %s, but "
		    "backend.url is now %s", url, scep_client_url(s->client));
		goto out;
	}
	scep_client_certpoll(s->client, s->signer, subject, tid, &rep);
	o = outcome(s, &rep, req->pubkey_sha256, tid, subject, res);
out:
	scep_client_reply_free(&rep);
	X509_NAME_free(subject);
	free(tid);
	return o;
}

const struct ca_ops ca_scep_ops = {
	.type = "scep",
	.submit = scep_submit,
	.poll = scep_poll,
	.free = scep_free,
};
