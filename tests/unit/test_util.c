/* SPDX-License-Identifier: ISC */
/*
 * test_util.c: the shared helpers of src/util.c and src/base64.c that
 * several modules lean on: hex_decode (the twin of hex_encode), read_file
 * and read_fd (size ceiling, empty files, a file that is not there), and the
 * base64 core both decoders share (base64_decode_bits) with the strict
 * base64_decode around it; monotonic_deadline and cond_init_monotonic, which
 * every bounded wait uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "tap.h"
#include "util.h"

static void test_hex(void)
{
	static const unsigned char bytes[] = { 0x00, 0x7f, 0x80, 0xab, 0xff };
	unsigned char out[8];
	char hex[16];

	hex_encode(bytes, sizeof(bytes), hex, 1);
	ok(hex_decode(hex, strlen(hex), out) == 0 && memcmp(out, bytes, sizeof(bytes)) == 0,
	    "hex_decode(hex_encode(x)) is x (upper case)");
	hex_encode(bytes, sizeof(bytes), hex, 0);
	ok(hex_decode(hex, strlen(hex), out) == 0 && memcmp(out, bytes, sizeof(bytes)) == 0,
	    "and lower case");
	ok(hex_decode("", 0, out) == 0, "empty: nothing to do");
	ok(hex_decode("abc", 3, out) == -1, "odd length: -1");
	ok(hex_decode("0g", 2, out) == -1, "'g': -1");
	ok(hex_decode("0 ", 2, out) == -1, "' ': -1");
	ok(hex_decode("+1", 2, out) == -1, "'+': -1");
}

static void test_read(void)
{
	char dir[] = "tests/tmp/test_util.XXXXXX", path[128];
	unsigned char *b;
	struct stat sb;
	size_t len = 99;
	FILE *f;
	int fd;

	if (mkdir("tests/tmp", 0755) != 0 && errno != EEXIST) {
		ok(0, "tests/tmp: %s", strerror(errno));
		return;
	}
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	f = fopen(path, "w");
	fputs("hello", f);
	fclose(f);
	b = read_file(path, 5, &len);
	ok(b != NULL && len == 5 && memcmp(b, "hello", 6) == 0, "read_file: the bytes, NUL after");
	free(b);
	b = NULL;
	errno = 0;
	ok(read_file(path, 4, &len) == NULL && errno == EFBIG, "read_file: over max: EFBIG");
	fd = open(path, O_RDONLY);
	ok(fd >= 0 && fstat(fd, &sb) == 0 && (b = read_fd(fd, &sb, 64, &len)) != NULL &&
	    len == 5, "read_fd: an open file after its fstat");
	free(b);
	if (fd >= 0)
		close(fd);
	f = fopen(path, "w");
	fclose(f);
	b = read_file(path, 5, &len);
	ok(b != NULL && len == 0 && b[0] == '\0', "read_file: an empty file is an empty buffer");
	free(b);
	unlink(path);
	errno = 0;
	ok(read_file(path, 5, &len) == NULL && errno == ENOENT, "read_file: missing: ENOENT");
	rmdir(dir);
}

static void test_base64(void)
{
	static const struct {
		const char *in;
		const char *out;
		unsigned spare;
	} v[] = {
		{ "", "", 0 }, { "Zg", "f", 0 }, { "Zm8", "fo", 0 }, { "Zm9v", "foo", 0 },
		{ "Zm9vYg", "foob", 0 }, { "Zh", "f", 1 }, { "Zm9", "fo", 1 },
	};
	unsigned char out[16];
	unsigned spare;
	size_t i, n;
	long o;
	unsigned char *d;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		o = base64_decode_bits(v[i].in, strlen(v[i].in), out, &spare);
		ok(o == (long)strlen(v[i].out) && memcmp(out, v[i].out, (size_t)o) == 0 &&
		    (spare != 0) == (v[i].spare != 0), "base64_decode_bits(\"%s\")", v[i].in);
	}
	ok(base64_decode_bits("Zm=v", 4, out, &spare) == -1, "'=' inside: -1");
	ok(base64_decode_bits("Zm-v", 4, out, &spare) == -1, "'-' (URL-safe) is not standard: -1");
	d = base64_decode("Zm9vYg==", 8, &n);
	ok(d != NULL && n == 4 && memcmp(d, "foob", 5) == 0, "base64_decode: padded");
	free(d);
	ok(base64_decode("Zh==", 4, &n) == NULL, "base64_decode: non-zero padding bits refused");
	ok(base64_decode("Zm9=", 4, &n) == NULL, "base64_decode: \"Zm9=\" (bits set) refused");
	ok(base64_decode("Zg=a", 4, &n) == NULL, "base64_decode: '=' before data refused");
	ok(base64_decode("Zg", 2, &n) == NULL, "base64_decode: unpadded refused");
	ok(base64_decode("====", 4, &n) == NULL, "base64_decode: only padding refused");
}

/* Nanoseconds from a to b. */
static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

static void test_deadline(void)
{
	static const long long us[] = { 0, 250000, 999999, 1000000, 5000000, 2500001 };
	struct timespec before, until, after;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	long long d;
	int ok_all = 1;

	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		clock_gettime(CLOCK_MONOTONIC, &before);
		monotonic_deadline(&until, us[i]);
		clock_gettime(CLOCK_MONOTONIC, &after);
		d = us[i] * 1000;
		if (until.tv_nsec < 0 || until.tv_nsec >= 1000000000L ||
		    ns_between(&before, &until) < d || ns_between(&after, &until) > d) {
			ok_all = 0;
			printf("# %lld us: %lld.%09ld\n", us[i], (long long)until.tv_sec, until.tv_nsec);
		}
	}
	ok(ok_all, "monotonic_deadline: now plus the delay, nanoseconds below one second");
	is_int(cond_init_monotonic(&cv), 0, "cond_init_monotonic");
	monotonic_deadline(&until, 20000);
	pthread_mutex_lock(&mu);
	is_int(pthread_cond_timedwait(&cv, &mu, &until), ETIMEDOUT,
	    "  a timed wait on it ends at a monotonic deadline");
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
}

int main(void)
{
	test_hex();
	test_read();
	test_base64();
	test_deadline();
	return done_testing();
}
