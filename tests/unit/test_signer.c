/* SPDX-License-Identifier: ISC */
/*
 * test_signer.c: signer_load (permissions, key/cert pairs, RA checks),
 * signer_decrypt over every fixture envelope (and envelopes made here: to the
 * CA, to the RA signing cert, OAEP, foreign recipient, wrong key, unsupported
 * cipher), signer_issue (serial, validity, extensions, signature) and
 * signer_sign_message (algorithms, sid, certificates, attributes, no eContent).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "labca.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"
#include "tap.h"
#include "catest.h"
#include "fixture.h"

static unsigned char *slurp2(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	unsigned char *b = read_file(p, 1 << 22, len);

	free(p);
	return b;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	size_t len = 0;
	unsigned char *b = read_file(from, 1 << 20, &len);
	FILE *f;
	int rc = -1;

	if (b == NULL)
		return -1;
	unlink(to);
	if ((f = fopen(to, "w")) != NULL) {
		if (fwrite(b, 1, len, f) == len)
			rc = 0;
		if (fclose(f) != 0)
			rc = -1;
	}
	free(b);
	if (rc == 0 && chmod(to, mode) != 0)
		rc = -1;
	return rc;
}

static X509 *pem_cert(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	X509 *x = NULL;

	if (f != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	free(p);
	return x;
}

struct paths {
	char *ca_cert, *ca_key, *rs_cert, *rs_key, *re_cert, *re_key;
};

static void paths_set(struct paths *p, const char *dir)
{
	p->ca_cert = xasprintf("%s/ca.crt", dir);
	p->ca_key = xasprintf("%s/ca.key", dir);
	p->rs_cert = xasprintf("%s/ra-sign.crt", dir);
	p->rs_key = xasprintf("%s/ra-sign.key", dir);
	p->re_cert = xasprintf("%s/ra-enc.crt", dir);
	p->re_key = xasprintf("%s/ra-enc.key", dir);
}

static void paths_free(struct paths *p)
{
	free(p->ca_cert);
	free(p->ca_key);
	free(p->rs_cert);
	free(p->rs_key);
	free(p->re_cert);
	free(p->re_key);
}

static void cfg_set(struct config *cfg, const struct paths *p, int with_ra, int allow_des)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ca_cert = p->ca_cert;
	cfg->ca_key = p->ca_key;
	if (with_ra) {
		cfg->ra_sign_cert = p->rs_cert;
		cfg->ra_sign_key = p->rs_key;
		cfg->ra_enc_cert = p->re_cert;
		cfg->ra_enc_key = p->re_key;
	}
	cfg->allow_des = allow_des;
}

/* The pkcsPKIEnvelope (eContent of the signed request) of a fixture. */
static unsigned char *fixture_envelope(const char *fixture, size_t *len)
{
	char *dir = xasprintf("%s/%s", fixture_dir(), fixture);
	size_t rlen = 0;
	unsigned char *req = slurp2(dir, "request.der", &rlen), *out = NULL;
	const unsigned char *p = req;
	CMS_ContentInfo *cms = NULL;
	ASN1_OCTET_STRING **pos;

	if (req == NULL)
		goto out;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)rlen)) == NULL)
		goto out;
	if ((pos = CMS_get0_content(cms)) == NULL || *pos == NULL)
		goto out;
	*len = (size_t)ASN1_STRING_length(*pos);
	out = xmalloc(*len);
	memcpy(out, ASN1_STRING_get0_data(*pos), *len);
out:
	CMS_ContentInfo_free(cms);
	free(req);
	free(dir);
	return out;
}

/* An EnvelopedData of data to cert, made here (oaep: RSAES-OAEP key transport). */
static unsigned char *make_envelope(X509 *cert, const EVP_CIPHER *cipher, int oaep,
    const unsigned char *data, size_t dlen, size_t *len)
{
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	BIO *in = BIO_new_mem_buf(data, (int)dlen);
	unsigned char *der = NULL;
	int n;

	if (in == NULL)
		goto out;
	if ((cms = CMS_encrypt(NULL, NULL, cipher, CMS_BINARY | CMS_PARTIAL)) == NULL)
		goto out;
	if ((ri = CMS_add1_recipient_cert(cms, cert, oaep ? CMS_KEY_PARAM : 0)) == NULL)
		goto out;
	if (oaep && EVP_PKEY_CTX_set_rsa_padding(CMS_RecipientInfo_get0_pkey_ctx(ri),
	    RSA_PKCS1_OAEP_PADDING) <= 0)
		goto out;
	if (CMS_final(cms, in, NULL, CMS_BINARY) != 1)
		goto out;
	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		goto out;
	*len = (size_t)n;
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return der;   /* OPENSSL_malloc'd */
}

static const char *tmp;          /* lab copy, keys 0600 */
static struct paths lab;

static void test_load(void)
{
	struct config cfg;
	struct signer *s;
	char err[512], *loose, *other_dir = NULL;
	struct paths other;
	struct labca_options opt;

	cfg_set(&cfg, &lab, 1, 0);
	err[0] = '\0';
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL, "load: lab CA and RA (%s)", err);
	if (s != NULL) {
		X509 *ca = pem_cert(tmp, "ca.crt"), *rs = pem_cert(tmp, "ra-sign.crt");
		X509 *re = pem_cert(tmp, "ra-enc.crt");

		is_int(signer_has_ra(s), 1, "load: has RA");
		is_int(X509_cmp(signer_ca_cert(s), ca), 0, "load: CA cert");
		is_int(X509_cmp(signer_ra_sign_cert(s), rs), 0, "load: RA signing cert");
		is_int(X509_cmp(signer_ra_enc_cert(s), re), 0, "load: RA encryption cert");
		X509_free(ca);
		X509_free(rs);
		X509_free(re);
	}
	signer_free(s);

	cfg_set(&cfg, &lab, 0, 0);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL, "load: CA only");
	if (s != NULL) {
		is_int(signer_has_ra(s), 0, "load: CA only has no RA");
		ok(signer_ra_sign_cert(s) == signer_ca_cert(s) &&
		    signer_ra_enc_cert(s) == signer_ca_cert(s), "load: CA stands in for the RA");
	}
	signer_free(s);

	/* A key readable by group/others is refused. */
	loose = xasprintf("%s/loose.key", tmp);
	copy_file(lab.ca_key, loose, 0644);
	cfg_set(&cfg, &lab, 1, 0);
	cfg.ca_key = loose;
	err[0] = '\0';
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL, "load: 0644 key refused");
	ok(strstr(err, "group or others") != NULL, "load: says why (%s)", err);
	signer_free(s);
	chmod(loose, 0640);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL, "load: 0640 key refused");
	signer_free(s);
	chmod(loose, 0600);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL, "load: same key at 0600 accepted");
	signer_free(s);
	unlink(loose);
	free(loose);

	/* Key that does not belong to its certificate. */
	cfg_set(&cfg, &lab, 1, 0);
	cfg.ra_sign_key = lab.re_key;
	err[0] = '\0';
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL && strstr(err, "does not match") != NULL, "load: mismatched RA key (%s)", err);
	signer_free(s);

	/* Half an RA. */
	cfg_set(&cfg, &lab, 1, 0);
	cfg.ra_enc_key = NULL;
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL, "load: incomplete ra { } refused");
	signer_free(s);

	/* Missing file. */
	cfg_set(&cfg, &lab, 1, 0);
	cfg.ca_cert = "/nonexistent/ca.crt";
	err[0] = '\0';
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL && strstr(err, "/nonexistent/ca.crt") != NULL, "load: missing file (%s)", err);
	signer_free(s);

	/* RA certificates of another CA. */
	other_dir = catest_tmpdir("signer");
	memset(&opt, 0, sizeof(opt));
	opt.dir = other_dir;
	opt.ra_name = "other-MSCEP-RA";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create: %s\n", err);
		exit(1);
	}
	paths_set(&other, other_dir);
	cfg_set(&cfg, &lab, 1, 0);
	cfg.ra_sign_cert = other.rs_cert;
	cfg.ra_sign_key = other.rs_key;
	err[0] = '\0';
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL && strstr(err, "not issued by the CA") != NULL,
	    "load: RA of another CA refused (%s)", err);
	signer_free(s);

	/* The EC CA of labca without an RA cannot sign SCEP messages. */
	catest_rmrf(other_dir);
	opt.ca_key_spec = "ec:p256";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create ec: %s\n", err);
		exit(1);
	}
	cfg_set(&cfg, &other, 0, 0);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s == NULL && strstr(err, "must be RSA") != NULL, "load: EC CA without RA refused (%s)",
	    err);
	signer_free(s);
	cfg_set(&cfg, &other, 1, 0);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL, "load: EC CA with RSA RA accepted (%s)", s ? "" : err);
	signer_free(s);
	paths_free(&other);
	catest_rmrf(other_dir);
	free(other_dir);
}

static int is_scepclient(const char *name)
{
	return strncmp(name, "scepclient-", 11) == 0;
}

static void test_decrypt_fixtures(void)
{
	struct config cfg;
	struct signer *s = NULL, *s_des = NULL;
	char err[512];
	DIR *d;
	struct dirent *e;
	int n = 0;

	cfg_set(&cfg, &lab, 1, 0);
	s = signer_load(&cfg, err, sizeof(err));
	cfg_set(&cfg, &lab, 1, 1);
	s_des = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL && s_des != NULL, "decrypt: signers load (allow_des 0 and 1)");
	if (s == NULL || s_des == NULL)
		goto out;
	if ((d = opendir(fixture_dir())) == NULL) {
		ok(0, "decrypt: fixtures at %s", fixture_dir());
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		char *dir = xasprintf("%s/%s", fixture_dir(), e->d_name);
		unsigned char *env = NULL, *csr = NULL, *out = NULL;
		size_t envlen = 0, csrlen = 0, outlen = 0;
		const char *matched = NULL;
		int rc;

		csr = slurp2(dir, "request.csr.der", &csrlen);
		if (e->d_name[0] == '.' || csr == NULL)
			goto next;
		n++;
		env = fixture_envelope(e->d_name, &envlen);
		ok(env != NULL, "%s: envelope extracted", e->d_name);
		if (env == NULL)
			goto next;
		err[0] = '\0';
		rc = signer_decrypt(is_scepclient(e->d_name) ? s_des : s, env, envlen,
		    is_scepclient(e->d_name), &out, &outlen, &matched, err, sizeof(err));
		is_int(rc, SCEP_FAIL_NONE, "%s: decrypts (%s)", e->d_name, err);
		ok(out != NULL && outlen == csrlen && memcmp(out, csr, csrlen) == 0,
		    "%s: content equals request.csr.der", e->d_name);
		is_str(matched, "ra-enc", "%s: opened with the RA encryption key", e->d_name);
		free(out);
		out = NULL;
		if (is_scepclient(e->d_name)) {
			err[0] = '\0';
			rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err,
			    sizeof(err));
			is_int(rc, SCEP_FAIL_BADALG, "%s: DES-CBC without allow_des is badAlg",
			    e->d_name);
			ok(out == NULL && strstr(err, "DES-CBC") != NULL, "%s: reason (%s)",
			    e->d_name, err);
			rc = signer_decrypt(s_des, env, envlen, 0, &out, &outlen, &matched, err,
			    sizeof(err));
			is_int(rc, SCEP_FAIL_BADALG, "%s: allow_des=0 per call wins", e->d_name);
			free(out);
			out = NULL;
		}
next:
		free(env);
		free(csr);
		free(dir);
	}
	closedir(d);
	is_int(n, 20, "decrypt: all 20 fixtures seen");
out:
	signer_free(s);
	signer_free(s_des);
}

static void test_decrypt_made(void)
{
	struct config cfg;
	struct signer *s = NULL, *s_ca = NULL, *other = NULL;
	char err[512], *other_dir = catest_tmpdir("signer");
	struct paths op;
	struct labca_options opt;
	static const unsigned char msg[] = "a PKCS#10 stand-in";
	unsigned char *env = NULL, *out = NULL;
	size_t envlen = 0, outlen = 0;
	const char *matched = NULL;
	X509 *ca = pem_cert(tmp, "ca.crt"), *rs = pem_cert(tmp, "ra-sign.crt");
	X509 *re = pem_cert(tmp, "ra-enc.crt"), *fake = NULL;
	EVP_PKEY *k = NULL;
	EVP_CIPHER *camellia = NULL;
	int rc, i;

	cfg_set(&cfg, &lab, 1, 0);
	s = signer_load(&cfg, err, sizeof(err));
	cfg_set(&cfg, &lab, 0, 0);
	s_ca = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL && s_ca != NULL && ca != NULL && rs != NULL && re != NULL,
	    "made: setup");
	if (s == NULL || s_ca == NULL || ca == NULL || rs == NULL || re == NULL)
		goto out;

	/* Addressed to the CA (sscep#60) and to the RA signing cert. */
	env = make_envelope(ca, EVP_aes_128_cbc(), 0, msg, sizeof(msg), &envlen);
	rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	is_int(rc, SCEP_FAIL_NONE, "made: envelope to the CA opens");
	is_str(matched, "ca", "made: matched ca");
	ok(out != NULL && outlen == sizeof(msg) && memcmp(out, msg, outlen) == 0,
	    "made: CA content");
	free(out);
	out = NULL;
	rc = signer_decrypt(s_ca, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	ok(rc == SCEP_FAIL_NONE && matched != NULL && strcmp(matched, "ca") == 0,
	    "made: CA-only signer opens it as ca");
	free(out);
	out = NULL;
	OPENSSL_free(env);

	env = make_envelope(rs, EVP_aes_256_cbc(), 0, msg, sizeof(msg), &envlen);
	rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	is_int(rc, SCEP_FAIL_NONE, "made: envelope to the RA signing cert opens");
	is_str(matched, "ra-sign", "made: matched ra-sign");
	free(out);
	out = NULL;
	OPENSSL_free(env);

	/* RSAES-OAEP key transport. */
	env = make_envelope(re, EVP_des_ede3_cbc(), 1, msg, sizeof(msg), &envlen);
	ok(env != NULL, "made: OAEP envelope built");
	rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	is_int(rc, SCEP_FAIL_NONE, "made: OAEP envelope opens (%s)", rc ? err : "");
	ok(out != NULL && outlen == sizeof(msg) && memcmp(out, msg, outlen) == 0,
	    "made: OAEP content");
	is_str(matched, "ra-enc", "made: OAEP matched ra-enc");
	free(out);
	out = NULL;
	OPENSSL_free(env);

	/* A cipher outside the list. */
	camellia = EVP_CIPHER_fetch(NULL, "CAMELLIA-128-CBC", NULL);
	if (camellia != NULL) {
		env = make_envelope(re, camellia, 0, msg, sizeof(msg), &envlen);
		err[0] = '\0';
		rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
		is_int(rc, SCEP_FAIL_BADALG, "made: Camellia is badAlg");
		ok(strstr(err, "1.2.392.200011.61.1.1.1.2") != NULL, "made: names the OID (%s)", err);
		ok(out == NULL, "made: no output on badAlg");
		OPENSSL_free(env);
	} else {
		skip("no Camellia in this OpenSSL");
		skip("no Camellia in this OpenSSL");
		skip("no Camellia in this OpenSSL");
	}

	/* Right issuer and serial, wrong key: generic reason, no oracle detail. */
	fake = X509_dup(re);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ok(fake != NULL && k != NULL && X509_set_pubkey(fake, k) == 1, "made: fake recipient");
	env = make_envelope(fake, EVP_aes_128_cbc(), 0, msg, sizeof(msg), &envlen);
	/* A random CEK passes the CBC padding check about once in 256 tries. */
	for (i = 0, rc = -2; i < 3 && rc != SCEP_FAIL_BADREQUEST; i++) {
		free(out);
		out = NULL;
		err[0] = '\0';
		rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	}
	is_int(rc, SCEP_FAIL_BADREQUEST, "made: wrong key is badRequest");
	is_str(err, "could not decrypt the envelope", "made: generic reason");
	ok(out == NULL, "made: no output");

	/*
	 * No padding oracle (Bleichenbacher's attack on PKCS#1 v1.5): an RSA block
	 * that is not PKCS#1-conforming (the wrong key gives one) must go on with a
	 * random content key, as OpenSSL's CMS_decrypt does unless CMS_DEBUG_DECRYPT
	 * is set, so that such a request is answered as a conforming block with a
	 * key we cannot know is: garbage content, which passes the CBC padding
	 * check about once in 256 tries. Refused at the RSA step (CMS_DEBUG_DECRYPT,
	 * or a hand-made RSA decryption), it would never pass. 6 000 tries miss
	 * with odds of about 10^-10.
	 */
	for (i = 0, rc = -2; i < 6000 && rc != SCEP_FAIL_NONE; i++) {
		free(out);
		out = NULL;
		rc = signer_decrypt(s, env, envlen, 0, &out, &outlen, &matched, err, sizeof(err));
	}
	is_int(rc, SCEP_FAIL_NONE, "made: a non-conforming RSA block goes on with a random "
	    "key (garbage content after %d tries), no padding oracle", i);
	free(out);
	out = NULL;
	OPENSSL_free(env);

	/* Garbage, a SignedData instead of an EnvelopedData, empty input, trailing bytes. */
	rc = signer_decrypt(s, msg, sizeof(msg), 0, &out, &outlen, &matched, err, sizeof(err));
	is_int(rc, SCEP_FAIL_BADREQUEST, "made: garbage is badRequest");
	rc = signer_decrypt(s, msg, 0, 0, &out, &outlen, &matched, err, sizeof(err));
	is_int(rc, SCEP_FAIL_BADREQUEST, "made: empty is badRequest");
	{
		char *p = xasprintf("%s/strongswan-aes-sha256", fixture_dir());
		size_t rlen = 0;
		unsigned char *req = slurp2(p, "request.der", &rlen);

		rc = signer_decrypt(s, req, rlen, 0, &out, &outlen, &matched, err, sizeof(err));
		is_int(rc, SCEP_FAIL_BADREQUEST, "made: SignedData is badRequest");
		free(req);
		free(p);
	}
	env = fixture_envelope("strongswan-aes-sha256", &envlen);
	if (env != NULL) {
		unsigned char *longer = xmalloc(envlen + 1);

		memcpy(longer, env, envlen);
		longer[envlen] = 0;
		rc = signer_decrypt(s, longer, envlen + 1, 0, &out, &outlen, &matched, err,
		    sizeof(err));
		is_int(rc, SCEP_FAIL_BADREQUEST, "made: trailing byte is badRequest");
		free(longer);
	}

	/* A fixture opened by a different, freshly made CA/RA. */
	memset(&opt, 0, sizeof(opt));
	opt.dir = other_dir;
	opt.ra_name = "stranger-MSCEP-RA";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create: %s\n", err);
		exit(1);
	}
	paths_set(&op, other_dir);
	cfg_set(&cfg, &op, 1, 0);
	other = signer_load(&cfg, err, sizeof(err));
	ok(other != NULL, "made: stranger signer loads");
	if (other != NULL && env != NULL) {
		err[0] = '\0';
		rc = signer_decrypt(other, env, envlen, 0, &out, &outlen, &matched, err,
		    sizeof(err));
		is_int(rc, SCEP_FAIL_BADREQUEST, "made: foreign envelope is badRequest");
		is_str(err, "the envelope is not addressed to any certificate of this server",
		    "made: foreign envelope reason");
		ok(out == NULL && matched == NULL, "made: no output, no match");
	}
	free(env);
	env = NULL;
	paths_free(&op);
out:
	free(out);
	EVP_CIPHER_free(camellia);
	EVP_PKEY_free(k);
	X509_free(fake);
	X509_free(ca);
	X509_free(rs);
	X509_free(re);
	signer_free(s);
	signer_free(s_ca);
	signer_free(other);
	catest_rmrf(other_dir);
	free(other_dir);
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	if (i < 0)
		return -1;
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static X509_REQ *fixture_csr(const char *fixture)
{
	char *dir = xasprintf("%s/%s", fixture_dir(), fixture);
	size_t len = 0;
	unsigned char *b = slurp2(dir, "request.csr.der", &len);
	const unsigned char *p = b;
	X509_REQ *r = b ? d2i_X509_REQ(NULL, &p, (long)len) : NULL;

	free(b);
	free(dir);
	return r;
}

static void test_issue(void)
{
	struct config cfg;
	struct signer *s = NULL, *s_ec = NULL;
	struct issue_request rq;
	X509_REQ *csr = fixture_csr("strongswan-aes-sha256");
	GENERAL_NAMES *san = NULL;
	GENERAL_NAME *gn;
	ASN1_IA5STRING *dns;
	ASN1_OBJECT *ekus[2] = { NULL, NULL };
	X509 *x = NULL, *y = NULL, *ca = pem_cert(tmp, "ca.crt");
	char err[512], *ec_dir = catest_tmpdir("signer");
	struct labca_options opt;
	struct paths ep;
	const ASN1_INTEGER *serial;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int days = -1, secs = -1;
	const int64_t now = 1800000000;   /* 2027-01-15T08:00:00Z */

	cfg_set(&cfg, &lab, 1, 0);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL && csr != NULL && ca != NULL, "issue: setup");
	if (s == NULL || csr == NULL || ca == NULL)
		goto out;
	san = GENERAL_NAMES_new();
	gn = GENERAL_NAME_new();
	dns = ASN1_IA5STRING_new();
	ASN1_STRING_set(dns, "device.example.org", -1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
	sk_GENERAL_NAME_push(san, gn);
	ekus[0] = OBJ_nid2obj(NID_client_auth);
	ekus[1] = OBJ_nid2obj(NID_server_auth);

	memset(&rq, 0, sizeof(rq));
	rq.subject = X509_REQ_get_subject_name(csr);
	rq.pubkey = X509_REQ_get0_pubkey(csr);
	rq.san = san;
	rq.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	rq.eku = (const ASN1_OBJECT *const *)ekus;
	rq.n_eku = 2;
	rq.validity_days = 365;
	rq.now = now;
	err[0] = '\0';
	x = signer_issue(s, &rq, err, sizeof(err));
	ok(x != NULL, "issue: certificate issued (%s)", err);
	if (x == NULL)
		goto out;
	is_int(X509_get_version(x), 2, "issue: v3");
	serial = X509_get0_serialNumber(x);
	is_int(ASN1_STRING_type(serial), V_ASN1_INTEGER, "issue: serial positive");
	is_int(ASN1_STRING_length(serial), 16, "issue: serial 16 bytes");
	ok((ASN1_STRING_get0_data(serial)[0] & 0xc0) == 0x40, "issue: serial top bits 01");
	is_int(i2d_ASN1_INTEGER(serial, NULL), 18, "issue: serial DER 18 bytes");
	is_int(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0,
	    "issue: issuer is the CA");
	is_int(X509_NAME_cmp(X509_get_subject_name(x), X509_REQ_get_subject_name(csr)), 0,
	    "issue: subject from the request");
	is_int(EVP_PKEY_eq(X509_get0_pubkey(x), X509_REQ_get0_pubkey(csr)), 1,
	    "issue: public key from the request");
	is_int(X509_verify(x, X509_get0_pubkey(ca)), 1, "issue: signed by the CA");
	is_int(X509_get_signature_nid(x), NID_sha256WithRSAEncryption, "issue: sha256WithRSA");
	is_int(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), (time_t)now), 0,
	    "issue: notBefore = now");
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
	ok(days == 365 && secs == 0, "issue: valid 365 days (%d d %d s)", days, secs);
	is_int(X509_check_ca(x), 0, "issue: not a CA");
	is_int(ext_critical(x, NID_basic_constraints), 1, "issue: basicConstraints critical");
	is_int(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, "issue: KU bits");
	is_int(ext_critical(x, NID_key_usage), 1, "issue: KU critical");
	is_int(ext_critical(x, NID_ext_key_usage), 0, "issue: EKU not critical");
	is_int(X509_get_extended_key_usage(x), XKU_SSL_CLIENT | XKU_SSL_SERVER, "issue: EKU values");
	is_int(ext_critical(x, NID_subject_alt_name), 0, "issue: SAN not critical");
	{
		GENERAL_NAMES *got = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		int type = -1;
		ASN1_IA5STRING *v = got && sk_GENERAL_NAME_num(got) == 1 ?
		    GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(got, 0), &type) : NULL;

		ok(v != NULL && type == GEN_DNS && ASN1_STRING_length(v) == 18 &&
		    memcmp(ASN1_STRING_get0_data(v), "device.example.org", 18) == 0,
		    "issue: SAN copied");
		GENERAL_NAMES_free(got);
	}
	is_int(ext_critical(x, NID_subject_key_identifier), 0, "issue: SKI present");
	X509_pubkey_digest(x, EVP_sha1(), md, &mdlen);
	ok(X509_get0_subject_key_id(x) != NULL && mdlen == 20 &&
	    ASN1_STRING_length(X509_get0_subject_key_id(x)) == 20 &&
	    memcmp(ASN1_STRING_get0_data(X509_get0_subject_key_id(x)), md, 20) == 0,
	    "issue: SKI is the SHA-1 of the key");
	ok(X509_get0_authority_key_id(x) != NULL &&
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(ca)) == 0,
	    "issue: AKI is the CA's SKI");
	is_int(X509_check_issued(ca, x), X509_V_OK, "issue: X509_check_issued");
	is_int(X509_get_ext_count(x), 6, "issue: exactly six extensions");

	/* No KU, no EKU, no SAN: those extensions are left out. */
	rq.key_usage = 0;
	rq.n_eku = 0;
	rq.eku = NULL;
	rq.san = NULL;
	y = signer_issue(s, &rq, err, sizeof(err));
	ok(y != NULL, "issue: minimal certificate");
	if (y != NULL) {
		is_int(X509_get_ext_by_NID(y, NID_key_usage, -1), -1, "issue: no KU when 0");
		is_int(X509_get_ext_by_NID(y, NID_ext_key_usage, -1), -1, "issue: no EKU when none");
		is_int(X509_get_ext_by_NID(y, NID_subject_alt_name, -1), -1, "issue: no SAN when NULL");
		is_int(X509_get_ext_count(y), 3, "issue: BC, SKI, AKI only");
		ok(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)) != 0,
		    "issue: serials differ");
	}
	X509_free(y);
	y = NULL;

	/* Validity is cut at the CA's notAfter. */
	{
		struct tm tm;

		ASN1_TIME_to_tm(X509_get0_notAfter(ca), &tm);
		rq.now = (int64_t)timegm(&tm) - 10 * 86400;
		y = signer_issue(s, &rq, err, sizeof(err));
		ok(y != NULL && ASN1_TIME_compare(X509_get0_notAfter(y),
		    X509_get0_notAfter(ca)) == 0, "issue: notAfter capped at the CA's");
		X509_free(y);
		y = NULL;
		rq.now = now;
	}

	rq.key_usage = KU_KEY_CERT_SIGN;
	err[0] = '\0';
	y = signer_issue(s, &rq, err, sizeof(err));
	ok(y == NULL && strstr(err, "keyCertSign") != NULL, "issue: keyCertSign refused (%s)", err);
	X509_free(y);
	y = NULL;
	rq.key_usage = 0;
	rq.validity_days = 0;
	y = signer_issue(s, &rq, err, sizeof(err));
	ok(y == NULL, "issue: zero validity refused");
	rq.validity_days = 30;

	/* An EC CA signs with ECDSA. */
	memset(&opt, 0, sizeof(opt));
	opt.dir = ec_dir;
	opt.ca_key_spec = "ec:p384";
	opt.ra_name = "ec-MSCEP-RA";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create: %s\n", err);
		exit(1);
	}
	paths_set(&ep, ec_dir);
	cfg_set(&cfg, &ep, 1, 0);
	s_ec = signer_load(&cfg, err, sizeof(err));
	ok(s_ec != NULL, "issue: EC CA signer loads");
	if (s_ec != NULL) {
		y = signer_issue(s_ec, &rq, err, sizeof(err));
		ok(y != NULL, "issue: EC CA issues");
		if (y != NULL) {
			is_int(X509_get_signature_nid(y), NID_ecdsa_with_SHA384,
			    "issue: ecdsa-with-SHA384 for P-384");
			is_int(X509_verify(y, X509_get0_pubkey(signer_ca_cert(s_ec))), 1,
			    "issue: EC signature verifies");
		}
	}
	paths_free(&ep);
out:
	X509_free(y);
	X509_free(x);
	X509_free(ca);
	X509_REQ_free(csr);
	GENERAL_NAMES_free(san);
	signer_free(s);
	signer_free(s_ec);
	catest_rmrf(ec_dir);
	free(ec_dir);
}

static CMS_ContentInfo *parse_cms(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);

	if (cms != NULL && p != der + len) {
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

static void test_sign(void)
{
	struct config cfg;
	struct signer *s = NULL, *s_ca = NULL;
	STACK_OF(X509_ATTRIBUTE) *attrs = sk_X509_ATTRIBUTE_new_null();
	X509_ATTRIBUTE *a;
	ASN1_PRINTABLESTRING *v = ASN1_PRINTABLESTRING_new();
	static const unsigned char content[] = "envelope bytes";
	unsigned char *der = NULL;
	size_t len = 0;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	CMS_SignerInfo *si;
	X509_ALGOR *dig = NULL, *sig = NULL;
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *sno = NULL;
	STACK_OF(X509) *certs = NULL;
	BIO *outb = NULL, *empty = NULL;
	ASN1_OCTET_STRING **pos;
	X509 *rs = pem_cert(tmp, "ra-sign.crt");
	char err[512];
	char *data;
	long n;

	cfg_set(&cfg, &lab, 1, 0);
	s = signer_load(&cfg, err, sizeof(err));
	cfg_set(&cfg, &lab, 0, 0);
	s_ca = signer_load(&cfg, err, sizeof(err));
	ASN1_STRING_set(v, "3", 1);
	a = X509_ATTRIBUTE_create(oids_nids()->message_type, V_ASN1_PRINTABLESTRING, v);
	sk_X509_ATTRIBUTE_push(attrs, a);
	ok(s != NULL && s_ca != NULL && a != NULL && rs != NULL, "sign: setup");
	if (s == NULL || s_ca == NULL || a == NULL || rs == NULL)
		goto out;

	der = signer_sign_message(s, NID_sha512, content, sizeof(content), attrs, &len, err,
	    sizeof(err));
	ok(der != NULL && len > 0, "sign: message signed (%s)", der ? "" : err);
	cms = der ? parse_cms(der, len) : NULL;
	ok(cms != NULL, "sign: output is one DER ContentInfo");
	if (cms == NULL)
		goto out;
	is_int(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed, "sign: SignedData");
	is_int(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data, "sign: eContentType data");
	sis = CMS_get0_SignerInfos(cms);
	is_int(sk_CMS_SignerInfo_num(sis), 1, "sign: one SignerInfo");
	si = sk_CMS_SignerInfo_value(sis, 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	is_int(OBJ_obj2nid(dig->algorithm), NID_sha512, "sign: digest sha512 as asked");
	is_int(OBJ_obj2nid(sig->algorithm), NID_rsaEncryption,
	    "sign: signatureAlgorithm rsaEncryption (1.2.840.113549.1.1.1)");
	CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &sno);
	ok(keyid == NULL && issuer != NULL && sno != NULL, "sign: sid is issuerAndSerialNumber");
	ok(issuer != NULL && X509_NAME_cmp(issuer, X509_get_issuer_name(rs)) == 0 &&
	    ASN1_INTEGER_cmp(sno, X509_get0_serialNumber(rs)) == 0, "sign: sid names ra-sign");
	certs = CMS_get1_certs(cms);
	ok(certs != NULL && sk_X509_num(certs) == 1 && X509_cmp(sk_X509_value(certs, 0), rs) == 0,
	    "sign: certificates holds the RA signing cert");
	ok(CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1) >= 0,
	    "sign: contentType attribute");
	ok(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1) >= 0,
	    "sign: messageDigest attribute");
	ok(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) >= 0,
	    "sign: signingTime attribute");
	is_int(CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1), -1,
	    "sign: no SMIMECapabilities");
	{
		int i = CMS_signed_get_attr_by_NID(si, oids_nids()->message_type, -1);
		ASN1_TYPE *t = i >= 0 ? X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, i), 0) : NULL;

		ok(t != NULL && t->type == V_ASN1_PRINTABLESTRING &&
		    ASN1_STRING_length(t->value.asn1_string) == 1 &&
		    ASN1_STRING_get0_data(t->value.asn1_string)[0] == '3',
		    "sign: caller's attribute carried");
	}
	is_int(CMS_signed_get_attr_count(si), 4, "sign: exactly four signed attributes");
	outb = BIO_new(BIO_s_mem());
	is_int(CMS_verify(cms, certs, NULL, NULL, outb, CMS_NO_SIGNER_CERT_VERIFY | CMS_NOINTERN |
	    CMS_BINARY), 1, "sign: verifies with the RA signing cert");
	n = BIO_get_mem_data(outb, &data);
	ok(n == (long)sizeof(content) && memcmp(data, content, sizeof(content)) == 0,
	    "sign: eContent is the content");
	BIO_free(outb);
	outb = NULL;
	sk_X509_pop_free(certs, X509_free);
	certs = NULL;
	CMS_ContentInfo_free(cms);
	cms = NULL;
	free(der);

	/* No content: no eContent at all, and the signature still verifies. */
	der = signer_sign_message(s, NID_undef, NULL, 0, attrs, &len, err, sizeof(err));
	cms = der ? parse_cms(der, len) : NULL;
	ok(cms != NULL, "sign: no-content message");
	if (cms == NULL)
		goto out;
	pos = CMS_get0_content(cms);
	ok(pos != NULL && *pos == NULL, "sign: eContent absent");
	is_int(CMS_is_detached(cms), 1, "sign: detached");
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	is_int(OBJ_obj2nid(dig->algorithm), NID_sha256, "sign: NID_undef means sha256");
	is_int(OBJ_obj2nid(sig->algorithm), NID_rsaEncryption, "sign: still rsaEncryption");
	empty = BIO_new_mem_buf("", 0);
	outb = BIO_new(BIO_s_mem());
	is_int(CMS_verify(cms, NULL, NULL, empty, outb, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1,
	    "sign: no-content signature verifies over the empty string");
	CMS_ContentInfo_free(cms);
	cms = NULL;
	free(der);

	/* Zero-length (non-NULL) content: an empty eContent OCTET STRING. */
	der = signer_sign_message(s, NID_sha1, content, 0, NULL, &len, err, sizeof(err));
	cms = der ? parse_cms(der, len) : NULL;
	ok(cms != NULL, "sign: empty-content message");
	if (cms == NULL)
		goto out;
	pos = CMS_get0_content(cms);
	ok(pos != NULL && *pos != NULL && ASN1_STRING_length(*pos) == 0,
	    "sign: eContent present and empty");
	is_int(CMS_is_detached(cms), 0, "sign: not detached");
	BIO_free(outb);
	outb = BIO_new(BIO_s_mem());
	is_int(CMS_verify(cms, NULL, NULL, NULL, outb, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY), 1,
	    "sign: empty-content signature verifies");
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
	is_int(OBJ_obj2nid(dig->algorithm), NID_sha1, "sign: sha1 as asked");
	CMS_ContentInfo_free(cms);
	cms = NULL;
	free(der);

	/* Unsupported digest falls back to SHA-256; the CA signs without an RA. */
	der = signer_sign_message(s_ca, NID_md4, content, sizeof(content), NULL, &len, err,
	    sizeof(err));
	cms = der ? parse_cms(der, len) : NULL;
	ok(cms != NULL, "sign: CA-only signer signs");
	if (cms != NULL) {
		si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
		CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
		is_int(OBJ_obj2nid(dig->algorithm), NID_sha256, "sign: md4 falls back to sha256");
		is_int(CMS_SignerInfo_cert_cmp(si, signer_ca_cert(s_ca)), 0, "sign: CA is the signer");
		is_int(CMS_signed_get_attr_count(si), 3, "sign: only the CMS attributes");
	}
	CMS_ContentInfo_free(cms);
	cms = NULL;
	free(der);
	der = NULL;

	/* contentType et al. belong to the signer. */
	{
		ASN1_OBJECT *data_oid = OBJ_nid2obj(NID_pkcs7_data);
		X509_ATTRIBUTE *ct = X509_ATTRIBUTE_create(NID_pkcs9_contentType, V_ASN1_OBJECT,
		    data_oid);

		sk_X509_ATTRIBUTE_push(attrs, ct);
		err[0] = '\0';
		der = signer_sign_message(s, NID_sha256, content, sizeof(content), attrs, &len, err,
		    sizeof(err));
		ok(der == NULL && strstr(err, "contentType") != NULL,
		    "sign: caller contentType refused (%s)", err);
	}
out:
	free(der);
	BIO_free(outb);
	BIO_free(empty);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
	X509_free(rs);
	signer_free(s);
	signer_free(s_ca);
}

int main(void)
{
	static const char *const certs[] = { "ca.crt", "ra-sign.crt", "ra-enc.crt" };
	static const char *const keys[] = { "ca.key", "ra-sign.key", "ra-enc.key" };
	char *labdir = xasprintf("%s/lab", fixture_dir()), *dir = catest_tmpdir("signer");
	char *from, *to;
	size_t i;

	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	tmp = dir;
	for (i = 0; i < 3; i++) {
		from = xasprintf("%s/%s", labdir, certs[i]);
		to = xasprintf("%s/%s", dir, certs[i]);
		if (copy_file(from, to, 0644) != 0) {
			printf("Bail out! cannot copy %s\n", from);
			return 1;
		}
		free(from);
		free(to);
		from = xasprintf("%s/%s", labdir, keys[i]);
		to = xasprintf("%s/%s", dir, keys[i]);
		if (copy_file(from, to, 0600) != 0) {
			printf("Bail out! cannot copy %s\n", from);
			return 1;
		}
		free(from);
		free(to);
	}
	paths_set(&lab, dir);

	test_load();
	test_decrypt_fixtures();
	test_decrypt_made();
	test_issue();
	test_sign();

	paths_free(&lab);
	catest_rmrf(dir);
	free(dir);
	free(labdir);
	return done_testing();
}
