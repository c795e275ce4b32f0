#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""connect_proxy.py: a minimal HTTPS forward proxy (HTTP CONNECT, RFC 9110 §9.3.6)
for tests of a client's proxy setting. Tunnels only to 127.0.0.1, answers 403
otherwise and 405 to anything but CONNECT, and appends one line per tunnel
("CONNECT host:port") to LOGFILE.
Usage: connect_proxy.py LOGFILE   (prints the port it listens on, then runs)
"""
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn, log, lock):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 16384:
        data = conn.recv(4096)
        if not data:
            conn.close()
            return
        head += data
    line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(line) != 3 or line[0] != "CONNECT":
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    host, _, port = line[1].rpartition(":")
    if host != "127.0.0.1" or not port.isdigit():
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    try:
        up = socket.create_connection((host, int(port)), timeout=30)
        up.settimeout(None)
    except OSError:
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    with lock, open(log, "a") as f:
        f.write(f"CONNECT {line[1]}\n")
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pump, args=(up, conn), daemon=True).start()
    pump(conn, up)


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print(s.getsockname()[1], flush=True)
    lock = threading.Lock()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, sys.argv[1], lock), daemon=True).start()


if __name__ == "__main__":
    main()
