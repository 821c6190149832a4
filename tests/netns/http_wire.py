#!/usr/bin/env python3
"""http_wire.py - HTTP/1.1 behaviour of igdd's server on the wire, for
tests/netns/test_http.sh (RFC 9112, RFC 9110 10.1.1).

Run inside a LAN namespace of the lab against igdd's HTTP server; every
check prints "ok: ..." or raises (exit status 1). Every loop is bounded in
count and in time; every socket is closed.

  http_wire.py GW PORT --client ADDR
      Response fields (Date, Server, Content-Type, Content-Length, EXT on
      SOAP answers), pipelined requests answered in order on one
      connection (GET, SOAP POST, HEAD without a body), HTTP/1.0
      keep-alive, Expect: 100-continue (the interim answer comes before
      the body is sent) and another expectation (417), a chunked SOAP
      body, absolute-form, a transfer coding other than chunked (501), and
      a response of several MB held up by a small receive buffer (the
      server's partial writes and EPOLLOUT).

Every wait for an answer is the safety timeout (labtime.SAFETY): no check
depends on how fast the server is.
"""
import argparse
import re
import socket
import sys
import time

from labtime import SAFETY

WANIP = "urn:schemas-upnp-org:service:WANIPConnection:2"


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    raise SystemExit("FAIL: " + msg)


def soap_body(action, args):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in args)
    return ('<?xml version="1.0"?>\n'
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            '<u:%s xmlns:u="%s">%s</u:%s></s:Body></s:Envelope>'
            % (action, WANIP, inner, action)).encode()


def soap_head(host, action, framing, extra=""):
    return ("POST /ctl/IPConn HTTP/1.1\r\nHost: %s\r\n"
            'Content-Type: text/xml; charset="utf-8"\r\n'
            'SOAPAction: "%s#%s"\r\n%s%s\r\n' % (host, WANIP, action, framing, extra)).encode()


class Conn:
    """One connection with a buffered reader of responses."""

    def __init__(self, gw, port, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(SAFETY)
        self.s.connect((gw, port))
        self.buf = b""

    def close(self):
        self.s.close()

    def fill(self):
        """More bytes: only a server that sends nothing for the safety
        timeout fails (a long answer may take as long as it needs)."""
        self.s.settimeout(SAFETY)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            fail("nothing more came in %.0f s (have %r)" % (SAFETY, self.buf[:200]))
        if not d:
            fail("connection closed early (have %r)" % self.buf[:200])
        self.buf += d

    def response(self, head_only=False):
        """(status, {field: value}, body) of the next response."""
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0] + " ")
        if not m:
            fail("bad status line %r" % lines[0])
        fields = {}
        for ln in lines[1:]:
            name, _, value = ln.partition(":")
            fields[name.strip().lower()] = value.strip()
        if not head_only and fields.get("transfer-encoding") == "chunked":
            return int(m.group(1)), fields, self.chunked_body()
        if not head_only and "content-length" not in fields and m.group(1) == "200":
            return int(m.group(1)), fields, self.body_to_close()
        n = 0 if head_only else int(fields.get("content-length", "0"))
        while len(self.buf) < n:
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(m.group(1)), fields, body

    def chunked_body(self):
        """A chunked body (RFC 9112 7.1), decoded; the trailer must be empty."""
        out = []
        while True:
            while b"\r\n" not in self.buf:
                self.fill()
            line, _, self.buf = self.buf.partition(b"\r\n")
            if not re.fullmatch(rb"[0-9a-f]+", line):
                fail("bad chunk size line %r" % line[:40])
            n = int(line, 16)
            while len(self.buf) < n + 2:
                self.fill()
            if self.buf[n:n + 2] != b"\r\n":
                fail("chunk of %d bytes not followed by CRLF" % n)
            if n == 0:
                self.buf = self.buf[2:]
                self.chunks = len(out)
                return b"".join(out)
            out.append(self.buf[:n])
            self.buf = self.buf[n + 2:]

    def body_to_close(self):
        """A body without a length (HTTP/1.0): everything until the close.
        Only a server that sends nothing for the safety timeout fails."""
        while True:
            self.s.settimeout(SAFETY)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                fail("nothing more came in %.0f s (have %d bytes)" % (SAFETY, len(self.buf)))
            if not d:
                body, self.buf = self.buf, b""
                return body
            self.buf += d

    def closed(self, timeout=SAFETY):
        """True when the server closes without sending more (False when it
        sends more, or keeps the connection open for timeout seconds)."""
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True


def check_fields(a):
    host = "%s:%d" % (a.gw, a.port)
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(("GET /rootDesc.xml HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
        st, f, body = c.response()
        if st != 200 or not body.startswith(b"<?xml"):
            fail("GET /rootDesc.xml: %r" % st)
        for name in ("date", "server", "content-type", "content-length"):
            if name not in f:
                fail("GET: no %s field (%r)" % (name, f))
        # server_os at its default: the OS, not the kernel release.
        if f["server"] != "Linux UPnP/1.1 igdd/" + f["server"].rpartition("/")[2]:
            fail("Server field %r" % f["server"])
        if "connection" in f:
            fail("a kept-alive answer says Connection: %s" % f["connection"])
        body = soap_body("GetExternalIPAddress", [])
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Content-Length: %d\r\n" % len(body))
                    + body)
        st, f, body = c.response()
        if st != 200 or b"<NewExternalIPAddress>" not in body or "ext" not in f:
            fail("SOAP answer: %r %r" % (st, f))
    finally:
        c.close()
    ok("response fields: Date, Server, Content-Type, Content-Length; EXT on SOAP answers")


def check_pipelining(a):
    host = "%s:%d" % (a.gw, a.port)
    body = soap_body("GetExternalIPAddress", [])
    reqs = (("GET /rootDesc.xml HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
            + soap_head(host, "GetExternalIPAddress", "Content-Length: %d\r\n" % len(body)) + body
            + ("HEAD /rootDesc.xml HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode()
            + ("GET /nothere HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode())
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(reqs)               # all at once: pipelined
        st1, f1, b1 = c.response()
        st2, _, b2 = c.response()
        st3, f3, _ = c.response(head_only=True)
        st4, f4, _ = c.response()
        if (st1, st2, st3, st4) != (200, 200, 200, 404):
            fail("pipelined answers %r" % ((st1, st2, st3, st4),))
        if not b1.startswith(b"<?xml") or b"<NewExternalIPAddress>" not in b2:
            fail("pipelined answers out of order")
        if f3.get("content-length") != f1.get("content-length"):
            fail("HEAD Content-Length %r, GET %r" % (f3.get("content-length"),
                                                     f1.get("content-length")))
        if f4.get("connection", "").lower() != "close":
            fail("the last answer does not say Connection: close (%r)" % f4)
        if c.buf or not c.closed():
            fail("more after the last pipelined answer (%r)" % c.buf[:80])
    finally:
        c.close()
    ok("four pipelined requests (GET, POST, HEAD, GET) answered in order on one connection; "
       "HEAD without a body")


def check_http10(a):
    c = Conn(a.gw, a.port)
    try:
        for i in range(3):
            c.s.sendall(b"GET /rootDesc.xml HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            st, f, _ = c.response()
            if st != 200 or f.get("connection", "").lower() != "keep-alive":
                fail("HTTP/1.0 keep-alive request %d: %r %r" % (i + 1, st, f))
        c.s.sendall(b"GET /rootDesc.xml HTTP/1.0\r\n\r\n")
        st, f, _ = c.response()
        if st != 200 or f.get("connection", "").lower() != "close" or not c.closed():
            fail("HTTP/1.0 without keep-alive: not closed")
    finally:
        c.close()
    ok("HTTP/1.0: kept alive on request, closed otherwise")


def check_expect(a):
    host = "%s:%d" % (a.gw, a.port)
    body = soap_body("GetExternalIPAddress", [])
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Content-Length: %d\r\n" % len(body),
                              "Expect: 100-continue\r\n"))
        st, _, _ = c.response()
        if st != 100:
            fail("Expect: 100-continue: first answer %r" % st)
        c.s.sendall(body)
        st, _, b = c.response()
        if st != 200 or b"<NewExternalIPAddress>" not in b:
            fail("after 100 Continue: %r" % st)
    finally:
        c.close()
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Content-Length: 20000\r\n",
                              "Expect: 100-continue\r\n"))
        st, f, _ = c.response()
        if st != 413 or f.get("connection", "").lower() != "close":
            fail("Expect: 100-continue with a body too large: %r" % st)
    finally:
        c.close()
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Content-Length: %d\r\n" % len(body),
                              "Expect: 200-ok\r\n") + body)
        st, _, _ = c.response()
        if st != 417 or not c.closed():
            fail("Expect: 200-ok: %r" % st)
    finally:
        c.close()
    ok("Expect: 100-continue answered before the body (413 instead when too large); "
       "another expectation 417")


def check_chunked_and_forms(a):
    host = "%s:%d" % (a.gw, a.port)
    body = soap_body("GetExternalIPAddress", [])
    chunks = b"".join(b"%x;n=%d\r\n%s\r\n" % (len(body[i:i + 50]), i, body[i:i + 50])
                      for i in range(0, len(body), 50)) + b"0\r\nX-Trailer: t\r\n\r\n"
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Transfer-Encoding: chunked\r\n")
                    + chunks)
        st, _, b = c.response()
        if st != 200 or b"<NewExternalIPAddress>" not in b:
            fail("chunked SOAP body: %r" % st)
        c.s.sendall(("GET http://%s/rootDesc.xml HTTP/1.1\r\nHost: other.example\r\n\r\n"
                     % host).encode())
        st, _, b = c.response()
        if st != 200 or not b.startswith(b"<?xml"):
            fail("absolute-form: %r" % st)
        c.s.sendall(("GET http://evil.example/rootDesc.xml HTTP/1.1\r\nHost: %s\r\n\r\n"
                     % host).encode())
        st, _, _ = c.response()
        if st != 400:
            fail("absolute-form naming another host: %r" % st)
    finally:
        c.close()
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetExternalIPAddress", "Transfer-Encoding: gzip\r\n"))
        st, _, _ = c.response()
        if st != 501 or not c.closed():
            fail("Transfer-Encoding gzip: %r" % st)
    finally:
        c.close()
    ok("chunked body with extensions and a trailer; absolute-form (its authority checked as "
       "Host); gzip transfer coding 501")


def check_slow_reader(a):
    """A listing of several MB (4000 mappings whose descriptions are 250
    quotes, escaped in the answer) requested through a 4 KiB receive
    buffer and not read for a second: more than the server's socket takes
    (net.ipv4.tcp_wmem allows at most 4 MiB), so it writes the rest as the
    socket drains (EPOLLOUT). Then it is read whole and checked."""
    host = "%s:%d" % (a.gw, a.port)
    n = 4000
    desc = '"' * 250
    c = Conn(a.gw, a.port)
    try:
        for i in range(n):
            body = soap_body("AddPortMapping", [
                ("NewRemoteHost", ""), ("NewExternalPort", 20000 + i), ("NewProtocol", "TCP"),
                ("NewInternalPort", 20000 + i), ("NewInternalClient", a.client),
                ("NewEnabled", 1), ("NewPortMappingDescription", desc),
                ("NewLeaseDuration", 3600)])
            c.s.sendall(soap_head(host, "AddPortMapping", "Content-Length: %d\r\n" % len(body))
                        + body)
            st, fields, _ = c.response()
            if st != 200:
                fail("AddPortMapping %d: %r" % (i, st))
            if fields.get("connection") == "close":   # its lifetime or request count
                c.close()
                c = Conn(a.gw, a.port)
    finally:
        c.close()
    c = Conn(a.gw, a.port, rcvbuf=4096)
    try:
        body = soap_body("GetListOfPortMappings", [
            ("NewStartPort", 0), ("NewEndPort", 65535), ("NewProtocol", "TCP"),
            ("NewManage", 1), ("NewNumberOfPorts", 0)])
        c.s.sendall(soap_head(host, "GetListOfPortMappings", "Content-Length: %d\r\n" % len(body))
                    + body)
        time.sleep(1.0)                 # the server fills its socket and waits
        st, fields, rest = c.response()
        if st != 200:
            fail("slow reader: status %r" % st)
        # Written in parts as it is read: chunked, never whole in memory.
        if fields.get("transfer-encoding") != "chunked" or "content-length" in fields:
            fail("slow reader: a long listing not sent in chunks: %r" % fields)
        found = rest.count(b"<p:NewExternalPort>")
        if found != n or len(rest) < 5 << 20:
            fail("slow reader: %d of %d entries in %d bytes" % (found, n, len(rest)))
        if not rest.endswith(b"</u:GetListOfPortMappingsResponse></s:Body></s:Envelope>\n"):
            fail("slow reader: the envelope does not end: %r" % rest[-80:])
        chunks = c.chunks
        # The connection is still usable afterwards.
        c.s.sendall(("GET /rootDesc.xml HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                     % host).encode())
        st, _, _ = c.response()
        if st != 200:
            fail("after the slow listing: %r" % st)
    finally:
        c.close()
    ok("a %d-byte listing (%d chunks), held up by a reader with a 4 KiB receive buffer, "
       "arrived whole; the connection then served another request" % (len(rest), chunks))
    # HTTP/1.0 has no chunks: the long listing ends with the connection.
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetListOfPortMappings", "Content-Length: %d\r\n" % len(body))
                    .replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n") + body)
        st, fields, rest10 = c.response()
        if st != 200 or "content-length" in fields or "transfer-encoding" in fields \
                or fields.get("connection") != "close":
            fail("HTTP/1.0 listing: %r %r" % (st, fields))
        if rest10.count(b"<p:NewExternalPort>") != n:
            fail("HTTP/1.0 listing: %d of %d entries" % (rest10.count(b"<p:NewExternalPort>"), n))
    finally:
        c.close()
    ok("the same listing to an HTTP/1.0 client: %d bytes, ended by the close" % len(rest10))
    # A listing that fits one part keeps its Content-Length.
    small = soap_body("GetListOfPortMappings", [
        ("NewStartPort", 0), ("NewEndPort", 65535), ("NewProtocol", "TCP"),
        ("NewManage", 1), ("NewNumberOfPorts", 3)])
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "GetListOfPortMappings", "Content-Length: %d\r\n" % len(small))
                    + small)
        st, fields, one = c.response()
        if st != 200 or "content-length" not in fields or one.count(b"<p:NewExternalPort>") != 3:
            fail("a short listing: %r %r" % (st, fields))
    finally:
        c.close()
    ok("a listing of 3 entries: one piece with Content-Length")
    body = soap_body("DeletePortMappingRange", [
        ("NewStartPort", 20000), ("NewEndPort", 20000 + n), ("NewProtocol", "TCP"),
        ("NewManage", 1)])
    c = Conn(a.gw, a.port)
    try:
        c.s.sendall(soap_head(host, "DeletePortMappingRange", "Content-Length: %d\r\n" % len(body))
                    + body)
        st, _, _ = c.response()
        if st != 200:
            fail("DeletePortMappingRange: %r" % st)
    finally:
        c.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("gw")
    p.add_argument("port", type=int)
    p.add_argument("--client", required=True)
    a = p.parse_args()
    check_fields(a)
    check_pipelining(a)
    check_http10(a)
    check_expect(a)
    check_chunked_and_forms(a)
    check_slow_reader(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
