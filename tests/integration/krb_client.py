#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# tests/integration/krb_client.py: a Kerberos (SPNEGO) client for the challenge
# pages built on python3-gssapi (MIT), for t_kerberos.sh. It makes the
# Negotiate token itself so the test can send it the ways curl cannot: to a
# chosen service principal, twice (a replayed authenticator), after its
# ticket has expired, or with a byte changed. The credentials are the
# KRB5CCNAME cache; KRB5_CONFIG names the test realm.
#
# usage: krb_client.py get URL SPN          sign in, check the mutual token
#        krb_client.py replay URL SPN       the same token twice, two connections
#        krb_client.py expired URL SPN      wait until the ticket expired, then send
#        krb_client.py corrupt URL SPN      one byte of the authenticator changed
#        krb_client.py ntlmfirst URL SPN    SPNEGO offering NTLM first, Kerberos second
#                                           (gss-ntlmssp, NTLM_USER_FILE): the server
#                                           must counter-propose Kerberos, and the
#                                           mechListMIC is exchanged (RFC 4178 5),
#                                           all on one keep-alive connection
# Prints one line per request sent: "STATUS MUTUAL" (MUTUAL: ok, bad or none),
# and for a page its challenge password on a line "password=...".
import base64
import http.client
import sys
import time
import urllib.parse

import gssapi

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


def new_context(spn):
    name = gssapi.Name(spn, gssapi.NameType.hostbased_service)
    return gssapi.SecurityContext(name=name, mech=SPNEGO, usage="initiate",
                                  flags=gssapi.RequirementFlag.mutual_authentication)


def send(url, token):
    """One GET on a new connection; returns (status, server token or None, body)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", u.path, headers={
            "Authorization": "Negotiate " + base64.b64encode(token).decode()})
        r = conn.getresponse()
        body = r.read()
        server = None
        for v in r.headers.get_all("WWW-Authenticate") or []:
            if v.startswith("Negotiate "):
                server = base64.b64decode(v[len("Negotiate "):])
        return r.status, server, body
    finally:
        conn.close()


def report(ctx, status, server, body):
    mutual = "none"
    if server is not None:
        try:
            ctx.step(server)
            mutual = "ok" if ctx.complete else "bad"
        except gssapi.exceptions.GSSError:
            mutual = "bad"
    print(status, mutual)
    if status == 200:
        text = body.decode("utf-16")
        marker = "The enrollment challenge password is: <B> "
        if marker in text:
            print("password=" + text.split(marker, 1)[1].split(" </B>", 1)[0])
        elif "static" not in text:
            print("page=" + text[:200].replace("\n", " "))


NTLMSSP = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")


def ntlm_first(url, spn):
    """Steps one SPNEGO exchange on one connection; prints each status and the end."""
    raw = gssapi.raw.acquire_cred(None, mechs=[SPNEGO], usage="initiate").creds
    gssapi.raw.set_neg_mechs(raw, [NTLMSSP, KRB5])
    ctx = gssapi.SecurityContext(name=gssapi.Name(spn, gssapi.NameType.hostbased_service),
                                 mech=SPNEGO, creds=gssapi.Credentials(raw), usage="initiate",
                                 flags=gssapi.RequirementFlag.mutual_authentication)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    token = ctx.step()
    print("offered NTLM first:", token[:60].hex().find("2b0601040182370202") >= 0)
    for _ in range(6):
        conn.request("GET", u.path, headers={
            "Authorization": "Negotiate " + base64.b64encode(token).decode()})
        r = conn.getresponse()
        body = r.read()
        server = None
        for v in r.headers.get_all("WWW-Authenticate") or []:
            if v.startswith("Negotiate "):
                server = base64.b64decode(v[len("Negotiate "):])
        print("step", r.status, "token" if server else "no-token")
        if r.status == 200:
            if server is not None and not ctx.complete:
                ctx.step(server)
            print("done", r.status, "complete" if ctx.complete else "incomplete",
                  "mech", ctx.mech.dotted_form if ctx.complete else "-")
            return
        if server is None or ctx.complete:
            print("done", r.status)
            return
        token = ctx.step(server)
    print("done too-many-steps")


def main():
    mode, url, spn = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "ntlmfirst":
        ntlm_first(url, spn)
        return
    # seconds the ticket cache's TGT stays valid: the service ticket ends no later
    lifetime = gssapi.Credentials(usage="initiate").lifetime
    ctx = new_context(spn)
    token = ctx.step()
    if mode == "get":
        report(ctx, *send(url, token))
    elif mode == "replay":
        report(ctx, *send(url, token))
        report(new_context(spn), *send(url, token))
    elif mode == "expired":
        # wait past the ticket's end (plus the realm's clockskew, 1 s in the test)
        end = time.monotonic() + lifetime + 3
        while time.monotonic() < end:
            time.sleep(0.2)
        report(ctx, *send(url, token))
    elif mode == "corrupt":
        bad = bytearray(token)
        bad[-20] ^= 0x01
        report(ctx, *send(url, bytes(bad)))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
