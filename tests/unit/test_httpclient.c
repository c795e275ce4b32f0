/* SPDX-License-Identifier: ISC */
/*
 * test_httpclient: the shared libcurl set-up against a one-shot HTTP server on
 * 127.0.0.1 (a thread here): an answer within the bound is collected whole and
 * NUL-terminated, one byte more aborts the transfer with over set and nothing
 * kept, a redirect is not followed, and a file:// URL is refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpclient.h"
#include "tap.h"

struct server {
	int fd;
	int port;
	const char *head;   /* status line and headers, without the blank line */
	size_t body_len;    /* bytes of 'x' after them */
};

/* Serves one connection: reads the request head, writes the answer, closes. */
static void *serve_one(void *arg)
{
	struct server *s = arg;
	char req[4096], hdr[512];
	size_t got = 0, sent;
	ssize_t n;
	char *body;
	int c;

	if ((c = accept(s->fd, NULL, NULL)) < 0)
		return NULL;
	while (got < sizeof(req) - 1 && (n = read(c, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	snprintf(hdr, sizeof(hdr), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    s->head, s->body_len);
	body = malloc(s->body_len + 1);
	memset(body, 'x', s->body_len);
	if (write(c, hdr, strlen(hdr)) < 0)
		goto out;
	for (sent = 0; sent < s->body_len; sent += (size_t)n)
		if ((n = write(c, body + sent, s->body_len - sent)) <= 0)
			break;
out:
	free(body);
	close(c);
	return NULL;
}

static int listen_loopback(struct server *s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 1) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	s->port = ntohs(a.sin_port);
	return 0;
}

/* One GET against a fresh server answering head and body_len bytes, bound max. */
static CURLcode get(const char *head, size_t body_len, size_t max,
    struct httpclient_answer *a, long *status)
{
	struct server s = { -1, 0, head, body_len };
	char url[64], ebuf[CURL_ERROR_SIZE];
	pthread_t t;
	CURLcode rc = CURLE_FAILED_INIT;
	CURL *h;

	memset(a, 0, sizeof(*a));
	a->max = max;
	*status = 0;
	if (listen_loopback(&s) != 0 || pthread_create(&t, NULL, serve_one, &s) != 0)
		return rc;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	if ((h = httpclient_new(url, 20000, "test", NULL, ebuf, a)) != NULL) {
		rc = curl_easy_perform(h);
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		curl_easy_cleanup(h);
	}
	shutdown(s.fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(s.fd);
	return rc;
}

int main(void)
{
	struct httpclient_answer a;
	char ebuf[CURL_ERROR_SIZE];
	long status;
	CURL *h;

	curl_global_init(CURL_GLOBAL_DEFAULT);

	is_int(get("HTTP/1.1 200 OK", 1000, 1000, &a, &status), CURLE_OK,
	    "an answer of exactly the bound is read");
	is_int(status, 200, "status 200");
	is_int((long long)a.len, 1000, "all 1000 bytes collected");
	ok(a.p != NULL && a.p[1000] == '\0' && a.p[999] == 'x', "NUL-terminated");
	ok(!a.over, "not over the bound");
	httpclient_answer_clear(&a);
	is_int((long long)a.max, 1000, "clearing keeps the bound");
	ok(a.p == NULL && a.len == 0, "clearing frees the bytes");

	is_int(get("HTTP/1.1 200 OK", 1001, 1000, &a, &status), CURLE_WRITE_ERROR,
	    "one byte over the bound aborts the transfer");
	ok(a.over, "over is set");
	ok(a.len <= 1000, "no more than the bound kept (%zu)", a.len);
	httpclient_answer_clear(&a);

	is_int(get("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere", 0, 100, &a,
	    &status), CURLE_OK, "a redirect is an answer");
	is_int(status, 302, "it is not followed (status 302)");
	httpclient_answer_clear(&a);

	memset(&a, 0, sizeof(a));
	a.max = 100;
	h = httpclient_new("file:///etc/hostname", 1000, "test", NULL, ebuf, &a);
	ok(h != NULL, "a handle for a file:// URL");
	ok(h == NULL || curl_easy_perform(h) == CURLE_UNSUPPORTED_PROTOCOL,
	    "file:// is refused (http and https only)");
	ok(a.len == 0, "nothing read from the file");
	if (h != NULL)
		curl_easy_cleanup(h);
	httpclient_answer_clear(&a);

	curl_global_cleanup();
	return done_testing();
}
