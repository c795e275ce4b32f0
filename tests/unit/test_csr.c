/* SPDX-License-Identifier: ISC */
/*
 * test_csr.c: csr_parse over every fixture's request.csr.der (subject,
 * challengePassword, SAN, keyUsage, key, SPKI hash and self-signature checked
 * against facts.json and the fixture's client.key), and over CSRs built here:
 * challengePassword in BMPString, IA5String, T61String, broken signatures,
 * duplicate or mistyped attributes, extensionRequest in its PKCS#9, Microsoft
 * and VeriSign forms, malformed extensions.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "fixture.h"
#include "csr.h"
#include "util.h"

static struct csr *parse(const unsigned char *der, size_t len, char *err, size_t errlen)
{
	err[0] = '\0';
	return csr_parse(der, len, err, errlen);
}

/* "C=US, O=scep-client, CN=x" (facts.json, OpenSSL order) as RFC 2253 "CN=x,O=scep-client,C=US". */
static void rfc2253(const char *facts, char *out, size_t len)
{
	char tmp[512], *parts[32];
	int n = 0, i;
	char *p, *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", facts);
	for (p = strtok_r(tmp, ",", &save); p != NULL && n < 32; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		parts[n++] = p;
	}
	out[0] = '\0';
	for (i = n - 1; i >= 0; i--) {
		strncat(out, parts[i], len - strlen(out) - 1);
		if (i > 0)
			strncat(out, ",", len - strlen(out) - 1);
	}
}

/* The ASN.1 type name of the CSR's challengePassword, read with OpenSSL directly. */
static const char *challenge_type(const X509_REQ *req)
{
	int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
	X509_ATTRIBUTE *a = idx >= 0 ? X509_REQ_get_attr(req, idx) : NULL;
	ASN1_TYPE *t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;

	return t != NULL ? ASN1_tag2str(t->type) : "none";
}

static int spki_hash_of_key(const char *fixture, const char *file, unsigned char out[32])
{
	char path[1024];
	unsigned char *der = NULL;
	EVP_PKEY *k = NULL;
	BIO *b;
	int n, rc = 0;

	fixture_path(path, sizeof(path), fixture, file);
	if ((b = BIO_new_file(path, "r")) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k != NULL && (n = i2d_PUBKEY(k, &der)) > 0)
		rc = EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return rc;
}

static int seen_printable, seen_utf8;

static void test_fixture(const char *name)
{
	unsigned char *der = NULL, *bad = NULL, hash[32];
	char *json = NULL, *subj = NULL, *chal = NULL, *ctype = NULL, *exts = NULL, *key = NULL;
	char *selfsig = NULL, *keyfile = NULL, want[512], err[256], cn[128] = "", ktype[64];
	size_t len, jlen;
	struct csr *c = NULL, *c2 = NULL;
	int bits = 0;

	der = fixture_read(name, "request.csr.der", &len);
	json = (char *)fixture_read(name, "facts.json", &jlen);
	if (!ok(der != NULL && json != NULL, "%s: fixture files readable", name))
		goto out;
	subj = facts_get(json, "csr", "subject");
	chal = facts_get(json, "csr", "challenge_password");
	ctype = facts_get(json, "csr", "challenge_password_type");
	exts = facts_get(json, "csr", "extensions");
	key = facts_get(json, "csr", "key");
	selfsig = facts_get(json, "csr", "self_signature");
	keyfile = facts_get(json, "csr", "key_file");
	if (!ok(subj && chal && ctype && exts && key && selfsig &&
	    sscanf(key, "%63s %d", ktype, &bits) == 2, "%s: facts.json has the csr facts", name))
		goto out;

	c = parse(der, len, err, sizeof(err));
	if (!ok(c != NULL, "%s: parses", name)) {
		printf("#   %s\n", err);
		goto out;
	}
	rfc2253(subj, want, sizeof(want));
	is_str(c->subject, want, "%s: subject (RFC 2253)", name);
	is_str(c->challenge, chal, "%s: challengePassword", name);
	{
		/* facts say "UTF8String", OpenSSL's ASN1_tag2str() says "UTF8STRING" */
		char upper[64];
		size_t i;

		for (i = 0; ctype[i] != '\0' && i < sizeof(upper) - 1; i++)
			upper[i] = (char)toupper((unsigned char)ctype[i]);
		upper[i] = '\0';
		is_str(challenge_type(c->req), upper, "%s: challengePassword was a %s", name, ctype);
		seen_printable |= strcmp(upper, "PRINTABLESTRING") == 0;
		seen_utf8 |= strcmp(upper, "UTF8STRING") == 0;
	}
	is_int(c->key_type, OBJ_txt2nid(ktype), "%s: key type %s", name, ktype);
	is_int(c->key_bits, bits, "%s: key bits", name);
	is_int(c->self_signature_ok, strcmp(selfsig, "ok") == 0, "%s: self-signature %s", name,
	    selfsig);

	is_int(c->san != NULL, strstr(exts, "\"subjectAltName") != NULL, "%s: SAN presence", name);
	if (c->san != NULL) {
		/* every fixture command asked for DNS:<CN>.example.org (facts.json "commands") */
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(c->san, 0);
		const char *p = strstr(want, "CN=");
		int type;
		const ASN1_STRING *dns = gn ? GENERAL_NAME_get0_value(gn, &type) : NULL;
		char got[256] = "";

		if (p != NULL)
			snprintf(cn, sizeof(cn), "%.*s.example.org", (int)strcspn(p + 3, ","), p + 3);
		if (dns != NULL && type == GEN_DNS)
			snprintf(got, sizeof(got), "%.*s", ASN1_STRING_length(dns),
			    (const char *)ASN1_STRING_get0_data(dns));
		is_str(got, cn, "%s: SAN dNSName", name);
	}
	is_int(c->has_key_usage, strstr(exts, "\"keyUsage") != NULL, "%s: keyUsage presence",
	    name);
	if (c->has_key_usage) {
		/* lab/sscep-req.cnf and certmonger both ask for these two */
		is_int(c->key_usage, X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT,
		    "%s: keyUsage digitalSignature, keyEncipherment", name);
	}
	is_int(c->ext_key_usage != NULL, strstr(exts, "\"extKeyUsage") != NULL,
	    "%s: extKeyUsage presence", name);
	if (c->ext_key_usage != NULL) {
		/* certmonger's: TLS Web Client Authentication */
		ok(sk_ASN1_OBJECT_num(c->ext_key_usage) == 1 &&
		    OBJ_obj2nid(sk_ASN1_OBJECT_value(c->ext_key_usage, 0)) == NID_client_auth,
		    "%s: extKeyUsage clientAuth", name);
	}
	if (keyfile != NULL && strcmp(keyfile, "null") != 0 && fixture_exists(name, keyfile)) {
		ok(spki_hash_of_key(name, keyfile, hash) &&
		    memcmp(hash, c->spki_sha256, 32) == 0,
		    "%s: SPKI SHA-256 matches %s", name, keyfile);
	}

	bad = xmalloc(len + 1);
	memcpy(bad, der, len);
	bad[len] = 0;
	ok(parse(bad, len + 1, err, sizeof(err)) == NULL && err[0] != '\0',
	    "%s: trailing byte -> NULL", name);
	ok(parse(bad, len - 1, err, sizeof(err)) == NULL, "%s: truncated -> NULL", name);
	bad[len - 1] ^= 0x01;	/* last byte of the signature */
	c2 = parse(bad, len, err, sizeof(err));
	ok(c2 != NULL && c2->self_signature_ok == 0 && c2->challenge != NULL,
	    "%s: flipped signature byte -> parses, self_signature_ok 0", name);
out:
	csr_free(c);
	csr_free(c2);
	free(bad);
	free(der);
	free(json);
	free(subj);
	free(chal);
	free(ctype);
	free(exts);
	free(key);
	free(selfsig);
	free(keyfile);
}

/* CSRs built here. */
static EVP_PKEY *ec_key;

struct attr {
	ASN1_OBJECT *obj;    /* owned by the caller */
	int type;            /* V_ASN1_* */
	const void *data;
	int len;
	int second_len;      /* > 0: a second value of the same type and data */
};

/* A signed CSR for CN=<cn> with attrs; *len set. */
static unsigned char *make_csr(const char *cn, const struct attr *attrs, int nattrs, size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	unsigned char *der = NULL;
	int i, n;

	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    (name = X509_NAME_new()) == NULL)
		goto out;
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	    -1, -1, 0) != 1 || X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, ec_key) != 1)
		goto out;
	for (i = 0; i < nattrs; i++) {
		X509_ATTRIBUTE *a = X509_ATTRIBUTE_create_by_OBJ(NULL, attrs[i].obj, attrs[i].type,
		    attrs[i].data, attrs[i].len);

		if (a == NULL || (attrs[i].second_len > 0 && X509_ATTRIBUTE_set1_data(a,
		    attrs[i].type, attrs[i].data, attrs[i].second_len) != 1) ||
		    X509_REQ_add1_attr(req, a) != 1) {
			X509_ATTRIBUTE_free(a);
			goto out;
		}
		X509_ATTRIBUTE_free(a);
	}
	if (X509_REQ_sign(req, ec_key, EVP_sha256()) <= 0)
		goto out;
	if ((n = i2d_X509_REQ(req, &der)) <= 0)
		goto out;
	*len = (size_t)n;
out:
	if (der == NULL)
		ERR_print_errors_fp(stdout);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return der;
}

/* DER of a SEQUENCE OF Extension from a config-style list ("subjectAltName=DNS:a"). */
static unsigned char *make_exts(const char *const *specs, int n, int *len)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	int i;

	for (i = 0; exts != NULL && i < n; i++) {
		char name[64];
		const char *eq = strchr(specs[i], '=');
		X509_EXTENSION *e;

		snprintf(name, sizeof(name), "%.*s", (int)(eq - specs[i]), specs[i]);
		e = X509V3_EXT_conf_nid(NULL, NULL, OBJ_txt2nid(name), eq + 1);
		if (e == NULL || sk_X509_EXTENSION_push(exts, e) <= 0) {
			X509_EXTENSION_free(e);
			goto out;
		}
	}
	*len = i2d_X509_EXTENSIONS(exts, &der);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return der;
}

static struct csr *csr_with(const struct attr *attrs, int nattrs, char *err, size_t errlen)
{
	size_t len = 0;
	unsigned char *der = make_csr("built", attrs, nattrs, &len);
	struct csr *c;

	err[0] = '\0';
	if (der == NULL) {
		snprintf(err, errlen, "(CSR not built)");
		return NULL;
	}
	c = csr_parse(der, len, err, errlen);
	OPENSSL_free(der);
	return c;
}

/*
 * OpenSSL refuses to build a CSR with a duplicated attribute, so the second
 * one is built under a stand-in OID of the same length and renamed in the DER.
 */
static struct csr *csr_renamed(const struct attr *attrs, int nattrs, const unsigned char *from,
    const unsigned char *to, size_t n, char *err, size_t errlen)
{
	size_t len = 0, i;
	unsigned char *der = make_csr("built", attrs, nattrs, &len);
	struct csr *c = NULL;
	int swapped = 0;

	err[0] = '\0';
	for (i = 0; der != NULL && i + n <= len; i++) {
		if (memcmp(der + i, from, n) == 0) {
			memcpy(der + i, to, n);
			swapped++;
		}
	}
	if (swapped != 1)
		snprintf(err, errlen, "(stand-in OID found %d times)", swapped);
	else
		c = csr_parse(der, len, err, errlen);
	OPENSSL_free(der);
	return c;
}

#define EXPECT_NULL(attrs, n, what, needle) do { \
	struct csr *c_ = csr_with((attrs), (n), err, sizeof(err)); \
	ok(c_ == NULL && strstr(err, (needle)) != NULL, "%s -> NULL (%s)", (what), err); \
	csr_free(c_); \
} while (0)

static void test_built(void)
{
	/* "pässwörd€" as UTF-16BE, and the UTF-8 csr_parse must return */
	static const unsigned char bmp[] = { 0, 'p', 0, 0xe4, 0, 's', 0, 's', 0, 'w', 0, 0xf6,
		0, 'r', 0, 'd', 0x20, 0xac };
	static const char bmp_utf8[] = "p\xc3\xa4ssw\xc3\xb6rd\xe2\x82\xac";
	static const unsigned char bad_ku[] = { 0x02, 0x01, 0x05 };
	static const char *const san_a[] = { "subjectAltName=DNS:a.example.org" };
	static const char *const san_b[] = { "subjectAltName=DNS:b.example.org" };
	static const char *const san_twice[] = { "subjectAltName=DNS:a.example.org",
		"subjectAltName=DNS:b.example.org" };
	static const char *const many[] = { "keyUsage=critical,digitalSignature,decipherOnly",
		"extendedKeyUsage=serverAuth,clientAuth", "basicConstraints=CA:FALSE",
		"subjectAltName=DNS:a.example.org,IP:192.0.2.1" };
	ASN1_OBJECT *cp = OBJ_nid2obj(NID_pkcs9_challengePassword);
	ASN1_OBJECT *er = OBJ_nid2obj(NID_ext_req);
	ASN1_OBJECT *ms = OBJ_nid2obj(NID_ms_ext_req);
	ASN1_OBJECT *vs = OBJ_txt2obj("2.16.840.1.113733.1.9.8", 1);
	/* stand-ins of the same length: unstructuredName, smimeCapabilities */
	ASN1_OBJECT *un = OBJ_nid2obj(NID_pkcs9_unstructuredName);
	ASN1_OBJECT *sc = OBJ_nid2obj(NID_SMIMECapabilities);
	static const unsigned char oid_cp[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x07 };
	static const unsigned char oid_un[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x02 };
	static const unsigned char oid_er[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x0e };
	static const unsigned char oid_sc[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x0f };
	unsigned char *ea = NULL, *eb = NULL, *e2 = NULL, *em = NULL, *ebad = NULL;
	int la = 0, lb = 0, l2 = 0, lm = 0, lbad = 0;
	X509_EXTENSION *kuext = NULL;
	STACK_OF(X509_EXTENSION) *badexts = NULL;
	ASN1_OCTET_STRING *kuos = NULL;
	struct attr at[3];
	struct csr *c;
	char err[256];

	ec_key = EVP_EC_gen("P-256");
	ea = make_exts(san_a, 1, &la);
	eb = make_exts(san_b, 1, &lb);
	e2 = make_exts(san_twice, 2, &l2);
	em = make_exts(many, 4, &lm);
	/* a keyUsage whose value is an INTEGER, not a BIT STRING */
	if ((kuos = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(kuos, bad_ku, sizeof(bad_ku)) == 1 &&
	    (kuext = X509_EXTENSION_create_by_NID(NULL, NID_key_usage, 1, kuos)) != NULL &&
	    (badexts = sk_X509_EXTENSION_new_null()) != NULL &&
	    sk_X509_EXTENSION_push(badexts, kuext) > 0) {
		kuext = NULL;
		lbad = i2d_X509_EXTENSIONS(badexts, &ebad);
	}
	if (!ok(ec_key != NULL && vs != NULL && ea && eb && e2 && em && ebad,
	    "test key and extension lists built"))
		goto out;

	memset(at, 0, sizeof(at));
	at[0] = (struct attr){ cp, V_ASN1_BMPSTRING, bmp, sizeof(bmp), 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && c->challenge != NULL && strcmp(c->challenge, bmp_utf8) == 0 &&
	    c->self_signature_ok && c->key_type == EVP_PKEY_EC && c->key_bits == 256 &&
	    strcmp(c->subject, "CN=built") == 0 && !c->has_key_usage && c->san == NULL,
	    "BMPString challengePassword -> UTF-8 \"%s\" (%s)", bmp_utf8, err);
	csr_free(c);

	at[0] = (struct attr){ cp, V_ASN1_IA5STRING, "fixture-secret", 14, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && strcmp(c->challenge, "fixture-secret") == 0, "IA5String challengePassword");
	csr_free(c);

	at[0] = (struct attr){ cp, V_ASN1_T61STRING, "caf\xe9", 4, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && strcmp(c->challenge, "caf\xc3\xa9") == 0,
	    "T61String challengePassword (Latin-1 byte) -> UTF-8");
	csr_free(c);

	c = csr_with(NULL, 0, err, sizeof(err));
	ok(c != NULL && c->challenge == NULL && c->ext_key_usage == NULL,
	    "no attributes: challenge NULL");
	csr_free(c);

	at[0] = (struct attr){ cp, V_ASN1_PRINTABLESTRING, "one", 3, 0 };
	at[1] = (struct attr){ un, V_ASN1_PRINTABLESTRING, "two", 3, 0 };
	c = csr_renamed(at, 2, oid_un, oid_cp, sizeof(oid_cp), err, sizeof(err));
	ok(c == NULL && strstr(err, "challengePassword present more than once") != NULL,
	    "two challengePassword attributes -> NULL (%s)", err);
	csr_free(c);
	at[0] = (struct attr){ cp, V_ASN1_PRINTABLESTRING, "one", 3, 3 };
	EXPECT_NULL(at, 1, "challengePassword with two values", "exactly one value");
	at[0] = (struct attr){ cp, V_ASN1_OCTET_STRING, "one", 3, 0 };
	EXPECT_NULL(at, 1, "challengePassword as OCTET STRING", "not a DirectoryString");
	at[0] = (struct attr){ cp, V_ASN1_UNIVERSALSTRING, "\0\0\0a\0\0\0b", 8, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && strcmp(c->challenge, "ab") == 0, "UniversalString challengePassword");
	csr_free(c);
	at[0] = (struct attr){ cp, V_ASN1_UNIVERSALSTRING, "\0\x11\0\0", 4, 0 };
	EXPECT_NULL(at, 1, "UniversalString challengePassword beyond U+10FFFF", "not valid");
	at[0] = (struct attr){ cp, V_ASN1_UTF8STRING, "\xc3(", 2, 0 };
	EXPECT_NULL(at, 1, "invalid UTF-8 challengePassword", "not valid");
	at[0] = (struct attr){ cp, V_ASN1_PRINTABLESTRING, "a\0b", 3, 0 };
	EXPECT_NULL(at, 1, "challengePassword with a NUL", "NUL");

	at[0] = (struct attr){ vs, V_ASN1_SEQUENCE, ea, la, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && c->san != NULL && sk_GENERAL_NAME_num(c->san) == 1,
	    "VeriSign extensionRequest (2.16.840.1.113733.1.9.8) read (%s)", err);
	csr_free(c);

	at[0] = (struct attr){ ms, V_ASN1_SEQUENCE, ea, la, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && c->san != NULL, "Microsoft extensionRequest (1.3.6.1.4.1.311.2.1.14) read");
	csr_free(c);

	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, ea, la, 0 };
	at[1] = (struct attr){ vs, V_ASN1_SEQUENCE, ea, la, 0 };
	c = csr_with(at, 2, err, sizeof(err));
	ok(c != NULL && c->san != NULL && sk_GENERAL_NAME_num(c->san) == 1,
	    "same SAN in PKCS#9 and VeriSign extensionRequest: accepted once (%s)", err);
	csr_free(c);

	at[1] = (struct attr){ vs, V_ASN1_SEQUENCE, eb, lb, 0 };
	EXPECT_NULL(at, 2, "different SANs in PKCS#9 and VeriSign extensionRequest",
	    "different values");
	at[1] = (struct attr){ sc, V_ASN1_SEQUENCE, ea, la, 0 };
	c = csr_renamed(at, 2, oid_sc, oid_er, sizeof(oid_er), err, sizeof(err));
	ok(c == NULL && strstr(err, "extensionRequest present more than once") != NULL,
	    "two PKCS#9 extensionRequest attributes -> NULL (%s)", err);
	csr_free(c);
	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, e2, l2, 0 };
	EXPECT_NULL(at, 1, "subjectAltName twice, different values", "different values");
	at[0] = (struct attr){ er, V_ASN1_INTEGER, "\x05", 1, 0 };
	EXPECT_NULL(at, 1, "extensionRequest as INTEGER", "not a SEQUENCE OF Extension");
	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, "\x30\x03\x02\x01\x05", 5, 0 };
	EXPECT_NULL(at, 1, "extensionRequest holding an INTEGER", "not a SEQUENCE OF Extension");
	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, ea, la, la };
	EXPECT_NULL(at, 1, "extensionRequest with two values", "exactly one value");
	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, ebad, lbad, 0 };
	EXPECT_NULL(at, 1, "keyUsage that is not a BIT STRING", "keyUsage");

	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, "\x30\x00", 2, 0 };
	c = csr_with(at, 1, err, sizeof(err));
	ok(c != NULL && !c->has_key_usage && c->san == NULL && c->ext_key_usage == NULL,
	    "empty extensionRequest accepted");
	csr_free(c);

	at[0] = (struct attr){ er, V_ASN1_SEQUENCE, em, lm, 0 };
	at[1] = (struct attr){ cp, V_ASN1_UTF8STRING, "s\xc3\xa9same", 7, 0 };
	c = csr_with(at, 2, err, sizeof(err));
	ok(c != NULL && c->has_key_usage &&
	    c->key_usage == (X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_DECIPHER_ONLY),
	    "keyUsage digitalSignature+decipherOnly as X509v3_KU_* bits (%s)", err);
	ok(c != NULL && c->ext_key_usage != NULL && sk_ASN1_OBJECT_num(c->ext_key_usage) == 2 &&
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(c->ext_key_usage, 0)) == NID_server_auth &&
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(c->ext_key_usage, 1)) == NID_client_auth,
	    "extKeyUsage serverAuth, clientAuth");
	ok(c != NULL && c->san != NULL && sk_GENERAL_NAME_num(c->san) == 2 &&
	    sk_GENERAL_NAME_value(c->san, 1)->type == GEN_IPADD, "SAN with DNS and IP");
	ok(c != NULL && c->challenge != NULL && strcmp(c->challenge, "s\xc3\xa9same") == 0,
	    "UTF8String challengePassword next to extensionRequest");
	csr_free(c);

	{
		size_t len = 0;
		unsigned char *der = make_csr("Z\xc3\xbcrich, \"quoted\"", NULL, 0, &len);

		c = der != NULL ? parse(der, len, err, sizeof(err)) : NULL;
		ok(c != NULL && strcmp(c->subject, "CN=Z\xc3\xbcrich\\, \\\"quoted\\\"") == 0,
		    "subject RFC 2253-escaped, UTF-8 kept: %s", c ? c->subject : err);
		csr_free(c);
		/* a broken signature: flip a byte in the middle of the ECDSA signature */
		if (der != NULL) {
			der[len - 10] ^= 0x01;
			c = parse(der, len, err, sizeof(err));
			ok(c != NULL && c->self_signature_ok == 0, "broken ECDSA signature -> "
			    "self_signature_ok 0");
			csr_free(c);
		}
		OPENSSL_free(der);
	}

	ok(parse((const unsigned char *)"", 0, err, sizeof(err)) == NULL, "empty input -> NULL");
	ok(parse((const unsigned char *)"\x30\x00", 2, err, sizeof(err)) == NULL &&
	    strstr(err, "CSR") != NULL, "empty SEQUENCE -> NULL: %s", err);
	{
		size_t len;
		unsigned char *pkimsg = fixture_read("strongswan-aes-sha256", "request.der", &len);

		ok(pkimsg != NULL && parse(pkimsg, len, err, sizeof(err)) == NULL,
		    "a pkiMessage -> NULL");
		free(pkimsg);
	}
out:
	OPENSSL_free(ea);
	OPENSSL_free(eb);
	OPENSSL_free(e2);
	OPENSSL_free(em);
	OPENSSL_free(ebad);
	X509_EXTENSION_free(kuext);
	sk_X509_EXTENSION_pop_free(badexts, X509_EXTENSION_free);
	ASN1_OCTET_STRING_free(kuos);
	ASN1_OBJECT_free(vs);
	EVP_PKEY_free(ec_key);
}

int main(void)
{
	char names[FIXTURE_MAX][FIXTURE_NAME];
	int i, n;

	n = fixture_list(names, FIXTURE_MAX);
	ok(n >= 20, "fixture corpus found in %s (%d fixtures)", fixture_dir(), n);
	for (i = 0; i < n; i++)
		test_fixture(names[i]);
	ok(seen_printable && seen_utf8,
	    "fixtures covered PrintableString and UTF8String challengePasswords");
	test_built();
	return done_testing();
}
