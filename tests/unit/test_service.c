/* SPDX-License-Identifier: ISC */
/*
 * test_service.c: unit tests of service.c on a lab state folder made by
 * labca_create(): monitor.allow matching (IPv4, IPv6, networks, IPv4-mapped
 * IPv6, empty list); routing of /metrics and /healthz (403 outside
 * monitor.allow, 405 for POST) and of SCEP paths; expiry warnings against
 * monitor.expiry_warning_days at chosen times; and state generations swapped
 * while four threads keep answering requests (every answer is one of the two
 * configurations, none fails; under AddressSanitizer a generation freed too
 * early would be reported).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "httpd.h"
#include "labca.h"
#include "metrics.h"
#include "oids.h"
#include "service.h"
#include "x509util.h"
#include "tap.h"

static char dir[] = "/tmp/test_service.XXXXXX";

static struct config *lab_config(const char *extra)
{
	char label[256], *text;
	struct config *cfg;
	size_t n;

	snprintf(label, sizeof(label), "%s/scepd.conf", dir);
	n = strlen(extra) + 512;
	text = malloc(n);
	snprintf(text, n, "state_dir = \".\";\nra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\";\n"
	    "  enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n"
	    "challenge = { UseSinglePassword = true; SinglePassword = \"x\"; };\n%s", extra);
	cfg = config_load_string(label, text, stderr);
	free(text);
	return cfg;
}

static void test_allowed(void)
{
	struct config *cfg = lab_config("monitor = { allow = [ \"127.0.0.1\", \"10.0.0.0/8\", "
	    "\"2001:db8::/32\", \"192.0.2.128/25\" ]; };\n");

	ok(cfg != NULL, "configuration with networks");
	if (cfg == NULL)
		return;
	ok(service_monitor_allowed(cfg, "127.0.0.1"), "127.0.0.1 allowed");
	ok(!service_monitor_allowed(cfg, "127.0.0.2"), "127.0.0.2 not allowed (/32)");
	ok(service_monitor_allowed(cfg, "10.200.3.4"), "10.200.3.4 in 10.0.0.0/8");
	ok(!service_monitor_allowed(cfg, "11.0.0.1"), "11.0.0.1 not in 10.0.0.0/8");
	ok(service_monitor_allowed(cfg, "192.0.2.200"), "192.0.2.200 in 192.0.2.128/25");
	ok(!service_monitor_allowed(cfg, "192.0.2.127"), "192.0.2.127 not in 192.0.2.128/25");
	ok(service_monitor_allowed(cfg, "2001:db8:1::9"), "2001:db8:1::9 in 2001:db8::/32");
	ok(!service_monitor_allowed(cfg, "2001:db9::1"), "2001:db9::1 not in 2001:db8::/32");
	ok(service_monitor_allowed(cfg, "::ffff:10.1.1.1"), "IPv4-mapped ::ffff:10.1.1.1 matched as IPv4");
	ok(!service_monitor_allowed(cfg, "::1"), "::1 not listed");
	ok(!service_monitor_allowed(cfg, "-"), "unknown address not allowed");
	config_free(cfg);
	cfg = lab_config("monitor = { allow = [ ]; };\n");
	ok(cfg != NULL && !service_monitor_allowed(cfg, "127.0.0.1"), "empty list: nobody");
	config_free(cfg);
	cfg = lab_config("monitor = { allow = [ \"0.0.0.0/0\" ]; };\n");
	ok(cfg != NULL && service_monitor_allowed(cfg, "203.0.113.5") &&
	    !service_monitor_allowed(cfg, "2001:db8::1"), "0.0.0.0/0: every IPv4 address, no IPv6");
	config_free(cfg);
}

static int request(struct service *svc, const char *method, const char *path, const char *query,
    const char *client, struct http_response *resp)
{
	struct http_request req;

	memset(&req, 0, sizeof(req));
	memset(resp, 0, sizeof(*resp));
	req.method = method;
	req.path = path;
	req.query = query;
	req.query_len = strlen(query);
	req.client_addr = client;
	service_handle(svc, &req, resp);
	return resp->status;
}

static long long not_after(const char *file)
{
	char path[512];
	FILE *f;
	X509 *x;
	int64_t t64 = 0;
	long long t = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL &&
	    x509util_time_seconds(X509_get0_notAfter(x), &t64) == 0)
		t = (long long)t64;
	X509_free(x);
	fclose(f);
	return t;
}

struct hammer {
	struct service *svc;
	atomic_int stop;
	atomic_int bad, a, b;
};

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	struct http_response resp;

	while (!atomic_load(&h->stop)) {
		if (request(h->svc, "GET", "/scep", "operation=GetCACaps", "127.0.0.1", &resp) != 200)
			atomic_fetch_add(&h->bad, 1);
		else if (resp.body_len == 5 && memcmp(resp.body, "AES\r\n", 5) == 0)
			atomic_fetch_add(&h->a, 1);
		else if (resp.body_len == 9 && memcmp(resp.body, "SHA-256\r\n", 9) == 0)
			atomic_fetch_add(&h->b, 1);
		else
			atomic_fetch_add(&h->bad, 1);
		free(resp.body);
	}
	return NULL;
}

static void test_service(void)
{
	struct metrics *m = metrics_new(0);
	struct service *svc = service_new(m);
	struct service_state *st;
	struct config *cfg;
	struct http_response resp;
	struct hammer h;
	pthread_t t[4];
	char err[512], status[256];
	long long ra_end = not_after("ra-sign.crt"), ca_end = not_after("ca.crt");
	int i, n, saved, devnull;

	cfg = lab_config("scep = { capabilities = [ \"AES\" ]; };\nrenewal = { enabled = false; };\n");
	st = cfg ? service_state_new(svc, cfg, err, sizeof(err)) : NULL;
	ok(st != NULL, "a state generation loads");
	if (st == NULL) {
		printf("# %s\n", err);
		config_free(cfg);
		service_free(svc);
		metrics_free(m);
		return;
	}
	service_install(svc, st);
	is_int(service_generation(svc), 1, "generation 1");
	ok(service_config(svc) == cfg, "service_config is the installed one");

	is_int(request(svc, "GET", "/metrics", "", "127.0.0.1", &resp), 200, "/metrics from 127.0.0.1: 200");
	is_str(resp.content_type, "text/plain; version=0.0.4", "/metrics content type");
	ok(resp.body && strstr((char *)resp.body, "scepd_certificate_expiry_days{role=\"ra-enc\"") != NULL,
	    "/metrics lists the RA encryption certificate");
	ok(resp.body && strstr((char *)resp.body, "scepd_challenge_passwords_cached 0\n") != NULL,
	    "static password: 0 one-time passwords cached");
	free(resp.body);
	is_int(request(svc, "GET", "/metrics", "", "10.9.9.9", &resp), 403, "/metrics from elsewhere: 403");
	free(resp.body);
	is_int(request(svc, "GET", "/healthz", "", "::1", &resp), 200, "/healthz from ::1: 200");
	ok(resp.body_len == 3 && memcmp(resp.body, "ok\n", 3) == 0, "/healthz says ok");
	free(resp.body);
	is_int(request(svc, "POST", "/healthz", "", "::1", &resp), 405, "/healthz by POST: 405");
	free(resp.body);
	is_int(request(svc, "GET", "/metricsx", "", "127.0.0.1", &resp), 404, "other paths go to SCEP (404)");
	free(resp.body);

	/* expiry: RA certificates from labca run 730 days, the CA 3650 */
	n = service_check_expiry(svc, ra_end - 100LL * 86400, 0, status, sizeof(status));
	is_int(n, 0, "100 days before the RA expires: nothing near (default 60 days)");
	is_str(status, "", "no status text");
	n = service_check_expiry(svc, ra_end - 30LL * 86400 - 3600, 0, status, sizeof(status));
	is_int(n, 2, "30 days before: both RA certificates near");
	is_str(status, "WARNING: the RA signing certificate expires in 30 days (and others soon)",
	    "status names the soonest");
	n = service_check_expiry(svc, ra_end + 10, 0, status, sizeof(status));
	ok(n == 2 && strstr(status, "has expired") != NULL, "past notAfter: expired");
	n = service_check_expiry(svc, ca_end - 86400, 0, status, sizeof(status));
	is_int(n, 3, "a day before the CA expires: CA and both RA (expired) near");

	/* generations swapped under load (the request lines go to /dev/null) */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	close(devnull);
	memset(&h, 0, sizeof(h));
	h.svc = svc;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &h);
	for (i = 0; i < 40; i++) {
		cfg = lab_config(i % 2 ?
		    "scep = { capabilities = [ \"AES\" ]; };\nrenewal = { enabled = false; };\n" :
		    "scep = { capabilities = [ \"SHA-256\" ]; };\nrenewal = { enabled = false; };\n");
		st = cfg ? service_state_new(svc, cfg, err, sizeof(err)) : NULL;
		if (st == NULL) {
			config_free(cfg);
			break;
		}
		service_install(svc, st);
	}
	atomic_store(&h.stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	is_int(i, 4, "four threads joined");
	is_int(service_generation(svc), 41, "40 generations installed under load");
	is_int(atomic_load(&h.bad), 0, "no request failed or saw a mixed state");
	ok(atomic_load(&h.a) > 0 && atomic_load(&h.b) > 0, "both configurations answered (%d, %d)",
	    atomic_load(&h.a), atomic_load(&h.b));
	service_free(svc);
	metrics_free(m);
}

int main(void)
{
	struct labca_options o;
	char err[512], cmd[600];

	if (oids_register() != 0 || mkdtemp(dir) == NULL) {
		printf("not ok 1 - set-up\n1..1\n");
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	if (labca_create(&o, err, sizeof(err)) != 0) {
		printf("not ok 1 - labca_create: %s\n1..1\n", err);
		return 1;
	}
	test_allowed();
	test_service();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
