/* SPDX-License-Identifier: ISC */
/*
 * scep.h: SCEP operations (RFC 8894 §4) behind the HTTP front end, on the
 * routes route.h picks: GetCACaps and GetCACert from bytes built once at
 * start-up, and PKIOperation: parse, verify, decrypt, check, issue, record,
 * answer.
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

/*
 * The previous RA generation is read from the ra.* files with this suffix
 * appended ("ra-sign.crt.prev", ...), written by `scepctl ra renew`. While it
 * loads and has not expired, requests encrypted to it are decrypted and
 * answered by it; GetCACert hands out only the current generation.
 */
#define SCEP_RA_PREVIOUS_SUFFIX ".prev"

struct metrics;
struct ratelimit;

/*
 * Counts rejected challenge passwords in challenge and failed sign-ins in
 * signin (neither owned: they outlive the server) instead of the server's own
 * tables, so that a reload does not reset them.
 */
void scep_server_share_limiters(struct scep_server *srv, struct ratelimit *challenge,
    struct ratelimit *signin);

/* Counts requests in m from now on (not owned; it outlives the server). */
void scep_server_set_metrics(struct scep_server *srv, struct metrics *m);

/* 1 when a previous RA generation is loaded. */
int scep_server_has_previous_ra(const struct scep_server *srv);

/* A certificate the server serves with, for expiry warnings and /metrics. */
struct scep_cert_info {
	const char *role;          /* "ca", "ra-sign", "ra-enc", "ra-sign-previous", "ra-enc-previous" */
	char subject[256];
	char serial[80];
	long long not_after;       /* seconds since the epoch */
};

/* The CA and RA certificates in use (at most max); returns how many. */
size_t scep_server_certs(const struct scep_server *srv, struct scep_cert_info *out, size_t max);

/* Unused one-time passwords in the store (0 in static or no-password mode); -1 on error. */
int scep_server_challenges_cached(struct scep_server *srv);

/*
 * 0 when the store answers and the RA signing key signs, with no CA or RA
 * certificate expired; -1 with the reason otherwise.
 */
int scep_server_health(struct scep_server *srv, char *err, size_t errlen);

/*
 * Lab mode's /lab/ pages (labpage.c) from this generation's store, decoded
 * with the default profile's RA keys; the caller checked lab.enabled,
 * monitor.allow and the method.
 */
void scep_server_lab(struct scep_server *srv, const struct http_request *req,
    struct http_response *resp);

/* The httpd_handler: routes (route_match) and answers one request. ctx is the struct scep_server. */
void scep_handle(void *ctx, const struct http_request *req, struct http_response *resp);

#endif
