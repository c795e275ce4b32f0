#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""ndes_admin.py: helpers for t_admin.sh (Python 3 standard library, plus the
Debian packages python3-requests-ntlm / python3-ntlm-auth where noted).

  scrape FILE VALIDITY [static HEXLEN]
      Runs the parse rules of every open-source NDES scraper listed in
      ndes.md 1.7 over a saved mscep_admin page and prints one line per
      scraper: "ok NAME PASSWORD" or "fail NAME WHY". HEXLEN is the
      PowerShell script's -PasswordLength times 2 (default 16; an operator
      with a longer static password sets it to match).
  requests URL USER PASSWORD OUT
      Fetches the page with requests + requests_ntlm (HttpNtlmAuth), as the
      anonymous NDES helper and the nornir/Junos script do; prints the status.
  raw URL USER PASSWORD OUT MODE
      NTLM exchanges no packaged client sends in this form, built with
      ntlm_auth on http.client connections (go-ntlmssp / Fleet shapes):
        negotiate-raw   anonymous probe, then a bare NTLMSSP token under the
                        Negotiate scheme on the same keep-alive connection,
                        then a second request on it without credentials
        ntlm-proactive  NTLM NEGOTIATE on the very first request of a connection
        other-conn      NEGOTIATE on one connection, AUTHENTICATE on another
        spnego-krb5-first  SPNEGO offering Kerberos first with an optimistic
                        Kerberos token (as Windows does), then NTLM in
                        NegTokenResp tokens once the server asks for it
      Prints "status ..." lines; the page goes to OUT.
"""
import base64
import html.parser
import re
import sys
import urllib.parse


def decode_fleet(raw):
    """Fleet decodeHTMLResponse: UTF-16LE on BOM, '<\\0', or mostly-NUL odd bytes."""
    if raw[:2] == b"\xff\xfe":
        return raw[2:].decode("utf-16-le")
    if len(raw) >= 2 and raw[0:1] == b"<" and raw[1] == 0:
        return raw.decode("utf-16-le")
    odd = raw[1:100:2]
    if odd and sum(1 for b in odd if b == 0) >= 0.9 * len(odd):
        return raw.decode("utf-16-le")
    return raw.decode("utf-8")


class LowerTags(html.parser.HTMLParser):
    """Re-serialises a page with lower-case tag names, as BeautifulSoup does."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []

    def handle_starttag(self, tag, attrs):
        self.out.append("<%s>" % tag)

    def handle_endtag(self, tag):
        self.out.append("</%s>" % tag)

    def handle_data(self, data):
        self.out.append(data)


def scrape(path, validity, static, hexlen=16):
    raw = open(path, "rb").read()
    results = []

    def rule(name, fn):
        try:
            pw = fn()
            results.append(("ok", name, pw) if pw else ("fail", name, "no password found"))
        except Exception as e:  # a scraper that raises is a failure, not a crash
            results.append(("fail", name, "%s: %s" % (type(e).__name__, e)))

    def fleet():
        text = decode_fleet(raw)
        if "The password cache is full." in text or \
                "You do not have sufficient permission to enroll with SCEP." in text:
            raise ValueError("error page")
        m = re.search(r"(?i)The enrollment challenge password is: <B> (?P<password>\S*)", text)
        return m and m.group("password")

    def zentral():
        text = raw.decode("utf-16")
        for m in re.finditer(r"challenge password is: <B> ([A-Z0-9]{16,32}) </B>", text):
            return m.group(1)
        return None

    def powershell():
        # [System.Text.Encoding]::Unicode.GetString(): UTF-16LE, the BOM kept as U+FEFF;
        # Select-String is case-insensitive and takes the first match anywhere.
        text = raw.decode("utf-16-le")
        m = re.search(r"(?i)[A-F0-9]{%d}" % hexlen, text)
        return m and m.group(0)

    def relay():
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            text = raw[:-1].decode("utf-16")
        if "Network Device Enrollment Service" not in text:
            raise ValueError("no title text")
        if "You do not have sufficient permission" in text or \
                "The password cache is full" in text:
            raise ValueError("error page")
        if "will not expire" in text:
            if not static:
                raise ValueError("static-password page unexpected")
        else:
            start = text.index("will expire within ") + len("will expire within ")
            minutes = text[start:text.rindex(" minutes")]
            if int(minutes) != validity:
                raise ValueError("validity %r != %d" % (minutes, validity))
        start = text.index("password is: <B> ") + len("password is: <B> ")
        return text[start:text.rindex("</B>")].strip()

    def hpe_ilo():
        text = raw.decode("utf-16")
        for tok in text.split():
            if re.match(r"^[A-F0-9]{16}", tok):
                return tok
        return None

    def split_gt(label):
        text = raw.decode("UTF-16")
        parts = text.split(">")
        for i, p in enumerate(parts):
            if p.endswith(label) and i + 1 < len(parts):
                return parts[i + 1].replace("</B", "").strip()
        return None

    def anon_python():
        if "cache is full" in raw.decode("UTF-16"):
            raise ValueError("cache full")
        tp = split_gt("The thumbprint (hash value) for the CA certificate is: <B")
        if not tp or not re.fullmatch(r"[0-9A-F]{8}( [0-9A-F]{8}){3}", tp):
            raise ValueError("thumbprint %r" % tp)
        return split_gt("The enrollment challenge password is: <B")

    def nornir():
        p = LowerTags()
        p.feed(raw.decode("utf-16"))
        text = "".join(p.out)
        m = re.search(r"The enrollment challenge password is: <b> ([A-Z0-9]+) ", text)
        return m and m.group(1)

    rule("fleet", fleet)
    rule("zentral", zentral)
    rule("powershell", powershell)
    rule("ntlm-relay", relay)
    rule("hpe-ilo", hpe_ilo)
    rule("python-split", anon_python)
    rule("nornir-soup", nornir)
    for r in results:
        print(" ".join(str(x) for x in r))


def fetch_requests(url, user, password, out):
    import requests
    from requests_ntlm import HttpNtlmAuth
    s = requests.Session()
    r = s.get(url, auth=HttpNtlmAuth(user, password), timeout=20)
    open(out, "wb").write(r.content)
    print("status", r.status_code, r.headers.get("Content-Type"))


def fetch_raw(url, user, password, out, mode):
    import http.client
    import struct
    from ntlm_auth.ntlm import NtlmContext

    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")

    def conn():
        return http.client.HTTPConnection(u.hostname, u.port, timeout=20)

    def get(c, auth=None):
        h = {"Connection": "Keep-Alive"}
        if auth:
            h["Authorization"] = auth
        c.request("GET", path, headers=h)
        r = c.getresponse()
        body = r.read()
        return r, body

    def token(r, scheme):
        for k, v in r.getheaders():
            if k.lower() == "www-authenticate" and v.startswith(scheme + " "):
                return base64.b64decode(v[len(scheme) + 1:])
        raise ValueError("no %s token in the 401" % scheme)

    if "\\" in user:
        dom, user = user.split("\\", 1)
    else:
        dom = ""
    ctx = NtlmContext(user, password, dom, "IT-WS", ntlm_compatibility=3)
    if mode == "negotiate-raw":
        c = conn()
        r, _ = get(c)
        offered = [v for k, v in r.getheaders() if k.lower() == "www-authenticate"]
        print("status probe", r.status, "|".join(offered))
        r, _ = get(c, "Negotiate " + base64.b64encode(ctx.step()).decode())
        t2 = token(r, "Negotiate")
        print("status type2", r.status, "NTLMSSP" if t2.startswith(b"NTLMSSP\0") else "?")
        r, body = get(c, "Negotiate " + base64.b64encode(ctx.step(t2)).decode())
        print("status type3", r.status, r.getheader("Content-Type"))
        open(out, "wb").write(body)
        r, body2 = get(c)
        print("status again", r.status, r.getheader("Content-Type"))
        open(out + ".again", "wb").write(body2)
        c.close()
    elif mode == "ntlm-proactive":
        c = conn()
        r, _ = get(c, "NTLM " + base64.b64encode(ctx.step()).decode())
        t2 = token(r, "NTLM")
        print("status type2", r.status, "NTLMSSP" if t2.startswith(b"NTLMSSP\0") else "?")
        r, body = get(c, "NTLM " + base64.b64encode(ctx.step(t2)).decode())
        print("status type3", r.status, r.getheader("Content-Type"))
        open(out, "wb").write(body)
        c.close()
    elif mode == "other-conn":
        a = conn()
        r, _ = get(a, "NTLM " + base64.b64encode(ctx.step()).decode())
        t2 = token(r, "NTLM")
        b = conn()
        r, body = get(b, "NTLM " + base64.b64encode(ctx.step(t2)).decode())
        print("status type3", r.status)
        open(out, "wb").write(body)
        a.close()
        b.close()
    elif mode == "spnego-krb5-first":
        def tlv(tag, body):
            n = len(body)
            if n < 128:
                ln = bytes([n])
            elif n < 256:
                ln = bytes([0x81, n])
            else:
                ln = bytes([0x82, n >> 8, n & 255])
            return bytes([tag]) + ln + body

        ntlm_oid = bytes.fromhex("060a2b06010401823702020a")
        krb5_oid = bytes.fromhex("06092a864886f712010202")
        seq = tlv(0xa0, tlv(0x30, krb5_oid + ntlm_oid)) + \
            tlv(0xa2, tlv(0x04, b"\x60\x03\x06\x01\x00"))
        init = tlv(0x60, bytes.fromhex("06062b0601050502") + tlv(0xa0, tlv(0x30, seq)))

        def resp(tok):
            return tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, tok))))

        c = conn()
        r, _ = get(c, "Negotiate " + base64.b64encode(init).decode())
        ask = token(r, "Negotiate")
        print("status ask", r.status, ask.hex())
        r, _ = get(c, "Negotiate " + base64.b64encode(resp(ctx.step())).decode())
        t2w = token(r, "Negotiate")
        i = t2w.find(b"NTLMSSP\0")
        print("status type2", r.status, "wrapped" if t2w[0] == 0xa1 and i > 0 else "?",
              "mech-again" if ntlm_oid in t2w else "no-mech")
        r, body = get(c, "Negotiate " + base64.b64encode(resp(ctx.step(t2w[i:]))).decode())
        print("status type3", r.status, r.getheader("Content-Type"))
        print("final", token(r, "Negotiate").hex())
        open(out, "wb").write(body)
        c.close()
    else:
        raise SystemExit("unknown mode " + mode)


def main():
    a = sys.argv[1:]
    if a and a[0] == "scrape":
        scrape(a[1], int(a[2]), len(a) > 3 and a[3] == "static",
               int(a[4]) if len(a) > 4 else 16)
    elif a and a[0] == "requests":
        fetch_requests(*a[1:5])
    elif a and a[0] == "raw":
        fetch_raw(*a[1:6])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
