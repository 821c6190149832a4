#!/usr/bin/python3
"""pcp_client.py - a small PCP (RFC 6887) client for the namespace tests.

    pcp_client.py [-w SECONDS] SERVER CLIENT_IP map NONCE PROTO IPORT EPORT LIFETIME [prefer] [third=IP]
    pcp_client.py [-w SECONDS] SERVER CLIENT_IP announce
    pcp_client.py SERVER CLIENT_IP flood COUNT
    pcp_client.py [-w SECONDS] SERVER CLIENT_IP big LENGTH
    pcp_client.py [-w SECONDS] SERVER CLIENT_IP natpmp-ext
    pcp_client.py listen SECONDS
    pcp_client.py listen6 SECONDS

IPv6 (RFC 6887 over IPv6): SERVER may be an IPv6 address ("fe80::1%eth0"
for the router's link-local address); an IPv6 CLIENT_IP is both the
header's client address and the source the request is sent from (a
client asks its default router's link-local address from its global
address). listen6 waits on [::]:5350 for the PCP ANNOUNCE to ff02::1, at most
SECONDS (the test gives the safety timeout).

map/announce print "result=N lifetime=L port=P addr=A epoch=E" (port and
addr for MAP only) or "timeout"; CLIENT_IP is what goes in the header
(a wrong one gets ADDRESS_MISMATCH). A request is sent again, as a
client does, until it is answered or the wait runs out: -w SECONDS, by
default the safety timeout (labtime.SAFETY); a check that expects no
answer gives a short -w (slowness can only make it pass). flood sends
COUNT ANNOUNCE requests at once, then a NAT-PMP request until that is
answered (the server reads its socket in order, so by then it has
handled the flood), and prints "answered=N seconds=S": N flood answers
in S seconds from the first request sent. listen waits on UDP 5350 for
the unsolicited NAT-PMP and PCP announcements to 224.0.0.1 and prints
one line per kind seen, for at most SECONDS. big sends an ANNOUNCE padded to LENGTH bytes. natpmp-ext asks
the NAT-PMP external address and prints "natpmp result=N addr=A".
Every wait is bounded.
"""
import socket
import struct
import sys
import time

from labtime import SAFETY


def v4mapped(a):
    if ":" in a:
        return socket.inet_pton(socket.AF_INET6, a)
    return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(a)


def header(op, life, client):
    return struct.pack("!BBHI", 2, op, 0, life) + v4mapped(client)


def server_socket(server, client):
    """A socket for server (IPv4, or IPv6 with an optional %zone), sending
    from the client address when it is IPv6; and the address to send to."""
    if ":" not in server:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM), (server, 5351)
    ai = socket.getaddrinfo(server, 5351, socket.AF_INET6, socket.SOCK_DGRAM)[0][4]
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    if client and ":" in client:
        s.bind((client, 0, 0, ai[3] if client.lower().startswith("fe80") else 0))
    return s, ai


WAIT = SAFETY


def exchange(server, msg, wait=None, client=None):
    """The answer to msg, sent again after 0.5, 1, 2 ... s (at most 4 s
    apart) until one comes, for at most wait seconds (default WAIT)."""
    s, dest = server_socket(server, client)
    end = time.monotonic() + (WAIT if wait is None else wait)
    gap = 0.5
    try:
        while True:
            s.sendto(msg, dest)
            resend = min(end, time.monotonic() + gap)
            gap = min(gap * 2, 4.0)
            while True:
                left = resend - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data, _ = s.recvfrom(2048)
                    return data
                except socket.timeout:
                    break
            if time.monotonic() >= end:
                return None
    finally:
        s.close()


def show(data, is_map):
    if data is None:
        print("timeout")
        return 2
    ver, op, _, result, life, epoch = struct.unpack("!BBBBII", data[:12])
    line = "version=%d opcode=%d result=%d lifetime=%d epoch=%d len=%d" % (
        ver, op, result, life, epoch, len(data))
    if is_map and len(data) >= 60:
        port = struct.unpack("!H", data[42:44])[0]
        if data[44:56] == b"\0" * 10 + b"\xff\xff":
            addr = socket.inet_ntoa(data[56:60])
        else:
            addr = socket.inet_ntop(socket.AF_INET6, data[44:60])
        line += " port=%d addr=%s" % (port, addr)
    print(line)
    return 0


def cmd_map(server, client, args):
    nonce, proto, iport, eport, life = int(args[0]), int(args[1]), int(args[2]), int(args[3]), int(args[4])
    msg = header(1, life, client) + bytes([nonce]) * 12 + struct.pack("!B3xHH", proto, iport, eport) + v4mapped("::" if ":" in client else "0.0.0.0")
    for opt in args[5:]:
        if opt == "prefer":
            msg += struct.pack("!BBH", 2, 0, 0)
        elif opt.startswith("third="):       # THIRD_PARTY (RFC 6887 13.1), code 1
            msg += struct.pack("!BBH", 1, 0, 16) + v4mapped(opt[6:])
    return show(exchange(server, msg, client=client), True)


def cmd_flood(server, client, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    msg = header(0, 0, client)
    t0 = time.monotonic()
    for _ in range(count):
        s.sendto(msg, (server, 5351))
    # The marker: a NAT-PMP external address request (its answer is told
    # apart by version 0), sent until the rate limit lets one through.
    got, end, resend = 0, t0 + SAFETY, 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            print("timeout")
            return 2
        if now >= resend:
            s.sendto(b"\0\0", (server, 5351))
            resend = now + 0.5
        s.settimeout(max(0.01, min(resend, end) - now))
        try:
            data, _ = s.recvfrom(2048)
        except socket.timeout:
            continue
        if data[:1] == b"\0":
            break
        got += 1
    print("answered=%d seconds=%.3f" % (got, time.monotonic() - t0))
    return 0


def cmd_listen(seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 5350))
    try:
        mreq = socket.inet_aton("224.0.0.1") + socket.inet_aton("0.0.0.0")
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError:
        pass                    # all-hosts is joined already
    print("listening", flush=True)
    seen, end = set(), time.monotonic() + seconds
    while len(seen) < 2 and time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        if len(data) == 12 and data[0] == 0 and data[1] == 128 and "natpmp" not in seen:
            seen.add("natpmp")
            print("natpmp from=%s result=%d epoch=%d addr=%s" % (
                peer[0], struct.unpack("!H", data[2:4])[0], struct.unpack("!I", data[4:8])[0],
                socket.inet_ntoa(data[8:12])), flush=True)
        elif len(data) == 24 and data[0] == 2 and data[1] == 128 and "pcp" not in seen:
            seen.add("pcp")
            print("pcp-announce from=%s result=%d epoch=%d" % (
                peer[0], data[3], struct.unpack("!I", data[8:12])[0]), flush=True)
    return 0 if len(seen) == 2 else 1


def cmd_listen6(seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 5350))
    print("listening", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        if len(data) == 24 and data[0] == 2 and data[1] == 128:
            print("pcp-announce from=%s result=%d epoch=%d" % (
                peer[0].split("%")[0], data[3], struct.unpack("!I", data[8:12])[0]), flush=True)
            return 0
    return 1


def main(argv):
    global WAIT
    if len(argv) >= 3 and argv[1] == "-w":
        WAIT = float(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) >= 3 and argv[1] == "listen":
        return cmd_listen(float(argv[2]))
    if len(argv) >= 3 and argv[1] == "listen6":
        return cmd_listen6(float(argv[2]))
    server, client, cmd = argv[1], argv[2], argv[3]
    if cmd == "map":
        return cmd_map(server, client, argv[4:])
    if cmd == "announce":
        return show(exchange(server, header(0, 0, client), client=client), False)
    if cmd == "big":
        msg = header(0, 0, client)
        msg += b"\0" * (int(argv[4]) - len(msg))
        return show(exchange(server, msg), False)
    if cmd == "natpmp-ext":
        data = exchange(server, b"\0\0")
        if data is None or len(data) != 12:
            print("timeout")
            return 2
        print("natpmp result=%d addr=%s" % (struct.unpack("!H", data[2:4])[0],
                                            socket.inet_ntoa(data[8:12])))
        return 0
    if cmd == "flood":
        return cmd_flood(server, client, int(argv[4]))
    print("unknown command", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
