/* SPDX-License-Identifier: ISC */
/*
 * test_ntlm.c: NTLMSSP (src/ntlm.c): the MS-NLMP 4.2.4 NTLMv2 test vectors,
 * the CHALLENGE_MESSAGE layout, and real NEGOTIATE / AUTHENTICATE messages made
 * by the python ntlm-auth library (tests/data/ntlm/, made against a CHALLENGE
 * built by this code with server challenge 0123456789abcdef): OEM, Unicode and
 * UPN-style sign-ins verify with the right NT hash and fail with a wrong one or
 * another challenge; NTLMv1, anonymous and broken messages are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/provider.h>

#include "tap.h"
#include "ntlm.h"
#include "util.h"

static const unsigned char server_challenge[8] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef
};

static unsigned char *load(const char *name, size_t *len)
{
	char *path = xasprintf("tests/data/ntlm/%s", name);
	unsigned char *b = read_file(path, 65536, len);

	if (b == NULL)
		printf("# cannot read %s\n", path);
	free(path);
	return b;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	hex_encode(b, n, out, 0);
}

/* MS-NLMP 4.2.4: user "User", domain "Domain", password "Password". */
static void test_spec_vectors(void)
{
	static const unsigned char blob_av[] = {
		0x02, 0x00, 0x0c, 0x00, 'D', 0, 'o', 0, 'm', 0, 'a', 0, 'i', 0, 'n', 0,
		0x01, 0x00, 0x0c, 0x00, 'S', 0, 'e', 0, 'r', 0, 'v', 0, 'e', 0, 'r', 0,
		0x00, 0x00, 0x00, 0x00,
	};
	static const unsigned char proof[16] = {
		0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96,
		0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c,
	};
	unsigned char nt[16], resp[16 + 28 + sizeof(blob_av) + 4], *p;
	struct ntlm_auth a;
	char buf[64];
	size_t n;

	ok(ntlm_nt_hash("Password", nt) == 0, "NT hash of \"Password\" computed");
	hex(nt, 16, buf);
	is_str(buf, "a4f49c406510bdcab6824ee7c30fd852", "NT hash matches MS-NLMP 4.2.2.1.2");

	memset(resp, 0, sizeof(resp));
	memcpy(resp, proof, 16);
	p = resp + 16;
	p[0] = 1;
	p[1] = 1;
	memset(p + 16, 0xaa, 8);                 /* client challenge; time is zero */
	memcpy(p + 28, blob_av, sizeof(blob_av));
	memset(&a, 0, sizeof(a));
	a.user_u16 = ntlm_utf16le("User", 4, &a.user_u16_len);
	a.domain_u16 = ntlm_utf16le("Domain", 6, &a.domain_u16_len);
	a.nt_response = resp;
	a.nt_response_len = sizeof(resp);
	is_int(ntlm_verify_v2(&a, nt, server_challenge), 1,
	    "MS-NLMP 4.2.4 NTLMv2 response verifies (NTProofStr 68cd0ab8...)");
	resp[20] ^= 1;
	is_int(ntlm_verify_v2(&a, nt, server_challenge), 0, "a changed client blob fails");
	resp[20] ^= 1;
	/* The user name is upper-cased for NTOWFv2: "user" gives the same result. */
	free(a.user_u16);
	a.user_u16 = ntlm_utf16le("user", 4, &n);
	a.user_u16_len = n;
	is_int(ntlm_verify_v2(&a, nt, server_challenge), 1, "the user name is case-insensitive");
	free(a.domain_u16);
	a.domain_u16 = ntlm_utf16le("DOMAIN", 6, &n);
	is_int(ntlm_verify_v2(&a, nt, server_challenge), 0, "the domain is taken as sent");
	free(a.user_u16);
	free(a.domain_u16);
}

static void test_challenge_layout(void)
{
	struct ntlm_target t = { "SCEPTEST", "SCEPD", "scep.test", "scepd.scep.test" };
	unsigned char *m;
	size_t len;
	uint32_t flags;

	m = ntlm_build_challenge(NTLM_FLAG_UNICODE | NTLM_FLAG_EXTENDED_SESSIONSECURITY |
	    0x00000080u /* LM_KEY: not echoed */, server_challenge, &t, &len, &flags);
	ok(m != NULL, "CHALLENGE_MESSAGE built");
	if (m == NULL)
		return;
	is_int(ntlm_message_type(m, len), 2, "it is message type 2");
	ok(flags & NTLM_FLAG_UNICODE, "Unicode chosen when offered");
	ok(!(flags & NTLM_FLAG_OEM), "OEM not set with Unicode");
	ok(flags & NTLM_FLAG_TARGET_INFO, "target info flag set");
	ok(flags & NTLM_FLAG_EXTENDED_SESSIONSECURITY, "extended session security echoed");
	ok(!(flags & 0x80u), "LM_KEY is never echoed");
	ok(memcmp(m + 24, server_challenge, 8) == 0, "server challenge at offset 24");
	is_int(m[12] | m[13] << 8, 16, "TargetName is \"SCEPTEST\" in UTF-16LE (16 bytes)");
	ok(memcmp(m + 56, "S\0C\0E\0P\0T\0E\0S\0T\0", 16) == 0, "TargetName bytes");
	/* 4 pairs + EOL: 4+16, 4+10, 4+18, 4+30, 4 */
	is_int(m[40] | m[41] << 8, 20 + 14 + 22 + 34 + 4, "target info length");
	is_int(len, 56 + 16 + 94, "message length");
	ok(memcmp(m + len - 4, "\0\0\0\0", 4) == 0, "target info ends with MsvAvEOL");
	free(m);

	m = ntlm_build_challenge(NTLM_FLAG_OEM, server_challenge, &t, &len, &flags);
	ok(m != NULL && (flags & NTLM_FLAG_OEM) && !(flags & NTLM_FLAG_UNICODE),
	    "OEM chosen when Unicode is not offered");
	ok(m != NULL && memcmp(m + 56, "SCEPTEST", 8) == 0, "OEM TargetName is ASCII");
	free(m);
}

static void test_fixture(const char *name, const char *user, const char *domain)
{
	unsigned char *t1 = NULL, *t2 = NULL, *t3 = NULL, *mine = NULL, nt[16], other[8];
	struct ntlm_target t = { "SCEPTEST", "SCEPD", "scep.test", "scepd.scep.test" };
	struct ntlm_auth *a = NULL;
	size_t l1, l2, l3, lm;
	uint32_t f1, f2;
	char f[64], err[256];

	snprintf(f, sizeof(f), "ntlmauth-%s.type1", name);
	t1 = load(f, &l1);
	snprintf(f, sizeof(f), "ntlmauth-%s.type2", name);
	t2 = load(f, &l2);
	snprintf(f, sizeof(f), "ntlmauth-%s.type3", name);
	t3 = load(f, &l3);
	if (!ok(t1 && t2 && t3, "%s: fixture files read", name))
		goto out;
	is_int(ntlm_parse_negotiate(t1, l1, &f1, err, sizeof(err)), 0,
	    "%s: NEGOTIATE_MESSAGE parses", name);
	f2 = (uint32_t)(t2[20] | t2[21] << 8 | t2[22] << 16 | (uint32_t)t2[23] << 24);
	/* The fixture's challenge was built by this code from these flags (+Unicode). */
	mine = ntlm_build_challenge(f1 | (f2 & NTLM_FLAG_UNICODE), server_challenge, &t, &lm, &f1);
	ok(mine != NULL && lm == l2 && memcmp(mine, t2, l2) == 0,
	    "%s: CHALLENGE_MESSAGE is built byte for byte as before", name);
	a = ntlm_parse_authenticate(t3, l3, f2, err, sizeof(err));
	if (!ok(a != NULL, "%s: AUTHENTICATE_MESSAGE parses", name)) {
		printf("#   %s\n", err);
		goto out;
	}
	is_str(a->user, user, "%s: user name", name);
	is_str(a->domain, domain, "%s: domain", name);
	is_str(a->workstation, "WS1", "%s: workstation", name);
	ok(ntlm_nt_hash("Pa55w0rd!", nt) == 0, "%s: NT hash", name);
	is_int(ntlm_verify_v2(a, nt, server_challenge), 1, "%s: NTLMv2 response verifies", name);
	memcpy(other, server_challenge, 8);
	other[7] ^= 0x80;
	is_int(ntlm_verify_v2(a, nt, other), 0, "%s: fails against another challenge", name);
	ntlm_nt_hash("Pa55w0rd?", nt);
	is_int(ntlm_verify_v2(a, nt, server_challenge), 0, "%s: fails with a wrong password", name);
	ntlm_auth_free(a);
	a = NULL;
	/* Every truncation is refused or, if it parses, does not verify. */
	{
		size_t n, bad = 0;

		ntlm_nt_hash("Pa55w0rd!", nt);
		for (n = 0; n < l3; n++) {
			struct ntlm_auth *x = ntlm_parse_authenticate(t3, n, f2, err, sizeof(err));

			if (x != NULL && ntlm_verify_v2(x, nt, server_challenge) == 1)
				bad++;
			ntlm_auth_free(x);
		}
		is_int(bad, 0, "%s: no truncation of the AUTHENTICATE_MESSAGE verifies", name);
	}
out:
	ntlm_auth_free(a);
	free(mine);
	free(t1);
	free(t2);
	free(t3);
}

static void test_refusals(void)
{
	unsigned char m[128];
	struct ntlm_auth *a;
	uint32_t flags;
	char err[256];

	memset(m, 0, sizeof(m));
	memcpy(m, "NTLMSSP", 8);
	m[8] = 3;
	/* NT response of 24 bytes at 64, user "u" at 88. */
	m[20] = 24; m[22] = 24; m[24] = 64;
	m[36] = 2; m[38] = 2; m[40] = 88;
	m[88] = 'u';
	a = ntlm_parse_authenticate(m, 96, NTLM_FLAG_UNICODE, err, sizeof(err));
	ok(a == NULL && strstr(err, "NTLMv1") != NULL, "NTLMv1 response refused (%s)", err);
	ntlm_auth_free(a);
	m[20] = 0; m[22] = 0;
	a = ntlm_parse_authenticate(m, 96, NTLM_FLAG_UNICODE, err, sizeof(err));
	ok(a == NULL && strstr(err, "LM only") != NULL, "no NT response refused (%s)", err);
	ntlm_auth_free(a);
	m[36] = 0; m[38] = 0;
	a = ntlm_parse_authenticate(m, 96, NTLM_FLAG_UNICODE, err, sizeof(err));
	ok(a == NULL && strstr(err, "anonymous") != NULL, "anonymous refused (%s)", err);
	ntlm_auth_free(a);
	m[36] = 2; m[38] = 2; m[40] = 200;
	a = ntlm_parse_authenticate(m, 96, NTLM_FLAG_UNICODE, err, sizeof(err));
	ok(a == NULL && strstr(err, "outside") != NULL, "field beyond the message refused (%s)", err);
	ntlm_auth_free(a);
	ok(ntlm_parse_negotiate(m, 96, &flags, err, sizeof(err)) == -1,
	    "a type 3 is not a NEGOTIATE_MESSAGE");
	m[8] = 1;
	m[12] = 0;
	ok(ntlm_parse_negotiate(m, 16, &flags, err, sizeof(err)) == -1,
	    "NEGOTIATE without Unicode or OEM refused");
	ok(ntlm_parse_negotiate(m, 15, &flags, err, sizeof(err)) == -1, "truncated NEGOTIATE refused");
	is_int(ntlm_message_type((const unsigned char *)"NTLMSSX\0\1\0\0\0", 12), 0,
	    "bad signature is not NTLMSSP");
}

static void test_utf16(void)
{
	unsigned char *u;
	size_t n;

	u = ntlm_utf16le("A\xc3\xa9\xf0\x9f\x98\x80", 7, &n);
	ok(u != NULL && n == 8 && memcmp(u, "A\0\xe9\0\x3d\xd8\x00\xde", 8) == 0,
	    "UTF-8 to UTF-16LE with a surrogate pair");
	free(u);
	ok(ntlm_utf16le("\xc3", 1, &n) == NULL, "truncated UTF-8 refused");
	ok(ntlm_utf16le("\xed\xa0\x80", 3, &n) == NULL, "encoded surrogate refused");
	u = ntlm_utf16le("", 0, &n);
	ok(u != NULL && n == 0, "empty string converts to nothing");
	free(u);
}

int main(void)
{
	OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(NULL, "legacy");
	OSSL_PROVIDER *deflt = OSSL_PROVIDER_load(NULL, "default");

	ok(legacy != NULL && deflt != NULL, "legacy provider loaded (MD4 for NT hashes)");
	test_spec_vectors();
	test_challenge_layout();
	test_fixture("oem", "alice", "SCEPTEST");
	test_fixture("unicode", "alice", "SCEPTEST");
	test_fixture("upn", "Bob@scep.test", "");
	test_refusals();
	test_utf16();
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	return done_testing();
}
