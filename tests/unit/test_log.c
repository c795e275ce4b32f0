/* SPDX-License-Identifier: ISC */
/*
 * test_log.c: unit tests of log.c: the W3C access-log line (IIS field order,
 * '-' for empty fields, '+' for spaces, control bytes, the query cut at
 * LOG_ACCESS_MAX_QUERY, the line cut to the buffer), the access-log file
 * (header, appending, re-opening after a rename, stopping), and event lines
 * on stderr as text and as JSON (captured through a pipe on fd 2), and the
 * journal's native protocol (fields, binary form for a value with a newline)
 * through a datagram socket named by SCEPD_JOURNAL_SOCKET.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char *slurp(const char *path)
{
	static char buf[65536];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void test_format(void)
{
	char line[8192], want[8192], *q;
	struct log_access a;
	size_t n;

	memset(&a, 0, sizeof(a));
	a.server_ip = "127.0.0.1";
	a.server_port = 80;
	a.method = "GET";
	a.target = "/certsrv/mscep/mscep.dll/pkiclient.exe?operation=GetCACaps&message=default";
	a.target_len = strlen(a.target);
	a.client_ip = "192.0.2.9";
	a.user_agent = "Mozilla/4.0 (compatible; Win32; NDES client)";
	a.status = 200;
	a.time_taken = 186;
	/* 2026-11-22 10:04:05 UTC */
	n = log_access_format(&a, 1795341845LL, line, sizeof(line));
	is_str(line, "2026-11-22 10:04:05 127.0.0.1 GET /certsrv/mscep/mscep.dll/pkiclient.exe "
	    "operation=GetCACaps&message=default 80 - 192.0.2.9 "
	    "Mozilla/4.0+(compatible;+Win32;+NDES+client) - 200 0 0 186\n",
	    "IIS line: fields in order, '-' for user and referer, '+' for spaces");
	is_int(n, strlen(line), "returns the length");

	memset(&a, 0, sizeof(a));
	a.target = "/scep";
	a.target_len = 5;
	a.status = 404;
	a.win32_status = 64;
	log_access_format(&a, 0, line, sizeof(line));
	is_str(line, "1970-01-01 00:00:00 - - /scep - 0 - - - - 404 0 64 0\n",
	    "empty fields are '-', no query is '-'");

	memset(&a, 0, sizeof(a));
	a.method = "GET";
	a.target = "/a b?x=1\ty\n";
	a.target_len = strlen(a.target);
	a.user_agent = "evil\r\nagent";
	a.referer = "";
	a.status = 400;
	log_access_format(&a, 0, line, sizeof(line));
	is_str(line, "1970-01-01 00:00:00 - GET /a+b x=1?y? 0 - - evil??agent - 400 0 0 0\n",
	    "spaces and control bytes cannot break a field or the line");

	q = malloc(10000);
	memset(q, 'A', 9999);
	memcpy(q, "/p?", 3);
	q[9999] = '\0';
	memset(&a, 0, sizeof(a));
	a.target = q;
	a.target_len = 9999;
	a.status = 200;
	log_access_format(&a, 0, line, sizeof(line));
	snprintf(want, sizeof(want), "1970-01-01 00:00:00 - - /p %.*s 0 - - - - 200 0 0 0\n",
	    LOG_ACCESS_MAX_QUERY, q + 3);
	is_str(line, want, "a query is cut to LOG_ACCESS_MAX_QUERY bytes");
	n = log_access_format(&a, 0, line, 64);
	is_int(n, 63, "a line cut to a small buffer keeps its newline");
	ok(line[62] == '\n' && line[63] == '\0', "cut line ends with newline and NUL");
	memset(line, 'x', 4);
	n = log_access_format(&a, 0, line + 1, 1);
	is_int(n, 0, "a 1-byte buffer holds no line");
	ok(line[0] == 'x' && line[1] == '\0' && line[2] == 'x',
	    "a 1-byte buffer gets only its NUL, nothing before or after it");
	free(q);
}

static void test_file(const char *dir)
{
	char path[512], moved[512], err[256], *text;
	struct log_access a;

	memset(&a, 0, sizeof(a));
	a.method = "GET";
	a.target = "/scep?operation=GetCACert";
	a.target_len = strlen(a.target);
	a.status = 200;
	snprintf(path, sizeof(path), "%s/access.log", dir);
	snprintf(moved, sizeof(moved), "%s/access.log.1", dir);
	log_access(&a);   /* not open yet: nothing, no crash */
	ok(log_access_open(path, err, sizeof(err)) == 0, "access log opens");
	log_access(&a);
	text = slurp(path);
	ok(text != NULL && strncmp(text, "#Software: scepd ", 17) == 0, "header: #Software");
	ok(text != NULL && strstr(text, "\n#Version: 1.0\n#Date: ") != NULL, "header: #Version, #Date");
	ok(text != NULL && strstr(text, "\n" LOG_ACCESS_FIELDS "\n") != NULL, "header: #Fields");
	ok(text != NULL && strstr(text, " GET /scep operation=GetCACert ") != NULL, "the line is appended");
	ok(rename(path, moved) == 0, "rotate (rename)");
	log_access(&a);
	ok(log_access_reopen(err, sizeof(err)) == 0, "reopen");
	a.target = "/scep?operation=GetCACaps";
	a.target_len = strlen(a.target);
	log_access(&a);
	text = slurp(path);
	ok(text != NULL && strstr(text, "operation=GetCACaps") != NULL &&
	    strstr(text, "operation=GetCACert") == NULL, "after reopen: new file, new lines only");
	text = slurp(moved);
	ok(text != NULL && strstr(text, "operation=GetCACaps") == NULL, "the moved file gets nothing more");
	ok(log_access_open(NULL, err, sizeof(err)) == 0, "stop access logging");
	log_access(&a);
	text = slurp(path);
	ok(text != NULL && strstr(strstr(text, "GetCACaps") + 1, "GetCACaps") == NULL,
	    "nothing written once stopped");
	ok(log_access_open("/nonexistent/dir/access.log", err, sizeof(err)) == -1 &&
	    strstr(err, "/nonexistent/dir/access.log") != NULL, "an unwritable path fails with its name");
}

/* Runs fn with fd 2 going to a file; returns what was written. */
static char *capture_stderr(const char *dir, void (*fn)(void))
{
	static char out[8192];
	char path[512], *text;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/stderr.txt", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = slurp(path);
	snprintf(out, sizeof(out), "%s", text ? text : "");
	return out;
}

static void emit_some(void)
{
	log_msg(LOG_NOTICE, "plain message");
	log_event(LOG_WARNING, SCEPD_EVENT_CERT_EXPIRING, "the RA \"x\" expires");
	log_request(&(struct log_request){ .client = "127.0.0.1", .operation = "PKIOperation",
	    .message_type = "PKCSReq", .transaction_id = "ABC", .status = 200,
	    .outcome = "FAILURE", .fail_info = "badRequest", .subject = "CN=a b",
	    .event = NDES_EVENT_PASSWORD, .reason = "the challenge password is wrong" });
	log_msg(LOG_DEBUG, "debug hidden");
}

static void test_events(const char *dir)
{
	struct log_options o = { LOG_TO_STDERR, 0, LOG_DAEMON, 0 };
	char err[256], *out;

	unsetenv("JOURNAL_STREAM");
	log_init("scepd", 0, LOG_DAEMON, 0);
	out = capture_stderr(dir, emit_some);
	is_str(out, "scepd: plain message\n"
	    "scepd: the RA \"x\" expires event=1003\n"
	    "scepd: client=127.0.0.1 op=PKIOperation type=PKCSReq txid=ABC status=200 "
	    "outcome=FAILURE failInfo=badRequest subject=\"CN=a b\" event=29 "
	    "reason=\"the challenge password is wrong\"\n",
	    "text lines: message, event number, request fields");

	o.json = 1;
	ok(log_configure(&o, err, sizeof(err)) == 0, "JSON format");
	out = capture_stderr(dir, emit_some);
	ok(strstr(out, "\"level\":\"notice\",\"msg\":\"plain message\"}\n") != NULL,
	    "JSON: plain message");
	ok(strstr(out, "\"level\":\"warning\",\"event\":1003,\"msg\":\"the RA \\\"x\\\" expires\"}\n")
	    != NULL, "JSON: event as a number, quotes escaped");
	ok(strstr(out, "\"level\":\"warning\",\"client\":\"127.0.0.1\",\"op\":\"PKIOperation\","
	    "\"type\":\"PKCSReq\",\"txid\":\"ABC\",\"status\":200,\"outcome\":\"FAILURE\","
	    "\"failInfo\":\"badRequest\",\"subject\":\"CN=a b\",\"event\":29,"
	    "\"reason\":\"the challenge password is wrong\"}\n") != NULL, "JSON: request fields");
	ok(strncmp(out, "{\"time\":\"", 9) == 0 && strstr(out, "scepd:") == NULL,
	    "JSON lines start with the time, no ident prefix");
	ok(strstr(out, "debug hidden") == NULL, "debug lines hidden unless log.debug");
	o.json = 0;
	o.debug = 1;
	log_configure(&o, err, sizeof(err));
	out = capture_stderr(dir, emit_some);
	ok(strstr(out, "scepd: debug hidden\n") != NULL, "debug lines with log.debug");
}

static void test_journal(const char *dir)
{
	struct log_options o = { LOG_TO_JOURNALD, 0, LOG_LOCAL3, 0 };
	struct sockaddr_un sa;
	char path[512], err[256], buf[8192];
	ssize_t n;
	int s;

	snprintf(path, sizeof(path), "%s/journal.sock", dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		skip("socket path too long");
		return;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	ok(s != -1 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0, "journal stand-in bound");
	setenv("SCEPD_JOURNAL_SOCKET", path, 1);
	ok(log_configure(&o, err, sizeof(err)) == 0, "journald target");
	log_request(&(struct log_request){ .client = "::1", .operation = "PKIOperation",
	    .transaction_id = "0FAB", .status = 200, .outcome = "FAILURE",
	    .fail_info = "badAlg", .event = NDES_EVENT_DECRYPT, .reason = "no key" });
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ok(n > 0, "one datagram");
	buf[n > 0 ? n : 0] = '\0';
	ok(strncmp(buf, "MESSAGE=client=::1 op=PKIOperation txid=0FAB status=200 "
	    "outcome=FAILURE failInfo=badAlg event=18 reason=\"no key\"\n", 99) == 0,
	    "MESSAGE is the text line");
	ok(strstr(buf, "\nPRIORITY=4\n") != NULL, "PRIORITY=4 (warning)");
	ok(strstr(buf, "\nSYSLOG_FACILITY=19\n") != NULL, "SYSLOG_FACILITY=19 (local3)");
	ok(strstr(buf, "\nSYSLOG_IDENTIFIER=scepd\n") != NULL, "SYSLOG_IDENTIFIER");
	ok(strstr(buf, "\nSCEPD_EVENT=18\n") != NULL, "SCEPD_EVENT field");
	ok(strstr(buf, "\nSCEPD_TRANSACTION_ID=0FAB\n") != NULL, "SCEPD_TRANSACTION_ID field");
	ok(strstr(buf, "\nSCEPD_CLIENT=::1\n") != NULL, "SCEPD_CLIENT field");
	ok(strstr(buf, "SCEPD_SUBJECT") == NULL, "absent values are left out");

	log_request(&(struct log_request){ .client = "::1", .status = 400, .reason = "two\nlines" });
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ok(n > 0 && memmem(buf, (size_t)n, "\nSCEPD_REASON\n\x09\0\0\0\0\0\0\0two\nlines\n", 28) != NULL,
	    "a value with a newline uses the binary form (name, 64-bit LE length, value)");
	ok(n > 0 && strncmp(buf, "MESSAGE=client=::1 status=400 reason=\"two?lines\"\n", 48) == 0,
	    "MESSAGE keeps to one line");
	log_event(LOG_ERR, SCEPD_EVENT_RELOAD_REFUSED, "a\nb\tc");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ok(n > 0 && strncmp(buf, "MESSAGE=a b c event=1002\n", 25) == 0,
	    "control characters in a message become spaces");
	close(s);
	unlink(path);
	o.target = LOG_TO_STDERR;
	log_configure(&o, err, sizeof(err));
	unsetenv("SCEPD_JOURNAL_SOCKET");
}

static void journal_gone(void)
{
	struct log_options o = { LOG_TO_JOURNALD, 0, LOG_DAEMON, 0 };
	char err[256];

	setenv("SCEPD_JOURNAL_SOCKET", "/nonexistent/journal.sock", 1);
	log_configure(&o, err, sizeof(err));
	log_event(LOG_ERR, SCEPD_EVENT_RELOAD_REFUSED, "journal gone");
	o.target = LOG_TO_STDERR;
	log_configure(&o, err, sizeof(err));
	unsetenv("SCEPD_JOURNAL_SOCKET");
}

static void test_journal_gone(const char *dir)
{
	is_str(capture_stderr(dir, journal_gone), "scepd: journal gone event=1002\n",
	    "without a journal the event goes to stderr");
}

int main(void)
{
	char dir[] = "/tmp/test_log.XXXXXX";
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		printf("not ok 1 - mkdtemp: %s\n1..1\n", strerror(errno));
		return 1;
	}
	test_format();
	test_file(dir);
	test_events(dir);
	test_journal(dir);
	test_journal_gone(dir);
	log_access_open(NULL, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
