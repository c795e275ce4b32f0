/* SPDX-License-Identifier: ISC */
/*
 * config.h: the loaded configuration, one immutable struct built from a
 * libconfig file by config_load(). A single schema table in config.c gives every
 * setting its path, type, range and default; it drives parsing, validation,
 * `scepd -T` output and the man-page cross-check. Nothing else in scepd reads
 * the file, and nothing writes the struct after config_load() returns.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_DEFAULT_FILE "/etc/scepd/scepd.conf"
#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_CAPS 16
#define CONFIG_MAX_LIST 16
#define CONFIG_MAX_TEMPLATES 32
#define CONFIG_MAX_PROFILES 32
#define CONFIG_MAX_BACKENDS 32
#define CONFIG_MAX_VALIDATORS 32

/*
 * A certificate template: what a certificate may say and which requests it
 * accepts. The built-in template "default" is the certificate { } group; named
 * ones come from the templates = ( { ... } ) list. The fields have the names of
 * the certificate { } fields of struct config.
 */
struct config_template {
	char *name;               /* templates.name: required, unique, not "default" */
	unsigned validity_days;   /* validity_days: 1..3650, default 365 */
	unsigned min_rsa_bits;    /* min_rsa_bits: 1024..16384, default 2048 */
	unsigned key_usage;       /* key_usage: X509v3_KU_* bits allowed */
	char *ext_key_usage[CONFIG_MAX_LIST]; /* extended_key_usage */
	size_t n_ext_key_usage;
	char *key_types[CONFIG_MAX_LIST];     /* key_types: "rsa", "ec"; default both */
	size_t n_key_types;
	char *ec_curves[CONFIG_MAX_LIST];     /* ec_curves: "P-256", "P-384", "P-521"; default all */
	size_t n_ec_curves;
	char *san_types[CONFIG_MAX_LIST];     /* san_types: dns, ip, email, uri, upn, dirname, other */
	size_t n_san_types;
	int san_required;         /* san_required: default 0 */
	char *subject_pattern;    /* subject_pattern: POSIX ERE on the RFC 2253 subject; "" = any */
	char *san_pattern;        /* san_pattern: POSIX ERE every DNS/email/URI/UPN/IP SAN matches; "" = any */
	int allow_subject_change; /* allow_subject_change: a renewal may change subject and SANs; default 0 */
	int approval;             /* approval: requests wait for `scepctl request approve`; default 0 */
};

/*
 * Who issues certificates (ca.h): the backend { } group (named "default") or
 * an element of backends = ( { ... } ), which profiles name. The same
 * settings in both places; paths are resolved against state_dir.
 */
struct config_backend {
	char *name;               /* backends.name: required, unique, [A-Za-z0-9_-]; NULL for backend { } */
	char *type;               /* type: "local" | "scep" | "exec"; default "local" */
	char *url;                /* url: scep: upstream SCEP URL; NULL when unset */
	char *ca_identifier;      /* ca_identifier: scep: GetCACert message=; NULL: none */
	char *ca_bundle;          /* ca_bundle: scep: PEM bundle for https; NULL: system's */
	char *challenge;          /* challenge: scep: upstream challenge for scepd's own requests */
	char *program;            /* program: exec: program path (resolved against state_dir) */
	unsigned timeout;         /* timeout: seconds; 1..600, default 30 */
	unsigned max_concurrent;  /* max_concurrent: 1..1024, default 8 */
	size_t max_output;        /* max_output: exec stdout bytes; 4096..16777216, default 65536 */
	unsigned cache_time;      /* cache_time: scep CA cache seconds; 10..86400, default 3600 */
	char *when_unavailable;   /* when_unavailable: "failure" | "pending"; default "failure" */
};

/*
 * A challenge validator (validator.h): an element of validators = ( { ... } ),
 * which challenge.validator and profiles.validator name. A request under a
 * validator is issued only when it allows it. Paths are resolved against
 * state_dir; secret files are read by validator.c at start-up, not here.
 */
struct config_validator {
	char *name;               /* validators.name: required, unique, [A-Za-z0-9_-] */
	char *type;               /* type: "webhook" | "exec" | "intune"; required */
	char *url;                /* url: webhook: the SCEPCHALLENGE webhook (https://, or http:// to loopback) */
	char *id;                 /* id: webhook: X-Smallstep-Webhook-ID; NULL: the name */
	char *secret_file;        /* secret_file: webhook: the base64 shared secret */
	char *notify_url;         /* notify_url: webhook: NOTIFYING webhook; NULL: none */
	char *ca_file;            /* ca_file: https: CA certificates (PEM); NULL: the system's */
	char *client_certificate; /* client_certificate: https: client certificate (PEM); NULL: none */
	char *client_key;         /* client_key: its private key */
	char *program;            /* program: exec: the program (resolved against state_dir) */
	char *args[CONFIG_MAX_LIST]; /* args: exec: its arguments after argv[0] */
	size_t n_args;
	char *tenant;             /* tenant: intune: the Entra ID tenant (domain or GUID) */
	char *client_id;          /* client_id: intune: the Entra application (client) id */
	char *client_secret_file; /* client_secret_file: intune: file holding the client secret */
	char *client_secret_credential; /* client_secret_credential: intune: systemd credential name */
	char *authority_url;      /* authority_url: intune: NULL = https://login.microsoftonline.com/ */
	char *graph_url;          /* graph_url: intune: NULL = https://graph.microsoft.com/ */
	char *intune_resource_url; /* intune_resource_url: intune: NULL = https://api.manage.microsoft.com/ */
	char *proxy;              /* proxy: intune: HTTP(S) proxy URL; NULL = none */
	char *provider;           /* provider: intune: callerInfo; NULL = "scepd/VERSION" */
	char *renewals;           /* renewals: "validate" (default) | "skip": renewals signed by
	                           * a certificate scepd issued are asked about, or not */
	unsigned timeout;         /* timeout: seconds; 1..600, default 10 */
	unsigned max_concurrent;  /* max_concurrent: checks at once; 1..1024, default 16 */
};

/* The name a backend is known by: backends.name, or "default" for backend { }. */
#define CONFIG_BACKEND_NAME(b) ((b)->name != NULL ? (b)->name : "default")

/*
 * A SCEP endpoint besides the NDES paths (profiles = ( { ... } )). Settings not
 * given take the value of the top-level setting named in the comment.
 */
struct config_profile {
	char *name;               /* profiles.name: required, unique, [A-Za-z0-9_-] */
	char *path;               /* path: default "/scep/NAME" */
	int enforce_password;     /* EnforcePassword: challenge.EnforcePassword */
	int use_single_password;  /* UseSinglePassword: challenge.UseSinglePassword */
	char *single_password;    /* SinglePassword: challenge.SinglePassword */
	char *signature_template; /* SignatureTemplate: SignatureTemplate */
	char *encryption_template;/* EncryptionTemplate: EncryptionTemplate */
	char *general_purpose_template; /* GeneralPurposeTemplate: GeneralPurposeTemplate */
	int approval;             /* approval: every request waits for approval; default 0 */
	int renewal;              /* renewal: renewal.enabled */
	int renewal_challenge;    /* renewal_challenge: renewal.require_challenge */
	char *caps[CONFIG_MAX_CAPS]; /* capabilities: scep.capabilities */
	size_t n_caps;
	char *digests[CONFIG_MAX_LIST];   /* digests: MD5, SHA-1, SHA-224, ...; default from scep.allow_* */
	size_t n_digests;
	char *ciphers[CONFIG_MAX_LIST];   /* ciphers: DES, DES3, AES-128, AES-192, AES-256 */
	size_t n_ciphers;
	char *key_transport[CONFIG_MAX_LIST]; /* key_transport: rsaEncryption, RSAES-OAEP */
	size_t n_key_transport;
	char *ra_sign_cert;       /* ra_sign_cert ... ra_enc_key: all four or none (the ra { } ones) */
	char *ra_sign_key;
	char *ra_enc_cert;
	char *ra_enc_key;
	char *backend;            /* backend: name of the backend that issues; default "default" */
	char *validator;          /* validator: challenge.validator; "" = the password rules */
	char *trusted_ra[CONFIG_MAX_LIST]; /* trusted_ra: the top-level list when not given */
	size_t n_trusted_ra;
};

struct config_listen {
	char host[256];   /* "127.0.0.1", "::1", "0.0.0.0", "::" */
	unsigned port;
};

/* An address or network allowed somewhere (monitor.allow). */
struct config_net {
	int family;               /* AF_INET or AF_INET6 */
	unsigned char addr[16];   /* network byte order; IPv4 in the first 4 bytes */
	unsigned prefix;          /* 0..32 or 0..128 */
};

struct config {
	char *file;               /* the file it was read from */

	/* top level */
	char *state_dir;          /* state_dir: base for relative paths; default "/var/lib/scepd" */
	char *database;           /* database: SQLite file; default "scepd.db" (resolved against state_dir) */
	unsigned commit_delay;    /* commit_delay: microseconds a group commit waits for enrollments being issued; 0..100000, default 2000 */
	char *user;               /* user: run as this user after binding (root start); NULL: stay */
	char *group;              /* group: with user; NULL: the user's primary group */
	char *signature_template; /* SignatureTemplate: template for signature-only key usage; default "default" */
	char *encryption_template;/* EncryptionTemplate: for encryption-only key usage; default "default" */
	char *general_purpose_template; /* GeneralPurposeTemplate: both or none; default "default" */

	/* http { } */
	struct config_listen listen[CONFIG_MAX_LISTEN]; /* http.listen: list of "HOST:PORT"; default ["127.0.0.1:8080"] */
	size_t n_listen;
	unsigned threads;         /* http.threads: 0 = four per core; 0..256, default 0 */
	size_t max_url;           /* http.max_url: request line + query bytes accepted; 1024..1048576, default 65534 */
	size_t max_body;          /* http.max_body: POST body cap in bytes; 1024..16777216, default 262144 */
	unsigned max_connections; /* http.max_connections: 1..65536, default 512 */
	unsigned connection_timeout; /* http.connection_timeout: idle seconds; 1..3600, default 30 */
	unsigned per_ip_connections; /* http.per_ip_connections: 0 = unlimited; default 32 */
	unsigned header_timeout;  /* http.header_timeout: seconds for complete request headers; 1..3600, default 10 */
	unsigned min_body_rate;   /* http.min_body_rate: bytes/s a request body keeps up; 1..1048576, default 1024 */
	unsigned drain_timeout;   /* http.drain_timeout: seconds for requests in flight at stop; 0..3600, default 10 */

	/* tls { } */
	struct config_listen tls_listen[CONFIG_MAX_LISTEN]; /* tls.listen: HTTPS addresses; default [] */
	size_t n_tls_listen;
	char *tls_cert;           /* tls.cert: PEM chain, resolved against state_dir; required with tls.listen */
	char *tls_key;            /* tls.key */
	char *tls_min_version;    /* tls.min_version: "1.2" | "1.3"; default "1.2" */

	/* ca { } : paths resolved against state_dir */
	char *ca_cert;            /* ca.cert: default "ca.crt" */
	char *ca_key;             /* ca.key: default "ca.key" */
	char *next_ca_cert;       /* ca.next_cert: rollover CA, used when the file exists; default "ca-next.crt" */
	char *next_ca_key;        /* ca.next_key: default "ca-next.key" */
	char *next_ra_sign_cert;  /* ca.next_ra_sign_cert: RA of the rollover CA; default "ra-sign-next.crt" */
	char *next_ra_sign_key;   /* ca.next_ra_sign_key: default "ra-sign-next.key" */
	char *next_ra_enc_cert;   /* ca.next_ra_enc_cert: default "ra-enc-next.crt" */
	char *next_ra_enc_key;    /* ca.next_ra_enc_key: default "ra-enc-next.key" */

	/* ra { } : paths resolved against state_dir; NULL when the group is absent (CA acts as RA) */
	char *ra_sign_cert;       /* ra.sign_cert */
	char *ra_sign_key;        /* ra.sign_key */
	char *ra_enc_cert;        /* ra.enc_cert */
	char *ra_enc_key;         /* ra.enc_key */

	/* signer { } */
	int signer_process;       /* signer.process: keys in a separate process; default 1 */
	unsigned signer_workers;  /* signer.workers: 1..64, default 4 */
	/* pkcs11 { } : defaults for key settings that are pkcs11: URIs (added to each URI) */
	char *pkcs11_module;      /* pkcs11.module: the module when a URI has no module-path */
	char *pkcs11_pin_file;    /* pkcs11.pin_file: the PIN when a URI has none; resolved */
	char *pkcs11_pin_credential; /* pkcs11.pin_credential: the same, a systemd credential */

	/* scep { } */
	char *caps[CONFIG_MAX_CAPS]; /* scep.capabilities: GetCACaps keywords, in order; default
	                              * ["POSTPKIOperation","SHA-512","SHA-384","SHA-256","SHA-1","AES","DES3","SCEPStandard"] */
	size_t n_caps;
	int allow_des;            /* scep.allow_des: accept single DES-CBC envelopes (legacy provider); default 0 */
	int allow_sha1;           /* scep.allow_sha1: accept SHA-1 message digests; default 1 */
	int allow_other_signer_key; /* scep.allow_other_signer_key: PKCSReq signer key may
	                             * differ from the CSR key; default 1 */
	int allow_md5;            /* scep.allow_md5: accept MD5 message digests; default 0 */
	int include_ca_in_certrep;/* scep.include_ca_in_certrep: CA cert after the issued one; default 0 */
	unsigned max_clock_skew;  /* scep.max_clock_skew: seconds signingTime may differ from now; 0 = unchecked; default 86400 */
	int ndes_hresult;         /* scep.ndes_hresult: FAILURE carries 1.3.6.1.4.1.311.21.33; default 1 */

	/* challenge { } : NDES names (MSCEP registry values) */
	int enforce_password;     /* challenge.EnforcePassword: default 1 */
	int use_single_password;  /* challenge.UseSinglePassword: default 0 */
	char *single_password;    /* challenge.SinglePassword: the static password; default "" */
	unsigned password_length; /* challenge.PasswordLength: bytes of randomness (hex = 2x); 4..32, default 8 */
	unsigned password_max;    /* challenge.PasswordMax: unused one-time passwords cached; 1..1000, default 5 */
	unsigned password_validity; /* challenge.PasswordValidity: minutes; 1..10080, default 60 */
	unsigned challenge_max_failures; /* challenge.max_failures: rejected passwords per address
	                                  * before it is blocked; 0 = no limit; default 20 */
	unsigned challenge_failure_window; /* challenge.failure_window: seconds; default 300 */
	char *validator;          /* challenge.validator: name in validators; "" (default) = the
	                           * password rules */
	char *trusted_ra[CONFIG_MAX_LIST]; /* trusted_ra: RA certificate files (relative to
	                           * state_dir) whose signed PKCSReq needs no challenge */
	size_t n_trusted_ra;

	/* admin { } : the /certsrv/mscep_admin/ pages and their sign-in */
	int admin_enabled;        /* admin.enabled: serve the pages; default 1 */
	int admin_basic;          /* admin.basic: offer Basic sign-in too; default 0 */
	char *admin_realm;        /* admin.realm: Basic realm; default "scepd" */
	char *admin_domain;       /* admin.domain: NetBIOS domain in NTLM; default "WORKGROUP" */
	char *admin_hostname;     /* admin.hostname: DNS host name in NTLM; default "" (system's) */
	int admin_ntlm;           /* admin.ntlm: offer NTLM sign-in; default 1 */
	char *admin_keytab;       /* admin.keytab: Kerberos service keytab (resolved); NULL: off */
	char *admin_kerberos_realm; /* admin.kerberos_realm: realm-wide sign-in rule; "" */
	unsigned admin_max_failures; /* admin.max_failures: failed sign-ins per address before
	                              * it is blocked; 0 = no limit; default 10 */
	unsigned admin_failure_window; /* admin.failure_window: seconds; default 300 */

	/* certificate { } : the issuing template */
	unsigned validity_days;   /* certificate.validity_days: 1..3650, default 365 */
	unsigned min_rsa_bits;    /* certificate.min_rsa_bits: 1024..16384, default 2048 */
	unsigned key_usage;       /* certificate.key_usage: X509v3_KU_* bits allowed; default
	                           * ["digitalSignature","keyEncipherment"] */
	char *ext_key_usage[CONFIG_MAX_LIST]; /* certificate.extended_key_usage: names or dotted
	                                       * OIDs allowed; default ["clientAuth"] */
	size_t n_ext_key_usage;
	char *key_types[CONFIG_MAX_LIST]; /* certificate.key_types ... certificate.approval: */
	size_t n_key_types;               /* as in struct config_template */
	char *ec_curves[CONFIG_MAX_LIST];
	size_t n_ec_curves;
	char *san_types[CONFIG_MAX_LIST];
	size_t n_san_types;
	int san_required;
	char *subject_pattern;
	char *san_pattern;
	int allow_subject_change;
	int approval;

	/* renewal { } */
	int renewal_enabled;      /* renewal.enabled: default 1 (announces Renewal) */
	unsigned renewal_grace_days; /* renewal.grace_days: days after expiry a signer may still renew; default 0 */
	unsigned renewal_window_days; /* renewal.window_days: only this many days before expiry; 0 = any time */
	int renewal_require_challenge; /* renewal.require_challenge: default 0 */
	char *renewal_old_certificate; /* renewal.old_certificate: "keep" | "revoke"; default "keep" */
	int renewal_allow_key_reuse; /* renewal.allow_key_reuse: default 1 */

	/* crl { } */
	char *crl_path;           /* crl.path: HTTP path of the CRL; "" = not served; default "/crl/ca.crl" */
	char *crl_url;            /* crl.url: CRL distribution point put in certificates; "" = none */
	unsigned crl_validity_hours; /* crl.validity_hours: nextUpdate - thisUpdate; 1..8760, default 168 */
	int crl_scep;             /* crl.scep: answer GetCRL; default 1 */

	/* backend { } : who issues the certificates for the NDES paths and every
	 * profile without a backend of its own (ca.h); its name is "default" */
	struct config_backend backend;

	/* log { } */
	char *log_target;         /* log.target: "stderr" | "syslog" | "journald"; default "stderr" */
	char *log_facility;       /* log.facility: syslog facility name; default "daemon" */
	int log_debug;            /* log.debug: default 0 */
	char *log_format;         /* log.format: "text" | "json"; default "text" */
	char *access_log;         /* log.access_log: W3C access log file; NULL = none */

	/* monitor { } */
	struct config_net monitor_allow[CONFIG_MAX_LIST]; /* monitor.allow: who may read /metrics
	                                                   * and /healthz; default ["127.0.0.1","::1"] */
	size_t n_monitor_allow;
	unsigned expiry_warning_days; /* monitor.expiry_warning_days: 0..3650, default 60 */

	/* lab { } */
	int lab_enabled;          /* lab.enabled: lab mode (rules, recording, /lab/); default 0 */
	char *lab_rules[CONFIG_MAX_LIST]; /* lab.rules: rule texts (lab.h), default none */
	size_t n_lab_rules;
	int lab_record;           /* lab.record: record PKIOperations (lab mode only); default 0 */
	unsigned lab_record_max;  /* lab.record_max: 1..100000, default 1000 */
	unsigned lab_record_max_bytes; /* lab.record_max_bytes: 65536..2^30, default 64 MiB */

	/* lists of groups */
	struct config_template *templates; /* templates = ( { ... }, ... ) */
	size_t n_templates;
	struct config_profile *profiles;   /* profiles = ( { ... }, ... ) */
	size_t n_profiles;
	struct config_backend *backends;   /* backends = ( { ... }, ... ): named, for profiles */
	size_t n_backends;
	struct config_validator *validators; /* validators = ( { ... }, ... ): named, for
	                                      * challenge.validator and profiles.validator */
	size_t n_validators;
};

/*
 * Reads and validates path. On success returns the configuration and leaves
 * errs untouched. On failure returns NULL after writing every problem found, one
 * per line, as "file:line: message" to errs (or "file: message" when no line
 * applies). Relative paths inside are resolved against state_dir.
 */
struct config *config_load(const char *path, FILE *errs);

/* Parses a configuration held in memory; label names it in messages. */
struct config *config_load_string(const char *label, const char *text, FILE *errs);

/* Writes the effective configuration in libconfig syntax that loads back to an equal struct. */
void config_print(const struct config *cfg, FILE *out);

/*
 * config_print for eyes (scepd -T): every secret setting that has a value
 * (challenge.SinglePassword, a profile's SinglePassword, a backend's upstream
 * challenge, ...) is a comment saying it is set, never its value.
 */
void config_print_public(const struct config *cfg, FILE *out);

/* Resolves name against cfg->state_dir unless it is absolute; malloc'd. */
char *config_path(const struct config *cfg, const char *name);

void config_free(struct config *cfg);

/* The backend called name: "default" (the backend group) or a backends entry; NULL if none. */
const struct config_backend *config_backend_find(const struct config *cfg, const char *name);

/* The validator called name; NULL if none (or name is NULL or ""). */
const struct config_validator *config_validator_find(const struct config *cfg, const char *name);

/*
 * 1 when a backend in use is the local CA (the backend group, or one a
 * profile names), so the CA key must be loaded; 0 when every request is
 * forwarded (scep, exec) and the CA key need not exist.
 */
int config_needs_ca_key(const struct config *cfg);

/* 1 when every setting of a and b is equal (the file name is not compared). */
int config_equal(const struct config *a, const struct config *b);

/*
 * The schema's setting paths ("http.listen", "challenge.PasswordMax", ...), NULL
 * terminated, in table order; used by the man-page cross-check.
 */
const char *const *config_setting_names(void);

#endif
