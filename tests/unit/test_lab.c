/* SPDX-License-Identifier: ISC */
/*
 * test_lab.c: lab mode's rule text (lab.c: parsing, refusals, matching,
 * validity windows) and its store block (store.c: rules with use counts and
 * expiry, taken atomically; the PENDING poll counter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "scep_types.h"
#include "store.h"
#include "util.h"
#include "tap.h"

#define NOW 1800000000LL

static struct lab_rule *parse(const char *text, char *err, size_t errlen)
{
	return lab_rule_parse(text, strlen(text), NOW, err, errlen);
}

static void test_parse(void)
{
	struct lab_rule *r;
	char err[256];

	r = parse("subject=*CN=lab* outcome=pending polls=3 then=failure failinfo=badCertId "
	    "hresult=0x80094800 uses=2 expires=+60", err, sizeof(err));
	ok(r != NULL, "a pending rule parses (%s)", r ? "" : err);
	if (r != NULL) {
		is_int(r->outcome, LAB_PENDING, "outcome pending");
		is_int(r->polls, 3, "polls=3");
		is_int(r->then_failure, 1, "then=failure");
		is_int(r->failinfo, SCEP_FAIL_BADCERTID, "failinfo=badCertId");
		is_int((uint32_t)r->hresult, 0x80094800u, "hresult=0x80094800");
		is_int(r->uses, 2, "uses=2");
		is_int(r->expires, NOW + 60, "expires=+60 is from now");
		is_str(r->subject, "*CN=lab*", "subject pattern kept");
		ok(r->profile == NULL && r->challenge == NULL, "no profile or challenge match");
	}
	lab_rule_free(r);

	r = parse("profile=vpn subject=\"CN=a b*\" outcome=success validity=short delay=5", err,
	    sizeof(err));
	ok(r != NULL, "a quoted value parses (%s)", r ? "" : err);
	if (r != NULL) {
		is_str(r->subject, "CN=a b*", "quoted value without its quotes");
		is_int(r->validity, LAB_VALIDITY_SHORT, "validity=short");
		is_int(r->delay, 5, "delay=5");
		is_int(r->failinfo, SCEP_FAIL_BADREQUEST, "failinfo defaults to badRequest");
		ok(lab_rule_matches(r, "vpn", NULL, "CN=a b c,O=x"), "matches profile and subject");
		ok(!lab_rule_matches(r, "default", NULL, "CN=a b c"), "another profile does not match");
		ok(!lab_rule_matches(r, "vpn", NULL, "CN=ab"), "another subject does not match");
	}
	lab_rule_free(r);

	r = parse("challenge=x outcome=pending", err, sizeof(err));
	ok(r != NULL && r->polls == 1 && !r->then_failure, "pending defaults to 1 poll then success");
	if (r != NULL) {
		ok(lab_rule_matches(r, "any", "x", "CN=y"), "challenge matches exactly");
		ok(!lab_rule_matches(r, "any", "xx", "CN=y"), "another challenge does not match");
		ok(!lab_rule_matches(r, "any", NULL, "CN=y"), "no challenge does not match");
	}
	lab_rule_free(r);

	r = parse("outcome=failure hresult=-2146875392", err, sizeof(err));
	ok(r != NULL && (uint32_t)r->hresult == 0x80094800u, "a decimal (signed) HRESULT");
	lab_rule_free(r);
	r = parse("outcome=http status=503", err, sizeof(err));
	ok(r != NULL && r->http_status == 503 && lab_rule_matches(r, NULL, NULL, NULL),
	    "http 503; no match keys match every request");
	lab_rule_free(r);
}

static void refused(const char *text, const char *why, const char *desc)
{
	struct lab_rule *r;
	char err[256] = "";

	r = parse(text, err, sizeof(err));
	ok(r == NULL, "refused: %s", desc);
	ok(strstr(err, why) != NULL, "%s: the reason names %s (%s)", desc, why, err);
	lab_rule_free(r);
}

static void test_refusals(void)
{
	refused("subject=x", "no outcome", "no outcome");
	refused("outcome=maybe", "outcome", "unknown outcome");
	refused("outcome=http", "status=", "http without status");
	refused("outcome=http status=404", "status", "status other than 403/500/503");
	refused("outcome=success status=503", "status=", "status without http");
	refused("outcome=failure polls=2", "polls=", "polls without pending");
	refused("outcome=pending polls=0", "polls", "zero polls");
	refused("outcome=pending polls=1001", "polls", "too many polls");
	refused("outcome=success failinfo=badCertId", "failinfo=", "failinfo with success");
	refused("outcome=failure failinfo=badThing", "failinfo", "unknown failinfo");
	refused("outcome=failure hresult=0", "hresult", "zero HRESULT");
	refused("outcome=failure hresult=0x1ffffffff", "hresult", "HRESULT over 32 bits");
	refused("outcome=failure validity=expired", "validity=", "validity with failure");
	refused("outcome=success delay=601", "delay", "delay over 600 s");
	refused("outcome=success expires=+0", "expires", "expires=+0");
	refused("outcome=success color=red", "unknown key", "unknown key");
	refused("outcome=success outcome=failure", "twice", "outcome twice");
	refused("outcome=success subject=\"x", "unterminated", "open quotes");
	refused("outcome=success subject=a subject=b", "subject", "subject twice");
	refused("outcome success", "key=value", "a word without =");
	refused("Outcome=success", "key=value", "upper-case key");
	refused("", "empty", "empty text");
}

static void test_validity(void)
{
	int64_t nb, na;

	ok(lab_validity_window(LAB_VALIDITY_NORMAL, NOW, &nb, &na) == -1,
	    "no override for normal");
	ok(lab_validity_window(LAB_VALIDITY_EXPIRED, NOW, &nb, &na) == 0 && na < NOW && nb < na,
	    "expired: the window ended before now");
	ok(lab_validity_window(LAB_VALIDITY_SHORT, NOW, &nb, &na) == 0 && nb == NOW &&
	    na == NOW + 300, "short: valid for 5 minutes from now");
	ok(lab_validity_window(LAB_VALIDITY_NOTYET, NOW, &nb, &na) == 0 && nb > NOW && na > nb,
	    "notyet: starts after now");
}

static int count_rule(const struct store_lab_rule *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int count_rules(struct store *st, int64_t now, int all)
{
	int n = 0;

	return store_lab_rule_foreach(st, now, all, count_rule, &n) < 0 ? -1 : n;
}

static void test_store(void)
{
	char dir[] = "/tmp/scepd-test-lab-XXXXXX", err[256], *path = NULL, *p;
	struct store *st = NULL;
	struct store_lab_rule r, cfg[2];
	struct store_lab_poll poll, got;
	int64_t id1 = 0, id2 = 0;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	path = xasprintf("%s/lab.db", dir);
	st = store_open(path, err, sizeof(err));
	ok(st != NULL, "store opens with the lab tables (%s)", st ? "" : err);
	if (st == NULL)
		goto out;
	memset(&r, 0, sizeof(r));
	r.rule = "outcome=success uses=2";
	r.origin = "scepctl";
	r.uses = 2;
	r.created_at = NOW;
	ok(store_lab_rule_add(st, &r, &id1) == STORE_OK && id1 > 0, "rule with 2 uses added");
	r.rule = "outcome=success expires=+10";
	r.uses = 0;
	r.expires_at = NOW + 10;
	ok(store_lab_rule_add(st, &r, &id2) == STORE_OK && id2 > id1, "rule expiring added");
	is_int(count_rules(st, NOW, 0), 2, "both active");
	ok(store_lab_rule_use(st, id1, NOW) == STORE_OK, "first use taken");
	ok(store_lab_rule_use(st, id1, NOW) == STORE_OK, "second use taken");
	ok(store_lab_rule_use(st, id1, NOW) == STORE_CONFLICT, "no third use");
	is_int(count_rules(st, NOW, 0), 1, "a used-up rule is not active");
	ok(store_lab_rule_use(st, id2, NOW + 10) == STORE_CONFLICT, "an expired rule gives no use");
	is_int(count_rules(st, NOW + 10, 0), 0, "nothing active after the expiry");
	is_int(count_rules(st, NOW + 10, 1), 2, "all rules listed with all");

	memset(cfg, 0, sizeof(cfg));
	cfg[0].rule = "outcome=failure";
	cfg[1].rule = "outcome=wrongkey";
	cfg[0].created_at = cfg[1].created_at = NOW;
	ok(store_lab_rules_set_config(st, cfg, 2) == STORE_OK, "two configured rules set");
	ok(store_lab_rules_set_config(st, cfg, 1) == STORE_OK, "configured rules replaced by one");
	is_int(count_rules(st, NOW, 1), 3, "scepctl rules stay, configured ones replaced");
	ok(store_lab_rule_del(st, id1) == STORE_OK, "rule deleted");
	ok(store_lab_rule_del(st, id1) == STORE_NOT_FOUND, "deleted twice: not found");

	memset(&poll, 0, sizeof(poll));
	poll.rule_id = id2;
	poll.polls_left = 2;
	poll.then_failure = 1;
	poll.failinfo = SCEP_FAIL_BADTIME;
	poll.hresult = (int32_t)0x80094800u;
	ok(store_lab_poll_add(st, "TX1", &poll, NOW) == STORE_OK, "scripted PENDING recorded");
	ok(store_lab_poll_get(st, "TX1", &got) == STORE_OK && got.polls_left == 2 &&
	    got.then_failure == 1 && got.failinfo == SCEP_FAIL_BADTIME &&
	    (uint32_t)got.hresult == 0x80094800u, "read back as recorded");
	ok(store_lab_poll_count(st, "TX1") == STORE_OK, "poll 1 counted");
	ok(store_lab_poll_count(st, "TX1") == STORE_OK, "poll 2 counted");
	ok(store_lab_poll_count(st, "TX1") == STORE_NOT_FOUND, "no third PENDING poll");
	ok(store_lab_poll_get(st, "TX1", &got) == STORE_OK && got.polls_left == 0, "none left");
	ok(store_lab_poll_done(st, "TX1") == STORE_OK &&
	    store_lab_poll_get(st, "TX1", &got) == STORE_NOT_FOUND, "ended: gone");
out:
	store_close(st);
	if (path != NULL) {
		unlink(path);
		p = xasprintf("%s-wal", path);
		unlink(p);
		free(p);
		p = xasprintf("%s-shm", path);
		unlink(p);
		free(p);
	}
	free(path);
	rmdir(dir);
}

int main(void)
{
	test_parse();
	test_refusals();
	test_validity();
	test_store();
	return done_testing();
}
