/* SPDX-License-Identifier: ISC */
/*
 * mdmprofile.c: `scepctl profile apple` writes an Apple configuration profile
 * (.mobileconfig, an unsigned XML plist) whose SCEP payload
 * (com.apple.security.scep) points at this server, with the CA's SHA-1
 * fingerprint as CAFingerprint; `scepctl profile intune` prints the values an
 * Intune SCEP certificate profile needs, read from this server's settings.
 * It reads the configuration and the CA certificate, and writes one file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base64.h"
#include "config.h"
#include "labca.h"
#include "mdmprofile.h"
#include "pemfile.h"
#include "util.h"

#define APPLE_KU_SIGN 1
#define APPLE_KU_ENCRYPT 4

/* s with the five XML special characters escaped, to out. */
static void mdm_xml(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*s, out); break;
		}
	}
}

static void mdm_string(FILE *out, const char *indent, const char *key, const char *val)
{
	fprintf(out, "%s<key>", indent);
	mdm_xml(out, key);
	fprintf(out, "</key>\n%s<string>", indent);
	mdm_xml(out, val);
	fputs("</string>\n", out);
}

/* A random (version 4) UUID into buf (37 bytes). 0, or -1. */
static int mdm_uuid(char buf[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
	return 0;
}

/* The subject as Apple wants it: an array of RDNs, each an array of [type, value] pairs. */
static int mdm_subject(FILE *out, const X509_NAME *name)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *v;
	unsigned char *utf8 = NULL;
	char oid[80];
	int i, n, len, nid;

	fputs("\t\t\t\t<key>Subject</key>\n\t\t\t\t<array>\n", out);
	n = X509_NAME_entry_count(name);
	for (i = 0; i < n; i++) {
		e = X509_NAME_get_entry(name, i);
		v = X509_NAME_ENTRY_get_data(e);
		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid != NID_undef && OBJ_nid2sn(nid) != NULL)
			snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(nid));
		else if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1) <= 0)
			return -1;
		if ((len = ASN1_STRING_to_UTF8(&utf8, v)) < 0)
			return -1;
		fputs("\t\t\t\t\t<array><array><string>", out);
		mdm_xml(out, oid);
		fputs("</string><string>", out);
		mdm_xml(out, (const char *)utf8);
		fputs("</string></array></array>\n", out);
		OPENSSL_free(utf8);
		utf8 = NULL;
	}
	fputs("\t\t\t\t</array>\n", out);
	return 0;
}

int mdmprofile_apple_write(FILE *out, const struct mdmprofile_apple *a, char *err,
    size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *fp = NULL, outer[37], inner[37];
	int result = -1;

	if (X509_digest(a->ca, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20 ||
	    (fp = base64_encode(md, mdlen)) == NULL) {
		errorf(err, errlen, "cannot compute the CA certificate's SHA-1 fingerprint");
		goto out;
	}
	if (mdm_uuid(outer) != 0 || mdm_uuid(inner) != 0) {
		errorf(err, errlen, "RAND_bytes failed");
		goto out;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n\t<key>PayloadContent</key>\n\t<array>\n"
	    "\t\t<dict>\n\t\t\t<key>PayloadContent</key>\n\t\t\t<dict>\n", out);
	mdm_string(out, "\t\t\t\t", "URL", a->url);
	mdm_string(out, "\t\t\t\t", "Name", "scepd");
	if (mdm_subject(out, a->subject) != 0) {
		errorf(err, errlen, "cannot write the subject");
		goto out;
	}
	if (a->challenge != NULL)
		mdm_string(out, "\t\t\t\t", "Challenge", a->challenge);
	fprintf(out, "\t\t\t\t<key>Keysize</key>\n\t\t\t\t<integer>%u</integer>\n", a->key_size);
	mdm_string(out, "\t\t\t\t", "Key Type", "RSA");
	fprintf(out, "\t\t\t\t<key>Key Usage</key>\n\t\t\t\t<integer>%u</integer>\n",
	    a->key_usage);
	fprintf(out, "\t\t\t\t<key>CAFingerprint</key>\n\t\t\t\t<data>%s</data>\n", fp);
	fputs("\t\t\t\t<key>Retries</key>\n\t\t\t\t<integer>3</integer>\n"
	    "\t\t\t\t<key>RetryDelay</key>\n\t\t\t\t<integer>10</integer>\n\t\t\t</dict>\n", out);
	mdm_string(out, "\t\t\t", "PayloadDisplayName", "SCEP (scepd)");
	fprintf(out, "\t\t\t<key>PayloadIdentifier</key>\n\t\t\t<string>org.scepd.scep.%s"
	    "</string>\n", inner);
	mdm_string(out, "\t\t\t", "PayloadType", "com.apple.security.scep");
	mdm_string(out, "\t\t\t", "PayloadUUID", inner);
	fputs("\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n\t\t</dict>\n"
	    "\t</array>\n", out);
	mdm_string(out, "\t", "PayloadDisplayName", "scepd SCEP enrollment");
	fprintf(out, "\t<key>PayloadIdentifier</key>\n\t<string>org.scepd.profile.%s</string>\n",
	    outer);
	mdm_string(out, "\t", "PayloadType", "Configuration");
	mdm_string(out, "\t", "PayloadUUID", outer);
	fputs("\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n</plist>\n", out);
	if (fflush(out) != 0 || ferror(out)) {
		errorf(err, errlen, "write error");
		goto out;
	}
	result = 0;
out:
	free(fp);
	return result;
}

/* The RSA key size an MDM offers (1024, 2048, 4096) that this server accepts. */
static unsigned mdm_key_size(unsigned min_rsa_bits)
{
	return min_rsa_bits <= 1024 ? 1024 : min_rsa_bits <= 2048 ? 2048 : 4096;
}

/* The server's NDES URL from its first listener, or the one given. */
static void mdm_url(const struct config *cfg, const char *given, char *buf, size_t len)
{
	const struct config_listen *l = cfg->n_tls_listen > 0 ? &cfg->tls_listen[0] :
	    &cfg->listen[0];
	const char *host = l->host;

	if (given != NULL) {
		snprintf(buf, len, "%s", given);
		return;
	}
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		host = "HOSTNAME";
	snprintf(buf, len, "%s://%s%s%s:%u/certsrv/mscep/mscep.dll",
	    cfg->n_tls_listen > 0 ? "https" : "http", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", l->port);
}

static int mdm_apple(const struct config *cfg, X509 *ca, int argc, char **argv)
{
	struct mdmprofile_apple a;
	const char *url = NULL, *out_path = NULL, *subject = "CN=scepd-device";
	X509_NAME *name = NULL;
	FILE *out = stdout;
	char err[256];
	int i, rc = 1;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "scepctl: profile apple: %s needs a value\n", argv[i]);
			return 2;
		}
		if (strcmp(argv[i], "--url") == 0)
			url = argv[++i];
		else if (strcmp(argv[i], "--challenge") == 0)
			a.challenge = argv[++i];
		else if (strcmp(argv[i], "--out") == 0)
			out_path = argv[++i];
		else if (strcmp(argv[i], "--subject") == 0)
			subject = argv[++i];
		else {
			fprintf(stderr, "scepctl: profile apple: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (url == NULL) {
		fprintf(stderr, "scepctl: profile apple: --url URL is required (the address "
		    "devices reach this server at)\n");
		return 2;
	}
	if ((name = labca_parse_subject(subject)) == NULL) {
		fprintf(stderr, "scepctl: profile apple: --subject '%s' is not CN=x,O=y\n",
		    subject);
		return 2;
	}
	a.url = url;
	a.subject = name;
	a.ca = ca;
	a.key_size = mdm_key_size(cfg->min_rsa_bits);
	a.key_usage = ((cfg->key_usage & KU_DIGITAL_SIGNATURE) ? APPLE_KU_SIGN : 0) |
	    ((cfg->key_usage & KU_KEY_ENCIPHERMENT) ? APPLE_KU_ENCRYPT : 0);
	if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
		fprintf(stderr, "scepctl: %s: cannot create: %s\n", out_path, strerror(errno));
		goto out;
	}
	if (mdmprofile_apple_write(out, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s: %s\n", out_path ? out_path : "stdout", err);
		goto out;
	}
	if (out_path != NULL)
		fprintf(stderr, "scepctl: wrote %s (SCEP payload for %s)\n", out_path, url);
	rc = 0;
out:
	if (out != stdout && out != NULL && fclose(out) != 0 && rc == 0) {
		fprintf(stderr, "scepctl: %s: write error\n", out_path);
		rc = 1;
	}
	X509_NAME_free(name);
	return rc;
}

/* 1 when GetCACaps announces a SHA-2 digest. */
static int mdm_sha2(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_caps; i++)
		if (strncmp(cfg->caps[i], "SHA-2", 5) == 0 || strcmp(cfg->caps[i], "SHA-384") == 0 ||
		    strcmp(cfg->caps[i], "SHA-512") == 0)
			return 1;
	return 0;
}

static int mdm_intune(const struct config *cfg, X509 *root, int argc, char **argv)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	const char *given = NULL;
	char url[600], thumb[2 * EVP_MAX_MD_SIZE + 1];
	size_t k;

	for (int j = 0; j < argc; j++) {
		if (strcmp(argv[j], "--url") == 0 && j + 1 < argc) {
			given = argv[++j];
			continue;
		}
		fprintf(stderr, "scepctl: profile intune: unexpected argument '%s'\n", argv[j]);
		return 2;
	}
	if (X509_digest(root, EVP_sha1(), md, &mdlen) != 1) {
		fprintf(stderr, "scepctl: %s: cannot compute its thumbprint\n", cfg->ca_cert);
		return 1;
	}
	hex_encode(md, mdlen, thumb, 1);
	mdm_url(cfg, given, url, sizeof(url));
	printf("Intune SCEP certificate profile for this server (%s):\n", cfg->file);
	printf("SCEP Server URLs:          %s\n", url);
	printf("Root certificate:          %s (a Trusted certificate profile; SHA-1 "
	    "thumbprint %s)\n", cfg->ca_cert, thumb);
	printf("Key usage:                 ");
	if ((cfg->key_usage & KU_DIGITAL_SIGNATURE) && (cfg->key_usage & KU_KEY_ENCIPHERMENT))
		printf("Digital signature, Key encipherment (GeneralPurposeTemplate %s)\n",
		    cfg->general_purpose_template);
	else if (cfg->key_usage & KU_DIGITAL_SIGNATURE)
		printf("Digital signature only (SignatureTemplate %s)\n", cfg->signature_template);
	else if (cfg->key_usage & KU_KEY_ENCIPHERMENT)
		printf("Key encipherment only (EncryptionTemplate %s)\n", cfg->encryption_template);
	else
		printf("(certificate.key_usage allows neither: no Intune choice matches)\n");
	printf("Key size (bits):           %u (certificate.min_rsa_bits = %u)\n",
	    mdm_key_size(cfg->min_rsa_bits), cfg->min_rsa_bits);
	printf("Hash algorithm:            %s\n", mdm_sha2(cfg) ? "SHA-2" :
	    "SHA-1 (scep.capabilities announce no SHA-2)");
	printf("Subject name format:       CN={{DeviceName}} or CN={{UserName}}%s%s%s\n",
	    cfg->subject_pattern != NULL && cfg->subject_pattern[0] != '\0' ?
	    ", matching certificate.subject_pattern " : "",
	    cfg->subject_pattern != NULL ? cfg->subject_pattern : "", "");
	printf("Subject alternative name:  %s", cfg->san_required ? "required: " : "optional: ");
	for (k = 0; k < cfg->n_san_types; k++)
		printf("%s%s", k ? ", " : "", strcmp(cfg->san_types[k], "dns") == 0 ? "DNS" :
		    strcmp(cfg->san_types[k], "email") == 0 ? "Email address" :
		    strcmp(cfg->san_types[k], "upn") == 0 ? "User principal name (UPN)" :
		    strcmp(cfg->san_types[k], "uri") == 0 ? "URI" : cfg->san_types[k]);
	printf("%s\n", cfg->n_san_types == 0 ? "none allowed" : "");
	printf("Extended key usage:        ");
	for (i = 0; i < cfg->n_ext_key_usage; i++)
		printf("%s%s", i ? ", " : "", cfg->ext_key_usage[i]);
	printf("%s\n", cfg->n_ext_key_usage == 0 ? "(none)" : "");
	printf("Certificate validity:      %u days (certificate.validity_days; scepd applies "
	    "its own)\n", cfg->validity_days);
	return 0;
}

int mdmprofile_run(const struct config *cfg, int argc, char **argv)
{
	STACK_OF(X509) *certs = NULL;
	char err[512];
	int rc = 1;

	if (argc < 1 || (strcmp(argv[0], "apple") != 0 && strcmp(argv[0], "intune") != 0)) {
		fprintf(stderr, "scepctl: profile: expected apple or intune\n");
		return 2;
	}
	if ((certs = pemfile_certs(cfg->ca_cert, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	/* Apple is given the issuing CA; Intune trusts the root, the last of the file. */
	rc = argv[0][0] == 'a' ? mdm_apple(cfg, sk_X509_value(certs, 0), argc - 1, argv + 1) :
	    mdm_intune(cfg, sk_X509_value(certs, sk_X509_num(certs) - 1), argc - 1, argv + 1);
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}
