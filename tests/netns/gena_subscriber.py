#!/usr/bin/python3
"""gena_subscriber.py - a tiny GENA test subscriber (UPnP Device
Architecture 1.1 section 4) for the namespace tests. Python stdlib only.

Every line on stdout is one JSON object with an "event" key:
  ready        the NOTIFY listener is up ("callback": its URL)
  subscribe    SUBSCRIBE answered: status, sid, timeout, t (monotonic s)
  notify       a NOTIFY arrived: seq, sid, nt, nts, vars {name: value},
               path, from, t (read), accepted (its connection accepted;
               monotonic s), and after_response (the SUBSCRIBE response
               had arrived when it came)
  dead_accept  "dead" mode: a connection was accepted and is left hanging
               (conn: its number, t)
  dead_closed  "dead" mode: the gateway closed connection conn (t)
  renew        SUBSCRIBE with SID answered: status, timeout
  unsubscribe  UNSUBSCRIBE answered: status
  response     "request" mode: status and headers of one raw request
  done         the end

Usage:
  gena_subscriber.py subscribe --event-url URL --bind IP [--port N]
        [--callback URL ...] [--timeout Second-N] [--count N]
        [--duration S] [--renew-at S] [--unsubscribe] [--dead]
        [--notify-status CODE]
      Listen on IP:N (N=0: any port), SUBSCRIBE with a CALLBACK naming
      that listener (or the given --callback URLs, in order), record
      NOTIFYs until --count have arrived or --duration seconds passed;
      optionally renew at --renew-at seconds and UNSUBSCRIBE at the end.
      --dead: accept connections, take what is sent, never answer.
  gena_subscriber.py listen --bind IP [--port N] [--duration S] [--dead]
      Only listen and record (a target for someone else's CALLBACK).
  gena_subscriber.py request METHOD URL [-H 'Name: value' ...]
      One raw request; prints its status and headers.

Exit status: 0, or 1 when SUBSCRIBE did not answer 200 (subscribe mode).
Every socket wait is the safety timeout (labtime.SAFETY); --duration is
how long to wait for --count NOTIFYs (give the safety timeout, $LAB_T,
when they are expected; a short one only to see that none comes).
"""
import argparse
import http.client
import json
import select
import socket
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from labtime import SAFETY

EVENT_NS = "urn:schemas-upnp-org:event-1-0"
OUT_LOCK = threading.Lock()
STATE = {"response_at": None, "notifies": 0}
NOTIFIED = threading.Condition()


def emit(obj):
    with OUT_LOCK:
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()


def parse_propertyset(body):
    """{name: value} of an e:propertyset body (None when it is not one)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "{%s}propertyset" % EVENT_NS:
        return None
    out = {}
    for prop in root:
        if prop.tag != "{%s}property" % EVENT_NS:
            return None
        for var in prop:
            out[var.tag] = var.text or ""
    return out


def read_request(conn):
    """(request line, {HEADER: value}, body) of one HTTP request, or None."""
    conn.settimeout(SAFETY)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().upper()] = value.strip()
    length = int(headers.get("CONTENT-LENGTH", "0") or "0")
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return lines[0], headers, body[:length]


def handle_notify(conn, peer, status, accepted):
    req = read_request(conn)
    if req is None:
        conn.close()
        return
    line, h, body = req
    now = time.monotonic()
    parts = line.split(" ")
    seq = h.get("SEQ")
    emit({
        "event": "notify",
        "method": parts[0],
        "path": parts[1] if len(parts) > 1 else "",
        "from": peer[0],
        "sid": h.get("SID"),
        "seq": int(seq) if seq is not None and seq.isdigit() else seq,
        "nt": h.get("NT"),
        "nts": h.get("NTS"),
        "content_type": h.get("CONTENT-TYPE"),
        "vars": parse_propertyset(body),
        "t": now,
        "accepted": accepted,
        "after_response": response_arrived(),
    })
    reason = {200: "OK", 412: "Precondition Failed"}.get(status, "Status")
    conn.sendall(("HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                  % (status, reason)).encode())
    conn.close()
    with NOTIFIED:
        STATE["notifies"] += 1
        NOTIFIED.notify_all()


def hold(conn, n):
    """Take what the gateway sends on conn, never answer; note when it
    gives up (closes)."""
    conn.settimeout(None)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    emit({"event": "dead_closed", "conn": n, "t": time.monotonic()})


def serve(sock, dead, status):
    held = []
    while True:
        try:
            conn, peer = sock.accept()
        except OSError:
            return
        accepted = time.monotonic()
        if dead:
            held.append(conn)       # never answered, never closed by us
            emit({"event": "dead_accept", "conn": len(held), "from": peer[0], "t": accepted})
            threading.Thread(target=hold, args=(conn, len(held)), daemon=True).start()
            continue
        threading.Thread(target=handle_notify, args=(conn, peer, status, accepted),
                         daemon=True).start()


def url_host(addr):
    """An address as a URL's host: IPv6 in brackets (UDA 1.1 Annex A)."""
    return "[%s]" % addr if ":" in addr else addr


def listen(bind, port, dead, status):
    sock = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    sock.listen(16)
    threading.Thread(target=serve, args=(sock, dead, status), daemon=True).start()
    return sock, sock.getsockname()[1]


def response_arrived():
    """Had the SUBSCRIBE response reached us when this NOTIFY came? Either
    its bytes wait in our socket (the gateway writes the response before
    it connects for the NOTIFY), or they had come already: the main
    thread sets response_at when the socket turns readable, before it
    reads a byte, so at every instant one of the two holds once the
    response is here, whatever the threads' timing: response_at, then the
    socket, then response_at again (set meanwhile: the bytes may be gone)."""
    if STATE["response_at"] is not None:
        return True
    sock = STATE.get("resp_sock")
    if sock is not None:
        try:
            if select.select([sock], [], [], 0)[0]:
                return True
        except (OSError, ValueError):
            pass
    return STATE["response_at"] is not None


def gena_request(url, method, headers, mark_response=False):
    """(status, {header: value}) of one request to url. mark_response:
    note the moment the response arrived, before reading it."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=SAFETY)
    conn.connect()
    if mark_response:
        STATE["resp_sock"] = conn.sock  # known before the request can be answered
    conn.putrequest(method, u.path or "/", skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    if mark_response:
        select.select([conn.sock], [], [], SAFETY)
        STATE["response_at"] = time.monotonic()
    resp = conn.getresponse()
    resp.read()
    hdrs = {k.upper(): v for k, v in resp.getheaders()}
    conn.close()
    return resp.status, hdrs


def wait_notifies(count, until):
    with NOTIFIED:
        while STATE["notifies"] < count:
            left = until - time.monotonic()
            if left <= 0:
                return
            NOTIFIED.wait(left)


def cmd_subscribe(a):
    _, port = listen(a.bind, a.port, a.dead, a.notify_status)
    own = "http://%s:%d/notify" % (url_host(a.bind), port)
    callbacks = a.callback or [own]
    emit({"event": "ready", "callback": own})
    headers = [("CALLBACK", "".join("<%s>" % c for c in callbacks)), ("NT", "upnp:event")]
    if a.timeout:
        headers.append(("TIMEOUT", a.timeout))
    start = time.monotonic()
    status, h = gena_request(a.event_url, "SUBSCRIBE", headers, mark_response=True)
    sid = h.get("SID")
    emit({"event": "subscribe", "status": status, "sid": sid, "timeout": h.get("TIMEOUT"),
          "t": STATE["response_at"]})
    if status != 200:
        emit({"event": "done"})
        return 1
    end = start + a.duration
    if a.renew_at is not None:
        wait_notifies(a.count if a.count else 1 << 30, min(end, start + a.renew_at))
        rh = [("SID", sid)] + ([("TIMEOUT", a.timeout)] if a.timeout else [])
        rs, rhd = gena_request(a.event_url, "SUBSCRIBE", rh)
        emit({"event": "renew", "status": rs, "timeout": rhd.get("TIMEOUT")})
    wait_notifies(a.count if a.count else 1 << 30, end)
    if a.unsubscribe:
        us, _ = gena_request(a.event_url, "UNSUBSCRIBE", [("SID", sid)])
        emit({"event": "unsubscribe", "status": us})
    emit({"event": "done"})
    return 0


def cmd_listen(a):
    _, port = listen(a.bind, a.port, a.dead, a.notify_status)
    emit({"event": "ready", "callback": "http://%s:%d/notify" % (url_host(a.bind), port)})
    wait_notifies(a.count if a.count else 1 << 30, time.monotonic() + a.duration)
    emit({"event": "done"})
    return 0


def cmd_request(a):
    headers = []
    for h in a.header or []:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    status, h = gena_request(a.url, a.method, headers)
    emit({"event": "response", "status": status, "headers": h})
    return 0


def main():
    p = argparse.ArgumentParser(description="GENA test subscriber")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("subscribe", "listen"):
        s = sub.add_parser(name)
        s.add_argument("--bind", required=True,
                       help="own address to listen on (IPv4, or IPv6: '::' for all of them)")
        s.add_argument("--port", type=int, default=0)
        s.add_argument("--duration", type=float, default=10.0)
        s.add_argument("--count", type=int, default=0, help="stop after N NOTIFYs")
        s.add_argument("--dead", action="store_true", help="accept, never answer")
        s.add_argument("--notify-status", type=int, default=200)
        if name == "subscribe":
            s.add_argument("--event-url", required=True)
            s.add_argument("--callback", action="append", help="CALLBACK URL (repeatable)")
            s.add_argument("--timeout", help="TIMEOUT value, e.g. Second-300")
            s.add_argument("--renew-at", type=float)
            s.add_argument("--unsubscribe", action="store_true")
    r = sub.add_parser("request")
    r.add_argument("method")
    r.add_argument("url")
    r.add_argument("-H", "--header", action="append")
    a = p.parse_args()
    if a.cmd == "subscribe":
        return cmd_subscribe(a)
    if a.cmd == "listen":
        return cmd_listen(a)
    return cmd_request(a)


if __name__ == "__main__":
    sys.exit(main())
