/* SPDX-License-Identifier: ISC */
/*
 * test_systemd.c: unit tests of systemd.c: sd_notify datagrams to a socket
 * path and to an abstract name, nothing without $NOTIFY_SOCKET, refusal of a
 * relative name; socket activation: sockets taken from fd 3 on when
 * $LISTEN_PID is ours (and the variables unset afterwards), ignored when it is
 * another process's, refused when a passed descriptor is not a listening
 * stream socket or there are too many.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "systemd.h"
#include "tap.h"

/* A datagram socket bound to name (path or @abstract); -1 on failure. */
static int listen_dgram(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(name) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	if ((s = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		return -1;
	if (bind(s, (struct sockaddr *)&sa, len) != 0) {
		close(s);
		return -1;
	}
	return s;
}

static void test_notify(void)
{
	char path[] = "/tmp/test_systemd.XXXXXX", sock[128], abs[64], buf[256];
	ssize_t n;
	int s;

	unsetenv("NOTIFY_SOCKET");
	is_int(systemd_notify("READY=1"), 0, "no NOTIFY_SOCKET: nothing sent, 0");
	if (mkdtemp(path) == NULL) {
		skip("mkdtemp");
		return;
	}
	snprintf(sock, sizeof(sock), "%s/notify", path);
	s = listen_dgram(sock);
	ok(s != -1, "listener on a path");
	setenv("NOTIFY_SOCKET", sock, 1);
	is_int(systemd_notify("READY=1\nSTATUS=serving"), 1, "sent to a path");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "READY=1\nSTATUS=serving", "the datagram is the state, as given");
	is_int(systemd_notifyf("STATUS=%d requests", 42), 1, "printf form");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "STATUS=42 requests", "printf form datagram");
	close(s);
	unlink(sock);
	rmdir(path);

	snprintf(abs, sizeof(abs), "@test-systemd-%d", (int)getpid());
	s = listen_dgram(abs);
	ok(s != -1, "listener on an abstract name");
	setenv("NOTIFY_SOCKET", abs, 1);
	is_int(systemd_notify("STOPPING=1"), 1, "sent to an abstract name");
	n = recv(s, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	is_str(buf, "STOPPING=1", "abstract name datagram");
	close(s);
	is_int(systemd_notify("READY=1"), -1, "nobody listening: -1");

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	errno = 0;
	is_int(systemd_notify("READY=1"), -1, "a relative name: -1");
	is_int(errno, EINVAL, "a relative name: EINVAL");
	unsetenv("NOTIFY_SOCKET");
	ok(systemd_monotonic_usec() > 0, "monotonic clock in microseconds");
}

/* Moves descriptor s to 3 (socket activation's first); returns 3 or -1. */
static int to_fd3(int s)
{
	if (s == -1)
		return -1;
	if (s == 3)
		return 3;
	if (dup2(s, 3) != 3)
		return -1;
	close(s);
	return 3;
}

static void set_listen(long pid, const char *n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", n, 1);
	setenv("LISTEN_FDNAMES", "http", 1);
}

static void test_listen(void)
{
	struct sockaddr_in sin;
	int fds[4], s, rc;
	char err[256];

	unsetenv("LISTEN_PID");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), 0, "no socket activation: 0");

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok(s != -1 && bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(s, 1) == 0,
	    "a listening socket");
	ok(to_fd3(s) == 3, "as fd 3");

	set_listen((long)getpid() + 1, "1");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), 0, "LISTEN_PID of another process: 0");

	set_listen((long)getpid(), "1");
	rc = systemd_listen_fds(fds, 4, err, sizeof(err));
	is_int(rc, 1, "one socket taken");
	if (rc != 1)
		printf("# %s\n", err);
	is_int(fds[0], 3, "it is fd 3");
	ok(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
	    getenv("LISTEN_FDNAMES") == NULL, "the variables are unset");
	ok((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0, "marked close-on-exec");

	/* five real listening sockets, fd 3 to 7, as systemd would pass them */
	for (s = 4; s <= 7; s++)
		ok(dup2(3, s) == s, "listening socket as fd %d", s);
	set_listen((long)getpid(), "5");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), -1, "more sockets than room: -1");
	ok(strstr(err, "at most 4") != NULL, "the reason says the limit");
	for (s = 4; s <= 7; s++)
		close(s);

	close(3);
	to_fd3(socket(AF_INET, SOCK_STREAM, 0));
	set_listen((long)getpid(), "1");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), -1, "a socket that does not listen: -1");
	ok(strstr(err, "not listening") != NULL, "the reason says so");

	close(3);
	to_fd3(socket(AF_INET, SOCK_DGRAM, 0));
	set_listen((long)getpid(), "1");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), -1, "a datagram socket: -1");
	ok(strstr(err, "ListenStream") != NULL, "the reason names ListenStream=");
	close(3);

	set_listen((long)getpid(), "x");
	is_int(systemd_listen_fds(fds, 4, err, sizeof(err)), -1, "LISTEN_FDS not a number: -1");
}

int main(void)
{
	test_notify();
	test_listen();
	return done_testing();
}
