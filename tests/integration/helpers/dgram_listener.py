#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""dgram_listener.py SOCKET OUT: binds a unix datagram socket (a path, or an
abstract name written @name) as systemd's notification socket or journald's
native socket would be, and appends every datagram received to OUT as one JSON
string per line (flushed at once). Runs until killed."""
import json
import os
import socket
import sys

name, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if name.startswith("@"):
    s.bind("\0" + name[1:])
else:
    if os.path.exists(name):
        os.unlink(name)
    s.bind(name)
    os.chmod(name, 0o666)  # as systemd's: writable by a service's own user
with open(out, "a") as f:
    f.flush()
    while True:
        data = s.recv(1 << 20)
        f.write(json.dumps(data.decode("utf-8", "replace")) + "\n")
        f.flush()
