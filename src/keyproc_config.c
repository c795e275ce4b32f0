/* SPDX-License-Identifier: ISC */
/*
 * keyproc_config.c: the signer process's readings of the configuration file
 * (keyproc_config.h). Owns the rules for when the file is read again and
 * which reading a new one replaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "keyproc_config.h"
#include "log.h"

/* 1 when r was read from the file as sb describes it now. */
static int matches_file(const struct keyproc_reading *r, const struct stat *sb)
{
	return r->cfg != NULL && sb->st_size == r->size && sb->st_mtim.tv_sec == r->mtime.tv_sec &&
	    sb->st_mtim.tv_nsec == r->mtime.tv_nsec;
}

static void reading_clear(struct keyproc_reading *r)
{
	config_free(r->cfg);
	r->cfg = NULL;
}

/*
 * Reads the file, as sb describes it, into r. 0, or -1 leaving r as it was:
 * the file does not load (a warning), or it is empty while a reading exists
 * (cp and many editors truncate it first: read now, it would load as every
 * default and push out a real reading).
 */
static int read_into(const struct keyproc_config *kc, const struct stat *sb,
    struct keyproc_reading *r)
{
	struct config *cfg;
	FILE *errs;
	char *text = NULL;
	size_t text_len = 0;

	if (kc->cur.cfg != NULL && sb->st_size == 0)
		return -1;
	/* its errors go to memory: the signer process writes no file (scepd reported them) */
	if ((errs = open_memstream(&text, &text_len)) == NULL)
		return -1;
	cfg = config_load(kc->file, errs);
	fclose(errs);
	if (cfg == NULL) {
		log_msg(LOG_WARNING, "signer process: %s does not load (%.300s); keeping the "
		    "templates read before", kc->file, text != NULL ? text : "");
		free(text);
		return -1;
	}
	free(text);
	reading_clear(r);
	r->cfg = cfg;
	r->mtime = sb->st_mtim;
	r->size = sb->st_size;
	return 0;
}

int keyproc_config_reload(struct keyproc_config *kc)
{
	struct keyproc_reading fresh = { 0 };
	struct stat sb;

	if (kc->file == NULL || stat(kc->file, &sb) != 0)
		return 0;
	if (matches_file(&kc->cur, &sb)) {
		reading_clear(&kc->edit);
		return 0;
	}
	if (matches_file(&kc->edit, &sb)) {
		fresh = kc->edit;
		kc->edit.cfg = NULL;
	} else if (read_into(kc, &sb, &fresh) != 0) {
		return 0;
	}
	reading_clear(&kc->prev);
	kc->prev = kc->cur;
	kc->cur = fresh;
	reading_clear(&kc->edit);
	return 1;
}

void keyproc_config_peek(struct keyproc_config *kc)
{
	struct stat sb;

	if (kc->file == NULL || stat(kc->file, &sb) != 0)
		return;
	if (kc->cur.cfg == NULL) {
		/* nothing read yet (the supervisor's reading failed): this is the first */
		keyproc_config_reload(kc);
		return;
	}
	if (matches_file(&kc->cur, &sb) || matches_file(&kc->edit, &sb))
		return;
	(void)read_into(kc, &sb, &kc->edit);
}

size_t keyproc_config_readings(const struct keyproc_config *kc, const struct config *out[3])
{
	size_t n = 0;

	if (kc->cur.cfg != NULL)
		out[n++] = kc->cur.cfg;
	if (kc->prev.cfg != NULL)
		out[n++] = kc->prev.cfg;
	if (kc->edit.cfg != NULL)
		out[n++] = kc->edit.cfg;
	return n;
}

void keyproc_config_clear(struct keyproc_config *kc)
{
	reading_clear(&kc->cur);
	reading_clear(&kc->prev);
	reading_clear(&kc->edit);
}
