/* SPDX-License-Identifier: ISC */
/*
 * test_selftest.c: the client family judges of `scepctl selftest`
 * (selftest.c) on crafted answers: strongSwan 5.9's reading of GetCACaps
 * (SHA-384 needed for AES, DES3 or SHA-384 for SHA-256, an empty line
 * matching everything), Apple's exact case and its SHA keyword demand,
 * jscep's SCEPStandard and its single-DES fallback, certmonger's 1024-byte
 * limit and GET-only transport; GetCACert Content-Type rules (Apple exact,
 * jscep prefix, certmonger case-insensitive), RA selection (Apple without an
 * RA in a ca-ra-cert answer, jscep with an RA not issued by the CA, Windows
 * with an RA lacking the EKU it needs), the CA keyUsage warning, and RA or CA
 * certificates outside their validity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "scep_client.h"
#include "selftest.h"
#include "tap.h"

static int family(const char *name)
{
	int i;

	for (i = 0; i < selftest_families(); i++)
		if (strncmp(selftest_family_name(i), name, strlen(name)) == 0)
			return i;
	return -1;
}

static void caps_as(const char *fam, const char *text, long status, struct selftest_caps_view *cv)
{
	struct scep_client_answer a;

	memset(&a, 0, sizeof(a));
	a.status = status;
	strcpy(a.ctype, "text/plain");
	a.body = (unsigned char *)text;
	a.len = strlen(text);
	selftest_judge_caps(family(fam), &a, cv);
}

static void cacert_as(const char *fam, const unsigned char *der, size_t len, const char *ctype,
    struct selftest_verdict *v)
{
	struct scep_client_answer a;

	memset(&a, 0, sizeof(a));
	a.status = 200;
	snprintf(a.ctype, sizeof(a.ctype), "%s", ctype);
	a.body = (unsigned char *)der;
	a.len = len;
	selftest_judge_cacert(family(fam), &a, v);
}

static X509_EXTENSION *ext(int nid, const char *value)
{
	return X509V3_EXT_conf_nid(NULL, NULL, nid, value);
}

/* A certificate for key, CN=cn, signed by (ikey, issuer) or self-signed. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int ca,
    const char *ku, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_EXTENSION *e;

	if (x == NULL || n == NULL)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	e = ext(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (ku != NULL) {
		e = ext(NID_key_usage, ku);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (eku != NULL) {
		e = ext(NID_ext_key_usage, eku);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) <= 0)
		abort();
	X509_NAME_free(n);
	return x;
}

/* A degenerate certs-only PKCS#7 of the certificates (DER, malloc'd by OpenSSL). */
static unsigned char *degenerate(X509 **certs, int n, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;
	int i, l;

	if (p7 == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1)
		abort();
	for (i = 0; i < n; i++)
		PKCS7_add_certificate(p7, certs[i]);
	if ((l = i2d_PKCS7(p7, &der)) <= 0)
		abort();
	PKCS7_free(p7);
	*len = (size_t)l;
	return der;
}

static unsigned char *cert_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int l = i2d_X509(x, &der);

	if (l <= 0)
		abort();
	*len = (size_t)l;
	return der;
}

static void test_caps(void)
{
	struct selftest_caps_view cv;

	/* strongSwan 5.9.8, as seen with Debian's strongswan-pki */
	caps_as("strongSwan", "AES\r\nSHA-256\r\nPOSTPKIOperation\r\n", 200, &cv);
	is_int(cv.v.level, SELFTEST_REJECT, "strongSwan 5.9: AES SHA-256 POST without SHA-384 is refused");
	ok(strstr(cv.v.why, "sha256 digest algorithm not supported") != NULL &&
	    strstr(cv.v.why, "SHA-384") != NULL, "... with its own message and the SHA-384 advice: %s",
	    cv.v.why);
	caps_as("strongSwan", "AES\r\nDES3\r\nSHA-256\r\n", 200, &cv);
	ok(cv.v.level == SELFTEST_REJECT && strstr(cv.v.why, "AES_CBC encryption algorithm") != NULL,
	    "strongSwan 5.9: AES DES3 SHA-256 is refused for AES: %s", cv.v.why);
	caps_as("strongSwan", "SHA-256\nSHA-384\n", 200, &cv);
	is_int(cv.v.level, SELFTEST_ACCEPT, "strongSwan 5.9: SHA-256 SHA-384 is accepted (%s)", cv.v.why);
	ok(cv.post, "strongSwan 5.9 then POSTs (its POST test is bits 0-2)");
	caps_as("strongSwan", "Renewal\nSHA-1\nSHA-256\nAES\nDES3\nSCEPStandard\nPOSTPKIOperation\n",
	    200, &cv);
	is_int(cv.v.level, SELFTEST_REJECT, "strongSwan 5.9: micromdm scepserver's caps are refused");
	caps_as("strongSwan", "POSTPKIOperation\nSHA-256\nAES\n", 200, &cv);
	is_int(cv.v.level, SELFTEST_REJECT, "strongSwan 5.9: AES SHA-256 POST is refused ...");
	caps_as("strongSwan", "POSTPKIOperation\n\nSHA-256\nAES\n", 200, &cv);
	is_int(cv.v.level, SELFTEST_ACCEPT, "... but an empty line matches every keyword (%s)",
	    cv.v.why);
	caps_as("strongSwan", "", 404, &cv);
	is_int(cv.v.level, SELFTEST_REJECT, "strongSwan 5.9: no GetCACaps stops it");
	caps_as("strongSwan", "POSTPKIOperation\r\nSHA-512\r\nSHA-384\r\nSHA-256\r\nSHA-1\r\nAES\r\n"
	    "DES3\r\nSCEPStandard\r\nRenewal\r\n", 200, &cv);
	is_int(cv.v.level, SELFTEST_ACCEPT, "strongSwan 5.9: scepd's default caps are accepted (%s)",
	    cv.v.why);

	/* Apple */
	caps_as("Apple", "SCEPStandard\r\n", 200, &cv);
	ok(cv.v.level == SELFTEST_REJECT && strstr(cv.v.why, "22006") != NULL,
	    "Apple: SCEPStandard alone has no SHA keyword: 22006 (%s)", cv.v.why);
	caps_as("Apple", "aes\r\nsha-256\r\nPOSTPKIOperation\r\n", 200, &cv);
	ok(cv.v.level == SELFTEST_REJECT && strstr(cv.v.why, "AES, SHA-256") != NULL,
	    "Apple: lower-case keywords are not seen (%s)", cv.v.why);
	caps_as("Apple", "AES\nSHA-512\nSHA-256\nPOSTPKIOperation", 200, &cv);
	ok(cv.v.level == SELFTEST_ACCEPT && cv.cipher_nid == NID_aes_128_cbc &&
	    cv.digest_nid == NID_sha512 && cv.post, "Apple: AES-128, SHA-512, POST");
	caps_as("Apple", "DES3\nSHA-1\n", 200, &cv);
	ok(cv.v.level == SELFTEST_ACCEPT && cv.cipher_nid == NID_des_ede3_cbc &&
	    cv.digest_nid == NID_sha1 && !cv.post, "Apple: 3DES, SHA-1, GET");

	/* jscep */
	caps_as("jscep", "SCEPStandard\n", 200, &cv);
	ok(cv.v.level == SELFTEST_ACCEPT && cv.cipher_nid == NID_aes_128_cbc &&
	    cv.digest_nid == NID_sha256 && cv.post, "jscep: SCEPStandard means AES, SHA-256, POST (%s)",
	    cv.v.why);
	caps_as("jscep", "AES \r\nSHA-256 \r\n", 200, &cv);
	ok(cv.v.level == SELFTEST_REJECT && cv.cipher_nid == NID_des_cbc,
	    "jscep: keywords with trailing spaces are not seen: single DES refused (%s)", cv.v.why);
	caps_as("jscep", "", 404, &cv);
	ok(cv.v.level == SELFTEST_REJECT && cv.digest_nid == NID_md5,
	    "jscep: no GetCACaps means DES and MD5: refused");

	/* certmonger */
	{
		char big[1200];

		memset(big, 'X', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "AES\nSHA-256\n", 12);
		caps_as("certmonger", big, 200, &cv);
		ok(cv.v.level == SELFTEST_REJECT && strstr(cv.v.why, "1024") != NULL,
		    "certmonger: a caps body over 1024 bytes is refused");
	}
	caps_as("certmonger", "aes\nSHA-256\nPOSTPKIOperation\n", 200, &cv);
	ok(cv.v.level == SELFTEST_ACCEPT && cv.cipher_nid == NID_aes_128_cbc && !cv.post,
	    "certmonger: case-insensitive, and GET even when POST is listed");
}

static void test_cacert(void)
{
	EVP_PKEY *cakey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *rakey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *otherkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *ca, *ca_signonly, *ra_sign, *ra_enc, *ra_clientauth, *other, *stranger, *set[4];
	struct selftest_verdict v;
	unsigned char *der;
	size_t len;

	if (cakey == NULL || rakey == NULL || otherkey == NULL)
		abort();
	ca = make_cert(cakey, "Test CA", NULL, NULL, 1,
	    "critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment", NULL);
	ca_signonly = make_cert(cakey, "Test CA", NULL, NULL, 1, "critical,keyCertSign,cRLSign", NULL);
	ra_sign = make_cert(rakey, "RA sign", ca, cakey, 0, "critical,digitalSignature",
	    "1.3.6.1.4.1.311.20.2.1");
	ra_enc = make_cert(rakey, "RA enc", ca, cakey, 0, "critical,keyEncipherment",
	    "1.3.6.1.4.1.311.20.2.1");
	ra_clientauth = make_cert(rakey, "RA ca", ca, cakey, 0,
	    "critical,digitalSignature,keyEncipherment", "clientAuth");
	other = make_cert(otherkey, "Other CA", NULL, NULL, 1, "critical,keyCertSign", NULL);
	stranger = make_cert(rakey, "RA stranger", other, otherkey, 0,
	    "critical,digitalSignature,keyEncipherment", NULL);

	/* one CA certificate */
	der = cert_der(ca, &len);
	cacert_as("Apple", der, len, "application/x-x509-ca-cert", &v);
	is_int(v.level, SELFTEST_ACCEPT, "Apple: one CA certificate, exact type (%s)", v.why);
	cacert_as("Apple", der, len, "application/x-x509-ca-cert; charset=utf-8", &v);
	is_int(v.level, SELFTEST_REJECT, "Apple: a Content-Type with a parameter is refused");
	cacert_as("certmonger", der, len, "Application/X-X509-CA-Cert; charset=utf-8", &v);
	is_int(v.level, SELFTEST_ACCEPT, "certmonger: compared case-insensitively (%s)", v.why);
	cacert_as("jscep", der, len, "", &v);
	is_int(v.level, SELFTEST_REJECT, "jscep: no Content-Type is refused");
	cacert_as("Apple", der, len, "application/x-x509-ca-ra-cert", &v);
	is_int(v.level, SELFTEST_REJECT, "Apple: one certificate labelled ca-ra-cert is refused");
	OPENSSL_free(der);
	der = cert_der(ca_signonly, &len);
	cacert_as("jscep", der, len, "application/x-x509-ca-cert", &v);
	ok(v.level == SELFTEST_WARN && strstr(v.why, "RFC 8894 §2.1.2") != NULL,
	    "a CA without RA whose keyUsage lacks digitalSignature: warned (%s)", v.why);
	OPENSSL_free(der);

	/* RA and CA */
	set[0] = ra_sign, set[1] = ra_enc, set[2] = ca;
	der = degenerate(set, 3, &len);
	for (int f = 0; f < selftest_families(); f++) {
		cacert_as(selftest_family_name(f), der, len, "application/x-x509-ca-ra-cert", &v);
		is_int(v.level, SELFTEST_ACCEPT, "%s: RA sign, RA enc, CA accepted (%s)",
		    selftest_family_name(f), v.why);
	}
	cacert_as("Apple", der, len, "application/x-x509-ca-cert", &v);
	is_int(v.level, SELFTEST_REJECT, "Apple: a PKCS#7 labelled ca-cert is refused");
	OPENSSL_free(der);
	set[0] = ca;
	der = degenerate(set, 1, &len);
	cacert_as("Apple", der, len, "application/x-x509-ca-ra-cert", &v);
	ok(v.level == SELFTEST_REJECT && strstr(v.why, "22003") != NULL,
	    "Apple: a ca-ra-cert answer without an RA certificate: 22003 (%s)", v.why);
	cacert_as("jscep", der, len, "application/x-x509-ca-ra-cert", &v);
	is_int(v.level, SELFTEST_ACCEPT, "jscep: the same answer: the CA does both (%s)", v.why);
	OPENSSL_free(der);
	set[0] = stranger, set[1] = ca;
	der = degenerate(set, 2, &len);
	cacert_as("jscep", der, len, "application/x-x509-ca-ra-cert", &v);
	ok(v.level == SELFTEST_REJECT && strstr(v.why, "RA not issued by CA") != NULL,
	    "jscep: an RA issued by another CA is refused (%s)", v.why);
	OPENSSL_free(der);
	set[0] = ra_clientauth, set[1] = ca;
	der = degenerate(set, 2, &len);
	cacert_as("Windows", der, len, "application/x-x509-ca-ra-cert", &v);
	ok(v.level == SELFTEST_REJECT && strstr(v.why, "0x8010002c") != NULL,
	    "Windows: an RA with only clientAuth in its EKU is refused (%s)", v.why);
	cacert_as("Apple", der, len, "application/x-x509-ca-ra-cert", &v);
	is_int(v.level, SELFTEST_ACCEPT, "Apple: the same combined RA is fine (%s)", v.why);
	OPENSSL_free(der);
	/* an RA certificate out of its validity (NDES: HTTP 500, ndes.md §3.6) */
	X509_gmtime_adj(X509_getm_notBefore(ra_sign), -2 * 86400);
	X509_gmtime_adj(X509_getm_notAfter(ra_sign), -86400);
	if (X509_sign(ra_sign, cakey, EVP_sha256()) <= 0)
		abort();
	set[0] = ra_sign, set[1] = ra_enc, set[2] = ca;
	der = degenerate(set, 3, &len);
	for (int f = 0; f < selftest_families(); f++) {
		cacert_as(selftest_family_name(f), der, len, "application/x-x509-ca-ra-cert", &v);
		ok(v.level == SELFTEST_REJECT && strstr(v.why, "RA signing certificate RA sign expired on") !=
		    NULL, "%s: an expired RA certificate is refused, and named (%s)",
		    selftest_family_name(f), v.why);
	}
	OPENSSL_free(der);
	X509_gmtime_adj(X509_getm_notBefore(ca_signonly), 86400);
	X509_gmtime_adj(X509_getm_notAfter(ca_signonly), 2 * 86400);
	if (X509_sign(ca_signonly, cakey, EVP_sha256()) <= 0)
		abort();
	der = cert_der(ca_signonly, &len);
	cacert_as("jscep", der, len, "application/x-x509-ca-cert", &v);
	ok(v.level == SELFTEST_REJECT && strstr(v.why, "CA certificate Test CA is not valid before")
	    != NULL, "a CA certificate not valid yet is refused, and named (%s)", v.why);
	OPENSSL_free(der);
	cacert_as("certmonger", (const unsigned char *)"garbage", 7, "application/x-x509-ca-cert", &v);
	is_int(v.level, SELFTEST_REJECT, "garbage is refused");

	X509_free(ca);
	X509_free(ca_signonly);
	X509_free(ra_sign);
	X509_free(ra_enc);
	X509_free(ra_clientauth);
	X509_free(other);
	X509_free(stranger);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(rakey);
	EVP_PKEY_free(otherkey);
}

int main(void)
{
	test_caps();
	test_cacert();
	return done_testing();
}
