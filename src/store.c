/* SPDX-License-Identifier: ISC */
/*
 * store.c: the front of the store. It picks the driver from the database
 * setting (a postgresql:// or postgres:// URI: store_pg.c; anything else is a
 * SQLite file: store_sqlite.c), forwards every store.h operation to it, frees
 * what the drivers hand out, and keeps the pool of handles for request threads.
 * It runs no SQL itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store.h"
#include "store_impl.h"
#include "util.h"

#define STORE_POOL_MAX_FREE 64       /* idle handles a pool keeps open */

/* A handle: exactly one of the two drivers' handles is set. */
struct store {
	struct store_sqlite *lite;
	struct store_pg *pg;
};

struct store_pool {
	char *path;
	pthread_mutex_t lock;
	struct store *idle[STORE_POOL_MAX_FREE];
	size_t n_idle;
};

/* Calls operation op of st's driver with st's driver handle and the other arguments. */
#define DISPATCH(op, ...) (st->pg != NULL ? store_pg_##op(st->pg, __VA_ARGS__) : \
	store_sqlite_##op(st->lite, __VA_ARGS__))
#define DISPATCH0(op) (st->pg != NULL ? store_pg_##op(st->pg) : store_sqlite_##op(st->lite))

int store_is_postgresql(const char *database)
{
	return database != NULL && (strncasecmp(database, "postgresql://", 13) == 0 ||
	    strncasecmp(database, "postgres://", 11) == 0);
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *st = NULL;

	if (path == NULL) {
		errorf(err, errlen, "no database given");
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	if (store_is_postgresql(path))
		st->pg = store_pg_open(path, err, errlen);
	else
		st->lite = store_sqlite_open(path, err, errlen);
	if (st->pg == NULL && st->lite == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		store_pg_close(st->pg);
	else
		store_sqlite_close(st->lite);
	free(st);
}

const char *store_errmsg(const struct store *st)
{
	if (st == NULL)
		return "no database handle";
	return DISPATCH0(errmsg);
}

int store_schema_version(struct store *st) { return DISPATCH0(schema_version); }
enum store_rc store_ping(struct store *st) { return DISPATCH0(ping); }

/* --- one-time challenges ------------------------------------------------- */

enum store_rc store_challenge_add(struct store *st, const char *password, const char *profile,
    int64_t now, int64_t expires_at, unsigned max_unused)
{
	return DISPATCH(challenge_add, password, profile, now, expires_at, max_unused);
}

enum store_rc store_challenge_reserve(struct store *st, const char *password,
    const char *profile, int64_t now)
{
	return DISPATCH(challenge_reserve, password, profile, now);
}

enum store_rc store_challenge_check(struct store *st, const char *password, int64_t now)
{
	return DISPATCH(challenge_check, password, now);
}

enum store_rc store_challenge_release(struct store *st, const char *password)
{
	return DISPATCH(challenge_release, password);
}

int store_challenge_count_unused(struct store *st, int64_t now)
{
	return DISPATCH(challenge_count_unused, now);
}

int store_challenge_purge(struct store *st, int64_t now)
{
	return DISPATCH(challenge_purge, now);
}

int store_challenge_foreach(struct store *st, int64_t now,
    int (*fn)(const struct store_challenge_info *, void *), void *arg)
{
	return DISPATCH(challenge_foreach, now, fn, arg);
}

/* --- accounts -------------------------------------------------------------- */

enum store_rc store_user_add(struct store *st, const struct store_user *u)
{
	return DISPATCH(user_add, u);
}

enum store_rc store_user_get(struct store *st, const char *name, struct store_user *out)
{
	return DISPATCH(user_get, name, out);
}

enum store_rc store_user_del(struct store *st, const char *name)
{
	return DISPATCH(user_del, name);
}

int store_user_foreach(struct store *st, int (*fn)(const struct store_user *, void *), void *arg)
{
	return DISPATCH(user_foreach, fn, arg);
}

/* --- requests and certificates ------------------------------------------- */

enum store_rc store_enroll_commit(struct store *st, const struct store_enrollment *e)
{
	return DISPATCH(enroll_commit, e);
}

enum store_rc store_request_failed(struct store *st, const char *transaction_id,
    int message_type, const char *client_addr, const unsigned char *pubkey_sha256,
    const char *subject, int failinfo, const char *reason, int64_t now)
{
	return DISPATCH(request_failed, transaction_id, message_type, client_addr, pubkey_sha256,
	    subject, failinfo, reason, now);
}

enum store_rc store_issued_for_transaction(struct store *st, const char *transaction_id,
    struct store_cert **out, unsigned char pubkey_sha256[32])
{
	return DISPATCH(issued_for_transaction, transaction_id, out, pubkey_sha256);
}

enum store_rc store_issued_for_renewal(struct store *st, const char *transaction_id,
    const char *renew_serial, struct store_cert **out, unsigned char pubkey_sha256[32])
{
	return DISPATCH(issued_for_renewal, transaction_id, renew_serial, out, pubkey_sha256);
}

enum store_rc store_cert_by_serial(struct store *st, const char *serial, struct store_cert **out)
{
	return DISPATCH(cert_by_serial, serial, out);
}

int store_cert_foreach(struct store *st, int (*fn)(const struct store_cert *, void *), void *arg)
{
	return DISPATCH(cert_foreach, fn, arg);
}

enum store_rc store_newest_issuer(struct store *st, char out[41])
{
	return DISPATCH(newest_issuer, out);
}

/* --- manual approval ----------------------------------------------------- */

enum store_rc store_request_pending(struct store *st, const struct store_enrollment *e,
    const unsigned char *csr, size_t csr_len)
{
	return DISPATCH(request_pending, e, csr, csr_len);
}

enum store_rc store_pending_for_transaction(struct store *st, const char *transaction_id,
    const char *renew_serial, struct store_pending **out)
{
	return DISPATCH(pending_for_transaction, transaction_id, renew_serial, out);
}

enum store_rc store_pending_by_id(struct store *st, int64_t id, struct store_pending **out)
{
	return DISPATCH(pending_by_id, id, out);
}

int store_pending_foreach(struct store *st, int all,
    int (*fn)(const struct store_pending *, void *), void *arg)
{
	return DISPATCH(pending_foreach, all, fn, arg);
}

enum store_rc store_pending_decide(struct store *st, int64_t id, int approve, int64_t now)
{
	return DISPATCH(pending_decide, id, approve, now);
}

enum store_rc store_pending_issue(struct store *st, int64_t id, const struct store_enrollment *e)
{
	return DISPATCH(pending_issue, id, e);
}

enum store_rc store_pending_set_backend(struct store *st, int64_t id, const char *backend,
    const char *handle)
{
	return DISPATCH(pending_set_backend, id, backend, handle);
}

enum store_rc store_pending_set_csr(struct store *st, int64_t id, const unsigned char *csr,
    size_t csr_len)
{
	return DISPATCH(pending_set_csr, id, csr, csr_len);
}

enum store_rc store_pending_refuse(struct store *st, int64_t id, int failinfo,
    const char *reason, int64_t now)
{
	return DISPATCH(pending_refuse, id, failinfo, reason, now);
}

/* --- revocation and CRLs --------------------------------------------------- */

enum store_rc store_cert_revoke(struct store *st, const char *serial, int reason, int64_t now)
{
	return DISPATCH(cert_revoke, serial, reason, now);
}

enum store_rc store_revoked_list(struct store *st, const char *issuer_key_id, int legacy,
    struct store_revoked **out, size_t *n)
{
	return DISPATCH(revoked_list, issuer_key_id, legacy, out, n);
}

enum store_rc store_crl_latest(struct store *st, const char *issuer_key_id, struct store_crl **out)
{
	return DISPATCH(crl_latest, issuer_key_id, out);
}

int64_t store_crl_next_number(struct store *st, const char *issuer_key_id)
{
	return DISPATCH(crl_next_number, issuer_key_id);
}

enum store_rc store_crl_put(struct store *st, const char *issuer_key_id, const struct store_crl *c)
{
	return DISPATCH(crl_put, issuer_key_id, c);
}

/* --- group commit (commitq.c) -------------------------------------------- */

enum store_rc store_batch_begin(struct store *st) { return DISPATCH0(batch_begin); }

enum store_rc store_batch_enroll(struct store *st, const struct store_enrollment *e)
{
	return DISPATCH(batch_enroll, e);
}

enum store_rc store_batch_commit(struct store *st) { return DISPATCH0(batch_commit); }

void store_batch_rollback(struct store *st)
{
	if (st->pg != NULL)
		store_pg_batch_rollback(st->pg);
	else
		store_sqlite_batch_rollback(st->lite);
}

int store_request_history(struct store *st, const char *transaction_id,
    int (*fn)(const struct store_request_row *, void *), void *arg)
{
	return DISPATCH(request_history, transaction_id, fn, arg);
}

/* --- lab mode: scripted outcomes and recorded exchanges -------------------- */

enum store_rc store_lab_rule_add(struct store *st, const struct store_lab_rule *r, int64_t *id)
{
	return DISPATCH(lab_rule_add, r, id);
}

enum store_rc store_lab_rule_del(struct store *st, int64_t id)
{
	return DISPATCH(lab_rule_del, id);
}

enum store_rc store_lab_rules_set_config(struct store *st, const struct store_lab_rule *rules,
    size_t n)
{
	return DISPATCH(lab_rules_set_config, rules, n);
}

int store_lab_rule_foreach(struct store *st, int64_t now, int all,
    int (*fn)(const struct store_lab_rule *, void *), void *arg)
{
	return DISPATCH(lab_rule_foreach, now, all, fn, arg);
}

enum store_rc store_lab_rule_use(struct store *st, int64_t id, int64_t now)
{
	return DISPATCH(lab_rule_use, id, now);
}

enum store_rc store_lab_poll_add(struct store *st, const char *transaction_id,
    const struct store_lab_poll *p, int64_t now)
{
	return DISPATCH(lab_poll_add, transaction_id, p, now);
}

enum store_rc store_lab_poll_get(struct store *st, const char *transaction_id,
    struct store_lab_poll *out)
{
	return DISPATCH(lab_poll_get, transaction_id, out);
}

enum store_rc store_lab_poll_count(struct store *st, const char *transaction_id)
{
	return DISPATCH(lab_poll_count, transaction_id);
}

enum store_rc store_lab_poll_done(struct store *st, const char *transaction_id)
{
	return DISPATCH(lab_poll_done, transaction_id);
}

enum store_rc store_recording_put(struct store *st, struct store_recording *r,
    unsigned max_count, uint64_t max_bytes)
{
	return DISPATCH(recording_put, r, max_count, max_bytes);
}

enum store_rc store_recording_get(struct store *st, int64_t id, const char *txid,
    struct store_recording **out)
{
	return DISPATCH(recording_get, id, txid, out);
}

int store_recording_foreach(struct store *st, unsigned limit,
    int (*fn)(const struct store_recording *, void *), void *arg)
{
	return DISPATCH(recording_foreach, limit, fn, arg);
}

/* --- copying a store ----------------------------------------------------------- */

struct copy_ctx {
	struct store *to;
	const char *table;
};

static int copy_row(const struct store_value *cols, size_t n, void *arg)
{
	struct copy_ctx *c = arg;

	return store_pg_import_row(c->to->pg, c->table, cols, n);
}

int store_copy(const char *from, const char *to, struct store_copy_count *counts,
    char *err, size_t errlen)
{
	static const char *const tables[] = STORE_COPY_TABLES;
	struct store *src = NULL, *dst = NULL;
	struct copy_ctx ctx;
	int in_tx = 0, result = -1;
	int64_t n;
	size_t i;

	if (store_is_postgresql(from) || !store_is_postgresql(to)) {
		errorf(err, errlen, "a copy goes from a SQLite store to a PostgreSQL one");
		goto out;
	}
	if (access(from, R_OK) != 0) {
		errorf(err, errlen, "%s: %s", from, strerror(errno));
		goto out;
	}
	if ((src = store_open(from, err, errlen)) == NULL ||
	    (dst = store_open(to, err, errlen)) == NULL)
		goto out;
	for (i = 0; i < STORE_COPY_N_TABLES; i++) {
		counts[i].table = tables[i];
		counts[i].from = counts[i].to = -1;
		if ((n = store_pg_count(dst->pg, tables[i])) != 0) {
			errorf(err, errlen, n < 0 ? "%s: %s" : "%s: the PostgreSQL store is not "
			    "empty (%s has rows)", to, n < 0 ? store_errmsg(dst) : tables[i]);
			goto out;
		}
	}
	if (store_pg_import_begin(dst->pg) == -1) {
		errorf(err, errlen, "%s: %s", to, store_errmsg(dst));
		goto out;
	}
	in_tx = 1;
	ctx.to = dst;
	for (i = 0; i < STORE_COPY_N_TABLES; i++) {
		ctx.table = tables[i];
		if (store_sqlite_export(src->lite, tables[i], copy_row, &ctx) == -1) {
			errorf(err, errlen, "copying %s: %s", tables[i],
			    strcmp(store_errmsg(dst), "no error") != 0 ? store_errmsg(dst) :
			    store_errmsg(src));
			goto out;
		}
	}
	in_tx = 0;
	if (store_pg_import_end(dst->pg, 1) == -1) {
		errorf(err, errlen, "%s: %s", to, store_errmsg(dst));
		goto out;
	}
	result = 0;
	for (i = 0; i < STORE_COPY_N_TABLES; i++) {
		counts[i].from = store_sqlite_count(src->lite, tables[i]);
		counts[i].to = store_pg_count(dst->pg, tables[i]);
		if (counts[i].from < 0 || counts[i].from != counts[i].to) {
			errorf(err, errlen, "%s: %lld rows in %s, %lld in the copy", tables[i],
			    (long long)counts[i].from, from, (long long)counts[i].to);
			result = -1;
		}
	}
out:
	if (in_tx)
		(void)store_pg_import_end(dst->pg, 0);
	store_close(src);
	store_close(dst);
	return result;
}

/* --- what the drivers hand out ------------------------------------------- */

void store_pending_free(struct store_pending *p)
{
	if (p == NULL)
		return;
	free(p->client_addr);
	free(p->subject);
	free(p->profile);
	free(p->template_name);
	free(p->csr);
	free(p->envelope);
	free(p->backend);
	free(p->backend_handle);
	free(p->reason);
	free(p);
}

void store_recording_free(struct store_recording *r)
{
	if (r == NULL)
		return;
	free(r->request);
	free(r->reply);
	free(r);
}

void store_crl_free(struct store_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c);
}

void store_cert_free(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->subject);
	free(c->der);
	free(c);
}

/* --- pool of handles for request threads ---------------------------------- */

struct store_pool *store_pool_new(const char *path, char *err, size_t errlen)
{
	struct store_pool *pool = NULL, *result = NULL;
	struct store *st;
	int mutex_ok = 0;

	pool = xcalloc(1, sizeof(*pool));
	pool->path = xstrdup(path);
	if (pthread_mutex_init(&pool->lock, NULL) != 0) {
		errorf(err, errlen, "cannot create the store pool's mutex");
		goto out;
	}
	mutex_ok = 1;
	/* Proves the database opens, and migrates it once before threads start. */
	if ((st = store_open(path, err, errlen)) == NULL)
		goto out;
	pool->idle[pool->n_idle++] = st;
	result = pool;
	pool = NULL;
out:
	if (pool != NULL) {
		if (mutex_ok)
			pthread_mutex_destroy(&pool->lock);
		free(pool->path);
		free(pool);
	}
	return result;
}

struct store *store_pool_get(struct store_pool *pool, char *err, size_t errlen)
{
	struct store *st = NULL;

	if (pthread_mutex_lock(&pool->lock) != 0) {
		errorf(err, errlen, "cannot lock the store pool");
		return NULL;
	}
	if (pool->n_idle > 0)
		st = pool->idle[--pool->n_idle];
	pthread_mutex_unlock(&pool->lock);
	if (st == NULL)
		st = store_open(pool->path, err, errlen);
	return st;
}

void store_pool_put(struct store_pool *pool, struct store *st)
{
	if (st == NULL)
		return;
	/* A handle left inside a transaction, or whose connection broke, is closed. */
	if (DISPATCH0(reset) == -1) {
		store_close(st);
		return;
	}
	if (pthread_mutex_lock(&pool->lock) != 0) {
		store_close(st);
		return;
	}
	if (pool->n_idle < STORE_POOL_MAX_FREE) {
		pool->idle[pool->n_idle++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	store_close(st);
}

void store_pool_free(struct store_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->n_idle; i++)
		store_close(pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	free(pool->path);
	free(pool);
}
