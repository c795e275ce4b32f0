/* SPDX-License-Identifier: ISC */
/*
 * scepd.c: the daemon's command line and start-up order: read the
 * configuration (or only check it, -t, or print it, -T), register OIDs, start
 * logging, load keys and the store, start HTTP, then wait for a signal. SIGTERM
 * and SIGINT stop it with exit status 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "oids.h"
#include "scep.h"

static void usage(void)
{
	fprintf(stderr, "usage: scepd [-t | -T] [-f file]\n"
	    "  -f file  configuration file (default " CONFIG_DEFAULT_FILE ")\n"
	    "  -t       check the configuration and exit 0 (valid) or 1\n"
	    "  -T       check it and print the effective configuration\n");
	exit(2);
}

static int serve(const struct config *cfg)
{
	struct scep_server *srv = NULL;
	struct httpd *httpd = NULL;
	sigset_t set;
	char err[512];
	int sig, rc = 1;
	size_t i;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_msg(LOG_ERR, "cannot set up signal handling");
		goto out;
	}
	/* event=N: the NDES event numbers for start (1), failed start (2), stop (3). */
	if ((srv = scep_server_new(cfg, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "cannot start: %s event=%d", err, NDES_EVENT_START_FAILED);
		goto out;
	}
	if ((httpd = httpd_start(cfg, scep_handle, srv, err, sizeof(err))) == NULL) {
		log_msg(LOG_ERR, "cannot start: %s event=%d", err, NDES_EVENT_START_FAILED);
		goto out;
	}
	if (cfg->backend_type != NULL && strcmp(cfg->backend_type, "local") != 0)
		log_msg(LOG_NOTICE, "certificates are issued by the %s backend (backend.type)",
		    cfg->backend_type);
	for (i = 0; i < cfg->n_listen; i++)
		log_msg(LOG_NOTICE, "serving SCEP on http://%s%s%s:%u/certsrv/mscep/mscep.dll "
		    "event=%d", strchr(cfg->listen[i].host, ':') ? "[" : "", cfg->listen[i].host,
		    strchr(cfg->listen[i].host, ':') ? "]" : "", cfg->listen[i].port,
		    NDES_EVENT_STARTED);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_msg(LOG_WARNING, "SIGHUP: reloading is not supported yet; restart scepd "
			    "to apply a new configuration");
			continue;
		}
		log_msg(LOG_NOTICE, "%s: stopping event=%d", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    NDES_EVENT_STOPPED);
		break;
	}
	rc = 0;
out:
	httpd_stop(httpd);
	scep_server_free(srv);
	return rc;
}

int main(int argc, char **argv)
{
	const char *file = CONFIG_DEFAULT_FILE;
	struct config *cfg = NULL;
	int ch, check = 0, dump = 0, facility, rc = 1;

	while ((ch = getopt(argc, argv, "f:tTh")) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 't': check = 1; break;
		case 'T': dump = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (oids_register() != 0) {
		fprintf(stderr, "scepd: cannot register the SCEP OIDs with OpenSSL\n");
		goto out;
	}
	if ((cfg = config_load(file, stderr)) == NULL)
		goto out;
	if (dump)
		config_print(cfg, stdout);
	if (check || dump) {
		rc = 0;
		goto out;
	}
	facility = log_facility_from_name(cfg->log_facility);
	log_init("scepd", strcmp(cfg->log_target, "syslog") == 0,
	    facility < 0 ? LOG_DAEMON : facility, cfg->log_debug);
	rc = serve(cfg);
out:
	config_free(cfg);
	return rc;
}
