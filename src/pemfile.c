/* SPDX-License-Identifier: ISC */
/* pemfile.c: reads PEM certificates and keys from files; see pemfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pemfile.h"
#include "util.h"
#include "x509util.h"

/* Reads a whole file of at most PEMFILE_MAX bytes, checking the mode when asked. */
static unsigned char *read_pem(const char *path, int private_only, size_t *len,
    char *err, size_t errlen)
{
	unsigned char *result = NULL;
	struct stat sb;
	int fd;

	/* Keys: one open, then fstat of that descriptor (no check-then-open race); a
	 * FIFO must not block the open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | (private_only ? O_NONBLOCK : 0))) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (private_only && !S_ISREG(sb.st_mode)) {
		errorf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (private_only && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		errorf(err, errlen, "%s: key file is accessible by group or others (mode %04o); "
		    "chmod 600 it", path, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	if ((result = read_fd(fd, &sb, PEMFILE_MAX, len)) == NULL)
		errorf(err, errlen, "%s: %s", path, errno == EFBIG ? "file too large" :
		    errno == EIO ? "short read" : strerror(errno));
out:
	close(fd);
	return result;
}

unsigned char *pemfile_read_secret(const char *path, size_t *len, char *err, size_t errlen)
{
	return read_pem(path, 1, len, err, errlen);
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

unsigned char *pemfile_read_key(const char *path, size_t *len, char *err, size_t errlen)
{
	return read_pem(path, 1, len, err, errlen);
}

X509 *pemfile_cert(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = pemfile_certs(path, err, errlen);
	X509 *cert = certs != NULL ? sk_X509_shift(certs) : NULL;

	sk_X509_pop_free(certs, X509_free);
	return cert;
}

STACK_OF(X509) *pemfile_certs(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL, *result = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *cert = NULL;
	char ebuf[256];

	if ((buf = read_pem(path, 0, &len, err, errlen)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL || (certs = sk_X509_new_null()) == NULL) {
		errorf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	ERR_clear_error();   /* the loop's end is told by the error it leaves */
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, cert) == 0) {
			errorf(err, errlen, "%s: out of memory", path);
			goto out;
		}
		cert = NULL;
	}
	/* The loop ends on the end of the file (no PEM start line) or on a bad block. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    sk_X509_num(certs) == 0) {
		errorf(err, errlen, "%s: not a PEM certificate, or a bad one among them (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	ERR_clear_error();
	result = certs;
	certs = NULL;
out:
	X509_free(cert);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(bio);
	free(buf);
	return result;
}

STACK_OF(X509) *pemfile_ca_chain(const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = pemfile_certs(path, err, errlen);

	if (certs != NULL && x509util_issuers_check(certs, path, err, errlen) == -1) {
		sk_X509_pop_free(certs, X509_free);
		certs = NULL;
	}
	return certs;
}

EVP_PKEY *pemfile_key(const char *path, int private_only, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	char ebuf[256];

	if ((buf = read_pem(path, private_only, &len, err, errlen)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL)
		errorf(err, errlen, "%s: not an unencrypted PEM private key (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
out:
	BIO_free(bio);
	if (buf != NULL)
		OPENSSL_clear_free(buf, len + 1);
	return key;
}
