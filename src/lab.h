/* SPDX-License-Identifier: ISC */
/*
 * lab.h: lab mode's scripted outcomes (lab.enabled): the rule text that
 * lab.rules and `scepctl lab rule add` take, parsed by a pure function, and
 * the matching of a rule against an enrollment (profile, challenge, subject).
 * It decides nothing about real requests: scep.c asks it, and applies what it
 * says (a FAILURE, PENDING for N polls, a delay, an HTTP error, a validity
 * override, a CertRep signed by a throwaway key).
 */
#ifndef LAB_H
#define LAB_H

#include <stddef.h>
#include <stdint.h>

/* A rule's text is at most this long. */
#define LAB_RULE_MAX_TEXT 1024

enum lab_outcome {
	LAB_SUCCESS,     /* issue, whatever the challenge */
	LAB_PENDING,     /* PENDING for polls CertPolls, then SUCCESS or FAILURE */
	LAB_FAILURE,     /* FAILURE with failinfo (and hresult) */
	LAB_HTTP,        /* an HTTP error status instead of a CertRep, like a broken IIS */
	LAB_WRONGKEY,    /* issue, but sign the CertRep with a throwaway key */
};

enum lab_validity {
	LAB_VALIDITY_NORMAL,
	LAB_VALIDITY_EXPIRED,    /* notBefore 2 days ago, notAfter 1 day ago */
	LAB_VALIDITY_SHORT,      /* valid for 5 minutes from now */
	LAB_VALIDITY_NOTYET,     /* valid from 1 day from now */
};

struct lab_rule {
	/* what it matches; NULL matches anything */
	char *profile;           /* profile name ("default": the NDES paths) */
	char *challenge;         /* the CSR's challengePassword, exactly */
	char *subject;           /* fnmatch(3) pattern over the subject as logged */
	/* what it does */
	enum lab_outcome outcome;
	unsigned polls;          /* LAB_PENDING: CertPolls answered PENDING (default 1) */
	int then_failure;        /* LAB_PENDING: then FAILURE (else SUCCESS) */
	int failinfo;            /* FAILURE: SCEP_FAIL_* (default badRequest) */
	int32_t hresult;         /* FAILURE: NDES HRESULT; 0 = NDES's for failinfo */
	unsigned delay;          /* seconds to wait before answering, 0..LAB_MAX_DELAY */
	enum lab_validity validity;
	unsigned http_status;    /* LAB_HTTP: 403, 500 or 503 */
	/* how long it lives */
	unsigned uses;           /* times it applies; 0 = unlimited */
	int64_t expires;         /* seconds since the epoch; 0 = never */
};

#define LAB_MAX_DELAY 600
#define LAB_MAX_POLLS 1000

/*
 * Parses rule text: space-separated key=value words (a value may be in
 * double quotes): profile=, challenge=, subject= (what it matches),
 * outcome=success|pending|failure|http|wrongkey, polls=N, then=success|failure,
 * failinfo=badAlg|badMessageCheck|badRequest|badTime|badCertId, hresult=0xHEX,
 * delay=SECONDS, validity=expired|short|notyet, status=403|500|503, uses=N,
 * expires=+SECONDS (from now) or SECONDS since the epoch. A pure function of
 * (text, len, now). NULL with the reason on error.
 */
struct lab_rule *lab_rule_parse(const char *text, size_t len, int64_t now, char *err,
    size_t errlen);
void lab_rule_free(struct lab_rule *r);

/* 1 when r matches an enrollment for profile with this challenge (or NULL) and subject. */
int lab_rule_matches(const struct lab_rule *r, const char *profile, const char *challenge,
    const char *subject);

/* "success", "pending", ... */
const char *lab_outcome_name(enum lab_outcome o);

/*
 * The certificate window of a validity override at now: 0 with *not_before
 * and *not_after set, or -1 for LAB_VALIDITY_NORMAL (the template decides).
 */
int lab_validity_window(enum lab_validity v, int64_t now, int64_t *not_before,
    int64_t *not_after);

#endif
