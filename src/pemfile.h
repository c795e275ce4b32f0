/* SPDX-License-Identifier: ISC */
/*
 * pemfile.h: the one place certificate and key files are read: PEM, a size
 * ceiling, never a passphrase prompt (scepd runs unattended), key buffers wiped.
 */
#ifndef PEMFILE_H
#define PEMFILE_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define PEMFILE_MAX (1024 * 1024)

/* The first certificate of a PEM file of certificates (pemfile_certs), or NULL with a reason. */
X509 *pemfile_cert(const char *path, char *err, size_t errlen);

/* Every certificate of a PEM file in file order, at least one; NULL with a reason. */
STACK_OF(X509) *pemfile_certs(const char *path, char *err, size_t errlen);

/*
 * A CA certificate file (ca.cert, ca.next_cert, an imported CA): the CA, then
 * its issuers in order up to the root, each issued by the next
 * (x509util_issuers_check); NULL with a reason naming the file.
 */
STACK_OF(X509) *pemfile_ca_chain(const char *path, char *err, size_t errlen);

/*
 * An unencrypted PEM private key. With private_only, refuses a file that is not
 * a regular file or that group or others may access (STYLE.md 15). NULL with a
 * reason on failure.
 */
EVP_PKEY *pemfile_key(const char *path, int private_only, char *err, size_t errlen);

/*
 * The bytes of a private key file, checked as pemfile_key(..., 1, ...) checks
 * it, on the descriptor it reads from: for keys handed on as PEM text (the TLS
 * key, which GnuTLS parses). NUL-terminated beyond *len; the caller wipes and
 * frees it with OPENSSL_clear_free(buf, *len + 1). NULL with a reason.
 */
unsigned char *pemfile_read_key(const char *path, size_t *len, char *err, size_t errlen);

/*
 * Reads a secret file (a shared secret, not PEM) whole, refusing one that is
 * not a regular file or that group or others may access, or larger than
 * PEMFILE_MAX. NUL-terminated beyond *len; wipe it (OPENSSL_clear_free).
 */
unsigned char *pemfile_read_secret(const char *path, size_t *len, char *err, size_t errlen);

#endif
