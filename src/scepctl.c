/* SPDX-License-Identifier: ISC */
/*
 * scepctl.c: administration of a scepd state folder: `init` (lab CA, RA
 * certificates, configuration, database), one-time challenge passwords,
 * requests waiting for approval, issued certificates and their revocation,
 * the CRL, the CA rollover and RA certificate renewal. It works on the same
 * files and store as the daemon, through the same modules; a revocation makes
 * the CRL again at once (the daemon would at the next CRL request anyway).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "challenge.h"
#include "config.h"
#include "crl.h"
#include "csr.h"
#include "inspect.h"
#include "keyref.h"
#include "labca.h"
#include "labctl.h"
#include "mdmprofile.h"
#include "oids.h"
#include "privdrop.h"
#include "scep.h"
#include "scep_client.h"
#include "scep_types.h"
#include "selftest.h"
#include "signer.h"
#include "store.h"
#include "util.h"

/* The synopsis of every command, to out. Reads no configuration. */
static void print_usage(FILE *out)
{
	fprintf(out,
	    "usage: scepctl init -d dir [--listen host:port] [--ca-key spec] [--ca-subject dn]\n"
	    "                    [--import-ca cert key] [--ra-key pkcs11-uri] [--challenge secret]\n"
	    "                    [--owner user[:group]]\n"
	    "       scepctl init -d dir --upstream url [--upstream-challenge secret]...\n"
	    "                    [--upstream-ca-bundle file] [--listen host:port] [--challenge secret]\n"
	    "                    [--owner user[:group]]\n"
	    "       scepctl [-f file] challenge new [--profile name] | list | purge\n"
	    "       scepctl [-f file] user add name [--no-enroll-right] [--no-ntlm] "
	    "(password on stdin)\n"
	    "       scepctl [-f file] user add name@REALM --kerberos-only [--no-enroll-right]\n"
	    "       scepctl [-f file] user del name\n"
	    "       scepctl [-f file] user list\n"
	    "       scepctl [-f file] cert list\n"
	    "       scepctl [-f file] cert revoke SERIAL [--reason REASON]\n"
	    "       scepctl [-f file] request list [--all]\n"
	    "       scepctl [-f file] request show|approve|reject ID\n"
	    "       scepctl [-f file] request history TRANSACTIONID\n"
	    "       scepctl [-f file] crl [--out FILE]\n"
	    "       scepctl [-f file] ca rollover [--at YYYY-MM-DDTHH:MM:SSZ | --in N[smhd]]\n"
	    "                          [--ca-key spec]\n"
	    "       scepctl [-f file] ra renew [--days n]\n"
	    "       scepctl [-f file] store migrate --to postgresql URI\n"
	    "       scepctl [-f file] lab rule add RULE... | list | del ID\n"
	    "       scepctl [-f file] profile apple --url URL [--challenge X] [--out FILE]\n"
	    "       scepctl [-f file] profile intune [--url URL]\n"
	    "       scepctl [-f file] inspect TXID | FILE\n"
	    "       scepctl selftest URL [--challenge secret]... [--family name]\n"
	    "                        [--ca-bundle file] [--timeout seconds]\n"
	    "       scepctl -h | --help | --version\n"
	    "  -f file  scepd configuration (default " CONFIG_DEFAULT_FILE ")\n"
	    "  --ca-key rsa:2048 (default) | rsa:3072 | rsa:4096 | ec:p256 | ec:p384\n"
	    "           | pkcs11:token=...;object=... (a key in a PKCS#11 token, RFC 7512)\n"
	    "Exit status: 0 done, 1 failed (the message says why), 2 usage error.\n"
	    "See scepctl(8).\n");
}

/* A usage error: what is wrong (naming the argument), the synopsis, exit 2. */
static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("scepctl: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	print_usage(stderr);
	exit(2);
}

/* The first word of argv, or a placeholder when there is none, for messages. */
static const char *arg0(int argc, char **argv)
{
	return argc > 0 ? argv[0] : "(nothing)";
}

/* --- init ---------------------------------------------------------------- */

struct init_options {
	const char *dir;
	const char *listen;
	const char *challenge;
	struct labca_options ca;
	const char *upstream;             /* --upstream: forward to this SCEP CA */
	const char *upstream_challenge[2]; /* for the RA signing, then encryption request */
	int n_upstream_challenge;
	const char *upstream_ca_bundle;
	const char *owner;                /* --owner user[:group]: give the folder to it */
};

static void parse_init(int argc, char **argv, struct init_options *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8080";
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int more = argc - i - 1;

		if (strcmp(a, "-d") == 0 && more >= 1)
			o->dir = argv[++i];
		else if (strcmp(a, "--listen") == 0 && more >= 1)
			o->listen = argv[++i];
		else if (strcmp(a, "--ca-key") == 0 && more >= 1)
			o->ca.ca_key_spec = argv[++i];
		else if (strcmp(a, "--ra-key") == 0 && more >= 1)
			o->ca.ra_key_uri = argv[++i];
		else if (strcmp(a, "--ca-subject") == 0 && more >= 1)
			o->ca.ca_subject = argv[++i];
		else if (strcmp(a, "--challenge") == 0 && more >= 1)
			o->challenge = argv[++i];
		else if (strcmp(a, "--import-ca") == 0 && more >= 2) {
			o->ca.import_cert = argv[++i];
			o->ca.import_key = argv[++i];
		} else if (strcmp(a, "--upstream") == 0 && more >= 1)
			o->upstream = argv[++i];
		else if (strcmp(a, "--upstream-challenge") == 0 && more >= 1 &&
		    o->n_upstream_challenge < 2)
			o->upstream_challenge[o->n_upstream_challenge++] = argv[++i];
		else if (strcmp(a, "--upstream-ca-bundle") == 0 && more >= 1)
			o->upstream_ca_bundle = argv[++i];
		else if (strcmp(a, "--owner") == 0 && more >= 1)
			o->owner = argv[++i];
		else
			usage_error("init: unknown option, or a value missing after it: '%s'", a);
	}
	if (o->dir == NULL)
		usage_error("init: -d dir is required");
	if (o->ca.ra_key_uri != NULL && !keyref_is_token(o->ca.ra_key_uri))
		usage_error("init: --ra-key takes a PKCS#11 URI (pkcs11:...), not '%s'",
		    o->ca.ra_key_uri);
	if (o->upstream == NULL && (o->n_upstream_challenge > 0 || o->upstream_ca_bundle != NULL))
		usage_error("init: --upstream-challenge and --upstream-ca-bundle need --upstream");
	if (o->upstream != NULL && (o->ca.ca_key_spec != NULL || o->ca.ca_subject != NULL ||
	    o->ca.import_cert != NULL || o->ca.ra_key_uri != NULL)) {
		fprintf(stderr, "scepctl: --upstream takes the CA from the upstream: --ca-key, "
		    "--ca-subject, --import-ca and --ra-key do not apply\n");
		exit(2);
	}
}

/* The configuration init writes: defaults, this folder's files, the options. */
static struct config *init_config(const struct init_options *o, const char *dir)
{
	struct config *cfg = NULL;
	char *text = NULL;

	if (strpbrk(o->listen, "\"\\") != NULL) {
		fprintf(stderr, "scepctl: --listen %s: quotes and backslashes are not allowed\n",
		    o->listen);
		return NULL;
	}
	text = xasprintf("http: { listen = [\"%s\"]; };\n", o->listen);
	cfg = config_load_string("--listen", text, stderr);
	free(text);
	if (cfg == NULL)
		return NULL;
	/* Paths set after loading, so no file name needs escaping in libconfig syntax. */
	free(cfg->state_dir);
	free(cfg->database);
	free(cfg->ca_cert);
	free(cfg->ca_key);
	cfg->state_dir = xstrdup(dir);
	cfg->database = xasprintf("%s/scepd.db", dir);
	cfg->ca_cert = xasprintf("%s/ca.crt", dir);
	/* a key in a token: its URI as given */
	if (o->ca.ca_key_spec != NULL && keyref_is_token(o->ca.ca_key_spec))
		cfg->ca_key = xstrdup(o->ca.ca_key_spec);
	else if (o->ca.import_key != NULL && keyref_is_token(o->ca.import_key))
		cfg->ca_key = xstrdup(o->ca.import_key);
	else
		cfg->ca_key = xasprintf("%s/ca.key", dir);
	cfg->ra_sign_cert = xasprintf("%s/ra-sign.crt", dir);
	cfg->ra_enc_cert = xasprintf("%s/ra-enc.crt", dir);
	if (o->ca.ra_key_uri != NULL) {
		cfg->ra_sign_key = xstrdup(o->ca.ra_key_uri);
		cfg->ra_enc_key = xstrdup(o->ca.ra_key_uri);
	} else {
		cfg->ra_sign_key = xasprintf("%s/ra-sign.key", dir);
		cfg->ra_enc_key = xasprintf("%s/ra-enc.key", dir);
	}
	free(cfg->next_ca_cert);
	free(cfg->next_ca_key);
	free(cfg->next_ra_sign_cert);
	free(cfg->next_ra_sign_key);
	free(cfg->next_ra_enc_cert);
	free(cfg->next_ra_enc_key);
	cfg->next_ca_cert = xasprintf("%s/ca-next.crt", dir);
	cfg->next_ca_key = xasprintf("%s/ca-next.key", dir);
	cfg->next_ra_sign_cert = xasprintf("%s/ra-sign-next.crt", dir);
	cfg->next_ra_sign_key = xasprintf("%s/ra-sign-next.key", dir);
	cfg->next_ra_enc_cert = xasprintf("%s/ra-enc-next.crt", dir);
	cfg->next_ra_enc_key = xasprintf("%s/ra-enc-next.key", dir);
	cfg->access_log = xasprintf("%s/access.log", dir);
	if (o->challenge != NULL) {
		cfg->use_single_password = 1;
		free(cfg->single_password);
		cfg->single_password = xstrdup(o->challenge);
	}
	if (o->upstream != NULL) {
		free(cfg->ca_key);
		cfg->ca_key = NULL;   /* the upstream holds it */
		free(cfg->backend.type);
		cfg->backend.type = xstrdup("scep");
		cfg->backend.url = xstrdup(o->upstream);
		if (o->n_upstream_challenge > 0)
			cfg->backend.challenge = xstrdup(o->upstream_challenge[0]);
		if (o->upstream_ca_bundle != NULL) {
			char real[PATH_MAX];

			cfg->backend.ca_bundle = xstrdup(realpath(o->upstream_ca_bundle, real) != NULL ?
			    real : o->upstream_ca_bundle);
		}
	}
	return cfg;
}

/* --- init --upstream ------------------------------------------------------ */

/* One RA key and certificate, obtained from the upstream or made here. */
struct ra_pair {
	EVP_PKEY *key;
	X509 *cert;
	int local;          /* made here (self-signed) */
	int des;            /* the upstream's reply was enveloped with single DES */
	char why[600];      /* why it was made here */
};

/*
 * A CSR for an RA key: CN=name, the upstream challenge (if any), and an
 * extensionRequest with keyUsage (critical) and, when eku, the NDES RA EKU.
 */
static X509_REQ *ra_csr(EVP_PKEY *key, const char *name, const char *challenge,
    const char *ku, int eku)
{
	X509_REQ *req = NULL, *result = NULL;
	X509_NAME *n = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *ext = NULL;

	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    (n = X509_NAME_new()) == NULL || X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)name, -1, -1, 0) != 1 || X509_REQ_set_subject_name(req, n) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	if (challenge != NULL && X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    MBSTRING_UTF8, (const unsigned char *)challenge, -1) != 1)
		goto out;
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage, ku)) == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) == 0)
		goto out;
	ext = NULL;
	if (eku && ((ext = X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
	    "1.3.6.1.4.1.311.20.2.1")) == NULL || sk_X509_EXTENSION_push(exts, ext) == 0))
		goto out;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	result = req;
	req = NULL;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return result;
}

/* Why cert does not serve as the RA certificate needing bit, or NULL when it does. */
static const char *ra_unsuitable(X509 *cert, X509 *ca, uint32_t bit)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca);
	uint32_t ku = X509_get_key_usage(cert);

	if (pub == NULL || X509_check_issued(ca, cert) != X509_V_OK || X509_verify(cert, pub) != 1) {
		ERR_clear_error();
		return "it is not issued by the upstream CA certificate";
	}
	if (ku != UINT32_MAX && (ku & bit) == 0)
		return bit == KU_DIGITAL_SIGNATURE ? "its key usage lacks digitalSignature" :
		    "its key usage lacks keyEncipherment";
	return NULL;
}

/*
 * Enrolls one RA key with the upstream: first with the NDES RA EKU, then,
 * when refused, without it (many CAs only issue the EKUs their template
 * lists). On anything else the pair is made here, self-signed, with the reason.
 */
static int ra_enroll(struct scep_client *c, X509 *ca, const char *name, const char *challenge,
    int encryption, struct ra_pair *rp)
{
	const char *ku = encryption ? "critical,keyEncipherment" : "critical,digitalSignature";
	uint32_t bit = encryption ? KU_KEY_ENCIPHERMENT : KU_DIGITAL_SIGNATURE;
	struct scep_client_reply rep;
	struct signer *id = NULL;
	X509 *idcert = NULL;
	X509_REQ *req = NULL;
	unsigned char *der = NULL, h[32];
	char tid[80], err[512];
	const char *bad;
	int n, attempt, i, rc = -1;

	memset(rp, 0, sizeof(*rp));
	memset(&rep, 0, sizeof(rep));
	if ((rp->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL) {
		fprintf(stderr, "scepctl: cannot make an RSA key\n");
		return -1;
	}
	/* the identity that signs the request and opens the reply, as any new client has */
	if ((idcert = labca_self_signed(rp->key, name, "critical,digitalSignature,keyEncipherment",
	    NULL, 2, err, sizeof(err))) == NULL ||
	    (id = signer_from_pair(idcert, rp->key, 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	snprintf(rp->why, sizeof(rp->why), "no answer");
	for (attempt = 0; attempt < 2 && rp->cert == NULL; attempt++) {
		X509_REQ_free(req);
		OPENSSL_free(der);
		der = NULL;
		scep_client_reply_free(&rep);
		if ((req = ra_csr(rp->key, name, challenge, ku, attempt == 0)) == NULL ||
		    (n = i2d_X509_REQ(req, &der)) <= 0) {
			fprintf(stderr, "scepctl: cannot build the RA certificate request\n");
			goto out;
		}
		/* transactionID: the key's hash, as clients make it, one per attempt */
		if (EVP_Digest(der, (size_t)n, h, NULL, EVP_sha256(), NULL) != 1)
			goto out;
		hex_encode(h, 16, tid, 1);
		switch (scep_client_pkcsreq(c, id, der, (size_t)n, tid, &rep)) {
		case SCEP_CLIENT_SUCCESS:
			rp->des = rep.cipher_nid == NID_des_cbc;
			for (i = 0; i < sk_X509_num(rep.certs); i++) {
				X509 *x = sk_X509_value(rep.certs, i);

				if (EVP_PKEY_eq(X509_get0_pubkey(x), rp->key) != 1)
					continue;
				if ((bad = ra_unsuitable(x, ca, bit)) != NULL) {
					snprintf(rp->why, sizeof(rp->why), "the upstream issued a certificate, "
					    "but %s", bad);
					break;
				}
				if (X509_up_ref(x) == 1)
					rp->cert = x;
				break;
			}
			if (rp->cert == NULL && i == sk_X509_num(rep.certs))
				snprintf(rp->why, sizeof(rp->why), "the upstream's reply holds no "
				    "certificate for the RA key");
			attempt = 2;   /* an answer: do not ask again */
			break;
		case SCEP_CLIENT_FAILURE:
			snprintf(rp->why, sizeof(rp->why), "the upstream refused%s: %s",
			    attempt == 0 ? " (with the RA extended key usage)" : "", rep.reason);
			break;
		case SCEP_CLIENT_PENDING:
			snprintf(rp->why, sizeof(rp->why), "the upstream left the request pending "
			    "(manual approval?)");
			attempt = 2;
			break;
		default:
			snprintf(rp->why, sizeof(rp->why), "%s", rep.reason);
			attempt = 2;
			break;
		}
	}
	if (rp->cert == NULL) {
		rp->local = 1;
		fprintf(stderr, "scepctl: RA %s certificate: %s; making it here, self-signed\n",
		    encryption ? "encryption" : "signing", rp->why);
		if ((rp->cert = labca_self_signed(rp->key, name, ku, "1.3.6.1.4.1.311.20.2.1", 730,
		    err, sizeof(err))) == NULL) {
			fprintf(stderr, "scepctl: %s\n", err);
			goto out;
		}
	}
	rc = 0;
out:
	scep_client_reply_free(&rep);
	OPENSSL_free(der);
	X509_REQ_free(req);
	signer_free(id);
	X509_free(idcert);
	return rc;
}

static void fingerprint(X509 *x, char *out)
{
	unsigned char md[32];
	unsigned int len = 0, i;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &len) != 1)
		return;
	for (i = 0; i < len; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < len ? ":" : "");
}

/*
 * What to add on an upstream scepd so that it trusts this front as an RA
 * (trusted_ra) and asks the devices' requests for no challenge of its own.
 */
static void print_upstream_trust(const char *dir, const struct ra_pair *sign)
{
	if (sign->local) {
		printf("\nThe upstream cannot trust this front as an RA (trusted_ra): its RA "
		    "signing\ncertificate is self-signed. Devices' challenges must be the "
		    "upstream's own.\n");
		return;
	}
	printf("\nOn an upstream scepd, trust this front as an RA, so that the devices' requests "
	    "it\nforwards need no challenge of the upstream's: copy %s/ra-sign.crt into the\n"
	    "upstream's state_dir as front-ra-sign.crt and add to its scepd.conf:\n"
	    "  trusted_ra = [ \"front-ra-sign.crt\" ];\n"
	    "then reload it (systemctl reload scepd, or SIGHUP).\n", dir);
}

/* Obtains the RA pair from the upstream (or makes it) and writes the files. */
static int init_upstream(const struct init_options *o, const char *dir, X509 **ca_out,
    struct ra_pair rp[2])
{
	struct scep_client_options co;
	struct scep_client *c = NULL;
	struct scep_upstream *u = NULL;
	char err[512], *name = NULL, *enc_name = NULL;
	int rc = -1;

	memset(&co, 0, sizeof(co));
	co.url = o->upstream;
	co.ca_bundle = o->upstream_ca_bundle;
	co.timeout = 30;
	co.max_concurrent = 1;
	co.allow_des = 1;
	if ((c = scep_client_new(&co, err, sizeof(err))) == NULL ||
	    (u = scep_client_upstream(c, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	/* Two names: CAs that keep one certificate per subject would revoke the first. */
	name = labca_default_ra_name();
	enc_name = xasprintf("%s-Encryption", name);
	if (ra_enroll(c, u->ca, name, o->n_upstream_challenge > 0 ? o->upstream_challenge[0] :
	    NULL, 0, &rp[0]) != 0 ||
	    ra_enroll(c, u->ca, enc_name, o->n_upstream_challenge > 1 ? o->upstream_challenge[1] :
	    o->n_upstream_challenge > 0 ? o->upstream_challenge[0] : NULL, 1, &rp[1]) != 0)
		goto out;
	if (labca_write_forward(dir, u->ca, rp[0].cert, rp[0].key, rp[1].cert, rp[1].key,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (X509_up_ref(u->ca) != 1)
		goto out;
	*ca_out = u->ca;
	rc = 0;
out:
	free(enc_name);
	free(name);
	if (c != NULL)
		scep_upstream_release(c, u);
	scep_client_free(c);
	return rc;
}

static int write_config(const struct config *cfg, const char *path)
{
	FILE *f = NULL;
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "scepctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto out;
	}
	fprintf(f, "# scepd configuration written by `scepctl init`; every setting is\n"
	    "# documented in scepd.conf(5). Check changes with: scepd -t -f %s\n\n", path);
	config_print(cfg, f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "scepctl: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

/*
 * The state folder init writes into: made 0700, or, when it exists, tightened
 * to 0700 (it will hold the keys and the NT hashes). Someone else's folder is
 * refused unless init runs as root (which prepares folders for the service
 * user: systemd-tmpfiles makes /var/lib/scepd the scepd user's). 0 or -1
 * (said on stderr).
 */
static int private_folder(const char *path)
{
	struct stat sb;
	int fd, rc = -1;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "scepctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		fprintf(stderr, "scepctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (geteuid() != 0 && sb.st_uid != geteuid()) {
		fprintf(stderr, "scepctl: %s is owned by uid %u, not by you: init refuses a state "
		    "folder others control\n", path, (unsigned)sb.st_uid);
		goto out;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		if (fchmod(fd, 0700) == -1) {
			fprintf(stderr, "scepctl: %s: cannot make it private (mode %04o): %s\n",
			    path, (unsigned)(sb.st_mode & 07777), strerror(errno));
			goto out;
		}
		fprintf(stderr, "scepctl: %s: mode %04o tightened to 0700 (it holds keys and "
		    "password hashes)\n", path, (unsigned)(sb.st_mode & 07777));
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/* --owner user[:group]: looked up before anything is written. 0 or -1 (said). */
static int init_owner(const char *spec, struct privdrop_user *u)
{
	char name[64], err[256];
	const char *colon = strchr(spec, ':');
	size_t n = colon != NULL ? (size_t)(colon - spec) : strlen(spec);

	if (geteuid() != 0) {
		fprintf(stderr, "scepctl: --owner needs root\n");
		return -1;
	}
	if (n == 0 || n >= sizeof(name)) {
		fprintf(stderr, "scepctl: --owner %s: not a user name\n", spec);
		return -1;
	}
	memcpy(name, spec, n);
	name[n] = '\0';
	if (privdrop_resolve(name, colon != NULL ? colon + 1 : NULL, u, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: --owner: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Gives the state folder and the files init wrote in it (one level, links
 * not followed) to the service user. 0 or -1 (said).
 */
static int give_folder(const char *dir, const struct privdrop_user *u)
{
	DIR *d = NULL;
	struct dirent *e;
	int fd, rc = -1;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		fprintf(stderr, "scepctl: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fchownat(fd, e->d_name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) != 0) {
			fprintf(stderr, "scepctl: %s/%s: chown: %s\n", dir, e->d_name,
			    strerror(errno));
			goto out;
		}
	}
	if (errno != 0 || fchown(fd, u->uid, u->gid) != 0) {
		fprintf(stderr, "scepctl: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	else if (fd != -1)
		close(fd);
	return rc;
}

static int cmd_init(int argc, char **argv)
{
	struct init_options o;
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct ra_pair rp[2];
	struct privdrop_user owner;
	X509 *upstream_ca = NULL;
	char dir[PATH_MAX], err[512], *conf = NULL, fp[100];
	int i, rc = 1;

	memset(rp, 0, sizeof(rp));
	parse_init(argc, argv, &o);
	if (o.owner != NULL && init_owner(o.owner, &owner) != 0)
		goto out;
	if (private_folder(o.dir) != 0)
		goto out;
	if (realpath(o.dir, dir) == NULL) {
		fprintf(stderr, "scepctl: %s: %s\n", o.dir, strerror(errno));
		goto out;
	}
	conf = xasprintf("%s/scepd.conf", dir);
	if (access(conf, F_OK) == 0) {
		fprintf(stderr, "scepctl: %s exists already; init never overwrites a state folder\n",
		    conf);
		goto out;
	}
	if ((cfg = init_config(&o, dir)) == NULL)
		goto out;
	o.ca.dir = dir;
	if (o.upstream != NULL) {
		if (init_upstream(&o, dir, &upstream_ca, rp) != 0)
			goto out;
		/* an upstream that answers with single DES needs the legacy provider */
		if (rp[0].des || rp[1].des)
			cfg->allow_des = 1;
	} else if (labca_create(&o.ca, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (write_config(cfg, conf) != 0)
		goto out;
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (o.upstream != NULL) {
		/* what scepd will load must load */
		struct signer *check = signer_load(cfg, err, sizeof(err));

		if (check == NULL) {
			fprintf(stderr, "scepctl: the new configuration does not load: %s\n", err);
			goto out;
		}
		signer_free(check);
		fingerprint(upstream_ca, fp);
		printf("Created the scepd state folder %s, forwarding to %s:\n"
		    "  upstream CA      %s (copied from its GetCACert)\n"
		    "                   SHA-256 %s\n"
		    "                   check this fingerprint with the upstream's administrator\n",
		    dir, o.upstream, cfg->ca_cert, fp);
		for (i = 0; i < 2; i++) {
			printf("  RA %s  %s/%s: %s\n", i == 0 ? "signing   " : "encryption", dir,
			    i == 0 ? "ra-sign.crt" : "ra-enc.crt", rp[i].local ?
			    "made HERE, self-signed," : "issued by the upstream CA");
			if (rp[i].local)
				printf("                   because %s\n", rp[i].why);
		}
		if (rp[0].local)
			printf("NOTE: the RA signing certificate is not issued by the upstream CA: the "
			    "upstream must accept\n      requests signed by a self-signed "
			    "certificate, and some devices may refuse it.\n");
		if (cfg->allow_des)
			printf("NOTE: the upstream envelopes its replies with single DES: scep.allow_des "
			    "is set to true\n      (it also lets devices use single DES).\n");
		if (rp[1].local)
			printf("NOTE: the RA encryption certificate is not issued by the upstream CA: "
			    "some devices may refuse\n      to encrypt to it; issue one with "
			    "keyEncipherment from the upstream CA if they do.\n");
		printf("  configuration    %s\n"
		    "  database         %s\n\n"
		    "Start the server:  scepd -f %s\n"
		    "SCEP URL:          http://%s/certsrv/mscep/mscep.dll\n",
		    conf, cfg->database, conf, o.listen);
		if (o.challenge != NULL)
			printf("Challenge:         the static password given with --challenge\n");
		else
			printf("Challenge:         scepctl -f %s challenge new   "
			    "(one-time, valid %u minutes)\n", conf, cfg->password_validity);
		print_upstream_trust(dir, &rp[0]);
		rc = 0;
		goto out;
	}
	printf("Created the scepd state folder %s:\n"
	    "  CA certificate   %s\n"
	    "  RA certificates  %s/ra-sign.crt (signing), %s/ra-enc.crt (encryption)\n"
	    "  configuration    %s\n"
	    "  database         %s\n"
	    "  access log       %s\n\n"
	    "Start the server:  scepd -f %s\n"
	    "SCEP URL:          http://%s/certsrv/mscep/mscep.dll\n",
	    dir, cfg->ca_cert, dir, dir, conf, cfg->database, cfg->access_log, conf, o.listen);
	if (o.challenge != NULL)
		printf("Challenge:         the static password given with --challenge\n");
	else
		printf("Challenge:         scepctl -f %s challenge new   "
		    "(one-time, valid %u minutes)\n"
		    "NDES admin page:   http://%s/certsrv/mscep_admin/ after "
		    "`scepctl -f %s user add NAME`\n", conf, cfg->password_validity, o.listen, conf);
	rc = 0;
out:
	for (i = 0; i < 2; i++) {
		X509_free(rp[i].cert);
		EVP_PKEY_free(rp[i].key);
	}
	X509_free(upstream_ca);
	store_close(st);
	/* last, once the database is closed: everything in the folder is the owner's */
	if (rc == 0 && o.owner != NULL) {
		if (give_folder(dir, &owner) != 0)
			rc = 1;
		else
			printf("Owner:             %s (uid %u, gid %u): the folder and its files\n",
			    o.owner, (unsigned)owner.uid, (unsigned)owner.gid);
	}
	config_free(cfg);
	free(conf);
	return rc;
}

/* --- challenge ------------------------------------------------------------ */

static void format_time(int64_t t, char *buf, size_t len);

static int print_challenge(const struct store_challenge_info *ci, void *arg)
{
	char created[32], expires[32];

	format_time(ci->created_at, created, sizeof(created));
	format_time(ci->expires_at, expires, sizeof(expires));
	printf("%-16s  %-20s  %-20s  %s\n", ci->id, created, expires, ci->profile);
	(*(int *)arg)++;
	return 0;
}

/*
 * The challenge mode of the endpoint a one-time password is made for: the
 * top-level one (NULL name: the default profile) or a profiles entry's.
 * -1 (after a message) when there is no such profile.
 */
static int challenge_mode_of(const struct config *cfg, const char *name,
    struct challenge_mode *m)
{
	size_t i;

	m->enforce_password = cfg->enforce_password;
	m->use_single_password = cfg->use_single_password;
	m->single_password = cfg->single_password;
	if (name == NULL || strcmp(name, CHALLENGE_DEFAULT_PROFILE) == 0)
		return 0;
	for (i = 0; i < cfg->n_profiles; i++) {
		if (strcmp(cfg->profiles[i].name, name) == 0) {
			m->enforce_password = cfg->profiles[i].enforce_password;
			m->use_single_password = cfg->profiles[i].use_single_password;
			m->single_password = cfg->profiles[i].single_password;
			return 0;
		}
	}
	fprintf(stderr, "scepctl: no profile named %s in the configuration (profiles)\n", name);
	return -1;
}

static int cmd_challenge(const struct config *cfg, int argc, char **argv)
{
	struct challenge_mode m;
	struct store *st = NULL;
	const char *profile = CHALLENGE_DEFAULT_PROFILE;
	char err[512], password[72];
	int rc = 1, n = 0;

	if (argc == 3 && strcmp(argv[0], "new") == 0 && strcmp(argv[1], "--profile") == 0)
		profile = argv[2];
	else if (argc != 1 || (strcmp(argv[0], "new") != 0 && strcmp(argv[0], "list") != 0 &&
	    strcmp(argv[0], "purge") != 0))
		usage_error("challenge: expected new, list or purge (new takes --profile name), "
		    "not '%s'", argc > 1 ? argv[1] : arg0(argc, argv));
	if (challenge_mode_of(cfg, profile, &m) == -1)
		goto out;
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		/* Only hashes are kept: a password is listed by the start of its SHA-256. */
		printf("%-16s  %-20s  %-20s  %s\n", "SHA-256 (START)", "CREATED", "EXPIRES",
		    "PROFILE");
		if (store_challenge_foreach(st, now_seconds(), print_challenge, &n) < 0) {
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			goto out;
		}
		fprintf(stderr, "%d unused one-time password%s (challenge.PasswordMax %u a profile)\n",
		    n, n == 1 ? "" : "s", cfg->password_max);
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "purge") == 0) {
		if ((n = store_challenge_purge(st, now_seconds())) < 0) {
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			goto out;
		}
		printf("removed %d used or expired one-time password%s\n", n, n == 1 ? "" : "s");
		rc = 0;
		goto out;
	}
	if (!m.enforce_password) {
		fprintf(stderr, "scepctl: EnforcePassword is false for profile %s: requests need no "
		    "challenge password\n", profile);
		goto out;
	}
	if (m.use_single_password) {
		fprintf(stderr, "scepctl: UseSinglePassword is true for profile %s: clients use its "
		    "static password (SinglePassword)\n", profile);
		goto out;
	}
	switch (challenge_new(cfg, st, profile, now_seconds(), password, sizeof(password))) {
	case STORE_OK:
		printf("%s\n", password);
		rc = 0;
		break;
	case STORE_CACHE_FULL:
		fprintf(stderr, "scepctl: the password cache is full: %u unused passwords of "
		    "profile %s are waiting (challenge.PasswordMax); use one or wait until they "
		    "expire\n", cfg->password_max, profile);
		break;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		break;
	}
	OPENSSL_cleanse(password, sizeof(password));
out:
	store_close(st);
	return rc;
}

/* --- user ---------------------------------------------------------------- */

/* Reads one line (the password) from standard input, without echo on a terminal. */
static int read_password(char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restore = 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "Password: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin)) {
		fprintf(stderr, "scepctl: the password is longer than %zu bytes\n", len - 2);
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0) {
		fprintf(stderr, "scepctl: no password on standard input\n");
		return -1;
	}
	return 0;
}

static int print_user(const struct store_user *u, void *arg)
{
	char created[32];

	format_time(u->created_at, created, sizeof(created));
	printf("%-24s %-6s %-12s %s\n", u->name, u->enroll ? "yes" : "no",
	    u->has_nt_hash ? "NTLM, Basic" : "Basic", created);
	(*(int *)arg)++;
	return 0;
}

static int cmd_user(const struct config *cfg, int argc, char **argv)
{
	OSSL_PROVIDER *legacy = NULL, *deflt = NULL;
	struct store *st = NULL;
	struct store_user u;
	char err[512], password[1024];
	unsigned char secret[32];
	int rc = 1, i, enroll = 1, ntlm = 1, n = 0, kerberos_only = 0;

	memset(&u, 0, sizeof(u));
	memset(password, 0, sizeof(password));
	if (argc < 1)
		usage_error("user: expected add, del or list");
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			usage_error("user list: unexpected argument '%s'", argv[1]);
	} else if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0) {
		if (argc < 2)
			usage_error("user %s: the account name is missing", argv[0]);
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[0], "add") == 0 && strcmp(argv[i], "--no-enroll-right") == 0)
				enroll = 0;
			else if (strcmp(argv[0], "add") == 0 && strcmp(argv[i], "--no-ntlm") == 0)
				ntlm = 0;
			else if (strcmp(argv[0], "add") == 0 &&
			    strcmp(argv[i], "--kerberos-only") == 0)
				kerberos_only = 1;
			else
				usage_error("user %s: unexpected argument '%s'", argv[0], argv[i]);
		}
		if (strcmp(argv[0], "add") == 0 && !admin_valid_user_name(argv[1])) {
			fprintf(stderr, "scepctl: %s: an account name is 1 to %d of A-Z a-z 0-9 . _ - @,"
			    " starting with a letter or digit\n", argv[1], STORE_USER_NAME_MAX);
			goto out;
		}
		if (kerberos_only && strchr(argv[1], '@') == NULL) {
			fprintf(stderr, "scepctl: %s: a Kerberos-only account is named after its "
			    "principal, name@REALM\n", argv[1]);
			goto out;
		}
	} else
		usage_error("user: expected add, del or list, not '%s'", argv[0]);
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		printf("%-24s %-6s %-12s %s\n", "NAME", "ENROLL", "SIGN-IN", "CREATED");
		if (store_user_foreach(st, print_user, &n) < 0) {
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "del") == 0) {
		switch (store_user_del(st, argv[1])) {
		case STORE_OK:
			rc = 0;
			break;
		case STORE_NOT_FOUND:
			fprintf(stderr, "scepctl: no account named %s\n", argv[1]);
			break;
		default:
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			break;
		}
		goto out;
	}
	if (kerberos_only) {
		/* No password to sign in with: Basic gets a random one nobody knows, NTLM none. */
		ntlm = 0;
		if (RAND_bytes(secret, sizeof(secret)) != 1) {
			fprintf(stderr, "scepctl: no random bytes for the account\n");
			goto out;
		}
		hex_encode(secret, sizeof(secret), password, 0);
		OPENSSL_cleanse(secret, sizeof(secret));
	} else if (read_password(password, sizeof(password)) != 0)
		goto out;
	/* MD4 (the NT hash) lives in OpenSSL's legacy provider; load it only here. */
	if (ntlm && ((legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL ||
	    (deflt = OSSL_PROVIDER_load(NULL, "default")) == NULL)) {
		fprintf(stderr, "scepctl: OpenSSL's legacy provider (MD4, for the NT hash) is not "
		    "available; use --no-ntlm for a Basic-only account\n");
		goto out;
	}
	snprintf(u.name, sizeof(u.name), "%s", argv[1]);
	u.enroll = enroll;
	u.created_at = now_seconds();
	if (admin_user_set_password(&u, password, ntlm) != 0) {
		fprintf(stderr, "scepctl: cannot hash the password (invalid UTF-8?)\n");
		goto out;
	}
	switch (store_user_add(st, &u)) {
	case STORE_OK:
		printf("added %s (%s sign-in, %s)\n", u.name, kerberos_only ? "Kerberos only" :
		    ntlm ? "NTLM and Basic" : "Basic only",
		    enroll ? "may obtain challenge passwords" : "gets the insufficient-permission page");
		rc = 0;
		break;
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: an account named %s exists already (user del it first)\n",
		    argv[1]);
		break;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		break;
	}
out:
	OPENSSL_cleanse(password, sizeof(password));
	OPENSSL_cleanse(&u, sizeof(u));
	store_close(st);
	if (legacy != NULL)
		OSSL_PROVIDER_unload(legacy);
	if (deflt != NULL)
		OSSL_PROVIDER_unload(deflt);
	return rc;
}

/* --- cert ---------------------------------------------------------------- */

static void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
}

static int print_cert(const struct store_cert *c, void *arg)
{
	char expires[32];

	format_time(c->not_after, expires, sizeof(expires));
	printf("%-34s %-8s %-21s %s\n", c->serial, c->status, expires, c->subject);
	(*(int *)arg)++;
	return 0;
}

/* RFC 5280 CRLReason names accepted by --reason. */
static const struct {
	const char *name;
	int code;
} reasons[] = {
	{ "unspecified", STORE_REASON_UNSPECIFIED },
	{ "keyCompromise", STORE_REASON_KEY_COMPROMISE },
	{ "cACompromise", STORE_REASON_CA_COMPROMISE },
	{ "affiliationChanged", STORE_REASON_AFFILIATION_CHANGED },
	{ "superseded", STORE_REASON_SUPERSEDED },
	{ "cessationOfOperation", STORE_REASON_CESSATION },
	{ "privilegeWithdrawn", STORE_REASON_PRIVILEGE_WITHDRAWN },
};

/*
 * The signer of the CA with key identifier key_id (or of ca.cert when
 * key_id is empty): the configured CA, or the rollover CA. NULL with a message.
 */
static struct signer *ca_signer(const struct config *cfg, const char *key_id, int *legacy)
{
	struct signer_files f;
	struct signer *s;
	char err[512], id[41];

	*legacy = 1;
	if ((s = signer_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		return NULL;
	}
	if (key_id == NULL || key_id[0] == '\0' ||
	    (signer_key_id(signer_ca_cert(s), id) == 0 && strcmp(id, key_id) == 0))
		return s;
	signer_free(s);
	if (cfg->next_ca_cert == NULL || access(cfg->next_ca_cert, F_OK) != 0) {
		fprintf(stderr, "scepctl: the certificate's CA (key %s) is not configured\n", key_id);
		return NULL;
	}
	memset(&f, 0, sizeof(f));
	f.ca_cert = cfg->next_ca_cert;
	f.ca_key = cfg->next_ca_key;
	if ((s = signer_load_files(&f, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		return NULL;
	}
	*legacy = 0;
	return s;
}

static int cmd_revoke(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_cert *c = NULL;
	struct signer *s = NULL;
	unsigned char *crl = NULL;
	size_t i, crl_len = 0;
	const char *serial = NULL, *rname = "unspecified";
	char err[512];
	int reason = -1, legacy, rc = 1, a;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "--reason") == 0 && a + 1 < argc)
			rname = argv[++a];
		else if (serial == NULL && argv[a][0] != '-')
			serial = argv[a];
		else
			usage_error("cert revoke: unexpected argument, or a value missing after it: "
			    "'%s'", argv[a]);
	}
	if (serial == NULL)
		usage_error("cert revoke: the serial number is missing");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, rname) == 0)
			reason = reasons[i].code;
	if (reason < 0) {
		fprintf(stderr, "scepctl: unknown reason '%s'; known: unspecified, keyCompromise, "
		    "cACompromise, affiliationChanged, superseded, cessationOfOperation, "
		    "privilegeWithdrawn\n", rname);
		return 2;
	}
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	switch (store_cert_by_serial(st, serial, &c)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		fprintf(stderr, "scepctl: no certificate with serial %s\n", serial);
		goto out;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		goto out;
	}
	switch (store_cert_revoke(st, c->serial, reason, now_seconds())) {
	case STORE_OK:
		break;
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: certificate %s is revoked already\n", c->serial);
		goto out;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		goto out;
	}
	printf("revoked %s (%s), reason %s\n", c->serial, c->subject, rname);
	rc = 0;
	/* The CRL now, so that it is current before any client asks. */
	if ((s = ca_signer(cfg, c->issuer_key_id, &legacy)) == NULL ||
	    crl_current(st, s, legacy, cfg->crl_validity_hours, now_seconds(), 0, &crl, &crl_len,
	    err, sizeof(err)) != 0) {
		if (s != NULL)
			fprintf(stderr, "scepctl: CRL: %s\n", err);
		fprintf(stderr, "scepctl: the CRL was not made now; scepd makes it at the next "
		    "request for it\n");
		goto out;
	}
	printf("CRL updated (%zu bytes)\n", crl_len);
out:
	free(crl);
	signer_free(s);
	store_cert_free(c);
	store_close(st);
	return rc;
}

static int cmd_cert(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	char err[512];
	int rc = 1, n = 0;

	if (argc >= 2 && strcmp(argv[0], "revoke") == 0)
		return cmd_revoke(cfg, argc - 1, argv + 1);
	if (argc != 1 || strcmp(argv[0], "list") != 0)
		usage_error("cert: expected list or revoke SERIAL, not '%s'", argc > 1 &&
		    strcmp(argv[0], "list") == 0 ? argv[1] : arg0(argc, argv));
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	printf("%-34s %-8s %-21s %s\n", "SERIAL", "STATUS", "NOT AFTER", "SUBJECT");
	if (store_cert_foreach(st, print_cert, &n) < 0) {
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* --- request ------------------------------------------------------------- */

static const char *request_state(const struct store_pending *p)
{
	return p->decision[0] == '\0' ? "waiting" : p->decision;
}

/*
 * What a waiting request waits for: a CA backend that has it (with a handle to
 * poll, or to be submitted again at the next poll when the backend was
 * unavailable), an administrator, or, once decided, the client's next poll.
 */
static const char *request_waits_for(const struct store_pending *p, char *buf, size_t len)
{
	if (p->backend != NULL && strcmp(p->decision, "rejected") != 0) {
		snprintf(buf, len, "ca %s%s", p->backend,
		    p->backend_handle == NULL ? " (resubmit)" : "");
		return buf;
	}
	return p->decision[0] == '\0' ? "approval" : "client poll";
}

static int print_request(const struct store_pending *p, void *arg)
{
	char when[32], waits[128];

	format_time(p->created_at, when, sizeof(when));
	printf("%-6lld %-9s %-21s %-12s %-12s %-20s %s\n", (long long)p->id, request_state(p),
	    when, p->profile ? p->profile : "-", p->template_name ? p->template_name : "-",
	    request_waits_for(p, waits, sizeof(waits)), p->subject ? p->subject : "");
	(*(int *)arg)++;
	return 0;
}

static void print_names(const GENERAL_NAMES *san)
{
	BIO *bio = BIO_new_fp(stdout, BIO_NOCLOSE);
	int i;

	for (i = 0; bio != NULL && san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		printf("%s", i ? ", " : "");
		GENERAL_NAME_print(bio, sk_GENERAL_NAME_value(san, i));
		(void)BIO_flush(bio);
	}
	BIO_free(bio);
}

static int show_request(const struct store_pending *p)
{
	struct csr *csr;
	char when[32], hex[65], err[256], waits[128];

	printf("request          %lld\n", (long long)p->id);
	printf("state            %s\n", request_state(p));
	printf("waits for        %s\n", request_waits_for(p, waits, sizeof(waits)));
	if (p->backend != NULL) {
		printf("backend          %s\n", p->backend);
		printf("backend handle   %s\n", p->backend_handle != NULL ? p->backend_handle :
		    "- (submitted again at the next poll)");
	}
	if (p->reason != NULL)
		printf("reason           %s\n", p->reason);
	printf("transactionID    %s\n", p->transaction_id);
	printf("message type     %s\n", scep_msgtype_name(p->message_type));
	printf("profile          %s\n", p->profile ? p->profile : "-");
	printf("template         %s\n", p->template_name ? p->template_name : "-");
	printf("client           %s\n", p->client_addr ? p->client_addr : "-");
	format_time(p->created_at, when, sizeof(when));
	printf("received         %s\n", when);
	if (p->decided_at != 0) {
		format_time(p->decided_at, when, sizeof(when));
		printf("decided          %s\n", when);
	}
	printf("subject          %s\n", p->subject ? p->subject : "");
	if (p->renew_serial[0] != '\0')
		printf("renews           %s\n", p->renew_serial);
	if ((csr = csr_parse(p->csr, p->csr_len, err, sizeof(err))) == NULL) {
		printf("request          unreadable: %s\n", err);
		return 0;
	}
	printf("key              %s %d bits, SHA-256 %s\n", csr->key_type == EVP_PKEY_RSA ?
	    "RSA" : csr->key_type == EVP_PKEY_EC ? "EC" : "other", csr->key_bits,
	    hex_encode(csr->spki_sha256, 32, hex, 0));
	printf("subjectAltName   ");
	print_names(csr->san);
	printf("\n");
	if (csr->has_key_usage)
		printf("key usage        0x%x\n", csr->key_usage);
	csr_free(csr);
	return 0;
}

/* One line of `request history`: when, type, outcome, failInfo, serial, reason. */
static int print_history(const struct store_request_row *r, void *arg)
{
	char when[32];

	(void)arg;
	format_time(r->created_at, when, sizeof(when));
	printf("%-6lld %-21s %-11s %-9s %-14s %-12s %s%s%s\n", (long long)r->id, when,
	    scep_msgtype_name(r->message_type), r->outcome,
	    r->failinfo >= 0 ? scep_failinfo_name(r->failinfo) : "-",
	    r->profile != NULL ? r->profile : "-", r->cert_serial != NULL ? r->cert_serial : "",
	    r->cert_serial != NULL && r->reason != NULL ? " " : "", r->reason != NULL ? r->reason : "");
	return 0;
}

/* scepctl request history TXID: every request recorded for a transaction. */
static int request_history(struct store *st, const struct config *cfg, const char *txid)
{
	int n;

	printf("%-6s %-21s %-11s %-9s %-14s %-12s %s\n", "ID", "RECEIVED", "TYPE", "OUTCOME",
	    "FAILINFO", "PROFILE", "SERIAL / REASON");
	if ((n = store_request_history(st, txid, print_history, NULL)) < 0) {
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "scepctl: no request recorded for transaction %s\n", txid);
		return 1;
	}
	return 0;
}

static int cmd_request(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_pending *p = NULL;
	char err[512], *end;
	long long id = 0;
	int rc = 1, n = 0, all = 0;

	if (argc < 1)
		usage_error("request: expected list, show, history, approve or reject");
	if (strcmp(argv[0], "list") == 0) {
		if (argc == 2 && strcmp(argv[1], "--all") == 0)
			all = 1;
		else if (argc != 1)
			usage_error("request list: unexpected argument '%s'", argv[1]);
	} else if (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "approve") == 0 ||
	    strcmp(argv[0], "reject") == 0) {
		if (argc != 2)
			usage_error("request %s: expected one request ID", argv[0]);
		id = strtoll(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || id <= 0) {
			fprintf(stderr, "scepctl: '%s' is not a request ID (see scepctl request list)\n",
			    argv[1]);
			return 2;
		}
	} else if (strcmp(argv[0], "history") == 0) {
		if (argc != 2)
			usage_error("request history: expected one transactionID");
	} else
		usage_error("request: expected list, show, history, approve or reject, not '%s'",
		    argv[0]);
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if (strcmp(argv[0], "list") == 0) {
		printf("%-6s %-9s %-21s %-12s %-12s %-20s %s\n", "ID", "STATE", "RECEIVED",
		    "PROFILE", "TEMPLATE", "WAITS FOR", "SUBJECT");
		if (store_pending_foreach(st, all, print_request, &n) < 0) {
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(argv[0], "history") == 0) {
		rc = request_history(st, cfg, argv[1]);
		goto out;
	}
	if (strcmp(argv[0], "show") == 0) {
		switch (store_pending_by_id(st, id, &p)) {
		case STORE_OK:
			rc = show_request(p);
			break;
		case STORE_NOT_FOUND:
			fprintf(stderr, "scepctl: no waiting request %lld (a request that was "
			    "answered: scepctl request history TRANSACTIONID)\n", id);
			break;
		default:
			fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
			break;
		}
		goto out;
	}
	switch (store_pending_decide(st, id, strcmp(argv[0], "approve") == 0, now_seconds())) {
	case STORE_OK:
		printf("request %lld %s; the certificate is %s when the client polls next\n", id,
		    argv[0][0] == 'a' ? "approved" : "rejected",
		    argv[0][0] == 'a' ? "issued" : "refused");
		rc = 0;
		break;
	case STORE_NOT_FOUND:
	case STORE_CONFLICT:
		fprintf(stderr, "scepctl: %s\n", store_errmsg(st));
		break;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		break;
	}
out:
	store_pending_free(p);
	store_close(st);
	return rc;
}

/* --- crl ----------------------------------------------------------------- */

static int cmd_crl(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct signer *s = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	const char *out = NULL;
	char err[512];
	FILE *f = NULL;
	int rc = 1, legacy;

	if (argc == 2 && strcmp(argv[0], "--out") == 0)
		out = argv[1];
	else if (argc != 0)
		usage_error("crl: unexpected argument, or a value missing after it: '%s'", argv[0]);
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	if ((s = ca_signer(cfg, NULL, &legacy)) == NULL)
		goto out;
	if (crl_current(st, s, legacy, cfg->crl_validity_hours, now_seconds(), 0, &der, &len,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: CRL: %s\n", err);
		goto out;
	}
	if ((f = out != NULL ? fopen(out, "wb") : stdout) == NULL ||
	    fwrite(der, 1, len, f) != len || fflush(f) != 0) {
		fprintf(stderr, "scepctl: %s: %s\n", out ? out : "stdout", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL && f != stdout)
		fclose(f);
	free(der);
	signer_free(s);
	store_close(st);
	return rc;
}

/* --- ca rollover ----------------------------------------------------------- */

/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ", or -1. */
static int64_t parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
			return -1;
	}
	return (int64_t)timegm(&tm);
}

/* "N" with a unit s, m, h or d (seconds when none), or -1. */
static int64_t parse_duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0 || v > 36500LL * 86400)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return v;
}

static int cmd_ca(const struct config *cfg, int argc, char **argv)
{
	struct labca_rollover ro;
	int64_t starts = now_seconds() + 30 * 86400, d;
	char err[512], when[32];
	int a;

	if (argc < 1 || strcmp(argv[0], "rollover") != 0)
		usage_error("ca: expected rollover, not '%s'", arg0(argc, argv));
	memset(&ro, 0, sizeof(ro));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--at") == 0 && a + 1 < argc) {
			if ((starts = parse_time(argv[++a])) < 0) {
				fprintf(stderr, "scepctl: --at %s: use YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ (UTC)\n", argv[a]);
				return 2;
			}
		} else if (strcmp(argv[a], "--in") == 0 && a + 1 < argc) {
			if ((d = parse_duration(argv[++a])) < 0) {
				fprintf(stderr, "scepctl: --in %s: use N with s, m, h or d\n", argv[a]);
				return 2;
			}
			starts = now_seconds() + d;
		} else if (strcmp(argv[a], "--ca-key") == 0 && a + 1 < argc) {
			ro.ca_key_spec = argv[++a];
		} else
			usage_error("ca rollover: unexpected argument, or a value missing after it: "
			    "'%s'", argv[a]);
	}
	ro.ca_cert = cfg->ca_cert;
	ro.ra_sign_cert = cfg->ra_sign_cert;
	ro.next_cert = cfg->next_ca_cert;
	ro.next_key = cfg->next_ca_key;
	ro.next_ra_sign_cert = cfg->next_ra_sign_cert;
	ro.next_ra_sign_key = cfg->next_ra_sign_key;
	ro.next_ra_enc_cert = cfg->next_ra_enc_cert;
	ro.next_ra_enc_key = cfg->next_ra_enc_key;
	ro.starts = starts;
	if (labca_rollover(&ro, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	}
	format_time(starts, when, sizeof(when));
	printf("Rollover CA written to %s%s.\n"
	    "Restart scepd to load it: GetNextCACert hands it out (signed by the current CA)\n"
	    "until %s; from then on it is the CA, without a restart.\n",
	    cfg->next_ca_cert, cfg->ra_sign_cert != NULL ?
	    ", with new RA certificates" : "", when);
	return 0;
}

/* --- ra -------------------------------------------------------------------- */

static int cmd_ra(const struct config *cfg, int argc, char **argv)
{
	struct labca_renew_options o;
	char err[512], *end;
	unsigned long days = 730;

	if (argc < 1 || strcmp(argv[0], "renew") != 0)
		usage_error("ra: expected renew, not '%s'", arg0(argc, argv));
	if (argc == 3 && strcmp(argv[1], "--days") == 0) {
		errno = 0;
		days = strtoul(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || days < 1 || days > 3650) {
			fprintf(stderr, "scepctl: --days takes 1 to 3650\n");
			return 2;
		}
	} else if (argc != 1) {
		usage_error("ra renew: unexpected argument, or a value missing after it: '%s'",
		    argv[1]);
	}
	if (cfg->ra_sign_cert == NULL) {
		fprintf(stderr, "scepctl: %s has no ra group: the CA acts as RA, there are no RA "
		    "certificates to renew\n", cfg->file);
		return 1;
	}
	if (cfg->ca_key == NULL) {
		fprintf(stderr, "scepctl: %s has no ca.key: the RA certificates come from the "
		    "upstream CA (backend), which must renew them\n", cfg->file);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.ca_cert = cfg->ca_cert;
	o.ca_key = cfg->ca_key;
	o.sign_cert = cfg->ra_sign_cert;
	o.sign_key = cfg->ra_sign_key;
	o.enc_cert = cfg->ra_enc_cert;
	o.enc_key = cfg->ra_enc_key;
	o.days = (unsigned)days;
	o.prev_suffix = SCEP_RA_PREVIOUS_SUFFIX;
	if (labca_ra_renew(&o, err, sizeof(err)) != 0) {
		fprintf(stderr, "scepctl: %s\n", err);
		return 1;
	}
	printf("New RA certificates, valid %lu days, issued by %s:\n  %s\n", days, cfg->ca_cert,
	    cfg->ra_sign_cert);
	if (strcmp(cfg->ra_sign_cert, cfg->ra_enc_cert) != 0)
		printf("  %s\n", cfg->ra_enc_cert);
	printf("The previous ones are kept as *%s.\n"
	    "Reload scepd (systemctl reload scepd, or kill -HUP) to serve them: GetCACert then\n"
	    "hands out the new certificates, and requests encrypted to the previous ones are\n"
	    "still answered by them until they expire or the *%s files are removed (and\n"
	    "scepd reloaded).\n", SCEP_RA_PREVIOUS_SUFFIX, SCEP_RA_PREVIOUS_SUFFIX);
	return 0;
}

/* --- store ---------------------------------------------------------------- */

/*
 * store migrate --to postgresql URI: copies the configuration's SQLite store
 * into an empty PostgreSQL one and prints the rows of each table on both sides.
 */
static int cmd_store(const struct config *cfg, int argc, char **argv)
{
	struct store_copy_count counts[STORE_COPY_N_TABLES];
	char err[1024];
	size_t i;
	int rc;

	if (argc != 4 || strcmp(argv[0], "migrate") != 0 || strcmp(argv[1], "--to") != 0 ||
	    strcmp(argv[2], "postgresql") != 0)
		usage_error("store: expected migrate --to postgresql URI, not '%s'",
		    arg0(argc, argv));
	if (!store_is_postgresql(argv[3]))
		usage_error("store migrate: '%s' is not a postgresql:// or postgres:// URI",
		    argv[3]);
	if (store_is_postgresql(cfg->database)) {
		fprintf(stderr, "scepctl: the configuration's database is PostgreSQL already\n");
		return 1;
	}
	memset(counts, 0, sizeof(counts));
	rc = store_copy(cfg->database, argv[3], counts, err, sizeof(err));
	if (counts[0].table != NULL) {
		printf("%-14s %10s %10s\n", "TABLE", "SQLITE", "POSTGRESQL");
		for (i = 0; i < STORE_COPY_N_TABLES; i++)
			printf("%-14s %10lld %10lld\n", counts[i].table, (long long)counts[i].from,
			    (long long)counts[i].to);
	}
	if (rc != 0) {
		fprintf(stderr, "scepctl: store migrate: %s\n", err);
		return 1;
	}
	printf("Copied %s into the PostgreSQL database; every count matches.\n"
	    "Set database to its URI on every node, then start them.\n", cfg->database);
	return 0;
}

/* --- lab and profile: labctl.c and mdmprofile.c -------------------------- */

static int cmd_lab(const struct config *cfg, int argc, char **argv)
{
	int rc = labctl_run(cfg, argc, argv);

	if (rc == 2)
		usage_error(NULL);
	return rc;
}

static int cmd_profile(const struct config *cfg, int argc, char **argv)
{
	int rc = mdmprofile_run(cfg, argc, argv);

	if (rc == 2)
		usage_error(NULL);
	return rc;
}

/* --- inspect ------------------------------------------------------------- */

#define INSPECT_MAX_FILE (4 * 1024 * 1024)

/* The RA keys of cfg, or NULL with a note on stdout when they cannot be read here. */
static struct signer *inspect_keys(const struct config *cfg)
{
	struct signer *ra;
	struct config with_des;
	char err[512];

	if (cfg == NULL) {
		printf("%-18s not opened: no configuration, so no RA keys\n", "note");
		return NULL;
	}
	/* inspect opens single-DES envelopes too, to say what is in them */
	with_des = *cfg;
	with_des.allow_des = 1;
	if ((ra = signer_load(&with_des, err, sizeof(err))) == NULL)
		printf("%-18s the RA keys cannot be read here, envelopes stay closed: %s\n",
		    "note", err);
	return ra;
}

/*
 * inspect FILE: a pkiMessage or CertRep file (DER, PEM or base64); inspect
 * TXID: the newest recorded exchange of that transactionID (lab.record).
 * cfg may be NULL (no configuration readable): files only, envelopes closed.
 */
static int cmd_inspect(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct store_recording *r = NULL;
	struct signer *ra = NULL;
	unsigned char *raw = NULL, *der = NULL;
	size_t raw_len = 0, der_len = 0;
	char err[512];
	int rc = 1;

	if (argc != 1)
		usage_error("inspect: expected one transactionID or file");
	if (access(argv[0], F_OK) == 0) {
		if ((raw = read_file(argv[0], INSPECT_MAX_FILE, &raw_len)) == NULL) {
			fprintf(stderr, "scepctl: %s: %s\n", argv[0], strerror(errno));
			goto out;
		}
		if ((der = inspect_input(raw, raw_len, &der_len, err, sizeof(err))) == NULL) {
			fprintf(stderr, "scepctl: %s: %s\n", argv[0], err);
			goto out;
		}
		ra = inspect_keys(cfg);
		rc = inspect_message(stdout, der, der_len, ra, cfg) == 0 ? 0 : 1;
		goto out;
	}
	if (cfg == NULL) {
		fprintf(stderr, "scepctl: %s: no such file, and no configuration to look up a "
		    "recorded transaction\n", argv[0]);
		goto out;
	}
	if ((st = store_open(cfg->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: %s\n", err);
		goto out;
	}
	switch (store_recording_get(st, 0, argv[0], &r)) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		fprintf(stderr, "scepctl: %s: no such file, and no recorded transaction with that "
		    "transactionID (recording needs lab.enabled and lab.record)\n", argv[0]);
		goto out;
	default:
		fprintf(stderr, "scepctl: %s: %s\n", cfg->database, store_errmsg(st));
		goto out;
	}
	ra = inspect_keys(cfg);
	inspect_recording(stdout, r, ra, cfg);
	rc = 0;
out:
	signer_free(ra);
	store_recording_free(r);
	store_close(st);
	free(der);
	free(raw);
	return rc;
}

/* The commands that work on a configuration (init makes one). */
/* --- selftest ------------------------------------------------------------- */

/* Probes a SCEP server as each client family would (selftest.c). Reads no configuration. */
static int cmd_selftest(int argc, char **argv)
{
	struct selftest_options o;
	const char **challenges = xcalloc((size_t)argc + 1, sizeof(*challenges));
	char *end;
	unsigned long t;
	int i, rc;

	memset(&o, 0, sizeof(o));
	o.timeout = 30;
	o.challenges = challenges;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int more = argc - i - 1;

		if (strcmp(a, "--challenge") == 0 && more >= 1) {
			challenges[o.n_challenges++] = argv[++i];
		} else if (strcmp(a, "--family") == 0 && more >= 1) {
			o.only = argv[++i];
		} else if (strcmp(a, "--ca-bundle") == 0 && more >= 1) {
			o.ca_bundle = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && more >= 1) {
			t = strtoul(argv[++i], &end, 10);
			if (*end != '\0' || t == 0 || t > 3600)
				usage_error("selftest: --timeout wants 1 to 3600 seconds, not '%s'", argv[i]);
			o.timeout = (unsigned)t;
		} else if (a[0] != '-' && o.url == NULL) {
			o.url = a;
		} else {
			usage_error("selftest: unexpected '%s'", a);
		}
	}
	if (o.url == NULL)
		usage_error("selftest: the server URL is missing");
	rc = selftest_run(&o, stdout);
	free(challenges);
	return rc;
}

static const struct command {
	const char *name;
	int (*run)(const struct config *cfg, int argc, char **argv);
} commands[] = {
	{ "challenge", cmd_challenge },
	{ "cert", cmd_cert },
	{ "request", cmd_request },
	{ "crl", cmd_crl },
	{ "ca", cmd_ca },
	{ "ra", cmd_ra },
	{ "user", cmd_user },
	{ "store", cmd_store },
	{ "lab", cmd_lab },
	{ "profile", cmd_profile },
	{ NULL, NULL },
};

static int is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int main(int argc, char **argv)
{
	const char *file = CONFIG_DEFAULT_FILE;
	const struct command *c;
	struct config *cfg = NULL;
	int i = 1, rc = 1;

	/* every file scepctl makes (keys, database, configuration) is private */
	umask(077);
	if (oids_register() != 0) {
		fprintf(stderr, "scepctl: cannot register the SCEP OIDs with OpenSSL\n");
		return 1;
	}
	if (i < argc && is_help(argv[i])) {
		print_usage(stdout);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--version") == 0) {
		printf("scepctl %s\n", SCEPD_VERSION);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "-f") == 0) {
		if (i + 1 >= argc)
			usage_error("-f needs a file name");
		file = argv[i + 1];
		i += 2;
	}
	if (i >= argc && i > 1)
		usage_error("a command is missing after -f %s", file);
	if (i >= argc)
		usage_error(NULL);
	/* COMMAND -h|--help: the synopsis, before any configuration is read */
	if (is_help(argv[i]) || (i + 1 < argc && is_help(argv[i + 1]))) {
		print_usage(stdout);
		return 0;
	}
	if (strcmp(argv[i], "init") == 0)
		return cmd_init(argc - i - 1, argv + i + 1);
	/* inspect FILE works without a configuration (its envelopes then stay closed) */
	if (strcmp(argv[i], "inspect") == 0) {
		cfg = access(file, R_OK) == 0 ? config_load(file, stderr) : NULL;
		rc = cmd_inspect(cfg, argc - i - 1, argv + i + 1);
		config_free(cfg);
		return rc;
	}
	if (strcmp(argv[i], "selftest") == 0)
		return cmd_selftest(argc - i - 1, argv + i + 1);
	for (c = commands; c->name != NULL && strcmp(c->name, argv[i]) != 0; c++)
		;
	if (c->name == NULL)
		usage_error("unknown command '%s'", argv[i]);
	if ((cfg = config_load(file, stderr)) == NULL)
		return 1;
	rc = c->run(cfg, argc - i - 1, argv + i + 1);
	config_free(cfg);
	return rc;
}
