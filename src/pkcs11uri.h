/* SPDX-License-Identifier: ISC */
/*
 * pkcs11uri.h: the PKCS#11 URI parser (RFC 7512): a key setting's text
 * "pkcs11:token=scepd;object=ca-key?module-path=...&pin-source=..." into a
 * struct of decoded attributes. Pure: bytes and a length in, an owned struct
 * or NULL with a reason out; it opens no module and reads no PIN file.
 */
#ifndef PKCS11URI_H
#define PKCS11URI_H

#include <stddef.h>

#define PKCS11URI_MAX 4096          /* the longest URI accepted, in bytes */

/* The "type" path attribute. */
enum pkcs11uri_type {
	PKCS11URI_TYPE_ANY = 0,     /* not given */
	PKCS11URI_TYPE_PRIVATE,
	PKCS11URI_TYPE_PUBLIC,
	PKCS11URI_TYPE_CERT,
	PKCS11URI_TYPE_SECRET_KEY,
	PKCS11URI_TYPE_DATA,
};

/*
 * Every attribute of RFC 7512 section 2.3, percent-decoded; NULL (or has_*
 * unset) when absent. Text values hold no NUL byte; id is binary.
 */
struct pkcs11uri {
	/* path: which token */
	char *token, *manufacturer, *serial, *model;
	char *library_manufacturer, *library_description;
	int has_library_version;
	unsigned library_version_major, library_version_minor;
	char *slot_manufacturer, *slot_description;
	int has_slot_id;
	unsigned long slot_id;
	/* path: which object */
	char *object;
	enum pkcs11uri_type type;
	unsigned char *id;
	size_t id_len;
	int has_id;
	/* query: how to reach it */
	char *pin_source, *pin_value, *module_name, *module_path;
};

/* 1 when s starts with the scheme "pkcs11:" (any case), so it is a URI, not a file. */
int pkcs11uri_is_uri(const char *s);

/*
 * Parses len bytes as a PKCS#11 URI: the scheme, path attributes separated by
 * ';', then after '?' query attributes separated by '&', each at most once,
 * with only the characters RFC 7512 allows unencoded and well-formed
 * %XX escapes. Unknown and vendor ("x-") attributes are refused, since scepd
 * could not honour them. NULL with the reason in err.
 */
struct pkcs11uri *pkcs11uri_parse(const unsigned char *buf, size_t len, char *err,
    size_t errlen);

/* Frees u, wiping the PIN. NULL is fine. */
void pkcs11uri_free(struct pkcs11uri *u);

/*
 * A copy of s fit for logs and `scepd -T`: for a URI, the value of pin-value
 * replaced by "***"; anything else copied as is. Caller frees.
 */
char *pkcs11uri_redact(const char *s);

/*
 * uri with the query attribute name=value added (value percent-encoded where
 * RFC 7512 requires it), after '?' or '&' as the URI needs. Caller frees.
 */
char *pkcs11uri_with_query(const char *uri, const char *name, const char *value);

#endif
