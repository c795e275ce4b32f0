/* SPDX-License-Identifier: ISC */
/*
 * config.c: scepd.conf (libconfig syntax) into one immutable struct config.
 * The schema table below is the only list of settings: it gives each one its
 * path, type, range, default, description and struct field, and drives
 * defaults, parsing, range checks, unknown-key detection, `scepd -T` output,
 * comparison and the man-page cross-check. Parsing is a pure function of the
 * text (plain malloc, errors collected and returned, no exit); only
 * config_load() touches the file system, to read the file once.
 * This file names key files and the database but never opens them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <regex.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "store.h"
#include "lab.h"
#include "pkcs11uri.h"
#include "util.h"

/* A configuration file larger than this is refused unread. */
#define CONFIG_MAX_FILE (1024 * 1024)

enum cf_type {
	CF_BOOL,	/* int 0/1: true or false */
	CF_UINT,	/* unsigned: integer in min..max */
	CF_SIZE,	/* size_t: integer in min..max */
	CF_STRING,	/* char *: any text, may be empty */
	CF_WORD,	/* char *: one of choices */
	CF_DIR,		/* char *: state directory, relative to the file's directory */
	CF_PATH,	/* char *: file, relative to state_dir */
	CF_LISTEN,	/* struct config_listen[]: list of "HOST:PORT" / "[V6]:PORT" */
	CF_WORDS,	/* char *[]: list of choices, no duplicates; without choices any strings */
	CF_OIDS,	/* char *[]: list of OpenSSL object names or dotted OIDs */
	CF_KEYUSAGE,	/* unsigned X509v3_KU_* mask: list of key usage names */
	CF_NETS		/* struct config_net[]: list of "ADDRESS" / "ADDRESS/PREFIX" */
};

/* The C type of the struct field behind each setting type (checked at compile time). */
#define CF_CTYPE_CF_BOOL int
#define CF_CTYPE_CF_UINT unsigned
#define CF_CTYPE_CF_SIZE size_t
#define CF_CTYPE_CF_STRING char *
#define CF_CTYPE_CF_WORD char *
#define CF_CTYPE_CF_DIR char *
#define CF_CTYPE_CF_PATH char *
#define CF_CTYPE_CF_LISTEN struct config_listen *
#define CF_CTYPE_CF_WORDS char **
#define CF_CTYPE_CF_OIDS char **
#define CF_CTYPE_CF_KEYUSAGE unsigned
#define CF_CTYPE_CF_NETS struct config_net *

struct cf_setting {
	const char *path;	/* "http.max_body"; "group.name" or "name" */
	enum cf_type type;
	size_t off;		/* offsetof the field in struct config */
	size_t count_off;	/* lists except CF_KEYUSAGE: offsetof the size_t count */
	size_t max_items;	/* lists: capacity of the field */
	long long min, max;	/* numbers: range; lists: min = fewest entries */
	long long def_num;	/* numbers and booleans */
	const char *def_str;	/* strings; NULL leaves the field NULL */
	const char *const *def_list;	/* lists, NULL terminated */
	const char *const *choices;	/* CF_WORD, CF_WORDS: allowed values */
	int secret;		/* wiped before it is freed */
	int required;		/* list elements: must be given */
	const char *inherit;	/* list elements: default is this top-level setting's value */
	const char *desc;	/* one line, printed by config_print */
};

struct cf_group {
	const char *name;
	int all_or_none;	/* absent, or every setting in it given */
	const char *desc;
};

static const struct cf_group cf_groups[] = {
	{ "http", 0, "HTTP listener and request limits." },
	{ "tls", 0, "HTTPS listeners (libmicrohttpd with GnuTLS); no client certificate is "
	    "ever requested." },
	{ "ca", 0, "The issuing CA certificate and its key." },
	{ "ra", 1, "RA certificates and keys (as NDES has a signing and an encryption "
	    "certificate); when the group is absent the CA acts as RA." },
	{ "signer", 0, "The signer process: the only one that loads the CA and RA keys." },
	{ "pkcs11", 0, "Keys in a PKCS#11 token: any key setting above (and a profile's "
	    "ra_sign_key, ra_enc_key) may be an RFC 7512 URI such as "
	    "\"pkcs11:token=scepd;object=ca-key\"; these settings fill in what the URI "
	    "leaves out." },
	{ "scep", 0, "SCEP protocol: capabilities announced and algorithms accepted." },
	{ "challenge", 0, "Challenge passwords, with the NDES (MSCEP registry) names." },
	{ "admin", 0, "The NDES challenge pages /certsrv/mscep_admin/ and their sign-in "
	    "(accounts: scepctl user add)." },
	{ "certificate", 0, "The certificate template \"default\": what the certificates issued "
	    "may contain and which requests it accepts." },
	{ "renewal", 0, "Renewal: RenewalReq, and PKCSReq signed by a certificate this CA issued." },
	{ "crl", 0, "Revocation: the CRL, its distribution point and GetCRL." },
	{ "backend", 0, "Who issues the certificates: the local CA, an upstream SCEP CA or "
	    "a program." },
	{ "log", 0, "Event log and access log." },
	{ "monitor", 0, "The /metrics and /healthz pages and certificate expiry warnings." },
	{ "lab", 0, "Lab mode, for testing SCEP clients and MDM profiles: scripted outcomes, "
	    "recorded exchanges and the /lab/ page. Never on a production server." },
};
#define N_GROUPS (sizeof(cf_groups) / sizeof(cf_groups[0]))

/* GetNextCACert and Renewal are not typed: scepd announces them from its state. */
static const char *const cf_caps_known[] = {
	"AES", "DES3", "POSTPKIOperation", "SHA-1", "SHA-224", "SHA-256", "SHA-384",
	"SHA-512", "SCEPStandard", NULL
};
static const char *const cf_key_types[] = { "rsa", "ec", NULL };
static const char *const cf_ec_curves[] = { "P-256", "P-384", "P-521", NULL };
static const char *const cf_san_types[] = {
	"dns", "ip", "email", "uri", "upn", "dirname", "other", NULL
};
static const char *const cf_old_cert[] = { "keep", "revoke", NULL };
static const char *const cf_digests[] = {
	"MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512", NULL
};
static const char *const cf_ciphers[] = {
	"DES", "DES3", "AES-128", "AES-192", "AES-256", NULL
};
static const char *const cf_key_transports[] = { "rsaEncryption", "RSAES-OAEP", NULL };

static const char *const cf_log_targets[] = { "stderr", "syslog", "journald", NULL };
static const char *const cf_log_formats[] = { "text", "json", NULL };
static const char *const cf_tls_versions[] = { "1.2", "1.3", NULL };

static const char *const cf_backend_types[] = { "local", "scep", "exec", NULL };

static const char *const cf_unavailable[] = { "failure", "pending", NULL };

static const char *const cf_validator_types[] = { "webhook", "exec", "intune", NULL };
static const char *const cf_validator_renewals[] = { "validate", "skip", NULL };

static const char *const cf_facilities[] = {
	"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news",
	"syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7", NULL
};

static const struct {
	const char *name;
	unsigned bit;
} cf_key_usages[] = {
	{ "digitalSignature", X509v3_KU_DIGITAL_SIGNATURE },
	{ "nonRepudiation", X509v3_KU_NON_REPUDIATION },
	{ "keyEncipherment", X509v3_KU_KEY_ENCIPHERMENT },
	{ "dataEncipherment", X509v3_KU_DATA_ENCIPHERMENT },
	{ "keyAgreement", X509v3_KU_KEY_AGREEMENT },
};
#define N_KEY_USAGES (sizeof(cf_key_usages) / sizeof(cf_key_usages[0]))

static const char *const cf_def_listen[] = { "127.0.0.1:8080", NULL };
static const char *const cf_def_none[] = { NULL };
static const char *const cf_def_caps[] = {
	"POSTPKIOperation", "SHA-512", "SHA-384", "SHA-256", "SHA-1", "AES", "DES3",
	"SCEPStandard", NULL
};
static const char *const cf_def_key_usage[] = { "digitalSignature", "keyEncipherment", NULL };
static const char *const cf_def_eku[] = { "clientAuth", NULL };
static const char *const cf_def_key_types[] = { "rsa", "ec", NULL };
static const char *const cf_def_monitor_allow[] = { "127.0.0.1", "::1", NULL };

/* CF_STRUCT is the struct a table describes; it is defined before each table. */
#define CF_FIELD(f) offsetof(CF_STRUCT, f)
#define CF_COUNT(f) .count_off = CF_FIELD(f)

/*
 * The settings of a CA backend, shared by the backend group (fields of
 * cfg->backend: F is CF_IN_BACKEND) and the elements of the backends list
 * (struct config_backend: F is CF_AS_IS); pre is "backend." or "backends.".
 */
#define CF_IN_BACKEND(f) backend.f
#define CF_AS_IS(f) f
#define CF_BACKEND(X, pre, F) \
	X(pre "type", CF_WORD, F(type), .def_str = "local", \
	    .choices = cf_backend_types, \
	    .desc = "Who issues certificates: local (the CA key, ca.key), scep (an " \
	    "upstream SCEP CA, through the RA certificates) or exec (a program).") \
	X(pre "url", CF_STRING, F(url), \
	    .desc = "scep: the upstream's SCEP URL, http:// or https://.") \
	X(pre "ca_identifier", CF_STRING, F(ca_identifier), \
	    .desc = "scep: the message parameter of GetCACaps and GetCACert (a CA name " \
	    "for upstreams serving several CAs); unset sends none.") \
	X(pre "ca_bundle", CF_PATH, F(ca_bundle), \
	    .desc = "scep over https: CA certificates (PEM) that verify the upstream's " \
	    "TLS certificate; unset uses the system's.") \
	X(pre "challenge", CF_STRING, F(challenge), .secret = 1, \
	    .desc = "scep: the upstream's challenge password for the requests scepd makes " \
	    "for itself (its RA certificates); never put into devices' requests.") \
	X(pre "program", CF_PATH, F(program), \
	    .desc = "exec: the program run for each request, without a shell, relative " \
	    "to state_dir.") \
	X(pre "timeout", CF_UINT, F(timeout), .min = 1, .max = 600, .def_num = 30, \
	    .desc = "Seconds one upstream exchange or one program run may take.") \
	X(pre "max_concurrent", CF_UINT, F(max_concurrent), .min = 1, .max = 1024, \
	    .def_num = 8, .desc = "Upstream requests or programs running at once; more " \
	    "wait up to backend.timeout for a free place.") \
	X(pre "max_output", CF_SIZE, F(max_output), .min = 4096, .max = 16777216, \
	    .def_num = 65536, .desc = "exec: largest standard output accepted from the " \
	    "program, in bytes.") \
	X(pre "cache_time", CF_UINT, F(cache_time), .min = 10, .max = 86400, \
	    .def_num = 3600, .desc = "scep: seconds the upstream's GetCACaps and GetCACert " \
	    "answers are kept before they are fetched again.") \
	X(pre "when_unavailable", CF_WORD, F(when_unavailable), \
	    .def_str = "failure", .choices = cf_unavailable, \
	    .desc = "Answer to a device while the backend cannot be reached: failure or " \
	    "pending (the device polls and scepd asks again).")

/*
 * The settings of a certificate template, shared by the certificate group
 * (the template "default", fields of struct config) and the elements of the
 * templates list (struct config_template): pre is "certificate." or "".
 */
#define CF_TEMPLATE(X, pre) \
	X(pre "validity_days", CF_UINT, validity_days, .min = 1, .max = 3650, \
	    .def_num = 365, .desc = "Days an issued certificate is valid.") \
	X(pre "min_rsa_bits", CF_UINT, min_rsa_bits, .min = 1024, .max = 16384, \
	    .def_num = 2048, .desc = "Smallest RSA key accepted in a request, in bits.") \
	X(pre "key_usage", CF_KEYUSAGE, key_usage, .def_list = cf_def_key_usage, \
	    .desc = "Key usages a certificate may carry: digitalSignature, " \
	    "nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement.") \
	X(pre "extended_key_usage", CF_OIDS, ext_key_usage, CF_COUNT(n_ext_key_usage), \
	    .max_items = CONFIG_MAX_LIST, .def_list = cf_def_eku, \
	    .desc = "Extended key usages a certificate may carry: OpenSSL names " \
	    "(clientAuth, serverAuth, ...) or dotted OIDs.") \
	X(pre "key_types", CF_WORDS, key_types, CF_COUNT(n_key_types), .min = 1, \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_key_types, .def_list = cf_def_key_types, \
	    .desc = "Key types a request may carry: rsa, ec.") \
	X(pre "ec_curves", CF_WORDS, ec_curves, CF_COUNT(n_ec_curves), .min = 1, \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_ec_curves, .def_list = cf_ec_curves, \
	    .desc = "Elliptic curves an EC key may use: P-256, P-384, P-521.") \
	X(pre "san_types", CF_WORDS, san_types, CF_COUNT(n_san_types), \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_san_types, .def_list = cf_san_types, \
	    .desc = "Subject alternative name types a request may ask for: dns, ip, " \
	    "email, uri, upn, dirname, other.") \
	X(pre "san_required", CF_BOOL, san_required, .def_num = 0, \
	    .desc = "Refuse requests without a subject alternative name.") \
	X(pre "subject_pattern", CF_STRING, subject_pattern, .def_str = "", \
	    .desc = "POSIX extended regular expression the subject (RFC 2253 text) " \
	    "must match; empty accepts any subject.") \
	X(pre "san_pattern", CF_STRING, san_pattern, .def_str = "", \
	    .desc = "POSIX extended regular expression every DNS, IP, email, URI and " \
	    "UPN name must match; empty accepts any.") \
	X(pre "allow_subject_change", CF_BOOL, allow_subject_change, .def_num = 0, \
	    .desc = "A renewal may change the subject and subject alternative names.") \
	X(pre "approval", CF_BOOL, approval, .def_num = 0, \
	    .desc = "Requests wait (PENDING) until an administrator approves them " \
	    "with scepctl request approve.")

/*
 * THE SCHEMA. One X(path, type, field, attributes...) per setting, grouped by
 * group in the order config_print writes them and the man page lists them.
 */
#define CF_SCHEMA(X) \
	X("state_dir", CF_DIR, state_dir, .def_str = "/var/lib/scepd", \
	    .desc = "Directory for keys, certificates and the database; a relative " \
	    "path is taken from the configuration file's directory.") \
	X("database", CF_PATH, database, .def_str = "scepd.db", \
	    .desc = "SQLite database file, relative to state_dir; or a PostgreSQL " \
	    "URI (postgresql://...) that several nodes share, without a password.") \
	X("commit_delay", CF_UINT, commit_delay, .min = 0, .max = 100000, .def_num = 2000, \
	    .desc = "Microseconds a group commit waits, at most, for the enrollments " \
	    "whose certificates are being issued at that moment, so that they share " \
	    "its fsync; it waits only when at least two others are being issued. 0: " \
	    "commit at once.") \
	X("user", CF_STRING, user, .def_str = NULL, \
	    .desc = "Started as root, scepd binds its sockets, then runs as this user " \
	    "for good; unset: it stays root (warned at start).") \
	X("group", CF_STRING, group, .def_str = NULL, \
	    .desc = "Group to run as with user; default: the user's primary group.") \
	X("trusted_ra", CF_WORDS, trusted_ra, CF_COUNT(n_trusted_ra), \
	    .max_items = CONFIG_MAX_LIST, .min = 0, \
	    .desc = "RA certificates (PEM files, relative to state_dir) whose signed " \
	    "PKCSReq needs no challenge: a front scepd vouches for the device. Each must " \
	    "be issued by this server's CA and be valid.") \
	X("SignatureTemplate", CF_STRING, signature_template, .def_str = "default", \
	    .desc = "Template for requests whose key usage is signature only (NDES: " \
	    "same name).") \
	X("EncryptionTemplate", CF_STRING, encryption_template, .def_str = "default", \
	    .desc = "Template for requests whose key usage is encryption only.") \
	X("GeneralPurposeTemplate", CF_STRING, general_purpose_template, \
	    .def_str = "default", .desc = "Template for requests asking for both key " \
	    "usages, or none.") \
	X("http.listen", CF_LISTEN, listen, CF_COUNT(n_listen), \
	    .max_items = CONFIG_MAX_LISTEN, .min = 0, .def_list = cf_def_listen, \
	    .desc = "Addresses to listen on: \"IPV4:PORT\" or \"[IPV6]:PORT\", numeric " \
	    "addresses only.") \
	X("http.threads", CF_UINT, threads, .min = 0, .max = 256, .def_num = 0, \
	    .desc = "Request threads (and connection threads per listener); 0 starts four per CPU core.") \
	X("http.max_url", CF_SIZE, max_url, .min = 1024, .max = 1048576, .def_num = 65534, \
	    .desc = "Longest request URL (path and query) accepted, in bytes; longer " \
	    "ones get 414. Headers get about 16 KiB more (431 beyond); each open connection " \
	    "keeps max_url + 16 KiB of memory.") \
	X("http.max_body", CF_SIZE, max_body, .min = 1024, .max = 16777216, .def_num = 262144, \
	    .desc = "Largest POST body accepted, in bytes; larger ones get 413.") \
	X("http.max_connections", CF_UINT, max_connections, .min = 1, .max = 65536, \
	    .def_num = 512, .desc = "Connections open at once, from all clients.") \
	X("http.connection_timeout", CF_UINT, connection_timeout, .min = 1, .max = 3600, \
	    .def_num = 30, .desc = "Seconds an idle connection is kept open.") \
	X("http.header_timeout", CF_UINT, header_timeout, .min = 1, .max = 3600, \
	    .def_num = 10, .desc = "Seconds a request gets to send its complete headers, " \
	    "counted from the connection, however slowly they arrive; on a kept-alive " \
	    "connection the next request gets http.connection_timeout plus this long.") \
	X("http.min_body_rate", CF_UINT, min_body_rate, .min = 1, .max = 1048576, \
	    .def_num = 1024, .desc = "Bytes per second a request body must keep up, " \
	    "counted from the end of its headers; a body that falls more than " \
	    "http.header_timeout seconds behind is cut.") \
	X("http.per_ip_connections", CF_UINT, per_ip_connections, .min = 0, .max = 65536, \
	    .def_num = 32, .desc = "Connections open at once from one client address; " \
	    "0 means no limit.") \
	X("http.drain_timeout", CF_UINT, drain_timeout, .min = 0, .max = 3600, \
	    .def_num = 10, .desc = "Seconds requests in flight get to finish when scepd " \
	    "stops, and connections of a listener replaced by a reload get to close.") \
	X("tls.listen", CF_LISTEN, tls_listen, CF_COUNT(n_tls_listen), \
	    .max_items = CONFIG_MAX_LISTEN, .min = 0, .def_list = cf_def_none, \
	    .desc = "HTTPS addresses to listen on, written like http.listen; none by " \
	    "default.") \
	X("tls.cert", CF_PATH, tls_cert, \
	    .desc = "TLS server certificate (PEM), followed by its intermediate CA " \
	    "certificates; required when tls.listen is not empty.") \
	X("tls.key", CF_PATH, tls_key, \
	    .desc = "Private key of tls.cert (PEM, mode 0600).") \
	X("tls.min_version", CF_WORD, tls_min_version, .def_str = "1.2", \
	    .choices = cf_tls_versions, .desc = "Oldest TLS version accepted: 1.2 or 1.3.") \
	X("ca.cert", CF_PATH, ca_cert, .def_str = "ca.crt", \
	    .desc = "CA certificate (PEM), relative to state_dir; a subordinate CA's issuers " \
	    "may follow it in order, up to the root: GetCACert sends them after the CA.") \
	X("ca.key", CF_PATH, ca_key, .def_str = "ca.key", \
	    .desc = "CA private key (PEM, mode 0600), relative to state_dir.") \
	X("ca.next_cert", CF_PATH, next_ca_cert, .def_str = "ca-next.crt", \
	    .desc = "Rollover CA certificate (scepctl ca rollover); used when the file " \
	    "exists, and current from its notBefore on.") \
	X("ca.next_key", CF_PATH, next_ca_key, .def_str = "ca-next.key", \
	    .desc = "Private key of ca.next_cert.") \
	X("ca.next_ra_sign_cert", CF_PATH, next_ra_sign_cert, .def_str = "ra-sign-next.crt", \
	    .desc = "RA signing certificate issued by the rollover CA.") \
	X("ca.next_ra_sign_key", CF_PATH, next_ra_sign_key, .def_str = "ra-sign-next.key", \
	    .desc = "Private key of ca.next_ra_sign_cert.") \
	X("ca.next_ra_enc_cert", CF_PATH, next_ra_enc_cert, .def_str = "ra-enc-next.crt", \
	    .desc = "RA encryption certificate issued by the rollover CA.") \
	X("ca.next_ra_enc_key", CF_PATH, next_ra_enc_key, .def_str = "ra-enc-next.key", \
	    .desc = "Private key of ca.next_ra_enc_cert.") \
	X("ra.sign_cert", CF_PATH, ra_sign_cert, \
	    .desc = "RA signing certificate (digitalSignature): signs CertRep messages.") \
	X("ra.sign_key", CF_PATH, ra_sign_key, .desc = "Private key of ra.sign_cert.") \
	X("ra.enc_cert", CF_PATH, ra_enc_cert, \
	    .desc = "RA encryption certificate (keyEncipherment): clients encrypt " \
	    "requests to it; may be the same file as ra.sign_cert.") \
	X("ra.enc_key", CF_PATH, ra_enc_key, .desc = "Private key of ra.enc_cert.") \
	X("signer.process", CF_BOOL, signer_process, .def_num = 1, \
	    .desc = "Keep the CA and RA private keys in a separate signer process " \
	    "(no network, seccomp); off: in scepd itself, for debugging and comparison.") \
	X("signer.workers", CF_UINT, signer_workers, .min = 1, .max = 64, .def_num = 4, \
	    .desc = "Signer processes working at once (each answers one request at a " \
	    "time); read at start only.") \
	X("pkcs11.module", CF_STRING, pkcs11_module, \
	    .desc = "PKCS#11 module (absolute path of the .so, e.g. " \
	    "/usr/lib/softhsm/libsofthsm2.so) for key URIs without module-path.") \
	X("pkcs11.pin_file", CF_PATH, pkcs11_pin_file, \
	    .desc = "File whose first line is the token's user PIN (mode 0600), for key " \
	    "URIs without pin-value or pin-source.") \
	X("pkcs11.pin_credential", CF_STRING, pkcs11_pin_credential, \
	    .desc = "The same as pkcs11.pin_file, read from $CREDENTIALS_DIRECTORY (systemd " \
	    "LoadCredential=); at most one of the two.") \
	X("scep.capabilities", CF_WORDS, caps, CF_COUNT(n_caps), \
	    .max_items = CONFIG_MAX_CAPS, .choices = cf_caps_known, .def_list = cf_def_caps, \
	    .desc = "GetCACaps keywords announced, in this order.") \
	X("scep.allow_des", CF_BOOL, allow_des, .def_num = 0, \
	    .desc = "Accept requests enveloped with single DES (loads OpenSSL's legacy " \
	    "provider).") \
	X("scep.allow_sha1", CF_BOOL, allow_sha1, .def_num = 1, \
	    .desc = "Accept SHA-1 message digests.") \
	X("scep.allow_md5", CF_BOOL, allow_md5, .def_num = 0, \
	    .desc = "Accept MD5 message digests.") \
	X("scep.allow_other_signer_key", CF_BOOL, allow_other_signer_key, .def_num = 1, \
	    .desc = "A PKCSReq that is not a renewal may be signed with a key other than " \
	    "the one it asks a certificate for (RFC 8894 allows it: an RA or an MDM " \
	    "signs); false refuses it with badRequest. Either way the log says so.") \
	X("scep.include_ca_in_certrep", CF_BOOL, include_ca_in_certrep, .def_num = 0, \
	    .desc = "Put the CA certificate after the issued one in a CertRep.") \
	X("scep.max_clock_skew", CF_UINT, max_clock_skew, .min = 0, .max = 31536000, \
	    .def_num = 86400, .desc = "Seconds a request's signingTime may be from the " \
	    "server's clock before it is refused with badTime; 0 does not check.") \
	X("scep.ndes_hresult", CF_BOOL, ndes_hresult, .def_num = 1, \
	    .desc = "FAILURE replies carry an HRESULT in attribute 1.3.6.1.4.1.311.21.33, " \
	    "as NDES sends.") \
	X("challenge.EnforcePassword", CF_BOOL, enforce_password, .def_num = 1, \
	    .desc = "Require a valid challenge password in enrollment requests.") \
	X("challenge.UseSinglePassword", CF_BOOL, use_single_password, .def_num = 0, \
	    .desc = "Accept one static password (SinglePassword) instead of one-time " \
	    "passwords.") \
	X("challenge.SinglePassword", CF_STRING, single_password, .def_str = "", .secret = 1, \
	    .desc = "The static password used when UseSinglePassword is true.") \
	X("challenge.PasswordLength", CF_UINT, password_length, .min = 4, .max = 32, \
	    .def_num = 8, .desc = "Random bytes in a one-time password; it is shown as " \
	    "twice as many hex digits.") \
	X("challenge.PasswordMax", CF_UINT, password_max, .min = 1, .max = 1000, \
	    .def_num = 5, .desc = "Unused one-time passwords kept at once; when full, no " \
	    "new one is handed out (\"The password cache is full.\").") \
	X("challenge.PasswordValidity", CF_UINT, password_validity, .min = 1, .max = 10080, \
	    .def_num = 60, .desc = "Minutes a one-time password stays valid.") \
	X("challenge.max_failures", CF_UINT, challenge_max_failures, .min = 0, .max = 100000, \
	    .def_num = 20, .desc = "Rejected challenge passwords from one client address, " \
	    "within failure_window, after which its requests are refused until the window " \
	    "ends; 0 means no limit.") \
	X("challenge.failure_window", CF_UINT, challenge_failure_window, .min = 1, \
	    .max = 86400, .def_num = 300, .desc = "Seconds, counted from an address's first " \
	    "rejected password, over which challenge.max_failures applies.") \
	X("challenge.validator", CF_STRING, validator, .def_str = "", \
	    .desc = "Name of the validator (in validators) that decides on every request " \
	    "instead of the password rules; empty uses the password rules.") \
	X("admin.enabled", CF_BOOL, admin_enabled, .def_num = 1, \
	    .desc = "Serve the NDES challenge pages at /certsrv/mscep_admin/.") \
	X("admin.basic", CF_BOOL, admin_basic, .def_num = 0, \
	    .desc = "Offer Basic sign-in besides Negotiate and NTLM (the password then " \
	    "crosses the network in clear unless TLS is in front).") \
	X("admin.realm", CF_STRING, admin_realm, .def_str = "scepd", \
	    .desc = "Realm named in the Basic challenge.") \
	X("admin.domain", CF_STRING, admin_domain, .def_str = "WORKGROUP", \
	    .desc = "NetBIOS domain name the NTLM challenge announces.") \
	X("admin.hostname", CF_STRING, admin_hostname, .def_str = "", \
	    .desc = "DNS host name the NTLM challenge announces; empty uses the " \
	    "system's host name.") \
	X("admin.ntlm", CF_BOOL, admin_ntlm, .def_num = 1, \
	    .desc = "Offer NTLM sign-in (the NTLM scheme, and NTLM inside Negotiate); " \
	    "false leaves Kerberos (admin.keytab) and Basic.") \
	X("admin.keytab", CF_PATH, admin_keytab, \
	    .desc = "Keytab with the service key of HTTP/host@REALM (mode 0600); set, " \
	    "Negotiate accepts Kerberos through GSS-API. Its replay cache is the file " \
	    "admin-krb5.rcache in state_dir.") \
	X("admin.kerberos_realm", CF_STRING, admin_kerberos_realm, .def_str = "", \
	    .desc = "Kerberos realm whose every principal may sign in with the enroll " \
	    "right without an account of its own; an account named after the principal " \
	    "(scepctl user add alice@REALM) still takes precedence. Empty: accounts only.") \
	X("admin.max_failures", CF_UINT, admin_max_failures, .min = 0, .max = 100000, \
	    .def_num = 10, .desc = "Failed sign-ins from one client address, within " \
	    "failure_window, after which it gets 429 until the window ends; 0 means no limit.") \
	X("admin.failure_window", CF_UINT, admin_failure_window, .min = 1, .max = 86400, \
	    .def_num = 300, .desc = "Seconds, counted from an address's first failed " \
	    "sign-in, over which admin.max_failures applies.") \
	CF_TEMPLATE(X, "certificate.") \
	X("renewal.enabled", CF_BOOL, renewal_enabled, .def_num = 1, \
	    .desc = "Accept renewals (RenewalReq, and PKCSReq signed by a certificate " \
	    "this CA issued) and announce Renewal in GetCACaps.") \
	X("renewal.grace_days", CF_UINT, renewal_grace_days, .min = 0, .max = 3650, \
	    .def_num = 0, .desc = "Days after its expiry a certificate may still renew itself.") \
	X("renewal.window_days", CF_UINT, renewal_window_days, .min = 0, .max = 3650, \
	    .def_num = 0, .desc = "A certificate may renew only this many days before it " \
	    "expires; 0 allows it at any time.") \
	X("renewal.require_challenge", CF_BOOL, renewal_require_challenge, .def_num = 0, \
	    .desc = "A renewal needs a valid challenge password too.") \
	X("renewal.old_certificate", CF_WORD, renewal_old_certificate, .def_str = "keep", \
	    .choices = cf_old_cert, .desc = "What happens to the renewed certificate: keep " \
	    "(it stays valid) or revoke (revoked as superseded).") \
	X("renewal.allow_key_reuse", CF_BOOL, renewal_allow_key_reuse, .def_num = 1, \
	    .desc = "A renewal may keep the key of the certificate it renews.") \
	X("crl.path", CF_STRING, crl_path, .def_str = "/crl/ca.crl", \
	    .desc = "HTTP path where the CA's CRL is served (application/pkix-crl); " \
	    "empty does not serve it.") \
	X("crl.url", CF_STRING, crl_url, .def_str = "", \
	    .desc = "URL put in a CRL distribution point extension of every certificate " \
	    "issued; empty adds none.") \
	X("crl.validity_hours", CF_UINT, crl_validity_hours, .min = 1, .max = 8760, \
	    .def_num = 168, .desc = "Hours from a CRL's thisUpdate to its nextUpdate; it is " \
	    "made again after half of that, and at every revocation.") \
	X("crl.scep", CF_BOOL, crl_scep, .def_num = 1, \
	    .desc = "Answer GetCRL with the CRL; false answers FAILURE badRequest.") \
	CF_BACKEND(X, "backend.", CF_IN_BACKEND) \
	X("log.target", CF_WORD, log_target, .def_str = "stderr", .choices = cf_log_targets, \
	    .desc = "Where events go: stderr, syslog or journald.") \
	X("log.facility", CF_WORD, log_facility, .def_str = "daemon", .choices = cf_facilities, \
	    .desc = "Syslog facility: daemon, user, auth, authpriv, local0 ... local7, ...") \
	X("log.debug", CF_BOOL, log_debug, .def_num = 0, \
	    .desc = "Log debugging detail.") \
	X("log.format", CF_WORD, log_format, .def_str = "text", .choices = cf_log_formats, \
	    .desc = "Event lines as key=value text or as JSON objects, one per line.") \
	X("log.access_log", CF_PATH, access_log, \
	    .desc = "W3C access log file (IIS default fields), relative to state_dir; " \
	    "none when not set. Re-opened on SIGUSR1.") \
	X("monitor.allow", CF_NETS, monitor_allow, CF_COUNT(n_monitor_allow), \
	    .max_items = CONFIG_MAX_LIST, .def_list = cf_def_monitor_allow, \
	    .desc = "Client addresses or networks (ADDRESS/PREFIX) allowed to read " \
	    "/metrics and /healthz; an empty list allows nobody.") \
	X("monitor.expiry_warning_days", CF_UINT, expiry_warning_days, .min = 0, \
	    .max = 3650, .def_num = 60, .desc = "Warn this many days before the CA, RA or " \
	    "TLS certificate expires; 0 never warns.") \
	X("lab.enabled", CF_BOOL, lab_enabled, .def_num = 0, \
	    .desc = "Lab mode: lab.rules and `scepctl lab rule` script the answers to " \
	    "matching requests (a lab rule stands in for the challenge), lab.record records " \
	    "exchanges, /lab/ is served on the monitor addresses (monitor.allow); scepd -t " \
	    "warns.") \
	X("lab.rules", CF_WORDS, lab_rules, CF_COUNT(n_lab_rules), \
	    .max_items = CONFIG_MAX_LIST, .def_list = cf_def_none, \
	    .desc = "Scripted outcomes, each a rule as `scepctl lab rule add` takes it " \
	    "(\"subject=*CN=lab* outcome=pending polls=3 uses=5\"); only with lab.enabled.") \
	X("lab.record", CF_BOOL, lab_record, .def_num = 0, \
	    .desc = "In lab mode, record every PKIOperation (raw request and reply, timing, " \
	    "outcome) in the store, for scepctl inspect and /lab/.") \
	X("lab.record_max", CF_UINT, lab_record_max, .min = 1, .max = 100000, \
	    .def_num = 1000, .desc = "Recorded exchanges kept; the oldest are dropped first.") \
	X("lab.record_max_bytes", CF_UINT, lab_record_max_bytes, .min = 65536, \
	    .max = 1073741824, .def_num = 67108864, .desc = "Bytes of requests and replies " \
	    "kept in all recordings; the oldest are dropped first, and an exchange larger " \
	    "than this is recorded without its bytes.")

/*
 * A field whose C type does not match its setting type makes the array size
 * negative, so a wrong offsetof cannot compile.
 */
#define CF_TYPECHECK(t, f) \
	(0 * sizeof(char[1 - 2 * !_Generic(((CF_STRUCT *)0)->f, CF_CTYPE_##t: 1, default: 0)]))
#define CF_ENTRY(p, t, f, ...) \
	{ .path = p, .type = t, .off = CF_FIELD(f) + CF_TYPECHECK(t, f), __VA_ARGS__ },
#define CF_NAME(p, t, f, ...) p,

/*
 * The elements of profiles = ( { ... } ): a SCEP endpoint with its own
 * challenge mode, templates, approval, algorithms and optionally RA. Unset
 * settings take the top-level value named by .inherit; digests, ciphers and
 * key_transport default to what the scep group allows.
 */
#define CF_PROFILE(X, pre) \
	X(pre "name", CF_STRING, name, .required = 1, \
	    .desc = "Name of the profile: letters, digits, '-' and '_'.") \
	X(pre "path", CF_STRING, path, .def_str = "", \
	    .desc = "HTTP path of the endpoint (also answered with /pkiclient.exe " \
	    "appended); empty means /scep/NAME.") \
	X(pre "EnforcePassword", CF_BOOL, enforce_password, \
	    .inherit = "challenge.EnforcePassword", .desc = "As challenge.EnforcePassword.") \
	X(pre "UseSinglePassword", CF_BOOL, use_single_password, \
	    .inherit = "challenge.UseSinglePassword", .desc = "As challenge.UseSinglePassword.") \
	X(pre "SinglePassword", CF_STRING, single_password, .secret = 1, \
	    .inherit = "challenge.SinglePassword", .desc = "As challenge.SinglePassword.") \
	X(pre "SignatureTemplate", CF_STRING, signature_template, .inherit = "SignatureTemplate", \
	    .desc = "As SignatureTemplate.") \
	X(pre "EncryptionTemplate", CF_STRING, encryption_template, .inherit = "EncryptionTemplate", \
	    .desc = "As EncryptionTemplate.") \
	X(pre "GeneralPurposeTemplate", CF_STRING, general_purpose_template, \
	    .inherit = "GeneralPurposeTemplate", .desc = "As GeneralPurposeTemplate.") \
	X(pre "approval", CF_BOOL, approval, .def_num = 0, \
	    .desc = "Every request of this profile waits for approval.") \
	X(pre "renewal", CF_BOOL, renewal, .inherit = "renewal.enabled", \
	    .desc = "As renewal.enabled.") \
	X(pre "renewal_challenge", CF_BOOL, renewal_challenge, \
	    .inherit = "renewal.require_challenge", .desc = "As renewal.require_challenge.") \
	X(pre "capabilities", CF_WORDS, caps, CF_COUNT(n_caps), .max_items = CONFIG_MAX_CAPS, \
	    .choices = cf_caps_known, .inherit = "scep.capabilities", \
	    .desc = "As scep.capabilities.") \
	X(pre "digests", CF_WORDS, digests, CF_COUNT(n_digests), .min = 1, \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_digests, \
	    .desc = "Message digests accepted: MD5, SHA-1, SHA-224, SHA-256, SHA-384, " \
	    "SHA-512; default: what the scep group allows.") \
	X(pre "ciphers", CF_WORDS, ciphers, CF_COUNT(n_ciphers), .min = 1, \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_ciphers, \
	    .desc = "Envelope content ciphers accepted: DES (needs scep.allow_des), DES3, " \
	    "AES-128, AES-192, AES-256; default: what the scep group allows.") \
	X(pre "key_transport", CF_WORDS, key_transport, CF_COUNT(n_key_transport), .min = 1, \
	    .max_items = CONFIG_MAX_LIST, .choices = cf_key_transports, \
	    .def_list = cf_key_transports, \
	    .desc = "Envelope key transport accepted: rsaEncryption, RSAES-OAEP.") \
	X(pre "ra_sign_cert", CF_PATH, ra_sign_cert, \
	    .desc = "RA signing certificate of this profile; the four ra_* settings are " \
	    "given together or not at all (then the ra group's are used).") \
	X(pre "ra_sign_key", CF_PATH, ra_sign_key, .desc = "Private key of ra_sign_cert.") \
	X(pre "ra_enc_cert", CF_PATH, ra_enc_cert, .desc = "RA encryption certificate of this " \
	    "profile.") \
	X(pre "ra_enc_key", CF_PATH, ra_enc_key, .desc = "Private key of ra_enc_cert.") \
	X(pre "backend", CF_STRING, backend, .def_str = "default", \
	    .desc = "The backend that issues this profile's certificates: \"default\" " \
	    "(the backend group) or a name in backends.") \
	X(pre "validator", CF_STRING, validator, .inherit = "challenge.validator", \
	    .desc = "As challenge.validator.") \
	X(pre "trusted_ra", CF_WORDS, trusted_ra, CF_COUNT(n_trusted_ra), \
	    .max_items = CONFIG_MAX_LIST, .min = 0, .inherit = "trusted_ra", \
	    .desc = "As trusted_ra.")

/*
 * The elements of validators = ( { ... } ): who decides whether a request is
 * issued, instead of the password rules (validator.h).
 */
#define CF_VALIDATOR(X, pre) \
	X(pre "name", CF_STRING, name, .required = 1, \
	    .desc = "Name of the validator, used by challenge.validator and " \
	    "profiles.validator: letters, digits, '-' and '_'.") \
	X(pre "type", CF_WORD, type, .required = 1, .choices = cf_validator_types, \
	    .desc = "webhook (step-ca's SCEPCHALLENGE webhook protocol), exec (a program) " \
	    "or intune (Microsoft Intune).") \
	X(pre "url", CF_STRING, url, \
	    .desc = "webhook: URL of the SCEPCHALLENGE webhook; https://, or http:// to a " \
	    "loopback address only.") \
	X(pre "id", CF_STRING, id, \
	    .desc = "webhook: the X-Smallstep-Webhook-ID header; unset sends the name.") \
	X(pre "secret_file", CF_PATH, secret_file, \
	    .desc = "webhook: file holding the shared secret, base64 as step-ca keeps it; " \
	    "it keys the HMAC-SHA256 X-Smallstep-Signature.") \
	X(pre "notify_url", CF_STRING, notify_url, \
	    .desc = "webhook: URL of a NOTIFYING webhook told about each issuance and each " \
	    "failure after an allowed request; unset tells nobody.") \
	X(pre "ca_file", CF_PATH, ca_file, \
	    .desc = "https: CA certificates (PEM) that verify the server; unset uses the " \
	    "system's.") \
	X(pre "client_certificate", CF_PATH, client_certificate, \
	    .desc = "https: client certificate (PEM) presented to the server; with " \
	    "client_key.") \
	X(pre "client_key", CF_PATH, client_key, \
	    .desc = "https: private key (PEM) of client_certificate.") \
	X(pre "program", CF_PATH, program, \
	    .desc = "exec: the program run for each request, without a shell, relative " \
	    "to state_dir.") \
	X(pre "args", CF_WORDS, args, CF_COUNT(n_args), .max_items = CONFIG_MAX_LIST, \
	    .def_list = cf_def_none, .desc = "exec: arguments given to the program after " \
	    "its name.") \
	X(pre "tenant", CF_STRING, tenant, \
	    .desc = "intune: the Entra ID tenant, a domain (contoso.onmicrosoft.com) or its " \
	    "GUID.") \
	X(pre "client_id", CF_STRING, client_id, \
	    .desc = "intune: the application (client) id of the Entra app registration with " \
	    "Intune's scep_challenge_provider and Graph's Application.Read.All permissions.") \
	X(pre "client_secret_file", CF_PATH, client_secret_file, \
	    .desc = "intune: file holding the app's client secret (one line, mode 0600); or " \
	    "client_secret_credential, or client_certificate and client_key.") \
	X(pre "client_secret_credential", CF_STRING, client_secret_credential, \
	    .desc = "intune: name of a systemd credential (LoadCredential=) holding the " \
	    "client secret, read from $CREDENTIALS_DIRECTORY.") \
	X(pre "authority_url", CF_STRING, authority_url, \
	    .desc = "intune: Entra ID's base URL; unset: https://login.microsoftonline.com/. " \
	    "https://, or http:// to a loopback address only (tests and labs).") \
	X(pre "graph_url", CF_STRING, graph_url, \
	    .desc = "intune: Microsoft Graph's base URL (service discovery); unset: " \
	    "https://graph.microsoft.com/. https://, or http:// to a loopback address only.") \
	X(pre "intune_resource_url", CF_STRING, intune_resource_url, \
	    .desc = "intune: Intune's resource URL, whose /.default scope the Intune token " \
	    "asks for; unset: https://api.manage.microsoft.com/.") \
	X(pre "proxy", CF_STRING, proxy, .secret = 1, \
	    .desc = "intune: HTTP proxy for every request to Entra ID, Graph and Intune " \
	    "(http://host:port, or http://user:password@host:port; https:// through " \
	    "CONNECT); unset: none. A secret: scepd -T does not show it.") \
	X(pre "provider", CF_STRING, provider, \
	    .desc = "intune: the callerInfo sent to Intune; unset: scepd/VERSION.") \
	X(pre "renewals", CF_WORD, renewals, .def_str = "validate", \
	    .choices = cf_validator_renewals, \
	    .desc = "A renewal signed by a certificate scepd issued: validate asks the " \
	    "validator as for a first enrollment; skip issues it on the strength of that " \
	    "signature (unless renewal.require_challenge or profiles.renewal_challenge).") \
	X(pre "timeout", CF_UINT, timeout, .min = 1, .max = 600, .def_num = 10, \
	    .desc = "Seconds one check (one HTTP exchange or one program run) may take; " \
	    "then the request is refused.") \
	X(pre "max_concurrent", CF_UINT, max_concurrent, .min = 1, .max = 1024, \
	    .def_num = 16, .desc = "Checks running at once; a request beyond them is " \
	    "refused.")

#define CF_STRUCT struct config
static const struct cf_setting cf_schema[] = { CF_SCHEMA(CF_ENTRY) };
#undef CF_STRUCT
#define CF_STRUCT struct config_template
static const struct cf_setting cf_tmpl_schema[] = {
	{ .path = "templates.name", .type = CF_STRING, .off = offsetof(struct config_template, name),
	    .required = 1, .desc = "Name of the template, used by SignatureTemplate, "
	    "EncryptionTemplate and GeneralPurposeTemplate; not \"default\"." },
	CF_TEMPLATE(CF_ENTRY, "templates.")
};
#undef CF_STRUCT
#define CF_STRUCT struct config_profile
static const struct cf_setting cf_prof_schema[] = { CF_PROFILE(CF_ENTRY, "profiles.") };
#undef CF_STRUCT
#define CF_STRUCT struct config_backend
static const struct cf_setting cf_bk_schema[] = {
	{ .path = "backends.name", .type = CF_STRING, .off = offsetof(struct config_backend, name),
	    .required = 1, .desc = "Name of the backend, used by profiles.backend: letters, "
	    "digits, '-' and '_'; not \"default\" (the backend group)." },
	CF_BACKEND(CF_ENTRY, "backends.", CF_AS_IS)
};
#undef CF_STRUCT
#define CF_STRUCT struct config_validator
static const struct cf_setting cf_val_schema[] = { CF_VALIDATOR(CF_ENTRY, "validators.") };
#undef CF_STRUCT
static const char *const cf_names[] = {
	CF_SCHEMA(CF_NAME) "templates.name", CF_TEMPLATE(CF_NAME, "templates.")
	CF_PROFILE(CF_NAME, "profiles.") "backends.name",
	CF_BACKEND(CF_NAME, "backends.", CF_AS_IS) CF_VALIDATOR(CF_NAME, "validators.") NULL
};
#define N_SETTINGS (sizeof(cf_schema) / sizeof(cf_schema[0]))
#define N_TMPL_SETTINGS (sizeof(cf_tmpl_schema) / sizeof(cf_tmpl_schema[0]))
#define N_PROF_SETTINGS (sizeof(cf_prof_schema) / sizeof(cf_prof_schema[0]))
#define N_BK_SETTINGS (sizeof(cf_bk_schema) / sizeof(cf_bk_schema[0]))
#define N_VAL_SETTINGS (sizeof(cf_val_schema) / sizeof(cf_val_schema[0]))

/*
 * The lists of groups, name = ( { ... }, ... ): each element is a struct
 * described by its own table. cf_list_get() and cf_list_set() reach the array
 * and its count in struct config, cf_list_lines() the source lines.
 */
enum cf_list_id {
	CF_LIST_TEMPLATES, CF_LIST_PROFILES, CF_LIST_BACKENDS, CF_LIST_VALIDATORS, N_LISTS
};

static const struct cf_list {
	const char *name;
	const struct cf_setting *table;
	size_t n_set, elem_size, max;
	const char *heading;	/* config_print's comment above the list */
} cf_lists[N_LISTS] = {
	[CF_LIST_TEMPLATES] = { "templates", cf_tmpl_schema, N_TMPL_SETTINGS,
	    sizeof(struct config_template), CONFIG_MAX_TEMPLATES, "Named certificate templates "
	    "(the certificate group is the template \"default\")." },
	[CF_LIST_PROFILES] = { "profiles", cf_prof_schema, N_PROF_SETTINGS,
	    sizeof(struct config_profile), CONFIG_MAX_PROFILES,
	    "Profiles: SCEP endpoints besides the NDES paths." },
	[CF_LIST_BACKENDS] = { "backends", cf_bk_schema, N_BK_SETTINGS,
	    sizeof(struct config_backend), CONFIG_MAX_BACKENDS, "Named CA backends, for "
	    "profiles.backend (the backend group is the backend \"default\")." },
	[CF_LIST_VALIDATORS] = { "validators", cf_val_schema, N_VAL_SETTINGS,
	    sizeof(struct config_validator), CONFIG_MAX_VALIDATORS, "Challenge validators, for "
	    "challenge.validator and profiles.validator." },
};

/* The elements of list k in cfg (*n of them). */
static void *cf_list_get(const struct config *cfg, enum cf_list_id k, size_t *n)
{
	switch (k) {
	case CF_LIST_TEMPLATES:
		*n = cfg->n_templates;
		return cfg->templates;
	case CF_LIST_PROFILES:
		*n = cfg->n_profiles;
		return cfg->profiles;
	case CF_LIST_VALIDATORS:
		*n = cfg->n_validators;
		return cfg->validators;
	default:
		*n = cfg->n_backends;
		return cfg->backends;
	}
}

static void cf_list_set(struct config *cfg, enum cf_list_id k, void *elems, size_t n)
{
	switch (k) {
	case CF_LIST_TEMPLATES:
		cfg->templates = elems;
		cfg->n_templates = n;
		break;
	case CF_LIST_PROFILES:
		cfg->profiles = elems;
		cfg->n_profiles = n;
		break;
	case CF_LIST_VALIDATORS:
		cfg->validators = elems;
		cfg->n_validators = n;
		break;
	default:
		cfg->backends = elems;
		cfg->n_backends = n;
		break;
	}
}

struct cf_error {
	unsigned line;		/* 0: none applies */
	size_t seq;		/* order found, to keep the sort stable */
	char *msg;
};

/* A token of the text, as far as cf_elem_line() needs to know it. */
struct cf_token {
	char *start;
	size_t len;
	unsigned line;
	char kind;		/* 'n' name, 's' string, '0' number, else the character */
};

/* The state of one load: errors found so far and where each setting was set. */
struct cf_ctx {
	const char *label;
	struct cf_error *errs;
	size_t n_errs, cap_errs;
	struct cf_token *toks;
	size_t n_toks, cap_toks;
	int oom;
	int unterminated;	/* a string runs to the end of the text */
	unsigned line[N_SETTINGS];	/* source line of each setting; 0 = default */
	unsigned group_line[N_GROUPS];	/* source line of each group; 0 = absent */
	const config_setting_t *list[N_LISTS];	/* parsed after the walk */
	/* [i][0]: line of element i; [i][1 + j]: line of its setting j (0 = not given) */
	unsigned tmpl_line[CONFIG_MAX_TEMPLATES][N_TMPL_SETTINGS + 1];
	unsigned prof_line[CONFIG_MAX_PROFILES][N_PROF_SETTINGS + 1];
	unsigned bk_line[CONFIG_MAX_BACKENDS][N_BK_SETTINGS + 1];
	unsigned val_line[CONFIG_MAX_VALIDATORS][N_VAL_SETTINGS + 1];
};

/* The lines of list k: element i's at [i * (n_set + 1)], as in tmpl_line. */
static unsigned *cf_list_lines(struct cf_ctx *ctx, enum cf_list_id k)
{
	switch (k) {
	case CF_LIST_TEMPLATES:
		return &ctx->tmpl_line[0][0];
	case CF_LIST_PROFILES:
		return &ctx->prof_line[0][0];
	case CF_LIST_VALIDATORS:
		return &ctx->val_line[0][0];
	default:
		return &ctx->bk_line[0][0];
	}
}

/* ---- errors ---- */

__attribute__((format(printf, 3, 4)))
static void cf_error(struct cf_ctx *ctx, unsigned line, const char *fmt, ...)
{
	va_list ap;
	struct cf_error *grown;
	char *msg = NULL;
	int n, done = 0;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (msg = malloc((size_t)n + 1)) == NULL)
		goto out;
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (ctx->n_errs == ctx->cap_errs) {
		size_t cap = ctx->cap_errs ? 2 * ctx->cap_errs : 8;
		if ((grown = realloc(ctx->errs, cap * sizeof(*grown))) == NULL)
			goto out;
		ctx->errs = grown;
		ctx->cap_errs = cap;
	}
	ctx->errs[ctx->n_errs].line = line;
	ctx->errs[ctx->n_errs].seq = ctx->n_errs;
	ctx->errs[ctx->n_errs].msg = msg;
	ctx->n_errs++;
	msg = NULL;
	done = 1;
out:
	if (!done)
		ctx->oom = 1;
	free(msg);
}

/* 1 when an error has already been reported on this line. */
static int cf_line_has_error(const struct cf_ctx *ctx, unsigned line)
{
	size_t i;

	for (i = 0; i < ctx->n_errs; i++)
		if (ctx->errs[i].line == line)
			return 1;
	return 0;
}

static int cf_error_cmp(const void *a, const void *b)
{
	const struct cf_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes every error, ordered by line, as "label:line: message". */
static void cf_report(struct cf_ctx *ctx, FILE *errs)
{
	size_t i;

	if (ctx->n_errs > 1)
		qsort(ctx->errs, ctx->n_errs, sizeof(ctx->errs[0]), cf_error_cmp);
	if (errs == NULL)
		return;
	for (i = 0; i < ctx->n_errs; i++) {
		if (ctx->errs[i].line != 0)
			fprintf(errs, "%s:%u: %s\n", ctx->label, ctx->errs[i].line, ctx->errs[i].msg);
		else
			fprintf(errs, "%s: %s\n", ctx->label, ctx->errs[i].msg);
	}
	if (ctx->oom)
		fprintf(errs, "%s: out of memory\n", ctx->label);
}

static void cf_ctx_free(struct cf_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_errs; i++)
		free(ctx->errs[i].msg);
	free(ctx->errs);
	ctx->errs = NULL;
	ctx->n_errs = ctx->cap_errs = 0;
	free(ctx->toks);
	ctx->toks = NULL;
	ctx->n_toks = ctx->cap_toks = 0;
}

static char *cf_strdup(struct cf_ctx *ctx, const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		ctx->oom = 1;
	return p;
}

/* ---- schema look-ups ---- */

/* Index of the group called name, or -1. */
static int cf_group_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_GROUPS; i++)
		if (strcmp(cf_groups[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Index of the group a setting belongs to, or -1 for a top-level one. */
static int cf_group_of(const struct cf_setting *s)
{
	const char *dot = strchr(s->path, '.');
	size_t i;

	if (dot == NULL)
		return -1;
	for (i = 0; i < N_GROUPS; i++)
		if (strlen(cf_groups[i].name) == (size_t)(dot - s->path) &&
		    strncmp(cf_groups[i].name, s->path, (size_t)(dot - s->path)) == 0)
			return (int)i;
	return -1;
}

/* The setting's name inside its group ("max_body" for "http.max_body"). */
static const char *cf_leaf(const struct cf_setting *s)
{
	const char *dot = strchr(s->path, '.');

	return dot ? dot + 1 : s->path;
}

/* Index of setting name in group (NULL: top level), or -1. */
static int cf_find(const char *group, const char *name)
{
	size_t i, glen = group ? strlen(group) : 0;
	const char *p;

	for (i = 0; i < N_SETTINGS; i++) {
		p = cf_schema[i].path;
		if (group == NULL) {
			if (strchr(p, '.') == NULL && strcmp(p, name) == 0)
				return (int)i;
		} else if (strncmp(p, group, glen) == 0 && p[glen] == '.' &&
		    strcmp(p + glen + 1, name) == 0)
			return (int)i;
	}
	return -1;
}

static int cf_index(const char *path)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++)
		if (strcmp(cf_schema[i].path, path) == 0)
			return (int)i;
	return -1;
}

/* A schema path the unknown group.name was probably meant to be, or NULL. */
static const char *cf_hint(const char *group, const char *name)
{
	size_t i, glen = group ? strlen(group) : 0;
	const char *p;

	for (i = 0; i < N_SETTINGS; i++) {
		p = cf_schema[i].path;
		if (group == NULL ? strcasecmp(p, name) == 0 :
		    strncasecmp(p, group, glen) == 0 && p[glen] == '.' &&
		    strcasecmp(p + glen + 1, name) == 0)
			return p;
	}
	for (i = 0; i < N_SETTINGS; i++)
		if (strcmp(cf_leaf(&cf_schema[i]), name) == 0)
			return cf_schema[i].path;
	return NULL;
}

static void cf_unknown(struct cf_ctx *ctx, unsigned line, const char *group, const char *name)
{
	const char *hint = cf_hint(group, name);

	cf_error(ctx, line, "unknown setting '%s%s%s'%s%s%s", group ? group : "",
	    group ? "." : "", name, hint ? " (did you mean '" : "", hint ? hint : "",
	    hint ? "'?)" : "");
}

static int cf_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* "a, b, c" into buf (truncated to fit). */
static const char *cf_join(const char *const *list, char *buf, size_t len)
{
	size_t used = 0;
	int n;

	buf[0] = '\0';
	for (; *list != NULL && used < len; list++) {
		n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *list);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

static const char *cf_typename(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* ---- lexical checks libconfig 1.5 does not make ---- */

/*
 * libconfig 1.5 silently truncates an integer literal that does not fit its
 * type (99999999999 becomes 1215752191), so every literal is checked here.
 */
static size_t cf_lex_number(struct cf_ctx *ctx, const char *p, unsigned line)
{
	const char *start = p;
	unsigned long long v = 0, limit;
	int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X'), over = 0, d, base;

	if (hex)
		p += 2;
	base = hex ? 16 : 10;
	for (; hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++) {
		d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (v > (ULLONG_MAX - (unsigned long long)d) / (unsigned long long)base)
			over = 1;
		else
			v = v * (unsigned long long)base + (unsigned long long)d;
	}
	if (!hex && (*p == '.' || *p == 'e' || *p == 'E')) {
		/* a floating-point literal: skip it */
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'e' || *p == 'E') {
			p++;
			if (*p == '+' || *p == '-')
				p++;
			for (; isdigit((unsigned char)*p); p++)
				;
		}
		return (size_t)(p - start);
	}
	limit = *p == 'L' ? (unsigned long long)LLONG_MAX : (unsigned long long)INT_MAX;
	if (over || v > limit)
		cf_error(ctx, line, "integer %.*s is too large", (int)((p - start) > 40 ? 40 :
		    (p - start)), start);
	while (*p == 'L')
		p++;
	return (size_t)(p - start);
}

static void cf_token(struct cf_ctx *ctx, char kind, char *start, size_t len,
    unsigned line)
{
	struct cf_token *grown;
	size_t cap;

	if (ctx->n_toks == ctx->cap_toks) {
		cap = ctx->cap_toks ? 2 * ctx->cap_toks : 256;
		if ((grown = realloc(ctx->toks, cap * sizeof(*grown))) == NULL) {
			ctx->oom = 1;
			return;
		}
		ctx->toks = grown;
		ctx->cap_toks = cap;
	}
	ctx->toks[ctx->n_toks].start = start;
	ctx->toks[ctx->n_toks].len = len;
	ctx->toks[ctx->n_toks].line = line;
	ctx->toks[ctx->n_toks].kind = kind;
	ctx->n_toks++;
}

/*
 * The line where entry index of the list setting name (written on line) starts,
 * or 0 when it cannot be found. libconfig 1.5 gives a string entry the line of
 * the token after it, so the last entry of a list written one entry per line
 * would be reported on the line of the closing bracket.
 */
static unsigned cf_elem_line(const struct cf_ctx *ctx, const char *name, unsigned line,
    unsigned index)
{
	const struct cf_token *t = ctx->toks;
	size_t n = ctx->n_toks, i, k, nlen = strlen(name);
	unsigned idx;
	int depth;

	for (i = 0; i + 2 < n; i++) {
		if (t[i].kind != 'n' || t[i].line != line || t[i].len != nlen ||
		    strncmp(t[i].start, name, nlen) != 0 ||
		    (t[i + 1].kind != '=' && t[i + 1].kind != ':') ||
		    (t[i + 2].kind != '[' && t[i + 2].kind != '('))
			continue;
		for (k = i + 3, idx = 0; k < n; idx++) {
			if (t[k].kind == ']' || t[k].kind == ')')
				return 0;
			if (idx == index)
				return t[k].line;
			if (t[k].kind == '[' || t[k].kind == '(' || t[k].kind == '{') {
				for (depth = 0; k < n; k++) {
					if (t[k].kind == '[' || t[k].kind == '(' || t[k].kind == '{')
						depth++;
					else if (t[k].kind == ']' || t[k].kind == ')' ||
					    t[k].kind == '}')
						depth--;
					if (depth == 0) {
						k++;
						break;
					}
				}
			} else if (t[k].kind == 's') {
				while (k < n && t[k].kind == 's')	/* "a" "b" is one string */
					k++;
			} else {
				if (t[k].kind == '-' || t[k].kind == '+')
					k++;
				k++;
			}
			if (k < n && t[k].kind == ',')
				k++;
		}
		return 0;
	}
	return 0;
}

/*
 * Scans the text as libconfig's scanner would (comments, strings, names) to
 * catch what libconfig 1.5 gets wrong: over-long integer literals, and
 * @include, which would read other files (and give their line numbers); it is
 * reported and turned into a comment, so the rest is still checked.
 */
static void cf_lex(struct cf_ctx *ctx, char *p)
{
	unsigned line = 1, first;
	char *start;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v') {
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p != '\0')
				p += 2;
		} else if (*p == '"') {
			start = p;
			first = line;
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p == '\0') {
				/* libconfig 1.5 would drop it silently */
				cf_error(ctx, first, "unterminated string");
				ctx->unterminated = 1;
				break;
			}
			p++;
			cf_token(ctx, 's', start, (size_t)(p - start), first);
		} else if (*p == '@') {
			if (strncmp(p, "@include", 8) == 0) {
				cf_error(ctx, line, "@include is not supported: keep the "
				    "configuration in one file");
				*p = '#';
				continue;
			}
			p++;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			start = p;
			while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '*')
				p++;
			cf_token(ctx, 'n', start, (size_t)(p - start), line);
		} else if (isdigit((unsigned char)*p)) {
			start = p;
			p += cf_lex_number(ctx, p, line);
			cf_token(ctx, '0', start, (size_t)(p - start), line);
		} else {
			cf_token(ctx, *p, p, 1, line);
			p++;
		}
	}
}

/*
 * libconfig 1.5 leaks a string token when the syntax error is found at it (its
 * parser has no destructor for the look-ahead). A string may only follow '=',
 * ':', another string, or '[', '(' or ',' inside a list; the first one found
 * elsewhere gets its quote replaced by '!', which libconfig rejects at the same
 * place without allocating.
 */
static void cf_guard_strings(struct cf_ctx *ctx)
{
	const struct cf_token *t = ctx->toks;
	char *stack = NULL, k, prev;
	size_t depth = 0, i;

	if ((stack = malloc(ctx->n_toks + 1)) == NULL) {
		ctx->oom = 1;
		goto out;
	}
	for (i = 0; i < ctx->n_toks; i++) {
		k = t[i].kind;
		if (k == '{' || k == '[' || k == '(') {
			stack[depth++] = k;
		} else if (k == '}' || k == ']' || k == ')') {
			if (depth == 0 || stack[depth - 1] != (k == '}' ? '{' : k == ']' ? '[' : '('))
				goto out;	/* libconfig stops here, before any later string */
			depth--;
		} else if (k == 's') {
			prev = i > 0 ? t[i - 1].kind : '\0';
			if (prev == '=' || prev == ':' || prev == 's')
				continue;
			if ((prev == '[' || prev == '(' || prev == ',') && depth > 0 &&
			    stack[depth - 1] != '{')
				continue;
			t[i].start[0] = '!';
			goto out;
		}
	}
out:
	free(stack);
}

/* ---- values ---- */

/* The field at off in obj: a struct config, config_template or config_profile. */
static void *cf_ptr(void *obj, size_t off)
{
	return (char *)obj + off;
}

static const void *cf_cptr(const void *obj, size_t off)
{
	return (const char *)obj + off;
}

/* Frees a setting's value and leaves the field empty (NULL, 0, no entries). */
static void cf_clear(const struct cf_setting *s, void *cfg)
{
	char **sp, **v;
	size_t *count, i;

	switch (s->type) {
	case CF_STRING:
	case CF_WORD:
	case CF_DIR:
	case CF_PATH:
		sp = cf_ptr(cfg, s->off);
		if (*sp != NULL && s->secret)
			OPENSSL_cleanse(*sp, strlen(*sp));
		free(*sp);
		*sp = NULL;
		break;
	case CF_WORDS:
	case CF_OIDS:
		v = cf_ptr(cfg, s->off);
		count = cf_ptr(cfg, s->count_off);
		for (i = 0; i < *count && i < s->max_items; i++) {
			free(v[i]);
			v[i] = NULL;
		}
		*count = 0;
		break;
	case CF_LISTEN:
		count = cf_ptr(cfg, s->count_off);
		memset(cf_ptr(cfg, s->off), 0, s->max_items * sizeof(struct config_listen));
		*count = 0;
		break;
	case CF_NETS:
		count = cf_ptr(cfg, s->count_off);
		memset(cf_ptr(cfg, s->off), 0, s->max_items * sizeof(struct config_net));
		*count = 0;
		break;
	case CF_KEYUSAGE:
		*(unsigned *)cf_ptr(cfg, s->off) = 0;
		break;
	case CF_BOOL:
		*(int *)cf_ptr(cfg, s->off) = 0;
		break;
	case CF_UINT:
		*(unsigned *)cf_ptr(cfg, s->off) = 0;
		break;
	case CF_SIZE:
		*(size_t *)cf_ptr(cfg, s->off) = 0;
		break;
	}
}

/*
 * Parses "A.B.C.D:PORT" or "[V6]:PORT" (numeric addresses, port 1..65535) into
 * out, with the address in canonical text form. Returns NULL or what is wrong.
 */
static const char *cf_listen_parse(const char *s, struct config_listen *out)
{
	const char *host, *port, *end;
	unsigned char addr[16];
	char buf[INET6_ADDRSTRLEN + 1];
	size_t hlen, i;
	unsigned long p = 0;
	int af;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return "missing ']' after the IPv6 address";
		if (end[1] != ':')
			return "expected ':PORT' after ']'";
		host = s + 1;
		hlen = (size_t)(end - host);
		port = end + 2;
		af = AF_INET6;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			return "expected ADDRESS:PORT";
		if (memchr(s, ':', (size_t)(end - s)) != NULL)
			return "write an IPv6 address in brackets: [ADDRESS]:PORT";
		host = s;
		hlen = (size_t)(end - s);
		port = end + 1;
		af = AF_INET;
	}
	if (hlen == 0)
		return "missing address";
	if (hlen >= sizeof(buf))
		return "address too long";
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return af == AF_INET ? "not a numeric IPv4 address (IPv6: [ADDRESS]:PORT)" :
		    "not a numeric IPv6 address";
	if (port[0] == '\0')
		return "missing port";
	for (i = 0; port[i] != '\0'; i++) {
		if (!isdigit((unsigned char)port[i]) || i >= 5)
			return "port must be a number from 1 to 65535";
		p = p * 10 + (unsigned long)(port[i] - '0');
	}
	if (p < 1 || p > 65535)
		return "port must be a number from 1 to 65535";
	if (inet_ntop(af, addr, out->host, sizeof(out->host)) == NULL)
		return "address cannot be printed";
	out->port = (unsigned)p;
	return NULL;
}

/*
 * Parses "ADDRESS" or "ADDRESS/PREFIX" (numeric IPv4 or IPv6, no brackets) into
 * out. Host bits beyond the prefix are refused. Returns NULL or what is wrong.
 */
static const char *cf_net_parse(const char *s, struct config_net *out)
{
	const char *slash = strchr(s, '/');
	char buf[INET6_ADDRSTRLEN + 1];
	size_t alen = slash ? (size_t)(slash - s) : strlen(s), i, max, bits;
	unsigned long p = 0;

	if (alen == 0)
		return "missing address";
	if (alen >= sizeof(buf))
		return "address too long";
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return "not a numeric IPv4 or IPv6 address";
	max = out->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->prefix = (unsigned)max;
		return NULL;
	}
	if (slash[1] == '\0')
		return "missing prefix length after '/'";
	for (i = 1; slash[i] != '\0'; i++) {
		if (!isdigit((unsigned char)slash[i]) || i > 3)
			return out->family == AF_INET ? "prefix length must be 0 to 32" :
			    "prefix length must be 0 to 128";
		p = p * 10 + (unsigned long)(slash[i] - '0');
	}
	if (p > max || (slash[1] == '0' && slash[2] != '\0'))
		return out->family == AF_INET ? "prefix length must be 0 to 32" :
		    "prefix length must be 0 to 128";
	out->prefix = (unsigned)p;
	for (bits = p; bits < max; bits++)
		if (out->addr[bits / 8] & (0x80 >> (bits % 8)))
			return "address has bits set beyond the prefix length";
	return NULL;
}

/* NULL when s names an OpenSSL object or is a dotted OID, else why not. */
static const char *cf_oid_check(const char *s)
{
	ASN1_OBJECT *obj;

	if (s[0] == '\0')
		return "empty name";
	if ((obj = OBJ_txt2obj(s, 0)) == NULL) {
		ERR_clear_error();
		return "neither an OpenSSL object name nor a dotted OID";
	}
	ASN1_OBJECT_free(obj);
	return NULL;
}

/* Adds one entry to the list setting s; reports why not at line. */
static void cf_list_add(struct cf_ctx *ctx, const struct cf_setting *s, void *cfg,
    const char *item, unsigned line)
{
	struct config_listen one, *l;
	struct config_net net, *nets;
	char **v, buf[256];
	const char *why;
	unsigned *bits;
	size_t *count = NULL, i;

	if (s->type != CF_KEYUSAGE)
		count = cf_ptr(cfg, s->count_off);
	switch (s->type) {
	case CF_LISTEN:
		l = cf_ptr(cfg, s->off);
		if ((why = cf_listen_parse(item, &one)) != NULL) {
			cf_error(ctx, line, "%s: \"%s\": %s", s->path, item, why);
			return;
		}
		for (i = 0; i < *count; i++) {
			if (l[i].port == one.port && strcmp(l[i].host, one.host) == 0) {
				cf_error(ctx, line, "%s: \"%s\" is listed twice", s->path, item);
				return;
			}
		}
		if (*count >= s->max_items)
			return;
		l[(*count)++] = one;
		break;
	case CF_NETS:
		nets = cf_ptr(cfg, s->off);
		if ((why = cf_net_parse(item, &net)) != NULL) {
			cf_error(ctx, line, "%s: \"%s\": %s", s->path, item, why);
			return;
		}
		for (i = 0; i < *count; i++) {
			if (nets[i].family == net.family && nets[i].prefix == net.prefix &&
			    memcmp(nets[i].addr, net.addr, sizeof(net.addr)) == 0) {
				cf_error(ctx, line, "%s: \"%s\" is listed twice", s->path, item);
				return;
			}
		}
		if (*count >= s->max_items)
			return;
		nets[(*count)++] = net;
		break;
	case CF_WORDS:
	case CF_OIDS:
		v = cf_ptr(cfg, s->off);
		if (s->type == CF_WORDS && s->choices == cf_caps_known &&
		    (strcmp(item, "Renewal") == 0 || strcmp(item, "GetNextCACert") == 0)) {
			cf_error(ctx, line, "%s: \"%s\" is not listed here: scepd announces it "
			    "by itself when %s", s->path, item, item[0] == 'R' ?
			    "renewal is enabled (renewal.enabled)" :
			    "a rollover CA waits (scepctl ca rollover)");
			return;
		}
		if (s->type == CF_WORDS && s->choices != NULL && !cf_in(s->choices, item)) {
			cf_error(ctx, line, "%s: unknown value \"%s\"; known: %s", s->path, item,
			    cf_join(s->choices, buf, sizeof(buf)));
			return;
		}
		if (s->type == CF_OIDS && (why = cf_oid_check(item)) != NULL) {
			cf_error(ctx, line, "%s: \"%s\": %s", s->path, item, why);
			return;
		}
		for (i = 0; (s->choices != NULL || s->type == CF_OIDS) && i < *count; i++) {
			if (strcmp(v[i], item) == 0) {
				cf_error(ctx, line, "%s: \"%s\" is listed twice", s->path, item);
				return;
			}
		}
		if (*count >= s->max_items)
			return;
		if ((v[*count] = cf_strdup(ctx, item)) == NULL)
			return;
		(*count)++;
		break;
	case CF_KEYUSAGE:
		bits = cf_ptr(cfg, s->off);
		for (i = 0; i < N_KEY_USAGES; i++)
			if (strcmp(cf_key_usages[i].name, item) == 0)
				break;
		if (i == N_KEY_USAGES) {
			cf_error(ctx, line, "%s: unknown key usage \"%s\"; known: digitalSignature, "
			    "nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement",
			    s->path, item);
			return;
		}
		if (*bits & cf_key_usages[i].bit) {
			cf_error(ctx, line, "%s: \"%s\" is listed twice", s->path, item);
			return;
		}
		*bits |= cf_key_usages[i].bit;
		break;
	default:
		break;
	}
}

/* Sets every field of obj described by table (n settings) to its default. */
static void cf_defaults_table(struct cf_ctx *ctx, const struct cf_setting *table, size_t n,
    void *cfg)
{
	const struct cf_setting *s;
	const char *const *item;
	size_t i;

	for (i = 0; i < n; i++) {
		s = &table[i];
		switch (s->type) {
		case CF_BOOL:
			*(int *)cf_ptr(cfg, s->off) = s->def_num != 0;
			break;
		case CF_UINT:
			*(unsigned *)cf_ptr(cfg, s->off) = (unsigned)s->def_num;
			break;
		case CF_SIZE:
			*(size_t *)cf_ptr(cfg, s->off) = (size_t)s->def_num;
			break;
		case CF_STRING:
		case CF_WORD:
		case CF_DIR:
		case CF_PATH:
			if (s->def_str != NULL)
				*(char **)cf_ptr(cfg, s->off) = cf_strdup(ctx, s->def_str);
			break;
		case CF_LISTEN:
		case CF_NETS:
		case CF_WORDS:
		case CF_OIDS:
		case CF_KEYUSAGE:
			for (item = s->def_list; item != NULL && *item != NULL; item++)
				cf_list_add(ctx, s, cfg, *item, 0);
			break;
		}
	}
}

static void cf_defaults(struct cf_ctx *ctx, struct config *cfg)
{
	cf_defaults_table(ctx, cf_schema, N_SETTINGS, cfg);
}

/* Reads the value of setting s from st into the object cfg, reporting what is wrong. */
static void cf_parse_value(struct cf_ctx *ctx, const struct cf_setting *s,
    const config_setting_t *st, void *cfg)
{
	const config_setting_t *el;
	unsigned line = config_setting_source_line(st), eline;
	int type = config_setting_type(st), n, i;
	const char *str;
	char **sp, buf[512];
	long long v;

	switch (s->type) {
	case CF_BOOL:
		if (type != CONFIG_TYPE_BOOL) {
			cf_error(ctx, line, "%s: expected true or false, got %s", s->path,
			    cf_typename(type));
			return;
		}
		*(int *)cf_ptr(cfg, s->off) = config_setting_get_bool(st) ? 1 : 0;
		break;
	case CF_UINT:
	case CF_SIZE:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			cf_error(ctx, line, "%s: expected an integer, got %s", s->path,
			    cf_typename(type));
			return;
		}
		v = type == CONFIG_TYPE_INT ? config_setting_get_int(st) :
		    config_setting_get_int64(st);
		if (v < s->min || v > s->max) {
			/*
			 * An int literal too large for libconfig was truncated and
			 * reported by cf_lex(): do not report the truncated value.
			 */
			if (type != CONFIG_TYPE_INT || !cf_line_has_error(ctx, line))
				cf_error(ctx, line, "%s: %lld is out of range (%lld..%lld)", s->path,
				    v, s->min, s->max);
			return;
		}
		if (s->type == CF_UINT)
			*(unsigned *)cf_ptr(cfg, s->off) = (unsigned)v;
		else
			*(size_t *)cf_ptr(cfg, s->off) = (size_t)v;
		break;
	case CF_STRING:
	case CF_WORD:
	case CF_DIR:
	case CF_PATH:
		if (type != CONFIG_TYPE_STRING) {
			cf_error(ctx, line, "%s: expected a string in double quotes, got %s",
			    s->path, cf_typename(type));
			return;
		}
		str = config_setting_get_string(st);
		if (s->type != CF_STRING && str[0] == '\0') {
			cf_error(ctx, line, "%s: must not be empty", s->path);
			return;
		}
		if (s->type == CF_WORD && !cf_in(s->choices, str)) {
			cf_error(ctx, line, "%s: unknown value \"%s\"; known: %s", s->path, str,
			    cf_join(s->choices, buf, sizeof(buf)));
			return;
		}
		cf_clear(s, cfg);
		sp = cf_ptr(cfg, s->off);
		*sp = cf_strdup(ctx, str);
		break;
	case CF_LISTEN:
	case CF_NETS:
	case CF_WORDS:
	case CF_OIDS:
	case CF_KEYUSAGE:
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
			cf_error(ctx, line, "%s: expected a list of strings like [ \"a\", \"b\" ], "
			    "got %s", s->path, cf_typename(type));
			return;
		}
		n = config_setting_length(st);
		if (s->type != CF_KEYUSAGE && (size_t)n > s->max_items) {
			cf_error(ctx, line, "%s: %d entries, at most %zu allowed", s->path, n,
			    s->max_items);
			return;
		}
		if (n < s->min) {
			cf_error(ctx, line, "%s: needs at least %lld %s", s->path, s->min,
			    s->min == 1 ? "entry" : "entries");
			return;
		}
		cf_clear(s, cfg);
		for (i = 0; i < n; i++) {
			el = config_setting_get_elem(st, (unsigned)i);
			if ((eline = cf_elem_line(ctx, config_setting_name(st), line,
			    (unsigned)i)) == 0)
				eline = config_setting_source_line(el);
			if (eline == 0)
				eline = line;
			if (config_setting_type(el) != CONFIG_TYPE_STRING) {
				cf_error(ctx, eline, "%s: entry %d: expected a string, got %s",
				    s->path, i + 1, cf_typename(config_setting_type(el)));
				continue;
			}
			cf_list_add(ctx, s, cfg, config_setting_get_string(el), eline);
		}
		break;
	}
}

static void cf_parse(struct cf_ctx *ctx, size_t idx, const config_setting_t *st,
    struct config *cfg)
{
	unsigned line = config_setting_source_line(st);

	ctx->line[idx] = line ? line : 1;
	cf_parse_value(ctx, &cf_schema[idx], st, cfg);
}

/* Index of the element setting called leaf in table, or -1. */
static int cf_elem_find(const struct cf_setting *table, size_t n, const char *leaf)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cf_leaf(&table[i]), leaf) == 0)
			return (int)i;
	return -1;
}

/* Copies the value of top-level setting src into the element setting dst of obj. */
static void cf_copy(struct cf_ctx *ctx, const struct cf_setting *dst, void *obj,
    const struct cf_setting *src, const struct config *cfg)
{
	char *const *v;
	const char *str;
	size_t i, n;

	switch (dst->type) {
	case CF_BOOL:
		*(int *)cf_ptr(obj, dst->off) = *(const int *)cf_cptr(cfg, src->off);
		break;
	case CF_UINT:
	case CF_KEYUSAGE:
		*(unsigned *)cf_ptr(obj, dst->off) = *(const unsigned *)cf_cptr(cfg, src->off);
		break;
	case CF_SIZE:
		*(size_t *)cf_ptr(obj, dst->off) = *(const size_t *)cf_cptr(cfg, src->off);
		break;
	case CF_STRING:
	case CF_WORD:
	case CF_DIR:
	case CF_PATH:
		cf_clear(dst, obj);
		if ((str = *(char *const *)cf_cptr(cfg, src->off)) != NULL)
			*(char **)cf_ptr(obj, dst->off) = cf_strdup(ctx, str);
		break;
	case CF_WORDS:
	case CF_OIDS:
		cf_clear(dst, obj);
		v = cf_cptr(cfg, src->off);
		n = *(const size_t *)cf_cptr(cfg, src->count_off);
		for (i = 0; i < n; i++)
			cf_list_add(ctx, dst, obj, v[i], 0);
		break;
	case CF_LISTEN:
	case CF_NETS:
		break;
	}
}

/*
 * Parses the list of groups ctx->list[id] into cfg (templates, profiles or
 * backends); the lines go to cf_list_lines().
 */
static void cf_parse_list(struct cf_ctx *ctx, enum cf_list_id id, struct config *cfg)
{
	const struct cf_list *L = &cf_lists[id];
	const config_setting_t *st = ctx->list[id], *el, *c;
	const struct cf_setting *table = L->table;
	const char *what = L->name;
	size_t n_set = L->n_set, elem_size = L->elem_size;
	unsigned line = config_setting_source_line(st), *l;
	int i, j, n, k, idx;
	char *elems, *obj;

	n = config_setting_length(st);
	if ((size_t)n > L->max) {
		cf_error(ctx, line, "%s: %d entries, at most %zu allowed", what, n, L->max);
		return;
	}
	if (n == 0)
		return;
	if ((elems = calloc((size_t)n, elem_size)) == NULL) {
		ctx->oom = 1;
		return;
	}
	cf_list_set(cfg, id, elems, (size_t)n);
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(st, (unsigned)i);
		obj = elems + (size_t)i * elem_size;
		l = cf_list_lines(ctx, id) + (size_t)i * (n_set + 1);
		cf_defaults_table(ctx, table, n_set, obj);
		l[0] = config_setting_source_line(el) ? config_setting_source_line(el) : line;
		if (!config_setting_is_group(el)) {
			cf_error(ctx, l[0], "%s: entry %d: expected a group { ... }", what, i + 1);
			continue;
		}
		k = config_setting_length(el);
		for (j = 0; j < k; j++) {
			c = config_setting_get_elem(el, (unsigned)j);
			if (config_setting_name(c) == NULL)
				continue;
			if ((idx = cf_elem_find(table, n_set, config_setting_name(c))) < 0) {
				cf_error(ctx, config_setting_source_line(c), "unknown setting "
				    "'%s.%s'", what, config_setting_name(c));
				continue;
			}
			l[1 + idx] = config_setting_source_line(c) ? config_setting_source_line(c) :
			    l[0];
			cf_parse_value(ctx, &table[idx], c, obj);
		}
		for (j = 0; j < (int)n_set; j++) {
			if (table[j].required && l[1 + j] == 0)
				cf_error(ctx, l[0], "%s: entry %d has no %s", what, i + 1,
				    cf_leaf(&table[j]));
		}
	}
}

/* Sets what profile settings that were not given inherit from the top level. */
static void cf_inherit(struct cf_ctx *ctx, struct config *cfg)
{
	struct config_profile *p;
	const unsigned *l;
	size_t i, j;
	int src;

	for (i = 0; i < cfg->n_profiles; i++) {
		p = &cfg->profiles[i];
		l = ctx->prof_line[i];
		for (j = 0; j < N_PROF_SETTINGS; j++) {
			if (l[1 + j] != 0 || cf_prof_schema[j].inherit == NULL)
				continue;
			if ((src = cf_index(cf_prof_schema[j].inherit)) < 0)
				continue;
			cf_copy(ctx, &cf_prof_schema[j], p, &cf_schema[src], cfg);
		}
		/* Algorithms: what the scep group allows. */
		if (l[1 + cf_elem_find(cf_prof_schema, N_PROF_SETTINGS, "digests")] == 0) {
			j = (size_t)cf_elem_find(cf_prof_schema, N_PROF_SETTINGS, "digests");
			cf_clear(&cf_prof_schema[j], p);
			if (cfg->allow_md5)
				cf_list_add(ctx, &cf_prof_schema[j], p, "MD5", 0);
			if (cfg->allow_sha1)
				cf_list_add(ctx, &cf_prof_schema[j], p, "SHA-1", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "SHA-224", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "SHA-256", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "SHA-384", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "SHA-512", 0);
		}
		if (l[1 + cf_elem_find(cf_prof_schema, N_PROF_SETTINGS, "ciphers")] == 0) {
			j = (size_t)cf_elem_find(cf_prof_schema, N_PROF_SETTINGS, "ciphers");
			cf_clear(&cf_prof_schema[j], p);
			if (cfg->allow_des)
				cf_list_add(ctx, &cf_prof_schema[j], p, "DES", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "DES3", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "AES-128", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "AES-192", 0);
			cf_list_add(ctx, &cf_prof_schema[j], p, "AES-256", 0);
		}
	}
}

/* Index of the list of groups called name, or -1. */
static int cf_list_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_LISTS; i++)
		if (strcmp(cf_lists[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Walks the parsed file: every setting must be in the schema. */
static void cf_walk(struct cf_ctx *ctx, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *m, *c;
	const char *name;
	unsigned line;
	int i, j, n, k, g, l, idx;

	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(root, (unsigned)i);
		name = config_setting_name(m);
		line = config_setting_source_line(m);
		if (name == NULL)
			continue;
		if ((g = cf_group_find(name)) >= 0) {
			if (!config_setting_is_group(m)) {
				cf_error(ctx, line, "'%s' must be a group: %s = { ... };", name, name);
				continue;
			}
			ctx->group_line[g] = line ? line : 1;
			k = config_setting_length(m);
			for (j = 0; j < k; j++) {
				c = config_setting_get_elem(m, (unsigned)j);
				if (config_setting_name(c) == NULL)
					continue;
				if ((idx = cf_find(name, config_setting_name(c))) < 0)
					cf_unknown(ctx, config_setting_source_line(c), name,
					    config_setting_name(c));
				else
					cf_parse(ctx, (size_t)idx, c, cfg);
			}
		} else if ((l = cf_list_find(name)) >= 0) {
			if (config_setting_type(m) != CONFIG_TYPE_LIST) {
				cf_error(ctx, line, "'%s' must be a list of groups: %s = ( { ... }, "
				    "{ ... } );", name, name);
				continue;
			}
			ctx->list[l] = m;
		} else if ((idx = cf_find(NULL, name)) >= 0) {
			cf_parse(ctx, (size_t)idx, m, cfg);
		} else {
			cf_unknown(ctx, line, NULL, name);
		}
	}
}

/* ---- paths ---- */

/*
 * Cleans a path in place: no empty or "." components, no trailing '/'. ".." is
 * kept (a symlink may stand before it). An empty relative path becomes ".";
 * the buffer must have room for 2 bytes.
 */
static void cf_path_clean(char *s)
{
	char *r = s, *w = s, *comp;
	size_t clen;

	if (*r == '/')
		*w++ = '/';
	while (*r != '\0') {
		while (*r == '/')
			r++;
		if (*r == '\0')
			break;
		comp = r;
		while (*r != '\0' && *r != '/')
			r++;
		clen = (size_t)(r - comp);
		if (clen == 1 && comp[0] == '.')
			continue;
		if (w > s && w[-1] != '/')
			*w++ = '/';
		memmove(w, comp, clen);
		w += clen;
	}
	if (w == s)
		*w++ = '.';
	*w = '\0';
}

/* name when absolute, else base/name; cleaned; allocated with alloc (NULL on failure). */
static char *cf_path_join(const char *base, const char *name, void *(*alloc)(size_t))
{
	size_t blen = (name[0] == '/' || base == NULL) ? 0 : strlen(base);
	size_t nlen = strlen(name);
	char *p;

	if ((p = alloc(blen + 1 + nlen + 2)) == NULL)
		return NULL;
	memcpy(p, base, blen);
	p[blen] = '/';
	memcpy(p + (blen ? blen + 1 : 0), name, nlen + 1);
	cf_path_clean(p);
	return p;
}

/* The directory part of path ("." when it has none); malloc'd. */
static char *cf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash == NULL ? 0 : (size_t)(slash - path);
	char *d;

	if (slash == path)
		len = 1;
	if ((d = malloc(len + 2)) == NULL)
		return NULL;
	if (slash == NULL) {
		strcpy(d, ".");
	} else {
		memcpy(d, path, len);
		d[len] = '\0';
	}
	return d;
}

/* Resolves the field of s against base (when relative) and cleans it. */
static void cf_resolve(struct cf_ctx *ctx, const struct cf_setting *s, void *cfg,
    const char *base)
{
	char **sp = cf_ptr(cfg, s->off), *p;

	/* a PostgreSQL URI, or a key in a token: not a file */
	if (*sp == NULL || store_is_postgresql(*sp) || pkcs11uri_is_uri(*sp))
		return;
	if ((p = cf_path_join(base, *sp, malloc)) == NULL) {
		ctx->oom = 1;
		return;
	}
	free(*sp);
	*sp = p;
}

/* The line a setting was given on, or else its group's line, or else 0. */
static unsigned cf_line_of(const struct cf_ctx *ctx, const char *path)
{
	int i = cf_index(path), g;

	if (i < 0)
		return 0;
	if (ctx->line[i] != 0)
		return ctx->line[i];
	g = cf_group_of(&cf_schema[i]);
	return g >= 0 ? ctx->group_line[g] : 0;
}

/* HTTP and HTTPS listeners: at least one, none twice, HTTPS with its certificate. */
static void cf_check_listeners(struct cf_ctx *ctx, struct config *cfg)
{
	size_t i, j;

	/* Only when the lists themselves were fine: bad entries are left out of them. */
	if (ctx->n_errs == 0 && cfg->n_listen == 0 && cfg->n_tls_listen == 0)
		cf_error(ctx, cf_line_of(ctx, "http.listen"), "http.listen and tls.listen are "
		    "both empty: scepd would not listen anywhere");
	for (i = 0; i < cfg->n_tls_listen; i++)
		for (j = 0; j < cfg->n_listen; j++)
			if (cfg->tls_listen[i].port == cfg->listen[j].port &&
			    strcmp(cfg->tls_listen[i].host, cfg->listen[j].host) == 0)
				cf_error(ctx, cf_line_of(ctx, "tls.listen"), "tls.listen: \"%s%s%s:%u\" "
				    "is in http.listen too", strchr(cfg->listen[j].host, ':') ? "[" : "",
				    cfg->listen[j].host, strchr(cfg->listen[j].host, ':') ? "]" : "",
				    cfg->listen[j].port);
	if (cfg->n_tls_listen > 0 && (cfg->tls_cert == NULL || cfg->tls_key == NULL))
		cf_error(ctx, cf_line_of(ctx, "tls.listen"), "tls.cert and tls.key are required "
		    "when tls.listen is not empty");
}

/* Checks that span settings, then resolves relative paths. */

/* The line of element setting leaf of element lines l (or of the element). */
static unsigned cf_elem_line_of(const unsigned *l, const struct cf_setting *table, size_t n,
    const char *leaf)
{
	int j = cf_elem_find(table, n, leaf);

	return j >= 0 && l[1 + j] != 0 ? l[1 + j] : l[0];
}

/* The most atoms a pattern may hold once its repetitions are written out (glibc: ~50 MB). */
#define CF_REGEX_MAX_ATOMS 2500
#define CF_REGEX_MAX_DEPTH 32

/* What one more repetition makes of w atoms repeated by factor, saturating. */
static long cf_regex_times(long w, long factor)
{
	return w > CF_REGEX_MAX_ATOMS * 4L / factor ? CF_REGEX_MAX_ATOMS * 4L : w * factor;
}

/*
 * How many atoms glibc's regcomp makes of an extended regular expression, at
 * most: it writes every repetition out ({n,m} as m + 1 copies, + as two), and
 * its memory grows with the square of that (a{1,32767} took 8 GB). -1 when a
 * duplication symbol follows another (POSIX leaves that undefined; glibc
 * doubles its tree for each: "a" and twenty "+" took 700 MB); -2 when groups nest
 * deeper than CF_REGEX_MAX_DEPTH. What regcomp refuses anyway is counted
 * loosely: regcomp says why.
 */
static long cf_regex_atoms(const char *p)
{
	long sum[CF_REGEX_MAX_DEPTH + 1] = { 0 }, last[CF_REGEX_MAX_DEPTH + 1] = { 0 };
	int depth = 0, after_dup = 0;
	size_t i = 0;

	while (p[i] != '\0') {
		long add = 1, factor = 0;

		switch (p[i]) {
		case '\\':
			i += p[i + 1] != '\0' ? 2 : 1;
			break;
		case '[':
			/* a bracket expression: one atom, "]" first is a member */
			i++;
			if (p[i] == '^')
				i++;
			if (p[i] == ']')
				i++;
			while (p[i] != '\0' && p[i] != ']') {
				if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
					char close = p[i + 1];

					for (i += 2; p[i] != '\0' && !(p[i] == close && p[i + 1] == ']'); i++)
						;
					if (p[i] != '\0')
						i++;
				}
				if (p[i] != '\0')
					i++;
			}
			if (p[i] != '\0')
				i++;
			break;
		case '(':
			if (depth == CF_REGEX_MAX_DEPTH)
				return -2;
			depth++;
			sum[depth] = last[depth] = 0;
			after_dup = 0;
			i++;
			continue;
		case ')':
			if (depth == 0) {
				i++;
				break;
			}
			add = sum[depth] > 0 ? sum[depth] : 1;
			depth--;
			i++;
			break;
		case '*': case '+': case '?':
			factor = 2;
			i++;
			break;
		case '{':
			/* {n}, {n,}, {n,m} and glibc's {,m}: as many copies as the larger bound */
			if ((p[i + 1] >= '0' && p[i + 1] <= '9') || p[i + 1] == ',') {
				long lo = 0, hi = 0, *bound = &lo;

				for (i++; (p[i] >= '0' && p[i] <= '9') || p[i] == ','; i++)
					if (p[i] == ',')
						bound = &hi;
					else if (*bound < 100000)
						*bound = *bound * 10 + (p[i] - '0');
				if (p[i] == '}')
					i++;
				factor = (hi > lo ? hi : lo) + 1;
				if (factor < 2)
					factor = 2;
			} else {
				i++;
			}
			break;
		case '|': case '^': case '$':
			after_dup = 0;
			last[depth] = 0;
			i++;
			continue;
		default:
			i++;
			break;
		}
		if (factor > 0) {
			if (after_dup)
				return -1;
			after_dup = 1;
			sum[depth] += cf_regex_times(last[depth], factor) - last[depth];
			last[depth] = cf_regex_times(last[depth], factor);
		} else {
			after_dup = 0;
			sum[depth] += add;
			last[depth] = add;
		}
		if (sum[depth] > CF_REGEX_MAX_ATOMS * 4L)
			sum[depth] = CF_REGEX_MAX_ATOMS * 4L;
	}
	while (depth > 0) {
		sum[depth - 1] += sum[depth];
		depth--;
	}
	return sum[0];
}

/* Reports pattern (of setting path) when it is not a POSIX extended regular expression. */
static void cf_check_regex(struct cf_ctx *ctx, unsigned line, const char *path,
    const char *pattern)
{
	regex_t re;
	char buf[160];
	long atoms;
	int rc;

	if (pattern == NULL || pattern[0] == '\0')
		return;
	/* checked before regcomp, which could take gigabytes */
	if ((atoms = cf_regex_atoms(pattern)) == -1) {
		cf_error(ctx, line, "%s: a repetition (*, +, ? or {n,m}) follows another one, which "
		    "POSIX leaves undefined", path);
		return;
	}
	if (atoms < 0) {
		cf_error(ctx, line, "%s: groups nest deeper than %d", path, CF_REGEX_MAX_DEPTH);
		return;
	}
	if (atoms > CF_REGEX_MAX_ATOMS) {
		cf_error(ctx, line, "%s: the expression holds more than %d atoms once its "
		    "repetitions are written out; use smaller {n,m} bounds", path,
		    CF_REGEX_MAX_ATOMS);
		return;
	}
	if ((rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, buf, sizeof(buf));
		cf_error(ctx, line, "%s: not a POSIX extended regular expression: %s", path, buf);
		return;
	}
	regfree(&re);
}

/* 1 when name is "default" or the name of a template in the list. */
static int cf_template_known(const struct config *cfg, const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	if (strcmp(name, "default") == 0)
		return 1;
	for (i = 0; i < cfg->n_templates; i++)
		if (cfg->templates[i].name != NULL && strcmp(cfg->templates[i].name, name) == 0)
			return 1;
	return 0;
}

/* 1 when s is a usable name: 1..64 letters, digits, '-', '_'. */
static int cf_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/*
 * The name of element i of list (templates, profiles, backends; each element
 * of elem_size bytes, lines l): usable, not "default" (default_is says what
 * that name is), and not an earlier element's.
 */
static void cf_check_elem_name(struct cf_ctx *ctx, const char *list,
    const struct cf_setting *table, size_t n_set, const void *elems, size_t elem_size,
    size_t i, const unsigned *l, const char *default_is)
{
	size_t off = table[cf_elem_find(table, n_set, "name")].off, j;
	const char *name = *(char *const *)((const char *)elems + i * elem_size + off), *other;

	if (name == NULL)
		return;
	if (!cf_name_ok(name) || strcmp(name, "default") == 0)
		cf_error(ctx, cf_elem_line_of(l, table, n_set, "name"), "%s.name: \"%s\" is not a "
		    "usable name (letters, digits, '-', '_'; %s)", list, name, default_is);
	for (j = 0; j < i; j++) {
		other = *(char *const *)((const char *)elems + j * elem_size + off);
		if (other != NULL && strcmp(other, name) == 0)
			cf_error(ctx, l[0], "%s.name: \"%s\" is defined twice", list, name);
	}
}

static void cf_check_templates(struct cf_ctx *ctx, struct config *cfg)
{
	const struct config_template *t;
	const unsigned *l;
	size_t i;
	static const char *const refs[] = {
		"SignatureTemplate", "EncryptionTemplate", "GeneralPurposeTemplate"
	};
	const char *vals[3];

	cf_check_regex(ctx, cf_line_of(ctx, "certificate.subject_pattern"),
	    "certificate.subject_pattern", cfg->subject_pattern);
	cf_check_regex(ctx, cf_line_of(ctx, "certificate.san_pattern"),
	    "certificate.san_pattern", cfg->san_pattern);
	for (i = 0; i < cfg->n_templates; i++) {
		t = &cfg->templates[i];
		l = ctx->tmpl_line[i];
		if (t->name == NULL)
			continue;
		cf_check_elem_name(ctx, "templates", cf_tmpl_schema, N_TMPL_SETTINGS, cfg->templates,
		    sizeof(*t), i, l, "\"default\" is the certificate group");
		cf_check_regex(ctx, cf_elem_line_of(l, cf_tmpl_schema, N_TMPL_SETTINGS,
		    "subject_pattern"), "templates.subject_pattern", t->subject_pattern);
		cf_check_regex(ctx, cf_elem_line_of(l, cf_tmpl_schema, N_TMPL_SETTINGS,
		    "san_pattern"), "templates.san_pattern", t->san_pattern);
	}
	vals[0] = cfg->signature_template;
	vals[1] = cfg->encryption_template;
	vals[2] = cfg->general_purpose_template;
	for (i = 0; i < 3; i++)
		if (!cf_template_known(cfg, vals[i]))
			cf_error(ctx, cf_line_of(ctx, refs[i]), "%s: no template named \"%s\" "
			    "(\"default\" or a name in templates)", refs[i],
			    vals[i] != NULL ? vals[i] : "");
}

/* SCEP paths scepd always serves (scep.c); a profile path must differ. */
static const char *const cf_builtin_paths[] = {
	"/certsrv/mscep/mscep.dll", "/certsrv/mscep", "/cgi-bin/pkiclient.exe", "/scep",
	"/certsrv/mscep_admin", "/certsrv/mscep_admin/mscep.dll", NULL
};

/* NULL when path is usable as an HTTP path of its own, else why not. */
static const char *cf_http_path_check(const char *path)
{
	size_t i;

	if (path[0] != '/')
		return "must start with '/'";
	if (strlen(path) > 200)
		return "is longer than 200 bytes";
	for (i = 0; path[i] != '\0'; i++)
		if ((unsigned char)path[i] <= 0x20 || path[i] == '?' || path[i] == '#' ||
		    path[i] == '%' || (unsigned char)path[i] >= 0x7f)
			return "may only hold printable ASCII without spaces, '?', '#' and '%'";
	if (strcmp(path, "/") == 0 || path[i - 1] == '/')
		return "must not end with '/'";
	for (i = 0; cf_builtin_paths[i] != NULL; i++)
		if (strcasecmp(path, cf_builtin_paths[i]) == 0)
			return "is one of the built-in SCEP paths";
	return NULL;
}

static void cf_check_profiles(struct cf_ctx *ctx, struct config *cfg)
{
	struct config_profile *p;
	const unsigned *l;
	const char *why;
	char *path;
	size_t i, j;
	int n_ra;

	for (i = 0; i < cfg->n_profiles; i++) {
		p = &cfg->profiles[i];
		l = ctx->prof_line[i];
		if (p->name == NULL)
			continue;
		cf_check_elem_name(ctx, "profiles", cf_prof_schema, N_PROF_SETTINGS, cfg->profiles,
		    sizeof(*p), i, l, "not \"default\"");
		if (p->path != NULL && p->path[0] == '\0' && cf_name_ok(p->name)) {
			if ((path = malloc(strlen(p->name) + 7)) == NULL) {
				ctx->oom = 1;
				return;
			}
			snprintf(path, strlen(p->name) + 7, "/scep/%s", p->name);
			free(p->path);
			p->path = path;
		}
		if (p->path != NULL && p->path[0] != '\0') {
			if ((why = cf_http_path_check(p->path)) != NULL)
				cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS, "path"),
				    "profiles.path: \"%s\" %s", p->path, why);
			else if (cfg->crl_path != NULL && strcasecmp(p->path, cfg->crl_path) == 0)
				cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS, "path"),
				    "profiles.path: \"%s\" is crl.path", p->path);
			for (j = 0; j < i; j++)
				if (cfg->profiles[j].path != NULL &&
				    strcasecmp(cfg->profiles[j].path, p->path) == 0)
					cf_error(ctx, cf_elem_line_of(l, cf_prof_schema,
					    N_PROF_SETTINGS, "path"), "profiles.path: \"%s\" is used by "
					    "profile \"%s\" already", p->path, cfg->profiles[j].name);
		}
		if (!cf_template_known(cfg, p->signature_template))
			cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS,
			    "SignatureTemplate"), "profiles.SignatureTemplate: no template named "
			    "\"%s\"", p->signature_template ? p->signature_template : "");
		if (!cf_template_known(cfg, p->encryption_template))
			cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS,
			    "EncryptionTemplate"), "profiles.EncryptionTemplate: no template named "
			    "\"%s\"", p->encryption_template ? p->encryption_template : "");
		if (!cf_template_known(cfg, p->general_purpose_template))
			cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS,
			    "GeneralPurposeTemplate"), "profiles.GeneralPurposeTemplate: no template "
			    "named \"%s\"", p->general_purpose_template ?
			    p->general_purpose_template : "");
		if (p->use_single_password && (p->single_password == NULL ||
		    p->single_password[0] == '\0'))
			cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS,
			    "UseSinglePassword"), "profiles.SinglePassword must be set when "
			    "UseSinglePassword is true");
		for (j = 0; j < p->n_ciphers; j++)
			if (strcmp(p->ciphers[j], "DES") == 0 && !cfg->allow_des)
				cf_error(ctx, cf_elem_line_of(l, cf_prof_schema, N_PROF_SETTINGS,
				    "ciphers"), "profiles.ciphers: DES needs scep.allow_des = true "
				    "(it loads OpenSSL's legacy provider)");
		n_ra = (p->ra_sign_cert != NULL) + (p->ra_sign_key != NULL) +
		    (p->ra_enc_cert != NULL) + (p->ra_enc_key != NULL);
		if (n_ra != 0 && n_ra != 4)
			cf_error(ctx, l[0], "profiles: ra_sign_cert, ra_sign_key, ra_enc_cert and "
			    "ra_enc_key are given together or not at all");
	}
}

/*
 * The settings of backend b (the backend group, pre "backend.", or a backends
 * entry) that depend on each other; line(b, leaf) is where leaf was given.
 */
static void cf_check_one_backend(struct cf_ctx *ctx, const struct config_backend *b,
    const char *pre, unsigned tline, unsigned uline, unsigned pline)
{
	int ra = cf_group_find("ra");

	if (b->url != NULL && strncmp(b->url, "http://", 7) != 0 &&
	    strncmp(b->url, "https://", 8) != 0)
		cf_error(ctx, uline, "%surl: \"%s\" is not an http:// or https:// URL", pre,
		    b->url);
	if (b->type == NULL)
		return;
	if (strcmp(b->type, "scep") == 0) {
		if (b->url == NULL)
			cf_error(ctx, tline, "%surl must be set when %stype is \"scep\"", pre, pre);
		if (ctx->group_line[ra] == 0)
			cf_error(ctx, tline, "%stype \"scep\" needs the ra group: scepd signs "
			    "the requests it forwards with its RA signing certificate", pre);
	}
	if (strcmp(b->type, "exec") == 0 && b->program == NULL)
		cf_error(ctx, pline ? pline : tline,
		    "%sprogram must be set when %stype is \"exec\"", pre, pre);
}

/* The backend group, the backends list, and the backend each profile names. */
static void cf_check_backends(struct cf_ctx *ctx, const struct config *cfg)
{
	const struct config_backend *b;
	const unsigned *l;
	size_t i;
	unsigned tline = cf_line_of(ctx, "backend.type");

	cf_check_one_backend(ctx, &cfg->backend, "backend.", tline ? tline : 1,
	    cf_line_of(ctx, "backend.url"), cf_line_of(ctx, "backend.program"));
	for (i = 0; i < cfg->n_backends; i++) {
		b = &cfg->backends[i];
		l = ctx->bk_line[i];
		if (b->name == NULL)
			continue;
		cf_check_elem_name(ctx, "backends", cf_bk_schema, N_BK_SETTINGS, cfg->backends,
		    sizeof(*b), i, l, "\"default\" is the backend group");
		cf_check_one_backend(ctx, b, "backends.",
		    cf_elem_line_of(l, cf_bk_schema, N_BK_SETTINGS, "type"),
		    cf_elem_line_of(l, cf_bk_schema, N_BK_SETTINGS, "url"),
		    cf_elem_line_of(l, cf_bk_schema, N_BK_SETTINGS, "program"));
	}
	for (i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].backend != NULL &&
		    config_backend_find(cfg, cfg->profiles[i].backend) == NULL)
			cf_error(ctx, cf_elem_line_of(ctx->prof_line[i], cf_prof_schema,
			    N_PROF_SETTINGS, "backend"), "profiles.backend: no backend named \"%s\" "
			    "(\"default\" or a name in backends)", cfg->profiles[i].backend);
}

/*
 * NULL when url may carry a validator's requests: https://, or http:// to a
 * loopback address (127.0.0.0/8, [::1]); else why not.
 */
static const char *cf_validator_url_check(const char *url)
{
	const char *host, *end;
	char buf[64];
	unsigned char addr[16];
	size_t n;

	for (n = 0; url[n] != '\0'; n++)
		if ((unsigned char)url[n] <= 0x20 || (unsigned char)url[n] >= 0x7f)
			return "spaces and non-ASCII characters must be percent-encoded";
	if (strncmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/' ? NULL : "has no host";
	if (strncmp(url, "http://", 7) != 0)
		return "is not an https:// URL";
	host = url + 7;
	if (host[0] == '[') {
		host++;
		end = strchr(host, ']');
	} else {
		end = host + strcspn(host, ":/?#");
	}
	n = end != NULL ? (size_t)(end - host) : 0;
	if (n > 0 && n < sizeof(buf)) {
		memcpy(buf, host, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET, buf, addr) == 1 && addr[0] == 127)
			return NULL;
		if (inet_pton(AF_INET6, buf, addr) == 1 && memcmp(addr, &in6addr_loopback, 16) == 0)
			return NULL;
	}
	return "uses http://, which is only allowed to a loopback address (127.0.0.0/8 or "
	    "[::1]); use https://";
}

/* The validators list, and the validator challenge.validator and each profile name. */
static void cf_check_validators(struct cf_ctx *ctx, const struct config *cfg)
{
	const struct config_validator *v;
	const unsigned *l;
	const char *why;
	unsigned tl;
	size_t i;

#define VLINE(leaf) cf_elem_line_of(l, cf_val_schema, N_VAL_SETTINGS, leaf)
	for (i = 0; i < cfg->n_validators; i++) {
		v = &cfg->validators[i];
		l = ctx->val_line[i];
		if (v->name == NULL || v->type == NULL)
			continue;
		cf_check_elem_name(ctx, "validators", cf_val_schema, N_VAL_SETTINGS,
		    cfg->validators, sizeof(*v), i, l, "not \"default\"");
		tl = VLINE("type") ? VLINE("type") : l[0];
		if (strcmp(v->type, "intune") == 0) {
			if (v->tenant == NULL || v->client_id == NULL)
				cf_error(ctx, tl, "validators.tenant and validators.client_id must be "
				    "set when validators.type is \"intune\"");
			if ((v->client_secret_file != NULL) + (v->client_secret_credential != NULL) +
			    (v->client_certificate != NULL) != 1)
				cf_error(ctx, tl, "validators: type intune takes exactly one of "
				    "client_secret_file, client_secret_credential and "
				    "client_certificate (with client_key)");
		}
		if (v->authority_url != NULL &&
		    (why = cf_validator_url_check(v->authority_url)) != NULL)
			cf_error(ctx, VLINE("authority_url"), "validators.authority_url: \"%s\" %s",
			    v->authority_url, why);
		if (v->graph_url != NULL && (why = cf_validator_url_check(v->graph_url)) != NULL)
			cf_error(ctx, VLINE("graph_url"), "validators.graph_url: \"%s\" %s",
			    v->graph_url, why);
		if (v->intune_resource_url != NULL &&
		    (why = cf_validator_url_check(v->intune_resource_url)) != NULL)
			cf_error(ctx, VLINE("intune_resource_url"), "validators.intune_resource_url: "
			    "\"%s\" %s", v->intune_resource_url, why);
		if (v->proxy != NULL && strncmp(v->proxy, "http://", 7) != 0 &&
		    strncmp(v->proxy, "https://", 8) != 0)
			cf_error(ctx, VLINE("proxy"), "validators.proxy: \"%s\" is not an http:// "
			    "or https:// URL", v->proxy);
		if (strcmp(v->type, "webhook") == 0) {
			if (v->url == NULL)
				cf_error(ctx, tl, "validators.url must be set when validators.type is "
				    "\"webhook\"");
			if (v->secret_file == NULL)
				cf_error(ctx, tl, "validators.secret_file must be set when "
				    "validators.type is \"webhook\"");
		}
		if (v->url != NULL && (why = cf_validator_url_check(v->url)) != NULL)
			cf_error(ctx, VLINE("url"), "validators.url: \"%s\" %s", v->url, why);
		if (v->notify_url != NULL && (why = cf_validator_url_check(v->notify_url)) != NULL)
			cf_error(ctx, VLINE("notify_url"), "validators.notify_url: \"%s\" %s",
			    v->notify_url, why);
		if ((v->client_certificate == NULL) != (v->client_key == NULL))
			cf_error(ctx, VLINE(v->client_key == NULL ? "client_certificate" :
			    "client_key"), "validators: client_certificate and client_key are "
			    "given together or not at all");
		if (strcmp(v->type, "exec") == 0 && v->program == NULL)
			cf_error(ctx, tl, "validators.program must be set when validators.type is "
			    "\"exec\"");
	}
#undef VLINE
	if (cfg->validator != NULL && cfg->validator[0] != '\0' &&
	    config_validator_find(cfg, cfg->validator) == NULL)
		cf_error(ctx, cf_line_of(ctx, "challenge.validator"), "challenge.validator: no "
		    "validator named \"%s\" (a name in validators)", cfg->validator);
	for (i = 0; i < cfg->n_profiles; i++)
		if (cfg->profiles[i].validator != NULL && cfg->profiles[i].validator[0] != '\0' &&
		    config_validator_find(cfg, cfg->profiles[i].validator) == NULL &&
		    cf_elem_line_of(ctx->prof_line[i], cf_prof_schema, N_PROF_SETTINGS,
		    "validator") != 0)
			cf_error(ctx, cf_elem_line_of(ctx->prof_line[i], cf_prof_schema,
			    N_PROF_SETTINGS, "validator"), "profiles.validator: no validator named "
			    "\"%s\" (a name in validators)", cfg->profiles[i].validator);
}

static void cf_check_crl(struct cf_ctx *ctx, struct config *cfg)
{
	const char *why;
	size_t i;

	if (cfg->crl_path != NULL && cfg->crl_path[0] != '\0') {
		if ((why = cf_http_path_check(cfg->crl_path)) != NULL)
			cf_error(ctx, cf_line_of(ctx, "crl.path"), "crl.path: \"%s\" %s",
			    cfg->crl_path, why);
	}
	if (cfg->crl_url != NULL && cfg->crl_url[0] != '\0') {
		if (strncmp(cfg->crl_url, "http://", 7) != 0 &&
		    strncmp(cfg->crl_url, "https://", 8) != 0 &&
		    strncmp(cfg->crl_url, "ldap://", 7) != 0)
			cf_error(ctx, cf_line_of(ctx, "crl.url"), "crl.url: \"%s\" is not an "
			    "http://, https:// or ldap:// URL", cfg->crl_url);
		for (i = 0; cfg->crl_url[i] != '\0'; i++)
			if ((unsigned char)cfg->crl_url[i] <= 0x20 ||
			    (unsigned char)cfg->crl_url[i] >= 0x7f) {
				cf_error(ctx, cf_line_of(ctx, "crl.url"), "crl.url: spaces and "
				    "non-ASCII characters must be percent-encoded");
				break;
			}
	}
}

/* lab.rules: each rule parses, and only in lab mode. */
static void cf_check_lab(struct cf_ctx *ctx, const struct config *cfg)
{
	struct lab_rule *r;
	char why[256];
	size_t i;

	if (cfg->n_lab_rules > 0 && !cfg->lab_enabled)
		cf_error(ctx, cf_line_of(ctx, "lab.rules"), "lab.rules is set but lab.enabled "
		    "is false: lab rules are refused outside lab mode");
	for (i = 0; i < cfg->n_lab_rules; i++) {
		if ((r = lab_rule_parse(cfg->lab_rules[i], strlen(cfg->lab_rules[i]), 0, why,
		    sizeof(why))) == NULL)
			cf_error(ctx, cf_line_of(ctx, "lab.rules"), "lab.rules: entry %zu: %s",
			    i + 1, why);
		lab_rule_free(r);
	}
}

/*
 * One key setting that is a pkcs11: URI: checked by the parser, then given the
 * pkcs11 group's module and PIN source where it names none, so the signer
 * needs nothing but the URI.
 */
static void cf_pkcs11_key(struct cf_ctx *ctx, const struct config *cfg, const char *what,
    unsigned line, char **sp)
{
	struct pkcs11uri *u;
	const char *dir;
	char err[256], *v, *pin = NULL;

	if (*sp == NULL || !pkcs11uri_is_uri(*sp))
		return;
	if ((u = pkcs11uri_parse((const unsigned char *)*sp, strlen(*sp), err,
	    sizeof(err))) == NULL) {
		cf_error(ctx, line, "%s: %s", what, err);
		return;
	}
	if (u->module_path == NULL && u->module_name == NULL) {
		if (cfg->pkcs11_module == NULL)
			cf_error(ctx, line, "%s: the URI names no module: add module-path to it "
			    "or set pkcs11.module", what);
		else {
			v = pkcs11uri_with_query(*sp, "module-path", cfg->pkcs11_module);
			free(*sp);
			*sp = v;
		}
	} else if (u->module_path == NULL) {
		cf_error(ctx, line, "%s: module-name is not supported, give module-path", what);
	}
	if (u->pin_value == NULL && u->pin_source == NULL) {
		if (cfg->pkcs11_pin_file != NULL)
			pin = xstrdup(cfg->pkcs11_pin_file);
		else if (cfg->pkcs11_pin_credential != NULL) {
			if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || dir[0] != '/')
				cf_error(ctx, cf_line_of(ctx, "pkcs11.pin_credential"),
				    "pkcs11.pin_credential: $CREDENTIALS_DIRECTORY is not set (run "
				    "under systemd with LoadCredential=)");
			else
				pin = xasprintf("%s/%s", dir, cfg->pkcs11_pin_credential);
		}
	}
	if (pin != NULL) {
		v = pkcs11uri_with_query(*sp, "pin-source", pin);
		free(*sp);
		*sp = v;
		free(pin);
	}
	pkcs11uri_free(u);
}

/* Every key setting, top level and profiles'. */
static void cf_pkcs11_keys(struct cf_ctx *ctx, struct config *cfg)
{
	static const char *const names[] = { "ca.key", "ca.next_key", "ca.next_ra_sign_key",
	    "ca.next_ra_enc_key", "ra.sign_key", "ra.enc_key" };
	char **keys[] = { &cfg->ca_key, &cfg->next_ca_key, &cfg->next_ra_sign_key,
	    &cfg->next_ra_enc_key, &cfg->ra_sign_key, &cfg->ra_enc_key };
	size_t i;

	if (cfg->pkcs11_module != NULL && cfg->pkcs11_module[0] != '/')
		cf_error(ctx, cf_line_of(ctx, "pkcs11.module"), "pkcs11.module must be an "
		    "absolute path");
	if (cfg->pkcs11_pin_file != NULL && cfg->pkcs11_pin_credential != NULL)
		cf_error(ctx, cf_line_of(ctx, "pkcs11.pin_credential"), "pkcs11.pin_file and "
		    "pkcs11.pin_credential: set at most one");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cf_pkcs11_key(ctx, cfg, names[i], cf_line_of(ctx, names[i]), keys[i]);
	for (i = 0; i < cfg->n_profiles; i++) {
		cf_pkcs11_key(ctx, cfg, "profiles.ra_sign_key", ctx->prof_line[i][0],
		    &cfg->profiles[i].ra_sign_key);
		cf_pkcs11_key(ctx, cfg, "profiles.ra_enc_key", ctx->prof_line[i][0],
		    &cfg->profiles[i].ra_enc_key);
	}
}

static void cf_finish(struct cf_ctx *ctx, struct config *cfg, const char *basedir)
{
	const struct cf_setting *s;
	const struct cf_list *L;
	enum cf_list_id k;
	size_t i, g, n;
	char *elems;
	int u, p;

	for (g = 0; g < N_GROUPS; g++) {
		if (!cf_groups[g].all_or_none || ctx->group_line[g] == 0)
			continue;
		for (i = 0; i < N_SETTINGS; i++) {
			if (cf_group_of(&cf_schema[i]) == (int)g && ctx->line[i] == 0)
				cf_error(ctx, ctx->group_line[g], "%s is required when the %s group "
				    "is present (without the group the CA acts as RA)",
				    cf_schema[i].path, cf_groups[g].name);
		}
	}

	cf_check_backends(ctx, cfg);
	cf_check_validators(ctx, cfg);
	cf_check_lab(ctx, cfg);

	u = cf_index("challenge.UseSinglePassword");
	p = cf_index("challenge.SinglePassword");
	if (cfg->use_single_password && (cfg->single_password == NULL ||
	    cfg->single_password[0] == '\0'))
		cf_error(ctx, ctx->line[p] ? ctx->line[p] : ctx->line[u],
		    "challenge.SinglePassword must be set when challenge.UseSinglePassword "
		    "is true");

	cf_check_listeners(ctx, cfg);
	p = cf_index("scep.allow_other_signer_key");
	for (i = 0, u = cfg->n_trusted_ra > 0; i < cfg->n_profiles; i++)
		u |= cfg->profiles[i].n_trusted_ra > 0;
	if (!cfg->allow_other_signer_key && u)
		cf_error(ctx, ctx->line[p], "scep.allow_other_signer_key = false refuses every "
		    "PKCSReq a trusted_ra RA signs for a device; leave it true with trusted_ra");
	p = cf_index("user");
	if (cfg->user != NULL && (cfg->user[0] == '\0' || strlen(cfg->user) > 32 ||
	    strpbrk(cfg->user, " \t\r\n:/\"\\") != NULL))
		cf_error(ctx, ctx->line[p], "user must be a user name or number (1 to 32 "
		    "characters, no spaces, ':' or '/')");
	p = cf_index("group");
	if (cfg->group != NULL && cfg->user == NULL)
		cf_error(ctx, ctx->line[p], "group needs user");
	else if (cfg->group != NULL && (cfg->group[0] == '\0' || strlen(cfg->group) > 32 ||
	    strpbrk(cfg->group, " \t\r\n:/\"\\") != NULL))
		cf_error(ctx, ctx->line[p], "group must be a group name or number (1 to 32 "
		    "characters, no spaces, ':' or '/')");
	p = cf_index("admin.realm");
	if (cfg->admin_realm != NULL && strpbrk(cfg->admin_realm, "\"\\\r\n") != NULL)
		cf_error(ctx, ctx->line[p], "admin.realm must not contain quotes, backslashes "
		    "or line breaks");
	p = cf_index("admin.domain");
	if (cfg->admin_domain != NULL && (cfg->admin_domain[0] == '\0' ||
	    strlen(cfg->admin_domain) > 15 || strpbrk(cfg->admin_domain, "\\/:*?\"<>| .") != NULL))
		cf_error(ctx, ctx->line[p], "admin.domain must be a NetBIOS name: 1 to 15 "
		    "characters, none of \\/:*?\"<>| . or space");
	p = cf_index("admin.kerberos_realm");
	if (cfg->admin_kerberos_realm != NULL && (strlen(cfg->admin_kerberos_realm) > 255 ||
	    strpbrk(cfg->admin_kerberos_realm, "@/\\\" \t\r\n") != NULL))
		cf_error(ctx, ctx->line[p], "admin.kerberos_realm must be a Kerberos realm name "
		    "(up to 255 characters, no @, /, backslash, quote or space)");
	p = cf_index("admin.hostname");
	if (cfg->admin_hostname != NULL && (strlen(cfg->admin_hostname) > 253 ||
	    strspn(cfg->admin_hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.") != strlen(cfg->admin_hostname)))
		cf_error(ctx, ctx->line[p], "admin.hostname must be a DNS name (letters, digits, "
		    "'-' and '.')");

	cf_check_templates(ctx, cfg);
	cf_check_profiles(ctx, cfg);
	cf_check_crl(ctx, cfg);

	for (i = 0; i < N_SETTINGS; i++)
		if (cf_schema[i].type == CF_DIR)
			cf_resolve(ctx, &cf_schema[i], cfg, basedir);
	for (i = 0; i < N_SETTINGS; i++) {
		s = &cf_schema[i];
		if (s->type == CF_PATH)
			cf_resolve(ctx, s, cfg, cfg->state_dir);
	}
	for (k = 0; k < N_LISTS; k++) {
		L = &cf_lists[k];
		elems = cf_list_get(cfg, k, &n);
		for (g = 0; g < n; g++)
			for (i = 0; i < L->n_set; i++)
				if (L->table[i].type == CF_PATH)
					cf_resolve(ctx, &L->table[i], elems + g * L->elem_size,
					    cfg->state_dir);
	}
	cf_pkcs11_keys(ctx, cfg);
}

/* ---- loading ---- */

/* Wipes libconfig's copies of the secret settings of the elements of list L. */
static void cf_wipe_list(config_t *lc, const struct cf_list *L)
{
	const struct cf_setting *table = L->table;
	config_setting_t *st, *list, *el;
	const char *str;
	size_t i, n_set = L->n_set;
	int k, n;

	list = config_lookup(lc, L->name);
	n = list != NULL && config_setting_type(list) == CONFIG_TYPE_LIST ?
	    config_setting_length(list) : 0;
	for (k = 0; k < n; k++) {
		el = config_setting_get_elem(list, (unsigned)k);
		if (el == NULL || !config_setting_is_group(el))
			continue;
		for (i = 0; i < n_set; i++) {
			if (!table[i].secret)
				continue;
			st = config_setting_get_member(el, cf_leaf(&table[i]));
			if (st != NULL && config_setting_type(st) == CONFIG_TYPE_STRING &&
			    (str = config_setting_get_string(st)) != NULL)
				OPENSSL_cleanse((char *)str, strlen(str));
		}
	}
}

/* Wipes libconfig's copies of secret settings. */
static void cf_wipe_tree(config_t *lc)
{
	config_setting_t *st;
	const char *str;
	enum cf_list_id k;
	size_t i;

	if (config_root_setting(lc) == NULL)
		return;
	for (i = 0; i < N_SETTINGS; i++) {
		if (!cf_schema[i].secret)
			continue;
		st = config_lookup(lc, cf_schema[i].path);
		if (st != NULL && config_setting_type(st) == CONFIG_TYPE_STRING &&
		    (str = config_setting_get_string(st)) != NULL)
			OPENSSL_cleanse((char *)str, strlen(str));
	}
	for (k = 0; k < N_LISTS; k++)
		cf_wipe_list(lc, &cf_lists[k]);
}

/* Parses text (named label in messages); relative state_dir is taken from basedir. */
static struct config *cf_load_text(const char *label, const char *text, const char *basedir,
    FILE *errs)
{
	struct cf_ctx ctx;
	struct config *cfg = NULL, *result = NULL;
	char *copy = NULL;
	size_t len = strlen(text);
	config_t lc;
	enum cf_list_id k;

	memset(&ctx, 0, sizeof(ctx));
	ctx.label = label;
	config_init(&lc);
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		ctx.oom = 1;
		goto out;
	}
	if ((cfg->file = cf_strdup(&ctx, label)) == NULL)
		goto out;
	cf_defaults(&ctx, cfg);
	if (ctx.n_errs != 0 || ctx.oom)
		goto out;
	if ((copy = malloc(len + 1)) == NULL) {
		ctx.oom = 1;
		goto out;
	}
	memcpy(copy, text, len + 1);
	cf_lex(&ctx, copy);
	if (ctx.unterminated || ctx.oom)
		goto out;
	cf_guard_strings(&ctx);
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		cf_error(&ctx, (unsigned)config_error_line(&lc), "%s",
		    config_error_text(&lc) ? config_error_text(&lc) : "syntax error");
		goto out;
	}
	cf_walk(&ctx, config_root_setting(&lc), cfg);
	for (k = 0; k < N_LISTS; k++)
		if (ctx.list[k] != NULL)
			cf_parse_list(&ctx, k, cfg);
	cf_inherit(&ctx, cfg);
	cf_finish(&ctx, cfg, basedir);
	if (ctx.n_errs != 0 || ctx.oom)
		goto out;
	result = cfg;
	cfg = NULL;
out:
	cf_report(&ctx, errs);
	cf_wipe_tree(&lc);
	config_destroy(&lc);
	if (copy != NULL)
		OPENSSL_cleanse(copy, len);
	free(copy);
	config_free(cfg);
	cf_ctx_free(&ctx);
	return result;
}

struct config *config_load_string(const char *label, const char *text, FILE *errs)
{
	struct config *result = NULL;
	char *dir = NULL;

	if ((dir = cf_dirname(label)) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: out of memory\n", label);
		goto out;
	}
	result = cf_load_text(label, text, dir, errs);
out:
	free(dir);
	return result;
}

struct config *config_load(const char *path, FILE *errs)
{
	struct config *result = NULL;
	unsigned char *text = NULL;
	char *dir = NULL, *absdir = NULL, cwd[PATH_MAX];
	size_t len = 0;

	if ((text = read_file(path, CONFIG_MAX_FILE, &len)) == NULL) {
		if (errs != NULL) {
			if (errno == EFBIG)
				fprintf(errs, "%s: larger than %d bytes\n", path, CONFIG_MAX_FILE);
			else
				fprintf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		}
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: contains a NUL byte\n", path);
		goto out;
	}
	if ((dir = cf_dirname(path)) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: out of memory\n", path);
		goto out;
	}
	if (dir[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			if (errs != NULL)
				fprintf(errs, "%s: cannot find the current directory: %s\n",
				    path, strerror(errno));
			goto out;
		}
		absdir = cf_path_join(cwd, dir, xmalloc);
	} else {
		absdir = xstrdup(dir);
	}
	result = cf_load_text(path, (const char *)text, absdir, errs);
out:
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	free(dir);
	free(absdir);
	return result;
}

char *config_path(const struct config *cfg, const char *name)
{
	if (name == NULL)
		return NULL;
	return cf_path_join(cfg->state_dir, name, xmalloc);
}

void config_free(struct config *cfg)
{
	const struct cf_list *L;
	enum cf_list_id k;
	size_t i, j, n;
	char *elems;

	if (cfg == NULL)
		return;
	for (i = 0; i < N_SETTINGS; i++)
		cf_clear(&cf_schema[i], cfg);
	for (k = 0; k < N_LISTS; k++) {
		L = &cf_lists[k];
		elems = cf_list_get(cfg, k, &n);
		for (j = 0; j < n; j++)
			for (i = 0; i < L->n_set; i++)
				cf_clear(&L->table[i], elems + j * L->elem_size);
		free(elems);
	}
	free(cfg->file);
	free(cfg);
}

const struct config_backend *config_backend_find(const struct config *cfg, const char *name)
{
	size_t i;

	if (name == NULL || strcmp(name, "default") == 0)
		return &cfg->backend;
	for (i = 0; i < cfg->n_backends; i++)
		if (cfg->backends[i].name != NULL && strcmp(cfg->backends[i].name, name) == 0)
			return &cfg->backends[i];
	return NULL;
}

const struct config_validator *config_validator_find(const struct config *cfg, const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return NULL;
	for (i = 0; i < cfg->n_validators; i++)
		if (cfg->validators[i].name != NULL && strcmp(cfg->validators[i].name, name) == 0)
			return &cfg->validators[i];
	return NULL;
}

int config_needs_ca_key(const struct config *cfg)
{
	const struct config_backend *b;
	size_t i;

	if (cfg->backend.type == NULL || strcmp(cfg->backend.type, "local") == 0)
		return 1;
	for (i = 0; i < cfg->n_profiles; i++) {
		b = config_backend_find(cfg, cfg->profiles[i].backend);
		if (b != NULL && (b->type == NULL || strcmp(b->type, "local") == 0))
			return 1;
	}
	return 0;
}

const char *const *config_setting_names(void)
{
	return cf_names;
}

/* ---- printing and comparing ---- */

/* s as a libconfig string literal. */
static void cf_print_string(FILE *out, const char *s)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02X", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void cf_print_value(FILE *out, const struct cf_setting *s, const void *cfg)
{
	const struct config_listen *l;
	const struct config_net *nets;
	char host[INET6_ADDRSTRLEN];
	char *const *v;
	const size_t *count = NULL;
	size_t i, n = 0;
	unsigned bits;

	if (s->type == CF_LISTEN || s->type == CF_NETS || s->type == CF_WORDS ||
	    s->type == CF_OIDS)
		count = cf_cptr(cfg, s->count_off);
	switch (s->type) {
	case CF_BOOL:
		fputs(*(const int *)cf_cptr(cfg, s->off) ? "true" : "false", out);
		break;
	case CF_UINT:
		fprintf(out, "%u", *(const unsigned *)cf_cptr(cfg, s->off));
		break;
	case CF_SIZE:
		fprintf(out, "%zu", *(const size_t *)cf_cptr(cfg, s->off));
		break;
	case CF_STRING:
	case CF_WORD:
	case CF_DIR:
	case CF_PATH:
		cf_print_string(out, *(char *const *)cf_cptr(cfg, s->off));
		break;
	case CF_LISTEN:
		l = cf_cptr(cfg, s->off);
		fputs("[", out);
		for (i = 0; i < *count; i++)
			fprintf(out, strchr(l[i].host, ':') ? "%s \"[%s]:%u\"" : "%s \"%s:%u\"",
			    i ? "," : "", l[i].host, l[i].port);
		fputs(" ]", out);
		break;
	case CF_NETS:
		nets = cf_cptr(cfg, s->off);
		fputs("[", out);
		for (i = 0; i < *count; i++) {
			if (inet_ntop(nets[i].family, nets[i].addr, host, sizeof(host)) == NULL)
				snprintf(host, sizeof(host), "?");
			if (nets[i].prefix == (nets[i].family == AF_INET ? 32u : 128u))
				fprintf(out, "%s \"%s\"", i ? "," : "", host);
			else
				fprintf(out, "%s \"%s/%u\"", i ? "," : "", host, nets[i].prefix);
		}
		fputs(" ]", out);
		break;
	case CF_WORDS:
	case CF_OIDS:
		v = cf_cptr(cfg, s->off);
		fputs("[", out);
		for (i = 0; i < *count; i++) {
			fputs(i ? ", " : " ", out);
			cf_print_string(out, v[i]);
		}
		fputs(" ]", out);
		break;
	case CF_KEYUSAGE:
		bits = *(const unsigned *)cf_cptr(cfg, s->off);
		fputs("[", out);
		for (i = 0; i < N_KEY_USAGES; i++) {
			if (!(bits & cf_key_usages[i].bit))
				continue;
			fprintf(out, "%s \"%s\"", n++ ? "," : "", cf_key_usages[i].name);
		}
		fputs(" ]", out);
		break;
	}
}

/* 1 when every setting of group g is unset (only possible for optional groups). */
static int cf_group_unset(const struct config *cfg, int g)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++) {
		if (cf_group_of(&cf_schema[i]) != g)
			continue;
		switch (cf_schema[i].type) {
		case CF_STRING:
		case CF_WORD:
		case CF_DIR:
		case CF_PATH:
			if (*(char *const *)cf_cptr(cfg, cf_schema[i].off) != NULL)
				return 0;
			break;
		default:
			return 0;
		}
	}
	return 1;
}

/* A comment line with control characters replaced, so it stays one line. */
static void cf_print_comment(FILE *out, const char *prefix, const char *text)
{
	const unsigned char *p;

	fprintf(out, "# %s", prefix);
	for (p = (const unsigned char *)text; *p != '\0'; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
	fputc('\n', out);
}

/* 1 when s is a secret with a value that redacted output leaves out. */
static int cf_hidden(const struct cf_setting *s, const void *obj, int redact)
{
	const char *v;

	if (!redact || !s->secret || s->type != CF_STRING)
		return 0;
	v = *(char *const *)cf_cptr(obj, s->off);
	return v != NULL && v[0] != '\0';
}

/* Prints a list of groups, name = ( { ... }, ... ); every setting of each element. */
static void cf_print_list(FILE *out, const struct cf_list *L, const void *elems, size_t n,
    int redact)
{
	const struct cf_setting *s;
	const char *obj;
	size_t i, j;

	if (n == 0) {
		fprintf(out, "# %s = ( { name = \"...\"; ... } ); is not set.\n", L->name);
		return;
	}
	fprintf(out, "%s = (\n", L->name);
	for (i = 0; i < n; i++) {
		obj = (const char *)elems + i * L->elem_size;
		fputs("\t{\n", out);
		for (j = 0; j < L->n_set; j++) {
			s = &L->table[j];
			if ((s->type == CF_STRING || s->type == CF_WORD || s->type == CF_DIR ||
			    s->type == CF_PATH) && *(char *const *)cf_cptr(obj, s->off) == NULL)
				continue;
			if (cf_hidden(s, obj, redact)) {
				fprintf(out, "\t\t# %s is set (a secret: not shown)\n", cf_leaf(s));
				continue;
			}
			fprintf(out, "\t\t%s = ", cf_leaf(s));
			cf_print_value(out, s, obj);
			fputs(";\n", out);
		}
		fprintf(out, "\t}%s\n", i + 1 < n ? "," : "");
	}
	fputs(");\n", out);
}

/* A key setting that is a PKCS#11 URI, its pin-value hidden (scepd -T). */
static void cf_print_key_uri(FILE *out, const char *indent, const struct cf_setting *s,
    const char *uri)
{
	char *shown = pkcs11uri_redact(uri);

	fprintf(out, "%s%s = \"%s\";\n", indent, cf_leaf(s), shown);
	free(shown);
}

static void cf_print_all(const struct config *cfg, FILE *out, int redact)
{
	const struct cf_setting *s;
	const char *indent;
	char range[64];
	int cur = -1, g, skipping = 0;
	enum cf_list_id k;
	const void *elems;
	size_t i, n;

	cf_print_comment(out, "", "scepd configuration: effective values (scepd -T).");
	if (cfg->file != NULL)
		cf_print_comment(out, "read from ", cfg->file);
	for (i = 0; i < N_SETTINGS; i++) {
		s = &cf_schema[i];
		g = cf_group_of(s);
		if (g != cur) {
			if (cur >= 0 && !skipping)
				fputs("};\n", out);
			cur = g;
			skipping = 0;
			fputc('\n', out);
			if (g >= 0) {
				cf_print_comment(out, "", cf_groups[g].desc);
				if (cf_groups[g].all_or_none && cf_group_unset(cfg, g)) {
					fprintf(out, "# %s = { ... }; is not set.\n",
					    cf_groups[g].name);
					skipping = 1;
				} else {
					fprintf(out, "%s = {\n", cf_groups[g].name);
				}
			}
		}
		if (skipping)
			continue;
		indent = g >= 0 ? "\t" : "";
		range[0] = '\0';
		if (s->type == CF_UINT || s->type == CF_SIZE)
			snprintf(range, sizeof(range), " (%lld..%lld)", s->min, s->max);
		fprintf(out, "%s# %s%s\n", indent, s->desc, range);
		if ((s->type == CF_STRING || s->type == CF_WORD || s->type == CF_DIR ||
		    s->type == CF_PATH) && *(char *const *)cf_cptr(cfg, s->off) == NULL) {
			fprintf(out, "%s# %s is not set.\n", indent, cf_leaf(s));
			continue;
		}
		if (cf_hidden(s, cfg, redact)) {
			fprintf(out, "%s# %s is set (a secret: not shown)\n", indent, cf_leaf(s));
			continue;
		}
		if (redact && s->type == CF_PATH &&
		    pkcs11uri_is_uri(*(char *const *)cf_cptr(cfg, s->off))) {
			cf_print_key_uri(out, indent, s, *(char *const *)cf_cptr(cfg, s->off));
			continue;
		}
		fprintf(out, "%s%s = ", indent, cf_leaf(s));
		cf_print_value(out, s, cfg);
		fputs(";\n", out);
	}
	if (cur >= 0 && !skipping)
		fputs("};\n", out);
	for (k = 0; k < N_LISTS; k++) {
		fputc('\n', out);
		cf_print_comment(out, "", cf_lists[k].heading);
		elems = cf_list_get(cfg, k, &n);
		cf_print_list(out, &cf_lists[k], elems, n, redact);
	}
}

void config_print(const struct config *cfg, FILE *out)
{
	cf_print_all(cfg, out, 0);
}

void config_print_public(const struct config *cfg, FILE *out)
{
	cf_print_all(cfg, out, 1);
}

static int cf_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* 1 when every setting of table is equal in the objects a and b. */
static int cf_equal_table(const struct cf_setting *table, size_t n_set, const void *a,
    const void *b)
{
	const struct cf_setting *s;
	const struct config_listen *la, *lb;
	const struct config_net *na, *nb;
	char *const *va, *const *vb;
	size_t i, j, n;

	for (i = 0; i < n_set; i++) {
		s = &table[i];
		switch (s->type) {
		case CF_BOOL:
			if (*(const int *)cf_cptr(a, s->off) != *(const int *)cf_cptr(b, s->off))
				return 0;
			break;
		case CF_UINT:
		case CF_KEYUSAGE:
			if (*(const unsigned *)cf_cptr(a, s->off) !=
			    *(const unsigned *)cf_cptr(b, s->off))
				return 0;
			break;
		case CF_SIZE:
			if (*(const size_t *)cf_cptr(a, s->off) != *(const size_t *)cf_cptr(b, s->off))
				return 0;
			break;
		case CF_STRING:
		case CF_WORD:
		case CF_DIR:
		case CF_PATH:
			if (!cf_streq(*(char *const *)cf_cptr(a, s->off),
			    *(char *const *)cf_cptr(b, s->off)))
				return 0;
			break;
		case CF_LISTEN:
		case CF_NETS:
		case CF_WORDS:
		case CF_OIDS:
			n = *(const size_t *)cf_cptr(a, s->count_off);
			if (n != *(const size_t *)cf_cptr(b, s->count_off))
				return 0;
			for (j = 0; j < n; j++) {
				if (s->type == CF_NETS) {
					na = (const struct config_net *)cf_cptr(a, s->off) + j;
					nb = (const struct config_net *)cf_cptr(b, s->off) + j;
					if (na->family != nb->family || na->prefix != nb->prefix ||
					    memcmp(na->addr, nb->addr, sizeof(na->addr)) != 0)
						return 0;
				} else if (s->type == CF_LISTEN) {
					la = (const struct config_listen *)cf_cptr(a, s->off) + j;
					lb = (const struct config_listen *)cf_cptr(b, s->off) + j;
					if (la->port != lb->port || strcmp(la->host, lb->host) != 0)
						return 0;
				} else {
					va = cf_cptr(a, s->off);
					vb = cf_cptr(b, s->off);
					if (!cf_streq(va[j], vb[j]))
						return 0;
				}
			}
			break;
		}
	}
	return 1;
}

int config_equal(const struct config *a, const struct config *b)
{
	const struct cf_list *L;
	const char *ea, *eb;
	enum cf_list_id k;
	size_t i, na, nb;

	if (!cf_equal_table(cf_schema, N_SETTINGS, a, b))
		return 0;
	for (k = 0; k < N_LISTS; k++) {
		L = &cf_lists[k];
		ea = cf_list_get(a, k, &na);
		eb = cf_list_get(b, k, &nb);
		if (na != nb)
			return 0;
		for (i = 0; i < na; i++)
			if (!cf_equal_table(L->table, L->n_set, ea + i * L->elem_size,
			    eb + i * L->elem_size))
				return 0;
	}
	return 1;
}
