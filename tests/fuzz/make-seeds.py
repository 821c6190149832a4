#!/usr/bin/env python3
"""make-seeds.py - (re)generate the fuzz seed corpora from the test data.

    tests/fuzz/make-seeds.py        (from anywhere; writes tests/fuzz/corpus/)

Every golden case (tests/data/*.case) becomes seeds for fuzz_http (the
case's exchanges, at most 8 per seed) and fuzz_soap (each POST: its
SOAPAction and body); every configuration (tests/data/config/*.conf,
examples/*.conf) a seed for fuzz_config; SSDP and GENA requests, NAT-PMP
and PCP sequences, lease files and the privileged helper's messages
written out below are the seeds of fuzz_ssdp, fuzz_gena, fuzz_natpmp,
fuzz_pcp, fuzz_leasefile, fuzz_priv, fuzz_stun, fuzz_pcpc and fuzz_igdc. The input
formats are described at the top of each fuzz_*.c.

Generated files are named gen-*; this script replaces them and leaves
every other file alone (hand-written seeds, kept crash inputs named
crash-*, corpus entries merged in from long runs). The output is
deterministic: run it again after changing tests/data and commit.
"""
import hashlib
import os
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")

# fuzz_env.c's peer selectors.
PEERS = {"192.168.1.20": 0, "192.168.1.30": 1, "192.168.1.1": 2,
         "192.168.1.255": 3, "10.0.0.5": 4, "2001:db8:1::20": 5, "fe80::20": 6,
         "2001:db8:9::5": 7}
MAX_HTTP_REQUESTS = 8


def peer_selector(addr):
    """A golden case's peer ("ADDR [on LAN]") as the closest selector."""
    a = addr.strip().split(" ")[0]
    if a in PEERS:
        return PEERS[a]
    if ":" in a:
        return 6 if a.startswith("fe80") else (5 if a.startswith(("2001:db8:1:", "fd00:1:")) else 7)
    return 0 if a.startswith("192.168.1.") else 4


def parse_case(text):
    """[(peer, request_bytes)] of one golden case, in order."""
    out, cur, peer = [], None, None
    for line in text.split(b"\n"):
        if line.startswith(b">>>"):
            if cur is not None:
                out.append((peer, cur))
            peer, cur = line[3:].decode("ascii", "replace"), []
        elif line.startswith(b"<<<") or line.startswith(b"clock:"):
            if cur is not None:
                out.append((peer, cur))
            cur = None
        elif cur is not None:
            cur.append(line.rstrip(b"\r"))
    if cur is not None:
        out.append((peer, cur))
    result = []
    for peer, lines in out:
        while lines and not lines[-1]:
            lines.pop()
        result.append((peer, b"\r\n".join(lines[:1] + [l for l in lines[1:]])))
    return result


def on_the_wire(req):
    """A case's request as a client sends it: the head ends with an empty
    line, and Content-Length is the body's length (the cases' bodies
    travel with CRLF line ends here, and GETs have no empty line)."""
    head, sep, body = req.partition(b"\r\n\r\n")
    if not sep:
        return head + b"\r\n\r\n"
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(b"content-length:")]
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def split_request(req):
    head, _, body = req.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for l in lines[1:]:
        if b":" in l:
            k, v = l.split(b":", 1)
            headers[k.strip().lower()] = v.strip()
    return lines[0], headers, body.replace(b"\r\n", b"\n")


class Writer:
    def __init__(self, target):
        self.dir = os.path.join(CORPUS, target)
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):
            if name.startswith("gen-"):
                os.unlink(os.path.join(self.dir, name))
        self.seen = set()

    def add(self, tag, data):
        digest = hashlib.sha1(data).hexdigest()[:12]
        if digest in self.seen:
            return
        self.seen.add(digest)
        tag = re.sub(r"[^A-Za-z0-9_.-]", "_", tag)
        with open(os.path.join(self.dir, "gen-%s-%s" % (tag, digest)), "wb") as f:
            f.write(data)

    def count(self):
        return len(self.seen)


def cases():
    d = os.path.join(ROOT, "tests", "data")
    for name in sorted(os.listdir(d)):
        if name.endswith(".case"):
            with open(os.path.join(d, name), "rb") as f:
                yield name[:-5], f.read()


def http_and_soap():
    http, soap = Writer("http"), Writer("soap")
    for name, text in cases():
        reqs = parse_case(text)
        for i in range(0, len(reqs), MAX_HTTP_REQUESTS):
            chunk = reqs[i:i + MAX_HTTP_REQUESTS]
            parts = [bytes([peer_selector(p)]) + on_the_wire(r) for p, r in chunk]
            http.add("%s-%d" % (name, i // MAX_HTTP_REQUESTS), b"\x00" + b"\n>>>\n".join(parts))
        for j, (peer, req) in enumerate(reqs):
            line, headers, body = split_request(req)
            if not line.startswith(b"POST /ctl/"):
                continue
            ctl = peer_selector(peer) | (8 if b"/ctl/CmnIfCfg" in line else 0) | \
                (0x80 if b"/ctl/IP6FCtl" in line else 0)
            soap.add("%s-%d" % (name, j),
                     bytes([ctl]) + headers.get(b"soapaction", b"") + b"\n" + body)
    return http, soap


def configs():
    w = Writer("config")
    for sub in (os.path.join("tests", "data", "config"), "examples"):
        d = os.path.join(ROOT, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(".conf"):
                with open(os.path.join(d, name), "rb") as f:
                    w.add(name[:-5], f.read())
    return w


MS = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
SSDP_SEEDS = [
    (b"\x01", MS + b'MAN: "ssdp:discover"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n'),
    (b"\x01", MS + b'MAN: "ssdp:discover"\r\nMX: 1\r\nST: upnp:rootdevice\r\n\r\n'),
    (b"\x01", MS + b'MAN: "ssdp:discover"\r\nMX: 3\r\n'
              b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSER-AGENT: x\r\n\r\n"),
    (b"\x00", MS + b'MAN: "ssdp:discover"\r\n'
              b"ST: urn:schemas-upnp-org:service:WANIPConnection:2\r\n\r\n"),
    (b"\x01", MS + b'MAN: "ssdp:discover"\r\nMX: 5\r\n'
              b"ST: uuid:2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a50\r\n\r\n"),
    (b"\x03", b"M-SEARCH * HTTP/1.1\nman: ssdp:discover\nmx: 99\n"
              b"st: urn:schemas-upnp-org:device:WANConnectionDevice:2\n\n"),
    (b"\x00", b"NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n\r\n"),
    # IPv6 (UDA 1.1 Annex A): bit 1 of the first byte makes LOCATION an IPv6 literal.
    (b"\x03", b'M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\n'
              b'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n'
              b'MAN: "ssdp:discover"\r\nMX: 2\r\n\r\n'),
    (b"\x03", b'M-SEARCH * HTTP/1.1\r\nHost: [FF0E::C]:1900\r\nMan: "ssdp:discover"\r\n'
              b'ST: urn:schemas-upnp-org:service:WANIPConnection:2\r\nMX: 3\r\n'
              b'User-Agent: Linux/6.1 UPnP/1.1 GUPnP/1.6.3\r\nCONFIGID.UPNP.ORG: -1\r\n\r\n'),
    (b"\x03", b'M-SEARCH * HTTP/1.1\r\nHOST: [ff05::c]:1900\r\nMAN: "ssdp:discover"\r\n'
              b'MX: 1\r\nST: ssdp:all\r\n\r\n'),
    (b"\x02", b'M-SEARCH * HTTP/1.1\r\nHOST: [2001:db8:1::1]:1900\r\nMAN: "ssdp:discover"\r\n'
              b'ST: upnp:rootdevice\r\n\r\n'),
    (b"\x02", b"NOTIFY * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nNT: upnp:rootdevice\r\n"
              b"NTS: ssdp:byebye\r\n\r\n"),
]

GENA_SEEDS = [
    # control byte, header lines (joined with CRLF), NOTIFY answer
    [(0x00, b"CALLBACK: <http://192.168.1.20:5000/notify>\r\nNT: upnp:event\r\nTIMEOUT: Second-1800",
      b"HTTP/1.1 200 OK\r\n"),
     (0x00, b"SID: @0\r\nTIMEOUT: Second-300", b""),
     (0x01, b"SID: @0", b"HTTP/1.0 412 Precondition Failed\r\n")],
    [(0x02, b"CALLBACK: <http://192.168.1.30/a><http://192.168.1.31:80/b>\r\nNT: upnp:event\r\n"
            b"TIMEOUT: Second-infinite", b"HTTP/1.1 200\r\n"),
     (0x40, b"SID: @0\r\nNT: upnp:event", b"")],
    [(0x00, b"CALLBACK: <http://192.168.1.1/>\r\nNT: upnp:event", b""),
     (0x04, b"CALLBACK: <http://10.0.0.5/>\r\nNT: upnp:event", b"garbage"),
     (0x00, b"CALLBACK: http://192.168.1.20/\r\nNT: upnp:propchange", b""),
     (0x01, b"", b"")],
    [(0x20, b"CALLBACK: <http://192.168.1.20:1/x>,<http://192.168.1.21:65535/y>\r\nNT: upnp:event\r\n"
            b"TIMEOUT: Second-99999999999999999999", b"HTTP/1.1 500 x\r\n"),
     (0x80, b"SID: uuid:00000000-0000-4000-8000-000000000000\r\nTIMEOUT: second-0", b"")],
    # IPv6 subscribers (peer 5: 2001:db8:1::20, 6: fe80::20, 7: off the LAN):
    # their own address, GUPnP's link-local callback, zones and bad literals.
    [(5 << 2, b"CALLBACK: <http://[2001:db8:1::20]:49152/ServiceProxy0>\r\nNT: upnp:event\r\n"
              b"TIMEOUT: Second-1800", b"HTTP/1.1 200 OK\r\n"),
     (5 << 2, b"CALLBACK: <http://[fe80::20]:45686/ServiceProxy1>\r\nNT: upnp:event", b""),
     (6 << 2, b"CALLBACK: <http://[fe80::20]/x>\r\nNT: upnp:event", b"HTTP/1.1 200 OK\r\n"),
     (5 << 2 | 1, b"SID: @0", b"")],
    [(5 << 2, b"CALLBACK: <http://[fe80::20%25eth0]:80/>\r\nNT: upnp:event", b""),
     (5 << 2, b"CALLBACK: <http://[2001:db8:1::20/>\r\nNT: upnp:event", b""),
     (7 << 2, b"CALLBACK: <http://[2001:db8:9::5]:80/>\r\nNT: upnp:event", b""),
     (5 << 2, b"CALLBACK: <http://[::ffff:192.168.1.20]:80/a><http://[FD00:1::20]/b>\r\n"
              b"NT: upnp:event", b"")],
]


def ssdp():
    w = Writer("ssdp")
    for i, (ctl, dgram) in enumerate(SSDP_SEEDS):
        w.add("msearch-%d" % i, ctl + dgram)
    return w


def gena():
    w = Writer("gena")
    for i, reqs in enumerate(GENA_SEEDS):
        parts = [bytes([ctl]) + head + b"\r\n\r\n" + answer for ctl, head, answer in reqs]
        w.add("subscribe-%d" % i, b"\n>>>\n".join(parts))
    for name, text in cases():
        for j, (peer, req) in enumerate(parse_case(text)):
            line, headers, _ = split_request(req)
            if b"SUBSCRIBE" not in line.split(b" ")[0]:
                continue
            ctl = (1 if line.startswith(b"UNSUBSCRIBE") else 0) | (peer_selector(peer) << 2)
            head = b"\r\n".join(k.upper() + b": " + v for k, v in headers.items()
                                if k in (b"callback", b"nt", b"sid", b"timeout"))
            w.add("%s-%d" % (name, j), bytes([ctl]) + head + b"\r\n\r\n")
    return w


# NAT-PMP (RFC 6886) and PCP (RFC 6887) datagrams; fuzz_pcp_drive.h's
# records: ctl (peer, clock step, WAN toggle, new epoch), length, data.
def be16(v):
    return bytes([(v >> 8) & 255, v & 255])


def be32(v):
    return bytes([(v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255])


def natpmp_map(op, iport, eport, life):
    return bytes([0, op, 0, 0]) + be16(iport) + be16(eport) + be32(life)


def v4mapped(a):
    return bytes(10) + b"\xff\xff" + bytes(int(x) for x in a.split("."))


PEER_ADDR = ["192.168.1.20", "192.168.1.30", "192.168.1.1", "192.168.1.255", "10.0.0.5",
             "2001:db8:1::20", "fe80::20", "2001:db8:9::5"]


def pcp_client(peer):
    """The header's client address: IPv4-mapped, or the IPv6 address itself."""
    a = PEER_ADDR[peer]
    if ":" not in a:
        return v4mapped(a)
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def pcp_opt(code, data):
    pad = (4 - len(data) % 4) % 4
    return bytes([code, 0]) + be16(len(data)) + data + bytes(pad)


def pcp_map(peer, nonce, proto, iport, eport, life, opts=b"", ext="0.0.0.0"):
    return (bytes([2, 1, 0, 0]) + be32(life) + pcp_client(peer) +
            bytes([nonce]) * 12 + bytes([proto, 0, 0, 0]) + be16(iport) + be16(eport) +
            v4mapped(ext) + opts)


def pcp_announce(peer):
    return bytes([2, 0, 0, 0]) + be32(0) + pcp_client(peer)


def records(recs, config=0):
    return bytes([config]) + b"".join(bytes([ctl]) + be16(len(d)) + d for ctl, d in recs)


NATPMP_SEEDS = [
    [(0, b"\0\0")],
    [(0, natpmp_map(2, 8080, 8080, 7200)), (1, natpmp_map(2, 8080, 8080, 7200)),
     (0x08, natpmp_map(2, 8080, 0, 7200)), (0, natpmp_map(2, 8080, 0, 0))],
    [(0, natpmp_map(1, 5000, 0, 60)), (0, natpmp_map(1, 5001, 0, 60)),
     (0, natpmp_map(1, 0, 0, 0)), (0x20, b"\0\0")],
    [(0x40, b"\0\0"), (0, natpmp_map(2, 6000, 6000, 600)), (0xc0, b"\0\0")],
    [(2, natpmp_map(2, 80, 80, 600)), (3, natpmp_map(1, 9999, 9999, 600)),
     (4, b"\0\0"), (0, b"\0\x07"), (0, b"\0\x81")],
]

PCP_SEEDS = [
    [(0, pcp_announce(0))],
    [(0, pcp_map(0, 1, 6, 8080, 8080, 3600)), (0x08, pcp_map(0, 1, 6, 8080, 0, 3600)),
     (0, pcp_map(0, 2, 6, 8080, 0, 3600)), (0, pcp_map(0, 1, 6, 8080, 0, 0))],
    [(0, pcp_map(0, 1, 17, 5000, 0, 600, pcp_opt(2, b""))),
     (1, pcp_map(1, 3, 17, 5000, 5000, 600, pcp_opt(2, b""))),
     (0, pcp_map(0, 1, 0, 0, 0, 0))],
    [(0, pcp_map(0, 1, 6, 7000, 7000, 600, pcp_opt(1, v4mapped("192.168.1.50")))),
     (0, pcp_map(0, 1, 6, 7000, 7000, 600, pcp_opt(3, bytes([0, 128]) + be16(0) +
                                                    v4mapped("198.51.100.9")))),
     (0, pcp_map(0, 1, 6, 7000, 7000, 600, pcp_opt(3, bytes(20)) + pcp_opt(200, b"xyz"))),
     (0, pcp_map(0, 1, 6, 7000, 7000, 600, pcp_opt(42, b"")))],
    [(1, pcp_announce(0)), (0, bytes([1, 0]) + bytes(22)), (0, bytes([2, 2]) + bytes(78)),
     (0, bytes([2, 1]) + bytes(23)), (0x40, pcp_map(0, 1, 6, 7000, 0, 600)),
     (0, b"\0\0"), (0x80, pcp_map(0, 1, 132, 7000, 0, 600))],
    # PCP over IPv6: ANNOUNCE, MAP (refused: no pinholes yet), a mismatch, NAT-PMP.
    [(5, pcp_announce(5)), (6, pcp_announce(6)), (5, pcp_announce(0)),
     (5, pcp_map(5, 1, 6, 7000, 7000, 600)), (5, pcp_map(5, 1, 17, 7000, 0, 0)),
     (5, pcp_map(5, 1, 6, 7000, 7000, 600, pcp_opt(1, v4mapped("192.168.1.20")))),
     (5, b"\0\0"), (7, pcp_announce(7))],
]


def natpmp():
    w = Writer("natpmp")
    for i, recs in enumerate(NATPMP_SEEDS):
        for config in (0, 1, 2):
            w.add("seq-%d-%d" % (i, config), records(recs, config))
    return w


def pcp():
    w = Writer("pcp")
    for i, recs in enumerate(PCP_SEEDS):
        for config in (0, 1, 2):
            w.add("seq-%d-%d" % (i, config), records(recs, config))
    return w


# ---- lease files (fuzz_leasefile.c; format at the top of store/leasefile.c) ----

def lf_line(body):
    """One record line: the CRC-32 of the body in 8 hex digits, a space, the body."""
    return b"%08x %s\n" % (zlib.crc32(body) & 0xffffffff, body)


def lf_put(proto, port, rh="0.0.0.0", client="192.168.1.20", int_port=None, enabled=1,
           origin="upnp", owner=None, expiry=1700003600, desc=b"web"):
    return lf_line(b"m %s %d %s %s %d %d %s %s %d %s" % (
        proto.encode(), port, rh.encode(), client.encode(), int_port or port, enabled,
        origin.encode(), (owner or client).encode(), expiry, desc))


def lf_snapshot(gen, puts, time=1700000000, end=True):
    out = lf_line(b"igdd-leases 1 snapshot %d %d" % (gen, time)) + b"".join(puts)
    return out + (lf_line(b"end %d" % len(puts)) if end else b"")


def lf_journal(gen, groups, time=1700000100, tail=b""):
    out = lf_line(b"igdd-leases 1 journal %d %d" % (gen, time))
    for g in groups:
        out += b"".join(g) + lf_line(b"c %d %d" % (len(g), time))
    return out + tail


def lf_del(proto, port, rh="0.0.0.0"):
    return lf_line(b"d %s %d %s" % (proto.encode(), port, rh.encode()))


def leasefile():
    w = Writer("leasefile")
    snap = lf_snapshot(3, [lf_put("TCP", 8080), lf_put("UDP", 9000, origin="natpmp"),
                           lf_put("TCP", 3001, rh="198.51.100.7", int_port=13001),
                           lf_put("TCP", 5000, origin="static", owner="0.0.0.0",
                                  desc=b"50%25%20off%3B%20a+b"),
                           lf_put("UDP", 5351, origin="pcp", enabled=0, desc=b""),
                           lf_put("TCP", 7000, expiry=1699999000)])
    journal = lf_journal(3, [[lf_put("TCP", 8081, desc=b"new")], [lf_del("TCP", 8080)],
                             [lf_put("UDP", 9000, origin="natpmp", expiry=1700090000),
                              lf_del("TCP", 3001, "198.51.100.7")]])
    prev = lf_journal(2, [[lf_put("TCP", 6000)]])
    stale = lf_journal(1, [[lf_put("TCP", 6001)]])
    files = [
        ("snapshot", [snap]),
        ("snapshot-journal", [snap, b"", journal]),
        ("three", [snap, lf_journal(3, [[lf_put("TCP", 6002)]]), lf_journal(4, [[lf_del("UDP", 9000)]])]),
        ("stale-journal", [snap, stale, journal]),
        ("journal-only", [b"", prev, journal]),
        ("uncommitted", [snap, b"", journal + lf_put("TCP", 8090) + b"0badc0de m TCP 8091"]),
        ("bad-crc", [snap.replace(b" m TCP 8080 ", b" m TCP 8089 "), b"", journal]),
        ("no-end", [lf_snapshot(3, [lf_put("TCP", 8080)], end=False), b"", journal]),
        ("bad-count", [snap, b"", lf_journal(3, []) + lf_put("TCP", 1) + lf_line(b"c 5 1700000200")]),
        ("bad-header", [lf_line(b"igdd-leases 2 snapshot 3 1700000000") + lf_put("TCP", 1),
                        b"", journal]),
        ("clock-ahead", [lf_snapshot(3, [lf_put("TCP", 8080)], time=1900000000), b"", b""]),
        ("pinholes", [lf_snapshot(3, [lf_put("TCP", 8080),
                                      lf_line(b"p 212 6 :: 0 2001:db8:1::20 5555 upnp 2001:db8:1::20 0 1700003600"),
                                      lf_line(b"p 47504 136 2001:db8:9::1 53 2001:db8:1::20 5556 pcp fe80::20 1 1700000100")]),
                      b"", lf_journal(3, [[lf_line(b"q 212")],
                                          [lf_line(b"p 31702 17 :: 0 2001:db8:1::30 6000 upnp - 0 1700090000")],
                                          [lf_line(b"p 9 1 :: 0 2001:db8:1::30 6000 upnp - 9 1700090000"),
                                           lf_line(b"q 0")]])]),
        ("long-desc", [lf_snapshot(3, [lf_put("TCP", 1, desc=b"%22" * 256),
                                       lf_put("TCP", 2, desc=b"x" * 257),
                                       lf_put("TCP", 3, desc=b"%00")]), b"", b""]),
        ("odd-records", [lf_snapshot(3, [lf_put("ICMP", 1), lf_put("TCP", 0), lf_put("TCP", 70000),
                                         lf_put("TCP", 4, rh="1.2.3"), lf_put("TCP", 5, origin="x"),
                                         lf_put("TCP", 6, enabled=2),
                                         lf_line(b"m TCP 7 0.0.0.0 1.1.1.1 7 1 upnp 1.1.1.1 +5 d"),
                                         lf_del("TCP", 8)]), b"", b""]),
    ]
    for name, parts in files:
        data = b">>>\n".join(parts)       # each file keeps its own line ends
        for control in (0, 1, 2, 3, 4, 8, 12):
            w.add("%s-%d" % (name, control), bytes([control]) + data)
    return w


# The privileged helper's messages (fuzz_priv.c): a flags byte, then
# requests as the engine sends them (struct priv_req, little-endian as on
# the machines igdd runs on), split by a marker.
PRIV_VERSION = 2
PRIV_MARKER = b"\xff\xfe\xfd\xfc"


def le16(v):
    return bytes([v & 255, (v >> 8) & 255])


def le32(v):
    return bytes([v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >> 24) & 255])


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def priv_entry(internal, ext, port, proto=6, remote="0.0.0.0"):
    return ip4(remote) + ip4(internal) + le16(ext) + le16(port) + bytes([proto, 0, 0, 0])


def priv_req(op, seq, entries=()):
    return (le32(PRIV_VERSION) + le32(seq) + le16(op) + le16(len(entries)) + le32(0) +
            b"".join(entries))


def priv_grant(entry, created=999000):
    return le32(0x69676467) + le32(PRIV_VERSION) + le32(created) + le32(0) + entry


def priv_gone(entries, why=-98):
    head = le32(PRIV_VERSION) + le32(0) + le32(why & 0xffffffff) + le32(len(entries)) + \
        le16(2) + le16(0)
    body = b"".join(entries)
    return head + body + bytes(64 * 16 - len(body))


PAD, FD, GRANTED = 0x10, 0x01, 0x02


def priv():
    w = Writer("priv")
    lan = "192.168.77."
    e1 = priv_entry(lan + "20", 18080, 8080)
    e2 = priv_entry(lan + "21", 19000, 9000, 17, "198.51.100.7")
    low = priv_entry(lan + "20", 80, 8080)
    seeds = [
        ("apply", PAD | 1 << 2, priv_req(1, 2, [e1, e2])),
        ("remove", PAD | 2 << 2, priv_req(2, 3, [e1])),
        ("flush", PAD, priv_req(3, 4)),
        ("wan", PAD | 0x40, priv_req(4, 5) + PRIV_MARKER + priv_req(5, 6)),
        ("reload", PAD, priv_req(6, 7)),
        ("acl", PAD | 2 << 2, priv_req(1, 8, [low])),
        ("well-known", PAD | 1 << 2, priv_req(1, 8, [low])),
        ("grant", PAD | FD | GRANTED | 1 << 2, priv_req(1, 9, [low])),
        ("grant-tail", FD | 1 << 2, priv_req(1, 9, [low]) + priv_grant(low)),
        ("deny-all", PAD | 3 << 2, priv_req(1, 10, [e1])),
        ("lan16", PAD | 0x20, priv_req(1, 11, [priv_entry("192.168.3.4", 20000, 20000)])),
        ("sequence", PAD | 0xc0 | 1 << 2,
         priv_req(1, 12, [e1]) + PRIV_MARKER + priv_req(1, 13, [e1, e2]) + PRIV_MARKER +
         priv_req(2, 14, [e2]) + PRIV_MARKER + priv_req(3, 15)),
        ("bad", PAD, priv_req(9, 16, [e1])),
        ("gone", 0, priv_gone([e1, e2])),
    ]
    for name, flags, body in seeds:
        w.add(name, bytes([flags]) + body)
    return w


# ---- STUN responses (fuzz_stun.c: the datagram as it comes) ----

STUN_SEEDS = [
    # stund 0.97: MAPPED, SOURCE, CHANGED, XOR-MAPPED, SOFTWARE with a NUL
    ("stund", "010100442112a442344e0a959c864dd010ef61970001000800019c40c6336401"
              "0004000800010d96c63364020005000800010d97c6336403002000080001bd52"
              "e721c04380220010566f766964612e6f726720302e393700"),
    # coturn 4.6.1: XOR-MAPPED, MAPPED, RESPONSE-ORIGIN, OTHER-ADDRESS, SOFTWARE
    ("coturn", "010100482112a44254472d43013506b2059909ec00200008000186eae721c043"
               "000100080001a7f8c6336401802b000800010d96c6336402802c000800010d97"
               "c633640380220014436f7475726e2d342e362e312027476f72737427"),
    # coturn with one address: 420 to CHANGE-REQUEST
    ("error-420", "011100142112a442000000000000000000000007000900100000041"
                  "44e6f70650000000000000000"),
    ("error-none", "011100002112a442000000000000000000000007"),
    ("ipv6", "010100182112a44200000000000000000000000100200014000286ea"
             "00000000000000000000000000000001"),
    ("unknown-required", "010100142112a442000000000000000000000001"
                         "00200008000186eae721c0437fff000100000000"),
    ("fingerprint", "010100142112a442000000000000000000000001"
                    "00200008000186eae721c04380280004deadbeef"),
]


# ---- PCP / NAT-PMP responses to igdd as a client (fuzz_pcpc.c) ----

def pcp_response(op, result, lifetime, epoch, body=b""):
    return bytes([2, 0x80 | op, 0, result]) + lifetime.to_bytes(4, "big") + \
        epoch.to_bytes(4, "big") + bytes(12) + body


def pcp_map_body(proto, iport, eport, addr=(198, 51, 100, 1)):
    return bytes(range(1, 13)) + bytes([proto, 0, 0, 0]) + iport.to_bytes(2, "big") + \
        eport.to_bytes(2, "big") + bytes(10) + b"\xff\xff" + bytes(addr)


PCPC_SEEDS = [
    ("map-ok", pcp_response(1, 0, 7200, 42, pcp_map_body(6, 8080, 8080))),
    ("map-other-port", pcp_response(1, 0, 120, 43, pcp_map_body(17, 5000, 5001))),
    ("map-no-resources", pcp_response(1, 8, 30, 44, pcp_map_body(6, 8080, 0, (0, 0, 0, 0)))),
    ("map-prefer-failure", pcp_response(1, 0, 120, 45, pcp_map_body(6, 80, 80) + b"\x02\x00\x00\x00")),
    ("announce", pcp_response(0, 0, 0, 0)),
    ("natpmp-unsupp-version", bytes.fromhex("0081000100000e10")),
    ("natpmp-external", bytes.fromhex("008000000000002ac6336401")),
    ("natpmp-map", bytes.fromhex("00820000000000301f901f9100001c20")),
    ("natpmp-error", bytes.fromhex("00820004000000301f90000000000000")),
]


def pcpc():
    w = Writer("pcpc")
    for name, data in PCPC_SEEDS:
        w.add(name, data)
    return w


# ---- an upstream UPnP IGD's answers to igdd as a control point (fuzz_igdc.c) ----

IGDC_SEARCH = (b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
               b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
               b"USN: uuid:6c0ffee0-0000-4000-8000-0000000000d1::"
               b"urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n"
               b"SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
               b"LOCATION: http://10.0.0.1:5000/rootDesc.xml\r\n"
               b"BOOTID.UPNP.ORG: 1796589054\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n")
IGDC_DESC = (b'<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
             b"<URLBase>http://10.0.0.1:5000/</URLBase><device><deviceList><device><deviceList><device>"
             b"<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1"
             b"</serviceType><controlURL>/ctl/PPP</controlURL></service><service><serviceType>"
             b"urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>ctl/IPConn"
             b"</controlURL></service></serviceList></device></deviceList></device></deviceList>"
             b"</device></root>")
IGDC_ENV = (b'<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            b's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>%s</s:Body></s:Envelope>')
IGDC_SOAP = [
    ("soap-ext", IGDC_ENV % b'<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:'
                            b'WANIPConnection:2"><NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>'
                            b"</u:GetExternalIPAddressResponse>"),
    ("soap-add", IGDC_ENV % b'<u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:'
                            b'WANIPConnection:2"/>'),
    ("soap-any", IGDC_ENV % b'<u:AddAnyPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:'
                            b'WANIPConnection:2"><NewReservedPort>8091</NewReservedPort>'
                            b"</u:AddAnyPortMappingResponse>"),
    ("soap-fault", IGDC_ENV % b"<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError"
                              b'</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">'
                              b"<errorCode>718</errorCode><errorDescription>ConflictInMappingEntry"
                              b"</errorDescription></UPnPError></detail></s:Fault>"),
]


def igdc():
    w = Writer("igdc")
    w.add("search", IGDC_SEARCH)
    w.add("desc", IGDC_DESC)
    w.add("http-desc", b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
          % len(IGDC_DESC) + IGDC_DESC)
    for name, body in IGDC_SOAP:
        w.add(name, body)
        w.add("http-" + name, b"HTTP/1.1 %s\r\nContent-Type: text/xml\r\n\r\n"
              % (b"500 Internal Server Error" if name == "soap-fault" else b"200 OK") + body)
    w.add("http-chunked", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<a/>\r\n0\r\n\r\n")
    w.add("http-chunked-desc", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          + igdc_chunks(IGDC_DESC) + b"0\r\nX-Trailer: 1\r\n\r\n")
    w.add("http-chunked-soap-any", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          + igdc_chunks(IGDC_SOAP[2][1]) + b"0\r\n\r\n")
    return w


def igdc_chunks(body, size=100):
    """body in chunks of size bytes, the first with an extension"""
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += b"%x%s\r\n%s\r\n" % (len(part), b";ext=1" if i == 0 else b"", part)
    return out


def stun():
    w = Writer("stun")
    for name, hexdata in STUN_SEEDS:
        w.add(name, bytes.fromhex(hexdata))
    return w


def main():
    writers = list(http_and_soap()) + [configs(), ssdp(), gena(), natpmp(), pcp(), leasefile(),
                                        priv(), stun(), pcpc(), igdc()]
    for w in writers:
        print("%-8s %4d generated seeds" % (os.path.basename(w.dir), w.count()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
