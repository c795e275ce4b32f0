-- SPDX-License-Identifier: ISC
-- 007_lab_rules.sql: schema version 7 of the scepd store (src/store.c): lab
-- mode's scripted outcomes (src/lab.h), used only when lab.enabled is true.
--
-- lab_rules: one rule each, its text exactly as lab.rules or `scepctl lab rule
-- add` gave it (parsed by lab_rule_parse() when it is used). origin is
-- 'config' (re-written from lab.rules at every start and reload, so their use
-- counts restart) or 'scepctl'. uses: how many requests it may answer (0: no
-- limit), used: how many it answered (claimed in one UPDATE, so two requests
-- never take the last use); expires_at: seconds since the epoch, 0: never.
CREATE TABLE lab_rules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	rule TEXT NOT NULL,
	origin TEXT NOT NULL CHECK (origin IN ('config', 'scepctl')),
	uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
	used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
	expires_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);

-- lab_polls: a request a lab rule left PENDING (it waits in requests as any
-- waiting request does): polls_left CertPolls are still answered PENDING, then
-- the request is approved (then_failure 0) or refused with failinfo and
-- hresult; not_before/not_after: a validity override for the certificate
-- (0: the template's).
CREATE TABLE lab_polls (
	transaction_id TEXT PRIMARY KEY,
	rule_id INTEGER NOT NULL,
	polls_left INTEGER NOT NULL CHECK (polls_left >= 0),
	then_failure INTEGER NOT NULL,
	failinfo INTEGER NOT NULL,
	hresult INTEGER NOT NULL,
	not_before INTEGER NOT NULL,
	not_after INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
