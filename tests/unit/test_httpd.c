/* SPDX-License-Identifier: ISC */
/*
 * test_httpd.c: the HTTP front end (src/httpd.c) where it meets
 * libmicrohttpd's start-up: a TLS certificate OpenSSL accepts but GnuTLS
 * refuses (brainpoolP256r1) fails cleanly, and the socket libmicrohttpd
 * already closed is not closed a second time (another thread may own that
 * descriptor number by then). close() is wrapped to count double closes.
 * The TLS key is read with one open and checked on that descriptor: a FIFO
 * (which a stat-then-open check passed, and whose writer decides what is read)
 * and a group-readable key are refused, naming the file.
 * httpd_request_start() tells the first bytes of a request line from a TLS
 * ClientHello and other bytes that are not HTTP.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tap.h"
#include "config.h"
#include "httpd.h"
#include "util.h"

static int ebadf_closes;

/* Every close() of the program, libmicrohttpd's too: counts those of a closed descriptor. */
int close(int fd)
{
	long rc = syscall(SYS_close, fd);

	if (rc != 0 && errno == EBADF)
		ebadf_closes++;
	return (int)rc;
}

static void handler(void *ctx, const struct http_request *req, struct http_response *resp)
{
	httpd_text(resp, 200, "ok");
}

/* A self-signed certificate and key on curve into dir/name.crt and dir/name.key (0600). */
static int write_tls(const char *dir, const char *name, const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char path[512];
	FILE *f;
	int fd, rc = -1;

	if (k == NULL || x == NULL || n == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1,
	    -1, 0) != 1 || X509_set_subject_name(x, n) != 1 || X509_set_issuer_name(x, n) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, k) != 1 || X509_sign(x, k, EVP_sha256()) <= 0)
		goto out;
	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		goto out;
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		goto out;
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	rc = 0;
out:
	EVP_PKEY_free(k);
	X509_free(x);
	X509_NAME_free(n);
	return rc;
}

/* A loopback port free right now. */
static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (s != -1 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(s, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (s != -1)
		close(s);
	return port;
}

static struct config *tls_config(const char *dir, const char *name, unsigned port)
{
	char *text = xasprintf("http = { listen = [ ]; };\n"
	    "tls = { listen = [ \"127.0.0.1:%u\" ]; cert = \"%s/%s.crt\"; key = \"%s/%s.key\"; };\n",
	    port, dir, name, dir, name);
	struct config *cfg = config_load_string("t.conf", text, stderr);

	free(text);
	return cfg;
}

/* Starts a child that writes the file src into the FIFO fifo once a reader opens it. */
static pid_t fifo_writer(const char *fifo, const char *src)
{
	unsigned char *buf;
	size_t len = 0;
	pid_t pid;
	int fd;

	if ((buf = read_file(src, 65536, &len)) == NULL)
		return -1;
	if ((pid = fork()) == 0) {
		signal(SIGPIPE, SIG_IGN);
		if ((fd = open(fifo, O_WRONLY)) != -1)
			(void)write(fd, buf, len);
		_exit(0);
	}
	free(buf);
	return pid;
}

/* The start error for the TLS key dir/name.key (certificate p256.crt). */
static void tls_key_refused(const char *dir, const char *name, unsigned port, const char *want,
    const char *desc)
{
	char *text = xasprintf("http = { listen = [ ]; };\n"
	    "tls = { listen = [ \"127.0.0.1:%u\" ]; cert = \"%s/p256.crt\"; "
	    "key = \"%s/%s.key\"; };\n", port, dir, dir, name);
	struct config *cfg = config_load_string("t.conf", text, stderr);
	struct httpd *h = NULL;
	char err[512] = "", file[600];

	snprintf(file, sizeof(file), "tls.key %s/%s.key: ", dir, name);
	if (cfg != NULL)
		h = httpd_start(cfg, handler, NULL, err, sizeof(err));
	ok(cfg != NULL && h == NULL, "%s: refused", desc);
	ok(strstr(err, file) != NULL && strstr(err, want) != NULL, "... naming the file and "
	    "saying '%s' (%s)", want, err);
	httpd_stop(h);
	config_free(cfg);
	free(text);
}

static int start_of(const char *b, size_t n)
{
	return httpd_request_start((const unsigned char *)b, n);
}

static void request_start(void)
{
	static const unsigned char hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };

	is_int(start_of("", 0), HTTPD_START_OK, "no bytes yet: nothing to judge");
	is_int(start_of("G", 1), HTTPD_START_OK, "\"G\": may start GET");
	is_int(start_of("GET /x HTTP/1.1\r\n", 17), HTTPD_START_OK, "a GET request line");
	is_int(start_of("POST /", 6), HTTPD_START_OK, "POST");
	is_int(start_of("\r\nGET /", 7), HTTPD_START_OK, "an empty line before the request line");
	is_int(start_of("M-SEARCH *", 10), HTTPD_START_OK, "a method with '-' (a token)");
	is_int(httpd_request_start(hello, sizeof(hello)), HTTPD_START_TLS, "a TLS handshake record");
	is_int(httpd_request_start(hello, 1), HTTPD_START_BAD, "0x16 alone: not HTTP");
	is_int(start_of("\x80\x01junk", 6), HTTPD_START_BAD, "a byte over 0x7e");
	is_int(start_of("GE\tT /", 6), HTTPD_START_BAD, "a tab in the method");
	is_int(start_of("GET\0/", 5), HTTPD_START_BAD, "a NUL in the method");
	is_int(start_of("GE(T /", 6), HTTPD_START_BAD, "a separator in the method");
	is_int(start_of("SSH-2.0-OpenSSH_9.2\r\n", 21), HTTPD_START_BAD,
	    "an SSH banner ('.' is a token byte, '\\r' ends it)");
}

int main(void)
{
	char dir[] = "/tmp/test_httpd.XXXXXX", err[512], path[600];
	struct config *cfg;
	struct httpd *h;
	unsigned port;

	if (mkdtemp(dir) == NULL || write_tls(dir, "p256", "P-256") != 0 ||
	    write_tls(dir, "bp", "brainpoolP256r1") != 0 || (port = free_port()) == 0) {
		ok(0, "test set-up");
		return done_testing();
	}
	request_start();

	cfg = tls_config(dir, "p256", port);
	ok(cfg != NULL, "configuration with a P-256 TLS listener");
	err[0] = '\0';
	h = cfg != NULL ? httpd_start(cfg, handler, NULL, err, sizeof(err)) : NULL;
	ok(h != NULL, "a P-256 certificate serves (%s)", err);
	httpd_stop(h);
	config_free(cfg);
	is_int(ebadf_closes, 0, "no descriptor closed twice");

	cfg = tls_config(dir, "bp", port);
	ok(cfg != NULL, "configuration with a brainpoolP256r1 TLS listener");
	err[0] = '\0';
	h = cfg != NULL ? httpd_start(cfg, handler, NULL, err, sizeof(err)) : NULL;
	ok(h == NULL, "a certificate GnuTLS refuses fails the start");
	ok(strstr(err, "cannot start https://127.0.0.1:") != NULL, "... saying which listener (%s)",
	    err);
	is_int(ebadf_closes, 0, "... and closes no descriptor twice");
	httpd_stop(h);
	config_free(cfg);

	/* a FIFO with mode 0600, a writer behind it handing out a good key */
	snprintf(path, sizeof(path), "%s/fifo.key", dir);
	if (mkfifo(path, 0600) == 0) {
		char src[600];
		pid_t pid;

		snprintf(src, sizeof(src), "%s/p256.key", dir);
		pid = fifo_writer(path, src);
		tls_key_refused(dir, "fifo", port, "not a regular file", "a FIFO as tls.key");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		unlink(path);
	} else {
		ok(0, "mkfifo %s: %s", path, strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/p256.key", dir);
	chmod(path, 0640);
	tls_key_refused(dir, "p256", port, "accessible by group or others (mode 0640)",
	    "a group-readable tls.key");

	snprintf(path, sizeof(path), "%s/p256.crt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/p256.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bp.crt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bp.key", dir);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
