/* SPDX-License-Identifier: ISC */
/*
 * test_keyproc.c: the signer process. The codec (keyproc_proto.c) refuses
 * truncated, oversized, unknown-type, misplaced, repeated and missing fields;
 * a worker (keyproc_serve, in a thread on a socketpair) refuses malformed and
 * out-of-order packets with a reply and re-checks validity against its own
 * configuration; and through a real signer process (keyproc_start) a signer
 * loaded in this process holds no key while decrypt, issue, sign a message,
 * sign a CRL all work, and "sign these bytes" (content that is not an
 * EnvelopedData, attributes that are not SCEP's) is refused; a reload does not
 * wait long for stopped or busy workers, and reaches the supervisor while a
 * worker waits to be restarted.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certrep.h"
#include "keyproc.h"
#include "keyproc_config.h"
#include "keyproc_proto.h"
#include "keyproc_sandbox.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "signer_remote.h"
#include "util.h"
#include "tap.h"
#include "catest.h"
#include "fixture.h"

static char *dir;
static struct signer_files files;

/* A finished OPEN message for the lab identity, with the given digest. */
static void open_msg(struct keyproc_buf *b, uint16_t type, const unsigned char digest[32])
{
	keyproc_buf_start(b, type, 7);
	keyproc_buf_str(b, KP_T_CA_CERT, files.ca_cert);
	keyproc_buf_str(b, KP_T_CA_KEY, files.ca_key);
	keyproc_buf_str(b, KP_T_RA_SIGN_CERT, files.ra_sign_cert);
	keyproc_buf_str(b, KP_T_RA_SIGN_KEY, files.ra_sign_key);
	keyproc_buf_str(b, KP_T_RA_ENC_CERT, files.ra_enc_cert);
	keyproc_buf_str(b, KP_T_RA_ENC_KEY, files.ra_enc_key);
	keyproc_buf_u32(b, KP_T_FLAGS, 0);
	keyproc_buf_add(b, KP_T_CERTS_DIGEST, digest, 32);
}

static int parses(const uint8_t *p, size_t len, char *err, size_t errlen)
{
	struct keyproc_msg m;

	return keyproc_msg_parse(p, len, &m, err, errlen);
}

static void test_codec(void)
{
	static const unsigned char digest[32] = { 1 };
	struct keyproc_buf b;
	struct keyproc_msg m;
	uint8_t *copy;
	char err[300];
	size_t i, bad = 0;
	uint32_t v;

	open_msg(&b, KEYPROC_OPEN, digest);
	ok(keyproc_buf_finish(&b) == 0, "an OPEN message is built");
	ok(keyproc_msg_parse(b.p, b.len, &m, err, sizeof(err)) == 0, "and parses (%s)", err);
	is_int(m.type, KEYPROC_OPEN, "type");
	is_int(m.seq, 7, "sequence number");
	ok(keyproc_msg_u32(&m, KP_T_FLAGS, &v) == 0 && v == 0, "flags read back");
	ok(m.f[KP_T_CERTS_DIGEST].len == 32 && memcmp(m.f[KP_T_CERTS_DIGEST].p, digest, 32) == 0,
	    "digest read back");

	/* every truncation is refused */
	for (i = 0; i < b.len; i++)
		if (parses(b.p, i, err, sizeof(err)) == 0)
			bad++;
	is_int(bad, 0, "every truncation of the message is refused");
	ok(parses(b.p, 5, err, sizeof(err)) == -1 && strstr(err, "header") != NULL,
	    "a 5-byte message: '%s'", err);

	/* trailing byte: the header's length no longer matches */
	copy = xmalloc(b.len + 1);
	memcpy(copy, b.p, b.len);
	copy[b.len] = 0;
	ok(parses(copy, b.len + 1, err, sizeof(err)) == -1 && strstr(err, "body length"),
	    "a trailing byte is refused: '%s'", err);
	/* unknown type */
	memcpy(copy, b.p, b.len);
	copy[2] = 0;
	copy[3] = 99;
	ok(parses(copy, b.len, err, sizeof(err)) == -1 && strstr(err, "unknown message type"),
	    "an unknown type is refused: '%s'", err);
	/* wrong version */
	memcpy(copy, b.p, b.len);
	copy[1] = 2;
	ok(parses(copy, b.len, err, sizeof(err)) == -1 && strstr(err, "version"),
	    "another version is refused: '%s'", err);
	/* a field length running past the end */
	memcpy(copy, b.p, b.len);
	keyproc_put32(copy + KEYPROC_HEADER + 2, 0x7fffffff);
	ok(parses(copy, b.len, err, sizeof(err)) == -1 && strstr(err, "truncated"),
	    "a field longer than the message is refused: '%s'", err);
	free(copy);
	keyproc_buf_free(&b);

	/* oversized: more than KEYPROC_MAX_MSG bytes */
	copy = xcalloc(1, KEYPROC_MAX_MSG + 1);
	copy[1] = KEYPROC_VERSION;
	copy[3] = KEYPROC_OPEN;
	keyproc_put32(copy + 8, KEYPROC_MAX_MSG + 1 - KEYPROC_HEADER);
	ok(parses(copy, KEYPROC_MAX_MSG + 1, err, sizeof(err)) == -1 && strstr(err, "limit"),
	    "an oversized message is refused: '%s'", err);
	free(copy);

	/* a field that does not belong in the type */
	open_msg(&b, KEYPROC_OPEN, digest);
	keyproc_buf_add(&b, KP_T_ENVELOPE, "x", 1);
	(void)keyproc_buf_finish(&b);
	ok(parses(b.p, b.len, err, sizeof(err)) == -1 && strstr(err, "does not belong"),
	    "an envelope in an OPEN is refused: '%s'", err);
	keyproc_buf_free(&b);
	/* a field given twice */
	open_msg(&b, KEYPROC_OPEN, digest);
	keyproc_buf_u32(&b, KP_T_FLAGS, 1);
	(void)keyproc_buf_finish(&b);
	ok(parses(b.p, b.len, err, sizeof(err)) == -1 && strstr(err, "more than"),
	    "a repeated single field is refused: '%s'", err);
	keyproc_buf_free(&b);
	/* a field of the wrong size */
	open_msg(&b, KEYPROC_OPEN, digest);
	keyproc_buf_add(&b, KP_T_CERTS_DIGEST + 0, digest, 31);
	(void)keyproc_buf_finish(&b);
	ok(parses(b.p, b.len, err, sizeof(err)) == -1, "a 31-byte digest is refused: '%s'", err);
	keyproc_buf_free(&b);
	/* a required field missing */
	keyproc_buf_start(&b, KEYPROC_DECRYPT, 1);
	keyproc_buf_str(&b, KP_T_CA_CERT, "ca.crt");
	keyproc_buf_u32(&b, KP_T_FLAGS, 0);
	keyproc_buf_add(&b, KP_T_CERTS_DIGEST, digest, 32);
	(void)keyproc_buf_finish(&b);
	ok(parses(b.p, b.len, err, sizeof(err)) == -1 && strstr(err, "missing"),
	    "a DECRYPT without an envelope is refused: '%s'", err);
	keyproc_buf_free(&b);
	/* a builder that grows past the limit says so */
	keyproc_buf_start(&b, KEYPROC_DECRYPT, 1);
	copy = xcalloc(1, KEYPROC_MAX_MSG);
	keyproc_buf_add(&b, KP_T_ENVELOPE, copy, KEYPROC_MAX_MSG);
	ok(keyproc_buf_finish(&b) == -1, "a message over the limit cannot be built");
	keyproc_buf_free(&b);
	free(copy);
}

struct served {
	int fd;
	const char *config;
	const struct keyproc_config *readings;   /* the supervisor's, taken over; or NULL */
};

static void *serve_thread(void *arg)
{
	struct served *s = arg;

	(void)keyproc_serve(s->fd, s->config, s->readings, 0);
	return NULL;
}

/*
 * A worker (keyproc_serve) in thread *t on the socketpair sv, serving sv[1]
 * with config and readings (see struct served); the test talks on sv[0].
 * 0, or -1 after a failed check.
 */
static int start_worker(struct served *s, const char *config,
    const struct keyproc_config *readings, pthread_t *t, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
		ok(0, "socketpair");
		return -1;
	}
	s->fd = sv[1];
	s->config = config;
	s->readings = readings;
	if (pthread_create(t, NULL, serve_thread, s) != 0) {
		ok(0, "worker thread");
		return -1;
	}
	return 0;
}

/* Sends len bytes, returns the reply's RESULT (or 999) and its error text in err. */
static uint32_t raw_call(int fd, const void *p, size_t len, uint32_t *seq, char *err,
    size_t errlen)
{
	static uint8_t buf[KEYPROC_MAX_MSG];
	struct keyproc_msg m;
	uint32_t result = 999;
	char *e;
	ssize_t n;

	err[0] = '\0';
	if (send(fd, p, len, 0) != (ssize_t)len)
		return 999;
	if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
		return 999;
	if (keyproc_msg_parse(buf, (size_t)n, &m, err, errlen) != 0 || m.type != KEYPROC_REPLY ||
	    keyproc_msg_u32(&m, KP_T_RESULT, &result) != 0)
		return 999;
	if ((e = keyproc_msg_str(&m, KP_T_ERROR)) != NULL) {
		snprintf(err, errlen, "%s", e);
		free(e);
	}
	if (seq != NULL)
		*seq = m.seq;
	return result;
}

/* A RELOAD with sequence seq on fd (scepd reloaded): its RESULT, the reply's sequence in *rseq. */
static uint32_t reload_call(int fd, uint32_t seq, uint32_t *rseq, char *err, size_t errlen)
{
	struct keyproc_buf b;
	uint32_t result;

	keyproc_buf_start(&b, KEYPROC_RELOAD, seq);
	(void)keyproc_buf_finish(&b);
	result = raw_call(fd, b.p, b.len, rseq, err, errlen);
	keyproc_buf_free(&b);
	return result;
}

/* An ISSUE request for a fresh P-256 key with validity days. */
static void issue_msg(struct keyproc_buf *b, const unsigned char digest[32], uint32_t days)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	open_msg(b, KEYPROC_ISSUE, digest);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"dev", -1,
	    -1, 0);
	n = i2d_X509_NAME(name, &der);
	keyproc_buf_add(b, KP_T_SUBJECT, der, (size_t)n);
	OPENSSL_free(der);
	der = NULL;
	n = i2d_PUBKEY(key, &der);
	keyproc_buf_add(b, KP_T_SPKI, der, (size_t)n);
	OPENSSL_free(der);
	keyproc_buf_u32(b, KP_T_KEY_USAGE, KU_DIGITAL_SIGNATURE);
	keyproc_buf_u32(b, KP_T_VALIDITY_DAYS, days);
	keyproc_buf_i64(b, KP_T_NOW, (int64_t)time(NULL));
	(void)keyproc_buf_finish(b);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
}

/* Sends an ISSUE request for days (issue_msg) on fd: its RESULT, with the error in err. */
static uint32_t issue_call(int fd, const unsigned char digest[32], uint32_t days, char *err,
    size_t errlen)
{
	struct keyproc_buf b;
	uint32_t result;

	issue_msg(&b, digest, days);
	result = raw_call(fd, b.p, b.len, NULL, err, errlen);
	keyproc_buf_free(&b);
	return result;
}

/* Writes the worker's configuration file with certificate.validity_days = days. */
static void worker_conf(const char *path, unsigned days)
{
	char *text = xasprintf("state_dir = \"%s\";\ncertificate = { validity_days = %u; };\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\"; "
	    "enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n", dir, days);

	ok(catest_write(path, text, 0600) == 0, "worker configuration written (%u days)", days);
	free(text);
}

static void test_worker(const unsigned char digest[32])
{
	static const uint8_t junk[5] = { 1, 2, 3, 4, 5 };
	struct served s;
	struct keyproc_buf b;
	pthread_t t;
	int sv[2];
	char err[300], *cfgpath = xasprintf("%s/worker.conf", dir);
	uint32_t seq = 0;
	unsigned char wrong[32];
	const char *saved;
	char *other;

	worker_conf(cfgpath, 30);
	if (start_worker(&s, cfgpath, NULL, &t, sv) != 0)
		return;
	ok(raw_call(sv[0], junk, sizeof(junk), NULL, err, sizeof(err)) == 1 + SCEP_FAIL_BADREQUEST &&
	    strstr(err, "header") != NULL, "a malformed packet gets a refusal: '%s'", err);

	keyproc_buf_start(&b, KEYPROC_REPLY, 3);
	keyproc_buf_u32(&b, KP_T_RESULT, 0);
	(void)keyproc_buf_finish(&b);
	ok(raw_call(sv[0], b.p, b.len, &seq, err, sizeof(err)) == 1 + SCEP_FAIL_BADREQUEST &&
	    strstr(err, "not a request") != NULL && seq == 3,
	    "a reply sent to the worker (out of order) is refused: '%s'", err);
	keyproc_buf_free(&b);

	open_msg(&b, KEYPROC_OPEN, digest);
	(void)keyproc_buf_finish(&b);
	is_int(raw_call(sv[0], b.p, b.len, &seq, err, sizeof(err)), 0, "OPEN of the lab keys (%s)",
	    err);
	is_int(seq, 7, "the reply carries the request's sequence number");
	keyproc_buf_free(&b);

	/* a key file the worker's configuration does not name is not loaded */
	other = xasprintf("%s/other.key", dir);
	ok(link(files.ca_key, other) == 0, "the CA key under another name");
	saved = files.ca_key;
	files.ca_key = other;
	open_msg(&b, KEYPROC_OPEN, digest);
	(void)keyproc_buf_finish(&b);
	ok(raw_call(sv[0], b.p, b.len, NULL, err, sizeof(err)) != 0 &&
	    strstr(err, "not a CA or RA file") != NULL,
	    "OPEN of a key its configuration does not name is refused: '%s'", err);
	keyproc_buf_free(&b);
	files.ca_key = saved;
	free(other);

	memset(wrong, 0x55, sizeof(wrong));
	open_msg(&b, KEYPROC_OPEN, wrong);
	(void)keyproc_buf_finish(&b);
	ok(raw_call(sv[0], b.p, b.len, NULL, err, sizeof(err)) != 0 &&
	    strstr(err, "not the ones") != NULL,
	    "OPEN with other certificates than on disk is refused: '%s'", err);
	keyproc_buf_free(&b);

	is_int(issue_call(sv[0], digest, 30, err, sizeof(err)), 0,
	    "ISSUE for 30 days, as the template allows (%s)", err);
	ok(issue_call(sv[0], digest, 31, err, sizeof(err)) != 0 &&
	    strstr(err, "longer than any template") != NULL,
	    "ISSUE for 31 days is refused by the worker's own configuration: '%s'", err);

	/*
	 * An edit scepd has not reloaded: the worker reads it when a request
	 * finds the file changed, and allows what it allows too.
	 */
	worker_conf(cfgpath, 40);
	is_int(issue_call(sv[0], digest, 40, err, sizeof(err)), 0,
	    "an edit to 40 days, not reloaded: ISSUE for 40 days (%s)", err);

	/*
	 * A reload from 400 days back to 30 by cp, which truncates the file
	 * first: a request started on the 400-day generation still passes, as the
	 * worker never takes the empty file for a configuration (its defaults,
	 * 365 days, would have pushed out the 400-day reading).
	 */
	worker_conf(cfgpath, 400);
	is_int(reload_call(sv[0], 8, &seq, err, sizeof(err)), 0, "RELOAD is answered (%s)", err);
	is_int(seq, 8, "  with the request's sequence number");
	is_int(issue_call(sv[0], digest, 400, err, sizeof(err)), 0,
	    "reload to 400 days: ISSUE for 400 days (%s)", err);
	ok(truncate(cfgpath, 0) == 0, "the configuration file truncated (cp back to 30 days)");
	is_int(issue_call(sv[0], digest, 30, err, sizeof(err)), 0,
	    "  a request while the file is empty (%s)", err);
	is_int(reload_call(sv[0], 9, NULL, err, sizeof(err)), 0,
	    "  a RELOAD while the file is empty (%s)", err);
	is_int(issue_call(sv[0], digest, 400, err, sizeof(err)), 0,
	    "  the empty file is no reading: 400 days still pass (%s)", err);
	worker_conf(cfgpath, 30);
	is_int(reload_call(sv[0], 9, NULL, err, sizeof(err)), 0, "reload back to 30 days (%s)",
	    err);
	is_int(issue_call(sv[0], digest, 400, err, sizeof(err)), 0,
	    "  a request of the 400-day generation still passes (%s)", err);

	/*
	 * scepd reloads 500 days, then the file is edited twice, to 30 and to 20,
	 * with requests between, before its next reload: a request of the 500-day
	 * generation passes only because the worker keeps the reading it was told
	 * to make (RELOAD). Reading the file whenever a request finds it changed
	 * and keeping the last two readings, it would hold 20 and 30, never 500.
	 */
	worker_conf(cfgpath, 500);
	is_int(reload_call(sv[0], 9, NULL, err, sizeof(err)), 0, "reload to 500 days (%s)", err);
	worker_conf(cfgpath, 30);
	is_int(issue_call(sv[0], digest, 30, err, sizeof(err)), 0,
	    "  an edit to 30 days, not reloaded: ISSUE for 30 days (%s)", err);
	worker_conf(cfgpath, 20);
	is_int(issue_call(sv[0], digest, 20, err, sizeof(err)), 0,
	    "  a second edit, to 20 days: ISSUE for 20 days (%s)", err);
	is_int(issue_call(sv[0], digest, 500, err, sizeof(err)), 0,
	    "  a request of the 500-day generation still passes (%s)", err);
	ok(issue_call(sv[0], digest, 501, err, sizeof(err)) != 0 &&
	    strstr(err, "longer than any template") != NULL,
	    "  and 501 days, which no reading allows, is refused: '%s'", err);
	keyproc_buf_start(&b, KEYPROC_RELOAD, 10);
	keyproc_buf_u32(&b, KP_T_VALIDITY_DAYS, 9999);
	(void)keyproc_buf_finish(&b);
	ok(raw_call(sv[0], b.p, b.len, NULL, err, sizeof(err)) == 1 + SCEP_FAIL_BADREQUEST,
	    "a RELOAD carrying a field is refused: '%s'", err);
	keyproc_buf_free(&b);

	close(sv[0]);
	ok(pthread_join(t, NULL) == 0, "the worker returns when its peer closes");
	close(sv[1]);
	free(cfgpath);
}

/*
 * A worker the supervisor forks takes over the supervisor's readings (scepd's
 * last reload): the file holds an edit to 30 days not reloaded yet, and a
 * request of the 600-day generation being served still passes. Reading the
 * file at its start, the worker would hold 30 days only.
 */
static void test_served(const unsigned char digest[32])
{
	struct keyproc_config readings;
	struct served s;
	pthread_t t;
	int sv[2];
	char err[300], *cfgpath = xasprintf("%s/served.conf", dir);

	memset(&readings, 0, sizeof(readings));
	readings.file = cfgpath;
	worker_conf(cfgpath, 600);
	keyproc_config_reload(&readings);
	ok(readings.cur.cfg != NULL && readings.cur.cfg->validity_days == 600,
	    "the supervisor's reading: 600 days");
	worker_conf(cfgpath, 30);
	if (start_worker(&s, cfgpath, &readings, &t, sv) != 0)
		return;
	is_int(issue_call(sv[0], digest, 600, err, sizeof(err)), 0,
	    "a new worker, the file edited to 30 days: a request of the 600-day generation "
	    "passes (%s)", err);
	is_int(issue_call(sv[0], digest, 30, err, sizeof(err)), 0,
	    "  the edit's 30 days too (%s)", err);
	ok(issue_call(sv[0], digest, 601, err, sizeof(err)) != 0 &&
	    strstr(err, "longer than any template") != NULL,
	    "  601 days, which no reading allows, are refused: '%s'", err);
	close(sv[0]);
	/* the worker frees the readings it took over */
	ok(pthread_join(t, NULL) == 0, "the worker returns when its peer closes");
	close(sv[1]);
	free(cfgpath);
}

static int cert_is_ca(X509 *x)
{
	return X509_check_ca(x) != 0;
}

/* 1 when the SignedData der encapsulates an eContent (possibly empty). */
static int has_econtent(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	ASN1_OCTET_STRING **c;
	int rc = 0;

	if (cms != NULL && (c = CMS_get0_content(cms)) != NULL && *c != NULL)
		rc = 1;
	CMS_ContentInfo_free(cms);
	return rc;
}

static void test_remote(void)
{
	struct keyproc *kp;
	struct signer *s = NULL;
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	struct issue_request ir;
	struct signer_crl_entry ent[2] = { { "0A1B", 1700000000, 1 }, { "FF", 1700000100, 0 } };
	const struct scep_nids *nids = oids_nids();
	unsigned char *env = NULL, *plain = NULL, *sig = NULL, *crl_der = NULL;
	size_t env_len = 0, plain_len = 0, sig_len = 0, crl_len = 0;
	const unsigned char *p;
	const char *matched = NULL;
	X509 *x = NULL;
	X509_NAME *name = X509_NAME_new();
	X509_CRL *crl = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char err[512];

	if ((kp = keyproc_start(NULL, 2, err, sizeof(err))) == NULL) {
		ok(0, "keyproc_start: %s", err);
		return;
	}
	ok(keyproc_pid(kp) > 0, "the signer process runs (pid %ld)", keyproc_pid(kp));
	signer_use_keyproc(kp);
	s = signer_load_files(&files, 0, err, sizeof(err));
	ok(s != NULL, "a signer loads through the signer process (%s)", s ? "" : err);
	if (s == NULL)
		goto out;

	/* decrypt */
	env = certrep_envelope(signer_ra_enc_cert(s), NID_aes_128_cbc, 0,
	    (const unsigned char *)"hello", 5, &env_len, err, sizeof(err));
	is_int(signer_decrypt(s, env, env_len, 0, &plain, &plain_len, &matched, err, sizeof(err)),
	    SCEP_FAIL_NONE, "an envelope to the RA is opened by the signer process (%s)", err);
	ok(plain_len == 5 && plain != NULL && memcmp(plain, "hello", 5) == 0, "its plaintext");
	is_str(matched, "ra-enc", "opened with the RA encryption key");
	free(plain);
	plain = NULL;
	is_int(signer_decrypt(s, (const unsigned char *)"junk", 4, 0, &plain, &plain_len, NULL, err,
	    sizeof(err)), SCEP_FAIL_BADREQUEST, "junk is refused as badRequest: '%s'", err);

	/* issue */
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"device", -1,
	    -1, 0);
	memset(&ir, 0, sizeof(ir));
	ir.subject = name;
	ir.pubkey = key;
	ir.key_usage = KU_DIGITAL_SIGNATURE;
	ir.validity_days = 10;
	ir.now = time(NULL);
	ir.crl_url = "http://crl.example/ca.crl";
	x = signer_issue(s, &ir, err, sizeof(err));
	ok(x != NULL, "a certificate is issued by the signer process (%s)", x ? "" : err);
	ok(x != NULL && X509_verify(x, X509_get0_pubkey(signer_ca_cert(s))) == 1,
	    "signed by the CA key");
	ok(x != NULL && !cert_is_ca(x), "CA:FALSE");
	X509_free(x);
	ir.key_usage = KU_KEY_CERT_SIGN;
	ok((x = signer_issue(s, &ir, err, sizeof(err))) == NULL,
	    "keyCertSign is refused by the signer process: '%s'", err);
	X509_free(x);

	/* sign a CertRep */
	attrs = sk_X509_ATTRIBUTE_new_null();
	certrep_attr_add(attrs, nids->message_type, V_ASN1_PRINTABLESTRING, "3", 1);
	certrep_attr_add(attrs, nids->pki_status, V_ASN1_PRINTABLESTRING, "0", 1);
	certrep_attr_add(attrs, nids->transaction_id, V_ASN1_PRINTABLESTRING, "abc", 3);
	certrep_attr_add(attrs, nids->sender_nonce, V_ASN1_OCTET_STRING, "0123456789abcdef", 16);
	sig = signer_sign_message(s, NID_sha256, env, env_len, attrs, &sig_len, err, sizeof(err));
	ok(sig != NULL, "a CertRep is signed by the signer process (%s)", sig ? "" : err);
	free(sig);
	sig = signer_sign_message(s, NID_sha256, (const unsigned char *)"", 0, attrs, &sig_len, err,
	    sizeof(err));
	ok(sig != NULL && has_econtent(sig, sig_len),
	    "a FAILURE/PENDING CertRep keeps its empty eContent (certmonger needs it)");
	free(sig);
	sig = signer_sign_message(s, NID_sha256, (const unsigned char *)"bytes", 5, attrs,
	    &sig_len, err, sizeof(err));
	ok(sig == NULL && strstr(err, "EnvelopedData") != NULL,
	    "content that is not an EnvelopedData is not signed: '%s'", err);
	free(sig);
	certrep_attr_add(attrs, NID_pkcs9_challengePassword, V_ASN1_PRINTABLESTRING, "pw", 2);
	sig = signer_sign_message(s, NID_sha256, env, env_len, attrs, &sig_len, err, sizeof(err));
	ok(sig == NULL, "an attribute that is not SCEP's is not signed: '%s'", err);
	free(sig);
	sig = signer_sign_message(s, NID_sha256, NULL, 0, NULL, &sig_len, err, sizeof(err));
	ok(sig != NULL, "the health probe (no content, no attributes) is signed");
	free(sig);

	/* sign a CRL */
	crl_der = signer_sign_crl(s, ent, 2, 5, 1700000000, 1700086400, &crl_len, err, sizeof(err));
	ok(crl_der != NULL, "a CRL is signed by the signer process (%s)", crl_der ? "" : err);
	p = crl_der;
	crl = crl_der != NULL ? d2i_X509_CRL(NULL, &p, (long)crl_len) : NULL;
	ok(crl != NULL && X509_CRL_verify(crl, X509_get0_pubkey(signer_ca_cert(s))) == 1 &&
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) == 2, "with both entries, by the CA");
	X509_CRL_free(crl);
	free(crl_der);
	ent[0].serial = "not-hex";
	crl_der = signer_sign_crl(s, ent, 2, 6, 1700000000, 1700086400, &crl_len, err, sizeof(err));
	ok(crl_der == NULL, "a CRL entry whose serial is not hex is refused: '%s'", err);
	free(crl_der);
out:
	sk_X509_ATTRIBUTE_pop_free(attrs, X509_ATTRIBUTE_free);
	free(env);
	free(plain);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	signer_free(s);
	signer_use_keyproc(NULL);
	keyproc_stop(kp);
}

struct probe {
	struct signer *s;
	unsigned char *sig;
	char err[256];
};

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	size_t len = 0;

	p->sig = signer_sign_message(p->s, NID_sha256, NULL, 0, NULL, &len, p->err, sizeof(p->err));
	return NULL;
}

/* The process ids of pid's children (/proc/PID/task/PID/children), up to max. */
static size_t child_pids(long pid, pid_t *out, size_t max)
{
	char *path = xasprintf("/proc/%ld/task/%ld/children", pid, pid);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	long c;

	while (f != NULL && n < max && fscanf(f, "%ld", &c) == 1)
		out[n++] = (pid_t)c;
	if (f != NULL)
		fclose(f);
	free(path);
	return n;
}

/*
 * keyproc_reload with both workers stopped (SIGSTOP), one of them under a
 * request: it holds the idle one's socket, gives up on the busy one after
 * 5 s and on the idle one's reply after 5 s more, and returns, where waiting
 * for the busy one in line would have taken the request's 60 s; the request
 * itself then finishes once the workers run again.
 */
static void test_reload_busy(void)
{
	struct keyproc *kp;
	struct probe pr = { 0 };
	pthread_t t;
	pid_t w[4];
	time_t t0;
	char err[512];
	size_t n;

	if ((kp = keyproc_start(NULL, 2, err, sizeof(err))) == NULL) {
		ok(0, "keyproc_start: %s", err);
		return;
	}
	signer_use_keyproc(kp);
	pr.s = signer_load_files(&files, 0, err, sizeof(err));
	ok(pr.s != NULL, "a signer loads through the signer process (%s)", pr.s ? "" : err);
	is_int(keyproc_reload(kp, err, sizeof(err)), 0, "both workers idle: every one re-reads "
	    "the configuration (%s)", err);
	n = child_pids(keyproc_pid(kp), w, 4);
	is_int((int)n, 2, "the supervisor has 2 workers");
	for (size_t i = 0; i < n; i++)
		kill(w[i], SIGSTOP);
	if (pr.s == NULL || pthread_create(&t, NULL, probe_thread, &pr) != 0) {
		ok(0, "a request thread");
		goto out;
	}
	sleep(1);   /* the request has taken a socket and waits for its stopped worker */
	t0 = time(NULL);
	ok(keyproc_reload(kp, err, sizeof(err)) == -1 && strstr(err, "worker") != NULL,
	    "both workers stopped, one under a request: the reload gives up ('%s')", err);
	ok(time(NULL) - t0 < 30, "  after %ld s, not the request's 60 s", (long)(time(NULL) - t0));
	for (size_t i = 0; i < n; i++)
		kill(w[i], SIGCONT);
	pthread_join(t, NULL);
	ok(pr.sig != NULL, "the request finishes once its worker runs again (%s)",
	    pr.sig ? "" : pr.err);
	free(pr.sig);
out:
	signer_free(pr.s);
	signer_use_keyproc(NULL);
	keyproc_stop(kp);
}

/* A worker of the supervisor other than not (0: any), within ms; 0 if none came. */
static pid_t worker_other_than(struct keyproc *kp, pid_t not, int ms)
{
	pid_t w[4];
	size_t n;

	for (int waited = 0; waited <= ms; waited += 5) {
		n = child_pids(keyproc_pid(kp), w, 4);
		for (size_t i = 0; i < n; i++)
			if (w[i] != not)
				return w[i];
		usleep(5000);
	}
	return 0;
}

/* An issue of days through the signer process, again while its new worker's socket is on the way. */
static X509 *issue_days(struct signer *s, EVP_PKEY *key, X509_NAME *name, unsigned days,
    char *err, size_t errlen)
{
	struct issue_request ir;
	X509 *x = NULL;

	memset(&ir, 0, sizeof(ir));
	ir.subject = name;
	ir.pubkey = key;
	ir.key_usage = KU_DIGITAL_SIGNATURE;
	ir.validity_days = days;
	ir.now = time(NULL);
	for (int tries = 0; tries < 50; tries++) {
		if ((x = signer_issue(s, &ir, err, errlen)) != NULL ||
		    strstr(err, SIGNER_REMOTE_UNAVAILABLE) == NULL)
			break;
		usleep(100 * 1000);
	}
	return x;
}

/*
 * A reload while a worker's slot waits out the 2 s between two starts (its
 * worker died just after starting), then the file edited again before the
 * new worker starts: the supervisor reads scepd's note at once, so the new
 * worker holds the reloaded 500 days. Before, the supervisor slept through
 * the wait, started the worker with the reading before the reload, and only
 * then read the note, from the edited file: 500 days were refused.
 */
static void test_restart_wait(void)
{
	struct keyproc *kp;
	struct signer *s = NULL;
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x;
	pid_t first, second, third;
	char err[512], *cfgpath = xasprintf("%s/restart.conf", dir);

	worker_conf(cfgpath, 400);
	if ((kp = keyproc_start(cfgpath, 1, err, sizeof(err))) == NULL) {
		ok(0, "keyproc_start: %s", err);
		goto out;
	}
	signer_use_keyproc(kp);
	s = signer_load_files(&files, 0, err, sizeof(err));
	ok(s != NULL, "a signer loads through a signer process of one worker (%s)", s ? "" : err);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"restart", -1,
	    -1, 0);
	first = worker_other_than(kp, 0, 5000);
	ok(first > 0 && kill(first, SIGKILL) == 0, "its worker killed");
	second = worker_other_than(kp, first, 5000);
	ok(second > 0 && kill(second, SIGKILL) == 0,
	    "the worker started in its place killed at once: the slot waits 2 s");
	usleep(300 * 1000);  /* the supervisor has seen it die and waits */
	worker_conf(cfgpath, 500);
	(void)keyproc_reload(kp, err, sizeof(err));  /* no worker to answer: the note is what counts */
	usleep(500 * 1000);
	worker_conf(cfgpath, 30);
	third = worker_other_than(kp, second, 10000);
	ok(third > 0 && third != first, "a new worker starts after the wait");
	x = s != NULL ? issue_days(s, key, name, 500, err, sizeof(err)) : NULL;
	ok(x != NULL, "the file edited to 30 days meanwhile: a request of the reloaded 500-day "
	    "generation passes (%s)", x ? "" : err);
	X509_free(x);
	x = s != NULL ? issue_days(s, key, name, 501, err, sizeof(err)) : NULL;
	ok(x == NULL && strstr(err, "longer than any template") != NULL,
	    "  501 days are refused: '%s'", err);
	X509_free(x);
	signer_free(s);
	signer_use_keyproc(NULL);
	keyproc_stop(kp);
out:
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	free(cfgpath);
}

/* What a sandboxed child tries last (sandboxed()). */
enum last_try { TRY_NOTHING, TRY_EXEC, TRY_UNLISTED, TRY_SIGNAL_PARENT };

/*
 * In a child under the worker's filter: each forbidden call must fail with
 * the expected error (exit code = number of the first check that did not),
 * reading a file, threads and AF_UNIX must still work; then the last try:
 * execve kills it (SIGSYS), a call on no list (sync) makes it exit with
 * KEYPROC_EXIT_SANDBOX, as does a signal to another process with tgkill.
 * Its stderr goes to errfile.
 */
static int sandboxed(const char *readable, const char *writable, const char *errfile,
    enum last_try last)
{
	pid_t pid, parent = getpid();
	int status, fd;
	char c;

	if ((pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
	}
	if ((fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		_exit(20);
	close(fd);
	if (keyproc_sandbox(NULL) != 0)
		_exit(1);
	if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EACCES)
		_exit(2);
	if (socket(AF_INET6, SOCK_DGRAM, 0) != -1 || errno != EACCES)
		_exit(3);
	if (open(writable, O_WRONLY | O_CREAT, 0600) != -1 || errno != EACCES)
		_exit(4);
	if (open(readable, O_RDWR) != -1 || errno != EACCES)
		_exit(5);
	if (unlink(readable) != -1 || errno != EPERM)
		_exit(6);
	if (fork() != -1)
		_exit(7);
	if ((fd = open(readable, O_RDONLY)) < 0 || read(fd, &c, 1) != 1)
		_exit(8);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)   /* syslog stays possible */
		_exit(9);
	close(fd);
	if (kill(parent, SIGTERM) != -1 || errno != EPERM)
		_exit(10);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, (int[2]){ 0, 0 }) != -1 || errno != EPERM)
		_exit(11);
	switch (last) {
	case TRY_EXEC: {
		char *argv[] = { "/bin/true", NULL };

		execv("/bin/true", argv);
		_exit(12);
	}
	case TRY_UNLISTED:
		sync();
		_exit(13);
	case TRY_SIGNAL_PARENT:
		(void)syscall(SYS_tgkill, parent, parent, 0);
		_exit(14);
	case TRY_NOTHING:
		break;
	}
	_exit(0);
}

static void test_sandbox(void)
{
	char *w = xasprintf("%s/written", dir), *e = xasprintf("%s/stderr", dir), *text;
	size_t len = 0;

	is_int(sandboxed(files.ca_cert, w, e, TRY_NOTHING), 0,
	    "worker sandbox: no AF_INET/AF_INET6 socket, no open for writing or creating, no "
	    "unlink, no fork, no kill, no socketpair; reading and AF_UNIX still work");
	ok(access(w, F_OK) != 0, "  and the file was not created");
	is_int(sandboxed(files.ca_cert, w, e, TRY_EXEC), 100 + SIGSYS,
	    "worker sandbox: execve kills it");
	is_int(sandboxed(files.ca_cert, w, e, TRY_UNLISTED), KEYPROC_EXIT_SANDBOX,
	    "worker sandbox: a call on no list (sync) is trapped: exit status KEYPROC_EXIT_SANDBOX");
	text = (char *)read_file(e, 4096, &len);
	ok(text != NULL && strstr(text, "system call 0162 is outside the signer's sandbox") != NULL,
	    "  and stderr names the call's number (sync is 162 on x86-64)");
	free(text);
	is_int(sandboxed(files.ca_cert, w, e, TRY_SIGNAL_PARENT), KEYPROC_EXIT_SANDBOX,
	    "worker sandbox: tgkill to another process is trapped");
	free(w);
	free(e);
}

int main(void)
{
	static const char *const names[] = { "ca.crt", "ca.key", "ra-sign.crt", "ra-sign.key",
	    "ra-enc.crt", "ra-enc.key" };
	char *lab = xasprintf("%s/lab", fixture_dir()), *from, *to, *paths[6];
	unsigned char digest[32];
	struct signer *local;
	char err[512];
	size_t len = 0;
	unsigned char *b;

	if (oids_register() != 0 || (dir = catest_tmpdir("keyproc")) == NULL) {
		printf("Bail out! set-up\n");
		return 1;
	}
	for (int i = 0; i < 6; i++) {
		from = xasprintf("%s/%s", lab, names[i]);
		to = xasprintf("%s/%s", dir, names[i]);
		b = read_file(from, 1 << 20, &len);
		if (b == NULL || catest_write(to, "", 0600) != 0) {
			printf("Bail out! cannot copy %s\n", from);
			return 1;
		}
		FILE *f = fopen(to, "w");
		if (f == NULL || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
			printf("Bail out! cannot write %s\n", to);
			return 1;
		}
		free(b);
		free(from);
		paths[i] = to;
	}
	files.ca_cert = paths[0];
	files.ca_key = paths[1];
	files.ra_sign_cert = paths[2];
	files.ra_sign_key = paths[3];
	files.ra_enc_cert = paths[4];
	files.ra_enc_key = paths[5];
	if ((local = signer_load_files(&files, 0, err, sizeof(err))) == NULL ||
	    signer_certs_digest(local, digest) != 0) {
		printf("Bail out! local signer: %s\n", err);
		return 1;
	}
	signer_free(local);

	test_codec();
	test_worker(digest);
	test_served(digest);
	test_remote();
	test_reload_busy();
	test_restart_wait();
	test_sandbox();

	for (int i = 0; i < 6; i++)
		free(paths[i]);
	catest_rmrf(dir);
	free(dir);
	free(lab);
	return done_testing();
}
