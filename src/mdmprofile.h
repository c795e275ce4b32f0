/* SPDX-License-Identifier: ISC */
/*
 * mdmprofile.h: `scepctl profile apple|intune`: what an MDM needs to point
 * devices at this server, from its configuration and CA certificate: an Apple
 * configuration profile (.mobileconfig) with a SCEP payload, and the values of
 * an Intune SCEP certificate profile.
 */
#ifndef MDMPROFILE_H
#define MDMPROFILE_H

#include <stddef.h>
#include <stdio.h>
#include <openssl/x509.h>

struct config;

/* What goes into an Apple SCEP payload. */
struct mdmprofile_apple {
	const char *url;          /* the SCEP URL devices use */
	const char *challenge;    /* NULL: none */
	const X509_NAME *subject; /* the subject devices request */
	X509 *ca;                 /* its SHA-1 fingerprint is CAFingerprint */
	unsigned key_size;        /* RSA bits */
	unsigned key_usage;       /* Apple's bits: 1 signing, 4 encryption */
};

/*
 * Writes the configuration profile (XML plist) to out. 0, or -1 with the
 * reason in err.
 */
int mdmprofile_apple_write(FILE *out, const struct mdmprofile_apple *a, char *err,
    size_t errlen);

/*
 * Runs `profile ARGS` (argv[0] is "apple" or "intune"). Returns the exit
 * status: 0, 1 failed (reason on stderr), 2 usage error.
 */
int mdmprofile_run(const struct config *cfg, int argc, char **argv);

#endif
