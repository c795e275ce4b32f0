/* SPDX-License-Identifier: ISC */
/*
 * util.c: allocation wrappers that abort on out-of-memory (the daemon's single
 * out-of-memory policy; parsers use plain malloc and return NULL), OpenSSL error
 * text, hex, constant-time comparison, whole-file reads and the clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "util.h"

static void oom(void)
{
	fputs("scepd: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}

char *ossl_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t used = 0;
	const char *lib, *reason;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		lib = ERR_lib_error_string(e);
		reason = ERR_reason_error_string(e);
		if (used < len) {
			int n = snprintf(buf + used, len - used, "%s%s:%s", used ? "; " : "",
			    lib ? lib : "?", reason ? reason : "?");
			if (n > 0)
				used += (size_t)n;
		}
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "no OpenSSL detail");
	return buf;
}

void errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *hex_encode(const unsigned char *in, size_t len, char *out, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return out;
}

int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hex_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hex_value((unsigned char)in[2 * i])) < 0 ||
		    (lo = hex_value((unsigned char)in[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

unsigned char *read_fd(int fd, const struct stat *sb, size_t max, size_t *len)
{
	unsigned char *buf = NULL, *result = NULL;
	size_t got = 0, size;
	ssize_t n;
	int saved;

	if (sb->st_size < 0 || (size_t)sb->st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	size = (size_t)sb->st_size;
	buf = xmalloc(size + 1);
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	result = buf;
	buf = NULL;
out:
	saved = errno;
	if (buf != NULL)
		OPENSSL_clear_free(buf, size + 1);
	errno = saved;
	return result;
}

unsigned char *read_file(const char *path, size_t max, size_t *len)
{
	unsigned char *result = NULL;
	struct stat sb;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &sb) == 0)
		result = read_fd(fd, &sb, max, len);
	saved = errno;
	close(fd);
	errno = saved;
	return result;
}

int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

int64_t now_millis(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (int64_t)time(NULL) * 1000;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int e;

	if ((e = pthread_condattr_init(&attr)) != 0)
		return e;
	if ((e = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		e = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return e;
}

void monotonic_deadline(struct timespec *until, long long us)
{
	long long ns;

	(void)clock_gettime(CLOCK_MONOTONIC, until);
	ns = until->tv_nsec + us % 1000000 * 1000;
	until->tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
	until->tv_nsec = (long)(ns % 1000000000);
}
