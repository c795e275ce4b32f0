/* SPDX-License-Identifier: ISC */
/*
 * store_impl.h: what a store driver implements, for store.c only. Each driver
 * (store_sqlite.c, store_pg.c) provides store_<driver>_<op> for every operation
 * of store.h on its own handle type, with store.h's semantics; store.c picks
 * the driver from the database setting and forwards to it. Adding a driver is
 * one STORE_DRIVER_DECLARE line here, its file, and a case in store_open().
 */
#ifndef STORE_IMPL_H
#define STORE_IMPL_H

#include "store.h"

#define STORE_DRIVER_DECLARE(D, H) \
struct H; \
struct H *store_##D##_open(const char *path, char *err, size_t errlen); \
void store_##D##_close(struct H *st); \
/* Readies a handle given back to a pool: 0, or -1 when it must be closed. */ \
int store_##D##_reset(struct H *st); \
const char *store_##D##_errmsg(const struct H *st); \
int store_##D##_schema_version(struct H *st); \
enum store_rc store_##D##_ping(struct H *st); \
enum store_rc store_##D##_challenge_add(struct H *st, const char *password, \
    const char *profile, int64_t now, int64_t expires_at, unsigned max_unused); \
enum store_rc store_##D##_challenge_reserve(struct H *st, const char *password, \
    const char *profile, int64_t now); \
enum store_rc store_##D##_challenge_check(struct H *st, const char *password, int64_t now); \
enum store_rc store_##D##_challenge_release(struct H *st, const char *password); \
int store_##D##_challenge_count_unused(struct H *st, int64_t now); \
int store_##D##_challenge_purge(struct H *st, int64_t now); \
int store_##D##_challenge_foreach(struct H *st, int64_t now, \
    int (*fn)(const struct store_challenge_info *, void *), void *arg); \
enum store_rc store_##D##_user_add(struct H *st, const struct store_user *u); \
enum store_rc store_##D##_user_get(struct H *st, const char *name, struct store_user *out); \
enum store_rc store_##D##_user_del(struct H *st, const char *name); \
int store_##D##_user_foreach(struct H *st, int (*fn)(const struct store_user *, void *), \
    void *arg); \
enum store_rc store_##D##_enroll_commit(struct H *st, const struct store_enrollment *e); \
enum store_rc store_##D##_request_failed(struct H *st, const char *transaction_id, \
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256, \
    const char *subject, int failinfo, const char *reason, int64_t now); \
enum store_rc store_##D##_issued_for_transaction(struct H *st, const char *transaction_id, \
    struct store_cert **out, unsigned char pubkey_sha256[32]); \
enum store_rc store_##D##_issued_for_renewal(struct H *st, const char *transaction_id, \
    const char *renew_serial, struct store_cert **out, unsigned char pubkey_sha256[32]); \
enum store_rc store_##D##_cert_by_serial(struct H *st, const char *serial, \
    struct store_cert **out); \
enum store_rc store_##D##_request_pending(struct H *st, const struct store_enrollment *e, \
    const unsigned char *csr, size_t csr_len); \
enum store_rc store_##D##_pending_for_transaction(struct H *st, const char *transaction_id, \
    const char *renew_serial, struct store_pending **out); \
enum store_rc store_##D##_pending_by_id(struct H *st, int64_t id, struct store_pending **out); \
int store_##D##_pending_foreach(struct H *st, int all, \
    int (*fn)(const struct store_pending *, void *), void *arg); \
enum store_rc store_##D##_pending_decide(struct H *st, int64_t id, int approve, int64_t now); \
enum store_rc store_##D##_pending_issue(struct H *st, int64_t id, \
    const struct store_enrollment *e); \
enum store_rc store_##D##_pending_set_backend(struct H *st, int64_t id, const char *backend, \
    const char *handle); \
enum store_rc store_##D##_pending_set_csr(struct H *st, int64_t id, const unsigned char *csr, \
    size_t csr_len); \
enum store_rc store_##D##_pending_refuse(struct H *st, int64_t id, int failinfo, \
    const char *reason, int64_t now); \
enum store_rc store_##D##_cert_revoke(struct H *st, const char *serial, int reason, \
    int64_t now); \
enum store_rc store_##D##_revoked_list(struct H *st, const char *issuer_key_id, int legacy, \
    struct store_revoked **out, size_t *n); \
enum store_rc store_##D##_crl_latest(struct H *st, const char *issuer_key_id, \
    struct store_crl **out); \
int64_t store_##D##_crl_next_number(struct H *st, const char *issuer_key_id); \
enum store_rc store_##D##_crl_put(struct H *st, const char *issuer_key_id, \
    const struct store_crl *c); \
int store_##D##_cert_foreach(struct H *st, int (*fn)(const struct store_cert *, void *), \
    void *arg); \
enum store_rc store_##D##_newest_issuer(struct H *st, char out[41]); \
enum store_rc store_##D##_batch_begin(struct H *st); \
enum store_rc store_##D##_batch_enroll(struct H *st, const struct store_enrollment *e); \
enum store_rc store_##D##_batch_commit(struct H *st); \
void store_##D##_batch_rollback(struct H *st); \
int store_##D##_request_history(struct H *st, const char *transaction_id, \
    int (*fn)(const struct store_request_row *, void *), void *arg); \
enum store_rc store_##D##_lab_rule_add(struct H *st, const struct store_lab_rule *r, \
    int64_t *id); \
enum store_rc store_##D##_lab_rule_del(struct H *st, int64_t id); \
enum store_rc store_##D##_lab_rules_set_config(struct H *st, \
    const struct store_lab_rule *rules, size_t n); \
int store_##D##_lab_rule_foreach(struct H *st, int64_t now, int all, \
    int (*fn)(const struct store_lab_rule *, void *), void *arg); \
enum store_rc store_##D##_lab_rule_use(struct H *st, int64_t id, int64_t now); \
enum store_rc store_##D##_lab_poll_add(struct H *st, const char *transaction_id, \
    const struct store_lab_poll *p, int64_t now); \
enum store_rc store_##D##_lab_poll_get(struct H *st, const char *transaction_id, \
    struct store_lab_poll *out); \
enum store_rc store_##D##_lab_poll_count(struct H *st, const char *transaction_id); \
enum store_rc store_##D##_lab_poll_done(struct H *st, const char *transaction_id); \
enum store_rc store_##D##_recording_put(struct H *st, struct store_recording *r, \
    unsigned max_count, uint64_t max_bytes); \
enum store_rc store_##D##_recording_get(struct H *st, int64_t id, const char *txid, \
    struct store_recording **out); \
int store_##D##_recording_foreach(struct H *st, unsigned limit, \
    int (*fn)(const struct store_recording *, void *), void *arg);

STORE_DRIVER_DECLARE(sqlite, store_sqlite)
STORE_DRIVER_DECLARE(pg, store_pg)

/* One column of a row being copied: SQL NULL, an integer, text or bytes. */
struct store_value {
	const char *name;
	char type;                /* 'n', 'i', 't' or 'b' */
	int64_t i;
	const char *text;
	const void *blob;
	size_t len;
};

/* Rows of table (one of STORE_COPY_TABLES) in the SQLite store, or -1. */
int64_t store_sqlite_count(struct store_sqlite *st, const char *table);
/* Calls fn with every row of table; 0, or -1 (errmsg set, or fn failed). */
int store_sqlite_export(struct store_sqlite *st, const char *table,
    int (*fn)(const struct store_value *cols, size_t n, void *arg), void *arg);
int64_t store_pg_count(struct store_pg *st, const char *table);
/* Starts the copy's transaction; 0 or -1. */
int store_pg_import_begin(struct store_pg *st);
/* Inserts one row into table (inside the copy's transaction); 0 or -1. */
int store_pg_import_row(struct store_pg *st, const char *table, const struct store_value *cols,
    size_t n);
/* Sets the sequences after the rows, then commits (end 1) or rolls back (end 0); 0 or -1. */
int store_pg_import_end(struct store_pg *st, int commit);

#endif
