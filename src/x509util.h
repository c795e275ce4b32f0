/* SPDX-License-Identifier: ISC */
/*
 * x509util.h: the small facts every module reads off certificates, each
 * computed in one place: an ASN1_TIME as seconds since the epoch, a serial
 * number as the upper-case hex the store keeps, and the SHA-256 of a
 * SubjectPublicKeyInfo (how requests, certificates and signers are matched),
 * a name as one line of text, the public key of a SubjectPublicKeyInfo, key
 * usage bits by their RFC 5280 names.
 * Pure functions: no files, no globals; what they return allocated says so.
 */
#ifndef X509UTIL_H
#define X509UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

/* Longest serial x509util_serial_hex writes, with sign and NUL (RFC 5280: 20 octets; some CAs use more). */
#define X509UTIL_SERIAL_HEX_MAX 80

/*
 * t (UTCTime or GeneralizedTime) as seconds since 1970-01-01T00:00:00Z into
 * *out, without the time zone or the range of time_t. 0, or -1 when t is NULL
 * or not a valid time.
 */
int x509util_time_seconds(const ASN1_TIME *t, int64_t *out);

/*
 * serial as upper-case hex, two digits per octet without leading zero octets
 * ("0" for zero, a '-' before a negative one): the form BN_bn2hex() gives and
 * the store keeps. 0, or -1 when out (outlen bytes) is too small.
 */
int x509util_serial_hex(const ASN1_INTEGER *serial, char *out, size_t outlen);

/* x509util_serial_hex of cert's serial number. */
int x509util_cert_serial_hex(const X509 *cert, char *out, size_t outlen);

/*
 * The keyUsage bits ku (OpenSSL's X509v3_KU_* values) as their RFC 5280 names,
 * ", "-separated ("digitalSignature, keyEncipherment"; "none" for 0; an unknown
 * bit as hex). Cut to fit out (outlen bytes); returns out.
 */
const char *x509util_key_usage_names(unsigned ku, char *out, size_t outlen);

/* SHA-256 of the DER of a SubjectPublicKeyInfo (a certificate's or a CSR's). 0 or -1. */
int x509util_spki_sha256(const X509_PUBKEY *spki, unsigned char out[32]);

/*
 * The public key of spki (free with EVP_PKEY_free), or NULL when it cannot be
 * read. An RSA key (rsaEncryption) is read from its RSAPublicKey directly, in
 * about a microsecond; other types go through OpenSSL's decoders (about
 * 100 us in OpenSSL 3.0). Works on values from der_decode_keyless().
 */
EVP_PKEY *x509util_spki_key(const X509_PUBKEY *spki);

/* x509util_spki_key of a DER SubjectPublicKeyInfo of exactly len bytes, or NULL. */
EVP_PKEY *x509util_spki_der_key(const unsigned char *der, size_t len);

/*
 * A copy of cert that carries its public key (X509_get0_pubkey() works) for
 * OpenSSL functions that take the key from a certificate (CMS signer and
 * recipient), made without the decoder chain; cert may be decoded key-less.
 * Setting the key marks the copy modified: its DER is re-made, so never
 * compare, verify or store it. NULL when the key cannot be read.
 */
X509 *x509util_keyed_copy(X509 *cert);

/*
 * A copy of cert with its public key decoded (OpenSSL's decoder chain, about
 * 100 us), for X509_verify_cert(), which needs the key of every certificate
 * of the chain; cert may be decoded key-less. NULL on error.
 */
X509 *x509util_decoded_copy(X509 *cert);

/*
 * Checks that certs is a CA certificate followed by its issuers, each
 * certificate issued by the one after it (names, key identifiers and key
 * usage, as X509_check_issued() compares them), up to the root if it is
 * there: the order GetCACert sends them in. 0, or -1 with a reason naming
 * the 1-based position that is out of place (what names the file).
 */
int x509util_issuers_check(STACK_OF(X509) *certs, const char *what, char *err, size_t errlen);

/* name as RFC 2253 text with UTF-8 kept as is; malloc'd, or NULL (no memory). */
char *x509util_name_text(const X509_NAME *name);

#endif
