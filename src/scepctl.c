/* SPDX-License-Identifier: ISC */
/*
 * scepctl.c: administration of a scepd state folder: `init` (lab CA, RA
 * certificates, configuration, database), one-time challenge passwords, the
 * list of issued certificates and RA certificate renewal. It works on the
 * same files and store as the daemon, through the same modules.
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

#include "challenge.h"
#include "config.h"
#include "labca.h"
#include "oids.h"
#include "scep.h"
#include "store.h"
#include "util.h"

static void usage(void)
{
	fprintf(stderr,
	    "usage: scepctl init -d dir [--listen host:port] [--ca-key spec] [--ca-subject dn]\n"
	    "                    [--import-ca cert key] [--challenge secret]\n"
	    "       scepctl [-f file] challenge new\n"
	    "       scepctl [-f file] cert list\n"
	    "       scepctl [-f file] ra renew [--days n]\n"
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
	cfg->access_log = xasprintf("%s/access.log", dir);
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
	    "  database         %s\n"
	    "  access log       %s\n\n"
	    "Start the server:  scepd -f %s\n"
	    "SCEP URL:          http://%s/certsrv/mscep/mscep.dll\n",
	    dir, cfg->ca_cert, dir, dir, conf, cfg->database, cfg->access_log, conf, o.listen);
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

/* --- ra -------------------------------------------------------------------- */

static int cmd_ra(const struct config *cfg, int argc, char **argv)
{
	struct labca_renew_options o;
	char err[512], *end;
	unsigned long days = 730;

	if (argc < 1 || strcmp(argv[0], "renew") != 0)
		usage();
	if (argc == 3 && strcmp(argv[1], "--days") == 0) {
		errno = 0;
		days = strtoul(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || days < 1 || days > 3650) {
			fprintf(stderr, "scepctl: --days takes 1 to 3650\n");
			return 2;
		}
	} else if (argc != 1) {
		usage();
	}
	if (cfg->ra_sign_cert == NULL) {
		fprintf(stderr, "scepctl: %s has no ra group: the CA acts as RA, there are no RA "
		    "certificates to renew\n", cfg->file);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.ca_cert = cfg->ca_cert;
	o.ca_key = cfg->ca_key;
	o.sign_cert = cfg->ra_sign_cert;
	o.sign_key = cfg->ra_sign_key;
	o.enc_cert = cfg->ra_enc_cert;
	o.enc_key = cfg->ra_enc_key;
	o.days = (unsigned)days;
	o.prev_suffix = SCEP_RA_PREVIOUS_SUFFIX;
	if (labca_ra_renew(&o, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	}
	printf("New RA certificates, valid %lu days, issued by %s:\n  %s\n", days, cfg->ca_cert,
	    cfg->ra_sign_cert);
	if (strcmp(cfg->ra_sign_cert, cfg->ra_enc_cert) != 0)
		printf("  %s\n", cfg->ra_enc_cert);
	printf("The previous ones are kept as *%s.\n"
	    "Reload scepd (systemctl reload scepd, or kill -HUP) to serve them: GetCACert then\n"
	    "hands out the new certificates, and requests encrypted to the previous ones are\n"
	    "still answered by them until they expire or the *%s files are removed (and\n"
	    "scepd reloaded).\n", SCEP_RA_PREVIOUS_SUFFIX, SCEP_RA_PREVIOUS_SUFFIX);
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
	else if (strcmp(argv[i], "ra") == 0)
		rc = cmd_ra(cfg, argc - i - 1, argv + i + 1);
	else
		usage();
	config_free(cfg);
	return rc;
}
