/* SPDX-License-Identifier: ISC */
/*
 * test_crl.c: revocation and CRLs with a lab CA made in a temporary folder:
 * signer_sign_crl (version, issuer, dates, entries with and without
 * reasonCode, cRLNumber, AKI, signature), crl_current (first CRL, served
 * again while fresh, made again after a revocation, after half its validity,
 * on demand; legacy certificates; per CA), the CRL distribution point of
 * signer_issue, signer_key_id, signer_sign_as_ca (GetNextCACert) and
 * signer_load_files.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "crl.h"
#include "labca.h"
#include "oids.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "x509util.h"
#include "tap.h"

static char tmp[64];

static void rm_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char *p;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static X509_CRL *crl_from(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	if (crl != NULL && p != der + len) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

static long crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v = n != NULL ? ASN1_INTEGER_get(n) : -1;

	ASN1_INTEGER_free(n);
	return v;
}

/* Entries of a CRL (OpenSSL keeps no list at all when there are none). */
static int n_revoked(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *r = X509_CRL_get_REVOKED(crl);

	return r != NULL ? sk_X509_REVOKED_num(r) : 0;
}

static int64_t t64(const ASN1_TIME *t)
{
	int64_t v = 0;

	return x509util_time_seconds(t, &v) == 0 ? v : 0;
}

/* Issues a certificate to a fresh key and records it under the CA's key id. */
static void issue_one(const struct signer *s, struct store *st, const char *cn, const char *txid,
    const char *key_id, char *serial_out, int64_t now)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *name = X509_NAME_new();
	struct issue_request ir;
	struct store_cert sc;
	struct store_enrollment e;
	unsigned char hash[32], *der = NULL;
	BIGNUM *bn;
	char *hex, err[256];
	X509 *x;
	int n;

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	memset(&ir, 0, sizeof(ir));
	ir.subject = name;
	ir.pubkey = key;
	ir.validity_days = 30;
	ir.now = now;
	ir.crl_url = "http://127.0.0.1:8080/crl/ca.crl";
	x = signer_issue(s, &ir, err, sizeof(err));
	ok(x != NULL, "issued %s (%s)", cn, x ? "" : err);
	if (x == NULL)
		goto out;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = BN_bn2hex(bn);
	snprintf(serial_out, 80, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	n = i2d_X509(x, &der);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.serial, sizeof(sc.serial), "%s", serial_out);
	sc.subject = (char *)cn;
	sc.not_before = now;
	sc.not_after = now + 30 * 86400;
	sc.der = der;
	sc.der_len = (size_t)n;
	if (key_id != NULL)
		snprintf(sc.issuer_key_id, sizeof(sc.issuer_key_id), "%s", key_id);
	memset(hash, 0x11, sizeof(hash));
	memset(&e, 0, sizeof(e));
	e.transaction_id = txid;
	e.message_type = 19;
	e.pubkey_sha256 = hash;
	e.subject = cn;
	e.now = now;
	e.cert = &sc;
	is_int(store_enroll_commit(st, &e), STORE_OK, "recorded %s", cn);
	OPENSSL_free(der);
	X509_free(x);
out:
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

static void test_cdp_and_key_id(const struct signer *s)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *name = X509_NAME_new();
	struct issue_request ir;
	CRL_DIST_POINTS *cdp;
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	const ASN1_OCTET_STRING *ski;
	char id[41], want[41], err[256];
	X509 *x;

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"cdp", -1, -1, 0);
	memset(&ir, 0, sizeof(ir));
	ir.subject = name;
	ir.pubkey = key;
	ir.validity_days = 1;
	ir.now = now_seconds();
	ir.crl_url = "http://scep.example.org:8080/crl/ca.crl";
	x = signer_issue(s, &ir, err, sizeof(err));
	cdp = x ? X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL) : NULL;
	ok(cdp != NULL && sk_DIST_POINT_num(cdp) == 1, "issued certificate has one CRL distribution point");
	if (cdp != NULL && sk_DIST_POINT_num(cdp) == 1) {
		dp = sk_DIST_POINT_value(cdp, 0);
		gn = dp->distpoint && dp->distpoint->type == 0 &&
		    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1 ?
		    sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0) : NULL;
		ok(gn != NULL && gn->type == GEN_URI && strcmp((const char *)
		    ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		    "http://scep.example.org:8080/crl/ca.crl") == 0, "its fullName is the URI");
	}
	CRL_DIST_POINTS_free(cdp);
	X509_free(x);
	ir.crl_url = NULL;
	x = signer_issue(s, &ir, err, sizeof(err));
	ok(x != NULL && X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) < 0,
	    "no crl_url: no CRL distribution point");
	X509_free(x);

	ok(signer_key_id(signer_ca_cert(s), id) == 0, "signer_key_id");
	ski = X509_get0_subject_key_id(signer_ca_cert(s));
	if (ski != NULL)
		hex_encode(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski), want, 1);
	is_str(id, ski ? want : "?", "equals the CA's subjectKeyIdentifier (method 1)");
	is_int(strlen(id), 40, "40 hex digits");
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

static void test_sign_as_ca(const struct signer *s)
{
	static const unsigned char content[] = "degenerate stand-in";
	unsigned char *der;
	const unsigned char *p;
	size_t len = 0;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	BIO *out = BIO_new(BIO_s_mem());
	char *data, err[256];
	long n;

	der = signer_sign_as_ca(s, content, sizeof(content), &len, err, sizeof(err));
	ok(der != NULL, "signer_sign_as_ca (%s)", der ? "" : err);
	p = der;
	if (der != NULL)
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ok(cms != NULL && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed, "a SignedData");
	X509_STORE_add_cert(store, signer_ca_cert(s));
	ok(cms != NULL && CMS_verify(cms, NULL, store, NULL, out, CMS_BINARY) == 1,
	    "verifies with the CA certificate as trust anchor");
	n = BIO_get_mem_data(out, &data);
	ok(n == (long)sizeof(content) && memcmp(data, content, sizeof(content)) == 0,
	    "the content is carried");
	ok(signer_sign_as_ca(s, NULL, 0, &len, err, sizeof(err)) == NULL, "no content: refused");
	free(der);
	BIO_free(out);
	X509_STORE_free(store);
	sk_X509_free(certs);
	CMS_ContentInfo_free(cms);
}

static void test_crl(const struct signer *s, struct store *st, const struct signer *other)
{
	char id[41], s1[80], s2[80], s3[80], s4[80], err[256];
	unsigned char *der = NULL, *der2 = NULL;
	size_t len = 0, len2 = 0;
	const int64_t t0 = 1800000000;
	const unsigned validity = 10;   /* hours */
	X509_CRL *crl = NULL;
	X509_REVOKED *r;
	ASN1_ENUMERATED *reason;
	int i;

	signer_key_id(signer_ca_cert(s), id);
	issue_one(s, st, "crl-one", "TX-C1", id, s1, t0);
	issue_one(s, st, "crl-two", "TX-C2", id, s2, t0);
	issue_one(s, st, "crl-three", "TX-C3", id, s3, t0);
	issue_one(s, st, "crl-legacy", "TX-C4", NULL, s4, t0);

	ok(crl_current(st, s, 0, validity, t0, 0, &der, &len, err, sizeof(err)) == 0,
	    "first CRL (%s)", err);
	crl = der ? crl_from(der, len) : NULL;
	ok(crl != NULL, "it is one DER CRL");
	if (crl != NULL) {
		is_int(X509_CRL_get_version(crl), 1, "version 2");
		is_int(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(signer_ca_cert(s))),
		    0, "issuer is the CA");
		is_int(X509_CRL_verify(crl, X509_get0_pubkey(signer_ca_cert(s))), 1,
		    "signed by the CA key");
		is_int(t64(X509_CRL_get0_lastUpdate(crl)), t0, "thisUpdate = now");
		is_int(t64(X509_CRL_get0_nextUpdate(crl)), t0 + validity * 3600,
		    "nextUpdate = now + validity");
		is_int(crl_number(crl), 1, "cRLNumber 1");
		ok(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) >= 0, "has AKI");
		is_int(n_revoked(crl), 0, "no entries yet");
	}
	X509_CRL_free(crl);
	ok(crl_current(st, s, 0, validity, t0 + 3600, 0, &der2, &len2, err, sizeof(err)) == 0 &&
	    len2 == len && memcmp(der, der2, len) == 0, "an hour later: the same CRL");
	free(der2);
	der2 = NULL;
	free(der);
	der = NULL;

	is_int(store_cert_revoke(st, s1, STORE_REASON_KEY_COMPROMISE, t0 + 100), STORE_OK, "revoke one");
	is_int(store_cert_revoke(st, s2, STORE_REASON_UNSPECIFIED, t0 + 200), STORE_OK, "revoke two");
	is_int(store_cert_revoke(st, s4, STORE_REASON_SUPERSEDED, t0 + 300), STORE_OK, "revoke legacy");
	ok(crl_current(st, s, 0, validity, t0 + 7200, 0, &der, &len, err, sizeof(err)) == 0,
	    "after revocations (%s)", err);
	crl = der ? crl_from(der, len) : NULL;
	if (crl != NULL) {
		is_int(crl_number(crl), 2, "made again: cRLNumber 2");
		is_int(t64(X509_CRL_get0_lastUpdate(crl)), t0 + 7200, "new thisUpdate");
		is_int(n_revoked(crl), 2, "two entries (not the legacy one)");
		for (i = 0; i < n_revoked(crl); i++) {
			BIGNUM *bn;
			char *hex;

			r = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), i);
			bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
			hex = BN_bn2hex(bn);
			reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
			if (strcmp(hex, s1) == 0) {
				ok(reason != NULL && ASN1_ENUMERATED_get(reason) == 1,
				    "entry one: reasonCode keyCompromise");
				is_int(t64(X509_REVOKED_get0_revocationDate(r)), t0 + 100,
				    "entry one: revocation date");
			} else if (strcmp(hex, s2) == 0) {
				ok(reason == NULL, "entry two: unspecified has no reasonCode");
			} else {
				ok(0, "unexpected entry %s", hex);
			}
			ASN1_ENUMERATED_free(reason);
			OPENSSL_free(hex);
			BN_free(bn);
		}
		is_int(X509_CRL_verify(crl, X509_get0_pubkey(signer_ca_cert(s))), 1, "signature");
	}
	X509_CRL_free(crl);
	free(der);
	der = NULL;

	ok(crl_current(st, s, 1, validity, t0 + 7300, 0, &der, &len, err, sizeof(err)) == 0,
	    "legacy CA view");
	crl = der ? crl_from(der, len) : NULL;
	is_int(crl ? n_revoked(crl) : -1, 3,
	    "the legacy certificate is listed too (count changed: made again)");
	is_int(crl ? crl_number(crl) : -1, 3, "cRLNumber 3");
	X509_CRL_free(crl);
	free(der);
	der = NULL;

	ok(crl_current(st, s, 1, validity, t0 + 7300 + 5 * 3600 + 1, 0, &der, &len, err,
	    sizeof(err)) == 0, "past half of the validity");
	crl = der ? crl_from(der, len) : NULL;
	is_int(crl ? crl_number(crl) : -1, 4, "made again: cRLNumber 4");
	X509_CRL_free(crl);
	free(der);
	der = NULL;
	ok(crl_current(st, s, 1, validity, t0 + 7300 + 5 * 3600 + 2, 1, &der, &len, err,
	    sizeof(err)) == 0, "forced");
	crl = der ? crl_from(der, len) : NULL;
	is_int(crl ? crl_number(crl) : -1, 5, "made again: cRLNumber 5");
	X509_CRL_free(crl);
	free(der);
	der = NULL;

	if (other != NULL) {
		ok(crl_current(st, other, 0, validity, t0, 0, &der, &len, err, sizeof(err)) == 0,
		    "another CA's CRL");
		crl = der ? crl_from(der, len) : NULL;
		is_int(crl ? crl_number(crl) : -1, 1, "has its own numbering");
		is_int(crl ? n_revoked(crl) : -1, 0,
		    "and none of this CA's revocations");
		X509_CRL_free(crl);
		free(der);
	}
}

int main(void)
{
	struct labca_options opt;
	struct signer_files f;
	struct signer *s = NULL, *s2 = NULL, *other = NULL;
	struct store *st = NULL;
	char err[512], *p[8], *other_dir = NULL, *db;
	int i;

	oids_register();
	snprintf(tmp, sizeof(tmp), "/tmp/scepd-test-crl-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return 1;
	memset(&opt, 0, sizeof(opt));
	opt.dir = tmp;
	opt.ra_name = "crl-MSCEP-RA";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create: %s\n", err);
		return 1;
	}
	p[0] = xasprintf("%s/ca.crt", tmp);
	p[1] = xasprintf("%s/ca.key", tmp);
	p[2] = xasprintf("%s/ra-sign.crt", tmp);
	p[3] = xasprintf("%s/ra-sign.key", tmp);
	p[4] = xasprintf("%s/ra-enc.crt", tmp);
	p[5] = xasprintf("%s/ra-enc.key", tmp);
	memset(&f, 0, sizeof(f));
	f.ca_cert = p[0];
	f.ca_key = p[1];
	s = signer_load_files(&f, 0, err, sizeof(err));
	ok(s != NULL && !signer_has_ra(s), "signer_load_files: CA only (%s)", s ? "" : err);
	f.ra_sign_cert = p[2];
	f.ra_sign_key = p[3];
	f.ra_enc_cert = p[4];
	f.ra_enc_key = p[5];
	s2 = signer_load_files(&f, 0, err, sizeof(err));
	ok(s2 != NULL && signer_has_ra(s2), "signer_load_files: with RA (%s)", s2 ? "" : err);
	f.ra_enc_key = NULL;
	ok(signer_load_files(&f, 0, err, sizeof(err)) == NULL, "three RA files of four: refused");

	other_dir = xasprintf("%s-other", tmp);
	mkdir(other_dir, 0700);
	opt.dir = other_dir;
	opt.ca_key_spec = "ec:p256";
	p[6] = xasprintf("%s/ca.crt", other_dir);
	p[7] = xasprintf("%s/ca.key", other_dir);
	if (labca_create(&opt, err, sizeof(err)) == 0) {
		memset(&f, 0, sizeof(f));
		f.ca_cert = p[6];
		f.ca_key = p[7];
		f.ra_sign_cert = xasprintf("%s/ra-sign.crt", other_dir);
		f.ra_sign_key = xasprintf("%s/ra-sign.key", other_dir);
		f.ra_enc_cert = xasprintf("%s/ra-enc.crt", other_dir);
		f.ra_enc_key = xasprintf("%s/ra-enc.key", other_dir);
		other = signer_load_files(&f, 0, err, sizeof(err));
		free((char *)f.ra_sign_cert);
		free((char *)f.ra_sign_key);
		free((char *)f.ra_enc_cert);
		free((char *)f.ra_enc_key);
	}
	ok(other != NULL, "an EC CA for a second CRL (%s)", other ? "" : err);

	db = xasprintf("%s/crl.db", tmp);
	st = store_open(db, err, sizeof(err));
	ok(st != NULL, "store (%s)", st ? "" : err);
	if (s2 != NULL && st != NULL) {
		test_cdp_and_key_id(s2);
		test_sign_as_ca(s2);
		test_crl(s2, st, other);
	}
	store_close(st);
	signer_free(s);
	signer_free(s2);
	signer_free(other);
	for (i = 0; i < 8; i++)
		free(p[i]);
	free(db);
	rm_dir(tmp);
	rm_dir(other_dir);
	free(other_dir);
	return done_testing();
}
