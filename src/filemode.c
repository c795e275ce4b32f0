/* SPDX-License-Identifier: ISC */
/*
 * filemode.c: strict modes for the files that hold secrets; see filemode.h.
 * It only looks (stat); it never changes a mode or an owner, and it does not
 * read the files: the readers check the descriptor they read from again
 * (pemfile.c), so a file swapped after this check is still refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "filemode.h"
#include "keyref.h"
#include "scep.h"
#include "store.h"
#include "util.h"

static int owner_allowed(uid_t uid, const struct filemode_owners *o)
{
	size_t i;

	if (uid == 0)
		return 1;
	for (i = 0; i < o->n && i < 2; i++)
		if (o->uid[i] == uid)
			return 1;
	return 0;
}

int filemode_check_stat(const struct stat *sb, const char *what, const char *path,
    const struct filemode_owners *owners, char *err, size_t errlen)
{
	int dir = S_ISDIR(sb->st_mode);

	if (!dir && !S_ISREG(sb->st_mode)) {
		errorf(err, errlen, "%s %s: not a regular file", what, path);
		return -1;
	}
	if ((sb->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		errorf(err, errlen, "%s %s: accessible by group or others (mode %04o); "
		    "chmod %s it", what, path, (unsigned)(sb->st_mode & 07777),
		    dir ? "700" : "600");
		return -1;
	}
	if (!owner_allowed(sb->st_uid, owners)) {
		errorf(err, errlen, "%s %s: owned by uid %u, neither root nor the user scepd "
		    "runs as; chown it", what, path, (unsigned)sb->st_uid);
		return -1;
	}
	return 0;
}

/*
 * One path: missing is fine when optional; with owners->must set (scepd
 * drops to that user, then reads the keys and writes the database as it), it
 * must belong to that user: a private file of root's it could not open. 0 or
 * -1 with a reason.
 */
static int check_path(const char *what, const char *path, int optional,
    const struct filemode_owners *owners, char *err, size_t errlen)
{
	struct stat sb;

	if (path == NULL)
		return 0;
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT && optional)
			return 0;
		errorf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (filemode_check_stat(&sb, what, path, owners, err, errlen) != 0)
		return -1;
	if (owners->must != (uid_t)-1 && sb.st_uid != owners->must) {
		errorf(err, errlen, "%s %s: owned by uid %u, but scepd uses it as user %s "
		    "after dropping privileges; chown %s it", what, path, (unsigned)sb.st_uid,
		    owners->must_name, owners->must_name);
		return -1;
	}
	return 0;
}

/* A key file and the copy `scepctl ra renew` keeps beside it. */
static int check_key(const char *what, const char *path, int optional,
    const struct filemode_owners *owners, char *err, size_t errlen)
{
	char *prev;
	int rc;

	if (path == NULL || keyref_is_token(path))   /* a key in a PKCS#11 token */
		return 0;
	if (check_path(what, path, optional, owners, err, errlen) != 0)
		return -1;
	prev = xasprintf("%s%s", path, SCEP_RA_PREVIOUS_SUFFIX);
	rc = check_path(what, prev, 1, owners, err, errlen);
	free(prev);
	return rc;
}

int filemode_check_config(const struct config *cfg, const struct filemode_owners *owners,
    char *err, size_t errlen)
{
	static const char *const db_suffix[] = { "", "-wal", "-shm", "-journal" };
	const struct config_profile *p;
	char *path;
	size_t i;
	int rc;

	if (check_path("state_dir", cfg->state_dir, 1, owners, err, errlen) != 0)
		return -1;
	/* a PostgreSQL database has no file here */
	for (i = 0; !store_is_postgresql(cfg->database) &&
	    i < sizeof(db_suffix) / sizeof(db_suffix[0]); i++) {
		path = xasprintf("%s%s", cfg->database, db_suffix[i]);
		rc = check_path("database", path, 1, owners, err, errlen);
		free(path);
		if (rc != 0)
			return -1;
	}
	if (check_key("ca.key", cfg->ca_key, 1, owners, err, errlen) != 0 ||
	    check_key("ca.next_key", cfg->next_ca_key, 1, owners, err, errlen) != 0 ||
	    check_key("ca.next_ra_sign_key", cfg->next_ra_sign_key, 1, owners, err, errlen) != 0 ||
	    check_key("ca.next_ra_enc_key", cfg->next_ra_enc_key, 1, owners, err, errlen) != 0 ||
	    check_key("ra.sign_key", cfg->ra_sign_key, 0, owners, err, errlen) != 0 ||
	    check_key("ra.enc_key", cfg->ra_enc_key, 0, owners, err, errlen) != 0)
		return -1;
	if (cfg->n_tls_listen > 0 &&
	    check_path("tls.key", cfg->tls_key, 0, owners, err, errlen) != 0)
		return -1;
	if (check_path("admin.keytab", cfg->admin_keytab, 0, owners, err, errlen) != 0)
		return -1;
	for (i = 0; i < cfg->n_profiles; i++) {
		p = &cfg->profiles[i];
		if (check_key("profiles.ra_sign_key", p->ra_sign_key, 0, owners, err, errlen) != 0 ||
		    check_key("profiles.ra_enc_key", p->ra_enc_key, 0, owners, err, errlen) != 0)
			return -1;
	}
	return 0;
}
