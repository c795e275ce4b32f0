/* SPDX-License-Identifier: ISC */
/*
 * profile.h: the SCEP endpoints as scepd serves them, built once at start-up
 * from the configuration and then read-only: the default profile (the
 * top-level settings, at the NDES and RFC paths) and one per profiles entry,
 * each with its challenge mode, templates chosen by key usage, approval and
 * renewal rules, algorithm allow-lists, signers and the name of its CA backend; and the CA generations
 * (the CA in ca.cert, and the rollover CA of ca.next_cert when its file
 * exists, current from its notBefore on). Every response that does not depend
 * on the request (GetCACaps, GetCACert, GetNextCACert) is built here for both
 * generations, so the switch-over needs no restart.
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#include "challenge.h"

struct config;
struct policy;
struct policy_template;
struct signer;

/* Allow-list bits. */
#define PROFILE_MD_MD5 0x01u
#define PROFILE_MD_SHA1 0x02u
#define PROFILE_MD_SHA224 0x04u
#define PROFILE_MD_SHA256 0x08u
#define PROFILE_MD_SHA384 0x10u
#define PROFILE_MD_SHA512 0x20u
#define PROFILE_CIPHER_DES 0x01u
#define PROFILE_CIPHER_DES3 0x02u
#define PROFILE_CIPHER_AES128 0x04u
#define PROFILE_CIPHER_AES192 0x08u
#define PROFILE_CIPHER_AES256 0x10u
#define PROFILE_KT_RSA 0x01u
#define PROFILE_KT_OAEP 0x02u

/* One CA: [0] the configured one, [1] the rollover CA. */
struct profile_gen {
	struct signer *signer;     /* CA with the default RA */
	int64_t starts;            /* current from then on (0 for [0]) */
	char key_id[41];           /* of the CA key: certificates and CRLs are filed under it */
	int legacy;                /* [0]: certificates recorded without an issuer are its */
	char *crl_path;            /* HTTP path of its CRL, or NULL */
	char *crl_url;             /* CRL distribution point of what it issues, or NULL */
	STACK_OF(X509) *issuers;   /* the CA's issuers after it in its file, up to the root */
};

struct profile {
	char *name;                /* "default" or the profile's name */
	char *path;                /* NULL for the default (built-in paths) */
	char *backend;             /* name of the CA backend that issues ("default": backend { }) */
	struct challenge_mode challenge;
	const struct policy_template *tmpl[3];  /* by enum policy_usage */
	int approval, renewal, renewal_challenge;
	unsigned digests, ciphers, transports;
	struct signer *signer[2];  /* by generation; [1] NULL without a rollover CA */
	int own_signer;            /* signer[0] is this profile's own RA (freed with it), and
	                            * signer[1] too after a switch-over */
	/* Responses while generation g is current. */
	char *caps[2];
	size_t caps_len[2];
	unsigned char *cacert[2];
	size_t cacert_len[2];
	const char *cacert_type[2];
	STACK_OF(X509) *certrep_extra[2];
};

struct profiles {
	struct profile_gen gen[2];
	size_t n_gen;
	struct profile *p;         /* [0] is the default profile */
	size_t n;
	unsigned char *next_ca;    /* GetNextCACert body (before the switch-over), or NULL */
	size_t next_ca_len;
};

struct profiles *profiles_new(const struct config *cfg, const struct policy *policy,
    char *err, size_t errlen);
void profiles_free(struct profiles *ps);

/* The generation current at now: 1 once the rollover CA's time has come. */
size_t profiles_current(const struct profiles *ps, int64_t now);

/*
 * The profile serving path: the default one for the NDES and RFC paths (with
 * or without /pkiclient.exe, case-insensitively as IIS), a profile's own path
 * likewise, or NULL. *ndes is set for the NDES paths (/certsrv/mscep...).
 */
const struct profile *profiles_match(const struct profiles *ps, const char *path, int *ndes);

/* The profile called name, or NULL. */
const struct profile *profiles_find(const struct profiles *ps, const char *name);

#endif
