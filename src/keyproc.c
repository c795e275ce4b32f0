/* SPDX-License-Identifier: ISC */
/*
 * keyproc.c: the signer process's processes and sockets (keyproc.h):
 *  - the supervisor, forked by scepd before it drops privileges: it forks the
 *    workers, and when one dies logs an event, forks a new one on a new
 *    socketpair and passes the network end to scepd over the control socket
 *    (SCM_RIGHTS). It never loads a key, so a worker's crash loses nothing.
 *    It reads the configuration file at start and when scepd's note on the
 *    control socket says scepd reloaded it, and each worker it forks starts
 *    with that reading (keyproc_config.h): a worker restarted while the file
 *    holds an edit scepd has not reloaded keeps the generation being served.
 *  - a worker's start: keep only its socket, empty signal mask, the sandbox
 *    (keyproc_sandbox.c), then keyproc_serve (keyproc_worker.c).
 *  - the client (network process): a pool of sockets; a call takes a free one,
 *    or waits in line for one (first come, first served: a freed socket is
 *    handed to the oldest waiter, never to a newcomer), sends one packet and
 *    waits, bounded, for one packet.
 * What a message means is in keyproc_proto.c (codec), keyproc_worker.c (the
 * answers) and signer.c (keys).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keyproc.h"
#include "keyproc_config.h"
#include "keyproc_proto.h"
#include "keyproc_sandbox.h"
#include "log.h"
#include "signer_remote.h"
#include "util.h"

#define KEYPROC_MAX_WORKERS  64
#define KEYPROC_REPLY_WAIT   60000   /* ms a request waits for its worker */
#define KEYPROC_RELOAD_WAIT  5000    /* ms a reload waits for each worker, then for its reply */
#define KEYPROC_SOCKBUF      (2 * KEYPROC_MAX_MSG)
#define KEYPROC_NOTE_RELOAD  "reload"  /* scepd to the supervisor: it reloaded the file */
#define KEYPROC_RESTART_GAP  2000    /* ms between two starts of a slot's worker, at least */

struct slot {
	int fd;                   /* -1 while the worker is gone */
	int spare;                /* a replacement socket from the supervisor, or -1 */
	uint8_t *rx;              /* receive buffer, KEYPROC_MAX_MSG + 1 bytes */
	atomic_int reload;        /* scepd reloaded: the worker re-reads the file before its next request */
};

struct keyproc {
	int ctl;                  /* control socket to the supervisor */
	pid_t pid;                /* the supervisor */
	char *config_file;        /* absolute: the workers re-read it */
	pthread_mutex_t ctl_mu;   /* ctl and every slot's spare */
	pthread_mutex_t pool_mu;  /* the free ring and the line of waiters */
	struct waiter *line;      /* oldest first */
	struct waiter **line_end;
	unsigned *free;           /* slots nobody holds: a ring, the longest idle first */
	unsigned free_at, nfree;
	atomic_uint seq;
	unsigned n;
	struct slot slot[];
};

/* A thread waiting for a socket; lives on its stack. */
struct waiter {
	pthread_cond_t cv;
	int slot;                 /* -1 until a socket is handed over */
	struct waiter *next;
};

/* ---------------------------------------------------------------- sockets */

static void sockbuf(int fd)
{
	int size = KEYPROC_SOCKBUF;

	/* root may exceed net.core.wmem_max; otherwise the plain call, capped */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	sockbuf(sv[0]);
	sockbuf(sv[1]);
	return 0;
}

/* Sends fd with the slot number over ctl. 0 or -1. */
static int send_fd(int ctl, uint32_t slot, int fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	uint8_t num[4];

	keyproc_put32(num, slot);
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = num;
	iov.iov_len = sizeof(num);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(ctl, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(num) ? 0 : -1;
}

/* Receives one (slot, fd) without waiting: 1 with them, 0 when none, -1 on error. */
static int recv_fd(int ctl, uint32_t *slot, int *fd)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	uint8_t num[4];
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = num;
	iov.iov_len = sizeof(num);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	c = CMSG_FIRSTHDR(&mh);
	if (n != (ssize_t)sizeof(num) || c == NULL || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	*slot = keyproc_get32(num);
	return 1;
}

/* Closes every descriptor above stderr but the n in keep (listeners, database, ...). */
static void close_others(const int *keep, size_t n)
{
	long max = sysconf(_SC_OPEN_MAX);
	size_t i;

	closelog();
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++) {
		for (i = 0; i < n && keep[i] != fd; i++)
			;
		if (i == n)
			(void)close(fd);
	}
}

/*
 * A child starts with scepd's signal mask (SIGTERM, SIGHUP, ... blocked for
 * sigtimedwait): it must die of SIGTERM and of its parent-death signal.
 */
static void child_signals(int parent_death)
{
	sigset_t none;

	sigemptyset(&none);
	(void)pthread_sigmask(SIG_SETMASK, &none, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, parent_death);
}

/* ------------------------------------------------------------- supervisor */

/* Forks a worker serving fd, starting with the readings served (of served->file). */
static pid_t spawn_worker(int fd, const struct keyproc_config *served, unsigned slot,
    int token_was_down)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* the worker: dies with the supervisor, keeps only its socket */
	child_signals(SIGKILL);
	(void)prctl(PR_SET_NAME, "scepd-signer");
	close_others(&fd, 1);
	if (keyproc_sandbox(served->file) != 0) {
		log_msg(LOG_ERR, "signer process worker %u: cannot set up its sandbox", slot);
		_exit(1);
	}
	_exit(keyproc_serve(fd, served->file, served, token_was_down));
}

/* What the supervisor keeps: its workers, and the configuration scepd last loaded. */
struct supervisor {
	int ctl;
	unsigned n;
	pid_t pid[KEYPROC_MAX_WORKERS];     /* 0 while the slot waits for a new worker */
	int64_t born[KEYPROC_MAX_WORKERS];  /* when the slot's worker started, monotonic ms */
	int ended[KEYPROC_MAX_WORKERS];     /* how it ended (waitpid status), while pid is 0 */
	struct keyproc_config served;
};

/* Logs why the worker of slot i (pid dead) ended. */
static void log_death(unsigned i, pid_t dead, int status)
{
	if (WIFSIGNALED(status))
		log_event(LOG_ERR, SCEPD_EVENT_SIGNER_DIED, "signer process worker %u (pid %ld) "
		    "was killed by signal %d; starting a new one", i, (long)dead, WTERMSIG(status));
	else if (WEXITSTATUS(status) == KEYPROC_EXIT_SANDBOX)
		log_event(LOG_ERR, SCEPD_EVENT_SIGNER_DIED, "signer process worker %u (pid %ld) "
		    "was stopped by its sandbox: it made a system call outside its allow-list "
		    "(its number is on stderr); starting a new one", i, (long)dead);
	else
		log_event(LOG_ERR, SCEPD_EVENT_SIGNER_DIED, "signer process worker %u (pid %ld) "
		    "exited with status %d; starting a new one", i, (long)dead,
		    WEXITSTATUS(status));
}

/*
 * Forks a new worker for slot i, whose worker ended, and passes its socket to
 * scepd. 0, or -1 when there is nothing left to serve (scepd is gone, or no
 * socket or process can be made).
 */
static int restart_worker(struct supervisor *sv, unsigned i)
{
	int token_down = WIFEXITED(sv->ended[i]) && WEXITSTATUS(sv->ended[i]) == KEYPROC_EXIT_TOKEN;
	int fds[2];

	if (pair(fds) != 0) {
		log_msg(LOG_ERR, "signer process: socketpair: %s", strerror(errno));
		return -1;
	}
	sv->pid[i] = spawn_worker(fds[1], &sv->served, i, token_down);
	sv->born[i] = monotonic_millis();
	close(fds[1]);
	if (sv->pid[i] < 0 || send_fd(sv->ctl, i, fds[0]) != 0) {
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	log_msg(LOG_NOTICE, "signer process worker %u restarted (pid %ld)", i, (long)sv->pid[i]);
	return 0;
}

/* Every worker that ended leaves its slot waiting for a new one. */
static void reap_workers(struct supervisor *sv)
{
	pid_t dead;
	int status;
	unsigned i;

	while ((dead = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < sv->n && sv->pid[i] != dead; i++)
			;
		if (i == sv->n)
			continue;
		log_death(i, dead, status);
		sv->pid[i] = 0;
		sv->ended[i] = status;
	}
}

/*
 * Milliseconds until the next waiting slot may start its worker (0: now), or
 * -1 when none waits: the supervisor's poll timeout. So a worker that cannot
 * even start (sandbox, keys) is not re-forked in a tight loop, and scepd's
 * notes are still read while a slot waits.
 */
static int restart_wait(const struct supervisor *sv)
{
	int64_t now = monotonic_millis(), wait = -1, left;
	unsigned i;

	for (i = 0; i < sv->n; i++) {
		if (sv->pid[i] != 0)
			continue;
		left = sv->born[i] + KEYPROC_RESTART_GAP - now;
		if (left < 0)
			left = 0;
		if (wait < 0 || left < wait)
			wait = left;
	}
	return (int)wait;
}

/* Starts the worker of every slot whose wait is over. 0, or -1 as restart_worker. */
static int restart_due(struct supervisor *sv)
{
	int64_t now = monotonic_millis();
	unsigned i;

	for (i = 0; i < sv->n; i++)
		if (sv->pid[i] == 0 && now - sv->born[i] >= KEYPROC_RESTART_GAP &&
		    restart_worker(sv, i) != 0)
			return -1;
	return 0;
}

/*
 * A note from scepd on the control socket. KEYPROC_NOTE_RELOAD: scepd reloaded
 * the file, and the workers forked from now on start with this reading of it.
 * 0, or -1 when scepd closed the socket (or it fails).
 */
static int read_note(struct supervisor *sv)
{
	char note[16];
	ssize_t n;

	while ((n = recv(sv->ctl, note, sizeof(note), MSG_DONTWAIT)) < 0 && errno == EINTR)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return -1;
	if (n == (ssize_t)strlen(KEYPROC_NOTE_RELOAD) &&
	    memcmp(note, KEYPROC_NOTE_RELOAD, (size_t)n) == 0 &&
	    keyproc_config_reload(&sv->served) == 1)
		log_msg(LOG_INFO, "signer process: workers started from now on take %s as "
		    "scepd reloaded it", sv->served.file);
	return 0;
}

/*
 * The supervisor's life: forks the workers, then waits for a worker to end
 * (SIGCHLD, through a signalfd), for a note from scepd, or for the time to
 * start a new worker; ends when scepd closes the control socket or nothing is
 * left to serve.
 */
static void supervise(int ctl, int *fds, unsigned n, const char *config_file)
{
	struct supervisor sv;
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	sigset_t chld;
	int sfd;

	(void)prctl(PR_SET_NAME, "scepd-keyproc");
	memset(&sv, 0, sizeof(sv));
	sv.ctl = ctl;
	sv.n = n;
	sv.served.file = config_file;
	keyproc_config_reload(&sv.served);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0 ||
	    (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		log_msg(LOG_ERR, "signer process: signalfd: %s", strerror(errno));
		_exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		sv.pid[i] = spawn_worker(fds[i], &sv.served, i, 0);
		sv.born[i] = monotonic_millis();
		close(fds[i]);
	}
	pfd[0].fd = ctl;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, restart_wait(&sv)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* a note first: a worker started at the same time starts with its reading */
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && read_note(&sv) != 0)
			break;
		if (pfd[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			reap_workers(&sv);
		}
		if (restart_due(&sv) != 0)
			break;
	}
	_exit(0);
}

struct keyproc *keyproc_start(const char *config_file, unsigned workers, char *err,
    size_t errlen)
{
	struct keyproc *kp = NULL;
	int ctl[2] = { -1, -1 }, fds[KEYPROC_MAX_WORKERS + 1], sv[2];
	unsigned i, made = 0;
	pid_t parent = getpid(), pid;

	if (workers == 0 || workers > KEYPROC_MAX_WORKERS) {
		errorf(err, errlen, "signer.workers must be 1..%d", KEYPROC_MAX_WORKERS);
		return NULL;
	}
	kp = xcalloc(1, sizeof(*kp) + workers * sizeof(kp->slot[0]));
	kp->n = workers;
	kp->ctl = -1;
	if (config_file != NULL && (kp->config_file = realpath(config_file, NULL)) == NULL) {
		errorf(err, errlen, "%s: %s", config_file, strerror(errno));
		free(kp);
		return NULL;
	}
	kp->free = xcalloc(workers, sizeof(kp->free[0]));
	kp->line_end = &kp->line;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0) {
		errorf(err, errlen, "signer process: socketpair: %s", strerror(errno));
		goto fail;
	}
	for (made = 0; made < workers; made++) {
		if (pair(sv) != 0) {
			errorf(err, errlen, "signer process: socketpair: %s", strerror(errno));
			goto fail;
		}
		kp->slot[made].fd = sv[0];
		kp->slot[made].spare = -1;
		fds[made] = sv[1];
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		errorf(err, errlen, "signer process: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		child_signals(SIGTERM);
		if (getppid() != parent)
			_exit(0);
		/* the supervisor keeps the control socket and the workers' ends only */
		fds[workers] = ctl[1];
		close_others(fds, workers + 1);
		supervise(ctl[1], fds, workers, kp->config_file);
	}
	kp->pid = pid;
	close(ctl[1]);
	kp->ctl = ctl[0];
	for (i = 0; i < workers; i++) {
		close(fds[i]);
		kp->free[kp->nfree++] = i;
	}
	if (pthread_mutex_init(&kp->ctl_mu, NULL) != 0 ||
	    pthread_mutex_init(&kp->pool_mu, NULL) != 0)
		abort();
	return kp;
fail:
	for (i = 0; i < made; i++) {
		close(kp->slot[i].fd);
		close(fds[i]);
	}
	if (ctl[0] >= 0) {
		close(ctl[0]);
		close(ctl[1]);
	}
	free(kp->config_file);
	free(kp->free);
	free(kp);
	return NULL;
}

void keyproc_stop(struct keyproc *kp)
{
	int status;

	if (kp == NULL)
		return;
	/*
	 * The supervisor first: a worker whose socket closes exits, and a
	 * supervisor still running would log that as a death (event 1010) and
	 * start a new one. Its workers die with it (PR_SET_PDEATHSIG).
	 */
	close(kp->ctl);
	if (kp->pid > 0) {
		(void)kill(kp->pid, SIGTERM);
		(void)waitpid(kp->pid, &status, 0);
	}
	for (unsigned i = 0; i < kp->n; i++) {
		if (kp->slot[i].fd >= 0)
			close(kp->slot[i].fd);
		if (kp->slot[i].spare >= 0)
			close(kp->slot[i].spare);
		free(kp->slot[i].rx);
	}
	pthread_mutex_destroy(&kp->ctl_mu);
	pthread_mutex_destroy(&kp->pool_mu);
	free(kp->config_file);
	free(kp->free);
	free(kp);
}

long keyproc_pid(const struct keyproc *kp)
{
	return kp != NULL ? (long)kp->pid : -1;
}

/* ----------------------------------------------------------------- client */

/*
 * Takes what the supervisor sent; installs slot i's replacement. Called by the
 * thread that holds slot i.
 */
static void take_spare(struct keyproc *kp, unsigned i)
{
	uint32_t s;
	int fd;

	if (pthread_mutex_lock(&kp->ctl_mu) != 0)
		abort();
	while (recv_fd(kp->ctl, &s, &fd) == 1) {
		if (s >= kp->n) {
			close(fd);
			continue;
		}
		if (kp->slot[s].spare >= 0)
			close(kp->slot[s].spare);
		kp->slot[s].spare = fd;
	}
	if (kp->slot[i].spare >= 0) {
		if (kp->slot[i].fd >= 0)
			close(kp->slot[i].fd);
		kp->slot[i].fd = kp->slot[i].spare;
		kp->slot[i].spare = -1;
	}
	pthread_mutex_unlock(&kp->ctl_mu);
}

/* The worker on slot i is gone: drop its socket and say so. */
static void lost(struct keyproc *kp, unsigned i, const char *what, char *err, size_t errlen)
{
	close(kp->slot[i].fd);
	kp->slot[i].fd = -1;
	log_event(LOG_ERR, SCEPD_EVENT_SIGNER_DIED, "the signer process (worker %u) %s; the "
	    "request is refused while it restarts", i, what);
	errorf(err, errlen, SIGNER_REMOTE_UNAVAILABLE " (%s)", what);
}

/*
 * Takes the socket idle longest, or waits in line until one is handed over;
 * for at most ms milliseconds (then -1), or for good when ms < 0.
 * Taking the longest idle spreads even light traffic over every worker.
 */
static int take_slot_within(struct keyproc *kp, int ms)
{
	struct waiter w = { .slot = -1, .next = NULL }, **p;
	struct timespec until;

	if (pthread_mutex_lock(&kp->pool_mu) != 0)
		abort();
	if (kp->line == NULL && kp->nfree > 0) {
		w.slot = (int)kp->free[kp->free_at];
		kp->free_at = (kp->free_at + 1) % kp->n;
		kp->nfree--;
		pthread_mutex_unlock(&kp->pool_mu);
		return w.slot;
	}
	if (cond_init_monotonic(&w.cv) != 0)
		abort();
	if (ms >= 0)
		monotonic_deadline(&until, (long long)ms * 1000);
	*kp->line_end = &w;
	kp->line_end = &w.next;
	while (w.slot < 0) {
		if (ms < 0) {
			if (pthread_cond_wait(&w.cv, &kp->pool_mu) != 0)
				abort();
		} else if (pthread_cond_timedwait(&w.cv, &kp->pool_mu, &until) == ETIMEDOUT &&
		    w.slot < 0) {
			/* out of line: nothing can be handed to this waiter any more */
			for (p = &kp->line; *p != &w; p = &(*p)->next)
				;
			*p = w.next;
			if (kp->line_end == &w.next)
				kp->line_end = p;
			break;
		}
	}
	pthread_mutex_unlock(&kp->pool_mu);
	pthread_cond_destroy(&w.cv);
	return w.slot;
}

/* Hands slot i to the oldest waiter, or puts it back. */
static void give_back_slot(struct keyproc *kp, unsigned i)
{
	struct waiter *w;

	if (pthread_mutex_lock(&kp->pool_mu) != 0)
		abort();
	if ((w = kp->line) != NULL) {
		kp->line = w->next;
		if (kp->line == NULL)
			kp->line_end = &kp->line;
		w->slot = (int)i;
		pthread_cond_signal(&w->cv);
	} else {
		kp->free[(kp->free_at + kp->nfree) % kp->n] = i;
		kp->nfree++;
	}
	pthread_mutex_unlock(&kp->pool_mu);
}

/* One round trip on slot i, which the calling thread holds; the reply within wait_ms. */
static int exchange(struct keyproc *kp, unsigned i, struct keyproc_buf *req, int wait_ms,
    uint8_t **rbuf, struct keyproc_msg *reply, char *err, size_t errlen)
{
	struct pollfd pfd;
	uint8_t *buf = NULL;
	uint32_t seq = atomic_fetch_add(&kp->seq, 1) + 1;
	ssize_t n = 0;
	int rc = -1, pr;

	*rbuf = NULL;
	keyproc_put32(req->p + 4, seq);
	take_spare(kp, i);
	if (kp->slot[i].fd < 0) {
		errorf(err, errlen, SIGNER_REMOTE_UNAVAILABLE " (restarting)");
		goto out;
	}
	if (send(kp->slot[i].fd, req->p, req->len, MSG_NOSIGNAL) != (ssize_t)req->len) {
		if (errno == EMSGSIZE || errno == ENOBUFS)
			errorf(err, errlen, "the request is too large for the signer process");
		else
			lost(kp, i, "is gone", err, errlen);
		goto out;
	}
	pfd.fd = kp->slot[i].fd;
	pfd.events = POLLIN;
	while ((pr = poll(&pfd, 1, wait_ms)) < 0 && errno == EINTR)
		;
	if (pr <= 0) {
		lost(kp, i, pr == 0 ? "did not answer in time" : "cannot be waited for", err, errlen);
		goto out;
	}
	if (kp->slot[i].rx == NULL)
		kp->slot[i].rx = xmalloc(KEYPROC_MAX_MSG + 1);
	n = recv(kp->slot[i].fd, kp->slot[i].rx, KEYPROC_MAX_MSG + 1, MSG_TRUNC);
	if (n <= 0) {
		lost(kp, i, n == 0 ? "died" : "cannot be read", err, errlen);
		goto out;
	}
	if (n > KEYPROC_MAX_MSG) {
		lost(kp, i, "sent an oversized reply", err, errlen);
		goto out;
	}
	/* the reply may hold a plaintext: moved out, and the slot's buffer wiped */
	buf = xmalloc((size_t)n);
	memcpy(buf, kp->slot[i].rx, (size_t)n);
	OPENSSL_cleanse(kp->slot[i].rx, (size_t)n);
	if (keyproc_msg_parse(buf, (size_t)n, reply, err, errlen) == -1 ||
	    reply->type != KEYPROC_REPLY || reply->seq != seq) {
		lost(kp, i, "sent a malformed or out-of-order reply", err, errlen);
		goto out;
	}
	*rbuf = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL)
		keyproc_reply_free(buf, (size_t)n);
	return rc;
}

/* Has the worker on slot i (held) read the configuration file: 0, or -1 with why. */
static int reload_worker(struct keyproc *kp, unsigned i, char *err, size_t errlen)
{
	struct keyproc_buf req;
	struct keyproc_msg reply;
	uint8_t *rbuf = NULL;
	uint32_t result;
	int rc = -1;

	keyproc_buf_start(&req, KEYPROC_RELOAD, 0);
	if (keyproc_buf_finish(&req) == -1) {
		errorf(err, errlen, "the message cannot be built");
		goto out;
	}
	if (exchange(kp, i, &req, KEYPROC_RELOAD_WAIT, &rbuf, &reply, err, errlen) == -1)
		goto out;
	if (keyproc_msg_u32(&reply, KP_T_RESULT, &result) == -1 || result != 0) {
		errorf(err, errlen, "it refused to reload");
		goto out;
	}
	rc = 0;
out:
	if (rbuf != NULL)
		keyproc_reply_free(rbuf, KEYPROC_HEADER + reply.body_len);
	keyproc_buf_free(&req);
	return rc;
}

int keyproc_call(struct keyproc *kp, struct keyproc_buf *req, uint8_t **rbuf,
    struct keyproc_msg *reply, char *err, size_t errlen)
{
	unsigned i = (unsigned)take_slot_within(kp, -1);
	char why[256];
	int rc;

	/* a worker busy through scepd's reload reads the file before anything else */
	if (atomic_exchange(&kp->slot[i].reload, 0) && reload_worker(kp, i, why, sizeof(why)) != 0)
		log_msg(LOG_WARNING, "signer process: worker %u did not re-read the "
		    "configuration: %s", i, why);
	rc = exchange(kp, i, req, KEYPROC_REPLY_WAIT, rbuf, reply, err, errlen);
	give_back_slot(kp, i);
	return rc;
}

/* Sends a note to the supervisor over the control socket. 0, or -1 (errno). */
static int note_supervisor(struct keyproc *kp, const char *note)
{
	ssize_t n;

	if (pthread_mutex_lock(&kp->ctl_mu) != 0)
		abort();
	n = send(kp->ctl, note, strlen(note), MSG_NOSIGNAL | MSG_DONTWAIT);
	pthread_mutex_unlock(&kp->ctl_mu);
	return n == (ssize_t)strlen(note) ? 0 : -1;
}

/*
 * The supervisor is told first, so that a worker it restarts from now on
 * starts with this reading. Then every worker is marked to re-read the file;
 * then the free ones, and those freed within KEYPROC_RELOAD_WAIT, are held
 * (taking each in line, as a request would) and told to read it now, so that
 * none of them checks a request of the new generation against a reading older
 * than the one before it. A worker still busy after that reads it before its
 * next request.
 */
int keyproc_reload(struct keyproc *kp, char *err, size_t errlen)
{
	unsigned *held = xcalloc(kp->n, sizeof(*held)), n_held = 0, i, failed = 0;
	char why[256];
	int s;

	/* first the supervisor: a worker restarted from now on starts with this reading */
	if (note_supervisor(kp, KEYPROC_NOTE_RELOAD) != 0 && failed++ == 0)
		errorf(err, errlen, "the supervisor did not take the note: %s", strerror(errno));
	for (i = 0; i < kp->n; i++)
		atomic_store(&kp->slot[i].reload, 1);
	while (n_held < kp->n && (s = take_slot_within(kp, KEYPROC_RELOAD_WAIT)) >= 0)
		held[n_held++] = (unsigned)s;
	for (i = 0; i < n_held; i++) {
		/* a request that took it first has had it re-read already */
		if (!atomic_exchange(&kp->slot[held[i]].reload, 0))
			continue;
		if (reload_worker(kp, held[i], why, sizeof(why)) != 0 && failed++ == 0)
			errorf(err, errlen, "worker %u: %s", held[i], why);
	}
	for (i = 0; i < n_held; i++)
		give_back_slot(kp, held[i]);
	if (n_held < kp->n && failed++ == 0)
		errorf(err, errlen, "%u of %u workers stayed busy for %d s; each reads it "
		    "before its next request", kp->n - n_held, kp->n, KEYPROC_RELOAD_WAIT / 1000);
	free(held);
	return failed == 0 ? 0 : -1;
}

void keyproc_reply_free(uint8_t *rbuf, size_t len)
{
	if (rbuf == NULL)
		return;
	OPENSSL_cleanse(rbuf, len);
	free(rbuf);
}
