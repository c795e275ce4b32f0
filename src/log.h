/* SPDX-License-Identifier: ISC */
/*
 * log.h: the event log (stderr or syslog). One line per SCEP request with the
 * client address, operation, transactionID, outcome and, on failure, the reason
 * in plain words, plus the NDES event number where NDES has one (ndes.md 4.1).
 * The target is chosen once at start-up by log_init() and not changed after.
 */
#ifndef LOG_H
#define LOG_H

#include <syslog.h>

/* NDES event numbers used in request lines (ndes.md 4.1). */
enum ndes_event {
	NDES_EVENT_NONE = 0,
	NDES_EVENT_STARTED = 1,          /* service started */
	NDES_EVENT_START_FAILED = 2,     /* service cannot be started */
	NDES_EVENT_STOPPED = 3,          /* service stopped */
	NDES_EVENT_NO_PASSWORD = 6,      /* cannot provide a password (account lacks the enroll right) */
	NDES_EVENT_INFO = 8,             /* cannot retrieve required information (store failure) */
	NDES_EVENT_DECODE = 16,          /* cannot decode the request */
	NDES_EVENT_RETRIEVE_INFO = 17,   /* cannot read the client's message */
	NDES_EVENT_DECRYPT = 18,         /* cannot decrypt the client's PKCS7 message */
	NDES_EVENT_RENEWAL = 28,         /* renewal refused */
	NDES_EVENT_PASSWORD = 29,        /* challenge password rejected */
	NDES_EVENT_SUBMIT = 31,          /* submission to the CA failed / refused by policy */
};

/* What one request did; NULL / 0 fields are left out of the line. */
struct log_request {
	const char *client;        /* client address */
	const char *user;          /* signed-in account (mscep_admin) */
	const char *operation;     /* GetCACaps, GetCACert, PKIOperation, ... */
	const char *message_type;  /* PKCSReq, ... */
	const char *transaction_id;
	int status;                /* HTTP status of the answer */
	const char *outcome;       /* CertRep pkiStatus: "SUCCESS", "FAILURE", "PENDING" */
	const char *fail_info;     /* "badRequest", ... */
	const char *serial;        /* issued certificate */
	const char *subject;
	int event;                 /* enum ndes_event */
	const char *reason;        /* plain words */
};

/* use_syslog: 0 = stderr; facility: LOG_DAEMON etc. */
void log_init(const char *ident, int use_syslog, int facility, int debug);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_request(const struct log_request *r);

/* Maps a facility name ("daemon", "local0", ...) to LOG_*; -1 if unknown. */
int log_facility_from_name(const char *name);

#endif
