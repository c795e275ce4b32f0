/* SPDX-License-Identifier: ISC */
/*
 * catest.h: helpers for the CA backend tests (test_ca, test_ca_scep and the
 * integration driver): a scratch folder with a lab CA, keys and CSRs made on
 * the fly, files written and read, a configuration built from text.
 * Header-only (static functions).
 */
#ifndef CATEST_H
#define CATEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "labca.h"
#include "util.h"

#define CATEST_UNUSED __attribute__((unused))

/* A new scratch folder under $TMPDIR (or /tmp); malloc'd path or NULL. */
CATEST_UNUSED static char *catest_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *d = xasprintf("%s/scepd-%s-XXXXXX", base != NULL && *base ? base : "/tmp", tag);

	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static int catest_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

CATEST_UNUSED static void catest_rmrf(const char *dir)
{
	if (dir != NULL)
		(void)nftw(dir, catest_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

CATEST_UNUSED static int catest_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fputs(text, f) >= 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && chmod(path, mode) != 0)
		rc = -1;
	return rc;
}

/* A lab CA with RA certificates in dir (labca_create). 0 or -1. */
CATEST_UNUSED static int catest_labca(const char *dir)
{
	struct labca_options o;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.ra_name = "catest-RA";
	if (labca_create(&o, err, sizeof(err)) != 0) {
		printf("# labca_create: %s\n", err);
		return -1;
	}
	return 0;
}

CATEST_UNUSED static X509 *catest_read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;

	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return x;
}

CATEST_UNUSED static EVP_PKEY *catest_read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (f != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	return k;
}

/*
 * A CSR for key with subject (OpenSSL "/CN=x/O=y" or "CN=x,O=y" syntax),
 * an optional challengePassword and optional DNS SAN. NULL on failure.
 */
CATEST_UNUSED static X509_REQ *catest_csr(EVP_PKEY *key, const char *subject,
    const char *challenge, const char *dns)
{
	X509_REQ *req = NULL, *result = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;
	char *v = NULL;

	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1)
		goto out;
	if ((name = labca_parse_subject(subject)) == NULL || X509_REQ_set_subject_name(req, name) != 1)
		goto out;
	if (X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	if (challenge != NULL && X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    MBSTRING_UTF8, (const unsigned char *)challenge, -1) != 1)
		goto out;
	if (dns != NULL) {
		v = xasprintf("DNS:%s", dns);
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, v)) == NULL ||
		    sk_X509_EXTENSION_push(exts, ext) == 0)
			goto out;
		ext = NULL;
		if (X509_REQ_add_extensions(req, exts) != 1)
			goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	result = req;
	req = NULL;
out:
	free(v);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return result;
}

CATEST_UNUSED static EVP_PKEY *catest_rsa(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

/* A configuration from text, labelled as a file in dir; errors on stdout as TAP comments. */
CATEST_UNUSED static struct config *catest_config(const char *dir, const char *text)
{
	char *label = xasprintf("%s/scepd.conf", dir), *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	struct config *cfg;
	FILE *errs = open_memstream(&buf, &len);

	cfg = config_load_string(label, text, errs);
	if (errs != NULL)
		fclose(errs);
	if (cfg == NULL && buf != NULL)
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("# config: %s\n", line);
	free(buf);
	free(label);
	return cfg;
}

/* The RFC 2253 text of a name, into buf. */
CATEST_UNUSED static const char *catest_name(const X509_NAME *name, char *buf, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	buf[0] = '\0';
	if (bio == NULL)
		return buf;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(bio, &data)) >= 0)
		snprintf(buf, len, "%.*s", (int)n, data);
	BIO_free(bio);
	return buf;
}

/* 1 when cert verifies against the single trust anchor ca (dates not checked). */
CATEST_UNUSED static int catest_chains(X509 *cert, X509 *ca)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	if (st != NULL && ctx != NULL && X509_STORE_add_cert(st, ca) == 1 &&
	    X509_STORE_CTX_init(ctx, st, cert, NULL) == 1) {
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

#endif
