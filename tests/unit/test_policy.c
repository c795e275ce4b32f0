/* SPDX-License-Identifier: ISC */
/*
 * test_policy.c: the digest allow-list, CSR checks and the template grant
 * (requested key usage and EKU limited to what the template allows).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csr.h"
#include "oids.h"
#include "policy.h"
#include "scep_types.h"
#include "tap.h"

static char reason[512];

static void test_digests(struct config *cfg, struct policy *p)
{
	is_int(policy_check_digest(p, NID_sha256, reason, sizeof(reason)), SCEP_FAIL_NONE, "SHA-256 accepted");
	is_int(policy_check_digest(p, NID_sha512, reason, sizeof(reason)), SCEP_FAIL_NONE, "SHA-512 accepted");
	is_int(policy_check_digest(p, NID_sha1, reason, sizeof(reason)), SCEP_FAIL_NONE, "SHA-1 accepted by default");
	is_int(policy_check_digest(p, NID_md5, reason, sizeof(reason)), SCEP_FAIL_BADALG, "MD5 refused by default");
	ok(strstr(reason, "allow_md5") != NULL, "the MD5 reason names the setting");
	is_int(policy_check_digest(p, NID_undef, reason, sizeof(reason)), SCEP_FAIL_BADALG, "unknown digest is badAlg");
	cfg->allow_sha1 = 0;
	is_int(policy_check_digest(p, NID_sha1, reason, sizeof(reason)), SCEP_FAIL_BADALG, "SHA-1 refused when allow_sha1 is off");
	cfg->allow_sha1 = 1;
	cfg->allow_md5 = 1;
	is_int(policy_check_digest(p, NID_md5, reason, sizeof(reason)), SCEP_FAIL_NONE, "MD5 accepted when allow_md5 is on");
	cfg->allow_md5 = 0;
}

static void test_csr_checks(struct policy *p)
{
	struct csr c;

	memset(&c, 0, sizeof(c));
	c.self_signature_ok = 1;
	c.key_type = EVP_PKEY_RSA;
	c.key_bits = 2048;
	is_int(policy_check_csr(p, &c, reason, sizeof(reason)), SCEP_FAIL_NONE, "RSA-2048 accepted");
	c.key_bits = 1024;
	is_int(policy_check_csr(p, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "RSA-1024 refused");
	ok(strstr(reason, "1024") && strstr(reason, "2048"), "the reason gives both sizes: %s", reason);
	c.key_bits = 2048;
	c.self_signature_ok = 0;
	is_int(policy_check_csr(p, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "bad CSR signature refused");
	c.self_signature_ok = 1;
	c.key_type = EVP_PKEY_EC;
	c.key_bits = 256;
	is_int(policy_check_csr(p, &c, reason, sizeof(reason)), SCEP_FAIL_NONE, "EC P-256 accepted");
	c.key_type = EVP_PKEY_ED25519;
	is_int(policy_check_csr(p, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "Ed25519 refused");
}

static void test_grant(struct policy *p)
{
	struct policy_grant g;
	struct csr c;

	memset(&c, 0, sizeof(c));
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE, "no KU/EKU requested");
	is_int(g.key_usage, KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, "template key usage granted");
	is_int(g.n_eku, 1, "one EKU granted");
	ok(g.n_eku == 1 && OBJ_obj2nid(g.eku[0]) == NID_client_auth, "the EKU is clientAuth");

	c.has_key_usage = 1;
	c.key_usage = KU_DIGITAL_SIGNATURE;
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE, "digitalSignature only");
	is_int(g.key_usage, KU_DIGITAL_SIGNATURE, "only what was asked is granted");

	c.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN;
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE, "keyCertSign dropped, not refused");
	is_int(g.key_usage, KU_DIGITAL_SIGNATURE, "keyCertSign is not granted");

	c.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "only CA usages: refused");

	c.has_key_usage = 0;
	c.ext_key_usage = sk_ASN1_OBJECT_new_null();
	sk_ASN1_OBJECT_push(c.ext_key_usage, OBJ_nid2obj(NID_server_auth));
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "serverAuth only: refused");
	sk_ASN1_OBJECT_push(c.ext_key_usage, OBJ_nid2obj(NID_client_auth));
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE, "serverAuth + clientAuth");
	ok(g.n_eku == 1 && OBJ_obj2nid(g.eku[0]) == NID_client_auth, "only clientAuth granted");
	sk_ASN1_OBJECT_free(c.ext_key_usage);
}

int main(void)
{
	struct config cfg;
	struct policy *p;
	char err[256];

	oids_register();
	memset(&cfg, 0, sizeof(cfg));
	cfg.allow_sha1 = 1;
	cfg.min_rsa_bits = 2048;
	cfg.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
	cfg.ext_key_usage[0] = "clientAuth";
	cfg.n_ext_key_usage = 1;
	p = policy_new(&cfg, err, sizeof(err));
	ok(p != NULL, "policy_new");
	if (p == NULL)
		return done_testing();
	test_digests(&cfg, p);
	test_csr_checks(p);
	test_grant(p);
	policy_free(p);

	cfg.ext_key_usage[0] = "noSuchUsage";
	ok(policy_new(&cfg, err, sizeof(err)) == NULL, "unknown EKU name refused");
	ok(strstr(err, "noSuchUsage") != NULL, "the error names it");
	return done_testing();
}
