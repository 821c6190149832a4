#!/usr/bin/python3
"""gupnp-igd (libgupnp-igd-1.0 through python3-gi: the port mapper of
libnice, Farstream and GStreamer's webrtcbin) mapping a port.

  gupnp_igd_client.py LAN_IP PORT RELEASE_FILE

GUPnPIgd.SimpleIgd finds the gateway (GUPnP, SSDP), subscribes to its
events and maps PORT for TCP and UDP; one JSON line per signal. Once
both are mapped it prints {"mapped": true}, waits until RELEASE_FILE
exists, removes both and keeps its loop running until RELEASE_FILE.done
exists (so that the removals go out), then exits. Every wait is for a
condition, bounded by the safety timeout (labtime.SAFETY).
"""
import json
import os
import sys
import time

import gi

gi.require_version("GUPnPIgd", "1.0")
from gi.repository import GLib, GUPnPIgd  # noqa: E402

from labtime import SAFETY  # noqa: E402


def main():
    host, port, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ctx = GLib.MainContext.default()
    mapped = set()

    def out(obj):
        print(json.dumps(obj), flush=True)

    def on_mapped(igd, proto, ext_ip, replaces, ext_port, local_ip, local_port, desc):
        mapped.add(proto)
        out({"signal": "mapped", "protocol": proto, "external": ext_ip, "port": ext_port})

    def on_error(igd, err, proto, ext_port, local_ip, local_port, desc):
        out({"signal": "error", "protocol": proto, "message": str(err)})

    def run(pred, secs):
        end = time.monotonic() + secs
        while not pred() and time.monotonic() < end:
            GLib.timeout_add(100, lambda: False)
            ctx.iteration(True)
        return pred()

    igd = GUPnPIgd.SimpleIgd.new()
    igd.connect("mapped-external-port", on_mapped)
    igd.connect("error-mapping-port", on_error)
    for proto in ("TCP", "UDP"):
        igd.add_port(proto, port, host, port, 600, "igdd-test gupnp-igd")
    out({"mapped": run(lambda: mapped >= {"TCP", "UDP"}, SAFETY)})
    run(lambda: os.path.exists(release), SAFETY)
    for proto in ("TCP", "UDP"):
        igd.remove_port(proto, port)
    run(lambda: os.path.exists(release + ".done"), SAFETY)
    out({"removed": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
