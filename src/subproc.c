/* SPDX-License-Identifier: ISC */
/*
 * subproc.c: runs a helper program for the exec CA backend and the exec
 * challenge validator (subproc.h): posix_spawn() without a shell, only the three
 * pipes as descriptors, its own process group killed at the time limit,
 * standard output bounded, standard error kept up to SUBPROC_MAX_STDERR bytes.
 * It knows nothing of certificates or of what the program's answer means.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "subproc.h"
#include "util.h"

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* 1 when the child has ended (not yet reaped), 0 when it runs, -1 on error. */
static int child_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno == EINTR ? 0 : -1;
	return si.si_pid == pid;
}

int subproc_run(char *const argv[], char *const envp[], const unsigned char *input,
    size_t input_len, unsigned timeout, size_t max_output, struct subproc_result *run,
    char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dflt, none, pipemask, oldmask, pending;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int have_fa = 0, have_attr = 0, sigpipe_was_pending = 0, masked = 0, status = 0;
	int rc = -1, e, n, ended = 0;
	struct pollfd pfd[3];
	char buf[4096];
	size_t written = 0, cap;
	ssize_t r;
	int64_t deadline, left;
	pid_t pid = -1;

	memset(run, 0, sizeof(*run));
	cap = max_output + 1;
	run->out = xmalloc(cap + 1);
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(errp, O_CLOEXEC) == -1) {
		snprintf(why, whylen, "cannot make pipes: %s", strerror(errno));
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_error;
	have_fa = 1;
	/* Only the three pipes: any descriptor opened without O_CLOEXEC (by a library, or
	 * inherited by scepd) is closed in the child too. */
	if ((e = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		goto spawn_error;
	if ((e = posix_spawnattr_init(&attr)) != 0)
		goto spawn_error;
	have_attr = 1;
	/* Its own process group (killed as one), no blocked signals, default handlers. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGQUIT);
	sigaddset(&dflt, SIGALRM);
	sigaddset(&dflt, SIGCHLD);
	sigaddset(&dflt, SIGUSR1);
	sigaddset(&dflt, SIGUSR2);
	if ((e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)) != 0 || (e = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&attr, &dflt)) != 0)
		goto spawn_error;
	if ((e = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp)) != 0) {
		pid = -1;
		goto spawn_error;
	}
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	if (fcntl(in[1], F_SETFL, O_NONBLOCK) == -1 || fcntl(out[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(why, whylen, "cannot set up pipes: %s", strerror(errno));
		goto out;
	}
	if (input_len == 0)
		close_fd(&in[1]);

	/*
	 * A program that exits without reading all its input makes write() raise
	 * SIGPIPE: blocked in this thread while it runs, and a pending one that
	 * this run caused is taken back afterwards.
	 */
	sigemptyset(&pipemask);
	sigaddset(&pipemask, SIGPIPE);
	sigemptyset(&pending);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigpipe_was_pending = 1;
	if (pthread_sigmask(SIG_BLOCK, &pipemask, &oldmask) == 0)
		masked = 1;

	deadline = monotonic_millis() + (int64_t)timeout * 1000;
	while (out[0] >= 0 || errp[0] >= 0) {
		left = deadline - monotonic_millis();
		if (left <= 0) {
			run->timed_out = 1;
			break;
		}
		n = 0;
		if (in[1] >= 0) {
			pfd[n].fd = in[1];
			pfd[n++].events = POLLOUT;
		}
		if (out[0] >= 0) {
			pfd[n].fd = out[0];
			pfd[n++].events = POLLIN;
		}
		if (errp[0] >= 0) {
			pfd[n].fd = errp[0];
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, left > 1000 ? 1000 : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			goto out;
		}
		if (in[1] >= 0) {
			r = write(in[1], input + written, input_len - written);
			if (r > 0)
				written += (size_t)r;
			if ((r < 0 && errno != EAGAIN && errno != EINTR) || written == input_len)
				close_fd(&in[1]);   /* done, or the program stopped reading */
		}
		if (out[0] >= 0) {
			r = read(out[0], run->out + run->out_len, cap - run->out_len);
			if (r > 0) {
				run->out_len += (size_t)r;
				if (run->out_len > max_output) {
					run->too_much = 1;
					break;
				}
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close_fd(&out[0]);
			}
		}
		if (errp[0] >= 0) {
			r = read(errp[0], buf, sizeof(buf));
			if (r > 0) {
				if (run->err_len < SUBPROC_MAX_STDERR) {
					size_t k = (size_t)r;

					if (k > SUBPROC_MAX_STDERR - run->err_len)
						k = SUBPROC_MAX_STDERR - run->err_len;
					memcpy(run->err + run->err_len, buf, k);
					run->err_len += k;
				}
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close_fd(&errp[0]);
			}
		}
	}
	close_fd(&in[1]);
	/* Output closed: wait for the end of the program itself, within the time left. */
	while (!run->timed_out && !run->too_much) {
		if ((ended = child_ended(pid)) != 0)
			break;
		if (monotonic_millis() >= deadline) {
			run->timed_out = 1;
			break;
		}
		usleep(10000);
	}
	if (run->timed_out || run->too_much || ended < 0)
		(void)kill(-pid, SIGKILL);   /* the group: also what it started */
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			snprintf(why, whylen, "waitpid: %s", strerror(errno));
			pid = -1;
			goto out;
		}
	}
	pid = -1;
	if (WIFEXITED(status)) {
		run->exited = 1;
		run->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		run->signal = WTERMSIG(status);
	}
	run->out[run->out_len] = '\0';
	run->err[run->err_len] = '\0';
	rc = 0;
	goto out;

spawn_error:
	snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(e));
out:
	if (pid > 0) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (masked) {
		struct timespec zero = { 0, 0 };

		if (!sigpipe_was_pending && sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipemask, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	}
	if (have_attr)
		posix_spawnattr_destroy(&attr);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	return rc;
}

/* The first line of text, controls replaced, into out. */
void subproc_first_line(const char *text, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; text[i] != '\0' && text[i] != '\n' && o + 1 < outlen; i++) {
		if (text[i] == '\r')
			continue;
		out[o++] = ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) ? '?' : text[i];
	}
	out[o] = '\0';
}

void subproc_result_free(struct subproc_result *run)
{
	if (run == NULL)
		return;
	free(run->out);
	run->out = NULL;
	run->out_len = 0;
}
