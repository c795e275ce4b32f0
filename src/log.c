/* SPDX-License-Identifier: ISC */
/*
 * log.c: writes event-log lines to stderr or syslog. Request lines are
 * key=value pairs so both people and scripts can read them; values that may
 * hold spaces or quotes (subject, reason) are quoted with escapes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* Set once by log_init() before threads start; read-only afterwards. */
static struct {
	char ident[32];
	int use_syslog;
	int debug;
} log_cfg = { "scepd", 0, 0 };

void log_init(const char *ident, int use_syslog, int facility, int debug)
{
	snprintf(log_cfg.ident, sizeof(log_cfg.ident), "%s", ident);
	log_cfg.use_syslog = use_syslog;
	log_cfg.debug = debug;
	if (use_syslog)
		openlog(log_cfg.ident, LOG_PID | LOG_NDELAY, facility);
}

static void log_line(int priority, const char *line)
{
	if (LOG_PRI(priority) == LOG_DEBUG && !log_cfg.debug)
		return;
	if (log_cfg.use_syslog)
		syslog(priority, "%s", line);
	else
		fprintf(stderr, "%s: %s\n", log_cfg.ident, line);
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(priority, line);
}

/* Appends ` key=value`, quoting the value when asked or when it needs it. */
static void put(char *buf, size_t len, size_t *used, const char *key, const char *val, int quote)
{
	size_t i;

	if (val == NULL || *used >= len)
		return;
	if (!quote && strpbrk(val, " \"=") != NULL)
		quote = 1;
	*used += (size_t)snprintf(buf + *used, len - *used, " %s=%s", key, quote ? "\"" : "");
	for (i = 0; val[i] != '\0' && *used + 4 < len; i++) {
		unsigned char c = (unsigned char)val[i];
		if (c == '"' || c == '\\')
			buf[(*used)++] = '\\';
		buf[(*used)++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (quote && *used + 1 < len)
		buf[(*used)++] = '"';
	buf[*used < len ? *used : len - 1] = '\0';
}

void log_request(const struct log_request *r)
{
	char line[2048], event[16], status[16];
	size_t used = 0;

	line[0] = '\0';
	put(line, sizeof(line), &used, "client", r->client, 0);
	put(line, sizeof(line), &used, "user", r->user, 0);
	put(line, sizeof(line), &used, "op", r->operation, 0);
	put(line, sizeof(line), &used, "type", r->message_type, 0);
	put(line, sizeof(line), &used, "txid", r->transaction_id, 0);
	snprintf(status, sizeof(status), "%d", r->status);
	put(line, sizeof(line), &used, "status", status, 0);
	put(line, sizeof(line), &used, "outcome", r->outcome, 0);
	put(line, sizeof(line), &used, "failInfo", r->fail_info, 0);
	put(line, sizeof(line), &used, "serial", r->serial, 0);
	put(line, sizeof(line), &used, "subject", r->subject, 1);
	if (r->event != NDES_EVENT_NONE) {
		snprintf(event, sizeof(event), "%d", r->event);
		put(line, sizeof(line), &used, "event", event, 0);
	}
	put(line, sizeof(line), &used, "reason", r->reason, 1);
	log_line(r->fail_info || r->status >= 400 ? LOG_WARNING : LOG_INFO, line + (used ? 1 : 0));
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
