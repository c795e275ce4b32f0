/* SPDX-License-Identifier: ISC */
/*
 * ntlm.c: NTLMSSP for HTTP sign-in (MS-NLMP): the NEGOTIATE and AUTHENTICATE
 * parsers, the CHALLENGE builder and NTLMv2 verification. Everything here is a
 * pure function of its arguments: every field offset and length is checked
 * against the message length before use, allocation is plain malloc, and a
 * failure returns NULL / -1 with a reason. It holds no state and never sees a
 * password except in ntlm_nt_hash(), which scepctl uses when an account is
 * created. Session security (signing, sealing, the MIC) is not used over HTTP
 * and not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ntlm.h"
#include "util.h"

static const unsigned char ntlm_sig[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };

/* Windows Server 2019 (10.0.17763), NTLM revision 15 (MS-NLMP 2.2.2.10). */
static const unsigned char ntlm_version[8] = { 10, 0, 0x63, 0x45, 0, 0, 0, 15 };

#define AUTH_MIN_LEN 52          /* header up to WorkstationFields */
#define NTLMV2_MIN_RESPONSE 48   /* NTProofStr 16 + blob header 28 + MsvAvEOL 4 */
#define NTLM_MAX_RESPONSE 4096

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	p[2] = (unsigned char)((v >> 16) & 0xff);
	p[3] = (unsigned char)(v >> 24);
}

int ntlm_is_ntlmssp(const unsigned char *msg, size_t len)
{
	return msg != NULL && len >= 12 && memcmp(msg, ntlm_sig, sizeof(ntlm_sig)) == 0;
}

int ntlm_message_type(const unsigned char *msg, size_t len)
{
	uint32_t t;

	if (!ntlm_is_ntlmssp(msg, len))
		return 0;
	t = get32(msg + 8);
	return t >= 1 && t <= 3 ? (int)t : 0;
}

int ntlm_parse_negotiate(const unsigned char *msg, size_t len, uint32_t *flags,
    char *err, size_t errlen)
{
	*flags = 0;
	if (ntlm_message_type(msg, len) != 1) {
		errorf(err, errlen, "not an NTLMSSP NEGOTIATE_MESSAGE");
		return -1;
	}
	if (len < 16) {
		errorf(err, errlen, "the NEGOTIATE_MESSAGE is truncated (no flags)");
		return -1;
	}
	*flags = get32(msg + 12);
	if (!(*flags & (NTLM_FLAG_UNICODE | NTLM_FLAG_OEM))) {
		errorf(err, errlen, "the NEGOTIATE_MESSAGE offers neither Unicode nor OEM strings");
		return -1;
	}
	return 0;
}

unsigned char *ntlm_utf16le(const char *utf8, size_t utf8_len, size_t *len)
{
	const unsigned char *s = (const unsigned char *)utf8;
	unsigned char *out = NULL, *result = NULL;
	size_t i = 0, o = 0;
	uint32_t cp;
	int extra;

	*len = 0;
	/* At most two code units (4 bytes) per input byte; +1 so length 0 mallocs. */
	if (utf8_len > ((size_t)-1) / 4 - 1 || (out = malloc(utf8_len * 4 + 1)) == NULL)
		goto out;
	while (i < utf8_len) {
		unsigned char c = s[i++];

		if (c < 0x80) {
			cp = c;
			extra = 0;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			extra = 1;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			extra = 2;
		} else if ((c & 0xf8) == 0xf0) {
			cp = c & 0x07;
			extra = 3;
		} else
			goto out;
		if ((size_t)extra > utf8_len - i)
			goto out;
		for (; extra > 0; extra--) {
			if ((s[i] & 0xc0) != 0x80)
				goto out;
			cp = cp << 6 | (s[i++] & 0x3f);
		}
		/* Overlong forms are not rejected one by one, but these never are valid. */
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto out;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put16(out + o, (uint16_t)(0xd800 | (cp >> 10)));
			put16(out + o + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			o += 4;
		} else {
			put16(out + o, (uint16_t)cp);
			o += 2;
		}
	}
	*len = o;
	result = out;
	out = NULL;
out:
	free(out);
	return result;
}

/* UTF-16LE to UTF-8 into out (NUL-terminated). -1 if invalid, has NUL, or too long. */
static int utf16le_to_utf8(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	uint32_t cp, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len; i += 2) {
		cp = get16(in + i);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 4 > len)
				return -1;
			lo = get16(in + i + 2);
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0)
			return -1;
		if (o + 5 > outlen)
			return -1;
		if (cp < 0x80)
			out[o++] = (char)cp;
		else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | (cp >> 6));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | (cp >> 12));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | (cp >> 18));
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	out[o] = '\0';
	return 0;
}

/* Appends one AV_PAIR (MS-NLMP 2.2.2.1) with a UTF-16LE value. -1 on failure. */
static int av_pair(unsigned char **buf, size_t *len, uint16_t id, const char *value)
{
	unsigned char *u16 = NULL, *grown;
	size_t n = 0;
	int rc = -1;

	if (value == NULL || value[0] == '\0')
		return 0;
	if ((u16 = ntlm_utf16le(value, strlen(value), &n)) == NULL || n > 0xffff)
		goto out;
	if ((grown = realloc(*buf, *len + 4 + n)) == NULL)
		goto out;
	*buf = grown;
	put16(grown + *len, id);
	put16(grown + *len + 2, (uint16_t)n);
	memcpy(grown + *len + 4, u16, n);
	*len += 4 + n;
	rc = 0;
out:
	free(u16);
	return rc;
}

unsigned char *ntlm_build_challenge(uint32_t client_flags,
    const unsigned char challenge[NTLM_CHALLENGE_LEN], const struct ntlm_target *t,
    size_t *len, uint32_t *flags_out)
{
	unsigned char *info = NULL, *name = NULL, *msg = NULL, *result = NULL;
	size_t info_len = 0, name_len = 0, total, i;
	uint32_t flags;
	int unicode = (client_flags & NTLM_FLAG_UNICODE) != 0;

	*len = 0;
	flags = (unicode ? NTLM_FLAG_UNICODE : NTLM_FLAG_OEM) | NTLM_FLAG_REQUEST_TARGET |
	    NTLM_FLAG_NTLM | NTLM_FLAG_ALWAYS_SIGN | NTLM_FLAG_TARGET_TYPE_DOMAIN |
	    NTLM_FLAG_TARGET_INFO | NTLM_FLAG_VERSION;
	flags |= client_flags & (NTLM_FLAG_SIGN | NTLM_FLAG_SEAL |
	    NTLM_FLAG_EXTENDED_SESSIONSECURITY | NTLM_FLAG_128 | NTLM_FLAG_56 | NTLM_FLAG_KEY_EXCH);
	/* MsvAvNbComputerName, MsvAvNbDomainName, DNS computer, DNS domain, EOL. */
	if (av_pair(&info, &info_len, 2, t->nb_domain) != 0 ||
	    av_pair(&info, &info_len, 1, t->nb_computer) != 0 ||
	    av_pair(&info, &info_len, 4, t->dns_domain) != 0 ||
	    av_pair(&info, &info_len, 3, t->dns_computer) != 0)
		goto out;
	{
		unsigned char *grown = realloc(info, info_len + 4);

		if (grown == NULL)
			goto out;
		info = grown;
		memset(info + info_len, 0, 4);
		info_len += 4;
	}
	if (t->nb_domain != NULL) {
		if (unicode) {
			if ((name = ntlm_utf16le(t->nb_domain, strlen(t->nb_domain), &name_len)) == NULL)
				goto out;
		} else {
			name_len = strlen(t->nb_domain);
			if ((name = malloc(name_len + 1)) == NULL)
				goto out;
			for (i = 0; i < name_len; i++)
				name[i] = (unsigned char)t->nb_domain[i] < 0x80 ?
				    (unsigned char)t->nb_domain[i] : '?';
		}
	}
	if (name_len > 0xffff || info_len > 0xffff)
		goto out;
	total = 56 + name_len + info_len;
	if ((msg = calloc(1, total)) == NULL)
		goto out;
	memcpy(msg, ntlm_sig, 8);
	put32(msg + 8, 2);
	put16(msg + 12, (uint16_t)name_len);
	put16(msg + 14, (uint16_t)name_len);
	put32(msg + 16, 56);
	put32(msg + 20, flags);
	memcpy(msg + 24, challenge, NTLM_CHALLENGE_LEN);
	/* 32..39 reserved, zero */
	put16(msg + 40, (uint16_t)info_len);
	put16(msg + 42, (uint16_t)info_len);
	put32(msg + 44, (uint32_t)(56 + name_len));
	memcpy(msg + 48, ntlm_version, sizeof(ntlm_version));
	if (name_len > 0)
		memcpy(msg + 56, name, name_len);
	memcpy(msg + 56 + name_len, info, info_len);
	*len = total;
	if (flags_out != NULL)
		*flags_out = flags;
	result = msg;
	msg = NULL;
out:
	free(msg);
	free(name);
	free(info);
	return result;
}

/* Checks a (len, maxlen, offset) field at p and points *data at its bytes. */
static int field(const unsigned char *msg, size_t len, size_t at, const unsigned char **data,
    size_t *flen)
{
	uint16_t n;
	uint32_t off;

	if (at + 8 > len)
		return -1;
	n = get16(msg + at);
	off = get32(msg + at + 4);
	*data = NULL;
	*flen = n;
	if (n == 0)
		return 0;
	if (off > len || n > len - off)
		return -1;
	*data = msg + off;
	return 0;
}

/* A string field: to UTF-8 (for names) and to UTF-16LE (for NTOWFv2). */
static int string_field(const unsigned char *p, size_t n, int unicode, char *utf8,
    size_t utf8len, unsigned char **u16, size_t *u16len)
{
	size_t i;

	if (u16 != NULL) {
		*u16 = NULL;
		*u16len = 0;
	}
	if (n == 0) {
		utf8[0] = '\0';
		if (u16 != NULL && (*u16 = malloc(1)) == NULL)
			return -1;
		return 0;
	}
	if (unicode) {
		if (utf16le_to_utf8(p, n, utf8, utf8len) != 0)
			return -1;
		if (u16 != NULL) {
			if ((*u16 = malloc(n)) == NULL)
				return -1;
			memcpy(*u16, p, n);
			*u16len = n;
		}
		return 0;
	}
	/* OEM strings: only ASCII is accepted (the code page is not known). */
	if (n >= utf8len)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] == 0 || p[i] >= 0x80)
			return -1;
		utf8[i] = (char)p[i];
	}
	utf8[n] = '\0';
	if (u16 != NULL && (*u16 = ntlm_utf16le(utf8, n, u16len)) == NULL)
		return -1;
	return 0;
}

void ntlm_auth_free(struct ntlm_auth *a)
{
	if (a == NULL)
		return;
	free(a->user_u16);
	free(a->domain_u16);
	if (a->nt_response != NULL)
		OPENSSL_cleanse(a->nt_response, a->nt_response_len);
	free(a->nt_response);
	free(a);
}

struct ntlm_auth *ntlm_parse_authenticate(const unsigned char *msg, size_t len,
    uint32_t challenge_flags, char *err, size_t errlen)
{
	struct ntlm_auth *a = NULL, *result = NULL;
	const unsigned char *nt, *dom, *user, *ws, *lm, *key;
	size_t nt_len, dom_len, user_len, ws_len, lm_len, key_len;
	int unicode = (challenge_flags & NTLM_FLAG_UNICODE) != 0;

	if (ntlm_message_type(msg, len) != 3) {
		errorf(err, errlen, "not an NTLMSSP AUTHENTICATE_MESSAGE");
		goto out;
	}
	if (len < AUTH_MIN_LEN) {
		errorf(err, errlen, "the AUTHENTICATE_MESSAGE is truncated");
		goto out;
	}
	if (field(msg, len, 12, &lm, &lm_len) != 0 || field(msg, len, 20, &nt, &nt_len) != 0 ||
	    field(msg, len, 28, &dom, &dom_len) != 0 || field(msg, len, 36, &user, &user_len) != 0 ||
	    field(msg, len, 44, &ws, &ws_len) != 0 ||
	    (len >= 60 && field(msg, len, 52, &key, &key_len) != 0)) {
		errorf(err, errlen, "an AUTHENTICATE_MESSAGE field lies outside the message");
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	a->flags = len >= 64 ? get32(msg + 60) : challenge_flags;
	if (user_len == 0 || (a->flags & NTLM_FLAG_ANONYMOUS)) {
		errorf(err, errlen, "anonymous NTLM sign-in is refused");
		goto out;
	}
	if (nt_len == 0) {
		errorf(err, errlen, "the AUTHENTICATE_MESSAGE has no NT response (LM only is refused)");
		goto out;
	}
	if (nt_len == 24) {
		errorf(err, errlen, "NTLMv1 responses are refused; the client must use NTLMv2");
		goto out;
	}
	if (nt_len < NTLMV2_MIN_RESPONSE || nt_len > NTLM_MAX_RESPONSE) {
		errorf(err, errlen, "the NTLMv2 response has an impossible length");
		goto out;
	}
	if (nt[16] != 1 || nt[17] != 1) {
		errorf(err, errlen, "the NTLMv2 client blob has an unknown RespType");
		goto out;
	}
	if (string_field(user, user_len, unicode, a->user, sizeof(a->user), &a->user_u16,
	    &a->user_u16_len) != 0 ||
	    string_field(dom, dom_len, unicode, a->domain, sizeof(a->domain), &a->domain_u16,
	    &a->domain_u16_len) != 0 ||
	    string_field(ws, ws_len, unicode, a->workstation, sizeof(a->workstation), NULL,
	    NULL) != 0) {
		errorf(err, errlen, "%s", "a user, domain or workstation name is not valid text "
		    "or is too long");
		goto out;
	}
	if ((a->nt_response = malloc(nt_len)) == NULL) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(a->nt_response, nt, nt_len);
	a->nt_response_len = nt_len;
	result = a;
	a = NULL;
out:
	ntlm_auth_free(a);
	return result;
}

static int hmac_md5(const unsigned char *key, size_t keylen, const unsigned char *data,
    size_t len, unsigned char out[16])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, key, keylen, data, len, out, 16,
	    &outlen) == NULL || outlen != 16)
		return -1;
	return 0;
}

int ntlm_verify_v2(const struct ntlm_auth *a, const unsigned char nt_hash[NTLM_HASH_LEN],
    const unsigned char challenge[NTLM_CHALLENGE_LEN])
{
	unsigned char *id = NULL, *data = NULL, owf[16], proof[16];
	size_t i, id_len, blob_len, data_len;
	int result = -1;

	if (a == NULL || a->nt_response_len < NTLMV2_MIN_RESPONSE)
		return 0;
	/* NTOWFv2 = HMAC-MD5(NT hash, UNICODE(Uppercase(user) + domain)). */
	id_len = a->user_u16_len + a->domain_u16_len;
	if ((id = malloc(id_len + 1)) == NULL)
		goto out;
	memcpy(id, a->user_u16, a->user_u16_len);
	for (i = 0; i + 1 < a->user_u16_len; i += 2)
		if (id[i + 1] == 0 && id[i] >= 'a' && id[i] <= 'z')
			id[i] = (unsigned char)(id[i] - 'a' + 'A');
	if (a->domain_u16_len > 0)
		memcpy(id + a->user_u16_len, a->domain_u16, a->domain_u16_len);
	if (hmac_md5(nt_hash, NTLM_HASH_LEN, id, id_len, owf) != 0)
		goto out;
	/* NTProofStr = HMAC-MD5(NTOWFv2, server challenge + client blob). */
	blob_len = a->nt_response_len - 16;
	data_len = NTLM_CHALLENGE_LEN + blob_len;
	if ((data = malloc(data_len)) == NULL)
		goto out;
	memcpy(data, challenge, NTLM_CHALLENGE_LEN);
	memcpy(data + NTLM_CHALLENGE_LEN, a->nt_response + 16, blob_len);
	if (hmac_md5(owf, sizeof(owf), data, data_len, proof) != 0)
		goto out;
	result = CRYPTO_memcmp(proof, a->nt_response, 16) == 0;
out:
	OPENSSL_cleanse(owf, sizeof(owf));
	OPENSSL_cleanse(proof, sizeof(proof));
	free(id);
	free(data);
	return result;
}

int ntlm_nt_hash(const char *password, unsigned char out[NTLM_HASH_LEN])
{
	EVP_MD *md4 = NULL;
	unsigned char *u16 = NULL;
	unsigned int n = 0;
	size_t len = 0;
	int result = -1;

	if ((u16 = ntlm_utf16le(password, strlen(password), &len)) == NULL)
		goto out;
	if ((md4 = EVP_MD_fetch(NULL, "MD4", NULL)) == NULL)
		goto out;
	if (EVP_Digest(u16, len, out, &n, md4, NULL) != 1 || n != NTLM_HASH_LEN)
		goto out;
	result = 0;
out:
	if (u16 != NULL)
		OPENSSL_clear_free(u16, len);
	EVP_MD_free(md4);
	return result;
}
