/* SPDX-License-Identifier: ISC */
/*
 * krbauth.h: Kerberos sign-in for the challenge pages through MIT GSS-API.
 * One acceptor credential from the service keytab (admin.keytab) with its
 * own replay cache; a token (SPNEGO NegTokenInit/NegTokenResp, or a raw
 * Kerberos InitialContextToken) is handed whole to gss_accept_sec_context,
 * which does the cryptography: ticket and authenticator, replay cache, clock
 * skew, and in SPNEGO the mechListMIC (RFC 4178 5). SPNEGO may only select
 * Kerberos here (gss_set_neg_mechs); NTLM is admin.c's own path.
 */
#ifndef KRBAUTH_H
#define KRBAUTH_H

#include <stddef.h>

#define KRBAUTH_MAX_PRINCIPAL 256

struct krbauth;
struct krbauth_ctx;

enum krbauth_rc {
	KRBAUTH_DONE = 0,     /* authenticated: principal set, *out the final token (may be empty) */
	KRBAUTH_CONTINUE = 1, /* send *out, keep *ctx for the next token on this connection */
	KRBAUTH_FAIL = -1,    /* refused: reason in err; *ctx freed */
};

/*
 * Acquires the acceptor credential from keytab (any principal in it), with the
 * replay cache file rcache. NULL with a reason in err.
 */
struct krbauth *krbauth_new(const char *keytab, const char *rcache, char *err, size_t errlen);
void krbauth_free(struct krbauth *k);

/*
 * Steps one security context with the client token tok. *ctx is NULL for a
 * new exchange and is kept between KRBAUTH_CONTINUE steps; it is freed (and
 * set to NULL) on DONE and FAIL. *out (malloc'd, may be NULL with *out_len 0)
 * is the token to send back in WWW-Authenticate.
 */
enum krbauth_rc krbauth_accept(struct krbauth *k, struct krbauth_ctx **ctx,
    const unsigned char *tok, size_t len, unsigned char **out, size_t *out_len,
    char principal[KRBAUTH_MAX_PRINCIPAL], char *err, size_t errlen);

/* Frees a context kept between steps; safe on NULL. */
void krbauth_ctx_free(struct krbauth_ctx *c);

/* The realm of principal ("alice@EXAMPLE.ORG" -> "EXAMPLE.ORG"), or NULL. */
const char *krbauth_realm(const char *principal);

#endif
