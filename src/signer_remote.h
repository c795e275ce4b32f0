/* SPDX-License-Identifier: ISC */
/*
 * signer_remote.h: the network process's side of the signer process. A struct
 * signer loaded while signer_use_keyproc() is in force holds certificates only
 * and forwards every private-key operation here, which turns it into a typed
 * keyproc message (keyproc_proto.h): never "sign these bytes".
 */
#ifndef SIGNER_REMOTE_H
#define SIGNER_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "signer.h"

struct keyproc;
struct signer_remote;

/*
 * From now on signer_load() and signer_load_files() in this process load
 * certificates only and hand key operations to kp (NULL: back to in-process
 * keys). Set once at start-up, before any request thread runs.
 */
void signer_use_keyproc(struct keyproc *kp);

/* SHA-256 over the DER of the CA, RA signing and RA encryption certificates of s. */
int signer_certs_digest(const struct signer *s, unsigned char out[32]);

/* Asks the signer process to load and check the identity f; NULL with a reason. */
struct signer_remote *signer_remote_open(struct keyproc *kp, const struct signer_files *f,
    int allow_des, const unsigned char digest[32], char *err, size_t errlen);
void signer_remote_free(struct signer_remote *r);

/* The signer.h operations, over the socket; same contracts. */
int signer_remote_decrypt(const struct signer_remote *r, const unsigned char *env,
    size_t envlen, int allow_des, unsigned char **out, size_t *outlen, const char **matched,
    char *err, size_t errlen);
X509 *signer_remote_issue(const struct signer_remote *r, const struct issue_request *req,
    char *err, size_t errlen);
unsigned char *signer_remote_sign_message(const struct signer_remote *r, int md_nid,
    const unsigned char *econtent, size_t econtent_len,
    const STACK_OF(X509_ATTRIBUTE) *attrs, size_t *outlen, char *err, size_t errlen);
unsigned char *signer_remote_sign_as_ca(const struct signer_remote *r,
    const unsigned char *content, size_t content_len, size_t *outlen, char *err,
    size_t errlen);
unsigned char *signer_remote_sign_crl(const struct signer_remote *r,
    const struct signer_crl_entry *entries, size_t n, int64_t number, int64_t this_update,
    int64_t next_update, size_t *outlen, char *err, size_t errlen);

/*
 * The start of every error when no signer process worker answered (it died
 * and is being restarted): scepd answers such a request with HTTP 503.
 */
#define SIGNER_REMOTE_UNAVAILABLE "the signer process is not available"
int signer_remote_unavailable(const char *err);

/* The names signer_decrypt reports in *matched, by their wire index (1..3). */
const char *signer_remote_matched_name(uint32_t i);
uint32_t signer_remote_matched_index(const char *name);

/* The wire code (enum keyproc_attr) of a SCEP attribute's NID, and back; 0 / NID_undef. */
int signer_remote_attr_code(int nid);
int signer_remote_attr_nid(int code);

#endif
