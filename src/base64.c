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

unsigned char *base64_decode(const char *in, size_t len, size_t *outlen)
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
			else if ((v[k] = base64_value(in[i + k])) < 0)
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
