/* SPDX-License-Identifier: ISC */
/*
 * base64.h: the standard base64 alphabet (RFC 4648 §4), strict. Used by the
 * Authorization header parser and, through base64_value() and
 * base64_decode_bits(), by the lenient decoder of GET PKIOperation messages
 * in query.c. Pure functions.
 */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>

/* The 6-bit value of c in the standard alphabet, or -1. */
int base64_value(int c);

/*
 * The decoding both decoders share: n characters of the alphabet (no '=', n %
 * 4 != 1) into out (room for n / 4 * 3 + 2 bytes). Returns the number of
 * bytes, or -1 for a character outside the alphabet; *spare gets the 2 or 4
 * bits a short last group leaves over (0 for a whole group), for the caller
 * to check or not.
 */
long base64_decode_bits(const char *in, size_t n, unsigned char *out, unsigned *spare);

/* Encodes with '=' padding; malloc'd and NUL-terminated, NULL when out of memory. */
char *base64_encode(const unsigned char *in, size_t len);

/*
 * Decodes strictly: a length that is a multiple of 4, padding only at the end,
 * zero padding bits (one encoding per value). malloc'd (NUL-terminated beyond
 * *outlen) or NULL.
 */
unsigned char *base64_decode(const char *in, size_t len, size_t *outlen);

#endif
