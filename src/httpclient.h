/* SPDX-License-Identifier: ISC */
/*
 * httpclient.h: what every outgoing HTTP call of scepd shares (an upstream
 * SCEP CA, a webhook, Intune): a libcurl easy handle limited to http and
 * https, no redirects, no signals, both time-outs, TLS peer and host checks
 * on, an optional CA file, and an answer collected up to a bound. Callers add
 * their headers, body, proxy or client certificate.
 */
#ifndef HTTPCLIENT_H
#define HTTPCLIENT_H

#include <stddef.h>
#include <curl/curl.h>

/* An answer, NUL-terminated, at most max bytes; over is set when it was larger. */
struct httpclient_answer {
	char *p;
	size_t len;
	size_t max;
	int over;
};

/*
 * A new easy handle for url with the shared options, timeout_ms for the whole
 * exchange and for connecting, the answer collected into a (a->max set by the
 * caller, the rest zeroed here) and libcurl's error text into ebuf. NULL when
 * libcurl has no memory or refuses an option.
 */
CURL *httpclient_new(const char *url, long timeout_ms, const char *user_agent,
    const char *ca_file, char ebuf[CURL_ERROR_SIZE], struct httpclient_answer *a);

/* Frees a's bytes and zeroes it (keeping max). */
void httpclient_answer_clear(struct httpclient_answer *a);

#endif
