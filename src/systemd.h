/* SPDX-License-Identifier: ISC */
/*
 * systemd.h: the two systemd protocols scepd speaks, through libsystemd:
 * sd_notify (datagrams such as "READY=1" or "STATUS=..." to the socket named
 * by $NOTIFY_SOCKET, a path or, with a leading '@', an abstract-namespace
 * name) and socket activation ($LISTEN_PID, $LISTEN_FDS: listening sockets
 * passed from fd 3 on). Both do nothing when scepd is not started by systemd.
 */
#ifndef SYSTEMD_H
#define SYSTEMD_H

#include <stddef.h>

/*
 * Sends one notification (newline-separated "KEY=value" assignments) to
 * $NOTIFY_SOCKET. Returns 1 when sent, 0 when NOTIFY_SOCKET is not set, -1 on
 * an error (errno set).
 */
int systemd_notify(const char *state);

/* printf-style systemd_notify(). */
int systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The CLOCK_MONOTONIC time in microseconds, for RELOADING=1's MONOTONIC_USEC. */
unsigned long long systemd_monotonic_usec(void);

#define SYSTEMD_LISTEN_FDS_START 3
#define SYSTEMD_MAX_LISTEN_FDS 16

/*
 * Takes the sockets passed by socket activation: when $LISTEN_PID is this
 * process, stores up to max descriptors (each checked to be a listening
 * stream socket and marked close-on-exec) in fds and unsets $LISTEN_PID,
 * $LISTEN_FDS and $LISTEN_FDNAMES. Returns how many (0 without socket
 * activation) or -1 with a reason in err.
 */
int systemd_listen_fds(int *fds, size_t max, char *err, size_t errlen);

#endif
