/* SPDX-License-Identifier: ISC */
/*
 * pkcs11uri.c: parses PKCS#11 URIs (RFC 7512) into struct pkcs11uri. It owns
 * the grammar only: which characters may appear unencoded in the path and the
 * query, percent-decoding, the attribute names and their value syntax, and the
 * rule that an attribute appears at most once. It must not open a module, read
 * a PIN file or log: src/pkcs11.c does that with the struct this returns.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "pkcs11uri.h"
#include "util.h"

#define SCHEME "pkcs11:"
#define SCHEME_LEN (sizeof(SCHEME) - 1)

/* RFC 3986 unreserved, and RFC 7512's pk11-res-avail. */
static int is_unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_res_avail(int c)
{
	return c != '\0' && strchr(":[]@!$'()*+,=", c) != NULL;
}

/* pk11-pchar (path: '&' allowed) and pk11-qchar (query: '/', '?', '|' allowed). */
static int is_pchar(int c)
{
	return is_unreserved(c) || is_res_avail(c) || c == '&';
}

static int is_qchar(int c)
{
	return is_unreserved(c) || is_res_avail(c) || c == '/' || c == '?' || c == '|';
}

int pkcs11uri_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, SCHEME, SCHEME_LEN) == 0;
}

/*
 * Percent-decodes v[0..n) into a new buffer (NUL-terminated beyond *outlen),
 * checking every unencoded character with allowed(). NULL on a bad character or
 * escape, with the reason in err.
 */
static unsigned char *decode(const char *name, const char *v, size_t n, int (*allowed)(int),
    size_t *outlen, char *err, size_t errlen)
{
	unsigned char *out = xmalloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (v[i] == '%') {
			if (n - i < 3 || (hi = hex_value((unsigned char)v[i + 1])) < 0 ||
			    (lo = hex_value((unsigned char)v[i + 2])) < 0) {
				errorf(err, errlen, "PKCS#11 URI: %s: '%%' not followed by two hex "
				    "digits (RFC 7512 section 2.3, RFC 3986 section 2.1)", name);
				goto bad;
			}
			out[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (allowed((unsigned char)v[i])) {
			out[o++] = (unsigned char)v[i];
		} else {
			errorf(err, errlen, "PKCS#11 URI: %s: character 0x%02x must be "
			    "percent-encoded (RFC 7512 section 2.3)", name, (unsigned char)v[i]);
			goto bad;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	OPENSSL_clear_free(out, n + 1);
	return NULL;
}

/* A text value: no NUL inside. */
static int set_text(char **slot, const char *name, unsigned char *val, size_t len,
    char *err, size_t errlen)
{
	if (memchr(val, '\0', len) != NULL) {
		errorf(err, errlen, "PKCS#11 URI: %s: a NUL byte (%%00) in a text value", name);
		OPENSSL_clear_free(val, len + 1);
		return -1;
	}
	*slot = (char *)val;
	return 0;
}

/* 1*DIGIT into *out, refusing overflow. */
static int parse_digits(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v > (max - (unsigned long)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int set_version(struct pkcs11uri *u, const unsigned char *val, size_t len, char *err,
    size_t errlen)
{
	const char *s = (const char *)val, *dot = memchr(val, '.', len);
	unsigned long major, minor = 0;
	size_t mlen = dot != NULL ? (size_t)(dot - s) : len;

	if (parse_digits(s, mlen, 255, &major) != 0 ||
	    (dot != NULL && parse_digits(dot + 1, len - mlen - 1, 255, &minor) != 0)) {
		errorf(err, errlen, "PKCS#11 URI: library-version must be DIGITS or "
		    "DIGITS.DIGITS, each at most 255 (RFC 7512 section 2.3)");
		return -1;
	}
	u->has_library_version = 1;
	u->library_version_major = (unsigned)major;
	u->library_version_minor = (unsigned)minor;
	return 0;
}

static int set_type(struct pkcs11uri *u, const unsigned char *val, size_t len, char *err,
    size_t errlen)
{
	static const struct { const char *name; enum pkcs11uri_type type; } types[] = {
		{ "private", PKCS11URI_TYPE_PRIVATE }, { "public", PKCS11URI_TYPE_PUBLIC },
		{ "cert", PKCS11URI_TYPE_CERT }, { "secret-key", PKCS11URI_TYPE_SECRET_KEY },
		{ "data", PKCS11URI_TYPE_DATA },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == len && memcmp(val, types[i].name, len) == 0) {
			u->type = types[i].type;
			return 0;
		}
	errorf(err, errlen, "PKCS#11 URI: type must be private, public, cert, secret-key "
	    "or data (RFC 7512 section 2.3)");
	return -1;
}

/* The text attributes, by name, with where they go; in_query says which component. */
static char **text_slot(struct pkcs11uri *u, const char *name, size_t nlen, int in_query)
{
	static const struct { const char *name; size_t off; int query; } attrs[] = {
#define A(n, f, q) { n, offsetof(struct pkcs11uri, f), q }
		A("token", token, 0), A("manufacturer", manufacturer, 0),
		A("serial", serial, 0), A("model", model, 0),
		A("library-manufacturer", library_manufacturer, 0),
		A("library-description", library_description, 0),
		A("slot-manufacturer", slot_manufacturer, 0),
		A("slot-description", slot_description, 0),
		A("object", object, 0),
		A("pin-source", pin_source, 1), A("pin-value", pin_value, 1),
		A("module-name", module_name, 1), A("module-path", module_path, 1),
#undef A
	};
	size_t i;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attrs[i].query == in_query && strlen(attrs[i].name) == nlen &&
		    memcmp(attrs[i].name, name, nlen) == 0)
			return (char **)((char *)u + attrs[i].off);
	return NULL;
}

/* One "name=value" attribute of the path (in_query 0) or the query (in_query 1). */
static int parse_attr(struct pkcs11uri *u, const char *a, size_t n, int in_query, char *err,
    size_t errlen)
{
	const char *eq = memchr(a, '=', n);
	char name[32];
	size_t nlen, vlen;
	unsigned char *val = NULL;
	unsigned long slot;
	char **slotp;
	int dup = 0;

	if (eq == NULL || eq == a) {
		errorf(err, errlen, "PKCS#11 URI: an attribute of the %s is not name=value "
		    "(RFC 7512 section 2.3)", in_query ? "query" : "path");
		return -1;
	}
	nlen = (size_t)(eq - a);
	if (nlen >= sizeof(name)) {
		errorf(err, errlen, "PKCS#11 URI: unknown attribute (name too long)");
		return -1;
	}
	memcpy(name, a, nlen);
	name[nlen] = '\0';
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != nlen) {
		errorf(err, errlen, "PKCS#11 URI: an attribute name must be lower-case letters, "
		    "digits and '-'");
		return -1;
	}
	if ((val = decode(name, eq + 1, n - nlen - 1, in_query ? is_qchar : is_pchar, &vlen,
	    err, errlen)) == NULL)
		return -1;
	if ((slotp = text_slot(u, name, nlen, in_query)) != NULL) {
		if (*slotp != NULL)
			goto duplicate;
		return set_text(slotp, name, val, vlen, err, errlen);
	}
	if (!in_query && strcmp(name, "id") == 0) {
		if (u->has_id)
			goto duplicate;
		u->id = val;
		u->id_len = vlen;
		u->has_id = 1;
		return 0;
	}
	if (!in_query && strcmp(name, "library-version") == 0) {
		dup = u->has_library_version;
		if (dup || set_version(u, val, vlen, err, errlen) != 0)
			goto fail;
	} else if (!in_query && strcmp(name, "type") == 0) {
		dup = u->type != PKCS11URI_TYPE_ANY;
		if (dup || set_type(u, val, vlen, err, errlen) != 0)
			goto fail;
	} else if (!in_query && strcmp(name, "slot-id") == 0) {
		dup = u->has_slot_id;
		if (dup)
			goto fail;
		if (parse_digits((const char *)val, vlen, (unsigned long)-1, &slot) != 0) {
			errorf(err, errlen, "PKCS#11 URI: slot-id must be a decimal number "
			    "(RFC 7512 section 2.3)");
			goto fail;
		}
		u->has_slot_id = 1;
		u->slot_id = slot;
	} else {
		errorf(err, errlen, "PKCS#11 URI: unknown %s attribute \"%s\" (scepd knows those "
		    "of RFC 7512 section 2.3 and no vendor ones)", in_query ? "query" : "path", name);
		goto fail;
	}
	OPENSSL_clear_free(val, vlen + 1);
	return 0;
duplicate:
	dup = 1;
fail:
	if (dup)
		errorf(err, errlen, "PKCS#11 URI: attribute \"%s\" given twice (RFC 7512 "
		    "section 2.3)", name);
	OPENSSL_clear_free(val, vlen + 1);
	return -1;
}

/* The attributes of one component, separated by sep; an empty component has none. */
static int parse_component(struct pkcs11uri *u, const char *s, size_t n, char sep,
    int in_query, char *err, size_t errlen)
{
	const char *end = s + n, *next;

	if (n == 0)
		return 0;
	for (;;) {
		next = memchr(s, sep, (size_t)(end - s));
		if (next == NULL)
			next = end;
		if (parse_attr(u, s, (size_t)(next - s), in_query, err, errlen) != 0)
			return -1;
		if (next == end)
			return 0;
		s = next + 1;
	}
}

struct pkcs11uri *pkcs11uri_parse(const unsigned char *buf, size_t len, char *err,
    size_t errlen)
{
	struct pkcs11uri *u = NULL, *result = NULL;
	const char *s = (const char *)buf, *q;
	size_t plen;

	if (len > PKCS11URI_MAX) {
		errorf(err, errlen, "PKCS#11 URI: longer than %d bytes", PKCS11URI_MAX);
		goto out;
	}
	if (len < SCHEME_LEN || strncasecmp(s, SCHEME, SCHEME_LEN) != 0) {
		errorf(err, errlen, "PKCS#11 URI: does not start with \"pkcs11:\" (RFC 7512 "
		    "section 2.3)");
		goto out;
	}
	u = xcalloc(1, sizeof(*u));
	s += SCHEME_LEN;
	len -= SCHEME_LEN;
	q = memchr(s, '?', len);
	plen = q != NULL ? (size_t)(q - s) : len;
	if (parse_component(u, s, plen, ';', 0, err, errlen) != 0)
		goto out;
	if (q != NULL && parse_component(u, q + 1, len - plen - 1, '&', 1, err, errlen) != 0)
		goto out;
	result = u;
	u = NULL;
out:
	pkcs11uri_free(u);
	return result;
}

void pkcs11uri_free(struct pkcs11uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->serial);
	free(u->model);
	free(u->library_manufacturer);
	free(u->library_description);
	free(u->slot_manufacturer);
	free(u->slot_description);
	free(u->object);
	free(u->id);
	free(u->pin_source);
	if (u->pin_value != NULL)
		OPENSSL_clear_free(u->pin_value, strlen(u->pin_value));
	free(u->module_name);
	free(u->module_path);
	free(u);
}

char *pkcs11uri_redact(const char *s)
{
	const char *p, *end;

	if (!pkcs11uri_is_uri(s) || (p = strchr(s, '?')) == NULL)
		return xstrdup(s);
	/* each query attribute in turn, looking for pin-value */
	for (p++; ; p = end + 1) {
		end = strchr(p, '&');
		if (strncmp(p, "pin-value=", 10) == 0)
			return xasprintf("%.*s***%s", (int)(p - s) + 10, s, end != NULL ? end : "");
		if (end == NULL)
			return xstrdup(s);
	}
}

char *pkcs11uri_with_query(const char *uri, const char *name, const char *value)
{
	size_t i, o = 0, n = strlen(value);
	char *enc = xmalloc(3 * n + 1), *out;

	for (i = 0; i < n; i++) {
		if (is_qchar((unsigned char)value[i]))
			enc[o++] = value[i];
		else
			o += (size_t)snprintf(enc + o, 4, "%%%02X", (unsigned char)value[i]);
	}
	enc[o] = '\0';
	out = xasprintf("%s%c%s=%s", uri, strchr(uri, '?') != NULL ? '&' : '?', name, enc);
	free(enc);
	return out;
}
