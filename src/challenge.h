/* SPDX-License-Identifier: ISC */
/*
 * challenge.h: the challenge modes with NDES semantics (ndes.md 1.4, 2.1): no
 * password (EnforcePassword = 0), a static password (UseSinglePassword = 1) or
 * one-time passwords kept in the store (PasswordLength bytes, upper-case hex,
 * PasswordMax cached, PasswordValidity minutes). Consuming a one-time password
 * is not done here: store_enroll_commit() does it with the request record.
 */
#ifndef CHALLENGE_H
#define CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct store;

enum challenge_result {
	CHALLENGE_OK = 0,          /* accepted; see *consume */
	CHALLENGE_MISSING = 1,     /* none in the request, one is required */
	CHALLENGE_WRONG = 2,       /* does not match the static password / unknown one-time password */
	CHALLENGE_USED = 3,
	CHALLENGE_EXPIRED = 4,
	CHALLENGE_ERROR = -1,      /* the store failed */
};

/*
 * Checks the password presented in a CSR (NULL when absent). On CHALLENGE_OK,
 * *consume is 1 when it is a one-time password that the enrollment must consume.
 */
enum challenge_result challenge_check(const struct config *cfg, struct store *st,
    const char *presented, int64_t now, int *consume);

/* The mode of one SCEP endpoint (the challenge group, or a profile's settings). */
struct challenge_mode {
	int enforce_password;
	int use_single_password;
	const char *single_password;
};

/* challenge_check() for an explicit mode; one-time passwords are shared by all modes. */
enum challenge_result challenge_check_mode(const struct challenge_mode *m, struct store *st,
    const char *presented, int64_t now, int *consume);

/* Plain words for a result, for logs and failInfoText. */
const char *challenge_result_text(enum challenge_result r);

/*
 * Creates a one-time password (cfg->password_length random bytes as upper-case
 * hex) in out (at least 2 * 32 + 1 bytes). Returns STORE_OK, STORE_CACHE_FULL or
 * STORE_ERROR (enum store_rc values).
 */
int challenge_new(const struct config *cfg, struct store *st, int64_t now,
    char *out, size_t outlen);

#endif
