/* SPDX-License-Identifier: ISC */
/*
 * query.c: the raw HTTP query string. Finds a parameter, undoes percent
 * escapes without form decoding ('+' stays '+'), and decodes the GET
 * PKIOperation `message` in every form real clients send (scep.md 1.2.1):
 * RFC escaping, sscep's %0A line breaks, jscep's raw "+ / =", iOS's '+' turned
 * into a space, the URL-safe alphabet and missing padding.
 *
 * Pure functions of (bytes, length): no globals, no OpenSSL, plain malloc.
 * They must not learn anything about the rest of the request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "query.h"
#include "util.h"

int query_find(const char *query, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t nlen, i = 0;

	if (query == NULL || name == NULL)
		return 0;
	nlen = strlen(name);
	while (i < len) {
		size_t start = i, end, klen;
		const char *eq;

		while (i < len && query[i] != '&')
			i++;
		end = i;
		i++;	/* past the '&' (or the end) */
		eq = memchr(query + start, '=', end - start);
		klen = eq != NULL ? (size_t)(eq - (query + start)) : end - start;
		if (klen != nlen || memcmp(query + start, name, nlen) != 0)
			continue;
		if (eq != NULL) {
			*val = eq + 1;
			*vlen = end - start - klen - 1;
		} else {
			*val = query + end;
			*vlen = 0;
		}
		return 1;
	}
	return 0;
}

/*
 * Undoes %XX escapes of val into out (at least len + 1 bytes). Returns the
 * decoded length, or -1 on a malformed escape or a NUL (literal or escaped).
 */
static long percent_decode(const char *val, size_t len, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)val[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = hex_value((unsigned char)val[i + 1]);
			lo = hex_value((unsigned char)val[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (c == '\0')
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

char *query_unescape(const char *val, size_t len)
{
	char *out = NULL, *result = NULL;

	if (val == NULL || len == (size_t)-1)
		goto out;
	if ((out = malloc(len + 1)) == NULL)
		goto out;
	if (percent_decode(val, len, out) < 0)
		goto out;
	result = out;
	out = NULL;
out:
	free(out);
	return result;
}

unsigned char *query_decode_message(const char *val, size_t len, size_t *outlen,
    char *err, size_t errlen)
{
	char *text = NULL;
	unsigned char *bin = NULL, *result = NULL;
	size_t i, n = 0, pad = 0;
	unsigned spare;
	long dlen, o;

	if (outlen != NULL)
		*outlen = 0;
	if (val == NULL || len == 0 || outlen == NULL) {
		errorf(err, errlen, "message: empty (RFC 8894 §4.1 needs the base64 pkiMessage)");
		goto out;
	}
	if (len == (size_t)-1 || (text = malloc(len + 1)) == NULL) {
		errorf(err, errlen, "message: out of memory");
		goto out;
	}
	if ((dlen = percent_decode(val, len, text)) < 0) {
		errorf(err, errlen, "message: malformed percent escape or NUL (RFC 3986 §2.1)");
		goto out;
	}
	/*
	 * Normalise in place: a space is a '+' that was form-decoded; line
	 * breaks and tabs are dropped; the URL-safe alphabet is mapped back;
	 * '=' is padding, allowed only at the end.
	 */
	for (i = 0; i < (size_t)dlen; i++) {
		int c = (unsigned char)text[i];

		if (c == '\r' || c == '\n' || c == '\t')
			continue;
		if (c == ' ')
			c = '+';
		else if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0) {
			errorf(err, errlen, "message: base64 data after '=' padding (RFC 4648 §4)");
			goto out;
		}
		if (base64_value(c) < 0) {
			errorf(err, errlen, "message: character 0x%02x is not base64 (RFC 4648 §4)",
			    (unsigned)c);
			goto out;
		}
		text[n++] = (char)c;
	}
	if (n == 0) {
		errorf(err, errlen, "message: no base64 data (RFC 8894 §4.1)");
		goto out;
	}
	/* Padding may be missing or short, never too long. */
	if (n % 4 == 1 || pad > (4 - n % 4) % 4) {
		errorf(err, errlen, "message: base64 length %zu with %zu '=' is impossible (RFC 4648 §4)",
		    n, pad);
		goto out;
	}
	if ((bin = malloc(n / 4 * 3 + 3)) == NULL) {
		errorf(err, errlen, "message: out of memory");
		goto out;
	}
	/* Every character is in the alphabet by now; the spare bits are not checked. */
	if ((o = base64_decode_bits(text, n, bin, &spare)) < 0) {
		errorf(err, errlen, "message: not base64 (RFC 4648 §4)");
		goto out;
	}
	*outlen = (size_t)o;
	result = bin;
	bin = NULL;
out:
	free(text);
	free(bin);
	return result;
}
