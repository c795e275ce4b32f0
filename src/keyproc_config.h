/* SPDX-License-Identifier: ISC */
/*
 * keyproc_config.h: the signer process's own readings of the configuration
 * file, which it checks what it issues against:
 *  - cur: the file as scepd last (re)loaded it, the generation being served;
 *  - prev: the reload before it (requests in flight may still use it);
 *  - edit: the file as it is now, when it changed since and scepd has not
 *    reloaded it yet (a worker reads it when a request finds the file
 *    changed; it never pushes cur or prev out).
 * The supervisor keeps cur and prev for the workers it forks; a worker takes
 * them over, and reads the file again when scepd says it reloaded.
 */
#ifndef KEYPROC_CONFIG_H
#define KEYPROC_CONFIG_H

#include <sys/types.h>
#include <time.h>

#include "config.h"

struct keyproc_reading {
	struct config *cfg;       /* NULL: none */
	struct timespec mtime;    /* the file's, as cfg was read */
	off_t size;
};

struct keyproc_config {
	const char *file;         /* absolute path; NULL: no file (unit tests) */
	struct keyproc_reading cur, prev, edit;
};

/*
 * scepd (re)loaded the file: a reading of it now becomes cur (taken from edit
 * when the file did not change since), cur becomes prev, and edit is dropped.
 * Nothing changes when the file did not change since cur, when it is empty
 * (being rewritten) while cur exists, or when it does not load (a warning).
 * 1 when cur is a new reading, else 0.
 */
int keyproc_config_reload(struct keyproc_config *kc);

/* The file changed since cur and edit were read: it is read again into edit. */
void keyproc_config_peek(struct keyproc_config *kc);

/* The readings held, cur first: fills out[3] and returns how many. */
size_t keyproc_config_readings(const struct keyproc_config *kc, const struct config *out[3]);

/* Frees every reading; kc->file stays. */
void keyproc_config_clear(struct keyproc_config *kc);

#endif
