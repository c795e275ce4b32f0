/* SPDX-License-Identifier: ISC */
/*
 * store.h: the only way into persistent state (SQLite). Challenges (one-time
 * passwords, stored as SHA-256 hashes), requests (by transactionID, with their
 * outcome) and certificates (serial, subject, validity, DER, status). Schema and
 * numbered migrations live in sql/ and are compiled in; store_open() migrates.
 * Every statement is prepared with bound parameters. A handle is used by one
 * thread at a time; struct store_pool hands handles to request threads.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum store_rc {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_CHALLENGE_UNKNOWN = 2,  /* no such one-time password */
	STORE_CHALLENGE_USED = 3,     /* it was consumed already */
	STORE_CHALLENGE_EXPIRED = 4,
	STORE_CACHE_FULL = 5,         /* PasswordMax unused passwords already cached */
	STORE_CONFLICT = 6,           /* transactionID already issued (for another key) */
	STORE_ERROR = -1,             /* SQLite failed; the message is in store_errmsg() */
};

/*
 * Opens (creating if needed) the database at path: WAL mode, synchronous=FULL,
 * foreign keys on, a busy timeout, schema migrated to STORE_SCHEMA_VERSION.
 * Returns NULL and writes a reason to err on failure.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
const char *store_errmsg(const struct store *st);
int store_schema_version(struct store *st);   /* PRAGMA user_version, -1 on error */
/* Takes and releases SQLite's write lock: STORE_OK when an enrollment could be recorded now. */
enum store_rc store_ping(struct store *st);
#define STORE_SCHEMA_VERSION 2

/* --- one-time challenges ------------------------------------------------- */

/*
 * Records a new one-time password valid until expires_at, unless max_unused
 * unexpired unused ones exist already (STORE_CACHE_FULL). Expired ones are
 * purged first, so they free their place.
 */
enum store_rc store_challenge_add(struct store *st, const char *password,
    int64_t now, int64_t expires_at, unsigned max_unused);

/* Read-only check: STORE_OK if usable now, or UNKNOWN / USED / EXPIRED. */
enum store_rc store_challenge_check(struct store *st, const char *password, int64_t now);

/* Unused, unexpired passwords in the cache. -1 on error. */
int store_challenge_count_unused(struct store *st, int64_t now);

/* Deletes expired and used challenges; returns how many, -1 on error. */
int store_challenge_purge(struct store *st, int64_t now);

/* An unused, unexpired one-time password as listed (the password itself is not kept). */
struct store_challenge_info {
	char id[17];              /* first 8 bytes of its SHA-256, upper-case hex */
	int64_t created_at, expires_at;
};

/* Calls fn for each unused, unexpired challenge, oldest first; 0, fn's result or -1. */
int store_challenge_foreach(struct store *st, int64_t now,
    int (*fn)(const struct store_challenge_info *, void *), void *arg);

/* --- accounts of the mscep_admin pages (sql/002_admin_users.sql) ---------- */

#define STORE_USER_NAME_MAX 64

struct store_user {
	char name[STORE_USER_NAME_MAX + 1];
	int has_nt_hash;
	unsigned char nt_hash[16];          /* MD4(UTF-16LE(password)), for NTLM */
	unsigned char basic_salt[16];
	unsigned char basic_hash[32];       /* PBKDF2-HMAC-SHA256, for Basic */
	unsigned basic_iterations;
	int enroll;                         /* may obtain challenge passwords */
	int64_t created_at;
};

/* Adds an account; STORE_CONFLICT if the name (case-insensitive) exists. */
enum store_rc store_user_add(struct store *st, const struct store_user *u);
/* Looks an account up by name, case-insensitively: STORE_OK or STORE_NOT_FOUND. */
enum store_rc store_user_get(struct store *st, const char *name, struct store_user *out);
enum store_rc store_user_del(struct store *st, const char *name);
/* Calls fn for every account by name; 0, fn's non-zero result, or -1. */
int store_user_foreach(struct store *st, int (*fn)(const struct store_user *, void *), void *arg);

/* --- requests and certificates ------------------------------------------- */

struct store_cert {
	char serial[80];          /* upper-case hex, no leading "0x" */
	char *subject;            /* RFC 2253 text */
	int64_t not_before, not_after;
	unsigned char *der;
	size_t der_len;
	char status[16];          /* "valid" | "revoked" */
	char transaction_id[256];
	int64_t issued_at;
};

/*
 * An enrollment outcome to commit. For an issued certificate set cert (its
 * serial, subject, validity and DER). challenge is the one-time password to
 * consume in the same transaction, or NULL (static password, none needed).
 */
struct store_enrollment {
	const char *transaction_id;
	int message_type;
	const char *client_addr;
	const unsigned char *pubkey_sha256;   /* 32 bytes: SHA-256 of the CSR's SubjectPublicKeyInfo DER */
	const char *subject;
	const char *challenge;                /* one-time password to consume, or NULL */
	int64_t now;
	const struct store_cert *cert;        /* issued certificate */
};

/*
 * In one IMMEDIATE transaction: consumes the challenge (if given: it must be
 * unused and unexpired, else CHALLENGE_USED / _EXPIRED / _UNKNOWN and nothing is
 * written), records the request as issued and inserts the certificate; then
 * commits durably. If the transactionID already has an issued certificate the
 * transaction is rolled back and STORE_CONFLICT returned.
 */
enum store_rc store_enroll_commit(struct store *st, const struct store_enrollment *e);

/*
 * Records a request that did not lead to a certificate (outcome "failure",
 * with failinfo and a plain-words reason). Failures never block a later retry
 * with the same transactionID.
 */
enum store_rc store_request_failed(struct store *st, const char *transaction_id,
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256,
    const char *subject, int failinfo, const char *reason, int64_t now);

/*
 * The certificate already issued for transactionID, if any: STORE_OK and *out
 * (free with store_cert_free), with the key hash it was issued for in
 * pubkey_sha256 (32 bytes); STORE_NOT_FOUND otherwise.
 */
enum store_rc store_issued_for_transaction(struct store *st, const char *transaction_id,
    struct store_cert **out, unsigned char pubkey_sha256[32]);

enum store_rc store_cert_by_serial(struct store *st, const char *serial, struct store_cert **out);

/* Calls fn for every certificate, newest first; stops and returns fn's non-zero result. */
int store_cert_foreach(struct store *st, int (*fn)(const struct store_cert *, void *), void *arg);

void store_cert_free(struct store_cert *c);

/* --- pool of handles for request threads ---------------------------------- */

struct store_pool;
struct store_pool *store_pool_new(const char *path, char *err, size_t errlen); /* opens one handle to check */
struct store *store_pool_get(struct store_pool *pool, char *err, size_t errlen); /* NULL on failure */
void store_pool_put(struct store_pool *pool, struct store *st);
void store_pool_free(struct store_pool *pool);

#endif
