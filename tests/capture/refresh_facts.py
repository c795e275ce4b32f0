#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/capture/refresh_facts.py OLD_FACTS CAPTURE_DIR COMMANDS_FILE

Prints the facts.json of a new capture made by tests/capture/capture.sh: the
fixture's facts (OLD_FACTS) with the values that change on every capture taken
from CAPTURE_DIR (request.der, request.csr.der, request.json): transactionID and
its length, senderNonce length, signingTime, the sizes, the signer certificate's
validity (when the request carries one certificate), the HTTP facts, and the
commands that made it (COMMANDS_FILE, one per line). The structural facts
(algorithms, encodings, attribute lists) are kept: test_pkimsg checks them
against the new request. Reads the DER through `openssl asn1parse`; standard
library only.
"""

import json
import os
import subprocess
import sys

SCEP = "2.16.840.1.113733.1.9."


def asn1_lines(path):
    """(tag text, value) for each primitive of the DER file, in order."""
    out = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", path],
                         check=True, capture_output=True, text=True).stdout
    items = []
    for line in out.splitlines():
        if "prim:" not in line:
            continue
        rest = line.split("prim:", 1)[1].strip()
        tag, _, value = rest.partition(":")
        length = int(line.split(" l=", 1)[1].split()[0])
        items.append((tag.strip(), value.strip(), length))
    return items


def attribute(items, name):
    """The primitive after the OBJECT naming an attribute: (tag, value, length)."""
    for i, (tag, value, _) in enumerate(items):
        if tag == "OBJECT" and value == name and i + 1 < len(items):
            return items[i + 1]
    return None


def main():
    old, cap, commands = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(old) as f:
        facts = json.load(f)
    der = os.path.join(cap, "request.der")
    items = asn1_lines(der)
    pm = facts.setdefault("pki_message", {})
    pm["size"] = os.path.getsize(der)
    tid = attribute(items, SCEP + "7")
    if tid is not None:
        pm["transaction_id"], pm["transaction_id_length"] = tid[1], tid[2]
    nonce = attribute(items, SCEP + "5")
    if nonce is not None:
        pm["sender_nonce_length"] = nonce[2]
    st = attribute(items, "signingTime")
    if st is not None:
        pm["signing_time"] = "%s %s" % ("UTCTime" if st[0] == "UTCTIME" else "GeneralizedTime", st[1])
    if len(pm.get("certificates", [])) == 1:
        # the only certificate's validity: the first two times in the message
        times = [v for t, v, _ in items if t in ("UTCTIME", "GENERALIZEDTIME")]
        if len(times) >= 2 and "signer_certificate" in pm:
            pm["signer_certificate"]["validity"] = times[:2]
    csr = os.path.join(cap, "request.csr.der")
    if "csr" in facts and os.path.exists(csr):
        facts["csr"]["size"] = os.path.getsize(csr)
    side = os.path.join(cap, "request.json")
    if os.path.exists(side):
        with open(side) as f:
            seen = json.load(f)
        http = facts.setdefault("http", {})
        for key in ("method", "path", "user_agent", "content_type", "query_parameters",
                    "message_decoding"):
            http[key] = seen.get(key)
        http["earlier_operations"] = ["%s %s" % (e["method"], e["operation"])
                                      for e in seen.get("earlier_operations", [])]
    with open(commands) as f:
        facts["commands"] = {"capture_server": "python3 tests/capture/capture_server.py",
                             "recorded": [l.rstrip("\n") for l in f if l.strip()]}
    json.dump(facts, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
