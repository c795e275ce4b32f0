/* SPDX-License-Identifier: ISC */
/*
 * test_envelope.c: envelope_inspect over the pkcsPKIEnvelope of every client
 * fixture (cipher and recipients from facts.json), over envelopes built here
 * (RSAES-OAEP, subjectKeyIdentifier recipient, a KEK recipient next to a
 * KTRI, other ciphers, BER streaming) and over damaged or wrong inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "tap.h"
#include "fixture.h"
#include "envelope.h"
#include "util.h"

/* Content-encryption OIDs as scep.md §1.4.7 lists them. */
static const struct {
	const char *name, *oid;
} ciphers[] = {
	{ "des-cbc", "1.3.14.3.2.7" },
	{ "des-ede3-cbc", "1.2.840.113549.3.7" },
	{ "aes-128-cbc", "2.16.840.1.101.3.4.1.2" },
	{ "aes-192-cbc", "2.16.840.1.101.3.4.1.22" },
	{ "aes-256-cbc", "2.16.840.1.101.3.4.1.42" },
};

static const char *cipher_oid(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (strcmp(ciphers[i].name, name) == 0)
			return ciphers[i].oid;
	return "?";
}

/* The eContent of a pkiMessage, read with the CMS API (not with pkimsg). */
static unsigned char *econtent(const unsigned char *der, size_t len, size_t *outlen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ASN1_OCTET_STRING **os = cms ? CMS_get0_content(cms) : NULL;
	unsigned char *out = NULL;

	if (os != NULL && *os != NULL) {
		*outlen = (size_t)ASN1_STRING_length(*os);
		out = xmalloc(*outlen);
		memcpy(out, ASN1_STRING_get0_data(*os), *outlen);
	}
	CMS_ContentInfo_free(cms);
	return out;
}

static int inspect(const unsigned char *der, size_t len, struct envelope_info *ei, char *err,
    size_t errlen)
{
	memset(ei, 0x55, sizeof(*ei));
	err[0] = '\0';
	return envelope_inspect(der, len, ei, err, errlen);
}

static void test_fixture(const char *name)
{
	unsigned char *der = NULL, *env = NULL, *bad = NULL;
	char *json = NULL, *ce = NULL, *rec = NULL;
	char cname[64] = "", err[256];
	size_t len, envlen = 0, jlen;
	struct envelope_info ei;
	int nrec;

	der = fixture_read(name, "request.der", &len);
	json = (char *)fixture_read(name, "facts.json", &jlen);
	if (!ok(der != NULL && json != NULL, "%s: fixture files readable", name))
		goto out;
	ce = facts_get(json, "envelope", "content_encryption");
	rec = facts_get(json, "envelope", "recipients");
	if (!ok(ce != NULL && rec != NULL && sscanf(ce, "%63s", cname) == 1,
	    "%s: facts.json has the envelope facts", name))
		goto out;
	nrec = count_substr(rec, "\"rid\"");
	env = econtent(der, len, &envlen);
	if (!ok(env != NULL, "%s: envelope extracted with the CMS API", name))
		goto out;

	if (!ok(inspect(env, envlen, &ei, err, sizeof(err)) == 0, "%s: inspects", name)) {
		printf("#   %s\n", err);
		goto out;
	}
	is_int(ei.cipher_nid, OBJ_txt2nid(cname), "%s: cipher %s", name, cname);
	is_str(ei.cipher_oid, cipher_oid(cname), "%s: cipher OID", name);
	is_int(ei.n_recipients, nrec, "%s: %d recipients", name, nrec);
	is_int(ei.n_ktri, nrec, "%s: all recipients are key transport", name);
	is_int(ei.oaep, count_substr(rec, "rsaesOaep") > 0, "%s: OAEP as facts say", name);

	bad = xmalloc(envlen + 1);
	memcpy(bad, env, envlen);
	bad[envlen] = 0;
	ok(inspect(bad, envlen + 1, &ei, err, sizeof(err)) == -1 && err[0] != '\0',
	    "%s: trailing byte -> -1", name);
	ok(inspect(bad, envlen - 1, &ei, err, sizeof(err)) == -1, "%s: truncated -> -1", name);
	ok(inspect(der, len, &ei, err, sizeof(err)) == -1 && strstr(err, "envelopedData"),
	    "%s: the SignedData itself -> -1 (%s)", name, err);
out:
	free(bad);
	free(env);
	free(der);
	free(json);
	free(ce);
	free(rec);
}

static X509 *load_cert(const char *file)
{
	char path[1024];
	X509 *x = NULL;
	BIO *b;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), file);
	if ((b = BIO_new_file(path, "r")) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

struct make {
	const EVP_CIPHER *cipher;
	int oaep, keyid, kek, stream;
};

/* An EnvelopedData of a few bytes to cert, built as m says. */
static unsigned char *make(X509 *cert, const struct make *m, size_t *len)
{
	static unsigned char kek[16] = "0123456789abcdef";
	static unsigned char kekid[4] = "kek1";
	unsigned flags = CMS_PARTIAL | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	CMS_RecipientInfo *ri;
	BIO *in = NULL, *out = NULL;
	unsigned char *der = NULL;
	char *data;
	long n;

	if ((in = BIO_new_mem_buf("a PKCS#10 would be here", -1)) == NULL ||
	    (cms = CMS_encrypt(NULL, NULL, m->cipher, flags)) == NULL)
		goto out;
	ri = CMS_add1_recipient_cert(cms, cert,
	    (m->oaep ? CMS_KEY_PARAM : 0) | (m->keyid ? CMS_USE_KEYID : 0));
	if (ri == NULL)
		goto out;
	if (m->oaep && EVP_PKEY_CTX_set_rsa_padding(CMS_RecipientInfo_get0_pkey_ctx(ri),
	    RSA_PKCS1_OAEP_PADDING) <= 0)
		goto out;
	/* add0: the key and its id are handed over */
	if (m->kek && CMS_add0_recipient_key(cms, NID_undef, OPENSSL_memdup(kek, sizeof(kek)),
	    sizeof(kek),
	    OPENSSL_memdup(kekid, sizeof(kekid)), sizeof(kekid), NULL, NULL, NULL) == NULL)
		goto out;
	if (m->stream) {
		/* BER: indefinite lengths, as jscep and iOS send. */
		if ((out = BIO_new(BIO_s_mem())) == NULL ||
		    i2d_CMS_bio_stream(out, cms, in, flags | CMS_STREAM) != 1)
			goto out;
		n = BIO_get_mem_data(out, &data);
		der = OPENSSL_memdup(data, (size_t)n);
		*len = (size_t)n;
	} else {
		if (CMS_final(cms, in, NULL, flags) != 1 || (n = i2d_CMS_ContentInfo(cms, &der)) <= 0)
			goto out;
		*len = (size_t)n;
	}
out:
	if (der == NULL)
		ERR_print_errors_fp(stdout);
	BIO_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return der;
}

static void test_built(void)
{
	X509 *cert = load_cert("lab/ra-enc.crt");
	struct envelope_info ei;
	struct make m;
	unsigned char *der;
	size_t len = 0;
	char err[256];

	if (!ok(cert != NULL, "lab RA encryption certificate loads"))
		return;

	memset(&m, 0, sizeof(m));
	m.cipher = EVP_aes_128_cbc();
	m.oaep = 1;
	der = make(cert, &m, &len);
	ok(der != NULL && inspect(der, len, &ei, err, sizeof(err)) == 0 && ei.oaep == 1 &&
	    ei.n_ktri == 1 && ei.n_recipients == 1 && ei.cipher_nid == NID_aes_128_cbc,
	    "RSAES-OAEP key transport -> oaep 1");
	OPENSSL_free(der);

	memset(&m, 0, sizeof(m));
	m.cipher = EVP_aes_128_cbc();
	der = make(cert, &m, &len);
	ok(der != NULL && inspect(der, len, &ei, err, sizeof(err)) == 0 && ei.oaep == 0,
	    "PKCS#1 v1.5 key transport -> oaep 0");
	OPENSSL_free(der);

	memset(&m, 0, sizeof(m));
	m.cipher = EVP_aes_192_cbc();
	m.keyid = 1;
	der = make(cert, &m, &len);
	ok(der != NULL && inspect(der, len, &ei, err, sizeof(err)) == 0 && ei.n_ktri == 1 &&
	    ei.cipher_nid == NID_aes_192_cbc && strcmp(ei.cipher_oid, cipher_oid("aes-192-cbc")) == 0,
	    "subjectKeyIdentifier recipient (KTRI v2), AES-192-CBC");
	OPENSSL_free(der);

	memset(&m, 0, sizeof(m));
	m.cipher = EVP_des_ede3_cbc();
	m.kek = 1;
	der = make(cert, &m, &len);
	ok(der != NULL && inspect(der, len, &ei, err, sizeof(err)) == 0 &&
	    ei.n_recipients == 2 && ei.n_ktri == 1 && ei.cipher_nid == NID_des_ede3_cbc,
	    "KEK recipient next to a KTRI: 2 recipients, 1 key transport");
	OPENSSL_free(der);

	memset(&m, 0, sizeof(m));
	m.cipher = EVP_aes_256_cbc();
	m.oaep = 1;
	m.stream = 1;
	der = make(cert, &m, &len);
	ok(der != NULL && len > 2 && der[1] == 0x80, "streamed envelope is BER (indefinite)");
	ok(der != NULL && inspect(der, len, &ei, err, sizeof(err)) == 0 && ei.oaep == 1 &&
	    ei.cipher_nid == NID_aes_256_cbc, "BER envelope with OAEP, AES-256-CBC");
	OPENSSL_free(der);

	X509_free(cert);
}

static void test_garbage(void)
{
	static const unsigned char empty_seq[] = { 0x30, 0x00 };
	static const unsigned char data_ci[] = { 0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x02, 0x04, 0x00 };
	struct envelope_info ei;
	unsigned char *csr;
	size_t len;
	char err[256];

	ok(inspect((const unsigned char *)"", 0, &ei, err, sizeof(err)) == -1,
	    "empty input -> -1");
	ok(inspect(empty_seq, sizeof(empty_seq), &ei, err, sizeof(err)) == -1,
	    "empty SEQUENCE -> -1");
	ok(inspect(data_ci, sizeof(data_ci), &ei, err, sizeof(err)) == -1 &&
	    strstr(err, "envelopedData") != NULL, "ContentInfo(data) -> -1: %s", err);
	csr = fixture_read("sscep-aes128-sha256-post", "request.csr.der", &len);
	ok(csr != NULL && inspect(csr, len, &ei, err, sizeof(err)) == -1, "a PKCS#10 -> -1");
	free(csr);
}

int main(void)
{
	char names[FIXTURE_MAX][FIXTURE_NAME];
	int i, n;

	/* No legacy provider: inspecting a DES-CBC envelope must not need it. */

	n = fixture_list(names, FIXTURE_MAX);
	ok(n >= 20, "fixture corpus found in %s (%d fixtures)", fixture_dir(), n);
	for (i = 0; i < n; i++)
		test_fixture(names[i]);
	test_built();
	test_garbage();
	return done_testing();
}
