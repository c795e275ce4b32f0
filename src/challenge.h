/* SPDX-License-Identifier: ISC */
/*
 * challenge.h: the challenge modes with NDES semantics (ndes.md 1.4, 2.1): no
 * password (EnforcePassword = 0), a static password (UseSinglePassword = 1) or
 * one-time passwords kept in the store (PasswordLength bytes, upper-case hex,
 * PasswordMax cached, PasswordValidity minutes), each bound to the profile it
 * was made for. Checking a one-time password reserves it for the request
 * (store_challenge_reserve): no other request can use it while a CA is asked.
 * The request then consumes it with its record (store_enroll_commit(),
 * store_request_pending()) or gives it back with challenge_release() when
 * nothing can have been issued for it.
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
	CHALLENGE_OTHER_PROFILE = 5, /* a one-time password made for another profile */
	CHALLENGE_ERROR = -1,      /* the store failed */
};

/* The profile of the NDES paths, their admin page and `scepctl challenge new`. */
#define CHALLENGE_DEFAULT_PROFILE "default"

/*
 * Checks the password presented in a CSR (NULL when absent) for the default
 * profile. On CHALLENGE_OK, *reserved is 1 when it is a one-time password now
 * reserved for this request: the caller consumes it with the request's record
 * or releases it (challenge_release).
 */
enum challenge_result challenge_check(const struct config *cfg, struct store *st,
    const char *presented, int64_t now, int *reserved);

/* The mode of one SCEP endpoint (the challenge group, or a profile's settings). */
struct challenge_mode {
	int enforce_password;
	int use_single_password;
	const char *single_password;
};

/*
 * challenge_check() for an explicit mode, on the endpoint of profile (its name;
 * a one-time password made for another profile is CHALLENGE_OTHER_PROFILE).
 */
enum challenge_result challenge_check_mode(const struct challenge_mode *m, struct store *st,
    const char *presented, const char *profile, int64_t now, int *reserved);

/*
 * Gives back a one-time password challenge_check*() reserved, when nothing
 * was issued for it; the device may use it again. 0, or -1 (store_errmsg()).
 */
int challenge_release(struct store *st, const char *presented);

/* Plain words for a result, for logs and failInfoText. */
const char *challenge_result_text(enum challenge_result r);

/*
 * Creates a one-time password for profile (cfg->password_length random bytes
 * as upper-case hex) in out (at least 2 * 32 + 1 bytes). Returns STORE_OK,
 * STORE_CACHE_FULL (PasswordMax unused ones of that profile) or STORE_ERROR
 * (enum store_rc values).
 */
int challenge_new(const struct config *cfg, struct store *st, const char *profile, int64_t now,
    char *out, size_t outlen);

/*
 * The DER of a PKCS#10 request without its challengePassword attribute, for
 * keeping it (*out, OPENSSL_free()). Its self-signature no longer verifies:
 * keep only requests checked on arrival. 0, or -1 (not a request).
 */
int challenge_redact_csr(const unsigned char *der, size_t len, unsigned char **out,
    size_t *outlen);

struct store_pending;

/*
 * Removes the challengePassword from the CSR of every waiting request that
 * still holds one (rows kept before schema 6), unless keep_original(row, arg)
 * says the device's request must still be sent byte for byte to a CA backend.
 * Returns how many were changed, or -1 (store_errmsg()).
 */
int challenge_redact_waiting(struct store *st,
    int (*keep_original)(const struct store_pending *, void *), void *arg);

#endif
