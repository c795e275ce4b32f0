/* SPDX-License-Identifier: ISC */
/*
 * test_challenge.c: the challenge modes (src/challenge.c) with NDES semantics:
 * no password required, one static password, one-time passwords in a store in a
 * temporary directory (format, PasswordMax, PasswordValidity, used / expired /
 * unknown, reservation, release, consumption by store_enroll_commit), the
 * removal of the challenge from kept requests, and the log texts.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tap.h"
#include "catest.h"
#include "challenge.h"
#include "csr.h"
#include "config.h"
#include "store.h"
#include "util.h"

static char tmpdir[64];

static void db_remove(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
}

/* The challenge settings as config_load() would give them (NDES defaults). */
static void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enforce_password = 1;
	cfg->use_single_password = 0;
	cfg->single_password = (char *)"";
	cfg->password_length = 8;
	cfg->password_max = 5;
	cfg->password_validity = 60;
}

static int is_upper_hex(const char *s, size_t want_len)
{
	size_t i;

	if (strlen(s) != want_len)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'A' && s[i] <= 'F'))
			return 0;
	return 1;
}

static void test_texts(void)
{
	is_str(challenge_result_text(CHALLENGE_WRONG), "the challenge password is wrong", "text WRONG");
	is_str(challenge_result_text(CHALLENGE_USED), "the one-time challenge password was already used",
	    "text USED");
	is_str(challenge_result_text(CHALLENGE_EXPIRED), "the one-time challenge password expired",
	    "text EXPIRED");
	is_str(challenge_result_text(CHALLENGE_MISSING), "the request carries no challenge password",
	    "text MISSING");
	is_str(challenge_result_text(CHALLENGE_OK), "the challenge password was accepted", "text OK");
	is_str(challenge_result_text(CHALLENGE_ERROR),
	    "the challenge password could not be checked (store failure)", "text ERROR");
	is_str(challenge_result_text((enum challenge_result)42), "unknown challenge result",
	    "text for an unknown value");
}

static void test_not_enforced(void)
{
	struct config cfg;
	int consume = 7;

	config_defaults(&cfg);
	cfg.enforce_password = 0;
	is_int(challenge_check(&cfg, NULL, NULL, 1000, &consume), CHALLENGE_OK,
	    "EnforcePassword 0: no password is fine");
	is_int(consume, 0, "and nothing to consume");
	consume = 7;
	is_int(challenge_check(&cfg, NULL, "anything", 1000, &consume), CHALLENGE_OK,
	    "EnforcePassword 0: any password is fine");
	is_int(consume, 0, "and nothing to consume");
	cfg.use_single_password = 1;
	cfg.single_password = (char *)"S3cret-Static";
	is_int(challenge_check(&cfg, NULL, "wrong", 1000, &consume), CHALLENGE_OK,
	    "EnforcePassword 0 wins over UseSinglePassword");
}

static void test_single(void)
{
	struct config cfg;
	int consume = 7;

	config_defaults(&cfg);
	cfg.use_single_password = 1;
	cfg.single_password = (char *)"S3cret-Static";
	is_int(challenge_check(&cfg, NULL, "S3cret-Static", 1000, &consume), CHALLENGE_OK,
	    "the static password is accepted");
	is_int(consume, 0, "a static password is not consumed");
	is_int(challenge_check(&cfg, NULL, "S3cret-Static", 1000, &consume), CHALLENGE_OK,
	    "and accepted again (reusable)");
	is_int(challenge_check(&cfg, NULL, "s3cret-static", 1000, &consume), CHALLENGE_WRONG,
	    "comparison is case-sensitive");
	is_int(challenge_check(&cfg, NULL, "S3cret-Stati", 1000, &consume), CHALLENGE_WRONG,
	    "a prefix is wrong");
	is_int(challenge_check(&cfg, NULL, "S3cret-Static ", 1000, &consume), CHALLENGE_WRONG,
	    "a longer one is wrong");
	is_int(challenge_check(&cfg, NULL, NULL, 1000, &consume), CHALLENGE_MISSING,
	    "no password: MISSING");
	is_int(challenge_check(&cfg, NULL, "", 1000, &consume), CHALLENGE_MISSING,
	    "an empty password: MISSING");
	cfg.single_password = (char *)"";
	is_int(challenge_check(&cfg, NULL, "x", 1000, &consume), CHALLENGE_WRONG,
	    "an empty static password matches nothing");
	cfg.single_password = NULL;
	is_int(challenge_check(&cfg, NULL, "x", 1000, &consume), CHALLENGE_WRONG,
	    "a NULL static password matches nothing");
}

static void test_one_time(void)
{
	char err[256] = "", pw1[65], pw2[65], pw3[65], small[16];
	char *path = xasprintf("%s/challenge.db", tmpdir);
	struct store *st = NULL;
	struct config cfg;
	struct store_cert cert;
	struct store_enrollment e;
	unsigned char key[32];
	static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	const int64_t t = 3000000;
	int consume = 7, i, rc;

	config_defaults(&cfg);
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "open a store (%s)", err);
	if (st == NULL)
		goto out;

	is_int(challenge_new(&cfg, st, "default", t, pw1, sizeof(pw1)), STORE_OK, "challenge_new");
	ok(is_upper_hex(pw1, 16), "PasswordLength 8 gives 16 upper-case hex characters: %s", pw1);
	is_int(challenge_new(&cfg, st, "default", t, pw2, sizeof(pw2)), STORE_OK, "a second challenge_new");
	ok(strcmp(pw1, pw2) != 0, "two passwords differ (%s, %s)", pw1, pw2);
	is_int(store_challenge_count_unused(st, t), 2, "two passwords cached");

	/* Checking reserves it: a second check of the same password is refused. */
	is_int(challenge_check(&cfg, st, pw1, t + 60 * 60, &consume), CHALLENGE_EXPIRED,
	    "EXPIRED after PasswordValidity minutes");
	is_int(consume, 0, "nothing reserved when expired");
	is_int(challenge_check(&cfg, st, pw1, t + 60 * 60 - 1, &consume), CHALLENGE_OK,
	    "OK at the end of PasswordValidity");
	is_int(consume, 1, "and reserved for this request");
	consume = 7;
	is_int(challenge_check(&cfg, st, pw1, t, &consume), CHALLENGE_USED,
	    "a reserved password is refused to any other request");
	is_int(consume, 0, "nothing reserved then");
	is_int(challenge_release(st, pw1), 0, "released (nothing was issued)");
	is_int(challenge_check(&cfg, st, pw1, t, &consume), CHALLENGE_OK,
	    "a released password can be used again");
	is_int(consume, 1, "and is reserved again");
	is_int(challenge_check(&cfg, st, "0123456789ABCDEF", t, &consume), CHALLENGE_WRONG,
	    "an unknown password is WRONG");
	is_int(challenge_check(&cfg, st, NULL, t, &consume), CHALLENGE_MISSING, "no password: MISSING");
	is_int(challenge_check(&cfg, st, "", t, &consume), CHALLENGE_MISSING, "empty: MISSING");
	is_int(challenge_check(&cfg, NULL, pw1, t, &consume), CHALLENGE_ERROR, "no store: ERROR");

	/* Consumption is done with the enrollment. */
	memset(key, 0x44, sizeof(key));
	memset(&cert, 0, sizeof(cert));
	snprintf(cert.serial, sizeof(cert.serial), "7A");
	cert.subject = (char *)"CN=challenge-test";
	cert.der = (unsigned char *)der;
	cert.der_len = sizeof(der);
	memset(&e, 0, sizeof(e));
	e.transaction_id = "CH-TX-1";
	e.message_type = 19;
	e.pubkey_sha256 = key;
	e.challenge = pw1;
	e.now = t + 1;
	e.cert = &cert;
	is_int(store_enroll_commit(st, &e), STORE_OK, "an enrollment consumes it");
	is_int(challenge_check(&cfg, st, pw1, t + 2, &consume), CHALLENGE_USED, "then it is USED");
	is_int(store_challenge_check(st, pw2, t + 2), STORE_OK, "the other one is still usable");

	/* PasswordMax 5: pw2 and three more fit, the sixth does not. */
	for (i = 0, rc = STORE_OK; i < 3 && rc == STORE_OK; i++)
		rc = challenge_new(&cfg, st, "default", t + 2, pw3, sizeof(pw3));
	is_int(rc, STORE_OK, "three more passwords");
	is_int(store_challenge_count_unused(st, t + 2), 4, "four unused (one was consumed)");
	is_int(challenge_new(&cfg, st, "default", t + 2, pw3, sizeof(pw3)), STORE_OK, "a fifth");
	is_int(challenge_new(&cfg, st, "default", t + 2, pw3, sizeof(pw3)), STORE_CACHE_FULL,
	    "the sixth: cache full (PasswordMax 5)");
	is_str(pw3, "", "no password is handed out when the cache is full");
	is_int(challenge_new(&cfg, st, "default", t + 60 * 60 + 2, pw3, sizeof(pw3)), STORE_OK,
	    "after PasswordValidity the expired ones free the cache");
	cfg.password_max = 1;
	is_int(challenge_new(&cfg, st, "default", t + 60 * 60 + 2, pw3, sizeof(pw3)), STORE_CACHE_FULL,
	    "PasswordMax 1 with one cached: full");

	/* PasswordLength and PasswordValidity. */
	cfg.password_max = 100;
	cfg.password_length = 32;
	cfg.password_validity = 10;
	is_int(challenge_new(&cfg, st, "default", t + 10000, pw3, sizeof(pw3)), STORE_OK, "PasswordLength 32");
	ok(is_upper_hex(pw3, 64), "64 upper-case hex characters: %s", pw3);
	is_int(store_challenge_check(st, pw3, t + 10000 + 599), STORE_OK,
	    "valid for PasswordValidity 10 minutes");
	is_int(store_challenge_check(st, pw3, t + 10000 + 600), STORE_CHALLENGE_EXPIRED,
	    "and expired after them");
	cfg.password_length = 4;
	is_int(challenge_new(&cfg, st, "default", t + 10000, pw3, sizeof(pw3)), STORE_OK, "PasswordLength 4");
	ok(is_upper_hex(pw3, 8), "8 upper-case hex characters: %s", pw3);
	cfg.password_length = 8;
	is_int(challenge_new(&cfg, st, "default", t + 10000, small, sizeof(small)), STORE_ERROR,
	    "an output buffer too small for 16 characters + NUL is refused");
	cfg.password_length = 33;
	is_int(challenge_new(&cfg, st, "default", t + 10000, pw3, sizeof(pw3)), STORE_ERROR,
	    "PasswordLength above 32 is refused");
	cfg.password_length = 0;
	is_int(challenge_new(&cfg, st, "default", t + 10000, pw3, sizeof(pw3)), STORE_ERROR,
	    "PasswordLength 0 is refused");

	/* A store failure is CHALLENGE_ERROR, never OK. */
	store_close(st);
	st = NULL;
	{
		sqlite3 *db = NULL;

		rc = sqlite3_open(path, &db);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "DROP TABLE challenges", NULL, NULL, NULL);
		sqlite3_close(db);
		is_int(rc, SQLITE_OK, "broke the store (dropped the challenges table)");
	}
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "reopen the broken store (%s)", err);
	if (st == NULL)
		goto out;
	consume = 7;
	is_int(challenge_check(&cfg, st, pw2, t + 3, &consume), CHALLENGE_ERROR,
	    "a failing store gives CHALLENGE_ERROR");
	is_int(consume, 0, "and nothing to consume");
	cfg.password_length = 8;
	is_int(challenge_new(&cfg, st, "default", t + 3, pw3, sizeof(pw3)), STORE_ERROR,
	    "challenge_new reports the store failure");
	is_str(pw3, "", "and hands out no password");
out:
	store_close(st);
	db_remove(path);
	free(path);
}

/* keep_original for challenge_redact_waiting: the row of transaction KEEP-ME. */
static int keep_marked(const struct store_pending *p, void *arg)
{
	(*(int *)arg)++;
	return strcmp(p->transaction_id, "KEEP-ME") == 0;
}

static void test_redact(void)
{
	char err[256] = "", *path = xasprintf("%s/redact.db", tmpdir);
	static const char pw[] = "R3dact-Me-0815";
	struct store *st = NULL;
	struct store_enrollment e;
	struct store_pending *p = NULL;
	struct csr *c = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	unsigned char *der = NULL, *out = NULL, keyhash[32], signer[32];
	unsigned char *junk = NULL;
	size_t out_len = 0, junk_len = 0;
	int n, calls = 0;

	if ((key = catest_rsa()) == NULL || (req = catest_csr(key, "CN=redact,O=Lab", pw,
	    "redact.example")) == NULL || (n = i2d_X509_REQ(req, &der)) <= 0) {
		ok(0, "a CSR with a challenge");
		goto out;
	}
	ok(memmem(der, (size_t)n, pw, strlen(pw)) != NULL, "the CSR holds the password");
	is_int(challenge_redact_csr(der, (size_t)n, &out, &out_len), 0, "challenge_redact_csr");
	ok(out != NULL && memmem(out, out_len, pw, strlen(pw)) == NULL,
	    "the kept copy does not hold it");
	c = csr_parse(out, out_len, err, sizeof(err));
	ok(c != NULL, "the kept copy parses (%s)", err);
	if (c != NULL) {
		ok(c->challenge == NULL, "without a challengePassword");
		is_str(c->subject, "O=Lab,CN=redact", "the subject is kept");
		ok(c->san != NULL, "the SAN is kept");
		ok(!c->self_signature_ok, "its own signature no longer verifies (documented)");
	}
	is_int(challenge_redact_csr((const unsigned char *)"\x30\x00", 2, &junk, &junk_len), -1,
	    "not a request: -1");
	ok(junk == NULL, "and nothing returned");

	/* Rows stored before schema 6 (here: stored unredacted) are cleaned on demand. */
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "a store (%s)", err);
	if (st == NULL)
		goto out;
	memset(keyhash, 0x31, sizeof(keyhash));
	memset(signer, 0x32, sizeof(signer));
	memset(&e, 0, sizeof(e));
	e.message_type = 19;
	e.pubkey_sha256 = keyhash;
	e.signer_sha256 = signer;
	e.subject = "CN=redact,O=Lab";
	e.now = 100;
	e.profile = "default";
	e.template_name = "default";
	e.transaction_id = "OLD-ROW";
	is_int(store_request_pending(st, &e, der, (size_t)n), STORE_OK, "a legacy waiting row");
	e.transaction_id = "KEEP-ME";
	is_int(store_request_pending(st, &e, der, (size_t)n), STORE_OK, "one a backend still needs");
	is_int(challenge_redact_waiting(st, keep_marked, &calls), 1, "one row redacted");
	is_int(calls, 2, "keep_original asked for both");
	is_int(store_pending_for_transaction(st, "OLD-ROW", NULL, &p), STORE_OK, "read it back");
	ok(p != NULL && memmem(p->csr, p->csr_len, pw, strlen(pw)) == NULL,
	    "its CSR no longer holds the password");
	store_pending_free(p);
	p = NULL;
	is_int(store_pending_for_transaction(st, "KEEP-ME", NULL, &p), STORE_OK, "the other");
	ok(p != NULL && memmem(p->csr, p->csr_len, pw, strlen(pw)) != NULL,
	    "kept as the device made it");
	calls = 0;
	is_int(challenge_redact_waiting(st, keep_marked, &calls), 0, "a second run changes nothing");
out:
	store_pending_free(p);
	store_close(st);
	db_remove(path);
	free(path);
	csr_free(c);
	OPENSSL_free(out);
	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/scepd-test-challenge-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_texts();
	test_not_enforced();
	test_single();
	test_one_time();
	test_redact();
	if (rmdir(tmpdir) != 0)
		printf("# could not remove %s\n", tmpdir);
	return done_testing();
}
