#!/usr/bin/env python3
"""hostile_http.py - hostile HTTP clients for tests/netns/test_limits.sh.

Run inside a LAN namespace of the lab (tests/netns/lib.sh) against igdd's
HTTP server; every check prints "ok: ..." or raises (exit status 1).
Every loop is bounded in count and in time; every socket is closed.
No check depends on how fast the server or this machine is: answers are
waited for up to the safety timeout (labtime.SAFETY); what is about time
(the request time limit, http_timeout) is checked by cause and order, a
lower bound, or a bound derived from time measured; a check that
something does not happen waits a short fixed time (slowness can only
make it pass). The checks that do not test the time limit expect igdd to
run with a long http_timeout (test_limits.sh's first run, 300 s).

  hostile_http.py conn-limits GW PORT --per-ip N --total M --src A B C D
      N connections from A are held, the next is refused; with M idle
      ones held in all (from A, B, C), D (holding none) takes the slot of
      one of A's and is served while the others are still held; with M
      busy ones (a request begun) held, D's connection waits unanswered
      in the backlog until they are released, then is served.
  hostile_http.py fair-share GW PORT --attack-src A1 A2 ... --good-src G
          --per-ip N --gap S --duration D
      N kept-alive connections from each attacking address ask every S
      seconds (more than http_max_connections in all); meanwhile G
      connects every half second, for D seconds and at least 10 times,
      and must be served every time.
  hostile_http.py lifetime GW PORT --gap S --lifetime L
      One kept-alive connection asking every S seconds is ended, with
      Connection: close, once it has lived http_max_lifetime (L s), not
      before.
  hostile_http.py max-requests GW PORT --limit N
      One kept-alive connection: answer N says Connection: close, the
      connection ends; answers 1..N-1 keep it.
  hostile_http.py slowloris GW PORT --attack-src A [A2 ...] --body-src B
          --good-src G --per-ip P --timeout T --duration S
      P connections per attacking address A (all it may hold), each
      sending one header byte per second, and two from B sending their
      body that way; meanwhile a well-behaved client at G asks for the
      description and for the external address in a loop, for S seconds
      and until every attacker has seen a connection cut. Checks every
      answer of the good client, that the attackers' connections are cut
      although they keep sending (so the limit is on the whole request,
      not on silence), never before T seconds; prints the good client's
      latency (p50, p99, max).
  hostile_http.py malformed GW PORT
      The wire-level malformed requests (truncated and oversized headers,
      bad Content-Length, framing, methods, versions): each gets its
      defined status or a closed connection, the daemon keeps answering,
      and the mapping table (GetListOfPortMappings) is unchanged after
      each.
  hostile_http.py lingering GW PORT --per-ip N --total M --src A --other B
      M (>= N) connections from A each get a malformed request answered
      (505, Connection: close) and are left open here: the server has shut
      its side and lingers, draining them; meanwhile one more connection
      from A is served (a connection that has sent its final answer counts
      against no per-address limit), and so is one from B although A's
      lingering connections held every slot (they give way).
  hostile_http.py refused GW PORT
      (from outside the LAN) the connection is closed without an answer.
  hostile_http.py keepalive GW PORT --timeout T
      One kept-alive connection asks every T/3 seconds until it has been
      served for longer than T: the request time limit counts from the
      end of the previous answer, so a client that is not slow is never
      cut, however long it stays. (When this machine stalls the client
      itself for nearly T between two requests, the connection may be cut
      rightly: that round proves nothing and is run again.)
  hostile_http.py fill GW PORT --client C --count N --base P
      N TCP mappings P..P+N-1 with descriptions of 250 quotes (the
      listing is several MB): the set-up of stuck-reader, made while
      http_timeout is long.
  hostile_http.py stuck-reader GW PORT --count N --base P --log FILE
      The listing of those mappings (more than a socket's send buffer)
      asked for through a 4 KiB receive buffer and then not read: the
      server abandons the response once the peer has taken nothing for
      http_timeout (its warning in the log FILE is awaited); what it had
      queued arrives, then the end of the stream, without the last
      chunk. The mappings are removed again.
  hostile_http.py gena-limits GW PORT --per-source N --total M --src A B ... Z
          --cb-port P
      N subscriptions from A (CALLBACK its own address, port P) are
      accepted with TIMEOUT Second-1800 for Second-infinite, the next gets
      503; B with a CALLBACK at A gets 412; B ... Y fill all M slots; Z
      still subscribes, A's oldest giving way; all are cancelled again.
"""
import argparse
import re
import select
import socket
import sys
import threading
import time

from labtime import LIFETIME, SAFETY, until

WANIP = "urn:schemas-upnp-org:service:WANIPConnection:2"


def soap_body(action, args):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in args)
    return ('<?xml version="1.0"?>\n'
            '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            '<u:%s xmlns:u="%s">%s</u:%s></s:Body></s:Envelope>'
            % (action, WANIP, inner, action)).encode()


def soap_request(host, action, args):
    body = soap_body(action, args)
    head = ("POST /ctl/IPConn HTTP/1.1\r\nHost: %s\r\n"
            'Content-Type: text/xml; charset="utf-8"\r\n'
            'SOAPAction: "%s#%s"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n'
            % (host, WANIP, action, len(body))).encode()
    return head + body


def connect(gw, port, src=None, timeout=SAFETY):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((gw, port))
    return s


class Result:
    """What exchange() saw: status (None: no status line), raw answer,
    closed (the server ended the stream; False: the wait ran out) and
    seconds from the connection attempt to the end."""

    def __init__(self, status, raw, closed, seconds):
        self.status, self.raw, self.closed, self.seconds = status, raw, closed, seconds


def exchange(gw, port, data, src=None, timeout=SAFETY, half_close=True):
    """Send data, read until the server closes (or, half_close False, a
    complete answer), at most timeout s without a byte."""
    t0 = time.monotonic()
    s = connect(gw, port, src, timeout)
    out, closed = b"", False
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass                        # the server may close before reading it all
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True           # reset
                break
            if not d:
                closed = True
                break
            out += d
            if b"\r\n\r\n" in out and not half_close and complete(out):
                break
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", out)
    return Result(int(m.group(1)) if m else None, out, closed, time.monotonic() - t0)


def complete(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length: *(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def get(gw, port, path, src=None, timeout=SAFETY):
    host = "%s:%d" % (gw, port)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode()
    return exchange(gw, port, req, src, timeout, half_close=False)


def soap(gw, port, action, args, src=None, timeout=SAFETY):
    return exchange(gw, port, soap_request("%s:%d" % (gw, port), action, args), src, timeout,
                    half_close=False)


def listing(gw, port):
    """The TCP mapping table as GetListOfPortMappings shows it (lease
    times dropped: they count down)."""
    r = soap(gw, port, "GetListOfPortMappings",
             [("NewStartPort", 0), ("NewEndPort", 65535), ("NewProtocol", "TCP"),
              ("NewManage", 1), ("NewNumberOfPorts", 0)])
    if r.status not in (200, 500):
        raise SystemExit("listing: status %r closed %r after %.3f s: %r" % (r.status, r.closed, r.seconds, r.raw[:300]))
    body = r.raw.partition(b"\r\n\r\n")[2]
    return re.sub(rb"<p:NewLeaseTime>\d+</p:NewLeaseTime>|&lt;p:NewLeaseTime&gt;\d+&lt;/p:NewLeaseTime&gt;",
                  b"", body)


def ask(s, req, what):
    """Send req on the kept-alive socket s and read its whole answer:
    (answer, whether it says Connection: close). Each wait for more is the
    socket's timeout (the safety timeout: connect())."""
    s.sendall(req)
    answer = b""
    while not complete(answer):
        try:
            d = s.recv(65536)
        except socket.timeout:
            fail("nothing more of %s in %.0f s (have %r)" % (what, SAFETY, answer[:80]))
        if not d:
            fail("connection closed before %s" % what)
        answer += d
    return answer, re.search(rb"(?im)^connection: *close",
                             answer.partition(b"\r\n\r\n")[0]) is not None


def soap_many(gw, port, action, arg_lists, src=None):
    """Yield the raw answer to action with each argument list, sent one
    after the other on kept-alive connections (a new one when the server
    ends one, as it does after http_max_lifetime or
    IGDD_HTTP_MAX_REQUESTS)."""
    host = ("%s:%d" % (gw, port)).encode()
    s = None
    try:
        for i, args in enumerate(arg_lists):
            body = soap_body(action, args)
            if s is None:
                s = connect(gw, port, src)
            answer, closing = ask(s, b"POST /ctl/IPConn HTTP/1.1\r\nHost: " + host + b"\r\n"
                                  b'Content-Type: text/xml\r\nSOAPAction: "' + WANIP.encode() +
                                  b"#" + action.encode() +
                                  b'"\r\nContent-Length: %d\r\n\r\n' % len(body) + body,
                                  "the answer to %s %d" % (action, i))
            yield answer
            if closing:
                s.close()
                s = None
    finally:
        if s is not None:
            s.close()


def add_args(rh, p, client, desc, lease=3600):
    return [("NewRemoteHost", rh), ("NewExternalPort", p), ("NewProtocol", "TCP"),
            ("NewInternalPort", p), ("NewInternalClient", client), ("NewEnabled", 1),
            ("NewPortMappingDescription", desc), ("NewLeaseDuration", lease)]


def bulk_add(gw, port, entries, src=None):
    """AddPortMapping for each (remote host, port, client, description);
    every answer must be 200."""
    args = (add_args(*e) for e in entries)
    for i, answer in enumerate(soap_many(gw, port, "AddPortMapping", args, src)):
        if not answer.startswith(b"HTTP/1.1 200 "):
            fail("set-up: AddPortMapping %d: %r" % (i, answer[:300]))


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    raise SystemExit("FAIL: " + msg)


# ---- connection limits ----------------------------------------------------

def closed_among(socks, want=0, settle=0.3):
    """The sockets of socks that the server has closed (EOF or reset)
    without our having sent anything: waits until want of them are (at
    most the safety timeout), then settle seconds more for any other."""
    out = []

    def poll(wait):
        readable, _, _ = select.select([s for s in socks if s not in out], [], [], wait)
        for s in readable:
            try:
                if s.recv(1) == b"":
                    out.append(s)
            except OSError:
                out.append(s)

    end = time.monotonic() + SAFETY
    while len(out) < want and time.monotonic() < end:
        poll(min(0.1, max(0.0, end - time.monotonic())))
    time.sleep(settle)
    poll(0)
    return out


def begin_request(s, gw, port, what):
    """Begin a request on s that the server then waits for: a POST head
    with Expect: 100-continue and no body yet. The interim 100 answer
    shows that the server has accepted s and read the head: s is busy
    (waiting for its body), no longer idle."""
    s.sendall(("POST /ctl/IPConn HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml\r\n"
               "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n" % (gw, port)).encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        try:
            d = s.recv(1)               # the interim answer only: nothing else comes
        except socket.timeout:
            fail("no 100 Continue on %s in %.0f s" % (what, SAFETY))
        if not d:
            fail("%s closed instead of 100 Continue (%r)" % (what, answer))
        answer += d
    if not answer.startswith(b"HTTP/1.1 100 "):
        fail("%s: %r instead of 100 Continue" % (what, answer))


def conn_limits(a):
    """igdd runs with a long http_timeout here: nothing held is cut
    however long this takes. Which connections the server has accepted,
    and whether they are idle or busy, an answer shows each time, never a
    pause."""
    held = []
    srcs = a.src
    hello = ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (a.gw, a.port)).encode()
    try:
        # Per address: per_ip held, the next refused.
        batch = [connect(a.gw, a.port, srcs[0]) for _ in range(a.per_ip + 2)]
        refused = closed_among(batch, want=2)
        kept = [s for s in batch if s not in refused]
        for s in refused:
            s.close()
        held += kept
        if len(kept) != a.per_ip:
            fail("%d connections from %s held, expected http_max_per_ip = %d"
                 % (len(kept), srcs[0], a.per_ip))
        r = get(a.gw, a.port, "/rootDesc.xml", srcs[1])
        if r.status != 200:
            fail("another address is not served while %s is at its limit (%r)"
                 % (srcs[0], r.status))

        # In total: fill up to total from the other addresses.
        i = 1
        while len(held) < a.total and i < len(srcs) - 1:
            n = min(a.per_ip, a.total - len(held))
            held += [connect(a.gw, a.port, srcs[i]) for _ in range(n)]
            i += 1
        if len(held) != a.total or closed_among(held):
            fail("could not hold http_max_connections = %d connections" % a.total)
        # One kept-alive request on each of the other addresses'
        # connections: all are accepted, and idle again. The first
        # address's were accepted before its refusals (and a settling
        # wait, at least): they have been idle the longest.
        for k, s in enumerate(held[a.per_ip:]):
            ask(s, hello, "the answer on held connection %d" % (a.per_ip + k + 1))
        # Every slot is held by an idle connection: a host with none
        # takes the slot of the longest idle connection of a host
        # holding the most, and is served while the others stay held.
        r = get(a.gw, a.port, "/rootDesc.xml", srcs[-1])
        if r.status != 200:
            fail("a new host was not served while idle connections held every slot (%r)"
                 % r.status)
        closed = closed_among(held, want=1)
        if len(closed) != 1 or closed[0].getsockname()[0] != srcs[0]:
            fail("%d held connections closed for the new host, expected one of %s's"
                 % (len(closed), srcs[0]))
        held.remove(closed[0])
        closed[0].close()
        # Back to the limit, and every connection busy (a request begun,
        # its head read): none may be taken, so the next connection waits
        # in the listen backlog, unanswered, until a slot frees.
        held.append(connect(a.gw, a.port, srcs[0]))
        for k, s in enumerate(held):
            begin_request(s, a.gw, a.port, "held connection %d" % (k + 1))
        extra = connect(a.gw, a.port, srcs[-1])
        extra.sendall(("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                       % (a.gw, a.port)).encode())
        # Nothing may come: a short wait (slowness can only make it pass).
        extra.settimeout(0.5)
        try:
            early = extra.recv(1)
        except socket.timeout:
            early = None
        if early is not None:
            extra.close()
            fail("connection %d (from %s) was answered (%r) while %d busy ones were held"
                 % (a.total + 1, srcs[-1], early, a.total))
        if closed_among(held):
            extra.close()
            fail("a busy connection was closed for the new host")
    finally:
        for s in held:
            s.close()
    ok("http_max_per_ip: %d connections from %s held, %d refused; another address served"
       % (a.per_ip, srcs[0], len(refused)))
    ok("at http_max_connections = %d: a new host took the slot of an idle connection of "
       "the host holding the most" % a.total)
    t0 = time.monotonic()
    extra.settimeout(SAFETY)
    answer = b""
    try:
        while not answer.endswith(b"</root>\n") and len(answer) < 1 << 20:
            d = extra.recv(65536)
            if not d:
                break
            answer += d
    except OSError:
        pass
    extra.close()
    if not answer.startswith(b"HTTP/1.1 200 "):
        fail("the waiting connection was not served once the others left (%r)" % answer[:60])
    ok("http_max_connections: %d busy connections held; connection %d waited unanswered, and "
       "was served once they were released (%.1f s later)"
       % (a.total, a.total + 1, time.monotonic() - t0))


# ---- fair shares of the connection slots -----------------------------------

class KeepAsking(threading.Thread):
    """n kept-alive connections from src, each asking for the description
    every gap seconds until stop; a connection the server closes is
    opened again. Counts the answers, the closes announced with
    Connection: close (the connection's lifetime or request count) and
    the others (taken for another host, or refused)."""

    def __init__(self, gw, port, src, n, gap, stop):
        super().__init__(daemon=True)
        self.gw, self.port, self.src, self.n, self.gap, self.stop = gw, port, src, n, gap, stop
        self.answers, self.announced, self.cut, self.errors = 0, 0, 0, []

    def run(self):
        req = ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (self.gw, self.port)).encode()
        conns = []
        deadline = time.monotonic() + LIFETIME
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                while len(conns) < self.n:
                    try:
                        conns.append(connect(self.gw, self.port, self.src))
                    except OSError as e:
                        self.errors.append(str(e))
                        self.cut += 1
                        break
                for s in list(conns):
                    answer = b""
                    try:
                        s.sendall(req)
                        while not complete(answer):
                            d = s.recv(65536)
                            if not d:
                                break
                            answer += d
                    except OSError:             # reset, or nothing in the safety timeout
                        pass
                    if answer.startswith(b"HTTP/1.1 200 ") and complete(answer):
                        self.answers += 1
                        if re.search(rb"(?im)^connection: *close", answer):
                            self.announced += 1
                            s.close()
                            conns.remove(s)
                    else:
                        self.cut += 1           # closed for another host, or refused
                        s.close()
                        conns.remove(s)
                self.stop.wait(self.gap)
        finally:
            for s in conns:
                s.close()


def fair_share(a):
    """Attackers at every address of --attack-src keep --per-ip kept-alive
    connections each, asking every --gap seconds, more than
    http_max_connections in all; a host at --good-src connects now and
    then and must be served every time. igdd runs with a long
    http_timeout and http_max_lifetime here: the new host gets a slot from
    the attackers, not from their connections' end."""
    stop = threading.Event()
    # One thread per connection: each keeps asking whatever the others wait for.
    attackers = [KeepAsking(a.gw, a.port, src, 1, a.gap, stop)
                 for src in a.attack_src for _ in range(a.per_ip)]
    for t in attackers:
        t.start()
    served, tries = 0, 0
    try:
        # Every attacker has had its first answer or close: they hold
        # (and want) every slot.
        if not until(lambda: all(t.answers + t.cut for t in attackers)):
            fail("the attackers did not all get an answer or a close in %.0f s" % SAFETY)
        # For --duration seconds and at least 10 tries, however slow.
        end = time.monotonic() + a.duration
        while (time.monotonic() < end or tries < 10) and tries < 1000:
            tries += 1
            r = get(a.gw, a.port, "/rootDesc.xml", a.good_src)
            if r.status != 200:
                fail("the host at %s was not served (try %d: %r, %s) while %d addresses held "
                     "their connections" % (a.good_src, tries, r.raw[:80],
                                            "closed" if r.closed else "no answer",
                                            len(a.attack_src)))
            served += 1
            time.sleep(0.5)
    finally:
        stop.set()
        for t in attackers:
            t.join(SAFETY)
    answers = sum(t.answers for t in attackers)
    announced = sum(t.announced for t in attackers)
    cut = sum(t.cut for t in attackers)
    if answers == 0:
        fail("the attackers were never served: the test proves nothing")
    ok("fair shares: %d addresses x %d kept-alive connections asking every %.1f s (%d answers); "
       "another host served %d times out of %d; %d attacker connections taken for other hosts "
       "or refused, %d closed at their lifetime"
       % (len(a.attack_src), a.per_ip, a.gap, answers, served, tries, cut, announced))


def lifetime(a):
    """One kept-alive connection asking every --gap seconds: the answer
    that says Connection: close, and the end of the connection, come
    once it has lived http_max_lifetime (--lifetime s), never before (a
    lower bound, from before the connection was opened); not at all
    within the safety timeout after that is a failure."""
    req = ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (a.gw, a.port)).encode()
    t0 = time.monotonic()
    s = connect(a.gw, a.port)
    i = 0
    try:
        while True:
            i += 1
            if ask(s, req, "answer %d" % i)[1]:
                break
            if time.monotonic() - t0 > a.lifetime + SAFETY:
                fail("%d requests over %.0f s and the connection was never ended"
                     % (i, time.monotonic() - t0))
            time.sleep(a.gap)
        ended = time.monotonic() - t0
        if ended < a.lifetime:
            fail("Connection: close with answer %d, %.1f s after the connection opened: before "
                 "http_max_lifetime %.0f s" % (i, ended, a.lifetime))
        if s.recv(1) != b"":
            fail("the connection stayed open after Connection: close")
    except socket.timeout:
        fail("the connection stayed open %.0f s after Connection: close" % SAFETY)
    finally:
        s.close()
    ok("a kept-alive connection asking every %.1f s was ended with its answer %d, once it had "
       "lived http_max_lifetime (%.0f s; %.1f s measured)" % (a.gap, i, a.lifetime, ended))


def max_requests(a):
    """One kept-alive connection: the answer to request --limit says
    Connection: close and the connection ends; the ones before do not."""
    s = connect(a.gw, a.port)
    req = ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (a.gw, a.port)).encode()
    try:
        for i in range(1, a.limit + 1):
            closing = ask(s, req, "answer %d" % i)[1]
            if closing != (i == a.limit):
                fail("answer %d %s Connection: close" % (i, "says" if closing else "lacks"))
        if s.recv(1) != b"":
            fail("the connection stayed open after answer %d" % a.limit)
    except socket.timeout:
        fail("the connection stayed open %.0f s after answer %d" % (SAFETY, a.limit))
    finally:
        s.close()
    ok("a kept-alive connection served %d requests, the last answered with Connection: close"
       % a.limit)


# ---- slow loris -----------------------------------------------------------

class Attacker(threading.Thread):
    """Keeps n connections from src trickling one byte per second until
    stop (n: no more than the address may hold, so that every close is a
    cut, never a refusal); records for each how long the server let it
    live, from connected (the server's clock for it starts no earlier)
    to the close seen."""

    def __init__(self, gw, port, src, n, stop, body=False):
        super().__init__(daemon=True)
        self.gw, self.port, self.src, self.n, self.stop, self.body = gw, port, src, n, stop, body
        self.lifetimes, self.errors = [], []

    def payload(self):
        if self.body:        # complete headers at once, then the body slowly
            head = ("POST /ctl/IPConn HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml\r\n"
                    "Content-Length: 10000\r\n\r\n" % (self.gw, self.port)).encode()
            return head, b"x" * 10000
        return b"", ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n" % (self.gw, self.port)
                     + "X-Slow: " + "a" * 10000).encode()

    def run(self):
        conns = []              # [socket, start, next byte index, next send time]
        head, trickle = self.payload()
        deadline = time.monotonic() + LIFETIME
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                while len(conns) < self.n:
                    try:
                        s = connect(self.gw, self.port, self.src)
                        s.setblocking(False)
                        if head:
                            s.send(head)
                        now = time.monotonic()
                        conns.append([s, now, 0, now])
                    except OSError as e:
                        self.errors.append(str(e))
                        break
                # Look for closed connections every 0.1 s, send each its
                # next byte once a second.
                for c in list(conns):
                    s, start, i, due = c
                    closed = False
                    try:
                        d = s.recv(4096)
                        closed = d == b"" or d.startswith(b"HTTP/")
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed = True
                    now = time.monotonic()
                    if not closed and now >= due:
                        try:
                            s.send(trickle[i:i + 1])
                            c[2], c[3] = i + 1, due + 1.0
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed = True
                    if closed:
                        self.lifetimes.append(now - start)
                        s.close()
                        conns.remove(c)
                self.stop.wait(0.1)
        finally:
            for c in conns:
                c[0].close()


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def slowloris(a):
    stop = threading.Event()
    attackers = [Attacker(a.gw, a.port, src, a.per_ip, stop) for src in a.attack_src]
    attackers.append(Attacker(a.gw, a.port, a.body_src, 2, stop, body=True))
    for t in attackers:
        t.start()
    time.sleep(1.5)             # let them take their slots
    lat, n, slow = [], 0, 0
    t0 = time.monotonic()
    try:
        # For the duration, and until every attacker has had a connection
        # cut (at most the safety timeout).
        while n < 100000:
            now = time.monotonic()
            if now - t0 >= SAFETY or (now - t0 >= a.duration and
                                       all(t.lifetimes for t in attackers)):
                break
            n += 1
            t1 = time.monotonic()
            if n % 2:
                r = get(a.gw, a.port, "/rootDesc.xml", a.good_src)
                good = r.status == 200 and b"urn:schemas-upnp-org:device:InternetGatewayDevice:2" in r.raw
            else:
                r = soap(a.gw, a.port, "GetExternalIPAddress", [], a.good_src)
                good = r.status == 200 and b"<NewExternalIPAddress>" in r.raw
            if not good and r.closed and r.status is None and r.seconds >= a.timeout - 0.5:
                # Closed unanswered no sooner than http_timeout: this
                # machine held the exchange back (the client, or the
                # daemon past its deadline): cut rightly, proves nothing.
                slow += 1
                continue
            lat.append(time.monotonic() - t1)
            if not good:
                fail("well-behaved client, request %d: status %r (%r)" % (n, r.status, r.raw[:200]))
            time.sleep(0.02)
    finally:
        stop.set()
        for t in attackers:
            t.join(SAFETY)
    if len(lat) < 10:
        fail("the well-behaved client was answered %d times (%d exchanges held back by "
             "this machine)" % (len(lat), slow))
    ok("well-behaved client: %d requests, all answered correctly%s, latency p50 %.1f ms, "
       "p99 %.1f ms, max %.1f ms" % (len(lat), " (%d held back by this machine, not counted)"
                                     % slow if slow else "", 1000 * percentile(lat, 50),
                                     1000 * percentile(lat, 99), 1000 * max(lat)))
    lifetimes = [x for t in attackers for x in t.lifetimes]
    quiet = [t.src for t in attackers if not t.lifetimes]
    if quiet:
        fail("no slow connection from %s was cut off in %.0f s, though each sends a byte "
             "a second" % (", ".join(quiet), time.monotonic() - t0))
    early = [x for x in lifetimes if x < a.timeout - 0.5]
    if early:
        fail("slow connections cut after %s s, before http_timeout %d s" %
             (sorted(set(round(x, 1) for x in early)), a.timeout))
    ok("slow loris: %d slow connections cut although they kept sending, none before "
       "http_timeout %d s (%.1f-%.1f s)" % (len(lifetimes), a.timeout, min(lifetimes),
                                            max(lifetimes)))
    print("slowloris-figures: requests=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f cut=%d"
          % (len(lat), 1000 * percentile(lat, 50), 1000 * percentile(lat, 99),
             1000 * max(lat), len(lifetimes)), flush=True)


def lingering(a):
    """The server lingers on each answered malformed request until this
    side closes (or its short linger time, HTTP_IO_LINGER_MS, passes).
    Were this machine so slow that the lingering ended before the last
    connection, the check would pass without proving anything: slowness
    can never make it fail."""
    bad = ("GET /rootDesc.xml HTTP/2.0\r\nHost: %s:%d\r\n\r\n" % (a.gw, a.port)).encode()
    held = []
    try:
        for i in range(max(a.per_ip, a.total)):
            s = connect(a.gw, a.port, a.src)
            held.append(s)
            s.sendall(bad)
            raw = b""
            while True:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    fail("lingering: no end of the answer on connection %d in %.0f s" % (i + 1, SAFETY))
                if not d:
                    break
                raw += d
            if not raw.startswith(b"HTTP/1.1 505 "):
                fail("lingering: connection %d answered %r" % (i + 1, raw[:80]))
        r = get(a.gw, a.port, "/rootDesc.xml", a.src)
        if r.status != 200:
            fail("%s refused (%r) while %d of its answered connections linger: lingering ones "
                 "count against http_max_per_ip" % (a.src, r.status, len(held)))
        r = get(a.gw, a.port, "/rootDesc.xml", a.other)
        if r.status != 200:
            fail("%s refused (%r) while %d answered connections of %s linger: lingering ones "
                 "hold slots of http_max_connections" % (a.other, r.status, len(held), a.src))
    finally:
        for s in held:
            s.close()
    ok("%d answered connections of %s lingering, and it and %s are still served"
       % (len(held), a.src, a.other))


# ---- malformed requests on the wire ----------------------------------------

def malformed(a):
    host = ("%s:%d" % (a.gw, a.port)).encode()
    H = b"Host: " + host + b"\r\n"
    CT = b'Content-Type: text/xml; charset="utf-8"\r\n'
    SA = b'SOAPAction: "' + WANIP.encode() + b'#AddPortMapping"\r\n'
    add = soap_body("AddPortMapping", [
        ("NewRemoteHost", ""), ("NewExternalPort", 7100), ("NewProtocol", "TCP"),
        ("NewInternalPort", 7100), ("NewInternalClient", a.client), ("NewEnabled", 1),
        ("NewPortMappingDescription", "hostile"), ("NewLeaseDuration", 3600)])
    post = b"POST /ctl/IPConn HTTP/1.1\r\n" + H + CT + SA
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(add[i:i + 1000]), add[i:i + 1000])
                      for i in range(0, len(add), 1000))
    # (name, request bytes, expected status or None for "closed without an answer")
    table = [
        ("request line cut short", b"GE", None),
        ("headers cut short", b"GET /rootDesc.xml HTTP/1.1\r\nHost: 19", None),
        ("headers without the empty line", b"GET /rootDesc.xml HTTP/1.1\r\n" + H, None),
        ("body shorter than Content-Length", post + b"Content-Length: %d\r\n\r\n" % (len(add) + 10) + add, None),
        ("chunked body cut short", post + b"Transfer-Encoding: chunked\r\n\r\n" + chunks[:50], None),
        ("a header of 40000 bytes", b"GET /rootDesc.xml HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
        ("headers of 40000 bytes in all", b"GET /rootDesc.xml HTTP/1.1\r\n" + H + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 90) for i in range(400)) + b"\r\n", 431),
        ("65 headers (IGDD_HTTP_MAX_HEADERS 64)", b"GET /rootDesc.xml HTTP/1.1\r\n" + H + b"".join(b"X-%d: y\r\n" % i for i in range(64)) + b"\r\n", 431),
        ("a URL of 40000 bytes", b"GET /" + b"u" * 40000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
        ("Content-Length not a number", post + b"Content-Length: abc\r\n\r\n" + add, 400),
        ("Content-Length negative", post + b"Content-Length: -1\r\n\r\n" + add, 400),
        ("Content-Length 16385 (IGDD_HTTP_MAX_BODY 16384)", post + b"Content-Length: 16385\r\n\r\n", 413),
        ("Content-Length of 30 digits", post + b"Content-Length: 999999999999999999999999999999\r\n\r\n", 413),
        ("Content-Length twice", post + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(add), len(add)) + add, 400),
        ("Content-Length and chunked", post + b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % len(add) + chunks + b"0\r\n\r\n", 400),
        ("chunked body over 16384 bytes", post + b"Transfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + b"z" * 4096 + b"\r\n") * 5 + b"0\r\n\r\n", 413),
        ("chunk size not hex", post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + add + b"\r\n0\r\n\r\n", 400),
        ("method FOO", b"FOO /rootDesc.xml HTTP/1.1\r\n" + H + b"\r\n", 405),
        ("method DELETE", b"DELETE /rootDesc.xml HTTP/1.1\r\n" + H + b"\r\n", 405),
        ("HTTP/2.0", b"GET /rootDesc.xml HTTP/2.0\r\n" + H + b"\r\n", 505),
        ("HTTP/1.1 without Host", b"GET /rootDesc.xml HTTP/1.1\r\n\r\n", 400),
        ("Host a name (DNS rebinding)", b"GET /rootDesc.xml HTTP/1.1\r\nHost: evil.example\r\n\r\n", 400),
        ("header line without a colon", b"GET /rootDesc.xml HTTP/1.1\r\n" + H + b"garbage\r\n\r\n", 400),
        ("AddPortMapping whose body is 16384 bytes of junk", post + b"Content-Length: 16384\r\n\r\n" + b"j" * 16384, 400),
    ]
    # Two mappings to see in every listing; TCP/7100 is what the hostile
    # requests would add.
    for port in (7001, 7002):
        r = soap(a.gw, a.port, "AddPortMapping", [
            ("NewRemoteHost", ""), ("NewExternalPort", port), ("NewProtocol", "TCP"),
            ("NewInternalPort", port), ("NewInternalClient", a.client), ("NewEnabled", 1),
            ("NewPortMappingDescription", "kept %d" % port), ("NewLeaseDuration", 3600)])
        if r.status != 200:
            fail("set-up: AddPortMapping TCP/%d: %r" % (port, r.status))
    before = listing(a.gw, a.port)
    if b"kept 7001" not in before or b"kept 7002" not in before or b"7100" in before:
        fail("set-up: unexpected listing %r" % before[:300])
    # Each request is sent whole and the connection half-closed: the
    # server answers (or not) and closes; with the long http_timeout of
    # this run, a close within the wait is its answer to the request, not
    # its time limit.
    for name, req, want in table:
        r = exchange(a.gw, a.port, req)
        if r.status != want or not r.closed:
            fail("%s: got %r, %s after %.1f s, expected %r and a close (%r)"
                 % (name, r.status, "closed" if r.closed else "still open", r.seconds, want,
                    r.raw[:120]))
        after = listing(a.gw, a.port)
        if after != before:
            fail("%s: the mapping table changed" % name)
        ok("%s -> %s, table unchanged" % (name, want if want else "closed without an answer"))
    # The daemon still does real work: add, see, delete.
    r = exchange(a.gw, a.port, post + b"Content-Length: %d\r\n\r\n" % len(add) + add,
                 half_close=False)
    if r.status != 200 or b"7100" not in listing(a.gw, a.port):
        fail("a valid AddPortMapping after the malformed ones failed (%r)" % r.status)
    r = soap(a.gw, a.port, "DeletePortMapping",
             [("NewRemoteHost", ""), ("NewExternalPort", 7100), ("NewProtocol", "TCP")])
    if r.status != 200 or listing(a.gw, a.port) != before:
        fail("deleting TCP/7100 failed (%r)" % r.status)
    for port in (7001, 7002):
        soap(a.gw, a.port, "DeletePortMapping",
             [("NewRemoteHost", ""), ("NewExternalPort", port), ("NewProtocol", "TCP")])
    ok("a valid add and delete still work; %d malformed requests in all" % len(table))



def fill(a):
    bulk_add(a.gw, a.port, [("", a.base + i, a.client, '"' * 250) for i in range(a.count)])
    ok("%d mappings from TCP/%d with 250-quote descriptions" % (a.count, a.base))


def wait_log(path, text):
    """The log FILE has a line containing text, within the safety timeout."""
    end = time.monotonic() + SAFETY
    while time.monotonic() < end:
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return True
        time.sleep(0.1)
    return False


def stuck_reader(a):
    host = ("%s:%d" % (a.gw, a.port)).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(SAFETY)
    s.connect((a.gw, a.port))
    try:
        s.sendall(soap_request(host.decode(), "GetListOfPortMappings", [
            ("NewStartPort", 0), ("NewEndPort", 65535), ("NewProtocol", "TCP"),
            ("NewManage", 1), ("NewNumberOfPorts", 0)]).replace(b"Connection: close\r\n", b""))
        # Take nothing until the server has given up (its warning).
        if not wait_log(a.log, "HTTP response not taken in"):
            fail("stuck reader: the server never gave up on a reader that takes nothing")
        raw = b""
        while True:
            try:
                d = s.recv(1 << 20)
            except OSError:
                break
            if not d:
                break
            raw += d
    finally:
        s.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    # Written in parts as the peer takes them: chunked, and the last
    # chunk (0 CRLF CRLF) never comes for a reader that takes nothing.
    if not raw.startswith(b"HTTP/1.1 200 ") or \
            not re.search(rb"(?im)^transfer-encoding: *chunked", head):
        fail("stuck reader: %r" % raw[:200])
    if body.endswith(b"\r\n0\r\n\r\n"):
        fail("stuck reader: the whole %d-byte answer arrived: never abandoned" % len(body))
    r = soap(a.gw, a.port, "DeletePortMappingRange", [
        ("NewStartPort", a.base), ("NewEndPort", a.base + a.count), ("NewProtocol", "TCP"),
        ("NewManage", 1)])
    if r.status != 200:
        fail("DeletePortMappingRange: %r" % r.status)
    ok("a reader that takes nothing: its answer of several MB abandoned (%d bytes had been "
       "queued)" % len(body))


def gena_limits(a):
    """GENA subscriptions: --per-source from the first address (TIMEOUT
    Second-infinite granted 1800 s), the next 503; a CALLBACK at another
    host 412; the other addresses fill every slot; one more address
    then still subscribes, taking the first address's oldest."""
    def subscribe(src, cb_host=None, timeout="Second-infinite"):
        req = ("SUBSCRIBE /evt/IPConn HTTP/1.1\r\nHost: %s:%d\r\nCALLBACK: <http://%s:%d/events>\r\n"
               "NT: upnp:event\r\nTIMEOUT: %s\r\nConnection: close\r\n\r\n"
               % (a.gw, a.port, cb_host or src, a.cb_port, timeout)).encode()
        r = exchange(a.gw, a.port, req, src, half_close=False)
        m = re.search(rb"(?im)^SID: *(\S+)", r.raw)
        t = re.search(rb"(?im)^TIMEOUT: *(\S+)", r.raw)
        return r.status, (m.group(1).decode() if m else None), (t.group(1).decode() if t else None)

    def request(src, method, sid):
        req = ("%s /evt/IPConn HTTP/1.1\r\nHost: %s:%d\r\nSID: %s\r\n"
               "Connection: close\r\n\r\n" % (method, a.gw, a.port, sid)).encode()
        return exchange(a.gw, a.port, req, src, half_close=False).status

    sids = []
    first = a.src[0]
    try:
        for i in range(a.per_source):
            st, sid, t = subscribe(first)
            if st != 200 or not sid:
                fail("SUBSCRIBE %d from %s: %r" % (i + 1, first, st))
            if t != "Second-1800":
                fail("Second-infinite granted %r, expected Second-1800" % t)
            sids.append((first, sid))
        st, _, _ = subscribe(first)
        if st != 503:
            fail("SUBSCRIBE %d from %s: %r, expected 503" % (a.per_source + 1, first, st))
        st, _, _ = subscribe(a.src[1], cb_host=first)
        if st != 412:
            fail("SUBSCRIBE from %s with a CALLBACK at %s: %r, expected 412" % (a.src[1], first, st))
        ok("GENA: %d subscriptions from %s (Second-infinite granted 1800 s), the next 503; a "
           "CALLBACK at another host 412" % (a.per_source, first))
        for src in a.src[1:-1]:
            for i in range(a.per_source):
                st, sid, _ = subscribe(src)
                if st != 200:
                    fail("SUBSCRIBE %d from %s: %r" % (i + 1, src, st))
                sids.append((src, sid))
        if len(sids) != a.total:
            fail("%d subscriptions held, expected %d" % (len(sids), a.total))
        st, sid, _ = subscribe(a.src[-1])
        if st != 200:
            fail("every slot held: a new address refused (%r)" % st)
        sids.append((a.src[-1], sid))
        if request(first, "SUBSCRIBE", sids[0][1]) != 412:
            fail("the oldest subscription of %s was not the one given up" % first)
        if request(first, "SUBSCRIBE", sids[1][1]) != 200:
            fail("%s's second subscription cannot be renewed" % first)
    finally:
        for src, sid in sids:
            request(src, "UNSUBSCRIBE", sid)
    ok("GENA: %d addresses held all %d slots; one more address subscribed, %s's oldest gave way"
       % (len(a.src) - 1, a.total, first))


def keepalive_round(a, gap):
    """One kept-alive connection asking every gap seconds until it has
    been served for longer than the time limit (by a gap). True when it was; None
    when it was cut no sooner than the limit after its last answer (this
    machine held it back: the round proves nothing); fails when it was
    cut sooner."""
    req = ("GET /rootDesc.xml HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (a.gw, a.port)).encode()
    s = connect(a.gw, a.port)
    first = last = None
    i = 0
    try:
        while first is None or last - first <= a.timeout + gap:
            if i:
                time.sleep(gap)
            i += 1
            try:
                s.sendall(req)
            except OSError:
                pass                    # closed: seen by recv below
            answer = b""
            while not complete(answer):
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    fail("kept-alive request %d: no answer in %.0f s" % (i, SAFETY))
                except OSError:
                    d = b""
                if not d:
                    idle = time.monotonic() - last if last else 0.0
                    if last is not None and idle >= a.timeout - 0.5:
                        return None
                    fail("kept-alive connection closed at request %d, %.1f s after the "
                         "previous answer (http_timeout %d s)" % (i, idle, a.timeout))
                answer += d
            if not answer.startswith(b"HTTP/1.1 200 "):
                fail("kept-alive request %d: %r" % (i, answer[:60]))
            last = time.monotonic()
            if first is None:
                first = last
    finally:
        s.close()
    ok("a kept-alive connection asking every %.1f s was served for %.1f s, %d requests "
       "(http_timeout %d s)" % (gap, last - first, i, a.timeout))
    return True


def keepalive(a):
    gap = a.timeout / 3.0
    end = time.monotonic() + SAFETY
    while time.monotonic() < end:
        if keepalive_round(a, gap):
            return
        print("keepalive: this machine held the client back past the time limit; again",
              flush=True)
    fail("keepalive: no round ran without this machine holding it back for %.0f s" % SAFETY)


def refused(a):
    # Nothing may come; the close is expected at once (a short wait: a
    # slow close only makes this pass).
    r = get(a.gw, a.port, "/rootDesc.xml", timeout=3.0)
    if r.status is not None or r.raw:
        fail("a peer outside the LAN got an answer: %r" % r.raw[:80])
    ok("a peer outside the LAN: connection %s without an answer"
       % ("closed" if r.closed else "left unanswered"))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("conn-limits")
    c.add_argument("gw")
    c.add_argument("port", type=int)
    c.add_argument("--per-ip", type=int, required=True)
    c.add_argument("--total", type=int, required=True)
    c.add_argument("--src", nargs="+", required=True)
    s = sub.add_parser("slowloris")
    s.add_argument("gw")
    s.add_argument("port", type=int)
    s.add_argument("--attack-src", nargs="+", required=True)
    s.add_argument("--body-src", required=True)
    s.add_argument("--good-src", required=True)
    s.add_argument("--per-ip", type=int, required=True)
    s.add_argument("--timeout", type=int, required=True)
    s.add_argument("--duration", type=float, required=True)
    m = sub.add_parser("malformed")
    m.add_argument("gw")
    m.add_argument("port", type=int)
    m.add_argument("--client", required=True)
    k = sub.add_parser("keepalive")
    k.add_argument("gw")
    k.add_argument("port", type=int)
    k.add_argument("--timeout", type=int, required=True)
    g = sub.add_parser("gena-limits")
    g.add_argument("gw")
    g.add_argument("port", type=int)
    g.add_argument("--per-source", type=int, required=True)
    g.add_argument("--total", type=int, required=True)
    g.add_argument("--src", nargs="+", required=True)
    g.add_argument("--cb-port", type=int, required=True)
    f = sub.add_parser("fill")
    f.add_argument("gw")
    f.add_argument("port", type=int)
    f.add_argument("--client", required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--base", type=int, required=True)
    sr = sub.add_parser("stuck-reader")
    sr.add_argument("gw")
    sr.add_argument("port", type=int)
    sr.add_argument("--count", type=int, required=True)
    sr.add_argument("--base", type=int, required=True)
    sr.add_argument("--log", required=True)
    fs = sub.add_parser("fair-share")
    fs.add_argument("gw")
    fs.add_argument("port", type=int)
    fs.add_argument("--attack-src", nargs="+", required=True)
    fs.add_argument("--good-src", required=True)
    fs.add_argument("--per-ip", type=int, required=True)
    fs.add_argument("--gap", type=float, required=True)
    fs.add_argument("--duration", type=float, required=True)
    lt = sub.add_parser("lifetime")
    lt.add_argument("gw")
    lt.add_argument("port", type=int)
    lt.add_argument("--gap", type=float, required=True)
    lt.add_argument("--lifetime", type=float, required=True)
    q = sub.add_parser("max-requests")
    q.add_argument("gw")
    q.add_argument("port", type=int)
    q.add_argument("--limit", type=int, required=True)
    lg = sub.add_parser("lingering")
    lg.add_argument("gw")
    lg.add_argument("port", type=int)
    lg.add_argument("--per-ip", type=int, required=True)
    lg.add_argument("--total", type=int, required=True)
    lg.add_argument("--src", required=True)
    lg.add_argument("--other", required=True)
    r = sub.add_parser("refused")
    r.add_argument("gw")
    r.add_argument("port", type=int)
    a = p.parse_args()
    {"conn-limits": conn_limits, "slowloris": slowloris, "malformed": malformed,
     "refused": refused, "gena-limits": gena_limits, "keepalive": keepalive,
     "fill": fill, "stuck-reader": stuck_reader, "fair-share": fair_share,
     "max-requests": max_requests, "lifetime": lifetime, "lingering": lingering}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
