/* SPDX-License-Identifier: ISC */
/*
 * scepctl.c: administration of a scepd state folder: `init` (lab CA, RA
 * certificates, configuration, database), one-time challenge passwords,
 * requests waiting for approval, issued certificates and their revocation,
 * the CRL, and the CA rollover. It works on the same files and store as the
 * daemon, through the same modules; a revocation makes the CRL again at once
 * (the daemon would at the next CRL request anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "challenge.h"
#include "config.h"
#include "crl.h"
#include "csr.h"
#include "labca.h"
#include "oids.h"
#include "scep_types.h"
#include "signer.h"
#include "store.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr,
	    "usage: scepctl init -d dir [--listen host:port] [--ca-key spec] [--ca-subject dn]\n"
	    "                    [--import-ca cert key] [--challenge secret]\n"
	    "       scepctl [-f file] challenge new\n"
	    "       scepctl [-f file] cert list\n"
	    "       scepctl [-f file] cert revoke SERIAL [--reason REASON]\n"
	    "       scepctl [-f file] request list [--all]\n"
	    "       scepctl [-f file] request show|approve|reject ID\n"
	    "       scepctl [-f file] crl [--out FILE]\n"
	    "       scepctl [-f file] ca rollover [--at YYYY-MM-DDTHH:MM:SSZ | --in N[smhd]]\n"
	    "                          [--ca-key spec]\n"
	    "  -f file  scepd configuration (default " CONFIG_DEFAULT_FILE ")\n"
	    "  --ca-key rsa:2048 (default) | rsa:3072 | rsa:4096 | ec:p256 | ec:p384\n");
	exit(2);
}

/* --- init ---------------------------------------------------------------- */

struct init_options {
	const char *dir;
	const char *listen;
	const char *challenge;
	struct labca_options ca;
};

static void parse_init(int argc, char **argv, struct init_options *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8080";
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int more = argc - i - 1;

		if (strcmp(a, "-d") == 0 && more >= 1)
			o->dir = argv[++i];
		else if (strcmp(a, "--listen") == 0 && more >= 1)
			o->listen = argv[++i];
		else if (strcmp(a, "--ca-key") == 0 && more >= 1)
			o->ca.ca_key_spec = argv[++i];
		else if (strcmp(a, "--ca-subject") == 0 && more >= 1)
			o->ca.ca_subject = argv[++i];
		else if (strcmp(a, "--challenge") == 0 && more >= 1)
			o->challenge = argv[++i];
		else if (strcmp(a, "--import-ca") == 0 && more >= 2) {
			o->ca.import_cert = argv[++i];
			o->ca.import_key = argv[++i];
		} else
			usage();
	}
	if (o->dir == NULL)
		usage();
}

/* The configuration init writes: defaults, this folder's files, the options. */
static struct config *init_config(const struct init_options *o, const char *dir)
{
	struct config *cfg = NULL;
	char *text = NULL;

	if (strpbrk(o->listen, "\"\\") != NULL) {
		fprintf(stderr, "scepctl: bad --listen value\n");
		return NULL;
	}
	text = xasprintf("http: { listen = [\"%s\"]; };\n", o->listen);
	cfg = config_load_string("--listen", text, stderr);
	free(text);
	if (cfg == NULL)
		return NULL;
	/* Paths set after loading, so no file name needs escaping in libconfig syntax. */
	free(cfg->state_dir);
	free(cfg->database);
	free(cfg->ca_cert);
	free(cfg->ca_key);
	cfg->state_dir = xstrdup(dir);
	cfg->database = xasprintf("%s/scepd.db", dir);
	cfg->ca_cert = xasprintf("%s/ca.crt", dir);
	cfg->ca_key = xasprintf("%s/ca.key", dir);
	cfg->ra_sign_cert = xasprintf("%s/ra-sign.crt", dir);
	cfg->ra_sign_key = xasprintf("%s/ra-sign.key", dir);
	cfg->ra_enc_cert = xasprintf("%s/ra-enc.crt", dir);
	cfg->ra_enc_key = xasprintf("%s/ra-enc.key", dir);
	free(cfg->next_ca_cert);
	free(cfg->next_ca_key);
	free(cfg->next_ra_sign_cert);
	free(cfg->next_ra_sign_key);
	free(cfg->next_ra_enc_cert);
	free(cfg->next_ra_enc_key);
	cfg->next_ca_cert = xasprintf("%s/ca-next.crt", dir);
	cfg->next_ca_key = xasprintf("%s/ca-next.key", dir);
	cfg->next_ra_sign_cert = xasprintf("%s/ra-sign-next.crt", dir);
	cfg->next_ra_sign_key = xasprintf("%s/ra-sign-next.key", dir);
	cfg->next_ra_enc_cert = xasprintf("%s/ra-enc-next.crt", dir);
	cfg->next_ra_enc_key = xasprintf("%s/ra-enc-next.key", dir);
	if (o->challenge != NULL) {
		cfg->use_single_password = 1;
		free(cfg->single_password);
		cfg->single_password = xstrdup(o->challenge);
	}
	return cfg;
}

static int write_config(const struct config *cfg, const char *path)
{
	FILE *f = NULL;
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "scepctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto out;
	}
	fprintf(f, "# scepd configuration written by `scepctl init`; every setting is\n"
	    "# documented in scepd.conf(5). Check changes with: scepd -t -f %s\n\n", path);
	config_print(cfg, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "scepctl: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

static int cmd_init(int argc, char **argv)
{
	struct init_options o;
	struct config *cfg = NULL;
	struct store *st = NULL;
	char dir[PATH_MAX], err[512], *conf = NULL;
	int rc = 1;

	parse_init(argc, argv, &o);
	if (mkdir(o.dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "scepctl: %s: %s\n", o.dir, strerror(errno));
		goto out;
	}
	if (realpath(o.dir, dir) == NULL) {
		fprintf(stderr, "scepctl: %s: %s\n", o.dir, strerror(errno));
		goto out;
	}
	conf = xasprintf("%s/scepd.conf", dir);
	if (access(conf, F_OK) == 0) {
		fprintf(stderr, "scepctl: %s exists already; init never overwrites a state folder\n",
		    conf);
		goto out;
	}
	if ((cfg = init_config(&o, dir)) == NULL)
		goto out;
	o.ca.dir = dir;
	if (labca_create(&o.ca, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (write_config(cfg, conf) != 0)
		goto out;
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	printf("Created the scepd state folder %s:\n"
	    "  CA certificate   %s\n"
	    "  RA certificates  %s/ra-sign.crt (signing), %s/ra-enc.crt (encryption)\n"
	    "  configuration    %s\n"
	    "  database         %s\n\n"
	    "Start the server:  scepd -f %s\n"
	    "SCEP URL:          http://%s/certsrv/mscep/mscep.dll\n",
	    dir, cfg->ca_cert, dir, dir, conf, cfg->database, conf, o.listen);
	if (o.challenge != NULL)
		printf("Challenge:         the static password given with --challenge\n");
	else
		printf("Challenge:         scepctl -f %s challenge new   "
		    "(one-time, valid %u minutes)\n", conf, cfg->password_validity);
	rc = 0;
out:
	store_close(st);
	config_free(cfg);
	free(conf);
	return rc;
}

/* --- challenge ------------------------------------------------------------ */

static int cmd_challenge(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512], password[72];
	int rc = 1;

	if (argc != 1 || strcmp(argv[0], "new") != 0)
		usage();
	if (!cfg->enforce_password) {
		fprintf(stderr, "scepctl: challenge.EnforcePassword is false: requests need no "
		    "challenge password\n");
		goto out;
	}
	if (cfg->use_single_password) {
		fprintf(stderr, "scepctl: challenge.UseSinglePassword is true: clients use the static "
		    "password challenge.SinglePassword\n");
		goto out;
	}
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	switch (challenge_new(cfg, st, now_seconds(), password, sizeof(password))) {
	case STORE_OK:
		printf("%s\n", password);
		rc = 0;
		break;
	case STORE_CACHE_FULL:
		fprintf(stderr, "scepctl: the password cache is full: %u unused passwords are "
		    "waiting (challenge.PasswordMax); use one or wait until they expire\n",
		    cfg->password_max);
		break;
	default:
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		break;
	}
	OPENSSL_cleanse(password, sizeof(password));
out:
	store_close(st);
	return rc;
}

/* --- cert ---------------------------------------------------------------- */

static void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static int print_cert(const struct store_cert *c, void *arg)
{
	char expires[32];

	format_time(c->not_after, expires, sizeof(expires));
	printf("%-34s %-8s %-21s %s\n", c->serial, c->status, expires, c->subject);
	(*(int *)arg)++;
	return 0;
}

/* RFC 5280 CRLReason names accepted by --reason. */
static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", STORE_REASON_UNSPECIFIED },
	{ "keyCompromise", STORE_REASON_KEY_COMPROMISE },
	{ "cACompromise", STORE_REASON_CA_COMPROMISE },
	{ "affiliationChanged", STORE_REASON_AFFILIATION_CHANGED },
	{ "superseded", STORE_REASON_SUPERSEDED },
	{ "cessationOfOperation", STORE_REASON_CESSATION },
	{ "privilegeWithdrawn", STORE_REASON_PRIVILEGE_WITHDRAWN },
};

/*
 * The signer of the CA with key identifier key_id (or of ca.cert when
 * key_id is empty): the configured CA, or the rollover CA. NULL with a message.
 */
static struct signer *ca_signer(const struct config *cfg, const char *key_id, int *legacy)
{
	struct signer_files f;
	struct signer *s;
	char err[512], id[41];

	*legacy = 1;
	if ((s = signer_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		return NULL;
	}
	if (key_id == NULL || key_id[0] == '\0' ||
	    (signer_key_id(signer_ca_cert(s), id) == 0 && strcmp(id, key_id) == 0))
		return s;
	signer_free(s);
	if (cfg->next_ca_cert == NULL || access(cfg->next_ca_cert, F_OK) != 0) {
		fprintf(stderr, "scepctl: the certificate's CA (key %s) is not configured\n", key_id);
		return NULL;
	}
	memset(&f, 0, sizeof(f));
	f.ca_cert = cfg->next_ca_cert;
	f.ca_key = cfg->next_ca_key;
	if ((s = signer_load_files(&f, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		return NULL;
	}
	*legacy = 0;
	return s;
}

static int cmd_revoke(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_cert *c = NULL;
	struct signer *s = NULL;
	unsigned char *crl = NULL;
	size_t i, crl_len = 0;
	const char *serial = NULL, *rname = "unspecified";
	char err[512];
	int reason = -1, legacy, rc = 1, a;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--reason") == 0 && a + 1 < argc)
			rname = argv[++a];
		else if (serial == NULL && argv[a][0] != '-')
			serial = argv[a];
		else
			usage();
	}
	if (serial == NULL)
		usage();
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, rname) == 0)
			reason = reasons[i].code;
	if (reason < 0) {
		fprintf(stderr, "scepctl: unknown reason '%s'; known: unspecified, keyCompromise, "
		    "cACompromise, affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn\n", rname);
		return 2;
	}
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	switch (store_cert_by_serial(st, serial, &c)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		fprintf(stderr, "scepctl: no certificate with serial %s\n", serial);
		goto out;
	default:
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		goto out;
	}
	switch (store_cert_revoke(st, c->serial, reason, now_seconds())) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: certificate %s is revoked already\n", c->serial);
		goto out;
	default:
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		goto out;
	}
	printf("revoked %s (%s), reason %s\n", c->serial, c->subject, rname);
	rc = 0;
	/* The CRL now, so that it is current before any client asks. */
	if ((s = ca_signer(cfg, c->issuer_key_id, &legacy)) == NULL ||
	    crl_current(st, s, legacy, cfg->crl_validity_hours, now_seconds(), 0, &crl, &crl_len,
	    err, sizeof(err)) != 0) {
		if (s != NULL)
			fprintf(stderr, "scepctl: CRL: %s\n", err);
		fprintf(stderr, "scepctl: the CRL was not made now; scepd makes it at the next "
		    "request for it\n");
		goto out;
	}
	printf("CRL updated (%zu bytes)\n", crl_len);
out:
	free(crl);
	signer_free(s);
	store_cert_free(c);
	store_close(st);
	return rc;
}

static int cmd_cert(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512];
	int rc = 1, n = 0;

	if (argc >= 2 && strcmp(argv[0], "revoke") == 0)
		return cmd_revoke(cfg, argc - 1, argv + 1);
	if (argc != 1 || strcmp(argv[0], "list") != 0)
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	printf("%-34s %-8s %-21s %s\n", "SERIAL", "STATUS", "NOT AFTER", "SUBJECT");
	if (store_cert_foreach(st, print_cert, &n) < 0) {
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* --- request ------------------------------------------------------------- */

static const char *request_state(const struct store_pending *p)
{
	return p->decision[0] == '\0' ? "waiting" : p->decision;
}

static int print_request(const struct store_pending *p, void *arg)
{
	char when[32];

	format_time(p->created_at, when, sizeof(when));
	printf("%-6lld %-9s %-21s %-12s %-12s %s\n", (long long)p->id, request_state(p), when,
	    p->profile ? p->profile : "-", p->template_name ? p->template_name : "-",
	    p->subject ? p->subject : "");
	(*(int *)arg)++;
	return 0;
}

static void print_names(const GENERAL_NAMES *san)
{
	BIO *bio = BIO_new_fp(stdout, BIO_NOCLOSE);
	int i;

	for (i = 0; bio != NULL && san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		printf("%s", i ? ", " : "");
		GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(san, i));
		(void)BIO_flush(bio);
	}
	BIO_free(bio);
}

static int show_request(const struct store_pending *p)
{
	struct csr *csr;
	char when[32], hex[65], err[256];

	printf("request          %lld\n", (long long)p->id);
	printf("state            %s\n", request_state(p));
	printf("transactionID    %s\n", p->transaction_id);
	printf("message type     %s\n", scep_msgtype_name(p->message_type));
	printf("profile          %s\n", p->profile ? p->profile : "-");
	printf("template         %s\n", p->template_name ? p->template_name : "-");
	printf("client           %s\n", p->client_addr ? p->client_addr : "-");
	format_time(p->created_at, when, sizeof(when));
	printf("received         %s\n", when);
	if (p->decided_at != 0) {
		format_time(p->decided_at, when, sizeof(when));
		printf("decided          %s\n", when);
	}
	printf("subject          %s\n", p->subject ? p->subject : "");
	if (p->renew_serial[0] != '\0')
		printf("renews           %s\n", p->renew_serial);
	if ((csr = csr_parse(p->csr, p->csr_len, err, sizeof(err))) == NULL) {
		printf("request          unreadable: %s\n", err);
		return 0;
	}
	printf("key              %s %d bits, SHA-256 %s\n", csr->key_type == EVP_PKEY_RSA ?
	    "RSA" : csr->key_type == EVP_PKEY_EC ? "EC" : "other", csr->key_bits,
	    hex_encode(csr->spki_sha256, 32, hex, 0));
	printf("subjectAltName   ");
	print_names(csr->san);
	printf("\n");
	if (csr->has_key_usage)
		printf("key usage        0x%x\n", csr->key_usage);
	csr_free(csr);
	return 0;
}

static int cmd_request(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_pending *p = NULL;
	char err[512], *end;
	long long id = 0;
	int rc = 1, n = 0, all = 0;

	if (argc < 1)
		usage();
	if (strcmp(argv[0], "list") == 0) {
		if (argc == 2 && strcmp(argv[1], "--all") == 0)
			all = 1;
		else if (argc != 1)
			usage();
	} else if (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "approve") == 0 ||
	    strcmp(argv[0], "reject") == 0) {
		if (argc != 2)
			usage();
		id = strtoll(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || id <= 0) {
			fprintf(stderr, "scepctl: '%s' is not a request ID (see scepctl request list)\n",
			    argv[1]);
			return 2;
		}
	} else
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		printf("%-6s %-9s %-21s %-12s %-12s %s\n", "ID", "STATE", "RECEIVED", "PROFILE",
		    "TEMPLATE", "SUBJECT");
		if (store_pending_foreach(st, all, print_request, &n) < 0) {
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "show") == 0) {
		switch (store_pending_by_id(st, id, &p)) {
		case STORE_OK:
			rc = show_request(p);
			break;
		case STORE_NOT_FOUND:
			fprintf(stderr, "scepctl: no waiting request %lld\n", id);
			break;
		default:
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			break;
		}
		goto out;
	}
	switch (store_pending_decide(st, id, strcmp(argv[0], "approve") == 0, now_seconds())) {
	case STORE_OK:
		printf("request %lld %s; the certificate is %s when the client polls next\n", id,
		    argv[0][0] == 'a' ? "approved" : "rejected",
		    argv[0][0] == 'a' ? "issued" : "refused");
		rc = 0;
		break;
	case STORE_NOT_FOUND:
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: %s\n", store_errmsg(st));
		break;
	default:
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		break;
	}
out:
	store_pending_free(p);
	store_close(st);
	return rc;
}

/* --- crl ----------------------------------------------------------------- */

static int cmd_crl(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct signer *s = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	const char *out = NULL;
	char err[512];
	FILE *f = NULL;
	int rc = 1, legacy;

	if (argc == 2 && strcmp(argv[0], "--out") == 0)
		out = argv[1];
	else if (argc != 0)
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if ((s = ca_signer(cfg, NULL, &legacy)) == NULL)
		goto out;
	if (crl_current(st, s, legacy, cfg->crl_validity_hours, now_seconds(), 0, &der, &len,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: CRL: %s\n", err);
		goto out;
	}
	if ((f = out != NULL ? fopen(out, "wb") : stdout) == NULL ||
	    fwrite(der, 1, len, f) != len || fflush(f) != 0) {
		fprintf(stderr, "scepctl: %s: %s\n", out ? out : "stdout", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL && f != stdout)
		fclose(f);
	free(der);
	signer_free(s);
	store_close(st);
	return rc;
}

/* --- ca rollover ----------------------------------------------------------- */

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", or -1. */
static int64_t parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
			return -1;
	}
	return (int64_t)timegm(&tm);
}

/* "N" with a unit s, m, h or d (seconds when none), or -1. */
static int64_t parse_duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0 || v > 36500LL * 86400)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return v;
}

static int cmd_ca(const struct config *cfg, int argc, char **argv)
{
	struct labca_rollover ro;
	int64_t starts = now_seconds() + 30 * 86400, d;
	char err[512], when[32];
	int a;

	if (argc < 1 || strcmp(argv[0], "rollover") != 0)
		usage();
	memset(&ro, 0, sizeof(ro));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--at") == 0 && a + 1 < argc) {
			if ((starts = parse_time(argv[++a])) < 0) {
				fprintf(stderr, "scepctl: --at %s: use YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)\n", argv[a]);
				return 2;
			}
		} else if (strcmp(argv[a], "--in") == 0 && a + 1 < argc) {
			if ((d = parse_duration(argv[++a])) < 0) {
				fprintf(stderr, "scepctl: --in %s: use N with s, m, h or d\n", argv[a]);
				return 2;
			}
			starts = now_seconds() + d;
		} else if (strcmp(argv[a], "--ca-key") == 0 && a + 1 < argc) {
			ro.ca_key_spec = argv[++a];
		} else
			usage();
	}
	ro.ca_cert = cfg->ca_cert;
	ro.ra_sign_cert = cfg->ra_sign_cert;
	ro.next_cert = cfg->next_ca_cert;
	ro.next_key = cfg->next_ca_key;
	ro.next_ra_sign_cert = cfg->next_ra_sign_cert;
	ro.next_ra_sign_key = cfg->next_ra_sign_key;
	ro.next_ra_enc_cert = cfg->next_ra_enc_cert;
	ro.next_ra_enc_key = cfg->next_ra_enc_key;
	ro.starts = starts;
	if (labca_rollover(&ro, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	}
	format_time(starts, when, sizeof(when));
	printf("Rollover CA written to %s%s.\n"
	    "Restart scepd to load it: GetNextCACert hands it out (signed by the current CA)\n"
	    "until %s; from then on it is the CA, without a restart.\n",
	    cfg->next_ca_cert, cfg->ra_sign_cert != NULL ?
	    ", with new RA certificates" : "", when);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = CONFIG_DEFAULT_FILE;
	struct config *cfg = NULL;
	int i = 1, rc = 1;

	if (oids_register() != 0) {
		fprintf(stderr, "scepctl: cannot register the SCEP OIDs with OpenSSL\n");
		return 1;
	}
	if (i + 1 < argc && strcmp(argv[i], "-f") == 0) {
		file = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		usage();
	if (strcmp(argv[i], "init") == 0)
		return cmd_init(argc - i - 1, argv + i + 1);
	if ((cfg = config_load(file, stderr)) == NULL)
		return 1;
	if (strcmp(argv[i], "challenge") == 0)
		rc = cmd_challenge(cfg, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "cert") == 0)
		rc = cmd_cert(cfg, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "request") == 0)
		rc = cmd_request(cfg, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "crl") == 0)
		rc = cmd_crl(cfg, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "ca") == 0)
		rc = cmd_ca(cfg, argc - i - 1, argv + i + 1);
	else
		usage();
	config_free(cfg);
	return rc;
}
