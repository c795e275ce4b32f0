/* SPDX-License-Identifier: ISC */
/*
 * privdrop.c: resolving the service user and dropping to it; see privdrop.h.
 * Only scepd.c calls it, once, at start. It touches no file.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"
#include "util.h"

/* A decimal id, or -1 when text is not one. */
static long long numeric_id(const char *text)
{
	char *end;
	long long v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v >= 0xffffffffLL)
		return -1;
	return v;
}

int privdrop_resolve(const char *user, const char *group, struct privdrop_user *u,
    char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	long long id;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", user);
	errno = 0;
	if ((pw = getpwnam(user)) != NULL) {
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
	} else if ((id = numeric_id(user)) >= 0 && group != NULL) {
		u->uid = (uid_t)id;
	} else {
		errorf(err, errlen, "user %s: %s", user, errno != 0 ? strerror(errno) :
		    id >= 0 ? "a numeric user needs a group" : "no such user (create it, e.g. "
		    "with systemd-sysusers or useradd --system)");
		return -1;
	}
	if (group != NULL) {
		errno = 0;
		if ((gr = getgrnam(group)) != NULL) {
			u->gid = gr->gr_gid;
		} else if ((id = numeric_id(group)) >= 0) {
			u->gid = (gid_t)id;
		} else {
			errorf(err, errlen, "group %s: %s", group, errno != 0 ? strerror(errno) :
			    "no such group");
			return -1;
		}
	}
	if (u->uid == 0) {
		errorf(err, errlen, "user %s is root: name an unprivileged user", user);
		return -1;
	}
	return 0;
}

int privdrop_to(const struct privdrop_user *u, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (setgroups(1, &u->gid) != 0) {
		errorf(err, errlen, "setgroups(%u): %s", (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) != 0) {
		errorf(err, errlen, "setresgid(%u): %s", (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) != 0) {
		errorf(err, errlen, "setresuid(%u): %s", (unsigned)u->uid, strerror(errno));
		return -1;
	}
	/* Verify: every id is the user's, no other group, and root is out of reach. */
	if (getresuid(&ru, &eu, &su) != 0 || ru != u->uid || eu != u->uid || su != u->uid ||
	    getresgid(&rg, &eg, &sg) != 0 || rg != u->gid || eg != u->gid || sg != u->gid) {
		errorf(err, errlen, "the user and group ids are not all %u:%u after the drop",
		    (unsigned)u->uid, (unsigned)u->gid);
		return -1;
	}
	if ((n = getgroups(2, groups)) < 0 || n > 1 || (n == 1 && groups[0] != u->gid)) {
		errorf(err, errlen, "supplementary groups remain after the drop");
		return -1;
	}
	if (setuid(0) != -1 || (u->gid != 0 && setgid(0) != -1)) {
		errorf(err, errlen, "root could be regained after the drop");
		return -1;
	}
	return 0;
}
