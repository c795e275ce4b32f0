/* SPDX-License-Identifier: ISC */
/*
 * test_policy.c: the digest allow-list, CSR checks, the template grant
 * (requested key usage and EKU limited to what the template allows), and the
 * named templates: the NDES choice by key usage (ndes.md §2.2), key types,
 * sizes and curves, subject and SAN rules with regular expressions.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

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
	ok(strstr(reason, "keyCertSign, cRLSign") != NULL, "  the reason names the usages asked for: %s",
	    reason);

	c.has_key_usage = 0;
	c.ext_key_usage = sk_ASN1_OBJECT_new_null();
	sk_ASN1_OBJECT_push(c.ext_key_usage, OBJ_nid2obj(NID_server_auth));
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST, "serverAuth only: refused");
	ok(strstr(reason, "serverAuth") != NULL, "  the reason names the extended usage asked for: %s",
	    reason);
	sk_ASN1_OBJECT_push(c.ext_key_usage, OBJ_nid2obj(NID_client_auth));
	is_int(policy_grant(p, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE, "serverAuth + clientAuth");
	ok(g.n_eku == 1 && OBJ_obj2nid(g.eku[0]) == NID_client_auth, "only clientAuth granted");
	sk_ASN1_OBJECT_free(c.ext_key_usage);
}


static GENERAL_NAME *san_dns(const char *name)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, name, -1);
	GENERAL_NAME_set0_value(gn, GEN_DNS, s);
	return gn;
}

static GENERAL_NAME *san_ip(const char *text)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	unsigned char addr[4];

	inet_pton(AF_INET, text, addr);
	ASN1_OCTET_STRING_set(s, addr, 4);
	GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
	return gn;
}

static GENERAL_NAME *san_upn(const char *upn)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *v = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

	ASN1_STRING_set(s, upn, -1);
	ASN1_TYPE_set(v, V_ASN1_UTF8STRING, s);
	GENERAL_NAME_set0_othername(gn, OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1), v);
	return gn;
}

/* Templates from a real configuration text. */
static void test_templates(void)
{
	struct config *cfg;
	struct policy *p;
	const struct policy_template *def, *sig, *enc, *any;
	struct policy_grant g;
	struct csr c;
	EVP_PKEY *ec384 = NULL;
	char err[256];

	cfg = config_load_string("t.conf",
	    "SignatureTemplate = \"sig\"; EncryptionTemplate = \"enc\";\n"
	    "certificate = { san_types = [ \"dns\" ]; };\n"
	    "templates = (\n"
	    "  { name = \"sig\"; key_usage = [ \"digitalSignature\", \"nonRepudiation\" ];\n"
	    "    extended_key_usage = [ \"clientAuth\", \"emailProtection\" ];\n"
	    "    key_types = [ \"ec\" ]; ec_curves = [ \"P-256\" ]; validity_days = 7;\n"
	    "    subject_pattern = \"^CN=[a-z0-9-]+$\"; approval = true; },\n"
	    "  { name = \"enc\"; key_usage = [ \"keyEncipherment\" ]; key_types = [ \"rsa\" ];\n"
	    "    min_rsa_bits = 3072; san_required = true; san_types = [ \"dns\", \"ip\" ];\n"
	    "    san_pattern = \"\\\\.example\\\\.org$|^10\\\\.\"; allow_subject_change = true; },\n"
	    "  { name = \"any\"; san_types = [ \"upn\" ]; san_pattern = \"@corp$\"; }\n"
	    ");\n", stderr);
	ok(cfg != NULL, "configuration with templates");
	if (cfg == NULL)
		return;
	p = policy_new(cfg, err, sizeof(err));
	ok(p != NULL, "policy_new with templates (%s)", p ? "" : err);
	if (p == NULL) {
		config_free(cfg);
		return;
	}
	def = policy_template_find(p, "default");
	sig = policy_template_find(p, "sig");
	enc = policy_template_find(p, "enc");
	any = policy_template_find(p, "any");
	ok(def && sig && enc && any, "templates found by name");
	ok(policy_template_find(p, "none") == NULL, "unknown name: NULL");
	is_int(p->n_templates, 4, "default plus three");
	is_int(sig->validity_days, 7, "sig: validity");
	is_int(sig->approval, 1, "sig: approval");
	is_int(enc->allow_subject_change, 1, "enc: allow_subject_change");
	is_int(def->san_types, POLICY_SAN_DNS, "default: only dns SANs");

	/* NDES choice of template by requested key usage */
	memset(&c, 0, sizeof(c));
	is_int(policy_usage_of(&c), POLICY_USAGE_GENERAL, "no keyUsage extension: general purpose");
	c.has_key_usage = 1;
	c.key_usage = X509v3_KU_DIGITAL_SIGNATURE;
	is_int(policy_usage_of(&c), POLICY_USAGE_SIGNATURE, "digitalSignature only: signature");
	c.key_usage = X509v3_KU_NON_REPUDIATION;
	is_int(policy_usage_of(&c), POLICY_USAGE_SIGNATURE, "nonRepudiation only: signature");
	c.key_usage = X509v3_KU_KEY_ENCIPHERMENT;
	is_int(policy_usage_of(&c), POLICY_USAGE_ENCRYPTION, "keyEncipherment only: encryption");
	c.key_usage = X509v3_KU_DATA_ENCIPHERMENT | X509v3_KU_KEY_AGREEMENT;
	is_int(policy_usage_of(&c), POLICY_USAGE_ENCRYPTION, "data encipherment + agreement: encryption");
	c.key_usage = X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT;
	is_int(policy_usage_of(&c), POLICY_USAGE_GENERAL, "both: general purpose");
	c.key_usage = 0;
	is_int(policy_usage_of(&c), POLICY_USAGE_GENERAL, "empty keyUsage: general purpose");
	is_str(policy_usage_name(POLICY_USAGE_ENCRYPTION), "EncryptionTemplate", "usage names");

	/* key types, sizes and curves */
	memset(&c, 0, sizeof(c));
	c.self_signature_ok = 1;
	c.subject = "CN=dev-1";
	c.key_type = EVP_PKEY_RSA;
	c.key_bits = 2048;
	is_int(policy_check_template(sig, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "sig refuses RSA");
	ok(strstr(reason, "template sig") && strstr(reason, "key_types"), "reason: %s", reason);
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "enc refuses RSA-2048 (min 3072)");
	ok(strstr(reason, "3072") != NULL, "reason names the minimum: %s", reason);
	c.key_bits = 3072;
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "enc requires a SAN");
	ok(strstr(reason, "san_required") != NULL, "reason: %s", reason);
	c.san = sk_GENERAL_NAME_new_null();
	sk_GENERAL_NAME_push(c.san, san_dns("host.example.org"));
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "enc: RSA-3072 with a matching DNS SAN");
	sk_GENERAL_NAME_push(c.san, san_ip("10.1.2.3"));
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "enc: and an IP SAN matching the pattern");
	is_int(policy_check_template(def, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "default refuses the IP SAN (san_types)");
	ok(strstr(reason, "ip subject alternative") != NULL, "reason: %s", reason);
	sk_GENERAL_NAME_push(c.san, san_dns("host.example.com"));
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "enc: a DNS SAN outside the pattern is refused");
	ok(strstr(reason, "host.example.com") && strstr(reason, "san_pattern"), "reason: %s", reason);
	sk_GENERAL_NAME_pop_free(c.san, GENERAL_NAME_free);
	c.san = sk_GENERAL_NAME_new_null();
	sk_GENERAL_NAME_push(c.san, san_upn("alice@corp"));
	is_int(policy_check_template(any, &c, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "any: UPN matching the pattern");
	is_int(policy_check_template(enc, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "enc: UPN not allowed");
	sk_GENERAL_NAME_pop_free(c.san, GENERAL_NAME_free);
	c.san = sk_GENERAL_NAME_new_null();
	sk_GENERAL_NAME_push(c.san, san_upn("alice@other"));
	is_int(policy_check_template(any, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "any: UPN outside the pattern");
	sk_GENERAL_NAME_pop_free(c.san, GENERAL_NAME_free);
	c.san = NULL;

	/* EC curve needs a real key in the request */
	ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	c.req = X509_REQ_new();
	X509_REQ_set_pubkey(c.req, ec384);
	c.pubkey = ec384;
	c.key_type = EVP_PKEY_EC;
	c.key_bits = 384;
	is_int(policy_check_template(sig, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "sig refuses P-384 (ec_curves)");
	is_int(policy_check_template(def, &c, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "default accepts P-384");
	X509_REQ_free(c.req);
	EVP_PKEY_free(ec384);
	ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	c.req = X509_REQ_new();
	X509_REQ_set_pubkey(c.req, ec384);
	c.pubkey = ec384;
	c.key_bits = 256;
	is_int(policy_check_template(sig, &c, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "sig accepts P-256");
	c.subject = "CN=Dev_1";
	is_int(policy_check_template(sig, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "sig: subject outside subject_pattern");
	ok(strstr(reason, "CN=Dev_1") && strstr(reason, "subject_pattern"), "reason: %s", reason);
	c.subject = "CN=dev-1";
	c.self_signature_ok = 0;
	is_int(policy_check_template(sig, &c, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "a bad self-signature is refused by every template");
	X509_REQ_free(c.req);
	EVP_PKEY_free(ec384);
	c.pubkey = NULL;

	/* grant within the template */
	memset(&c, 0, sizeof(c));
	c.has_key_usage = 1;
	c.key_usage = X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT;
	is_int(policy_grant_template(sig, &c, &g, reason, sizeof(reason)), SCEP_FAIL_NONE,
	    "sig grants what it may of DS+KE");
	is_int(g.key_usage, X509v3_KU_DIGITAL_SIGNATURE, "only digitalSignature");
	is_int(g.n_eku, 2, "both EKUs of the template");
	c.key_usage = X509v3_KU_KEY_ENCIPHERMENT;
	is_int(policy_grant_template(sig, &c, &g, reason, sizeof(reason)), SCEP_FAIL_BADREQUEST,
	    "sig refuses keyEncipherment only");
	ok(strstr(reason, "template sig") != NULL, "reason names the template: %s", reason);
	policy_free(p);
	config_free(cfg);
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
	test_templates();
	return done_testing();
}
