-- SPDX-License-Identifier: ISC
-- 004_backend.sql: schema version 4 of the scepd store (src/store.c): requests
-- a CA backend (ca.h) left waiting. A waiting request (outcome 'pending') that
-- belongs to a backend names it in `backend` ("scep", "exec") and keeps the
-- backend's handle to poll with; a NULL handle means the backend could not be
-- reached when the request came (backend.when_unavailable = "pending"), so the
-- next poll submits the stored CSR again. `backend` is NULL for a request that
-- waits for an administrator only. A backend's refusal is recorded as the
-- decision 'rejected' with the backend's failInfo and reason.
ALTER TABLE requests ADD COLUMN backend TEXT;
ALTER TABLE requests ADD COLUMN backend_handle TEXT
	CHECK (backend_handle IS NULL OR (backend IS NOT NULL AND length(backend_handle) <= 4096));
