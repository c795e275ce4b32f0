/* SPDX-License-Identifier: ISC */
/*
 * labpage.h: the /lab/ page of lab mode (issue 15): the page and its script
 * (src/lab/, compiled in), the recorded exchanges as JSON, each one's raw
 * request and reply for download, and its decoded details (inspect.h). The
 * caller has checked lab mode, monitor.allow and the method.
 */
#ifndef LABPAGE_H
#define LABPAGE_H

struct config;
struct http_request;
struct http_response;
struct signer;
struct store_pool;

/* 1 when path is /lab or under /lab/. */
int labpage_path(const char *path);

/*
 * Answers a GET for a path under /lab/: recordings from pool, decoded with
 * ra's keys (NULL: envelopes stay closed) and cfg's template names.
 */
void labpage_handle(const struct config *cfg, struct store_pool *pool, const struct signer *ra,
    const struct http_request *req, struct http_response *resp);

#endif
