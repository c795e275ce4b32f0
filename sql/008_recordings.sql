-- SPDX-License-Identifier: ISC
-- 008_recordings.sql: schema version 8 of the scepd store (src/store.c):
-- recorded PKIOperation exchanges of lab mode (lab.record, issue 15).
--
-- One row per PKIOperation as it crossed the wire: the raw request (the
-- pkiMessage as received, its envelope still encrypted to the RA) and the raw
-- reply (a CertRep, or the text of an HTTP error), when it was received and
-- answered (milliseconds since the epoch), its HTTP status and outcome
-- (SUCCESS, FAILURE, PENDING, or HTTP for an answer that is not a CertRep),
-- failInfo and reason. bytes = length(request) + length(reply): the store
-- keeps at most lab.record_max rows and lab.record_max_bytes bytes, dropping
-- the oldest rows first. Rows are never read by the SCEP pipeline.
CREATE TABLE recordings (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	transaction_id TEXT,
	message_type INTEGER,
	profile TEXT,
	client_addr TEXT,
	received_ms INTEGER NOT NULL,
	answered_ms INTEGER NOT NULL,
	http_status INTEGER NOT NULL,
	outcome TEXT NOT NULL,
	failinfo INTEGER,
	reason TEXT,
	request BLOB,
	reply BLOB,
	bytes INTEGER NOT NULL
);
CREATE INDEX recordings_transaction ON recordings (transaction_id);
-- the byte budget is summed over this index, not over the rows and their blobs
CREATE INDEX recordings_bytes ON recordings (id, bytes);
