#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""intune_standin.py: a loopback stand-in for Entra ID, Microsoft Graph and
Intune's ScepRequestValidationFEService, after the wire contract in
reference/intune.md §1-§3 and the fake described in §6. It is strict: it
answers like the real services only when a request is exactly what they expect
(token grant and scope, Graph token for discovery, Intune token, api-version,
a fresh client-request-id GUID and the documented JSON body for the three
calls), and it mints and checks its own signed challenges in the documented
order. Test switches under /_test/ (mint, fault, config, calls).

Usage: intune_standin.py --tenant T --client-id ID [--client-secret-file F]
         [--client-cert PEM] [--expires-in 120] [--intune-resource URL]
         [--tls-cert PEM --tls-key PEM] [--port 0]
Prints the port it listens on (127.0.0.1) as its first line of output.

Needs python3-cryptography (CSR parsing, RS256 of the JWT client assertion).
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import ExtensionOID

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
SERVICE_PATH = "/RACerts/ScepRequestValidationFEService/Gateway/StatelessScepRequestValidationService"
MOVED_PATH = "/RACerts/v2/ScepRequestValidationFEService/Gateway/StatelessScepRequestValidationService"
API_VERSION = "2018-02-20"
CHALLENGE_LIFETIME = 3600          # intune.md §3: challengeExpInterval=60 (minutes)
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
UPN_OID = "1.3.6.1.4.1.311.20.2.3"
KU_NAMES = {
    "digitalSignature": "digital_signature", "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment", "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement", "keyCertSign": "key_cert_sign", "cRLSign": "crl_sign",
}
FAULTS = ("token401", "discovery403", "missing_entry", "500", "slow", "unknown_code",
          "badjson")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def strict_b64(s):
    """Standard padded base64 on one line, one encoding per value; else None."""
    if not isinstance(s, str) or not s or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", s) \
            or len(s) % 4:
        return None
    try:
        b = base64.b64decode(s, validate=True)
    except ValueError:
        return None
    return b if base64.b64encode(b).decode() == s else None


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.tenant = args.tenant
        self.client_id = args.client_id
        self.secret = None
        if args.client_secret_file:
            with open(args.client_secret_file) as f:
                self.secret = f.read().strip()
        self.cert = None
        if args.client_cert:
            with open(args.client_cert, "rb") as f:
                self.cert = x509.load_pem_x509_certificate(f.read())
        self.expires_in = args.expires_in
        self.intune_resource = args.intune_resource
        self.key = secrets.token_bytes(32)      # signs tokens and challenges
        self.base = None                         # scheme://127.0.0.1:port
        self.service_path = SERVICE_PATH
        self.faults = {}                         # name -> {"count": n|None, "call":, "delay":}
        self.targeted = True
        self.single_use = False
        self.used_challenges = set()
        self.request_ids = set()
        self.jtis = set()
        self.validated = {}                      # transactionId -> certificateRequest
        self.calls = []

    def fault(self, name, call=None):
        """The fault's settings when it applies to this call (and uses one count)."""
        f = self.faults.get(name)
        if f is None or (f["call"] and call and f["call"] != call):
            return None
        if f["count"] is not None:
            f["count"] -= 1
            if f["count"] <= 0:
                del self.faults[name]
        return f

    def sign(self, data):
        return hmac.new(self.key, data, hashlib.sha256).digest()

    def make_token(self, kind):
        now = int(time.time())
        claims = {"aud": kind, "tid": self.tenant, "appid": self.client_id,
                  "roles": ["Application.Read.All"] if kind == "graph" else
                  ["scep_challenge_provider"], "iat": now, "exp": now + self.expires_in,
                  "jti": secrets.token_hex(8)}
        head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps(claims).encode())
        sig = b64url(self.sign(f"{head}.{body}".encode()))
        return f"{head}.{body}.{sig}"

    def check_token(self, header, kind):
        """The claims of a valid Bearer token of this kind, or a reason string."""
        if not header or not header.startswith("Bearer "):
            return "no Bearer token"
        parts = header[7:].split(".")
        if len(parts) != 3:
            return "malformed token"
        try:
            if not hmac.compare_digest(b64url_decode(parts[2]),
                                       self.sign(f"{parts[0]}.{parts[1]}".encode())):
                return "bad token signature"
            claims = json.loads(b64url_decode(parts[1]))
        except ValueError:
            return "malformed token"
        if claims.get("aud") != kind:
            return f"token for {claims.get('aud')}, not {kind}"
        if claims.get("exp", 0) <= time.time():
            return "token expired"
        return claims


def minted(st, q):
    """A challenge: base64 of {"record": {...}, "sig": base64url HMAC}."""
    now = int(time.time()) + int(q.get("created", "0"))
    rec = {
        "tenant": q.get("tenant", st.tenant),
        "profile": q.get("profile", "profile-1"),
        "device": q.get("device", secrets.token_hex(8)),
        "user": q.get("user", "user-1"),
        "subject": q.get("subject", ""),
        "sans": [s for s in q.get("sans", "").split(",") if s],
        "ku": [k for k in q.get("ku", "").split(",") if k],
        "eku": [e for e in q.get("eku", "").split(",") if e],
        "minkey": int(q.get("minkey", "0")),
        "created": now,
        "expires": now + CHALLENGE_LIFETIME,
        "pad": "x" * int(q.get("pad", "0")),
    }
    text = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    sig = st.sign(text)
    if q.get("tamper") == "1":
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return base64.b64encode(json.dumps({"record": rec, "sig": b64url(sig)}).encode()).decode()


def csr_sans(csr):
    try:
        ext = csr.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return None
    out = []
    for n in ext.value:
        if isinstance(n, x509.DNSName):
            out.append("dns:" + n.value.lower())
        elif isinstance(n, x509.RFC822Name):
            out.append("email:" + n.value)
        elif isinstance(n, x509.UniformResourceIdentifier):
            out.append("uri:" + n.value)
        elif isinstance(n, x509.IPAddress):
            out.append("ip:" + str(n.value))
        elif isinstance(n, x509.OtherName) and n.type_id.dotted_string == UPN_OID:
            v = n.value      # DER UTF8String, short form
            out.append("upn:" + v[2:].decode("utf-8", "replace"))
        else:
            out.append("other:" + repr(n))
    return out


def challenge_password(csr):
    try:
        attrs = csr.attributes
        return attrs.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD).value
    except (AttributeError, x509.AttributeNotFound):
        return None


def validate(st, req_b64, claims):
    """validateRequest's checks in the order of intune.md §6: the first failing code."""
    der = strict_b64(req_b64)
    try:
        csr = x509.load_der_x509_csr(der) if der else None
        if csr is None or not csr.is_signature_valid:
            return "CertificateRequestDecodingFailed", "The certificate request cannot be decoded"
    except ValueError:
        return "CertificateRequestDecodingFailed", "The certificate request cannot be decoded"
    pw = challenge_password(csr)
    if pw is None or len(pw) == 0:
        return "ChallengePasswordMissing", "The request carries no challenge password"
    pw = pw.decode("utf-8", "replace") if isinstance(pw, bytes) else pw
    blob = strict_b64(pw)
    if blob is None:
        return "ChallengeDecodingError", "The challenge is not base64"
    try:
        outer = json.loads(blob)
        rec, sig = outer["record"], outer["sig"]
        for k in ("tenant", "subject", "sans", "ku", "eku", "minkey", "created", "expires"):
            rec[k]
        text = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        sigb = b64url_decode(sig)
    except (ValueError, KeyError, TypeError):
        return "ChallengeDeserializationError", "The challenge cannot be deserialized"
    if not hmac.compare_digest(sigb, st.sign(text)):
        return "SignatureValidationFailed", "The challenge signature is not valid"
    if rec["tenant"] != claims.get("tid"):
        return "BadTenantIdInChallenge", "The challenge was issued for another tenant"
    now = time.time()
    if rec["created"] > now + 60:
        return "ChallengeInvalidTimestamp", "The challenge was created in the future"
    if rec["expires"] != rec["created"] + CHALLENGE_LIFETIME or now > rec["expires"]:
        return ("ChallengeExpired", "SCEP challenge has expired. challengeExpInterval=60, "
                f"challengeExpiration={rec['expires']}, challengeCreation={rec['created']}")
    if not st.targeted:
        return ("ScepProfileNoLongerTargetedToTheClient",
                "The SCEP profile is no longer targeted to the device")
    subject = csr.subject.rfc4514_string()
    if rec["subject"]:
        if not subject:
            return "SubjectNameMissing", "The request has no subject name"
        if subject != rec["subject"]:
            return "SubjectNameMismatch", f"Subject {subject} is not {rec['subject']}"
    sans = csr_sans(csr)
    if rec["sans"]:
        if not sans:
            return "SubjectAltNameMissing", "The request has no subject alternative name"
        if sorted(sans) != sorted(s.lower() if s.startswith("dns:") else s for s in rec["sans"]):
            return "SubjectAltNameMismatch", f"SANs {sans} are not {rec['sans']}"
    elif sans:
        return "SubjectAltNameMismatch", f"SANs {sans} were not requested by the profile"
    if rec["ku"]:
        try:
            ku = csr.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
            have = {n for n, a in KU_NAMES.items() if getattr(ku, a)}
        except x509.ExtensionNotFound:
            have = set()
        if have != set(rec["ku"]):
            return "KeyUsageMismatch", f"Key usage {sorted(have)} is not {rec['ku']}"
    if csr.public_key().key_size < rec["minkey"]:
        return "KeyLengthMismatch", f"Key of {csr.public_key().key_size} bits < {rec['minkey']}"
    if rec["eku"]:
        try:
            eku = csr.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
        except x509.ExtensionNotFound:
            return "EnhancedKeyUsageMissing", "The request has no extended key usage"
        if {o.dotted_string for o in eku} != set(rec["eku"]):
            return "EnhancedKeyUsageMismatch", "The extended key usages differ from the profile"
    if st.single_use:
        if outer["sig"] in st.used_challenges:
            return "ChallengeExpired", "The challenge was used already (single use)"
        st.used_challenges.add(outer["sig"])
    return "Success", ""


NOTIFY_KEYS = {
    "validateRequest": ("request", {"transactionId", "certificateRequest", "callerInfo"}, set()),
    "successNotification": ("notification", {
        "transactionId", "certificateRequest", "certificateThumbprint",
        "certificateSerialNumber", "certificateExpirationDateUtc",
        "issuingCertificateAuthority", "callerInfo"}, {"caConfiguration", "certificateAuthority"}),
    "failureNotification": ("notification", {
        "transactionId", "certificateRequest", "hResult", "errorDescription", "callerInfo"},
        set()),
}


def body_error(call, body):
    """Why a body does not follow §3's schema, or None."""
    outer, need, optional = NOTIFY_KEYS[call]
    if not isinstance(body, dict) or set(body) != {outer} or not isinstance(body[outer], dict):
        return f"the body must be {{\"{outer}\": {{...}}}}"
    o = body[outer]
    if not need <= set(o):
        return f"missing {sorted(need - set(o))}"
    if set(o) - need - optional:
        return f"unknown members {sorted(set(o) - need - optional)}"
    for k in need - {"hResult"}:
        if not isinstance(o[k], str) or not o[k]:
            return f"{k} must be a non-empty string"
    for k in optional & set(o):
        if o[k] is not None and not isinstance(o[k], str):
            return f"{k} must be a string or null"
    if call == "successNotification":
        if not re.fullmatch(r"[0-9A-F]{40}", o["certificateThumbprint"]):
            return "certificateThumbprint must be 40 upper-case hex digits (SHA-1)"
        if not re.fullmatch(r"[0-9A-F]+", o["certificateSerialNumber"]):
            return "certificateSerialNumber must be upper-case hex"
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                            o["certificateExpirationDateUtc"]):
            return "certificateExpirationDateUtc must be ISO 8601 UTC"
    if call == "failureNotification":
        h = o["hResult"]
        if not isinstance(h, int) or isinstance(h, bool) or not -2**31 <= h < 2**31:
            return "hResult must be a 32-bit JSON integer"
        if len(o["errorDescription"]) > 255:
            return "errorDescription is longer than 255 characters"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "intune-standin"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, ctype="application/json"):
        # JSON ends with a newline, as many servers send it (RFC 8259 white space).
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_call(self, entry):
        entry["n"] = len(self.server.st.calls) + 1
        entry["time"] = time.time()
        self.server.st.calls.append(entry)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > 1024 * 1024:
            raise ValueError("body too large")
        return self.rfile.read(n)

    # --- routing ---------------------------------------------------------------
    def do_GET(self):
        st = self.server.st
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        with st.lock:
            if u.path.startswith("/_test/"):
                return self.test_switch(u.path, q)
            if u.path == f"/v1.0/servicePrincipals/appId={INTUNE_APP_ID}/endpoints":
                return self.discovery()
        self.answer(404, {"error": {"code": "NotFound", "message": "no such resource"}})

    def do_POST(self):
        st = self.server.st
        u = urllib.parse.urlsplit(self.path)
        try:
            raw = self.body()
        except ValueError:
            return self.answer(413, {"error": {"code": "RequestTooLarge", "message": ""}})
        if u.path == f"/{st.tenant}/oauth2/v2.0/token":
            delay = 0
            with st.lock:       # "slow" slows tokens only when named for them (call=token)
                if st.faults.get("slow", {}).get("call") == "token":
                    delay = st.fault("slow", "token")["delay"]
            if delay:
                time.sleep(delay)
            with st.lock:
                return self.token(raw)
        m = re.fullmatch(r"(.*)/ScepActions/(validateRequest|successNotification|"
                         r"failureNotification)", u.path)
        if m:
            delay = 0
            with st.lock:
                f = st.fault("slow", m.group(2))
                if f:
                    delay = f["delay"]
            if delay:
                time.sleep(delay)
            with st.lock:
                return self.scep_action(m.group(1), m.group(2), raw)
        if re.fullmatch(r"/[^/]+/oauth2/v2.0/token", u.path):
            with st.lock:
                self.log_call({"call": "token", "status": 400, "code": "invalid_tenant"})
            return self.answer(400, {"error": "invalid_request", "error_description":
                                     "AADSTS90002: Tenant not found."})
        self.answer(404, {"error": {"code": "NotFound", "message": "no such resource"}})

    # --- Entra ID ----------------------------------------------------------------
    def token_error(self, status, error, desc, entry):
        entry.update({"status": status, "code": error, "reason": desc})
        self.log_call(entry)
        self.answer(status, {"error": error, "error_description": desc})

    def check_assertion(self, jwt):
        st = self.server.st
        if st.cert is None:
            return "no certificate is registered for the application"
        try:
            h64, c64, s64 = jwt.split(".")
            head = json.loads(b64url_decode(h64))
            claims = json.loads(b64url_decode(c64))
            sig = b64url_decode(s64)
        except ValueError:
            return "the assertion is not a JWT"
        der = st.cert.public_bytes(serialization.Encoding.DER)
        if head.get("alg") != "RS256":
            return "alg must be RS256"
        if head.get("x5t") != b64url(hashlib.sha1(der).digest()):
            return "x5t is not the registered certificate's thumbprint"
        if "x5c" in head and head["x5c"] != [base64.b64encode(der).decode()]:
            return "x5c is not the registered certificate"
        try:
            st.cert.public_key().verify(sig, f"{h64}.{c64}".encode(), padding.PKCS1v15(),
                                        hashes.SHA256())
        except Exception:     # InvalidSignature
            return "the assertion's signature does not verify"
        now = time.time()
        if claims.get("aud") != f"{st.base}/{st.tenant}/oauth2/v2.0/token":
            return f"aud {claims.get('aud')} is not the token endpoint"
        if claims.get("iss") != st.client_id or claims.get("sub") != st.client_id:
            return "iss and sub must be the client id"
        if not claims.get("jti") or claims["jti"] in st.jtis:
            return "jti missing or replayed"
        for k in ("nbf", "exp"):
            if not isinstance(claims.get(k), int):
                return f"{k} must be an integer"
        if claims["nbf"] > now + 60 or claims["exp"] <= now or claims["exp"] - claims["nbf"] > 600:
            return "nbf/exp out of range"
        st.jtis.add(claims["jti"])
        return None

    def token(self, raw):
        st = self.server.st
        entry = {"call": "token"}
        if self.headers.get("Content-Type", "").split(";")[0].strip() != \
                "application/x-www-form-urlencoded":
            return self.token_error(400, "invalid_request", "form body expected", entry)
        try:
            form = urllib.parse.parse_qs(raw.decode(), strict_parsing=True)
        except (ValueError, UnicodeDecodeError):
            return self.token_error(400, "invalid_request", "bad form", entry)
        if any(len(v) != 1 for v in form.values()):
            return self.token_error(400, "invalid_request", "repeated parameter", entry)
        f = {k: v[0] for k, v in form.items()}
        entry["scope"] = f.get("scope")
        if st.fault("token401"):
            return self.token_error(401, "invalid_client",
                                    "AADSTS7000215: Invalid client secret provided.", entry)
        if f.get("grant_type") != "client_credentials":
            return self.token_error(400, "unsupported_grant_type", "client_credentials only",
                                    entry)
        if f.get("client_id") != st.client_id:
            return self.token_error(400, "unauthorized_client",
                                    "AADSTS700016: Application not found", entry)
        if "client_secret" in f and "client_assertion" not in f:
            entry["grant"] = "secret"
            if st.secret is None or not hmac.compare_digest(f["client_secret"].encode(),
                                                            st.secret.encode()):
                return self.token_error(401, "invalid_client",
                                        "AADSTS7000215: Invalid client secret provided.", entry)
        elif "client_assertion" in f and "client_secret" not in f:
            entry["grant"] = "assertion"
            if f.get("client_assertion_type") != \
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return self.token_error(400, "invalid_request", "bad client_assertion_type",
                                        entry)
            why = self.check_assertion(f["client_assertion"])
            if why:
                return self.token_error(401, "invalid_client", "AADSTS700027: " + why, entry)
        else:
            return self.token_error(400, "invalid_request",
                                    "exactly one of client_secret, client_assertion", entry)
        res = st.intune_resource.rstrip("/")
        scopes = {f"{st.base}/.default": "graph", f"{res}//.default": "intune",
                  f"{res}/.default": "intune"}
        kind = scopes.get(f.get("scope"))
        if kind is None:
            return self.token_error(400, "invalid_scope",
                                    f"AADSTS70011: scope {f.get('scope')} is not valid", entry)
        entry.update({"status": 200, "kind": kind, "expires_in": st.expires_in})
        self.log_call(entry)
        self.answer(200, {"token_type": "Bearer", "expires_in": st.expires_in,
                          "ext_expires_in": st.expires_in,
                          "access_token": st.make_token(kind)})

    # --- Graph -------------------------------------------------------------------
    def discovery(self):
        st = self.server.st
        entry = {"call": "discovery", "client-request-id": self.headers.get("client-request-id")}
        claims = st.check_token(self.headers.get("Authorization"), "graph")
        status, obj = 200, None
        if isinstance(claims, str):
            status, obj = 401, {"error": {"code": "InvalidAuthenticationToken", "message": claims}}
        elif not GUID_RE.match(self.headers.get("client-request-id") or ""):
            status, obj = 400, {"error": {"code": "BadRequest",
                                          "message": "client-request-id must be a GUID"}}
        elif st.fault("discovery403"):
            status, obj = 403, {"error": {"code": "Authorization_RequestDenied", "message":
                                          "Insufficient privileges to complete the operation."}}
        else:
            value = [{"id": "1", "capability": "RevocationService", "providerId": INTUNE_APP_ID,
                      "providerName": "PkiConnectorFEService", "providerResourceId": "x",
                      "uri": st.base + "/RACerts/PkiConnectorFEService"}]
            if not st.fault("missing_entry"):
                value.append({"id": "2", "capability": "ScepRequestValidation",
                              "providerId": INTUNE_APP_ID,
                              "providerName": "ScepRequestValidationFEService",
                              "providerResourceId": "y", "uri": st.base + st.service_path})
            obj = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#endpoints",
                   "value": value}
        entry["status"] = status
        self.log_call(entry)
        self.answer(status, obj)

    # --- Intune --------------------------------------------------------------------
    def scep_action(self, prefix, call, raw):
        st = self.server.st
        entry = {"call": call, "api-version": self.headers.get("api-version"),
                 "client-request-id": self.headers.get("client-request-id"),
                 "content-type": self.headers.get("Content-Type")}

        def reply(status, obj, code=None):
            entry.update({"status": status, "code": code})
            self.log_call(entry)
            if isinstance(obj, bytes):
                return self.answer(status, obj, "text/plain")
            return self.answer(status, obj)

        if prefix != st.service_path:
            return reply(404, {"error": {"code": "NotFound", "message": "no such service"}})
        claims = st.check_token(self.headers.get("Authorization"), "intune")
        if isinstance(claims, str):
            return reply(401, {"error": {"code": "Unauthorized", "message": claims}})
        if self.headers.get("api-version") != API_VERSION:
            return reply(400, {"error": {"code": "BadRequest", "message": "api-version"}})
        rid = self.headers.get("client-request-id") or ""
        if not GUID_RE.match(rid) or rid.lower() in st.request_ids:
            return reply(400, {"error": {"code": "BadRequest",
                                         "message": "client-request-id must be a fresh GUID"}})
        st.request_ids.add(rid.lower())
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return reply(415, {"error": {"code": "BadRequest", "message": "application/json"}})
        try:
            body = json.loads(raw)
        except ValueError:
            return reply(400, {"error": {"code": "BadRequest", "message": "not JSON"}})
        why = body_error(call, body)
        entry["body"] = body
        if why:
            entry["reason"] = why
            return reply(400, {"error": {"code": "BadRequest", "message": why}})
        if st.fault("500", call):
            return reply(500, {"error": {"code": "InternalError",
                                         "message": "An internal error has occurred"}})
        if st.fault("badjson", call):
            return reply(200, b"<html>not json</html>")
        o = body[NOTIFY_KEYS[call][0]]
        if call == "validateRequest":
            code, desc = validate(st, o["certificateRequest"], claims)
            if code == "Success":
                st.validated[o["transactionId"]] = o["certificateRequest"]
        elif st.validated.get(o["transactionId"]) == o["certificateRequest"]:
            code, desc = "Success", ""
        else:
            code, desc = "TransactionNotValidated", "No validated request has this transactionId"
        if st.fault("unknown_code", call):
            code, desc = "SomeFutureErrorCode", "A code this client does not know"
        entry["reason"] = desc
        reply(200, {"code": code, "errorDescription": desc,
                    "@odata.context": st.base + prefix + "/$metadata#Edm.String"}, code)

    # --- test switches ---------------------------------------------------------------
    def test_switch(self, path, q):
        st = self.server.st
        if path == "/_test/mint":
            return self.answer(200, minted(st, q).encode(), "text/plain")
        if path == "/_test/calls":
            if q.get("clear") == "1":
                st.calls = []
            return self.answer(200, st.calls)
        if path == "/_test/fault":
            if q.get("clear") == "1":
                st.faults = {}
            elif q.get("name") in FAULTS:
                st.faults[q["name"]] = {"count": int(q["count"]) if "count" in q else None,
                                        "call": q.get("call"),
                                        "delay": float(q.get("delay", "0"))}
            else:
                return self.answer(400, {"error": f"faults: {FAULTS}"})
            return self.answer(200, {"faults": st.faults})
        if path == "/_test/config":
            if "expires_in" in q:
                st.expires_in = int(q["expires_in"])
            if "targeted" in q:
                st.targeted = q["targeted"] == "1"
            if "single_use" in q:
                st.single_use = q["single_use"] == "1"
            if q.get("move") == "1":
                st.service_path = MOVED_PATH if st.service_path == SERVICE_PATH else SERVICE_PATH
            return self.answer(200, {"expires_in": st.expires_in, "targeted": st.targeted,
                                     "single_use": st.single_use,
                                     "service_path": st.service_path})
        return self.answer(404, {"error": "unknown test switch"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (time-out tests) is not an error of the stand-in.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret-file")
    ap.add_argument("--client-cert")
    ap.add_argument("--expires-in", type=int, default=120)
    ap.add_argument("--intune-resource", default="https://api.manage.microsoft.com/")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.st = State(args)
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    port = srv.server_address[1]
    srv.st.base = f"{scheme}://127.0.0.1:{port}"
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
