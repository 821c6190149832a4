#!/usr/bin/python3
"""Endpoints for tests/netns/test_nft.sh: LAN services, WAN clients and
WAN observers, each with bounded timeouts (standard library only).

  serve tcp|udp PORT TEXT       answer every connection/datagram with TEXT
  get tcp|udp HOST PORT [SRC [SPORT]]
                                print what the service answers; "FAIL: ..." and exit 1
                                when the connection is refused or nothing comes within
                                the safety timeout (labtime.SAFETY)
  observe tcp|udp PORT          print "ADDR:PORT" of every peer
  send tcp|udp HOST PORT SPORT  send "hello" from local port SPORT
Servers print "ready" once they listen; the test kills them when it ends
(they stop by themselves after labtime.LIFETIME).
"""
import socket
import sys
import time

from labtime import LIFETIME, SAFETY


def sock(kind):
    t = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, t)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def ready():
    print("ready", flush=True)


def serve(kind, port, text):
    s = sock(kind)
    s.bind(("0.0.0.0", port))
    end = time.time() + LIFETIME
    if kind == "tcp":
        s.listen(16)
    ready()
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            if kind == "tcp":
                c, _ = s.accept()
                c.sendall(text.encode())
                c.close()
            else:
                _, peer = s.recvfrom(2048)
                s.sendto(text.encode(), peer)
        except socket.timeout:
            break


def get(kind, host, port, src=None, sport=0):
    s = sock(kind)
    s.settimeout(SAFETY)
    if src or sport:
        s.bind((src or "0.0.0.0", sport))
    try:
        if kind == "tcp":
            s.connect((host, port))
            data = s.recv(2048)
        else:
            s.sendto(b"ping", (host, port))
            data, _ = s.recvfrom(2048)
    except OSError as e:
        print("FAIL: %s" % e)
        return 1
    print(data.decode(errors="replace"))
    return 0 if data else 1


def observe(kind, port):
    s = sock(kind)
    s.bind(("0.0.0.0", port))
    end = time.time() + LIFETIME
    if kind == "tcp":
        s.listen(16)
    ready()
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            if kind == "tcp":
                c, peer = s.accept()
                c.close()
            else:
                _, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        print("%s:%d" % peer, flush=True)


def send(kind, host, port, sport):
    s = sock(kind)
    s.settimeout(SAFETY)
    s.bind(("0.0.0.0", sport))
    try:
        if kind == "tcp":
            s.connect((host, port))
        else:
            s.sendto(b"hello", (host, port))
    except OSError as e:
        print("FAIL: %s" % e)
        return 1
    s.close()
    return 0


def main(argv):
    cmd, kind = argv[1], argv[2]
    if cmd == "serve":
        serve(kind, int(argv[3]), argv[4])
        return 0
    if cmd == "get":
        src = argv[5] if len(argv) > 5 else None
        sport = int(argv[6]) if len(argv) > 6 else 0
        return get(kind, argv[3], int(argv[4]), src, sport)
    if cmd == "observe":
        observe(kind, int(argv[3]))
        return 0
    if cmd == "send":
        return send(kind, argv[3], int(argv[4]), int(argv[5]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
