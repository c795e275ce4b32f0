/* SPDX-License-Identifier: ISC */
/*
 * scepbench.c: an enrollment load generator for any SCEP server (scepd,
 * micromdm's scepserver, NDES). Built by `make bench`, never by `make check`.
 *
 *   scepbench -u URL [-n N] [-m M] [-c C] [-g] [-D] [-p CHALLENGE] [-P PID] [-w W]
 *   scepbench -u URL -O GetCACert|GetCACaps [-n N] [-c C] [-P PID] [-w W]
 *
 * In four phases:
 *  1. set-up: GetCACaps and GetCACert through scep_client.c (so the RA
 *     certificates, cipher and digest are picked as scepd's own client picks
 *     them), M RSA-2048 client keys, each with a self-signed certificate;
 *  2. pre-build: N distinct PKCSReq messages (a CSR each, a distinct subject
 *     and transactionID, key i mod M, challengePassword CHALLENGE), signed and
 *     enveloped with scep_client_build_request; GET URLs encoded too (-g);
 *  3. timed: C threads, each with one HTTP/1.1 keep-alive connection of its
 *     own, send the messages (POST, or GET with -g) and keep each reply and
 *     its latency; W messages first are sent untimed to warm up;
 *  4. check: every reply must be HTTP 200 and a CertRep SUCCESS that
 *     scep_client_check_reply accepts (signature by a GetCACert certificate,
 *     transactionID, recipientNonce, decryption with the client key), holding
 *     a certificate for the request's key that chains to the CA.
 * -D accepts replies enveloped with single DES (micromdm's scepserver sends
 * them; it loads OpenSSL's legacy provider).
 * Prints enrollments/s over the timed phase, p50/p90/p99 latency and the
 * failures by kind; with -P, the CPU time the process PID and every process
 * below it (scepd's signer workers) used in the timed phase (utime + stime of
 * /proc/PID/stat) per enrollment.
 * With -O, the same timed phase sends N GET requests of that operation
 * instead (no keys, no enrollments): each answer must be HTTP 200 with the
 * same non-empty bytes as the first warm-up answer; prints requests/s.
 * Exit status 0 when every reply passed its checks, 1 otherwise, 2 on usage.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "base64.h"
#include "oids.h"
#include "scep_client.h"
#include "scep_types.h"
#include "signer.h"
#include "util.h"

#define BENCH_MAX_REPLY (1024 * 1024)
#define BENCH_TIMEOUT_S 120

struct msg {
	unsigned char *der;          /* the pkiMessage (POST body) */
	size_t der_len;
	char *get_query;             /* -g: "operation=PKIOperation&message=..." */
	char tid[41];
	unsigned char nonce[SCEP_CLIENT_NONCE_BYTES];
	int key;                     /* index of its client key */
	/* filled in the timed phase */
	int http_status;             /* 0: no answer */
	unsigned char *reply;
	size_t reply_len;
	double ms;
	int conn;                    /* which connection (thread) sent it */
	char neterr[128];
};

struct bench {
	char host[256], port[16], path[1024];
	int get;
	size_t n, warm;
	struct msg *msgs;
	atomic_size_t next;          /* next message to send */
	atomic_int conns_started;    /* numbers the connections */
	size_t limit;                /* send up to this index (exclusive) */
};

struct conn {
	int fd;
	unsigned char *buf;          /* bytes read and not yet used */
	size_t len, cap;
};

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	char e[512];
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "scepbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (ERR_peek_error() != 0)
		fprintf(stderr, "scepbench: %s\n", ossl_errors(e, sizeof(e)));
	exit(1);
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* http://HOST:PORT/PATH only: the load must not measure TLS. */
static void parse_url(struct bench *b, const char *url)
{
	const char *p, *slash, *colon;

	if (strncmp(url, "http://", 7) != 0)
		die("%s: only http:// URLs", url);
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon == NULL) {
		snprintf(b->host, sizeof(b->host), "%.*s", (int)(slash - p), p);
		snprintf(b->port, sizeof(b->port), "80");
	} else {
		snprintf(b->host, sizeof(b->host), "%.*s", (int)(colon - p), p);
		snprintf(b->port, sizeof(b->port), "%.*s", (int)(slash - colon - 1), colon + 1);
	}
	snprintf(b->path, sizeof(b->path), "%s", *slash ? slash : "/");
}

/* --- set-up and pre-build ---------------------------------------------------- */

static X509 *self_signed(EVP_PKEY *key, int i)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char cn[64];

	snprintf(cn, sizeof(cn), "scepbench client %d", i);
	if (x == NULL || n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1 || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), i + 1) != 1 ||
	    X509_set_subject_name(x, n) != 1 || X509_set_issuer_name(x, n) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
		die("%s", "cannot make a client certificate");
	X509_NAME_free(n);
	return x;
}

static unsigned char *make_csr(EVP_PKEY *key, const char *cn, const char *challenge,
    size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	int l;

	if (req == NULL || n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
	    0) != 1 || X509_REQ_set_subject_name(req, n) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    (challenge != NULL && X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    MBSTRING_UTF8, (const unsigned char *)challenge, -1) != 1) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (l = i2d_X509_REQ(req, &der)) <= 0)
		die("%s", "cannot make a CSR");
	*len = (size_t)l;
	X509_NAME_free(n);
	X509_REQ_free(req);
	return der;
}

static char *url_escape_b64(const char *b64)
{
	size_t i, o = 0, len = strlen(b64);
	char *s = xmalloc(3 * len + 1);

	for (i = 0; i < len; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += (size_t)sprintf(s + o, "%%%02X", (unsigned char)b64[i]);
		else
			s[o++] = b64[i];
	}
	s[o] = '\0';
	return s;
}

static void prebuild(struct bench *b, struct signer **ids, EVP_PKEY **keys, size_t m,
    const struct scep_upstream *u, const char *challenge)
{
	unsigned char run[6], *csr;
	char runhex[13], cn[96], err[512];
	size_t i, csr_len;

	if (RAND_bytes(run, sizeof(run)) != 1)
		die("%s", "RAND_bytes");
	hex_encode(run, sizeof(run), runhex, 0);
	b->msgs = xcalloc(b->n, sizeof(*b->msgs));
	for (i = 0; i < b->n; i++) {
		struct msg *g = &b->msgs[i];

		g->key = (int)(i % m);
		snprintf(g->tid, sizeof(g->tid), "bench%s%08zu", runhex, i);
		snprintf(cn, sizeof(cn), "bench-%s-%zu", runhex, i);
		if (RAND_bytes(g->nonce, sizeof(g->nonce)) != 1)
			die("%s", "RAND_bytes");
		csr = make_csr(keys[g->key], cn, challenge, &csr_len);
		g->der = scep_client_build_request(ids[g->key], u, SCEP_MSG_PKCSREQ, csr, csr_len,
		    g->tid, g->nonce, &g->der_len, err, sizeof(err));
		OPENSSL_free(csr);
		if (g->der == NULL)
			die("building a PKCSReq: %s", err);
		if (b->get) {
			char *b64 = base64_encode(g->der, g->der_len), *esc;

			if (b64 == NULL)
				die("%s", "base64");
			esc = url_escape_b64(b64);
			g->get_query = xasprintf("operation=PKIOperation&message=%s", esc);
			free(esc);
			free(b64);
		}
	}
}

/* --- HTTP/1.1 over one keep-alive connection --------------------------------- */

static int conn_open(struct conn *c, const struct bench *b)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { BENCH_TIMEOUT_S, 0 };
	int one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(b->host, b->port, &hints, &res) != 0)
		return -1;
	c->fd = -1;
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
		if ((c->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
			continue;
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			close(c->fd);
			c->fd = -1;
		}
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->len = 0;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int send_all(int fd, const void *p, size_t n)
{
	const unsigned char *q = p;

	while (n > 0) {
		ssize_t w = send(fd, q, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into c->buf; -1 on error or end of stream. */
static int fill(struct conn *c)
{
	ssize_t r;

	if (c->cap - c->len < 16384) {
		c->cap = c->cap * 2 + 65536;
		c->buf = xrealloc(c->buf, c->cap);
	}
	do
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	c->len += (size_t)r;
	return 0;
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Position just after "\r\n" at or after from, reading more as needed; 0 on error. */
static size_t line_end(struct conn *c, size_t from)
{
	for (;;) {
		unsigned char *p = c->len > from ? memmem(c->buf + from, c->len - from, "\r\n", 2) :
		    NULL;

		if (p != NULL)
			return (size_t)(p - c->buf) + 2;
		if (c->len > BENCH_MAX_REPLY || fill(c) != 0)
			return 0;
	}
}

/* One response: status, body (Content-Length or chunked). 0, or -1 (then close). */
static int read_response(struct conn *c, int *status, unsigned char **body, size_t *body_len,
    int *keep)
{
	size_t pos = 0, e, clen = 0, have_clen = 0, chunked = 0, n;
	unsigned char *out = NULL;
	size_t out_len = 0;

	*keep = 1;
	if ((e = line_end(c, 0)) == 0 || sscanf((char *)c->buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	if (strncmp((char *)c->buf, "HTTP/1.0", 8) == 0)
		*keep = 0;
	for (pos = e; (e = line_end(c, pos)) != 0 && e - pos > 2; pos = e) {
		char *h = (char *)c->buf + pos;

		if (strncasecmp(h, "Content-Length:", 15) == 0) {
			clen = strtoul(h + 15, NULL, 10);
			have_clen = 1;
		} else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 &&
		    strncasecmp(h + 18 + strspn(h + 18, " "), "chunked", 7) == 0) {
			chunked = 1;
		} else if (strncasecmp(h, "Connection:", 11) == 0 &&
		    strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0) {
			*keep = 0;
		}
	}
	if (e == 0)
		return -1;
	consume(c, e);
	if (chunked) {
		for (;;) {
			if ((e = line_end(c, 0)) == 0)
				goto fail;
			n = strtoul((char *)c->buf, NULL, 16);
			consume(c, e);
			if (n > BENCH_MAX_REPLY || out_len + n > BENCH_MAX_REPLY)
				goto fail;
			while (c->len < n + 2)
				if (fill(c) != 0)
					goto fail;
			if (n == 0) {
				consume(c, 2);   /* no trailers expected */
				break;
			}
			out = xrealloc(out, out_len + n);
			memcpy(out + out_len, c->buf, n);
			out_len += n;
			consume(c, n + 2);
		}
	} else {
		if (!have_clen)
			goto fail;   /* a body to the close of the connection: not measured */
		if (clen > BENCH_MAX_REPLY)
			goto fail;
		while (c->len < clen)
			if (fill(c) != 0)
				goto fail;
		out = xmalloc(clen ? clen : 1);
		memcpy(out, c->buf, clen);
		out_len = clen;
		consume(c, clen);
	}
	*body = out;
	*body_len = out_len;
	return 0;
fail:
	free(out);
	return -1;
}

static int exchange(struct conn *c, const struct bench *b, struct msg *g)
{
	char *head;
	int rc, keep = 0;

	if (b->get)
		head = xasprintf("GET %s?%s HTTP/1.1\r\nHost: %s:%s\r\n\r\n", b->path,
		    g->get_query, b->host, b->port);
	else
		head = xasprintf("POST %s?operation=PKIOperation HTTP/1.1\r\nHost: %s:%s\r\n"
		    "Content-Type: application/x-pki-message\r\nContent-Length: %zu\r\n\r\n",
		    b->path, b->host, b->port, g->der_len);
	rc = send_all(c->fd, head, strlen(head));
	free(head);
	if (rc != 0 || (!b->get && send_all(c->fd, g->der, g->der_len) != 0))
		return -1;
	if (read_response(c, &g->http_status, &g->reply, &g->reply_len, &keep) != 0)
		return -1;
	if (!keep)
		conn_close(c);
	return 0;
}

static void *worker(void *arg)
{
	struct bench *b = arg;
	struct conn c = { -1, NULL, 0, 0 };
	int conn_no = atomic_fetch_add(&b->conns_started, 1);
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->limit) {
		struct msg *g = &b->msgs[i];
		double t0 = mono_ms();
		int tries;

		/* A keep-alive connection the server closed meanwhile is opened again once. */
		for (tries = 0; tries < 2; tries++) {
			if (c.fd < 0 && conn_open(&c, b) != 0) {
				snprintf(g->neterr, sizeof(g->neterr), "connect: %s", strerror(errno));
				continue;
			}
			if (exchange(&c, b, g) == 0) {
				g->neterr[0] = '\0';
				break;
			}
			snprintf(g->neterr, sizeof(g->neterr), "connection: %s",
			    errno ? strerror(errno) : "closed");
			free(g->reply);
			g->reply = NULL;
			g->http_status = 0;
			conn_close(&c);
		}
		g->ms = mono_ms() - t0;
		g->conn = conn_no;
	}
	conn_close(&c);
	free(c.buf);
	return NULL;
}

static void run_threads(struct bench *b, size_t from, size_t to, int conns)
{
	pthread_t *t = xcalloc((size_t)conns, sizeof(*t));
	int i;

	atomic_store(&b->next, from);
	atomic_store(&b->conns_started, 0);
	b->limit = to;
	for (i = 0; i < conns; i++)
		if (pthread_create(&t[i], NULL, worker, b) != 0)
			die("%s", "pthread_create");
	for (i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	free(t);
}

/* --- CPU time of the server ---------------------------------------------------- */

/* utime + stime and parent of one process; -1 when it cannot be read. */
static long long one_process_ticks(long pid, long *ppid)
{
	char path[64], buf[4096], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the ")" closing comm: state is field 3, ppid 4, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", ppid, &ut,
	    &st) != 3)
		return -1;
	return (long long)(ut + st);
}

/*
 * utime + stime in clock ticks of pid and every process below it (scepd's
 * signer supervisor and workers do the private-key operations), or -1 when
 * pid itself cannot be read. Processes that ended during the timed phase are
 * not counted.
 */
static long long proc_cpu_ticks(long pid)
{
	enum { MAXP = 4096 };
	static long pids[MAXP], parents[MAXP];
	long long ticks[MAXP], total;
	int in_tree[MAXP], n = 0, i, grew;
	struct dirent *e;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < MAXP) {
		char *end;
		long p = strtol(e->d_name, &end, 10);

		if (*end != '\0' || p <= 0)
			continue;
		if ((ticks[n] = one_process_ticks(p, &parents[n])) < 0)
			continue;
		pids[n] = p;
		in_tree[n] = p == pid;
		n++;
	}
	closedir(d);
	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			int j;

			if (in_tree[i])
				continue;
			for (j = 0; j < n; j++)
				if (in_tree[j] && pids[j] == parents[i]) {
					in_tree[i] = grew = 1;
					break;
				}
		}
	} while (grew);
	total = -1;
	for (i = 0; i < n; i++)
		if (in_tree[i])
			total = (total < 0 ? 0 : total) + ticks[i];
	return total;
}

/* --- checks ------------------------------------------------------------------ */

enum { F_NET, F_HTTP, F_REPLY, F_FAILURE, F_PENDING, F_KEY, F_CHAIN, F_KINDS };
static const char *const fail_names[F_KINDS] = {
	"no answer", "HTTP status not 200", "reply rejected (signature, ids, decryption)",
	"CertRep FAILURE", "CertRep PENDING", "no certificate for the request key",
	"certificate does not chain to the CA",
};

static int check_one(struct msg *g, const struct scep_upstream *u, struct signer *id,
    int allow_des, EVP_PKEY *key, X509_STORE *store, char *why, size_t whylen)
{
	struct scep_client_reply rep;
	X509_STORE_CTX *ctx = NULL;
	X509 *cert = NULL;
	int i, kind = -1;

	if (g->http_status == 0) {
		snprintf(why, whylen, "%s", g->neterr);
		return F_NET;
	}
	if (g->http_status != 200) {
		snprintf(why, whylen, "HTTP %d", g->http_status);
		return F_HTTP;
	}
	switch (scep_client_check_reply(u, id, allow_des, g->reply, g->reply_len, g->tid, g->nonce, &rep)) {
	case SCEP_CLIENT_SUCCESS:
		break;
	case SCEP_CLIENT_FAILURE:
		kind = F_FAILURE;
		break;
	case SCEP_CLIENT_PENDING:
		kind = F_PENDING;
		break;
	default:
		kind = F_REPLY;
		break;
	}
	snprintf(why, whylen, "%s", rep.reason);
	if (kind >= 0)
		goto out;
	for (i = 0; i < sk_X509_num(rep.certs) && cert == NULL; i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(rep.certs, i)), key) == 1)
			cert = sk_X509_value(rep.certs, i);
	if (cert == NULL) {
		kind = F_KEY;
		goto out;
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, cert, u->certs) != 1 || X509_verify_cert(ctx) != 1) {
		snprintf(why, whylen, "%s", ctx ? X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)) : "no memory");
		kind = F_CHAIN;
	}
out:
	X509_STORE_CTX_free(ctx);
	scep_client_reply_free(&rep);
	ERR_clear_error();
	return kind;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)n);

	if (n == 0)
		return 0;
	return v[i >= n ? n - 1 : i];
}

/*
 * The fastest and the slowest connection's median latency: far apart when the
 * server serves some connections after others (a server thread shared by two
 * keep-alive connections answers them one at a time).
 */
static void print_by_connection(const struct bench *b, int conns)
{
	double *v = xcalloc(b->n, sizeof(*v)), lo = 0, hi = 0, med;
	size_t i, k;
	int c, seen = 0;

	for (c = 0; c < conns; c++) {
		for (i = k = 0; i < b->n; i++)
			if (b->msgs[i].conn == c)
				v[k++] = b->msgs[i].ms;
		if (k == 0)
			continue;
		qsort(v, k, sizeof(*v), cmp_double);
		med = pct(v, k, 50);
		if (!seen || med < lo)
			lo = med;
		if (!seen || med > hi)
			hi = med;
		seen = 1;
	}
	printf("connections  p50 of the fastest %.1f ms, of the slowest %.1f ms\n", lo, hi);
	free(v);
}

static void usage(void)
{
	fprintf(stderr, "usage: scepbench -u URL [-n N] [-m M] [-c C] [-g] [-p CHALLENGE] "
	    "[-D] [-P PID] [-w W]\n       scepbench -u URL -O GetCACert|GetCACaps [-n N] "
	    "[-c C] [-P PID] [-w W]\n");
	exit(2);
}

/*
 * -O: N GETs of operation op over conns connections after at least one
 * warm-up; every answer must be 200 and the bytes of the first one.
 * Returns the exit status.
 */
static int fetch_bench(struct bench *b, const char *url, const char *op, int conns, long pid)
{
	const struct msg *ref;
	size_t i, bad = 0;
	long long cpu0 = 0, cpu1 = 0;
	double t0, t1, *lat;

	b->get = 1;
	b->warm = b->warm > 0 ? b->warm : 1;
	b->msgs = xcalloc(b->n + b->warm, sizeof(*b->msgs));
	for (i = 0; i < b->n + b->warm; i++)
		b->msgs[i].get_query = xasprintf("operation=%s&message=scepbench", op);
	run_threads(b, b->n, b->n + b->warm, conns);
	ref = &b->msgs[b->n];
	if (ref->http_status != 200 || ref->reply_len == 0)
		die("%s: the first answer is HTTP %d with %zu bytes", op, ref->http_status,
		    ref->reply_len);
	if (pid > 0 && (cpu0 = proc_cpu_ticks(pid)) < 0)
		die("cannot read /proc/%ld/stat", pid);
	t0 = mono_ms();
	run_threads(b, 0, b->n, conns);
	t1 = mono_ms();
	if (pid > 0 && (cpu1 = proc_cpu_ticks(pid)) < 0)
		die("cannot read /proc/%ld/stat", pid);
	lat = xcalloc(b->n, sizeof(*lat));
	for (i = 0; i < b->n; i++) {
		const struct msg *g = &b->msgs[i];

		lat[i] = g->ms;
		if (g->http_status != 200 || g->reply_len != ref->reply_len ||
		    memcmp(g->reply, ref->reply, ref->reply_len) != 0)
			bad++;
	}
	qsort(lat, b->n, sizeof(*lat), cmp_double);
	printf("url          %s (GET %s, %d connections)\n", url, op, conns);
	printf("requests     %zu sent, %zu answered 200 with the first answer's %zu bytes, "
	    "%zu not\n", b->n, b->n - bad, ref->reply_len, bad);
	printf("rate         %.1f requests/s (%.3f s)\n", (double)b->n * 1e3 / (t1 - t0),
	    (t1 - t0) / 1e3);
	printf("latency      p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
	    pct(lat, b->n, 50), pct(lat, b->n, 90), pct(lat, b->n, 99), lat[b->n - 1]);
	if (pid > 0)
		printf("server cpu   %.4f ms per request (pid %ld and its children)\n",
		    (double)(cpu1 - cpu0) * 1e3 / (double)sysconf(_SC_CLK_TCK) / (double)b->n, pid);
	for (i = 0; i < b->n + b->warm; i++) {
		free(b->msgs[i].get_query);
		free(b->msgs[i].reply);
	}
	free(b->msgs);
	free(lat);
	return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct bench b;
	struct scep_client_options o;
	struct scep_client *client;
	struct scep_upstream *u;
	struct signer **ids;
	EVP_PKEY **keys;
	X509_STORE *store;
	const char *url = NULL, *challenge = NULL, *fetch_op = NULL;
	size_t m = 8, i, nfail = 0, kinds[F_KINDS] = { 0 }, ok = 0;
	long pid = 0;
	long long cpu0 = 0, cpu1 = 0;
	int conns = 8, opt, allow_des = 0;
	double t0, t1, *lat;
	char err[512];

	memset(&b, 0, sizeof(b));
	b.n = 1000;
	while ((opt = getopt(argc, argv, "u:n:m:c:gDp:P:w:O:")) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'n': b.n = strtoul(optarg, NULL, 10); break;
		case 'm': m = strtoul(optarg, NULL, 10); break;
		case 'c': conns = atoi(optarg); break;
		case 'g': b.get = 1; break;
		case 'D': allow_des = 1; break;
		case 'p': challenge = optarg; break;
		case 'P': pid = atol(optarg); break;
		case 'w': b.warm = strtoul(optarg, NULL, 10); break;
		case 'O': fetch_op = optarg; break;
		default: usage();
		}
	}
	if (url == NULL || b.n == 0 || m == 0 || conns <= 0 || conns > 4096)
		usage();
	parse_url(&b, url);
	if (fetch_op != NULL) {
		if (strcmp(fetch_op, "GetCACert") != 0 && strcmp(fetch_op, "GetCACaps") != 0)
			usage();
		return fetch_bench(&b, url, fetch_op, conns, pid);
	}
	if (oids_register() != 0)
		die("%s", "cannot register the SCEP OIDs");

	/* 1. set-up */
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.timeout = 60;
	o.max_concurrent = 4;
	o.cache_time = 86400;
	if ((client = scep_client_new(&o, err, sizeof(err))) == NULL ||
	    (u = scep_client_upstream(client, 0, err, sizeof(err))) == NULL)
		die("%s", err);
	if (!b.get && !u->post)
		fprintf(stderr, "scepbench: the server does not offer POSTPKIOperation; POST anyway\n");
	ids = xcalloc(m, sizeof(*ids));
	keys = xcalloc(m, sizeof(*keys));
	for (i = 0; i < m; i++) {
		X509 *x;

		if ((keys[i] = EVP_RSA_gen(2048)) == NULL)
			die("%s", "RSA key generation");
		x = self_signed(keys[i], (int)i);
		if ((ids[i] = signer_from_pair(x, keys[i], allow_des, err, sizeof(err))) == NULL)
			die("%s", err);
		X509_free(x);
	}
	if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, u->ca) != 1)
		die("%s", "X509_STORE");

	/* 2. pre-build */
	b.warm = b.warm < b.n ? b.warm : 0;
	b.n += b.warm;
	prebuild(&b, ids, keys, m, u, challenge);
	b.n -= b.warm;

	/* 3. timed (after the untimed warm-up) */
	if (b.warm)
		run_threads(&b, b.n, b.n + b.warm, conns);
	if (pid > 0 && (cpu0 = proc_cpu_ticks(pid)) < 0)
		die("cannot read /proc/%ld/stat", pid);
	t0 = mono_ms();
	run_threads(&b, 0, b.n, conns);
	t1 = mono_ms();
	if (pid > 0 && (cpu1 = proc_cpu_ticks(pid)) < 0)
		die("cannot read /proc/%ld/stat", pid);

	/* 4. check */
	lat = xcalloc(b.n, sizeof(*lat));
	for (i = 0; i < b.n; i++) {
		struct msg *g = &b.msgs[i];
		char why[600];
		int k = check_one(g, u, ids[g->key], allow_des, keys[g->key], store, why, sizeof(why));

		lat[i] = g->ms;
		if (k < 0) {
			ok++;
			continue;
		}
		kinds[k]++;
		if (nfail++ < 5)
			fprintf(stderr, "scepbench: %s: %s: %s\n", g->tid, fail_names[k], why);
	}
	qsort(lat, b.n, sizeof(*lat), cmp_double);

	printf("url          %s (%s, %d connections, %zu client keys)\n", url,
	    b.get ? "GET" : "POST", conns, m);
	printf("enrollments  %zu sent, %zu checked good, %zu failed\n", b.n, ok, nfail);
	printf("rate         %.1f enrollments/s (%.3f s)\n", (double)b.n * 1e3 / (t1 - t0),
	    (t1 - t0) / 1e3);
	printf("latency      p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
	    pct(lat, b.n, 50), pct(lat, b.n, 90), pct(lat, b.n, 99), lat[b.n - 1]);
	print_by_connection(&b, conns);
	for (i = 0; i < F_KINDS; i++)
		if (kinds[i])
			printf("failures     %zu %s\n", kinds[i], fail_names[i]);
	if (pid > 0)
		printf("server cpu   %.3f ms per enrollment (pid %ld and its children, %.2f s)\n",
		    (double)(cpu1 - cpu0) * 1e3 / (double)sysconf(_SC_CLK_TCK) / (double)b.n, pid,
		    (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK));

	for (i = 0; i < b.n + b.warm; i++) {
		free(b.msgs[i].der);
		free(b.msgs[i].get_query);
		free(b.msgs[i].reply);
	}
	free(b.msgs);
	free(lat);
	for (i = 0; i < m; i++) {
		signer_free(ids[i]);
		EVP_PKEY_free(keys[i]);
	}
	free(ids);
	free(keys);
	X509_STORE_free(store);
	scep_upstream_release(client, u);
	scep_client_free(client);
	return nfail == 0 ? 0 : 1;
}
