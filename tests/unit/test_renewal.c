/* SPDX-License-Identifier: ISC */
/*
 * test_renewal.c: the renewal signer checks (src/renewal.c) over the client
 * fixtures signed with an old certificate of the lab CA (scepclient and
 * strongSwan RenewalReq, certmonger resubmit and rekey, sscep -O): chain to
 * the CA, self-signed and foreign signers, validity with a grace period, the
 * renewal window, subject and SAN match, key reuse. Times are fixed relative
 * to old.crt's dates, never the clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "csr.h"
#include "oids.h"
#include "renewal.h"
#include "scep_types.h"
#include "tap.h"
#include "fixture.h"
#include "x509util.h"

static char reason[512];

static X509 *pem_x509(const char *fixture, const char *file)
{
	unsigned char *pem;
	size_t len = 0;
	BIO *bio;
	X509 *x = NULL;

	if ((pem = fixture_read(fixture, file, &len)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	return x;
}

static struct csr *fixture_csr(const char *fixture)
{
	unsigned char *der;
	size_t len = 0;
	struct csr *c = NULL;
	char err[256];

	if ((der = fixture_read(fixture, "request.csr.der", &len)) != NULL)
		c = csr_parse(der, len, err, sizeof(err));
	free(der);
	return c;
}

static int64_t t64(const ASN1_TIME *t)
{
	int64_t v = 0;

	return x509util_time_seconds(t, &v) == 0 ? v : 0;
}

/* A self-signed certificate over key with subject CN=cn. */
static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

int main(void)
{
	X509 *ca = pem_x509(NULL, "lab/ca.crt");
	X509 *sw = pem_x509("strongswan-renewalreq", "old.crt");
	X509 *sc = pem_x509("scepclient-renewalreq", "old.crt");
	X509 *cm = pem_x509("certmonger-resubmit", "old.crt");
	X509 *rk = pem_x509("certmonger-rekey", "old.crt");
	X509 *ss = pem_x509("sscep-aes128-sha256-oldcert-post", "old.crt");
	struct csr *sw_csr = fixture_csr("strongswan-renewalreq");
	struct csr *sc_csr = fixture_csr("scepclient-renewalreq");
	struct csr *cm_csr = fixture_csr("certmonger-resubmit");
	struct csr *rk_csr = fixture_csr("certmonger-rekey");
	struct csr *ss_csr = fixture_csr("sscep-aes128-sha256-oldcert-post");
	struct renewal *r = NULL, *empty = NULL;
	struct renewal_rules rules;
	EVP_PKEY *key = NULL;
	X509 *self = NULL, *cas[1];
	int64_t nb, na;

	oids_register();
	ok(ca && sw && sc && cm && rk && ss && sw_csr && sc_csr && cm_csr && rk_csr && ss_csr,
	    "fixtures read");
	if (!(ca && sw && sc && cm && rk && ss && sw_csr && sc_csr && cm_csr && rk_csr && ss_csr))
		return done_testing();
	cas[0] = ca;
	r = renewal_new(cas, 1);
	empty = renewal_new(cas, 0);
	ok(r != NULL && empty != NULL, "renewal_new");
	nb = t64(X509_get0_notBefore(sc));
	na = t64(X509_get0_notAfter(sc));
	memset(&rules, 0, sizeof(rules));
	rules.allow_key_reuse = 1;

	is_int(renewal_signed_by_us(r, sc), 1, "old.crt is signed by the lab CA");
	is_int(renewal_signed_by_us(empty, sc), 0, "not by a CA we do not have");
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	self = self_signed(key, "fixture-scepclient");
	is_int(renewal_signed_by_us(r, self), 0, "a self-signed signer is not a renewal");
	is_int(renewal_signed_by_us(r, ca), 0, "the CA itself is not a renewal signer");

	/* scepclient: same key, same subject, no SANs */
	is_int(renewal_check(r, sc, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "scepclient RenewalReq: accepted a day after issue (%s)", reason);
	is_int(renewal_check(empty, sc, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_NOT_OURS, "refused by a server of another CA");
	ok(strstr(reason, "not issued by this CA") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, self, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_SELF_SIGNED, "a self-signed signer is refused");
	ok(strstr(reason, "self-signed") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, ca, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_SELF_SIGNED, "the CA certificate as signer is refused");

	/* validity, grace and window */
	is_int(renewal_check(r, sc, sc_csr, &rules, nb - 10, reason, sizeof(reason)),
	    RENEWAL_NOT_YET_VALID, "not yet valid");
	ok(strstr(reason, "not valid yet") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, sc, sc_csr, &rules, na + 10, reason, sizeof(reason)),
	    RENEWAL_EXPIRED, "expired");
	ok(strstr(reason, "signer certificate expired") != NULL, "reason: %s", reason);
	rules.grace_days = 3;
	is_int(renewal_check(r, sc, sc_csr, &rules, na + 2 * 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "expired two days ago, within a 3-day grace period");
	is_int(renewal_check(r, sc, sc_csr, &rules, na + 3 * 86400 + 1, reason, sizeof(reason)),
	    RENEWAL_EXPIRED, "past the grace period");
	ok(strstr(reason, "grace") != NULL, "reason names the grace period: %s", reason);
	rules.grace_days = 0;
	rules.window_days = 30;
	is_int(renewal_check(r, sc, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_TOO_EARLY, "window of 30 days: too early");
	ok(strstr(reason, "window_days") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, sc, sc_csr, &rules, na - 10 * 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "inside the 30-day window");
	rules.window_days = 0;

	/* key reuse: certmonger resubmit keeps the key, rekey does not */
	rules.allow_key_reuse = 0;
	is_int(renewal_check(r, cm, cm_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_KEY_REUSED, "certmonger resubmit with the old key: refused when reuse is off");
	ok(strstr(reason, "allow_key_reuse") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, rk, rk_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "certmonger rekey with a new key: accepted (%s)", reason);
	rules.allow_key_reuse = 1;
	is_int(renewal_check(r, cm, cm_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "certmonger resubmit: accepted with reuse on (%s)", reason);

	/* subject and SAN match */
	is_int(renewal_check(r, sw, sw_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_SAN_CHANGED, "strongSwan: the request adds a SAN old.crt lacks");
	ok(strstr(reason, "subject alternative names differ") != NULL, "reason: %s", reason);
	is_int(renewal_check(r, ss, ss_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_SAN_CHANGED, "sscep -O: the same");
	is_int(renewal_check(r, cm, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_SUBJECT_CHANGED, "another subject is refused");
	ok(strstr(reason, "subject differs") != NULL, "reason: %s", reason);
	rules.allow_subject_change = 1;
	is_int(renewal_check(r, sw, sw_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "strongSwan accepted when the template allows a change");
	is_int(renewal_check(r, cm, sc_csr, &rules, nb + 86400, reason, sizeof(reason)),
	    RENEWAL_OK, "another subject accepted when the template allows a change");

	renewal_free(r);
	renewal_free(empty);
	X509_free(self);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(sw);
	X509_free(sc);
	X509_free(cm);
	X509_free(rk);
	X509_free(ss);
	csr_free(sw_csr);
	csr_free(sc_csr);
	csr_free(cm_csr);
	csr_free(rk_csr);
	csr_free(ss_csr);
	return done_testing();
}
