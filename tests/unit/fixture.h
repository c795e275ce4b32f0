/* SPDX-License-Identifier: ISC */
/*
 * fixture.h: helpers for tests over the client request corpus
 * (tests/data/clients, relative to the top of the tree where tests/run starts
 * every program, or $SCEPD_FIXTURES): list the fixture folders,
 * read a file of one, and pick a value out of its facts.json. Header-only
 * (static functions); include once per test program, after tap.h.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

#define FIXTURE_MAX 64
#define FIXTURE_NAME 128
#define FIXTURE_UNUSED __attribute__((unused))

FIXTURE_UNUSED static const char *fixture_dir(void)
{
	const char *d = getenv("SCEPD_FIXTURES");

	return d != NULL && *d != '\0' ? d : "tests/data/clients";
}

FIXTURE_UNUSED static int fixture_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Fills names with the fixture folders (those holding facts.json), sorted. */
FIXTURE_UNUSED static int fixture_list(char names[][FIXTURE_NAME], int max)
{
	DIR *dir = opendir(fixture_dir());
	struct dirent *de;
	int n = 0;

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL && n < max) {
		char path[1024];
		struct stat st;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= FIXTURE_NAME)
			continue;
		snprintf(path, sizeof(path), "%s/%s/facts.json", fixture_dir(), de->d_name);
		if (stat(path, &st) != 0)
			continue;
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(dir);
	qsort(names, (size_t)n, FIXTURE_NAME, fixture_cmp);
	return n;
}

FIXTURE_UNUSED static void fixture_path(char *buf, size_t len, const char *fixture, const char *file)
{
	if ((size_t)snprintf(buf, len, "%s/%s/%s", fixture_dir(), fixture, file) >= len)
		buf[0] = '\0';	/* too long: a path that does not exist */
}

/* A file of a fixture (fixture NULL: a path under the fixtures folder), or NULL. */
FIXTURE_UNUSED static unsigned char *fixture_read(const char *fixture, const char *file, size_t *len)
{
	char path[1024];

	if (fixture != NULL)
		fixture_path(path, sizeof(path), fixture, file);
	else
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", fixture_dir(), file) >= sizeof(path))
			return NULL;
	return read_file(path, 1 << 20, len);
}

FIXTURE_UNUSED static int fixture_exists(const char *fixture, const char *file)
{
	char path[1024];
	struct stat st;

	fixture_path(path, sizeof(path), fixture, file);
	return stat(path, &st) == 0;
}

/* Skips a JSON string starting at *p (on the quote); returns the char after it. */
FIXTURE_UNUSED static const char *json_skip_string(const char *p)
{
	for (p++; *p != '\0' && *p != '"'; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return *p == '"' ? p + 1 : p;
}

/* Skips one JSON value (string, number, literal, array, object). */
FIXTURE_UNUSED static const char *json_skip_value(const char *p)
{
	int depth = 0;

	if (*p == '"')
		return json_skip_string(p);
	if (*p != '{' && *p != '[') {
		while (*p != '\0' && *p != ',' && *p != '}' && *p != ']' && *p != '\n')
			p++;
		return p;
	}
	for (; *p != '\0'; ) {
		if (*p == '"') {
			p = json_skip_string(p);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		p++;
		if (depth == 0)
			break;
	}
	return p;
}

/* In the object starting at obj ('{'), the value of member key, or NULL. */
FIXTURE_UNUSED static const char *json_member(const char *obj, const char *key)
{
	const char *p = obj;
	size_t klen = strlen(key);

	if (p == NULL || *p != '{')
		return NULL;
	for (p++; *p != '\0' && *p != '}'; ) {
		const char *name, *end;

		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ',')
			p++;
		if (*p != '"')
			return NULL;
		name = p + 1;
		end = json_skip_string(p);
		p = end;
		while (*p == ' ' || *p == ':')
			p++;
		if ((size_t)(end - 1 - name) == klen && memcmp(name, key, klen) == 0)
			return p;
		p = json_skip_value(p);
		while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
			p++;
	}
	return NULL;
}

/*
 * facts_get(json, "pki_message", "transaction_id"): the member of a top-level
 * section (section NULL: of the top level). A string comes back unquoted and
 * unescaped, anything else as its raw JSON text. malloc'd, or NULL.
 */
FIXTURE_UNUSED static char *facts_get(const char *json, const char *section, const char *key)
{
	const char *v = json, *end;
	char *out, *o;

	while (v != NULL && *v != '\0' && *v != '{')
		v++;
	if (section != NULL)
		v = json_member(v, section);
	v = json_member(v, key);
	if (v == NULL)
		return NULL;
	end = json_skip_value(v);
	if ((out = malloc((size_t)(end - v) + 1)) == NULL)
		return NULL;
	if (*v != '"') {
		memcpy(out, v, (size_t)(end - v));
		out[end - v] = '\0';
		return out;
	}
	for (o = out, v++; v < end - 1; v++) {
		if (*v == '\\' && v + 1 < end - 1)
			v++;
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

/* Number of times needle occurs in s. */
FIXTURE_UNUSED static int count_substr(const char *s, const char *needle)
{
	int n = 0;

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

#endif
