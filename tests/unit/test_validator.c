/* SPDX-License-Identifier: ISC */
/*
 * test_validator.c: the challenge validators (validator.h): the step-ca
 * webhook request body (fields and values, raw DER) and its HMAC-SHA256
 * signature against the RFC 4231 vector; the exec type with small shell
 * scripts: allow (the JSON on standard input, its arguments, only descriptors
 * 0-2), deny with the reason from standard error, time-out (killed), a
 * signal, huge output, a program that is not there; the concurrency limit
 * (busy, never allowed); and a webhook that cannot be reached or whose secret
 * file is unusable.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "config.h"
#include "util.h"
#include "validator.h"
#include "validator_impl.h"
#include "tap.h"
#include "catest.h"

static char *dir;
static X509_REQ *csr;
static EVP_PKEY *csr_key;
static unsigned char *csr_der;
static size_t csr_len;

static void request(struct validator_request *rq, const char *txid)
{
	memset(rq, 0, sizeof(*rq));
	rq->transaction_id = txid;
	rq->challenge = "otp-1234";
	rq->profile = "vpn";
	rq->csr = csr;
	rq->pubkey = X509_REQ_get0_pubkey(csr);
	rq->csr_der = csr_der;
	rq->csr_len = csr_len;
	rq->client_addr = "127.0.0.1";
	rq->now = 1700000000;   /* 2023-11-14T22:13:20Z */
}

/* A string member at path a.b (b may be NULL), or NULL. */
static const char *member(json_object *root, const char *a, const char *b)
{
	json_object *x = NULL, *y = NULL;

	if (!json_object_object_get_ex(root, a, &x))
		return NULL;
	if (b == NULL)
		return json_object_get_string(x);
	if (!json_object_object_get_ex(x, b, &y))
		return NULL;
	return json_object_get_string(y);
}

static void test_signature(void)
{
	char sig[65];

	/* RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" */
	ok(webhook_signature((const unsigned char *)"Jefe", 4, "what do ya want for nothing?",
	    28, sig) == 0, "signature computed");
	is_str(sig, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "HMAC-SHA256 matches RFC 4231 test case 2, lower-case hex");
}

static void test_body(void)
{
	struct validator_request rq;
	json_object *root = NULL, *req, *x, *san;
	unsigned char *raw = NULL;
	const char *s;
	size_t len = 0, raw_len = 0;
	char *body;

	request(&rq, "TX-BODY-1");
	body = webhook_body_challenge(&rq, &len);
	ok(body != NULL && strlen(body) == len, "challenge body made");
	if (body == NULL)
		return;
	root = json_tokener_parse(body);
	ok(root != NULL && json_object_is_type(root, json_type_object), "it is a JSON object");
	is_str(member(root, "timestamp", NULL), "2023-11-14T22:13:20Z", "timestamp RFC 3339");
	is_str(member(root, "provisionerName", NULL), "vpn", "provisionerName is the profile");
	is_str(member(root, "scepChallenge", NULL), "otp-1234", "scepChallenge");
	is_str(member(root, "scepTransactionID", NULL), "TX-BODY-1", "scepTransactionID");
	ok(json_object_object_get_ex(root, "x509CertificateRequest", &req),
	    "x509CertificateRequest present");
	is_str(member(req, "subject", "commonName"), "dev1.example", "subject.commonName");
	ok(json_object_object_get_ex(req, "subject", &x) &&
	    json_object_object_get_ex(x, "organization", &x) &&
	    json_object_is_type(x, json_type_array) &&
	    strcmp(json_object_get_string(json_object_array_get_idx(x, 0)), "Lab") == 0,
	    "subject.organization is an array [\"Lab\"]");
	ok(json_object_object_get_ex(req, "dnsNames", &x) &&
	    json_object_array_length(x) == 1 &&
	    strcmp(json_object_get_string(json_object_array_get_idx(x, 0)), "dev1.example") == 0,
	    "dnsNames");
	ok(json_object_object_get_ex(req, "sans", &x) && json_object_array_length(x) == 1 &&
	    (san = json_object_array_get_idx(x, 0)) != NULL &&
	    strcmp(member(san, "type", NULL), "dns") == 0 &&
	    strcmp(member(san, "value", NULL), "dev1.example") == 0, "sans [{type dns, value}]");
	is_str(member(req, "publicKeyAlgorithm", NULL), "RSA", "publicKeyAlgorithm");
	is_str(member(req, "signatureAlgorithm", NULL), "SHA256-RSA", "signatureAlgorithm");
	s = member(req, "raw", NULL);
	ok(s != NULL && (raw = base64_decode(s, strlen(s), &raw_len)) != NULL &&
	    raw_len == csr_len && memcmp(raw, csr_der, csr_len) == 0,
	    "raw is the request's DER in base64");
	ok(!json_object_object_get_ex(root, "x509Certificate", NULL), "no x509Certificate");
	free(raw);
	json_object_put(root);
	free(body);

	body = webhook_body_failure(&rq, 2, "the CA refused", &len);
	root = body != NULL ? json_tokener_parse(body) : NULL;
	ok(root != NULL, "failure body made");
	is_str(member(root, "scepErrorCode", NULL), "2", "scepErrorCode");
	is_str(member(root, "scepErrorDescription", NULL), "the CA refused", "scepErrorDescription");
	ok(root != NULL && !json_object_object_get_ex(root, "scepChallenge", NULL),
	    "no challenge in a notification");
	json_object_put(root);
	free(body);
}

/*
 * signatureAlgorithm of the challenge body for the request re-signed with md
 * (PSS padding when pss), into out; "(none)" when there is no body.
 */
static void sigalg_of(const EVP_MD *md, int pss, char *out, size_t outlen)
{
	struct validator_request rq;
	X509_REQ *r = X509_REQ_dup(csr);
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	json_object *root = NULL, *req;
	char *body = NULL;
	size_t len = 0;
	int n = -1;

	snprintf(out, outlen, "(none)");
	if (r == NULL || mctx == NULL ||
	    EVP_DigestSignInit(mctx, &pctx, md, NULL, csr_key) != 1 ||
	    (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) ||
	    X509_REQ_sign_ctx(r, mctx) <= 0 || (n = i2d_X509_REQ(r, &der)) <= 0)
		goto out;
	request(&rq, "TX-SIGALG");
	rq.csr = r;
	rq.csr_der = der;
	rq.csr_len = (size_t)n;
	if ((body = webhook_body_challenge(&rq, &len)) != NULL &&
	    (root = json_tokener_parse(body)) != NULL &&
	    json_object_object_get_ex(root, "x509CertificateRequest", &req))
		snprintf(out, outlen, "%s", member(req, "signatureAlgorithm", NULL) != NULL ?
		    member(req, "signatureAlgorithm", NULL) : "(absent)");
out:
	json_object_put(root);
	free(body);
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	X509_REQ_free(r);
}

/*
 * signatureAlgorithm as step-ca's x509util names it: a Go webhook server
 * decoding the body refuses a name it does not know, and step-ca itself sends
 * "" for an algorithm Go does not know; RSA-PSS is named by its hash.
 */
static void test_sigalg(void)
{
	char name[64];

	sigalg_of(EVP_sha224(), 0, name, sizeof(name));
	is_str(name, "", "signatureAlgorithm of sha224WithRSAEncryption (unknown to Go) is \"\"");
	sigalg_of(EVP_sha384(), 1, name, sizeof(name));
	is_str(name, "SHA384-RSAPSS", "signatureAlgorithm of RSA-PSS with SHA-384");
	sigalg_of(EVP_sha512(), 1, name, sizeof(name));
	is_str(name, "SHA512-RSAPSS", "signatureAlgorithm of RSA-PSS with SHA-512");
	sigalg_of(EVP_sha256(), 1, name, sizeof(name));
	is_str(name, "SHA256-RSAPSS", "signatureAlgorithm of RSA-PSS with SHA-256");
	sigalg_of(EVP_sha1(), 0, name, sizeof(name));
	is_str(name, "SHA1-RSA", "signatureAlgorithm of sha1WithRSAEncryption");
}

/* A validator set from validators text (in dir). */
static struct validator_set *set_of(const char *validators, char *err, size_t errlen)
{
	char *text = xasprintf("state_dir = \"%s\";\nvalidators = (\n%s\n);\n", dir, validators);
	struct config *cfg = catest_config(dir, text);
	struct validator_set *set = NULL;

	err[0] = '\0';
	if (cfg != NULL)
		set = validator_set_new(cfg, err, errlen);
	else
		snprintf(err, errlen, "configuration refused");
	config_free(cfg);
	free(text);
	return set;
}

static void script(const char *name, const char *body)
{
	char *path = xasprintf("%s/%s", dir, name), *text = xasprintf("#!/bin/sh\n%s", body);

	if (catest_write(path, text, 0755) != 0)
		printf("# cannot write %s\n", path);
	free(text);
	free(path);
}

static void test_exec(void)
{
	struct validator_set *set;
	struct validator *v;
	struct validator_request rq;
	struct validator_result res;
	char err[512], *text;
	struct timespec t0, t1;

	script("allow.sh", "in=$(cat)\n"
	    "case \"$in\" in *'\"scepChallenge\":\"otp-1234\"'*) ;; *) echo \"no challenge\" >&2; exit 9;; esac\n"
	    "case \"$in\" in *'\"scepTransactionID\":\"TX-EXEC\"'*) ;; *) echo \"no txid\" >&2; exit 9;; esac\n"
	    "[ \"$1\" = \"--strict\" ] && [ \"$2\" = 'a b;$(x)' ] || { echo \"args: $*\" >&2; exit 9; }\n"
	    "[ $# -eq 2 ] || exit 9\n"
	    "[ -e /proc/$$/fd/47 ] && { echo \"descriptor 47 inherited\" >&2; exit 9; }\n"
	    "env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | grep -qv '^PATH=' && "
	    "{ echo \"env: $(env | tr '\\n' ' ')\" >&2; exit 9; }\n"
	    "echo ignored output\nexit 0\n");
	script("deny.sh", "cat >/dev/null\necho 'device not enrolled in inventory' >&2\n"
	    "echo 'second line' >&2\nexit 3\n");
	script("slow.sh", "sleep 30\n");
	script("signal.sh", "cat >/dev/null; kill -9 $$\n");
	script("huge.sh", "head -c 200000 /dev/zero\n");
	script("noread.sh", "exit 0\n");

	text = xasprintf(
	    "{ name = \"allow\"; type = \"exec\"; program = \"allow.sh\";\n"
	    "  args = [ \"--strict\", \"a b;$(x)\" ]; },\n"
	    "{ name = \"deny\"; type = \"exec\"; program = \"deny.sh\"; },\n"
	    "{ name = \"slow\"; type = \"exec\"; program = \"slow.sh\"; timeout = 1; },\n"
	    "{ name = \"signal\"; type = \"exec\"; program = \"signal.sh\"; },\n"
	    "{ name = \"huge\"; type = \"exec\"; program = \"huge.sh\"; },\n"
	    "{ name = \"noread\"; type = \"exec\"; program = \"noread.sh\"; }");
	set = set_of(text, err, sizeof(err));
	free(text);
	ok(set != NULL, "exec validators built (%s)", err);
	if (set == NULL)
		return;
	request(&rq, "TX-EXEC");
	ok((v = validator_find(set, "allow")) != NULL, "validator_find");
	is_str(validator_type(v), "exec", "type exec");
	is_int(validator_check(v, &rq, &res), VALIDATOR_ALLOW, "exit 0 allows (%s)", res.reason);
	ok(res.seconds >= 0 && res.seconds < 10, "latency measured");

	is_int(validator_check(validator_find(set, "deny"), &rq, &res), VALIDATOR_DENY,
	    "exit 3 refuses");
	ok(strstr(res.reason, "refused (exit status 3): device not enrolled in inventory") != NULL &&
	    strstr(res.reason, "second line") == NULL, "reason: the first line of stderr (%s)",
	    res.reason);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(validator_check(validator_find(set, "slow"), &rq, &res), VALIDATOR_ERROR,
	    "time-out refuses");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(strstr(res.reason, "did not answer within 1 seconds") != NULL, "time-out reason (%s)",
	    res.reason);
	ok(t1.tv_sec - t0.tv_sec < 10, "killed near the limit, not after the script's 30 s");

	is_int(validator_check(validator_find(set, "signal"), &rq, &res), VALIDATOR_ERROR,
	    "killed by a signal refuses");
	ok(strstr(res.reason, "signal 9") != NULL, "signal reason (%s)", res.reason);
	is_int(validator_check(validator_find(set, "huge"), &rq, &res), VALIDATOR_ERROR,
	    "huge output refuses");
	is_int(validator_check(validator_find(set, "noread"), &rq, &res), VALIDATOR_ALLOW,
	    "a program that does not read its input still answers");
	ok(validator_find(set, "") == NULL && validator_find(set, "nope") == NULL,
	    "validator_find: none");
	validator_set_free(set);

	set = set_of("{ name = \"gone\"; type = \"exec\"; program = \"missing.sh\"; }", err,
	    sizeof(err));
	ok(set == NULL && strstr(err, "validator gone: program ") != NULL &&
	    strstr(err, "missing.sh: No such file or directory") != NULL,
	    "a missing program is refused at start-up (%s)", err);
	validator_set_free(set);
}

struct job {
	struct validator *v;
	enum validator_verdict verdict;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	struct validator_request rq;
	struct validator_result res;

	request(&rq, "TX-BUSY");
	j->verdict = validator_check(j->v, &rq, &res);
	return NULL;
}

static void test_busy(void)
{
	struct validator_set *set;
	struct validator_request rq;
	struct validator_result res;
	struct job j;
	pthread_t t;
	char err[512], *flag, *text;
	int i;

	flag = xasprintf("%s/started", dir);
	text = xasprintf("touch '%s'\nsleep 3\nexit 0\n", flag);
	script("hold.sh", text);
	free(text);
	set = set_of("{ name = \"one\"; type = \"exec\"; program = \"hold.sh\"; max_concurrent = 1; "
	    "timeout = 20; }", err, sizeof(err));
	ok(set != NULL, "validator with max_concurrent = 1 built (%s)", err);
	if (set == NULL) {
		free(flag);
		return;
	}
	j.v = validator_find(set, "one");
	ok(pthread_create(&t, NULL, run_job, &j) == 0, "first check started");
	for (i = 0; i < 2000 && access(flag, F_OK) != 0; i++)
		usleep(10000);
	ok(access(flag, F_OK) == 0, "the first check's program runs");
	request(&rq, "TX-BUSY-2");
	is_int(validator_check(j.v, &rq, &res), VALIDATOR_BUSY, "a second check at once is busy");
	ok(strstr(res.reason, "validators.max_concurrent") != NULL, "busy reason (%s)", res.reason);
	pthread_join(t, NULL);
	is_int(j.verdict, VALIDATOR_ALLOW, "the first check allowed");
	validator_set_free(set);
	free(flag);
}

static void test_webhook_setup(void)
{
	struct validator_set *set;
	struct validator_request rq;
	struct validator_result res;
	char err[512], *path;

	path = xasprintf("%s/good.secret", dir);
	catest_write(path, "c2NlcGQtdGVzdC1zZWNyZXQ=\n", 0600);
	free(path);
	path = xasprintf("%s/open.secret", dir);
	catest_write(path, "c2NlcGQtdGVzdC1zZWNyZXQ=\n", 0644);
	free(path);
	path = xasprintf("%s/bad.secret", dir);
	catest_write(path, "not base64 at all!\n", 0600);
	free(path);

	/* port 1 on loopback: nobody listens, the connection is refused at once */
	set = set_of("{ name = \"down\"; type = \"webhook\"; url = \"http://127.0.0.1:1/hook\"; "
	    "secret_file = \"good.secret\"; timeout = 2; }", err, sizeof(err));
	ok(set != NULL, "webhook validator built (%s)", err);
	if (set != NULL) {
		request(&rq, "TX-DOWN");
		is_int(validator_check(validator_find(set, "down"), &rq, &res), VALIDATOR_ERROR,
		    "an unreachable webhook refuses");
		ok(strstr(res.reason, "http://127.0.0.1:1/hook") != NULL, "reason names the URL (%s)",
		    res.reason);
		ok(res.seconds >= 0.9, "retried once after a second, as step-ca (%.2f s)",
		    res.seconds);
		validator_set_free(set);
	}
	set = set_of("{ name = \"open\"; type = \"webhook\"; url = \"https://127.0.0.1/\"; "
	    "secret_file = \"open.secret\"; }", err, sizeof(err));
	ok(set == NULL && strstr(err, "accessible by group or others") != NULL,
	    "a secret file others may read is refused (%s)", err);
	validator_set_free(set);
	set = set_of("{ name = \"bad\"; type = \"webhook\"; url = \"https://127.0.0.1/\"; "
	    "secret_file = \"bad.secret\"; }", err, sizeof(err));
	ok(set == NULL && strstr(err, "not a base64 secret") != NULL,
	    "a secret that is not base64 is refused (%s)", err);
	validator_set_free(set);
	set = set_of("{ name = \"nofile\"; type = \"webhook\"; url = \"https://127.0.0.1/\"; "
	    "secret_file = \"none.secret\"; }", err, sizeof(err));
	ok(set == NULL && strstr(err, "none.secret") != NULL, "a missing secret file is refused "
	    "(%s)", err);
	validator_set_free(set);
}

/* A webhook server that takes connections and never answers; counts them. */
struct mute {
	int fd;
	int accepted;
};

static void *mute_serve(void *arg)
{
	struct mute *m = arg;
	int c[8], n = 0, i;

	while (n < 8 && (c[n] = accept(m->fd, NULL, NULL)) >= 0) {
		m->accepted++;
		n++;
	}
	for (i = 0; i < n; i++)
		close(c[i]);
	return NULL;
}

/*
 * step-ca's webhook client asks once more after a transport error or a 5xx,
 * but not after its deadline passed (authority/provisioner/webhook.go:
 * context.DeadlineExceeded is returned at once), and its one deadline covers
 * both attempts: a webhook that does not answer in time is asked once, and
 * the check ends at validators.timeout.
 */
static void test_webhook_timeout(void)
{
	struct validator_request rq;
	struct validator_result res;
	struct validator_set *set;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct mute m = { -1, 0 };
	pthread_t t;
	int checked;
	char err[512], *conf;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((m.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(m.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(m.fd, 8) != 0 ||
	    getsockname(m.fd, (struct sockaddr *)&sa, &sl) != 0 ||
	    pthread_create(&t, NULL, mute_serve, &m) != 0) {
		ok(0, "a listening socket for the mute webhook");
		return;
	}
	conf = xasprintf("{ name = \"mute\"; type = \"webhook\"; url = "
	    "\"http://127.0.0.1:%d/hook\"; secret_file = \"good.secret\"; timeout = 1; }",
	    ntohs(sa.sin_port));
	set = set_of(conf, err, sizeof(err));
	free(conf);
	ok(set != NULL, "webhook validator for a server that never answers (%s)", err);
	if ((checked = set != NULL)) {
		request(&rq, "TX-MUTE");
		is_int(validator_check(validator_find(set, "mute"), &rq, &res), VALIDATOR_ERROR,
		    "a webhook that never answers refuses");
		/* 3 s when the retry gets a time-out of its own; a second of slack */
		ok(res.seconds < 2.0, "the check ends at validators.timeout (%.2f s)", res.seconds);
		validator_set_free(set);
	}
	shutdown(m.fd, SHUT_RDWR);
	close(m.fd);
	pthread_join(t, NULL);
	if (checked)   /* read once the server thread has ended */
		is_int(m.accepted, 1, "it is not asked again after the time-out, as step-ca");
}

int main(void)
{
	EVP_PKEY *key;
	unsigned char *der = NULL;
	int n;

	signal(SIGPIPE, SIG_DFL);
	/* a descriptor without close-on-exec the program must not get (allow.sh checks) */
	if (dup2(open("/dev/null", O_RDONLY), 47) != 47) {
		printf("Bail out! cannot open descriptor 47\n");
		return 1;
	}
	if ((dir = catest_tmpdir("validator")) == NULL || (key = catest_rsa()) == NULL ||
	    (csr = catest_csr(key, "CN=dev1.example,O=Lab", "otp-1234", "dev1.example")) == NULL ||
	    (n = i2d_X509_REQ(csr, &der)) <= 0) {
		printf("Bail out! no scratch folder, key or CSR\n");
		return 1;
	}
	csr_der = der;
	csr_len = (size_t)n;
	csr_key = key;
	test_signature();
	test_body();
	test_sigalg();
	test_exec();
	test_busy();
	test_webhook_setup();
	test_webhook_timeout();
	OPENSSL_free(csr_der);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	catest_rmrf(dir);
	free(dir);
	return done_testing();
}
