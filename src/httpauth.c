/* SPDX-License-Identifier: ISC */
/*
 * httpauth.c: parses the Authorization header of mscep_admin requests into a
 * scheme and its decoded credentials, (base64 through base64.h).
 * Pure functions of their input; plain malloc; secrets wiped when cleared.
 * It decides nothing about who may sign in (admin.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "httpauth.h"
#include "util.h"

void httpauth_clear(struct httpauth *a)
{
	if (a == NULL)
		return;
	if (a->token != NULL)
		OPENSSL_clear_free(a->token, a->token_len + 1);
	if (a->user != NULL)
		OPENSSL_clear_free(a->user, strlen(a->user) + 1);
	if (a->password != NULL)
		OPENSSL_clear_free(a->password, strlen(a->password) + 1);
	memset(a, 0, sizeof(*a));
}

int httpauth_parse(const char *value, size_t len, struct httpauth *out, char *err,
    size_t errlen)
{
	struct httpauth a;
	unsigned char *dec = NULL;
	const char *p = value, *end = value + len, *tok, *colon;
	size_t n, dec_len = 0;
	int result = -1;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	if (value == NULL || len == 0) {
		errorf(err, errlen, "the Authorization header is empty");
		goto out;
	}
	if (len > HTTPAUTH_MAX_HEADER) {
		errorf(err, errlen, "the Authorization header is too long");
		goto out;
	}
	if (memchr(value, '\0', len) != NULL) {
		errorf(err, errlen, "the Authorization header holds a NUL byte");
		goto out;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (tok = p; p < end && *p != ' ' && *p != '\t'; p++)
		;
	n = (size_t)(p - tok);
	if (n == 5 && strncasecmp(tok, "Basic", 5) == 0)
		a.scheme = HTTPAUTH_BASIC;
	else if (n == 4 && strncasecmp(tok, "NTLM", 4) == 0)
		a.scheme = HTTPAUTH_NTLM;
	else if (n == 9 && strncasecmp(tok, "Negotiate", 9) == 0)
		a.scheme = HTTPAUTH_NEGOTIATE;
	else {
		errorf(err, errlen, "the Authorization scheme is not Basic, NTLM or Negotiate");
		goto out;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end) {
		errorf(err, errlen, "the Authorization header has no credentials after the scheme");
		goto out;
	}
	if ((dec = base64_decode(p, (size_t)(end - p), &dec_len)) == NULL || dec_len == 0) {
		errorf(err, errlen, "the Authorization credentials are not valid base64");
		goto out;
	}
	if (a.scheme == HTTPAUTH_BASIC) {
		if (memchr(dec, '\0', dec_len) != NULL ||
		    (colon = memchr(dec, ':', dec_len)) == NULL) {
			errorf(err, errlen, "the Basic credentials are not \"user:password\"");
			goto out;
		}
		n = (size_t)(colon - (const char *)dec);
		if ((a.user = strndup((const char *)dec, n)) == NULL ||
		    (a.password = strdup(colon + 1)) == NULL) {
			errorf(err, errlen, "out of memory");
			goto out;
		}
	} else {
		a.token = dec;
		a.token_len = dec_len;
		dec = NULL;
	}
	*out = a;
	memset(&a, 0, sizeof(a));
	result = 0;
out:
	if (dec != NULL)
		OPENSSL_clear_free(dec, dec_len + 1);
	httpauth_clear(&a);
	return result;
}
