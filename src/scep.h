/* SPDX-License-Identifier: ISC */
/*
 * scep.h: SCEP operation dispatch (RFC 8894 §4) behind the HTTP front end:
 * path routing, GetCACaps and GetCACert from bytes built once at start-up, and
 * PKIOperation: parse, verify, decrypt, check, issue, record, answer.
 */
#ifndef SCEP_H
#define SCEP_H

#include <stddef.h>

struct config;
struct http_request;
struct http_response;
struct scep_server;

/*
 * Loads keys and certificates, opens the store and builds the cached
 * responses. NULL with a reason on failure.
 */
struct scep_server *scep_server_new(const struct config *cfg, char *err, size_t errlen);
void scep_server_free(struct scep_server *srv);

/* The httpd_handler: answers one request. ctx is the struct scep_server. */
void scep_handle(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
