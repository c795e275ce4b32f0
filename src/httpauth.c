/* SPDX-License-Identifier: ISC */
/*
 * httpauth.c: parses the Authorization header of mscep_admin requests into a
 * scheme and its decoded credentials, and holds the base64 coder they use.
 * Pure functions of their input; plain malloc; secrets wiped when cleared.
 * It decides nothing about who may sign in (admin.c does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "httpauth.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *httpauth_unbase64(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = NULL, *result = NULL;
	size_t i, o = 0, pad = 0;
	int v[4], k;

	*outlen = 0;
	if (len == 0 || len % 4 != 0)
		goto out;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	if ((out = malloc(len / 4 * 3 + 1)) == NULL)
		goto out;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = b64_value(in[i + k])) < 0)
				goto out;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	/* Padding bits must be zero (one encoding per value). */
	if ((pad == 1 && (v[2] & 0x3) != 0) || (pad == 2 && (v[1] & 0xf) != 0))
		goto out;
	o -= pad;
	out[o] = '\0';
	*outlen = o;
	result = out;
	out = NULL;
out:
	if (out != NULL)
		OPENSSL_clear_free(out, len / 4 * 3 + 1);
	return result;
}

char *httpauth_base64(const unsigned char *in, size_t len)
{
	char *out;
	size_t i, o = 0;
	unsigned v;

	if (len > ((size_t)-1) / 2 || (out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

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
		set_err(err, errlen, "the Authorization header is empty");
		goto out;
	}
	if (len > HTTPAUTH_MAX_HEADER) {
		set_err(err, errlen, "the Authorization header is too long");
		goto out;
	}
	if (memchr(value, '\0', len) != NULL) {
		set_err(err, errlen, "the Authorization header holds a NUL byte");
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
		set_err(err, errlen, "the Authorization scheme is not Basic, NTLM or Negotiate");
		goto out;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end) {
		set_err(err, errlen, "the Authorization header has no credentials after the scheme");
		goto out;
	}
	if ((dec = httpauth_unbase64(p, (size_t)(end - p), &dec_len)) == NULL || dec_len == 0) {
		set_err(err, errlen, "the Authorization credentials are not valid base64");
		goto out;
	}
	if (a.scheme == HTTPAUTH_BASIC) {
		if (memchr(dec, '\0', dec_len) != NULL ||
		    (colon = memchr(dec, ':', dec_len)) == NULL) {
			set_err(err, errlen, "the Basic credentials are not \"user:password\"");
			goto out;
		}
		n = (size_t)(colon - (const char *)dec);
		if ((a.user = malloc(n + 1)) == NULL || (a.password = strdup(colon + 1)) == NULL) {
			set_err(err, errlen, "out of memory");
			goto out;
		}
		memcpy(a.user, dec, n);
		a.user[n] = '\0';
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
