/* SPDX-License-Identifier: ISC */
/*
 * systemd.c: sd_notify and socket activation through libsystemd
 * (sd_notify(3), sd_listen_fds(3), sd_is_socket(3)), wrapped so that the
 * daemon sees one small interface and clear reasons: which descriptor systemd
 * passed that is not a listening stream socket, and what scepd.socket must
 * say instead. Reads the environment, never writes anything but unsetting the
 * activation variables once consumed. The journal is written by log.c itself
 * (doc/architecture.md says why).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "systemd.h"

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	int r;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((r = sd_notify(0, state)) < 0) {
		errno = -r;
		return -1;
	}
	return r > 0 ? 1 : 0;
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

int systemd_listen_fds(int *fds, size_t max, char *err, size_t errlen)
{
	int n, i, fd, r;

	/* 1: unset $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES; marks them close-on-exec */
	if ((n = sd_listen_fds(1)) < 0) {
		snprintf(err, errlen, "the sockets systemd passed ($LISTEN_FDS): %s", strerror(-n));
		return -1;
	}
	if ((size_t)n > max) {
		snprintf(err, errlen, "systemd passed %d sockets; scepd takes at most %zu", n, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if ((r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, -1)) <= 0) {
			snprintf(err, errlen, "socket %d from systemd is not a stream socket "
			    "(scepd.socket needs ListenStream=)%s%s", fd, r < 0 ? ": " : "",
			    r < 0 ? strerror(-r) : "");
			return -1;
		}
		if ((r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1)) <= 0) {
			snprintf(err, errlen, "socket %d from systemd is not listening "
			    "(scepd.socket must not set Accept=yes)%s%s", fd, r < 0 ? ": " : "",
			    r < 0 ? strerror(-r) : "");
			return -1;
		}
		fds[i] = fd;
	}
	return n;
}
