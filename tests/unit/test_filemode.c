/* SPDX-License-Identifier: ISC */
/*
 * test_filemode.c: strict modes (src/filemode.c): private files and folders
 * pass; group or other access, another owner and a non-regular file are
 * refused naming the setting and the path; the files must belong to the
 * service user scepd drops to; a missing optional file is fine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "config.h"
#include "filemode.h"
#include "util.h"

static struct stat st_of(mode_t mode, uid_t uid)
{
	struct stat sb;

	memset(&sb, 0, sizeof(sb));
	sb.st_mode = mode;
	sb.st_uid = uid;
	return sb;
}

static void touch(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd != -1)
		close(fd);
	chmod(path, mode);
}

int main(void)
{
	struct filemode_owners o = { .uid = { 1000 }, .n = 1, .must = (uid_t)-1 };
	struct stat sb;
	struct config *cfg;
	char dir[] = "/tmp/test_filemode.XXXXXX", err[512], *text, path[600];

	sb = st_of(S_IFREG | 0600, 0);
	is_int(filemode_check_stat(&sb, "ca.key", "/k", &o, err, sizeof(err)), 0, "root's 0600 file");
	sb = st_of(S_IFREG | 0400, 1000);
	is_int(filemode_check_stat(&sb, "ca.key", "/k", &o, err, sizeof(err)), 0,
	    "the running user's 0400 file");
	sb = st_of(S_IFDIR | 0700, 1000);
	is_int(filemode_check_stat(&sb, "state_dir", "/d", &o, err, sizeof(err)), 0, "a 0700 folder");
	sb = st_of(S_IFREG | 0640, 0);
	is_int(filemode_check_stat(&sb, "database", "/db", &o, err, sizeof(err)), -1, "0640 refused");
	is_str(err, "database /db: accessible by group or others (mode 0640); chmod 600 it",
	    "... naming the setting, the file and the fix");
	sb = st_of(S_IFREG | 0602, 0);
	is_int(filemode_check_stat(&sb, "ca.key", "/k", &o, err, sizeof(err)), -1,
	    "world-writable refused");
	sb = st_of(S_IFDIR | 0711, 0);
	is_int(filemode_check_stat(&sb, "state_dir", "/d", &o, err, sizeof(err)), -1,
	    "a 0711 folder refused");
	ok(strstr(err, "chmod 700 it") != NULL, "... chmod 700 for a folder (%s)", err);
	sb = st_of(S_IFREG | 0600, 1001);
	is_int(filemode_check_stat(&sb, "ca.key", "/k", &o, err, sizeof(err)), -1,
	    "another user's file refused");
	is_str(err, "ca.key /k: owned by uid 1001, neither root nor the user scepd runs as; chown it",
	    "... saying whose it is");
	sb = st_of(S_IFIFO | 0600, 0);
	is_int(filemode_check_stat(&sb, "tls.key", "/f", &o, err, sizeof(err)), -1, "a FIFO refused");
	is_str(err, "tls.key /f: not a regular file", "... as not a regular file");

	/* a whole configuration on a real folder */
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}
	text = xasprintf("state_dir = \"%s\";\nca = { key = \"ca.key\"; };\n", dir);
	cfg = config_load_string("t.conf", text, stderr);
	free(text);
	ok(cfg != NULL, "configuration loads");
	o.uid[0] = geteuid();
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	touch(path, 0600);
	is_int(cfg ? filemode_check_config(cfg, &o, err, sizeof(err)) : -2, 0,
	    "private folder and key, no database yet: accepted (%s)", err);
	snprintf(path, sizeof(path), "%s/scepd.db-wal", dir);
	touch(path, 0644);
	is_int(cfg ? filemode_check_config(cfg, &o, err, sizeof(err)) : -2, -1,
	    "a group-readable database WAL file is refused");
	ok(strstr(err, "scepd.db-wal: accessible by group or others") != NULL, "... named (%s)", err);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ca.key.prev", dir);
	touch(path, 0644);
	is_int(cfg ? filemode_check_config(cfg, &o, err, sizeof(err)) : -2, -1,
	    "a group-readable previous key copy is refused");
	unlink(path);
	o.must = geteuid() + 1;
	o.must_name = "svc";
	is_int(cfg ? filemode_check_config(cfg, &o, err, sizeof(err)) : -2, -1,
	    "a state folder the service user does not own is refused");
	ok(strstr(err, "scepd uses it as user svc after dropping privileges; chown svc it") != NULL,
	    "... saying to chown it (%s)", err);
	config_free(cfg);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
