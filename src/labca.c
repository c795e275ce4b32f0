/* SPDX-License-Identifier: ISC */
/*
 * labca.c: makes the key material of a state folder for `scepctl init`: a CA
 * (new, or imported from a certificate and key) and the two NDES-style RA
 * certificates (signing and encryption, RSA-2048, EKU Certificate Request
 * Agent) issued by it. Everything is built in memory first and then written
 * with O_EXCL; it never overwrites a file and removes what it wrote when a
 * later write fails. The daemon itself never calls it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "keyref.h"
#include "labca.h"
#include "pemfile.h"
#include "util.h"
#include "x509build.h"

#define LABCA_EKU_RA "1.3.6.1.4.1.311.20.2.1"
#define LABCA_N_FILES 6

/* Adds one "KEY=value" (key and value trimmed) to name. 0 or -1. */
static int add_rdn(X509_NAME *name, char *key, char *value)
{
	char *end;

	while (*key == ' ' || *key == '\t')
		key++;
	end = key + strlen(key);
	while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (*key == '\0' || *value == '\0')
		return -1;
	if (OBJ_txt2nid(key) == NID_undef)
		return -1;
	if (X509_NAME_add_entry_by_txt(name, key, MBSTRING_UTF8, (const unsigned char *)value,
	    -1, -1, 0) != 1)
		return -1;
	return 0;
}

X509_NAME *labca_parse_subject(const char *text)
{
	X509_NAME *name = NULL, *result = NULL;
	char *buf = NULL, *key, *value;
	const char *p;
	size_t o = 0;
	char sep;
	int in_value;

	if (text == NULL)
		return NULL;
	while (*text == ' ' || *text == '\t')
		text++;
	if (*text == '\0')
		return NULL;
	sep = ',';
	if (*text == '/') {
		sep = '/';
		text++;
	}
	if ((name = X509_NAME_new()) == NULL)
		goto out;
	/* One pass: copy a component unescaped into buf, split at the first '='. */
	if ((buf = malloc(strlen(text) + 1)) == NULL)
		goto out;
	p = text;
	for (;;) {
		o = 0;
		in_value = 0;
		value = NULL;
		while (*p != '\0' && *p != sep) {
			if (*p == '\\') {
				if (p[1] == '\0')
					goto out;
				buf[o++] = p[1];
				p += 2;
				continue;
			}
			if (*p == '=' && !in_value) {
				in_value = 1;
				buf[o++] = '\0';
				value = buf + o;
				p++;
				continue;
			}
			buf[o++] = *p++;
		}
		buf[o] = '\0';
		key = buf;
		if (value == NULL || add_rdn(name, key, value) == -1)
			goto out;
		if (*p == '\0')
			break;
		p++;   /* separator */
		if (*p == '\0' && sep == '/')
			break;   /* "/CN=x/" */
	}
	if (X509_NAME_entry_count(name) == 0)
		goto out;
	result = name;
	name = NULL;
out:
	free(buf);
	X509_NAME_free(name);
	return result;
}

static EVP_PKEY *make_key(const char *spec, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	char ebuf[256];

	if (strcmp(spec, "rsa:2048") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(spec, "rsa:3072") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	else if (strcmp(spec, "rsa:4096") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	else if (strcmp(spec, "ec:p256") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(spec, "ec:p384") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else {
		errorf(err, errlen, "unknown key type '%s' (rsa:2048, rsa:3072, rsa:4096, ec:p256, "
		    "ec:p384)", spec);
		return NULL;
	}
	if (key == NULL)
		errorf(err, errlen, "generating a %s key failed: %s", spec,
		    ossl_errors(ebuf, sizeof(ebuf)));
	return key;
}

/* Adds extension nid from its OpenSSL config text (issuer for AKI). 0 or -1. */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return rc == 1 ? 0 : -1;
}

/*
 * Builds and signs a certificate for pub. issuer NULL makes it self-signed (a
 * CA). ku and eku are OpenSSL extension texts; eku may be NULL.
 */
static X509 *make_cert_at(const X509_NAME *subject, EVP_PKEY *pub, X509 *issuer,
    EVP_PKEY *issuer_key, time_t now, unsigned days, const char *ku, const char *eku,
    char *err, size_t errlen)
{
	X509 *x = NULL, *result = NULL;
	const EVP_MD *md;
	const ASN1_TIME *end;
	char ebuf[256];
	int reported = 0;

	if ((md = x509build_digest(issuer_key)) == NULL) {
		errorf(err, errlen, "the CA key type cannot sign certificates (RSA or EC only)");
		reported = 1;
		goto out;
	}
	if ((x = X509_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 || x509build_random_serial(x) == -1)
		goto out;
	if (X509_set_subject_name(x, subject) != 1)
		goto out;
	if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) != 1)
		goto out;
	if (X509_set_pubkey(x, pub) != 1)
		goto out;
	if (ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL)
		goto out;
	if (ASN1_TIME_adj(X509_getm_notAfter(x), now, (int)days, 0) == NULL)
		goto out;
	if (issuer != NULL) {
		end = X509_get0_notAfter(issuer);
		if (ASN1_TIME_compare(X509_get0_notAfter(x), end) > 0 &&
		    X509_set1_notAfter(x, end) != 1)
			goto out;
		if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notAfter(x)) >= 0) {
			errorf(err, errlen, "the CA certificate has expired");
			reported = 1;
			goto out;
		}
	}
	if (add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
	    issuer != NULL ? "critical,CA:FALSE" : "critical,CA:TRUE") == -1)
		goto out;
	if (add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, ku) == -1)
		goto out;
	if (eku != NULL && add_ext(x, issuer, NID_ext_key_usage, eku) == -1)
		goto out;
	if (add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash") == -1)
		goto out;
	if (add_ext(x, issuer != NULL ? issuer : x, NID_authority_key_identifier,
	    "keyid:always") == -1)
		goto out;
	if (X509_sign(x, issuer_key, md) <= 0)
		goto out;
	result = x;
	x = NULL;
out:
	if (result == NULL && !reported)
		errorf(err, errlen, "building a certificate failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	X509_free(x);
	return result;
}

static X509 *make_cert(const X509_NAME *subject, EVP_PKEY *pub, X509 *issuer,
    EVP_PKEY *issuer_key, unsigned days, const char *ku, const char *eku,
    char *err, size_t errlen)
{
	return make_cert_at(subject, pub, issuer, issuer_key, time(NULL), days, ku, eku,
	    err, errlen);
}

/* PEM text of a certificate or (PKCS#8) key in a malloc'd buffer; keys wiped. */
static char *to_pem(X509 *cert, STACK_OF(X509) *issuers, EVP_PKEY *key, size_t *len)
{
	BIO *bio;
	char *data, *out = NULL;
	long n;
	int i;

	if ((bio = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem())) == NULL)
		return NULL;
	if (key != NULL) {
		if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
			goto out;
	} else if (PEM_write_bio_X509(bio, cert) != 1) {
		goto out;
	}
	for (i = 0; key == NULL && i < sk_X509_num(issuers); i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(issuers, i)) != 1)
			goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		goto out;
	out = xmalloc((size_t)n);
	memcpy(out, data, (size_t)n);
	*len = (size_t)n;
out:
	BIO_free(bio);
	return out;
}

/*
 * Fills fd, just created as path, with data: the owner of owner (when given
 * and running as root), exactly mode, written out and synced, then closed.
 * On failure path is removed, so no partial file is left. 0 or -1.
 */
static int write_fd(int fd, const char *path, const char *data, size_t len, mode_t mode,
    const struct stat *owner, char *err, size_t errlen)
{
	size_t done = 0;
	ssize_t n;
	int result = -1;

	if (owner != NULL && geteuid() == 0 && fchown(fd, owner->st_uid, owner->st_gid) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errorf(err, errlen, "%s: %s", path, n == 0 ? "short write" : strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	result = 0;
out:
	if (close(fd) == -1 && result == 0) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		result = -1;
	}
	if (result == -1)
		(void)unlink(path);
	return result;
}

/* Writes a new file (never an existing one) with exactly mode. 0 or -1. */
static int write_new(const char *path, const char *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return write_fd(fd, path, data, len, mode, NULL, err, errlen);
}

/*
 * Writes the n new files paths[i] (text pem[i], mode modes[i]) in order, once
 * every text is there; when one fails, the ones written before it are removed.
 * 0 or -1.
 */
static int write_files(const char *const paths[], char *const pem[], const size_t pem_len[],
    const mode_t modes[], int n, char *err, size_t errlen)
{
	char ebuf[256];
	int i;

	for (i = 0; i < n; i++) {
		if (pem[i] == NULL) {
			errorf(err, errlen, "PEM encoding failed: %s", ossl_errors(ebuf, sizeof(ebuf)));
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if (write_new(paths[i], pem[i], pem_len[i], modes[i], err, errlen) == -1) {
			while (i-- > 0)
				(void)unlink(paths[i]);
			return -1;
		}
	}
	return 0;
}

char *labca_default_ra_name(void)
{
	char host[256];
	char *dot;

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "scepd");
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL && dot != host)
		*dot = '\0';
	return xasprintf("%s-MSCEP-RA", host);
}

int labca_create(const struct labca_options *opt, char *err, size_t errlen)
{
	static const char *const names[LABCA_N_FILES] = {
		"ca.crt", "ca.key", "ra-sign.crt", "ra-sign.key", "ra-enc.crt", "ra-enc.key"
	};
	char *paths[LABCA_N_FILES] = { NULL };
	char *pem[LABCA_N_FILES] = { NULL };
	size_t pem_len[LABCA_N_FILES] = { 0 };
	static const mode_t modes[LABCA_N_FILES] = { 0644, 0600, 0644, 0600, 0644, 0600 };
	X509 *ca = NULL, *ra_sign = NULL, *ra_enc = NULL;
	STACK_OF(X509) *issuers = NULL;
	EVP_PKEY *ca_key = NULL, *sign_key = NULL, *enc_key = NULL;
	X509_NAME *ca_name = NULL, *ra_name = NULL;
	char *ra_cn = NULL;
	const char *spec, *subject;
	struct stat sb;
	unsigned ca_days, ra_days;
	const char *wpaths[LABCA_N_FILES] = { NULL };
	mode_t wmodes[LABCA_N_FILES] = { 0 };
	char ebuf[256];
	int i, dirfd, n_write = 0, made = 0, result = -1;
	int ca_tok = (opt->ca_key_spec != NULL && keyref_is_token(opt->ca_key_spec)) ||
	    (opt->import_key != NULL && keyref_is_token(opt->import_key));

	if (opt->dir == NULL || opt->dir[0] == '\0') {
		errorf(err, errlen, "no state folder given");
		goto out;
	}
	if ((opt->import_cert == NULL) != (opt->import_key == NULL)) {
		errorf(err, errlen, "importing a CA needs both its certificate and its key");
		goto out;
	}
	ca_days = opt->ca_days ? opt->ca_days : 3650;
	ra_days = opt->ra_days ? opt->ra_days : 730;
	if (ca_days > 36500 || ra_days > 36500) {
		errorf(err, errlen, "validity over 100 years");
		goto out;
	}
	if (stat(opt->dir, &sb) == -1) {
		/* A missing state folder (one level) is created, private. */
		if (errno != ENOENT || mkdir(opt->dir, 0700) == -1) {
			errorf(err, errlen, "%s: %s", opt->dir, strerror(errno));
			goto out;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		errorf(err, errlen, "%s: not a directory", opt->dir);
		goto out;
	}
	for (i = 0; i < LABCA_N_FILES; i++) {
		paths[i] = xasprintf("%s/%s", opt->dir, names[i]);
		if (lstat(paths[i], &sb) == 0) {
			errorf(err, errlen, "%s exists already; nothing written", paths[i]);
			goto out;
		}
		if (errno != ENOENT) {
			errorf(err, errlen, "%s: %s", paths[i], strerror(errno));
			goto out;
		}
	}

	/* The CA: imported, or a new self-signed one. */
	if (opt->import_cert != NULL) {
		/* The CA, then the issuers above it that GetCACert sends after it. */
		if ((issuers = pemfile_ca_chain(opt->import_cert, err, errlen)) == NULL)
			goto out;
		ca = sk_X509_shift(issuers);
		if ((ca_key = keyref_load(opt->import_key, 0, err, errlen)) == NULL)
			goto out;
		if (X509_check_private_key(ca, ca_key) != 1) {
			errorf(err, errlen, "%s does not match %s (%s)", opt->import_key,
			    opt->import_cert, ossl_errors(ebuf, sizeof(ebuf)));
			goto out;
		}
		if (X509_check_ca(ca) < 1) {
			errorf(err, errlen, "%s is not a CA certificate", opt->import_cert);
			goto out;
		}
	} else {
		spec = opt->ca_key_spec != NULL ? opt->ca_key_spec : "rsa:2048";
		subject = opt->ca_subject != NULL ? opt->ca_subject : "CN=scepd Lab CA,O=scepd";
		if ((ca_name = labca_parse_subject(subject)) == NULL) {
			errorf(err, errlen, "cannot parse the CA subject '%s'", subject);
			goto out;
		}
		if ((ca_key = ca_tok ? keyref_token_key(spec, "rsa:2048", &made, err, errlen) :
		    make_key(spec, err, errlen)) == NULL)
			goto out;
		if ((ca = make_cert(ca_name, ca_key, NULL, ca_key, ca_days,
		    "critical,keyCertSign,cRLSign,digitalSignature", NULL, err, errlen)) == NULL)
			goto out;
	}

	/* The RA pair, named like NDES's "<host>-MSCEP-RA". */
	ra_cn = opt->ra_name != NULL ? xstrdup(opt->ra_name) : labca_default_ra_name();
	if ((ra_name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(ra_name, "CN", MBSTRING_UTF8, (unsigned char *)ra_cn,
	    -1, -1, 0) != 1) {
		errorf(err, errlen, "bad RA name '%s'", ra_cn);
		goto out;
	}
	if (opt->ra_key_uri != NULL) {
		if ((sign_key = keyref_token_key(opt->ra_key_uri, "rsa:2048", &made, err,
		    errlen)) == NULL || EVP_PKEY_up_ref(sign_key) != 1)
			goto out;
		enc_key = sign_key;
	} else if ((sign_key = make_key("rsa:2048", err, errlen)) == NULL ||
	    (enc_key = make_key("rsa:2048", err, errlen)) == NULL)
		goto out;
	if ((ra_sign = make_cert(ra_name, sign_key, ca, ca_key, ra_days,
	    "critical,digitalSignature", LABCA_EKU_RA, err, errlen)) == NULL)
		goto out;
	if ((ra_enc = make_cert(ra_name, enc_key, ca, ca_key, ra_days,
	    "critical,keyEncipherment", LABCA_EKU_RA, err, errlen)) == NULL)
		goto out;

	/* Keys in a token have no file: those entries are left out. */
	for (i = 0; i < LABCA_N_FILES; i++) {
		if ((i == 1 && ca_tok) || ((i == 3 || i == 5) && opt->ra_key_uri != NULL))
			continue;
		wpaths[n_write] = paths[i];
		wmodes[n_write] = modes[i];
		pem[n_write] = i == 0 ? to_pem(ca, issuers, NULL, &pem_len[n_write]) :
		    i == 1 ? to_pem(NULL, NULL, ca_key, &pem_len[n_write]) :
		    i == 2 ? to_pem(ra_sign, NULL, NULL, &pem_len[n_write]) :
		    i == 3 ? to_pem(NULL, NULL, sign_key, &pem_len[n_write]) :
		    i == 4 ? to_pem(ra_enc, NULL, NULL, &pem_len[n_write]) :
		    to_pem(NULL, NULL, enc_key, &pem_len[n_write]);
		n_write++;
	}
	if (write_files(wpaths, pem, pem_len, wmodes, n_write, err, errlen) == -1)
		goto out;
	if ((dirfd = open(opt->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dirfd);
		close(dirfd);
	}
	result = 0;
out:
	for (i = 0; i < LABCA_N_FILES; i++) {
		if (pem[i] != NULL) {
			OPENSSL_cleanse(pem[i], pem_len[i]);
			free(pem[i]);
		}
		free(paths[i]);
	}
	free(ra_cn);
	X509_NAME_free(ra_name);
	X509_NAME_free(ca_name);
	X509_free(ra_enc);
	X509_free(ra_sign);
	X509_free(ca);
	sk_X509_pop_free(issuers, X509_free);
	EVP_PKEY_free(enc_key);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(ca_key);
	return result;
}

X509 *labca_self_signed(EVP_PKEY *key, const char *cn, const char *ku, const char *eku,
    unsigned days, char *err, size_t errlen)
{
	X509 *x = NULL, *result = NULL;
	X509_NAME *name = NULL;
	const EVP_MD *md;
	time_t now = time(NULL);
	char ebuf[256];

	if ((md = x509build_digest(key)) == NULL) {
		errorf(err, errlen, "the key type cannot sign (RSA or EC only)");
		return NULL;
	}
	if ((name = X509_NAME_new()) == NULL || X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    x509build_random_serial(x) == -1 || X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
		goto out;
	if (ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL ||
	    ASN1_TIME_adj(X509_getm_notAfter(x), now, (int)days, 0) == NULL)
		goto out;
	if (add_ext(x, x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, x, NID_key_usage, ku) == -1 ||
	    (eku != NULL && add_ext(x, x, NID_ext_key_usage, eku) == -1) ||
	    add_ext(x, x, NID_subject_key_identifier, "hash") == -1)
		goto out;
	if (X509_sign(x, key, md) <= 0)
		goto out;
	result = x;
	x = NULL;
out:
	if (result == NULL)
		errorf(err, errlen, "building a self-signed certificate failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
	X509_NAME_free(name);
	X509_free(x);
	return result;
}

int labca_write_forward(const char *dir, X509 *ca, X509 *ra_sign, EVP_PKEY *sign_key,
    X509 *ra_enc, EVP_PKEY *enc_key, char *err, size_t errlen)
{
	static const char *const names[5] = {
		"ca.crt", "ra-sign.crt", "ra-sign.key", "ra-enc.crt", "ra-enc.key"
	};
	char *paths[5] = { NULL }, *pem[5] = { NULL };
	size_t pem_len[5] = { 0 };
	static const mode_t modes[5] = { 0644, 0644, 0600, 0644, 0600 };
	int i, result = -1;
	struct stat sb;

	for (i = 0; i < 5; i++) {
		paths[i] = xasprintf("%s/%s", dir, names[i]);
		if (lstat(paths[i], &sb) == 0) {
			errorf(err, errlen, "%s exists already; nothing written", paths[i]);
			goto out;
		}
	}
	pem[0] = to_pem(ca, NULL, NULL, &pem_len[0]);
	pem[1] = to_pem(ra_sign, NULL, NULL, &pem_len[1]);
	pem[2] = to_pem(NULL, NULL, sign_key, &pem_len[2]);
	pem[3] = to_pem(ra_enc, NULL, NULL, &pem_len[3]);
	pem[4] = to_pem(NULL, NULL, enc_key, &pem_len[4]);
	if (write_files((const char *const *)paths, pem, pem_len, modes, 5, err, errlen) == -1)
		goto out;
	result = 0;
out:
	for (i = 0; i < 5; i++) {
		if (pem[i] != NULL) {
			OPENSSL_cleanse(pem[i], pem_len[i]);
			free(pem[i]);
		}
		free(paths[i]);
	}
	return result;
}

/* A new key for the rollover: in software, or in the token a URI names (made when absent). */
static EVP_PKEY *rollover_key(const char *where, const char *spec, char *err, size_t errlen)
{
	int made;

	if (where != NULL && keyref_is_token(where))
		return keyref_token_key(where, spec, &made, err, errlen);
	return make_key(spec, err, errlen);
}

int labca_rollover(const struct labca_rollover *opt, char *err, size_t errlen)
{
	const char *paths[LABCA_N_FILES];
	char *pem[LABCA_N_FILES] = { NULL };
	size_t pem_len[LABCA_N_FILES] = { 0 };
	static const mode_t modes[LABCA_N_FILES] = { 0644, 0600, 0644, 0600, 0644, 0600 };
	X509 *cur = NULL, *cur_ra = NULL, *ca = NULL, *ra_sign = NULL, *ra_enc = NULL;
	EVP_PKEY *ca_key = NULL, *sign_key = NULL, *enc_key = NULL;
	const char *wpaths[LABCA_N_FILES] = { NULL };
	mode_t wmodes[LABCA_N_FILES] = { 0 };
	struct stat sb;
	unsigned ca_days, ra_days;
	int i, n, n_write = 0, result = -1;

	paths[0] = opt->next_cert;
	paths[1] = opt->next_key;
	paths[2] = opt->next_ra_sign_cert;
	paths[3] = opt->next_ra_sign_key;
	paths[4] = opt->next_ra_enc_cert;
	paths[5] = opt->next_ra_enc_key;
	n = opt->ra_sign_cert != NULL ? LABCA_N_FILES : 2;
	ca_days = opt->ca_days ? opt->ca_days : 3650;
	ra_days = opt->ra_days ? opt->ra_days : 730;
	if (ca_days > 36500 || ra_days > 36500) {
		errorf(err, errlen, "validity over 100 years");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (paths[i] == NULL) {
			errorf(err, errlen, "a file name for the rollover CA is missing");
			goto out;
		}
		if (keyref_is_token(paths[i]))   /* a key in a token: made there, no file */
			continue;
		if (lstat(paths[i], &sb) == 0) {
			errorf(err, errlen, "%s exists already; nothing written", paths[i]);
			goto out;
		}
	}
	if ((cur = pemfile_cert(opt->ca_cert, err, errlen)) == NULL)
		goto out;
	if ((ca_key = rollover_key(paths[1], opt->ca_key_spec != NULL ? opt->ca_key_spec :
	    "rsa:2048", err, errlen)) == NULL)
		goto out;
	/* The same name, a new key, valid from the switch-over on. */
	if ((ca = make_cert_at(X509_get_subject_name(cur), ca_key, NULL, ca_key,
	    (time_t)opt->starts, ca_days, "critical,keyCertSign,cRLSign,digitalSignature", NULL,
	    err, errlen)) == NULL)
		goto out;
	if (n == LABCA_N_FILES) {
		if ((cur_ra = pemfile_cert(opt->ra_sign_cert, err, errlen)) == NULL)
			goto out;
		if ((sign_key = rollover_key(paths[3], "rsa:2048", err, errlen)) == NULL ||
		    (enc_key = rollover_key(paths[5], "rsa:2048", err, errlen)) == NULL)
			goto out;
		if ((ra_sign = make_cert_at(X509_get_subject_name(cur_ra), sign_key, ca, ca_key,
		    (time_t)opt->starts, ra_days, "critical,digitalSignature", LABCA_EKU_RA,
		    err, errlen)) == NULL)
			goto out;
		if ((ra_enc = make_cert_at(X509_get_subject_name(cur_ra), enc_key, ca, ca_key,
		    (time_t)opt->starts, ra_days, "critical,keyEncipherment", LABCA_EKU_RA,
		    err, errlen)) == NULL)
			goto out;
	}
	/* Keys in a token have no file: those entries are left out. */
	for (i = 0; i < n; i++) {
		if (keyref_is_token(paths[i]))
			continue;
		wpaths[n_write] = paths[i];
		wmodes[n_write] = modes[i];
		pem[n_write] = to_pem(i % 2 == 0 ? (i == 0 ? ca : i == 2 ? ra_sign : ra_enc) : NULL,
		    NULL, i % 2 == 1 ? (i == 1 ? ca_key : i == 3 ? sign_key : enc_key) : NULL,
		    &pem_len[n_write]);
		n_write++;
	}
	if (write_files(wpaths, pem, pem_len, wmodes, n_write, err, errlen) == -1)
		goto out;
	result = 0;
out:
	for (i = 0; i < LABCA_N_FILES; i++) {
		if (pem[i] != NULL) {
			OPENSSL_cleanse(pem[i], pem_len[i]);
			free(pem[i]);
		}
	}
	X509_free(cur);
	X509_free(cur_ra);
	X509_free(ca);
	X509_free(ra_sign);
	X509_free(ra_enc);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(enc_key);
	return result;
}

/* --- RA renewal ------------------------------------------------------------ */

/* Writes data to path (which must not exist) with the owner and mode of like. 0 or -1. */
static int write_like(const char *path, const char *like, const char *data, size_t len,
    char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (stat(like, &sb) == -1) {
		errorf(err, errlen, "%s: %s", like, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		errorf(err, errlen, "%s: %s%s", path, strerror(errno), errno == EEXIST ?
		    " (left by an interrupted renewal? remove it)" : "");
		return -1;
	}
	return write_fd(fd, path, data, len, sb.st_mode & 07777, &sb, err, errlen);
}

/* The directory part of path, for fsync; malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

int labca_ra_renew(const struct labca_renew_options *o, char *err, size_t errlen)
{
	enum { SIGN_CERT, SIGN_KEY, ENC_CERT, ENC_KEY, N };
	const char *cur[N] = { o->sign_cert, o->sign_key, o->enc_cert, o->enc_key };
	char *prev[N] = { NULL }, *next[N] = { NULL }, *pem[N] = { NULL }, *dir = NULL;
	size_t pem_len[N] = { 0 };
	int linked[N] = { 0 }, staged[N] = { 0 }, renamed[N] = { 0 };
	X509 *ca = NULL, *old_sign = NULL, *old_enc = NULL, *sign = NULL, *enc = NULL;
	EVP_PKEY *ca_key = NULL, *sign_key = NULL, *enc_key = NULL;
	const char *suffix = o->prev_suffix != NULL ? o->prev_suffix : ".prev";
	unsigned days = o->days ? o->days : 730;
	int combined, i, n, bits, dirfd, result = -1;
	struct stat sb;
	char ebuf[256];

	if (keyref_is_token(o->sign_key) || keyref_is_token(o->enc_key)) {
		errorf(err, errlen, "the RA keys are in a PKCS#11 token: ra renew makes new RA keys "
		    "as files only; give ra.sign_key and ra.enc_key new token objects and issue "
		    "their certificates with scepctl init --import-ca --ra-key instead");
		goto out;
	}
	combined = strcmp(o->sign_cert, o->enc_cert) == 0;
	if (combined != (strcmp(o->sign_key, o->enc_key) == 0)) {
		errorf(err, errlen, "the RA signing and encryption certificates are the same file "
		    "but their keys are not (or the reverse)");
		goto out;
	}
	n = combined ? 2 : N;
	if (days > 36500) {
		errorf(err, errlen, "validity over 100 years");
		goto out;
	}
	for (i = 0; i < n; i++) {
		prev[i] = xasprintf("%s%s", cur[i], suffix);
		next[i] = xasprintf("%s.new", cur[i]);
		if (lstat(prev[i], &sb) == 0) {
			errorf(err, errlen, "%s exists: the RA generation before is still kept; "
			    "remove the *%s files (ending that overlap) and run this again", prev[i],
			    suffix);
			goto out;
		}
	}
	if ((ca = pemfile_cert(o->ca_cert, err, errlen)) == NULL ||
	    (ca_key = keyref_load(o->ca_key, 0, err, errlen)) == NULL ||
	    (old_sign = pemfile_cert(o->sign_cert, err, errlen)) == NULL ||
	    (old_enc = pemfile_cert(o->enc_cert, err, errlen)) == NULL)
		goto out;
	if (X509_check_private_key(ca, ca_key) != 1) {
		errorf(err, errlen, "the CA key does not match %s (%s)", o->ca_cert,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}

	/* New keys as large as the old ones, RSA (SCEP clients only do RSA). */
	bits = EVP_PKEY_get_bits(X509_get0_pubkey(old_sign));
	if ((sign_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(bits > 2048 ? bits :
	    2048))) == NULL) {
		errorf(err, errlen, "generating an RSA key failed: %s",
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	if (combined) {
		if ((sign = make_cert(X509_get_subject_name(old_sign), sign_key, ca, ca_key, days,
		    "critical,digitalSignature,keyEncipherment", LABCA_EKU_RA, err, errlen)) == NULL)
			goto out;
	} else {
		bits = EVP_PKEY_get_bits(X509_get0_pubkey(old_enc));
		if ((enc_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(bits > 2048 ? bits :
		    2048))) == NULL) {
			errorf(err, errlen, "generating an RSA key failed: %s",
			    ossl_errors(ebuf, sizeof(ebuf)));
			goto out;
		}
		if ((sign = make_cert(X509_get_subject_name(old_sign), sign_key, ca, ca_key, days,
		    "critical,digitalSignature", LABCA_EKU_RA, err, errlen)) == NULL ||
		    (enc = make_cert(X509_get_subject_name(old_enc), enc_key, ca, ca_key, days,
		    "critical,keyEncipherment", LABCA_EKU_RA, err, errlen)) == NULL)
			goto out;
	}
	pem[SIGN_CERT] = to_pem(sign, NULL, NULL, &pem_len[SIGN_CERT]);
	pem[SIGN_KEY] = to_pem(NULL, NULL, sign_key, &pem_len[SIGN_KEY]);
	if (!combined) {
		pem[ENC_CERT] = to_pem(enc, NULL, NULL, &pem_len[ENC_CERT]);
		pem[ENC_KEY] = to_pem(NULL, NULL, enc_key, &pem_len[ENC_KEY]);
	}
	for (i = 0; i < n; i++) {
		if (pem[i] == NULL) {
			errorf(err, errlen, "PEM encoding failed: %s", ossl_errors(ebuf, sizeof(ebuf)));
			goto out;
		}
	}

	/* Stage the new files, keep the current ones, then switch names. */
	for (i = 0; i < n; i++) {
		if (write_like(next[i], cur[i], pem[i], pem_len[i], err, errlen) == -1)
			goto out;
		staged[i] = 1;
	}
	for (i = 0; i < n; i++) {
		if (link(cur[i], prev[i]) == -1) {
			errorf(err, errlen, "cannot keep %s as %s: %s", cur[i], prev[i], strerror(errno));
			goto out;
		}
		linked[i] = 1;
	}
	/* Keys before certificates: a reload in between refuses the mismatch and waits. */
	for (i = 0; i < n; i++) {
		int k = (i % 2 == 0) ? i + 1 : i - 1;   /* key, cert, key, cert */
		if (rename(next[k], cur[k]) == -1) {
			errorf(err, errlen, "cannot put %s in place: %s", cur[k], strerror(errno));
			goto out;
		}
		staged[k] = 0;
		renamed[k] = 1;
	}
	dir = dir_of(o->sign_cert);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dirfd);
		close(dirfd);
	}
	result = 0;
out:
	for (i = 0; i < N; i++) {
		if (result == -1 && staged[i])
			(void)unlink(next[i]);
		/* undo: the kept link goes back to the current name, or away */
		if (result == -1 && renamed[i])
			(void)rename(prev[i], cur[i]);
		else if (result == -1 && linked[i])
			(void)unlink(prev[i]);
		if (pem[i] != NULL) {
			OPENSSL_cleanse(pem[i], pem_len[i]);
			free(pem[i]);
		}
		free(prev[i]);
		free(next[i]);
	}
	free(dir);
	X509_free(ca);
	X509_free(old_sign);
	X509_free(old_enc);
	X509_free(sign);
	X509_free(enc);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(enc_key);
	return result;
}
