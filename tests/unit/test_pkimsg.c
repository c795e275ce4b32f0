/* SPDX-License-Identifier: ISC */
/*
 * test_pkimsg.c: pkimsg_parse over every client fixture (values from each
 * facts.json, envelope decrypted with the lab keys and compared with
 * request.csr.der), over damaged copies of them (signature, content, digest and
 * signature OIDs, signer certificate removed, trailing and missing bytes), and
 * over messages built here with the CMS API to break one profile rule each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "tap.h"
#include "fixture.h"
#include "oids.h"
#include "pkimsg.h"
#include "scep_types.h"
#include "util.h"

static struct pkimsg *parse(const unsigned char *der, size_t len, char *err, size_t errlen)
{
	err[0] = '\0';
	return pkimsg_parse(der, len, err, errlen);
}

/* "UTCTime 261122002913Z" (facts.json) as seconds since the epoch. */
static int64_t facts_time(const char *s)
{
	struct tm tm;
	int yy;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "UTCTime %2d%2d%2d%2d%2d%2d", &yy, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year = (yy < 50 ? 2000 + yy : 1900 + yy) - 1900;
	tm.tm_mon--;
	return (int64_t)timegm(&tm);
}

/* The first word of s as an OpenSSL NID ("sha256 (NULL)" -> NID_sha256). */
static int first_word_nid(const char *s)
{
	char word[64];

	if (s == NULL || sscanf(s, "%63s", word) != 1)
		return NID_undef;
	return OBJ_txt2nid(word);
}

static EVP_PKEY *load_key(const char *file)
{
	char path[1024];
	EVP_PKEY *k = NULL;
	BIO *b;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir(), file);
	if ((b = BIO_new_file(path, "r")) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
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

/* Decrypts env with lab key keyfile ("lab/ra-enc.key") and its .crt; 1 if it equals want. */
static int decrypts_to(const unsigned char *env, size_t envlen, const char *keyfile,
    const unsigned char *want, size_t wantlen)
{
	char certfile[256];
	const unsigned char *p = env;
	CMS_ContentInfo *cms = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	BIO *out = NULL;
	char *data = NULL;
	long n;
	int same = 0;

	snprintf(certfile, sizeof(certfile), "%.*s.crt", (int)strlen(keyfile) - 4, keyfile);
	if ((key = load_key(keyfile)) == NULL || (cert = load_cert(certfile)) == NULL)
		goto out;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)envlen)) == NULL)
		goto out;
	if ((out = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) != 1)
		goto out;
	n = BIO_get_mem_data(out, &data);
	same = n >= 0 && (size_t)n == wantlen && memcmp(data, want, wantlen) == 0;
out:
	if (!same)
		ERR_print_errors_fp(stdout);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	X509_free(cert);
	EVP_PKEY_free(key);
	return same;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t len, size_t extra)
{
	unsigned char *q = xmalloc(len + extra);

	memcpy(q, p, len);
	return q;
}

static const unsigned char *find_bytes(const unsigned char *hay, size_t hlen,
    const unsigned char *needle, size_t nlen)
{
	return memmem(hay, hlen, needle, nlen);
}

/* Minimal definite-length DER header reader for the surgery below. */
struct tlv {
	unsigned char tag;
	size_t hlen, clen;
};

static int tlv_read(const unsigned char *p, size_t avail, struct tlv *t)
{
	size_t i, nb;

	if (avail < 2)
		return -1;
	t->tag = p[0];
	if (p[1] < 0x80) {
		t->hlen = 2;
		t->clen = p[1];
	} else {
		nb = p[1] & 0x7f;
		if (nb == 0 || nb > 4 || avail < 2 + nb)
			return -1;
		t->clen = 0;
		for (i = 0; i < nb; i++)
			t->clen = t->clen << 8 | p[2 + i];
		t->hlen = 2 + nb;
	}
	return t->hlen + t->clen <= avail ? 0 : -1;
}

static size_t put_hdr(unsigned char *out, unsigned char tag, size_t len)
{
	size_t n = 0;

	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (unsigned char)len;
	} else if (len < 0x100) {
		out[n++] = 0x81;
		out[n++] = (unsigned char)len;
	} else if (len < 0x10000) {
		out[n++] = 0x82;
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = 0x83;
		out[n++] = (unsigned char)(len >> 16);
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	}
	return n;
}

/*
 * Re-encodes a DER pkiMessage without SignedData.certificates ([0]). Returns
 * a malloc'd buffer, or NULL if the input is not definite-length DER.
 */
static unsigned char *remove_certificates(const unsigned char *der, size_t len, size_t *outlen)
{
	struct tlv ci, oid, a0, sd, e;
	unsigned char *sdc, *out;
	const unsigned char *p;
	size_t n = 0, off, sdlen, a0len, cilen;
	int removed = 0;

	if (tlv_read(der, len, &ci) != 0 || ci.tag != 0x30 || ci.hlen + ci.clen != len)
		return NULL;
	p = der + ci.hlen;
	if (tlv_read(p, ci.clen, &oid) != 0 || oid.tag != 0x06)
		return NULL;
	p += oid.hlen + oid.clen;
	if (tlv_read(p, ci.clen - oid.hlen - oid.clen, &a0) != 0 || a0.tag != 0xa0)
		return NULL;
	p += a0.hlen;
	if (tlv_read(p, a0.clen, &sd) != 0 || sd.tag != 0x30)
		return NULL;
	p += sd.hlen;
	sdc = xmalloc(sd.clen);
	for (off = 0; off < sd.clen; off += e.hlen + e.clen) {
		if (tlv_read(p + off, sd.clen - off, &e) != 0) {
			free(sdc);
			return NULL;
		}
		if (e.tag == 0xa0) {
			removed = 1;
			continue;
		}
		memcpy(sdc + n, p + off, e.hlen + e.clen);
		n += e.hlen + e.clen;
	}
	if (!removed) {
		free(sdc);
		return NULL;
	}
	sdlen = 5 + n;
	a0len = 5 + sdlen;
	cilen = 5 + oid.hlen + oid.clen + a0len;
	out = xmalloc(cilen);
	{
		unsigned char hs[5], ha[5], hc[5];
		size_t ls = put_hdr(hs, 0x30, n);
		size_t la = put_hdr(ha, 0xa0, ls + n);
		size_t lc = put_hdr(hc, 0x30, oid.hlen + oid.clen + la + ls + n);
		size_t o = 0;

		memcpy(out + o, hc, lc);
		o += lc;
		memcpy(out + o, der + ci.hlen, oid.hlen + oid.clen);
		o += oid.hlen + oid.clen;
		memcpy(out + o, ha, la);
		o += la;
		memcpy(out + o, hs, ls);
		o += ls;
		memcpy(out + o, sdc, n);
		o += n;
		*outlen = o;
	}
	free(sdc);
	return out;
}

/* Replaces every (or only the last) occurrence of from by to (same length). */
static int replace_bytes(unsigned char *buf, size_t len, const unsigned char *from,
    const unsigned char *to, size_t n, int last_only)
{
	size_t i;
	int count = 0;
	unsigned char *last = NULL;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, from, n) != 0)
			continue;
		last = buf + i;
		if (!last_only) {
			memcpy(buf + i, to, n);
			count++;
		}
	}
	if (last_only && last != NULL) {
		memcpy(last, to, n);
		count = 1;
	}
	return count;
}

static void test_fixture(const char *name)
{
	unsigned char *der = NULL, *csr = NULL, *bad = NULL;
	char *json = NULL, *mt = NULL, *tid = NULL, *nl = NULL, *dig = NULL, *sig = NULL;
	char *st = NULL, *enc = NULL, *keys = NULL;
	size_t len = 0, csrlen = 0, badlen;
	struct pkimsg *m = NULL, *m2 = NULL;
	CMS_ContentInfo *cms = NULL;
	char err[256];
	const char *k;
	int nkeys = 0;

	der = fixture_read(name, "request.der", &len);
	csr = fixture_read(name, "request.csr.der", &csrlen);
	json = (char *)fixture_read(name, "facts.json", &badlen);
	if (!ok(der != NULL && csr != NULL && json != NULL, "%s: fixture files readable", name))
		goto out;
	mt = facts_get(json, "pki_message", "message_type");
	tid = facts_get(json, "pki_message", "transaction_id");
	nl = facts_get(json, "pki_message", "sender_nonce_length");
	dig = facts_get(json, "pki_message", "digest_algorithm");
	sig = facts_get(json, "pki_message", "signature_algorithm");
	st = facts_get(json, "pki_message", "signing_time");
	enc = facts_get(json, "pki_message", "encoding");
	keys = facts_get(json, "envelope", "decrypts_with");
	if (!ok(mt && tid && nl && dig && sig && st && enc && keys, "%s: facts.json has the "
	    "pki_message and envelope facts", name))
		goto out;

	m = parse(der, len, err, sizeof(err));
	if (!ok(m != NULL, "%s: parses", name)) {
		printf("#   %s\n", err);
		goto out;
	}
	is_int(m->message_type, atoi(mt), "%s: messageType", name);
	is_str(m->transaction_id, tid, "%s: transactionID", name);
	is_int(m->sender_nonce_len, atoi(nl), "%s: senderNonce length", name);
	is_int(m->digest_nid, first_word_nid(dig), "%s: digest algorithm %s", name, dig);
	is_int(m->signature_nid, first_word_nid(sig), "%s: signature algorithm %s", name, sig);
	is_int(m->failinfo, SCEP_FAIL_NONE, "%s: signature and messageDigest verify (%s)", name,
	    m->reason);
	is_str(m->reason, "", "%s: no reason on success", name);
	ok(m->signer != NULL, "%s: signer certificate found", name);
	ok(m->has_signing_time && m->signing_time == facts_time(st), "%s: signingTime %s",
	    name, st);
	ok(m->envelope != NULL && m->envelope_len > 0, "%s: envelope present", name);

	/* Every lab key the fixture names opens the envelope to the CSR. */
	for (k = keys; m->envelope != NULL && (k = strchr(k, '"')) != NULL; k++) {
		char keyfile[128];
		const char *e = strchr(k + 1, '"');

		if (e == NULL || (size_t)(e - k - 1) >= sizeof(keyfile))
			break;
		snprintf(keyfile, sizeof(keyfile), "%.*s", (int)(e - k - 1), k + 1);
		ok(decrypts_to(m->envelope, m->envelope_len, keyfile, csr, csrlen),
		    "%s: envelope decrypts with %s to request.csr.der", name, keyfile);
		nkeys++;
		k = e;
	}
	ok(nkeys >= 1, "%s: at least one decryption key listed", name);

	/* A flipped signature byte. */
	{
		const unsigned char *p = der;
		ASN1_OCTET_STRING *s;
		const unsigned char *at;

		cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
		s = cms ? CMS_SignerInfo_get0_signature(
		    sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0)) : NULL;
		at = s ? find_bytes(der, len, ASN1_STRING_get0_data(s),
		    (size_t)ASN1_STRING_length(s)) : NULL;
		if (ok(at != NULL, "%s: signature bytes located", name)) {
			bad = dup_bytes(der, len, 0);
			bad[(at - der) + ASN1_STRING_length(s) / 2] ^= 0x01;
			m2 = parse(bad, len, err, sizeof(err));
			ok(m2 != NULL && m2->failinfo == SCEP_FAIL_BADMESSAGECHECK &&
			    m2->signer != NULL, "%s: flipped signature byte -> badMessageCheck", name);
			if (m2 != NULL)
				printf("#   reason: %s\n", m2->reason);
			pkimsg_free(m2);
			m2 = NULL;
			free(bad);
			bad = NULL;
		}
	}

	/* A flipped byte of the signed content (the envelope). */
	{
		size_t n = m->envelope_len < 64 ? m->envelope_len : 64;
		const unsigned char *at = find_bytes(der, len, m->envelope, n);

		if (ok(at != NULL, "%s: envelope bytes located", name)) {
			bad = dup_bytes(der, len, 0);
			bad[(at - der) + n - 1] ^= 0x80;
			m2 = parse(bad, len, err, sizeof(err));
			ok(m2 != NULL && m2->failinfo == SCEP_FAIL_BADMESSAGECHECK,
			    "%s: changed content -> badMessageCheck (messageDigest)", name);
			pkimsg_free(m2);
			m2 = NULL;
			free(bad);
			bad = NULL;
		}
	}

	/* Trailing bytes and truncation. */
	bad = dup_bytes(der, len, 2);
	bad[len] = 0;
	bad[len + 1] = 0;
	ok(parse(bad, len + 1, err, sizeof(err)) == NULL && err[0] != '\0',
	    "%s: one trailing byte -> NULL", name);
	ok(parse(bad, len + 2, err, sizeof(err)) == NULL, "%s: trailing 00 00 -> NULL", name);
	ok(parse(bad, len - 1, err, sizeof(err)) == NULL, "%s: truncated by one -> NULL", name);
	ok(parse(bad, len / 2, err, sizeof(err)) == NULL, "%s: half -> NULL", name);
	free(bad);
	bad = NULL;

	/*
	 * No certificate matching the sid: the certificate's serial number
	 * changed (every fixture), and SignedData.certificates removed by
	 * re-encoding (the definite-length fixtures; the surgery here cannot
	 * re-encode jscep's indefinite lengths).
	 */
	{
		const unsigned char *at = NULL;
		const ASN1_INTEGER *serial = m->signer != NULL ?
		    X509_get0_serialNumber(m->signer) : NULL;

		if (serial != NULL)
			at = find_bytes(der, len, ASN1_STRING_get0_data(serial),
			    (size_t)ASN1_STRING_length(serial));
		if (ok(at != NULL, "%s: signer serial number located", name)) {
			bad = dup_bytes(der, len, 0);
			bad[(at - der) + ASN1_STRING_length(serial) - 1] ^= 0x01;
			m2 = parse(bad, len, err, sizeof(err));
			ok(m2 != NULL && m2->failinfo == SCEP_FAIL_BADMESSAGECHECK &&
			    m2->signer == NULL && strstr(m2->reason, "sid") != NULL,
			    "%s: certificate serial differs from the sid -> badMessageCheck", name);
			pkimsg_free(m2);
			m2 = NULL;
			free(bad);
			bad = NULL;
		}
	}
	if (strncmp(enc, "DER", 3) == 0) {
		bad = remove_certificates(der, len, &badlen);
		if (ok(bad != NULL, "%s: certificates removed by re-encoding", name)) {
			m2 = parse(bad, badlen, err, sizeof(err));
			ok(m2 != NULL && m2->failinfo == SCEP_FAIL_BADMESSAGECHECK &&
			    m2->signer == NULL && strstr(m2->reason, "sid") != NULL,
			    "%s: no signer certificate -> badMessageCheck", name);
			if (m2 != NULL)
				is_str(m2->transaction_id, tid, "%s: transactionID still read", name);
			pkimsg_free(m2);
			m2 = NULL;
		}
		free(bad);
		bad = NULL;
	}
out:
	CMS_ContentInfo_free(cms);
	pkimsg_free(m);
	free(der);
	free(csr);
	free(json);
	free(mt);
	free(tid);
	free(nl);
	free(dig);
	free(sig);
	free(st);
	free(enc);
	free(keys);
}

/* Unknown digest / signature OIDs, made by rewriting the last byte of an OID. */
static void test_unknown_algorithms(void)
{
	static const unsigned char sha256[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x02, 0x01 };
	static const unsigned char sha256x[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
		0x04, 0x02, 0x7f };
	static const unsigned char rsa256[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x0b };
	static const unsigned char rsa256x[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x7f };
	unsigned char *der, *bad;
	struct pkimsg *m;
	size_t len;
	char err[256];

	der = fixture_read("strongswan-aes-sha256", "request.der", &len);
	if (!ok(der != NULL, "strongswan-aes-sha256 readable"))
		return;
	bad = dup_bytes(der, len, 0);
	ok(replace_bytes(bad, len, sha256, sha256x, sizeof(sha256), 0) >= 2,
	    "sha256 OIDs rewritten to 2.16.840.1.101.3.4.2.127");
	m = parse(bad, len, err, sizeof(err));
	ok(m != NULL && m->failinfo == SCEP_FAIL_BADALG && m->digest_nid == NID_undef,
	    "unknown digest algorithm -> badAlg");
	if (m != NULL)
		printf("#   reason: %s\n", m->reason);
	pkimsg_free(m);
	memcpy(bad, der, len);
	ok(replace_bytes(bad, len, rsa256, rsa256x, sizeof(rsa256), 1) == 1,
	    "SignerInfo sha256WithRSAEncryption rewritten to 1.2.840.113549.1.1.127");
	m = parse(bad, len, err, sizeof(err));
	ok(m != NULL && m->failinfo == SCEP_FAIL_BADALG && m->signature_nid == NID_undef &&
	    m->digest_nid == NID_sha256, "unknown signature algorithm -> badAlg");
	pkimsg_free(m);
	free(bad);
	free(der);
}

static void test_not_cms(void)
{
	unsigned char *csr;
	size_t len;
	char err[256];
	struct pkimsg *m;

	ok(parse((const unsigned char *)"", 0, err, sizeof(err)) == NULL, "empty input -> NULL");
	ok(parse((const unsigned char *)"hello, world", 12, err, sizeof(err)) == NULL &&
	    strstr(err, "pkiMessage") != NULL, "text -> NULL with a reason (%s)", err);
	csr = fixture_read("strongswan-aes-sha256", "request.csr.der", &len);
	ok(csr != NULL && parse(csr, len, err, sizeof(err)) == NULL, "a PKCS#10 -> NULL");
	free(csr);
	csr = fixture_read(NULL, "lab/getcacert.der", &len);
	m = csr != NULL ? parse(csr, len, err, sizeof(err)) : NULL;
	ok(csr != NULL && m == NULL && strstr(err, "SignerInfo") != NULL,
	    "certs-only SignedData (GetCACert) -> NULL: %s", err);
	pkimsg_free(m);
	free(csr);
	/* The envelope of a fixture is a ContentInfo, but not signedData. */
	csr = fixture_read("strongswan-aes-sha256", "request.der", &len);
	m = csr != NULL ? parse(csr, len, err, sizeof(err)) : NULL;
	if (m != NULL) {
		struct pkimsg *m2 = parse(m->envelope, m->envelope_len, err, sizeof(err));

		ok(m2 == NULL && strstr(err, "signedData") != NULL,
		    "EnvelopedData -> NULL: %s", err);
		pkimsg_free(m2);
	} else {
		ok(0, "strongswan-aes-sha256 parses");
	}
	pkimsg_free(m);
	free(csr);
}

/* Messages built here: one profile rule broken at a time. */
struct build {
	const char *msgtype;            /* NULL: omitted */
	int msgtype_type;
	const char *tid;                /* NULL: omitted */
	int tid_type;
	int tid_twice;                  /* two transactionID attributes */
	int tid_two_values;             /* one attribute, two values */
	int nonce_len;                  /* -1: omitted */
	int nonce_type;
	int keyid, two_signers, noattr, detached, econtent_nid;
	ASN1_TIME *signing_time;        /* NULL: OpenSSL adds the current time */
	/* CertRep attributes; NULL / 0: omitted */
	const char *status;
	int status_type;
	int status_twice;
	const char *rep_failinfo;
	const char *failtext;
	int failtext_type;
	int rnonce_len;
};

static X509 *b_cert;
static EVP_PKEY *b_key;
static const char content[] = "not really an envelope, but signed content all the same";

static int add_str(CMS_SignerInfo *si, int nid, int type, const char *s, int len)
{
	return CMS_signed_add1_attr_by_NID(si, nid, type, s, len < 0 ? (int)strlen(s) : len);
}

static unsigned char *build(const struct build *b, size_t *len)
{
	const struct scep_nids *nids = oids_nids();
	unsigned char nonce[100], *der = NULL;
	unsigned flags = CMS_PARTIAL | CMS_BINARY | (b->detached ? CMS_DETACHED : 0);
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	int i, n;

	memset(nonce, 0x5a, sizeof(nonce));
	if ((in = BIO_new_mem_buf(content, (int)strlen(content))) == NULL ||
	    (cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL)
		goto out;
	if (b->econtent_nid != 0 && CMS_set1_eContentType(cms, OBJ_nid2obj(b->econtent_nid)) != 1)
		goto out;
	for (i = 0; i < (b->two_signers ? 2 : 1); i++) {
		CMS_SignerInfo *si = CMS_add1_signer(cms, b_cert, b_key, EVP_sha256(),
		    CMS_NOSMIMECAP | (b->keyid ? CMS_USE_KEYID : 0) | (b->noattr ? CMS_NOATTR : 0) |
		    (i > 0 ? CMS_NOCERTS : 0));

		if (si == NULL)
			goto out;
		if (b->noattr)
			continue;
		if (b->msgtype != NULL &&
		    add_str(si, nids->message_type, b->msgtype_type, b->msgtype, -1) != 1)
			goto out;
		if (b->tid != NULL && !b->tid_two_values) {
			if (add_str(si, nids->transaction_id, b->tid_type, b->tid, -1) != 1)
				goto out;
			if (b->tid_twice &&
			    add_str(si, nids->transaction_id, b->tid_type, b->tid, -1) != 1)
				goto out;
		}
		if (b->tid_two_values) {
			X509_ATTRIBUTE *a = X509_ATTRIBUTE_create_by_NID(NULL, nids->transaction_id,
			    V_ASN1_PRINTABLESTRING, "one", 3);

			if (a == NULL || X509_ATTRIBUTE_set1_data(a, V_ASN1_PRINTABLESTRING,
			    "two", 3) != 1 || CMS_signed_add1_attr(si, a) != 1) {
				X509_ATTRIBUTE_free(a);
				goto out;
			}
			X509_ATTRIBUTE_free(a);
		}
		if (b->nonce_len >= 0 && add_str(si, nids->sender_nonce, b->nonce_type,
		    (const char *)nonce, b->nonce_len) != 1)
			goto out;
		if (b->status != NULL && (add_str(si, nids->pki_status, b->status_type,
		    b->status, -1) != 1 || (b->status_twice && add_str(si, nids->pki_status,
		    b->status_type, b->status, -1) != 1)))
			goto out;
		if (b->rep_failinfo != NULL && add_str(si, nids->fail_info, V_ASN1_PRINTABLESTRING,
		    b->rep_failinfo, -1) != 1)
			goto out;
		if (b->failtext != NULL && add_str(si, nids->fail_info_text, b->failtext_type,
		    b->failtext, -1) != 1)
			goto out;
		if (b->rnonce_len > 0 && add_str(si, nids->recipient_nonce, V_ASN1_OCTET_STRING,
		    (const char *)nonce, b->rnonce_len) != 1)
			goto out;
		if (b->signing_time != NULL && CMS_signed_add1_attr_by_NID(si,
		    NID_pkcs9_signingTime, b->signing_time->type, b->signing_time, -1) != 1)
			goto out;
	}
	if (CMS_final(cms, in, NULL, flags) != 1)
		goto out;
	if ((n = i2d_CMS_ContentInfo(cms, &der)) <= 0)
		goto out;
	*len = (size_t)n;
out:
	if (der == NULL)
		ERR_print_errors_fp(stdout);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return der;
}

static struct build good(void)
{
	struct build b;

	memset(&b, 0, sizeof(b));
	b.msgtype = "19";
	b.msgtype_type = V_ASN1_PRINTABLESTRING;
	b.tid = "4B8C617BBDF71EFFC5ED8F1DE2C87DB8";
	b.tid_type = V_ASN1_PRINTABLESTRING;
	b.nonce_len = 16;
	b.nonce_type = V_ASN1_OCTET_STRING;
	return b;
}

/* Builds b and parses it; returns the result (NULL too), err filled. */
static struct pkimsg *build_parse(const struct build *b, char *err, size_t errlen, int *built)
{
	size_t len = 0;
	unsigned char *der = build(b, &len);
	struct pkimsg *m;

	*built = der != NULL;
	err[0] = '\0';
	m = der != NULL ? pkimsg_parse(der, len, err, errlen) : NULL;
	OPENSSL_free(der);
	return m;
}

#define EXPECT_NULL(b, what, needle) do { \
	int built_; \
	struct pkimsg *m_ = build_parse(&(b), err, sizeof(err), &built_); \
	ok(built_ && m_ == NULL && strstr(err, (needle)) != NULL, "%s -> NULL (%s)", (what), err); \
	pkimsg_free(m_); \
} while (0)

/* CertRep (messageType 3): pkiStatus, failInfo, failInfoText, recipientNonce. */
static void test_certrep_attrs(void)
{
	struct build b;
	struct pkimsg *m;
	char err[256];
	int built;

	b = good();
	b.msgtype = "3";
	b.status = "0";
	b.status_type = V_ASN1_PRINTABLESTRING;
	b.rnonce_len = 16;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->failinfo == SCEP_FAIL_NONE && m->message_type == 3 &&
	    m->pki_status == 0 && m->rep_fail_info == -1 && m->fail_info_text[0] == '\0' &&
	    m->recipient_nonce_len == 16 && m->recipient_nonce[15] == 0x5a,
	    "CertRep SUCCESS: pkiStatus 0, recipientNonce read (%s)", err);
	pkimsg_free(m);

	b.status = "2";
	b.rep_failinfo = "4";
	b.failtext = "no such\ndevice";
	b.failtext_type = V_ASN1_UTF8STRING;
	b.rnonce_len = 0;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->pki_status == 2 && m->rep_fail_info == 4 &&
	    strcmp(m->fail_info_text, "no such?device") == 0 && m->recipient_nonce_len == 0,
	    "CertRep FAILURE: failInfo 4, failInfoText (control replaced), no recipientNonce");
	pkimsg_free(m);

	b = good();
	b.msgtype = "3";
	b.status = "3";
	b.status_type = V_ASN1_PRINTABLESTRING;
	b.rnonce_len = 64;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->pki_status == 3 && m->recipient_nonce_len == 64,
	    "CertRep PENDING with a 64-byte recipientNonce");
	pkimsg_free(m);

	b.status = NULL;
	EXPECT_NULL(b, "CertRep without pkiStatus", "pkiStatus missing");
	b.status = "3";
	b.status_twice = 1;
	EXPECT_NULL(b, "CertRep with pkiStatus twice", "pkiStatus present more than once");
	b.status_twice = 0;
	b.status_type = V_ASN1_UTF8STRING;
	EXPECT_NULL(b, "pkiStatus as UTF8String", "pkiStatus is not a PrintableString");
	b.status_type = V_ASN1_PRINTABLESTRING;
	b.status = "x";
	EXPECT_NULL(b, "pkiStatus not decimal", "pkiStatus is not a decimal number");
	b.status = "2";
	b.rep_failinfo = "";
	EXPECT_NULL(b, "empty failInfo", "failInfo has 0 digits");
	b.rep_failinfo = "2";
	b.rnonce_len = 65;
	EXPECT_NULL(b, "65-byte recipientNonce", "recipientNonce length 65");
	b.rnonce_len = 16;
	b.failtext = "text";
	b.failtext_type = V_ASN1_PRINTABLESTRING;
	EXPECT_NULL(b, "failInfoText as PrintableString", "failInfoText is not a UTF8String");

	/* a request's reply attributes are not read, whatever they hold */
	b = good();
	b.status = "bogus";
	b.status_type = V_ASN1_UTF8STRING;
	b.rnonce_len = 16;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->message_type == 19 && m->pki_status == -1 &&
	    m->recipient_nonce_len == 0 && m->failinfo == SCEP_FAIL_NONE,
	    "PKCSReq: CertRep attributes ignored, as before");
	pkimsg_free(m);
}

static void test_built(void)
{
	struct build b;
	struct pkimsg *m;
	char err[256];
	int built;

	b_cert = load_cert("lab/ra-sign.crt");
	b_key = load_key("lab/ra-sign.key");
	if (!ok(b_cert != NULL && b_key != NULL, "lab RA signing key and certificate load"))
		goto out;

	b = good();
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->failinfo == SCEP_FAIL_NONE && m->message_type == 19 &&
	    m->sender_nonce_len == 16 && m->digest_nid == NID_sha256 &&
	    m->signature_nid == NID_rsaEncryption && m->envelope_len == strlen(content) &&
	    strcmp(m->transaction_id, b.tid) == 0 && m->has_signing_time,
	    "built message parses and verifies (%s%s)", err, m ? m->reason : "");
	ok(m != NULL && m->signer != NULL && X509_cmp(m->signer, b_cert) == 0,
	    "signer is the certificate that signed");
	pkimsg_free(m);

	b = good();
	b.keyid = 1;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->failinfo == SCEP_FAIL_NONE && m->signer != NULL,
	    "SignerInfo sid subjectKeyIdentifier: signer found, verifies");
	pkimsg_free(m);

	b = good();
	b.signing_time = ASN1_TIME_set(NULL, 1234567890);
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->failinfo == SCEP_FAIL_NONE && m->has_signing_time &&
	    m->signing_time == 1234567890, "UTCTime signingTime read as 1234567890");
	pkimsg_free(m);
	ASN1_TIME_free(b.signing_time);
	b.signing_time = ASN1_GENERALIZEDTIME_set(NULL, (time_t)4102444800LL);
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->failinfo == SCEP_FAIL_NONE && m->has_signing_time &&
	    m->signing_time == 4102444800LL, "GeneralizedTime signingTime (2100) read");
	pkimsg_free(m);
	ASN1_TIME_free(b.signing_time);

	b = good();
	b.tid_type = V_ASN1_IA5STRING;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->failinfo == SCEP_FAIL_NONE, "transactionID as IA5String accepted");
	pkimsg_free(m);
	b.tid_type = V_ASN1_UTF8STRING;
	b.tid = "caf\xc3\xa9";
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && strcmp(m->transaction_id, b.tid) == 0,
	    "transactionID as UTF8String accepted verbatim");
	pkimsg_free(m);

	b = good();
	b.nonce_len = 64;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->sender_nonce_len == 64 && m->sender_nonce[63] == 0x5a,
	    "64-byte senderNonce accepted");
	pkimsg_free(m);
	b.nonce_len = 1;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->sender_nonce_len == 1, "1-byte senderNonce accepted");
	pkimsg_free(m);

	b = good();
	b.msgtype = "99";
	m = build_parse(&b, err, sizeof(err), &built);
	ok(m != NULL && m->message_type == 99 && m->failinfo == SCEP_FAIL_NONE,
	    "unknown messageType 99 is read, not judged");
	pkimsg_free(m);

	b = good();
	b.detached = 1;
	m = build_parse(&b, err, sizeof(err), &built);
	ok(built && m != NULL && m->envelope == NULL && m->envelope_len == 0 &&
	    m->failinfo == SCEP_FAIL_BADMESSAGECHECK,
	    "content not sent (detached): no envelope, messageDigest fails");
	pkimsg_free(m);

	b = good();
	b.nonce_len = -1;
	EXPECT_NULL(b, "senderNonce missing", "senderNonce missing");
	b = good();
	b.nonce_len = 65;
	EXPECT_NULL(b, "65-byte senderNonce", "senderNonce length 65");
	b = good();
	b.nonce_len = 0;
	EXPECT_NULL(b, "empty senderNonce", "senderNonce length 0");
	b = good();
	b.nonce_type = V_ASN1_PRINTABLESTRING;
	EXPECT_NULL(b, "senderNonce as PrintableString", "not an OCTET STRING");
	b = good();
	b.msgtype = NULL;
	EXPECT_NULL(b, "messageType missing", "messageType missing");
	b = good();
	b.msgtype_type = V_ASN1_UTF8STRING;
	EXPECT_NULL(b, "messageType as UTF8String", "not a PrintableString");
	b = good();
	b.msgtype = "1x";
	EXPECT_NULL(b, "messageType \"1x\"", "not a decimal");
	b = good();
	b.msgtype = "";
	EXPECT_NULL(b, "empty messageType", "0 digits");
	b = good();
	b.tid = NULL;
	EXPECT_NULL(b, "transactionID missing", "transactionID missing");
	b = good();
	b.tid_twice = 1;
	EXPECT_NULL(b, "transactionID twice", "more than once");
	b = good();
	b.tid_two_values = 1;
	EXPECT_NULL(b, "transactionID with two values", "exactly one value");
	b = good();
	b.tid_type = V_ASN1_BMPSTRING;
	b.tid = "ab";
	EXPECT_NULL(b, "transactionID as BMPString", "transactionID is not");
	b = good();
	b.tid = "";
	EXPECT_NULL(b, "empty transactionID", "transactionID length 0");
	b = good();
	b.two_signers = 1;
	EXPECT_NULL(b, "two SignerInfos", "2 SignerInfos");
	b = good();
	b.noattr = 1;
	EXPECT_NULL(b, "no signed attributes", "no signed attributes");
	b = good();
	b.econtent_nid = NID_id_smime_ct_TSTInfo;
	EXPECT_NULL(b, "eContentType TSTInfo", "eContentType");
	{
		char tid[300];

		memset(tid, 'A', 256);
		tid[256] = '\0';
		b = good();
		b.tid = tid;
		EXPECT_NULL(b, "256-character transactionID", "transactionID length 256");
		tid[255] = '\0';
		m = build_parse(&b, err, sizeof(err), &built);
		ok(m != NULL && strlen(m->transaction_id) == 255,
		    "255-character transactionID accepted");
		pkimsg_free(m);
	}
	test_certrep_attrs();
out:
	X509_free(b_cert);
	EVP_PKEY_free(b_key);
}

int main(void)
{
	char names[FIXTURE_MAX][FIXTURE_NAME];
	OSSL_PROVIDER *legacy, *deflt;
	int i, n;

	if (oids_register() != 0) {
		printf("Bail out! oids_register failed\n");
		return 1;
	}
	/* scepclient fixtures use single DES, which only the legacy provider has. */
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	deflt = OSSL_PROVIDER_load(NULL, "default");
	ok(legacy != NULL && deflt != NULL, "legacy and default providers load");

	n = fixture_list(names, FIXTURE_MAX);
	ok(n >= 20, "fixture corpus found in %s (%d fixtures)", fixture_dir(), n);
	for (i = 0; i < n; i++)
		test_fixture(names[i]);
	test_unknown_algorithms();
	test_not_cms();
	test_built();

	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	return done_testing();
}
