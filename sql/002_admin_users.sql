-- SPDX-License-Identifier: ISC
-- 002_admin_users.sql: accounts that may sign in to the NDES challenge pages
-- (/certsrv/mscep_admin/, src/admin.c) with NTLM or Basic.
--
-- No password is stored. nt_hash is MD4(UTF-16LE(password)), which NTLMv2
-- needs to verify a sign-in (it is password-equivalent for NTLM, so the
-- database stays mode 0600); it is NULL for an account created for Basic only.
-- Basic sign-ins are checked against basic_hash = PBKDF2-HMAC-SHA256(password,
-- basic_salt, basic_iterations), a salted slow hash. enroll = 0 makes the
-- account see the "insufficient permission" page instead of a password.
CREATE TABLE admin_users (
	name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	nt_hash BLOB CHECK (nt_hash IS NULL OR length(nt_hash) = 16),
	basic_salt BLOB NOT NULL CHECK (length(basic_salt) = 16),
	basic_hash BLOB NOT NULL CHECK (length(basic_hash) = 32),
	basic_iterations INTEGER NOT NULL CHECK (basic_iterations >= 1000),
	enroll INTEGER NOT NULL CHECK (enroll IN (0, 1)),
	created_at INTEGER NOT NULL
);
