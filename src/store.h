/* SPDX-License-Identifier: ISC */
/*
 * store.h: the only way into persistent state (SQLite, or PostgreSQL shared by
 * several nodes: the database setting picks the driver, store.c). Challenges (one-time
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
	STORE_CHALLENGE_OTHER_PROFILE = 7, /* a one-time password made for another profile */
	STORE_ERROR = -1,             /* SQLite failed; the message is in store_errmsg() */
};

/*
 * Opens a PostgreSQL URI (store_pg.c: schema migrated under an advisory lock),
 * or else (creating if needed) the SQLite database at path: WAL mode, synchronous=FULL,
 * foreign keys on, a busy timeout, schema migrated to STORE_SCHEMA_VERSION.
 * Returns NULL and writes a reason to err on failure.
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/* 1 when database names a PostgreSQL server (a postgresql:// or postgres:// URI). */
int store_is_postgresql(const char *database);
void store_close(struct store *st);
const char *store_errmsg(const struct store *st);
int store_schema_version(struct store *st);   /* PRAGMA user_version, -1 on error */
/* Takes and releases SQLite's write lock: STORE_OK when an enrollment could be recorded now. */
enum store_rc store_ping(struct store *st);
#define STORE_SCHEMA_VERSION 8

/* --- one-time challenges ------------------------------------------------- */

/*
 * A one-time password belongs to one profile ("default" for the NDES paths),
 * as each NDES instance has its own. Its life (sql/006_otp_reserve.sql):
 * made (store_challenge_add), reserved by the one request that presents it
 * (store_challenge_reserve), then consumed with that request's record
 * (store_enroll_commit, store_request_pending: e->challenge) or released
 * (store_challenge_release) when nothing can have been issued for it.
 */

/*
 * Records a new one-time password of profile valid until expires_at, unless
 * max_unused unexpired unused ones of that profile exist already
 * (STORE_CACHE_FULL). Expired ones are purged first, so they free their place.
 */
enum store_rc store_challenge_add(struct store *st, const char *password, const char *profile,
    int64_t now, int64_t expires_at, unsigned max_unused);

/*
 * Reserves password for a request on profile, atomically: STORE_OK for
 * exactly one of any number of requests racing with it; the others get
 * STORE_CHALLENGE_USED (reserved or consumed), and any request
 * STORE_CHALLENGE_UNKNOWN, _EXPIRED or _OTHER_PROFILE as it is.
 */
enum store_rc store_challenge_reserve(struct store *st, const char *password,
    const char *profile, int64_t now);

/* Read-only look: STORE_OK if it could be reserved now, or UNKNOWN / USED / EXPIRED. */
enum store_rc store_challenge_check(struct store *st, const char *password, int64_t now);

/* Gives a reserved, unconsumed password back: STORE_OK, or STORE_NOT_FOUND. */
enum store_rc store_challenge_release(struct store *st, const char *password);

/* Unused, unreserved, unexpired passwords in the cache (all profiles). -1 on error. */
int store_challenge_count_unused(struct store *st, int64_t now);

/* Deletes expired and used challenges; returns how many, -1 on error. */
int store_challenge_purge(struct store *st, int64_t now);

/* An unused, unexpired one-time password as listed (the password itself is not kept). */
struct store_challenge_info {
	char id[17];              /* first 8 bytes of its SHA-256, upper-case hex */
	int64_t created_at, expires_at;
	char profile[65];         /* the profile it was made for */
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
	char issuer_key_id[41];   /* upper-case hex SHA-1 of the issuing CA's key; "" if not recorded */
	int64_t revoked_at;       /* when status is "revoked" */
	int revocation_reason;    /* RFC 5280 CRLReason, when revoked */
	char renewed_serial[80];  /* the certificate this one renewed, or "" */
	/* store_issued_for_transaction only: the key that signed the request */
	unsigned char signer_sha256[32];
	int has_signer_sha256;
};

/*
 * An enrollment outcome to commit. For an issued certificate set cert (its
 * serial, subject, validity and DER). challenge is the one-time password this
 * request reserved (store_challenge_reserve), to consume in the same
 * transaction, or NULL (static password, none needed).
 */
struct store_enrollment {
	const char *transaction_id;
	int message_type;
	const char *client_addr;
	const unsigned char *pubkey_sha256;   /* 32 bytes: SHA-256 of the CSR's SubjectPublicKeyInfo DER */
	const char *subject;
	const char *challenge;                /* one-time password to consume, or NULL */
	int64_t now;
	const struct store_cert *cert;        /* issued certificate (with cert->issuer_key_id) */
	const unsigned char *signer_sha256;   /* 32 bytes: the pkiMessage signer's public key, or NULL */
	const char *profile;                  /* names recorded with the request, or NULL */
	const char *template_name;
	const char *renew_serial;             /* the certificate a renewal renews, or NULL */
	int revoke_renewed;                   /* revoke renew_serial as superseded */
	const char *backend;                  /* waiting: name of the CA backend that has it, or NULL */
	const char *backend_handle;           /* waiting: its handle, NULL: submit again */
	const unsigned char *envelope;        /* waiting, not yet sent to a CA backend: the
	                                       * pkcsPKIEnvelope as received, or NULL */
	size_t envelope_len;
};

/*
 * In one IMMEDIATE transaction: consumes the challenge (if given: it must be
 * reserved and unused, however long ago it expired, else CHALLENGE_USED /
 * _UNKNOWN or STORE_ERROR and nothing is written), records the request as issued and inserts the certificate; then
 * commits durably. If the transactionID (for a renewal: with e->renew_serial)
 * already has an issued certificate the transaction is rolled back and
 * STORE_CONFLICT returned.
 */
enum store_rc store_enroll_commit(struct store *st, const struct store_enrollment *e);

/*
 * Group commit (commitq.h): one transaction for several enrollments.
 * store_batch_begin starts it (BEGIN IMMEDIATE); store_batch_enroll does what
 * store_enroll_commit does for e inside a savepoint, undone alone when it
 * fails (same results; after STORE_ERROR the batch must be rolled back);
 * store_batch_commit commits durably, or rolls back and returns STORE_ERROR;
 * store_batch_rollback abandons the batch.
 */
enum store_rc store_batch_begin(struct store *st);
enum store_rc store_batch_enroll(struct store *st, const struct store_enrollment *e);
enum store_rc store_batch_commit(struct store *st);
void store_batch_rollback(struct store *st);

/*
 * A renewal that revokes the certificate it renews (revoke_renewed) does so in
 * the same transaction: STORE_CONFLICT when that certificate is revoked
 * already, STORE_NOT_FOUND when it is unknown; nothing is written then.
 */

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
 * pubkey_sha256 (32 bytes); STORE_NOT_FOUND otherwise. Renewals are not
 * looked at: see store_issued_for_renewal.
 */
enum store_rc store_issued_for_transaction(struct store *st, const char *transaction_id,
    struct store_cert **out, unsigned char pubkey_sha256[32]);

/*
 * The same for a renewal of certificate renew_serial (NULL: a first
 * enrollment). Clients derive transactionIDs from keys, so a renewal that
 * keeps the key reuses its enrollment's transactionID: a request is known by
 * transactionID and the certificate it renews.
 */
enum store_rc store_issued_for_renewal(struct store *st, const char *transaction_id,
    const char *renew_serial, struct store_cert **out, unsigned char pubkey_sha256[32]);

enum store_rc store_cert_by_serial(struct store *st, const char *serial, struct store_cert **out);

/* --- manual approval ----------------------------------------------------- */

/* A request waiting for approval (outcome 'pending'), or decided but not yet issued. */
struct store_pending {
	int64_t id;
	char transaction_id[256];
	int message_type;
	char *client_addr;        /* may be NULL */
	char *subject;
	char *profile;
	char *template_name;
	unsigned char pubkey_sha256[32];  /* the CSR's key */
	unsigned char signer_sha256[32];  /* the pkiMessage signer's key */
	unsigned char *csr;       /* PKCS#10 DER, without its challengePassword (not its own
	                           * signature then: it was checked on arrival) */
	size_t csr_len;
	unsigned char *envelope;  /* the pkcsPKIEnvelope as received (encrypted to the RA),
	                           * kept until a CA backend has the request; or NULL */
	size_t envelope_len;
	char renew_serial[80];    /* the certificate a renewal renews, or "" */
	char decision[16];        /* "", "approved" or "rejected" */
	int64_t created_at, decided_at;
	char *backend;            /* name of the CA backend that has the request (ca.h), or NULL */
	char *backend_handle;     /* its handle to poll; NULL: submit again */
	int failinfo;             /* a backend's refusal (decision "rejected"), else -1 */
	char *reason;             /* its reason, or NULL */
};

/*
 * Records e (without e->cert) as waiting for approval with the CSR (give it
 * without its challengePassword: challenge_redact_csr), e->envelope and
 * e->signer_sha256, consuming e->challenge in the same transaction as
 * store_enroll_commit does. STORE_CONFLICT when the transactionID (with
 * e->renew_serial) already has a waiting or issued request.
 */
enum store_rc store_request_pending(struct store *st, const struct store_enrollment *e,
    const unsigned char *csr, size_t csr_len);

/*
 * The waiting request of transaction_id renewing renew_serial (NULL: not a
 * renewal) / of row id: STORE_OK and *out, or STORE_NOT_FOUND.
 */
enum store_rc store_pending_for_transaction(struct store *st, const char *transaction_id,
    const char *renew_serial, struct store_pending **out);
enum store_rc store_pending_by_id(struct store *st, int64_t id, struct store_pending **out);

/* One recorded request of a transaction, whatever its outcome. */
struct store_request_row {
	int64_t id;
	int message_type;
	const char *client_addr;  /* may be NULL */
	const char *subject;      /* may be NULL */
	const char *profile;      /* may be NULL (recorded before profiles) */
	const char *outcome;      /* "issued", "failure" or "pending" */
	int failinfo;             /* -1 when none */
	const char *reason;       /* may be NULL */
	int64_t created_at;
	const char *cert_serial;  /* the certificate issued, or NULL */
};

/*
 * Calls fn for every request recorded for transaction_id, oldest first (a
 * refused request stays recorded with its failInfo and reason: what a
 * validator or a CA said). The row's strings live during the call. The number
 * of rows, fn's non-zero return, or -1 on a store error.
 */
int store_request_history(struct store *st, const char *transaction_id,
    int (*fn)(const struct store_request_row *, void *), void *arg);

/*
 * Calls fn for every waiting request, oldest first: only undecided ones, or
 * also approved and rejected ones not yet collected when all is set.
 */
int store_pending_foreach(struct store *st, int all,
    int (*fn)(const struct store_pending *, void *), void *arg);

/*
 * Approves or rejects request id: STORE_NOT_FOUND, or STORE_CONFLICT when
 * decided already, or on approving a request a CA backend holds (the backend
 * decides it; rejecting it stops the wait, the backend is not told).
 */
enum store_rc store_pending_decide(struct store *st, int64_t id, int approve, int64_t now);

/*
 * Turns approved request id, or an undecided one a CA backend has, into an
 * issued one with e->cert (and revokes e->renew_serial when e->revoke_renewed),
 * in one transaction.
 * STORE_CONFLICT when it is not an approved waiting request any more.
 */
enum store_rc store_pending_issue(struct store *st, int64_t id, const struct store_enrollment *e);

void store_pending_free(struct store_pending *p);

/*
 * A waiting request handed to a CA backend (manual approval done, or not
 * needed): records which backend has it and the handle to poll with (NULL:
 * the backend was unavailable, submit again). STORE_NOT_FOUND when id is not
 * a waiting request (or was refused).
 */
enum store_rc store_pending_set_backend(struct store *st, int64_t id, const char *backend,
    const char *handle);

/*
 * Replaces the CSR kept with waiting request id (a copy without its
 * challengePassword, challenge_redact_waiting): STORE_OK or STORE_NOT_FOUND.
 */
enum store_rc store_pending_set_csr(struct store *st, int64_t id, const unsigned char *csr,
    size_t csr_len);

/* The backend refused waiting request id: decision "rejected" with failinfo and reason. */
enum store_rc store_pending_refuse(struct store *st, int64_t id, int failinfo,
    const char *reason, int64_t now);

/* --- revocation and CRLs --------------------------------------------------- */

/* RFC 5280 CRLReason values scepd uses (certificateHold is not offered). */
enum store_crl_reason {
	STORE_REASON_UNSPECIFIED = 0,
	STORE_REASON_KEY_COMPROMISE = 1,
	STORE_REASON_CA_COMPROMISE = 2,
	STORE_REASON_AFFILIATION_CHANGED = 3,
	STORE_REASON_SUPERSEDED = 4,
	STORE_REASON_CESSATION = 5,
	STORE_REASON_PRIVILEGE_WITHDRAWN = 9,
};

/* Revokes serial: STORE_OK, STORE_NOT_FOUND, or STORE_CONFLICT when it is revoked already. */
enum store_rc store_cert_revoke(struct store *st, const char *serial, int reason, int64_t now);

struct store_revoked {
	char serial[80];
	int64_t revoked_at;
	int reason;
};

/*
 * The revoked certificates of the CA issuer_key_id (with legacy set, also
 * those recorded without an issuer), in serial order: *out (free()) and *n.
 */
enum store_rc store_revoked_list(struct store *st, const char *issuer_key_id, int legacy,
    struct store_revoked **out, size_t *n);

struct store_crl {
	int64_t number;
	int64_t this_update, next_update;
	size_t revoked_count;
	unsigned char *der;
	size_t der_len;
};

/* The newest CRL of a CA: STORE_OK and *out (store_crl_free), or STORE_NOT_FOUND. */
enum store_rc store_crl_latest(struct store *st, const char *issuer_key_id, struct store_crl **out);

/* The CRL number to use next for a CA (1 for the first), or -1 with errmsg set. */
int64_t store_crl_next_number(struct store *st, const char *issuer_key_id);

/* Records a CRL; STORE_CONFLICT when its number is taken (another process made one). */
enum store_rc store_crl_put(struct store *st, const char *issuer_key_id, const struct store_crl *c);

void store_crl_free(struct store_crl *c);

/*
 * The issuer key ID of the newest certificate recorded with one into out:
 * STORE_OK, or STORE_NOT_FOUND when there is none. (scepd -t compares it with
 * the node's CA: nodes sharing a database must share the CA.)
 */
enum store_rc store_newest_issuer(struct store *st, char out[41]);

/* Calls fn for every certificate, newest first; stops and returns fn's non-zero result. */
int store_cert_foreach(struct store *st, int (*fn)(const struct store_cert *, void *), void *arg);

void store_cert_free(struct store_cert *c);

/* --- copying a store (scepctl store migrate) ------------------------------ */

/* The tables a copy carries, in the order it copies them. */
#define STORE_COPY_TABLES { "certificates", "requests", "challenges", "admin_users", "crls" }
#define STORE_COPY_N_TABLES 5

struct store_copy_count {
	const char *table;
	int64_t from, to;         /* rows in the source, and in the copy afterwards */
};

/*
 * Copies every row of the SQLite store at from (certificates, requests with
 * their waiting CSRs and envelopes, one-time password hashes, accounts, CRLs)
 * into the PostgreSQL store at to, which must be empty, in one transaction;
 * then counts both sides into counts[STORE_COPY_N_TABLES]. 0 when every count
 * matches, or -1 with a reason in err (nothing is kept in to then).
 */
int store_copy(const char *from, const char *to, struct store_copy_count *counts,
    char *err, size_t errlen);
/* --- lab mode: scripted outcomes (lab.h, sql/007_lab_rules.sql) ----------- */

struct store_lab_rule {
	int64_t id;
	const char *rule;          /* the rule text (lab_rule_parse) */
	const char *origin;        /* "config" or "scepctl" */
	unsigned uses, used;       /* uses 0: no limit */
	int64_t expires_at;        /* 0: never */
	int64_t created_at;
};

/* Records a rule; its id into *id (may be NULL). */
enum store_rc store_lab_rule_add(struct store *st, const struct store_lab_rule *r, int64_t *id);
/* Deletes rule id: STORE_OK or STORE_NOT_FOUND. */
enum store_rc store_lab_rule_del(struct store *st, int64_t id);
/* Replaces every "config" rule with rules[0..n-1] (origin is set to "config"), in one transaction. */
enum store_rc store_lab_rules_set_config(struct store *st, const struct store_lab_rule *rules,
    size_t n);
/*
 * Calls fn for each rule in id order (with all 0: only those with uses left and
 * not expired at now); stops at fn's non-zero result and returns it; -1 on error.
 */
int store_lab_rule_foreach(struct store *st, int64_t now, int all,
    int (*fn)(const struct store_lab_rule *, void *), void *arg);
/*
 * Takes one use of rule id at now, atomically: STORE_OK, or STORE_CONFLICT when
 * it has no use left, expired or was deleted meanwhile.
 */
enum store_rc store_lab_rule_use(struct store *st, int64_t id, int64_t now);

/* A request a lab rule keeps PENDING. */
struct store_lab_poll {
	int64_t rule_id;
	unsigned polls_left;       /* CertPolls still answered PENDING */
	int then_failure;
	int failinfo;
	int32_t hresult;
	int64_t not_before, not_after; /* validity override, 0: none */
};

enum store_rc store_lab_poll_add(struct store *st, const char *transaction_id,
    const struct store_lab_poll *p, int64_t now);
/* STORE_OK and *out, or STORE_NOT_FOUND. */
enum store_rc store_lab_poll_get(struct store *st, const char *transaction_id,
    struct store_lab_poll *out);
/* One poll answered PENDING: polls_left - 1. STORE_OK, or STORE_NOT_FOUND (none left). */
enum store_rc store_lab_poll_count(struct store *st, const char *transaction_id);
/* The scripted end was answered: the row goes. */
enum store_rc store_lab_poll_done(struct store *st, const char *transaction_id);
/* --- recorded exchanges of lab mode (sql/008_recordings.sql) ------------- */

/* One PKIOperation as it crossed the wire (lab.record). */
struct store_recording {
	int64_t id;                 /* set by store_recording_put / read back */
	char transaction_id[256];   /* "" when the message could not be parsed */
	int message_type;           /* -1 when unknown */
	char profile[65];
	char client_addr[64];
	int64_t received_ms, answered_ms;  /* milliseconds since the epoch */
	int http_status;
	char outcome[16];           /* "SUCCESS", "FAILURE", "PENDING" or "HTTP" */
	int failinfo;               /* -1 when none */
	char reason[512];
	unsigned char *request;     /* the pkiMessage as received, or NULL (not kept) */
	size_t request_len;
	unsigned char *reply;       /* the CertRep (or HTTP error text), or NULL */
	size_t reply_len;
};

/*
 * Records r (its id set on success), then drops the oldest recordings until
 * at most max_count are kept and their request and reply bytes add up to at
 * most max_bytes, in one transaction. A recording whose bytes alone exceed
 * max_bytes is kept without them.
 */
enum store_rc store_recording_put(struct store *st, struct store_recording *r,
    unsigned max_count, uint64_t max_bytes);

/* Recording id, or the newest of transactionID txid (id 0): STORE_OK, STORE_NOT_FOUND. */
enum store_rc store_recording_get(struct store *st, int64_t id, const char *txid,
    struct store_recording **out);

/*
 * Calls fn for the newest limit recordings, newest first, without their bytes
 * (request_len and reply_len are set); 0, fn's non-zero result, or -1.
 */
int store_recording_foreach(struct store *st, unsigned limit,
    int (*fn)(const struct store_recording *, void *), void *arg);

void store_recording_free(struct store_recording *r);

/* --- pool of handles for request threads ---------------------------------- */

struct store_pool;
struct store_pool *store_pool_new(const char *path, char *err, size_t errlen); /* opens one handle to check */
struct store *store_pool_get(struct store_pool *pool, char *err, size_t errlen); /* NULL on failure */
void store_pool_put(struct store_pool *pool, struct store *st);
void store_pool_free(struct store_pool *pool);

#endif
