/* SPDX-License-Identifier: ISC */
/*
 * util.h: the few helpers every module uses: allocation that aborts on
 * out-of-memory (never used inside parsers, which return NULL instead), the
 * OpenSSL error queue as text, hex, constant-time comparison, whole-file reads,
 * the clock and monotonic deadlines.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <sys/stat.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Drains the OpenSSL error queue of this thread into buf as "lib:reason; ...",
 * or "no OpenSSL detail" when it is empty. Returns buf.
 */
char *ossl_errors(char *buf, size_t len);

/*
 * Formats a message into err (nothing when err is NULL or errlen is 0): the
 * way every module reports why it failed to its caller.
 */
void errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lower/upper-case hex of len bytes into out (2*len+1 bytes). Returns out. */
char *hex_encode(const unsigned char *in, size_t len, char *out, int upper);

/* The value of hex digit c (either case), or -1. */
int hex_value(int c);

/*
 * Decodes len hex digits (either case) into out (len / 2 bytes). 0, or -1 for
 * an odd length or a character that is not a hex digit.
 */
int hex_decode(const char *in, size_t len, unsigned char *out);

/* 1 when the two strings are equal; time depends only on the lengths. */
int secret_equal(const char *a, const char *b);

/*
 * Reads a whole file of at most max bytes. Returns a malloc'd buffer (NUL
 * terminated beyond *len) or NULL with errno set (EFBIG when too large).
 */
unsigned char *read_file(const char *path, size_t max, size_t *len);

/*
 * The body of read_file() for a file already open as fd, sb its fstat(): for
 * callers that check the file (its type, its mode) before reading it. What was
 * read is wiped when it fails (EFBIG, EIO for a file that shrank, read errors).
 */
unsigned char *read_fd(int fd, const struct stat *sb, size_t max, size_t *len);

/* Wall clock in seconds; the single place the daemon asks for the time. */
int64_t now_seconds(void);
/* Wall clock in milliseconds since the epoch (lab recordings' timing). */
int64_t now_millis(void);
/* CLOCK_MONOTONIC in milliseconds, for time limits and waits. */
int64_t monotonic_millis(void);

/* A condition variable whose timed waits use CLOCK_MONOTONIC. 0 or an errno value. */
int cond_init_monotonic(pthread_cond_t *cond);
/* The CLOCK_MONOTONIC time us (>= 0) microseconds from now, for such a timed wait. */
void monotonic_deadline(struct timespec *until, long long us);

#endif
