/* SPDX-License-Identifier: ISC */
/*
 * x509build.h: building blocks shared by everything that makes certificates
 * (the signer issuing for clients, the lab CA and RA creation): the serial
 * number and the digest a CA key signs with.
 */
#ifndef X509BUILD_H
#define X509BUILD_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#define X509BUILD_SERIAL_BYTES 16

/* A random positive serial of exactly 16 octets (RFC 5280 §4.1.2.2). 0 or -1. */
int x509build_random_serial(X509 *x);

/* SHA-256 for RSA and P-256 keys, SHA-384 for P-384, SHA-512 above; NULL for others. */
const EVP_MD *x509build_digest(EVP_PKEY *key);

#endif
