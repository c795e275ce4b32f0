/* SPDX-License-Identifier: ISC */
/*
 * test_scep.c: the PKIOperation pipeline of scep.c driven through
 * scep_handle() with a real client request (the sscep fixture, encrypted to
 * the fixture lab RA), the lab CA issuing locally into a scratch store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "catest.h"
#include "config.h"
#include "fixture.h"
#include "httpd.h"
#include "oids.h"
#include "scep.h"
#include "scep_types.h"
#include "tap.h"

#define FIXTURE "sscep-aes128-sha256-post"

/* Copies the fixture lab file name into dir with mode. 0 or -1. */
static int copy_lab(const char *dir, const char *name, mode_t mode)
{
	char *text, path[1024];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "lab/%s", name);
	if ((text = (char *)fixture_read(NULL, path, &len)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rc = catest_write(path, text, mode);
	free(text);
	return rc;
}

/* Runs SQL on the scratch store. 0 or -1. */
static int store_exec(const char *dir, const char *sql)
{
	char path[1024];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/scepd.db", dir);
	rc = sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	sqlite3_close(db);
	return rc;
}

/* The PrintableString or UTF8String value of a signed attribute of the reply, or "". */
static void reply_attr(const struct http_response *resp, int nid, char *out, size_t len)
{
	const unsigned char *p = resp->body;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *t;
	int i;

	out[0] = '\0';
	if (resp->body == NULL ||
	    (cms = d2i_CMS_ContentInfo(NULL, &p, (long)resp->body_len)) == NULL ||
	    sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 1)
		goto out;
	si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	if ((i = CMS_signed_get_attr_by_NID(si, nid, -1)) < 0 ||
	    (attr = CMS_signed_get_attr(si, i)) == NULL ||
	    (t = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING))
		goto out;
	snprintf(out, len, "%.*s", ASN1_STRING_length(t->value.asn1_string),
	    (const char *)ASN1_STRING_get0_data(t->value.asn1_string));
out:
	CMS_ContentInfo_free(cms);
}

static void post(struct scep_server *srv, const unsigned char *der, size_t len,
    struct http_response *resp)
{
	struct http_conn conn;
	struct http_request req;

	memset(&conn, 0, sizeof(conn));
	memset(&req, 0, sizeof(req));
	memset(resp, 0, sizeof(*resp));
	req.method = "POST";
	req.path = "/certsrv/mscep/mscep.dll";
	req.query = "operation=PKIOperation";
	req.query_len = strlen(req.query);
	req.body = der;
	req.body_len = len;
	req.client_addr = "127.0.0.1";
	req.conn = &conn;
	scep_handle(srv, &req, resp);
}

/* The CA and RA certificates in use: the lab's CA, RA signing and RA encryption. */
static void test_certs(struct scep_server *srv)
{
	struct scep_cert_info info[6];
	size_t n = scep_server_certs(srv, info, 6);

	is_int(n, 3, "scep_server_certs: CA, RA signing, RA encryption");
	if (n != 3)
		return;
	is_str(info[0].role, "ca", "first the CA");
	ok(strstr(info[0].subject, "CN=Fixture Lab CA") != NULL, "CA subject (%s)", info[0].subject);
	is_str(info[1].role, "ra-sign", "then the RA signing certificate");
	ok(strstr(info[1].subject, "CN=Fixture Lab RA Signing") != NULL, "RA signing subject");
	is_str(info[2].role, "ra-enc", "then the RA encryption certificate");
	ok(strstr(info[2].subject, "CN=Fixture Lab RA Encryption") != NULL, "RA encryption subject");
	ok(info[0].serial[0] != '\0' && info[0].not_after > 0, "serial and notAfter filled in");
	is_int(scep_server_certs(srv, info, 2), 2, "at most max entries");
	is_int(scep_server_has_previous_ra(srv), 0, "no previous RA generation");
}

/*
 * A certificate the store cannot record is answered with a signed CertRep
 * FAILURE (badRequest), not with HTTP 500: commit() used to leave the
 * failure without a failInfo, which no CertRep can carry.
 */
static void test_store_refuses_certificate(const char *dir, struct scep_server *srv,
    const unsigned char *der, size_t len)
{
	const struct scep_nids *nids = oids_nids();
	struct http_response resp;
	char v[256];

	ok(store_exec(dir, "CREATE TRIGGER no_certs BEFORE INSERT ON certificates "
	    "BEGIN SELECT RAISE(ABORT, 'test: no certificates'); END;") == 0,
	    "trigger refusing certificates installed");
	post(srv, der, len, &resp);
	is_int(resp.status, 200, "store refusing the certificate: HTTP 200");
	is_str(resp.content_type != NULL ? resp.content_type : "", "application/x-pki-message",
	    "store refusing the certificate: a pkiMessage");
	reply_attr(&resp, nids->pki_status, v, sizeof(v));
	is_str(v, "2", "store refusing the certificate: pkiStatus FAILURE");
	reply_attr(&resp, nids->fail_info, v, sizeof(v));
	is_str(v, "2", "store refusing the certificate: failInfo badRequest");
	reply_attr(&resp, nids->fail_info_text, v, sizeof(v));
	is_str(v, "the certificate could not be recorded in the store",
	    "store refusing the certificate: failInfoText says so");
	free(resp.body);

	ok(store_exec(dir, "DROP TRIGGER no_certs;") == 0, "trigger removed");
	post(srv, der, len, &resp);
	is_int(resp.status, 200, "same request again: HTTP 200");
	reply_attr(&resp, nids->pki_status, v, sizeof(v));
	is_str(v, "0", "same request again: pkiStatus SUCCESS");
	free(resp.body);
}

int main(void)
{
	static const char *const files[] = { "ca.crt", "ca.key", "ra-sign.crt", "ra-sign.key",
	    "ra-enc.crt", "ra-enc.key" };
	struct scep_server *srv = NULL;
	struct config *cfg = NULL;
	unsigned char *der = NULL;
	char *dir = NULL, *text = NULL, err[512];
	size_t len = 0, i;

	if (oids_register() != 0 || (dir = catest_tmpdir("scep")) == NULL) {
		printf("not ok 1 - set-up\n1..1\n");
		return 1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (copy_lab(dir, files[i], strstr(files[i], ".key") ? 0600 : 0644) != 0)
			break;
	if (i < sizeof(files) / sizeof(files[0]) ||
	    (der = fixture_read(FIXTURE, "request.der", &len)) == NULL) {
		skip("the fixture lab files or " FIXTURE " are not readable");
		goto out;
	}
	text = xasprintf("state_dir = \"%s\";\n"
	    "ra = { sign_cert = \"ra-sign.crt\"; sign_key = \"ra-sign.key\";\n"
	    "  enc_cert = \"ra-enc.crt\"; enc_key = \"ra-enc.key\"; };\n"
	    "challenge = { UseSinglePassword = true; SinglePassword = \"fixture-secret\"; };\n"
	    "scep = { max_clock_skew = 0; };\n", dir);
	cfg = catest_config(dir, text);
	ok(cfg != NULL, "configuration");
	if (cfg == NULL)
		goto out;
	srv = scep_server_new(cfg, err, sizeof(err));
	ok(srv != NULL, "scep_server_new%s%s", srv == NULL ? ": " : "", srv == NULL ? err : "");
	if (srv == NULL)
		goto out;
	test_certs(srv);
	test_store_refuses_certificate(dir, srv, der, len);
out:
	scep_server_free(srv);
	config_free(cfg);
	free(text);
	free(der);
	if (dir != NULL)
		catest_rmrf(dir);
	free(dir);
	return done_testing();
}
