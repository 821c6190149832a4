#!/usr/bin/python3
"""ssdp_raw.py - raw SSDP over IPv4 and IPv6 (UDA 1.1, and its Annex A for
IPv6) for the namespace tests, from a LAN host: one search, or the
NOTIFYs heard. Python stdlib only; every wait is bounded.

  ssdp_raw.py search DEST IFACE ST [--src ADDR] [--wait S]
      One M-SEARCH for ST to DEST port 1900 (a group: 239.255.255.250,
      ff02::c, ff05::c, ff0e::c, sent out of IFACE; or a unicast address)
      from ADDR (any when absent); one JSON line per answer:
        {"from": addr, "location": ..., "st": ..., "usn": ..., "status": line}
      then {"answers": N}.
  ssdp_raw.py listen IFACE SECONDS [--ipv4]
      Join ff02::c and ff05::c (or 239.255.255.250 with --ipv4) on IFACE
      and print one JSON line per NOTIFY:
        {"from": addr, "nts": ..., "nt": ..., "location": ..., "host": ...}
      (the first line is {"ready": true}).

Only the SSDP groups and the address given are ever addressed.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time

GROUPS = ("ff02::c", "ff05::c")


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def parse_http(data):
    text = data.decode("utf-8", "replace")
    lines = text.split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().upper()] = v.strip()
    return lines[0], hdrs


def cmd_search4(a):
    ifindex = socket.if_nametoindex(a.iface)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 struct.pack("@4s4si", socket.inet_aton("0.0.0.0"), socket.inet_aton("0.0.0.0"),
                             ifindex))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    s.bind((a.src or "0.0.0.0", 0))
    return exchange(s, a, (a.dest, 1900), "%s:1900" % a.dest)


def exchange(s, a, dest, host):
    msg = ("M-SEARCH * HTTP/1.1\r\nHOST: %s\r\nST: %s\r\nMAN: \"ssdp:discover\"\r\n"
           "MX: 1\r\n\r\n" % (host, a.st)).encode()
    s.sendto(msg, dest)
    n, end = 0, time.monotonic() + a.wait
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        data, peer = s.recvfrom(4096)
        status, h = parse_http(data)
        emit({"from": peer[0], "status": status, "location": h.get("LOCATION"),
              "st": h.get("ST"), "usn": h.get("USN")})
        n += 1
    emit({"answers": n})
    return 0


def cmd_search(a):
    if ":" not in a.dest:
        return cmd_search4(a)
    ifindex = socket.if_nametoindex(a.iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 2)
    s.bind((a.src or "::", 0, 0, ifindex if a.src and a.src.startswith("fe80") else 0))
    scope = ifindex if a.dest.lower().startswith(("ff02", "fe80")) else 0
    return exchange(s, a, (a.dest, 1900, 0, scope), "[%s]:1900" % a.dest.upper())


def cmd_listen(a):
    ifindex = socket.if_nametoindex(a.iface)
    if a.ipv4:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", 1900))
        mreq = struct.pack("@4s4si", socket.inet_aton("239.255.255.250"),
                           socket.inet_aton("0.0.0.0"), ifindex)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", 1900))
        for g in GROUPS:
            mreq = socket.inet_pton(socket.AF_INET6, g) + struct.pack("@I", ifindex)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    emit({"ready": True})
    end = time.monotonic() + a.seconds
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        data, peer = s.recvfrom(4096)
        start, h = parse_http(data)
        if start.startswith("NOTIFY"):
            emit({"from": peer[0], "nts": h.get("NTS"), "nt": h.get("NT"),
                  "location": h.get("LOCATION"), "host": h.get("HOST")})
    return 0


def main():
    p = argparse.ArgumentParser(description="raw SSDP, IPv4 and IPv6")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("search")
    s.add_argument("dest")
    s.add_argument("iface")
    s.add_argument("st")
    s.add_argument("--src")
    s.add_argument("--wait", type=float, default=2.0)
    li = sub.add_parser("listen")
    li.add_argument("iface")
    li.add_argument("seconds", type=float)
    li.add_argument("--ipv4", action="store_true")
    a = p.parse_args()
    return cmd_search(a) if a.cmd == "search" else cmd_listen(a)


if __name__ == "__main__":
    sys.exit(main())
