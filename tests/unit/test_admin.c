/* SPDX-License-Identifier: ISC */
/*
 * test_admin.c: the mscep_admin pages and accounts (src/admin.c, the account
 * and challenge-list functions of src/store.c). The pages are compared with
 * the real Windows Server 2022 NDES captures Fleet keeps as test data
 * (ndes.md 1.3, 1.5) byte for byte after decoding, and checked against
 * compatibility requirements 5-9 of ndes.md (BOM, UTF-16LE, even length,
 * thumbprint before password, last </B>, no earlier 16-hex run). Also: path
 * matching, the MD5 thumbprint, account names, Basic and NT hashes, and
 * accounts and challenge listing in a store in a temporary folder.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "tap.h"
#include "admin.h"
#include "challenge.h"
#include "config.h"
#include "ntlm.h"
#include "store.h"
#include "util.h"

#define HEAD "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; charset=UTF-8\">" \
	"<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF><Font " \
	"ID=locPageFont Face=\"Arial\"><Table Border=0 CellSpacing=0 CellPadding=4 Width=100% " \
	"BgColor=#008080><TR><TD><Font ID=locPageTitleFont Face=\"Arial\" Size=-1 Color=#FFFFFF>" \
	"<LocID ID=locMSCertSrv>Network Device Enrollment Service</LocID></Font></TD></TR>" \
	"</Table><P ID=locPageTitle> Network Device Enrollment Service allows you to obtain " \
	"certificates for routers or other network devices using the Simple Certificate " \
	"Enrollment Protocol (SCEP). </P>"
#define TAIL "<P ID=locPageDesc> For more information see  <A HREF=http://go.microsoft.com/" \
	"fwlink/?LinkId=67852>Using Network Device Enrollment Service </A>. </P></Font></Body>" \
	"</HTML>"

/* fleetdm/fleet ee/server/service/scep/sceptest/testdata/mscep_admin_password.html */
static const char capture_password[] = HEAD "<P> To complete certificate enrollment for your "
	"network device you will need the following information: <P> The thumbprint (hash "
	"value) for the CA certificate is: <B> A656FA66 AB12B433 A2DA5CF7 CC153D9A </B> <P> The "
	"enrollment challenge password is: <B> 8CE317021F690069 </B> <P> This password can be "
	"used only once and will expire within 60 minutes. <P> Each enrollment requires a new "
	"challenge password. You can refresh this web page to obtain a new challenge password. "
	"</P> " TAIL;

/* ... mscep_admin_cache_full.html */
static const char capture_cache_full[] = HEAD "<P> The password cache is full. <P> Network "
	"Device Enrollment Service stores unused password for later use. By default, passwords "
	"are stored for 60 minutes.<P>Use one of the existing passwords. If you cannot use an "
	"existing password: <UL> <LI> Wait until one or more existing passwords expire (by "
	"default passwords expire 60 minutes after they are created). </LI> <LI> Restart "
	"Internet Information Services (IIS). </LI> <LI> Configure the service to cache more "
	"than 5 passwords. </LI> </UL> </P> " TAIL;

/* ... mscep_admin_insufficient_permissions.html */
static const char capture_permission[] = HEAD "<P> You do not have sufficient permission to "
	"enroll with SCEP.  Please contact your system administrator. </P> " TAIL;

static void test_pages(void)
{
	const char *tp = "A656FA66 AB12B433 A2DA5CF7 CC153D9A", *pw = "8CE317021F690069";
	unsigned char *b;
	char *t, *p, *q;
	size_t len, i;
	int ascii = 1;

	t = admin_page_text(ADMIN_PAGE_PASSWORD, tp, pw, 60);
	is_str(t, capture_password, "password page equals the WS2022 NDES capture");
	free(t);
	t = admin_page_text(ADMIN_PAGE_CACHE_FULL, tp, NULL, 60);
	is_str(t, capture_cache_full, "cache-full page equals the capture");
	free(t);
	t = admin_page_text(ADMIN_PAGE_PERMISSION, tp, NULL, 60);
	is_str(t, capture_permission, "insufficient-permission page equals the capture");
	free(t);
	t = admin_page_text(ADMIN_PAGE_PASSWORD, tp, pw, 15);
	ok(strstr(t, "will expire within 15 minutes.") != NULL, "validity printed from the setting");
	free(t);
	t = admin_page_text(ADMIN_PAGE_STATIC, tp, "0123456789ABCDEF0123456789ABCDEF", 60);
	ok(strstr(t, "<B> 0123456789ABCDEF0123456789ABCDEF </B> <P> This password can be used "
	    "multiple times and will not expire.") != NULL, "static page: password and sentence");
	ok(strstr(t, "will expire within") == NULL, "static page: no expiry sentence");
	free(t);
	/* a static password is the administrator's text: HTML-escaped on the page */
	t = admin_page_text(ADMIN_PAGE_STATIC, tp, "a<b&c>d\"e'f", 60);
	ok(t != NULL && strstr(t, "<B> a&lt;b&amp;c&gt;d&quot;e&#39;f </B>") != NULL,
	    "static page: the password's < & > \" ' are HTML-escaped");
	ok(t != NULL && strstr(t, "a<b") == NULL, "static page: no raw markup from the password");
	free(t);

	b = admin_page_bytes(ADMIN_PAGE_PASSWORD, tp, pw, 60, &len);
	ok(b != NULL && b[0] == 0xff && b[1] == 0xfe, "body starts with BOM FF FE");
	is_int(len % 2, 0, "body has an even byte count");
	is_int(len, 2 + 2 * strlen(capture_password), "body is BOM + 2 bytes per character");
	for (i = 2; b != NULL && i < len; i += 2)
		if (b[i + 1] != 0 || b[i] != (unsigned char)capture_password[(i - 2) / 2])
			ascii = 0;
	ok(ascii, "UTF-16LE of the page text");
	free(b);

	/* ndes.md requirements 6, 8, 9 on the decoded text */
	t = admin_page_text(ADMIN_PAGE_PASSWORD, "80517CEF 419BA0A5 13D5F94F 716DA9C5",
	    "564286F6C21ED201", 60);
	p = strstr(t, "The thumbprint (hash value) for the CA certificate is: <B> ");
	q = strstr(t, "The enrollment challenge password is: <B> 564286F6C21ED201 </B>");
	ok(p != NULL && q != NULL && p < q, "thumbprint line comes before the password line");
	{
		/* first [A-F0-9]{16} run, case-insensitive, is the password */
		size_t run = 0;
		const char *first = NULL;

		for (i = 0; t[i] != '\0' && first == NULL; i++) {
			run = isxdigit((unsigned char)t[i]) ? run + 1 : 0;
			if (run == 16)
				first = t + i - 15;
		}
		ok(first != NULL && strncmp(first, "564286F6C21ED201", 16) == 0,
		    "the first 16-hex run is the password (PowerShell rule)");
	}
	p = NULL;
	for (q = t; (q = strstr(q, "</B>")) != NULL; q++)
		p = q;
	ok(p != NULL && p - t > 17 && strncmp(p - 17, "564286F6C21ED201 </B>", 21) == 0,
	    "the password's </B> is the last </B> (relay tool rule)");
	free(t);
}

static X509 *self_signed(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test CA", -1, -1,
	    0);
	X509_set_issuer_name(x, n);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	EVP_PKEY_free(k);
	return x;
}

static void test_thumbprint(void)
{
	X509 *x = self_signed();
	unsigned char *der = NULL, md[16];
	unsigned int n = 0;
	char tp[36], hex[33], want[36];
	int len;

	len = i2d_X509(x, &der);
	EVP_Digest(der, (size_t)len, md, &n, EVP_md5(), NULL);
	hex_encode(md, 16, hex, 1);
	snprintf(want, sizeof(want), "%.8s %.8s %.8s %.8s", hex, hex + 8, hex + 16, hex + 24);
	is_int(admin_thumbprint(x, tp), 0, "thumbprint computed");
	is_str(tp, want, "thumbprint = MD5 of the whole DER, 4 groups of 8 upper-case hex");
	OPENSSL_free(der);
	X509_free(x);
}

static void test_paths_and_names(void)
{
	ok(admin_is_path("/certsrv/mscep_admin/"), "/certsrv/mscep_admin/");
	ok(admin_is_path("/certsrv/mscep_admin"), "/certsrv/mscep_admin");
	ok(admin_is_path("/CertSrv/mscep_admin/mscep.dll"), "/CertSrv/mscep_admin/mscep.dll");
	ok(admin_is_path("/CERTSRV/MSCEP_ADMIN/MSCEP.DLL"), "upper case");
	ok(!admin_is_path("/certsrv/mscep_admin/x"), "not /certsrv/mscep_admin/x");
	ok(!admin_is_path("/certsrv/mscep/mscep.dll"), "not the SCEP path");
	ok(!admin_is_path("/certsrv/mscep_adminx"), "not a longer name");
	ok(admin_is_profile_path("/scep/vpn/mscep_admin/", "/scep/vpn"), "a profile's admin page");
	ok(admin_is_profile_path("/scep/vpn/MSCEP_ADMIN/mscep.dll", "/scep/vpn"),
	    "a profile's admin page, mscep.dll, any case");
	ok(admin_is_profile_path("/scep/vpn/mscep_admin", "/scep/vpn/"), "base with a slash");
	ok(!admin_is_profile_path("/scep/vpn/mscep_admin/x", "/scep/vpn"), "not below it");
	ok(!admin_is_profile_path("/scep/vpn2/mscep_admin/", "/scep/vpn"), "not another profile");
	ok(!admin_is_profile_path("/scep/vpn/mscep_admin/", NULL), "no base, no page");
	ok(admin_valid_user_name("alice"), "alice is a valid account name");
	ok(admin_valid_user_name("svc.fleet-01@corp"), "dots, dashes, @ allowed");
	ok(!admin_valid_user_name(""), "empty refused");
	ok(!admin_valid_user_name("-x"), "leading dash refused");
	ok(!admin_valid_user_name("a b"), "space refused");
	ok(!admin_valid_user_name("DOM\\a"), "backslash refused");
	ok(!admin_valid_user_name("\xc3\xa9t\xc3\xa9"), "non-ASCII refused");
	ok(!admin_valid_user_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    "65 characters refused");
}

static void db_remove(const char *path)
{
	char *p;

	unlink(path);
	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
}

static int count_user(const struct store_user *u, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int count_challenge(const struct store_challenge_info *ci, void *arg)
{
	(*(int *)arg)++;
	return strlen(ci->id) == 16 ? 0 : -5;
}

static void test_accounts(void)
{
	struct store_user u, got;
	struct store *st;
	struct config cfg;
	unsigned char nt[16];
	char dir[] = "/tmp/scepd-test-admin.XXXXXX", *path, err[256], pw[72];
	int n = 0;

	ok(mkdtemp(dir) != NULL, "temporary folder");
	path = xasprintf("%s/scepd.db", dir);
	st = store_open(path, err, sizeof(err));
	if (!ok(st != NULL, "store opened (migration 002 applied)"))
		goto out;
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "Alice");
	u.enroll = 1;
	u.created_at = 1000;
	is_int(admin_user_set_password(&u, "S3cret!pw", 1), 0, "hashes made");
	is_int(u.basic_iterations, ADMIN_PBKDF2_ITERATIONS, "PBKDF2 iterations recorded");
	ntlm_nt_hash("S3cret!pw", nt);
	ok(u.has_nt_hash && memcmp(u.nt_hash, nt, 16) == 0, "NT hash = MD4(UTF-16LE(password))");
	is_int(admin_check_basic(&u, "S3cret!pw"), 1, "Basic password verifies");
	is_int(admin_check_basic(&u, "S3cret!pW"), 0, "a wrong Basic password does not");
	is_int(store_user_add(st, &u), STORE_OK, "account added");
	snprintf(u.name, sizeof(u.name), "ALICE");
	is_int(store_user_add(st, &u), STORE_CONFLICT, "same name in other case is a conflict");
	is_int(store_user_get(st, "alice", &got), STORE_OK, "found case-insensitively");
	is_str(got.name, "Alice", "name as created");
	ok(got.has_nt_hash && memcmp(got.nt_hash, nt, 16) == 0 && got.enroll == 1 &&
	    got.created_at == 1000, "NT hash, enroll right and time stored");
	is_int(admin_check_basic(&got, "S3cret!pw"), 1, "stored Basic hash verifies");
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "bob");
	admin_user_set_password(&u, "x", 0);
	is_int(store_user_add(st, &u), STORE_OK, "Basic-only account without the right added");
	is_int(store_user_get(st, "bob", &got), STORE_OK, "bob found");
	ok(!got.has_nt_hash && !got.enroll, "bob has no NT hash and no enroll right");
	is_int(store_user_foreach(st, count_user, &n), 0, "accounts listed");
	is_int(n, 2, "two accounts");
	is_int(store_user_del(st, "BOB"), STORE_OK, "bob deleted");
	is_int(store_user_del(st, "bob"), STORE_NOT_FOUND, "deleting again: not found");
	is_int(store_user_get(st, "bob", &got), STORE_NOT_FOUND, "bob gone");

	memset(&cfg, 0, sizeof(cfg));
	cfg.enforce_password = 1;
	cfg.password_length = 8;
	cfg.password_max = 5;
	cfg.password_validity = 60;
	is_int(challenge_new(&cfg, st, "default", 5000, pw, sizeof(pw)), STORE_OK, "a password made");
	is_int(challenge_new(&cfg, st, "default", 5001, pw, sizeof(pw)), STORE_OK, "another");
	n = 0;
	is_int(store_challenge_foreach(st, 5002, count_challenge, &n), 0, "challenges listed");
	is_int(n, 2, "two unused challenges listed by hash prefix");
	n = 0;
	store_challenge_foreach(st, 5000 + 3600, count_challenge, &n);
	is_int(n, 1, "the first expired exactly at 60 minutes");
	n = 0;
	store_challenge_foreach(st, 5000 + 57 * 60, count_challenge, &n);
	is_int(n, 2, "both still valid after 57 minutes (Fleet re-fetches then)");
	store_close(st);
out:
	db_remove(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(NULL, "legacy");
	OSSL_PROVIDER *deflt = OSSL_PROVIDER_load(NULL, "default");

	test_pages();
	test_thumbprint();
	test_paths_and_names();
	test_accounts();
	if (legacy != NULL)
		OSSL_PROVIDER_unload(legacy);
	if (deflt != NULL)
		OSSL_PROVIDER_unload(deflt);
	return done_testing();
}
