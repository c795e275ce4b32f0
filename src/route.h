/* SPDX-License-Identifier: ISC */
/*
 * route.h: which handler answers an HTTP request, from its method, path and
 * query only: the monitoring paths (/metrics, /healthz), each CA
 * generation's CRL path, the NDES admin pages, and the SCEP endpoints (the
 * NDES and RFC paths of the default profile, each profile's own path) with
 * their operation (GetCACaps, GetCACert, GetNextCACert, PKIOperation by GET or
 * POST), plus the answers routing alone can give: the NDES general page,
 * Microsoft's URL validation probes, 404, 405 and 400 for what no handler
 * takes. A pure function of the request and the profiles: it answers nothing
 * itself (scep.c and service.c do).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>

struct http_request;
struct profile;
struct profiles;

enum route_handler {
	ROUTE_ERROR,             /* answer status with reason (and allow for 405) */
	ROUTE_CRL,               /* the CRL of CA generation gen */
	ROUTE_ADMIN,             /* the /certsrv/mscep_admin/ pages; prof set: that profile's own */
	ROUTE_NDES_PAGE,         /* a plain GET of an NDES path: the general page */
	ROUTE_NDES_PROBE,        /* Microsoft's URL validation probe: 200 */
	ROUTE_GET_CA_CAPS,
	ROUTE_GET_CA_CERT,
	ROUTE_GET_NEXT_CA_CERT,
	ROUTE_PKIOPERATION_GET,  /* the message is in the query's message parameter */
	ROUTE_PKIOPERATION_POST, /* the message is the body (not empty) */
};

struct route {
	enum route_handler handler;
	const char *operation;          /* for the log: "GetCACaps", ..., "CRL", "-", or the method */
	const struct profile *prof;     /* SCEP routes: the profile the path serves */
	size_t gen;                     /* ROUTE_CRL */
	int status;                     /* ROUTE_ERROR: 400, 404 or 405 */
	int event;                      /* ROUTE_ERROR, ROUTE_NDES_PROBE: the NDES event number */
	const char *reason;             /* ROUTE_ERROR: plain words for the client and the log */
	const char *allow;              /* ROUTE_ERROR with 405: the Allow header */
};

/*
 * Routes req among the endpoints of ps (admin_enabled: admin.enabled). The
 * admin paths serve SCEP operations too, as NDES answers them there for the
 * default profile; with admin.enabled off they serve nothing (the pages say 404).
 */
void route_match(const struct profiles *ps, int admin_enabled, const struct http_request *req,
    struct route *rt);

/* The monitoring paths, answered before any SCEP routing. */
enum route_monitor {
	ROUTE_MONITOR_NONE,
	ROUTE_MONITOR_METRICS,   /* /metrics */
	ROUTE_MONITOR_HEALTH,    /* /healthz */
	ROUTE_MONITOR_LAB,       /* /lab and under /lab/ (lab mode, labpage.c) */
};

enum route_monitor route_monitor(const char *path);

/*
 * 1 when req asks by GET for GetCACaps, GetCACert or GetNextCACert: answers
 * scepd holds ready in memory (the httpd_quick of service.c). It does not
 * check the path: whatever route_match makes of it, it does not wait.
 */
int route_is_quick(const struct http_request *req);

#endif
