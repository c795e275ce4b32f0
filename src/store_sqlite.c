/* SPDX-License-Identifier: ISC */
/*
 * store_sqlite.c: the SQLite store, the only code in scepd that talks to SQLite. It owns
 * the database file, its schema (sql/NNN_name.sql, compiled in as
 * src/schema_sql.h and applied by migrate()) and every statement run against it,
 * each prepared once per handle with bound parameters. One-time challenges are
 * kept only as SHA-256 hashes. A handle is used by one thread at a time. It is
 * reached through store.c (the driver chosen by the database setting); it never
 * sees keys and parses no input.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "store.h"
#include "store_impl.h"
#include "util.h"

#include "schema_sql.h"

#define STORE_BUSY_TIMEOUT_MS 5000   /* wait this long for SQLite's write lock */
#define HASH_LEN 32

_Static_assert(sizeof(schema_migrations) / sizeof(schema_migrations[0]) == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION must equal the number of sql/NNN_name.sql migrations");

/* The statements a handle prepares once (on first use) and keeps. */
enum stmt_id {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_CHALLENGE_DELETE_EXPIRED,
	Q_CHALLENGE_COUNT_UNUSED,
	Q_CHALLENGE_INSERT,
	Q_CHALLENGE_GET,
	Q_CHALLENGE_RESERVE,
	Q_CHALLENGE_RELEASE,
	Q_CHALLENGE_CONSUME,
	Q_CHALLENGE_PURGE,
	Q_REQUEST_ISSUED_EXISTS,
	Q_REQUEST_INSERT,
	Q_CERT_INSERT,
	Q_ISSUED_FOR_TRANSACTION,
	Q_CERT_BY_SERIAL,
	Q_REQUEST_ACTIVE_EXISTS,
	Q_PENDING_BY_TXID,
	Q_PENDING_BY_ID,
	Q_PENDING_DECIDE,
	Q_PENDING_ISSUE,
	Q_PENDING_BACKEND,
	Q_PENDING_REFUSE,
	Q_PENDING_SET_CSR,
	Q_CERT_REVOKE,
	Q_CERT_STATUS,
	Q_REVOKED_LIST,
	Q_CRL_LATEST,
	Q_CRL_NEXT,
	Q_CRL_INSERT,
	Q_USER_INSERT,
	Q_USER_GET,
	Q_USER_DELETE,
	Q_NEWEST_ISSUER,
	Q_COUNT
};

#define CERT_COLS "c.serial, c.subject, c.not_before, c.not_after, c.der, c.status, " \
	"c.transaction_id, c.issued_at, c.issuer_key_id, c.revoked_at, c.revocation_reason, " \
	"c.renewed_serial"
#define N_CERT_COLS 12
#define PENDING_COLS "id, transaction_id, message_type, client_addr, subject, profile, " \
	"template, pubkey_sha256, signer_sha256, csr, renew_serial, decision, created_at, " \
	"decided_at, backend, backend_handle, failinfo, reason, envelope FROM requests" \
	" WHERE outcome = 'pending'"

#define USER_COLS "name, nt_hash, basic_salt, basic_hash, basic_iterations, enroll, created_at"

static const char *const stmt_sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	/*
	 * A reserved password that was never consumed nor released (its request
	 * died with the process, or a CA never answered) is kept a day past its
	 * expiry, so that a request still in flight can record what it issued.
	 */
	[Q_CHALLENGE_DELETE_EXPIRED] =
	    "DELETE FROM challenges WHERE expires_at <= ?1"
	    " AND (reserved_at IS NULL OR used_at IS NOT NULL OR expires_at <= ?1 - 86400)",
	[Q_CHALLENGE_COUNT_UNUSED] =
	    "SELECT count(*) FROM challenges WHERE used_at IS NULL AND reserved_at IS NULL"
	    " AND expires_at > ?1 AND (?2 IS NULL OR profile = ?2)",
	[Q_CHALLENGE_INSERT] =
	    "INSERT INTO challenges (password_sha256, created_at, expires_at, profile)"
	    " VALUES (?1, ?2, ?3, ?4)",
	[Q_CHALLENGE_GET] =
	    "SELECT expires_at, used_at, reserved_at, profile FROM challenges"
	    " WHERE password_sha256 = ?1",
	[Q_CHALLENGE_RESERVE] =
	    "UPDATE challenges SET reserved_at = ?1"
	    " WHERE password_sha256 = ?2 AND profile = ?3 AND used_at IS NULL"
	    " AND reserved_at IS NULL AND expires_at > ?1",
	[Q_CHALLENGE_RELEASE] =
	    "UPDATE challenges SET reserved_at = NULL"
	    " WHERE password_sha256 = ?1 AND used_at IS NULL AND reserved_at IS NOT NULL",
	[Q_CHALLENGE_CONSUME] =
	    "UPDATE challenges SET used_at = ?1"
	    " WHERE password_sha256 = ?2 AND used_at IS NULL AND reserved_at IS NOT NULL",
	[Q_CHALLENGE_PURGE] =
	    "DELETE FROM challenges WHERE used_at IS NOT NULL OR (expires_at <= ?1"
	    " AND (reserved_at IS NULL OR expires_at <= ?1 - 86400))",
	[Q_REQUEST_ISSUED_EXISTS] =
	    "SELECT 1 FROM requests WHERE transaction_id = ?1 AND outcome = 'issued'"
	    " AND coalesce(renew_serial, '') = coalesce(?2, '')",
	[Q_REQUEST_INSERT] =
	    "INSERT INTO requests (transaction_id, message_type, client_addr, pubkey_sha256,"
	    " subject, outcome, failinfo, reason, created_at, cert_serial, signer_sha256,"
	    " profile, template, csr, renew_serial, backend, backend_handle, envelope)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
	    " ?18)",
	[Q_CERT_INSERT] =
	    "INSERT INTO certificates (serial, subject, not_before, not_after, der, status,"
	    " transaction_id, issued_at, issuer_key_id, renewed_serial)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 'valid', ?6, ?7, ?8, ?9)",
	[Q_ISSUED_FOR_TRANSACTION] =
	    "SELECT " CERT_COLS ", r.pubkey_sha256, r.signer_sha256 FROM requests r"
	    " JOIN certificates c ON c.serial = r.cert_serial"
	    " WHERE r.transaction_id = ?1 AND r.outcome = 'issued'"
	    " AND coalesce(r.renew_serial, '') = coalesce(?2, '')",
	[Q_CERT_BY_SERIAL] = "SELECT " CERT_COLS " FROM certificates c WHERE c.serial = ?1",
	[Q_REQUEST_ACTIVE_EXISTS] =
	    "SELECT 1 FROM requests WHERE transaction_id = ?1 AND outcome IN ('issued', 'pending')"
	    " AND coalesce(renew_serial, '') = coalesce(?2, '')",
	[Q_PENDING_BY_TXID] = "SELECT " PENDING_COLS " AND transaction_id = ?1"
	    " AND coalesce(renew_serial, '') = coalesce(?2, '')",
	[Q_PENDING_BY_ID] = "SELECT " PENDING_COLS " AND id = ?1",
	[Q_PENDING_DECIDE] =
	    "UPDATE requests SET decision = ?2, decided_at = ?3,"
	    " envelope = CASE WHEN ?2 = 'rejected' THEN NULL ELSE envelope END"
	    " WHERE id = ?1 AND outcome = 'pending' AND decision IS NULL"
	    " AND (?2 = 'rejected' OR backend IS NULL)",
	[Q_PENDING_ISSUE] =
	    "UPDATE requests SET outcome = 'issued', cert_serial = ?2, envelope = NULL"
	    " WHERE id = ?1 AND outcome = 'pending' AND (decision = 'approved'"
	    " OR (decision IS NULL AND backend IS NOT NULL))",
	[Q_PENDING_BACKEND] =
	    "UPDATE requests SET backend = ?2, backend_handle = ?3,"
	    " envelope = CASE WHEN ?3 IS NULL THEN envelope ELSE NULL END"
	    " WHERE id = ?1 AND outcome = 'pending' AND decision IS NOT 'rejected'",
	[Q_PENDING_REFUSE] =
	    "UPDATE requests SET decision = 'rejected', decided_at = ?2, failinfo = ?3, reason = ?4,"
	    " envelope = NULL WHERE id = ?1 AND outcome = 'pending' AND decision IS NOT 'rejected'",
	[Q_PENDING_SET_CSR] =
	    "UPDATE requests SET csr = ?2 WHERE id = ?1 AND outcome = 'pending'",
	[Q_CERT_REVOKE] =
	    "UPDATE certificates SET status = 'revoked', revoked_at = ?2, revocation_reason = ?3"
	    " WHERE serial = ?1 AND status = 'valid'",
	[Q_CERT_STATUS] = "SELECT status FROM certificates WHERE serial = ?1",
	[Q_REVOKED_LIST] =
	    "SELECT serial, revoked_at, revocation_reason FROM certificates"
	    " WHERE status = 'revoked' AND (issuer_key_id = ?1 OR (?2 AND issuer_key_id IS NULL))"
	    " ORDER BY serial",
	[Q_CRL_LATEST] =
	    "SELECT crl_number, this_update, next_update, revoked_count, der FROM crls"
	    " WHERE issuer_key_id = ?1 ORDER BY crl_number DESC LIMIT 1",
	[Q_CRL_NEXT] = "SELECT coalesce(max(crl_number), 0) + 1 FROM crls WHERE issuer_key_id = ?1",
	[Q_CRL_INSERT] =
	    "INSERT INTO crls (issuer_key_id, crl_number, this_update, next_update, revoked_count,"
	    " der) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_USER_INSERT] =
	    "INSERT INTO admin_users (name, nt_hash, basic_salt, basic_hash, basic_iterations,"
	    " enroll, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_USER_GET] = "SELECT " USER_COLS " FROM admin_users WHERE name = ?1",
	[Q_USER_DELETE] = "DELETE FROM admin_users WHERE name = ?1",
	[Q_NEWEST_ISSUER] =
	    "SELECT issuer_key_id FROM certificates WHERE issuer_key_id IS NOT NULL"
	    " ORDER BY issued_at DESC, serial LIMIT 1",
};

static int copy_field(char *dst, size_t dstlen, const unsigned char *src);

struct store_sqlite {
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
	char errmsg[512];
};

__attribute__((format(printf, 2, 3)))
static void set_err(struct store_sqlite *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
}

/* Records SQLite's message for the last call on this handle. */
static void db_err(struct store_sqlite *st, const char *what)
{
	set_err(st, "%s: %s", what, sqlite3_errmsg(st->db));
}

/*
 * The cached statement id, prepared on first use, with no bindings. Give it back
 * with stmt_done() before returning. NULL (and errmsg set) on failure.
 */
static sqlite3_stmt *stmt_get(struct store_sqlite *st, enum stmt_id id)
{
	if (st->stmt[id] == NULL &&
	    sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	    &st->stmt[id], NULL) != SQLITE_OK) {
		db_err(st, "preparing a statement");
		st->stmt[id] = NULL;
		return NULL;
	}
	return st->stmt[id];
}

static void stmt_done(sqlite3_stmt *s)
{
	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* The bind helpers return 0, or -1 with errmsg set. NULL binds SQL NULL. */
static int bind_text(struct store_sqlite *st, sqlite3_stmt *s, int i, const char *v)
{
	int rc = v == NULL ? sqlite3_bind_null(s, i) : sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);

	if (rc != SQLITE_OK) {
		db_err(st, "binding a parameter");
		return -1;
	}
	return 0;
}

static int bind_int(struct store_sqlite *st, sqlite3_stmt *s, int i, int64_t v)
{
	if (sqlite3_bind_int64(s, i, v) != SQLITE_OK) {
		db_err(st, "binding a parameter");
		return -1;
	}
	return 0;
}

static int bind_blob(struct store_sqlite *st, sqlite3_stmt *s, int i, const void *v, size_t len)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(s, i);
	else
		rc = sqlite3_bind_blob64(s, i, v, len, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		db_err(st, "binding a parameter");
		return -1;
	}
	return 0;
}

/*
 * One parameter of a cached statement, for stmt_bound(): text, an integer or a
 * blob; NULL text or blob binds SQL NULL, and so does BIND_INT_OR_NULL when its
 * condition is false.
 */
struct bind {
	char type;              /* 't', 'i', 'b' or 'n' (NULL) */
	const char *text;
	int64_t i;
	const void *blob;
	size_t len;
};

#define BIND_TEXT(v) { .type = 't', .text = (v) }
#define BIND_INT(v) { .type = 'i', .i = (v) }
#define BIND_BLOB(v, n) { .type = 'b', .blob = (v), .len = (n) }
#define BIND_INT_OR_NULL(v, present) { .type = (present) ? 'i' : 'n', .i = (v) }

static int bind_all(struct store_sqlite *st, sqlite3_stmt *s, const struct bind *b, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		switch (b[i].type) {
		case 't':
			rc = bind_text(st, s, (int)i + 1, b[i].text);
			break;
		case 'i':
			rc = bind_int(st, s, (int)i + 1, b[i].i);
			break;
		case 'b':
			rc = bind_blob(st, s, (int)i + 1, b[i].blob, b[i].len);
			break;
		default:
			rc = bind_text(st, s, (int)i + 1, NULL);
			break;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * The cached statement id with parameters ?1.. bound to b[0..n-1], or NULL
 * (errmsg set). Give it back with stmt_done() as stmt_get() says.
 */
static sqlite3_stmt *stmt_bind(struct store_sqlite *st, enum stmt_id id, const struct bind *b, size_t n)
{
	sqlite3_stmt *s;

	if ((s = stmt_get(st, id)) == NULL)
		return NULL;
	if ((size_t)sqlite3_bind_parameter_count(s) != n) {
		set_err(st, "statement %d takes %d parameters, not %zu", (int)id,
		    sqlite3_bind_parameter_count(s), n);
		stmt_done(s);
		return NULL;
	}
	if (bind_all(st, s, b, n) == -1) {
		stmt_done(s);
		return NULL;
	}
	return s;
}

/* stmt_bind(st, id, BIND_...(), ...) with the parameters listed in order. */
#define stmt_bound(st, id, ...) stmt_bind((st), (id), (const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

/* Steps a statement that returns no rows. 0 on success. */
static int step_done(struct store_sqlite *st, sqlite3_stmt *s, const char *what)
{
	if (sqlite3_step(s) != SQLITE_DONE) {
		db_err(st, what);
		return -1;
	}
	return 0;
}

/*
 * Runs the cached statement id, which returns no rows, with b[0..n-1] bound;
 * 0, or -1 (errmsg set). sqlite3_changes() says how many rows it changed.
 */
static int stmt_exec_bind(struct store_sqlite *st, enum stmt_id id, const char *what,
    const struct bind *b, size_t n)
{
	sqlite3_stmt *s;
	int result = -1;

	if ((s = stmt_bind(st, id, b, n)) == NULL)
		goto out;
	if (step_done(st, s, what) == -1)
		goto out;
	result = 0;
out:
	stmt_done(s);
	return result;
}

/* stmt_exec_bind(st, id, what, BIND_...(), ...) with the parameters listed in order. */
#define stmt_exec(st, id, what, ...) stmt_exec_bind((st), (id), (what), \
	(const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

/* Steps a statement that returns one row or none: 1 (a row), 0 (none), -1 (errmsg set). */
static int step_row(struct store_sqlite *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	db_err(st, what);
	return -1;
}

/* Runs one of the cached BEGIN / COMMIT / ROLLBACK statements. */
static int tx_run(struct store_sqlite *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s;
	int result = -1;

	if ((s = stmt_get(st, id)) == NULL)
		goto out;
	if (step_done(st, s, what) == -1)
		goto out;
	result = 0;
out:
	stmt_done(s);
	return result;
}

/*
 * BEGIN IMMEDIATE takes SQLite's write lock at once (waiting up to the busy
 * timeout), so a transaction never fails half-way with SQLITE_BUSY when it
 * turns from reading to writing.
 */
static int tx_begin(struct store_sqlite *st)
{
	return tx_run(st, Q_BEGIN, "starting a transaction");
}

static int tx_commit(struct store_sqlite *st)
{
	return tx_run(st, Q_COMMIT, "committing");
}

/* Rolls back after an error, keeping the first error's message. */
static void tx_rollback(struct store_sqlite *st)
{
	char saved[sizeof(st->errmsg)];

	if (sqlite3_get_autocommit(st->db))
		return;
	memcpy(saved, st->errmsg, sizeof(saved));
	tx_run(st, Q_ROLLBACK, "rolling back");
	memcpy(st->errmsg, saved, sizeof(saved));
}

static int password_hash(struct store_sqlite *st, const char *password, unsigned char out[HASH_LEN])
{
	unsigned int len = 0;

	if (password == NULL) {
		set_err(st, "no challenge password given");
		return -1;
	}
	if (EVP_Digest(password, strlen(password), out, &len, EVP_sha256(), NULL) != 1 ||
	    len != HASH_LEN) {
		char buf[256];

		set_err(st, "SHA-256 of the challenge password: %s", ossl_errors(buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

/* Runs a statement that returns one text value (a PRAGMA) into out. */
static int query_text(struct store_sqlite *st, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int result = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_err(st, sql);
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		db_err(st, sql);
		goto out;
	}
	if ((v = sqlite3_column_text(s, 0)) == NULL) {
		set_err(st, "%s: no answer", sql);
		goto out;
	}
	snprintf(out, outlen, "%s", (const char *)v);
	if (sqlite3_step(s) != SQLITE_DONE) {
		db_err(st, sql);
		goto out;
	}
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

static int exec_sql(struct store_sqlite *st, const char *sql, const char *what)
{
	char *msg = NULL;
	int result = -1;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(st, "%s: %s", what, msg != NULL ? msg : sqlite3_errmsg(st->db));
		goto out;
	}
	result = 0;
out:
	sqlite3_free(msg);
	return result;
}

enum store_rc store_sqlite_ping(struct store_sqlite *st)
{
	if (tx_begin(st) == -1)
		return STORE_ERROR;
	tx_rollback(st);
	return STORE_OK;
}

int store_sqlite_schema_version(struct store_sqlite *st)
{
	char buf[32];
	char *end;
	long v;

	if (query_text(st, "PRAGMA user_version", buf, sizeof(buf)) == -1)
		return -1;
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < 0 || v > 1000000) {
		set_err(st, "PRAGMA user_version answered \"%s\"", buf);
		return -1;
	}
	return (int)v;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION: each migration newer than the
 * database runs in its own IMMEDIATE transaction that also sets user_version,
 * re-read under the write lock in case another process migrated meanwhile.
 */
static int migrate(struct store_sqlite *st)
{
	const struct schema_migration *m;
	char *pragma = NULL;
	int version, in_tx = 0, result = -1;
	size_t i;

	for (i = 0; i < STORE_SCHEMA_VERSION; i++) {
		if (schema_migrations[i].version != (int)i + 1) {
			set_err(st, "migration %s is out of sequence (expected %zu)",
			    schema_migrations[i].name, i + 1);
			goto out;
		}
	}
	for (;;) {
		if ((version = store_sqlite_schema_version(st)) < 0)
			goto out;
		if (version > STORE_SCHEMA_VERSION) {
			set_err(st, "the database has schema version %d, newer than this scepd's %d",
			    version, STORE_SCHEMA_VERSION);
			goto out;
		}
		if (version == STORE_SCHEMA_VERSION)
			break;
		if (tx_begin(st) == -1)
			goto out;
		in_tx = 1;
		if ((version = store_sqlite_schema_version(st)) < 0)
			goto out;
		if (version < STORE_SCHEMA_VERSION) {
			m = &schema_migrations[version];
			if (exec_sql(st, (const char *)m->sql, m->name) == -1)
				goto out;
			pragma = xasprintf("PRAGMA user_version = %d", m->version);
			if (exec_sql(st, pragma, m->name) == -1)
				goto out;
			free(pragma);
			pragma = NULL;
		}
		if (tx_commit(st) == -1)
			goto out;
		in_tx = 0;
	}
	result = 0;
out:
	if (in_tx)
		tx_rollback(st);
	free(pragma);
	return result;
}

struct store_sqlite *store_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct store_sqlite *st = NULL, *result = NULL;
	char buf[32];
	int rc;

	if (!sqlite3_threadsafe()) {
		errorf(err, errlen, "SQLite was built without thread support");
		goto out;
	}
	st = xcalloc(1, sizeof(*st));
	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (st->db != NULL)
			set_err(st, "%s: %s", path, sqlite3_errmsg(st->db));
		else
			set_err(st, "%s: %s", path, sqlite3_errstr(rc));
		goto out;
	}
	if (sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		db_err(st, "setting the busy timeout");
		goto out;
	}
	if (query_text(st, "PRAGMA journal_mode = WAL", buf, sizeof(buf)) == -1)
		goto out;
	if (strcmp(buf, "wal") != 0) {
		set_err(st, "%s: SQLite refused WAL mode (journal_mode is \"%s\")", path, buf);
		goto out;
	}
	if (exec_sql(st, "PRAGMA synchronous = FULL", "PRAGMA synchronous") == -1 ||
	    exec_sql(st, "PRAGMA foreign_keys = ON", "PRAGMA foreign_keys") == -1)
		goto out;
	if (query_text(st, "PRAGMA foreign_keys", buf, sizeof(buf)) == -1)
		goto out;
	if (strcmp(buf, "1") != 0) {
		set_err(st, "%s: SQLite refused to enforce foreign keys", path);
		goto out;
	}
	if (migrate(st) == -1)
		goto out;
	result = st;
	st = NULL;
out:
	if (st != NULL) {
		if (st->errmsg[0] != '\0')
			errorf(err, errlen, "%s", st->errmsg);
		else
			errorf(err, errlen, "cannot open the database");
		store_sqlite_close(st);
	}
	return result;
}

void store_sqlite_close(struct store_sqlite *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

const char *store_sqlite_errmsg(const struct store_sqlite *st)
{
	if (st == NULL)
		return "no database handle";
	return st->errmsg[0] != '\0' ? st->errmsg : "no error";
}

/* --- one-time challenges ------------------------------------------------- */

/*
 * Why a one-time password cannot be reserved by profile now, or STORE_OK if it
 * could (profile NULL: any profile).
 */
static enum store_rc challenge_state(struct store_sqlite *st, const unsigned char hash[HASH_LEN],
    const char *profile, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	const unsigned char *bound;
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt_bound(st, Q_CHALLENGE_GET, BIND_BLOB(hash, HASH_LEN))) == NULL)
		goto out;
	if ((rc = step_row(st, s, "reading a challenge")) <= 0) {
		if (rc == 0)
			result = STORE_CHALLENGE_UNKNOWN;
		goto out;
	}
	bound = sqlite3_column_text(s, 3);
	if (profile != NULL && (bound == NULL || strcmp((const char *)bound, profile) != 0))
		result = STORE_CHALLENGE_OTHER_PROFILE;
	else if (sqlite3_column_type(s, 1) != SQLITE_NULL ||
	    sqlite3_column_type(s, 2) != SQLITE_NULL)
		result = STORE_CHALLENGE_USED;
	else if (sqlite3_column_int64(s, 0) <= now)
		result = STORE_CHALLENGE_EXPIRED;
	else
		result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

/* Unused, unreserved, unexpired passwords (of profile; NULL: of all). -1 on error. */
static int count_unused(struct store_sqlite *st, const char *profile, int64_t now)
{
	sqlite3_stmt *s;
	int result = -1;

	if ((s = stmt_bound(st, Q_CHALLENGE_COUNT_UNUSED, BIND_INT(now),
	    BIND_TEXT(profile))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		db_err(st, "counting challenges");
		goto out;
	}
	result = sqlite3_column_int(s, 0);
out:
	stmt_done(s);
	return result;
}

enum store_rc store_sqlite_challenge_add(struct store_sqlite *st, const char *password, const char *profile,
    int64_t now, int64_t expires_at, unsigned max_unused)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];
	int in_tx = 0, n;

	if (profile == NULL || profile[0] == '\0') {
		set_err(st, "store_challenge_add: no profile");
		goto out;
	}
	if (password_hash(st, password, hash) == -1)
		goto out;
	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if (stmt_exec(st, Q_CHALLENGE_DELETE_EXPIRED, "purging expired challenges",
	    BIND_INT(now)) == -1)
		goto out;
	if ((n = count_unused(st, profile, now)) < 0)
		goto out;
	if ((unsigned)n >= max_unused) {
		set_err(st, "%d unused challenge passwords are cached already for profile %s "
		    "(PasswordMax %u)", n, profile, max_unused);
		result = STORE_CACHE_FULL;
		goto out;
	}
	if (stmt_exec(st, Q_CHALLENGE_INSERT, "recording a challenge", BIND_BLOB(hash, HASH_LEN),
	    BIND_INT(now), BIND_INT(expires_at), BIND_TEXT(profile)) == -1)
		goto out;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

/*
 * One UPDATE takes the reservation, so of requests racing with one password
 * exactly one changes the row; the others read why they cannot have it.
 */
enum store_rc store_sqlite_challenge_reserve(struct store_sqlite *st, const char *password,
    const char *profile, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (profile == NULL) {
		set_err(st, "store_challenge_reserve: no profile");
		goto out;
	}
	if (password_hash(st, password, hash) == -1)
		goto out;
	if (stmt_exec(st, Q_CHALLENGE_RESERVE, "reserving the challenge", BIND_INT(now),
	    BIND_BLOB(hash, HASH_LEN), BIND_TEXT(profile)) == -1)
		goto out;
	if (sqlite3_changes(st->db) == 1) {
		result = STORE_OK;
		goto out;
	}
	result = challenge_state(st, hash, profile, now);
	if (result == STORE_OK) {
		/* Usable a moment later: it was released in between; no second try. */
		set_err(st, "the challenge password was in use by another request");
		result = STORE_CHALLENGE_USED;
	}
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

enum store_rc store_sqlite_challenge_release(struct store_sqlite *st, const char *password)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (password_hash(st, password, hash) == -1)
		goto out;
	if (stmt_exec(st, Q_CHALLENGE_RELEASE, "releasing the challenge",
	    BIND_BLOB(hash, HASH_LEN)) == -1)
		goto out;
	result = sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

enum store_rc store_sqlite_challenge_check(struct store_sqlite *st, const char *password, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (password_hash(st, password, hash) == -1)
		goto out;
	result = challenge_state(st, hash, NULL, now);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

int store_sqlite_challenge_count_unused(struct store_sqlite *st, int64_t now)
{
	return count_unused(st, NULL, now);
}

int store_sqlite_challenge_purge(struct store_sqlite *st, int64_t now)
{
	if (stmt_exec(st, Q_CHALLENGE_PURGE, "purging challenges", BIND_INT(now)) == -1)
		return -1;
	return sqlite3_changes(st->db);
}

int store_sqlite_challenge_foreach(struct store_sqlite *st, int64_t now,
    int (*fn)(const struct store_challenge_info *, void *), void *arg)
{
	struct store_challenge_info ci;
	sqlite3_stmt *s = NULL;
	const void *hash;
	int rc, result = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT password_sha256, created_at, expires_at, profile"
	    " FROM challenges WHERE used_at IS NULL AND reserved_at IS NULL AND expires_at > ?1"
	    " ORDER BY created_at, expires_at", -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "listing challenges");
		goto out;
	}
	if (bind_int(st, s, 1, now) == -1)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&ci, 0, sizeof(ci));
		hash = sqlite3_column_blob(s, 0);
		if (hash == NULL || sqlite3_column_bytes(s, 0) != HASH_LEN) {
			set_err(st, "a challenge row has no hash");
			goto out;
		}
		hex_encode(hash, 8, ci.id, 1);
		ci.created_at = sqlite3_column_int64(s, 1);
		ci.expires_at = sqlite3_column_int64(s, 2);
		if (copy_field(ci.profile, sizeof(ci.profile), sqlite3_column_text(s, 3)) == -1) {
			set_err(st, "a challenge row has no usable profile");
			goto out;
		}
		if ((rc = fn(&ci, arg)) != 0) {
			result = rc;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing challenges");
		goto out;
	}
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

/* --- accounts of the mscep_admin pages ------------------------------------ */

/* Fills u from the USER_COLS columns of the current row. -1 if a value is malformed. */
static int user_from_row(struct store_sqlite *st, sqlite3_stmt *s, struct store_user *u)
{
	const void *b;

	memset(u, 0, sizeof(*u));
	if (copy_field(u->name, sizeof(u->name), sqlite3_column_text(s, 0)) == -1) {
		set_err(st, "an account row has a missing or oversized name");
		return -1;
	}
	if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
		if ((b = sqlite3_column_blob(s, 1)) == NULL ||
		    sqlite3_column_bytes(s, 1) != (int)sizeof(u->nt_hash))
			goto bad;
		memcpy(u->nt_hash, b, sizeof(u->nt_hash));
		u->has_nt_hash = 1;
	}
	if ((b = sqlite3_column_blob(s, 2)) == NULL ||
	    sqlite3_column_bytes(s, 2) != (int)sizeof(u->basic_salt))
		goto bad;
	memcpy(u->basic_salt, b, sizeof(u->basic_salt));
	if ((b = sqlite3_column_blob(s, 3)) == NULL ||
	    sqlite3_column_bytes(s, 3) != (int)sizeof(u->basic_hash))
		goto bad;
	memcpy(u->basic_hash, b, sizeof(u->basic_hash));
	u->basic_iterations = (unsigned)sqlite3_column_int64(s, 4);
	u->enroll = sqlite3_column_int(s, 5) != 0;
	u->created_at = sqlite3_column_int64(s, 6);
	return 0;
bad:
	set_err(st, "account %s has a malformed hash", u->name);
	OPENSSL_cleanse(u, sizeof(*u));
	return -1;
}

enum store_rc store_sqlite_user_add(struct store_sqlite *st, const struct store_user *u)
{
	enum store_rc result = STORE_ERROR;
	sqlite3_stmt *s;

	if ((s = stmt_bound(st, Q_USER_INSERT, BIND_TEXT(u->name),
	    BIND_BLOB(u->has_nt_hash ? u->nt_hash : NULL, sizeof(u->nt_hash)),
	    BIND_BLOB(u->basic_salt, sizeof(u->basic_salt)),
	    BIND_BLOB(u->basic_hash, sizeof(u->basic_hash)),
	    BIND_INT(u->basic_iterations), BIND_INT(u->enroll ? 1 : 0),
	    BIND_INT(u->created_at))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
			set_err(st, "an account named %s exists already", u->name);
			result = STORE_CONFLICT;
		} else
			db_err(st, "adding the account");
		goto out;
	}
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

enum store_rc store_sqlite_user_get(struct store_sqlite *st, const char *name, struct store_user *out)
{
	enum store_rc result = STORE_ERROR;
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((s = stmt_bound(st, Q_USER_GET, BIND_TEXT(name))) == NULL)
		goto out;
	if ((rc = step_row(st, s, "looking up the account")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	if (user_from_row(st, s, out) == -1)
		goto out;
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

enum store_rc store_sqlite_user_del(struct store_sqlite *st, const char *name)
{
	if (stmt_exec(st, Q_USER_DELETE, "deleting the account", BIND_TEXT(name)) == -1)
		return STORE_ERROR;
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_sqlite_user_foreach(struct store_sqlite *st, int (*fn)(const struct store_user *, void *), void *arg)
{
	struct store_user u;
	sqlite3_stmt *s = NULL;
	int rc, result = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT " USER_COLS " FROM admin_users ORDER BY name",
	    -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "listing accounts");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (user_from_row(st, s, &u) == -1)
			goto out;
		rc = fn(&u, arg);
		OPENSSL_cleanse(&u, sizeof(u));
		if (rc != 0) {
			result = rc;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing accounts");
		goto out;
	}
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

/* --- requests and certificates ------------------------------------------- */

/* Copies text into a fixed field; -1 if it is missing or does not fit. */
static int copy_field(char *dst, size_t dstlen, const unsigned char *src)
{
	if (src == NULL || strlen((const char *)src) >= dstlen)
		return -1;
	memcpy(dst, src, strlen((const char *)src) + 1);
	return 0;
}

/* Copies optional text (NULL gives ""); -1 if it does not fit. */
static int copy_optional(char *dst, size_t dstlen, const unsigned char *src)
{
	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	return copy_field(dst, dstlen, src);
}

/* Builds a certificate from the CERT_COLS columns of the current row. */
static struct store_cert *cert_from_row(struct store_sqlite *st, sqlite3_stmt *s)
{
	struct store_cert *c = NULL, *result = NULL;
	const unsigned char *subject, *txid;
	const void *der;
	int der_len;

	c = xcalloc(1, sizeof(*c));
	if (copy_field(c->serial, sizeof(c->serial), sqlite3_column_text(s, 0)) == -1 ||
	    copy_field(c->status, sizeof(c->status), sqlite3_column_text(s, 5)) == -1) {
		set_err(st, "a certificate row has a missing or oversized serial or status");
		goto out;
	}
	subject = sqlite3_column_text(s, 1);
	c->subject = xstrdup(subject != NULL ? (const char *)subject : "");
	c->not_before = sqlite3_column_int64(s, 2);
	c->not_after = sqlite3_column_int64(s, 3);
	der = sqlite3_column_blob(s, 4);
	der_len = sqlite3_column_bytes(s, 4);
	if (der == NULL || der_len <= 0) {
		set_err(st, "certificate %s has no DER", c->serial);
		goto out;
	}
	c->der = xmalloc((size_t)der_len);
	memcpy(c->der, der, (size_t)der_len);
	c->der_len = (size_t)der_len;
	txid = sqlite3_column_text(s, 6);
	if (txid != NULL && copy_field(c->transaction_id, sizeof(c->transaction_id), txid) == -1) {
		set_err(st, "certificate %s has an oversized transactionID", c->serial);
		goto out;
	}
	c->issued_at = sqlite3_column_int64(s, 7);
	if (copy_optional(c->issuer_key_id, sizeof(c->issuer_key_id),
	    sqlite3_column_text(s, 8)) == -1 ||
	    copy_optional(c->renewed_serial, sizeof(c->renewed_serial),
	    sqlite3_column_text(s, 11)) == -1) {
		set_err(st, "certificate %s has an oversized issuer or renewed serial", c->serial);
		goto out;
	}
	c->revoked_at = sqlite3_column_int64(s, 9);
	c->revocation_reason = sqlite3_column_int(s, 10);
	result = c;
	c = NULL;
out:
	store_cert_free(c);
	return result;
}

/*
 * Inserts a requests row. failinfo < 0 and NULL strings are stored as NULL;
 * e (optional) supplies the signer key, profile, template and renewed
 * serial, csr the request of a waiting one.
 */
static int request_insert_full(struct store_sqlite *st, const char *transaction_id, int message_type,
    const char *client_addr, const unsigned char *pubkey_sha256, const char *subject,
    const char *outcome, int failinfo, const char *reason, int64_t now, const char *cert_serial,
    const struct store_enrollment *e, const unsigned char *csr, size_t csr_len)
{
	return stmt_exec(st, Q_REQUEST_INSERT, "recording the request",
	    BIND_TEXT(transaction_id),
	    BIND_INT(message_type),
	    BIND_TEXT(client_addr),
	    BIND_BLOB(pubkey_sha256, HASH_LEN),
	    BIND_TEXT(subject),
	    BIND_TEXT(outcome),
	    BIND_INT_OR_NULL(failinfo, failinfo >= 0),
	    BIND_TEXT(reason),
	    BIND_INT(now),
	    BIND_TEXT(cert_serial),
	    BIND_BLOB(e != NULL ? e->signer_sha256 : NULL, HASH_LEN),
	    BIND_TEXT(e != NULL ? e->profile : NULL),
	    BIND_TEXT(e != NULL ? e->template_name : NULL),
	    BIND_BLOB(csr, csr_len),
	    BIND_TEXT(e != NULL ? e->renew_serial : NULL),
	    BIND_TEXT(e != NULL ? e->backend : NULL),
	    BIND_TEXT(e != NULL && e->backend != NULL ? e->backend_handle : NULL),
	    BIND_BLOB(e != NULL ? e->envelope : NULL, e != NULL ? e->envelope_len : 0));
}

/* Inserts a requests row without the columns of store_request_pending. */
static int request_insert(struct store_sqlite *st, const char *transaction_id, int message_type,
    const char *client_addr, const unsigned char *pubkey_sha256, const char *subject,
    const char *outcome, int failinfo, const char *reason, int64_t now, const char *cert_serial)
{
	return request_insert_full(st, transaction_id, message_type, client_addr, pubkey_sha256,
	    subject, outcome, failinfo, reason, now, cert_serial, NULL, NULL, 0);
}

/*
 * Runs Q_REQUEST_ISSUED_EXISTS or Q_REQUEST_ACTIVE_EXISTS: 1 if transaction_id
 * (renewing renew_serial) has such a request, 0 if not, -1 on error.
 */
static int transaction_exists(struct store_sqlite *st, enum stmt_id q, const char *transaction_id,
    const char *renew_serial)
{
	sqlite3_stmt *s;
	int result = -1;

	if ((s = stmt_bound(st, q, BIND_TEXT(transaction_id), BIND_TEXT(renew_serial))) == NULL)
		goto out;
	result = step_row(st, s, "looking up the transactionID");
out:
	stmt_done(s);
	return result;
}

static int cert_insert(struct store_sqlite *st, const struct store_cert *c, const char *transaction_id,
    const char *renewed_serial, int64_t now)
{
	sqlite3_stmt *s;
	int result = -1;

	if ((s = stmt_bound(st, Q_CERT_INSERT,
	    BIND_TEXT(c->serial),
	    BIND_TEXT(c->subject != NULL ? c->subject : ""),
	    BIND_INT(c->not_before),
	    BIND_INT(c->not_after),
	    BIND_BLOB(c->der, c->der_len),
	    BIND_TEXT(transaction_id),
	    BIND_INT(now),
	    BIND_TEXT(c->issuer_key_id[0] != '\0' ? c->issuer_key_id : NULL),
	    BIND_TEXT(renewed_serial))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
			set_err(st, "a certificate with serial %s exists already", c->serial);
		else
			db_err(st, "recording the certificate");
		goto out;
	}
	result = 0;
out:
	stmt_done(s);
	return result;
}

/* Consumes a password this request reserved (inside the caller's transaction). */
static enum store_rc challenge_consume(struct store_sqlite *st, const char *password, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (password_hash(st, password, hash) == -1)
		goto out;
	if (stmt_exec(st, Q_CHALLENGE_CONSUME, "consuming the challenge", BIND_INT(now),
	    BIND_BLOB(hash, HASH_LEN)) == -1)
		goto out;
	if (sqlite3_changes(st->db) == 1) {
		result = STORE_OK;
		goto out;
	}
	/* Not consumed: say why (same transaction, so the answer is consistent). */
	result = challenge_state(st, hash, NULL, now);
	if (result == STORE_OK) {
		set_err(st, "the challenge password was not reserved by this request");
		result = STORE_ERROR;
	} else if (result != STORE_ERROR) {
		set_err(st, "%s", result == STORE_CHALLENGE_USED ? "the challenge password was used already" :
		    result == STORE_CHALLENGE_EXPIRED ? "the challenge password expired" :
		    "the challenge password is unknown");
	}
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

/* Upper-case serial without "0x" into out; -1 (errmsg set) when too long. */
static int normalize_serial(struct store_sqlite *st, const char *serial, char *out, size_t outlen)
{
	size_t i;

	if (serial[0] == '0' && (serial[1] == 'x' || serial[1] == 'X'))
		serial += 2;
	if (strlen(serial) >= outlen) {
		set_err(st, "serial %.32s... is too long", serial);
		return -1;
	}
	for (i = 0; serial[i] != '\0'; i++)
		out[i] = serial[i] >= 'a' && serial[i] <= 'f' ? (char)(serial[i] - 'a' + 'A') :
		    serial[i];
	out[i] = '\0';
	return 0;
}

/* Revokes serial inside the caller's transaction: OK, NOT_FOUND, CONFLICT or ERROR. */
static enum store_rc revoke_one(struct store_sqlite *st, const char *serial, int reason, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	char norm[80];
	sqlite3_stmt *s = NULL;
	int rc;

	if (normalize_serial(st, serial, norm, sizeof(norm)) == -1) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (stmt_exec(st, Q_CERT_REVOKE, "revoking", BIND_TEXT(norm), BIND_INT(now),
	    BIND_INT(reason)) == -1)
		goto out;
	if (sqlite3_changes(st->db) == 1) {
		result = STORE_OK;
		goto out;
	}
	if ((s = stmt_bound(st, Q_CERT_STATUS, BIND_TEXT(norm))) == NULL)
		goto out;
	rc = step_row(st, s, "reading a certificate's status");
	if (rc == 0) {
		set_err(st, "no certificate with serial %s", norm);
		result = STORE_NOT_FOUND;
	} else if (rc == 1) {
		set_err(st, "certificate %s is revoked already", norm);
		result = STORE_CONFLICT;
	}
out:
	stmt_done(s);
	return result;
}

/* The renewed certificate of e, revoked as superseded (inside the transaction). */
static enum store_rc revoke_superseded(struct store_sqlite *st, const struct store_enrollment *e)
{
	if (e->renew_serial == NULL || e->renew_serial[0] == '\0') {
		set_err(st, "revoke_renewed without renew_serial");
		return STORE_ERROR;
	}
	return revoke_one(st, e->renew_serial, STORE_REASON_SUPERSEDED, e->now);
}

/* store_enroll_commit's work inside the caller's transaction; nothing undone on failure. */
static enum store_rc enroll_apply(struct store_sqlite *st, const struct store_enrollment *e)
{
	enum store_rc result = STORE_ERROR, rc;
	int issued;

	if (e == NULL || e->transaction_id == NULL || e->pubkey_sha256 == NULL || e->cert == NULL ||
	    e->cert->serial[0] == '\0' || e->cert->der == NULL || e->cert->der_len == 0) {
		set_err(st, "store_enroll_commit: transactionID, key hash or certificate missing");
		goto out;
	}
	/*
	 * The transactionID is checked first, so a duplicate of a request that was
	 * just served gets STORE_CONFLICT (and its caller the recorded certificate)
	 * rather than "challenge used".
	 */
	if ((issued = transaction_exists(st, Q_REQUEST_ISSUED_EXISTS, e->transaction_id,
	    e->renew_serial)) < 0)
		goto out;
	if (issued) {
		set_err(st, "transactionID %s has a certificate already", e->transaction_id);
		result = STORE_CONFLICT;
		goto out;
	}
	if (e->challenge != NULL && (rc = challenge_consume(st, e->challenge, e->now)) != STORE_OK) {
		result = rc;
		goto out;
	}
	if (e->revoke_renewed && (rc = revoke_superseded(st, e)) != STORE_OK) {
		result = rc;
		goto out;
	}
	if (cert_insert(st, e->cert, e->transaction_id, e->renew_serial, e->now) == -1)
		goto out;
	if (request_insert_full(st, e->transaction_id, e->message_type, e->client_addr,
	    e->pubkey_sha256, e->subject != NULL ? e->subject : e->cert->subject, "issued", -1,
	    NULL, e->now, e->cert->serial, e, NULL, 0) == -1) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
			result = STORE_CONFLICT;
		goto out;
	}
	result = STORE_OK;
out:
	return result;
}

enum store_rc store_sqlite_enroll_commit(struct store_sqlite *st, const struct store_enrollment *e)
{
	enum store_rc result = STORE_ERROR;
	int in_tx = 0;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if ((result = enroll_apply(st, e)) != STORE_OK)
		goto out;
	result = STORE_ERROR;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	return result;
}

/* --- group commit: the steps commitq.c runs for a batch -------------------- */

enum store_rc store_sqlite_batch_begin(struct store_sqlite *st)
{
	return tx_begin(st) == 0 ? STORE_OK : STORE_ERROR;
}

enum store_rc store_sqlite_batch_enroll(struct store_sqlite *st, const struct store_enrollment *e)
{
	enum store_rc result;
	char saved[sizeof(st->errmsg)];

	if (exec_sql(st, "SAVEPOINT enroll", "starting a savepoint") == -1)
		return STORE_ERROR;
	if ((result = enroll_apply(st, e)) == STORE_OK)
		return exec_sql(st, "RELEASE enroll", "releasing a savepoint") == 0 ? STORE_OK :
		    STORE_ERROR;
	memcpy(saved, st->errmsg, sizeof(saved));
	if (exec_sql(st, "ROLLBACK TO enroll", "rolling back a savepoint") == -1 ||
	    exec_sql(st, "RELEASE enroll", "releasing a savepoint") == -1)
		return STORE_ERROR;   /* the batch's transaction is broken: the caller rolls back */
	memcpy(st->errmsg, saved, sizeof(saved));
	return result;
}

enum store_rc store_sqlite_batch_commit(struct store_sqlite *st)
{
	if (tx_commit(st) == 0)
		return STORE_OK;
	tx_rollback(st);
	return STORE_ERROR;
}

void store_sqlite_batch_rollback(struct store_sqlite *st)
{
	tx_rollback(st);
}

enum store_rc store_sqlite_request_failed(struct store_sqlite *st, const char *transaction_id,
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256,
    const char *subject, int failinfo, const char *reason, int64_t now)
{
	if (transaction_id == NULL) {
		set_err(st, "store_request_failed: no transactionID");
		return STORE_ERROR;
	}
	if (request_insert(st, transaction_id, message_type, client_addr, pubkey_sha256, subject,
	    "failure", failinfo, reason, now, NULL) == -1)
		return STORE_ERROR;
	return STORE_OK;
}

enum store_rc store_sqlite_issued_for_transaction(struct store_sqlite *st, const char *transaction_id,
    struct store_cert **out, unsigned char pubkey_sha256[32])
{
	return store_sqlite_issued_for_renewal(st, transaction_id, NULL, out, pubkey_sha256);
}

enum store_rc store_sqlite_issued_for_renewal(struct store_sqlite *st, const char *transaction_id,
    const char *renew_serial, struct store_cert **out, unsigned char pubkey_sha256[32])
{
	enum store_rc result = STORE_ERROR;
	struct store_cert *c = NULL;
	sqlite3_stmt *s;
	const void *key;
	int rc;

	*out = NULL;
	if ((s = stmt_bound(st, Q_ISSUED_FOR_TRANSACTION, BIND_TEXT(transaction_id),
	    BIND_TEXT(renew_serial))) == NULL)
		goto out;
	if ((rc = step_row(st, s, "looking up the transactionID")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	if ((c = cert_from_row(st, s)) == NULL)
		goto out;
	key = sqlite3_column_blob(s, N_CERT_COLS);
	if (key == NULL || sqlite3_column_bytes(s, N_CERT_COLS) != HASH_LEN) {
		set_err(st, "transactionID %s has no key hash", transaction_id);
		goto out;
	}
	if (pubkey_sha256 != NULL)
		memcpy(pubkey_sha256, key, HASH_LEN);
	key = sqlite3_column_blob(s, N_CERT_COLS + 1);
	if (key != NULL && sqlite3_column_bytes(s, N_CERT_COLS + 1) == HASH_LEN) {
		memcpy(c->signer_sha256, key, HASH_LEN);
		c->has_signer_sha256 = 1;
	}
	*out = c;
	c = NULL;
	result = STORE_OK;
out:
	stmt_done(s);
	store_cert_free(c);
	return result;
}

enum store_rc store_sqlite_cert_by_serial(struct store_sqlite *st, const char *serial, struct store_cert **out)
{
	enum store_rc result = STORE_ERROR;
	char norm[sizeof(((struct store_cert *)0)->serial)];
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	/* Serials are stored upper-case without "0x"; accept either from a user. */
	if (normalize_serial(st, serial, norm, sizeof(norm)) == -1) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if ((s = stmt_bound(st, Q_CERT_BY_SERIAL, BIND_TEXT(norm))) == NULL)
		goto out;
	if ((rc = step_row(st, s, "looking up the serial")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	if ((*out = cert_from_row(st, s)) == NULL)
		goto out;
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

/*
 * Uses its own statement (not the cached ones), so fn may use this handle,
 * even for another store_sqlite_cert_foreach(). Returns 0, fn's non-zero result, or
 * -1 with errmsg set when the store fails.
 */
int store_sqlite_cert_foreach(struct store_sqlite *st, int (*fn)(const struct store_cert *, void *), void *arg)
{
	struct store_cert *c = NULL;
	sqlite3_stmt *s = NULL;
	int rc, result = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT " CERT_COLS " FROM certificates c"
	    " ORDER BY c.issued_at DESC, c.serial", -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "listing certificates");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((c = cert_from_row(st, s)) == NULL)
			goto out;
		if ((rc = fn(c, arg)) != 0) {
			result = rc;
			goto out;
		}
		store_cert_free(c);
		c = NULL;
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing certificates");
		goto out;
	}
	result = 0;
out:
	store_cert_free(c);
	sqlite3_finalize(s);
	return result;
}

/* --- manual approval ----------------------------------------------------- */

enum store_rc store_sqlite_request_pending(struct store_sqlite *st, const struct store_enrollment *e,
    const unsigned char *csr, size_t csr_len)
{
	enum store_rc result = STORE_ERROR, rc;
	int in_tx = 0, active;

	if (e == NULL || e->transaction_id == NULL || e->pubkey_sha256 == NULL ||
	    e->signer_sha256 == NULL || csr == NULL || csr_len == 0) {
		set_err(st, "store_request_pending: transactionID, key hashes or CSR missing");
		goto out;
	}
	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if ((active = transaction_exists(st, Q_REQUEST_ACTIVE_EXISTS, e->transaction_id,
	    e->renew_serial)) < 0)
		goto out;
	if (active) {
		set_err(st, "transactionID %s has a waiting or issued request already",
		    e->transaction_id);
		result = STORE_CONFLICT;
		goto out;
	}
	if (e->challenge != NULL && (rc = challenge_consume(st, e->challenge, e->now)) != STORE_OK) {
		result = rc;
		goto out;
	}
	if (request_insert_full(st, e->transaction_id, e->message_type, e->client_addr,
	    e->pubkey_sha256, e->subject, "pending", -1, NULL, e->now, NULL, e, csr,
	    csr_len) == -1) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
			result = STORE_CONFLICT;
		goto out;
	}
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	return result;
}

static char *column_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v != NULL ? xstrdup((const char *)v) : NULL;
}

/* Builds a waiting request from the PENDING_COLS columns of the current row. */
static struct store_pending *pending_from_row(struct store_sqlite *st, sqlite3_stmt *s)
{
	struct store_pending *p = NULL, *result = NULL;
	const void *b;
	int n;

	p = xcalloc(1, sizeof(*p));
	p->id = sqlite3_column_int64(s, 0);
	if (copy_field(p->transaction_id, sizeof(p->transaction_id),
	    sqlite3_column_text(s, 1)) == -1) {
		set_err(st, "request %lld has no usable transactionID", (long long)p->id);
		goto out;
	}
	p->message_type = sqlite3_column_int(s, 2);
	p->client_addr = column_strdup(s, 3);
	p->subject = column_strdup(s, 4);
	p->profile = column_strdup(s, 5);
	p->template_name = column_strdup(s, 6);
	if ((b = sqlite3_column_blob(s, 7)) == NULL || sqlite3_column_bytes(s, 7) != HASH_LEN) {
		set_err(st, "request %lld has no key hash", (long long)p->id);
		goto out;
	}
	memcpy(p->pubkey_sha256, b, HASH_LEN);
	if ((b = sqlite3_column_blob(s, 8)) == NULL || sqlite3_column_bytes(s, 8) != HASH_LEN) {
		set_err(st, "request %lld has no signer key hash", (long long)p->id);
		goto out;
	}
	memcpy(p->signer_sha256, b, HASH_LEN);
	b = sqlite3_column_blob(s, 9);
	n = sqlite3_column_bytes(s, 9);
	if (b == NULL || n <= 0) {
		set_err(st, "request %lld has no CSR", (long long)p->id);
		goto out;
	}
	p->csr = xmalloc((size_t)n);
	memcpy(p->csr, b, (size_t)n);
	p->csr_len = (size_t)n;
	if (copy_optional(p->renew_serial, sizeof(p->renew_serial),
	    sqlite3_column_text(s, 10)) == -1 ||
	    copy_optional(p->decision, sizeof(p->decision), sqlite3_column_text(s, 11)) == -1) {
		set_err(st, "request %lld has an oversized field", (long long)p->id);
		goto out;
	}
	p->created_at = sqlite3_column_int64(s, 12);
	p->decided_at = sqlite3_column_int64(s, 13);
	p->backend = column_strdup(s, 14);
	p->backend_handle = column_strdup(s, 15);
	p->failinfo = sqlite3_column_type(s, 16) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 16);
	p->reason = column_strdup(s, 17);
	if ((b = sqlite3_column_blob(s, 18)) != NULL && (n = sqlite3_column_bytes(s, 18)) > 0) {
		p->envelope = xmalloc((size_t)n);
		memcpy(p->envelope, b, (size_t)n);
		p->envelope_len = (size_t)n;
	}
	result = p;
	p = NULL;
out:
	store_pending_free(p);
	return result;
}

/* Runs a PENDING_COLS statement that has its key bound: one row or none. */
static enum store_rc pending_get(struct store_sqlite *st, sqlite3_stmt *s, struct store_pending **out)
{
	enum store_rc result = STORE_ERROR;
	int rc;

	if ((rc = step_row(st, s, "looking up a waiting request")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	if ((*out = pending_from_row(st, s)) == NULL)
		goto out;
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

enum store_rc store_sqlite_pending_for_transaction(struct store_sqlite *st, const char *transaction_id,
    const char *renew_serial, struct store_pending **out)
{
	sqlite3_stmt *s;

	*out = NULL;
	if ((s = stmt_bound(st, Q_PENDING_BY_TXID, BIND_TEXT(transaction_id),
	    BIND_TEXT(renew_serial))) == NULL)
		return STORE_ERROR;
	return pending_get(st, s, out);
}

enum store_rc store_sqlite_pending_by_id(struct store_sqlite *st, int64_t id, struct store_pending **out)
{
	sqlite3_stmt *s;

	*out = NULL;
	if ((s = stmt_bound(st, Q_PENDING_BY_ID, BIND_INT(id))) == NULL)
		return STORE_ERROR;
	return pending_get(st, s, out);
}

int store_sqlite_pending_foreach(struct store_sqlite *st, int all,
    int (*fn)(const struct store_pending *, void *), void *arg)
{
	struct store_pending *p = NULL;
	sqlite3_stmt *s = NULL;
	int rc, result = -1;

	if (sqlite3_prepare_v2(st->db, all ? "SELECT " PENDING_COLS " ORDER BY id" :
	    "SELECT " PENDING_COLS " AND decision IS NULL ORDER BY id", -1, &s, NULL) !=
	    SQLITE_OK) {
		db_err(st, "listing waiting requests");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((p = pending_from_row(st, s)) == NULL)
			goto out;
		if ((rc = fn(p, arg)) != 0) {
			result = rc;
			goto out;
		}
		store_pending_free(p);
		p = NULL;
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing waiting requests");
		goto out;
	}
	result = 0;
out:
	store_pending_free(p);
	sqlite3_finalize(s);
	return result;
}

int store_sqlite_request_history(struct store_sqlite *st, const char *transaction_id,
    int (*fn)(const struct store_request_row *, void *), void *arg)
{
	struct store_request_row r;
	sqlite3_stmt *s = NULL;
	int rc, n = 0, result = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT id, message_type, client_addr, subject, profile, "
	    "outcome, failinfo, reason, created_at, cert_serial FROM requests "
	    "WHERE transaction_id = ?1 ORDER BY id", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, transaction_id, -1, SQLITE_STATIC) != SQLITE_OK) {
		db_err(st, "reading a transaction's requests");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(s, 0);
		r.message_type = sqlite3_column_int(s, 1);
		r.client_addr = (const char *)sqlite3_column_text(s, 2);
		r.subject = (const char *)sqlite3_column_text(s, 3);
		r.profile = (const char *)sqlite3_column_text(s, 4);
		r.outcome = (const char *)sqlite3_column_text(s, 5);
		r.failinfo = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 6);
		r.reason = (const char *)sqlite3_column_text(s, 7);
		r.created_at = sqlite3_column_int64(s, 8);
		r.cert_serial = (const char *)sqlite3_column_text(s, 9);
		n++;
		if (r.outcome == NULL) {
			set_err(st, "request %lld has no outcome", (long long)r.id);
			goto out;
		}
		if ((rc = fn(&r, arg)) != 0) {
			result = rc;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "reading a transaction's requests");
		goto out;
	}
	result = n;
out:
	sqlite3_finalize(s);
	return result;
}

enum store_rc store_sqlite_pending_set_csr(struct store_sqlite *st, int64_t id, const unsigned char *csr,
    size_t csr_len)
{
	if (csr == NULL || csr_len == 0) {
		set_err(st, "store_pending_set_csr: no CSR");
		return STORE_ERROR;
	}
	if (stmt_exec(st, Q_PENDING_SET_CSR, "replacing a waiting request's CSR", BIND_INT(id),
	    BIND_BLOB(csr, csr_len)) == -1)
		return STORE_ERROR;
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_sqlite_pending_decide(struct store_sqlite *st, int64_t id, int approve, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	struct store_pending *p = NULL;

	if (stmt_exec(st, Q_PENDING_DECIDE, "recording the decision", BIND_INT(id),
	    BIND_TEXT(approve ? "approved" : "rejected"), BIND_INT(now)) == -1)
		goto out;
	if (sqlite3_changes(st->db) == 1) {
		result = STORE_OK;
		goto out;
	}
	/* Not changed: unknown, or decided already. */
	switch (store_sqlite_pending_by_id(st, id, &p)) {
	case STORE_OK:
		if (p->decision[0] == '\0' && p->backend != NULL)
			set_err(st, "request %lld waits for CA backend %s, which decides it; "
			    "`scepctl request reject` stops waiting for it", (long long)id,
			    p->backend);
		else
			set_err(st, "request %lld was %s already", (long long)id, p->decision);
		result = STORE_CONFLICT;
		break;
	case STORE_NOT_FOUND:
		set_err(st, "no waiting request %lld", (long long)id);
		result = STORE_NOT_FOUND;
		break;
	default:
		break;
	}
out:
	store_pending_free(p);
	return result;
}

enum store_rc store_sqlite_pending_issue(struct store_sqlite *st, int64_t id, const struct store_enrollment *e)
{
	enum store_rc result = STORE_ERROR, rc;
	struct store_pending *p = NULL;
	sqlite3_stmt *s = NULL;
	int in_tx = 0;

	if (e == NULL || e->transaction_id == NULL || e->cert == NULL ||
	    e->cert->serial[0] == '\0' || e->cert->der == NULL || e->cert->der_len == 0) {
		set_err(st, "store_pending_issue: transactionID or certificate missing");
		goto out;
	}
	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	/* Checked first, so a second issue is a conflict rather than a duplicate serial. */
	switch (store_sqlite_pending_by_id(st, id, &p)) {
	case STORE_OK:
		if (strcmp(p->decision, "approved") == 0 ||
		    (p->decision[0] == '\0' && p->backend != NULL))
			break;
		/* FALLTHROUGH */
	case STORE_NOT_FOUND:
		set_err(st, "request %lld is not an approved waiting request", (long long)id);
		result = STORE_CONFLICT;
		goto out;
	default:
		goto out;
	}
	if (e->revoke_renewed && (rc = revoke_superseded(st, e)) != STORE_OK) {
		result = rc;
		goto out;
	}
	if (cert_insert(st, e->cert, e->transaction_id, e->renew_serial, e->now) == -1)
		goto out;
	if ((s = stmt_bound(st, Q_PENDING_ISSUE, BIND_INT(id), BIND_TEXT(e->cert->serial))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE) {
			set_err(st, "transactionID %s has a certificate already", e->transaction_id);
			result = STORE_CONFLICT;
		} else {
			db_err(st, "recording the issued request");
		}
		goto out;
	}
	if (sqlite3_changes(st->db) != 1) {
		set_err(st, "request %lld is not an approved waiting request", (long long)id);
		result = STORE_CONFLICT;
		goto out;
	}
	stmt_done(s);
	s = NULL;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	stmt_done(s);
	store_pending_free(p);
	if (in_tx)
		tx_rollback(st);
	return result;
}

/* What Q_PENDING_BACKEND or Q_PENDING_REFUSE (stmt_exec() result rc) did to waiting request id. */
static enum store_rc pending_updated(struct store_sqlite *st, int64_t id, int rc)
{
	if (rc == -1)
		return STORE_ERROR;
	if (sqlite3_changes(st->db) != 1) {
		set_err(st, "no waiting request %lld", (long long)id);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

enum store_rc store_sqlite_pending_set_backend(struct store_sqlite *st, int64_t id, const char *backend,
    const char *handle)
{
	if (backend == NULL || (handle != NULL && strlen(handle) > 4096)) {
		set_err(st, "store_pending_set_backend: no backend, or an oversized handle");
		return STORE_ERROR;
	}
	return pending_updated(st, id, stmt_exec(st, Q_PENDING_BACKEND,
	    "recording the backend's handle", BIND_INT(id), BIND_TEXT(backend), BIND_TEXT(handle)));
}

enum store_rc store_sqlite_pending_refuse(struct store_sqlite *st, int64_t id, int failinfo,
    const char *reason, int64_t now)
{
	return pending_updated(st, id, stmt_exec(st, Q_PENDING_REFUSE, "recording the refusal",
	    BIND_INT(id), BIND_INT(now), BIND_INT(failinfo), BIND_TEXT(reason)));
}

/* --- revocation and CRLs --------------------------------------------------- */

enum store_rc store_sqlite_cert_revoke(struct store_sqlite *st, const char *serial, int reason, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	int in_tx = 0;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if ((result = revoke_one(st, serial, reason, now)) != STORE_OK)
		goto out;
	result = STORE_ERROR;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	return result;
}

enum store_rc store_sqlite_revoked_list(struct store_sqlite *st, const char *issuer_key_id, int legacy,
    struct store_revoked **out, size_t *n)
{
	enum store_rc result = STORE_ERROR;
	struct store_revoked *list = NULL;
	size_t cap = 0, count = 0;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	*n = 0;
	if ((s = stmt_bound(st, Q_REVOKED_LIST, BIND_TEXT(issuer_key_id),
	    BIND_INT(legacy != 0))) == NULL)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			list = xrealloc(list, cap * sizeof(*list));
		}
		if (copy_field(list[count].serial, sizeof(list[count].serial),
		    sqlite3_column_text(s, 0)) == -1) {
			set_err(st, "a revoked certificate has no usable serial");
			goto out;
		}
		list[count].revoked_at = sqlite3_column_int64(s, 1);
		list[count].reason = sqlite3_column_int(s, 2);
		count++;
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing revoked certificates");
		goto out;
	}
	*out = list;
	*n = count;
	list = NULL;
	result = STORE_OK;
out:
	stmt_done(s);
	free(list);
	return result;
}

enum store_rc store_sqlite_crl_latest(struct store_sqlite *st, const char *issuer_key_id, struct store_crl **out)
{
	enum store_rc result = STORE_ERROR;
	struct store_crl *c = NULL;
	sqlite3_stmt *s;
	const void *der;
	int rc, len;

	*out = NULL;
	if ((s = stmt_bound(st, Q_CRL_LATEST, BIND_TEXT(issuer_key_id))) == NULL)
		goto out;
	if ((rc = step_row(st, s, "reading the CRL")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	der = sqlite3_column_blob(s, 4);
	len = sqlite3_column_bytes(s, 4);
	if (der == NULL || len <= 0) {
		set_err(st, "a CRL row has no DER");
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->number = sqlite3_column_int64(s, 0);
	c->this_update = sqlite3_column_int64(s, 1);
	c->next_update = sqlite3_column_int64(s, 2);
	c->revoked_count = (size_t)sqlite3_column_int64(s, 3);
	c->der = xmalloc((size_t)len);
	memcpy(c->der, der, (size_t)len);
	c->der_len = (size_t)len;
	*out = c;
	c = NULL;
	result = STORE_OK;
out:
	stmt_done(s);
	store_crl_free(c);
	return result;
}

int64_t store_sqlite_crl_next_number(struct store_sqlite *st, const char *issuer_key_id)
{
	sqlite3_stmt *s;
	int64_t result = -1;

	if ((s = stmt_bound(st, Q_CRL_NEXT, BIND_TEXT(issuer_key_id))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		db_err(st, "numbering the CRL");
		goto out;
	}
	result = sqlite3_column_int64(s, 0);
out:
	stmt_done(s);
	return result;
}

enum store_rc store_sqlite_crl_put(struct store_sqlite *st, const char *issuer_key_id, const struct store_crl *c)
{
	enum store_rc result = STORE_ERROR;
	sqlite3_stmt *s;

	if ((s = stmt_bound(st, Q_CRL_INSERT, BIND_TEXT(issuer_key_id), BIND_INT(c->number),
	    BIND_INT(c->this_update), BIND_INT(c->next_update),
	    BIND_INT((int64_t)c->revoked_count), BIND_BLOB(c->der, c->der_len))) == NULL)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
			set_err(st, "CRL number %lld exists already", (long long)c->number);
			result = STORE_CONFLICT;
		} else {
			db_err(st, "recording the CRL");
		}
		goto out;
	}
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

/* Readies a handle given back to a pool: 0, or -1 when it must be closed. */
int store_sqlite_reset(struct store_sqlite *st)
{
	/* A handle left inside a transaction is rolled back, or dropped if that fails. */
	if (!sqlite3_get_autocommit(st->db)) {
		tx_run(st, Q_ROLLBACK, "rolling back");
		if (!sqlite3_get_autocommit(st->db))
			return -1;
	}
	st->errmsg[0] = '\0';
	return 0;
}

enum store_rc store_sqlite_newest_issuer(struct store_sqlite *st, char out[41])
{
	enum store_rc result = STORE_ERROR;
	sqlite3_stmt *s;
	int rc;

	out[0] = '\0';
	if ((s = stmt_get(st, Q_NEWEST_ISSUER)) == NULL)
		goto out;
	if ((rc = step_row(st, s, "reading the newest certificate's issuer")) <= 0) {
		if (rc == 0)
			result = STORE_NOT_FOUND;
		goto out;
	}
	if (copy_field(out, 41, sqlite3_column_text(s, 0)) == -1) {
		set_err(st, "a certificate has an oversized issuer key ID");
		goto out;
	}
	result = STORE_OK;
out:
	stmt_done(s);
	return result;
}

/* --- copying (scepctl store migrate) --------------------------------------- */

/* 1 when table is one a copy carries (its name goes into SQL text). */
static int copy_table_known(const char *table)
{
	static const char *const tables[] = STORE_COPY_TABLES;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (strcmp(tables[i], table) == 0)
			return 1;
	return 0;
}

int64_t store_sqlite_count(struct store_sqlite *st, const char *table)
{
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	int64_t result = -1;

	if (!copy_table_known(table)) {
		set_err(st, "no table %s to count", table);
		goto out;
	}
	sql = xasprintf("SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		db_err(st, "counting rows");
		goto out;
	}
	result = sqlite3_column_int64(s, 0);
out:
	sqlite3_finalize(s);
	free(sql);
	return result;
}

int store_sqlite_export(struct store_sqlite *st, const char *table,
    int (*fn)(const struct store_value *cols, size_t n, void *arg), void *arg)
{
	struct store_value *cols = NULL;
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	int i, n, rc, result = -1;

	if (!copy_table_known(table)) {
		set_err(st, "no table %s to copy", table);
		goto out;
	}
	sql = xasprintf("SELECT * FROM %s ORDER BY rowid", table);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "reading rows");
		goto out;
	}
	n = sqlite3_column_count(s);
	cols = xcalloc((size_t)n, sizeof(*cols));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			memset(&cols[i], 0, sizeof(cols[i]));
			cols[i].name = sqlite3_column_name(s, i);
			switch (sqlite3_column_type(s, i)) {
			case SQLITE_NULL:
				cols[i].type = 'n';
				break;
			case SQLITE_INTEGER:
				cols[i].type = 'i';
				cols[i].i = sqlite3_column_int64(s, i);
				break;
			case SQLITE_BLOB:
				cols[i].type = 'b';
				cols[i].blob = sqlite3_column_blob(s, i);
				cols[i].len = (size_t)sqlite3_column_bytes(s, i);
				break;
			default:
				cols[i].type = 't';
				cols[i].text = (const char *)sqlite3_column_text(s, i);
				break;
			}
		}
		if (fn(cols, (size_t)n, arg) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "reading rows");
		goto out;
	}
	result = 0;
out:
	free(cols);
	sqlite3_finalize(s);
	free(sql);
	return result;
}

/* --- recorded exchanges of lab mode (sql/008_recordings.sql) -------------- */

/*
 * One block, prepared per call (recording is a lab feature, off the hot path
 * of a production server), so that it moves as a whole with the SQLite driver.
 */

#define RECORDING_COLS "id, transaction_id, message_type, profile, client_addr, " \
	"received_ms, answered_ms, http_status, outcome, failinfo, reason, " \
	"length(request), length(reply)"

/* Prepares sql and binds b[0..n-1]; NULL with errmsg set. sqlite3_finalize it. */
static sqlite3_stmt *recording_prepare(struct store_sqlite *st, const char *sql, const struct bind *b,
    size_t n)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "preparing a recording statement");
		sqlite3_finalize(s);
		return NULL;
	}
	if (bind_all(st, s, b, n) == -1) {
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

#define recording_bound(st, sql, ...) recording_prepare((st), (sql), \
	(const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

/* Runs sql (no rows) with the parameters given; 0 or -1. */
static int recording_exec(struct store_sqlite *st, sqlite3_stmt *s, const char *what)
{
	int result;

	if (s == NULL)
		return -1;
	result = step_done(st, s, what);
	sqlite3_finalize(s);
	return result;
}

/* The row of RECORDING_COLS at s into r (no bytes). 0, or -1 with errmsg set. */
static int recording_row(struct store_sqlite *st, sqlite3_stmt *s, struct store_recording *r)
{
	r->id = sqlite3_column_int64(s, 0);
	if (copy_optional(r->transaction_id, sizeof(r->transaction_id),
	    sqlite3_column_text(s, 1)) == -1 ||
	    copy_optional(r->profile, sizeof(r->profile), sqlite3_column_text(s, 3)) == -1 ||
	    copy_optional(r->client_addr, sizeof(r->client_addr), sqlite3_column_text(s, 4)) == -1 ||
	    copy_optional(r->outcome, sizeof(r->outcome), sqlite3_column_text(s, 8)) == -1 ||
	    copy_optional(r->reason, sizeof(r->reason), sqlite3_column_text(s, 10)) == -1) {
		set_err(st, "recording %lld: a field is too long", (long long)r->id);
		return -1;
	}
	r->message_type = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(s, 2);
	r->received_ms = sqlite3_column_int64(s, 5);
	r->answered_ms = sqlite3_column_int64(s, 6);
	r->http_status = sqlite3_column_int(s, 7);
	r->failinfo = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 9);
	r->request_len = (size_t)sqlite3_column_int64(s, 11);
	r->reply_len = (size_t)sqlite3_column_int64(s, 12);
	return 0;
}

/* 1 when the recordings hold more than max_bytes, 0 when not, -1 on error. */
static int recording_over_budget(struct store_sqlite *st, uint64_t max_bytes)
{
	sqlite3_stmt *s;
	int row, result = -1;

	if ((s = recording_bound(st, "SELECT coalesce(sum(bytes), 0) > ?1 FROM recordings",
	    BIND_INT((int64_t)(max_bytes > INT64_MAX ? INT64_MAX : max_bytes)))) == NULL)
		return -1;
	if ((row = step_row(st, s, "summing the recordings' bytes")) == 1)
		result = sqlite3_column_int(s, 0) != 0;
	else if (row == 0)
		set_err(st, "summing the recordings' bytes: no answer");
	sqlite3_finalize(s);
	return result;
}

enum store_rc store_sqlite_recording_put(struct store_sqlite *st, struct store_recording *r,
    unsigned max_count, uint64_t max_bytes)
{
	uint64_t bytes = (uint64_t)r->request_len + r->reply_len;
	int keep = bytes <= max_bytes, in_tx = 0, over;
	enum store_rc rc = STORE_ERROR;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if (recording_exec(st, recording_bound(st,
	    "INSERT INTO recordings (transaction_id, message_type, profile, client_addr,"
	    " received_ms, answered_ms, http_status, outcome, failinfo, reason, request, reply,"
	    " bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	    BIND_TEXT(r->transaction_id[0] != '\0' ? r->transaction_id : NULL),
	    BIND_INT_OR_NULL(r->message_type, r->message_type >= 0),
	    BIND_TEXT(r->profile[0] != '\0' ? r->profile : NULL),
	    BIND_TEXT(r->client_addr[0] != '\0' ? r->client_addr : NULL),
	    BIND_INT(r->received_ms), BIND_INT(r->answered_ms), BIND_INT(r->http_status),
	    BIND_TEXT(r->outcome), BIND_INT_OR_NULL(r->failinfo, r->failinfo >= 0),
	    BIND_TEXT(r->reason[0] != '\0' ? r->reason : NULL),
	    BIND_BLOB(keep ? r->request : NULL, r->request_len),
	    BIND_BLOB(keep ? r->reply : NULL, r->reply_len),
	    BIND_INT(keep ? (int64_t)bytes : 0)), "recording an exchange") == -1)
		goto out;
	r->id = sqlite3_last_insert_rowid(st->db);
	/*
	 * The oldest first: beyond the newest max_count (ids grow by one per
	 * recording, so that is an id range), then beyond max_bytes, summed over
	 * the index on (id, bytes) and dropped only when over budget.
	 */
	if (recording_exec(st, recording_bound(st,
	    "DELETE FROM recordings WHERE id <= ?1 - ?2", BIND_INT(r->id), BIND_INT(max_count)),
	    "dropping the oldest recordings") == -1)
		goto out;
	if ((over = recording_over_budget(st, max_bytes)) == -1)
		goto out;
	if (over && recording_exec(st, recording_bound(st,
	    "DELETE FROM recordings WHERE id IN (SELECT id FROM (SELECT id,"
	    " sum(bytes) OVER (ORDER BY id DESC) AS total FROM recordings) WHERE total > ?1)",
	    BIND_INT((int64_t)(max_bytes > INT64_MAX ? INT64_MAX : max_bytes))),
	    "dropping the oldest recordings") == -1)
		goto out;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	rc = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	return rc;
}

/* A copy of blob column i of s (*len bytes), or NULL when it is NULL or empty. */
static unsigned char *recording_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const void *v = sqlite3_column_blob(s, i);
	unsigned char *copy;

	*len = (size_t)sqlite3_column_bytes(s, i);
	if (v == NULL || *len == 0) {
		*len = 0;
		return NULL;
	}
	copy = xmalloc(*len);
	memcpy(copy, v, *len);
	return copy;
}

enum store_rc store_sqlite_recording_get(struct store_sqlite *st, int64_t id, const char *txid,
    struct store_recording **out)
{
	sqlite3_stmt *s = NULL;
	struct store_recording *r = NULL;
	enum store_rc rc = STORE_ERROR;
	int found;

	*out = NULL;
	if (id > 0)
		s = recording_bound(st, "SELECT " RECORDING_COLS ", request, reply FROM recordings"
		    " WHERE id = ?1", BIND_INT(id));
	else
		s = recording_bound(st, "SELECT " RECORDING_COLS ", request, reply FROM recordings"
		    " WHERE transaction_id = ?1 ORDER BY id DESC LIMIT 1", BIND_TEXT(txid));
	if (s == NULL)
		goto out;
	if ((found = step_row(st, s, "reading a recording")) == -1)
		goto out;
	if (found == 0) {
		set_err(st, "no recording %s", id > 0 ? "with that number" :
		    "of that transactionID");
		rc = STORE_NOT_FOUND;
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	if (recording_row(st, s, r) == -1)
		goto out;
	r->request = recording_blob(s, 13, &r->request_len);
	r->reply = recording_blob(s, 14, &r->reply_len);
	*out = r;
	r = NULL;
	rc = STORE_OK;
out:
	store_recording_free(r);
	sqlite3_finalize(s);
	return rc;
}

int store_sqlite_recording_foreach(struct store_sqlite *st, unsigned limit,
    int (*fn)(const struct store_recording *, void *), void *arg)
{
	sqlite3_stmt *s;
	struct store_recording r;
	int row, result = -1;

	if ((s = recording_bound(st, "SELECT " RECORDING_COLS " FROM recordings"
	    " ORDER BY id DESC LIMIT ?1", BIND_INT(limit))) == NULL)
		return -1;
	while ((row = step_row(st, s, "listing recordings")) == 1) {
		memset(&r, 0, sizeof(r));
		if (recording_row(st, s, &r) == -1) {
			result = -1;
			goto out;
		}
		if ((result = fn(&r, arg)) != 0)
			goto out;
	}
	if (row == -1)
		goto out;
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

/* --- lab mode: scripted outcomes (sql/007_lab_rules.sql) -------------------
 * Lab-only statements, prepared per call (not cached: lab mode is not a hot
 * path), kept in this one block.
 */

#define LAB_RULE_COLS "id, rule, origin, uses, used, expires_at, created_at"

/* Runs sql (no rows) with b bound; 0 or -1 (errmsg set). */
static int lab_exec(struct store_sqlite *st, const char *sql, const char *what,
    const struct bind *b, size_t n)
{
	sqlite3_stmt *s = NULL;
	int result = -1;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		db_err(st, what);
		goto out;
	}
	if (bind_all(st, s, b, n) == -1 || step_done(st, s, what) == -1)
		goto out;
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

#define lab_exec_b(st, sql, what, ...) lab_exec((st), (sql), (what), \
	(const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

static int lab_rule_insert(struct store_sqlite *st, const struct store_lab_rule *r, const char *origin)
{
	return lab_exec_b(st, "INSERT INTO lab_rules (rule, origin, uses, expires_at, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)", "recording a lab rule", BIND_TEXT(r->rule),
	    BIND_TEXT(origin), BIND_INT(r->uses), BIND_INT(r->expires_at),
	    BIND_INT(r->created_at));
}

enum store_rc store_sqlite_lab_rule_add(struct store_sqlite *st, const struct store_lab_rule *r, int64_t *id)
{
	if (r == NULL || r->rule == NULL || r->origin == NULL) {
		set_err(st, "store_lab_rule_add: no rule text or origin");
		return STORE_ERROR;
	}
	if (lab_rule_insert(st, r, r->origin) == -1)
		return STORE_ERROR;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

enum store_rc store_sqlite_lab_rule_del(struct store_sqlite *st, int64_t id)
{
	if (lab_exec_b(st, "DELETE FROM lab_rules WHERE id = ?1", "deleting a lab rule",
	    BIND_INT(id)) == -1)
		return STORE_ERROR;
	if (sqlite3_changes(st->db) != 1) {
		set_err(st, "no lab rule %lld", (long long)id);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

enum store_rc store_sqlite_lab_rules_set_config(struct store_sqlite *st, const struct store_lab_rule *rules,
    size_t n)
{
	enum store_rc result = STORE_ERROR;
	int in_tx = 0;
	size_t i;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if (lab_exec_b(st, "DELETE FROM lab_rules WHERE origin = ?1", "replacing lab rules",
	    BIND_TEXT("config")) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (lab_rule_insert(st, &rules[i], "config") == -1)
			goto out;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	if (in_tx)
		tx_rollback(st);
	return result;
}

int store_sqlite_lab_rule_foreach(struct store_sqlite *st, int64_t now, int all,
    int (*fn)(const struct store_lab_rule *, void *), void *arg)
{
	sqlite3_stmt *s = NULL;
	struct store_lab_rule r;
	int rc, result = -1;

	if (sqlite3_prepare_v2(st->db, "SELECT " LAB_RULE_COLS " FROM lab_rules WHERE ?1"
	    " OR ((uses = 0 OR used < uses) AND (expires_at = 0 OR expires_at > ?2))"
	    " ORDER BY id", -1, &s, NULL) != SQLITE_OK) {
		db_err(st, "listing lab rules");
		goto out;
	}
	if (bind_int(st, s, 1, all != 0) == -1 || bind_int(st, s, 2, now) == -1)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(s, 0);
		r.rule = (const char *)sqlite3_column_text(s, 1);
		r.origin = (const char *)sqlite3_column_text(s, 2);
		r.uses = (unsigned)sqlite3_column_int64(s, 3);
		r.used = (unsigned)sqlite3_column_int64(s, 4);
		r.expires_at = sqlite3_column_int64(s, 5);
		r.created_at = sqlite3_column_int64(s, 6);
		if (r.rule == NULL || r.origin == NULL) {
			set_err(st, "listing lab rules: out of memory");
			goto out;
		}
		if ((result = fn(&r, arg)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		db_err(st, "listing lab rules");
		goto out;
	}
	result = 0;
out:
	sqlite3_finalize(s);
	return result;
}

enum store_rc store_sqlite_lab_rule_use(struct store_sqlite *st, int64_t id, int64_t now)
{
	if (lab_exec_b(st, "UPDATE lab_rules SET used = used + 1 WHERE id = ?1"
	    " AND (uses = 0 OR used < uses) AND (expires_at = 0 OR expires_at > ?2)",
	    "using a lab rule", BIND_INT(id), BIND_INT(now)) == -1)
		return STORE_ERROR;
	if (sqlite3_changes(st->db) != 1) {
		set_err(st, "lab rule %lld has no use left, expired or was deleted", (long long)id);
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

enum store_rc store_sqlite_lab_poll_add(struct store_sqlite *st, const char *transaction_id,
    const struct store_lab_poll *p, int64_t now)
{
	return lab_exec_b(st, "INSERT OR REPLACE INTO lab_polls (transaction_id, rule_id,"
	    " polls_left, then_failure, failinfo, hresult, not_before, not_after, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", "recording a scripted PENDING",
	    BIND_TEXT(transaction_id), BIND_INT(p->rule_id), BIND_INT(p->polls_left),
	    BIND_INT(p->then_failure), BIND_INT(p->failinfo), BIND_INT(p->hresult),
	    BIND_INT(p->not_before), BIND_INT(p->not_after), BIND_INT(now)) == -1 ?
	    STORE_ERROR : STORE_OK;
}

enum store_rc store_sqlite_lab_poll_get(struct store_sqlite *st, const char *transaction_id,
    struct store_lab_poll *out)
{
	sqlite3_stmt *s = NULL;
	enum store_rc result = STORE_ERROR;

	if (sqlite3_prepare_v2(st->db, "SELECT rule_id, polls_left, then_failure, failinfo,"
	    " hresult, not_before, not_after FROM lab_polls WHERE transaction_id = ?1", -1, &s,
	    NULL) != SQLITE_OK) {
		db_err(st, "reading a scripted PENDING");
		goto out;
	}
	if (bind_text(st, s, 1, transaction_id) == -1)
		goto out;
	switch (step_row(st, s, "reading a scripted PENDING")) {
	case 1:
		out->rule_id = sqlite3_column_int64(s, 0);
		out->polls_left = (unsigned)sqlite3_column_int64(s, 1);
		out->then_failure = sqlite3_column_int(s, 2);
		out->failinfo = sqlite3_column_int(s, 3);
		out->hresult = (int32_t)sqlite3_column_int64(s, 4);
		out->not_before = sqlite3_column_int64(s, 5);
		out->not_after = sqlite3_column_int64(s, 6);
		result = STORE_OK;
		break;
	case 0:
		result = STORE_NOT_FOUND;
		break;
	default:
		break;
	}
out:
	sqlite3_finalize(s);
	return result;
}

enum store_rc store_sqlite_lab_poll_count(struct store_sqlite *st, const char *transaction_id)
{
	if (lab_exec_b(st, "UPDATE lab_polls SET polls_left = polls_left - 1"
	    " WHERE transaction_id = ?1 AND polls_left > 0", "counting a scripted PENDING",
	    BIND_TEXT(transaction_id)) == -1)
		return STORE_ERROR;
	return sqlite3_changes(st->db) == 1 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_sqlite_lab_poll_done(struct store_sqlite *st, const char *transaction_id)
{
	return lab_exec_b(st, "DELETE FROM lab_polls WHERE transaction_id = ?1",
	    "ending a scripted PENDING", BIND_TEXT(transaction_id)) == -1 ? STORE_ERROR : STORE_OK;
}
