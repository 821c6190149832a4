#!/usr/bin/python3
"""Endpoints for the namespace tests (test_nft.sh, test_pinhole.sh,
test_router.sh, ...): LAN services, WAN clients and WAN observers, over
IPv4 or IPv6, each with bounded timeouts (standard library only).

  [-6] serve tcp|udp PORT TEXT  answer every connection/datagram with TEXT
                                (on every IPv4 address; with -6 every IPv6 one)
  get tcp|udp HOST PORT [SRC [SPORT]] [--wait S]
                                print what the service answers, exit 0; print
                                "FAIL: ..." and exit 1 when the connection is
                                refused or nothing comes within S seconds
                                (default: the safety timeout, labtime.SAFETY; a
                                check that something does NOT get through passes
                                a short fixed S)
  observe tcp|udp PORT          print "ADDR:PORT" of every (IPv4) peer
  send tcp|udp HOST PORT SPORT  send "hello" from local port SPORT
HOST and SRC are IPv4 or IPv6 literals: the family follows HOST.
Servers print "ready" once they listen; the test ends them by their PID
(lab_bg; they stop by themselves after labtime.LIFETIME).
"""
import socket
import sys
import time

from labtime import LIFETIME, SAFETY


def sock(kind, v6):
    t = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, t)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def ready():
    print("ready", flush=True)


def listener(kind, port, v6):
    s = sock(kind, v6)
    s.bind(("::" if v6 else "0.0.0.0", port))
    if kind == "tcp":
        s.listen(16)
    ready()
    return s


def serve(kind, port, text, v6):
    s = listener(kind, port, v6)
    end = time.time() + LIFETIME
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


def get(kind, host, port, src=None, sport=0, wait=SAFETY):
    v6 = ":" in host
    s = sock(kind, v6)
    s.settimeout(wait)
    if src or sport:
        s.bind((src or ("::" if v6 else "0.0.0.0"), sport))
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
    s = listener(kind, port, False)
    end = time.time() + LIFETIME
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
    v6 = ":" in host
    s = sock(kind, v6)
    s.settimeout(SAFETY)
    s.bind(("::" if v6 else "0.0.0.0", sport))
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
    args = argv[1:]
    v6 = "-6" in args
    args = [a for a in args if a != "-6"]
    wait = SAFETY
    if "--wait" in args:
        i = args.index("--wait")
        wait = float(args[i + 1])
        del args[i:i + 2]
    if len(args) < 2 or args[1] not in ("tcp", "udp"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, kind = args[0], args[1]
    if cmd == "serve":
        serve(kind, int(args[2]), args[3], v6)
        return 0
    if cmd == "get":
        src = args[4] if len(args) > 4 else None
        sport = int(args[5]) if len(args) > 5 else 0
        return get(kind, args[2], int(args[3]), src, sport, wait)
    if cmd == "observe":
        observe(kind, int(args[2]))
        return 0
    if cmd == "send":
        return send(kind, args[2], int(args[3]), int(args[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
