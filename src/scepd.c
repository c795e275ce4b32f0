/* SPDX-License-Identifier: ISC */
/*
 * scepd.c: the daemon's command line, start-up order and signals: read the
 * configuration (or only check it, -t, or print it, -T), check that the files
 * holding secrets are private (filemode.c), register OIDs, start logging, take
 * the sockets systemd passed or bind its own, drop to the service user (user,
 * group) when started as root, load keys and the store, start HTTP, tell
 * systemd READY=1, then wait for signals:
 *   SIGHUP   reload: configuration, certificates and keys, as a new state
 *            generation; a configuration that does not load, a file that is
 *            no longer private, or a listener that cannot start, is refused
 *            and the running one keeps serving
 *   SIGUSR1  re-open the access log (after logrotate)
 *   SIGTERM, SIGINT  stop accepting, let requests in flight finish for at
 *            most http.drain_timeout seconds, exit 0
 * and, once a second, retire replaced listeners and, once a day, check
 * certificate expiry. systemd hears READY, RELOADING, STOPPING and STATUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "config.h"
#include "filemode.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "oids.h"
#include "keyproc.h"
#include "pemfile.h"
#include "pkcs11.h"
#include "privdrop.h"
#include "signer_remote.h"
#include "service.h"
#include "signer.h"
#include "store.h"
#include "systemd.h"
#include "trustedra.h"
#include "util.h"

#ifndef SCEPD_VERSION
#define SCEPD_VERSION "0"
#endif

#define EXPIRY_CHECK_INTERVAL 86400
#define TOKEN_CHECK_INTERVAL 3       /* seconds between probes of PKCS#11 keys */

/* What the main loop works with. */
struct daemon {
	const char *file;
	struct metrics *metrics;
	struct service *svc;
	struct httpd *httpd;
	int64_t last_expiry_check;
	char expiry_status[256];
	int64_t last_token_check;    /* PKCS#11 keys: when they were last probed */
	int token_down;              /* a probe failed; reloading until one succeeds */
	int drop;                    /* started as root with user set: drop to user */
	struct privdrop_user user;
	struct keyproc *keyproc;   /* the signer process, or NULL (signer.process false) */
	struct filemode_owners owners; /* who may own the private files */
};

/*
 * Prints the usage to out and exits with status: 0 for -h/--help (stdout), 2
 * for a usage error (stderr). Reads no configuration.
 */
static void usage(FILE *out, int status)
{
	fprintf(out, "usage: scepd [-t | -T] [-f file]\n"
	    "       scepd -h | --help | --version\n"
	    "  -f file    configuration file (default " CONFIG_DEFAULT_FILE ")\n"
	    "  -t         check the configuration and exit 0 (valid) or 1\n"
	    "  -T         check it and print the effective configuration\n"
	    "  -h, --help this help; --version: the version\n"
	    "Exit status: 0 stopped by a signal or configuration valid, 1 configuration\n"
	    "or start-up error, 2 usage error. See scepd(8) and scepd.conf(5).\n");
	exit(status);
}

/* The log settings of cfg; 0, or -1 with a reason. */
static int log_options(const struct config *cfg, struct log_options *o, char *err,
    size_t errlen)
{
	int facility = log_facility_from_name(cfg->log_facility);

	memset(o, 0, sizeof(*o));
	o->target = strcmp(cfg->log_target, "syslog") == 0 ? LOG_TO_SYSLOG :
	    strcmp(cfg->log_target, "journald") == 0 ? LOG_TO_JOURNALD : LOG_TO_STDERR;
	o->json = strcmp(cfg->log_format, "json") == 0;
	o->facility = facility < 0 ? LOG_DAEMON : facility;
	o->debug = cfg->log_debug;
	return log_configure(o, err, errlen);
}

/* Loads one trusted_ra list (names relative to state_dir) against cas; 0 or -1. */
static int check_trusted_list(const struct config *cfg, char *const *names, size_t n,
    X509 *const *cas, size_t n_cas, char *err, size_t errlen)
{
	char *files[CONFIG_MAX_LIST];
	struct trusted_ra_set *s;
	size_t i;

	for (i = 0; i < n; i++)
		files[i] = config_path(cfg, names[i]);
	s = trusted_ra_load(files, n, cas, n_cas, now_seconds(), err, errlen);
	for (i = 0; i < n; i++)
		free(files[i]);
	trusted_ra_free(s);
	return s != NULL ? 0 : -1;
}

/*
 * scepd -t: every trusted_ra certificate (top level and per profile) loads,
 * is issued by the CA (or the rollover CA when its file exists) and is valid.
 */
static int check_trusted_ra(const struct config *cfg, char *err, size_t errlen)
{
	X509 *cas[2] = { NULL, NULL };
	size_t i, n_cas = 0;
	int rc = -1;

	if (cfg->n_trusted_ra == 0) {
		for (i = 0; i < cfg->n_profiles && cfg->profiles[i].n_trusted_ra == 0; i++)
			;
		if (i == cfg->n_profiles)
			return 0;
	}
	if ((cas[n_cas++] = pemfile_cert(cfg->ca_cert, err, errlen)) == NULL)
		goto out;
	if (cfg->next_ca_cert != NULL && access(cfg->next_ca_cert, F_OK) == 0 &&
	    (cas[n_cas++] = pemfile_cert(cfg->next_ca_cert, err, errlen)) == NULL)
		goto out;
	if (check_trusted_list(cfg, cfg->trusted_ra, cfg->n_trusted_ra, cas, n_cas, err,
	    errlen) != 0)
		goto out;
	for (i = 0; i < cfg->n_profiles; i++)
		if (check_trusted_list(cfg, cfg->profiles[i].trusted_ra,
		    cfg->profiles[i].n_trusted_ra, cas, n_cas, err, errlen) != 0)
			goto out;
	rc = 0;
out:
	X509_free(cas[0]);
	X509_free(cas[1]);
	return rc;
}

/*
 * scepd -t: the CA certificate files (ca.cert and ca.next_cert), when they
 * exist, hold the CA followed by its issuers in order, as GetCACert sends
 * them. A missing one is the start's to report: -t checks a configuration
 * before `scepctl init` has made the CA.
 */
static int check_ca_files(const struct config *cfg, char *err, size_t errlen)
{
	const char *paths[2] = { cfg->ca_cert, cfg->next_ca_cert };
	STACK_OF(X509) *certs;
	int i, rc = 0;

	for (i = 0; rc == 0 && i < 2; i++) {
		if (paths[i] == NULL || access(paths[i], F_OK) != 0)
			continue;
		if ((certs = pemfile_ca_chain(paths[i], err, errlen)) == NULL)
			rc = -1;
		sk_X509_pop_free(certs, X509_free);
	}
	return rc;
}

static int same_string(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Tells systemd the state, with the expiry warning when there is one. */
static void notify_status(struct daemon *d, const char *prefix, const char *what)
{
	char where[512];

	httpd_describe(d->httpd, where, sizeof(where));
	(void)systemd_notifyf("%sSTATUS=%s%s%s%s%s", prefix, what, where[0] ? " on " : "", where,
	    d->expiry_status[0] ? "; " : "", d->expiry_status);
}

static void check_expiry(struct daemon *d, int log_events)
{
	int64_t now = now_seconds();

	(void)service_check_expiry(d->svc, now, log_events, d->expiry_status,
	    sizeof(d->expiry_status));
	if (log_events)
		d->last_expiry_check = now;
}

/*
 * Who scepd runs as, and so who may own its private files: the service user
 * when started as root with user set (d->drop), else whoever it runs as. Then
 * the strict-modes check of the state folder, database and keys. 0, or -1
 * with a reason.
 */
static int preflight(const struct config *cfg, struct daemon *d, char *err, size_t errlen)
{
	memset(&d->owners, 0, sizeof(d->owners));
	d->owners.must = (uid_t)-1;
	d->drop = geteuid() == 0 && cfg->user != NULL;
	if (d->drop) {
		if (privdrop_resolve(cfg->user, cfg->group, &d->user, err, errlen) != 0)
			return -1;
		d->owners.uid[d->owners.n++] = d->user.uid;
		d->owners.must = d->user.uid;
		d->owners.must_name = d->user.name;
	} else {
		d->owners.uid[d->owners.n++] = geteuid();
	}
	return filemode_check_config(cfg, &d->owners, err, errlen);
}

/* The key ID of the CA certificate in path into out ("" when it cannot be read). */
static void ca_key_id(const char *path, char out[41])
{
	char err[256];
	X509 *cert;

	out[0] = '\0';
	if (path == NULL || (cert = pemfile_cert(path, err, sizeof(err))) == NULL)
		return;
	if (signer_key_id(cert, out) != 0)
		out[0] = '\0';
	X509_free(cert);
}

/*
 * -t with a PostgreSQL database that several nodes share: warns (on stderr;
 * the check still passes) when the database cannot be reached, or when its
 * newest certificate was issued by a CA other than this node's ca.cert or
 * ca.next_cert: every node must have the same CA.
 */
static void check_database_ca(const struct config *cfg)
{
	char err[512], newest[41], mine[41], next[41];
	struct store *st;
	enum store_rc rc;

	if (!store_is_postgresql(cfg->database))
		return;
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepd: warning: the database cannot be opened: %s\n", err);
		return;
	}
	rc = store_newest_issuer(st, newest);
	if (rc == STORE_ERROR)
		fprintf(stderr, "scepd: warning: the database: %s\n", store_errmsg(st));
	store_close(st);
	if (rc != STORE_OK)
		return;
	ca_key_id(cfg->ca_cert, mine);
	ca_key_id(cfg->next_ca_cert, next);
	if (strcmp(newest, mine) != 0 && strcmp(newest, next) != 0)
		fprintf(stderr, "scepd: warning: the database's newest certificate was issued by "
		    "CA key %s, but this node's CA (%s) has key %s: nodes sharing a database "
		    "must have the same CA\n", newest, cfg->ca_cert, mine[0] != '\0' ? mine :
		    "(unreadable)");
}

/*
 * After the sockets are bound and before anything reads a request: become
 * the service user for good, or say that scepd runs as root. 0, or -1.
 */
static int drop_privileges(const struct config *cfg, struct daemon *d, char *err,
    size_t errlen)
{
	struct privdrop_user u;
	char ignored[256];

	if (d->drop) {
		if (privdrop_to(&d->user, err, errlen) != 0)
			return -1;
		log_msg(LOG_NOTICE, "running as user %s (uid %u, gid %u)", d->user.name,
		    (unsigned)d->user.uid, (unsigned)d->user.gid);
	} else if (geteuid() == 0) {
		log_event(LOG_WARNING, SCEPD_EVENT_RUNS_AS_ROOT, "running as root: no user is "
		    "set to drop to (user = \"scepd\"; in %s)", d->file);
	} else if (cfg->user != NULL && (privdrop_resolve(cfg->user, cfg->group, &u, ignored,
	    sizeof(ignored)) != 0 || u.uid != geteuid())) {
		log_msg(LOG_WARNING, "user = \"%s\" is set, but scepd was not started as root: "
		    "it keeps running as uid %u", cfg->user, (unsigned)geteuid());
	}
	return 0;
}

/* Logs what config_load() wrote, one event per line. */
static void log_config_errors(char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		log_event(LOG_ERR, SCEPD_EVENT_RELOAD_REFUSED, "%s", line);
}

/*
 * SIGHUP (why "SIGHUP"), or a PKCS#11 token back after an error: a new
 * generation, all or nothing. quiet: a refusal is logged as a plain message,
 * not an event (the token watch retries every few seconds).
 */
static void reload(struct daemon *d, const char *why, int quiet)
{
	const struct config *old = service_config(d->svc);
	struct service_state *st = NULL;
	struct config *cfg = NULL;
	struct log_options lo;
	char *errs = NULL, err[1024];
	size_t errs_len = 0;
	FILE *f;
	int fd;

	(void)systemd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
	    systemd_monotonic_usec(), d->file);
	log_msg(LOG_NOTICE, "%s: reloading %s", why, d->file);
	if ((f = open_memstream(&errs, &errs_len)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto refused;
	}
	cfg = config_load(d->file, f);
	fclose(f);
	if (cfg == NULL) {
		log_config_errors(errs);
		snprintf(err, sizeof(err), "%s has errors (logged above)", d->file);
		goto refused;
	}
	/* the files must still be private (a reload keeps who may own them) */
	if (filemode_check_config(cfg, &d->owners, err, sizeof(err)) != 0)
		goto refused;
	if ((st = service_state_new(d->svc, cfg, err, sizeof(err))) == NULL)
		goto refused;
	/* owned by st from here on */
	/* A new access log file must open before anything changes. */
	if (cfg->access_log != NULL && !same_string(cfg->access_log, old->access_log)) {
		if ((fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) == -1) {
			snprintf(err, sizeof(err), "log.access_log %s: %s", cfg->access_log,
			    strerror(errno));
			goto refused_st;
		}
		close(fd);
	}
	if (httpd_apply(d->httpd, cfg, err, sizeof(err)) != 0)
		goto refused_st;
	if (!same_string(cfg->user, old->user) || !same_string(cfg->group, old->group))
		log_event(LOG_WARNING, SCEPD_EVENT_RESTART_NEEDED, "user and group take effect "
		    "at the next start (scepd does not regain root to change them)");
	if (cfg->signer_process != old->signer_process ||
	    cfg->signer_workers != old->signer_workers)
		log_event(LOG_WARNING, SCEPD_EVENT_RESTART_NEEDED, "signer.process and "
		    "signer.workers take effect at the next start (the signer process is forked "
		    "before the privilege drop)");

	/* Committed: nothing below refuses the reload. */
	/* the signer workers check what they issue against their own reading of the file */
	if (d->keyproc != NULL && keyproc_reload(d->keyproc, err, sizeof(err)) != 0)
		log_msg(LOG_WARNING, "signer process: not every worker re-read %s: %s", d->file,
		    err);
	if (log_options(cfg, &lo, err, sizeof(err)) != 0)
		log_msg(LOG_WARNING, "log settings not applied: %s", err);
	if (!same_string(cfg->access_log, old->access_log) &&
	    log_access_open(cfg->access_log, err, sizeof(err)) != 0)
		log_msg(LOG_ERR, "%s", err);
	service_install(d->svc, st);
	metrics_reload(d->metrics, 1, now_seconds());
	check_expiry(d, 1);
	log_event(LOG_NOTICE, SCEPD_EVENT_RELOADED, "reloaded %s: configuration generation %lu "
	    "is serving; requests in flight finish on the previous one", d->file,
	    service_generation(d->svc));
	notify_status(d, "READY=1\n", "serving");
	free(errs);
	return;
refused_st:
	service_state_discard(st);
	cfg = NULL;
refused:
	config_free(cfg);
	metrics_reload(d->metrics, 0, now_seconds());
	if (quiet)
		log_msg(LOG_INFO, "%s: reload refused: %s", why, err);
	else
		log_event(LOG_ERR, SCEPD_EVENT_RELOAD_REFUSED, "reload refused: %s; "
		    "configuration generation %lu keeps serving", err, service_generation(d->svc));
	(void)systemd_notifyf("READY=1\nSTATUS=reload refused (%s); serving the previous "
	    "configuration%s%s", err, d->expiry_status[0] ? "; " : "", d->expiry_status);
	free(errs);
}

/*
 * Keys in a PKCS#11 token: one signature with each, every few seconds. When
 * one fails (token removed, module error), an event says so once, and the
 * configuration is reloaded with the module opened afresh until the keys work
 * again; requests meanwhile get a FAILURE (or a 500 when the RA key itself is
 * in the token). libp11 0.4.12 never re-opens sessions after a token error.
 */
static void token_watch(struct daemon *d)
{
	char err[512];

	d->last_token_check = now_seconds();
	if (pkcs11_probe(err, sizeof(err)) == 0)
		return;
	if (!d->token_down) {
		log_event(LOG_ERR, SCEPD_EVENT_TOKEN_UNAVAILABLE, "PKCS#11 token unavailable: "
		    "%s; enrollments fail until it is back (checked every %d s)", err,
		    TOKEN_CHECK_INTERVAL);
		d->token_down = 1;
	}
	pkcs11_retire();
	reload(d, "PKCS#11 token check", 1);
	if (pkcs11_probe(err, sizeof(err)) == 0) {
		log_event(LOG_NOTICE, SCEPD_EVENT_TOKEN_AVAILABLE, "PKCS#11 token available "
		    "again: keys re-opened, configuration generation %lu serving",
		    service_generation(d->svc));
		d->token_down = 0;
	}
}

/* SIGTERM: stop accepting, let requests in flight finish (bounded), stop. */
static void drain(struct daemon *d, int sig)
{
	const struct config *cfg = service_config(d->svc);
	struct timespec t0, t1, pause = { 0, 20 * 1000 * 1000 };
	unsigned left;
	double waited = 0;

	(void)systemd_notify("STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
	httpd_quiesce(d->httpd);
	left = httpd_in_flight(d->httpd);
	log_msg(LOG_NOTICE, "%s: stopping; no new connections, %u requests in flight get up to "
	    "%u s (http.drain_timeout)", sig == SIGTERM ? "SIGTERM" : "SIGINT", left,
	    cfg->drain_timeout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = httpd_in_flight(d->httpd)) > 0 && waited < cfg->drain_timeout) {
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
	if (left > 0)
		log_msg(LOG_WARNING, "%u requests still in flight after %u s: closing them", left,
		    cfg->drain_timeout);
}

static int serve(const char *file, struct config *cfg)
{
	struct daemon d;
	struct service_state *st = NULL;
	struct log_options lo;
	sigset_t set;
	siginfo_t info;
	struct timespec tick = { 1, 0 };
	char err[1024], where[512];
	int fds[SYSTEMD_MAX_LISTEN_FDS], n_fds, i, sig, rc = 1;

	memset(&d, 0, sizeof(d));
	d.file = file;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		snprintf(err, sizeof(err), "cannot set up signal handling");
		log_msg(LOG_ERR, "%s", err);
		goto out;
	}
	if (log_options(cfg, &lo, err, sizeof(err)) != 0)
		log_msg(LOG_WARNING, "%s", err);
	if ((n_fds = systemd_listen_fds(fds, SYSTEMD_MAX_LISTEN_FDS, err, sizeof(err))) < 0) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	if (preflight(cfg, &d, err, sizeof(err)) != 0) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	/* The signer process: forked as root, before the drop, before any thread. */
	if (cfg->signer_process) {
		if ((d.keyproc = keyproc_start(file, cfg->signer_workers, err, sizeof(err))) == NULL) {
			log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
			goto out;
		}
		signer_use_keyproc(d.keyproc);
		log_msg(LOG_NOTICE, "signer process started (pid %ld, %u workers): the CA and RA "
		    "keys are loaded there only", keyproc_pid(d.keyproc), cfg->signer_workers);
	}
	d.metrics = metrics_new(now_seconds());
	d.svc = service_new(d.metrics);
	d.httpd = httpd_new(service_handle, d.svc);
	httpd_set_quick(d.httpd, service_is_quick);
	service_set_httpd(d.svc, d.httpd);
	for (i = 0; i < n_fds; i++) {
		if (httpd_adopt(d.httpd, fds[i], err, sizeof(err)) != 0) {
			log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
			goto out;
		}
	}
	if (n_fds > 0)
		log_msg(LOG_NOTICE, "socket activation: %d sockets from systemd", n_fds);
	/* Acquire, then drop: the sockets as root, everything else as the service user. */
	if (httpd_bind(d.httpd, cfg, err, sizeof(err)) != 0 ||
	    drop_privileges(cfg, &d, err, sizeof(err)) != 0) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	if ((st = service_state_new(d.svc, cfg, err, sizeof(err))) == NULL) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	cfg = NULL;   /* owned by st */
	service_install(d.svc, st);
	if (httpd_apply(d.httpd, service_config(d.svc), err, sizeof(err)) != 0) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	if (service_config(d.svc)->access_log != NULL &&
	    log_access_open(service_config(d.svc)->access_log, err, sizeof(err)) != 0) {
		log_event(LOG_ERR, NDES_EVENT_START_FAILED, "cannot start: %s", err);
		goto out;
	}
	httpd_describe(d.httpd, where, sizeof(where));
	log_event(LOG_NOTICE, NDES_EVENT_STARTED, "scepd %s started: serving SCEP on %s "
	    "(path /certsrv/mscep/mscep.dll)", SCEPD_VERSION, where);
	check_expiry(&d, 1);
	notify_status(&d, "READY=1\n", "serving");

	for (;;) {
		sig = sigtimedwait(&set, &info, &tick);
		if (sig == SIGHUP) {
			reload(&d, "SIGHUP", 0);
		} else if (sig == SIGUSR1) {
			if (log_access_reopen(err, sizeof(err)) != 0)
				log_msg(LOG_ERR, "SIGUSR1: %s", err);
			else
				log_msg(LOG_NOTICE, "SIGUSR1: access log re-opened");
		} else if (sig == SIGTERM || sig == SIGINT) {
			drain(&d, sig);
			break;
		} else if (sig == -1 && errno != EAGAIN && errno != EINTR) {
			log_msg(LOG_ERR, "sigtimedwait: %s", strerror(errno));
		}
		httpd_tick(d.httpd);
		if (pkcs11_in_use() && now_seconds() - d.last_token_check >= TOKEN_CHECK_INTERVAL)
			token_watch(&d);
		if (now_seconds() - d.last_expiry_check >= EXPIRY_CHECK_INTERVAL) {
			check_expiry(&d, 1);
			notify_status(&d, "", "serving");
		}
	}
	rc = 0;
out:
	httpd_stop(d.httpd);
	service_free(d.svc);
	signer_use_keyproc(NULL);
	keyproc_stop(d.keyproc);
	metrics_free(d.metrics);
	config_free(cfg);
	if (rc == 0)
		log_event(LOG_NOTICE, NDES_EVENT_STOPPED, "scepd stopped");
	else
		(void)systemd_notifyf("STATUS=cannot start: %s", err);
	return rc;
}

/* The long options: --help (as -h) and --version ('V', which has no short form). */
static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	const char *file = CONFIG_DEFAULT_FILE;
	struct config *cfg = NULL;
	struct daemon d;
	char err[1024];
	int ch, check = 0, dump = 0, facility, rc = 1;

	while ((ch = getopt_long(argc, argv, "f:tTh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 't': check = 1; break;
		case 'T': dump = 1; break;
		case 'h': usage(stdout, 0); break;
		case 'V':
			printf("scepd %s\n", SCEPD_VERSION);
			return 0;
		default: usage(stderr, 2);   /* getopt named the option */
		}
	}
	if (optind != argc) {
		fprintf(stderr, "scepd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr, 2);
	}
	/* every file scepd makes (database, logs) is private */
	umask(077);
	/*
	 * glibc gives each busy thread a malloc arena of its own, and each keeps
	 * its fragments: RSS grew 15 % over 50 000 enrollments with eight
	 * threads, 4 % with two arenas, at the same CPU per enrollment
	 * (bench/README). MALLOC_ARENA_MAX in the environment still decides.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		(void)mallopt(M_ARENA_MAX, 2);
	if (oids_register() != 0) {
		fprintf(stderr, "scepd: cannot register the SCEP OIDs with OpenSSL\n");
		goto out;
	}
	if ((cfg = config_load(file, stderr)) == NULL)
		goto out;
	if (dump)
		config_print_public(cfg, stdout);
	if (check || dump) {
		memset(&d, 0, sizeof(d));
		d.file = file;
		if (preflight(cfg, &d, err, sizeof(err)) != 0 ||
		    check_ca_files(cfg, err, sizeof(err)) != 0 ||
		    check_trusted_ra(cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "scepd: %s\n", err);
			goto out;
		}
		if (check)
			check_database_ca(cfg);
		if (cfg->lab_enabled)
			fprintf(stderr, "scepd: warning: %s: lab mode is on (lab.enabled): lab rules "
			    "script the answers (%zu configured, more with scepctl lab rule add); "
			    "never on a production server\n", cfg->file, cfg->n_lab_rules);
		rc = 0;
		goto out;
	}
	facility = log_facility_from_name(cfg->log_facility);
	log_init("scepd", strcmp(cfg->log_target, "syslog") == 0,
	    facility < 0 ? LOG_DAEMON : facility, cfg->log_debug);
	rc = serve(file, cfg);
	cfg = NULL;
out:
	config_free(cfg);
	return rc;
}
