/* SPDX-License-Identifier: ISC */
/*
 * service.h: the running service between the HTTP front end and SCEP. It
 * holds the current state generation (a configuration with everything loaded
 * from it: keys, certificates, the store, cached replies), reference-counted
 * so that a reload swaps in a new generation while requests in flight finish
 * on the one they started with; routes /metrics and /healthz (for the
 * addresses in monitor.allow) and everything else to SCEP; and checks
 * certificate expiry.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct http_request;
struct http_response;
struct httpd;
struct metrics;
struct service;
struct service_state;

struct service *service_new(struct metrics *m);
void service_free(struct service *svc);

/* For the in-flight gauge of /metrics (may be NULL). */
void service_set_httpd(struct service *svc, struct httpd *h);

/*
 * Loads everything cfg names into a new generation, which owns cfg from then
 * on. NULL with a reason when anything cannot be loaded (the caller still owns
 * cfg then).
 */
struct service_state *service_state_new(struct service *svc, struct config *cfg, char *err,
    size_t errlen);
void service_state_discard(struct service_state *st);

/* Makes st the generation new requests get; the previous one goes when its last request ends. */
void service_install(struct service *svc, struct service_state *st);

/* The configuration of the current generation (main thread: it changes only there). */
const struct config *service_config(const struct service *svc);

/* The generation number serving now (1 = the one started with). */
unsigned long service_generation(const struct service *svc);

/* The httpd_handler. ctx is the struct service. */
void service_handle(void *ctx, const struct http_request *req, struct http_response *resp);

/* The httpd_quick (route_is_quick). ctx is the struct service. */
int service_is_quick(void *ctx, const struct http_request *req);

/*
 * Checks when the CA, RA and TLS certificates expire against
 * monitor.expiry_warning_days. With log_events, each one within it is logged
 * (event 1003, or 1004 once expired). Writes a one-line summary for the
 * systemd status ("" when nothing is near) and returns how many are near or
 * past.
 */
int service_check_expiry(struct service *svc, int64_t now, int log_events, char *status,
    size_t len);

/* 1 when the client address (numeric, IPv4-mapped IPv6 accepted) may read /metrics and /healthz. */
int service_monitor_allowed(const struct config *cfg, const char *client);

#endif
