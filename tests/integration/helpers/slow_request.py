#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""slow_request.py PORT TARGET GOFILE OUT: opens a connection to 127.0.0.1:PORT,
sends a GET request for TARGET without the blank line that ends its headers,
writes "sent" to OUT, then waits until GOFILE exists (or forever) before it
finishes the request; writes the response's status line (or "no answer: ...")
to OUT. A request in flight that the test controls."""
import os
import socket
import sys
import time

port, target, gofile, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=120)
s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow client\r\n" % target).encode())
with open(out, "w") as f:
    f.write("sent\n")
while not os.path.exists(gofile):
    time.sleep(0.05)
try:
    s.sendall(b"\r\n")
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n")[0].decode() if data else "no answer: connection closed"
except OSError as e:
    line = "no answer: %s" % e
with open(out, "w") as f:
    f.write(line + "\n")
