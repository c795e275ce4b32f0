/* SPDX-License-Identifier: ISC */
/*
 * scep_send.c: a test SCEP client for the messages no real client on Debian
 * sends (GetCert, GetCRL, CertPoll with chosen contents, requests with a
 * chosen transactionID, signingTime or key transport), used by the
 * integration tests. It builds a pkiMessage and writes it (DER) for curl to
 * send; it does not speak HTTP and never looks at the reply (the tests read
 * replies with the openssl command).
 *
 *   scep_send --type getcert|getcrl|certpoll|pkcsreq|renewalreq
 *       --signer-cert F --signer-key F   the pkiMessage signer (PEM)
 *       --recipient F                    RA encryption certificate (PEM)
 *       [--issuer-cert F]                GetCert/GetCRL/CertPoll: issuer name from F
 *       [--serial HEX]                   GetCert/GetCRL: the serial (default: the signer's)
 *       [--subject-cert F]               CertPoll: subject name from F (default: the signer's)
 *       [--csr F]                        PKCSReq/RenewalReq: PKCS#10 (PEM or DER)
 *       [--txid ID] [--signing-time UNIX]
 *       [--cipher aes128|aes192|aes256|des3] [--digest sha1|sha256|sha384|sha512]
 *       [--oaep] [--message-type N] [--content F] --out F
 *
 * --message-type sends another messageType than --type implies; --content puts
 * the bytes of F in the envelope instead of the messageData --type builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "oids.h"
#include "scep_types.h"

static void die(const char *what)
{
	fprintf(stderr, "scep_send: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		die(path);
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL || (k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die(path);
	fclose(f);
	return k;
}

/* The DER of a CSR file in PEM or DER. */
static unsigned char *read_csr(const char *path, int *len)
{
	FILE *f = fopen(path, "r");
	X509_REQ *r;
	unsigned char *der = NULL;

	if (f == NULL)
		die(path);
	if ((r = PEM_read_X509_REQ(f, NULL, NULL, NULL)) == NULL) {
		rewind(f);
		r = d2i_X509_REQ_fp(f, NULL);
	}
	fclose(f);
	if (r == NULL || (*len = i2d_X509_REQ(r, &der)) <= 0)
		die(path);
	X509_REQ_free(r);
	return der;
}

/* Adds signed attribute nid as an ASN.1 string of type holding data (len bytes, -1: a C string). */
static void add_attr(CMS_SignerInfo *si, int nid, int type, const void *data, int len)
{
	ASN1_STRING *str = ASN1_STRING_type_new(type);

	if (str == NULL || ASN1_STRING_set(str, data, len) != 1 ||
	    CMS_signed_add1_attr_by_NID(si, nid, type, str, -1) != 1)
		die("adding a signed attribute");
	ASN1_STRING_free(str);
}

int main(int argc, char **argv)
{
	const char *type = NULL, *signer_cert = NULL, *signer_key = NULL, *recipient = NULL;
	const char *issuer_cert = NULL, *serial = NULL, *subject_cert = NULL, *csr_path = NULL;
	const char *txid = NULL, *out = NULL, *cipher_name = "aes128", *digest_name = "sha256";
	const char *content_path = NULL;
	int msgtype_override = -1;
	long long signing_time = -1;
	int oaep = 0, msgtype, i, len = 0;
	X509 *signer, *rcpt, *x;
	EVP_PKEY *key;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	unsigned char *content = NULL, *env_der = NULL, *msg_der = NULL, nonce[16];
	CMS_ContentInfo *env, *msg;
	CMS_RecipientInfo *ri;
	CMS_SignerInfo *si;
	EVP_PKEY_CTX *pctx;
	BIO *in;
	ASN1_TIME *when;
	char tid[80], num[16];
	FILE *f;
	const struct scep_nids *nids;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--oaep") == 0) {
			oaep = 1;
			continue;
		}
		if (v == NULL)
			die("an option lacks its value");
		i++;
		if (strcmp(a, "--type") == 0)
			type = v;
		else if (strcmp(a, "--signer-cert") == 0)
			signer_cert = v;
		else if (strcmp(a, "--signer-key") == 0)
			signer_key = v;
		else if (strcmp(a, "--recipient") == 0)
			recipient = v;
		else if (strcmp(a, "--issuer-cert") == 0)
			issuer_cert = v;
		else if (strcmp(a, "--serial") == 0)
			serial = v;
		else if (strcmp(a, "--subject-cert") == 0)
			subject_cert = v;
		else if (strcmp(a, "--csr") == 0)
			csr_path = v;
		else if (strcmp(a, "--txid") == 0)
			txid = v;
		else if (strcmp(a, "--signing-time") == 0)
			signing_time = atoll(v);
		else if (strcmp(a, "--cipher") == 0)
			cipher_name = v;
		else if (strcmp(a, "--digest") == 0)
			digest_name = v;
		else if (strcmp(a, "--out") == 0)
			out = v;
		else if (strcmp(a, "--message-type") == 0)
			msgtype_override = atoi(v);
		else if (strcmp(a, "--content") == 0)
			content_path = v;
		else
			die("unknown option (see the header of tests/integration/scep_send.c)");
	}
	if (type == NULL || signer_cert == NULL || signer_key == NULL || recipient == NULL ||
	    out == NULL)
		die("--type, --signer-cert, --signer-key, --recipient and --out are needed");
	if (oids_register() != 0)
		die("oids_register");
	nids = oids_nids();
	signer = read_cert(signer_cert);
	key = read_key(signer_key);
	rcpt = read_cert(recipient);

	/* messageData */
	if (strcmp(type, "getcert") == 0 || strcmp(type, "getcrl") == 0) {
		PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();
		BIGNUM *bn = NULL;

		msgtype = type[3] == 'c' && type[4] == 'e' ? SCEP_MSG_GETCERT : SCEP_MSG_GETCRL;
		x = issuer_cert != NULL ? read_cert(issuer_cert) : NULL;
		if (X509_NAME_set(&ias->issuer, x != NULL ? X509_get_subject_name(x) :
		    X509_get_issuer_name(signer)) != 1)
			die("issuer");
		ASN1_INTEGER_free(ias->serial);
		if (serial != NULL) {
			if (BN_hex2bn(&bn, serial) == 0 ||
			    (ias->serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
				die("--serial is not hex");
			BN_free(bn);
		} else {
			ias->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(signer));
		}
		len = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &content);
		PKCS7_ISSUER_AND_SERIAL_free(ias);
		X509_free(x);
	} else if (strcmp(type, "certpoll") == 0) {
		unsigned char *a = NULL, *b = NULL, *p;
		int na, nb, hl;
		X509 *sx = subject_cert != NULL ? read_cert(subject_cert) : NULL;

		msgtype = SCEP_MSG_CERTPOLL;
		x = issuer_cert != NULL ? read_cert(issuer_cert) : NULL;
		na = i2d_X509_NAME(x != NULL ? X509_get_subject_name(x) :
		    X509_get_issuer_name(signer), &a);
		nb = i2d_X509_NAME(sx != NULL ? X509_get_subject_name(sx) :
		    X509_get_subject_name(signer), &b);
		if (na <= 0 || nb <= 0 || na + nb > 65535)
			die("names");
		hl = ASN1_object_size(1, na + nb, V_ASN1_SEQUENCE);
		content = p = OPENSSL_malloc((size_t)hl);
		ASN1_put_object(&p, 1, na + nb, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
		memcpy(p, a, (size_t)na);
		memcpy(p + na, b, (size_t)nb);
		len = hl;
		OPENSSL_free(a);
		OPENSSL_free(b);
		X509_free(x);
		X509_free(sx);
	} else if (strcmp(type, "pkcsreq") == 0 || strcmp(type, "renewalreq") == 0) {
		msgtype = type[0] == 'p' ? SCEP_MSG_PKCSREQ : SCEP_MSG_RENEWALREQ;
		if (csr_path == NULL)
			die("--csr is needed");
		content = read_csr(csr_path, &len);
	} else {
		die("--type getcert, getcrl, certpoll, pkcsreq or renewalreq");
	}

	if (content_path != NULL) {
		BIO *cb = BIO_new_file(content_path, "rb");
		unsigned char buf[65536];
		int n;

		if (cb == NULL || (n = BIO_read(cb, buf, sizeof(buf))) <= 0)
			die(content_path);
		BIO_free(cb);
		OPENSSL_free(content);
		content = OPENSSL_malloc((size_t)n);
		memcpy(content, buf, (size_t)n);
		len = n;
	}
	if (msgtype_override >= 0)
		msgtype = msgtype_override;

	/* pkcsPKIEnvelope */
	if (strcmp(cipher_name, "aes128") == 0)
		cipher = EVP_aes_128_cbc();
	else if (strcmp(cipher_name, "aes192") == 0)
		cipher = EVP_aes_192_cbc();
	else if (strcmp(cipher_name, "aes256") == 0)
		cipher = EVP_aes_256_cbc();
	else if (strcmp(cipher_name, "des3") == 0)
		cipher = EVP_des_ede3_cbc();
	else
		die("--cipher aes128, aes192, aes256 or des3");
	if ((in = BIO_new_mem_buf(content, len)) == NULL ||
	    (env = CMS_encrypt(NULL, NULL, cipher, CMS_BINARY | CMS_PARTIAL)) == NULL)
		die("CMS_encrypt");
	if (oaep) {
		if ((ri = CMS_add1_recipient_cert(env, rcpt, CMS_KEY_PARAM)) == NULL ||
		    (pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0)
			die("OAEP recipient");
	} else if (CMS_add1_recipient_cert(env, rcpt, 0) == NULL) {
		die("recipient");
	}
	if (CMS_final(env, in, NULL, CMS_BINARY) != 1 || (len = i2d_CMS_ContentInfo(env, &env_der)) <= 0)
		die("envelope");
	BIO_free(in);

	/* the signed pkiMessage */
	if ((md = EVP_get_digestbyname(digest_name)) == NULL)
		die("--digest");
	if ((in = BIO_new_mem_buf(env_der, len)) == NULL ||
	    (msg = CMS_sign(NULL, NULL, NULL, NULL, CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP)) == NULL ||
	    (si = CMS_add1_signer(msg, signer, key, md, CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP |
	    (signing_time >= 0 ? CMS_NOATTR : 0))) == NULL)
		die("CMS_sign");
	/*
	 * A chosen signingTime: CMS_NOATTR keeps OpenSSL's own out; contentType and
	 * messageDigest are added at signing (so is a signingTime when none is set:
	 * OpenSSL cannot sign without one).
	 */
	if (signing_time >= 0) {
		when = ASN1_TIME_set(NULL, (time_t)signing_time);
		if (when == NULL || CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
		    when->type, when, -1) != 1)
			die("signingTime");
		ASN1_TIME_free(when);
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		die("RAND_bytes");
	if (txid == NULL) {
		for (i = 0; i < 16; i++)
			snprintf(tid + 2 * i, 3, "%02X", nonce[i] ^ 0x5a);
		txid = tid;
	}
	snprintf(num, sizeof(num), "%d", msgtype);
	add_attr(si, nids->message_type, V_ASN1_PRINTABLESTRING, num, -1);
	add_attr(si, nids->transaction_id, V_ASN1_PRINTABLESTRING, txid, -1);
	add_attr(si, nids->sender_nonce, V_ASN1_OCTET_STRING, nonce, sizeof(nonce));
	if (CMS_final(msg, in, NULL, CMS_BINARY) != 1 || (len = i2d_CMS_ContentInfo(msg, &msg_der)) <= 0)
		die("signing");
	if ((f = fopen(out, "wb")) == NULL || fwrite(msg_der, 1, (size_t)len, f) != (size_t)len ||
	    fclose(f) != 0)
		die(out);
	printf("%s\n", txid);
	OPENSSL_free(msg_der);
	OPENSSL_free(env_der);
	OPENSSL_free(content);
	BIO_free(in);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(msg);
	X509_free(signer);
	X509_free(rcpt);
	EVP_PKEY_free(key);
	return 0;
}
