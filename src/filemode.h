/* SPDX-License-Identifier: ISC */
/*
 * filemode.h: strict modes for the files that hold secrets (as sshd's
 * StrictModes): the state folder, the database (NT hashes, which are
 * password-equivalent) and every private key must be accessible to their owner
 * only, and owned by root or by the user scepd runs as. Checked by scepd at
 * start, by `scepd -t`, and before a reload is accepted.
 */
#ifndef FILEMODE_H
#define FILEMODE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct config;

/* Who may own a private file: root and up to two more users. */
struct filemode_owners {
	uid_t uid[2];
	size_t n;
	uid_t must;      /* (uid_t)-1, or the only owner the writable files may have */
	const char *must_name;
};

/*
 * Checks one file (or folder, when sb says so) described by sb: no access for
 * group or others, owner root or one of owners. what names the setting for the
 * message ("ca.key"). 0, or -1 with a reason naming path.
 */
int filemode_check_stat(const struct stat *sb, const char *what, const char *path,
    const struct filemode_owners *owners, char *err, size_t errlen);

/*
 * Checks the state folder, the database (and its -wal/-shm files), and every
 * key file cfg names that exists (tls.key only with tls.listen). With
 * owners->must set (scepd drops to that user), every one of them must be
 * owned by it: after the drop it writes the database and reads the keys (at
 * start and on reload), and a private file of root's it could not open. 0, or
 * -1 with a reason naming the file.
 */
int filemode_check_config(const struct config *cfg, const struct filemode_owners *owners,
    char *err, size_t errlen);

#endif
