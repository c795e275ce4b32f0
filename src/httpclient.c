/* SPDX-License-Identifier: ISC */
/*
 * httpclient.c: the libcurl set-up shared by every outgoing HTTP call (see
 * httpclient.h), and the bounded collection of an answer.
 */
#include <stdlib.h>
#include <string.h>

#include "httpclient.h"
#include "util.h"

/* libcurl's write callback: appends to the answer, aborts past its bound. */
static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct httpclient_answer *a = arg;
	size_t n = size * nmemb;

	if (nmemb != 0 && n / nmemb != size)
		return 0;
	if (n > a->max || a->len > a->max - n) {
		a->over = 1;
		return 0;   /* aborts the transfer */
	}
	a->p = xrealloc(a->p, a->len + n + 1);
	memcpy(a->p + a->len, data, n);
	a->len += n;
	a->p[a->len] = '\0';
	return n;
}

void httpclient_answer_clear(struct httpclient_answer *a)
{
	size_t max = a->max;

	free(a->p);
	memset(a, 0, sizeof(*a));
	a->max = max;
}

CURL *httpclient_new(const char *url, long timeout_ms, const char *user_agent,
    const char *ca_file, char ebuf[CURL_ERROR_SIZE], struct httpclient_answer *a)
{
	CURL *h;

	httpclient_answer_clear(a);
	ebuf[0] = '\0';
	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, a) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (ca_file != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK)) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}
