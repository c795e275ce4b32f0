/* SPDX-License-Identifier: ISC */
/*
 * intune.h: scepd as a client of Microsoft Intune's SCEP challenge validation
 * (reference: intune.md §1-§4). An Entra ID client-credentials token (client
 * secret, or a certificate and its key signing a JWT client assertion), Graph
 * discovery of ScepRequestValidationFEService, then validateRequest,
 * successNotification and failureNotification. Thread-safe: one struct intune
 * serves every thread; tokens (per scope) and the discovered address are
 * cached under a mutex. It logs nothing and never puts a secret in a reason.
 */
#ifndef INTUNE_H
#define INTUNE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

struct intune_settings {
	const char *tenant;              /* contoso.onmicrosoft.com or a GUID; required */
	const char *client_id;           /* the Entra application's id; required */
	const char *client_secret;       /* the secret's value, or NULL with a certificate */
	const char *client_cert_file;    /* PEM certificate of the application (JWT assertion) */
	const char *client_key_file;     /* its PEM RSA private key */
	const char *authority_url;       /* NULL: https://login.microsoftonline.com/ */
	const char *graph_url;           /* NULL: https://graph.microsoft.com/ */
	const char *intune_resource_url; /* NULL: https://api.manage.microsoft.com/ */
	const char *proxy;               /* NULL: none; else a libcurl proxy URL */
	const char *ca_file;             /* NULL: the system's trust anchors */
	const char *provider;            /* callerInfo; NULL: "scepd/VERSION" */
	long timeout_ms;                 /* each call, its tokens and discovery included; 0: 30000 */
};

struct intune_outcome {
	int allowed;          /* 1 only for code "Success" on HTTP 200 with valid JSON */
	int http_status;      /* of the Intune call, 0 when none was answered */
	char code[64];        /* Intune's code ("Success", "ChallengeExpired", ...) or "" */
	char reason[256];     /* Intune's errorDescription, or why the call failed */
};

/*
 * Checks the settings (a base URL is https://, or http:// for a loopback host
 * only; a secret or a certificate and key) and loads the certificate and key.
 * NULL with a reason.
 */
struct intune *intune_new(const struct intune_settings *s, char *err, size_t errlen);

/*
 * The three calls. 0 when Intune answered (any HTTP status) and *out is
 * filled; -1 when it could not be asked or its answer is not the documented
 * JSON (token, discovery, connection, time-out), with out->reason set. Only
 * out->allowed == 1 permits issuance (validate) or delivery (success).
 * csr_der is the PKCS#10 from the decrypted envelope; txid the SCEP
 * transactionID.
 */
int intune_validate(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, struct intune_outcome *out);
int intune_notify_success(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, X509 *cert, struct intune_outcome *out);
int intune_notify_failure(struct intune *in, const char *txid, const unsigned char *csr_der,
    size_t csr_len, int32_t hresult, const char *description, struct intune_outcome *out);

void intune_free(struct intune *in);

#endif
