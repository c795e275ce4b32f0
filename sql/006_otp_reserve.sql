-- SPDX-License-Identifier: ISC
-- 006_otp_reserve.sql: schema version 6 of the scepd store (src/store.c):
-- one-time passwords are reserved before a CA is asked, and bound to the
-- profile they were made for; waiting requests keep no challenge password.
--
-- reserved_at: set atomically (one UPDATE) by the request that presents the
-- password, before any CA backend is asked; a reserved password is refused to
-- every other request. It is consumed (used_at) with the request's record
-- (certificate or waiting request), or released (reserved_at back to NULL)
-- only when nothing can have been issued: the CA backend refused in a signed
-- answer, the local CA could not sign, or the request failed before a CA was
-- asked. A reservation that is neither (a CA that did not answer, a crash)
-- stays: the password is spent, never issued twice.
ALTER TABLE challenges ADD COLUMN reserved_at INTEGER;
-- The profile the password was made for ("default": the NDES paths and their
-- admin page; else a profiles entry's name, `scepctl challenge new --profile`).
-- Passwords made before this version were made by the NDES admin page or
-- `scepctl challenge new`, so they are the default profile's.
ALTER TABLE challenges ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';

-- A waiting request's csr is kept without its challengePassword attribute
-- (its self-signature no longer verifies: it was checked on arrival). A
-- request that a CA backend must still be sent keeps, in envelope, the
-- pkcsPKIEnvelope exactly as the device sent it (encrypted to the RA): it is
-- opened again to forward the device's request byte for byte, and cleared
-- once the backend has it. Rows stored before this version still hold the
-- challenge in csr: scepd removes it at start-up, once it knows the backends
-- (scep.c redact_waiting(), challenge_redact_waiting()), from every row that
-- can be issued without the device's original request (a backend has it with
-- a handle, it was refused, or the local CA issues it); SQL cannot edit DER.
ALTER TABLE requests ADD COLUMN envelope BLOB;
