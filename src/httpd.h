/* SPDX-License-Identifier: ISC */
/*
 * httpd.h: the HTTP front end on libmicrohttpd. It owns sockets (bound here
 * or passed by systemd), the thread pools, TLS (GnuTLS inside
 * libmicrohttpd), every input limit (request line and query, body,
 * connections, idle time), answers 413/414 itself, writes the access log
 * line of every request, and hands each complete request to one handler with
 * the raw query string (before form decoding, which would turn '+' into a
 * space). It knows nothing about SCEP.
 *
 * Listeners are replaced, never changed: when a reload changes a listener's
 * settings (or its TLS certificate), a new libmicrohttpd daemon starts on the
 * same socket before the old one stops accepting, and the old one finishes
 * its connections (for at most http.drain_timeout seconds) before it is
 * stopped, so no connection is refused.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>
#include <stdint.h>

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
	char *log_user;            /* signed-in account for the access log's cs-username
	                            * (malloc'd; httpd frees it), or NULL */
};

typedef void (*httpd_handler)(void *ctx, const struct http_request *req,
    struct http_response *resp);

/*
 * 1 when the handler answers req from memory at once (GetCACaps, GetCACert):
 * such a request is answered in its connection's thread; any other waits in
 * line for a request thread.
 */
typedef int (*httpd_quick)(void *ctx, const struct http_request *req);

struct httpd;

/* Binds every cfg->listen and cfg->tls_listen address and starts serving. NULL with a reason on failure. */
struct httpd *httpd_start(const struct config *cfg, httpd_handler handler, void *ctx,
    char *err, size_t errlen);

/* An httpd with no listener yet. */
struct httpd *httpd_new(httpd_handler handler, void *ctx);

/* Sets the quick callback (before httpd_apply); without one, every request is queued. */
void httpd_set_quick(struct httpd *h, httpd_quick quick);

/*
 * Takes a listening socket passed by systemd (socket activation). Once one
 * is adopted, httpd_apply() binds nothing itself: each adopted socket serves
 * HTTPS when its address matches an entry of tls.listen (the same address and
 * port, or the same port when either address is 0.0.0.0 or ::), plain HTTP
 * otherwise. 0, or -1 with a reason.
 */
int httpd_adopt(struct httpd *h, int fd, char *err, size_t errlen);

/*
 * Binds the sockets cfg listens on without serving them yet (nothing is read
 * from them until httpd_apply), so that scepd can bind as root and drop its
 * privileges before it reads any request. 0, or -1 with a reason.
 */
int httpd_bind(struct httpd *h, const struct config *cfg, char *err, size_t errlen);

/*
 * Brings the listeners in line with cfg: binds new addresses, replaces the
 * listeners whose settings or TLS certificate and key changed, retires those
 * no longer configured. All or nothing: on failure (an address that cannot be
 * bound, an unreadable TLS key, ...) nothing changes and -1 is returned with a
 * reason.
 */
int httpd_apply(struct httpd *h, const struct config *cfg, char *err, size_t errlen);

/* The listeners serving now, as "http://127.0.0.1:8080 https://[::]:443" (truncated to fit). */
void httpd_describe(const struct httpd *h, char *buf, size_t len);

/* Stops accepting on every listener; requests in flight go on (their replies close the connection). */
void httpd_quiesce(struct httpd *h);

/* Requests received and not yet answered, over all listeners. */
unsigned httpd_in_flight(const struct httpd *h);

/* Stops the retired listeners whose connections have closed or whose time is up. */
void httpd_tick(struct httpd *h);

/* Stops everything (connections still open are closed) and frees it. */
void httpd_stop(struct httpd *h);

/*
 * Whether the first n bytes a client sent can start an HTTP request line:
 * optional empty lines, then a method token (RFC 9110 tchar) up to a space.
 * HTTPD_START_OK when they can (n 0 included: nothing to judge),
 * HTTPD_START_TLS for the start of a TLS handshake record, HTTPD_START_BAD
 * otherwise.
 */
enum { HTTPD_START_OK, HTTPD_START_TLS, HTTPD_START_BAD };
int httpd_request_start(const unsigned char *b, size_t n);

/* Fills resp with a plain-text answer ("reason\n"). */
void httpd_text(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a response header (name static, value copied); ignored beyond HTTP_MAX_HEADERS. */
void httpd_add_header(struct http_response *resp, const char *name, const char *value);

#endif
