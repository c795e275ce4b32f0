/* SPDX-License-Identifier: ISC */
/*
 * test_spnego.c: SPNEGO tokens (src/spnego.c) and the Authorization header
 * parser (src/httpauth.c): a NegTokenInit carrying a real NTLM NEGOTIATE
 * message, one that prefers Kerberos, NegTokenResp round trips, strict DER
 * (trailing bytes, indefinite and non-minimal lengths, truncations), and
 * Basic / NTLM / Negotiate headers with strict base64.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "base64.h"
#include "httpauth.h"
#include "ntlm.h"
#include "spnego.h"
#include "util.h"

/* When set, the next strdup() fails (the out-of-memory paths of httpauth_parse). */
static int fail_strdup;

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fail_strdup) {
		fail_strdup = 0;
		return NULL;
	}
	if ((p = malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

/* GSS InitialContextToken: SPNEGO, NegTokenInit { mechTypes, mechToken }. */
static unsigned char *make_init(const unsigned char *tok, size_t tok_len, int krb5_first,
    size_t *len)
{
	static const unsigned char ntlm_oid[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01,
		0x82, 0x37, 0x02, 0x02, 0x0a };
	static const unsigned char krb5_oid[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
		0x12, 0x01, 0x02, 0x02 };
	unsigned char mechs[64], *out = xmalloc(tok_len + 128), *p;
	size_t m = 0, seq, a0, a2, inner;

	if (krb5_first) {
		memcpy(mechs, krb5_oid, sizeof(krb5_oid));
		m = sizeof(krb5_oid);
	}
	memcpy(mechs + m, ntlm_oid, sizeof(ntlm_oid));
	m += sizeof(ntlm_oid);
	/* all lengths below stay under 128 + token (< 256 here): short or 0x81 forms */
	a0 = 2 + 2 + m;                       /* A0 len 30 len mechs */
	a2 = 2 + 2 + tok_len;                 /* A2 len 04 len tok */
	seq = a0 + a2;
	inner = 2 + seq;                      /* 30 len ... */
	p = out;
	*p++ = 0x60; *p++ = (unsigned char)(2 + 6 + 2 + inner);
	*p++ = 0x06; *p++ = 6; memcpy(p, "\x2b\x06\x01\x05\x05\x02", 6); p += 6;
	*p++ = 0xa0; *p++ = (unsigned char)inner;
	*p++ = 0x30; *p++ = (unsigned char)seq;
	*p++ = 0xa0; *p++ = (unsigned char)(2 + m);
	*p++ = 0x30; *p++ = (unsigned char)m; memcpy(p, mechs, m); p += m;
	*p++ = 0xa2; *p++ = (unsigned char)(2 + tok_len);
	*p++ = 0x04; *p++ = (unsigned char)tok_len; memcpy(p, tok, tok_len); p += tok_len;
	*len = (size_t)(p - out);
	return out;
}

static void test_spnego(void)
{
	unsigned char *t1, *init, *resp, *bad;
	struct spnego_token tk;
	size_t l1, li, lr, n, fails = 0;
	uint32_t flags;
	char err[256];

	t1 = read_file("tests/data/ntlm/ntlmauth-unicode.type1", 4096, &l1);
	if (!ok(t1 != NULL && l1 < 100, "NTLM NEGOTIATE fixture read"))
		return;
	init = make_init(t1, l1, 0, &li);
	ok(spnego_is_spnego(init, li), "a NegTokenInit looks like SPNEGO");
	ok(!spnego_is_spnego(t1, l1), "raw NTLMSSP does not");
	is_int(spnego_parse(init, li, &tk, err, sizeof(err)), 0, "NegTokenInit parses");
	is_int(tk.kind, SPNEGO_INIT, "kind INIT");
	ok(tk.ntlm_offered && tk.ntlm_first, "NTLM offered first");
	ok(tk.mech_token_len == l1 && memcmp(tk.mech_token, t1, l1) == 0,
	    "mechToken is the NTLM NEGOTIATE message");
	is_int(ntlm_parse_negotiate(tk.mech_token, tk.mech_token_len, &flags, err, sizeof(err)), 0,
	    "the unwrapped token parses as NTLM");
	for (n = 0; n < li; n++)
		if (spnego_parse(init, n, &tk, err, sizeof(err)) == 0)
			fails++;
	is_int(fails, 0, "every truncation of the NegTokenInit is refused");
	bad = xmalloc(li + 1);
	memcpy(bad, init, li);
	bad[li] = 0;
	ok(spnego_parse(bad, li + 1, &tk, err, sizeof(err)) == -1, "a trailing byte is refused");
	bad[1] = 0x80;
	ok(spnego_parse(bad, li, &tk, err, sizeof(err)) == -1, "an indefinite length is refused");
	free(bad);
	free(init);

	init = make_init(t1, l1, 1, &li);
	is_int(spnego_parse(init, li, &tk, err, sizeof(err)), 0, "Kerberos-first NegTokenInit parses");
	ok(tk.ntlm_offered && !tk.ntlm_first, "NTLM offered, but not first");
	ok(tk.krb5_offered, "Kerberos offered");
	ok(!spnego_is_krb5(init, li), "a SPNEGO token is not a raw Kerberos token");
	free(init);
	init = make_init(t1, l1, 0, &li);
	ok(spnego_parse(init, li, &tk, err, sizeof(err)) == 0 && !tk.krb5_offered,
	    "an NTLM-only NegTokenInit does not offer Kerberos");
	free(init);
	/* what curl --negotiate sent with an MIT ticket (t_kerberos.sh's realm) */
	bad = read_file("tests/fuzz/corpus/spnego/curl-krb5-negtokeninit.der", 4096, &n);
	ok(bad != NULL && spnego_parse(bad, n, &tk, err, sizeof(err)) == 0 &&
	    tk.kind == SPNEGO_INIT && tk.krb5_offered && !tk.ntlm_offered &&
	    tk.mech_token != NULL && spnego_is_krb5(tk.mech_token, tk.mech_token_len),
	    "curl's Kerberos NegTokenInit: Kerberos only, its mechToken a raw Kerberos token");
	free(bad);
	/* a raw Kerberos InitialContextToken: 60 len 06 09 <krb5 OID> then the AP-REQ part */
	{
		static const unsigned char krb[] = { 0x60, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48,
			0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e, 0x00 };
		static const unsigned char ms[] = { 0x60, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48,
			0x82, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e, 0x00 };

		ok(spnego_is_krb5(krb, sizeof(krb)), "a raw Kerberos token is recognised");
		ok(spnego_is_krb5(ms, sizeof(ms)), "... also under Microsoft's Kerberos OID");
		ok(!spnego_is_krb5(krb, sizeof(krb) - 1), "... but not truncated");
		ok(!spnego_is_krb5(t1, l1), "raw NTLMSSP is not Kerberos");
	}

	resp = spnego_build_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, t1, l1, &lr);
	ok(resp != NULL && resp[0] == 0xa1, "NegTokenResp built");
	is_int(spnego_parse(resp, lr, &tk, err, sizeof(err)), 0, "NegTokenResp parses back");
	ok(tk.kind == SPNEGO_RESP && tk.neg_state == SPNEGO_ACCEPT_INCOMPLETE,
	    "negState accept-incomplete");
	ok(tk.mech_token_len == l1 && memcmp(tk.mech_token, t1, l1) == 0, "responseToken round trip");
	free(resp);
	resp = spnego_build_resp(SPNEGO_ACCEPT_COMPLETED, 0, NULL, 0, &lr);
	ok(resp != NULL && lr == 9 && memcmp(resp, "\xa1\x07\x30\x05\xa0\x03\x0a\x01\x00", 9) == 0,
	    "accept-completed NegTokenResp is a1 07 30 05 a0 03 0a 01 00");
	free(resp);
	/* a long token takes the 0x82 length form and still round-trips */
	bad = xcalloc(1, 1000);
	resp = spnego_build_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, bad, 1000, &lr);
	ok(resp != NULL && spnego_parse(resp, lr, &tk, err, sizeof(err)) == 0 &&
	    tk.mech_token_len == 1000, "a 1000-byte token round-trips");
	resp[1] = 0x83; /* non-minimal / wrong length form */
	ok(spnego_parse(resp, lr, &tk, err, sizeof(err)) == -1, "a wrong length form is refused");
	free(resp);
	free(bad);
	free(t1);
}

static void test_httpauth(void)
{
	struct httpauth a;
	char err[256], *b;
	const char *h;

	h = "Basic YWxpY2U6cGE6c3M=";  /* alice:pa:ss */
	is_int(httpauth_parse(h, strlen(h), &a, err, sizeof(err)), 0, "Basic parses");
	ok(a.scheme == HTTPAUTH_BASIC, "scheme Basic");
	is_str(a.user, "alice", "user before the first colon");
	is_str(a.password, "pa:ss", "password keeps later colons");
	httpauth_clear(&a);
	/* Out of memory after the user was copied: a clean failure, nothing leaked. */
	h = "Basic YWxpY2U6cGE6c3M=";
	fail_strdup = 1;
	is_int(httpauth_parse(h, strlen(h), &a, err, sizeof(err)), -1,
	    "Basic: out of memory copying the password fails");
	is_str(err, "out of memory", "... and says so");
	ok(a.user == NULL && a.password == NULL, "... leaving nothing behind");
	fail_strdup = 0;
	h = "basic   YWxpY2U6  ";
	is_int(httpauth_parse(h, strlen(h), &a, err, sizeof(err)), 0,
	    "scheme is case-insensitive, spaces around the token ignored");
	is_str(a.password, "", "empty password");
	httpauth_clear(&a);
	h = "NTLM TlRMTVNTUAABAAAA";
	is_int(httpauth_parse(h, strlen(h), &a, err, sizeof(err)), 0, "NTLM parses");
	ok(a.scheme == HTTPAUTH_NTLM && a.token_len == 12 && memcmp(a.token, "NTLMSSP\0\1", 9) == 0,
	    "NTLM token decoded");
	httpauth_clear(&a);
	h = "Negotiate oQcwBaADCgEA";
	is_int(httpauth_parse(h, strlen(h), &a, err, sizeof(err)), 0, "Negotiate parses");
	ok(a.scheme == HTTPAUTH_NEGOTIATE && a.token_len == 9, "Negotiate token decoded");
	httpauth_clear(&a);
	h = "Digest username=x";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "Digest refused");
	h = "NTLM";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "NTLM without a token refused");
	h = "NTLM TlRMTVNTUAABAAA";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "unpadded base64 refused");
	h = "NTLM TlRMT VNTUAABAAAA";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "base64 with a space refused");
	h = "NTLM TlRMTVNTUAABAAB=";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "non-zero padding bits refused");
	h = "Basic YWxpY2U=";
	ok(httpauth_parse(h, strlen(h), &a, err, sizeof(err)) == -1, "Basic without a colon refused");
	b = base64_encode((const unsigned char *)"alice:pa:ss", 11);
	is_str(b, "YWxpY2U6cGE6c3M=", "base64 encoder");
	free(b);
	b = base64_encode((const unsigned char *)"", 0);
	is_str(b, "", "base64 of nothing");
	free(b);
}

int main(void)
{
	test_spnego();
	test_httpauth();
	return done_testing();
}
