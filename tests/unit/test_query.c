/* SPDX-License-Identifier: ISC */
/*
 * test_query.c: query_find, query_unescape and query_decode_message over the
 * raw query of every GET fixture (each must decode to request.der byte for
 * byte, also after libmicrohttpd-style form decoding), and over synthetic
 * values: '+' arriving as a space, URL-safe alphabet, missing padding, line
 * breaks, empty values, invalid characters and malformed escapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "fixture.h"
#include "query.h"
#include "util.h"

/* What libmicrohttpd does to a GET argument: '+' to space, then %XX. */
static char *form_decode(const char *val, size_t len)
{
	char *plus = xmalloc(len + 1), *out;
	size_t i;

	for (i = 0; i < len; i++)
		plus[i] = val[i] == '+' ? ' ' : val[i];
	out = query_unescape(plus, len);
	free(plus);
	return out;
}

static int decodes_to(const char *val, size_t len, const unsigned char *want, size_t wantlen)
{
	char err[256] = "";
	size_t outlen = 0;
	unsigned char *out = query_decode_message(val, len, &outlen, err, sizeof(err));
	int same = out != NULL && outlen == wantlen && memcmp(out, want, wantlen) == 0;

	if (out == NULL)
		printf("#   decode failed: %s\n", err);
	free(out);
	return same;
}

static void test_fixture(const char *name)
{
	unsigned char *der = NULL;
	char *query = NULL, *json = NULL, *rawlen = NULL, *params = NULL, *md = NULL;
	char *plus = NULL, *breaks = NULL, *alpha = NULL, *pct = NULL, *op = NULL;
	char *form = NULL, *unesc = NULL, first[32] = "";
	const char *val = NULL;
	size_t len, qlen, jlen, vlen = 0;

	query = (char *)fixture_read(name, "request.query", &qlen);
	der = fixture_read(name, "request.der", &len);
	json = (char *)fixture_read(name, "facts.json", &jlen);
	if (!ok(query != NULL && der != NULL && json != NULL, "%s: fixture files readable", name))
		goto out;
	/* request.query has no trailing newline: the bytes after '?' exactly */
	md = facts_get(json, "http", "message_decoding");
	params = facts_get(json, "http", "query_parameters");
	rawlen = md ? facts_get(md, NULL, "raw_length") : NULL;
	plus = md ? facts_get(md, NULL, "literal_plus") : NULL;
	breaks = md ? facts_get(md, NULL, "line_breaks") : NULL;
	pct = md ? facts_get(md, NULL, "percent_escapes") : NULL;
	alpha = md ? facts_get(md, NULL, "base64") : NULL;
	if (!ok(rawlen && params && plus && breaks && pct && alpha &&
	    sscanf(params, "[ \"%31[a-z]\"", first) == 1,
	    "%s: facts.json has the message_decoding facts", name))
		goto out;

	ok(query_find(query, qlen, "message", &val, &vlen) == 1, "%s: message found", name);
	is_int(vlen, atol(rawlen), "%s: message raw length", name);
	ok(strncmp(query, first, strlen(first)) == 0 && query[strlen(first)] == '=',
	    "%s: %s= comes first, as facts say", name, first);
	if (query_find(query, qlen, "operation", (const char **)&op, &jlen) == 1)
		ok(jlen == 12 && memcmp(op, "PKIOperation", 12) == 0, "%s: operation", name);
	else
		ok(0, "%s: operation found", name);

	/* the trait this client is in the corpus for is really in the bytes */
	if (strcmp(plus, "true") == 0)
		ok(memchr(val, '+', vlen) != NULL, "%s: raw '+' present", name);
	if (strcmp(breaks, "true") == 0)
		ok(memmem(val, vlen, "%0A", 3) != NULL, "%s: %%0A line breaks present", name);
	if (strcmp(pct, "true") == 0)
		ok(memchr(val, '%', vlen) != NULL, "%s: percent escapes present", name);
	if (strncmp(alpha, "url", 3) == 0)
		ok(memchr(val, '-', vlen) != NULL || memchr(val, '_', vlen) != NULL,
		    "%s: URL-safe alphabet present", name);

	ok(decodes_to(val, vlen, der, len), "%s: raw message decodes to request.der", name);
	form = form_decode(val, vlen);
	ok(form != NULL && decodes_to(form, strlen(form), der, len),
	    "%s: form-decoded message ('+' as space) decodes to request.der", name);
	unesc = query_unescape(val, vlen);
	ok(unesc != NULL && decodes_to(unesc, strlen(unesc), der, len),
	    "%s: unescaped message decodes to request.der", name);
out:
	free(query);
	free(der);
	free(json);
	free(md);
	free(params);
	free(rawlen);
	free(plus);
	free(breaks);
	free(pct);
	free(alpha);
	free(form);
	free(unesc);
}

static int find_is(const char *q, const char *name, const char *want)
{
	const char *v = NULL;
	size_t vlen = 0;

	if (query_find(q, strlen(q), name, &v, &vlen) != 1)
		return want == NULL;
	return want != NULL && vlen == strlen(want) && memcmp(v, want, vlen) == 0;
}

static void test_find(void)
{
	ok(find_is("operation=GetCACaps&message=CA", "message", "CA"), "find: second parameter");
	ok(find_is("message=&operation=GetCACert", "message", ""), "find: empty value");
	ok(find_is("a=1&message", "message", ""), "find: name without '='");
	ok(find_is("messages=1&message=2", "message", "2"), "find: name must match exactly");
	ok(find_is("message=1&message=2", "message", "1"), "find: first occurrence wins");
	ok(find_is("&&message=x&", "message", "x"), "find: empty parameters skipped");
	ok(find_is("operation=PKIOperation", "message", NULL), "find: absent -> 0");
	ok(find_is("", "message", NULL), "find: empty query -> 0");
	ok(find_is("Message=1", "message", NULL), "find: names are case-sensitive");
	ok(find_is("message=a=b", "message", "a=b"), "find: '=' inside a value kept");
	{
		const char *v;
		size_t vlen;

		/* only len bytes are looked at */
		ok(query_find("message=12345", 10, "message", &v, &vlen) == 1 && vlen == 2,
		    "find: stops at len");
	}
}

static void test_unescape(void)
{
	char *s;

	s = query_unescape("a%2Bb+c%20d", 11);
	is_str(s, "a+b+c d", "unescape: %%2B, literal '+' kept, %%20");
	free(s);
	s = query_unescape("%41%4a%4A", 9);
	is_str(s, "AJJ", "unescape: hex digits in both cases");
	free(s);
	s = query_unescape("", 0);
	is_str(s, "", "unescape: empty");
	free(s);
	ok(query_unescape("%", 1) == NULL, "unescape: lone '%%' -> NULL");
	ok(query_unescape("ab%4", 4) == NULL, "unescape: short escape -> NULL");
	ok(query_unescape("%zz", 3) == NULL, "unescape: %%zz -> NULL");
	ok(query_unescape("%g1", 3) == NULL, "unescape: %%g1 -> NULL");
	ok(query_unescape("a%00b", 5) == NULL, "unescape: %%00 -> NULL");
	ok(query_unescape("a\0b", 3) == NULL, "unescape: literal NUL -> NULL");
}

static int msg_is(const char *in, const unsigned char *want, size_t wantlen)
{
	return decodes_to(in, strlen(in), want, wantlen);
}

static int msg_fails(const char *in, size_t len, const char *needle)
{
	char err[256] = "";
	size_t outlen = 99;
	unsigned char *out = query_decode_message(in, len, &outlen, err, sizeof(err));

	free(out);
	if (out == NULL)
		printf("#   %s\n", err);
	return out == NULL && outlen == 0 && strstr(err, needle) != NULL;
}

static void test_message(void)
{
	static const unsigned char fbff[] = { 0xfb, 0xff };
	static const unsigned char fbef[] = { 0xfb, 0xef, 0xbe };

	ok(msg_is("TWFu", (const unsigned char *)"Man", 3), "message: plain base64");
	ok(msg_is("TWE=", (const unsigned char *)"Ma", 2), "message: one '='");
	ok(msg_is("TWE", (const unsigned char *)"Ma", 2), "message: missing padding added");
	ok(msg_is("TQ", (const unsigned char *)"M", 1), "message: two '=' missing");
	ok(msg_is("TQ=", (const unsigned char *)"M", 1), "message: one of two '=' missing");
	ok(msg_is("TQ%3D%3D", (const unsigned char *)"M", 1), "message: %%3D padding");
	ok(msg_is("+/8=", fbff, 2), "message: raw '+' and '/'");
	ok(msg_is(" /8=", fbff, 2), "message: '+' arriving as space");
	ok(msg_is("%20/8", fbff, 2), "message: '+' arriving as %%20");
	ok(msg_is("%2B%2F8%3D", fbff, 2), "message: %%2B %%2F %%3D");
	ok(msg_is("-_8", fbff, 2), "message: URL-safe alphabet, no padding");
	ok(msg_is("++++", fbef, 3), "message: '+' everywhere");
	ok(msg_is("    ", fbef, 3), "message: all '+' turned into spaces");
	ok(msg_is("TW%0AFu%0D%0A", (const unsigned char *)"Man", 3), "message: %%0A and CRLF");
	ok(msg_is("TW\r\nF\tu", (const unsigned char *)"Man", 3), "message: raw CR LF TAB");

	ok(msg_fails("", 0, "empty"), "message: empty -> NULL");
	ok(msg_fails(NULL, 0, "empty"), "message: NULL -> NULL");
	ok(msg_fails("%0A%0D", 6, "no base64"), "message: only line breaks -> NULL");
	ok(msg_fails("====", 4, "no base64"), "message: only padding -> NULL");
	ok(msg_fails("T", 1, "impossible"), "message: one character -> NULL");
	ok(msg_fails("TWFu=", 5, "impossible"), "message: padding after a full group -> NULL");
	ok(msg_fails("TQ===", 5, "impossible"), "message: three '=' -> NULL");
	ok(msg_fails("TW!u", 4, "not base64"), "message: '!' -> NULL");
	ok(msg_fails("TW.u", 4, "not base64"), "message: '.' -> NULL");
	ok(msg_fails("TW\xc3\xa9u", 5, "not base64"), "message: 8-bit byte -> NULL");
	ok(msg_fails("TWFu%zz", 7, "percent"), "message: %%zz -> NULL");
	ok(msg_fails("TWFu%4", 6, "percent"), "message: truncated escape -> NULL");
	ok(msg_fails("TW%00Fu", 7, "percent"), "message: %%00 -> NULL");
	ok(msg_fails("TW=Fu", 5, "after"), "message: data after '=' -> NULL");
	ok(msg_fails("TWFu&operation=PKIOperation", 27, "not base64"),
	    "message: a whole query is not a value -> NULL");
}

int main(void)
{
	char names[FIXTURE_MAX][FIXTURE_NAME];
	int i, n, nget = 0;

	n = fixture_list(names, FIXTURE_MAX);
	ok(n >= 20, "fixture corpus found in %s (%d fixtures)", fixture_dir(), n);
	for (i = 0; i < n; i++) {
		if (!fixture_exists(names[i], "request.query"))
			continue;
		nget++;
		test_fixture(names[i]);
	}
	ok(nget >= 7, "%d GET fixtures", nget);
	test_find();
	test_unescape();
	test_message();
	return done_testing();
}
