/* SPDX-License-Identifier: ISC */
/*
 * test_route.c: the HTTP routing table (src/route.c) as a pure function of
 * method, path and query over a hand-built set of profiles (the default one,
 * a profile at /devices/scep) and two CA generations' CRL paths: every
 * handler, each 400/404/405 with its reason and Allow header, the admin path
 * with admin.enabled on and off, the NDES page and Microsoft's probes, and
 * the monitoring paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "log.h"
#include "profile.h"
#include "route.h"
#include "tap.h"

static struct profiles ps;
static struct profile prof[2];

static void setup(void)
{
	memset(&ps, 0, sizeof(ps));
	memset(prof, 0, sizeof(prof));
	prof[0].name = "default";
	prof[1].name = "devices";
	prof[1].path = "/devices/scep";
	ps.p = prof;
	ps.n = 2;
	ps.n_gen = 2;
	ps.gen[0].crl_path = "/crl/ca.crl";
	ps.gen[1].crl_path = "/crl/ca-next.crl";
}

struct want {
	const char *method, *path, *query;
	size_t body_len;
	int admin_enabled;
	enum route_handler handler;
	const char *operation;
	int status;                 /* ROUTE_ERROR */
	const char *reason;         /* ROUTE_ERROR: a substring */
	const char *allow;
	int prof;                   /* -1: none */
};

static const char *handler_name(enum route_handler h)
{
	static const char *const names[] = {
		"ERROR", "CRL", "ADMIN", "NDES_PAGE", "NDES_PROBE", "GET_CA_CAPS", "GET_CA_CERT",
		"GET_NEXT_CA_CERT", "PKIOPERATION_GET", "PKIOPERATION_POST",
	};

	return (size_t)h < sizeof(names) / sizeof(names[0]) ? names[h] : "?";
}

static void route_is(const struct want *w)
{
	struct http_request req;
	struct route rt;
	int good;

	memset(&req, 0, sizeof(req));
	req.method = w->method;
	req.path = w->path;
	req.query = w->query;
	req.query_len = strlen(w->query);
	req.body = w->body_len ? (const unsigned char *)"x" : NULL;
	req.body_len = w->body_len;
	req.client_addr = "192.0.2.1";
	route_match(&ps, w->admin_enabled, &req, &rt);
	good = rt.handler == w->handler && rt.operation != NULL &&
	    strcmp(rt.operation, w->operation) == 0 &&
	    (w->prof < 0 || rt.prof == &prof[w->prof]);
	if (w->handler == ROUTE_ERROR)
		good = good && rt.status == w->status && rt.reason != NULL &&
		    strstr(rt.reason, w->reason) != NULL &&
		    ((w->allow == NULL && rt.allow == NULL) ||
		    (w->allow != NULL && rt.allow != NULL && strcmp(rt.allow, w->allow) == 0));
	if (!ok(good, "%s %s?%s -> %s %s%s%d", w->method, w->path, w->query,
	    handler_name(w->handler), w->operation, w->handler == ROUTE_ERROR ? " " : "",
	    w->handler == ROUTE_ERROR ? w->status : 0))
		printf("#   got %s %s status %d reason \"%s\" allow \"%s\" profile %s\n",
		    handler_name(rt.handler), rt.operation ? rt.operation : "(null)", rt.status,
		    rt.reason ? rt.reason : "", rt.allow ? rt.allow : "",
		    rt.prof ? rt.prof->name : "(none)");
}

int main(void)
{
	static const struct want cases[] = {
		/* SCEP operations on the default profile's paths (NDES and RFC) */
		{ "GET", "/certsrv/mscep/mscep.dll", "operation=GetCACaps", 0, 1,
		    ROUTE_GET_CA_CAPS, "GetCACaps", 0, NULL, NULL, 0 },
		{ "HEAD", "/cgi-bin/pkiclient.exe", "operation=GetCACert&message=x", 0, 1,
		    ROUTE_GET_CA_CERT, "GetCACert", 0, NULL, NULL, 0 },
		{ "GET", "/scep", "operation=GetNextCACert", 0, 1,
		    ROUTE_GET_NEXT_CA_CERT, "GetNextCACert", 0, NULL, NULL, 0 },
		{ "GET", "/CertSrv/MSCEP/mscep.dll", "operation=Get%43ACaps", 0, 1,
		    ROUTE_GET_CA_CAPS, "GetCACaps", 0, NULL, NULL, 0 },
		{ "GET", "/scep", "operation=PKIOperation&message=MIIB", 0, 1,
		    ROUTE_PKIOPERATION_GET, "PKIOperation", 0, NULL, NULL, 0 },
		{ "POST", "/scep", "operation=PKIOperation", 10, 1,
		    ROUTE_PKIOPERATION_POST, "PKIOperation", 0, NULL, NULL, 0 },
		/* a profile's own path */
		{ "GET", "/devices/scep", "operation=GetCACert", 0, 1,
		    ROUTE_GET_CA_CERT, "GetCACert", 0, NULL, NULL, 1 },
		{ "POST", "/devices/scep/pkiclient.exe", "operation=PKIOperation", 5, 1,
		    ROUTE_PKIOPERATION_POST, "PKIOperation", 0, NULL, NULL, 1 },
		/* what no handler takes */
		{ "GET", "/nowhere", "operation=GetCACaps", 0, 1,
		    ROUTE_ERROR, "GET", 404, "not found", NULL, -1 },
		{ "POST", "/scep", "operation=PKIOperation", 0, 1,
		    ROUTE_ERROR, "PKIOperation", 400, "needs the pkiMessage as the body", NULL, -1 },
		{ "GET", "/scep", "operation=PKIOperation", 0, 1,
		    ROUTE_ERROR, "PKIOperation", 400, "needs a message parameter", NULL, -1 },
		{ "GET", "/scep", "operation=PKIOperation&message=", 0, 1,
		    ROUTE_ERROR, "PKIOperation", 400, "needs a message parameter", NULL, -1 },
		{ "PUT", "/scep", "operation=PKIOperation", 3, 1,
		    ROUTE_ERROR, "PKIOperation", 405, "use GET or POST", "GET, POST", -1 },
		/* HEAD would enroll and drop the CertRep (a password spent, a certificate lost) */
		{ "HEAD", "/scep", "operation=PKIOperation&message=MIIB", 0, 1,
		    ROUTE_ERROR, "PKIOperation", 405, "use GET or POST", "GET, POST", -1 },
		{ "POST", "/scep", "operation=GetCACaps", 3, 1,
		    ROUTE_ERROR, "GetCACaps", 405, "use GET", "GET", -1 },
		{ "GET", "/scep", "", 0, 1,
		    ROUTE_ERROR, "-", 400, "missing operation parameter", NULL, -1 },
		{ "GET", "/scep", "operation=", 0, 1,
		    ROUTE_ERROR, "-", 400, "missing operation parameter", NULL, -1 },
		{ "GET", "/scep", "operation=%zz", 0, 1,
		    ROUTE_ERROR, "-", 400, "missing operation parameter", NULL, -1 },
		{ "GET", "/scep", "operation=GetCACerts", 0, 1,
		    ROUTE_ERROR, "-", 400, "unknown operation", NULL, -1 },
		{ "POST", "/scep", "operation=GetCACerts&message=NDESLongUrlValidator", 3, 1,
		    ROUTE_ERROR, "-", 400, "unknown operation", NULL, -1 },
		/* NDES: the general page and the URL validation probes (ndes.md §3.1, §3.6) */
		{ "GET", "/certsrv/mscep/mscep.dll", "", 0, 1,
		    ROUTE_NDES_PAGE, "-", 0, NULL, NULL, 0 },
		{ "GET", "/certsrv/mscep", "", 0, 1, ROUTE_NDES_PAGE, "-", 0, NULL, NULL, 0 },
		{ "POST", "/certsrv/mscep/mscep.dll", "", 3, 1,
		    ROUTE_ERROR, "-", 400, "missing operation parameter", NULL, -1 },
		{ "GET", "/devices/scep", "", 0, 1,
		    ROUTE_ERROR, "-", 400, "missing operation parameter", NULL, -1 },
		{ "GET", "/certsrv/mscep/mscep.dll",
		    "operation=GetCACerts&message=NDESLongUrlValidatorXXXX", 0, 1,
		    ROUTE_NDES_PROBE, "-", 0, NULL, NULL, 0 },
		{ "GET", "/certsrv/mscep/mscep.dll",
		    "operation=PKIOperation&message=NDESLongUrlValidator", 0, 1,
		    ROUTE_NDES_PROBE, "PKIOperation", 0, NULL, NULL, 0 },
		/* CRLs of both CA generations */
		{ "GET", "/crl/ca.crl", "", 0, 1, ROUTE_CRL, "CRL", 0, NULL, NULL, -1 },
		{ "HEAD", "/crl/ca-next.crl", "", 0, 1, ROUTE_CRL, "CRL", 0, NULL, NULL, -1 },
		{ "POST", "/crl/ca.crl", "", 3, 1, ROUTE_ERROR, "CRL", 405, "use GET", "GET", -1 },
		/* the admin path: its pages, or SCEP for the default profile when asked */
		{ "GET", "/certsrv/mscep_admin/", "", 0, 1, ROUTE_ADMIN, "-", 0, NULL, NULL, -1 },
		{ "GET", "/CertSrv/mscep_admin", "", 0, 0, ROUTE_ADMIN, "-", 0, NULL, NULL, -1 },
		{ "GET", "/certsrv/mscep_admin/mscep.dll", "operation=GetCACaps", 0, 1,
		    ROUTE_GET_CA_CAPS, "GetCACaps", 0, NULL, NULL, 0 },
		{ "GET", "/certsrv/mscep_admin/", "operation=GetCACaps", 0, 0,
		    ROUTE_ADMIN, "-", 0, NULL, NULL, -1 },
		{ "GET", "/certsrv/mscep_admin/", "operation=bogus", 0, 1,
		    ROUTE_ERROR, "-", 400, "unknown operation", NULL, -1 },
		/* a profile's own admin page (its passwords), or SCEP for it when asked */
		{ "GET", "/devices/scep/mscep_admin/", "", 0, 1, ROUTE_ADMIN, "-", 0, NULL, NULL, 1 },
		{ "GET", "/devices/scep/MSCEP_ADMIN/mscep.dll", "", 0, 0,
		    ROUTE_ADMIN, "-", 0, NULL, NULL, 1 },
		{ "GET", "/devices/scep/mscep_admin", "operation=GetCACaps", 0, 1,
		    ROUTE_GET_CA_CAPS, "GetCACaps", 0, NULL, NULL, 1 },
		{ "GET", "/devices/scep/mscep_admin/x", "", 0, 1,
		    ROUTE_ERROR, "GET", 404, "not found", NULL, -1 },
	};
	size_t i;
	struct route rt;
	int event_ok;
	struct http_request req;

	setup();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		route_is(&cases[i]);

	/* the events NDES logs */
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/scep";
	req.query = "operation=PKIOperation&message=NDESLongUrlValidator";
	req.query_len = strlen(req.query);
	route_match(&ps, 1, &req, &rt);
	event_ok = rt.event == NDES_EVENT_DECODE;
	req.query = "operation=PKIOperation";
	req.query_len = strlen(req.query);
	route_match(&ps, 1, &req, &rt);
	ok(event_ok && rt.event == NDES_EVENT_DECODE,
	    "a PKIOperation probe and a missing message are NDES decode events");

	is_int(route_monitor("/metrics"), ROUTE_MONITOR_METRICS, "/metrics");
	is_int(route_monitor("/healthz"), ROUTE_MONITOR_HEALTH, "/healthz");
	is_int(route_monitor("/metrics/"), ROUTE_MONITOR_NONE, "/metrics/ is not it");
	is_int(route_monitor("/scep"), ROUTE_MONITOR_NONE, "/scep is not a monitoring path");
	is_int(route_monitor("/lab/"), ROUTE_MONITOR_LAB, "/lab/ is the lab page");
	is_int(route_monitor("/lab"), ROUTE_MONITOR_LAB, "/lab (redirected to /lab/)");
	is_int(route_monitor("/lab/api/recordings/1/reply"), ROUTE_MONITOR_LAB, "/lab/api/...");
	is_int(route_monitor("/laboratory"), ROUTE_MONITOR_NONE, "/laboratory is not /lab/");
	return done_testing();
}
