-- SPDX-License-Identifier: ISC
-- 003_lifecycle.sql: schema version 3 of the scepd store (src/store.c): what
-- renewal, manual approval, revocation and CRLs need. Times are Unix seconds.

-- The CA that issued a certificate, as the upper-case hex SHA-1 of its public
-- key (RFC 5280 key identifier, method 1), so that a CRL lists only its own
-- CA's certificates after a rollover. NULL for certificates recorded before
-- this migration: those were issued by the CA in ca.cert.
ALTER TABLE certificates ADD COLUMN issuer_key_id TEXT;
-- The certificate a renewal replaced (its serial), NULL for a first enrollment.
ALTER TABLE certificates ADD COLUMN renewed_serial TEXT;
CREATE INDEX certificates_revoked ON certificates (issuer_key_id) WHERE status = 'revoked';

-- A request waiting for an administrator has outcome 'pending' and keeps what
-- issuing it later needs: the PKCS#10 (DER), the profile and template chosen,
-- the key that signed the pkiMessage (a CertPoll must come from the same key),
-- and the certificate it renews. `scepctl request approve|reject` sets the
-- decision; the certificate is issued at the next CertPoll (or re-sent
-- PKCSReq) after approval, and the row then becomes 'issued'.
ALTER TABLE requests ADD COLUMN csr BLOB;
ALTER TABLE requests ADD COLUMN profile TEXT;
ALTER TABLE requests ADD COLUMN template TEXT;
ALTER TABLE requests ADD COLUMN signer_sha256 BLOB
	CHECK (signer_sha256 IS NULL OR length(signer_sha256) = 32);
ALTER TABLE requests ADD COLUMN renew_serial TEXT;
ALTER TABLE requests ADD COLUMN decision TEXT
	CHECK (decision IS NULL OR decision IN ('approved', 'rejected'));
ALTER TABLE requests ADD COLUMN decided_at INTEGER;
-- Clients derive the transactionID from the key (scep.md §1.4.4), so a renewal
-- that keeps the key reuses the transactionID of the enrollment it renews: a
-- request is identified by its transactionID and the certificate it renews.
-- One issued and one waiting request per such pair.
DROP INDEX requests_one_issued;
CREATE UNIQUE INDEX requests_one_issued ON requests (transaction_id, coalesce(renew_serial, ''))
	WHERE outcome = 'issued';
CREATE UNIQUE INDEX requests_one_pending ON requests (transaction_id, coalesce(renew_serial, ''))
	WHERE outcome = 'pending';

-- Every CRL made, per CA; the newest one is served. revoked_count is the
-- number of revoked certificates it lists, so a revocation made by another
-- process (scepctl) is noticed and the CRL made again.
CREATE TABLE crls (
	issuer_key_id TEXT NOT NULL,
	crl_number INTEGER NOT NULL CHECK (crl_number > 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	revoked_count INTEGER NOT NULL,
	der BLOB NOT NULL CHECK (length(der) > 0),
	PRIMARY KEY (issuer_key_id, crl_number)
);
