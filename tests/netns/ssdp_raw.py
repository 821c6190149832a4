#!/usr/bin/python3
"""ssdp_raw.py - raw SSDP over IPv4 and IPv6 (UDA 1.1, and its Annex A for
IPv6) for the namespace tests, from a LAN host: one search, or the
NOTIFYs heard. Python stdlib only; every wait is bounded.

  ssdp_raw.py search DEST IFACE ST [--src ADDR] [--want N] [--wait S]
      One M-SEARCH (MX 1) for ST to DEST port 1900 (a group:
      239.255.255.250, ff02::c, ff05::c, ff0e::c, sent out of IFACE; or a
      unicast address) from ADDR (any when absent); one JSON line per
      answer:
        {"from": addr, "location": ..., "st": ..., "usn": ..., "status": line}
      then {"answers": N}. It waits until N answers (--want, default 0)
      have come, at most the safety timeout (labtime.SAFETY), and at
      least S seconds (--wait, default 1.5: the MX window, in which an
      answer that should not come would): a check that no answer comes
      gives no --want, and slowness can only make it pass.
  ssdp_raw.py listen IFACE [--ipv4] [--max S]
      Join ff02::c and ff05::c (or 239.255.255.250 with --ipv4) on IFACE
      and print one JSON line per NOTIFY:
        {"from": addr, "nts": ..., "nt": ..., "location": ..., "host": ...,
         "configid": CONFIGID.UPNP.ORG}
      (the first line is {"ready": true}) until killed: the test waits for
      the lines it needs (lab_wait_line) and then kills it. It stops by
      itself after S seconds (default labtime.LIFETIME).

Only the SSDP groups and the address given are ever addressed.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time

from labtime import LIFETIME, SAFETY

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
    t0 = time.monotonic()
    n = 0
    while True:
        now = time.monotonic()
        if now - t0 >= SAFETY or (n >= a.want and now - t0 >= a.wait):
            break
        left = (t0 + a.wait - now) if n >= a.want else (t0 + SAFETY - now)
        if not select.select([s], [], [], max(0.0, left))[0]:
            continue
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
    end = time.monotonic() + a.max
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        data, peer = s.recvfrom(4096)
        start, h = parse_http(data)
        if start.startswith("NOTIFY"):
            emit({"from": peer[0], "nts": h.get("NTS"), "nt": h.get("NT"),
                  "location": h.get("LOCATION"), "host": h.get("HOST"),
                  "configid": h.get("CONFIGID.UPNP.ORG")})
    return 0


def main():
    p = argparse.ArgumentParser(description="raw SSDP, IPv4 and IPv6")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("search")
    s.add_argument("dest")
    s.add_argument("iface")
    s.add_argument("st")
    s.add_argument("--src")
    s.add_argument("--want", type=int, default=0)
    s.add_argument("--wait", type=float, default=1.5)
    li = sub.add_parser("listen")
    li.add_argument("iface")
    li.add_argument("--max", type=float, default=LIFETIME)
    li.add_argument("--ipv4", action="store_true")
    a = p.parse_args()
    return cmd_search(a) if a.cmd == "search" else cmd_listen(a)


if __name__ == "__main__":
    sys.exit(main())
