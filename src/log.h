/* SPDX-License-Identifier: ISC */
/*
 * log.h: the event log and the access log.
 *
 * Event log (stderr, syslog or the systemd journal's native protocol; text
 * key=value lines or JSON lines): one line per SCEP request with the client
 * address, operation, transactionID, outcome and, on failure, the reason in
 * plain words, plus the NDES event number where NDES has one (ndes.md 4.1);
 * service events (start, stop, reload, certificate expiry) carry an event
 * number too. In the journal the event number, transactionID and client
 * address are fields of their own.
 *
 * Access log: the W3C extended format with IIS's default fields and order
 * (ndes.md 4.3), appended to a file that log_access_reopen() opens again after
 * a rotation.
 *
 * Every function may be called from any thread; log_configure(),
 * log_access_open() and log_access_reopen() are called by the main thread
 * only (start-up, reload, SIGUSR1).
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <syslog.h>

/*
 * Event numbers. Below 1000: the NDES event with the same meaning (ndes.md
 * 4.1). From 1000: scepd's own events, which NDES does not have.
 */
enum ndes_event {
	NDES_EVENT_NONE = 0,
	NDES_EVENT_STARTED = 1,          /* the service started */
	NDES_EVENT_START_FAILED = 2,     /* the service cannot be started */
	NDES_EVENT_STOPPED = 3,          /* the service stopped */
	NDES_EVENT_NO_PASSWORD = 6,      /* cannot provide a password (account lacks the enroll right) */
	NDES_EVENT_INFO = 8,             /* cannot retrieve required information (store failure) */
	NDES_EVENT_DECODE = 16,          /* cannot decode the request */
	NDES_EVENT_RETRIEVE_INFO = 17,   /* cannot read the client's message */
	NDES_EVENT_DECRYPT = 18,         /* cannot decrypt the client's PKCS7 message */
	NDES_EVENT_RENEWAL = 28,         /* renewal refused */
	NDES_EVENT_PASSWORD = 29,        /* challenge password rejected */
	NDES_EVENT_SUBMIT = 31,          /* submission to the CA failed / refused by policy */
	SCEPD_EVENT_RELOADED = 1001,     /* a new configuration is serving */
	SCEPD_EVENT_RELOAD_REFUSED = 1002, /* a new configuration was refused; the old one serves */
	SCEPD_EVENT_CERT_EXPIRING = 1003,  /* a CA, RA or TLS certificate expires soon */
	SCEPD_EVENT_CERT_EXPIRED = 1004,   /* a CA, RA or TLS certificate has expired */
	SCEPD_EVENT_RESTART_NEEDED = 1005, /* a change takes effect only after a restart */
	SCEPD_EVENT_RUNS_AS_ROOT = 1006,   /* started as root without a user to drop to */
	SCEPD_EVENT_SIGNER_DIED = 1010,    /* a signer process worker died; it is restarted */
	SCEPD_EVENT_SIGNER_REFUSED = 1011, /* the signer process refused a message */
	SCEPD_EVENT_TOKEN_UNAVAILABLE = 1016, /* a PKCS#11 key stopped working (token removed?) */
	SCEPD_EVENT_TOKEN_AVAILABLE = 1017,   /* the PKCS#11 keys work again */
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

enum log_target {
	LOG_TO_STDERR = 0,
	LOG_TO_SYSLOG = 1,
	LOG_TO_JOURNALD = 2,
};

struct log_options {
	int target;                /* enum log_target */
	int json;                  /* JSON lines instead of key=value text (stderr, syslog) */
	int facility;              /* LOG_DAEMON, LOG_LOCAL0, ... */
	int debug;                 /* LOG_DEBUG lines are written */
};

/* use_syslog: 0 = stderr; facility: LOG_DAEMON etc. Text lines. */
void log_init(const char *ident, int use_syslog, int facility, int debug);

/*
 * Sets the target and format; may be called again at any time (reload).
 * Returns 0, or -1 with a reason when the journal socket cannot be created
 * (the previous settings stay).
 */
int log_configure(const struct log_options *o, char *err, size_t errlen);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A service event with its number (enum ndes_event). */
void log_event(int priority, int event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_request(const struct log_request *r);

/* Maps a facility name ("daemon", "local0", ...) to LOG_*; -1 if unknown. */
int log_facility_from_name(const char *name);

/* --- access log ----------------------------------------------------------- */

/* One HTTP request as IIS logs it; NULL or empty strings are written as "-". */
struct log_access {
	const char *server_ip;     /* s-ip */
	unsigned server_port;      /* s-port */
	const char *method;        /* cs-method */
	const char *target;        /* the raw request target: cs-uri-stem '?' cs-uri-query */
	size_t target_len;
	const char *username;      /* cs-username */
	const char *client_ip;     /* c-ip */
	const char *user_agent;    /* cs(User-Agent) */
	const char *referer;       /* cs(Referer) */
	int status;                /* sc-status */
	int substatus;             /* sc-substatus */
	unsigned win32_status;     /* sc-win32-status */
	unsigned long time_taken;  /* time-taken, milliseconds */
};

/* The #Fields: line of the access log, without the newline. */
#define LOG_ACCESS_FIELDS "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query " \
	"s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus " \
	"sc-win32-status time-taken"

/* The longest cs-uri-query written; longer ones are cut (IIS cuts too). */
#define LOG_ACCESS_MAX_QUERY 4096

/*
 * Opens path for appending (mode 0640, created if needed) and writes the
 * header; NULL stops access logging. Returns 0, or -1 with a reason (the
 * previous file stays in use).
 */
int log_access_open(const char *path, char *err, size_t errlen);

/* Opens the same file again (after logrotate moved it). 0 or -1 with a reason. */
int log_access_reopen(char *err, size_t errlen);

/* Appends one line (a single write, so lines of concurrent requests never mix). */
void log_access(const struct log_access *a);

/*
 * Formats one access-log line (with its newline) into buf for time t (UTC).
 * Returns the length; the line is cut to fit len. Used by log_access() and tests.
 */
size_t log_access_format(const struct log_access *a, long long t, char *buf, size_t len);

#endif
