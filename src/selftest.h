/* SPDX-License-Identifier: ISC */
/*
 * selftest.h: `scepctl selftest URL`, a SCEP server judged the way each client
 * family judges it (strongSwan 5.9, Apple iOS/macOS, Windows MDM, jscep,
 * certmonger). The family rules are a table in selftest.c, each rule citing
 * its source; the judges of the GetCACaps and GetCACert answers are pure
 * functions of (family, answer) so that unit tests and a fuzz target drive
 * them without a server. selftest_run does the HTTP (through scep_client.h)
 * and prints the table.
 */
#ifndef SELFTEST_H
#define SELFTEST_H

#include <stddef.h>
#include <stdio.h>

struct scep_client_answer;

enum selftest_level {
	SELFTEST_ACCEPT = 0,
	SELFTEST_WARN = 1,           /* works, but a real device may stumble (the reason says) */
	SELFTEST_REJECT = 2,         /* the family would refuse */
	SELFTEST_SKIPPED = 3,        /* not tried (no challenge, an earlier step failed) */
};

/* A verdict: the worst level seen and the reasons, "; "-separated. */
struct selftest_verdict {
	enum selftest_level level;
	char why[768];
};

/* What one family made of the GetCACaps answer. */
struct selftest_caps_view {
	unsigned caps;               /* SCEP_CAP_* as the family understood the text */
	int cipher_nid;              /* what its requests would use */
	int digest_nid;
	int post;                    /* PKIOperation by POST */
	struct selftest_verdict v;
};

/* The number of families; a family is an index 0 .. selftest_families() - 1. */
int selftest_families(void);
const char *selftest_family_name(int family);

/* The message= a family sends with GetCACaps and GetCACert (NULL: none). */
const char *selftest_family_message(int family);

/* Judges a GetCACaps answer as family does. Pure. */
void selftest_judge_caps(int family, const struct scep_client_answer *a,
    struct selftest_caps_view *out);

/* Judges a GetCACert answer as family does (certificate selection). Pure. */
void selftest_judge_cacert(int family, const struct scep_client_answer *a,
    struct selftest_verdict *out);

struct selftest_options {
	const char *url;             /* http:// or https:// */
	const char *ca_bundle;       /* https: PEM bundle; NULL: the system's */
	const char **challenges;     /* one per family in table order, the last one repeated */
	int n_challenges;            /* 0: no enrollment, only a challenge-less PKCSReq */
	const char *only;            /* NULL, or the one family to test (name, case-insensitive) */
	unsigned timeout;            /* seconds per HTTP exchange */
};

/*
 * Probes the server, prints the table and the reasons to out. Returns the
 * exit status: 0 every family accepts, 1 one rejects or the server cannot be
 * reached, 2 bad options.
 */
int selftest_run(const struct selftest_options *o, FILE *out);

#endif
