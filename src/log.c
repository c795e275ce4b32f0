/* SPDX-License-Identifier: ISC */
/*
 * log.c: writes event-log lines to stderr, syslog or the systemd journal
 * (native protocol: one datagram of KEY=value fields per event to
 * /run/systemd/journal/socket, written here without libsystemd), as key=value
 * text or JSON lines; and the W3C access log. Request lines are key=value
 * pairs so both people and scripts can read them; values that may hold spaces
 * or quotes (subject, reason) are quoted with escapes.
 *
 * The settings live in one static block of atomics: logging is process-wide,
 * and a reload changes them while request threads write. The access log's
 * descriptor number never changes once opened: a new file is dup2()ed onto
 * it, so a thread in the middle of write() never sees a closed or reused
 * descriptor. It touches no key and no request state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#ifndef SCEPD_VERSION
#define SCEPD_VERSION "0"
#endif

#define LOG_LINE_MAX 4096
#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Process-wide logging state; see the file comment. */
static struct {
	char ident[32];              /* set by log_init() before any thread starts */
	atomic_int target;
	atomic_int json;
	atomic_int facility;
	atomic_int debug;
	atomic_int journal_fd;       /* datagram socket to journald, -1 until needed */
	atomic_int stderr_is_journal; /* stderr goes to the journal: "<N>" prefixes */
	atomic_int access_fd;        /* -1 until an access log is first opened */
	atomic_int access_on;
	char access_path[PATH_MAX];  /* main thread only */
} log_state = { "scepd", 0, 0, LOG_DAEMON, 0, -1, 0, -1, 0, "" };

/* 1 when $JOURNAL_STREAM names our stderr (systemd connected it to the journal). */
static int stderr_to_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void log_init(const char *ident, int use_syslog, int facility, int debug)
{
	struct log_options o = { use_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, 0, facility, debug };
	char err[128];

	snprintf(log_state.ident, sizeof(log_state.ident), "%s", ident);
	atomic_store(&log_state.stderr_is_journal, stderr_to_journal());
	(void)log_configure(&o, err, sizeof(err));
}

int log_configure(const struct log_options *o, char *err, size_t errlen)
{
	int fd;

	if (o->target == LOG_TO_JOURNALD && atomic_load(&log_state.journal_fd) == -1) {
		if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
			snprintf(err, errlen, "cannot create a socket for the journal: %s",
			    strerror(errno));
			return -1;
		}
		atomic_store(&log_state.journal_fd, fd);
	}
	if (o->target == LOG_TO_SYSLOG)
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, o->facility);
	atomic_store(&log_state.facility, o->facility);
	atomic_store(&log_state.json, o->json);
	atomic_store(&log_state.debug, o->debug);
	atomic_store(&log_state.target, o->target);
	return 0;
}

/* --- fields ---------------------------------------------------------------- */

/* One piece of an event: text key, journal field name, value. */
struct field {
	const char *key;           /* key=value text and JSON key */
	const char *jkey;          /* journal field */
	const char *val;
	int quote;                 /* always quoted in text */
	int number;                /* a JSON number */
};

/* A growing line in a fixed buffer; writes past the end are dropped. */
struct buf {
	char *p;
	size_t len, used;
};

static void put_bytes(struct buf *b, const char *s, size_t n)
{
	if (b->used >= b->len)
		return;
	if (n > b->len - 1 - b->used)
		n = b->len - 1 - b->used;
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = '\0';
}

static void put_str(struct buf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

static void put_char(struct buf *b, char c)
{
	put_bytes(b, &c, 1);
}

/* ` key=value`, quoting the value when asked or when it needs it. */
static void put_text(struct buf *b, const char *key, const char *val, int quote)
{
	size_t i;

	if (!quote && strpbrk(val, " \"=") != NULL)
		quote = 1;
	if (b->used > 0)
		put_char(b, ' ');
	put_str(b, key);
	put_char(b, '=');
	if (quote)
		put_char(b, '"');
	for (i = 0; val[i] != '\0'; i++) {
		unsigned char c = (unsigned char)val[i];
		if (c == '"' || c == '\\')
			put_char(b, '\\');
		put_char(b, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
	}
	if (quote)
		put_char(b, '"');
}

/* A JSON string literal. Bytes >= 0x80 are passed through (UTF-8 from the CSR). */
static void put_json_string(struct buf *b, const char *s)
{
	char esc[8];

	put_char(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			put_char(b, '\\');
			put_char(b, (char)c);
		} else if (c == '\n') {
			put_str(b, "\\n");
		} else if (c == '\t') {
			put_str(b, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put_str(b, esc);
		} else {
			put_char(b, (char)c);
		}
	}
	put_char(b, '"');
}

static const char *level_name(int priority)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
	};

	return names[LOG_PRI(priority)];
}

static void put_json(struct buf *b, int priority, const char *msg, const struct field *f,
    size_t n)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	put_str(b, "{\"time\":\"");
	put_str(b, when);
	snprintf(when, sizeof(when), ".%03ldZ\",\"level\":\"%s\"", ts.tv_nsec / 1000000,
	    level_name(priority));
	put_str(b, when);
	for (i = 0; i < n; i++) {
		if (f[i].val == NULL)
			continue;
		put_char(b, ',');
		put_json_string(b, f[i].key);
		put_char(b, ':');
		if (f[i].number)
			put_str(b, f[i].val);
		else
			put_json_string(b, f[i].val);
	}
	if (msg != NULL) {
		put_str(b, ",\"msg\":");
		put_json_string(b, msg);
	}
	put_char(b, '}');
}

/* Appends one journal field: KEY=value, or the binary form when value has a newline. */
static void put_journal(struct buf *b, const char *key, const char *val)
{
	uint64_t n = strlen(val);
	unsigned char le[8];
	int i;

	put_str(b, key);
	if (strchr(val, '\n') == NULL) {
		put_char(b, '=');
		put_str(b, val);
	} else {
		put_char(b, '\n');
		for (i = 0; i < 8; i++)
			le[i] = (unsigned char)(n >> (8 * i));
		put_bytes(b, (const char *)le, 8);
		put_str(b, val);
	}
	put_char(b, '\n');
}

/* Sends one event to journald; -1 when it cannot be delivered. */
static int send_journal(int priority, const char *text, const struct field *f, size_t n)
{
	const char *path = getenv("SCEPD_JOURNAL_SOCKET");
	struct sockaddr_un sa;
	char data[LOG_LINE_MAX * 2], num[16];
	struct buf b = { data, sizeof(data), 0 };
	size_t i;
	ssize_t sent;
	int fd = atomic_load(&log_state.journal_fd);

	if (fd == -1)
		return -1;
	if (path == NULL || path[0] == '\0')
		path = LOG_JOURNAL_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	data[0] = '\0';
	put_journal(&b, "MESSAGE", text);
	snprintf(num, sizeof(num), "%d", LOG_PRI(priority));
	put_journal(&b, "PRIORITY", num);
	snprintf(num, sizeof(num), "%d", atomic_load(&log_state.facility) >> 3);
	put_journal(&b, "SYSLOG_FACILITY", num);
	put_journal(&b, "SYSLOG_IDENTIFIER", log_state.ident);
	for (i = 0; i < n; i++)
		if (f[i].val != NULL && f[i].jkey != NULL)
			put_journal(&b, f[i].jkey, f[i].val);
	if (b.used + 1 >= b.len)
		return -1;  /* cut short: better a plain line than a broken record */
	sent = sendto(fd, data, b.used, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
	return sent == (ssize_t)b.used ? 0 : -1;
}

/*
 * Writes one event: msg (may be NULL) followed by the fields, in the format
 * and to the target configured.
 */
static void emit(int priority, const char *msg, const struct field *f, size_t n)
{
	char line[LOG_LINE_MAX];
	struct buf b = { line, sizeof(line), 0 };
	int target = atomic_load(&log_state.target), json = atomic_load(&log_state.json);
	size_t i;

	if (LOG_PRI(priority) == LOG_DEBUG && !atomic_load(&log_state.debug))
		return;
	line[0] = '\0';
	if (json && target != LOG_TO_JOURNALD) {
		put_json(&b, priority, msg, f, n);
	} else {
		for (; msg != NULL && *msg != '\0'; msg++)  /* one line, whatever the message */
			put_char(&b, (unsigned char)*msg < 0x20 || *msg == 0x7f ? ' ' : *msg);
		for (i = 0; i < n; i++)
			if (f[i].val != NULL)
				put_text(&b, f[i].key, f[i].val, f[i].quote);
	}
	if (target == LOG_TO_JOURNALD && send_journal(priority, line, f, n) == 0)
		return;
	if (target == LOG_TO_SYSLOG) {
		syslog(LOG_PRI(priority) | atomic_load(&log_state.facility), "%s", line);
		return;
	}
	if (atomic_load(&log_state.stderr_is_journal))
		fprintf(stderr, "<%d>%s\n", LOG_PRI(priority), line);
	else if (json)
		fprintf(stderr, "%s\n", line);   /* JSON lines stay pure JSON */
	else
		fprintf(stderr, "%s: %s\n", log_state.ident, line);
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(priority, line, NULL, 0);
}

void log_event(int priority, int event, const char *fmt, ...)
{
	char line[2048], num[16];
	struct field f[1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(num, sizeof(num), "%d", event);
	f[0] = (struct field){ "event", "SCEPD_EVENT", event ? num : NULL, 0, 1 };
	emit(priority, line, f, 1);
}

void log_request(const struct log_request *r)
{
	char event[16], status[16];
	struct field f[12];

	snprintf(status, sizeof(status), "%d", r->status);
	snprintf(event, sizeof(event), "%d", r->event);
	f[0] = (struct field){ "client", "SCEPD_CLIENT", r->client, 0, 0 };
	f[1] = (struct field){ "user", "SCEPD_USER", r->user, 0, 0 };
	f[2] = (struct field){ "op", "SCEPD_OPERATION", r->operation, 0, 0 };
	f[3] = (struct field){ "type", "SCEPD_MESSAGE_TYPE", r->message_type, 0, 0 };
	f[4] = (struct field){ "txid", "SCEPD_TRANSACTION_ID", r->transaction_id, 0, 0 };
	f[5] = (struct field){ "status", "SCEPD_HTTP_STATUS", status, 0, 1 };
	f[6] = (struct field){ "outcome", "SCEPD_OUTCOME", r->outcome, 0, 0 };
	f[7] = (struct field){ "failInfo", "SCEPD_FAILINFO", r->fail_info, 0, 0 };
	f[8] = (struct field){ "serial", "SCEPD_SERIAL", r->serial, 0, 0 };
	f[9] = (struct field){ "subject", "SCEPD_SUBJECT", r->subject, 1, 0 };
	f[10] = (struct field){ "event", "SCEPD_EVENT",
	    r->event != NDES_EVENT_NONE ? event : NULL, 0, 1 };
	f[11] = (struct field){ "reason", "SCEPD_REASON", r->reason, 1, 0 };
	emit(r->fail_info || r->status >= 400 ? LOG_WARNING : LOG_INFO, NULL, f, 12);
}

int log_facility_from_name(const char *name)
{
	static const struct { const char *name; int facility; } table[] = {
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "cron", LOG_CRON },
		{ "daemon", LOG_DAEMON }, { "ftp", LOG_FTP }, { "kern", LOG_KERN },
		{ "lpr", LOG_LPR }, { "mail", LOG_MAIL }, { "news", LOG_NEWS },
		{ "syslog", LOG_SYSLOG }, { "user", LOG_USER }, { "uucp", LOG_UUCP },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(name, table[i].name) == 0)
			return table[i].facility;
	return -1;
}

/* --- access log -------------------------------------------------------------- */

/*
 * A W3C field: "-" when empty; no byte can end the field or the line (space
 * becomes '+' as IIS writes it, control bytes '?'). At most max bytes of s.
 */
static void put_w3c(struct buf *b, const char *s, size_t n, size_t max)
{
	size_t i;
	unsigned char c;

	if (b->used > 0)
		put_char(b, ' ');
	if (s == NULL || n == 0) {
		put_char(b, '-');
		return;
	}
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		put_char(b, c == ' ' ? '+' : (c < 0x20 || c == 0x7f) ? '?' : (char)c);
	}
}

static void put_w3c_str(struct buf *b, const char *s)
{
	put_w3c(b, s, s != NULL ? strlen(s) : 0, 1024);
}

size_t log_access_format(const struct log_access *a, long long t, char *out, size_t len)
{
	struct buf b = { out, len, 0 };
	const char *q = NULL;
	size_t stem_len = a->target_len, qlen = 0;
	time_t tt = (time_t)t;
	struct tm tm;
	char num[32];

	if (len < 2) {		/* no room for a newline and its NUL */
		if (len == 1)
			out[0] = '\0';
		return 0;
	}
	out[0] = '\0';
	if (a->target != NULL && (q = memchr(a->target, '?', a->target_len)) != NULL) {
		stem_len = (size_t)(q - a->target);
		qlen = a->target_len - stem_len - 1;
		q++;
	}
	gmtime_r(&tt, &tm);
	strftime(num, sizeof(num), "%Y-%m-%d %H:%M:%S", &tm);
	put_str(&b, num);
	put_w3c_str(&b, a->server_ip);
	put_w3c_str(&b, a->method);
	put_w3c(&b, a->target, stem_len, 2048);
	put_w3c(&b, q, qlen, LOG_ACCESS_MAX_QUERY);
	snprintf(num, sizeof(num), "%u", a->server_port);
	put_w3c_str(&b, num);
	put_w3c_str(&b, a->username);
	put_w3c_str(&b, a->client_ip);
	put_w3c_str(&b, a->user_agent);
	put_w3c_str(&b, a->referer);
	snprintf(num, sizeof(num), " %d %d %u %lu", a->status, a->substatus, a->win32_status,
	    a->time_taken);
	put_str(&b, num);
	/* the newline always fits: the line is cut before it */
	if (b.used >= len - 1)
		b.used = len - 2;
	out[b.used++] = '\n';
	out[b.used] = '\0';
	return b.used;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Opens path and writes the header; the new descriptor or -1. */
static int access_open_file(const char *path, char *err, size_t errlen)
{
	char head[512], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640)) == -1) {
		snprintf(err, errlen, "access log %s: %s", path, strerror(errno));
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(head, sizeof(head), "#Software: scepd %s\n#Version: 1.0\n#Date: %s\n%s\n",
	    SCEPD_VERSION, when, LOG_ACCESS_FIELDS);
	if (n < 0 || (size_t)n >= sizeof(head) || write_all(fd, head, (size_t)n) != 0) {
		snprintf(err, errlen, "access log %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Puts fd in place of the access log (same descriptor number from the first open on). */
static int access_install(int fd, char *err, size_t errlen)
{
	int cur = atomic_load(&log_state.access_fd);

	if (cur == -1) {
		atomic_store(&log_state.access_fd, fd);
		return 0;
	}
	if (dup3(fd, cur, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "access log: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int log_access_open(const char *path, char *err, size_t errlen)
{
	int fd;

	if (path == NULL) {
		atomic_store(&log_state.access_on, 0);
		if (atomic_load(&log_state.access_fd) != -1 &&
		    (fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1)
			(void)access_install(fd, err, errlen);
		log_state.access_path[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof(log_state.access_path)) {
		snprintf(err, errlen, "access log %s: name too long", path);
		return -1;
	}
	if ((fd = access_open_file(path, err, errlen)) == -1)
		return -1;
	if (access_install(fd, err, errlen) != 0)
		return -1;
	snprintf(log_state.access_path, sizeof(log_state.access_path), "%s", path);
	atomic_store(&log_state.access_on, 1);
	return 0;
}

int log_access_reopen(char *err, size_t errlen)
{
	int fd;

	if (!atomic_load(&log_state.access_on) || log_state.access_path[0] == '\0')
		return 0;
	if ((fd = access_open_file(log_state.access_path, err, errlen)) == -1)
		return -1;
	return access_install(fd, err, errlen);
}

void log_access(const struct log_access *a)
{
	char line[LOG_ACCESS_MAX_QUERY + 4096];
	size_t n;
	int fd = atomic_load(&log_state.access_fd);

	if (fd == -1 || !atomic_load(&log_state.access_on))
		return;
	n = log_access_format(a, (long long)time(NULL), line, sizeof(line));
	(void)write_all(fd, line, n);
}
