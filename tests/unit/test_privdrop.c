/* SPDX-License-Identifier: ISC */
/*
 * test_privdrop.c: the service user (src/privdrop.c): names and numbers are
 * looked up, root and unknown users are refused with a reason, and (run as
 * root) a child that drops to nobody has every id nobody's, no other group,
 * and cannot become root again.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "privdrop.h"

/* In a child: drop to u, then the checks; the exit status says which failed. */
static int child_drop(const struct privdrop_user *u)
{
	char err[256];
	uid_t r, e, s;
	gid_t groups[4];

	if (privdrop_to(u, err, sizeof(err)) != 0)
		return 1;
	if (getresuid(&r, &e, &s) != 0 || r != u->uid || e != u->uid || s != u->uid)
		return 2;
	if (getgid() != u->gid || getegid() != u->gid)
		return 3;
	if (getgroups(4, groups) != 1 || groups[0] != u->gid)
		return 4;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 5;
	return 0;
}

int main(void)
{
	struct privdrop_user u;
	struct passwd *pw = getpwnam("nobody");
	char err[256];
	pid_t pid;
	int status;

	is_int(privdrop_resolve("no-such-user-scepd", NULL, &u, err, sizeof(err)), -1,
	    "an unknown user is refused");
	ok(strstr(err, "user no-such-user-scepd: no such user") != NULL, "... saying so (%s)", err);
	is_int(privdrop_resolve("root", NULL, &u, err, sizeof(err)), -1, "root is refused");
	ok(strstr(err, "is root") != NULL, "... saying so (%s)", err);
	if (pw == NULL) {
		skip("no user nobody");
		return done_testing();
	}
	is_int(privdrop_resolve("nobody", NULL, &u, err, sizeof(err)), 0, "nobody resolves");
	ok(u.uid == pw->pw_uid && u.gid == pw->pw_gid, "... to its uid and primary group");
	is_int(privdrop_resolve("nobody", "0", &u, err, sizeof(err)), 0, "a numeric group");
	is_int(u.gid, 0, "... is taken as the gid");
	is_int(privdrop_resolve("nobody", "no-such-group-scepd", &u, err, sizeof(err)), -1,
	    "an unknown group is refused");
	if (geteuid() != 0) {
		skip("not root: cannot test the drop");
		return done_testing();
	}
	(void)privdrop_resolve("nobody", NULL, &u, err, sizeof(err));
	if ((pid = fork()) == 0)
		_exit(child_drop(&u));
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	    "the dropping child exits");
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "after the drop every id is "
	    "nobody's, the only group is its group, and root cannot be regained");
	return done_testing();
}
