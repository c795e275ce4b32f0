/* SPDX-License-Identifier: ISC */
/*
 * test_profile.c: the SCEP endpoints built at start-up (src/profile.c) from a
 * configuration and a lab CA made in a temporary folder: path matching (NDES
 * and RFC paths, case, /pkiclient.exe, profiles), the GetCACaps body with the
 * derived Renewal and GetNextCACert lines, algorithm masks, templates by
 * usage, a profile's own RA, and the two CA generations after
 * labca_rollover(): GetNextCACert body, switch-over time, CRL paths and URLs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "config.h"
#include "labca.h"
#include "oids.h"
#include "policy.h"
#include "profile.h"
#include "signer.h"
#include "util.h"
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

static struct config *load(const char *extra)
{
	char *text = xasprintf(
	    "state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\";\n"
	    "  enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n"
	    "crl = { url = \"http://scep.example.org/crl/ca.crl\"; };\n"
	    "templates = ( { name = \"sig\"; validity_days = 9; } );\n"
	    "%s", tmp, extra);
	struct config *cfg = config_load_string("t.conf", text, stderr);

	free(text);
	return cfg;
}

static void test_one_generation(void)
{
	struct config *cfg;
	struct policy *pol = NULL;
	struct profiles *ps = NULL;
	const struct profile *p;
	char err[512];
	int ndes = -1;

	cfg = load("SignatureTemplate = \"sig\";\n"
	    "profiles = ( { name = \"vpn\"; digests = [ \"SHA-256\" ]; ciphers = [ \"AES-128\" ];\n"
	    "  key_transport = [ \"RSAES-OAEP\" ]; capabilities = [ \"AES\", \"SHA-256\" ];\n"
	    "  renewal = false; },\n"
	    "  { name = \"own\"; path = \"/own/scep\"; ra_sign_cert = \"ra-sign.crt\";\n"
	    "  ra_sign_key = \"ra-sign.key\"; ra_enc_cert = \"ra-enc.crt\"; ra_enc_key = \"ra-enc.key\"; },\n"
	    "  { name = \"strict\"; digests = [ \"SHA-512\" ]; ciphers = [ \"AES-256\", \"DES3\" ]; } );\n");
	ok(cfg != NULL, "configuration with profiles");
	if (cfg == NULL)
		return;
	pol = policy_new(cfg, err, sizeof(err));
	ps = pol ? profiles_new(cfg, pol, err, sizeof(err)) : NULL;
	ok(ps != NULL, "profiles_new (%s)", ps ? "" : err);
	if (ps == NULL)
		goto out;
	is_int(ps->n, 4, "default and three profiles");
	is_int(ps->n_gen, 1, "one CA generation (no ca-next.crt)");
	ok(ps->next_ca == NULL, "no GetNextCACert body");
	is_int(profiles_current(ps, now_seconds()), 0, "generation 0 is current");
	is_str(ps->gen[0].crl_path, "/crl/ca.crl", "CRL path");
	is_str(ps->gen[0].crl_url, "http://scep.example.org/crl/ca.crl", "CRL URL");

	p = profiles_match(ps, "/certsrv/mscep/mscep.dll", &ndes);
	ok(p == &ps->p[0] && ndes == 1, "mscep.dll: default profile, NDES path");
	p = profiles_match(ps, "/CertSrv/MSCEP/mscep.dll/pkiclient.exe", &ndes);
	ok(p == &ps->p[0] && ndes == 1, "any case, with /pkiclient.exe");
	p = profiles_match(ps, "/certsrv/mscep/", &ndes);
	ok(p == &ps->p[0] && ndes == 1, "the folder URL");
	p = profiles_match(ps, "/cgi-bin/pkiclient.exe", &ndes);
	ok(p == &ps->p[0] && ndes == 0, "the RFC path, not NDES");
	p = profiles_match(ps, "/scep/vpn/pkiclient.exe", &ndes);
	ok(p != NULL && strcmp(p->name, "vpn") == 0 && ndes == 0, "/scep/vpn/pkiclient.exe: vpn");
	p = profiles_match(ps, "/Own/Scep", &ndes);
	ok(p != NULL && strcmp(p->name, "own") == 0, "a profile path, any case");
	ok(profiles_match(ps, "/scep/vpnx", &ndes) == NULL, "a longer path matches nothing");
	ok(profiles_match(ps, "/scep/vpn/x", &ndes) == NULL, "nor a path below a profile's");
	ok(profiles_find(ps, "vpn") != NULL && profiles_find(ps, "nope") == NULL, "profiles_find");

	p = &ps->p[0];
	ok(p->caps_len[0] == strlen(p->caps[0]) &&
	    strcmp(p->caps[0], "POSTPKIOperation\r\nSHA-512\r\nSHA-384\r\nSHA-256\r\nSHA-1\r\nAES\r\n"
	    "DES3\r\nSCEPStandard\r\nRenewal\r\n") == 0,
	    "default GetCACaps: the configured list, then Renewal");
	is_str(p->cacert_type[0], "application/x-x509-ca-ra-cert", "GetCACert type with an RA");
	ok(p->digests == (PROFILE_MD_SHA1 | PROFILE_MD_SHA224 | PROFILE_MD_SHA256 |
	    PROFILE_MD_SHA384 | PROFILE_MD_SHA512), "default digests: SHA-1 to SHA-512");
	ok(p->ciphers == (PROFILE_CIPHER_DES3 | PROFILE_CIPHER_AES128 | PROFILE_CIPHER_AES192 |
	    PROFILE_CIPHER_AES256), "default ciphers: no DES");
	ok(p->transports == (PROFILE_KT_RSA | PROFILE_KT_OAEP), "default: both key transports");
	is_str(p->tmpl[0]->name, "sig", "default SignatureTemplate: sig");
	is_str(p->tmpl[1]->name, "default", "default EncryptionTemplate: default");
	ok(p->signer[0] == ps->gen[0].signer && !p->own_signer, "the default RA");

	p = profiles_find(ps, "vpn");
	is_str(p->caps[0], "AES\r\nSHA-256\r\n", "vpn GetCACaps: no Renewal when renewal is off");
	ok(p->digests == PROFILE_MD_SHA256 && p->ciphers == PROFILE_CIPHER_AES128 &&
	    p->transports == PROFILE_KT_OAEP, "vpn algorithm masks");
	is_str(p->tmpl[0]->name, "sig", "vpn inherits SignatureTemplate");
	p = profiles_find(ps, "own");
	ok(p->own_signer && p->signer[0] != ps->gen[0].signer, "own: its own signer");
	p = profiles_find(ps, "strict");
	is_str(p->caps[0], "POSTPKIOperation\r\nSHA-512\r\nDES3\r\nRenewal\r\n",
	    "keywords for refused algorithms are left out (SHA-1/256/384, AES, SCEPStandard)");
out:
	profiles_free(ps);
	policy_free(pol);
	config_free(cfg);
}

static void test_rollover(void)
{
	struct labca_rollover ro;
	struct config *cfg;
	struct policy *pol = NULL;
	struct profiles *ps = NULL;
	const unsigned char *q;
	CMS_ContentInfo *cms = NULL;
	X509_STORE *store = X509_STORE_new();
	BIO *out = BIO_new(BIO_s_mem());
	PKCS7 *p7 = NULL;
	char err[512], *paths[8];
	const int64_t starts = now_seconds() + 3600;
	long n;
	char *data;
	int i;

	paths[0] = xasprintf("%s/ca.crt", tmp);
	paths[1] = xasprintf("%s/ra-sign.crt", tmp);
	paths[2] = xasprintf("%s/ca-next.crt", tmp);
	paths[3] = xasprintf("%s/ca-next.key", tmp);
	paths[4] = xasprintf("%s/ra-sign-next.crt", tmp);
	paths[5] = xasprintf("%s/ra-sign-next.key", tmp);
	paths[6] = xasprintf("%s/ra-enc-next.crt", tmp);
	paths[7] = xasprintf("%s/ra-enc-next.key", tmp);
	memset(&ro, 0, sizeof(ro));
	ro.ca_cert = paths[0];
	ro.ra_sign_cert = paths[1];
	ro.next_cert = paths[2];
	ro.next_key = paths[3];
	ro.next_ra_sign_cert = paths[4];
	ro.next_ra_sign_key = paths[5];
	ro.next_ra_enc_cert = paths[6];
	ro.next_ra_enc_key = paths[7];
	ro.starts = starts;
	ok(labca_rollover(&ro, err, sizeof(err)) == 0, "labca_rollover (%s)", err);
	ok(labca_rollover(&ro, err, sizeof(err)) != 0 && strstr(err, "exists already"),
	    "a second rollover writes nothing: %s", err);
	cfg = load("");
	pol = cfg ? policy_new(cfg, err, sizeof(err)) : NULL;
	ps = pol ? profiles_new(cfg, pol, err, sizeof(err)) : NULL;
	ok(ps != NULL, "profiles_new with a rollover CA (%s)", ps ? "" : err);
	if (ps == NULL)
		goto out;
	is_int(ps->n_gen, 2, "two CA generations");
	is_int(ps->gen[1].starts, starts, "the next one starts at its notBefore");
	is_int(profiles_current(ps, starts - 1), 0, "before: generation 0");
	is_int(profiles_current(ps, starts), 1, "from then on: generation 1");
	ok(strcmp(ps->gen[0].key_id, ps->gen[1].key_id) != 0, "two different CA keys");
	is_str(ps->gen[1].crl_path, "/crl/ca-next.crl", "the next CA's CRL path");
	is_str(ps->gen[1].crl_url, "http://scep.example.org/crl/ca-next.crl", "and CRL URL");
	ok(strstr(ps->p[0].caps[0], "Renewal\r\nGetNextCACert\r\n") != NULL,
	    "GetCACaps before the switch-over ends with GetNextCACert");
	ok(strstr(ps->p[0].caps[1], "GetNextCACert") == NULL, "and not after it");
	ok(ps->p[0].signer[1] == ps->gen[1].signer, "after it the next RA signs");
	ok(ps->next_ca != NULL, "a GetNextCACert body");
	q = ps->next_ca;
	cms = ps->next_ca ? d2i_CMS_ContentInfo(NULL, &q, (long)ps->next_ca_len) : NULL;
	X509_STORE_add_cert(store, signer_ca_cert(ps->gen[0].signer));
	ok(cms != NULL && CMS_verify(cms, NULL, store, NULL, out, CMS_BINARY) == 1,
	    "signed by the current CA");
	n = BIO_get_mem_data(out, &data);
	q = (const unsigned char *)data;
	p7 = n > 0 ? d2i_PKCS7(NULL, &q, n) : NULL;
	ok(p7 != NULL && PKCS7_type_is_signed(p7) && sk_X509_num(p7->d.sign->cert) == 3,
	    "content: a degenerate SignedData with three certificates");
	if (p7 != NULL && PKCS7_type_is_signed(p7) && sk_X509_num(p7->d.sign->cert) == 3) {
		ok(X509_cmp(sk_X509_value(p7->d.sign->cert, 0),
		    signer_ra_sign_cert(ps->gen[1].signer)) == 0, "next RA signing first");
		ok(X509_cmp(sk_X509_value(p7->d.sign->cert, 2),
		    signer_ca_cert(ps->gen[1].signer)) == 0, "next CA last");
	}
out:
	PKCS7_free(p7);
	BIO_free(out);
	X509_STORE_free(store);
	CMS_ContentInfo_free(cms);
	profiles_free(ps);
	policy_free(pol);
	config_free(cfg);
	for (i = 0; i < 8; i++)
		free(paths[i]);
}

/* Without an RA the CA answers GetCACert alone, as one DER certificate. */
static void test_ca_only(void)
{
	char *text = xasprintf("state_dir = \"%s\";\n", tmp);
	struct config *cfg = config_load_string("t.conf", text, stderr);
	struct policy *pol = NULL;
	struct profiles *ps = NULL;
	const unsigned char *q;
	X509 *x = NULL;
	char err[512];

	pol = cfg ? policy_new(cfg, err, sizeof(err)) : NULL;
	ps = pol ? profiles_new(cfg, pol, err, sizeof(err)) : NULL;
	ok(ps != NULL, "profiles_new without an RA (%s)", ps ? "" : err);
	if (ps != NULL) {
		is_str(ps->p[0].cacert_type[0], "application/x-x509-ca-cert",
		    "CA only: application/x-x509-ca-cert");
		q = ps->p[0].cacert[0];
		x = d2i_X509(NULL, &q, (long)ps->p[0].cacert_len[0]);
		ok(x != NULL && q == ps->p[0].cacert[0] + ps->p[0].cacert_len[0] &&
		    X509_cmp(x, signer_ca_cert(ps->gen[0].signer)) == 0,
		    "CA only: the body is exactly the CA certificate, DER");
	}
	X509_free(x);
	profiles_free(ps);
	policy_free(pol);
	config_free(cfg);
	free(text);
}

int main(void)
{
	struct labca_options opt;
	char err[512];

	oids_register();
	snprintf(tmp, sizeof(tmp), "/tmp/scepd-test-profile-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return 1;
	memset(&opt, 0, sizeof(opt));
	opt.dir = tmp;
	opt.ra_name = "profile-MSCEP-RA";
	if (labca_create(&opt, err, sizeof(err)) != 0) {
		printf("Bail out! labca_create: %s\n", err);
		return 1;
	}
	test_one_generation();
	test_ca_only();
	test_rollover();
	rm_dir(tmp);
	return done_testing();
}
