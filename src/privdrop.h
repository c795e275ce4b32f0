/* SPDX-License-Identifier: ISC */
/*
 * privdrop.h: the service user. Started as root with `user` (and maybe
 * `group`) set, scepd binds its sockets, then becomes that user for good
 * before it reads any request: supplementary groups, then group, then user,
 * and a check that root cannot be regained. A failed drop is fatal.
 */
#ifndef PRIVDROP_H
#define PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop_user {
	uid_t uid;
	gid_t gid;
	char name[64];             /* as configured, for messages */
};

/*
 * Looks up user (a name or a number) and group (NULL: the user's primary
 * group). 0, or -1 with a reason.
 */
int privdrop_resolve(const char *user, const char *group, struct privdrop_user *u,
    char *err, size_t errlen);

/*
 * Becomes u for good: setgroups to its group only, setresgid, setresuid, then
 * checks that every real, effective and saved id is u's and that setuid(0)
 * fails. Must run before any thread is started. 0, or -1 with a reason.
 */
int privdrop_to(const struct privdrop_user *u, char *err, size_t errlen);

#endif
