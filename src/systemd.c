/* SPDX-License-Identifier: ISC */
/*
 * systemd.c: sd_notify and socket activation without libsystemd. The
 * notification protocol is one AF_UNIX datagram per message to the socket in
 * $NOTIFY_SOCKET (an abstract name when it starts with '@'); socket activation
 * hands listening sockets from fd 3 on, announced by $LISTEN_PID and
 * $LISTEN_FDS. Reads the environment, never writes anything but unsetting the
 * activation variables once consumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "systemd.h"
#include "util.h"

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t len, slen = strlen(state);
	ssize_t n;
	int fd = -1, saved, rc = -1;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path) || len < 2) {
		errno = EINVAL;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';  /* abstract namespace: no terminating NUL counted */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	do {
		n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)slen) {
		if (n >= 0)
			errno = EMSGSIZE;
		goto out;
	}
	rc = 1;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	errno = saved;
	return rc;
}

int systemd_notifyf(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return systemd_notify(buf);
}

unsigned long long systemd_monotonic_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

/* A decimal number that fits in long and is >= 0, or -1. */
static long parse_nonneg(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	return v;
}

int systemd_listen_fds(int *fds, size_t max, char *err, size_t errlen)
{
	long pid, n, i;
	int fd, type, listening, flags, rc = -1;
	socklen_t len;

	pid = parse_nonneg(getenv("LISTEN_PID"));
	if (pid <= 0 || (pid_t)pid != getpid())
		return 0;
	if ((n = parse_nonneg(getenv("LISTEN_FDS"))) < 0) {
		snprintf(err, errlen, "LISTEN_FDS is not a number");
		goto out;
	}
	if ((size_t)n > max) {
		snprintf(err, errlen, "systemd passed %ld sockets; scepd takes at most %zu", n, max);
		goto out;
	}
	for (i = 0; i < n; i++) {
		fd = SYSTEMD_LISTEN_FDS_START + (int)i;
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
			snprintf(err, errlen, "socket %d from systemd is not a stream socket "
			    "(scepd.socket needs ListenStream=)", fd);
			goto out;
		}
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
			snprintf(err, errlen, "socket %d from systemd is not listening "
			    "(scepd.socket must not set Accept=yes)", fd);
			goto out;
		}
		if ((flags = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) {
			snprintf(err, errlen, "socket %d from systemd: %s", fd, strerror(errno));
			goto out;
		}
		fds[i] = fd;
	}
	rc = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}
