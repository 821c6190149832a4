#!/usr/bin/python3
"""SSDP and description checks for igdd, run from a LAN namespace.

  ssdp_probe.py listen [--until NTS NT]... [--max SECONDS]
                                      print NOTIFY messages (one JSON per line)
                                      until one of each NTS/NT pair given has
                                      come (and what arrived with it), or
                                      SECONDS (default: the safety timeout)
  ssdp_probe.py search GATEWAY_IP     every M-SEARCH form, unicast search,
                                      description and SCPD documents

Only the SSDP multicast group and the gateway are ever addressed. No
check depends on how fast the answers come: the searches wait until every
expected answer is in (at most the safety timeout, labtime.SAFETY), and
at least as long as the searches' MX, so that an answer that should not
come has the time to.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

from labtime import SAFETY

GROUP = ("239.255.255.250", 1900)
UPNP = "urn:schemas-upnp-org:"
DEV = UPNP + "device:"
SVC = UPNP + "service:"
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def parse_http(data):
    text = data.decode("utf-8", "replace")
    lines = text.split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().upper()] = v.strip()
    return lines[0], hdrs


def listen(until, seconds):
    """until: [(nts, nt)] still awaited; once none is left, what is
    already queued is read too (a burst arrives together), then stop."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 1900))
    mreq = struct.pack("4s4s", socket.inet_aton(GROUP[0]), socket.inet_aton("0.0.0.0"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    print(json.dumps({"ready": True}), flush=True)
    awaited = set(until)
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if until and not awaited:
            left = min(left, 0.2)       # the rest of the burst, already on its way
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            if until and not awaited:
                break
            continue
        data, addr = s.recvfrom(4096)
        start, h = parse_http(data)
        if start.startswith("NOTIFY"):
            awaited.discard((h.get("NTS"), h.get("NT")))
            print(json.dumps({"from": addr[0], "nt": h.get("NT"), "nts": h.get("NTS"),
                              "usn": h.get("USN"), "location": h.get("LOCATION"),
                              "bootid": h.get("BOOTID.UPNP.ORG"),
                              "cache": h.get("CACHE-CONTROL")}), flush=True)
    return 0 if not awaited else 1


def msearch(st, mx="1", dest=GROUP, man='"ssdp:discover"'):
    lines = ["M-SEARCH * HTTP/1.1", "HOST: 239.255.255.250:1900"]
    if man is not None:
        lines.append("MAN: " + man)
    if mx is not None:
        lines.append("MX: " + mx)
    lines.append("ST: " + st)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    s.bind(("", 0))
    s.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), dest)
    return s


def collect(socks, want, at_least):
    """The answers on each socket: until each socket s has want[s]
    (absent: 0) and at least at_least seconds have passed (the window in
    which an unwanted answer would come), at most SAFETY seconds."""
    out = {s: [] for s in socks}
    t0 = time.monotonic()
    while True:
        now = time.monotonic()
        done = all(len(out[s]) >= want.get(s, 0) for s in socks)
        if now - t0 >= SAFETY or (done and now - t0 >= at_least):
            break
        wait = (t0 + at_least - now) if done else (t0 + SAFETY - now)
        r, _, _ = select.select(list(socks), [], [], max(0.0, wait))
        for s in r:
            data, addr = s.recvfrom(4096)
            out[s].append(parse_http(data))
    return out


def fetch(url):
    with urllib.request.urlopen(url, timeout=SAFETY) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def check_answer(st, start, h, uuid_root):
    ok = start.startswith("HTTP/1.1 200")
    for k in ("CACHE-CONTROL", "EXT", "LOCATION", "SERVER", "ST", "USN",
              "BOOTID.UPNP.ORG", "CONFIGID.UPNP.ORG", "DATE"):
        ok = ok and k in h
    return ok


def search(gw):
    forms = {
        "ssdp:all": 10, "upnp:rootdevice": 1,
        DEV + "InternetGatewayDevice:1": 1, DEV + "InternetGatewayDevice:2": 1,
        DEV + "WANDevice:1": 1, DEV + "WANDevice:2": 1,
        DEV + "WANConnectionDevice:1": 1, DEV + "WANConnectionDevice:2": 1,
        SVC + "WANIPConnection:1": 1, SVC + "WANIPConnection:2": 1,
        SVC + "WANCommonInterfaceConfig:1": 1, SVC + "WANIPv6FirewallControl:1": 1,
        DEV + "InternetGatewayDevice:3": 0, SVC + "WANPPPConnection:1": 0,
        SVC + "WANIPConnection:3": 0, SVC + "WANCommonInterfaceConfig:2": 0,
    }
    socks = {msearch(st): st for st in forms}
    no_mx = msearch(SVC + "WANIPConnection:2", mx=None)
    bad_man = msearch(SVC + "WANIPConnection:2", man='"ssdp:nothing"')
    big_mx = msearch(DEV + "InternetGatewayDevice:2", mx="120")
    unicast = msearch(DEV + "InternetGatewayDevice:2", mx=None, dest=(gw, 1900))
    want = {s: forms[st] for s, st in socks.items()}
    want.update({big_mx: 1, unicast: 1})
    # MX 120 is capped at 5 s: its answer may take that long; the others'
    # (MX 1) come within 1 s. Wait for all of them, and at least MX 1's
    # window, in which an answer that should not come would.
    got = collect(list(socks) + [no_mx, bad_man, big_mx, unicast], want, 1.5)

    uni = got[unicast]
    check(len(uni) == 1, "unicast M-SEARCH without MX answered once (got %d)" % len(uni))
    root = [h for _, h in got[[s for s, st in socks.items() if st == "upnp:rootdevice"][0]]]
    check(len(root) == 1, "upnp:rootdevice answered once")
    if not root:
        return
    uuid_root = root[0]["USN"].split("::")[0]
    check(root[0]["USN"] == uuid_root + "::upnp:rootdevice", "rootdevice USN form")
    check(root[0]["ST"] == "upnp:rootdevice", "rootdevice ST echoed")

    for s, st in socks.items():
        answers = got[s]
        check(len(answers) == forms[st], "%s: %d answer(s), want %d" % (st, len(answers), forms[st]))
        for start, h in answers:
            check(check_answer(st, start, h, uuid_root), "%s: all headers present" % st)
            if st not in ("ssdp:all", "upnp:rootdevice"):
                check(h["ST"] == st, "%s: ST echoed (%s)" % (st, h.get("ST")))
                check(h["USN"].endswith("::" + st), "%s: USN names the type" % st)
                want = "/rootDesc1.xml" if st.endswith(":1") and "WANCommon" not in st and \
                    "WANIPv6FirewallControl" not in st else "/rootDesc.xml"
                check(h["LOCATION"].endswith(want), "%s: LOCATION %s" % (st, h["LOCATION"]))
    all_usns = [h["USN"] for _, h in got[[s for s, st in socks.items() if st == "ssdp:all"][0]]]
    check(len(set(all_usns)) == 10, "ssdp:all: 10 distinct USNs")
    check(len(got[no_mx]) == 0, "multicast M-SEARCH without MX ignored")
    check(len(got[bad_man]) == 0, "M-SEARCH with wrong MAN ignored")
    check(len(got[big_mx]) == 1, "MX 120 answered (capped at 5 s)")

    # A fresh uuid: search (answers at once on unicast).
    u = msearch(uuid_root, mx=None, dest=(gw, 1900))
    a = collect([u], {u: 1}, 0.5)[u]
    check(len(a) == 1 and a[0][1]["USN"] == uuid_root, "uuid:<root> search answered")

    check_descriptions(root[0]["LOCATION"])


def check_descriptions(loc):
    base = loc.rsplit("/", 1)[0]
    ns = {"d": "urn:schemas-upnp-org:device-1-0"}
    for path, ver in (("/rootDesc.xml", "2"), ("/rootDesc1.xml", "1")):
        status, ctype, body = fetch(base + path)
        check(status == 200 and "text/xml" in ctype, path + ": 200 text/xml")
        root = ET.fromstring(body)
        types = [e.text for e in root.iter("{urn:schemas-upnp-org:device-1-0}deviceType")]
        stypes = [e.text for e in root.iter("{urn:schemas-upnp-org:device-1-0}serviceType")]
        check(types == [DEV + "InternetGatewayDevice:" + ver, DEV + "WANDevice:" + ver,
                        DEV + "WANConnectionDevice:" + ver], path + ": device tree " + str(types))
        check(SVC + "WANIPConnection:" + ver in stypes and SVC + "WANCommonInterfaceConfig:1" in stypes,
              path + ": services " + str(stypes))
        for svc in root.iter("{urn:schemas-upnp-org:device-1-0}service"):
            scpd = svc.find("d:SCPDURL", ns).text
            st, ct, sb = fetch(base + scpd if scpd.startswith("/") else base + "/" + scpd)
            sroot = ET.fromstring(sb)
            names = [a.text for a in sroot.iter("{urn:schemas-upnp-org:service-1-0}name")]
            check(st == 200 and len(names) > 0, "%s: SCPD %s parses (%d names)" % (path, scpd, len(names)))
            if "WANIPConnection" in svc.find("d:serviceType", ns).text:
                v2only = "AddAnyPortMapping" in names
                check(v2only == (ver == "2"), "%s: AddAnyPortMapping listed only in v2 SCPD" % scpd)


def main():
    if sys.argv[1] == "listen":
        p = argparse.ArgumentParser(prog="ssdp_probe.py listen")
        p.add_argument("--until", nargs=2, action="append", default=[], metavar=("NTS", "NT"))
        p.add_argument("--max", type=float, default=SAFETY)
        a = p.parse_args(sys.argv[2:])
        return listen([tuple(u) for u in a.until], a.max)
    search(sys.argv[2])
    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
