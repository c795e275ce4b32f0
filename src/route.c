/* SPDX-License-Identifier: ISC */
/*
 * route.c: the map from HTTP requests to handlers (route.h). It reads the
 * method, the path and the raw query, and the profiles' paths (through
 * profile.c); it never touches keys, the store or the response. Every rule
 * NDES and real clients rely on is here in one place, in the order it is
 * applied: CRL paths, the admin path, the SCEP paths, then the operation
 * and the method.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "httpd.h"
#include "log.h"
#include "profile.h"
#include "query.h"
#include "labpage.h"
#include "route.h"

/* Microsoft's NDES URL validation scripts send this in `message` (ndes.md §3.1). */
#define NDES_PROBE "NDESLongUrlValidator"

#define MISSING_OPERATION "missing operation parameter (GetCACaps, GetCACert or PKIOperation)"

/* The SCEP operations, with the handler each takes by GET. */
static const struct {
	const char *name;
	enum route_handler get;
} operations[] = {
	{ "GetCACaps", ROUTE_GET_CA_CAPS },
	{ "GetCACert", ROUTE_GET_CA_CERT },
	{ "GetNextCACert", ROUTE_GET_NEXT_CA_CERT },
	{ "PKIOperation", ROUTE_PKIOPERATION_GET },
};

static void route_error(struct route *rt, const char *operation, int status, int event,
    const char *reason, const char *allow)
{
	rt->handler = ROUTE_ERROR;
	rt->operation = operation;
	rt->status = status;
	rt->event = event;
	rt->reason = reason;
	rt->allow = allow;
}

static int is_get(const struct http_request *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* 1 when the query's message parameter is one of Microsoft's validation probes. */
static int ndes_probe(const struct http_request *req)
{
	const char *val;
	size_t vlen;

	return query_find(req->query, req->query_len, "message", &val, &vlen) &&
	    vlen >= strlen(NDES_PROBE) && strncmp(val, NDES_PROBE, strlen(NDES_PROBE)) == 0;
}

/* The CRL path of a CA generation: 1 (rt set) or 0 when path is none of them. */
static int route_crl(const struct profiles *ps, const struct http_request *req,
    struct route *rt)
{
	size_t g;

	for (g = 0; g < ps->n_gen; g++)
		if (ps->gen[g].crl_path != NULL && strcmp(req->path, ps->gen[g].crl_path) == 0)
			break;
	if (g == ps->n_gen)
		return 0;
	if (!is_get(req)) {
		route_error(rt, "CRL", 405, NDES_EVENT_NONE, "use GET", "GET");
		return 1;
	}
	rt->handler = ROUTE_CRL;
	rt->operation = "CRL";
	rt->gen = g;
	return 1;
}

/* PKIOperation by GET: a message parameter, which may be a validation probe. */
static void route_pkioperation_get(const struct http_request *req, struct route *rt)
{
	const char *val;
	size_t vlen;

	if (!query_find(req->query, req->query_len, "message", &val, &vlen) || vlen == 0)
		route_error(rt, rt->operation, 400, NDES_EVENT_DECODE,
		    "PKIOperation by GET needs a message parameter", NULL);
	else if (ndes_probe(req)) {
		rt->handler = ROUTE_NDES_PROBE;
		rt->event = NDES_EVENT_DECODE;
	}
}

/*
 * The index in operations[] of the operation parameter's value (escapes
 * undone); -1 for another word, -2 for an empty or malformed value.
 */
static int operation_index(const char *val, size_t vlen)
{
	char *op = query_unescape(val, vlen);
	size_t i;
	int found = op == NULL || *op == '\0' ? -2 : -1;

	for (i = 0; found == -1 && i < sizeof(operations) / sizeof(operations[0]); i++)
		if (strcmp(op, operations[i].name) == 0)
			found = (int)i;
	free(op);
	return found;
}

/* The operation of a SCEP endpoint, by its method. */
static void route_operation(const struct http_request *req, const char *val, size_t vlen,
    struct route *rt)
{
	int i;

	if ((i = operation_index(val, vlen)) < 0) {
		if (i == -2)
			route_error(rt, "-", 400, NDES_EVENT_NONE, MISSING_OPERATION, NULL);
		else if (is_get(req) && ndes_probe(req)) {
			rt->handler = ROUTE_NDES_PROBE;
			rt->operation = "-";
			rt->event = NDES_EVENT_NONE;
		} else
			route_error(rt, "-", 400, NDES_EVENT_NONE, "unknown operation", NULL);
		return;
	}
	rt->operation = operations[i].name;
	/*
	 * PKIOperation by GET or POST only: a HEAD would enroll (spend a
	 * one-time password, issue a certificate) and drop the CertRep.
	 */
	if (operations[i].get == ROUTE_PKIOPERATION_GET) {
		if (strcmp(req->method, "POST") == 0) {
			if (req->body_len == 0)
				route_error(rt, rt->operation, 400, NDES_EVENT_DECODE,
				    "PKIOperation by POST needs the pkiMessage as the body", NULL);
			else
				rt->handler = ROUTE_PKIOPERATION_POST;
		} else if (strcmp(req->method, "GET") == 0) {
			rt->handler = ROUTE_PKIOPERATION_GET;
			route_pkioperation_get(req, rt);
		} else {
			route_error(rt, rt->operation, 405, NDES_EVENT_NONE, "use GET or POST",
			    "GET, POST");
		}
	} else if (is_get(req)) {
		rt->handler = operations[i].get;
	} else {
		route_error(rt, rt->operation, 405, NDES_EVENT_NONE, "use GET", "GET");
	}
}

/* The profile whose admin page path is (its path + /mscep_admin/), or NULL. */
static const struct profile *profile_admin(const struct profiles *ps, const char *path)
{
	for (size_t i = 1; i < ps->n; i++)
		if (admin_is_profile_path(path, ps->p[i].path))
			return &ps->p[i];
	return NULL;
}

void route_match(const struct profiles *ps, int admin_enabled, const struct http_request *req,
    struct route *rt)
{
	const char *val;
	size_t vlen;
	int ndes, has_op;

	memset(rt, 0, sizeof(*rt));
	if (route_crl(ps, req, rt))
		return;
	has_op = query_find(req->query, req->query_len, "operation", &val, &vlen);
	if (admin_is_path(req->path)) {
		/* The pages, unless a SCEP operation is asked for (NDES answers those here too). */
		if (!admin_enabled || !has_op) {
			rt->handler = ROUTE_ADMIN;
			rt->operation = "-";
			return;
		}
		rt->prof = &ps->p[0];
		ndes = 1;
	} else if ((rt->prof = profile_admin(ps, req->path)) != NULL) {
		/* A profile's own admin page (rt->prof says whose), or its SCEP operations. */
		if (!admin_enabled || !has_op) {
			rt->handler = ROUTE_ADMIN;
			rt->operation = "-";
			return;
		}
		ndes = 0;
	} else if ((rt->prof = profiles_match(ps, req->path, &ndes)) == NULL) {
		route_error(rt, req->method, 404, NDES_EVENT_NONE, "not found", NULL);
		return;
	}
	if (!has_op) {
		if (ndes && is_get(req)) {
			rt->handler = ROUTE_NDES_PAGE;
			rt->operation = "-";
		} else
			route_error(rt, "-", 400, NDES_EVENT_NONE, MISSING_OPERATION, NULL);
		return;
	}
	route_operation(req, val, vlen, rt);
}

int route_is_quick(const struct http_request *req)
{
	const char *val;
	size_t vlen;
	int i;

	if (!is_get(req) || route_monitor(req->path) != ROUTE_MONITOR_NONE ||
	    !query_find(req->query, req->query_len, "operation", &val, &vlen))
		return 0;
	i = operation_index(val, vlen);
	return i >= 0 && operations[i].get != ROUTE_PKIOPERATION_GET;
}

enum route_monitor route_monitor(const char *path)
{
	if (strcmp(path, "/metrics") == 0)
		return ROUTE_MONITOR_METRICS;
	if (strcmp(path, "/healthz") == 0)
		return ROUTE_MONITOR_HEALTH;
	if (labpage_path(path))
		return ROUTE_MONITOR_LAB;
	return ROUTE_MONITOR_NONE;
}
