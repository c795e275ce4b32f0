/* SPDX-License-Identifier: ISC */
/*
 * test_ca.c: the CA backend interface with the local backend (signer_issue,
 * the only way the daemon issues with its own key: template, crl.url, the CA
 * generation a request names) and the exec backend driven by small shell
 * scripts around `openssl x509 -req`: issued, pending then polled, refused,
 * timeout (the process group killed), huge output, garbage, a certificate
 * for another key or from another CA, the exact environment, no shell
 * interpretation of request details, and the concurrency limit. Also the
 * signer in forwarding mode (no CA key, self-signed RA certificates).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "ca_impl.h"
#include "config.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"
#include "tap.h"
#include "catest.h"
#include "fixture.h"

static char *dir;
static X509 *lab_ca;

/* The configuration for one backend: the lab CA and RA in dir plus backend_text. */
static struct config *config_for(const char *backend_text)
{
	char *text = xasprintf("state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\"; "
	    "enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n"
	    "certificate = { extended_key_usage = [ \"clientAuth\", \"1.2.3.4.5\" ]; };\n"
	    "%s\n", dir, backend_text);
	struct config *cfg = catest_config(dir, text);

	free(text);
	return cfg;
}

/* A backend with its signer; both freed by close_backend. */
struct be {
	struct config *cfg;
	struct signer *signer;
	struct ca_backend *ca;
};

static int open_backend(struct be *b, const char *backend_text)
{
	char err[512];

	memset(b, 0, sizeof(*b));
	if ((b->cfg = config_for(backend_text)) == NULL)
		return -1;
	if ((b->signer = signer_load(b->cfg, err, sizeof(err))) == NULL) {
		printf("# signer_load: %s\n", err);
		return -1;
	}
	if ((b->ca = ca_backend_new(b->cfg, &b->cfg->backend, b->signer, err,
	    sizeof(err))) == NULL) {
		printf("# ca_backend_new: %s\n", err);
		return -1;
	}
	return 0;
}

static void close_backend(struct be *b)
{
	ca_backend_free(b->ca);
	signer_free(b->signer);
	config_free(b->cfg);
	memset(b, 0, sizeof(*b));
}

/* A request for csr with a fixed template. */
static void make_request(struct ca_request *r, X509_REQ *csr, const char *txid,
    const ASN1_OBJECT **eku, size_t n_eku)
{
	memset(r, 0, sizeof(*r));
	r->csr = csr;
	r->pubkey = X509_REQ_get0_pubkey(csr);
	r->key_usage = X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT;
	r->eku = eku;
	r->n_eku = n_eku;
	r->validity_days = 42;
	r->transaction_id = txid;
	r->client_addr = "192.0.2.7";
	r->template_name = "IPSECIntermediateOffline";
	r->now = now_seconds();
}

static int64_t cert_days(X509 *x)
{
	int days = 0, secs = 0;

	if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) != 1)
		return -1;
	return days;
}

static char *script(const char *name, const char *body)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *text = xasprintf("#!/bin/sh\nD='%s'\n%s", dir, body);

	if (catest_write(path, text, 0755) != 0) {
		free(path);
		path = NULL;
	}
	free(text);
	return path;
}

/* The issuing part shared by the scripts: signs $1 (a CSR file) with the lab CA. */
static const char issue_fn[] =
    "issue() {\n"
    "  printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,%s\\n"
    "extendedKeyUsage=%s\\n' \"$SCEPD_KEY_USAGE\" \"$SCEPD_EXTENDED_KEY_USAGE\" > \"$1.ext\"\n"
    "  openssl x509 -req -in \"$1\" -CA \"$D/ca.crt\" -CAkey \"$D/ca.key\" "
    "-set_serial 0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n') "
    "-days \"$SCEPD_VALIDITY_DAYS\" -extfile \"$1.ext\" 2>\"$1.err\"\n"
    "}\n";

static void test_local(X509_REQ *csr, const unsigned char spki[32])
{
	struct be b;
	struct ca_request r;
	struct ca_poll_request pr;
	struct ca_result res;
	const ASN1_OBJECT *eku[1];
	char s1[256], s2[256];
	EXTENDED_KEY_USAGE *ext;

	ok(open_backend(&b, "") == 0, "local: backend by default");
	if (b.ca == NULL) {
		close_backend(&b);
		return;
	}
	is_str(ca_backend_type(b.ca), "local", "local: type");
	eku[0] = OBJ_nid2obj(NID_client_auth);
	make_request(&r, csr, "TXLOCAL", eku, 1);
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "local: ISSUED");
	is_int(res.outcome, CA_ISSUED, "local: outcome recorded");
	ok(res.cert != NULL && res.chain == NULL && res.handle == NULL, "local: a certificate, no chain, no handle");
	if (res.cert != NULL) {
		is_str(catest_name(X509_get_subject_name(res.cert), s1, sizeof(s1)),
		    catest_name(X509_REQ_get_subject_name(csr), s2, sizeof(s2)), "local: CSR subject");
		ok(catest_chains(res.cert, lab_ca), "local: chains to the lab CA");
		is_int(cert_days(res.cert), 42, "local: validity from the template");
		is_int((int)X509_get_key_usage(res.cert), X509v3_KU_DIGITAL_SIGNATURE |
		    X509v3_KU_KEY_ENCIPHERMENT, "local: key usage from the template");
		ext = X509_get_ext_d2i(res.cert, NID_ext_key_usage, NULL, NULL);
		ok(ext != NULL && sk_ASN1_OBJECT_num(ext) == 1 &&
		    OBJ_obj2nid(sk_ASN1_OBJECT_value(ext, 0)) == NID_client_auth,
		    "local: EKU clientAuth only");
		EXTENDED_KEY_USAGE_free(ext);
		ok(EVP_PKEY_eq(X509_get0_pubkey(res.cert), X509_REQ_get0_pubkey(csr)) == 1,
		    "local: the CSR's key");
	}
	ca_result_free(&res);
	ok(res.cert == NULL && res.outcome == CA_ISSUED && res.failinfo == SCEP_FAIL_NONE,
	    "ca_result_free clears");

	/* a granted subject other than the CSR's */
	r.subject = X509_get_subject_name(lab_ca);
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "local: granted subject ISSUED");
	ok(res.cert != NULL && X509_NAME_cmp(X509_get_subject_name(res.cert),
	    X509_get_subject_name(lab_ca)) == 0, "local: the granted subject is used");
	ca_result_free(&res);

	/* a template the signer refuses */
	r.subject = NULL;
	r.validity_days = 0;
	is_int(ca_submit(b.ca, &r, &res), CA_REFUSED, "local: bad template REFUSED");
	is_int(res.failinfo, SCEP_FAIL_BADREQUEST, "local: badRequest");
	is_str(res.reason, "the CA could not issue the certificate: validity of 0 days is out "
	    "of range", "local: reason as the pipeline gave it");
	ca_result_free(&res);

	r.transaction_id = NULL;
	is_int(ca_submit(b.ca, &r, &res), CA_REFUSED, "local: no transactionID REFUSED");
	ca_result_free(&res);

	memset(&pr, 0, sizeof(pr));
	pr.handle = "exec1;x";
	pr.pubkey_sha256 = spki;
	pr.transaction_id = "TXLOCAL";
	is_int(ca_poll(b.ca, &pr, &res), CA_REFUSED, "local: poll REFUSED");
	ca_result_free(&res);
	close_backend(&b);
}

/* The URI of x's CRL distribution point into buf ("" when it has none). */
static const char *crl_dp(X509 *x, char *buf, size_t len)
{
	CRL_DIST_POINTS *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	ASN1_IA5STRING *uri;
	int type;

	buf[0] = '\0';
	if (cdp != NULL && sk_DIST_POINT_num(cdp) == 1 &&
	    (dp = sk_DIST_POINT_value(cdp, 0))->distpoint != NULL &&
	    dp->distpoint->type == 0 && sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1) {
		gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
		uri = GENERAL_NAME_get0_value(gn, &type);
		if (type == GEN_URI)
			snprintf(buf, len, "%.*s", ASN1_STRING_length(uri),
			    (const char *)ASN1_STRING_get0_data(uri));
	}
	CRL_DIST_POINTS_free(cdp);
	return buf;
}

/*
 * The local backend as the daemon drives it (scep.c issue()): the CRL
 * distribution point of crl.url, and the CA generation a request names (the
 * rollover CA's key and its own CRL URL) instead of the signer it was built with.
 */
static void test_local_generation(X509_REQ *csr)
{
	struct be b;
	struct ca_request r;
	struct ca_result res;
	struct ca_issuer next;
	struct config *cfg2 = NULL;
	struct signer *s2 = NULL;
	X509 *ca2 = NULL;
	char *dir2 = NULL, *text = NULL, *path = NULL, url[256], err[512];

	ok(open_backend(&b, "crl = { url = \"http://crl.example.org/ca.crl\"; };") == 0,
	    "local: backend with crl.url");
	if (b.ca == NULL)
		goto out;
	make_request(&r, csr, "TXLOCALCRL", NULL, 0);
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "local: ISSUED with crl.url set");
	if (res.cert != NULL)
		is_str(crl_dp(res.cert, url, sizeof(url)), "http://crl.example.org/ca.crl",
		    "local: the certificate names crl.url as its CRL distribution point");
	ca_result_free(&res);

	/* another CA generation: a second lab CA, as ca.next_cert is after the switch-over */
	if ((dir2 = catest_tmpdir("ca-next")) == NULL || catest_labca(dir2) != 0) {
		ok(0, "a second lab CA");
		goto out;
	}
	text = xasprintf("state_dir = \"%s\";\n", dir2);
	path = xasprintf("%s/ca.crt", dir2);
	if ((cfg2 = catest_config(dir2, text)) == NULL ||
	    (s2 = signer_load(cfg2, err, sizeof(err))) == NULL ||
	    (ca2 = catest_read_cert(path)) == NULL) {
		ok(0, "the second lab CA loads");
		goto out;
	}
	next.signer = s2;
	next.crl_url = "http://crl.example.org/ca-next.crl";
	r.issuer = &next;
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "local: ISSUED under the generation named");
	if (res.cert != NULL) {
		ok(catest_chains(res.cert, ca2) && !catest_chains(res.cert, lab_ca),
		    "local: signed by that generation's CA, not the one the backend was built with");
		is_str(crl_dp(res.cert, url, sizeof(url)), "http://crl.example.org/ca-next.crl",
		    "local: with that generation's CRL distribution point");
	}
	ca_result_free(&res);
	next.crl_url = "";
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "local: a generation without a CRL URL");
	ok(res.cert != NULL && X509_get_ext_by_NID(res.cert, NID_crl_distribution_points, -1) < 0,
	    "local: no CRL distribution point then");
	ca_result_free(&res);
out:
	X509_free(ca2);
	signer_free(s2);
	config_free(cfg2);
	catest_rmrf(dir2);
	free(dir2);
	free(text);
	free(path);
	close_backend(&b);
}

static char *read_text(const char *path)
{
	size_t len = 0;

	return (char *)read_file(path, 1 << 20, &len);
}

static void test_exec_issue(X509_REQ *csr, const unsigned char spki[32])
{
	struct be b;
	struct ca_request r;
	struct ca_result res;
	const ASN1_OBJECT *eku[2];
	char *prog, *text, *env, *want, *envfile;
	GENERAL_NAMES *san = NULL;
	GENERAL_NAME *gn;
	ASN1_IA5STRING *ia5;
	X509_NAME *name;
	char s1[512];

	text = xasprintf("%s"
	    "env > \"$D/env-$SCEPD_TRANSACTION_ID\"\n"
	    "f=\"$D/req-$$.csr\"\n"
	    "cat > \"$f\"\n"
	    "issue \"$f\" || { cat \"$f.err\" >&2; exit 9; }\n"
	    "cat \"$D/ca.crt\"\n", issue_fn);
	prog = script("issue.sh", text);
	free(text);
	text = xasprintf("backend = { type = \"exec\"; program = \"issue.sh\"; };");
	ok(prog != NULL && open_backend(&b, text) == 0, "exec: backend made");
	free(text);
	free(prog);
	if (b.ca == NULL) {
		close_backend(&b);
		return;
	}
	is_str(ca_backend_type(b.ca), "exec", "exec: type");

	eku[0] = OBJ_nid2obj(NID_client_auth);
	eku[1] = OBJ_txt2obj("1.2.3.4.5", 1);
	make_request(&r, csr, "TXEXEC1", eku, 2);
	/* request details that a shell would interpret */
	name = X509_NAME_new();
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"$(touch pwned) `id` ; \"x\"", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Ex, Inc", -1, -1, 0);
	r.subject = name;
	san = GENERAL_NAMES_new();
	gn = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	ASN1_STRING_set(ia5, "a.example,b\\c", -1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	sk_GENERAL_NAME_push(san, gn);
	gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(ip, (const unsigned char *)"\xc0\x00\x02\x01", 4);
	GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
	sk_GENERAL_NAME_push(san, gn);
	r.san = san;

	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "exec: ISSUED (%s)", res.reason);
	ok(res.cert != NULL && catest_chains(res.cert, lab_ca), "exec: chains to the lab CA");
	ok(res.cert != NULL && EVP_PKEY_eq(X509_get0_pubkey(res.cert),
	    X509_REQ_get0_pubkey(csr)) == 1, "exec: for the CSR's key");
	ok(res.chain != NULL && sk_X509_num(res.chain) == 1 &&
	    X509_cmp(sk_X509_value(res.chain, 0), lab_ca) == 0, "exec: the CA after it is the chain");
	if (res.cert != NULL) {
		is_str(catest_name(X509_get_subject_name(res.cert), s1, sizeof(s1)),
		    "CN=fixture-sscep,O=Fixture Lab", "exec: the script used the CSR's subject");
		is_int(cert_days(res.cert), 42, "exec: SCEPD_VALIDITY_DAYS applied");
	}
	ca_result_free(&res);

	envfile = xasprintf("%s/env-TXEXEC1", dir);
	env = read_text(envfile);
	free(envfile);
	want = xasprintf("PATH=/usr/local/bin:/usr/bin:/bin\n"
	    "SCEPD_OPERATION=submit\n"
	    "SCEPD_TRANSACTION_ID=TXEXEC1\n"
	    "SCEPD_CLIENT_ADDR=192.0.2.7\n"
	    "SCEPD_SUBJECT=O=Ex\\, Inc,CN=$(touch pwned) `id` \\; \\\"x\\\"\n"
	    "SCEPD_SUBJECT_ALT_NAMES=DNS:a.example\\,b\\\\c,IP:192.0.2.1\n"
	    "SCEPD_KEY_USAGE=digitalSignature,keyEncipherment\n"
	    "SCEPD_EXTENDED_KEY_USAGE=clientAuth,1.2.3.4.5\n"
	    "SCEPD_VALIDITY_DAYS=42\n"
	    "SCEPD_TEMPLATE=IPSECIntermediateOffline\n");
	/* env prints in its own order (plus PWD, SHLVL, _ from sh): compare line by line */
	{
		char *w, *save = NULL, *copy = xstrdup(want);
		int all = env != NULL, n = 0;

		for (w = strtok_r(copy, "\n", &save); w != NULL && env != NULL;
		    w = strtok_r(NULL, "\n", &save)) {
			char *line = xasprintf("\n%s\n", w), *hay = xasprintf("\n%s", env);

			if (strstr(hay, line) == NULL) {
				all = 0;
				printf("# missing from the environment: %s\n", w);
			}
			free(line);
			free(hay);
			n++;
		}
		ok(all && n == 10, "exec: the ten documented variables, exactly");
		ok(env != NULL && strstr(env, "HOME=") == NULL && strstr(env, "SCEPD_HANDLE") == NULL,
		    "exec: nothing else from scepd's environment");
		free(copy);
	}
	{
		char *pwned = xasprintf("%s/pwned", dir);

		ok(access(pwned, F_OK) != 0 && access("pwned", F_OK) != 0,
		    "exec: no shell interpreted the subject");
		free(pwned);
	}
	free(want);
	free(env);

	/* the original DER is what the program reads */
	r.subject = NULL;
	r.san = NULL;
	r.transaction_id = "TXEXEC2";
	is_int(ca_submit(b.ca, &r, &res), CA_ISSUED, "exec: second request ISSUED");
	ca_result_free(&res);
	(void)spki;

	GENERAL_NAMES_free(san);
	X509_NAME_free(name);
	ASN1_OBJECT_free((ASN1_OBJECT *)eku[1]);
	close_backend(&b);
}

static void test_exec_pending(X509_REQ *csr, const unsigned char spki[32])
{
	struct be b;
	struct ca_request r;
	struct ca_poll_request pr;
	struct ca_result res;
	char *prog, *text, *approve;

	text = xasprintf("%s"
	    "case \"$SCEPD_OPERATION\" in\n"
	    "submit) cat > \"$D/pend-$SCEPD_TRANSACTION_ID.csr\"\n"
	    "  echo \"h-$SCEPD_TRANSACTION_ID\"; echo 'waiting for approval' >&2; exit 75 ;;\n"
	    "poll) [ -n \"$SCEPD_HANDLE\" ] || exit 2\n"
	    "  t=${SCEPD_HANDLE#h-}\n"
	    "  [ -e \"$D/approved-$t\" ] || exit 75\n"
	    "  export SCEPD_KEY_USAGE=digitalSignature SCEPD_EXTENDED_KEY_USAGE=clientAuth "
	    "SCEPD_VALIDITY_DAYS=7\n"
	    "  issue \"$D/pend-$t.csr\" ;;\n"
	    "esac\n", issue_fn);
	prog = script("pending.sh", text);
	free(text);
	ok(prog != NULL && open_backend(&b, "backend = { type = \"exec\"; program = \"pending.sh\"; };")
	    == 0, "exec pending: backend made");
	free(prog);
	if (b.ca == NULL) {
		close_backend(&b);
		return;
	}
	make_request(&r, csr, "TXPEND", NULL, 0);
	is_int(ca_submit(b.ca, &r, &res), CA_PENDING, "exec pending: PENDING");
	is_str(res.handle, "exec1;h-TXPEND", "exec pending: the program's handle");
	is_str(res.reason, "waiting for approval", "exec pending: its stderr line");
	memset(&pr, 0, sizeof(pr));
	pr.handle = res.handle;
	pr.pubkey_sha256 = spki;
	pr.transaction_id = "TXPEND";
	pr.client_addr = "192.0.2.8";
	{
		struct ca_result r2;

		is_int(ca_poll(b.ca, &pr, &r2), CA_PENDING, "exec pending: poll before approval PENDING");
		is_str(r2.handle, "exec1;h-TXPEND", "exec pending: handle kept");
		ca_result_free(&r2);
		approve = xasprintf("%s/approved-TXPEND", dir);
		catest_write(approve, "", 0644);
		free(approve);
		is_int(ca_poll(b.ca, &pr, &r2), CA_ISSUED, "exec pending: poll after approval ISSUED (%s)",
		    r2.reason);
		ok(r2.cert != NULL && EVP_PKEY_eq(X509_get0_pubkey(r2.cert),
		    X509_REQ_get0_pubkey(csr)) == 1 && catest_chains(r2.cert, lab_ca),
		    "exec pending: the certificate for the pending key");
		ca_result_free(&r2);
		pr.handle = "scep1;abc";
		is_int(ca_poll(b.ca, &pr, &r2), CA_REFUSED, "exec pending: a scep handle is REFUSED");
		ca_result_free(&r2);
		pr.handle = "exec1;h-TXPEND";
		pr.pubkey_sha256 = NULL;
		is_int(ca_poll(b.ca, &pr, &r2), CA_REFUSED, "exec pending: no key hash REFUSED");
		ca_result_free(&r2);
	}
	ca_result_free(&res);
	close_backend(&b);
}

struct exec_case {
	const char *name;
	const char *body;
	const char *settings;
	enum ca_outcome want;
	const char *reason;      /* expected reason (prefix) */
	double max_seconds;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_exec_cases(X509_REQ *csr)
{
	static const struct exec_case cases[] = {
		{ "refused", "cat >/dev/null; echo \"no such device: $SCEPD_SUBJECT\" >&2; "
		    "echo second line >&2; exit 3\n", "", CA_REFUSED,
		    "refused by backend.program (exit status 3): no such device: "
		    "CN=fixture-sscep,O=Fixture Lab", 10 },
		{ "refused silently", "exit 1\n", "", CA_REFUSED,
		    "refused by backend.program (exit status 1)", 10 },
		{ "timeout", "sleep 30 & echo $! > \"$D/sleeper.pid\"; wait\n", "timeout = 1;",
		    CA_UNAVAILABLE, "backend.program did not answer within 1 seconds "
		    "(backend.timeout); it was killed", 5 },
		{ "huge output", "cat >/dev/null; head -c 50000000 /dev/zero\n", "max_output = 4096;",
		    CA_UNAVAILABLE, "backend.program wrote more than 4096 bytes (backend.max_output); "
		    "it was killed", 10 },
		{ "garbage", "cat >/dev/null; echo hello\n", "", CA_UNAVAILABLE,
		    "backend.program exited 0 without a PEM certificate on its standard output", 10 },
		{ "killed", "kill -9 $$\n", "", CA_UNAVAILABLE,
		    "backend.program was killed by signal 9", 10 },
		{ "other key", "cat >/dev/null; openssl req -new -newkey rsa:2048 -nodes -subj /CN=x "
		    "-keyout \"$D/o.key\" -out \"$D/o.csr\" 2>/dev/null; "
		    "export SCEPD_KEY_USAGE=digitalSignature SCEPD_EXTENDED_KEY_USAGE=clientAuth "
		    "SCEPD_VALIDITY_DAYS=1; issue \"$D/o.csr\"\n", "", CA_UNAVAILABLE,
		    "none of the 1 certificates the backend returned is for the request's public key", 20 },
		{ "other CA", "f=\"$D/oc-$$.csr\"; cat > \"$f\"; openssl req -x509 -newkey rsa:2048 "
		    "-nodes -subj /CN=Other -keyout \"$D/oca.key\" -out \"$D/oca.crt\" 2>/dev/null; "
		    "openssl x509 -req -in \"$f\" -CA \"$D/oca.crt\" -CAkey \"$D/oca.key\" "
		    "-set_serial 7 -days 1 2>/dev/null\n", "", CA_UNAVAILABLE,
		    "the certificate the backend returned does not chain to ca.cert", 20 },
		{ "bad pending handle", "cat >/dev/null; printf 'a\\001b\\n'; exit 75\n", "",
		    CA_UNAVAILABLE, "backend.program answered pending with a handle that is not "
		    "printable ASCII", 10 },
		{ "stdin not read", "exit 4\n", "", CA_REFUSED,
		    "refused by backend.program (exit status 4)", 10 },
	};
	struct be b;
	struct ca_request r;
	struct ca_result res;
	char *prog, *text, *pidfile, *pidtext;
	double t0, secs;
	size_t i;
	int enough;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = xasprintf("%s%s", issue_fn, cases[i].body);
		prog = script("case.sh", text);
		free(text);
		text = xasprintf("backend = { type = \"exec\"; program = \"case.sh\"; %s };",
		    cases[i].settings);
		if (prog == NULL || open_backend(&b, text) != 0) {
			ok(0, "exec %s: backend made", cases[i].name);
			free(text);
			free(prog);
			close_backend(&b);
			continue;
		}
		free(text);
		free(prog);
		make_request(&r, csr, "TXCASE", NULL, 0);
		t0 = mono();
		is_int(ca_submit(b.ca, &r, &res), cases[i].want, "exec %s: %s", cases[i].name,
		    ca_outcome_name(cases[i].want));
		secs = mono() - t0;
		ok(strncmp(res.reason, cases[i].reason, strlen(cases[i].reason)) == 0,
		    "exec %s: reason", cases[i].name);
		if (strncmp(res.reason, cases[i].reason, strlen(cases[i].reason)) != 0)
			printf("#   got  '%s'\n#   want '%s'\n", res.reason, cases[i].reason);
		ok(secs < cases[i].max_seconds, "exec %s: answered in %.1f s", cases[i].name, secs);
		ok(res.cert == NULL && res.handle == NULL, "exec %s: no certificate, no handle",
		    cases[i].name);
		if (cases[i].want == CA_REFUSED)
			is_int(res.failinfo, SCEP_FAIL_BADREQUEST, "exec %s: badRequest", cases[i].name);
		ca_result_free(&res);
		close_backend(&b);
	}

	/* the timeout killed the whole process group, the background sleep too */
	pidfile = xasprintf("%s/sleeper.pid", dir);
	pidtext = read_text(pidfile);
	enough = 0;
	if (pidtext != NULL) {
		pid_t pid = (pid_t)atoi(pidtext);
		char *stat = xasprintf("/proc/%d/stat", (int)pid), *st;
		int tries;

		for (tries = 0; tries < 100 && !enough; tries++) {
			st = read_text(stat);
			/* gone, or a zombie waiting for its reaper */
			enough = st == NULL || strstr(st, ") Z ") != NULL;
			free(st);
			if (!enough)
				usleep(20000);
		}
		free(stat);
	}
	ok(enough, "exec timeout: the program's own child was killed too");
	free(pidtext);
	free(pidfile);
}

/* A descriptor scepd holds without O_CLOEXEC does not reach the program. */
static void test_exec_fds(X509_REQ *csr)
{
	struct be b;
	struct ca_request r;
	struct ca_result res;
	char *prog;
	int fd;

	memset(&res, 0, sizeof(res));
	prog = script("fds.sh", "cat >/dev/null; [ -e /proc/$$/fd/200 ] && "
	    "{ echo 'fd 200 inherited' >&2; exit 5; }; echo 'only the pipes' >&2; exit 6\n");
	fd = open("/dev/null", O_RDONLY);   /* no O_CLOEXEC, as a library may leave one */
	if (prog == NULL || fd == -1 || dup2(fd, 200) != 200 ||
	    open_backend(&b, "backend = { type = \"exec\"; program = \"fds.sh\"; };") != 0) {
		ok(0, "exec fds: backend made");
		ok(0, "exec fds: reason");
		if (fd != -1)
			close(fd);
		close(200);
		free(prog);
		return;
	}
	make_request(&r, csr, "TXFDS", NULL, 0);
	is_int(ca_submit(b.ca, &r, &res), CA_REFUSED, "exec fds: REFUSED");
	is_str(res.reason, "refused by backend.program (exit status 6): only the pipes",
	    "exec fds: the program sees no other descriptor");
	ca_result_free(&res);
	close_backend(&b);
	close(fd);
	close(200);
	free(prog);
}

struct conc {
	struct ca_backend *ca;
	X509_REQ *csr;
	char txid[32];
	enum ca_outcome got;
};

static void *conc_run(void *arg)
{
	struct conc *c = arg;
	struct ca_request r;
	struct ca_result res;

	make_request(&r, c->csr, c->txid, NULL, 0);
	c->got = ca_submit(c->ca, &r, &res);
	ca_result_free(&res);
	return NULL;
}

static void test_exec_concurrency(X509_REQ *csr)
{
	struct be b;
	struct conc c[3];
	pthread_t th[3];
	struct ca_slots slots;
	char *prog, *log, *text, *line, *save = NULL;
	double start[3], end[3], t0;
	int i, n = 0, overlap = 0, j;

	prog = script("slow.sh", "cat >/dev/null\n"
	    "echo \"start $(date +%s.%N)\" >> \"$D/conc.log\"\n"
	    "sleep 0.4\n"
	    "echo \"end $(date +%s.%N)\" >> \"$D/conc.log\"\n"
	    "exit 5\n");
	ok(prog != NULL && open_backend(&b, "backend = { type = \"exec\"; program = \"slow.sh\"; "
	    "max_concurrent = 1; timeout = 10; };") == 0, "exec concurrency: backend made");
	free(prog);
	if (b.ca == NULL) {
		close_backend(&b);
		return;
	}
	for (i = 0; i < 3; i++) {
		c[i].ca = b.ca;
		c[i].csr = csr;
		snprintf(c[i].txid, sizeof(c[i].txid), "TXC%d", i);
		pthread_create(&th[i], NULL, conc_run, &c[i]);
	}
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ok(c[0].got == CA_REFUSED && c[1].got == CA_REFUSED && c[2].got == CA_REFUSED,
	    "exec concurrency: all three ran to their answer");
	log = xasprintf("%s/conc.log", dir);
	text = read_text(log);
	free(log);
	/* with max_concurrent = 1 the runs never overlap: start, end, start, end, ... */
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line != NULL && n < 6;
	    line = strtok_r(NULL, "\n", &save), n++) {
		if (n % 2 == 0)
			start[n / 2] = strncmp(line, "start ", 6) == 0 ? atof(line + 6) : -1;
		else
			end[n / 2] = strncmp(line, "end ", 4) == 0 ? atof(line + 4) : -1;
	}
	for (i = 0; i < 3 && n == 6; i++)
		for (j = 0; j < 3; j++)
			if (i != j && start[i] < start[j] && end[i] > start[j])
				overlap = 1;
	ok(n == 6 && !overlap, "exec concurrency: max_concurrent = 1 runs one program at a time");
	free(text);
	close_backend(&b);

	/* the limit itself: a second holder waits, then gives up after the timeout */
	ok(ca_slots_init(&slots, 1) == 0, "slots: init");
	is_int(ca_slots_acquire(&slots, 1), 0, "slots: first holder");
	t0 = mono();
	is_int(ca_slots_acquire(&slots, 1), -1, "slots: second holder times out");
	ok(mono() - t0 >= 0.9 && mono() - t0 < 3, "slots: after about one second");
	ca_slots_release(&slots);
	is_int(ca_slots_acquire(&slots, 1), 0, "slots: free again after release");
	ca_slots_release(&slots);
	ca_slots_destroy(&slots);
}

static void test_signer_forward(void)
{
	struct config *cfg;
	struct signer *s;
	struct issue_request ir;
	char err[512], *text, *path;
	EVP_PKEY *key;
	X509 *self;
	X509_NAME *n;
	FILE *f;

	/* exec: no CA key needed; signer_issue refuses */
	text = xasprintf("state_dir = \"%s\";\nca = { key = \"missing.key\"; };\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\"; "
	    "enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n"
	    "backend = { type = \"exec\"; program = \"issue.sh\"; };\n", dir);
	cfg = catest_config(dir, text);
	free(text);
	s = cfg != NULL ? signer_load(cfg, err, sizeof(err)) : NULL;
	ok(s != NULL, "signer: forwarding backend loads without the CA key");
	if (s != NULL) {
		memset(&ir, 0, sizeof(ir));
		ir.subject = X509_get_subject_name(lab_ca);
		ir.pubkey = X509_get0_pubkey(lab_ca);
		ir.validity_days = 1;
		ok(signer_issue(s, &ir, err, sizeof(err)) == NULL, "signer: no issuing without the CA key");
		is_str(err, "this server holds no CA key: backend.type forwards requests",
		    "signer: and says why");
	}
	signer_free(s);
	config_free(cfg);

	/* self-signed RA certificates: accepted when forwarding, refused for local */
	key = catest_rsa();
	self = X509_new();
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"self RA", -1, -1, 0);
	X509_set_version(self, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(self), 5);
	X509_set_subject_name(self, n);
	X509_set_issuer_name(self, n);
	X509_gmtime_adj(X509_getm_notBefore(self), 0);
	X509_gmtime_adj(X509_getm_notAfter(self), 86400);
	X509_set_pubkey(self, key);
	X509_sign(self, key, EVP_sha256());
	path = xasprintf("%s/self.crt", dir);
	f = fopen(path, "w");
	PEM_write_X509(f, self);
	fclose(f);
	free(path);
	path = xasprintf("%s/self.key", dir);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(path, 0600);
	free(path);
	text = xasprintf("state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"self.crt\"; sign_key = \"self.key\"; "
	    "enc_cert = \"self.crt\"; enc_key = \"self.key\"; };\n"
	    "backend = { type = \"exec\"; program = \"issue.sh\"; };\n", dir);
	cfg = catest_config(dir, text);
	free(text);
	s = cfg != NULL ? signer_load(cfg, err, sizeof(err)) : NULL;
	ok(s != NULL, "signer: self-signed RA accepted when forwarding");
	signer_free(s);
	config_free(cfg);
	text = xasprintf("state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"self.crt\"; sign_key = \"self.key\"; "
	    "enc_cert = \"self.crt\"; enc_key = \"self.key\"; };\n", dir);
	cfg = catest_config(dir, text);
	free(text);
	s = cfg != NULL ? signer_load(cfg, err, sizeof(err)) : NULL;
	ok(s == NULL && strstr(err, "not issued by the CA certificate") != NULL,
	    "signer: self-signed RA refused for the local CA");
	signer_free(s);
	config_free(cfg);

	/* signer_from_pair: one identity, no issuing */
	s = signer_from_pair(self, key, 0, err, sizeof(err));
	ok(s != NULL && signer_ca_cert(s) == self && signer_ra_sign_cert(s) == self &&
	    signer_ra_enc_cert(s) == self, "signer_from_pair: the identity everywhere");
	if (s != NULL) {
		memset(&ir, 0, sizeof(ir));
		ir.subject = n;
		ir.pubkey = key;
		ir.validity_days = 1;
		ok(signer_issue(s, &ir, err, sizeof(err)) == NULL, "signer_from_pair: does not issue");
	}
	signer_free(s);
	X509_NAME_free(n);
	X509_free(self);
	EVP_PKEY_free(key);

	/* the scep backend needs the ra group (config check) */
	text = xasprintf("state_dir = \"%s\";\nbackend = { type = \"scep\"; url = \"http://x/\"; };\n",
	    dir);
	cfg = catest_config(dir, text);
	free(text);
	ok(cfg == NULL, "config: scep without ra refused");
	config_free(cfg);
}

int main(void)
{
	char *path;
	X509_REQ *csr = NULL;
	unsigned char *der;
	const unsigned char *p;
	unsigned char spki[32];
	size_t len = 0;

	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	signal(SIGPIPE, SIG_DFL);   /* the exec backend must cope without SIG_IGN */
	if ((dir = catest_tmpdir("ca")) == NULL || catest_labca(dir) != 0) {
		printf("Bail out! no scratch folder with a lab CA\n");
		return 1;
	}
	path = xasprintf("%s/ca.crt", dir);
	lab_ca = catest_read_cert(path);
	free(path);
	/* a real client's CSR: sscep's, subject O=Fixture Lab,CN=fixture-sscep */
	path = xasprintf("%s/sscep-aes128-sha256-post/request.csr.der", fixture_dir());
	der = read_file(path, 1 << 20, &len);
	free(path);
	p = der;
	if (der != NULL)
		csr = d2i_X509_REQ(NULL, &p, (long)len);
	free(der);
	if (lab_ca == NULL || csr == NULL || ca_spki_sha256_req(csr, spki) != 0) {
		printf("Bail out! lab CA or fixture CSR unreadable\n");
		return 1;
	}

	test_local(csr, spki);
	test_local_generation(csr);
	test_exec_issue(csr, spki);
	test_exec_pending(csr, spki);
	test_exec_cases(csr);
	test_exec_fds(csr);
	test_exec_concurrency(csr);
	test_signer_forward();

	X509_REQ_free(csr);
	X509_free(lab_ca);
	catest_rmrf(dir);
	free(dir);
	return done_testing();
}
