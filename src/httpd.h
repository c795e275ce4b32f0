/* SPDX-License-Identifier: ISC */
/*
 * httpd.h: the HTTP front end on libmicrohttpd. It owns sockets, the thread
 * pool and every input limit (request line and query, body, connections, idle
 * time), answers 413/414 itself, and hands each complete request to one handler
 * with the raw query string (before form decoding, which would turn '+' into a
 * space). It knows nothing about SCEP.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>

struct config;

/*
 * One slot of state per keep-alive connection (NTLM authenticates a
 * connection, not a request). A handler may store state in it; httpd calls
 * state_free(state) when the connection closes. Requests of one connection
 * are handled one after another by the same thread.
 */
struct http_conn {
	void *state;
	void (*state_free)(void *state);
};

#define HTTP_MAX_HEADERS 6

struct http_header {
	const char *name;          /* static */
	char *value;               /* malloc'd; httpd frees it */
};

struct http_request {
	const char *method;
	const char *path;          /* decoded path, without the query */
	const char *query;         /* raw query after '?', escapes untouched ("" if none) */
	size_t query_len;
	const unsigned char *body; /* POST body (NULL if none) */
	size_t body_len;
	const char *client_addr;   /* numeric address */
	const char *user_agent;    /* NULL if none */
	const char *authorization; /* Authorization header, NULL if none */
	struct http_conn *conn;    /* this connection's slot (never NULL) */
};

struct http_response {
	int status;
	const char *content_type;  /* exact value, no parameters */
	unsigned char *body;       /* malloc'd; httpd frees it */
	size_t body_len;
	const char *allow;         /* Allow header for 405, or NULL */
	struct http_header headers[HTTP_MAX_HEADERS]; /* more headers, in order (several
	                                                 may share a name) */
	size_t n_headers;
};

typedef void (*httpd_handler)(void *ctx, const struct http_request *req,
    struct http_response *resp);

struct httpd;

/* Binds every cfg->listen address and starts serving. NULL with a reason on failure. */
struct httpd *httpd_start(const struct config *cfg, httpd_handler handler, void *ctx,
    char *err, size_t errlen);
/* Stops accepting, waits for requests in flight, frees everything. */
void httpd_stop(struct httpd *h);

/* Fills resp with a plain-text answer ("reason\n"). */
void httpd_text(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a response header (name static, value copied); ignored beyond HTTP_MAX_HEADERS. */
void httpd_add_header(struct http_response *resp, const char *name, const char *value);

#endif
