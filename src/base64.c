/* SPDX-License-Identifier: ISC */
/* base64.c: standard base64 (RFC 4648 §4), strict; see base64.h. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int base64_value(int c)
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

long base64_decode_bits(const char *in, size_t n, unsigned char *out, unsigned *spare)
{
	unsigned acc = 0;
	long o = 0;
	size_t i;
	int bits = 0, v;

	*spare = 0;
	for (i = 0; i < n; i++) {
		if ((v = base64_value((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*spare = acc & ((1u << bits) - 1);
	return o;
}

unsigned char *base64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = NULL, *result = NULL;
	size_t pad = 0;
	unsigned spare;
	long o;

	*outlen = 0;
	if (len == 0 || len % 4 != 0)
		goto out;
	/* '=' only as the last one or two characters. */
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if ((out = malloc(len / 4 * 3 + 1)) == NULL)
		goto out;
	/* Padding bits must be zero (one encoding per value). */
	if ((o = base64_decode_bits(in, len - pad, out, &spare)) < 0 || spare != 0)
		goto out;
	out[o] = '\0';
	*outlen = (size_t)o;
	result = out;
	out = NULL;
out:
	if (out != NULL)
		OPENSSL_clear_free(out, len / 4 * 3 + 1);
	return result;
}

char *base64_encode(const unsigned char *in, size_t len)
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
