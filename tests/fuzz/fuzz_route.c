/* SPDX-License-Identifier: ISC */
/*
 * fuzz_route.c: fuzz target for the HTTP routing table (route_match). The
 * input is "METHOD\nPATH\nQUERY\nBODY" over a default profile, a profile at
 * /devices/scep and two CRL paths. Every request must get a handler: an error
 * with a status of 400, 404 or 405 and a reason (405 with an Allow header), a
 * SCEP route with its profile, a CRL route with a generation that exists, and
 * always an operation name for the log; anything else aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "profile.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-terminated part of data as a NUL-terminated copy in buf. */
static const char *part(const uint8_t **data, size_t *size, char *buf, size_t len)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t n = nl != NULL ? (size_t)(nl - *data) : *size;

	if (n >= len)
		n = len - 1;
	memcpy(buf, *data, n);
	buf[n] = '\0';
	n = nl != NULL ? (size_t)(nl - *data) + 1 : *size;
	*data += n;
	*size -= n;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct profile prof[2];
	static struct profiles ps;
	struct http_request req;
	struct route rt;
	char method[32], path[2048], query[4096];

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

	memset(&req, 0, sizeof(req));
	req.method = part(&data, &size, method, sizeof(method));
	req.path = part(&data, &size, path, sizeof(path));
	req.query = part(&data, &size, query, sizeof(query));
	req.query_len = strlen(req.query);
	req.body = data;
	req.body_len = size;
	req.client_addr = "192.0.2.1";
	route_match(&ps, size % 2 == 0, &req, &rt);
	if (rt.operation == NULL)
		abort();
	switch (rt.handler) {
	case ROUTE_ERROR:
		if ((rt.status != 400 && rt.status != 404 && rt.status != 405) ||
		    rt.reason == NULL || (rt.status == 405) != (rt.allow != NULL))
			abort();
		break;
	case ROUTE_CRL:
		if (rt.gen >= ps.n_gen)
			abort();
		break;
	case ROUTE_ADMIN:
		break;
	case ROUTE_NDES_PAGE:
	case ROUTE_NDES_PROBE:
	case ROUTE_GET_CA_CAPS:
	case ROUTE_GET_CA_CERT:
	case ROUTE_GET_NEXT_CA_CERT:
	case ROUTE_PKIOPERATION_GET:
		if (rt.prof != &prof[0] && rt.prof != &prof[1])
			abort();
		break;
	case ROUTE_PKIOPERATION_POST:
		if ((rt.prof != &prof[0] && rt.prof != &prof[1]) || req.body_len == 0)
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
