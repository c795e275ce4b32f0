/* SPDX-License-Identifier: ISC */
/*
 * pkcs11.h: private keys in a PKCS#11 token, through libp11 (OpenSC). A parsed
 * RFC 7512 URI names the module, the token and the key object; this opens the
 * module once per process, logs in once per token, and hands back an EVP_PKEY
 * whose private operations run in the token (OpenSSL's RSA and EC methods of
 * libp11). libp11 0.4.12 keeps a pool of up to 16 sessions per slot behind a
 * mutex, so one key may be used by every request thread at once.
 */
#ifndef PKCS11_H
#define PKCS11_H

#include <stddef.h>
#include <openssl/evp.h>

struct pkcs11uri;

/*
 * The private key the URI names: module from module-path, token by its
 * token/manufacturer/serial/model and slot attributes, key by object label
 * and/or id (exactly one private key must match). The PIN comes from
 * pin-value, or pin-source (a file path, "file:" allowed; mode 0600). NULL with
 * a reason (never the PIN) in err.
 */
EVP_PKEY *pkcs11_key_load(const struct pkcs11uri *u, char *err, size_t errlen);

/*
 * Makes sure the token the URI names holds a private key labelled with the
 * URI's object: when there is none, generates a key pair (spec "rsa:BITS",
 * 2048 to 8192; with the URI's id when given) and sets *made. 0, or -1 with a
 * reason.
 */
int pkcs11_key_generate(const struct pkcs11uri *u, const char *spec, int *made, char *err,
    size_t errlen);

/*
 * One private-key operation with every token key handed out: 0 when all
 * work; -1 with a reason when one fails, or when token keys were loaded once
 * and none is loaded now (after pkcs11_retire and a load that failed).
 */
int pkcs11_probe(char *err, size_t errlen);

/* 1 once a token key was loaded in this process. */
int pkcs11_in_use(void);

/*
 * After a token error: the modules loaded so far are set aside (not freed:
 * keys of the serving configuration may still point into them), so that the
 * next pkcs11_key_load() opens the module afresh and finds its objects anew.
 */
void pkcs11_retire(void);

/*
 * Frees every module, retired ones too (at exit, or in a program that has
 * freed every key it loaded).
 */
void pkcs11_reset(void);

#endif
