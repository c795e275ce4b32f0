#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""stall_client.py MODE PORT [ARGS]: hostile or slow HTTP clients for t_slow.sh, on
127.0.0.1 only. Each mode prints one line "SECONDS ANSWER": how long the server took
to answer or close the connection, and the response's status line ("closed" when it
closed without one, "open" when it neither answered nor closed within LIMIT seconds).
Every mode ends by itself within its limit.

  headers PORT LIMIT        request line and part of the headers, then nothing
  dribble PORT LIMIT        request line, then one header byte every 0.3 s
  body PORT LIMIT           POST with Content-Length: 1000, 100 bytes of body, then nothing
  slowbody PORT LIMIT       POST with Content-Length: 1000, sent in 100-byte pieces every
                            0.25 s (400 bytes/s), then waits for the answer
  keepalive PORT LIMIT      a whole GET, its whole answer, then on the same connection
                            the next request line and one header byte every 0.3 s;
                            SECONDS counts from the end of the first answer
  raw PORT LIMIT HEX        the bytes HEX (hexadecimal), nothing more
  hello PORT LIMIT          a TLS ClientHello (made by Python's ssl module), nothing more
  hello-start PORT LIMIT    the start of one, up to its first CR or LF byte (a
                            ClientHello whose next segment is late), nothing more
  flood PORT N SECONDS OUT  opens N connections from 127.0.0.1, each sending half a
                            request; writes "opened A closed B" to OUT once all were
                            tried, keeps them SECONDS seconds (or until OUT.stop
                            exists), then closes them
"""
import os
import socket
import ssl
import sys
import time

TARGET = b"/certsrv/mscep/mscep.dll?operation=GetCACaps"


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_answer(s, t0, limit, feed=None):
    """Waits for a status line or the close; feed() is called every 0.3 s."""
    data = b""
    s.settimeout(0.3)
    while time.monotonic() - t0 < limit:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            if feed is not None:
                try:
                    feed()
                except OSError:
                    pass
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        data += chunk
        if b"\r\n" in data:
            break
    took = time.monotonic() - t0
    if b"\r\n" in data:
        return took, data.split(b"\r\n")[0].decode("latin-1")
    if time.monotonic() - t0 >= limit:
        return took, "open"
    return took, "closed"


def client_hello():
    """A real ClientHello, as Python's ssl module makes it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def one(mode, port, limit, extra):
    s = connect(port)
    t0 = time.monotonic()
    feed = None
    if mode == "headers":
        s.sendall(b"GET " + TARGET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: stall")
    elif mode == "dribble":
        s.sendall(b"GET " + TARGET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        feed = lambda: s.sendall(b"a")
    elif mode == "body":
        s.sendall(b"POST /certsrv/mscep/mscep.dll?operation=PKIOperation HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nContent-Type: application/x-pki-message\r\n"
                  b"Content-Length: 1000\r\n\r\n" + b"A" * 100)
    elif mode == "slowbody":
        s.sendall(b"POST /certsrv/mscep/mscep.dll?operation=PKIOperation HTTP/1.1\r\n"
                  b"Host: 127.0.0.1\r\nContent-Type: application/x-pki-message\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        for _ in range(10):
            time.sleep(0.25)
            s.sendall(b"A" * 100)
    elif mode == "keepalive":
        s.sendall(b"GET " + TARGET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("stall_client: the first answer did not come")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0]
        while len(body) < length:
            body += s.recv(4096)
        t0 = time.monotonic()
        s.sendall(b"GET " + TARGET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        feed = lambda: s.sendall(b"a")
    elif mode == "raw":
        s.sendall(bytes.fromhex(extra[0]))
    elif mode == "hello":
        s.sendall(client_hello())
    elif mode == "hello-start":
        hello = client_hello()
        s.sendall(hello[:min(i for i in (hello.find(b"\r"), hello.find(b"\n"), len(hello))
                             if i >= 0)])
    else:
        sys.exit("stall_client: unknown mode " + mode)
    took, answer = wait_answer(s, t0, limit, feed)
    s.close()
    print("%.1f %s" % (took, answer))


def flood(port, n, seconds, out):
    socks, closed = [], 0
    t0 = time.monotonic()
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET " + TARGET + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(s)
        except OSError:
            closed += 1
    with open(out + ".tmp", "w") as f:
        f.write("opened %d closed %d\n" % (len(socks), closed))
    os.rename(out + ".tmp", out)
    while time.monotonic() - t0 < seconds and not os.path.exists(out + ".stop"):
        time.sleep(0.1)
    for s in socks:
        s.close()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "flood":
        flood(port, int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    else:
        one(mode, port, float(sys.argv[3]), sys.argv[4:])


main()
