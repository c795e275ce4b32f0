/* SPDX-License-Identifier: ISC */
/*
 * test_labca.c: labca_create (new RSA and EC CAs, imported CA), the files and
 * modes it writes, the extensions of the CA and RA certificates, refusal to
 * overwrite, and labca_parse_subject.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "labca.h"
#include "oids.h"
#include "signer.h"
#include "util.h"
#include "tap.h"
#include "catest.h"
#include "fixture.h"

static const char *const files[6] = {
	"ca.crt", "ca.key", "ra-sign.crt", "ra-sign.key", "ra-enc.crt", "ra-enc.key"
};

static int count_entries(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static X509 *load_cert(const char *dir, const char *name)
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

static EVP_PKEY *load_key(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	EVP_PKEY *k = NULL;

	if (f != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	free(p);
	return k;
}

static unsigned char *slurp(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	unsigned char *b = read_file(p, 1 << 20, len);

	free(p);
	return b;
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	if (i < 0)
		return -1;
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static int serial_ok(X509 *x)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(x);

	return ASN1_STRING_type(s) == V_ASN1_INTEGER && ASN1_STRING_length(s) == 16 &&
	    (ASN1_STRING_get0_data(s)[0] & 0x80) == 0 && ASN1_STRING_get0_data(s)[0] != 0;
}

/* EKU is exactly Certificate Request Agent. */
static int eku_is_cra(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	char buf[64] = "";
	int okay;

	if (eku == NULL)
		return 0;
	okay = sk_ASN1_OBJECT_num(eku) == 1 &&
	    OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(eku, 0), 1) > 0 &&
	    strcmp(buf, "1.3.6.1.4.1.311.20.2.1") == 0;
	EXTENDED_KEY_USAGE_free(eku);
	return okay;
}

static int aki_matches(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);

	return aki != NULL && ski != NULL && ASN1_OCTET_STRING_cmp(aki, ski) == 0;
}

static char *cn_of(X509 *x)
{
	static char buf[256];

	buf[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
	return buf;
}

static int mode_of(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat sb;
	int m = -1;

	if (stat(p, &sb) == 0)
		m = (int)(sb.st_mode & 07777);
	free(p);
	return m;
}

/* Checks the RA pair in dir against ca; label prefixes the test names. */
static void check_ra(const char *dir, X509 *ca, const char *label, const char *ra_cn)
{
	X509 *sign = load_cert(dir, "ra-sign.crt"), *enc = load_cert(dir, "ra-enc.crt");
	EVP_PKEY *sk = load_key(dir, "ra-sign.key"), *ek = load_key(dir, "ra-enc.key");

	ok(sign != NULL && enc != NULL && sk != NULL && ek != NULL, "%s: RA files load", label);
	if (sign == NULL || enc == NULL || sk == NULL || ek == NULL)
		goto out;
	is_int(X509_check_private_key(sign, sk), 1, "%s: ra-sign key matches", label);
	is_int(X509_check_private_key(enc, ek), 1, "%s: ra-enc key matches", label);
	is_int(EVP_PKEY_get_base_id(sk), EVP_PKEY_RSA, "%s: ra-sign is RSA", label);
	is_int(EVP_PKEY_get_bits(sk), 2048, "%s: ra-sign is 2048 bits", label);
	is_int(EVP_PKEY_get_base_id(ek), EVP_PKEY_RSA, "%s: ra-enc is RSA", label);
	is_int(EVP_PKEY_get_bits(ek), 2048, "%s: ra-enc is 2048 bits", label);
	is_int(X509_check_issued(ca, sign), X509_V_OK, "%s: ra-sign issued by CA", label);
	is_int(X509_check_issued(ca, enc), X509_V_OK, "%s: ra-enc issued by CA", label);
	is_int(X509_verify(sign, X509_get0_pubkey(ca)), 1, "%s: ra-sign signature", label);
	is_int(X509_verify(enc, X509_get0_pubkey(ca)), 1, "%s: ra-enc signature", label);
	is_int(X509_get_key_usage(sign), KU_DIGITAL_SIGNATURE, "%s: ra-sign KU", label);
	is_int(ext_critical(sign, NID_key_usage), 1, "%s: ra-sign KU critical", label);
	is_int(X509_get_key_usage(enc), KU_KEY_ENCIPHERMENT, "%s: ra-enc KU", label);
	is_int(ext_critical(enc, NID_key_usage), 1, "%s: ra-enc KU critical", label);
	ok(eku_is_cra(sign), "%s: ra-sign EKU Certificate Request Agent", label);
	ok(eku_is_cra(enc), "%s: ra-enc EKU Certificate Request Agent", label);
	is_int(X509_check_ca(sign), 0, "%s: ra-sign is not a CA", label);
	is_int(ext_critical(sign, NID_basic_constraints), 1, "%s: ra-sign BC critical", label);
	ok(X509_get0_subject_key_id(sign) != NULL && X509_get0_subject_key_id(enc) != NULL,
	    "%s: RA SKI present", label);
	ok(aki_matches(sign, ca) && aki_matches(enc, ca), "%s: RA AKI = CA SKI", label);
	ok(serial_ok(sign) && serial_ok(enc), "%s: RA serials 16 bytes positive", label);
	ok(ASN1_INTEGER_cmp(X509_get0_serialNumber(sign), X509_get0_serialNumber(enc)) != 0,
	    "%s: RA serials differ", label);
	is_str(cn_of(sign), ra_cn, "%s: ra-sign CN", label);
	is_str(cn_of(enc), ra_cn, "%s: ra-enc CN", label);
	is_int(X509_get_version(sign), 2, "%s: ra-sign is v3", label);
out:
	X509_free(sign);
	X509_free(enc);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(ek);
}

static void check_files(const char *dir, const char *label)
{
	int i;
	size_t len = 0;
	unsigned char *b;

	for (i = 0; i < 6; i++)
		is_int(mode_of(dir, files[i]), (i % 2) ? 0600 : 0644, "%s: mode of %s", label,
		    files[i]);
	for (i = 1; i < 6; i += 2) {
		b = slurp(dir, files[i], &len);
		ok(b != NULL && len > 28 && memcmp(b, "-----BEGIN PRIVATE KEY-----", 27) == 0,
		    "%s: %s is PKCS#8 PEM", label, files[i]);
		free(b);
	}
}

static void test_default(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "";
	struct labca_options opt;
	unsigned char *before[6] = { NULL }, *after;
	size_t blen[6] = { 0 }, alen;
	X509 *ca = NULL;
	EVP_PKEY *cak = NULL;
	char host[256], want[300], *dot;
	int i, same;

	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	is_int(labca_create(&opt, err, sizeof(err)), 0, "default: labca_create succeeds");
	if (err[0] != '\0')
		printf("# %s\n", err);
	check_files(dir, "default");
	ca = load_cert(dir, "ca.crt");
	cak = load_key(dir, "ca.key");
	ok(ca != NULL && cak != NULL, "default: CA loads");
	if (ca == NULL || cak == NULL)
		goto out;
	is_int(X509_check_private_key(ca, cak), 1, "default: CA key matches");
	is_int(EVP_PKEY_get_base_id(cak), EVP_PKEY_RSA, "default: CA is RSA");
	is_int(EVP_PKEY_get_bits(cak), 2048, "default: CA is 2048 bits");
	is_str(cn_of(ca), "scepd Lab CA", "default: CA CN");
	{
		char o[64] = "";
		X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_organizationName, o,
		    sizeof(o));
		is_str(o, "scepd", "default: CA O");
		is_int(X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(ca)), 0,
		    "default: CA self-issued");
	}
	is_int(X509_verify(ca, cak), 1, "default: CA self-signature");
	is_int(X509_check_ca(ca), 1, "default: CA basicConstraints CA:TRUE");
	is_int(ext_critical(ca, NID_basic_constraints), 1, "default: CA BC critical");
	is_int(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE,
	    "default: CA KU keyCertSign|cRLSign|digitalSignature");
	is_int(ext_critical(ca, NID_key_usage), 1, "default: CA KU critical");
	ok(X509_get0_subject_key_id(ca) != NULL, "default: CA SKI");
	ok(aki_matches(ca, ca), "default: CA AKI = own SKI");
	ok(serial_ok(ca), "default: CA serial 16 bytes positive");
	is_int(X509_get_signature_nid(ca), NID_sha256WithRSAEncryption, "default: CA sha256WithRSA");
	{
		int days = 0, secs = 0;
		ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca));
		is_int(days, 3650, "default: CA valid 3650 days");
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "scepd");
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL && dot != host)
		*dot = '\0';
	snprintf(want, sizeof(want), "%s-MSCEP-RA", host);
	check_ra(dir, ca, "default", want);

	/* A second run must fail and leave every file as it was. */
	for (i = 0; i < 6; i++)
		before[i] = slurp(dir, files[i], &blen[i]);
	err[0] = '\0';
	is_int(labca_create(&opt, err, sizeof(err)), -1, "default: second run fails");
	ok(strstr(err, "exists already") != NULL, "default: second run says why (%s)", err);
	same = 1;
	for (i = 0; i < 6; i++) {
		after = slurp(dir, files[i], &alen);
		if (after == NULL || before[i] == NULL || alen != blen[i] ||
		    memcmp(after, before[i], alen) != 0)
			same = 0;
		free(after);
	}
	ok(same, "default: files untouched by the second run");
	is_int(count_entries(dir), 6, "default: still exactly six files");
out:
	for (i = 0; i < 6; i++)
		free(before[i]);
	X509_free(ca);
	EVP_PKEY_free(cak);
	catest_rmrf(dir);
	free(dir);
}

static void test_ec(const char *spec, int bits, int sig_nid)
{
	char *dir = catest_tmpdir("labca"), err[256] = "", label[64];
	struct labca_options opt;
	X509 *ca = NULL, *sign = NULL;
	EVP_PKEY *cak = NULL;

	snprintf(label, sizeof(label), "%s", spec);
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.ca_key_spec = spec;
	opt.ca_subject = "/CN=EC Test CA/O=scepd tests";
	opt.ra_name = "ectest-MSCEP-RA";
	is_int(labca_create(&opt, err, sizeof(err)), 0, "%s: labca_create succeeds (%s)", label,
	    err);
	check_files(dir, label);
	ca = load_cert(dir, "ca.crt");
	cak = load_key(dir, "ca.key");
	ok(ca != NULL && cak != NULL, "%s: CA loads", label);
	if (ca == NULL || cak == NULL)
		goto out;
	is_int(EVP_PKEY_get_base_id(cak), EVP_PKEY_EC, "%s: CA key is EC", label);
	is_int(EVP_PKEY_get_bits(cak), bits, "%s: CA key bits", label);
	is_int(X509_get_signature_nid(ca), sig_nid, "%s: CA signature algorithm", label);
	is_str(cn_of(ca), "EC Test CA", "%s: CA CN from slash subject", label);
	check_ra(dir, ca, label, "ectest-MSCEP-RA");
	sign = load_cert(dir, "ra-sign.crt");
	ok(sign != NULL && X509_get_signature_nid(sign) == sig_nid,
	    "%s: RA certificates signed with the CA's digest", label);
out:
	X509_free(sign);
	X509_free(ca);
	EVP_PKEY_free(cak);
	catest_rmrf(dir);
	free(dir);
}

static void test_import(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "";
	char *lab_crt = xasprintf("%s/lab/ca.crt", fixture_dir());
	char *lab_key = xasprintf("%s/lab/ca.key", fixture_dir());
	char *wrong_key = xasprintf("%s/lab/ra-sign.key", fixture_dir());
	char *labdir = xasprintf("%s/lab", fixture_dir());
	struct labca_options opt;
	X509 *lab = NULL, *ca = NULL;
	EVP_PKEY *labk = NULL, *cak = NULL;

	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.import_cert = lab_crt;
	is_int(labca_create(&opt, err, sizeof(err)), -1, "import: certificate without key fails");
	is_int(count_entries(dir), 0, "import: nothing written without key");

	opt.import_key = wrong_key;
	is_int(labca_create(&opt, err, sizeof(err)), -1, "import: mismatched key fails");
	ok(strstr(err, "does not match") != NULL, "import: mismatch reason (%s)", err);
	is_int(count_entries(dir), 0, "import: nothing written on mismatch");

	opt.import_key = lab_key;
	opt.ra_name = "import-MSCEP-RA";
	err[0] = '\0';
	is_int(labca_create(&opt, err, sizeof(err)), 0, "import: succeeds (%s)", err);
	check_files(dir, "import");
	lab = load_cert(labdir, "ca.crt");
	labk = load_key(labdir, "ca.key");
	ca = load_cert(dir, "ca.crt");
	cak = load_key(dir, "ca.key");
	ok(lab != NULL && labk != NULL && ca != NULL && cak != NULL, "import: certs load");
	if (lab == NULL || labk == NULL || ca == NULL || cak == NULL)
		goto out;
	is_int(X509_cmp(lab, ca), 0, "import: ca.crt is the imported certificate");
	is_int(EVP_PKEY_eq(labk, cak), 1, "import: ca.key is the imported key");
	check_ra(dir, lab, "import", "import-MSCEP-RA");
out:
	X509_free(lab);
	X509_free(ca);
	EVP_PKEY_free(labk);
	EVP_PKEY_free(cak);
	catest_rmrf(dir);
	free(dir);
	free(lab_crt);
	free(lab_key);
	free(wrong_key);
	free(labdir);
}

static void test_partial_exists(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "", *p;
	struct labca_options opt;
	FILE *f;

	p = xasprintf("%s/ra-enc.key", dir);
	f = fopen(p, "w");
	if (f != NULL) {
		fputs("placeholder\n", f);
		fclose(f);
	}
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.ra_name = "x-MSCEP-RA";
	is_int(labca_create(&opt, err, sizeof(err)), -1, "exists: one existing file fails");
	ok(strstr(err, "ra-enc.key") != NULL, "exists: names the file (%s)", err);
	is_int(count_entries(dir), 1, "exists: no other file written");
	unlink(p);
	free(p);

	opt.ca_key_spec = "dsa:1024";
	is_int(labca_create(&opt, err, sizeof(err)), -1, "bad key spec fails");
	ok(strstr(err, "dsa:1024") != NULL, "bad key spec named (%s)", err);
	is_int(count_entries(dir), 0, "bad key spec: nothing written");

	opt.ca_key_spec = NULL;
	opt.ca_subject = "CN";
	is_int(labca_create(&opt, err, sizeof(err)), -1, "bad subject fails");
	is_int(count_entries(dir), 0, "bad subject: nothing written");
	catest_rmrf(dir);
	free(dir);
}

/* A write that fails half-way (file size limit) leaves no partial file behind. */
static void test_write_fails(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "";
	struct labca_options opt;
	struct rlimit old, small;
	void (*oldsig)(int);
	int rc;

	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.ra_name = "full-MSCEP-RA";
	if (getrlimit(RLIMIT_FSIZE, &old) != 0) {
		skip("getrlimit: %s", strerror(errno));
		skip("getrlimit: %s", strerror(errno));
		catest_rmrf(dir);
		free(dir);
		return;
	}
	small = old;
	small.rlim_cur = 64;   /* every PEM file is larger: the first write() is short */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	(void)setrlimit(RLIMIT_FSIZE, &small);
	rc = labca_create(&opt, err, sizeof(err));
	(void)setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);
	is_int(rc, -1, "file too large: labca_create fails (%s)", err);
	is_int(count_entries(dir), 0, "file too large: no partial file left");
	catest_rmrf(dir);
	free(dir);
}

static void test_capped_and_signer(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "";
	struct labca_options opt;
	struct config cfg;
	struct signer *s;
	X509 *ca = NULL, *sign = NULL;

	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.ca_days = 10;
	opt.ra_days = 730;
	opt.ra_name = "cap-MSCEP-RA";
	is_int(labca_create(&opt, err, sizeof(err)), 0, "capped: labca_create succeeds (%s)", err);
	ca = load_cert(dir, "ca.crt");
	sign = load_cert(dir, "ra-sign.crt");
	ok(ca != NULL && sign != NULL &&
	    ASN1_TIME_compare(X509_get0_notAfter(sign), X509_get0_notAfter(ca)) == 0,
	    "capped: RA notAfter is the CA's notAfter");

	/* What labca writes, signer_load accepts. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca_cert = xasprintf("%s/ca.crt", dir);
	cfg.ca_key = xasprintf("%s/ca.key", dir);
	cfg.ra_sign_cert = xasprintf("%s/ra-sign.crt", dir);
	cfg.ra_sign_key = xasprintf("%s/ra-sign.key", dir);
	cfg.ra_enc_cert = xasprintf("%s/ra-enc.crt", dir);
	cfg.ra_enc_key = xasprintf("%s/ra-enc.key", dir);
	s = signer_load(&cfg, err, sizeof(err));
	ok(s != NULL, "signer_load accepts labca output (%s)", s ? "" : err);
	ok(s != NULL && signer_has_ra(s), "signer has the RA");
	signer_free(s);
	free(cfg.ca_cert);
	free(cfg.ca_key);
	free(cfg.ra_sign_cert);
	free(cfg.ra_sign_key);
	free(cfg.ra_enc_cert);
	free(cfg.ra_enc_key);
	X509_free(ca);
	X509_free(sign);
	catest_rmrf(dir);
	free(dir);
}

static void test_missing_dir(void)
{
	char *dir = catest_tmpdir("labca"), err[256] = "", *sub;
	struct labca_options opt;
	struct stat sb;

	sub = xasprintf("%s/state", dir);
	memset(&opt, 0, sizeof(opt));
	opt.dir = sub;
	opt.ra_name = "dir-MSCEP-RA";
	is_int(labca_create(&opt, err, sizeof(err)), 0, "missing dir: created (%s)", err);
	ok(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 07777) == 0700,
	    "missing dir: mode 0700");
	is_int(count_entries(sub), 6, "missing dir: six files");
	catest_rmrf(sub);
	catest_rmrf(dir);
	free(sub);
	free(dir);
}

/* Entry i of name as "SN=value". */
static const char *entry(X509_NAME *name, int i)
{
	static char buf[256];
	X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	const ASN1_STRING *v;

	if (e == NULL)
		return "(none)";
	v = X509_NAME_ENTRY_get_data(e);
	snprintf(buf, sizeof(buf), "%s=%.*s", OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))),
	    ASN1_STRING_length(v), (const char *)ASN1_STRING_get0_data(v));
	return buf;
}

static void test_parse_subject(void)
{
	static const char *const bad[] = {
		"", "   ", "CN", "=x", "CN=", "XX=y", "CN=x,,O=y", "/CN=x//O=y", "CN=x\\",
		"/", "CN=x,O", NULL
	};
	X509_NAME *n;
	int i;

	n = labca_parse_subject("CN=x,O=y");
	ok(n != NULL && X509_NAME_entry_count(n) == 2, "comma form: two entries");
	if (n != NULL) {
		is_str(entry(n, 0), "CN=x", "comma form: first CN");
		is_str(entry(n, 1), "O=y", "comma form: then O");
	}
	X509_NAME_free(n);

	n = labca_parse_subject("/CN=x/O=y");
	ok(n != NULL && X509_NAME_entry_count(n) == 2, "slash form: two entries");
	if (n != NULL) {
		is_str(entry(n, 0), "CN=x", "slash form: first CN");
		is_str(entry(n, 1), "O=y", "slash form: then O");
	}
	X509_NAME_free(n);

	n = labca_parse_subject("C=CH, O=strong Swan , CN=a\\,b");
	ok(n != NULL && X509_NAME_entry_count(n) == 3, "spaces and escape: three entries");
	if (n != NULL) {
		is_str(entry(n, 0), "C=CH", "spaces: C");
		is_str(entry(n, 1), "O=strong Swan", "spaces: trimmed O keeps inner space");
		is_str(entry(n, 2), "CN=a,b", "escaped comma in value");
	}
	X509_NAME_free(n);

	n = labca_parse_subject("/CN=Z\xc3\xbcrich Lab/O=a=b/");
	ok(n != NULL && X509_NAME_entry_count(n) == 2, "UTF-8 slash form with trailing slash");
	if (n != NULL) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, 0);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);

		is_int(ASN1_STRING_type(v), V_ASN1_UTF8STRING, "UTF-8 value is a UTF8String");
		ok(ASN1_STRING_length(v) == 11 &&
		    memcmp(ASN1_STRING_get0_data(v), "Z\xc3\xbcrich Lab", 11) == 0,
		    "UTF-8 bytes kept");
		is_str(entry(n, 1), "O=a=b", "'=' inside a value");
	}
	X509_NAME_free(n);

	n = labca_parse_subject("2.5.4.3=oid form");
	ok(n != NULL && strcmp(entry(n, 0), "CN=oid form") == 0, "dotted OID key");
	X509_NAME_free(n);

	for (i = 0; bad[i] != NULL; i++) {
		n = labca_parse_subject(bad[i]);
		ok(n == NULL, "rejects \"%s\"", bad[i]);
		X509_NAME_free(n);
	}
	ok(labca_parse_subject(NULL) == NULL, "rejects NULL");
}

int main(void)
{
	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	test_parse_subject();
	test_default();
	test_ec("ec:p256", 256, NID_ecdsa_with_SHA256);
	test_ec("ec:p384", 384, NID_ecdsa_with_SHA384);
	test_import();
	test_partial_exists();
	test_write_fails();
	test_capped_and_signer();
	test_missing_dir();
	return done_testing();
}
