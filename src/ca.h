/* SPDX-License-Identifier: ISC */
/*
 * ca.h: the CA backends behind one interface. The request pipeline hands a
 * checked request (the device's CSR, the template policy granted, who asked)
 * to ca_submit() and gets one of four outcomes: the certificate, PENDING with
 * a handle to poll later with ca_poll(), a refusal with a reason, or
 * "unavailable" (the backend could not answer now), which the caller answers
 * with FAILURE or PENDING as the backend's when_unavailable says. The pipeline
 * never knows which backend runs, and issues through this interface only:
 *   local  the CA key through signer_issue() (ca_local.c)
 *   scep   an upstream SCEP CA, scepd enrolling as an RA (ca_scep.c, scep_client.c)
 *   exec   a program run for each request (ca_exec.c)
 * A backend is built once at start-up from its configuration group (the
 * backend group, named "default", or an entry of backends, which profiles
 * name with profiles.backend) and is then safe to use from every request
 * thread at once; each bounds its own concurrency and time (max_concurrent,
 * timeout).
 */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct config;
struct config_backend;
struct signer;
struct ca_backend;

/* Longest PENDING handle, in bytes without the NUL: store it as TEXT. */
#define CA_MAX_HANDLE 4096

enum ca_outcome {
	CA_ISSUED = 0,       /* res->cert holds the certificate */
	CA_PENDING = 1,      /* res->handle: ask again with ca_poll() */
	CA_REFUSED = 2,      /* the backend said no: res->failinfo, res->reason */
	CA_UNAVAILABLE = 3,  /* no usable answer now (down, timeout, broken reply): res->reason */
};

/*
 * A CA generation (profile.h: the CA of ca.cert, or the rollover CA from its
 * switch-over): the signer holding its certificate (and, for the local
 * backend, its key) and the CRL distribution point of what it issues.
 */
struct ca_issuer {
	const struct signer *signer;
	const char *crl_url;             /* NULL or "": no CRL distribution point */
};

/* A request that has passed pkimsg, decryption, csr, policy and the challenge. */
struct ca_request {
	/* the device's certificate request */
	X509_REQ *csr;                   /* required (borrowed) */
	EVP_PKEY *pubkey;                /* required: its public key (borrowed; struct csr's) */
	const unsigned char *csr_der;    /* its DER exactly as received, or NULL to encode csr */
	size_t csr_len;
	/* the template policy granted (the local and exec backends apply it; an
	 * upstream SCEP CA applies its own, as AD CS does behind NDES) */
	const X509_NAME *subject;        /* NULL: the CSR's subject */
	const GENERAL_NAMES *san;        /* NULL: none */
	unsigned key_usage;              /* X509v3_KU_* bits; 0 = no keyUsage extension */
	const ASN1_OBJECT *const *eku;   /* extendedKeyUsage OIDs */
	size_t n_eku;
	unsigned validity_days;
	int64_t not_before, not_after;   /* lab mode's validity override (local backend), or 0 */
	const char *template_name;       /* profile/template name, NULL when none */
	/* the CA generation current at now, which the local backend issues under;
	 * NULL: the signer the backend was built with and crl.url (generation 0) */
	const struct ca_issuer *issuer;
	/* who asked */
	const char *transaction_id;      /* required: the device's transactionID */
	const char *client_addr;         /* numeric address, NULL when unknown */
	int64_t now;
};

/* A device's CertPoll (or a re-sent PKCSReq) for a request left PENDING. */
struct ca_poll_request {
	const char *handle;              /* exactly as ca_submit() returned it */
	const unsigned char *pubkey_sha256; /* required, 32 bytes: SHA-256 of the pending CSR's
	                                  * SubjectPublicKeyInfo DER, as the store records it */
	const char *transaction_id;
	const char *client_addr;
	int64_t now;
};

struct ca_result {
	enum ca_outcome outcome;
	X509 *cert;               /* ISSUED: the certificate (owned) */
	STACK_OF(X509) *chain;    /* ISSUED: further certificates the backend sent, or NULL (owned) */
	char *handle;             /* PENDING: printable ASCII, at most CA_MAX_HANDLE bytes (owned) */
	int failinfo;             /* REFUSED: the failInfo to answer (SCEP_FAIL_BADREQUEST unless
	                           * an upstream said otherwise); SCEP_FAIL_NONE otherwise */
	char reason[512];         /* REFUSED, UNAVAILABLE: plain words for the log and failInfoText */
};

/*
 * Builds backend b (the backend group or a backends entry; cfg gives the
 * settings every backend shares, such as scep.allow_des). signer is borrowed and must outlive
 * the backend: local issues with it (and crl.url) unless a request names
 * another CA generation (ca_request.issuer), scep signs its requests and opens the
 * replies with the RA keys; every backend takes ca.cert from it (signer_ca_cert)
 * as the certificate each issued certificate must chain to. The scep backend
 * does not contact the upstream here: GetCACaps and GetCACert are fetched on
 * first use, so scepd starts while the upstream is down.
 * NULL with a reason on a bad configuration.
 */
struct ca_backend *ca_backend_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen);
void ca_backend_free(struct ca_backend *ca);

/* "local", "scep" or "exec". */
const char *ca_backend_type(const struct ca_backend *ca);

/* Its name: "default" (the backend group) or its backends.name; the store records it. */
const char *ca_backend_name(const struct ca_backend *ca);

/*
 * Submits a request. Fills *res (cleared first; release it with
 * ca_result_free) and returns res->outcome. Never blocks longer than about
 * twice backend.timeout (a free place, then the exchange). An issued
 * certificate has been checked: it is for the CSR's public key and chains to
 * ca.cert.
 */
enum ca_outcome ca_submit(struct ca_backend *ca, const struct ca_request *req,
    struct ca_result *res);

/*
 * Asks again about a PENDING request. A handle of another backend type, or
 * one this backend cannot read, is CA_REFUSED (badRequest).
 */
enum ca_outcome ca_poll(struct ca_backend *ca, const struct ca_poll_request *req,
    struct ca_result *res);

/* Frees what res holds and clears it. */
void ca_result_free(struct ca_result *res);

/* "ISSUED", "PENDING", "REFUSED", "UNAVAILABLE". */
const char *ca_outcome_name(enum ca_outcome o);

#endif
