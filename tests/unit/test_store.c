/* SPDX-License-Identifier: ISC */
/*
 * test_store.c: the SQLite store (src/store.c) in a fresh temporary directory:
 * schema and migrations, WAL, one-time challenges and their cache, enrollment
 * commits (challenge consumed once, one certificate per transactionID), failures,
 * look-ups, listing order, durability across reopen, the handle pool, and races
 * of 8 threads committing with one password or one transactionID.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "tap.h"
#include "store.h"
#include "util.h"
#include "schema_sql.h"

#define NTHREADS 8
#define NROUNDS 20

static char tmpdir[64];

static char *db_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

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

/* One integer from a query run on a separate raw connection; -1 on error. */
static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* One text value from a raw connection, into out ("" on error). */
static const char *raw_text(const char *path, const char *sql, char *out, size_t outlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(s, 0));
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static long long rows(const char *path, const char *table)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	long long n = raw_int(path, sql);

	free(sql);
	return n;
}

static void sha256(const void *in, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		memset(out, 0, 32);
}

static const unsigned char fake_der[] = { 0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x05, 0x00, 0xff };

static void make_cert(struct store_cert *c, const char *serial, const char *subject)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	c->subject = (char *)subject;
	c->not_before = 1000;
	c->not_after = 1000 + 365 * 86400;
	c->der = (unsigned char *)fake_der;
	c->der_len = sizeof(fake_der);
}

static void make_enrollment(struct store_enrollment *e, const char *txid,
    const unsigned char *key, const char *challenge, int64_t now, const struct store_cert *c)
{
	memset(e, 0, sizeof(*e));
	e->transaction_id = txid;
	e->message_type = 19;
	e->client_addr = "192.0.2.7";
	e->pubkey_sha256 = key;
	e->subject = c->subject;
	e->challenge = challenge;
	e->now = now;
	e->cert = c;
}

static void test_open_and_migrations(void)
{
	char err[256] = "", buf[64];
	char *path = db_path("open.db"), *old = db_path("v0.db"), *v1 = db_path("v1.db");
	char *newer = db_path("newer.db"), *junk = db_path("junk.db");
	char *nodir = xasprintf("%s/no/such/dir/x.db", tmpdir);
	struct store *st;
	FILE *f;

	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "store_open creates a database (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "user_version is STORE_SCHEMA_VERSION");
	is_str(raw_text(path, "PRAGMA journal_mode", buf, sizeof(buf)), "wal", "the database is in WAL mode");
	ok(access(path, F_OK) == 0, "the database file exists");
	is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name IN ('challenges', 'requests', 'certificates')"), 3, "the three tables exist");
	is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'requests_one_issued'"
	    " AND sql LIKE '%UNIQUE%WHERE%issued%'"), 1, "partial unique index on issued transactionIDs");
	store_close(st);
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "reopening an up-to-date database works (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "reopen keeps the version");
	store_close(st);
	is_int(schema_migrations[0].version, 1, "the first migration is version 1");
	is_str(schema_migrations[0].name, "001_initial.sql", "the first migration is 001_initial.sql");

	/* An existing database at version 0 (it has an unrelated table). */
	ok(raw_exec(old, "CREATE TABLE unrelated (x INTEGER)") == 0, "made a version 0 database");
	is_int(raw_int(old, "PRAGMA user_version"), 0, "it is at user_version 0");
	st = store_open(old, err, sizeof(err));
	ok(st != NULL, "store_open migrates a version 0 database (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "migrated to the current version");
	store_close(st);
	is_int(rows(old, "unrelated"), 0, "the unrelated table is still there");
	is_int(rows(old, "challenges"), 0, "the challenges table was created");

	/* A database at version 1 made from 001 alone: must not run 001 again. */
	ok(raw_exec(v1, (const char *)schema_migrations[0].sql) == 0 &&
	    raw_exec(v1, "PRAGMA user_version = 1") == 0, "made a database with only 001 applied");
	st = store_open(v1, err, sizeof(err));
	ok(st != NULL, "store_open accepts a database at version 1 (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "version after opening it");
	store_close(st);
	st = store_open(v1, err, sizeof(err));
	ok(st != NULL, "and opens it again (idempotent)");
	store_close(st);

	/* Newer than this build, garbage, and a path that cannot be created. */
	ok(raw_exec(newer, "PRAGMA user_version = 99") == 0, "made a version 99 database");
	err[0] = '\0';
	st = store_open(newer, err, sizeof(err));
	ok(st == NULL && strstr(err, "newer") != NULL, "a newer schema is refused: %s", err);
	store_close(st);
	if ((f = fopen(junk, "w")) != NULL) {
		fputs("this is not an SQLite database, not at all, it is just some text\n", f);
		fclose(f);
	}
	err[0] = '\0';
	st = store_open(junk, err, sizeof(err));
	ok(st == NULL && err[0] != '\0', "a file that is not a database is refused: %s", err);
	store_close(st);
	err[0] = '\0';
	st = store_open(nodir, err, sizeof(err));
	ok(st == NULL && err[0] != '\0', "a path in a missing directory is refused: %s", err);
	store_close(st);

	db_remove(path);
	db_remove(old);
	db_remove(v1);
	db_remove(newer);
	db_remove(junk);
	free(path);
	free(old);
	free(v1);
	free(newer);
	free(junk);
	free(nodir);
}

static void test_challenges(void)
{
	char err[256] = "", hex[65], buf[128];
	char *path = db_path("challenges.db");
	unsigned char h[32];
	struct store *st;
	const int64_t t = 1000000, life = 3600;
	char pw[16];
	int i;

	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "open for challenges (%s)", err);
	if (st == NULL)
		goto out;
	is_int(store_challenge_add(st, "PW-A", "default", t, t + life, 5), STORE_OK,
	    "add a one-time password");
	is_int(store_challenge_check(st, "PW-A", t), STORE_OK, "it checks OK");
	is_int(store_challenge_check(st, "PW-A", t + life - 1), STORE_OK, "OK one second before expiry");
	is_int(store_challenge_check(st, "PW-A", t + life), STORE_CHALLENGE_EXPIRED, "expired at expires_at");
	is_int(store_challenge_check(st, "PW-B", t), STORE_CHALLENGE_UNKNOWN, "an unknown password");
	is_int(store_challenge_check(st, "pw-a", t), STORE_CHALLENGE_UNKNOWN, "passwords are case-sensitive");
	is_int(store_challenge_count_unused(st, t), 1, "one unused");

	/* Only the SHA-256 is stored. */
	sha256("PW-A", 4, h);
	hex_encode(h, 32, hex, 1);
	is_str(raw_text(path, "SELECT hex(password_sha256) FROM challenges", buf, sizeof(buf)), hex,
	    "the password is stored as its SHA-256");
	is_int(raw_int(path, "SELECT count(*) FROM challenges WHERE CAST(password_sha256 AS TEXT)"
	    " LIKE '%PW-A%'"), 0, "the password is not stored in clear");

	/* PasswordMax. */
	for (i = 2; i <= 5; i++) {
		snprintf(pw, sizeof(pw), "PW-%d", i);
		is_int(store_challenge_add(st, pw, "default", t + i, t + life + i, 5), STORE_OK, "add %s", pw);
	}
	is_int(store_challenge_count_unused(st, t + 10), 5, "five unused");
	is_int(store_challenge_add(st, "PW-6", "default", t + 10, t + life + 10, 5), STORE_CACHE_FULL,
	    "the sixth is refused: cache full");
	ok(strstr(store_errmsg(st), "PasswordMax 5") != NULL, "message: %s", store_errmsg(st));
	is_int(store_challenge_check(st, "PW-6", t + 10), STORE_CHALLENGE_UNKNOWN, "and was not stored");
	is_int(store_challenge_add(st, "PW-7", "default", t, t + life, 0), STORE_CACHE_FULL,
	    "PasswordMax 0 takes none");

	/* PW-A expires at t + life; PW-2..5 two to five seconds later. */
	is_int(store_challenge_count_unused(st, t + life), 4, "at t+life PW-A no longer counts");
	is_int(store_challenge_add(st, "PW-6", "default", t + life, t + 2 * life, 5), STORE_OK,
	    "an expired password frees its place");
	is_int(rows(path, "challenges"), 5, "the expired one was purged when adding");
	is_int(store_challenge_check(st, "PW-A", t + life), STORE_CHALLENGE_UNKNOWN,
	    "a purged password is unknown");
	is_int(store_challenge_add(st, "PW-7", "default", t + life, t + 2 * life, 5), STORE_CACHE_FULL,
	    "full again with five unused");
	is_int(store_challenge_add(st, "PW-7", "default", t + life, t + 2 * life, 6), STORE_OK,
	    "a larger PasswordMax takes one more");
	is_int(store_challenge_add(st, "PW-7", "default", t + life, t + 2 * life, 10), STORE_ERROR,
	    "adding the same password twice fails");
	is_int(rows(path, "challenges"), 6, "six rows");
	is_int(store_challenge_count_unused(st, t + life + 100), 2, "two unused later");
	is_int(store_challenge_purge(st, t + life + 100), 4, "purge removes the four expired");
	is_int(rows(path, "challenges"), 2, "two rows left");
	is_int(store_challenge_purge(st, t + life + 100), 0, "a second purge removes nothing");

	/* Profiles: a password belongs to the profile it was made for (each has its cache). */
	is_int(store_challenge_add(st, "PW-P", "vpn", t + life, t + 2 * life, 1), STORE_OK,
	    "a password for profile vpn");
	is_int(store_challenge_add(st, "PW-Q", "vpn", t + life, t + 2 * life, 1), STORE_CACHE_FULL,
	    "PasswordMax counts the profile's own passwords");
	is_int(store_challenge_reserve(st, "PW-P", "default", t + life), STORE_CHALLENGE_OTHER_PROFILE,
	    "refused on the default (NDES) profile");
	is_int(store_challenge_reserve(st, "PW-P", "wifi", t + life), STORE_CHALLENGE_OTHER_PROFILE,
	    "refused on another profile");
	is_int(store_challenge_reserve(st, "PW-6", "vpn", t + life), STORE_CHALLENGE_OTHER_PROFILE,
	    "a default-profile password is refused on a profile");
	is_int(store_challenge_reserve(st, "PW-P", "vpn", t + life), STORE_OK,
	    "accepted on its own profile");
	is_int(store_challenge_reserve(st, "PW-P", "vpn", t + life), STORE_CHALLENGE_USED,
	    "and then in use");
	is_int(store_challenge_count_unused(st, t + life), 2,
	    "a reserved password is not unused (two of default)");
	/* A reservation nobody ends (a crash) outlives expiry by a day, then goes. */
	is_int(store_challenge_purge(st, t + 2 * life), 2, "purge at expiry keeps the reserved one");
	is_int(store_challenge_reserve(st, "PW-P", "vpn", t + 2 * life), STORE_CHALLENGE_USED,
	    "still refused");
	is_int(store_challenge_purge(st, t + 2 * life + 86400), 1, "a day later it is purged");
out:
	store_close(st);
	db_remove(path);
	free(path);
}

static void test_enroll(void)
{
	char err[256] = "", buf[256], *path = db_path("enroll.db");
	unsigned char key1[32], key2[32], got_key[32];
	struct store_cert c1, c2, c3, *got = NULL;
	struct store_enrollment e;
	struct store *st;
	const int64_t t = 2000000;

	memset(key1, 0x11, sizeof(key1));
	memset(key2, 0x22, sizeof(key2));
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "open for enrollments (%s)", err);
	if (st == NULL)
		goto out;
	is_int(store_challenge_add(st, "OTP-1", "default", t, t + 3600, 5), STORE_OK, "add OTP-1");
	is_int(store_challenge_add(st, "OTP-OLD", "default", t - 7200, t - 3600, 5), STORE_OK,
	    "add an expired OTP");

	make_cert(&c1, "01", "CN=device-1,O=Lab");
	make_enrollment(&e, "TX-1", key1, "OTP-1", t, &c1);
	is_int(store_enroll_commit(st, &e), STORE_ERROR, "an unreserved password is not consumed");
	is_int(rows(path, "certificates"), 0, "and nothing is written");
	is_int(store_challenge_reserve(st, "OTP-1", "default", t), STORE_OK, "reserve OTP-1");
	is_int(store_challenge_reserve(st, "OTP-1", "default", t), STORE_CHALLENGE_USED,
	    "a reserved password cannot be reserved again");
	is_int(store_challenge_check(st, "OTP-1", t), STORE_CHALLENGE_USED,
	    "a reserved password is in use");
	is_int(store_enroll_commit(st, &e), STORE_OK, "commit with a one-time password");
	is_int(store_challenge_check(st, "OTP-1", t), STORE_CHALLENGE_USED, "the password is consumed");
	is_int(raw_int(path, "SELECT used_at FROM challenges WHERE used_at IS NOT NULL"), t,
	    "used_at is the commit time");
	is_int(rows(path, "certificates"), 1, "one certificate row");
	is_int(rows(path, "requests"), 1, "one request row");
	is_str(raw_text(path, "SELECT outcome || ' ' || cert_serial || ' ' || transaction_id ||"
	    " ' ' || client_addr || ' ' || message_type FROM requests", buf, sizeof(buf)),
	    "issued 01 TX-1 192.0.2.7 19", "the request row records the outcome");

	/* The same password again, another transaction: refused, nothing written. */
	make_cert(&c2, "02", "CN=device-2,O=Lab");
	make_enrollment(&e, "TX-2", key2, "OTP-1", t + 1, &c2);
	is_int(store_enroll_commit(st, &e), STORE_CHALLENGE_USED, "a used password is refused");
	is_int(rows(path, "certificates"), 1, "still one certificate row");
	is_int(rows(path, "requests"), 1, "still one request row");
	e.challenge = "OTP-OLD";
	is_int(store_enroll_commit(st, &e), STORE_CHALLENGE_EXPIRED, "an expired password is refused");
	e.challenge = "NO-SUCH";
	is_int(store_enroll_commit(st, &e), STORE_CHALLENGE_UNKNOWN, "an unknown password is refused");
	is_int(rows(path, "certificates"), 1, "still one certificate row");
	is_int(rows(path, "requests"), 1, "still one request row");
	is_int(raw_int(path, "SELECT count(*) FROM challenges WHERE used_at IS NOT NULL"), 1,
	    "the expired password was not consumed");

	/* The same transactionID again. */
	make_cert(&c3, "03", "CN=device-1,O=Lab");
	make_enrollment(&e, "TX-1", key2, NULL, t + 2, &c3);
	is_int(store_enroll_commit(st, &e), STORE_CONFLICT, "an issued transactionID conflicts");
	ok(strstr(store_errmsg(st), "TX-1") != NULL, "message names it: %s", store_errmsg(st));
	e.challenge = "OTP-1";
	is_int(store_enroll_commit(st, &e), STORE_CONFLICT,
	    "the transactionID is checked before the challenge");
	is_int(rows(path, "certificates"), 1, "still one certificate row");

	/* A duplicate serial rolls everything back, challenge included. */
	is_int(store_challenge_add(st, "OTP-2", "default", t, t + 3600, 5), STORE_OK, "add OTP-2");
	is_int(store_challenge_reserve(st, "OTP-2", "default", t + 3), STORE_OK, "reserve OTP-2");
	make_enrollment(&e, "TX-3", key2, "OTP-2", t + 3, &c1);
	is_int(store_enroll_commit(st, &e), STORE_ERROR, "a duplicate serial fails");
	ok(strstr(store_errmsg(st), "serial 01") != NULL, "message: %s", store_errmsg(st));
	is_int(raw_int(path, "SELECT count(*) FROM challenges WHERE used_at IS NULL"
	    " AND reserved_at IS NOT NULL"), 1, "and OTP-2 is not consumed (still reserved)");
	is_int(store_challenge_release(st, "OTP-2"), STORE_OK, "OTP-2 released");
	is_int(store_challenge_check(st, "OTP-2", t + 3), STORE_OK, "and usable again");
	is_int(store_challenge_release(st, "OTP-2"), STORE_NOT_FOUND,
	    "releasing an unreserved password changes nothing");
	is_int(rows(path, "requests"), 1, "still one request row");
	make_enrollment(&e, NULL, key2, NULL, t + 3, &c2);
	is_int(store_enroll_commit(st, &e), STORE_ERROR, "no transactionID: error");
	make_enrollment(&e, "TX-3", NULL, NULL, t + 3, &c2);
	is_int(store_enroll_commit(st, &e), STORE_ERROR, "no key hash: error");

	/* Look-ups. */
	is_int(store_issued_for_transaction(st, "TX-1", &got, got_key), STORE_OK, "issued for TX-1");
	if (got != NULL) {
		is_str(got->serial, "01", "its serial");
		is_str(got->subject, "CN=device-1,O=Lab", "its subject");
		ok(got->der_len == sizeof(fake_der) && memcmp(got->der, fake_der, sizeof(fake_der)) == 0,
		    "its DER");
		is_int(got->not_before, 1000, "not_before");
		is_int(got->not_after, 1000 + 365 * 86400, "not_after");
		is_str(got->status, "valid", "status");
		is_str(got->transaction_id, "TX-1", "transaction_id");
		is_int(got->issued_at, t, "issued_at");
		ok(memcmp(got_key, key1, 32) == 0, "the key hash it was issued for");
	}
	store_cert_free(got);
	got = (struct store_cert *)1;
	is_int(store_issued_for_transaction(st, "TX-9", &got, got_key), STORE_NOT_FOUND,
	    "nothing issued for TX-9");
	ok(got == NULL, "and *out is NULL");

	/* Failures are recorded and never block a retry. */
	is_int(store_request_failed(st, "TX-4", 19, "192.0.2.8", key2, "CN=device-4", 2,
	    "the challenge password is wrong", t + 4), STORE_OK, "record a failure");
	is_int(store_request_failed(st, "TX-4", 19, NULL, NULL, NULL, -1, NULL, t + 5), STORE_OK,
	    "a second failure for the same transactionID");
	is_str(raw_text(path, "SELECT outcome || ' ' || failinfo || ' ' || reason FROM requests"
	    " WHERE transaction_id = 'TX-4' ORDER BY id LIMIT 1", buf, sizeof(buf)),
	    "failure 2 the challenge password is wrong", "failinfo and reason recorded");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id = 'TX-4'"
	    " AND failinfo IS NULL"), 1, "failinfo -1 is stored as NULL");
	got = NULL;
	is_int(store_issued_for_transaction(st, "TX-4", &got, NULL), STORE_NOT_FOUND,
	    "a failed transaction has no certificate");
	is_int(store_challenge_reserve(st, "OTP-2", "default", t + 6), STORE_OK, "reserve OTP-2");
	make_enrollment(&e, "TX-4", key2, "OTP-2", t + 6, &c2);
	is_int(store_enroll_commit(st, &e), STORE_OK, "a retry after failures is issued");
	is_int(rows(path, "requests"), 4, "four request rows");

	got = NULL;
	is_int(store_cert_by_serial(st, "02", &got), STORE_OK, "certificate 02 by serial");
	if (got != NULL)
		is_str(got->transaction_id, "TX-4", "it belongs to TX-4");
	store_cert_free(got);
	got = NULL;
	make_cert(&c3, "0ABC", "CN=device-5");
	make_enrollment(&e, "TX-5", key1, NULL, t + 7, &c3);
	is_int(store_enroll_commit(st, &e), STORE_OK, "commit without a challenge");
	is_int(store_cert_by_serial(st, "0x0abc", &got), STORE_OK, "look-up accepts 0x and lower case");
	if (got != NULL)
		is_str(got->serial, "0ABC", "found 0ABC");
	store_cert_free(got);
	got = (struct store_cert *)1;
	is_int(store_cert_by_serial(st, "FF", &got), STORE_NOT_FOUND, "no certificate FF");
	ok(got == NULL, "and *out is NULL");

	/* Durability: everything is there after close and reopen. */
	store_close(st);
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "reopen (%s)", err);
	if (st == NULL)
		goto out;
	got = NULL;
	is_int(store_issued_for_transaction(st, "TX-4", &got, got_key), STORE_OK,
	    "TX-4's certificate survives a reopen");
	ok(got != NULL && strcmp(got->serial, "02") == 0 && memcmp(got_key, key2, 32) == 0,
	    "with its serial and key hash");
	store_cert_free(got);
	is_int(store_challenge_check(st, "OTP-2", t + 10), STORE_CHALLENGE_USED,
	    "the consumed password stays consumed");
	/* OTP-OLD (expired) went when OTP-2 was added; OTP-1 and OTP-2 are used. */
	is_int(store_challenge_purge(st, t + 10), 2, "purge removes the used passwords");
	is_int(rows(path, "challenges"), 0, "no challenge rows left");
out:
	store_close(st);
	db_remove(path);
	free(path);
}

struct collect {
	char serials[256];
	int calls, stop_after;
};

static int collect_cb(const struct store_cert *c, void *arg)
{
	struct collect *col = arg;
	size_t used = strlen(col->serials);

	snprintf(col->serials + used, sizeof(col->serials) - used, "%s%s", used ? "," : "", c->serial);
	col->calls++;
	return col->stop_after > 0 && col->calls == col->stop_after ? 7 : 0;
}

static void test_foreach(void)
{
	static const struct {
		const char *serial;
		int64_t at;
	} certs[] = {
		{ "0B", 2000 }, { "05", 3000 }, { "0A", 2000 }, { "01", 1000 }, { "10", 3000 },
	};
	char err[256] = "", txid[32], *path = db_path("foreach.db");
	struct collect col;
	struct store_cert c;
	struct store_enrollment e;
	unsigned char key[32];
	struct store *st;
	size_t i;

	memset(key, 0x33, sizeof(key));
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "open for listing (%s)", err);
	if (st == NULL)
		goto out;
	memset(&col, 0, sizeof(col));
	is_int(store_cert_foreach(st, collect_cb, &col), 0, "listing an empty store");
	is_int(col.calls, 0, "no calls");
	for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		snprintf(txid, sizeof(txid), "T-%s", certs[i].serial);
		make_cert(&c, certs[i].serial, "CN=x");
		make_enrollment(&e, txid, key, NULL, certs[i].at, &c);
		is_int(store_enroll_commit(st, &e), STORE_OK, "commit %s", certs[i].serial);
	}
	memset(&col, 0, sizeof(col));
	is_int(store_cert_foreach(st, collect_cb, &col), 0, "listing returns 0");
	is_str(col.serials, "05,10,0A,0B,01", "newest first, then by serial");
	memset(&col, 0, sizeof(col));
	col.stop_after = 2;
	is_int(store_cert_foreach(st, collect_cb, &col), 7, "a non-zero result stops and is returned");
	is_int(col.calls, 2, "after two calls");
out:
	store_close(st);
	db_remove(path);
	free(path);
}

/* --- pool and races -------------------------------------------------------- */

struct racer {
	struct store_pool *pool;
	pthread_barrier_t *barrier;
	const char *challenge;
	char txid[32];
	struct store_cert cert;
	unsigned char key[32];
	int64_t now;
	enum store_rc rc;
	int got_handle;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct store_enrollment e;
	struct store *st;
	char err[256];

	st = store_pool_get(r->pool, err, sizeof(err));
	r->got_handle = st != NULL;
	make_enrollment(&e, r->txid, r->key, r->challenge, r->now, &r->cert);
	pthread_barrier_wait(r->barrier);
	/* As scep.c does: the password is reserved first, then the CA asked, then committed. */
	r->rc = st == NULL ? STORE_ERROR : r->challenge == NULL ? STORE_OK :
	    store_challenge_reserve(st, r->challenge, "default", r->now);
	if (r->rc == STORE_OK)
		r->rc = store_enroll_commit(st, &e);
	if (r->rc == STORE_ERROR && st != NULL)
		printf("# thread error: %s\n", store_errmsg(st));
	store_pool_put(r->pool, st);
	return NULL;
}

/*
 * NTHREADS threads commit at once. same_txid: all use one transactionID and no
 * password; otherwise one password and different transactionIDs. Returns the
 * number of STORE_OK; *other counts the expected refusals.
 */
static int race(struct store_pool *pool, int round, int same_txid, const char *password,
    int *other, int *handles)
{
	struct racer r[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t barrier;
	int i, n_ok = 0, started = 0;

	*other = 0;
	*handles = 0;
	if (pthread_barrier_init(&barrier, NULL, NTHREADS) != 0)
		return -1;
	for (i = 0; i < NTHREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].pool = pool;
		r[i].barrier = &barrier;
		r[i].challenge = same_txid ? NULL : password;
		if (same_txid)
			snprintf(r[i].txid, sizeof(r[i].txid), "RACE-TX-%d", round);
		else
			snprintf(r[i].txid, sizeof(r[i].txid), "RACE-%d-%d", round, i);
		make_cert(&r[i].cert, "", "CN=racer");
		snprintf(r[i].cert.serial, sizeof(r[i].cert.serial), "%02X%02X%02X",
		    same_txid ? 0xEE : 0xAA, round, i);
		memset(r[i].key, i, sizeof(r[i].key));
		r[i].now = 5000000 + round;
	}
	for (i = 0; i < NTHREADS; i++) {
		if (pthread_create(&th[i], NULL, racer_main, &r[i]) != 0)
			break;
		started++;
	}
	if (started != NTHREADS) {
		/* Cannot happen in practice; the barrier would never open. */
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < NTHREADS; i++) {
		if (r[i].rc == STORE_OK)
			n_ok++;
		else if (r[i].rc == (same_txid ? STORE_CONFLICT : STORE_CHALLENGE_USED))
			(*other)++;
		*handles += r[i].got_handle;
	}
	return n_ok;
}

struct pool_worker {
	struct store_pool *pool;
	int failures;
};

static void *pool_worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct store *st;
	char err[256];
	int i;

	for (i = 0; i < 50; i++) {
		if ((st = store_pool_get(w->pool, err, sizeof(err))) == NULL) {
			w->failures++;
			continue;
		}
		if (store_challenge_count_unused(st, 0) != 0)
			w->failures++;
		store_pool_put(w->pool, st);
	}
	return NULL;
}

static void test_pool_and_races(void)
{
	char err[256] = "", pw[32], *path = db_path("pool.db");
	char *nodir = xasprintf("%s/no/such/dir/x.db", tmpdir);
	struct pool_worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct store_pool *pool;
	struct store *a, *b, *c, *admin;
	int i, n_ok, other, handles, bad_rounds = 0, started = 0, failures = 0;

	err[0] = '\0';
	pool = store_pool_new(nodir, err, sizeof(err));
	ok(pool == NULL && err[0] != '\0', "a pool on a bad path fails: %s", err);
	store_pool_free(pool);

	err[0] = '\0';
	pool = store_pool_new(path, err, sizeof(err));
	ok(pool != NULL, "store_pool_new (%s)", err);
	if (pool == NULL)
		goto out;
	is_int(raw_int(path, "PRAGMA user_version"), STORE_SCHEMA_VERSION, "the pool migrated the database");
	a = store_pool_get(pool, err, sizeof(err));
	b = store_pool_get(pool, err, sizeof(err));
	ok(a != NULL && b != NULL && a != b, "two handles from the pool are distinct");
	store_pool_put(pool, b);
	c = store_pool_get(pool, err, sizeof(err));
	ok(c == b, "a returned handle is reused");
	store_pool_put(pool, a);
	store_pool_put(pool, c);
	store_pool_put(pool, NULL);

	for (i = 0; i < NTHREADS; i++) {
		w[i].pool = pool;
		w[i].failures = 0;
		if (pthread_create(&th[i], NULL, pool_worker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += w[i].failures;
	}
	ok(started == NTHREADS && failures == 0, "%d threads share the pool (%d failures)",
	    started, failures);

	/* One one-time password, NTHREADS requests at once: exactly one certificate. */
	admin = store_pool_get(pool, err, sizeof(err));
	ok(admin != NULL, "an admin handle");
	if (admin == NULL)
		goto out;
	for (i = 0; i < NROUNDS; i++) {
		snprintf(pw, sizeof(pw), "RACE-PW-%d", i);
		if (store_challenge_add(admin, pw, "default", 5000000 + i, 5000000 + i + 3600,
		    5) != STORE_OK) {
			bad_rounds++;
			continue;
		}
		n_ok = race(pool, i, 0, pw, &other, &handles);
		if (n_ok != 1 || other != NTHREADS - 1 || handles != NTHREADS) {
			printf("# round %d: %d OK, %d USED, %d handles\n", i, n_ok, other, handles);
			bad_rounds++;
		}
	}
	is_int(bad_rounds, 0, "%d rounds of %d threads racing with one password: one OK, the rest USED",
	    NROUNDS, NTHREADS);
	is_int(raw_int(path, "SELECT count(*) FROM certificates WHERE serial LIKE 'AA%'"), NROUNDS,
	    "exactly one certificate per round");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id LIKE 'RACE-%'"),
	    NROUNDS, "exactly one request row per round");

	/* One transactionID, NTHREADS requests at once: exactly one certificate. */
	bad_rounds = 0;
	for (i = 0; i < NROUNDS; i++) {
		n_ok = race(pool, i, 1, NULL, &other, &handles);
		if (n_ok != 1 || other != NTHREADS - 1) {
			printf("# round %d: %d OK, %d CONFLICT\n", i, n_ok, other);
			bad_rounds++;
		}
	}
	is_int(bad_rounds, 0, "%d rounds of %d threads racing with one transactionID: one OK, the rest CONFLICT",
	    NROUNDS, NTHREADS);
	is_int(raw_int(path, "SELECT count(*) FROM certificates WHERE serial LIKE 'EE%'"), NROUNDS,
	    "exactly one certificate per transactionID");
	store_pool_put(pool, admin);
out:
	store_pool_free(pool);
	db_remove(path);
	free(path);
	free(nodir);
}


/* Migration 003 (lifecycle): a database made at version 1 with a certificate keeps it. */
static void test_migration_lifecycle(void)
{
	char err[256] = "", *path = db_path("m2.db");
	struct store *st;
	struct store_cert *c = NULL;

	ok(raw_exec(path, (const char *)schema_migrations[0].sql) == 0 &&
	    raw_exec(path, "PRAGMA user_version = 1") == 0 &&
	    raw_exec(path, "INSERT INTO certificates (serial, subject, not_before, not_after, der,"
	    " issued_at) VALUES ('0A', 'CN=old', 1, 2, x'3000', 3)") == 0,
	    "made a version 1 database with one certificate");
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "it migrates to the current version (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "current version");
	is_int(store_cert_by_serial(st, "0a", &c), STORE_OK, "the old certificate is still there");
	if (c != NULL) {
		is_str(c->issuer_key_id, "", "without an issuer recorded");
		is_str(c->renewed_serial, "", "and without a renewed serial");
	}
	store_cert_free(c);
	is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'crls'"), 1,
	    "the crls table exists");
	is_int(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'requests_one_pending'"
	    " AND sql LIKE '%UNIQUE%pending%'"), 1, "one waiting request per transactionID");
	store_close(st);
	db_remove(path);
	free(path);
}

/* Migration 005: a request a backend held at version 4 (by type) belongs to "default". */
static void test_migration_backend_names(void)
{
	char err[256] = "", out[64], *path = db_path("m5.db");
	struct store *st;
	int made = 1;

	for (size_t i = 0; i < 4; i++)
		made = made && raw_exec(path, (const char *)schema_migrations[i].sql) == 0;
	ok(made && raw_exec(path, "PRAGMA user_version = 4") == 0 &&
	    raw_exec(path, "INSERT INTO requests (transaction_id, message_type, outcome, created_at,"
	    " backend, backend_handle) VALUES ('T1', 19, 'pending', 1, 'scep', 'h1'),"
	    " ('T2', 19, 'pending', 2, NULL, NULL)") == 0,
	    "made a version 4 database with a request the scep backend holds");
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "it migrates to the current version (%s)", err);
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "current version");
	is_str(raw_text(path, "SELECT backend FROM requests WHERE transaction_id = 'T1'", out,
	    sizeof(out)), "default", "the held request now names the backend \"default\"");
	is_str(raw_text(path, "SELECT backend_handle FROM requests WHERE transaction_id = 'T1'",
	    out, sizeof(out)), "h1", "and keeps its handle");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id = 'T2' AND "
	    "backend IS NULL"), 1, "a request waiting for an administrator names no backend");
	store_close(st);
	db_remove(path);
	free(path);
}

static int count_pending(const struct store_pending *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
	return 0;
}

/* Waiting requests: record, find, decide, issue; one per transactionID. */
/* The envelope kept for a CA backend lives until the backend has the request. */
static void test_pending_envelope(void)
{
	char err[256] = "", *path = db_path("envelope.db");
	static const unsigned char csr[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char env[] = { 0x30, 0x03, 0x04, 0x01, 0x42 };
	unsigned char key[32], signer[32];
	struct store *st;
	struct store_enrollment e;
	struct store_pending *p = NULL;
	static const char *const tx[] = { "TX-E1", "TX-E2", "TX-E3" };
	int64_t id[3] = { 0, 0, 0 };
	size_t i;

	sha256("key", 3, key);
	sha256("signer", 6, signer);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		ok(0, "store_open (%s)", err);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.message_type = 19;
	e.pubkey_sha256 = key;
	e.signer_sha256 = signer;
	e.subject = "CN=enveloped";
	e.now = 300;
	e.profile = "default";
	e.template_name = "default";
	e.envelope = env;
	e.envelope_len = sizeof(env);
	for (i = 0; i < 3; i++) {
		e.transaction_id = tx[i];
		is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK, "waiting %s", tx[i]);
		if (store_pending_for_transaction(st, tx[i], NULL, &p) == STORE_OK) {
			id[i] = p->id;
			ok(p->envelope_len == sizeof(env) && memcmp(p->envelope, env, sizeof(env)) == 0,
			    "%s keeps its envelope", tx[i]);
		}
		store_pending_free(p);
		p = NULL;
	}
	is_int(store_pending_set_backend(st, id[0], "up", NULL), STORE_OK,
	    "TX-E1: the backend was unavailable (no handle)");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id = 'TX-E1'"
	    " AND envelope IS NOT NULL"), 1, "so the envelope is kept to submit again");
	is_int(store_pending_set_backend(st, id[0], "up", "scep1;handle"), STORE_OK,
	    "TX-E1: then the backend answered PENDING with a handle");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id = 'TX-E1'"
	    " AND envelope IS NOT NULL"), 0, "the envelope is deleted");
	is_int(store_pending_refuse(st, id[1], 2, "refused", 400), STORE_OK, "TX-E2 refused");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE transaction_id = 'TX-E2'"
	    " AND envelope IS NOT NULL"), 0, "a refused request keeps no envelope");
	is_int(store_pending_decide(st, id[2], 0, 400), STORE_OK, "TX-E3 rejected by an administrator");
	is_int(raw_int(path, "SELECT count(*) FROM requests WHERE envelope IS NOT NULL"), 0,
	    "no envelope left");
	store_close(st);
	db_remove(path);
	free(path);
}

static void test_pending(void)
{
	char err[256] = "", *path = db_path("pending.db");
	static const unsigned char csr[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	unsigned char key[32], signer[32], other[32];
	struct store *st;
	struct store_enrollment e;
	struct store_pending *p = NULL;
	struct store_cert c, *got = NULL;
	unsigned char k2[32];
	int n;

	sha256("key", 3, key);
	sha256("signer", 6, signer);
	sha256("other", 5, other);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		ok(0, "store_open (%s)", err);
		return;
	}
	ok(store_challenge_add(st, "PW-PENDING", "default", 100, 10000, 5) == STORE_OK,
	    "a one-time password");
	memset(&e, 0, sizeof(e));
	e.transaction_id = "TX-P1";
	e.message_type = 19;
	e.client_addr = "192.0.2.9";
	e.pubkey_sha256 = key;
	e.signer_sha256 = signer;
	e.subject = "CN=waiting";
	e.challenge = "PW-PENDING";
	e.now = 200;
	e.profile = "default";
	e.template_name = "sig";
	e.renew_serial = "0B";
	is_int(store_challenge_reserve(st, "PW-PENDING", "default", 200), STORE_OK,
	    "its one-time password reserved");
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK, "request recorded as waiting");
	is_int(store_challenge_check(st, "PW-PENDING", 300), STORE_CHALLENGE_USED,
	    "its one-time password is consumed with it");
	e.challenge = NULL;
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_CONFLICT,
	    "a second waiting request for the transaction is refused");
	is_int(store_pending_for_transaction(st, "TX-P1", "0B", &p), STORE_OK,
	    "found by transactionID and renewed serial");
	if (p != NULL) {
		ok(p->id > 0, "it has an id");
		is_str(p->subject, "CN=waiting", "subject");
		is_str(p->profile, "default", "profile");
		is_str(p->template_name, "sig", "template");
		is_str(p->renew_serial, "0B", "renewed serial");
		is_str(p->decision, "", "no decision yet");
		ok(memcmp(p->signer_sha256, signer, 32) == 0, "signer key hash");
		ok(memcmp(p->pubkey_sha256, key, 32) == 0, "CSR key hash");
		ok(p->csr_len == sizeof(csr) && memcmp(p->csr, csr, sizeof(csr)) == 0, "the CSR bytes");
		is_int(p->created_at, 200, "created_at");
	}
	store_pending_free(p);
	p = NULL;
	is_int(store_pending_for_transaction(st, "TX-P1", NULL, &p), STORE_NOT_FOUND,
	    "not as a first enrollment");
	is_int(store_pending_for_transaction(st, "TX-NONE", NULL, &p), STORE_NOT_FOUND,
	    "unknown transaction");
	n = 0;
	is_int(store_pending_foreach(st, 0, count_pending, &n), 0, "list waiting requests");
	is_int(n, 1, "one undecided request");

	/* Approve, then issue. */
	is_int(store_pending_for_transaction(st, "TX-P1", "0B", &p), STORE_OK,
	    "look-up before deciding");
	is_int(store_pending_decide(st, p != NULL ? p->id : 0, 1, 400), STORE_OK, "approve it");
	is_int(store_pending_decide(st, p != NULL ? p->id : 0, 0, 401), STORE_CONFLICT,
	    "a second decision is refused");
	is_int(store_pending_decide(st, 99999, 1, 401), STORE_NOT_FOUND, "unknown id");
	n = 0;
	store_pending_foreach(st, 0, count_pending, &n);
	is_int(n, 0, "no undecided request left");
	n = 0;
	store_pending_foreach(st, 1, count_pending, &n);
	is_int(n, 1, "one decided, not yet issued");
	make_cert(&c, "0C", "CN=waiting");
	snprintf(c.issuer_key_id, sizeof(c.issuer_key_id), "ABCDEF");
	e.cert = &c;
	e.now = 500;
	is_int(store_pending_issue(st, p != NULL ? p->id : 0, &e), STORE_OK, "issue the approved request");
	is_int(store_pending_issue(st, p != NULL ? p->id : 0, &e), STORE_CONFLICT,
	    "issuing twice is refused");
	store_pending_free(p);
	p = NULL;
	is_int(store_pending_for_transaction(st, "TX-P1", "0B", &p), STORE_NOT_FOUND,
	    "no longer waiting");
	is_int(store_issued_for_transaction(st, "TX-P1", &got, k2), STORE_NOT_FOUND,
	    "a renewal is not the transaction's first enrollment");
	is_int(store_issued_for_renewal(st, "TX-P1", "0B", &got, k2), STORE_OK,
	    "it is an issued renewal now");
	if (got != NULL) {
		is_str(got->serial, "0C", "with its certificate");
		is_str(got->issuer_key_id, "ABCDEF", "and the issuer recorded");
		ok(got->has_signer_sha256 && memcmp(got->signer_sha256, signer, 32) == 0,
		    "and the signer key hash");
	}
	store_cert_free(got);
	got = NULL;

	/* Reject. */
	e.transaction_id = "TX-P2";
	e.renew_serial = NULL;
	e.cert = NULL;
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK, "second request waits");
	is_int(store_pending_for_transaction(st, "TX-P2", NULL, &p), STORE_OK, "found");
	is_int(store_pending_decide(st, p != NULL ? p->id : 0, 0, 600), STORE_OK, "reject it");
	store_pending_free(p);
	p = NULL;
	is_int(store_pending_for_transaction(st, "TX-P2", NULL, &p), STORE_OK, "still found");
	is_str(p != NULL ? p->decision : "", "rejected", "as rejected");
	e.cert = &c;
	make_cert(&c, "0D", "CN=waiting");
	is_int(store_pending_issue(st, p != NULL ? p->id : 0, &e), STORE_CONFLICT,
	    "a rejected request cannot be issued");
	store_pending_free(p);
	p = NULL;
	e.transaction_id = "TX-P1";
	e.renew_serial = "0B";
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_CONFLICT,
	    "an issued transaction cannot wait again");
	e.renew_serial = "0C";
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK,
	    "the same transactionID renewing another certificate can (key-derived IDs)");
	e.renew_serial = NULL;
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK,
	    "and so can its first enrollment");

	/* A request a CA backend holds: the backend decides, an administrator may only reject. */
	e.transaction_id = "TX-P3";
	e.backend = "script";
	e.backend_handle = "h-3";
	is_int(store_request_pending(st, &e, csr, sizeof(csr)), STORE_OK,
	    "a request the backend script holds");
	is_int(store_pending_for_transaction(st, "TX-P3", NULL, &p), STORE_OK, "found");
	is_str(p != NULL ? p->backend : "", "script", "it names its backend");
	is_int(store_pending_decide(st, p != NULL ? p->id : 0, 1, 700), STORE_CONFLICT,
	    "approving it is refused");
	ok(strstr(store_errmsg(st), "waits for CA backend script, which decides it") != NULL,
	    "and the message says why (%s)", store_errmsg(st));
	is_int(store_pending_decide(st, p != NULL ? p->id : 0, 0, 701), STORE_OK,
	    "rejecting it stops the wait");
	store_pending_free(p);
	p = NULL;
	is_int(store_pending_for_transaction(st, "TX-P3", NULL, &p), STORE_OK, "still found");
	is_str(p != NULL ? p->decision : "", "rejected", "as rejected");
	store_pending_free(p);
	p = NULL;
	store_close(st);
	db_remove(path);
	free(path);
}

/* Revocation, renewal with revocation of the old certificate, CRL rows. */
static void test_revocation(void)
{
	char err[256] = "", *path = db_path("revoke.db");
	unsigned char key[32];
	struct store *st;
	struct store_cert c, *got = NULL;
	struct store_enrollment e;
	struct store_revoked *list = NULL;
	struct store_crl crl, *latest = NULL;
	static unsigned char der[] = { 0x30, 0x00 };
	size_t n = 0;

	sha256("k", 1, key);
	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		ok(0, "store_open (%s)", err);
		return;
	}
	make_cert(&c, "1A", "CN=one");
	snprintf(c.issuer_key_id, sizeof(c.issuer_key_id), "CAKEY1");
	make_enrollment(&e, "TX-R1", key, NULL, 100, &c);
	is_int(store_enroll_commit(st, &e), STORE_OK, "first certificate");
	make_cert(&c, "1B", "CN=legacy");
	make_enrollment(&e, "TX-R2", key, NULL, 100, &c);
	is_int(store_enroll_commit(st, &e), STORE_OK, "a certificate without issuer recorded");

	is_int(store_cert_revoke(st, "0x1b", STORE_REASON_KEY_COMPROMISE, 150), STORE_OK,
	    "revoke by serial, any case, with 0x");
	is_int(store_cert_revoke(st, "1B", STORE_REASON_KEY_COMPROMISE, 151), STORE_CONFLICT,
	    "revoking twice is a conflict");
	is_int(store_cert_revoke(st, "FF", 0, 151), STORE_NOT_FOUND, "unknown serial");
	is_int(store_cert_by_serial(st, "1B", &got), STORE_OK, "look it up");
	if (got != NULL) {
		is_str(got->status, "revoked", "status revoked");
		is_int(got->revoked_at, 150, "revoked_at");
		is_int(got->revocation_reason, 1, "reason keyCompromise");
	}
	store_cert_free(got);
	got = NULL;

	/* A renewal of 1A that revokes it, in the same transaction. */
	make_cert(&c, "1C", "CN=one");
	snprintf(c.issuer_key_id, sizeof(c.issuer_key_id), "CAKEY1");
	make_enrollment(&e, "TX-R3", key, NULL, 200, &c);
	e.renew_serial = "1A";
	e.revoke_renewed = 1;
	is_int(store_enroll_commit(st, &e), STORE_OK, "renewal recorded");
	is_int(store_cert_by_serial(st, "1A", &got), STORE_OK, "the renewed certificate");
	if (got != NULL) {
		is_str(got->status, "revoked", "is revoked");
		is_int(got->revocation_reason, STORE_REASON_SUPERSEDED, "as superseded");
	}
	store_cert_free(got);
	got = NULL;
	is_int(store_cert_by_serial(st, "1C", &got), STORE_OK, "the new certificate");
	is_str(got != NULL ? got->renewed_serial : "", "1A", "records what it renewed");
	store_cert_free(got);
	got = NULL;
	make_cert(&c, "1D", "CN=one");
	make_enrollment(&e, "TX-R4", key, NULL, 300, &c);
	e.renew_serial = "1A";
	e.revoke_renewed = 1;
	is_int(store_enroll_commit(st, &e), STORE_CONFLICT,
	    "renewing a revoked certificate with revocation conflicts");
	is_int(store_cert_by_serial(st, "1D", &got), STORE_NOT_FOUND, "and records nothing");
	store_cert_free(got);
	got = NULL;

	is_int(store_revoked_list(st, "CAKEY1", 0, &list, &n), STORE_OK, "revoked of CAKEY1");
	is_int(n, 1, "one");
	is_str(n > 0 ? list[0].serial : "", "1A", "1A");
	free(list);
	is_int(store_revoked_list(st, "CAKEY1", 1, &list, &n), STORE_OK, "with legacy ones");
	is_int(n, 2, "two");
	is_str(n > 1 ? list[0].serial : "", "1A", "in serial order (1A)");
	is_str(n > 1 ? list[1].serial : "", "1B", "in serial order (1B)");
	free(list);
	is_int(store_revoked_list(st, "OTHER", 0, &list, &n), STORE_OK, "another CA");
	is_int(n, 0, "has none");
	free(list);

	is_int(store_crl_latest(st, "CAKEY1", &latest), STORE_NOT_FOUND, "no CRL yet");
	is_int(store_crl_next_number(st, "CAKEY1"), 1, "first CRL number is 1");
	memset(&crl, 0, sizeof(crl));
	crl.number = 1;
	crl.this_update = 10;
	crl.next_update = 20;
	crl.revoked_count = 2;
	crl.der = der;
	crl.der_len = sizeof(der);
	is_int(store_crl_put(st, "CAKEY1", &crl), STORE_OK, "CRL 1 stored");
	is_int(store_crl_put(st, "CAKEY1", &crl), STORE_CONFLICT, "CRL number 1 again conflicts");
	is_int(store_crl_next_number(st, "CAKEY1"), 2, "next is 2");
	is_int(store_crl_next_number(st, "OTHER"), 1, "numbers are per CA");
	crl.number = 2;
	crl.this_update = 15;
	is_int(store_crl_put(st, "CAKEY1", &crl), STORE_OK, "CRL 2 stored");
	is_int(store_crl_latest(st, "CAKEY1", &latest), STORE_OK, "latest CRL");
	if (latest != NULL) {
		is_int(latest->number, 2, "is number 2");
		is_int(latest->this_update, 15, "thisUpdate");
		is_int(latest->revoked_count, 2, "revoked count");
		ok(latest->der_len == sizeof(der) && memcmp(latest->der, der, sizeof(der)) == 0, "DER");
	}
	store_crl_free(latest);
	store_close(st);
	db_remove(path);
	free(path);
}

static int count_recording(const struct store_recording *r, void *arg)
{
	int64_t *ids = arg;

	ids[ids[0] + 1] = r->id;
	ids[0]++;
	return 0;
}

/* A recording of n request and n reply bytes filled with fill. */
static enum store_rc put_recording(struct store *st, const char *txid, size_t n, int fill,
    unsigned max_count, uint64_t max_bytes, int64_t *id)
{
	struct store_recording r;
	unsigned char *req = xmalloc(n + 1), *rep = xmalloc(n + 1);
	enum store_rc rc;

	memset(&r, 0, sizeof(r));
	memset(req, fill, n + 1);
	memset(rep, fill + 1, n + 1);
	snprintf(r.transaction_id, sizeof(r.transaction_id), "%s", txid);
	r.message_type = 19;
	snprintf(r.profile, sizeof(r.profile), "default");
	snprintf(r.client_addr, sizeof(r.client_addr), "127.0.0.1");
	r.received_ms = 1000;
	r.answered_ms = 1042;
	r.http_status = 200;
	snprintf(r.outcome, sizeof(r.outcome), "FAILURE");
	r.failinfo = 2;
	snprintf(r.reason, sizeof(r.reason), "bad");
	r.request = req;
	r.request_len = n;
	r.reply = rep;
	r.reply_len = n;
	rc = store_recording_put(st, &r, max_count, max_bytes);
	*id = r.id;
	free(req);
	free(rep);
	return rc;
}

/* Recordings: kept within a count and a byte budget, the oldest dropped first. */
static void test_recordings(void)
{
	char *path = db_path("recordings.db");
	char err[256], txid[32];
	struct store *st;
	struct store_recording *r = NULL;
	int64_t ids[16], id, first = 0;
	int i;

	db_remove(path);
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "recordings: store opened");
	if (st == NULL)
		goto out;
	for (i = 0; i < 5; i++) {
		snprintf(txid, sizeof(txid), "TX%d", i);
		ok(put_recording(st, txid, 100, 'a' + i, 3, 1000000, &id) == STORE_OK,
		    "recording %d kept", i);
		if (i == 0)
			first = id;
	}
	memset(ids, 0, sizeof(ids));
	is_int(store_recording_foreach(st, 10, count_recording, ids), 0, "listed");
	is_int((int)ids[0], 3, "count bound: 3 of 5 kept");
	ok(ids[1] == first + 4 && ids[3] == first + 2, "newest first, the oldest dropped");
	ok(store_recording_get(st, first, NULL, &r) == STORE_NOT_FOUND, "oldest one is gone");
	ok(store_recording_get(st, 0, "TX4", &r) == STORE_OK && r != NULL &&
	    r->request_len == 100 && r->request[0] == 'e' && r->reply_len == 100 &&
	    r->reply[99] == 'f' && r->received_ms == 1000 && r->answered_ms == 1042 &&
	    r->failinfo == 2 && strcmp(r->outcome, "FAILURE") == 0 &&
	    strcmp(r->reason, "bad") == 0, "read back by transactionID, bytes intact");
	store_recording_free(r);
	r = NULL;
	/* 3 x 200 bytes kept; a budget of 500 bytes keeps only the newest two */
	ok(put_recording(st, "TX5", 100, 'x', 10, 500, &id) == STORE_OK, "recorded under a byte budget");
	memset(ids, 0, sizeof(ids));
	store_recording_foreach(st, 10, count_recording, ids);
	is_int((int)ids[0], 2, "byte bound: 400 of 500 bytes kept, oldest dropped");
	ok(ids[1] == id && ids[2] == first + 4, "the newest two remain");
	/* one exchange larger than the whole budget: kept without its bytes */
	ok(put_recording(st, "TXBIG", 1000, 'z', 10, 500, &id) == STORE_OK, "recorded an oversized one");
	ok(store_recording_get(st, id, NULL, &r) == STORE_OK && r->request == NULL &&
	    r->reply == NULL && r->request_len == 0, "oversized: kept without its bytes");
	store_recording_free(r);
	r = NULL;
	memset(ids, 0, sizeof(ids));
	store_recording_foreach(st, 10, count_recording, ids);
	is_int((int)ids[0], 3, "the others stay within the budget");
	is_int((int)raw_int(path, "SELECT sum(bytes) FROM recordings"), 400, "bytes kept: 400");
	store_close(st);
out:
	db_remove(path);
	free(path);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/scepd-test-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_open_and_migrations();
	test_challenges();
	test_enroll();
	test_foreach();
	test_migration_lifecycle();
	test_migration_backend_names();
	test_pending();
	test_pending_envelope();
	test_revocation();
	test_pool_and_races();
	test_recordings();
	if (rmdir(tmpdir) != 0)
		printf("# could not remove %s\n", tmpdir);
	return done_testing();
}
