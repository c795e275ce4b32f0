/* SPDX-License-Identifier: ISC */
/*
 * labca.h: creates the key material of a state folder for `scepctl init`: a CA
 * (or an imported one) and the two NDES-style RA certificates issued by it;
 * and renews those RA certificates for `scepctl ra renew`. Never overwrites an
 * existing file: a renewal keeps the previous files under another name.
 */
#ifndef LABCA_H
#define LABCA_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

struct labca_options {
	const char *dir;            /* state folder; files are written inside it */
	const char *ca_key_spec;    /* "rsa:2048" (default), "rsa:3072", "rsa:4096", "ec:p256", "ec:p384",
	                             * or a PKCS#11 URI: the key in a token (made there, RSA-2048,
	                             * when the token has no such object); no ca.key is written */
	const char *ra_key_uri;     /* NULL, or a PKCS#11 URI: one token key (made when absent)
	                             * for both RA certificates; no RA key files are written */
	const char *ca_subject;     /* e.g. "/CN=scepd Lab CA/O=scepd"; default "CN=scepd Lab CA,O=scepd" */
	const char *import_cert;    /* use this CA certificate (PEM) instead of creating one ... */
	const char *import_key;     /* ... with this key (PEM); both or neither */
	const char *ra_name;        /* CN prefix of the RA certificates; default: host name + "-MSCEP-RA" */
	unsigned ca_days;           /* default 3650 */
	unsigned ra_days;           /* default 730 */
};

/*
 * Writes dir/ca.crt, dir/ca.key (copied when imported), dir/ra-sign.crt,
 * dir/ra-sign.key (RSA-2048, KU digitalSignature critical, EKU
 * 1.3.6.1.4.1.311.20.2.1) and dir/ra-enc.crt, dir/ra-enc.key (RSA-2048, KU
 * keyEncipherment critical, same EKU), keys mode 0600, certificates PEM.
 * Fails without writing anything when any of these files exists already.
 * Returns 0 or -1 with a reason in err.
 */
int labca_create(const struct labca_options *opt, char *err, size_t errlen);

/* What `scepctl ca rollover` makes: the next CA (and RA) beside the current one. */
struct labca_rollover {
	const char *ca_cert;          /* the current CA certificate: its subject is reused */
	const char *ra_sign_cert;     /* the current RA signing certificate (its subject is
	                               * reused), or NULL when the CA acts as RA */
	const char *next_cert, *next_key;          /* files to write */
	const char *next_ra_sign_cert, *next_ra_sign_key;
	const char *next_ra_enc_cert, *next_ra_enc_key;
	const char *ca_key_spec;      /* as labca_options; default "rsa:2048" */
	int64_t starts;               /* notBefore of everything made: the switch-over */
	unsigned ca_days, ra_days;    /* defaults 3650 and 730 */
};

/*
 * Writes a new self-signed CA certificate with the current CA's subject and a
 * new key, valid from opt->starts, and, when the current CA has an RA, new RA
 * signing and encryption certificates issued by it with the current RA's
 * subject. Fails without writing anything when a file exists already.
 */
int labca_rollover(const struct labca_rollover *opt, char *err, size_t errlen);

/* What `scepctl ra renew` works on: the files named by the configuration. */
struct labca_renew_options {
	const char *ca_cert, *ca_key;   /* issuing CA */
	const char *sign_cert, *sign_key; /* RA signing pair, replaced */
	const char *enc_cert, *enc_key;   /* RA encryption pair, replaced (may equal the signing pair) */
	unsigned days;                  /* validity; default 730, never past the CA's notAfter */
	const char *prev_suffix;        /* the replaced files are kept under name + suffix */
};

/*
 * Issues new RA certificates from the CA: same subjects as the current ones,
 * new RSA keys of the same size (at least 2048 bits), key usage and EKU as
 * labca_create() makes them (one certificate with both key usages when the
 * signing and encryption files are the same). The current files are kept as
 * name + prev_suffix (hard links) and the new ones take their names, with the
 * owner, group and mode of the files they replace. Refuses when a
 * name + prev_suffix file exists already (an earlier generation is still
 * kept). Returns 0 or -1 with a reason in err; on failure nothing is replaced.
 */
int labca_ra_renew(const struct labca_renew_options *o, char *err, size_t errlen);
/* The default RA name: the host name (first label) + "-MSCEP-RA", as NDES names it. */
char *labca_default_ra_name(void);

/*
 * A self-signed end-entity certificate (CA:FALSE) for key with subject CN=cn,
 * keyUsage ku and extendedKeyUsage eku (OpenSSL extension texts; eku may be
 * NULL), valid for days: scepd's identity while it enrolls with an upstream,
 * and its RA certificates when the upstream cannot issue them.
 */
X509 *labca_self_signed(EVP_PKEY *key, const char *cn, const char *ku, const char *eku,
    unsigned days, char *err, size_t errlen);

/*
 * Writes the files of a forwarding state folder (scepctl init --upstream):
 * dir/ca.crt (the upstream CA), dir/ra-sign.crt, dir/ra-sign.key,
 * dir/ra-enc.crt, dir/ra-enc.key; keys mode 0600. Nothing is written when one
 * exists; what was written is removed when a later write fails. 0 or -1.
 */
int labca_write_forward(const char *dir, X509 *ca, X509 *ra_sign, EVP_PKEY *sign_key,
    X509 *ra_enc, EVP_PKEY *enc_key, char *err, size_t errlen);

/* Parses a subject given as "CN=x,O=y" or "/CN=x/O=y"; NULL on a syntax error. */
X509_NAME *labca_parse_subject(const char *text);

#endif
