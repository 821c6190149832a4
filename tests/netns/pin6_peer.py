#!/usr/bin/python3
"""IPv6 endpoints for tests/netns/test_pinhole.sh (standard library only).

  serve tcp|udp PORT TEXT        answer every connection/datagram with TEXT
  get tcp|udp HOST PORT [WAIT]   print what the service answers, exit 0; print
                                 "FAIL: ..." and exit 1 when nothing comes within
                                 WAIT seconds (default: the safety timeout,
                                 labtime.SAFETY; a check that something does NOT
                                 get through passes a short fixed WAIT)
Servers print "ready" once they listen; the test kills them when it ends
(they stop by themselves after labtime.LIFETIME).
"""
import socket
import sys
import time

from labtime import LIFETIME, SAFETY


def sock(kind):
    t = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6, t)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def serve(kind, port, text):
    s = sock(kind)
    s.bind(("::", port))
    end = time.time() + LIFETIME
    if kind == "tcp":
        s.listen(16)
    print("ready", flush=True)
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


def get(kind, host, port, wait):
    s = sock(kind)
    s.settimeout(wait)
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


def main(argv):
    cmd, kind = argv[1], argv[2]
    if cmd == "serve":
        serve(kind, int(argv[3]), argv[4])
        return 0
    if cmd == "get":
        wait = float(argv[5]) if len(argv) > 5 else SAFETY
        return get(kind, argv[3], int(argv[4]), wait)
    print("usage: see the top of this file", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
