/* SPDX-License-Identifier: ISC */
/*
 * ca_exec.c: the "exec" CA backend: backend.program is run for each request
 * (and each poll of a pending one) with posix_spawn(), never through a shell,
 * in a process group of its own, with the device's CSR as PEM on standard
 * input and the request's details in SCEPD_* environment variables (the only
 * variables it gets, besides a fixed PATH). Its exit status is the answer:
 * 0 with a PEM certificate on standard output = issued, 75 (EX_TEMPFAIL) =
 * pending (an optional handle on standard output), anything else = refused
 * with the first line of standard error as the reason. A run is bounded in
 * time (backend.timeout; then the process group is killed), in output
 * (backend.max_output; stderr beyond 1 KiB is read and dropped) and in number
 * (backend.max_concurrent). It gets no descriptor but its three pipes.
 * scepd.conf(5) documents the contract.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_impl.h"
#include "config.h"
#include "signer.h"
#include "subproc.h"
#include "util.h"
#include "x509util.h"

#define EXEC_PENDING_STATUS 75          /* EX_TEMPFAIL */
#define EXEC_MAX_HANDLE 1024            /* a program's pending handle */
#define EXEC_HANDLE_PREFIX "exec1;"
#define EXEC_PATH "/usr/local/bin:/usr/bin:/bin"   /* PATH of the programs run */

struct ca_exec {
	char *program;
	unsigned timeout;
	size_t max_output;
	X509 *ca_cert;
	struct ca_slots slots;
	int slots_ok;
};

void *ca_exec_new(const struct config *cfg, const struct config_backend *b,
    const struct signer *signer, char *err, size_t errlen)
{
	struct ca_exec *x = NULL;

	if (b->program == NULL) {
		snprintf(err, errlen, "backend.program must be set for the exec backend");
		return NULL;
	}
	if (access(b->program, X_OK) != 0) {
		snprintf(err, errlen, "backend.program %s: %s", b->program,
		    strerror(errno));
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->program = xstrdup(b->program);
	x->timeout = b->timeout ? b->timeout : 30;
	x->max_output = b->max_output ? b->max_output : 65536;
	x->ca_cert = signer_ca_cert(signer);
	if (X509_up_ref(x->ca_cert) != 1 ||
	    ca_slots_init(&x->slots, b->max_concurrent ? b->max_concurrent : 8)
	    != 0) {
		snprintf(err, errlen, "exec backend: out of resources");
		X509_free(x->ca_cert);
		free(x->program);
		free(x);
		return NULL;
	}
	x->slots_ok = 1;
	return x;
}

static void exec_free(void *impl)
{
	struct ca_exec *x = impl;

	if (x == NULL)
		return;
	if (x->slots_ok)
		ca_slots_destroy(&x->slots);
	X509_free(x->ca_cert);
	free(x->program);
	free(x);
}

/* --- environment ------------------------------------------------------------- */

struct env {
	char *v[16];
	size_t n;
};

static void env_add(struct env *e, const char *name, const char *value)
{
	if (e->n + 1 < sizeof(e->v) / sizeof(e->v[0]))
		e->v[e->n++] = xasprintf("%s=%s", name, value != NULL ? value : "");
}

static void env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/* A growing text buffer for the list variables. */
struct text {
	char *s;
	size_t len, cap;
};

static void text_addn(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_add(struct text *t, const char *s)
{
	text_addn(t, s, strlen(s));
}

/* Appends bytes escaped for a comma-separated list: '\' and ',' get a '\', controls become '?'. */
static void text_add_escaped(struct text *t, const unsigned char *p, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = (char)p[i];
		if (c == '\\' || c == ',')
			text_addn(t, "\\", 1);
		if (p[i] < 0x20 || p[i] == 0x7f)
			c = '?';
		text_addn(t, &c, 1);
	}
}

/* name as text, "" when it cannot be printed. */
static char *name_text(const X509_NAME *name)
{
	char *s = x509util_name_text(name);

	return s != NULL ? s : xstrdup("");
}

static char *san_text(const GENERAL_NAMES *san)
{
	struct text t = { NULL, 0, 0 };
	const GENERAL_NAME *gn;
	const ASN1_STRING *str;
	char addr[INET6_ADDRSTRLEN], oid[80], *dn;
	int i, type;

	text_add(&t, "");
	for (i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		gn = sk_GENERAL_NAME_value(san, i);
		if (i > 0)
			text_add(&t, ",");
		str = NULL;
		switch (gn->type) {
		case GEN_DNS:
			text_add(&t, "DNS:");
			str = gn->d.dNSName;
			break;
		case GEN_EMAIL:
			text_add(&t, "email:");
			str = gn->d.rfc822Name;
			break;
		case GEN_URI:
			text_add(&t, "URI:");
			str = gn->d.uniformResourceIdentifier;
			break;
		case GEN_IPADD:
			text_add(&t, "IP:");
			str = gn->d.iPAddress;
			if (ASN1_STRING_length(str) == 4 || ASN1_STRING_length(str) == 16) {
				if (inet_ntop(ASN1_STRING_length(str) == 4 ? AF_INET : AF_INET6,
				    ASN1_STRING_get0_data(str), addr, sizeof(addr)) != NULL)
					text_add(&t, addr);
			}
			str = NULL;
			break;
		case GEN_DIRNAME:
			text_add(&t, "dirName:");
			dn = name_text(gn->d.directoryName);
			text_add_escaped(&t, (const unsigned char *)dn, strlen(dn));
			free(dn);
			break;
		case GEN_OTHERNAME:
			text_add(&t, "othername:");
			if (OBJ_obj2txt(oid, sizeof(oid), gn->d.otherName->type_id, 1) > 0)
				text_add(&t, oid);
			type = gn->d.otherName->value != NULL ? gn->d.otherName->value->type : -1;
			if (type == V_ASN1_UTF8STRING || type == V_ASN1_IA5STRING ||
			    type == V_ASN1_PRINTABLESTRING) {
				text_add(&t, ":");
				str = gn->d.otherName->value->value.asn1_string;
			}
			break;
		default:
			text_add(&t, "unsupported:");
			break;
		}
		if (str != NULL)
			text_add_escaped(&t, ASN1_STRING_get0_data(str), (size_t)ASN1_STRING_length(str));
	}
	return t.s;
}

static char *ku_text(unsigned ku)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "digitalSignature", X509v3_KU_DIGITAL_SIGNATURE },
		{ "nonRepudiation", X509v3_KU_NON_REPUDIATION },
		{ "keyEncipherment", X509v3_KU_KEY_ENCIPHERMENT },
		{ "dataEncipherment", X509v3_KU_DATA_ENCIPHERMENT },
		{ "keyAgreement", X509v3_KU_KEY_AGREEMENT },
		{ "keyCertSign", X509v3_KU_KEY_CERT_SIGN },
		{ "cRLSign", X509v3_KU_CRL_SIGN },
		{ "encipherOnly", X509v3_KU_ENCIPHER_ONLY },
		{ "decipherOnly", X509v3_KU_DECIPHER_ONLY },
	};
	struct text t = { NULL, 0, 0 };
	size_t i;

	text_add(&t, "");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(ku & names[i].bit))
			continue;
		if (t.len > 0)
			text_add(&t, ",");
		text_add(&t, names[i].name);
	}
	return t.s;
}

static char *eku_text(const ASN1_OBJECT *const *eku, size_t n)
{
	struct text t = { NULL, 0, 0 };
	char oid[80];
	size_t i;
	int nid;

	text_add(&t, "");
	for (i = 0; i < n; i++) {
		if (eku[i] == NULL)
			continue;
		if (t.len > 0)
			text_add(&t, ",");
		nid = OBJ_obj2nid(eku[i]);
		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			text_add(&t, OBJ_nid2sn(nid));
		else if (OBJ_obj2txt(oid, sizeof(oid), eku[i], 1) > 0)
			text_add(&t, oid);
	}
	return t.s;
}

static void submit_env(struct env *e, const struct ca_request *req)
{
	char *s, num[16];

	env_add(e, "PATH", EXEC_PATH);
	env_add(e, "SCEPD_OPERATION", "submit");
	env_add(e, "SCEPD_TRANSACTION_ID", req->transaction_id);
	env_add(e, "SCEPD_CLIENT_ADDR", req->client_addr);
	s = name_text(req->subject != NULL ? req->subject : X509_REQ_get_subject_name(req->csr));
	env_add(e, "SCEPD_SUBJECT", s);
	free(s);
	s = san_text(req->san);
	env_add(e, "SCEPD_SUBJECT_ALT_NAMES", s);
	free(s);
	s = ku_text(req->key_usage);
	env_add(e, "SCEPD_KEY_USAGE", s);
	free(s);
	s = eku_text(req->eku, req->n_eku);
	env_add(e, "SCEPD_EXTENDED_KEY_USAGE", s);
	free(s);
	snprintf(num, sizeof(num), "%u", req->validity_days);
	env_add(e, "SCEPD_VALIDITY_DAYS", num);
	env_add(e, "SCEPD_TEMPLATE", req->template_name);
}

/* Reads every PEM certificate of text; NULL when there is none. */
static STACK_OF(X509) *read_certs(const unsigned char *text, size_t len)
{
	STACK_OF(X509) *certs = NULL;
	BIO *bio = NULL;
	X509 *c;

	if (len > 0x7fffffff || (bio = BIO_new_mem_buf(text, (int)len)) == NULL ||
	    (certs = sk_X509_new_null()) == NULL)
		goto out;
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, c) == 0) {
			X509_free(c);
			break;
		}
	}
out:
	ERR_clear_error();
	BIO_free(bio);
	if (certs != NULL && sk_X509_num(certs) == 0) {
		sk_X509_free(certs);
		certs = NULL;
	}
	return certs;
}

/* Turns a finished run into the outcome. */
static enum ca_outcome interpret(const struct ca_exec *x, struct subproc_result *run,
    const unsigned char spki[32], const char *default_handle, struct ca_result *res)
{
	STACK_OF(X509) *certs;
	char line[SUBPROC_MAX_STDERR + 1];
	size_t i, len;

	subproc_first_line(run->err, line, sizeof(line));
	if (run->timed_out)
		return ca_set(res, CA_UNAVAILABLE, "backend.program did not answer within %u "
		    "seconds (backend.timeout); it was killed", x->timeout);
	if (run->too_much)
		return ca_set(res, CA_UNAVAILABLE, "backend.program wrote more than %zu bytes "
		    "(backend.max_output); it was killed", x->max_output);
	if (!run->exited)
		return ca_set(res, CA_UNAVAILABLE, "backend.program was killed by signal %d%s%s",
		    run->signal, line[0] ? ": " : "", line);
	if (run->exit_status == EXEC_PENDING_STATUS) {
		len = strcspn((const char *)run->out, "\r\n");
		if (len > EXEC_MAX_HANDLE)
			return ca_set(res, CA_UNAVAILABLE, "backend.program answered pending with a "
			    "handle longer than %d bytes", EXEC_MAX_HANDLE);
		for (i = 0; i < len; i++)
			if (run->out[i] < 0x20 || run->out[i] > 0x7e)
				return ca_set(res, CA_UNAVAILABLE, "backend.program answered pending with "
				    "a handle that is not printable ASCII");
		if (len == 0)
			res->handle = xasprintf("%s%s", EXEC_HANDLE_PREFIX, default_handle);
		else
			res->handle = xasprintf("%s%.*s", EXEC_HANDLE_PREFIX, (int)len,
			    (const char *)run->out);
		if (strlen(res->handle) > CA_MAX_HANDLE) {
			free(res->handle);
			res->handle = NULL;
			return ca_set(res, CA_UNAVAILABLE, "the pending handle is too long");
		}
		return ca_set(res, CA_PENDING, "%s", line);
	}
	if (run->exit_status != 0)
		return ca_set(res, CA_REFUSED, "refused by backend.program (exit status %d)%s%s",
		    run->exit_status, line[0] ? ": " : "", line);
	if ((certs = read_certs(run->out, run->out_len)) == NULL)
		return ca_set(res, CA_UNAVAILABLE, "backend.program exited 0 without a PEM "
		    "certificate on its standard output");
	if (ca_accept_issued(res, spki, x->ca_cert, certs) != CA_ISSUED)
		return res->outcome;
	return CA_ISSUED;
}

/* The CSR as PEM text for the program's standard input. */
static char *csr_pem(const struct ca_request *req, size_t *len)
{
	unsigned char *owned = NULL;
	const unsigned char *der;
	size_t der_len = 0;
	BIO *bio = NULL;
	char *data, *pem = NULL;
	long n;

	if ((der = ca_csr_der(req, &der_len, &owned)) == NULL)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, "CERTIFICATE REQUEST", "", der, (long)der_len) <= 0)
		goto out;
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	pem = xmalloc((size_t)n);
	memcpy(pem, data, (size_t)n);
	*len = (size_t)n;
out:
	BIO_free(bio);
	OPENSSL_free(owned);
	return pem;
}

/* Runs the program once; default_handle is kept when it answers pending without one. */
static enum ca_outcome exec_run(struct ca_exec *x, struct env *e, const unsigned char *input,
    size_t input_len, const unsigned char spki[32], const char *default_handle,
    struct ca_result *res)
{
	struct subproc_result run;
	char why[300], *argv[2] = { x->program, NULL };
	enum ca_outcome o;

	memset(&run, 0, sizeof(run));
	if (ca_slots_acquire(&x->slots, x->timeout) != 0)
		return ca_set(res, CA_UNAVAILABLE, "every place for backend.program is taken "
		    "(backend.max_concurrent); none came free within %u seconds", x->timeout);
	e->v[e->n] = NULL;
	if (subproc_run(argv, e->v, input, input_len, x->timeout, x->max_output, &run, why,
	    sizeof(why)) != 0)
		o = ca_set(res, CA_UNAVAILABLE, "%s", why);
	else
		o = interpret(x, &run, spki, default_handle, res);
	ca_slots_release(&x->slots);
	subproc_result_free(&run);
	return o;
}

static enum ca_outcome exec_submit(void *impl, const struct ca_request *req,
    struct ca_result *res)
{
	struct ca_exec *x = impl;
	struct env e;
	unsigned char spki[32];
	char *pem = NULL;
	size_t pem_len = 0;
	enum ca_outcome o;

	memset(&e, 0, sizeof(e));
	if (ca_spki_sha256_req(req->csr, spki) != 0 || (pem = csr_pem(req, &pem_len)) == NULL)
		return ca_set(res, CA_UNAVAILABLE, "cannot encode the request");
	submit_env(&e, req);
	o = exec_run(x, &e, (const unsigned char *)pem, pem_len, spki, req->transaction_id,
	    res);
	env_free(&e);
	free(pem);
	return o;
}

static enum ca_outcome exec_poll(void *impl, const struct ca_poll_request *req,
    struct ca_result *res)
{
	struct ca_exec *x = impl;
	struct env e;
	enum ca_outcome o;

	if (strncmp(req->handle, EXEC_HANDLE_PREFIX, strlen(EXEC_HANDLE_PREFIX)) != 0)
		return ca_set(res, CA_REFUSED, "the pending request was not left by the exec backend");
	memset(&e, 0, sizeof(e));
	env_add(&e, "PATH", EXEC_PATH);
	env_add(&e, "SCEPD_OPERATION", "poll");
	env_add(&e, "SCEPD_TRANSACTION_ID", req->transaction_id);
	env_add(&e, "SCEPD_CLIENT_ADDR", req->client_addr);
	env_add(&e, "SCEPD_HANDLE", req->handle + strlen(EXEC_HANDLE_PREFIX));
	o = exec_run(x, &e, NULL, 0, req->pubkey_sha256, req->handle + strlen(EXEC_HANDLE_PREFIX),
	    res);
	env_free(&e);
	return o;
}

const struct ca_ops ca_exec_ops = {
	.type = "exec",
	.submit = exec_submit,
	.poll = exec_poll,
	.free = exec_free,
};
