#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""webhook_receiver.py: a stand-in for a step-ca SCEPCHALLENGE webhook server
(and a NOTIFYING one), as strict as one written for step-ca: every POST must
carry Content-Type application/json, X-Smallstep-Webhook-ID equal to --id and
X-Smallstep-Signature equal to the lower-case hex HMAC-SHA256 of the exact body
keyed by the base64-decoded --secret (compared in constant time); the body must
be a JSON object with the fields step-ca sends (timestamp in RFC 3339,
provisionerName, scepTransactionID, x509CertificateRequest with a raw DER
request that parses and whose subject matches the parsed subject, and a
signatureAlgorithm step-ca's x509util decodes; plus scepChallenge on
/challenge; x509Certificate or scepErrorCode and
scepErrorDescription on /notify). Anything else is answered 400 with the reason.

/challenge answers per the rules file (JSON, read on every request), keyed by
scepChallenge: "allow" -> {"allow": true}; "deny" -> {"allow": false, "error":
{...}}; "500" -> HTTP 500; "sleep:N" -> wait N seconds, then allow; "garbage"
-> 200 with a body that is not JSON. A challenge not in the rules is denied.
/notify answers {} (200).

Every request is appended as one JSON line to --log: {"path", "verdict"
(what was answered: allow, deny, 500, garbage, 400, notified), "reason" (for
400), "body" (the parsed body, or null)}.

With --tls-cert and --tls-key it speaks HTTPS only; with --client-ca too, a
client certificate issued by that CA is required (the TLS handshake fails
without one).

Usage: webhook_receiver.py --port P --secret B64 --id ID --rules FILE --log FILE
       [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import re
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
# The names step-ca's x509util.SignatureAlgorithm decodes ("" is Go's unknown
# algorithm); a Go webhook server decoding the body refuses any other.
GO_SIGALGS = ("", "MD2-RSA", "MD5-RSA", "SHA1-RSA", "SHA256-RSA", "SHA384-RSA", "SHA512-RSA",
              "SHA256-RSAPSS", "SHA384-RSAPSS", "SHA512-RSAPSS", "DSA-SHA1", "DSA-SHA256",
              "ECDSA-SHA1", "ECDSA-SHA256", "ECDSA-SHA384", "ECDSA-SHA512", "Ed25519")
log_lock = threading.Lock()


class Refuse(Exception):
    pass


def need(cond, why):
    if not cond:
        raise Refuse(why)


def check_rfc3339(s):
    need(isinstance(s, str), "timestamp is not a string")
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise Refuse("timestamp %r is not RFC 3339" % s)
    need("T" in s and (s.endswith("Z") or "+" in s[10:] or "-" in s[10:]),
         "timestamp %r has no time zone" % s)


def check_csr(req):
    need(isinstance(req, dict), "x509CertificateRequest is not an object")
    raw = req.get("raw")
    need(isinstance(raw, str), "x509CertificateRequest.raw missing")
    try:
        der = base64.b64decode(raw, validate=True)
    except ValueError as e:
        raise Refuse("x509CertificateRequest.raw is not base64: %s" % e)
    # OpenSSL, as lenient as Go's crypto/x509 that step-ca servers use (strongSwan
    # sends its attributes in a SET that is not in DER order): parse and verify
    # the self-signature.
    p = subprocess.run(["openssl", "req", "-inform", "DER", "-noout", "-verify", "-subject",
                        "-nameopt", "multiline,utf8,-esc_msb"], input=der,
                       capture_output=True, timeout=20)
    need(p.returncode == 0, "x509CertificateRequest.raw is not a valid DER request: %s" %
         p.stderr.decode(errors="replace").strip()[:200])
    subj = req.get("subject")
    need(isinstance(subj, dict), "x509CertificateRequest.subject missing")
    cns = re.findall(r"^\s*commonName\s*=\s*(.*)$", p.stdout.decode(), re.M)
    if cns:
        need(subj.get("commonName") == cns[0],
             "subject.commonName %r is not the request's %r" % (subj.get("commonName"), cns[0]))
    need(req.get("signatureAlgorithm") in GO_SIGALGS,
         "signatureAlgorithm %r is not a name step-ca decodes" % req.get("signatureAlgorithm"))
    need(req.get("publicKeyAlgorithm") in ("RSA", "ECDSA", "Ed25519"),
         "publicKeyAlgorithm %r" % req.get("publicKeyAlgorithm"))
    need(isinstance(req.get("publicKey"), str), "publicKey missing")


def check_cert(c):
    need(isinstance(c, dict), "x509Certificate is not an object")
    try:
        der = base64.b64decode(c.get("raw", ""), validate=True)
    except ValueError as e:
        raise Refuse("x509Certificate.raw is not base64: %s" % e)
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                       capture_output=True, timeout=20)
    m = re.match(r"serial=([0-9A-Fa-f]+)\s*$", p.stdout.decode())
    need(p.returncode == 0 and m, "x509Certificate.raw is not a DER certificate")
    serial = int(m.group(1), 16)
    need(c.get("serialNumber") == str(serial),
         "x509Certificate.serialNumber %r is not the certificate's %d" %
         (c.get("serialNumber"), serial))
    check_rfc3339(c.get("notBefore"))
    check_rfc3339(c.get("notAfter"))
    need(c.get("signatureAlgorithm") in GO_SIGALGS,
         "x509Certificate.signatureAlgorithm %r is not a name step-ca decodes" %
         c.get("signatureAlgorithm"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, verdict, body, reason=None):
        line = json.dumps({"path": self.path, "verdict": verdict, "reason": reason, "body": body})
        with log_lock:
            with open(self.server.opts.log, "a") as f:
                f.write(line + "\n")

    def answer(self, status, obj=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record("400", None, "GET")
        self.answer(400, {"error": "POST only"})

    def do_POST(self):
        o = self.server.opts
        body = None
        try:
            n = self.headers.get("Content-Length")
            need(n is not None and n.isdigit() and int(n) <= MAX_BODY, "bad Content-Length")
            raw = self.rfile.read(int(n))
            need(self.path in ("/challenge", "/notify"), "unknown path %s" % self.path)
            need((self.headers.get("Content-Type") or "").split(";")[0].strip() ==
                 "application/json", "Content-Type %r" % self.headers.get("Content-Type"))
            need(self.headers.get("X-Smallstep-Webhook-ID") == o.id,
                 "X-Smallstep-Webhook-ID %r" % self.headers.get("X-Smallstep-Webhook-ID"))
            want = hmac.new(o.key, raw, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Smallstep-Signature") or ""
            need(hmac.compare_digest(want, got), "bad X-Smallstep-Signature")
            try:
                body = json.loads(raw)
            except ValueError:
                raise Refuse("the body is not JSON")
            need(isinstance(body, dict), "the body is not a JSON object")
            check_rfc3339(body.get("timestamp"))
            need(isinstance(body.get("provisionerName"), str) and body["provisionerName"],
                 "provisionerName missing")
            need(isinstance(body.get("scepTransactionID"), str) and body["scepTransactionID"],
                 "scepTransactionID missing")
            check_csr(body.get("x509CertificateRequest"))
            if self.path == "/notify":
                need("scepChallenge" not in body, "a notification carries the challenge")
                if "x509Certificate" in body:
                    check_cert(body["x509Certificate"])
                else:
                    need(isinstance(body.get("scepErrorCode"), int) and
                         isinstance(body.get("scepErrorDescription"), str),
                         "a notification without x509Certificate or scepErrorCode")
                self.record("notified", body)
                self.answer(200, {})
                return
            need(isinstance(body.get("scepChallenge"), str), "scepChallenge missing")
        except Refuse as e:
            self.record("400", body, str(e))
            self.answer(400, {"error": str(e)})
            return
        try:
            with open(o.rules) as f:
                rules = json.load(f)
        except (OSError, ValueError):
            rules = {}
        rule = rules.get(body["scepChallenge"], "deny")
        if rule.startswith("sleep:"):
            time.sleep(float(rule[6:]))
            rule = "allow"
        self.record(rule, body)
        if rule == "allow":
            self.answer(200, {"allow": True})
        elif rule == "500":
            self.answer(500, {"error": "internal"})
        elif rule == "garbage":
            self.answer(200, raw=b"<html>not json</html>")
        else:
            self.answer(200, {"allow": False, "error": {"code": "denied",
                                                        "message": "unknown device"}})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca")
    o = p.parse_args()
    o.key = base64.b64decode(o.secret, validate=True)
    srv = ThreadingHTTPServer(("127.0.0.1", o.port), Handler)
    if o.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(o.tls_cert, o.tls_key)
        if o.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(o.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.opts = o
    srv.serve_forever()


if __name__ == "__main__":
    main()
