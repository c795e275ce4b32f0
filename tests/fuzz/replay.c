/* SPDX-License-Identifier: ISC */
/*
 * replay.c: runs a fuzz target without a fuzzing engine (STYLE.md 18). Linked
 * with one tests/fuzz/fuzz_*.c, it calls LLVMFuzzerTestOneInput() on every
 * file of a corpus directory, then on truncations and single-bit flips of each
 * file (OpenSSH test_helper/fuzz.c does the same), and prints TAP:
 *
 *   tests/fuzz/fuzz_pkimsg tests/fuzz/corpus/pkimsg
 *
 * A crash or a sanitizer report ends the program with a non-zero status,
 * which tests/run counts as a failure. The number of runs per target is
 * bounded (REPLAY_BUDGET, about 20000; the environment variable of that name
 * overrides it): every truncation and every bit flip when a file is small,
 * evenly spread lengths and positions when it is not.
 *
 * With libFuzzer instead (clang; the fuzz_*.c files have no main()):
 *
 *   make clean && make CC=clang \
 *       CFLAGS_USER="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" src/libscepd.a
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -Isrc \
 *       tests/fuzz/fuzz_pkimsg.c src/libscepd.a -lcrypto -o /tmp/fuzz_pkimsg
 *   mkdir -p /tmp/corpus-pkimsg
 *   /tmp/fuzz_pkimsg -max_total_time=600 /tmp/corpus-pkimsg tests/fuzz/corpus/pkimsg
 *
 * (the same for fuzz_envelope, fuzz_csr and fuzz_message; add the other
 * libraries of config.mk's LIBS_EXT if the linker asks for them). New inputs
 * land in /tmp/corpus-pkimsg; copy the interesting ones, and any crash-*
 * file, into tests/fuzz/corpus/pkimsg/ with a name that says what they are.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_BUDGET 20000
#define REPLAY_MAX_FILES 256
#define REPLAY_MAX_SIZE (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tap_n;

/* Runs the target on a private, exactly sized copy, so ASan sees overreads. */
static void run(const unsigned char *data, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (copy == NULL) {
		printf("Bail out! out of memory\n");
		exit(2);
	}
	if (len > 0)
		memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	struct stat st;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= REPLAY_MAX_SIZE &&
	    (buf = malloc((size_t)st.st_size + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)st.st_size, f);
		if (*len != (size_t)st.st_size) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Truncations: every length 0..len-1, or evenly spread ones (always len-1). */
static size_t truncations(const unsigned char *data, size_t len, size_t budget)
{
	size_t i, runs = 0;

	if (len == 0)
		return 0;
	if (len <= budget) {
		for (i = 0; i < len; i++, runs++)
			run(data, i);
		return runs;
	}
	for (i = 0; i < budget - 1; i++, runs++)
		run(data, i * len / (budget - 1));
	run(data, len - 1);
	return runs + 1;
}

/* Single-bit flips: every bit, or evenly spread bytes with the bit rotating. */
static size_t bit_flips(const unsigned char *data, size_t len, size_t budget)
{
	unsigned char *copy;
	size_t i, runs = 0, bits = len * 8;

	if (len == 0)
		return 0;
	if ((copy = malloc(len)) == NULL) {
		printf("Bail out! out of memory\n");
		exit(2);
	}
	memcpy(copy, data, len);
	for (i = 0; i < (bits <= budget ? bits : budget); i++, runs++) {
		size_t byte = bits <= budget ? i / 8 : i * len / budget;
		unsigned char mask = (unsigned char)(1u << (i % 8));

		copy[byte] ^= mask;
		run(copy, len);
		copy[byte] ^= mask;
	}
	free(copy);
	return runs;
}

int main(int argc, char **argv)
{
	char *names[REPLAY_MAX_FILES];
	size_t budget = REPLAY_BUDGET, per_file;
	const char *env = getenv("REPLAY_BUDGET");
	struct dirent *de;
	DIR *dir;
	int i, n = 0, failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIRECTORY\n", argv[0]);
		return 2;
	}
	if (env != NULL && atol(env) > 0)
		budget = (size_t)atol(env);
	if ((dir = opendir(argv[1])) == NULL) {
		printf("not ok 1 - corpus directory %s cannot be opened\n1..1\n", argv[1]);
		return 1;
	}
	while ((de = readdir(dir)) != NULL && n < REPLAY_MAX_FILES) {
		if (de->d_name[0] == '.')
			continue;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			printf("Bail out! out of memory\n");
			return 2;
		}
		n++;
	}
	closedir(dir);
	if (n == 0) {
		printf("not ok 1 - corpus directory %s is empty\n1..1\n", argv[1]);
		return 1;
	}
	qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
	per_file = budget / (size_t)n;
	if (per_file < 3)
		per_file = 3;

	for (i = 0; i < n; i++) {
		char path[4096];
		unsigned char *data;
		size_t len = 0, runs;

		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		if ((data = slurp(path, &len)) == NULL) {
			printf("not ok %d - corpus %s cannot be read\n", ++tap_n, names[i]);
			failed++;
			free(names[i]);
			continue;
		}
		run(data, len);
		printf("ok %d - corpus %s (%zu bytes)\n", ++tap_n, names[i], len);
		fflush(stdout);
		runs = truncations(data, len, per_file / 3);
		printf("ok %d - truncations of %s (%zu runs)\n", ++tap_n, names[i], runs);
		fflush(stdout);
		runs = bit_flips(data, len, per_file - per_file / 3);
		printf("ok %d - bit flips of %s (%zu runs)\n", ++tap_n, names[i], runs);
		fflush(stdout);
		free(data);
		free(names[i]);
	}
	printf("1..%d\n", tap_n);
	return failed ? 1 : 0;
}
