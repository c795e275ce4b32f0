/* SPDX-License-Identifier: ISC */
/*
 * httpd.c: libmicrohttpd set-up with explicit limits, raw-URI capture through
 * MHD_OPTION_URI_LOG_CALLBACK, bounded body collection, and the hand-off of a
 * complete request to the handler. One MHD daemon per listen address, each with
 * its own thread pool; the handler runs in the pool thread.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "util.h"

/* Headers and the rest of the request line get this much room beside the URL. */
#define HTTPD_HEADER_ROOM (64 * 1024)

struct httpd {
	const struct config *cfg;
	httpd_handler handler;
	void *ctx;
	struct MHD_Daemon *daemons[CONFIG_MAX_LISTEN];
	size_t n_daemons;
};

/* Per-request state, created by the URI log callback and freed on completion. */
struct conn_req {
	char *uri;                 /* raw request target */
	size_t uri_len;
	unsigned char *body;
	size_t body_len;
	int started;
	int body_too_large;
};

void httpd_text(struct http_response *resp, int status, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("scepd: out of memory\n", stderr);
		abort();
	}
	resp->status = status;
	resp->content_type = "text/plain";
	resp->body = (unsigned char *)xasprintf("%s\n", text);
	resp->body_len = (size_t)n + 1;
	free(text);
}

void httpd_add_header(struct http_response *resp, const char *name, const char *value)
{
	if (resp->n_headers >= HTTP_MAX_HEADERS)
		return;
	resp->headers[resp->n_headers].name = name;
	resp->headers[resp->n_headers].value = xstrdup(value);
	resp->n_headers++;
}

static void free_headers(struct http_response *resp)
{
	size_t i;

	for (i = 0; i < resp->n_headers; i++)
		free(resp->headers[i].value);
	resp->n_headers = 0;
}

/* Connection slots: made when a connection opens, freed (with handler state) when it closes. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_conn *hc;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = xcalloc(1, sizeof(struct http_conn));
		return;
	}
	if ((hc = *socket_context) != NULL) {
		if (hc->state != NULL && hc->state_free != NULL)
			hc->state_free(hc->state);
		free(hc);
		*socket_context = NULL;
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_req *r = xcalloc(1, sizeof(*r));

	r->uri_len = strlen(uri);
	r->uri = xstrdup(uri);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn_req *r = *con_cls;

	if (r != NULL) {
		free(r->uri);
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct http_response *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result rc;
	size_t i;

	if (resp->body != NULL)
		mr = MHD_create_response_from_buffer(resp->body_len, resp->body,
		    MHD_RESPMEM_MUST_FREE);
	else
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(resp->body);
		free_headers(resp);
		return MHD_NO;
	}
	resp->body = NULL;
	for (i = 0; i < resp->n_headers; i++)
		if (MHD_add_response_header(mr, resp->headers[i].name, resp->headers[i].value) != MHD_YES)
			goto fail;
	free_headers(resp);
	if (resp->content_type != NULL &&
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type) != MHD_YES)
		goto fail;
	if (resp->allow != NULL &&
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, resp->allow) != MHD_YES)
		goto fail;
	rc = MHD_queue_response(c, (unsigned)resp->status, mr);
	MHD_destroy_response(mr);
	return rc;
fail:
	free_headers(resp);
	MHD_destroy_response(mr);
	return MHD_NO;
}

static void client_address(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	socklen_t slen;

	snprintf(buf, len, "-");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	slen = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(ci->client_addr, slen, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, len, "-");
}

/* Answers a request refused by a limit, and logs it. */
static enum MHD_Result refuse(struct MHD_Connection *c, const char *method, int status,
    const char *reason)
{
	struct http_response resp = { 0 };
	char addr[64];

	client_address(c, addr, sizeof(addr));
	log_request(&(struct log_request){ .client = addr, .operation = method,
	    .status = status, .reason = reason });
	httpd_text(&resp, status, "%s", reason);
	return send_response(c, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct conn_req *r = *con_cls;
	struct http_request req;
	struct http_response resp = { 0 };
	const union MHD_ConnectionInfo *ci;
	struct http_conn fallback = { 0 };
	const char *q, *clen;
	char addr[64];

	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		r->started = 1;
		if (r->uri_len > h->cfg->max_url)
			return refuse(c, method, MHD_HTTP_URI_TOO_LONG,
			    "the request URL is longer than http.max_url allows");
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen != NULL && strtoull(clen, NULL, 10) > h->cfg->max_body)
			return refuse(c, method, MHD_HTTP_CONTENT_TOO_LARGE,
			    "the request body is larger than http.max_body allows");
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!r->body_too_large && r->body_len + *upload_data_size > h->cfg->max_body) {
			r->body_too_large = 1;
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
		}
		if (!r->body_too_large) {
			r->body = xrealloc(r->body, r->body_len + *upload_data_size);
			memcpy(r->body + r->body_len, upload_data, *upload_data_size);
			r->body_len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->body_too_large)
		return refuse(c, method, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the request body is larger than http.max_body allows");

	client_address(c, addr, sizeof(addr));
	q = memchr(r->uri, '?', r->uri_len);
	req.method = method;
	req.path = url;
	req.query = q ? q + 1 : "";
	req.query_len = q ? r->uri_len - (size_t)(q + 1 - r->uri) : 0;
	req.body = r->body;
	req.body_len = r->body_len;
	req.client_addr = addr;
	req.user_agent = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_USER_AGENT);
	req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req.conn = ci != NULL && ci->socket_context != NULL ? ci->socket_context : &fallback;
	h->handler(h->ctx, &req, &resp);
	/* Without a connection slot, state cannot outlive the request. */
	if (fallback.state != NULL && fallback.state_free != NULL)
		fallback.state_free(fallback.state);
	return send_response(c, &resp);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(LOG_NOTICE, "httpd: %s", line);
}

static struct MHD_Daemon *start_one(struct httpd *h, const struct config_listen *l,
    unsigned threads, char *err, size_t errlen)
{
	const struct config *cfg = h->cfg;
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct MHD_Daemon *d = NULL;
	char port[8];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int gai;

	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", l->port);
	if ((gai = getaddrinfo(l->host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen address %s:%u: %s", l->host, l->port, gai_strerror(gai));
		goto out;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, (uint16_t)l->port, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(2 * cfg->max_url + HTTPD_HEADER_ROOM),
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_END);
	if (d == NULL)
		snprintf(err, errlen, "cannot listen on %s:%u (address in use, or not allowed?)",
		    l->host, l->port);
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	return d;
}

struct httpd *httpd_start(const struct config *cfg, httpd_handler handler, void *ctx,
    char *err, size_t errlen)
{
	struct httpd *h = xcalloc(1, sizeof(*h)), *result = NULL;
	unsigned threads = cfg->threads;
	long ncpu;
	size_t i;

	if (threads == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	h->cfg = cfg;
	h->handler = handler;
	h->ctx = ctx;
	for (i = 0; i < cfg->n_listen; i++) {
		h->daemons[i] = start_one(h, &cfg->listen[i], threads, err, errlen);
		if (h->daemons[i] == NULL)
			goto out;
		h->n_daemons++;
	}
	result = h;
	h = NULL;
out:
	if (h != NULL)
		httpd_stop(h);
	return result;
}

void httpd_stop(struct httpd *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_daemons; i++)
		MHD_stop_daemon(h->daemons[i]);
	free(h);
}
