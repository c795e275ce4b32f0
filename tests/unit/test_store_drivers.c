/* SPDX-License-Identifier: ISC */
/*
 * test_store_drivers.c: store.h's semantics, checked through the API alone so
 * that the same checks run against each driver: SQLite (a file in a temporary
 * folder) always, and PostgreSQL when SCEPD_TEST_PG_URI names an empty
 * database (tests/integration/t_pg_store.sh starts a server and sets it;
 * skipped otherwise). One-time passwords (cache limit, reservation, release,
 * consumption, profiles), enrollment and its idempotence, failures, waiting
 * requests and decisions, revocation, CRL numbers, accounts, and threads racing
 * through a pool for one password and for one transactionID.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

#include "tap.h"

#define NTHREADS 12

static const unsigned char fake_der[] = { 0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x05, 0x00, 0xff };
static const unsigned char fake_csr[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

static void make_cert(struct store_cert *c, const char *serial, const char *subject)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	c->subject = (char *)subject;
	c->not_before = 1000;
	c->not_after = 1000 + 365 * 86400;
	c->der = (unsigned char *)fake_der;
	c->der_len = sizeof(fake_der);
	snprintf(c->issuer_key_id, sizeof(c->issuer_key_id), "%s",
	    "00112233445566778899AABBCCDDEEFF00112233");
}

static void make_enrollment(struct store_enrollment *e, const char *txid,
    const unsigned char *key, const char *challenge, int64_t now, const struct store_cert *c)
{
	memset(e, 0, sizeof(*e));
	e->transaction_id = txid;
	e->message_type = 19;
	e->client_addr = "192.0.2.7";
	e->pubkey_sha256 = key;
	e->signer_sha256 = key;
	e->subject = c != NULL ? c->subject : "CN=waiting";
	e->challenge = challenge;
	e->now = now;
	e->cert = c;
}

static int count_cert(const struct store_cert *c, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int certs(struct store *st)
{
	int n = 0;

	return store_cert_foreach(st, count_cert, &n) == 0 ? n : -1;
}

static int count_user(const struct store_user *u, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_challenges(struct store *st, const char *drv)
{
	is_int(store_challenge_add(st, "PW-1", "default", 100, 200, 2), STORE_OK, "%s: add PW-1", drv);
	is_int(store_challenge_add(st, "PW-2", "default", 100, 200, 2), STORE_OK, "%s: add PW-2", drv);
	is_int(store_challenge_add(st, "PW-3", "default", 100, 200, 2), STORE_CACHE_FULL,
	    "%s: PasswordMax 2 unused: the third is refused", drv);
	is_int(store_challenge_add(st, "PW-V", "vpn", 100, 200, 2), STORE_OK,
	    "%s: another profile has its own cache", drv);
	is_int(store_challenge_count_unused(st, 150), 3, "%s: 3 unused", drv);
	is_int(store_challenge_reserve(st, "PW-1", "vpn", 150), STORE_CHALLENGE_OTHER_PROFILE,
	    "%s: a password of another profile is refused", drv);
	is_int(store_challenge_reserve(st, "PW-1", "default", 150), STORE_OK, "%s: reserve PW-1", drv);
	is_int(store_challenge_reserve(st, "PW-1", "default", 150), STORE_CHALLENGE_USED,
	    "%s: reserved once only", drv);
	is_int(store_challenge_release(st, "PW-1"), STORE_OK, "%s: release PW-1", drv);
	is_int(store_challenge_check(st, "PW-1", 150), STORE_OK, "%s: usable again", drv);
	is_int(store_challenge_check(st, "NOPE", 150), STORE_CHALLENGE_UNKNOWN, "%s: unknown", drv);
	is_int(store_challenge_check(st, "PW-2", 250), STORE_CHALLENGE_EXPIRED, "%s: expired", drv);
	is_int(store_challenge_purge(st, 250), 3, "%s: purge removes the 3 expired ones", drv);
	is_int(store_challenge_count_unused(st, 150), 0, "%s: none left", drv);
}

static void test_enroll(struct store *st, const char *drv)
{
	unsigned char k1[32], k2[32], got_key[32];
	struct store_cert c1, c2, *got = NULL;
	struct store_enrollment e;

	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	is_int(store_challenge_add(st, "OTP", "default", 1000, 9000, 5), STORE_OK, "%s: add OTP", drv);
	make_cert(&c1, "0A01", "CN=one");
	make_enrollment(&e, "TX-1", k1, "OTP", 1000, &c1);
	is_int(store_enroll_commit(st, &e), STORE_ERROR,
	    "%s: an unreserved password is not consumed", drv);
	is_int(certs(st), 0, "%s: and nothing is written", drv);
	is_int(store_challenge_reserve(st, "OTP", "default", 1000), STORE_OK, "%s: reserve", drv);
	is_int(store_enroll_commit(st, &e), STORE_OK, "%s: commit", drv);
	is_int(store_challenge_check(st, "OTP", 1000), STORE_CHALLENGE_USED, "%s: consumed", drv);
	is_int(store_enroll_commit(st, &e), STORE_CONFLICT, "%s: the same transactionID again", drv);
	is_int(certs(st), 1, "%s: one certificate", drv);
	is_int(store_issued_for_transaction(st, "TX-1", &got, got_key), STORE_OK,
	    "%s: found by transactionID", drv);
	ok(got != NULL && strcmp(got->serial, "0A01") == 0 && got->der_len == sizeof(fake_der) &&
	    memcmp(got->der, fake_der, sizeof(fake_der)) == 0 && memcmp(got_key, k1, 32) == 0 &&
	    got->has_signer_sha256 && strcmp(got->subject, "CN=one") == 0,
	    "%s: with its serial, DER, subject and key hashes", drv);
	store_cert_free(got);
	got = NULL;
	is_int(store_cert_by_serial(st, "0x0a01", &got), STORE_OK, "%s: by serial (0x, lower case)",
	    drv);
	store_cert_free(got);
	got = NULL;
	is_int(store_issued_for_transaction(st, "TX-NONE", &got, got_key), STORE_NOT_FOUND,
	    "%s: unknown transactionID", drv);
	is_int(store_request_failed(st, "TX-2", 19, "192.0.2.8", k2, "CN=two", 2, "bad", 1001),
	    STORE_OK, "%s: a failure is recorded", drv);
	make_cert(&c2, "0A02", "CN=two");
	make_enrollment(&e, "TX-2", k2, NULL, 1002, &c2);
	is_int(store_enroll_commit(st, &e), STORE_OK, "%s: a failure does not block a retry", drv);
	is_int(store_cert_revoke(st, "0A02", STORE_REASON_KEY_COMPROMISE, 1003), STORE_OK,
	    "%s: revoke", drv);
	is_int(store_cert_revoke(st, "0A02", STORE_REASON_KEY_COMPROMISE, 1003), STORE_CONFLICT,
	    "%s: revoked already", drv);
	is_int(store_cert_revoke(st, "0BAD", 0, 1003), STORE_NOT_FOUND, "%s: unknown serial", drv);
}

static void test_revoked_and_crl(struct store *st, const char *drv)
{
	const char *kid = "00112233445566778899AABBCCDDEEFF00112233";
	struct store_revoked *list = NULL;
	struct store_crl c, *latest = NULL;
	char newest[41];
	size_t n = 0;

	is_int(store_revoked_list(st, kid, 0, &list, &n), STORE_OK, "%s: revoked list", drv);
	ok(n == 1 && list != NULL && strcmp(list[0].serial, "0A02") == 0 &&
	    list[0].reason == STORE_REASON_KEY_COMPROMISE && list[0].revoked_at == 1003,
	    "%s: it holds the revoked certificate", drv);
	free(list);
	is_int(store_crl_next_number(st, kid), 1, "%s: the first CRL number is 1", drv);
	memset(&c, 0, sizeof(c));
	c.number = 1;
	c.this_update = 1000;
	c.next_update = 2000;
	c.revoked_count = 1;
	c.der = (unsigned char *)fake_der;
	c.der_len = sizeof(fake_der);
	is_int(store_crl_put(st, kid, &c), STORE_OK, "%s: store CRL 1", drv);
	is_int(store_crl_put(st, kid, &c), STORE_CONFLICT, "%s: CRL 1 twice is refused", drv);
	is_int(store_crl_next_number(st, kid), 2, "%s: then 2", drv);
	is_int(store_crl_latest(st, kid, &latest), STORE_OK, "%s: the newest CRL", drv);
	ok(latest != NULL && latest->number == 1 && latest->revoked_count == 1 &&
	    latest->der_len == sizeof(fake_der), "%s: as stored", drv);
	store_crl_free(latest);
	is_int(store_newest_issuer(st, newest), STORE_OK, "%s: the newest issuer", drv);
	is_str(newest, kid, "%s: is the CA key recorded", drv);
}

static void test_pending(struct store *st, const char *drv)
{
	struct store_pending *p = NULL;
	struct store_enrollment e;
	struct store_cert c;
	unsigned char k[32];
	int64_t id;

	memset(k, 0x33, sizeof(k));
	make_enrollment(&e, "TX-P", k, NULL, 2000, NULL);
	e.profile = "default";
	is_int(store_request_pending(st, &e, fake_csr, sizeof(fake_csr)), STORE_OK,
	    "%s: a request waits", drv);
	is_int(store_request_pending(st, &e, fake_csr, sizeof(fake_csr)), STORE_CONFLICT,
	    "%s: once", drv);
	is_int(store_pending_for_transaction(st, "TX-P", NULL, &p), STORE_OK, "%s: found", drv);
	id = p != NULL ? p->id : -1;
	ok(p != NULL && p->csr_len == sizeof(fake_csr) && p->decision[0] == '\0' &&
	    strcmp(p->profile, "default") == 0, "%s: with its CSR, undecided", drv);
	store_pending_free(p);
	p = NULL;
	make_cert(&c, "0A03", "CN=waiting");
	make_enrollment(&e, "TX-P", k, NULL, 2001, &c);
	is_int(store_pending_issue(st, id, &e), STORE_CONFLICT, "%s: not issued before approval", drv);
	is_int(store_pending_decide(st, id, 1, 2002), STORE_OK, "%s: approved", drv);
	is_int(store_pending_decide(st, id, 0, 2002), STORE_CONFLICT, "%s: decided already", drv);
	is_int(store_pending_decide(st, 999999, 1, 2002), STORE_NOT_FOUND, "%s: unknown id", drv);
	is_int(store_pending_issue(st, id, &e), STORE_OK, "%s: issued after approval", drv);
	is_int(store_pending_issue(st, id, &e), STORE_CONFLICT, "%s: once", drv);
	is_int(store_pending_by_id(st, id, &p), STORE_NOT_FOUND, "%s: no longer waiting", drv);
}

static void test_users(struct store *st, const char *drv)
{
	struct store_user u, got;
	int n = 0;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "Alice");
	memset(u.basic_salt, 1, sizeof(u.basic_salt));
	memset(u.basic_hash, 2, sizeof(u.basic_hash));
	u.basic_iterations = 10000;
	u.enroll = 1;
	u.created_at = 5;
	is_int(store_user_add(st, &u), STORE_OK, "%s: add Alice", drv);
	snprintf(u.name, sizeof(u.name), "alice");
	is_int(store_user_add(st, &u), STORE_CONFLICT, "%s: alice exists (case-insensitive)", drv);
	is_int(store_user_get(st, "ALICE", &got), STORE_OK, "%s: found as ALICE", drv);
	ok(strcmp(got.name, "Alice") == 0 && got.basic_iterations == 10000 && got.enroll &&
	    !got.has_nt_hash && got.basic_hash[0] == 2, "%s: as stored", drv);
	is_int(store_user_foreach(st, count_user, &n), 0, "%s: list", drv);
	is_int(n, 1, "%s: one account", drv);
	is_int(store_user_del(st, "alice"), STORE_OK, "%s: delete", drv);
	is_int(store_user_get(st, "Alice", &got), STORE_NOT_FOUND, "%s: gone", drv);
}

struct racer {
	struct store_pool *pool;
	int i, same_txid;
	enum store_rc rc;
};

/* One request: reserve the shared password (or not), then commit its certificate. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	struct store_enrollment e;
	struct store_cert c;
	unsigned char k[32];
	char err[256], serial[16], txid[32];
	struct store *st;

	r->rc = STORE_ERROR;
	if ((st = store_pool_get(r->pool, err, sizeof(err))) == NULL)
		return NULL;
	memset(k, r->i, sizeof(k));
	snprintf(serial, sizeof(serial), "%s%02d", r->same_txid ? "EE" : "AA", r->i);
	snprintf(txid, sizeof(txid), r->same_txid ? "RACE-TX" : "RACE-%d", r->i);
	make_cert(&c, serial, "CN=racer");
	make_enrollment(&e, txid, k, r->same_txid ? NULL : "RACE-PW", 3000, &c);
	if (!r->same_txid && (r->rc = store_challenge_reserve(st, "RACE-PW", "default",
	    3000)) != STORE_OK)
		goto out;
	r->rc = store_enroll_commit(st, &e);
out:
	store_pool_put(r->pool, st);
	return NULL;
}

static void test_races(const char *db, const char *drv)
{
	struct racer r[NTHREADS];
	pthread_t th[NTHREADS];
	struct store_pool *pool;
	struct store *st;
	char err[256] = "";
	int i, round, n_ok, n_other;

	pool = store_pool_new(db, err, sizeof(err));
	ok(pool != NULL, "%s: a pool (%s)", drv, err);
	if (pool == NULL)
		return;
	st = store_pool_get(pool, err, sizeof(err));
	ok(st != NULL && store_challenge_add(st, "RACE-PW", "default", 3000, 9000, 5) == STORE_OK,
	    "%s: the racers' password", drv);
	store_pool_put(pool, st);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < NTHREADS; i++) {
			r[i].pool = pool;
			r[i].i = i;
			r[i].same_txid = round;
			if (pthread_create(&th[i], NULL, racer_main, &r[i]) != 0)
				r[i].rc = STORE_ERROR;
		}
		n_ok = n_other = 0;
		for (i = 0; i < NTHREADS; i++) {
			pthread_join(th[i], NULL);
			if (r[i].rc == STORE_OK)
				n_ok++;
			else if (r[i].rc == (round ? STORE_CONFLICT : STORE_CHALLENGE_USED))
				n_other++;
		}
		is_int(n_ok, 1, "%s: %d threads racing for one %s: exactly one commits", drv,
		    NTHREADS, round ? "transactionID" : "password");
		is_int(n_other, NTHREADS - 1, "%s: the others get %s", drv,
		    round ? "CONFLICT" : "CHALLENGE_USED");
	}
	store_pool_free(pool);
}

static int count_history(const struct store_request_row *r, void *arg)
{
	(*(int *)arg)++;
	return strcmp(r->outcome, "issued") == 0 ? 0 : -2;
}

static int count_rule(const struct store_lab_rule *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int count_recording(const struct store_recording *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* Group commit (each enrollment in its savepoint), request history, lab rules, recordings. */
static void test_batch_and_lab(struct store *st, const char *drv)
{
	static const unsigned char k1[32] = { 0xb1 }, k2[32] = { 0xb2 }, k3[32] = { 0xb3 };
	struct store_cert c1, c2, c3, *got = NULL;
	struct store_enrollment e1, e2, e3;
	struct store_lab_rule rule, cfg_rules[2];
	struct store_lab_poll poll, pgot;
	struct store_recording rec, *rgot = NULL;
	int64_t id = 0;
	int n;

	make_cert(&c1, "BA7C0001", "CN=batch one");
	make_cert(&c2, "BA7C0001", "CN=batch duplicate serial");
	make_cert(&c3, "BA7C0003", "CN=batch three");
	make_enrollment(&e1, "batch-tx-1", k1, NULL, 5000, &c1);
	make_enrollment(&e2, "batch-tx-2", k2, NULL, 5000, &c2);
	make_enrollment(&e3, "batch-tx-3", k3, NULL, 5000, &c3);
	is_int(store_batch_begin(st), STORE_OK, "%s: batch begins", drv);
	is_int(store_batch_enroll(st, &e1), STORE_OK, "%s: batch: first enrollment", drv);
	ok(store_batch_enroll(st, &e2) != STORE_OK, "%s: batch: a duplicate serial fails alone",
	    drv);
	is_int(store_batch_enroll(st, &e3), STORE_OK, "%s: batch: the next one still goes in",
	    drv);
	is_int(store_batch_enroll(st, &e1), STORE_CONFLICT, "%s: batch: a served transactionID "
	    "conflicts", drv);
	is_int(store_batch_commit(st), STORE_OK, "%s: batch commits (%s)", drv, store_errmsg(st));
	is_int(store_cert_by_serial(st, "BA7C0003", &got), STORE_OK, "%s: batch: kept", drv);
	store_cert_free(got);
	got = NULL;
	is_int(store_issued_for_transaction(st, "batch-tx-2", &got, NULL), STORE_NOT_FOUND,
	    "%s: batch: the failed enrollment left nothing", drv);
	store_cert_free(got);
	got = NULL;
	is_int(store_batch_begin(st), STORE_OK, "%s: another batch begins", drv);
	make_cert(&c2, "BA7C0002", "CN=batch rolled back");
	is_int(store_batch_enroll(st, &e2), STORE_OK, "%s: batch: enrollment", drv);
	store_batch_rollback(st);
	is_int(store_cert_by_serial(st, "BA7C0002", &got), STORE_NOT_FOUND,
	    "%s: a rolled back batch keeps nothing", drv);
	store_cert_free(got);
	n = 0;
	is_int(store_request_history(st, "batch-tx-1", count_history, &n), 1,
	    "%s: request history counts the transaction's requests", drv);
	is_int(n, 1, "%s: request history calls fn once", drv);
	is_int(store_request_history(st, "batch-none", count_history, &n), 0,
	    "%s: request history of an unknown transactionID", drv);

	memset(&rule, 0, sizeof(rule));
	rule.rule = "subject=*CN=slow* outcome=pending polls=2";
	rule.origin = "scepctl";
	rule.uses = 1;
	rule.created_at = 5000;
	is_int(store_lab_rule_add(st, &rule, &id), STORE_OK, "%s: lab rule added", drv);
	ok(id > 0, "%s: lab rule id %lld", drv, (long long)id);
	cfg_rules[0] = rule;
	cfg_rules[1] = rule;
	cfg_rules[0].uses = cfg_rules[1].uses = 0;
	is_int(store_lab_rules_set_config(st, cfg_rules, 2), STORE_OK, "%s: config rules", drv);
	is_int(store_lab_rules_set_config(st, cfg_rules, 1), STORE_OK, "%s: config rules again",
	    drv);
	n = 0;
	is_int(store_lab_rule_foreach(st, 5000, 0, count_rule, &n), 0, "%s: lab rules listed", drv);
	is_int(n, 2, "%s: one scepctl rule and one config rule", drv);
	is_int(store_lab_rule_use(st, id, 5001), STORE_OK, "%s: lab rule used", drv);
	is_int(store_lab_rule_use(st, id, 5002), STORE_CONFLICT, "%s: lab rule used up", drv);
	n = 0;
	store_lab_rule_foreach(st, 5002, 0, count_rule, &n);
	is_int(n, 1, "%s: a used up rule is not active", drv);
	n = 0;
	store_lab_rule_foreach(st, 5002, 1, count_rule, &n);
	is_int(n, 2, "%s: all lists it", drv);
	is_int(store_lab_rule_del(st, id), STORE_OK, "%s: lab rule deleted", drv);
	is_int(store_lab_rule_del(st, id), STORE_NOT_FOUND, "%s: deleted already", drv);
	memset(&poll, 0, sizeof(poll));
	poll.rule_id = id;
	poll.polls_left = 1;
	poll.then_failure = 1;
	poll.failinfo = 2;
	poll.hresult = (int32_t)0x80094800;
	is_int(store_lab_poll_add(st, "lab-tx", &poll, 5000), STORE_OK, "%s: lab poll added", drv);
	is_int(store_lab_poll_add(st, "lab-tx", &poll, 5000), STORE_OK, "%s: lab poll replaced",
	    drv);
	is_int(store_lab_poll_get(st, "lab-tx", &pgot), STORE_OK, "%s: lab poll read", drv);
	ok(pgot.polls_left == 1 && pgot.hresult == (int32_t)0x80094800 && pgot.failinfo == 2 &&
	    pgot.then_failure == 1, "%s: lab poll read back", drv);
	is_int(store_lab_poll_count(st, "lab-tx"), STORE_OK, "%s: lab poll counted", drv);
	is_int(store_lab_poll_count(st, "lab-tx"), STORE_NOT_FOUND, "%s: no poll left", drv);
	is_int(store_lab_poll_done(st, "lab-tx"), STORE_OK, "%s: lab poll done", drv);
	is_int(store_lab_poll_get(st, "lab-tx", &pgot), STORE_NOT_FOUND, "%s: lab poll gone", drv);

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.transaction_id, sizeof(rec.transaction_id), "%s", "rec-tx");
	rec.message_type = 19;
	rec.received_ms = 5000000;
	rec.answered_ms = 5000010;
	rec.http_status = 200;
	snprintf(rec.outcome, sizeof(rec.outcome), "%s", "SUCCESS");
	rec.failinfo = -1;
	rec.request = (unsigned char *)fake_der;
	rec.request_len = sizeof(fake_der);
	rec.reply = (unsigned char *)fake_csr;
	rec.reply_len = sizeof(fake_csr);
	for (n = 0; n < 4; n++)
		is_int(store_recording_put(st, &rec, 3, 1000), STORE_OK, "%s: recording %d put",
		    drv, n);
	n = 0;
	is_int(store_recording_foreach(st, 10, count_recording, &n), 0, "%s: recordings", drv);
	is_int(n, 3, "%s: at most max_count recordings kept", drv);
	is_int(store_recording_put(st, &rec, 3, sizeof(fake_der) + sizeof(fake_csr)), STORE_OK,
	    "%s: recording put under a small byte budget", drv);
	n = 0;
	store_recording_foreach(st, 10, count_recording, &n);
	is_int(n, 1, "%s: the byte budget drops the oldest", drv);
	is_int(store_recording_get(st, 0, "rec-tx", &rgot), STORE_OK, "%s: recording read", drv);
	ok(rgot != NULL && rgot->request_len == sizeof(fake_der) && rgot->reply_len ==
	    sizeof(fake_csr) && memcmp(rgot->request, fake_der, sizeof(fake_der)) == 0 &&
	    rgot->failinfo == -1 && rgot->message_type == 19 && rgot->http_status == 200 &&
	    strcmp(rgot->outcome, "SUCCESS") == 0, "%s: recording read back", drv);
	store_recording_free(rgot);
	rgot = NULL;
	is_int(store_recording_get(st, 0, "rec-none", &rgot), STORE_NOT_FOUND,
	    "%s: no recording of an unknown transactionID", drv);
}

static void run_driver(const char *db, const char *drv)
{
	char err[256] = "";
	struct store *st;

	st = store_open(db, err, sizeof(err));
	ok(st != NULL, "%s: store_open (%s)", drv, err);
	if (st == NULL)
		return;
	is_int(store_schema_version(st), STORE_SCHEMA_VERSION, "%s: schema version", drv);
	is_int(store_ping(st), STORE_OK, "%s: ping", drv);
	test_challenges(st, drv);
	test_enroll(st, drv);
	test_revoked_and_crl(st, drv);
	test_pending(st, drv);
	test_users(st, drv);
	test_batch_and_lab(st, drv);
	store_close(st);
	test_races(db, drv);
}

int main(void)
{
	char dir[] = "/tmp/scepd-test-drivers-XXXXXX", *path, *sidecar;
	const char *uri = getenv("SCEPD_TEST_PG_URI");
	const char *suffix[] = { "", "-wal", "-shm" };
	size_t i;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	path = xasprintf("%s/store.db", dir);
	run_driver(path, "sqlite");
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		sidecar = xasprintf("%s%s", path, suffix[i]);
		unlink(sidecar);
		free(sidecar);
	}
	rmdir(dir);
	free(path);
	if (uri != NULL && uri[0] != '\0')
		run_driver(uri, "postgresql");
	else
		skip("postgresql: SCEPD_TEST_PG_URI is not set (tests/integration/t_pg_store.sh sets it)");
	return done_testing();
}
