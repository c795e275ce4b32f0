/* SPDX-License-Identifier: ISC */
/*
 * httpd.c: libmicrohttpd set-up with explicit limits, raw-URI capture through
 * MHD_OPTION_URI_LOG_CALLBACK, bounded body collection, the hand-off of a
 * complete request to the handler, and the access-log line when a request
 * ends.
 *
 * Sockets are bound here (or adopted from systemd) and kept in struct lsock;
 * each serving libmicrohttpd daemon (struct listener) gets its own duplicate
 * of one socket through MHD_OPTION_LISTEN_SOCKET. That is what lets a reload
 * start a new daemon on a socket before the old one is quiesced, and a retired
 * daemon finish its requests while the new one accepts. Every daemon has its
 * own thread pool for its connections; libmicrohttpd gives each connection to
 * one of those threads for good, so two busy connections can share one.
 * Requests are therefore not answered there: a complete request is queued
 * (workq.c, first come first served) and its connection suspended; a request
 * thread runs the handler and resumes the connection, and the connection's
 * thread sends the answer. Only what the quick callback says is answered from
 * memory (GetCACaps, GetCACert) is answered in the connection's thread. A
 * daemon is stopped only once none of its requests is in a request thread.
 * TLS is libmicrohttpd's
 * (GnuTLS); the certificate and key are read and checked with OpenSSL first so
 * a mistake gets a clear message. No client certificate is ever requested.
 *
 * Time limits: libmicrohttpd has only an idle timeout (reset by every byte),
 * so a client sending one byte a second would hold a connection for ever. Each
 * connection therefore has a slot (struct conn_slot) on the httpd's list,
 * added by the connection-started notification and removed by the closed one,
 * both in the connection's own pool thread before libmicrohttpd closes the
 * socket. The callbacks record the phase the connection is in (headers, body,
 * handler, idle between keep-alive requests) and when it began; a watcher
 * thread looks at the list four times a second and shuts down (shutdown(2),
 * under the list's lock, so the descriptor is still libmicrohttpd's) the
 * sockets of connections whose headers are not complete within
 * http.header_timeout or whose body falls behind http.min_body_rate;
 * libmicrohttpd then reads the end of the stream and closes the connection
 * itself. Plain-HTTP clients get a 408 first. The first bytes of a plain-HTTP
 * connection are looked at (MSG_PEEK) when it starts, before libmicrohttpd
 * reads them; the listening sockets we bind use TCP_DEFER_ACCEPT, so they are
 * there: bytes that cannot start a request line (a TLS ClientHello) get 400
 * and the close at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "pemfile.h"
#include "util.h"
#include "workq.h"

/*
 * Headers and the rest of the request line get this much room beside the URL.
 * Together they are one connection's memory pool, which libmicrohttpd keeps
 * while the connection is open and zeroes after every request. So a request
 * head holds the longest URL with some 15 KiB of headers (libmicrohttpd keeps
 * about 500 bytes of the pool), or a short URL with a large Kerberos token
 * (64 KiB), and no more; a larger one gets 414 or 431.
 */
#define HTTPD_HEADER_ROOM (16 * 1024)
#define HTTPD_MAX_SOCKS (2 * CONFIG_MAX_LISTEN + 16)
#define HTTPD_MAX_RETIRING 64
#define HTTPD_MAX_PEM (1024 * 1024)

/* A listening socket: bound here, or passed by systemd. */
struct lsock {
	int fd;
	int adopted;
	int family;
	char host[256];
	unsigned port;
};

/* The settings a daemon is started with; a change means a new daemon. */
struct lopts {
	int tls;
	unsigned threads;
	unsigned max_connections;
	unsigned connection_timeout;
	unsigned per_ip_connections;
	unsigned header_timeout;
	unsigned min_body_rate;
	size_t max_url;
	size_t max_body;
	char min_tls[8];
};

/* One libmicrohttpd daemon serving one socket. */
struct listener {
	struct httpd *h;
	struct MHD_Daemon *d;
	struct lsock *sock;        /* NULL once retired */
	struct lopts o;
	char *cert_pem, *key_pem;  /* TLS material it was started with (key wiped on free) */
	size_t cert_len, key_len;
	atomic_int closing;        /* retiring: replies close their connection */
	unsigned queued;           /* its requests in the request queue (h->queued_mu) */
	int qfd;                   /* the socket handed back by MHD_quiesce_daemon, or -1 */
	time_t deadline;           /* retiring: stopped by then at the latest */
	char url[300];
};

struct httpd {
	httpd_handler handler;
	httpd_quick quick;         /* NULL: every request goes to the request threads */
	void *ctx;
	struct workq *requests;    /* the request threads */
	pthread_mutex_t queued_mu; /* every listener's queued count */
	pthread_cond_t queued_cv;  /* a listener's queued count fell to 0 */
	struct lsock *socks[HTTPD_MAX_SOCKS];
	size_t n_socks;
	struct listener *active[HTTPD_MAX_SOCKS];
	size_t n_active;
	struct listener *retiring[HTTPD_MAX_RETIRING];
	size_t n_retiring;
	int adopted;               /* sockets come from systemd */
	unsigned drain_timeout;
	atomic_uint in_flight;
	atomic_int draining;
	atomic_uint limit_hits;    /* connections refused over a limit, not logged yet */
	pthread_mutex_t conn_lock; /* guards conns and every slot's watched fields */
	struct conn_slot *conns;   /* open connections of every listener */
	pthread_cond_t watch_cond; /* wakes the watcher to stop */
	pthread_t watcher;
	int watching;              /* the watcher thread runs */
	int watch_stop;
};

/* What a connection is doing, for its time limits. */
enum conn_phase {
	PHASE_HEADERS,             /* from the accept to complete request headers */
	PHASE_BODY,                /* headers complete, body arriving */
	PHASE_HANDLER,             /* request complete: handler and response */
	PHASE_IDLE,                /* response sent, waiting for the next request */
	PHASE_CUT                  /* shut down by the watcher or the first-byte check */
};

/* One open connection: the handler's slot and what the watcher needs. */
struct conn_slot {
	struct http_conn pub;      /* handed to handlers; first member */
	struct listener *l;
	int fd;
	char client[INET6_ADDRSTRLEN];
	char server[INET6_ADDRSTRLEN];  /* our end, for the access log */
	unsigned server_port;
	/* under h->conn_lock: */
	enum conn_phase phase;
	long long since_ms;        /* start of the phase, CLOCK_MONOTONIC */
	unsigned long long body_bytes;
	int cut_status;            /* status for the access log once cut, else 0 */
	struct conn_slot *prev, *next;
};

/* Per-request state, created by the URI log callback and freed on completion. */
struct conn_req {
	char *uri;                 /* raw request target */
	size_t uri_len;
	const char *uri_at;        /* where libmicrohttpd holds it (for the NUL check) */
	unsigned char *body;
	size_t body_len;
	int started;
	int body_too_large;
	int status;                /* of the response queued; 0: none */
	char *method, *user_agent, *referer;
	char *user;                /* cs-username, from the handler */
	char client[INET6_ADDRSTRLEN];
	char server[INET6_ADDRSTRLEN];
	unsigned server_port;
	struct timespec t0;
	/* a request answered in a request thread: */
	struct workq_job job;
	struct listener *l;
	struct MHD_Connection *c;
	struct http_request req;
	struct http_response resp;
	struct http_conn fallback; /* req.conn when the connection has no slot */
	int answered;              /* resp is ready: send it */
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

/* Numeric host and port of a socket address; "-" and 0 when unknown. */
static void sa_text(const struct sockaddr *sa, socklen_t len, char *host, size_t hlen,
    unsigned *port)
{
	char serv[16];

	snprintf(host, hlen, "-");
	if (port != NULL)
		*port = 0;
	if (sa == NULL || getnameinfo(sa, len, host, (socklen_t)hlen, serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, hlen, "-");
		return;
	}
	if (port != NULL)
		*port = (unsigned)strtoul(serv, NULL, 10);
}

/* A connection's two ends as text: the client's address, and ours with its port. */
static void conn_addresses(struct MHD_Connection *c, char *client, size_t client_len,
    char *server, size_t server_len, unsigned *server_port)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		sa_text(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
		    client, client_len, NULL);
	else
		snprintf(client, client_len, "-");
	*server_port = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL && getsockname(ci->connect_fd, (struct sockaddr *)&ss, &slen) == 0)
		sa_text((struct sockaddr *)&ss, slen, server, server_len, server_port);
	else
		snprintf(server, server_len, "-");
}

/* --- connection time limits ----------------------------------------------------- */

int httpd_request_start(const unsigned char *b, size_t n)
{
	size_t i = 0;

	if (n >= 2 && b[0] == 0x16 && b[1] == 0x03)
		return HTTPD_START_TLS;
	while (i < n && (b[i] == '\r' || b[i] == '\n'))
		i++;
	for (; i < n && b[i] != ' '; i++)
		if (b[i] > 0x7e || b[i] <= 0x20 || strchr("\"(),/:;<=>?@[\\]{}", b[i]) != NULL)
			return HTTPD_START_BAD;
	return HTTPD_START_OK;
}

/*
 * Ends a connection from outside libmicrohttpd: a plain-HTTP client gets a
 * short answer first, then the socket is shut down both ways, so the pool
 * thread reads the end of the stream and closes it. Called with the slot on
 * the list (the descriptor is still open).
 */
static void slot_cut(struct conn_slot *cs, int status, const char *reason)
{
	char msg[320];
	int n;

	cs->phase = PHASE_CUT;
	cs->cut_status = status;
	if (!cs->l->o.tls) {
		n = snprintf(msg, sizeof(msg), "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", status,
		    status == 408 ? "Request Timeout" : "Bad Request", strlen(reason) + 1, reason);
		if (n > 0 && (size_t)n < sizeof(msg))
			(void)send(cs->fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (shutdown(cs->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
		log_msg(LOG_WARNING, "client=%s %s: cannot close the connection: %s", cs->client,
		    cs->l->url, strerror(errno));
}

/*
 * Looks at the first bytes of a plain-HTTP connection before libmicrohttpd
 * reads them; refuses those that cannot be HTTP. 0, or -1 when it was cut.
 */
static int slot_screen(struct conn_slot *cs)
{
	unsigned char b[16], junk[4096];
	ssize_t n;
	size_t i;
	int kind;

	if (cs->l->o.tls || (n = recv(cs->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT)) <= 0)
		return 0;
	if ((kind = httpd_request_start(b, (size_t)n)) == HTTPD_START_OK)
		return 0;
	log_msg(LOG_NOTICE, "client=%s %s: %s (first bytes %02x %02x %02x); closed", cs->client,
	    cs->l->url, kind == HTTPD_START_TLS ? "a TLS handshake on the plain-HTTP port: "
	    "the client should use https" : "bytes that cannot start an HTTP request line",
	    b[0], n > 1 ? b[1] : 0, n > 2 ? b[2] : 0);
	/* What it sent is read and dropped, so the close is not a reset that eats the 400. */
	for (i = 0; i < 16 && recv(cs->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
		continue;
	slot_cut(cs, 400, kind == HTTPD_START_TLS ? "this port speaks plain HTTP, not TLS" :
	    "not an HTTP request");
	return -1;
}

/* Records the phase a connection enters (from its pool thread). */
static void slot_phase(struct MHD_Connection *c, enum conn_phase phase, size_t more_bytes)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_slot *cs;
	struct httpd *h;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (cs = ci->socket_context) == NULL)
		return;
	h = cs->l->h;
	pthread_mutex_lock(&h->conn_lock);
	if (cs->phase != PHASE_CUT) {
		if (cs->phase != phase) {
			cs->phase = phase;
			cs->since_ms = monotonic_millis();
			cs->body_bytes = 0;
		}
		cs->body_bytes += more_bytes;
	}
	pthread_mutex_unlock(&h->conn_lock);
}

/* The access-log status of a connection the watcher cut, or 0. */
static int slot_cut_status(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_slot *cs;
	int status;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (cs = ci->socket_context) == NULL)
		return 0;
	pthread_mutex_lock(&cs->l->h->conn_lock);
	status = cs->cut_status;
	pthread_mutex_unlock(&cs->l->h->conn_lock);
	return status;
}

/* Cuts cs when it is over its time limit (list locked). */
static void slot_check(struct conn_slot *cs, long long now)
{
	const struct lopts *o = &cs->l->o;
	long long elapsed = now - cs->since_ms, grace = (long long)o->header_timeout * 1000;
	char why[200];

	switch (cs->phase) {
	case PHASE_HEADERS:
		if (elapsed < grace)
			return;
		snprintf(why, sizeof(why), "request headers not complete within "
		    "http.header_timeout (%u s)", o->header_timeout);
		break;
	case PHASE_IDLE:
		/* libmicrohttpd closes a silent connection after connection_timeout;
		 * one that trickles its next request gets header_timeout more */
		if (elapsed < grace + (long long)o->connection_timeout * 1000)
			return;
		snprintf(why, sizeof(why), "next request not complete within "
		    "http.connection_timeout + http.header_timeout (%u s)",
		    o->connection_timeout + o->header_timeout);
		break;
	case PHASE_BODY:
		if (elapsed < grace || (unsigned long long)(elapsed - grace) * o->min_body_rate <=
		    cs->body_bytes * 1000ULL)
			return;
		snprintf(why, sizeof(why), "request body too slow: %llu bytes in %lld ms, "
		    "below http.min_body_rate (%u bytes/s) after http.header_timeout (%u s)",
		    cs->body_bytes, elapsed, o->min_body_rate, o->header_timeout);
		break;
	default:
		return;
	}
	log_msg(LOG_NOTICE, "client=%s %s: %s; closed", cs->client, cs->l->url, why);
	slot_cut(cs, 408, why);
}

/*
 * The watcher thread: checks every connection's time limit four times a
 * second, and logs the connections refused over a limit once a second.
 */
static void *watch_main(void *arg)
{
	struct httpd *h = arg;
	struct conn_slot *cs;
	struct timespec until;
	long long last_limit_log = 0;
	unsigned hits;

	pthread_mutex_lock(&h->conn_lock);
	while (!h->watch_stop) {
		for (cs = h->conns; cs != NULL; cs = cs->next)
			slot_check(cs, monotonic_millis());
		if (monotonic_millis() - last_limit_log >= 1000 &&
		    (hits = atomic_exchange(&h->limit_hits, 0)) != 0) {
			log_msg(LOG_NOTICE, "httpd: %u connections refused: over http.max_connections "
			    "or http.per_ip_connections", hits);
			last_limit_log = monotonic_millis();
		}
		monotonic_deadline(&until, 250 * 1000);
		(void)pthread_cond_timedwait(&h->watch_cond, &h->conn_lock, &until);
	}
	pthread_mutex_unlock(&h->conn_lock);
	return NULL;
}

/* Starts the watcher once. 0, or -1 with a reason. */
static int watch_start(struct httpd *h, char *err, size_t errlen)
{
	int e;

	if (h->watching)
		return 0;
	if ((e = pthread_create(&h->watcher, NULL, watch_main, h)) != 0) {
		snprintf(err, errlen, "cannot start the HTTP connection watcher: %s", strerror(e));
		return -1;
	}
	h->watching = 1;
	return 0;
}

static void watch_stop(struct httpd *h)
{
	if (!h->watching)
		return;
	pthread_mutex_lock(&h->conn_lock);
	h->watch_stop = 1;
	pthread_cond_signal(&h->watch_cond);
	pthread_mutex_unlock(&h->conn_lock);
	pthread_join(h->watcher, NULL);
	h->watching = 0;
}

/* A new connection's slot, its first bytes screened, on the list with its header clock started. */
static struct conn_slot *slot_open(struct listener *l, struct MHD_Connection *c)
{
	struct httpd *h = l->h;
	struct conn_slot *cs = xcalloc(1, sizeof(*cs));
	const union MHD_ConnectionInfo *ci;

	cs->l = l;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	cs->fd = ci != NULL ? ci->connect_fd : -1;
	conn_addresses(c, cs->client, sizeof(cs->client), cs->server, sizeof(cs->server),
	    &cs->server_port);
	cs->phase = cs->fd == -1 ? PHASE_CUT : PHASE_HEADERS;
	cs->since_ms = monotonic_millis();
	pthread_mutex_lock(&h->conn_lock);
	if (cs->fd != -1)
		(void)slot_screen(cs);
	cs->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = cs;
	h->conns = cs;
	pthread_mutex_unlock(&h->conn_lock);
	return cs;
}

/* Takes a closing connection's slot off the list and frees it with the handler's state. */
static void slot_close(struct httpd *h, struct conn_slot *cs)
{
	pthread_mutex_lock(&h->conn_lock);
	if (cs->prev != NULL)
		cs->prev->next = cs->next;
	else
		h->conns = cs->next;
	if (cs->next != NULL)
		cs->next->prev = cs->prev;
	pthread_mutex_unlock(&h->conn_lock);
	if (cs->pub.state != NULL && cs->pub.state_free != NULL)
		cs->pub.state_free(cs->pub.state);
	free(cs);
}

/*
 * Connection notifications. Both run in the connection's pool thread while
 * its socket is open: STARTED before libmicrohttpd has read anything,
 * CLOSED before it closes the socket.
 */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = slot_open(l, c);
		return;
	}
	if (*socket_context != NULL) {
		slot_close(l->h, *socket_context);
		*socket_context = NULL;
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct listener *l = cls;
	struct conn_req *r = xcalloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;
	const struct conn_slot *cs;

	atomic_fetch_add(&l->h->in_flight, 1);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	if (uri == NULL)
		uri = "";
	r->uri_len = strlen(uri);
	r->uri = xstrdup(uri);
	r->uri_at = uri;
	/* The slot has both ends from the connection's start: no system call per request. */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	cs = ci != NULL ? ci->socket_context : NULL;
	if (cs != NULL) {
		memcpy(r->client, cs->client, sizeof(r->client));
		memcpy(r->server, cs->server, sizeof(r->server));
		r->server_port = cs->server_port;
	} else {
		conn_addresses(c, r->client, sizeof(r->client), r->server, sizeof(r->server),
		    &r->server_port);
	}
	return r;
}

/* IIS's sc-win32-status for a request that did not end normally. */
static unsigned win32_status(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return 0;
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return 121;     /* ERROR_SEM_TIMEOUT */
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return 1236;    /* ERROR_CONNECTION_ABORTED */
	default:
		return 64;      /* ERROR_NETNAME_DELETED: the client went away */
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;
	struct conn_req *r = *con_cls;
	struct timespec t1;
	long long ms;
	int cut;

	slot_phase(c, PHASE_IDLE, 0);
	if (r == NULL)
		return;
	cut = slot_cut_status(c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - r->t0.tv_sec) * 1000 +
	    (t1.tv_nsec - r->t0.tv_nsec) / 1000000;
	log_access(&(struct log_access){
		.server_ip = r->server, .server_port = r->server_port,
		.method = r->method, .target = r->uri, .target_len = r->uri_len,
		.username = r->user,
		.client_ip = r->client, .user_agent = r->user_agent, .referer = r->referer,
		.status = cut ? cut : r->status ? r->status : 400,
		.win32_status = cut == 408 ? 121 : win32_status(toe),
		.time_taken = ms < 0 ? 0 : (unsigned long)ms,
	});
	free(r->resp.body);           /* answered but never sent */
	free_headers(&r->resp);
	free(r->resp.log_user);
	free(r->uri);
	free(r->body);
	free(r->method);
	free(r->user_agent);
	free(r->referer);
	free(r->user);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&l->h->in_flight, 1);
}

static enum MHD_Result send_response(struct listener *l, struct MHD_Connection *c,
    struct conn_req *r, struct http_response *resp)
{
	struct MHD_Response *mr;
	enum MHD_Result rc;
	size_t i;

	if (resp->log_user != NULL) {
		free(r->user);
		r->user = resp->log_user;
		resp->log_user = NULL;
	}
	if (resp->body != NULL)
		mr = MHD_create_response_from_buffer(resp->body_len, resp->body,
		    MHD_RESPMEM_MUST_FREE);
	else
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (mr == NULL) {
		free(resp->body);
		resp->body = NULL;
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
	/* A listener being retired, or a server stopping, takes no next request. */
	if ((atomic_load(&l->closing) || atomic_load(&l->h->draining)) &&
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		goto fail;
	rc = MHD_queue_response(c, (unsigned)resp->status, mr);
	if (rc == MHD_YES)
		r->status = resp->status;
	MHD_destroy_response(mr);
	return rc;
fail:
	free_headers(resp);
	MHD_destroy_response(mr);
	return MHD_NO;
}

/* Answers a request refused by a limit, and logs it. */
static enum MHD_Result refuse(struct listener *l, struct MHD_Connection *c, struct conn_req *r,
    const char *method, int status, const char *reason)
{
	struct http_response resp = { 0 };

	slot_phase(c, PHASE_HANDLER, 0);
	log_request(&(struct log_request){ .client = r->client, .operation = method,
	    .status = status, .reason = reason });
	httpd_text(&resp, status, "%s", reason);
	return send_response(l, c, r, &resp);
}

/*
 * 1 when the request target has no space, control byte, DEL or NUL.
 * libmicrohttpd before 1.0 ends the target by writing a NUL over the space
 * before the version (both in its read buffer) and gives the URI callback a
 * C string, so a NUL inside the target shows as a version that does not
 * start right after that string. libmicrohttpd 1.0 refuses a NUL in the
 * request line itself.
 */
static int target_ok(const struct conn_req *r, const char *version)
{
	size_t i;

	for (i = 0; i < r->uri_len; i++)
		if ((unsigned char)r->uri[i] <= 0x20 || (unsigned char)r->uri[i] == 0x7f)
			return 0;
#if MHD_VERSION < 0x01000000
	return version == r->uri_at + r->uri_len + 1;
#else
	(void)version;
	return 1;
#endif
}

static char *dup_header(struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	return v != NULL ? xstrdup(v) : NULL;
}

/* The handler's view of a complete request; it lives in r until the request ends. */
static void fill_request(struct MHD_Connection *c, struct conn_req *r, const char *url,
    const char *method)
{
	const union MHD_ConnectionInfo *ci;
	const char *q = memchr(r->uri, '?', r->uri_len);

	r->req.method = method;
	r->req.path = url;
	r->req.query = q ? q + 1 : "";
	r->req.query_len = q ? r->uri_len - (size_t)(q + 1 - r->uri) : 0;
	r->req.body = r->body;
	r->req.body_len = r->body_len;
	r->req.client_addr = r->client;
	r->req.user_agent = r->user_agent;
	r->req.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->req.conn = ci != NULL && ci->socket_context != NULL ?
	    &((struct conn_slot *)ci->socket_context)->pub : &r->fallback;
}

static void run_handler(struct httpd *h, struct conn_req *r)
{
	h->handler(h->ctx, &r->req, &r->resp);
	/* Without a connection slot, state cannot outlive the request. */
	if (r->fallback.state != NULL && r->fallback.state_free != NULL)
		r->fallback.state_free(r->fallback.state);
	r->fallback.state = NULL;
	r->answered = 1;
}

static enum MHD_Result send_answer(struct listener *l, struct MHD_Connection *c,
    struct conn_req *r)
{
	enum MHD_Result rc = send_response(l, c, r, &r->resp);

	free(r->resp.log_user);
	r->resp.log_user = NULL;
	return rc;
}

/*
 * A request thread's job: answer, then hand the connection back to its
 * thread, which calls on_request again to send the answer. r may be gone as
 * soon as the connection is resumed; l stays until its queued count is 0.
 */
static void run_queued(struct workq_job *job)
{
	struct conn_req *r = (struct conn_req *)((char *)job - offsetof(struct conn_req, job));
	struct listener *l = r->l;
	struct httpd *h = l->h;

	run_handler(h, r);
	MHD_resume_connection(r->c);
	pthread_mutex_lock(&h->queued_mu);
	if (--l->queued == 0)
		pthread_cond_broadcast(&h->queued_cv);
	pthread_mutex_unlock(&h->queued_mu);
}

static void queue_request(struct listener *l, struct MHD_Connection *c, struct conn_req *r)
{
	r->l = l;
	r->c = c;
	r->job.run = run_queued;
	pthread_mutex_lock(&l->h->queued_mu);
	l->queued++;
	pthread_mutex_unlock(&l->h->queued_mu);
	MHD_suspend_connection(c);
	workq_push(l->h->requests, &r->job);
}

/* Until no request of l's is queued or running (before its daemon stops). */
static void wait_queued(struct listener *l)
{
	pthread_mutex_lock(&l->h->queued_mu);
	while (l->queued > 0)
		pthread_cond_wait(&l->h->queued_cv, &l->h->queued_mu);
	pthread_mutex_unlock(&l->h->queued_mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct conn_req *r = *con_cls;
	const char *clen;

	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		r->started = 1;
		slot_phase(c, PHASE_BODY, 0);
		r->method = xstrdup(method);
		r->user_agent = dup_header(c, MHD_HTTP_HEADER_USER_AGENT);
		r->referer = dup_header(c, MHD_HTTP_HEADER_REFERER);
		if (!target_ok(r, version))
			return refuse(l, c, r, method, MHD_HTTP_BAD_REQUEST,
			    "the request target holds a space, a control byte or NUL");
		if (r->uri_len > l->o.max_url)
			return refuse(l, c, r, method, MHD_HTTP_URI_TOO_LONG,
			    "the request URL is longer than http.max_url allows");
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen != NULL && strtoull(clen, NULL, 10) > l->o.max_body)
			return refuse(l, c, r, method, MHD_HTTP_CONTENT_TOO_LARGE,
			    "the request body is larger than http.max_body allows");
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!r->body_too_large && r->body_len + *upload_data_size > l->o.max_body) {
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
		slot_phase(c, PHASE_BODY, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	slot_phase(c, PHASE_HANDLER, 0);
	if (r->body_too_large)
		return refuse(l, c, r, method, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the request body is larger than http.max_body allows");
	if (r->answered)
		return send_answer(l, c, r);
	fill_request(c, r, url, method);
	if (l->h->quick != NULL && l->h->quick(l->h->ctx, &r->req)) {
		run_handler(l->h, r);
		return send_answer(l, c, r);
	}
	queue_request(l, c, r);
	return MHD_YES;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct listener *l = cls;
	char line[512];
	size_t n;

	/* counted, and logged once a second by the watcher: a flood would write a line each */
	if (l != NULL && strncmp(fmt, "Server reached connection limit", 31) == 0) {
		atomic_fetch_add(&l->h->limit_hits, 1);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_msg(LOG_NOTICE, "httpd %s: %s", l != NULL ? l->url : "", line);
}

/* --- sockets ------------------------------------------------------------------- */

static void sock_url(const struct lsock *s, int tls, char *buf, size_t len)
{
	snprintf(buf, len, "%s://%s%s%s:%u", tls ? "https" : "http",
	    s->family == AF_INET6 ? "[" : "", s->host, s->family == AF_INET6 ? "]" : "", s->port);
}

static void sock_free(struct lsock *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	free(s);
}

/* Binds and listens on host:port (numeric). NULL with a reason. */
static struct lsock *sock_bind(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct lsock *s = NULL, *result = NULL;
	char serv[8];
	int gai, one = 1;

	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((gai = getaddrinfo(host, serv, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen address %s:%u: %s", host, port, gai_strerror(gai));
		goto out;
	}
	s = xcalloc(1, sizeof(*s));
	s->family = ai->ai_family;
	s->port = port;
	snprintf(s->host, sizeof(s->host), "%s", host);
	if ((s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		goto fail;
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (bind(s->fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(s->fd, SOMAXCONN) != 0)
		goto fail;
	result = s;
	s = NULL;
	goto out;
fail:
	snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s%s",
	    ai->ai_family == AF_INET6 ? "[" : "", host, ai->ai_family == AF_INET6 ? "]" : "",
	    port, strerror(errno), errno == EACCES ? " (ports below 1024 need "
	    "CAP_NET_BIND_SERVICE)" : "");
out:
	sock_free(s);
	if (ai != NULL)
		freeaddrinfo(ai);
	return result;
}

int httpd_adopt(struct httpd *h, int fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	struct lsock *s;
	int flags;

	if (h->n_socks >= HTTPD_MAX_SOCKS) {
		snprintf(err, errlen, "too many sockets");
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(err, errlen, "socket %d from systemd is not an IPv4 or IPv6 socket", fd);
		return -1;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "socket %d from systemd: %s", fd, strerror(errno));
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->adopted = 1;
	s->family = ss.ss_family;
	sa_text((struct sockaddr *)&ss, slen, s->host, sizeof(s->host), &s->port);
	h->socks[h->n_socks++] = s;
	h->adopted = 1;
	return 0;
}

/* --- TLS material ---------------------------------------------------------------- */

/* Reads the certificate and key, checks them with OpenSSL. 0 or -1 with a reason. */
static int tls_load(const struct config *cfg, char **cert, size_t *cert_len, char **key,
    size_t *key_len, char *err, size_t errlen)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	char ebuf[256];
	int rc = -1;

	*cert = *key = NULL;
	if ((*cert = (char *)read_file(cfg->tls_cert, HTTPD_MAX_PEM, cert_len)) == NULL) {
		snprintf(err, errlen, "tls.cert %s: %s", cfg->tls_cert, strerror(errno));
		goto out;
	}
	/* one open, checked with fstat (pemfile.c): no check-then-open race */
	if ((*key = (char *)pemfile_read_key(cfg->tls_key, key_len, ebuf, sizeof(ebuf))) == NULL) {
		snprintf(err, errlen, "tls.key %s", ebuf);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(*cert, (int)*cert_len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "tls.cert %s: not a PEM certificate (%s)", cfg->tls_cert,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	BIO_free(bio);
	if ((bio = BIO_new_mem_buf(*key, (int)*key_len)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"")) == NULL) {
		snprintf(err, errlen, "tls.key %s: not an unencrypted PEM private key (%s)",
		    cfg->tls_key, ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		snprintf(err, errlen, "tls.key %s does not match tls.cert %s", cfg->tls_key,
		    cfg->tls_cert);
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), NULL) < 0)
		log_msg(LOG_WARNING, "tls.cert %s has expired: clients will refuse it",
		    cfg->tls_cert);
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (rc != 0) {
		free(*cert);
		if (*key != NULL)
			OPENSSL_clear_free(*key, *key_len);
		*cert = *key = NULL;
	}
	return rc;
}

/* --- listeners ----------------------------------------------------------------- */

static void listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->d != NULL) {
		wait_queued(l);
		MHD_stop_daemon(l->d);
	}
	if (l->qfd != -1)
		close(l->qfd);
	free(l->cert_pem);
	if (l->key_pem != NULL)
		OPENSSL_clear_free(l->key_pem, l->key_len);
	free(l);
}

static int same_listener(const struct listener *l, const struct lopts *o, const char *cert,
    size_t cert_len, const char *key, size_t key_len)
{
	if (memcmp(&l->o, o, sizeof(*o)) != 0)
		return 0;
	if (!o->tls)
		return 1;
	return l->cert_len == cert_len && l->key_len == key_len &&
	    memcmp(l->cert_pem, cert, cert_len) == 0 &&
	    CRYPTO_memcmp(l->key_pem, key, key_len) == 0;
}

/*
 * Closes fd, a duplicate of sock, unless libmicrohttpd closed it already:
 * MHD_start_daemon() closes the socket it was given on most failures (a TLS
 * key GnuTLS refuses) but not on all, and once closed, the number may belong
 * to a descriptor another thread opened since. Only this thread duplicates
 * listening sockets, so the same inode means fd is still the duplicate.
 */
static void close_dup(int fd, int sock)
{
	struct stat a, b;

	if (fstat(fd, &a) == 0 && fstat(sock, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		close(fd);
}

/* Starts a daemon on a duplicate of s's socket. NULL with a reason. */
static struct listener *listener_start(struct httpd *h, struct lsock *s, const struct lopts *o,
    const char *cert, size_t cert_len, const char *key, size_t key_len, char *err,
    size_t errlen)
{
	struct listener *l = xcalloc(1, sizeof(*l)), *result = NULL;
	struct MHD_OptionItem tls_opts[4];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	int fd, defer = (int)o->header_timeout;

	l->h = h;
	l->sock = s;
	l->o = *o;
	l->qfd = -1;
	atomic_init(&l->closing, 0);
	sock_url(s, o->tls, l->url, sizeof(l->url));
	memset(tls_opts, 0, sizeof(tls_opts));
	tls_opts[0].option = MHD_OPTION_END;
	if (o->tls) {
		/* NUL-terminated copies that live as long as the daemon. */
		l->cert_pem = xmalloc(cert_len + 1);
		memcpy(l->cert_pem, cert, cert_len);
		l->cert_pem[cert_len] = '\0';
		l->cert_len = cert_len;
		l->key_pem = xmalloc(key_len + 1);
		memcpy(l->key_pem, key, key_len);
		l->key_pem[key_len] = '\0';
		l->key_len = key_len;
		flags |= MHD_USE_TLS;
		tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, l->cert_pem };
		tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, l->key_pem };
		tls_opts[2] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		    strcmp(o->min_tls, "1.3") == 0 ? (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3" :
		    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
		tls_opts[3].option = MHD_OPTION_END;
	}
	if (s->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* accept only once the client has sent something, so its first bytes can be screened */
	if (!s->adopted && setsockopt(s->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
	    sizeof(defer)) != 0)
		log_msg(LOG_WARNING, "%s: cannot set TCP_DEFER_ACCEPT: %s", l->url, strerror(errno));
	if ((fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 3)) == -1) {
		snprintf(err, errlen, "%s: %s", l->url, strerror(errno));
		goto out;
	}
	l->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, o->threads,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(o->max_url + HTTPD_HEADER_ROOM),
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	    MHD_OPTION_ARRAY, tls_opts,
	    MHD_OPTION_END);
	if (l->d == NULL) {
		close_dup(fd, s->fd);
		snprintf(err, errlen, "cannot start %s (see the httpd message before)", l->url);
		goto out;
	}
	result = l;
	l = NULL;
out:
	listener_free(l);
	return result;
}

/* Stops l accepting and puts it on the retiring list (or stops it when the list is full). */
static void listener_retire(struct httpd *h, struct listener *l)
{
	MHD_socket qfd;

	atomic_store(&l->closing, 1);
	l->sock = NULL;
	qfd = MHD_quiesce_daemon(l->d);
	l->qfd = qfd == MHD_INVALID_SOCKET ? -1 : qfd;
	l->deadline = time(NULL) + (time_t)h->drain_timeout;
	if (h->n_retiring >= HTTPD_MAX_RETIRING) {
		listener_free(l);
		return;
	}
	h->retiring[h->n_retiring++] = l;
}

void httpd_set_quick(struct httpd *h, httpd_quick quick)
{
	h->quick = quick;
}

struct httpd *httpd_new(httpd_handler handler, void *ctx)
{
	struct httpd *h = xcalloc(1, sizeof(*h));

	h->handler = handler;
	h->ctx = ctx;
	if (pthread_mutex_init(&h->conn_lock, NULL) != 0 || cond_init_monotonic(&h->watch_cond) != 0 ||
	    pthread_mutex_init(&h->queued_mu, NULL) != 0 ||
	    pthread_cond_init(&h->queued_cv, NULL) != 0) {
		fputs("scepd: cannot initialise the connection list lock\n", stderr);
		abort();
	}
	h->requests = workq_new();
	atomic_init(&h->in_flight, 0);
	atomic_init(&h->limit_hits, 0);
	atomic_init(&h->draining, 0);
	return h;
}

/* What apply wants: one socket and whether it speaks TLS. */
struct want {
	struct lsock *sock;
	int tls;
	int created;               /* bound by this apply */
};

static int is_any(const char *host)
{
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* 1 when s is one of list (see httpd_adopt for the rule). */
static int sock_matches(const struct lsock *s, const struct config_listen *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].port == s->port && (strcmp(list[i].host, s->host) == 0 ||
		    is_any(list[i].host) || is_any(s->host)))
			return 1;
	return 0;
}

static struct lsock *find_sock(struct httpd *h, const char *host, unsigned port)
{
	size_t i;

	for (i = 0; i < h->n_socks; i++)
		if (h->socks[i]->port == port && strcmp(h->socks[i]->host, host) == 0)
			return h->socks[i];
	return NULL;
}

/* The wanted sockets for cfg, binding new addresses. -1 with a reason. */
static int plan(struct httpd *h, const struct config *cfg, struct want *w, size_t *n,
    char *err, size_t errlen)
{
	const struct config_listen *l;
	struct lsock *s;
	size_t i, k;
	int tls;

	*n = 0;
	if (h->adopted) {
		for (i = 0; i < h->n_socks; i++) {
			w[*n].sock = h->socks[i];
			w[*n].tls = sock_matches(h->socks[i], cfg->tls_listen, cfg->n_tls_listen);
			w[*n].created = 0;
			(*n)++;
		}
		return 0;
	}
	for (k = 0; k < cfg->n_listen + cfg->n_tls_listen; k++) {
		tls = k >= cfg->n_listen;
		l = tls ? &cfg->tls_listen[k - cfg->n_listen] : &cfg->listen[k];
		w[*n].tls = tls;
		w[*n].created = 0;
		if ((s = find_sock(h, l->host, l->port)) == NULL) {
			if ((s = sock_bind(l->host, l->port, err, errlen)) == NULL)
				return -1;
			w[*n].created = 1;
		}
		w[*n].sock = s;
		(*n)++;
	}
	return 0;
}

int httpd_bind(struct httpd *h, const struct config *cfg, char *err, size_t errlen)
{
	const struct config_listen *l;
	struct lsock *s;
	size_t k;

	if (h->adopted)
		return 0;
	for (k = 0; k < cfg->n_listen + cfg->n_tls_listen; k++) {
		l = k < cfg->n_listen ? &cfg->listen[k] : &cfg->tls_listen[k - cfg->n_listen];
		if (find_sock(h, l->host, l->port) != NULL)
			continue;
		if (h->n_socks >= HTTPD_MAX_SOCKS) {
			snprintf(err, errlen, "too many sockets");
			return -1;
		}
		if ((s = sock_bind(l->host, l->port, err, errlen)) == NULL)
			return -1;
		h->socks[h->n_socks++] = s;
	}
	return 0;
}

static void log_unmatched(const struct httpd *h, const struct config *cfg)
{
	size_t i, j;
	const struct config_listen *l;
	int found;

	for (i = 0; i < cfg->n_listen + cfg->n_tls_listen; i++) {
		l = i < cfg->n_listen ? &cfg->listen[i] : &cfg->tls_listen[i - cfg->n_listen];
		for (j = 0, found = 0; j < h->n_socks && !found; j++)
			found = sock_matches(h->socks[j], l, 1);
		if (!found)
			log_event(LOG_WARNING, SCEPD_EVENT_RESTART_NEEDED, "%s %s%s%s:%u is not among "
			    "the sockets systemd passed: add it to scepd.socket and restart",
			    i < cfg->n_listen ? "http.listen" : "tls.listen",
			    strchr(l->host, ':') ? "[" : "", l->host, strchr(l->host, ':') ? "]" : "",
			    l->port);
	}
}

int httpd_apply(struct httpd *h, const struct config *cfg, char *err, size_t errlen)
{
	struct want w[HTTPD_MAX_SOCKS];
	struct listener *next[HTTPD_MAX_SOCKS], *l;
	int started[HTTPD_MAX_SOCKS] = { 0 }, kept[HTTPD_MAX_SOCKS] = { 0 };
	struct lsock *socks[HTTPD_MAX_SOCKS];
	struct lopts o;
	char *cert = NULL, *key = NULL;
	size_t n = 0, i, j, n_socks = 0, cert_len = 0, key_len = 0;
	long ncpu;
	int rc = -1, need_tls = 0, still;

	memset(w, 0, sizeof(w));
	memset(next, 0, sizeof(next));
	memset(&o, 0, sizeof(o));
	o.threads = cfg->threads;
	if (o.threads == 0) {
		/* Four per core: a request thread mostly waits, on the signer process
		 * and on its batch's commit (bench/README: +40 % enrollments/s). */
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		o.threads = ncpu > 0 ? (unsigned)(ncpu < 64 ? ncpu * 4 : 256) : 4;
	}
	o.max_connections = cfg->max_connections;
	o.connection_timeout = cfg->connection_timeout;
	o.per_ip_connections = cfg->per_ip_connections;
	o.header_timeout = cfg->header_timeout;
	o.min_body_rate = cfg->min_body_rate;
	o.max_url = cfg->max_url;
	o.max_body = cfg->max_body;
	snprintf(o.min_tls, sizeof(o.min_tls), "%s", cfg->tls_min_version);

	if (watch_start(h, err, errlen) != 0 ||
	    workq_grow(h->requests, o.threads, err, errlen) != 0 ||
	    plan(h, cfg, w, &n, err, errlen) != 0)
		goto out;
	for (i = 0; i < n; i++)
		need_tls |= w[i].tls;
	if (need_tls && tls_load(cfg, &cert, &cert_len, &key, &key_len, err, errlen) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		o.tls = w[i].tls;
		for (j = 0; j < h->n_active; j++) {
			l = h->active[j];
			if (!kept[j] && l->sock == w[i].sock &&
			    same_listener(l, &o, cert, cert_len, key, key_len)) {
				kept[j] = 1;
				next[i] = l;
				break;
			}
		}
		if (next[i] != NULL)
			continue;
		if ((next[i] = listener_start(h, w[i].sock, &o, cert, cert_len, key, key_len,
		    err, errlen)) == NULL)
			goto out;
		started[i] = 1;
	}

	/* Commit: nothing can fail from here on. */
	for (j = 0; j < h->n_active; j++) {
		if (!kept[j]) {
			log_msg(LOG_NOTICE, "%s: replaced; finishing its requests", h->active[j]->url);
			listener_retire(h, h->active[j]);
		}
	}
	for (i = 0; i < n; i++) {
		if (started[i])
			log_msg(LOG_NOTICE, "listening on %s", next[i]->url);
		h->active[i] = next[i];
		started[i] = 0;
	}
	h->n_active = n;
	/* Sockets no longer wanted are closed (adopted ones are always wanted). */
	for (i = 0; i < h->n_socks; i++) {
		for (j = 0, still = 0; j < n && !still; j++)
			still = w[j].sock == h->socks[i];
		if (still) {
			socks[n_socks++] = h->socks[i];
		} else {
			/* its listener is quiesced already: stop the socket listening */
			(void)shutdown(h->socks[i]->fd, SHUT_RDWR);
			sock_free(h->socks[i]);
		}
	}
	for (i = 0; i < n; i++)
		if (w[i].created)
			socks[n_socks++] = w[i].sock;
	memcpy(h->socks, socks, n_socks * sizeof(socks[0]));
	h->n_socks = n_socks;
	for (i = 0; i < n; i++)
		w[i].created = 0;
	h->drain_timeout = cfg->drain_timeout;
	if (h->adopted)
		log_unmatched(h, cfg);
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		if (started[i])
			listener_free(next[i]);
		if (w[i].created)
			sock_free(w[i].sock);
	}
	free(cert);
	if (key != NULL)
		OPENSSL_clear_free(key, key_len);
	return rc;
}

struct httpd *httpd_start(const struct config *cfg, httpd_handler handler, void *ctx,
    char *err, size_t errlen)
{
	struct httpd *h = httpd_new(handler, ctx);

	if (httpd_apply(h, cfg, err, errlen) != 0) {
		httpd_stop(h);
		return NULL;
	}
	return h;
}

void httpd_describe(const struct httpd *h, char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < h->n_active && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", h->active[i]->url);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void httpd_quiesce(struct httpd *h)
{
	MHD_socket qfd;
	size_t i;

	atomic_store(&h->draining, 1);
	for (i = 0; i < h->n_active; i++) {
		if (h->active[i]->qfd != -1)
			continue;
		qfd = MHD_quiesce_daemon(h->active[i]->d);
		h->active[i]->qfd = qfd == MHD_INVALID_SOCKET ? -1 : qfd;
	}
	/*
	 * Our own sockets stop listening, so new connections are refused rather
	 * than queued (shutdown reaches the daemons' duplicates too). Sockets from
	 * systemd stay: systemd queues for the next start.
	 */
	for (i = 0; i < h->n_socks; i++)
		if (!h->socks[i]->adopted && h->socks[i]->fd != -1)
			(void)shutdown(h->socks[i]->fd, SHUT_RDWR);
}

unsigned httpd_in_flight(const struct httpd *h)
{
	return atomic_load(&((struct httpd *)h)->in_flight);
}

void httpd_tick(struct httpd *h)
{
	const union MHD_DaemonInfo *di;
	struct listener *l;
	time_t now = time(NULL);
	size_t i, k = 0;

	for (i = 0; i < h->n_retiring; i++) {
		l = h->retiring[i];
		di = MHD_get_daemon_info(l->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if ((di != NULL && di->num_connections == 0) || now >= l->deadline) {
			if (di != NULL && di->num_connections != 0)
				log_msg(LOG_NOTICE, "%s (replaced): closing %u connections still open "
				    "after http.drain_timeout", l->url, di->num_connections);
			listener_free(l);
		} else {
			h->retiring[k++] = l;
		}
	}
	h->n_retiring = k;
}

void httpd_stop(struct httpd *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_retiring; i++)
		listener_free(h->retiring[i]);
	for (i = 0; i < h->n_active; i++)
		listener_free(h->active[i]);
	for (i = 0; i < h->n_socks; i++)
		sock_free(h->socks[i]);
	watch_stop(h);
	workq_free(h->requests);
	pthread_cond_destroy(&h->queued_cv);
	pthread_mutex_destroy(&h->queued_mu);
	pthread_cond_destroy(&h->watch_cond);
	pthread_mutex_destroy(&h->conn_lock);
	free(h);
}
