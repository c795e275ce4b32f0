/* SPDX-License-Identifier: ISC */
/*
 * keyproc_sandbox.c: the system call filter of a signer process worker
 * (libseccomp). It is an allow-list: the worker reads key, certificate and
 * configuration files (and a PKCS#11 module with its token files), answers on
 * the socket it inherited and logs over AF_UNIX (syslog, the journal); those
 * calls, and what the C library, OpenSSL and the sanitizer runtimes need
 * around them (memory, threads, time, signals), are allowed, some only with
 * arguments checked. A call the worker has no business making is answered
 * one of two ways:
 *  - refused with an errno (EACCES/EPERM/ENOSYS) where a library may probe
 *    and cope: opening for writing or creating, other socket families, new
 *    processes, clone3 (the C library falls back to clone);
 *  - anything else is a trap: the worker writes the call's number to stderr
 *    and exits with KEYPROC_EXIT_SANDBOX, and the supervisor logs that and
 *    starts a new worker. execve and ptrace kill it outright.
 * No new privileges are possible afterwards (PR_SET_NO_NEW_PRIVS).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "keyproc.h"
#include "keyproc_sandbox.h"

/* System calls allowed whatever their arguments. */
static const int allowed[] = {
	/* reading files and the sockets already open */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(dup), SCMP_SYS(fadvise64),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(connect), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(mincore),
	/* threads, time, randomness */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* signals and who we are */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getgroups), SCMP_SYS(getrlimit), SCMP_SYS(getrusage), SCMP_SYS(sysinfo),
	SCMP_SYS(uname), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* Calls a library may probe and survive: refused with EPERM, no trap. */
static const int refused[] = {
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(socketpair), SCMP_SYS(creat), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir),
	SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat),
	SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmod),
	SCMP_SYS(fchmodat), SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(lchown),
	SCMP_SYS(fchownat), SCMP_SYS(truncate), SCMP_SYS(ftruncate), SCMP_SYS(mknod),
	SCMP_SYS(mknodat), SCMP_SYS(utimensat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(prctl), SCMP_SYS(ioctl),
	SCMP_SYS(setrlimit), SCMP_SYS(setsockopt),
};

/* open flags that write or create */
static const unsigned write_flags[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND };
#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

/*
 * SIGSYS from a trapped call: say which (async-signal-safe: no stdio) and
 * exit with the status the supervisor reports.
 */
static void trapped(int sig, siginfo_t *si, void *uc)
{
	char msg[] = "scepd-signer: system call 0000 is outside the signer's sandbox\n";
	char *d = strstr(msg, "0000");
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	for (int i = 3; i >= 0; i--, nr /= 10)
		d[i] = (char)('0' + nr % 10);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(KEYPROC_EXIT_SANDBOX);
}

static int add_all(scmp_filter_ctx ctx, uint32_t action, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, action, calls[i], 0) != 0)
			return -1;
	return 0;
}

/* No writable file system: an open with any flag that writes or creates gets EACCES. */
static int add_refused_writes(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(write_flags) / sizeof(write_flags[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, write_flags[i], write_flags[i])) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, write_flags[i], write_flags[i])) != 0)
			return -1;
	return 0;
}

/* Calls allowed or refused by their arguments. */
static int add_conditional(scmp_filter_ctx ctx)
{
	pid_t self = getpid();

	return
	    /* open read-only (opening for writing is refused in add_refused_writes) */
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		SCMP_A2(SCMP_CMP_MASKED_EQ, WRITE_FLAGS, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
		SCMP_A1(SCMP_CMP_MASKED_EQ, WRITE_FLAGS, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) != 0 ||
	    /* no network: only AF_UNIX (syslog, the journal) */
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		SCMP_A0(SCMP_CMP_NE, AF_UNIX)) != 0 ||
	    /* threads only: clone without CLONE_THREAD (a new process) is refused */
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0 ||
	    /* signals to itself only (abort, raise) */
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self)) != 0 ||
	    /* reading its limits; setting them is refused */
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
		SCMP_A2(SCMP_CMP_EQ, 0)) != 0 ||
	    /* never a program, never another process's memory */
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(execve), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(execveat), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ptrace), 0) != 0 ? -1 : 0;
}

int keyproc_sandbox(const char *config_file)
{
	scmp_filter_ctx ctx = NULL;
	struct sigaction sa;
	int rc = -1;

	(void)config_file;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trapped;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto out;
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		goto out;
	if (add_all(ctx, SCMP_ACT_ALLOW, allowed, sizeof(allowed) / sizeof(allowed[0])) != 0 ||
	    add_all(ctx, SCMP_ACT_ERRNO(EPERM), refused, sizeof(refused) / sizeof(refused[0])) != 0 ||
	    add_conditional(ctx) != 0 || add_refused_writes(ctx) != 0)
		goto out;
	if (seccomp_load(ctx) != 0)
		goto out;
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}
