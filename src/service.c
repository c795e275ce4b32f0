/* SPDX-License-Identifier: ISC */
/*
 * service.c: state generations, the request router in front of scep, and
 * expiry checks.
 *
 * A generation (struct service_state) is everything built from one
 * configuration: the config itself, the scep server (signer with the keys,
 * policy, store pool, cached GetCACaps/GetCACert bytes) and the certificate
 * list for warnings and metrics. Each request pins the current generation
 * (a reference count taken under a mutex held for two instructions) and
 * unpins it when answered; a reload installs a new generation and drops the
 * service's own reference to the old one, which is freed by whichever thread
 * unpins it last. Nothing of a generation changes after it is built.
 * The failure counters (rejected challenge passwords, failed sign-ins) belong
 * to the service, not to a generation, so that a reload does not reset them;
 * each installed generation sets their limits.
 * No key is touched here: health checks go through scep_server_health().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "route.h"
#include "scep.h"
#include "service.h"
#include "util.h"
#include "x509util.h"

#define SERVICE_MAX_CERTS 8
#define SERVICE_MAX_PEM (1024 * 1024)
#define SERVICE_RATELIMIT_ENTRIES 4096

struct service_state {
	atomic_uint refs;
	unsigned long generation;
	struct config *cfg;
	struct scep_server *scep;
	struct scep_cert_info certs[SERVICE_MAX_CERTS];
	size_t n_certs;
};

struct service {
	pthread_mutex_t lock;       /* guards cur while a reference is taken */
	struct service_state *cur;
	struct metrics *metrics;
	struct httpd *httpd;
	unsigned long generations;  /* main thread */
	/* Failure counters outlive generations: a reload must not reset them. */
	struct ratelimit *challenge_limiter;
	struct ratelimit *signin_limiter;
};

struct service *service_new(struct metrics *m)
{
	struct service *svc = xcalloc(1, sizeof(*svc));

	if (pthread_mutex_init(&svc->lock, NULL) != 0) {
		fputs("scepd: cannot create a mutex\n", stderr);
		abort();
	}
	svc->metrics = m;
	/* limits 0 (off) until service_install() applies a configuration's */
	if ((svc->challenge_limiter = ratelimit_new(0, 0, SERVICE_RATELIMIT_ENTRIES)) == NULL ||
	    (svc->signin_limiter = ratelimit_new(0, 0, SERVICE_RATELIMIT_ENTRIES)) == NULL) {
		fputs("scepd: cannot create a mutex\n", stderr);
		abort();
	}
	return svc;
}

static void state_free(struct service_state *st)
{
	if (st == NULL)
		return;
	scep_server_free(st->scep);
	config_free(st->cfg);
	free(st);
}

static void unpin(struct service_state *st)
{
	if (atomic_fetch_sub(&st->refs, 1) == 1)
		state_free(st);
}

static struct service_state *pin(struct service *svc)
{
	struct service_state *st;

	pthread_mutex_lock(&svc->lock);
	st = svc->cur;
	atomic_fetch_add(&st->refs, 1);
	pthread_mutex_unlock(&svc->lock);
	return st;
}

void service_free(struct service *svc)
{
	if (svc == NULL)
		return;
	if (svc->cur != NULL)
		unpin(svc->cur);
	pthread_mutex_destroy(&svc->lock);
	ratelimit_free(svc->challenge_limiter);
	ratelimit_free(svc->signin_limiter);
	free(svc);
}

void service_set_httpd(struct service *svc, struct httpd *h)
{
	svc->httpd = h;
}

/* The TLS certificate's details for expiry checks; 0, or -1 with a reason. */
static int tls_cert_info(const char *path, struct scep_cert_info *out, char *err, size_t errlen)
{
	unsigned char *pem = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *x = NULL;
	char *name = NULL, ebuf[256];
	int64_t not_after;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->role = "tls";
	if ((pem = read_file(path, SERVICE_MAX_PEM, &len)) == NULL) {
		snprintf(err, errlen, "tls.cert %s: %s", path, strerror(errno));
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "tls.cert %s: not a PEM certificate (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	if (x509util_time_seconds(X509_get0_notAfter(x), &not_after) != 0 ||
	    x509util_cert_serial_hex(x, out->serial, sizeof(out->serial)) != 0 ||
	    (name = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0)) == NULL) {
		snprintf(err, errlen, "tls.cert %s: cannot read it (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	out->not_after = (long long)not_after;
	snprintf(out->subject, sizeof(out->subject), "%s", name);
	rc = 0;
out:
	OPENSSL_free(name);
	X509_free(x);
	BIO_free(bio);
	free(pem);
	return rc;
}

struct service_state *service_state_new(struct service *svc, struct config *cfg, char *err,
    size_t errlen)
{
	struct service_state *st = xcalloc(1, sizeof(*st)), *result = NULL;

	atomic_init(&st->refs, 1);
	if ((st->scep = scep_server_new(cfg, err, errlen)) == NULL)
		goto out;
	scep_server_set_metrics(st->scep, svc->metrics);
	scep_server_share_limiters(st->scep, svc->challenge_limiter, svc->signin_limiter);
	st->n_certs = scep_server_certs(st->scep, st->certs, SERVICE_MAX_CERTS - 1);
	if (cfg->n_tls_listen > 0) {
		if (tls_cert_info(cfg->tls_cert, &st->certs[st->n_certs], err, errlen) != 0)
			goto out;
		st->n_certs++;
	}
	st->cfg = cfg;
	st->generation = svc->generations + 1;
	result = st;
	st = NULL;
out:
	if (st != NULL) {
		scep_server_free(st->scep);
		free(st);
	}
	return result;
}

void service_state_discard(struct service_state *st)
{
	if (st != NULL)
		unpin(st);
}

void service_install(struct service *svc, struct service_state *st)
{
	struct service_state *old;

	ratelimit_set_limits(svc->challenge_limiter, st->cfg->challenge_max_failures,
	    st->cfg->challenge_failure_window);
	ratelimit_set_limits(svc->signin_limiter, st->cfg->admin_max_failures,
	    st->cfg->admin_failure_window);
	pthread_mutex_lock(&svc->lock);
	old = svc->cur;
	svc->cur = st;
	pthread_mutex_unlock(&svc->lock);
	svc->generations = st->generation;
	if (old != NULL)
		unpin(old);
}

const struct config *service_config(const struct service *svc)
{
	return svc->cur != NULL ? svc->cur->cfg : NULL;
}

unsigned long service_generation(const struct service *svc)
{
	return svc->generations;
}

int service_monitor_allowed(const struct config *cfg, const char *client)
{
	unsigned char addr[16];
	int family, full, rest;
	size_t i;
	const struct config_net *n;

	if (inet_pton(AF_INET, client, addr) == 1) {
		family = AF_INET;
	} else if (inet_pton(AF_INET6, client, addr) == 1) {
		family = AF_INET6;
		/* ::ffff:a.b.c.d is an IPv4 client on an IPv6 socket */
		if (memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (i = 0; i < cfg->n_monitor_allow; i++) {
		n = &cfg->monitor_allow[i];
		if (n->family != family)
			continue;
		full = (int)(n->prefix / 8);
		rest = (int)(n->prefix % 8);
		if (memcmp(addr, n->addr, (size_t)full) != 0)
			continue;
		if (rest != 0 && ((addr[full] ^ n->addr[full]) & (0xff00 >> rest)) != 0)
			continue;
		return 1;
	}
	return 0;
}

static void set_text(struct http_response *resp, int status, const char *type, char *body,
    size_t len)
{
	resp->status = status;
	resp->content_type = type;
	resp->body = (unsigned char *)body;
	resp->body_len = len;
}

static void metrics_page(struct service *svc, struct service_state *st,
    struct http_response *resp)
{
	struct metrics_cert certs[SERVICE_MAX_CERTS];
	struct metrics_gauges g;
	size_t i, len;
	char *body;

	memset(&g, 0, sizeof(g));
	g.now = now_seconds();
	g.challenges_cached = scep_server_challenges_cached(st->scep);
	for (i = 0; i < st->n_certs; i++) {
		certs[i].role = st->certs[i].role;
		certs[i].subject = st->certs[i].subject;
		certs[i].serial = st->certs[i].serial;
		certs[i].not_after = st->certs[i].not_after;
	}
	g.certs = certs;
	g.n_certs = st->n_certs;
	g.in_flight = svc->httpd != NULL ? httpd_in_flight(svc->httpd) : 0;
	g.generation = st->generation;
	body = metrics_render(svc->metrics, &g, &len);
	set_text(resp, 200, "text/plain; version=0.0.4", body, len);
}

static void health_page(struct service_state *st, struct http_response *resp)
{
	char err[256];

	if (scep_server_health(st->scep, err, sizeof(err)) == 0) {
		httpd_text(resp, 200, "ok");
		return;
	}
	log_msg(LOG_WARNING, "healthz: %s", err);
	httpd_text(resp, 503, "unhealthy: %s", err);
}

void service_handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct service *svc = ctx;
	struct service_state *st = pin(svc);
	enum route_monitor mon = route_monitor(req->path);
	int is_metrics = mon == ROUTE_MONITOR_METRICS;

	if (mon == ROUTE_MONITOR_LAB && !st->cfg->lab_enabled) {
		httpd_text(resp, 404, "%s: not found (lab mode is off: lab.enabled)", req->path);
	} else if (mon != ROUTE_MONITOR_NONE) {
		if (!service_monitor_allowed(st->cfg, req->client_addr)) {
			log_msg(LOG_DEBUG, "%s from %s refused: not in monitor.allow", req->path,
			    req->client_addr);
			httpd_text(resp, 403, "%s is not available from %s (monitor.allow)",
			    req->path, req->client_addr);
		} else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
			httpd_text(resp, 405, "use GET");
			resp->allow = "GET";
		} else if (is_metrics) {
			metrics_page(svc, st, resp);
		} else if (mon == ROUTE_MONITOR_LAB) {
			scep_server_lab(st->scep, req, resp);
		} else {
			health_page(st, resp);
		}
	} else {
		scep_handle(st->scep, req, resp);
	}
	unpin(st);
}

int service_is_quick(void *ctx, const struct http_request *req)
{
	(void)ctx;
	return route_is_quick(req);
}

static const char *role_words(const char *role)
{
	if (strcmp(role, "ca") == 0)
		return "CA certificate";
	if (strcmp(role, "ra-sign") == 0)
		return "RA signing certificate";
	if (strcmp(role, "ra-enc") == 0)
		return "RA encryption certificate";
	if (strcmp(role, "tls") == 0)
		return "TLS certificate";
	return role;
}

static const char *role_advice(const char *role)
{
	if (strncmp(role, "ra-", 3) == 0)
		return "; renew it with `scepctl ra renew`, then reload scepd";
	if (strcmp(role, "tls") == 0)
		return "; put the renewed one in tls.cert and reload scepd";
	return "";
}

int service_check_expiry(struct service *svc, int64_t now, int log_events, char *status,
    size_t len)
{
	struct service_state *st = svc->cur;
	const struct scep_cert_info *c, *soonest = NULL;
	unsigned days = st->cfg->expiry_warning_days;
	long long left;
	char when[32];
	time_t t;
	struct tm tm;
	size_t i;
	int near = 0;

	if (len > 0)
		status[0] = '\0';
	if (days == 0)
		return 0;
	for (i = 0; i < st->n_certs; i++) {
		c = &st->certs[i];
		if (strstr(c->role, "-previous") != NULL)
			continue;   /* expected to run out: it is being replaced */
		left = c->not_after - now;
		if (left >= (long long)days * 86400)
			continue;
		near++;
		if (soonest == NULL || c->not_after < soonest->not_after)
			soonest = c;
		if (!log_events)
			continue;
		t = (time_t)c->not_after;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		if (left <= 0)
			log_event(LOG_ERR, SCEPD_EVENT_CERT_EXPIRED, "the %s %s (serial %s) expired "
			    "on %s%s", role_words(c->role), c->subject, c->serial, when,
			    role_advice(c->role));
		else
			log_event(LOG_WARNING, SCEPD_EVENT_CERT_EXPIRING, "the %s %s (serial %s) "
			    "expires in %lld days, on %s%s", role_words(c->role), c->subject,
			    c->serial, left / 86400, when, role_advice(c->role));
	}
	if (soonest != NULL) {
		left = soonest->not_after - now;
		if (left <= 0)
			snprintf(status, len, "WARNING: the %s has expired", role_words(soonest->role));
		else
			snprintf(status, len, "WARNING: the %s expires in %lld days%s",
			    role_words(soonest->role), left / 86400,
			    near > 1 ? " (and others soon)" : "");
	}
	return near;
}
