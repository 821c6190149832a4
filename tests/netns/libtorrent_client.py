#!/usr/bin/python3
"""libtorrent (Debian's python3-libtorrent 2.0, the engine of qBittorrent
and Deluge) mapping its listen port with NAT-PMP/PCP and UPnP at once.

  libtorrent_client.py map --listen IP:PORT [--wait S] --hold-file F

starts a session listening on IP:PORT with UPnP and NAT-PMP on, and
prints one JSON line per port-mapping alert:

  {"alert": "portmap", "transport": "natpmp"|"upnp", "protocol": "tcp"|"udp", "port": N}
  {"alert": "portmap_error", "transport": ..., "message": "..."}

until it has seen a portmap alert from both transports for both
protocols (then {"mapped": true}) or an error, or WAIT seconds passed
(by default the tests' safety timeout, labtime.SAFETY: reaching it is a
failure). It then waits until the file F exists (the test looks at the
gateway meanwhile; again at most WAIT seconds), ends the session
(libtorrent removes its mappings) and prints {"closed": true}. With
--log, libtorrent's own port-mapping log lines too.
"""
import argparse
import json
import os
import sys
import time

import libtorrent as lt

from labtime import SAFETY


def transport_name(t):
    return "natpmp" if int(t) == int(lt.portmap_transport.natpmp) else "upnp"


def protocol_name(p):
    return "tcp" if int(p) == int(lt.portmap_protocol.tcp) else "udp"


def out(obj):
    print(json.dumps(obj), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["map"])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--wait", type=float, default=SAFETY)
    ap.add_argument("--hold-file", required=True)
    ap.add_argument("--log", action="store_true")
    a = ap.parse_args()

    mask = lt.alert.category_t.port_mapping_notification | lt.alert.category_t.error_notification
    if a.log:
        mask |= lt.alert.category_t.port_mapping_log_notification
    s = lt.session({
        "listen_interfaces": a.listen,
        "enable_upnp": True,
        "enable_natpmp": True,
        "enable_dht": False,
        "enable_lsd": False,
        "alert_mask": int(mask),
        "user_agent": "igdd-test",
    })
    want = {(t, p) for t in ("natpmp", "upnp") for p in ("tcp", "udp")}
    seen = set()
    errors = 0
    end = time.monotonic() + a.wait
    while time.monotonic() < end and not (want <= seen) and not errors:
        s.wait_for_alert(500)
        for al in s.pop_alerts():
            if isinstance(al, lt.portmap_alert):
                t, p = transport_name(al.map_transport), protocol_name(al.map_protocol)
                seen.add((t, p))
                out({"alert": "portmap", "transport": t, "protocol": p, "port": al.external_port})
            elif isinstance(al, lt.portmap_error_alert):
                errors += 1
                out({"alert": "portmap_error", "transport": transport_name(al.map_transport),
                     "message": al.message()})
            elif a.log and isinstance(al, lt.portmap_log_alert):
                out({"alert": "log", "message": al.message()})
    out({"mapped": want <= seen and not errors})
    end = time.monotonic() + a.wait
    while not os.path.exists(a.hold_file) and time.monotonic() < end:
        time.sleep(0.1)
    # Ending the session removes the mappings (libtorrent's close path).
    del s
    out({"closed": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
