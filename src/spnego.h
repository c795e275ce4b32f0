/* SPDX-License-Identifier: ISC */
/*
 * spnego.h: the small part of SPNEGO (RFC 4178) that HTTP Negotiate sign-in
 * with NTLM needs: read a NegTokenInit (inside the GSS-API InitialContextToken)
 * or a NegTokenResp and find the NTLMSSP token in it; write a NegTokenResp.
 * Parsing is a pure function of (bytes, length) over strict DER with exact
 * lengths; results point into the input. Kerberos is not handled here: the
 * parser only says whether it is offered, and admin.c hands such tokens whole
 * to GSS-API (krbauth.c), whose SPNEGO produces and checks the mechListMIC.
 */
#ifndef SPNEGO_H
#define SPNEGO_H

#include <stddef.h>

enum spnego_kind {
	SPNEGO_INIT = 1,   /* NegTokenInit: the first token */
	SPNEGO_RESP = 2,   /* NegTokenResp: later tokens */
};

/* negState values (RFC 4178 4.2.2). */
enum spnego_state {
	SPNEGO_ACCEPT_COMPLETED = 0,
	SPNEGO_ACCEPT_INCOMPLETE = 1,
	SPNEGO_REJECT = 2,
	SPNEGO_REQUEST_MIC = 3,
};

struct spnego_token {
	enum spnego_kind kind;
	int ntlm_offered;               /* INIT: NTLMSSP is in mechTypes */
	int ntlm_first;                 /* INIT: ... and it is the first choice */
	int krb5_offered;               /* INIT: Kerberos V5 (either OID) is in mechTypes */
	int neg_state;                  /* RESP: negState, -1 when absent */
	const unsigned char *mech_token;/* INIT mechToken / RESP responseToken, or NULL */
	size_t mech_token_len;
	int has_mic;                    /* mechListMIC present (not verified) */
};

/* 1 when the bytes look like SPNEGO (an InitialContextToken or a NegTokenResp). */
int spnego_is_spnego(const unsigned char *in, size_t len);

/* 1 when the bytes are a raw Kerberos V5 InitialContextToken (RFC 4121 4.1). */
int spnego_is_krb5(const unsigned char *in, size_t len);

/* 0 and *out filled, or -1 with a reason in err. */
int spnego_parse(const unsigned char *in, size_t len, struct spnego_token *out,
    char *err, size_t errlen);

/*
 * A NegTokenResp with negState, supportedMech NTLMSSP when with_mech, and
 * responseToken tok (if tok != NULL). malloc'd, NULL on failure.
 */
unsigned char *spnego_build_resp(int neg_state, int with_mech, const unsigned char *tok,
    size_t tok_len, size_t *len);

#endif
