/* SPDX-License-Identifier: ISC */
/*
 * httpauth.h: the HTTP Authorization header (RFC 9110 11.6.2) for the
 * mscep_admin sign-in: scheme Basic (RFC 7617), NTLM or Negotiate (RFC 4559)
 * with one base64 token. A pure parser of (bytes, length): strict base64, a
 * size ceiling, no globals; the result owns copies and wipes them when cleared.
 */
#ifndef HTTPAUTH_H
#define HTTPAUTH_H

#include <stddef.h>

#define HTTPAUTH_MAX_HEADER 16384   /* longest Authorization value accepted */

enum httpauth_scheme {
	HTTPAUTH_NONE = 0,
	HTTPAUTH_BASIC,
	HTTPAUTH_NTLM,
	HTTPAUTH_NEGOTIATE,
};

struct httpauth {
	enum httpauth_scheme scheme;
	unsigned char *token;      /* NTLM / Negotiate: the decoded token */
	size_t token_len;
	char *user;                /* Basic: before the first ':' (UTF-8 as sent) */
	char *password;            /* Basic: after it */
};

/*
 * Parses an Authorization value. 0 with *out filled; -1 with a reason in err
 * for an unknown scheme, bad base64, a missing token or one too large.
 */
int httpauth_parse(const char *value, size_t len, struct httpauth *out, char *err,
    size_t errlen);

/* Frees and wipes what httpauth_parse() stored; safe on a zeroed struct. */
void httpauth_clear(struct httpauth *a);



#endif
