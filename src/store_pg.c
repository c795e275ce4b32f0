/* SPDX-License-Identifier: ISC */
/*
 * store_pg.c: the PostgreSQL store (libpq), for several scepd nodes sharing one
 * database. It owns the connection of a handle, its schema (sql/pg/NNN_name.sql,
 * compiled in as src/schema_pg_sql.h, applied under an advisory lock so that
 * nodes starting together migrate once) and every statement run against it,
 * each prepared once per connection with bound parameters. It keeps store.h's
 * semantics with the SQLite store (store_sqlite.c): writes that belong together
 * run in one transaction; a one-time password is taken by one UPDATE whose row
 * lock makes exactly one of any number of racing nodes win. A broken connection
 * is re-established on the next use; while the server is unreachable every
 * call fails with a message. The URI must not carry a password: libpq reads it
 * from a passfile (PGPASSFILE, passfile=) or the systemd credential "pgpass".
 * It never sees keys and parses no input.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "store.h"
#include "store_impl.h"
#include "util.h"

#include "schema_pg_sql.h"

#define HASH_LEN 32
#define PG_MAX_PARAMS 18
#define PG_CONNECT_TIMEOUT "5"           /* seconds, unless the URI says otherwise */
#define PG_MIGRATE_LOCK 0x73636570       /* "scep": the advisory lock of migrations */
#define PG_CHALLENGE_LOCK 0x73636571     /* serialises store_challenge_add (PasswordMax) */
#define PG_CREDENTIAL "pgpass"           /* systemd credential holding a passfile */

_Static_assert(sizeof(schema_pg_migrations) / sizeof(schema_pg_migrations[0]) >= 1,
    "sql/pg/ must hold at least one migration");

enum pg_stmt {
	P_CHALLENGE_DELETE_EXPIRED,
	P_CHALLENGE_COUNT_UNUSED,
	P_CHALLENGE_INSERT,
	P_CHALLENGE_GET,
	P_CHALLENGE_RESERVE,
	P_CHALLENGE_RELEASE,
	P_CHALLENGE_CONSUME,
	P_CHALLENGE_PURGE,
	P_CHALLENGE_LIST,
	P_CHALLENGE_LOCK,
	P_REQUEST_ISSUED_EXISTS,
	P_REQUEST_INSERT,
	P_CERT_INSERT,
	P_ISSUED_FOR_TRANSACTION,
	P_CERT_BY_SERIAL,
	P_CERT_LIST,
	P_REQUEST_ACTIVE_EXISTS,
	P_PENDING_BY_TXID,
	P_PENDING_BY_ID,
	P_PENDING_LIST,
	P_PENDING_LIST_ALL,
	P_PENDING_DECIDE,
	P_PENDING_ISSUE,
	P_PENDING_BACKEND,
	P_PENDING_REFUSE,
	P_PENDING_SET_CSR,
	P_CERT_REVOKE,
	P_CERT_STATUS,
	P_REVOKED_LIST,
	P_CRL_LATEST,
	P_CRL_NEXT,
	P_CRL_INSERT,
	P_USER_INSERT,
	P_USER_GET,
	P_USER_DELETE,
	P_USER_LIST,
	P_SCHEMA_VERSION,
	P_PING,
	P_NEWEST_ISSUER,
	P_REQUEST_HISTORY,
	P_LAB_RULE_INSERT,
	P_LAB_RULE_DELETE,
	P_LAB_RULE_DELETE_CONFIG,
	P_LAB_RULE_LIST,
	P_LAB_RULE_USE,
	P_LAB_POLL_PUT,
	P_LAB_POLL_GET,
	P_LAB_POLL_COUNT,
	P_LAB_POLL_DONE,
	P_RECORDING_INSERT,
	P_RECORDING_DROP_COUNT,
	P_RECORDING_OVER_BUDGET,
	P_RECORDING_DROP_BYTES,
	P_RECORDING_BY_ID,
	P_RECORDING_BY_TXID,
	P_RECORDING_LIST,
	P_COUNT
};

#define CERT_COLS "c.serial, c.subject, c.not_before, c.not_after, c.der, c.status, " \
	"c.transaction_id, c.issued_at, c.issuer_key_id, c.revoked_at, c.revocation_reason, " \
	"c.renewed_serial"
#define N_CERT_COLS 12
#define PENDING_COLS "id, transaction_id, message_type, client_addr, subject, profile, " \
	"template, pubkey_sha256, signer_sha256, csr, renew_serial, decision, created_at, " \
	"decided_at, backend, backend_handle, failinfo, reason, envelope FROM requests" \
	" WHERE outcome = 'pending'"
#define LAB_RULE_COLS "id, rule, origin, uses, used, expires_at, created_at"
#define RECORDING_COLS "id, transaction_id, message_type, profile, client_addr, " \
	"received_ms, answered_ms, http_status, outcome, failinfo, reason, " \
	"octet_length(request)::bigint, octet_length(reply)::bigint"
#define USER_COLS "name, nt_hash, basic_salt, basic_hash, basic_iterations, enroll, created_at"

/* The same statements as store_sqlite.c's, in PostgreSQL's dialect. */
static const char *const pg_sql[P_COUNT] = {
	[P_CHALLENGE_DELETE_EXPIRED] =
	    "DELETE FROM challenges WHERE expires_at <= $1::bigint"
	    " AND (reserved_at IS NULL OR used_at IS NOT NULL OR expires_at <= $1::bigint - 86400)",
	[P_CHALLENGE_COUNT_UNUSED] =
	    "SELECT count(*) FROM challenges WHERE used_at IS NULL AND reserved_at IS NULL"
	    " AND expires_at > $1::bigint AND ($2::text IS NULL OR profile = $2::text)",
	[P_CHALLENGE_INSERT] =
	    "INSERT INTO challenges (password_sha256, created_at, expires_at, profile)"
	    " VALUES ($1, $2, $3, $4)",
	[P_CHALLENGE_GET] =
	    "SELECT expires_at, used_at, reserved_at, profile FROM challenges"
	    " WHERE password_sha256 = $1",
	[P_CHALLENGE_RESERVE] =
	    "UPDATE challenges SET reserved_at = $1::bigint"
	    " WHERE password_sha256 = $2 AND profile = $3 AND used_at IS NULL"
	    " AND reserved_at IS NULL AND expires_at > $1::bigint",
	[P_CHALLENGE_RELEASE] =
	    "UPDATE challenges SET reserved_at = NULL"
	    " WHERE password_sha256 = $1 AND used_at IS NULL AND reserved_at IS NOT NULL",
	[P_CHALLENGE_CONSUME] =
	    "UPDATE challenges SET used_at = $1::bigint"
	    " WHERE password_sha256 = $2 AND used_at IS NULL AND reserved_at IS NOT NULL",
	[P_CHALLENGE_PURGE] =
	    "DELETE FROM challenges WHERE used_at IS NOT NULL OR (expires_at <= $1::bigint"
	    " AND (reserved_at IS NULL OR expires_at <= $1::bigint - 86400))",
	[P_CHALLENGE_LIST] =
	    "SELECT password_sha256, created_at, expires_at, profile FROM challenges"
	    " WHERE used_at IS NULL AND reserved_at IS NULL AND expires_at > $1::bigint"
	    " ORDER BY created_at, expires_at",
	[P_CHALLENGE_LOCK] = "SELECT pg_advisory_xact_lock($1::bigint)",
	[P_REQUEST_ISSUED_EXISTS] =
	    "SELECT 1 FROM requests WHERE transaction_id = $1 AND outcome = 'issued'"
	    " AND coalesce(renew_serial, '') = coalesce($2::text, '')",
	[P_REQUEST_INSERT] =
	    "INSERT INTO requests (transaction_id, message_type, client_addr, pubkey_sha256,"
	    " subject, outcome, failinfo, reason, created_at, cert_serial, signer_sha256,"
	    " profile, template, csr, renew_serial, backend, backend_handle, envelope)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
	    " $18)",
	[P_CERT_INSERT] =
	    "INSERT INTO certificates (serial, subject, not_before, not_after, der, status,"
	    " transaction_id, issued_at, issuer_key_id, renewed_serial)"
	    " VALUES ($1, $2, $3, $4, $5, 'valid', $6, $7, $8, $9)",
	[P_ISSUED_FOR_TRANSACTION] =
	    "SELECT " CERT_COLS ", r.pubkey_sha256, r.signer_sha256 FROM requests r"
	    " JOIN certificates c ON c.serial = r.cert_serial"
	    " WHERE r.transaction_id = $1 AND r.outcome = 'issued'"
	    " AND coalesce(r.renew_serial, '') = coalesce($2::text, '')",
	[P_CERT_BY_SERIAL] = "SELECT " CERT_COLS " FROM certificates c WHERE c.serial = $1",
	[P_CERT_LIST] = "SELECT " CERT_COLS " FROM certificates c ORDER BY c.issued_at DESC, c.serial",
	[P_REQUEST_ACTIVE_EXISTS] =
	    "SELECT 1 FROM requests WHERE transaction_id = $1 AND outcome IN ('issued', 'pending')"
	    " AND coalesce(renew_serial, '') = coalesce($2::text, '')",
	[P_PENDING_BY_TXID] = "SELECT " PENDING_COLS " AND transaction_id = $1"
	    " AND coalesce(renew_serial, '') = coalesce($2::text, '')",
	[P_PENDING_BY_ID] = "SELECT " PENDING_COLS " AND id = $1",
	[P_PENDING_LIST] = "SELECT " PENDING_COLS " AND decision IS NULL ORDER BY id",
	[P_PENDING_LIST_ALL] = "SELECT " PENDING_COLS " ORDER BY id",
	[P_PENDING_DECIDE] =
	    "UPDATE requests SET decision = $2::text, decided_at = $3,"
	    " envelope = CASE WHEN $2::text = 'rejected' THEN NULL ELSE envelope END"
	    " WHERE id = $1 AND outcome = 'pending' AND decision IS NULL"
	    " AND ($2::text = 'rejected' OR backend IS NULL)",
	[P_PENDING_ISSUE] =
	    "UPDATE requests SET outcome = 'issued', cert_serial = $2, envelope = NULL"
	    " WHERE id = $1 AND outcome = 'pending' AND (decision = 'approved'"
	    " OR (decision IS NULL AND backend IS NOT NULL))",
	[P_PENDING_BACKEND] =
	    "UPDATE requests SET backend = $2, backend_handle = $3::text,"
	    " envelope = CASE WHEN $3::text IS NULL THEN envelope ELSE NULL END"
	    " WHERE id = $1 AND outcome = 'pending' AND decision IS DISTINCT FROM 'rejected'",
	[P_PENDING_REFUSE] =
	    "UPDATE requests SET decision = 'rejected', decided_at = $2, failinfo = $3, reason = $4,"
	    " envelope = NULL WHERE id = $1 AND outcome = 'pending'"
	    " AND decision IS DISTINCT FROM 'rejected'",
	[P_PENDING_SET_CSR] =
	    "UPDATE requests SET csr = $2 WHERE id = $1 AND outcome = 'pending'",
	[P_CERT_REVOKE] =
	    "UPDATE certificates SET status = 'revoked', revoked_at = $2, revocation_reason = $3"
	    " WHERE serial = $1 AND status = 'valid'",
	[P_CERT_STATUS] = "SELECT status FROM certificates WHERE serial = $1",
	[P_REVOKED_LIST] =
	    "SELECT serial, revoked_at, revocation_reason FROM certificates"
	    " WHERE status = 'revoked' AND (issuer_key_id = $1::text"
	    " OR ($2::bigint <> 0 AND issuer_key_id IS NULL)) ORDER BY serial",
	[P_CRL_LATEST] =
	    "SELECT crl_number, this_update, next_update, revoked_count, der FROM crls"
	    " WHERE issuer_key_id = $1 ORDER BY crl_number DESC LIMIT 1",
	[P_CRL_NEXT] = "SELECT coalesce(max(crl_number), 0) + 1 FROM crls WHERE issuer_key_id = $1",
	[P_CRL_INSERT] =
	    "INSERT INTO crls (issuer_key_id, crl_number, this_update, next_update, revoked_count,"
	    " der) VALUES ($1, $2, $3, $4, $5, $6)",
	[P_USER_INSERT] =
	    "INSERT INTO admin_users (name, nt_hash, basic_salt, basic_hash, basic_iterations,"
	    " enroll, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[P_USER_GET] = "SELECT " USER_COLS " FROM admin_users WHERE lower(name) = lower($1)",
	[P_USER_DELETE] = "DELETE FROM admin_users WHERE lower(name) = lower($1)",
	[P_USER_LIST] = "SELECT " USER_COLS " FROM admin_users ORDER BY lower(name)",
	[P_SCHEMA_VERSION] = "SELECT coalesce(max(version), 0) FROM scepd_schema",
	[P_PING] = "SELECT 1",
	[P_NEWEST_ISSUER] =
	    "SELECT issuer_key_id FROM certificates WHERE issuer_key_id IS NOT NULL"
	    " ORDER BY issued_at DESC, serial LIMIT 1",
	[P_REQUEST_HISTORY] =
	    "SELECT id, message_type, client_addr, subject, profile, outcome, failinfo, reason,"
	    " created_at, cert_serial FROM requests WHERE transaction_id = $1 ORDER BY id",
	[P_LAB_RULE_INSERT] =
	    "INSERT INTO lab_rules (rule, origin, uses, expires_at, created_at)"
	    " VALUES ($1, $2, $3, $4, $5) RETURNING id",
	[P_LAB_RULE_DELETE] = "DELETE FROM lab_rules WHERE id = $1",
	[P_LAB_RULE_DELETE_CONFIG] = "DELETE FROM lab_rules WHERE origin = 'config'",
	[P_LAB_RULE_LIST] =
	    "SELECT " LAB_RULE_COLS " FROM lab_rules WHERE $1::bigint <> 0"
	    " OR ((uses = 0 OR used < uses) AND (expires_at = 0 OR expires_at > $2::bigint))"
	    " ORDER BY id",
	[P_LAB_RULE_USE] =
	    "UPDATE lab_rules SET used = used + 1 WHERE id = $1"
	    " AND (uses = 0 OR used < uses) AND (expires_at = 0 OR expires_at > $2::bigint)",
	[P_LAB_POLL_PUT] =
	    "INSERT INTO lab_polls (transaction_id, rule_id, polls_left, then_failure, failinfo,"
	    " hresult, not_before, not_after, created_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (transaction_id) DO UPDATE"
	    " SET rule_id = EXCLUDED.rule_id, polls_left = EXCLUDED.polls_left,"
	    " then_failure = EXCLUDED.then_failure, failinfo = EXCLUDED.failinfo,"
	    " hresult = EXCLUDED.hresult, not_before = EXCLUDED.not_before,"
	    " not_after = EXCLUDED.not_after, created_at = EXCLUDED.created_at",
	[P_LAB_POLL_GET] =
	    "SELECT rule_id, polls_left, then_failure, failinfo, hresult, not_before, not_after"
	    " FROM lab_polls WHERE transaction_id = $1",
	[P_LAB_POLL_COUNT] =
	    "UPDATE lab_polls SET polls_left = polls_left - 1"
	    " WHERE transaction_id = $1 AND polls_left > 0",
	[P_LAB_POLL_DONE] = "DELETE FROM lab_polls WHERE transaction_id = $1",
	[P_RECORDING_INSERT] =
	    "INSERT INTO recordings (transaction_id, message_type, profile, client_addr,"
	    " received_ms, answered_ms, http_status, outcome, failinfo, reason, request, reply,"
	    " bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
	[P_RECORDING_DROP_COUNT] = "DELETE FROM recordings WHERE id <= $1::bigint - $2::bigint",
	[P_RECORDING_OVER_BUDGET] =
	    "SELECT (coalesce(sum(bytes), 0) > $1::bigint)::int FROM recordings",
	[P_RECORDING_DROP_BYTES] =
	    "DELETE FROM recordings WHERE id IN (SELECT id FROM (SELECT id,"
	    " sum(bytes) OVER (ORDER BY id DESC) AS total FROM recordings) t"
	    " WHERE total > $1::bigint)",
	[P_RECORDING_BY_ID] =
	    "SELECT " RECORDING_COLS ", request, reply FROM recordings WHERE id = $1",
	[P_RECORDING_BY_TXID] =
	    "SELECT " RECORDING_COLS ", request, reply FROM recordings"
	    " WHERE transaction_id = $1 ORDER BY id DESC LIMIT 1",
	[P_RECORDING_LIST] =
	    "SELECT " RECORDING_COLS " FROM recordings ORDER BY id DESC LIMIT $1",
};

struct store_pg {
	PGconn *conn;
	uint64_t prepared;        /* bit i: pg_sql[i] is prepared on this connection */
	char sqlstate[6];         /* of the last failed statement, "" if none */
	long affected;            /* rows the last statement changed */
	int in_tx;                /* between tx_begin and its commit or rollback */
	char errmsg[512];
};

_Static_assert(P_COUNT <= 64, "the prepared bitmap holds 64 statements");

/* One parameter: text, an integer (sent as text) or binary bytes; NULL for SQL NULL. */
struct bind {
	char type;                /* 't', 'i', 'b' or 'n' (NULL) */
	const char *text;
	int64_t i;
	const void *blob;
	size_t len;
};

#define BIND_TEXT(v) { .type = 't', .text = (v) }
#define BIND_INT(v) { .type = 'i', .i = (v) }
#define BIND_BLOB(v, n) { .type = 'b', .blob = (v), .len = (n) }
#define BIND_INT_OR_NULL(v, present) { .type = (present) ? 'i' : 'n', .i = (v) }

__attribute__((format(printf, 2, 3)))
static void set_err(struct store_pg *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
}

/* libpq's message, on one line. */
static void pg_err(struct store_pg *st, const char *what, const char *msg)
{
	size_t i;

	set_err(st, "%s: %s", what, msg != NULL && msg[0] != '\0' ? msg : "PostgreSQL failed");
	for (i = 0; st->errmsg[i] != '\0'; i++)
		if (st->errmsg[i] == '\n' || st->errmsg[i] == '\r')
			st->errmsg[i] = ' ';
	while (i > 0 && st->errmsg[i - 1] == ' ')
		st->errmsg[--i] = '\0';
}

/*
 * A connection that broke (the server restarted, a failover) is made again
 * here, outside a transaction; its prepared statements went with it.
 */
static int pg_connected(struct store_pg *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK)
		return 0;
	if (st->in_tx) {
		pg_err(st, "the connection to the database broke inside a transaction",
		    PQerrorMessage(st->conn));
		return -1;
	}
	PQreset(st->conn);
	st->prepared = 0;
	if (PQstatus(st->conn) != CONNECTION_OK) {
		pg_err(st, "the database is unreachable", PQerrorMessage(st->conn));
		return -1;
	}
	return 0;
}

static int pg_prepare(struct store_pg *st, enum pg_stmt id)
{
	PGresult *res;
	char name[16];
	int result = -1;

	if (st->prepared & (UINT64_C(1) << id))
		return 0;
	snprintf(name, sizeof(name), "scepd_%d", (int)id);
	res = PQprepare(st->conn, name, pg_sql[id], 0, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_err(st, "preparing a statement", res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(st->conn));
		goto out;
	}
	st->prepared |= UINT64_C(1) << id;
	result = 0;
out:
	PQclear(res);
	return result;
}

/* 1 when res is a successful result. */
static int pg_ok(const PGresult *res)
{
	return res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK);
}

/*
 * One attempt at prepared statement id: its result (maybe a failed one), or
 * NULL when the connection or the PREPARE failed (errmsg set; nothing ran).
 */
static PGresult *pg_attempt(struct store_pg *st, enum pg_stmt id, int n,
    const char *const *values, const int *lengths, const int *formats)
{
	PGresult *res;
	char name[16];

	if (pg_connected(st) == -1 || pg_prepare(st, id) == -1)
		return NULL;
	snprintf(name, sizeof(name), "scepd_%d", (int)id);
	if ((res = PQexecPrepared(st->conn, name, n, values, lengths, formats, 1)) == NULL)
		pg_err(st, "sending a statement", PQerrorMessage(st->conn));
	return res;
}

/*
 * A pooled connection that died while idle (the server restarted) is found out
 * by the first statement sent on it. Outside a transaction, a failed PREPARE
 * or read is tried again on a new connection; a write is not: it may have run.
 */
static int pg_retry(const struct store_pg *st, enum pg_stmt id, const PGresult *res)
{
	return !st->in_tx && PQstatus(st->conn) == CONNECTION_BAD &&
	    (res == NULL || strncmp(pg_sql[id], "SELECT", 6) == 0);
}

/*
 * Runs prepared statement id with b[0..n-1] bound, asking for binary results.
 * The result (PQclear it), or NULL with errmsg and sqlstate set. affected
 * says how many rows a write changed.
 */
static PGresult *pg_run(struct store_pg *st, enum pg_stmt id, const char *what,
    const struct bind *b, size_t n)
{
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS], formats[PG_MAX_PARAMS];
	char ints[PG_MAX_PARAMS][24];
	PGresult *res = NULL, *result = NULL;
	const char *state;
	size_t i;

	st->sqlstate[0] = '\0';
	st->affected = 0;
	if (n > PG_MAX_PARAMS) {
		set_err(st, "%s: too many parameters", what);
		goto out;
	}
	for (i = 0; i < n; i++) {
		values[i] = NULL;
		lengths[i] = 0;
		formats[i] = 0;
		switch (b[i].type) {
		case 't':
			values[i] = b[i].text;
			break;
		case 'i':
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)b[i].i);
			values[i] = ints[i];
			break;
		case 'b':
			if (b[i].blob != NULL) {
				values[i] = b[i].blob;
				lengths[i] = (int)b[i].len;
				formats[i] = 1;
			}
			break;
		default:
			break;
		}
	}
	res = pg_attempt(st, id, (int)n, values, lengths, formats);
	if (!pg_ok(res) && pg_retry(st, id, res)) {
		PQclear(res);
		res = pg_attempt(st, id, (int)n, values, lengths, formats);
	}
	if (res == NULL)
		goto out;       /* errmsg set by pg_connected or pg_prepare */
	if (!pg_ok(res)) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", state != NULL ? state : "");
		pg_err(st, what, PQresultErrorMessage(res));
		goto out;
	}
	st->affected = strtol(PQcmdTuples(res), NULL, 10);
	result = res;
	res = NULL;
out:
	PQclear(res);
	return result;
}

#define pg_bound(st, id, what, ...) pg_run((st), (id), (what), \
	(const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

/* Runs a statement for its effect: 0 (affected set), or -1. */
static int pg_exec_bind(struct store_pg *st, enum pg_stmt id, const char *what,
    const struct bind *b, size_t n)
{
	PGresult *res;

	if ((res = pg_run(st, id, what, b, n)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

#define pg_exec(st, id, what, ...) pg_exec_bind((st), (id), (what), \
	(const struct bind[]){ __VA_ARGS__ }, \
	sizeof((const struct bind[]){ __VA_ARGS__ }) / sizeof(struct bind))

/* Runs SQL without parameters (transaction control, migrations). 0 or -1. */
static int pg_simple(struct store_pg *st, const char *sql, const char *what)
{
	PGresult *res;
	ExecStatusType rc;
	int result = -1;

	res = PQexec(st->conn, sql);
	rc = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (rc != PGRES_COMMAND_OK && rc != PGRES_TUPLES_OK) {
		pg_err(st, what, res != NULL ? PQresultErrorMessage(res) :
		    PQerrorMessage(st->conn));
		goto out;
	}
	result = 0;
out:
	PQclear(res);
	return result;
}

static int unique_violation(const struct store_pg *st)
{
	return strcmp(st->sqlstate, "23505") == 0;
}

/* Column readers of a binary result. NULL reads as NULL text, 0, no bytes. */
static const char *col_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int col_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col);
}

static int64_t col_int(const PGresult *r, int row, int col)
{
	const unsigned char *p;
	uint64_t v = 0;
	int i, len;

	if (PQgetisnull(r, row, col))
		return 0;
	p = (const unsigned char *)PQgetvalue(r, row, col);
	len = PQgetlength(r, row, col);
	if (len != 2 && len != 4 && len != 8)
		return 0;
	for (i = 0; i < len; i++)
		v = (v << 8) | p[i];
	if (len == 4)
		return (int32_t)(uint32_t)v;
	if (len == 2)
		return (int16_t)(uint16_t)v;
	return (int64_t)v;
}

static const unsigned char *col_blob(const PGresult *r, int row, int col, size_t *len)
{
	*len = 0;
	if (PQgetisnull(r, row, col))
		return NULL;
	*len = (size_t)PQgetlength(r, row, col);
	return (const unsigned char *)PQgetvalue(r, row, col);
}

static unsigned char *col_blob_dup(const PGresult *r, int row, int col, size_t *len)
{
	const unsigned char *b = col_blob(r, row, col, len);
	unsigned char *copy;

	if (b == NULL || *len == 0)
		return NULL;
	copy = xmalloc(*len);
	memcpy(copy, b, *len);
	return copy;
}

static char *col_strdup(const PGresult *r, int row, int col)
{
	const char *v = col_text(r, row, col);

	return v != NULL ? xstrdup(v) : NULL;
}

/* Copies text into a fixed field; -1 if it is missing or does not fit. */
static int copy_field(char *dst, size_t dstlen, const char *src)
{
	if (src == NULL || strlen(src) >= dstlen)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

static int copy_optional(char *dst, size_t dstlen, const char *src)
{
	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	return copy_field(dst, dstlen, src);
}

/* --- transactions ------------------------------------------------------------ */

static int tx_begin(struct store_pg *st)
{
	if (pg_connected(st) == -1)
		return -1;
	/* BEGIN on a connection that died while idle: once more on a new one. */
	if (pg_simple(st, "BEGIN", "starting a transaction") == -1 &&
	    (PQstatus(st->conn) != CONNECTION_BAD || pg_connected(st) == -1 ||
	    pg_simple(st, "BEGIN", "starting a transaction") == -1))
		return -1;
	st->in_tx = 1;
	return 0;
}

static int tx_commit(struct store_pg *st)
{
	PGresult *res;
	int result = -1;

	/* COMMIT of a transaction that failed answers ROLLBACK: that is a failure here. */
	st->in_tx = 0;
	res = PQexec(st->conn, "COMMIT");
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		pg_err(st, "committing", res != NULL && PQresultErrorMessage(res)[0] != '\0' ?
		    PQresultErrorMessage(res) : "the transaction was rolled back");
		goto out;
	}
	result = 0;
out:
	PQclear(res);
	return result;
}

/* Rolls back after an error, keeping the first error's message. */
static void tx_rollback(struct store_pg *st)
{
	char saved[sizeof(st->errmsg)];
	PGresult *res;

	st->in_tx = 0;
	if (PQtransactionStatus(st->conn) == PQTRANS_IDLE)
		return;
	memcpy(saved, st->errmsg, sizeof(saved));
	res = PQexec(st->conn, "ROLLBACK");
	PQclear(res);
	memcpy(st->errmsg, saved, sizeof(saved));
}

/* --- connection and schema ------------------------------------------------------ */

/*
 * Refuses a URI that carries a password (user:password@ or password=): it
 * belongs in a passfile, never in the main configuration.
 */
static int uri_has_password(const char *uri)
{
	const char *p = strstr(uri, "://"), *end, *at, *q;

	if (p == NULL)
		return 0;
	p += 3;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL && memchr(p, ':', (size_t)(at - p)) != NULL)
		return 1;
	for (q = strchr(uri, '?'); q != NULL; q = strchr(q + 1, '&'))
		if (strncasecmp(q + 1, "password=", 9) == 0)
			return 1;
	return 0;
}

static int uri_has_param(const char *uri, const char *param)
{
	size_t n = strlen(param);
	const char *q;

	for (q = strchr(uri, '?'); q != NULL; q = strchr(q + 1, '&'))
		if (strncasecmp(q + 1, param, n) == 0 && q[1 + n] == '=')
			return 1;
	return 0;
}

/*
 * The systemd credential "pgpass" ($CREDENTIALS_DIRECTORY/pgpass, LoadCredential=)
 * as passfile, unless PGPASSFILE or the URI names one. NULL if none.
 */
static char *credential_passfile(const char *uri)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path;

	if (dir == NULL || dir[0] == '\0' || getenv("PGPASSFILE") != NULL ||
	    uri_has_param(uri, "passfile"))
		return NULL;
	path = xasprintf("%s/%s", dir, PG_CREDENTIAL);
	if (access(path, R_OK) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

int store_pg_schema_version(struct store_pg *st)
{
	PGresult *res;
	int64_t v;

	if ((res = pg_run(st, P_SCHEMA_VERSION, "reading the schema version", NULL, 0)) == NULL)
		return -1;
	v = PQntuples(res) == 1 ? col_int(res, 0, 0) : -1;
	PQclear(res);
	if (v < 0 || v > 1000000) {
		set_err(st, "the schema version is unreadable");
		return -1;
	}
	return (int)v;
}

/*
 * Brings the schema to the newest sql/pg migration, holding an advisory lock so
 * that nodes starting together apply each migration once; each runs in its own
 * transaction with its row in scepd_schema.
 */
static int migrate(struct store_pg *st)
{
	size_t n = sizeof(schema_pg_migrations) / sizeof(schema_pg_migrations[0]), i;
	const struct schema_migration *m;
	char *record = NULL, lock[96];
	int version, locked = 0, result = -1;

	for (i = 1; i < n; i++) {
		if (schema_pg_migrations[i].version != schema_pg_migrations[0].version + (int)i) {
			set_err(st, "migration sql/pg/%s is out of sequence",
			    schema_pg_migrations[i].name);
			goto out;
		}
	}
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d)", PG_MIGRATE_LOCK);
	if (pg_simple(st, lock, "waiting for the migration lock") == -1)
		goto out;
	locked = 1;
	if (pg_simple(st, "CREATE TABLE IF NOT EXISTS scepd_schema (version bigint PRIMARY KEY,"
	    " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
	    "creating the schema table") == -1)
		goto out;
	if ((version = store_pg_schema_version(st)) < 0)
		goto out;
	if (version > schema_pg_migrations[n - 1].version) {
		set_err(st, "the database has schema version %d, newer than this scepd's %d",
		    version, schema_pg_migrations[n - 1].version);
		goto out;
	}
	for (i = 0; i < n; i++) {
		m = &schema_pg_migrations[i];
		if (m->version <= version)
			continue;
		if (tx_begin(st) == -1)
			goto out;
		if (pg_simple(st, (const char *)m->sql, m->name) == -1)
			goto out;
		record = xasprintf("INSERT INTO scepd_schema (version, name) VALUES (%d, '%s')",
		    m->version, m->name);
		if (pg_simple(st, record, m->name) == -1)
			goto out;
		free(record);
		record = NULL;
		if (tx_commit(st) == -1)
			goto out;
	}
	result = 0;
out:
	tx_rollback(st);
	if (locked) {
		snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d)", PG_MIGRATE_LOCK);
		if (pg_simple(st, lock, "releasing the migration lock") == -1)
			result = -1;
	}
	free(record);
	return result;
}

static void notice_ignore(void *arg, const char *message)
{
}

struct store_pg *store_pg_open(const char *uri, char *err, size_t errlen)
{
	struct store_pg *st = NULL, *result = NULL;
	const char *keys[5], *values[5];
	char *passfile = NULL;
	int k = 0;

	if (uri_has_password(uri)) {
		errorf(err, errlen, "the database URI carries a password: put it in a passfile "
		    "(PGPASSFILE, passfile= in the URI) or the systemd credential %s",
		    PG_CREDENTIAL);
		goto out;
	}
	st = xcalloc(1, sizeof(*st));
	/* Later keywords override earlier ones: the URI's own settings win. */
	keys[k] = "connect_timeout", values[k++] = PG_CONNECT_TIMEOUT;
	keys[k] = "fallback_application_name", values[k++] = "scepd";
	keys[k] = "dbname", values[k++] = uri;
	if ((passfile = credential_passfile(uri)) != NULL)
		keys[k] = "passfile", values[k++] = passfile;
	keys[k] = NULL, values[k] = NULL;
	if ((st->conn = PQconnectdbParams(keys, values, 1)) == NULL) {
		set_err(st, "cannot allocate a PostgreSQL connection");
		goto out;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		pg_err(st, "connecting to PostgreSQL", PQerrorMessage(st->conn));
		goto out;
	}
	/* The server's notices (e.g. "already exists, skipping") are not errors. */
	PQsetNoticeProcessor(st->conn, notice_ignore, NULL);
	if (migrate(st) == -1)
		goto out;
	result = st;
	st = NULL;
out:
	if (st != NULL) {
		errorf(err, errlen, "%s", st->errmsg[0] != '\0' ? st->errmsg :
		    "cannot open the database");
		store_pg_close(st);
	}
	free(passfile);
	return result;
}

void store_pg_close(struct store_pg *st)
{
	if (st == NULL)
		return;
	PQfinish(st->conn);
	free(st);
}

int store_pg_reset(struct store_pg *st)
{
	st->in_tx = 0;
	if (PQstatus(st->conn) != CONNECTION_OK)
		return -1;
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE) {
		PQclear(PQexec(st->conn, "ROLLBACK"));
		if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
			return -1;
	}
	st->errmsg[0] = '\0';
	return 0;
}

const char *store_pg_errmsg(const struct store_pg *st)
{
	return st->errmsg[0] != '\0' ? st->errmsg : "no error";
}

enum store_rc store_pg_ping(struct store_pg *st)
{
	PGresult *res;

	if ((res = pg_run(st, P_PING, "reaching the database", NULL, 0)) == NULL)
		return STORE_ERROR;
	PQclear(res);
	return STORE_OK;
}

/* --- one-time challenges ------------------------------------------------- */

static int password_hash(struct store_pg *st, const char *password, unsigned char out[HASH_LEN])
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

/* Why a password cannot be reserved by profile (NULL: any) now, or STORE_OK. */
static enum store_rc challenge_state(struct store_pg *st, const unsigned char hash[HASH_LEN],
    const char *profile, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	const char *bound;
	PGresult *res;

	if ((res = pg_bound(st, P_CHALLENGE_GET, "reading a challenge",
	    BIND_BLOB(hash, HASH_LEN))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_CHALLENGE_UNKNOWN;
		goto out;
	}
	bound = col_text(res, 0, 3);
	if (profile != NULL && (bound == NULL || strcmp(bound, profile) != 0))
		result = STORE_CHALLENGE_OTHER_PROFILE;
	else if (!col_null(res, 0, 1) || !col_null(res, 0, 2))
		result = STORE_CHALLENGE_USED;
	else if (col_int(res, 0, 0) <= now)
		result = STORE_CHALLENGE_EXPIRED;
	else
		result = STORE_OK;
out:
	PQclear(res);
	return result;
}

static int count_unused(struct store_pg *st, const char *profile, int64_t now)
{
	PGresult *res;
	int result = -1;

	if ((res = pg_bound(st, P_CHALLENGE_COUNT_UNUSED, "counting challenges", BIND_INT(now),
	    BIND_TEXT(profile))) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		set_err(st, "counting challenges: no answer");
		goto out;
	}
	result = (int)col_int(res, 0, 0);
out:
	PQclear(res);
	return result;
}

enum store_rc store_pg_challenge_add(struct store_pg *st, const char *password,
    const char *profile, int64_t now, int64_t expires_at, unsigned max_unused)
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
	/* Nodes adding at once count and insert one after the other (PasswordMax). */
	if (pg_exec(st, P_CHALLENGE_LOCK, "locking the challenge cache",
	    BIND_INT(PG_CHALLENGE_LOCK)) == -1)
		goto out;
	if (pg_exec(st, P_CHALLENGE_DELETE_EXPIRED, "purging expired challenges",
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
	if (pg_exec(st, P_CHALLENGE_INSERT, "recording a challenge", BIND_BLOB(hash, HASH_LEN),
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
 * One UPDATE takes the reservation: PostgreSQL's row lock makes the others
 * (on any node) re-check the row after the winner commits and change nothing.
 */
enum store_rc store_pg_challenge_reserve(struct store_pg *st, const char *password,
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
	if (pg_exec(st, P_CHALLENGE_RESERVE, "reserving the challenge", BIND_INT(now),
	    BIND_BLOB(hash, HASH_LEN), BIND_TEXT(profile)) == -1)
		goto out;
	if (st->affected == 1) {
		result = STORE_OK;
		goto out;
	}
	result = challenge_state(st, hash, profile, now);
	if (result == STORE_OK) {
		set_err(st, "the challenge password was in use by another request");
		result = STORE_CHALLENGE_USED;
	}
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

enum store_rc store_pg_challenge_release(struct store_pg *st, const char *password)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (password_hash(st, password, hash) == -1)
		goto out;
	if (pg_exec(st, P_CHALLENGE_RELEASE, "releasing the challenge",
	    BIND_BLOB(hash, HASH_LEN)) == -1)
		goto out;
	result = st->affected == 1 ? STORE_OK : STORE_NOT_FOUND;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

enum store_rc store_pg_challenge_check(struct store_pg *st, const char *password, int64_t now)
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

int store_pg_challenge_count_unused(struct store_pg *st, int64_t now)
{
	return count_unused(st, NULL, now);
}

int store_pg_challenge_purge(struct store_pg *st, int64_t now)
{
	if (pg_exec(st, P_CHALLENGE_PURGE, "purging challenges", BIND_INT(now)) == -1)
		return -1;
	return (int)st->affected;
}

int store_pg_challenge_foreach(struct store_pg *st, int64_t now,
    int (*fn)(const struct store_challenge_info *, void *), void *arg)
{
	struct store_challenge_info ci;
	const unsigned char *hash;
	PGresult *res;
	int i, rc, result = -1;
	size_t len;

	if ((res = pg_bound(st, P_CHALLENGE_LIST, "listing challenges", BIND_INT(now))) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&ci, 0, sizeof(ci));
		hash = col_blob(res, i, 0, &len);
		if (hash == NULL || len != HASH_LEN) {
			set_err(st, "a challenge row has no hash");
			goto out;
		}
		hex_encode(hash, 8, ci.id, 1);
		ci.created_at = col_int(res, i, 1);
		ci.expires_at = col_int(res, i, 2);
		if (copy_field(ci.profile, sizeof(ci.profile), col_text(res, i, 3)) == -1) {
			set_err(st, "a challenge row has no usable profile");
			goto out;
		}
		if ((rc = fn(&ci, arg)) != 0) {
			result = rc;
			goto out;
		}
	}
	result = 0;
out:
	PQclear(res);
	return result;
}

/* --- accounts of the mscep_admin pages ------------------------------------ */

static int user_from_row(struct store_pg *st, const PGresult *r, int row, struct store_user *u)
{
	const unsigned char *b;
	size_t len;

	memset(u, 0, sizeof(*u));
	if (copy_field(u->name, sizeof(u->name), col_text(r, row, 0)) == -1) {
		set_err(st, "an account row has a missing or oversized name");
		return -1;
	}
	if (!col_null(r, row, 1)) {
		if ((b = col_blob(r, row, 1, &len)) == NULL || len != sizeof(u->nt_hash))
			goto bad;
		memcpy(u->nt_hash, b, sizeof(u->nt_hash));
		u->has_nt_hash = 1;
	}
	if ((b = col_blob(r, row, 2, &len)) == NULL || len != sizeof(u->basic_salt))
		goto bad;
	memcpy(u->basic_salt, b, sizeof(u->basic_salt));
	if ((b = col_blob(r, row, 3, &len)) == NULL || len != sizeof(u->basic_hash))
		goto bad;
	memcpy(u->basic_hash, b, sizeof(u->basic_hash));
	u->basic_iterations = (unsigned)col_int(r, row, 4);
	u->enroll = col_int(r, row, 5) != 0;
	u->created_at = col_int(r, row, 6);
	return 0;
bad:
	set_err(st, "account %s has a malformed hash", u->name);
	OPENSSL_cleanse(u, sizeof(*u));
	return -1;
}

enum store_rc store_pg_user_add(struct store_pg *st, const struct store_user *u)
{
	if (pg_exec(st, P_USER_INSERT, "adding the account", BIND_TEXT(u->name),
	    BIND_BLOB(u->has_nt_hash ? u->nt_hash : NULL, sizeof(u->nt_hash)),
	    BIND_BLOB(u->basic_salt, sizeof(u->basic_salt)),
	    BIND_BLOB(u->basic_hash, sizeof(u->basic_hash)),
	    BIND_INT(u->basic_iterations), BIND_INT(u->enroll ? 1 : 0),
	    BIND_INT(u->created_at)) == -1) {
		if (unique_violation(st)) {
			set_err(st, "an account named %s exists already", u->name);
			return STORE_CONFLICT;
		}
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc store_pg_user_get(struct store_pg *st, const char *name, struct store_user *out)
{
	enum store_rc result = STORE_ERROR;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if ((res = pg_bound(st, P_USER_GET, "looking up the account", BIND_TEXT(name))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (user_from_row(st, res, 0, out) == -1)
		goto out;
	result = STORE_OK;
out:
	PQclear(res);
	return result;
}

enum store_rc store_pg_user_del(struct store_pg *st, const char *name)
{
	if (pg_exec(st, P_USER_DELETE, "deleting the account", BIND_TEXT(name)) == -1)
		return STORE_ERROR;
	return st->affected == 1 ? STORE_OK : STORE_NOT_FOUND;
}

int store_pg_user_foreach(struct store_pg *st, int (*fn)(const struct store_user *, void *),
    void *arg)
{
	struct store_user u;
	PGresult *res;
	int i, rc, result = -1;

	if ((res = pg_run(st, P_USER_LIST, "listing accounts", NULL, 0)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if (user_from_row(st, res, i, &u) == -1)
			goto out;
		rc = fn(&u, arg);
		OPENSSL_cleanse(&u, sizeof(u));
		if (rc != 0) {
			result = rc;
			goto out;
		}
	}
	result = 0;
out:
	PQclear(res);
	return result;
}

/* --- requests and certificates ------------------------------------------- */

static struct store_cert *cert_from_row(struct store_pg *st, const PGresult *r, int row)
{
	struct store_cert *c = NULL, *result = NULL;
	const char *subject, *txid;
	size_t len;

	c = xcalloc(1, sizeof(*c));
	if (copy_field(c->serial, sizeof(c->serial), col_text(r, row, 0)) == -1 ||
	    copy_field(c->status, sizeof(c->status), col_text(r, row, 5)) == -1) {
		set_err(st, "a certificate row has a missing or oversized serial or status");
		goto out;
	}
	subject = col_text(r, row, 1);
	c->subject = xstrdup(subject != NULL ? subject : "");
	c->not_before = col_int(r, row, 2);
	c->not_after = col_int(r, row, 3);
	if ((c->der = col_blob_dup(r, row, 4, &len)) == NULL) {
		set_err(st, "certificate %s has no DER", c->serial);
		goto out;
	}
	c->der_len = len;
	txid = col_text(r, row, 6);
	if (txid != NULL && copy_field(c->transaction_id, sizeof(c->transaction_id), txid) == -1) {
		set_err(st, "certificate %s has an oversized transactionID", c->serial);
		goto out;
	}
	c->issued_at = col_int(r, row, 7);
	if (copy_optional(c->issuer_key_id, sizeof(c->issuer_key_id), col_text(r, row, 8)) == -1 ||
	    copy_optional(c->renewed_serial, sizeof(c->renewed_serial),
	    col_text(r, row, 11)) == -1) {
		set_err(st, "certificate %s has an oversized issuer or renewed serial", c->serial);
		goto out;
	}
	c->revoked_at = col_int(r, row, 9);
	c->revocation_reason = (int)col_int(r, row, 10);
	result = c;
	c = NULL;
out:
	store_cert_free(c);
	return result;
}

static int request_insert_full(struct store_pg *st, const char *transaction_id,
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256,
    const char *subject, const char *outcome, int failinfo, const char *reason, int64_t now,
    const char *cert_serial, const struct store_enrollment *e, const unsigned char *csr,
    size_t csr_len)
{
	return pg_exec(st, P_REQUEST_INSERT, "recording the request",
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

/* 1 if transaction_id (renewing renew_serial) has a request of query q, 0 if not, -1. */
static int transaction_exists(struct store_pg *st, enum pg_stmt q, const char *transaction_id,
    const char *renew_serial)
{
	PGresult *res;
	int result;

	if ((res = pg_bound(st, q, "looking up the transactionID", BIND_TEXT(transaction_id),
	    BIND_TEXT(renew_serial))) == NULL)
		return -1;
	result = PQntuples(res) > 0;
	PQclear(res);
	return result;
}

static int cert_insert(struct store_pg *st, const struct store_cert *c,
    const char *transaction_id, const char *renewed_serial, int64_t now)
{
	if (pg_exec(st, P_CERT_INSERT, "recording the certificate",
	    BIND_TEXT(c->serial),
	    BIND_TEXT(c->subject != NULL ? c->subject : ""),
	    BIND_INT(c->not_before),
	    BIND_INT(c->not_after),
	    BIND_BLOB(c->der, c->der_len),
	    BIND_TEXT(transaction_id),
	    BIND_INT(now),
	    BIND_TEXT(c->issuer_key_id[0] != '\0' ? c->issuer_key_id : NULL),
	    BIND_TEXT(renewed_serial)) == -1) {
		if (unique_violation(st))
			set_err(st, "a certificate with serial %s exists already", c->serial);
		return -1;
	}
	return 0;
}

/* Consumes a password this request reserved (inside the caller's transaction). */
static enum store_rc challenge_consume(struct store_pg *st, const char *password, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	unsigned char hash[HASH_LEN];

	if (password_hash(st, password, hash) == -1)
		goto out;
	if (pg_exec(st, P_CHALLENGE_CONSUME, "consuming the challenge", BIND_INT(now),
	    BIND_BLOB(hash, HASH_LEN)) == -1)
		goto out;
	if (st->affected == 1) {
		result = STORE_OK;
		goto out;
	}
	result = challenge_state(st, hash, NULL, now);
	if (result == STORE_OK) {
		set_err(st, "the challenge password was not reserved by this request");
		result = STORE_ERROR;
	} else if (result != STORE_ERROR) {
		set_err(st, "%s", result == STORE_CHALLENGE_USED ?
		    "the challenge password was used already" :
		    result == STORE_CHALLENGE_EXPIRED ? "the challenge password expired" :
		    "the challenge password is unknown");
	}
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	return result;
}

/* Upper-case serial without "0x" into out; -1 (errmsg set) when too long. */
static int normalize_serial(struct store_pg *st, const char *serial, char *out, size_t outlen)
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

static enum store_rc revoke_one(struct store_pg *st, const char *serial, int reason, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	PGresult *res = NULL;
	char norm[80];

	if (normalize_serial(st, serial, norm, sizeof(norm)) == -1) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (pg_exec(st, P_CERT_REVOKE, "revoking", BIND_TEXT(norm), BIND_INT(now),
	    BIND_INT(reason)) == -1)
		goto out;
	if (st->affected == 1) {
		result = STORE_OK;
		goto out;
	}
	if ((res = pg_bound(st, P_CERT_STATUS, "reading a certificate's status",
	    BIND_TEXT(norm))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		set_err(st, "no certificate with serial %s", norm);
		result = STORE_NOT_FOUND;
	} else {
		set_err(st, "certificate %s is revoked already", norm);
		result = STORE_CONFLICT;
	}
out:
	PQclear(res);
	return result;
}

static enum store_rc revoke_superseded(struct store_pg *st, const struct store_enrollment *e)
{
	if (e->renew_serial == NULL || e->renew_serial[0] == '\0') {
		set_err(st, "revoke_renewed without renew_serial");
		return STORE_ERROR;
	}
	return revoke_one(st, e->renew_serial, STORE_REASON_SUPERSEDED, e->now);
}

/* store_enroll_commit's work inside the caller's transaction; nothing undone on failure. */
static enum store_rc enroll_apply(struct store_pg *st, const struct store_enrollment *e)
{
	enum store_rc result = STORE_ERROR, rc;
	int issued;

	if (e == NULL || e->transaction_id == NULL || e->pubkey_sha256 == NULL || e->cert == NULL ||
	    e->cert->serial[0] == '\0' || e->cert->der == NULL || e->cert->der_len == 0) {
		set_err(st, "store_enroll_commit: transactionID, key hash or certificate missing");
		goto out;
	}
	if ((issued = transaction_exists(st, P_REQUEST_ISSUED_EXISTS, e->transaction_id,
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
	/* Another node committed the same transactionID meanwhile: the unique index says so. */
	if (request_insert_full(st, e->transaction_id, e->message_type, e->client_addr,
	    e->pubkey_sha256, e->subject != NULL ? e->subject : e->cert->subject, "issued", -1,
	    NULL, e->now, e->cert->serial, e, NULL, 0) == -1) {
		if (unique_violation(st))
			result = STORE_CONFLICT;
		goto out;
	}
	result = STORE_OK;
out:
	return result;
}

enum store_rc store_pg_enroll_commit(struct store_pg *st, const struct store_enrollment *e)
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

enum store_rc store_pg_batch_begin(struct store_pg *st)
{
	return tx_begin(st) == 0 ? STORE_OK : STORE_ERROR;
}

/*
 * One enrollment of the batch in its own savepoint: a conflict (PostgreSQL
 * aborts the transaction at the failed statement) is rolled back to it, so
 * the batch's other enrollments stay.
 */
enum store_rc store_pg_batch_enroll(struct store_pg *st, const struct store_enrollment *e)
{
	enum store_rc result;
	char saved[sizeof(st->errmsg)];

	if (!st->in_tx) {
		set_err(st, "store_batch_enroll: no batch begun");
		return STORE_ERROR;
	}
	if (pg_simple(st, "SAVEPOINT enroll", "starting a savepoint") == -1)
		return STORE_ERROR;
	if ((result = enroll_apply(st, e)) == STORE_OK)
		return pg_simple(st, "RELEASE SAVEPOINT enroll", "releasing a savepoint") == 0 ?
		    STORE_OK : STORE_ERROR;
	memcpy(saved, st->errmsg, sizeof(saved));
	if (pg_simple(st, "ROLLBACK TO SAVEPOINT enroll", "rolling back a savepoint") == -1 ||
	    pg_simple(st, "RELEASE SAVEPOINT enroll", "releasing a savepoint") == -1)
		return STORE_ERROR;   /* the batch's transaction is broken: the caller rolls back */
	memcpy(st->errmsg, saved, sizeof(saved));
	return result;
}

enum store_rc store_pg_batch_commit(struct store_pg *st)
{
	if (tx_commit(st) == 0)
		return STORE_OK;
	tx_rollback(st);
	return STORE_ERROR;
}

void store_pg_batch_rollback(struct store_pg *st)
{
	tx_rollback(st);
}

enum store_rc store_pg_request_failed(struct store_pg *st, const char *transaction_id,
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256,
    const char *subject, int failinfo, const char *reason, int64_t now)
{
	if (transaction_id == NULL) {
		set_err(st, "store_request_failed: no transactionID");
		return STORE_ERROR;
	}
	if (request_insert_full(st, transaction_id, message_type, client_addr, pubkey_sha256,
	    subject, "failure", failinfo, reason, now, NULL, NULL, NULL, 0) == -1)
		return STORE_ERROR;
	return STORE_OK;
}

enum store_rc store_pg_issued_for_renewal(struct store_pg *st, const char *transaction_id,
    const char *renew_serial, struct store_cert **out, unsigned char pubkey_sha256[32])
{
	enum store_rc result = STORE_ERROR;
	struct store_cert *c = NULL;
	const unsigned char *key;
	PGresult *res;
	size_t len;

	*out = NULL;
	if ((res = pg_bound(st, P_ISSUED_FOR_TRANSACTION, "looking up the transactionID",
	    BIND_TEXT(transaction_id), BIND_TEXT(renew_serial))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if ((c = cert_from_row(st, res, 0)) == NULL)
		goto out;
	key = col_blob(res, 0, N_CERT_COLS, &len);
	if (key == NULL || len != HASH_LEN) {
		set_err(st, "transactionID %s has no key hash", transaction_id);
		goto out;
	}
	if (pubkey_sha256 != NULL)
		memcpy(pubkey_sha256, key, HASH_LEN);
	key = col_blob(res, 0, N_CERT_COLS + 1, &len);
	if (key != NULL && len == HASH_LEN) {
		memcpy(c->signer_sha256, key, HASH_LEN);
		c->has_signer_sha256 = 1;
	}
	*out = c;
	c = NULL;
	result = STORE_OK;
out:
	PQclear(res);
	store_cert_free(c);
	return result;
}

enum store_rc store_pg_issued_for_transaction(struct store_pg *st, const char *transaction_id,
    struct store_cert **out, unsigned char pubkey_sha256[32])
{
	return store_pg_issued_for_renewal(st, transaction_id, NULL, out, pubkey_sha256);
}

enum store_rc store_pg_cert_by_serial(struct store_pg *st, const char *serial,
    struct store_cert **out)
{
	enum store_rc result = STORE_ERROR;
	char norm[sizeof(((struct store_cert *)0)->serial)];
	PGresult *res = NULL;

	*out = NULL;
	if (normalize_serial(st, serial, norm, sizeof(norm)) == -1) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if ((res = pg_bound(st, P_CERT_BY_SERIAL, "looking up the serial",
	    BIND_TEXT(norm))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if ((*out = cert_from_row(st, res, 0)) == NULL)
		goto out;
	result = STORE_OK;
out:
	PQclear(res);
	return result;
}

/* The whole result is in memory, so fn may use this handle. */
int store_pg_cert_foreach(struct store_pg *st, int (*fn)(const struct store_cert *, void *),
    void *arg)
{
	struct store_cert *c = NULL;
	PGresult *res;
	int i, rc, result = -1;

	if ((res = pg_run(st, P_CERT_LIST, "listing certificates", NULL, 0)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if ((c = cert_from_row(st, res, i)) == NULL)
			goto out;
		if ((rc = fn(c, arg)) != 0) {
			result = rc;
			goto out;
		}
		store_cert_free(c);
		c = NULL;
	}
	result = 0;
out:
	store_cert_free(c);
	PQclear(res);
	return result;
}

/* The whole result is in memory, so fn may use this handle. */
int store_pg_request_history(struct store_pg *st, const char *transaction_id,
    int (*fn)(const struct store_request_row *, void *), void *arg)
{
	struct store_request_row r;
	PGresult *res;
	int i, rc, result = -1;

	if ((res = pg_bound(st, P_REQUEST_HISTORY, "reading a transaction's requests",
	    BIND_TEXT(transaction_id))) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&r, 0, sizeof(r));
		r.id = col_int(res, i, 0);
		r.message_type = (int)col_int(res, i, 1);
		r.client_addr = col_text(res, i, 2);
		r.subject = col_text(res, i, 3);
		r.profile = col_text(res, i, 4);
		r.outcome = col_text(res, i, 5);
		r.failinfo = col_null(res, i, 6) ? -1 : (int)col_int(res, i, 6);
		r.reason = col_text(res, i, 7);
		r.created_at = col_int(res, i, 8);
		r.cert_serial = col_text(res, i, 9);
		if (r.outcome == NULL) {
			set_err(st, "request %lld has no outcome", (long long)r.id);
			goto out;
		}
		if ((rc = fn(&r, arg)) != 0) {
			result = rc;
			goto out;
		}
	}
	result = i;
out:
	PQclear(res);
	return result;
}

/* --- manual approval ----------------------------------------------------- */

enum store_rc store_pg_request_pending(struct store_pg *st, const struct store_enrollment *e,
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
	if ((active = transaction_exists(st, P_REQUEST_ACTIVE_EXISTS, e->transaction_id,
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
		if (unique_violation(st))
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

static struct store_pending *pending_from_row(struct store_pg *st, const PGresult *r, int row)
{
	struct store_pending *p = NULL, *result = NULL;
	const unsigned char *b;
	size_t len;

	p = xcalloc(1, sizeof(*p));
	p->id = col_int(r, row, 0);
	if (copy_field(p->transaction_id, sizeof(p->transaction_id), col_text(r, row, 1)) == -1) {
		set_err(st, "request %lld has no usable transactionID", (long long)p->id);
		goto out;
	}
	p->message_type = (int)col_int(r, row, 2);
	p->client_addr = col_strdup(r, row, 3);
	p->subject = col_strdup(r, row, 4);
	p->profile = col_strdup(r, row, 5);
	p->template_name = col_strdup(r, row, 6);
	if ((b = col_blob(r, row, 7, &len)) == NULL || len != HASH_LEN) {
		set_err(st, "request %lld has no key hash", (long long)p->id);
		goto out;
	}
	memcpy(p->pubkey_sha256, b, HASH_LEN);
	if ((b = col_blob(r, row, 8, &len)) == NULL || len != HASH_LEN) {
		set_err(st, "request %lld has no signer key hash", (long long)p->id);
		goto out;
	}
	memcpy(p->signer_sha256, b, HASH_LEN);
	if ((p->csr = col_blob_dup(r, row, 9, &p->csr_len)) == NULL) {
		set_err(st, "request %lld has no CSR", (long long)p->id);
		goto out;
	}
	if (copy_optional(p->renew_serial, sizeof(p->renew_serial), col_text(r, row, 10)) == -1 ||
	    copy_optional(p->decision, sizeof(p->decision), col_text(r, row, 11)) == -1) {
		set_err(st, "request %lld has an oversized field", (long long)p->id);
		goto out;
	}
	p->created_at = col_int(r, row, 12);
	p->decided_at = col_int(r, row, 13);
	p->backend = col_strdup(r, row, 14);
	p->backend_handle = col_strdup(r, row, 15);
	p->failinfo = col_null(r, row, 16) ? -1 : (int)col_int(r, row, 16);
	p->reason = col_strdup(r, row, 17);
	p->envelope = col_blob_dup(r, row, 18, &p->envelope_len);
	if (p->envelope == NULL)
		p->envelope_len = 0;
	result = p;
	p = NULL;
out:
	store_pending_free(p);
	return result;
}

/* Reads the one waiting request res holds: STORE_OK and *out, or STORE_NOT_FOUND. */
static enum store_rc pending_get(struct store_pg *st, PGresult *res, struct store_pending **out)
{
	enum store_rc result = STORE_ERROR;

	if (res == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if ((*out = pending_from_row(st, res, 0)) == NULL)
		goto out;
	result = STORE_OK;
out:
	PQclear(res);
	return result;
}

enum store_rc store_pg_pending_for_transaction(struct store_pg *st, const char *transaction_id,
    const char *renew_serial, struct store_pending **out)
{
	*out = NULL;
	return pending_get(st, pg_bound(st, P_PENDING_BY_TXID, "looking up a waiting request",
	    BIND_TEXT(transaction_id), BIND_TEXT(renew_serial)), out);
}

enum store_rc store_pg_pending_by_id(struct store_pg *st, int64_t id, struct store_pending **out)
{
	*out = NULL;
	return pending_get(st, pg_bound(st, P_PENDING_BY_ID, "looking up a waiting request",
	    BIND_INT(id)), out);
}

int store_pg_pending_foreach(struct store_pg *st, int all,
    int (*fn)(const struct store_pending *, void *), void *arg)
{
	struct store_pending *p = NULL;
	PGresult *res;
	int i, rc, result = -1;

	if ((res = pg_run(st, all ? P_PENDING_LIST_ALL : P_PENDING_LIST,
	    "listing waiting requests", NULL, 0)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if ((p = pending_from_row(st, res, i)) == NULL)
			goto out;
		if ((rc = fn(p, arg)) != 0) {
			result = rc;
			goto out;
		}
		store_pending_free(p);
		p = NULL;
	}
	result = 0;
out:
	store_pending_free(p);
	PQclear(res);
	return result;
}

enum store_rc store_pg_pending_set_csr(struct store_pg *st, int64_t id,
    const unsigned char *csr, size_t csr_len)
{
	if (csr == NULL || csr_len == 0) {
		set_err(st, "store_pending_set_csr: no CSR");
		return STORE_ERROR;
	}
	if (pg_exec(st, P_PENDING_SET_CSR, "replacing a waiting request's CSR", BIND_INT(id),
	    BIND_BLOB(csr, csr_len)) == -1)
		return STORE_ERROR;
	return st->affected == 1 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_pg_pending_decide(struct store_pg *st, int64_t id, int approve, int64_t now)
{
	enum store_rc result = STORE_ERROR;
	struct store_pending *p = NULL;

	if (pg_exec(st, P_PENDING_DECIDE, "recording the decision", BIND_INT(id),
	    BIND_TEXT(approve ? "approved" : "rejected"), BIND_INT(now)) == -1)
		goto out;
	if (st->affected == 1) {
		result = STORE_OK;
		goto out;
	}
	switch (store_pg_pending_by_id(st, id, &p)) {
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

enum store_rc store_pg_pending_issue(struct store_pg *st, int64_t id,
    const struct store_enrollment *e)
{
	enum store_rc result = STORE_ERROR, rc;
	struct store_pending *p = NULL;
	int in_tx = 0;

	if (e == NULL || e->transaction_id == NULL || e->cert == NULL ||
	    e->cert->serial[0] == '\0' || e->cert->der == NULL || e->cert->der_len == 0) {
		set_err(st, "store_pending_issue: transactionID or certificate missing");
		goto out;
	}
	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	switch (store_pg_pending_by_id(st, id, &p)) {
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
	if (pg_exec(st, P_PENDING_ISSUE, "recording the issued request", BIND_INT(id),
	    BIND_TEXT(e->cert->serial)) == -1) {
		if (unique_violation(st)) {
			set_err(st, "transactionID %s has a certificate already", e->transaction_id);
			result = STORE_CONFLICT;
		}
		goto out;
	}
	/* Another node issued it meanwhile (the row lock made this UPDATE wait, then miss). */
	if (st->affected != 1) {
		set_err(st, "request %lld is not an approved waiting request", (long long)id);
		result = STORE_CONFLICT;
		goto out;
	}
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	result = STORE_OK;
out:
	store_pending_free(p);
	if (in_tx)
		tx_rollback(st);
	return result;
}

static enum store_rc pending_updated(struct store_pg *st, int64_t id, int rc)
{
	if (rc == -1)
		return STORE_ERROR;
	if (st->affected != 1) {
		set_err(st, "no waiting request %lld", (long long)id);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

enum store_rc store_pg_pending_set_backend(struct store_pg *st, int64_t id, const char *backend,
    const char *handle)
{
	if (backend == NULL || (handle != NULL && strlen(handle) > 4096)) {
		set_err(st, "store_pending_set_backend: no backend, or an oversized handle");
		return STORE_ERROR;
	}
	return pending_updated(st, id, pg_exec(st, P_PENDING_BACKEND,
	    "recording the backend's handle", BIND_INT(id), BIND_TEXT(backend),
	    BIND_TEXT(handle)));
}

enum store_rc store_pg_pending_refuse(struct store_pg *st, int64_t id, int failinfo,
    const char *reason, int64_t now)
{
	return pending_updated(st, id, pg_exec(st, P_PENDING_REFUSE, "recording the refusal",
	    BIND_INT(id), BIND_INT(now), BIND_INT(failinfo), BIND_TEXT(reason)));
}

/* --- revocation and CRLs --------------------------------------------------- */

enum store_rc store_pg_cert_revoke(struct store_pg *st, const char *serial, int reason,
    int64_t now)
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

enum store_rc store_pg_revoked_list(struct store_pg *st, const char *issuer_key_id, int legacy,
    struct store_revoked **out, size_t *n)
{
	enum store_rc result = STORE_ERROR;
	struct store_revoked *list = NULL;
	PGresult *res;
	size_t count;
	int i;

	*out = NULL;
	*n = 0;
	if ((res = pg_bound(st, P_REVOKED_LIST, "listing revoked certificates",
	    BIND_TEXT(issuer_key_id), BIND_INT(legacy != 0))) == NULL)
		goto out;
	count = (size_t)PQntuples(res);
	list = xcalloc(count > 0 ? count : 1, sizeof(*list));
	for (i = 0; i < PQntuples(res); i++) {
		if (copy_field(list[i].serial, sizeof(list[i].serial), col_text(res, i, 0)) == -1) {
			set_err(st, "a revoked certificate has no usable serial");
			goto out;
		}
		list[i].revoked_at = col_int(res, i, 1);
		list[i].reason = (int)col_int(res, i, 2);
	}
	if (count > 0) {
		*out = list;
		list = NULL;
	}
	*n = count;
	result = STORE_OK;
out:
	PQclear(res);
	free(list);
	return result;
}

enum store_rc store_pg_crl_latest(struct store_pg *st, const char *issuer_key_id,
    struct store_crl **out)
{
	enum store_rc result = STORE_ERROR;
	struct store_crl *c = NULL;
	PGresult *res;

	*out = NULL;
	if ((res = pg_bound(st, P_CRL_LATEST, "reading the CRL", BIND_TEXT(issuer_key_id))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	if ((c->der = col_blob_dup(res, 0, 4, &c->der_len)) == NULL) {
		set_err(st, "a CRL row has no DER");
		goto out;
	}
	c->number = col_int(res, 0, 0);
	c->this_update = col_int(res, 0, 1);
	c->next_update = col_int(res, 0, 2);
	c->revoked_count = (size_t)col_int(res, 0, 3);
	*out = c;
	c = NULL;
	result = STORE_OK;
out:
	PQclear(res);
	store_crl_free(c);
	return result;
}

int64_t store_pg_crl_next_number(struct store_pg *st, const char *issuer_key_id)
{
	PGresult *res;
	int64_t result = -1;

	if ((res = pg_bound(st, P_CRL_NEXT, "numbering the CRL", BIND_TEXT(issuer_key_id))) == NULL)
		return -1;
	if (PQntuples(res) == 1)
		result = col_int(res, 0, 0);
	else
		set_err(st, "numbering the CRL: no answer");
	PQclear(res);
	return result;
}

enum store_rc store_pg_crl_put(struct store_pg *st, const char *issuer_key_id,
    const struct store_crl *c)
{
	if (pg_exec(st, P_CRL_INSERT, "recording the CRL", BIND_TEXT(issuer_key_id),
	    BIND_INT(c->number), BIND_INT(c->this_update), BIND_INT(c->next_update),
	    BIND_INT((int64_t)c->revoked_count), BIND_BLOB(c->der, c->der_len)) == -1) {
		if (unique_violation(st)) {
			set_err(st, "CRL number %lld exists already", (long long)c->number);
			return STORE_CONFLICT;
		}
		return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_rc store_pg_newest_issuer(struct store_pg *st, char out[41])
{
	enum store_rc result = STORE_ERROR;
	PGresult *res;

	out[0] = '\0';
	if ((res = pg_run(st, P_NEWEST_ISSUER, "reading the newest certificate's issuer", NULL,
	    0)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (copy_field(out, 41, col_text(res, 0, 0)) == -1) {
		set_err(st, "a certificate has an oversized issuer key ID");
		goto out;
	}
	result = STORE_OK;
out:
	PQclear(res);
	return result;
}

/* --- copying (scepctl store migrate) --------------------------------------- */

static int copy_table_known(const char *table)
{
	static const char *const tables[] = STORE_COPY_TABLES;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (strcmp(tables[i], table) == 0)
			return 1;
	return 0;
}

/* Runs sql (made of known table and column names) with text or binary parameters. */
static PGresult *pg_params(struct store_pg *st, const char *sql, const char *what,
    int n, const char *const *values, const int *lengths, const int *formats)
{
	PGresult *res;
	ExecStatusType rc;
	const char *state;

	st->sqlstate[0] = '\0';
	res = PQexecParams(st->conn, sql, n, NULL, values, lengths, formats, 1);
	rc = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (rc != PGRES_COMMAND_OK && rc != PGRES_TUPLES_OK) {
		state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", state != NULL ? state : "");
		pg_err(st, what, res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(st->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

int64_t store_pg_count(struct store_pg *st, const char *table)
{
	PGresult *res;
	char *sql;
	int64_t result = -1;

	if (!copy_table_known(table)) {
		set_err(st, "no table %s to count", table);
		return -1;
	}
	sql = xasprintf("SELECT count(*) FROM %s", table);
	if ((res = pg_params(st, sql, "counting rows", 0, NULL, NULL, NULL)) != NULL) {
		result = PQntuples(res) == 1 ? col_int(res, 0, 0) : -1;
		PQclear(res);
	}
	free(sql);
	return result;
}

int store_pg_import_begin(struct store_pg *st)
{
	return tx_begin(st);
}

/* Column names come from the SQLite store's own schema: letters, digits, '_'. */
static int column_name_ok(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0' || strlen(name) > 63)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_'))
			return 0;
	return 1;
}

int store_pg_import_row(struct store_pg *st, const char *table, const struct store_value *cols,
    size_t n)
{
	const char **values = NULL;
	int *lengths = NULL, *formats = NULL;
	char (*ints)[24] = NULL;
	char *sql = NULL, *names = NULL, *params = NULL, *tmp;
	PGresult *res = NULL;
	int result = -1;
	size_t i;

	if (!copy_table_known(table) || n == 0) {
		set_err(st, "no table %s to copy into", table);
		goto out;
	}
	values = xcalloc(n, sizeof(*values));
	lengths = xcalloc(n, sizeof(*lengths));
	formats = xcalloc(n, sizeof(*formats));
	ints = xcalloc(n, sizeof(*ints));
	names = xstrdup("");
	params = xstrdup("");
	for (i = 0; i < n; i++) {
		if (!column_name_ok(cols[i].name)) {
			set_err(st, "%s: a column has an unexpected name", table);
			goto out;
		}
		tmp = xasprintf("%s%s%s", names, i > 0 ? ", " : "", cols[i].name);
		free(names);
		names = tmp;
		tmp = xasprintf("%s%s$%zu", params, i > 0 ? ", " : "", i + 1);
		free(params);
		params = tmp;
		switch (cols[i].type) {
		case 'i':
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)cols[i].i);
			values[i] = ints[i];
			break;
		case 't':
			values[i] = cols[i].text;
			break;
		case 'b':
			values[i] = cols[i].blob != NULL ? cols[i].blob : "";
			lengths[i] = (int)cols[i].len;
			formats[i] = 1;
			break;
		default:
			break;
		}
	}
	sql = xasprintf("INSERT INTO %s (%s) VALUES (%s)", table, names, params);
	if ((res = pg_params(st, sql, table, (int)n, values, lengths, formats)) == NULL)
		goto out;
	result = 0;
out:
	PQclear(res);
	free(values);
	free(lengths);
	free(formats);
	free(ints);
	free(names);
	free(params);
	free(sql);
	return result;
}

int store_pg_import_end(struct store_pg *st, int commit)
{
	PGresult *res;

	if (!commit) {
		tx_rollback(st);
		return 0;
	}
	/* requests.id was copied: the next one made here follows the highest. */
	if ((res = pg_params(st, "SELECT setval(pg_get_serial_sequence('requests', 'id'),"
	    " coalesce((SELECT max(id) FROM requests), 0) + 1, false)", "setting the request IDs",
	    0, NULL, NULL, NULL)) == NULL) {
		tx_rollback(st);
		return -1;
	}
	PQclear(res);
	if (tx_commit(st) == -1) {
		tx_rollback(st);
		return -1;
	}
	return 0;
}

/* --- lab mode: scripted outcomes (sql/pg/007_lab_rules.sql) ---------------- */

static int lab_rule_insert(struct store_pg *st, const struct store_lab_rule *r,
    const char *origin, int64_t *id)
{
	PGresult *res;

	if ((res = pg_bound(st, P_LAB_RULE_INSERT, "recording a lab rule", BIND_TEXT(r->rule),
	    BIND_TEXT(origin), BIND_INT(r->uses), BIND_INT(r->expires_at),
	    BIND_INT(r->created_at))) == NULL)
		return -1;
	if (id != NULL)
		*id = PQntuples(res) == 1 ? col_int(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

enum store_rc store_pg_lab_rule_add(struct store_pg *st, const struct store_lab_rule *r,
    int64_t *id)
{
	if (r == NULL || r->rule == NULL || r->origin == NULL) {
		set_err(st, "store_lab_rule_add: no rule text or origin");
		return STORE_ERROR;
	}
	return lab_rule_insert(st, r, r->origin, id) == 0 ? STORE_OK : STORE_ERROR;
}

enum store_rc store_pg_lab_rule_del(struct store_pg *st, int64_t id)
{
	if (pg_exec(st, P_LAB_RULE_DELETE, "deleting a lab rule", BIND_INT(id)) == -1)
		return STORE_ERROR;
	if (st->affected != 1) {
		set_err(st, "no lab rule %lld", (long long)id);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

enum store_rc store_pg_lab_rules_set_config(struct store_pg *st,
    const struct store_lab_rule *rules, size_t n)
{
	enum store_rc result = STORE_ERROR;
	int in_tx = 0;
	size_t i;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if (pg_exec_bind(st, P_LAB_RULE_DELETE_CONFIG, "replacing lab rules", NULL, 0) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (lab_rule_insert(st, &rules[i], "config", NULL) == -1)
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

/* The whole result is in memory, so fn may use this handle. */
int store_pg_lab_rule_foreach(struct store_pg *st, int64_t now, int all,
    int (*fn)(const struct store_lab_rule *, void *), void *arg)
{
	struct store_lab_rule r;
	PGresult *res;
	int i, result = -1;

	if ((res = pg_bound(st, P_LAB_RULE_LIST, "listing lab rules", BIND_INT(all != 0),
	    BIND_INT(now))) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&r, 0, sizeof(r));
		r.id = col_int(res, i, 0);
		r.rule = col_text(res, i, 1);
		r.origin = col_text(res, i, 2);
		r.uses = (unsigned)col_int(res, i, 3);
		r.used = (unsigned)col_int(res, i, 4);
		r.expires_at = col_int(res, i, 5);
		r.created_at = col_int(res, i, 6);
		if (r.rule == NULL || r.origin == NULL) {
			set_err(st, "listing lab rules: rule %lld has no text", (long long)r.id);
			goto out;
		}
		if ((result = fn(&r, arg)) != 0)
			goto out;
	}
	result = 0;
out:
	PQclear(res);
	return result;
}

enum store_rc store_pg_lab_rule_use(struct store_pg *st, int64_t id, int64_t now)
{
	if (pg_exec(st, P_LAB_RULE_USE, "using a lab rule", BIND_INT(id), BIND_INT(now)) == -1)
		return STORE_ERROR;
	if (st->affected != 1) {
		set_err(st, "lab rule %lld has no use left, expired or was deleted", (long long)id);
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

enum store_rc store_pg_lab_poll_add(struct store_pg *st, const char *transaction_id,
    const struct store_lab_poll *p, int64_t now)
{
	return pg_exec(st, P_LAB_POLL_PUT, "recording a scripted PENDING",
	    BIND_TEXT(transaction_id), BIND_INT(p->rule_id), BIND_INT(p->polls_left),
	    BIND_INT(p->then_failure), BIND_INT(p->failinfo), BIND_INT(p->hresult),
	    BIND_INT(p->not_before), BIND_INT(p->not_after), BIND_INT(now)) == -1 ?
	    STORE_ERROR : STORE_OK;
}

enum store_rc store_pg_lab_poll_get(struct store_pg *st, const char *transaction_id,
    struct store_lab_poll *out)
{
	enum store_rc result = STORE_ERROR;
	PGresult *res;

	if ((res = pg_bound(st, P_LAB_POLL_GET, "reading a scripted PENDING",
	    BIND_TEXT(transaction_id))) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		result = STORE_NOT_FOUND;
		goto out;
	}
	out->rule_id = col_int(res, 0, 0);
	out->polls_left = (unsigned)col_int(res, 0, 1);
	out->then_failure = (int)col_int(res, 0, 2);
	out->failinfo = (int)col_int(res, 0, 3);
	out->hresult = (int32_t)col_int(res, 0, 4);
	out->not_before = col_int(res, 0, 5);
	out->not_after = col_int(res, 0, 6);
	result = STORE_OK;
out:
	PQclear(res);
	return result;
}

enum store_rc store_pg_lab_poll_count(struct store_pg *st, const char *transaction_id)
{
	if (pg_exec(st, P_LAB_POLL_COUNT, "counting a scripted PENDING",
	    BIND_TEXT(transaction_id)) == -1)
		return STORE_ERROR;
	return st->affected == 1 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc store_pg_lab_poll_done(struct store_pg *st, const char *transaction_id)
{
	return pg_exec(st, P_LAB_POLL_DONE, "ending a scripted PENDING",
	    BIND_TEXT(transaction_id)) == -1 ? STORE_ERROR : STORE_OK;
}

/* --- recorded exchanges of lab mode (sql/pg/008_recordings.sql) ------------ */

/* Row i of RECORDING_COLS in res into r (no bytes). 0, or -1 with errmsg set. */
static int recording_row(struct store_pg *st, const PGresult *res, int i,
    struct store_recording *r)
{
	r->id = col_int(res, i, 0);
	if (copy_optional(r->transaction_id, sizeof(r->transaction_id), col_text(res, i, 1)) ||
	    copy_optional(r->profile, sizeof(r->profile), col_text(res, i, 3)) ||
	    copy_optional(r->client_addr, sizeof(r->client_addr), col_text(res, i, 4)) ||
	    copy_optional(r->outcome, sizeof(r->outcome), col_text(res, i, 8)) ||
	    copy_optional(r->reason, sizeof(r->reason), col_text(res, i, 10))) {
		set_err(st, "recording %lld: a field is too long", (long long)r->id);
		return -1;
	}
	r->message_type = col_null(res, i, 2) ? -1 : (int)col_int(res, i, 2);
	r->received_ms = col_int(res, i, 5);
	r->answered_ms = col_int(res, i, 6);
	r->http_status = (int)col_int(res, i, 7);
	r->failinfo = col_null(res, i, 9) ? -1 : (int)col_int(res, i, 9);
	r->request_len = (size_t)col_int(res, i, 11);
	r->reply_len = (size_t)col_int(res, i, 12);
	return 0;
}

enum store_rc store_pg_recording_put(struct store_pg *st, struct store_recording *r,
    unsigned max_count, uint64_t max_bytes)
{
	uint64_t bytes = (uint64_t)r->request_len + r->reply_len;
	int64_t budget = (int64_t)(max_bytes > INT64_MAX ? INT64_MAX : max_bytes);
	int keep = bytes <= max_bytes, in_tx = 0, over;
	enum store_rc rc = STORE_ERROR;
	PGresult *res = NULL;

	if (tx_begin(st) == -1)
		goto out;
	in_tx = 1;
	if ((res = pg_bound(st, P_RECORDING_INSERT, "recording an exchange",
	    BIND_TEXT(r->transaction_id[0] != '\0' ? r->transaction_id : NULL),
	    BIND_INT_OR_NULL(r->message_type, r->message_type >= 0),
	    BIND_TEXT(r->profile[0] != '\0' ? r->profile : NULL),
	    BIND_TEXT(r->client_addr[0] != '\0' ? r->client_addr : NULL),
	    BIND_INT(r->received_ms), BIND_INT(r->answered_ms), BIND_INT(r->http_status),
	    BIND_TEXT(r->outcome), BIND_INT_OR_NULL(r->failinfo, r->failinfo >= 0),
	    BIND_TEXT(r->reason[0] != '\0' ? r->reason : NULL),
	    BIND_BLOB(keep ? r->request : NULL, r->request_len),
	    BIND_BLOB(keep ? r->reply : NULL, r->reply_len),
	    BIND_INT(keep ? (int64_t)bytes : 0))) == NULL)
		goto out;
	if (PQntuples(res) != 1) {
		set_err(st, "recording an exchange: no id returned");
		goto out;
	}
	r->id = col_int(res, 0, 0);
	PQclear(res);
	res = NULL;
	/* The oldest first: beyond the newest max_count, then beyond max_bytes. */
	if (pg_exec(st, P_RECORDING_DROP_COUNT, "dropping the oldest recordings", BIND_INT(r->id),
	    BIND_INT(max_count)) == -1)
		goto out;
	if ((res = pg_bound(st, P_RECORDING_OVER_BUDGET, "summing the recordings' bytes",
	    BIND_INT(budget))) == NULL)
		goto out;
	over = PQntuples(res) == 1 && col_int(res, 0, 0) != 0;
	PQclear(res);
	res = NULL;
	if (over && pg_exec(st, P_RECORDING_DROP_BYTES, "dropping the oldest recordings",
	    BIND_INT(budget)) == -1)
		goto out;
	if (tx_commit(st) == -1)
		goto out;
	in_tx = 0;
	rc = STORE_OK;
out:
	PQclear(res);
	if (in_tx)
		tx_rollback(st);
	return rc;
}

enum store_rc store_pg_recording_get(struct store_pg *st, int64_t id, const char *txid,
    struct store_recording **out)
{
	struct store_recording *r = NULL;
	enum store_rc rc = STORE_ERROR;
	PGresult *res;

	*out = NULL;
	if (id > 0)
		res = pg_bound(st, P_RECORDING_BY_ID, "reading a recording", BIND_INT(id));
	else
		res = pg_bound(st, P_RECORDING_BY_TXID, "reading a recording", BIND_TEXT(txid));
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		set_err(st, "no recording %s", id > 0 ? "with that number" :
		    "of that transactionID");
		rc = STORE_NOT_FOUND;
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	if (recording_row(st, res, 0, r) == -1)
		goto out;
	r->request = col_blob_dup(res, 0, 13, &r->request_len);
	r->reply = col_blob_dup(res, 0, 14, &r->reply_len);
	if (r->request == NULL)
		r->request_len = 0;
	if (r->reply == NULL)
		r->reply_len = 0;
	*out = r;
	r = NULL;
	rc = STORE_OK;
out:
	store_recording_free(r);
	PQclear(res);
	return rc;
}

/* The whole result is in memory, so fn may use this handle. */
int store_pg_recording_foreach(struct store_pg *st, unsigned limit,
    int (*fn)(const struct store_recording *, void *), void *arg)
{
	struct store_recording r;
	PGresult *res;
	int i, result = -1;

	if ((res = pg_bound(st, P_RECORDING_LIST, "listing recordings", BIND_INT(limit))) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&r, 0, sizeof(r));
		if (recording_row(st, res, i, &r) == -1) {
			result = -1;
			goto out;
		}
		if ((result = fn(&r, arg)) != 0)
			goto out;
	}
	result = 0;
out:
	PQclear(res);
	return result;
}
