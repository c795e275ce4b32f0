-- SPDX-License-Identifier: ISC
-- 001_initial.sql: schema version 1 of the scepd store (src/store.c).
--
-- Migrations are sql/NNN_name.sql, numbered from 001 without gaps. The Makefile
-- compiles them into src/schema_sql.h; store_open() runs each one newer than
-- the database's PRAGMA user_version inside its own transaction and then sets
-- user_version = NNN. So a migration must not contain BEGIN, COMMIT or PRAGMA
-- user_version itself, and a released migration is never edited: add a new one.
-- Times are Unix seconds (INTEGER).

-- One-time challenge passwords (NDES semantics): only the SHA-256 of the
-- password is kept. used_at is set, in the transaction that records the
-- enrollment, when the password is consumed.
CREATE TABLE challenges (
	password_sha256 BLOB NOT NULL PRIMARY KEY CHECK (length(password_sha256) = 32),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
);
CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- Every certificate issued. serial is upper-case hex without "0x".
CREATE TABLE certificates (
	serial TEXT NOT NULL PRIMARY KEY,
	subject TEXT NOT NULL,
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL,
	der BLOB NOT NULL CHECK (length(der) > 0),
	status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
	revoked_at INTEGER,
	revocation_reason INTEGER,
	transaction_id TEXT,
	issued_at INTEGER NOT NULL
);
CREATE INDEX certificates_issued_at ON certificates (issued_at DESC, serial);
CREATE INDEX certificates_transaction_id ON certificates (transaction_id);

-- Every request answered, by transactionID, with its outcome. A failure never
-- blocks a retry; an issued request points at its certificate.
CREATE TABLE requests (
	id INTEGER PRIMARY KEY,
	transaction_id TEXT NOT NULL,
	message_type INTEGER NOT NULL,
	client_addr TEXT,
	pubkey_sha256 BLOB CHECK (pubkey_sha256 IS NULL OR length(pubkey_sha256) = 32),
	subject TEXT,
	outcome TEXT NOT NULL CHECK (outcome IN ('issued', 'failure', 'pending')),
	failinfo INTEGER,
	reason TEXT,
	created_at INTEGER NOT NULL,
	cert_serial TEXT REFERENCES certificates (serial),
	CHECK ((outcome = 'issued') = (cert_serial IS NOT NULL))
);
CREATE INDEX requests_transaction_id ON requests (transaction_id);
-- One transactionID gets at most one certificate, whatever the code above does.
CREATE UNIQUE INDEX requests_one_issued ON requests (transaction_id) WHERE outcome = 'issued';
CREATE INDEX requests_cert_serial ON requests (cert_serial);
