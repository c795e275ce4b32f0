/* SPDX-License-Identifier: ISC */
/*
 * admin.h: the NDES challenge pages at /certsrv/mscep_admin/ (ndes.md 1): the
 * password, static-password, cache-full and insufficient-permission pages with
 * NDES's bytes (UTF-16LE with a byte-order mark), and their sign-in: NTLMv2
 * under the NTLM and Negotiate schemes (raw or SPNEGO-wrapped, bound to the
 * keep-alive connection), Kerberos under Negotiate (admin.keytab, through
 * GSS-API) and, when enabled, Basic, against the accounts in the store
 * (scepctl user add). Failed sign-ins are rate-limited per address.
 * Each profile has the same page at its path + /mscep_admin/, handing out
 * passwords valid on that profile only (as each NDES instance has its own).
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <stddef.h>

#include <openssl/x509.h>

struct config;
struct http_request;
struct http_response;
struct store_pool;
struct store_user;

struct admin;
struct ratelimit;

/*
 * Builds the page state (NTLM target names, and the thumbprint of each CA
 * generation's certificate, ca_certs[0..n_ca), n_ca 1 or 2). NULL with a reason.
 */
struct admin *admin_new(const struct config *cfg, X509 *const ca_certs[], size_t n_ca,
    struct store_pool *pool, char *err, size_t errlen);
void admin_free(struct admin *a);

/*
 * Counts failed sign-ins in rl (not owned; it outlives a) instead of a's own
 * table, so that they survive a reload (the service keeps rl).
 */
void admin_share_limiter(struct admin *a, struct ratelimit *rl);

/*
 * 1 for /certsrv/mscep_admin, /certsrv/mscep_admin/ and
 * /certsrv/mscep_admin/mscep.dll (case-insensitive, as IIS matches).
 */
int admin_is_path(const char *path);

/*
 * 1 for a profile's admin page: base (the profile's path) followed by
 * /mscep_admin, /mscep_admin/ or /mscep_admin/mscep.dll (that part
 * case-insensitive).
 */
int admin_is_profile_path(const char *path, const char *base);

/*
 * Answers one request for an admin path (the page; SCEP operations go to
 * scep.c). gen is the CA generation current now (profiles_current()): the page
 * shows the thumbprint of the CA GetCACert returns.
 */
void admin_handle(struct admin *a, size_t gen, const struct http_request *req,
    struct http_response *resp);

/*
 * The same for the admin page of profile (its name) with its challenge mode:
 * the passwords it hands out are valid on that profile only.
 */
struct challenge_mode;
void admin_handle_profile(struct admin *a, size_t gen, const char *profile,
    const struct challenge_mode *mode, const struct http_request *req,
    struct http_response *resp);

enum admin_page {
	ADMIN_PAGE_PASSWORD,       /* one-time password */
	ADMIN_PAGE_STATIC,         /* UseSinglePassword */
	ADMIN_PAGE_CACHE_FULL,
	ADMIN_PAGE_PERMISSION,
};

/* The page text (ASCII/UTF-8 HTML, NUL-terminated, malloc'd) before encoding. */
char *admin_page_text(enum admin_page which, const char *thumbprint, const char *password,
    unsigned validity_minutes);

/* The page as sent: BOM FF FE and UTF-16LE. malloc'd, NULL for invalid UTF-8. */
unsigned char *admin_page_bytes(enum admin_page which, const char *thumbprint,
    const char *password, unsigned validity_minutes, size_t *len);

/* MD5 of the certificate's DER as four space-separated groups of 8 upper-case hex digits. */
int admin_thumbprint(X509 *cert, char out[36]);

/* 1 when name can be an account: 1..64 of A-Z a-z 0-9 . _ - @, starting alphanumeric. */
int admin_valid_user_name(const char *name);

/*
 * Fills u's Basic hash (new random salt, PBKDF2-HMAC-SHA256) and, when
 * with_nt_hash, its NT hash (needs the legacy provider). 0, or -1.
 */
int admin_user_set_password(struct store_user *u, const char *password, int with_nt_hash);

/* 1 when password matches u's Basic hash (constant time), 0 if not, -1 on error. */
int admin_check_basic(const struct store_user *u, const char *password);

#define ADMIN_PBKDF2_ITERATIONS 100000

#endif
