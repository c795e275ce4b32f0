/* SPDX-License-Identifier: ISC */
/*
 * query.h: the raw HTTP query string, read before libmicrohttpd's form
 * decoding (which turns '+' into a space). Pure functions of (bytes, length).
 */
#ifndef QUERY_H
#define QUERY_H

#include <stddef.h>

/*
 * Finds the first parameter called name in the raw query (no leading '?').
 * Returns 1 and points *val and *vlen at the still-escaped value inside query (an
 * empty value is found with *vlen == 0), or 0 when absent.
 */
int query_find(const char *query, size_t len, const char *name, const char **val, size_t *vlen);

/*
 * Percent-decodes a parameter value (keeping '+' as '+') into a malloc'd
 * NUL-terminated string. NULL on a malformed escape or an embedded NUL.
 */
char *query_unescape(const char *val, size_t len);

/*
 * Decodes a GET PKIOperation `message` value to DER in every form real clients
 * send (scep.md 1.2.1): percent escapes undone without turning '+' into space, a
 * space taken as '+', CR/LF/TAB dropped, the URL-safe alphabet ('-' '_')
 * mapped, missing '=' padding added, then strict base64. Returns the malloc'd
 * bytes and *outlen, or NULL with a plain-words reason in err.
 */
unsigned char *query_decode_message(const char *val, size_t len, size_t *outlen,
    char *err, size_t errlen);

#endif
