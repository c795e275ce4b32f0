/* SPDX-License-Identifier: ISC */
/*
 * ca_driver.c: calls a CA backend directly, as the request pipeline will,
 * for the integration tests (t_ca_backend.sh): loads a scepd configuration,
 * its signer and its backend, makes a device key and CSR, submits it (or
 * polls a handle) and reports the outcome. Built by `make build-tests`.
 *
 *   ca_driver -f scepd.conf -s SUBJECT [-c CHALLENGE] [-t TXID] [-k KEY] [-o CERT]
 *   ca_driver -f scepd.conf -p HANDLE -k KEY -t TXID [-o CERT]
 *
 * -k: the device key, written when submitting (read when polling); -o: the
 * issued certificate and its chain, PEM. Prints "outcome=NAME ms=N" and
 * "handle=..." or "reason=..." lines. Exit status: 0 ISSUED, 3 PENDING,
 * 2 REFUSED, 4 UNAVAILABLE, 1 set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ca.h"
#include "ca_impl.h"
#include "config.h"
#include "oids.h"
#include "signer.h"
#include "util.h"
#include "catest.h"

static void usage(void)
{
	fprintf(stderr, "usage: ca_driver -f conf -s subject [-c challenge] [-t txid] [-k key] "
	    "[-o cert]\n       ca_driver -f conf -p handle -k key -t txid [-o cert]\n");
	exit(1);
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *subject = NULL, *challenge = NULL, *txid = "DRIVER-TX";
	const char *keyfile = NULL, *out = NULL, *handle = NULL;
	struct config *cfg = NULL;
	struct signer *signer = NULL;
	struct ca_backend *ca = NULL;
	struct ca_request r;
	struct ca_poll_request pr;
	struct ca_result res;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	unsigned char spki[32];
	char err[512];
	double t0;
	FILE *f;
	int ch, rc = 1, i;

	while ((ch = getopt(argc, argv, "f:s:c:t:k:o:p:")) != -1) {
		switch (ch) {
		case 'f': conf = optarg; break;
		case 's': subject = optarg; break;
		case 'c': challenge = optarg; break;
		case 't': txid = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'o': out = optarg; break;
		case 'p': handle = optarg; break;
		default: usage();
		}
	}
	if (conf == NULL || (subject == NULL) == (handle == NULL) ||
	    (handle != NULL && keyfile == NULL))
		usage();
	signal(SIGPIPE, SIG_IGN);
	memset(&res, 0, sizeof(res));
	if (oids_register() != 0 || (cfg = config_load(conf, stderr)) == NULL)
		goto out;
	if ((signer = signer_load(cfg, err, sizeof(err))) == NULL ||
	    (ca = ca_backend_new(cfg, &cfg->backend, signer, err, sizeof(err))) == NULL) {
		fprintf(stderr, "ca_driver: %s\n", err);
		goto out;
	}
	if (handle != NULL) {
		if ((key = catest_read_key(keyfile)) == NULL ||
		    (csr = catest_csr(key, "CN=poll", NULL, NULL)) == NULL ||
		    ca_spki_sha256_req(csr, spki) != 0) {
			fprintf(stderr, "ca_driver: cannot read %s\n", keyfile);
			goto out;
		}
		memset(&pr, 0, sizeof(pr));
		pr.handle = handle;
		pr.pubkey_sha256 = spki;
		pr.transaction_id = txid;
		pr.client_addr = "127.0.0.1";
		pr.now = now_seconds();
		t0 = mono_ms();
		ca_poll(ca, &pr, &res);
	} else {
		if ((key = catest_rsa()) == NULL ||
		    (csr = catest_csr(key, subject, challenge, NULL)) == NULL) {
			fprintf(stderr, "ca_driver: cannot make a key and CSR for %s\n", subject);
			goto out;
		}
		if (keyfile != NULL && ((f = fopen(keyfile, "w")) == NULL ||
		    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f) != 0)) {
			fprintf(stderr, "ca_driver: cannot write %s\n", keyfile);
			goto out;
		}
		memset(&r, 0, sizeof(r));
		r.csr = csr;
		r.pubkey = X509_REQ_get0_pubkey(csr);
		r.key_usage = X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT;
		r.validity_days = 30;
		r.transaction_id = txid;
		r.client_addr = "127.0.0.1";
		r.now = now_seconds();
		t0 = mono_ms();
		ca_submit(ca, &r, &res);
	}
	printf("outcome=%s ms=%.0f\n", ca_outcome_name(res.outcome), mono_ms() - t0);
	if (res.handle != NULL)
		printf("handle=%s\n", res.handle);
	if (res.reason[0] != '\0')
		printf("reason=%s\n", res.reason);
	if (res.outcome == CA_ISSUED && out != NULL) {
		if ((f = fopen(out, "w")) == NULL || PEM_write_X509(f, res.cert) != 1)
			goto out;
		for (i = 0; res.chain != NULL && i < sk_X509_num(res.chain); i++)
			PEM_write_X509(f, sk_X509_value(res.chain, i));
		if (fclose(f) != 0)
			goto out;
	}
	switch (res.outcome) {
	case CA_ISSUED: rc = 0; break;
	case CA_PENDING: rc = 3; break;
	case CA_REFUSED: rc = 2; break;
	case CA_UNAVAILABLE: rc = 4; break;
	}
out:
	ca_result_free(&res);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	ca_backend_free(ca);
	signer_free(signer);
	config_free(cfg);
	return rc;
}
