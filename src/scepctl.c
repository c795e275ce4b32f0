/* SPDX-License-Identifier: ISC */
/*
 * scepctl.c: administration of a scepd state folder: `init` (lab CA, RA
 * certificates, configuration, database), one-time challenge passwords and the
 * list of issued certificates. It works on the same files and store as the
 * daemon, through the same modules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/provider.h>

#include "admin.h"
#include "challenge.h"
#include "config.h"
#include "labca.h"
#include "oids.h"
#include "store.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr,
	    "usage: scepctl init -d dir [--listen host:port] [--ca-key spec] [--ca-subject dn]\n"
	    "                    [--import-ca cert key] [--challenge secret]\n"
	    "       scepctl [-f file] challenge new | list | purge\n"
	    "       scepctl [-f file] user add name [--no-enroll-right] [--no-ntlm] "
	    "(password on stdin)\n"
	    "       scepctl [-f file] user del name\n"
	    "       scepctl [-f file] user list\n"
	    "       scepctl [-f file] cert list\n"
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
		    "(one-time, valid %u minutes)\n"
		    "NDES admin page:   http://%s/certsrv/mscep_admin/ after "
		    "`scepctl -f %s user add NAME`\n", conf, cfg->password_validity, o.listen, conf);
	rc = 0;
out:
	store_close(st);
	config_free(cfg);
	free(conf);
	return rc;
}

/* --- challenge ------------------------------------------------------------ */

static void format_time(int64_t t, char *buf, size_t len);

static int print_challenge(const struct store_challenge_info *ci, void *arg)
{
	char created[32], expires[32];

	format_time(ci->created_at, created, sizeof(created));
	format_time(ci->expires_at, expires, sizeof(expires));
	printf("%-16s  %-20s  %s\n", ci->id, created, expires);
	(*(int *)arg)++;
	return 0;
}

static int cmd_challenge(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512], password[72];
	int rc = 1, n = 0;

	if (argc != 1 || (strcmp(argv[0], "new") != 0 && strcmp(argv[0], "list") != 0 &&
	    strcmp(argv[0], "purge") != 0))
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		/* Only hashes are kept: a password is listed by the start of its SHA-256. */
		printf("%-16s  %-20s  %s\n", "SHA-256 (START)", "CREATED", "EXPIRES");
		if (store_challenge_foreach(st, now_seconds(), print_challenge, &n) < 0) {
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			goto out;
		}
		fprintf(stderr, "%d unused one-time password%s (challenge.PasswordMax %u)\n", n,
		    n == 1 ? "" : "s", cfg->password_max);
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "purge") == 0) {
		if ((n = store_challenge_purge(st, now_seconds())) < 0) {
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			goto out;
		}
		printf("removed %d used or expired one-time password%s\n", n, n == 1 ? "" : "s");
		rc = 0;
		goto out;
	}
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

/* --- user ---------------------------------------------------------------- */

/* Reads one line (the password) from standard input, without echo on a terminal. */
static int read_password(char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restore = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "Password: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin)) {
		fprintf(stderr, "scepctl: the password is longer than %zu bytes\n", len - 2);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "scepctl: no password on standard input\n");
		return -1;
	}
	return 0;
}

static int print_user(const struct store_user *u, void *arg)
{
	char created[32];

	format_time(u->created_at, created, sizeof(created));
	printf("%-24s %-6s %-12s %s\n", u->name, u->enroll ? "yes" : "no",
	    u->has_nt_hash ? "NTLM, Basic" : "Basic", created);
	(*(int *)arg)++;
	return 0;
}

static int cmd_user(const struct config *cfg, int argc, char **argv)
{
	OSSL_PROVIDER *legacy = NULL, *deflt = NULL;
	struct store *st = NULL;
	struct store_user u;
	char err[512], password[1024];
	int rc = 1, i, enroll = 1, ntlm = 1, n = 0;

	memset(&u, 0, sizeof(u));
	memset(password, 0, sizeof(password));
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			usage();
	} else if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0) {
		if (argc < 2)
			usage();
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[0], "add") == 0 && strcmp(argv[i], "--no-enroll-right") == 0)
				enroll = 0;
			else if (strcmp(argv[0], "add") == 0 && strcmp(argv[i], "--no-ntlm") == 0)
				ntlm = 0;
			else
				usage();
		}
		if (strcmp(argv[0], "add") == 0 && !admin_valid_user_name(argv[1])) {
			fprintf(stderr, "scepctl: %s: an account name is 1 to %d of A-Z a-z 0-9 . _ - @,"
			    " starting with a letter or digit\n", argv[1], STORE_USER_NAME_MAX);
			goto out;
		}
	} else
		usage();
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		printf("%-24s %-6s %-12s %s\n", "NAME", "ENROLL", "SIGN-IN", "CREATED");
		if (store_user_foreach(st, print_user, &n) < 0) {
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "del") == 0) {
		switch (store_user_del(st, argv[1])) {
		case STORE_OK:
			rc = 0;
			break;
		case STORE_NOT_FOUND:
			fprintf(stderr, "scepctl: no account named %s\n", argv[1]);
			break;
		default:
			fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
			break;
		}
		goto out;
	}
	if (read_password(password, sizeof(password)) != 0)
		goto out;
	/* MD4 (the NT hash) lives in OpenSSL's legacy provider; load it only here. */
	if (ntlm && ((legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL ||
	    (deflt = OSSL_PROVIDER_load(NULL, "default")) == NULL)) {
		fprintf(stderr, "scepctl: OpenSSL's legacy provider (MD4, for the NT hash) is not "
		    "available; use --no-ntlm for a Basic-only account\n");
		goto out;
	}
	snprintf(u.name, sizeof(u.name), "%s", argv[1]);
	u.enroll = enroll;
	u.created_at = now_seconds();
	if (admin_user_set_password(&u, password, ntlm) != 0) {
		fprintf(stderr, "scepctl: cannot hash the password (invalid UTF-8?)\n");
		goto out;
	}
	switch (store_user_add(st, &u)) {
	case STORE_OK:
		printf("added %s (%s sign-in, %s)\n", u.name, ntlm ? "NTLM and Basic" : "Basic only",
		    enroll ? "may obtain challenge passwords" : "gets the insufficient-permission page");
		rc = 0;
		break;
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: an account named %s exists already (user del it first)\n",
		    argv[1]);
		break;
	default:
		fprintf(stderr, "scepctl: store: %s\n", store_errmsg(st));
		break;
	}
out:
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(&u, sizeof(u));
	store_close(st);
	if (legacy != NULL)
		OSSL_PROVIDER_unload(legacy);
	if (deflt != NULL)
		OSSL_PROVIDER_unload(deflt);
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

static int cmd_cert(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512];
	int rc = 1, n = 0;

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
	else if (strcmp(argv[i], "user") == 0)
		rc = cmd_user(cfg, argc - i - 1, argv + i + 1);
	else
		usage();
	config_free(cfg);
	return rc;
}
