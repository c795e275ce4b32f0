/* SPDX-License-Identifier: ISC */
/*
 * admin.c: the NDES challenge service at /certsrv/mscep_admin/. It owns the
 * four pages (text as real NDES sends it, ndes.md 1.3-1.6, encoded UTF-16LE
 * with a byte-order mark), the sign-in state machine (Basic in one request;
 * NTLM NEGOTIATE -> CHALLENGE -> AUTHENTICATE on one keep-alive connection,
 * under the NTLM or Negotiate scheme, raw or SPNEGO-wrapped; Kerberos under
 * Negotiate, whose tokens it hands to krbauth.c and whose principal it maps
 * to an account or the admin.kerberos_realm rule), the account hashes, and
 * the per-address limit on failed sign-ins. Message parsing is
 * in ntlm.c, spnego.c and httpauth.c; passwords are made by challenge.c and
 * kept by store.c. It holds no key; the CA certificates (the current one and
 * a rollover CA's) are read for their thumbprints only.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "admin.h"
#include "challenge.h"
#include "config.h"
#include "base64.h"
#include "httpauth.h"
#include "httpd.h"
#include "krbauth.h"
#include "log.h"
#include "ntlm.h"
#include "ratelimit.h"
#include "spnego.h"
#include "store.h"
#include "util.h"

#define ADMIN_OP "mscep_admin"
#define ADMIN_RATELIMIT_ENTRIES 4096
#define CT_HTML "text/html"
#define ADMIN_KRB5_RCACHE "admin-krb5.rcache"   /* in state_dir: Kerberos replay cache */

struct admin {
	const struct config *cfg;
	struct store_pool *pool;
	struct ratelimit *limiter;
	int limiter_shared;        /* limiter belongs to the service (admin_share_limiter) */
	char thumbprint[2][36];       /* of each CA generation's certificate */
	size_t n_ca;
	char nb_domain[16], nb_computer[16];
	char dns_domain[256], dns_computer[256];
	char basic_header[320];       /* Basic realm="..." */
	struct krbauth *krb;          /* Kerberos acceptor (admin.keytab), or NULL */
};

/* The sign-in state of one keep-alive connection. */
struct admin_conn {
	int pending;                  /* a CHALLENGE was sent; an AUTHENTICATE may follow */
	enum httpauth_scheme scheme;  /* ... under this scheme */
	int spnego;                   /* ... wrapped in SPNEGO */
	unsigned char challenge[NTLM_CHALLENGE_LEN];
	uint32_t flags;               /* the CHALLENGE's flags */
	char user[STORE_USER_NAME_MAX + 1]; /* signed in with NTLM on this connection */
	struct krbauth_ctx *krb;      /* a GSS-API exchange that continues on this connection */
};

/* --- pages ---------------------------------------------------------------- */

static const char page_head[] =
    "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; charset=UTF-8\">"
    "<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF>"
    "<Font ID=locPageFont Face=\"Arial\"><Table Border=0 CellSpacing=0 CellPadding=4 "
    "Width=100% BgColor=#008080><TR><TD><Font ID=locPageTitleFont Face=\"Arial\" Size=-1 "
    "Color=#FFFFFF><LocID ID=locMSCertSrv>Network Device Enrollment Service</LocID></Font>"
    "</TD></TR></Table><P ID=locPageTitle> Network Device Enrollment Service allows you to "
    "obtain certificates for routers or other network devices using the Simple "
    "Certificate Enrollment Protocol (SCEP). </P>";

static const char page_tail[] =
    "<P ID=locPageDesc> For more information see  "
    "<A HREF=http://go.microsoft.com/fwlink/?LinkId=67852>Using Network Device Enrollment "
    "Service </A>. </P></Font></Body></HTML>";

static const char page_info[] =
    "<P> To complete certificate enrollment for your network device you will need the "
    "following information: <P> The thumbprint (hash value) for the CA certificate is: "
    "<B> %s </B> <P> The enrollment challenge password is: <B> %s </B> ";

static const char page_once[] =
    "<P> This password can be used only once and will expire within %u minutes. "
    "<P> Each enrollment requires a new challenge password. You can refresh this web "
    "page to obtain a new challenge password. </P> ";

static const char page_static[] =
    "<P> This password can be used multiple times and will not expire. </P> ";

static const char page_cache_full[] =
    "<P> The password cache is full. <P> Network Device Enrollment Service stores unused "
    "password for later use. By default, passwords are stored for 60 minutes.<P>Use one "
    "of the existing passwords. If you cannot use an existing password: <UL> <LI> Wait "
    "until one or more existing passwords expire (by default passwords expire 60 minutes "
    "after they are created). </LI> <LI> Restart Internet Information Services (IIS). "
    "</LI> <LI> Configure the service to cache more than 5 passwords. </LI> </UL> </P> ";

static const char page_permission[] =
    "<P> You do not have sufficient permission to enroll with SCEP.  Please contact your "
    "system administrator. </P> ";

/*
 * s with & < > " ' as HTML character references (malloc'd): a static password
 * is the administrator's text and must not become markup on the page.
 */
static char *html_escape(const char *s)
{
	size_t n = 1, i;
	char *out, *p;

	for (i = 0; s[i] != '\0'; i++)
		n += strchr("&<>\"'", s[i]) != NULL ? 6 : 1;
	out = p = xmalloc(n);
	for (i = 0; s[i] != '\0'; i++) {
		switch (s[i]) {
		case '&': memcpy(p, "&amp;", 5); p += 5; break;
		case '<': memcpy(p, "&lt;", 4); p += 4; break;
		case '>': memcpy(p, "&gt;", 4); p += 4; break;
		case '"': memcpy(p, "&quot;", 6); p += 6; break;
		case '\'': memcpy(p, "&#39;", 5); p += 5; break;
		default: *p++ = s[i]; break;
		}
	}
	*p = '\0';
	return out;
}

char *admin_page_text(enum admin_page which, const char *thumbprint, const char *password,
    unsigned validity_minutes)
{
	char *info = NULL, *once = NULL, *text = NULL, *shown = NULL;

	switch (which) {
	case ADMIN_PAGE_PASSWORD:
		shown = html_escape(password);
		info = xasprintf(page_info, thumbprint, shown);
		once = xasprintf(page_once, validity_minutes);
		text = xasprintf("%s%s%s%s", page_head, info, once, page_tail);
		break;
	case ADMIN_PAGE_STATIC:
		shown = html_escape(password);
		info = xasprintf(page_info, thumbprint, shown);
		text = xasprintf("%s%s%s%s", page_head, info, page_static, page_tail);
		break;
	case ADMIN_PAGE_CACHE_FULL:
		text = xasprintf("%s%s%s", page_head, page_cache_full, page_tail);
		break;
	case ADMIN_PAGE_PERMISSION:
		text = xasprintf("%s%s%s", page_head, page_permission, page_tail);
		break;
	}
	if (info != NULL)
		OPENSSL_clear_free(info, strlen(info));
	if (shown != NULL)
		OPENSSL_clear_free(shown, strlen(shown));
	free(once);
	return text;
}

unsigned char *admin_page_bytes(enum admin_page which, const char *thumbprint,
    const char *password, unsigned validity_minutes, size_t *len)
{
	char *text = admin_page_text(which, thumbprint, password, validity_minutes);
	unsigned char *u16 = NULL, *out = NULL;
	size_t n = 0;

	*len = 0;
	if (text == NULL || (u16 = ntlm_utf16le(text, strlen(text), &n)) == NULL)
		goto out;
	out = xmalloc(n + 2);
	out[0] = 0xff;
	out[1] = 0xfe;
	memcpy(out + 2, u16, n);
	*len = n + 2;
out:
	if (u16 != NULL)
		OPENSSL_clear_free(u16, n);
	if (text != NULL)
		OPENSSL_clear_free(text, strlen(text));
	return out;
}

int admin_thumbprint(X509 *cert, char out[36])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33];
	int n, result = -1;

	out[0] = '\0';
	if ((n = i2d_X509(cert, &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)n, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
		goto out;
	hex_encode(md, 16, hex, 1);
	snprintf(out, 36, "%.8s %.8s %.8s %.8s", hex, hex + 8, hex + 16, hex + 24);
	result = 0;
out:
	OPENSSL_free(der);
	return result;
}

/* --- accounts ------------------------------------------------------------- */

int admin_valid_user_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > STORE_USER_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && strchr("._-@", name[i]) == NULL)
			return 0;
	return 1;
}

static int basic_hash(const char *password, const unsigned char salt[16], unsigned iterations,
    unsigned char out[32])
{
	if (iterations < 1000 || iterations > 10000000)
		return -1;
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, 16, (int)iterations,
	    EVP_sha256(), 32, out) == 1 ? 0 : -1;
}

int admin_user_set_password(struct store_user *u, const char *password, int with_nt_hash)
{
	if (RAND_bytes(u->basic_salt, sizeof(u->basic_salt)) != 1)
		return -1;
	u->basic_iterations = ADMIN_PBKDF2_ITERATIONS;
	if (basic_hash(password, u->basic_salt, u->basic_iterations, u->basic_hash) != 0)
		return -1;
	u->has_nt_hash = 0;
	memset(u->nt_hash, 0, sizeof(u->nt_hash));
	if (with_nt_hash) {
		if (ntlm_nt_hash(password, u->nt_hash) != 0)
			return -1;
		u->has_nt_hash = 1;
	}
	return 0;
}

int admin_check_basic(const struct store_user *u, const char *password)
{
	unsigned char h[32];
	int result;

	if (basic_hash(password, u->basic_salt, u->basic_iterations, h) != 0)
		return -1;
	result = CRYPTO_memcmp(h, u->basic_hash, sizeof(h)) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	return result;
}

/*
 * Finds the account a sign-in names: the name as given, else without a
 * "DOMAIN\" prefix or an "@domain" suffix. STORE_OK, STORE_NOT_FOUND or STORE_ERROR.
 */
static enum store_rc find_user(struct store *st, const char *given, struct store_user *u)
{
	const char *p = strrchr(given, '\\');
	char local[STORE_USER_NAME_MAX + 1];
	const char *at;
	enum store_rc rc;

	if (p != NULL)
		given = p + 1;
	if (!admin_valid_user_name(given))
		return STORE_NOT_FOUND;
	if ((rc = store_user_get(st, given, u)) != STORE_NOT_FOUND)
		return rc;
	if ((at = strchr(given, '@')) == NULL || (size_t)(at - given) > STORE_USER_NAME_MAX)
		return STORE_NOT_FOUND;
	snprintf(local, sizeof(local), "%.*s", (int)(at - given), given);
	if (!admin_valid_user_name(local))
		return STORE_NOT_FOUND;
	return store_user_get(st, local, u);
}

/* --- set-up ---------------------------------------------------------------- */

struct admin *admin_new(const struct config *cfg, X509 *const ca_certs[], size_t n_ca,
    struct store_pool *pool, char *err, size_t errlen)
{
	struct admin *a = xcalloc(1, sizeof(*a)), *result = NULL;
	char host[256], why[400], *rcache = NULL;
	const char *dot;
	size_t i;

	a->cfg = cfg;
	a->pool = pool;
	if (n_ca < 1 || n_ca > 2) {
		snprintf(err, errlen, "admin_new: %zu CA generations", n_ca);
		goto out;
	}
	for (i = 0; i < n_ca; i++) {
		if (admin_thumbprint(ca_certs[i], a->thumbprint[i]) != 0) {
			snprintf(err, errlen, "cannot compute the CA certificate's MD5 thumbprint");
			goto out;
		}
	}
	a->n_ca = n_ca;
	if ((a->limiter = ratelimit_new(cfg->admin_max_failures, cfg->admin_failure_window,
	    ADMIN_RATELIMIT_ENTRIES)) == NULL) {
		snprintf(err, errlen, "cannot create the sign-in rate limiter");
		goto out;
	}
	if (cfg->admin_hostname != NULL && cfg->admin_hostname[0] != '\0')
		snprintf(host, sizeof(host), "%s", cfg->admin_hostname);
	else if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "scepd");
	host[sizeof(host) - 1] = '\0';
	snprintf(a->dns_computer, sizeof(a->dns_computer), "%s", host);
	dot = strchr(host, '.');
	for (i = 0; host[i] != '\0' && host + i != dot && i < 15; i++)
		a->nb_computer[i] = (char)toupper((unsigned char)host[i]);
	for (i = 0; cfg->admin_domain[i] != '\0' && i < 15; i++)
		a->nb_domain[i] = (char)toupper((unsigned char)cfg->admin_domain[i]);
	if (dot != NULL && dot[1] != '\0')
		snprintf(a->dns_domain, sizeof(a->dns_domain), "%s", dot + 1);
	else
		for (i = 0; cfg->admin_domain[i] != '\0' && i < sizeof(a->dns_domain) - 1; i++)
			a->dns_domain[i] = (char)tolower((unsigned char)cfg->admin_domain[i]);
	snprintf(a->basic_header, sizeof(a->basic_header), "Basic realm=\"%s\"", cfg->admin_realm);
	if (cfg->admin_keytab != NULL) {
		rcache = xasprintf("%s/%s", cfg->state_dir, ADMIN_KRB5_RCACHE);
		if ((a->krb = krbauth_new(cfg->admin_keytab, rcache, why, sizeof(why))) == NULL) {
			errorf(err, errlen, "admin.keytab %s: %s", cfg->admin_keytab, why);
			goto out;
		}
	}
	result = a;
	a = NULL;
out:
	free(rcache);
	admin_free(a);
	return result;
}

void admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (!a->limiter_shared)
		ratelimit_free(a->limiter);
	krbauth_free(a->krb);
	free(a);
}

void admin_share_limiter(struct admin *a, struct ratelimit *rl)
{
	if (!a->limiter_shared)
		ratelimit_free(a->limiter);
	a->limiter = rl;
	a->limiter_shared = 1;
}

/* 1 when rest is "", "/" or "/mscep.dll" (any case), what follows an admin folder. */
static int admin_tail(const char *rest)
{
	return *rest == '\0' || strcmp(rest, "/") == 0 || strcasecmp(rest, "/mscep.dll") == 0;
}

int admin_is_path(const char *path)
{
	static const char base[] = "/certsrv/mscep_admin";
	size_t n = sizeof(base) - 1;

	if (strncasecmp(path, base, n) != 0)
		return 0;
	return admin_tail(path + n);
}

int admin_is_profile_path(const char *path, const char *base)
{
	static const char folder[] = "/mscep_admin";
	size_t n;

	if (base == NULL)
		return 0;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (strncmp(path, base, n) != 0 ||
	    strncasecmp(path + n, folder, sizeof(folder) - 1) != 0)
		return 0;
	return admin_tail(path + n + sizeof(folder) - 1);
}

/* --- answers -------------------------------------------------------------- */

struct admin_req {
	struct admin *a;
	const struct http_request *req;
	struct http_response *resp;
	struct admin_conn *conn;
	const char *thumbprint;       /* of the CA current now */
	const char *user;             /* signed-in account, for the log */
	const char *profile;          /* whose passwords the page hands out */
	struct challenge_mode mode;   /* and that profile's challenge mode */
};

static void log_admin(struct admin_req *r, int status, int event, const char *reason)
{
	log_request(&(struct log_request){ .client = r->req->client_addr, .user = r->user,
	    .operation = ADMIN_OP, .status = status, .event = event, .reason = reason });
	/* the access log's cs-username, as IIS writes the signed-in account */
	if (r->user != NULL && r->resp->log_user == NULL)
		r->resp->log_user = xstrdup(r->user);
}

/* 401 with the schemes offered, or with one scheme's next token. */
static void unauthorized(struct admin_req *r, const char *token_header, int failed,
    const char *reason)
{
	unsigned blocked = 0;

	if (failed)
		blocked = ratelimit_fail(r->a->limiter, r->req->client_addr, now_seconds());
	log_admin(r, 401, NDES_EVENT_NONE, reason);
	httpd_text(r->resp, 401, "401 - Unauthorized: Access is denied due to invalid "
	    "credentials.");
	if (token_header != NULL) {
		httpd_add_header(r->resp, "WWW-Authenticate", token_header);
		return;
	}
	/* Negotiate first, then NTLM, as IIS orders its Windows authentication providers. */
	if (r->a->cfg->admin_ntlm || r->a->krb != NULL)
		httpd_add_header(r->resp, "WWW-Authenticate", "Negotiate");
	if (r->a->cfg->admin_ntlm)
		httpd_add_header(r->resp, "WWW-Authenticate", "NTLM");
	if (r->a->cfg->admin_basic)
		httpd_add_header(r->resp, "WWW-Authenticate", r->a->basic_header);
	if (blocked > 0)
		log_msg(LOG_WARNING, "client=%s too many failed sign-ins: blocked for %u s",
		    r->req->client_addr, blocked);
}

static void send_page(struct admin_req *r, enum admin_page which, const char *password,
    int event, const char *reason)
{
	const struct config *cfg = r->a->cfg;

	r->resp->status = 200;
	r->resp->content_type = CT_HTML;
	r->resp->body = admin_page_bytes(which, r->thumbprint, password,
	    cfg->password_validity, &r->resp->body_len);
	if (r->resp->body == NULL) {
		log_admin(r, 500, NDES_EVENT_INFO, "the page could not be encoded");
		httpd_text(r->resp, 500, "the page could not be encoded");
		return;
	}
	log_admin(r, 200, event, reason);
}

/* The page for a signed-in name: with enroll, a password; without, the permission page. */
static void hand_out(struct admin_req *r, struct store *st, int enroll)
{
	const struct config *cfg = r->a->cfg;
	char password[2 * 32 + 1];

	if (!enroll) {
		send_page(r, ADMIN_PAGE_PERMISSION, NULL, NDES_EVENT_NO_PASSWORD,
		    "the account has no enroll right: sent the insufficient-permission page");
		return;
	}
	if (r->mode.use_single_password) {
		send_page(r, ADMIN_PAGE_STATIC, r->mode.single_password, NDES_EVENT_NONE,
		    "sent the static password (UseSinglePassword)");
		return;
	}
	switch (challenge_new(cfg, st, r->profile, now_seconds(), password, sizeof(password))) {
	case STORE_OK:
		send_page(r, ADMIN_PAGE_PASSWORD, password, NDES_EVENT_NONE,
		    "sent a one-time password");
		break;
	case STORE_CACHE_FULL:
		send_page(r, ADMIN_PAGE_CACHE_FULL, NULL, NDES_EVENT_NONE,
		    "the password cache is full (PasswordMax unused passwords)");
		break;
	default:
		log_admin(r, 500, NDES_EVENT_INFO, store_errmsg(st));
		httpd_text(r->resp, 500, "the store is not available");
		break;
	}
	OPENSSL_cleanse(password, sizeof(password));
}

/* The page for a signed-in account: password, static password, cache full or permission. */
static void serve_page(struct admin_req *r, struct store *st, const char *name)
{
	struct store_user u;
	enum store_rc rc;

	r->user = name;
	if ((rc = store_user_get(st, name, &u)) != STORE_OK) {
		if (rc == STORE_NOT_FOUND) {
			r->user = NULL;
			unauthorized(r, NULL, 1, "the account was deleted");
		} else {
			log_admin(r, 500, NDES_EVENT_INFO, store_errmsg(st));
			httpd_text(r->resp, 500, "the store is not available");
		}
		return;
	}
	hand_out(r, st, u.enroll);
	OPENSSL_cleanse(&u, sizeof(u));
}

static void basic_signin(struct admin_req *r, struct store *st, const struct httpauth *h)
{
	static const unsigned char dummy_salt[16];
	struct store_user u;
	unsigned char dummy[32];
	enum store_rc rc;
	int good = 0;

	if (!r->a->cfg->admin_basic) {
		unauthorized(r, NULL, 0, "Basic sign-in is not enabled (admin.basic)");
		return;
	}
	rc = find_user(st, h->user, &u);
	if (rc == STORE_ERROR) {
		log_admin(r, 500, NDES_EVENT_INFO, store_errmsg(st));
		httpd_text(r->resp, 500, "the store is not available");
		return;
	}
	if (rc == STORE_OK)
		good = admin_check_basic(&u, h->password) == 1;
	else    /* the same work for an unknown name, so timing does not tell */
		basic_hash(h->password, dummy_salt, ADMIN_PBKDF2_ITERATIONS, dummy);
	if (!good) {
		unauthorized(r, NULL, 1, rc == STORE_OK ? "Basic sign-in: wrong password" :
		    "Basic sign-in: unknown account");
		OPENSSL_cleanse(&u, sizeof(u));
		return;
	}
	serve_page(r, st, u.name);
	OPENSSL_cleanse(&u, sizeof(u));
}

/* WWW-Authenticate value "<scheme> <base64 token>", wrapped in SPNEGO when asked. */
static char *token_header(enum httpauth_scheme scheme, int spnego, int neg_state, int with_mech,
    const unsigned char *tok, size_t tok_len)
{
	unsigned char *wrapped = NULL;
	char *b64 = NULL, *value = NULL;
	size_t wlen = 0;

	if (spnego) {
		if ((wrapped = spnego_build_resp(neg_state, with_mech, tok, tok_len, &wlen)) == NULL)
			goto out;
		tok = wrapped;
		tok_len = wlen;
	}
	if ((b64 = base64_encode(tok, tok_len)) == NULL)
		goto out;
	value = xasprintf("%s %s", scheme == HTTPAUTH_NTLM ? "NTLM" : "Negotiate", b64);
out:
	free(wrapped);
	free(b64);
	return value;
}

static void conn_reset(struct admin_conn *c)
{
	c->pending = 0;
	OPENSSL_cleanse(c->challenge, sizeof(c->challenge));
	c->flags = 0;
}

static void ntlm_negotiate(struct admin_req *r, enum httpauth_scheme scheme, int spnego,
    int first_spnego, const unsigned char *tok, size_t len)
{
	struct ntlm_target t = { r->a->nb_domain, r->a->nb_computer, r->a->dns_domain,
		r->a->dns_computer };
	struct admin_conn *c = r->conn;
	unsigned char *msg = NULL;
	char err[256], *hdr = NULL;
	uint32_t client_flags;
	size_t mlen = 0;

	conn_reset(c);
	if (ntlm_parse_negotiate(tok, len, &client_flags, err, sizeof(err)) != 0) {
		unauthorized(r, NULL, 1, err);
		return;
	}
	if (RAND_bytes(c->challenge, sizeof(c->challenge)) != 1 ||
	    (msg = ntlm_build_challenge(client_flags, c->challenge, &t, &mlen, &c->flags)) == NULL ||
	    (hdr = token_header(scheme, spnego, SPNEGO_ACCEPT_INCOMPLETE, first_spnego, msg,
	    mlen)) == NULL) {
		conn_reset(c);
		log_admin(r, 500, NDES_EVENT_NONE, "cannot build the NTLM challenge");
		httpd_text(r->resp, 500, "cannot build the NTLM challenge");
		goto out;
	}
	c->pending = 1;
	c->scheme = scheme;
	c->spnego = spnego;
	unauthorized(r, hdr, 0, "NTLM challenge sent");
out:
	free(hdr);
	free(msg);
}

static void ntlm_authenticate(struct admin_req *r, struct store *st, enum httpauth_scheme scheme,
    int spnego, const unsigned char *tok, size_t len)
{
	struct admin_conn *c = r->conn;
	struct ntlm_auth *na = NULL;
	struct store_user u;
	unsigned char challenge[NTLM_CHALLENGE_LEN];
	char err[2 * NTLM_MAX_NAME + 128], *hdr = NULL;
	enum store_rc rc;
	uint32_t flags = c->flags;
	int good = 0;

	memset(&u, 0, sizeof(u));
	if (!c->pending || c->scheme != scheme || c->spnego != spnego) {
		conn_reset(c);
		unauthorized(r, NULL, 0, "NTLM AUTHENTICATE without a CHALLENGE on this connection");
		return;
	}
	/* A challenge answers one AUTHENTICATE only. */
	memcpy(challenge, c->challenge, sizeof(challenge));
	conn_reset(c);
	if ((na = ntlm_parse_authenticate(tok, len, flags, err, sizeof(err))) == NULL) {
		unauthorized(r, NULL, 1, err);
		goto out;
	}
	rc = find_user(st, na->user, &u);
	if (rc == STORE_ERROR) {
		log_admin(r, 500, NDES_EVENT_INFO, store_errmsg(st));
		httpd_text(r->resp, 500, "the store is not available");
		goto out;
	}
	if (rc == STORE_OK && u.has_nt_hash)
		good = ntlm_verify_v2(na, u.nt_hash, challenge) == 1;
	if (!good) {
		snprintf(err, sizeof(err), "NTLM sign-in as %s\\%s failed: %s", na->domain, na->user,
		    rc != STORE_OK ? "unknown account" : !u.has_nt_hash ?
		    "the account has no NT hash (created for Basic only)" : "wrong password");
		unauthorized(r, NULL, 1, err);
		goto out;
	}
	snprintf(c->user, sizeof(c->user), "%s", u.name);
	if (spnego && (hdr = token_header(scheme, 1, SPNEGO_ACCEPT_COMPLETED, 0, NULL, 0)) != NULL)
		httpd_add_header(r->resp, "WWW-Authenticate", hdr);
	serve_page(r, st, c->user);
out:
	OPENSSL_cleanse(challenge, sizeof(challenge));
	OPENSSL_cleanse(&u, sizeof(u));
	ntlm_auth_free(na);
	free(hdr);
}

/* NTLM or Negotiate: unwrap SPNEGO if needed, then step the NTLM handshake. */
static void ntlm_signin(struct admin_req *r, struct store *st, const struct httpauth *h)
{
	const unsigned char *tok = h->token;
	size_t len = h->token_len;
	struct spnego_token sp;
	char err[256], *hdr = NULL;
	int spnego = 0;

	memset(&sp, 0, sizeof(sp));

	if (h->scheme == HTTPAUTH_NEGOTIATE && !ntlm_is_ntlmssp(tok, len)) {
		if (spnego_parse(tok, len, &sp, err, sizeof(err)) != 0) {
			conn_reset(r->conn);
			unauthorized(r, NULL, 1, err);
			return;
		}
		spnego = 1;
		if (sp.kind == SPNEGO_INIT && !sp.ntlm_offered) {
			conn_reset(r->conn);
			unauthorized(r, NULL, 0, r->a->krb != NULL ? "Negotiate offers neither "
			    "NTLM nor Kerberos" : "Negotiate without NTLM (Kerberos needs "
			    "admin.keytab)");
			return;
		}
		if (sp.kind == SPNEGO_INIT && (!sp.ntlm_first || sp.mech_token == NULL)) {
			/* Ask for NTLM: accept-incomplete, supportedMech NTLM, no token. */
			conn_reset(r->conn);
			if ((hdr = token_header(HTTPAUTH_NEGOTIATE, 1, SPNEGO_ACCEPT_INCOMPLETE, 1,
			    NULL, 0)) == NULL) {
				log_admin(r, 500, NDES_EVENT_NONE, "cannot build the SPNEGO answer");
				httpd_text(r->resp, 500, "cannot build the SPNEGO answer");
				return;
			}
			unauthorized(r, hdr, 0, "SPNEGO: asked the client for NTLM");
			free(hdr);
			return;
		}
		tok = sp.mech_token;
		len = sp.mech_token_len;
	}
	switch (ntlm_message_type(tok, len)) {
	case 1:
		/* supportedMech goes in the acceptor's first NegTokenResp only (RFC 4178 4.2.2). */
		ntlm_negotiate(r, h->scheme, spnego, spnego && sp.kind == SPNEGO_INIT, tok, len);
		break;
	case 3:
		ntlm_authenticate(r, st, h->scheme, spnego, tok, len);
		break;
	default:
		conn_reset(r->conn);
		unauthorized(r, NULL, 1, "the token is not an NTLM NEGOTIATE or AUTHENTICATE message");
		break;
	}
}

/*
 * 1 when a Negotiate token is for GSS-API (krbauth.c): a raw Kerberos token;
 * a NegTokenResp continuing a GSS-API exchange on this connection; or a
 * NegTokenInit offering Kerberos where NTLM is not the client's first choice
 * (or is switched off). Everything else is the NTLM path's.
 */
static int for_kerberos(const struct admin_req *r, const struct httpauth *h)
{
	struct spnego_token sp;
	char err[256];

	if (r->a->krb == NULL)
		return 0;
	if (spnego_is_krb5(h->token, h->token_len))
		return 1;
	if (spnego_parse(h->token, h->token_len, &sp, err, sizeof(err)) != 0)
		return 0;
	if (sp.kind == SPNEGO_RESP)
		return r->conn->krb != NULL;
	return sp.krb5_offered && (!sp.ntlm_first || !r->a->cfg->admin_ntlm);
}

/*
 * The account a Kerberos principal signs in as: the account named exactly
 * after it (alice@EXAMPLE.ORG), else, for a principal of admin.kerberos_realm,
 * the principal itself with the enroll right. 1 (name, *enroll set), 0 for
 * none, -1 on a store error.
 */
static int kerberos_account(struct store *st, const struct config *cfg, const char *principal,
    char name[KRBAUTH_MAX_PRINCIPAL], int *enroll)
{
	struct store_user u;
	const char *realm = krbauth_realm(principal);
	enum store_rc rc = STORE_NOT_FOUND;

	if (admin_valid_user_name(principal))
		rc = store_user_get(st, principal, &u);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_OK) {
		snprintf(name, KRBAUTH_MAX_PRINCIPAL, "%s", u.name);
		*enroll = u.enroll;
		OPENSSL_cleanse(&u, sizeof(u));
		return 1;
	}
	if (realm != NULL && cfg->admin_kerberos_realm[0] != '\0' &&
	    strcmp(realm, cfg->admin_kerberos_realm) == 0) {
		snprintf(name, KRBAUTH_MAX_PRINCIPAL, "%s", principal);
		*enroll = 1;
		return 1;
	}
	return 0;
}

/* Negotiate with Kerberos: GSS-API checks the token; the principal is mapped here. */
static void kerberos_signin(struct admin_req *r, struct store *st, const struct httpauth *h)
{
	char err[512], principal[KRBAUTH_MAX_PRINCIPAL], name[KRBAUTH_MAX_PRINCIPAL];
	char *hdr = NULL, *b64 = NULL;
	unsigned char *out = NULL;
	size_t out_len = 0;
	int enroll = 0, found;

	conn_reset(r->conn);
	switch (krbauth_accept(r->a->krb, &r->conn->krb, h->token, h->token_len, &out, &out_len,
	    principal, err, sizeof(err))) {
	case KRBAUTH_FAIL:
		unauthorized(r, NULL, 1, err);
		goto out;
	case KRBAUTH_CONTINUE:
		if ((b64 = base64_encode(out, out_len)) == NULL)
			goto fail;
		hdr = xasprintf("Negotiate %s", b64);
		unauthorized(r, hdr, 0, "Kerberos: SPNEGO continues");
		goto out;
	case KRBAUTH_DONE:
		break;
	}
	if ((found = kerberos_account(st, r->a->cfg, principal, name, &enroll)) < 0) {
		log_admin(r, 500, NDES_EVENT_INFO, store_errmsg(st));
		httpd_text(r->resp, 500, "the store is not available");
		goto out;
	}
	if (found == 0) {
		snprintf(err, sizeof(err), "Kerberos sign-in as %s: no account of that name, and "
		    "its realm is not admin.kerberos_realm", principal);
		unauthorized(r, NULL, 1, err);
		goto out;
	}
	/* The mutual-authentication token (AP-REP in a NegTokenResp) goes with the page. */
	if (out_len > 0) {
		if ((b64 = base64_encode(out, out_len)) == NULL)
			goto fail;
		hdr = xasprintf("Negotiate %s", b64);
		httpd_add_header(r->resp, "WWW-Authenticate", hdr);
	}
	r->user = name;
	hand_out(r, st, enroll);
	goto out;
fail:
	log_admin(r, 500, NDES_EVENT_NONE, "cannot encode the Negotiate token");
	httpd_text(r->resp, 500, "cannot encode the Negotiate token");
out:
	free(out);
	free(b64);
	free(hdr);
}

static void conn_free(void *p)
{
	struct admin_conn *c = p;

	if (c == NULL)
		return;
	krbauth_ctx_free(c->krb);
	OPENSSL_clear_free(c, sizeof(*c));
}

void admin_handle(struct admin *a, size_t gen, const struct http_request *req,
    struct http_response *resp)
{
	struct challenge_mode m = {
		.enforce_password = a->cfg->enforce_password,
		.use_single_password = a->cfg->use_single_password,
		.single_password = a->cfg->single_password,
	};

	admin_handle_profile(a, gen, CHALLENGE_DEFAULT_PROFILE, &m, req, resp);
}

void admin_handle_profile(struct admin *a, size_t gen, const char *profile,
    const struct challenge_mode *mode, const struct http_request *req,
    struct http_response *resp)
{
	struct admin_req r = { a, req, resp, NULL, a->thumbprint[gen < a->n_ca ? gen : 0], NULL,
		profile, *mode };
	struct httpauth h;
	struct store *st = NULL;
	char err[256], retry[32];
	unsigned blocked;
	int krb;

	memset(&h, 0, sizeof(h));
	if (!a->cfg->admin_enabled) {
		log_admin(&r, 404, NDES_EVENT_NONE, "the admin pages are disabled (admin.enabled)");
		httpd_text(resp, 404, "not found");
		return;
	}
	if ((blocked = ratelimit_blocked(a->limiter, req->client_addr, now_seconds())) > 0) {
		snprintf(retry, sizeof(retry), "%u", blocked);
		log_admin(&r, 429, NDES_EVENT_NONE, "too many failed sign-ins from this address "
		    "(admin.max_failures)");
		httpd_text(resp, 429, "too many failed sign-ins; try again in %u seconds", blocked);
		httpd_add_header(resp, "Retry-After", retry);
		return;
	}
	/* GET only: a HEAD would use up a place in the password cache unseen. */
	if (strcmp(req->method, "GET") != 0) {
		log_admin(&r, 405, NDES_EVENT_NONE, "use GET");
		httpd_text(resp, 405, "use GET");
		resp->allow = "GET";
		return;
	}
	if (req->conn->state == NULL) {
		req->conn->state = xcalloc(1, sizeof(struct admin_conn));
		req->conn->state_free = conn_free;
	}
	r.conn = req->conn->state;
	if ((st = store_pool_get(a->pool, err, sizeof(err))) == NULL) {
		log_admin(&r, 500, NDES_EVENT_INFO, err);
		httpd_text(resp, 500, "the store is not available");
		return;
	}
	if (req->authorization == NULL) {
		/* NTLM authenticates the connection: later requests on it need no header. */
		if (r.conn->user[0] != '\0')
			serve_page(&r, st, r.conn->user);
		else
			unauthorized(&r, NULL, 0, "no credentials");
		goto out;
	}
	if (httpauth_parse(req->authorization, strlen(req->authorization), &h, err,
	    sizeof(err)) != 0) {
		unauthorized(&r, NULL, 0, err);
		goto out;
	}
	r.conn->user[0] = '\0';
	krb = h.scheme == HTTPAUTH_NEGOTIATE && for_kerberos(&r, &h);
	if (!krb) {
		/* a GSS-API exchange left half-way ends with any other token */
		krbauth_ctx_free(r.conn->krb);
		r.conn->krb = NULL;
	}
	if (h.scheme == HTTPAUTH_BASIC)
		basic_signin(&r, st, &h);
	else if (krb)
		kerberos_signin(&r, st, &h);
	else if (!a->cfg->admin_ntlm)
		unauthorized(&r, NULL, 0, a->krb != NULL ? "NTLM sign-in is switched off "
		    "(admin.ntlm); only Kerberos is accepted" : "NTLM sign-in is switched off "
		    "(admin.ntlm) and Kerberos is not set up (admin.keytab)");
	else
		ntlm_signin(&r, st, &h);
out:
	httpauth_clear(&h);
	store_pool_put(a->pool, st);
}
