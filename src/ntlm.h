/* SPDX-License-Identifier: ISC */
/*
 * ntlm.h: NTLMSSP messages (MS-NLMP 2.2) for HTTP sign-in on the mscep_admin
 * pages: parse NEGOTIATE (type 1) and AUTHENTICATE (type 3), build CHALLENGE
 * (type 2), and verify an NTLMv2 response against a stored NT hash. The parsers
 * are pure functions of (bytes, length): no globals, plain malloc, NULL on any
 * failure. NTLMv1 and anonymous sign-ins are refused. The NT hash
 * (MD4 of the UTF-16LE password) needs OpenSSL's legacy provider; only
 * ntlm_nt_hash() uses it, and only scepctl calls that.
 */
#ifndef NTLM_H
#define NTLM_H

#include <stddef.h>
#include <stdint.h>

#define NTLM_CHALLENGE_LEN 8
#define NTLM_HASH_LEN 16
#define NTLM_MAX_NAME 256          /* bytes of UTF-8 in a user, domain or host name */

/* NegotiateFlags (MS-NLMP 2.2.2.5) used here. */
#define NTLM_FLAG_UNICODE 0x00000001u
#define NTLM_FLAG_OEM 0x00000002u
#define NTLM_FLAG_REQUEST_TARGET 0x00000004u
#define NTLM_FLAG_SIGN 0x00000010u
#define NTLM_FLAG_SEAL 0x00000020u
#define NTLM_FLAG_NTLM 0x00000200u
#define NTLM_FLAG_ANONYMOUS 0x00000800u
#define NTLM_FLAG_ALWAYS_SIGN 0x00008000u
#define NTLM_FLAG_TARGET_TYPE_DOMAIN 0x00010000u
#define NTLM_FLAG_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLM_FLAG_TARGET_INFO 0x00800000u
#define NTLM_FLAG_VERSION 0x02000000u
#define NTLM_FLAG_128 0x20000000u
#define NTLM_FLAG_KEY_EXCH 0x40000000u
#define NTLM_FLAG_56 0x80000000u

/* 1 when the bytes start like an NTLMSSP message ("NTLMSSP\0"). */
int ntlm_is_ntlmssp(const unsigned char *msg, size_t len);

/* The message type (1, 2, 3) of an NTLMSSP message, or 0 if it is not one. */
int ntlm_message_type(const unsigned char *msg, size_t len);

/* NEGOTIATE_MESSAGE: only the flags matter to the server. 0, or -1 with err. */
int ntlm_parse_negotiate(const unsigned char *msg, size_t len, uint32_t *flags,
    char *err, size_t errlen);

/* The names a CHALLENGE_MESSAGE carries in its target information (UTF-8). */
struct ntlm_target {
	const char *nb_domain;     /* NetBIOS domain, also the TargetName */
	const char *nb_computer;
	const char *dns_domain;
	const char *dns_computer;
};

/*
 * Builds the CHALLENGE_MESSAGE answering a NEGOTIATE_MESSAGE with client_flags:
 * Unicode when the client offers it (else OEM), NTLM, target information, and
 * the session-security flags the client asked for. *flags_out gets the flags
 * sent, which ntlm_parse_authenticate() needs. malloc'd, NULL on failure.
 */
unsigned char *ntlm_build_challenge(uint32_t client_flags,
    const unsigned char challenge[NTLM_CHALLENGE_LEN], const struct ntlm_target *t,
    size_t *len, uint32_t *flags_out);

/* A parsed AUTHENTICATE_MESSAGE. Pointers are owned by the struct. */
struct ntlm_auth {
	uint32_t flags;
	char user[NTLM_MAX_NAME];          /* UTF-8, as sent */
	char domain[NTLM_MAX_NAME];
	char workstation[NTLM_MAX_NAME];
	unsigned char *user_u16;           /* UTF-16LE, as used by NTOWFv2 */
	size_t user_u16_len;
	unsigned char *domain_u16;
	size_t domain_u16_len;
	unsigned char *nt_response;        /* NTProofStr (16) + NTLMv2 client blob */
	size_t nt_response_len;
};

/*
 * Parses an AUTHENTICATE_MESSAGE; challenge_flags are the flags of the
 * CHALLENGE_MESSAGE it answers (they say whether strings are Unicode). Refuses
 * anonymous, NTLMv1 and LM-only responses. NULL with a reason in err.
 */
struct ntlm_auth *ntlm_parse_authenticate(const unsigned char *msg, size_t len,
    uint32_t challenge_flags, char *err, size_t errlen);
void ntlm_auth_free(struct ntlm_auth *a);

/*
 * Verifies the NTLMv2 response (MS-NLMP 3.3.2) of a against the account's NT
 * hash and the server challenge, in constant time. 1 = valid, 0 = not, -1 = a
 * crypto call failed.
 */
int ntlm_verify_v2(const struct ntlm_auth *a, const unsigned char nt_hash[NTLM_HASH_LEN],
    const unsigned char challenge[NTLM_CHALLENGE_LEN]);

/*
 * NT hash = MD4(UTF-16LE(password)). Needs the legacy provider loaded (the
 * caller loads it). 0, or -1 (invalid UTF-8, no MD4).
 */
int ntlm_nt_hash(const char *password, unsigned char out[NTLM_HASH_LEN]);

/*
 * UTF-8 to UTF-16LE (surrogate pairs beyond the BMP). malloc'd, *len bytes, NULL
 * for invalid UTF-8 or out of memory. Pure.
 */
unsigned char *ntlm_utf16le(const char *utf8, size_t utf8_len, size_t *len);

#endif
