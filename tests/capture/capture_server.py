#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/capture/capture_server.py: records the PKIOperation a real SCEP client sends.

It serves just enough SCEP for a client to build its request, on loopback:

  GET  ?operation=GetCACaps     text/plain, one capability per CRLF-terminated line
  GET  ?operation=GetCACert     the lab chain (tests/data/clients/lab/getcacert.der)
                                as application/x-x509-ca-ra-cert
  POST ?operation=PKIOperation  the body is saved as LABEL/request.der
  GET  ?operation=PKIOperation&message=...
                                the raw query as LABEL/request.query, the decoded
                                message as LABEL/request.der

and answers every PKIOperation with HTTP 500 so the client gives up at once: only
the request is wanted. LABEL/request.json records the method, path, headers, the
decoding the GET message needed, the SHA-256 of request.der and the operations the
client made before. A later PKIOperation in the same run is saved as request-2.*,
request-3.*, ... It owns nothing else: it never decrypts or judges a request
(tests/capture/capture.sh does that with openssl).

usage: capture_server.py LABEL [--port N | --port-file FILE] [--bind ADDR]
                         [--dir DIR] [--getcacert FILE] [--no-post] [--caps A,B,...]

--port-file: listen on a port the kernel picks and write its number to FILE once
the socket listens (no race with other tests, and the file's presence says ready).
Python 3 standard library only.
"""

import argparse
import base64
import binascii
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_CHAIN = os.path.join(TOP, "tests", "data", "clients", "lab", "getcacert.der")
CAPS = ["POSTPKIOperation", "Renewal", "SHA-512", "SHA-384", "SHA-256", "SHA-1",
        "AES", "DES3", "SCEPStandard"]
BODY_LIMIT = 1 << 20


class Recorder:
    """Numbering, history and the output folder of one client label."""

    def __init__(self, folder, caps, chain):
        self.folder, self.caps, self.chain = folder, caps, chain
        self.lock = threading.Lock()
        self.saved = 0
        self.seen = []

    def stem(self):
        with self.lock:
            self.saved += 1
            return "request" if self.saved == 1 else "request-%d" % self.saved

    def remember(self, op):
        """Records op and returns the operations made before it."""
        with self.lock:
            before = list(self.seen)
            self.seen.append(op)
            return before


def query_pairs(raw):
    """(name, raw value) pairs of a query string; values stay escaped."""
    out = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            out.append((urllib.parse.unquote(name), value))
    return out


def message_bytes(raw):
    """Decodes a GET message= value leniently; returns (bytes or None, how)."""
    how = {"raw_length": len(raw), "percent_escapes": "%" in raw,
           "literal_plus": "+" in raw}
    text = urllib.parse.unquote_to_bytes(raw)
    how["line_breaks"] = b"\r" in text or b"\n" in text
    how["spaces"] = b" " in text
    text = bytes(c for c in text if c not in b"\r\n ")
    try:
        how["base64"] = "standard"
        return base64.b64decode(text, validate=True), how
    except (binascii.Error, ValueError) as e:
        how["base64"] = "failed: %s" % e
    try:
        data = base64.b64decode(text + b"=" * (-len(text) % 4), altchars=b"-_",
                                validate=True)
        how["base64"] = "url-safe alphabet"
        return data, how
    except (binascii.Error, ValueError) as e:
        how["base64"] += "; url-safe also failed: %s" % e
    return None, how


def body_bytes(handler):
    """The request body (Content-Length or chunked) and how it was framed."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        parts, total = [], 0
        while True:
            size = int(handler.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"", b"\n", b"\r\n"):
                    pass
                return b"".join(parts), "chunked"
            total += size
            if total > BODY_LIMIT:
                raise ValueError("body over %d bytes" % BODY_LIMIT)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline(1024)
    n = int(handler.headers.get("Content-Length") or 0)
    if n > BODY_LIMIT:
        raise ValueError("body over %d bytes" % BODY_LIMIT)
    return handler.rfile.read(n), "content-length"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scepd-capture/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), (fmt % args)[:200]))

    def answer(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        rec = self.server.recorder
        path, _, raw = self.path.partition("?")
        pairs = query_pairs(raw)
        params = dict(pairs)
        op = urllib.parse.unquote(params.get("operation", ""))
        before = rec.remember({"method": self.command, "operation": op, "path": path})
        if op == "GetCACaps":
            self.answer(200, "text/plain", "".join(c + "\r\n" for c in rec.caps).encode())
        elif op == "GetCACert":
            with open(rec.chain, "rb") as f:
                self.answer(200, "application/x-x509-ca-ra-cert", f.read())
        elif op == "PKIOperation":
            self.record(rec, path, raw, pairs, params, before)
        else:
            self.answer(400, "text/plain", b"unknown operation\n")

    def record(self, rec, path, raw, pairs, params, before):
        side = {"label": os.path.basename(rec.folder),
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "method": self.command, "request_version": self.request_version,
                "path": path, "operation": "PKIOperation",
                "user_agent": self.headers.get("User-Agent"),
                "content_type": self.headers.get("Content-Type"),
                "headers": dict(self.headers.items()),
                "earlier_operations": before, "files": {}}
        stem = rec.stem()
        os.makedirs(rec.folder, exist_ok=True)
        try:
            if self.command == "POST":
                der, side["body_framing"] = body_bytes(self)
                side["body_length"] = len(der)
            else:
                der, side["message_decoding"] = message_bytes(params.get("message", ""))
                side["query_length"] = len(raw)
                side["query_parameters"] = sorted(n for n, _ in pairs)
                with open(os.path.join(rec.folder, stem + ".query"), "w") as f:
                    f.write(raw)
                side["files"]["query"] = stem + ".query"
        except ValueError as e:
            self.answer(413, "text/plain", ("%s\n" % e).encode())
            return
        if der is not None:
            with open(os.path.join(rec.folder, stem + ".der"), "wb") as f:
                f.write(der)
            side["files"]["der"] = stem + ".der"
            side["der_length"] = len(der)
            side["der_sha256"] = hashlib.sha256(der).hexdigest()
        with open(os.path.join(rec.folder, stem + ".json"), "w") as f:
            json.dump(side, f, indent=2)
            f.write("\n")
        sys.stderr.write("saved %s/%s.*\n" % (rec.folder, stem))
        self.answer(500, "text/plain", b"captured; this server issues nothing\n")


def main():
    ap = argparse.ArgumentParser(description="records a SCEP client's PKIOperation")
    ap.add_argument("label", help="captures go to DIR/LABEL/")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here when ready")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--dir", default=os.getcwd())
    ap.add_argument("--getcacert", default=LAB_CHAIN)
    ap.add_argument("--no-post", action="store_true",
                    help="leave out POSTPKIOperation and SCEPStandard (RFC 8894 3.5.2)")
    ap.add_argument("--caps", help="comma-separated capabilities replacing the default")
    a = ap.parse_args()
    caps = a.caps.split(",") if a.caps else list(CAPS)
    if a.no_post:
        caps = [c for c in caps if c not in ("POSTPKIOperation", "SCEPStandard")]
    srv = http.server.ThreadingHTTPServer((a.bind, a.port), Handler)
    srv.recorder = Recorder(os.path.join(a.dir, a.label), caps, a.getcacert)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    sys.stderr.write("capturing %s on %s:%d\n" % (a.label, a.bind, port))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
