/* SPDX-License-Identifier: ISC */
/*
 * challenge.c: the challenge-password modes with NDES semantics (ndes.md 1.4,
 * 2.1): none required (EnforcePassword = 0), one static password
 * (UseSinglePassword = 1, compared in constant time) or one-time passwords
 * (PasswordLength random bytes as upper-case hex, at most PasswordMax unused
 * ones cached, each valid PasswordValidity minutes) kept in the store as hashes,
 * each bound to one profile. Checking a one-time password reserves it in the
 * store; store_enroll_commit() consumes it together with the request record,
 * challenge_release() gives it back. It also removes the challenge from a
 * request that is kept (challenge_redact_csr), so no password is stored.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "challenge.h"
#include "config.h"
#include "store.h"
#include "util.h"

#define CHALLENGE_MAX_BYTES 32

enum challenge_result challenge_check(const struct config *cfg, struct store *st,
    const char *presented, int64_t now, int *reserved)
{
	struct challenge_mode m = {
		.enforce_password = cfg->enforce_password,
		.use_single_password = cfg->use_single_password,
		.single_password = cfg->single_password,
	};

	return challenge_check_mode(&m, st, presented, CHALLENGE_DEFAULT_PROFILE, now, reserved);
}

enum challenge_result challenge_check_mode(const struct challenge_mode *cfg, struct store *st,
    const char *presented, const char *profile, int64_t now, int *reserved)
{
	enum challenge_result result = CHALLENGE_ERROR;

	*reserved = 0;
	if (!cfg->enforce_password) {
		result = CHALLENGE_OK;
		goto out;
	}
	if (presented == NULL || presented[0] == '\0') {
		result = CHALLENGE_MISSING;
		goto out;
	}
	if (cfg->use_single_password) {
		/* An empty static password never matches (config should refuse it). */
		if (cfg->single_password != NULL && cfg->single_password[0] != '\0' &&
		    secret_equal(presented, cfg->single_password))
			result = CHALLENGE_OK;
		else
			result = CHALLENGE_WRONG;
		goto out;
	}
	if (st == NULL)
		goto out;
	switch (store_challenge_reserve(st, presented,
	    profile != NULL ? profile : CHALLENGE_DEFAULT_PROFILE, now)) {
	case STORE_OK:
		*reserved = 1;
		result = CHALLENGE_OK;
		break;
	case STORE_CHALLENGE_UNKNOWN:
		result = CHALLENGE_WRONG;
		break;
	case STORE_CHALLENGE_USED:
		result = CHALLENGE_USED;
		break;
	case STORE_CHALLENGE_EXPIRED:
		result = CHALLENGE_EXPIRED;
		break;
	case STORE_CHALLENGE_OTHER_PROFILE:
		result = CHALLENGE_OTHER_PROFILE;
		break;
	default:
		result = CHALLENGE_ERROR;
		break;
	}
out:
	return result;
}

const char *challenge_result_text(enum challenge_result r)
{
	switch (r) {
	case CHALLENGE_OK:
		return "the challenge password was accepted";
	case CHALLENGE_MISSING:
		return "the request carries no challenge password";
	case CHALLENGE_WRONG:
		return "the challenge password is wrong";
	case CHALLENGE_USED:
		return "the one-time challenge password was already used";
	case CHALLENGE_EXPIRED:
		return "the one-time challenge password expired";
	case CHALLENGE_OTHER_PROFILE:
		return "the one-time challenge password was made for another profile";
	case CHALLENGE_ERROR:
		return "the challenge password could not be checked (store failure)";
	}
	return "unknown challenge result";
}

int challenge_release(struct store *st, const char *presented)
{
	if (st == NULL || presented == NULL)
		return -1;
	return store_challenge_release(st, presented) == STORE_ERROR ? -1 : 0;
}

int challenge_new(const struct config *cfg, struct store *st, const char *profile, int64_t now,
    char *out, size_t outlen)
{
	unsigned char buf[CHALLENGE_MAX_BYTES];
	size_t len = cfg->password_length;
	int result = STORE_ERROR;

	if (outlen > 0)
		out[0] = '\0';
	if (len == 0 || len > CHALLENGE_MAX_BYTES || outlen < 2 * len + 1)
		goto out;
	if (RAND_bytes(buf, (int)len) != 1)
		goto out;
	hex_encode(buf, len, out, 1);
	result = store_challenge_add(st, out, profile != NULL ? profile : CHALLENGE_DEFAULT_PROFILE,
	    now, now + (int64_t)cfg->password_validity * 60, cfg->password_max);
	if (result != STORE_OK)
		OPENSSL_cleanse(out, outlen);   /* not recorded: never hand it out */
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return result;
}

/* Overwrites the string values of an attribute (a password) before it is freed. */
static void attribute_wipe(X509_ATTRIBUTE *attr)
{
	ASN1_TYPE *t;
	int i;

	for (i = 0; i < X509_ATTRIBUTE_count(attr); i++) {
		if ((t = X509_ATTRIBUTE_get0_type(attr, i)) == NULL || t->type == V_ASN1_NULL ||
		    t->type == V_ASN1_BOOLEAN || t->type == V_ASN1_OBJECT ||
		    t->value.asn1_string == NULL)
			continue;
		OPENSSL_cleanse((void *)ASN1_STRING_get0_data(t->value.asn1_string),
		    (size_t)ASN1_STRING_length(t->value.asn1_string));
	}
}

int challenge_redact_csr(const unsigned char *der, size_t len, unsigned char **out,
    size_t *outlen)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	X509_ATTRIBUTE *attr;
	unsigned char *enc = NULL;
	int loc, n, result = -1;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len > LONG_MAX ||
	    (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len)
		goto out;
	/* Every copy of the attribute goes (a second one is refused on arrival anyway). */
	while ((loc = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1)) >= 0) {
		if ((attr = X509_REQ_delete_attr(req, loc)) == NULL)
			goto out;
		attribute_wipe(attr);
		X509_ATTRIBUTE_free(attr);
	}
	if ((n = i2d_X509_REQ(req, &enc)) <= 0)
		goto out;
	*out = enc;
	*outlen = (size_t)n;
	enc = NULL;
	result = 0;
out:
	OPENSSL_free(enc);
	X509_REQ_free(req);
	return result;
}

/* A CSR that will have its challenge removed (challenge_redact_waiting). */
struct redaction {
	int64_t id;
	unsigned char *csr;
	size_t csr_len;
};

struct redactions {
	int (*keep_original)(const struct store_pending *, void *);
	void *arg;
	struct redaction *r;
	size_t n, cap;
};

/* 1 when a PKCS#10 (DER) carries a challengePassword attribute. */
static int has_challenge(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509_REQ *req;
	int found;

	if (len == 0 || len > LONG_MAX || (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL)
		return 0;
	found = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1) >= 0;
	X509_REQ_free(req);
	return found;
}

static int collect_redaction(const struct store_pending *p, void *arg)
{
	struct redactions *rs = arg;
	struct redaction r;

	if (!has_challenge(p->csr, p->csr_len) || rs->keep_original(p, rs->arg))
		return 0;
	r.id = p->id;
	if (challenge_redact_csr(p->csr, p->csr_len, &r.csr, &r.csr_len) != 0)
		return 0;   /* unreadable: left as it is, and refused when it is issued */
	if (rs->n == rs->cap) {
		rs->cap = rs->cap == 0 ? 16 : 2 * rs->cap;
		rs->r = xrealloc(rs->r, rs->cap * sizeof(*rs->r));
	}
	rs->r[rs->n++] = r;
	return 0;
}

int challenge_redact_waiting(struct store *st,
    int (*keep_original)(const struct store_pending *, void *), void *arg)
{
	struct redactions rs = { .keep_original = keep_original, .arg = arg };
	size_t i;
	int result = -1, n = 0;

	if (store_pending_foreach(st, 1, collect_redaction, &rs) != 0)
		goto out;
	for (i = 0; i < rs.n; i++) {
		switch (store_pending_set_csr(st, rs.r[i].id, rs.r[i].csr, rs.r[i].csr_len)) {
		case STORE_OK:
			n++;
			break;
		case STORE_NOT_FOUND:
			break;   /* issued or refused meanwhile */
		default:
			goto out;
		}
	}
	result = n;
out:
	for (i = 0; i < rs.n; i++)
		OPENSSL_free(rs.r[i].csr);
	free(rs.r);
	return result;
}
