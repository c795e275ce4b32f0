/* SPDX-License-Identifier: ISC */
/*
 * keyproc_sandbox.c: the system call filter of a signer process worker
 * (libseccomp). The worker reads key, certificate and configuration files and
 * answers on the socket it inherited; the filter takes away everything else a
 * compromised worker could use: network sockets (only AF_UNIX, for syslog),
 * listening and accepting, opening files for writing or creating them,
 * changing the file system, starting programs or processes, tracing, changing
 * identity. Forbidden calls fail with EPERM (a worker that asks is wrong, not
 * an attacker to be shot on sight) except execve and ptrace, which kill it.
 * No new privileges are possible afterwards (PR_SET_NO_NEW_PRIVS).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "keyproc_sandbox.h"

/* System calls that change the file system, processes or identity: refused. */
static const int refused[] = {
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(creat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat),
	SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat), SCMP_SYS(symlink),
	SCMP_SYS(symlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmod), SCMP_SYS(fchmodat),
	SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(lchown), SCMP_SYS(fchownat),
	SCMP_SYS(truncate), SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(mount),
	SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(fork),
	SCMP_SYS(vfork), SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
	SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(utimensat), SCMP_SYS(io_uring_setup),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(open_by_handle_at),
};

/* open flags that write or create */
static const unsigned write_flags[] = { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND };

int keyproc_sandbox(const char *config_file)
{
	scmp_filter_ctx ctx = NULL;
	int rc = -1;
	size_t i;

	(void)config_file;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto out;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		goto out;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0) != 0)
			goto out;
	if (seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(execve), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(execveat), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ptrace), 0) != 0)
		goto out;
	/* no network: a socket of any family but AF_UNIX (syslog) is refused */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_NE, AF_UNIX)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 0) != 0)
		goto out;
	/* threads only (no new processes): clone without CLONE_THREAD is refused */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		goto out;
	/* no writable file system: opening for writing, appending or creating is refused */
	for (i = 0; i < sizeof(write_flags) / sizeof(write_flags[0]); i++) {
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, write_flags[i], write_flags[i])) != 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, write_flags[i], write_flags[i])) != 0)
			goto out;
	}
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat2), 0) != 0)
		goto out;
	if (seccomp_load(ctx) != 0)
		goto out;
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}
