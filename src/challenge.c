/* SPDX-License-Identifier: ISC */
/*
 * challenge.c: the challenge-password modes with NDES semantics (ndes.md 1.4,
 * 2.1): none required (EnforcePassword = 0), one static password
 * (UseSinglePassword = 1, compared in constant time) or one-time passwords
 * (PasswordLength random bytes as upper-case hex, at most PasswordMax unused
 * ones cached, each valid PasswordValidity minutes) kept in the store as hashes.
 * It only checks and creates passwords; store_enroll_commit() consumes a
 * one-time password together with the request record.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "challenge.h"
#include "config.h"
#include "store.h"
#include "util.h"

#define CHALLENGE_MAX_BYTES 32

enum challenge_result challenge_check(const struct config *cfg, struct store *st,
    const char *presented, int64_t now, int *consume)
{
	struct challenge_mode m = {
		.enforce_password = cfg->enforce_password,
		.use_single_password = cfg->use_single_password,
		.single_password = cfg->single_password,
	};

	return challenge_check_mode(&m, st, presented, now, consume);
}

enum challenge_result challenge_check_mode(const struct challenge_mode *cfg, struct store *st,
    const char *presented, int64_t now, int *consume)
{
	enum challenge_result result = CHALLENGE_ERROR;

	*consume = 0;
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
	switch (store_challenge_check(st, presented, now)) {
	case STORE_OK:
		*consume = 1;
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
	case CHALLENGE_ERROR:
		return "the challenge password could not be checked (store failure)";
	}
	return "unknown challenge result";
}

int challenge_new(const struct config *cfg, struct store *st, int64_t now,
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
	result = store_challenge_add(st, out, now, now + (int64_t)cfg->password_validity * 60,
	    cfg->password_max);
	if (result != STORE_OK)
		OPENSSL_cleanse(out, outlen);   /* not recorded: never hand it out */
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return result;
}
