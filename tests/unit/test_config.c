/* SPDX-License-Identifier: ISC */
/*
 * test_config.c: unit tests of config.c: every default, each error class with
 * its file:line, all errors reported, ranges, listen addresses (IPv4 and
 * IPv6), path resolution, the `-T` round trip (sample and non-default
 * configurations), and the cross-check of the schema with man/scepd.conf.5
 * and etc/scepd.conf. Runs from the repository root.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "config.h"
#include "util.h"
#include "tap.h"

#define LABEL "t.conf"

/* Loads text labelled label; *errs receives what was reported (malloc'd). */
static struct config *load_as(const char *label, const char *text, char **errs)
{
	struct config *cfg;
	size_t len = 0;
	FILE *f;

	*errs = NULL;
	if ((f = open_memstream(errs, &len)) == NULL)
		return NULL;
	cfg = config_load_string(label, text, f);
	fclose(f);
	return cfg;
}

static struct config *load(const char *text, char **errs)
{
	return load_as(LABEL, text, errs);
}

/* Checks that text fails with exactly the messages want (lines joined by '\n'). */
static void fails_with(const char *name, const char *text, const char *want)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load(text, &errs);
	ok(cfg == NULL, "%s: refused", name);
	is_str(errs, want, "%s: messages", name);
	config_free(cfg);
	free(errs);
}

/* Runs config_print into a malloc'd string. */
static char *print(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	config_print(cfg, f);
	fclose(f);
	return buf;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	long n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static void test_defaults(void)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load_as("/etc/scepd/scepd.conf", "", &errs);
	ok(cfg != NULL, "empty configuration loads");
	is_str(errs, "", "empty configuration: no messages");
	free(errs);
	if (cfg == NULL)
		return;
	is_str(cfg->file, "/etc/scepd/scepd.conf", "file");
	is_str(cfg->state_dir, "/var/lib/scepd", "state_dir default");
	is_str(cfg->database, "/var/lib/scepd/scepd.db", "database default, resolved");
	is_int(cfg->n_listen, 1, "http.listen: one default");
	is_str(cfg->listen[0].host, "127.0.0.1", "http.listen default host");
	is_int(cfg->listen[0].port, 8080, "http.listen default port");
	is_int(cfg->threads, 0, "http.threads default");
	is_int(cfg->max_url, 65534, "http.max_url default");
	is_int(cfg->max_body, 262144, "http.max_body default");
	is_int(cfg->max_connections, 512, "http.max_connections default");
	is_int(cfg->connection_timeout, 30, "http.connection_timeout default");
	is_int(cfg->per_ip_connections, 32, "http.per_ip_connections default");
	is_int(cfg->header_timeout, 10, "http.header_timeout default");
	is_int(cfg->min_body_rate, 1024, "http.min_body_rate default");
	is_str(cfg->ca_cert, "/var/lib/scepd/ca.crt", "ca.cert default");
	is_str(cfg->ca_key, "/var/lib/scepd/ca.key", "ca.key default");
	ok(cfg->ra_sign_cert == NULL && cfg->ra_sign_key == NULL && cfg->ra_enc_cert == NULL &&
	    cfg->ra_enc_key == NULL, "ra.* unset by default");
	is_int(cfg->n_caps, 8, "scep.capabilities: 8 by default");
	if (cfg->n_caps == 8) {
		is_str(cfg->caps[0], "POSTPKIOperation", "caps[0]");
		is_str(cfg->caps[1], "SHA-512", "caps[1]");
		is_str(cfg->caps[2], "SHA-384", "caps[2]");
		is_str(cfg->caps[3], "SHA-256", "caps[3]");
		is_str(cfg->caps[4], "SHA-1", "caps[4]");
		is_str(cfg->caps[5], "AES", "caps[5]");
		is_str(cfg->caps[6], "DES3", "caps[6]");
		is_str(cfg->caps[7], "SCEPStandard", "caps[7]");
	}
	is_int(cfg->allow_des, 0, "scep.allow_des default");
	is_int(cfg->allow_sha1, 1, "scep.allow_sha1 default");
	is_int(cfg->allow_md5, 0, "scep.allow_md5 default");
	is_int(cfg->include_ca_in_certrep, 0, "scep.include_ca_in_certrep default");
	is_int(cfg->enforce_password, 1, "challenge.EnforcePassword default");
	is_int(cfg->use_single_password, 0, "challenge.UseSinglePassword default");
	is_str(cfg->single_password, "", "challenge.SinglePassword default");
	is_int(cfg->password_length, 8, "challenge.PasswordLength default");
	is_int(cfg->password_max, 5, "challenge.PasswordMax default");
	is_int(cfg->password_validity, 60, "challenge.PasswordValidity default");
	is_int(cfg->validity_days, 365, "certificate.validity_days default");
	is_int(cfg->min_rsa_bits, 2048, "certificate.min_rsa_bits default");
	is_int(cfg->key_usage, X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT,
	    "certificate.key_usage default");
	is_int(cfg->n_ext_key_usage, 1, "certificate.extended_key_usage: one by default");
	is_str(cfg->ext_key_usage[0], "clientAuth", "certificate.extended_key_usage default");
	is_str(cfg->log_target, "stderr", "log.target default");
	is_str(cfg->log_facility, "daemon", "log.facility default");
	is_int(cfg->log_debug, 0, "log.debug default");
	config_free(cfg);
}

static void test_errors(void)
{
	fails_with("syntax error", "state_dir = \"/x\";\n\nhttp = {\n  threads = ;\n};\n",
	    LABEL ":4: syntax error\n");
	/* libconfig 1.5 leaks a misplaced string unless config.c defuses it */
	fails_with("misplaced string", "log = {\n  debug = true \"x\";\n};\n",
	    LABEL ":2: syntax error\n");
	fails_with("string in a group", "log = { \"debug\" };\n", LABEL ":1: syntax error\n");
	fails_with("admin.kerberos_realm with an @",
	    "admin = {\n  kerberos_realm = \"alice@EXAMPLE.ORG\";\n};\n",
	    LABEL ":2: admin.kerberos_realm must be a Kerberos realm name (up to 255 "
	    "characters, no @, /, backslash, quote or space)\n");
	fails_with("allow_other_signer_key = false with trusted_ra",
	    "trusted_ra = [ \"front-ra.crt\" ];\nscep = {\n  allow_other_signer_key = false;\n};\n",
	    LABEL ":3: scep.allow_other_signer_key = false refuses every PKCSReq a trusted_ra "
	    "RA signs for a device; leave it true with trusted_ra\n");
	/* libconfig 1.5 would drop it silently */
	fails_with("unterminated string", "log = { target = \"stderr\";\n};\nca = { cert = \"x\" \"y",
	    LABEL ":3: unterminated string\n");
	fails_with("duplicate setting", "log = {\n  debug = true;\n  debug = false;\n};\n",
	    LABEL ":3: duplicate setting name\n");
	fails_with("unknown key in a group", "http = {\n  threads = 2;\n  foo = 1;\n};\n",
	    LABEL ":3: unknown setting 'http.foo'\n");
	fails_with("unknown top-level group", "# ldap\n\nldap = {\n  cert = \"x\";\n};\n",
	    LABEL ":3: unknown setting 'ldap'\n");
	fails_with("unknown key with a hint", "challenge = {\n  enforcepassword = true;\n};\n",
	    LABEL ":2: unknown setting 'challenge.enforcepassword' (did you mean "
	    "'challenge.EnforcePassword'?)\n");
	fails_with("setting in the wrong group", "http = {\n  database = \"x.db\";\n};\n",
	    LABEL ":2: unknown setting 'http.database' (did you mean 'database'?)\n");
	fails_with("group given as a value", "\nca = \"ca.crt\";\n",
	    LABEL ":2: 'ca' must be a group: ca = { ... };\n");
	fails_with("integer given as a string", "http = {\n\n  threads = \"4\";\n};\n",
	    LABEL ":3: http.threads: expected an integer, got a string\n");
	fails_with("boolean given as an integer", "challenge = {\n  EnforcePassword = 1;\n};\n",
	    LABEL ":2: challenge.EnforcePassword: expected true or false, got an integer\n");
	fails_with("string given as an integer", "state_dir = 5;\n",
	    LABEL ":1: state_dir: expected a string in double quotes, got an integer\n");
	fails_with("list given as a string", "http = { listen = \"127.0.0.1:80\"; };\n",
	    LABEL ":1: http.listen: expected a list of strings like [ \"a\", \"b\" ], got a "
	    "string\n");
	fails_with("float for an integer", "certificate = {\n validity_days = 1.5;\n};\n",
	    LABEL ":2: certificate.validity_days: expected an integer, got a floating-point "
	    "number\n");
	fails_with("empty path", "ca = {\n  key = \"\";\n};\n", LABEL ":2: ca.key: must not be empty\n");
	fails_with("@include refused", "log = { debug = true; };\n@include \"/etc/passwd\"\n",
	    LABEL ":2: @include is not supported: keep the configuration in one file\n");
	fails_with("log.target", "log = {\n  target = \"file\";\n};\n",
	    LABEL ":2: log.target: unknown value \"file\"; known: stderr, syslog, journald\n");
	fails_with("log.facility", "log = {\n  facility = \"local8\";\n};\n",
	    LABEL ":2: log.facility: unknown value \"local8\"; known: auth, authpriv, cron, "
	    "daemon, ftp, kern, lpr, mail, news, syslog, user, uucp, local0, local1, local2, "
	    "local3, local4, local5, local6, local7\n");
	ok(config_load_string(LABEL, "bogus = 1;", NULL) == NULL, "errors without a stream");
}

static void test_all_errors(void)
{
	/* found in the order 4, 5, 2 (the ra check comes last), reported by line */
	fails_with("three errors, three lines",
	    "# line 1\n"
	    "ra = { sign_cert = \"a\"; sign_key = \"b\"; enc_cert = \"c\"; };\n"
	    "\n"
	    "bogus = 1;\n"
	    "http = { max_body = 1; };\n",
	    LABEL ":2: ra.enc_key is required when the ra group is present (without the "
	    "group the CA acts as RA)\n"
	    LABEL ":4: unknown setting 'bogus'\n"
	    LABEL ":5: http.max_body: 1 is out of range (1024..16777216)\n");
	fails_with("two errors on one line",
	    "log = { target = \"x\"; debug = 3; };\n",
	    LABEL ":1: log.target: unknown value \"x\"; known: stderr, syslog, journald\n"
	    LABEL ":1: log.debug: expected true or false, got an integer\n");
}

static void test_ranges(void)
{
	struct config *cfg;
	char *errs = NULL;

	fails_with("below range", "http = {\n  max_body = 100;\n};\n",
	    LABEL ":2: http.max_body: 100 is out of range (1024..16777216)\n");
	fails_with("above range", "challenge = {\n\n  PasswordValidity = 10081;\n};\n",
	    LABEL ":3: challenge.PasswordValidity: 10081 is out of range (1..10080)\n");
	fails_with("negative", "http = { threads = -1; };\n",
	    LABEL ":1: http.threads: -1 is out of range (0..256)\n");
	fails_with("64-bit value out of range", "http = { max_url = 2147483648L; };\n",
	    LABEL ":1: http.max_url: 2147483648 is out of range (1024..1048576)\n");
	/* libconfig 1.5 would read this as 262144 (it wraps at 2^32) */
	fails_with("literal too large for libconfig", "http = { max_body = 4295229440; };\n",
	    LABEL ":1: integer 4295229440 is too large\n");
	fails_with("hex literal too large", "http = { max_body = 0x100040000; };\n",
	    LABEL ":1: integer 0x100040000 is too large\n");

	cfg = load("http = { max_body = 1024; max_url = 1048576; threads = 256;\n"
	    "  per_ip_connections = 0x10; max_connections = 65536L; };\n"
	    "challenge = { PasswordLength = 4; PasswordMax = 1000; };\n"
	    "certificate = { min_rsa_bits = 16384; validity_days = 1; };\n", &errs);
	ok(cfg != NULL, "bounds are inside the range");
	is_str(errs, "", "bounds: no messages");
	if (cfg != NULL) {
		is_int(cfg->max_body, 1024, "max_body lower bound");
		is_int(cfg->max_url, 1048576, "max_url upper bound");
		is_int(cfg->threads, 256, "threads upper bound");
		is_int(cfg->per_ip_connections, 16, "hex integer");
		is_int(cfg->max_connections, 65536, "64-bit integer");
		is_int(cfg->password_length, 4, "PasswordLength lower bound");
		is_int(cfg->password_max, 1000, "PasswordMax upper bound");
		is_int(cfg->min_rsa_bits, 16384, "min_rsa_bits upper bound");
		is_int(cfg->validity_days, 1, "validity_days lower bound");
	}
	config_free(cfg);
	free(errs);
}

static void test_listen(void)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load("http = { listen = [ \"[::1]:8443\", \"0.0.0.0:80\", \"[::]:443\",\n"
	    "  \"127.0.0.1:65535\", \"[0:0::0:1]:1\", \"[::ffff:10.0.0.1]:8080\" ]; };\n", &errs);
	ok(cfg != NULL, "listen: IPv4 and IPv6 accepted");
	is_str(errs, "", "listen: no messages");
	if (cfg != NULL && cfg->n_listen == 6) {
		is_str(cfg->listen[0].host, "::1", "[::1] host");
		is_int(cfg->listen[0].port, 8443, "[::1] port");
		is_str(cfg->listen[1].host, "0.0.0.0", "0.0.0.0 host");
		is_int(cfg->listen[1].port, 80, "0.0.0.0 port");
		is_str(cfg->listen[2].host, "::", "[::] host");
		is_int(cfg->listen[2].port, 443, "[::] port");
		is_int(cfg->listen[3].port, 65535, "port 65535");
		is_str(cfg->listen[4].host, "::1", "IPv6 address in canonical form");
		is_int(cfg->listen[4].port, 1, "port 1");
		is_str(cfg->listen[5].host, "::ffff:10.0.0.1", "IPv4-mapped IPv6");
	} else {
		ok(0, "listen: 6 entries (got %zu)", cfg ? cfg->n_listen : 0);
	}
	config_free(cfg);
	free(errs);

	fails_with("bad listen entries",
	    "http = {\n"
	    "  listen = [\n"
	    "    \"::1:80\",\n"
	    "    \"1.2.3.4:0\",\n"
	    "    \"1.2.3.4:65536\",\n"
	    "    \":80\",\n"
	    "    \"[::1]80\",\n"
	    "    \"[::1:80\",\n"
	    "    \"localhost:80\"\n"
	    "  ];\n"
	    "};\n",
	    LABEL ":3: http.listen: \"::1:80\": write an IPv6 address in brackets: [ADDRESS]:PORT\n"
	    LABEL ":4: http.listen: \"1.2.3.4:0\": port must be a number from 1 to 65535\n"
	    LABEL ":5: http.listen: \"1.2.3.4:65536\": port must be a number from 1 to 65535\n"
	    LABEL ":6: http.listen: \":80\": missing address\n"
	    LABEL ":7: http.listen: \"[::1]80\": expected ':PORT' after ']'\n"
	    LABEL ":8: http.listen: \"[::1:80\": missing ']' after the IPv6 address\n"
	    LABEL ":9: http.listen: \"localhost:80\": not a numeric IPv4 address (IPv6: "
	    "[ADDRESS]:PORT)\n");
	fails_with("more bad listen entries",
	    "http = { listen = [ \"1.2.3.4\", \"1.2.3.4:\", \"1.2.3.4:8x\", \"[1.2.3.4]:80\",\n"
	    "  \"1.2.3.4:+80\", \"1.2.3.4:000080\" ]; };\n",
	    LABEL ":1: http.listen: \"1.2.3.4\": expected ADDRESS:PORT\n"
	    LABEL ":1: http.listen: \"1.2.3.4:\": missing port\n"
	    LABEL ":1: http.listen: \"1.2.3.4:8x\": port must be a number from 1 to 65535\n"
	    LABEL ":1: http.listen: \"[1.2.3.4]:80\": not a numeric IPv6 address\n"
	    LABEL ":2: http.listen: \"1.2.3.4:+80\": port must be a number from 1 to 65535\n"
	    LABEL ":2: http.listen: \"1.2.3.4:000080\": port must be a number from 1 to 65535\n");
	fails_with("duplicate listen address",
	    "http = { listen = [ \"[::1]:443\",\n \"[0::1]:443\" ]; };\n",
	    LABEL ":2: http.listen: \"[0::1]:443\" is listed twice\n");
	fails_with("empty listen list", "http = {\n  listen = [ ];\n};\n",
	    LABEL ":2: http.listen and tls.listen are both empty: scepd would not listen "
	    "anywhere\n");
	fails_with("too many listen addresses",
	    "http = { listen = [ \"127.0.0.1:1\", \"127.0.0.1:2\", \"127.0.0.1:3\", \"127.0.0.1:4\",\n"
	    "  \"127.0.0.1:5\", \"127.0.0.1:6\", \"127.0.0.1:7\", \"127.0.0.1:8\", \"127.0.0.1:9\" ]; };\n",
	    LABEL ":1: http.listen: 9 entries, at most 8 allowed\n");
}

static void test_lists(void)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load("scep = { capabilities = ( \"SCEPStandard\", \"SHA-224\", \"DES3\" ); };\n"
	    "certificate = { key_usage = [ \"keyAgreement\", \"nonRepudiation\" ];\n"
	    "  extended_key_usage = [ \"serverAuth\", \"1.3.6.1.5.5.7.3.2\",\n"
	    "    \"1.3.6.1.4.1.311.20.2.2\", \"TLS Web Client Authentication\" ]; };\n", &errs);
	ok(cfg != NULL, "lists accepted");
	is_str(errs, "", "lists: no messages");
	if (cfg != NULL) {
		is_int(cfg->n_caps, 3, "three capabilities");
		is_str(cfg->caps[0], "SCEPStandard", "capabilities keep their order (0)");
		is_str(cfg->caps[2], "DES3", "capabilities keep their order (2)");
		is_int(cfg->key_usage, X509v3_KU_KEY_AGREEMENT | X509v3_KU_NON_REPUDIATION,
		    "key usage names to bits");
		is_int(cfg->n_ext_key_usage, 4, "four extended key usages");
		is_str(cfg->ext_key_usage[1], "1.3.6.1.5.5.7.3.2", "dotted OID kept");
		is_str(cfg->ext_key_usage[3], "TLS Web Client Authentication", "OpenSSL long name");
	}
	config_free(cfg);
	free(errs);

	cfg = load("scep = { capabilities = [ ]; };\ncertificate = { key_usage = [ ];"
	    " extended_key_usage = [ ]; };\n", &errs);
	ok(cfg != NULL && cfg->n_caps == 0 && cfg->key_usage == 0 && cfg->n_ext_key_usage == 0,
	    "empty lists accepted");
	config_free(cfg);
	free(errs);

	fails_with("capabilities",
	    "scep = {\n  capabilities = [ \"AES\",\n  \"AES\",\n  \"SHA-256 \",\n  \"aes\" ];\n};\n",
	    LABEL ":3: scep.capabilities: \"AES\" is listed twice\n"
	    LABEL ":4: scep.capabilities: unknown value \"SHA-256 \"; known: AES, DES3, "
	    "POSTPKIOperation, SHA-1, SHA-224, SHA-256, SHA-384, "
	    "SHA-512, SCEPStandard\n"
	    LABEL ":5: scep.capabilities: unknown value \"aes\"; known: AES, DES3, "
	    "POSTPKIOperation, SHA-1, SHA-224, SHA-256, SHA-384, "
	    "SHA-512, SCEPStandard\n");
	fails_with("list entry lines past comments",
	    "scep = {\n"
	    "  capabilities = (   # line 2\n"
	    "    \"AES\",           // line 3\n"
	    "    /* a\n"
	    "       comment */\n"
	    "    \"bogus\"          # line 6\n"
	    "  );\n"
	    "};\n",
	    LABEL ":6: scep.capabilities: unknown value \"bogus\"; known: AES, DES3, "
	    "POSTPKIOperation, SHA-1, SHA-224, SHA-256, SHA-384, "
	    "SHA-512, SCEPStandard\n");
	fails_with("adjacent strings are one entry",
	    "scep = { capabilities = [ \"SHA-\"\n  \"256\", \"SHA-\"\n \"7\" ]; };\n",
	    LABEL ":2: scep.capabilities: unknown value \"SHA-7\"; known: AES, DES3, "
	    "POSTPKIOperation, SHA-1, SHA-224, SHA-256, SHA-384, "
	    "SHA-512, SCEPStandard\n");
	fails_with("list entry of the wrong type",
	    "scep = { capabilities = ( \"AES\",\n 5 ); };\n",
	    LABEL ":2: scep.capabilities: entry 2: expected a string, got an integer\n");
	fails_with("key usage",
	    "certificate = {\n  key_usage = [ \"digitalSignature\", \"keyCertSign\",\n"
	    "  \"digitalSignature\" ];\n};\n",
	    LABEL ":2: certificate.key_usage: unknown key usage \"keyCertSign\"; known: "
	    "digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement\n"
	    LABEL ":3: certificate.key_usage: \"digitalSignature\" is listed twice\n");
	fails_with("extended key usage",
	    "certificate = {\n  extended_key_usage = [ \"clientAuth\",\n  \"clientauthx\",\n"
	    "  \"1.x.3\", \"clientAuth\" ];\n};\n",
	    LABEL ":3: certificate.extended_key_usage: \"clientauthx\": neither an OpenSSL "
	    "object name nor a dotted OID\n"
	    LABEL ":4: certificate.extended_key_usage: \"1.x.3\": neither an OpenSSL object "
	    "name nor a dotted OID\n"
	    LABEL ":4: certificate.extended_key_usage: \"clientAuth\" is listed twice\n");
}

static void test_groups(void)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load_as("/etc/scepd/scepd.conf",
	    "ra = {\n  sign_cert = \"ra/sign.crt\"; sign_key = \"ra/sign.key\";\n"
	    "  enc_cert = \"/etc/ssl/ra-enc.crt\"; enc_key = \"ra//enc.key\";\n};\n", &errs);
	ok(cfg != NULL, "ra group with all four settings");
	is_str(errs, "", "ra group: no messages");
	if (cfg != NULL) {
		is_str(cfg->ra_sign_cert, "/var/lib/scepd/ra/sign.crt", "ra.sign_cert resolved");
		is_str(cfg->ra_sign_key, "/var/lib/scepd/ra/sign.key", "ra.sign_key resolved");
		is_str(cfg->ra_enc_cert, "/etc/ssl/ra-enc.crt", "ra.enc_cert absolute kept");
		is_str(cfg->ra_enc_key, "/var/lib/scepd/ra/enc.key", "ra.enc_key cleaned");
	}
	config_free(cfg);
	free(errs);

	fails_with("empty ra group", "\nra = { };\n",
	    LABEL ":2: ra.sign_cert is required when the ra group is present (without the "
	    "group the CA acts as RA)\n"
	    LABEL ":2: ra.sign_key is required when the ra group is present (without the "
	    "group the CA acts as RA)\n"
	    LABEL ":2: ra.enc_cert is required when the ra group is present (without the "
	    "group the CA acts as RA)\n"
	    LABEL ":2: ra.enc_key is required when the ra group is present (without the "
	    "group the CA acts as RA)\n");
	fails_with("UseSinglePassword without a password",
	    "challenge = {\n  UseSinglePassword = true;\n};\n",
	    LABEL ":2: challenge.SinglePassword must be set when "
	    "challenge.UseSinglePassword is true\n");
	fails_with("UseSinglePassword with an empty password",
	    "challenge = {\n  UseSinglePassword = true;\n  SinglePassword = \"\";\n};\n",
	    LABEL ":3: challenge.SinglePassword must be set when "
	    "challenge.UseSinglePassword is true\n");

	cfg = load("challenge = { UseSinglePassword = TRUE; SinglePassword = \"s3cret\"; };\n",
	    &errs);
	ok(cfg != NULL && cfg->use_single_password == 1 &&
	    strcmp(cfg->single_password, "s3cret") == 0, "single password");
	config_free(cfg);
	free(errs);
}

static void test_paths(void)
{
	struct config *cfg;
	char *errs = NULL, *p, cwd[PATH_MAX], want[PATH_MAX + 64], conf[64];
	FILE *f;

	cfg = load_as("/etc/scepd/scepd.conf",
	    "state_dir = \"state\";\ndatabase = \"db/./x.db\";\n"
	    "ca = { cert = \"//abs//ca.pem/\"; key = \"../keys/ca.key\"; };\n", &errs);
	ok(cfg != NULL, "relative paths load");
	if (cfg != NULL) {
		is_str(cfg->state_dir, "/etc/scepd/state", "state_dir from the file's directory");
		is_str(cfg->database, "/etc/scepd/state/db/x.db", "database from state_dir");
		is_str(cfg->ca_cert, "/abs/ca.pem", "absolute path cleaned");
		is_str(cfg->ca_key, "/etc/scepd/state/../keys/ca.key", "'..' kept");
		p = config_path(cfg, "crl/ca.crl");
		is_str(p, "/etc/scepd/state/crl/ca.crl", "config_path relative");
		free(p);
		p = config_path(cfg, "/run/scepd.sock");
		is_str(p, "/run/scepd.sock", "config_path absolute");
		free(p);
	}
	config_free(cfg);
	free(errs);

	cfg = load_as("/etc/scepd/scepd.conf", "state_dir = \"/srv/scepd/\";\n", &errs);
	ok(cfg != NULL && strcmp(cfg->state_dir, "/srv/scepd") == 0 &&
	    strcmp(cfg->ca_key, "/srv/scepd/ca.key") == 0, "defaults follow state_dir");
	config_free(cfg);
	free(errs);

	/* config_load with a relative file name: the base is made absolute. The
	 * file name carries the PID so two runs at once never share it. */
	mkdir("tests/tmp", 0755);
	snprintf(conf, sizeof(conf), "tests/tmp/test_config.%ld.conf", (long)getpid());
	if (getcwd(cwd, sizeof(cwd)) == NULL || (f = fopen(conf, "w")) == NULL) {
		skip("cannot write %s: %s", conf, strerror(errno));
		return;
	}
	fputs("state_dir = \"st\";\n", f);
	fclose(f);
	cfg = config_load(conf, stderr);
	snprintf(want, sizeof(want), "%s/tests/tmp/st", cwd);
	is_str(cfg ? cfg->state_dir : NULL, want, "config_load: state_dir absolute");
	is_str(cfg ? cfg->file : NULL, conf, "config_load: file as given");
	config_free(cfg);

	/* a NUL byte, and a file that is not there */
	if ((f = fopen(conf, "w")) != NULL) {
		fwrite("a = 1;\0b = 2;\n", 1, 14, f);
		fclose(f);
	}
	p = NULL;
	{
		size_t len = 0;
		FILE *e = open_memstream(&p, &len);
		cfg = config_load(conf, e);
		config_free(cfg);
		cfg = config_load("tests/tmp/does-not-exist.conf", e);
		fclose(e);
	}
	ok(cfg == NULL, "missing file refused");
	snprintf(want, sizeof(want), "%s: contains a NUL byte\n"
	    "tests/tmp/does-not-exist.conf: cannot read: No such file or directory\n", conf);
	is_str(p, want, "file errors");
	free(p);
	unlink(conf);
}

/* Prints cfg, loads the print and checks it is equal. */
static void round_trip(const char *name, const struct config *cfg)
{
	struct config *back;
	char *text, *errs = NULL, *again;

	text = print(cfg);
	back = load_as("/elsewhere/printed.conf", text ? text : "", &errs);
	ok(back != NULL, "%s: printed configuration loads", name);
	is_str(errs, "", "%s: printed configuration: no messages", name);
	ok(back != NULL && config_equal(cfg, back), "%s: loads back equal", name);
	again = back ? print(back) : NULL;
	/* the second line names the file read; the rest must be identical */
	ok(text && again && strcmp(strchr(strchr(text, '\n') + 1, '\n'),
	    strchr(strchr(again, '\n') + 1, '\n')) == 0, "%s: printing is stable", name);
	if (back == NULL)
		printf("# printed:\n%s", text ? text : "");
	config_free(back);
	free(text);
	free(again);
	free(errs);
}

static void test_round_trip(void)
{
	struct config *sample, *defaults, *cfg;
	char *errs = NULL, *text;

	sample = config_load("etc/scepd.conf", stderr);
	ok(sample != NULL, "etc/scepd.conf loads");
	/* the packaged configuration names the service user; the default is none */
	ok(sample != NULL && sample->user != NULL && strcmp(sample->user, "scepd") == 0 &&
	    sample->group != NULL && strcmp(sample->group, "scepd") == 0,
	    "etc/scepd.conf runs as user and group scepd");
	if (sample != NULL) {
		free(sample->user);
		free(sample->group);
		sample->user = sample->group = NULL;
	}
	defaults = load_as("/etc/scepd/scepd.conf", "", &errs);
	free(errs);
	ok(sample && defaults && config_equal(sample, defaults),
	    "etc/scepd.conf configures exactly the defaults");
	if (sample != NULL)
		round_trip("sample", sample);
	config_free(sample);

	cfg = load_as("/etc/scepd/scepd.conf",
	    "state_dir = \"/srv/scep\";\n"
	    "database = \"/var/db/scep.sqlite\";\n"
	    "http = { listen = [ \"[::]:443\", \"10.1.2.3:8443\", \"[fe80::1]:80\" ];\n"
	    "  threads = 12; max_url = 1048576; max_body = 1024; max_connections = 9;\n"
	    "  connection_timeout = 3600; per_ip_connections = 4; };\n"
	    "ca = { cert = \"ca/my ca.pem\"; key = \"ca/my \\\"ca\\\".key\"; };\n"
	    "ra = { sign_cert = \"s.crt\"; sign_key = \"s.key\"; enc_cert = \"e.crt\";"
	    " enc_key = \"e.key\"; };\n"
	    "scep = { capabilities = [ \"DES3\", \"SHA-224\" ]; allow_des = true;\n"
	    "  allow_sha1 = false; allow_md5 = true; include_ca_in_certrep = true; };\n"
	    "challenge = { EnforcePassword = false; UseSinglePassword = true;\n"
	    "  SinglePassword = \"q\\\"uo\\\\te\\ttab\\nnl\\x01 caf\xc3\xa9 #// /*\";\n"
	    "  PasswordLength = 32; PasswordMax = 1; PasswordValidity = 10080; };\n"
	    "certificate = { validity_days = 3650; min_rsa_bits = 3072;\n"
	    "  key_usage = [ \"keyAgreement\", \"digitalSignature\", \"dataEncipherment\",\n"
	    "    \"nonRepudiation\", \"keyEncipherment\" ];\n"
	    "  extended_key_usage = [ ]; };\n"
	    "log = { target = \"syslog\"; facility = \"local7\"; debug = true; };\n", &errs);
	ok(cfg != NULL, "non-default configuration loads");
	is_str(errs, "", "non-default configuration: no messages");
	free(errs);
	if (cfg != NULL) {
		is_str(cfg->single_password, "q\"uo\\te\ttab\nnl\x01 caf\xc3\xa9 #// /*",
		    "escapes in a string");
		is_str(cfg->ca_key, "/srv/scep/ca/my \"ca\".key", "quotes in a path");
		ok(!config_equal(cfg, defaults), "config_equal sees a difference");
		round_trip("non-default", cfg);
	}
	config_free(cfg);

	/* a change in one field only is seen */
	cfg = load_as("/etc/scepd/scepd.conf", "log = { debug = true; };\n", &errs);
	free(errs);
	ok(cfg && defaults && !config_equal(cfg, defaults), "config_equal: one boolean differs");
	config_free(cfg);
	cfg = load_as("/etc/scepd/scepd.conf",
	    "http = { listen = [ \"127.0.0.1:8081\" ]; };\n", &errs);
	free(errs);
	ok(cfg && defaults && !config_equal(cfg, defaults), "config_equal: listen port differs");
	config_free(cfg);

	/* the printed defaults leave the ra group out (commented) */
	text = defaults ? print(defaults) : NULL;
	ok(text && strstr(text, "\n# ra = { ... }; is not set.\n") &&
	    !strstr(text, "\nra = {"), "unset ra group printed as a comment");
	free(text);
	config_free(defaults);
}

/* tls and monitor groups, log.format / log.access_log, http.drain_timeout (issue 5). */
static void test_service_settings(void)
{
	struct config *cfg;
	char *errs = NULL;
	char host[64];

	cfg = load("", &errs);
	ok(cfg != NULL, "service defaults load");
	free(errs);
	if (cfg != NULL) {
		is_int(cfg->drain_timeout, 10, "http.drain_timeout default 10");
		is_int(cfg->n_tls_listen, 0, "tls.listen default empty");
		ok(cfg->tls_cert == NULL && cfg->tls_key == NULL, "tls.cert and tls.key unset");
		is_str(cfg->tls_min_version, "1.2", "tls.min_version default 1.2");
		is_str(cfg->log_format, "text", "log.format default text");
		ok(cfg->access_log == NULL, "log.access_log unset by default");
		is_int(cfg->n_monitor_allow, 2, "monitor.allow: two defaults");
		is_int(cfg->monitor_allow[0].family, AF_INET, "monitor.allow[0] IPv4");
		is_int(cfg->monitor_allow[0].prefix, 32, "monitor.allow[0] /32");
		is_int(cfg->monitor_allow[0].addr[0], 127, "monitor.allow[0] 127.x");
		is_int(cfg->monitor_allow[1].family, AF_INET6, "monitor.allow[1] IPv6");
		is_int(cfg->monitor_allow[1].prefix, 128, "monitor.allow[1] /128");
		is_int(cfg->monitor_allow[1].addr[15], 1, "monitor.allow[1] ::1");
		is_int(cfg->expiry_warning_days, 60, "monitor.expiry_warning_days default 60");
		ok(!cfg->lab_enabled && !cfg->lab_record, "lab mode and recording off by default");
		ok(cfg->lab_record_max == 1000 && cfg->lab_record_max_bytes == 67108864,
		    "lab.record_max 1000, lab.record_max_bytes 64 MiB by default");
	}
	config_free(cfg);

	cfg = load("state_dir = \"/srv/s\";\n"
	    "http = { listen = [ ]; drain_timeout = 0; };\n"
	    "tls = { listen = [ \"[::]:443\", \"0.0.0.0:443\" ]; cert = \"t.crt\";\n"
	    "  key = \"/k/t.key\"; min_version = \"1.3\"; };\n"
	    "log = { target = \"journald\"; format = \"json\"; access_log = \"log/a.log\"; };\n"
	    "monitor = { allow = [ \"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\", \"::/0\" ];\n"
	    "  expiry_warning_days = 0; };\n", &errs);
	ok(cfg != NULL, "HTTPS only, journald, JSON, access log, networks: accepted");
	is_str(errs, "", "HTTPS only ...: no messages");
	free(errs);
	if (cfg != NULL) {
		is_int(cfg->n_listen, 0, "no plain HTTP listener");
		is_int(cfg->n_tls_listen, 2, "two HTTPS listeners");
		is_str(cfg->tls_listen[0].host, "::", "tls.listen [::]");
		is_int(cfg->tls_listen[1].port, 443, "tls.listen port");
		is_str(cfg->tls_cert, "/srv/s/t.crt", "tls.cert resolved against state_dir");
		is_str(cfg->tls_key, "/k/t.key", "absolute tls.key kept");
		is_str(cfg->tls_min_version, "1.3", "tls.min_version 1.3");
		is_str(cfg->log_target, "journald", "log.target journald");
		is_str(cfg->log_format, "json", "log.format json");
		is_str(cfg->access_log, "/srv/s/log/a.log", "log.access_log resolved");
		is_int(cfg->n_monitor_allow, 4, "four networks");
		is_int(cfg->monitor_allow[0].prefix, 8, "10.0.0.0/8 prefix");
		is_int(cfg->monitor_allow[1].prefix, 32, "2001:db8::/32 prefix");
		is_int(cfg->monitor_allow[1].family, AF_INET6, "2001:db8::/32 family");
		is_int(cfg->monitor_allow[3].prefix, 0, "::/0 prefix");
		is_int(cfg->expiry_warning_days, 0, "expiry warnings off");
		snprintf(host, sizeof(host), "%u.%u.%u.%u", cfg->monitor_allow[2].addr[0],
		    cfg->monitor_allow[2].addr[1], cfg->monitor_allow[2].addr[2],
		    cfg->monitor_allow[2].addr[3]);
		is_str(host, "192.0.2.7", "single address");
		round_trip("service settings", cfg);
	}
	config_free(cfg);

	cfg = load("lab = { enabled = true; record = true; record_max = 5;\n"
	    "  record_max_bytes = 65536; };\n", &errs);
	ok(cfg != NULL, "lab settings: accepted");
	is_str(errs, "", "lab settings: no messages");
	free(errs);
	if (cfg != NULL) {
		ok(cfg->lab_enabled && cfg->lab_record && cfg->lab_record_max == 5 &&
		    cfg->lab_record_max_bytes == 65536, "lab settings read");
		round_trip("lab settings", cfg);
	}
	config_free(cfg);
	fails_with("lab bounds", "lab = { record_max = 0;\n  record_max_bytes = 1024; };\n",
	    LABEL ":1: lab.record_max: 0 is out of range (1..100000)\n"
	    LABEL ":2: lab.record_max_bytes: 1024 is out of range (65536..1073741824)\n");

	fails_with("bad networks",
	    "monitor = { allow = [ \"10.0.0.1/8\", \"10.0.0.0/33\", \"::1/129\", \"host\",\n"
	    "  \"10.0.0.0/\", \"/8\", \"10.0.0.0/08\", \"127.0.0.1\", \"127.0.0.1/32\" ]; };\n",
	    LABEL ":1: monitor.allow: \"10.0.0.1/8\": address has bits set beyond the prefix "
	    "length\n"
	    LABEL ":1: monitor.allow: \"10.0.0.0/33\": prefix length must be 0 to 32\n"
	    LABEL ":1: monitor.allow: \"::1/129\": prefix length must be 0 to 128\n"
	    LABEL ":1: monitor.allow: \"host\": not a numeric IPv4 or IPv6 address\n"
	    LABEL ":2: monitor.allow: \"10.0.0.0/\": missing prefix length after '/'\n"
	    LABEL ":2: monitor.allow: \"/8\": missing address\n"
	    LABEL ":2: monitor.allow: \"10.0.0.0/08\": prefix length must be 0 to 32\n"
	    LABEL ":2: monitor.allow: \"127.0.0.1/32\" is listed twice\n");
	fails_with("HTTPS without a certificate",
	    "tls = {\n  listen = [ \"127.0.0.1:8443\" ];\n};\n",
	    LABEL ":2: tls.cert and tls.key are required when tls.listen is not empty\n");
	fails_with("HTTPS and HTTP on one address",
	    "http = { listen = [ \"127.0.0.1:8443\" ]; };\n"
	    "tls = { listen = [ \"127.0.0.1:8443\" ]; cert = \"c\"; key = \"k\"; };\n",
	    LABEL ":2: tls.listen: \"127.0.0.1:8443\" is in http.listen too\n");
	fails_with("TLS 1.1", "tls = { min_version = \"1.1\"; };\n",
	    LABEL ":1: tls.min_version: unknown value \"1.1\"; known: 1.2, 1.3\n");
	fails_with("log.format", "log = { format = \"xml\"; };\n",
	    LABEL ":1: log.format: unknown value \"xml\"; known: text, json\n");
	fails_with("drain_timeout range", "http = { drain_timeout = 3601; };\n",
	    LABEL ":1: http.drain_timeout: 3601 is out of range (0..3600)\n");
}

/* The schema, the man page and the sample list the same settings. */
static void test_documentation(void)
{
	const char *const *names = config_setting_names();
	char *man, *sample, *line, *save = NULL, name[128], want[160];
	const char *leaf;
	size_t n = 0, i, pos = 0, known;
	int in_order = 1, all_schema = 1, missing = 0, sample_missing = 0;

	for (n = 0; names[n] != NULL; n++)
		;
	is_int(n, 182, "schema has 182 settings");
	man = slurp("man/scepd.conf.5");
	ok(man != NULL, "man/scepd.conf.5 readable");
	if (man == NULL)
		return;
	/* every .It Cm entry is a schema name, in table order */
	for (line = strtok_r(man, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ".It Cm ", 7) != 0)
			continue;
		if (sscanf(line + 7, "%127s", name) != 1)
			continue;
		for (known = 0; names[known] != NULL; known++)
			if (strcmp(names[known], name) == 0)
				break;
		if (names[known] == NULL) {
			all_schema = 0;
			printf("# man page entry '%s' is not a setting\n", name);
			continue;
		}
		if (known != pos) {
			in_order = 0;
			printf("# man page entry '%s' out of order (want '%s')\n", name,
			    pos < n ? names[pos] : "(end)");
		}
		pos = known + 1;
	}
	free(man);
	ok(all_schema, "every .It Cm entry in scepd.conf.5 is a setting");
	ok(in_order, "scepd.conf.5 lists the settings in schema order");

	/* every schema name appears as an .It Cm entry */
	man = slurp("man/scepd.conf.5");
	for (i = 0; man != NULL && names[i] != NULL; i++) {
		snprintf(want, sizeof(want), "\n.It Cm %s ", names[i]);
		if (strstr(man, want) == NULL) {
			snprintf(want, sizeof(want), "\n.It Cm %s\n", names[i]);
			if (strstr(man, want) == NULL) {
				missing++;
				printf("# setting '%s' missing from scepd.conf.5\n", names[i]);
			}
		}
	}
	free(man);
	is_int(missing, 0, "every setting has an .It Cm entry in scepd.conf.5");

	/* the sample writes every setting out (the ra ones commented) */
	sample = slurp("etc/scepd.conf");
	ok(sample != NULL, "etc/scepd.conf readable");
	for (i = 0; sample != NULL && names[i] != NULL; i++) {
		leaf = strchr(names[i], '.') ? strchr(names[i], '.') + 1 : names[i];
		snprintf(want, sizeof(want), "\t%s = ", leaf);
		if (strstr(sample, want) == NULL) {
			snprintf(want, sizeof(want), "\n%s = ", leaf);
			if (strstr(sample, want) == NULL) {
				sample_missing++;
				printf("# setting '%s' missing from etc/scepd.conf\n", names[i]);
			}
		}
	}
	free(sample);
	is_int(sample_missing, 0, "etc/scepd.conf shows every setting");
}


/* templates = ( ... ) and profiles = ( ... ): parsing, inheritance, checks, round trip. */
static void test_templates_profiles(void)
{
	struct config *cfg;
	char *errs = NULL;

	cfg = load_as("/etc/scepd/scepd.conf",
	    "SignatureTemplate = \"sig\";\n"
	    "challenge = { EnforcePassword = false; };\n"
	    "scep = { allow_sha1 = false; allow_des = true; };\n"
	    "renewal = { enabled = false; old_certificate = \"revoke\"; };\n"
	    "templates = (\n"
	    "  { name = \"sig\"; key_usage = [ \"digitalSignature\" ]; validity_days = 30;\n"
	    "    subject_pattern = \"^CN=[a-z]+$\"; approval = true; },\n"
	    "  { name = \"enc\"; key_types = [ \"rsa\" ]; san_required = true; }\n"
	    ");\n"
	    "profiles = (\n"
	    "  { name = \"vpn\"; EncryptionTemplate = \"enc\"; ciphers = [ \"AES-256\" ];\n"
	    "    ra_sign_cert = \"a\"; ra_sign_key = \"b\"; ra_enc_cert = \"c\"; ra_enc_key = \"d\"; },\n"
	    "  { name = \"iot\"; path = \"/devices/scep\"; EnforcePassword = true;\n"
	    "    UseSinglePassword = true; SinglePassword = \"s3\"; renewal = true; }\n"
	    ");\n", &errs);
	ok(cfg != NULL, "templates and profiles load");
	is_str(errs, "", "templates and profiles: no messages");
	free(errs);
	if (cfg == NULL)
		return;
	is_int(cfg->n_templates, 2, "two templates");
	is_str(cfg->templates[0].name, "sig", "template 0 name");
	is_int(cfg->templates[0].validity_days, 30, "template 0 validity");
	is_int(cfg->templates[0].key_usage, X509v3_KU_DIGITAL_SIGNATURE, "template 0 key usage");
	is_int(cfg->templates[0].approval, 1, "template 0 approval");
	is_int(cfg->templates[1].validity_days, 365, "template 1: schema default, not certificate's");
	is_int(cfg->templates[1].n_key_types, 1, "template 1 key types");
	is_int(cfg->templates[1].n_san_types, 7, "template 1: all SAN types by default");
	is_int(cfg->n_profiles, 2, "two profiles");
	is_str(cfg->profiles[0].path, "/scep/vpn", "empty path becomes /scep/NAME");
	is_str(cfg->profiles[1].path, "/devices/scep", "explicit path kept");
	is_int(cfg->profiles[0].enforce_password, 0, "EnforcePassword inherited (false)");
	is_int(cfg->profiles[1].enforce_password, 1, "EnforcePassword given");
	is_str(cfg->profiles[0].signature_template, "sig", "SignatureTemplate inherited");
	is_str(cfg->profiles[0].encryption_template, "enc", "EncryptionTemplate given");
	is_int(cfg->profiles[0].renewal, 0, "renewal inherited from renewal.enabled");
	is_int(cfg->profiles[1].renewal, 1, "renewal given");
	is_int(cfg->profiles[0].n_caps, 8, "capabilities inherited");
	is_int(cfg->profiles[1].n_digests, 4, "digests from the scep group (no SHA-1)");
	is_str(cfg->profiles[1].digests[0], "SHA-224", "digests start with SHA-224");
	is_int(cfg->profiles[1].n_ciphers, 5, "ciphers from the scep group (with DES)");
	is_str(cfg->profiles[1].ciphers[0], "DES", "DES allowed with allow_des");
	is_int(cfg->profiles[0].n_ciphers, 1, "ciphers given");
	is_int(cfg->profiles[0].n_key_transport, 2, "both key transports by default");
	is_str(cfg->profiles[0].ra_sign_cert, "/var/lib/scepd/a", "profile RA path resolved");
	is_int(cfg->profiles[1].ra_sign_cert == NULL, 1, "no RA for the other profile");
	is_str(cfg->renewal_old_certificate, "revoke", "renewal.old_certificate");
	round_trip("templates and profiles", cfg);
	config_free(cfg);

	fails_with("template errors",
	    "templates = ( { validity_days = 3; bogus = 1; },\n"
	    "  { name = \"default\"; subject_pattern = \"(\"; },\n"
	    "  { name = \"x\"; }, { name = \"x\"; }, 5 );\n"
	    "EncryptionTemplate = \"nope\";\n",
	    LABEL ":1: unknown setting 'templates.bogus'\n"
	    LABEL ":1: templates: entry 1 has no name\n"
	    LABEL ":2: templates.name: \"default\" is not a usable name (letters, digits, '-', "
	    "'_'; \"default\" is the certificate group)\n"
	    LABEL ":2: templates.subject_pattern: not a POSIX extended regular expression: "
	    "Unmatched ( or \\(\n"
	    LABEL ":3: templates: entry 5: expected a group { ... }\n"
	    LABEL ":3: templates.name: \"x\" is defined twice\n"
	    LABEL ":4: EncryptionTemplate: no template named \"nope\" (\"default\" or a name in "
	    "templates)\n");
	/* glibc's regcomp unrolls repetitions: these took 700 MB and 8 GB (fuzz_config). */
	fails_with("regular expressions too large to compile",
	    "certificate = { subject_pattern = \"^CN++=x$\";\n"
	    "  san_pattern = \"^a{1,32767}$\"; };\n"
	    "templates = ( { name = \"t\"; subject_pattern = \"(([a-z]{1,60}\\\\.){1,60})\"; },\n"
	    "  { name = \"u\"; san_pattern = \"^x*{2}$\"; },\n"
	    "  { name = \"v\"; subject_pattern = \"((((((((((((((((((((((((((((((((("
	    "a)))))))))))))))))))))))))))))))))\"; },\n"
	    "  { name = \"w\"; san_pattern = \"^a{,3000}$\"; subject_pattern = \"^a{3000,}$\"; } );\n",
	    LABEL ":1: certificate.subject_pattern: a repetition (*, +, ? or {n,m}) follows "
	    "another one, which POSIX leaves undefined\n"
	    LABEL ":2: certificate.san_pattern: the expression holds more than 2500 atoms once its "
	    "repetitions are written out; use smaller {n,m} bounds\n"
	    LABEL ":3: templates.subject_pattern: the expression holds more than 2500 atoms once "
	    "its repetitions are written out; use smaller {n,m} bounds\n"
	    LABEL ":4: templates.san_pattern: a repetition (*, +, ? or {n,m}) follows another "
	    "one, which POSIX leaves undefined\n"
	    LABEL ":5: templates.subject_pattern: groups nest deeper than 32\n"
	    LABEL ":6: templates.subject_pattern: the expression holds more than 2500 atoms once "
	    "its repetitions are written out; use smaller {n,m} bounds\n"
	    LABEL ":6: templates.san_pattern: the expression holds more than 2500 atoms once "
	    "its repetitions are written out; use smaller {n,m} bounds\n");
	fails_with("profile errors",
	    "profiles = ( { name = \"a b\"; path = \"/SCEP\"; ciphers = [ \"DES\" ];\n"
	    "  ra_sign_cert = \"x\"; capabilities = [ \"Renewal\" ]; },\n"
	    "  { name = \"p\"; path = \"/crl/ca.crl\"; UseSinglePassword = true; },\n"
	    "  { name = \"q\"; path = \"/x/\"; }, { name = \"r\"; path = \"/scep/q\"; },\n"
	    "  { name = \"q\"; } );\n",
	    LABEL ":1: profiles.name: \"a b\" is not a usable name (letters, digits, '-', '_'; "
	    "not \"default\")\n"
	    LABEL ":1: profiles.path: \"/SCEP\" is one of the built-in SCEP paths\n"
	    LABEL ":1: profiles.ciphers: DES needs scep.allow_des = true (it loads OpenSSL's "
	    "legacy provider)\n"
	    LABEL ":1: profiles: ra_sign_cert, ra_sign_key, ra_enc_cert and ra_enc_key are "
	    "given together or not at all\n"
	    LABEL ":2: profiles.capabilities: \"Renewal\" is not listed here: scepd announces it "
	    "by itself when renewal is enabled (renewal.enabled)\n"
	    LABEL ":3: profiles.path: \"/crl/ca.crl\" is crl.path\n"
	    LABEL ":3: profiles.SinglePassword must be set when UseSinglePassword is true\n"
	    LABEL ":4: profiles.path: \"/x/\" must not end with '/'\n"
	    LABEL ":5: profiles.name: \"q\" is defined twice\n"
	    LABEL ":5: profiles.path: \"/scep/q\" is used by profile \"r\" already\n");
	fails_with("not a list", "profiles = { name = \"x\"; };\n",
	    LABEL ":1: 'profiles' must be a list of groups: profiles = ( { ... }, { ... } );\n");
	fails_with("crl and caps",
	    "crl = { path = \"crl\"; url = \"ftp://x\"; };\n"
	    "scep = { capabilities = [ \"GetNextCACert\" ]; };\n",
	    LABEL ":1: crl.path: \"crl\" must start with '/'\n"
	    LABEL ":1: crl.url: \"ftp://x\" is not an http://, https:// or ldap:// URL\n"
	    LABEL ":2: scep.capabilities: \"GetNextCACert\" is not listed here: scepd announces "
	    "it by itself when a rollover CA waits (scepctl ca rollover)\n");
}

/* The backend group: defaults, a complete scep and exec set-up, and the cross-checks. */
static void test_backend(void)
{
	struct config *cfg;
	char *errs = NULL;
	static const char ra[] = "ra = { sign_cert = \"s.crt\"; sign_key = \"s.key\"; "
	    "enc_cert = \"e.crt\"; enc_key = \"e.key\"; };\n";
	char *text;

	cfg = load_as("/etc/scepd/scepd.conf", "", &errs);
	ok(cfg != NULL, "backend defaults load");
	if (cfg != NULL) {
		is_str(cfg->backend.type, "local", "backend.type defaults to local");
		ok(cfg->backend.url == NULL && cfg->backend.program == NULL &&
		    cfg->backend.challenge == NULL && cfg->backend.ca_bundle == NULL &&
		    cfg->backend.ca_identifier == NULL, "backend strings default to unset");
		is_int(cfg->backend.timeout, 30, "backend.timeout default");
		is_int(cfg->backend.max_concurrent, 8, "backend.max_concurrent default");
		is_int(cfg->backend.max_output, 65536, "backend.max_output default");
		is_int(cfg->backend.cache_time, 3600, "backend.cache_time default");
		is_str(cfg->backend.when_unavailable, "failure", "backend.when_unavailable default");
	}
	config_free(cfg);
	free(errs);

	text = xasprintf("%sbackend = { type = \"scep\"; url = \"https://ca.example/scep\"; "
	    "ca_bundle = \"tls.pem\"; challenge = \"s3cret\"; timeout = 5; "
	    "when_unavailable = \"pending\"; };\n", ra);
	cfg = load_as("/etc/scepd/scepd.conf", text, &errs);
	free(text);
	ok(cfg != NULL, "scep backend with ra group loads");
	is_str(errs, "", "scep backend: no messages");
	if (cfg != NULL) {
		is_str(cfg->backend.type, "scep", "backend.type scep");
		is_str(cfg->backend.url, "https://ca.example/scep", "backend.url kept");
		is_str(cfg->backend.ca_bundle, "/var/lib/scepd/tls.pem", "backend.ca_bundle resolved");
		is_str(cfg->backend.challenge, "s3cret", "backend.challenge kept");
		is_int(cfg->backend.timeout, 5, "backend.timeout set");
		is_str(cfg->backend.when_unavailable, "pending", "backend.when_unavailable set");
	}
	config_free(cfg);
	free(errs);

	cfg = load_as("/etc/scepd/scepd.conf",
	    "backend = { type = \"exec\"; program = \"bin/issue\"; max_output = 4096; };\n",
	    &errs);
	ok(cfg != NULL, "exec backend loads");
	if (cfg != NULL) {
		is_str(cfg->backend.program, "/var/lib/scepd/bin/issue", "backend.program resolved");
		is_int(cfg->backend.max_output, 4096, "backend.max_output set");
	}
	config_free(cfg);
	free(errs);

	fails_with("scep backend without url and ra",
	    "\nbackend = {\n type = \"scep\";\n};\n",
	    LABEL ":3: backend.url must be set when backend.type is \"scep\"\n"
	    LABEL ":3: backend.type \"scep\" needs the ra group: scepd signs the requests it "
	    "forwards with its RA signing certificate\n");
	fails_with("backend url not http",
	    "backend = {\n url = \"ftp://x\";\n};\n",
	    LABEL ":2: backend.url: \"ftp://x\" is not an http:// or https:// URL\n");
	fails_with("exec backend without program",
	    "backend = { type = \"exec\"; };\n",
	    LABEL ":1: backend.program must be set when backend.type is \"exec\"\n");
	fails_with("unknown backend type",
	    "backend = { type = \"forward\"; };\n",
	    LABEL ":1: backend.type: unknown value \"forward\"; known: local, scep, exec\n");
	fails_with("backend.timeout out of range",
	    "backend = { timeout = 0; };\n",
	    LABEL ":1: backend.timeout: 0 is out of range (1..600)\n");
}

/* Named backends and profiles.backend. */
static void test_backends(void)
{
	struct config *cfg;
	const struct config_backend *b;
	char *errs = NULL, *errs2 = NULL, *printed = NULL, *text;
	struct config *again;
	static const char ra[] = "ra = { sign_cert = \"s.crt\"; sign_key = \"s.key\"; "
	    "enc_cert = \"e.crt\"; enc_key = \"e.key\"; };\n";

	text = xasprintf("%sbackend = { type = \"scep\"; url = \"http://up/scep\"; };\n"
	    "backends = (\n"
	    " { name = \"vpn\"; type = \"scep\"; url = \"https://ca.example/vpn\";\n"
	    "   ca_bundle = \"tls.pem\"; challenge = \"up-secret\"; timeout = 7;\n"
	    "   when_unavailable = \"pending\"; },\n"
	    " { name = \"script\"; type = \"exec\"; program = \"bin/issue\"; max_concurrent = 2; },\n"
	    " { name = \"here\"; }\n"
	    ");\n"
	    "profiles = (\n"
	    " { name = \"a\"; backend = \"vpn\"; },\n"
	    " { name = \"b\"; backend = \"script\"; },\n"
	    " { name = \"c\"; },\n"
	    " { name = \"d\"; backend = \"default\"; },\n"
	    " { name = \"e\"; backend = \"here\"; }\n"
	    ");\n", ra);
	cfg = load_as("/etc/scepd/scepd.conf", text, &errs);
	ok(cfg != NULL, "backends list loads");
	is_str(errs, "", "backends list: no messages");
	if (cfg != NULL) {
		is_int(cfg->n_backends, 3, "three named backends");
		is_str(cfg->backends[0].name, "vpn", "backends[0].name");
		is_str(cfg->backends[0].url, "https://ca.example/vpn", "backends[0].url");
		is_str(cfg->backends[0].ca_bundle, "/var/lib/scepd/tls.pem",
		    "backends[0].ca_bundle resolved against state_dir");
		is_str(cfg->backends[0].challenge, "up-secret", "backends[0].challenge");
		is_int(cfg->backends[0].timeout, 7, "backends[0].timeout");
		is_int(cfg->backends[0].max_concurrent, 8, "backends[0].max_concurrent default");
		is_str(cfg->backends[0].when_unavailable, "pending", "backends[0].when_unavailable");
		is_str(cfg->backends[1].program, "/var/lib/scepd/bin/issue",
		    "backends[1].program resolved");
		is_int(cfg->backends[1].max_concurrent, 2, "backends[1].max_concurrent");
		is_str(cfg->backends[1].when_unavailable, "failure",
		    "backends[1].when_unavailable default");
		is_str(cfg->backends[2].type, "local", "backends[2].type defaults to local");
		is_str(cfg->profiles[0].backend, "vpn", "profile a names vpn");
		is_str(cfg->profiles[2].backend, "default", "profile c: backend defaults to default");
		b = config_backend_find(cfg, "script");
		ok(b == &cfg->backends[1], "config_backend_find by name");
		ok(config_backend_find(cfg, "default") == &cfg->backend,
		    "config_backend_find(default) is the backend group");
		ok(config_backend_find(cfg, "nope") == NULL, "config_backend_find: unknown name");
		is_str(CONFIG_BACKEND_NAME(&cfg->backend), "default", "the group's name is default");
		is_int(config_needs_ca_key(cfg), 1, "a profile on a local backend needs the CA key");
		printed = print(cfg);
		again = printed != NULL ? load_as("/etc/scepd/scepd.conf", printed, &errs2) : NULL;
		ok(again != NULL && config_equal(cfg, again), "backends survive config_print");
		config_free(again);
		free(errs2);
		free(printed);
	}
	config_free(cfg);
	free(errs);
	free(text);

	text = xasprintf("%sbackend = { type = \"scep\"; url = \"http://up/scep\"; };\n"
	    "backends = ( { name = \"x\"; type = \"exec\"; program = \"/bin/true\"; } );\n"
	    "profiles = ( { name = \"a\"; backend = \"x\"; } );\n", ra);
	cfg = load_as("/etc/scepd/scepd.conf", text, &errs);
	ok(cfg != NULL && config_needs_ca_key(cfg) == 0,
	    "every backend forwarding: no CA key needed");
	config_free(cfg);
	free(errs);
	free(text);
	cfg = load_as("/etc/scepd/scepd.conf", "backends = ( { name = \"x\"; type = \"exec\"; "
	    "program = \"/bin/true\"; } );\n", &errs);
	ok(cfg != NULL && config_needs_ca_key(cfg) == 1,
	    "the default backend local: the CA key is needed");
	config_free(cfg);
	free(errs);

	fails_with("profile names an unknown backend",
	    "profiles = (\n { name = \"a\";\n backend = \"nope\"; }\n);\n",
	    LABEL ":3: profiles.backend: no backend named \"nope\" (\"default\" or a name in "
	    "backends)\n");
	fails_with("backend named default",
	    "backends = ( { name = \"default\"; } );\n",
	    LABEL ":1: backends.name: \"default\" is not a usable name (letters, digits, '-', "
	    "'_'; \"default\" is the backend group)\n");
	fails_with("backend defined twice",
	    "backends = (\n { name = \"a\"; },\n { name = \"a\"; }\n);\n",
	    LABEL ":3: backends.name: \"a\" is defined twice\n");
	fails_with("backend without a name",
	    "backends = (\n { type = \"local\"; }\n);\n",
	    LABEL ":2: backends: entry 1 has no name\n");
	fails_with("named scep backend without url and ra",
	    "backends = (\n { name = \"u\";\n type = \"scep\"; }\n);\n",
	    LABEL ":3: backends.url must be set when backends.type is \"scep\"\n"
	    LABEL ":3: backends.type \"scep\" needs the ra group: scepd signs the requests it "
	    "forwards with its RA signing certificate\n");
	fails_with("named exec backend without program",
	    "backends = (\n { name = \"e\"; type = \"exec\"; }\n);\n",
	    LABEL ":2: backends.program must be set when backends.type is \"exec\"\n");
	fails_with("named backend setting out of range",
	    "backends = (\n { name = \"e\";\n timeout = 0; }\n);\n",
	    LABEL ":3: backends.timeout: 0 is out of range (1..600)\n");
	fails_with("unknown setting in a backend",
	    "backends = (\n { name = \"e\";\n colour = 1; }\n);\n",
	    LABEL ":3: unknown setting 'backends.colour'\n");
	fails_with("backends not a list",
	    "backends = { name = \"e\"; };\n",
	    LABEL ":1: 'backends' must be a list of groups: backends = ( { ... }, { ... } );\n");
}

/* scepd -T (config_print_public) shows that a secret is set, never its value. */
static void test_public_print(void)
{
	struct config *cfg;
	char *errs = NULL, *buf = NULL, *full;
	size_t len = 0;
	FILE *f;

	cfg = load("challenge = { UseSinglePassword = true; SinglePassword = \"Top-S3cret-1\"; };\n"
	    "profiles = ( { name = \"p\"; SinglePassword = \"Top-S3cret-2\"; } );\n"
	    "validators = ( { name = \"in\"; type = \"intune\"; tenant = \"contoso.example\"; "
	    "client_id = \"id\"; client_secret_credential = \"in\"; "
	    "proxy = \"http://scepd:Top-S3cret-3@127.0.0.1:3128\"; } );\n", &errs);
	ok(cfg != NULL, "configuration with secrets loads (%s)", errs ? errs : "");
	if (cfg == NULL || (f = open_memstream(&buf, &len)) == NULL) {
		free(errs);
		config_free(cfg);
		return;
	}
	config_print_public(cfg, f);
	fclose(f);
	ok(strstr(buf, "Top-S3cret") == NULL, "config_print_public (scepd -T) prints no secret");
	ok(strstr(buf, "# SinglePassword is set (a secret: not shown)") != NULL,
	    "... it says that the static password is set");
	ok(strstr(buf, "\t\t# SinglePassword is set (a secret: not shown)") != NULL,
	    "... and that the profile's is");
	ok(strstr(buf, "\t\t# proxy is set (a secret: not shown)") != NULL,
	    "... and that the Intune validator's proxy (with its password) is");
	full = print(cfg);
	ok(full != NULL && strstr(full, "Top-S3cret-1") != NULL && strstr(full, "Top-S3cret-2") &&
	    strstr(full, "Top-S3cret-3"),
	    "config_print (the file scepctl init writes) keeps them");
	free(full);
	free(buf);
	free(errs);
	config_free(cfg);
}

static void test_validators(void)
{
	struct config *cfg, *again;
	char *errs = NULL, *errs2 = NULL, *printed = NULL;

	cfg = load_as("/etc/scepd/scepd.conf",
	    "challenge = { validator = \"hook\"; };\n"
	    "validators = (\n"
	    " { name = \"hook\"; type = \"webhook\"; url = \"https://mdm.example/challenge\";\n"
	    "   secret_file = \"hook.secret\"; notify_url = \"http://127.0.0.1:9/notify\";\n"
	    "   ca_file = \"tls-ca.pem\"; timeout = 3; },\n"
	    " { name = \"prog\"; type = \"exec\"; program = \"bin/check\";\n"
	    "   args = [ \"-v\", \"-v\", \"--x=1\" ]; max_concurrent = 2; },\n"
	    " { name = \"v6\"; type = \"webhook\"; url = \"http://[::1]:8080/x\";\n"
	    "   secret_file = \"/etc/s\"; id = \"hook-id\"; }\n"
	    ");\n"
	    "profiles = (\n"
	    " { name = \"a\"; validator = \"prog\"; },\n"
	    " { name = \"b\"; },\n"
	    " { name = \"c\"; validator = \"\"; }\n"
	    ");\n", &errs);
	ok(cfg != NULL, "validators list loads");
	is_str(errs, "", "validators list: no messages");
	if (cfg != NULL) {
		is_int(cfg->n_validators, 3, "three validators");
		is_str(cfg->validator, "hook", "challenge.validator");
		is_str(cfg->validators[0].secret_file, "/var/lib/scepd/hook.secret",
		    "secret_file resolved against state_dir");
		is_int(cfg->validators[0].timeout, 3, "timeout");
		is_int(cfg->validators[0].max_concurrent, 16, "max_concurrent default");
		is_int(cfg->validators[1].timeout, 10, "timeout default");
		is_str(cfg->validators[1].program, "/var/lib/scepd/bin/check", "program resolved");
		is_int(cfg->validators[1].n_args, 3, "args: three, a repeated one kept");
		is_str(cfg->validators[1].args[1], "-v", "args[1]");
		is_str(cfg->validators[1].args[2], "--x=1", "args[2]");
		ok(cfg->validators[0].id == NULL, "id unset by default");
		is_str(cfg->validators[2].id, "hook-id", "id");
		is_str(cfg->profiles[0].validator, "prog", "profile a: its own validator");
		is_str(cfg->profiles[1].validator, "hook", "profile b inherits challenge.validator");
		is_str(cfg->profiles[2].validator, "", "profile c: password rules");
		ok(config_validator_find(cfg, "prog") == &cfg->validators[1],
		    "config_validator_find by name");
		ok(config_validator_find(cfg, "") == NULL, "config_validator_find: empty");
		ok(config_validator_find(cfg, "nope") == NULL, "config_validator_find: unknown");
		printed = print(cfg);
		again = printed != NULL ? load_as("/etc/scepd/scepd.conf", printed, &errs2) : NULL;
		ok(again != NULL && config_equal(cfg, again), "validators survive config_print");
		config_free(again);
		free(errs2);
		free(printed);
	}
	config_free(cfg);
	free(errs);

	fails_with("challenge.validator names an unknown validator",
	    "challenge = {\n validator = \"nope\"; };\n",
	    LABEL ":2: challenge.validator: no validator named \"nope\" (a name in validators)\n");
	fails_with("profile names an unknown validator",
	    "profiles = (\n { name = \"a\";\n validator = \"nope\"; }\n);\n",
	    LABEL ":3: profiles.validator: no validator named \"nope\" (a name in validators)\n");
	fails_with("validator without a type",
	    "validators = (\n { name = \"a\"; }\n);\n",
	    LABEL ":2: validators: entry 1 has no type\n");
	fails_with("unknown validator type",
	    "validators = (\n { name = \"a\";\n type = \"ldap\"; }\n);\n",
	    LABEL ":3: validators.type: unknown value \"ldap\"; known: webhook, exec, intune\n");
	fails_with("intune without tenant, client id and credential",
	    "validators = (\n { name = \"a\";\n type = \"intune\"; }\n);\n",
	    LABEL ":3: validators.tenant and validators.client_id must be set when "
	    "validators.type is \"intune\"\n"
	    LABEL ":3: validators: type intune takes exactly one of client_secret_file, "
	    "client_secret_credential and client_certificate (with client_key)\n");
	fails_with("intune with a secret and a certificate",
	    "validators = (\n { name = \"a\";\n type = \"intune\"; tenant = \"t\"; client_id = \"c\";\n"
	    " client_secret_file = \"s\"; client_certificate = \"c.pem\"; client_key = \"c.key\"; }\n);\n",
	    LABEL ":3: validators: type intune takes exactly one of client_secret_file, "
	    "client_secret_credential and client_certificate (with client_key)\n");
	fails_with("intune authority over http to another host",
	    "validators = (\n { name = \"a\"; type = \"intune\"; tenant = \"t\"; client_id = \"c\";\n"
	    " client_secret_file = \"s\";\n authority_url = \"http://login.example/\"; }\n);\n",
	    LABEL ":4: validators.authority_url: \"http://login.example/\" uses http://, which is "
	    "only allowed to a loopback address (127.0.0.0/8 or [::1]); use https://\n");
	fails_with("webhook without url and secret",
	    "validators = (\n { name = \"w\";\n type = \"webhook\"; }\n);\n",
	    LABEL ":3: validators.url must be set when validators.type is \"webhook\"\n"
	    LABEL ":3: validators.secret_file must be set when validators.type is \"webhook\"\n");
	fails_with("webhook over http to another host",
	    "validators = (\n { name = \"w\"; type = \"webhook\"; secret_file = \"s\";\n"
	    " url = \"http://mdm.example/x\"; }\n);\n",
	    LABEL ":3: validators.url: \"http://mdm.example/x\" uses http://, which is only "
	    "allowed to a loopback address (127.0.0.0/8 or [::1]); use https://\n");
	fails_with("webhook over http to a look-alike of loopback",
	    "validators = (\n { name = \"w\"; type = \"webhook\"; secret_file = \"s\";\n"
	    " url = \"http://127.0.0.1.evil.example/x\"; }\n);\n",
	    LABEL ":3: validators.url: \"http://127.0.0.1.evil.example/x\" uses http://, which "
	    "is only allowed to a loopback address (127.0.0.0/8 or [::1]); use https://\n");
	fails_with("notify_url over http to another host",
	    "validators = (\n { name = \"w\"; type = \"webhook\"; secret_file = \"s\";\n"
	    " url = \"https://mdm.example/x\";\n notify_url = \"http://10.0.0.1/n\"; }\n);\n",
	    LABEL ":4: validators.notify_url: \"http://10.0.0.1/n\" uses http://, which is only "
	    "allowed to a loopback address (127.0.0.0/8 or [::1]); use https://\n");
	fails_with("webhook with a URL of another scheme",
	    "validators = (\n { name = \"w\"; type = \"webhook\"; secret_file = \"s\";\n"
	    " url = \"ftp://mdm.example/x\"; }\n);\n",
	    LABEL ":3: validators.url: \"ftp://mdm.example/x\" is not an https:// URL\n");
	fails_with("client certificate without key",
	    "validators = (\n { name = \"w\"; type = \"webhook\"; secret_file = \"s\";\n"
	    " url = \"https://m/x\";\n client_certificate = \"c.pem\"; }\n);\n",
	    LABEL ":4: validators: client_certificate and client_key are given together or "
	    "not at all\n");
	fails_with("exec without program",
	    "validators = (\n { name = \"e\";\n type = \"exec\"; }\n);\n",
	    LABEL ":3: validators.program must be set when validators.type is \"exec\"\n");
	fails_with("validator defined twice",
	    "validators = (\n { name = \"a\"; type = \"exec\"; program = \"p\"; },\n"
	    " { name = \"a\"; type = \"exec\"; program = \"p\"; }\n);\n",
	    LABEL ":3: validators.name: \"a\" is defined twice\n");
	fails_with("validator with a bad name",
	    "validators = (\n { name = \"a b\"; type = \"exec\"; program = \"p\"; }\n);\n",
	    LABEL ":2: validators.name: \"a b\" is not a usable name (letters, digits, '-', "
	    "'_'; not \"default\")\n");
	fails_with("validator timeout out of range",
	    "validators = (\n { name = \"e\"; type = \"exec\"; program = \"p\";\n"
	    " timeout = 601; }\n);\n",
	    LABEL ":3: validators.timeout: 601 is out of range (1..600)\n");
}

int main(void)
{
	test_defaults();
	test_errors();
	test_all_errors();
	test_ranges();
	test_listen();
	test_lists();
	test_groups();
	test_backend();
	test_backends();
	test_validators();
	test_paths();
	test_round_trip();
	test_templates_profiles();
	test_service_settings();
	test_documentation();
	test_public_print();
	return done_testing();
}
