/* SPDX-License-Identifier: ISC */
/*
 * lab.c: lab mode's rule text and matching (lab.h). The parser is a pure
 * function of (text, length, now): no files, no globals, no store; it owns
 * the grammar that lab.rules and `scepctl lab rule add` share. What a matched
 * rule does to a request is scep.c's; where rules are kept is store.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lab.h"
#include "scep_types.h"
#include "util.h"

#define LAB_MAX_WORD 512

static const struct {
	const char *name;
	int value;
} lab_failinfos[] = {
	{ "badAlg", SCEP_FAIL_BADALG },
	{ "badMessageCheck", SCEP_FAIL_BADMESSAGECHECK },
	{ "badRequest", SCEP_FAIL_BADREQUEST },
	{ "badTime", SCEP_FAIL_BADTIME },
	{ "badCertId", SCEP_FAIL_BADCERTID },
};

static const char *const lab_outcomes[] = {
	[LAB_SUCCESS] = "success", [LAB_PENDING] = "pending", [LAB_FAILURE] = "failure",
	[LAB_HTTP] = "http", [LAB_WRONGKEY] = "wrongkey",
};

static const char *const lab_validities[] = {
	[LAB_VALIDITY_NORMAL] = "normal", [LAB_VALIDITY_EXPIRED] = "expired",
	[LAB_VALIDITY_SHORT] = "short", [LAB_VALIDITY_NOTYET] = "notyet",
};

const char *lab_outcome_name(enum lab_outcome o)
{
	return (size_t)o < sizeof(lab_outcomes) / sizeof(lab_outcomes[0]) ? lab_outcomes[o] : "?";
}

void lab_rule_free(struct lab_rule *r)
{
	if (r == NULL)
		return;
	free(r->profile);
	free(r->challenge);
	free(r->subject);
	free(r);
}

/* A decimal number in 0..max, the whole of v. 0, or -1. */
static int lab_number(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

/* The index of v in names (n of them), or -1. */
static int lab_word(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(v, names[i]) == 0)
			return (int)i;
	return -1;
}

/* hresult=0x8XXXXXXX (or decimal, as NDES writes it signed). 0, or -1. */
static int lab_hresult(const char *v, int32_t *out)
{
	char *end;
	long long n;

	errno = 0;
	if (strncasecmp(v, "0x", 2) == 0)
		n = (long long)strtoull(v + 2, &end, 16);
	else
		n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < INT32_MIN || n > (long long)UINT32_MAX)
		return -1;
	*out = (int32_t)(uint32_t)(n & 0xffffffffLL);
	return *out == 0 ? -1 : 0;
}

/*
 * The next word of text[*pos..len): key into key, value (unquoted) into val.
 * 1 with a word, 0 at the end, -1 with the reason.
 */
static int lab_next(const char *text, size_t len, size_t *pos, char *key, char *val,
    char *err, size_t errlen)
{
	size_t i = *pos, k = 0, v = 0;

	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	while (i < len && text[i] != '=' && text[i] != ' ' && text[i] != '\t') {
		if (!islower((unsigned char)text[i]) || k + 1 >= LAB_MAX_WORD) {
			errorf(err, errlen, "lab rule: expected key=value at character %zu", i + 1);
			return -1;
		}
		key[k++] = text[i++];
	}
	key[k] = '\0';
	if (i == len || text[i] != '=' || k == 0) {
		errorf(err, errlen, "lab rule: '%s' is not key=value", key);
		return -1;
	}
	i++;
	if (i < len && text[i] == '"') {
		for (i++; i < len && text[i] != '"'; i++) {
			if (text[i] == '\0' || v + 1 >= LAB_MAX_WORD)
				goto bad;
			val[v++] = text[i];
		}
		if (i == len) {
			errorf(err, errlen, "lab rule: %s: unterminated quotes", key);
			return -1;
		}
		i++;
		if (i < len && text[i] != ' ' && text[i] != '\t')
			goto bad;
	} else {
		for (; i < len && text[i] != ' ' && text[i] != '\t'; i++) {
			if (text[i] == '\0' || text[i] == '"' || v + 1 >= LAB_MAX_WORD)
				goto bad;
			val[v++] = text[i];
		}
	}
	val[v] = '\0';
	*pos = i;
	return 1;
bad:
	errorf(err, errlen, "lab rule: %s: bad value", key);
	return -1;
}

/* Sets one key of r from val. 0, or -1 with the reason. */
static int lab_set(struct lab_rule *r, const char *key, const char *val, int64_t now,
    char *err, size_t errlen)
{
	unsigned long long n;
	int i;

	if (strcmp(key, "profile") == 0 || strcmp(key, "challenge") == 0 ||
	    strcmp(key, "subject") == 0) {
		char **f = key[0] == 'p' ? &r->profile : key[0] == 'c' ? &r->challenge :
		    &r->subject;

		if (*f != NULL || val[0] == '\0')
			goto bad;
		*f = xstrdup(val);
		return 0;
	}
	if (strcmp(key, "outcome") == 0) {
		if ((i = lab_word(val, lab_outcomes, sizeof(lab_outcomes) / sizeof(lab_outcomes[0]))) < 0)
			goto bad;
		r->outcome = (enum lab_outcome)i;
		return 0;
	}
	if (strcmp(key, "then") == 0) {
		if (strcmp(val, "success") != 0 && strcmp(val, "failure") != 0)
			goto bad;
		r->then_failure = val[0] == 'f';
		return 0;
	}
	if (strcmp(key, "failinfo") == 0) {
		for (size_t j = 0; j < sizeof(lab_failinfos) / sizeof(lab_failinfos[0]); j++)
			if (strcmp(val, lab_failinfos[j].name) == 0) {
				r->failinfo = lab_failinfos[j].value;
				return 0;
			}
		goto bad;
	}
	if (strcmp(key, "hresult") == 0)
		return lab_hresult(val, &r->hresult) == 0 ? 0 : (errorf(err, errlen, "lab rule: "
		    "hresult: \"%s\" is not a non-zero 32-bit HRESULT (0x80094800)", val), -1);
	if (strcmp(key, "validity") == 0) {
		if ((i = lab_word(val, lab_validities, sizeof(lab_validities) /
		    sizeof(lab_validities[0]))) < 0)
			goto bad;
		r->validity = (enum lab_validity)i;
		return 0;
	}
	if (strcmp(key, "polls") == 0 && lab_number(val, LAB_MAX_POLLS, &n) == 0 && n > 0) {
		r->polls = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "delay") == 0 && lab_number(val, LAB_MAX_DELAY, &n) == 0) {
		r->delay = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "status") == 0 && lab_number(val, 599, &n) == 0 &&
	    (n == 403 || n == 500 || n == 503)) {
		r->http_status = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "uses") == 0 && lab_number(val, 1000000, &n) == 0) {
		r->uses = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "expires") == 0) {
		if (val[0] == '+' && lab_number(val + 1, 100LL * 366 * 86400, &n) == 0 && n > 0) {
			r->expires = now + (int64_t)n;
			return 0;
		}
		if (lab_number(val, INT64_MAX, &n) == 0 && n > 0) {
			r->expires = (int64_t)n;
			return 0;
		}
		goto bad;
	}
	if (strcmp(key, "polls") == 0 || strcmp(key, "delay") == 0 ||
	    strcmp(key, "status") == 0 || strcmp(key, "uses") == 0)
		goto bad;   /* a known key with a value out of range */
	errorf(err, errlen, "lab rule: unknown key '%s' (profile, challenge, subject, outcome, "
	    "polls, then, failinfo, hresult, delay, validity, status, uses, expires)", key);
	return -1;
bad:
	errorf(err, errlen, "lab rule: %s: \"%.60s\" is not allowed%s", key, val,
	    strcmp(key, "status") == 0 ? " (403, 500 or 503)" :
	    strcmp(key, "outcome") == 0 ? " (success, pending, failure, http, wrongkey)" :
	    strcmp(key, "failinfo") == 0 ? " (badAlg, badMessageCheck, badRequest, badTime, "
	    "badCertId)" : strcmp(key, "validity") == 0 ? " (expired, short, notyet)" :
	    strcmp(key, "polls") == 0 ? " (1..1000)" : strcmp(key, "delay") == 0 ?
	    " (0..600 seconds)" : "");
	return -1;
}

/* The combinations that make sense. 0, or -1 with the reason. */
static int lab_check(const struct lab_rule *r, char *err, size_t errlen)
{
	if (r->outcome == LAB_HTTP && r->http_status == 0) {
		errorf(err, errlen, "lab rule: outcome=http needs status=403, 500 or 503");
		return -1;
	}
	if (r->outcome != LAB_HTTP && r->http_status != 0) {
		errorf(err, errlen, "lab rule: status= goes with outcome=http");
		return -1;
	}
	if (r->outcome != LAB_PENDING && (r->polls != 0 || r->then_failure)) {
		errorf(err, errlen, "lab rule: polls= and then= go with outcome=pending");
		return -1;
	}
	if ((r->failinfo != SCEP_FAIL_NONE || r->hresult != 0) && r->outcome != LAB_FAILURE &&
	    !(r->outcome == LAB_PENDING && r->then_failure)) {
		errorf(err, errlen, "lab rule: failinfo= and hresult= go with outcome=failure or "
		    "then=failure");
		return -1;
	}
	if (r->validity != LAB_VALIDITY_NORMAL && (r->outcome == LAB_FAILURE ||
	    r->outcome == LAB_HTTP || (r->outcome == LAB_PENDING && r->then_failure))) {
		errorf(err, errlen, "lab rule: validity= needs an outcome that issues");
		return -1;
	}
	return 0;
}

struct lab_rule *lab_rule_parse(const char *text, size_t len, int64_t now, char *err,
    size_t errlen)
{
	struct lab_rule *r = NULL, *result = NULL;
	char *key = NULL, *val = NULL;
	size_t pos = 0;
	int rc, have_outcome = 0;

	if (text == NULL || len == 0 || len > LAB_RULE_MAX_TEXT) {
		errorf(err, errlen, "lab rule: empty or longer than %d characters",
		    LAB_RULE_MAX_TEXT);
		goto out;
	}
	key = xmalloc(LAB_MAX_WORD);
	val = xmalloc(LAB_MAX_WORD);
	r = xcalloc(1, sizeof(*r));
	r->failinfo = SCEP_FAIL_NONE;
	while ((rc = lab_next(text, len, &pos, key, val, err, errlen)) == 1) {
		if (strcmp(key, "outcome") == 0 && have_outcome++) {
			errorf(err, errlen, "lab rule: outcome given twice");
			goto out;
		}
		if (lab_set(r, key, val, now, err, errlen) != 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (!have_outcome) {
		errorf(err, errlen, "lab rule: no outcome= (success, pending, failure, http, "
		    "wrongkey)");
		goto out;
	}
	if (lab_check(r, err, errlen) != 0)
		goto out;
	if (r->outcome == LAB_PENDING && r->polls == 0)
		r->polls = 1;
	if (r->failinfo == SCEP_FAIL_NONE)
		r->failinfo = SCEP_FAIL_BADREQUEST;
	result = r;
	r = NULL;
out:
	free(key);
	free(val);
	lab_rule_free(r);
	return result;
}

int lab_rule_matches(const struct lab_rule *r, const char *profile, const char *challenge,
    const char *subject)
{
	if (r->profile != NULL && (profile == NULL || strcmp(r->profile, profile) != 0))
		return 0;
	if (r->challenge != NULL && (challenge == NULL || strcmp(r->challenge, challenge) != 0))
		return 0;
	if (r->subject != NULL && (subject == NULL || fnmatch(r->subject, subject, 0) != 0))
		return 0;
	return 1;
}

int lab_validity_window(enum lab_validity v, int64_t now, int64_t *not_before,
    int64_t *not_after)
{
	switch (v) {
	case LAB_VALIDITY_EXPIRED:
		*not_before = now - 2 * 86400;
		*not_after = now - 86400;
		return 0;
	case LAB_VALIDITY_SHORT:
		*not_before = now;
		*not_after = now + 300;
		return 0;
	case LAB_VALIDITY_NOTYET:
		*not_before = now + 86400;
		*not_after = now + 30 * 86400;
		return 0;
	default:
		return -1;
	}
}
