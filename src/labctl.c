/* SPDX-License-Identifier: ISC */
/*
 * labctl.c: `scepctl lab rule add|list|del`. Rules are checked with the same
 * parser scepd uses (lab_rule_parse) before they are stored, and refused
 * unless the configuration has lab.enabled = true. It prints and stores;
 * what a rule does to a request is scep.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "lab.h"
#include "labctl.h"
#include "store.h"
#include "util.h"

/* UTC time as 2026-12-06T14:00:00Z into buf, or "never" for 0. */
static const char *labctl_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "never");
	return buf;
}

static int labctl_print(const struct store_lab_rule *r, void *arg)
{
	char exp[32], uses[48];
	int64_t now = *(const int64_t *)arg;

	if (r->uses == 0)
		snprintf(uses, sizeof(uses), "%u/-", r->used);
	else
		snprintf(uses, sizeof(uses), "%u/%u", r->used, r->uses);
	printf("%-5lld %-8s %-9s %-21s %-8s %s\n", (long long)r->id, r->origin, uses,
	    labctl_time(r->expires_at, exp, sizeof(exp)),
	    (r->uses != 0 && r->used >= r->uses) ? "used up" :
	    (r->expires_at != 0 && r->expires_at <= now) ? "expired" : "active", r->rule);
	return 0;
}

/* The rule text: the words after "add", joined by spaces, into a malloc'd string. */
static char *labctl_join(int argc, char **argv)
{
	size_t len = 1;
	char *text;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = xcalloc(1, len);
	for (i = 0; i < argc; i++) {
		if (i > 0)
			strcat(text, " ");
		strcat(text, argv[i]);
	}
	return text;
}

static int labctl_add(struct store *st, int argc, char **argv)
{
	struct store_lab_rule sr;
	struct lab_rule *r = NULL;
	char *text = labctl_join(argc, argv), err[256], exp[32], uses[32];
	int64_t id = 0, now = now_seconds();
	int rc = 1;

	if ((r = lab_rule_parse(text, strlen(text), now, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		rc = 2;
		goto out;
	}
	memset(&sr, 0, sizeof(sr));
	sr.rule = text;
	sr.origin = "scepctl";
	sr.uses = r->uses;
	sr.expires_at = r->expires;
	sr.created_at = now;
	if (store_lab_rule_add(st, &sr, &id) != STORE_OK) {
		fprintf(stderr, "scepctl: %s\n", store_errmsg(st));
		goto out;
	}
	snprintf(uses, sizeof(uses), "%u use(s)", r->uses);
	printf("lab rule %lld added: outcome=%s, %s, expires %s; it applies from the next "
	    "request\n", (long long)id, lab_outcome_name(r->outcome), r->uses == 0 ?
	    "unlimited uses" : uses, labctl_time(r->expires, exp, sizeof(exp)));
	rc = 0;
out:
	lab_rule_free(r);
	free(text);
	return rc;
}

static int labctl_del(struct store *st, const char *arg)
{
	char *end;
	long long id;

	errno = 0;
	id = strtoll(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || id <= 0) {
		fprintf(stderr, "scepctl: lab rule del: '%s' is not a rule ID (see scepctl lab "
		    "rule list)\n", arg);
		return 2;
	}
	switch (store_lab_rule_del(st, id)) {
	case STORE_OK:
		printf("lab rule %lld deleted\n", id);
		return 0;
	case STORE_NOT_FOUND:
		fprintf(stderr, "scepctl: no lab rule %lld\n", id);
		return 1;
	default:
		fprintf(stderr, "scepctl: %s\n", store_errmsg(st));
		return 1;
	}
}

int labctl_run(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512];
	int64_t now = now_seconds();
	int rc = 1;

	if (argc < 2 || strcmp(argv[0], "rule") != 0) {
		fprintf(stderr, "scepctl: lab: expected rule add|list|del\n");
		return 2;
	}
	if (!((strcmp(argv[1], "add") == 0 && argc >= 3) ||
	    (strcmp(argv[1], "list") == 0 && argc == 2) ||
	    (strcmp(argv[1], "del") == 0 && argc == 3))) {
		fprintf(stderr, "scepctl: lab rule: expected add RULE..., list or del ID\n");
		return 2;
	}
	if (!cfg->lab_enabled) {
		fprintf(stderr, "scepctl: %s: lab rules are refused: lab.enabled is not true "
		    "(lab mode is for test servers only)\n", cfg->file);
		return 1;
	}
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[1], "add") == 0) {
		rc = labctl_add(st, argc - 2, argv + 2);
	} else if (strcmp(argv[1], "del") == 0) {
		rc = labctl_del(st, argv[2]);
	} else {
		printf("%-5s %-8s %-9s %-21s %-8s %s\n", "ID", "ORIGIN", "USED", "EXPIRES",
		    "STATE", "RULE");
		if (store_lab_rule_foreach(st, now, 1, labctl_print, &now) < 0) {
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			goto out;
		}
		rc = 0;
	}
out:
	store_close(st);
	return rc;
}
