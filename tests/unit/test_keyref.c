/* SPDX-License-Identifier: ISC */
/*
 * test_keyref.c: key settings that are PKCS#11 URIs, without a token: the
 * configuration checks them when it loads (a malformed URI is an error with
 * its line), fills in pkcs11.module and the PIN source where a URI names none,
 * leaves file paths alone, and `scepd -T` (config_print_public) hides
 * pin-value; keyref_load() hands file paths to pemfile.c and reports a bad URI
 * or a missing module with the PIN hidden.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keyref.h"
#include "tap.h"

#define LABEL "test.conf"

static struct config *load(const char *text, char **errs)
{
	struct config *cfg;
	size_t len = 0;
	FILE *f;

	*errs = NULL;
	if ((f = open_memstream(errs, &len)) == NULL)
		return NULL;
	cfg = config_load_string(LABEL, text, f);
	fclose(f);
	return cfg;
}

static void test_config(void)
{
	struct config *cfg;
	char *errs, *out = NULL;
	size_t len = 0;
	FILE *f;

	cfg = load("state_dir = \"/var/lib/scepd\";\n"
	    "ca = { key = \"pkcs11:token=scepd;object=ca-key\"; };\n"
	    "pkcs11 = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; pin_file = \"token.pin\"; };\n",
	    &errs);
	ok(cfg != NULL, "a URI with pkcs11.module and pkcs11.pin_file loads (%s)", errs);
	if (cfg != NULL)
		is_str(cfg->ca_key, "pkcs11:token=scepd;object=ca-key?module-path=/usr/lib/softhsm/"
		    "libsofthsm2.so&pin-source=/var/lib/scepd/token.pin",
		    "module and PIN file added to the URI, not joined to state_dir");
	config_free(cfg);
	free(errs);

	cfg = load("state_dir = \"/s\";\n"
	    "ca = { key = \"pkcs11:object=k?module-path=/m%20x.so&pin-value=secret\"; };\n"
	    "pkcs11 = { module = \"/other.so\"; pin_file = \"p\"; };\n", &errs);
	ok(cfg != NULL, "a URI with its own module and PIN loads (%s)", errs);
	if (cfg != NULL) {
		is_str(cfg->ca_key, "pkcs11:object=k?module-path=/m%20x.so&pin-value=secret",
		    "the URI's own module and PIN win");
		if ((f = open_memstream(&out, &len)) != NULL) {
			config_print_public(cfg, f);
			fclose(f);
		}
		ok(out != NULL && strstr(out, "secret") == NULL &&
		    strstr(out, "key = \"pkcs11:object=k?module-path=/m%20x.so&pin-value=***\";")
		    != NULL, "scepd -T shows pin-value as ***");
		free(out);
		out = NULL;
	}
	config_free(cfg);
	free(errs);

	cfg = load("ra = { sign_cert = \"a\"; sign_key = \"pkcs11:object=a;object=b\";\n"
	    "enc_cert = \"b\"; enc_key = \"b.key\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, LABEL ":1: ra.sign_key: PKCS#11 URI: "
	    "attribute \"object\" given twice") != NULL, "a malformed URI: its line and why (%s)",
	    errs);
	config_free(cfg);
	free(errs);

	cfg = load("ca = { key = \"pkcs11:object=k\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, "names no module") != NULL,
	    "a URI without a module and no pkcs11.module (%s)", errs);
	config_free(cfg);
	free(errs);

	cfg = load("ca = { key = \"pkcs11:object=k?module-name=softhsm2\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, "module-name is not supported") != NULL,
	    "module-name is refused (%s)", errs);
	config_free(cfg);
	free(errs);

	cfg = load("pkcs11 = { module = \"libsofthsm2.so\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, "absolute path") != NULL,
	    "pkcs11.module must be absolute (%s)", errs);
	config_free(cfg);
	free(errs);

	cfg = load("pkcs11 = { pin_file = \"a\"; pin_credential = \"b\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, "at most one") != NULL,
	    "pin_file and pin_credential together are refused (%s)", errs);
	config_free(cfg);
	free(errs);

	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/scepd.service", 1);
	cfg = load("ca = { key = \"pkcs11:object=k?module-path=/m.so\"; };\n"
	    "pkcs11 = { pin_credential = \"token-pin\"; };\n", &errs);
	ok(cfg != NULL && strcmp(cfg->ca_key, "pkcs11:object=k?module-path=/m.so&pin-source="
	    "/run/credentials/scepd.service/token-pin") == 0,
	    "pin_credential: the PIN file in $CREDENTIALS_DIRECTORY (%s)", errs);
	config_free(cfg);
	free(errs);
	unsetenv("CREDENTIALS_DIRECTORY");
	cfg = load("ca = { key = \"pkcs11:object=k?module-path=/m.so\"; };\n"
	    "pkcs11 = { pin_credential = \"token-pin\"; };\n", &errs);
	ok(cfg == NULL && errs != NULL && strstr(errs, "CREDENTIALS_DIRECTORY is not set") != NULL,
	    "pin_credential without $CREDENTIALS_DIRECTORY (%s)", errs);
	config_free(cfg);
	free(errs);

	cfg = load("state_dir = \"/s\";\nca = { key = \"ca.key\"; };\n"
	    "pkcs11 = { module = \"/m.so\"; };\n", &errs);
	ok(cfg != NULL && strcmp(cfg->ca_key, "/s/ca.key") == 0,
	    "a file path stays a file path (%s)", errs);
	config_free(cfg);
	free(errs);
}

static void test_keyref_load(void)
{
	char err[512];
	EVP_PKEY *k;

	ok(keyref_is_token("pkcs11:object=a") && !keyref_is_token("/etc/scepd/ca.key"),
	    "keyref_is_token");
	err[0] = '\0';
	k = keyref_load("/nonexistent/ca.key", 1, err, sizeof(err));
	ok(k == NULL && strstr(err, "/nonexistent/ca.key") != NULL &&
	    strstr(err, "No such file") != NULL, "a file path goes to pemfile (%s)", err);
	err[0] = '\0';
	k = keyref_load("pkcs11:object=a;object=b?pin-value=hunter2", 1, err, sizeof(err));
	ok(k == NULL && strstr(err, "given twice") != NULL && strstr(err, "hunter2") == NULL &&
	    strstr(err, "pin-value=***") != NULL, "a bad URI: why, the PIN hidden (%s)", err);
	err[0] = '\0';
	k = keyref_load("pkcs11:object=a?pin-value=hunter2", 1, err, sizeof(err));
	ok(k == NULL && strstr(err, "no PKCS#11 module") != NULL && strstr(err, "hunter2") == NULL,
	    "no module: said, the PIN hidden (%s)", err);
	err[0] = '\0';
	k = keyref_load("pkcs11:object=a?module-path=/nonexistent/module.so&pin-value=hunter2", 1,
	    err, sizeof(err));
	ok(k == NULL && strstr(err, "cannot load PKCS#11 module /nonexistent/module.so") != NULL &&
	    strstr(err, "hunter2") == NULL, "a module that is not there (%s)", err);
	err[0] = '\0';
	k = keyref_load("pkcs11:token=a?module-path=/m.so", 1, err, sizeof(err));
	ok(k == NULL && strstr(err, "object= or id=") != NULL, "a URI naming no key (%s)", err);
}

int main(void)
{
	test_config();
	test_keyref_load();
	return done_testing();
}
